"""RowBinary rows with per-row string columns joined in, column-wise (`Topic.encode_array_view`'s last step).

A batch's fixed-width part is one numpy array of bytes; its string columns are variable-length, so each row's
bytes are the fixed bytes with the encoded strings (varint length + UTF-8) cut in at their columns' places.
`join_rows` builds the whole payload with one numba call, for any number of rows: a string column given as codes
into a table of strings costs one table encoding (memoised by the table's contents: registries and reason tables
repeat from one batch to the next) and nothing per row, `Packed` bytes cost nothing more, a list of strings one
join and encode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from hft.core.jit import njit


class Packed(NamedTuple):
    """A string column already encoded: the rows' UTF-8 bytes one after another in `data`, row i's the next
    ``lens[i]`` of them (no Python object per row)."""

    data: bytes
    lens: np.ndarray  # int64, one per row

    def values(self) -> list[str]:
        """The rows as strings (error messages, tests)."""
        ends = np.cumsum(self.lens).tolist()
        return [self.data[a:b].decode() for a, b in zip([0, *ends[:-1]], ends, strict=True)]


StringColumn = Sequence[str] | tuple[np.ndarray, Sequence[str]] | Packed
"""One string per row, or ``(codes, table)``: row i holds ``table[codes[i]]`` ("" for a code outside it), or
`Packed` bytes."""


def column_length(values: StringColumn) -> int:
    """The number of rows a string column holds."""
    if type(values) is Packed:
        return len(values.lens)
    if isinstance(values, tuple) and len(values) == 2 and isinstance(values[0], np.ndarray):
        return len(values[0])
    return len(values)


_TABLES: dict[tuple, tuple[np.ndarray, np.ndarray, bytes]] = {}  # tables of strings (tuples) -> their encoding
_BIG_TABLE = 4096  # a larger table than this (and than 4 rows per entry) is looked up per row instead


def _encoded_table(col: str, table: Sequence[Any],
                   refuse: Callable[[str, Any], Any]) -> tuple[np.ndarray, np.ndarray, bytes]:
    """(starts, lengths, bytes) of a table's UTF-8 encodings, memoised by its contents (registries and reason
    tables repeat from one batch to the next); `refuse(col, value)` raises for a value that is not a string."""
    key = tuple(table)
    got = _TABLES.get(key)
    if got is None:
        for v in key:
            if type(v) is not str:
                refuse(col, v)
        enc = [v.encode() for v in key]
        lens = np.fromiter(map(len, enc), np.int64, len(enc))
        got = (np.cumsum(lens) - lens, lens, b"".join(enc))
        if len(_TABLES) >= 256:
            _TABLES.clear()
        _TABLES[key] = got
    return got


def _packed(col: str, values: Sequence[Any], refuse: Callable[[str, Any], Any]) -> Packed:
    """A column of strings as `Packed` bytes; `refuse(col, value)` raises for a value that is not a string."""
    for v in values:
        if type(v) is not str:
            refuse(col, v)
    joined = "".join(values)
    if joined.isascii():
        return Packed(joined.encode(), np.fromiter(map(len, values), np.int64, len(values)))
    return Packed(joined.encode(), np.array([len(v.encode()) for v in values], np.int64))


def join_rows(fixed: np.ndarray, offs: np.ndarray, cols: Sequence[str], strings: dict[str, StringColumn],
              refuse: Callable[[str, Any], Any]) -> np.ndarray:
    """The RowBinary bytes of the rows of `fixed` (uint8, n x the fixed part's width) with string columns cut in.

    Args:
        fixed: the rows' fixed-width bytes (record id, numeric columns, constants).
        offs: where each string column is cut into a fixed row (byte offsets, ascending; equal ones keep the
            order of `cols`).
        cols: the string columns in that order, their values in `strings` (`StringColumn`).
        refuse: ``refuse(column, value)`` raises for a value that is not a string.
    """
    return _join(fixed, offs, *_string_args(len(fixed), cols, strings, refuse))


def pack_rows(src: np.ndarray, tmpl: np.ndarray, gather: np.ndarray, rid_lo: np.ndarray, rid_hi: int,
              offs: np.ndarray, cols: Sequence[str], strings: dict[str, StringColumn],
              refuse: Callable[[str, Any], Any]) -> tuple[np.ndarray, int]:
    """A few rows whole in one numba call (`join_rows` of the fixed rows numpy would build): each row's fixed
    part from the template `tmpl` (the constants' bytes), its record id (``rid_lo[i]``, `rid_hi`) and byte copies
    of the source rows `src` (uint8, n x the array's itemsize) as `gather` says (rows of source offset, fixed
    offset, size, check: >= 0 when the copied value's top bit must be clear, a same-size integer of the other
    sign), strings cut in as `join_rows` does. Returns the bytes and -1, or an empty array and the index of the
    `gather` row whose check failed (nothing else is worth doing then). Per row it costs more than numpy's
    column copies, per call far less: `Topic.encode_array_view` takes it for a few rows."""
    return _pack(src, tmpl, gather, rid_lo, np.uint64(rid_hi), offs, *_string_args(len(src), cols, strings, refuse))


def _string_args(n: int, cols: Sequence[str], strings: dict[str, StringColumn],
                 refuse: Callable[[str, Any], Any]) -> tuple:
    """The kernels' view of the string columns of `n` rows: (layout, codes, table starts, table lengths, table
    bytes, per-row lengths, per-row bytes)."""
    if not cols:
        return _NO_STRINGS[0], np.empty((0, n), np.int64), *_NO_STRINGS[1:]
    info: list[tuple[int, int, int]] = []  # per column: kind (0 table, 1 rows), base entry, table size
    codes = np.empty((len(cols), n), np.int64)
    tparts: list[tuple[np.ndarray, np.ndarray, bytes]] = []
    rparts: list[Packed] = []
    n_tab = 0
    for c, col in enumerate(cols):
        values = strings[col]
        if type(values) is not Packed and isinstance(values, tuple) and len(values) == 2 and \
                isinstance(values[0], np.ndarray):
            table = values[1]
            if len(table) <= max(_BIG_TABLE, 4 * n):
                codes[c] = values[0]
                info.append((0, n_tab, len(table)))
                n_tab += len(table)
                tparts.append(_encoded_table(col, table, refuse))
                continue
            values = [table[i] if 0 <= i < len(table) else "" for i in values[0].tolist()]
        info.append((1, n * len(rparts), 0))
        rparts.append(values if type(values) is Packed else _packed(col, values, refuse))
    tstart, tlen, tblob = _joined(tparts)
    if len(rparts) == 1:
        rlen, rblob = rparts[0].lens, rparts[0].data
    else:
        rlen = np.concatenate([p.lens for p in rparts]) if rparts else _NO_STRINGS[5]
        rblob = b"".join(p.data for p in rparts)
    key = tuple(info)
    layout = _LAYOUTS.get(key)
    if layout is None:
        if len(_LAYOUTS) >= 256:
            _LAYOUTS.clear()
        layout = _LAYOUTS[key] = np.array(info, np.int64).reshape(-1, 3)
    return layout, codes, tstart, tlen, np.frombuffer(tblob, np.uint8), np.asarray(rlen, np.int64), \
        np.frombuffer(rblob, np.uint8)


_LAYOUTS: dict[tuple, np.ndarray] = {}  # the kernel's `info` of the columns' (kind, base, size), memoised


_NO_TABLE = (np.zeros(0, np.int64), np.zeros(0, np.int64), b"")
_NO_STRINGS = (np.zeros((0, 3), np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.frombuffer(b"", np.uint8),
               np.zeros(0, np.int64), np.frombuffer(b"", np.uint8))  # layout, tables, rows of no string column (its
# bytes read-only as `np.frombuffer` gives them: the kernels' one type)


def _joined(parts: list[tuple[np.ndarray, np.ndarray, bytes]]) -> tuple[np.ndarray, np.ndarray, bytes]:
    """Encoded tables one after another (each one's entries shifted past the previous ones'), memoised."""
    if not parts:
        return _NO_TABLE
    if len(parts) == 1:
        return parts[0]
    key = tuple(id(p) for p in parts)  # the parts are `_TABLES`' values: alive while memoised there
    got = _JOINED.get(key)
    if got is None or any(a is not b for a, b in zip(got[3], parts, strict=True)):
        lens = np.concatenate([p[1] for p in parts])
        got = (np.cumsum(lens) - lens, lens, b"".join(p[2] for p in parts), tuple(parts))
        if len(_JOINED) >= 256:
            _JOINED.clear()
        _JOINED[key] = got
    return got[0], got[1], got[2]


_JOINED: dict[tuple, tuple[np.ndarray, np.ndarray, bytes, tuple]] = {}


@njit(cache=True, nogil=True, inline="always")
def _varint_len(m: int) -> int:
    k = 1
    while m >= 0x80:
        m >>= 7
        k += 1
    return k


@njit(cache=True, nogil=True)
def _join(fixed: np.ndarray, offs: np.ndarray, info: np.ndarray, codes: np.ndarray, tstart: np.ndarray,
          tlen: np.ndarray, tblob: np.ndarray, rlen: np.ndarray, rblob: np.ndarray) -> np.ndarray:
    """`join_rows`' kernel: string c of row i is table entry ``info[c, 1] + codes[c, i]`` (kind 0; "" for a code
    outside ``[0, info[c, 2])``) or per-row entry ``info[c, 1] + i`` (kind 1: ``rlen`` bytes each, one after
    another in `rblob`), cut in at ``offs[c]``.

    Every byte of the `np.empty` output is written: each row's `w` fixed bytes (the cuts taken ascending within
    ``[0, w]``: a cut out of order is clamped, so no row writes more or fewer than `w`; `_plan_of` makes them
    ascending) and each string's varint length and bytes, which the first pass counted. Preconditions (the plan's):
    ``info``'s entries address ``tlen`` / ``rlen`` (a table's codes are checked against its size here), and
    ``tstart + tlen`` / the rows' lengths stay within their blobs."""
    n, w = fixed.shape
    k = offs.shape[0]
    rstart = np.empty(rlen.shape[0], np.int64)
    at = 0
    for e in range(rlen.shape[0]):
        rstart[e] = at
        at += rlen[e]
    total = n * w
    for c in range(k):
        kind, base, size = info[c, 0], info[c, 1], info[c, 2]
        for i in range(n):
            if kind == 0:
                t = codes[c, i]
                ln = tlen[base + t] if 0 <= t < size else 0
            else:
                ln = rlen[base + i]
            total += ln + _varint_len(ln)
    buf = np.empty(total, np.uint8)
    p = 0
    for i in range(n):
        prev = 0
        for c in range(k):
            off = min(max(offs[c], prev), w)
            for b in range(prev, off):
                buf[p] = fixed[i, b]
                p += 1
            prev = off
            kind, base, size = info[c, 0], info[c, 1], info[c, 2]
            if kind == 0:
                t = codes[c, i]
                if 0 <= t < size:
                    s, ln = tstart[base + t], tlen[base + t]
                else:
                    s, ln = 0, 0
                blob = tblob
            else:
                s, ln = rstart[base + i], rlen[base + i]
                blob = rblob
            v = ln
            while v >= 0x80:
                buf[p] = (v & 0x7F) | 0x80
                v >>= 7
                p += 1
            buf[p] = v
            p += 1
            for b in range(ln):
                buf[p + b] = blob[s + b]
            p += ln
        for b in range(prev, w):
            buf[p] = fixed[i, b]
            p += 1
    return buf


