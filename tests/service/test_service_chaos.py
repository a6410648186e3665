"""Crash safety: SIGKILL the server at random points while a client sends durable orders; after each restart
the client retries every unacknowledged order with the same Idempotency-Key. Then: no order was dispatched
twice, no acknowledged order was lost, and the gateway's exposure equals the venue's. And under volatile load
(`/v3/orders` and TCP), with the volatile acks a SIGKILL can lose: no order id answered before a kill is ever
answered for another intent after the restart, nor shown as another client's order."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from svckit import AsyncClient, Server, order, token

from hft.live.client import TcpIntakeError, TcpOrderClient

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

ROUNDS = 3
CONNS = 6


async def _send(port: int, tok: str, keys: list[str], acked: dict[str, tuple], pending: set[str],
                stop: threading.Event, fresh: Iterator[str] = iter(())) -> None:
    """Send `keys`, then new keys from `fresh` until it ends or the server dies, over CONNS connections;
    acknowledged ones go to `acked`, the rest stay pending."""
    queue = list(keys)

    async def worker() -> None:
        c = AsyncClient(port)
        try:
            while not stop.is_set():
                key = queue.pop() if queue else next(fresh, None)
                if key is None:
                    return
                pending.add(key)  # sent, not yet acknowledged
                i = int(key.split("-")[1])
                body = order(key, side="buy" if i % 3 else "sell", price=10000 + 5 * (i % 7), qty=1 + i % 4)
                try:
                    code, d = await c.post("/orders", body, tok, key)
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    return  # the server died: `key` stays pending
                assert code in (200, 201, 422), (code, d)  # 422: denied (e.g. SELF_MATCH), also a decision
                got = (d["accepted"], d["order_id"], d["reason"])
                prev = acked.setdefault(key, got)
                assert prev == got, f"{key}: acknowledged as {prev}, then as {got}"
                pending.discard(key)
        finally:
            await c.close()

    await asyncio.gather(*(worker() for _ in range(CONNS)))


def test_sigkill_chaos(tmp_path):
    rng = random.Random(1717)
    home = tmp_path / "home"
    tok = token()
    acked: dict[str, tuple] = {}
    pending: set[str] = set()
    fresh = (f"k-{i}" for i in itertools.count())  # new keys, never one twice
    interrupted = 0  # rounds the kill cut short (their unacknowledged orders retried)
    # a first server in its own home takes orders and stops cleanly, so that every kernel the rounds need is
    # compiled and cached: on a cold kernel cache the kills would otherwise land while the server still compiles
    # (each round's 0.2-1.2 s then takes almost no orders, and the test cannot exercise its path)
    warm = Server(tmp_path / "warm", "--loopback", "fill").start()
    try:
        asyncio.run(_send(warm.port, tok, [f"w-{j}" for j in range(50)], {}, set(), threading.Event()))
    finally:
        warm.stop()
    for _ in range(ROUNDS):
        srv = Server(home, "--loopback", "fill").start()
        try:
            # the pending keys first, then new ones until the kill (0.2-1.2 s) cuts the round short, however fast
            # the machine: keys sent and not acknowledged stay pending and are retried
            stop = threading.Event()
            timer = threading.Timer(rng.uniform(0.2, 1.2), lambda s=srv, e=stop: (s.kill9(), e.set()))
            timer.start()
            asyncio.run(_send(srv.port, tok, sorted(pending), acked, pending, stop, fresh))
            timer.join()
            interrupted += bool(pending)
        finally:
            srv.kill9()
    # last start: retry what was never acknowledged, then compare with the venue
    srv = Server(home, "--loopback", "fill").start()
    try:
        stop = threading.Event()
        asyncio.run(_send(srv.port, tok, sorted(pending), acked, pending, stop))
        assert not pending
        journal = srv.journal()
        assert [e for e in journal if e["ev"] == "dup"] == []  # the venue never got an order twice
        news = [e["order_id"] for e in journal if e["ev"] == "cmd" and e["action"] == 1]
        assert len(news) == len(set(news))
        accepted = {k: v[1] for k, v in acked.items() if v[0]}
        assert set(accepted.values()) <= set(news)  # every acknowledged order reached the venue
        assert len(set(accepted.values())) == len(accepted)  # one order per idempotency key
        assert len(news) == len(accepted)  # and nothing else did
        assert len(accepted) > 400 and interrupted >= 1  # the test did exercise the path
        for key, oid in rng.sample(sorted(accepted.items()), 20):
            code, v = srv.request("GET", f"/orders/{oid}", token=tok)
            assert code == 200 and v["client_order_id"] == key and v["status"] == "filled"
        venue_pos: dict[tuple, int] = {}
        cmds = {e["order_id"]: e for e in journal if e["ev"] == "cmd" and e["action"] == 1}
        for e in journal:
            if e["ev"] == "report" and e["kind"] == 3:  # REPORT_FILL
                c = cmds[e["order_id"]]
                k = (c["account"], c["strategy"], c["symbol"])
                venue_pos[k] = venue_pos.get(k, 0) + c["side"] * e["qty"]
        code, pos = srv.request("GET", "/positions", token=tok)
        gw_pos = {(p["account"], p["strategy"], p["symbol"]): p["position"] for p in pos}
        assert gw_pos == {k: v for k, v in venue_pos.items() if v}
        assert all(p["working_buy"] == 0 and p["working_sell"] == 0 for p in pos)
        _, h = srv.request("GET", "/health")
        assert h["recovery"]["mismatches"] == 0
    finally:
        srv.stop()


# --------------------------------------------------------------------------------------------------------------
# /v3 (volatile) and TCP orders under SIGKILL: an order id once answered is never answered for another intent.

def _wal_end(home: Path) -> tuple[int, int]:
    """(segment, size) of the WAL's newest segment: where the running service appends next."""
    from hft.recorder.wal_format import list_segments

    no, path = list_segments(home / "wal" / "gateway-live")[-1]
    return no, path.stat().st_size


