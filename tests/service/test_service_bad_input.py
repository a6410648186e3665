"""Bad input table of the order API: each a 4xx naming field and reason, counted, with no effect on state."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from svckit import SECRET, Server, order, token

BIG = json.dumps(order("big", note="x" * 5000)).encode()


def _dup(body: dict, extra: str) -> bytes:
    """`body` as JSON with `extra` (``"key": value``) appended: a key the body already holds, repeated."""
    return (json.dumps(body)[:-1] + ", " + extra + "}").encode()


# (name, path, raw body, token kind, headers, status, field)
CASES = [
    ("malformed_json", "/orders", b'{"client_order_id": "m1", ', "ok", {}, 400, "$body"),
    ("not_an_object", "/orders", b"[1, 2]", "ok", {}, 400, "$body"),
    ("qty_wrong_type", "/orders", json.dumps(order("t1", qty="5")).encode(), "ok", {}, 400, "qty"),
    ("price_float", "/orders", json.dumps(order("t2", price=100.5)).encode(), "ok", {}, 400, "price"),
    ("side_unknown", "/orders", json.dumps(order("t3", side="up")).encode(), "ok", {}, 400, "side"),
    ("unknown_field", "/orders", json.dumps(order("t4", colour="red")).encode(), "ok", {}, 400, "colour"),
    ("missing_field", "/orders", json.dumps({k: v for k, v in order("t5").items() if k != "symbol"}).encode(),
     "ok", {}, 400, "symbol"),
    ("qty_zero", "/orders", json.dumps(order("t6", qty=0)).encode(), "ok", {}, 400, "qty"),
    ("qty_negative", "/orders", json.dumps(order("t7", qty=-3)).encode(), "ok", {}, 400, "qty"),
    ("price_negative", "/orders", json.dumps(order("t8", price=-10)).encode(), "ok", {}, 400, "price"),
    ("unknown_symbol", "/orders", json.dumps(order("t9", symbol="NOPE")).encode(), "ok", {}, 400, "symbol"),
    ("unknown_account", "/orders", json.dumps(order("t10", account="ACC9")).encode(), "star", {}, 400, "account"),
    ("no_idempotency_key", "/orders", json.dumps(order("t11")).encode(), "ok", {"Idempotency-Key": None}, 400,
     "Idempotency-Key"),
    ("oversized", "/orders", BIG, "ok", {}, 413, "$body"),
    ("no_token", "/orders", json.dumps(order("t12")).encode(), None, {}, 401, None),
    ("bad_signature", "/orders", json.dumps(order("t13")).encode(), "forged", {}, 401, None),
    ("expired_token", "/orders", json.dumps(order("t14")).encode(), "expired", {}, 401, None),
    # RFC 7519's dates are JSON numbers; PyJWT alone reads a numeric string as the number
    ("exp_a_string", "/orders", json.dumps(order("t32")).encode(), "exp_string", {}, 401, None),
    ("iat_a_string", "/v3/orders", json.dumps(order("t33")).encode(), "iat_string", {}, 401, None),
    ("other_account", "/orders", json.dumps(order("t15", account="ACC2")).encode(), "ok", {}, 403, None),
    ("v3_unknown_field", "/v3/orders", json.dumps(order("t16", extra=1)).encode(), "ok", {}, 400, "extra"),
    ("bad_order_id", "/orders/abc/cancel", b"", "ok", {}, 400, "order_id"),
    # a repeated key (msgspec keeps the last one: qty 100 would have been decided)
    ("duplicate_qty", "/orders", _dup(order("t21", qty=1), '"qty": 100'), "ok", {}, 400, "qty"),
    ("v3_duplicate_qty", "/v3/orders", _dup(order("t22", qty=1), '"qty": 100'), "ok", {}, 400, "qty"),
    ("duplicate_qty_escaped", "/orders", _dup(order("t23"), '"q\\u0074y": 100'), "ok", {}, 400, "qty"),
    ("duplicate_account", "/v3/orders", _dup(order("t24"), '"account" :"ACC2"'), "ok", {}, 400, "account"),
    ("duplicate_optional_tif", "/orders", _dup(order("t25", tif="gtc"), '"tif": "ioc"'), "ok", {}, 400, "tif"),
    ("cancel_duplicate_key", "/orders/1/cancel", b'{"client_order_id": "a", "client_order_id": "b"}', "ok", {},
     400, "client_order_id"),
    # JSON integers are unbounded, the gateway's int64: wider ones are bad input, not a gateway decision
    ("qty_over_int64", "/orders", json.dumps(order("t17", qty=2**70)).encode(), "ok", {}, 400, "qty"),
    ("price_over_int64", "/orders", json.dumps(order("t18", price=2**63)).encode(), "ok", {}, 400, "price"),
    ("v3_qty_over_int64", "/v3/orders", json.dumps(order("t19", qty=2**63)).encode(), "ok", {}, 400, "qty"),
    ("qty_int64_min", "/orders", json.dumps(order("t26", qty=-(2**63))).encode(), "ok", {}, 400, "qty"),
    ("price_int64_min", "/v3/orders", json.dumps(order("t27", price=-(2**63))).encode(), "ok", {}, 400, "price"),
    ("qty_under_int64", "/orders", json.dumps(order("t28", qty=-(2**64))).encode(), "ok", {}, 400, "qty"),
    # invalid UTF-8 inside a JSON string: msgspec's UnicodeDecodeError was a 500 with a traceback in the log
    ("bad_utf8", "/orders", json.dumps(order("t29", symbol="AA@@")).encode().replace(b"@@", b"\xff\xfe"), "ok", {},
     400, "symbol"),
    ("v3_bad_utf8", "/v3/orders", json.dumps(order("t30@@")).encode().replace(b"@@", b"\xc3"), "ok", {}, 400,
     "client_order_id"),
    ("bad_utf8_in_key", "/orders", json.dumps(order("t31", **{"x@@": 1})).encode().replace(b"@@", b"\xff"), "ok",
     {}, 400, "$body"),
    ("cancel_bad_utf8", "/orders/1/cancel", b'{"client_order_id": "c\xff"}', "ok", {}, 400, "client_order_id"),
    ("kill_bad_utf8", "/admin/kill", b'{"reason": "drill \xed\xa0\x80"}', "admin", {}, 400, "reason"),
    # str.isdigit() takes a superscript two, which int() refuses (a 500), and Arabic-Indic digits, which it reads
    ("cancel_superscript_id", "/orders/%C2%B2/cancel", b"", "ok", {}, 400, "order_id"),
    ("cancel_arabic_indic_id", "/orders/%D9%A1/cancel", b"", "ok", {}, 400, "order_id"),
    ("v3_market_price_over_int64", "/v3/orders", json.dumps(order("t20", price=2**64, order_type="market",
                                                                  tif="ioc")).encode(), "ok", {}, 400, "price"),
]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("bad") / "home", "--loopback", "rest").start()
    yield s
    s.stop()


def _tok(kind):
    return {None: None, "ok": token(), "star": token(accounts=("*",), strategies=("*",)),
            "forged": token(secret="another-secret-0123456789abcdef-0123"),
            "expired": token(ttl=-3600), "admin": token(admin=True),
            "exp_string": _claims(exp=str(int(time.time()) + 3600)), "iat_string": _claims(iat=str(int(time.time())))
            }[kind]


def _claims(**kw) -> str:
    """A token signed with the server's secret, its claims those `token()` gives with `kw` over them."""
    now = int(time.time())
    claims = {"sub": "tester", "accounts": ["ACC1"], "strategies": ["mm1"], "admin": False, "iat": now,
              "exp": now + 3600, **kw}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def _state(srv):
    m = srv.metrics()
    _, h = srv.request("GET", "/health")
    return (m['gateway_decisions_total{result="accepted"}'], m['gateway_decisions_total{result="rejected"}'],
            m["gateway_working_orders"], h["wal"]["records_written"], len(srv.journal()))


