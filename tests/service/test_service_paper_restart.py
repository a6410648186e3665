"""The paper venue across crashes of the real service (`hft.live.paper`: a write-ahead journal beside the WAL). On the
hand-derivable L2 print day (`make_l2_print_day`: a sell of 5 at 10000 every 2 s, speed 1):

- a SIGKILL with orders working: after the restart they still work; a buy of 40 at 10000 goes on filling 5 lots a
  print, the prints of the downtime included (caught up at once, applied by the reconciliation), each lot once
  (its leaves fall 40, 35, … 0 in the WAL); a far order is cancelled after the restart (CANCELED); a third start
  changes nothing; one at another speed is refused with one line naming the journal's day; the journal moved away
  begins a new day whose restart expires what still worked;
- a SIGKILL in the middle of a burst of orders: every order the gateway accepted reaches the venue once (the journal
  holds each id once; re-sent when it never got there), each has one ACK in the WAL, none filled twice, the
  gateway's position is the venue's (this day's), and the venue rebuilt from its journal gives exactly the WAL's
  reports;
- SIGSTOP / SIGCONT: the feed catches up with the wall clock at once and a fill due meanwhile arrives once;
- a journal that cannot be written (a full tmpfs, in a mount namespace): the command is not applied, the service
  is halted (new orders 503 POLICY_REJECT_ALL), and the order reaches the venue once after a restart with room (re-sent)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from svckit import CONFIG, Server, order, token, wal_reports

from hft.core.orders import REPORT_ACK as ACK
from hft.core.orders import REPORT_CANCELED as CANCELED
from hft.core.orders import REPORT_EXPIRED as EXPIRED
from hft.core.orders import REPORT_FILL as FILL
from hft.core.orders import REPORT_PARTIAL_FILL as PARTIAL
from hft.live.paper import PaperVenue
from hft.live.paper_journal import Journal

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "alpha"))
from lifecycle_helpers import PRINT_DAY_P, make_l2_print_day

pytestmark = pytest.mark.slow  # starts the service as processes

TOK = token()
P = PRINT_DAY_P


def _post(srv: Server, coid: str, **kw) -> dict:
    code, d = srv.request("POST", "/orders", order(coid, symbol="MSFT", **kw), TOK, {"Idempotency-Key": coid})
    assert code == 201 and d["accepted"], d
    return d


def _journal(home: Path) -> list[dict]:
    """The paper venue's journal (default place: beside the WAL directory), read as a restart reads it."""
    j = Journal(home / "wal" / "gateway-live-paper.jsonl")
    try:
        return j.read()
    finally:
        j.close()


