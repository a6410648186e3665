"""House gates bind promotion too: an alpha whose config names one has Gate E require its latest verdict."""

from __future__ import annotations

import pytest
from lifecycle_helpers import gate_rows

from hft.alpha.api.config import parse_alpha_config
from hft.alpha.api.lifecycle_config import GateD
from hft.alpha.gates.gate_e import evaluate_gate_e
from hft.alpha.gates.registry import register_gate, resolve_gate
from hft.core.errors import ConfigError, GovernanceError

D_METRICS = {"peak_position": 4, "peak_notional": 4000, "participation": 0.01, "turnover": 50.0}


@register_gate("coverage_floor")
def coverage_floor(inputs, params):  # registered in-process; never run here
    raise AssertionError("not run")


def _config(extra):
    return parse_alpha_config({"alpha": "obi_l1", "features": {"horizons": [1]},
                               "validation": {"extra_gates": extra}}, "alpha.yaml")


def test_a_house_gate_joins_gate_e_required_verdicts():
    cfg = _config({"coverage_floor": {"min": 0.9}})
    (gate,) = cfg.validation.extra_gates
    assert (gate.spec, gate.name, gate.fn, dict(gate.params)) == ("coverage_floor", "coverage_floor", coverage_floor,
                                                                  {"min": 0.9})
    ge = cfg.validation.gate_e
    assert ge.require_gates == ("A", "B", "C", "pool", "coverage_floor")
    args = {"alpha_id": "a", "code_hash": "h", "d_metrics": D_METRICS, "gate_d": GateD(limits={"max_position": 20}),
            "gate_e": ge, "approvers": ["jdoe"]}
    missing = evaluate_gate_e(**args, gate_rows=gate_rows("a", "h"))
    assert not missing.passed and any("gate coverage_floor: expected a passing verdict" in r for r in missing.reasons)
    failed = evaluate_gate_e(**args, gate_rows=gate_rows("a", "h") + gate_rows("a", "h", ("coverage_floor",), False,
                                                                                ts=10**18))
    assert not failed.passed and any("gate coverage_floor: expected the latest verdict" in r for r in failed.reasons)
    ok = evaluate_gate_e(**args, gate_rows=gate_rows("a", "h", ("A", "B", "C", "pool", "coverage_floor")))
    assert ok.passed, ok.reasons


def test_registry_refuses_governance_names_and_unknown_gates():
    with pytest.raises(GovernanceError, match="other than"):
        register_gate("pool")
    with pytest.raises(ConfigError, match=r"alpha.yaml: key 'validation.extra_gates.nope': expected a registered "
                                          r"gate \(one of \[.*'coverage_floor'.*\]: built in or in the entry-point group"):
        _config({"nope": {}})
    with pytest.raises(ConfigError, match=r"key 'validation.extra_gates': expected a mapping of gate"):
        _config(["coverage_floor"])
    assert resolve_gate("coverage_floor")[0] == "coverage_floor"


def test_a_headline_that_names_no_check_is_a_governance_error():
    """A house gate's `GateResult.from_checks` with a headline it has no check for names its checks (was a bare
    StopIteration from inside)."""
    from hft.alpha.gates.result import Check, GateResult

    checks = [Check.compare("flips_per_1k", 3.0, "<=", 50.0)]
    with pytest.raises(GovernanceError, match=r"gate max_flips: headline: expected the name of one of its checks "
                                              r"\['flips_per_1k'\], was 'flips'"):
        GateResult.from_checks("max_flips", checks, "flips", {}, {})
