"""Time in the reference replay: latency draws, the strategy's local arrival times and the venue's clock, written
from docs/sim.md ("One clock, four streams", "Set latencies", "Latency draws"). Plain Python integers throughout.

* A latency is ``constant`` (always ``base``), ``random`` (``base`` plus a seeded exponential jitter of mean
  ``jitter``, held at ``cap``) or ``empirical`` (a recorded series, linear in time, flat beyond its ends).
* The n-th draw of a random latency uses ``u = uniform01(seed, n)``: SplitMix64 at ``seed + (n + 1) * golden``,
  its top 53 bits over 2**53 (`splitmix64` below, as docs/sim.md "Determinism" names it).
* Local times, each leg's over its own events: the data's ``local_ts`` shifted by the smallest constant that puts
  none of any leg before its ``exch_ts``, or ``exch_ts + feed latency`` (draw n for the leg's event n); then their
  running maximum within the leg.
* The venue's clock at event i is ``max(exch_ts[:i+1])``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

_U64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
MAX_LATENCY_NS = 1 << 60  # docs/sim.md, "Determinism": latencies within 2**60 ns


def splitmix64(seed: int, counter: int) -> int:
    """SplitMix64 evaluated at state ``seed + (counter + 1) * golden`` (all modulo 2**64)."""
    z = (seed + (counter + 1) * _GOLDEN) & _U64
    z = ((z ^ (z >> 30)) * _M1) & _U64
    z = ((z ^ (z >> 27)) * _M2) & _U64
    return z ^ (z >> 31)


def uniform01(seed: int, counter: int) -> float:
    """A float in [0, 1) from (seed, counter): the top 53 bits of `splitmix64` over 2**53."""
    return float(splitmix64(seed, counter) >> 11) / 9007199254740992.0


@dataclass(frozen=True)
class Latency:
    """One latency series (ns). Build it with `constant`, `random` or `empirical`."""

    kind: str  # "constant" | "random" | "empirical"
    base: int = 0
    jitter: int = 0
    cap: int = 0
    seed: int = 0
    times: tuple[int, ...] = field(default=())
    values: tuple[int, ...] = field(default=())

    @staticmethod
    def constant(ns: int) -> Latency:
        """Always `ns`."""
        return Latency("constant", base=int(ns), cap=int(ns))

    @staticmethod
    def random(base: int, jitter: int, seed: int, cap: int | None = None) -> Latency:
        """`base` plus a seeded exponential jitter of mean `jitter`, at most `cap` (default ``base + 20 *
        jitter``, at most 2**60)."""
        cap = min(base + 20 * jitter, MAX_LATENCY_NS) if cap is None else cap
        return Latency("random", base=int(base), jitter=int(jitter), cap=int(cap), seed=int(seed) & _U64)

    @staticmethod
    def empirical(times: Sequence[int], values: Sequence[int]) -> Latency:
        """A recorded series ``(t_ns, latency_ns)``, times non-decreasing."""
        return Latency("empirical", times=tuple(int(t) for t in times), values=tuple(int(v) for v in values))

    def draw(self, t: int, n: int) -> int:
        """The latency at time `t` for the `n`-th draw of this series."""
        if self.kind == "constant":
            return self.base
        if self.kind == "random":
            u = uniform01(self.seed, n)
            jitter = -math.log(1.0 - u) * self.jitter  # a float, as the exponential's inverse CDF gives it
            if jitter >= self.cap - self.base:
                return self.cap
            return min(self.base + int(jitter), self.cap)  # whole nanoseconds: the jitter truncated
        times, values = self.times, self.values
        if t <= times[0]:
            return values[0]
        if t >= times[-1]:
            return values[-1]
        hi = bisect.bisect_right(times, t)
        lo = hi - 1
        span = times[hi] - times[lo]
        if span == 0:
            return values[hi]
        frac = float(t - times[lo]) / float(span)  # the fraction in float64, each operand rounded first
        return values[lo] + round((values[hi] - values[lo]) * frac)  # half to even


def local_times(legs: Sequence[tuple[Sequence[int], Sequence[int]]], feed: Latency | None) -> list[list[int]]:
    """The strategy's arrival time of each event of each leg, given as (exch_ts, local_ts) in the leg's own order
    (module docstring): a leg's times are its own feed's, as if it ran alone; the data's local times take one shift
    for all the legs (one recording machine's clock)."""
    if feed is not None:
        return [running_max([t + feed.draw(t, i) for i, t in enumerate(exch)]) for exch, _ in legs]
    shift = max([0] + [e - loc for exch, local in legs for e, loc in zip(exch, local, strict=True)])
    return [running_max([loc + shift for loc in local]) for _, local in legs]


def running_max(times: Sequence[int]) -> list[int]:
    """``out[i] = max(times[:i+1])``: the venue's clock of exchange times, and the local times' order."""
    out: list[int] = []
    for t in times:
        out.append(t if not out or t > out[-1] else out[-1])
    return out
