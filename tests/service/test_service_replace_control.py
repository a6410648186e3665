"""Replace and the admin controls through the real service (loopback venue resting orders): ``POST
/orders/{id}/replace`` decided by the gateway and acknowledged by the venue; ``POST /admin/cancel`` by account,
strategy or symbol; ``POST /admin/strategy/{name}/mode`` (cancel_only, disabled, enabled), journaled (a restart on
the same WAL keeps the mode) and audited (who, why, before and after)."""

from __future__ import annotations

import json
import time

import pytest
from svckit import order, token

from hft.recorder.reader import iter_records

pytestmark = pytest.mark.slow  # starts the service as processes: outside the README's test command

ADMIN = token(accounts=("*",), strategies=("*",), admin=True)
ANY = token(accounts=("*",), strategies=("*",))


@pytest.fixture
def srv(server_factory):
    return server_factory("--loopback", "rest").start()


def _new(srv, coid: str, tok: str = ANY, **kw) -> int:
    code, d = srv.request("POST", "/orders", order(coid, **kw), tok, {"Idempotency-Key": coid})
    assert code == 201 and d["accepted"], d
    return d["order_id"]


def _view(srv, oid: int, until=None, tok: str = ANY) -> dict:
    end = time.time() + 10
    while True:
        code, v = srv.request("GET", f"/orders/{oid}", token=tok)
        assert code == 200, v
        if until is None or until(v) or time.time() > end:
            return v
        time.sleep(0.05)


