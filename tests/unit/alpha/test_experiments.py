"""The experiment registry against the real (embedded) store: every trial counted once, code hashes that move
with the code and only with it, clean errors for unknown ids."""

from __future__ import annotations

import shutil
import statistics

import pytest

from hft.alpha.records import experiments as ex
from hft.alpha.records.experiments import ExperimentRegistry, FamilyStats, Trial, code_hash, new_experiment_id
from hft.core.errors import GovernanceError
from hft.recorder import alpha_audit
from hft.recorder.alpha_audit import AlphaAuditStore
from tests.git_repo import git, make_repo

T0 = 1_700_000_000_000_000_000


@pytest.fixture
def reg(store):
    """A registry on the session's shared store (chDB admits one data directory per process)."""
    return ExperimentRegistry(AlphaAuditStore(store.test_home, store=store))


def trial(eid: str, i: int, sharpe=0.1, *, family: str = "obi", alpha: str = "obi_l1", kind: str = "search",
          status: str = "ok", data_hash: str = "d1", t0: int = T0, **kw) -> Trial:
    metrics = {"n_obs": 500, **({} if sharpe is None else {"sharpe": sharpe})}
    return Trial(experiment_id=eid, alpha_id=alpha, family=family, version="1.0.0", trial=i, kind=kind,
                 params={"window": 10 + i}, metrics=metrics, code_hash="c0ffee", data_hash=data_hash, seed=42 + i,
                 status=status, started_ns=t0 + i * 1000, finished_ns=t0 + i * 1000 + 500, **kw)


def test_new_experiment_ids_are_readable_and_unique():
    a, b = new_experiment_id("obi_l1", "validate"), new_experiment_id("obi_l1", "validate")
    assert a != b
    assert a.startswith("obi_l1-validate-20") and a.count("-") == 3


def test_trial_round_trips_every_field(reg):
    t = trial("e-rt", 0, 0.25, host="h1", user="u1")
    t = Trial(**{**t.to_dict(), "metrics": {"sharpe": 0.25, "n_obs": 500, "period_returns": [0.1, -0.2, 0.05]},
                 "params": {"window": 10, "mode": "fast", "on": True}})
    [rid] = reg.record([t])
    assert rid == t.record_id and len(rid) == 32
    [back] = reg.trials(experiment_id="e-rt")
    assert back == t
    assert back.to_dict()["metrics"]["period_returns"] == [0.1, -0.2, 0.05]


def test_family_defaults_to_the_alpha_id():
    assert trial("e", 0, family="").family == "obi_l1"


def test_recording_a_trial_twice_does_not_duplicate_it(reg, store):
    ts = [trial("e-dup", i, 0.1 * i) for i in range(3)]
    ids1 = reg.record(ts)
    ids2 = reg.record(ts)
    ids3 = reg.record(ts[1:2])
    assert ids1 == ids2 and ids3 == ids1[1:2]
    assert [t.trial for t in reg.trials(experiment_id="e-dup")] == [0, 1, 2]
    assert store.count("audit.alpha_experiments") == 3
    assert reg.family_stats("obi").n_trials == 3


def test_family_stats_count_every_trial_and_the_sharpe_variance(reg):
    sharpes = [0.12, -0.05, 0.31, 0.02, 0.2]
    ok = [trial("e-fam-a", i, s) for i, s in enumerate(sharpes)]
    # a failed trial with a Sharpe, an errored one without, one with a non-finite Sharpe: all counted
    later = T0 + 10**6
    odd = [trial("e-fam-b", 0, -0.4, status="failed", t0=later), trial("e-fam-b", 1, None, status="error", t0=later),
           trial("e-fam-b", 2, float("nan"), status="failed", t0=later)]
    other = [trial("e-other", 0, 3.0, family="ofi", alpha="ofi"), trial("e-fam-c", 0, 9.0, data_hash="d2")]
    reg.record(ok + odd + other)
    st = reg.family_stats("obi", data_hash="d1")
    assert isinstance(st, FamilyStats)
    assert st.n_trials == 8
    finite = [*sharpes, -0.4]
    assert st.sharpes == finite
    assert st.var_sharpe == pytest.approx(statistics.variance(finite), rel=1e-12)
    all_d = reg.family_stats("obi")
    assert all_d.n_trials == 9 and all_d.var_sharpe == pytest.approx(statistics.variance([*finite, 9.0]))
    single = reg.family_stats("ofi")
    assert (single.n_trials, single.var_sharpe, single.sharpes) == (1, 0.0, [3.0])
    assert reg.family_stats("nobody") == FamilyStats(0, 0.0, [])


