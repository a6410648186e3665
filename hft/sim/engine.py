"""The replay engine: recorded market events, a simulated venue and a strategy, through the real gateway.

One integer clock (`ManualClock`) merges four streams (docs/sim.md):

==== ======================= ====================================================================
prio stream                  what happens
==== ======================= ====================================================================
0    local market data       the strategy's book copy advances (event at its feed/local time; with
                             reference rows it becomes the row of that message); ``on_book`` after
                             each complete message, ``on_trade`` for prints
1    local order responses   a venue report reaches the gateway (exposure, PnL) and the strategy
2    local timers            ``on_timer`` every ``timer_ns``; equity samples
3    exchange market data    the venue's book advances; our resting orders may fill
4    exchange order arrivals a command reaches the venue after the entry latency
==== ======================= ====================================================================

Ties at equal timestamps break by that priority, then by insertion order, so a run is a pure function of
(data, config, seed). Exchange market data is timed by the venue's clock, `hft.sim.latency.venue_times` (the
running maximum of the exchange times: a feed's may step back), so every stream is in time order: the strategy
never sees an event before its local time, an order never meets market data the venue applied before the order
arrived, and no report (a fill) is stamped before the order it concerns reached the venue.

Intents go through `GatewayService.process` (the one gateway); its dispatcher is this engine, which puts each
accepted command in flight (arrival = now + entry latency, drawn per command). Venue reports travel back with
the response latency (drawn per report) and are fed to `GatewayService.on_execution_report` before the
strategy hears of them.

Local view and reference rows: the strategy's L2 view (`hft.book.l2_view`) is built from the messages, or, when
the engine is given ``reference`` rows (LOBSTER data with ``l3_resync`` on), set at local event i to reference
row i — the exact top-L book after message i — and nothing below it (`hft.book.l2_view.local_set_row`). The row
arrives with its message, at the message's local time (feed latency applies), so the strategy never sees a
row before its message; tie order and callbacks are unchanged.

Several instruments (`Engine.of_legs`, `hft.sim.legs`): each instrument is a *leg* — its venue, the strategy's
local view of it, its position / cash / fees in its own money units — and the legs' events are merged on the one
clock (`hft.sim.legs.merge_streams`: each leg's own order kept, ties by leg index); each leg's local times are
its own feed's, and the local market data stream is the legs' events in local-time order
(`hft.sim.legs.local_stream`: it may differ from the exchange order). Every stream above routes by leg: a local
event updates its leg's view and top (the gateway marks that leg's symbol), an exchange event goes
to its leg's venue, a command to the venue of its order's leg, a report to its order's leg's accounting. One
gateway holds every leg's symbol. The strategy's `Context` refers to the leg of the callback (the event's, the
report's order's; leg 0 for timers and wakes), and `Context.leg(k)` to any leg. A single-instrument run is a
run of one leg: the same arrays, order and run hash as before legs existed. A run of several legs adds the leg of
each order and of each decision to its run hash and reports each leg's equity, final accounting, orders and
decisions (`RunOutput.legs`); its own ``equity`` is empty and its ``final`` holds the cash and fees summed over
the legs (their money units must agree: the replay checks it).

This first engine drives the venues from Python (a few µs per event); the numba engine of docs/sim.md keeps
these semantics and must reproduce these run hashes (one leg or several: `hft.sim.engine_nb`, "Several legs").
"""

from __future__ import annotations

