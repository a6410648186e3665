"""Paper venue across a crash: the venue restarts the day and knows none of the orders sent before it, so the
recovery expires them (they ended with that session): each order ends and its reservation is released.
A generated day (no recorded data needed)."""

from __future__ import annotations

import sys
from pathlib import Path

from svckit import Server, order, token

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "alpha"))
from lifecycle_helpers import make_day


def test_orders_of_the_day_before_a_crash_end_with_it(tmp_path):
    day = make_day(tmp_path / "day", seed=41)
    home = tmp_path / "home"
    tok = token()
    srv = Server(home, "--paper", str(day), "--speed", "5").start(timeout=300)
    try:
        h = srv.health_after_first_trade()
        sym, px = h["venue"]["symbol"], h["venue"]["last_trade"] - 100  # a buy resting a dollar below
        code, d = srv.request("POST", "/orders", order("rest-1", price=px, qty=1, symbol=sym), tok,
                              {"Idempotency-Key": "rest-1"})
        assert code == 201 and d["accepted"], d
        oid = d["order_id"]
        v = srv.poll(f"/orders/{oid}", lambda v: v["status"] != "accepted", token=tok)
        assert v["status"] == "working", v
    finally:
        srv.kill9()
    srv = Server(home, "--paper", str(day), "--speed", "5").start(timeout=300)
    try:
        v = srv.request("GET", f"/orders/{oid}", token=tok)[1]
        assert (v["status"], v["leaves"]) == ("expired", 0), v  # ended with the session before the crash
        _, pos = srv.request("GET", "/positions", token=tok)
        assert pos == []  # the reservation released: nothing open
        health = srv.request("GET", "/health")[1]
        assert health["recovery"]["orders_expired"] == 1 and health["venue"]["expired_unknown"] == 0
        code, c = srv.request("POST", f"/orders/{oid}/cancel", token=tok, headers={"Idempotency-Key": "again"})
        assert code == 422 and c["reason"] == "UNKNOWN_ORDER", c  # ended: nothing left to cancel
    finally:
        srv.kill9()
    srv = Server(home, "--paper", str(day), "--speed", "5").start(timeout=300)  # and again: the WAL says so too
    try:
        v = srv.request("GET", f"/orders/{oid}", token=tok)[1]
        assert v["status"] == "expired" and srv.request("GET", "/health")[1]["recovery"]["orders_expired"] == 0
    finally:
        srv.stop()
