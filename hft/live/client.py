"""A Python client of the live service's binary TCP intake (frame layout: `hft.live.tcp`, docs/live.md).

    with TcpOrderClient("127.0.0.1", port, token) as c:
        d = c.order("c-1", "ACC1", "mm1", "AAPL", "buy", qty=5, price=10000)   # one round trip
        corr = [c.send_new(f"c-{i}", "ACC1", "mm1", "AAPL", "sell", 1, 10010) for i in range(100)]  # pipelined
        answers = c.recv_many(100)

TLS: ``TcpOrderClient(host, port, token, ca="ca.pem")`` (and ``cert=``, ``key=`` for mutual TLS).

Answers are dicts: a decision ``{"type": "decision", "corr", "status", "accepted", "duplicate", "kind",
"reason", "reason_name", "order_id", "seq", "ts"}`` or an error ``{"type": "error", "corr", "status",
"error", "reason", "field"?}``. The execution reports of the orders this connection sent (REPORT frames) are kept
apart as they are read, in order, and taken with `recv_report`: ``{"type": "report", "seq", "ts", "order_id",
"price", "qty", "leaves", "filled", "account", "strategy", "kind", "kind_name", "status", "status_name"}``
(account and strategy: the gateway's registry indices). Blocking sockets, no threads; one client per thread.
"""

from __future__ import annotations

import json
import socket
import struct
from collections import deque
from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np

from hft.core.orders import LIQUIDITY_NAMES, ORDER_TYPE_NAMES, ORDER_UPDATE, REASON_NAMES, TIF_NAMES
from hft.live import frames as T
from hft.live.tls import client_context

_SIDES = {"buy": 1, "sell": -1}
_NEW_HEAD = struct.Struct("<IB" + T.NEW_FIXED.format[1:])  # frame head + NEW's fixed part in one pack
DECISION_ANSWER = T.DECISION_ANSWER
_DEC_FRAME = T.DECISION_FRAME.itemsize  # bytes of a whole DECISION frame
_DEC_HEAD = np.frombuffer(struct.pack("<IB", _DEC_FRAME - 4, T.DECISION), np.uint8)
_OTYPES = {v: k for k, v in ORDER_TYPE_NAMES.items()}
_TIFS = {v: k for k, v in TIF_NAMES.items()}


class TcpIntakeError(Exception):
    """The server refused the connection (bad token) or closed it."""


def _new_frame(corr: int, flags: int, side: int, otype: int, tif: int, price: int, qty: int, client_order_id: str,
               names: bytes, idempotency_key: str, trigger: int = 0, expire: int = 0, display: int = 0,
               trail: int = 0, oco: int = 0, parent: int = 0) -> bytes:
    """One NEW frame: its head and fixed part in one pack, then the client order id, the account / strategy /
    symbol strings already packed (`names`, the same for a run of frames), the idempotency key and, when any is
    not 0, the tail of a stop's `trigger`, a GTD order's `expire`, an iceberg's `display`, a trailing stop's
    `trail` and the `oco` / `parent` links (`frames.new_tail`, at the frame's end; none when all are 0)."""
    c = client_order_id.encode()
    k = idempotency_key.encode()
    if len(c) > 255 or len(k) > 255:
        v = client_order_id if len(c) > 255 else idempotency_key
        raise ValueError(f"string too long for a frame ({max(len(c), len(k))} bytes > 255): {v[:20]!r}...")
    tail = (T.new_tail(trigger=trigger, expire=expire, display=display, trail=trail, oco=oco, parent=parent)
            if trigger or expire or display or trail or oco or parent else b"")  # (a plain frame: no call)
    return (_NEW_HEAD.pack(1 + T.NEW_FIXED.size + 2 + len(c) + len(names) + len(k) + len(tail), T.NEW, corr, flags,
                           side, otype, tif, price, qty)
            + bytes((len(c),)) + c + names + bytes((len(k),)) + k + tail)


