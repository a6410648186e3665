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
    D_SIDE,
    DECISION_ROW,
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
# Each log's word layout is derived from its dtype (`_word_layout`); a dtype that is not so laid out fails the import,
# naming the dtype and its field.


def _word_layout(dt: np.dtype) -> tuple[int, tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    """(n64: the leading int64 fields, the narrow fields after them, each one's shift in the last word, its mask)
    of a log's dtype; ImportError when the dtype is not whole int64 words so laid out."""
    if sys.byteorder != "little":
        raise ImportError("hft.sim.engine_nb.logs: expected a little-endian host")
    names = dt.names
    n64 = 0
    while n64 < len(names) and dt.fields[names[n64]][0] == np.dtype("<i8") and dt.fields[names[n64]][1] == 8 * n64:
        n64 += 1
    narrow = names[n64:]
    shifts, masks = [], []
    for f in narrow:
        t, off = dt.fields[f][0], dt.fields[f][1]
        if t.kind not in "iub" or t.itemsize >= 8 or not 8 * n64 <= off <= 8 * n64 + 8 - t.itemsize:
            raise ImportError(f"hft.sim.engine_nb.logs: {dt}: field {f}: expected a narrow integer in word {n64}")
        shifts.append(8 * (off - 8 * n64))
        masks.append((1 << 8 * t.itemsize) - 1)
    if dt.itemsize != 8 * (n64 + 1) or not narrow:
        raise ImportError(f"hft.sim.engine_nb.logs: {dt}: expected int64 fields then one word of narrow fields")
    return n64, narrow, tuple(shifts), tuple(masks)


# the order and fill rows are their logs' fields in order (`state.OR_*` / `FR_*`): each word kernel copies the int64
# fields and packs the narrow ones by the derived layout
_O64, _, _O_SHIFT, _O_MASK = _word_layout(ORDER_LOG_DTYPE)
_F64, _, _F_SHIFT, _F_MASK = _word_layout(FILL_LOG_DTYPE)
# the decision rows are `state.DECISION_ROW`'s layout: each int64 field of the log is read from its row column; the
# narrow ones are what `_decision_words` computes (the reason, accepted and duplicate from the core's answer code)
_D64, _D_NARROW, _D_SHIFT, _D_MASK = _word_layout(DECISION_LOG_DTYPE)
_D_SRC = tuple(DECISION_ROW.index[n] for n in DECISION_LOG_DTYPE.names[:_D64])
if set(_D_NARROW) != {"reason", "kind", "side", "accepted", "duplicate"}:
    raise ImportError(f"hft.sim.engine_nb.logs: the decision log's narrow fields are {_D_NARROW}: expected "
                      "reason, kind, side, accepted, duplicate (`_decision_words` writes these)")
_DN = {n: (sh, m) for n, sh, m in zip(_D_NARROW, _D_SHIFT, _D_MASK, strict=True)}
(_DS_REASON, _DM_REASON), (_DS_KIND, _DM_KIND), (_DS_SIDE, _DM_SIDE) = _DN["reason"], _DN["kind"], _DN["side"]
(_DS_ACC, _DM_ACC), (_DS_DUP, _DM_DUP) = _DN["accepted"], _DN["duplicate"]


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
        for k in range(_D64):
            w[i, k] = rows[i, _D_SRC[k]]
        w[i, _D64] = (((reason & _DM_REASON) << _DS_REASON) | ((rows[i, D_KIND] & _DM_KIND) << _DS_KIND)
                      | ((rows[i, D_SIDE] & _DM_SIDE) << _DS_SIDE) | ((np.int64(reason == 0) & _DM_ACC) << _DS_ACC)
                      | ((np.int64(code >= GK.DUP_FLAG) & _DM_DUP) << _DS_DUP))


@_kernel
def _order_words(rows, w) -> None:
    for i in range(rows.shape[0]):
        for c in range(_O64):
            w[i, c] = rows[i, c]
        x = np.int64(0)
        for k in range(len(_O_SHIFT)):
            x |= (rows[i, _O64 + k] & _O_MASK[k]) << _O_SHIFT[k]
        w[i, _O64] = x


@_kernel
def _fill_words(rows, w) -> None:
    for i in range(rows.shape[0]):
        for c in range(_F64):
            w[i, c] = rows[i, c]
        x = np.int64(0)
        for k in range(len(_F_SHIFT)):
            x |= (rows[i, _F64 + k] & _F_MASK[k]) << _F_SHIFT[k]
        w[i, _F64] = x


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
