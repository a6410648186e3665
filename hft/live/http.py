"""The live service's HTTP/1.1 front: an ASGI server on the running event loop (uvloop), built on httptools.

Why not uvicorn (measured, ``bench/bench_http_stack.py``): uvicorn is general (streaming bodies, lifespan, ws,
h11 fallback) and pays for it on every request — a task plus two socket writes per answer, a receive / send
round of ASGI messages through its flow-control objects. The gateway's answers are small JSON documents and
its request bodies are bounded, so this front keeps only what the service needs:

- one connection = one `asyncio.Protocol`; httptools (llhttp) parses; keep-alive and pipelining (answers in
  request order; reading pauses while requests queue up);
- a request reaches the app once its body is complete (bodies up to ``max_body_bytes``; the apps apply their
  own, smaller limits and answer 413 themselves, counted in their metrics); a larger body is refused here with
  413 and the connection closed before the body is read;
- ``Expect: 100-continue`` is answered when the body will be accepted;
- the status line, headers and a non-streamed body leave in one ``write`` (a streamed body, ``more_body``, is
  sent chunked unless the app gave a content-length);
- deadlines (one sweep a second, no timer per request): a request's line and headers must all have arrived
  ``header_timeout_s`` after its first byte (a new connection's first request: after the connect), its body
  ``body_timeout_s`` after its headers; past either the client gets 408 and the connection closes (a whole-head
  deadline: a client trickling a byte at a time is cut all the same). A connection with no request running or
  begun closes after ``keep_alive_s`` (idle keep-alive);
- ``ssl``: HTTPS (`hft.live.tls`); the handshake must end within ``header_timeout_s`` of the connect;
- ``cap`` (`hft.live.connections.ConnectionCap`, shared with the TCP intake): a connection accepted past it is
  answered 503 ``TOO_MANY_CONNECTIONS`` and closed;
- SIGINT / SIGTERM: stop accepting, let in-flight requests finish (``grace_s``), close the connections and
  return from `serve` (the caller then drains its own state and exits 0); a second signal cancels what is
  still running. The handlers in place before `serve` are put back when it returns, and the signal that
  stopped it is handed to an `hft.core.interrupts.Interrupts` handler among them, so a further signal during
  the caller's own shutdown follows that rule (left alone within its window, else exit at once) instead of
  meeting the default handler (SIGTERM: killed mid-snapshot).

The apps are plain ASGI 3 (``hft.live.app.OrderApp``, the webhook front), so any ASGI server can run them and
their tests do not depend on this module. An app may also name paths it answers without the ASGI round
(``direct_paths`` and ``direct(method, path, headers, body)``: `OrderApp`'s order intake): a request to one of
them is answered by a callback on its decision's future (an asyncio future, or any object with ``done``,
``cancelled``, ``result``, ``cancel`` and ``add_done_callback``: `OrderApp`'s call it back as the writer decides),
with no scope, task or message dicts (in-flight ones count for the graceful stop like tasks).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from collections import deque
from functools import partial
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import httptools

from hft.core.interrupts import Interrupts
from hft.live.connections import ConnectionCap

log = logging.getLogger("hft.live.http")

_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
_STATUS_LINES: dict[int, bytes] = {}
_MAX_HEAD_BYTES = 64 * 1024  # request line + headers
# a connection's phase, for its deadline: waiting for a request (first or keep-alive), reading a request's head,
# its body; none while requests are queued or running
_WAIT, _HEAD, _BODY, _NONE = 0, 1, 2, 3
_PHASE_NAMES = ("idle", "head", "body")


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b""))
    return line


def _refusal(status: int, error: str, field: str, reason: str) -> bytes:
    body = b'{"error":"%s","field":"%s","reason":"%s"}' % (error.encode(), field.encode(), reason.encode())
    return (_status_line(status) + b"content-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n" % len(body) + body)


class HttpServer:
    """Serve one ASGI app on listening sockets. `started` turns true once the sockets accept and the signal
    handlers are in place; `should_exit = True` (or SIGINT / SIGTERM) stops `serve`."""

    def __init__(self, app: Any, *, max_body_bytes: int = 8 * 1024 * 1024, keep_alive_s: float = 30.0,
                 header_timeout_s: float = 10.0, body_timeout_s: float = 30.0, cap: ConnectionCap | None = None,
                 grace_s: float = 5.0, handle_signals: bool = True, ssl: Any = None) -> None:
        self.app = app
        self.ssl = ssl  # an `ssl.SSLContext` (`hft.live.tls`): HTTPS, its handshake within `header_timeout_s`
        self.scheme = "https" if ssl is not None else "http"
        self.max_body_bytes = max_body_bytes
        self.keep_alive_s = keep_alive_s
        self.header_timeout_s = header_timeout_s
        self.body_timeout_s = body_timeout_s
        self.cap = cap
        self.grace_s = grace_s
        self.handle_signals = handle_signals
        self.started = False
        self.should_exit = False
        self.force_exit = False
        self.stopped_by: tuple[int, float] | None = None  # the signal that began the graceful stop, and when
        self.connections: set[_Connection] = set()
        self.tasks: set[asyncio.Task] = set()
        self.waiting: set[Any] = set()  # direct requests' futures not resolved yet (done / cancel /
        # add_done_callback: an asyncio future, or one its resolver calls back at once)
        self.direct_paths: frozenset[str] = getattr(app, "direct_paths", frozenset())
        self.direct_urls = {p.encode(): p for p in self.direct_paths if p.isascii() and "%" not in p and "?" not in p}
        # a request line naming one of them as it is (no query, no escapes) skips the URL parser
        self._wake: asyncio.Event | None = None

    def request_exit(self, signum: int | None = None) -> None:
        """What a signal does: the first one stops the server gracefully, the second cancels in-flight work."""
        if self.should_exit:
            self.force_exit = True
        elif signum is not None:
            self.stopped_by = (signum, time.monotonic())
        self.should_exit = True
        if self._wake is not None:
            self._wake.set()

    async def serve(self, sockets: list[socket.socket]) -> None:
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        tls = {"ssl": self.ssl, "ssl_handshake_timeout": self.header_timeout_s} if self.ssl is not None else {}
        servers = [await loop.create_server(lambda: _Connection(self), sock=s, backlog=2048, **tls) for s in sockets]
        installed: dict[int, Any] = {}  # signal -> the Python handler before ours
        if self.handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                installed[sig] = signal.getsignal(sig)
                loop.add_signal_handler(sig, self.request_exit, sig)
        self.started = True
        try:
            while not self.should_exit:
                try:
                    await asyncio.wait_for(self._wake.wait(), 1.0)
                except TimeoutError:
                    self._close_idle(time.monotonic())
            for srv in servers:
                srv.close()
            stop_streams = getattr(self.app, "stop_streams", None)  # an app's long answers (a stream) end now
            if stop_streams is not None:
                stop_streams()
            await self._finish_in_flight()
        finally:
            for sig, before in installed.items():
                loop.remove_signal_handler(sig)
                if before is not None:
                    signal.signal(sig, before)
                if isinstance(before, Interrupts) and self.stopped_by is not None:
                    before.graceful(*self.stopped_by)
            for conn in list(self.connections):
                conn.close()
            for srv in servers:
                srv.close()
            self.started = False

    async def _finish_in_flight(self) -> None:
        deadline = time.monotonic() + self.grace_s
        while (self.tasks or self.waiting) and not self.force_exit and time.monotonic() < deadline:
            self._wake.clear()
            if self.tasks:  # direct requests' futures need not be asyncio's: polled
                await asyncio.wait([*self.tasks], timeout=0.05)
            else:
                await asyncio.sleep(0.01)
        for t in [*self.tasks, *self.waiting]:
            t.cancel()

    def _close_idle(self, now: float) -> None:
        """Close the connections past their phase's deadline: 408 when a request had begun, else silently."""
        for conn in list(self.connections):
            if not conn.busy and conn.phase != _NONE and now > conn.deadline and not conn.closed:
                if self.cap is not None:
                    self.cap.timed_out["http", _PHASE_NAMES[conn.phase]] += 1
                if conn.phase == _HEAD:
                    conn.timed_out("$headers", f"the request's headers did not arrive within "
                                               f"{self.header_timeout_s:g} s")
                elif conn.phase == _BODY:
                    conn.timed_out("$body", f"the request's body did not arrive within {self.body_timeout_s:g} s")
                else:
                    conn.close()


