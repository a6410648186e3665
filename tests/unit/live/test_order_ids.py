"""Order ids are never given twice over the life of a WAL (`hft.live.order_ids`, issue 52): the rule, and the
writer and its recovery on a real WAL, a crash being a writer dropped before it committed its last step (what a
SIGKILL between a volatile answer and the WAL write leaves)."""

from __future__ import annotations

import asyncio
import itertools
from types import SimpleNamespace

import pytest

from hft.core.orders import BUY, INTENT_NEW, ORDER_LIMIT, TIF_GTC
from hft.gateway.intents import TypedIntentEnvelope, typed_intent_v1
from hft.live import order_ids as ids
from hft.live.engine import LiveGateway, Pending
from hft.live.recovery import recover
from hft.recorder.disk_monitor import DiskPressureMonitor
from hft.recorder.reader import iter_records
from hft.recorder.wal_first import WALConfig, WALFirstWriter
from tests.unit.gateway.gwkit import Gw

B = ids.BLOCK
_KEYS = itertools.count(1)  # idempotency keys, never one twice (a restarted gateway keeps its dedup window)


def test_the_rule():
    assert ids.due(1, 0) == 0  # nothing decided yet
    assert ids.due(2, 0) == 1 + B  # id 1 about to be answered: a block past it
    assert ids.due(1 + B + 1, 1 + B) == 0  # every id so far within the mark
    assert ids.due(1 + B + 2, 1 + B) == 2 + 2 * B
    assert ids.first_after_restart(5, 1 + B, B) == 5 + B  # above every id reserved, on the row 5 takes
    assert ids.first_after_restart(5, 1 + B, 1024) == 5 + 4 * 1024
    assert ids.first_after_restart(5, 1 + B, 1 << 20) == 5 + (1 << 20)
    assert ids.first_after_restart(9000, 1 + B, B) == 9000  # (a mark lowered by a clean stop)
    assert ids.replayed(ids.RESERVE, 7, 5, 100) == (5, 7)  # a mark is the newest one (a clean stop lowers it)
    assert ids.replayed(ids.START, 200, 5, 100) == (200, 199)  # the restart's jump, made again
    with pytest.raises(ValueError, match="ids:reserve"):
        ids.replayed("ids:other", 1, 1, 1)


def _open(wal_dir, recovered=True):
    g = Gw()
    live = LiveGateway(g.svc, WALFirstWriter(wal_dir, WALConfig(fsync="never")),
                       SimpleNamespace(send=lambda cmd: None), clock_ns=lambda: 2_000_000_000)
    rep = recover(live, wal_dir) if recovered else None
    return g, live, rep


def _step(g, live, n):
    """A writer step of `n` new orders, as `LiveGateway.decide` runs it: decided, their ids reserved before any
    answer, committed (WAL, venue). Returns the ids answered."""
    out = [g.new(qty=1, key=next(_KEYS)).order_id for _ in range(n)]
    assert live.reserve_ids()
    live.commit()
    return out


def _crash(g, live, n):
    """A step whose answers went out and whose WAL write the crash prevented."""
    out = [g.new(qty=1, key=next(_KEYS)).order_id for _ in range(n)]
    assert live.reserve_ids()
    live.wal.close()  # (the lock released for the next writer; nothing of the step was written)
    return out


def test_an_answered_id_whose_decision_a_crash_lost_is_never_given_again(tmp_path):
    wal_dir = tmp_path / "wal"
    g, live, rep = _open(wal_dir)
    assert rep["ids_skipped"] == 0 and _step(g, live, 3) == [1, 2, 3]  # a fresh WAL starts at 1
    lost = _crash(g, live, 2)
    assert lost == [4, 5]
    g, live, rep = _open(wal_dir)
    assert rep["mismatches"] == 0 and rep["ids_skipped"] == 3 + B + 1 - 4  # started above the mark 3 + B
    first = _step(g, live, 2)
    assert first == [3 + B + 1, 3 + B + 2]  # not 4 and 5: the lost orders' ids, answered to their clients
    # the jump is recorded: a replay of this WAL makes it at the same place (no mismatch), the next id follows
    assert [(r["source"], r["order_id"]) for t, r in iter_records(wal_dir) if r.get("source", "").startswith("ids:")
            ] == [(ids.RESERVE, 3 + B), (ids.START, 3 + B + 1), (ids.RESERVE, 3 + B + 2 + B)]
    live.wal.close()
    g, live, rep = _open(wal_dir)
    assert rep["mismatches"] == 0 and rep["decisions"] == 5
    assert rep["ids_skipped"] == B  # again above the newest mark: its ids may have been answered
    assert _step(g, live, 1) == [3 + 2 * B + 3]


