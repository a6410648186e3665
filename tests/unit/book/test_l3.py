"""L3 market-by-order book: operations, FIFO queues, growth, error codes, top-N, and invariants (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hft.book.l3 import (
    ERR_ANON_EXCEEDS,
    ERR_BAD_QTY,
    ERR_BAD_SIDE,
    ERR_DUPLICATE_ID,
    ERR_QTY_EXCEEDS,
    ERR_UNKNOWN_ORDER,
    NEED_LEVEL_RANGE,
    NEED_ORDER_CAPACITY,
    OK,
    l3_add,
    l3_cancel,
    l3_delete,
    l3_drop_level_orders,
    l3_grow_levels,
    l3_grow_orders,
    l3_remove_anon,
    new_l3_book,
)
from hft.book.l3_replay import REPLAY_COUNTERS, L3OrderBook, l3_replay
from hft.book.topn import topn_side
from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_DELETE,
    EV_EXEC,
    EV_HIDDEN_EXEC,
    EVENT_DTYPE,
    NO_PRICE,
    SELL,
)
from hft.core.errors import DataValidationError


def test_add_cancel_execute_delete_keep_level_totals_and_best_prices() -> None:
    b = L3OrderBook(base_price=1000, n_levels=64)
    b.add(1, BUY, 1010, 100)
    b.add(2, BUY, 1010, 50)
    b.add(3, BUY, 1008, 70)
    b.add(4, SELL, 1012, 30)
    b.add(5, SELL, 1015, 40)
    assert (b.best_bid(), b.best_ask()) == (1010, 1012)
    assert b.level_qty(BUY, 1010) == 150
    b.cancel(1, 40)
    b.execute(2, 50)  # fully filled: leaves the book
    assert b.order_qty(2) == -1
    assert b.level_qty(BUY, 1010) == 60
    b.delete(1)
    assert b.best_bid() == 1008  # best level emptied: scanned down to the next one
    b.delete(4)
    assert b.best_ask() == 1015
    assert len(b) == 2
    assert b.validate() == 0


def test_fifo_order_and_quantity_ahead_include_anonymous_front_quantity() -> None:
    b = L3OrderBook(base_price=100, n_levels=32)
    b.add_anon(SELL, 110, 25)  # liquidity from before the recording: ahead of every known order
    for oid, qty in ((7, 10), (8, 20), (9, 30)):
        b.add(oid, SELL, 110, qty)
    assert b.level_orders(SELL, 110) == [7, 8, 9]
    assert [b.queue_ahead(o) for o in (7, 8, 9)] == [25, 35, 55]
    b.cancel(8, 5)  # a partial cancel keeps the queue place
    assert b.level_orders(SELL, 110) == [7, 8, 9]
    assert b.queue_ahead(9) == 50
    b.remove_anon(SELL, 110, 25)
    b.delete(7)
    assert b.queue_ahead(8) == 0 and b.queue_ahead(9) == 15
    assert b.queue_ahead(12345) == -1
    assert b.level_qty(SELL, 110) == 45 and b.level_anon(SELL, 110) == 0
    assert b.validate() == 0


def test_kernels_return_status_codes_and_never_raise() -> None:
    book = new_l3_book(base_price=0, n_levels=16, order_capacity=16)
    assert l3_add(book, 1, BUY, 5, 10) == OK
    assert l3_add(book, 1, BUY, 5, 10) == ERR_DUPLICATE_ID
    assert l3_add(book, 2, 0, 5, 10) == ERR_BAD_SIDE
    assert l3_add(book, 2, BUY, 5, 0) == ERR_BAD_QTY
    assert l3_add(book, 2, BUY, 99, 10) == NEED_LEVEL_RANGE
    assert l3_cancel(book, 42, 1) == ERR_UNKNOWN_ORDER
    assert l3_cancel(book, 1, 11) == ERR_QTY_EXCEEDS
    assert l3_delete(book, 42) == ERR_UNKNOWN_ORDER
    assert l3_remove_anon(book, BUY, 5, 1) == ERR_ANON_EXCEEDS
    for oid in range(2, 17):
        assert l3_add(book, oid, SELL, 10, 1) == OK
    assert l3_add(book, 99, SELL, 10, 1) == NEED_ORDER_CAPACITY


def test_wrapper_raises_data_validation_error_naming_the_operation() -> None:
    b = L3OrderBook()
    b.add(1, BUY, 10, 5)
    with pytest.raises(DataValidationError, match="duplicate_id"):
        b.add(1, BUY, 10, 5)
    with pytest.raises(DataValidationError, match=r"cancel\(oid=1, qty=6\).*qty_exceeds_remaining"):
        b.cancel(1, 6)
    with pytest.raises(DataValidationError, match="unknown_order"):
        b.delete(2)


def test_growth_keeps_orders_queues_and_recentres_levels() -> None:
    book = new_l3_book(base_price=1000, n_levels=16, order_capacity=16)
    for oid in range(16):
        assert l3_add(book, oid, BUY, 1000 + oid % 4, 10 + oid) == OK
    book = l3_grow_orders(book)
    assert book.o_id.shape[0] == 32
    assert l3_add(book, 100, BUY, 1001, 5) == OK
    book = l3_grow_levels(book, 900)  # below the range: grows and re-centres downwards
    base = int(book.meta[0])
    assert base <= 900 and base + book.lv_qty.shape[1] > 1015
    assert l3_add(book, 101, SELL, 900, 1) == OK
    book = l3_grow_levels(book, 5000)  # above the range
    assert l3_add(book, 102, SELL, 5000, 1) == OK
    w = L3OrderBook()
    w.state = book
    assert w.validate() == 0
    assert w.level_orders(BUY, 1001) == [1, 5, 9, 13, 100]
    assert w.best_bid() == 1003 and w.best_ask() == 900


def test_wrapper_grows_for_far_prices_and_many_orders() -> None:
    b = L3OrderBook(base_price=0, n_levels=16, order_capacity=16)
    for oid in range(500):
        b.add(oid, SELL if oid % 2 else BUY, (oid * 37) % 3000 - 1500, 1 + oid % 7)
    assert len(b) == 500 and b.validate() == 0
    for oid in range(0, 500, 3):
        b.delete(oid)
    assert b.validate() == 0


def test_drop_level_orders_turns_known_orders_into_anonymous_quantity() -> None:
    b = L3OrderBook(base_price=0, n_levels=32)
    b.add_anon(BUY, 10, 5)
    b.add(1, BUY, 10, 7)
    b.add(2, BUY, 10, 8)
    assert l3_drop_level_orders(b.state, BUY, 10) == 2
    assert b.level_qty(BUY, 10) == 20 and b.level_anon(BUY, 10) == 20
    assert b.order_qty(1) == -1 and b.level_orders(BUY, 10) == []
    assert b.validate() == 0


def test_topn_snapshot_layout_and_sentinels() -> None:
    b = L3OrderBook(base_price=100, n_levels=64)
    b.add(1, BUY, 120, 10)
    b.add(2, BUY, 118, 20)
    b.add(3, SELL, 123, 5)
    row = b.top(3)
    assert row.tolist() == [123, 5, 120, 10, NO_PRICE, 0, 118, 20, NO_PRICE, 0, NO_PRICE, 0]
    px = np.empty(3, np.int64)
    qty = np.empty(3, np.int64)
    state = b.state
    filled = topn_side(state.lv_qty[0], int(state.meta[1]), -1, int(state.meta[0]), 3, px, qty)
    assert filled == 2 and px.tolist() == [120, 118, NO_PRICE] and qty.tolist() == [10, 20, 0]
    empty = L3OrderBook().top(2)
    assert empty.tolist() == [NO_PRICE, 0, NO_PRICE, 0] * 2


def test_hash_table_survives_heavy_churn_of_colliding_ids() -> None:
    b = L3OrderBook(base_price=0, n_levels=16, order_capacity=16)
    ids = [k << 20 for k in range(300)] + list(range(1, 300))  # multiples of a power of two, then small ids
    for i, oid in enumerate(ids):
        b.add(oid, BUY, i % 10, 1 + i % 3)
    for oid in ids[::2]:
        b.delete(oid)
    for oid in ids[1::2]:
        assert b.order_qty(oid) > 0
    for oid in ids[::2]:
        assert b.order_qty(oid) == -1
    assert b.validate() == 0


def test_replay_applies_a_whole_event_array_in_one_call_and_grows() -> None:
    rows = [  # kind, side, price, qty, order_id
        (EV_ADD, BUY, 1000, 10, 1), (EV_ADD, BUY, 1000, 20, 2), (EV_ADD, SELL, 9000, 5, 3),  # far: grows
        (EV_CANCEL, BUY, 1000, 4, 1), (EV_HIDDEN_EXEC, BUY, 1000, 99, 0), (EV_EXEC, BUY, 1000, 20, 2),
        (EV_DELETE, SELL, 9000, 5, 77),  # unknown id: removes anonymous quantity (none here: clipped)
    ] + [(EV_ADD, SELL, 2000 + i, 1, 100 + i) for i in range(40)]  # more orders than the capacity
    ev = np.zeros(len(rows), EVENT_DTYPE)
    for i, (kind, side, price, qty, oid) in enumerate(rows):
        ev[i] = (0, 0, price, qty, oid, i, kind, side, 1)
    counters = np.zeros(REPLAY_COUNTERS, np.int64)
    state = l3_replay(new_l3_book(1000, 16, 16), ev["kind"], ev["side"], ev["price"], ev["qty"],
                      ev["order_id"], counters)
    book = L3OrderBook()
    book.state = state
    assert counters[:5].tolist() == [46, 1, 1, 0, 0]  # applied, unknown, clipped, rejected, status
    assert book.validate() == 0
    assert book.level_orders(BUY, 1000) == [1] and book.order_qty(1) == 6 and book.order_qty(2) == -1
    assert book.best_ask() == 2000 and book.level_qty(SELL, 9000) == 5 and len(book) == 42


# --- property tests ----------------------------------------------------------------------------------------

_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 40), st.sampled_from([BUY, SELL]), st.integers(-20, 20),
                  st.integers(1, 50)),
        st.tuples(st.just("cancel"), st.integers(0, 40), st.integers(1, 60)),
        st.tuples(st.just("delete"), st.integers(0, 40)),
        st.tuples(st.just("anon"), st.sampled_from([BUY, SELL]), st.integers(-20, 20), st.integers(-30, 30)),
        st.tuples(st.just("drop"), st.sampled_from([BUY, SELL]), st.integers(-20, 20)),
    ),
    max_size=120,
)


class _Model:
    """Pure-Python reference: per (side, price) an anonymous quantity and a FIFO list of [id, qty]."""

    def __init__(self) -> None:
        self.anon: dict[tuple[int, int], int] = {}
        self.queues: dict[tuple[int, int], list[list[int]]] = {}
        self.where: dict[int, tuple[int, int]] = {}

    def total(self, key: tuple[int, int]) -> int:
        return self.anon.get(key, 0) + sum(q for _, q in self.queues.get(key, []))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_ops)
def test_l3_invariants_hold_under_random_operations(ops: list[tuple]) -> None:
    book = L3OrderBook(base_price=-4, n_levels=16, order_capacity=16)  # small: forces growth both ways
    model = _Model()
    for op in ops:
        if op[0] == "add":
            _, oid, side, price, qty = op
            if oid in model.where:
                with pytest.raises(DataValidationError):
                    book.add(oid, side, price, qty)
                continue
            book.add(oid, side, price, qty)
            model.queues.setdefault((side, price), []).append([oid, qty])
            model.where[oid] = (side, price)
        elif op[0] == "cancel":
            _, oid, qty = op
            if oid not in model.where:
                with pytest.raises(DataValidationError):
                    book.cancel(oid, qty)
                continue
            queue = model.queues[model.where[oid]]
            entry = next(e for e in queue if e[0] == oid)
            if qty > entry[1]:
                with pytest.raises(DataValidationError):
                    book.cancel(oid, qty)
                continue
            book.cancel(oid, qty)
            entry[1] -= qty
            if entry[1] == 0:
                queue.remove(entry)
                del model.where[oid]
        elif op[0] == "delete":
            _, oid = op
            if oid not in model.where:
                with pytest.raises(DataValidationError):
                    book.delete(oid)
                continue
            book.delete(oid)
            queue = model.queues[model.where.pop(oid)]
            queue[:] = [e for e in queue if e[0] != oid]
        elif op[0] == "anon":
            _, side, price, qty = op
            key = (side, price)
            if qty > 0:
                book.add_anon(side, price, qty)
                model.anon[key] = model.anon.get(key, 0) + qty
            elif qty < 0 and -qty <= model.anon.get(key, 0):
                book.remove_anon(side, price, -qty)
                model.anon[key] += qty
        else:
            _, side, price = op
            l3_drop_level_orders(book.state, side, price)
            key = (side, price)
            for oid, qty in model.queues.pop(key, []):
                model.anon[key] = model.anon.get(key, 0) + qty
                del model.where[oid]

        assert book.validate() == 0  # totals == anon + orders, no negative qty, FIFO links, hash, best prices
    for (side, price), queue in model.queues.items():
        assert book.level_orders(side, price) == [oid for oid, _ in queue]  # FIFO order
        ahead = model.anon.get((side, price), 0)
        for oid, qty in queue:
            assert book.queue_ahead(oid) == ahead
            assert book.order_qty(oid) == qty > 0
            ahead += qty
    keys = set(model.queues) | set(model.anon)
    for side, price in keys:
        assert book.level_qty(side, price) == model.total((side, price)) >= 0
        assert book.level_anon(side, price) == model.anon.get((side, price), 0) >= 0
    bids = [p for (s, p) in keys if s == BUY and model.total((s, p)) > 0]
    asks = [p for (s, p) in keys if s == SELL and model.total((s, p)) > 0]
    assert book.best_bid() == (max(bids) if bids else NO_PRICE)
    assert book.best_ask() == (min(asks) if asks else NO_PRICE)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 70), st.lists(st.integers(0, 69), max_size=8), st.integers(0, 3), st.data())
def test_next_level_scans_find_the_nearest_non_empty_level(n: int, filled: list[int], q: int, data) -> None:
    """`level_below` / `level_above` (eight levels per test) find what a level-by-level scan finds, on sparse rows."""
    from hft.book.l3 import level_above, level_below

    qty = np.zeros(2 * n, dtype=np.int64)  # the bid row, then the ask row
    for k in filled:
        if k < n:
            qty[k] = q + 1
            qty[n + (n - 1 - k)] = q + 2
    i = data.draw(st.integers(-1, n))

    def below(i: int) -> int:
        while i >= 0 and qty[i] == 0:
            i -= 1
        return i

    def above(i: int) -> int:
        while i < n and qty[n + i] == 0:
            i += 1
        return i if i < n else -1

    if i < n:
        assert level_below(qty, i) == below(i)
    if i >= 0:
        assert level_above(qty, n, i) == above(i)
