"""The strategy API of the simulator (Python callbacks).

A strategy subclasses `Strategy` and overrides the callbacks it needs. Every callback receives the `Context`,
the strategy's only window on the world: it shows the *local* book (market data after feed latency), the
strategy's position and working orders as the gateway's reports have told it, and it sends orders — always
through the real `GatewayService` (`Context.submit / cancel / replace` return the gateway's `Decision`).

Callbacks (all optional):

* ``on_start(ctx)`` — once, before the first event.
* ``on_book(ctx)`` — the local book changed (after every complete source message, `FLAG_EOM`).
* ``on_trade(ctx, side, price, qty)`` — a trade print arrived (side = aggressor; 0 when unknown).
* ``on_order_update(ctx, update)`` — an execution report of one of our orders arrived (`OrderUpdate`).
* ``on_timer(ctx)`` — every ``timer_ns`` of local time when ``timer_ns > 0``.
* ``on_wake(ctx, payload)`` — at a local time the strategy asked for with ``ctx.at(t, payload)`` (one-shot; runs
  at the timers' place in the order of equal times, and also after the data has ended: scripted actions such as
  the scenarios of `hft.sim.scenario` use it).

Example::

    class JoinBid(Strategy):
        name = "join_bid"

        def on_book(self, ctx):
            if not ctx.orders and ctx.best_bid is not None and ctx.position < 10:
                ctx.submit(BUY, ctx.best_bid, 1)

Beyond the top of book the context offers (all local: what the strategy could know at ``ctx.now``):

* ``ctx.depth(n)`` — the best ``n`` levels per side of the local book, ``(bids, asks)``, each an int64 array
  ``[k, 2]`` of (price, qty), best first (``n`` defaults to the strategy's ``depth_levels``, 5). On LOBSTER data
  with ``l3_resync`` on the local view is the reference row: at most the file's L levels.
* ``ctx.trades`` — the last ``trade_history`` trade prints (class attribute, default 0 = none kept), oldest
  first, as `Trade` (local ts, aggressor side, price, qty). A strategy with ``trade_history > 0`` wakes on
  trades on the numba engine (its ``on_trade`` may stay the base class's no-op).
* ``ctx.fills`` — every fill of ours so far as `Fill` records (the run's fill log, in order).
* ``ctx.cash`` / ``ctx.fees`` (money units, `hft.sim.fees`: ticks x lots x multiplier for a linear instrument,
  1e-9 coin for an inverse one) and ``ctx.pnl``: cash plus the position marked at the local mid (float; the
  cash alone while a side of the book is empty); ``ctx.pnl_rounded`` is that PnL exact, rounded once to whole
  money units (half to even, as ``ctx.cash``): what a numba kernel reads as ``acct[AC_PNL]``;
  ``ctx.realized_pnl`` is the realised PnL at average cost, net of fees (the gateway's rule).
* ``ctx.queue_ahead(order_id)`` — the lots ahead of a resting order of ours in its price queue: exact on the
  L3 venue (the FIFO holds our order), the queue model's estimate (``queue_model``) on the L2 venue; -1 when the
  order does not rest (not arrived yet, filled or cancelled). This is the *venue's* state at ``ctx.now``, not a
  report that travelled back: a research convenience (hftbacktest exposes the same), read it knowing that a
  live strategy can only estimate it. With no feed latency (LOBSTER's default: local time = exchange time) a
  book callback at time t runs before the venue applies the message of t (ties: local data first, docs/sim.md
  "One clock, four streams"), so the queue read there is the one before that message, one message behind the
  book the callback sees; with a feed latency the venue is ahead of the view, as a real one is.

Several instruments (a run of several legs, `hft.sim.engine.Engine.of_legs`): the context's instrument accessors
(top, ``depth``, ``position``, ``orders``, ``cash``, ``fees``, ``pnl``, ``trades``, ``submit``) refer to the leg of
the callback — the instrument whose book or trade arrived, the instrument of the order a report is about, leg 0
for timers and wakes; ``ctx.symbol`` / ``ctx.leg_index`` name it. ``ctx.leg(k)`` (an index or a symbol) is the
same context fixed on leg k, for reading and trading any instrument; ``ctx.symbols`` lists them in leg order.
``fills`` are every fill of the run; cancel / replace go to the order's own instrument. A single-instrument run
has one leg: nothing changes.

What wakes a strategy on the numba engine (`hft.sim.engine_nb`): its ``wakes`` attribute (a subset of
``("book", "trade", "order", "timer")``), else the callbacks it overrides; a callback outside that set is not
called there. Numba strategy kernels: a strategy may also name a registered njit book callback
(``nb_kernel = "mm"`` plus ``nb_params()``, see `hft.sim.strategies.mm.MarketMaker` and
`hft.sim.engine_nb.mm_on_book`); the numba engine then runs that kernel inside its loop and sends the intents it
writes through the gateway exactly as ``on_book`` would, and the Python ``on_book`` stays the reference (same
run hash).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from hft.book.l2 import top_n
from hft.core.dtypes import NO_PRICE
from hft.core.errors import SimError
from hft.core.money import exact_money, round_money, round_owed
from hft.core.orders import (
    ORDER_LIMIT,
    ORDER_STOP,
    ORDER_STOP_LIMIT,
    R_BAD_INPUT,
    TIF_GTC,
    options_dict,
    order_options,
)
from hft.gateway.intents import INT_FIELD_MAX, as_int_field
from hft.sim.run_records import FILL_LOG

if TYPE_CHECKING:
    from hft.sim.engine import Engine
    from hft.sim.legs import Leg


@dataclass
class OrderState:
    """One of our orders as the strategy knows it (from decisions and reports)."""

    order_id: int
    side: int
    price: int
    qty: int
    leaves: int
    status: str  # "pending_new" | "working" | "pending_cancel" | "pending_replace"


@dataclass(frozen=True)
class OrderUpdate:
    """An execution report as delivered to the strategy (local time)."""

    ts: int
    order_id: int
    kind: int  # hft.core.orders.REPORT_*
    price: int
    qty: int
    leaves: int
    fee: int  # money units, the whole part (floor) of the exact fee ``fee + fee_frac / 1e6`` (`hft.sim.fees`)
    maker: bool
    exch_ts: int = 0  # the venue's time of the report
    fee_frac: int = 0  # the fee's millionths of a money unit beyond `fee` (0 <= . < 1e6)


class Trade(NamedTuple):
    """A trade print as the strategy saw it (`Context.trades`)."""

    ts: int  # local time it arrived
    side: int  # aggressor (BUY / SELL; 0 unknown)
    price: int
    qty: int


class Fill(FILL_LOG.row):  # type: ignore[misc]  # the record's row view: its fields, in its order
    """One fill of ours: a row of the run's fill log, its fields those of `hft.sim.run_records.FILL_LOG` in that
    record's order (``ts``: exchange time; ``local_ts``: when the report reached the strategy; ``order_id``,
    ``price``, ``qty``, ``leaves``; ``fee`` and ``fee_frac``: the exact fee is ``fee + fee_frac / 1e6`` money units,
    `hft.sim.fees`; ``side``; ``kind``: REPORT_FILL or REPORT_PARTIAL_FILL; ``liquidity``: 1 maker, 2 taker)."""

    __slots__ = ()


#: The most orders (submit, cancel, replace) and wake-ups at the current time (``ctx.at(now)``) a strategy may ask
#: for at one local time (docs/sim.md, "The replay, precisely"): more means a chain that never lets the clock
#: advance, e.g. a replace answering every report at zero latency, and the run stops with a `SimError`.
MAX_ACTIONS_AT_ONE_TIME = 100_000


class Context:
    """What a strategy sees and can do. Prices are ticks, quantities lots, times local ns. Instrument accessors
    refer to the callback's leg, or to leg `leg` when given (`Context.leg`; module docstring)."""

    def __init__(self, engine: Engine, leg: int | None = None, shared: Context | None = None) -> None:
        self._e = engine
        self._k = leg
        if shared is not None:  # a view fixed on one leg shares the run's context state
            self._trades, self._depth_n, self._views = shared._trades, shared._depth_n, shared._views
            self._instant, self._realized = shared._instant, shared._realized
            return
        self._realized: dict[int, list[int]] = {}  # leg -> `hft.sim.fees.realized_after`'s state
        self._instant = [-1, 0]  # [local time, actions at it]: `_act`
        keep = int(getattr(engine.strategy, "trade_history", 0) or 0)
        legs = len(engine.legs)
        self._trades: list[deque[Trade]] | None = [deque(maxlen=keep) for _ in range(legs)] if keep > 0 else None
        self._depth_n = int(getattr(engine.strategy, "depth_levels", 5))
        self._views: dict[int, Context] = {}

    @property
    def _leg(self) -> Leg:
        e = self._e
        return e.legs[e.cur if self._k is None else self._k]

    def leg(self, which: int | str) -> Context:
        """The context fixed on one instrument: its leg index or its symbol."""
        legs = self._e.legs
        if isinstance(which, str):
            ks = [leg.index for leg in legs if leg.symbol == which]
            if not ks:
                raise SimError(f"ctx.leg: expected one of {[leg.symbol for leg in legs]}, was {which!r}")
            k = ks[0]
        else:
            k = int(which)
            if not 0 <= k < len(legs):
                raise SimError(f"ctx.leg: expected a leg index in [0, {len(legs)}), was {which}")
        view = self._views.get(k)
        if view is None:
            view = self._views[k] = Context(self._e, k, self)
        return view

    @property
    def symbols(self) -> list[str]:
        """The run's instruments, in leg order."""
        return [leg.symbol for leg in self._e.legs]

    @property
    def symbol(self) -> str:
        """The instrument this context refers to."""
        return self._leg.symbol

    @property
    def leg_index(self) -> int:
        """The leg this context refers to."""
        return self._leg.index

    def deliver_trade(self, side: int, price: int, qty: int) -> None:
        """The engine's entry for a trade print of the current leg: remember it (``trade_history``), then
        ``on_trade``."""
        if self._trades is not None:
            self._trades[self._e.cur].append(Trade(self._e.clock.now_ns(), side, price, qty))
        self._e.strategy.on_trade(self, side, price, qty)

    @property
    def now(self) -> int:
        return self._e.clock.now_ns()

    @property
    def best_bid(self) -> int | None:
        return self._leg.local_top[0]

    @property
    def best_ask(self) -> int | None:
        return self._leg.local_top[2]

    @property
    def bid_qty(self) -> int:
        return self._leg.local_top[1]

    @property
    def ask_qty(self) -> int:
        return self._leg.local_top[3]

    @property
    def mid2(self) -> int | None:
        """Twice the mid price in ticks (exact integer), None when a side is empty."""
        b, _, a, _ = self._leg.local_top
        return None if b is None or a is None else b + a

    @property
    def position(self) -> int:
        return self._leg.position

    @property
    def orders(self) -> dict[int, OrderState]:
        """Our orders on this instrument that are not finished (pending or working), by order id."""
        e = self._e
        if len(e.legs) == 1:
            return e.live_orders
        k, leg_of = self._leg.index, e._leg_of
        return {oid: o for oid, o in e.live_orders.items() if leg_of.get(oid, 0) == k}

    def depth(self, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The best `n` levels per side of the local book (default ``depth_levels``): ``(bids, asks)``, each an
        int64 array ``[k, 2]`` of (price, qty), best first, k <= n."""

        n = self._depth_n if n is None else int(n)
        if n <= 0:
            return np.zeros((0, 2), np.int64), np.zeros((0, 2), np.int64)
        bids, asks = np.empty((n, 2), np.int64), np.empty((n, 2), np.int64)
        top_n(self._leg.local, bids[:, 0], bids[:, 1], asks[:, 0], asks[:, 1])  # written in place
        # filled slots come first; empty ones hold qty 0
        return bids[: np.count_nonzero(bids[:, 1])], asks[: np.count_nonzero(asks[:, 1])]

    @property
    def trades(self) -> list[Trade]:
        """The last ``trade_history`` trade prints, oldest first (empty when the strategy keeps none)."""
        return list(self._trades[self._leg.index]) if self._trades is not None else []

    @property
    def fills(self) -> list[Fill]:
        """Our fills so far, in order (every instrument's)."""
        return [Fill._make(r) for r in self._e._fill_rows]  # rows `FILL_LOG.pack` wrote

    @property
    def cash(self) -> int:
        """Cash in money units (`hft.sim.fees`), fees paid included, rounded to a whole unit (half to even; the
        exact cash is ``cash - fee_frac / 1e6``: fees are carried to their millionths)."""
        return round_owed(self._leg.cash, self._leg.fee_frac)

    @property
    def fees(self) -> int:
        """Fees paid so far in money units (negative: rebates received), rounded to a whole unit (half to even;
        exactly ``fees + fee_frac / 1e6``)."""
        return round_money(self._leg.fees, self._leg.fee_frac)

    @property
    def pnl(self) -> float:
        """Cash plus the position marked at the local mid, in money units (the cash alone without a mid)."""
        mid2 = self.mid2
        leg = self._leg
        cash = exact_money(leg.cash, -leg.fee_frac)
        if mid2 is None:
            return float(cash)
        from hft.sim.fees import mark_value  # lazy: numba; a strategy module imports this one

        return float(cash + mark_value(leg.position, mid2, leg.mult))

    @property
    def pnl_rounded(self) -> int:
        """``pnl`` exactly, rounded once to whole money units (half to even), as a kernel's ``acct[AC_PNL]``
        (`hft.sim.fees.mark_pnl`): the cash alone without a mid; `NO_PRICE` when it does not fit int64."""
        from hft.sim.fees import mark_pnl  # lazy: numba; a strategy module imports this one

        mid2 = self.mid2
        leg = self._leg
        return int(mark_pnl(leg.position, leg.cash, leg.fee_frac, NO_PRICE if mid2 is None else mid2, leg.mult))

    @property
    def realized_pnl(self) -> int:
        """Realised PnL of this instrument in money units: at average cost (the gateway's rule,
        `hft.gateway.kernels.money.average_cost_fill`: a fill that reduces the position realises the closed lots'
        value less their share of the cost basis), net of the fills' exact fees, rounded once (half to even). It
        equals ``ctx.cash`` whenever the position is flat; the gateway's ``pnl(strategy)["realised"]`` for the
        same fills of one strategy on one instrument in one trading day."""
        from hft.sim.fees import realized_after  # lazy: numba; a strategy module imports this one

        leg = self._leg
        e = self._e
        state = self._realized.setdefault(leg.index, [0, 0, 0, 0, 0])
        return realized_after(e._fill_rows, state, leg.index, e._leg_of, leg.mult)

    def queue_ahead(self, order_id: int) -> float:
        """Lots ahead of our resting order in its price queue (exact on L3, the queue model's estimate on L2);
        -1 when it does not rest. The venue's state now (module docstring)."""
        return self._e.legs[self._e._leg_of.get(order_id, 0)].venue.queue_ahead(order_id)

    def _act(self, call: str) -> None:
        """Count one action of the strategy at this local time: past `MAX_ACTIONS_AT_ONE_TIME` the clock can
        never advance (each answer asks for another at the same time), so the run stops naming the call."""
        now = self._e.clock.now_ns()
        inst = self._instant
        if inst[0] != now:
            inst[0], inst[1] = now, 0
        inst[1] += 1
        if inst[1] > MAX_ACTIONS_AT_ONE_TIME:
            raise SimError(f"{call}: expected at most {MAX_ACTIONS_AT_ONE_TIME:,} orders and wake-ups at one local "
                           f"time, was more at {now} ns: the strategy answers each report or wake-up with another "
                           "at the same time, so the replay would never advance (give latency.entry / "
                           "latency.response a positive value, or end the chain)")

    def at(self, t: int, payload: Any = None) -> None:
        """Call the strategy's ``on_wake(ctx, payload)`` at local time `t` (ns; not before now)."""
        now = self._e.clock.now_ns()
        t = max(int(t), now)
        if t == now:
            self._act("ctx.at")
        self._e.wake_at(t, payload)

    def submit(self, side: int, price: int, qty: int, order_type: int | None = None, tif: int | None = None,
               trigger: int = 0, expire: int = 0, display: int = 0, trail: int = 0,
               oco: int = 0, parent: int = 0) -> Any:
        """Send a new order on this instrument through the gateway; returns its `Decision`. A venue-native stop:
        ``order_type=ORDER_STOP`` (price 0) or ``ORDER_STOP_LIMIT`` (its limit `price`) with `trigger`, the print
        price (ticks) that triggers it (docs/sim.md, "Stop orders held by the venue"). A good-till-date order:
        ``tif=TIF_GTD`` with `expire`, the exchange time (int ns UTC) it expires at (docs/sim.md, "Good till
        date"). A venue-native iceberg: a limit / post-only order with ``0 < display < qty``, the lots it shows at a
        time (docs/sim.md, "Iceberg orders held by the venue"). A venue-native trailing stop: a stop / stop-limit
        with `trail` > 0 ticks, its trigger following the prints at that distance (docs/sim.md, "Trailing stops").
        Venue-native OCO and bracket orders (the L2 venue only; docs/sim.md, "OCO and bracket orders held by the
        venue"): `oco`, the order id of one of this strategy's working orders this one is paired with (a fill or
        trigger of either cancels the other); `parent`, a bracket child's entry (its order id): the child is held
        until the entry has no leaves, then enters for the lots the entry filled (see `bracket`)."""
        self._act("ctx.submit")
        opt = order_options(trigger=trigger, expire=expire, display=display, trail=trail, oco=oco,
                            parent=parent)
        d = self._e.submit(side, price, qty, order_type, tif, self._leg.index, opt)
        if d.reason == R_BAD_INPUT:
            _recordable("ctx.submit", side=side, price=price, qty=qty, order_type=order_type, tif=tif,
                        **options_dict(opt))
        return d

    def cancel(self, order_id: int) -> Any:
        """Cancel our working order `order_id` through the gateway; returns its `Decision`."""
        self._act("ctx.cancel")
        d = self._e.cancel(order_id)
        if d.reason == R_BAD_INPUT:
            _recordable("ctx.cancel", order_id=order_id)
        return d

    def replace(self, order_id: int, price: int, qty: int) -> Any:
        """Move our working order `order_id` to `price` / `qty` through the gateway; returns its `Decision`."""
        self._act("ctx.replace")
        d = self._e.replace(order_id, price, qty)
        if d.reason == R_BAD_INPUT:
            _recordable("ctx.replace", order_id=order_id, price=price, qty=qty)
        return d

    def bracket(self, side: int, price: int, qty: int, take_profit: int, stop: int,
                stop_limit: int | None = None) -> tuple:
        """A venue-native bracket (the L2 venue; docs/sim.md, "OCO and bracket orders held by the venue"):
        `submit_bracket` on this context. Returns the entry's, the take profit's and the stop's `Decision`."""
        return submit_bracket(self, side, price, qty, take_profit, stop, stop_limit)


def submit_bracket(ctx: Any, side: int, price: int, qty: int, take_profit: int, stop: int,
                   stop_limit: int | None = None) -> tuple:
    """Three orders through `ctx.submit`: an entry limit (`side`, `price`, `qty`, GTC), then its bracket children on
    the other side, held by the venue until the entry has no leaves: a take-profit limit at `take_profit` and a stop
    triggered at `stop` (a stop-limit at `stop_limit` when given), the stop paired with the take profit (`oco`). The
    three `Decision`s; a child is sent only when the entry was accepted (else None), and the stop is paired only
    with an accepted take profit. Every context's ``bracket`` (the reference engine's too)."""
    entry = ctx.submit(side, price, qty, ORDER_LIMIT, TIF_GTC)
    if not entry.accepted:
        return entry, None, None
    tp = ctx.submit(-side, take_profit, qty, ORDER_LIMIT, TIF_GTC, parent=entry.order_id)
    sl = ctx.submit(-side, stop_limit or 0, qty, ORDER_STOP if stop_limit is None else ORDER_STOP_LIMIT, TIF_GTC,
                    trigger=stop, parent=entry.order_id, oco=tp.order_id if tp.accepted else 0)
    return entry, tp, sl


def _recordable(call: str, **fields: Any) -> None:
    """After a ``BAD_INPUT`` decision: a malformed field (a float, a string) stays that recorded rejection, but an
    integer outside the gateway's range (`hft.gateway.intents.as_int_field`) cannot be recorded in the run's
    int64 logs, so the run stops with a `SimError` naming the field."""
    for name, v in fields.items():
        if type(v) is int and as_int_field(v) is None:
            raise SimError(f"{call}: {name}: expected an integer within ±{INT_FIELD_MAX:,} (int64), was {v}",
                           key=name)


class Strategy:
    """Base class of Python strategies (see the module docstring)."""

    name = "strategy"
    timer_ns = 0
    depth_levels = 5  # `Context.depth()` default
    trade_history = 0  # trade prints `Context.trades` keeps (0: none; > 0 also wakes the strategy on trades)
    #: The parameters that are order quantities in lots: a config may give them in instrument units too, as a
    #: decimal string (``size: "0.001"``: 0.001 BTC), turned into lots through the instrument's lot (docs/sim.md).
    QUANTITIES: tuple[str, ...] = ()
    # a kernel strategy's arrays, made at its first callback (`hft.sim.engine_nb.strategy_kernels.book_kernel`)
    _book_kernel: Any = None

    def on_start(self, ctx: Context) -> None:
        """Called once before the first event."""

    def on_book(self, ctx: Context) -> None:
        """The local book changed."""

    def on_trade(self, ctx: Context, side: int, price: int, qty: int) -> None:
        """A trade print arrived."""

    def on_order_update(self, ctx: Context, update: OrderUpdate) -> None:
        """An execution report of one of our orders arrived."""

    def on_timer(self, ctx: Context) -> None:
        """Periodic timer (``timer_ns``)."""

    def on_wake(self, ctx: Context, payload: Any) -> None:
        """A wake-up asked for with ``ctx.at(t, payload)``."""

    def params(self) -> dict[str, Any]:
        """The strategy's parameters (recorded in the run summary and the config hash)."""
        return {}
