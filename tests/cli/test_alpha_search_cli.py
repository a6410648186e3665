"""`hft alpha search` through the real console script: JSON, resume, compare, bad specs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

SPEC = {"search": "cli", "alphas": {"obi_l1": {"smooth": [1, 20]}, "ofi": {"window": [10]}},
        "subset_sizes": [1, 2], "weights": ["equal", "ic"],
        "features": {"levels": 1, "sampling": "1s", "horizons": ["1s", "10s"]}, "target": "10s",
        "bucket": "2m", "top_k": 3}


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    from hft.data.importing import generate_day

    out = tmp_path_factory.mktemp("search_cli_day")
    return Path(generate_day(out, seed=3, symbol="SYNTH", date="2024-01-02", messages=20000, levels=5,
                             zip_output=True)["zip_path"])


def test_search_json_resume_and_compare(hft, day, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    env = {"HFT_HOME": str(tmp_path / "home")}
    first = hft("alpha", "search", str(spec), "--data", str(day), "--workers", "1", "--max-trials", "2", "--json",
                env=env)
    assert first.code == 0, first.err
    a = first.json()
    assert a["new_trials"] == 2
    second = hft("alpha", "search", str(spec), "--data", str(day), "--workers", "1", "--json", env=env)
    b = second.json()
    assert b["experiment_id"] == a["experiment_id"] and b["resumed_trials"] == 2
    assert b["trials"] == 2 + 1 + 2 * 1 * 2 and len(b["top"]) == 3  # 3 singletons + 2 pairs x 2 schemes
    cmp = hft("alpha", "experiments", "compare", b["experiment_id"], "--json", env=env)
    assert cmp.code == 0, cmp.err
    assert b["experiment_id"] in cmp.out


def test_search_on_two_days(hft, day, tmp_path):
    """Two generated days: the trials are scored on both days' features (each day computed alone); a different
    experiment than on one day (the data hash covers both)."""
    from hft.data.importing import generate_day

    day2 = Path(generate_day(tmp_path / "d2", seed=4, symbol="SYNTH", date="2024-01-03", messages=20000, levels=5,
                             zip_output=True)["zip_path"])
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "search": "cli2", "subset_sizes": [1]}))
    env = {"HFT_HOME": str(tmp_path / "home")}
    one = hft("alpha", "search", str(spec), "--data", str(day), "--workers", "1", "--json", env=env)
    two = hft("alpha", "search", str(spec), "--data", str(day), "--data", str(day2), "--workers", "1", "--json",
              env=env)
    assert one.code == 0 and two.code == 0, one.err + two.err
    a, b = one.json(), two.json()
    assert b["new_trials"] == b["trials"] == 3 and b["experiment_id"] != a["experiment_id"]


def test_empty_grid_is_a_config_error_and_writes_nothing(hft, day, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "alphas": {"obi_l1": {"smooth": []}}}))
    home = tmp_path / "home"
    r = hft("alpha", "search", str(spec), "--data", str(day), env={"HFT_HOME": str(home)})
    assert r.code == 11
    assert "alphas.obi_l1.smooth" in r.err and "non-empty list" in r.err and "Traceback" not in r.err
    assert not (home / "wal").exists()


@pytest.mark.parametrize("opt", ["--max-trials", "--workers"])
def test_negative_counts_are_refused_before_any_trial(hft, day, tmp_path, opt):
    """``--max-trials -3`` ran all trials but three (each counted by DSR / PBO); now refused up front."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    r = hft("alpha", "search", str(spec), "--data", str(day), opt, "-3", env={"HFT_HOME": str(tmp_path / "home")})
    assert r.code == 2 and opt in r.err and "Traceback" not in r.err
    assert not (tmp_path / "home").exists()  # nothing recorded


def test_trials_with_a_non_positive_sharpe_rank_by_sharpe(hft, day, tmp_path):
    """Their DSR (all near 0) grows with a larger negative Sharpe's variance term: ranked by it, a Sharpe of -1.7
    came before one of -0.2. Positive Sharpes first by DSR, then the others by Sharpe."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"search": "neg", "alphas": {"obi_l1": {"smooth": [1, 5, 50, 200]},
                                                               "ofi": {"window": [5, 50, 200]}},
                                    "subset_sizes": [1], "features": {"levels": 1, "sampling": "1s",
                                                                      "horizons": ["1s", "10s"]},
                                    "target": "10s", "bucket": "2m", "top_k": 10}))
    r = hft("alpha", "search", str(spec), "--data", str(day), "--workers", "1", "--json",
            env={"HFT_HOME": str(tmp_path / "home")})
    assert r.code == 0, r.err
    top = r.json()["top"]
    pos = [t for t in top if t["sharpe_oos"] > 0]
    assert top[:len(pos)] == pos
    rest = [t["sharpe_oos"] for t in top[len(pos):]]
    assert len(rest) >= 2 and rest == sorted(rest, reverse=True), [(t["sharpe_oos"], t["dsr"]) for t in top]


def test_search_table_says_its_sharpes_are_per_bucket_and_one_worker_is_singular(hft, day, tmp_path):
    """The leaderboard says its Sharpe columns are per bucket of the spec (2 min here) and not annualised; the
    throughput line says "1 worker", not "1 workers"."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "search": "cli_words", "subset_sizes": [1]}))
    r = hft("alpha", "search", str(spec), "--data", str(day), "--workers", "1",
            env={"HFT_HOME": str(tmp_path / "home"), "COLUMNS": "200"})
    assert r.code == 0, r.err
    assert "Sharpe per 2 min bucket of returns" in r.out and "not annualised" in r.out, r.out
    assert "1 workers" not in r.out
    assert "1 worker:" in r.out or "trials/min" not in r.out, r.out
    # the title names the key the rows were sorted by ("by deflated Sharpe" only when DSR ranked them)
    j = hft("alpha", "search", str(spec), "--data", str(day), "--workers", "1", "--json",
            env={"HFT_HOME": str(tmp_path / "home")}).json()  # resumed: the same trials
    assert f"top {len(j['top'])} by {j['ranked_by']}" in " ".join(r.out.split()), r.out


def test_one_trial_is_one_trial(hft, day, tmp_path):
    """A search of one trial says "1 trial recorded" and "has 1 trial", as a person writes it."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "search": "cli_one", "alphas": {"obi_l1": {"smooth": [1]}},
                                    "subset_sizes": [1]}))
    r = hft("alpha", "search", str(spec), "--data", str(day), "--workers", "1",
            env={"HFT_HOME": str(tmp_path / "home"), "COLUMNS": "200"})
    assert r.code == 0, r.err
    assert ": 1 trial recorded (1 new, 0 resumed)" in r.out and "has 1 trial\n" in r.out, r.out
    assert not re.search(r"(?<![\d.])1 trials\b", r.out), r.out  # (a rate such as "379.1 trials/min" is fine)
