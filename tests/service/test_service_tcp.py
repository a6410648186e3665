"""The binary TCP intake (`hft gateway serve --tcp-port`) against the real server: authentication on connect,
the same decisions and bad-input answers as /v3/orders, pipelining, the pressure ladder, malformed frames."""

from __future__ import annotations

import json
import socket
import struct
import time
from pathlib import Path

import pytest
from svckit import Server, order, token

from hft.live import frames as F
from hft.live.client import TcpIntakeError, TcpOrderClient

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command



@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("tcp") / "home", "--tcp-port", "0").start()
    yield s
    s.stop()


def test_orders_over_tcp_are_decided_like_http_ones(srv):
    tok = token()
    with TcpOrderClient("127.0.0.1", srv.tcp_port(), tok) as c:
        assert c.grant["subject"] == "tester" and c.grant["accounts"] == ["ACC1"]
        d = c.order("tcp-1", "ACC1", "mm1", "AAPL", "buy", 5, 10000)
        assert d["type"] == "decision" and d["status"] == 201 and d["accepted"] and d["order_id"] > 0
        again = c.order("tcp-1", "ACC1", "mm1", "AAPL", "buy", 5, 10000)  # same key (the client order id)
        assert again["status"] == 200 and again["duplicate"] and again["order_id"] == d["order_id"]
        off = c.order("tcp-2", "ACC1", "mm1", "AAPL", "buy", 5, 10001)  # off the tick multiple of 5
        assert off["status"] == 422 and not off["accepted"] and off["reason_name"] == "OFF_TICK"
        durable = c.order("tcp-3", "ACC1", "mm1", "AAPL", "sell", 2, 10010, durable=True, idempotency_key="k-3")
        assert durable["status"] == 201 and durable["accepted"]
        # the same gateway: the HTTP API sees the TCP order, and HTTP's retry of its key is a duplicate
        code, v = srv.request("GET", f"/orders/{d['order_id']}", token=tok)
        assert code == 200 and v["client_order_id"] == "tcp-1" and v["status"] == "filled"
        code, body = srv.request("POST", "/v3/orders", order("tcp-1", qty=5), tok)
        assert code == 200 and body["duplicate"] and body["order_id"] == d["order_id"]
        c.send_cancel(durable["order_id"], "cx-1")
        cx = c.recv()
        assert cx["type"] == "decision" and cx["kind"] == 2 and cx["status"] in (201, 422)


@pytest.mark.parametrize("kw, status, field", [
    ({"side": "buy", "qty": 0}, 400, "qty"),
    ({"side": "buy", "qty": 1, "price": -5}, 400, "price"),
    ({"side": "buy", "qty": 1, "account": "NOPE"}, 403, None),
    ({"side": "buy", "qty": 1, "symbol": "ZZZ"}, 400, "symbol"),
    ({"side": "buy", "qty": 1, "durable": True}, 400, "Idempotency-Key"),
])
def test_bad_intents_are_refused_before_the_gateway(srv, kw, status, field):
    tok = token()

    def state():
        m = srv.metrics()
        _, h = srv.request("GET", "/health")
        return (m['gateway_decisions_total{result="accepted"}'], m['gateway_decisions_total{result="rejected"}'],
                h["wal"]["records_written"])

    bad_before = srv.metrics().get(f'gateway_bad_input_total{{field="{field}"}}', 0.0)
    args = {"account": "ACC1", "symbol": "AAPL", "price": 10000, **kw}
    with TcpOrderClient("127.0.0.1", srv.tcp_port(), tok) as c:
        c.order("warm-up", "ACC1", "mm1", "AAPL", "buy", 1, 9990)
        time.sleep(0.3)  # its reports recorded
        before = state()
        a = c.order("bad-1", args.pop("account"), "mm1", args.pop("symbol"), args.pop("side"), args.pop("qty"),
                    args.pop("price"), **args)
        assert a["type"] == "error" and a["status"] == status and a["reason"], a
        assert state() == before  # nothing decided or recorded
        if field:
            assert a["field"] == field
            assert srv.metrics()[f'gateway_bad_input_total{{field="{field}"}}'] == bad_before + 1
        ok = c.order(f"after-{field}", "ACC1", "mm1", "AAPL", "buy", 1, 9990)  # the connection stays usable
        assert ok["status"] == 201


