"""Venue-native stops at the gateway (docs/gateway.md, "Stop orders"): the order-type mask, the trigger's checks,
the limits a stop passes like any order, its exposure while held, cancel, the refused replace, the TRIGGERED
report, the trigger in the decision, the command and the idempotency fingerprint, and the batch path equal to
the one-intent path."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from gwkit import Gw, config
from gwkit import gw_every_type as gw
from gwkit import report as rep

from hft.core.orders import (
    BUY,
    INTENT_NEW,
    ORDER_LIMIT,
    ORDER_STOP,
    ORDER_STOP_LIMIT,
    ORDER_TYPE_NAMES,
    R_BAD_PRICE,
    R_BAD_TRIGGER,
    R_KEY_REUSED,
    R_MAX_ORDER_NOTIONAL,
    R_OFF_TICK,
    R_OK,
    R_POSITION_LIMIT,
    R_PRICE_BAND,
    R_SELF_MATCH,
    R_UNSUPPORTED_ORDER_TYPE,
    R_UNSUPPORTED_REPLACE,
    R_UNSUPPORTED_TIF,
    REPORT_ACK,
    REPORT_CANCELED,
    REPORT_FILL,
    REPORT_TRIGGERED,
    SELL,
    TIF_DAY,
    TIF_FOK,
    TIF_GTC,
    TIF_IOC,
)
from hft.gateway.config import LimitSet, SymbolSpec
from hft.gateway.intents import empty_intents


def test_the_shipped_mask_refuses_stops():
    g = Gw()  # order_types: limit, market, post_only (config/gateway.yaml's)
    assert g.new(otype=ORDER_STOP, price=0, trigger=1010).reason == R_UNSUPPORTED_ORDER_TYPE
    assert g.new(otype=ORDER_STOP_LIMIT, price=1005, trigger=1010).reason == R_UNSUPPORTED_ORDER_TYPE
    assert g.new(otype=6).reason == R_UNSUPPORTED_ORDER_TYPE  # past the largest code: no bound by hand


def test_trigger_rules():
    g = gw(symbols={y: SymbolSpec(y, tick_multiple=5) for y in ("AAA", "BBB", "CCC")})
    assert g.new(otype=ORDER_STOP, price=0, trigger=0).reason == R_BAD_TRIGGER
    assert g.new(otype=ORDER_STOP, price=0, trigger=-5).reason == R_BAD_TRIGGER
    assert g.new(otype=ORDER_STOP_LIMIT, price=1000, trigger=0).reason == R_BAD_TRIGGER
    assert g.new(otype=ORDER_LIMIT, price=1000, trigger=1010).reason == R_BAD_TRIGGER  # a trigger on a limit
    assert g.new(otype=ORDER_STOP, price=0, trigger=1012).reason == R_OFF_TICK
    assert g.new(otype=ORDER_STOP_LIMIT, price=1003, trigger=1010).reason == R_OFF_TICK
    assert g.new(otype=ORDER_STOP_LIMIT, price=0, trigger=1010).reason == R_BAD_PRICE  # a stop-limit needs its limit
    assert g.new(otype=ORDER_STOP, price=1000, trigger=1010).reason == R_BAD_PRICE  # a stop has none
    assert g.new(otype=ORDER_STOP, price=0, trigger=1010, tif=TIF_IOC).reason == R_UNSUPPORTED_TIF
    assert g.new(otype=ORDER_STOP, price=0, trigger=1010, tif=TIF_FOK).reason == R_UNSUPPORTED_TIF
    assert g.new(otype=ORDER_STOP, price=0, trigger=1010, tif=TIF_DAY).accepted
    assert g.new(otype=ORDER_STOP_LIMIT, price=1005, trigger=1010, tif=TIF_IOC).accepted
    d = g.new(otype=ORDER_STOP, price=0, trigger=1010)
    assert d.accepted and d.trigger == 1010 and d.command.trigger == 1010 and d.command.order_type == ORDER_STOP
    assert g.records[-1] is d and g.dispatcher.commands[-1].trigger == 1010


def test_limits_band_and_value():
    g = gw(defaults=LimitSet(max_order_qty=100, max_position=50, min_qty=1, price_band_bps=100,
                             max_order_notional=10_050))
    # a stop-limit's limit is banded (mark 1000, 1 %: 990 .. 1010); a trigger is not (a stop becomes a market order)
    assert g.new(otype=ORDER_STOP_LIMIT, price=1200, trigger=1010).reason == R_PRICE_BAND
    assert g.new(otype=ORDER_STOP, price=0, trigger=1200, qty=1).accepted
    assert g.new(otype=ORDER_STOP_LIMIT, price=1004, trigger=1200, qty=1).accepted
    # a stop is valued at its trigger, a stop-limit at its limit
    assert g.new(otype=ORDER_STOP, price=0, trigger=1006, qty=10).reason == R_MAX_ORDER_NOTIONAL
    assert g.new(otype=ORDER_STOP, price=0, trigger=1004, qty=10).accepted
    assert g.new(otype=ORDER_STOP_LIMIT, price=1006, trigger=990, qty=10).reason == R_MAX_ORDER_NOTIONAL
    assert g.new(otype=ORDER_STOP_LIMIT, price=1004, trigger=1200, qty=10).accepted


def test_a_held_stop_is_working_exposure_until_cancelled():
    g = gw()
    a = g.new(otype=ORDER_STOP, price=0, trigger=1010, qty=30)
    b = g.new(otype=ORDER_STOP_LIMIT, price=1005, trigger=1010, qty=20)
    assert a.accepted and b.accepted
    assert g.new(qty=1).reason == R_POSITION_LIMIT  # 30 + 20 working = 50 = max_position
    e = g.svc.position("A1", "s1", "AAA")
    assert (e.working_buy, e.live_orders) == (50, 2)
    rep(g, a.order_id, REPORT_ACK, 0, 0, 30)
    assert g.cancel(a.order_id).accepted
    rep(g, a.order_id, REPORT_CANCELED)
    assert g.svc.position("A1", "s1", "AAA").working_buy == 20


def test_replace_of_a_held_stop_is_refused_then_allowed_once_triggered():
    g = gw()
    d = g.new(otype=ORDER_STOP_LIMIT, price=1005, trigger=1010, qty=4)
    rep(g, d.order_id, REPORT_ACK, 1005, 0, 4)
    assert g.replace(d.order_id, 1004, 4).reason == R_UNSUPPORTED_REPLACE
    assert rep(g, d.order_id, REPORT_TRIGGERED, 1010, 0, 4) == 0  # now a limit order at 1005
    assert g.replace(d.order_id, 1004, 4).reason == R_OK
    s = g.new(otype=ORDER_STOP, price=0, trigger=1010, qty=2)
    assert rep(g, s.order_id, REPORT_TRIGGERED, 1011, 0, 2) == 0
    rep(g, s.order_id, REPORT_FILL, 1012, 2, 0)
    assert g.svc.position("A1", "s1", "AAA").position == 2
    lim = g.new(qty=1, price=1003)
    assert rep(g, lim.order_id, REPORT_TRIGGERED, 1003, 0, 1) != 0  # TRIGGERED of a limit: a bad report


def test_self_match_ignores_held_stops():
    g = gw(self_match_prevention=True)
    assert g.new(side=SELL, otype=ORDER_STOP, price=0, trigger=990, qty=1).accepted  # held: not in the book
    assert g.new(side=BUY, price=1001, qty=1).accepted
    s = g.new(side=SELL, otype=ORDER_STOP_LIMIT, price=995, trigger=990, qty=1)
    assert s.accepted
    rep(g, s.order_id, REPORT_TRIGGERED, 990, 0, 1)  # now a limit sell at 995: a buy at 1001 would cross it
    assert g.new(side=BUY, price=1001, qty=1).reason == R_SELF_MATCH


def test_the_trigger_is_part_of_the_idempotency_fingerprint():
    g = gw()
    a = g.new(otype=ORDER_STOP, price=0, trigger=1010, key=77)
    assert g.new(otype=ORDER_STOP, price=0, trigger=1010, key=77).duplicate
    assert g.new(otype=ORDER_STOP, price=0, trigger=1011, key=77).reason == R_KEY_REUSED
    assert a.accepted


def test_batch_path_equals_one_intent_path():
    rows = [(ORDER_STOP, 0, 1010, TIF_GTC), (ORDER_STOP_LIMIT, 1005, 1010, TIF_GTC), (ORDER_STOP, 0, 0, TIF_GTC),
            (ORDER_LIMIT, 1000, 5, TIF_GTC), (ORDER_STOP, 0, 1010, TIF_IOC), (ORDER_STOP_LIMIT, 1300, 990, TIF_FOK)]
    one = gw()
    singles = [one.new(otype=o, price=p, trigger=tr, tif=tif, qty=2) for o, p, tr, tif in rows]
    batch = gw()
    it = empty_intents(len(rows))
    for i, (o, p, tr, tif) in enumerate(rows):
        it[i] = (0, i + 1, p, 2, 0, batch.svc.account_id("A1"), batch.svc.strategy_id("s1"),
                 batch.svc.symbol_id("AAA"), INTENT_NEW, BUY, o, tif, tr, 0, 0, 0, 0, 0)
    out = batch.svc.process_batch(it)
    assert [int(r) for r in out["reason"]] == [d.reason for d in singles]
    assert [int(t) for t in out["trigger"]] == [d.trigger for d in singles] == [r[2] for r in rows]
    (cmds,) = batch.dispatcher.batches  # one COMMAND_DTYPE array
    assert cmds["trigger"].tolist() == [d.command.trigger for d in singles if d.accepted]
    assert np.array_equal(out["order_type"], [r[0] for r in rows])


def test_a_decision_record_without_a_trigger_reads_zero():
    g = Gw()
    d = g.new()
    assert d.trigger == 0 and d.command.trigger == 0 and replace(config()).order_types == ("limit", "market",
                                                                                            "post_only")


def test_is_stop_is_the_declared_set_of_held_types() -> None:
    """The kernels' `is_stop` (gateway checks and exposure, both venues) holds exactly `STOP_TYPES`, compiled as
    the kernels call it and as plain Python."""
    from hft.core.jit import njit
    from hft.core.order_rules import is_stop
    from hft.core.orders import STOP_TYPES

    @njit
    def held(otype: int) -> bool:
        return is_stop(otype)

    for otype in (0, *ORDER_TYPE_NAMES, max(ORDER_TYPE_NAMES) + 1, -1):
        assert held(otype) == is_stop.py_func(otype) == (otype in STOP_TYPES), otype
