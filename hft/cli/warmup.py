"""`hft warmup`: compile every kernel ahead, so the first real run is not a compile.

The kernels are compiled on first use and cached on disk (``hft/__init__.py``: an entry holds while the
meaning of the kernel's module and of what it imports holds). A fresh install therefore spends its first minutes compiling inside whatever runs
first. `warmup` runs a tiny version of each job through the same code paths — a generated LOBSTER day through
import, verify, inspect, features and L3 replays (a numba strategy; a Python one with latencies from a recorded
file); the Databento MBO walk on a two-record array and the vendor importers' compiled passes (`hft.data._gather`:
events, snapshot levels, decimals) on one-row inputs; a small synthetic L2 stream through an L2 replay; runs over
several instruments (two LOBSTER legs, two and three L2 legs: each its own kernel layout); a few lines of a
Binance capture (in the recorded line format) through import, verify and replay; and `hft gateway serve` in a
child process taking a batch of TCP intents and two HTTP orders — so every kernel they reach is compiled and
cached. Last, every kernel family gives its known answers (`hft.core.selftest`): a wrong one stops the warm-up
naming the family and the CPU target. A warm cache makes it take seconds. The README's test command runs it
before its workers start (`tests/conftest.py`).

With two CPUs or more the steps run in two processes at once (each step's lane in `STEPS`; the second process:
`hft.cli._lanes`): compiling is single-threaded, and the two lanes share little but the gateway's kernels, so a
cold warm-up takes about the longer lane instead of the sum. numba's cache takes concurrent writers (each entry
and index is written to a temporary file and renamed), as the test suite's parallel workers already rely on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from hft.cli._lanes import finish_lane, start_lane, stop_lane
from hft.cli._output import console, emit
from hft.core.cpus import usable_cpus
from hft.core.fileio import remove_dead_temps, temp_prefix


def _scratch() -> tempfile.TemporaryDirectory:
    """The warm-up's scratch folder in the temp folder, named by `temp_prefix`: what a killed warm-up left there
    goes at the next one (`remove_dead_temps`)."""
    remove_dead_temps(tempfile.gettempdir())
    return tempfile.TemporaryDirectory(prefix=temp_prefix("hft-warmup-"))


def warmup(json_out: bool = typer.Option(False, "--json", help="Machine-readable output on stdout."),
           lane: int = typer.Option(0, "--lane", hidden=True, help="run only this lane's steps (the second "
                                    "process of a two-lane warm-up)")) -> None:
    """Compile every kernel now (first run only; seconds when the cache is warm)."""
    from hft.cli._progress import progress_bar

    t_all = time.perf_counter()
    if lane:  # the second process: its steps, as JSON for the first
        done = _run([s for s in STEPS if s[2] == lane], None)
        sys.stdout.write(json.dumps({"ok": True, "steps": done}) + "\n")
        return
    two = usable_cpus() > 1
    mine = [s for s in STEPS if not two or s[2] == 1]
    bar = progress_bar("warmup", "steps", enabled=not json_out)
    with _scratch() as tmp:
        other = start_lane(Path(tmp), ["warmup", "--lane", "2", "--json"], "lane2") if two else None
        try:
            with bar as update:
                done = _run(mine, (bar, update))
                if other is not None:
                    bar.describe("waiting for the second process's steps")
                    done.update(finish_lane(other)["steps"])
        finally:
            if other is not None:
                stop_lane(other)
    done = {name: done[name] for name, _, _ in STEPS}  # the steps' own order, whichever process ran them
    kernels = sum(s["kernels_compiled"] for s in done.values())
    compile_s = sum(s["compile_s"] for s in done.values())  # both processes' (a server child's is not timed)
    from hft.compile_watch import cached_specialisations
    from hft.core.selftest import target

    wall = round(time.perf_counter() - t_all, 3)
    held = cached_specialisations()
    result = {"ok": True, "wall_s": wall, "compile_s": round(compile_s, 3), "kernels_compiled": kernels,
              "specialisations": held["specialisations"], "functions": held["functions"],
              "duplicates": held["duplicates"], "processes": 2 if two else 1, "cpu_target": target(),
              "steps": done}

    def render() -> None:
        c = console()
        for name, s in done.items():
            took = f" in {s['compile_s']} s" if s["compile_s"] else ""  # a child process's compiles are not timed
            c.print(f"  {name}: {s['seconds']} s ({s['kernels_compiled']} kernels compiled{took})")
        c.print(f"[green]warm[/] in {result['wall_s']} s for CPU target {result['cpu_target']}: {kernels} kernels "
                "compiled"
                + (" (the cache was warm already)" if kernels == 0 else "; later runs start warm")
                + (" (two processes)" if two and kernels else "")
                + f"; the cache holds {held['specialisations']} specialisations of {held['functions']} kernels")

    emit(result, json_out, render)


def _run(steps: list[tuple[str, Callable[[dict[str, Any]], int | None], int]],
         bar: tuple[Any, Callable[[int, int], None]] | None) -> dict[str, dict[str, float]]:
    """Run `steps` in this process, each timed and its compiles counted (a step that compiles in a child process
    returns the count of its new cache entries); `bar`: the progress bar and its update, or None."""
    from hft.compile_watch import CompileWatch

    done: dict[str, dict[str, float]] = {}
    with _scratch() as tmp:
        ctx: dict[str, Any] = {"dir": Path(tmp)}
        for i, (name, fn, _) in enumerate(steps):
            if bar is not None:
                bar[0].describe(name)
                bar[1](i, len(steps))
            t0 = time.perf_counter()
            with CompileWatch() as w:
                in_child = fn(ctx) or 0
            done[name] = {"seconds": round(time.perf_counter() - t0, 3), "compile_s": round(w.seconds, 3),
                          "kernels_compiled": w.kernels + in_child}
        if bar is not None:
            bar[1](len(steps), len(steps))
    return done


def _l3_data(ctx: dict[str, Any]) -> None:
    from hft.data.importing import generate_day, import_to_file, verify_files, warm_importer_kernels
    from hft.data.inspect import inspect_files

    gen = generate_day(ctx["dir"], seed=1, symbol="WARM", date="2024-01-02", messages=3000, levels=5,
                       zip_output=True)
    ctx["l3"] = ctx["dir"] / "warm.parquet"
    import_to_file([Path(gen["zip_path"])], ctx["l3"], force=True)
    verify_files([Path(gen["zip_path"])])
    inspect_files([ctx["l3"]])
    ctx["zip"] = Path(gen["zip_path"])
    warm_importer_kernels()  # Databento MBO's walk, the vendor importers' compiled passes (Tardis, DBN MBP)


def _l3_replay(ctx: dict[str, Any]) -> None:
    from hft.data.sources import FILES
    from hft.sim.replay import load_replay_config, run_replay

    cfg = load_replay_config()
    run_replay([ctx["zip"]], "mm", cfg, source=FILES)
    run_replay([ctx["l3"]], "mm", cfg, source=FILES)
    # a strategy in Python (the order path that calls back) with latencies read from a recorded file: each is
    # its own compiled variant of the loop
    (ctx["dir"] / "latency.csv").write_text("t_ns,entry_ns,response_ns\n0,1000000,1000000\n")
    (ctx["dir"] / "latency.yaml").write_text("latency: {file: latency.csv}\n")
    run_replay([ctx["zip"]], "imbalance_taker", load_replay_config(ctx["dir"] / "latency.yaml"), source=FILES)


def _features(ctx: dict[str, Any]) -> None:
    from hft.alpha.research.features import FeatureSpec, compute_features
    from hft.data.sources import FILES

    compute_features([ctx["l3"]], FeatureSpec(levels=5), source=FILES, cache=False)
    compute_features([ctx["l3"]], FeatureSpec(levels=5, sampling="1s", horizons=("1s",)), source=FILES,
                     cache=False)


def _l2_file(ctx: dict[str, Any], name: str, *stream_args: int) -> Path:
    """A small L2 event file of the self-test's stream (`hft.sim.selftest.l2_stream` with `stream_args`) for one
    spot instrument, in the warm-up's folder."""
    from hft.core.instrument import Instrument
    from hft.data.events_io import write_events
    from hft.sim.selftest import l2_stream

    path = ctx["dir"] / name
    write_events(path, l2_stream(*stream_args), Instrument("WARMUSDT", "BINANCE_SPOT", "0.01", "0.001",
                                                           currency="USDT", book_level="L2"))
    return path


