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
without NRT reference counting (see `hft.book.l3`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hft.core.dtypes import NO_PRICE

__all__ = ["COL_ASK_PX", "COL_ASK_QTY", "COL_BID_PX", "COL_BID_QTY", "NO_PRICE", "ROW_STRIDE",
           "snapshot_row", "topn_side"]

COL_ASK_PX = 0
COL_ASK_QTY = 1
COL_BID_PX = 2
COL_BID_QTY = 3
ROW_STRIDE = 4


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
