"""The emergency stop acts: every transition to a stricter mode cancels every working order (storm.cancel_on_trip),
through the normal path (internal cancels dispatched and recorded), in one place (`GatewayService.cancel_all`)."""

from __future__ import annotations

from dataclasses import replace

from gwkit import Gw, config

from hft.core.orders import (
    BUY,
    INTENT_CANCEL,
    INTENT_NEW,
    MODE_CANCEL_ONLY,
    MODE_REJECT_ALL,
    REPORT_FILL,
    SELL,
    TIF_IOC,
)
from hft.gateway.config import LimitSet, StormConfig
from hft.gateway.intents import Decision, ExecutionReport


def _working(g, n=3):
    ids = [g.new(side=BUY, price=990 - i).order_id for i in range(n)]
    assert len(g.svc.working_orders()) == n
    return ids


def _internal_cancels(g, since=0):
    return [r for r in g.records[since:] if isinstance(r, Decision) and r.kind == INTENT_CANCEL
            and r.key is None and r.accepted]


def test_daily_loss_trip_cancels_every_working_order():
    g = Gw(config(strategies={"s1": LimitSet(daily_loss=100), "s2": LimitSet()},
                  storm=StormConfig(cooldown_ns=10**12)))
    ids = _working(g)
    n_cmd = len(g.dispatcher.commands)
    buy = g.new(side=BUY, price=1000, qty=10, tif=TIF_IOC, strat="s1")
    g.svc.on_execution_report(ExecutionReport(0, buy.order_id, REPORT_FILL, 1000, 10, 0))
    sell = g.new(side=SELL, price=1000, qty=10, tif=TIF_IOC, strat="s1")
    n_rec = len(g.records)
    g.svc.on_execution_report(ExecutionReport(0, sell.order_id, REPORT_FILL, 900, 10, 0))  # loss 1000 > 100
    assert g.svc.mode == MODE_REJECT_ALL
    cancels = _internal_cancels(g, n_rec)
    assert sorted(d.target_id for d in cancels) == sorted(ids)
    sent = [c for c in g.dispatcher.commands[n_cmd:] if c.action == INTENT_CANCEL]
    assert sorted(c.order_id for c in sent) == sorted(ids)
    assert all(d.key is None for d in cancels)  # internal: no idempotency key (recorded as NO_KEY)


def test_position_breach_to_degraded_cancels_too():
    g = Gw(config(storm=StormConfig(cooldown_ns=10**12, position_level="DEGRADED")))
    ids = _working(g, 3)
    big = g.new(side=BUY, price=1000, qty=5, tif=TIF_IOC)
    g.svc.on_execution_report(ExecutionReport(0, big.order_id, REPORT_FILL, 1000, 5, 0))
    g.svc.register_strategy("s1", LimitSet(max_position=2))  # tightened while long 5
    n_rec = len(g.records)
    g.svc.on_execution_report(ExecutionReport(0, ids[0], REPORT_FILL, 990, 1, 0))  # position 6 > 2: breach
    assert g.svc.mode == MODE_CANCEL_ONLY
    assert sorted(d.target_id for d in _internal_cancels(g, n_rec)) == sorted(ids[1:])


def test_kill_returns_its_cancels_once_and_config_off_keeps_orders():
    g = Gw()
    ids = _working(g)
    decs = g.svc.kill("operator")
    assert sorted(d.target_id for d in decs) == sorted(ids)  # each working order once, not twice
    assert len(_internal_cancels(g)) == 3
    off = Gw(replace(config(), storm=StormConfig(cancel_on_trip=False)))
    _working(off)
    off.svc.set_mode(MODE_REJECT_ALL, "manual")
    assert len(off.svc.working_orders()) == 3 and _internal_cancels(off) == []
    assert len(off.svc.kill("operator")) == 3  # the kill switch always cancels


def test_manual_reject_all_cancels_and_resume_does_not():
    g = Gw()
    _working(g, 2)
    g.svc.set_mode(MODE_REJECT_ALL, "operator")
    assert len(_internal_cancels(g)) == 2
    n = len(g.records)
    g.svc.set_mode(0, "operator")
    assert _internal_cancels(g, n) == []


def _closing(g, since=0):
    return [r for r in g.records[since:] if isinstance(r, Decision) and r.kind == INTENT_NEW and r.key is None]


