"""Venue-native icebergs at the gateway (docs/gateway.md, "Iceberg orders"): the display's checks, the whole size in
every exposure check, a replace keeping the order's display, the display in the decision, the command and the
idempotency fingerprint, and the batch path equal to the one-intent path."""

from __future__ import annotations

import numpy as np
from gwkit import Gw
from gwkit import gw_every_type as gw
from gwkit import report as rep

from hft.core.orders import (
    BUY,
    INTENT_NEW,
    OPT_DISPLAY,
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_POST_ONLY,
    ORDER_STOP_LIMIT,
    R_BAD_DISPLAY,
    R_KEY_REUSED,
    R_MAX_ORDER_QTY,
    R_OK,
    R_POSITION_LIMIT,
    REPORT_ACK,
    REPORT_PARTIAL_FILL,
    REPORT_REPLACED,
    TIF_GTC,
    TIF_IOC,
)
from hft.gateway.config import LimitSet, SymbolSpec
from hft.gateway.intents import (
    OrderIntent,
    empty_intents,
    from_typed,
    typed_intent_v1,
    typed_options,
)


def test_display_rules():
    g = gw(symbols={y: SymbolSpec(y, lot_multiple=2) for y in ("AAA", "BBB", "CCC")})
    assert g.new(qty=10, display=0).accepted  # not an iceberg
    assert g.new(qty=10, display=10).reason == R_BAD_DISPLAY  # display < qty: else it is no iceberg
    assert g.new(qty=10, display=12).reason == R_BAD_DISPLAY
    assert g.new(qty=10, display=-2).reason == R_BAD_DISPLAY
    assert g.new(qty=10, display=3).reason == R_BAD_DISPLAY  # a whole number of lots
    assert g.new(qty=10, display=4, otype=ORDER_MARKET, price=0, tif=TIF_IOC).reason == R_BAD_DISPLAY
    assert g.new(qty=10, display=4, otype=ORDER_STOP_LIMIT, price=1000, trigger=1010).reason == R_BAD_DISPLAY
    assert g.new(qty=10, display=4, otype=ORDER_POST_ONLY).accepted
    assert g.new(qty=10, display=4, tif=TIF_IOC).accepted  # an IOC iceberg never rests: the venue takes what it can
    d = g.new(qty=10, display=4)
    assert d.accepted and d.display == 4 and d.command.display == 4 and d.command.qty == 10
    assert g.records[-1] is d and g.dispatcher.commands[-1].display == 4


def test_the_hidden_part_counts_in_every_exposure_check():
    g = gw(defaults=LimitSet(max_order_qty=20, max_position=50, min_qty=1))
    assert g.new(qty=21, display=1).reason == R_MAX_ORDER_QTY  # the whole size, not the shown one
    d = g.new(qty=20, display=2)
    assert d.accepted and g.svc.position("A1", "s1", "AAA").working_buy == 20
    assert g.new(qty=20, display=2).accepted
    assert g.new(qty=11, display=1).reason == R_POSITION_LIMIT  # 40 working + 11 > 50
    rep(g, d.order_id, REPORT_ACK, 1000, 0, 20)
    rep(g, d.order_id, REPORT_PARTIAL_FILL, 1000, 2, 18)  # a shown part filled; leaves = all the rest
    e = g.svc.position("A1", "s1", "AAA")
    assert (e.position, e.working_buy) == (2, 38)


def test_a_replace_keeps_the_display_and_carries_none():
    g = gw()
    d = g.new(qty=10, display=3)
    rep(g, d.order_id, REPORT_ACK, 1000, 0, 10)
    r = g.replace(d.order_id, 999, 6)
    assert r.reason == R_OK and r.display == 0 and r.command.display == 0  # the venue keeps the order's display
    rep(g, d.order_id, REPORT_REPLACED, 999, 6, 6)
    assert g.svc.position("A1", "s1", "AAA").working_buy == 6
    # a display on a cancel or a replace is refused (a replace cannot change it: cancel and submit again)
    payload = typed_intent_v1(3, 991, "A1", "s1", "AAA", 0, 998, 5, ORDER_LIMIT, TIF_GTC, 0, d.order_id, 0, 0, 2)
    from hft.gateway.intents import TypedIntentEnvelope  # lazy: only this test builds one by hand
    assert g.svc.process(TypedIntentEnvelope(payload, 0)).reason == R_BAD_DISPLAY
    payload = typed_intent_v1(2, 992, "A1", "s1", "AAA", 0, 0, 0, ORDER_LIMIT, TIF_GTC, 0, d.order_id, 0, 0, 2)
    assert g.svc.process(TypedIntentEnvelope(payload, 0)).reason == R_BAD_DISPLAY