def test_trials_filter_and_order(reg):
    reg.record([trial("e-f2", 1, t0=T0 + 10), trial("e-f2", 0, t0=T0 + 10),
                trial("e-f1", 0, kind="validate", t0=T0), trial("e-f3", 0, alpha="ofi", family="ofi", t0=T0 + 5)])
    assert [(t.experiment_id, t.trial) for t in reg.trials()] == [("e-f1", 0), ("e-f3", 0), ("e-f2", 0),
                                                                   ("e-f2", 1)]
    assert [t.experiment_id for t in reg.trials(kind="validate")] == ["e-f1"]
    assert {t.experiment_id for t in reg.trials(alpha_id="ofi")} == {"e-f3"}
    assert {t.experiment_id for t in reg.trials(family="obi", kind="search")} == {"e-f2"}
    assert reg.trials(data_hash="nope") == []
    assert reg.trials(experiment_id="x' OR '1'='1") == []  # quoted, not injected


def test_experiments_summaries_newest_first(reg):
    reg.record([trial("e-old", 0, 0.1, kind="validate", t0=T0),
                trial("e-new", 0, 0.3, t0=T0 + 10**9), trial("e-new", 1, 0.7, t0=T0 + 10**9),
                trial("e-new", 2, float("nan"), status="failed", t0=T0 + 10**9),
                trial("e-none", 0, None, status="error", alpha="ofi", family="ofi", t0=T0 + 2 * 10**9)])
    rows = reg.experiments()
    assert [r["experiment_id"] for r in rows] == ["e-none", "e-new", "e-old"]
    new = rows[1]
    assert (new["alpha_id"], new["kind"], new["n_trials"], new["n_ok"]) == ("obi_l1", "search", 3, 2)
    assert new["best_sharpe"] == pytest.approx(0.7) and new["best_trial"] == 1
    assert new["started_ns"] == T0 + 10**9 and new["started"].startswith("2023-11-14T22:13:2")
    assert rows[0]["best_sharpe"] is None and rows[0]["best_trial"] is None
    assert [r["experiment_id"] for r in reg.experiments(kind="validate")] == ["e-old"]
    assert [r["experiment_id"] for r in reg.experiments(alpha_id="obi_l1", limit=1)] == ["e-new"]
    with pytest.raises(GovernanceError, match="limit"):
        reg.experiments(limit=0)


def test_get_unknown_experiment_is_a_clean_error(reg):
    reg.record([trial("e-known", 0)])
    assert len(reg.get("e-known")) == 1
    with pytest.raises(GovernanceError, match="unknown experiment id 'e-missing'") as exc:
        reg.get("e-missing")
    assert exc.value.fields["experiment_id"] == "e-missing" and exc.value.hint


@pytest.mark.parametrize("change, match", [
    ({"status": "maybe"}, "status: expected one of"),
    ({"trial": -1}, "trial: expected an integer >= 0"),
    ({"seed": 1.5}, "seed: expected an integer"),
    ({"experiment_id": ""}, "experiment_id: expected a non-empty string"),
    ({"metrics": [1, 2]}, "metrics: expected a dict"),
])
def test_a_bad_trial_is_refused_and_nothing_is_written(reg, change, match):
    good = trial("e-bad", 0)
    bad = Trial(**{**good.to_dict(), "trial": 1, **change})
    with pytest.raises(GovernanceError, match=match):
        reg.record([good, bad])
    assert reg.trials(experiment_id="e-bad") == []


def test_a_trial_in_the_wal_but_not_yet_loaded_still_counts(reg, store):
    t = trial("e-walonly", 0, 0.5, family="walfam")
    alpha_audit.write_records(ex.TOPIC, [t.to_record()], home=store.test_home)  # the store load "failed"
    assert reg.family_stats("walfam").n_trials == 1