class TcpOrderClient:
    """One authenticated connection. `send_*` queue frames (sent by `flush` / any `recv`); `recv*` read answers."""

    def __init__(self, host: str, port: int, token: str, timeout: float = 30.0, *, tls: bool = False,
                 ca: str | None = None, cert: str | None = None, key: str | None = None,
                 cancel_on_disconnect: bool = False, reports: bool = True) -> None:
        """Connect and authenticate. TLS (a service with ``server.tls_cert``) when `tls` or `ca` is given: the
        server's certificate is verified against `ca` (a PEM file; None: the system's trust store) for the name
        `host`; `cert` / `key`: this client's certificate, for a service that asks for one (mutual TLS).
        HELLO's options: `cancel_on_disconnect` (the server cancels the token's working orders when this connection
        drops) and `reports` (the REPORT frames of the orders this connection sends, taken with `recv_report`)."""
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls or ca is not None or cert is not None:
            try:
                sock = client_context(ca, cert, key).wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock
        self.buf = bytearray()
        self.pending: list[bytes] = []
        self.reports: deque[dict[str, Any]] = deque()  # REPORT frames read, not taken yet (`recv_report`)
        self.answers: deque[dict[str, Any]] = deque()  # answers read while waiting for a report
        self.corr = 0
        opts = msgspec.json.encode({"cancel_on_disconnect": cancel_on_disconnect, "reports": reports})
        self.sock.sendall(T.frame(T.HELLO, token.encode() + b"\n" + opts))
        ans = self.recv()
        if ans["type"] != "ready":
            self.close()
            raise TcpIntakeError(f"TCP intake refused the token: {ans.get('status')} {ans.get('reason')}")
        self.grant = ans

    def __enter__(self) -> TcpOrderClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    # ------------------------------------------------------------------ sending
    def send_new(self, client_order_id: str, account: str, strategy: str, symbol: str, side: str, qty: int,
                 price: int, order_type: str = "limit", tif: str = "gtc", *, durable: bool = False,
                 idempotency_key: str = "", corr: int | None = None, trigger: int = 0, expire: int = 0,
                 display: int = 0, trail: int = 0, oco: int = 0, parent: int = 0) -> int:
        """Queue a NEW frame; returns its corr id. A ``stop`` (price 0) or ``stop_limit`` order takes `trigger`,
        its trigger price in ticks, and a trailing one `trail`, ticks; a ``gtd`` order `expire`, its expiry time
        (int ns UTC); an iceberg (a limit or post-only order) `display`, the lots it shows at a time; `oco` the
        order id of the working order it is paired with, `parent` that of its bracket entry."""
        c = self.corr + 1 if corr is None else corr
        self.pending.append(_new_frame(c, T.FLAG_DURABLE if durable else 0, _SIDES[side], _OTYPES[order_type],
                                       _TIFS[tif], price, qty, client_order_id,
                                       T.pack_strings(account, strategy, symbol), idempotency_key, trigger, expire,
                                       display, trail, oco, parent))
        return self._corr(corr)  # counted once queued: a refused string takes no corr id

    def send_new_many(self, client_order_ids: Sequence[str], account: str, strategy: str, symbol: str,
                      sides: Sequence[int], qtys: Sequence[int], prices: Sequence[int], order_type: str = "limit",
                      tif: str = "gtc", *, durable: bool = False,
                      idempotency_keys: Sequence[str] | None = None) -> range:
        """Queue one NEW frame per client order id (sides 1 buy / -1 sell); returns their corr ids (consecutive).
        One pack per frame and the constant strings encoded once: the load generator's path."""
        first = self.corr + 1
        flags = T.FLAG_DURABLE if durable else 0
        otype, tif_ = _OTYPES[order_type], _TIFS[tif]
        names = T.pack_strings(account, strategy, symbol)
        keys = idempotency_keys if idempotency_keys is not None else [""] * len(client_order_ids)
        frames = [_new_frame(first + i, flags, side, otype, tif_, price, qty, coid, names, key)
                  for i, (coid, side, qty, price, key)
                  in enumerate(zip(client_order_ids, sides, qtys, prices, keys, strict=True))]
        self.pending.extend(frames)  # all or nothing: a refused string queues none of the run
        self.corr += len(frames)
        return range(first, self.corr + 1)

    def send_cancel(self, order_id: int, client_order_id: str = "", idempotency_key: str = "",
                    corr: int | None = None) -> int:
        """Queue a CANCEL frame (always durable); returns its corr id."""
        c = self._corr(corr)
        self.pending.append(T.frame(T.CANCEL, T.CANCEL_FIXED.pack(c, 0, order_id)
                                    + T.pack_strings(client_order_id, idempotency_key)))
        return c

    def send_replace(self, order_id: int, price: int, qty: int, client_order_id: str, idempotency_key: str = "",
                     corr: int | None = None) -> int:
        """Queue a REPLACE frame (always durable): the order's new price (ticks) and open size (lots); returns
        its corr id."""
        frame = T.frame(T.REPLACE, T.REPLACE_FIXED.pack(self.corr + 1 if corr is None else corr, 0, order_id, price,
                                                          qty) + T.pack_strings(client_order_id, idempotency_key))
        c = self._corr(corr)  # counted once packed: a refused string takes no corr id
        self.pending.append(frame)
        return c

    def replace(self, order_id: int, price: int, qty: int, client_order_id: str, idempotency_key: str = "") -> dict[
            str, Any]:
        """`send_replace` and wait for its answer (a DECISION, or an ERROR refused before the gateway)."""
        c = self.send_replace(order_id, price, qty, client_order_id, idempotency_key)
        ans = self.recv()
        if ans["corr"] != c:
            raise TcpIntakeError(f"answer for corr {ans['corr']}, expected {c} (pipelined frames pending?)")
        return ans

    def send_raw(self, data: bytes) -> None:
        """Queue raw bytes (tests of malformed frames)."""
        self.pending.append(data)

    def flush(self) -> None:
        if self.pending:
            self.sock.sendall(b"".join(self.pending))
            self.pending.clear()

    def _corr(self, corr: int | None) -> int:
        if corr is None:
            self.corr += 1
            return self.corr
        return corr

    # ------------------------------------------------------------------ receiving
    def recv(self) -> dict[str, Any]:
        """The next answer (flushes queued frames first); REPORT frames read meanwhile are kept for
        `recv_report`."""
        self.flush()
        if self.answers:
            return self.answers.popleft()
        while True:
            ans = self._next_frame()
            if ans["type"] != "report":
                return ans
            self.reports.append(ans)

    def recv_report(self, timeout: float | None = None) -> dict[str, Any]:
        """The next execution report of an order this connection sent (flushes queued frames first); answers read
        meanwhile are kept for `recv`. TimeoutError when none comes within `timeout` seconds (None: the
        socket's timeout)."""
        self.flush()
        before = self.sock.gettimeout()
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            while not self.reports:
                ans = self._next_frame()
                (self.reports if ans["type"] == "report" else self.answers).append(ans)
        except TimeoutError:
            raise TimeoutError("no execution report came") from None
        finally:
            self.sock.settimeout(before)
        return self.reports.popleft()

    def _next_frame(self) -> dict[str, Any]:
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack_from("<I", self.buf)
                if len(self.buf) >= 4 + n:
                    kind = self.buf[4]
                    body = bytes(self.buf[5:4 + n])
                    del self.buf[:4 + n]
                    return _decode(kind, body)
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise TcpIntakeError("the server closed the connection")
            self.buf += chunk

    def recv_decisions(self) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """Everything complete after at most one read (flushes queued frames first): the DECISION answers as
        one `DECISION_ANSWER` array (read column-wise, no object per answer) and any other answers as dicts, in
        order among themselves. Blocks until at least one answer is complete."""
        self.flush()
        while True:
            decs, other = self._take_complete()
            if self.answers:
                other = [*self.answers, *other]
                self.answers.clear()
            if len(decs) or other:
                return decs, other
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise TcpIntakeError("the server closed the connection")
            self.buf += chunk

    def _take_complete(self) -> tuple[np.ndarray, list[dict[str, Any]]]:
        buf = bytes(self.buf)  # numpy views of it must not pin the bytearray
        parts: list[np.ndarray] = []
        other: list[dict[str, Any]] = []
        pos, n = 0, len(buf)
        while n - pos >= 4:
            m = (n - pos) // _DEC_FRAME
            if m:  # a run of fixed-size DECISION frames is read in one go
                rows = np.frombuffer(buf, np.uint8, m * _DEC_FRAME, pos).reshape(m, _DEC_FRAME)
                ok = (rows[:, :5] == _DEC_HEAD).all(axis=1)
                k = m if ok.all() else int(np.argmin(ok))
                if k:
                    parts.append(np.frombuffer(buf, T.DECISION_FRAME, k, pos)["a"].copy())
                    pos += k * _DEC_FRAME
                    continue
            (length,) = struct.unpack_from("<I", buf, pos)
            if n - pos < 4 + length:
                break
            ans = _decode(buf[pos + 4], bytes(buf[pos + 5:pos + 4 + length]))
            (self.reports if ans["type"] == "report" else other).append(ans)
            pos += 4 + length
        del self.buf[:pos]
        decs = np.concatenate(parts) if parts else np.empty(0, DECISION_ANSWER)
        return decs, other

    def recv_many(self, n: int) -> list[dict[str, Any]]:
        return [self.recv() for _ in range(n)]

    def order(self, *args: Any, **kw: Any) -> dict[str, Any]:
        """`send_new` and wait for its answer."""
        c = self.send_new(*args, **kw)
        ans = self.recv()
        if ans["corr"] != c:
            raise TcpIntakeError(f"answer for corr {ans['corr']}, expected {c} (pipelined frames pending?)")
        return ans


