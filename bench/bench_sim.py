"""Simulator throughput: the `hft replay` engines vs the peer (hftbacktest 2.4.4) in the same run.

Measured on two streams, equivalent settings (constant 1 ms order latencies, risk-averse queue, no partial fills):
Binance usdm BTCUSDT 2024-08-08 (each tool converts the file itself; needs ../shared/data) and a seeded
2-million-row synthetic L2 stream (`_synthetic_l2`: the peer's rows and our events are the same rows).

* pure replay, no orders: our numba engine (`hft.sim.engine_nb.NbEngine`) with a strategy that has no
  callbacks (the whole day runs in one kernel call), vs the peer's ``elapse`` to the end, construction included.
  Ours is reported both as the replay loop (``wall_s``, which includes the first touch of the books) and
  including our set-up (venue, books, gateway: `build_engine`); the headline ratio uses the loop, the
  ``..._incl_setup`` ratio the stricter comparison;
* quote-at-touch market making: our `mm` (cancel and requote on every touch change, every intent through the
  real `GatewayService`) on the numba engine — its book callback as the strategy kernel
  `hft.sim.engine_nb.mm_on_book` (same run hash as the Python callback), and once more with the Python
  callback — vs the peer's equivalent njit strategy (``wait_next_feed``, cancel off-touch quotes, post-only
  quotes at the touch; no gateway);
* the Python reference engine (`hft.sim.engine.Engine`) once, for the record (``--reference``);
* L3 (market by order), LOBSTER GOOG 2012-06-21 level 1 (49,482 messages; needs ../shared/data): the peer's
  market-by-order backtest (`HashMapMarketDepthBacktest`, ``l3_fifo_queue_model()``, ``no_partial_fill_exchange()``,
  1 ms order latencies; its ADD / CANCEL / MODIFY / FILL rows converted from the same messages by `_peer_l3`)
  against ours (the L3 venue with its reference resync, exchange ``no_partial_fill``, the in-kernel order path for
  `mm`): pure replay, and a quote-at-touch market maker (ours `mm` size 1 / max position 10 through the real
  gateway, the peer's njit equivalent); both sides timed with their set-up (ours: `build_engine` + run; the peer:
  construction + run), messages per second over the day's 49,482 messages for both (the peer's row count is
  reported too); and a Python strategy whose ``on_book`` does nothing (ours: a wake-up and a return to Python at
  every message; goal 200,000 messages/s) against the peer's loop written in plain Python (``wait_next_feed`` to
  the end, nothing done at each feed). Ours repeats the day in one process as a sweep does: the day's event matrix and its local view's
  price bounds are made by the warm-up run and reused (read-only events: `engine_nb.buffers.Spares.take_of` with
  the benchmark's one `Spares`, `book_for`),
  the peer's rows are converted once before its runs;
* many days: ``--days`` generated LOBSTER days (``--day-messages`` each) with `mm`, replayed as one run of
  several sessions (`hft.sim.sessions`) and day by day on the single-day path, interleaved; events per second
  over the replay loops and end to end (goal: the many-days run at least as fast per event);
* several instruments: LOBSTER GOOG and AMZN 2012-06-21 level 1 (``--only instruments``; needs ../shared/data)
  replayed as one run of two legs on one clock (`hft.sim.portfolio.replay_legs`, numba and reference engines,
  whose run hashes must agree) against the single-instrument path on the same events (each instrument alone,
  numba and reference engines), pure replay and `mm` (which quotes each leg on its own book); events per second
  over the replay loops and end to end, set-up included (goal: the numba two-leg run at least as fast per event as
  the single-instrument numba path, ``numba_ratio_vs_single_numba`` over the loops, ``numba_ratio_end_to_end``
  with the set-up: the two legs merged, their venues, one gateway and engine, against each instrument's own);
  with the peer installed, its market-by-order backtest of both instruments in one backtest against each alone,
  pure replay and its quote-at-touch maker on each asset (``peer.ratio_two_assets_vs_single``: what one clock over
  two books costs the peer), and ours against it (``ratio_two_legs_ours_over_peer_end_to_end``);
* a strategy kernel with the full context (``--only kernel_context``; needs ../shared/data): the example kernel of
  docs/extending.md (docs/examples/queue_quote.py: depth, queue position, trade prints, account) on LOBSTER GOOG
  2012-06-21 level 10 (147,916 messages), in the numba loop (goal: 1,000,000 messages/s over the loop) against the
  peer's equivalent njit loop on its market-by-order backtest (`_peer_l3.peer_queue_quote_kernel`), set-up
  included on both sides for the paired ratio; and the same kernel on two instruments on one clock (``two_legs``:
  GOOG level 10 and AMZN level 5, each leg's book calling it on that leg), in the numba loop;
* start-up: a second `hft replay` process on a small generated day (numba cache warm): process wall time
  minus the replay loop time.

The process keeps freed memory for the next run (`hft.core.memory.keep_freed_memory`, as `hft replay sweep`
does) and its runs share one `Spares` (`SPARES`): a benchmark's repeats are a sweep's cells.

Rows per second use each tool's own row count (Binance: ours 598,754 events incl. trades and book tickers, the
peer's 491,973 rows; synthetic: the same rows). Writes bench/results/bench_sim.json with medians of ``--repeat`` interleaved runs and the
ratios ours / peer.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, carry_over, machine_info, paired_ratio, shared_data, summarise, write_result
from _peer_mm import peer_mm_kernel
from bench_data import PEER_FILE, PEER_LOT, PEER_TICK, _peer_available, _peer_run

from hft.core.orders import INTENT_NEW
from hft.data.sources import FILES

SPARES: Any = None  # the runs' shared `hft.sim.engine_nb.buffers.Spares` (made in `main`)
COMPARISONS = ("binance", "synthetic", "lobster_l3", "days", "instruments", "kernel_context")  # what `--only` picks
PEER_MM_MAX_POSITION = 10  # lots, as our mm's max_position


def _noop_strategy() -> Any:
    """A Python strategy whose book callback does nothing: the cost of the Python callback path itself."""
    from hft.sim.strategy import Strategy

    class Noop(Strategy):
        name = "noop"

        def on_book(self, ctx: Any) -> None:
            pass

    return Noop()


def _ours(md: Any, strategy_name: str, params: dict[str, Any], engine: str = "numba",
          strategy_kernels: bool = True) -> tuple[float, str, float, int]:
    """(replay loop seconds, run hash, seconds including the set-up: venue, books, gateway, orders sent) of one
    run (``idle``: no callbacks; ``noop``: a Python book callback that does nothing)."""
    from hft.sim.replay import ReplayConfig, build_engine
    from hft.sim.strategies import make_strategy
    from hft.sim.strategy import Strategy

    cfg = ReplayConfig(strategies={strategy_name: params} if strategy_name not in ("idle", "noop") else {},
                       exchange="no_partial_fill", queue_model="risk_averse", engine=engine)
    t0 = time.perf_counter()
    strategy = (Strategy() if strategy_name == "idle" else _noop_strategy() if strategy_name == "noop" else
                make_strategy(strategy_name, params))
    eng, mult = build_engine(md, strategy, strategy_name, cfg, spares=SPARES)
    eng.strategy_kernels = strategy_kernels
    out = eng.run(multiplier=mult)
    total = time.perf_counter() - t0
    return out.wall_s, out.run_hash, total, int((out.orders["action"] == INTENT_NEW).sum())


def _peer_mm_run(rows: Any, roi: tuple[float, float], kernel: Any) -> tuple[float, int]:
    from hftbacktest import BacktestAsset, ROIVectorMarketDepthBacktest

    asset = (BacktestAsset().data([rows]).linear_asset(1.0).constant_order_latency(1_000_000, 1_000_000)
             .risk_adverse_queue_model().no_partial_fill_exchange().trading_value_fee_model(0.0, 0.0)
             .tick_size(PEER_TICK).lot_size(PEER_LOT).last_trades_capacity(0).roi_lb(roi[0]).roi_ub(roi[1]))
    t0 = time.perf_counter()
    hbt = ROIVectorMarketDepthBacktest([asset])
    n = kernel(hbt, 1, PEER_LOT, PEER_MM_MAX_POSITION, 0, False)
    dt = time.perf_counter() - t0
    hbt.close()
    return dt, int(n)


def _startup(tmp: Path) -> dict[str, Any]:
    from hft.data.importing import generate_day

    day = generate_day(tmp, seed=1, symbol="SYNTH", date="2024-01-02", messages=3000, levels=5, zip_output=True)
    exe = Path(sys.executable).with_name("hft")
    cmd = [str(exe), "replay", "--data", day["zip_path"], "--no-store", "--json"]
    subprocess.run(cmd, check=True, capture_output=True)  # warm the numba cache
    rows = []
    for _ in range(5):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, check=True, capture_output=True, text=True)
        total = time.perf_counter() - t0
        s = json.loads(p.stdout)
        rows.append((total, total - s["wall_s"], s.get("engine")))
    return {"engine": rows[0][2], "process_wall_s_median": round(statistics.median(r[0] for r in rows), 3),
            "startup_s_median": round(statistics.median(r[1] for r in rows), 3), "goal_s": 1.0,
            "note": "startup = process wall time minus the replay loop (interpreter, imports, data load, gateway "
                    "and venue set-up, numba cache load)"}


def _compare(md: Any, rows: Any, repeat: int, *, python_mm: bool, reference: bool) -> dict[str, Any]:
    """Ours vs the peer on one stream (`md` ours, `rows` the peer's same rows or None): medians of `repeat`
    interleaved runs and the ratios ours / peer (rows per second, each tool's own row count)."""
    n = len(md.events)
    mm_params = {"size": 1, "max_position": PEER_MM_MAX_POSITION}
    _ours(md, "idle", {})  # warm-up (numba cache load, first touch of the code)
    _ours(md, "mm", mm_params)
    peer_ok = rows is not None
    if peer_ok:
        roi = (float(rows["px"][rows["px"] > 0].min()), float(rows["px"].max()))
        kernel = peer_mm_kernel()
        _peer_run(rows, "roivector", roi)  # warm-up
        _peer_mm_run(rows, roi, kernel)  # compiles the peer strategy
    idle, idle_setup, mm, peer_idle, peer_mm, hashes, peer_orders, our_orders = [], [], [], [], [], set(), set(), set()
    for _ in range(repeat):  # interleaved, so that a noisy neighbour hits both tools alike
        w, h, total, _ = _ours(md, "idle", {})
        idle.append(w)
        idle_setup.append(total)
        w, h, _, k = _ours(md, "mm", mm_params)
        mm.append(w)
        hashes.add(h)
        our_orders.add(k)
        if peer_ok:
            t0 = time.perf_counter()
            _peer_run(rows, "roivector", roi)
            peer_idle.append(time.perf_counter() - t0)
            dt, k = _peer_mm_run(rows, roi, kernel)
            peer_mm.append(dt)
            peer_orders.add(k)
    out: dict[str, Any] = {"ours": {"engine": "numba", "rows": n, "pure_replay": summarise(idle, n),
                                    "pure_replay_incl_setup": summarise(idle_setup, n),
                                    "mm_strategy_kernel_through_gateway": summarise(mm, n)}}
    if python_mm:
        py_mm = [_ours(md, "mm", mm_params, strategy_kernels=False) for _ in range(max(1, repeat // 2))]
        hashes.update(h for _, h, _, _ in py_mm)
        out["ours"]["mm_python_callback_through_gateway"] = summarise([w for w, _, _, _ in py_mm], n)
    out["ours"]["mm_orders"] = sorted(our_orders)
    out["ours"]["mm_run_hashes"] = sorted(hashes)  # one hash: the kernel and the callback give the same run
    if reference:
        w, h, _, _ = _ours(md, "mm", mm_params, engine="python")
        out["ours"]["reference_python_engine_mm"] = {**summarise([w], n), "same_run_hash": h in hashes}
    if not peer_ok:
        out["peer"] = {"skipped": "hftbacktest is not installed (pip install -e '.[bench]')"}
        return out
    m = len(rows)
    out["peer"] = {"rows": m, "pure_replay_incl_setup": summarise(peer_idle, m),
                   "mm_njit_no_gateway": summarise(peer_mm, m), "mm_orders": sorted(peer_orders)}
    peer_idle_rate = out["peer"]["pure_replay_incl_setup"]["per_s_median"]
    out["ratio_pure_replay_ours_over_peer"] = round(out["ours"]["pure_replay"]["per_s_median"] / peer_idle_rate, 4)
    out["ratio_pure_replay_incl_setup_ours_over_peer"] = round(
        out["ours"]["pure_replay_incl_setup"]["per_s_median"] / peer_idle_rate, 4)
    out["ratio_mm_ours_over_peer"] = round(out["ours"]["mm_strategy_kernel_through_gateway"]["per_s_median"]
                                           / out["peer"]["mm_njit_no_gateway"]["per_s_median"], 4)
    return out


LOBSTER_L3_FILE = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"


def _compare_l3(md: Any, repeat: int, peer: bool) -> dict[str, Any]:
    """Ours vs the peer's market-by-order backtest on one LOBSTER day (module docstring): medians of `repeat`
    interleaved runs, set-up included on both sides; rates per LOBSTER message."""
    from _peer_l3 import peer_mm, peer_python_loop, peer_replay, peer_rows

    n = len(md.events)
    mm_params = {"size": 1, "max_position": PEER_MM_MAX_POSITION}
    _ours(md, "idle", {})  # warm-up (numba cache load, first touch of the code)
    _ours(md, "mm", mm_params)
    _ours(md, "noop", {})
    rows = kernel = None
    if peer:
        with contextlib.redirect_stdout(sys.stderr):
            rows = peer_rows(md.events)
        kernel = peer_mm_kernel()
        peer_replay(rows)  # warm-up
        peer_mm(rows, kernel, 1, PEER_MM_MAX_POSITION)  # compiles the peer strategy
        peer_python_loop(rows)
    idle, idle_loop, mm, mm_loop, p_idle, p_mm = [], [], [], [], [], []
    noop, noop_loop, p_py = [], [], []
    hashes, orders, peer_orders = set(), set(), set()
    for _ in range(repeat):  # interleaved, so that a noisy neighbour hits both tools alike
        w, _, total, _ = _ours(md, "idle", {})
        idle.append(total)
        idle_loop.append(w)
        w, h, total, k = _ours(md, "mm", mm_params)
        mm.append(total)
        mm_loop.append(w)
        hashes.add(h)
        orders.add(k)
        w, _, total, _ = _ours(md, "noop", {})
        noop.append(total)
        noop_loop.append(w)
        if peer:
            p_idle.append(peer_replay(rows)[0])
            dt, k = peer_mm(rows, kernel, 1, PEER_MM_MAX_POSITION)
            p_mm.append(dt)
            peer_orders.add(k)
            p_py.append(peer_python_loop(rows)[0])
    out: dict[str, Any] = {"file": LOBSTER_L3_FILE, "messages": n, "ours": {
        "engine": "numba", "exchange": "no_partial_fill", "l3_resync": True,
        "pure_replay_incl_setup": summarise(idle, n), "pure_replay_loop": summarise(idle_loop, n),
        "mm_incl_setup": summarise(mm, n), "mm_loop": summarise(mm_loop, n), "mm_orders": sorted(orders),
        "mm_run_hashes": sorted(hashes), "python_callback_noop_incl_setup": summarise(noop, n),
        "python_callback_noop_loop": summarise(noop_loop, n)}}
    if not peer:
        out["peer"] = {"skipped": "hftbacktest is not installed (pip install -e '.[bench]')"}
        return out
    out["peer"] = {"backtest": "HashMapMarketDepthBacktest, l3_fifo_queue_model, no_partial_fill_exchange",
                   "rows": len(rows), "pure_replay_incl_setup": summarise(p_idle, n),
                   "mm_njit_no_gateway_incl_setup": summarise(p_mm, n), "mm_orders": sorted(peer_orders),
                   "python_loop_noop_incl_setup": summarise(p_py, n)}
    out["ratio_pure_replay_ours_over_peer"] = round(
        out["ours"]["pure_replay_incl_setup"]["per_s_median"] / out["peer"]["pure_replay_incl_setup"]["per_s_median"],
        4)
    out["ratio_mm_ours_over_peer"] = round(
        out["ours"]["mm_incl_setup"]["per_s_median"] / out["peer"]["mm_njit_no_gateway_incl_setup"]["per_s_median"],
        4)
    out["paired_ratio_pure_replay"] = paired_ratio(idle, p_idle)
    out["paired_ratio_mm"] = paired_ratio(mm, p_mm)
    out["paired_ratio_python_callback_noop"] = paired_ratio(noop, p_py)
    return out


KERNEL_CONTEXT_FILE = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"
KERNEL_CONTEXT_EXAMPLE = "docs/examples/queue_quote.py:QueueQuoteNb"
KERNEL_CONTEXT_SPEC = str(Path(__file__).resolve().parents[1] / KERNEL_CONTEXT_EXAMPLE)
KERNEL_CONTEXT_PARAMS = {"size": 1, "max_position": PEER_MM_MAX_POSITION, "k_pct": 50}
KERNEL_CONTEXT_SECOND_LEG = "lobster/LOBSTER_SampleFile_AMZN_2012-06-21_5.zip"


def _ours_spec(md: Any, spec: str, params: dict[str, Any], *, strategy_kernels: bool = True,
               engine: str = "numba") -> tuple[float, str, float, int]:
    """`_ours` for a strategy named by a spec (``FILE.py:Class``): (loop seconds, run hash, seconds incl. set-up,
    orders sent)."""
    from hft.sim.replay import ReplayConfig, build_engine
    from hft.sim.strategies import make_strategy

    cfg = ReplayConfig(exchange="no_partial_fill", engine=engine)
    t0 = time.perf_counter()
    strategy = make_strategy(spec, params)
    eng, mult = build_engine(md, strategy, strategy.name, cfg, spares=SPARES)
    eng.strategy_kernels = strategy_kernels
    out = eng.run(multiplier=mult)
    return out.wall_s, out.run_hash, time.perf_counter() - t0, int((out.orders["action"] == INTENT_NEW).sum())


def _compare_kernel_context(md: Any, repeat: int, peer: bool) -> dict[str, Any]:
    """A strategy kernel with the full context (depth, queue position, trade prints, account:
    docs/examples/queue_quote.py) on LOBSTER GOOG level 10, in the numba loop (L3 venue, resync, in-kernel order
    path), against the peer's equivalent loop (`_peer_l3.peer_queue_quote_kernel`) in the same run: medians of
    `repeat` interleaved runs, messages per second; the same rule as a Python callback once, for its run hash."""
    from _peer_l3 import peer_queue_quote, peer_queue_quote_kernel, peer_rows

    n = len(md.events)
    _ours_spec(md, KERNEL_CONTEXT_SPEC, KERNEL_CONTEXT_PARAMS)  # warm-up (the kernel's and the loop's caches)
    rows = kernel = None
    if peer:
        with contextlib.redirect_stdout(sys.stderr):
            rows = peer_rows(md.events)
        kernel = peer_queue_quote_kernel()
        peer_queue_quote(rows, kernel, 1, PEER_MM_MAX_POSITION, 50)  # compiles the peer strategy
    loop, total, p_total, hashes, orders, p_orders = [], [], [], set(), set(), set()
    for _ in range(repeat):  # interleaved, so that a noisy neighbour hits both tools alike
        w, h, t, k = _ours_spec(md, KERNEL_CONTEXT_SPEC, KERNEL_CONTEXT_PARAMS)
        loop.append(w)
        total.append(t)
        hashes.add(h)
        orders.add(k)
        if peer:
            dt, k = peer_queue_quote(rows, kernel, 1, PEER_MM_MAX_POSITION, 50)
            p_total.append(dt)
            p_orders.add(k)
    w, h, t, _ = _ours_spec(md, KERNEL_CONTEXT_SPEC, KERNEL_CONTEXT_PARAMS, strategy_kernels=False)
    out: dict[str, Any] = {"file": KERNEL_CONTEXT_FILE, "messages": n, "strategy": KERNEL_CONTEXT_EXAMPLE,
                           "params": KERNEL_CONTEXT_PARAMS, "goal_loop_per_s": 1_000_000, "ours": {
        "engine": "numba", "exchange": "no_partial_fill", "l3_resync": True, "kernel_loop": summarise(loop, n),
        "kernel_incl_setup": summarise(total, n), "orders": sorted(orders), "run_hashes": sorted(hashes),
        "kernel_from_python_callback": {**summarise([t], n), "same_run_hash": h in hashes}}}
    if not peer:
        out["peer"] = {"skipped": "hftbacktest is not installed (pip install -e '.[bench]')"}
        return out
    out["peer"] = {"backtest": "HashMapMarketDepthBacktest, l3_fifo_queue_model, no_partial_fill_exchange",
                   "rows": len(rows), "queue_quote_njit_no_gateway_incl_setup": summarise(p_total, n),
                   "orders": sorted(p_orders),
                   "note": "the peer's API shows no queue position on L3: its queue ahead is the level's quantity "
                           "when the order was placed, and it keeps no trade prints"}
    out["paired_ratio_incl_setup"] = paired_ratio(total, p_total)
    return out


def _kernel_context_two_legs(data: Path, repeat: int) -> dict[str, Any]:
    """The example kernel with the full context on two instruments on one clock (`KERNEL_CONTEXT_FILE` and
    `KERNEL_CONTEXT_SECOND_LEG`, `hft.sim.portfolio.replay_legs`), in the numba loop: medians of `repeat` runs
    after a warm-up, events per second over the replay loop and with the set-up (the strategy, venues, gateway and
    engine built)."""
    from hft.data.sources import open_market_data
    from hft.sim.portfolio import replay_legs
    from hft.sim.replay import ReplayConfig
    from hft.sim.strategies import make_strategy

    files = (KERNEL_CONTEXT_FILE, KERNEL_CONTEXT_SECOND_LEG)
    mds = [open_market_data([data / f]) for f in files]
    n = sum(len(md.events) for md in mds)
    cfg = ReplayConfig(exchange="no_partial_fill", engine="numba")

    def one() -> tuple[float, float, str, bool]:
        t0 = time.perf_counter()
        strategy = make_strategy(KERNEL_CONTEXT_SPEC, KERNEL_CONTEXT_PARAMS)
        out, eng, _, _ = replay_legs(mds, strategy, strategy.name, cfg, spares=SPARES)
        return out.wall_s, time.perf_counter() - t0, out.run_hash, eng._kc is not None

    one()  # warm-up
    runs = [one() for _ in range(repeat)]
    return {"files": list(files), "events": n, "in_the_loop": all(r[3] for r in runs),
            "kernel_loop": summarise([r[0] for r in runs], n), "kernel_incl_setup": summarise([r[1] for r in runs], n),
            "run_hashes": sorted({r[2] for r in runs})}


def _compare_days(repeat: int, n_days: int, messages: int) -> dict[str, Any]:
    """Several days in one run (`hft.sim.sessions`: one session per day on one gateway) against the single-day
    path on the same days (each day replayed alone), `mm` on generated LOBSTER days, interleaved per repeat.
    Events per second over the replay loops (``RunOutput.wall_s`` summed), and end to end (opening each day's
    data, building its engine, replaying, its summary)."""
    from hft.data.generate import GeneratorConfig, generate_lobster_day
    from hft.data.sources import open_market_data
    from hft.sim.replay import ReplayConfig, build_engine
    from hft.sim.replay import summarise as summarise_run
    from hft.sim.sessions import replay_sessions
    from hft.sim.strategies import make_strategy

    cfg = ReplayConfig(strategies={"mm": {"size": 1}})
    with tempfile.TemporaryDirectory() as tmp:
        days = []
        for k in range(n_days):
            d = generate_lobster_day(Path(tmp) / f"d{k}", GeneratorConfig(seed=20 + k, date=f"2024-01-{k + 2:02d}",
                                                                          target_messages=messages, levels=5))
            days.append([d.message_path])
        loop = {"single_day": [], "days": []}
        e2e = {"single_day": [], "days": []}
        events = same = None
        for _ in range(repeat + 1):  # the first round warms the caches and is dropped
            t0 = time.perf_counter()
            walls, n, single = 0.0, 0, []
            for paths in days:
                md = open_market_data(paths)
                eng, mult = build_engine(md, make_strategy("mm", {"size": 1}), "mm", cfg, spares=SPARES)
                out = eng.run(multiplier=mult)
                summarise_run(out, md, "mm", {"size": 1}, cfg, paths, commit="")  # as replay_sessions does
                walls += out.wall_s
                n += out.events
                single.append(out.run_hash)
            single_e2e = time.perf_counter() - t0
            t0 = time.perf_counter()
            sessions, _ = replay_sessions(days, make_strategy("mm", {"size": 1}), "mm", cfg, source=FILES)
            days_e2e = time.perf_counter() - t0
            if events is None:  # day 1 of the run is the single-day run of day 1 (same start state)
                events, same = n, single[0] == sessions[0].out.run_hash
                continue
            loop["single_day"].append(walls)
            loop["days"].append(sum(s.out.wall_s for s in sessions))
            e2e["single_day"].append(single_e2e)
            e2e["days"].append(days_e2e)
    res = {"days": n_days, "messages_per_day": messages, "events": events,
           "loop": {k: summarise(v, events) for k, v in loop.items()},
           "end_to_end": {k: summarise(v, events) for k, v in e2e.items()},
           "first_day_same_run": same}
    res["ratio_loop"] = round(res["loop"]["days"]["per_s_median"] / res["loop"]["single_day"]["per_s_median"], 3)
    res["ratio_end_to_end"] = round(res["end_to_end"]["days"]["per_s_median"]
                                    / res["end_to_end"]["single_day"]["per_s_median"], 3)
    return res


def _compare_instruments(repeat: int, data: Path, peer: bool) -> dict[str, Any]:
    """Two instruments on one clock against each alone (module docstring), interleaved per repeat: the replay
    loops, and end to end (set-up included: the strategy, venues, gateway and engine built, the run, its output;
    each alone as `_ours` times it, the two legs as `replay_legs` runs them). With `peer`, the peer's
    market-by-order backtest the same way in the same rounds: both assets in one backtest against each alone
    (`_peer_l3`, construction included), so that the cost of one clock over two books is seen on both tools."""
    from hft.data.sources import open_market_data
    from hft.sim.portfolio import replay_legs
    from hft.sim.replay import ReplayConfig
    from hft.sim.strategies import make_strategy
    from hft.sim.strategy import Strategy

    mds = [open_market_data([data / "lobster" / f"LOBSTER_SampleFile_{s}_2012-06-21_1.zip"]) for s in ("GOOG", "AMZN")]
    events = sum(len(md.events) for md in mds)
    res: dict[str, Any] = {"symbols": ["GOOG", "AMZN"], "events": events}
    if peer:
        from _peer_l3 import peer_mm, peer_replay, peer_rows

        with contextlib.redirect_stdout(sys.stderr):
            rows = [peer_rows(md.events) for md in mds]
        kernel = peer_mm_kernel()
        peer_runs = {"idle": lambda r: peer_replay(r)[0],
                     "mm": lambda r: peer_mm(r, kernel, 1, PEER_MM_MAX_POSITION)[0]}
    for name, params in (("idle", {}), ("mm", {"size": 1})):
        runs: dict[str, list[float]] = {"single_numba": [], "single_python": [], "two_legs_python": [],
                                        "two_legs_numba": []}
        e2e: dict[str, list[float]] = {"single_numba": [], "two_legs_numba": []}
        p_runs: dict[str, list[float]] = {"single": [], "two_assets": []}
        for r in range(repeat + 1):  # the first round warms the caches and is dropped
            if peer:
                p_single = sum(peer_runs[name](rows_k) for rows_k in rows)
                p_two = peer_runs[name](rows)
                if r:
                    p_runs["single"].append(p_single)
                    p_runs["two_assets"].append(p_two)
            walls = {k: 0.0 for k in runs}
            single_e2e = 0.0
            for engine in ("numba", "python"):
                for md in mds:
                    loop, _, total, _ = _ours(md, name, params, engine)
                    walls[f"single_{engine}"] += loop
                    single_e2e += total if engine == "numba" else 0.0
            hashes = set()
            for engine in ("numba", "python"):
                cfg = ReplayConfig(strategies={name: params} if name != "idle" else {}, exchange="no_partial_fill",
                                   queue_model="risk_averse", engine=engine)
                # the last round's runs go before the clock starts (as each single run's go after `_ours` stops
                # its own): freeing the reference engine's `mm` output (~45 k decision records) took ~16 ms
                strategy = out = None
                t0 = time.perf_counter()
                strategy = Strategy() if name == "idle" else make_strategy(name, params)
                out = replay_legs(mds, strategy, name, cfg, spares=SPARES)[0]
                if engine == "numba":
                    legs_e2e = time.perf_counter() - t0
                walls[f"two_legs_{engine}"] = out.wall_s
                hashes.add(out.run_hash)
            if len(hashes) != 1:
                raise SystemExit(f"instruments {name}: the engines' two-leg runs differ ({sorted(hashes)})")
            if r:
                for k, v in walls.items():
                    runs[k].append(v)
                e2e["single_numba"].append(single_e2e)
                e2e["two_legs_numba"].append(legs_e2e)
        out = {k: summarise(v, events) for k, v in runs.items()}
        out["end_to_end"] = {k: summarise(v, events) for k, v in e2e.items()}
        out["ratio_vs_single_numba"] = round(out["two_legs_python"]["per_s_median"]
                                             / out["single_numba"]["per_s_median"], 3)
        # the figure: the numba engine's two-leg run against the single-instrument numba path, per event,
        # over the replay loops and end to end (the stricter comparison of the two: the bench's rule elsewhere)
        out["numba_ratio_vs_single_numba"] = round(out["two_legs_numba"]["per_s_median"]
                                                   / out["single_numba"]["per_s_median"], 3)
        out["numba_ratio_end_to_end"] = round(out["end_to_end"]["two_legs_numba"]["per_s_median"]
                                              / out["end_to_end"]["single_numba"]["per_s_median"], 3)
        out["paired_ratio_end_to_end"] = paired_ratio(e2e["two_legs_numba"], e2e["single_numba"])
        out["ratio_vs_single_python"] = round(out["two_legs_python"]["per_s_median"]
                                              / out["single_python"]["per_s_median"], 3)
        if peer:
            out["peer"] = {k: summarise(v, events) for k, v in p_runs.items()}
            # the peer's own cost of several assets on one clock, end to end as its runs are timed
            out["peer"]["ratio_two_assets_vs_single"] = round(
                out["peer"]["two_assets"]["per_s_median"] / out["peer"]["single"]["per_s_median"], 3)
            out["peer"]["paired_ratio_two_assets_vs_single"] = paired_ratio(p_runs["two_assets"], p_runs["single"])
            if name == "mm":  # the same work: orders of both assets in one run = each alone's, summed
                out["peer"]["orders_two_assets"] = peer_mm(rows, kernel, 1, PEER_MM_MAX_POSITION)[1]
                out["peer"]["orders_alone"] = [peer_mm(rows_k, kernel, 1, PEER_MM_MAX_POSITION)[1] for rows_k in rows]
            out["ratio_two_legs_ours_over_peer_end_to_end"] = round(
                out["end_to_end"]["two_legs_numba"]["per_s_median"] / out["peer"]["two_assets"]["per_s_median"], 3)
        res[name] = out
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rows", type=int, default=2_000_000, help="rows of the synthetic L2 stream")
    ap.add_argument("--reference", action="store_true", help="also time the Python reference engine once")
    ap.add_argument("--no-startup", action="store_true", help="skip the start-up measurement")
    ap.add_argument("--days", type=int, default=3, help="generated days of the many-days comparison")
    ap.add_argument("--day-messages", type=int, default=100_000, help="messages per generated day")
    ap.add_argument("--only", choices=list(COMPARISONS), action="append",
                    help="run only these comparisons (repeatable; default: all)")
    args = ap.parse_args(argv)
    global SPARES
    from hft.core.memory import keep_freed_memory
    from hft.sim.engine_nb.buffers import Spares  # lazy: numba

    keep_freed_memory()
    SPARES = Spares()
    data = shared_data()
    version = _peer_available()
    result: dict[str, Any] = {"name": "bench_sim", "machine": machine_info(), "repeat": args.repeat,
                              "peer_version": version,
                              "goals": {"pure_replay_ratio": 1.5, "mm_ratio": 1.0, "startup_s": 1.0,
                                        "lobster_l3_mm_ratio": 1.5, "instruments_ratio": 1.0,
                                        "python_callback_noop_per_s": 200_000}}
    only = set(args.only or COMPARISONS)
    if "days" in only:
        result["days"] = _compare_days(args.repeat, args.days, args.day_messages)
    if "instruments" in only:
        result["instruments"] = (_compare_instruments(args.repeat, data, version is not None) if data is not None else
                                 {"skipped": "../shared/data not present"})
    if not args.no_startup:
        with tempfile.TemporaryDirectory() as tmp:
            result["startup"] = _startup(Path(tmp))
    if "lobster_l3" in only:
        if data is None:
            result["lobster_l3"] = {"skipped": "../shared/data not present"}
        else:
            from hft.data.sources import open_market_data

            result["lobster_l3"] = _compare_l3(open_market_data([data / LOBSTER_L3_FILE]), args.repeat,
                                               version is not None)
    if "kernel_context" in only:
        if data is None:
            result["kernel_context"] = {"skipped": "../shared/data not present"}
        else:
            from hft.data.sources import open_market_data

            result["kernel_context"] = _compare_kernel_context(open_market_data([data / KERNEL_CONTEXT_FILE]),
                                                               args.repeat, version is not None)
            result["kernel_context"]["two_legs"] = _kernel_context_two_legs(data, args.repeat)
    if "binance" not in only:
        pass
    elif data is None:
        result["binance"] = {"skipped": "../shared/data not present"}
    else:
        from hft.data.sources import open_market_data

        md = open_market_data([data / PEER_FILE])
        rows = None
        if version is not None:
            from hftbacktest.data.utils import binancefutures

            with contextlib.redirect_stdout(sys.stderr):
                rows = binancefutures.convert(str(data / PEER_FILE))
        result["binance"] = {"file": PEER_FILE, **_compare(md, rows, args.repeat, python_mm=True,
                                                           reference=args.reference)}
    if "synthetic" not in only:
        pass
    elif version is None:
        result["synthetic"] = {"skipped": "hftbacktest is not installed (the stream is built from its rows)"}
    else:
        from _synthetic_l2 import synthetic_market_data, synthetic_rows

        rows, events = synthetic_rows(args.rows)
        result["synthetic"] = {"rows": args.rows, **_compare(synthetic_market_data(events), rows, args.repeat,
                                                             python_mm=False, reference=False)}
    # the comparisons not run this time (`--only`) and the sections a session recorded beside them stay
    print(write_result("bench_sim", carry_over(RESULTS / "bench_sim.json", result, (*COMPARISONS, "startup"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
