"""The run's logs from the in-kernel order path's int64 rows (numba; `hft.sim.engine_nb`, "In-kernel order path"):
one pass per log instead of a numpy cast per field (~15 ns per value; 3 ms for a LOBSTER day's decisions).

`decision_log_of`, `order_log_of`, `fill_log_of` build a log of its dtype (`hft.sim.engine`) from rows whose
columns are the dtype's fields in order (integers narrowed as numpy's assignment narrows them), except the
decision log, whose layout the kernel's decision rows give (`hft.sim.engine_nb.state`, ``DECISION_ROW``). `LazyRecords` and
`LazyMap` hold what only a Python consumer after the run needs (the `Decision` records, the side map) until it
is first read."""

from __future__ import annotations

import sys
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

import numpy as np

from hft.gateway import kernels as GK
from hft.sim.engine_nb.state import (
    D_CODE,
    D_KIND,
    D_OID,
    D_PRICE,
    D_QTY,
    D_SEQ,
    D_SIDE,
    D_TARGET,
    D_TS,
    _kernel,
)
from hft.sim.run_records import DECISION_LOG_DTYPE, FILL_LOG_DTYPE, ORDER_LOG_DTYPE


def concat_records(parts: Sequence[np.ndarray], dtype: np.dtype) -> np.ndarray:
    """`parts` (C-contiguous record arrays of `dtype`) end to end. numpy copies an aligned record dtype field by
    field (~35 ns a row: 0.65 ms for a LOBSTER day's decisions, even for `np.concatenate` of one part), so one
    part is returned as it is and several are joined as bytes."""
    if not parts:
        return np.zeros(0, dtype)
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p.view(np.uint8) for p in parts]).view(dtype)


# The logs are written as whole int64 words of their records (every byte, padding included, so that an array the
# allocator did not zero holds no stale bytes), on a little-endian host: the int64 fields, then one word holding the
# narrow fields at their byte offsets (each narrowed as numpy's assignment narrows: its low bytes) and zero padding.
_WORD_LAYOUTS = {DECISION_LOG_DTYPE: (6, ("reason", "kind", "side", "accepted", "duplicate")),
                 ORDER_LOG_DTYPE: (4, ("action", "side", "order_type", "tif")),
                 FILL_LOG_DTYPE: (8, ("side", "kind", "liquidity"))}


def _check_word_layouts() -> None:
    """The records are as the word kernels write them (else the import fails, naming the dtype)."""
    if sys.byteorder != "little":
        raise ImportError("hft.sim.engine_nb.logs: expected a little-endian host")
    for dt, (n64, narrow) in _WORD_LAYOUTS.items():
        names = dt.names
        ok = dt.itemsize == 8 * (n64 + 1) and names[n64:] == narrow
        ok = ok and all(dt.fields[f][0] == np.dtype("<i8") and dt.fields[f][1] == 8 * k
                        for k, f in enumerate(names[:n64]))
        off = 8 * n64
        for f in narrow:
            ok = ok and dt.fields[f][1] == off and dt.fields[f][0].kind in "iub"
            off += dt.fields[f][0].itemsize
        if not ok:
            raise ImportError(f"hft.sim.engine_nb.logs: expected the word layout of {dt}")


_check_word_layouts()


def _words(rows: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """A log of `dtype` for `rows` (not zero-filled: the kernel writes every byte) and its int64 words."""
    out = np.empty(rows.shape[0], dtype)
    return out, out.view(np.int64).reshape(rows.shape[0], dtype.itemsize // 8)


def decision_log_of(rows: np.ndarray) -> np.ndarray:
    """`DECISION_LOG_DTYPE` rows of the kernel's decision rows (what `decision_log` makes of their records)."""
    out, w = _words(rows, DECISION_LOG_DTYPE)
    _decision_words(rows, w)
    return out


def order_log_of(rows: np.ndarray) -> np.ndarray:
    """`ORDER_LOG_DTYPE` rows of the kernel's order rows (`Engine._order_rows` layout)."""
    out, w = _words(rows, ORDER_LOG_DTYPE)
    _order_words(rows, w)
    return out


def fill_log_of(rows: np.ndarray) -> np.ndarray:
    """`FILL_LOG_DTYPE` rows of the kernel's fill rows (`Engine._fill_rows` layout)."""
    out, w = _words(rows, FILL_LOG_DTYPE)
    _fill_words(rows, w)
    return out


@_kernel
def _decision_words(rows, w) -> None:
    for i in range(rows.shape[0]):
        code = rows[i, D_CODE]
        reason = code & 0xFFFF
        w[i, 0] = rows[i, D_SEQ]  # seq
        w[i, 1] = rows[i, D_TS]  # ts
        w[i, 2] = rows[i, D_OID]  # order_id
        w[i, 3] = rows[i, D_TARGET]  # target_id
        w[i, 4] = rows[i, D_PRICE]  # price
        w[i, 5] = rows[i, D_QTY]  # qty
        w[i, 6] = (reason | ((rows[i, D_KIND] & 0xFF) << 16) | ((rows[i, D_SIDE] & 0xFF) << 24)  # reason, kind, side
                   | (np.int64(reason == 0) << 32) | (np.int64(code >= GK.DUP_FLAG) << 40))  # accepted, duplicate


@_kernel
def _order_words(rows, w) -> None:
    for i in range(rows.shape[0]):
        for c in range(4):  # ts, order_id, price, qty
            w[i, c] = rows[i, c]
        w[i, 4] = ((rows[i, 4] & 0xFF) | ((rows[i, 5] & 0xFF) << 8)  # action, side
                   | ((rows[i, 6] & 0xFF) << 16) | ((rows[i, 7] & 0xFF) << 24))  # order_type, tif


@_kernel
def _fill_words(rows, w) -> None:
    for i in range(rows.shape[0]):
        for c in range(8):  # ts, local_ts, order_id, price, qty, leaves, fee, fee_frac
            w[i, c] = rows[i, c]
        w[i, 8] = (rows[i, 8] & 0xFF) | ((rows[i, 9] & 0xFF) << 8) | ((rows[i, 10] & 0xFF) << 16)  # side, kind, liq


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
