"""The forked snapshot's child and its cadence: it runs on the time the writer leaves, its file is synced as it is
written, and due snapshots are coalesced while it rests (`hft.live.snapshot`, `LiveGateway._maybe_snapshot`)."""

from __future__ import annotations

import json
import os
import time
import types
from pathlib import Path

import numpy as np
import pytest

from hft.live import snapshot as S
from hft.live.engine import LiveGateway


def test_the_child_runs_at_idle_priority_on_every_cpu_even_from_a_pinned_writer() -> None:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.sched_setaffinity(0, {0})  # the writer pinned to one core (bench --pin, taskset)
            S._yield_to_the_writer()
            os.write(w, json.dumps([os.sched_getscheduler(0), sorted(os.sched_getaffinity(0)),
                                    os.getpriority(os.PRIO_PROCESS, 0)]).encode())
        finally:
            os._exit(0)
    os.close(w)
    policy, cpus, nice = json.loads(os.read(r, 4096))
    os.close(r)
    os.waitpid(pid, 0)
    assert policy == os.SCHED_IDLE and nice == 19
    assert set(cpus) >= set(os.sched_getaffinity(0))  # every CPU this process may use, not only CPU 0


def test_a_snapshot_synced_as_it_is_written_reads_back_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syncs: list[int] = []
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (syncs.append(fd), real(fd)))
    state = {"arena": np.arange(3_000_000, dtype=np.int64), "names": ["a", "b"]}  # 24 MB
    path = tmp_path / "s.pkl"
    path.touch()
    n = S._write(path, state, sync_every=4 << 20)
    assert n == path.stat().st_size and len(syncs) >= 5  # every 4 MiB, not only at the end
    version, back = S._read(path)
    assert version == S.VERSION and back["names"] == ["a", "b"]
    assert np.array_equal(back["arena"], state["arena"])


def test_due_forked_snapshots_are_coalesced_while_the_last_one_rests(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that took d seconds: none starts for `snapshot_rest` x d after it ended, however many segments
    and records went by; then one, covering them all."""
    now = [100.0]
    monkeypatch.setattr(time, "perf_counter", lambda: now[0])
    started: list[tuple[int, float]] = []
    finished = [False]

    def start(live: object) -> types.SimpleNamespace:
        started.append((wal.seg, now[0]))
        return types.SimpleNamespace(segment=wal.seg, started=now[0])

    monkeypatch.setattr(S, "start_background", start)
    monkeypatch.setattr(S, "poll", lambda live, bg, block=False, on_failure=None: False if finished[0] else None)
    wal = types.SimpleNamespace(seg=1, stats=types.SimpleNamespace(records_written=0))
    wal.position = lambda: (wal.seg, 0)
    live = types.SimpleNamespace(wal=wal, orders=[0] * 10, snapshot_fork_orders=1, snapshot_every=1000,
                                 snapshot_rest=3.0, _snap_rest_until=0.0, _snap_mark=(0, 1), _bg=None,
                                 _snap_retry_at=0.0, _snap_backoff=0.0, snapshot_error=None, snapshot_failures=0)
    live.snapshot_failed = lambda error: LiveGateway.snapshot_failed(live, error)
    live._poll_background = lambda block: LiveGateway._poll_background(live, block)
    live._snapshot_ok = lambda: LiveGateway._snapshot_ok(live)
    step = lambda: LiveGateway._maybe_snapshot(live)  # noqa: E731

    wal.seg = 2  # a new segment: due
    step()
    assert started == [(2, 100.0)]
    now[0] = 102.0  # the child took 2 s
    finished[0] = True
    step()  # installed; rests until 102 + 3 x 2 = 108
    assert live._bg is None and live._snap_rest_until == 108.0
    for t, seg in ((103.0, 3), (105.0, 4), (107.9, 5)):  # segments and records go by: coalesced
        now[0], wal.seg = t, seg
        wal.stats.records_written += 5000
        step()
    assert len(started) == 1
    now[0] = 108.0
    step()
    assert started[-1] == (5, 108.0) and live._snap_mark == (15000, 5)
    # the next child fails (ENOSPC in the child: exit status 1): counted, due again after the back-off
    failed = [True]
    monkeypatch.setattr(S, "poll", lambda live, bg, block=False, on_failure=None: (
        on_failure("background snapshot: child exit status 1") or True) if failed[0] else False)
    now[0] = 109.0
    step()  # the child of 108 ended in failure; the rest after it was set, then its back-off (1 s)
    assert live.snapshot_failures == 1 and live._bg is None and live.snapshot_error["retry_in_s"] == 1.0
    failed[0] = False
    now[0] = 109.5
    step()
    assert len(started) == 2  # resting / backing off
    now[0] = 112.0  # past the rest (3 x 1 s after 109) and the back-off
    step()
    assert len(started) == 3 and live.snapshot_failures == 1
