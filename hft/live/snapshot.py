"""Snapshots of the live service's state, so recovery replays only the WAL written after the newest one.

A snapshot is taken at a quiet point of the one writer (the end of a commit: every record written so far is
reflected in the state, nothing decided is unwritten): after start-up recovery, every
``server.snapshot_every`` WAL records and when the WAL starts a new segment, and on a clean shutdown. Its size
is about the arena's (``capacity`` and ``dedup.capacity`` set it: ~110 MB with config/gateway.yaml) plus the
order views; with many views (``server.snapshot_fork_orders``) the periodic ones are written by a forked child
at idle priority, the next one no sooner than ``server.snapshot_rest`` times the last one's duration after it
(due snapshots coalesced: a restart then replays at most what was written in about (2 + rest) child
durations). It holds the gateway's arena (dedup window, order table, exposure, PnL, limits, rate
limiters, counters), its registries, the policy and StormGuard state, the clock, the service's order views,
and the WAL position it covers (segment number, byte offset). It is written beside the WAL directory
(``<wal_dir>-snapshot.pkl``, temp file + rename: a crash leaves the previous one).

On start, `load` restores it into a freshly built service (refused, with a full replay instead, when the
gateway's table sizes differ from the snapshot's); recovery then replays the WAL from the snapshot's position.
The WAL segments before it are no longer needed by the service: the WAL's manifest says so
(``needed_from``), and only those ``hft audit load`` may drain and delete (the WAL's truncation). Start-up
therefore grows with what was written since the last snapshot, not with the WAL.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import pickle
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.errors import GatewayError
from hft.core.fileio import atomic_path, replace_freeing_later, temp_prefix
from hft.gateway.arena_migration import migrate
from hft.gateway.kernels.layout import H_VERSION
from hft.gateway.kernels.layout import VERSION as ARENA_VERSION
from hft.recorder import wal_format as wf

log = logging.getLogger("hft.live.snapshot")
VERSION = 5  # 2: order views as columns (hft.live.views); 3: the version is a header of its own; 4: no
# client-id index in the state (the views rebuild theirs); 5: the views as a ring with a fill log numbered by fill
# (rows in order id order from `base`, leaves + 1, fill links from 1, client-id keys, the aside views' own log);
# since issue 52 also the ingress kill's cause (`halt_cause`, "" when a snapshot lacks it: not a new version, so
# an upgrade does not replay the whole WAL, whose closed segments the loader may have deleted); likewise the
# sessions' DAY order ids and the time of the last session control (`day_orders`, `session_mark`), and since issue
# 55 the limits in force (`limits` of `GatewayService.snapshot_state`: a snapshot without them keeps the config's)
# and the token deny-list (`revoked`: none when a snapshot lacks it) and the order-update stream (`updates`,
# hft.live.updates)
_MAX_FD = 1 << 16
_SYNC_EVERY = 2 << 20  # a forked snapshot's bytes between fdatasyncs: small, so the device queue never holds a long
# burst of them ahead of the WAL's I/O (at 32 MiB the writer lost ~6 % of its core while a child wrote, /v3 p99 5-6 ms)
_IOPRIO_SET = {"x86_64": 251, "aarch64": 30}  # the ioprio_set system call's number (no wrapper in os)


def snapshot_path(wal_dir: str | Path) -> Path:
    d = Path(wal_dir)
    return d.parent / f"{d.name}-snapshot.pkl"


def _state(live: Any, seg: int, off: int, records: int) -> dict[str, Any]:
    return {
        **live.gw.snapshot_state(),  # arena, names, storm, policy (a private arena refused)
        "wal": (seg, off), "records": records, "clock": live.clock.now_ns(), "halt_cause": live.halt_cause,
        "revoked": live.revoked,  # the token deny-list (hft.live.auth)
        "orders": live.orders,  # with its client-id index (rebuilt from the views on restore)
        "ids_reserved": live.ids_reserved,  # hft.live.order_ids: WAL records before the snapshot's position
        "day_orders": sorted(live.day_orders), "session_mark": live.session_mark,  # sessions (hft.live.calendar)
        "n_fills": live.n_fills, "updates": live.updates,  # the order-update stream's numbers and held rows
        "transitions": live.audit.n_transitions if live.audit is not None else 0,
    }


class _SyncedWrites:
    """A file whose writes are fdatasync'ed every `every` bytes (like Redis's ``rdb-save-incremental-fsync``): a
    forked snapshot's data reaches the disk as it is written, from the child at its idle I/O priority, instead of
    piling up as dirty pages for one long final fsync that holds the disk from the WAL."""

    def __init__(self, f: Any, every: int) -> None:
        self.f, self.every, self.pending = f, every, 0

    def write(self, b: Any) -> int:
        mv = memoryview(b).cast("B")
        for i in range(0, len(mv), self.every):
            part = mv[i:i + self.every]
            self.f.write(part)
            self.pending += len(part)
            if self.pending >= self.every:
                self.f.flush()
                os.fdatasync(self.f.fileno())
                self.pending = 0
        return len(mv)


def _write(path: str | Path, state: dict[str, Any], sync_every: int = 0) -> int:
    """Pickle `state` into the temporary file `path` (created empty beforehand: it is never created here, so a
    child that outlived its writer cannot bring back a stray file the next writer removed); with `sync_every`,
    synced as it goes (`_SyncedWrites`)."""
    with open(path, "r+b") as f:
        out = _SyncedWrites(f, sync_every) if sync_every else f
        pickle.dump(VERSION, out)  # a header readable whatever the state's classes became (see `load`)
        pickle.dump(state, out, protocol=5)  # protocol 5: the arena's buffer is written as is, not copied first
        f.truncate()
        f.flush()
        os.fsync(f.fileno())  # renamed only once on disk: a crash leaves the previous snapshot whole
        return f.tell()


def take(live: Any) -> dict[str, Any]:
    """Write the snapshot of `live` (a `LiveGateway` with a WAL) at its current WAL position; returns its
    summary."""
    t0 = time.perf_counter()
    wal = live.wal
    seg, off = wal.position()
    with atomic_path(snapshot_path(wal.wal_dir)) as tmp:
        size = _write(tmp, _state(live, seg, off, wal.stats.records_written))
    wal.needed_from(seg)
    out = {"segment": seg, "offset": off, "bytes": size, "seconds": round(time.perf_counter() - t0, 4)}
    live.snapshots += 1
    live.last_snapshot = out
    return out


@dataclass
class Background:
    """A snapshot being written by a forked child (`start_background`); `poll` / `finish` install it."""

    pid: int
    tmp: Path
    target: Path
    segment: int
    offset: int
    started: float
    fork_ms: float  # the parent's fork: copying the page tables of the whole process


def start_background(live: Any) -> Background:
    """Fork a child that writes the snapshot of `live` as it is now (the pages are shared copy-on-write, so the
    writer goes on at once) to a temporary file; the parent renames it into place once the child succeeded
    (`poll`). Only the live writer ever renames: a child outliving a killed writer leaves a stray temporary
    file, never a snapshot older than one written since. The child touches no lock and no inherited file
    descriptor (it closes them first), writes, and leaves with ``os._exit``."""
    wal = live.wal
    seg, off = wal.position()  # in the parent: the child must not take the WAL's lock
    state = _state(live, seg, off, wal.stats.records_written)
    target = snapshot_path(wal.wal_dir)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(f".{target.name}."), suffix=".tmp", dir=target.parent)
    os.close(fd)
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child (exercised by tests through its file)
        code = 1
        try:
            os.closerange(3, _MAX_FD)  # listening sockets, the WAL's lock, the journal: none are the child's
            _yield_to_the_writer()
            _write(tmp, state, _SYNC_EVERY)
            code = 0
        finally:
            os._exit(code)
    now = time.perf_counter()
    return Background(pid, Path(tmp), target, seg, off, now, round((now - t0) * 1e3, 3))


def _yield_to_the_writer() -> None:
    """In the child: run only on CPU time the writer leaves (``SCHED_IDLE``, else nice 19) and on any CPU, not
    only the writer's (a writer pinned to one core passes its affinity on: the child would take that core from
    it), and at the idle I/O class (its disk writes go when the WAL's leave the disk free); the aim of Redis's
    ``bgsave_cpulist`` for its save child. Each step is best effort (a platform or a cgroup may refuse)."""
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, 0, 19)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    nr = _IOPRIO_SET.get(os.uname().machine)
    if nr is not None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).syscall(nr, 1, 0, 3 << 13)  # IOPRIO_WHO_PROCESS, self, CLASS_IDLE


def poll(live: Any, bg: Background, block: bool = False, on_failure: Any = None) -> bool | None:
    """Whether the child of `bg` failed, once it has finished (None while it runs): its snapshot renamed into
    place (counted like `take`'s) when it succeeded, its temporary file removed when it did not (logged, or
    `on_failure(error)`; the previous snapshot stays)."""
    pid, status = os.waitpid(bg.pid, 0 if block else os.WNOHANG)
    if pid == 0:
        return None
    if os.waitstatus_to_exitcode(status) == 0:
        replace_freeing_later(bg.tmp, bg.target)  # the previous snapshot's 100s of MB freed off the writer
        live.wal.needed_from(bg.segment)
        live.snapshots += 1
        live.last_snapshot = {"segment": bg.segment, "offset": bg.offset, "bytes": bg.target.stat().st_size,
                              "seconds": round(time.perf_counter() - bg.started, 4), "background": True,
                              "fork_ms": bg.fork_ms}
        return False
    error = f"background snapshot: child exit status {os.waitstatus_to_exitcode(status)}"
    if on_failure is not None:
        on_failure(error)
    else:
        log.error("%s: the previous snapshot stays", error)
    with contextlib.suppress(FileNotFoundError):
        bg.tmp.unlink()
    return True


def remove_stray(wal_dir: str | Path) -> None:
    """Remove temporary snapshot files a killed writer's child left (called before the first snapshot)."""
    target = snapshot_path(wal_dir)
    for p in target.parent.glob(f".{target.name}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _read(path: Path) -> tuple[int | str, dict[str, Any]]:
    """The snapshot's version and state. The version is a header of its own (since version 3), read before the
    state, so a snapshot whose classes changed since it was written is named by its version rather than failing
    to unpickle; a file without the header (before version 3) or a damaged one is described, never raised."""
    with open(path, "rb") as f:
        try:
            head = pickle.load(f)
        except Exception as exc:  # before version 3 the first object held the state's classes; or damaged
            return f"unreadable ({type(exc).__name__}: {exc}; damaged, or written by an older hft)", {}
        if not isinstance(head, int):
            return "without a version header (written by an older hft)", {}
        if head != VERSION:
            return head, {}
        try:
            return head, pickle.load(f)
        except Exception as exc:  # a damaged snapshot: the WAL still holds everything since its start
            return f"unreadable ({type(exc).__name__}: {exc}; damaged)", {}


def _replay_whole_wal(path: Path, wal_dir: str | Path, why: str) -> None:
    """A snapshot that cannot be used: recovery replays the WAL from its first record, which rebuilds the state only
    while the WAL still begins at segment 1. When the loader has deleted segments before it (it may, once a
    snapshot covers them), the replay would start the service on a state missing those records: a `GatewayError`
    instead, naming the snapshot, why it was refused and what to do."""
    segs = wf.list_segments(Path(wal_dir))
    if segs and segs[0][0] != 1:
        raise GatewayError(f"{path}: the snapshot cannot be used ({why}) and the WAL {wal_dir} no longer holds its "
                           f"segments before {segs[0][0]} (loaded into the store and deleted), so replaying it would "
                           f"start from a partial state. Run the hft version and capacity settings that wrote the "
                           f"snapshot, or restore the deleted segments; to start empty, move the WAL directory and its "
                           f"snapshot aside", key="snapshot")
    log.warning("snapshot %s: %s: replaying the whole WAL", path, why)
    return None


def _migrated(live: Any, state: dict[str, Any]) -> int | None:
    """A snapshot whose arena is of an older layout (`hft.gateway.arena_migration`): its arena migrated to this
    one and restored into `live`; returns the old layout version. None (nothing changed) when the arena is of this
    layout or no migration reads it, or the migrated state does not fit this gateway either."""
    arena = state.get("arena")
    old = int(arena[H_VERSION]) if isinstance(arena, np.ndarray) and arena.ndim == 1 and len(arena) > H_VERSION else None
    if old is None or old == ARENA_VERSION:
        return None
    new = migrate(arena)
    if new is None or live.gw.restore_state({**state, "arena": new}) is not None:
        return None
    return old


def _rewrite_migrated(live: Any, path: Path, state: dict[str, Any], old: int) -> None:
    """The old snapshot kept aside as ``<snapshot>.arena-v<old>`` (a copy, written whole first), then the snapshot
    rewritten (temp file + rename) from `live` as restored: the same state, in this layout."""
    aside = path.with_name(f"{path.name}.arena-v{old}")
    with atomic_path(aside) as tmp:
        Path(tmp).write_bytes(path.read_bytes())
    with atomic_path(path) as tmp:
        _write(tmp, _state(live, *state["wal"], state["records"]))
    log.warning("snapshot %s: its arena (layout version %d) migrated to version %d; the old file kept as %s",
                path, old, ARENA_VERSION, aside)


def load(live: Any, wal_dir: str | Path) -> tuple[int, int] | None:
    """Restore the snapshot beside `wal_dir` into `live` (freshly built, nothing replayed yet). Returns the WAL
    position to replay from, or None when there is no usable snapshot (replay from the start)."""
    path = snapshot_path(wal_dir)
    if not path.exists():
        return None
    version, state = _read(path)
    if version != VERSION:
        return _replay_whole_wal(path, wal_dir, f"it is {version if isinstance(version, str) else f'version {version}'}"
                                 f", this hft reads version {VERSION}")
    why = live.gw.restore_state(state)
    migrated = _migrated(live, state) if why is not None else None
    if why is not None and migrated is None:
        return _replay_whole_wal(path, wal_dir, why)
    live.halt_cause = state.get("halt_cause", "")
    live.revoked.clear()  # in place: the service's Verifier reads this dict
    live.revoked.update(state.get("revoked", {}))  # a snapshot before revocation: none revoked
    live.revoked_changed()
    live.clock.set(max(live.clock.now_ns(), state["clock"]))
    live.orders.restore(state["orders"])
    live.n_fills = state["n_fills"]
    if "updates" in state:  # a snapshot before the order-update stream: its numbers start after it
        live.updates.restore(state["updates"])
    live.ids_reserved = state.get("ids_reserved", 0)  # a snapshot before order id blocks: its WAL reserved none
    live.day_orders = set(state.get("day_orders", ()))  # a snapshot before sessions: none tracked
    live.session_mark = state.get("session_mark", 0)
    if live.audit is not None:
        live.audit.n_transitions = state["transitions"]
    live.last_snapshot = {"segment": state["wal"][0], "offset": state["wal"][1], "loaded": True}
    if migrated is not None:
        _rewrite_migrated(live, path, state, migrated)
    return state["wal"]
