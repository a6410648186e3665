"""Search spec parsing and deterministic trial enumeration."""

from __future__ import annotations

import pytest

from hft.core.errors import ConfigError, GovernanceError

BASE = {"search": "t", "alphas": {"obi_l1": {"smooth": [1, 5]}, "ofi": {"window": [10, 20, 30]}},
        "subset_sizes": [1, 2], "weights": ["equal", "ic"],
        "features": {"levels": 1, "sampling": "1s", "horizons": ["1s"]}}


def test_enumeration_is_deterministic_and_counted(search_engine):
    spec = search_engine.parse_spec(BASE)
    trials = search_engine.enumerate_trials(spec)
    # singletons: 2 + 3 (one weighting each); pairs: 2 x 3 grid x 2 schemes
    assert len(trials) == 2 + 3 + 12
    assert trials == search_engine.enumerate_trials(search_engine.parse_spec(BASE))
    assert len({t.seed for t in trials}) == len(trials)
    assert trials[0].members == (("obi_l1", (("smooth", 1),)),)
    assert trials[-1].members == (("obi_l1", (("smooth", 5),)), ("ofi", (("window", 30),)))
    assert trials[-1].weights == "ic"


def test_experiment_id_is_the_resume_key(search_engine):
    a = search_engine.parse_spec(BASE)
    b = search_engine.parse_spec({**BASE, "top_k": 3})  # display only: same experiment
    c = search_engine.parse_spec({**BASE, "seed": 8})
    assert search_engine.experiment_id_for(a, "d1") == search_engine.experiment_id_for(b, "d1")
    assert search_engine.experiment_id_for(a, "d1") != search_engine.experiment_id_for(c, "d1")
    assert search_engine.experiment_id_for(a, "d1") != search_engine.experiment_id_for(a, "d2")


@pytest.mark.parametrize("patch, key", [
    ({"alphas": {"obi_l1": {"smooth": []}}}, "alphas.obi_l1.smooth"),  # empty grid
    ({"alphas": {"obi_l1": {"smooth": [0]}}}, "alphas.obi_l1.smooth"),  # invalid value for the alpha
    ({"alphas": {"obi_l1": {"nope": [1]}}}, "alphas.obi_l1.nope"),
    ({"alphas": {}}, "alphas"),
    ({"subset_sizes": [3]}, "subset_sizes"),
    ({"weights": ["best"]}, "weights"),
    ({"target": "5s"}, "target"),
    ({"oos_fraction": 1.0}, "oos_fraction"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_specs_name_the_key(search_engine, patch, key):
    with pytest.raises(ConfigError) as exc:
        search_engine.parse_spec({**BASE, **patch}, "spec.yaml")
    assert exc.value.fields.get("key") == key and "spec.yaml" in exc.value.message


def test_unknown_alpha_is_a_governance_error(search_engine):
    with pytest.raises(GovernanceError, match="nope_alpha"):
        search_engine.parse_spec({**BASE, "alphas": {"nope_alpha": {}}})


def test_shipped_example_spec_parses(search_engine):
    from hft.alpha.api.registry import repo_research_dir

    spec = search_engine.load_spec(repo_research_dir() / "combinatorial" / "specs" / "book_flow.yaml")
    assert len(search_engine.enumerate_trials(spec)) > 50


def test_the_trial_count_is_known_before_enumerating_and_bounded(search_engine):
    spec = search_engine.parse_spec(BASE)
    assert search_engine.count_trials(spec.alphas, list(spec.subset_sizes), len(spec.weights)) == \
        len(search_engine.enumerate_trials(spec))
    huge = {**BASE, "alphas": {"obi_l1": {"smooth": list(range(1, 3001))},
                               "ofi": {"window": list(range(1, 3001))}}}  # 9 million pairs x 2 schemes
    with pytest.raises(ConfigError, match=r"expected at most 1,000,000 trials, the spec enumerates 18,006,000"):
        search_engine.parse_spec(huge, "spec.yaml")
