"""Policy FSM (ALLOW_ALL / CANCEL_ONLY / REJECT_ALL) driven by the StormGuard (NORMAL / DEGRADED / HALT)
and by manual commands. Pure Python, no I/O, no wall clock: times come from the caller.

The effective mode is ``max(manual_mode, storm_mode(level))`` with NORMAL→ALLOW_ALL, DEGRADED→CANCEL_ONLY,
HALT→REJECT_ALL. Cancels always pass the gate, in every mode. Every change of level or mode is a
`PolicyTransition` record handed to the `on_transition` callback (the service forwards it to its sink).

StormGuard: `trip(level, cause, now)` raises the level (never lowers it) and restarts the cooldown.
`tick(now)` lowers the level one step once `cooldown_ns` has passed without a new trigger (hysteresis: every
step down needs its own full quiet cooldown, and any trigger restarts it). Latching causes (daily loss unless
``loss_auto_recover``, and the manual kill) never recover on their own: only `reset()` clears them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from hft.core.orders import (
    INTENT_CANCEL,
    MODE_ALLOW_ALL,
    MODE_CANCEL_ONLY,
    MODE_NAMES,
    MODE_REJECT_ALL,
    R_OK,
    R_POLICY_CANCEL_ONLY,
    R_POLICY_REJECT_ALL,
    STORM_DEGRADED,
    STORM_HALT,
    STORM_NAMES,
    STORM_NORMAL,
)

_NEVER = (1 << 63) - 1


class PolicyTransition(NamedTuple):
    """A recorded change of StormGuard level and/or policy mode."""

    ts: int
    source: str  # "storm" | "manual"
    cause: str
    old_level: int
    new_level: int
    old_mode: int
    new_mode: int

    def to_record(self) -> dict:
        d = self._asdict()
        d.update(old_level_name=STORM_NAMES[self.old_level], new_level_name=STORM_NAMES[self.new_level],
                 old_mode_name=MODE_NAMES[self.old_mode], new_mode_name=MODE_NAMES[self.new_mode])
        return d


def storm_mode(level: int) -> int:
    return (MODE_ALLOW_ALL, MODE_CANCEL_ONLY, MODE_REJECT_ALL)[level]


class StormGuard:
    """Automatic circuit breaker state with cooldown-based recovery."""

    def __init__(self, cooldown_ns: int, latching: frozenset[str] = frozenset()) -> None:
        self.cooldown_ns = int(cooldown_ns)
        self.latching = latching
        self.level = STORM_NORMAL
        self.latched = False
        self.recover_at = _NEVER
        self.last_cause = ""
        self.trips = [0] * (STORM_HALT + 1)  # trips that raised the level, by the level raised to (a counter)

    def trip(self, level: int, cause: str, now: int) -> bool:
        """Raise to `level` (no-op if already higher). Returns True when the level changed."""
        self.last_cause = cause
        if cause in self.latching:
            self.latched = True
        self.recover_at = now + self.cooldown_ns
        if level > self.level:
            self.level = level
            self.trips[level] += 1
            return True
        return False

    def tick(self, now: int) -> bool:
        """Step down one level if the cooldown has passed quietly. Returns True when the level changed."""
        if self.level == STORM_NORMAL or self.latched or now < self.recover_at:
            return False
        self.level -= 1
        self.recover_at = now + self.cooldown_ns if self.level > STORM_NORMAL else _NEVER
        return True

    @property
    def next_check_ns(self) -> int:
        return _NEVER if (self.level == STORM_NORMAL or self.latched) else self.recover_at

    def clear(self) -> None:
        self.level = STORM_NORMAL
        self.latched = False
        self.recover_at = _NEVER
        self.last_cause = ""


class GatewayPolicy:
    """The mode FSM. `gate(kind)` is the step-2 check (the numba core applies the same rule to `mode`)."""

    def __init__(self, storm: StormGuard, on_transition: Callable[[PolicyTransition], None] | None = None) -> None:
        self.storm = storm
        self.manual_mode = MODE_ALLOW_ALL
        self.on_transition = on_transition
        self.mode = MODE_ALLOW_ALL

    def gate(self, kind: int) -> int:
        """Reason code for an intent of `kind` under the current mode (R_OK = pass). Cancels always pass."""
        if kind == INTENT_CANCEL or self.mode == MODE_ALLOW_ALL:
            return R_OK
        return R_POLICY_REJECT_ALL if self.mode == MODE_REJECT_ALL else R_POLICY_CANCEL_ONLY

    def _recompute(self, now: int, source: str, cause: str, old_level: int) -> PolicyTransition | None:
        old_mode = self.mode
        self.mode = max(self.manual_mode, storm_mode(self.storm.level))
        if old_mode == self.mode and old_level == self.storm.level:
            return None
        tr = PolicyTransition(now, source, cause, old_level, self.storm.level, old_mode, self.mode)
        if self.on_transition is not None:
            self.on_transition(tr)
        return tr

    def trip(self, level: int, cause: str, now: int) -> PolicyTransition | None:
        old = self.storm.level
        self.storm.trip(level, cause, now)
        return self._recompute(now, "storm", cause, old)

    def tick(self, now: int) -> PolicyTransition | None:
        old = self.storm.level
        if self.storm.tick(now):
            return self._recompute(now, "storm", "cooldown_recovery", old)
        return None

    def set_manual(self, mode: int, cause: str, now: int) -> PolicyTransition | None:
        if mode not in MODE_NAMES:
            raise ValueError(f"expected a policy mode {sorted(MODE_NAMES)}, was {mode!r}")
        old = self.storm.level
        self.manual_mode = mode
        return self._recompute(now, "manual", cause, old)

    def kill(self, cause: str, now: int) -> PolicyTransition | None:
        """Manual REJECT_ALL and StormGuard HALT (latched until reset)."""
        old = self.storm.level
        self.manual_mode = MODE_REJECT_ALL
        self.storm.level = STORM_HALT
        self.storm.latched = True
        self.storm.last_cause = cause
        return self._recompute(now, "manual", cause, old)

    def reset(self, cause: str, now: int) -> PolicyTransition | None:
        old = self.storm.level
        self.manual_mode = MODE_ALLOW_ALL
        self.storm.clear()
        return self._recompute(now, "manual", cause, old)


LEVELS = {"NORMAL": STORM_NORMAL, "DEGRADED": STORM_DEGRADED, "HALT": STORM_HALT}