def _decode(kind: int, body: bytes) -> dict[str, Any]:
    if kind == T.DECISION:
        corr, status, acc, dup, k, reason, oid, seq, ts = T.DECISION_BODY.unpack(body)
        return {"type": "decision", "corr": corr, "status": status, "accepted": bool(acc), "duplicate": bool(dup),
                "kind": k, "reason": reason, "reason_name": REASON_NAMES.get(reason, str(reason)),
                "order_id": oid, "seq": seq, "ts": ts}
    if kind == T.ERROR:
        corr, status = T.ERROR_FIXED.unpack_from(body)
        return {"type": "error", "corr": corr, "status": status, **json.loads(body[T.ERROR_FIXED.size:])}
    if kind == T.READY:
        return {"type": "ready", **json.loads(body)}
    if kind == T.REPORT:
        u = np.frombuffer(body, T.REPORT_ANSWER, 1)
        out: dict[str, Any] = {"type": "report", **{f: int(u[f][0]) for f in T.REPORT_ANSWER.names}}
        out.update({k: v[0] for k, v in ORDER_UPDATE.readable({"kind": u["kind"], "status": u["status"]}).items()})
        out["liquidity_name"] = LIQUIDITY_NAMES.get(out["liquidity"], "")
        return out
    raise TcpIntakeError(f"unknown answer frame type {kind}")
