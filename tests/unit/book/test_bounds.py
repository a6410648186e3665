"""The books at the edges of int64 (the undefined-behaviour audit, issue 50), each against a pure-Python oracle:
order ids anywhere in int64 (the L3 hash), prices near +-2**63 and at the edge of the price domain (the level
index, growth), level totals at `QTY_MAX`, and `l3_validate` on a broken book (it must not read out of range).

Run under every CPU target (`NUMBA_CPU_NAME`) and with ``NUMBA_BOUNDSCHECK=1``: these are the inputs where code that
relied on int64 wrap-around would answer differently per target."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numba import njit
from numba.core.errors import TypingError

from hft.book import l2
from hft.book.l3 import (
    ERR_QTY_LIMIT,
    M_BASE,
    OK,
    PRICE_LIMIT,
    QTY_MAX,
    STATUS_NAMES,
    _home,
    l3_add,
    l3_add_anon,
    l3_drop_level_orders,
    l3_grow_levels,
    new_l3_book,
    ptr,
)
from hft.book.l3_replay import REPLAY_COUNTERS, L3OrderBook, l3_replay
from hft.book.topn import level_index
from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_DELETE,
    EV_EXEC,
    EV_HIDDEN_EXEC,
    EV_LEVEL_SET,
    EV_TRADE,
    EVENT_DTYPE,
    NO_PRICE,
    SELL,
    empty_events,
)
from hft.core.errors import DataValidationError

I64_MIN, I64_MAX = -(2**63), 2**63 - 1
M64 = 2**64 - 1
FIB = 0x9E3779B97F4A7C15

# order ids that an int64 multiply would overflow on, the own / resync key ranges of the L3 venue, and small ones
ID_POOL = [0, 1, -1, 2, 3, I64_MAX, I64_MIN, I64_MIN + 1, I64_MAX - 1, 1 << 62, -(1 << 62), -(1 << 62) + 1,
           -(1 << 62) + (1 << 61), 1 << 40, 3 << 40, 5 << 40, FIB - 2**64, 2**64 - FIB, 12_345_678_901_234_567]
# prices no level may have: outside the domain, or in it but 2**40 ticks from any book of the example
WILD = [I64_MAX, I64_MIN, I64_MIN + 1, I64_MAX - 1, PRICE_LIMIT + 1, -PRICE_LIMIT - 1]
CENTRES = [0, PRICE_LIMIT - 40, -PRICE_LIMIT + 40, 10**12]  # +-60 around an edge centre leaves the domain
QTYS = st.one_of(st.integers(1, 50), st.sampled_from([QTY_MAX, QTY_MAX - 1, QTY_MAX // 2 + 1, I64_MAX, 0]))


def _in_domain(p: int) -> bool:
    return -PRICE_LIMIT <= p <= PRICE_LIMIT


# --- the hash and the level index -------------------------------------------------------------------------


def test_home_cell_is_the_fibonacci_hash_modulo_2_64() -> None:
    """`_home` = ((key * 0x9E3779B97F4A7C15) mod 2**64, xor its 29-bit shift) & mask, for ids anywhere in int64."""
    rng = np.random.default_rng(7)
    keys = ID_POOL + [int(k) for k in rng.integers(I64_MIN, I64_MAX, 200, dtype=np.int64, endpoint=True)]
    for mask in (15, (1 << 20) - 1, (1 << 34) - 1):
        for k in keys:
            h = (k * FIB) & M64
            h ^= h >> 29
            assert _home(k, mask) == h & mask, (k, mask)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.integers(-PRICE_LIMIT, PRICE_LIMIT - 16), st.integers(1, 1 << 21))
def test_level_index_is_exact_for_any_int64_price(data, base: int, n: int) -> None:
    n = min(n, PRICE_LIMIT + 1 - base)  # the range stays inside the domain, as every book keeps it
    price = data.draw(st.one_of(st.integers(I64_MIN, I64_MAX), st.sampled_from([*WILD, NO_PRICE]),
                                st.integers(base - 3, base + 3), st.integers(base + n - 3, base + n + 3)))
    assert level_index(price, base, n) == (price - base if base <= price < base + n else -1)


def test_ptr_refuses_arrays_it_would_read_wrongly() -> None:
    """`ptr` types only for C-contiguous int64 arrays: a strided or float array does not compile."""

    @njit
    def second(a):
        return ptr(a)[1]

    assert second(np.arange(5, dtype=np.int64)) == 1
    with pytest.raises(TypingError):
        second(np.arange(6, dtype=np.int64)[::2])
    with pytest.raises(TypingError):
        second(np.zeros(3, dtype=np.float64))


# --- the L3 book against a dict of orders ------------------------------------------------------------------


class _Oracle:
    """Per (side, price): anonymous quantity and a FIFO list of [id, qty]; ids to their level."""

    def __init__(self) -> None:
        self.anon: dict[tuple[int, int], int] = {}
        self.queues: dict[tuple[int, int], list[list[int]]] = {}
        self.where: dict[int, tuple[int, int]] = {}

    def total(self, key: tuple[int, int]) -> int:
        return self.anon.get(key, 0) + sum(q for _, q in self.queues.get(key, []))

    def entry(self, oid: int) -> list[int]:
        return next(e for e in self.queues[self.where[oid]] if e[0] == oid)

    def reduce(self, oid: int, qty: int) -> None:
        e = self.entry(oid)
        e[1] -= qty
        if e[1] == 0:
            self.queues[self.where.pop(oid)].remove(e)

    def delete(self, oid: int) -> None:
        self.queues[self.where[oid]].remove(self.entry(oid))
        del self.where[oid]


def _assert_matches(book: L3OrderBook, o: _Oracle) -> None:
    assert book.validate() == 0
    assert len(book) == len(o.where)
    keys = set(o.queues) | set(o.anon)
    for side, price in keys:
        queue = o.queues.get((side, price), [])
        assert book.level_orders(side, price) == [oid for oid, _ in queue]
        ahead = o.anon.get((side, price), 0)
        for oid, qty in queue:
            assert book.queue_ahead(oid) == ahead and book.order_qty(oid) == qty > 0
            ahead += qty
        assert book.level_qty(side, price) == o.total((side, price)) <= QTY_MAX
        assert book.level_anon(side, price) == o.anon.get((side, price), 0)
    bids = [p for (s, p) in keys if s == BUY and o.total((s, p)) > 0]
    asks = [p for (s, p) in keys if s == SELL and o.total((s, p)) > 0]
    assert book.best_bid() == (max(bids) if bids else NO_PRICE)
    assert book.best_ask() == (min(asks) if asks else NO_PRICE)


def _price(centre: int):
    return st.one_of(st.integers(centre - 60, centre + 60), st.sampled_from(WILD),
                     st.sampled_from([centre - (1 << 40), centre + (1 << 40)]))


def _ops(centre: int):
    oid = st.one_of(st.sampled_from(ID_POOL), st.integers(-4, 4))
    side = st.sampled_from([BUY, SELL])
    return st.lists(st.one_of(
        st.tuples(st.just("add"), oid, side, _price(centre), QTYS),
        st.tuples(st.just("cancel"), oid, QTYS),
        st.tuples(st.just("delete"), oid),
        st.tuples(st.just("anon"), side, _price(centre), QTYS),
        st.tuples(st.just("unanon"), side, _price(centre), QTYS),
        st.tuples(st.just("drop"), side, _price(centre)),
    ), max_size=80)


def _placeable(centre: int, price: int) -> bool:
    """Can an example's book (growing around `centre`) give `price` a level?"""
    return _in_domain(price) and abs(price - centre) < 1 << 20  # drawn: within 60 ticks, or 2**40 away


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CENTRES).flatmap(lambda c: st.tuples(st.just(c), _ops(c))))
def test_l3_book_matches_a_dict_of_orders_at_int64_edges(case) -> None:
    """Every operation's outcome (applied, or which refusal) and the book after it equal the oracle's, with ids
    anywhere in int64, prices at the domain's edge and beyond, and level totals up to QTY_MAX."""
    centre, ops = case
    book = L3OrderBook(base_price=centre - 8, n_levels=16, order_capacity=16)  # small: growth both ways
    o = _Oracle()

    def expect(status: str | None, call) -> None:
        if status is None:
            call()
        else:
            with pytest.raises(DataValidationError) as e:
                call()
            assert e.value.fields["status"] == status

    for op in ops:
        if op[0] == "add":
            _, oid, side, price, qty = op
            key = (side, price)
            if not _placeable(centre, price):
                status = "price_out_of_range"
            elif qty <= 0:
                status = "bad_qty"
            elif qty > QTY_MAX - o.total(key):
                status = "level_qty_limit"
            elif oid in o.where:
                status = "duplicate_id"
            else:
                status = None
                o.queues.setdefault(key, []).append([oid, qty])
                o.where[oid] = key
            expect(status, lambda: book.add(oid, side, price, qty))  # noqa: B023
        elif op[0] == "cancel":
            _, oid, qty = op
            if qty <= 0:
                status = "bad_qty"
            elif oid not in o.where:
                status = "unknown_order"
            elif qty > o.entry(oid)[1]:
                status = "qty_exceeds_remaining"
            else:
                status = None
                o.reduce(oid, qty)
            expect(status, lambda: book.cancel(oid, qty))  # noqa: B023
        elif op[0] == "delete":
            _, oid = op
            status = None if oid in o.where else "unknown_order"
            if status is None:
                o.delete(oid)
            expect(status, lambda: book.delete(oid))  # noqa: B023
        elif op[0] == "anon":
            _, side, price, qty = op
            key = (side, price)
            if not _placeable(centre, price):
                status = "price_out_of_range"
            elif qty <= 0:
                status = "bad_qty"
            elif qty > QTY_MAX - o.total(key):
                status = "level_qty_limit"
            else:
                status = None
                o.anon[key] = o.anon.get(key, 0) + qty
            expect(status, lambda: book.add_anon(side, price, qty))  # noqa: B023
        elif op[0] == "unanon":
            _, side, price, qty = op
            key = (side, price)
            if qty <= 0:
                status = "bad_qty"
            elif qty > o.anon.get(key, 0):
                status = "qty_exceeds_anonymous"
            else:
                status = None
                o.anon[key] -= qty
            expect(status, lambda: book.remove_anon(side, price, qty))  # noqa: B023
        else:
            _, side, price = op
            key = (side, price)
            dropped = o.queues.pop(key, [])
            for oid, qty in dropped:
                o.anon[key] = o.anon.get(key, 0) + qty
                del o.where[oid]
            assert l3_drop_level_orders(book.state, side, price) == len(dropped)
        assert book.validate() == 0
    _assert_matches(book, o)


