"""Every panel of the Grafana dashboard shipped in deploy/grafana/gateway.json shows data from a running server.

The real `hft gateway serve` (webhooks, the signal follower and the leader lease on, over a real nats-server) is
driven through everything the panels watch: orders and their fills, a retried idempotency key, a rejection, bad
input, a signed webhook and a forged one. Then each target's expression is checked against one scrape of
`/metrics`, as Prometheus would evaluate it: every metric it names has samples, a histogram under
`histogram_quantile` has observations (a non-zero ``_count``), and every label of its ``by (...)`` is on the
samples. The same scrape holds a sample of every metric the alerting rules (deploy/prometheus/gateway-alerts.yml)
name. The dashboard's expressions use only ``rate``, ``increase``, ``sum by`` and ``histogram_quantile``;
anything else fails the test until this checker learns it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sigkit import KEYS, EmbeddedNats, post, wait_for
from svckit import Server, order, token
from test_service_alerts import rule_metric_names

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "gateway.json"
CONFIG = Path(__file__).with_name("gateway_dashboard.yaml")
FUNCTIONS = {"rate", "increase", "sum", "histogram_quantile"}
# the families the dashboard must chart: dedup, webhooks, NATS, leadership, P&L, positions, limit use, WAL disk
REQUIRED = {"gateway_dedup_hits_total", "gateway_webhooks_received_total", "gateway_nats_publish_total",
            "gateway_nats_connected", "gateway_leader", "gateway_leadership_changes_total", "gateway_realised_pnl",
            "gateway_strategy_pnl", "gateway_position", "gateway_strategy_daily_loss_limit",
            "gateway_account_daily_loss_limit", "gateway_wal_disk_level", "gateway_cash_limit",
            "gateway_margin_required", "gateway_submit_rate_limit", "gateway_submit_rate_available"}


def parse_expr(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, labels of its ``by (...)`` clauses) of a PromQL expression of the dashboard's subset."""
    by: set[str] = set()
    for group in re.findall(r"\bby\s*\(([^)]*)\)", expr):
        by |= {x.strip() for x in group.split(",") if x.strip()}
    rest = re.sub(r"\bby\s*\([^)]*\)", " ", expr)
    rest = re.sub(r"\[[0-9]+[smhd]\]", " ", rest)  # range selectors
    assert "{" not in rest, f"{expr!r}: label matchers are not supported by the checker"
    calls, names = set(), set()
    for tok in re.finditer(r"(?<![0-9.])[A-Za-z_:][A-Za-z0-9_:]*", rest):
        (calls if rest[tok.end():].lstrip().startswith("(") else names).add(tok.group())
    unknown = calls - FUNCTIONS
    assert not unknown, f"{expr!r}: the checker knows only {sorted(FUNCTIONS)}, not {sorted(unknown)}"
    return names, by


def problems(dash: dict, text: str) -> list[str]:
    """What would make a panel's query come back empty from this exposition (empty: every query has data)."""
    samples: dict[str, list] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            samples.setdefault(s.name, []).append(s)
    out = []
    for p in dash["panels"]:
        for t in p["targets"]:
            where = f"panel {p['title']!r} target {t['refId']}"
            names, by = parse_expr(t["expr"])
            assert names, f"{where}: no metric in {t['expr']!r}"
            for m in sorted(names):
                got = samples.get(m, [])
                if not got:
                    out.append(f"{where}: metric {m} has no samples")
                    continue
                if "histogram_quantile" in t["expr"] and m.endswith("_bucket"):
                    n = sum(s.value for s in samples.get(m[:-len("_bucket")] + "_count", []))
                    if n <= 0:
                        out.append(f"{where}: histogram {m[:-len('_bucket')]} has no observations (_count 0)")
                missing = sorted({lbl for s in got for lbl in by if lbl not in s.labels})
                if missing:
                    out.append(f"{where}: metric {m} has samples without the label(s) {missing} of its `by`")
    return out


def _leader(srv: Server) -> bool:
    try:
        code, h = srv.request("GET", "/health")
    except OSError:
        return False
    return code == 200 and h["signals"]["ha"]["role"] == "leader"


def _value(text: str, name: str, **labels: str) -> float | None:
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


@pytest.fixture
def served(tmp_path):
    nats = EmbeddedNats(tmp_path / "nats").start()
    srv = Server(tmp_path / "home", "--loopback", "fill", config=CONFIG,
                 env={**KEYS, "HFT_NATS_URL": nats.url, "HFT_NODE_ID": "node-a"})
    try:
        yield srv.start()
    finally:
        srv.stop()
        nats.stop()


