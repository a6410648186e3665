"""L2 price-level order book: numba kernels over dense per-side quantity arrays.

State (`L2Book`, a NamedTuple of numpy arrays so the numba cache works across processes):

* ``bid_qty`` / ``ask_qty``: int64 lots at price ``base + i`` ticks, one array per side, each with its own base.
* ``bid_blk`` / ``ask_blk``: number of non-empty levels in each block of `BLOCK` consecutive ticks. Scans (for
  the next best level, and clears) skip empty blocks, so sparse deep books cost little.
* ``state``: int64 scalars, indexed by the ``S_*`` constants (bases, best prices, level counts, and the lowest /
  highest index written since the last clear, bounding scans and clears).

Range policy. A side covers the contiguous tick range ``[base, base + len)``. Binance snapshots hold 1000
levels spread over a wide range (spot BTCUSDT asks reach 200,000.00 at a 0.01 tick: ~14 M ticks), so a side
may be large; `np.zeros` is lazily mapped by the OS, so only pages that hold levels cost memory. `book_for`
sizes the arrays from the prices of a whole event array up front. A quantity > 0 outside the range makes the
kernels stop with `L2_OUT_OF_RANGE` before changing anything; the Python driver (`rebuild`) then calls `grow`,
which re-bases the side to cover the price with headroom (half the new span each way, at least 1024 ticks),
and resumes. Setting quantity 0 outside the range is a no-op (the level is empty). A side may not span more
than `MAX_SPAN` ticks, nor leave the price domain ``+-PRICE_LIMIT`` (`hft.book.topn`: so ``base + i`` never
overflows); the kernels take any int64 price and find its level with `hft.book.topn.level_index` (never
``price - base``, which overflows for a price near +-2**63: undefined behaviour in numba's int64).

Best prices are tracked incrementally: raised on a set above the best, and found by scanning towards the
back of the book when the best level empties (block by block, stopping at the lowest/highest written index).
A clear zeroes only the occupied blocks.

Kernels return status codes (`L2_*`), do no I/O and write only into arrays they are given.
"""

from __future__ import annotations

import weakref
from typing import NamedTuple

import numpy as np

from hft.book.topn import PRICE_LIMIT, in_price_domain, level_index, topn_side
from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_CLEAR,
    EV_DELETE,
    EV_EXEC,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EVENT_DTYPE,
    FLAG_EOM,
    NO_PRICE,
    SELL,
)
from hft.core.errors import DataValidationError
from hft.core.jit import inline_copy, njit

# --- status codes ------------------------------------------------------------------------------------------
L2_OK = 0
L2_OUT_OF_RANGE = 1  # a quantity > 0 at a price outside the allocated range: grow and retry
L2_NEGATIVE_QTY = 2
L2_BAD_SIDE = 3
L2_TOB_FULL = 4  # replay_tob: the caller's top-of-book array is full

L2_STATUS_NAMES = {L2_OK: "ok", L2_OUT_OF_RANGE: "price outside the book range",
                   L2_NEGATIVE_QTY: "negative quantity", L2_BAD_SIDE: "side not BUY/SELL",
                   L2_TOB_FULL: "top-of-book output full"}

# --- columns of the replay_tob output ----------------------------------------------------------------------
TOB_ROW, TOB_SEQ, TOB_FLAGS, TOB_BID_PX, TOB_BID_QTY, TOB_ASK_PX, TOB_ASK_QTY = range(7)
_TOB_COLS = 7
TOB_COLS = _TOB_COLS

# --- indices into L2Book.state -----------------------------------------------------------------------------
BOOK_BID_BASE = 0  # price (ticks) of bid_qty[0]
BOOK_ASK_BASE = 1
BOOK_BEST_BID = 2  # price in ticks, NO_PRICE when the side is empty
BOOK_BEST_ASK = 3
BOOK_N_BID = 4  # number of non-empty levels
BOOK_N_ASK = 5
BOOK_BID_LO = 6  # lowest / highest index written with qty > 0 since the last clear (LO > HI: none)
BOOK_BID_HI = 7
BOOK_ASK_LO = 8
BOOK_ASK_HI = 9
_N_STATE = 10