_KINDS = st.sampled_from([EV_ADD, EV_ADD, EV_CANCEL, EV_DELETE, EV_EXEC, EV_HIDDEN_EXEC, EV_TRADE])


def _events(centre: int):
    return st.lists(st.tuples(_KINDS, st.sampled_from([BUY, SELL, BUY, SELL, 0]), _price(centre),
                              st.one_of(st.integers(0, 50), st.sampled_from([QTY_MAX, QTY_MAX - 1, I64_MAX])),
                              st.one_of(st.sampled_from(ID_POOL), st.integers(-4, 4))), max_size=120)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CENTRES).flatmap(lambda c: st.tuples(st.just(c), _events(c))))
def test_l3_replay_matches_a_dict_of_orders_at_int64_edges(case) -> None:
    """`l3_replay` (the whole-stream driver, growing as it goes) against the oracle replaying the same rules:
    counters, where it stops (a price no level can have) and the book it leaves."""
    centre, rows = case
    o = _Oracle()
    applied = unknown = clipped = rejected = 0
    status = OK
    for kind, side, price, qty, oid in rows:
        if kind not in (EV_ADD, EV_CANCEL, EV_DELETE, EV_EXEC):
            continue
        if not _placeable(centre, price):
            status = 7  # ERR_PRICE_RANGE: the replay stops at this event
            break
        ok = True
        if kind == EV_ADD:
            key = (side, price)
            if side not in (BUY, SELL) or qty <= 0 or qty > QTY_MAX - o.total(key) or oid in o.where:
                ok = False
            else:
                o.queues.setdefault(key, []).append([oid, qty])
                o.where[oid] = key
        elif oid in o.where:
            left = o.entry(oid)[1]
            if kind == EV_DELETE or qty >= left:
                o.delete(oid)
            elif qty <= 0:
                ok = False
            else:
                o.reduce(oid, qty)
        else:
            unknown += 1
            if side not in (BUY, SELL):
                ok = False
            else:
                take = min(qty, o.anon.get((side, price), 0))
                clipped += take < qty
                if take > 0:
                    o.anon[(side, price)] -= take
        applied += ok
        rejected += not ok
    ev = np.zeros(len(rows), EVENT_DTYPE)
    for i, (kind, side, price, qty, oid) in enumerate(rows):
        ev[i] = (0, 0, price, qty, oid, i, kind, side, 0)
    counters = np.zeros(REPLAY_COUNTERS, np.int64)
    state = l3_replay(new_l3_book(centre - 8, 16, 16), ev["kind"], ev["side"], ev["price"], ev["qty"],
                      ev["order_id"], counters)
    assert counters[:5].tolist() == [applied, unknown, clipped, rejected, status]
    book = L3OrderBook()
    book.state = state
    _assert_matches(book, o)


