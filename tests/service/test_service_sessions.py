"""Trading sessions of the live service (``sessions:``): at a session's close its DAY orders are cancelled at the
venue, at the default session's open the trading day rolls (daily loss back to zero), each a journaled control, so
a SIGKILL and restart rebuilds the same state, and a close passed while the service was down fires at the start."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from svckit import CONFIG, Server, order, token

from hft.recorder.reader import iter_records

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

TZ = "America/New_York"


def _local(t: float) -> str:
    """The wall time `t` as a quoted local time of day in TZ (to the second)."""
    return datetime.fromtimestamp(round(t), UTC).astimezone(ZoneInfo(TZ)).strftime('"%H:%M:%S"')


def _status(srv, oid, tok) -> str:
    return srv.request("GET", f"/orders/{oid}", token=tok)[1]["status"]


def _wait(what, cond, until: float) -> None:
    while time.time() < until:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within the deadline: {what}")


def _place(srv, tok, coid: str, **kw) -> int:
    code, d = srv.request("POST", "/orders", order(coid, **kw), tok, {"Idempotency-Key": coid})
    assert code == 201, d
    _wait(f"{coid} working", lambda: _status(srv, d["order_id"], tok) == "working", time.time() + 10)
    return d["order_id"]


def _loss(srv, tok, tag: str, sell: int) -> None:
    """A round trip of `loser` on MSFT filled by the loopback venue: a realised loss of (1000 - sell) * 10."""
    for side, px in (("buy", 1000), ("sell", sell)):
        code, d = srv.request("POST", "/orders", order(f"{tag}-{side}", side=side, price=px, qty=10, strategy="loser",
                                                       symbol="MSFT", tif="ioc"), tok, {"Idempotency-Key": f"{tag}-{side}"})
        assert code == 201, d
        _wait(f"{tag}-{side} filled", lambda d=d: _status(srv, d["order_id"], tok) == "filled", time.time() + 10)


def _controls(home: Path) -> list[str]:
    return [f'{r["source"]}:{r["symbol_name"]}' for _, r in iter_records(home / "wal" / "gateway-live",
                                                                         frozenset({"sim.orders"}))
            if r["source"].startswith("control:")]


def _venue_cancels(srv) -> list[int]:
    return [e["order_id"] for e in srv.journal() if e["ev"] == "cmd" and e["action"] == 2]


def test_day_orders_expire_at_the_close_the_day_rolls_and_a_restart_keeps_both(tmp_path):
    home = tmp_path / "home"
    warm = Server(home, "--loopback", "rest").start()  # compiles the order path: the next start is quick
    assert warm.stop() == 0
    t0 = round(time.time())  # the config takes times to the second
    close, open_, aapl_close = t0 + 12, t0 + 16, t0 + 28
    cfg = tmp_path / "gateway_sessions.yaml"
    cfg.write_text(CONFIG.read_text() + (
        "sessions:\n"
        f"  default: {{open: {_local(open_)}, close: {_local(close)}, time_zone: {TZ}}}\n"
        f"  AAPL: {{open: {_local(t0 + 3600)}, close: {_local(aapl_close)}, time_zone: {TZ}}}\n"))
    srv = Server(home, "--loopback", "rest", config=cfg).start()
    try:
        tok, loser = token(), token(strategies=("loser",))
        day = _place(srv, tok, "day", price=800, symbol="MSFT", tif="day")
        gtc = _place(srv, tok, "gtc", price=801, symbol="MSFT", tif="gtc")
        aapl_day = _place(srv, tok, "aapl-day", price=9000, symbol="AAPL", tif="day")
        assert time.time() < close - 2, "the server started too slowly for the session times"
        _loss(srv, loser, "d1", sell=994)  # a loss of 60 of loser's daily 100
        _, h = srv.request("GET", "/health")
        assert h["storm"] == "NORMAL" and h["sessions"]["next"]["op"] == "close", h
        _wait("the DAY order expired at the close", lambda: _status(srv, day, tok) == "canceled", close + 5)
        assert time.time() >= close - 0.1
        assert day in _venue_cancels(srv) and gtc not in _venue_cancels(srv)  # the venue got the cancel
        assert _status(srv, gtc, tok) == "working" and _status(srv, aapl_day, tok) == "working"  # AAPL: its own close
        _wait("the day rolled at the open", lambda: "control:roll:default" in _controls(home), open_ + 5)
        assert time.time() >= open_ - 0.1
        _loss(srv, loser, "d2", sell=994)  # 60 again: 120 over both days, 60 on the new one
        _, h = srv.request("GET", "/health")
        assert h["storm"] == "NORMAL" and h["mode"] == "ALLOW_ALL", h  # before the roll: HALT at 120 > 100
        assert _controls(home) == ["control:close:default", "control:roll:default"]
        srv.kill9()
        time.sleep(max(0.0, aapl_close + 1 - time.time()))  # AAPL's close passes while the service is down
        srv = Server(home, "--loopback", "rest", config=cfg).start()
        _, h = srv.request("GET", "/health")
        # the replay rolls the day where it rolled: both losses on one day (120 > 100) would come back HALT
        assert h["recovery"]["mismatches"] == 0 and h["storm"] == "NORMAL" and h["mode"] == "ALLOW_ALL", h
        # the close missed while down fires once the writer's timer runs: the venue gets the AAPL DAY order's
        # cancel (the loopback venue, restarted with the gateway, holds no resting order any more and refuses it)
        _wait("the AAPL DAY order's cancel sent at the start", lambda: aapl_day in _venue_cancels(srv),
              time.time() + 5)
        assert _status(srv, day, tok) == "canceled" and _status(srv, gtc, tok) == "working"  # nothing resurrected
        assert _venue_cancels(srv).count(day) == 1
        assert _controls(home) == ["control:close:default", "control:roll:default", "control:close:AAPL"]
    finally:
        srv.stop()