def test_flatten_on_halt_closes_open_positions_through_the_pipeline():
    """A daily-loss trip to HALT cancels the working orders, then sends an internal IOC closing order per open
    position at the edge of the price band (10% of the 1000 mark, on the tick grid), recorded and dispatched;
    its fill leaves the book flat. DEGRADED trips and the option off close nothing."""
    cfg = config(strategies={"s1": LimitSet(daily_loss=100), "s2": LimitSet()},
                 storm=StormConfig(cooldown_ns=10**12, flatten_on_halt=True))
    g = Gw(cfg)
    long_ = g.new(side=BUY, price=1000, qty=7, tif=TIF_IOC, strat="s2")  # s2: long 7 AAA
    g.svc.on_execution_report(ExecutionReport(0, long_.order_id, REPORT_FILL, 1000, 7, 0))
    short = g.new(side=SELL, price=1000, qty=3, tif=TIF_IOC, strat="s2", sym="BBB")  # s2: short 3 BBB
    g.svc.on_execution_report(ExecutionReport(0, short.order_id, REPORT_FILL, 1000, 3, 0))
    working = _working(g, 2)
    buy = g.new(side=BUY, price=1000, qty=10, tif=TIF_IOC)
    g.svc.on_execution_report(ExecutionReport(0, buy.order_id, REPORT_FILL, 1000, 10, 0))
    sell = g.new(side=SELL, price=1000, qty=4, tif=TIF_IOC)
    n_rec, n_cmd = len(g.records), len(g.dispatcher.commands)
    g.svc.on_execution_report(ExecutionReport(0, sell.order_id, REPORT_FILL, 900, 4, 0))  # s1 loses 400: HALT
    assert g.svc.mode == MODE_REJECT_ALL and g.svc.storm_level_name == "HALT"
    assert sorted(d.target_id for d in _internal_cancels(g, n_rec)) == sorted(working)
    closes = {(d.strategy, d.symbol): d for d in _closing(g, n_rec)}
    assert set(closes) == {("s1", "AAA"), ("s2", "AAA"), ("s2", "BBB")}
    assert all(d.accepted and d.tif == TIF_IOC for d in closes.values())
    assert (closes["s1", "AAA"].side, closes["s1", "AAA"].qty, closes["s1", "AAA"].price) == (SELL, 6, 900)
    assert (closes["s2", "AAA"].side, closes["s2", "AAA"].qty) == (SELL, 7)
    assert (closes["s2", "BBB"].side, closes["s2", "BBB"].qty, closes["s2", "BBB"].price) == (BUY, 3, 1100)
    sent = [c for c in g.dispatcher.commands[n_cmd:] if c.action == INTENT_NEW]
    assert sorted(c.order_id for c in sent) == sorted(d.order_id for d in closes.values())
    for d in closes.values():
        g.svc.on_execution_report(ExecutionReport(0, d.order_id, REPORT_FILL, d.price, d.qty, 0))
    for strat, sym in closes:  # flat (s1's two buys await their cancels' acks)
        e = g.svc.position("A1", strat, sym)
        assert e.position == 0 and e.working_sell == 0 and e.working_buy == (2 if strat == "s1" else 0)
    assert not g.new(side=BUY, price=1000, qty=1, strat="s2").accepted  # still HALT: clients refused

    off = Gw(config(strategies={"s1": LimitSet(daily_loss=100), "s2": LimitSet()},
                    storm=StormConfig(cooldown_ns=10**12)))
    b = off.new(side=BUY, price=1000, qty=10, tif=TIF_IOC)
    off.svc.on_execution_report(ExecutionReport(0, b.order_id, REPORT_FILL, 1000, 10, 0))
    s = off.new(side=SELL, price=1000, qty=4, tif=TIF_IOC)
    off.svc.on_execution_report(ExecutionReport(0, s.order_id, REPORT_FILL, 900, 4, 0))
    assert off.svc.storm_level_name == "HALT" and _closing(off) == []
    assert off.svc.position("A1", "s1", "AAA").position == 6


def test_flatten_on_halt_does_not_act_on_a_degraded_trip():
    g = Gw(config(storm=StormConfig(cooldown_ns=10**12, position_level="DEGRADED", flatten_on_halt=True)))
    w = g.new(side=BUY, price=990, qty=1)
    big = g.new(side=BUY, price=1000, qty=5, tif=TIF_IOC)
    g.svc.on_execution_report(ExecutionReport(0, big.order_id, REPORT_FILL, 1000, 5, 0))
    g.svc.register_strategy("s1", LimitSet(max_position=2))  # tightened while long 5
    g.svc.on_execution_report(ExecutionReport(0, w.order_id, REPORT_FILL, 990, 1, 0))  # breach: DEGRADED
    assert g.svc.mode == MODE_CANCEL_ONLY and _closing(g) == []
    g.svc.kill("operator")  # the kill switch is a HALT: it flattens
    assert [(d.side, d.qty) for d in _closing(g)] == [(SELL, 6)]
