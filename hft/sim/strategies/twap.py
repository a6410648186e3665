"""`twap`: execute a parent order of ``qty`` lots on ``side`` evenly over ``duration_ns``.

Every ``duration_ns / slices`` of local time, send an IOC limit at the opposite best (marketable) for the lots
the schedule says should be done by now minus what is filled, so missed slices catch up; stop when done.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hft.core.dtypes import BUY
from hft.core.orders import ORDER_LIMIT, REPORT_FILL, REPORT_PARTIAL_FILL, TIF_IOC
from hft.sim.strategy import Context, OrderUpdate, Strategy


class Twap(Strategy):
    name = "twap"
    QUANTITIES = ("qty",)  # lots; a config may say instrument units (Strategy)
    DEFAULTS: ClassVar[dict[str, Any]] = {"side": 1, "qty": 100, "duration_ns": 3_600_000_000_000, "slices": 60}

    def __init__(self, side: int, qty: int, duration_ns: int, slices: int) -> None:
        self.side = 1 if side >= 0 else -1
        self.qty = qty
        self.slices = max(1, slices)
        self.timer_ns = max(1, duration_ns // self.slices)
        self.filled = 0
        self.n = 0

    def params(self) -> dict[str, int]:
        return {"side": self.side, "qty": self.qty, "duration_ns": self.timer_ns * self.slices,
                "slices": self.slices}

    def on_timer(self, ctx: Context) -> None:
        self.n = min(self.n + 1, self.slices)
        target = self.qty * self.n // self.slices
        todo = target - self.filled - sum(o.leaves for o in ctx.orders.values())
        price = ctx.best_ask if self.side == BUY else ctx.best_bid
        if todo > 0 and price is not None:
            ctx.submit(self.side, price, todo, ORDER_LIMIT, TIF_IOC)

    def on_order_update(self, ctx: Context, update: OrderUpdate) -> None:
        if update.kind in (REPORT_PARTIAL_FILL, REPORT_FILL):
            self.filled += update.qty