def test_bad_token_and_malformed_frames_close_the_connection(srv):
    port = srv.tcp_port()
    with pytest.raises(TcpIntakeError, match="401"):
        TcpOrderClient("127.0.0.1", port, token(secret="another-secret-0123456789abcdef-012345"))
    # a NEW before HELLO, a frame with an unknown type, a length over the limit: 400 BAD_FRAME, then closed
    for raw in (F.frame(F.NEW, b"\0" * 30), None, struct.pack("<IB", 1 << 20, F.NEW)):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if raw is None:
            s.sendall(F.frame(F.HELLO, token().encode()))
            raw = F.frame(0x42, b"x")
        s.sendall(raw)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break  # closed by the server
            data += chunk
        s.close()
        frames = []
        while data:
            (n,) = struct.unpack_from("<I", data)
            frames.append((data[4], data[5:4 + n]))
            data = data[4 + n:]
        kind, body = frames[-1]
        assert kind == F.ERROR and F.ERROR_FIXED.unpack_from(body) == (0, 400), frames


@pytest.mark.parametrize("hello", [False, True], ids=["before HELLO", "after HELLO"])
def test_a_bad_length_alone_is_answered_at_once(srv, hello):
    """A frame length is judged as soon as its 4 bytes arrive: a zero length alone (nothing after it) is answered
    ERROR 400 and the connection closed, without waiting for more bytes."""
    s = socket.create_connection(("127.0.0.1", srv.tcp_port()), timeout=10)
    data = b""
    if hello:
        s.sendall(F.frame(F.HELLO, token().encode()))
        while len(data) < 5 or len(data) < 4 + struct.unpack_from("<I", data)[0]:
            data += s.recv(65536)
        assert data[4] == F.READY
        data = b""
    s.sendall(struct.pack("<I", 0))
    s.settimeout(5)  # before the fix: no answer, no close (recv timed out)
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    (n,) = struct.unpack_from("<I", data)
    assert len(data) == 4 + n and data[4] == F.ERROR
    body = data[5:]
    assert F.ERROR_FIXED.unpack_from(body) == (0, 400)
    assert json.loads(body[F.ERROR_FIXED.size:])["reason"] == "frame length: expected 1 to 4096, was 0"


def test_pipelined_orders_are_all_answered_once(srv):
    tok = token(accounts=("ACC2",), strategies=("mm2",))
    n = 3000
    with TcpOrderClient("127.0.0.1", srv.tcp_port(), tok) as c:
        sent = {}
        for i in range(0, n, 25):  # windows of 25 (below the soft-reject level of the 64-slot channel)
            for j in range(i, i + 25):
                sent[c.send_new(f"p-{j}", "ACC2", "mm2", "MSFT", "buy" if j % 2 else "sell", 1,
                                       99 if j % 2 else 101)] = j
            for a in c.recv_many(25):
                assert a["type"] == "decision" and a["status"] == 201, a
                sent.pop(a["corr"])
        assert not sent
    code, pos = srv.request("GET", "/positions", token=tok)
    assert code == 200 and all(p["working_buy"] == p["working_sell"] == 0 for p in pos)


def test_a_burst_over_the_channel_meets_the_pressure_ladder(server_factory):
    cfg = Path(__file__).with_name("gateway_pressure.yaml")
    srv = server_factory("--tcp-port", "0", config=cfg).start()
    tok = token()
    with TcpOrderClient("127.0.0.1", srv.tcp_port(), tok) as c:
        n = 400  # one write: the frames arrive in a few reads, faster than the writer drains the channel
        for i in range(n):  # volatile ones meet the soft rung; durable ones pass it and fill the channel
            c.send_new(f"b-{i}", "ACC1", "mm1", "AAPL", "buy", 1, 10000, durable=i % 2 == 1,
                       idempotency_key=f"b-{i}")
        answers = c.recv_many(n)
    statuses = {a["status"] for a in answers}
    assert 429 in statuses and 503 in statuses, statuses  # the kill also refuses what was queued (REJECT_ALL)
    assert {a["error"] for a in answers if a["type"] == "error"} <= {"SOFT_REJECT", "KILLED"}
    assert {a["status"] for i, a in enumerate(sorted(answers, key=lambda a: a["corr"])) if i % 2} <= {201, 503}
    end = time.time() + 30  # the kill recovers with hysteresis
    while time.time() < end:
        _, h = srv.request("GET", "/health")
        if not h["ingress"]["killed"]:
            break
        time.sleep(0.2)
    assert not h["ingress"]["killed"] and h["tcp"]["intents"] > 0
    with TcpOrderClient("127.0.0.1", srv.tcp_port(), tok) as c:
        assert c.order("after-burst", "ACC1", "mm1", "AAPL", "buy", 1, 10000)["status"] == 201


