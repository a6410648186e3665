"""Stop and stop-limit orders through the live service (paper venue, a generated day): placed over HTTP and over
the TCP intake with a trigger, held by the paper venue (the simulator's venue: the same trigger rule as a
replay's), triggered by the day's prints (a TRIGGERED report, then the fill), cancelled while held; bad triggers
answered 400 naming the field; after a SIGKILL the restart finds the held stop still held (the paper venue rebuilt
from its journal) and cancels it, and the triggered one keeps its one trigger and its fill."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from svckit import Server, config_with_risk, order, token, wal_reports

from hft.core.orders import REPORT_ACK as ACK
from hft.core.orders import REPORT_CANCELED as CANCELED
from hft.core.orders import REPORT_FILL as FILL
from hft.core.orders import REPORT_TRIGGERED as TRIGGERED
from hft.live.client import TcpOrderClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "alpha"))
from lifecycle_helpers import make_day

pytestmark = pytest.mark.slow  # starts the service as processes twice

TOK = token()
FAR = 10_000_000  # ticks away from the day's prices: a stop that never triggers


def _config(tmp_path: Path) -> Path:
    """The service tests' config with the stop types allowed (the shipped config/gateway.yaml refuses them)."""
    return config_with_risk(tmp_path, order_types=["limit", "market", "post_only", "stop", "stop_limit"])


