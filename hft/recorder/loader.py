"""The loader: drains WAL directories into the store, in order, in batches, idempotently.

For each WAL directory (``$HFT_HOME/wal/*``) the manifest says how far the store has been loaded (segment,
offset). A run:

1. **verifies** every unloaded frame first (CRC, framing, known topic and version). A bad frame in a sealed
   segment, or a bad frame followed by valid data, is a StoreError naming the segment and the offset, and
   *nothing* is loaded from that directory. An incomplete frame at the very end of the newest segment is a
   tail still being written (or a torn tail the next writer open truncates): it is left for later.
2. **loads** batches that never span segments: it records the batch as *pending* in the manifest, inserts each
   topic's rows (RowBinary, straight from the frames) with the insert deduplication token
   ``<wal_uid>:<segment>:<start>:<end>:<topic_id>``, then advances the loaded position and clears *pending*.

Killed at any instant and rerun, it first redoes the pending batch with the same boundaries and the same tokens,
so blocks already inserted are dropped by the engine's deduplication and exactly the missing rows are added; the
tables are also ReplacingMergeTree on ``record_id`` read with FINAL, so even a lost token could not show a
duplicate. Fully loaded sealed segments are deleted (``prune=True``), except those a live service's newest
state snapshot still needs (``needed_from`` in the manifest): they go at a later run.

Several loaders (``leases``, `hft audit load --workers-bus`) share the WAL directories: each is loaded under a
lease (`ShardClaims`; `hft.bus.lease.ShardLeases` on NATS KV), one loader per directory at a time, fenced before
each batch, insert and manifest update. Inserts the store does not answer are retried with the same token.

Metrics (:func:`backlog`): backlog records and bytes, replay lag (age of the oldest unloaded frame), the last
run's throughput and the drain ETA.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hft.core.errors import StoreError
from hft.core.fileio import atomic_write_bytes
from hft.core.paths import wal_root
from hft.recorder import wal_format as wf
from hft.recorder.manifest import read_manifest, update_manifest
from hft.recorder.topics import TOPICS_BY_ID
from hft.store.lock import ProcessLock

log = logging.getLogger("hft.recorder.loader")

DEFAULT_BATCH_ROWS = 1_000_000
DEFAULT_BATCH_BYTES = 128 * 1024 * 1024
DEFAULT_RETRY_FOR_S = 600.0  # how long an insert the store does not answer (no error code) is retried
RETRY_BACKOFF_S = (0.5, 30.0)  # first and longest pause between retries (doubling)


class ShardClaims(Protocol):
    """Leases on WAL directories shared by several loaders (`hft.bus.lease.ShardLeases` on NATS KV)."""

    def claim(self, key: str) -> bool: ...
    def valid(self, key: str) -> bool: ...
    def release(self, key: str) -> None: ...
    def holder_of(self, key: str) -> str | None: ...


class LeaseLost(StoreError):
    """The loader's lease on a WAL directory lapsed mid-load (not renewed in time): it stopped before the next
    insert or manifest update, and leaves the directory to whoever claims it next."""


def shard_key(wal_dir: Path) -> str:
    """The lease key of a WAL directory: ``wal.<wal_uid>`` (the log's id in its manifest, the same on every machine
    that mounts it), else ``wal.dir.<name>`` for a directory with no manifest yet."""
    m = wal_dir / "manifest.json"
    if m.exists():
        return f"wal.{read_manifest(wal_dir)['wal_uid']}"
    return "wal.dir." + "".join(c if c.isalnum() or c in "-_" else "_" for c in wal_dir.name)


def wal_dirs(home: Path | None = None) -> list[Path]:
    """Every WAL directory under ``$HFT_HOME/wal`` (those with a manifest or a segment)."""
    root = wal_root(home)
    if not root.is_dir():
        return []
    return sorted(d for d in root.iterdir()
                  if d.is_dir() and ((d / "manifest.json").exists() or any(d.glob("seg-*.wal"))))


@dataclass
class _Seg:
    no: int
    path: Path
    start: int
    frames: list[wf.FrameInfo]
    end: int
    tail_bytes: int = 0
    tail_reason: str = ""


@dataclass
class LoadReport:
    """What one `load` did."""
    wal_dirs: list[str] = field(default_factory=list)
    records_loaded: int = 0
    bytes_loaded: int = 0
    batches: int = 0
    redone_pending_batches: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    segments_pruned: int = 0
    tail_pending_bytes: int = 0
    seconds: float = 0.0
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # bad bytes set aside (segment, offset, ...)
    failed_dirs: list[dict[str, Any]] = field(default_factory=list)  # WAL dirs not loaded: {wal_dir, error}
    retries: int = 0  # inserts retried after the store did not answer (timeout, connection refused)
    claims: list[dict[str, Any]] = field(default_factory=list)  # shared loading: {wal_dir, key, holder, records, ...}

    @property
    def rows_per_s(self) -> float:
        return self.records_loaded / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rows_per_s": round(self.rows_per_s, 1)}


def _quarantine(wal_dir: Path, path: Path, start: int, end: int, reason: str) -> dict[str, Any]:
    """Copy the bad bytes ``[start, end)`` of a segment to ``<wal_dir>/quarantine/`` and record them."""
    qdir = wal_dir / "quarantine"
    qdir.mkdir(exist_ok=True)
    qfile = qdir / f"{path.name}.{start}-{end}.bad"
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    if not qfile.exists():

        atomic_write_bytes(qfile, data)
    entry = {"segment": path.name, "offset": start, "bytes": end - start, "reason": reason, "file": str(qfile)}
    log.info("WAL %s: quarantined %d bad bytes at offset %d (%s) to %s; the frames after them load",
                path, end - start, start, reason, qfile)

    def note(m: dict[str, Any]) -> None:
        q = m.setdefault("quarantined", [])
        if not any(e.get("segment") == path.name and e.get("offset") == start for e in q):
            q.append(entry)
    update_manifest(wal_dir, note)
    return entry


def _check_loaded_offset(path: Path, loff: int) -> None:
    """The manifest's loaded offset must be a frame boundary inside the segment (else the log is not loadable)."""
    size = path.stat().st_size
    if loff > size or (0 < loff < wf.SEGMENT_HEADER_SIZE):
        raise StoreError(f"{path}: the manifest says it is loaded up to offset {loff}, but the segment holds "
                         f"{size} bytes: expected an offset within the segment",
                         hint="the manifest does not belong to this segment (restored from elsewhere?); "
                              "inspect manifest.json before loading", file=str(path), segment=path.name,
                         offset=loff)
    if loff > wf.SEGMENT_HEADER_SIZE:  # follow the frame headers up to it (payloads skipped)
        pos = wf.SEGMENT_HEADER_SIZE
        with open(path, "rb") as f:
            while pos < loff:
                f.seek(pos)
                head = f.read(wf.FRAME_HEADER_SIZE)
                if len(head) < wf.FRAME_HEADER_SIZE or wf.FRAME_HEADER.unpack(head)[0] != wf.FRAME_MAGIC:
                    break
                pos += wf.FRAME_HEADER_SIZE + wf.FRAME_HEADER.unpack(head)[1]
        if pos != loff:
            raise StoreError(f"{path}: the manifest says it is loaded up to offset {loff}, which is not where a "
                             "frame of the segment ends: expected a frame boundary",
                             file=str(path), segment=path.name, offset=loff)


