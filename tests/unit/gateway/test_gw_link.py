"""Venue-native OCO and bracket orders at the gateway (docs/gateway.md, "OCO and bracket orders"): the links' checks
(BAD_LINK: < 0, the order's own id, not one of this strategy's working orders of the instrument, a bracket child of
another type, on a cancel / replace), each order of a pair and each held child a working order of its size, a
bracket child's REPLACED release shrinking its reservation, the links in the decision, the command and the
idempotency fingerprint, and the batch path equal to the one-intent path."""

from __future__ import annotations

from gwkit import gw_every_type as gw
from gwkit import report as rep

from hft.core.orders import (
    BUY,
    INTENT_NEW,
    OPT_OCO,
    OPT_PARENT,
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_POST_ONLY,
    ORDER_STOP,
    ORDER_STOP_LIMIT,
    R_BAD_LINK,
    R_KEY_REUSED,
    R_OK,
    R_POSITION_LIMIT,
    REASON_NAMES,
    REPORT_ACK,
    REPORT_CANCELED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REPLACED,
    SELL,
    TIF_GTC,
    TIF_IOC,
)
from hft.gateway.config import LimitSet
from hft.gateway.intents import (
    OrderIntent,
    TypedIntentEnvelope,
    empty_intents,
    from_typed,
    typed_intent_v1,
    typed_options,
)


def test_the_reason_has_its_name():
    assert R_BAD_LINK == 29 and REASON_NAMES[R_BAD_LINK] == "BAD_LINK"


def test_oco_names_a_working_order_of_the_same_strategy_and_instrument():
    g = gw()
    a = g.new(side=SELL, price=1010, qty=2)
    assert a.accepted
    stop = {"side": SELL, "otype": ORDER_STOP, "price": 0, "trigger": 990, "qty": 2}
    b = g.new(oco=a.order_id, **stop)
    assert b.accepted and b.oco == a.order_id and b.command.oco == a.order_id
    assert g.dispatcher.commands[-1].oco == a.order_id
    assert g.new(oco=-1, **stop).reason == R_BAD_LINK
    assert g.new(oco=a.order_id + 1000, **stop).reason == R_BAD_LINK  # no such order
    assert g.new(oco=a.order_id, sym="BBB", **stop).reason == R_BAD_LINK  # another instrument's
    assert g.new(oco=a.order_id, strat="s2", **stop).reason == R_BAD_LINK  # another strategy's
    nxt = b.order_id + 1  # the next order's own id: never its own pair
    assert g.new(oco=nxt, **stop).reason == R_BAD_LINK
    # an order that has ended may still be named (the venue remembers its last ends), while its row in the order
    # table holds it: until an order C_ORD_CAP ids later takes the row
    assert rep(g, a.order_id, REPORT_ACK, 1010, 0, 2) == 0 and rep(g, a.order_id, REPORT_FILL, 1010, 2, 0) == 0
    late = g.new(oco=a.order_id, **stop)
    assert late.accepted and late.command.oco == a.order_id
    assert g.new(oco=a.order_id, sym="BBB", **stop).reason == R_BAD_LINK  # still another instrument's


def test_an_ended_order_is_named_until_a_later_order_takes_its_row():
    """The order table holds `max_working_orders` rows (a power of 2), an id in row ``id & (rows - 1)``: an order
    that ended stays nameable until the id `rows` later takes its row."""
    g = gw(max_working_orders=4)
    entry = g.new(side=BUY, price=990, qty=2)
    assert rep(g, entry.order_id, REPORT_ACK, 990, 0, 2) == 0 and rep(g, entry.order_id, REPORT_FILL, 990, 2, 0) == 0
    child = {"side": SELL, "otype": ORDER_LIMIT, "price": 1010, "qty": 2, "parent": entry.order_id}
    first = g.new(**child)  # id entry + 1
    assert first.accepted and first.command.parent == entry.order_id
    for _ in range(3):  # ids entry + 2 and + 3 in rows of their own; entry + 4 takes the entry's row
        assert g.new(side=SELL, price=1020, qty=1).accepted
    assert g.new(**child).reason == R_BAD_LINK  # the entry is gone


def test_a_bracket_child_is_a_limit_or_a_stop():
    g = gw()
    e = g.new(side=BUY, price=1000, qty=3)
    assert e.accepted
    assert g.new(side=SELL, price=1020, qty=3, parent=e.order_id).accepted
    assert g.new(side=SELL, otype=ORDER_STOP, price=0, trigger=980, qty=3, parent=e.order_id).accepted
    assert g.new(side=SELL, otype=ORDER_STOP_LIMIT, price=975, trigger=980, qty=3, parent=e.order_id).accepted
    assert g.new(side=SELL, otype=ORDER_POST_ONLY, price=1020, qty=3, parent=e.order_id).reason == R_BAD_LINK
    assert g.new(side=SELL, otype=ORDER_MARKET, price=0, tif=TIF_IOC, qty=3,
                 parent=e.order_id).reason == R_BAD_LINK
    assert g.new(side=SELL, price=1020, qty=3, parent=-5).reason == R_BAD_LINK
    assert g.new(side=SELL, price=1020, qty=3, parent=e.order_id, sym="BBB").reason == R_BAD_LINK


