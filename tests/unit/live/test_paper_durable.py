"""The paper venue's journal (`hft.live.paper`, `hft.live.paper_journal`): a venue rebuilt from its journal after N
seeded random commands (limit, IOC, stops, GTD, icebergs, cancels, replaces, repeated ids) equals the one that ran:
the same reports per order, the same commands received, the same working orders and feed position, on an L3 day
(LOBSTER) and an L2 day (the Binance capture of the spot golden); rebuilt while the day went on (a crash, then a
restart later), its catch-up equals the venue that kept running. The day's anchor refuses other data or another
speed; a torn last record is cut off, a damaged one before it is a one-line error naming the file and record."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from hft.core.dtypes import BUY, SELL
from hft.core.errors import ConfigError
from hft.core.orders import (
    CMD_CANCEL,
    CMD_NEW,
    CMD_REPLACE,
    COMMAND_DTYPE,
    OPTION_NAMES,
    ORDER_LIMIT,
    ORDER_STOP_LIMIT,
    REPORT_ACK,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_REPLACED,
    REPORT_TRIGGERED,
    TIF_GTC,
    TIF_GTD,
    TIF_IOC,
)
from hft.gateway.intents import OrderCommand
from hft.live import paper as paper_mod
from hft.live.paper import PaperVenue
from hft.live.paper_journal import Journal
from tests.unit.alpha.lifecycle_helpers import make_day

S = 1_000_000_000
W0 = 1_900_000_000 * S  # the wall time the day starts at (any: only differences count)
GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "binance_spot_eth_mm.json"


class Clock:
    def __init__(self) -> None:
        self.now = W0

    def __call__(self) -> int:
        return self.now


def _state(v: PaperVenue) -> dict:
    inner = getattr(v.venue, "v", v.venue)  # L2: the adapter's L2Venue; L3: the venue itself
    return {"reports": v.reports(), "received": v.received(), "positions": v.day_positions(), "i": v.i,
            "exch_now": v.exch_now, "working": inner.working(), "gtd": sorted(e for e in v._expiries if e[1] in v._gtd_working),
            "book": v.book()}


def _walk(v: PaperVenue, clock: Clock, rng: random.Random, n_cmds: int, step_ns: int,
          batched: bool = False) -> list[int]:
    """`n_cmds` seeded commands, the feed moved on between them (the wall clock forward by up to `step_ns`);
    `batched`: sent as a writer step's arrays (`send_array`), one to eight commands at one venue time, the feed
    moving on only between arrays."""
    ids: list[int] = []
    n = len(v.events)
    pending: list[OrderCommand] = []
    for _ in range(n_cmds):
        if pending and (len(pending) >= 8 or rng.random() < 0.4):
            v.send_array(_array(pending), ["A"], ["s"], [v.symbol])
            pending = []
        if not pending:
            clock.now += rng.randrange(step_ns)
            v._turn(v.exch_at(clock.now), n)
        bp, _bq, ap, _aq = v.book()[:4]
        if bp <= 0 or ap <= 0 or bp >= ap:
            continue
        tick = ap - bp  # a step of one spread
        r = rng.random()
        oid = (max(ids) + 1) if ids else 1
        side = rng.choice((BUY, SELL))
        near = bp if side == BUY else ap
        if r < 0.35:  # a limit order at or near the touch, GTC
            cmd = _new(v, oid, side, near - side * tick * rng.randrange(3), rng.randrange(1, 4), TIF_GTC)
        elif r < 0.45:  # a marketable IOC
            cmd = _new(v, oid, side, (ap if side == BUY else bp), 1, TIF_IOC)
        elif r < 0.55:  # a GTD order expiring within a few seconds of wall time
            cmd = _new(v, oid, side, near - side * tick, 2, TIF_GTD, expire=clock.now + rng.randrange(step_ns * 3))
        elif r < 0.65:  # a stop-limit held until a print reaches its trigger
            trig = (ap + tick) if side == BUY else (bp - tick)
            cmd = _new(v, oid, side, trig + side * tick, 1, TIF_GTC, otype=ORDER_STOP_LIMIT, trigger=trig)
        elif r < 0.72:  # an iceberg showing one lot at a time
            cmd = _new(v, oid, side, near, 4, TIF_GTC, display=1)
        elif r < 0.77 and ids:  # a repeated id: refused, not executed twice
            cmd = _new(v, rng.choice(ids), side, near, 1, TIF_GTC)
            oid = 0
        elif r < 0.9 and ids:
            cmd = OrderCommand(CMD_CANCEL, rng.choice(ids), None, "A", "s", v.symbol, 0, 0, 0, ORDER_LIMIT, TIF_GTC, 0)
            oid = 0
        elif ids:
            t = rng.choice(ids)
            cmd = OrderCommand(CMD_REPLACE, t, None, "A", "s", v.symbol, 0, near, rng.randrange(1, 5), ORDER_LIMIT,
                               TIF_GTC, 0)
            oid = 0
        else:
            continue
        if batched:
            pending.append(cmd)
        else:
            v.send(cmd)
        if oid:
            ids.append(oid)
    if pending:
        v.send_array(_array(pending), ["A"], ["s"], [v.symbol])
    return ids


def _array(cmds: list[OrderCommand]) -> np.ndarray:
    """`cmds` as a writer step's COMMAND_DTYPE rows (account, strategy and symbol: index 0 of their tables)."""
    a = np.zeros(len(cmds), COMMAND_DTYPE)
    for row, c in zip(a, cmds, strict=True):
        for f in ("action", "order_id", "side", "price", "qty", "order_type", "tif", *OPTION_NAMES):
            row[f] = getattr(c, f)
    return a


