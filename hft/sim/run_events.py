"""A run's events as Python handles them, the same rules for both engines: the heap of items in flight, the
gateway's dispatcher and record sink, the strategy's intents, venue reports reaching the gateway and the
strategy, the local view of a leg and its top, equity samples, and a popped heap item.

The Python engine (`hft.sim.engine.Engine`) runs every event through these; the numba engine
(`hft.sim.engine_nb.NbEngine`) runs them at its wakes (a heap item, a fallback, a strategy's intents) and, where
its in-kernel order path owns a step, its own version of it. Each function takes the engine `eng` (its state:
`hft.sim.run_setup.RunEngine`) and calls back through the engine's own methods for a step an engine may do its
own way (``eng._push``, ``eng._schedule_reports``, ``eng._deliver``, ``eng._intent``, ``eng._refresh_top``), so
that each engine states, method by method, which rule it takes from here and which is its own.

The merged clock's streams and their tie order (`hft.sim.engine`, module docstring) are the ``PRI_*`` constants.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from hft.book.l2 import L2_OK, L2_OUT_OF_RANGE, L2_STATUS_NAMES, grow
from hft.book.l2_view import local_apply, local_set_row, row_out_of_range
from hft.book.topn import COL_BID_PX
from hft.core.dtypes import BUY, NO_PRICE, SELL
from hft.core.errors import SimError
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
    VENUE_REPORT,
)
from hft.gateway.intents import TypedIntentEnvelope, report_from_row, typed_intent_v1  # not the lazy package
from hft.sim.fees import MONEY_GATEWAY, book_fill, fill_refusal
from hft.sim.latency import latency_of, session_arrival
from hft.sim.run_records import EQUITY, FILL_LOG, ORDER_LOG
from hft.sim.strategy import OrderState, OrderUpdate
from hft.sim.venue_common import CMD_EXPIRE, gtd_expiry

if TYPE_CHECKING:
    import numpy as np

    from hft.sim.legs import Leg
    from hft.sim.run_setup import RunEngine

# the merged clock's streams, in their tie order at equal times
PRI_LOCAL_MD, PRI_LOCAL_RESP, PRI_TIMER, PRI_EXCH_MD, PRI_EXCH_ARRIVAL = range(5)


# --- the heap of items in flight ---------------------------------------------------------------------------------
def push(eng: RunEngine, t: int, prio: int, item: tuple) -> None:
    """Item `item` onto the heap at time `t`, priority `prio` (ties: insertion order)."""
    heapq.heappush(eng.heap, (t, prio, eng._seq, item))
    eng._seq += 1


def wake_at(eng: RunEngine, t: int, payload: Any) -> None:
    """The strategy's one-shot wake-up (`Context.at`): at local time `t`, in the timers' place."""
    eng._push(t, PRI_TIMER, ("wake", payload))


def dispatch_item(eng: RunEngine, t: int, item: tuple) -> None:
    """A heap item popped at time `t`: a report to the gateway and the strategy, a command to its venue, an equity
    sample, the strategy's wake or timer."""
    what = item[0]
    if what == "rep":
        eng._deliver(item[1])
    elif what == "cmd":
        cmd = item[1]
        venue = eng.legs[eng._leg_of.get(cmd.order_id, 0)].venue
        if cmd.action == INTENT_NEW:
            reps = venue.new(t, cmd.order_id, cmd.side, cmd.price, cmd.qty, cmd.order_type, cmd.tif, cmd.trigger,
                             cmd.display, cmd.trail, cmd.oco, cmd.parent)
        elif cmd.action == INTENT_CANCEL:
            reps = venue.cancel(t, cmd.order_id)
        elif cmd.action == INTENT_REPLACE:
            reps = venue.replace(t, cmd.order_id, cmd.price, cmd.qty)
        elif cmd.action == CMD_EXPIRE:
            reps = venue.expire(t, cmd.order_id)
        else:
            raise SimError(f"engine: expected a new / cancel / replace command, was action {cmd.action}")
        eng._schedule_reports(t, reps)
        if cmd.action == INTENT_NEW:  # a GTD order the venue keeps: its expiry, due at its time (`gtd_expiry`)
            due = gtd_expiry(reps, len(reps), cmd.tif, cmd.expire, t)
            if due >= 0:
                eng._push(due, PRI_EXCH_ARRIVAL, ("cmd", cmd._replace(action=CMD_EXPIRE)))
    elif what == "sample":
        eng._sample()
        eng._push(t + eng.cfg.sample_ns, PRI_TIMER, ("sample",))
    elif what == "wake":
        eng.cur = 0
        eng.strategy.on_wake(eng.ctx, item[1])
    elif what == "timer":
        eng.cur = 0
        eng.strategy.on_timer(eng.ctx)
        eng._push(t + eng.strategy.timer_ns, PRI_TIMER, ("timer",))


