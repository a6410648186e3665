"""Order updates pushed to clients, against the real service (loopback venue resting orders): ``GET
/orders/stream`` (server-sent events) in order, resumed from a sequence number with no gap and no duplicate, across
a SIGKILL and a restart too; cancel-on-disconnect (the token's working orders cancelled and audited when the
stream's connection drops); the TCP intake's REPORT frames on the connection that sent the order."""

from __future__ import annotations

import http.client
import json
import re
import socket
import time

import pytest
import yaml
from svckit import CONFIG, SECRET, order, token

from hft.live import frames as T
from hft.live.auth import mint
from hft.live.client import TcpIntakeError, TcpOrderClient, _decode
from hft.recorder.reader import iter_records

pytestmark = pytest.mark.slow  # starts the service as processes: outside the README's test command

ANY = token(accounts=("*",), strategies=("*",))
ACC2 = token(accounts=("ACC2",), strategies=("*",))


@pytest.fixture
def srv(server_factory):
    return server_factory("--loopback", "rest", "--tcp-port", "0").start()


class Stream:
    """An SSE client of ``GET /orders/stream`` (or of `path`: ``/market/stream``; http.client decodes the chunks)."""

    def __init__(self, srv, tok: str = ANY, query: str = "", headers: dict[str, str] | None = None,
                 path: str = "/orders/stream") -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        self.conn.request("GET", path + query, headers={"Authorization": f"Bearer {tok}", **(headers or {})})
        self.r = self.conn.getresponse()

    def events(self, n: int) -> list[dict]:
        out: list[dict] = []
        ev: dict = {}
        while len(out) < n:
            line = self.r.readline().decode()
            assert line, f"the stream ended after {out}"
            line = line.rstrip("\n")
            if not line:
                if "data" in ev:
                    out.append({"id": int(ev["id"]) if "id" in ev else None, "event": ev["event"],
                                **json.loads(ev["data"])})
                ev = {}
            elif not line.startswith(":"):
                k, _, v = line.partition(": ")
                ev[k] = v
        return out

    def close(self) -> None:
        self.conn.sock.close()
        self.conn.close()


    def until_end(self) -> list[dict]:
        """The events left until the body ends (the server ended the stream)."""
        out: list[dict] = []
        while True:
            try:
                out += self.events(1)
            except AssertionError:  # the body ended
                return out


def _new(srv, coid: str, tok: str = ANY, **kw) -> int:
    code, d = srv.request("POST", "/orders", order(coid, **kw), tok, {"Idempotency-Key": coid})
    assert code == 201 and d["accepted"], d
    return d["order_id"]


def _status(srv, oid: int, want: str) -> str:
    end = time.time() + 10
    while True:
        v = srv.request("GET", f"/orders/{oid}", token=ANY)[1]
        if v["status"] == want or time.time() > end:
            return v["status"]
        time.sleep(0.05)


def _flow(srv) -> tuple[int, int]:
    """A resting order acknowledged then cancelled, an IOC order filled: the updates ack, ack?, fill, canceled."""
    a = _new(srv, "s-a")
    assert _status(srv, a, "working") == "working"
    b = _new(srv, "s-b", tif="ioc", price=9990)
    assert _status(srv, b, "filled") == "filled"
    code, _ = srv.request("POST", f"/orders/{a}/cancel", {"client_order_id": "s-a-c"}, ANY)
    assert code == 201 and _status(srv, a, "canceled") == "canceled"
    return a, b


