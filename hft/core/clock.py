"""Injected clocks. Nothing in the gateway or simulator reads the wall clock directly."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of int64 nanoseconds UTC."""

    def now_ns(self) -> int: ...


class WallClock:
    """The real clock, for live processes only."""

    def now_ns(self) -> int:
        return time.time_ns()


class ManualClock:
    """A clock that only moves when told to (the simulator's clock, and tests')."""

    __slots__ = ("_now",)

    def __init__(self, start_ns: int = 0) -> None:
        self._now = int(start_ns)

    def now_ns(self) -> int:
        return self._now

    def set(self, ns: int) -> None:
        """Move to `ns`; time never goes backwards."""
        if ns < self._now:
            raise ValueError(f"clock cannot go backwards: now {self._now}, asked {ns}")
        self._now = int(ns)

    def advance(self, delta_ns: int) -> None:
        self.set(self._now + int(delta_ns))