def test_the_checker_finds_names_labels_and_unsupported_functions():
    names, by = parse_expr("histogram_quantile(0.99, sum by (le, path) (rate(gateway_ack_latency_ns_bucket[1m])))")
    assert names == {"gateway_ack_latency_ns_bucket"} and by == {"le", "path"}
    assert parse_expr("increase(gateway_leadership_changes_total[5m])") == ({"gateway_leadership_changes_total"},
                                                                            set())
    with pytest.raises(AssertionError, match="avg_over_time"):
        parse_expr("avg_over_time(gateway_leader[5m])")
    text = ('# TYPE h histogram\nh_bucket{le="1.0"} 0.0\nh_bucket{le="+Inf"} 0.0\nh_count 0.0\nh_sum 0.0\n'
            '# TYPE c counter\nc_total 3.0\n')
    dash = {"panels": [{"title": "P", "targets": [
        {"refId": "A", "expr": "histogram_quantile(0.5, sum by (le) (rate(h_bucket[1m])))"},
        {"refId": "B", "expr": "sum by (source) (rate(c_total[1m]))"},
        {"refId": "C", "expr": "rate(absent_total[1m])"}]}]}
    assert problems(dash, text) == [
        "panel 'P' target A: histogram h has no observations (_count 0)",
        "panel 'P' target B: metric c_total has samples without the label(s) ['source'] of its `by`",
        "panel 'P' target C: metric absent_total has no samples"]


def test_every_panel_query_returns_samples_from_a_running_server(served):
    dash = json.loads(DASHBOARD.read_text())
    queried = set().union(*(parse_expr(t["expr"])[0] for p in dash["panels"] for t in p["targets"]))
    assert queried >= REQUIRED, f"the dashboard has no panel for {sorted(REQUIRED - queried)}"
    srv = served
    assert wait_for(lambda: _leader(srv), timeout=120), srv.log.read_text()[-3000:]
    tok = token(strategies=("mm1", "sig1"))

    def send(key: str, body: dict, path: str = "/orders") -> int:
        return srv.request("POST", path, body, tok, headers={"Idempotency-Key": key})[0]

    assert send("dash-buy", order("dash-buy", side="buy", price=10000, qty=3)) == 201
    assert send("dash-buy", order("dash-buy", side="buy", price=10000, qty=3)) == 200  # a retry: a dedup hit
    assert send("dash-sell", order("dash-sell", side="sell", price=10005, qty=1)) == 201
    assert send("dash-v3", order("dash-v3", qty=1), path="/v3/orders") == 201
    assert send("dash-big", order("dash-big", qty=5000)) == 422  # over max_order_qty: a rejection by reason
    assert send("dash-bad", order("dash-bad", qty="5")) == 400  # bad input, field qty
    code, out, h = post(srv, "partner", {"instrument": "MSFT", "side": "buy", "price": 2500, "strength": 0.5})
    assert code == 202, out
    assert post(srv, "partner", {"instrument": "MSFT", "side": "buy"}, key="not-the-key" * 4)[0] == 401

    def filled(coid: str) -> bool:
        code, v = srv.request("GET", f"/orders/client/{coid}", token=tok)
        return code == 200 and v["status"] == "filled"

    coids = ["dash-buy", "dash-sell", "dash-v3", f"sig-partner:{h['X-Nonce']}"[:64]]  # the last: the follower's
    assert wait_for(lambda: all(filled(c) for c in coids), timeout=30), [(c, filled(c)) for c in coids]
    _, text = srv.request("GET", "/metrics")
    found = problems(dash, text)
    assert found == [], "dashboard queries that would return nothing:\n" + "\n".join(found)
    sampled = {s.name for fam in text_string_to_metric_families(text) for s in fam.samples}
    assert rule_metric_names() - sampled == set(), "metrics the alerting rules name that the server does not export"
    # AAPL: 3 + 1 lots bought at 10000, 1 sold at 10005 (multiplier 1, no fees): long 3, 5 money units realised
    assert _value(text, "gateway_position", account="ACC1", strategy="mm1", symbol="AAPL") == 3
    assert _value(text, "gateway_realised_pnl", account="ACC1", strategy="mm1", symbol="AAPL") == 5
    assert _value(text, "gateway_strategy_pnl", strategy="mm1", kind="realised") == 5
    assert _value(text, "gateway_position", account="ACC1", strategy="sig1", symbol="MSFT") > 0
    assert _value(text, "gateway_leader") == 1
    assert _value(text, "gateway_strategy_daily_loss_limit", strategy="mm1") == 100000000  # the default
    assert _value(text, "gateway_account_daily_loss_limit", account="ACC1") == 500000000
