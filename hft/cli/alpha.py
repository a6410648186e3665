"""`hft alpha …`: alpha research commands (scaffold, validate).

The CLI is the composition root: it loads ``research/tools/alpha_scaffold.py`` from the repository by file
path (``hft`` itself never imports ``research``). New alphas go under ``$HFT_RESEARCH_ROOT`` (default: the
repository's ``research/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from hft.cli._config import set_option
from hft.cli._output import console, emit
from hft.cli._output import fmt_value as _fmt

app = typer.Typer(help="Alpha research and lifecycle: scaffold, validate (gates A/B/C), search, pool, promote "
                       "(gates D/E), canary, status, experiments.",
                  no_args_is_help=True)

JSON_OPT = typer.Option(False, "--json", help="Machine-readable output on stdout.")


@app.command("scaffold")
def scaffold_cmd(
    name: str = typer.Argument(..., help="Alpha id: a lowercase identifier (letters, digits, '_')."),
    json_out: bool = JSON_OPT,
) -> None:
    """Create research/alphas/NAME/ with a working alpha.py, config.yaml, test_alpha.py and README.md."""
    from hft.cli._research import load_research_module

    result = load_research_module("tools/alpha_scaffold.py").scaffold(name)

    def render() -> None:
        c = console()
        c.print(f"[green]created[/green] alpha [bold]{result['alpha_id']}[/bold] in {result['path']}")
        for f in result["files"]:
            c.print(f"  {f}")
        c.print(f"next: edit alpha.py, then `hft alpha validate {result['alpha_id']} --data PATH`")

    emit(result, json_out, render)


@app.command("validate")
def validate_cmd(
    name: str = typer.Argument(..., help="Alpha id (research/alphas/NAME)."),
    data: list[Path] = typer.Option(..., "--data", help="Market data file(s), one day each (Binance captures "
                                                        "of one symbol chain into one day): LOBSTER zip / "
                                                        "message CSV, imported .parquet, Binance captures. "
                                                        "Repeatable: gates per day and pooled."),
    config: Path | None = typer.Option(None, "--config", help="Config layered over the alpha's config.yaml (name "
                                                              "only what changes)."),
    sets: list[str] = set_option(),
    plots: Path | None = typer.Option(None, "--plots", help="Folder for the PNG plots (default "
                                                            "$HFT_HOME/runs/validate/<experiment id>/)."),
    no_record: bool = typer.Option(False, "--no-record", help="Dry run: record no trial and no audit row "
                                                              "(DSR / PBO then see only this run's variants)."),
    json_out: bool = JSON_OPT,
) -> None:
    """Run gates A (integrity), B (predictive power) and C (robustness) on an alpha; exit 17 when a gate fails."""
    import sys

    from hft.alpha.governance.validate import validate
    from hft.alpha.records.experiments import ExperimentRegistry
    from hft.cli._config import effective_alpha_config
    from hft.cli._progress import progress_bar
    from hft.core.errors import GateFailed
    from hft.data.sources import FILES
    from hft.recorder.alpha_audit import held

    config_path = effective_alpha_config(name, config, sets)
    kwargs: dict[str, Any] = {"config_path": config_path, "record": not no_record, "plots_dir": plots}
    bar = progress_bar(f"validate {name}", "steps", enabled=not json_out)
    with bar as update:
        def progress(step: str, i: int, n: int) -> None:
            bar.describe(step)
            update(i, n)

        # one store, opened at the first record and held to the end of the run (none for --no-record)
        with held(wait_s=30.0) as sink:
            card = validate(name, data, source=FILES, registry=ExperimentRegistry(sink), progress=progress,
                            **kwargs)
    result = card.to_dict()
    if card.plots:  # the scorecard page beside its plots
        from hft.report.scorecard import write_scorecard_page

        result["report"] = str(write_scorecard_page(Path(card.plots[0]).parent / "report.html", result))
    emit(result, json_out, lambda: _render_scorecard(result))
    if not card.passed:
        failed = [g.gate for g in card.gates if not g.passed]
        sys.stderr.write(f"error: alpha {name} failed gate(s) {', '.join(failed)}\n")
        raise typer.Exit(GateFailed.exit_code)


def _render_scorecard(res: dict[str, Any]) -> None:
    from rich.table import Table

    c = console()
    overall = "[green]PASS[/green]" if res["passed"] else "[red]FAIL[/red]"
    c.print(f"alpha [bold]{res['alpha_id']}[/bold] {res['version']} params {res['params']} — {overall}")
    days = f"{len(res['days'])} days, " if len(res.get("days", [])) > 1 else ""
    c.print(f"data {', '.join(res['data'])} ({days}{res['n_rows']} rows, sampling {res['features']['sampling']}); "
            f"experiment {res['experiment_id']}" + ("" if res["recorded"] else " (not recorded)"))
    from hft.alpha.gates.result import gate_title
    from hft.cli._gates import check_rows, gate_table, verdict

    for g in res["gates"]:
        c.print(gate_table(f"Gate {g['gate']} — {gate_title(g['gate'])}: {verdict(g['passed'])}",
                           check_rows(g["checks"])))
        if g["gate"] == "C":
            m = g["metrics"]
            c.print(f"strategy: per-period ({m.get('period')}) net Sharpe {_fmt(m.get('sharpe'))}, gross "
                    f"{_fmt(m.get('sharpe_gross'))}; {m.get('n_obs')} periods; DSR over {m.get('n_trials')} "
                    f"trials (var {_fmt(m.get('var_sharpe'))}); net Sharpe under cost stress: "
                    + (", ".join(f"{k} {_fmt(v)}" for k, v in (m.get("stress") or {}).items()) or "n/a"))
    days = [d for d in res.get("days", []) if "gates" in d]
    if days:
        heads = ", ".join(f"{g['gate']} {g['metric']}" for g in days[0]["gates"])
        t = Table(title=f"Per day: {heads}", title_justify="left",
                  caption="the gates above pool the days: A passes only when every day passes", caption_justify="left")
        # the day's file name whole (it is what --data named), each cell a verdict and the gate's headline
        # value (the title names the metric): the table fits 100 columns with LOBSTER's file names
        t.add_column("day", no_wrap=True)
        t.add_column("rows", justify="right")
        for g in days[0]["gates"]:
            t.add_column(g["gate"], no_wrap=True)
        for d in days:
            cells = []
            for g in d["gates"]:
                na = all(ch["value"] is None and ch["passed"] for ch in g["checks"])
                word = "n/a" if na else "[green]pass[/green]" if g["passed"] else "[red]fail[/red]"
                cells.append(word if na else f"{word} {_fmt(g['value'])}")
            t.add_row(d["day"], str(d["n_rows"]), *cells)
        c.print(t)
    b = next((g for g in res["gates"] if g["gate"] == "B"), None)
    if b is not None:
        decay = ", ".join(f"{k.removeprefix('fwd_ret_')}: {_fmt(v)}" for k, v in b["metrics"]["ic_decay"].items())
        c.print(f"IC decay (mean Spearman IC): {decay}")
    if len(res["variants"]) > 1:
        t = Table(title="Parameter sensitivity", title_justify="left")
        for col in ("variant", "params", "sharpe", "Δ sharpe", "IC", "Δ IC"):
            t.add_column(col)
        for v in res["variants"]:
            t.add_row(v["name"], str(v["params"]), _fmt(v["sharpe"]), _fmt(v["d_sharpe"]), _fmt(v["ic"]),
                      _fmt(v["d_ic"]))
        c.print(t)
    for p in res["plots"]:
        c.print(f"plot {p}")
    if res.get("report"):
        c.print(f"report {res['report']}")