def test_the_mark_survives_in_a_snapshot_and_a_clean_stop_skips_nothing(tmp_path):
    wal_dir = tmp_path / "wal"
    g, live, _ = _open(wal_dir)
    _step(g, live, 2)
    live.snapshot()  # the mark 2 + B is before the snapshot's position: the restart finds it in the snapshot
    _crash(g, live, 1)
    g, live, rep = _open(wal_dir)
    assert rep["snapshot"] is not None and rep["id_records"] == 0  # nothing after the snapshot to replay
    assert _step(g, live, 1) == [2 + B + 1]
    live.release_ids()  # a clean stop: every decision is in the WAL, the mark down to the highest id given
    live.wal.close()
    g, live, rep = _open(wal_dir)
    assert rep["ids_skipped"] == 0 and _step(g, live, 1) == [2 + B + 2]  # no gap after a clean stop


def test_a_reservation_the_wal_refuses_answers_no_id(tmp_path):
    """Disk pressure refuses the WAL's records: a step whose ids need a mark is answered None (503 WAL_REFUSED)
    and the kill switch trips, rather than answering ids no record covers."""
    wal_dir = tmp_path / "wal"
    wal_dir.mkdir()
    free = [50]  # percent of the disk free: NORMAL, then HALT (<= 1 %)
    monitor = DiskPressureMonitor(wal_dir, usage=lambda _p: (free[0], 100))
    monitor.check_now()
    g = Gw()
    live = LiveGateway(g.svc, WALFirstWriter(wal_dir, WALConfig(fsync="never"), monitor=monitor),
                       SimpleNamespace(send=lambda cmd: None), clock_ns=lambda: 2_000_000_000)
    loop = asyncio.new_event_loop()

    def pending(coid):
        env = TypedIntentEnvelope(typed_intent_v1(INTENT_NEW, next(_KEYS), "A1", "s1", "AAA", BUY, 1000, 1,
                                                  ORDER_LIMIT, TIF_GTC, 0, 0), 0)
        return Pending(env, loop.create_future(), False, coid, 0)

    try:
        free[0] = 0
        monitor.check_now()
        p = pending("c1")
        live.decide([p])
        assert p.fut.result() is None and live.ids_reserved == 0 and live.pressure.killed
        free[0] = 50
        monitor.check_now()
        live.pressure.reset("disk recovered")  # what POST /admin/reset does
        q = pending("c2")
        live.decide([q])
        assert q.fut.result().order_id == 2 and live.ids_reserved == 2 + B  # id 1 was decided, never answered
    finally:
        loop.close()
        live.wal.close()


def test_after_a_crash_new_orders_take_the_rows_the_next_ids_would_have(tmp_path):
    """Orders decided after the last reservation (ids within its block) are still working at the crash; the restart
    skips whole turns of the order table, so the next order takes the row the next id would have taken, not the
    row of a working order (a jump of BLOCK ids landed on order 4's row: ORDER_TABLE_FULL)."""
    wal_dir = tmp_path / "wal"
    g, live, _ = _open(wal_dir)
    table = g.svc.order_table_size
    assert table == 1024 and B % table == 0
    _step(g, live, 3)  # reserves up to 3 + B
    _step(g, live, 40)  # ids 4..43, within the reservation: every one still working
    live.wal.close()  # a crash: nothing lost, but the mark is above every id given
    g, live, rep = _open(wal_dir)
    assert rep["mismatches"] == 0 and rep["ids_skipped"] == 4 * table
    assert len(g.svc.working_orders()) == 43
    d = g.new(qty=1, key=next(_KEYS))
    assert d.accepted, d.reason
    assert d.order_id > 3 + B and d.order_id % table == 44  # above the mark, on the next row in turn
