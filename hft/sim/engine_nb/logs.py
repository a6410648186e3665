"""The run's logs from the in-kernel order path's int64 rows (numba; `hft.sim.engine_nb`, "In-kernel order path"):
one pass per log instead of a numpy cast per field (~15 ns per value; 3 ms for a LOBSTER day's decisions).

Each kernel fills a caller-allocated record array of the log's dtype (`hft.sim.engine`) from rows whose columns
are the dtype's fields in order (integers narrowed as numpy's assignment narrows them), except the decision
log, whose layout the kernel's decision rows give (`hft.sim.engine_nb.state`, ``D_COLS``). `LazyRecords` and
`LazyMap` hold what only a Python consumer after the run needs (the `Decision` records, the side map) until it
is first read."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

import numpy as np

from hft.gateway import kernels as GK
from hft.sim.engine_nb.state import _kernel


def concat_records(parts: Sequence[np.ndarray], dtype: np.dtype) -> np.ndarray:
    """`parts` (C-contiguous record arrays of `dtype`) end to end. numpy copies an aligned record dtype field by
    field (~35 ns a row: 0.65 ms for a LOBSTER day's decisions, even for `np.concatenate` of one part), so one
    part is returned as it is and several are joined as bytes."""
    if not parts:
        return np.zeros(0, dtype)
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p.view(np.uint8) for p in parts]).view(dtype)


@_kernel
def decision_log_rows(rows, out) -> None:
    """`DECISION_LOG_DTYPE` rows of the kernel's decision rows (what `decision_log` makes of their records)."""
    for i in range(rows.shape[0]):
        code = rows[i, 10]
        reason = code & 0xFFFF
        r = out[i]
        r.seq = rows[i, 0]
        r.ts = rows[i, 1]
        r.order_id = rows[i, 11]
        r.target_id = rows[i, 9]
        r.price = rows[i, 5]
        r.qty = rows[i, 6]
        r.reason = reason
        r.kind = rows[i, 3]
        r.side = rows[i, 4]
        r.accepted = reason == 0
        r.duplicate = code >= GK.DUP_FLAG


@_kernel
def order_log_rows(rows, out) -> None:
    """`ORDER_LOG_DTYPE` rows (`Engine._order_rows` layout)."""
    for i in range(rows.shape[0]):
        r = out[i]
        r.ts = rows[i, 0]
        r.order_id = rows[i, 1]
        r.price = rows[i, 2]
        r.qty = rows[i, 3]
        r.action = rows[i, 4]
        r.side = rows[i, 5]
        r.order_type = rows[i, 6]
        r.tif = rows[i, 7]


@_kernel
def fill_log_rows(rows, out) -> None:
    """`FILL_LOG_DTYPE` rows (`Engine._fill_rows` layout)."""
    for i in range(rows.shape[0]):
        r = out[i]
        r.ts = rows[i, 0]
        r.local_ts = rows[i, 1]
        r.order_id = rows[i, 2]
        r.price = rows[i, 3]
        r.qty = rows[i, 4]
        r.leaves = rows[i, 5]
        r.fee = rows[i, 6]
        r.side = rows[i, 7]
        r.kind = rows[i, 8]
        r.liquidity = rows[i, 9]


@_kernel
def ack_log_rows(info, side_col, ack_col, queue_col, n, out) -> int:
    """`ACK_LOG_DTYPE` rows of the side map's acked orders of ours (ids below `n`, by id: ``info[id, side_col] !=
    0`` and ``info[id, ack_col] != 0``); returns how many (`out` has room for `n`)."""
    k = 0
    for oid in range(n):
        if info[oid, side_col] != 0 and info[oid, ack_col] != 0:
            r = out[k]
            r.order_id = oid
            r.ack_ts = info[oid, ack_col]
            r.queue = info[oid, queue_col]
            k += 1
    return k


class _BuiltOnFirstUse:
    """Holds a `build` function until the value is first needed, then the value."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build: Callable[[], Any] | None = build
        self._value: Any = None

    def _all(self) -> Any:
        if self._build is not None:
            self._value = self._build()
            self._build = None
        return self._value


class LazyRecords(_BuiltOnFirstUse, Sequence):
    """A sequence built on first use (the gateway's `Decision` records of a run: Python objects that only a store
    write needs)."""

    def __getitem__(self, i):  # type: ignore[override]
        return self._all()[i]

    def __len__(self) -> int:
        return len(self._all())


class LazyMap(_BuiltOnFirstUse, MutableMapping):
    """A dict built on first use (the side of every order of a run, by order id: only a Python path after the run
    reads it)."""

    def __getitem__(self, k):  # type: ignore[override]
        return self._all()[k]

    def __setitem__(self, k, v) -> None:  # type: ignore[override]
        self._all()[k] = v

    def __delitem__(self, k) -> None:  # type: ignore[override]
        del self._all()[k]

    def __iter__(self):  # type: ignore[override]
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())