def test_stops_over_http_and_tcp_held_triggered_cancelled_and_across_a_crash(tmp_path):
    day = make_day(tmp_path / "day", seed=41)
    home, cfg = tmp_path / "home", _config(tmp_path)
    args = ("--paper", str(day), "--speed", "5", "--tcp-port", "0")
    srv = Server(home, *args, config=cfg).start(timeout=300)
    try:
        h = srv.health_after_first_trade()
        sym, px = h["venue"]["symbol"], h["venue"]["last_trade"]

        # bad triggers: 400, naming the field, nothing decided
        for body, why in ((order("b1", price=px, qty=1, symbol=sym, trigger=px), "no trigger on a limit"),
                          (order("b2", price=0, qty=1, symbol=sym, order_type="stop"), "a stop needs one"),
                          (order("b3", price=0, qty=1, symbol=sym, order_type="stop", trigger=-5), "> 0"),
                          (order("b4", price=0, qty=1, symbol=sym, order_type="stop", trigger="x"), "an integer"),
                          (order("b5", price=0, qty=1, symbol=sym, order_type="stop", trigger=1 << 63), "int64")):
            code, d = srv.request("POST", "/orders", body, TOK, {"Idempotency-Key": body["client_order_id"]})
            assert code == 400 and d["error"] == "BAD_INPUT" and "trigger" in d["field"], (why, code, d)
        code, d = srv.request("POST", "/orders", order("b6", price=5, qty=1, symbol=sym, order_type="stop",
                                                       trigger=px), TOK, {"Idempotency-Key": "b6"})
        assert code == 400 and d["field"] == "price", d  # a stop has no price: it becomes a market order

        # HTTP: a sell stop whose trigger is far above the day's prices triggers at the next print (any print is
        # at or below it), then fills as a market IOC
        code, hit = srv.request("POST", "/orders", order("stop-hit", side="sell", price=0, qty=1, symbol=sym,
                                                         order_type="stop", trigger=px + FAR), TOK,
                                {"Idempotency-Key": "stop-hit"})
        assert code == 201 and hit["accepted"], hit
        # a buy stop far above the day's prices: held (working, nothing filled), then cancelled while held
        code, held = srv.request("POST", "/orders", order("stop-held", side="buy", price=0, qty=1, symbol=sym,
                                                          order_type="stop", trigger=px + FAR), TOK,
                                 {"Idempotency-Key": "stop-held"})
        assert code == 201 and held["accepted"], held
        code, kept = srv.request("POST", "/orders", order("stop-kept", side="buy", price=px + FAR + 10, qty=1,
                                                          symbol=sym, order_type="stop_limit", trigger=px + FAR),
                                 TOK, {"Idempotency-Key": "stop-kept"})
        assert code == 201 and kept["accepted"], kept

        # TCP: a stop-limit (frame grown by its trigger) triggered the same way; a stop without its trigger denied
        with TcpOrderClient("127.0.0.1", srv.tcp_port(), TOK) as c:
            t = c.order("tcp-hit", "ACC1", "mm1", sym, "sell", qty=1, price=px - 1000, order_type="stop_limit",
                        trigger=px + FAR, durable=True, idempotency_key="tcp-hit")
            assert t["status"] == 201 and t["accepted"], t
            bad = c.order("tcp-bad", "ACC1", "mm1", sym, "sell", qty=1, price=px - 1000, order_type="stop_limit")
            assert bad["status"] == 422 and bad["reason_name"] == "BAD_TRIGGER", bad  # the gateway's check
            plain = c.order("tcp-plain", "ACC1", "mm1", sym, "buy", qty=1, price=px - 1000)
            assert plain["status"] == 201, plain  # a NEW without the tail: the frame as it always was
            kinds = []  # the REPORT frames of the stop-limit: the order-update record, TRIGGERED among them
            while not kinds or kinds[-1] != "fill":
                r = c.recv_report(timeout=60)
                if r["order_id"] == t["order_id"]:
                    kinds.append(r["kind_name"])
            assert kinds == ["ack", "triggered", "fill"], kinds

        for oid in (hit["order_id"], t["order_id"]):
            v = srv.poll(f"/orders/{oid}", lambda v: v["status"] in ("filled", "expired", "canceled"), token=TOK)
            assert v["status"] == "filled" and v["filled"] == 1, v
            assert v["fills"][0]["liquidity"] == "taker", v  # entered when triggered: it crossed
        for oid in (held["order_id"], kept["order_id"]):
            v = srv.poll(f"/orders/{oid}", lambda v: v["status"] != "accepted", token=TOK)
            assert (v["status"], v["filled"], v["leaves"]) == ("working", 0, 1), v
        code, c_ = srv.request("POST", f"/orders/{held['order_id']}/cancel", {}, TOK)
        assert code in (200, 201) and c_["accepted"], c_
        v = srv.poll(f"/orders/{held['order_id']}", lambda v: v["status"] == "canceled", token=TOK)
        assert v["status"] == "canceled" and v["filled"] == 0, v
        health = srv.request("GET", "/health")[1]
    finally:
        srv.kill9()

    reps = wal_reports(home)
    for oid in (hit["order_id"], t["order_id"]):
        assert reps[oid] == [ACK, TRIGGERED, FILL], reps[oid]  # held, triggered once, filled
    assert reps[held["order_id"]] == [ACK, CANCELED] and reps[kept["order_id"]] == [ACK]
    assert health["venue"]["fills"] == 2, health["venue"]

    srv = Server(home, *args, config=cfg).start(timeout=300)  # the WAL replayed after the SIGKILL
    try:
        for oid in (hit["order_id"], t["order_id"]):
            v = srv.request("GET", f"/orders/{oid}", token=TOK)[1]
            assert v["status"] == "filled" and len(v["fills"]) == 1, v
        v = srv.request("GET", f"/orders/{kept['order_id']}", token=TOK)[1]
        assert (v["status"], v["leaves"]) == ("working", 1), v  # still held by the rebuilt venue
        h = srv.request("GET", "/health")[1]
        assert "orders_expired" not in h["recovery"] and h["venue"]["new_day"] is False, h["recovery"]
        time.sleep(2.0)  # the day goes on from where it was: its prints trigger nothing again
        code, c_ = srv.request("POST", f"/orders/{kept['order_id']}/cancel", {}, TOK)
        assert code in (200, 201) and c_["accepted"], c_
        v = srv.poll(f"/orders/{kept['order_id']}", lambda v: v["status"] == "canceled", token=TOK)
        assert v["status"] == "canceled" and v["filled"] == 0, v
        assert srv.request("GET", "/health")[1]["venue"]["fills"] == 2  # the day's two, rebuilt: none again
    finally:
        srv.stop()
    after = wal_reports(home)
    for oid in (hit["order_id"], t["order_id"]):
        assert after[oid] == [ACK, TRIGGERED, FILL], after[oid]  # no second trigger, no second fill
    assert after[kept["order_id"]] == [ACK, CANCELED]  # held across the crash, cancelled after it
