"""`imbalance_taker`: cross the spread when the top-of-book imbalance is strong.

imbalance = (bid_qty − ask_qty) / (bid_qty + ask_qty) at the best level. Above ``threshold`` buy ``size`` lots
with an IOC limit at the best ask; below −``threshold`` sell at the best bid; at most ``max_position`` either
way, at most one order in flight, and at least ``cooldown_ns`` between orders.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hft.core.dtypes import BUY, SELL
from hft.core.orders import ORDER_LIMIT, TIF_IOC
from hft.sim.strategy import Context, Strategy


class ImbalanceTaker(Strategy):
    name = "imbalance_taker"
    QUANTITIES = ("size", "max_position")  # lots; a config may say instrument units (Strategy)
    DEFAULTS: ClassVar[dict[str, Any]] = {"threshold": 0.6, "size": 1, "max_position": 10, "cooldown_ns": 1_000_000_000}

    def __init__(self, threshold: float, size: int, max_position: int, cooldown_ns: int) -> None:
        self.threshold = float(threshold)
        self.size = size
        self.max_position = max_position
        self.cooldown = cooldown_ns
        self.next_ok = 0

    def params(self) -> dict[str, float | int]:
        return {"threshold": self.threshold, "size": self.size, "max_position": self.max_position,
                "cooldown_ns": self.cooldown}

    def on_book(self, ctx: Context) -> None:
        bid, ask = ctx.best_bid, ctx.best_ask
        total = ctx.bid_qty + ctx.ask_qty
        if bid is None or ask is None or total <= 0 or ctx.orders or ctx.now < self.next_ok:
            return
        imb = (ctx.bid_qty - ctx.ask_qty) / total
        if imb > self.threshold and ctx.position + self.size <= self.max_position:
            ctx.submit(BUY, ask, self.size, ORDER_LIMIT, TIF_IOC)
            self.next_ok = ctx.now + self.cooldown
        elif imb < -self.threshold and ctx.position - self.size >= -self.max_position:
            ctx.submit(SELL, bid, self.size, ORDER_LIMIT, TIF_IOC)
            self.next_ok = ctx.now + self.cooldown
