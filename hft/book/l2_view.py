"""An L2 view of any event stream (L2 level updates or L3 order events), one numba call per event.

Used for the strategy's local book in the simulator and for `hft data inspect`.

L2 events set levels; L3 order events are aggregated into level totals (adds add, cancels / deletes /
executions subtract, floored at 0 — quantity that rested before the recording is seeded separately).
After each event ``top`` holds ``[best bid, qty, best ask, qty]`` (``NO_PRICE``/0 for an empty side).

Reference rows (LOBSTER, `local_set_row`): instead of applying message k, the view is set to the reference row
of message k (the exact top-L book after it, `hft.data.lobster`): each side holds exactly the row's levels and
quantities and NOTHING below the row's L-th level (a level-L file says nothing reliable there). The simulator
does this at message k's local time when ``l3_resync`` is on (`hft.sim.engine`, docs/sim.md).
"""

from __future__ import annotations

import numpy as np

from hft.book.l2 import (
    BOOK_ASK_BASE,
    BOOK_ASK_HI,
    BOOK_BEST_ASK,
    BOOK_BEST_BID,
    BOOK_BID_BASE,
    BOOK_BID_LO,
    L2_OK,
    L2_OUT_OF_RANGE,
    L2Book,
    apply_event,
    level_qty,
    next_down,
    next_up,
    set_level,
    set_level_arrays,
    set_level_inline,
)
from hft.book.topn import COL_ASK_PX, COL_BID_PX, ROW_STRIDE, level_index
from hft.core.dtypes import BUY, EV_ADD, EV_CANCEL, EV_DELETE, EV_EXEC, NO_PRICE, SELL
from hft.core.jit import helper, njit

_I64_MAX = np.iinfo(np.int64).max



@helper
def level_after(cur: int, kind: int, qty: int) -> int:
    """A level's total after an L3 order event of `qty` lots (`kind` EV_ADD adds, any other subtracts), floored at 0
    and, for an add, held at int64's maximum instead of overflowing (`cur` >= 0: a level's total; `qty` >= 0, as
    every loaded event file's is: `hft.data._eventcheck`; a negative one counts as 0)."""
    if qty <= 0:
        return cur
    if kind == EV_ADD:
        return cur + qty if qty <= _I64_MAX - cur else _I64_MAX
    return cur - qty if cur > qty else 0


@njit(cache=True)
def local_apply(book: L2Book, kind: int, side: int, price: int, qty: int, is_l3: bool, top: np.ndarray) -> int:
    """Apply one event to the local view and refresh `top`; returns an `hft.book.l2` status code."""
    if is_l3 and (kind == EV_ADD or kind == EV_CANCEL or kind == EV_DELETE or kind == EV_EXEC):
        status = set_level(book, side, price, level_after(level_qty(book, side, price), kind, qty))
    else:
        status = apply_event(book, kind, side, price, qty)
    if status != L2_OK:
        return status
    write_top(book, top)
    return L2_OK


@njit(cache=True)
def _in_row(ref: np.ndarray, k: int, levels: int, col: int, price: int) -> int:
    """Quantity of reference row `k` at `price` on the side whose price column is `col` (-1: not shown)."""
    for j in range(levels):
        if ref[k, j * ROW_STRIDE + col] == price:
            return ref[k, j * ROW_STRIDE + col + 1]
    return -1