def _new(v: PaperVenue, oid: int, side: int, price: int, qty: int, tif: int, *, otype: int = ORDER_LIMIT,
         trigger: int = 0, expire: int = 0, display: int = 0) -> OrderCommand:
    return OrderCommand(CMD_NEW, oid, None, "A", "s", v.symbol, side, max(price, 1), qty, otype, tif, 0, trigger,
                        expire, display)


def _check_rebuild(data: Path, tmp_path: Path, monkeypatch, seed: int, n_cmds: int, step_ns: int,
                   batched: bool = False) -> None:
    clock = Clock()
    monkeypatch.setattr(paper_mod.time, "time_ns", clock)
    journal = tmp_path / f"paper-{seed}.jsonl"
    ran = PaperVenue.from_data(data, speed=1, journal=journal)
    ran.start(None, None)  # the day anchored now; reports kept (no loop: none delivered)
    rng = random.Random(seed)
    ids = _walk(ran, clock, rng, n_cmds, step_ns, batched)
    kinds = {r.kind for reps in ran.reports().values() for r in reps}
    assert len(ids) > n_cmds // 3 and {REPORT_ACK, REPORT_EXPIRED, REPORT_CANCELED, REPORT_TRIGGERED, REPORT_FILL,
                                       REPORT_REPLACED} <= kinds, kinds  # a real mix: stops triggered, GTD expired
    h = ran.health()
    assert h["duplicates"] > 0 and h["gtd_expired"] > 0 and h["fills"] > 0, h

    # a restart at the same wall time: the rebuilt venue is the one that ran
    rebuilt = PaperVenue.from_data(data, speed=1, journal=journal)
    assert not rebuilt.session_restarts and rebuilt.rebuilt["operations"] == ran.journal.records - 1
    assert _state(rebuilt) == _state(ran)
    rebuilt.close()

    # a crash, then a restart later: the catch-up equals the venue that kept running (expiries journaled alike)
    clock.now += 5 * step_ns
    later = PaperVenue.from_data(data, speed=1, journal=journal)
    assert later.rebuilt["events_caught_up"] > 0
    ran._turn(ran.exch_at(clock.now), len(ran.events))
    assert _state(later) == _state(ran)
    # and the two go on alike: a command to each (the second appends to the same journal after the first)
    cmd = OrderCommand(CMD_CANCEL, ids[-1], None, "A", "s", ran.symbol, 0, 0, 0, ORDER_LIMIT, TIF_GTC, 0)
    ran.send(cmd)
    later.send(cmd)
    assert _state(later) == _state(ran)
    ran.close()
    later.close()


