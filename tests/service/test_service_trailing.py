"""Trailing stops through the live service (paper venue) on an L2 day whose every print is known
(`make_l2_print_day`: a book of bid 9990 x 10 / ask 10010 x 10 that never changes, then one print a second,
alternating a buy at 10010 and a sell of 5 at 10000). Placed over HTTP (``trail``) and over the TCP intake (the NEW
frame's counted tail), held by the paper venue (the simulator's venue: docs/sim.md, "Trailing stops"), their
triggers following the prints, then triggered; bad trails 400 naming the field, the gateway's BAD_TRAIL 422.

Hand-derived (the first print after the orders arrive may be either; each case is the same after it):

* sell stop, trigger 9900, trail 5: no print reaches 9900 (all are >= 10000), so it triggers only because its
  trigger moved: to 10005 after a 10010 print (9995 after a 10000 one first), then the next 10000 print reaches it:
  TRIGGERED at 10000, a market sell takes the 9990 bid: FILL 1 @ 9990, taker.
* sell stop, trigger 9900, trail 15: moves to 9995 at most (10010 - 15), below every print: held, working.
* buy stop, trigger 10100, trail 5: to 10005 after a 10000 print; the next 10010 print reaches it: TRIGGERED at
  10010, a market buy takes the 10010 ask: FILL 1 @ 10010, taker.
* (TCP) sell stop-limit, trigger 9900, limit 9900, trail 5: its limit moves with its trigger (to 10005); TRIGGERED at
  10000, a limit sell at 10005 does not cross the 9990 bid and rests; the next buy print at 10010 trades through it:
  FILL 1 @ 10005, maker (at its limit at entry, 9900, it would have taken the bid at 9990).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest
from svckit import Server, config_with_risk, order, token, wal_reports

from hft.core.orders import REPORT_ACK as ACK
from hft.core.orders import REPORT_CANCELED as CANCELED
from hft.core.orders import REPORT_FILL as FILL
from hft.core.orders import REPORT_TRIGGERED as TRIGGERED
from hft.live import frames as F
from hft.live.client import TcpOrderClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "alpha"))
from lifecycle_helpers import PRINT_DAY_ASK, PRINT_DAY_BID, PRINT_DAY_P, make_l2_print_day

pytestmark = pytest.mark.slow  # starts the service as a process

TOK = token()


def _post(srv: Server, body: dict) -> tuple[int, dict]:
    return srv.request("POST", "/orders", body, TOK, {"Idempotency-Key": body["client_order_id"]})


def test_trailing_stops_over_http_and_tcp_follow_the_prints_then_trigger(tmp_path):
    day = make_l2_print_day(tmp_path / "msft_l2.parquet")
    home = tmp_path / "home"
    cfg = config_with_risk(tmp_path, order_types=["limit", "market", "post_only", "stop", "stop_limit"])
    srv = Server(home, "--paper", str(day), "--speed", "1", "--tcp-port", "0", config=cfg).start(timeout=300)
    try:
        h = srv.health_after_first_trade()
        assert h["venue"]["symbol"] == "MSFT", h["venue"]
        stop = {"symbol": "MSFT", "qty": 1, "order_type": "stop", "price": 0}

        # bad trails: 400 naming the field, nothing decided; the gateway's own check is BAD_TRAIL (422)
        for body in (order("b1", price=PRINT_DAY_P, qty=1, symbol="MSFT", trail=5),  # on a limit order
                     order("b2", side="sell", **stop, trigger=9900, trail=-5),
                     order("b3", side="sell", **stop, trigger=9900, trail="5"),
                     order("b4", side="sell", **stop, trigger=9900, trail=1 << 63)):
            code, d = _post(srv, body)
            assert code == 400 and d["error"] == "BAD_INPUT" and "trail" in d["field"], (body, code, d)
        code, d = _post(srv, order("b5", side="sell", symbol="MSFT", qty=1, order_type="stop_limit", price=9950,
                                   trigger=9900, trail=5))  # a sell's limit above its trigger
        assert code == 422 and d["reason"] == "BAD_TRAIL" and d["field"] == "trail", d

        # HTTP: the three stops of the module docstring
        code, sell = _post(srv, order("t-sell", side="sell", **stop, trigger=9900, trail=5))
        assert code == 201 and sell["accepted"], sell
        code, held = _post(srv, order("t-held", side="sell", **stop, trigger=9900, trail=15))
        assert code == 201 and held["accepted"], held
        code, buy = _post(srv, order("t-buy", side="buy", **stop, trigger=10100, trail=5))
        assert code == 201 and buy["accepted"], buy

        # TCP: the trailing stop-limit, its trail the counted tail's fourth field; its REPORT frames
        with TcpOrderClient("127.0.0.1", srv.tcp_port(), TOK) as c:
            t = c.order("t-tcp", "ACC1", "mm1", "MSFT", "sell", qty=1, price=9900, order_type="stop_limit",
                        trigger=9900, trail=5, durable=True, idempotency_key="t-tcp")
            assert t["status"] == 201 and t["accepted"], t
            # a trail on a limit order in the tail: 400 naming it (the tail's fields, as HTTP's)
            body = F.NEW_FIXED.pack(7, 0, -1, 1, 1, PRINT_DAY_P, 1) + F.pack_strings("bad", "ACC1", "mm1", "MSFT",
                                                                                    "") + \
                struct.pack("<Bqqqq", 4, 0, 0, 0, 5)
            c.send_raw(F.frame(F.NEW, body))
            e = c.recv()
            assert (e["type"], e["corr"], e["status"], e["error"], e["field"]) == ("error", 7, 400, "BAD_INPUT",
                                                                                  "trail"), e
            got = []  # the stop-limit's REPORT frames: (kind, price)
            while not got or got[-1][0] != "fill":
                r = c.recv_report(timeout=60)
                if r["order_id"] == t["order_id"]:
                    got.append((r["kind_name"], r["price"]))
            assert got == [("ack", 9900), ("triggered", PRINT_DAY_P), ("fill", 10005)], got

        fills = {}
        for oid in (sell["order_id"], buy["order_id"], t["order_id"]):
            v = srv.poll(f"/orders/{oid}", lambda v: v["status"] == "filled", timeout=30, token=TOK)
            assert v["status"] == "filled" and v["filled"] == 1, v
            fills[oid] = [(f["price"], f["liquidity"]) for f in v["fills"]]
        assert fills == {sell["order_id"]: [(PRINT_DAY_BID, "taker")], buy["order_id"]: [(PRINT_DAY_ASK, "taker")],
                         t["order_id"]: [(10005, "maker")]}
        v = srv.request("GET", f"/orders/{held['order_id']}", token=TOK)[1]
        assert (v["status"], v["filled"], v["leaves"]) == ("working", 0, 1), v  # 9995 at most: below every print
        code, cx = srv.request("POST", f"/orders/{held['order_id']}/cancel", {}, TOK)
        assert code in (200, 201) and cx["accepted"], cx
        v = srv.poll(f"/orders/{held['order_id']}", lambda v: v["status"] == "canceled", token=TOK)
        assert v["status"] == "canceled", v
    finally:
        srv.kill9()

    reps = wal_reports(home, "kind", "price")
    assert reps[sell["order_id"]] == [(ACK, 0), (TRIGGERED, PRINT_DAY_P), (FILL, PRINT_DAY_BID)]
    assert reps[buy["order_id"]] == [(ACK, 0), (TRIGGERED, PRINT_DAY_ASK), (FILL, PRINT_DAY_ASK)]
    assert reps[t["order_id"]] == [(ACK, 9900), (TRIGGERED, PRINT_DAY_P), (FILL, 10005)]
    assert [k for k, _ in reps[held["order_id"]]] == [ACK, CANCELED]


@pytest.mark.shared_data
def test_a_trailing_stop_on_l3_data_follows_the_executions(shared_data, tmp_path):
    """The paper venue on the LOBSTER GOOG day (the L3 venue): a sell trailing stop whose trigger at entry, 1 tick, no
    print of the day reaches (GOOG trades near 58,000 ticks), trailing 10 ticks: the day's executions move it up
    behind them, the first pull-back of 10 ticks triggers it (TRIGGERED at an execution price of the recorded
    day), and its market sell fills."""
    import zipfile

    day = shared_data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"
    if not day.exists():
        pytest.skip(f"{day} not present")
    with zipfile.ZipFile(day) as z:
        name = next(n for n in z.namelist() if "_message_" in n)
        rows = [ln.split(",") for ln in z.read(name).decode().splitlines()]
    prints = {int(r[4]) // 100 for r in rows if r[1] in ("4", "5", "6")}  # executions, hidden ones, crosses: ticks
    home = tmp_path / "home"
    cfg = config_with_risk(tmp_path, order_types=["limit", "market", "post_only", "stop", "stop_limit"])
    srv = Server(home, "--paper", str(day), "--speed", "20", config=cfg).start(timeout=300)
    try:
        srv.health_after_first_trade()
        code, d = _post(srv, order("l3-trail", side="sell", price=0, qty=1, symbol="GOOG", order_type="stop",
                                   trigger=1, trail=10))
        assert code == 201 and d["accepted"], d
        v = srv.poll(f"/orders/{d['order_id']}", lambda v: v["status"] in ("filled", "expired"), timeout=120,
                     token=TOK)
        assert v["status"] == "filled" and v["filled"] == 1 and v["fills"][0]["liquidity"] == "taker", v
    finally:
        srv.stop()
    reps = wal_reports(home, "kind", "price")[d["order_id"]]
    assert [k for k, _ in reps] == [ACK, TRIGGERED, FILL], reps
    trig = reps[1][1]
    assert trig in prints and trig > 1 + 10, (trig, reps)  # a print of the day, far above the trigger at entry
