"""On-disk format of WAL segments and frames, and the scanner that verifies them.

Segment file ``seg-NNNNNNNN.wal``::

    header  16 bytes   b"HFTWAL01" | u64 segment number
    frame*

Frame (little endian, 28-byte header, then the payload)::

    u32 magic 0x4D524657 ("WFRM") | u32 payload_len | u32 n_records | u16 topic_id | u16 topic_version
    u64 written_ns (wall clock of the append, for lag metrics) | u32 crc32(header[0:24] + payload)

The payload is the RowBinary encoding of `n_records` rows of the topic (see :mod:`hft.recorder.topics`), each
row starting with its ``record_id``. One frame is written with one ``write(2)``; a frame is *acknowledged* when
that call returned. The CRC makes every frame self-checking, so a reader tells apart:

* a clean end,
* a **torn tail**: the last frame is incomplete or fails its CRC and nothing valid follows it (a writer killed
  mid-append, a power cut) - the writer truncates it on open and reports it,
* a **corrupt middle**: a bad frame followed by valid data, or any bad frame in a sealed segment - an error
  naming the segment and the offset; nothing is loaded past it.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SEGMENT_MAGIC = b"HFTWAL01"
SEGMENT_HEADER = struct.Struct("<8sQ")
SEGMENT_HEADER_SIZE = SEGMENT_HEADER.size  # 16
FRAME_MAGIC = 0x4D524657
FRAME_MAGIC_BYTES = struct.pack("<I", FRAME_MAGIC)
FRAME_HEADER = struct.Struct("<IIIHHQI")
FRAME_HEADER_SIZE = FRAME_HEADER.size  # 28
_HEAD_NO_CRC = struct.Struct("<IIIHHQ")
MAX_PAYLOAD = 1 << 30


def segment_name(no: int) -> str:
    return f"seg-{no:08d}.wal"


def segment_no(path: Path | str) -> int | None:
    name = Path(path).name
    if name.startswith("seg-") and name.endswith(".wal") and name[4:-4].isdigit():
        return int(name[4:-4])
    return None


def list_segments(wal_dir: Path) -> list[tuple[int, Path]]:
    """Segment files of a WAL directory, in order."""
    out = []
    for p in wal_dir.glob("seg-*.wal"):
        no = segment_no(p)
        if no is not None:
            out.append((no, p))
    out.sort()
    return out


def segment_header(no: int) -> bytes:
    return SEGMENT_HEADER.pack(SEGMENT_MAGIC, no)


def frame_header(topic_id: int, topic_version: int, n_records: int, payload: bytes | memoryview,
                 written_ns: int) -> bytes:
    """The 28-byte header (CRC included) of a frame holding `payload` (any buffer)."""
    nbytes = payload.nbytes if isinstance(payload, memoryview) else len(payload)
    head = _HEAD_NO_CRC.pack(FRAME_MAGIC, nbytes, n_records, topic_id, topic_version, written_ns)
    return head + struct.pack("<I", zlib.crc32(payload, zlib.crc32(head)))


def encode_frame(topic_id: int, topic_version: int, n_records: int, payload: bytes, written_ns: int) -> bytes:
    return frame_header(topic_id, topic_version, n_records, payload, written_ns) + payload


@dataclass(frozen=True)
class FrameInfo:
    """Where one verified frame lives and what it holds."""

    offset: int  # of the frame header in the segment file
    payload_len: int
    n_records: int
    topic_id: int
    topic_version: int
    written_ns: int

    @property
    def end(self) -> int:
        return self.offset + FRAME_HEADER_SIZE + self.payload_len

    @property
    def payload_offset(self) -> int:
        return self.offset + FRAME_HEADER_SIZE


@dataclass
class ScanResult:
    """Outcome of scanning a byte range of a segment.

    `good_end` is the offset just past the last valid frame. `status` is ``"ok"`` (clean end),
    ``"torn"`` (bad or incomplete bytes from `bad_offset` to the end, nothing valid after) or ``"corrupt"``
    (a bad frame at `bad_offset` followed by a valid frame at `resync_offset`).
    """

    frames: list[FrameInfo]
    good_end: int
    status: str
    bad_offset: int | None = None
    resync_offset: int | None = None
    reason: str = ""
    size: int = 0


def _check_frame(buf: memoryview | bytes, pos: int, size: int, verify_crc: bool) -> tuple[FrameInfo | None, str]:
    if size - pos < FRAME_HEADER_SIZE:
        return None, f"incomplete frame header ({size - pos} of {FRAME_HEADER_SIZE} bytes)"
    magic, plen, nrec, tid, tver, wns, crc = FRAME_HEADER.unpack_from(buf, pos)
    if magic != FRAME_MAGIC:
        return None, f"bad frame magic 0x{magic:08x}"
    if plen > MAX_PAYLOAD:
        return None, f"implausible payload length {plen}"
    end = pos + FRAME_HEADER_SIZE + plen
    if end > size:
        return None, f"incomplete frame (needs {end - pos} bytes, {size - pos} present)"
    if verify_crc:
        c = zlib.crc32(buf[pos:pos + 24])
        c = zlib.crc32(buf[pos + FRAME_HEADER_SIZE:end], c)
        if c != crc:
            return None, f"CRC mismatch (stored 0x{crc:08x}, computed 0x{c:08x})"
    return FrameInfo(pos, plen, nrec, tid, tver, wns), ""


def scan_buffer(buf: bytes | memoryview, start: int, *, base: int = 0, verify_crc: bool = True) -> ScanResult:
    """Scan frames in `buf` (which holds file bytes from file offset `base`) starting at file offset `start`."""
    mv = memoryview(buf)
    size = base + len(mv)
    frames: list[FrameInfo] = []
    pos = start
    while pos < size:
        info, why = _check_frame(mv, pos - base, len(mv), verify_crc)
        if info is None:
            resync = _resync(mv, pos - base + 1, verify_crc)
            if resync is None:
                return ScanResult(frames, pos, "torn", pos, None, why, size)
            return ScanResult(frames, pos, "corrupt", pos, resync + base, why, size)
        frames.append(FrameInfo(info.offset + base, info.payload_len, info.n_records, info.topic_id,
                                info.topic_version, info.written_ns))
        pos = info.end + base
    return ScanResult(frames, pos, "ok", size=size)


def _resync(mv: memoryview, start: int, verify_crc: bool) -> int | None:
    """Offset (in `mv`) of the next valid frame after a bad one, or None when nothing valid follows."""
    data = mv.obj if isinstance(mv.obj, bytes) and len(mv.obj) == len(mv) else bytes(mv)
    pos = start
    n = len(data)
    while True:
        pos = data.find(FRAME_MAGIC_BYTES, pos)
        if pos < 0:
            return None
        info, _ = _check_frame(mv, pos, n, True)
        if info is not None:
            return pos
        pos += 1
        if pos >= n:
            return None


def read_segment(path: Path, start: int = 0) -> tuple[int, bytes]:
    """Read a segment file from `start` (at least past its header); returns (base offset, bytes).

    Raises:
        ValueError: when the segment header is missing or wrong (message says why).
    """
    with open(path, "rb") as f:
        head = f.read(SEGMENT_HEADER_SIZE)
        if len(head) < SEGMENT_HEADER_SIZE:
            raise ValueError(f"incomplete segment header ({len(head)} of {SEGMENT_HEADER_SIZE} bytes)")
        magic, _no = SEGMENT_HEADER.unpack(head)
        if magic != SEGMENT_MAGIC:
            raise ValueError(f"bad segment magic {magic!r}, expected {SEGMENT_MAGIC!r}")
        base = max(start, SEGMENT_HEADER_SIZE)
        f.seek(base)
        return base, f.read()


@dataclass
class HeaderWalk:
    """Totals of the frames of a segment found by walking headers only (no CRC, payloads skipped)."""

    frames: int
    records: int
    start: int
    good_end: int
    size: int
    oldest_written_ns: int | None


def walk_headers(path: Path, start: int = 0) -> HeaderWalk:
    """Cheap backlog count: follow frame headers from `start`, seeking over payloads (for metrics only)."""
    size = path.stat().st_size
    pos = max(start, SEGMENT_HEADER_SIZE)
    frames = records = 0
    oldest: int | None = None
    with open(path, "rb", buffering=1 << 16) as f:
        f.seek(pos)
        while pos + FRAME_HEADER_SIZE <= size:
            head = f.read(FRAME_HEADER_SIZE)
            if len(head) < FRAME_HEADER_SIZE:
                break
            magic, plen, nrec, _tid, _tver, wns, _crc = FRAME_HEADER.unpack(head)
            end = pos + FRAME_HEADER_SIZE + plen
            if magic != FRAME_MAGIC or end > size:
                break
            frames += 1
            records += nrec
            if oldest is None or wns < oldest:
                oldest = wns
            f.seek(plen, 1)
            pos = end
    return HeaderWalk(frames, records, max(start, SEGMENT_HEADER_SIZE), pos, size, oldest)


@contextlib.contextmanager
def mapped(path: Path) -> Iterator[memoryview | bytes]:
    """The bytes of a file, memory-mapped read-only (no copy); empty bytes for an empty file.

    Slices taken from the view must not outlive the ``with`` block.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            yield b""
            return
        mm = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ)
        mv = memoryview(mm)
        try:
            yield mv
        finally:
            mv.release()
            mm.close()


def scan_segment(path: Path, start: int = 0) -> ScanResult:
    """Verify the frames of a segment file from `start` (CRC included), without copying it.

    Raises:
        ValueError: when the segment header is missing or wrong.
    """
    with mapped(path) as buf:
        if len(buf) < SEGMENT_HEADER_SIZE:
            raise ValueError(f"incomplete segment header ({len(buf)} of {SEGMENT_HEADER_SIZE} bytes)")
        magic, _no = SEGMENT_HEADER.unpack_from(buf, 0)
        if magic != SEGMENT_MAGIC:
            raise ValueError(f"bad segment magic {magic!r}, expected {SEGMENT_MAGIC!r}")
        return scan_buffer(buf, max(start, SEGMENT_HEADER_SIZE))
