"""Binary TCP intake of the live service (`hft gateway serve --tcp-port`): length-prefixed frames of the typed
intent, the same semantics as ``POST /v3/orders`` (and ``POST /orders`` with the durable flag).

Frames (little-endian), both ways: ``u32 length`` (bytes after this field, at most `MAX_FRAME`), ``u8 type``,
then the body. Strings are ``u8 length`` + UTF-8.

Client → server:

- ``HELLO`` (0x01): the bearer token (UTF-8, the rest of the frame), optionally followed by ``\n`` and a JSON
  object of options, each a boolean, false when absent: ``cancel_on_disconnect`` (when this connection drops, the
  token's working orders are cancelled, as an order stream's `hft.live.stream`) and ``reports`` (REPORT frames of
  the orders this connection sends; without it the connection gets answers only). It must be the first frame; the server
  answers ``READY`` or an ``ERROR`` 401 and closes. A connection whose HELLO is not in and verified
  ``server.auth_timeout`` after the connect gets an ``ERROR`` 408 ``AUTH_TIMEOUT`` and is closed; one accepted past
  ``server.max_connections`` (`hft.live.connections`, shared with HTTP) an ``ERROR`` 503 ``TOO_MANY_CONNECTIONS``.
  An authenticated connection may stay silent as long as it likes, but not outlive its token: when the token is
  revoked (``POST /admin/tokens/revoke``) or its ``exp`` + ``server.jwt_leeway`` passes, the connection gets an
  ``ERROR`` 401 ``TOKEN_REVOKED`` / ``TOKEN_EXPIRED`` (corr 0) at once and is closed (cancel-on-disconnect
  applies as on any disconnect).
- ``NEW`` (0x02): ``corr u64, flags u8 (bit 0: durable), side i8 (1 buy, -1 sell), order_type u8, tif u8,
  price i64 (ticks), qty i64 (lots)``, then the strings ``client_order_id, account, strategy, symbol,
  idempotency_key`` (an empty key: the client order id, as on ``/v3/orders``; a durable NEW needs one), then an
  optional tail (`hft.live.frames.new_strings`): none; ``trigger i64`` alone (8 bytes: a stop's, as first
  defined); or the counted tail ``count u8`` then ``count`` i64 fields in the order ``trigger`` (ticks),
  ``expire`` (ns UTC, a GTD order's), ``display`` (lots, an iceberg's), ``trail`` (ticks, a trailing stop's),
  ``oco`` and ``parent`` (order ids: the order it is paired with, a bracket child's entry) — the
  fields not sent are 0, and a further optional field is one more in that list. The frame grows at its end, so a NEW without a tail is the frame as it
  always was (the column-wise scan takes those; one with a tail goes through the per-frame path).
- ``CANCEL`` (0x03): ``corr u64, flags u8, order_id i64``, then ``client_order_id, idempotency_key``.
- ``REPLACE`` (0x04): ``corr u64, flags u8, order_id i64, price i64 (ticks), qty i64 (lots: the new open size)``,
  then ``client_order_id, idempotency_key`` (an empty key: one derived from the order id and the client order
  id, as on ``POST /orders/{id}/replace``). Always durable, like CANCEL; answered with a DECISION like it.

Server → client:

- ``READY`` (0x81): JSON ``{"subject", "accounts", "strategies"}`` of the token.
- ``DECISION`` (0x82): ``corr u64, status u16, accepted u8, duplicate u8, kind u8, reason i16, order_id i64,
  seq u64, ts i64`` (status as HTTP would answer: 201, 200 duplicate, 422 denied, 503 policy).
- ``REPORT`` (0x83), with HELLO's ``reports``: an execution report applied to an order this connection sent (its NEW was accepted here;
  the last connection to be answered for it owns it: a client that reconnects and sends the NEW again gets a
  duplicate answer and the order's reports from then on): the order-update record
  `hft.core.orders.ORDER_UPDATE` packed (`hft.live.frames.REPORT_ANSWER`): ``seq i64, ts i64, order_id i64,
  price i64, qty i64, leaves i64, filled i64, account i32, strategy i32, kind i8, status i8, fee i64, fee_frac
  i64, liquidity i8, queue i64`` (``fee`` / ``fee_frac``: a fill's exact fee, 0 otherwise; ``liquidity``: a fill's
  maker (1) or taker (2) as the venue said, 0 not said; ``queue``: an ACK's queue ahead at entry as the venue said,
  -1 not said; fields are only appended: a reader of an earlier layout reads its prefix; ``kind``: the
  report's, ``REPORT_*``: ack, partial fill, fill, canceled, rejected, expired, replaced, replace or cancel
  rejected; ``status``: the order's after it, as ``GET /orders/{id}`` shows; ``seq``: its number in the stream of
  ``GET /orders/stream``). Written once the WAL holds the report, after the order's DECISION.
- ``ERROR`` (0xEE): ``corr u64, status u16``, then a JSON ``{"error", "reason", "field"?}`` (400 bad input,
  401 / 403 token, 404 unknown order, 429 SOFT_REJECT, 503 KILLED / WAL_REFUSED). Nothing was queued.

``corr`` is the client's, echoed. Frames are read in order; a connection's decisions are answered in the
order its intents were decided, but an ``ERROR`` (refused before the gateway) is written at once, so it may
overtake decisions still queued: match answers by ``corr``. A frame that cannot be parsed (unknown type,
short body, a length of 0 or over `MAX_FRAME`, judged once its 4 bytes are in) is answered ``ERROR`` 400 with corr 0
and the connection is closed.

The intents go through the same pressure ladder, channel and writer (`LiveGateway`) as HTTP's; answers are
buffered and written once per turn of the event loop (one ``write`` for many decisions).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import msgspec
import numpy as np

from hft.core.orders import (
    INTENT_DTYPE,
    INTENT_NEW,
    ORDER_MARKET,
    ORDER_TYPE_NAMES,
    TIF_NAMES,
    VIEW_STATUS_NAMES,
)
from hft.gateway.intents import TypedIntentEnvelope
from hft.live import orders as O
from hft.live import tcp_scan as S
from hft.live.auth import AuthError, Verifier
from hft.live.connections import ConnectionCap
from hft.live.engine import LiveGateway, Pending, PendingBatch
from hft.live.frames import (
    CANCEL,
    CANCEL_FIXED,
    DECISION,
    DECISION_BODY,
    DECISION_FRAME,
    ERROR,
    ERROR_FIXED,
    FLAG_DURABLE,
    HELLO,
    MAX_FRAME,
    NEW,
    NEW_FIXED,
    READY,
    REPLACE,
    REPLACE_FIXED,
    REPORT,
    REPORT_FRAME,
    FrameError,
    frame,
    new_strings,
    strings,
)
from hft.live.ids import PackedIds
from hft.live.tcp_scan import scan_new_frames

_SIDE = {1: "buy", -1: "sell"}
_OTYPE_OK = np.zeros(256, np.bool_)  # by the frame's u8: a known order type / time in force
_OTYPE_OK[sorted(ORDER_TYPE_NAMES)] = True
_TIF_OK = np.zeros(256, np.bool_)
_TIF_OK[sorted(TIF_NAMES)] = True
_U64 = (1 << 64) - 1
_SCAN_ROWS = 4096  # NEW frames taken column-wise per scan (a longer run: scanned again)
_TERMINAL = np.array([VIEW_STATUS_NAMES.index(s) for s in ("filled", "canceled", "rejected", "expired")])

HELLO_OPTIONS = ("cancel_on_disconnect", "reports")  # HELLO's options, each a boolean, false when absent


def _hello_options(raw: bytes) -> dict[str, bool]:
    """HELLO's options after the token (none: ``b""``), each of `HELLO_OPTIONS` (FrameError when they are not a JSON
    object of known boolean options)."""
    opts: Any = {}
    if raw:
        try:
            opts = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            raise FrameError("HELLO options: expected a JSON object after the token") from None
    if not isinstance(opts, dict) or set(opts) - set(HELLO_OPTIONS) or not all(
            isinstance(v, bool) for v in opts.values()):
        raise FrameError('HELLO options: expected {"cancel_on_disconnect": true|false, "reports": true|false}')
    return {k: opts.get(k, False) for k in HELLO_OPTIONS}


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
        if d.accepted and d.kind == INTENT_NEW:
            conn.own([int(d.order_id)])


class _BatchAnswer:
    """What `LiveGateway` calls with the decisions of a `PendingBatch`: one write of their DECISION frames."""

    __slots__ = ("conn", "corrs")

    def __init__(self, conn: IntakeProtocol, corrs: np.ndarray) -> None:
        self.conn = conn
        self.corrs = corrs.copy()

    def __call__(self, out: np.ndarray | None) -> None:
        conn = self.conn
        if out is None:
            for corr in self.corrs.tolist():
                _Answer(conn, corr).set_result(None)
            return
        fr = np.empty(len(out), DECISION_FRAME)
        fr["len"] = DECISION_FRAME.itemsize - 4
        fr["type"] = DECISION
        a = fr["a"]
        a["corr"] = self.corrs
        a["status"] = O.decision_statuses(out)
        for f in ("accepted", "duplicate", "kind", "reason", "order_id", "seq", "ts"):
            a[f] = out[f]
        conn.write(fr.tobytes())
        conn.own(out["order_id"][(out["accepted"] != 0) & (out["kind"] == INTENT_NEW)].tolist())


def _decode(raw: bytes, r: list[int]) -> list[str]:
    """The five strings of a scanned NEW row (FrameError when one is not UTF-8, as `strings` says)."""
    try:
        return [raw[r[f]:r[f] + r[f + 1]].decode() for f in (S.COID, S.ACCOUNT, S.STRATEGY, S.SYMBOL, S.IDEM)]
    except UnicodeDecodeError:
        raise FrameError("a string is not UTF-8") from None


class IntakeProtocol(asyncio.Protocol):
    """One TCP connection: authenticate, parse frames, queue intents, write answers (see the module doc)."""

    def __init__(self, live: LiveGateway, verifier: Verifier, stats: dict[str, int], bad_input: Counter,
                 cap: ConnectionCap | None = None, auth_timeout_s: float = 10.0,
                 owners: dict[int, IntakeProtocol] | None = None) -> None:
        self.live = live
        self.owners = {} if owners is None else owners  # order id -> the connection its REPORT frames go to
        self.owned: set[int] = set()
        self.cancel_on_disconnect = False  # HELLO's options
        self.reports = False  # REPORT frames of the orders this connection sent, when asked for
        self.cap = cap
        self.auth_timeout_s = auth_timeout_s
        self.admitted = False
        self.auth_timer: asyncio.TimerHandle | None = None
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
        self.forget: Any = None  # ends this connection's hold in `verifier.connections` (after HELLO)
        self.table = np.empty((_SCAN_ROWS, S.N_COLS), np.int64)  # `scan_new_frames` output, reused

    # ------------------------------------------------------------------ transport
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        loop = asyncio.get_running_loop()
        cap = self.cap
        if cap is not None and not cap.admit("tcp"):
            self.closed = True
            cap.refuse(loop, transport, error_frame(0, 503, {"error": "TOO_MANY_CONNECTIONS",
                                                             "reason": cap.refusal_reason()}))
            return
        self.admitted = cap is not None
        self.stats["connections"] += 1
        self.auth_timer = loop.call_later(self.auth_timeout_s, self.auth_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.forget is not None:
            self.forget()
            self.forget = None
        if self.cancel_on_disconnect and self.grant is not None:
            self.live.cancel_on_disconnect(self.grant.subject, self.grant.allows, "TCP connection")
        owners = self.owners
        for oid in self.owned:
            if owners.get(oid) is self:
                del owners[oid]
        self.owned.clear()
        if self.auth_timer is not None:
            self.auth_timer.cancel()
            self.auth_timer = None
        if self.admitted:
            self.admitted = False
            self.cap.release("tcp")

    def auth_expired(self) -> None:
        """No verified HELLO `auth_timeout_s` after the connect (none, half of one, or a trickle): closed."""
        self.auth_timer = None
        if self.grant is None and not self.closed:
            self.stats["auth_timeouts"] += 1
            if self.cap is not None:
                self.cap.timed_out["tcp", "auth"] += 1
            self.fail(0, 408, {"error": "AUTH_TIMEOUT",
                               "reason": f"expected HELLO (the token) within {self.auth_timeout_s:g} s of connecting"})

    def token_ended(self, error: str, reason: str) -> None:
        """`hft.live.auth.OpenConnections`' callback: the token was revoked or expired; ERROR 401, closed."""
        if not self.closed:
            self.stats["auth_failures"] += 1
            self.fail(0, 401, {"error": error, "reason": reason})

    def own(self, order_ids: list[int]) -> None:
        """This connection was answered for the new orders `order_ids`: their REPORT frames come here."""
        if order_ids and self.reports and not self.closed:
            self.owned.update(order_ids)
            self.owners.update(dict.fromkeys(order_ids, self))

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
        if self.closed:  # refused at the cap, failed or ended: what still comes is dropped
            return
        buf = self.buf
        buf += data
        pos = 0
        n = len(buf)
        try:
            while n - pos >= 4 and not self.closed:  # a length is judged as soon as its 4 bytes are in
                if n - pos >= 5 and self.grant is not None and buf[pos + 4] == NEW:
                    pos = self.new_frames(pos)  # the run of NEW frames from here, column-wise
                    if n - pos < 4 or self.closed:
                        break
                length = int.from_bytes(buf[pos:pos + 4], "little")
                if length < 1 or length > MAX_FRAME:
                    raise FrameError(f"frame length: expected 1 to {MAX_FRAME}, was {length}")
                end = pos + 4 + length  # >= pos + 5: the type byte is in when the frame is
                if end > n:
                    break
                self.frame(buf[pos + 4], bytes(buf[pos + 5:end]))
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
            tok, _, opts = bytes(body).partition(b"\n")
            hello = _hello_options(opts)
            self.cancel_on_disconnect, self.reports = hello["cancel_on_disconnect"], hello["reports"]
            try:
                self.grant = self.verifier.verify("Bearer " + tok.decode(errors="replace"))
            except AuthError as e:
                self.stats["auth_failures"] += 1
                self.fail(0, e.status, {"error": "UNAUTHORIZED", "reason": e.reason})
                return
            if self.auth_timer is not None:
                self.auth_timer.cancel()
                self.auth_timer = None
            g = self.grant
            self.forget = self.verifier.connections.open(g, self.token_ended)
            self.write(frame(READY, O.encode({"subject": g.subject, "accounts": sorted(g.accounts),
                                              "strategies": sorted(g.strategies)})))
            return
        if kind == NEW:
            if len(body) < NEW_FIXED.size:
                raise FrameError("short NEW frame")
            corr, flags, side, otype, tif, price, qty = NEW_FIXED.unpack_from(body)
            (coid, account, strategy, symbol, idem), opt = new_strings(body, NEW_FIXED.size)
            self.new(corr, flags & FLAG_DURABLE != 0, side, otype, tif, price, qty, coid, account, strategy,
                     symbol, idem, t0, *opt)
        elif kind == CANCEL:
            if len(body) < CANCEL_FIXED.size:
                raise FrameError("short CANCEL frame")
            corr, flags, oid = CANCEL_FIXED.unpack_from(body)
            coid, idem = strings(body, CANCEL_FIXED.size, 2)
            self.cancel(corr, oid, coid, idem, t0)
        elif kind == REPLACE:
            if len(body) < REPLACE_FIXED.size:
                raise FrameError("short REPLACE frame")
            corr, flags, oid, price, qty = REPLACE_FIXED.unpack_from(body)
            coid, idem = strings(body, REPLACE_FIXED.size, 2)
            self.replace(corr, oid, price, qty, coid, idem, t0)
        else:
            raise FrameError(f"frame type: expected NEW (2), CANCEL (3) or REPLACE (4), was {kind}")

    def new_frames(self, pos: int) -> int:
        """Take the run of complete, well-formed NEW frames at `pos` column-wise (`hft.live.tcp_scan`): rows
        that pass the intake's checks are admitted and queued together as `PendingBatch` es; any other row (a
        check fails, a name is unknown, the ladder's next rung is near) goes through `new` in its place, so
        its answer is exactly the per-frame one. Returns the offset past the run."""
        raw = bytes(memoryview(self.buf)[pos:])  # offsets below are into this copy
        k, end = scan_new_frames(np.frombuffer(raw, np.uint8), 0, self.table)
        if k == 0:
            return pos
        end += pos
        t0 = time.perf_counter_ns()
        c = self.table[:k]
        names = self._names(raw, c)
        keyed = self._keys(raw, c) if names is not None else None
        if keyed is None:  # a string is not UTF-8: the per-frame path raises the FrameError at its frame
            self._one_by_one(raw, c, t0, 0, k)
            return end
        ok, acct, strat, sym = names
        coids, keys, packed = keyed
        durable = S.check_rows(c, ok, _OTYPE_OK, _TIF_OK, ORDER_MARKET, FLAG_DURABLE)
        i = 0
        while i < k:  # runs of clean rows as batches, the others one by one, in frame order
            if not ok[i]:
                j = i + 1
                while j < k and not ok[j]:
                    j += 1
                self._one_by_one(raw, c, t0, i, j)
                i = j
                continue
            j = i + 1
            while j < k and ok[j]:
                j += 1
            m = self.live.admit_run(j - i)
            if m:
                self._batch(c[i:i + m], coids[i:i + m], packed.rows(i, i + m) if packed is not None else None,
                            keys[i:i + m], acct[i:i + m], strat[i:i + m], sym[i:i + m], durable[i:i + m], t0)
            if i + m < j:  # the ladder's rungs are near: the rest meet it one by one
                self._one_by_one(raw, c, t0, i + m, j)
            i = j
        return end

    def _names(self, raw: bytes, c: np.ndarray) -> tuple[np.ndarray, ...] | None:
        """Registry indices of each row's account, strategy and symbol (looked up once per run of equal names)
        and whether the token may trade as them; None when a name is not UTF-8."""
        acct, strat, sym = self.gw.indices("account"), self.gw.indices("strategy"), self.gw.indices("symbol")
        starts = np.flatnonzero(c[:, S.NEW_RUN]).tolist()
        run_ok, run_a, run_t, run_y = [], [], [], []
        try:
            for r in starts:
                a, t, y = (raw[c[r, f]:c[r, f] + c[r, f + 1]].decode() for f in (S.ACCOUNT, S.STRATEGY, S.SYMBOL))
                ai, ti, yi = acct.get(a, -1), strat.get(t, -1), sym.get(y, -1)
                run_ok.append(ai >= 0 and ti >= 0 and yi >= 0 and self.grant.allows(a, t))
                run_a.append(ai)
                run_t.append(ti)
                run_y.append(yi)
        except UnicodeDecodeError:
            return None
        run = np.cumsum(c[:, S.NEW_RUN]) - 1
        return (np.array(run_ok)[run], np.array(run_a, np.int32)[run], np.array(run_t, np.int32)[run],
                np.array(run_y, np.int32)[run])

    def _one_by_one(self, raw: bytes, c: np.ndarray, t0: int, i: int, j: int) -> None:
        """Rows ``i:j`` of the scan through the per-frame path (`new`)."""
        for r in c[i:j].tolist():
            if self.closed:
                return
            coid, account, strategy, symbol, idem = _decode(raw, r)
            self.new(r[S.CORR] & _U64, r[S.FLAGS] & FLAG_DURABLE != 0, r[S.SIDE], r[S.OTYPE], r[S.TIF], r[S.PRICE],
                     r[S.QTY], coid, account, strategy, symbol, idem, t0)

    def _keys(self, raw: bytes, c: np.ndarray) -> tuple[list[str], np.ndarray, PackedIds | None] | None:
        """Each row's client order id (also packed, `tcp_scan.client_order_ids`, unless one holds a NUL) and dedup
        key (`orders.intent_key` of its account and its idempotency key, or its client order id when it has
        none: hashed by the scan, `tcp_scan.KEY`); None when a string is not UTF-8."""
        try:
            got = S.client_order_ids(np.frombuffer(raw, np.uint8), c, len(c))
            if got is not None:
                coids, packed = got
            else:  # a NUL in one: a str slice per row
                packed = None
                text = raw.decode("latin-1")  # one char per byte: exact when they are ASCII
                coids = [text[o:o + m] for o, m in c[:, S.COID:S.COID + 2].tolist()]
                if not "".join(coids).isascii():  # else UTF-8, row by row
                    coids = [raw[o:o + m].decode() for o, m in c[:, S.COID:S.COID + 2].tolist()]
            for o, m in c[c[:, S.KEY_ASCII] == 0][:, S.IDEM:S.IDEM + 2].tolist():
                raw[o:o + m].decode()
        except UnicodeDecodeError:
            return None
        return coids, c[:, S.KEY].copy(), packed

    def _batch(self, c: np.ndarray, coids: list[str], packed: PackedIds | None, keys: np.ndarray, acct: np.ndarray,
               strat: np.ndarray, sym: np.ndarray, durable: np.ndarray, t0: int) -> None:
        """Queue admitted clean rows as one `PendingBatch`."""
        m = len(c)
        rows = np.zeros(m, INTENT_DTYPE)
        rows["ts"] = time.time_ns()
        rows["key"] = keys
        rows["price"] = c[:, S.PRICE]
        rows["qty"] = c[:, S.QTY]
        rows["account"] = acct
        rows["strategy"] = strat
        rows["symbol"] = sym
        rows["kind"] = INTENT_NEW
        rows["side"] = c[:, S.SIDE]
        rows["order_type"] = c[:, S.OTYPE]
        rows["tif"] = c[:, S.TIF]
        item = PendingBatch(rows, coids, bool(durable.any()), t0, _BatchAnswer(self, c[:, S.CORR].view(np.uint64)),
                            packed)
        if not self.live.offer_batch(item):
            for corr in item.answer.corrs.tolist():
                self.refuse(corr, 503, {"error": "KILLED", "reason": "intake channel full"})
            return
        self.stats["intents"] += m

    def refuse(self, corr: int, status: int, body: dict[str, Any]) -> None:
        self.stats["refused"] += 1
        self.write(error_frame(corr, status, body))

    def new(self, corr: int, durable: bool, side: int, otype: int, tif: int, price: int, qty: int, coid: str,
            account: str, strategy: str, symbol: str, idem: str, t0: int, trigger: int = 0, expire: int = 0,
            display: int = 0, trail: int = 0, oco: int = 0, parent: int = 0) -> None:
        try:
            if side not in _SIDE:
                raise O.BadInput("side", f"expected 1 (buy) or -1 (sell), was {side}")
            if otype not in ORDER_TYPE_NAMES:
                raise O.BadInput("order_type", f"expected one of {sorted(ORDER_TYPE_NAMES)}, was {otype}")
            if tif not in TIF_NAMES:
                raise O.BadInput("tif", f"expected one of {sorted(TIF_NAMES)}, was {tif}")
            o = O.check_new(O.NewOrder(coid, account, strategy, symbol, _SIDE[side], qty, price,
                                       ORDER_TYPE_NAMES[otype], TIF_NAMES[tif], trigger, expire,  # type: ignore[arg-type]
                                       display, trail, oco, parent))
            if not self.grant.allows(account, strategy):
                self.refuse(corr, 403, {"error": "FORBIDDEN", "reason": f"token {self.grant.subject!r} may not "
                                                                        f"trade as {account}/{strategy}"})
                return
            O.check_names(self.gw, account, strategy, symbol)
            key_s = idem or None
            O.check_idempotency_key(key_s, durable)
        except O.BadInput as e:
            self.bad_input[O.field_label(e.field)] += 1
            self.refuse(corr, e.status, e.body())
            return
        key = O.intent_key(account, key_s if key_s is not None else coid)
        self.submit(O.new_intent(o, key, time.time_ns()), corr, durable, coid, t0)

    def cancel(self, corr: int, oid: int, coid: str, idem: str, t0: int) -> None:
        v = self.live.orders.get(oid)
        if v is None or not self.grant.allows(v.account, v.strategy):
            self.refuse(corr, 404, {"error": "NOT_FOUND", "field": "order_id", "reason": f"no order {oid}"})
            return
        key = O.cancel_key(v.account, idem or None, oid, coid)
        self.submit(O.cancel_intent(v.account, v.strategy, v.symbol, oid, key, time.time_ns()), corr, True, coid,
                    t0)

    def replace(self, corr: int, oid: int, price: int, qty: int, coid: str, idem: str, t0: int) -> None:
        """A REPLACE frame: the checks and key of ``POST /orders/{id}/replace``, always durable."""
        try:
            O.check_replace(O.ReplaceOrder(price, qty, coid))
            O.check_idempotency_key(idem or None, False)
        except O.BadInput as e:
            self.bad_input[O.field_label(e.field)] += 1
            self.refuse(corr, e.status, e.body())
            return
        v = self.live.orders.get(oid)
        if v is None or not self.grant.allows(v.account, v.strategy):
            self.refuse(corr, 404, {"error": "NOT_FOUND", "field": "order_id", "reason": f"no order {oid}"})
            return
        key = O.replace_key(v.account, idem or None, oid, coid)
        self.submit(O.replace_intent(v.account, v.strategy, v.symbol, oid, price, qty, key, time.time_ns()), corr,
                    True, coid, t0)

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