@pytest.mark.parametrize("name,path,raw,tok,headers,status,field", CASES, ids=[c[0] for c in CASES])
def test_bad_input(srv, name, path, raw, tok, headers, status, field):
    before = _state(srv)
    label = "unknown" if field in ("colour", "extra") else field  # keys the client made up: one label
    bad_before = srv.metrics().get(f'gateway_bad_input_total{{field="{label}"}}', 0.0)
    h = {"Idempotency-Key": f"key-{name}", **headers}
    h = {k: v for k, v in h.items() if v is not None}
    code, body = srv.request("POST", path, raw=raw, token=_tok(tok), headers=h)
    assert code == status, body
    assert isinstance(body, dict) and body.get("reason"), body  # a JSON body saying why
    if field is not None:
        assert body["field"] == field, body
        assert srv.metrics()[f'gateway_bad_input_total{{field="{label}"}}'] == bad_before + 1
    assert _state(srv) == before  # nothing decided, recorded or dispatched
    assert srv.metrics()[f'gateway_http_responses_total{{status="{status}"}}'] >= 1
    assert "Traceback" not in srv.log.read_text()


def test_off_tick_is_the_gateways_denial(srv):
    """Tick and lot multiples are trading rules: the gateway denies (recorded, 422 naming the field), and
    nothing reaches the venue or the exposure."""
    tok = token()
    j0 = len(srv.journal())
    code, d = srv.request("POST", "/orders", order("tick1", price=10003), tok, {"Idempotency-Key": "tick1"})
    assert code == 422 and d["reason"] == "OFF_TICK" and d["field"] == "price" and not d["accepted"]
    assert len(srv.journal()) == j0
    _, pos = srv.request("GET", "/positions", token=tok)
    assert pos == []
    assert srv.metrics()['gateway_reject_total{reason="OFF_TICK"}'] == 1


