"""The L3 simulated venue (`hft.sim.exchange_l3`): hand-computed cases for every rule, invariants, real data."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.book.l3 import ASK, BID, M_BASE, L3Book, new_l3_book
from hft.book.l3_replay import R_STATUS, REPLAY_COUNTERS, l3_replay, l3_validate
from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_CLEAR,
    EV_DELETE,
    EV_EXEC,
    EV_HIDDEN_EXEC,
    EV_TRADE,
    NO_PRICE,
    SELL,
)
from hft.core.errors import SimError
from hft.core.orders import (
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_POST_ONLY,
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_KIND_NAMES,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    TIF_FOK,
    TIF_GTC,
    TIF_IOC,
)
from hft.sim.exchange_l2 import LIQUIDITY_NAMES
from hft.sim.exchange_l3 import (
    MODE_ALL_OR_NONE,
    MODE_NO_PARTIAL_FILL,
    MODE_PARTIAL_FILL,
    OWN_KEY_BASE,
    OWN_KEY_LIMIT,
    L3Venue,
)
from hft.sim.fees import FeeSchedule

LIM, MKT, PO = ORDER_LIMIT, ORDER_MARKET, ORDER_POST_ONLY
FEES = FeeSchedule(-200, 500, 0)  # maker -2 bp, taker +5 bp


def venue(mode=MODE_PARTIAL_FILL, bids=((1000, 10), (999, 10)), asks=((1001, 10), (1002, 10)), fees=FEES):
    v = L3Venue(new_l3_book(900, 256, 16), mode, fees, capacity=4)
    for p, q in bids:
        v.seed_level(BUY, p, q)
    for p, q in asks:
        v.seed_level(SELL, p, q)
    return v


def rows(reps):
    """(kind, id, price, qty, leaves, liquidity, exact fee) per report."""
    return [(REPORT_KIND_NAMES[int(r["kind"])], int(r["order_id"]), int(r["price"]), int(r["qty"]),
             int(r["leaves"]), LIQUIDITY_NAMES[int(r["liquidity"])],
             int(r["fee"]) + Fraction(int(r["fee_frac"]), 1_000_000)) for r in reps]


def queue(v: L3Venue, side: int, price: int) -> list[int | str]:
    """A level's queue front to back: 'anon:<qty>' first when there is anonymous quantity, then market ids as
    ints and our orders as 'own:<oid>'."""
    b = v.book
    row = BID if side == BUY else ASK
    idx = price - int(b.meta[M_BASE])
    out: list[int | str] = []
    if int(b.lv_anon[row, idx]) > 0:
        out.append(f"anon:{int(b.lv_anon[row, idx])}")
    keys = {int(r[1]): int(r[0]) for r in v.orders[: int(v.params[7])]}
    s = int(b.lv_head[row, idx])
    while s >= 0:
        k = int(b.o_id[s])
        out.append(f"own:{keys[k]}" if OWN_KEY_BASE <= k < OWN_KEY_LIMIT else k)
        s = int(b.o_next[s])
    return out


def level(v: L3Venue, side: int, price: int) -> int:
    b = v.book
    return int(b.lv_qty[BID if side == BUY else ASK, price - int(b.meta[M_BASE])])


# ------------------------------------------------------------------------------------- hand-computed cases


def test_join_behind_the_queue_and_executions_ahead_reduce_it():
    v = venue()
    assert rows(v.market(1, EV_ADD, BUY, 1000, 5, 1)) == []
    assert rows(v.new(2, 7, BUY, 1000, 4, LIM, TIF_GTC)) == [("ack", 7, 1000, 0, 4, "", 0)]
    v.market(3, EV_ADD, BUY, 1000, 3, 2)
    assert queue(v, BUY, 1000) == ["anon:10", 1, "own:7", 2]
    assert v.queue_ahead(7) == 15 and v.working()[7]["front"] == 15
    # executions / cancels ahead of us only move us forward
    assert rows(v.market(4, EV_EXEC, BUY, 1000, 6, 999)) == []  # unknown id: anonymous quantity (front)
    assert v.queue_ahead(7) == 9
    assert rows(v.market(5, EV_EXEC, BUY, 1000, 3, 1)) == []
    assert v.queue_ahead(7) == 6
    assert rows(v.market(6, EV_CANCEL, BUY, 1000, 1, 1)) == []
    assert rows(v.market(7, EV_DELETE, BUY, 1000, 1, 1)) == []
    assert v.queue_ahead(7) == 4 and queue(v, BUY, 1000) == ["anon:4", "own:7", 2]
    assert level(v, BUY, 1000) == 4 + 4 + 3  # our order is in the level's queue


def test_execution_of_an_order_behind_ours_fills_us_first():
    v = venue()
    v.new(1, 7, BUY, 1000, 4, LIM, TIF_GTC)
    v.market(2, EV_ADD, BUY, 1000, 3, 2)
    # the aggressor traded through our 4 before reaching order 2: we fill 3 (fee 3000 * -200 / 1e6 = -0.6, exactly)
    assert rows(v.market(3, EV_EXEC, BUY, 1000, 3, 2)) == [("partial_fill", 7, 1000, 3, 1, "maker", Fraction("-0.6"))]
    # exogenous replay: order 2 is executed as the data says (and gone), ours keeps its place
    assert queue(v, BUY, 1000) == ["anon:10", "own:7"]
    v.market(4, EV_ADD, BUY, 1000, 5, 3)
    assert rows(v.market(5, EV_EXEC, BUY, 1000, 5, 3)) == [("fill", 7, 1000, 1, 0, "maker", Fraction("-0.2"))]
    assert queue(v, BUY, 1000) == ["anon:10"] and v.working() == {} and v.position == 4
    # the same on the sell side, with two of ours ahead of the executed order: FIFO among ours
    v.new(6, 8, SELL, 1001, 2, LIM, TIF_GTC)
    v.new(6, 9, SELL, 1001, 2, LIM, TIF_GTC)
    v.market(7, EV_ADD, SELL, 1001, 9, 4)
    assert rows(v.market(8, EV_EXEC, SELL, 1001, 3, 4)) == [("fill", 8, 1001, 2, 0, "maker", Fraction("-0.4004")),
                                                          ("partial_fill", 9, 1001, 1, 1, "maker", Fraction("-0.2002"))]
    assert queue(v, SELL, 1001) == ["anon:10", "own:9", 4] and level(v, SELL, 1001) == 10 + 1 + 6
    assert v.position == 4 - 3


def test_execution_at_a_worse_price_trades_through_us():
    v = venue(asks=((1002, 10),))
    v.new(1, 7, BUY, 1001, 5, LIM, TIF_GTC)  # improves the bid
    # a seller hit the 1000 bid (anonymous): it must have hit our 1001 first
    assert rows(v.market(2, EV_EXEC, BUY, 1000, 3, 555)) == [("partial_fill", 7, 1001, 3, 2, "maker", Fraction("-0.6006"))]
    assert v.book.lv_anon[BID, 1000 - int(v.book.meta[M_BASE])] == 7  # the data's execution still applies
    assert rows(v.market(3, EV_HIDDEN_EXEC, BUY, 1000, 50, 0)) == []  # hidden executions never fill us
    assert rows(v.market(3, EV_TRADE, 0, 1000, 50, 0)) == []  # cross trades neither


@pytest.mark.parametrize("mode", [MODE_NO_PARTIAL_FILL, MODE_ALL_OR_NONE])
def test_whole_fill_modes_fill_whole_order_once_reached(mode):
    v = venue(mode=mode)
    v.new(1, 7, BUY, 1000, 4, LIM, TIF_GTC)
    v.market(2, EV_ADD, BUY, 1000, 3, 2)
    assert rows(v.market(3, EV_EXEC, BUY, 1000, 1, 2)) == [("fill", 7, 1000, 4, 0, "maker", Fraction("-0.8"))]
    assert queue(v, BUY, 1000) == ["anon:10", 2]  # order 2 executed 1 of 3 as the data says


def test_no_partial_fill_mode_is_the_peers_taker():
    """hftbacktest's NoPartialFillExchange: a marketable order fills whole at the best level, whatever it shows
    and whatever its TIF, consuming nothing (the next order sees the same level)."""
    v = venue(mode=MODE_NO_PARTIAL_FILL)
    assert rows(v.new(4, 8, BUY, 1002, 11, LIM, TIF_GTC)) == [("ack", 8, 1002, 0, 11, "", 0),
                                                              ("fill", 8, 1001, 11, 0, "taker", Fraction("5.5055"))]
    assert rows(v.new(5, 9, BUY, 1002, 10, LIM, TIF_IOC))[1:] == [("fill", 9, 1001, 10, 0, "taker", Fraction("5.005"))]
    assert v.working() == {} and v.position == 21


def test_all_or_none_mode_taker_fills_whole_or_expires():
    v = venue(mode=MODE_ALL_OR_NONE)
    # taker: fills entirely at the effective best level, or expires
    assert rows(v.new(4, 8, BUY, 1002, 11, LIM, TIF_GTC)) == [("ack", 8, 1002, 0, 11, "", 0),
                                                              ("expired", 8, 1002, 0, 0, "", 0)]
    assert rows(v.new(5, 9, BUY, 1002, 10, LIM, TIF_GTC)) == [("ack", 9, 1002, 0, 10, "", 0),
                                                              ("fill", 9, 1001, 10, 0, "taker", Fraction("5.005"))]


def test_cancel_and_cancel_race():
    v = venue()
    v.new(1, 7, BUY, 1000, 4, LIM, TIF_GTC)
    v.market(2, EV_ADD, BUY, 1000, 3, 2)
    assert rows(v.cancel(3, 7)) == [("canceled", 7, 1000, 0, 0, "", 0)]
    assert queue(v, BUY, 1000) == ["anon:10", 2]
    assert rows(v.market(4, EV_EXEC, BUY, 1000, 3, 2)) == []  # no fill after the cancel
    assert rows(v.cancel(5, 7)) == [("cancel_rejected", 7, 0, 0, 0, "", 0)]
    # the fill wins the race: the cancel arrives after the order filled
    v.new(6, 8, SELL, 1001, 2, LIM, TIF_GTC)
    v.market(7, EV_ADD, SELL, 1001, 5, 3)
    assert rows(v.market(8, EV_EXEC, SELL, 1001, 5, 3))[0][:5] == ("fill", 8, 1001, 2, 0)
    assert rows(v.cancel(9, 8)) == [("cancel_rejected", 8, 0, 0, 0, "", 0)]
    assert rows(v.cancel(9, 12345)) == [("cancel_rejected", 12345, 0, 0, 0, "", 0)]


def test_crossing_add_fills_our_resting_orders():
    v = venue(asks=((1002, 10),))
    v.new(1, 7, BUY, 1001, 5, LIM, TIF_GTC)
    v.new(2, 8, BUY, 1001, 2, LIM, TIF_GTC)
    v.new(2, 9, BUY, 1000, 2, LIM, TIF_GTC)
    # a displayed sell at 1001 would have matched our bids first: 6 lots, price-time priority, each at its price
    assert rows(v.market(3, EV_ADD, SELL, 1001, 6, 50)) == [("fill", 7, 1001, 5, 0, "maker", Fraction("-1.001")),
                                                          ("partial_fill", 8, 1001, 1, 1, "maker", Fraction("-0.2002"))]
    assert queue(v, SELL, 1001) == [50] and level(v, SELL, 1001) == 6  # the add rests in full (exogenous)
    # a sell add at 999 crosses 8 (1001) first, then 9 (1000)
    assert rows(v.market(4, EV_ADD, SELL, 999, 2, 51)) == [("fill", 8, 1001, 1, 0, "maker", Fraction("-0.2002")),
                                                         ("partial_fill", 9, 1000, 1, 1, "maker", Fraction("-0.2"))]
    # same-side adds never fill us; a buy add crossing our sell does
    v.new(5, 10, SELL, 1003, 3, LIM, TIF_GTC)
    assert rows(v.market(6, EV_ADD, SELL, 1003, 1, 52)) == []
    assert rows(v.market(7, EV_ADD, BUY, 1004, 9, 53)) == [("fill", 10, 1003, 3, 0, "maker", Fraction("-0.6018"))]


def test_marketable_orders_walk_the_visible_book_and_remember_consumption():
    v = venue()
    v.market(1, EV_ADD, SELL, 1002, 4, 5)
    # fees: 1001*10*500/1e6 = 5.005; 1002*5*500/1e6 = 2.505 (exact: nothing rounded per fill)
    assert rows(v.new(2, 8, BUY, 1002, 15, LIM, TIF_GTC)) == [("ack", 8, 1002, 0, 15, "", 0),
                                                              ("partial_fill", 8, 1001, 10, 5, "taker", Fraction("5.005")),
                                                              ("fill", 8, 1002, 5, 0, "taker", Fraction("2.505"))]
    assert level(v, SELL, 1001) == 10 and level(v, SELL, 1002) == 14  # exogenous: the book is unchanged
    # consumed: 1001 has 0 available, 1002 has 9; the IOC remainder expires (1002*9*500/1e6 = 4.509)
    assert rows(v.new(3, 9, BUY, 1002, 12, LIM, TIF_IOC)) == [("ack", 9, 1002, 0, 12, "", 0),
                                                              ("partial_fill", 9, 1002, 9, 3, "taker", Fraction("4.509")),
                                                              ("expired", 9, 1002, 0, 0, "", 0)]
    # the data executes 4 of the front (anonymous) lots we took: consumed 10 -> 6, still nothing available
    v.market(4, EV_EXEC, SELL, 1001, 4, 777)
    assert rows(v.new(5, 10, BUY, 1001, 1, LIM, TIF_IOC))[-1][0] == "expired"
    v.market(6, EV_ADD, SELL, 1001, 2, 6)  # new liquidity at the back is available
    assert rows(v.new(7, 11, BUY, 1001, 10, LIM, TIF_IOC))[1:] == [("partial_fill", 11, 1001, 2, 8, "taker", Fraction("1.001")),
                                                                  ("expired", 11, 1001, 0, 0, "", 0)]
    # a cancel of order 5 (lots 10..13 of 1002, all consumed) shrinks consumed 14 -> 10: nothing available
    v.market(8, EV_CANCEL, SELL, 1002, 4, 5)
    assert rows(v.new(9, 12, BUY, 1002, 1, LIM, TIF_IOC))[-1][0] == "expired"
    # a market order walks without limit, the rest expires; a limit buy rests behind the book it could not take
    v.market(10, EV_ADD, SELL, 1005, 3, 7)
    assert rows(v.new(11, 13, BUY, 0, 5, MKT, TIF_IOC))[1:] == [("partial_fill", 13, 1005, 3, 2, "taker", Fraction("1.5075")),
                                                                ("expired", 13, 0, 0, 0, "", 0)]
    assert v.position == 15 + 9 + 2 + 3


def test_marketable_limit_rests_its_remainder_at_the_back():
    v = venue()
    assert rows(v.new(1, 8, BUY, 1001, 12, LIM, TIF_GTC))[1:] == [("partial_fill", 8, 1001, 10, 2, "taker", Fraction("5.005"))]
    assert queue(v, BUY, 1001) == ["own:8"] and v.queue_ahead(8) == 0


def test_post_only_and_fok():
    v = venue()
    assert rows(v.new(1, 1, BUY, 1001, 1, PO, TIF_GTC)) == [("rejected", 1, 1001, 0, 0, "", 0)]
    assert rows(v.new(1, 2, BUY, 1000, 1, PO, TIF_GTC)) == [("ack", 2, 1000, 0, 1, "", 0)]
    assert rows(v.new(2, 3, SELL, 1002, 25, LIM, TIF_FOK)) == [("ack", 3, 1002, 0, 25, "", 0),
                                                               ("expired", 3, 1002, 0, 0, "", 0)]
    assert rows(v.new(2, 4, BUY, 1002, 21, LIM, TIF_FOK)) == [("ack", 4, 1002, 0, 21, "", 0),
                                                              ("expired", 4, 1002, 0, 0, "", 0)]
    assert [r[:5] for r in rows(v.new(3, 5, BUY, 1002, 20, LIM, TIF_FOK))] == [
        ("ack", 5, 1002, 0, 20), ("partial_fill", 5, 1001, 10, 10), ("fill", 5, 1002, 10, 0)]
    assert rows(v.new(4, 6, BUY, 1000, 0, LIM, TIF_GTC)) == [("rejected", 6, 1000, 0, 0, "", 0)]


def test_replace_keeps_or_loses_priority():
    v = venue()
    v.market(1, EV_ADD, BUY, 1000, 5, 1)
    v.new(2, 7, BUY, 1000, 5, LIM, TIF_GTC)
    v.market(3, EV_ADD, BUY, 1000, 3, 2)
    assert rows(v.replace(4, 7, 1000, 3)) == [("replaced", 7, 1000, 3, 3, "", 0)]
    assert queue(v, BUY, 1000) == ["anon:10", 1, "own:7", 2] and level(v, BUY, 1000) == 10 + 5 + 3 + 3
    assert rows(v.replace(5, 7, 1000, 4)) == [("replaced", 7, 1000, 4, 4, "", 0)]  # size up: back of the queue
    assert queue(v, BUY, 1000) == ["anon:10", 1, 2, "own:7"] and v.queue_ahead(7) == 18
    assert rows(v.replace(6, 7, 999, 4)) == [("replaced", 7, 999, 4, 4, "", 0)]
    assert queue(v, BUY, 999) == ["anon:10", "own:7"] and queue(v, BUY, 1000) == ["anon:10", 1, 2]
    assert rows(v.replace(7, 7, 1001, 4)) == [("replace_rejected", 7, 1001, 0, 4, "", 0)]  # would cross
    assert rows(v.replace(7, 7, 999, 0)) == [("replace_rejected", 7, 999, 0, 0, "", 0)]
    assert rows(v.replace(7, 99, 999, 1)) == [("replace_rejected", 99, 999, 0, 0, "", 0)]
    assert v.working()[7] == {"side": BUY, "price": 999, "leaves": 4, "filled": 0, "front": 10}
    # a replace after partial fills: qty is the new open size
    v.market(8, EV_ADD, BUY, 999, 2, 3)
    v.market(9, EV_EXEC, BUY, 999, 1, 3)
    assert rows(v.replace(10, 7, 999, 2)) == [("replaced", 7, 999, 2, 2, "", 0)]
    assert v.working()[7]["filled"] == 1 and queue(v, BUY, 999) == ["anon:10", "own:7", 3]


def test_clear_growth_and_bad_input():
    v = venue()
    v.new(1, 7, BUY, 1000, 4, LIM, TIF_GTC)
    v.market(2, EV_ADD, BUY, 1000, 3, 2)
    v.market(3, EV_CLEAR, BUY, 0, 0, 0)
    assert queue(v, BUY, 1000) == ["own:7"] and level(v, SELL, 1001) == 10
    v.market(4, EV_CLEAR, 0, 0, 0, 0)
    assert level(v, SELL, 1001) == 0 and v.queue_ahead(7) == 0
    # far prices grow the book (levels and order slots)
    for i in range(40):
        v.market(5, EV_ADD, SELL, 5000 + i, 1, 100 + i)
    v.new(6, 8, SELL, 20000, 1, LIM, TIF_GTC)
    assert v.working()[8]["front"] == 0 and level(v, SELL, 5039) == 1
    assert l3_validate(v.book) == 0
    with pytest.raises(SimError):
        v.market(7, EV_ADD, BUY, 1000, 1, OWN_KEY_BASE + 5)
    with pytest.raises(SimError):
        L3Venue(mode=7)
    with pytest.raises(SimError):
        v.seed_level(BUY, 1000, 0)
    v.market(8, EV_ADD, BUY, 1000, 1, 2)  # duplicate id (2 was cleared, so fine) ...
    v.market(8, EV_ADD, BUY, 1000, 1, 2)  # ... now a duplicate: counted, ignored
    v.market(8, EV_CANCEL, BUY, 1000, 5, 4242)  # unknown id, nothing anonymous: clipped
    assert v.counters() == {"unknown_refs": 1, "clipped": 1, "rejected": 1}


# ------------------------------------------------------------------------------------- invariants


def market_state(book: L3Book) -> dict[tuple[int, int], tuple[int, int, tuple[int, ...]]]:
    """(side, price) -> (market qty, anonymous qty, market ids front to back); our own orders left out."""
    out = {}
    base = int(book.meta[M_BASE])
    for row, side in ((BID, BUY), (ASK, SELL)):
        for idx in np.flatnonzero(book.lv_qty[row] > 0):
            ids, own = [], 0
            s = int(book.lv_head[row, idx])
            while s >= 0:
                k = int(book.o_id[s])
                if OWN_KEY_BASE <= k < OWN_KEY_LIMIT:
                    own += int(book.o_qty[s])
                else:
                    ids.append(k)
                s = int(book.o_next[s])
            q = int(book.lv_qty[row, idx]) - own
            if q > 0:
                out[(side, base + int(idx))] = (q, int(book.lv_anon[row, idx]), tuple(ids))
    return out


def replay_alone(seed: list[tuple[int, int, int]], events: list[tuple[int, int, int, int, int]]) -> L3Book:
    from hft.book.l3 import l3_add_anon

    book = new_l3_book(900, 256, 16)
    for side, price, qty in seed:
        assert l3_add_anon(book, side, price, qty) == 0
    arr = np.array(events, dtype=np.int64).reshape(-1, 5)
    counters = np.zeros(REPLAY_COUNTERS, np.int64)
    book = l3_replay(book, arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy(), arr[:, 3].copy(),
                     arr[:, 4].copy(), counters)
    assert counters[R_STATUS] == 0
    return book


class Checker:
    """Replays our reports and checks the per-order invariants."""

    FINAL = (REPORT_FILL, REPORT_CANCELED, REPORT_EXPIRED, REPORT_REJECTED)

    def __init__(self) -> None:
        self.total: dict[int, int] = {}
        self.filled: dict[int, int] = {}
        self.side: dict[int, int] = {}
        self.done: set[int] = set()
        self.position = 0
        self.fills = 0

    def new(self, oid: int, side: int, qty: int) -> None:
        self.total[oid] = qty
        self.filled[oid] = 0
        self.side[oid] = side

    def check(self, reps: np.ndarray) -> None:
        for r in reps:
            oid, kind = int(r["order_id"]), int(r["kind"])
            if kind in (REPORT_CANCEL_REJECTED, REPORT_REPLACE_REJECTED):
                continue
            assert oid not in self.done, f"report {REPORT_KIND_NAMES[kind]} after order {oid} finished"
            if kind in (REPORT_PARTIAL_FILL, REPORT_FILL):
                q = int(r["qty"])
                assert q > 0
                self.filled[oid] += q
                self.position += self.side[oid] * q
                self.fills += 1
                assert self.filled[oid] <= self.total[oid]
                assert int(r["leaves"]) == self.total[oid] - self.filled[oid]
                assert (kind == REPORT_FILL) == (int(r["leaves"]) == 0)
            elif kind == REPORT_REPLACED:
                self.total[oid] = self.filled[oid] + int(r["qty"])
            elif kind == REPORT_ACK:
                assert int(r["leaves"]) == self.total[oid]
            if kind in self.FINAL:
                self.done.add(oid)


SEED = [(BUY, 1000, 10), (BUY, 998, 5), (SELL, 1002, 10), (SELL, 1004, 5)]

_mkt = st.tuples(st.just("m"), st.sampled_from([EV_ADD, EV_ADD, EV_CANCEL, EV_DELETE, EV_EXEC, EV_EXEC,
                                                EV_HIDDEN_EXEC]),
                 st.sampled_from([BUY, SELL]), st.integers(-1, 6), st.integers(1, 6), st.integers(0, 30))
_own = st.tuples(st.just("o"), st.sampled_from(["new", "new", "cancel", "replace"]), st.sampled_from([BUY, SELL]),
                 st.integers(-2, 6), st.integers(1, 8), st.integers(0, 30),
                 st.sampled_from([(LIM, TIF_GTC), (LIM, TIF_GTC), (LIM, TIF_IOC), (LIM, TIF_FOK), (MKT, TIF_IOC),
                                  (PO, TIF_GTC)]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_mkt, _own), min_size=10, max_size=80), st.sampled_from([MODE_PARTIAL_FILL, MODE_NO_PARTIAL_FILL, MODE_ALL_OR_NONE]))
def test_invariants_and_exogenous_replay(ops, mode):
    v = venue(mode=mode, bids=[(p, q) for s, p, q in SEED if s == BUY], asks=[(p, q) for s, p, q in SEED
                                                                              if s == SELL])
    chk = Checker()
    live: dict[int, tuple[int, int, int]] = {}  # the market's orders, to draw realistic references
    events: list[tuple[int, int, int, int, int]] = []
    next_mid, next_oid = 1, 1
    for t, op in enumerate(ops):
        if op[0] == "m":
            _, kind, side, off, qty, pick = op
            price = 1000 - off if side == BUY else 1002 + off  # off < 0: a (rare) add crossing the spread
            if kind == EV_ADD:
                oid = next_mid
                next_mid += 1
                live[oid] = (side, price, qty)
            elif live and pick % 4 != 0:  # mostly a live order, sometimes an unknown id (anonymous quantity)
                oid = sorted(live)[pick % len(live)]
                side, price, q0 = live[oid]
                qty = min(qty, q0) if kind != EV_DELETE else q0
                if kind == EV_DELETE or qty == q0:
                    del live[oid]
                else:
                    live[oid] = (side, price, q0 - qty)
            else:
                oid = 10_000 + pick
            events.append((kind, side, price, qty, oid))
            chk.check(v.market(t, kind, side, price, qty, oid))
        else:
            _, what, side, off, qty, pick, (otype, tif) = op
            price = 1001 - off if side == BUY else 1001 + off  # at / inside / behind the touch, sometimes through
            target = 1 + pick % next_oid  # mostly one of ours (the newest may not exist: a cancel race)
            if what == "new":
                oid = next_oid
                next_oid += 1
                chk.new(oid, side, qty)
                chk.check(v.new(t, oid, side, price, qty, otype, tif))
            elif what == "cancel":
                chk.check(v.cancel(t, target))
            else:
                chk.check(v.replace(t, target, price, qty))
        assert v.position == chk.position
        for oid, w in v.working().items():
            assert w["filled"] + w["leaves"] == chk.total[oid] and w["filled"] == chk.filled[oid]
            assert w["front"] >= 0
        mkt = market_state(v.book)
        for side, price, c in v.cons[: int(v.params[6])]:  # consumed lots are a prefix of the market's
            assert 0 < c <= mkt.get((int(side), int(price)), (0,))[0]
    assert l3_validate(v.book) == 0
    # our orders leave no trace in the market's book: equal to the book rebuilt from the data alone
    alone = replay_alone(SEED, events) if events else replay_alone(SEED, [(EV_HIDDEN_EXEC, BUY, 1000, 1, 0)])
    assert market_state(v.book) == market_state(alone)
    for oid in list(v.working()):
        chk.check(v.cancel(len(ops), oid))
    assert v.working() == {}
    assert market_state(v.book) == market_state(alone)
    assert int(v.book.meta[3]) == int(alone.meta[3])  # no order of ours left in the book


# ------------------------------------------------------------------------------------- real LOBSTER data

LOBSTER = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"
N_EVENTS = 20_000


def _run_lobster(data, n: int) -> tuple[L3Venue, np.ndarray, Checker]:
    ev = data.events[: n + 1]
    v = L3Venue(new_l3_book(int(data.reference[0, 0]) - 2000, 4096, 4096), MODE_PARTIAL_FILL, FEES)
    v.seed_reference(data.reference[0])
    chk = Checker()
    reports = []
    next_oid = 1
    working: list[int] = []
    for k in range(1, n + 1):
        e = ev[k]
        now = int(e["exch_ts"])
        if k % 2500 == 1:  # requote a few resting orders of ours at and behind the touch
            for oid in working:
                reps = v.cancel(now, oid)
                chk.check(reps)
                reports.append(reps)
            working = []
            bb, ba = int(data.reference[k - 1, 2]), int(data.reference[k - 1, 0])
            for side, price, qty in ((BUY, bb, 100), (BUY, bb - 1, 50), (SELL, ba, 100), (SELL, ba + 2, 50)):
                chk.new(next_oid, side, qty)
                reps = v.new(now, next_oid, side, price, qty, PO, TIF_GTC)
                chk.check(reps)
                reports.append(reps)
                working.append(next_oid)
                next_oid += 1
        reps = v.market(now, int(e["kind"]), int(e["side"]), int(e["price"]), int(e["qty"]), int(e["order_id"]))
        chk.check(reps)
        reports.append(reps)
        assert v.position == chk.position
    return v, np.concatenate(reports), chk


@pytest.mark.shared_data
def test_lobster_day_invariants_and_determinism(shared_data: Path):
    from hft.data.lobster import import_lobster

    data = import_lobster(shared_data / LOBSTER)
    v1, reps1, chk = _run_lobster(data, N_EVENTS)
    assert chk.fills > 0 and l3_validate(v1.book) == 0
    for oid, w in v1.working().items():
        assert w["filled"] + w["leaves"] == chk.total[oid] and w["front"] >= 0
    # determinism: a second run gives identical reports (field by field: np.concatenate leaves the dtype's
    # padding bytes uninitialised, so raw bytes of concatenated reports are not comparable)
    v2, reps2, _ = _run_lobster(data, N_EVENTS)
    assert len(reps1) == len(reps2) and all(np.array_equal(reps1[f], reps2[f]) for f in reps1.dtype.names)
    assert v1.position == v2.position and market_state(v1.book) == market_state(v2.book)
    # exogenous replay: the market's book equals the one rebuilt from the data alone
    from hft.book.l3 import l3_add_anon

    alone = new_l3_book(int(data.reference[0, 0]) - 2000, 4096, 4096)
    row = data.reference[0]
    for lv in range(data.levels):
        ap, asz, bp, bsz = (int(x) for x in row[4 * lv: 4 * lv + 4])
        if ap != NO_PRICE and asz > 0:
            assert l3_add_anon(alone, SELL, ap, asz) == 0
        if bp != NO_PRICE and bsz > 0:
            assert l3_add_anon(alone, BUY, bp, bsz) == 0
    ev = data.events[1: N_EVENTS + 1]
    counters = np.zeros(REPLAY_COUNTERS, np.int64)
    alone = l3_replay(alone, np.ascontiguousarray(ev["kind"]).astype(np.int64),
                      np.ascontiguousarray(ev["side"]).astype(np.int64), np.ascontiguousarray(ev["price"]),
                      np.ascontiguousarray(ev["qty"]), np.ascontiguousarray(ev["order_id"]), counters)
    assert counters[R_STATUS] == 0
    assert market_state(v1.book) == market_state(alone)
    assert v1.counters()["unknown_refs"] == int(counters[1])


def test_ack_carries_the_exact_queue_ahead_at_entry():
    """On L3 the ACK reports the exact quantity ahead of the order when it joined its FIFO (anonymous quantity,
    market orders and our earlier orders); -1 when it never rests."""
    v = venue()
    v.market(1, EV_ADD, BUY, 1000, 5, 1)
    assert [int(r["queue"]) for r in v.new(2, 7, BUY, 1000, 4, LIM, TIF_GTC)] == [15]
    assert [int(r["queue"]) for r in v.new(3, 8, BUY, 1000, 2, LIM, TIF_GTC)] == [19]  # behind our first
    assert v.queue_ahead(8) == 19
    fok = v.new(4, 9, BUY, 1001, 50, LIM, TIF_FOK)
    assert {int(r["queue"]) for r in fok} == {-1}
