"""The strategy context beyond the top of book: depth, queue position (L2 model / L3 exact), recent trades, fills,
cash and PnL — the same on the reference engine and the numba engine."""

from __future__ import annotations

import pytest

from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_EXEC,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TRADE,
    FLAG_EOM,
    SELL,
    empty_events,
)
from hft.sim import latency as L
from hft.sim.engine import Engine, EngineConfig, L2MarketVenue
from hft.sim.engine_nb import NbEngine
from hft.sim.exchange_l2 import L2Venue
from hft.sim.fees import FeeSchedule
from hft.sim.gateway_setup import sim_gateway_config
from hft.sim.queue_models import parse_queue_model
from hft.sim.strategy import Strategy

MS = 1_000_000


def _events(rows):
    """rows: (t_ms, kind, side, price, qty, order_id, eom); local time = exchange time + 0.1 ms (the venue has
    applied an event before the strategy hears of it)."""
    ev = empty_events(len(rows))
    for i, (t, k, s, p, q, oid, eom) in enumerate(rows):
        ev[i] = (t * MS, t * MS + 100_000, p, q, oid, i, k, s, FLAG_EOM if eom else 0)
    ev.flags.writeable = False
    return ev


class Recorder(Strategy):
    """Joins the bid once; records what the context shows after every book change."""

    name = "recorder"
    depth_levels = 3
    trade_history = 2

    def __init__(self) -> None:
        self.oid = None
        self.seen: list[dict] = []

    def on_book(self, ctx) -> None:
        if self.oid is None and ctx.best_bid is not None:
            self.oid = ctx.submit(BUY, ctx.best_bid, 1).order_id
        bids, asks = ctx.depth()
        self.seen.append({"t": ctx.now, "bids": bids.tolist(), "asks": asks.tolist(),
                          "bids2": ctx.depth(2)[0].tolist(), "ahead": ctx.queue_ahead(self.oid),
                          "trades": [tuple(t) for t in ctx.trades], "fills": list(ctx.fills),
                          "position": ctx.position, "cash": ctx.cash, "fees": ctx.fees, "pnl": ctx.pnl})


def _factory():
    cfg = sim_gateway_config("X", "recorder")

    def factory(clock, dispatcher, sink):
        from hft.gateway import GatewayService

        return GatewayService(cfg, clock=clock, dispatcher=dispatcher, sink=sink)
    return factory


def _run(cls, ev, venue, book_level="L2"):
    strat = Recorder()
    ecfg = EngineConfig(entry=L.constant(MS), response=L.constant(MS), sample_ns=50 * MS, strategy="recorder")
    out = cls(ev, venue, _factory(), strat, "X", ecfg, book_level=book_level).run()
    return strat.seen, out


@pytest.mark.parametrize("cls", [Engine, NbEngine])
def test_l2_depth_queue_estimate_trades_fills_pnl(cls):
    snap = [(0, EV_SNAPSHOT_LEVEL, s, p, q, 0, 0) for s, p, q in
            ((BUY, 99, 10), (BUY, 98, 20), (BUY, 97, 5), (BUY, 96, 1), (SELL, 101, 7), (SELL, 102, 8),
             (SELL, 103, 9))]
    snap[-1] = (*snap[-1][:6], 1)
    ev = _events([*snap,
                  (10, EV_TRADE, SELL, 99, 4, 0, 1),  # risk_averse: 4 traded ahead of us: 10 -> 6
                  (20, EV_LEVEL_SET, BUY, 99, 3, 0, 1),  # the level shrank below our estimate: 6 -> 3
                  (30, EV_TRADE, SELL, 99, 4, 0, 1),  # 3 ahead traded, then our 1 lot: filled
                  (40, EV_LEVEL_SET, SELL, 101, 5, 0, 1)])
    venue = L2MarketVenue(L2Venue(None, parse_queue_model("risk_averse"), fees=FeeSchedule(0, 0, 0)))
    seen, out = _run(cls, ev, venue)
    first, after_trade, after_shrink, after_fill, last = seen
    assert first["bids"] == [[99, 10], [98, 20], [97, 5]] and first["asks"] == [[101, 7], [102, 8], [103, 9]]
    assert first["bids2"] == [[99, 10], [98, 20]]
    assert first["ahead"] == -1  # not at the venue yet (entry latency)
    assert after_trade["ahead"] == 6 and after_trade["trades"] == [(10 * MS + 100_000, SELL, 99, 4)]
    assert after_shrink["ahead"] == 3 and after_shrink["bids"][0] == [99, 3]
    assert after_fill["trades"] == [(10 * MS + 100_000, SELL, 99, 4), (30 * MS + 100_000, SELL, 99, 4)]
    # the fill report travels back with the response latency: the strategy hears of it after 31 ms
    assert after_fill["fills"] == [] and after_fill["position"] == 0
    assert last["ahead"] == -1 and last["position"] == 1
    (fill,) = last["fills"]
    assert (fill.price, fill.qty, fill.side, fill.liquidity) == (99, 1, BUY, 1)
    assert last["cash"] == -99 and last["fees"] == 0
    assert last["pnl"] == pytest.approx(-99 + (99 + 101) / 2)  # marked at the local mid
    assert len(out.fills) == 1


