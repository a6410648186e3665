"""RowBinary rows with per-row string columns joined in, column-wise (`Topic.encode_array_view`'s last step).

A batch's fixed-width part is one numpy structured array; its string columns are variable-length, so each row's
bytes are the fixed bytes with the encoded strings (varint length + UTF-8) cut in at their columns' places.
`join_rows` builds the whole payload with numpy index arithmetic: no Python work per row besides looking up each
string's encoding (none at all for a column given as codes into a table of strings).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

StringColumn = Sequence[str] | tuple[np.ndarray, Sequence[str]]
"""One string per row, or ``(codes, table)``: row i holds ``table[codes[i]]`` ("" for a code outside it)."""


def column_length(values: StringColumn) -> int:
    """The number of rows a string column holds."""
    if isinstance(values, tuple) and len(values) == 2 and isinstance(values[0], np.ndarray):
        return len(values[0])
    return len(values)


def _gather(encs: list[bytes], codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bytes per row, rows' encodings concatenated) where row i is ``encs[codes[i]]``."""
    tlen = np.fromiter(map(len, encs), np.int64, len(encs))
    tstart = np.cumsum(tlen) - tlen
    lens = tlen[codes]
    src = np.repeat(tstart[codes] - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum()))
    return lens, np.frombuffer(b"".join(encs), np.uint8)[src]


def _encoded(values: StringColumn, encode: Callable[[Any], bytes], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(bytes per row, the rows' encodings concatenated as uint8) of one string column."""
    if isinstance(values, tuple) and len(values) == 2 and isinstance(values[0], np.ndarray):
        codes, table = values
        if len(table) <= 4096:  # every string of the table encoded once, the rows gathered
            codes = np.where((codes >= 0) & (codes < len(table)), codes, len(table)).astype(np.int64)
            return _gather([encode(v) for v in table] + [encode("")], codes)
        values = [table[c] if 0 <= c < len(table) else "" for c in codes.tolist()]
    if all(type(v) is str for v in values):
        raws = [v.encode() for v in values]
        lens = np.fromiter(map(len, raws), np.int64, n)
        if n and lens.max() < 0x80:  # one-byte varint lengths: prefix each string with its length
            out = np.empty(n + int(lens.sum()), np.uint8)
            heads = np.cumsum(lens + 1) - lens - 1
            body = np.ones(len(out), bool)
            body[heads] = False
            out[heads] = lens
            out[body] = np.frombuffer(b"".join(raws), np.uint8)
            return lens + 1, out
    encs = [encode(v) for v in values]  # long strings, or a value that is not one (encode raises)
    return np.fromiter(map(len, encs), np.int64, n), np.frombuffer(b"".join(encs), np.uint8)


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
    cols = [_encoded(strings[c], encode, n) for _, c in cuts]
    row_len = width + sum((lens for lens, _ in cols), np.zeros(n, np.int64))
    buf = np.empty(int(row_len.sum()), np.uint8)
    cur = np.cumsum(row_len) - row_len  # where each row's next byte goes
    prev = 0
    empty = (np.zeros(n, np.int64), np.empty(0, np.uint8))
    for (off, _), (lens, blob) in zip([*cuts, (width, "")], [*cols, empty], strict=True):
        if off > prev:  # the fixed bytes [prev, off) of every row
            buf[(cur[:, None] + np.arange(off - prev)).ravel()] = fixed[:, prev:off].ravel()
            cur += off - prev
            prev = off
        if len(blob):
            buf[np.repeat(cur - (np.cumsum(lens) - lens), lens) + np.arange(len(blob))] = blob
            cur += lens
    return buf.tobytes()


_SMALL = 48  # below this many rows a per-row join beats numpy's fixed cost per call


def _join_small(out: np.ndarray, cuts: list[tuple[int, str]], strings: dict[str, StringColumn],
                encode: Callable[[Any], bytes]) -> bytes:
    """`join_rows` row by row (few rows)."""
    width = out.dtype.itemsize
    tails = []
    for _, c in cuts:
        vals = strings[c]
        if isinstance(vals, tuple) and len(vals) == 2 and isinstance(vals[0], np.ndarray):
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