def test_the_display_is_part_of_the_idempotency_fingerprint():
    g = gw()
    a = g.new(qty=10, display=3, key=77)
    assert a.accepted and g.new(qty=10, display=3, key=77).duplicate
    assert g.new(qty=10, display=4, key=77).reason == R_KEY_REUSED
    assert g.new(qty=10, key=77).reason == R_KEY_REUSED
    b = g.new(qty=10, key=78)
    assert b.accepted and g.new(qty=10, display=2, key=78).reason == R_KEY_REUSED


def test_the_typed_tuple_carries_the_display_only_when_set():
    assert len(typed_intent_v1(1, 1, "A", "s", "X", 1, 10, 5)) == 13
    assert len(typed_intent_v1(1, 1, "A", "s", "X", 1, 10, 5, trigger=3)) == 14
    assert len(typed_intent_v1(1, 1, "A", "s", "X", 1, 10, 5, expire=9)) == 15
    p = typed_intent_v1(1, 1, "A", "s", "X", 1, 10, 5, display=2)
    assert len(p) == 16 and typed_options(p)[OPT_DISPLAY] == 2 and p[13] == p[14] == 0
    assert from_typed(p) == OrderIntent.new(1, "A", "s", "X", 1, 10, 5, display=2)
    assert from_typed(p).to_typed() == p


def test_batch_path_equals_one_intent_path():
    rows = [(ORDER_LIMIT, 4), (ORDER_LIMIT, 0), (ORDER_LIMIT, 10), (ORDER_POST_ONLY, 2), (ORDER_MARKET, 2),
            (ORDER_LIMIT, -1)]
    one = gw()
    singles = [one.new(otype=o, price=0 if o == ORDER_MARKET else 1000, tif=TIF_IOC if o == ORDER_MARKET else
                       TIF_GTC, qty=10, display=dp) for o, dp in rows]
    batch = gw()
    it = empty_intents(len(rows))
    for i, (o, dp) in enumerate(rows):
        it[i] = (0, i + 1, 0 if o == ORDER_MARKET else 1000, 10, 0, batch.svc.account_id("A1"),
                 batch.svc.strategy_id("s1"), batch.svc.symbol_id("AAA"), INTENT_NEW, BUY, o,
                 TIF_IOC if o == ORDER_MARKET else TIF_GTC, 0, 0, dp, 0, 0, 0)
    out = batch.svc.process_batch(it)
    assert [int(r) for r in out["reason"]] == [d.reason for d in singles]
    assert [d.reason for d in singles] == [R_OK, R_OK, R_BAD_DISPLAY, R_OK, R_BAD_DISPLAY, R_BAD_DISPLAY]
    assert [int(v) for v in out["display"]] == [d.display for d in singles] == [r[1] for r in rows]
    (cmds,) = batch.dispatcher.batches
    assert cmds["display"].tolist() == [d.command.display for d in singles if d.accepted] == [4, 0, 2]
    assert np.array_equal(out["order_type"], [r[0] for r in rows])
    assert gw().svc.check_batch(it).tolist() == [R_OK, R_OK, R_BAD_DISPLAY, R_OK, R_BAD_DISPLAY, R_BAD_DISPLAY]


def test_the_shipped_gateway_takes_an_iceberg_limit():
    g = Gw()  # config/gateway.yaml's order types: limit, market, post_only; a display is a limit's field
    assert g.new(qty=5, display=1).accepted and g.new(qty=5, display=5).reason == R_BAD_DISPLAY
