"""L3 (market-by-order) book: numba kernels over a NamedTuple of numpy arrays, plus a thin Python wrapper.

State (`L3Book`)
----------------
- Orders live in slots: row ``slot`` of ``o`` (int64 ``[C, OW]``, 64-byte aligned: one cache line per order,
  columns ``OC_ID``, ``OC_PRICE``, ``OC_QTY``, ``OC_SIDE``, ``OC_PREV``, ``OC_NEXT``; an event touches an order's
  fields together, and two books replayed in turns share the L2 cache). ``o_id`` ... ``o_next`` are views of its
  columns, for readers. An open-addressing hash table ``ht`` (linear probing, power-of-two size >= 2x the slot
  capacity, backward-shift deletion so there are no tombstones) maps an order id to its slot; the key is read
  from ``o_id[slot]``, so any int64 id is valid. The home cell of an id is a Fibonacci hash computed in uint64
  (`_home`: multiplication modulo 2**64 is defined; in int64 it would be a signed overflow, undefined behaviour
  to LLVM). Which cell an id lands in changes nothing observable: slots come from the free list and the
  high-water mark, never from the table, so only probe lengths depend on the hash. Free slots form a list
  through ``o_next``.
- Price levels are dense per side: row 0 = bids, row 1 = asks, column ``price - base`` (ticks). Each level has
  its total quantity ``lv_qty``, a FIFO queue of orders (``lv_head``/``lv_tail`` + ``o_prev``/``o_next``),
  its order count, and an *anonymous* quantity ``lv_anon`` that sits at the FRONT of the queue: liquidity
  that existed before the recording started or arrived while the level was outside the tracked depth, whose
  orders are unknown. Invariant: ``lv_qty == lv_anon + sum(o_qty of the level's orders)``, all >= 0.
- ``lv_flags`` is a per-level byte free for drivers (the LOBSTER verifier marks observed levels).
- ``meta`` holds the scalars: base price, best bid / best ask index (-1 = empty side), order count, free-list
  head, slot high-water mark.
- Bounds (`hft.book.topn`): the level range lies within ``+-PRICE_LIMIT`` ticks (a price outside it gets no level:
  `ERR_PRICE_RANGE`), so ``base + idx`` never overflows, and a kernel finds any int64 price's level with
  `level_index` (no ``price - base`` overflow). A level holds at most `QTY_MAX` lots (an add beyond it:
  `ERR_QTY_LIMIT`, nothing changed), so every order, queue prefix and level total fits, and so does the sum
  of two of them.

Growth
------
Kernels never allocate: an add that needs a new slot returns `NEED_ORDER_CAPACITY`, a price outside
``[base, base + n_levels)`` returns `NEED_LEVEL_RANGE`. `l3_grow_orders` / `l3_grow_levels` (also njit, so a
numba driver loop can grow in place of returning to Python) return a NEW `L3Book`: order capacity doubles
(hash table rebuilt); the level range at least doubles, always covers the old range and the requested price,
and puts the slack half below and half above (re-centring; moved inward where it would leave ``+-PRICE_LIMIT``).
The span is capped at `MAX_LEVEL_SPAN` ticks.
The new book shares ``meta`` (and the untouched arrays) with the old one: use only the returned book.

Queue position
--------------
`l3_queue_ahead` gives the quantity ahead of an order: its level's anonymous quantity plus every order before
it in the FIFO. The simulator will place its own orders in these queues.

Kernels and drivers
-------------------
The kernels work on an `L3View` of the book (`l3_view`: the arrays' data pointers and sizes), which a nested call
passes in 16 machine words instead of the ~110 of the 14 array views; the ``l3_*`` functions take the `L3Book`
and call the view's kernels (``add_v``, ``reduce_v``, ...), which a numba caller with a view of its own (the L3
venue) calls directly. Kernels return status codes (`OK` and the codes below) and never raise; `hft.book.l3_replay.L3OrderBook` turns codes into
`DataValidationError`. Kernels that never allocate are compiled without NRT reference counting, so a numba
loop can call them per event cheaply. The whole-stream driver `l3_replay`, the invariant check `l3_validate`
and the Python wrapper `L3OrderBook` live in `hft.book.l3_replay`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import types
from numba.extending import intrinsic

from hft.book.topn import PRICE_LIMIT, QTY_MAX, in_price_domain, level_index, snapshot_row
from hft.core.dtypes import BUY, NO_PRICE, SELL
from hft.core.errors import DataValidationError
from hft.core.jit import helper, njit

__all__ = [
    "ASK",
    "BID",
    "ERR_ANON_EXCEEDS",
    "ERR_BAD_QTY",
    "ERR_BAD_SIDE",
    "ERR_DUPLICATE_ID",
    "ERR_PRICE_RANGE",
    "ERR_QTY_EXCEEDS",
    "ERR_QTY_LIMIT",
    "ERR_UNKNOWN_ORDER",
    "MAX_LEVEL_SPAN",
    "NEED_LEVEL_RANGE",
    "NEED_ORDER_CAPACITY",
    "OC_ID",
    "OC_NEXT",
    "OC_PREV",
    "OC_PRICE",
    "OC_QTY",
    "OC_SIDE",
    "OK",
    "OW",
    "PRICE_LIMIT",
    "QTY_MAX",
    "STATUS_NAMES",
    "L3Book",
    "L3View",
    "add_anon_v",
    "add_v",
    "delete_v",
    "l3_add",
    "l3_add_anon",
    "l3_best_ask",
    "l3_best_bid",
    "l3_cancel",
    "l3_delete",
    "l3_drop_level_orders",
    "l3_ensure_order_capacity",
    "l3_ensure_price",
    "l3_execute",
    "l3_grow_levels",
    "l3_grow_orders",
    "l3_level_anon",
    "l3_level_count",
    "l3_level_qty",
    "l3_order_price",
    "l3_order_qty",
    "l3_queue_ahead",
    "l3_remove_anon",
    "l3_snapshot",
    "l3_view",
    "level_above",
    "level_below",
    "new_l3_book",
    "queue_ahead_v",
    "reduce_v",
    "remove_anon_v",
]

# --- status codes ------------------------------------------------------------------------------------------
OK = 0
ERR_BAD_QTY = 1  # quantity <= 0
ERR_BAD_SIDE = 2  # side not BUY (1) / SELL (-1)
ERR_DUPLICATE_ID = 3  # add of an id already in the book
ERR_UNKNOWN_ORDER = 4  # cancel / delete / execute of an id not in the book
ERR_QTY_EXCEEDS = 5  # cancel / execute of more than the order's remaining quantity
ERR_ANON_EXCEEDS = 6  # removal of more anonymous quantity than the level holds
ERR_PRICE_RANGE = 7  # the price would need a level span above MAX_LEVEL_SPAN, or lies outside +-PRICE_LIMIT
NEED_ORDER_CAPACITY = 8  # grow with l3_grow_orders and retry
NEED_LEVEL_RANGE = 9  # grow with l3_grow_levels(book, price) and retry
ERR_QTY_LIMIT = 10  # the level would hold more than QTY_MAX lots

STATUS_NAMES: dict[int, str] = {
    OK: "ok", ERR_BAD_QTY: "bad_qty", ERR_BAD_SIDE: "bad_side", ERR_DUPLICATE_ID: "duplicate_id",
    ERR_UNKNOWN_ORDER: "unknown_order", ERR_QTY_EXCEEDS: "qty_exceeds_remaining",
    ERR_ANON_EXCEEDS: "qty_exceeds_anonymous", ERR_PRICE_RANGE: "price_out_of_range",
    NEED_ORDER_CAPACITY: "need_order_capacity", NEED_LEVEL_RANGE: "need_level_range",
    ERR_QTY_LIMIT: "level_qty_limit",
}

BID = 0  # row of the level arrays for BUY
ASK = 1  # row of the level arrays for SELL
MAX_LEVEL_SPAN = 1 << 21  # ticks per side a book may span (2M levels ≈ 80 MB of level arrays)

# Kernels that never allocate are compiled without NRT reference counting (`_nrt=False`): a function taking
# the 14-array `L3Book` otherwise increfs and decrefs every member on each call (~28 atomic calls, measured
# ~0.3 µs per operation). Only the growth functions and drivers that grow the book allocate.
_kernel = njit(cache=True, _nrt=False)

# meta slots
M_BASE = 0
M_BEST_BID = 1
M_BEST_ASK = 2
M_NORDERS = 3
M_FREE = 4
M_HWM = 5
_META_SIZE = 8
_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio (Fibonacci hashing); uint64: wraps, defined
# columns of an order slot's row in ``o`` (OW words: one 64-byte cache line)
OC_ID = 0
OC_PRICE = 1  # ticks
OC_QTY = 2  # remaining
OC_SIDE = 3  # BID / ASK row
OC_PREV = 4
OC_NEXT = 5  # free-list link for free slots
OW = 8


class L3Book(NamedTuple):
    """Market-by-order book state (see the module docstring for the layout)."""

    meta: np.ndarray  # int64[8]
    ht: np.ndarray  # int64[H]: slot or -1
    o: np.ndarray  # int64[C, OW]: the order slots, one row (cache line) each, columns OC_*
    o_id: np.ndarray  # int64[C]: o[:, OC_ID] (a view; likewise the next five)
    o_price: np.ndarray  # int64[C], ticks
    o_qty: np.ndarray  # int64[C], remaining
    o_side: np.ndarray  # int64[C], BID / ASK row
    o_prev: np.ndarray  # int64[C]
    o_next: np.ndarray  # int64[C] (free-list link for free slots)
    lv_qty: np.ndarray  # int64[2, N]
    lv_anon: np.ndarray  # int64[2, N]
    lv_head: np.ndarray  # int64[2, N]
    lv_tail: np.ndarray  # int64[2, N]
    lv_count: np.ndarray  # int64[2, N]
    lv_flags: np.ndarray  # uint8[2, N]


def _pow2_at_least(n: int) -> int:
    return 1 << max(4, int(n - 1).bit_length())


@njit(cache=True)
def _order_rows(cap: int) -> np.ndarray:
    """Empty order slots: int64 ``[cap, OW]`` starting on a 64-byte boundary (a row is one cache line), links -1."""
    buf = np.zeros(cap * OW + OW, np.int64)
    off = ((-buf.ctypes.data) & 63) >> 3
    o = buf[off:off + cap * OW].reshape((cap, OW))
    o[:, OC_PREV] = -1
    o[:, OC_NEXT] = -1
    return o


def new_l3_book(base_price: int = 0, n_levels: int = 4096, order_capacity: int = 4096) -> L3Book:
    """An empty book covering prices ``[base_price, base_price + n_levels)``; both grow on demand.

    Raises:
        DataValidationError: a range outside ``+-PRICE_LIMIT`` ticks (`hft.book.topn`, "The price domain").
    """
    n_levels = max(16, int(n_levels))
    cap = max(16, int(order_capacity))
    base_price = int(base_price)
    if not (in_price_domain(base_price) and in_price_domain(base_price + n_levels - 1)):
        raise DataValidationError(
            f"L3 book: expected its price range within +-{PRICE_LIMIT} ticks, was [{base_price}, "
            f"{base_price + n_levels - 1}]", expected=f"prices within +-{PRICE_LIMIT}", found=base_price)
    meta = np.zeros(_META_SIZE, dtype=np.int64)
    meta[M_BASE] = base_price
    meta[M_BEST_BID] = -1
    meta[M_BEST_ASK] = -1
    meta[M_FREE] = -1
    o = _order_rows(cap)
    return L3Book(
        meta=meta,
        ht=np.full(_pow2_at_least(2 * cap), -1, dtype=np.int64),
        o=o,
        o_id=o[:, OC_ID],
        o_price=o[:, OC_PRICE],
        o_qty=o[:, OC_QTY],
        o_side=o[:, OC_SIDE],
        o_prev=o[:, OC_PREV],
        o_next=o[:, OC_NEXT],
        lv_qty=np.zeros((2, n_levels), dtype=np.int64),
        lv_anon=np.zeros((2, n_levels), dtype=np.int64),
        lv_head=np.full((2, n_levels), -1, dtype=np.int64),
        lv_tail=np.full((2, n_levels), -1, dtype=np.int64),
        lv_count=np.zeros((2, n_levels), dtype=np.int64),
        lv_flags=np.zeros((2, n_levels), dtype=np.uint8),
    )


# --- the kernels' view of a book -------------------------------------------------------------------------------


class L3View(NamedTuple):
    """What the kernels pass around: the data pointers of a book's arrays (``CPointer(int64)``, indexed like the
    arrays, without negative-index wrap-around and without reference counting; a level array ``[2, n]`` is indexed
    ``row * n + idx``, the order slots ``o`` ``OW * slot + OC_*``), its level count per side, hash mask and order
    capacity (`l3_view`). A NamedTuple of the array views costs ~100 words pushed per *nested call* in numba;
    this one costs 11. The caller keeps the
    book alive (and unchanged: growth makes a new book, so a new view) while a view is in use.

    Reads and writes through these pointers are not bounds-checked (not even under ``NUMBA_BOUNDSCHECK=1``), so
    every kernel keeps these preconditions, each named where it is established:

    - a level cell ``row * n + idx``: ``row`` is ``BID`` / ``ASK`` (`_side_row` answers -1 for any other side,
      checked before use; a stored ``OC_SIDE`` is always one of them) and ``0 <= idx < n``: from `level_index`
      (-1 outside: ``NEED_LEVEL_RANGE`` / ``ERR_ANON_EXCEEDS``, checked before the read), from an order's stored
      price (every resting order's price has a level: growth keeps the old range), or from a best index /
      `level_below` / `level_above` (which scan only ``[0, n)`` and answer -1 for none, checked before use);
    - an order cell ``OW * s + OC_*``: ``0 <= s < cap``: a slot from `find_order` (>= 0 checked), a queue link or head
      (-1 ends it), the free list or the high-water mark (``< cap`` checked: ``NEED_ORDER_CAPACITY``);
    - a hash cell ``ht[i]``: ``i`` is masked with ``hmask`` (the size is a power of two), and the table always has
      an empty cell (size >= 2 x capacity), so every probe ends; `_ht_remove` is called only for an id present
      (a live slot's), so its probe never reads the -1 of an empty cell as a slot;
    - ``meta``: the constant indices ``M_*`` < 8."""

    meta: np.ndarray
    ht: np.ndarray
    o: np.ndarray
    lv_qty: np.ndarray
    lv_anon: np.ndarray
    lv_head: np.ndarray
    lv_tail: np.ndarray
    lv_count: np.ndarray
    n: int  # price levels per side
    hmask: int  # hash table size - 1
    cap: int  # order slots


@intrinsic
def ptr(typingctx, arr):
    """The data pointer of an int64 array as ``CPointer(int64)``: cell ``k`` of the pointer is element ``k`` of the
    array in row-major order (indexed like a flat 1-D array; no negative-index wrap-around, no bounds check).

    Preconditions: the array is int64 and C-contiguous (checked when the call is compiled: anything else does not
    type, since a strided or other-dtype array would be read wrongly); the caller keeps it alive while the pointer
    is in use and reads only cells ``0 <= k < arr.size`` (see `L3View` for the book's)."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64 and arr.layout == "C"):
        return None  # a typing failure: `ptr` of anything but a C-contiguous int64 array
    def codegen(context, builder, signature, args):
        return context.make_array(signature.args[0])(context, builder, args[0]).data

    return types.CPointer(types.int64)(arr), codegen


@helper
def l3_view(book: L3Book) -> L3View:
    """The kernels' view of `book` (`L3View`)."""
    return L3View(ptr(book.meta), ptr(book.ht), ptr(book.o), ptr(book.lv_qty), ptr(book.lv_anon),
                  ptr(book.lv_head), ptr(book.lv_tail), ptr(book.lv_count), book.lv_qty.shape[1],
                  book.ht.shape[0] - 1, book.o.shape[0])


# --- hash table --------------------------------------------------------------------------------------------


@_kernel
def _home(key: int, mask: int) -> int:
    """Home cell of order id `key` in a table of ``mask + 1`` cells (a power of two): ``h = key * 0x9E3779B97F4A7C15``
    modulo 2**64, ``(h ^ (h >> 29)) & mask``, all in uint64 (an int64 multiply that wraps is undefined behaviour)."""
    h = np.uint64(key) * _HASH_MUL
    h ^= h >> np.uint64(29)
    return np.int64(h & np.uint64(mask))


@_kernel
def find_order(v: L3View, oid: int) -> int:
    """Slot of order `oid`, -1 when unknown."""
    ht = v.ht
    mask = v.hmask
    i = _home(oid, mask)
    while True:
        s = ht[i]
        if s < 0:
            return -1
        if v.o[OW * s + OC_ID] == oid:
            return s
        i = (i + 1) & mask


@_kernel
def _ht_insert(v: L3View, slot: int) -> None:
    ht = v.ht
    mask = v.hmask
    i = _home(v.o[OW * slot + OC_ID], mask)
    while ht[i] >= 0:
        i = (i + 1) & mask
    ht[i] = slot


@_kernel
def _ht_remove(v: L3View, oid: int) -> None:
    """Remove `oid` (must be present); backward-shift the following cluster so probing stays correct."""
    ht = v.ht
    mask = v.hmask
    i = _home(oid, mask)
    while v.o[OW * (ht[i]) + OC_ID] != oid:
        i = (i + 1) & mask
    j = i
    while True:
        j = (j + 1) & mask
        s = ht[j]
        if s < 0:
            break
        k = _home(v.o[OW * s + OC_ID], mask)
        # leave s where it is if its home lies cyclically in (i, j]
        if (i < j and i < k <= j) or (i > j and (k > i or k <= j)):
            continue
        ht[i] = s
        i = j
    ht[i] = -1


# --- levels ------------------------------------------------------------------------------------------------


@_kernel
def _side_row(side: int) -> int:
    if side == BUY:
        return BID
    if side == SELL:
        return ASK
    return -1


@_kernel
def _level_added(v: L3View, row: int, idx: int) -> None:
    """Quantity appeared at (row, idx): update the best index."""
    meta = v.meta
    if row == BID:
        if meta[M_BEST_BID] < idx:
            meta[M_BEST_BID] = idx
    elif meta[M_BEST_ASK] < 0 or idx < meta[M_BEST_ASK]:
        meta[M_BEST_ASK] = idx


@helper  # at its callers (each op that can empty a level): a call per removal less
def _level_reduced(v: L3View, row: int, idx: int) -> None:
    """Quantity left (row, idx): if the best level emptied, scan to the next occupied one."""
    meta = v.meta
    qty = v.lv_qty
    n = v.n
    if qty[row * n + idx] > 0:
        return
    if row == BID:
        if meta[M_BEST_BID] == idx:
            meta[M_BEST_BID] = level_below(qty, idx - 1)  # -1 when empty
    elif meta[M_BEST_ASK] == idx:
        meta[M_BEST_ASK] = level_above(qty, n, idx + 1)


# The next non-empty level: the scans the best price and the venue's walks of a side make. Quantities are >= 0, so
# eight levels are tested at once by one OR (a level-1 LOBSTER day leaves the venue's book sparse below the touch:
# tens of empty levels per scan).
@_kernel
def level_below(qty: np.ndarray, i: int) -> int:
    """The highest index <= `i` of a non-empty bid level (``qty``: a view's level quantities; -1: none)."""
    while i >= 7 and (qty[i] | qty[i - 1] | qty[i - 2] | qty[i - 3] | qty[i - 4] | qty[i - 5] | qty[i - 6]
                      | qty[i - 7]) == 0:
        i -= 8
    while i >= 0 and qty[i] == 0:
        i -= 1
    return i


@_kernel
def level_above(qty: np.ndarray, n: int, i: int) -> int:
    """The lowest index >= `i` of a non-empty ask level (``qty``: a view's level quantities, `n` per side; -1:
    none)."""
    a = n + i
    while i + 7 < n and (qty[a] | qty[a + 1] | qty[a + 2] | qty[a + 3] | qty[a + 4] | qty[a + 5] | qty[a + 6]
                         | qty[a + 7]) == 0:
        i += 8
        a += 8
    while i < n and qty[n + i] == 0:
        i += 1
    return i if i < n else -1


@_kernel
def _unlink(v: L3View, s: int) -> None:
    """Take slot `s` out of its level queue (quantities untouched)."""
    lv = v.o[OW * s + OC_SIDE] * v.n + v.o[OW * s + OC_PRICE] - v.meta[M_BASE]
    p = v.o[OW * s + OC_PREV]
    n = v.o[OW * s + OC_NEXT]
    if p >= 0:
        v.o[OW * p + OC_NEXT] = n
    else:
        v.lv_head[lv] = n
    if n >= 0:
        v.o[OW * n + OC_PREV] = p
    else:
        v.lv_tail[lv] = p
    v.lv_count[lv] -= 1


@_kernel
def _free_slot(v: L3View, s: int) -> None:
    _ht_remove(v, v.o[OW * s + OC_ID])
    v.o[OW * s + OC_QTY] = 0
    v.o[OW * s + OC_PREV] = -1
    v.o[OW * s + OC_NEXT] = v.meta[M_FREE]
    v.meta[M_FREE] = s
    v.meta[M_NORDERS] -= 1


# --- operations (on a view; the ``l3_*`` functions of an `L3Book` below call them) ------------------------


@_kernel
def add_v(v: L3View, oid: int, side: int, price: int, qty: int) -> int:
    """`l3_add` on a view."""
    row = _side_row(side)
    if row < 0:
        return ERR_BAD_SIDE
    if qty <= 0:
        return ERR_BAD_QTY
    idx = level_index(price, v.meta[M_BASE], v.n)
    if idx < 0:
        return NEED_LEVEL_RANGE
    lv = row * v.n + idx
    if qty > QTY_MAX - v.lv_qty[lv]:  # 0 <= lv_qty <= QTY_MAX: no overflow
        return ERR_QTY_LIMIT
    if find_order(v, oid) >= 0:
        return ERR_DUPLICATE_ID
    meta = v.meta
    s = meta[M_FREE]
    if s >= 0:
        meta[M_FREE] = v.o[OW * s + OC_NEXT]
    else:
        if meta[M_HWM] >= v.cap:
            return NEED_ORDER_CAPACITY
        s = meta[M_HWM]
        meta[M_HWM] += 1
    v.o[OW * s + OC_ID] = oid
    v.o[OW * s + OC_PRICE] = price
    v.o[OW * s + OC_QTY] = qty
    v.o[OW * s + OC_SIDE] = row
    tail = v.lv_tail[lv]
    v.o[OW * s + OC_PREV] = tail
    v.o[OW * s + OC_NEXT] = -1
    if tail >= 0:
        v.o[OW * tail + OC_NEXT] = s
    else:
        v.lv_head[lv] = s
    v.lv_tail[lv] = s
    v.lv_count[lv] += 1
    v.lv_qty[lv] += qty
    meta[M_NORDERS] += 1
    _ht_insert(v, s)
    _level_added(v, row, idx)
    return OK


@_kernel
def reduce_v(v: L3View, oid: int, qty: int) -> int:
    """`l3_cancel` / `l3_execute` on a view: remove `qty` from the order (it leaves the book at 0)."""
    if qty <= 0:
        return ERR_BAD_QTY
    s = find_order(v, oid)
    if s < 0:
        return ERR_UNKNOWN_ORDER
    if qty > v.o[OW * s + OC_QTY]:
        return ERR_QTY_EXCEEDS
    row = v.o[OW * s + OC_SIDE]
    idx = v.o[OW * s + OC_PRICE] - v.meta[M_BASE]
    v.o[OW * s + OC_QTY] -= qty
    v.lv_qty[row * v.n + idx] -= qty
    if v.o[OW * s + OC_QTY] == 0:
        _unlink(v, s)
        _free_slot(v, s)
    _level_reduced(v, row, idx)
    return OK


@_kernel
def delete_v(v: L3View, oid: int) -> int:
    """`l3_delete` on a view."""
    s = find_order(v, oid)
    if s < 0:
        return ERR_UNKNOWN_ORDER
    row = v.o[OW * s + OC_SIDE]
    idx = v.o[OW * s + OC_PRICE] - v.meta[M_BASE]
    v.lv_qty[row * v.n + idx] -= v.o[OW * s + OC_QTY]
    _unlink(v, s)
    _free_slot(v, s)
    _level_reduced(v, row, idx)
    return OK


@_kernel
def add_anon_v(v: L3View, side: int, price: int, qty: int) -> int:
    """`l3_add_anon` on a view."""
    row = _side_row(side)
    if row < 0:
        return ERR_BAD_SIDE
    if qty <= 0:
        return ERR_BAD_QTY
    idx = level_index(price, v.meta[M_BASE], v.n)
    if idx < 0:
        return NEED_LEVEL_RANGE
    if qty > QTY_MAX - v.lv_qty[row * v.n + idx]:
        return ERR_QTY_LIMIT
    v.lv_anon[row * v.n + idx] += qty
    v.lv_qty[row * v.n + idx] += qty
    _level_added(v, row, idx)
    return OK


@_kernel
def remove_anon_v(v: L3View, side: int, price: int, qty: int) -> int:
    """`l3_remove_anon` on a view."""
    row = _side_row(side)
    if row < 0:
        return ERR_BAD_SIDE
    if qty <= 0:
        return ERR_BAD_QTY
    idx = level_index(price, v.meta[M_BASE], v.n)
    if idx < 0 or qty > v.lv_anon[row * v.n + idx]:
        return ERR_ANON_EXCEEDS
    v.lv_anon[row * v.n + idx] -= qty
    v.lv_qty[row * v.n + idx] -= qty
    _level_reduced(v, row, idx)
    return OK


@_kernel
def queue_ahead_v(v: L3View, oid: int) -> int:
    """`l3_queue_ahead` on a view."""
    s = find_order(v, oid)
    if s < 0:
        return -1
    ahead = v.lv_anon[v.o[OW * s + OC_SIDE] * v.n + v.o[OW * s + OC_PRICE] - v.meta[M_BASE]]
    p = v.o[OW * s + OC_PREV]
    while p >= 0:
        ahead += v.o[OW * p + OC_QTY]
        p = v.o[OW * p + OC_PREV]
    return ahead


@_kernel
def l3_add(book: L3Book, oid: int, side: int, price: int, qty: int) -> int:
    """Add a resting order at the back of its price level's queue."""
    return add_v(l3_view(book), oid, side, price, qty)


@_kernel
def l3_cancel(book: L3Book, oid: int, qty: int) -> int:
    """Partial cancel: remove `qty` from the order (keeps its queue place; removes it when it reaches 0)."""
    return reduce_v(l3_view(book), oid, qty)


@_kernel
def l3_execute(book: L3Book, oid: int, qty: int) -> int:
    """Execution of `qty` against the order (removes it when fully filled)."""
    return reduce_v(l3_view(book), oid, qty)


@_kernel
def l3_delete(book: L3Book, oid: int) -> int:
    """Remove the order and all its remaining quantity."""
    return delete_v(l3_view(book), oid)


@_kernel
def l3_add_anon(book: L3Book, side: int, price: int, qty: int) -> int:
    """Add anonymous (unknown-order) quantity at the front of a level's queue."""
    return add_anon_v(l3_view(book), side, price, qty)


@_kernel
def l3_remove_anon(book: L3Book, side: int, price: int, qty: int) -> int:
    """Remove anonymous quantity (a cancel / execution of an order the book never saw)."""
    return remove_anon_v(l3_view(book), side, price, qty)


@_kernel
def l3_drop_level_orders(book: L3Book, side: int, price: int) -> int:
    """Forget every known order of a level, turning its quantity into anonymous quantity.

    Used when a level's composition is no longer known (it changed while unobserved). The level total is
    unchanged. Returns the number of orders dropped (0 for an empty level or a bad side / price).
    """
    row = _side_row(side)
    idx = level_index(price, book.meta[M_BASE], book.lv_qty.shape[1])
    if row < 0 or idx < 0:
        return 0
    v = l3_view(book)
    dropped = 0
    s = book.lv_head[row, idx]
    while s >= 0:
        nxt = book.o_next[s]
        book.lv_anon[row, idx] += book.o_qty[s]
        _free_slot(v, s)
        dropped += 1
        s = nxt
    book.lv_head[row, idx] = -1
    book.lv_tail[row, idx] = -1
    book.lv_count[row, idx] = 0
    return dropped


# --- growth ------------------------------------------------------------------------------------------------


@njit(cache=True)
def l3_grow_orders(book: L3Book) -> L3Book:
    """A new book with twice the order capacity (hash table rebuilt); levels are shared, not copied."""
    cap = book.o.shape[0]
    new_cap = 2 * cap
    o = _order_rows(new_cap)
    o[:cap] = book.o
    h = book.ht.shape[0]
    while h < 2 * new_cap:
        h *= 2
    ht = np.full(h, -1, np.int64)
    grown = L3Book(book.meta, ht, o, o[:, OC_ID], o[:, OC_PRICE], o[:, OC_QTY], o[:, OC_SIDE], o[:, OC_PREV],
                   o[:, OC_NEXT], book.lv_qty, book.lv_anon, book.lv_head, book.lv_tail, book.lv_count,
                   book.lv_flags)
    v = l3_view(grown)
    for i in range(book.ht.shape[0]):
        s = book.ht[i]
        if s >= 0:
            _ht_insert(v, s)
    return grown


@njit(cache=True)
def l3_grow_levels(book: L3Book, price: int) -> L3Book:
    """A new book whose level range covers the old range and `price` (see "Growth" in the module docs).

    Returns `book` itself when `price` is already covered, lies outside ``+-PRICE_LIMIT`` or the span would exceed
    `MAX_LEVEL_SPAN`. The arithmetic cannot overflow: the old range and `price` lie within ``+-PRICE_LIMIT`` (2**60),
    so every difference below is under 2**63.
    """
    meta = book.meta
    base = meta[M_BASE]
    n = book.lv_qty.shape[1]
    if price < -PRICE_LIMIT or price > PRICE_LIMIT:
        return book
    lo = min(base, price)
    hi = max(base + n - 1, price)
    span = hi - lo + 1
    if span <= n or span > MAX_LEVEL_SPAN:
        return book
    new_n = min(max(2 * n, 2 * span), MAX_LEVEL_SPAN)
    new_base = lo - (new_n - span) // 2
    # keep the new range inside the price domain: [lo, hi] is inside it, and new_n >= span, so it still covers them
    new_base = min(max(new_base, -PRICE_LIMIT), PRICE_LIMIT + 1 - new_n)
    off = base - new_base
    lv_qty = np.zeros((2, new_n), np.int64)
    lv_anon = np.zeros((2, new_n), np.int64)
    lv_head = np.full((2, new_n), -1, np.int64)
    lv_tail = np.full((2, new_n), -1, np.int64)
    lv_count = np.zeros((2, new_n), np.int64)
    lv_flags = np.zeros((2, new_n), np.uint8)
    lv_qty[:, off:off + n] = book.lv_qty
    lv_anon[:, off:off + n] = book.lv_anon
    lv_head[:, off:off + n] = book.lv_head
    lv_tail[:, off:off + n] = book.lv_tail
    lv_count[:, off:off + n] = book.lv_count
    lv_flags[:, off:off + n] = book.lv_flags
    meta[M_BASE] = new_base
    if meta[M_BEST_BID] >= 0:
        meta[M_BEST_BID] += off
    if meta[M_BEST_ASK] >= 0:
        meta[M_BEST_ASK] += off
    return L3Book(meta, book.ht, book.o, book.o_id, book.o_price, book.o_qty, book.o_side, book.o_prev,
                  book.o_next, lv_qty, lv_anon, lv_head, lv_tail, lv_count, lv_flags)


@njit(cache=True)
def l3_ensure_price(book: L3Book, price: int) -> L3Book:
    """`book`, grown if needed so that `price` has a level (unchanged when the span cap is hit or `price` lies
    outside ``+-PRICE_LIMIT``)."""
    if level_index(price, book.meta[M_BASE], book.lv_qty.shape[1]) >= 0:
        return book
    return l3_grow_levels(book, price)


@njit(cache=True)
def l3_ensure_order_capacity(book: L3Book) -> L3Book:
    """`book`, grown if needed so that one more order fits."""
    if book.meta[M_FREE] >= 0 or book.meta[M_HWM] < book.o_id.shape[0]:
        return book
    return l3_grow_orders(book)


# --- queries -----------------------------------------------------------------------------------------------


@_kernel
def l3_best_bid(book: L3Book) -> int:
    """Best bid price (ticks), `NO_PRICE` when there is no bid."""
    i = book.meta[M_BEST_BID]
    return book.meta[M_BASE] + i if i >= 0 else NO_PRICE


@_kernel
def l3_best_ask(book: L3Book) -> int:
    """Best ask price (ticks), `NO_PRICE` when there is no ask."""
    i = book.meta[M_BEST_ASK]
    return book.meta[M_BASE] + i if i >= 0 else NO_PRICE


@_kernel
def _level_value(book: L3Book, arr: np.ndarray, side: int, price: int) -> int:
    row = _side_row(side)
    idx = level_index(price, book.meta[M_BASE], arr.shape[1])
    if row < 0 or idx < 0:
        return 0
    return arr[row, idx]


@_kernel
def l3_level_qty(book: L3Book, side: int, price: int) -> int:
    """Total quantity at a level (0 when empty or outside the range)."""
    return _level_value(book, book.lv_qty, side, price)


@_kernel
def l3_level_anon(book: L3Book, side: int, price: int) -> int:
    """Anonymous (front-of-queue, unknown-order) quantity at a level."""
    return _level_value(book, book.lv_anon, side, price)


@_kernel
def l3_level_count(book: L3Book, side: int, price: int) -> int:
    """Number of known orders queued at a level."""
    return _level_value(book, book.lv_count, side, price)


@_kernel
def l3_order_qty(book: L3Book, oid: int) -> int:
    """Remaining quantity of an order, -1 when unknown."""
    s = find_order(l3_view(book), oid)
    return book.o_qty[s] if s >= 0 else -1


@_kernel
def l3_order_price(book: L3Book, oid: int) -> int:
    """Price of an order, `NO_PRICE` when unknown."""
    s = find_order(l3_view(book), oid)
    return book.o_price[s] if s >= 0 else NO_PRICE


@_kernel
def l3_queue_ahead(book: L3Book, oid: int) -> int:
    """Quantity queued ahead of an order (anonymous front quantity + earlier orders); -1 when unknown."""
    return queue_ahead_v(l3_view(book), oid)


@_kernel
def l3_snapshot(book: L3Book, n: int, row: np.ndarray) -> None:
    """Top-`n` levels into `row` (int64[4n], LOBSTER layout, see `hft.book.topn`)."""
    snapshot_row(book.lv_qty[BID], book.lv_qty[ASK], book.meta[M_BEST_BID], book.meta[M_BEST_ASK],
                 book.meta[M_BASE], n, row)