def test_the_stream_sends_each_order_update_in_order_and_resumes_after_a_sequence(srv):
    live = Stream(srv, query="?after=0")
    assert live.r.status == 200 and live.r.getheader("content-type") == "text/event-stream"
    a, b = _flow(srv)
    _code, v = srv.request("GET", f"/orders/{b}", token=ANY)
    got = []
    while not got or got[-1]["kind"] != "canceled":
        got += live.events(1)
    assert [e["seq"] for e in got] == list(range(1, len(got) + 1))  # numbered from 1, no gap
    assert all(e["id"] == e["seq"] for e in got)
    assert [(e["order_id"], e["kind"], e["status"]) for e in got if e["order_id"] == a] == [
        (a, "ack", "working"), (a, "canceled", "canceled")]
    fills = [e for e in got if e["order_id"] == b and e["kind"] == "fill"]
    assert [(f["qty"], f["filled"], f["leaves"], f["status"], f["client_order_id"]) for f in fills] == [
        (5, 5, 0, "filled", "s-b")]
    assert fills[0]["price"] == v["fills"][0]["price"] and got[0]["account"] == "ACC1"
    assert all((e["fee"], e["fee_frac"]) == (0, 0) for e in got)  # the loopback venue reports no fee (the paper
    # venue's fees on the stream: tests/service/test_strategy_live.py)
    live.close()
    # resumed after each number: the rest exactly, by the query or by the Last-Event-ID header
    for k in range(len(got)):
        for s in (Stream(srv, query=f"?after={k}"), Stream(srv, headers={"Last-Event-ID": str(k)})):
            assert s.events(len(got) - k) == got[k:]
            s.close()
    # another token sees only its own orders' updates; one without a number sees only new ones
    mine = Stream(srv, ACC2, "?after=0")
    fresh = Stream(srv)
    c = _new(srv, "s-c", ACC2, account="ACC2")
    (e,) = mine.events(1)
    assert (e["order_id"], e["kind"], e["account"], e["seq"]) == (c, "ack", "ACC2", len(got) + 1)
    assert fresh.events(1) == [e]
    mine.close()
    fresh.close()


@pytest.mark.parametrize("query,headers,tok,status,error,field", [
    ("?after=abc", {}, ANY, 400, "BAD_INPUT", "after"),
    ("?after=-1", {}, ANY, 400, "BAD_INPUT", "after"),
    ("?after=99999", {}, ANY, 400, "UNKNOWN_SEQUENCE", "after"),
    ("", {"Last-Event-ID": "99999"}, ANY, 400, "UNKNOWN_SEQUENCE", "after"),
    ("?since=3", {}, ANY, 400, "BAD_INPUT", "since"),
    ("?after=0", {}, "not-a-token", 401, "UNAUTHORIZED", None),
])
def test_a_bad_stream_request_is_refused_with_a_json_body(srv, query, headers, tok, status, error, field):
    s = Stream(srv, tok, query, headers)
    body = json.loads(s.r.read())
    assert s.r.status == status and body["error"] == error and body.get("field") == field, body
    s.close()


def test_a_client_resumes_after_a_sigkill_and_restart_with_the_same_numbers(srv, server_factory):
    s = Stream(srv, query="?after=0")
    _a, _b = _flow(srv)
    rest = _new(srv, "s-d")
    got = []
    while not got or got[-1]["order_id"] != rest:
        got += s.events(1)
    s.close()
    srv.kill9()
    again = server_factory("--loopback", "rest", "--tcp-port", "0", home=srv.home).start()
    for k in (0, 2, len(got) - 1):
        r = Stream(again, query=f"?after={k}")
        assert r.events(len(got) - k) == got[k:]  # the numbers the WAL gives them, no gap, no duplicate
        r.close()
    r = Stream(again, query=f"?after={len(got)}")
    code, _ = again.request("POST", f"/orders/{rest}/cancel", {"client_order_id": "s-d-c"}, ANY)
    assert code == 201
    (e,) = r.events(1)
    assert (e["seq"], e["order_id"], e["kind"]) == (len(got) + 1, rest, "canceled")
    r.close()


def test_cancel_on_disconnect_cancels_the_tokens_working_orders_audited(srv):
    tok = token(accounts=("ACC1",), strategies=("*",))
    s = Stream(srv, tok, "?cancel_on_disconnect=1")
    mine = [_new(srv, f"d-{i}", tok, strategy=t) for i, t in enumerate(("mm1", "mm2"))]
    other = _new(srv, "d-x", ACC2, account="ACC2")
    for oid in (*mine, other):
        assert _status(srv, oid, "working") == "working"
    plain = Stream(srv, tok)  # without the flag: dropping it cancels nothing
    plain.close()
    time.sleep(0.5)
    assert all(_status(srv, oid, "working") == "working" for oid in mine)
    s.close()
    assert [_status(srv, oid, "canceled") for oid in mine] == ["canceled", "canceled"]
    assert _status(srv, other, "working") == "working"
    srv.stop()
    rows = [r for t, r in iter_records(srv.home / "wal" / "gateway-live")
            if t == "audit.policy_transitions" and r["scope"] == "orders"]
    assert [(r["actor"], r["reason"], sorted(json.loads(r["details"])["cancelled"])) for r in rows] == [
        ("tester", "cancel_on_disconnect:tester", sorted(mine))]