def _l2_replay(ctx: dict[str, Any]) -> None:
    from hft.data.sources import FILES
    from hft.sim.replay import load_replay_config, run_replay

    run_replay([_l2_file(ctx, "warm_l2.parquet")], "mm", load_replay_config(), source=FILES)


def _context_kernel(ctx: dict[str, Any]) -> None:
    """A strategy kernel with the full context (seven arguments, `hft.sim.selftest.IdleContextKernel`) on an L2
    stream and a LOBSTER import: the replay loop's own variant for such kernels, one per venue kind, which then
    serves any user's kernel (the loop calls it through its address)."""
    from hft.cli._samples import lobster_day
    from hft.data.sources import FILES
    from hft.sim.replay import load_replay_config, run_replay

    cfg = load_replay_config()
    for day in (_l2_file(ctx, "warm_ctx_l2.parquet", 300), lobster_day(ctx["dir"] / "warm_ctx_l3.parquet")):
        run_replay([day], "hft.sim.selftest:IdleContextKernel", cfg, source=FILES)


def _legs_l3(ctx: dict[str, Any]) -> None:
    """Runs over several instruments (`hft.sim.portfolio.replay_legs`, as ``hft replay -d A -d B``): the numba
    loop kernels take per-leg state as tuples of one item per leg, so each venue kind and number of legs is its own
    compiled layout — here two LOBSTER legs (L3 venues, reference rows)."""
    from hft.data.importing import generate_day
    from hft.data.sources import open_market_data

    mds = [open_market_data([generate_day(ctx["dir"] / sym, seed=seed, symbol=sym, date="2024-01-02",
                                          messages=1500, levels=5, zip_output=True)["zip_path"]])
           for seed, sym in ((2, "WARMA"), (3, "WARMB"))]
    _replay_legs(mds, "hedged_mm")


