"""Queue-pressure control of the intake channel (config ``ingress.*``).

The ladder, on the utilisation of the intake channel (queued / capacity, %):

- below ``soft_reject_pct``: admitted;
- at or above ``soft_reject_pct``: 429 SOFT_REJECT for volatile intents (``/v3/orders``; nothing queued, the
  client backs off); durable intents (``/orders``, cancels) are still admitted;
- at or above ``kill_pct``, or a full or closed channel: the kill trips (503 KILLED from then on; the engine
  moves the gateway to REJECT_ALL, which cancels every working order).

Recovery (hysteresis): with ``auto_recover`` the kill clears once utilisation has stayed at or below
``recover_pct`` for ``recover_after``; any sample above restarts the wait. Without it the kill latches until
`reset()` (an operator). Times are monotonic ns passed in by the caller.
"""

from __future__ import annotations

from collections.abc import Callable

from hft.gateway.config import IngressConfig

ADMIT, SOFT_REJECT, KILLED = 0, 1, 2


class PressureControl:
    """The ladder's state. `admit(depth, now)` → ADMIT / SOFT_REJECT / KILLED; `on_kill` / `on_recover` hooks."""

    def __init__(self, cfg: IngressConfig, capacity: int, on_kill: Callable[[str], None],
                 on_recover: Callable[[str], None]) -> None:
        self.cfg = cfg
        self.capacity = capacity
        self.on_kill = on_kill
        self.on_recover = on_recover
        self.killed = False
        self.kill_cause = ""
        self.quiet_since: int | None = None
        self.accepted = 0
        self.soft_rejected = 0
        self.killed_rejects = 0
        self.kills = 0
        self.recoveries = 0

    def utilisation(self, depth: int) -> float:
        return 100.0 * depth / self.capacity

    def admit(self, depth: int, now: int, soft: bool = True) -> int:
        """The verdict for one intent; `soft=False` (durable orders) skips the soft-reject rung: durable
        intents are refused only by the kill."""
        u = 100.0 * depth / self.capacity
        if self.killed:
            self._maybe_recover(u, now)
            if self.killed:
                self.killed_rejects += 1
                return KILLED
        if u >= self.cfg.kill_pct:
            self.trip(f"queue_pressure: utilisation {u:.1f}% >= kill_pct {self.cfg.kill_pct:g}%", now)
            self.killed_rejects += 1
            return KILLED
        if soft and u >= self.cfg.soft_reject_pct:
            self.soft_rejected += 1
            return SOFT_REJECT
        self.accepted += 1
        return ADMIT

    def admit_run(self, depth: int, n: int) -> int:
        """How many of `n` intents arriving together at `depth` are admitted with no rung in reach (`admit` would
        answer ADMIT to each, soft or durable, each one queued before the next): counted as accepted. The
        caller puts the rest through `admit` one by one."""
        if self.killed or n <= 0:
            return 0
        lim = min(self.cfg.soft_reject_pct, self.cfg.kill_pct)
        cap = self.capacity
        m = max(0, int(lim * cap / 100.0) - depth)  # intent i is clear while 100 * (depth + i) / cap < lim
        while m > 0 and 100.0 * (depth + m - 1) / cap >= lim:
            m -= 1
        while m < n and 100.0 * (depth + m) / cap < lim:
            m += 1
        k = min(n, m)
        self.accepted += k
        return k

    def sample(self, depth: int, now: int) -> None:
        """Periodic check (the engine calls it every turn and on a timer), so recovery happens without traffic."""
        if self.killed:
            self._maybe_recover(100.0 * depth / self.capacity, now)

    def trip(self, cause: str, now: int, notify: bool = True) -> None:
        """Trip the kill (idempotent); `notify=False` when the caller has already stopped the gateway."""
        if self.killed:
            return
        self.killed = True
        self.kill_cause = cause
        self.kills += 1
        self.quiet_since = None
        if notify:
            self.on_kill(cause)

    def _maybe_recover(self, u: float, now: int) -> None:
        if not self.cfg.auto_recover or not self.kill_cause.startswith("queue_pressure"):
            return
        if u > self.cfg.recover_pct:
            self.quiet_since = None
            return
        if self.quiet_since is None:
            self.quiet_since = now
        if now - self.quiet_since >= self.cfg.recover_after_ns:
            self.reset("queue_pressure_recovered")

    def reset(self, cause: str = "manual_reset") -> None:
        if not self.killed:
            return
        self.killed = False
        self.kill_cause = ""
        self.quiet_since = None
        self.recoveries += 1
        self.on_recover(cause)