def test_working_orders_survive_a_crash_and_fill_once(tmp_path):
    day = make_l2_print_day(tmp_path / "msft_l2.parquet")
    home = tmp_path / "home"
    args = ("--paper", str(day), "--speed", "1")
    srv = Server(home, *args).start(timeout=300)
    try:
        srv.health_after_first_trade()
        big = _post(srv, "big", price=P, qty=40)
        far = _post(srv, "far", price=P - 1000, qty=1)
        v = srv.poll(f"/orders/{big['order_id']}", lambda v: v["filled"] > 0, token=TOK)
        assert v["status"] == "partially_filled" and 0 < v["filled"] < 40, v
    finally:
        srv.kill9()
    time.sleep(3.0)  # a print or two while the service is down
    srv = Server(home, *args).start(timeout=300)
    try:
        h = srv.request("GET", "/health")[1]
        assert "orders_expired" not in h["recovery"] and h["recovery"]["commands_resent"] == 0, h["recovery"]
        assert h["recovery"]["reports_applied"] >= 1, h["recovery"]
        assert h["venue"]["new_day"] is False and h["venue"]["rebuilt"]["events_caught_up"] > 0, h["venue"]
        v = srv.request("GET", f"/orders/{far['order_id']}", token=TOK)[1]
        assert v["status"] == "working", v
        v = srv.request("GET", f"/orders/{big['order_id']}", token=TOK)[1]
        assert v["status"] in ("partially_filled", "filled"), v
        code, c = srv.request("POST", f"/orders/{far['order_id']}/cancel", {}, TOK, {"Idempotency-Key": "c-far"})
        assert code in (200, 201) and c["accepted"], c
        assert srv.poll(f"/orders/{far['order_id']}", lambda v: v["status"] == "canceled", token=TOK)["status"] \
            == "canceled"
        v = srv.poll(f"/orders/{big['order_id']}", lambda v: v["status"] == "filled", token=TOK)
        assert v["status"] == "filled" and v["filled"] == 40 and sum(f["qty"] for f in v["fills"]) == 40, v
    finally:
        srv.kill9()
    reps = wal_reports(home, "kind", "qty", "leaves")
    assert reps[big["order_id"]] == [(ACK, 0, 40)] + [(PARTIAL, 5, 40 - 5 * k) for k in range(1, 8)] + [(FILL, 5, 0)]
    assert [k for k, _, _ in reps[far["order_id"]]] == [ACK, CANCELED]
    srv = Server(home, *args).start(timeout=300)  # and again: nothing new to reconcile
    try:
        h = srv.request("GET", "/health")[1]
        assert (h["recovery"]["reports_applied"], h["recovery"]["commands_resent"]) == (0, 0), h["recovery"]
        last = _post(srv, "last", price=P - 1000, qty=1)
        srv.poll(f"/orders/{last['order_id']}", lambda v: v["status"] == "working", token=TOK)
    finally:
        srv.kill9()
    size = srv.log.stat().st_size
    with pytest.raises(RuntimeError, match="server did not start"):  # the day's speed is its journal's
        Server(home, "--paper", str(day), "--speed", "2").start(timeout=300)
    said = srv.log.read_text()[size:]
    assert "gateway-live-paper.jsonl: expected the day it began" in said and "speed 1.0), was data" in said, said
    assert "Traceback" not in said, said
    journal = home / "wal" / "gateway-live-paper.jsonl"
    journal.rename(tmp_path / "day-before.jsonl")  # the operator begins a new day
    srv = Server(home, *args).start(timeout=300)
    try:
        h = srv.request("GET", "/health")[1]
        assert h["recovery"]["orders_expired"] == 1 and h["venue"]["new_day"] is True, h
        assert srv.request("GET", f"/orders/{last['order_id']}", token=TOK)[1]["status"] == "expired"
    finally:
        srv.stop()
    assert wal_reports(home)[big["order_id"]].count(FILL) == 1
    assert wal_reports(home)[last["order_id"]] == [ACK, EXPIRED]