# --- the gateway: its dispatcher, its records, the strategy's intents ---------------------------------------------
def sink(eng: RunEngine, record: Any) -> None:
    """The gateway's record sink: a `Decision` or a `PolicyTransition`, kept in order (and to the extra sink)."""
    if hasattr(record, "accepted"):
        eng.decisions.append(record)
    else:
        eng.transitions.append(record)  # a PolicyTransition of the gateway's StormGuard / policy
    if eng._extra_sink is not None:
        eng._extra_sink(record)


def put_nowait(eng: RunEngine, cmd: Any) -> None:
    """The gateway's dispatcher (step 7): the command travels to the venue (entry latency, drawn per command)."""
    now = eng.clock.now_ns()
    arrival = session_arrival(now + latency_of(eng.cfg.entry, now, eng._n_entry), eng._cmd_at)
    eng._n_entry += 1
    eng._cmd_at = arrival
    eng._push(arrival, PRI_EXCH_ARRIVAL, ("cmd", cmd))
    eng._order_rows.append(ORDER_LOG.pack(ts=now, order_id=cmd.order_id, price=cmd.price, qty=cmd.qty,
                                          action=cmd.action, side=cmd.side, order_type=cmd.order_type, tif=cmd.tif))


def intent(eng: RunEngine, kind: int, side: int, price: int, qty: int, otype: int, tif: int, target: int,
           leg: int = 0, opt: tuple = NO_OPTIONS) -> Any:
    """An intent through the gateway with the run's next idempotency key (`opt`: a new order's optional fields,
    `hft.core.orders.order_options`); returns its `Decision`."""
    eng._key += 1
    env = TypedIntentEnvelope(typed_intent_v1(kind, eng._key, eng.cfg.account, eng.cfg.strategy,
                                              eng.legs[leg].symbol,
                                              side, price, qty, otype, tif, eng.clock.now_ns(), target, *opt),
                              eng.clock.now_ns())
    return eng.gw.process(env)


def submit(eng: RunEngine, side: int, price: int, qty: int, otype: int | None, tif: int | None, leg: int = 0,
           opt: tuple = NO_OPTIONS) -> Any:
    """A new order on instrument `leg` through the gateway (`opt`: its optional fields, a stop's trigger, a GTD
    order's expiry, an iceberg's display: `hft.core.orders.order_options`); returns its `Decision`."""
    d = eng._intent(INTENT_NEW, side, price, qty, otype or ORDER_LIMIT, tif or TIF_GTC, 0, leg, opt)
    if d.accepted and not d.duplicate:
        eng._side_of[d.order_id] = side
        if leg:
            eng._leg_of[d.order_id] = leg
        eng.live_orders[d.order_id] = OrderState(d.order_id, side, price, qty, qty, "pending_new")
    return d