class _Connection(asyncio.Protocol):
    """One client connection: parse, queue, run the app per request in order, write each answer once."""

    __slots__ = ("admitted", "app", "body", "body_size", "busy", "client", "closed", "cycle", "deadline",
                 "expect_continue", "head_bytes", "headers", "local", "loop", "parser", "paused", "phase", "queue",
                 "refused", "server", "transport", "url")

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.app = server.app
        self.loop = asyncio.get_event_loop()
        self.parser = httptools.HttpRequestParser(self)
        self.transport: Any = None
        self.client: tuple | None = None
        self.local: tuple | None = None
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_bytes = 0
        self.body: list[bytes] = []
        self.body_size = 0
        self.expect_continue = False
        self.queue: deque = deque()
        self.busy = False
        self.closed = False
        self.phase = _WAIT  # the sweep closes the connection past `deadline` (see `HttpServer._close_idle`)
        self.deadline = time.monotonic() + server.header_timeout_s  # the first request's head
        self.admitted = False  # counted in the server's cap
        self.paused = False
        self.refused = False
        self.cycle: _Cycle | None = None

    # ------------------------------------------------------------------ transport events
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client = _addr(transport.get_extra_info("peername"))
        self.local = _addr(transport.get_extra_info("sockname"))
        cap = self.server.cap
        if cap is not None and not cap.admit("http"):
            self.refused = True
            cap.refuse(self.loop, transport, _refusal(503, "TOO_MANY_CONNECTIONS", "$connection",
                                                      cap.refusal_reason()))
            self.closed = True
            return
        self.admitted = cap is not None
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        if self.admitted:
            self.admitted = False
            self.server.cap.release("http")
        cycle = self.cycle
        if cycle is not None and cycle.disconnect is not None and not cycle.disconnect.done():
            cycle.disconnect.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "BAD_REQUEST", "$request", "protocol upgrades are not served")
        except httptools.HttpParserError as exc:
            if not self.refused:
                self._refuse(400, "BAD_REQUEST", "$request", f"malformed HTTP/1.1 request: {_text(exc)}")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.transport.close()

    def timed_out(self, field: str, reason: str) -> None:
        """A request's head or body missed its deadline: 408, and the connection closes."""
        self.phase = _NONE
        self._refuse(408, "REQUEST_TIMEOUT", field, reason)

    def _refuse(self, status: int, error: str, field: str, reason: str) -> None:
        """Answer now (after what is already queued is dropped) and close: the stream cannot be trusted."""
        self.refused = True
        self.queue.clear()
        answer = _refusal(status, error, field, reason)
        if not self.busy and not self.closed:
            self.transport.write(answer)
            self.close()
        else:  # a request is running: answer and close once it has answered
            self.queue.append(answer)

    # ------------------------------------------------------------------ parser callbacks
    def on_message_begin(self) -> None:
        self.phase = _HEAD
        self.deadline = time.monotonic() + self.server.header_timeout_s
        self.url = b""
        self.headers = []
        self.head_bytes = 0
        self.body = []
        self.body_size = 0
        self.expect_continue = False

    def on_url(self, url: bytes) -> None:
        self.url += url
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        self.headers.append((name, value))
        self._count_head(len(name) + len(value))
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_continue = True

    def _count_head(self, n: int) -> None:
        self.head_bytes += n
        if self.head_bytes > _MAX_HEAD_BYTES:
            self._refuse(431, "TOO_LARGE", "$headers", f"expected at most {_MAX_HEAD_BYTES} bytes of headers")
            raise httptools.HttpParserError("headers too large")

    def on_headers_complete(self) -> None:
        self.phase = _BODY
        self.deadline = time.monotonic() + self.server.body_timeout_s
        limit = self.server.max_body_bytes
        for k, v in self.headers:
            if k == b"content-length" and v.isdigit() and int(v) > limit:
                self._refuse(413, "TOO_LARGE", "$body", f"expected at most {limit} bytes, was {int(v)}")
                raise httptools.HttpParserError("body too large")
        if self.expect_continue and not self.busy and not self.queue:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self.body_size += len(body)
        if self.body_size > self.server.max_body_bytes:
            self._refuse(413, "TOO_LARGE", "$body", f"expected at most {self.server.max_body_bytes} bytes")
            raise httptools.HttpParserError("body too large")
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.phase = _NONE
        p = self.parser
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.queue.append((p.get_method().decode("ascii"), self.url, self.headers, body, p.should_keep_alive(),
                           p.get_http_version()))
        if not self.busy:
            self._next()
        elif len(self.queue) > 16 and not self.paused:  # a pipelining client outruns the app
            self.paused = True
            self.transport.pause_reading()

    # ------------------------------------------------------------------ requests
    def _next(self) -> None:
        if not self.queue:
            self.busy = False
            now = time.monotonic()
            if self.phase == _NONE:  # waiting for the next request
                self.phase = _WAIT
                self.deadline = now + self.server.keep_alive_s
            if self.paused and not self.closed:
                self.paused = False
                self.transport.resume_reading()
                if self.phase != _WAIT:  # a request begun while reading was paused: its time starts now
                    self.deadline = now + (self.server.header_timeout_s if self.phase == _HEAD
                                           else self.server.body_timeout_s)
            return
        item = self.queue.popleft()
        if isinstance(item, bytes) or self.closed:  # a refusal waited for the running request
            if not self.closed:
                self.transport.write(item)
            self.close()
            return
        self.busy = True
        method, url, headers, body, keep_alive, version = item
        direct = self.server.direct_urls.get(url)
        if direct is not None:
            self._direct(method, direct, headers, body, keep_alive)
            return
        parsed = httptools.parse_url(url)
        raw_path = parsed.path
        path = raw_path.decode("latin-1")
        if "%" in path:
            path = unquote(path)
        if path in self.server.direct_paths:
            self._direct(method, path, headers, body, keep_alive)
            return
        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": version,
                 "method": method, "scheme": self.server.scheme, "path": path, "raw_path": raw_path,
                 "query_string": parsed.query or b"", "root_path": "", "headers": headers,
                 "client": self.client, "server": self.local}
        cycle = self.cycle = _Cycle(self, body, keep_alive)
        task = self.loop.create_task(cycle.run(scope))
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    def _direct(self, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes,
                keep_alive: bool) -> None:
        """A request the app answers without the ASGI round (its ``direct``): at once, or once its future is
        resolved."""
        try:
            out = self.app.direct(method, path, headers, body)
        except Exception:
            log.exception("request %s %s failed", method, path)
            self._failed(500, "INTERNAL", "the server failed on this request")
            return
        if len(out) == 3:  # the next request after a turn of the loop (no recursion through a pipelined run)
            self.loop.call_soon(self.finished, self._write_answer(*out, keep_alive))
            return
        fut, finish = out
        self.server.waiting.add(fut)
        fut.add_done_callback(partial(self._direct_done, path, finish, keep_alive))

    def _direct_done(self, path: str, finish: Any, keep_alive: bool, fut: asyncio.Future) -> None:
        self.server.waiting.discard(fut)
        if fut.cancelled():  # a second signal during the graceful stop
            self._failed(503, "SHUTTING_DOWN", "the server is stopping")
            return
        try:
            status, body, headers = finish(fut.result())
        except Exception:
            log.exception("request to %s failed", path)
            self._failed(500, "INTERNAL", "the server failed on this request")
            return
        self.finished(self._write_answer(status, body, headers, keep_alive))

    def _failed(self, status: int, error: str, reason: str) -> None:
        """As an ASGI request that raised before answering: the refusal, then the connection closes."""
        if not self.closed:
            self.transport.write(_refusal(status, error, "$request", reason))
            self.finished(False)

    def _write_answer(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]], keep_alive: bool) -> bool:
        """A direct answer in one write, the bytes an ASGI app's ``[*headers, content-length]`` answer has;
        whether the connection stays open (the caller's `finished`)."""
        if self.closed:
            return False
        parts = [_status_line(status)]
        for k, v in headers:
            parts.append(k + b": " + v + b"\r\n")
        parts.append(b"content-length: %d\r\n" % len(body))
        if not keep_alive or self.server.should_exit:
            keep_alive = False
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        parts.append(body)
        self.transport.write(b"".join(parts))
        return keep_alive

    def finished(self, keep_alive: bool) -> None:
        if self.closed:
            return
        self.cycle = None
        if not keep_alive or self.server.should_exit:
            self.close()
            return
        self._next()


