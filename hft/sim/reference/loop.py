"""The reference replay's event loop: one instrument (L2 or L3 data), one integer clock, four streams (docs/sim.md, "One clock,
four streams"), every intent through the real gateway ("The gateway in the loop").

At each step the loop takes the earliest item of

====  ==========================  ===================================================================
rank  stream                      what happens
====  ==========================  ===================================================================
0     local market data           event i at its local time: the local book changes (with reference
                                  rows: it becomes row i); a trade or an execution calls ``on_trade``;
                                  at an end of message the top is taken (the gateway is marked when the
                                  touch moved) and ``on_book`` runs
1     local order responses       a venue report reaches the gateway, the accounting, the strategy's
                                  view of its orders, then ``on_order_update``
2     timers, wake-ups, samples   ``on_timer`` every ``timer_ns``, ``on_wake``, an equity sample every
                                  ``sample_ns`` (the first at the first local time)
3     exchange market data        event i at the venue's clock: the venue's book changes, our orders
                                  may fill
4     exchange order arrivals     a command reaches the venue (sent + entry latency)
====  ==========================  ===================================================================

ordered by (time, rank, then the order the work was created in). Reports leave the venue with a response
latency (one draw per report, in the venue's order), commands with an entry latency (one draw per command sent).
When the data is over, samples and timers stop; reports, arrivals and wake-ups still run; a last equity sample
is taken at the end.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hft.core.clock import ManualClock
from hft.core.dtypes import EV_ADD, EV_EXEC, EV_HIDDEN_EXEC, EV_TRADE, FLAG_EOM
from hft.core.errors import SimError
from hft.core.ids import run_hash
from hft.core.orders import (
    INTENT_CANCEL,
    INTENT_NEW,
    INTENT_REPLACE,
    ORDER_LIMIT,
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    RISK_FLAG_BAD_REPORT,
    TIF_GTC,
)
from hft.gateway.intents import ExecutionReport, TypedIntentEnvelope, typed_intent_v1
from hft.sim.reference.accounting import Account
from hft.sim.reference.book import LocalBook, Top
from hft.sim.reference.context import ReferenceContext
from hft.sim.reference.timing import Latency, local_times, running_max
from hft.sim.reference.venue import L2ReferenceVenue, VenueReport
from hft.sim.reference.venue_l3 import L3ReferenceVenue
from hft.sim.run_records import (
    ACK_LOG_DTYPE,
    DECISION_LOG_DTYPE,
    EQUITY_DTYPE,
    FILL_LOG_DTYPE,
    ORDER_LOG_DTYPE,
)
from hft.sim.strategy import OrderState, OrderUpdate, Strategy, Trade

LOCAL_DATA, RESPONSE, TIMER, EXCHANGE_DATA, ARRIVAL = range(5)


@dataclass(frozen=True)
class ReferenceConfig:
    """The run's latencies (ns), equity sampling period and names. `feed` None: the data's own local times."""

    entry: Latency = field(default_factory=lambda: Latency.constant(1_000_000))
    response: Latency = field(default_factory=lambda: Latency.constant(1_000_000))
    feed: Latency | None = None
    sample_ns: int = 1_000_000_000
    account: str = "SIM"
    strategy: str = "strategy"


@dataclass
class ReferenceOutput:
    """What a reference run produced: the logs (the dtypes of `hft.sim.run_records`), the final accounting and
    the run hash over decisions, orders and fills."""

    decisions: np.ndarray
    orders: np.ndarray
    fills: np.ndarray
    equity: np.ndarray
    acks: np.ndarray
    final: dict[str, int]
    run_hash: str
    decision_records: list[Any]


class ReferenceEngine:
    """One replay of one instrument. Build it, then `run()` once.

    Args:
        events: canonical market events (`hft.core.dtypes`), in the venue's order.
        venue: the venue: `L2ReferenceVenue`, or `L3ReferenceVenue` for market-by-order data (the local book then
            sums the order events into levels).
        gateway_factory: ``f(clock, dispatcher, sink) -> GatewayService``; this engine is the dispatcher (its
            ``put_nowait`` puts a command in flight) and ``sink`` receives the gateway's records.
        strategy: a `hft.sim.strategy.Strategy`.
        symbol: the gateway's symbol of the instrument.
        config: latencies, sampling and names.
        preopen: L3: ``(side, price, qty)`` resting before the first event (anonymous quantity at the venue, and
            in the local book), e.g. `hft.sim.reference.venue_l3.preopen_levels`.
        rows: L3 (LOBSTER): the reference rows, one per event; the local book becomes row i at local event i.
    """

    def __init__(self, events: np.ndarray, venue: L2ReferenceVenue | L3ReferenceVenue,
                 gateway_factory: Callable[..., Any], strategy: Strategy, symbol: str,
                 config: ReferenceConfig | None = None, *, preopen: Any = (), rows: Any = None) -> None:
        self.events = events
        self.venue = venue
        self.l3 = isinstance(venue, L3ReferenceVenue)
        if rows is not None and (not self.l3 or len(rows) != len(events)):
            raise SimError(f"reference rows: expected one per event ({len(events)}) of L3 data, was {len(rows)} "
                           f"for a {'L3' if self.l3 else 'L2'} venue")
        self.rows = rows
        self.strategy = strategy
        self.symbol = symbol
        self.cfg = config or ReferenceConfig()
        self.clock = ManualClock(int(events["exch_ts"][0]) if len(events) else 0)
        self.account = Account(money=venue.money)
        self.local = LocalBook()
        self.top: Top = (None, 0, None, 0)
        self.live_orders: dict[int, OrderState] = {}
        self.side_of: dict[int, int] = {}
        keep = int(getattr(strategy, "trade_history", 0) or 0)
        self.trades: deque[Trade] | None = deque(maxlen=keep) if keep > 0 else None
        self.decisions: list[Any] = []
        self.order_rows: list[tuple] = []
        self.fill_rows: list[tuple] = []
        self.equity_rows: list[tuple] = []
        self.acks: dict[int, tuple[int, int]] = {}
        self.heap: list[tuple[int, int, int, tuple]] = []
        self.created = 0  # work items created so far (ties)
        self.keys = 0  # idempotency keys used
        self.entry_draws = 0
        self.response_draws = 0
        self.ctx = ReferenceContext(self)
        self.gw = gateway_factory(self.clock, self, self._sink)
        for side, price, qty in preopen:
            if not self.l3:
                raise SimError("preopen levels: expected an L3 venue")
            self.venue.seed(side, price, qty)
            self.local.apply(EV_ADD, side, price, qty, l3=True)
        self._take_top()

    # --- the gateway's side ----------------------------------------------------------------------------------
    def _sink(self, record: Any) -> None:
        if hasattr(record, "accepted"):  # a decision (a policy transition is not part of the run's logs)
            self.decisions.append(record)

    def put_nowait(self, cmd: Any) -> None:
        """The gateway's dispatcher: the command leaves now and reaches the venue after the entry latency."""
        now = self.clock.now_ns()
        arrival = now + self.cfg.entry.draw(now, self.entry_draws)
        self.entry_draws += 1
        self._schedule(arrival, ARRIVAL, ("command", cmd))
        self.order_rows.append((now, cmd.order_id, cmd.price, cmd.qty, cmd.action, cmd.side, cmd.order_type,
                                cmd.tif))

    def _intent(self, kind: int, side: int, price: int, qty: int, otype: int, tif: int, target: int) -> Any:
        self.keys += 1
        now = self.clock.now_ns()
        payload = typed_intent_v1(kind, self.keys, self.cfg.account, self.cfg.strategy, self.symbol, side, price,
                                  qty, otype, tif, now, target)
        return self.gw.process(TypedIntentEnvelope(payload, now))

    def submit(self, side: int, price: int, qty: int, otype: int | None, tif: int | None) -> Any:
        d = self._intent(INTENT_NEW, side, price, qty, otype or ORDER_LIMIT, tif or TIF_GTC, 0)
        if d.accepted and not d.duplicate:
            self.side_of[d.order_id] = side
            self.live_orders[d.order_id] = OrderState(d.order_id, side, price, qty, qty, "pending_new")
        return d

    def cancel(self, order_id: int) -> Any:
        d = self._intent(INTENT_CANCEL, 0, 0, 0, ORDER_LIMIT, TIF_GTC, order_id)
        if d.accepted and order_id in self.live_orders:
            self.live_orders[order_id].status = "pending_cancel"
        return d

    def replace(self, order_id: int, price: int, qty: int) -> Any:
        d = self._intent(INTENT_REPLACE, 0, price, qty, ORDER_LIMIT, TIF_GTC, order_id)
        if d.accepted and order_id in self.live_orders:
            self.live_orders[order_id].status = "pending_replace"
        return d

    def wake_at(self, t: int, payload: Any) -> None:
        self._schedule(t, TIMER, ("wake", payload))

    # --- the loop --------------------------------------------------------------------------------------------
    def _schedule(self, t: int, rank: int, item: tuple) -> None:
        heapq.heappush(self.heap, (t, rank, self.created, item))
        self.created += 1

    def run(self) -> ReferenceOutput:
        """Replay every event; returns the `ReferenceOutput`."""
        ev = self.events
        n = len(ev)
        exch_ts = [int(t) for t in ev["exch_ts"]]
        local = local_times(exch_ts, [int(t) for t in ev["local_ts"]], self.cfg.feed)
        venue_clock = running_max(exch_ts)
        rows = list(zip(*(ev[f].tolist() for f in ("kind", "side", "price", "qty", "flags", "order_id")),
                        strict=True))
        self.strategy.on_start(self.ctx)
        if n:
            self._schedule(local[0], TIMER, ("sample",))
            if self.strategy.timer_ns > 0:
                self._schedule(local[0] + self.strategy.timer_ns, TIMER, ("timer",))
        i_local = i_exch = 0
        while True:
            choices = []
            if i_local < n:
                choices.append(((local[i_local], LOCAL_DATA), "local"))
            if i_exch < n:
                choices.append(((venue_clock[i_exch], EXCHANGE_DATA), "exchange"))
            if self.heap:
                choices.append((self.heap[0][:2], "work"))
            if not choices:
                break
            (t, _), which = min(choices, key=lambda c: c[0])
            self.clock.set(max(t, self.clock.now_ns()))
            if which == "local":
                self._local_event(i_local, *rows[i_local][:5])
                i_local += 1
            elif which == "exchange":
                kind, side, price, qty, _, oid = rows[i_exch]
                self._send_reports(t, self.venue.market(t, kind, side, price, qty, oid))
                i_exch += 1
            else:
                item = heapq.heappop(self.heap)[3]
                data_over = i_local >= n and i_exch >= n
                if data_over and item[0] in ("sample", "timer"):
                    continue
                self._work(t, item)
        self._sample()
        return self._output()

    def _local_event(self, i: int, kind: int, side: int, price: int, qty: int, flags: int) -> None:
        if self.rows is not None:
            self.local.set_row(self.rows[i])
        else:
            self.local.apply(kind, side, price, qty, self.l3)
        if kind in (EV_TRADE, EV_EXEC, EV_HIDDEN_EXEC):
            aggressor = side if kind == EV_TRADE else -side  # an execution's side is the resting order's
            if self.trades is not None:
                self.trades.append(Trade(self.clock.now_ns(), aggressor, price, qty))
            self.strategy.on_trade(self.ctx, aggressor, price, qty)
        if flags & FLAG_EOM:
            self._take_top()
            self.strategy.on_book(self.ctx)

    def _take_top(self) -> None:
        """The strategy's top := the local book's; the gateway marks the symbol at the floor of the mid when a best
        price moved and both sides are there."""
        top, old = self.local.top(), self.top
        if top == old:
            return
        b, _, a, _ = top
        if (b != old[0] or a != old[2]) and b is not None and a is not None:
            self.gw.mark(self.symbol, (b + a) // 2)
        self.top = top

    def _send_reports(self, now: int, reports: list[VenueReport]) -> None:
        for r in reports:
            lat = self.cfg.response.draw(now, self.response_draws)
            self.response_draws += 1
            self._schedule(now + lat, RESPONSE, ("report", r))

    def _work(self, t: int, item: tuple) -> None:
        what = item[0]
        if what == "report":
            self._deliver(item[1])
        elif what == "command":
            cmd = item[1]
            if cmd.action == INTENT_NEW:
                reps = self.venue.new(t, cmd.order_id, cmd.side, cmd.price, cmd.qty, cmd.order_type, cmd.tif)
            elif cmd.action == INTENT_CANCEL:
                reps = self.venue.cancel(t, cmd.order_id)
            elif cmd.action == INTENT_REPLACE:
                reps = self.venue.replace(t, cmd.order_id, cmd.price, cmd.qty)
            else:
                raise SimError(f"reference: expected a new / cancel / replace command, was action {cmd.action}")
            self._send_reports(t, reps)
        elif what == "sample":
            self._sample()
            self._schedule(t + self.cfg.sample_ns, TIMER, ("sample",))
        elif what == "timer":
            self.strategy.on_timer(self.ctx)
            self._schedule(t + self.strategy.timer_ns, TIMER, ("timer",))
        elif what == "wake":
            self.strategy.on_wake(self.ctx, item[1])

    def _deliver(self, r: VenueReport) -> None:
        """A report reaches the gateway, then our books, then the strategy."""
        now = self.clock.now_ns()
        side = self.side_of.get(r.order_id, 0)
        fill = r.kind in (REPORT_FILL, REPORT_PARTIAL_FILL)
        flags = self.gw.on_execution_report(ExecutionReport(r.ts, r.order_id, r.kind, r.price, r.qty, r.leaves,
                                                            r.fee, r.fee_frac))
        if r.kind == REPORT_ACK:
            self.acks[r.order_id] = (now, r.queue)
        if fill:
            if flags & RISK_FLAG_BAD_REPORT:
                raise SimError(f"fill of order {r.order_id} at {r.ts} ns: the gateway could not book it")
            self.account.book(side, r.price, r.qty, r.fee, r.fee_frac)
            self.fill_rows.append((r.ts, now, r.order_id, r.price, r.qty, r.leaves, r.fee, r.fee_frac, side, r.kind,
                                   r.liquidity))
        o = self.live_orders.get(r.order_id)
        if o is not None:
            if r.kind in (REPORT_FILL, REPORT_CANCELED, REPORT_EXPIRED, REPORT_REJECTED):
                del self.live_orders[r.order_id]
            elif r.kind == REPORT_REPLACED:
                o.price, o.leaves, o.status = r.price, r.leaves, "working"
            elif r.kind in (REPORT_ACK, REPORT_CANCEL_REJECTED, REPORT_REPLACE_REJECTED):
                o.status = "working"
            elif r.kind == REPORT_PARTIAL_FILL:
                o.leaves = r.leaves
                if o.status == "pending_new":
                    o.status = "working"
        self.strategy.on_order_update(self.ctx, OrderUpdate(now, r.order_id, r.kind, r.price, r.qty, r.leaves, r.fee,
                                                            r.liquidity == 1, r.ts, r.fee_frac))

    def _sample(self) -> None:
        b, _, a, _ = self.top
        acc = self.account
        self.equity_rows.append((self.clock.now_ns(), b + a if b is not None and a is not None else 0, acc.position,
                                 acc.cash, acc.fees, acc.fee_frac, b if b is not None else 0,
                                 a if a is not None else 0))

    def _output(self) -> ReferenceOutput:
        dec = np.zeros(len(self.decisions), DECISION_LOG_DTYPE)
        for j, d in enumerate(self.decisions):
            dec[j] = (d.seq, d.ts, d.order_id, _int(d.target_id), _int(d.price), _int(d.qty), d.reason, _int(d.kind),
                      _int(d.side), d.accepted, d.duplicate)
        orders = np.array(self.order_rows, dtype=ORDER_LOG_DTYPE) if self.order_rows else np.zeros(0, ORDER_LOG_DTYPE)
        fills = np.array(self.fill_rows, dtype=FILL_LOG_DTYPE) if self.fill_rows else np.zeros(0, FILL_LOG_DTYPE)
        equity = np.array(self.equity_rows, dtype=EQUITY_DTYPE)
        acks = np.array([(o, *self.acks[o]) for o in sorted(self.acks)], dtype=ACK_LOG_DTYPE) if self.acks else \
            np.zeros(0, ACK_LOG_DTYPE)
        acc = self.account
        final = {"position": acc.position, "cash": acc.cash, "fees": acc.fees, "fee_frac": acc.fee_frac}
        return ReferenceOutput(dec, orders, fills, equity, acks, final, run_hash(dec, orders, fills),
                               list(self.decisions))


def _int(v: Any) -> int:
    """A decision field as an int (absent fields, None, are 0 in the log)."""
    try:
        return int(v)
    except (TypeError, ValueError, OverflowError):
        return 0
