"""`PaperVenue`: the simulator's venue behind the live dispatcher, fed by a recorded day on the wall clock.

The venue is the one `hft replay` builds (`hft.sim.replay.build_venue`: L3 with the LOBSTER pre-open book and
reference resync, or L2 with the configured queue model), with the replay config's defaults. The recorded
events are applied in order as the wall clock reaches their (scaled) exchange time: event i is due at
``start_wall + (exch_ts[i] - exch_ts[0]) / speed``. Our orders meet the book as it stands at that moment (no
latency model: the live path has its own). Reports (ours only: the replay is exogenous) go back through the
service's ``on_report``, each with what the venue knows beyond the execution report (the replay's venue report,
`hft.core.orders.VENUE_REPORT`): a fill's liquidity (maker: it rested; taker: it crossed) and an ACK's queue ahead
at entry (the lots before ours at its price: exact on L3, the displayed level on L2; -1 when it did not rest);
trade prices mark the symbol (at most every `mark_every_ns` of wall time), which
drives the gateway's price band, unrealised PnL and market-move trigger. What the venue sees of the market goes to
the service's market stream (``GET /market/stream``, `hft.live.engine.LiveGateway.on_market`): every trade print
(its aggressor side, price and size) and, once per turn of the feed, the book's top `MARKET_DEPTH` levels when
they changed (the market's book: our own orders are not in it).

Good-till-date orders and icebergs are the simulator venue's too. A GTD order's ``expire`` (ns UTC, the
gateway's clock) is put on the venue's clock by the same scaling (``start_exch + (expire - start_wall) * speed``)
and expired there (`L2Venue.expire` / `L3Venue.expire`: EXPIRED, leaves 0) when the feed reaches that time, after
the day's events at or before it (a replay's order: market data first at equal times); an order reaching the venue
after its expiry is answered as in a replay (`hft.sim.venue_common.gtd_expiry`): ACK, what it can take at once,
then EXPIRED. The feed keeps the venue's clock running after the day's last event, for the expiries. An iceberg
(``display``) shows min(display, leaves) and refills at the back of its level, on the L2 and the L3 venue
(docs/sim.md, "Iceberg orders held by the venue").

Not crash-durable: the venue lives in the server's process, so after a crash it restarts with the day from
its beginning and knows none of the orders before; reconciliation (`received()`) is therefore not offered, and
nothing is re-sent. An order sent before the restart ended with that session: the recovery expires every order
still working at the gateway (``session_restarts``, `hft.live.recovery`) — a GTD order whose time passed while
the service was down included: it ends EXPIRED, never filled by the restarted day —, and a cancel or replace of an order
this venue never received is answered EXPIRED too (removed by the session's end; the simulator's venue alone
would answer CANCEL_REJECTED, leaving it working for ever).
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.dtypes import EV_EXEC, EV_HIDDEN_EXEC, EV_TRADE, NO_PRICE
from hft.core.errors import ConfigError
from hft.core.orders import (
    CMD_CANCEL,
    CMD_NEW,
    CMD_REPLACE,
    MARKET_BOOK,
    MARKET_DEPTH,
    MARKET_TRADE,
    MARKET_UPDATE_DTYPE,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    VENUE_REPORT_DTYPE,
)
from hft.data.sources import open_market_data
from hft.gateway.intents import ExecutionReport, OrderCommand, report_from_row
from hft.live.venue import VenueContext
from hft.sim.replay import build_venue, load_replay_config
from hft.sim.venue_common import gtd_expiry


class PaperVenue:
    """See the module docstring. Build with `from_data`."""

    session_restarts = True  # every start is a new session: the recovery expires the orders of the one before

    def __init__(self, venue: Any, events: np.ndarray, symbol: str, speed: float = 1.0,
                 mark_every_ns: int = 100_000_000, source: str = "") -> None:
        if speed <= 0:
            raise ConfigError(f"paper venue: speed: expected > 0, was {speed}", key="speed")
        self.venue = venue
        self.events = events
        self.symbol = symbol
        self.speed = float(speed)
        self.mark_every_ns = mark_every_ns
        self.source = source
        self.i = 0  # next event
        self.exch_now = int(events["exch_ts"][0]) if len(events) else 0
        self.on_report: Callable[[ExecutionReport], None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sent = 0
        self.reports = 0
        self.fills = 0
        self.last_trade = 0
        self.expired_unknown = 0  # cancels / replaces of orders sent before a restart, answered EXPIRED
        self.duplicates = 0  # new orders with an id received already: refused, not executed again
        self.expired = 0  # GTD orders expired at their time (EXPIRED reports)
        self._expiries: list[tuple[int, int]] = []  # heap of (venue time, order id): the GTD orders' expiries
        self._gtd_working: set[int] = set()  # the GTD orders among them still working (no report of 0 leaves yet)
        self._received: set[int] = set()  # ids of the new orders this venue received (since the process started)
        self._t0_wall = 0
        self._t0_exch = self.exch_now

    @classmethod
    def from_data(cls, data: str | Path | None, *, speed: float = 1.0, symbol: str | None = None) -> PaperVenue:
        if data is None or not Path(data).exists():
            raise ConfigError(f"--paper (venue.options.data): expected a recorded data file, {data} does not "
                              "exist", key="paper")
        md = open_market_data([Path(data)])
        cfg = load_replay_config(None)
        venue, _seed, _ref = build_venue(md, cfg)
        # compile (or load) the venue's kernels before the port opens, on a throwaway venue: a first call
        # inside the feed would block the event loop for the compile
        warm, _, _ = build_venue(md, cfg)
        e = md.events[0]
        warm.market(int(e["exch_ts"]), int(e["kind"]), int(e["side"]), int(e["price"]), int(e["qty"]),
                    int(e["order_id"]))
        warm.new(int(e["exch_ts"]), 1, 1, max(int(e["price"]), 1), 1, 1, 1)
        warm.cancel(int(e["exch_ts"]), 1)
        return cls(venue, md.events, symbol or md.instrument.symbol, speed, source=str(data))

    # ------------------------------------------------------------------ the venue adapter contract (hft.live.venue)
    def start(self, loop: asyncio.AbstractEventLoop, on_report: Callable[[ExecutionReport], None]) -> None:
        self.loop = loop
        self.on_report = on_report
        self._t0_wall = time.time_ns()

    def send(self, cmd: OrderCommand) -> None:
        self.sent += 1
        v, now, oid = self.venue, self.exch_now, int(cmd.order_id)
        due = -1
        if cmd.action in (CMD_CANCEL, CMD_REPLACE) and oid not in self._received:
            rows = np.zeros(1, VENUE_REPORT_DTYPE)  # sent before the restart: gone with that session
            rows[0]["ts"], rows[0]["order_id"], rows[0]["kind"], rows[0]["queue"] = now, oid, REPORT_EXPIRED, -1
            self.expired_unknown += 1
        elif cmd.action == CMD_NEW:
            if oid in self._received:  # a repeated id: never executed twice (the contract, `hft.live.venue`)
                self.duplicates += 1
                return
            self._received.add(oid)
            rows = v.new(now, int(cmd.order_id), int(cmd.side), int(cmd.price), int(cmd.qty), int(cmd.order_type),
                         int(cmd.tif), int(cmd.trigger), int(cmd.display),
                         int(cmd.trail))  # a stop: held; an iceberg: shown in part
            due = gtd_expiry(rows, len(rows), int(cmd.tif), self.exch_at(int(cmd.expire)), now)
            if due >= 0:  # a GTD order the venue keeps: expired at its time on the venue's clock
                heapq.heappush(self._expiries, (due, oid))
                self._gtd_working.add(oid)
        elif cmd.action == CMD_CANCEL:
            rows = v.cancel(now, int(cmd.order_id))
        elif cmd.action == CMD_REPLACE:
            rows = v.replace(now, int(cmd.order_id), int(cmd.price), int(cmd.qty))
        else:
            return
        self._deliver(rows)
        if 0 <= due <= now:  # it reached the venue at or after its expiry: ACK, what it took, then EXPIRED now
            self._expire_until(now)

    def exch_at(self, wall_ns: int) -> int:
        """The venue's time (the day's exchange clock) at wall time `wall_ns`: the feed's scaling."""
        return self._t0_exch + int((wall_ns - self._t0_wall) * self.speed)

    def _expire_until(self, t: int) -> None:
        """Expire the GTD orders due at venue time `t` or before, each at its time (the venue's clock moves on to
        it); an order no longer working there (filled, cancelled) gives no report."""
        heap = self._expiries
        while heap and heap[0][0] <= t:
            at, oid = heapq.heappop(heap)
            self.exch_now = max(self.exch_now, at)
            rows = self.venue.expire(self.exch_now, oid)
            self.expired += len(rows)
            self._deliver(rows)

    def _deliver(self, rows: np.ndarray) -> None:
        if not len(rows) or self.loop is None or self.on_report is None:
            return
        for r in rows:
            rep = report_from_row(r.tolist())  # a VENUE_REPORT row, by name
            self.reports += 1
            self.fills += rep.kind in (REPORT_PARTIAL_FILL, REPORT_FILL)
            if rep.leaves == 0:  # filled, cancelled, expired or rejected: nothing of the order works any more
                self._gtd_working.discard(rep.order_id)
            self.on_report(rep)

    def book(self, n: int = MARKET_DEPTH) -> tuple[int, ...]:
        """The market's book now, its best `n` levels a side: ``(bid_1, bid_qty_1, ask_1, ask_qty_1, bid_2, …)``
        (`hft.core.orders.MARKET_UPDATE`'s layout); a missing level's price is `NO_PRICE`, its size 0."""
        v = self.venue
        bp, bq, ap, aq = (np.full(n, NO_PRICE, np.int64), np.zeros(n, np.int64), np.full(n, NO_PRICE, np.int64),
                          np.zeros(n, np.int64))
        if hasattr(v, "market_top"):  # L3: the market's book, our orders left out (LOBSTER layout: ask, size, bid, size)
            row = v.market_top(n).reshape(n, 4)
            ap[:], aq[:], bp[:], bq[:] = row[:, 0], row[:, 1], row[:, 2], row[:, 3]
        else:  # L2 (`hft.sim.engine.L2MarketVenue`): its displayed book
            from hft.book.l2 import top_n  # lazy: numba

            top_n(v.v.book, bp, bq, ap, aq)
        bp[bq <= 0], ap[aq <= 0] = NO_PRICE, NO_PRICE
        bq[bq < 0], aq[aq < 0] = 0, 0
        return tuple(np.stack([bp, bq, ap, aq], axis=1).ravel().tolist())

    async def run_feed(self, live: Any, tick_s: float = 0.001, max_batch: int = 2000) -> None:
        """Apply the recorded events as the wall clock reaches them and expire the GTD orders at their time; mark
        the symbol with trade prices; publish the prints and the book's top levels (`live.on_market`, when the
        service offers it). After the day's last event the venue's clock runs on (every 10 ms) for the expiries."""
        ev = self.events
        ts, kind, side, price, qty, oid = (ev["exch_ts"], ev["kind"], ev["side"], ev["price"], ev["qty"],
                                          ev["order_id"])
        n = len(ev)
        next_mark = marked = 0
        market = self.venue.market
        publish = getattr(live, "on_market", None)
        shown: tuple[int, ...] = ()  # the book last published
        expiries = self._expiries
        while True:
            due = self.exch_at(time.time_ns())
            i = self.i
            stop = min(n, i + max_batch)  # bounded work per turn: the loop keeps serving requests
            prints: list[tuple[int, int, int, int, tuple[int, ...]]] = []
            while i < stop and ts[i] <= due:
                if expiries and expiries[0][0] < ts[i]:  # due before this event (at its time: after it)
                    self._expire_until(int(ts[i]) - 1)
                k = int(kind[i])
                self.exch_now = int(ts[i])
                self._deliver(market(self.exch_now, k, int(side[i]), int(price[i]), int(qty[i]), int(oid[i])))
                if k == EV_EXEC or k == EV_TRADE:
                    self.last_trade = int(price[i])
                if publish is not None and (k == EV_EXEC or k == EV_TRADE or k == EV_HIDDEN_EXEC):
                    aggressor = int(side[i]) if k == EV_TRADE else -int(side[i])  # an L3 execution's side rests
                    prints.append((self.exch_now, aggressor, int(price[i]), int(qty[i]), self.book()))
                i += 1
            applied = i > self.i
            self.i = i
            if expiries and (i == n or ts[i] > due):  # the events up to `due` applied: the expiries up to it
                self._expire_until(due)
            if publish is not None and applied:
                top = self.book()
                rows = np.zeros(len(prints) + (top != shown), MARKET_UPDATE_DTYPE)
                for j, (t, a, p, q, tp) in enumerate(prints):
                    _market_row(rows[j], t, MARKET_TRADE, tp, a, p, q)
                if top != shown:
                    _market_row(rows[-1], self.exch_now, MARKET_BOOK, top)
                    shown = top
                publish(self.symbol, rows)
            wall = time.time_ns()
            if self.last_trade != marked and wall >= next_mark:
                live.on_mark(self.symbol, self.last_trade)
                marked = self.last_trade
                next_mark = wall + self.mark_every_ns
            await asyncio.sleep(tick_s if self.i < n else max(tick_s, 0.01))

    def health(self) -> dict[str, Any]:
        return {"kind": "paper", "source": self.source, "symbol": self.symbol, "speed": self.speed,
                "events_applied": self.i, "events": len(self.events), "exchange_ts": self.exch_now,
                "orders_sent": self.sent, "reports": self.reports, "fills": self.fills,
                "last_trade": self.last_trade, "expired_unknown": self.expired_unknown,
                "duplicates": self.duplicates, "gtd_pending": len(self._gtd_working), "gtd_expired": self.expired}

    def close(self) -> None:
        pass


