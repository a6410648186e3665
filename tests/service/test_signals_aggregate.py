"""Signal aggregation live, against a real nats-server: two sources' signed webhooks → the follower's aggregate →
orders toward the combined target; a SIGKILL and a restart keep the views (rebuilt from the stream) and send no
order twice; the same signals replayed (`hft replay -s signal_aggregate` on a recorded Binance day, moved onto its
clock) give the same orders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sigkit import KEYS, EmbeddedNats, post, signal_server, stream_messages, wait_for
from svckit import token

from hft.recorder.reader import iter_records

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]  # starts the service; replays a recorded day

CONFIG = Path(__file__).with_name("gateway_signals_agg.yaml")
KEY = {"trend": KEYS["HFT_TEST_KEY_NEW"], "news": KEYS["HFT_TEST_KEY_OLD"]}
# (source, payload): the worked example of docs/signals.md, "Signal aggregation", with side → target below
SIGNALS = [("trend", {"side": "buy", "strength": 0.9}),      # 2 × 0.9 / 3 = 0.6: target 6, buy 6
           ("news", {"side": "sell", "strength": 0.9}),      # (1.8 - 0.9) / 3 = 0.3: target 3, sell 3
           ("trend", {"side": "buy", "strength": 0.25}),     # below min_strength: -0.9 / 3: target -3, sell 6
           ("news", {"target": 0}),                          # a flat view: target 0, buy 3
           ("trend", {"side": "sell", "strength": 0.6}),     # -1.2 / 3 = -0.4: target -4, sell 4
           ("news", {"side": "sell", "strength": 0.5})]      # (-1.2 - 0.5) / 3: target -6 (round(-5.67)), sell 2
EXPECTED = [(1, 6), (-1, 3), (-1, 6), (1, 3), (-1, 4), (-1, 2)]


def _order(srv, corr: str) -> dict | None:
    code, v = srv.request("GET", f"/orders/client/{f'sig-{corr}'[:64]}", token=token(strategies=("sig1",)))
    return v if code == 200 and v["status"] in ("filled", "expired", "canceled", "rejected") else None


def _rebuilt(srv) -> dict | None:
    """``signals.follower.aggregate`` of ``/health`` once the start's rebuild is done."""
    a = srv.request("GET", "/health")[1]["signals"]["follower"].get("aggregate")
    return a if a and a["rebuilt"] is not None else None


def _send(srv, i: int) -> str:
    source, body = SIGNALS[i]
    code, out, _ = post(srv, source, {"instrument": "ETHUSDT", **body}, key=KEY[source])
    assert code == 202, out
    return out["corr_id"]


def test_two_sources_aggregated_live_survive_a_sigkill_and_match_the_replay(shared_data, tmp_path):
    day = shared_data / "binance" / "spot" / "ethusdt_20240808.gz"
    if not day.exists():
        pytest.skip(f"{day} not present")
    nats = EmbeddedNats(tmp_path / "nats").start()
    home = tmp_path / "home"
    srv = signal_server(home, nats, config=CONFIG)
    corrs: list[str] = []
    try:
        srv.start(timeout=600)
        # a fill of another strategy gives the loopback venue its reference price: the follower's orders are
        # market orders (the signals carry no price) and fill at it
        code, d = srv.request("POST", "/orders", {"client_order_id": "prime", "account": "ACC1", "strategy": "mm1",
                                                  "symbol": "ETHUSDT", "side": "buy", "price": 250_000, "qty": 1},
                              token=token(), headers={"Idempotency-Key": "prime"})
        assert code == 201 and d["accepted"], d
        for i in range(3):
            corrs.append(_send(srv, i))
            assert wait_for(lambda c=corrs[-1]: _order(srv, c), timeout=30), corrs[-1]
        corrs.append(_send(srv, 3))
        srv.kill9()  # right after the 202: its order may or may not be decided yet
        srv.start(timeout=600)
        agg = wait_for(lambda: _rebuilt(srv))
        assert agg, srv.request("GET", "/health")[1]
        assert agg["rebuilt"] == 4  # every record of signals.normalized folded back in
        views = agg["instruments"]["ETHUSDT"]["views"]
        assert {s: (v["corr_id"], v["live"]) for s, v in views.items()} == \
            {"trend": (corrs[2], False), "news": (corrs[3], True)}  # trend's 0.25 is below its min_strength
        assert wait_for(lambda: _order(srv, corrs[3]), timeout=30)
        for i in (4, 5):
            corrs.append(_send(srv, i))
            assert wait_for(lambda c=corrs[-1]: _order(srv, c), timeout=30), corrs[-1]
        live = [_order(srv, c) for c in corrs]
        assert [(1 if v["side"] == "buy" else -1, v["qty"]) for v in live] == EXPECTED
        assert all(v["status"] == "filled" for v in live)
        _, pos = srv.request("GET", "/positions", token=token(strategies=("sig1",)))
        assert [p["position"] for p in pos if p["strategy"] == "sig1"] == [-6]
        records = stream_messages(nats.url, "signals.normalized")
    finally:
        srv.stop()
        nats.stop()
    # never an order twice: one gateway decision per signal, whichever process took it
    decisions = [r for _, r in iter_records(home / "wal" / "gateway-live", frozenset({"audit.gateway_decisions"}))]
    ids = sorted(r["order_id"] for r in decisions if r["strategy_name"] == "sig1")
    assert len(ids) == len(set(ids)) == len(SIGNALS), ids

    # the same records replayed, moved onto the recorded day's clock 30 s apart from 23:55 UTC: no view of this
    # test expires (no horizon, no ttl), so only their order matters to the rule
    assert [r["corr_id"] for r in records] == corrs
    t0 = 1723161300 * 10**9
    out = tmp_path / "signals.jsonl"
    out.write_text("".join(json.dumps({**r, "ts_event": t0 + k * 30 * 10**9, "ts_received": t0 + k * 30 * 10**9})
                           + "\n" for k, r in enumerate(records)))
    cfg = tmp_path / "replay.yaml"
    cfg.write_text(json.dumps({"strategies": {"signal_aggregate": {
        "signals": str(out), "max_qty": 10, "conflict": "net", "min_net": 0.25,
        "sources": {"trend": {"weight": 2, "min_strength": 0.3}, "news": {"weight": 1}}}}}))
    from tests.cli.conftest import run_hft

    runs = [run_hft("replay", "-d", str(day), "-s", "hft.sim.strategies.signal_aggregate:SignalAggregate", "-c",
                    str(cfg), "--no-store", "--json", "--out", str(tmp_path / f"run{k}"), timeout=1200)
            for k in range(2)]
    assert all(r.code == 0 for r in runs), runs[0].err
    a, b = (r.json() for r in runs)
    assert a["run_hash"] == b["run_hash"] and a["orders"] == len(SIGNALS)
    import polars as pl

    orders = pl.read_parquet(tmp_path / "run0" / "orders.parquet").sort("ts")
    assert list(zip(orders["side"].to_list(), orders["qty"].to_list(), strict=True)) == EXPECTED
    assert a["position"] == -6
