"""What a fill carries beyond its price and size, across the service's restarts (paper venue, a generated day): a
taker's fill keeps its exact fee and liquidity, and a resting order's ACK its queue ahead, in ``GET /orders/{id}``
and in the order-update stream read from its start (``after=0``), after a SIGKILL (the WAL's journal of reports
replayed) and after a clean stop (the snapshot's order views and update log) alike."""

from __future__ import annotations

import http.client
import json
import sys
from pathlib import Path

import pytest
from svckit import Server, order, token

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "alpha"))
from lifecycle_helpers import make_day

pytestmark = pytest.mark.slow  # starts the service as processes three times

TOK = token()



def _updates(srv: Server, oids: set[int], n: int) -> list[dict]:
    """The first `n` events of ``GET /orders/stream?after=0`` about the orders `oids`: what each says of the fill."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    conn.request("GET", "/orders/stream?after=0", headers={"Authorization": f"Bearer {TOK}"})
    r = conn.getresponse()
    out, ev = [], {}
    try:
        while len(out) < n:
            line = r.readline().decode()
            assert line, out
            line = line.rstrip("\n")
            if not line:
                if "data" in ev:
                    e = json.loads(ev["data"])
                    if e["order_id"] in oids:
                        out.append({k: e[k] for k in ("seq", "order_id", "kind", "qty", "fee", "fee_frac",
                                                      "liquidity", "queue")})
                ev = {}
            elif not line.startswith(":"):
                k, _, v = line.partition(": ")
                ev[k] = v
    finally:
        conn.sock.close()
        conn.close()
    return out


def test_fees_liquidity_and_queue_survive_a_crash_and_a_clean_restart(tmp_path):
    day = make_day(tmp_path / "day", seed=41)
    home = tmp_path / "home"
    srv = Server(home, "--paper", str(day), "--speed", "5").start(timeout=300)
    try:
        h = srv.health_after_first_trade()
        sym, px = h["venue"]["symbol"], h["venue"]["last_trade"]
        code, rest = srv.request("POST", "/orders", order("rest-1", price=px - 100, qty=1, symbol=sym), TOK,
                                 {"Idempotency-Key": "rest-1"})
        assert code == 201 and rest["accepted"], rest
        code, take = srv.request("POST", "/orders", order("take-1", price=px + 100, qty=2, symbol=sym, tif="ioc"),
                                 TOK, {"Idempotency-Key": "take-1"})
        assert code == 201 and take["accepted"], take
        taken = srv.poll(f"/orders/{take['order_id']}", lambda v: v["status"] in ("filled", "expired"), token=TOK)
        assert taken["fills"] and {f["liquidity"] for f in taken["fills"]} == {"taker"}, taken
        assert all(f["fee"] * 1_000_000 + f["fee_frac"] > 0 for f in taken["fills"]), taken  # a taker pays
        oids = {rest["order_id"], take["order_id"]}
        n = 2 + len(taken["fills"])  # the two ACKs, the fills
        before = _updates(srv, oids, n)
        acks = {u["order_id"]: u["queue"] for u in before if u["kind"] == "ack"}
        assert acks[rest["order_id"]] >= 0 and acks[take["order_id"]] == -1, before  # rests / never rested
        assert [u["liquidity"] for u in before if u["qty"] > 0] == ["taker"] * len(taken["fills"]), before
    finally:
        srv.kill9()
    for how in ("crash", "clean"):  # the WAL replayed after a SIGKILL; then the snapshot of a clean stop
        srv = Server(home, "--paper", str(day), "--speed", "5").start(timeout=300)
        try:
            assert srv.request("GET", f"/orders/{take['order_id']}", token=TOK)[1]["fills"] == taken["fills"], how
            assert _updates(srv, oids, n) == before, how
        finally:
            if how == "crash":
                srv.stop()
            else:
                srv.kill9()