def _verify(wal_dir: Path, manifest: dict[str, Any], quarantined: list[dict[str, Any]] | None = None) -> list[_Seg]:
    """Scan (and CRC-check) everything not yet loaded; nothing is loaded here.

    Bad bytes followed by valid frames (or anywhere in a sealed segment) are quarantined (:func:`_quarantine`,
    appended to `quarantined`) and skipped. Raises StoreError on what cannot be skipped: a missing segment, a
    manifest offset outside the segment, an unknown topic version.
    """
    loaded = manifest.get("loaded") or {}
    lseg, loff = int(loaded.get("segment", 0)), int(loaded.get("offset", 0))
    segs = [(no, p) for no, p in wf.list_segments(wal_dir) if no >= lseg]
    expected = lseg if lseg > 0 else (segs[0][0] if segs else 0)
    for no, _path in segs:
        if no != expected:
            missing = wal_dir / wf.segment_name(expected)
            raise StoreError(f"{missing}: expected WAL segment {expected} (not loaded yet), it is missing",
                             hint="restore the segment; loading past a gap would lose its records silently",
                             file=str(missing), segment=missing.name, offset=0)
        expected += 1
    out: list[_Seg] = []
    for i, (no, path) in enumerate(segs):
        last = i == len(segs) - 1
        start = loff if no == lseg else 0
        if no == lseg and loff:
            _check_loaded_offset(path, loff)
        try:
            res = wf.scan_segment(path, start)
        except ValueError as exc:
            if last and path.stat().st_size < wf.SEGMENT_HEADER_SIZE:
                out.append(_Seg(no, path, wf.SEGMENT_HEADER_SIZE, [], wf.SEGMENT_HEADER_SIZE))
                continue
            raise StoreError(f"{path}: expected a WAL segment, {exc}", file=str(path), segment=path.name,
                             offset=0) from None
        base = max(start, wf.SEGMENT_HEADER_SIZE)
        frames = list(res.frames)
        # quarantine bad bytes with valid frames after them, and the bad end of a sealed segment
        while res.status == "corrupt" or (res.status == "torn" and not last):
            bad = int(res.bad_offset if res.bad_offset is not None else res.good_end)
            resume = int(res.resync_offset) if res.status == "corrupt" else res.size
            entry = _quarantine(wal_dir, path, bad, resume, res.reason)
            if quarantined is not None:
                quarantined.append(entry)
            if res.status == "torn":
                res = wf.ScanResult([], res.size, "ok", size=res.size)
                break
            res = wf.scan_segment(path, resume)
            frames.extend(res.frames)
        for fr in frames:
            t = TOPICS_BY_ID.get(fr.topic_id)
            if t is None or t.column_names_of_version(fr.topic_version) is None:
                raise StoreError(
                    f"{path}: WAL frame at offset {fr.offset}: expected a known topic version, was topic id "
                    f"{fr.topic_id} version {fr.topic_version}"
                    + (f" ({t.name} is version {t.version} in this build)" if t else ""),
                    file=str(path), segment=path.name, offset=fr.offset)
        seg = _Seg(no, path, base, frames, res.good_end)
        if res.status == "torn":
            seg.tail_bytes, seg.tail_reason = res.size - res.good_end, res.reason
        out.append(seg)
    return out


