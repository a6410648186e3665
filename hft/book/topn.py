"""Top-N book snapshots: the shared layout, sentinel and kernels for every book kept as dense level arrays.

A book side is a dense 1-D array of quantities indexed by ``price - base`` (ticks) plus the index of its best
level (``-1`` when the side is empty). Bids are scanned downwards from the best index, asks upwards. Both the
L3 book (`hft.book.l3`, per-side rows of ``lv_qty``) and any L2 book with the same shape can call these
kernels; a book with a different layout keeps its own top-N function but must write the same output layout:

- `topn_side`: the first N occupied levels into caller-allocated ``out_px`` / ``out_qty`` (int64, length >= N);
  the unused tail is ``(NO_PRICE, 0)``.
- `snapshot_row`: one LOBSTER-layout row of 4*N int64: ``ask_px_1, ask_qty_1, bid_px_1, bid_qty_1, …``
  (`COL_*` give the offsets, `ROW_STRIDE` the stride per level). This is also the layout of the reference
  book written by `hft.data.lobster`, so verification compares rows directly.

Empty levels are ``NO_PRICE`` (int64 min) with quantity 0. The kernels never allocate and are compiled
without NRT reference counting (see `hft.book.l3`). Preconditions: ``out_px`` / ``out_qty`` hold at least `n`
cells, ``row`` at least ``4 * n`` (every caller allocates exactly that; numba does not check these writes).

The price domain and the level index
------------------------------------
Every dense-level book (L2 and L3) keeps its level range ``[base, base + n)`` inside ``[-PRICE_LIMIT,
PRICE_LIMIT]`` (2**60 ticks either way, the value domain of `hft.core.bounds`): a price outside it never
gets a level (the L3 book answers `ERR_PRICE_RANGE`, the L2 book's growth a `DataValidationError`). Kernels take
any int64 price all the same (an event file's, a strategy's order) and find its level with `level_index`, which
never overflows: ``price - base`` in int64 would, for a price near +-2**63 (numba marks signed arithmetic
``nsw``: an overflow is undefined behaviour, which LLVM may compile differently per CPU target). `QTY_MAX`
bounds what an L3 level holds (so every order, queue prefix and sum of two of them fits in int64).
"""

from __future__ import annotations

import numpy as np

from hft.core.bounds import MAX_ABS_PRICE
from hft.core.dtypes import NO_PRICE
from hft.core.jit import helper, njit

__all__ = ["COL_ASK_PX", "COL_ASK_QTY", "COL_BID_PX", "COL_BID_QTY", "NO_PRICE", "PRICE_LIMIT", "QTY_MAX",
           "ROW_STRIDE", "in_price_domain", "level_index", "snapshot_row", "topn_side"]

COL_ASK_PX = 0
COL_ASK_QTY = 1
COL_BID_PX = 2
COL_BID_QTY = 3
ROW_STRIDE = 4

PRICE_LIMIT = MAX_ABS_PRICE  # a level's price lies in [-PRICE_LIMIT, PRICE_LIMIT] ticks: the value domain's prices
QTY_MAX = (1 << 62) - 1  # the most lots one L3 level (its anonymous quantity and orders together) may hold


def in_price_domain(price: int) -> bool:
    """Can `price` (ticks) have a level (``-PRICE_LIMIT <= price <= PRICE_LIMIT``)? (Python and numba.)"""
    return -PRICE_LIMIT <= price <= PRICE_LIMIT


@helper
def level_index(price: int, base: int, n: int) -> int:
    """Index ``price - base`` of `price` in the level range ``[base, base + n)``, -1 when outside it, for ANY int64
    `price`. Computed modulo 2**64 (uint64: defined wrap-around, no signed overflow), which is exact when the
    range does not pass int64's maximum (``base + n - 1 <= 2**63 - 1``; every book keeps its range within
    ``+-PRICE_LIMIT``): a price below `base` wraps to at least ``2**64 - (base - price) >= n``."""
    d = np.uint64(price) - np.uint64(base)
    if d < np.uint64(n):
        return np.int64(d)
    return -1


@njit(cache=True, _nrt=False)
def topn_side(qty: np.ndarray, best_idx: int, step: int, base: int, n: int,
              out_px: np.ndarray, out_qty: np.ndarray) -> int:
    """Write the first `n` occupied levels of one side; return how many were found.

    Args:
        qty: dense level quantities, index = price - base.
        best_idx: index of the best level, -1 when the side is empty.
        step: -1 for bids (scan down), +1 for asks (scan up).
        base: price (ticks) of index 0.
        n: levels wanted.
        out_px, out_qty: caller-allocated int64 outputs of length >= n.
    """
    filled = 0
    i = best_idx
    size = qty.shape[0]
    if best_idx >= 0:
        while filled < n and 0 <= i < size:
            q = qty[i]
            if q > 0:
                out_px[filled] = base + i
                out_qty[filled] = q
                filled += 1
            i += step
    for j in range(filled, n):
        out_px[j] = NO_PRICE
        out_qty[j] = 0
    return filled


@njit(cache=True, _nrt=False)
def snapshot_row(bid_qty: np.ndarray, ask_qty: np.ndarray, best_bid_idx: int, best_ask_idx: int,
                 base: int, n: int, row: np.ndarray) -> None:
    """Write the top-`n` book into `row` (int64, length 4*n) in LOBSTER layout (see module docstring)."""
    size = bid_qty.shape[0]
    filled = 0
    i = best_bid_idx
    if best_bid_idx >= 0:
        while filled < n and i >= 0:
            q = bid_qty[i]
            if q > 0:
                row[filled * ROW_STRIDE + COL_BID_PX] = base + i
                row[filled * ROW_STRIDE + COL_BID_QTY] = q
                filled += 1
            i -= 1
    for j in range(filled, n):
        row[j * ROW_STRIDE + COL_BID_PX] = NO_PRICE
        row[j * ROW_STRIDE + COL_BID_QTY] = 0
    filled = 0
    i = best_ask_idx
    if best_ask_idx >= 0:
        while filled < n and i < size:
            q = ask_qty[i]
            if q > 0:
                row[filled * ROW_STRIDE + COL_ASK_PX] = base + i
                row[filled * ROW_STRIDE + COL_ASK_QTY] = q
                filled += 1
            i += 1
    for j in range(filled, n):
        row[j * ROW_STRIDE + COL_ASK_PX] = NO_PRICE
        row[j * ROW_STRIDE + COL_ASK_QTY] = 0
