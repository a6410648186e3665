"""`hft alpha search SPEC --data PATH...`: combinatorial alpha search (research/combinatorial/search_engine.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from hft.cli._config import set_option
from hft.cli._output import console, count, emit


def register(app: typer.Typer) -> None:
    """Add the ``search`` command to the ``hft alpha`` group."""

    @app.command("search")
    def search_cmd(
        spec: Path = typer.Argument(..., help="Search spec YAML (research/combinatorial/search_engine.py)."),
        data: list[Path] = typer.Option(..., "--data", help="Market-data file(s) the trials are scored on."),
        backend: str = typer.Option("local", "--backend", help="local (process pool) or ray."),
        workers: int = typer.Option(0, "--workers", min=0, help="Processes / Ray CPUs (0: all CPUs; local: a pool only for long searches)."),
        address: str = typer.Option("", "--address", help="Existing Ray cluster address (--backend ray)."),
        max_trials: int = typer.Option(0, "--max-trials", min=0, help="Stop after N new trials (0: all); resumable."),
        sets: list[str] = set_option(),
        json_out: bool = typer.Option(False, "--json", help="Machine-readable output on stdout."),
    ) -> None:
        """Score every trial of SPEC out of sample, record each in the experiment registry, rank by DSR.

        Re-running the same spec on the same data resumes: recorded trials are skipped.
        """
        from hft.cli._output import progress_bar
        from hft.cli._research import load_research_module

        engine = load_research_module("combinatorial/search_engine.py")
        from hft.cli._config import layered_spec

        parsed = engine.parse_spec(*layered_spec(spec, sets))
        with progress_bar("search", "trials", enabled=not json_out) as update:
            result = engine.run_search(parsed, data, backend=backend, workers=workers or None,
                                       address=address or None, max_trials=max_trials or None, progress=update)

        def render() -> None:
            from rich.table import Table

            c = console()
            c.print(f"experiment [bold]{result['experiment_id']}[/bold]: {count(result['trials'], 'trial')} "
                    f"recorded ({result['new_trials']} new, {result['resumed_trials']} resumed), family "
                    f"{result['family']} has {count(result['family_trials'], 'trial')}")
            if result["trials_per_min"]:
                c.print(f"{result['backend']} backend, {count(result['workers'], 'worker')}: "
                        f"{result['trials_per_min']} trials/min")
            if result["pbo"] and result["pbo"].get("pbo") is not None:
                c.print(f"PBO of this search (CSCV, {result['pbo']['blocks']} blocks): {result['pbo']['pbo']:.3f}")
            bucket = f"{parsed.bucket_ns / 60e9:g} min" if parsed.bucket_ns % 60_000_000_000 == 0 \
                else f"{parsed.bucket_ns / 1e9:g} s"
            t = Table(title=f"top {len(result['top'])} by {result['ranked_by']}",
                      caption=f"SR oos / SR is: Sharpe per {bucket} bucket of returns (bucket in the spec), "
                              "not annualised", caption_justify="left")
            for col in ("trial", "members", "weights", "DSR", "SR oos", "SR is", "IC oos"):
                t.add_column(col)
            for r in result["top"]:
                members = " + ".join(m["alpha"] + "(" + ", ".join(f"{k}={v}" for k, v in m["params"].items()) + ")"
                                     for m in r["members"])
                t.add_row(str(r["trial"]), members, r["weights"], _f(r["dsr"]), _f(r["sharpe_oos"]),
                          _f(r["sharpe_is"]), _f(r["ic_oos"]))
            c.print(t)

        emit(result, json_out, render)


def _f(x: float | None) -> str:
    return "-" if x is None or x != x else f"{x:.3g}"
