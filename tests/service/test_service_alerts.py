"""The Prometheus alerting rules shipped in deploy/prometheus/gateway-alerts.yml: valid (`promtool check rules`)
and behaving as their unit tests say (`promtool test rules` on gateway-alerts.test.yml: every alert fires on its
series with the expected labels and annotations, and not on a near miss or before it is due).

promtool comes from Debian's `prometheus` package (`.ci/run` installs it). Without it these tests skip, unless
HFT_REQUIRE_PROMTOOL=1 (set by CI), where a missing promtool fails them. That every metric the rules name is
exported by a running server is checked in test_service_dashboard.py, on the server it drives.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from svckit import promql_metric_names

PROM = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = PROM / "gateway-alerts.yml"
RULE_TESTS = PROM / "gateway-alerts.test.yml"


def rule_metric_names(path: Path = RULES) -> set[str]:
    """Every metric name the expressions of a rules file select."""
    groups = yaml.safe_load(path.read_text())["groups"]
    return set().union(*(promql_metric_names(r["expr"]) for g in groups for r in g["rules"]))


@pytest.fixture(scope="module")
def promtool() -> str:
    exe = shutil.which("promtool")
    if exe is None:
        if os.environ.get("HFT_REQUIRE_PROMTOOL") == "1":
            pytest.fail("HFT_REQUIRE_PROMTOOL=1 but promtool is not installed (Debian package prometheus)")
        pytest.skip("promtool (Debian package prometheus) is not installed")
    return exe


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=PROM)


def test_promtool_accepts_the_rules(promtool):
    r = _run(promtool, "check", "rules", RULES.name)
    assert r.returncode == 0, r.stdout + r.stderr


def test_promtool_unit_tests_of_the_rules_pass(promtool):
    r = _run(promtool, "test", "rules", RULE_TESTS.name)
    assert r.returncode == 0, r.stdout + r.stderr


def test_promtool_unit_tests_cover_every_alert_firing_and_not_firing():
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r}
    fires, quiet = set(), set()
    for t in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for case in t.get("alert_rule_test", []):
            (fires if case["exp_alerts"] else quiet).add(case["alertname"])
    assert alerts - fires == set(), "alerts no unit test sees firing"
    assert alerts - quiet == set(), "alerts no unit test sees silent"


def test_every_alert_has_a_severity_and_annotations_naming_its_labels():
    for g in yaml.safe_load(RULES.read_text())["groups"]:
        for r in g["rules"]:
            assert r["labels"]["severity"] in ("warning", "critical"), r["alert"]
            assert {"summary", "description"} <= set(r["annotations"]), r["alert"]
            assert "{{ $labels." in r["annotations"]["summary"], r["alert"]


def test_metric_names_of_promql_expressions():
    assert promql_metric_names(
        '-sum without (kind) (gateway_strategy_pnl) / gateway_strategy_daily_loss_limit > 0.75') == {
        "gateway_strategy_pnl", "gateway_strategy_daily_loss_limit"}
    assert promql_metric_names(
        'sum by (instance, type) (increase(x_total{type=~"a|b", job="j"}[5m])) > 5 and on (instance) '
        'max_over_time(up[1m] offset 5m) == bool 1 unless y * on(i) group_left z') == {"x_total", "up", "y", "z"}
    assert rule_metric_names() >= {"gateway_kill_switch", "gateway_wal_disk_level", "gateway_leader"}
