"""``GET /orders/stream``: the order-update stream of a token as server-sent events (`hft.live.updates`); ``GET
/market/stream``: the market as the service's venue sees it, the same way (`MarketStream`, below).

Server-sent events because the service's HTTP front (`hft.live.http`) streams a chunked answer already and serves
no protocol upgrade: a stream needs nothing but a long answer, any HTTP client reads it, and resuming is the
standard ``Last-Event-ID`` header. Each event is one update of an order the token may trade as (its account and
strategy)::

    id: 17
    event: fill
    data: {"seq": 17, "ts": ..., "order_id": 5, "client_order_id": "c-1", "account": "ACC1", "strategy": "mm1",
           "kind": "fill", "status": "filled", "price": 10000, "qty": 2, "leaves": 0, "filled": 5, "fee": 0,
           "fee_frac": 400000, "liquidity": "taker", "queue": -1}

``liquidity``: a fill's ``maker`` / ``taker`` as the venue said (``""``: it did not); ``queue``: an ACK's queue
ahead at entry in lots as the venue said (-1: it did not, and on every other report); docs/live.md.

Query: ``after=N`` (or the ``Last-Event-ID`` header): the updates numbered after N first, then the new ones as they
are committed (without either: only the new ones); ``cancel_on_disconnect=1``: when this connection drops, the
token's working orders are cancelled (an admin cancel control, journaled and audited, cause
``cancel_on_disconnect:<subject>``). A comment line every `HEARTBEAT_S` keeps the connection alive. A stream
does not outlive its token: when the token is revoked (``POST /admin/tokens/revoke``) or its ``exp`` +
``server.jwt_leeway`` passes, the stream ends at once with a last event saying why, then the end of the body::

    event: error
    data: {"error": "TOKEN_REVOKED", "reason": "token revoked (jti 'trader-1')"}

(``TOKEN_EXPIRED`` for an expired token), and cancel-on-disconnect applies as on any disconnect. Refusals
before the stream starts are JSON: 400 a malformed or unknown sequence number (past the newest), 410 one whose
updates are no longer held (read the orders again), 401 / 403 the token.

``GET /market/stream?symbol=Y`` (any valid token): the `hft.core.orders.MARKET_UPDATE` rows of symbol Y the venue's
feed publishes (`hft.live.engine.LiveGateway.on_market`: trade prints, top-of-book changes), each an event ``book``
or ``trade``::

    id: 42
    event: trade
    data: {"seq": 42, "ts": ..., "exch_ts": ..., "symbol": "GOOG", "kind": "trade", "side": 1, "price": 58000,
           "qty": 100, "bids": [[57998, 200], [57990, 100]], "asks": [[58000, 300], [58005, 400]]}

``bids`` / ``asks``: the book's top `MARKET_DEPTH` levels a side after the event, best first, as (price, size). ``after=N`` resumes as above, within one run of the service (market data is not
journaled: the numbers start at 1 in each process). 400 a symbol the gateway does not know.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote

import numpy as np

from hft.core.dtypes import NO_PRICE
from hft.core.orders import MARKET_DEPTH, MARKET_UPDATE, ORDER_UPDATE
from hft.live import orders as O
from hft.live.auth import Grant, OpenConnections
from hft.live.engine import LiveGateway
from hft.live.updates import UpdateLog

HEARTBEAT_S = 15.0
_HEAD = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-store")]
_TRUE = ("1", "true", "yes")


class StreamRefused(Exception):
    """A stream refused before it starts: the status and JSON body of the answer."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body


def parse_query(query: bytes, last_event_id: str | None, newest: int) -> tuple[int, bool]:
    """The number to resume after (`newest` when neither ``after`` nor the header gives one) and the
    cancel-on-disconnect flag of a stream's query string."""
    args = _query(query, ("after", "cancel_on_disconnect"))
    return _after(args, last_event_id, newest), args.get("cancel_on_disconnect", "0").lower() in _TRUE


def parse_market_query(query: bytes, last_event_id: str | None, newest: int) -> tuple[int, str]:
    """The number to resume after and the symbol of a market stream's query string (``symbol`` required)."""
    args = _query(query, ("after", "symbol"))
    if not args.get("symbol"):
        raise O.BadInput("symbol", "expected the symbol of the market to stream (?symbol=...)")
    return _after(args, last_event_id, newest), unquote(args["symbol"])