# --- code_hash ------------------------------------------------------------------------------------------------

@pytest.fixture
def repo(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    r = tmp_path / "repo"
    make_repo(r, {"alphas/a1/alpha.py": "x = 1\n", "lib/core.py": "y = 2\n", "other.py": "z = 3\n",
                  ".gitignore": "__pycache__/\n"})
    return r


def test_code_hash_of_a_clean_checkout_is_the_commit(repo):
    paths = [repo / "alphas" / "a1", repo / "lib"]
    h = code_hash(paths)
    assert h == git(repo, "rev-parse", "HEAD")[:12]
    assert code_hash(paths) == h


def test_code_hash_moves_with_changes_in_the_paths_only(repo):
    paths = [repo / "alphas" / "a1", repo / "lib"]
    clean = code_hash(paths)
    (repo / "other.py").write_text("z = 4\n")  # outside the path set
    assert code_hash(paths) == clean
    (repo / "lib" / "__pycache__").mkdir()
    (repo / "lib" / "__pycache__" / "core.cpython-311.pyc").write_bytes(b"\0\1")  # ignored
    assert code_hash(paths) == clean
    f = repo / "alphas" / "a1" / "alpha.py"
    f.write_text("x = 2\n")
    d1 = code_hash(paths)
    assert d1.startswith(clean + "+dirty.") and len(d1) == len(clean) + len("+dirty.") + 10
    assert code_hash(paths) == d1  # stable while nothing changes
    f.write_text("x = 3\n")
    d2 = code_hash(paths)
    assert d2 != d1 and d2.startswith(clean + "+dirty.")
    f.write_text("x = 2\n")
    assert code_hash(paths) == d1  # content, not time
    f.write_text("x = 1\n")
    assert code_hash(paths) == clean
    (repo / "lib" / "new.py").write_text("n = 1\n")  # untracked file in the path set
    u1 = code_hash(paths)
    assert u1.startswith(clean + "+dirty.")
    (repo / "lib" / "new.py").write_text("n = 2\n")
    assert code_hash(paths) not in (u1, clean)
    (repo / "lib" / "new.py").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "two")
    assert code_hash(paths) == git(repo, "rev-parse", "HEAD")[:12] != clean


def test_code_hash_outside_git_hashes_the_content(tmp_path, monkeypatch):
    d = tmp_path / "plain"
    d.mkdir()
    (d / "a.py").write_text("a = 1\n")
    h = code_hash([d])
    assert h.startswith("nogit.") and code_hash([d]) == h
    (d / "a.py").write_text("a = 2\n")
    assert code_hash([d]) != h
    # no git binary at all: still a hash, never an exception
    monkeypatch.setattr(ex.shutil, "which", lambda name: None)
    assert code_hash([d]).startswith("nogit.")


def test_code_hash_without_git_binary_inside_a_checkout(repo, monkeypatch):
    monkeypatch.setattr(ex.shutil, "which", lambda name: None)
    h = code_hash([repo / "lib"])
    assert h.startswith("nogit.") and h == code_hash([repo / "lib"])


def test_code_hash_needs_a_path():
    with pytest.raises(GovernanceError, match="at least one path"):
        code_hash([])


def test_trials_and_family_stats_print_without_their_series():
    """A notebook printing trials or a family's statistics sees their scalars, not one float per period / trial."""
    t = trial("e1", 0)
    t = Trial(**{**t.to_dict(), "metrics": {"sharpe": 0.25, "n_obs": 500, "period_returns": [0.1] * 10_000}})
    assert "period_returns" not in repr(t) and "'sharpe': 0.25" in repr(t) and len(repr(t)) < 300
    fs = FamilyStats(n_trials=5000, var_sharpe=0.01, sharpes=[0.1] * 5000)
    assert repr(fs) == "FamilyStats(n_trials=5000, var_sharpe=0.01)"
    r = repr(ExperimentRegistry(AlphaAuditStore()))
    assert r == "ExperimentRegistry(sink=AlphaAuditStore(home='$HFT_HOME', store=per call))"
