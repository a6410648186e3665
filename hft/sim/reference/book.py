"""The strategy's local L2 book in the reference replay: level quantities by price, as the local feed sets them.

A level set (update or snapshot) puts the level's quantity (0 removes it), a clear empties a side (0: both), a
trade changes nothing. No other rule: a crossed book stays crossed, as the data says.
"""

from __future__ import annotations

from hft.core.dtypes import BUY, EV_CLEAR, EV_LEVEL_SET, EV_SNAPSHOT_LEVEL, SELL

Top = tuple[int | None, int, int | None, int]  # (best bid, its qty, best ask, its qty); None / 0 for an empty side


class LocalBook:
    """One instrument's local L2 book."""

    def __init__(self) -> None:
        self.levels: dict[int, dict[int, int]] = {BUY: {}, SELL: {}}

    def apply(self, kind: int, side: int, price: int, qty: int) -> None:
        """One market event of the local feed."""
        if kind in (EV_LEVEL_SET, EV_SNAPSHOT_LEVEL):
            if qty > 0:
                self.levels[side][price] = qty
            else:
                self.levels[side].pop(price, None)
        elif kind == EV_CLEAR:
            for s in (BUY, SELL):
                if side in (0, s):
                    self.levels[s].clear()

    def top(self) -> Top:
        bids, asks = self.levels[BUY], self.levels[SELL]
        b = max(bids) if bids else None
        a = min(asks) if asks else None
        return b, bids[b] if b is not None else 0, a, asks[a] if a is not None else 0

    def best_levels(self, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The best `n` (price, qty) levels of each side, best first."""
        bids = sorted(self.levels[BUY].items(), reverse=True)[:n]
        asks = sorted(self.levels[SELL].items())[:n]
        return bids, asks