def _legs_l2(ctx: dict[str, Any]) -> None:
    """Two and three L2 legs (`_legs_l3`'s runs on L2 venues: two more layouts)."""
    from hft.core.instrument import Instrument
    from hft.data.events_io import write_events
    from hft.data.sources import open_market_data
    from hft.sim.selftest import l2_stream

    l2 = []
    for k in range(3):
        path = ctx["dir"] / f"warm_leg{k}.parquet"
        ev = l2_stream(500, seed=2 + k)
        ev["price"] += 1000 * k
        write_events(path, ev, Instrument(f"WARM{k}USDT", "BINANCE_SPOT", "0.01", "0.001", currency="USDT",
                                          book_level="L2"))
        l2.append(open_market_data([path]))
    _replay_legs(l2[:2], "hedged_mm")
    _replay_legs(l2, "mm")


def _replay_legs(mds: list[Any], name: str) -> None:
    from hft.sim.portfolio import replay_legs
    from hft.sim.replay import load_replay_config
    from hft.sim.strategies import make_strategy

    cfg = load_replay_config()
    replay_legs(mds, make_strategy(name, cfg.strategies.get(name)), name, cfg)


def _binance(ctx: dict[str, Any]) -> None:
    """A tiny USD-M capture (`<local ns> <raw JSON>` lines, gzipped): the scan, sync and conversion kernels."""
    import gzip

    from hft.data.importing import import_to_file, verify_files
    from hft.data.sources import FILES
    from hft.sim.replay import load_replay_config, run_replay

    e0, sym = 1_723_161_256_000, "BTCUSDT"

    def line(ts: int, obj: dict[str, Any]) -> str:  # `ts` ms after e0; the line's prefix is local ns
        return f"{(e0 + ts) * 1_000_000 + 250_000} {json.dumps(obj, separators=(',', ':'))}"

    lines = [line(0, {"lastUpdateId": 100, "E": e0, "T": e0, "bids": [["100.00", "1.000"], ["99.90", "2.000"]],
                          "asks": [["100.10", "1.500"], ["100.20", "1.000"]]})]
    u = 100
    for k in range(1, 200):
        ts = 10 * k
        bid, ask = f"{100 + (k % 3) / 10:.2f}", f"{100.3 + (k % 3) / 10:.2f}"
        lines.append(line(ts, {"stream": "btcusdt@depth@0ms", "data": {
            "e": "depthUpdate", "E": e0 + ts, "T": e0 + ts, "s": sym, "U": u + 1, "u": u + 2, "pu": u,
            "b": [[bid, f"{1 + k % 5}.000"]], "a": [[ask, f"{1 + k % 4}.000"]]}}))
        u += 2
        if k % 7 == 0:
            lines.append(line(ts, {"stream": "btcusdt@trade", "data": {
                "e": "trade", "E": e0 + ts + 1, "T": e0 + ts, "s": sym, "t": k, "p": bid, "q": "0.005",
                "X": "MARKET", "m": True}}))
    cap = ctx["dir"] / "usdm" / "btcusdt_20240808.gz"
    cap.parent.mkdir(parents=True, exist_ok=True)
    cap.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    out = ctx["dir"] / "warm_binance.parquet"
    import_to_file([cap], out, force=True)
    verify_files([cap])
    cfg = load_replay_config()
    run_replay([cap], "mm", cfg, source=FILES)