def test_tcp_connection_gets_the_execution_reports_of_its_orders(srv):
    port = int(re.search(r"tcp://[\d.]+:(\d+)", srv.ready_line).group(1))
    with TcpOrderClient("127.0.0.1", port, ANY) as c, TcpOrderClient("127.0.0.1", port, ANY) as other:
        d = c.order("t-1", "ACC1", "mm1", "AAPL", "buy", 5, 10000)
        assert d["accepted"]
        oid = d["order_id"]
        ack = c.recv_report(10)
        assert (ack["order_id"], ack["kind_name"], ack["status_name"], ack["leaves"]) == (oid, "ack", "working", 5)
        assert c.replace(oid, 10050, 7, "t-1-r")["accepted"]
        rep = c.recv_report(10)
        assert (rep["kind_name"], rep["price"], rep["status_name"]) == ("replaced", 10050, "working")
        assert c.order("t-2", "ACC1", "mm1", "AAPL", "buy", 2, 9990, tif="ioc")["accepted"]
        kinds = []
        while not kinds or kinds[-1][0] != "fill":
            r = c.recv_report(10)
            kinds.append((r["kind_name"], r["qty"], r["filled"], r["status_name"]))
        assert kinds[-1] == ("fill", 2, 2, "filled")
        c.send_cancel(oid, "t-1-c")
        assert c.recv()["accepted"]
        can = c.recv_report(10)
        assert (can["order_id"], can["kind_name"], can["status_name"]) == (oid, "canceled", "canceled")
        seqs = [ack["seq"], rep["seq"], can["seq"]]
        assert seqs == sorted(seqs)
        with pytest.raises(TimeoutError):  # the other connection sent none of them
            other.recv_report(0.5)
    _code, v = srv.request("GET", "/health")
    assert v["tcp"]["reports"] >= 4


def test_a_stopping_service_ends_its_streams_without_cancelling(srv):
    s = Stream(srv, query="?cancel_on_disconnect=1")
    oid = _new(srv, "q-1")
    assert s.events(1)[0]["order_id"] == oid
    t0 = time.monotonic()
    assert srv.stop() == 0
    assert time.monotonic() - t0 < 5  # the open stream does not hold the graceful stop
    assert s.r.read() == b""  # ended (the last chunk), not cut
    s.close()
    rows = [r for t, r in iter_records(srv.home / "wal" / "gateway-live")
            if t == "audit.policy_transitions" and r["scope"] == "orders"]
    assert rows == []


def test_a_tcp_connection_asks_hello_to_cancel_its_tokens_orders_when_it_drops(srv):
    port = int(re.search(r"tcp://[\d.]+:(\d+)", srv.ready_line).group(1))
    tok = token(accounts=("ACC1",), strategies=("*",))
    with TcpOrderClient("127.0.0.1", port, tok) as plain:  # without the option: dropping it cancels nothing
        kept = plain.order("h-0", "ACC1", "mm1", "AAPL", "buy", 5, 10000)["order_id"]
    c = TcpOrderClient("127.0.0.1", port, tok, cancel_on_disconnect=True)
    oid = c.order("h-1", "ACC1", "mm2", "AAPL", "buy", 5, 10000)["order_id"]
    other = _new(srv, "h-x", ACC2, account="ACC2")
    for o in (kept, oid, other):
        assert _status(srv, o, "working") == "working"
    c.close()
    assert (_status(srv, oid, "canceled"), _status(srv, kept, "canceled")) == ("canceled", "canceled")
    assert _status(srv, other, "working") == "working"
    srv.stop()
    rows = [r for t, r in iter_records(srv.home / "wal" / "gateway-live")
            if t == "audit.policy_transitions" and r["scope"] == "orders"]
    assert [(r["reason"], sorted(json.loads(r["details"])["cancelled"])) for r in rows] == [
        ("cancel_on_disconnect:tester", sorted([kept, oid]))]


def test_bad_hello_options_are_a_clear_error_frame(srv):
    port = int(re.search(r"tcp://[\d.]+:(\d+)", srv.ready_line).group(1))
    for opts in (b"\nnot json", b'\n{"cancel_on_disconnect": 1}', b'\n{"other": true}'):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(T.frame(T.HELLO, ANY.encode() + opts))
        data = b""
        while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "little"):
            chunk = s.recv(4096)
            assert chunk
            data += chunk
        ans = _decode(data[4], data[5:4 + int.from_bytes(data[:4], "little")])
        assert (ans["type"], ans["status"], ans["error"]) == ("error", 400, "BAD_FRAME"), ans
        assert "HELLO options" in ans["reason"]
        s.close()



