"""`hft strategy live`: a strategy of the simulator run against the live service, every order through its order API.

The strategy is the replay's own class (`hft.sim.strategy_loader`: a registered name, ``FILE.py:Class`` or
``module:Class``, its parameters from a ``strategies:`` section as in a replay config), driven through the same
`hft.sim.strategy.Context`; only what is behind the context differs (`LiveEngine`):

* **market data**: the service's market stream (``GET /market/stream?symbol=Y``, `hft.live.stream.MarketStream`):
  ``on_trade`` for each print, ``on_book`` when the book changed. The local book holds the levels the stream
  carries (`hft.core.orders.MARKET_DEPTH` a side: ``ctx.depth(n)`` gives at most that many). ``ctx.queue_ahead``
  is what the venue said: a resting order's queue ahead at entry as its ACK reported it (the paper venue reports
  the simulator venue's; 0 once the order is filled in part as a maker: nothing is ahead of it), -1 when the venue
  did not say (a FIX venue, the loopback venue), after a replace and once the order no longer works. The runner
  has no venue state: unlike a replay's, the number is not followed as the queue moves.
* **its orders**: ``ctx.submit / cancel / replace`` are ``POST /orders`` (durable; the child's client order id is
  its idempotency key), ``POST /orders/{id}/cancel`` and ``/replace``, and return the gateway's decision
  (`LiveDecision`: ``accepted``, ``reason``, ``order_id``): a child refused by the gateway's limits, band or rates
  is not in ``ctx.orders``, exactly as in a replay, so the algorithm's rule catches it up. Reports come from the
  order-update stream (``GET /orders/stream``) and reach ``on_order_update`` as `OrderUpdate`; each fill is booked
  by the replay's one accounting rule (`hft.sim.fees.book_fill`) with the fee the venue reported (the update's
  ``fee`` / ``fee_frac``, exact to a millionth of a money unit): ``ctx.position``, ``ctx.cash`` (fees paid
  included), ``ctx.fees``, ``ctx.pnl`` and ``ctx.fills`` are what a replay shows for the same fills, and a fill's
  maker / taker flag is the venue's (``OrderUpdate.maker``, ``Fill.liquidity``; 0 in ``ctx.fills`` when the venue
  did not say). A restarted run's fills read back (below) carry their exact fee and liquidity (an order's view
  keeps them), so a resumed run's cash and fees are an uninterrupted run's.
* **time**: ``ctx.now`` is the wall clock (ns UTC); ``on_timer`` ticks every ``timer_ns`` from the first book the
  stream delivers (the replay's "first event"), ``ctx.at`` wakes at a wall time. In ``on_timer`` and ``on_wake``
  ``ctx.now`` is the time of the tick or wake-up (the callback runs at it or just after it): ticks missed while
  the loop was busy are one tick, the latest.

Client order ids are ``<strategy key>-<run id>-<n>`` (n = 1, 2, … in the order sent, replaces included; the run
id defaults to the start time to the millisecond, ``20261129T045001123``). A runner started again with the same
``--run-id`` first reads back the children of that run (``GET /orders/client/{id}``, n = 1, 2, … until 64 in a row
are unknown: a child the gateway refused has no order): their fills count, the working ones are its orders again,
and numbering goes on after them, so a restart never sends a child twice and the parent is not executed twice. A repeated request (a retry of a POST
whose answer was lost) is the service's duplicate, answered with the original decision.

The run ends when the strategy says it is ``done`` (an execution algorithm: its parent is filled) and none of its
orders works, after ``--max-seconds``, or on SIGINT / SIGTERM: then its working orders are cancelled (and their
answers awaited) before it exits 0. An error (of the strategy, or the service gone) cancels them too, then is
raised.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import json
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from hft.config.strict import Section, load_yaml
from hft.core.dtypes import BUY, EV_LEVEL_SET, NO_PRICE, SELL
from hft.core.errors import ConfigError, HftError
from hft.core.orders import (
    LIQ_MAKER,
    LIQ_NONE,
    LIQUIDITY_CODES,
    NO_OPTIONS,
    OPT_DISPLAY,
    OPT_EXPIRE,
    OPT_OCO,
    OPT_PARENT,
    OPT_TRAIL,
    OPT_TRIGGER,
    ORDER_TYPE_NAMES,
    R_BAD_INPUT,
    REASON_NAMES,
    REPORT_ACK,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_KIND_NAMES,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACED,
    STOP_TYPES,
    TIF_GTD,
    TIF_NAMES,
)
from hft.sim.run_records import FILL_LOG
from hft.sim.strategy import Context, OrderState, OrderUpdate, Strategy

__all__ = ["AlgoConfig", "LiveDecision", "LiveEngine", "ServiceClient", "load_algo_config", "run_live"]

_REASONS = {v: k for k, v in REASON_NAMES.items()}
_KINDS = {v: k for k, v in REPORT_KIND_NAMES.items()}
_SIDE_NAMES = {BUY: "buy", SELL: "sell"}
_ENDS = (REPORT_FILL, REPORT_CANCELED, REPORT_REJECTED, REPORT_EXPIRED)  # an order's last report


class ServiceError(HftError):
    """The service refused the runner (its token, a route) or cannot be reached."""

    exit_code = 13


@dataclass(frozen=True)
class AlgoConfig:
    """A parsed ``hft strategy live`` config (`load_algo_config`)."""

    strategy: str  # the spec, as ``hft replay -s``
    params: dict[str, dict[str, Any]]  # the ``strategies:`` section
    account: str
    strategy_id: str  # the gateway strategy the orders trade as
    symbol: str
    file: str = ""


def load_algo_config(path: str | Path) -> AlgoConfig:
    """Read a runner config (strict: unknown keys are errors)::

        strategy: twap                      # as `hft replay -s`: a registered name, FILE.py:Class, module:Class
        strategies:                         # parameters, as in a replay config
          twap: {side: 1, qty: 20, duration_ns: 60000000000, slices: 6, max_child: 5}
        account: ACC1                       # what the orders trade as: the token must allow it
        strategy_id: algo1                  # the gateway strategy (limits, rates) the orders count against
        symbol: GOOG
    """
    root = Section(load_yaml(path), str(path))
    params = root.raw("strategies", {})
    if not isinstance(params, dict) or not all(isinstance(v, dict) for v in params.values()):
        root.fail("strategies", "a mapping of strategy name -> its parameters", params)
    cfg = AlgoConfig(root.str("strategy"), params, root.str("account"), root.str("strategy_id"), root.str("symbol"),
                     str(path))
    root.done()
    return cfg


@dataclass(frozen=True)
class LiveDecision:
    """The gateway's answer to one of the runner's orders (the replay's `Decision` fields a strategy reads)."""

    accepted: bool
    reason: int  # hft.core.orders.R_* (0: accepted)
    order_id: int
    duplicate: bool = False
    status: int = 0  # the HTTP status
    client_order_id: str = ""

    @property
    def reason_name(self) -> str:
        return REASON_NAMES.get(self.reason, str(self.reason))


class ServiceClient:
    """The order API of one service for one token: JSON requests on a kept-alive connection, and its SSE streams."""

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        u = urlsplit(url if "://" in url else f"http://{url}")
        if u.scheme != "http" or not u.hostname:
            raise ConfigError(f"--service: expected http://HOST:PORT, was {url!r}", key="service")
        self.host, self.port = u.hostname, u.port or 80
        self.token = token
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
                ) -> tuple[int, Any]:
        """(status, the JSON answer); one retry on a fresh connection when a kept-alive one was closed (safe: the
        order routes are idempotent by their keys)."""
        data = json.dumps(body).encode() if body is not None else None
        h = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json", **(headers or {})}
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self._conn.request(method, path, body=data, headers=h)
                r = self._conn.getresponse()
                payload = r.read()
            except (OSError, http.client.HTTPException) as exc:
                self._conn.close()
                self._conn = None
                if attempt:
                    raise ServiceError(f"service {self.host}:{self.port}: {method} {path}: {exc}") from None
                continue
            return r.status, json.loads(payload) if payload else {}
        raise AssertionError("unreachable")

    def events(self, path: str, stop: threading.Event, last_id: int | None = None,
               connected: threading.Event | None = None) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """The events of an SSE route as (id, event, data), resumed after the last one seen when the connection
        drops (``Last-Event-ID``), until `stop` is set; `connected` is set once the stream is answered."""
        while not stop.is_set():
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)  # > the 15 s heartbeat
            h = {"Authorization": f"Bearer {self.token}"}
            if last_id is not None:
                h["Last-Event-ID"] = str(last_id)
            try:
                conn.request("GET", path, headers=h)
                r = conn.getresponse()
                if r.status != 200:
                    raise ServiceError(f"service {self.host}:{self.port}: GET {path}: {r.status} "
                                       f"{r.read().decode(errors='replace')}")
                if connected is not None:
                    connected.set()
                eid, name, data = None, "", ""
                while not stop.is_set():  # (a reader is a daemon thread: `stop` ends it at its next line)
                    line = r.readline()
                    if not line:
                        break  # the server closed it: resume
                    line = line.rstrip(b"\r\n").decode()
                    if line.startswith("id: "):
                        eid = int(line[4:])
                    elif line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        data = line[6:]
                    elif not line and data:  # (a line ":" is a comment: the heartbeat)
                        if eid is not None:
                            last_id = eid
                        yield eid or 0, name, json.loads(data)
                        eid, name, data = None, "", ""
            except (OSError, http.client.HTTPException):
                time.sleep(0.2)
            finally:
                conn.close()


