"""The order API as a bare ASGI application (no framework: the measured stack, bench/bench_http_stack.py).

Routes (JSON bodies; prices in ticks, quantities in lots; ``Authorization: Bearer <jwt>`` on order routes):

  POST /orders                    durable: answered once the decision is in the WAL (Idempotency-Key required)
  POST /v3/orders                 volatile: answered on the in-memory decision, the WAL written behind
  GET  /orders/stream             server-sent events: the updates of the token's orders (``after=N``,
                                  ``cancel_on_disconnect=1``; hft.live.stream)
  GET  /market/stream?symbol=Y    server-sent events: the market of Y as the venue sees it (trade prints, the
                                  book's top levels; ``after=N``; hft.live.stream.MarketStream)
  GET  /orders/{order_id}         an order the token's accounts own
  GET  /orders/client/{client_id} the same, by client order id
  POST /orders/{order_id}/cancel  durable cancel (Idempotency-Key optional)
  POST /orders/{order_id}/replace durable replace: {"price", "qty", "client_order_id"} (Idempotency-Key optional)
  GET  /positions                 non-flat exposures of the token's accounts
  POST /admin/kill, /admin/reset  kill switch (admin tokens; optional body {"reason": "..."})
  POST /admin/cancel              mass cancel: {"account"?, "strategy"?, "symbol"?, "reason"} (admin tokens)
  POST /admin/strategy/{name}/mode  {"mode": "enabled" | "cancel_only" | "disabled", "reason"} (admin tokens)
  GET  /admin/limits              the limits in force, laid out as the config file (admin tokens)
  POST /admin/limits              {"scope", "limits", "reason", "dry_run"}: change limits (admin tokens;
                                  hft.live.limits_admin)
  POST /admin/tokens/revoke       {"jti", "reason", "revoked"?, "exp"?}: a token id onto the deny-list (false: off
                                  it); its open streams and TCP connections end at once
  GET  /admin/tokens/revoked      the deny-list (admin tokens)
  GET  /health, GET /metrics      liveness / readiness; Prometheus exposition (no token; with
                                  ``server.metrics_auth`` a token for /metrics and for /health beyond
                                  ``{"status", "ready"}``)

Statuses: 201 accepted, 200 a duplicate (the original decision), 400 bad input (``field`` and ``reason``), 409 an
idempotency key already used for a different request (``KEY_REUSED``),
401 / 403 token, 404 unknown order or route, 405, 413 body too large, 422 denied by the gateway (its reason and
field), 429 SOFT_REJECT, 503 KILLED (queue pressure, kill switch, policy) or WAL refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from hft.core.orders import INTENT_KIND_NAMES, INTENT_NEW, R_KEY_REUSED
from hft.gateway.config import limit_tables
from hft.gateway.intents import TypedIntentEnvelope
from hft.gateway.metrics import Log2Histogram
from hft.live import limits_admin
from hft.live import orders as O
from hft.live.auth import AuthError, Grant, Verifier
from hft.live.engine import LiveGateway, Pending
from hft.live.stream import MarketStream, OrderStream, StreamRefused, parse_market_query, parse_query

log = logging.getLogger("hft.live")

_JSON = [(b"content-type", b"application/json")]
_TEXT = [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")]


class Resolved:
    """The future of a direct request's intent (`OrderApp.direct`): the writer resolves it (the `Pending.fut`
    protocol: done / set_result) and its one done-callback, the HTTP front's answer, runs at once, in the
    writer's step, instead of a turn of the event loop later through an asyncio future (no loop callback per
    order). `cancel` (the front's graceful stop) runs it too; a later result is then ignored."""

    __slots__ = ("_cb", "_result", "_state")

    def __init__(self) -> None:
        self._cb: Any = None
        self._result: Any = None
        self._state = 0  # 0 pending, 1 done, 2 cancelled

    def done(self) -> bool:
        return self._state != 0

    def cancelled(self) -> bool:
        return self._state == 2

    def result(self) -> Any:
        if self._state == 2:
            raise asyncio.CancelledError
        return self._result

    def set_result(self, result: Any) -> None:
        if not self._state:
            self._result = result
            self._state = 1
            self._fire()

    def cancel(self) -> bool:
        if self._state:
            return False
        self._state = 2
        self._fire()
        return True

    def add_done_callback(self, cb: Any) -> None:
        """One callback (the front's), called with this future once it is done (at once if it is)."""
        if self._state:
            cb(self)
        else:
            self._cb = cb

    def _fire(self) -> None:
        cb, self._cb = self._cb, None
        if cb is not None:
            try:
                cb(self)
            except Exception:  # the front's answer must not break the writer's step
                log.exception("direct answer failed")


class HttpError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body


class OrderApp:
    """ASGI app over a `LiveGateway`. `health_extra()` adds the server's own state to /health."""

    def __init__(self, live: LiveGateway, verifier: Verifier, health_extra: Any = None,
                 metrics_auth: bool = False) -> None:
        self.live = live
        self.metrics_auth = metrics_auth  # /metrics and /health's detail need a (valid, unrevoked) token
        self.gw = live.gw
        self.verifier = verifier
        self.max_body = live.gw.config.ingress.max_body_bytes
        self.health_extra = health_extra or (lambda: {})
        self.ready = False
        self.status_counts: Counter = Counter()
        self.bad_input: Counter = Counter()
        self.stage = {s: Log2Histogram() for s in ("parse", "enqueue", "serialize")}
        self._perf = time.perf_counter_ns
        self._streams_stop: asyncio.Event | None = None  # set when the server stops: the streams end

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                m = await receive()
                if m["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif m["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        t0 = self._perf()
        method, path = scope["method"], scope["path"]
        if path in ("/orders/stream", "/market/stream") and method == "GET":
            await self._stream(scope, receive, send)
            return
        try:
            status, body, headers = await self._route(method, path, scope, receive, t0)
        except (HttpError, AuthError, O.BadInput) as e:
            status, body, headers = self._refused(e)
        self.status_counts[status] += 1
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _stream(self, scope: dict, receive: Any, send: Any) -> None:
        """``GET /orders/stream`` and ``GET /market/stream`` (`hft.live.stream`): refused with a JSON answer, or
        streamed until the client goes or the server stops."""
        try:
            g = self._grant(scope)
            last = _header(scope["headers"], b"last-event-id")
            stream: OrderStream
            if scope["path"] == "/market/stream":
                after, symbol = parse_market_query(scope["query_string"], last, self.live.market.n)
                stream = MarketStream(self.live, g, after, symbol, self.verifier.connections)
            else:
                after, cod = parse_query(scope["query_string"], last, self.live.updates.n)
                stream = OrderStream(self.live, g, after, cod, self.verifier.connections)
        except (AuthError, O.BadInput, StreamRefused) as e:
            status, body, headers = self._refused(HttpError(e.status, e.body) if isinstance(e, StreamRefused) else e)
            self.status_counts[status] += 1
            await send({"type": "http.response.start", "status": status,
                        "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        self.status_counts[200] += 1
        if self._streams_stop is None:
            self._streams_stop = asyncio.Event()
        await stream.run(receive, send, self._streams_stop)

    def stop_streams(self) -> None:
        """The server's graceful stop began: the order streams end (their clients resume from another server)."""
        if self._streams_stop is None:
            self._streams_stop = asyncio.Event()
        self._streams_stop.set()

    def _refused(self, e: HttpError | AuthError | O.BadInput) -> tuple[int, bytes, list]:
        """The answer of a request refused before (or by) the writer: its status and JSON body."""
        if isinstance(e, HttpError):
            return e.status, O.encode(e.body), _JSON
        if isinstance(e, AuthError):
            return e.status, O.encode({"error": "UNAUTHORIZED" if e.status == 401 else "FORBIDDEN",
                                       "reason": e.reason}), _JSON
        self.bad_input[O.field_label(e.field)] += 1
        return e.status, O.encode(e.body()), _JSON

    # ------------------------------------------------------------------ direct (hft.live.http's front)
    direct_paths = frozenset(("/v3/orders", "/orders"))
    """Paths `direct` answers: the HTTP front of `hft.live.http` calls it for them instead of the ASGI round
    (no scope, task or message dicts per request); any other ASGI server goes through `__call__`, the same."""

    def direct(self, method: str, path: str, headers: list[tuple[bytes, bytes]],
               body: bytes) -> tuple[int, bytes, list] | tuple[asyncio.Future, Any]:
        """A complete request to one of `direct_paths` (headers lower-cased, as ASGI gives them): the same
        checks, statuses and bodies as `__call__`. Returns the answer ``(status, body, headers)`` (no
        content-length) when it is refused at once, else ``(future, finish)``: the queued intent's future and
        ``finish(its result)``, which gives the answer. The future is a `Resolved`: its done-callback runs as the
        writer resolves it."""
        t0 = self._perf()
        try:
            _only(method, "POST")
            self._check_length(headers)
            if len(body) > self.max_body:
                raise O.BadInput("$body", f"expected at most {self.max_body} bytes", 413)
            fut, coid, key = self._queue_new(headers, body, t0, path == "/orders", Resolved())
        except (HttpError, AuthError, O.BadInput) as e:
            out = self._refused(e)
            self.status_counts[out[0]] += 1
            return out
        return fut, lambda d: self._finish(d, coid, key)

    def _finish(self, d: Any, coid: str, key: tuple[str, str]) -> tuple[int, bytes, list]:
        """The answer of a decided `direct` request (counted like `__call__` counts)."""
        try:
            out = self._decided(d, coid, key)
        except HttpError as e:
            out = self._refused(e)
        self.status_counts[out[0]] += 1
        return out

    async def _route(self, method: str, path: str, scope: dict, receive: Any, t0: int) -> tuple[int, bytes, list]:
        if path == "/v3/orders" or path == "/orders":
            _only(method, "POST")
            return await self._new(scope, receive, t0, durable=path == "/orders")
        if path == "/health":
            _only(method, "GET")
            if self.metrics_auth and _header(scope["headers"], b"authorization") is None:
                return self._health(detail=False)  # liveness stays open: the status alone
            if self.metrics_auth:
                self._grant(scope)
            return self._health()
        if path == "/metrics":
            _only(method, "GET")
            if self.metrics_auth:
                self._grant(scope)
            return 200, self.gw.metrics_text().encode(), _TEXT
        if path.startswith("/orders/"):
            rest = path[len("/orders/"):]
            if rest.startswith("client/"):
                _only(method, "GET")
                return self._get_client(scope, rest[len("client/"):])
            if rest.endswith("/cancel"):
                _only(method, "POST")
                return await self._cancel(scope, receive, _order_id(rest[:-len("/cancel")]), t0)
            if rest.endswith("/replace"):
                _only(method, "POST")
                return await self._replace(scope, receive, _order_id(rest[:-len("/replace")]), t0)
            _only(method, "GET")
            return self._get(scope, _order_id(rest))
        if path == "/positions":
            _only(method, "GET")
            g = self._grant(scope)
            return 200, O.encode([p for p in self.live.positions() if g.allows(p["account"], p["strategy"])]), _JSON
        if path in ("/admin/kill", "/admin/reset"):
            _only(method, "POST")
            return await self._admin(scope, receive, path.rsplit("/", 1)[1])
        if path == "/admin/cancel":
            _only(method, "POST")
            return await self._admin_cancel(scope, receive)
        if path == "/admin/limits":
            if method == "GET":
                return self._admin_limits_get(scope)
            _only(method, "POST")
            return await self._admin_limits(scope, receive)
        if path == "/admin/tokens/revoke":
            _only(method, "POST")
            return await self._admin_revoke(scope, receive)
        if path == "/admin/tokens/revoked":
            _only(method, "GET")
            self._admin_only(self._grant(scope))
            return 200, O.encode(self.live.revoked), _JSON
        if path.startswith("/admin/strategy/") and path.endswith("/mode"):
            _only(method, "POST")
            return await self._admin_mode(scope, receive, path[len("/admin/strategy/"):-len("/mode")])
        raise HttpError(404, {"error": "NOT_FOUND", "reason": f"no route {path}"})

    # ------------------------------------------------------------------ helpers
    def _grant(self, scope: dict) -> Grant:
        return self.verifier.verify(_header(scope["headers"], b"authorization"))

    def _check_length(self, headers: list[tuple[bytes, bytes]]) -> None:
        cl = _header(headers, b"content-length")
        if cl is not None and cl.isascii() and cl.isdigit() and int(cl) > self.max_body:
            raise O.BadInput("$body", f"expected at most {self.max_body} bytes, was {cl}", 413)

    async def _body(self, scope: dict, receive: Any) -> bytes:
        self._check_length(scope["headers"])
        body = b""
        while True:
            m = await receive()
            body += m.get("body", b"")
            if len(body) > self.max_body:
                raise O.BadInput("$body", f"expected at most {self.max_body} bytes", 413)
            if not m.get("more_body"):
                return body

    def _names(self, account: str, strategy: str, symbol: str | None) -> None:
        O.check_names(self.gw, account, strategy, symbol)

    def _admit(self, durable: bool) -> None:
        refused = self.live.admit(durable)
        if refused is not None:
            raise HttpError(refused[0], {"error": refused[1], "reason": refused[2]})

    def _queue(self, payload: tuple, durable: bool, coid: str, t0: int, fut: Any = None) -> Any:
        """Admit and queue an intent; the future the writer resolves with its decision (None: WAL refused): `fut`,
        or a new asyncio future."""
        self._admit(durable)
        t1 = self._perf()
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
        live = self.live
        if not live.offer(Pending(TypedIntentEnvelope(payload, payload[11]), fut, durable, coid, t0,
                                  live.row_of(payload))):
            raise HttpError(503, {"error": "KILLED", "reason": "intake channel full"})
        self.stage["enqueue"].observe(self._perf() - t1)
        return fut

    def _decided(self, d: Any, coid: str, key: tuple[str, str]) -> tuple[int, bytes, list]:
        """The answer of a decision; `key`: the request's idempotency key, (the field it came in, its value)."""
        if d is None:
            raise HttpError(503, {"error": "WAL_REFUSED", "reason": "the WAL refused the decision's record"})
        if d.duplicate and d.kind == INTENT_NEW and d.order_id:
            # a retry answers with the original's fields; its client order id is bound to the key like the rest
            first = self.live.orders.client_order_id(int(d.order_id))
            if first is not None and first != coid:
                self._key_reused(key, f"new order {int(d.order_id)} (client_order_id {first!r})")
        if d.reason == R_KEY_REUSED:
            kind = INTENT_KIND_NAMES.get(int(d.kind), str(d.kind))
            self._key_reused(key, f"another {kind}" + (f" (order {int(d.order_id)})" if d.order_id else ""))
        return self._answer(d, coid)

    @staticmethod
    def _key_reused(key: tuple[str, str], first: str) -> None:
        field, value = key
        raise HttpError(409, {"error": "KEY_REUSED", "field": field, "key": value, "reason": (
            f"idempotency key {value!r} was already used for a different request, {first}, within the dedup "
            "window: a retry must repeat its request exactly; a new request needs a new key")})

    def _answer(self, d: Any, coid: str) -> tuple[int, bytes, list]:
        t = self._perf()
        status = O.decision_status(d)
        out = O.encode(O.decision_body(d, coid))
        self.stage["serialize"].observe(self._perf() - t)
        return status, out, _JSON

    # ------------------------------------------------------------------ routes
    async def _new(self, scope: dict, receive: Any, t0: int, durable: bool) -> tuple[int, bytes, list]:
        body = await self._body(scope, receive)
        fut, coid, key = self._queue_new(scope["headers"], body, t0, durable)
        return self._decided(await fut, coid, key)

    def _queue_new(self, headers: list[tuple[bytes, bytes]], body: bytes, t0: int, durable: bool,
                   fut: Any = None) -> tuple[Any, str, tuple[str, str]]:
        """Check a new order's request (token, body, names, idempotency key) and queue it: its future (`fut`, or a
        new asyncio future), client order id and idempotency key (the field it came in, its value)."""
        g = self.verifier.verify(_header(headers, b"authorization"))
        o = O.decode_new(body)
        if not g.allows(o.account, o.strategy):
            raise AuthError(403, f"token {g.subject!r} may not trade as {o.account}/{o.strategy}")
        self._names(o.account, o.strategy, o.symbol)
        idem = _header(headers, b"idempotency-key")
        O.check_idempotency_key(idem, durable)
        key = O.intent_key(o.account, idem if idem is not None else o.client_order_id)
        self.stage["parse"].observe(self._perf() - t0)
        return (self._queue(O.new_intent(o, key, time.time_ns()), durable, o.client_order_id, t0, fut),
                o.client_order_id, ("Idempotency-Key", idem) if idem is not None else ("client_order_id",
                                                                                        o.client_order_id))

    def _owned(self, g: Grant, oid: int) -> Any:
        """The view of order `oid` if the token may trade as its account and strategy, else a 404 (an order of
        another token's is not there for it)."""
        v = self.live.orders.get(oid)
        if v is None or not g.allows(v.account, v.strategy):
            raise HttpError(404, {"error": "NOT_FOUND", "field": "order_id", "reason": f"no order {oid}"})
        return v

    async def _cancel(self, scope: dict, receive: Any, oid: int, t0: int) -> tuple[int, bytes, list]:
        body = await self._body(scope, receive)
        g = self._grant(scope)
        c = O.decode_cancel(body)
        v = self._owned(g, oid)
        idem = _header(scope["headers"], b"idempotency-key")
        key = O.cancel_key(v.account, idem, oid, c.client_order_id)
        fut = self._queue(O.cancel_intent(v.account, v.strategy, v.symbol, oid, key, time.time_ns()), True,
                          c.client_order_id, t0)
        return self._decided(await fut, c.client_order_id, ("Idempotency-Key", idem) if idem else (
            "client_order_id", c.client_order_id))

    async def _replace(self, scope: dict, receive: Any, oid: int, t0: int) -> tuple[int, bytes, list]:
        """A durable replace of an order the token owns (404 otherwise, as a cancel): the gateway decides it (its
        limits, band and rates on the new price and size), the venue answers REPLACED or REPLACE_REJECTED."""
        body = await self._body(scope, receive)
        g = self._grant(scope)
        r = O.decode_replace(body)
        v = self._owned(g, oid)
        idem = _header(scope["headers"], b"idempotency-key")
        O.check_idempotency_key(idem, False)
        key = O.replace_key(v.account, idem, oid, r.client_order_id)
        fut = self._queue(O.replace_intent(v.account, v.strategy, v.symbol, oid, r.price, r.qty, key, time.time_ns()),
                          True, r.client_order_id, t0)
        return self._decided(await fut, r.client_order_id, ("Idempotency-Key", idem) if idem else (
            "client_order_id", r.client_order_id))

    def _get(self, scope: dict, oid: int) -> tuple[int, bytes, list]:
        g = self._grant(scope)
        views = self.live.orders
        v = views.get(oid)
        if v is None and views.pruned(oid):
            raise HttpError(404, {"error": "NOT_FOUND", "field": "order_id", "reason": (
                f"order {oid} is older than the {views.retention} most recent orders and no longer open: its view "
                "was dropped (server.order_view_retention); the WAL and the audit store keep its record")})
        if v is None or not g.allows(v.account, v.strategy):
            raise HttpError(404, {"error": "NOT_FOUND", "field": "order_id", "reason": f"no order {oid}"})
        return 200, O.encode(v.body()), _JSON

    def _get_client(self, scope: dict, coid: str) -> tuple[int, bytes, list]:
        g = self._grant(scope)
        gw = self.live.gw
        ids = gw.indices("account")
        accounts = g.accounts if "*" not in g.accounts else ids
        for a in sorted(accounts):
            acct = ids.get(a)
            oid = self.live.orders.find_client(acct, coid) if acct is not None else None
            if oid is not None:
                return self._get(scope, oid)
        raise HttpError(404, {"error": "NOT_FOUND", "field": "client_order_id", "reason": f"no order {coid!r}"})

    async def _admin(self, scope: dict, receive: Any, op: str) -> tuple[int, bytes, list]:
        """``kill`` / ``reset`` by an admin token. The body (optional ``{"reason"}``) is decoded by the order API's
        rule before anything acts: a bad one is a 400 naming the field, and the switch is left as it was."""
        body = await self._body(scope, receive)
        g = self._grant(scope)
        self._admin_only(g)
        a = O.decode_admin(body)
        who = f"{g.subject}: {a.reason}" if a.reason else g.subject
        if op == "kill":
            cause = f"manual_kill:{who}"
            n = len(self.live.control("kill", cause))
            self.live.pressure.trip(f"manual: {who}", time.monotonic_ns(), notify=False)
            return 200, O.encode({"killed": True, "cancels": n, "cause": cause}), _JSON
        cause = f"manual_reset:{who}"
        self.live.pressure.reset(cause)
        self.live.control("reset", cause)
        return 200, O.encode({"killed": False, "mode": self.gw.mode_name, "cause": cause}), _JSON

    async def _admin_grant(self, scope: dict, receive: Any) -> tuple[Grant, bytes]:
        """An admin route's token (403 unless an admin's) and body (read first, decoded after the token)."""
        body = await self._body(scope, receive)
        g = self._grant(scope)
        self._admin_only(g)
        return g, body

    async def _admin_cancel(self, scope: dict, receive: Any) -> tuple[int, bytes, list]:
        """Cancel the working orders matching every filter given (account, strategy, symbol): a journaled control
        (``cancel``), audited with the operator, the reason and the orders cancelled."""
        g, body = await self._admin_grant(scope, receive)
        a = O.decode_admin_cancel(body)
        flt = {k: v for k, v in (("account", a.account), ("strategy", a.strategy), ("symbol", a.symbol))
               if v is not None}
        for kind, name in flt.items():
            if not self.gw.registered(kind, name):
                raise O.BadInput(kind, f"unknown {kind} {name!r}")
        who = f"{g.subject}: {a.reason}" if a.reason else g.subject
        cause = f"admin_cancel:{who}"
        out = self.live.control("cancel", cause, O.encode({**flt, "by": g.subject}).decode())
        ids = [int(d.target_id) for d in out if d.accepted]
        return 200, O.encode({"cancels": len(ids), "order_ids": ids, "filter": flt, "cause": cause}), _JSON

    async def _admin_mode(self, scope: dict, receive: Any, name: str) -> tuple[int, bytes, list]:
        """A strategy's own mode (``enabled`` / ``cancel_only`` / ``disabled``): a journaled control
        (``strategy_mode``, so a restart restores it), audited with the operator, the reason and the mode before
        and after; ``disabled`` cancels the strategy's working orders too."""
        g, body = await self._admin_grant(scope, receive)
        m = O.decode_strategy_mode(body)
        if not self.gw.registered("strategy", name):
            raise HttpError(404, {"error": "NOT_FOUND", "field": "strategy", "reason": f"no strategy {name!r}"})
        who = f"{g.subject}: {m.reason}" if m.reason else g.subject
        cause = f"strategy_mode:{who}"
        before = self.gw.strategy_mode(name)
        out = self.live.control("strategy_mode", cause,
                                O.encode({"strategy": name, "mode": m.mode, "by": g.subject}).decode())
        ids = [int(d.target_id) for d in out if d.accepted]
        return 200, O.encode({"strategy": name, "before": before, "mode": m.mode, "cancels": len(ids),
                              "order_ids": ids, "cause": cause}), _JSON

    @staticmethod
    def _admin_only(g: Grant) -> None:
        """403 unless `g` is an admin token's."""
        if not g.admin:
            raise AuthError(403, f"token {g.subject!r} is not an admin token")

    async def _admin_revoke(self, scope: dict, receive: Any) -> tuple[int, bytes, list]:
        """A token id onto the deny-list (or off it, ``revoked`` false): a journaled control (``revoke``, so a
        restart keeps it), audited with the operator, the reason and the state before and after. The token is
        refused (401) from the next request on, and its open order streams and TCP connections are ended at once
        (`hft.live.auth.OpenConnections`). The entry's ``exp``: the body's, or that of a token of this id the
        service verified, whichever is later (None: neither; kept until lifted)."""
        g, body = await self._admin_grant(scope, receive)
        r = O.decode_token_revoke(body)
        who = f"{g.subject}: {r.reason}" if r.reason else g.subject
        cause = f"revoke:{who}"
        before = r.jti in self.live.revoked
        seen = self.verifier.exp_of(r.jti)
        exp = max((int(e) for e in (r.exp, seen) if e is not None), default=None) if r.revoked else None
        self.live.control("revoke", cause, O.encode({"jti": r.jti, "revoked": r.revoked, "by": g.subject,
                                                     "exp": exp}).decode())
        closed = self.verifier.connections.end(r.jti) if r.revoked else 0
        return 200, O.encode({"jti": r.jti, "before": "revoked" if before else "active",
                              "after": "revoked" if r.revoked else "active", "exp": exp,
                              "connections_closed": closed, "cause": cause}), _JSON

    def _admin_limits_get(self, scope: dict) -> tuple[int, bytes, list]:
        """The limits in force (`hft.gateway.config.limit_tables`: the config file's layout, integer units)."""
        g = self._grant(scope)
        self._admin_only(g)
        return 200, O.encode(limit_tables(self.gw.config)), _JSON

    async def _admin_limits(self, scope: dict, receive: Any) -> tuple[int, bytes, list]:
        """Change one level's limits: read by the config's parser (a bad key or value: 400 naming it, nothing
        changed), answered with each limit's before and after; applied at once as a journaled, audited control
        (``limits``) unless ``dry_run``."""
        g, body = await self._admin_grant(scope, receive)
        u = O.decode_limits_update(body)
        changes = limits_admin.plan_update(self.gw.config, u)
        who = f"{g.subject}: {u.reason}" if u.reason else g.subject
        cause = f"limits:{who}"
        if not u.dry_run:
            limits_admin.apply(self.live, changes, cause, g.subject)
        return 200, O.encode({"dry_run": u.dry_run, "applied": bool(changes) and not u.dry_run, "changes": changes,
                              "cause": cause}), _JSON

    def _health(self, detail: bool = True) -> tuple[int, bytes, list]:
        """/health: 200 when ready, else 503; without `detail` only ``{"status", "ready"}``."""
        live = self.live
        status = ("ok" if live.running else "writer_stopped") if self.ready else "starting"
        ready = self.ready and live.running
        if not detail:
            return (200 if ready else 503), O.encode({"status": status, "ready": ready}), _JSON
        wal = live.wal.metrics() if live.wal is not None else {}
        p = live.pressure
        body = {"status": status, "ready": ready,
                "mode": self.gw.mode_name, "storm": self.gw.storm_level_name,
                "strategy_modes": self.gw.strategy_modes(),  # the strategies not enabled (/admin/strategy/...)
                "ingress": {"killed": p.killed, "cause": p.kill_cause, "depth": live.channel.qsize(),
                            "capacity": p.capacity, "utilisation_pct": p.utilisation(live.channel.qsize())},
                "wal": {k: wal.get(k) for k in ("wal_dir", "segment", "records_written", "fsyncs",
                                                "data_loss_events", "disk_level") if k in wal},
                "venue": live.venue.health() if hasattr(live.venue, "health") else {},
                "snapshot": {"taken": live.snapshots, "last": live.last_snapshot, "failures": live.snapshot_failures,
                             "failing": live.snapshot_error},
                **({"sessions": live.sessions_health()} if live.calendar is not None else {}),
                **self.health_extra()}
        return (200 if body["ready"] else 503), O.encode(body), _JSON


def _only(method: str, allowed: str) -> None:
    if method != allowed:
        raise HttpError(405, {"error": "METHOD_NOT_ALLOWED", "reason": f"expected {allowed}, was {method}"})


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for k, v in headers:
        if k == name:
            return v.decode("latin-1")
    return None


def _order_id(s: str) -> int:
    if not (s.isascii() and s.isdigit()) or len(s) > 18:  # str.isdigit() alone takes '²' and Arabic-Indic digits
        raise O.BadInput("order_id", f"expected a positive integer order id, was {s!r}")
    return int(s)
