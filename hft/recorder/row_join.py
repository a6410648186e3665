"""RowBinary rows with per-row string columns joined in, column-wise (`Topic.encode_array_view`'s last step).

A batch's fixed-width part is one numpy structured array; its string columns are variable-length, so each row's
bytes are the fixed bytes with the encoded strings (varint length + UTF-8) cut in at their columns' places.
`join_rows` builds the whole payload with one numba call (offsets from numpy): no Python work per row besides
looking up each string's encoding (none at all for a column given as codes into a table of strings).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numba import njit


class Packed(NamedTuple):
    """A string column already encoded: the rows' UTF-8 bytes one after another in `data`, row i's the next
    ``lens[i]`` of them (no Python object per row)."""

    data: bytes
    lens: np.ndarray  # int64, one per row

    def values(self) -> list[str]:
        """The rows as strings (the few-rows path and error messages)."""
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


def _table(values: StringColumn, encode: Callable[[Any], bytes], n: int) -> tuple[np.ndarray, list[bytes], bool]:
    """One string column as (each row's code into its table, the table's encodings, whether those carry their
    varint length already): a ``(codes, table)`` column keeps its table (codes outside it: ""), a column of
    strings is its own table (row i: code i). Strings are UTF-8 without their length (`_join` writes it); a
    value that is not a string goes through `encode` (which raises for it, or gives its bytes with the length)."""
    if isinstance(values, tuple) and len(values) == 2 and isinstance(values[0], np.ndarray):
        codes, table = values
        if len(table) <= max(4096, 4 * n):  # every string of the table encoded once
            codes = np.where((codes >= 0) & (codes < len(table)), codes, len(table)).astype(np.int64)
            table = [*table, ""]
        else:
            table = [table[c] if 0 <= c < len(table) else "" for c in codes.tolist()]
            codes = np.arange(n, dtype=np.int64)
    else:
        codes, table = np.arange(n, dtype=np.int64), values
    if all(type(v) is str for v in table):
        return codes, [v.encode() for v in table], False
    return codes, [encode(v) for v in table], True


def join_rows(out: np.ndarray, cuts: list[tuple[int, str]], strings: dict[str, StringColumn],
              encode: Callable[[Any], bytes]) -> bytes:
    """The rows of `out` (fixed-width structured array) with string columns cut in: `cuts` lists (byte offset
    in the fixed row, column) in row order; `encode(value)` gives a value's RowBinary bytes (raising for a
    value that is not a string)."""
    n = len(out)
    width = out.dtype.itemsize
    if n < _SMALL:
        return _join_small(out, cuts, strings, encode)
    fixed = np.ascontiguousarray(out).view(np.uint8).reshape(n, width)
    codes = np.empty((len(cuts), n), np.int64)
    blobs: list[bytes] = []
    lens: list[np.ndarray] = []
    n_tab = 0
    prefixed = np.zeros(len(cuts), np.bool_)
    for c, (_, col) in enumerate(cuts):  # every column's table appended to one: codes shifted past the others'
        values = strings[col]
        if type(values) is Packed:  # its rows are its table, as they are
            cc, blob, tl = np.arange(n, dtype=np.int64), values.data, np.asarray(values.lens, np.int64)
        else:
            cc, table, prefixed[c] = _table(values, encode, n)
            blob, tl = b"".join(table), np.fromiter(map(len, table), np.int64, len(table))
        codes[c] = cc + n_tab
        n_tab += len(tl)
        blobs.append(blob)
        lens.append(tl)
    tlen = np.concatenate(lens) if len(lens) > 1 else lens[0]
    return _join(fixed, np.array([off for off, _ in cuts], np.int64), codes, np.cumsum(tlen) - tlen, tlen,
                 np.frombuffer(b"".join(blobs), np.uint8), prefixed).tobytes()


@njit(cache=True, nogil=True)
def _join(fixed: np.ndarray, offs: np.ndarray, codes: np.ndarray, tstart: np.ndarray, tlen: np.ndarray,
          blob: np.ndarray, prefixed: np.ndarray) -> np.ndarray:
    """The rows of `fixed` (n x width bytes), string c of row i (``blob[tstart[t]:][:tlen[t]]``, t = ``codes[c,
    i]``, after its varint length unless `prefixed`) cut in at byte ``offs[c]`` of the fixed row."""
    n, width = fixed.shape
    k = offs.shape[0]
    total = n * width
    for c in range(k):
        for i in range(n):
            m = tlen[codes[c, i]]
            total += m
            if not prefixed[c]:
                total += 1
                while m >= 0x80:
                    m >>= 7
                    total += 1
    buf = np.empty(total, np.uint8)
    p = 0
    for i in range(n):
        prev = 0
        for c in range(k):
            off = offs[c]
            buf[p:p + off - prev] = fixed[i, prev:off]
            p += off - prev
            prev = off
            t = codes[c, i]
            m = tlen[t]
            if not prefixed[c]:
                v = m
                while v >= 0x80:
                    buf[p] = (v & 0x7F) | 0x80
                    v >>= 7
                    p += 1
                buf[p] = v
                p += 1
            s = tstart[t]
            buf[p:p + m] = blob[s:s + m]
            p += m
        buf[p:p + width - prev] = fixed[i, prev:width]
        p += width - prev
    return buf


_SMALL = 24  # below this many rows a per-row join beats the fixed cost of a `_join` call


def _join_small(out: np.ndarray, cuts: list[tuple[int, str]], strings: dict[str, StringColumn],
                encode: Callable[[Any], bytes]) -> bytes:
    """`join_rows` row by row (few rows)."""
    width = out.dtype.itemsize
    tails = []
    for _, c in cuts:
        vals = strings[c]
        if type(vals) is Packed:
            vals = vals.values()
        elif isinstance(vals, tuple) and len(vals) == 2 and isinstance(vals[0], np.ndarray):
            table = vals[1]
            vals = [table[i] if 0 <= i < len(table) else "" for i in vals[0].tolist()]
        cache: dict[Any, bytes] = {}
        enc = []
        for v in vals:
            b = cache.get(v)
            if b is None:
                b = cache[v] = encode(v)
            enc.append(b)
        tails.append(enc)
    offs: list[int] = []
    merged: list[list[bytes]] = []
    for (off, _), tail in zip(cuts, tails, strict=True):  # columns cut in at the same place: one tail per row
        if offs and offs[-1] == off:
            merged[-1] = [a + b for a, b in zip(merged[-1], tail, strict=True)]
        else:
            offs.append(off)
            merged.append(tail)
    tails = merged
    buf = out.tobytes()
    parts: list[bytes] = []
    append = parts.append
    base = 0
    for i in range(len(out)):
        prev = base
        for off, tail in zip(offs, tails, strict=True):
            append(buf[prev:base + off])
            append(tail[i])
            prev = base + off
        base += width
        append(buf[prev:base])
    return b"".join(parts)
