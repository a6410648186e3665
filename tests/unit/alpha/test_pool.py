"""`hft alpha pool`: correlation matrix, max |corr|, marginal IC after orthogonalising, clusters, the audit row."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from lifecycle_helpers import Recorder, make_day, make_research_root, simple_promotion

from hft.alpha.governance.pool import record_pool, run_pool
from hft.alpha.governance.promotion import write_promotion
from hft.core.errors import GovernanceError
from hft.data.sources import FILES


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("pool")
    root = make_research_root(base, alphas=("obi_l1", "ofi", "microprice_dev", "trade_sign_flow"))
    return SimpleNamespace(day=make_day(base / "day", seed=5), root=root, base=base)


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("HFT_HOME", str(tmp_path / "home"))


def test_matrix_and_redundant_candidate(env, tmp_path):
    r = run_pool("toy_obi", [env.day], code_hash="h", source=FILES, root=env.root, promotions_root=tmp_path,
                 pool_ids=["obi_l1", "ofi", "microprice_dev"])
    assert r.ids == ["toy_obi", "microprice_dev", "obi_l1", "ofi"]
    k = len(r.ids)
    for i in range(k):
        assert r.corr[i][i] == 1.0
        for j in range(k):
            assert r.corr[i][j] == r.corr[j][i]
            assert -1.0 <= r.corr[i][j] <= 1.0
    # toy_obi is obi_l1 under another name: |corr| = 1, it adds nothing
    assert r.corr[0][2] == pytest.approx(1.0)
    assert r.max_abs_corr == pytest.approx(1.0) and r.max_corr_with == "obi_l1"
    assert not r.passed and any(x.startswith("max |corr|") for x in r.reasons)
    assert ["obi_l1", "toy_obi"] in [c for c in r.clusters if "toy_obi" in c] or \
        any({"obi_l1", "toy_obi"} <= set(c) for c in r.clusters)
    # orthogonalised against itself, nothing is left
    assert r.marginal_ic is None or abs(r.marginal_ic) < 1e-3
    assert any(x.startswith("marginal IC") for x in r.reasons)


def test_pool_from_active_promotions(env, tmp_path):
    # ofi and trade_sign_flow promoted (active); obi_l1 rolled back: not in the pool
    from hft.alpha.governance.promotion import append_event

    for a in ("ofi", "trade_sign_flow", "obi_l1"):
        p = simple_promotion(a, params={})
        if a == "obi_l1":
            p = append_event(p, "rollback", ts=p.promoted_ts + 1, actor="x", reasons=["kill"])
        write_promotion(p, root=tmp_path)
    r = run_pool("toy_obi", [env.day], code_hash="h", source=FILES, root=env.root, promotions_root=tmp_path)
    assert r.pool == ["ofi", "trade_sign_flow"]
    assert r.max_abs_corr is not None and r.max_abs_corr < 0.7
    assert r.ic is not None and r.ic > 0 and r.marginal_ic is not None
    assert r.passed == (r.marginal_ic >= 0.005)
    assert r.n_rows > 1000


def test_empty_pool_and_thresholds(env, tmp_path):
    r = run_pool("toy_obi", [env.day], code_hash="h", source=FILES, root=env.root, promotions_root=tmp_path)
    assert r.pool == [] and r.max_abs_corr is None and r.clusters == []
    assert r.marginal_ic == pytest.approx(r.ic, abs=1e-9)  # the residual of an intercept-only fit is the signal
    assert r.passed == (r.ic >= 0.005)
    strict = run_pool("toy_obi", [env.day], code_hash="h", source=FILES, root=env.root, promotions_root=tmp_path,
                      min_marginal_ic=1.0)
    assert not strict.passed and strict.thresholds["min_marginal_ic"] == 1.0
    loose = run_pool("toy_obi", [env.day], code_hash="h", source=FILES, root=env.root, promotions_root=tmp_path,
                     pool_ids=["obi_l1"], max_corr=1.0)
    assert not any(x.startswith("max |corr|") for x in loose.reasons)
    with pytest.raises(GovernanceError, match="max_corr"):
        run_pool("toy_obi", [env.day], code_hash="h", source=FILES, root=env.root, max_corr=1.5)
    with pytest.raises(GovernanceError, match="unknown alpha"):
        run_pool("nope", [env.day], code_hash="h", source=FILES, root=env.root)


def test_record_pool_row(env, tmp_path):
    r = run_pool("toy_obi", [env.day], code_hash="h-7", source=FILES, root=env.root, promotions_root=tmp_path,
                 pool_ids=["ofi"])
    rec = Recorder()
    ids = record_pool(r, run_id="run-1", writer=rec.gates)
    assert len(ids) == 1
    (topic, rows), = rec.calls
    row = rows[0]
    assert topic == "audit.alpha_gate_decisions"
    assert (row.gate, row.alpha_id, row.code_hash, row.passed, row.metric) == ("pool", "toy_obi", "h-7", r.passed,
                                                                              "marginal_ic")
    assert row.thresholds == {"max_corr": 0.7, "min_marginal_ic": 0.005}
    assert row.metrics["corr"] == r.corr and not math.isnan(row.value)
    row.to_record()  # the audit module accepts it
