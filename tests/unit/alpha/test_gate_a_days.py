"""Gate A on days: no false alarm on any shipped alpha, every planted leak caught (issue 14).

Generated days always; the six LOBSTER sample days when ``../shared/data`` is present (``shared_data``). Both
sampling modes (event time, 100 ms clock). Features are computed once per day and mode for the session; gate A
results of the shipped alphas are computed once and shared by the false-alarm cases and the table check.
"""

from __future__ import annotations

import math

import pytest
from gate_a_table import (
    GENERATED,
    MODES,
    compute_rows,
    day_name,
    doc_table,
    frames_of,
    generated_md,
    lobster_files,
    markdown,
    real_days,
    runnable,
    shipped,
)
from leaks import HONEST, LEAKS

from hft.alpha.api.config import GateA
from hft.alpha.gates.gate_a import gate_a

REAL = [day_name(p) for p in lobster_files()] or ["AAPL L1", "AMZN L1", "AMZN L5", "GOOG L1", "GOOG L10",
                                                    "GOOG L5"]
SHIPPED = [a for a, _, _ in shipped()]


@pytest.fixture(scope="session")
def generated_frames(tmp_path_factory):
    return frames_of(generated_md(tmp_path_factory.mktemp("gate_a_generated")), 5)


@pytest.fixture(scope="session")
def real_frames(shared_data):
    days = real_days()
    assert set(days) == set(REAL), sorted(days)
    return days


@pytest.fixture(scope="session")
def shipped_results():
    """(alpha, day, mode) -> gate A result, shared by the cases below and the table check."""
    return {}


def _lookahead_checks(res):
    return {c.name: c for c in res.checks if c.name in ("lookahead_mismatches", "perturbation_mismatches",
                                                        "shift_ic_excess")}


def _assert_caught(res, label):
    checks = _lookahead_checks(res)
    assert not res.passed, label
    exact = [checks["lookahead_mismatches"], checks["perturbation_mismatches"]]
    assert any(not c.passed for c in exact), f"{label}: no exact test failed"
    # the explanation names the check, the cut and row, and the columns involved
    note = next(c.note for c in exact if not c.passed)
    assert "lookahead (" in note and "at cut " in note and "at row " in note, note
    assert "feature columns involved: " in note or "no single column" in note, note


def _check_honest(alpha_id, res, label):
    bad = [c for c in res.checks if not c.passed and c.name != "ns_per_row"]  # speed: bench/, not tests
    assert not bad, f"{label}: false alarm: {[c.note for c in bad]}"
    assert res.metrics["lookahead"]["n_mismatches"] == 0 and res.metrics["perturbation"]["n_mismatches"] == 0
    assert len(res.metrics["lookahead"]["cuts"]) >= 15 and len(res.metrics["perturbation"]["cuts"]) >= 15


# --- generated day ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("leak", LEAKS, ids=lambda c: c.alpha_id)
def test_every_planted_leak_fails_on_a_generated_day(generated_frames, leak, mode):
    res, _ = gate_a(leak(), generated_frames[mode], GateA())
    _assert_caught(res, f"{leak.alpha_id} on {GENERATED} {mode}")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("honest", HONEST, ids=lambda c: c.alpha_id)
def test_honest_look_alikes_pass_the_exact_tests_on_a_generated_day(generated_frames, honest, mode):
    res, _ = gate_a(honest(), generated_frames[mode], GateA(min_coverage=0.0))
    checks = _lookahead_checks(res)
    assert checks["lookahead_mismatches"].passed and checks["perturbation_mismatches"].passed, res.reasons
    assert checks["shift_ic_excess"].passed  # at most a warning


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("alpha_id", SHIPPED)
def test_shipped_alpha_passes_on_a_generated_day(generated_frames, shipped_results, alpha_id, mode):
    _, alpha, th = next(x for x in shipped() if x[0] == alpha_id)
    res = shipped_results.setdefault((alpha_id, GENERATED, mode), gate_a(alpha, generated_frames[mode], th)[0])
    _check_honest(alpha_id, res, f"{alpha_id} on {GENERATED} {mode}")


# --- the LOBSTER sample days ------------------------------------------------------------------------------------

@pytest.mark.shared_data
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("day", REAL)
@pytest.mark.parametrize("alpha_id", SHIPPED)
def test_no_false_alarm_on_real_days(real_frames, shipped_results, alpha_id, day, mode):
    _, alpha, th = next(x for x in shipped() if x[0] == alpha_id)
    frame = real_frames[day][mode]
    if not runnable(alpha, frame):
        assert alpha_id == "obi_multi" and day.endswith("L1"), (alpha_id, day)  # needs 5 levels
        return
    res = shipped_results.setdefault((alpha_id, day, mode), gate_a(alpha, frame, th)[0])
    _check_honest(alpha_id, res, f"{alpha_id} on {day} {mode}")


@pytest.mark.shared_data
@pytest.mark.parametrize("day", REAL)
@pytest.mark.parametrize("leak", LEAKS, ids=lambda c: c.alpha_id)
def test_every_planted_leak_fails_on_every_real_day(real_frames, leak, day):
    for mode in MODES:
        res, _ = gate_a(leak(), real_frames[day][mode], GateA())
        _assert_caught(res, f"{leak.alpha_id} on {day} {mode}")


@pytest.mark.shared_data
def test_false_alarm_table_in_the_docs_is_current(real_frames, generated_frames, shipped_results):
    rows = compute_rows({GENERATED: generated_frames, **real_frames}, shipped_results)
    assert len(rows) == 2 * (len(SHIPPED) * (len(REAL) + 1) - 3)  # obi_multi needs 5 levels: not on the L1 days
    assert all(r["passed"] for r in rows), [r for r in rows if not r["passed"]]
    assert all(math.isfinite(r["bound"]) for r in rows)
    assert doc_table() == markdown(rows), ("docs/alpha.md: the gate A table is out of date; run "
                                           "`.venv/bin/python tests/unit/alpha/gate_a_table.py --write`")
