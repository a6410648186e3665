"""Active/standby over a real nats-server: two `hft gateway serve` processes on one WAL and venue journal; the
leader is SIGKILLed mid-flow; the standby takes the lease, rebuilds from the WAL and leads — every acknowledged
order at the venue exactly once, no duplicate dispatch, retries of unacknowledged orders deduplicated."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
from pathlib import Path

import pytest
from sigkit import EmbeddedNats, wait_for
from svckit import Server, order, thp_enabled, token

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

CONFIG = Path(__file__).with_name("gateway_ha.yaml")


def _node(home: Path, nats: EmbeddedNats, name: str) -> Server:
    return Server(home, "--loopback", "fill", config=CONFIG, env={"HFT_NATS_URL": nats.url, "HFT_NODE_ID": name})


def _role(srv: Server) -> str:
    try:
        code, h = srv.request("GET", "/health")
    except OSError:
        return "down"
    if code == 200:
        return h["signals"]["ha"]["role"]
    return h.get("status", "?")  # standby | taking_over


def _post(port: int, key: str, tok: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/orders", body=json.dumps(order(key, price=10000, qty=1)),
                     headers={"Authorization": f"Bearer {tok}", "Idempotency-Key": key})
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        conn.close()


def _why(leader: Server, acked: dict) -> str:
    """What a failed wait for the leader's acknowledgements shows: its exit code and the log's tail (both nodes
    write the one log of their shared home)."""
    return (f"{len(acked)} orders acknowledged; leader exit code {leader.proc.poll()}; log:\n"
            f"{leader.log.read_text()[-3000:]}")


@pytest.fixture
def pair(tmp_path):
    nats = EmbeddedNats(tmp_path / "nats").start()
    home = tmp_path / "home"
    a, b = _node(home, nats, "node-a"), _node(home, nats, "node-b")
    yield nats, a, b
    for s in (a, b):
        s.stop()
    nats.stop()


def test_failover_kill_leader_mid_flow(pair):
    _, a, b = pair
    a.start()
    assert wait_for(lambda: _role(a) == "leader", timeout=120)
    b.start()
    assert wait_for(lambda: _role(b) == "standby" and b.request("GET", "/health")[1]["holder"] == "node-a")
    tok = token()
    code, body = _post(b.port, "probe", tok)  # the standby refuses orders, naming the leader
    assert code == 503 and body["error"] == "STANDBY" and "node-a" in body["reason"]
    _, hb = b.request("GET", "/health")
    assert hb["role"] == "standby" and hb["holder"] == "node-a"
    assert {thp_enabled(s.proc.pid) for s in (a, b)} <= {"0", None}  # as a single service: no huge pages
    for s in (a, b):  # SIGHUP: the leader reads its file again (no limit changed), the standby ignores it
        s.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "SIGHUP ignored: a standby" in b.log.read_text()
                    and "read: 0 limits change" in a.log.read_text()), a.log.read_text()[-2000:]
    assert _role(a) == "leader" and _role(b) == "standby"

    acked: dict[str, int] = {}
    sent: list[str] = []
    stop = threading.Event()
    killed = threading.Event()

    def load() -> None:  # a client that sends to the leader; orders whose answer it never got stay unacked
        i = 0
        while not stop.is_set():
            key = f"k{i}"
            if not sent or sent[-1] != key:
                sent.append(key)
            try:
                code, d = _post(a.port, key, tok)
            except (OSError, http.client.HTTPException):
                if killed.is_set():  # the kill cut this request: never acknowledged
                    return
                continue  # a slow answer before the kill (a loaded machine): retried with the same key
            if code in (200, 201):  # 200: a retry's duplicate, acknowledged all the same
                acked[key] = d["order_id"]
            i += 1

    t = threading.Thread(target=load, daemon=True)
    t.start()
    try:  # a failure here stops the client too (it retried a dead leader for ever and held the run at exit)
        assert wait_for(lambda: len(acked) >= 40, timeout=60), _why(a, acked)
        # the standby follows the leader's WAL-derived state (read-only replays as the WAL grows)
        assert wait_for(lambda: b.request("GET", "/health")[1]["following"].get("decisions", 0) >= 40, timeout=30)
        assert b.request("GET", "/health")[1]["following"]["mismatches"] == 0
        killed.set()
        a.kill9()  # mid-flow
    finally:
        stop.set()
    t.join(15)
    n_acked = len(acked)
    # the standby follows the WAL (read-only) and takes over once the lease lapses
    assert wait_for(lambda: _role(b) == "leader", timeout=60)
    _, hb = b.request("GET", "/health")
    assert hb["recovery"]["mismatches"] == 0 and hb["recovery"]["decisions"] >= n_acked
    assert hb["signals"]["ha"]["changes"] == 1
    # the new leader starts above every order id the old one reserved (hft.live.order_ids): any of them may have
    # been answered by the old leader (a /v3 answer goes out before the WAL holds its decision)
    rec = hb["recovery"]
    assert rec["ids_skipped"] > 0 and rec["next_order_id"] > max(acked.values()), rec
    # the client retries everything it sent with the same keys: one order per key
    for key in sent:
        code, d = _post(b.port, key, tok)
        assert code in (200, 201), d
        if key in acked:
            assert code == 200 and d["duplicate"] and d["order_id"] == acked[key]
    code, d = _post(b.port, "after-failover", tok)
    assert code == 201 and d["order_id"] >= rec["next_order_id"]
    cmds = [e for e in b.journal() if e["ev"] == "cmd" and e["action"] == 1]
    dups = [e for e in b.journal() if e["ev"] == "dup"]
    assert dups == []  # no duplicate dispatch across the failover
    ids = [e["order_id"] for e in cmds]
    assert len(ids) == len(set(ids)) == len(sent) + 1
    assert set(acked.values()) <= set(ids)
    m = b.metrics()
    assert m["gateway_leader"] == 1.0 and m["gateway_leadership_changes_total"] == 1.0


def test_leader_that_cannot_renew_steps_down(pair):
    """Fencing: with the bus gone the leader cannot renew; it exits (75) before the lease can lapse for others."""
    nats, a, _ = pair
    a.start()
    assert wait_for(lambda: _role(a) == "leader", timeout=120)
    nats.kill()
    t0 = time.monotonic()
    assert a.proc.wait(10) == 75
    assert time.monotonic() - t0 <= 2.5  # within the 2 s lease (+ scheduling slack)
    assert "lost the leader lease" in a.log.read_text()