def _batches(seg: _Seg, pending: dict[str, Any] | None, batch_rows: int,
             batch_bytes: int) -> Iterable[tuple[int, int, list[wf.FrameInfo]]]:
    """Batches (start, end, frames) of a segment; the pending batch (if it starts here) keeps its end."""
    cur: list[wf.FrameInfo] = []
    rows = 0
    start = seg.start
    forced_end = None
    if pending and int(pending["segment"]) == seg.no and int(pending["start"]) == seg.start:
        forced_end = int(pending["end"])
    for fr in seg.frames:
        cur.append(fr)
        rows += fr.n_records
        if forced_end is not None:
            if fr.end >= forced_end:
                yield start, fr.end, cur
                start, cur, rows, forced_end = fr.end, [], 0, None
            continue
        if rows >= batch_rows or fr.end - start >= batch_bytes:
            yield start, fr.end, cur
            start, cur, rows = fr.end, [], 0
    if cur:
        yield start, cur[-1].end, cur


class WALLoader:
    """Loads WAL directories into a store.

    Args:
        store: an open :class:`hft.store.store.Store`.
        dirs: WAL directories (default: every one under ``$HFT_HOME/wal``).
        batch_rows / batch_bytes: batch size limits.
        prune: delete sealed segments once fully loaded.
        progress: ``callback(records_done, records_total)``.
        leases: shared loading (`hft audit load --workers-bus`): a directory is loaded only under its lease
            (`shard_key`), checked before each batch, insert and manifest update; directories another loader
            holds are retried every `claim_poll_s` until this loader has claimed and loaded each one (a holder
            that finishes releases its lease; one that died stops renewing and its entry ages out).
        retry_for_s: an insert the store does not answer (a timeout, a refused connection: no ClickHouse error
            code) is retried with the same deduplication token, pausing 0.5 s doubling to 30 s, for up to this
            long; then the StoreError stands. Errors with a ClickHouse code are not retried.
    """

    def __init__(self, store: Any, dirs: list[Path] | None = None, *, home: Path | None = None,
                 batch_rows: int = DEFAULT_BATCH_ROWS, batch_bytes: int = DEFAULT_BATCH_BYTES,
                 prune: bool = True, progress: Callable[[int, int], None] | None = None,
                 lock_wait_s: float = 30.0, leases: ShardClaims | None = None,
                 retry_for_s: float = DEFAULT_RETRY_FOR_S, claim_poll_s: float = 0.5) -> None:
        self.store = store
        self.dirs = [Path(d) for d in dirs] if dirs is not None else wal_dirs(home)
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self.prune = prune
        self.progress = progress
        self.lock_wait_s = lock_wait_s
        self.leases = leases
        self.retry_for_s = retry_for_s
        self.claim_poll_s = claim_poll_s
        self._key: str | None = None  # the lease the running load holds (shared loading)
        self._after_insert_hook: Callable[[str], None] | None = None  # tests: kill points

    def load(self) -> LoadReport:
        """Drain every WAL directory now.

        Bad frames are quarantined and the rest loads (``report.quarantined``). A directory that cannot be loaded
        (missing segment, impossible manifest, unknown topic version) does not stop the others: they load, then a
        StoreError names the first failure and how many directories failed (``report.failed_dirs`` on it).
        """
        rep = LoadReport(wal_dirs=[str(d) for d in self.dirs])
        t0 = time.perf_counter()
        if self.leases is None:
            loaded, first_error = self._load_dirs(self.dirs, rep)
        else:
            loaded, first_error = self._load_shared(rep)
        rep.seconds = time.perf_counter() - t0
        for d in loaded:
            if rep.records_loaded:
                stats = {"records": rep.records_loaded, "seconds": rep.seconds, "rows_per_s": rep.rows_per_s,
                         "at": time.time()}
                update_manifest(d, lambda mm, s=stats: mm.__setitem__("last_load", s), durable=False)
        if first_error is not None:
            n = len(rep.failed_dirs)
            raise StoreError(f"{first_error.message}" + (f" ({n} WAL directories not loaded)" if n > 1 else "")
                             + f"; the other WAL directories loaded ({rep.records_loaded:,} records)",
                             hint=first_error.hint, report=rep.to_dict(), **first_error.fields)
        return rep

    def _load_shared(self, rep: LoadReport) -> tuple[list[Path], StoreError | None]:
        """Each directory under its lease, one at a time; those held elsewhere are retried until claimed."""
        assert self.leases is not None
        todo = list(self.dirs)
        loaded: list[Path] = []
        first_error: StoreError | None = None
        while todo:
            for d in list(todo):
                key = shard_key(d)
                if not self.leases.claim(key):
                    continue
                claim = {"wal_dir": str(d), "key": key, "holder": getattr(self.leases, "holder", None),
                         "claimed_at": time.time(), "records": 0}
                rep.claims.append(claim)
                before = rep.records_loaded
                self._key = key
                try:
                    done, err = self._load_dirs([d], rep)
                except LeaseLost as exc:  # someone else continues it; claim it again later (maybe done by then)
                    claim["lost"] = exc.message
                    log.warning("%s", exc.message)
                    continue
                finally:
                    self._key = None
                    claim["records"] = rep.records_loaded - before
                    claim["released_at"] = time.time()
                    self.leases.release(key)
                loaded += done
                first_error = first_error or err
                todo.remove(d)
            if todo:
                time.sleep(self.claim_poll_s)
        return loaded, first_error

    def _fence(self) -> None:
        """Shared loading: stop unless this loader still holds the lease of the directory it loads."""
        if self._key is not None and self.leases is not None and not self.leases.valid(self._key):
            raise LeaseLost(f"WAL loader: the lease {self._key} lapsed before it was renewed (the bus or this "
                            "process held up); stopped loading it, the next claimant continues from the manifest",
                            key=self._key)

    def _insert(self, table: str, cols: list[str], payload: bytes, token: str, rep: LoadReport) -> None:
        """One insert; retried with the same token while the store does not answer (see `retry_for_s`)."""
        pause, longest = RETRY_BACKOFF_S
        give_up = time.monotonic() + self.retry_for_s
        while True:
            self._fence()
            try:
                self.store.insert_rowbinary(table, cols, payload, token)
                return
            except StoreError as exc:
                if exc.fields.get("code") is not None or time.monotonic() + pause > give_up:
                    raise
                rep.retries += 1
                log.warning("insert into %s: %s; retrying in %.1f s (same deduplication token)", table,
                            exc.message, pause)
                time.sleep(pause)
                pause = min(pause * 2, longest)

    def _load_dirs(self, dirs: list[Path], rep: LoadReport) -> tuple[list[Path], StoreError | None]:
        """Lock, verify, then load `dirs`; the directories loaded and the first failure of the others."""
        plans = []
        first_error: StoreError | None = None
        for d in dirs:
            lock = ProcessLock(d / "loader.lock", f"the loader of WAL {d}")
            try:
                lock.acquire(self.lock_wait_s)
            except BaseException:
                for _, _, _, lk in plans:
                    lk.release()
                raise
            try:
                m = read_manifest(d)
                segs = _verify(d, m, rep.quarantined)
            except StoreError as exc:
                lock.release()
                rep.failed_dirs.append({"wal_dir": str(d), "error": exc.message, **exc.fields})
                first_error = first_error or exc
                continue
            except BaseException:
                lock.release()
                for _, _, _, lk in plans:
                    lk.release()
                raise
            plans.append((d, m, segs, lock))
        total = sum(fr.n_records for _, _, segs, _ in plans for s in segs for fr in s.frames)
        done = 0
        try:
            for d, m, segs, _lock in plans:
                done = self._load_dir(d, m, segs, rep, done, total)
        finally:
            for _, _, _, lk in plans:
                lk.release()
        return [d for d, *_ in plans], first_error

    def _load_dir(self, d: Path, m: dict[str, Any], segs: list[_Seg], rep: LoadReport, done: int,
                  total: int) -> int:
        uid = m["wal_uid"]
        pending = m.get("pending")
        # a live service's WAL: the segments its newest snapshot still needs stay (`WALFirstWriter.needed_from`)
        keep = int(m.get("needed_from", 1 << 62))
        if self.prune:
            lseg = int((m.get("loaded") or {}).get("segment", 0))
            for no, path in wf.list_segments(d):
                if no < min(lseg, keep):  # loaded earlier; a previous run stopped before deleting it (or kept it)
                    path.unlink(missing_ok=True)
                    rep.segments_pruned += 1
        for i, seg in enumerate(segs):
            last = i == len(segs) - 1
            rep.tail_pending_bytes += seg.tail_bytes
            if seg.frames:
                done, pending = self._load_segment(d, uid, seg, pending, rep, done, total)
            if not last:
                # sealed and fully loaded: move on, and prune it
                nxt = segs[i + 1].no

                def next_seg(mm: dict[str, Any], s: int = nxt, old: int = seg.no) -> None:
                    lo = mm.setdefault("loaded", {"segment": 0, "offset": 0, "records": 0, "bytes": 0})
                    lo["segment"], lo["offset"] = s, 0
                    ent = mm.setdefault("segments", {}).setdefault(str(old), {})
                    ent["sealed"] = True
                    ent["loaded"] = True
                self._fence()
                update_manifest(d, next_seg)
                if self.prune and seg.no < keep:
                    seg.path.unlink(missing_ok=True)
                    rep.segments_pruned += 1
        return done

    def _load_segment(self, d: Path, uid: str, seg: _Seg, pending: dict[str, Any] | None, rep: LoadReport,
                      done: int, total: int) -> tuple[int, dict[str, Any] | None]:
        with wf.mapped(seg.path) as mv:
            for start, end, frames in _batches(seg, pending, self.batch_rows, self.batch_bytes):
                redo = bool(pending and int(pending["segment"]) == seg.no and int(pending["start"]) == start)
                n = sum(f.n_records for f in frames)
                self._fence()
                update_manifest(d, lambda mm, s=seg.no, a=start, b=end, k=n: mm.__setitem__(
                    "pending", {"segment": s, "start": a, "end": b, "records": k}))
                by_topic: dict[tuple[int, int], list[wf.FrameInfo]] = {}
                for fr in frames:
                    by_topic.setdefault((fr.topic_id, fr.topic_version), []).append(fr)
                for (tid, ver), frs in by_topic.items():
                    t = TOPICS_BY_ID[tid]
                    payload = b"".join(mv[f.payload_offset:f.end] for f in frs)
                    # frames of an older topic version: insert its leading columns, the store fills the rest
                    cols = t.column_names_of_version(ver) or t.column_names
                    token = f"{uid}:{seg.no}:{start}:{end}:{tid}" + ("" if ver == t.version else f":v{ver}")
                    self._insert(t.name, list(cols), payload, token, rep)
                    rep.tables[t.name] = rep.tables.get(t.name, 0) + sum(f.n_records for f in frs)
                    if self._after_insert_hook is not None:
                        self._after_insert_hook(t.name)

                def advance(mm: dict[str, Any], s: int = seg.no, b: int = end, k: int = n,
                            nb: int = end - start) -> None:
                    lo = mm.setdefault("loaded", {"segment": 0, "offset": 0, "records": 0, "bytes": 0})
                    lo["segment"], lo["offset"] = s, b
                    lo["records"] = int(lo.get("records", 0)) + k
                    lo["bytes"] = int(lo.get("bytes", 0)) + nb
                    mm["pending"] = None
                self._fence()
                update_manifest(d, advance)
                pending = None
                rep.batches += 1
                rep.redone_pending_batches += int(redo)
                rep.records_loaded += n
                rep.bytes_loaded += end - start
                done += n
                if self.progress is not None:
                    self.progress(done, total)
        return done, pending