def _audit(srv, scope: str) -> list[dict]:
    return [r for t, r in iter_records(srv.home / "wal" / "gateway-live")
            if t == "audit.policy_transitions" and r["scope"] == scope]


def test_a_revoked_token_s_open_stream_and_tcp_connection_end_at_once_and_cancel_on_disconnect(srv):
    trader = mint(SECRET, "trader", ["ACC1"], ["*"], 3600, jti="trader-1")
    other = mint(SECRET, "other", ["ACC2"], ["*"], 3600, jti="other-1")
    s = Stream(srv, trader, "?cancel_on_disconnect=1")
    market = Stream(srv, trader, "?symbol=AAPL", path="/market/stream")
    keep = Stream(srv, other)
    tcp = TcpOrderClient("127.0.0.1", srv.tcp_port(), trader)  # reports on, no cancel-on-disconnect of its own
    mine = tcp.order("rv-1", "ACC1", "mm1", "AAPL", "buy", 5, 10000)["order_id"]
    assert tcp.recv_report(10)["status_name"] == "working"
    theirs = _new(srv, "rv-x", other, account="ACC2")
    assert s.events(1)[0]["order_id"] == mine and keep.events(1)[0]["order_id"] == theirs

    code, body = srv.request("POST", "/admin/tokens/revoke", {"jti": "trader-1", "reason": "leaked"},
                             token=token(admin=True))
    assert code == 200 and body["connections_closed"] == 3, body
    # each stream (orders, market): a last event saying why, then the end of the body (not a cut connection)
    for st in (s, market):
        assert st.until_end() == [{"id": None, "event": "error", "error": "TOKEN_REVOKED",
                                   "reason": "token revoked (jti 'trader-1')"}]
        st.close()
    # the TCP connection: an ERROR frame naming the reason without sending anything, then closed
    ans = tcp.recv()
    assert (ans["type"], ans["corr"], ans["status"], ans["error"]) == ("error", 0, 401, "TOKEN_REVOKED"), ans
    with pytest.raises((TcpIntakeError, OSError)):
        tcp.recv()
    tcp.close()
    # the stream asked for cancel-on-disconnect: the token's working orders cancelled, audited
    assert _status(srv, mine, "canceled") == "canceled"
    assert _status(srv, theirs, "working") == "working"
    # another token's stream goes on
    later = _new(srv, "rv-y", other, account="ACC2")
    assert keep.events(1)[0]["order_id"] == later
    keep.close()
    srv.stop()
    assert [(r["actor"], r["reason"], json.loads(r["details"])["cancelled"]) for r in _audit(srv, "orders")] == [
        ("trader", "cancel_on_disconnect:trader", [mine])]


def test_a_stream_and_a_tcp_connection_end_when_their_token_expires(server_factory, tmp_path):
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["server"]["jwt_leeway"] = 0
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(cfg))
    srv = server_factory("--loopback", "rest", "--tcp-port", "0", config=path).start()
    short = mint(SECRET, "brief", ["ACC1"], ["*"], 3, jti="brief-1")
    t0 = time.time()
    s = Stream(srv, short)
    tcp = TcpOrderClient("127.0.0.1", srv.tcp_port(), short, cancel_on_disconnect=True)
    oid = tcp.order("ex-1", "ACC1", "mm1", "AAPL", "buy", 5, 10000)["order_id"]
    assert s.events(1)[0]["order_id"] == oid
    exp = int(t0) + 3  # mint's exp: whole seconds
    (end,) = s.until_end()
    assert (end["event"], end["error"]) == ("error", "TOKEN_EXPIRED") and "exp" in end["reason"], end
    assert exp - 0.1 <= time.time() < exp + 3  # at exp (+ a leeway of 0), not at a reconnect
    s.close()
    tcp.sock.settimeout(5)
    while (ans := tcp.recv())["type"] != "error":  # the REPORT of its order may come first
        pass
    assert (ans["status"], ans["error"]) == (401, "TOKEN_EXPIRED")
    tcp.close()
    assert _status(srv, oid, "canceled") == "canceled"  # the connection's cancel-on-disconnect
