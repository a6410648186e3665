"""`hft demo`: the main job end to end on generated data and the embedded defaults.

Generate a synthetic L3 day → import it → verify the rebuilt book after every message → inspect → replay it
with the `mm` strategy through the real gateway (run folder with Parquet, summary and figure) → record the run
through the WAL into the embedded ClickHouse store and query it back. Each capability that lands extends this.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import typer

from hft.cli._output import console, emit


def demo(
    out: Path = typer.Option(None, "--out", "-o",
                             help="Working directory (default: $HFT_HOME/demo, HFT_HOME defaults to .hft)."),
    seed: int = typer.Option(7, "--seed", help="Generator seed."),
    messages: int = typer.Option(100_000, "--messages", help="Messages in the generated day."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output on stdout."),
) -> None:
    """Run the main job on a generated day: generate, import, verify, inspect."""
    from hft.core.errors import DataValidationError
    from hft.data.importing import generate_day, import_to_file, verify_files
    from hft.data.inspect import inspect_files
    from hft.sim.replay import DEFAULT_CONFIG, load_replay_config, run_replay

    work = out or Path(os.environ.get("HFT_HOME", ".hft")) / "demo"
    work.mkdir(parents=True, exist_ok=True)
    con = console(stderr=True)
    quiet = json_out
    steps: dict[str, dict] = {}
    t_all = time.perf_counter()

    def step(name: str, fn):
        if not quiet:
            con.print(f"[bold cyan]»[/] {name} …")
        t0 = time.perf_counter()
        res = fn()
        res["step_s"] = round(time.perf_counter() - t0, 3)
        steps[name] = res
        return res

    gen = step("generate", lambda: generate_day(work, seed=seed, symbol="SYNTH", date="2024-01-02",
                                                 messages=messages, levels=10, zip_output=True))
    src = Path(gen["zip_path"])
    parquet = work / "SYNTH_2024-01-02.parquet"
    step("import", lambda: import_to_file([src], parquet, force=True))
    ver = step("verify", lambda: verify_files([parquet]))
    ins = step("inspect", lambda: inspect_files([parquet]))
    rep = step("replay", lambda: run_replay([parquet], "mm", load_replay_config(
        DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None), out_dir=work / "run-mm", force=True, store=True))
    step("store", lambda: _query_store(rep["run_hash"]))
    result = {"ok": bool(ver["ok"]), "workdir": str(work), "wall_s": round(time.perf_counter() - t_all, 3),
              "steps": steps}
    emit(result, json_out, lambda: _render(result, ins))
    if not ver["ok"]:
        raise DataValidationError(f"demo: book verification failed: {ver['problem']}")


def _query_store(run_id: str) -> dict:
    """Read the replay back from the embedded store (what `hft audit query` would show)."""
    from hft.store.store import open_store

    sql = ("SELECT kind, count() AS fills, sum(qty) AS lots, sum(fee) AS fees FROM sim.fills "
           f"WHERE run_id = '{run_id}' GROUP BY kind ORDER BY kind")
    with open_store(wait_s=30) as store:
        rows = store.query(sql).dicts()
        decisions = store.query("SELECT count() AS n FROM audit.gateway_decisions "
                                f"WHERE run_id = '{run_id}'").dicts()[0]["n"]
    return {"sql": sql, "rows": rows, "decisions": int(decisions)}


def _render(result: dict, inspect: dict) -> None:
    from rich.table import Table

    con = console()
    t = Table(title="hft demo", title_justify="left")
    for col in ("step", "result", "seconds"):
        t.add_column(col)
    s = result["steps"]
    t.add_row("generate", f"{s['generate']['message_count']:,} messages (seed {s['generate']['seed']})",
              str(s["generate"]["step_s"]))
    t.add_row("import", f"{s['import']['events']:,} events → {s['import']['out']}", str(s["import"]["step_s"]))
    v = s["verify"]
    t.add_row("verify", f"{v['checked']:,} book rows checked, {v['mismatches']} mismatches", str(v["step_s"]))
    t.add_row("inspect", f"spread median {inspect['spread_ticks']['median']} ticks, "
                         f"{inspect['crossed']} crossed", str(s["inspect"]["step_s"]))
    r = s["replay"]
    t.add_row("replay mm", f"{r['orders']:,} orders, {r['fills']:,} fills, PnL {r['pnl']:.4g} {r['currency']}, "
                           f"run {r['run_hash'][:12]} → {r['run_folder']}", str(r["step_s"]))
    q = s["store"]
    t.add_row("store", f"{q['decisions']:,} gateway decisions and "
                       f"{sum(int(x['fills']) for x in q['rows']):,} fills queryable in ClickHouse (chDB)",
              str(q["step_s"]))
    con.print(t)
    from hft.cli.data import _render_kv

    _render_kv("inspect", {k: v for k, v in inspect.items() if k not in ("ok", "step_s")})
    con.print(f"[green]demo ok[/] in {result['wall_s']} s — files in {result['workdir']}")