def cancel(eng: RunEngine, order_id: int) -> Any:
    """Cancel order `order_id` through the gateway; returns its `Decision`."""
    d = eng._intent(INTENT_CANCEL, 0, 0, 0, ORDER_LIMIT, TIF_GTC, order_id, eng._leg_of.get(order_id, 0))
    if d.accepted and order_id in eng.live_orders:
        eng.live_orders[order_id].status = "pending_cancel"
    return d


def replace(eng: RunEngine, order_id: int, price: int, qty: int) -> Any:
    """Replace order `order_id` (new price and quantity) through the gateway; returns its `Decision`."""
    d = eng._intent(INTENT_REPLACE, 0, price, qty, ORDER_LIMIT, TIF_GTC, order_id, eng._leg_of.get(order_id, 0))
    if d.accepted and order_id in eng.live_orders:
        eng.live_orders[order_id].status = "pending_replace"
    return d


# --- venue reports -----------------------------------------------------------------------------------------------
def schedule_reports(eng: RunEngine, now: int, reports: np.ndarray) -> None:
    """A venue's reports at `now` travel back (response latency, drawn per report)."""
    # each row a `VENUE_REPORT.row` of Python ints (the array's dtype is the record's: `tolist` gives its fields in
    # the declaration's order), read by field name from here on; a few rows a call: cheaper than `rows`'s columns
    for r in map(VENUE_REPORT.row._make, reports.tolist()):
        lat = latency_of(eng.cfg.response, now, eng._n_resp)
        eng._n_resp += 1
        eng._push(now + lat, PRI_LOCAL_RESP, ("rep", r))


def order_state(orders: dict[int, OrderState], oid: int, kind: int, price: int, leaves: int) -> None:
    """A report of order `oid` applied to the strategy's view of its orders (`Context.orders`): a finished order
    leaves it, a working one takes its new status, price and leaves. The live runner (`hft.live.algo`) applies the
    service's reports by this rule too."""
    st = orders.get(oid)
    if st is None:
        return
    if kind in (REPORT_FILL, REPORT_CANCELED, REPORT_EXPIRED, REPORT_REJECTED):
        del orders[oid]
    elif kind == REPORT_REPLACED:
        st.price, st.leaves, st.status = price, leaves, "working"
    elif kind in (REPORT_ACK, REPORT_CANCEL_REJECTED, REPORT_REPLACE_REJECTED):
        st.status = "working"
    elif kind == REPORT_PARTIAL_FILL:
        st.leaves, st.status = leaves, "working" if st.status == "pending_new" else st.status


def deliver(eng: RunEngine, rep: Any) -> None:
    """A venue report (a `VENUE_REPORT.row`) reaches the gateway (exposure, PnL), the leg's accounting (a fill),
    the strategy's order view and its ``on_order_update``."""
    ts, oid, price, qty, leaves = rep.ts, rep.order_id, rep.price, rep.qty, rep.leaves
    fee, frac, kind, liq, queue = rep.fee, rep.fee_frac, rep.kind, rep.liquidity, rep.queue
    side = eng._side_of.get(oid, 0)
    k = eng._leg_of.get(oid, 0)
    leg = eng.legs[k]
    fill = kind == REPORT_FILL or kind == REPORT_PARTIAL_FILL
    if fill:  # its money exactly, or the run stops before anything of it is booked (`hft.sim.fees`, "Range")
        what, pos, cash, fees, fees_frac = book_fill(side, price, qty, leg.mult, fee, frac, leg.position,
                                                     leg.cash, leg.fees, leg.fee_frac)
        if what:
            raise fill_refusal(what, ts, oid, side, price, qty, fee, leg.mult, leg.position, leg.cash, leg.fees)
    flags = eng.gw.on_execution_report(report_from_row(rep))
    eng.cur = k
    if kind == REPORT_ACK:
        eng._acks[oid] = (eng.clock.now_ns(), queue)
    if fill:
        if flags & RISK_FLAG_BAD_REPORT:  # the gateway could not book it (and applied nothing)
            raise fill_refusal(MONEY_GATEWAY, ts, oid, side, price, qty, fee, leg.mult, leg.position, leg.cash,
                               leg.fees)
        leg.position, leg.cash, leg.fees, leg.fee_frac = int(pos), int(cash), int(fees), int(fees_frac)
        eng._fill_rows.append(FILL_LOG.pack(ts=ts, local_ts=eng.clock.now_ns(), order_id=oid, price=price, qty=qty,
                                            leaves=leaves, fee=fee, fee_frac=frac, side=side, kind=kind,
                                            liquidity=liq))
    order_state(eng.live_orders, oid, kind, price, leaves)
    eng.strategy.on_order_update(eng.ctx, OrderUpdate(eng.clock.now_ns(), oid, kind, price, qty, leaves, fee,
                                                      liq == 1, ts, frac))