# --- growth and construction at the domain's edge ------------------------------------------------------------


@pytest.mark.parametrize("edge", [PRICE_LIMIT, -PRICE_LIMIT])
def test_l3_growth_keeps_the_level_range_inside_the_price_domain(edge: int) -> None:
    sign = 1 if edge > 0 else -1
    base = edge - 20 if sign > 0 else edge + 5
    book = new_l3_book(base, 16, 16)
    assert l3_add(book, 7, BUY, base + 3, 5) == OK
    grown = l3_grow_levels(book, edge)  # the re-centred slack would pass the edge: moved inward
    lo, n = int(grown.meta[M_BASE]), grown.lv_qty.shape[1]
    assert n > 16 and lo >= -PRICE_LIMIT and lo + n - 1 <= PRICE_LIMIT and lo <= min(base, edge)
    assert max(base + 15, edge) <= lo + n - 1
    b = L3OrderBook()
    b.state = grown
    assert b.order_qty(7) == 5 and b.level_orders(BUY, base + 3) == [7] and b.validate() == 0
    b.add(8, SELL, edge, 1)  # the edge itself has a level
    assert b.best_ask() == edge
    for far in (edge + sign, I64_MAX, I64_MIN):  # past it: refused, the book unchanged
        same = l3_grow_levels(b.state, far)
        assert int(same.meta[M_BASE]) == lo and same.lv_qty.shape[1] == n
        with pytest.raises(DataValidationError, match="price_out_of_range"):
            b.add(9, SELL, far, 1)
    assert b.validate() == 0 and len(b) == 2