def test_l2_context_same_on_both_engines():
    from tests.unit.sim.agreement import l2_stream

    ev = l2_stream(11, n_msgs=300)
    runs = []
    for cls in (Engine, NbEngine):
        venue = L2MarketVenue(L2Venue(None, parse_queue_model("power_prob_2"), fees=FeeSchedule(-20, 150, 1)))
        runs.append(_run(cls, ev, venue))
    (a, out_a), (b, out_b) = runs
    assert a == b and out_a.run_hash == out_b.run_hash
    assert any(s["trades"] for s in a) and any(s["ahead"] > 0 for s in a)
    for s in a:  # depth is sorted best first and its top is the context's top
        assert all(x[0] > y[0] for x, y in zip(s["bids"], s["bids"][1:], strict=False))
        assert all(x[0] < y[0] for x, y in zip(s["asks"], s["asks"][1:], strict=False))
        assert len(s["bids"]) <= 3 and len(s["trades"]) <= 2


@pytest.mark.parametrize("cls", [Engine, NbEngine])
def test_l3_queue_position_is_exact(cls):
    from hft.sim.exchange_l3 import L3Venue

    ev = _events([(0, EV_ADD, BUY, 99, 5, 1, 1), (1, EV_ADD, SELL, 101, 5, 2, 1),
                  (10, EV_ADD, BUY, 99, 4, 3, 1),  # joins behind us: nothing changes ahead
                  (20, EV_CANCEL, BUY, 99, 2, 1, 1),  # 2 of the 5 ahead leave: 3
                  (30, EV_EXEC, BUY, 99, 3, 1, 1),  # the rest of order 1 trades: we are at the head
                  (40, EV_ADD, SELL, 102, 1, 4, 1)])
    venue = L3Venue(fees=FeeSchedule(0, 0, 0))
    seen, _ = _run(cls, ev, venue, book_level="L3")
    ahead = [s["ahead"] for s in seen]
    # books: after msg 0 (one side), msg 1 (we submit at 99 behind 5 lots), msg 10, 20, 30, 40
    assert ahead == [-1, -1, 5, 3, 0, 0]
    assert seen[2]["bids"] == [[99, 9]]  # the local view is the market's: 5 + 4 lots, ours not in it


class Waker(Strategy):
    """Asks for wake-ups (one before the data ends, one well after it); sends an order at each."""

    name = "recorder"

    def __init__(self) -> None:
        self.woke: list[tuple[int, str, int]] = []
        self.updates: list[tuple[int, int, int]] = []

    def on_start(self, ctx) -> None:
        ctx.at(15 * MS, "early")
        ctx.at(500 * MS, "late")  # the data ends at 20 ms: still delivered
        ctx.at(15 * MS, "early-2")  # same time: in the order asked

    def on_wake(self, ctx, payload) -> None:
        self.woke.append((ctx.now, payload, ctx.position))
        ctx.submit(BUY, 101, 1, None, None)  # marketable: fills at once as a taker

    def on_order_update(self, ctx, u) -> None:
        self.updates.append((u.ts, u.exch_ts, u.kind))


@pytest.mark.parametrize("cls", [Engine, NbEngine])
def test_wake_ups_come_at_their_local_time_even_after_the_data(cls):
    ev = _events([(0, EV_SNAPSHOT_LEVEL, BUY, 99, 10, 0, 0), (0, EV_SNAPSHOT_LEVEL, SELL, 101, 50, 0, 1),
                  (20, EV_LEVEL_SET, BUY, 99, 9, 0, 1)])
    venue = L2MarketVenue(L2Venue(None, parse_queue_model("risk_averse"), fees=FeeSchedule(0, 0, 0)))
    strat = Waker()
    ecfg = EngineConfig(entry=L.constant(MS), response=L.constant(MS), sample_ns=50 * MS, strategy="recorder")
    out = cls(ev, venue, _factory(), strat, "X", ecfg).run()
    assert strat.woke == [(15 * MS, "early", 0), (15 * MS, "early-2", 0), (500 * MS, "late", 2)]
    assert len(out.fills) == 3
    # every report carries the venue's time: it reached the venue 1 ms after the wake, us 1 ms after that
    assert {(ts - exch) for ts, exch, _ in strat.updates} == {MS}
    assert max(ts for ts, _, _ in strat.updates) == 502 * MS