def test_a_rebuilt_l3_venue_equals_the_one_that_ran(tmp_path, monkeypatch):
    _check_rebuild(make_day(tmp_path / "day", seed=44), tmp_path, monkeypatch, seed=7, n_cmds=160, step_ns=S // 2)


def test_a_venue_sent_arrays_journals_each_at_once_and_rebuilds_as_it_ran(tmp_path, monkeypatch):
    """A writer step's commands (`send_array`: repeated ids within one array too) are journaled with one write and
    one fsync before any is applied, and the rebuilt venue is the one that ran."""
    writes: list[int] = []
    real = paper_mod.Journal.append_many

    def counted(self, recs):
        writes.append(len(recs))
        return real(self, recs)

    monkeypatch.setattr(paper_mod.Journal, "append_many", counted)
    _check_rebuild(make_day(tmp_path / "day", seed=44), tmp_path, monkeypatch, seed=8, n_cmds=200, step_ns=S // 2,
                   batched=True)
    assert max(writes) >= 4 and sum(w > 1 for w in writes) > 10, writes  # arrays of several commands, one write each


@pytest.mark.shared_data
def test_a_rebuilt_l3_venue_on_a_lobster_sample_day_equals_the_one_that_ran(shared_data, tmp_path, monkeypatch):
    day = shared_data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"
    if not day.exists():
        pytest.skip(f"{day} not present")
    _check_rebuild(day, tmp_path, monkeypatch, seed=11, n_cmds=120, step_ns=S // 4)


@pytest.mark.shared_data
def test_a_rebuilt_l2_venue_on_the_binance_capture_equals_the_one_that_ran(shared_data, tmp_path, monkeypatch):
    day = (GOLDEN.parent / json.loads(GOLDEN.read_text())["data"][0]).resolve()
    if not day.exists():
        pytest.skip(f"{day} not present")
    _check_rebuild(day, tmp_path, monkeypatch, seed=5, n_cmds=160, step_ns=S // 2)


def test_the_days_anchor_refuses_other_data_or_another_speed(tmp_path, monkeypatch):
    monkeypatch.setattr(paper_mod.time, "time_ns", Clock())
    day, other = make_day(tmp_path / "a", seed=41), make_day(tmp_path / "b", seed=42)
    journal = tmp_path / "paper.jsonl"
    v = PaperVenue.from_data(day, speed=5, journal=journal)
    assert v.session_restarts
    v.start(None, None)
    v.close()
    with pytest.raises(ConfigError, match=r"paper\.jsonl: expected the day it began .* speed 5\.0\), was .* speed "
                                          r"2\.0\): move the journal away to begin a new day"):
        PaperVenue.from_data(day, speed=2, journal=journal)
    with pytest.raises(ConfigError, match=f"expected the day it began \\(data {day.resolve()}.*was data "
                                          f"{other.resolve()}"):
        PaperVenue.from_data(other, speed=5, journal=journal)
    again = PaperVenue.from_data(day, speed=5, journal=journal)  # the same day: resumed, not a new session
    assert not again.session_restarts and again.health()["new_day"] is False
    again.close()
    journal.unlink()  # moved away: a new day
    assert PaperVenue.from_data(day, speed=2, journal=journal).session_restarts


def test_a_torn_last_record_is_cut_off_and_a_damaged_one_before_it_is_named(tmp_path):
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    assert j.read() == []
    for k in range(3):
        j.append({"op": "new", "id": k})
    j.close()
    whole = path.read_bytes()
    path.write_bytes(whole + b'0badc0de {"op": "ne')  # a SIGKILL mid-write
    j = Journal(path)
    assert [r["id"] for r in j.read()] == [0, 1, 2] and j.torn == len(b'0badc0de {"op": "ne')
    j.append({"op": "cancel", "id": 9})  # appended after the last whole record, the torn bytes gone
    j.close()
    assert [r["id"] for r in Journal(path).read()] == [0, 1, 2, 9]
    lines = path.read_bytes().split(b"\n")
    last_bad = b"\n".join([*lines[:3], lines[3].replace(b"9", b"8"), b""])  # the last whole record damaged
    path.write_bytes(last_bad)
    assert [r["id"] for r in Journal(path).read()] == [0, 1, 2]
    lines[1] = lines[1].replace(b"1", b"7")  # a damaged record before the last: refused, named
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ConfigError, match=r"paper venue journal .*j\.jsonl: record 2: expected a whole record"):
        Journal(path).read()
