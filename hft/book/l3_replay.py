"""Drivers of the L3 book (`hft.book.l3`): `l3_replay` applies a whole event stream in one call (its loop,
`l3_replay_run`, stops with a NEED_* status when the book must grow; the driver grows it and resumes),
`l3_validate` checks every invariant of a book, and `L3OrderBook` wraps the kernels for Python callers and
tests (grows on demand, raises `DataValidationError` on error codes).
"""

from __future__ import annotations

import numpy as np

from hft.book.l3 import (
    ASK,
    BID,
    ERR_BAD_SIDE,
    ERR_PRICE_RANGE,
    M_BASE,
    M_BEST_ASK,
    M_BEST_BID,
    M_NORDERS,
    NEED_LEVEL_RANGE,
    NEED_ORDER_CAPACITY,
    OK,
    QTY_MAX,
    STATUS_NAMES,
    L3Book,
    _kernel,
    _side_row,
    add_v,
    delete_v,
    find_order,
    l3_add,
    l3_add_anon,
    l3_best_ask,
    l3_best_bid,
    l3_cancel,
    l3_delete,
    l3_ensure_order_capacity,
    l3_ensure_price,
    l3_execute,
    l3_grow_levels,
    l3_grow_orders,
    l3_level_anon,
    l3_level_qty,
    l3_order_qty,
    l3_queue_ahead,
    l3_remove_anon,
    l3_snapshot,
    l3_view,
    new_l3_book,
    reduce_v,
    remove_anon_v,
)
from hft.book.topn import level_index
from hft.core.dtypes import BUY, EV_ADD, EV_CANCEL, EV_DELETE, EV_EXEC
from hft.core.errors import DataValidationError
from hft.core.jit import njit

__all__ = ["REPLAY_COUNTERS", "R_APPLIED", "R_CLIPPED", "R_NEED_PRICE", "R_REJECTED", "R_STATUS", "R_UNKNOWN_REFS", "L3OrderBook", "l3_replay", "l3_replay_run", "l3_validate"]


@_kernel
def l3_validate(book: L3Book) -> int:
    """Check every invariant; 0 when all hold, else a code naming the first broken one.

    1 level total != anonymous + sum of its orders, 2 a negative quantity, 3 broken FIFO links or count,
    4 an order missing from the hash table, 5 order count wrong, 6 best bid / ask index wrong, 7 crossed
    order side / price bookkeeping (an order queued at another level), 8 a level total above `QTY_MAX`, a link
    outside the order slots or a hash cell naming a slot that is not an order's.

    It reads a possibly broken book, so it checks every link and hash cell against the arrays' bounds before
    following it (no read out of range) and compares sums without forming any that could overflow.
    """
    n = book.lv_qty.shape[1]
    cap = book.o_id.shape[0]
    base = book.meta[M_BASE]
    empty = 0
    for i in range(book.ht.shape[0]):  # `find_order` below follows hash cells into the slots: each must be one
        s = book.ht[i]
        if s >= cap or (s >= 0 and book.o_qty[s] <= 0):
            return 8
        if s < 0:
            empty += 1
    if empty == 0:  # a probe would never end
        return 8
    total_orders = 0
    for row in range(2):
        for idx in range(n):
            total = book.lv_qty[row, idx]
            if book.lv_anon[row, idx] < 0 or total < 0:
                return 2
            if total > QTY_MAX:
                return 8
            left = total - book.lv_anon[row, idx]  # what the orders must add up to: the rest, taken order by order
            cnt = 0
            prev = -1
            s = book.lv_head[row, idx]
            while s >= 0:
                if s >= cap:
                    return 8
                if book.o_prev[s] != prev:
                    return 3
                if book.o_side[s] != row or level_index(book.o_price[s], base, n) != idx:
                    return 7
                if book.o_qty[s] <= 0:
                    return 2
                if find_order(l3_view(book), book.o_id[s]) != s:
                    return 4
                if book.o_qty[s] > left:  # left >= 0 here: the sum would exceed the level total
                    return 1
                left -= book.o_qty[s]
                cnt += 1
                prev = s
                s = book.o_next[s]
                if cnt > cap:
                    return 3
            if book.lv_tail[row, idx] != prev or book.lv_count[row, idx] != cnt:
                return 3
            if left != 0:
                return 1
            total_orders += cnt
    if total_orders != book.meta[M_NORDERS]:
        return 5
    bb = -1
    for idx in range(n - 1, -1, -1):
        if book.lv_qty[BID, idx] > 0:
            bb = idx
            break
    ba = -1
    for idx in range(n):
        if book.lv_qty[ASK, idx] > 0:
            ba = idx
            break
    if bb != book.meta[M_BEST_BID] or ba != book.meta[M_BEST_ASK]:
        return 6
    return 0