import heapq
import time
import weakref
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hft.book.l2 import L2_OK, L2_OUT_OF_RANGE, L2_STATUS_NAMES, book_for, grow
from hft.book.l2_view import local_apply, local_set_row, row_out_of_range
from hft.book.topn import COL_BID_PX
from hft.core.bounds import FAULT_FIELDS, MAX_LATENCY_NS, expected, first_out_of_domain
from hft.core.clock import ManualClock
from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CLEAR,
    EV_EXEC,
    EV_HIDDEN_EXEC,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TRADE,
    FLAG_EOM,
    NO_PRICE,
    SELL,
)
from hft.core.errors import SimError
from hft.core.ids import current_run_hash_scheme, run_hash
from hft.core.orders import (
    INTENT_CANCEL,
    INTENT_NEW,
    INTENT_REPLACE,
    ORDER_LIMIT,
    REASON_NAMES,
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
from hft.gateway.intents import ExecutionReport, TypedIntentEnvelope, typed_intent_v1  # not the lazy package
from hft.sim.fees import MONEY_GATEWAY, book_fill, fill_refusal, legs_final
from hft.sim.latency import LatencyModel, constant, latency_of, venue_times
from hft.sim.legs import Leg, LegInput, local_stream, merge_streams
from hft.sim.run_records import ACK_LOG as ACK_LOG
from hft.sim.run_records import ACK_LOG_DTYPE as ACK_LOG_DTYPE
from hft.sim.run_records import DECISION_LOG as DECISION_LOG
from hft.sim.run_records import DECISION_LOG_DTYPE as DECISION_LOG_DTYPE
from hft.sim.run_records import EQUITY as EQUITY
from hft.sim.run_records import EQUITY_DTYPE as EQUITY_DTYPE
from hft.sim.run_records import FILL_LOG as FILL_LOG
from hft.sim.run_records import FILL_LOG_DTYPE as FILL_LOG_DTYPE
from hft.sim.run_records import ORDER_LOG as ORDER_LOG
from hft.sim.run_records import ORDER_LOG_DTYPE as ORDER_LOG_DTYPE
from hft.sim.strategy import Context, OrderState, OrderUpdate, Strategy

if TYPE_CHECKING:
    from hft.sim.engine_nb.buffers import Spares

PRI_LOCAL_MD, PRI_LOCAL_RESP, PRI_TIMER, PRI_EXCH_MD, PRI_EXCH_ARRIVAL = range(5)
_INF = np.iinfo(np.int64).max


@dataclass(frozen=True)
class EngineConfig:
    """Run parameters (latencies in ns via latency models; money multiplier of the symbol)."""

    entry: LatencyModel = field(default_factory=lambda: constant(1_000_000))
    response: LatencyModel = field(default_factory=lambda: constant(1_000_000))
    feed: LatencyModel | None = None  # None: the data's own local timestamps
    sample_ns: int = 1_000_000_000  # equity sampling period (local time)
    account: str = "SIM"
    strategy: str = "strategy"


@dataclass
class RunOutput:
    """Everything a run produced (arrays are what the run folder stores and the run hash covers)."""

    decisions: np.ndarray
    orders: np.ndarray
    fills: np.ndarray
    equity: np.ndarray
    events: int
    wall_s: float
    rejects: dict[str, int]
    final: dict[str, int]
    run_hash: str
    gateway_metrics: dict[str, Any]
    # the gateway's `Decision` objects, in order (a lazily built sequence when the numba engine's kernel made them)
    decision_records: Sequence[Any] = field(default_factory=list)
    transition_records: list[Any] = field(default_factory=list)  # its `PolicyTransition` objects, in order
    resync: dict[str, Any] | None = None  # L3 venue: its reference resync counters (`L3Venue.resync_counters`)
    acks: np.ndarray = field(default_factory=lambda: np.zeros(0, ACK_LOG_DTYPE))  # `ACK_LOG_DTYPE`, by order id
    legs: list[LegResult] = field(default_factory=list)  # several instruments: each leg's results (else empty)
    # the scheme of `run_hash` (`hft.core.ids`): the one in force where the output was built, as its hash was
    run_hash_scheme: str = field(default_factory=current_run_hash_scheme)


@dataclass(frozen=True)
class LegResult:
    """One leg of a run over several instruments: its equity samples (`EQUITY_DTYPE`, this leg's mid, position,
    cash and fees in its money units), its final accounting, its order ids and the indices of its decisions in
    the run's decision log (the intents that named its symbol)."""

    symbol: str
    multiplier: int
    equity: np.ndarray
    final: dict[str, int]
    order_ids: np.ndarray
    decisions: np.ndarray


# a run over several instruments: which leg each order id belongs to (covered by that run's hash)
ORDER_LEG_DTYPE = np.dtype([("order_id", "<i8"), ("leg", "<i8")], align=True)


def legs_run_hash(dec: np.ndarray, orders: np.ndarray, fills: np.ndarray, legs: Sequence[LegResult]) -> str:
    """The run hash of a run over several instruments: its decisions, orders and fills plus the leg of each order
    (`ORDER_LEG_DTYPE` rows by order id, then leg) and of each decision (one int64 per row of `dec`), both read
    off the `legs`. The one rule for `Engine`'s output of several legs and for a run of them over several days
    (`hft.sim.portfolio_days`); a one-leg run hashes ``(dec, orders, fills)`` alone."""
    ids = np.concatenate([np.asarray(leg.order_ids, dtype=np.int64) for leg in legs])
    of_leg = np.repeat(np.arange(len(legs), dtype=np.int64), [len(leg.order_ids) for leg in legs])
    by_id = np.lexsort((of_leg, ids))
    order_legs = np.zeros(len(ids), ORDER_LEG_DTYPE)
    order_legs["order_id"], order_legs["leg"] = ids[by_id], of_leg[by_id]
    dec_legs = np.zeros(len(dec), dtype=np.int64)
    for k, leg in enumerate(legs):
        dec_legs[leg.decisions] = k
    return run_hash(dec, orders, fills, order_legs, dec_legs)


def leg_results(legs: Sequence[Leg], order_legs: np.ndarray, dec_legs: np.ndarray, equity: Sequence[Any]
                ) -> list[LegResult]:
    """Each leg's `LegResult` from the run's leg of each order (`order_legs`: `ORDER_LEG_DTYPE` rows by order id,
    each id once) and of each decision (`dec_legs`), and each leg's equity rows (`equity[k]`: the log itself, or
    rows `EQUITY_DTYPE` takes). Then `legs_run_hash` over these results is ``run_hash(dec, orders, fills,
    order_legs, dec_legs)``: `Engine._output` hashes those two arrays as they are (the same bytes)."""
    ids, of_leg = order_legs["order_id"], order_legs["leg"]
    return [LegResult(leg.symbol, leg.mult, np.asarray(eq, dtype=EQUITY_DTYPE),
                      {"position": leg.position, "cash": leg.cash, "fees": leg.fees, "fee_frac": leg.fee_frac},
                      ids[of_leg == leg.index], np.flatnonzero(dec_legs == leg.index))
            for leg, eq in zip(legs, equity, strict=True)]


def _leg0(name: str) -> property:
    """An engine attribute of the single-instrument API that is leg 0's `name` (`NbEngine` runs one leg)."""

    def get(self: Engine) -> Any:
        return getattr(self.legs[0], name)

    def put(self: Engine, value: Any) -> None:
        setattr(self.legs[0], name, value)

    return property(get, put, doc=f"Leg 0's ``{name}``.")


class _EngineRef:
    """The gateway's dispatcher and decision sink for one engine, holding it weakly. The engine owns its gateway
    and its strategy context; strong references back from them made every engine a reference cycle, freed only by
    a later gc pass, its arrays (~15 MB for a LOBSTER day: the gateway arena, the decision rows, books) held
    meanwhile, so that the next run's allocations took fresh pages (page faults) instead of the freed memory."""

    __slots__ = ("_engine",)

    def __init__(self, engine: Engine) -> None:
        self._engine = weakref.ref(engine)

    def put_nowait(self, cmd: Any) -> None:
        """`Engine.put_nowait` (the gateway's step 7)."""
        self._engine().put_nowait(cmd)  # type: ignore[union-attr]

    def sink(self, record: Any) -> None:
        """`Engine._sink` (the gateway's decision and transition records)."""
        self._engine()._sink(record)  # type: ignore[union-attr]


class Engine:
    """One replay. Build it, then call `run()` once.

    Args:
        events: canonical market events (read-only) in the venue's order; their exchange times may step back
            (the venue's clock is their running maximum, `hft.sim.latency.venue_times`).
        venue: an object with ``market(now, kind, side, price, qty, order_id)``, ``new``, ``cancel``,
            ``replace`` returning `VENUE_REPORT_DTYPE` arrays (`L2MarketVenue`, `hft.sim.exchange_l3.L3Venue`).
        gateway_factory: ``f(clock, dispatcher, sink) -> GatewayService``.
        strategy: the `Strategy`.
        symbol: the gateway symbol name.
        book_level: "L2" (level updates) or "L3" (order events aggregated to levels for the local view).
        seed_levels: (side, price, qty) quantity resting before the first event (LOBSTER pre-open book).
        reference: L3 data only: int64 rows (one per event, LOBSTER layout ``4*L`` columns) that the local view
            is set to at each event's local time instead of applying the event (module docstring); None: the
            view is built from the events.
        spares: reusable memory shared by the runs given it (`hft.sim.engine_nb.buffers.Spares`: a sweep's or a
            benchmark's repeats); None: this run's buffers are its own and freed with it.
    """

    def __init__(self, events: np.ndarray, venue: Any, gateway_factory: Callable[..., Any], strategy: Strategy,
                 symbol: str, config: EngineConfig | None = None, *, book_level: str = "L2",
                 seed_levels: list[tuple[int, int, int]] | None = None,
                 sink: Callable[[Any], None] | None = None, reference: np.ndarray | None = None,
                 spares: Spares | None = None) -> None:
        self._setup([LegInput(events, venue, symbol, book_level, seed_levels or (), reference)], gateway_factory,
                    strategy, config, sink, spares)

    @classmethod
    def of_legs(cls, legs: Sequence[LegInput], gateway_factory: Callable[..., Any], strategy: Strategy,
                config: EngineConfig | None = None, *, sink: Callable[[Any], None] | None = None,
                spares: Spares | None = None) -> Engine:
        """A run over the instruments `legs` on one clock (module docstring), through one gateway that holds
        every leg's symbol. One leg is the single-instrument run."""
        self = cls.__new__(cls)
        self._setup(list(legs), gateway_factory, strategy, config, sink, spares)
        return self

    def _setup(self, legs: list[LegInput], gateway_factory: Callable[..., Any], strategy: Strategy,
               config: EngineConfig | None, sink: Callable[[Any], None] | None, spares: Spares | None = None) -> None:
        if not legs:
            raise SimError("engine: expected at least one instrument, was none")
        from hft.core.selftest import ensure  # lazy: keeps the self-test out of the kernels' cache key

        for level in sorted({leg.book_level for leg in legs}):  # the venue kernels answered right on this CPU
            ensure(f"replay-{level.lower()}")
        if len({leg.symbol for leg in legs}) != len(legs):
            raise SimError(f"engine: expected distinct symbols, was {[leg.symbol for leg in legs]}")
        self.cfg = config or EngineConfig()
        self.spares = spares
        if len(legs) == 1:
            events, self._leg_ix, self._own = legs[0].events, None, None
        else:
            merged = merge_streams([leg.events for leg in legs], spares)
            # arrays (read-only; the numba engine's matrix rows); the reference loop takes them as lists (`run`)
            events, self._leg_ix, self._own = merged.events, merged.leg, merged.own
        check_events(events)  # before the books are sized from them
        check_periods(self.cfg.sample_ns, strategy.timer_ns)
        self.events = events
        self.strategy = strategy
        self.legs = [Leg(k, li.symbol, li.venue, li.book_level == "L3",
                         _view_reference(li.reference, len(li.events), li.book_level == "L3"), book_for(li.events),
                         mult=int(li.multiplier)) for k, li in enumerate(legs)]
        self.cur = 0  # the leg the strategy's context refers to (the leg of the callback)
        self.clock = ManualClock(int(events["exch_ts"][0]) if len(events) else 0)
        self._extra_sink = sink
        self.decisions: list[Any] = []
        self.transitions: list[Any] = []
        # the gateway's way back to this engine (dispatcher, decision sink) and the strategy's context hold it
        # weakly (`_EngineRef`), so that a finished engine is freed when its last user drops it
        self._back = _EngineRef(self)
        self.gw = gateway_factory(self.clock, self._back, self._back.sink)
        for leg, li in zip(self.legs, legs, strict=True):
            for side, price, qty in li.seed_levels:
                self._local(leg, EV_ADD if leg.is_l3 else EV_LEVEL_SET, side, price, qty)
            self._refresh_top(leg.index)
        self.heap: list[tuple[int, int, int, tuple]] = []
        self._seq = 0
        self._n_entry = 0
        self._n_resp = 0
        self._key = 0
        self.live_orders: dict[int, OrderState] = {}
        self._order_rows: list[tuple] = []
        self._fill_rows: list[tuple] = []
        self._equity_rows: list[tuple] = []
        self._side_of: MutableMapping[int, int] = {}  # NbEngine: built lazily after its run
        self._leg_of: dict[int, int] = {}  # order id -> leg (several instruments; absent: leg 0)
        self._acks: dict[int, tuple[int, int]] = {}  # order id -> (ACK's local arrival ns, queue ahead at entry)
        self._ack_rows: np.ndarray | None = None  # the ack log when a numba engine built it from its own rows
        self._dec_legs: np.ndarray | None = None  # several legs: each decision's leg when a numba engine has them
        self._order_legs: np.ndarray | None = None  # several legs: `ORDER_LEG_DTYPE` rows a numba engine built
        self.ctx = Context(weakref.proxy(self))

    # the single-instrument names (leg 0)
    venue = _leg0("venue")
    symbol = _leg0("symbol")
    is_l3 = _leg0("is_l3")
    reference = _leg0("reference")
    local = _leg0("local")
    local_top = _leg0("local_top")
    _top = _leg0("top")
    _mult = _leg0("mult")
    position = _leg0("position")
    cash = _leg0("cash")
    fees = _leg0("fees")
    fee_frac = _leg0("fee_frac")

    # --- sessions (several days in one run: `hft.sim.sessions`) ----------------------------------------------
    def continue_from(self, prev: Engine) -> None:
        """Start this session where `prev` (the previous day's engine, on the same gateway) ended: position,
        cash and fees carry over, and so do the idempotency keys and the latency draw counters (no key is
        reused and the seeded latency series goes on)."""
        if [leg.symbol for leg in prev.legs] != [leg.symbol for leg in self.legs]:
            raise SimError(f"sessions: expected the instruments {[leg.symbol for leg in prev.legs]}, was "
                           f"{[leg.symbol for leg in self.legs]}")
        for leg, old in zip(self.legs, prev.legs, strict=True):
            leg.position, leg.cash, leg.fees, leg.fee_frac = old.position, old.cash, old.fees, old.fee_frac
        self._key, self._n_entry, self._n_resp, self._seq = prev._key, prev._n_entry, prev._n_resp, prev._seq

    def end_session(self) -> int:
        """Close the session after `run`: every order still live expires at the gateway (as a venue expires
        day orders at the close; the next session's venue starts from its own book). Returns how many."""
        now = self.clock.now_ns()
        live = list(self.live_orders.values())
        for o in live:
            self.gw.on_execution_report(ExecutionReport(now, o.order_id, REPORT_EXPIRED, o.price, 0, 0))
        self.live_orders.clear()
        return len(live)

    # --- gateway plumbing ------------------------------------------------------------------------------------
    def _sink(self, record: Any) -> None:
        if hasattr(record, "accepted"):
            self.decisions.append(record)
        else:
            self.transitions.append(record)  # a PolicyTransition of the gateway's StormGuard / policy
        if self._extra_sink is not None:
            self._extra_sink(record)

    def put_nowait(self, cmd: Any) -> None:
        """The gateway's dispatcher (step 7): the command travels to the venue."""
        now = self.clock.now_ns()
        arrival = now + latency_of(self.cfg.entry, now, self._n_entry)
        self._n_entry += 1
        self._push(arrival, PRI_EXCH_ARRIVAL, ("cmd", cmd))
        self._order_rows.append((now, cmd.order_id, cmd.price, cmd.qty, cmd.action, cmd.side, cmd.order_type,
                                 cmd.tif))

    def _intent(self, kind: int, side: int, price: int, qty: int, otype: int, tif: int, target: int,
                leg: int = 0) -> Any:
        self._key += 1
        env = TypedIntentEnvelope(typed_intent_v1(kind, self._key, self.cfg.account, self.cfg.strategy,
                                                  self.legs[leg].symbol,
                                                  side, price, qty, otype, tif, self.clock.now_ns(), target),
                                  self.clock.now_ns())
        return self.gw.process(env)

    def submit(self, side: int, price: int, qty: int, otype: int | None, tif: int | None, leg: int = 0) -> Any:
        """A new order on instrument `leg` through the gateway; returns its `Decision`."""
        d = self._intent(INTENT_NEW, side, price, qty, otype or ORDER_LIMIT, tif or TIF_GTC, 0, leg)
        if d.accepted and not d.duplicate:
            self._side_of[d.order_id] = side
            if leg:
                self._leg_of[d.order_id] = leg
            self.live_orders[d.order_id] = OrderState(d.order_id, side, price, qty, qty, "pending_new")
        return d

    def cancel(self, order_id: int) -> Any:
        d = self._intent(INTENT_CANCEL, 0, 0, 0, ORDER_LIMIT, TIF_GTC, order_id, self._leg_of.get(order_id, 0))
        if d.accepted and order_id in self.live_orders:
            self.live_orders[order_id].status = "pending_cancel"
        return d

    def replace(self, order_id: int, price: int, qty: int) -> Any:
        d = self._intent(INTENT_REPLACE, 0, price, qty, ORDER_LIMIT, TIF_GTC, order_id, self._leg_of.get(order_id, 0))
        if d.accepted and order_id in self.live_orders:
            self.live_orders[order_id].status = "pending_replace"
        return d

    # --- local book ------------------------------------------------------------------------------------------
    def _local(self, leg: Leg, kind: int, side: int, price: int, qty: int) -> None:
        status = local_apply(leg.local, kind, side, price, qty, leg.is_l3, leg.top)
        if status == L2_OUT_OF_RANGE:
            leg.local = grow(leg.local, side, price)
            status = local_apply(leg.local, kind, side, price, qty, leg.is_l3, leg.top)
        if status != L2_OK:
            raise SimError(f"local book: expected a valid update at ({side}, {price}), was {L2_STATUS_NAMES[status]}")

    def _local_row(self, leg: Leg, k: int) -> None:
        """The leg's local view := its reference row `k` (it holds row k - 1 once row 0 was set: rows go in order)."""

        ref = leg.reference
        while local_set_row(leg.local, ref, k, k > 0, leg.top) == L2_OUT_OF_RANGE:
            lb = leg.local
            c = int(row_out_of_range(lb.bid_qty, lb.ask_qty, lb.state, ref, k))
            leg.local = grow(lb, BUY if c % 4 == COL_BID_PX else SELL, int(ref[k, c]))

    def _leg_at(self, i: int) -> int:
        """The leg of merged event `i`."""
        return int(self._leg_ix[i]) if self._leg_ix is not None else 0

    def _local_event(self, i: int, kind: int, side: int, price: int, qty: int) -> None:
        """Local market event `i` into its leg's view: its reference row when there are rows, else the event."""
        leg = self.legs[self._leg_at(i)]
        if leg.reference is not None:
            self._local_row(leg, self._own[i] if self._own is not None else i)
        else:
            self._local(leg, kind, side, price, qty)

    def _refresh_top(self, k: int = 0) -> bool:
        """Leg `k`'s top snapshot := its per-event top; the gateway marks its symbol when the touch moved."""
        leg = self.legs[k]
        b, bq, a, aq = leg.top.tolist()
        top = (None if b == NO_PRICE else b, bq, None if a == NO_PRICE else a, aq)
        old = leg.local_top
        if top == old:
            return False
        if (top[0] != old[0] or top[2] != old[2]) and top[0] is not None and top[2] is not None:
            self.gw.mark(leg.symbol, (top[0] + top[2]) // 2)
        leg.local_top = top
        return True

    def _apply_local(self, i: int) -> None:
        kind, side, price, qty, flags = self._kind[i], self._side[i], self._price[i], self._qty[i], self._flags[i]
        k = self.cur = self._leg_at(i)
        self._local_event(i, kind, side, price, qty)
        if kind == EV_TRADE or kind == EV_EXEC or kind == EV_HIDDEN_EXEC:
            aggressor = side if kind == EV_TRADE else -side  # an L3 execution's side is the resting order's
            self.ctx.deliver_trade(aggressor, price, qty)
        if flags & FLAG_EOM:
            self._refresh_top(k)
            self.strategy.on_book(self.ctx)

    # --- reports ---------------------------------------------------------------------------------------------
    def _schedule_reports(self, now: int, reports: np.ndarray) -> None:
        for r in reports.tolist():  # each row a tuple of Python ints (`VENUE_REPORT_DTYPE`: integer fields)
            lat = latency_of(self.cfg.response, now, self._n_resp)
            self._n_resp += 1
            self._push(now + lat, PRI_LOCAL_RESP, ("rep", r))

    def _deliver(self, rep: tuple) -> None:
        ts, oid, price, qty, leaves, fee, frac, kind, liq, queue = rep
        side = self._side_of.get(oid, 0)
        k = self._leg_of.get(oid, 0)
        leg = self.legs[k]
        fill = kind == REPORT_FILL or kind == REPORT_PARTIAL_FILL
        if fill:  # its money exactly, or the run stops before anything of it is booked (`hft.sim.fees`, "Range")
            what, pos, cash, fees, fees_frac = book_fill(side, price, qty, leg.mult, fee, frac, leg.position,
                                                         leg.cash, leg.fees, leg.fee_frac)
            if what:
                raise fill_refusal(what, ts, oid, side, price, qty, fee, leg.mult, leg.position, leg.cash, leg.fees)
        flags = self.gw.on_execution_report(ExecutionReport(ts, oid, kind, price, qty, leaves, fee, frac))
        self.cur = k
        if kind == REPORT_ACK:
            self._acks[oid] = (self.clock.now_ns(), queue)
        if fill:
            if flags & RISK_FLAG_BAD_REPORT:  # the gateway could not book it (and applied nothing)
                raise fill_refusal(MONEY_GATEWAY, ts, oid, side, price, qty, fee, leg.mult, leg.position, leg.cash,
                                   leg.fees)
            leg.position, leg.cash, leg.fees, leg.fee_frac = int(pos), int(cash), int(fees), int(fees_frac)
            self._fill_rows.append((ts, self.clock.now_ns(), oid, price, qty, leaves, fee, frac, side, kind, liq))
        st = self.live_orders.get(oid)
        if st is not None:
            if kind in (REPORT_FILL, REPORT_CANCELED, REPORT_EXPIRED, REPORT_REJECTED):
                del self.live_orders[oid]
            elif kind == REPORT_REPLACED:
                st.price, st.leaves, st.status = price, leaves, "working"
            elif kind in (REPORT_ACK, REPORT_CANCEL_REJECTED, REPORT_REPLACE_REJECTED):
                st.status = "working"
            elif kind == REPORT_PARTIAL_FILL:
                st.leaves, st.status = leaves, "working" if st.status == "pending_new" else st.status
        self.strategy.on_order_update(self.ctx, OrderUpdate(self.clock.now_ns(), oid, kind, price, qty, leaves, fee,
                                                            liq == 1, ts, frac))

    # --- loop ------------------------------------------------------------------------------------------------
    def wake_at(self, t: int, payload: Any) -> None:
        """The strategy's one-shot wake-up (`Context.at`): at local time `t`, in the timers' place."""
        self._push(t, PRI_TIMER, ("wake", payload))

    def _push(self, t: int, prio: int, item: tuple) -> None:
        heapq.heappush(self.heap, (t, prio, self._seq, item))
        self._seq += 1

    def _sample(self) -> None:
        """An equity sample: one row (one leg), or one row per leg in its `equity_rows` (several legs)."""
        now = self.clock.now_ns()
        for leg in self.legs:
            b, _, a, _ = leg.local_top
            mid2 = (b + a) if b is not None and a is not None else 0
            (self._equity_rows if len(self.legs) == 1 else leg.equity_rows).append(
                (now, mid2, leg.position, leg.cash, leg.fees, leg.fee_frac, b if b is not None else 0,
                 a if a is not None else 0))

    def run(self, progress: Callable[[int, int], None] | None = None, *, multiplier: int | None = None
            ) -> RunOutput:
        """Replay every event; returns the `RunOutput`. `progress(done, total)` is called now and then.
        `multiplier`: the money factor of a single instrument's fills (None: the legs' own)."""
        self._set_multiplier(multiplier)
        ev = self.events
        n = len(ev)
        exch_arr = np.ascontiguousarray(ev["exch_ts"])
        # the strategy's stream: its local times, and the merged index of each local event (several legs)
        ls = local_stream(ev, self._leg_ix, len(self.legs), self.cfg.feed)
        local = ls.times.tolist()
        at = ls.order.tolist() if ls.order is not None else None
        # the venue's clock at each exchange event (`venue_times`: exchange times may step back), as Python ints
        exch = venue_times(exch_arr).tolist()
        self._kind, self._side, self._price, self._qty, self._oid, self._flags = (
            ev[f].tolist() for f in ("kind", "side", "price", "qty", "order_id", "flags"))
        if self._leg_ix is not None:  # several legs
            self._leg_ix, self._own = np.asarray(self._leg_ix).tolist(), np.asarray(self._own).tolist()
        t0 = time.perf_counter()
        self.strategy.on_start(self.ctx)
        if n:
            self._push(local[0], PRI_TIMER, ("sample",))
            if self.strategy.timer_ns > 0:
                self._push(local[0] + self.strategy.timer_ns, PRI_TIMER, ("timer",))
        i_loc = i_ex = 0
        step = max(n // 200, 1)
        while True:
            best, src = None, 0
            if i_loc < n:
                best, src = (local[i_loc], PRI_LOCAL_MD), 1
            if i_ex < n and (best is None or (exch[i_ex], PRI_EXCH_MD) < best):
                best, src = (exch[i_ex], PRI_EXCH_MD), 2
            if self.heap and (best is None or self.heap[0][:2] < best):
                best, src = self.heap[0][:2], 3
            if best is None:
                break
            t = best[0]
            self.clock.set(max(t, self.clock.now_ns()))
            if src == 1:
                self._apply_local(i_loc if at is None else at[i_loc])
                i_loc += 1
                if progress is not None and i_loc % step == 0:
                    progress(i_loc, n)
            elif src == 2:
                reps = self.legs[self._leg_at(i_ex)].venue.market(t, self._kind[i_ex], self._side[i_ex],
                                                                  self._price[i_ex], self._qty[i_ex], self._oid[i_ex])
                if len(reps):
                    self._schedule_reports(t, reps)
                i_ex += 1
            else:
                item = heapq.heappop(self.heap)[3]
                if i_loc >= n and i_ex >= n and item[0] in ("sample", "timer"):
                    continue  # the data is over: drain in-flight orders and reports, no more timers
                self._dispatch_item(t, item)
        self._sample()
        wall = time.perf_counter() - t0
        if progress is not None:
            progress(n, n)
        return self._output(n, wall)

    def _set_multiplier(self, multiplier: int | None) -> None:
        """A single instrument's money factor, given to `run` (None: the legs keep theirs)."""
        if multiplier is None:
            return
        if len(self.legs) > 1:
            raise SimError("engine: expected the legs' own money factors (several instruments), was one for all")
        self.legs[0].mult = int(multiplier)

    def _dispatch_item(self, t: int, item: tuple) -> None:
        what = item[0]
        if what == "rep":
            self._deliver(item[1])
        elif what == "cmd":
            cmd = item[1]
            venue = self.legs[self._leg_of.get(cmd.order_id, 0)].venue
            if cmd.action == INTENT_NEW:
                reps = venue.new(t, cmd.order_id, cmd.side, cmd.price, cmd.qty, cmd.order_type, cmd.tif)
            elif cmd.action == INTENT_CANCEL:
                reps = venue.cancel(t, cmd.order_id)
            elif cmd.action == INTENT_REPLACE:
                reps = venue.replace(t, cmd.order_id, cmd.price, cmd.qty)
            else:
                raise SimError(f"engine: expected a new / cancel / replace command, was action {cmd.action}")
            self._schedule_reports(t, reps)
        elif what == "sample":
            self._sample()
            self._push(t + self.cfg.sample_ns, PRI_TIMER, ("sample",))
        elif what == "wake":
            self.cur = 0
            self.strategy.on_wake(self.ctx, item[1])
        elif what == "timer":
            self.cur = 0
            self.strategy.on_timer(self.ctx)
            self._push(t + self.strategy.timer_ns, PRI_TIMER, ("timer",))

    def _output(self, n: int, wall: float, arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                ) -> RunOutput:
        """The `RunOutput`; `arrays`: the (decisions, orders, fills) logs when the caller built them already (then
        ``self.decisions`` is a sequence of the records, handed over as it is)."""
        if arrays is None:
            dec = decision_log(self.decisions)
            orders = np.array(self._order_rows, dtype=ORDER_LOG_DTYPE) if self._order_rows else \
                np.zeros(0, ORDER_LOG_DTYPE)
            fills = (np.array(self._fill_rows, dtype=FILL_LOG_DTYPE) if self._fill_rows else
                     np.zeros(0, FILL_LOG_DTYPE))
        else:
            dec, orders, fills = arrays
        equity = np.asarray(self._equity_rows, dtype=EQUITY_DTYPE)  # a numba engine's rows are the log already
        rejects = reject_counts(dec)
        acks = self._ack_rows if self._ack_rows is not None else ack_log(self._acks)
        records = list(self.decisions) if arrays is None else self.decisions
        if len(self.legs) == 1:
            final = {"position": self.position, "cash": self.cash, "fees": self.fees, "fee_frac": self.fee_frac}
            resync = getattr(self.venue, "resync_counters", None)
            return RunOutput(dec, orders, fills, equity, n, wall, rejects, final,
                             run_hash(dec, orders, fills), self.gw.metrics_snapshot(), records,
                             list(self.transitions), resync() if resync is not None else None, acks)
        order_legs = (self._order_legs if self._order_legs is not None else
                      np.array([(o, self._leg_of.get(o, 0)) for o in sorted(self._side_of)], dtype=ORDER_LEG_DTYPE))
        of_symbol = {leg.symbol: leg.index for leg in self.legs}
        dec_legs = (self._dec_legs if self._dec_legs is not None else
                    np.array([of_symbol[d.symbol] for d in records], dtype=np.int64))
        # (a numba engine's equity rows are each leg's rows of its log, a view as one leg's log is: not copied)
        legs = leg_results(self.legs, order_legs, dec_legs, [leg.equity_rows for leg in self.legs])
        final = legs_final(self.legs)
        return RunOutput(dec, orders, fills, np.zeros(0, EQUITY_DTYPE), n, wall, rejects, final,
                         run_hash(dec, orders, fills, order_legs, dec_legs), self.gw.metrics_snapshot(),
                         records, list(self.transitions), None, acks, legs)


def check_periods(sample_ns: int, timer_ns: int) -> None:
    """The sampling period and the strategy's timer within ``0..MAX_LATENCY_NS`` (both engines add them to times in
    int64: `hft.core.bounds`), else a `SimError` naming it."""
    for what, ns in (("sample", sample_ns), ("strategy timer_ns", timer_ns)):
        if not 0 <= int(ns) <= MAX_LATENCY_NS:
            raise SimError(f"{what}: expected {expected('latency')}, was {int(ns)}", key=what)


def check_events(events: np.ndarray) -> None:
    """Every event's times and price within the value domain (`hft.core.bounds`: the engines add latencies to
    times and sum prices in int64), else a `SimError` naming the first event and field outside it. Both engines,
    at set-up, before any book is built."""
    row, fault = first_out_of_domain(events)
    if row >= 0:
        name = FAULT_FIELDS[fault]
        raise SimError(f"event {row + 1}: {name} {int(events[name][row])}: expected {expected(name)}, the simulator's "
                       "range", key=name, hint="times are int64 ns since 1970, prices int64 ticks")


def reject_counts(dec: np.ndarray) -> dict[str, int]:
    """Rejected decisions of a decision log (`DECISION_LOG_DTYPE`) by reason name, sorted by name."""
    rejects: dict[str, int] = {}
    for r in dec["reason"][dec["accepted"] == 0]:
        name = REASON_NAMES.get(int(r), str(int(r)))
        rejects[name] = rejects.get(name, 0) + 1
    return dict(sorted(rejects.items()))


def ack_log(acks: dict[int, tuple[int, int]]) -> np.ndarray:
    """`ACK_LOG_DTYPE` rows of ``Engine._acks`` (order id -> (ACK's local arrival ns, queue ahead)), by order id."""
    out = np.zeros(len(acks), ACK_LOG_DTYPE)
    if acks:
        ids = sorted(acks)
        out["order_id"] = ids
        vals = np.array([acks[o] for o in ids], dtype=np.int64)
        out["ack_ts"] = vals[:, 0]
        out["queue"] = vals[:, 1]
    return out


def decision_log(decisions: Any) -> np.ndarray:
    """`DECISION_LOG_DTYPE` rows of gateway `Decision` records (what the run hash covers)."""
    dec = np.zeros(len(decisions), DECISION_LOG_DTYPE)
    for j, d in enumerate(decisions):
        dec[j] = (d.seq, d.ts, d.order_id, _int(d.target_id), _int(d.price), _int(d.qty), d.reason, _int(d.kind),
                  _int(d.side), d.accepted, d.duplicate)
    return dec


class L2MarketVenue:
    """Adapts `hft.sim.exchange_l2.L2Venue` to the engine's ``market(...)`` call."""

    def __init__(self, venue: Any) -> None:
        self.v = venue
        self.new, self.cancel, self.replace = venue.new, venue.cancel, venue.replace
        self.queue_ahead = venue.queue_ahead

    def market(self, now: int, kind: int, side: int, price: int, qty: int, order_id: int) -> np.ndarray:
        if kind == EV_LEVEL_SET or kind == EV_SNAPSHOT_LEVEL:
            return self.v.depth(now, side, price, qty)
        if kind == EV_TRADE and side != 0:
            return self.v.trade(now, side, price, qty)
        if kind == EV_CLEAR:
            return self.v.clear(now, side)
        return _NO_REPORTS


_NO_REPORTS = np.zeros(0)


def _view_reference(reference: np.ndarray | None, n: int, is_l3: bool) -> np.ndarray | None:
    """Validated reference rows for the local view (read-only int64, C order), or None."""
    if reference is None:
        return None
    if not is_l3:
        raise SimError("engine reference rows: expected L3 (LOBSTER) data, was an L2 stream")
    ref = np.ascontiguousarray(reference, dtype=np.int64)
    if ref.ndim != 2 or ref.shape[0] != n or ref.shape[1] < 4 or ref.shape[1] % 4:
        raise SimError(f"engine reference rows: expected int64 rows of 4*L columns, one per event ({n}), was "
                       f"shape {ref.shape}")
    ref = ref.view()
    ref.flags.writeable = False
    return ref


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError, OverflowError):
        return 0
