"""OCO and bracket orders through the live service (paper venue), on the hand-derivable L2 print day
(`make_l2_print_day`: bid 9990 x 10 / ask 10010 x 10 that never change; a buy of 1 at 10010 every odd second, a sell
of 5 at 10000 every even one). The links are the simulator's rules (docs/sim.md, "OCO and bracket orders held by the
venue"); the paper venue is that venue.

Hand-derived:

* bracket B over HTTP: entry buy 10005 x2 (inside the spread: rests), take profit sell 10100 x2 and stop sell
  trigger 10000 x2 (paired with the take profit), both children of B. The next sell print at 10000 trades through
  the entry: FILL 2 @ 10005 maker; B has no leaves, so its children enter for 2: the take profit REPLACED 2 (rests at
  10100, where no print reaches), the stop REPLACED 2 (held from now: the print that filled B does not trigger it).
  The sell print after that reaches the stop's trigger: TRIGGERED at 10000, a market sell takes the 9990 bid (FILL 2
  @ 9990, taker), and the take profit, its pair's other, is CANCELED.
* OCO pair over TCP: a buy limit 10005 x1 and a buy stop trigger 10100 x1 naming it (the counted tail's fifth
  field). No print reaches 10100; the next sell print fills the limit (1 @ 10005, maker) and CANCELS the stop.
* bracket E, whose entry takes at once: entry buy 10010 x1 takes the ask (FILL 1 @ 10010, taker) before its
  children are sent. The gateway still knows E (its row in the order table is not taken) and the venue remembers its
  end, so each child is ACKed and enters at once for E's 1 lot: the take profit REPLACED 1 (rests at 10100), the
  stop REPLACED 1 (held at 8000, paired with it). Cancelling the take profit cancels the stop.
* bracket D, then SIGKILL: entry buy 9000 x1 (never filled), its take profit and stop (paired) held for it. After the
  restart (the paper venue rebuilt from its journal) all three still work; cancelling D (it filled nothing)
  cancels both children. Each report reaches the WAL once.
* refused: a link not an integer from 1 to int64's maximum (400 naming it); a parent that never was (the gateway's
  BAD_LINK, 422).
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
from hft.core.orders import REPORT_REPLACED as REPLACED
from hft.core.orders import REPORT_TRIGGERED as TRIGGERED
from hft.live import frames as F
from hft.live.client import TcpOrderClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "alpha"))
from lifecycle_helpers import PRINT_DAY_BID, PRINT_DAY_P, make_day, make_l2_print_day

pytestmark = pytest.mark.slow  # starts the service as a process

TOK = token()
STOP = {"order_type": "stop", "price": 0}


def _post(srv: Server, coid: str, **kw) -> tuple[int, dict]:
    return srv.request("POST", "/orders", order(coid, **{"symbol": "MSFT", **kw}), TOK, {"Idempotency-Key": coid})


def _placed(srv: Server, coid: str, **kw) -> int:
    code, d = _post(srv, coid, **kw)
    assert code == 201 and d["accepted"], (coid, d)
    return d["order_id"]


def _status(srv: Server, oid: int, status: str) -> dict:
    v = srv.poll(f"/orders/{oid}", lambda v: v["status"] == status, timeout=30, token=TOK)
    assert v["status"] == status, v
    return v


def _cancel(srv: Server, oid: int, key: str) -> None:
    code, cx = srv.request("POST", f"/orders/{oid}/cancel", {}, TOK, {"Idempotency-Key": key})
    assert code in (200, 201) and cx["accepted"], cx


def _bracket_taking_at_once(srv: Server, symbol: str, entry_px: int, tp_px: int, trigger: int) -> tuple[int, int, int]:
    """Bracket E, whose entry (a buy of 1 at `entry_px`, which takes at once) has filled before its children are sent:
    they name an order that has ended, which the gateway still knows and the venue remembers, so each enters at once
    for what E filled (REPLACED 1; the take profit sells at `tp_px`, the stop triggers at `trigger`, paired);
    cancelling the take profit cancels the stop. Returns the three order ids."""
    e = _placed(srv, "E", symbol=symbol, price=entry_px, qty=1)
    _status(srv, e, "filled")
    tp = _placed(srv, "E-tp", symbol=symbol, side="sell", price=tp_px, qty=1, parent=e)
    sl = _placed(srv, "E-sl", symbol=symbol, side="sell", qty=1, **STOP, trigger=trigger, parent=e, oco=tp)
    for oid in (tp, sl):
        _status(srv, oid, "working")
    _cancel(srv, tp, "c-E-tp")
    for oid in (tp, sl):
        _status(srv, oid, "canceled")
    return e, tp, sl


def test_brackets_and_oco_pairs_over_http_and_tcp_and_across_a_crash(tmp_path):
    day = make_l2_print_day(tmp_path / "msft_l2.parquet")
    home = tmp_path / "home"
    cfg = config_with_risk(tmp_path, order_types=["limit", "market", "post_only", "stop", "stop_limit"])
    args = ("--paper", str(day), "--speed", "1", "--tcp-port", "0")
    srv = Server(home, *args, config=cfg).start(timeout=300)
    try:
        srv.health_after_first_trade()
        for coid, link, field in (("x1", {"oco": -1}, "oco"), ("x2", {"parent": "3"}, "parent"),
                                  ("x3", {"parent": 1 << 63}, "parent"), ("x4", {"oco": 0.5}, "oco")):
            code, d = _post(srv, coid, side="sell", price=10100, qty=1, **link)
            assert code == 400 and d["error"] == "BAD_INPUT" and d["field"] == field, (link, code, d)
        code, d = _post(srv, "x5", side="sell", price=10100, qty=1, parent=987654)
        assert code == 422 and d["reason"] == "BAD_LINK" and d["field"] == "oco, parent", d

        # bracket B over HTTP
        b = _placed(srv, "B", price=PRINT_DAY_P + 5, qty=2)
        tp = _placed(srv, "B-tp", side="sell", price=10100, qty=2, parent=b)
        sl = _placed(srv, "B-sl", side="sell", qty=2, **STOP, trigger=PRINT_DAY_P, parent=b, oco=tp)

        # an OCO pair over TCP: the stop names the limit in the counted tail's fifth field
        with TcpOrderClient("127.0.0.1", srv.tcp_port(), TOK) as c:
            lim = c.order("P-lim", "ACC1", "mm1", "MSFT", "buy", qty=1, price=PRINT_DAY_P + 5, durable=True,
                          idempotency_key="P-lim")
            assert lim["status"] == 201 and lim["accepted"], lim
            stp = c.order("P-stop", "ACC1", "mm1", "MSFT", "buy", qty=1, price=0, order_type="stop", trigger=10100,
                          oco=lim["order_id"], durable=True, idempotency_key="P-stop")
            assert stp["status"] == 201 and stp["accepted"], stp
            # a link below 1 in the tail: 400 naming it, as over HTTP
            body = F.NEW_FIXED.pack(9, 0, 1, 1, 1, 9000, 1) + F.pack_strings("bad", "ACC1", "mm1", "MSFT", "") + \
                struct.pack("<B6q", 6, 0, 0, 0, 0, 0, -2)
            c.send_raw(F.frame(F.NEW, body))
            e = c.recv()
            assert (e["type"], e["corr"], e["status"], e["field"]) == ("error", 9, 400, "parent"), e

        v = _status(srv, b, "filled")
        assert [(f["price"], f["qty"], f["liquidity"]) for f in v["fills"]] == [(PRINT_DAY_P + 5, 2, "maker")], v
        v = _status(srv, sl, "filled")
        assert [(f["price"], f["qty"], f["liquidity"]) for f in v["fills"]] == [(PRINT_DAY_BID, 2, "taker")], v
        _status(srv, tp, "canceled")
        _status(srv, lim["order_id"], "filled")
        _status(srv, stp["order_id"], "canceled")
        e_id, e_tp, e_sl = _bracket_taking_at_once(srv, "MSFT", 10010, 10100, 8000)  # E takes the 10010 ask

        # bracket D, left held across a SIGKILL
        d_id = _placed(srv, "D", price=9000, qty=1)
        d_tp = _placed(srv, "D-tp", side="sell", price=10100, qty=1, parent=d_id)
        d_sl = _placed(srv, "D-sl", side="sell", qty=1, **STOP, trigger=8000, parent=d_id, oco=d_tp)
        for oid in (d_id, d_tp, d_sl):
            _status(srv, oid, "working")
    finally:
        srv.kill9()
    srv = Server(home, *args, config=cfg).start(timeout=300)
    try:
        h = srv.request("GET", "/health")[1]
        assert h["venue"]["new_day"] is False, h["venue"]
        for oid in (d_id, d_tp, d_sl):
            assert srv.request("GET", f"/orders/{oid}", token=TOK)[1]["status"] == "working"
        _cancel(srv, d_id, "c-D")
        for oid in (d_id, d_tp, d_sl):
            _status(srv, oid, "canceled")
    finally:
        srv.kill9()

    reps = wal_reports(home, "kind", "qty", "leaves")
    assert reps[b] == [(ACK, 0, 2), (FILL, 2, 0)]
    assert reps[tp] == [(ACK, 0, 2), (REPLACED, 2, 2), (CANCELED, 0, 0)]
    assert reps[sl] == [(ACK, 0, 2), (REPLACED, 2, 2), (TRIGGERED, 0, 2), (FILL, 2, 0)]
    assert reps[lim["order_id"]] == [(ACK, 0, 1), (FILL, 1, 0)]
    assert reps[stp["order_id"]] == [(ACK, 0, 1), (CANCELED, 0, 0)]
    for oid in (d_id, d_tp, d_sl):
        assert reps[oid] == [(ACK, 0, 1), (CANCELED, 0, 0)], (oid, reps[oid])
    assert reps[e_id] == [(ACK, 0, 1), (FILL, 1, 0)]
    for oid in (e_tp, e_sl):
        assert reps[oid] == [(ACK, 0, 1), (REPLACED, 1, 1), (CANCELED, 0, 0)], (oid, reps[oid])


def test_an_oco_pair_and_a_bracket_whose_entry_takes_at_once_on_an_l3_day(tmp_path):
    """The paper venue on L3 (LOBSTER-format) data is the simulator's L3 venue, links included (generated AAPL day):
    two resting buys far below the day's prices paired as OCO, cancelling one cancels the other; a bracket whose
    entry buys at twice the last price (it takes the best ask at once, 1 lot) before its children are sent, a take
    profit selling at that price (it rests: nothing buys there) and a stop far below (held), paired: each child
    enters at once for the entry's 1 lot (REPLACED 1), and cancelling the take profit cancels the stop."""
    day = make_day(tmp_path / "day", seed=43)
    home = tmp_path / "home"
    cfg = config_with_risk(tmp_path, order_types=["limit", "market", "post_only", "stop", "stop_limit"])
    srv = Server(home, "--paper", str(day), "--speed", "5", config=cfg).start(timeout=300)
    try:
        h = srv.health_after_first_trade()
        sym, px = h["venue"]["symbol"], h["venue"]["last_trade"]
        low = px // 2 // 5 * 5  # on AAPL's tick multiple of 5, far below the day's prices: rests, never fills
        high = px * 2 // 5 * 5  # a buy there crosses at once
        a = _placed(srv, "A", symbol=sym, price=low, qty=1)
        b = _placed(srv, "B", symbol=sym, price=low - 5, qty=1, oco=a)
        for oid in (a, b):
            _status(srv, oid, "working")
        _cancel(srv, a, "c-A")
        for oid in (a, b):
            _status(srv, oid, "canceled")
        e, tp, sl = _bracket_taking_at_once(srv, sym, high, high, low)
    finally:
        srv.kill9()
    reps = wal_reports(home, "kind", "qty", "leaves")
    for oid in (a, b):
        assert reps[oid] == [(ACK, 0, 1), (CANCELED, 0, 0)], (oid, reps[oid])
    assert reps[e] == [(ACK, 0, 1), (FILL, 1, 0)]
    for oid in (tp, sl):
        assert reps[oid] == [(ACK, 0, 1), (REPLACED, 1, 1), (CANCELED, 0, 0)], (oid, reps[oid])
