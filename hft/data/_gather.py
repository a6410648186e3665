"""Compiled passes of the vendor importers, from a file's columns to the `EVENT_DTYPE` array.

* `gather_events`: a vendor importer holds its files' values as columns, each file's rows one after another,
  and a merge order over them (`hft.data._convert.merge_order`). Building the events with numpy takes a
  fancy-index gather per column and a field-by-field structured copy per column (and, for a snapshot that must
  be preceded by a clear, a spread of every column to its shifted place): ~10 ms for 100k rows of a Tardis pair,
  about a quarter of an import. Here each event is written once, in its final place.
* `expand_levels`: rows of top-N snapshots (one price and one size column per level and side) into a clear and
  one event per non-empty level (numpy's masks over the whole (rows, levels) grid took most of a
  ``book_snapshot_25`` import).
* `least_decimals`: `hft.data._convert.decimals_needed`'s rule in one pass (numpy's sort of the unique values
  took ~35 ms of a ``book_snapshot_25`` import).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hft.core.dtypes import EV_CLEAR, EV_SNAPSHOT_LEVEL, EVENT_DTYPE, FLAG_EOM


@njit(cache=True, nogil=True)
def _gather(out: np.ndarray, order: np.ndarray, clear: np.ndarray, exch: np.ndarray, local: np.ndarray,
            price: np.ndarray, qty: np.ndarray, oid: np.ndarray, seq: np.ndarray, kind: np.ndarray,
            side: np.ndarray, eom: np.ndarray) -> None:
    j = 0
    for i in range(order.shape[0]):
        r = order[i]
        if clear[r]:  # the book clear of a snapshot's first row: its times and seq, both sides, no end of message
            e = out[j]
            e.exch_ts = exch[r]
            e.local_ts = local[r]
            e.seq = seq[r]
            e.kind = EV_CLEAR
            j += 1
        e = out[j]
        e.exch_ts = exch[r]
        e.local_ts = local[r]
        e.price = price[r]
        e.qty = qty[r]
        e.order_id = oid[r]
        e.seq = seq[r]
        e.kind = kind[r]
        e.side = side[r]
        e.flags = FLAG_EOM if eom[r] else 0
        j += 1


def gather_events(order: np.ndarray, *, clear: np.ndarray, exch_ts: np.ndarray, local_ts: np.ndarray,
                  price: np.ndarray, qty: np.ndarray, order_id: np.ndarray, seq: np.ndarray, kind: np.ndarray,
                  side: np.ndarray, eom: np.ndarray) -> np.ndarray:
    """The events of rows ``order[0], order[1], …`` of the columns (every column one value per row: int64 times,
    units, ids and seq; uint8 `kind`, int8 `side`, bool `eom` → FLAG_EOM); a row whose `clear` is set is preceded
    by an EV_CLEAR event with its exchange and local times and seq (side 0: both sides)."""
    out = np.zeros(len(order) + int(np.count_nonzero(clear[order])), EVENT_DTYPE)  # sized by the rows taken
    _gather(out, np.ascontiguousarray(order, np.int64), np.ascontiguousarray(clear, np.bool_),
            np.ascontiguousarray(exch_ts, np.int64), np.ascontiguousarray(local_ts, np.int64),
            np.ascontiguousarray(price, np.int64), np.ascontiguousarray(qty, np.int64),
            np.ascontiguousarray(order_id, np.int64), np.ascontiguousarray(seq, np.int64),
            np.ascontiguousarray(kind, np.uint8), np.ascontiguousarray(side, np.int8),
            np.ascontiguousarray(eom, np.bool_))
    return out


@njit(cache=True, nogil=True)
def expand_levels(ts: np.ndarray, lts: np.ndarray, rows: np.ndarray, px: np.ndarray, qy: np.ndarray,
                  sides: np.ndarray) -> tuple:
    """Top-N snapshot rows → event columns (exch, local, kind, side, price, qty, seq, ends): per row i an EV_CLEAR
    (side 0, price and size 0) then, in column order, an EV_SNAPSHOT_LEVEL of side ``sides[j]`` per level j whose
    price ``px[i, j]`` and size ``qy[i, j]`` are finite with a positive size; the row's last event ends its
    message. `px` / `qy`: float64 (rows, levels), blanks as NaN; times and seq (the row's line) per row."""
    n, k = px.shape
    m = n
    for i in range(n):
        for j in range(k):
            q = qy[i, j]
            if np.isfinite(px[i, j]) and np.isfinite(q) and q > 0:
                m += 1
    exch = np.empty(m, np.int64)
    local = np.empty(m, np.int64)
    seq = np.empty(m, np.int64)
    kind = np.full(m, EV_SNAPSHOT_LEVEL, np.uint8)
    side = np.zeros(m, np.int8)
    price = np.zeros(m, np.float64)
    qty = np.zeros(m, np.float64)
    ends = np.zeros(m, np.bool_)
    e = 0
    for i in range(n):
        kind[e] = EV_CLEAR
        for j in range(-1, k):  # -1: the clear
            if j >= 0:
                p = px[i, j]
                q = qy[i, j]
                if not (np.isfinite(p) and np.isfinite(q) and q > 0):
                    continue
                side[e] = sides[j]
                price[e] = p
                qty[e] = q
            exch[e] = ts[i]
            local[e] = lts[i]
            seq[e] = rows[i]
            e += 1
        ends[e - 1] = True
    return exch, local, kind, side, price, qty, seq, ends


@njit(cache=True, nogil=True, inline="always")
def _exact(a: float, scale: float) -> bool:
    """`a` has at most d decimals, ``scale = 10.0 ** d``."""
    x = a * scale
    return abs(x - np.rint(x)) <= 1e-6 * max(1.0, x * 1e-9)


@njit(cache=True, nogil=True)
def least_decimals(values: np.ndarray, max_d: int) -> int:
    """`hft.data._convert.decimals_needed`'s rule: the least d <= max_d at which every finite value (float64) is
    exact (`_exact`), or -1. d grows only when a value is not exact at d, so no smaller d works; a pass that grew
    d is followed by another over every value at the new d (exactness is not monotone in floats, though it
    nearly always is)."""
    d = 0
    scale = 1.0
    while True:
        grew = False
        for v in values:
            if not np.isfinite(v):
                continue
            a = abs(v)
            while d <= max_d and not _exact(a, scale):
                d += 1
                scale = 10.0 ** d  # exact for d <= 22, as the rule's own 10.0**d
                grew = True
            if d > max_d:
                return -1
        if not grew:
            return d


def warm() -> None:
    """Compile (or load) the kernels for the argument types the importers pass (`hft warmup`)."""
    one = np.zeros(1, np.int64)
    gather_events(one, clear=np.ones(1, np.bool_), exch_ts=one, local_ts=one, price=one, qty=one, order_id=one,
                  seq=one, kind=np.ones(1, np.uint8), side=np.zeros(1, np.int8), eom=np.ones(1, np.bool_))
    grid = np.ones((1, 2))
    expand_levels(one, one, one, grid, grid, np.ones(2, np.int8))
    least_decimals(np.ones(1), 9)