@njit(cache=True)
def row_out_of_range(bq: np.ndarray, aq: np.ndarray, st: np.ndarray, ref: np.ndarray, k: int) -> int:
    """Index of the first level (``j * ROW_STRIDE + COL_*_PX``) of reference row `k` whose price lies outside
    the view's range (the book must `grow` first), or -1."""
    for j in range(ref.shape[1] // ROW_STRIDE):
        c = j * ROW_STRIDE + COL_BID_PX
        p = ref[k, c]
        if p != NO_PRICE and ref[k, c + 1] > 0 and level_index(p, st[BOOK_BID_BASE], bq.shape[0]) < 0:
            return c
        c = j * ROW_STRIDE + COL_ASK_PX
        p = ref[k, c]
        if p != NO_PRICE and ref[k, c + 1] > 0 and level_index(p, st[BOOK_ASK_BASE], aq.shape[0]) < 0:
            return c
    return -1


@njit(cache=True)
def set_row_arrays(bq: np.ndarray, aq: np.ndarray, bb: np.ndarray, ab: np.ndarray, st: np.ndarray,
                   ref: np.ndarray, k: int, from_prev: bool) -> int:
    """Make the view (the unpacked arrays of an `L2Book`) hold exactly reference row `k`: per side the row's
    levels with the row's quantities, and nothing else (no level below the row's L-th). `from_prev`: the view
    holds exactly row ``k - 1`` (the engines apply every row in order), so only the levels that differ are
    touched; otherwise every level of the view is visited (so also for ``k == 0``: there is no row -1, which
    numba would read as the last row). Returns `L2_OUT_OF_RANGE` BEFORE changing anything when a price of the row
    lies outside the view's range (`row_out_of_range` names it), else `L2_OK`. Precondition: ``0 <= k <
    ref.shape[0]`` (the engines pass the row of the event they apply: one row per message)."""
    if row_out_of_range(bq, aq, st, ref, k) >= 0:
        return L2_OUT_OF_RANGE
    from_prev = from_prev and k > 0
    levels = ref.shape[1] // ROW_STRIDE
    for sd in (BUY, SELL):
        col = COL_BID_PX if sd == BUY else COL_ASK_PX
        # 1. levels the row does not show: gone
        if from_prev:
            for j in range(levels):
                p = ref[k - 1, j * ROW_STRIDE + col]
                if p != NO_PRICE and _in_row(ref, k, levels, col, p) < 0:
                    set_level_inline(bq, aq, bb, ab, st, sd, p, 0)
        elif sd == BUY:
            i = st[BOOK_BEST_BID] - st[BOOK_BID_BASE] if st[BOOK_BEST_BID] != NO_PRICE else -1
            while i >= 0:
                nxt = next_down(bq, bb, i, st[BOOK_BID_LO])
                p = st[BOOK_BID_BASE] + i
                if _in_row(ref, k, levels, col, p) < 0:
                    set_level_arrays(bq, aq, bb, ab, st, sd, p, 0)
                i = nxt
        else:
            i = st[BOOK_BEST_ASK] - st[BOOK_ASK_BASE] if st[BOOK_BEST_ASK] != NO_PRICE else -1
            while i >= 0:
                nxt = next_up(aq, ab, i, st[BOOK_ASK_HI])
                p = st[BOOK_ASK_BASE] + i
                if _in_row(ref, k, levels, col, p) < 0:
                    set_level_arrays(bq, aq, bb, ab, st, sd, p, 0)
                i = nxt
        # 2. the row's levels: its quantities
        for j in range(levels):
            p = ref[k, j * ROW_STRIDE + col]
            if p == NO_PRICE:
                continue
            q = ref[k, j * ROW_STRIDE + col + 1]
            if from_prev and _in_row(ref, k - 1, levels, col, p) == q:
                continue
            set_level_inline(bq, aq, bb, ab, st, sd, p, q if q > 0 else 0)
    return L2_OK


@njit(cache=True)
def write_top(book: L2Book, top: np.ndarray) -> None:
    """``top`` = (best bid, its qty, best ask, its qty) of `book`; quantities 0 for an empty side."""
    b = book.state[BOOK_BEST_BID]
    a = book.state[BOOK_BEST_ASK]
    top[0] = b
    top[1] = level_qty(book, BUY, b) if b != NO_PRICE else 0
    top[2] = a
    top[3] = level_qty(book, SELL, a) if a != NO_PRICE else 0


@njit(cache=True)
def local_set_row(book: L2Book, ref: np.ndarray, k: int, from_prev: bool, top: np.ndarray) -> int:
    """`set_row_arrays` on `book`, then refresh `top` (as `local_apply` does); returns an `hft.book.l2` status."""
    status = set_row_arrays(book.bid_qty, book.ask_qty, book.bid_blk, book.ask_blk, book.state, ref, k, from_prev)
    if status != L2_OK:
        return status
    write_top(book, top)
    return L2_OK