@njit(cache=True, nogil=True)
def _pack(src: np.ndarray, tmpl: np.ndarray, gather: np.ndarray, rid_lo: np.ndarray, rid_hi: np.uint64,
          offs: np.ndarray, info: np.ndarray, codes: np.ndarray, tstart: np.ndarray, tlen: np.ndarray,
          tblob: np.ndarray, rlen: np.ndarray, rblob: np.ndarray) -> tuple[np.ndarray, int]:
    """`pack_rows`' kernel: each row's fixed part in a scratch row (template, record id, gathered bytes), then
    written out with its strings as `_join` does. Preconditions (`hft.recorder.topics._gather`'s): each `gather`
    row copies ``size`` bytes from ``src[i, s:s + size]`` (within the array's itemsize) to ``[d, d + size)`` (within
    the template's width, past the 16 record-id bytes)."""
    n = src.shape[0]
    m = gather.shape[0]
    for g in range(m):
        if gather[g, 3] >= 0:
            top = gather[g, 0] + gather[g, 2] - 1
            for i in range(n):
                if src[i, top] & 0x80:
                    return np.empty(0, np.uint8), g
    fixed = np.empty((n, tmpl.shape[0]), np.uint8)
    for i in range(n):
        row = fixed[i]
        row[:] = tmpl
        lo = rid_lo[i]
        hi = rid_hi
        for b in range(8):
            row[b] = np.uint8(lo & np.uint64(0xFF))
            row[8 + b] = np.uint8(hi & np.uint64(0xFF))
            lo >>= np.uint64(8)
            hi >>= np.uint64(8)
        for g in range(m):
            s, d = gather[g, 0], gather[g, 1]
            for b in range(gather[g, 2]):
                row[d + b] = src[i, s + b]
    if offs.shape[0] == 0:
        return fixed.reshape(-1), -1
    return _join(fixed, offs, info, codes, tstart, tlen, tblob, rlen, rblob), -1