def test_colons_in_values_are_not_repeated_keys(srv):
    """The repeated-key check's fast path counts colons: a colon inside a value takes the exact scan, and passes."""
    tok = token()
    for path in ("/orders", "/v3/orders"):
        coid = f"desk:1:{path[1:3]}:10:00:00"
        code, d = srv.request("POST", path, order(coid, price=10005), tok, {"Idempotency-Key": coid})
        assert code == 201 and d["client_order_id"] == coid, d


def test_order_ids_are_ascii_digits(srv):
    """An order id of other digits ('²', which int() refuses; '١', which it reads as 1) is a 400 naming
    order_id, never another order."""
    tok = token()
    code, d = srv.request("POST", "/orders", order("ascii1", price=10005), tok, {"Idempotency-Key": "ascii1"})
    assert code == 201, d
    oid = d["order_id"]
    assert srv.request("GET", f"/orders/{oid}", token=tok)[0] == 200
    arabic = "".join(chr(0x660 + int(c)) for c in str(oid))  # the same id in Arabic-Indic digits
    for path in ("/orders/%C2%B2", "/orders/" + "".join(f"%{b:02X}" for b in arabic.encode())):
        code, body = srv.request("GET", path, token=tok)
        assert code == 400 and body["field"] == "order_id" and body["reason"], (path, body)
    assert "Traceback" not in srv.log.read_text()


def test_bad_input_labels_are_bounded(srv):
    """Unknown keys a client makes up are counted under one label, ``field="unknown"``: 400 distinct ones add no
    label and hardly a byte to /metrics (each under its own name, they grew it without bound)."""
    tok = token()

    def labels() -> set[str]:
        return {k for k in srv.metrics() if k.startswith("gateway_bad_input_total{")}

    srv.request("POST", "/orders", order("lbl0", zz_first=1), tok, {"Idempotency-Key": "lbl0"})
    before, size = labels(), len(srv.request("GET", "/metrics")[1])
    unknown = srv.metrics()['gateway_bad_input_total{field="unknown"}']
    for i in range(400):
        path = "/v3/orders" if i % 2 else "/orders"
        code, body = srv.request("POST", path, order(f"lbl{i}", **{f"k{i:04d}x": 1}), tok,
                                 {"Idempotency-Key": f"lbl{i}"})
        assert code == 400 and body["field"] == f"k{i:04d}x", body  # the answer still names the key
    assert labels() == before
    assert srv.metrics()['gateway_bad_input_total{field="unknown"}'] == unknown + 400
    assert len(srv.request("GET", "/metrics")[1]) < size + 200
