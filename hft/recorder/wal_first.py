"""WALFirstWriter: append records to a write-ahead log before anything counts them as written.

One writer process owns one WAL directory (``$HFT_HOME/wal/<name>/``, under an ``flock`` that names its holder).
``write()`` / ``write_many()`` check the records against the topic schema (:mod:`hft.recorder.topics`), encode
them (RowBinary), and append one CRC-checked frame with one ``write(2)`` (format: :mod:`hft.recorder.wal_format`).
When the call returns True the frame is in the kernel (it survives the death of the process); with
``fsync="batch"`` it is also on disk. Nothing here touches ClickHouse or the network: the loader
(:mod:`hft.recorder.loader`) drains the WAL into the store later.

Record ids: a record may carry ``record_id`` (int or 32 hex digits, e.g. ``hft.core.ids.stable_id(...)``).
Otherwise its id is ``(H64(id_namespace, topic) << 64) | seq`` with ``seq`` counting the topic's records of this
writer from 0. The default namespace is unique per writer session (``<wal_uid>/<session>``); a deterministic
producer (a replay) passes ``id_namespace=<run id>`` so that re-running it yields the same ids and the store
shows no duplicates.

Disk pressure: with a :class:`~hft.recorder.disk_monitor.DiskPressureMonitor`, HALT makes ``write()`` return
False at once (counted in ``stats.data_loss_events``); at CRITICAL the topic's policy applies
(``halt`` | ``drop`` | ``write``; defaults in the topic schema, overridable by `WALConfig.critical_policy`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hft.config.strict import Section
from hft.core.errors import StoreError
from hft.core.paths import wal_root
from hft.recorder import wal_format as wf
from hft.recorder.disk_monitor import DiskLevel, DiskPressureMonitor, env_thresholds
from hft.recorder.manifest import read_manifest, update_manifest
from hft.recorder.topics import TOPICS, Topic, get_topic, parse_record_id
from hft.store.lock import ProcessLock

log = logging.getLogger("hft.recorder.wal")

FSYNC_POLICIES = ("batch", "interval", "never")
_U64 = 2**64


@dataclass(frozen=True)
class WALConfig:
    """Writer settings.

    Attributes:
        segment_bytes: rotate to a new segment when the next frame would exceed this size.
        fsync: ``batch`` (fdatasync after every write call), ``interval`` (a background thread syncs every
            `fsync_interval_s`), ``never`` (leave it to the OS; survives process death, not power loss).
        fsync_interval_s: period of the ``interval`` policy.
        critical_policy: per-topic override of the CRITICAL-level policy (``halt`` | ``drop`` | ``write``).
        lock_wait_s: how long to wait for the WAL directory's writer lock.
    """
    segment_bytes: int = 64 * 1024 * 1024
    fsync: str = "interval"
    fsync_interval_s: float = 0.2
    critical_policy: Mapping[str, str] = field(default_factory=dict)
    lock_wait_s: float = 0.0

    def __post_init__(self) -> None:
        if self.fsync not in FSYNC_POLICIES:
            raise StoreError(f"fsync: expected one of {list(FSYNC_POLICIES)}, was {self.fsync!r}", key="fsync")
        if self.segment_bytes < 4096:
            raise StoreError(f"segment_bytes: expected >= 4096, was {self.segment_bytes}", key="segment_bytes")
        for topic, pol in self.critical_policy.items():
            get_topic(topic)
            if pol not in ("halt", "drop", "write"):
                raise StoreError(f"critical_policy.{topic}: expected halt|drop|write, was {pol!r}", key=topic)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], file: str | None = None) -> WALConfig:
        """Strict parse of a ``wal:`` config section (sizes like ``"64MiB"``, durations like ``"200ms"``)."""
        s = Section(data, file, "wal")
        seg_b = s.size_bytes("segment_bytes", "64MiB")
        fsync = s.str("fsync", "interval", choices=FSYNC_POLICIES)
        interval_ns = s.duration_ns("fsync_interval", "200ms")
        pol = s.section("critical_policy", {})
        policies = {}
        for k in list(pol.data):
            if k not in TOPICS:
                pol.fail(pol.key(k), f"a topic, one of {sorted(TOPICS)}", k)
            policies[k] = pol.str(k, choices=("halt", "drop", "write"))
        pol.done()
        s.done()
        return cls(segment_bytes=seg_b, fsync=fsync, fsync_interval_s=interval_ns / 1e9, critical_policy=policies)


@dataclass
class WriterStats:
    """Counters of one writer (also exported by `WALFirstWriter.metrics()`)."""
    records_written: int = 0
    frames_written: int = 0
    bytes_written: int = 0
    fsyncs: int = 0
    rotations: int = 0
    records_refused: int = 0  # HALT or CRITICAL+halt: write() returned False
    records_dropped: int = 0  # CRITICAL+drop
    data_loss_events: int = 0  # write calls that returned False
    write_errors: int = 0  # OSError while appending (e.g. disk full); the partial frame is cut off
    torn_tail_truncations: int = 0
    torn_bytes_truncated: int = 0
    last_error: str = ""  # why the last record was not acknowledged ("" when none was lost)

    @property
    def records_lost(self) -> int:
        """Records a write call returned False for (refused or dropped): not in the WAL."""
        return self.records_refused + self.records_dropped


def id_high(namespace: str, topic: str) -> int:
    """The high 64 bits of auto-assigned record ids for (`namespace`, `topic`)."""
    h = hashlib.blake2b(f"{namespace}\x1f{topic}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little")


class WALFirstWriter:
    """Append-only, CRC-framed, segment-rotating WAL writer. Thread-safe; one per WAL directory per process.

    Args:
        wal_dir: the WAL directory (created if missing).
        config: :class:`WALConfig`.
        id_namespace: namespace of auto-assigned record ids (see module doc).
        monitor: optional disk-pressure monitor (not started or stopped by the writer).
    """

    def __init__(self, wal_dir: str | Path, config: WALConfig | None = None, *, id_namespace: str | None = None,
                 monitor: DiskPressureMonitor | None = None) -> None:
        self.wal_dir = Path(wal_dir)
        self.config = config or WALConfig()
        self.monitor = monitor
        self.stats = WriterStats()
        self._lock = threading.Lock()
        self._closed = False
        self._fd: int | None = None
        self._seg_no = 0
        self._seg_size = 0
        self._seg_records = 0
        self._seg_frames = 0
        self._seq: dict[str, int] = {}
        self._hi: dict[str, int] = {}
        self._last_drop_warn = 0.0
        self._dirty = False
        self._sync_stop = threading.Event()
        self._sync_thread: threading.Thread | None = None
        self._spare_thread: threading.Thread | None = None  # `_after_rotation`: the next segment made ahead
        self.wal_dir.mkdir(parents=True, exist_ok=True)
        self._wlock = ProcessLock(self.wal_dir / "writer.lock", f"WAL directory {self.wal_dir}")
        self._wlock.acquire(self.config.lock_wait_s)
        try:
            m = update_manifest(self.wal_dir, _bump_session)
            self.wal_uid: str = m["wal_uid"]
            self.session: int = m["writer_sessions"]
            self.id_namespace = id_namespace if id_namespace is not None else f"{self.wal_uid}/{self.session}"
            self._recover()
        except BaseException:
            self._close_fd()
            self._wlock.release()
            raise
        if self.config.fsync == "interval":
            self._sync_thread = threading.Thread(target=self._sync_loop, name="hft-wal-fsync", daemon=True)
            self._sync_thread.start()
        self._in_background(self._prepare_spare, self._seg_no + 1)

    # --- open / recovery ---------------------------------------------------------------------------------
    def _recover(self) -> None:
        for spare in self.wal_dir.glob(".seg-*.wal.spare"):  # made ahead by a writer that stopped before using it
            spare.unlink(missing_ok=True)
        segs = wf.list_segments(self.wal_dir)
        if not segs:
            self._open_segment(1, create=True)
            return
        no, path = segs[-1]
        size = path.stat().st_size
        if size < wf.SEGMENT_HEADER_SIZE:
            # killed while creating the segment: nothing acknowledged can be in it
            self._report_torn(no, 0, size, "incomplete segment header")
            with open(path, "r+b") as f:
                f.truncate(0)
                f.write(wf.segment_header(no))
            self._open_segment(no, create=False)
            return
        try:
            base, data = wf.read_segment(path)
        except ValueError as exc:
            raise StoreError(f"{path}: expected a WAL segment, {exc}", file=str(path), segment=path.name,
                             offset=0) from None
        res = wf.scan_buffer(data, base, base=base)
        if res.status == "corrupt":
            raise StoreError(
                f"{path}: corrupt WAL frame at offset {res.bad_offset} ({res.reason}) followed by valid data at "
                f"offset {res.resync_offset}: expected a torn tail at most",
                hint="move the segment aside and inspect it; the writer does not cut off valid records",
                file=str(path), segment=path.name, offset=res.bad_offset)
        if res.status == "torn":
            self._report_torn(no, res.good_end, res.size - res.good_end, res.reason)
            with open(path, "r+b") as f:
                f.truncate(res.good_end)
                f.flush()
                os.fsync(f.fileno())
        self._open_segment(no, create=False)
        self._seg_records = sum(f.n_records for f in res.frames)
        self._seg_frames = len(res.frames)

    def _report_torn(self, no: int, offset: int, nbytes: int, reason: str) -> None:
        self.stats.torn_tail_truncations += 1
        self.stats.torn_bytes_truncated += nbytes
        log.warning("WAL %s: torn tail in %s at offset %d: %s; truncated %d bytes (records whose write() had "
                    "returned are before it and kept)", self.wal_dir, wf.segment_name(no), offset, reason, nbytes)

        def add(m: dict[str, Any]) -> None:
            m.setdefault("torn_tails", []).append({"segment": no, "offset": offset, "bytes": nbytes,
                                                   "reason": reason, "at": time.time()})
        update_manifest(self.wal_dir, add)

    def _open_segment(self, no: int, *, create: bool, note_now: bool = True) -> None:
        path = self.wal_dir / wf.segment_name(no)
        if create:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
            os.write(fd, wf.segment_header(no))
            if self.config.fsync != "never":
                os.fsync(fd)
                _fsync_dir(self.wal_dir)
        else:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._fd = fd
        self._seg_no = no
        self._seg_size = os.fstat(fd).st_size
        self._seg_records = 0
        self._seg_frames = 0

        if note_now:
            size = self._seg_size
            update_manifest(self.wal_dir, lambda m: _note_open(m, no, size), durable=self.config.fsync != "never")

    def _rotate(self) -> None:
        """Close the current segment and go on in the next one. The old one is synced first (unless
        fsync=never): readers take a segment followed by another as sealed and whole. Under fsync=interval or
        never, the next segment was made ahead (`_prepare_spare`) and is only renamed into place here; the
        directory's sync and the manifest's update follow in the background (`_after_rotation`): each of
        those waits on the disk, 1-32 ms apiece on the live writer's thread under load (measured)."""
        old_no, old_size, old_rec, old_frames = self._seg_no, self._seg_size, self._seg_records, self._seg_frames
        if self._fd is not None and self.config.fsync != "never":
            os.fdatasync(self._fd)
            self.stats.fsyncs += 1
        self._close_fd()
        sealed = {"sealed": True, "bytes": old_size, "records": old_rec, "frames": old_frames}

        def seal(m: dict[str, Any]) -> None:
            m.setdefault("segments", {})[str(old_no)] = sealed
        if self.config.fsync != "batch" and self._take_spare(old_no + 1):
            self._open_segment(old_no + 1, create=False, note_now=False)
            self._in_background(self._after_rotation, old_no, sealed)
        else:
            update_manifest(self.wal_dir, seal, durable=self.config.fsync != "never")
            self._open_segment(old_no + 1, create=True)
            self._in_background(self._prepare_spare, old_no + 2)
        self.stats.rotations += 1

    def _spare_path(self, no: int) -> Path:
        return self.wal_dir / f".{wf.segment_name(no)}.spare"

    def _in_background(self, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn` on the WAL's background thread, after what was queued before it: disk waits the live
        writer's thread need not take (`_take_spare` rotates in line while one is still running)."""
        prev = self._spare_thread

        def run() -> None:
            if prev is not None:
                prev.join()
            fn(*args)
        self._spare_thread = threading.Thread(target=run, name="hft-wal-spare", daemon=True)
        self._spare_thread.start()

    def _prepare_spare(self, no: int) -> None:
        """Segment `no` made ahead under a hidden name (`.seg-….wal.spare`: not a segment to any reader):
        created, its header written and synced. Not under fsync=batch, which rotates in line."""
        if self.config.fsync == "batch" or no <= self._seg_no:  # or the writer went past it (rotated in line)
            return
        path = self._spare_path(no)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, wf.segment_header(no))
                if self.config.fsync != "never":
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:  # the rotation then creates the segment itself
            log.warning("WAL %s: could not make the next segment ahead (%s)", self.wal_dir, exc)
            path.unlink(missing_ok=True)

    def _take_spare(self, no: int) -> bool:
        """Rename the spare of segment `no` into place, if it is ready (else False: made in line)."""
        t = self._spare_thread
        if t is not None and t.is_alive():
            return False
        spare = self._spare_path(no)
        try:
            if spare.stat().st_size != wf.SEGMENT_HEADER_SIZE:
                return False
            os.rename(spare, self.wal_dir / wf.segment_name(no))
        except OSError:
            return False
        return True

    def _after_rotation(self, old_no: int, sealed: dict[str, Any]) -> None:
        """(spare thread) What a rotation left: the directory synced (the renamed segment's name on disk), the
        old segment sealed and the new one noted in the manifest, and the segment after it made ahead."""
        durable = self.config.fsync != "never"
        if durable:
            _fsync_dir(self.wal_dir)
        new_no = old_no + 1

        def note(m: dict[str, Any]) -> None:
            m.setdefault("segments", {})[str(old_no)] = sealed
            _note_open(m, new_no, wf.SEGMENT_HEADER_SIZE)
        try:
            update_manifest(self.wal_dir, note, durable=durable)
        except OSError as exc:
            log.error("WAL %s: manifest update after rotation to segment %d failed: %s", self.wal_dir, new_no, exc)
        self._prepare_spare(new_no + 1)

    # --- writing -----------------------------------------------------------------------------------------
    def _admit(self, topic: Topic, n: int) -> bool:
        mon = self.monitor
        if mon is None:
            return True
        level = mon.level
        if level < DiskLevel.CRITICAL:
            return True
        policy = "halt" if level >= DiskLevel.HALT else self.config.critical_policy.get(topic.name,
                                                                                        topic.critical_policy)
        if policy == "write":
            return True
        with self._lock:
            if policy == "drop":
                self.stats.records_dropped += n
                now = time.monotonic()
                if now - self._last_drop_warn > 5.0:
                    self._last_drop_warn = now
                    log.warning("disk CRITICAL: dropping %s records (policy drop); %d dropped so far",
                                topic.name, self.stats.records_dropped)
            else:
                self.stats.records_refused += n
            self.stats.data_loss_events += 1
            self.stats.last_error = f"disk pressure {level.name} on the WAL filesystem (policy {policy})"
        return False

    def _ids(self, topic: Topic, n: int) -> tuple[int, int]:
        """Reserve `n` sequence numbers; returns (high 64 bits, first seq). Caller holds the lock."""
        hi = self._hi.get(topic.name)
        if hi is None:
            hi = self._hi[topic.name] = id_high(self.id_namespace, topic.name)
        first = self._seq.get(topic.name, 0)
        self._seq[topic.name] = first + n
        return hi, first

    def write(self, topic: str, record: Mapping[str, Any]) -> bool:
        """Append one record. True when appended; False when refused by disk pressure (count a data loss)."""
        return self.write_many(topic, (record,))

    def write_many(self, topic: str, records: Sequence[Mapping[str, Any]]) -> bool:
        """Append a batch of records of one topic as one frame (all or nothing)."""
        t = get_topic(topic)
        n = len(records)
        if n == 0:
            return True
        if not self._admit(t, n):
            return False
        with self._lock:
            self._check_open()
            hi, first = self._ids(t, n)
            base = hi * _U64 + first
            rids: Sequence[int]
            if any("record_id" in rec for rec in records):
                rids = [base + i if rec.get("record_id") is None else parse_record_id(rec["record_id"], topic=t.name)
                        for i, rec in enumerate(records)]
            else:
                rids = range(base, base + n)
            try:
                payload = t.encode_records(records, rids)
            except BaseException:
                self._seq[t.name] = first
                raise
            return self._append(t, n, payload)

    def write_array(self, topic: str, arr: Any, const: Mapping[str, Any] | None = None,
                    strings: Mapping[str, Any] | None = None) -> bool:
        """Append a numpy structured array (numeric columns) plus per-batch constants and per-row values of
        string columns (`strings`: column -> one str per row) as one frame.

        The fast path for kernels that fill structured arrays: ids are auto-assigned (see module doc).
        """
        return self.write_arrays(((topic, arr, const, strings),))[0]

    def write_arrays(self, batches: Sequence[tuple[str, Any, Mapping[str, Any] | None, Mapping[str, Any] | None]]
                     ) -> list[bool]:
        """Append several array batches (each `write_array`'s arguments), one frame each, in order, with one
        ``writev(2)`` when they fit the segment (a writer step's topics: one system call). Each frame stays
        self-checking (a torn write keeps the complete frames before it). Returns `write_array`'s answer for each
        batch: False for one refused by disk pressure (left out, counted) or when the append failed."""
        done = [True] * len(batches)
        todo = []
        for i, (topic, arr, const, strings) in enumerate(batches):
            t = get_topic(topic)
            n = len(arr)
            if n == 0:
                continue
            if not self._admit(t, n):
                done[i] = False
                continue
            todo.append((i, t, n, arr, const, strings))
        if not todo:
            return done
        with self._lock:
            self._check_open()
            frames: list[tuple[Topic, int, memoryview]] = []
            try:
                for _, t, n, arr, const, strings in todo:
                    hi, first = self._ids(t, n)
                    frames.append((t, n, t.encode_array_view(arr, np.arange(first, first + n, dtype=np.uint64), hi,
                                                             const, strings)))
            except BaseException:
                for _, t, n, *_ in reversed(todo[:len(frames) + 1]):  # nothing written: the ids are free again
                    self._seq[t.name] -= n
                raise
            ok = self._append(*frames[0]) if len(frames) == 1 else self._append_many(frames)
        if not ok:
            for i, *_ in todo:
                done[i] = False
        return done

    def _append_many(self, frames: list[tuple[Topic, int, memoryview]]) -> bool:
        """`_append` of each frame, with one ``writev`` when they all fit the current segment."""
        now = time.time_ns()
        iov: list[bytes | memoryview] = []
        for t, n, payload in frames:
            iov.append(wf.frame_header(t.topic_id, t.version, n, payload, now))
            iov.append(payload)
        size = sum(len(x) if isinstance(x, bytes) else x.nbytes for x in iov)
        if self._seg_size + size > self.config.segment_bytes:  # frame by frame, each rotating as it must
            return all([self._append(*frame) for frame in frames])
        fd = self._fd
        assert fd is not None
        start = self._seg_size
        n_all = sum(n for _, n, _ in frames)
        try:
            k = os.writev(fd, iov)
            if k < size:
                rest = memoryview(b"".join(bytes(x) for x in iov))[k:]
                while rest:
                    rest = rest[os.write(fd, rest):]
        except OSError as exc:
            return self._append_failed(fd, start, n_all, ", ".join(t.name for t, _, _ in frames), exc)
        self._appended(size, n_all, len(frames))
        return True

    def _append(self, t: Topic, n: int, payload: bytes | memoryview) -> bool:
        head = wf.frame_header(t.topic_id, t.version, n, payload, time.time_ns())
        body = payload if isinstance(payload, memoryview) else memoryview(payload)
        size = len(head) + body.nbytes
        if self._seg_size + size > self.config.segment_bytes and self._seg_size > wf.SEGMENT_HEADER_SIZE:
            self._rotate()
        fd = self._fd
        assert fd is not None
        start = self._seg_size
        try:
            # one writev(2) for header + payload (no copy of the payload); loop on a short write
            k = os.writev(fd, (head, body))
            if k < size:
                rest = memoryview(head + body.tobytes())[k:]
                while rest:
                    rest = rest[os.write(fd, rest):]
        except OSError as exc:
            return self._append_failed(fd, start, n, t.name, exc)
        self._appended(size, n, 1)
        return True

    def _append_failed(self, fd: int, start: int, n: int, what: str, exc: OSError) -> bool:
        """An append that failed: never leave a partial frame behind valid ones (cut back to the last good
        frame); its records are refused."""
        self.stats.write_errors += 1
        self.stats.data_loss_events += 1
        self.stats.records_refused += n
        self.stats.last_error = f"append failed: {exc.strerror or exc}"
        with contextlib.suppress(OSError):
            os.ftruncate(fd, start)
        log.error("WAL %s: append of %d %s records failed (%s); refused", self.wal_dir, n, what, exc)
        return False

    def _appended(self, size: int, n: int, frames: int) -> None:
        """Count `frames` frames of `n` records and `size` bytes just appended (synced under fsync=batch)."""
        self._seg_size += size
        self._seg_records += n
        self._seg_frames += frames
        st = self.stats
        st.records_written += n
        st.frames_written += frames
        st.bytes_written += size
        if self.config.fsync == "batch":
            os.fdatasync(self._fd)
            st.fsyncs += 1
        else:
            self._dirty = True

    def _check_open(self) -> None:
        if self._closed or self._fd is None:
            raise StoreError(f"WAL {self.wal_dir}: expected an open writer, was closed", file=str(self.wal_dir))

    # --- durability --------------------------------------------------------------------------------------
    def sync(self) -> None:
        """fdatasync the current segment now (whatever the policy)."""
        with self._lock:
            if self._fd is not None:
                os.fdatasync(self._fd)
                self.stats.fsyncs += 1
                self._dirty = False

    def _sync_loop(self) -> None:
        while not self._sync_stop.wait(self.config.fsync_interval_s):
            try:
                with self._lock:
                    if not self._dirty or self._fd is None:
                        continue
                    fd = os.dup(self._fd)
                    self._dirty = False
                try:
                    os.fdatasync(fd)
                    self.stats.fsyncs += 1
                finally:
                    os.close(fd)
            except OSError as exc:
                log.error("WAL %s: periodic fsync failed: %s", self.wal_dir, exc)

    def close(self) -> None:
        """Sync (unless fsync=never), record the segment in the manifest, release the directory."""
        if self._closed:
            return
        self._sync_stop.set()
        if self._sync_thread is not None:
            self._sync_thread.join(timeout=5)
        with self._lock:
            self._closed = True
            if self._spare_thread is not None:
                self._spare_thread.join()  # its manifest update lands before the closing one
            for spare in self.wal_dir.glob(".seg-*.wal.spare"):
                spare.unlink(missing_ok=True)
            if self._fd is not None and self.config.fsync != "never":
                os.fdatasync(self._fd)
                self.stats.fsyncs += 1
            no, size, rec, frames = self._seg_no, self._seg_size, self._seg_records, self._seg_frames
            self._close_fd()

            def note(m: dict[str, Any]) -> None:
                m.setdefault("segments", {})[str(no)] = {"sealed": False, "bytes": size, "records": rec,
                                                         "frames": frames}
            try:
                update_manifest(self.wal_dir, note, durable=self.config.fsync != "never")
            finally:
                self._wlock.release()

    def _close_fd(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WALFirstWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- introspection -----------------------------------------------------------------------------------
    @property
    def current_segment(self) -> tuple[int, int]:
        """(segment number, size in bytes) being appended to."""
        return self._seg_no, self._seg_size

    def position(self) -> tuple[int, int]:
        """(segment number, byte offset) just past the last frame appended: where the next frame will go
        (a snapshot of a reader's state names the records it covers by it; `hft.recorder.reader`)."""
        with self._lock:
            return self._seg_no, self._seg_size

    def needed_from(self, segment: int) -> None:
        """Record in the manifest that a reader of this WAL's state (the live service's newest snapshot) needs
        only the segments from `segment` on: the loader (`hft.recorder.loader`) deletes loaded segments only
        below it. Not fsynced: a power cut may leave an older (smaller, so safe) value."""
        # off the caller's thread (the live writer's): replacing the manifest may wait on the disk
        def mark(m: dict[str, Any]) -> None:
            m["needed_from"] = segment
        self._in_background(lambda: update_manifest(self.wal_dir, mark, durable=False))

    def metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = {"wal_dir": str(self.wal_dir), "segment": self._seg_no,
                               "segment_bytes": self._seg_size, **asdict(self.stats)}
        if self.monitor is not None:
            out["disk_level"] = self.monitor.level.name
        return out


def _note_open(m: dict[str, Any], no: int, size: int) -> None:
    """In a manifest: segment `no` open at `size` bytes, every one before it sealed."""
    segs = m.setdefault("segments", {})
    for k, v in segs.items():
        if int(k) < no:
            v["sealed"] = True
    segs.setdefault(str(no), {"sealed": False, "bytes": size, "records": 0, "frames": 0})


def _bump_session(m: dict[str, Any]) -> None:
    m["writer_sessions"] = int(m.get("writer_sessions", 0)) + 1


def _fsync_dir(d: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def open_writer(name: str = "default", *, home: Path | None = None, config: WALConfig | None = None,
                id_namespace: str | None = None, monitor: DiskPressureMonitor | None = None) -> WALFirstWriter:
    """A writer on ``$HFT_HOME/wal/<name>`` (the loader drains every directory under ``$HFT_HOME/wal``)."""
    if not name or "/" in name or name.startswith("."):
        raise StoreError(f"WAL name: expected a plain directory name, was {name!r}", key="name")
    return WALFirstWriter(wal_root(home) / name, config, id_namespace=id_namespace, monitor=monitor)


@contextlib.contextmanager
def open_checked_writer(name: str, *, home: Path | None = None, config: WALConfig | None = None,
                        id_namespace: str | None = None, what: str = "records") -> Iterator[WALFirstWriter]:
    """What a CLI writer uses: :func:`open_writer` with the disk-pressure monitor attached, failing loudly.

    The monitor watches the WAL filesystem with the thresholds of ``$HFT_DISK_THRESHOLDS`` (defaults 10% / 5% /
    1% free). Leaving the block with records the WAL did not acknowledge (an append that failed: disk full, file
    size limit, I/O error; or refused under disk pressure) raises a StoreError with the count and the reason, so
    a run is never reported as recorded when it is not. What was acknowledged stays in the WAL.
    """
    root = wal_root(home)
    root.mkdir(parents=True, exist_ok=True)
    mon = DiskPressureMonitor(root, env_thresholds()).start()
    try:
        with open_writer(name, home=home, config=config, id_namespace=id_namespace, monitor=mon) as w:
            yield w
        st = w.stats
        if st.records_lost:
            total = st.records_lost + st.records_written
            raise StoreError(f"WAL {w.wal_dir}: {st.records_lost:,} of {total:,} {what} were not written "
                             f"({st.last_error}); expected every record acknowledged by the WAL",
                             hint="free space (or raise the file size limit) under $HFT_HOME/wal and rerun; "
                                  "the records that were acknowledged stay in the WAL",
                             file=str(w.wal_dir), records_lost=st.records_lost, records_total=total)
    finally:
        mon.stop()


def wal_manifest(wal_dir: Path) -> dict[str, Any]:
    """Read-only view of a WAL directory's manifest."""
    return read_manifest(wal_dir)
