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

This engine drives the venues from Python (a few µs per event); the numba engine of docs/sim.md keeps these
semantics and must reproduce these run hashes (one leg or several: `hft.sim.engine_nb`, "Several legs"). The two
share no base class: what both need is in modules of their own, which each engine names rule by rule —
`hft.sim.run_setup` (parameters, checks, the run state, sessions), `hft.sim.run_events` (the heap, the gateway's
dispatcher and sink, intents, reports, the local view, samples) and `hft.sim.run_output` (the `RunOutput`). What
is this module's own is the Python loop (`Engine.run`) and its local market events (`Engine._apply_local`); the
independent oracle of both engines is `hft.sim.reference`.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from hft.core.dtypes import (
    EV_CLEAR,
    EV_EXEC,
    EV_HIDDEN_EXEC,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TRADE,
    FLAG_EOM,
)
from hft.sim import run_events, run_output, run_setup
from hft.sim.latency import venue_times
from hft.sim.legs import local_stream

# the names this module gave before the shared modules held them (imported from here by users and tests)
from hft.sim.run_events import PRI_EXCH_ARRIVAL as PRI_EXCH_ARRIVAL
from hft.sim.run_events import PRI_EXCH_MD as PRI_EXCH_MD
from hft.sim.run_events import PRI_LOCAL_MD as PRI_LOCAL_MD
from hft.sim.run_events import PRI_LOCAL_RESP as PRI_LOCAL_RESP
from hft.sim.run_events import PRI_TIMER as PRI_TIMER
from hft.sim.run_output import ORDER_LEG_DTYPE as ORDER_LEG_DTYPE
from hft.sim.run_output import LegResult as LegResult
from hft.sim.run_output import RunOutput as RunOutput
from hft.sim.run_output import ack_log as ack_log
from hft.sim.run_output import decision_log as decision_log
from hft.sim.run_output import leg_results as leg_results
from hft.sim.run_output import legs_run_hash as legs_run_hash
from hft.sim.run_output import reject_counts as reject_counts
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
from hft.sim.run_setup import EngineConfig as EngineConfig
from hft.sim.run_setup import check_events as check_events
from hft.sim.run_setup import check_periods as check_periods


@run_setup.leg0_names  # the single-instrument names: leg 0's
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

    __init__ = run_setup.init
    of_legs = classmethod(run_setup.of_legs)

    # the rules both engines run, taken as they are (`hft.sim.run_setup`, `hft.sim.run_events`, `hft.sim.run_output`)
    continue_from = run_setup.continue_from
    end_session = run_setup.end_session
    _set_multiplier = run_setup.set_multiplier
    _sink = run_events.sink
    put_nowait = run_events.put_nowait
    _intent = run_events.intent
    submit = run_events.submit
    cancel = run_events.cancel
    replace = run_events.replace
    wake_at = run_events.wake_at
    _push = run_events.push
    _dispatch_item = run_events.dispatch_item
    _schedule_reports = run_events.schedule_reports
    _deliver = run_events.deliver
    _leg_at = run_events.leg_at
    _local_event = run_events.local_event
    _refresh_top = run_events.refresh_top
    _sample = run_events.sample
    _output = run_output.run_output

    # --- this engine's own: local market events and the loop ------------------------------------------------
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


class L2MarketVenue:
    """Adapts `hft.sim.exchange_l2.L2Venue` to the engine's ``market(...)`` call."""

    def __init__(self, venue: Any) -> None:
        self.v = venue
        self.new, self.cancel, self.replace, self.expire = venue.new, venue.cancel, venue.replace, venue.expire
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
