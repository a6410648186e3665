"""The loop closed on the paper venue: a signed TradingView-shaped webhook → `signals.normalized` → the
follower's intent → a decision → a fill from the simulator's venue on a recorded day → position and WAL rows."""

from __future__ import annotations

import time

import pytest
from sigkit import KEYS, EmbeddedNats, post, signal_server, stream_messages, wait_for
from svckit import token

from hft.recorder.reader import iter_records

pytestmark = pytest.mark.shared_data


def test_tradingview_alert_fills_at_the_paper_venue(shared_data, tmp_path):
    day = shared_data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"
    if not day.exists():
        pytest.skip(f"{day} not present")
    nats = EmbeddedNats(tmp_path / "nats").start()
    srv = signal_server(tmp_path / "home", nats, "--paper", str(day), "--speed", "20")
    try:
        srv.start(timeout=300)
        h = wait_for(lambda: (lambda h: h if h["venue"]["last_trade"] > 0 else None)(srv.request("GET", "/health")[1]),
                     timeout=60)
        px = h["venue"]["last_trade"] - 200  # a marketable sell, in dollars for TradingView
        alert = {"ticker": "GOOG", "action": "sell", "contracts": "3", "price": f"{px / 100:.2f}",
                 "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        code, out, _ = post(srv, "tradingview", alert, key=KEYS["HFT_TEST_KEY_TV"])
        assert code == 202 and out["signal"]["price"] == px
        corr = out["corr_id"]
        assert [m["corr_id"] for m in stream_messages(nats.url, "signals.normalized")] == [corr]
        tok = token(strategies=("sig1",))

        def done():
            c, v = srv.request("GET", f"/orders/client/{f'sig-{corr}'[:64]}", token=tok)
            return v if c == 200 and v["status"] in ("filled", "expired", "canceled") else None

        v = wait_for(done, timeout=60)
        assert v and v["status"] == "filled" and v["side"] == "sell" and v["qty"] == 10  # max_qty at strength 1
        assert all(f["price"] >= px for f in v["fills"])  # a sell at px or better
        _, pos = srv.request("GET", "/positions", token=tok)
        assert [(p["strategy"], p["position"]) for p in pos if p["symbol"] == "GOOG"] == [("sig1", -10)]
    finally:
        srv.stop()
        nats.stop()
    decisions = [r for t, r in iter_records(tmp_path / "home" / "wal" / "gateway-live",
                                            frozenset({"audit.gateway_decisions"}))]
    assert [(r["strategy_name"], r["order_id"]) for r in decisions if r["order_id"] == v["order_id"]] == \
        [("sig1", v["order_id"])]
    fills = [r for t, r in iter_records(tmp_path / "home" / "wal" / "gateway-live", frozenset({"sim.fills"}))]
    assert sum(r["qty"] for r in fills if r["order_id"] == v["order_id"]) == 10