def test_a_crash_in_a_burst_of_orders_loses_none_and_executes_none_twice(tmp_path):
    day = make_l2_print_day(tmp_path / "msft_l2.parquet")
    home = tmp_path / "home"
    args = ("--paper", str(day), "--speed", "1")
    srv = Server(home, *args).start(timeout=300)
    answered: list[dict] = []

    def burst() -> None:
        for i in range(400):  # resting buys below the market and marketable IOC buys at the ask, alternately
            body = order(f"b{i}", symbol="MSFT", price=P - 100 - i if i % 2 else P + 10, qty=1,
                         tif="gtc" if i % 2 else "ioc")
            try:
                code, d = srv.request("POST", "/orders", body, TOK, {"Idempotency-Key": f"b{i}"})
            except OSError:
                return
            if code == 201 and d.get("accepted"):
                answered.append(d)

    try:
        srv.health_after_first_trade()
        t = threading.Thread(target=burst)
        t.start()
        while len(answered) < 30:
            time.sleep(0.005)
    finally:
        srv.kill9()
    t.join(30)
    before = _journal(home)
    assert before[0]["op"] == "day" and len(answered) >= 30
    srv = Server(home, *args).start(timeout=300)
    try:
        h = srv.request("GET", "/health")[1]
        assert h["venue"]["duplicates"] == 0, h
        for d in answered:  # every order answered before the crash reached the venue: none left "accepted"
            v = srv.poll(f"/orders/{d['order_id']}", lambda v: v["status"] != "accepted", token=TOK, timeout=10)
            assert v["status"] in ("working", "filled", "expired", "canceled"), v
            assert v["filled"] <= 1 and sum(f["qty"] for f in v["fills"]) == v["filled"], v
        resent = h["recovery"]["commands_resent"]
        _, pos = srv.request("GET", "/positions", token=TOK)
    finally:
        srv.stop()
    after = _journal(home)
    news = [r["id"] for r in after if r["op"] == "new"]
    assert len(news) == len(set(news))  # each order received once
    assert len(news) - len([r for r in before if r["op"] == "new"]) == resent  # the rest re-sent by the recovery
    reps = wal_reports(home)
    for d in answered:
        kinds = reps.get(d["order_id"], [])
        assert d["order_id"] in news and kinds.count(ACK) == 1 and kinds.count(FILL) <= 1, (d, kinds)
    # the venue rebuilt from its journal (a copy) said exactly what the WAL holds: every report once, none missing
    shutil.copy(home / "wal" / "gateway-live-paper.jsonl", tmp_path / "copy.jsonl")
    venue = PaperVenue.from_data(day, speed=1, journal=tmp_path / "copy.jsonl")
    try:
        said = {oid: [(r.kind, r.qty, r.leaves) for r in rs] for oid, rs in venue.reports().items()}
    finally:
        venue.close()
    assert said == wal_reports(home, "kind", "qty", "leaves")
    assert {(p["account"], p["strategy"], p["symbol"]): p["position"] for p in pos if p["position"]} == \
        venue.day_positions()  # the fills of this day: the only day the WAL has seen


def test_a_paused_service_catches_up_with_the_day(tmp_path):
    day = make_l2_print_day(tmp_path / "msft_l2.parquet")
    home = tmp_path / "home"
    srv = Server(home, "--paper", str(day), "--speed", "1").start(timeout=300)
    try:
        srv.health_after_first_trade()
        big = _post(srv, "big", price=P, qty=20)
        srv.proc.send_signal(signal.SIGSTOP)
        time.sleep(5.0)  # two prints at 10000 due meanwhile
        srv.proc.send_signal(signal.SIGCONT)
        resumed = time.time_ns()
        h = srv.poll("/health", lambda h: h["venue"]["exchange_ts"] >= h["venue"]["day_start"]["exchange_ns"]
                     + resumed - h["venue"]["day_start"]["wall_ns"] - 1_000_000_000, timeout=5)
        due = h["venue"]["day_start"]["exchange_ns"] + resumed - h["venue"]["day_start"]["wall_ns"]
        assert h["venue"]["exchange_ts"] >= due - 1_000_000_000, h["venue"]  # within a print of the wall clock
        v = srv.poll(f"/orders/{big['order_id']}", lambda v: v["status"] == "filled", token=TOK, timeout=30)
        assert v["filled"] == 20, v
    finally:
        srv.stop()
    assert wal_reports(home, "kind", "qty")[big["order_id"]] == [(ACK, 0)] + [(PARTIAL, 5)] * 3 + [(FILL, 5)]


MOUNT = 'mount -t tmpfs -o size=1m tmpfs "$0" && exec "$@"'