async def start_tcp(live: LiveGateway, verifier: Verifier, bad_input: Counter, host: str, port: int,
                    cap: ConnectionCap | None = None,
                    auth_timeout_s: float = 10.0, tls: Any = None) -> tuple[asyncio.Server, dict[str, int]]:
    """Listen for TCP intake connections; returns the server and its counters (shown by /health). Bad input
    is counted in `bad_input` (the HTTP app's counter: ``gateway_bad_input_total{field}``); connections count
    against `cap` (shared with HTTP) and must authenticate within `auth_timeout_s`. `tls`: an `ssl.SSLContext`
    (`hft.live.tls`; its handshake within `auth_timeout_s` too), None: plain TCP."""
    stats = {"connections": 0, "intents": 0, "refused": 0, "bad_frames": 0, "auth_failures": 0, "auth_timeouts": 0,
             "reports": 0}
    owners: dict[int, IntakeProtocol] = {}
    live.updates.listeners.append(lambda rows: send_reports(owners, rows, stats))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: IntakeProtocol(live, verifier, stats, bad_input, cap, auth_timeout_s,
                                                             owners), host, port, backlog=512, ssl=tls,
                                      ssl_handshake_timeout=auth_timeout_s if tls is not None else None)
    return server, stats


def send_reports(owners: dict[int, IntakeProtocol], rows: np.ndarray, stats: dict[str, int]) -> None:
    """The order-update listener of the TCP intake: each update's REPORT frame to the connection owning its order
    (one write per connection); an order whose status is final is owned no more."""
    if not owners:
        return
    oids = rows["order_id"].tolist()
    conns = [owners.get(o) for o in oids]
    if not any(conns):
        return
    fr = np.zeros(len(rows), REPORT_FRAME)
    fr["len"] = REPORT_FRAME.itemsize - 4
    fr["type"] = REPORT
    u = fr["u"]
    for f in rows.dtype.names:
        u[f] = rows[f]
    by_conn: dict[IntakeProtocol, list[int]] = {}
    for i, c in enumerate(conns):
        if c is not None:
            by_conn.setdefault(c, []).append(i)
    for c, idx in by_conn.items():
        c.write(fr[idx].tobytes())
        stats["reports"] += len(idx)
    for i in np.flatnonzero(np.isin(rows["status"], _TERMINAL)).tolist():
        c = conns[i]
        if c is not None:
            owners.pop(oids[i], None)
            c.owned.discard(oids[i])
