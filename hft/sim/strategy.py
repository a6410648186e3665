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

Example::

    class JoinBid(Strategy):
        name = "join_bid"

        def on_book(self, ctx):
            if not ctx.orders and ctx.best_bid is not None and ctx.position < 10:
                ctx.submit(BUY, ctx.best_bid, 1)

What wakes a strategy on the numba engine (`hft.sim.engine_nb`): its ``wakes`` attribute (a subset of
``("book", "trade", "order", "timer")``), else the callbacks it overrides; a callback outside that set is not
called there. Numba strategy kernels: a strategy may also name a registered njit book callback
(``nb_kernel = "mm"`` plus ``nb_params()``, see `hft.sim.strategies.mm.MarketMaker` and
`hft.sim.engine_nb.mm_on_book`); the numba engine then runs that kernel inside its loop and sends the intents it
writes through the gateway exactly as ``on_book`` would, and the Python ``on_book`` stays the reference (same
run hash).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hft.sim.engine import Engine


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
    fee: int
    maker: bool


class Context:
    """What a strategy sees and can do. Prices are ticks, quantities lots, times local ns."""

    def __init__(self, engine: Engine) -> None:
        self._e = engine

    @property
    def now(self) -> int:
        return self._e.clock.now_ns()

    @property
    def best_bid(self) -> int | None:
        return self._e.local_top[0]

    @property
    def best_ask(self) -> int | None:
        return self._e.local_top[2]

    @property
    def bid_qty(self) -> int:
        return self._e.local_top[1]

    @property
    def ask_qty(self) -> int:
        return self._e.local_top[3]

    @property
    def mid2(self) -> int | None:
        """Twice the mid price in ticks (exact integer), None when a side is empty."""
        b, a = self._e.local_top[0], self._e.local_top[2]
        return None if b is None or a is None else b + a

    @property
    def position(self) -> int:
        return self._e.position

    @property
    def orders(self) -> dict[int, OrderState]:
        """Our orders that are not finished (pending or working), by order id."""
        return self._e.live_orders

    def submit(self, side: int, price: int, qty: int, order_type: int | None = None, tif: int | None = None) -> Any:
        """Send a new order through the gateway; returns its `Decision`."""
        return self._e.submit(side, price, qty, order_type, tif)

    def cancel(self, order_id: int) -> Any:
        return self._e.cancel(order_id)

    def replace(self, order_id: int, price: int, qty: int) -> Any:
        return self._e.replace(order_id, price, qty)


class Strategy:
    """Base class of Python strategies (see the module docstring)."""

    name = "strategy"
    timer_ns = 0

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

    def params(self) -> dict[str, Any]:
        """The strategy's parameters (recorded in the run summary and the config hash)."""
        return {}
