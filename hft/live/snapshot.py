"""Snapshots of the live service's state, so recovery replays only the WAL written after the newest one.

A snapshot is taken at a quiet point of the one writer (the end of a commit: every record written so far is
reflected in the state, nothing decided is unwritten): after start-up recovery, every
``server.snapshot_every`` WAL records and when the WAL starts a new segment, and on a clean shutdown. Its size
is about the arena's (``capacity`` and ``dedup.capacity`` set it: ~110 MB with config/gateway.yaml), written
while the writer waits: the interval trades start-up time against those pauses. It holds
the gateway's arena (dedup window, order table, exposure, PnL, limits, rate limiters, counters), its registries,
the policy and StormGuard state, the clock, the service's order views, and the WAL position it covers
(segment number, byte offset). It is written beside the WAL directory (``<wal_dir>-snapshot.pkl``, temp file +
rename: a crash leaves the previous one).

On start, `load` restores it into a freshly built service (refused, with a full replay instead, when the
gateway's table sizes differ from the snapshot's); recovery then replays the WAL from the snapshot's position.
The WAL segments before it are no longer needed by the service: ``hft audit load`` may drain and delete them
(the WAL's truncation). Start-up therefore grows with what was written since the last snapshot, not with the
WAL.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from pathlib import Path
from typing import Any

from hft.core.fileio import atomic_path

log = logging.getLogger("hft.live.snapshot")
VERSION = 1


def snapshot_path(wal_dir: str | Path) -> Path:
    d = Path(wal_dir)
    return d.parent / f"{d.name}-snapshot.pkl"


def take(live: Any) -> dict[str, Any]:
    """Write the snapshot of `live` (a `LiveGateway` with a WAL) at its current WAL position; returns its
    summary."""
    t0 = time.perf_counter()
    gw, wal = live.gw, live.wal
    seg, off = wal.position()
    storm = gw.storm
    state = {
        "version": VERSION, "wal": (seg, off), "records": wal.stats.records_written, "clock": live.clock.now_ns(),
        "arena": gw.arena, "names": (list(gw._acct_names), list(gw._strat_names), list(gw._sym_names)),
        "storm": (storm.level, storm.latched, storm.recover_at, storm.last_cause),
        "policy": (gw.policy.manual_mode, gw.policy.mode),
        "orders": live.orders, "by_client": live.by_client, "reports_applied": live.reports_applied,
        "n_fills": live.n_fills, "transitions": live.audit._n_transitions if live.audit is not None else 0,
    }
    with atomic_path(snapshot_path(wal.wal_dir)) as tmp, open(tmp, "wb") as f:
        pickle.dump(state, f, protocol=5)  # protocol 5: the arena's buffer is written as is, not copied first
        f.flush()
        os.fsync(f.fileno())  # renamed only once on disk: a crash leaves the previous snapshot whole
        size = f.tell()
    out = {"segment": seg, "offset": off, "bytes": size, "seconds": round(time.perf_counter() - t0, 4)}
    live.snapshots += 1
    live.last_snapshot = out
    return out


def load(live: Any, wal_dir: str | Path) -> tuple[int, int] | None:
    """Restore the snapshot beside `wal_dir` into `live` (freshly built, nothing replayed yet). Returns the WAL
    position to replay from, or None when there is no usable snapshot (replay from the start)."""
    path = snapshot_path(wal_dir)
    if not path.exists():
        return None
    try:
        state = pickle.loads(path.read_bytes())
    except Exception as exc:  # a damaged snapshot: the WAL still holds everything since its start
        log.error("snapshot %s unreadable (%s): replaying the whole WAL", path, exc)
        return None
    gw = live.gw
    if state.get("version") != VERSION or state["arena"].shape != gw.arena.shape:
        log.warning("snapshot %s does not fit this gateway (version or table sizes changed): replaying the whole "
                    "WAL", path)
        return None
    for have, want, table in ((gw._acct_names, state["names"][0], gw._acct),
                              (gw._strat_names, state["names"][1], gw._strat),
                              (gw._sym_names, state["names"][2], gw._sym)):
        if want[:len(have)] != have:
            log.warning("snapshot %s: registries differ from the config's: replaying the whole WAL", path)
            return None
        for name in want[len(have):]:  # registered after start (unlisted symbols): their limits are in the arena
            table[name] = len(have)
            have.append(name)
    gw.arena[:] = state["arena"]
    gw.install_risk_checks()  # the snapshot's C entry addresses were another process's
    st = gw.storm
    st.level, st.latched, st.recover_at, st.last_cause = state["storm"]
    gw.policy.manual_mode, gw.policy.mode = state["policy"]
    gw._mode = gw.policy.mode
    gw._storm_next = st.next_check_ns
    live.clock.set(max(live.clock.now_ns(), state["clock"]))
    live.orders.update(state["orders"])
    live.by_client.update(state["by_client"])
    live.reports_applied.update(state["reports_applied"])
    live.n_fills = state["n_fills"]
    if live.audit is not None:
        live.audit._n_transitions = state["transitions"]
    live.last_snapshot = {"segment": state["wal"][0], "offset": state["wal"][1], "loaded": True}
    return state["wal"]
