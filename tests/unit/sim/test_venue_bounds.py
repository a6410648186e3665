"""The simulated venues at the edges of int64 (the undefined-behaviour audit, issue 50): our orders' quantities up to
`QTY_MAX` and past it, prices near +-2**63, FOK checks over levels whose sum passes int64, a trade of ~2**63 lots at
our price (the queue model's float turned into lots), and the L3 reference's sizes.

Where lots are huge the prices are 0 or 1 tick, so a fill's money (`hft.sim.fees`: price x lots) stays within the
range that module states for it."""

from __future__ import annotations

import numpy as np
import pytest

from hft.book.l2 import new_book, set_level
from hft.book.l3 import QTY_MAX, new_l3_book
from hft.book.l3_replay import l3_validate
from hft.core.dtypes import BUY, EV_ADD, EV_CANCEL, EV_TRADE, NO_PRICE, SELL
from hft.core.errors import SimError
from hft.core.orders import ORDER_LIMIT, REPORT_KIND_NAMES, TIF_FOK, TIF_GTC, TIF_IOC
from hft.sim.exchange_l2 import LIQUIDITY_NAMES, MODE_PARTIAL_FILL, L2Venue
from hft.sim.exchange_l3 import L3Venue
from hft.sim.fees import FeeSchedule
from hft.sim.queue_models import parse_queue_model

I64_MIN, I64_MAX = -(2**63), 2**63 - 1
LIM = ORDER_LIMIT
ZERO = FeeSchedule(0, 0, 0)


def rows(reps):
    """(kind, id, price, qty, leaves, liquidity) per report."""
    return [(REPORT_KIND_NAMES[int(r["kind"])], int(r["order_id"]), int(r["price"]), int(r["qty"]),
             int(r["leaves"]), LIQUIDITY_NAMES[int(r["liquidity"])]) for r in reps]


def l2_venue(bids=(), asks=()) -> L2Venue:
    b = new_book(-100, 100, -100, 100)
    for p, q in bids:
        set_level(b, BUY, p, q)
    for p, q in asks:
        set_level(b, SELL, p, q)
    return L2Venue(b, parse_queue_model("risk_averse"), MODE_PARTIAL_FILL, ZERO, capacity=8)


def l3_venue(bids=(), asks=(), reference=None) -> L3Venue:
    v = L3Venue(new_l3_book(-100, 256, 16), MODE_PARTIAL_FILL, ZERO, capacity=4, reference=reference)
    for p, q in bids:
        v.seed_level(BUY, p, q)
    for p, q in asks:
        v.seed_level(SELL, p, q)
    return v


# --- L2 ----------------------------------------------------------------------------------------------------


def test_l2_fok_covered_by_levels_whose_sum_passes_int64_fills() -> None:
    v = l2_venue(asks=((0, (1 << 62) - 2), (1, I64_MAX)))
    assert rows(v.new(1, 5, BUY, 1, QTY_MAX, LIM, TIF_FOK)) == [
        ("ack", 5, 1, 0, QTY_MAX, ""), ("partial_fill", 5, 0, (1 << 62) - 2, 1, "taker"), ("fill", 5, 1, 1, 0, "taker")]


def test_l2_trade_of_2_63_lots_at_our_price_fills_us() -> None:
    """front 10 - 2**63 lots: the lots reached are held at 2**62 (no float beyond int64 becomes an integer)."""
    v = l2_venue(bids=((1, 10),), asks=((5, 10),))
    v.new(1, 7, BUY, 1, 4, LIM, TIF_GTC)
    assert rows(v.trade(2, SELL, 1, I64_MAX)) == [("fill", 7, 1, 4, 0, "maker")]


def test_l2_order_sizes_stay_within_qty_max() -> None:
    v = l2_venue(bids=((1, 10),), asks=((5, 10),))
    for oid, qty in ((1, QTY_MAX + 1), (2, I64_MAX)):
        assert rows(v.new(1, oid, BUY, 1, qty, LIM, TIF_GTC))[0][0] == "rejected"
    v.new(1, 3, SELL, 5, 4, LIM, TIF_GTC)
    assert rows(v.trade(2, BUY, 5, 12)) == [("partial_fill", 3, 5, 2, 2, "maker")]
    # filled 2 + open size: at most QTY_MAX in all (the order's total must fit in int64)
    assert rows(v.replace(3, 3, 5, QTY_MAX - 1))[0][0] == "replace_rejected"
    assert rows(v.replace(3, 3, 5, QTY_MAX - 2)) == [("replaced", 3, 5, QTY_MAX - 2, QTY_MAX - 2, "")]
    assert v.working()[3]["leaves"] == QTY_MAX - 2 and v.working()[3]["filled"] == 2


