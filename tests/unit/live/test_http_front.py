"""The service's HTTP/1.1 front (hft.live.http) on a real loopback socket, driven with raw bytes.

The order API and the webhooks run on it in tests/service (real `hft gateway serve` processes); this file pins
the protocol edges those tests do not reach: pipelining order, keep-alive, one write per answer, limits,
malformed requests, failures inside the app, and the graceful stop.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import pytest

from hft.live.connections import ConnectionCap
from hft.live.http import HttpServer


async def echo_app(scope, receive, send):
    """Answers with what it saw; `/fail` raises, `/slow` waits, `/stream` streams two chunks."""
    msg = await receive()
    if scope["path"] == "/fail":
        raise RuntimeError("boom")
    if scope["path"] == "/slow":
        await asyncio.sleep(0.2)
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ab", "more_body": True})
        await send({"type": "http.response.body", "body": b"cd"})
        return
    out = json.dumps({"method": scope["method"], "path": scope["path"], "query": scope["query_string"].decode(),
                      "body": msg["body"].decode("latin-1"),
                      "headers": {k.decode(): v.decode() for k, v in scope["headers"]}}).encode()
    await send({"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": out})


class Running:
    """An HttpServer on its own thread and event loop, on a free loopback port."""

    def __init__(self, app=echo_app, **kw) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.server = HttpServer(app, handle_signals=False, **kw)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.server.serve([self.sock]),))
        self.thread.start()
        deadline = time.monotonic() + 5
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.request_exit)
        self.thread.join(10)
        assert not self.thread.is_alive()
        self.loop.close()

    def connect(self) -> socket.socket:
        c = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        return c


@pytest.fixture
def srv():
    r = Running()
    yield r
    r.stop()


def read_responses(c: socket.socket, n: int) -> list[tuple[int, dict[str, str], bytes]]:
    """Read `n` whole responses (content-length or chunked bodies) from `c`."""
    buf = b""
    out = []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            data = c.recv(65536)
            if not data:
                return out
            buf += data
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
        if "content-length" in headers:
            size = int(headers["content-length"])
            while len(buf) < size:
                buf += c.recv(65536)
            body, buf = buf[:size], buf[size:]
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                while b"\r\n" not in buf:
                    buf += c.recv(65536)
                size_line, buf = buf.split(b"\r\n", 1)
                size = int(size_line, 16)
                while len(buf) < size + 2:
                    buf += c.recv(65536)
                body += buf[:size]
                buf = buf[size + 2:]
                if size == 0:
                    break
        else:
            body = b""
        if status != 100:
            out.append((status, headers, body))
    return out


def post(path: str, body: bytes = b"{}", extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"{extra}\r\n").encode() + body


def test_an_answer_leaves_in_one_piece_with_its_length_and_the_request_as_asgi_saw_it(srv):
    c = srv.connect()
    c.sendall(post("/v3/orders%2Fx?a=1", b'{"q":1}', "X-Key: Abc\r\n"))
    [(status, headers, body)] = read_responses(c, 1)
    seen = json.loads(body)
    assert status == 201 and headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    assert seen["method"] == "POST" and seen["path"] == "/v3/orders/x" and seen["query"] == "a=1"
    assert seen["body"] == '{"q":1}' and seen["headers"]["x-key"] == "Abc"  # names lower-cased, values as sent


def test_pipelined_requests_are_answered_in_order_on_one_kept_alive_connection(srv):
    c = srv.connect()
    c.sendall(post("/slow", b"1") + post("/fast", b"2") + post("/slow", b"3") + post("/fast", b"4"))
    got = read_responses(c, 4)
    assert [json.loads(b)["body"] for _, _, b in got] == ["1", "2", "3", "4"]
    c.sendall(post("/again", b"5"))  # still open
    assert json.loads(read_responses(c, 1)[0][2])["body"] == "5"


def test_http10_and_connection_close_end_the_connection_after_the_answer(srv):
    for req in (b"GET /a HTTP/1.0\r\n\r\n", post("/b", b"x", "Connection: close\r\n")):
        c = srv.connect()
        c.sendall(req)
        [(status, headers, _)] = read_responses(c, 1)
        assert status == 201 and headers.get("connection") == "close"
        assert c.recv(10) == b""  # closed by the server


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read():
    r = Running(max_body_bytes=1000)
    try:
        c = r.connect()
        c.sendall(b"POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n")  # no body sent
        [(status, _, body)] = read_responses(c, 1)
        assert status == 413
        assert json.loads(body) == {"error": "TOO_LARGE", "field": "$body",
                                    "reason": "expected at most 1000 bytes, was 5000"}
        c2 = r.connect()  # a chunked body that grows past the limit
        c2.sendall(b"POST /x HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
                   + b"%x\r\n%s\r\n" % (1500, b"a" * 1500))
        [(status, _, body)] = read_responses(c2, 1)
        assert status == 413 and json.loads(body)["field"] == "$body"
    finally:
        r.stop()


def test_a_chunked_request_body_reaches_the_app_whole(srv):
    c = srv.connect()
    c.sendall(b"POST /c HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert json.loads(read_responses(c, 1)[0][2])["body"] == "abcde"


def test_expect_100_continue_is_answered_before_the_body(srv):
    c = srv.connect()
    c.sendall(b"POST /e HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\nexpect: 100-continue\r\n\r\n")
    assert c.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    c.sendall(b"xyz")
    assert json.loads(read_responses(c, 1)[0][2])["body"] == "xyz"


@pytest.mark.parametrize("raw, status, field", [
    (b"NOT HTTP AT ALL\r\n\r\n", 400, "$request"),
    (b"GET /x HTTP/1.1\r\nhost: x\r\nbad header line\r\n\r\n", 400, "$request"),
    (b"GET /x HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 70_000 + b"\r\n\r\n", 431, "$headers"),
])
def test_malformed_requests_get_a_json_4xx_and_the_connection_closes(srv, raw, status, field):
    c = srv.connect()
    c.sendall(raw)
    [(got, headers, body)] = read_responses(c, 1)
    assert got == status and headers["connection"] == "close"
    assert json.loads(body)["field"] == field
    assert c.recv(10) == b""


def test_an_app_failure_is_a_500_and_the_server_goes_on(srv):
    c = srv.connect()
    c.sendall(post("/fail"))
    [(status, _, body)] = read_responses(c, 1)
    assert status == 500 and json.loads(body)["error"] == "INTERNAL"
    c2 = srv.connect()
    c2.sendall(post("/ok", b"fine"))
    assert json.loads(read_responses(c2, 1)[0][2])["body"] == "fine"


def test_a_streamed_answer_is_sent_chunked(srv):
    c = srv.connect()
    c.sendall(post("/stream"))
    [(status, headers, body)] = read_responses(c, 1)
    assert status == 200 and headers["transfer-encoding"] == "chunked" and body == b"abcd"


@pytest.mark.parametrize("front", ["asgi", "direct"])
def test_stop_lets_in_flight_requests_answer_then_closes_connections(front):
    # direct: the request's future is pending when the stop comes (DirectApp, below)
    r = Running() if front == "asgi" else Running(DirectApp())
    c = r.connect()
    c.sendall(post("/slow" if front == "asgi" else "/d-slow", b"last"))
    time.sleep(0.05)  # the request is running
    r.stop()
    [(status, headers, body)] = read_responses(c, 1)
    assert status == 201 and json.loads(body)["body"] == "last" and headers["connection"] == "close"
    with pytest.raises(OSError):  # no longer accepting
        r.connect()


def test_idle_keep_alive_connections_are_closed():
    r = Running(keep_alive_s=0.2)
    try:
        c = r.connect()
        c.sendall(post("/x"))
        read_responses(c, 1)
        c.settimeout(5)
        t = time.monotonic()
        assert c.recv(10) == b""  # the server's sweep closed it
        assert time.monotonic() - t < 3
    finally:
        r.stop()


def test_a_client_that_stops_half_way_through_a_request_is_answered_408_and_closed():
    r = Running(body_timeout_s=0.2, header_timeout_s=0.2)
    try:
        for sent, field in ((b"POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc", "$body"),  # 7 never come
                            (b"POST /x HTTP/1.1\r\nhost: x\r\ncontent-le", "$headers")):
            c = r.connect()
            c.sendall(sent)
            t = time.monotonic()
            [(status, headers, body)] = read_responses(c, 1)
            assert status == 408 and json.loads(body)["field"] == field and headers["connection"] == "close"
            assert c.recv(10) == b""
            assert time.monotonic() - t < 3
    finally:
        r.stop()


def test_connections_past_the_cap_are_refused_with_503():
    cap = ConnectionCap(2)
    r = Running(cap=cap)
    try:
        kept = [r.connect(), r.connect()]
        c = r.connect()
        c.sendall(post("/x"))
        [(status, headers, body)] = read_responses(c, 1)
        assert status == 503 and json.loads(body)["error"] == "TOO_MANY_CONNECTIONS"
        assert headers["connection"] == "close" and c.recv(10) == b""
        kept[0].close()
        deadline = time.monotonic() + 5
        while cap.total > 1:  # the server saw the close
            assert time.monotonic() < deadline
            time.sleep(0.01)
        c = r.connect()
        c.sendall(post("/x"))
        assert read_responses(c, 1)[0][0] == 201
        assert cap.refused["http"] == 1
    finally:
        r.stop()


class DirectApp:
    """`echo_app` plus paths answered without the ASGI round (`direct`): ``/d-now`` at once, ``/d`` and
    ``/d-slow`` once a future is resolved (soon, after 0.2 s), ``/d-fail`` by a `finish` that raises."""

    direct_paths = frozenset(("/d-now", "/d", "/d-slow", "/d-fail"))

    async def __call__(self, scope, receive, send):
        await echo_app(scope, receive, send)

    def direct(self, method, path, headers, body):
        answer = json.dumps({"method": method, "path": path, "body": body.decode("latin-1"), "direct": True}).encode()
        if path == "/d-now":
            return 201, answer, [(b"content-type", b"application/json")]
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        if path == "/d-slow":
            loop.call_later(0.2, fut.set_result, answer)
        else:
            loop.call_soon(fut.set_result, answer)

        def finish(d):
            if path == "/d-fail":
                raise RuntimeError("boom")
            return 201, d, [(b"content-type", b"application/json")]

        return fut, finish


@pytest.fixture
def dsrv():
    r = Running(DirectApp())
    yield r
    r.stop()


def test_direct_answers_keep_request_order_with_asgi_ones_and_the_same_head(dsrv):
    c = dsrv.connect()
    c.sendall(post("/d-slow", b"1") + post("/fast", b"2") + post("/d", b"3") + post("/d-now", b"4") + post("/x", b"5"))
    got = read_responses(c, 5)
    assert [json.loads(b)["body"] for _, _, b in got] == ["1", "2", "3", "4", "5"]
    assert [json.loads(b).get("direct", False) for _, _, b in got] == [True, False, True, True, False]
    for status, headers, body in got:  # the same head as an ASGI answer: type, length, kept alive
        assert status == 201 and headers == {"content-type": "application/json", "content-length": str(len(body))}


def test_a_failing_direct_answer_is_a_500_and_the_connection_closes(dsrv):
    c = dsrv.connect()
    c.sendall(post("/d-fail"))
    [(status, headers, body)] = read_responses(c, 1)
    assert status == 500 and json.loads(body)["error"] == "INTERNAL" and headers["connection"] == "close"
    assert c.recv(10) == b""
    c2 = dsrv.connect()
    c2.sendall(post("/d", b"fine"))
    assert json.loads(read_responses(c2, 1)[0][2])["body"] == "fine"


def test_a_long_pipelined_run_of_direct_answers_given_at_once_is_answered_in_order(dsrv):
    c = dsrv.connect()
    # queued behind one waiting for its future, then answered one after another: more than the recursion limit
    c.sendall(post("/d-slow", b"first") + b"".join(post("/d-now", b"%d" % i) for i in range(3000)))
    got = read_responses(c, 3001)
    assert [json.loads(b)["body"] for _, _, b in got] == ["first", *(str(i) for i in range(3000))]