class _Cycle:
    """One request's ASGI receive / send, answering in a single write when the body is not streamed."""

    __slots__ = ("body", "chunked", "conn", "disconnect", "done", "has_length", "head", "keep_alive", "sent_body",
                 "status")

    def __init__(self, conn: _Connection, body: bytes, keep_alive: bool) -> None:
        self.conn = conn
        self.body = body
        self.keep_alive = keep_alive
        self.status = 0
        self.head = b""
        self.has_length = False
        self.chunked = False
        self.done = False
        self.sent_body = False
        self.disconnect: asyncio.Future | None = None

    async def run(self, scope: dict) -> None:
        conn = self.conn
        try:
            await conn.app(scope, self.receive, self.send)
        except asyncio.CancelledError:
            self.keep_alive = False
            if not self.status and not conn.closed:
                conn.transport.write(_refusal(503, "SHUTTING_DOWN", "$request", "the server is stopping"))
        except Exception:
            log.exception("request %s %s failed", scope["method"], scope["path"])
            self.keep_alive = False
            if not self.status and not conn.closed:
                conn.transport.write(_refusal(500, "INTERNAL", "$request", "the server failed on this request"))
        if not self.done:  # the app returned without finishing its answer
            self.keep_alive = False
            if self.chunked and not conn.closed:
                conn.transport.write(b"0\r\n\r\n")
        if not conn.closed:
            conn.finished(self.keep_alive)

    async def receive(self) -> dict:
        if not self.sent_body:
            self.sent_body = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        if self.disconnect is None:  # nothing more will come: wait until the answer is done or the peer goes
            self.disconnect = self.conn.loop.create_future()
        await self.disconnect
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        kind = message["type"]
        conn = self.conn
        if kind == "http.response.start":
            if self.status:
                raise RuntimeError("http.response.start sent twice")
            self.status = message["status"]
            parts = [_status_line(self.status)]
            for k, v in message.get("headers", ()):
                if k.lower() == b"content-length":
                    self.has_length = True
                elif k.lower() == b"connection" and v.lower() == b"close":
                    self.keep_alive = False
                parts.append(k + b": " + v + b"\r\n")
            self.head = b"".join(parts)
            return
        if kind != "http.response.body":
            raise RuntimeError(f"unexpected ASGI message {kind!r}")
        if not self.status:
            raise RuntimeError("http.response.body before http.response.start")
        if self.done:
            raise RuntimeError("http.response.body after the last body")
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if conn.closed:
            self.done = not more
            return
        if self.head:  # the first body message carries the head
            head = self.head
            self.head = b""
            if not self.has_length:
                if more:
                    self.chunked = True
                    head += b"transfer-encoding: chunked\r\n"
                else:
                    head += b"content-length: %d\r\n" % len(body)
            if not self.keep_alive or conn.server.should_exit:
                self.keep_alive = False
                head += b"connection: close\r\n"
            conn.transport.write(head + b"\r\n" + (_chunk(body) if self.chunked else body))
        elif self.chunked:
            conn.transport.write(_chunk(body))
        else:
            conn.transport.write(body)
        if not more:
            if self.chunked:
                conn.transport.write(b"0\r\n\r\n")
            self.done = True
            if self.disconnect is not None and not self.disconnect.done():
                self.disconnect.set_result(None)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""


def _addr(info: Any) -> tuple | None:
    if isinstance(info, tuple) and len(info) >= 2:
        return (str(info[0]), int(info[1]))
    return None


def _text(exc: BaseException) -> str:
    return str(exc).replace('"', "'").replace("\\", "/")[:120]