class _Clock:
    """The wall clock (ns UTC), or the time of the tick or wake-up whose callback runs (`pinned`): a timer then
    sees its own tick's time, as in a replay, however late the loop reached it, so a schedule's buckets
    (`hft.sim.strategies.execution`) never see a tick before its time."""

    pinned: int | None = None

    def now_ns(self) -> int:
        return time.time_ns() if self.pinned is None else self.pinned


@dataclass
class _ReportedQueue:
    """The live leg's venue as the runner knows it: the queue ahead the venue reported for each resting order
    (module docstring); the engine keeps it (`LiveEngine.on_report`)."""

    engine: Any = field(default=None, repr=False)  # the `LiveEngine` (its working orders)
    queue: dict[int, int] = field(default_factory=dict)  # order id -> lots ahead, as the venue last said

    def queue_ahead(self, order_id: int) -> float:
        if order_id not in self.engine.live_orders:
            return -1.0
        return float(self.queue.get(order_id, -1))


@dataclass
class LiveEngine:
    """What `Context` reads and calls, over the service (module docstring). Single-threaded: the stream readers
    only queue what they read; `run_live` applies it."""

    strategy: Strategy
    key: str  # the strategy's config key (the client order ids' prefix)
    run_id: str
    client: ServiceClient
    account: str
    strategy_id: str
    symbol: str
    out: Callable[[str], None] = print
    legs: list[Any] = field(default_factory=list)
    cur: int = 0
    clock: _Clock = field(default_factory=_Clock)
    live_orders: dict[int, OrderState] = field(default_factory=dict)
    _leg_of: dict[int, int] = field(default_factory=dict)
    _fill_rows: list[tuple] = field(default_factory=list)
    sent: int = 0  # children numbered so far (the n of the next client order id is sent + 1)
    refused: int = 0
    wakes: list[tuple[int, int, Any]] = field(default_factory=list)
    own: dict[int, int] = field(default_factory=dict)  # order id -> side, of every order of this run
    read_back: dict[int, int] = field(default_factory=dict)  # order id -> lots filled when `resume` read it
    levels: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])  # the book's levels the stream gave

    def __post_init__(self) -> None:
        from hft.book.l2 import new_book  # lazy: numba
        from hft.sim.legs import Leg

        self.venue = _ReportedQueue(self)
        self.legs = [Leg(0, self.symbol, self.venue, False, None, new_book(0, 1023, 0, 1023))]
        self.ctx = Context(self)  # type: ignore[arg-type]  # the engine the context drives: this one, live

    # --- the context's calls
    def coid(self, n: int) -> str:
        return f"{self.key}-{self.run_id}-{n}"

    def submit(self, side: int, price: int, qty: int, otype: int | None, tif: int | None, leg: int = 0,
               opt: tuple = NO_OPTIONS) -> Any:
        trigger, expire, display, trail = opt[OPT_TRIGGER], opt[OPT_EXPIRE], opt[OPT_DISPLAY], opt[OPT_TRAIL]
        self.sent += 1
        coid = self.coid(self.sent)
        body = {"client_order_id": coid, "account": self.account, "strategy": self.strategy_id,
                "symbol": self.symbol, "side": _SIDE_NAMES.get(side, side), "qty": qty, "price": price,
                "order_type": ORDER_TYPE_NAMES.get(otype or 1, otype), "tif": TIF_NAMES.get(tif or 1, tif)}
        if trigger or otype in STOP_TYPES:  # a stop / stop-limit: held by the service's venue until `trigger` prints
            body["trigger"] = trigger
        if expire or tif == TIF_GTD:  # a GTD order: expired by the service's venue at `expire` (ns UTC: ctx.now's)
            body["expire"] = expire
        if display:  # an iceberg: the venue shows `display` lots at a time
            body["display"] = display
        if trail:  # a trailing stop: the venue moves its trigger toward the prints, `trail` ticks behind them
            body["trail"] = trail
        if opt[OPT_OCO]:  # paired with that working order: the venue cancels one when the other fills or ends
            body["oco"] = opt[OPT_OCO]
        if opt[OPT_PARENT]:  # a bracket child: the venue holds it until that entry has no leaves
            body["parent"] = opt[OPT_PARENT]
        d = self._decision(*self.client.request("POST", "/orders", body, {"Idempotency-Key": coid}), coid)
        if d.accepted:
            self.own[d.order_id] = side
            if not d.duplicate:
                self.live_orders[d.order_id] = OrderState(d.order_id, side, price, qty, qty, "pending_new")
            self.out(f"child {coid}: {_SIDE_NAMES.get(side, side)} {qty} @ {price} -> order {d.order_id}")
        else:
            self.refused += 1
            self.out(f"child {coid}: {_SIDE_NAMES.get(side, side)} {qty} @ {price} refused: {d.reason_name}")
        return d

    def cancel(self, order_id: int) -> Any:
        coid = f"{self.coid(0)}-cancel-{order_id}"
        d = self._decision(*self.client.request("POST", f"/orders/{order_id}/cancel", {"client_order_id": coid}),
                           coid)
        if d.accepted and order_id in self.live_orders:
            self.live_orders[order_id].status = "pending_cancel"
        return d

    def replace(self, order_id: int, price: int, qty: int) -> Any:
        self.sent += 1
        coid = self.coid(self.sent)
        d = self._decision(*self.client.request("POST", f"/orders/{order_id}/replace",
                                                {"price": price, "qty": qty, "client_order_id": coid}), coid)
        if d.accepted and order_id in self.live_orders:
            self.live_orders[order_id].status = "pending_replace"
        return d

    def wake_at(self, t: int, payload: Any) -> None:
        heapq.heappush(self.wakes, (int(t), len(self.wakes), payload))

    def _decision(self, status: int, body: Any, coid: str) -> LiveDecision:
        if status in (401, 403):
            raise ServiceError(f"the service refused the token: {status} {body.get('reason', body)}")
        if "accepted" in body:
            return LiveDecision(bool(body["accepted"]), _REASONS.get(body.get("reason", ""), -1) if not
                                body["accepted"] else 0, int(body.get("order_id", 0)), bool(body.get("duplicate")),
                                status, coid)
        # refused before the gateway (bad input 400, queue pressure 503 KILLED, 404 unknown order)
        reason = R_BAD_INPUT if status in (400, 413) else _REASONS.get(str(body.get("error", "")), -1)
        return LiveDecision(False, reason, 0, False, status, coid)

    # --- what the streams bring
    def on_market(self, m: dict[str, Any]) -> bool:
        """A market-stream event: ``on_trade`` for a print; its levels into the local book. Whether the book
        changed (then ``on_book`` is due)."""
        if m["kind"] == "trade":
            self.ctx.deliver_trade(int(m["side"]), int(m["price"]), int(m["qty"]))
        levels = ([(int(p), int(q)) for p, q in m["bids"]], [(int(p), int(q)) for p, q in m["asks"]])
        if levels == self.levels:
            return False
        from hft.sim.run_events import local  # lazy: numba

        leg = self.legs[0]
        for side, new, old in ((BUY, levels[0], self.levels[0]), (SELL, levels[1], self.levels[1])):
            gone = {p for p, _ in old} - {p for p, _ in new}
            for p in gone:
                local(leg, EV_LEVEL_SET, side, p, 0)
            for p, q in new:
                local(leg, EV_LEVEL_SET, side, p, q)
        self.levels = levels
        (b, bq), (a, aq) = (levels[0][0] if levels[0] else (None, 0)), (levels[1][0] if levels[1] else (None, 0))
        leg.local_top = (b, bq, a, aq)
        leg.top[:] = (NO_PRICE if b is None else b, bq, NO_PRICE if a is None else a, aq)
        return True

    def on_report(self, u: dict[str, Any], deliver: bool = True) -> None:
        """An order-update event of one of this run's orders: its fill into the leg's accounting and
        ``ctx.fills``, the order view (`hft.sim.run_events.order_state`), then ``on_order_update``."""
        from hft.sim.run_events import order_state  # lazy: numba

        oid, kind = int(u["order_id"]), _KINDS.get(u["kind"], 0)
        price, qty, leaves = int(u["price"]), int(u["qty"]), int(u["leaves"])
        fee, frac = int(u.get("fee", 0)), int(u.get("fee_frac", 0))  # the venue's exact fee
        liq = LIQUIDITY_CODES.get(u.get("liquidity", ""), LIQ_NONE)  # its maker / taker flag ("": not said)
        side = self.own.get(oid, 0)
        now = self.clock.now_ns()
        fill = kind in (REPORT_FILL, REPORT_PARTIAL_FILL)
        if fill and "filled" in u and int(u["filled"]) <= self.read_back.get(oid, -1):
            # a fill `resume` read back and delivered already (the stream opened before the orders were read)
            order_state(self.live_orders, oid, kind, price, leaves)
            return
        if fill:  # the one accounting rule of a fill (`hft.sim.fees.book_fill`), with the venue's fee
            from hft.sim.fees import FEE_FRAC_UNITS, book_fill, fill_refusal  # lazy: numba

            if not 0 <= frac < FEE_FRAC_UNITS:
                raise ServiceError(f"order update {u.get('seq', '?')}: fee_frac {frac}: expected 0 <= fee_frac < "
                                   f"{FEE_FRAC_UNITS} (millionths of a money unit)", key="fee_frac")
            leg = self.legs[0]
            what, pos, cash, fees, fees_frac = book_fill(side, price, qty, leg.mult, fee, frac, leg.position,
                                                         leg.cash, leg.fees, leg.fee_frac)
            if what:
                raise fill_refusal(what, int(u["ts"]), oid, side, price, qty, fee, leg.mult, leg.position, leg.cash,
                                   leg.fees)
            leg.position, leg.cash, leg.fees, leg.fee_frac = int(pos), int(cash), int(fees), int(fees_frac)
            self._fill_rows.append(FILL_LOG.pack(ts=int(u["ts"]), local_ts=now, order_id=oid, price=price, qty=qty,
                                                 leaves=leaves, fee=fee, fee_frac=frac, side=side, kind=kind,
                                                 liquidity=liq))
        self._queue_of(oid, kind, liq, int(u.get("queue", -1)))
        order_state(self.live_orders, oid, kind, price, leaves)
        if deliver:
            self.strategy.on_order_update(self.ctx, OrderUpdate(now, oid, kind, price, qty, leaves, fee,
                                                                liq == LIQ_MAKER, int(u["ts"]), frac))

    def _queue_of(self, oid: int, kind: int, liq: int, queue: int) -> None:
        """What the report says of the order's queue ahead (`_ReportedQueue`): an ACK's as the venue said it; 0
        after a maker fill (the order was at the front); unknown after a replace; gone once it ended."""
        q = self.venue.queue
        if kind == REPORT_ACK:
            q[oid] = queue
        elif kind == REPORT_PARTIAL_FILL and liq == LIQ_MAKER:
            q[oid] = 0
        elif kind == REPORT_REPLACED:
            q[oid] = queue
        elif kind in _ENDS:
            q.pop(oid, None)

    def resume(self, misses: int = 64) -> int:
        """The children of this run already sent (a runner started again with its run id): each read back by its
        client order id, n = 1, 2, … until `misses` in a row are unknown (a child the gateway refused has no
        order); their fills are applied (``on_order_update``), the working ones are this run's orders again, and
        numbering goes on after the last one found. Returns how many were found."""
        n = found = 0
        k = 0
        while k - n <= misses:
            k += 1
            status, v = self.client.request("GET", f"/orders/client/{quote(self.coid(k), safe='')}")
            if status != 200:
                continue
            n, found = k, found + 1
            oid, side = int(v["order_id"]), 1 if v["side"] == "buy" else -1
            self.own[oid] = side
            self.read_back[oid] = int(v["filled"])
            if v["status"] in ("accepted", "working", "partially_filled", "cancel_pending"):
                self.live_orders[oid] = OrderState(oid, side, int(v["price"]), int(v["qty"]),
                                                   int(v.get("leaves", v["qty"])), "working")
            for f in v.get("fills", []):  # each with its exact fee and liquidity (none from an older service)
                self.on_report({"order_id": oid, "kind": "partial_fill", "price": f["price"], "qty": f["qty"],
                                "leaves": -1, "ts": f.get("ts", 0), "fee": f.get("fee", 0),
                                "fee_frac": f.get("fee_frac", 0), "liquidity": f.get("liquidity", "")})
        self.sent = n
        return found

    @property
    def filled(self) -> int:
        qty = FILL_LOG.index["qty"]
        return sum(r[qty] for r in self._fill_rows)


