"""`hft.alpha.governance.validate.validate` in process: trials recorded before the decision, audit rows, errors, real data.

Tests that touch the store use the session's shared store (chDB admits one data path per process).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hft.alpha.governance.validate import validate
from hft.core.errors import DataValidationError, GovernanceError
from hft.data.sources import FILES


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    from hft.data.importing import generate_day

    out = tmp_path_factory.mktemp("validate_inproc")
    res = generate_day(out, seed=5, symbol="SYNTH", date="2024-01-02", messages=20_000, levels=2,
                       zip_output=False)
    return Path(res["message_path"])


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HFT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def registry(store):
    from hft.alpha.records.experiments import ExperimentRegistry
    from hft.recorder.alpha_audit import AlphaAuditStore

    return ExperimentRegistry(AlphaAuditStore(store.test_home, store=store))


def test_dry_run_writes_nothing_and_is_json_safe(day, home, tmp_path):
    steps = []
    card = validate("obi_l1", [day], source=FILES, record=False, plots_dir=tmp_path / "p",
                    progress=lambda s, i, n: steps.append((s, i, n)))
    assert not card.recorded
    assert [s for s, _, _ in steps] == ["load", "features", "gate A", "gate B", "house gates", "variants",
                                        "plots", "record", "gate C", "audit"]
    assert set(card.timings) == {s for s, _, _ in steps}
    d = card.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["passed"] == card.passed
    assert [g["gate"] for g in d["gates"]] == ["A", "B", "C"]
    c = card.gate("C")
    assert c.metrics["n_trials"] == len(card.variants) == 2  # base + smooth+1 (smooth-1 = 0 is refused)
    assert [v["name"] for v in c.metrics["sensitivity_refused"]] == ["smooth-1"]
    assert len(card.plots) == 4 and all(Path(p).parent == tmp_path / "p" for p in card.plots)
    assert not (home / "wal").exists()


def test_record_counts_this_run_before_deciding(day, home, registry, store, tmp_path):
    card = validate("obi_l1", [day], source=FILES, registry=registry, plots_dir=tmp_path / "p1")
    assert card.recorded
    trials = registry.trials(experiment_id=card.experiment_id)
    assert [t.trial for t in trials] == [0, 1]
    assert trials[0].params == {"smooth": 1} and trials[0].family == "obi_l1"
    assert trials[0].metrics["sharpe"] == pytest.approx(card.variants[0]["sharpe"])
    assert len(trials[0].metrics["period_returns"]) == card.gate("C").metrics["n_obs"]
    assert card.gate("C").metrics["n_trials"] == 2
    rows = store.query("SELECT gate, passed, experiment_id, data_hash FROM audit.alpha_gate_decisions "
                       "ORDER BY gate").dicts()
    assert [(r["gate"], bool(r["passed"])) for r in rows] == [(g.gate, g.passed) for g in card.gates]
    assert {r["experiment_id"] for r in rows} == {card.experiment_id}
    assert {r["data_hash"] for r in rows} == {card.data_hash}

    # a second run: DSR counts all four trials; PBO counts the identical recorded columns once
    again = validate("obi_l1", [day], source=FILES, registry=registry, plots_dir=tmp_path / "p2")
    c = again.gate("C").metrics
    assert c["n_trials"] == 4
    fam = registry.family_stats("obi_l1")
    assert c["var_sharpe"] == pytest.approx(fam.var_sharpe)
    assert c["recorded_trials_in_pbo"] == 2 and c["pbo_trials"] == 2


def test_errors_write_no_rows(day, home, registry, store, tmp_path):
    with pytest.raises(GovernanceError, match="unknown alpha"):
        validate("no_such_alpha", [day], source=FILES, registry=registry)
    with pytest.raises(DataValidationError, match="expected a market data file"):
        validate("obi_l1", [tmp_path / "missing.csv"], source=FILES, registry=registry)
    cfg = tmp_path / "short.yaml"
    cfg.write_text("alpha: obi_l1\nfeatures:\n  levels: 1\nvalidation:\n  gate_c:\n    period: 1h\n")
    with pytest.raises(DataValidationError, match="periods"):
        validate("obi_l1", [day], source=FILES, config_path=cfg, registry=registry)
    for table in ("audit.alpha_gate_decisions", "audit.alpha_experiments"):
        assert store.query(f"SELECT count() FROM {table}").rows[0][0] == 0


@pytest.mark.shared_data
def test_obi_l1_on_lobster_goog(shared_data, home, tmp_path):
    zip_path = shared_data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"
    card = validate("obi_l1", [zip_path], source=FILES, record=False, plots_dir=tmp_path / "p")
    a, b, c = card.gates
    assert a.passed, a.reasons  # honest, deterministic, cheap
    assert b.passed, b.reasons  # L1 imbalance predicts the next 10 mid moves on GOOG (IC ~ 0.1)
    assert b.metrics["horizons"]["fwd_ret_10"]["all"]["spearman"]["mean"] > 0.05
    # crossing half the spread on every position change costs more than the imbalance earns
    assert c.metrics["sharpe_gross"] > c.metrics["sharpe"]
    assert len(card.plots) == 4


def test_scorecard_prints_its_verdict_in_one_line_and_names_unknown_gates(day, home):
    """The scorecard (and its gates) print as the verdict, not the gates' every metric; `gate()` of a gate it
    does not have is a GovernanceError naming the ones it has (was a bare StopIteration)."""
    card = validate("obi_l1", [day], source=FILES, record=False, plots=False)
    r = repr(card)
    assert r.startswith("Scorecard(alpha_id='obi_l1'") and "\n" not in r and len(r) < 400, r
    assert f"passed={card.passed}" in r and "A pass" in r and "cuts" not in r
    c = card.gate("C")
    assert "metrics=" not in repr(c) and "checks=" not in repr(c) and "reasons=" in repr(c)
    with pytest.raises(GovernanceError, match=r"expected a gate in \['A', 'B', 'C'\], was 'Z'"):
        card.gate("Z")