def test_a_pipelined_run_mixing_refused_frames_is_answered_frame_by_frame(srv):
    """One write of many NEW frames (taken column-wise by the server) with refused, denied, duplicate and durable
    ones among them, and a CANCEL: each is answered as if it had come alone."""
    tok = token()
    with TcpOrderClient("127.0.0.1", srv.tcp_port(), tok) as c:
        expect: dict[int, tuple] = {}

        def new(coid: str, want: tuple, **kw) -> None:
            args = {"account": "ACC1", "strategy": "mm1", "symbol": "AAPL", "side": "buy", "qty": 1, "price": 9990,
                    **kw}
            expect[c.send_new(coid, args.pop("account"), args.pop("strategy"), args.pop("symbol"), args.pop("side"),
                              args.pop("qty"), args.pop("price"), **args)] = want

        for i in range(40):
            new(f"mix-{i}", (201,), side="buy" if i % 2 else "sell", price=9990 if i % 2 else 10010)
            if i == 5:
                new("mix-q0", (400, "qty"), qty=0)
            if i == 9:
                new("mix-sym", (400, "symbol"), symbol="ZZZ")
            if i == 13:
                new("mix-acct", (403, None), account="ACC2", strategy="mm2")
            if i == 17:
                new("mix-nokey", (400, "Idempotency-Key"), durable=True)
            if i == 21:
                new("mix-0", (200,), side="sell", price=10010)  # a retry of mix-0: the original's decision
                new("mix-0", (409,))  # its key (the client order id) with another request: KEY_REUSED
            if i == 25:
                new("mix-tick", (422, "OFF_TICK"), price=10001)
            if i == 29:
                new("mix-durable", (201,), durable=True, idempotency_key="mix-k")
            if i == 33:
                expect[c.send_cancel(987654321, "mix-cx")] = (404, "order_id")
        answers = {a["corr"]: a for a in c.recv_many(len(expect))}
    assert set(answers) == set(expect)
    first = answers[min(expect)]
    for corr, want in expect.items():
        a = answers[corr]
        assert a["status"] == want[0], (want, a)
        if want[0] == 200:
            assert a["duplicate"] and a["order_id"] == first["order_id"]
        elif want[0] == 409:
            assert a["reason_name"] == "KEY_REUSED" and not a["accepted"] and a["order_id"] == first["order_id"]
        elif want[0] == 422:
            assert a["reason_name"] == want[1]
        elif len(want) > 1 and want[1]:
            assert a["type"] == "error" and a["field"] == want[1], a
    decided = sorted(a["seq"] for a in answers.values() if a["type"] == "decision")
    assert decided == sorted(set(decided))  # each decided once


I64_MAX, I64_MIN = 2**63 - 1, -(2**63)
_VALUE = {"NOTIONAL_LIMIT", "MAX_ORDER_NOTIONAL"}  # refused for its value (position's first, then the order's)
# (name, price, qty, order type, what both paths answer: (status, reason names) or (status, bad field))
EDGES = [
    ("value_wraps_to_zero", 2**62, 4, "limit", (422, _VALUE)),  # price x qty = 2**64: 0 in int64
    ("price_max", I64_MAX, 1000, "limit", (422, _VALUE)),
    ("price_max_qty_max", I64_MAX, I64_MAX, "limit", (422, {"POSITION_LIMIT"})),
    ("qty_max", 1, I64_MAX, "limit", (422, {"POSITION_LIMIT"})),
    ("qty_over_limit", 1, 1001, "limit", (422, {"MAX_ORDER_QTY"})),
    ("price_min", I64_MIN, 1, "limit", (400, "price")),
    ("qty_min", 1, I64_MIN, "limit", (400, "qty")),
    ("qty_negative", 5, -1, "limit", (400, "qty")),
    ("qty_zero", 5, 0, "limit", (400, "qty")),
    ("price_zero", 0, 1, "limit", (400, "price")),
    ("price_negative", -1, 1, "limit", (400, "price")),
    ("market_price_min", I64_MIN, 1, "market", (400, "price")),
]


