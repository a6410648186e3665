"""The replay engine: determinism, causality, tie order, the gateway in the loop, accounting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hft.core.dtypes import BUY, EV_LEVEL_SET, EV_SNAPSHOT_LEVEL, EV_TRADE, FLAG_EOM, SELL, empty_events
from hft.core.orders import REPORT_ACK, REPORT_FILL, REPORT_PARTIAL_FILL
from hft.data.sources import FILES
from hft.sim import latency as L
from hft.sim.engine import Engine, EngineConfig, L2MarketVenue
from hft.sim.exchange_l2 import L2Venue
from hft.sim.gateway_setup import sim_gateway_config
from hft.sim.queue_models import parse_queue_model
from hft.sim.replay import ReplayConfig, run_replay
from hft.sim.strategy import Strategy


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    from hft.data.importing import generate_day

    out = tmp_path_factory.mktemp("day")
    return Path(generate_day(out, seed=5, symbol="SYNTH", date="2024-01-02", messages=8000, levels=5,
                             zip_output=True)["zip_path"])


def _l2_events() -> np.ndarray:
    """A tiny L2 stream: snapshot at t=0, then level changes and trades (ms apart)."""
    rows = [(0, EV_SNAPSHOT_LEVEL, BUY, 100, 5), (0, EV_SNAPSHOT_LEVEL, SELL, 101, 5),
            (10, EV_TRADE, SELL, 100, 3), (10, EV_LEVEL_SET, BUY, 100, 2),
            (20, EV_TRADE, SELL, 100, 4), (20, EV_LEVEL_SET, BUY, 100, 0), (30, EV_LEVEL_SET, BUY, 99, 7)]
    ev = empty_events(len(rows))
    for i, (t, k, s, p, q) in enumerate(rows):
        ms = t * 1_000_000
        ev[i] = (ms, ms, p, q, 0, i, k, s, FLAG_EOM if k != EV_TRADE else 0)
    ev["flags"][1] = FLAG_EOM
    ev["flags"][0] = 0
    return ev


class Probe(Strategy):
    """Buys 4 lots at the best bid on the first book update and records everything it sees."""

    name = "probe"

    def __init__(self) -> None:
        self.seen: list[tuple] = []
        self.sent = False

    def on_book(self, ctx):
        self.seen.append(("book", ctx.now, ctx.best_bid, ctx.best_ask))
        if not self.sent and ctx.best_bid is not None:
            self.sent = True
            ctx.submit(BUY, ctx.best_bid, 4)

    def on_trade(self, ctx, side, price, qty):
        self.seen.append(("trade", ctx.now, side, price, qty))

    def on_order_update(self, ctx, u):
        self.seen.append(("report", ctx.now, u.kind, u.qty, u.leaves))


def _engine(ev, strategy, feed_ns=2_000_000, entry_ns=1_000_000, resp_ns=3_000_000, limits=None):
    venue = L2MarketVenue(L2Venue(None, parse_queue_model("risk_averse")))
    cfg = sim_gateway_config("X", "probe", limits=limits)

    def factory(clock, dispatcher, sink):
        from hft.gateway import GatewayService

        return GatewayService(cfg, clock=clock, dispatcher=dispatcher, sink=sink)

    ecfg = EngineConfig(entry=L.constant(entry_ns), response=L.constant(resp_ns), feed=L.constant(feed_ns),
                        strategy="probe")
    return Engine(ev, venue, factory, strategy, "X", ecfg)


def test_strategy_sees_data_after_feed_latency_and_orders_travel_with_latency():
    ev = _l2_events()
    p = Probe()
    eng = _engine(ev, p)
    out = eng.run()
    books = [s for s in p.seen if s[0] == "book"]
    assert books[0][1] == 2_000_000  # snapshot at t=0 seen at feed latency 2 ms
    assert all(s[1] >= 2_000_000 for s in p.seen)
    # order sent at 2 ms, arrives 3 ms (front = 5 ahead), ack back at 6 ms
    reports = [s for s in p.seen if s[0] == "report"]
    assert reports[0] == ("report", 6_000_000, REPORT_ACK, 0, 4)
    # trades at 10 ms (3 lots) and 20 ms (4 lots): front 5 -> 2 -> -2: 2 lots filled at 20 ms, seen at 23 ms
    fills = [s for s in reports if s[2] in (REPORT_FILL, REPORT_PARTIAL_FILL)]
    assert fills[0][1] == 23_000_000 and fills[0][3] == 2
    assert out.final["position"] == int(out.fills["qty"].sum()) == eng.gw.position("SIM", "probe", "X").position


def test_tie_order_local_before_exchange():
    ev = _l2_events()
    p = Probe()
    _engine(ev, p, feed_ns=0, entry_ns=0, resp_ns=0).run()
    # with zero latencies the local book update at t=0 comes before the venue sees our order at t=0
    assert p.seen[0][0] == "book" and p.seen[0][1] == 0


def test_gateway_rejections_are_recorded_and_counted():
    ev = _l2_events()
    out = _engine(ev, Probe(), limits={"max_order_qty": 1}).run()
    assert out.rejects == {"MAX_ORDER_QTY": 1}
    assert len(out.orders) == 0 and len(out.fills) == 0


def test_same_inputs_same_run_hash(day):
    cfg = ReplayConfig(strategies={"mm": {"size": 2, "max_position": 6}})
    a = run_replay([day], "mm", cfg, source=FILES)
    b = run_replay([day], "mm", cfg, source=FILES)
    assert a["run_hash"] == b["run_hash"] and a["fills"] > 0
    c = run_replay([day], "mm", ReplayConfig(entry_ns=2_000_000, strategies=cfg.strategies), source=FILES)
    assert c["run_hash"] != a["run_hash"]


def test_run_hash_is_stable_across_processes(day):
    code = ("import sys, json; from pathlib import Path; from hft.sim.replay import run_replay, ReplayConfig; "
            "from hft.data.sources import FILES; "
            "print(run_replay([Path(sys.argv[1])], 'imbalance_taker', ReplayConfig(jitter_ns=200000), source=FILES)['run_hash'])")
    hashes = {subprocess.run([sys.executable, "-c", code, str(day)], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": str(h)}).stdout.strip() for h in (0, 1)}
    # os.environ carries NUMBA_CACHE_DIR: without it the children compile the loop kernels cold (~140 s in CI)
    assert len(hashes) == 1


@pytest.mark.parametrize("engine", ["python", "numba"])
def test_a_finished_run_is_freed_without_the_cycle_collector(day, engine):
    """The engine, its gateway (and arena) and the strategy's context form no reference cycle: dropping the engine
    frees them at once (the decision records of its output stay readable), not at a later gc pass, which kept each
    run's arrays alive meanwhile and made the next run's allocations take fresh pages."""
    import gc
    import weakref

    from hft.data.sources import open_market_data
    from hft.sim.replay import build_engine
    from hft.sim.strategies import make_strategy

    params = {"size": 2, "max_position": 6}
    cfg = ReplayConfig(strategies={"mm": params}, engine=engine)
    md = open_market_data([day])
    gc.collect()
    gc.disable()
    try:
        eng, mult = build_engine(md, make_strategy("mm", params), "mm", cfg)
        out = eng.run(multiplier=mult)
        refs = [weakref.ref(eng), weakref.ref(eng.gw), weakref.ref(eng.gw.policy)]
        assert engine == "python" or eng.used_in_kernel_orders  # numba: the in-kernel order path's lazy records
        del eng
        assert [r() for r in refs] == [None, None, None]
        assert len(out.decision_records) == len(out.decisions) > 0  # built after the engine is gone
        assert out.decision_records[-1].seq == int(out.decisions["seq"][-1])
    finally:
        gc.enable()


@pytest.mark.parametrize("strategy", ["mm", "imbalance_taker", "twap"])
def test_builtin_strategies_run_and_account(day, tmp_path, strategy):
    params = {"twap": {"side": 1, "qty": 50, "duration_ns": 600_000_000_000, "slices": 20}}
    s = run_replay([day], strategy, ReplayConfig(strategies=params), out_dir=tmp_path / "run", source=FILES)
    assert s["events"] > 5000 and s["decisions"] >= s["orders"]
    fills = __import__("polars").read_parquet(tmp_path / "run" / "fills.parquet")
    assert int((fills["qty"] * fills["side"]).sum()) == s["position"]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["run_hash"] == s["run_hash"]
    assert (tmp_path / "run" / "replay.png").stat().st_size > 1000
    if strategy == "twap":
        assert 0 < s["position"] <= 50


def test_run_folder_is_refused_when_it_exists(day, tmp_path):
    from hft.core.errors import SimError

    (tmp_path / "run").mkdir()
    with pytest.raises(SimError, match="exists"):
        run_replay([day], "mm", ReplayConfig(), out_dir=tmp_path / "run", source=FILES)