def _replace(srv, oid: int, body, tok: str = ANY, key: str | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return srv.request("POST", f"/orders/{oid}/replace", raw=raw, token=tok,
                       headers={"Idempotency-Key": key} if key else None)


def test_replace_is_decided_by_the_gateway_and_shown_once_the_venue_acks(srv):
    oid = _new(srv, "r1", price=10000, qty=5)
    assert _view(srv, oid, lambda v: v["status"] == "working")["status"] == "working"
    code, d = _replace(srv, oid, {"price": 10050, "qty": 7, "client_order_id": "r1-a"})
    assert code == 201 and d["accepted"] and d["kind"] == "replace" and d["order_id"] == oid, d
    v = _view(srv, oid, lambda v: v["price"] == 10050)
    assert (v["price"], v["qty"], v["leaves"], v["status"]) == (10050, 7, 7, "working"), v
    # the same replace again (its key derived from order id + client order id): the original decision
    code, again = _replace(srv, oid, {"price": 10050, "qty": 7, "client_order_id": "r1-a"})
    assert code == 200 and again["duplicate"] and again["accepted"] and again["order_id"] == oid
    # an explicit key: a retry is a duplicate, the key with another request is KEY_REUSED
    code, k1 = _replace(srv, oid, {"price": 10100, "qty": 7, "client_order_id": "r1-b"}, key="rep-k")
    assert code == 201, k1
    code, k2 = _replace(srv, oid, {"price": 10100, "qty": 7, "client_order_id": "r1-b"}, key="rep-k")
    assert code == 200 and k2["duplicate"] and k2["accepted"]
    code, k3 = _replace(srv, oid, {"price": 10200, "qty": 7, "client_order_id": "r1-b"}, key="rep-k")
    assert code == 409 and k3["error"] == "KEY_REUSED" and k3["field"] == "Idempotency-Key"
    assert _view(srv, oid, lambda v: v["price"] == 10100)["price"] == 10100
    # a cancel still works on the replaced order
    code, c = srv.request("POST", f"/orders/{oid}/cancel", {"client_order_id": "r1-c"}, ANY)
    assert code == 201 and c["accepted"], c
    assert _view(srv, oid, lambda v: v["status"] == "canceled")["status"] == "canceled"


def test_replace_of_an_unknown_or_foreign_order_is_404(srv):
    oid = _new(srv, "f1", tok=token(accounts=("ACC2",), strategies=("mm2",)), account="ACC2", strategy="mm2")
    body = {"price": 10050, "qty": 5, "client_order_id": "x"}
    for target, tok in ((oid, token()), (987654, ANY)):
        code, d = _replace(srv, target, body, tok)
        assert code == 404 and d["error"] == "NOT_FOUND" and d["field"] == "order_id", d


@pytest.mark.parametrize("body,reason,field", [
    ({"price": 10050, "qty": 5000, "client_order_id": "big"}, "MAX_ORDER_QTY", "qty"),  # max_order_qty 1000
    ({"price": 10003, "qty": 5, "client_order_id": "tick"}, "OFF_TICK", "price"),  # AAPL: tick multiple 5
])
def test_replace_refused_by_the_gateway_is_422_naming_the_field(srv, body, reason, field):
    oid = _new(srv, f"lim-{reason}", price=10000, qty=5)
    code, d = _replace(srv, oid, body)
    assert code == 422 and not d["accepted"] and d["reason"] == reason and d["field"] == field, d
    assert _view(srv, oid, lambda v: v["status"] == "working")["price"] == 10000  # unchanged


@pytest.mark.parametrize("raw,field", [
    (b'{"price": 10050, "qty": 5}', "client_order_id"),
    (b'{"price": 10050, "qty": 5, "client_order_id": "a", "side": "buy"}', "side"),
    (b'{"price": "10050", "qty": 5, "client_order_id": "a"}', "price"),
    (b'{"price": 10050, "qty": 0, "client_order_id": "a"}', "qty"),
    (b'{"price": 10050, "qty": 5, "client_order_id": "a", "qty": 6}', "qty"),
    (b'{"price": 10050', "$body"),
])
def test_a_bad_replace_body_is_400_naming_the_field(srv, raw, field):
    oid = _new(srv, f"bad-{abs(hash(raw))}")
    code, d = _replace(srv, oid, raw)
    assert code == 400 and d["error"] == "BAD_INPUT" and d["field"] == field, d


def test_mass_cancel_by_each_filter_leaves_the_others_working(srv):
    ids = {name: _new(srv, name, account=a, strategy=t, symbol=y) for name, a, t, y in (
        ("o1", "ACC1", "mm1", "AAPL"), ("o2", "ACC1", "mm2", "MSFT"), ("o3", "ACC2", "mm1", "MSFT"),
        ("o4", "ACC2", "mm2", "AAPL"), ("o5", "ACC2", "mm1", "MSFT"))}
    for oid in ids.values():
        _view(srv, oid, lambda v: v["status"] == "working")

    def status() -> dict[str, str]:
        return {n: srv.request("GET", f"/orders/{oid}", token=ANY)[1]["status"] for n, oid in ids.items()}

    def settled(v):
        return v["status"] != "cancel_pending"

    for body, gone in ((({"symbol": "AAPL", "reason": "AAPL halted"}), {"o1", "o4"}),
                       ({"strategy": "mm2"}, {"o2"}),
                       ({"account": "ACC2", "strategy": "mm1", "symbol": "MSFT"}, {"o3", "o5"})):
        before = status()
        code, d = srv.request("POST", "/admin/cancel", body, ADMIN)
        assert code == 200 and d["cancels"] == len(gone) and sorted(d["order_ids"]) == sorted(ids[n] for n in gone)
        assert d["filter"] == {k: v for k, v in body.items() if k != "reason"}
        for n in gone:
            _view(srv, ids[n], settled)
        after = status()
        assert {n for n in ids if after[n] == "canceled" and before[n] == "working"} == gone, after
    code, d = srv.request("POST", "/admin/cancel", {"reason": "no filter"}, ADMIN)
    assert code == 400 and d["field"] == "$body"
    code, d = srv.request("POST", "/admin/cancel", {"symbol": "NOPE"}, ADMIN)
    assert code == 400 and d["field"] == "symbol"
    srv.stop()
    rows = [r for t, r in iter_records(srv.home / "wal" / "gateway-live")
            if t == "audit.policy_transitions" and r["scope"] == "orders"]
    assert [(r["actor"], sorted(json.loads(r["details"])["cancelled"])) for r in rows] == [
        ("tester", sorted([ids["o1"], ids["o4"]])), ("tester", [ids["o2"]]), ("tester", sorted([ids["o3"], ids["o5"]]))]
    assert [r["reason"] for r in rows] == ["admin_cancel:tester: AAPL halted", "admin_cancel:tester",
                                           "admin_cancel:tester"]


def test_strategy_modes_refuse_cancel_survive_a_restart_and_are_audited(srv, server_factory):
    keep = _new(srv, "m1", strategy="mm1")
    _new(srv, "m2", strategy="mm2")
    _view(srv, keep, lambda v: v["status"] == "working")
    code, d = srv.request("POST", "/admin/strategy/mm1/mode", {"mode": "cancel_only", "reason": "drift"}, ADMIN)
    assert code == 200 and (d["before"], d["mode"], d["cancels"]) == ("enabled", "cancel_only", 0), d
    code, d = srv.request("POST", "/orders", order("m3", strategy="mm1"), ANY, {"Idempotency-Key": "m3"})
    assert code == 503 and d["reason"] == "STRATEGY_CANCEL_ONLY" and d["field"] == "strategy", d
    code, d = _replace(srv, keep, {"price": 9995, "qty": 1, "client_order_id": "m1-r"})  # a smaller one too
    assert code == 503 and d["reason"] == "STRATEGY_CANCEL_ONLY", d
    assert _new(srv, "m4", strategy="mm2")  # another strategy trades on
    code, c = srv.request("POST", f"/orders/{keep}/cancel", {"client_order_id": "m1-c"}, ANY)
    assert code == 201 and c["accepted"], c  # cancels pass

    srv.stop()  # a restart on the same WAL: still cancel_only
    srv2 = server_factory("--loopback", "rest", home=srv.home).start()
    _, h = srv2.request("GET", "/health")
    assert h["strategy_modes"] == {"mm1": "cancel_only"}
    m = srv2.metrics()
    assert (m['gateway_strategy_mode{strategy="mm1"}'], m['gateway_strategy_mode{strategy="mm2"}']) == (1, 0)
    code, d = srv2.request("POST", "/orders", order("m5", strategy="mm1"), ANY, {"Idempotency-Key": "m5"})
    assert code == 503 and d["reason"] == "STRATEGY_CANCEL_ONLY", d

    working = [_new(srv2, f"m2-{i}", strategy="mm2") for i in range(3)]
    bystander = _new(srv2, "l-1", strategy="loser")
    for oid in (*working, bystander):
        _view(srv2, oid, lambda v: v["status"] == "working")
    code, d = srv2.request("POST", "/admin/strategy/mm2/mode", {"mode": "disabled", "reason": "bad fills"}, ADMIN)
    assert code == 200 and d["before"] == "enabled" and sorted(d["order_ids"]) == sorted(working), d
    for oid in working:
        assert _view(srv2, oid, lambda v: v["status"] == "canceled")["status"] == "canceled"
    assert _view(srv2, bystander)["status"] == "working"
    code, d = srv2.request("POST", "/orders", order("m6", strategy="mm2"), ANY, {"Idempotency-Key": "m6"})
    assert code == 503 and d["reason"] == "STRATEGY_DISABLED", d
    code, d = srv2.request("POST", "/admin/strategy/mm1/mode", {"mode": "enabled"}, ADMIN)
    assert code == 200 and d["before"] == "cancel_only"
    assert _new(srv2, "m7", strategy="mm1")
    _, h = srv2.request("GET", "/health")
    assert h["strategy_modes"] == {"mm2": "disabled"}
    srv2.kill9()  # no snapshot at the stop: the WAL's controls after the start's snapshot are replayed
    srv3 = server_factory("--loopback", "rest", home=srv.home).start()
    _, h = srv3.request("GET", "/health")
    assert h["strategy_modes"] == {"mm2": "disabled"} and h["recovery"]["mismatches"] == 0, h
    srv3.stop()
    rows = [(r["key"], r["from_state"], r["to_state"], r["actor"], r["reason"])
            for t, r in iter_records(srv.home / "wal" / "gateway-live")
            if t == "audit.policy_transitions" and r["scope"] == "strategy"]
    assert rows == [("mm1", "enabled", "cancel_only", "tester", "strategy_mode:tester: drift"),
                    ("mm2", "enabled", "disabled", "tester", "strategy_mode:tester: bad fills"),
                    ("mm1", "cancel_only", "enabled", "tester", "strategy_mode:tester")]


def test_admin_controls_need_an_admin_token_and_a_good_body(srv):
    for path, body in (("/admin/cancel", {"symbol": "AAPL"}), ("/admin/strategy/mm1/mode", {"mode": "disabled"})):
        code, d = srv.request("POST", path, body, ANY)
        assert code == 403 and d["error"] == "FORBIDDEN", d
    code, d = srv.request("POST", "/admin/strategy/mm1/mode", {"mode": "paused"}, ADMIN)
    assert code == 400 and d["field"] == "mode", d
    code, d = srv.request("POST", "/admin/strategy/nope/mode", {"mode": "disabled"}, ADMIN)
    assert code == 404 and d["field"] == "strategy", d
    _, h = srv.request("GET", "/health")
    assert h["strategy_modes"] == {}


def test_tcp_replace_frame_round_trip(server_factory):
    import re

    from hft.live.client import TcpOrderClient

    srv = server_factory("--loopback", "rest", "--tcp-port", "0").start()
    port = int(re.search(r"tcp://[\d.]+:(\d+)", srv.ready_line).group(1))
    tok = token()
    with TcpOrderClient("127.0.0.1", port, tok) as c:
        d = c.order("t-1", "ACC1", "mm1", "AAPL", "buy", 5, 10000)
        assert d["status"] == 201, d
        oid = d["order_id"]
        _view(srv, oid, lambda v: v["status"] == "working", tok)
        r = c.replace(oid, 10020, 3, "t-1-r")
        assert r["type"] == "decision" and r["status"] == 201 and r["accepted"] and r["kind"] == 3, r
        assert r["order_id"] == oid
        v = _view(srv, oid, lambda v: v["price"] == 10020, tok)
        assert (v["price"], v["qty"]) == (10020, 3), v
        again = c.replace(oid, 10020, 3, "t-1-r")  # its key: order id + client order id
        assert again["status"] == 200 and again["duplicate"], again
        off = c.replace(oid, 10021, 3, "t-1-off")
        assert off["status"] == 422 and off["reason_name"] == "OFF_TICK", off
        bad = c.replace(oid, 10020, 0, "t-1-bad")
        assert bad["type"] == "error" and bad["status"] == 400 and bad["field"] == "qty", bad
        gone = c.replace(oid + 1000, 10020, 1, "t-1-x")
        assert gone["type"] == "error" and gone["status"] == 404 and gone["field"] == "order_id", gone
        # pipelined with a NEW: answers matched by corr
        corr = [c.send_new("t-2", "ACC1", "mm1", "AAPL", "sell", 1, 10100), c.send_replace(oid, 10030, 3, "t-1-r2")]
        answers = {a["corr"]: a for a in c.recv_many(2)}
        assert answers[corr[0]]["status"] == 201 and answers[corr[1]]["status"] == 201, answers
    assert _view(srv, oid, lambda v: v["price"] == 10030, tok)["price"] == 10030


@pytest.mark.shared_data
def test_paper_venue_acks_a_replace(shared_data, server_factory):
    day = shared_data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"
    if not day.exists():
        pytest.skip(f"{day} not present")
    srv = server_factory("--paper", str(day), "--speed", "20").start(timeout=300)
    h = srv.health_after_first_trade()
    px = h["venue"]["last_trade"] - 10_000  # far below the market: it rests
    tok = token()
    oid = _new(srv, "p-1", tok=tok, symbol="GOOG", price=px, qty=2)
    assert _view(srv, oid, lambda v: v["status"] == "working", tok)["status"] == "working"
    code, d = _replace(srv, oid, {"price": px + 100, "qty": 1, "client_order_id": "p-1-r"}, tok)
    assert code == 201 and d["accepted"], d
    v = _view(srv, oid, lambda v: v["price"] == px + 100, tok)
    assert (v["price"], v["qty"], v["status"]) == (px + 100, 1, "working"), v
