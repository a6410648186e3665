"""`hedged_mm`: market making on one instrument, its inventory hedged on a second (a two-leg strategy).

A run of two instruments (``hft replay -d A -d B``: leg 0 is quoted, leg 1 hedges; docs/sim.md, "Several
instruments"). Rules:

* quoting (leg 0, on each of its book updates): `mm`'s rule, the one kernel `mm_on_book` (``size``,
  ``max_position``, ``edge_ticks``, ``skew_ticks_per_lot``), on the leg-0 context;
* both rules are numba kernels (`hft.sim.engine_nb.strategy_kernels`: `mm_on_book`, `hedge_on_book`, under the
  kernel name ``hedged_mm``): the numba engine runs them in its loop on book updates, the Python callbacks run
  the same kernels (`BookKernel`), so there is one implementation of each rule;
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

from hft.core.errors import SimError
from hft.sim.engine_nb.state import SK_HEDGED_MM
from hft.sim.engine_nb.strategy_kernels import MM_MAX_QTY, book_kernel, check_mm_params, report_rule_leg
from hft.sim.strategy import Context, OrderUpdate, Strategy


class HedgedMarketMaker(Strategy):
    name = "hedged_mm"
    QUANTITIES = ("size", "max_position", "min_hedge")  # lots; a config may say instrument units (Strategy)
    DEFAULTS: ClassVar[dict[str, Any]] = {"size": 1, "max_position": 10, "edge_ticks": 0, "skew_ticks_per_lot": 0,
                                          "hedge_ratio": 0.0, "min_hedge": 1, "hedge_slip_ticks": 0}

    def __init__(self, size: int, max_position: int, edge_ticks: int, skew_ticks_per_lot: int, hedge_ratio: float,
                 min_hedge: int, hedge_slip_ticks: int) -> None:
        check_mm_params(size, max_position, edge_ticks, skew_ticks_per_lot)  # the kernels' int64 range
        if not -MM_MAX_QTY <= int(hedge_slip_ticks) <= MM_MAX_QTY:
            raise ValueError(f"parameter 'hedge_slip_ticks': expected within ±{MM_MAX_QTY} (2**40), was "
                             f"{hedge_slip_ticks}")
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

    nb_kernel = "hedged_mm"  # its rules: `mm_on_book` (leg 0) and `hedge_on_book` (leg 1) of
    # hft.sim.engine_nb.strategy_kernels, run in the numba engine's loop on book updates, here from Python

    def nb_params(self) -> list[int]:
        from hft.sim.engine_nb.strategy_kernels import float_param  # lazy: numba (as `mm`)

        return [self.size, self.max_position, self.edge, self.skew, float_param(self.hedge_ratio), self.min_hedge,
                self.slip]

    def on_book(self, ctx: Context) -> None:
        book_kernel(self, "hedged_mm").run(ctx)  # leg 0: quotes; leg 1: hedges

    def on_order_update(self, ctx: Context, update: OrderUpdate) -> None:
        k = report_rule_leg(SK_HEDGED_MM, ctx.leg_index, update.kind)  # the hedge rule (leg 1) on a fill of a quote
        if k >= 0:
            book_kernel(self, "hedged_mm").run(ctx.leg(k))