def test_each_linked_order_is_a_working_order_of_its_size():
    g = gw(defaults=LimitSet(max_position=10, min_qty=1))
    e = g.new(side=BUY, price=1000, qty=4)
    tp = g.new(side=SELL, price=1020, qty=4, parent=e.order_id)
    sl = g.new(side=SELL, otype=ORDER_STOP, price=0, trigger=980, qty=4, parent=e.order_id, oco=tp.order_id)
    assert e.accepted and tp.accepted and sl.accepted
    pos = g.svc.position("A1", "s1", "AAA")
    assert pos.working_buy == 4 and pos.working_sell == 8  # conservative: both children, whole
    assert g.new(side=SELL, price=1030, qty=3).reason == R_POSITION_LIMIT
    # the entry fills 3 of 4 and is cancelled: the venue releases each child for 3 (REPLACED, leaves 3) ...
    for oid in (e.order_id, tp.order_id, sl.order_id):
        assert rep(g, oid, REPORT_ACK, 0, 0, 4) == 0
    assert rep(g, e.order_id, REPORT_PARTIAL_FILL, 1000, 3, 1) == 0
    assert rep(g, e.order_id, REPORT_CANCELED) == 0
    assert rep(g, tp.order_id, REPORT_REPLACED, 1020, 3, 3) == 0
    assert rep(g, sl.order_id, REPORT_REPLACED, 0, 3, 3) == 0
    pos = g.svc.position("A1", "s1", "AAA")
    assert (pos.position, pos.working_buy, pos.working_sell) == (3, 0, 6)
    # ... and a fill of one cancels the other (the venue's CANCELED): nothing left working
    assert rep(g, tp.order_id, REPORT_FILL, 1020, 3, 0) == 0
    assert rep(g, sl.order_id, REPORT_CANCELED) == 0
    pos = g.svc.position("A1", "s1", "AAA")
    assert (pos.position, pos.working_buy, pos.working_sell) == (0, 0, 0)


def test_a_cancel_or_replace_carries_no_link():
    g = gw()
    d = g.new(price=1000, qty=5)
    assert d.accepted
    for kind, price, qty in ((3, 999, 5), (2, 0, 0)):  # replace, cancel
        for opt in ((0, 0, 0, 0, d.order_id), (0, 0, 0, 0, 0, d.order_id)):
            payload = typed_intent_v1(kind, g.key(), "A1", "s1", "AAA", 0, price, qty, ORDER_LIMIT, TIF_GTC, 0,
                                      d.order_id, *opt)
            assert g.svc.process(TypedIntentEnvelope(payload, 0)).reason == R_BAD_LINK


def test_the_links_are_part_of_the_idempotency_fingerprint():
    g = gw()
    a = g.new(side=SELL, price=1010)
    b = g.new(side=SELL, price=1020)
    assert g.new(side=SELL, price=1030, key=77, oco=a.order_id).accepted
    assert g.new(side=SELL, price=1030, key=77, oco=a.order_id).duplicate
    assert g.new(side=SELL, price=1030, key=77, oco=b.order_id).reason == R_KEY_REUSED
    assert g.new(side=SELL, price=1030, key=77).reason == R_KEY_REUSED
    assert g.new(side=SELL, price=1030, key=77, parent=a.order_id).reason == R_KEY_REUSED  # a tag of its own


def test_the_typed_tuple_carries_the_links_only_when_set():
    p = typed_intent_v1(1, 1, "A", "s", "X", -1, 1010, 5, ORDER_LIMIT, TIF_GTC, oco=7)
    assert len(p) == 18 and typed_options(p)[OPT_OCO] == 7 and typed_options(p)[OPT_PARENT] == 0
    q = typed_intent_v1(1, 1, "A", "s", "X", -1, 1010, 5, ORDER_LIMIT, TIF_GTC, oco=7, parent=3)
    assert len(q) == 19 and typed_options(q)[OPT_PARENT] == 3
    assert from_typed(q) == OrderIntent.new(1, "A", "s", "X", -1, 1010, 5, ORDER_LIMIT, TIF_GTC, oco=7, parent=3)
    assert from_typed(q).to_typed() == q
    assert len(typed_intent_v1(1, 1, "A", "s", "X", -1, 1010, 5, ORDER_LIMIT, TIF_GTC)) == 13


def test_batch_path_equals_one_intent_path():
    def rows(first):  # (order type, price, trigger, oco, parent)
        return [(ORDER_LIMIT, 1010, 0, first, 0), (ORDER_LIMIT, 1020, 0, -1, 0), (ORDER_LIMIT, 1030, 0, 999, 0),
                (ORDER_STOP, 0, 990, 0, first), (ORDER_POST_ONLY, 1040, 0, 0, first)]
    one = gw()
    f1 = one.new(side=SELL, price=1005, qty=2)
    singles = [one.new(side=SELL, otype=o, price=p, trigger=tr, oco=c, parent=pa, qty=2)
               for o, p, tr, c, pa in rows(f1.order_id)]
    batch = gw()
    f2 = batch.new(side=SELL, price=1005, qty=2)
    it = empty_intents(5)
    for i, (o, p, tr, c, pa) in enumerate(rows(f2.order_id)):
        it[i] = (0, i + 100, p, 2, 0, batch.svc.account_id("A1"), batch.svc.strategy_id("s1"),
                 batch.svc.symbol_id("AAA"), INTENT_NEW, SELL, o, TIF_GTC, tr, 0, 0, 0, c, pa)
    expected = [R_OK, R_BAD_LINK, R_BAD_LINK, R_OK, R_BAD_LINK]
    assert batch.svc.check_batch(it).tolist() == expected
    out = batch.svc.process_batch(it)
    assert [int(r) for r in out["reason"]] == [d.reason for d in singles] == expected
    assert [int(v) for v in out["oco"]] == [d.oco for d in singles]
    assert [int(v) for v in out["parent"]] == [d.parent for d in singles]