def test_prices_and_quantities_at_int64s_edges_over_http_and_tcp(server_factory):
    """Int64's extremes and their neighbours, over the real intakes (an HTTP body, a TCP frame) of one server: the
    intake refuses what is not an order (400, naming the field), the gateway what it cannot value or hold (422)
    — never a price x qty x multiplier that wrapped past a limit; both paths answer alike and nothing is
    dispatched. Then an order whose value is just inside int64 is accepted and filled, its cost basis exact, and
    the next one, whose position value would not fit, refused."""
    srv = server_factory("--tcp-port", "0").start()
    tok = token()
    j0 = len(srv.journal())
    with TcpOrderClient("127.0.0.1", srv.tcp_port(), tok) as c:
        for name, price, qty, otype, (status, want) in EDGES:
            tif = "ioc" if otype == "market" else "gtc"
            code, h = srv.request("POST", "/orders", order(f"h-{name}", price=price, qty=qty, symbol="MSFT",
                                                          order_type=otype, tif=tif), tok, {"Idempotency-Key": name})
            t = c.order(f"t-{name}", "ACC1", "mm1", "MSFT", "buy", qty, price, otype, tif)
            assert (code, t["status"]) == (status, status), (name, h, t)
            if status == 422:
                assert h["reason"] in want and t["reason_name"] == h["reason"], (name, h, t)
                assert not h["accepted"] and not t["accepted"]
            else:
                assert h["field"] == want and t["field"] == want, (name, h, t)
        assert len(srv.journal()) == j0  # nothing reached the venue
        _, pos = srv.request("GET", "/positions", token=tok)
        assert pos == []
        price = I64_MAX // 1000  # 1000 of it: I64_MAX - 807, inside int64
        code, h = srv.request("POST", "/orders", order("h-inside", price=price, qty=1000, symbol="MSFT"), tok,
                              {"Idempotency-Key": "inside"})
        assert code == 201 and h["accepted"], h
        end = time.time() + 10
        while time.time() < end:  # the loopback venue fills it at its price
            _, v = srv.request("GET", f"/orders/{h['order_id']}", token=tok)
            if v["status"] == "filled":
                break
            time.sleep(0.05)
        assert v["status"] == "filled" and v["filled"] == 1000 and v["fills"] == [
            {"price": price, "qty": 1000, "ts": v["fills"][0]["ts"], "fee": 0, "fee_frac": 0, "liquidity": ""}]
        t = c.order("t-inside", "ACC1", "mm1", "MSFT", "buy", 1000, price)
        assert t["status"] == 422 and t["reason_name"] == "NOTIONAL_LIMIT"  # 2000 of it at the mark: past int64
        code, h = srv.request("POST", "/orders", order("h-outside", price=price, qty=1, symbol="MSFT"), tok,
                              {"Idempotency-Key": "outside"})
        assert code == 422 and h["reason"] == "NOTIONAL_LIMIT"
        # the position (1000) plus I64_MAX more: the sum wrapped negative and passed the position limit, leaving the
        # order to a later check (MAX_ORDER_QTY, or nothing where that limit is not set)
        t = c.order("t-qty-held", "ACC1", "mm1", "MSFT", "buy", I64_MAX, 1)
        code, h = srv.request("POST", "/orders", order("h-qty-held", price=1, qty=I64_MAX, symbol="MSFT"), tok,
                              {"Idempotency-Key": "qty-held"})
        assert (code, h["reason"], t["status"], t["reason_name"]) == (422, "POSITION_LIMIT", 422, "POSITION_LIMIT")
    _, pos = srv.request("GET", "/positions", token=tok)
    assert pos == [{"account": "ACC1", "strategy": "mm1", "symbol": "MSFT", "position": 1000, "working_buy": 0,
                    "working_sell": 0}]
