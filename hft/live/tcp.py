"""Binary TCP intake of the live service (`hft gateway serve --tcp-port`): length-prefixed frames of the typed
intent, the same semantics as ``POST /v3/orders`` (and ``POST /orders`` with the durable flag).

Frames (little-endian), both ways: ``u32 length`` (bytes after this field, at most `MAX_FRAME`), ``u8 type``,
then the body. Strings are ``u8 length`` + UTF-8.

Client → server:

- ``HELLO`` (0x01): the bearer token (UTF-8, the rest of the frame). It must be the first frame; the server
  answers ``READY`` or an ``ERROR`` 401 and closes.
- ``NEW`` (0x02): ``corr u64, flags u8 (bit 0: durable), side i8 (1 buy, -1 sell), order_type u8, tif u8,
  price i64 (ticks), qty i64 (lots)``, then the strings ``client_order_id, account, strategy, symbol,
  idempotency_key`` (an empty key: the client order id, as on ``/v3/orders``; a durable NEW needs one).
- ``CANCEL`` (0x03): ``corr u64, flags u8, order_id i64``, then ``client_order_id, idempotency_key``.

Server → client:

- ``READY`` (0x81): JSON ``{"subject", "accounts", "strategies"}`` of the token.
- ``DECISION`` (0x82): ``corr u64, status u16, accepted u8, duplicate u8, kind u8, reason i16, order_id i64,
  seq u64, ts i64`` (status as HTTP would answer: 201, 200 duplicate, 422 denied, 503 policy).
- ``ERROR`` (0xEE): ``corr u64, status u16``, then a JSON ``{"error", "reason", "field"?}`` (400 bad input,
  401 / 403 token, 404 unknown order, 429 SOFT_REJECT, 503 KILLED / WAL_REFUSED). Nothing was queued.

``corr`` is the client's, echoed. Frames are read in order; a connection's decisions are answered in the
order its intents were decided, but an ``ERROR`` (refused before the gateway) is written at once, so it may
overtake decisions still queued: match answers by ``corr``. A frame that cannot be parsed (unknown type,
short body, oversized length) is answered ``ERROR`` 400 with corr 0 and the connection is closed.

The intents go through the same pressure ladder, channel and writer (`LiveGateway`) as HTTP's; answers are
buffered and written once per turn of the event loop (one ``write`` for many decisions).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from hft.core.orders import ORDER_TYPE_NAMES, TIF_NAMES
from hft.gateway.intents import TypedIntentEnvelope
from hft.live import orders as O
from hft.live.auth import AuthError, Verifier
from hft.live.engine import LiveGateway, Pending
from hft.live.frames import (
    CANCEL,
    CANCEL_FIXED,
    DECISION,
    DECISION_BODY,
    ERROR,
    ERROR_FIXED,
    FLAG_DURABLE,
    HEAD,
    HELLO,
    MAX_FRAME,
    NEW,
    NEW_FIXED,
    READY,
    FrameError,
    frame,
    strings,
)

_SIDE = {1: "buy", -1: "sell"}

def error_frame(corr: int, status: int, body: dict[str, Any]) -> bytes:
    return frame(ERROR, ERROR_FIXED.pack(corr, status) + O.encode(body))


class _Answer:
    """What `LiveGateway` resolves for a TCP intent (the `Pending.fut` protocol: done / set_result)."""

    __slots__ = ("conn", "corr")

    def __init__(self, conn: IntakeProtocol, corr: int) -> None:
        self.conn = conn
        self.corr = corr

    def done(self) -> bool:
        return False

    def set_result(self, d: Any) -> None:
        conn = self.conn
        if d is None:
            conn.write(error_frame(self.corr, 503, {"error": "WAL_REFUSED",
                                                   "reason": "the WAL refused the decision's record"}))
            return
        conn.write(frame(DECISION, DECISION_BODY.pack(self.corr, O.decision_status(d), d.accepted, d.duplicate,
                                                      d.kind, d.reason, d.order_id, d.seq, d.ts)))


class IntakeProtocol(asyncio.Protocol):
    """One TCP connection: authenticate, parse frames, queue intents, write answers (see the module doc)."""

    def __init__(self, live: LiveGateway, verifier: Verifier, stats: dict[str, int], bad_input: Counter) -> None:
        self.live = live
        self.bad_input = bad_input
        self.gw = live.gw
        self.verifier = verifier
        self.stats = stats
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.grant: Any = None
        self.out: list[bytes] = []
        self.flush_scheduled = False
        self.closed = False

    # ------------------------------------------------------------------ transport
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.stats["connections"] += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        self.out.append(data)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self.flush_scheduled = False
        if self.out and not self.closed and self.transport is not None:
            data = b"".join(self.out)
            self.out.clear()
            self.transport.write(data)

    def fail(self, corr: int, status: int, body: dict[str, Any]) -> None:
        self.write(error_frame(corr, status, body))
        self.flush()
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # ------------------------------------------------------------------ frames
    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        pos = 0
        n = len(buf)
        try:
            while n - pos >= 5 and not self.closed:
                length, kind = HEAD.unpack_from(buf, pos)
                if length < 1 or length > MAX_FRAME:
                    raise FrameError(f"frame length: expected 1 to {MAX_FRAME}, was {length}")
                end = pos + 4 + length
                if end > n:
                    break
                self.frame(kind, bytes(buf[pos + 5:end]))
                pos = end
        except FrameError as exc:
            self.stats["bad_frames"] += 1
            self.fail(0, 400, {"error": "BAD_FRAME", "reason": str(exc)})
            return
        del buf[:pos]

    def frame(self, kind: int, body: bytes) -> None:
        t0 = time.perf_counter_ns()
        if self.grant is None:
            if kind != HELLO:
                raise FrameError("expected HELLO (the token) as the first frame")
            try:
                self.grant = self.verifier.verify("Bearer " + bytes(body).decode(errors="replace"))
            except AuthError as e:
                self.stats["auth_failures"] += 1
                self.fail(0, e.status, {"error": "UNAUTHORIZED", "reason": e.reason})
                return
            g = self.grant
            self.write(frame(READY, O.encode({"subject": g.subject, "accounts": sorted(g.accounts),
                                              "strategies": sorted(g.strategies)})))
            return
        if kind == NEW:
            if len(body) < NEW_FIXED.size:
                raise FrameError("short NEW frame")
            corr, flags, side, otype, tif, price, qty = NEW_FIXED.unpack_from(body)
            coid, account, strategy, symbol, idem = strings(body, NEW_FIXED.size, 5)
            self.new(corr, flags & FLAG_DURABLE != 0, side, otype, tif, price, qty, coid, account, strategy,
                     symbol, idem, t0)
        elif kind == CANCEL:
            if len(body) < CANCEL_FIXED.size:
                raise FrameError("short CANCEL frame")
            corr, flags, oid = CANCEL_FIXED.unpack_from(body)
            coid, idem = strings(body, CANCEL_FIXED.size, 2)
            self.cancel(corr, oid, coid, idem, t0)
        else:
            raise FrameError(f"frame type: expected NEW (2) or CANCEL (3), was {kind}")

    def refuse(self, corr: int, status: int, body: dict[str, Any]) -> None:
        self.stats["refused"] += 1
        self.write(error_frame(corr, status, body))

    def new(self, corr: int, durable: bool, side: int, otype: int, tif: int, price: int, qty: int, coid: str,
            account: str, strategy: str, symbol: str, idem: str, t0: int) -> None:
        try:
            if side not in _SIDE:
                raise O.BadInput("side", f"expected 1 (buy) or -1 (sell), was {side}")
            if otype not in ORDER_TYPE_NAMES:
                raise O.BadInput("order_type", f"expected one of {sorted(ORDER_TYPE_NAMES)}, was {otype}")
            if tif not in TIF_NAMES:
                raise O.BadInput("tif", f"expected one of {sorted(TIF_NAMES)}, was {tif}")
            o = O.check_new(O.NewOrder(coid, account, strategy, symbol, _SIDE[side], qty, price,
                                       ORDER_TYPE_NAMES[otype], TIF_NAMES[tif]))  # type: ignore[arg-type]
            if not self.grant.allows(account, strategy):
                self.refuse(corr, 403, {"error": "FORBIDDEN", "reason": f"token {self.grant.subject!r} may not "
                                                                        f"trade as {account}/{strategy}"})
                return
            O.check_names(self.gw, account, strategy, symbol)
            key_s = idem or None
            O.check_idempotency_key(key_s, durable)
        except O.BadInput as e:
            self.bad_input[e.field] += 1
            self.refuse(corr, e.status, e.body())
            return
        key = O.intent_key(account, key_s if key_s is not None else coid)
        self.submit(O.new_intent(o, key, time.time_ns()), corr, durable, coid, t0)

    def cancel(self, corr: int, oid: int, coid: str, idem: str, t0: int) -> None:
        v = self.live.orders.get(oid)
        if v is None or not self.grant.allows(v.account, v.strategy):
            self.refuse(corr, 404, {"error": "NOT_FOUND", "field": "order_id", "reason": f"no order {oid}"})
            return
        key = O.intent_key(v.account, idem or f"cancel:{oid}:{coid}")
        self.submit(O.cancel_intent(v.account, v.strategy, v.symbol, oid, key, time.time_ns()), corr, True, coid,
                    t0)

    def submit(self, payload: tuple, corr: int, durable: bool, coid: str, t0: int) -> None:
        live = self.live
        refused = live.admit(durable)
        if refused is not None:
            self.refuse(corr, refused[0], {"error": refused[1], "reason": refused[2]})
            return
        if not live.offer(Pending(TypedIntentEnvelope(payload, payload[11]), _Answer(self, corr), durable, coid,
                                  t0, live.row_of(payload))):
            self.refuse(corr, 503, {"error": "KILLED", "reason": "intake channel full"})
            return
        self.stats["intents"] += 1


async def start_tcp(live: LiveGateway, verifier: Verifier, bad_input: Counter, host: str,
                    port: int) -> tuple[asyncio.Server, dict[str, int]]:
    """Listen for TCP intake connections; returns the server and its counters (shown by /health). Bad input
    is counted in `bad_input` (the HTTP app's counter: ``gateway_bad_input_total{field}``)."""
    stats = {"connections": 0, "intents": 0, "refused": 0, "bad_frames": 0, "auth_failures": 0}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: IntakeProtocol(live, verifier, stats, bad_input), host, port,
                                      backlog=512)
    return server, stats