def test_l2_orders_at_prices_near_2_63() -> None:
    v = l2_venue(bids=((1, 10),), asks=((5, 10),))
    assert rows(v.new(1, 1, BUY, I64_MAX, 3, LIM, TIF_IOC)) == [("ack", 1, I64_MAX, 0, 3, ""),
                                                               ("fill", 1, 5, 3, 0, "taker")]
    assert rows(v.new(1, 2, SELL, I64_MIN + 1, 3, LIM, TIF_IOC))[1] == ("fill", 2, 1, 3, 0, "taker")
    # resting far away: its level's displayed quantity is 0 (no level), and no trade reaches it
    assert rows(v.new(1, 3, SELL, I64_MAX, 2, LIM, TIF_GTC)) == [("ack", 3, I64_MAX, 0, 2, "")]
    assert v.working()[3]["front"] == 0.0
    assert rows(v.trade(2, BUY, 5, 100)) == []


# --- L3 ----------------------------------------------------------------------------------------------------


def test_l3_orders_and_market_adds_keep_every_level_within_qty_max() -> None:
    v = l3_venue(bids=((1, 10),), asks=((5, 10),))
    assert rows(v.new(1, 1, BUY, 1, QTY_MAX + 1, LIM, TIF_GTC))[0][0] == "rejected"
    assert rows(v.new(1, 2, BUY, 0, QTY_MAX, LIM, TIF_GTC))[0][0] == "ack"
    assert rows(v.new(1, 3, BUY, 0, 1, LIM, TIF_GTC))[0][0] == "rejected"  # its level is full
    assert rows(v.new(1, 4, BUY, 1, QTY_MAX - 10, LIM, TIF_GTC))[0][0] == "ack"  # exactly full
    assert rows(v.replace(2, 4, 1, QTY_MAX - 10))[0][0] == "replaced"  # the same size in place
    assert rows(v.replace(2, 4, 1, QTY_MAX - 9))[0][0] == "replace_rejected"  # one lot past the level's room
    assert rows(v.market(3, EV_ADD, BUY, 1, 1, 50)) == []  # a market add past QTY_MAX: refused, nothing changes
    assert v.counters()["rejected"] == 1 and v.queue_ahead(4) == 10
    assert rows(v.market(4, EV_CANCEL, BUY, 1, 4, 777)) == []  # unknown id: anonymous quantity
    assert v.queue_ahead(4) == 6 and l3_validate(v.book) == 0
    assert rows(v.market(5, EV_ADD, BUY, 1, 4, 50)) == []  # room again
    assert v.counters()["rejected"] == 1 and l3_validate(v.book) == 0


def test_l3_fok_over_levels_at_qty_max() -> None:
    v = l3_venue(asks=((0, QTY_MAX - 5), (1, QTY_MAX)))
    assert rows(v.new(1, 5, BUY, 1, QTY_MAX, LIM, TIF_FOK)) == [
        ("ack", 5, 1, 0, QTY_MAX, ""), ("partial_fill", 5, 0, QTY_MAX - 5, 5, "taker"), ("fill", 5, 1, 5, 0, "taker")]
    assert v.position == QTY_MAX


def test_l3_prices_no_level_may_have_are_clean_errors_or_take_liquidity() -> None:
    v = l3_venue(bids=((1, 10),), asks=((5, 10),))
    assert rows(v.new(1, 1, BUY, I64_MAX, 3, LIM, TIF_IOC))[1] == ("fill", 1, 5, 3, 0, "taker")
    assert rows(v.new(1, 2, SELL, I64_MIN + 1, 3, LIM, TIF_IOC))[1] == ("fill", 2, 1, 3, 0, "taker")
    with pytest.raises(SimError, match="expected a price within"):
        v.new(2, 3, SELL, I64_MAX, 2, LIM, TIF_GTC)
    for kind, side, price in ((EV_ADD, BUY, I64_MIN + 1), (EV_CANCEL, SELL, I64_MAX)):
        with pytest.raises(SimError, match="expected a price within"):
            v.market(3, kind, side, price, 1, 99)
    assert l3_validate(v.book) == 0 and v.working() == {}


def test_l3_reference_sizes_are_checked_and_additions_held_to_the_level_room() -> None:
    bad = np.array([[5, 10, 1, 20], [5, 10, 1, -1]], dtype=np.int64)
    with pytest.raises(SimError, match="row 1: expected sizes in"):
        L3Venue(reference=bad)
    ref = np.array([[5, 10, 1, 20]], dtype=np.int64)  # the reference wants 20 market lots at the bid 1
    v = l3_venue(bids=((1, 10),), asks=((5, 10),), reference=ref)
    v.new(1, 4, BUY, 1, QTY_MAX - 10, LIM, TIF_GTC)  # the level is full: no room for the 10 more
    assert rows(v.market(2, EV_TRADE, BUY, 5, 1, 0)) == []
    assert v.resync_counters()["added"] == 0 and l3_validate(v.book) == 0
    assert v.market_top(2).tolist() == [5, 10, 1, 10, NO_PRICE, 0, NO_PRICE, 0]
