"""Good-till-date orders and icebergs through the live service (paper venue): placed over HTTP (``tif: gtd`` with
``expire``, int ns UTC; ``display``) and over the TCP intake (the NEW frame's counted tail), bad values answered
400 naming the field (the gateway's own checks 422), a resting GTD order expired by the paper venue at its time on
the service's clock, a GTD order filled before its time (no expiry after the fill), the EXPIRED and fill reports in
the TCP report frames, the WAL and the views; after a SIGKILL with a GTD order working, a restart past its time
finds it EXPIRED once, at its time, by the venue rebuilt from its journal catching up with the day; an iceberg on an L2 day
refills at its price: prints larger than its display fill it display lots at a time (hand-derived below)."""

from __future__ import annotations

import struct
import sys
import time
from pathlib import Path

import pytest
from svckit import Server, config_with_risk, order, token, wal_reports

from hft.core.orders import REPORT_ACK as ACK
from hft.core.orders import REPORT_EXPIRED as EXPIRED
from hft.core.orders import REPORT_FILL as FILL
from hft.core.orders import REPORT_PARTIAL_FILL as PARTIAL
from hft.live import frames as F
from hft.live.client import TcpIntakeError, TcpOrderClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "alpha"))
from lifecycle_helpers import PRINT_DAY_P, make_day, make_l2_print_day

pytestmark = pytest.mark.slow  # starts the service as processes

TOK = token()
S = 1_000_000_000


def _config(tmp_path: Path) -> Path:
    """The service tests' config with ``gtd`` allowed (the shipped config/gateway.yaml refuses it)."""
    return config_with_risk(tmp_path, tifs=["gtc", "ioc", "fok", "day", "gtd"])


def _kinds(reps: dict, oid: int) -> list[int]:
    return [k for k, _, _ in reps.get(oid, [])]


def _post(srv: Server, body: dict) -> tuple[int, dict]:
    return srv.request("POST", "/orders", body, TOK, {"Idempotency-Key": body["client_order_id"]})