BLOCK_SHIFT = 6
BLOCK = 1 << BLOCK_SHIFT  # ticks per occupancy block
MAX_SPAN = 1 << 28  # ticks per side (2 GiB of virtual address space; untouched pages are free)
_MIN_MARGIN = 1024


class L2Book(NamedTuple):
    """Mutable L2 book state (arrays are modified in place by the kernels)."""

    bid_qty: np.ndarray  # int64[n_bid]
    ask_qty: np.ndarray  # int64[n_ask]
    bid_blk: np.ndarray  # int64[ceil(n_bid / BLOCK)]: non-empty levels per block
    ask_blk: np.ndarray  # int64[ceil(n_ask / BLOCK)]
    state: np.ndarray  # int64[_N_STATE]


def new_book(bid_lo: int, bid_hi: int, ask_lo: int, ask_hi: int) -> L2Book:
    """An empty book whose bid side covers ticks ``[bid_lo, bid_hi]`` and ask side ``[ask_lo, ask_hi]``.

    Raises:
        DataValidationError: a side wider than `MAX_SPAN` ticks or reaching outside ``+-PRICE_LIMIT``.
    """
    nb, na = bid_hi - bid_lo + 1, ask_hi - ask_lo + 1
    if nb < 1 or na < 1:
        raise ValueError(f"expected lo <= hi for both sides, was bid [{bid_lo}, {bid_hi}] ask [{ask_lo}, {ask_hi}]")
    if max(nb, na) > MAX_SPAN:
        raise DataValidationError(f"L2 book: expected a side to span at most {MAX_SPAN} ticks, was {max(nb, na)}")
    for p in (bid_lo, bid_hi, ask_lo, ask_hi):
        if not in_price_domain(p):
            raise DataValidationError(f"L2 book: expected prices within +-{PRICE_LIMIT} ticks, was {p}",
                                      expected=f"prices within +-{PRICE_LIMIT}", found=int(p))
    state = np.zeros(_N_STATE, dtype=np.int64)
    state[BOOK_BID_BASE], state[BOOK_ASK_BASE] = bid_lo, ask_lo
    state[BOOK_BEST_BID] = state[BOOK_BEST_ASK] = NO_PRICE
    state[BOOK_BID_LO] = state[BOOK_ASK_LO] = np.iinfo(np.int64).max
    state[BOOK_BID_HI] = state[BOOK_ASK_HI] = -1
    return L2Book(np.zeros(nb, dtype=np.int64), np.zeros(na, dtype=np.int64), _blocks(nb), _blocks(na), state)


def _blocks(n: int, qty: np.ndarray | None = None) -> np.ndarray:
    """Occupancy counts for `n` levels (zeros, or counted from `qty`)."""
    nblk = (n + BLOCK - 1) >> BLOCK_SHIFT
    if qty is None:
        return np.zeros(nblk, dtype=np.int64)
    padded = np.zeros(nblk << BLOCK_SHIFT, dtype=bool)
    padded[:n] = qty != 0
    return padded.reshape(nblk, BLOCK).sum(axis=1).astype(np.int64)


@njit(cache=True)
def _price_bounds(events: np.ndarray, out: np.ndarray) -> None:
    """out = [bid min, bid max, ask min, ask max] over level sets with qty > 0 and L3 order events (their resting
    order's side and price; min > max: none)."""
    out[0] = out[2] = np.iinfo(np.int64).max
    out[1] = out[3] = np.iinfo(np.int64).min
    for k in range(events.shape[0]):
        ev = events[k]
        kd = ev.kind
        level = (kd == EV_LEVEL_SET or kd == EV_SNAPSHOT_LEVEL) and ev.qty > 0
        order = (kd == EV_ADD or kd == EV_CANCEL or kd == EV_DELETE or kd == EV_EXEC) and (
            ev.side == BUY or ev.side == SELL)
        if level or order:
            o = 0 if ev.side == BUY else 2
            if ev.price < out[o]:
                out[o] = ev.price
            if ev.price > out[o + 1]:
                out[o + 1] = ev.price