class WalBacklog:
    """The unloaded part of one WAL directory, walked incrementally: a `refresh` re-reads only what the previous
    one did not see (the segments' new bytes) and re-walks a segment only when the loader moved inside it or the
    file shrank (a torn tail truncated). The live service keeps one for its `/metrics`; `backlog` walks afresh."""

    def __init__(self, wal_dir: Path) -> None:
        self.wal_dir = Path(wal_dir)
        self._walks: dict[tuple[int, int], wf.HeaderWalk] = {}  # (segment no, inode) -> its walk

    def refresh(self) -> dict[str, Any]:
        """records, bytes, frames, tail_pending_bytes, torn_tails, oldest_written_ns, loaded_records, pending,
        last_rows_per_s (the manifest's last load) of the directory now."""
        m = read_manifest(self.wal_dir)
        loaded = m.get("loaded") or {}
        lseg, loff = int(loaded.get("segment", 0)), int(loaded.get("offset", 0))
        walks: dict[tuple[int, int], wf.HeaderWalk] = {}
        for no, path in wf.list_segments(self.wal_dir):
            if no < lseg:
                continue
            try:
                st = path.stat()
                key = (no, st.st_ino)
                hw = self._walk(path, self._walks.get(key), loff if no == lseg else 0, st.st_size)
            except OSError:
                continue
            walks[key] = hw
        self._walks = walks
        ws = walks.values()
        olds = [w.oldest_written_ns for w in ws if w.oldest_written_ns is not None]
        last = m.get("last_load") or {}
        return {"records": sum(w.records for w in ws), "bytes": sum(w.good_end - w.start for w in ws),
                "frames": sum(w.frames for w in ws), "tail_pending_bytes": sum(max(w.size - w.good_end, 0) for w in ws),
                "torn_tails": len(m.get("torn_tails") or []), "oldest_written_ns": min(olds) if olds else None,
                "loaded_records": int(loaded.get("records", 0)), "pending": m.get("pending"),
                "last_rows_per_s": float(last["rows_per_s"]) if last.get("rows_per_s") else None}

    @staticmethod
    def _walk(path: Path, old: wf.HeaderWalk | None, start: int, size: int) -> wf.HeaderWalk:
        if old is None or old.start != max(start, wf.SEGMENT_HEADER_SIZE) or size < old.size:
            return wf.walk_headers(path, start)
        if size == old.size:
            return old
        more = wf.walk_headers(path, old.good_end)
        olds = [t for t in (old.oldest_written_ns, more.oldest_written_ns) if t is not None]
        return wf.HeaderWalk(old.frames + more.frames, old.records + more.records, old.start, more.good_end,
                             more.size, min(olds) if olds else None)


