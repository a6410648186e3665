"""Connection deadlines and the connection cap of the real `hft gateway serve` (HTTP and `--tcp-port`): a TCP
connection that never authenticates is closed, a slowloris trickle of headers or body is answered 408 and cut,
and connections past ``server.max_connections`` are refused (503 / an ERROR frame) while the service keeps
answering once the idle ones are dropped."""

from __future__ import annotations

import json
import socket
import time

import pytest
import yaml
from svckit import CONFIG, Server, order, token

from hft.live import frames as F
from hft.live.client import TcpOrderClient

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

CAP = 20
AUTH_S, HEAD_S, BODY_S, IDLE_S = 1.0, 2.0, 2.0, 5.0
FLOOD = 100  # connections opened at once past the cap (more than hft.live.connections.MAX_LINGERING)
SWEEP_S = 1.5  # the HTTP deadlines are checked once a second



@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    home = tmp_path_factory.mktemp("conns") / "home"
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["server"].update(max_connections=CAP, auth_timeout=f"{AUTH_S:g}s", header_timeout=f"{HEAD_S:g}s",
                         body_timeout=f"{BODY_S:g}s", keep_alive_timeout=f"{IDLE_S:g}s")
    path = home.parent / "gateway_conns.yaml"
    path.write_text(yaml.safe_dump(cfg))
    s = Server(home, "--tcp-port", "0", config=path).start()
    yield s
    s.stop()


