"""Paper venue: `hft gateway serve --paper <LOBSTER day>`: the simulator's venue behind the dispatcher, fed on
the wall clock; an order over HTTP, its decision, the fill from the venue, recorded in the WAL like a replay's."""

from __future__ import annotations

import time

import pytest
from svckit import Server, order, token

from hft.recorder.reader import iter_records

pytestmark = pytest.mark.shared_data


def test_paper_order_fills_from_the_recorded_day(shared_data, tmp_path):
    day = shared_data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"
    if not day.exists():
        pytest.skip(f"{day} not present")
    home = tmp_path / "home"
    srv = Server(home, "--paper", str(day), "--speed", "20").start(timeout=300)
    try:
        h = srv.health_after_first_trade()
        v0 = h["venue"]
        assert v0["kind"] == "paper" and v0["symbol"] == "GOOG" and v0["events_applied"] > 0
        tok = token()
        px = v0["last_trade"] - 200  # a marketable sell (2 dollars through the last trade)
        code, d = srv.request("POST", "/orders", order("paper-1", side="sell", price=px, qty=1, symbol="GOOG",
                                                       tif="ioc"), tok, {"Idempotency-Key": "paper-1"})
        assert code == 201 and d["accepted"], d
        end = time.time() + 60
        while time.time() < end:
            _, v = srv.request("GET", f"/orders/{d['order_id']}", token=tok)
            if v["status"] in ("filled", "expired"):
                break
            time.sleep(0.1)
        assert v["status"] == "filled", v
        assert v["fills"][0]["qty"] == 1 and v["fills"][0]["price"] >= px  # a sell fills at or above its limit
        _, pos = srv.request("GET", "/positions", token=tok)
        assert {(p["symbol"], p["position"]) for p in pos} == {("GOOG", -1)}
        m = srv.metrics()
        assert m["gateway_reports_total"] >= 1
    finally:
        srv.stop()
    topics = {}
    for topic, rec in iter_records(home / "wal" / "gateway-live"):
        topics.setdefault(topic, []).append(rec)
    assert any(r["order_id"] == d["order_id"] and r["accepted"] for r in topics["audit.gateway_decisions"])
    assert [r["qty"] for r in topics["sim.fills"] if r["order_id"] == d["order_id"]] == [1]
    assert any(r["source"] == "mark" and r["symbol_name"] == "GOOG" for r in topics["sim.orders"])
