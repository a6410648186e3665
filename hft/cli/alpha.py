"""`hft alpha …`: alpha research commands (scaffold for now; validate and experiments follow).

The CLI is the composition root: it loads ``research/tools/alpha_scaffold.py`` from the repository by file
path (``hft`` itself never imports ``research``). New alphas go under ``$HFT_RESEARCH_ROOT`` (default: the
repository's ``research/``).
"""

from __future__ import annotations

import typer

from hft.cli._output import console, emit

app = typer.Typer(help="Alpha research: scaffold new alphas (validate and experiments follow).",
                  no_args_is_help=True)

JSON_OPT = typer.Option(False, "--json", help="Machine-readable output on stdout.")


def _load_tool(name: str):
    import importlib.util
    import sys

    from hft.alpha.registry import repo_research_dir
    from hft.core.errors import GovernanceError

    path = repo_research_dir() / "tools" / f"{name}.py"
    if not path.is_file():
        raise GovernanceError(f"expected the research tool {path}, none exists",
                              hint="run hft from an editable install of the repository")
    mod_name = f"_hft_research_tools_{name}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except BaseException:
        sys.modules.pop(mod_name, None)
        raise
    return module


@app.command("scaffold")
def scaffold_cmd(
    name: str = typer.Argument(..., help="Alpha id: a lowercase identifier (letters, digits, '_')."),
    json_out: bool = JSON_OPT,
) -> None:
    """Create research/alphas/NAME/ with a working alpha.py, config.yaml, test_alpha.py and README.md."""
    result = _load_tool("alpha_scaffold").scaffold(name)

    def render() -> None:
        c = console()
        c.print(f"[green]created[/green] alpha [bold]{result['alpha_id']}[/bold] in {result['path']}")
        for f in result["files"]:
            c.print(f"  {f}")
        c.print(f"next: edit alpha.py, then `hft alpha validate {result['alpha_id']} --data PATH`")

    emit(result, json_out, render)
