"""Read a WAL directory back as records (the inverse of the topics' RowBinary encoding).

`iter_records(wal_dir)` yields ``(topic_name, record)`` for every record of every verified frame, in append
order (segment by segment, frame by frame). A live process rebuilds its state from its own WAL with it
(``hft.live.recovery``); the store loader ships payloads without decoding them. A torn tail ends the walk
(nothing acknowledged can be in it); a corrupt middle raises `StoreError` naming segment and offset.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hft.core.errors import StoreError
from hft.recorder import wal_format as wf
from hft.recorder.topics import _INT_TYPES, _STRING_TYPES, TOPICS_BY_ID, Topic

_Dec = Callable[[memoryview, int], tuple[Any, int]]


def _int_dec(code: str) -> _Dec:
    s = struct.Struct("<" + code)

    def dec(mv: memoryview, pos: int) -> tuple[Any, int]:
        return s.unpack_from(mv, pos)[0], pos + s.size
    return dec


def _str_dec(mv: memoryview, pos: int) -> tuple[Any, int]:
    n = shift = 0
    while True:
        b = mv[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
    return bytes(mv[pos:pos + n]).decode(), pos + n


def _bool_dec(mv: memoryview, pos: int) -> tuple[Any, int]:
    return mv[pos] != 0, pos + 1


_F64 = struct.Struct("<d")
_U128 = struct.Struct("<QQ")


def _f64_dec(mv: memoryview, pos: int) -> tuple[Any, int]:
    return _F64.unpack_from(mv, pos)[0], pos + 8


def _u128_dec(mv: memoryview, pos: int) -> tuple[Any, int]:
    lo, hi = _U128.unpack_from(mv, pos)
    return (hi << 64) | lo, pos + 16


def _decoder(t: str) -> _Dec:
    if t in _INT_TYPES:
        return _int_dec(_INT_TYPES[t][0])
    if t in _STRING_TYPES:
        return _str_dec
    return {"Bool": _bool_dec, "Float64": _f64_dec, "UInt128": _u128_dec}[t]


def _columns(topic: Topic, version: int) -> list[tuple[str, _Dec]]:
    names = topic.column_names_of_version(version)
    if names is None:
        raise StoreError(f"{topic.name}: frames of version {version} cannot be read by this build",
                         topic=topic.name)
    types = {"record_id": "UInt128", **{c.name: c.type for c in topic.columns}}
    return [(n, _decoder(types[n])) for n in names]


def decode_payload(topic: Topic, version: int, n_records: int, payload: memoryview) -> list[dict[str, Any]]:
    """The records of one frame's payload as dicts (``record_id`` included)."""
    cols = _columns(topic, version)
    out = []
    pos = 0
    for _ in range(n_records):
        rec = {}
        for name, dec in cols:
            rec[name], pos = dec(payload, pos)
        out.append(rec)
    if pos != len(payload):
        raise StoreError(f"{topic.name}: frame payload of {len(payload)} bytes, {pos} decoded",
                         topic=topic.name)
    return out


def iter_records(wal_dir: str | Path, topics: frozenset[str] | None = None,
                 start: tuple[int, int] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every record of the WAL at `wal_dir` in append order, optionally only those of `topics`, optionally
    only from `start` = (segment number, byte offset of a frame) on (`WALFirstWriter.position`).

    Raises:
        StoreError: `start` names a segment that is gone while later ones exist (records would be missed).
    """
    segments = wf.list_segments(Path(wal_dir))
    if start is not None:
        if segments and start[0] not in {no for no, _ in segments} and any(no > start[0] for no, _ in segments):
            raise StoreError(f"{wal_dir}: expected WAL segment {wf.segment_name(start[0])} (the start of the "
                             f"records to read), it is gone", file=str(wal_dir), segment=wf.segment_name(start[0]))
        segments = [(no, path) for no, path in segments if no >= start[0]]
    for no, path in segments:
        try:
            base, data = wf.read_segment(path)
        except ValueError:
            return  # a segment header cut short by a crash: nothing acknowledged is in it
        res = wf.scan_buffer(data, base, base=base)
        if res.status == "corrupt":
            raise StoreError(f"{path}: corrupt WAL frame at offset {res.bad_offset} ({res.reason})",
                             file=str(path), segment=wf.segment_name(no), offset=res.bad_offset)
        mv = memoryview(data)
        for f in res.frames:
            if start is not None and no == start[0] and f.offset < start[1]:
                continue
            t = TOPICS_BY_ID.get(f.topic_id)
            if t is None or (topics is not None and t.name not in topics):
                continue
            p0 = f.payload_offset - base
            for rec in decode_payload(t, f.topic_version, f.n_records, mv[p0:p0 + f.payload_len]):
                yield t.name, rec
        if res.status == "torn":
            return
