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

Several instruments (legs) run on this one clock: their events are merged into one exchange stream, each event
keyed by its leg's venue clock (ties: the lower leg, then the leg's own order). Each leg's local times are its own
feed's, computed over its own events as if it ran alone (the data's local times: one shift for the whole run), and
the local market data stream is the legs' events merged by (local time, leg, the leg's own order). Each leg has its own venue, local book, top, accounting, orders and trades; a
command goes to its order's leg and its reports come back to it; every leg is sampled at each sample time. Several
days run as sessions: one engine per day on the one gateway, each after `continue_from` the previous day's engine,
closed by `end_session`.
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
    NO_OPTIONS,
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
    TIF_GTD,
)
from hft.gateway.intents import ExecutionReport, TypedIntentEnvelope, typed_intent_v1
from hft.sim.reference.accounting import FRAC_UNITS, Account
from hft.sim.reference.book import LocalBook, Top
from hft.sim.reference.context import ReferenceContext
from hft.sim.reference.timing import Latency, local_times, running_max
from hft.sim.reference.venue import L2ReferenceVenue, VenueReport
from hft.sim.reference.venue_l3 import L3ReferenceVenue
from hft.sim.run_records import (
    ACK_LOG,
    ACK_LOG_DTYPE,
    DECISION_LOG,
    DECISION_LOG_DTYPE,
    EQUITY,
    EQUITY_DTYPE,
    FILL_LOG,
    FILL_LOG_DTYPE,
    ORDER_LEG_DTYPE,
    ORDER_LOG,
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
class ReferenceLegResult:
    """One leg of a run over several instruments: its equity samples, final accounting, the ids of its orders and
    the indices of its decisions (those whose symbol is the leg's) in the run's decision log."""

    symbol: str
    equity: np.ndarray
    final: dict[str, int]
    order_ids: np.ndarray
    decisions: np.ndarray


@dataclass
class ReferenceOutput:
    """What a reference run produced: the logs (the dtypes of `hft.sim.run_records`), the final accounting and
    the run hash over decisions, orders and fills. Several legs: `legs` holds each leg's results, `equity` is
    empty, `final` sums the legs' cash and fees, and the run hash covers the leg of each order and decision too
    (`legs_hash_arrays`)."""

    decisions: np.ndarray
    orders: np.ndarray
    fills: np.ndarray
    equity: np.ndarray
    acks: np.ndarray
    final: dict[str, int]
    run_hash: str
    decision_records: list[Any]
    legs: list[ReferenceLegResult] = field(default_factory=list)


@dataclass(frozen=True)
class ReferenceLeg:
    """One instrument of a run: its events (in the venue's order), venue, gateway symbol, L3 pre-open levels and
    LOBSTER reference rows (`ReferenceEngine`'s arguments of the same names)."""

    events: np.ndarray
    venue: L2ReferenceVenue | L3ReferenceVenue
    symbol: str
    preopen: Any = ()
    rows: Any = None


class _LegState:
    """One leg inside the engine: venue, local view, accounting, our orders and trades, equity rows."""

    def __init__(self, k: int, leg: ReferenceLeg, keep: int) -> None:
        self.k = k
        self.symbol = leg.symbol
        self.events = leg.events
        self.venue = leg.venue
        self.l3 = isinstance(leg.venue, L3ReferenceVenue)
        if leg.rows is not None and (not self.l3 or len(leg.rows) != len(leg.events)):
            raise SimError(f"reference rows: expected one per event ({len(leg.events)}) of L3 data, was "
                           f"{len(leg.rows)} for a {'L3' if self.l3 else 'L2'} venue")
        self.rows = leg.rows
        self.account = Account(money=leg.venue.money)
        self.local = LocalBook()
        self.top: Top = (None, 0, None, 0)
        self.live_orders: dict[int, OrderState] = {}
        self.trades: deque[Trade] | None = deque(maxlen=keep) if keep > 0 else None
        self.fill_rows: list[tuple] = []
        self.equity_rows: list[tuple] = []
        for side, price, qty in leg.preopen:
            if not self.l3:
                raise SimError("preopen levels: expected an L3 venue")
            self.venue.seed(side, price, qty)
            self.local.apply(EV_ADD, side, price, qty, l3=True)


class ReferenceEngine:
    """One replay of one instrument (or, built with `of_legs`, of several on one clock). Build it, then `run()`
    once.

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
        self._setup([ReferenceLeg(events, venue, symbol, preopen, rows)], gateway_factory, strategy, config)

    @classmethod
    def of_legs(cls, legs: list[ReferenceLeg], gateway_factory: Callable[..., Any], strategy: Strategy,
                config: ReferenceConfig | None = None) -> ReferenceEngine:
        """A replay of several instruments on one clock (leg 0 first); one leg is the single-instrument run."""
        if not legs:
            raise SimError("several instruments: expected at least one leg, was none")
        engine = cls.__new__(cls)
        engine._setup(list(legs), gateway_factory, strategy, config)
        return engine

    def _setup(self, legs: list[ReferenceLeg], gateway_factory: Callable[..., Any], strategy: Strategy,
               config: ReferenceConfig | None) -> None:
        self.strategy = strategy
        self.cfg = config or ReferenceConfig()
        keep = int(getattr(strategy, "trade_history", 0) or 0)
        self.legs = [_LegState(k, leg, keep) for k, leg in enumerate(legs)]
        self.leg_of_symbol = {leg.symbol: leg.k for leg in self.legs}
        self._merge()
        self.clock = ManualClock(self.exch_ts[0] if self.exch_ts else 0)
        self.leg_of: dict[int, int] = {}  # order id -> its leg
        self.side_of: dict[int, int] = {}
        self.decisions: list[Any] = []
        self.order_rows: list[tuple] = []
        self.fill_rows: list[tuple] = []
        self.acks: dict[int, tuple[int, int]] = {}
        self.heap: list[tuple[int, int, int, tuple]] = []
        self.created = 0  # work items created so far (ties)
        self.keys = 0  # idempotency keys used
        self.entry_draws = 0
        self.last_arrival = 0  # of the last command sent: a command reaches the venue no earlier than the one before
        self.response_draws = 0
        self.actions_now = [-1, 0]  # the strategy's actions at one local time (`ReferenceContext._count`)
        self.ctxs = [ReferenceContext(self, leg.k) for leg in self.legs]
        self.ctx = self.ctxs[0]
        self.gw = gateway_factory(self.clock, self, self._sink)
        for leg in self.legs:
            self._take_top(leg)

    def _merge(self) -> None:
        """The legs' events as one stream: key (the leg's venue clock, the leg, the leg's own order)."""
        keyed = []
        for leg in self.legs:
            clock = running_max([int(t) for t in leg.events["exch_ts"]])
            keyed += [(t, leg.k, i) for i, t in enumerate(clock)]
        keyed.sort()
        self.at = [(k, i) for _, k, i in keyed]  # merged event j: (leg, own index)
        cols = {leg.k: list(zip(*(leg.events[f].tolist() for f in ("kind", "side", "price", "qty", "flags",
                                                                      "order_id", "exch_ts", "local_ts")),
                                strict=True)) for leg in self.legs}
        self.own_ev = cols  # each leg's events in its own order
        self.ev = [cols[k][i] for k, i in self.at]
        self.exch_ts = [e[6] for e in self.ev]

    # --- single-leg views (one instrument) -------------------------------------------------------------------
    @property
    def venue(self) -> L2ReferenceVenue | L3ReferenceVenue:
        return self.legs[0].venue

    @property
    def account(self) -> Account:
        return self.legs[0].account

    @property
    def live_orders(self) -> dict[int, OrderState]:
        return self.legs[0].live_orders

    @property
    def rows(self) -> Any:
        return self.legs[0].rows

    # --- sessions (several days) -----------------------------------------------------------------------------
    def continue_from(self, prev: ReferenceEngine) -> None:
        """Start this session where `prev` (the previous day's engine, on the same gateway) ended: each leg's
        position, cash and fees, the idempotency keys and the entry and response latency draws go on."""
        if [leg.symbol for leg in prev.legs] != [leg.symbol for leg in self.legs]:
            raise SimError(f"sessions: expected the instruments {[leg.symbol for leg in prev.legs]}, was "
                           f"{[leg.symbol for leg in self.legs]}")
        for leg, old in zip(self.legs, prev.legs, strict=True):
            a, b = leg.account, old.account
            a.position, a.cash, a.fees, a.fee_frac = b.position, b.cash, b.fees, b.fee_frac
        self.keys, self.entry_draws, self.response_draws = prev.keys, prev.entry_draws, prev.response_draws
        self.last_arrival = prev.last_arrival

    def end_session(self) -> int:
        """Close the session after `run`: every order still live expires at the gateway (an EXPIRED report at the
        last time, in the order the orders were sent); the strategy is not called. Returns how many."""
        now = self.clock.now_ns()
        live = sorted((o for leg in self.legs for o in leg.live_orders.values()), key=lambda o: o.order_id)
        for o in live:
            self.gw.on_execution_report(ExecutionReport(ts=now, order_id=o.order_id, kind=REPORT_EXPIRED, price=o.price, qty=0, leaves=0))
        for leg in self.legs:
            leg.live_orders.clear()
        return len(live)

    # --- the gateway's side ----------------------------------------------------------------------------------
    def _sink(self, record: Any) -> None:
        if hasattr(record, "accepted"):  # a decision (a policy transition is not part of the run's logs)
            self.decisions.append(record)

    def put_nowait(self, cmd: Any) -> None:
        """The gateway's dispatcher: the command leaves now and reaches the venue after the entry latency."""
        now = self.clock.now_ns()
        arrival = max(now + self.cfg.entry.draw(now, self.entry_draws), self.last_arrival)
        self.last_arrival = arrival
        self.entry_draws += 1
        self._schedule(arrival, ARRIVAL, ("command", cmd))
        self.order_rows.append(ORDER_LOG.pack(ts=now, order_id=cmd.order_id, price=cmd.price, qty=cmd.qty,
                                              action=cmd.action, side=cmd.side, order_type=cmd.order_type,
                                              tif=cmd.tif))

    def _intent(self, k: int, kind: int, side: int, price: int, qty: int, otype: int, tif: int,
                target: int, opt: tuple = NO_OPTIONS) -> Any:
        self.keys += 1
        now = self.clock.now_ns()
        payload = typed_intent_v1(kind, self.keys, self.cfg.account, self.cfg.strategy, self.legs[k].symbol, side,
                                  price, qty, otype, tif, now, target, *opt)
        return self.gw.process(TypedIntentEnvelope(payload, now))

    def submit(self, k: int, side: int, price: int, qty: int, otype: int | None, tif: int | None,
               opt: tuple = NO_OPTIONS) -> Any:
        """A new order on leg `k` (`opt`: its optional fields, `hft.core.orders.order_options`)."""
        d = self._intent(k, INTENT_NEW, side, price, qty, otype or ORDER_LIMIT, tif or TIF_GTC, 0, opt)
        if d.accepted and not d.duplicate:
            self.side_of[d.order_id] = side
            self.leg_of[d.order_id] = k
            self.legs[k].live_orders[d.order_id] = OrderState(d.order_id, side, price, qty, qty, "pending_new")
        return d

    def cancel(self, k: int, order_id: int) -> Any:
        """Cancel `order_id` on its own leg (leg `k` when the order is not ours)."""
        leg = self.legs[self.leg_of.get(order_id, k)]
        d = self._intent(leg.k, INTENT_CANCEL, 0, 0, 0, ORDER_LIMIT, TIF_GTC, order_id)
        if d.accepted and order_id in leg.live_orders:
            leg.live_orders[order_id].status = "pending_cancel"
        return d

    def replace(self, k: int, order_id: int, price: int, qty: int) -> Any:
        """Replace `order_id` on its own leg (leg `k` when the order is not ours)."""
        leg = self.legs[self.leg_of.get(order_id, k)]
        d = self._intent(leg.k, INTENT_REPLACE, 0, price, qty, ORDER_LIMIT, TIF_GTC, order_id)
        if d.accepted and order_id in leg.live_orders:
            leg.live_orders[order_id].status = "pending_replace"
        return d

    def wake_at(self, t: int, payload: Any) -> None:
        self._schedule(t, TIMER, ("wake", payload))

    # --- the loop --------------------------------------------------------------------------------------------
    def _schedule(self, t: int, rank: int, item: tuple) -> None:
        heapq.heappush(self.heap, (t, rank, self.created, item))
        self.created += 1

    def run(self) -> ReferenceOutput:
        """Replay every event; returns the `ReferenceOutput`."""
        n = len(self.ev)
        # the strategy's stream: each leg's local times over its own events, merged by (local time, leg, own order)
        per_leg = local_times([([e[6] for e in self.own_ev[leg.k]], [e[7] for e in self.own_ev[leg.k]])
                               for leg in self.legs], self.cfg.feed)
        local_keyed = sorted((t, k, i) for k, times in enumerate(per_leg) for i, t in enumerate(times))
        local = [t for t, _, _ in local_keyed]
        venue_clock = running_max(self.exch_ts)
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
                _, k, own = local_keyed[i_local]
                self._local_event(self.legs[k], own, *self.own_ev[k][own][:5])
                i_local += 1
            elif which == "exchange":
                k, _ = self.at[i_exch]
                kind, side, price, qty, _, oid = self.ev[i_exch][:6]
                self._send_reports(t, k, self.legs[k].venue.market(t, kind, side, price, qty, oid))
                i_exch += 1
            else:
                item = heapq.heappop(self.heap)[3]
                data_over = i_local >= n and i_exch >= n
                if data_over and item[0] in ("sample", "timer"):
                    continue
                self._work(t, item)
        self._sample()
        return self._output()

    def _local_event(self, leg: _LegState, i: int, kind: int, side: int, price: int, qty: int, flags: int) -> None:
        ctx = self.ctxs[leg.k]
        if leg.rows is not None:
            leg.local.set_row(leg.rows[i])
        else:
            leg.local.apply(kind, side, price, qty, leg.l3)
        if kind in (EV_TRADE, EV_EXEC, EV_HIDDEN_EXEC):
            aggressor = side if kind == EV_TRADE else -side  # an execution's side is the resting order's
            if leg.trades is not None:
                leg.trades.append(Trade(self.clock.now_ns(), aggressor, price, qty))
            self.strategy.on_trade(ctx, aggressor, price, qty)
        if flags & FLAG_EOM:
            self._take_top(leg)
            self.strategy.on_book(ctx)

    def _take_top(self, leg: _LegState) -> None:
        """The leg's top := its local book's; the gateway marks the leg's symbol at the floor of the mid when a
        best price moved and both sides are there."""
        top, old = leg.local.top(), leg.top
        if top == old:
            return
        b, _, a, _ = top
        if (b != old[0] or a != old[2]) and b is not None and a is not None:
            self.gw.mark(leg.symbol, (b + a) // 2)
        leg.top = top

    def _send_reports(self, now: int, k: int, reports: list[VenueReport]) -> None:
        for r in reports:
            lat = self.cfg.response.draw(now, self.response_draws)
            self.response_draws += 1
            self._schedule(now + lat, RESPONSE, ("report", k, r))

    def _work(self, t: int, item: tuple) -> None:
        what = item[0]
        if what == "report":
            self._deliver(self.legs[item[1]], item[2])
        elif what == "command":
            cmd = item[1]
            k = self.leg_of.get(cmd.order_id, self.leg_of_symbol.get(cmd.symbol, 0))
            venue = self.legs[k].venue
            if cmd.action == INTENT_NEW:
                reps = venue.new(t, cmd.order_id, cmd.side, cmd.price, cmd.qty, cmd.order_type, cmd.tif,
                                 cmd.trigger, cmd.display, cmd.trail, cmd.oco, cmd.parent)
            elif cmd.action == INTENT_CANCEL:
                reps = venue.cancel(t, cmd.order_id)
            elif cmd.action == INTENT_REPLACE:
                reps = venue.replace(t, cmd.order_id, cmd.price, cmd.qty)
            else:
                raise SimError(f"reference: expected a new / cancel / replace command, was action {cmd.action}")
            self._send_reports(t, k, reps)
            # a GTD order the venue keeps: its expiry reaches the venue at its time (docs/sim.md, "Good till date"),
            # with the commands that arrive then, in the order scheduled
            if (cmd.action == INTENT_NEW and cmd.tif == TIF_GTD
                    and not any(r.kind in (REPORT_REJECTED, REPORT_FILL, REPORT_EXPIRED) for r in reps)):
                self._schedule(max(cmd.expire, t), ARRIVAL, ("expiry", k, cmd.order_id))
        elif what == "expiry":
            self._send_reports(t, item[1], self.legs[item[1]].venue.expire(t, item[2]))
        elif what == "sample":
            self._sample()
            self._schedule(t + self.cfg.sample_ns, TIMER, ("sample",))
        elif what == "timer":
            self.strategy.on_timer(self.ctx)
            self._schedule(t + self.strategy.timer_ns, TIMER, ("timer",))
        elif what == "wake":
            self.strategy.on_wake(self.ctx, item[1])

    def _deliver(self, leg: _LegState, r: VenueReport) -> None:
        """A report reaches the gateway, then its leg's books, then the strategy (the leg's context)."""
        now = self.clock.now_ns()
        side = self.side_of.get(r.order_id, 0)
        fill = r.kind in (REPORT_FILL, REPORT_PARTIAL_FILL)
        flags = self.gw.on_execution_report(ExecutionReport(
            ts=r.ts, order_id=r.order_id, kind=r.kind, price=r.price, qty=r.qty, leaves=r.leaves, fee=r.fee,
            fee_frac=r.fee_frac))
        if r.kind == REPORT_ACK:
            self.acks[r.order_id] = (now, r.queue)
        if fill:
            if flags & RISK_FLAG_BAD_REPORT:
                raise SimError(f"fill of order {r.order_id} at {r.ts} ns: the gateway could not book it")
            leg.account.book(side, r.price, r.qty, r.fee, r.fee_frac)
            row = FILL_LOG.pack(ts=r.ts, local_ts=now, order_id=r.order_id, price=r.price, qty=r.qty,
                                leaves=r.leaves, fee=r.fee, fee_frac=r.fee_frac, side=side, kind=r.kind,
                                liquidity=r.liquidity)
            self.fill_rows.append(row)
            leg.fill_rows.append(row)
        o = leg.live_orders.get(r.order_id)
        if o is not None:
            if r.kind in (REPORT_FILL, REPORT_CANCELED, REPORT_EXPIRED, REPORT_REJECTED):
                del leg.live_orders[r.order_id]
            elif r.kind == REPORT_REPLACED:
                o.price, o.leaves, o.status = r.price, r.leaves, "working"
            elif r.kind in (REPORT_ACK, REPORT_CANCEL_REJECTED, REPORT_REPLACE_REJECTED):
                o.status = "working"
            elif r.kind == REPORT_PARTIAL_FILL:
                o.leaves = r.leaves
                if o.status == "pending_new":
                    o.status = "working"
        self.strategy.on_order_update(self.ctxs[leg.k], OrderUpdate(now, r.order_id, r.kind, r.price, r.qty,
                                                                    r.leaves, r.fee, r.liquidity == 1, r.ts,
                                                                    r.fee_frac))

    def _sample(self) -> None:
        """One equity row per leg at the current time."""
        for leg in self.legs:
            b, _, a, _ = leg.top
            acc = leg.account
            leg.equity_rows.append(EQUITY.pack(
                ts=self.clock.now_ns(), mid2=b + a if b is not None and a is not None else 0, position=acc.position,
                cash=acc.cash, fees=acc.fees, fee_frac=acc.fee_frac, bid=b if b is not None else 0,
                ask=a if a is not None else 0))

    def _output(self) -> ReferenceOutput:
        dec = np.zeros(len(self.decisions), DECISION_LOG_DTYPE)
        for j, d in enumerate(self.decisions):
            dec[j] = DECISION_LOG.pack(seq=d.seq, ts=d.ts, order_id=d.order_id, target_id=_int(d.target_id),
                                       price=_int(d.price), qty=_int(d.qty), reason=d.reason, kind=_int(d.kind),
                                       side=_int(d.side), accepted=d.accepted, duplicate=d.duplicate)
        orders = np.array(self.order_rows, dtype=ORDER_LOG_DTYPE) if self.order_rows else np.zeros(0, ORDER_LOG_DTYPE)
        fills = np.array(self.fill_rows, dtype=FILL_LOG_DTYPE) if self.fill_rows else np.zeros(0, FILL_LOG_DTYPE)
        acks = np.array([ACK_LOG.pack(order_id=o, ack_ts=self.acks[o][0], queue=self.acks[o][1])
                         for o in sorted(self.acks)], dtype=ACK_LOG_DTYPE) if self.acks else \
            np.zeros(0, ACK_LOG_DTYPE)
        if len(self.legs) == 1:
            acc = self.legs[0].account
            final = {"position": acc.position, "cash": acc.cash, "fees": acc.fees, "fee_frac": acc.fee_frac}
            equity = np.array(self.legs[0].equity_rows, dtype=EQUITY_DTYPE)
            return ReferenceOutput(dec, orders, fills, equity, acks, final, run_hash(dec, orders, fills),
                                   list(self.decisions))
        dec_legs = np.array([self.leg_of_symbol[d.symbol] for d in self.decisions], dtype=np.int64)
        legs = []
        for leg in self.legs:
            acc = leg.account
            ids = np.array(sorted(o for o, k in self.leg_of.items() if k == leg.k), dtype=np.int64)
            legs.append(ReferenceLegResult(
                leg.symbol, np.array(leg.equity_rows, dtype=EQUITY_DTYPE),
                {"position": acc.position, "cash": acc.cash, "fees": acc.fees, "fee_frac": acc.fee_frac}, ids,
                np.flatnonzero(dec_legs == leg.k)))
        return ReferenceOutput(dec, orders, fills, np.zeros(0, EQUITY_DTYPE), acks, legs_final(legs),
                               run_hash(dec, orders, fills, *legs_hash_arrays(legs, len(dec))),
                               list(self.decisions), legs)


def legs_final(legs: list[ReferenceLegResult]) -> dict[str, int]:
    """A run's final accounting over its legs (one money unit): cash, fees and ``fee_frac`` summed, every full
    1,000,000 millionths carried into one unit of fees (and out of cash)."""
    carry, frac = divmod(sum(leg.final["fee_frac"] for leg in legs), FRAC_UNITS)
    return {"cash": sum(leg.final["cash"] for leg in legs) - carry,
            "fees": sum(leg.final["fees"] for leg in legs) + carry, "fee_frac": frac}


def legs_hash_arrays(legs: list[ReferenceLegResult], n_decisions: int) -> tuple[np.ndarray, np.ndarray]:
    """What a run over several legs hashes after its decisions, orders and fills: the leg of each order (rows of
    int64 ``(order_id, leg)`` by order id, then leg) and of each decision (one int64 per decision)."""
    rows = sorted((int(o), leg_k) for leg_k, leg in enumerate(legs) for o in leg.order_ids)
    order_legs = np.array(rows, dtype=ORDER_LEG_DTYPE) if rows else np.zeros(0, ORDER_LEG_DTYPE)
    dec_legs = np.zeros(n_decisions, dtype=np.int64)
    for k, leg in enumerate(legs):
        dec_legs[leg.decisions] = k
    return order_legs, dec_legs


def _int(v: Any) -> int:
    """A decision field as an int (absent fields, None, are 0 in the log)."""
    try:
        return int(v)
    except (TypeError, ValueError, OverflowError):
        return 0