def _cut_last_decisions(home: Path, since: tuple[int, int]) -> list[int]:
    """Emulate a SIGKILL that landed between a step's volatile answers and its WAL write (the documented loss of
    `POST /v3/orders`, ~1 in 24,000 acks at random kill times: too rare to wait for): the WAL is cut back to
    before its newest decisions frame and the venue's journal to before those orders (the venue hears of an order
    only after the WAL holds it), and a snapshot taken after the cut is removed (the process died before it).
    Only a frame at or after `since` (the WAL's end when the killed service had started) is cut: what an earlier
    service wrote had outlived its kill. Returns the order ids answered in the cut frame (accepted ones), which the
    restarted service lacks."""
    from hft.live.snapshot import _read, snapshot_path
    from hft.recorder.reader import decode_payload
    from hft.recorder.topics import get_topic
    from hft.recorder.wal_format import list_segments, mapped, scan_segment

    wal_dir = home / "wal" / "gateway-live"
    topic = get_topic("audit.gateway_decisions")
    for no, path in reversed(list_segments(wal_dir)):
        frames = [f for f in scan_segment(path).frames if f.topic_id == topic.topic_id and (no, f.offset) >= since]
        if frames:
            break
    else:
        return []
    last = frames[-1]
    with mapped(path) as buf:
        rows = decode_payload(topic, last.topic_version, last.n_records,
                              buf[last.payload_offset:last.payload_offset + last.payload_len])
    lost = [r["order_id"] for r in rows if r["accepted"] and not r["duplicate"] and r["order_id"]]
    if not lost:
        return []
    for _, later in list_segments(wal_dir):  # segments after the cut one were never written
        if later.name > path.name:
            later.unlink()
    with open(path, "r+b") as f:
        f.truncate(last.offset)
    snap = snapshot_path(wal_dir)
    if snap.exists():
        _, state = _read(snap)
        if not state or tuple(state["wal"]) > (no, last.offset):
            snap.unlink()  # full replay: every segment is still there
    venue = home / "wal" / "gateway-live-venue.jsonl"
    keep = [ln for ln in venue.read_text().splitlines(keepends=True) if json.loads(ln)["order_id"] < min(lost)]
    venue.write_text("".join(keep))
    return lost


