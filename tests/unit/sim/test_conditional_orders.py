"""Emulated conditional orders (`hft.sim.conditional`): hand-derived traces of the commands each order type sends
on scripted markets (the scenario files' format, `hft.sim.scenario`) through a real gateway, the same run on both
replay engines and the independent reference, gateway rejections, and a bracket on the real LOBSTER sample.

Common setup: tick 0.01 (99.99 = 9999 ticks), lot 1, entry = response = 1 ms, no feed latency, no fees; book
bids 99.99 x 10, 99.97 x 10, asks 100.01 x 10, 100.02 x 10 at t = 0 (seen locally at once). The strategy places
its orders at its first book callback with both sides (t = 0). A command sent at t reaches the venue at t + 1 ms and its report
the strategy at t + 2 ms. A resting order at a price with no displayed lots is first in its queue; a trade at its
price on the passive side fills it up to the trade's lots (the L2 venue's queue rule, docs/sim.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from hft.core.dtypes import BUY, SELL
from hft.core.errors import SimError
from hft.core.orders import ORDER_LIMIT, ORDER_MARKET, TIF_IOC
from hft.gateway import GatewayService
from hft.sim import scenario as S
from hft.sim.conditional import ConditionalOrders, ConditionalStrategy
from hft.sim.engine import Engine, EngineConfig, L2MarketVenue
from hft.sim.engine_nb import NbEngine
from hft.sim.gateway_setup import sim_gateway_config
from hft.sim.latency import constant
from hft.sim.reference import Fees, L2ReferenceVenue, Latency, ReferenceConfig, ReferenceEngine
from tests.unit.sim.agreement import agree, same

MS = 1_000_000
BOOK = {"bids": [[99.99, 10], [99.97, 10]], "asks": [[100.01, 10], [100.02, 10]]}
ACTIONS = {1: "new", 2: "cancel", 3: "replace"}


def trade(t: int, aggressor: str, price: float, qty: int) -> dict:
    return {"t": f"{t}ms", "kind": "trade", "aggressor": aggressor, "price": price, "qty": qty}


def depth(t: int, side: str, price: float, qty: int) -> dict:
    return {"t": f"{t}ms", "kind": "depth", "side": side, "price": price, "qty": qty}


class Script(ConditionalStrategy):
    """Places its orders with `setup(ctx, conditional)` at its first book callback with both sides (t = 0); logs
    every state change."""

    name = "scenario"

    def __init__(self, setup: Callable, trigger: str = "trade") -> None:
        self.setup, self.trigger = setup, trigger
        self.log: list[tuple] = []
        self.user_calls = {"book": 0, "wake": []}
        self.placed = False

    def on_book(self, ctx) -> None:
        self.user_calls["book"] += 1
        if not self.placed and ctx.mid2 is not None:  # both sides of the initial book seen
            self.placed = True
            self.setup(ctx, self.conditional)

    def on_wake(self, ctx, payload) -> None:
        self.user_calls["wake"].append(payload)

    def on_conditional(self, ctx, order) -> None:
        self.log.append((ctx.now / MS, order.id, order.kind, order.status, order.reason))


def scenario(events: list[dict]) -> S.Scenario:
    return S.parse_scenario({"instrument": {"symbol": "TEST", "tick_size": 0.01, "lot_size": 1},
                             "latency": {"entry": "1ms", "response": "1ms"}, "book": BOOK,
                             "events": events}, "<market>")


def _gateway(sc: S.Scenario, limits: dict | None):
    cfg = sim_gateway_config(sc.symbol, S.STRATEGY, multiplier=sc.multiplier, working_orders=32, limits=limits)

    def factory(clock, dispatcher, sink):
        return GatewayService(cfg, clock=clock, dispatcher=dispatcher, sink=sink, private_arena=True)

    return factory


def run_on(cls, sc: S.Scenario, strategy, limits: dict | None = None):
    """One run on the engine class `cls` (`Engine`, `NbEngine`) or `ReferenceEngine`."""
    events = S.scenario_events(sc)
    if cls is ReferenceEngine:
        venue = L2ReferenceVenue(sc.queue_model, sc.exchange, Fees(0, 0, 0), sc.money, 16)
        rcfg = ReferenceConfig(entry=Latency.constant(sc.entry_ns), response=Latency.constant(sc.response_ns),
                               account=S.ACCOUNT, strategy=S.STRATEGY)
        return ReferenceEngine(events, venue, _gateway(sc, limits), strategy, sc.symbol, rcfg).run()
    from hft.book.l2 import new_book
    from hft.sim.exchange_l2 import EXCHANGE_MODES, L2Venue
    from hft.sim.queue_models import parse_queue_model

    lo, hi = 9990, 10010
    venue = L2Venue(new_book(lo - 64, hi + 64, lo - 64, hi + 64), parse_queue_model(sc.queue_model),
                    EXCHANGE_MODES[sc.exchange], sc.fees, sc.money, capacity=16)
    ecfg = EngineConfig(entry=constant(sc.entry_ns), response=constant(sc.response_ns), feed=None,
                        account=S.ACCOUNT, strategy=S.STRATEGY)
    return cls(events, L2MarketVenue(venue), _gateway(sc, limits), strategy, sc.symbol, ecfg).run(
        multiplier=sc.money)


def run(events: list[dict], setup: Callable, trigger: str = "trade", limits: dict | None = None):
    """The run on the numba engine, checked equal on the Python engine and the reference: (commands, fills, log,
    output, strategy); commands as (sent ms, action, side, price, qty, market?), fills as (ms the report reached
    the strategy, side, price, qty)."""
    sc = scenario(events)
    outs, strategies = [], []
    for cls in (NbEngine, Engine, ReferenceEngine):
        strategies.append(Script(setup, trigger))
        outs.append(run_on(cls, sc, strategies[-1], limits))
    nb, py, ref = outs
    same(nb, py)
    agree(ref, nb)
    assert strategies[0].log == strategies[1].log == strategies[2].log
    cmds = [(int(o["ts"]) / MS, ACTIONS[int(o["action"])], int(o["side"]), int(o["price"]), int(o["qty"]),
             int(o["order_type"]) == ORDER_MARKET) for o in nb.orders]
    fills = [(int(f["local_ts"]) / MS, int(f["side"]), int(f["price"]), int(f["qty"])) for f in nb.fills]
    return cmds, fills, strategies[0].log, nb, strategies[0]


# --- stop and stop-limit -----------------------------------------------------------------------------------------
def test_buy_stop_on_the_last_trade():
    # buy stop 100.02 x 3: the 100.01 print (5 ms) is below it; the 100.02 print (10 ms) reaches it: a market buy
    # of 3 goes out at 10 ms, reaches the venue at 11 ms and takes 3 of the 10 at 100.01 (report 12 ms)
    cmds, fills, log, out, _ = run([trade(5, "buy", 100.01, 4), trade(10, "buy", 100.02, 1),
                                    trade(15, "buy", 100.03, 1)],
                                   lambda ctx, c: c.stop(ctx, BUY, 10002, 3))
    assert cmds == [(10.0, "new", BUY, 0, 3, True)]
    assert fills == [(12.0, BUY, 10001, 3)]
    assert log == [(10.0, 1, "stop", "working", None), (12.0, 1, "stop", "filled", None)]
    assert out.final["position"] == 3


def test_sell_stop_limit_on_the_mid():
    # sell stop 99.98 limit 99.97 x 4 on the mid (100.00 at t = 0). 10 ms: the 99.99 bid leaves -> mid 99.99
    # (19998 / 2 > 99.98). 20 ms: an ask at 99.98 -> mid (99.97 + 99.98) / 2 = 99.975 <= 99.98: a sell limit 4 @
    # 99.97 goes out at 20 ms and takes 4 of the 10 bid lots at 99.97 at 21 ms (report 22 ms)
    cmds, fills, log, _, _ = run([depth(10, "buy", 99.99, 0), depth(20, "sell", 99.98, 5)],
                                 lambda ctx, c: c.stop(ctx, SELL, 9998, 4, limit=9997), trigger="mid")
    assert cmds == [(20.0, "new", SELL, 9997, 4, False)]
    assert fills == [(22.0, SELL, 9997, 4)]
    assert [s for *_, s, _ in log] == ["working", "filled"]


def test_trailing_stop_follows_the_highest_print():
    # sell trailing 3 ticks x 2, placed before any print: 5 ms 100.00 (best 10000, stop 99.97); 10 ms 100.04
    # (best 10004, stop 100.01); 15 ms 100.02 (above the stop); 20 ms 100.01 <= 100.01: a market sell of 2 at
    # 20 ms fills at the 99.99 bid (report 22 ms)
    cmds, fills, _, _, s = run([trade(5, "buy", 100.00, 1), trade(10, "buy", 100.04, 1),
                                trade(15, "sell", 100.02, 1), trade(20, "sell", 100.01, 1)],
                               lambda ctx, c: c.trailing_stop(ctx, SELL, 3, 2))
    assert cmds == [(20.0, "new", SELL, 0, 2, True)]
    assert fills == [(22.0, SELL, 9999, 2)]
    assert s.conditional.orders[1].stop == 10001


def test_trailing_stop_starts_at_the_last_price_seen():
    # a buy trailing stop of 2 ticks placed at the first book callback on the mid (100.00): stop 100.02 at once;
    # 10 ms the bid moves to 100.00 -> mid 100.005 (best stays 100.00); 20 ms asks at 100.04 (the 100.01 and 100.02
    # levels leave) -> mid (100.00 + 100.04) / 2 = 100.02 >= 100.02: a market buy of 1 at 20 ms takes 100.04
    at_placement = []

    def setup(ctx, c):
        at_placement.append(c.trailing_stop(ctx, BUY, 2, 1).stop)

    cmds, fills, _, _, _ = run([depth(10, "buy", 100.00, 5), depth(20, "sell", 100.01, 0),
                                depth(20, "sell", 100.02, 0), depth(20, "sell", 100.04, 3)], setup, trigger="mid")
    assert at_placement == [10002] * 3  # one run per engine
    assert cmds == [(20.0, "new", BUY, 0, 1, True)]
    assert fills == [(22.0, BUY, 10004, 1)]


def test_each_order_its_own_trigger():
    # one component (trigger "trade"), a sell stop 99.98 x1 on the mid (a) and one on the last trade (b). 5 ms: a
    # print at 99.98 releases b (a market sell filled at the 99.99 bid, report 7 ms); the mid is still 100.00.
    # 10 ms: the 99.99 bids leave -> mid 99.99. 20 ms: an ask at 99.99 -> mid (99.97 + 99.99) / 2 = 99.98: a goes
    # out, filled at the 99.97 bid (report 22 ms)
    def setup(ctx, c):
        c.stop(ctx, SELL, 9998, 1, trigger="mid")
        c.stop(ctx, SELL, 9998, 1)

    cmds, fills, log, _, s = run([trade(5, "sell", 99.98, 1), depth(10, "buy", 99.99, 0),
                                  depth(20, "sell", 99.99, 5)], setup)
    assert cmds == [(5.0, "new", SELL, 0, 1, True), (20.0, "new", SELL, 0, 1, True)]
    assert fills == [(7.0, SELL, 9999, 1), (22.0, SELL, 9997, 1)]
    assert [(t, i, st) for t, i, _, st, _ in log] == [(5.0, 2, "working"), (7.0, 2, "filled"), (20.0, 1, "working"),
                                                      (22.0, 1, "filled")]
    assert [o.trigger for o in s.conditional.orders.values()] == ["mid", "trade"]


# --- iceberg -----------------------------------------------------------------------------------------------------
def test_iceberg_refills_at_the_back_of_the_queue():
    # buy 5 @ 99.98 shown 2 at a time. 0 ms: child 2 (first at its empty level at 1 ms). 3 ms: others join 4 lots
    # behind it. 5 ms: a 2-lot print fills it (report 6 ms) -> child 2 at 6 ms, at 7 ms behind the 4 lots.
    # 10 ms: a 5-lot print reaches 1 lot of it (report 11 ms); 15 ms: 1 more lot fills it (report 16 ms) -> the
    # last 1 lot at 16 ms, again behind 4; 20 ms: a 5-lot print fills it (report 21 ms): the iceberg is filled
    cmds, fills, log, out, _ = run([depth(3, "buy", 99.98, 4), trade(5, "sell", 99.98, 2),
                                    trade(10, "sell", 99.98, 5), trade(15, "sell", 99.98, 1),
                                    trade(20, "sell", 99.98, 5)],
                                   lambda ctx, c: c.iceberg(ctx, BUY, 9998, 5, 2))
    assert cmds == [(0.0, "new", BUY, 9998, 2, False), (6.0, "new", BUY, 9998, 2, False),
                    (16.0, "new", BUY, 9998, 1, False)]
    assert fills == [(6.0, BUY, 9998, 2), (11.0, BUY, 9998, 1), (16.0, BUY, 9998, 1), (21.0, BUY, 9998, 1)]
    assert log == [(0.0, 1, "iceberg", "working", None), (21.0, 1, "iceberg", "filled", None)]
    assert out.final["position"] == 5


# --- GTD ---------------------------------------------------------------------------------------------------------
def test_gtd_cancels_a_working_limit_and_drops_a_held_stop():
    # a buy limit 1 @ 99.98 until 30 ms (never filled): cancelled at 30 ms (CANCELED report at 32 ms); a sell
    # stop 99.90 until 10 ms: dropped at 10 ms, nothing sent. The strategy's own on_wake never sees the expiries.
    def setup(ctx, c):
        c.limit(ctx, BUY, 9998, 1, expire_at=30 * MS)
        c.stop(ctx, SELL, 9990, 1, expire_at=10 * MS)
        ctx.at(40 * MS, "mine")

    cmds, fills, log, _, s = run([depth(50, "buy", 99.99, 10)], setup)
    assert cmds == [(0.0, "new", BUY, 9998, 1, False), (30.0, "cancel", 0, 0, 0, False)]  # a cancel logs no side
    assert not fills
    assert log == [(0.0, 1, "limit", "working", None), (10.0, 2, "stop", "expired", None),
                   (30.0, 1, "limit", "expired", None)]
    assert s.user_calls["wake"] == ["mine"] and not s.conditional.active


# --- OCO and bracket ---------------------------------------------------------------------------------------------
def test_oco_a_partial_fill_cancels_the_other():
    # a sell limit 2 @ 100.03 and a sell stop 99.96 x 2, OCO: a 1-lot print at 100.03 (10 ms) fills 1 of the limit
    # (report 11 ms): the held stop is dropped then, so the 99.96 print at 20 ms sends nothing; the limit works on
    def setup(ctx, c):
        c.oco(ctx, c.limit(ctx, SELL, 10003, 2), c.stop(ctx, SELL, 9996, 2))

    cmds, fills, log, _, s = run([trade(10, "buy", 100.03, 1), trade(20, "sell", 99.96, 3)], setup)
    assert cmds == [(0.0, "new", SELL, 10003, 2, False)]
    assert fills == [(11.0, SELL, 10003, 1)]
    assert log == [(0.0, 1, "limit", "working", None), (11.0, 2, "stop", "cancelled", None)]
    assert s.conditional.orders[1].status == "working"


def test_bracket_entry_then_stop_out_cancels_the_take_profit():
    # entry buy 2 @ 99.98, take profit 100.03, stop 99.96. 5 ms: a 2-lot print fills the entry (report 6 ms): the
    # take profit (sell 2 @ 100.03) goes out at 6 ms, the stop is held. 20 ms: a print at 99.96 triggers the stop:
    # a market sell of 2 at 20 ms fills at the 99.99 bid (report 22 ms), which cancels the take profit at 22 ms
    cmds, fills, log, out, _ = run([trade(5, "sell", 99.98, 2), trade(20, "sell", 99.96, 1)],
                                   lambda ctx, c: c.bracket(ctx, BUY, 9998, 2, take_profit=10003, stop=9996))
    assert cmds == [(0.0, "new", BUY, 9998, 2, False), (6.0, "new", SELL, 10003, 2, False),
                    (20.0, "new", SELL, 0, 2, True), (22.0, "cancel", 0, 0, 0, False)]
    assert fills == [(6.0, BUY, 9998, 2), (22.0, SELL, 9999, 2)]
    assert log == [(0.0, 1, "limit", "working", None), (6.0, 2, "limit", "working", None),
                   (6.0, 1, "limit", "filled", None), (20.0, 3, "stop", "working", None),
                   (22.0, 2, "limit", "cancelled", None), (22.0, 3, "stop", "filled", None)]
    assert out.final["position"] == 0


# --- through the gateway -----------------------------------------------------------------------------------------
def test_a_released_order_refused_by_the_gateway_is_reported():
    # max_order_qty 2: the stop's market buy of 3 (10 ms) is refused by the gateway: rejected, MAX_ORDER_QTY
    cmds, _, log, out, _ = run([trade(10, "buy", 100.02, 1)], lambda ctx, c: c.stop(ctx, BUY, 10002, 3),
                               limits={"max_order_qty": 2})
    assert cmds == [] and out.rejects == {"MAX_ORDER_QTY": 1}
    assert log == [(10.0, 1, "stop", "rejected", "MAX_ORDER_QTY")]


def test_a_super_call_feeds_the_emulator_once():
    class Child(Script):
        def on_book(self, ctx) -> None:
            super().on_book(ctx)

    seen = []
    sc = scenario([depth(10, "buy", 99.98, 5)])
    s = Child(lambda ctx, c: c.stop(ctx, SELL, 9990, 1), trigger="mid")
    s.conditional.on_book = functools.partial(lambda f, ctx: seen.append(ctx.now) or f(ctx), s.conditional.on_book)
    run_on(NbEngine, sc, s)
    assert seen == [0, 0, 0, 0, 10 * MS] and s.user_calls["book"] == 5  # 4 snapshot levels, then 10 ms


def test_on_two_instruments_a_stop_watches_its_own():
    # leg 1 is leg 0's market 10.00 higher. A sell stop 109.97 x 2 placed on leg 1 (`ctx.leg(1)`): leg 0's print at
    # 99.96 (5 ms) is not its price; leg 1's 109.98 (3 ms) is above the stop, its 109.96 (10 ms) at or below: seen
    # at 10.3 ms (feed 0.3 ms), a market sell on leg 1 at 10.3 ms, filled at its 109.99 bid (report 12.0 ms)
    from hft.sim.legs import LegInput
    from tests.unit.sim.agreement import ECFG, l2_venue, legs_gateway

    up = {"bids": [[109.99, 10], [109.97, 10]], "asks": [[110.01, 10], [110.02, 10]]}
    leg0 = S.scenario_events(scenario([trade(5, "sell", 99.96, 1)]))
    leg1 = S.scenario_events(S.parse_scenario({"instrument": {"symbol": "TEST", "tick_size": 0.01, "lot_size": 1},
                                               "book": up, "events": [trade(3, "sell", 109.98, 1),
                                                                      trade(10, "sell", 109.96, 1)]}, "<leg 1>"))
    outs = []
    for cls in (NbEngine, Engine):
        s = Script(lambda ctx, c: c.stop(ctx.leg(1), SELL, 10997, 2))
        legs = [LegInput(leg0, l2_venue(), "S0"), LegInput(leg1, l2_venue(), "S1")]
        outs.append(cls.of_legs(legs, legs_gateway(["S0", "S1"]), s, ECFG).run())
        assert s.log == [(10.3, 1, "stop", "working", None), (12.0, 1, "stop", "filled", None)]
    same(*outs)
    out = outs[0]
    assert [(int(o["ts"]), int(o["side"]), int(o["qty"])) for o in out.orders] == [(10_300_000, SELL, 2)]
    assert list(out.legs[1].order_ids) == [int(out.orders["order_id"][0])] and not len(out.legs[0].order_ids)
    assert [(int(f["price"]), int(f["qty"])) for f in out.fills] == [(10999, 2)]


def test_bad_arguments():
    c = ConditionalOrders()
    with pytest.raises(SimError, match="trigger: expected one of"):
        ConditionalOrders("last")
    with pytest.raises(SimError, match="side: expected 1"):
        c.stop(None, 0, 100, 1)
    with pytest.raises(SimError, match="qty: expected a positive integer"):
        c.stop(None, BUY, 100, 0)
    with pytest.raises(SimError, match="trigger: expected one of"):
        c.stop(None, BUY, 100, 1, trigger="last")


def test_the_docs_example():
    # docs/sim.md's DipBuyer: at t = 0 a bracket buying 2 at the 99.99 bid (10 lots ahead), take profit 100.09, stop
    # 99.94, good for 1 s. 5 ms: a 12-lot print at 99.99 fills it (report 6 ms): the take profit goes out. 20 ms: a
    # 99.94 print releases the stop, a market sell filled at the bid (report 22 ms) that cancels the take profit.
    # Flat with nothing working, the next book change (30 ms) places the next bracket; unfilled, it is cancelled at
    # its expiry (1030 ms), and the book change at 2 s places another, cancelled at 3 s (wake-ups run after the
    # data's end).
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "sim.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", doc, flags=re.S) if "ConditionalStrategy" in b]
    ns: dict = {}
    exec(compile(block, "docs/sim.md", "exec"), ns)
    sc = scenario([trade(5, "sell", 99.99, 12), trade(20, "sell", 99.94, 1), depth(30, "buy", 99.99, 5),
                   depth(2000, "buy", 99.99, 6)])
    outs = [run_on(cls, sc, ns["DipBuyer"]()) for cls in (NbEngine, Engine, ReferenceEngine)]
    same(outs[0], outs[1])
    agree(outs[2], outs[0])
    cmds = [(int(o["ts"]) / MS, ACTIONS[int(o["action"])], int(o["side"]), int(o["price"]), int(o["qty"]))
            for o in outs[0].orders]
    assert cmds == [(0.0, "new", BUY, 9999, 2), (6.0, "new", SELL, 10009, 2), (20.0, "new", SELL, 0, 2),
                    (22.0, "cancel", 0, 0, 0), (30.0, "new", BUY, 9999, 2), (1030.0, "cancel", 0, 0, 0),
                    (2000.0, "new", BUY, 9999, 2), (3000.0, "cancel", 0, 0, 0)]


# --- the real LOBSTER sample -------------------------------------------------------------------------------------
GOOG_1 = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"


class TimedBracket(ConditionalStrategy):
    """Every minute, when flat with nothing working: a bracket buying `qty` at the local best bid, take profit
    `take_profit` ticks above, stop `stop` ticks below (on the last trade), the entry good for `ttl_ns`; a position
    left with nothing working (a stop's market order that found too few lots, a stop refused by the gateway) is
    sold by an IOC at the bid."""

    name = "timed_bracket"
    timer_ns = 60_000_000_000

    def __init__(self, qty: int = 10, take_profit: int = 10, stop: int = 10, ttl_ns: int = 20_000_000_000) -> None:
        self.qty, self.tp, self.sl, self.ttl_ns = qty, take_profit, stop, ttl_ns
        self.entries: list[tuple[int, int]] = []  # (local time, entry price)
        self.released: list[tuple[int, int]] = []  # (local time, stop price) of each stop sent

    def on_timer(self, ctx) -> None:
        bid = ctx.best_bid
        if bid is None or self.conditional.active or ctx.orders:
            return
        if ctx.position > 0:
            ctx.submit(SELL, bid, ctx.position, ORDER_LIMIT, TIF_IOC)
        elif ctx.position == 0:
            self.conditional.bracket(ctx, BUY, bid, self.qty, bid + self.tp, bid - self.sl,
                                     expire_at=ctx.now + self.ttl_ns)
            self.entries.append((ctx.now, bid))

    def on_conditional(self, ctx, order) -> None:
        if order.kind == "stop" and order.status == "working":
            self.released.append((ctx.now, order.stop))


@pytest.mark.shared_data
def test_bracket_on_lobster(shared_data):
    import numpy as np

    from hft.core.dtypes import EV_EXEC, EV_HIDDEN_EXEC, EV_TRADE
    from hft.core.orders import CMD_CANCEL, CMD_NEW
    from hft.data.sources import open_market_data
    from hft.sim.replay import build_engine, parse_replay_config

    md = open_market_data([shared_data / GOOG_1])
    s = TimedBracket()
    engine, money = build_engine(md, s, s.name, parse_replay_config({"limits": {"max_position": 1000}}))
    out = engine.run(None, multiplier=money)
    orders, fills = out.orders, out.fills

    # GTD: an entry at each placement; every one not filled whole is cancelled exactly at its expiry
    entries = [(int(o["ts"]), int(o["price"])) for o in orders if o["action"] == CMD_NEW and o["side"] == BUY]
    assert entries == s.entries and len(entries) > 100
    entry_ids = {int(o["order_id"]): int(o["ts"]) for o in orders if o["action"] == CMD_NEW and o["side"] == BUY}
    filled = {i: int(fills["qty"][fills["order_id"] == i].sum()) for i in entry_ids}
    cancels = {int(o["order_id"]): int(o["ts"]) for o in orders if o["action"] == CMD_CANCEL}
    for i, t in entry_ids.items():
        if filled[i] < s.qty:
            assert cancels.get(i) == t + s.ttl_ns
    # each stop went out at the local time of a print at or below its stop price
    ev = md.events
    prints = np.isin(ev["kind"], [EV_TRADE, EV_EXEC, EV_HIDDEN_EXEC])
    at = {}
    for t, p in zip(ev["local_ts"][prints].tolist(), ev["price"][prints].tolist(), strict=True):
        at.setdefault(t, []).append(p)
    assert s.released and all(any(p <= stop for p in at[t]) for t, stop in s.released)
    market = [int(o["ts"]) for o in orders if o["action"] == CMD_NEW and o["order_type"] == ORDER_MARKET]
    assert market == [t for t, _ in s.released]
    # OCO: the exits never sell more than the entries bought; take profits filled at entry + take_profit
    pos = np.cumsum(fills["side"] * fills["qty"])
    assert pos.min() >= 0 and pos.max() <= s.qty
    tp = [int(f["price"]) for f in fills if f["side"] == SELL and f["liquidity"] == 1]
    assert tp and set(tp) <= {p + s.tp for _, p in s.entries}
    assert out.final["position"] == pos[-1]
    # a stop refused by the gateway (a market sell while the rest of its entry still rested: SELF_MATCH) is reported
    refused = [o.reason for o in s.conditional.orders.values() if o.status == "rejected"]
    assert len(refused) == sum(out.rejects.values()) and set(refused) == set(out.rejects)
