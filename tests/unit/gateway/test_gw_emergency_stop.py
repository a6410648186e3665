"""The emergency stop acts: every transition to a stricter mode cancels every working order (storm.cancel_on_trip),
through the normal path (internal cancels dispatched and recorded), in one place (`GatewayService.cancel_all`)."""

from __future__ import annotations

from dataclasses import replace

from gwkit import Gw, config

from hft.core.orders import (
    BUY,
    INTENT_CANCEL,
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
