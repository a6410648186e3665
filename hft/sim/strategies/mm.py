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

from hft.sim.engine_nb.strategy_kernels import book_kernel, check_mm_params
from hft.sim.strategy import Context, Strategy


class MarketMaker(Strategy):
    name = "mm"
    nb_kernel = "mm"  # its rule: the strategy kernel `hft.sim.engine_nb.strategy_kernels.mm_on_book`
    QUANTITIES = ("size", "max_position")  # lots; a config may say instrument units (Strategy)
    DEFAULTS: ClassVar[dict[str, Any]] = {"size": 1, "max_position": 10, "edge_ticks": 0, "skew_ticks_per_lot": 0}

    def __init__(self, size: int, max_position: int, edge_ticks: int, skew_ticks_per_lot: int) -> None:
        check_mm_params(size, max_position, edge_ticks, skew_ticks_per_lot)  # the kernel's int64 range
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
        # the rule lives in one place, the strategy kernel (`hft.sim.engine_nb.strategy_kernels.mm_on_book`): the
        # numba engine runs it inside its loop, every other caller through its `BookKernel` (same intents, same
        # order: BUY side first, then SELL)
        book_kernel(self, "mm").run(ctx)