def _query(query: bytes, known: tuple[str, ...]) -> dict[str, str]:
    args: dict[str, str] = {}
    for part in query.decode("latin-1").split("&"):
        if part:
            k, _, v = part.partition("=")
            if k not in known:
                raise O.BadInput(k, f"unknown query parameter: expected {', '.join(known)}")
            args[k] = v
    return args


def _after(args: dict[str, str], last_event_id: str | None, newest: int) -> int:
    raw = args.get("after", last_event_id)
    after = newest
    if raw is not None:
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise O.BadInput("after", f"expected a sequence number (an integer >= 0), was {raw!r}")
        after = int(raw)
    return after


class OrderStream:
    """One client's stream: the updates after `after` that `grant` may see, then the new ones as committed."""

    def __init__(self, live: LiveGateway, grant: Grant, after: int, cancel_on_disconnect: bool,
                 connections: OpenConnections | None = None, log_: UpdateLog | None = None) -> None:
        log_ = live.updates if log_ is None else log_
        try:
            log_.since(after, after)  # checks the number only
        except ValueError as e:
            raise StreamRefused(400, {"error": "UNKNOWN_SEQUENCE", "field": "after", "reason": str(e)}) from None
        except LookupError as e:
            raise StreamRefused(410, {"error": "GONE", "field": "after", "reason": f"{e}: read the orders again "
                                      "(GET /orders/{id}) and stream from the newest number"}) from None
        self.live = live
        self.log = log_
        self.grant = grant
        self.after = after
        self.cancel_on_disconnect = cancel_on_disconnect
        self.wake = asyncio.Event()
        self.connections = connections  # ends this stream when its token is revoked or expires
        self.ended: tuple[str, str] | None = None  # (error, reason) once it did
        self.allowed: dict[tuple[int, int], bool] = {}  # (account, strategy) registry indices -> the grant's word

    def _visible(self, rows: np.ndarray) -> np.ndarray:
        names = self.live.gw.name_tables()
        pairs = list(zip(rows["account"].tolist(), rows["strategy"].tolist(), strict=True))
        ok = self.allowed
        for p in set(pairs) - ok.keys():
            ok[p] = self.grant.allows(names[0][p[0]], names[1][p[1]])
        return rows[np.array([ok[p] for p in pairs], np.bool_)] if pairs else rows

    def events(self, rows: np.ndarray) -> bytes:
        """The SSE text of the updates `rows` the grant may see."""
        rows = self._visible(rows)
        if not len(rows):
            return b""
        names = self.live.gw.name_tables()
        views = self.live.orders
        readable = ORDER_UPDATE.readable({"kind": rows["kind"], "status": rows["status"]})
        liquidity = ORDER_UPDATE.decode("liquidity", rows["liquidity"], lambda _: "")  # "": the venue did not say
        out = []
        for i, r in enumerate(ORDER_UPDATE.rows(rows)):
            body = {"seq": r.seq, "ts": r.ts, "order_id": r.order_id,
                    "client_order_id": views.client_order_id(r.order_id) or "", "account": names[0][r.account],
                    "strategy": names[1][r.strategy], "kind": readable["kind_name"][i],
                    "status": readable["status_name"][i], "price": r.price, "qty": r.qty, "leaves": r.leaves,
                    "filled": r.filled, "fee": r.fee, "fee_frac": r.fee_frac, "liquidity": liquidity[i],
                    "queue": r.queue}
            out.append(b"id: %d\nevent: %s\ndata: %s\n\n" % (r.seq, body["kind"].encode(), O.encode(body)))
        return b"".join(out)

    async def run(self, receive: Any, send: Any, stopping: asyncio.Event) -> None:
        """Send the stream until the client goes (then cancel its orders if asked), the server stops or the token
        is revoked or expires."""
        # held before the first await: a revocation from the token's check on ends this stream
        forget = self.connections.open(self.grant, self._end) if self.connections is not None else None
        try:
            await self._run(receive, send, stopping)
        finally:
            if forget is not None:
                forget()

    async def _run(self, receive: Any, send: Any, stopping: asyncio.Event) -> None:
        updates = self.log
        listener = self._notified
        await receive()  # the request's (empty) body; the next message is the disconnect
        updates.listeners.append(listener)
        gone = asyncio.ensure_future(receive())
        stop = asyncio.ensure_future(stopping.wait())
        await send({"type": "http.response.start", "status": 200, "headers": _HEAD})
        await send({"type": "http.response.body", "body": b": stream\n\n", "more_body": True})
        try:
            while True:
                if self.ended is not None:  # the token was revoked or expired: a last event, then the end
                    error, reason = self.ended
                    await send({"type": "http.response.body", "more_body": False,
                                "body": b"event: error\ndata: %s\n\n" % O.encode({"error": error, "reason": reason})})
                    self._dropped()
                    return
                if self.after < updates.published:
                    if self.after + 1 < updates.lo:  # fell behind what the log holds
                        await send({"type": "http.response.body", "more_body": False,
                                    "body": b"event: gone\ndata: %s\n\n" % O.encode(
                                        {"after": self.after, "oldest": updates.lo})})
                        return
                    rows = updates.since(self.after, updates.published)
                    self.after = updates.published
                    text = self.events(rows)
                    if text:
                        await send({"type": "http.response.body", "body": text, "more_body": True})
                self.wake.clear()
                woke = asyncio.ensure_future(self.wake.wait())
                done, _ = await asyncio.wait({woke, gone, stop}, timeout=HEARTBEAT_S,
                                             return_when=asyncio.FIRST_COMPLETED)
                woke.cancel()
                if gone in done:
                    self._dropped()
                    return
                if stop in done:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
                if not done:
                    await send({"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True})
        finally:
            updates.listeners.remove(listener)
            gone.cancel()
            stop.cancel()

    def _notified(self, _rows: np.ndarray) -> None:
        self.wake.set()

    def _end(self, error: str, reason: str) -> None:
        """`OpenConnections`' callback: the token was revoked or expired."""
        if self.ended is None:
            self.ended = (error, reason)
            self.wake.set()

    def _dropped(self) -> None:
        """The client went: with cancel-on-disconnect, cancel the token's working orders (an admin cancel)."""
        if self.cancel_on_disconnect:
            self.live.cancel_on_disconnect(self.grant.subject, self.grant.allows, "order stream")


class MarketStream(OrderStream):
    """One client's market stream (module docstring): the market rows of one symbol after `after`, then the new
    ones as the venue's feed publishes them."""

    def __init__(self, live: LiveGateway, grant: Grant, after: int, symbol: str,
                 connections: OpenConnections | None = None) -> None:
        sym = live.gw.indices("symbol").get(symbol, -1)
        if sym < 0:
            raise O.BadInput("symbol", f"expected a symbol of the gateway ({sorted(live.gw.indices('symbol'))}), "
                                       f"was {symbol!r}")
        super().__init__(live, grant, after, False, connections, live.market)
        self.symbol, self.sym = symbol, sym

    def events(self, rows: np.ndarray) -> bytes:
        """The SSE text of the market rows `rows` of this stream's symbol."""
        rows = rows[rows["symbol"] == self.sym]
        if not len(rows):
            return b""
        kinds = MARKET_UPDATE.decode("kind", rows["kind"])
        out = []
        for kind, r in zip(kinds, MARKET_UPDATE.rows(rows), strict=True):
            f = r._asdict()
            levels = {side: [[f[f"{side}_{k}"], f[f"{side}_qty_{k}"]] for k in range(1, MARKET_DEPTH + 1)
                             if f[f"{side}_{k}"] != NO_PRICE] for side in ("bid", "ask")}
            body = {"seq": r.seq, "ts": r.ts, "exch_ts": r.exch_ts, "symbol": self.symbol, "kind": kind,
                    "side": r.side, "price": r.price, "qty": r.qty, "bids": levels["bid"], "asks": levels["ask"]}
            out.append(b"id: %d\nevent: %s\ndata: %s\n\n" % (r.seq, kind.encode(), O.encode(body)))
        return b"".join(out)
