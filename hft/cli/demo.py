"""`hft demo`: the main job end to end on generated data and the embedded defaults.

Generate a synthetic L3 day → import it → verify the rebuilt book after every message → inspect → replay it
with the `mm` strategy through the real gateway (run folder with Parquet, summary and figure) → record the run
through the WAL into the embedded ClickHouse store and query it back → the alpha lifecycle of the shipped
``obi_l1``: validate (gates A/B/C, recorded in the experiment registry), a small combinatorial search, pool,
promote on a held-out generated day (Gates D/E), canary on a third day, the Q-learning market maker through
``rl-promote``, status.

The verdicts are honest: on generated data with taker costs ``obi_l1`` fails gate C and Gate D, so the
promotion is refused, then forced with an audited reason to walk the rest of the lifecycle. Promotion files go
to ``<workdir>/strategy_promotions`` (never into the repository's ``config/strategy_promotions``), reset on
every run. Each capability that lands extends this.

On a cold kernel cache (a fresh install: no pass of the L3 replay's self-test recorded, `hft.core.selftest.passed`)
with two CPUs, a second process (`hft.cli._lanes`) compiles the replay's kernels while this one generates, imports,
verifies and inspects its day: it replays a small LOBSTER import made without the generator (whose kernels this
process compiles meanwhile) exactly as the demo replays its day (`_replay_mm`), and the replay step waits for it.
If it fails, is killed, or uses no CPU for `hft.cli._lanes.STALL_S` seconds (stopped or hung: it is then killed),
the demo compiles what it needs itself; on one CPU nothing changes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import typer

from hft.cli._lanes import Lane, finish_lane, start_lane, stop_lane
from hft.cli._output import console, emit, progress_bar
from hft.cli._progress import COMPILING
from hft.core.cpus import usable_cpus
from hft.core.errors import HftError
from hft.core.fileio import remove_dead_temps, temp_prefix

LEVELS = 10  # book levels of the generated days (and of the second process's small day)


def demo(
    out: Path = typer.Option(None, "--out", "-o",
                             help="Working directory (default: $HFT_HOME/demo, HFT_HOME defaults to .hft)."),
    seed: int = typer.Option(7, "--seed", help="Generator seed."),
    messages: int = typer.Option(100_000, "--messages", help="Messages in the generated day."),
    lifecycle: bool = typer.Option(True, "--lifecycle/--no-lifecycle",
                                   help="Also run the alpha lifecycle (validate, search, pool, promote, canary)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output on stdout."),
    compile_ahead: bool = typer.Option(False, "--compile-ahead", hidden=True,
                                       help="the second process of a cold demo: compile the replay's kernels on a "
                                            "small day in --out, answer JSON"),
) -> None:
    """Run the main job on a generated day: generate, import, verify, inspect, replay, store, alpha lifecycle."""
    from hft.compile_watch import CompileWatch
    from hft.core.errors import DataValidationError

    work = out or Path(os.environ.get("HFT_HOME", ".hft")) / "demo"
    work.mkdir(parents=True, exist_ok=True)
    if compile_ahead:
        sys.stdout.write(json.dumps(_compile_ahead(work)) + "\n")
        return
    con = console(stderr=True)
    quiet = json_out
    steps: dict[str, dict] = {}
    t_all = time.perf_counter()

    bar = progress_bar("demo", enabled=not json_out)

    def step(name: str, fn):
        if not quiet:
            con.print(f"[bold cyan]»[/] {name} …")
            bar.describe(name)
        t0 = time.perf_counter()
        with CompileWatch() as w:
            res = fn()
        res["step_s"] = round(time.perf_counter() - t0, 3)
        res["kernels_compiled"] = w.kernels  # in this process
        steps[name] = res
        return res

    with _Ahead(bar, None if quiet else con) as ahead, bar:
        ver, ins = _main_job(work, seed, messages, lifecycle, step, ahead)
    result = {"ok": bool(ver["ok"]), "workdir": str(work), "wall_s": round(time.perf_counter() - t_all, 3),
              "compile_ahead": ahead.result, "steps": steps}
    emit(result, json_out, lambda: _render(result, ins))
    if not ver["ok"]:
        raise DataValidationError(f"demo: book verification failed: {ver['problem']}")


def _main_job(work: Path, seed: int, messages: int, lifecycle: bool, step, ahead: _Ahead) -> tuple[dict, dict]:
    """generate → import → verify → inspect → replay (after `ahead`'s compile) → store (→ the lifecycle); returns
    verify and inspect."""
    from hft.data.importing import generate_day, import_to_file, verify_files
    from hft.data.inspect import inspect_files

    gen = step("generate", lambda: generate_day(work, seed=seed, symbol="SYNTH", date="2024-01-02",
                                                 messages=messages, levels=LEVELS, zip_output=True))
    src = Path(gen["zip_path"])

    parquet = work / "SYNTH_2024-01-02.parquet"
    step("import", lambda: import_to_file([src], parquet, force=True))
    ver = step("verify", lambda: verify_files([parquet]))
    ins = step("inspect", lambda: inspect_files([parquet]))

    def replay() -> dict:
        ahead.wait()
        return _replay_mm(parquet, work)

    rep = step("replay", replay)
    step("store", lambda: _query_store(rep["run_hash"]))
    if lifecycle:
        _lifecycle(work, parquet, seed, messages, step)
    return ver, ins


def _replay_mm(day: Path, work: Path) -> dict:
    """The demo's replay: `day` with ``mm`` and the shipped config, its run folder in `work`, recorded in the store
    (the demo's own day, and the second process's small one: the same call, so the same compiled kernels)."""
    from hft.data.sources import FILES
    from hft.recorder import sim_runs
    from hft.sim.replay import load_replay_config, run_replay

    return run_replay([day], "mm", load_replay_config(), out_dir=work / "run-mm", force=True, recorder=sim_runs,
                      source=FILES)


class _Ahead:
    """The demo's second process (module docstring): started on entering when the cache is cold and two CPUs are
    usable, waited for by the replay (`wait`), stopped on leaving whatever happened (Ctrl-C, an error). `result`:
    what the JSON reports (``processes``; with two: ``ok``, ``waited_s``, its ``kernels_compiled`` and
    ``compile_s``, or the ``error`` it failed with)."""

    def __init__(self, bar: Any, con: Any) -> None:
        self.bar, self.con = bar, con
        self.lane: Lane | None = None
        self.result: dict[str, Any] = {"processes": 1}
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> _Ahead:
        from hft.core.selftest import passed

        if usable_cpus() > 1 and not passed("replay-l3"):
            remove_dead_temps(tempfile.gettempdir())  # what a killed demo's second process left
            self._tmp = tempfile.TemporaryDirectory(prefix=temp_prefix("hft-demo-"))
            tmp = Path(self._tmp.name)
            # its own store and run folder: nothing of it reaches the demo's
            self.lane = start_lane(tmp, ["demo", "--compile-ahead", "--out", str(tmp / "work"), "--json"],
                                   "compile-ahead", env={"HFT_HOME": str(tmp / "home")},
                                   what="hft demo --compile-ahead")
            self.result = {"processes": 2}
        return self

    def wait(self) -> None:
        """Until the second process has compiled the replay's kernels (at once if it already has, or none runs);
        its failure is noted and the replay compiles what it needs here."""
        if self.lane is None or "waited_s" in self.result:
            return
        t0 = time.perf_counter()
        if self.lane.proc.poll() is None:
            self.bar.describe(f"replay: {COMPILING} in a second process")
            if self.con is not None:
                self.con.print(f"  {COMPILING} in a second process …")
        try:
            got = finish_lane(self.lane)
            self.result.update(ok=True, kernels_compiled=got["kernels_compiled"], compile_s=got["compile_s"])
        except HftError as exc:
            self.result.update(ok=False, error=str(exc))
            if self.con is not None:
                self.con.print(f"  note: {exc}; compiling here")
        self.result["waited_s"] = round(time.perf_counter() - t0, 3)
        self.bar.describe("replay")

    def __exit__(self, *exc: object) -> None:
        if self.lane is not None:
            stop_lane(self.lane)
        if self._tmp is not None:
            self._tmp.cleanup()


def _compile_ahead(work: Path) -> dict[str, Any]:
    """The second process's work: a small LOBSTER import (`hft.cli._samples.lobster_day`) replayed by `_replay_mm`
    in `work`; its compiles counted."""
    from hft.cli._samples import lobster_day
    from hft.compile_watch import CompileWatch

    t0 = time.perf_counter()
    with CompileWatch() as w:
        _replay_mm(lobster_day(work / "small.parquet", LEVELS), work)
    return {"ok": True, "kernels_compiled": w.kernels, "compile_s": round(w.seconds, 3),
            "seconds": round(time.perf_counter() - t0, 3)}


ALPHA = "obi_l1"
SEARCH_SPEC = {"search": "demo", "alphas": {"obi_l1": {"smooth": [1, 20]}, "ofi": {"window": [10, 50]},
                                            "trade_sign_flow": {"window": [50, 200]}},
               "subset_sizes": [1, 2], "weights": ["equal", "ic"],
               "features": {"levels": 1, "sampling": "1s", "horizons": ["1s", "10s"]}, "target": "10s",
               "bucket": "5m", "top_k": 3}


def _lifecycle(work: Path, day: Path, seed: int, messages: int, step) -> None:
    """validate → search → pool → promote (refused, then forced) → canary → status, on generated days."""
    import shutil

    from hft.alpha.governance.canary import run_canary
    from hft.alpha.governance.pool import record_pool, run_pool
    from hft.alpha.governance.promote import promote
    from hft.alpha.governance.status import status
    from hft.alpha.governance.validate import validate
    from hft.alpha.records.experiments import ExperimentRegistry, alpha_code_hash
    from hft.cli._research import load_research_module
    from hft.data.importing import generate_day
    from hft.data.sources import FILES
    from hft.recorder.alpha_audit import AUDIT, held

    promos = work / "strategy_promotions"
    shutil.rmtree(promos, ignore_errors=True)  # the demo's own promotions: a fresh lifecycle every run

    def held_out(name: str, offset: int) -> Path:
        folder = work / name
        return Path(generate_day(folder, seed=seed + offset, symbol="SYNTH", date=f"2024-01-0{2 + offset}",
                                 messages=messages // 2, levels=LEVELS, zip_output=True)["zip_path"])

    def validated() -> dict:
        with held(wait_s=30.0) as sink:  # one store for the run, as `hft alpha validate` holds it
            return validate(ALPHA, [day], source=FILES, registry=ExperimentRegistry(sink),
                            plots_dir=work / "validate").to_dict()

    step(f"validate {ALPHA}", validated)
    engine = load_research_module("combinatorial/search_engine.py")
    step("search", lambda: engine.run_search(engine.parse_spec(SEARCH_SPEC), [day], workers=1))
    chash = alpha_code_hash(ALPHA)

    def pool() -> dict:
        res = run_pool(ALPHA, [day], code_hash=chash, source=FILES, promotions_root=promos)
        out = res.to_dict()
        out["audit_ids"] = record_pool(res, sink=AUDIT)
        return out

    step("pool", pool)
    day2 = held_out("held_out", 1)
    refused = step("promote", lambda: promote(ALPHA, [day2], source=FILES, sink=AUDIT, approvers=["demo"],
                                               promotions_root=promos,
                                               out_dir=work / "gate_d").to_dict())
    if not refused["promoted"]:
        reason = "demo: walk the lifecycle on generated data despite failed gates"
        step("promote --force", lambda: promote(ALPHA, [day2], source=FILES, sink=AUDIT, approvers=["demo"],
                                                 force=True, reason=reason,
                                                 promotions_root=promos, out_dir=work / "gate_d").to_dict())
    day3 = held_out("canary_day", 2)
    step("canary", lambda: run_canary(ALPHA, data=[day3], source=FILES, sink=AUDIT,
                                      promotions_root=promos).to_dict())
    rl = load_research_module("rl/lifecycle.py")
    rl_cfg = work / "rl_demo.yaml"
    rl_cfg.write_text(rl.DEFAULT_CONFIG.read_text().replace("episodes: 3 ", "episodes: 1 "))
    step("rl-promote", lambda: rl.rl_promote([day], [day2], config_path=rl_cfg, approvers=["demo"],
                                             promotions_root=promos, out=work / "rl_policy"))
    step("status", lambda: status(promotions_root=promos, sink=AUDIT))


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
    if "status" in s:
        _render_lifecycle(t, s)
    con.print(t)
    from hft.cli.data import _render_kv

    _render_kv("inspect", {k: v for k, v in inspect.items() if k not in ("ok", "step_s")})
    con.print(f"[green]demo ok[/] in {result['wall_s']} s — files in {result['workdir']}")


def _render_lifecycle(t, s: dict) -> None:
    v = s[f"validate {ALPHA}"]
    gates = ", ".join(f"{g['gate']} {'pass' if g['passed'] else 'FAIL'}" for g in v["gates"])
    t.add_row(f"validate {ALPHA}", f"{gates} — experiment {v['experiment_id']}, {len(v['plots'])} plots",
              str(v["step_s"]))
    sr = s["search"]
    best = sr["top"][0] if sr["top"] else None
    t.add_row("search", f"{sr['trials']} trials recorded, PBO {sr['pbo']['pbo'] if sr['pbo'] else 'n/a'}, best "
                        f"trial {best['trial'] if best else '-'} by DSR", str(sr["step_s"]))
    p = s["pool"]
    t.add_row("pool", f"{'pass' if p.get('passed') else 'FAIL'} against {len(p.get('pool', []))} promoted alphas",
              str(p["step_s"]))
    pr = s["promote"]
    t.add_row("promote", ("promoted" if pr["promoted"] else "refused: " + (pr["reasons"][0] if pr["reasons"]
                                                                           else "gates failed")),
              str(pr["step_s"]))
    if "promote --force" in s:
        f = s["promote --force"]
        t.add_row("promote --force", f"forced (audited) → {f['promotion_file']}", str(f["step_s"]))
    rl = s["rl-promote"]
    t.add_row("rl-promote", f"Q policy (gate R {'pass' if rl['gate_r']['passed'] else 'FAIL'}) "
                            + ("promoted" if rl["promoted"] else "refused: " + (rl["reasons"][0] if rl["reasons"]
                                                                                else "gates failed")),
              str(rl["step_s"]))
    c = s["canary"]
    t.add_row("canary", f"{c['decision']} → state {c['to_state']}: {'; '.join(c['reasons'][:1]) or 'within the plan'}", str(c["step_s"]))
    st = s["status"]
    t.add_row("status", ", ".join(f"{a['alpha_id']}: {a['state']}" for a in st["alphas"] if a["state"] != "candidate")
              or "no promoted alphas", str(st["step_s"]))
