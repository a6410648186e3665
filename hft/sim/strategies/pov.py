"""`pov`: participate in ``rate`` of the market's traded volume until a parent order of ``qty`` lots is done.

The market volume ``V`` is the sum of the trade prints the strategy has seen since the run began (``on_trade``:
the replayed prints, which do not include our own fills; on LOBSTER data its executions). After each print the
target is ``floor(rate × V)`` lots, capped at ``qty``; when the target exceeds what is filled or in flight by at
least ``min_child`` lots (or by all that is left of the parent), one marketable IOC child at the opposite best goes
out for the difference. So what is filled never exceeds ``rate × V`` at the time of the child that filled it, and
it trails the rate by less than one ``min_child`` while liquidity, the limit price and the gateway allow; a
shortfall (an IOC that did not fill, a price beyond ``limit_price``, a gateway rejection) is caught up at the next
print. ``limit_price`` (ticks) and ``max_child`` (lots) as for every execution algorithm
(`hft.sim.strategies.execution`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from hft.sim.strategies.execution import ParentOrder, exact_fraction
from hft.sim.strategy import Context


class Pov(ParentOrder):
    name = "pov"
    wakes = ("trade", "order")
    QUANTITIES = ("qty", "min_child", "max_child")  # lots; a config may say instrument units (Strategy)
    DEFAULTS: ClassVar[dict[str, Any]] = {"side": 1, "qty": 100, "rate": 0.1, "min_child": 1, "limit_price": None,
                                          "max_child": 0}

    def __init__(self, side: int, qty: int, rate: float, min_child: int, limit_price: int | None,
                 max_child: int) -> None:
        self._parent(side, qty, limit_price, max_child)
        self.rate = exact_fraction(self.name, "rate", rate, 0, 1, open_lo=True)
        self.min_child = min_child
        self.volume = 0  # market lots printed so far

    def params(self) -> dict[str, Any]:
        return {**self._parent_params(), "rate": float(self.rate), "min_child": self.min_child}

    def on_trade(self, ctx: Context, side: int, price: int, qty: int) -> None:
        if ctx.leg_index:  # several instruments: the first one's prints (`hft.sim.strategies.execution`)
            return
        self.volume += qty
        if self.done:
            return
        target = min(self.volume * self.rate.numerator // self.rate.denominator, self.qty)
        committed = self.committed(ctx)
        todo = target - committed
        if todo > 0 and (todo >= self.min_child or target == self.qty):
            self.send_child(ctx, todo)