def run_live(cfg: AlgoConfig, service: str, token: str, *, run_id: str | None = None, max_seconds: float = 0.0,
             out: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the strategy of `cfg` against the service at `service` with `token` (module docstring) until it is done,
    `max_seconds` pass (0: no limit) or SIGINT / SIGTERM; returns the run's summary."""
    from hft.sim.strategy_loader import make, user_errors  # lazy: numba

    spec, strategy = make(cfg.strategy, cfg.params)
    client = ServiceClient(service, token)
    t = time.time_ns()
    rid = run_id or f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(t // 10**9))}{t // 10**6 % 1000:03d}"
    eng = LiveEngine(strategy, spec.key, rid, client, cfg.account, cfg.strategy_id, cfg.symbol, out)
    stop = threading.Event()  # a signal: the run stops
    halt = threading.Event()  # the stream readers stop (after the cancels were answered)
    inbox: queue.Queue[tuple[str, int, str, dict[str, Any]]] = queue.Queue()
    stopped: list[int] = []

    def on_signal(sig: int, _frame: Any) -> None:
        """The first SIGINT / SIGTERM stops the run gracefully (its working orders cancelled); the command's own
        handler takes the signals back, as `hft gateway serve` hands them back (architecture.md, rule 12): a
        repeat within its window is left alone, a later one exits at once."""
        stopped.append(sig)
        stop.set()
        for s, h in before.items():
            signal.signal(s, h)
        graceful = getattr(before.get(sig), "graceful", None)  # `hft.core.interrupts.Interrupts`
        if graceful is not None:
            graceful(sig, time.monotonic())

    prefix = eng.coid(0)[:-1]  # "<key>-<run id>-": this run's client order ids

    def read(name: str, path: str, connected: threading.Event) -> None:
        try:
            for eid, event, data in client.events(path, halt, None, connected):
                inbox.put((name, eid, event, data))
        except HftError as exc:
            inbox.put(("error", 0, "", {"message": exc.message}))

    status, _ = client.request("GET", "/health")
    if status != 200:
        raise ServiceError(f"service {service}: /health answered {status}")
    before: dict[int, Any] = {}
    reason = "done"
    try:
        ready = [threading.Event(), threading.Event()]
        for args in (("orders", "/orders/stream", ready[0]),
                     ("market", f"/market/stream?symbol={quote(cfg.symbol)}", ready[1])):
            threading.Thread(target=read, args=args, daemon=True).start()
        # its order updates are read from before the first order (the stream gives those published after it opens)
        end = time.monotonic() + client.timeout
        while not ready[0].wait(0.1):
            if not inbox.empty() and inbox.queue[0][0] == "error":
                raise ServiceError(inbox.queue[0][3]["message"])
            if time.monotonic() > end:
                raise ServiceError(f"service {service}: GET /orders/stream did not open in {client.timeout:g} s")
        if threading.current_thread() is threading.main_thread():  # (signal handlers are the main thread's)
            before = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        t_start = time.monotonic()
        out(f"hft strategy live: {spec.key} on {cfg.symbol} as {cfg.account}/{cfg.strategy_id}, run {rid}, "
            f"service {client.host}:{client.port}")
        with user_errors(cfg.strategy, strategy):
            try:
                if run_id is not None and (found := eng.resume()):
                    out(f"resumed run {rid}: {found} children sent before, {eng.filled} lots filled")
                strategy.on_start(eng.ctx)
                timer_ns = int(getattr(strategy, "timer_ns", 0) or 0)
                next_timer: int | None = None
                while True:
                    if stop.is_set():
                        reason = f"stopped by {signal.Signals(stopped[0]).name}" if stopped else "stopped"
                        break
                    if getattr(strategy, "done", False) and not eng.live_orders:
                        break
                    if max_seconds and time.monotonic() - t_start >= max_seconds:
                        reason = f"--max-seconds {max_seconds:g} passed"
                        break
                    now = time.time_ns()
                    due = min([t for t in (next_timer, eng.wakes[0][0] if eng.wakes else None) if t is not None],
                              default=now + 200_000_000)
                    try:
                        name, _eid, _event, data = inbox.get(timeout=max(0.0, min(due - now, 200_000_000)) / 1e9)
                    except queue.Empty:
                        name = ""
                    if name == "error":
                        raise ServiceError(data["message"])
                    if name == "market":
                        if eng.on_market(data):
                            if next_timer is None and timer_ns > 0:
                                next_timer = time.time_ns() + timer_ns
                            strategy.on_book(eng.ctx)
                    elif name == "orders" and str(data.get("client_order_id", "")).startswith(prefix):
                        eng.on_report(data)
                    now = time.time_ns()
                    while eng.wakes and eng.wakes[0][0] <= now:
                        eng.clock.pinned, _, payload = heapq.heappop(eng.wakes)
                        strategy.on_wake(eng.ctx, payload)
                        eng.clock.pinned = None
                    if next_timer is not None and now >= next_timer:
                        eng.clock.pinned = next_timer + timer_ns * ((now - next_timer) // timer_ns)  # the latest tick due
                        next_timer = eng.clock.pinned + timer_ns
                        strategy.on_timer(eng.ctx)
                        eng.clock.pinned = None
            except BaseException:  # an error of the strategy or the service: its working orders go first
                with contextlib.suppress(Exception):
                    _cancel_working(eng, inbox, prefix, wait_s=2.0)
                raise
            cancelled = _cancel_working(eng, inbox, prefix)
    finally:
        halt.set()
        for s, hnd in before.items():
            signal.signal(s, hnd)
    summary = {"strategy": spec.key, "run_id": rid, "symbol": cfg.symbol, "reason": reason, "children": eng.sent,
               "refused": eng.refused, "filled": eng.filled, "position": eng.legs[0].position,
               "cash": eng.ctx.cash, "fees": eng.ctx.fees,  # money units (ctx.cash / ctx.fees: fees booked)
               "cancelled": cancelled, "working": len(eng.live_orders)}
    qty = getattr(strategy, "qty", None)
    out(f"{reason}: filled {eng.filled}" + (f"/{qty}" if qty is not None else "") + f" lots in {eng.sent} children "
        f"({eng.refused} refused), {cancelled} cancelled, {len(eng.live_orders)} working")
    return summary


def _cancel_working(eng: LiveEngine, inbox: queue.Queue, prefix: str, wait_s: float = 5.0) -> int:
    """Cancel this run's working orders and apply the reports that answer them (for up to `wait_s`)."""
    ids = list(eng.live_orders)
    for oid in ids:
        eng.cancel(oid)
    end = time.monotonic() + wait_s
    while eng.live_orders and time.monotonic() < end:
        try:
            name, _eid, _event, data = inbox.get(timeout=0.1)
        except queue.Empty:
            continue
        if name == "orders" and str(data.get("client_order_id", "")).startswith(prefix):
            eng.on_report(data, deliver=False)
    return len(ids)
