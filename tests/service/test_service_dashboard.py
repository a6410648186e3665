"""The Grafana dashboard shipped in deploy/grafana/gateway.json queries only metrics a running server exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from svckit import Server, order, token

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "gateway.json"
_SUFFIXES = ("_bucket", "_sum", "_count")


def _queried(dash: dict) -> set[str]:
    names = set()
    for p in dash["panels"]:
        for t in p["targets"]:
            names |= set(re.findall(r"\b(gateway_[a-z0-9_]+)\b", t["expr"]))
    return names


def test_every_dashboard_metric_is_exposed_by_a_running_server(tmp_path):
    dash = json.loads(DASHBOARD.read_text())
    queried = _queried(dash)
    assert len(dash["panels"]) >= 10 and len(queried) >= 20
    srv = Server(tmp_path / "home").start()
    try:
        tok = token()
        assert srv.request("POST", "/v3/orders", order("dash-1", qty=1), tok)[0] == 201
        _, text = srv.request("GET", "/metrics")
    finally:
        srv.stop()
    families = {ln.split()[2]: ln.split()[3] for ln in text.splitlines() if ln.startswith("# TYPE ")}
    missing = []
    for name in sorted(queried):
        base = next((name[:-len(s)] for s in _SUFFIXES if name.endswith(s) and name[:-len(s)] in families), name)
        if base not in families:
            missing.append(name)
        elif base != name:  # _bucket / _sum / _count are a histogram's series
            assert families[base] == "histogram", (name, families[base])
    assert missing == [], f"the dashboard queries metrics the server does not expose: {missing}"
