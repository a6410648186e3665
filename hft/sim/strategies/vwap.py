"""`vwap`: execute a parent order of ``qty`` lots on ``side`` over ``duration_ns`` following a volume profile.

``profile`` gives the expected share of the period's volume in each of its buckets (any non-negative numbers, at
least one positive: they are normalised), e.g. ``[3, 2, 1, 1, 2, 3]`` for a U-shaped day in six buckets; without
one the profile is flat over ``buckets`` buckets (a TWAP). The period starts ``start_ns`` after the first event
(local time). The rule is `hft.sim.strategies.execution.ScheduledExecution`: each bucket's target is cumulative
(``qty × (w_0 + … + w_k) / Σw`` lots, rounded down; ``qty`` at the last one) and at the end of each bucket one
marketable IOC child at the opposite best goes out for the target minus what is filled or in flight, so a bucket
that could not trade is caught up at the next one. Children are marketable rather than passive: the schedule is
met at the cost of the spread, and the catch-up needs no cancel / replace.

``max_participation`` (0: off) caps each child at that fraction of the market volume printed over the last bucket
(the replayed prints: our own fills are not in them); what the cap holds back is caught up in later buckets, so a
capped parent may end unfinished. ``limit_price`` (ticks) and ``max_child`` (lots) as for every execution
algorithm (`hft.sim.strategies.execution`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from hft.sim.strategies import param_error
from hft.sim.strategies.execution import ScheduledExecution

DEFAULT_BUCKETS = 10


class Vwap(ScheduledExecution):
    name = "vwap"
    DEFAULTS: ClassVar[dict[str, Any]] = {"side": 1, "qty": 100, "start_ns": 0, "duration_ns": 3_600_000_000_000,
                                          "profile": [], "buckets": DEFAULT_BUCKETS, "max_participation": 0.0,
                                          "limit_price": None, "max_child": 0}

    def __init__(self, side: int, qty: int, start_ns: int, duration_ns: int, profile: list[Any], buckets: int,
                 max_participation: float, limit_price: int | None, max_child: int) -> None:
        self._parent(side, qty, limit_price, max_child)
        for w in profile:
            if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w < 0:
                raise param_error(self.name, "profile", "a list of non-negative numbers (one per bucket)", profile)
        if profile and not any(w > 0 for w in profile):
            raise param_error(self.name, "profile", "at least one positive weight", profile)
        if profile and buckets not in (len(profile), DEFAULT_BUCKETS):
            raise param_error(self.name, "buckets", f"the profile's length {len(profile)} (or leave it out)", buckets)
        self.profile = list(profile)
        self._schedule(start_ns, duration_ns, self.profile or [1] * buckets, max_participation)

    def params(self) -> dict[str, Any]:
        return {**self._parent_params(), "start_ns": self.start_ns, "duration_ns": self.bucket_ns * self.buckets,
                "profile": self.profile, "buckets": self.buckets, "max_participation": float(self.cap)}