def _read_until_closed(c: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed (monotonic); fails when
    the connection is still open after `timeout`."""
    c.settimeout(timeout)
    data = b""
    while True:
        try:
            got = c.recv(65536)
        except ConnectionResetError:
            got = b""
        except TimeoutError:
            pytest.fail(f"the server kept the connection open {timeout} s (got {data!r})")
        if not got:
            return data, time.monotonic()
        data += got


def _error_frame(data: bytes) -> tuple[int, dict]:
    length, kind = F.HEAD.unpack_from(data)
    assert kind == F.ERROR and len(data) == 4 + length, data
    corr, status = F.ERROR_FIXED.unpack_from(data, 5)
    assert corr == 0  # a connection-level error
    return status, json.loads(data[5 + F.ERROR_FIXED.size:])


def _http_answer(data: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


def _wait_open(srv: Server, n: int, timeout: float = 15.0) -> int:
    """Wait until /health counts `n` open connections besides its own; how many times it was refused at the cap
    meanwhile."""
    end = time.monotonic() + timeout
    refused = 0
    while True:
        code, h = srv.request("GET", "/health")
        if code == 200:
            open_ = h["connections"]["open"]
            if open_.get("http", 0) - 1 + open_.get("tcp", 0) == n:
                return refused
        else:
            assert code == 503 and h["error"] == "TOO_MANY_CONNECTIONS", h
            refused += 1
        assert time.monotonic() < end, h
        time.sleep(0.1)


@pytest.mark.parametrize("sent", [b"", F.frame(F.HELLO, token().encode())[:20]], ids=["nothing", "half-a-hello"])
def test_a_tcp_connection_that_does_not_authenticate_is_closed(srv, sent):
    before = srv.metrics().get('gateway_connection_timeouts_total{listener="tcp",phase="auth"}', 0.0)
    c = socket.create_connection(("127.0.0.1", srv.tcp_port()))
    t0 = time.monotonic()
    c.sendall(sent)
    data, closed = _read_until_closed(c, AUTH_S + 10)
    c.close()
    status, body = _error_frame(data)
    assert status == 408 and body["error"] == "AUTH_TIMEOUT" and "HELLO" in body["reason"]
    assert AUTH_S - 0.2 <= closed - t0 < AUTH_S + 3
    assert srv.metrics()['gateway_connection_timeouts_total{listener="tcp",phase="auth"}'] == before + 1
    with TcpOrderClient("127.0.0.1", srv.tcp_port(), token()) as ok:  # one that authenticates is served
        time.sleep(AUTH_S + 0.5)  # and may stay silent past the deadline
        assert ok.order(f"tcp-auth-ok-{len(sent)}", "ACC1", "mm1", "AAPL", "buy", 1, 9990)["status"] == 201


def test_a_slowloris_header_trickle_is_cut_with_408(srv):
    c = socket.create_connection(("127.0.0.1", srv.port))
    t0 = time.monotonic()
    head = b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: " + b"a" * 100
    c.settimeout(0.25)
    got = b""
    for i in range(len(head)):  # one byte every 0.25 s: each one well within any per-read timeout
        try:
            c.sendall(head[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            got = c.recv(65536)
            break  # the server answered (and closes)
        except TimeoutError:
            continue
        assert time.monotonic() - t0 < HEAD_S + 10, "still trickling"
    rest, closed = _read_until_closed(c, 5)
    c.close()
    status, headers, body = _http_answer(got + rest)
    assert status == 408 and body["error"] == "REQUEST_TIMEOUT" and body["field"] == "$headers"
    assert headers["connection"] == "close"
    assert HEAD_S - 0.2 <= closed - t0 < HEAD_S + SWEEP_S + 1


def test_a_body_that_does_not_arrive_is_cut_with_408(srv):
    tok = token()
    c = socket.create_connection(("127.0.0.1", srv.port))
    c.sendall(f"POST /v3/orders HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {tok}\r\ncontent-type: "
              f"application/json\r\ncontent-length: 400\r\n\r\n".encode() + b'{"client_order_id":')
    t0 = time.monotonic()
    data, closed = _read_until_closed(c, BODY_S + 10)
    c.close()
    status, headers, body = _http_answer(data)
    assert status == 408 and body["field"] == "$body" and headers["connection"] == "close"
    assert BODY_S - 0.2 <= closed - t0 < BODY_S + SWEEP_S + 1


def test_an_idle_keep_alive_connection_is_closed_and_an_active_one_kept(srv):
    c = socket.create_connection(("127.0.0.1", srv.port))
    active = socket.create_connection(("127.0.0.1", srv.port))
    req = b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n"
    c.sendall(req)
    c.settimeout(5)
    assert c.recv(65536).startswith(b"HTTP/1.1 200")
    t0 = time.monotonic()
    for _ in range(int(IDLE_S / 0.5) + 4):  # the active one asks every 0.5 s, past the idle deadline
        active.sendall(req)
        active.settimeout(5)
        assert active.recv(65536).startswith(b"HTTP/1.1 200")
        time.sleep(0.5)
    data, closed = _read_until_closed(c, 5)
    assert data == b"" and IDLE_S - 0.2 <= closed - t0 < IDLE_S + SWEEP_S + 1  # closed silently
    active.sendall(req)
    assert active.recv(65536).startswith(b"HTTP/1.1 200")
    c.close()
    active.close()


def test_connections_past_the_cap_are_refused_and_the_service_answers_once_idle_ones_are_dropped(srv):
    tok = token()
    _wait_open(srv, 0)
    before = srv.metrics()
    clients = [TcpOrderClient("127.0.0.1", srv.tcp_port(), tok) for _ in range(4)]  # authenticated, kept
    idle = []
    t0 = time.monotonic()
    for i in range(CAP - 4):  # one request each, then silent: kept until the keep-alive deadline
        if i == CAP - 5:
            _wait_open(srv, CAP - 1)  # /health's own connection is the CAP-th
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        s.settimeout(5)
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
        idle.append(s)
    # the cap is reached: a fresh HTTP connection gets 503 and is closed, a TCP one an ERROR frame 503
    refused = []
    for _ in range(3):
        h = socket.create_connection(("127.0.0.1", srv.port))
        h.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        data, _ = _read_until_closed(h, 5)
        h.close()
        refused.append(_http_answer(data))
    for status, headers, body in refused:
        assert status == 503 and headers["connection"] == "close" and headers["content-type"] == "application/json"
        assert body["error"] == "TOO_MANY_CONNECTIONS" and "server.max_connections" in body["reason"]
    flood = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(FLOOD)]  # more than linger
    for f in flood:  # each one closed at once, with the 503 when the server could linger for it
        data, _ = _read_until_closed(f, 5)
        f.close()
        assert data == b"" or _http_answer(data)[0] == 503
    t = socket.create_connection(("127.0.0.1", srv.tcp_port()))
    t.sendall(F.frame(F.HELLO, tok.encode()))
    data, _ = _read_until_closed(t, 5)
    t.close()
    status, body = _error_frame(data)
    assert status == 503 and body["error"] == "TOO_MANY_CONNECTIONS"
    assert time.monotonic() - t0 < IDLE_S  # all that before the idle connections' deadline
    # the idle ones are dropped at their deadline; then /health and an order on a fresh connection are answered
    polls_refused = _wait_open(srv, 4)
    code, body = srv.request("POST", "/v3/orders", order("cap-1", price=9990, qty=1), tok)
    assert code == 201 and body["accepted"]
    for c in clients:  # the authenticated TCP clients were never dropped
        assert c.order(f"cap-tcp-{id(c)}", "ACC1", "mm1", "AAPL", "buy", 1, 9990)["status"] == 201
        c.close()
    for s in idle:
        s.close()
    after = srv.metrics()

    def grew(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert grew('gateway_connections_refused_total{listener="http"}') == 3 + FLOOD + polls_refused
    assert grew('gateway_connections_refused_total{listener="tcp"}') == 1
    assert grew('gateway_connection_timeouts_total{listener="http",phase="idle"}') == CAP - 4
    assert after["gateway_connections_max"] == CAP

