"""`hedged_mm`: market making on one instrument, its inventory hedged on a second (a two-leg strategy).

A run of two instruments (``hft replay -d A -d B``: leg 0 is quoted, leg 1 hedges; docs/sim.md, "Several
instruments"). Rules:

* quoting (leg 0, on each of its book updates): `mm`'s rule, the one kernel `mm_on_book` (``size``,
  ``max_position``, ``edge_ticks``, ``skew_ticks_per_lot``), on the leg-0 context;
* hedging (leg 1, on each leg-1 book update and on each fill of a leg-0 quote): the hedge target is
  ``-round(ratio × position of leg 0)`` lots of leg 1, with ``ratio = hedge_ratio`` or, when ``hedge_ratio`` is
  0, the ratio of the legs' local mids (value-neutral when both legs have the same money unit, as two LOBSTER
  stocks do); when no hedge order is in flight and the target differs from leg 1's position by at least
  ``min_hedge`` lots, a marketable IOC limit order for the difference goes to leg 1 at its touch plus
  ``hedge_slip_ticks`` through it (buy at ask + slip, sell at bid − slip). What an IOC leaves unfilled is
  hedged at leg 1's next book update (not on the IOC's own expiry: the venue's liquidity that the hedge took
  stays taken until its level updates, so an immediate retry would only expire again).
"""

from __future__ import annotations

from typing import Any, ClassVar

from hft.core.dtypes import BUY, SELL
from hft.core.errors import SimError
from hft.core.orders import ORDER_LIMIT, REPORT_FILL, REPORT_PARTIAL_FILL, TIF_IOC
from hft.sim.strategy import Context, OrderUpdate, Strategy


class HedgedMarketMaker(Strategy):
    name = "hedged_mm"
    DEFAULTS: ClassVar[dict[str, Any]] = {"size": 1, "max_position": 10, "edge_ticks": 0, "skew_ticks_per_lot": 0,
                                          "hedge_ratio": 0.0, "min_hedge": 1, "hedge_slip_ticks": 0}

    def __init__(self, size: int, max_position: int, edge_ticks: int, skew_ticks_per_lot: int, hedge_ratio: float,
                 min_hedge: int, hedge_slip_ticks: int) -> None:
        self.size = size
        self.max_position = max_position
        self.edge = edge_ticks
        self.skew = skew_ticks_per_lot
        self.hedge_ratio = float(hedge_ratio)
        self.min_hedge = int(min_hedge)
        self.slip = int(hedge_slip_ticks)

    def params(self) -> dict[str, Any]:
        return {"size": self.size, "max_position": self.max_position, "edge_ticks": self.edge,
                "skew_ticks_per_lot": self.skew, "hedge_ratio": self.hedge_ratio, "min_hedge": self.min_hedge,
                "hedge_slip_ticks": self.slip}

    def on_start(self, ctx: Context) -> None:
        if len(ctx.symbols) != 2:
            raise SimError(f"hedged_mm: expected two instruments (quoted, hedge), was {len(ctx.symbols)} "
                           f"({', '.join(ctx.symbols)})", hint="hft replay -d QUOTED -d HEDGE -s hedged_mm")

    def on_book(self, ctx: Context) -> None:
        if ctx.leg_index == 0:
            from hft.sim.engine_nb.strategy_kernels import run_book_kernel  # lazy: numba (as `mm`)

            run_book_kernel("mm", [self.size, self.max_position, self.edge, self.skew], ctx)
        else:
            self._hedge(ctx)

    def on_order_update(self, ctx: Context, update: OrderUpdate) -> None:
        if ctx.leg_index == 0 and update.kind in (REPORT_FILL, REPORT_PARTIAL_FILL):
            self._hedge(ctx)

    def hedge_target(self, ctx: Context) -> int | None:
        """Leg 1's target position (lots), None without the mids a value-neutral ratio needs."""
        quoted, hedge = ctx.leg(0), ctx.leg(1)
        ratio = self.hedge_ratio
        if ratio == 0.0:
            m0, m1 = quoted.mid2, hedge.mid2
            if m0 is None or m1 is None:
                return None
            ratio = m0 / m1
        return -round(ratio * quoted.position)

    def _hedge(self, ctx: Context) -> None:
        hedge = ctx.leg(1)
        if hedge.orders:  # one hedge order in flight at a time
            return
        target = self.hedge_target(ctx)
        if target is None:
            return
        diff = target - hedge.position
        if abs(diff) < self.min_hedge:
            return
        if diff > 0 and hedge.best_ask is not None:
            hedge.submit(BUY, hedge.best_ask + self.slip, diff, ORDER_LIMIT, TIF_IOC)
        elif diff < 0 and hedge.best_bid is not None:
            hedge.submit(SELL, hedge.best_bid - self.slip, -diff, ORDER_LIMIT, TIF_IOC)
