"""The live service's order-update stream: every execution report applied to an order view, numbered in the order
the writer applied it (`hft.core.orders.ORDER_UPDATE`: the report, the order's status and filled quantity after
it, its account and strategy).

The writer (`hft.live.engine.LiveGateway`) appends the rows of each report array it applies and publishes them
to the listeners (the SSE route ``GET /orders/stream``, the TCP intake's REPORT frames) once the step is committed,
so an update is never shown before the WAL holds its report. The numbers are the WAL's: a restart rebuilds the
log from the snapshot (which holds it) and the reports replayed after it, so an update keeps its number and a
client resuming after one it saw gets the rest, across a restart too. The last `capacity` updates are held (a
ring numbered like the fill log, `hft.live.fill_log`); a client further behind is told it has to read the
orders again (``GET /orders/{id}``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from hft.core.orders import ORDER_UPDATE, ORDER_UPDATE_DTYPE
from hft.live.fill_log import in_order, place

CAPACITY = 1 << 16  # updates held for resuming clients (104 bytes each)


def _current(rows: np.ndarray) -> np.ndarray:
    """A snapshot's order-update rows in the record's current layout: rows written by an earlier version of
    `hft.core.orders.ORDER_UPDATE` (its fields a prefix of the current ones: fields are only appended) gain the later
    fields at their declared defaults, what was not kept then (a fill's ``fee`` / ``fee_frac`` 0: booked as none;
    ``liquidity`` 0 and ``queue`` -1: not said); any other dtype (the market log's) as it is."""
    names, now = rows.dtype.names or (), ORDER_UPDATE_DTYPE.names
    if names == now or names != now[:len(names)]:
        return rows
    return ORDER_UPDATE.widen(rows)


class UpdateLog:
    """The numbered updates ``lo .. n`` (`n`: the last number given, 0 before any) and the listeners told of new
    ones: ``listener(rows)`` with an array of `dtype` (ORDER_UPDATE_DTYPE; the market stream's log holds
    MARKET_UPDATE_DTYPE rows, `hft.live.engine.LiveGateway.on_market`), called on the event loop after each
    commit."""

    def __init__(self, capacity: int = CAPACITY, dtype: np.dtype = ORDER_UPDATE_DTYPE) -> None:
        self.ring = np.zeros(capacity, dtype)
        self.n = 0
        self.published = 0  # the last number given to the listeners
        self.listeners: list[Callable[[np.ndarray], None]] = []

    @property
    def lo(self) -> int:
        """The oldest number held (``n + 1`` when none is)."""
        return max(1, self.n - len(self.ring) + 1)

    def append(self, rows: np.ndarray) -> None:
        """Rows numbered ``n + 1 ..`` (`hft.live.views.OrderViews.apply_reports`' third answer), in order."""
        if len(rows) > len(self.ring):
            rows = rows[-len(self.ring):]
        place(self.ring, int(rows["seq"][0]), rows)
        self.n = int(rows["seq"][-1])

    def since(self, after: int, upto: int | None = None) -> np.ndarray:
        """The updates numbered ``after + 1 .. upto`` (default: `n`) in order, a copy. ValueError when `after` is not
        a number of this log (past `n`), LookupError when some of them are no longer held."""
        if after < 0 or after > self.n:
            raise ValueError(f"expected a sequence number from 0 to {self.n}, was {after}")
        if after + 1 < self.lo:
            raise LookupError(f"updates after {after} are no longer held (the oldest is {self.lo})")
        hi = self.n if upto is None else upto
        parts = in_order(self.ring, after + 1, hi + 1)
        return np.concatenate(parts) if len(parts) > 1 else parts[0].copy() if parts else self.ring[:0].copy()

    def publish(self) -> None:
        """Tell the listeners of the updates appended since the last call (the writer's commit)."""
        if self.published == self.n:
            return
        if not self.listeners:
            self.published = self.n
            return
        rows = self.since(max(self.published, self.lo - 1))
        self.published = self.n
        for f in list(self.listeners):
            f(rows)

    def __getstate__(self) -> dict[str, Any]:  # the snapshot's: the held rows, no listener
        return {"n": self.n, "capacity": len(self.ring), "rows": self.since(self.lo - 1)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        rows = _current(state["rows"])
        self.__init__(state["capacity"], rows.dtype)  # type: ignore[misc]
        if len(rows):
            self.append(rows)
        self.n = self.published = state["n"]

    def restore(self, other: UpdateLog) -> None:
        """Take a snapshot's log (its numbers and rows), keeping this one's listeners."""
        self.ring, self.n, self.published = other.ring, other.n, other.n
