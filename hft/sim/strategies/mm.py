"""`mm`: two-sided quoting around the touch with inventory skew.

Rules (evaluated on every local book update):

* desired bid = best bid − ``edge_ticks`` − skew, desired ask = best ask + ``edge_ticks`` − skew, where
  skew = ``position × skew_ticks_per_lot`` (long → both quotes move down, so we sell sooner and buy later);
  the desired bid never crosses the best ask and vice versa.
* one order per side at most. A working quote whose price differs from the desired price is cancelled (requote
  after the cancel is confirmed); a side with no order gets a new ``size``-lot quote, unless the position is
  already at ``max_position`` on that side.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hft.core.dtypes import BUY, SELL
from hft.sim.strategy import Context, Strategy


class MarketMaker(Strategy):
    name = "mm"
    nb_kernel = "mm"  # the numba engine runs `on_book` as `hft.sim.engine_nb.mm_on_book` (same intents)
    DEFAULTS: ClassVar[dict[str, Any]] = {"size": 1, "max_position": 10, "edge_ticks": 0, "skew_ticks_per_lot": 0}

    def __init__(self, size: int, max_position: int, edge_ticks: int, skew_ticks_per_lot: int) -> None:
        self.size = size
        self.max_position = max_position
        self.edge = edge_ticks
        self.skew = skew_ticks_per_lot

    def params(self) -> dict[str, int]:
        return {"size": self.size, "max_position": self.max_position, "edge_ticks": self.edge,
                "skew_ticks_per_lot": self.skew}

    def nb_params(self) -> list[int]:
        """The strategy kernel's parameters (`hft.sim.engine_nb.mm_on_book`)."""
        return [self.size, self.max_position, self.edge, self.skew]

    def on_book(self, ctx: Context) -> None:
        bid, ask = ctx.best_bid, ctx.best_ask
        if bid is None or ask is None:
            return
        pos = ctx.position
        skew = pos * self.skew
        have_buy = have_sell = None
        for o in ctx.orders.values():  # one order per side at most; the last one seen wins
            if o.side == BUY:
                have_buy = o
            elif o.side == SELL:
                have_sell = o
        # BUY first, then SELL (the order of the intents is part of the run)
        self._side(ctx, BUY, have_buy, min(bid - self.edge - skew, ask - 1), pos)
        self._side(ctx, SELL, have_sell, max(ask + self.edge - skew, bid + 1), pos)

    def _side(self, ctx: Context, side: int, o, want: int, pos: int) -> None:
        if o is None:
            room = self.max_position - side * pos
            if room > 0:
                ctx.submit(side, want, min(self.size, room))
        elif o.status == "working" and o.price != want:
            ctx.cancel(o.order_id)
