"""`hft replay` with the `signal_aggregate` strategy on a recorded LOBSTER GOOG day: recorded signals of two
sources combined (docs/signals.md "Signal aggregation"), the same run hash twice, and a bad section refused in one
line naming the key."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]  # starts hft as a process; replays a recorded day

SPEC = "hft.sim.strategies.signal_aggregate:SignalAggregate"  # registered as `signal_aggregate` once installed
T0 = 1340287200 * 10**9  # 2012-06-21 14:00 UTC (10:00 New York), inside the GOOG sample
MIN = 60 * 10**9
ORDERS = [(1, 6), (-1, 8), (-1, 3), (1, 7), (1, 9), (1, 4)]  # (side, lots), see the test


def _signals(path):
    rows = [("trend", 0, {"side": 1, "strength": 0.9}), ("news", 10, {"side": -1, "strength": 0.9}),
            ("trend", 5, {"side": -1}),  # recorded out of order: the replay acts at each signal's ts_event
            ("trend", 30, {"side": 1, "strength": 0.25}), ("news", 60, {"target": 0, "horizon_ns": 60 * MIN}),
            ("trend", 150, {"side": 1, "strength": 0.6}), ("other", 160, {"side": 1})]  # `other`: not aggregated
    path.write_text("".join(json.dumps({
        "source": src, "instrument": "GOOG", "side": kw.get("side", 0), "target": kw.get("target"),
        "strength": kw.get("strength", 1.0), "horizon_ns": kw.get("horizon_ns", 0), "price": None,
        "ts_event": T0 + m * MIN, "ts_received": T0 + m * MIN, "corr_id": f"{src}:{i}", "v": 1}) + "\n"
        for i, (src, m, kw) in enumerate(rows)))


def test_two_recorded_sources_replay_deterministically(hft, shared_data, tmp_path):
    day = shared_data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"
    if not day.exists():
        pytest.skip(f"{day} not present")
    _signals(tmp_path / "sig.jsonl")
    section = {"signals": str(tmp_path / "sig.jsonl"), "max_qty": 10, "conflict": "net", "min_net": 0.25,
               "sources": {"trend": {"weight": 2, "min_strength": 0.3}, "news": {"weight": 1}}}
    cfg = tmp_path / "agg.yaml"
    cfg.write_text(json.dumps({"strategies": {"signal_aggregate": section}}))
    runs = [hft("replay", "-d", str(day), "-s", SPEC, "-c", str(cfg), "--no-store", "--json", "--out",
                str(tmp_path / f"run{k}"), timeout=1200) for k in range(2)]
    assert all(r.code == 0 for r in runs), runs[0].err
    a, b = (r.json() for r in runs)
    assert a["run_hash"] == b["run_hash"]
    assert a["params"]["sources"] == section["sources"] and a["params"]["n_signals"] == 7
    # each order trades toward the target from the position the day's partial fills left (position after):
    # trend buy 0.9 → 2×0.9/3: target 6, buy 6 (fills 1); trend sell → -2/3: -7, sell 8 (-7); news sell 0.9 →
    # -2.9/3: -10, sell 3 (-10); trend 0.25, below its threshold → -0.9/3: -3, buy 7 (fills 1: -9); news flat →
    # 0, buy 9 (0); trend 0.6 alone, news's horizon over → 4, buy 4; `other` is not aggregated: nothing
    assert a["orders"] == 6 and a["decisions"] == 6 and not a["rejects"] and a["position"] == 4
    import polars as pl

    orders = pl.read_parquet(tmp_path / "run0" / "orders.parquet").sort("ts")
    assert list(zip(orders["side"].to_list(), orders["qty"].to_list(), strict=True)) == ORDERS

    cfg.write_text(json.dumps({"strategies": {"signal_aggregate": {
        **section, "sources": {"trend": {"weight": 0}}}}}))
    r = hft("replay", "-d", str(day), "-s", SPEC, "-c", str(cfg), "--no-store")
    assert r.code == 11 and "strategies.signal_aggregate.sources.trend.weight" in r.err, r.err
    assert "Traceback" not in r.err and len(r.err.strip().splitlines()) <= 2
