"""`twap`: execute a parent order of ``qty`` lots on ``side`` evenly over ``duration_ns``.

The schedule rule of `hft.sim.strategies.execution.ScheduledExecution` with a flat profile of ``slices`` buckets:
at the end of slice n (local time, ``start_ns`` after the first event) the target is ``qty × n / slices`` lots
(rounded down), and one marketable IOC child at the opposite best goes out for the target minus what is filled or
in flight, so missed slices catch up; nothing is sent beyond ``limit_price`` (ticks), no child is larger than
``max_child`` lots (0: no cap); it stops when ``qty`` is filled.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hft.sim.strategies.execution import ScheduledExecution


class Twap(ScheduledExecution):
    name = "twap"
    DEFAULTS: ClassVar[dict[str, Any]] = {"side": 1, "qty": 100, "duration_ns": 3_600_000_000_000, "slices": 60,
                                          "start_ns": 0, "limit_price": None, "max_child": 0}

    def __init__(self, side: int, qty: int, duration_ns: int, slices: int, start_ns: int,
                 limit_price: int | None, max_child: int) -> None:
        self._parent(side, qty, limit_price, max_child)
        self._schedule(start_ns, duration_ns, [1] * max(1, slices), 0.0)
        self.slices = self.buckets

    def params(self) -> dict[str, Any]:
        return {**self._parent_params(), "duration_ns": self.bucket_ns * self.slices, "slices": self.slices,
                "start_ns": self.start_ns}
