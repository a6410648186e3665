"""`hft alpha pool / promote / canary / status` through a real console entry point, in subprocesses.

Until the lead wires `hft.cli.alpha_lifecycle.register` into `hft alpha`, the commands are registered on the
`hft alpha` group at process start by a tiny launcher (the same call the wiring makes), then `hft.cli.app.main`
runs: the real error → exit-code table applies. HFT_HOME, HFT_PROMOTIONS_ROOT and HFT_RESEARCH_ROOT all point
into tmp_path: nothing is written into the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "alpha"))
from lifecycle_helpers import make_day, make_research_root

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

LAUNCH = ("import sys\n"
          "from hft.cli import alpha as a\n"
          "from hft.cli.alpha_lifecycle import register\n"
          "if 'promote' not in {c.name for c in a.app.registered_commands}:\n"
          "    register(a.app)\n"
          "from hft.cli.app import main\n"
          "main()\n")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("lifecycle_cli")
    root = make_research_root(base)
    day = make_day(base / "day", seed=41)
    newer = make_day(base / "newer", seed=42, date="2024-06-24")
    return {"base": base, "root": root, "day": day, "newer": newer}


def run(env, tmp_path, *args, timeout=300):
    e = {**os.environ, "HFT_HOME": str(tmp_path / "home"), "HFT_PROMOTIONS_ROOT": str(tmp_path / "promos"),
         "HFT_RESEARCH_ROOT": str(env["root"])}
    e.pop("HFT_DEBUG", None)
    p = subprocess.run([sys.executable, "-c", LAUNCH, *args], capture_output=True, text=True, env=e,
                       timeout=timeout, cwd=tmp_path)
    return p


def test_module_is_lazy():
    code = ("import sys, typer\n"
            "from hft.cli.alpha_lifecycle import register\n"
            "app = typer.Typer(); register(app)\n"
            "try:\n    app(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('numba', 'polars', 'numpy') if m in sys.modules))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "[]"
    assert all(c in p.stdout for c in ("pool", "promote", "canary", "status"))


def test_promote_refused_forced_canary_status(env, tmp_path):
    day = str(env["day"])
    # gates A-C were never recorded for this code: Gate E fails -> exit 17, no file
    p = run(env, tmp_path, "alpha", "promote", "toy_obi", "--data", day, "--approver", "jdoe", "--json")
    assert p.returncode == 17, p.stderr
    out = json.loads(p.stdout)
    assert out["ok"] is False and out["promoted"] is False and out["gate_d"]["passed"] is True
    assert any("gate E: gate A" in r for r in out["reasons"])
    err = [ln for ln in p.stderr.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "not promoted" in err[0]
    assert not (tmp_path / "promos").exists()

    # bad approver: governance error (16), nothing replayed or written
    p = run(env, tmp_path, "alpha", "promote", "toy_obi", "--data", day, "--approver", "Jane Doe")
    assert p.returncode == 16 and p.stderr.startswith("error: ") and "expected an approver" in p.stderr
    assert "Traceback" not in p.stderr and not (tmp_path / "promos").exists()

    # --force without --reason is refused; with it (and an approver) the promotion is written
    p = run(env, tmp_path, "alpha", "promote", "toy_obi", "--data", day, "--approver", "jdoe", "--force")
    assert p.returncode == 16 and "expected a reason" in p.stderr
    # ... and so is --force with a reason but no approver (who overrode the gates)
    p = run(env, tmp_path, "alpha", "promote", "toy_obi", "--data", day, "--force", "--reason", "cli test")
    assert p.returncode == 16 and "expected at least one approver" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "promos").exists()
    p = run(env, tmp_path, "alpha", "promote", "toy_obi", "--data", day, "--approver", "jdoe", "--force",
            "--reason", "cli test", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["promoted"] and out["forced"]
    yaml_path = Path(out["promotion_file"])
    assert yaml_path.is_file() and yaml_path.is_relative_to(tmp_path / "promos")

    # the Gate D run folder copied with its run_hash edited is still the Gate D evidence (identified by content)
    obs = tmp_path / "obs"
    shutil.copytree(out["gate_d"]["run_folder"], obs)
    s = json.loads((obs / "summary.json").read_text())
    s["run_hash"] = "f" * 32
    (obs / "summary.json").write_text(json.dumps(s))
    other = tmp_path / "obs_other"
    shutil.copytree(obs, other)
    s["alpha"]["alpha_id"] = "ofi"
    (other / "summary.json").write_text(json.dumps(s))
    before = yaml_path.read_text()
    p = run(env, tmp_path, "alpha", "canary", "toy_obi", "--observations", str(other))
    assert p.returncode == 16 and "expected observations of alpha toy_obi" in p.stderr
    p = run(env, tmp_path, "alpha", "canary", "toy_obi", "--observations", str(obs))
    assert p.returncode == 16 and "Gate D evidence" in p.stderr and "Traceback" not in p.stderr
    assert yaml_path.read_text() == before
    # canary on newer data: the promoted alpha replayed at the step's capital fraction
    p = run(env, tmp_path, "alpha", "canary", "toy_obi", "--data", str(env["newer"]))
    assert p.returncode == 0, p.stderr
    # for people steps are 1-based (0-based canary_step 1 is step 2) and promoted is not on the ladder
    n = len(yaml.safe_load(yaml_path.read_text())["canary"]["ladder"])
    assert f"escalate — promoted → canary (step 2/{n})" in " ".join(p.stdout.split()), p.stdout
    st = json.loads(run(env, tmp_path, "alpha", "status", "--json").stdout)
    assert {r["alpha_id"]: r for r in st["alphas"]}["toy_obi"]["canary_step"] == 1  # 0-based in files and JSON
    (observed,) = (tmp_path / "home" / "runs" / "canary" / "toy_obi").iterdir()
    p = run(env, tmp_path, "alpha", "canary", "toy_obi", "--observations", str(observed))
    assert p.returncode == 16 and "already evaluated" in p.stderr

    p = run(env, tmp_path, "alpha", "status", "--json")
    assert p.returncode == 0, p.stderr
    st = {r["alpha_id"]: r for r in json.loads(p.stdout)["alphas"]}
    assert st["toy_obi"]["state"] == "canary" and st["obi_l1"]["state"] == "candidate"
    assert st["toy_obi"]["verified"] is True and "tampered" not in st["toy_obi"]
    assert st["toy_obi"]["gates"]["D"] is True and st["toy_obi"]["gates"]["E"] is False  # forced past E
    p = run(env, tmp_path, "alpha", "status")
    assert p.returncode == 0 and "toy_obi" in p.stdout
    # steps for people are 1-based: 0-based canary_step 1 of the ladder is "step 2/N"
    row = next(ln for ln in p.stdout.splitlines() if "toy_obi" in ln)
    assert f" 2/{n} " in f" {row} " and f"1/{n}" not in row

    # hand edits that keep the file valid are caught against the audit store's record (issue 12)
    good = yaml_path.read_text()
    forged = good.replace("approvers: [jdoe]", "approvers: []")
    assert forged != good
    yaml_path.write_text(forged)
    p = run(env, tmp_path, "alpha", "canary", "toy_obi", "--data", str(env["newer"]))
    assert p.returncode == 16 and "key 'approvers'" in p.stderr and "differs from its record" in p.stderr
    assert yaml_path.read_text() == forged
    p = run(env, tmp_path, "alpha", "status", "--json")
    assert p.returncode == 16
    res = json.loads(p.stdout)
    row = {r["alpha_id"]: r for r in res["alphas"]}["toy_obi"]
    assert row["state"] == "canary" and row["verified"] is False and "key 'approvers'" in row["tampered"]
    assert res["errors"] and res["errors"][0]["file"] == str(yaml_path)
    # a forged graduation shows what the record says, flagged
    doc = yaml.safe_load(good)
    doc["state"] = "graduated"
    doc["history"].append({**doc["history"][-1], "event": "graduate", "from": "canary", "to": "graduated"})
    yaml_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    p = run(env, tmp_path, "alpha", "status", "--json")
    assert p.returncode == 16
    row = {r["alpha_id"]: r for r in json.loads(p.stdout)["alphas"]}["toy_obi"]
    assert row["state"] == "canary" and "key 'state'" in row["tampered"]
    p = run(env, tmp_path, "alpha", "status")
    assert p.returncode == 16 and "differs from its record" in p.stdout + p.stderr
    yaml_path.write_text(good)

    # a promotion file edited by hand into an invalid state: clear error, exit 16
    yaml_path.write_text(yaml_path.read_text().replace("state: canary", "state: graduated"))
    p = run(env, tmp_path, "alpha", "status", "--no-store")
    assert p.returncode == 16 and "key 'state'" in p.stderr
    p = run(env, tmp_path, "alpha", "canary", "toy_obi", "--observations", str(obs))
    assert p.returncode == 16 and "key 'state'" in p.stderr and "Traceback" not in p.stderr


def test_pool_cli(env, tmp_path):
    p = run(env, tmp_path, "alpha", "pool", "toy_obi", "--data", str(env["day"]), "--json")
    assert p.returncode in (0, 17), p.stderr
    out = json.loads(p.stdout)
    assert out["gate"] == "pool" and out["pool"] == [] and out["ok"] == out["passed"]
    assert len(out["audit_ids"]) == 1
    assert (p.returncode == 0) == out["passed"]
    p = run(env, tmp_path, "alpha", "pool", "toy_obi", "--data", str(env["day"]), "--max-corr", "2")
    assert p.returncode == 16 and "max_corr" in p.stderr


def test_promote_tables_show_thresholds_verdicts_and_units(env, tmp_path, monkeypatch):
    """Gate D and E print as `hft alpha validate` prints its gates: each check with its threshold and a
    pass/fail of its own, money in money units (and the currency), no Python dict text (`rejects {}`,
    `required_gates {'A': ...}`): the required gates one row each."""
    monkeypatch.setenv("COLUMNS", "160")
    p = run(env, tmp_path, "alpha", "promote", "toy_obi", "--data", str(env["day"]), "--approver", "jdoe")
    assert p.returncode == 17, p.stderr
    lines = p.stdout.splitlines()

    def row(name: str) -> list[str]:
        line = next(ln for ln in lines if ln.startswith(f"│ {name} "))
        return [c.strip() for c in line.split("│")[1:-1]]

    header = [c.strip() for c in next(ln for ln in lines if "metric" in ln).split("┃")[1:-1]]
    assert header == ["metric", "value", "unit", "threshold", "result", "note"], p.stdout
    net = row("net_pnl")
    assert net[2] == "money units" and net[3].startswith(">= ") and net[4] == "pass" and "USD" in net[5]
    assert row("sharpe")[3].startswith(">= ") and "not annualised" in row("sharpe")[5]
    assert row("reject_rate")[3].startswith("<= ") and row("reject_rate")[5] == "rejects: none"
    assert row("gate A")[1:] == ["none recorded", "", "pass recorded for this code", "fail", ""]
    assert row("approvers")[4] == "pass" and row("approvers")[5] == "jdoe"
    assert "{" not in p.stdout and "required_gates" not in p.stdout


def test_alpha_help_lists_the_subcommands_and_status_help_reads_as_sentences(hft):
    """`hft alpha --help` names the real subcommands (it said "scaffold new alphas, validate them (gates A/B/C)");
    `hft alpha status --help` has no line break inside a sentence ("files that differ are⏎flagged")."""
    env = {"COLUMNS": "200"}
    group = hft("alpha", "--help", env=env)
    assert group.code == 0, group.err
    summary = group.out.split("Options")[0]
    for word in ("scaffold", "validate", "search", "pool", "promote", "canary", "status", "experiments"):
        assert word in summary, group.out
    status = hft("alpha", "status", "--help", env=env)
    assert status.code == 0, status.err
    assert "Promotion files that differ from their record are flagged." in status.out, status.out
