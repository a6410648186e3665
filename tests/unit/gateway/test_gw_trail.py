"""Venue-native trailing stops at the gateway (docs/gateway.md, "Trailing stops"): the trail's checks, a trailing stop's
exposure as a stop's (its trigger at entry), the trail in the decision, the command and the idempotency fingerprint,
refused on a cancel / replace, and the batch path equal to the one-intent path."""

from __future__ import annotations

from gwkit import gw_every_type as gw

from hft.core.orders import (
    BUY,
    INTENT_NEW,
    OPT_TRAIL,
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_STOP,
    ORDER_STOP_LIMIT,
    R_BAD_TRAIL,
    R_KEY_REUSED,
    R_OK,
    R_POSITION_LIMIT,
    REASON_NAMES,
    SELL,
    TIF_GTC,
    TIF_IOC,
)
from hft.gateway.config import LimitSet, SymbolSpec
from hft.gateway.intents import (
    OrderIntent,
    TypedIntentEnvelope,
    empty_intents,
    from_typed,
    typed_intent_v1,
    typed_options,
)


def test_the_reason_has_its_name():
    assert R_BAD_TRAIL == 28 and REASON_NAMES[R_BAD_TRAIL] == "BAD_TRAIL"


def test_trail_rules():
    g = gw(symbols={y: SymbolSpec(y, tick_multiple=5) for y in ("AAA", "BBB", "CCC")})
    stop = {"otype": ORDER_STOP, "price": 0, "tif": TIF_GTC}
    assert g.new(side=SELL, trigger=990, trail=10, **stop).accepted
    assert g.new(side=SELL, trigger=990, trail=0, **stop).accepted  # not trailing: a plain stop
    assert g.new(side=SELL, trigger=990, trail=-5, **stop).reason == R_BAD_TRAIL
    assert g.new(side=SELL, trigger=990, trail=7, **stop).reason == R_BAD_TRAIL  # a whole number of ticks (5)
    assert g.new(side=SELL, trigger=0, trail=10, **stop).reason != R_OK  # a trailing stop needs its trigger
    # only on a stop / stop-limit
    assert g.new(price=1000, trail=10).reason == R_BAD_TRAIL
    assert g.new(otype=ORDER_MARKET, price=0, tif=TIF_IOC, trail=10).reason == R_BAD_TRAIL
    # a trailing stop-limit's limit at or through its trigger: a sell's <=, a buy's >=
    lim = {"otype": ORDER_STOP_LIMIT, "tif": TIF_GTC}
    assert g.new(side=SELL, price=985, trigger=990, trail=10, **lim).accepted
    assert g.new(side=SELL, price=990, trigger=990, trail=10, **lim).accepted
    assert g.new(side=SELL, price=995, trigger=990, trail=10, **lim).reason == R_BAD_TRAIL
    assert g.new(side=BUY, price=1015, trigger=1010, trail=10, **lim).accepted
    assert g.new(side=BUY, price=1005, trigger=1010, trail=10, **lim).reason == R_BAD_TRAIL
    assert g.new(side=BUY, price=1005, trigger=1010, **lim).accepted  # not trailing: any limit, as before
    d = g.new(side=SELL, trigger=990, trail=15, **stop)
    assert d.accepted and d.trail == 15 and d.command.trail == 15 and d.command.trigger == 990
    assert g.records[-1] is d and g.dispatcher.commands[-1].trail == 15


def test_a_trailing_stop_is_exposure_as_a_stop():
    g = gw(defaults=LimitSet(max_position=10, min_qty=1))
    d = g.new(side=SELL, otype=ORDER_STOP, price=0, trigger=990, trail=5, qty=8)
    assert d.accepted and g.svc.position("A1", "s1", "AAA").working_sell == 8
    assert g.new(side=SELL, otype=ORDER_STOP, price=0, trigger=990, trail=5, qty=3).reason == R_POSITION_LIMIT
    assert g.cancel(d.order_id).accepted


def test_a_cancel_or_replace_carries_no_trail():
    g = gw()
    d = g.new(price=1000, qty=5)
    assert d.accepted
    payload = typed_intent_v1(3, 991, "A1", "s1", "AAA", 0, 999, 5, ORDER_LIMIT, TIF_GTC, 0, d.order_id, 0, 0, 0, 5)
    assert g.svc.process(TypedIntentEnvelope(payload, 0)).reason == R_BAD_TRAIL
    payload = typed_intent_v1(2, 992, "A1", "s1", "AAA", 0, 0, 0, ORDER_LIMIT, TIF_GTC, 0, d.order_id, 0, 0, 0, 5)
    assert g.svc.process(TypedIntentEnvelope(payload, 0)).reason == R_BAD_TRAIL


def test_the_trail_is_part_of_the_idempotency_fingerprint():
    g = gw()
    stop = {"side": SELL, "otype": ORDER_STOP, "price": 0, "trigger": 990}
    assert g.new(trail=5, key=77, **stop).accepted and g.new(trail=5, key=77, **stop).duplicate
    assert g.new(trail=6, key=77, **stop).reason == R_KEY_REUSED
    assert g.new(key=77, **stop).reason == R_KEY_REUSED
    assert g.new(key=78, **stop).accepted and g.new(trail=5, key=78, **stop).reason == R_KEY_REUSED


def test_the_typed_tuple_carries_the_trail_only_when_set():
    p = typed_intent_v1(1, 1, "A", "s", "X", -1, 0, 5, ORDER_STOP, TIF_GTC, trigger=90, trail=3)
    assert len(p) == 17 and typed_options(p)[OPT_TRAIL] == 3 and p[13] == 90 and p[14] == p[15] == 0
    assert from_typed(p) == OrderIntent.new(1, "A", "s", "X", -1, 0, 5, ORDER_STOP, TIF_GTC, trigger=90, trail=3)
    assert from_typed(p).to_typed() == p
    assert len(typed_intent_v1(1, 1, "A", "s", "X", -1, 0, 5, ORDER_STOP, TIF_GTC, trigger=90)) == 14


def test_batch_path_equals_one_intent_path():
    rows = [(ORDER_STOP, 0, 990, 5), (ORDER_STOP, 0, 990, 0), (ORDER_STOP, 0, 990, -1), (ORDER_LIMIT, 1000, 0, 5),
            (ORDER_STOP_LIMIT, 985, 990, 5), (ORDER_STOP_LIMIT, 995, 990, 5)]
    one = gw()
    singles = [one.new(side=SELL, otype=o, price=p, trigger=tr, trail=tl, qty=2) for o, p, tr, tl in rows]
    batch = gw()
    it = empty_intents(len(rows))
    for i, (o, p, tr, tl) in enumerate(rows):
        it[i] = (0, i + 1, p, 2, 0, batch.svc.account_id("A1"), batch.svc.strategy_id("s1"),
                 batch.svc.symbol_id("AAA"), INTENT_NEW, SELL, o, TIF_GTC, tr, 0, 0, tl, 0, 0)
    out = batch.svc.process_batch(it)
    expected = [R_OK, R_OK, R_BAD_TRAIL, R_BAD_TRAIL, R_OK, R_BAD_TRAIL]
    assert [int(r) for r in out["reason"]] == [d.reason for d in singles] == expected
    assert [int(v) for v in out["trail"]] == [d.trail for d in singles] == [r[3] for r in rows]
    (cmds,) = batch.dispatcher.batches
    assert cmds["trail"].tolist() == [d.command.trail for d in singles if d.accepted] == [5, 0, 5]
    assert gw().svc.check_batch(it).tolist() == expected