def _bounds_of(events: np.ndarray) -> np.ndarray:
    """`_price_bounds` of `events`; of a read-only array, computed once (a sweep or a benchmark replays one day's
    events many times: ~0.3 ms a LOBSTER day)."""
    k = id(events)
    hit = _BOUNDS.get(k)
    if hit is not None and hit[0]() is events and not events.flags.writeable:
        return hit[1]
    b = np.zeros(4, dtype=np.int64)
    _price_bounds(events, b)
    if not events.flags.writeable:
        if len(_BOUNDS) >= 16:
            _BOUNDS.clear()
        _BOUNDS[k] = (weakref.ref(events), b)
    return b


# by id(events): (the array, weakly; its bounds): a pure memo of read-only arrays only, at most 16
_BOUNDS: dict[int, tuple[weakref.ref, np.ndarray]] = {}


def book_for(events: np.ndarray, margin: int = _MIN_MARGIN) -> L2Book:
    """An empty book sized to hold every level set with quantity > 0 and every L3 order event's price in `events`
    (plus `margin` ticks, clipped to the price domain); a book view of L3 data centred on 0 instead grew to ~2x its
    prices (GOOG: 118k levels a side, two growths per replay).

    Raises:
        DataValidationError: a side's prices spanning more than `MAX_SPAN` ticks or outside ``+-PRICE_LIMIT``.
    """
    b = _bounds_of(events)
    has_bid, has_ask = b[0] <= b[1], b[2] <= b[3]
    mid = int(b[0] if has_bid else (b[2] if has_ask else 0))
    bid = (int(b[0]), int(b[1])) if has_bid else (mid, mid)
    ask = (int(b[2]), int(b[3])) if has_ask else (mid, mid)
    for p in (*bid, *ask):
        if not in_price_domain(p):
            row = int(np.flatnonzero(events["price"] == p)[0])
            raise DataValidationError(f"event row {row}: expected a price within +-{PRICE_LIMIT} ticks, was {p}",
                                      line=row, key="price", expected=f"prices within +-{PRICE_LIMIT}", found=p)

    def clip(p: int) -> int:
        return min(max(p, -PRICE_LIMIT), PRICE_LIMIT)

    return new_book(clip(bid[0] - margin), clip(bid[1] + margin), clip(ask[0] - margin), clip(ask[1] + margin))