def _selftest(ctx: dict[str, Any]) -> None:
    """Every kernel family's known answers on this CPU target (`hft.core.selftest.run_all`): a wrong one stops
    the warm-up with the family, the target and the fallback named (`KernelError`, exit 18)."""
    from hft.core.selftest import run_all

    run_all()


def _live(ctx: dict[str, Any]) -> int:
    """`hft gateway serve` (the shipped config, loopback venue, TCP intake, its own WAL under the warm-up folder) in a
    child process: a pipelined batch of TCP intents, one ``/v3/orders`` and one durable ``/orders`` order, then
    SIGTERM. The service's own kernels (frame scan, order views, WAL row join, venue journal, the gateway's batch
    path) compile here instead of on a first real order. Returns how many kernels the child compiled (entries of
    numba's on-disk cache, ``$NUMBA_CACHE_DIR``, which `hft` sets on import, written while it ran)."""
    import http.client
    import re
    import secrets

    from hft.live.auth import mint
    from hft.live.client import TcpOrderClient

    config = Path(__file__).resolve().parents[2] / "config" / "gateway.yaml"
    if not config.exists():  # an installed (not editable) package has no shipped config: nothing to warm
        return 0
    cache = Path(os.environ.get("NUMBA_CACHE_DIR", "."))
    t0 = time.time() - 1.0  # a recompiled kernel rewrites its entry's file: count files written since the start
    secret = secrets.token_hex(24)
    env = {**os.environ, "HFT_HOME": str(ctx["dir"] / "live"), "HFT_JWT_SECRET": secret}
    cmd = [sys.executable, "-c", "from hft.cli.app import main; main()", "gateway", "serve", "--config", str(config),
           "--port", "0", "--tcp-port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout is not None else ""
        m = re.search(r"http://[\d.]+:(\d+) and tcp://[\d.]+:(\d+)", line)
        if m is None:
            err = proc.stderr.read() if proc.stderr is not None and proc.poll() is not None else ""
            raise RuntimeError(f"warmup: hft gateway serve did not start: {line.strip() or err.strip()[-300:]}")
        http_port, tcp_port = int(m.group(1)), int(m.group(2))
        tok = mint(secret, "warmup", ["ACC1"], ["mm1"], 600.0)
        with TcpOrderClient("127.0.0.1", tcp_port, tok, timeout=900.0) as c:
            for i in range(64):
                c.send_new(f"warm-{i}", "ACC1", "mm1", "AAPL", "buy" if i % 2 else "sell", 1, 10_000 + i % 3)
            c.recv_many(64)
        for path, key in (("/v3/orders", None), ("/orders", "warm-http")):
            conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=900.0)
            body = {"client_order_id": f"warm{path.replace('/', '-')}", "account": "ACC1", "strategy": "mm1",
                    "symbol": "AAPL", "side": "buy", "price": 10_000, "qty": 1}
            headers = {"Authorization": f"Bearer {tok}", **({"Idempotency-Key": key} if key else {})}
            conn.request("POST", path, body=json.dumps(body), headers=headers)
            conn.getresponse().read()
            conn.close()
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return sum(1 for p in cache.rglob("*.nbc") if p.stat().st_mtime >= t0)


# (step, function, lane). Lane 1 runs in the `hft warmup` process, lane 2 in a second one when two CPUs are free
# (else every step here). They are split by what they compile: the L3 path (LOBSTER import, the L3 venue and its
# loop layouts, features) against the L2 venue and its loop layouts; both compile the gateway's kernels. The
# Binance capture and the live service close lane 1, by when lane 2 has compiled the L2 venue they reuse (cold,
# on the 2-vCPU machine: ~100 s for both, bench/results/bench_cache_edit.json).
STEPS: tuple[tuple[str, Callable[[dict[str, Any]], int | None], int], ...] = (
    ("generated L3 day: import, verify, inspect; DBN MBO, vendor events", _l3_data, 1),
    ("L3 replays (mm; a Python strategy, recorded latencies)", _l3_replay, 1),
    ("book features", _features, 1),
    ("L2 replay (mm)", _l2_replay, 2),
    ("a strategy kernel with the full context (L2, L3)", _context_kernel, 2),
    ("several instruments: two L3 legs (hedged_mm)", _legs_l3, 1),
    ("several instruments: two and three L2 legs (hedged_mm, mm)", _legs_l2, 2),
    ("Binance capture: import, verify, replay", _binance, 1),
    ("live service: TCP and HTTP orders", _live, 1),
    ("known-answer self-test of every kernel family", _selftest, 2),
)
