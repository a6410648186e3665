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
    DEFAULTS: ClassVar[dict[str, Any]] = {"size": 1, "max_position": 10, "edge_ticks": 0, "skew_ticks_per_lot": 0}

    def __init__(self, size: int, max_position: int, edge_ticks: int, skew_ticks_per_lot: int) -> None:
        self.size = size
        self.max_position = max_position
        self.edge = edge_ticks
        self.skew = skew_ticks_per_lot

    def params(self) -> dict[str, int]:
        return {"size": self.size, "max_position": self.max_position, "edge_ticks": self.edge,
                "skew_ticks_per_lot": self.skew}

    def on_book(self, ctx: Context) -> None:
        bid, ask = ctx.best_bid, ctx.best_ask
        if bid is None or ask is None:
            return
        skew = ctx.position * self.skew
        want = {BUY: min(bid - self.edge - skew, ask - 1), SELL: max(ask + self.edge - skew, bid + 1)}
        have = {BUY: None, SELL: None}
        for o in ctx.orders.values():
            have[o.side] = o
        for side in (BUY, SELL):
            o = have[side]
            if o is None:
                room = self.max_position - side * ctx.position
                if room > 0:
                    ctx.submit(side, want[side], min(self.size, room))
            elif o.status == "working" and o.price != want[side]:
                ctx.cancel(o.order_id)
