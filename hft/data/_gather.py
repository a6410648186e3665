"""One compiled pass from an importer's columns to the `EVENT_DTYPE` array (`gather_events`).

A vendor importer holds its files' values as columns, each file's rows one after another, and a merge order
over them (`hft.data._convert.merge_order`). Building the events with numpy takes a fancy-index gather per
column and a field-by-field structured copy per column (and, for a snapshot that must be preceded by a clear,
a spread of every column to its shifted place): ~10 ms for 100k rows of a Tardis pair, about a quarter of an
import. Here each event is written once, in its final place.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hft.core.dtypes import EV_CLEAR, EVENT_DTYPE, FLAG_EOM


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


def warm() -> None:
    """Compile (or load) `_gather` for the argument types `gather_events` passes (`hft warmup`)."""
    one = np.zeros(1, np.int64)
    gather_events(one, clear=np.ones(1, np.bool_), exch_ts=one, local_ts=one, price=one, qty=one, order_id=one,
                  seq=one, kind=np.ones(1, np.uint8), side=np.zeros(1, np.int8), eom=np.ones(1, np.bool_))
