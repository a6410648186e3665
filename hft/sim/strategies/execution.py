"""What the execution algorithms `twap`, `vwap` and `pov` share: a parent order worked by child orders.

A parent order is ``qty`` lots on ``side`` (1 buy, -1 sell). Every child order is a marketable IOC limit at the
opposite best of the local book (what a taker would pay now), sent through the gateway like any intent, so the
gateway's limits, band and rates apply to each child; what an IOC does not fill expires, and the algorithm's rule
sends it again later. Common rules:

* **Done**: filled lots plus the open size of the children still in flight never exceed ``qty``; once ``qty`` is
  filled nothing more is sent.
* **Limit price** (``limit_price``, ticks; ``None``: none): a buy sends nothing while the best ask is above it, a
  sell nothing while the best bid is below it; the shortfall waits for the price to come back.
* **Child size**: at most ``max_child`` lots (0: no cap); a bigger amount due is sent over the next wakes.
* **One instrument**: on a run over several, the parent is worked on the first (leg 0), and only its prints count
  as the market's volume.

`ScheduledExecution` is the schedule rule of `twap` and `vwap`: the parent is cut into buckets of
``duration_ns / buckets`` local time starting ``start_ns`` after the first event; bucket ``k``'s target is
cumulative (``qty × (w_0 + … + w_k) / Σw``, rounded down; the last bucket's is ``qty``). At the first timer at or
after the end of a bucket, one child goes out for what the target says should be done by now minus what is filled
or in flight, so a missed bucket (no liquidity, the limit price, a gateway rejection, a partial fill) is caught up
at the next one (`schedule_timer`: when the timer ticks). An optional participation cap (``max_participation``) holds each child to that fraction of the
market volume printed over the last bucket.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from hft.core.dtypes import BUY
from hft.core.orders import ORDER_LIMIT, REPORT_FILL, REPORT_PARTIAL_FILL, TIF_IOC
from hft.sim.strategies import param_error
from hft.sim.strategy import Context, OrderUpdate, Strategy


def exact_fraction(strategy: str, name: str, value: float, lo: float, hi: float, *, open_lo: bool) -> Fraction:
    """A rate parameter as the exact fraction its decimal writes (``0.1`` → 1/10), within ``(lo, hi]`` when
    `open_lo` else ``[lo, hi]``; a `ConfigError` naming the parameter otherwise."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value <= hi
    if not ok or (value <= lo if open_lo else value < lo):
        raise param_error(strategy, name, f"a number in {'(' if open_lo else '['}{lo:g}, {hi:g}]", value)
    return Fraction(repr(float(value)))


MIN_BUCKET_NS = 1_000_000  # a schedule's shortest bucket (the shortest sampling period of a replay too)
#: A schedule's timer ticks at least this many times a bucket when its start is off the bucket grid.
TICKS_PER_BUCKET = 64


