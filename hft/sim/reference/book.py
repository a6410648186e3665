"""The strategy's local book in the reference replay: level quantities by price, as the local feed sets them.

A level set (update or snapshot) puts the level's quantity (0 removes it), a clear empties a side (0: both), a
trade changes nothing. On L3 data the order events are summed into levels: an add adds its lots, a cancel, delete
or execution takes its lots away (down to 0), a hidden execution changes nothing. With LOBSTER reference rows the
book is instead set to the row of each message (`set_row`). No other rule: a crossed book stays crossed, as the
data says.
"""

from __future__ import annotations

from collections.abc import Sequence

from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_CLEAR,
    EV_DELETE,
    EV_EXEC,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    NO_PRICE,
    SELL,
)

Top = tuple[int | None, int, int | None, int]  # (best bid, its qty, best ask, its qty); None / 0 for an empty side


class LocalBook:
    """One instrument's local L2 book."""

    def __init__(self) -> None:
        self.levels: dict[int, dict[int, int]] = {BUY: {}, SELL: {}}

    def apply(self, kind: int, side: int, price: int, qty: int, l3: bool = False) -> None:
        """One market event of the local feed (`l3`: the stream is market-by-order)."""
        if l3 and kind in (EV_ADD, EV_CANCEL, EV_DELETE, EV_EXEC):
            if qty > 0:
                q = self.levels[side].get(price, 0) + (qty if kind == EV_ADD else -qty)
                self.levels[side][price] = q  # (a level of 0 lots is no level)
                if q <= 0:
                    del self.levels[side][price]
        elif kind in (EV_LEVEL_SET, EV_SNAPSHOT_LEVEL):
            if qty > 0:
                self.levels[side][price] = qty
            else:
                self.levels[side].pop(price, None)
        elif kind == EV_CLEAR:
            for s in (BUY, SELL):
                if side in (0, s):
                    self.levels[s].clear()

    def set_row(self, row: Sequence[int]) -> None:
        """The book := a LOBSTER reference row (ask price, ask size, bid price, bid size per level; ``NO_PRICE``
        for none): the row's levels and nothing else."""
        self.levels = {BUY: {}, SELL: {}}
        for j in range(len(row) // 4):
            for side, col in ((SELL, 0), (BUY, 2)):
                p, q = int(row[4 * j + col]), int(row[4 * j + col + 1])
                if p != NO_PRICE and q > 0:
                    self.levels[side].setdefault(p, q)

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