# --- replay driver ------------------------------------------------------------------------------------------

R_APPLIED = 0
R_UNKNOWN_REFS = 1
R_CLIPPED = 2
R_REJECTED = 3
R_STATUS = 4
R_NEED_PRICE = 5
REPLAY_COUNTERS = 6  # length of the `counters` array of `l3_replay`


@_kernel
def l3_replay_run(book: L3Book, kind: np.ndarray, side: np.ndarray, price: np.ndarray, qty: np.ndarray,
                  oid: np.ndarray, start: int, counters: np.ndarray) -> int:
    """Apply events from `start` until done or the book must grow; returns the index to resume at.

    When it stops early, ``counters[R_STATUS]`` is `NEED_LEVEL_RANGE` (``counters[R_NEED_PRICE]`` holds the
    price) or `NEED_ORDER_CAPACITY`. See `l3_replay` for the counters.
    """
    base = book.meta[M_BASE]
    n_levels = book.lv_qty.shape[1]
    v = l3_view(book)
    for k in range(start, kind.shape[0]):
        kd = kind[k]
        if kd != EV_ADD and kd != EV_CANCEL and kd != EV_DELETE and kd != EV_EXEC:
            continue
        p = price[k]
        idx = level_index(p, base, n_levels)
        if idx < 0:
            counters[R_STATUS] = NEED_LEVEL_RANGE
            counters[R_NEED_PRICE] = p
            return k
        sd = np.int64(side[k])  # int64, as the venue passes a side: one specialisation of the book helpers
        if kd == EV_ADD:
            st = add_v(v, oid[k], sd, p, qty[k])
            if st == NEED_ORDER_CAPACITY:
                counters[R_STATUS] = st
                return k
        else:
            s = find_order(v, oid[k])
            if s < 0:
                counters[R_UNKNOWN_REFS] += 1
                row = _side_row(sd)
                if row < 0:
                    st = ERR_BAD_SIDE
                else:
                    take = min(qty[k], book.lv_anon[row, idx])
                    if take < qty[k]:
                        counters[R_CLIPPED] += 1
                    st = remove_anon_v(v, sd, p, take) if take > 0 else OK
            elif kd == EV_DELETE or qty[k] >= book.o_qty[s]:
                st = delete_v(v, oid[k])
            else:
                st = reduce_v(v, oid[k], qty[k])
        if st == OK:
            counters[R_APPLIED] += 1
        else:
            counters[R_REJECTED] += 1
    counters[R_STATUS] = OK
    return kind.shape[0]


@njit(cache=True)
def l3_replay(book: L3Book, kind: np.ndarray, side: np.ndarray, price: np.ndarray, qty: np.ndarray,
              oid: np.ndarray, counters: np.ndarray) -> L3Book:
    """Apply a whole L3 event stream (EV_ADD / CANCEL / DELETE / EXEC; other kinds are skipped) in one call.

    Cancels / executions / deletes of unknown ids remove anonymous quantity at their price (clipped at what
    is there). Grows the book as needed and returns it (the argument must not be used afterwards).
    `counters` (int64[REPLAY_COUNTERS]) receives: applied events, unknown-id references, clipped anonymous
    removals, rejected events (bad side / qty, duplicate id, a level that would hold more than `QTY_MAX`), the
    final status (OK or ERR_PRICE_RANGE: a price beyond `MAX_LEVEL_SPAN` of the book or outside ``+-PRICE_LIMIT``)
    and the last price that needed growth.
    """
    k = 0
    n = kind.shape[0]
    while k < n:
        k = l3_replay_run(book, kind, side, price, qty, oid, k, counters)
        if counters[R_STATUS] == NEED_LEVEL_RANGE:
            book = l3_grow_levels(book, counters[R_NEED_PRICE])
            if level_index(counters[R_NEED_PRICE], book.meta[M_BASE], book.lv_qty.shape[1]) < 0:
                counters[R_STATUS] = ERR_PRICE_RANGE
                return book
        elif counters[R_STATUS] == NEED_ORDER_CAPACITY:
            book = l3_grow_orders(book)
    counters[R_STATUS] = OK
    return book