def grow(book: L2Book, side: int, price: int) -> L2Book:
    """A copy of `book` whose `side` also covers `price` (with headroom, clipped to the price domain; see the module
    docstring).

    Raises:
        DataValidationError: `price` outside ``+-PRICE_LIMIT``, or the side would span more than `MAX_SPAN`.
    """
    price = int(price)
    if not in_price_domain(price):
        raise DataValidationError(f"L2 book: expected prices within +-{PRICE_LIMIT} ticks, was {price}",
                                  expected=f"prices within +-{PRICE_LIMIT}", found=price)
    st = book.state.copy()
    is_bid = side == BUY
    qty = book.bid_qty if is_bid else book.ask_qty
    base = int(st[BOOK_BID_BASE if is_bid else BOOK_ASK_BASE])
    lo, hi = min(base, price), max(base + len(qty) - 1, price)
    margin = max(_MIN_MARGIN, (hi - lo + 1) // 2)
    lo, hi = max(lo - margin, -PRICE_LIMIT), min(hi + margin, PRICE_LIMIT)
    if hi - lo + 1 > MAX_SPAN:
        raise DataValidationError(
            f"L2 book: expected a side to span at most {MAX_SPAN} ticks, price {price} needs {hi - lo + 1}")
    new_qty = np.zeros(hi - lo + 1, dtype=np.int64)
    shift = base - lo
    new_qty[shift:shift + len(qty)] = qty
    lo_key, hi_key = (BOOK_BID_LO, BOOK_BID_HI) if is_bid else (BOOK_ASK_LO, BOOK_ASK_HI)
    if st[lo_key] <= st[hi_key]:
        st[lo_key] += shift
        st[hi_key] += shift
    st[BOOK_BID_BASE if is_bid else BOOK_ASK_BASE] = lo
    if is_bid:
        return L2Book(new_qty, book.ask_qty, _blocks(len(new_qty), new_qty), book.ask_blk, st)
    return L2Book(book.bid_qty, new_qty, book.bid_blk, _blocks(len(new_qty), new_qty), st)


# Kernels that allocate nothing run without reference counting (`_nrt=False`): the arrays belong to the caller,
# and the atomic increments / decrements per array argument cost more than the work of a level update.
_kernel = njit(cache=True, _nrt=False)


@_kernel
def _clear_side(qty: np.ndarray, blk: np.ndarray, st: np.ndarray, lo_key: int, hi_key: int, best_key: int,
                n_key: int) -> None:
    lo, hi = st[lo_key], st[hi_key]
    if lo <= hi:
        for b in range(lo >> BLOCK_SHIFT, (hi >> BLOCK_SHIFT) + 1):
            if blk[b] != 0:
                a = b << BLOCK_SHIFT
                for i in range(a, min(a + BLOCK, qty.shape[0])):
                    qty[i] = 0
                blk[b] = 0
    st[lo_key] = np.iinfo(np.int64).max
    st[hi_key] = -1
    st[best_key] = NO_PRICE
    st[n_key] = 0


@_kernel
def next_down(qty: np.ndarray, blk: np.ndarray, i: int, lo: int) -> int:
    """Highest index < i (and >= lo) with a level, or -1."""
    j = i - 1
    while j >= lo:
        if blk[j >> BLOCK_SHIFT] == 0:
            j = ((j >> BLOCK_SHIFT) << BLOCK_SHIFT) - 1  # skip the rest of this empty block
            continue
        if qty[j] != 0:
            return j
        j -= 1
    return -1


@_kernel
def next_up(qty: np.ndarray, blk: np.ndarray, i: int, hi: int) -> int:
    """Lowest index > i (and <= hi) with a level, or -1."""
    j = i + 1
    while j <= hi:
        if blk[j >> BLOCK_SHIFT] == 0:
            j = ((j >> BLOCK_SHIFT) + 1) << BLOCK_SHIFT
            continue
        if qty[j] != 0:
            return j
        j += 1
    return -1


@_kernel
def clear_arrays(bid_qty: np.ndarray, ask_qty: np.ndarray, bid_blk: np.ndarray, ask_blk: np.ndarray,
                  st: np.ndarray, side: int) -> int:
    if side != BUY and side != SELL and side != 0:
        return L2_BAD_SIDE
    if side == BUY or side == 0:
        _clear_side(bid_qty, bid_blk, st, BOOK_BID_LO, BOOK_BID_HI, BOOK_BEST_BID, BOOK_N_BID)
    if side == SELL or side == 0:
        _clear_side(ask_qty, ask_blk, st, BOOK_ASK_LO, BOOK_ASK_HI, BOOK_BEST_ASK, BOOK_N_ASK)
    return L2_OK


# The per-event logic lives in ONE place, `_run`, written out for both sides in the loop body: numba passes
# every array as ~7 machine words and does not inline calls across its functions, so a helper call per event
# made the replay 3-5x slower. Single-event entry points run `_run` over a one-row event array.
@_kernel
def set_level_arrays(bq: np.ndarray, aq: np.ndarray, bb: np.ndarray, ab: np.ndarray, st: np.ndarray, side: int,
                     p: int, q: int) -> int:
    """Set the quantity at (side, price p) to q >= 0, keeping counts, blocks and best prices. A status code."""
    if side == BUY:
        i = level_index(p, st[BOOK_BID_BASE], bq.shape[0])
        if i < 0:
            if q > 0:
                return L2_OUT_OF_RANGE
        else:
            old = bq[i]
            bq[i] = q
            if q > 0:
                if old == 0:
                    st[BOOK_N_BID] += 1
                    bb[i >> BLOCK_SHIFT] += 1
                    if i < st[BOOK_BID_LO]:
                        st[BOOK_BID_LO] = i
                    if i > st[BOOK_BID_HI]:
                        st[BOOK_BID_HI] = i
                if p > st[BOOK_BEST_BID]:  # NO_PRICE is int64 min: every price beats it
                    st[BOOK_BEST_BID] = p
            elif old != 0:
                st[BOOK_N_BID] -= 1
                bb[i >> BLOCK_SHIFT] -= 1
                if p == st[BOOK_BEST_BID]:
                    j = next_down(bq, bb, i, st[BOOK_BID_LO]) if st[BOOK_N_BID] > 0 else -1
                    st[BOOK_BEST_BID] = NO_PRICE if j < 0 else j + st[BOOK_BID_BASE]
    elif side == SELL:
        i = level_index(p, st[BOOK_ASK_BASE], aq.shape[0])
        if i < 0:
            if q > 0:
                return L2_OUT_OF_RANGE
        else:
            old = aq[i]
            aq[i] = q
            if q > 0:
                if old == 0:
                    st[BOOK_N_ASK] += 1
                    ab[i >> BLOCK_SHIFT] += 1
                    if i < st[BOOK_ASK_LO]:
                        st[BOOK_ASK_LO] = i
                    if i > st[BOOK_ASK_HI]:
                        st[BOOK_ASK_HI] = i
                if p < st[BOOK_BEST_ASK] or st[BOOK_BEST_ASK] == NO_PRICE:
                    st[BOOK_BEST_ASK] = p
            elif old != 0:
                st[BOOK_N_ASK] -= 1
                ab[i >> BLOCK_SHIFT] -= 1
                if p == st[BOOK_BEST_ASK]:
                    j = next_up(aq, ab, i, st[BOOK_ASK_HI]) if st[BOOK_N_ASK] > 0 else -1
                    st[BOOK_BEST_ASK] = NO_PRICE if j < 0 else j + st[BOOK_ASK_BASE]
    else:
        return L2_BAD_SIDE
    return L2_OK


# `set_level_arrays` inlined at each call site (`hft.core.jit.inline_copy`), for the loops that set a level per
# event (`hft.book.l2_view.set_row_arrays`, the simulator's loop kernels): LLVM does not inline it on its own once it
# has several call sites, and a call passes the five arrays as ~38 machine words
set_level_inline = inline_copy(set_level_arrays)


@_kernel
def _run(bq: np.ndarray, aq: np.ndarray, bb: np.ndarray, ab: np.ndarray, st: np.ndarray, events: np.ndarray,
         start: int, stop: int, tob: np.ndarray, cnt: np.ndarray, record: bool) -> tuple[int, int]:
    """Apply ``events[start:stop]``; with `record`, append the top of book after every book message end
    (LEVEL_SET / SNAPSHOT_LEVEL with FLAG_EOM) to ``tob[cnt[0]]`` (`TOB_*` columns)."""
    for k in range(start, stop):
        ev = events[k]
        kind = ev.kind
        if kind != EV_LEVEL_SET and kind != EV_SNAPSHOT_LEVEL:
            if kind == EV_CLEAR:
                status = clear_arrays(bq, aq, bb, ab, st, np.int64(ev.side))  # int64: the one signature
                if status != L2_OK:
                    return status, k
            continue
        p = ev.price
        q = ev.qty
        if q < 0:
            return L2_NEGATIVE_QTY, k
        if record and (ev.flags & FLAG_EOM) != 0 and cnt[0] >= tob.shape[0]:
            return L2_TOB_FULL, k  # checked before applying: a failing row is never half done
        status = set_level_arrays(bq, aq, bb, ab, st, np.int64(ev.side), p, q)  # (the event's side is int8)
        if status != L2_OK:
            return status, k
        if record and (ev.flags & FLAG_EOM) != 0:
            r = cnt[0]
            bp = st[BOOK_BEST_BID]
            ap = st[BOOK_BEST_ASK]
            tob[r, TOB_ROW] = k
            tob[r, TOB_SEQ] = ev.seq
            tob[r, TOB_FLAGS] = ev.flags
            tob[r, TOB_BID_PX] = bp
            tob[r, TOB_BID_QTY] = bq[bp - st[BOOK_BID_BASE]] if bp != NO_PRICE else 0
            tob[r, TOB_ASK_PX] = ap
            tob[r, TOB_ASK_QTY] = aq[ap - st[BOOK_ASK_BASE]] if ap != NO_PRICE else 0
            cnt[0] = r + 1
    return L2_OK, stop


@njit(cache=True)
def replay(book: L2Book, events: np.ndarray, start: int, stop: int) -> tuple[int, int]:
    """Apply ``events[start:stop]``. Returns ``(status, index)``: index = `stop` on success, else the failing
    row (nothing of that row applied). LEVEL_SET / SNAPSHOT_LEVEL set a level, CLEAR empties a side (0: both);
    every other kind passes through untouched."""
    dummy = np.empty((0, _TOB_COLS), dtype=np.int64)
    return _run(book.bid_qty, book.ask_qty, book.bid_blk, book.ask_blk, book.state, events, start, stop, dummy,
                np.zeros(1, dtype=np.int64), False)


@njit(cache=True)
def replay_tob(book: L2Book, events: np.ndarray, start: int, stop: int, tob: np.ndarray,
               cnt: np.ndarray) -> tuple[int, int]:
    """`replay`, also writing the top of book after every book message end (an EV_LEVEL_SET or
    EV_SNAPSHOT_LEVEL with FLAG_EOM) into row ``cnt[0]`` of `tob` (int64 ``[n, TOB_COLS]``; columns `TOB_*`:
    event row, seq, flags, bid price, bid qty, ask price, ask qty; empty side = NO_PRICE, 0) and advancing
    ``cnt[0]``. Stops with `L2_TOB_FULL` when `tob` has no room."""
    return _run(book.bid_qty, book.ask_qty, book.bid_blk, book.ask_blk, book.state, events, start, stop, tob,
                cnt, True)


@njit(cache=True)
def apply_event(book: L2Book, kind: int, side: int, price: int, qty: int) -> int:
    """Apply one event given by its fields (see `replay`). Returns a status code; callable from kernels."""
    if kind == EV_LEVEL_SET or kind == EV_SNAPSHOT_LEVEL:
        if qty < 0:
            return L2_NEGATIVE_QTY
        return set_level_arrays(book.bid_qty, book.ask_qty, book.bid_blk, book.ask_blk, book.state, side, price, qty)
    if kind == EV_CLEAR:
        return clear_arrays(book.bid_qty, book.ask_qty, book.bid_blk, book.ask_blk, book.state, side)
    return L2_OK


@njit(cache=True)
def set_level(book: L2Book, side: int, price: int, qty: int) -> int:
    """Set the total quantity at (`side`, `price`) to `qty` (0 removes the level). Returns a status code."""
    return apply_event(book, EV_LEVEL_SET, side, price, qty)


@njit(cache=True)
def level_qty(book: L2Book, side: int, price: int) -> int:
    """Quantity at (`side`, `price`) (0 outside the allocated range; any int64 price)."""
    if side == BUY:
        i = level_index(price, book.state[BOOK_BID_BASE], book.bid_qty.shape[0])
        return book.bid_qty[i] if i >= 0 else 0
    i = level_index(price, book.state[BOOK_ASK_BASE], book.ask_qty.shape[0])
    return book.ask_qty[i] if i >= 0 else 0


def clear(book: L2Book, side: int) -> int:
    """Empty one side (`BUY` / `SELL`) or both (0). Returns a status code."""
    return apply_event(book, EV_CLEAR, side, 0, 0)


@njit(cache=True)
def top_n(book: L2Book, bid_px: np.ndarray, bid_qty: np.ndarray, ask_px: np.ndarray, ask_qty: np.ndarray) -> int:
    """Fill the caller's arrays (length N each) with the best N levels per side, best first.

    Same output layout as `hft.book.topn.topn_side` (which does the scan): empty slots get price `NO_PRICE`
    and quantity 0. Returns the number of levels filled on the fuller side.
    """
    return top_n_arrays(book.bid_qty, book.ask_qty, book.state, bid_px, bid_qty, ask_px, ask_qty)


@njit(cache=True, _nrt=False)
def top_n_arrays(bq: np.ndarray, aq: np.ndarray, st: np.ndarray, bid_px: np.ndarray, bid_qty: np.ndarray,
                 ask_px: np.ndarray, ask_qty: np.ndarray) -> int:
    """`top_n` on a book's arrays (its bid and ask quantities and its state row), for kernels that hold them
    unpacked (the numba engine's loop). Each side's scan stops at its last non-empty level (``BOOK_N_BID`` /
    ``BOOK_N_ASK`` levels): asking for more levels than the book has does not walk its empty prices."""
    n = bid_px.shape[0]
    k_bid = 0
    nb = min(n, st[BOOK_N_BID])
    if st[BOOK_BEST_BID] != NO_PRICE:
        lo = st[BOOK_BID_LO]  # nothing below the lowest written index: bound the scan there
        best_i = st[BOOK_BEST_BID] - st[BOOK_BID_BASE]
        k_bid = topn_side(bq[lo:best_i + 1], best_i - lo, -1, st[BOOK_BID_BASE] + lo, nb, bid_px, bid_qty)
    for j in range(k_bid, n):
        bid_px[j] = NO_PRICE
        bid_qty[j] = 0
    k_ask = 0
    na = min(n, st[BOOK_N_ASK])
    if st[BOOK_BEST_ASK] != NO_PRICE:
        hi = st[BOOK_ASK_HI]
        best_i = st[BOOK_BEST_ASK] - st[BOOK_ASK_BASE]
        k_ask = topn_side(aq[:hi + 1], best_i, 1, st[BOOK_ASK_BASE], na, ask_px, ask_qty)
    for j in range(k_ask, n):
        ask_px[j] = NO_PRICE
        ask_qty[j] = 0
    return max(k_bid, k_ask)


def best_bid(book: L2Book) -> int:
    """Best bid price in ticks (`NO_PRICE` when empty)."""
    return int(book.state[BOOK_BEST_BID])


def best_ask(book: L2Book) -> int:
    """Best ask price in ticks (`NO_PRICE` when empty)."""
    return int(book.state[BOOK_BEST_ASK])


def rebuild(events: np.ndarray, book: L2Book | None = None) -> L2Book:
    """Replay a whole event array into `book` (sized with `book_for` when None), growing it as needed.

    Raises:
        DataValidationError: on a negative quantity or a bad side (naming the event row).
    """
    if events.dtype != EVENT_DTYPE:
        raise DataValidationError(f"events: expected dtype EVENT_DTYPE, was {events.dtype}")
    if book is None:
        book = book_for(events)
    i, n = 0, len(events)
    while i < n:
        status, i = replay(book, events, i, n)
        if status == L2_OUT_OF_RANGE:
            try:
                book = grow(book, int(events[i]["side"]), int(events[i]["price"]))
            except DataValidationError as e:
                raise DataValidationError(f"event row {i}: {e.message}", line=i, key="price") from None
        elif status != L2_OK:
            raise DataValidationError(f"event row {i}: expected a valid L2 update, was {L2_STATUS_NAMES[status]}",
                                      line=i)
    return book