def schedule_timer(start_ns: int, bucket_ns: int) -> int:
    """The timer of a schedule: it ticks from the first event, so it wakes at every bucket's end when its period
    divides both the start and the bucket, ``gcd(start_ns, bucket_ns)``; a gcd under ``1 / TICKS_PER_BUCKET`` of a
    bucket (a start of 1 ns, a bucket of an hour / 7) would wake the strategy for nothing, so the timer is then
    ``bucket_ns // TICKS_PER_BUCKET`` and a bucket's child goes out at most that long after its end."""
    g = math.gcd(start_ns, bucket_ns)
    return g if g * TICKS_PER_BUCKET >= bucket_ns else max(1, bucket_ns // TICKS_PER_BUCKET)


class ParentOrder(Strategy):
    """A parent order worked by marketable IOC children (module docstring). Subclasses decide when and how much."""

    QUANTITIES = ("qty", "max_child")  # lots; a config may say instrument units (Strategy)

    def _parent(self, side: int, qty: int, limit_price: int | None, max_child: int) -> None:
        if isinstance(side, bool) or side not in (1, -1):
            raise param_error(self.name, "side", "1 (buy) or -1 (sell)", side)
        if limit_price is not None and (isinstance(limit_price, bool) or not isinstance(limit_price, int)):
            raise param_error(self.name, "limit_price", "a price in ticks (an integer) or null", limit_price)
        self.side, self.qty, self.limit_price, self.max_child = side, qty, limit_price, max_child
        self.filled = 0

    def _parent_params(self) -> dict[str, Any]:
        return {"side": self.side, "qty": self.qty, "limit_price": self.limit_price, "max_child": self.max_child}

    @property
    def done(self) -> bool:
        """The whole parent is filled."""
        return self.filled >= self.qty

    def committed(self, ctx: Context) -> int:
        """Lots filled plus the open size of the children in flight."""
        return self.filled + sum(o.leaves for o in ctx.orders.values())

    def send_child(self, ctx: Context, lots: int) -> bool:
        """Send a child of up to `lots` (within the parent and ``max_child``) at the opposite best unless the limit
        price forbids it; whether one went to the gateway."""
        lots = min(lots, self.qty - self.committed(ctx))
        if self.max_child > 0:
            lots = min(lots, self.max_child)
        price = ctx.best_ask if self.side == BUY else ctx.best_bid
        if lots <= 0 or price is None:
            return False
        if self.limit_price is not None and (price - self.limit_price) * self.side > 0:
            return False
        ctx.submit(self.side, price, lots, ORDER_LIMIT, TIF_IOC)
        return True

    def on_order_update(self, ctx: Context, update: OrderUpdate) -> None:
        if update.kind in (REPORT_PARTIAL_FILL, REPORT_FILL):
            self.filled += update.qty


class ScheduledExecution(ParentOrder):
    """The schedule rule of `twap` and `vwap` (module docstring): cumulative bucket targets of ``weights``, a child
    for the shortfall at the first timer after each bucket's end."""

    def _schedule(self, start_ns: int, duration_ns: int, weights: Sequence[float], max_participation: float) -> None:
        self.start_ns = start_ns
        self.buckets = len(weights)
        self.bucket_ns = duration_ns // self.buckets
        if self.bucket_ns < MIN_BUCKET_NS:  # a period in seconds or ms by mistake would wake the strategy every ns
            raise param_error(self.name, "duration_ns", f"at least 1ms a bucket ({self.buckets} buckets: "
                              f"{self.buckets * MIN_BUCKET_NS} ns)", duration_ns)
        exact = [Fraction(str(w)) for w in weights]  # 0.1 is 1/10: the fractions the profile writes
        total = sum(exact, Fraction(0))
        cum, targets = Fraction(0), []
        for w in exact:
            cum += w
            targets.append(self.qty * cum.numerator * total.denominator // (cum.denominator * total.numerator))
        targets[-1] = self.qty
        self.targets = targets
        self.timer_ns = schedule_timer(start_ns, self.bucket_ns)
        self.t0: int | None = None  # the first event's local time
        self.cap = exact_fraction(self.name, "max_participation", max_participation, 0, 1, open_lo=False)
        self.recent: deque[tuple[int, int]] = deque()  # (local ts, qty) of the prints of the last bucket
        self.wakes = ("timer", "order", "trade") if self.cap else ("timer", "order")

    def due(self, now: int) -> int:
        """Lots the schedule says should be done by local time `now`."""
        if self.t0 is None:
            return 0
        n = min((now - self.t0 - self.start_ns) // self.bucket_ns, self.buckets)
        return self.targets[n - 1] if n > 0 else 0

    def on_trade(self, ctx: Context, side: int, price: int, qty: int) -> None:
        if self.cap and ctx.leg_index == 0:
            self.recent.append((ctx.now, qty))

    def on_timer(self, ctx: Context) -> None:
        if self.t0 is None:
            self.t0 = ctx.now - self.timer_ns
        todo = self.due(ctx.now) - self.committed(ctx)
        if self.cap:
            recent = self.recent
            while recent and recent[0][0] <= ctx.now - self.bucket_ns:
                recent.popleft()
            volume = sum(q for _, q in recent)
            todo = min(todo, volume * self.cap.numerator // self.cap.denominator)
        if todo > 0:
            self.send_child(ctx, todo)