def test_gtd_over_http_and_tcp_expires_at_its_time_fills_before_it_and_ends_expired_across_a_crash(tmp_path):
    day = make_day(tmp_path / "day", seed=43)
    home, cfg = tmp_path / "home", _config(tmp_path)
    args = ("--paper", str(day), "--speed", "5", "--tcp-port", "0")
    srv = Server(home, *args, config=cfg).start(timeout=300)
    try:
        h = srv.health_after_first_trade()
        sym, px = h["venue"]["symbol"], h["venue"]["last_trade"]
        low = px // 2 // 5 * 5  # far below the day's prices, on AAPL's tick multiple of 5: rests, never fills
        high = px * 2 // 5 * 5  # a buy there crosses at once

        # bad values: 400 naming the field, nothing decided; the gateway's clock check is BAD_EXPIRE (422)
        soon = time.time_ns() + 60 * S
        for body, field in ((order("b1", price=low, qty=1, symbol=sym, tif="gtd"), "expire"),
                            (order("b2", price=low, qty=1, symbol=sym, expire=soon), "expire"),
                            (order("b3", price=low, qty=1, symbol=sym, tif="gtd", expire="2026-11-29T18:00:00Z"),
                             "expire"),
                            (order("b4", price=low, qty=1, symbol=sym, tif="gtd", expire=-1), "expire"),
                            (order("b5", price=low, qty=1, symbol=sym, tif="gtd", expire=1 << 63), "expire"),
                            (order("b6", price=0, qty=4, symbol=sym, order_type="market", tif="ioc", display=1),
                             "display"),
                            (order("b7", price=low, qty=4, symbol=sym, display=-1), "display"),
                            (order("b8", price=low, qty=4, symbol=sym, display="2"), "display"),
                            # a trail only on a stop / stop-limit (docs/sim.md, "Trailing stops")
                            (order("b11", price=low, qty=1, symbol=sym, trail=5), "trail"),
                            # a link is an order id ("OCO and bracket orders held by the venue")
                            (order("b12", price=low, qty=1, symbol=sym, oco=-3), "oco"),
                            (order("b13", price=low, qty=1, symbol=sym, parent="3"), "parent")):
            code, d = _post(srv, body)
            assert code == 400 and d["error"] == "BAD_INPUT" and field in d["field"], (body, code, d)
        code, d = _post(srv, order("b9", price=low, qty=1, symbol=sym, tif="gtd", expire=time.time_ns() - S))
        assert code == 422 and d["reason"] == "BAD_EXPIRE" and d["field"] == "expire", d
        code, d = _post(srv, order("b10", price=low, qty=4, symbol=sym, display=4))
        assert code == 422 and d["reason"] == "BAD_DISPLAY" and d["field"] == "display", d

        # HTTP: a resting GTD order expiring in 6 s and a marketable one filled at once (its expiry: nothing)
        expire = time.time_ns() + 6 * S
        code, rest = _post(srv, order("gtd-rest", price=low, qty=1, symbol=sym, tif="gtd", expire=expire))
        assert code == 201 and rest["accepted"], rest
        code, hit = _post(srv, order("gtd-hit", price=high, qty=1, symbol=sym, tif="gtd", expire=expire))
        assert code == 201 and hit["accepted"], hit
        v = srv.poll(f"/orders/{hit['order_id']}", lambda v: v["status"] == "filled", token=TOK)
        assert v["status"] == "filled" and v["filled"] == 1, v
        v = srv.poll(f"/orders/{rest['order_id']}", lambda v: v["status"] == "working", token=TOK)
        assert v["status"] == "working" and time.time_ns() < expire, v  # still working before its time

        # TCP: a GTD order in the frame's counted tail; its REPORT frames: ack, then expired at its time
        with TcpOrderClient("127.0.0.1", srv.tcp_port(), TOK) as c:
            t_exp = time.time_ns() + 2 * S
            t = c.order("tcp-gtd", "ACC1", "mm1", sym, "buy", qty=1, price=low, tif="gtd", expire=t_exp,
                        durable=True, idempotency_key="tcp-gtd")
            assert t["status"] == 201 and t["accepted"], t
            bad = c.order("tcp-bad", "ACC1", "mm1", sym, "buy", qty=1, price=low, tif="gtd",
                          expire=time.time_ns() - S)
            assert bad["status"] == 422 and bad["reason_name"] == "BAD_EXPIRE", bad
            ice = c.order("tcp-ice", "ACC1", "mm1", sym, "buy", qty=4, price=low, display=2, durable=True,
                          idempotency_key="tcp-ice")
            assert ice["status"] == 201 and ice["accepted"], ice  # the gateway takes it, the L3 venue holds it
            kinds: dict[int, list[str]] = {}
            while kinds.get(t["order_id"], [""])[-1] != "expired" or not kinds.get(ice["order_id"]):
                r = c.recv_report(timeout=30)
                kinds.setdefault(r["order_id"], []).append(r["kind_name"])
            seen = time.time_ns()
            assert kinds[t["order_id"]] == ["ack", "expired"] and seen >= t_exp, (kinds, seen - t_exp)
            assert kinds[ice["order_id"]][0] == "ack", kinds  # L3: the venue shows 2 of its 4 lots, as in a replay

        # a malformed tail (a count past the known fields; a length that is neither form): ERROR 400, closed
        for tail, why in ((struct.pack("<B7q", 7, 0, 0, 0, 0, 0, 0, 1), "tail count 7: expected at most 6 fields"),
                          (struct.pack("<Bq", 2, 1), "tail of 9 bytes after the strings")):
            with TcpOrderClient("127.0.0.1", srv.tcp_port(), TOK) as c:
                body = F.NEW_FIXED.pack(1, 0, 1, 1, 5, low, 1) + F.pack_strings("tail", "ACC1", "mm1", sym, "") + tail
                c.send_raw(F.frame(F.NEW, body))
                e = c.recv()
                assert (e["type"], e["corr"], e["status"], e["error"]) == ("error", 0, 400, "BAD_FRAME"), e
                assert why in e["reason"], e
                with pytest.raises((TcpIntakeError, ConnectionError, OSError)):
                    c.order("after", "ACC1", "mm1", sym, "buy", qty=1, price=low)  # closed by the server

        # the tail's fourth field, a trailing stop's trail, on a limit order: 400 naming it
        with TcpOrderClient("127.0.0.1", srv.tcp_port(), TOK) as c:
            body = F.NEW_FIXED.pack(7, 0, -1, 1, 1, low, 1) + F.pack_strings("trail", "ACC1", "mm1", sym, "") + \
                struct.pack("<Bqqqq", 4, 0, 0, 0, 5)
            c.send_raw(F.frame(F.NEW, body))
            e = c.recv()
            assert (e["type"], e["corr"], e["status"], e["error"]) == ("error", 7, 400, "BAD_INPUT"), e
            assert "trail" in e.get("field", e.get("reason", "")), e
        # its fifth and sixth, an OCO link and a bracket's parent, not an order id: 400 naming each
        for corr, (name, tail) in enumerate((("oco", (low, 0, 0, 0, -3)), ("parent", (low, 0, 0, 0, 0, -3))), 8):
            with TcpOrderClient("127.0.0.1", srv.tcp_port(), TOK) as c:
                body = F.NEW_FIXED.pack(corr, 0, -1, 4, 1, 0, 1) + F.pack_strings(name, "ACC1", "mm1", sym, "") + \
                    struct.pack(f"<B{len(tail)}q", len(tail), *tail)
                c.send_raw(F.frame(F.NEW, body))
                e = c.recv()
                assert (e["type"], e["corr"], e["status"], e["error"]) == ("error", corr, 400, "BAD_INPUT"), e
                assert name in e.get("field", e.get("reason", "")), e

        v = srv.poll(f"/orders/{rest['order_id']}", lambda v: v["status"] != "working", token=TOK)
        assert (v["status"], v["filled"], v["leaves"]) == ("expired", 0, 0) and time.time_ns() >= expire, v

        # a GTD order left working across a SIGKILL, its time passing while the service is down
        crash_exp = time.time_ns() + 6 * S
        code, kept = _post(srv, order("gtd-kept", price=low, qty=1, symbol=sym, tif="gtd", expire=crash_exp))
        assert code == 201 and kept["accepted"], kept
        v = srv.poll(f"/orders/{kept['order_id']}", lambda v: v["status"] == "working", token=TOK)
        assert v["status"] == "working", v
        health = srv.request("GET", "/health")[1]
    finally:
        srv.kill9()

    reps = wal_reports(home, "kind", "qty", "leaves")
    assert _kinds(reps, rest["order_id"]) == [ACK, EXPIRED] and _kinds(reps, t["order_id"]) == [ACK, EXPIRED]
    assert _kinds(reps, hit["order_id"]) == [ACK, FILL]  # filled before its time: nothing at its expiry
    assert _kinds(reps, kept["order_id"]) == [ACK]
    assert health["venue"]["gtd_expired"] == 2 and health["venue"]["fills"] == 1, health["venue"]

    while time.time_ns() < crash_exp + S // 2:
        time.sleep(0.1)
    srv = Server(home, *args, config=cfg).start(timeout=300)  # the WAL replayed after the SIGKILL
    try:
        v = srv.request("GET", f"/orders/{kept['order_id']}", token=TOK)[1]
        assert (v["status"], v["filled"], v["leaves"]) == ("expired", 0, 0), v  # at its time, in the catch-up
        time.sleep(2.0)  # the day goes on from where it was: nothing fills again
        h = srv.request("GET", "/health")[1]
        assert "orders_expired" not in h["recovery"] and h["recovery"]["reports_applied"] == 1, h["recovery"]
        assert (h["venue"]["fills"], h["venue"]["gtd_pending"], h["venue"]["gtd_expired"]) == (1, 0, 3), h["venue"]
    finally:
        srv.stop()
    after = wal_reports(home, "kind", "qty", "leaves")
    assert _kinds(after, kept["order_id"]) == [ACK, EXPIRED]  # once, by the venue; never a fill
    assert _kinds(after, hit["order_id"]) == [ACK, FILL]