def test_new_l3_book_refuses_a_range_outside_the_domain() -> None:
    new_l3_book(PRICE_LIMIT - 15, 16)  # the last level is the domain's edge
    for base in (PRICE_LIMIT - 14, -PRICE_LIMIT - 1, I64_MAX - 100):
        with pytest.raises(DataValidationError, match="price range"):
            new_l3_book(base, 16)


def test_a_level_holds_at_most_qty_max_lots() -> None:
    book = new_l3_book(0, 16, 16)
    assert l3_add_anon(book, BUY, 5, QTY_MAX - 3) == OK
    assert l3_add(book, 1, BUY, 5, 3) == OK  # exactly QTY_MAX
    before = [a.copy() for a in book]
    assert l3_add(book, 2, BUY, 5, 1) == ERR_QTY_LIMIT
    assert l3_add_anon(book, BUY, 5, 1) == ERR_QTY_LIMIT
    assert l3_add(book, 3, BUY, 5, I64_MAX) == ERR_QTY_LIMIT
    assert all(np.array_equal(a, b) for a, b in zip(book, before, strict=True))  # refused: nothing changed
    assert STATUS_NAMES[ERR_QTY_LIMIT] == "level_qty_limit"
    b = L3OrderBook()
    b.state = book
    assert b.queue_ahead(1) == QTY_MAX - 3 and b.level_qty(BUY, 5) == QTY_MAX and b.validate() == 0


def test_validate_names_a_broken_link_or_hash_cell_without_reading_out_of_range() -> None:
    def fresh() -> L3OrderBook:
        b = L3OrderBook(base_price=0, n_levels=16, order_capacity=16)
        for k in range(5):
            b.add(k, BUY, 3, 1 + k)
        return b

    cap = fresh().state.o.shape[0]
    b = fresh()
    b.state.lv_head[0, 3] = 10**9  # a head far past the slots
    assert b.validate() == 8
    b = fresh()
    b.state.o_next[int(b.state.lv_head[0, 3])] = cap  # one past the last slot
    assert b.validate() == 8
    b = fresh()
    b.state.ht[:] = 0  # no empty cell: a probe would never end
    assert b.validate() == 8
    b = fresh()
    b.state.ht[int(np.flatnonzero(b.state.ht < 0)[0])] = cap + 3
    assert b.validate() == 8
    b = fresh()
    b.state.lv_qty[0, 3] = I64_MAX  # a total no sum of orders may form
    assert b.validate() == 8
    b = fresh()
    b.state.o_qty[int(b.state.lv_head[0, 3])] = I64_MAX  # the orders would sum past int64: no sum is formed
    assert b.validate() == 1


# --- the L2 book -------------------------------------------------------------------------------------------


def _l2_events(rows: list[tuple[int, int, int, int]]) -> np.ndarray:
    ev = empty_events(len(rows))
    for i, (kind, side, price, qty) in enumerate(rows):
        ev[i]["kind"], ev[i]["side"], ev[i]["price"], ev[i]["qty"] = kind, side, price, qty
    ev.flags.writeable = False
    return ev


