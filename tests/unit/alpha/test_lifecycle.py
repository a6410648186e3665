"""The lifecycle state machine: every (state, event) pair, exhaustively, and the ladder guards."""

from __future__ import annotations

import itertools

import pytest

from hft.alpha.governance.lifecycle import ACTIVE_STATES, EVENTS, STATES, TRANSITIONS, is_active, transition
from hft.core.errors import GovernanceError

# the whole table, written out independently of TRANSITIONS: None = refused
EXPECTED = {
    "candidate": {"promote": "promoted", "hold": None, "escalate": None, "graduate": None, "rollback": None,
                  "retire": None},
    "promoted": {"promote": None, "hold": "canary", "escalate": "canary", "graduate": "graduated",
                 "rollback": "inactive", "retire": "inactive"},
    "canary": {"promote": None, "hold": "canary", "escalate": "canary", "graduate": "graduated",
               "rollback": "inactive", "retire": "inactive"},
    "graduated": {"promote": None, "hold": None, "escalate": None, "graduate": None, "rollback": "inactive",
                  "retire": "inactive"},
    "inactive": {e: None for e in EVENTS},
}


def test_table_covers_every_pair():
    assert set(EXPECTED) == set(STATES)
    assert all(set(row) == set(EVENTS) for row in EXPECTED.values())
    assert {k: v for k, v in TRANSITIONS.items()} == {
        (s, e): t for s, row in EXPECTED.items() for e, t in row.items() if t is not None}


@pytest.mark.parametrize(("state", "event"), list(itertools.product(STATES, EVENTS)))
@pytest.mark.parametrize(("step", "n_steps"), [(0, 1), (0, 3), (1, 3), (2, 3)])
def test_every_state_event_pair(state, event, step, n_steps):
    want = EXPECTED[state][event]
    last = step == n_steps - 1
    guard_refuses = (event == "escalate" and last) or (event == "graduate" and not last)
    if want is None or guard_refuses:
        with pytest.raises(GovernanceError) as ei:
            transition(state, event, step, n_steps)
        assert ei.value.exit_code == 16
        assert event in ei.value.message
        return
    t = transition(state, event, step, n_steps)
    assert (t.from_state, t.to_state, t.event) == (state, want, event)
    assert t.from_step == step
    assert t.to_step == (step + 1 if event == "escalate" else step)


def test_inactive_is_terminal_and_candidate_only_promotes():
    for e in EVENTS:
        with pytest.raises(GovernanceError, match="not allowed in state 'inactive'"):
            transition("inactive", e)
    assert transition("candidate", "promote").to_state == "promoted"


def test_ladder_walk_to_graduation():
    state, step = "promoted", 0
    for event in ("hold", "escalate", "hold", "escalate", "graduate"):
        t = transition(state, event, step, 3)
        state, step = t.to_state, t.to_step
    assert (state, step) == ("graduated", 2)


def test_guards_and_bad_input():
    with pytest.raises(GovernanceError, match="cannot escalate past the last"):
        transition("canary", "escalate", 2, 3)
    with pytest.raises(GovernanceError, match="cannot graduate at ladder step 1 of 3"):
        transition("canary", "graduate", 0, 3)
    with pytest.raises(GovernanceError, match="expected a state"):
        transition("live", "hold")
    with pytest.raises(GovernanceError, match="expected an event"):
        transition("canary", "pause")
    with pytest.raises(GovernanceError, match="canary step"):
        transition("canary", "hold", 3, 3)
    with pytest.raises(GovernanceError, match="ladder"):
        transition("canary", "hold", 0, 0)


def test_active_states():
    assert {"promoted", "canary", "graduated"} == ACTIVE_STATES
    assert [s for s in STATES if is_active(s)] == ["promoted", "canary", "graduated"]
