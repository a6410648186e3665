"""`run_search`: every trial recorded, resumable, deflated leaderboard, same results on every backend."""

from __future__ import annotations

import pytest

SPEC = {"search": "unit", "alphas": {"obi_l1": {"smooth": [1, 20]}, "ofi": {"window": [10, 50]},
                                     "microprice_dev": {}},
        "subset_sizes": [1, 2], "weights": ["equal", "ic"],
        "features": {"levels": 1, "sampling": "1s", "horizons": ["1s", "10s"]}, "target": "10s",
        "bucket": "2m", "top_k": 5}


@pytest.fixture
def registry(store):
    from hft.alpha.records.experiments import ExperimentRegistry
    from hft.recorder.alpha_audit import AlphaAuditStore

    return ExperimentRegistry(AlphaAuditStore(store=store))


def _metrics(registry, exp_id):
    return {t.trial: t.metrics for t in registry.trials(experiment_id=exp_id)}


def test_search_records_every_trial_and_resumes(search_engine, small_day, registry):
    spec = search_engine.parse_spec(SPEC)
    n_total = len(search_engine.enumerate_trials(spec))
    first = search_engine.run_search(spec, [small_day], workers=1, registry=registry, max_trials=5)
    assert first["new_trials"] == 5 and first["trials"] == 5
    second = search_engine.run_search(spec, [small_day], workers=1, registry=registry)
    assert second["resumed_trials"] == 5 and second["new_trials"] == n_total - 5
    assert second["trials"] == n_total == second["family_trials"]
    third = search_engine.run_search(spec, [small_day], workers=1, registry=registry)
    assert third["new_trials"] == 0 and third["trials"] == n_total  # nothing re-run, nothing duplicated
    trials = registry.trials(experiment_id=second["experiment_id"])
    assert sorted(t.trial for t in trials) == list(range(n_total))
    assert all(t.kind == "search" and t.family == "search:unit" for t in trials)
    # the leaderboard is ranked by deflated Sharpe: DSR with the family's trial count and Sharpe variance
    from hft.alpha.research import stats

    top = second["top"]
    assert len(top) == 5
    pos = [r for r in top if r["sharpe_oos"] > 0]
    assert top[:len(pos)] == pos  # a positive Sharpe first, by DSR; then the rest by Sharpe
    assert [r["dsr"] for r in pos] == sorted((r["dsr"] for r in pos), reverse=True)
    rest = [r["sharpe_oos"] for r in top[len(pos):]]
    assert rest == sorted(rest, reverse=True)
    fam = registry.family_stats("search:unit")
    best = next(t for t in trials if t.trial == top[0]["trial"]).metrics
    assert top[0]["dsr"] == pytest.approx(stats.dsr(best["sharpe"], best["n_obs"], fam.n_trials, fam.var_sharpe,
                                                    best["skew"], best["kurtosis"]))
    assert second["pbo"] is not None and 0.0 <= second["pbo"]["pbo"] <= 1.0
    assert second["ranked_by"] == search_engine.ranked_by(
        [{**r, "dsr": float("nan") if r["dsr"] is None else r["dsr"]} for r in top])


def test_the_ranking_is_named_by_the_key_it_used(search_engine):
    """The leaderboard's title names what its rows were sorted by: "deflated Sharpe" only when they were."""
    nan = float("nan")

    def row(sr, dsr):
        return {"sharpe_oos": sr, "dsr": dsr}

    assert search_engine.ranked_by([row(1.2, 0.9), row(0.4, 0.7)]) == "deflated Sharpe"
    all_negative = search_engine.ranked_by([row(-0.2, 0.1), row(-1.7, 0.3)])
    assert "deflated Sharpe ranks positive Sharpes only" in all_negative and all_negative.startswith("Sharpe")
    assert search_engine.ranked_by([row(0.5, 0.8), row(-0.1, 0.2)]) == "deflated Sharpe, then Sharpe (<= 0)"
    assert search_engine.ranked_by([row(0.5, nan)]) == "Sharpe (deflated Sharpe undefined)"


def test_process_pool_gives_the_same_metrics(search_engine, small_day, registry):
    spec = search_engine.parse_spec({**SPEC, "search": "pool"})
    inline = search_engine.run_search(spec, [small_day], workers=1, registry=registry)
    inline_metrics = _metrics(registry, inline["experiment_id"])
    spec2 = search_engine.parse_spec({**SPEC, "search": "pool2"})
    pooled = search_engine.run_search(spec2, [small_day], workers=2, registry=registry)
    assert _metrics(registry, pooled["experiment_id"]) == inline_metrics


def test_auto_workers_stay_in_process_for_a_small_search(search_engine, small_day, registry):
    spec = search_engine.parse_spec({**SPEC, "search": "auto_a"})
    auto = search_engine.run_search(spec, [small_day], registry=registry)  # no workers: auto
    assert auto["workers"] == 1  # a few seconds of work does not pay for spawning a pool
    spec2 = search_engine.parse_spec({**SPEC, "search": "auto_b"})
    inline = search_engine.run_search(spec2, [small_day], workers=1, registry=registry)
    assert _metrics(registry, auto["experiment_id"]) == _metrics(registry, inline["experiment_id"])


def test_ray_backend_gives_the_same_metrics(search_engine, small_day, registry):
    pytest.importorskip("ray")
    spec = search_engine.parse_spec({**SPEC, "search": "ray_a"})
    local = search_engine.run_search(spec, [small_day], workers=1, registry=registry)
    spec2 = search_engine.parse_spec({**SPEC, "search": "ray_b"})
    ray_run = search_engine.run_search(spec2, [small_day], backend="ray", workers=2, registry=registry)
    assert ray_run["backend"] == "ray"
    assert _metrics(registry, ray_run["experiment_id"]) == _metrics(registry, local["experiment_id"])


def test_bad_backend(search_engine, small_day, registry):
    from hft.core.errors import GovernanceError

    spec = search_engine.parse_spec(SPEC)
    with pytest.raises(GovernanceError, match="backend"):
        search_engine.run_search(spec, [small_day], backend="spark", registry=registry)