# --- Python wrapper ----------------------------------------------------------------------------------------


class L3OrderBook:
    """Convenience wrapper for Python callers and tests: grows on demand and raises on error codes.

    Hot loops should call the `l3_*` kernels from numba instead (a Python-level call costs microseconds).
    """

    def __init__(self, base_price: int = 0, n_levels: int = 4096, order_capacity: int = 4096) -> None:
        self.state = new_l3_book(base_price, n_levels, order_capacity)

    def _check(self, status: int, op: str, **ctx: int) -> None:
        if status != OK:
            detail = ", ".join(f"{k}={v}" for k, v in ctx.items())
            raise DataValidationError(f"l3 {op}({detail}): expected ok, was {STATUS_NAMES[status]}",
                                      op=op, status=STATUS_NAMES[status], **ctx)

    def _ensure(self, price: int) -> None:
        self.state = l3_ensure_price(self.state, price)
        idx = price - int(self.state.meta[M_BASE])
        if not 0 <= idx < self.state.lv_qty.shape[1]:
            self._check(ERR_PRICE_RANGE, "ensure_price", price=price)

    def add(self, oid: int, side: int, price: int, qty: int) -> None:
        """Add an order at the back of its level's queue."""
        self._ensure(price)
        self.state = l3_ensure_order_capacity(self.state)
        self._check(l3_add(self.state, oid, side, price, qty), "add", oid=oid, side=side, price=price, qty=qty)

    def cancel(self, oid: int, qty: int) -> None:
        """Remove part of an order."""
        self._check(l3_cancel(self.state, oid, qty), "cancel", oid=oid, qty=qty)

    def execute(self, oid: int, qty: int) -> None:
        """Execute part or all of an order."""
        self._check(l3_execute(self.state, oid, qty), "execute", oid=oid, qty=qty)

    def delete(self, oid: int) -> None:
        """Remove an order entirely."""
        self._check(l3_delete(self.state, oid), "delete", oid=oid)

    def add_anon(self, side: int, price: int, qty: int) -> None:
        """Add anonymous quantity at the front of a level."""
        self._ensure(price)
        self._check(l3_add_anon(self.state, side, price, qty), "add_anon", side=side, price=price, qty=qty)

    def remove_anon(self, side: int, price: int, qty: int) -> None:
        """Remove anonymous quantity from a level."""
        self._check(l3_remove_anon(self.state, side, price, qty), "remove_anon", side=side, price=price,
                    qty=qty)

    def best_bid(self) -> int:
        return int(l3_best_bid(self.state))

    def best_ask(self) -> int:
        return int(l3_best_ask(self.state))

    def level_qty(self, side: int, price: int) -> int:
        return int(l3_level_qty(self.state, side, price))

    def level_anon(self, side: int, price: int) -> int:
        return int(l3_level_anon(self.state, side, price))

    def order_qty(self, oid: int) -> int:
        """Remaining quantity, -1 when unknown."""
        return int(l3_order_qty(self.state, oid))

    def queue_ahead(self, oid: int) -> int:
        """Quantity ahead of the order in its FIFO, -1 when unknown."""
        return int(l3_queue_ahead(self.state, oid))

    def level_orders(self, side: int, price: int) -> list[int]:
        """Order ids queued at a level, front to back (debugging / tests)."""
        row = BID if side == BUY else ASK
        idx = price - int(self.state.meta[M_BASE])
        out: list[int] = []
        if not 0 <= idx < self.state.lv_qty.shape[1]:
            return out
        s = int(self.state.lv_head[row, idx])
        while s >= 0:
            out.append(int(self.state.o_id[s]))
            s = int(self.state.o_next[s])
        return out

    def top(self, n: int) -> np.ndarray:
        """Top-`n` snapshot as a new int64[4n] row (LOBSTER layout)."""
        row = np.empty(4 * n, dtype=np.int64)
        l3_snapshot(self.state, n, row)
        return row

    def validate(self) -> int:
        """0 when every invariant holds (see `l3_validate`)."""
        return int(l3_validate(self.state))

    def __len__(self) -> int:
        return int(self.state.meta[M_NORDERS])
