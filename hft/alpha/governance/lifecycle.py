"""The alpha lifecycle state machine: only the allowed transitions exist.

States
------
==============  ================================================================================================
``candidate``   no promotion file (or before the first event of one); the alpha may be validated and pooled
``promoted``    Gates D and E passed (or were forced); the promotion YAML exists; the canary has not reported
``canary``      the canary runs at ladder step ``canary_step`` (0-based) of the plan's escalation ladder
``graduated``   the canary completed every ladder step within the kill thresholds
``inactive``    rolled back (a kill threshold breached), retired by an operator, or superseded by a newer
                promotion; terminal for that promotion file (a new promotion writes a new file)
==============  ================================================================================================

``promoted``, ``canary`` and ``graduated`` are *active*: the alpha belongs to the promoted pool.

Events and transitions (anything else is refused with a `GovernanceError`)
-------------------------------------------------------------------------
============  ======================  =====================  ==========================================
event         from                    to                     guard
============  ======================  =====================  ==========================================
promote       candidate               promoted               —
hold          promoted, canary        canary (same step)     —
escalate      promoted, canary        canary (step + 1)      the current step is not the ladder's last
graduate      promoted, canary        graduated              the current step is the ladder's last
rollback      promoted, canary,       inactive               —
              graduated
retire        promoted, canary,       inactive               —
              graduated
============  ======================  =====================  ==========================================

``promoted`` counts as step 0 of the ladder (the first canary decision starts it). A graduated alpha is no
longer under canary: hold / escalate / graduate are refused there; it can still be rolled back or retired.
"""

from __future__ import annotations

from dataclasses import dataclass

from hft.core.errors import GovernanceError

__all__ = ["ACTIVE_STATES", "EVENTS", "STATES", "TRANSITIONS", "Transition", "is_active", "state_label", "step_label",
           "transition"]

STATES: tuple[str, ...] = ("candidate", "promoted", "canary", "graduated", "inactive")
EVENTS: tuple[str, ...] = ("promote", "hold", "escalate", "graduate", "rollback", "retire")
ACTIVE_STATES: frozenset[str] = frozenset({"promoted", "canary", "graduated"})

# (state, event) -> next state; the only allowed pairs
TRANSITIONS: dict[tuple[str, str], str] = {
    ("candidate", "promote"): "promoted",
    ("promoted", "hold"): "canary",
    ("promoted", "escalate"): "canary",
    ("promoted", "graduate"): "graduated",
    ("promoted", "rollback"): "inactive",
    ("promoted", "retire"): "inactive",
    ("canary", "hold"): "canary",
    ("canary", "escalate"): "canary",
    ("canary", "graduate"): "graduated",
    ("canary", "rollback"): "inactive",
    ("canary", "retire"): "inactive",
    ("graduated", "rollback"): "inactive",
    ("graduated", "retire"): "inactive",
}


@dataclass(frozen=True)
class Transition:
    """The outcome of an allowed event: state and canary step before and after."""

    event: str
    from_state: str
    to_state: str
    from_step: int
    to_step: int


def is_active(state: str) -> bool:
    """True for the states whose alpha belongs to the promoted pool."""
    return state in ACTIVE_STATES


def step_label(step: int, n_steps: int) -> str:
    """A ladder step as people count it: 1-based, of the ladder's steps (``canary_step`` 0 of 3 → ``"1/3"``).
    Files, JSON and the audit store keep the 0-based ``canary_step``; everything printed for a person says this."""
    return f"{step + 1}/{n_steps}"


def state_label(state: str, step: int, n_steps: int) -> str:
    """A state for people: ``canary`` with its step (``"canary (step 2/3)"``, `step_label`), any other state
    alone (``promoted`` is not on the ladder yet; ``graduated`` and ``inactive`` have left it)."""
    return f"{state} (step {step_label(step, n_steps)})" if state == "canary" else state


def transition(state: str, event: str, step: int = 0, n_steps: int = 1) -> Transition:
    """Apply `event` to (`state`, canary `step`) with a ladder of `n_steps` steps; refuse what is not allowed.

    Raises:
        GovernanceError: unknown state / event, a pair outside `TRANSITIONS`, or a failed guard.
    """
    if state not in STATES:
        raise GovernanceError(f"lifecycle: expected a state in {list(STATES)}, was {state!r}", key="state")
    if event not in EVENTS:
        raise GovernanceError(f"lifecycle: expected an event in {list(EVENTS)}, was {event!r}", key="event")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise GovernanceError(f"lifecycle: expected a ladder of at least 1 step, was {n_steps!r}", key="ladder")
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < n_steps:
        raise GovernanceError(f"lifecycle: expected a canary step in [0, {n_steps - 1}], was {step!r}",
                              key="canary_step")
    nxt = TRANSITIONS.get((state, event))
    if nxt is None:
        allowed = sorted(e for (s, e) in TRANSITIONS if s == state)
        raise GovernanceError(f"lifecycle: event '{event}' is not allowed in state '{state}': expected one of "
                              f"{allowed}", key="event", state=state, event=event)
    last = step == n_steps - 1
    new_step = step
    if event == "escalate":
        if last:
            raise GovernanceError(f"lifecycle: cannot escalate past the last ladder step ({step + 1} of "
                                  f"{n_steps}): expected graduate", key="event", state=state, event=event)
        new_step = step + 1
    elif event == "graduate" and not last:
        raise GovernanceError(f"lifecycle: cannot graduate at ladder step {step + 1} of {n_steps}: expected the "
                              f"last step", key="event", state=state, event=event)
    return Transition(event, state, nxt, step, new_step)