def paper(ctx: VenueContext) -> PaperVenue:
    """The ``paper`` adapter (`hft.live.venue`): options ``data`` (a recorded day, required), ``speed`` (default
    1.0) and ``symbol`` (the gateway symbol the day trades as; default the data's instrument)."""
    ctx.only("paper", "data", "speed", "symbol")
    speed = ctx.options.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, int | float):
        raise ConfigError(f"key 'venue.options.speed': expected a number > 0, was {speed!r}", key="venue.options.speed")
    return PaperVenue.from_data(ctx.options.get("data"), speed=float(speed), symbol=ctx.options.get("symbol"))


_LEVELS = [f"{side}_{k}" for k in range(1, MARKET_DEPTH + 1) for side in ("bid", "bid_qty", "ask", "ask_qty")]


def _market_row(row: np.void, exch_ts: int, kind: int, levels: tuple[int, ...], side: int = 0, price: int = 0,
                qty: int = 0) -> None:
    """One `MARKET_UPDATE` row by field name (`seq`, `ts` and `symbol` are set by `LiveGateway.on_market`);
    `levels` in `PaperVenue.book`'s order."""
    row["exch_ts"], row["kind"], row["side"], row["price"], row["qty"] = exch_ts, kind, side, price, qty
    for name, v in zip(_LEVELS, levels, strict=True):
        row[name] = v