def backlog_totals(parts: Iterable[tuple[Path, dict[str, Any]]], now_ns: int | None = None) -> dict[str, Any]:
    """Sum `WalBacklog.refresh` results of several directories: records, bytes, frames, lag_s (age of the oldest
    unloaded frame), last_rows_per_s (the slowest directory's last load), eta_s (records / that rate; None when
    records wait and no load has run), tail_pending_bytes, torn_tails, and the per-directory details."""
    now = time.time_ns() if now_ns is None else now_ns
    tot = {"records": 0, "bytes": 0, "frames": 0, "tail_pending_bytes": 0, "torn_tails": 0}
    oldest: int | None = None
    rates: list[float] = []
    per_dir = []
    for d, b in parts:
        for k in tot:
            tot[k] += b[k]
        if b["oldest_written_ns"] is not None and (oldest is None or b["oldest_written_ns"] < oldest):
            oldest = b["oldest_written_ns"]
        if b["last_rows_per_s"]:
            rates.append(b["last_rows_per_s"])
        per_dir.append({"wal_dir": str(d), **{k: b[k] for k in ("records", "bytes", "frames", "loaded_records",
                                                                 "pending", "torn_tails", "tail_pending_bytes")}})
    rps = min(rates) if rates else None
    return {**tot, "lag_s": (now - oldest) / 1e9 if oldest is not None else 0.0,
            "last_rows_per_s": rps, "eta_s": (tot["records"] / rps) if rps else (0.0 if not tot["records"] else None),
            "wal_dirs": per_dir}


def backlog(dirs: list[Path] | None = None, *, home: Path | None = None) -> dict[str, Any]:
    """Backlog metrics of the WAL directories (no store needed; walks frame headers, no CRC check): see
    `backlog_totals`."""
    dirs = [Path(d) for d in dirs] if dirs is not None else wal_dirs(home)
    return backlog_totals((d, WalBacklog(d).refresh()) for d in dirs)


def load(store: Any, *, home: Path | None = None, **kw: Any) -> LoadReport:
    """Drain every WAL directory under ``$HFT_HOME/wal`` into `store`."""
    return WALLoader(store, home=home, **kw).load()