def _fill(path: Path) -> None:
    """Grow `path` until its filesystem is full."""
    with open(path, "ab", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == 28, exc
    with open(path, "ab", buffering=0) as f:  # the last bytes of a page
        try:
            while True:
                f.write(b"\0")
        except OSError:
            pass


def test_a_journal_that_cannot_be_written_applies_nothing_and_halts_the_service(tmp_path):
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-Urm", "sh", "-c", MOUNT, str(tmp_path), "true"], capture_output=True, timeout=30).returncode:
        pytest.skip("no unprivileged user + mount namespace here (unshare -Urm): no small tmpfs to fill")
    day = make_l2_print_day(tmp_path / "msft_l2.parquet")
    home, jdir = tmp_path / "home", tmp_path / "jdir"
    jdir.mkdir()
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["venue"] = {"adapter": "paper", "options": {"journal": str(jdir / "paper.jsonl")}}
    config = tmp_path / "gateway_journal.yaml"
    config.write_text(yaml.safe_dump(cfg))
    args = ("--paper", str(day), "--speed", "1")
    srv = Server(home, *args, config=config, wrap=("unshare", "-Urm", "sh", "-c", MOUNT, str(jdir)))
    srv.start(timeout=300)
    copy = tmp_path / "paper.jsonl"
    try:
        inside = Path(f"/proc/{srv.proc.pid}/root") / str(jdir).lstrip("/")
        srv.health_after_first_trade()
        kept = _post(srv, "kept", price=P - 1000, qty=1)  # journaled: works
        srv.poll(f"/orders/{kept['order_id']}", lambda v: v["status"] == "working", token=TOK)
        _fill(inside / "filler")
        placed = []  # the journal's last page may hold a few records more: orders until one is refused
        while len(placed) < 60 and not srv.request("GET", "/health")[1]["venue"]["journal"]["failing"]:
            placed.append(_post(srv, f"f{len(placed)}", price=P - 900 - len(placed), qty=1))
            time.sleep(0.05)
        lost = placed[-1]  # the gateway accepted it; the venue could not journal it, so never applied it
        h = srv.poll("/health", lambda h: h["mode"] == "REJECT_ALL")
        assert "No space left on device" in h["venue"]["journal"]["failing"], h["venue"]
        assert srv.request("GET", f"/orders/{lost['order_id']}", token=TOK)[1]["status"] == "accepted"  # not applied
        code, d = srv.request("POST", "/orders", order("after", symbol="MSFT", price=P - 800, qty=1), TOK,
                              {"Idempotency-Key": "after"})
        assert code == 503 and d["reason"] == "POLICY_REJECT_ALL", (code, d)  # halted: new orders refused
        text = srv.log.read_text()
        assert "paper venue journal" in text and "Traceback" not in text, text[-3000:]
        os.kill(srv.proc.pid, signal.SIGSTOP)  # the tmpfs goes with the process: its journal copied out first
        shutil.copy(inside / "paper.jsonl", copy)
    finally:
        srv.kill9()
    recs = Journal(copy).read()
    news = [r["id"] for r in recs if r["op"] == "new"]
    assert news == [kept["order_id"]] + [d["order_id"] for d in placed[:-1]]  # never the order it could not write
    # the halt's cancels: those that fit in what a refused record left (shorter than a new) are journaled, each of an
    # order the venue received; none of the lost order
    assert {r["id"] for r in recs if r["op"] == "cancel"} <= set(news)
    assert lost["order_id"] not in {r.get("id") for r in recs}
    assert lost["order_id"] not in wal_reports(home)
    cfg["venue"]["options"]["journal"] = str(copy)  # a restart with room: the journal as it was
    config.write_text(yaml.safe_dump(cfg))
    srv = Server(home, *args, config=config).start(timeout=300)
    try:
        h = srv.request("GET", "/health")[1]
        assert h["recovery"]["commands_resent"] >= 1 and h["venue"]["new_day"] is False, h["recovery"]
        v = srv.poll(f"/orders/{lost['order_id']}", lambda v: v["status"] != "accepted", token=TOK)
        assert v["status"] in ("working", "canceled"), v  # received at last (and the halt's cancel, if it had one)
    finally:
        srv.stop()
    reps = wal_reports(home)
    assert reps[lost["order_id"]][0] == ACK and reps[lost["order_id"]].count(ACK) == 1, reps[lost["order_id"]]