def test_l2_levels_of_any_int64_price_are_found_without_overflow() -> None:
    book = l2.new_book(PRICE_LIMIT - 2047, PRICE_LIMIT, -PRICE_LIMIT, -PRICE_LIMIT + 2047)
    assert l2.set_level(book, BUY, PRICE_LIMIT, 3) == l2.L2_OK
    assert l2.set_level(book, SELL, -PRICE_LIMIT, 4) == l2.L2_OK
    for p in (I64_MIN, I64_MIN + 1, I64_MAX, -PRICE_LIMIT - 1, PRICE_LIMIT + 1, NO_PRICE):
        for side in (BUY, SELL):
            assert l2.level_qty(book, side, p) == 0
            assert l2.set_level(book, side, p, 1) == l2.L2_OUT_OF_RANGE
            assert l2.set_level(book, side, p, 0) == l2.L2_OK  # deleting a level that cannot exist: a no-op
    assert (l2.best_bid(book), l2.best_ask(book)) == (PRICE_LIMIT, -PRICE_LIMIT)
    assert l2.level_qty(book, BUY, PRICE_LIMIT) == 3 and l2.level_qty(book, SELL, -PRICE_LIMIT) == 4


def test_l2_book_refuses_prices_outside_the_domain_naming_the_row() -> None:
    # a side reaching past int64's maximum: its level index would wrap (a bid at -2**63 + 5 above one at 2**63 - 1)
    with pytest.raises(DataValidationError, match="within"):
        l2.new_book(2**63 - 1025, 2**63 + 1023, 0, 10)
    ev = _l2_events([(EV_LEVEL_SET, BUY, 10, 1), (EV_LEVEL_SET, SELL, I64_MAX, 2)])
    with pytest.raises(DataValidationError, match="event row 1") as e:
        l2.book_for(ev)
    assert e.value.fields["found"] == I64_MAX
    with pytest.raises(DataValidationError, match="event row 1"):
        l2.rebuild(ev, l2.new_book(0, 20, 0, 20))
    book = l2.book_for(_l2_events([(EV_LEVEL_SET, BUY, PRICE_LIMIT - 5, 1), (EV_LEVEL_SET, SELL, -PRICE_LIMIT, 2)]))
    assert int(book.state[l2.BOOK_BID_BASE]) + len(book.bid_qty) - 1 <= PRICE_LIMIT  # the margin is clipped
    assert int(book.state[l2.BOOK_ASK_BASE]) >= -PRICE_LIMIT
    assert l2.set_level(book, BUY, PRICE_LIMIT - 5, 1) == l2.L2_OK
    grown = l2.grow(book, BUY, PRICE_LIMIT - 5000)
    assert int(grown.state[l2.BOOK_BID_BASE]) + len(grown.bid_qty) - 1 <= PRICE_LIMIT
    assert l2.level_qty(grown, BUY, PRICE_LIMIT - 5) == 1


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(CENTRES).flatmap(lambda c: st.tuples(st.just(c), st.lists(
    st.tuples(st.sampled_from([BUY, SELL]), _price(c), st.one_of(st.integers(0, 5), st.just(I64_MAX))),
    max_size=120))), st.integers(1, 6))
def test_l2_book_matches_a_dict_at_int64_edges(case, n: int) -> None:
    """Level sets at the domain's edge, past it and near +-2**63: the book equals a dict model, or the first set
    of a quantity at a price no level may have is refused naming its row."""
    centre, updates = case
    bad = next((i for i, (_, p, q) in enumerate(updates) if q > 0 and not _placeable(centre, p)), None)
    ev = _l2_events([(EV_LEVEL_SET, s, p, q) for s, p, q in updates])
    book = l2.new_book(centre - 3, centre + 3, centre - 3, centre + 3)
    if bad is not None:
        with pytest.raises(DataValidationError, match=f"event row {bad}:"):
            l2.rebuild(ev, book)
        return
    book = l2.rebuild(ev, book)
    model: dict[int, dict[int, int]] = {BUY: {}, SELL: {}}
    for s, p, q in updates:
        if _placeable(centre, p):
            model[s][p] = q
    bp, bq, ap, aq = (np.zeros(n, dtype=np.int64) for _ in range(4))
    l2.top_n(book, bp, bq, ap, aq)
    for px, qt, levels, desc in ((bp, bq, model[BUY], True), (ap, aq, model[SELL], False)):
        live = sorted(((p, q) for p, q in levels.items() if q > 0), reverse=desc)[:n]
        assert list(zip(px.tolist(), qt.tolist(), strict=True)) == live + [(NO_PRICE, 0)] * (n - len(live))
    for s in (BUY, SELL):
        for p, q in model[s].items():
            assert l2.level_qty(book, s, p) == q
