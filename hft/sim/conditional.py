"""Emulated conditional orders: stop, stop-limit, trailing stop, iceberg, GTD, OCO and bracket, held on the
strategy's side (as NautilusTrader's OrderEmulator or a broker's simulated orders), not at the venue.

`ConditionalOrders` holds the orders and watches the market through the strategy's callbacks; when an order's
condition holds it sends a plain order with ``ctx.submit`` (the *child*), which the gateway checks like any other
intent (limits, price band, rates) and the venue treats as a new order. It uses the public `Context` API only
(``submit / cancel / at``, the local top, trade prints), so it runs unchanged on both replay engines, the
independent reference (`hft.sim.reference`) and a live client. `ConditionalStrategy` is a `Strategy` base that
feeds it: subclass it, override the usual callbacks, and place orders on ``self.conditional``.

Rules (prices in ticks, quantities in lots, times local ns):

* **Trigger price**: ``trigger="trade"`` (default): the price of each trade print (``on_trade``: on L3 data each
  execution, hidden execution or trade event, ``EV_EXEC`` / ``EV_HIDDEN_EXEC`` / ``EV_TRADE``);
  ``trigger="mid"``: the local mid at the end of each message (``on_book``, ``FLAG_EOM``; none while a side is
  empty). The component's ``trigger`` is each order's unless the order names its own (``trigger=`` of `stop`,
  `trailing_stop`, `bracket`: its stop). The held orders are checked at every observation of their trigger price
  after their placement, oldest first.
* **stop** / **stop-limit**: a buy stop triggers when the trigger price is at or above its stop price, a sell stop
  when it is at or below. On trigger it sends a market IOC order (stop) or a GTC limit at its limit price
  (stop-limit) for its quantity.
* **trailing stop**: ``offset`` ticks from the best trigger price seen since placement (the highest for a sell,
  the lowest for a buy), starting at the last trigger price seen before placement (the first one after when
  none); the stop level follows that best price and triggers as a stop, sending a market IOC order. The L2 venue
  also holds trailing stops natively (``ctx.submit(..., ORDER_STOP, trigger=..., trail=...)``; docs/sim.md,
  "Trailing stops"): its trigger, given at entry, follows the venue's prints with no latency; the L3 venue and the
  live service refuse them, so there this emulation is the way.
* **iceberg**: ``qty`` at one limit price shown ``display`` lots at a time (GTC children); when a child is filled
  whole, the next ``min(display, left)`` goes out at the same price, a new order: it joins the back of the queue. The
  L2 and L3 venues also hold icebergs natively (``ctx.submit(..., display=...)``; docs/sim.md, "Iceberg orders held
  by the venue"): the refill then happens at the venue, with no round trip.
* **limit**: a plain GTC limit order, sent at once (what GTD and OCO need of a limit).
* **GTD**: ``expire_at`` (any type): at that local time (``ctx.at``) a held order is dropped and a working child
  cancelled (``ctx.cancel``); fills that race the cancel still count.
* **OCO** (``oco(a, b)``): the first fill of either order, partial or whole, cancels the other (held: dropped;
  working: its child cancelled). A triggered order whose child has not filled yet does not.
* **bracket**: an entry limit; on each fill of it, a take-profit limit at ``take_profit`` and a stop at ``stop``
  (a stop-limit when ``stop_limit`` is given), both for the lots of that fill on the opposite side, as an OCO
  pair (GTC).

The L2 venue also holds OCO pairs and brackets natively (``ctx.submit(..., oco=<order id>)``, ``parent=<entry's
order id>``; docs/sim.md, "OCO and bracket orders held by the venue"): a fill or trigger of either order of a pair
cancels the other at the venue in the same step, and a bracket's children enter the book when their entry has no
leaves, for the lots it filled (not per fill, as this emulation does), with no round trip. The L3 venue and the live
service refuse them, so there this emulation is the way.

What the strategy is told: every state change of an order (``working``: a child went out; ``filled``,
``cancelled``, ``expired``, ``rejected``) calls ``on_conditional(ctx, order)`` with the `EmulatedOrder`. A child
refused by the gateway makes the order ``rejected`` with the gateway's reason name (``order.reason``, e.g.
``MAX_ORDER_QTY``); one refused by the venue, ``rejected`` with reason ``VENUE``. The children's own execution
reports reach ``on_order_update`` as any order's do (``order.children`` lists their order ids).

Emulated, not native: the trigger is seen with the feed latency (the local view) and the released order pays the
entry latency before it reaches the venue, so it may fill at a worse price than a venue-native stop would; the
held order takes no queue place. On a run over several instruments an order belongs to the instrument of the
context it was placed with (``ctx.leg(k)`` for another) and triggers on that instrument's prices only.
Venue-native stops and stop-limits (``ORDER_STOP`` / ``ORDER_STOP_LIMIT``, held and triggered by the L2 / L3 venues
themselves) are the alternative: docs/sim.md, "Stop orders held by the venue"; likewise venue-native GTD
(``TIF_GTD`` with ``expire``, expired by the venue at its exchange time): docs/sim.md, "Good till date".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hft.core.dtypes import BUY, SELL
from hft.core.errors import SimError
from hft.core.orders import (
    ORDER_LIMIT,
    ORDER_MARKET,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    TIF_GTC,
    TIF_IOC,
)
from hft.sim.strategy import Context, OrderUpdate, Strategy

TRIGGERS = ("trade", "mid")
DONE = ("filled", "cancelled", "expired", "rejected")


@dataclass
class EmulatedOrder:
    """One emulated order as `ConditionalOrders` holds it (module docstring)."""

    id: int
    kind: str  # "stop" | "stop_limit" | "trailing_stop" | "iceberg" | "limit"
    side: int
    qty: int
    leg: int = 0  # the instrument (`Context.leg_index` of the context it was placed with)
    price: int | None = None  # the limit price of the children (None: market)
    stop: int | None = None  # the trigger level (a trailing stop's follows the best price)
    offset: int = 0  # trailing stop: ticks from the best price
    display: int = 0  # iceberg: lots shown at a time
    expire_at: int | None = None
    status: str = "held"  # "held" | "working" | "filled" | "cancelled" | "expired" | "rejected"
    filled: int = 0
    reason: str | None = None  # why it was rejected
    children: list[int] = field(default_factory=list)  # gateway order ids, in order sent
    oco: int | None = None  # the other order of its OCO pair
    bracket: tuple[int, int | None, int | None] | None = None  # entry: (take profit, stop, stop limit)
    best2: int | None = None  # trailing stop: twice the best trigger price seen
    trigger: str = "trade"  # what its stop watches: "trade" | "mid" (a bracket's: its stop's)

    @property
    def done(self) -> bool:
        return self.status in DONE


@dataclass(frozen=True)
class _Expiry:
    order_id: int


def _side(side: int) -> int:
    if isinstance(side, bool) or side not in (BUY, SELL):
        raise SimError(f"conditional order: side: expected 1 (buy) or -1 (sell), was {side!r}")
    return side


def _lots(name: str, v: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise SimError(f"conditional order: {name}: expected a positive integer (lots), was {v!r}")
    return v


def _ticks(name: str, v: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise SimError(f"conditional order: {name}: expected a price in ticks (an integer), was {v!r}")
    return v


class ConditionalOrders:
    """Emulated conditional orders of one strategy, each on the instrument it was placed on (module docstring). Feed it the strategy's
    ``on_book``, ``on_trade``, ``on_order_update`` and ``on_wake`` (`ConditionalStrategy` does)."""

    def __init__(self, trigger: str = "trade", on_change: Callable[[Context, EmulatedOrder], None] | None = None) -> None:
        if trigger not in TRIGGERS:
            raise SimError(f"conditional orders: trigger: expected one of {list(TRIGGERS)}, was {trigger!r}")
        self.trigger = trigger
        self.on_change = on_change
        self.orders: dict[int, EmulatedOrder] = {}  # by emulated id, every order placed
        self._of_child: dict[int, int] = {}  # gateway order id -> emulated id
        self._last2: dict[tuple[int, str], int] = {}  # twice the last trigger price seen, by (leg, trigger)
        self._held: dict[int, EmulatedOrder] = {}  # the stops still held, oldest first
        self._next = 1

    # --- placing ---------------------------------------------------------------------------------------------------
    def stop(self, ctx: Context, side: int, stop: int, qty: int, *, limit: int | None = None,
             expire_at: int | None = None, trigger: str | None = None) -> EmulatedOrder:
        """A stop (market IOC on trigger) or, with `limit`, a stop-limit (GTC limit at `limit` on trigger);
        `trigger`: its trigger price (default: the component's)."""
        kind = "stop" if limit is None else "stop_limit"
        o = self._new(ctx, kind, side, qty, expire_at, stop=_ticks("stop", stop),
                      price=None if limit is None else _ticks("limit", limit), trigger=self._trigger(trigger))
        self._held[o.id] = o
        return o

    def trailing_stop(self, ctx: Context, side: int, offset: int, qty: int, *,
                      expire_at: int | None = None, trigger: str | None = None) -> EmulatedOrder:
        """A trailing stop `offset` ticks behind the best trigger price since placement (market IOC on trigger)."""
        o = self._new(ctx, "trailing_stop", side, qty, expire_at, offset=_lots("offset", offset),
                      trigger=self._trigger(trigger))
        self._held[o.id] = o
        o.best2 = self._last2.get((o.leg, o.trigger))
        if o.best2 is not None:
            o.stop = self._trail_level(o)
        return o

    def iceberg(self, ctx: Context, side: int, price: int, qty: int, display: int, *,
                expire_at: int | None = None) -> EmulatedOrder:
        """`qty` at `price`, shown `display` lots at a time; the first part goes out now."""
        o = self._new(ctx, "iceberg", side, qty, expire_at, price=_ticks("price", price),
                      display=_lots("display", display))
        self._release(ctx, o)
        return o

    def limit(self, ctx: Context, side: int, price: int, qty: int, *, expire_at: int | None = None) -> EmulatedOrder:
        """A plain GTC limit order through the component (sent now): for GTD, OCO and brackets."""
        o = self._new(ctx, "limit", side, qty, expire_at, price=_ticks("price", price))
        self._release(ctx, o)
        return o

    def oco(self, ctx: Context, a: EmulatedOrder, b: EmulatedOrder) -> None:
        """Link `a` and `b`: the first fill of either cancels the other (module docstring)."""
        if a is b or a.oco is not None or b.oco is not None:
            raise SimError(f"conditional orders: oco: expected two orders in no pair yet, was {a.id} and {b.id}")
        a.oco, b.oco = b.id, a.id
        for x, y in ((a, b), (b, a)):  # one of them filled before the link
            if x.filled and not y.done:
                self._end(ctx, y, "cancelled")

    def bracket(self, ctx: Context, side: int, price: int, qty: int, take_profit: int, stop: int, *,
                stop_limit: int | None = None, expire_at: int | None = None,
                trigger: str | None = None) -> EmulatedOrder:
        """An entry limit at `price`; each of its fills places a take profit and a stop (OCO) for its lots
        (`trigger`: the stops', default the component's)."""
        o = self._new(ctx, "limit", side, qty, expire_at, price=_ticks("price", price), trigger=self._trigger(trigger))
        o.bracket = (_ticks("take_profit", take_profit), _ticks("stop", stop),
                     None if stop_limit is None else _ticks("stop_limit", stop_limit))
        self._release(ctx, o)
        return o

    def cancel(self, ctx: Context, order: EmulatedOrder) -> None:
        """Cancel an order: dropped while held; its working child cancelled through the gateway."""
        if not order.done:
            self._end(ctx, order, "cancelled")

    @property
    def active(self) -> list[EmulatedOrder]:
        """The orders not done, oldest first."""
        return [o for o in self.orders.values() if not o.done]

    # --- feeding -----------------------------------------------------------------------------------------------------
    def on_book(self, ctx: Context) -> bool:
        """Feed a book change (the mid is the trigger price of ``trigger="mid"`` orders); never consumed: False."""
        mid2 = ctx.mid2
        if mid2 is not None:
            self._observe(ctx, "mid", mid2)
        return False

    def on_trade(self, ctx: Context, side: int, price: int, qty: int) -> bool:
        """Feed a trade print (its price is the trigger price of ``trigger="trade"`` orders); never consumed:
        False."""
        self._observe(ctx, "trade", 2 * price)
        return False

    def on_order_update(self, ctx: Context, u: OrderUpdate) -> bool:
        """Feed an execution report (a child's fills, end or rejection); never consumed: False (the strategy sees
        every report)."""
        oid = self._of_child.get(u.order_id)
        if oid is None:
            return False
        o = self.orders[oid]
        if u.kind in (REPORT_FILL, REPORT_PARTIAL_FILL):
            o.filled += u.qty
            if o.bracket is not None:
                tp, st, sl = o.bracket
                a = self.limit(ctx, -o.side, tp, u.qty)
                b = self.stop(ctx, -o.side, st, u.qty, limit=sl, trigger=o.trigger)
                self.oco(ctx, a, b)
            if o.oco is not None and not self.orders[o.oco].done:
                self._end(ctx, self.orders[o.oco], "cancelled")
            if u.kind == REPORT_FILL and not o.done:
                if o.filled >= o.qty:
                    self._set(ctx, o, "filled")
                elif o.kind == "iceberg":  # (a market child filled in part ends with its EXPIRED report)
                    self._release(ctx, o)
        elif u.kind in (REPORT_CANCELED, REPORT_EXPIRED) and not o.done:
            self._set(ctx, o, "cancelled" if u.kind == REPORT_CANCELED else "expired")
        elif u.kind == REPORT_REJECTED and not o.done:
            o.reason = "VENUE"
            self._set(ctx, o, "rejected")
        return False

    def on_wake(self, ctx: Context, payload: Any) -> bool:
        """True when the wake-up was one of ours (an expiry), not for the strategy."""
        if not isinstance(payload, _Expiry):
            return False
        o = self.orders[payload.order_id]
        if not o.done:
            self._end(ctx, o, "expired")
        return True

    # --- inside ------------------------------------------------------------------------------------------------------
    def _new(self, ctx: Context, kind: str, side: int, qty: int, expire_at: int | None, **kw: Any) -> EmulatedOrder:
        if expire_at is not None:
            _ticks("expire_at", expire_at)
        o = EmulatedOrder(self._next, kind, _side(side), _lots("qty", qty), ctx.leg_index, expire_at=expire_at,
                          **kw)
        self._next += 1
        self.orders[o.id] = o
        if expire_at is not None:
            ctx.at(expire_at, _Expiry(o.id))
        return o

    def _trail_level(self, o: EmulatedOrder) -> int:
        # the level in ticks, rounded towards the market: best - offset for a sell, best + offset for a buy
        assert o.best2 is not None
        return -((-o.best2) // 2) - o.offset if o.side == SELL else o.best2 // 2 + o.offset

    def _trigger(self, trigger: str | None) -> str:
        if trigger is None:
            return self.trigger
        if trigger not in TRIGGERS:
            raise SimError(f"conditional order: trigger: expected one of {list(TRIGGERS)}, was {trigger!r}")
        return trigger

    def _observe(self, ctx: Context, trigger: str, p2: int) -> None:
        leg = ctx.leg_index
        self._last2[leg, trigger] = p2
        for o in list(self._held.values()):
            if o.status != "held" or o.leg != leg or o.trigger != trigger:
                continue
            # a trailing stop's best: a lower price for a buy, a higher one for a sell
            if o.kind == "trailing_stop" and (o.best2 is None or (p2 - o.best2) * o.side < 0):
                o.best2 = p2
                o.stop = self._trail_level(o)
            assert o.stop is not None
            if (p2 - 2 * o.stop) * o.side >= 0:  # buy: at or above the stop; sell: at or below
                self._release(ctx, o)

    def _release(self, ctx: Context, o: EmulatedOrder) -> None:
        lots = o.qty - o.filled if o.kind != "iceberg" else min(o.display, o.qty - o.filled)
        ctx = ctx.leg(o.leg)
        if o.price is None:
            d = ctx.submit(o.side, 0, lots, ORDER_MARKET, TIF_IOC)
        else:
            d = ctx.submit(o.side, o.price, lots, ORDER_LIMIT, TIF_GTC)
        if not d.accepted:
            o.reason = d.reason_name
            self._set(ctx, o, "rejected")
            return
        oid = int(d.order_id)
        o.children.append(oid)
        self._of_child[oid] = o.id
        if o.status != "working":
            self._set(ctx, o, "working")

    def _end(self, ctx: Context, o: EmulatedOrder, status: str) -> None:
        if o.status == "working" and o.children and o.children[-1] in ctx.leg(o.leg).orders:
            ctx.cancel(o.children[-1])
        self._set(ctx, o, status)

    def _set(self, ctx: Context, o: EmulatedOrder, status: str) -> None:
        o.status = status
        self._held.pop(o.id, None)  # (only stops are held; any change leaves "held")
        if self.on_change is not None:
            self.on_change(ctx, o)


_FED = ("on_book", "on_trade", "on_order_update", "on_wake")
_MARK = "__hft_conditional_feed__"  # set on each callback `_feeding` made (never wrapped twice)


def _feeding(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` preceded by the emulator's own handling of the callback (once per call: a ``super()`` call from an
    override does not feed it again); a wake-up of the emulator's own does not reach `fn`."""

    @functools.wraps(fn)
    def hook(self: ConditionalStrategy, ctx: Context, *args: Any) -> Any:
        if self.__dict__.get("_in_callback"):
            return fn(self, ctx, *args)
        self._in_callback = True
        try:
            if getattr(self.conditional, name)(ctx, *args):
                return None
            return fn(self, ctx, *args)
        finally:
            self._in_callback = False

    setattr(hook, _MARK, True)
    return hook


class ConditionalStrategy(Strategy):
    """A `Strategy` with emulated conditional orders on ``self.conditional`` (module docstring). Override the
    callbacks as usual: the emulator sees every book change, trade print, execution report and wake-up first,
    whatever the override does; ``on_conditional`` hears of each state change of an emulated order."""

    trigger = "trade"  # "trade" | "mid": the trigger price of stops (module docstring)

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        for name in _FED:
            fn = cls.__dict__.get(name)
            if fn is not None and not getattr(fn, _MARK, False):
                setattr(cls, name, _feeding(name, fn))

    @property
    def conditional(self) -> ConditionalOrders:
        """The strategy's emulated orders (made on first use)."""
        c = self.__dict__.get("_conditional")
        if c is None:
            c = self.__dict__["_conditional"] = ConditionalOrders(self.trigger, self.on_conditional)
        return c

    def on_conditional(self, ctx: Context, order: EmulatedOrder) -> None:
        """An emulated order changed state (``order.status``; ``order.reason`` when rejected)."""


for _name in _FED:  # the base's own no-op callbacks feed the emulator too
    setattr(ConditionalStrategy, _name, _feeding(_name, getattr(Strategy, _name)))
