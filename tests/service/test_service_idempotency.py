"""Idempotency keys are bound to their request (issue 52), against the real server on loopback: a cancel's keys
live apart from new orders', the same key with a different request is a 409 naming the key, a duplicate
answers with the original request's fields, and all of it holds after a SIGKILL and after a clean restart."""

from __future__ import annotations

import pytest
from sigkit import wait_for
from svckit import CONFIG, Server, order, token

TOK = token()
TARGETS: dict[int, tuple[int, int]] = {}  # the orders of `_decide_keys`' cancels: n -> (cancelled, the other)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("idem")
    cfg = d / "gateway_keep_orders.yaml"  # orders keep working through the clean restart (checked after it)
    text = CONFIG.read_text()
    assert "\nserver:\n" in text
    cfg.write_text(text.replace("\nserver:\n", "\nserver:\n  cancel_on_shutdown: false\n", 1))
    s = Server(d / "home", "--loopback", "rest", config=cfg).start()
    yield s
    s.stop()


def _new(srv, coid: str, key: str | None, path: str = "/orders", **kw) -> tuple[int, dict]:
    return srv.request("POST", path, order(coid, **kw), TOK, {"Idempotency-Key": key} if key else {})


def _cancel(srv, oid: int, key: str | None = None, coid: str | None = None) -> tuple[int, dict]:
    return srv.request("POST", f"/orders/{oid}/cancel", {"client_order_id": coid} if coid else None, TOK,
                       {"Idempotency-Key": key} if key else {})


def _status(srv, oid: int) -> str:
    return srv.request("GET", f"/orders/{oid}", token=TOK)[1]["status"]


def _canceled(srv, oid: int) -> bool:
    return bool(wait_for(lambda: _status(srv, oid) == "canceled"))


def _refused(code: int, body: dict, key: str, field: str = "Idempotency-Key") -> None:
    assert code == 409, body
    assert body["error"] == "KEY_REUSED" and body["field"] == field and body["key"] == key and body["reason"], body


def test_a_cancel_given_a_new_orders_key_cancels(srv):
    """It was answered 'accepted, duplicate' (the new order's decision) while the order stayed working."""
    code, d = _new(srv, "k-new-1", "shared-key-1", price=10005)
    assert code == 201, d
    code, c = _cancel(srv, d["order_id"], key="shared-key-1")
    assert code == 201 and c["accepted"] and not c["duplicate"] and c["kind"] == "cancel", c
    assert c["order_id"] == d["order_id"]
    assert _canceled(srv, d["order_id"])


def test_a_derived_cancel_key_is_not_a_new_orders(srv):
    """A new order whose key is what a keyless cancel derives (``cancel:<oid>:``): the cancel was answered
    accepted with the other order's id, and its own order stayed working."""
    code, b = _new(srv, "k-b", "k-b", price=10010)
    assert code == 201, b
    code, other = _new(srv, "k-c", f"cancel:{b['order_id']}:", price=10015)
    assert code == 201, other
    code, c = _cancel(srv, b["order_id"])  # no Idempotency-Key: derived from the order id
    assert code == 201 and not c["duplicate"] and c["order_id"] == b["order_id"], c
    assert _canceled(srv, b["order_id"])
    assert _status(srv, other["order_id"]) == "working"


def _bound(srv, n: int) -> None:
    """Keys decided by `test_same_key_other_request`'s first half still bound to their requests."""
    code, d = _new(srv, f"k-d{n}", f"key-d{n}", price=10020, qty=3)  # the exact retry: the original decision
    assert code == 200 and d["duplicate"] and d["accepted"] and d["client_order_id"] == f"k-d{n}", d
    _refused(*_new(srv, f"k-d{n}", f"key-d{n}", price=10020, qty=30), f"key-d{n}")  # another qty
    _refused(*_new(srv, f"k-d{n}", f"key-d{n}", price=10025, qty=3), f"key-d{n}")  # another price
    _refused(*_new(srv, f"k-d{n}", f"key-d{n}", price=10020, qty=3, side="sell"), f"key-d{n}")
    # the same order under another client order id: the answer echoed the retry's
    _refused(*_new(srv, f"k-other{n}", f"key-d{n}", price=10020, qty=3), f"key-d{n}")
    # /v3 without a key: the client order id is the key
    _refused(*_new(srv, f"k-v{n}", None, "/v3/orders", price=10020, qty=9), f"k-v{n}", "client_order_id")
    # a cancel's key used for another order's cancel
    e, f = TARGETS[n]
    _refused(*_cancel(srv, f, key=f"key-cancel{n}"), f"key-cancel{n}")
    assert _status(srv, f) == "working"
    code, c = _cancel(srv, e, key=f"key-cancel{n}")
    assert code == 200 and c["duplicate"] and c["order_id"] == e, c


def _decide_keys(srv, n: int) -> None:
    code, d = _new(srv, f"k-d{n}", f"key-d{n}", price=10020, qty=3)
    assert code == 201, d
    code, v = _new(srv, f"k-v{n}", None, "/v3/orders", price=10020, qty=1)
    assert code == 201, v
    e, f = (_new(srv, f"k-{x}{n}", f"k-{x}{n}", price=p)[1]["order_id"] for x, p in (("e", 10030), ("f", 10035)))
    TARGETS[n] = e, f
    code, c = _cancel(srv, e, key=f"key-cancel{n}")
    assert code == 201, c


def test_same_key_other_request_is_409_also_after_restarts(srv):
    """The same key with a different request (kind, target, body) is refused 409 naming the key; the exact retry
    gets the original decision. The binding is rebuilt deterministically after a SIGKILL (snapshot + WAL replay)
    and kept by the clean stop's snapshot. A new order after the SIGKILL is accepted: the restart skips whole
    turns of the order table, so its id takes no row of this module's working orders."""
    before = srv.metrics()['gateway_decisions_total{result="accepted"}']
    _decide_keys(srv, 1)
    _bound(srv, 1)
    assert srv.metrics()['gateway_decisions_total{result="accepted"}'] == before + 5  # the 409s decided nothing
    _decide_keys(srv, 2)
    srv.kill9()
    srv.start()
    _bound(srv, 1)
    _bound(srv, 2)
    code, d = _new(srv, "k-after-kill", "key-after-kill", price=10040)
    assert code == 201 and d["accepted"], d
    assert srv.stop() == 0  # the clean stop's snapshot: the next start replays no WAL
    srv.start()
    _bound(srv, 1)
    _bound(srv, 2)
    assert "Traceback" not in srv.log.read_text()
