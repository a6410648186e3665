"""``POST /admin/kill`` and ``POST /admin/reset`` bodies through the real service: an optional ``{"reason"}`` is
recorded with the operator in the control's cause (WAL, policy transition, /health, the KILLED answers); a bad
body is refused 400 naming the field (the order API's decoding rule), and the switch is left as it was."""

from __future__ import annotations

import json

import pytest
from svckit import Server, order, token

from hft.recorder.reader import iter_records

ADMIN = token(accounts=("*",), strategies=("*",), admin=True)

# (name, raw body, field)
BAD = [
    ("malformed_json", b'{"reason": ', "$body"),
    ("not_an_object", b'["stop"]', "$body"),
    ("reason_wrong_type", b'{"reason": 5}', "reason"),
    ("unknown_key_symbol", b'{"reason": "x", "symbol": "AAPL"}', "symbol"),  # the kill switch has no scope
    ("duplicate_key", b'{"reason": "a", "reason": "b"}', "reason"),
    ("reason_too_long", json.dumps({"reason": "x" * 201}).encode(), "reason"),
    ("reason_control_character", b'{"reason": "line\\nforged: log line"}', "reason"),
]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("admin") / "home", "--loopback", "rest").start()
    yield s
    s.stop()


def _switch(srv) -> tuple:
    m = srv.metrics()
    _, h = srv.request("GET", "/health")
    return m["gateway_kill_switch"], m["gateway_kill_switch_trips_total"], h["mode"], h["ingress"]["killed"]


@pytest.mark.parametrize("op", ["kill", "reset"])
@pytest.mark.parametrize("name,raw,field", BAD, ids=[b[0] for b in BAD])
def test_a_bad_admin_body_is_refused_and_changes_nothing(srv, op, name, raw, field):
    before = _switch(srv)
    assert before[0] == 0 and before[2] == "ALLOW_ALL"
    bad_before = srv.metrics().get(f'gateway_bad_input_total{{field="{field}"}}', 0.0)
    code, body = srv.request("POST", f"/admin/{op}", raw=raw, token=ADMIN,
                             headers={"Content-Type": "application/json"})
    assert code == 400, body
    assert body["error"] == "BAD_INPUT" and body["field"] == field and body["reason"], body
    assert srv.metrics()[f'gateway_bad_input_total{{field="{field}"}}'] == bad_before + 1
    assert _switch(srv) == before  # the kill switch not engaged (nor reset)
    code, d = srv.request("POST", "/orders", order(f"after-{op}-{name}"), token(), {"Idempotency-Key": f"{op}{name}"})
    assert code == 201, d


def test_a_non_admin_token_is_refused_before_its_body_is_read(srv):
    code, body = srv.request("POST", "/admin/kill", raw=b'{"reason": 5}', token=token())
    assert code == 403 and body["error"] == "FORBIDDEN"
    assert _switch(srv)[0] == 0


def test_kill_and_reset_record_the_reason(server_factory):
    srv = server_factory("--loopback", "rest")
    srv.start()
    tok = token()
    code, k = srv.request("POST", "/admin/kill", {"reason": "fat finger on AAPL"}, ADMIN)
    assert code == 200 and k["killed"] is True
    assert k["cause"] == "manual_kill:tester: fat finger on AAPL"
    _, h = srv.request("GET", "/health")
    assert h["mode"] == "REJECT_ALL" and h["ingress"]["cause"] == "manual: tester: fat finger on AAPL"
    code, d = srv.request("POST", "/orders", order("k1"), tok, {"Idempotency-Key": "k1"})
    assert code == 503 and d["error"] == "KILLED" and "fat finger on AAPL" in d["reason"]
    code, body = srv.request("POST", "/admin/reset", raw=b'{"reason": "ok", "account": "ACC1"}', token=ADMIN)
    assert code == 400 and body["field"] == "account"
    assert srv.request("POST", "/orders", order("k2"), tok, {"Idempotency-Key": "k2"})[0] == 503  # still killed
    code, r = srv.request("POST", "/admin/reset", {"reason": "checked the book"}, ADMIN)
    assert code == 200 and r["killed"] is False and r["cause"] == "manual_reset:tester: checked the book"
    assert srv.request("POST", "/orders", order("k3"), tok, {"Idempotency-Key": "k3"})[0] == 201
    code, k = srv.request("POST", "/admin/kill", token=ADMIN)  # an empty body stays valid: no reason
    assert code == 200 and k["cause"] == "manual_kill:tester"
    assert srv.stop() == 0
    controls, transitions = [], []
    for topic, rec in iter_records(srv.home / "wal" / "gateway-live"):
        if topic == "sim.orders" and rec["source"] in ("control:kill", "control:reset"):
            controls.append((rec["source"], rec["symbol_name"]))
        elif topic == "audit.policy_transitions":
            transitions.append(rec["reason"])
    assert controls == [("control:kill", "manual_kill:tester: fat finger on AAPL"),
                        ("control:reset", "manual_reset:tester: checked the book"),
                        ("control:kill", "manual_kill:tester")]
    assert "manual_kill:tester: fat finger on AAPL" in transitions
    assert "manual_reset:tester: checked the book" in transitions
