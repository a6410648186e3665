"""House gates (`hft.alpha.gates.registry`): docs/extending.md's example gate, named in an alpha's config, run by
the real `hft alpha validate` after A, B and C — in the verdict, the scorecard (also under a pseudo-terminal)
and the audit rows; a missing, misnamed or broken gate is a one-line error and records nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import run_hft
from tests.cli.pty_run import run_pty
from tests.cli.test_alpha_validate import LAX, _env, _nothing_recorded, _one_line_error
from tests.unit.test_extending_doc import _block

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("house_gates_day")
    r = run_hft("data", "generate", "--out", str(out), "--messages", "30000", "--levels", "5", "--seed", "3",
                "--json")
    assert r.code == 0, r.err
    return Path(r.json()["message_path"])


def _config(tmp_path: Path, gates: str) -> Path:
    """LAX (passes A, B, C on the generated day) plus `gates` under validation.extra_gates; the doc's gate file
    beside it."""
    (tmp_path / "my_gates.py").write_text(_block("def max_flips") + "\n\ndef C(inputs, params):\n    return None\n"
                                          "\n\ndef broken(inputs, params):\n    raise ValueError('no data')\n")
    cfg = tmp_path / "alpha.yaml"
    cfg.write_text(LAX + "  extra_gates:\n" + "".join(f"    {line}\n" for line in gates.splitlines()))
    return cfg


def _flips(card: dict) -> dict:
    (g,) = [g for g in card["gates"] if g["gate"] == "max_flips"]
    return g


def test_house_gate_passes_joins_the_scorecard_and_the_audit_rows(day, tmp_path):
    cfg = _config(tmp_path, "my_gates.py:max_flips: {max_per_1k: 1000}")
    r = run_hft("alpha", "validate", "obi_l1", "--data", str(day), "--config", str(cfg), "--json",
                env=_env(tmp_path), cwd=tmp_path)
    assert r.code == 0, r.err
    card = r.json()
    assert [g["gate"] for g in card["gates"]] == ["A", "B", "C", "max_flips"] and card["passed"]
    g = _flips(card)
    assert g["passed"] and g["metric"] == "flips_per_1k" and g["thresholds"] == {"max_per_1k": 1000.0}
    assert 0 < g["value"] <= 1000  # the smoothed signal does flip, far below one flip a row
    q = run_hft("audit", "query", "SELECT gate, passed, metric FROM audit.alpha_gate_decisions ORDER BY gate",
                "--json", env=_env(tmp_path), cwd=tmp_path)
    rows = q.json()
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert [(x["gate"], bool(x["passed"])) for x in rows] == [("A", True), ("B", True), ("C", True),
                                                              ("max_flips", True)]


def test_house_gate_failing_fails_the_alpha_with_exit_17_and_reads_in_a_terminal(day, tmp_path):
    cfg = _config(tmp_path, "my_gates.py:max_flips: {max_per_1k: 0.001}")
    r = run_hft("alpha", "validate", "obi_l1", "--data", str(day), "--config", str(cfg), "--json", "--no-record",
                env=_env(tmp_path), cwd=tmp_path)
    assert r.code == 17, r.err
    assert "failed gate(s) max_flips" in r.err and "Traceback" not in r.err
    g = _flips(r.json())
    assert not g["passed"] and g["reasons"] == [f"flips_per_1k = {g['value']:.6g}, expected <= 0.001"]
    p = run_pty("alpha", "validate", "obi_l1", "--data", str(day), "--config", str(cfg), "--no-record",
                env=_env(tmp_path), cwd=tmp_path)
    assert p.code == 17
    assert "Gate max_flips — house gate" in p.text and "flips_per_1k" in p.text and "Traceback" not in p.text


@pytest.mark.parametrize(("gates", "code", "match"), [
    ("my_gates.py:nope: {}", 11, "key 'validation.extra_gates.my_gates.py:nope'"),
    ("missing.py:max_flips: {}", 11, "expected a Python file at"),
    ("no_such_gate: {}", 11, "expected a registered gate"),
    ("my_gates.py:C: {}", 11, "a governance gate's name"),
    ("my_gates.py:max_flips: 3", 11, "expected a mapping of the gate's parameters"),
    ("my_gates.py:broken: {}", 16, "gate "),
])
def test_bad_house_gates_are_one_line_errors_and_record_nothing(day, tmp_path, gates, code, match):
    cfg = _config(tmp_path, gates)
    r = run_hft("alpha", "validate", "obi_l1", "--data", str(day), "--config", str(cfg), env=_env(tmp_path),
                cwd=tmp_path)
    _one_line_error(r, code, match)
    assert _nothing_recorded(tmp_path)