def _flow(srv: Server, tok: str, fresh: Iterator[int], answered: dict[int, str], stop: threading.Event) -> None:
    """/v3 orders from CONNS connections and TCP orders from one, new client order ids from `fresh`, until the
    server dies or `stop`; every 201's order id into `answered` (asserting it was never answered for another)."""

    def note(oid: int, coid: str) -> None:
        prev = answered.setdefault(oid, coid)
        assert prev == coid, f"order id {oid} answered for {prev}, then for {coid}"

    def tcp() -> None:
        m = re.search(r"tcp://[\d.]+:(\d+)", srv.ready_line)
        try:
            with TcpOrderClient("127.0.0.1", int(m.group(1)), tok) as c:
                while not stop.is_set():
                    i = next(fresh)
                    d = c.order(f"t-{i}", "ACC1", "mm1", "AAPL", "buy" if i % 2 else "sell", 1, 10000)
                    if d["type"] == "decision" and d["status"] == 201:
                        note(d["order_id"], f"t-{i}")
        except (OSError, TcpIntakeError):
            return  # the server died

    async def worker() -> None:
        c = AsyncClient(srv.port)
        try:
            while not stop.is_set():
                i = next(fresh)
                try:
                    code, d = await c.post("/v3/orders", order(f"h-{i}", side="buy" if i % 2 else "sell", qty=1),
                                           tok)
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    return
                if code == 201:
                    note(d["order_id"], f"h-{i}")
        finally:
            await c.close()

    async def main() -> None:
        await asyncio.gather(*(worker() for _ in range(CONNS)))

    t = threading.Thread(target=tcp)
    t.start()
    asyncio.run(main())
    t.join()


def test_sigkill_v3_and_tcp_order_ids_are_never_answered_twice(tmp_path):
    """Issue 52: intent 15750 was answered 201 with order id 15751; its decision was lost at a SIGKILL (the
    documented volatile trade-off) and after the restart the id went to another client's order, so `GET
    /orders/15751` showed it and a cancel by id cancelled it. Ids are reserved in the WAL ahead of use
    (`hft.live.order_ids`), so a restart starts above every id that may have been answered."""
    rng = random.Random(52)
    home = tmp_path / "home"
    tok = token()
    fresh = itertools.count()
    answered: dict[int, str] = {}  # order id -> the client order id it was answered for
    lost: list[int] = []
    skipped = 0
    for rnd in range(ROUNDS):
        srv = Server(home, "--loopback", "fill", "--tcp-port", "0").start()
        since = _wal_end(home)  # recovered and snapshotted: what this service writes comes after
        try:
            if rnd:
                _, h = srv.request("GET", "/health")
                assert h["recovery"]["mismatches"] == 0
                skipped += h["recovery"].get("ids_skipped", 0)
            stop = threading.Event()
            timer = threading.Timer(rng.uniform(0.4, 1.2), lambda s=srv, e=stop: (s.kill9(), e.set()))
            timer.start()
            _flow(srv, tok, fresh, answered, stop)
            timer.join()
        finally:
            srv.kill9()
        lost += _cut_last_decisions(home, since)  # decided, most of them answered, and no longer in the WAL
    srv = Server(home, "--loopback", "fill", "--tcp-port", "0").start()
    try:
        _, h = srv.request("GET", "/health")
        assert h["recovery"]["mismatches"] == 0
        skipped += h["recovery"].get("ids_skipped", 0)
        stop = threading.Event()
        timer = threading.Timer(0.5, stop.set)
        timer.start()
        _flow(srv, tok, fresh, answered, stop)  # asserts no id answered before is answered again
        timer.join()
        assert len(answered) > 300 and set(lost) & set(answered) and skipped > 0  # the test did exercise the path
        for oid in lost:  # their decisions were lost: never another client's order in their place
            code, v = srv.request("GET", f"/orders/{oid}", token=tok)
            assert code == 404, (oid, answered.get(oid), v)
        kept = sorted(set(answered) - set(lost))
        found = 0
        for oid in rng.sample(kept, min(40, len(kept))):
            code, v = srv.request("GET", f"/orders/{oid}", token=tok)
            # a 404: a volatile ack a real kill lost as well (its last step, besides the cut one), never another's
            assert code == 404 or (code == 200 and v["client_order_id"] == answered[oid]), (oid, answered[oid], v)
            found += code == 200
        assert found >= 30, found
        journal = srv.journal()
        assert [e for e in journal if e["ev"] == "dup"] == []  # the venue never got an order id twice
    finally:
        srv.stop()