P = PRINT_DAY_P


def test_an_iceberg_refills_at_its_price_display_lots_at_a_time_on_an_l2_day(tmp_path):
    """Hand-derived (docs/sim.md, "Iceberg orders held by the venue"): a buy of 9 showing 3 at 10000, where the data
    shows no lots (queue ahead 0). Each sell print of 5 at 10000 reaches it, but one event fills at most the lots it
    shows: 3, then the next 3 show at the back of the level (still nothing ahead), and so on: PARTIAL_FILL 3 (leaves
    6), PARTIAL_FILL 3 (leaves 3), FILL 3 — three prints, where a plain order of 9 would fill 5 then 4."""
    day = make_l2_print_day(tmp_path / "msft_l2.parquet")
    home, cfg = tmp_path / "home", _config(tmp_path)
    srv = Server(home, "--paper", str(day), "--speed", "1", "--tcp-port", "0", config=cfg).start(timeout=300)
    try:
        h = srv.health_after_first_trade()
        assert h["venue"]["symbol"] == "MSFT", h["venue"]
        with TcpOrderClient("127.0.0.1", srv.tcp_port(), TOK) as c:  # the display in the NEW frame's counted tail
            ice = c.order("ice", "ACC1", "mm1", "MSFT", "buy", qty=9, price=P, display=3, durable=True,
                          idempotency_key="ice")
        assert ice["status"] == 201 and ice["accepted"], ice
        v = srv.poll(f"/orders/{ice['order_id']}", lambda v: v["status"] == "filled", timeout=30, token=TOK)
        assert v["status"] == "filled" and v["filled"] == 9, v
        assert [(f["qty"], f["price"], f["liquidity"]) for f in v["fills"]] == [(3, P, "maker")] * 3, v
    finally:
        srv.kill9()
    reps = wal_reports(home, "kind", "qty", "leaves")
    assert reps[ice["order_id"]] == [(ACK, 0, 9), (PARTIAL, 3, 6), (PARTIAL, 3, 3), (FILL, 3, 0)]