# --- the local view ----------------------------------------------------------------------------------------------
def local(leg: Leg, kind: int, side: int, price: int, qty: int) -> None:
    """One event into the leg's local view (grown when the price is outside it)."""
    status = local_apply(leg.local, kind, side, price, qty, leg.is_l3, leg.top)
    if status == L2_OUT_OF_RANGE:
        leg.local = grow(leg.local, side, price)
        status = local_apply(leg.local, kind, side, price, qty, leg.is_l3, leg.top)
    if status != L2_OK:
        raise SimError(f"local book: expected a valid update at ({side}, {price}), was {L2_STATUS_NAMES[status]}")


def local_row(leg: Leg, k: int) -> None:
    """The leg's local view := its reference row `k` (it holds row k - 1 once row 0 was set: rows go in order)."""
    ref = leg.reference
    while local_set_row(leg.local, ref, k, k > 0, leg.top) == L2_OUT_OF_RANGE:
        lb = leg.local
        c = int(row_out_of_range(lb.bid_qty, lb.ask_qty, lb.state, ref, k))
        leg.local = grow(lb, BUY if c % 4 == COL_BID_PX else SELL, int(ref[k, c]))


def leg_at(eng: RunEngine, i: int) -> int:
    """The leg of merged event `i`."""
    return int(eng._leg_ix[i]) if eng._leg_ix is not None else 0


def local_event(eng: RunEngine, i: int, kind: int, side: int, price: int, qty: int) -> None:
    """Local market event `i` into its leg's view: its reference row when there are rows, else the event."""
    leg = eng.legs[eng._leg_at(i)]
    if leg.reference is not None:
        local_row(leg, eng._own[i] if eng._own is not None else i)
    else:
        local(leg, kind, side, price, qty)


def refresh_top(eng: RunEngine, k: int = 0) -> bool:
    """Leg `k`'s top snapshot := its per-event top; the gateway marks its symbol when the touch moved. Returns
    whether the snapshot changed."""
    leg = eng.legs[k]
    b, bq, a, aq = leg.top.tolist()
    top = (None if b == NO_PRICE else b, bq, None if a == NO_PRICE else a, aq)
    old = leg.local_top
    if top == old:
        return False
    if (top[0] != old[0] or top[2] != old[2]) and top[0] is not None and top[2] is not None:
        eng.gw.mark(leg.symbol, (top[0] + top[2]) // 2)
    leg.local_top = top
    return True


# --- equity samples ----------------------------------------------------------------------------------------------
def sample(eng: RunEngine) -> None:
    """An equity sample: one row (one leg), or one row per leg in its `equity_rows` (several legs)."""
    now = eng.clock.now_ns()
    for leg in eng.legs:
        b, _, a, _ = leg.local_top
        mid2 = (b + a) if b is not None and a is not None else 0
        (eng._equity_rows if len(eng.legs) == 1 else leg.equity_rows).append(EQUITY.pack(
            ts=now, mid2=mid2, position=leg.position, cash=leg.cash, fees=leg.fees, fee_frac=leg.fee_frac,
            bid=b if b is not None else 0, ask=a if a is not None else 0))
