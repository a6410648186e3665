"""`hft alpha experiments list | show | compare`, end to end in subprocesses with their own $HFT_HOME.

Until the root app wires the group as `hft alpha experiments`, the commands run through the real entry point
(`hft.cli.app.main`, the error → exit-code table) with the sub-app attached as `experiments`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest

from hft.cli import alpha as alpha_cli

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

WIRED = any(g.name == "experiments" for g in alpha_cli.app.registered_groups)
HARNESS = ("import sys; from hft.cli.app import app, main; from hft.cli.alpha_experiments import app as ex; "
           "app.add_typer(ex, name='experiments'); sys.exit(main(['experiments', *sys.argv[1:]]))")

SEED = textwrap.dedent('''
    import sys
    from pathlib import Path
    from hft.alpha.records.experiments import ExperimentRegistry, Trial
    from hft.recorder.alpha_audit import AlphaAuditStore

    T0 = 1_700_000_000_000_000_000

    def t(eid, i, sharpe, kind, t0, alpha="obi_l1", status="ok"):
        return Trial(eid, alpha, "obi", "1.0.0", i, kind, {"window": 5 * (i + 1)},
                     {"sharpe": sharpe, "n_obs": 400, "ic": 0.01 * i, "period_returns": [0.1, -0.05, 0.02]},
                     "abc123", "d1", 7, status, t0 + i, t0 + i + 10)

    reg = ExperimentRegistry(AlphaAuditStore(Path(sys.argv[1])))
    reg.record([t("exp-validate", 0, 0.15, "validate", T0)])
    reg.record([t("exp-search", 0, 0.05, "search", T0 + 10**9), t("exp-search", 1, 0.42, "search", T0 + 10**9),
                t("exp-search", 2, float("nan"), "search", T0 + 10**9, status="failed")])
    reg.record([t("exp-ofi", 0, 0.3, "validate", T0 + 2 * 10**9, alpha="ofi")])
    reg.record([t("exp-mix", i, 0.1, "search", T0 - 10**9, alpha=a) for i, a in enumerate(["ofi", "obi_l1",
                                                                                            "obi_l1+ofi"])])
''')


def _strict(text: str):
    """json.loads that refuses NaN / Infinity (the output must be valid JSON)."""
    def bad(name: str):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=bad)


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def exp(home, hft):
    """Run `hft alpha experiments ARGS…` with HFT_HOME=home (.code, .out, .err)."""
    env = {"HFT_HOME": str(home), "COLUMNS": "200"}

    def run(*args: str):
        if WIRED:
            return hft("alpha", "experiments", *args, env=env)
        p = subprocess.run([sys.executable, "-c", HARNESS, *args], capture_output=True, text=True, timeout=300,
                           env={**{k: v for k, v in os.environ.items() if k != "HFT_DEBUG"}, **env})
        return SimpleNamespace(code=p.returncode, out=p.stdout, err=p.stderr)
    return run


@pytest.fixture
def seeded(home):
    p = subprocess.run([sys.executable, "-c", SEED, str(home)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return home


def test_list_on_an_empty_registry(exp):
    r = exp("list", "--json")
    assert r.code == 0, r.err
    assert _strict(r.out) == {"ok": True, "count": 0, "experiments": []}
    r = exp("list")
    assert r.code == 0 and "no experiments recorded" in r.out


def test_list_filters_and_limits(exp, seeded):
    r = exp("list", "--json")
    assert r.code == 0, r.err
    rows = _strict(r.out)["experiments"]
    assert [x["experiment_id"] for x in rows] == ["exp-ofi", "exp-search", "exp-validate", "exp-mix"]
    search = rows[1]
    assert (search["n_trials"], search["n_ok"], search["best_trial"]) == (3, 2, 1)
    assert search["best_sharpe"] == pytest.approx(0.42)
    assert [x["experiment_id"] for x in _strict(exp("list", "--kind", "search", "--json").out)["experiments"]] \
        == ["exp-search", "exp-mix"]
    assert [x["experiment_id"] for x in _strict(exp("list", "--alpha", "obi_l1", "--limit", "1",
                                                    "--json").out)["experiments"]] == ["exp-search"]
    human = exp("list")
    assert human.code == 0 and "exp-search" in human.out and "0.42" in human.out


def test_show_an_experiment(exp, seeded):
    r = exp("show", "exp-search", "--json")
    assert r.code == 0, r.err
    doc = _strict(r.out)
    assert (doc["alpha_id"], doc["kind"], doc["n_trials"], doc["best_trial"]) == ("obi_l1", "search", 3, 1)
    assert [t["trial"] for t in doc["trials"]] == [0, 1, 2]
    assert doc["trials"][2]["metrics"]["sharpe"] is None  # NaN → null: valid JSON
    assert doc["trials"][0]["metrics"]["period_returns"] == [0.1, -0.05, 0.02]
    assert doc["code_hashes"] == ["abc123"] and doc["data_hashes"] == ["d1"]
    human = exp("show", "exp-search")
    assert human.code == 0 and "exp-search" in human.out and "window=10" in human.out


def test_list_and_show_name_the_same_alphas(exp, seeded):
    """A search's trials score several alphas and their combinations: list and show both name every member
    (list took any one trial's alpha, show the first's, so they disagreed)."""
    listed = {x["experiment_id"]: x["alpha_id"] for x in _strict(exp("list", "--json").out)["experiments"]}
    assert listed["exp-mix"] == "obi_l1, ofi" and listed["exp-search"] == "obi_l1"
    for eid in ("exp-mix", "exp-search", "exp-ofi"):
        assert _strict(exp("show", eid, "--json").out)["alpha_id"] == listed[eid]


def test_compare_experiments_and_single_trials(exp, seeded):
    r = exp("compare", "exp-validate", "exp-search:1", "exp-ofi", "--json")
    assert r.code == 0, r.err
    doc = _strict(r.out)
    assert [(t["experiment_id"], t["trial"]) for t in doc["trials"]] == [
        ("exp-validate", 0), ("exp-search", 1), ("exp-ofi", 0)]
    assert doc["best"] == {"experiment_id": "exp-search", "trial": 1, "value": pytest.approx(0.42)}
    assert [t["best"] for t in doc["trials"]] == [False, True, False]
    assert doc["metrics"][:2] == ["sharpe", "n_obs"] and "period_returns" not in doc["metrics"]
    low = _strict(exp("compare", "exp-search", "--lower-is-better", "--json").out)
    assert low["best"]["trial"] == 0 and low["n_trials"] == 3
    top = _strict(exp("compare", "exp-search", "exp-validate", "--top", "2", "--by", "ic", "--json").out)
    assert [(t["experiment_id"], t["trial"]) for t in top["trials"]] == [("exp-search", 2), ("exp-search", 1)]
    human = exp("compare", "exp-validate", "exp-search")
    assert human.code == 0 and "best: exp-search:1" in human.out


@pytest.mark.parametrize("args, msg", [
    (("show", "nope"), "unknown experiment id 'nope'"),
    (("compare", "exp-search", "nope"), "unknown experiment id 'nope'"),
    (("compare", "exp-search:99"), "unknown trial 'exp-search:99'"),
])
def test_unknown_ids_are_clean_errors(exp, seeded, args, msg):
    r = exp(*args)
    assert r.code == 16, r.err
    assert f"error: {msg}" in r.err and "hint:" in r.err and "Traceback" not in r.err
    j = exp(*args, "--json")
    assert j.code == 16 and _strict(j.out)["ok"] is False and msg in _strict(j.out)["message"]


def test_the_module_imports_nothing_heavy():
    p = subprocess.run([sys.executable, "-X", "importtime", "-c", "import hft.cli.alpha_experiments"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in p.stderr.splitlines() if "|" in line}
    assert not loaded & {"numpy", "polars", "numba", "chdb", "rich"}


def test_compare_in_a_narrow_terminal_is_side_by_side(seeded):
    """Under an 80-column terminal four trials do not fit as a table (every column was squeezed to a letter):
    they are printed side by side, one column per trial, every field and value whole (at 70 columns the ids
    would fold side by side: records instead, see tests/unit/cli/test_tables.py)."""
    from tests.cli.pty_run import run_pty

    r = run_pty("alpha", "experiments", "compare", "exp-validate", "exp-search", env={"HFT_HOME": str(seeded)},
                columns=80)
    assert r.code == 0 and "Traceback" not in r.text, r.describe()
    lines = r.text.splitlines()
    assert max(len(ln) for ln in lines) <= 80, r.describe()

    def cells(line: str, bar: str) -> list[str]:
        return [c.strip() for c in line.split(bar)[1:-1]]

    header = next(ln for ln in lines if "┃" in ln and "1" in ln)
    assert cells(header, "┃") == ["", "1", "2", "3", "4"], r.describe()
    sharpe = next(ln for ln in lines if ln.startswith("│ sharpe "))
    assert cells(sharpe, "│") == ["sharpe", "0.15", "0.05", "0.42", "nan"], r.describe()
    assert any(ln.startswith("│ n_obs ") for ln in lines) and "best: exp-search:1" in r.text, r.describe()
