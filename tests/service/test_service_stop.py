"""The emergency stop acts: the manual kill, an automatic trip (daily loss) and the queue-pressure kill cancel
every working order through the normal path (dispatched to the venue, recorded), and new orders are refused."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from svckit import AsyncClient, Server, order, token

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


def _wait_status(srv, oid, tok, status, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        _, v = srv.request("GET", f"/orders/{oid}", token=tok)
        if v["status"] == status:
            return v
        time.sleep(0.05)
    raise AssertionError(f"order {oid}: expected {status}, was {v['status']}")


def _working(srv, tok, n, strategy="mm1", symbol="MSFT", tag="w"):
    oids = []
    for i in range(n):
        code, d = srv.request("POST", "/orders", order(f"{tag}{i}", price=800 + i, strategy=strategy, symbol=symbol),
                              tok, {"Idempotency-Key": f"{tag}{i}"})
        assert code == 201, d
        oids.append(d["order_id"])
    for oid in oids:
        _wait_status(srv, oid, tok, "working")
    return oids


def _cancels(srv):
    return {e["order_id"] for e in srv.journal() if e["ev"] == "cmd" and e["action"] == 2}


def test_manual_kill_cancels_and_latches_then_reset(server_factory):
    srv = server_factory("--loopback", "rest").start()
    tok, admin = token(), token(accounts=("*",), strategies=("*",), admin=True)
    oids = _working(srv, tok, 3)
    code, _ = srv.request("POST", "/admin/kill", token=tok)
    assert code == 403  # not an admin token
    code, k = srv.request("POST", "/admin/kill", token=admin)
    assert code == 200 and k["cancels"] == 3
    for oid in oids:
        _wait_status(srv, oid, tok, "canceled")
    assert set(oids) <= _cancels(srv)
    code, d = srv.request("POST", "/orders", order("after"), tok, {"Idempotency-Key": "after"})
    assert code == 503 and d["error"] == "KILLED"
    time.sleep(1.5)  # longer than ingress.recover_after: a manual kill latches
    code, _ = srv.request("POST", "/orders", order("after2"), tok, {"Idempotency-Key": "after2"})
    assert code == 503
    code, _ = srv.request("POST", "/admin/reset", token=admin)
    assert code == 200
    code, d = srv.request("POST", "/orders", order("after3"), tok, {"Idempotency-Key": "after3"})
    assert code == 201, d


def test_daily_loss_trip_cancels_working_orders_and_survives_restart(server_factory, tmp_path):
    home = tmp_path / "trip"
    srv = server_factory("--loopback", "rest", home=home).start()
    tok = token(strategies=("loser",))
    oids = _working(srv, tok, 2, strategy="loser")
    code, d = srv.request("POST", "/orders", order("b", price=1000, qty=10, strategy="loser", symbol="MSFT",
                                                   tif="ioc"), tok, {"Idempotency-Key": "b"})
    assert code == 201
    _wait_status(srv, d["order_id"], tok, "filled")
    code, d = srv.request("POST", "/orders", order("s", side="sell", price=900, qty=10, strategy="loser",
                                                   symbol="MSFT", tif="ioc"), tok, {"Idempotency-Key": "s"})
    assert code == 201
    _wait_status(srv, d["order_id"], tok, "filled")  # realised loss 1000 > daily_loss 100: HALT
    for oid in oids:
        _wait_status(srv, oid, tok, "canceled")  # the trip pulled the working orders
    assert set(oids) <= _cancels(srv)
    _, h = srv.request("GET", "/health")
    assert h["storm"] == "HALT" and h["mode"] == "REJECT_ALL"
    code, d = srv.request("POST", "/orders", order("n", strategy="loser", symbol="MSFT"), tok,
                          {"Idempotency-Key": "n"})
    assert code == 503 and d["reason"] == "POLICY_REJECT_ALL"
    srv.kill9()
    srv2 = Server(home, "--loopback", "rest").start()  # the latched halt is rebuilt from the WAL
    try:
        _, h = srv2.request("GET", "/health")
        assert h["storm"] == "HALT" and h["recovery"]["mismatches"] == 0
        assert [e for e in srv2.journal() if e["ev"] == "dup"] == []
    finally:
        srv2.stop()


def test_queue_pressure_ladder_kill_and_recovery(server_factory):
    cfg = Path(__file__).with_name("gateway_pressure.yaml")
    srv = server_factory("--loopback", "rest", config=cfg).start()
    tok = token()
    oids = _working(srv, tok, 2)

    async def burst(n):
        clients = [AsyncClient(srv.port) for _ in range(n)]
        try:
            return await asyncio.gather(*(
                c.post("/v3/orders" if i % 2 else "/orders", order(f"p{i}", price=700, symbol="MSFT"), tok, f"p{i}")
                for i, c in enumerate(clients)))
        finally:
            for c in clients:
                await c.close()

    statuses = [code for code, _ in asyncio.run(burst(300))]
    assert 429 in statuses and 503 in statuses, sorted(set(statuses))  # soft rejects (v3), then the kill
    m = srv.metrics()
    assert m['gateway_ingress_total{result="soft_rejected"}'] + m['gateway_ingress_total{result="killed"}'] > 0
    assert m["gateway_kill_switch_trips_total"] >= 1
    for oid in oids:
        _wait_status(srv, oid, tok, "canceled")  # the queue-pressure kill acted
    end = time.time() + 10  # idle: utilisation stays <= recover_pct for recover_after (1 s) -> recovers
    while time.time() < end and srv.metrics()["gateway_kill_switch"] == 1:
        time.sleep(0.1)
    m = srv.metrics()
    assert m["gateway_kill_switch"] == 0 and m["gateway_kill_switch_recoveries_total"] >= 1
    code, d = srv.request("POST", "/orders", order("post", symbol="MSFT"), tok, {"Idempotency-Key": "post"})
    assert code == 201, d


@pytest.mark.parametrize("how", ["sigkill", "sigterm"])
def test_queue_pressure_kill_recovers_on_its_own_after_a_restart(server_factory, tmp_path, how):
    """Restarted during a queue-pressure kill (SIGKILL: the WAL's controls; SIGTERM: the stop's snapshot), the
    gateway comes back killed with the same cause and auto-recovers with its hysteresis, as without the restart;
    before, the REJECT_ALL came back without the kill and refused every order until /admin/reset."""
    text = Path(__file__).with_name("gateway_pressure.yaml").read_text()
    assert "recover_after: 1s" in text
    cfg = tmp_path / "gateway_pressure_slow.yaml"
    cfg.write_text(text.replace("recover_after: 1s", "recover_after: 3s"))  # the kill holds while we restart
    srv = server_factory("--loopback", "rest", config=cfg).start()
    tok = token()

    async def burst(n):
        clients = [AsyncClient(srv.port) for _ in range(n)]
        try:
            return await asyncio.gather(*(c.post("/orders", order(f"p{i}", price=700, symbol="MSFT"), tok, f"p{i}")
                                          for i, c in enumerate(clients)))
        finally:
            for c in clients:
                await c.close()

    assert 503 in [code for code, _ in asyncio.run(burst(300))]
    _, h = srv.request("GET", "/health")
    assert h["ingress"]["killed"] and h["ingress"]["cause"].startswith("queue_pressure"), h["ingress"]
    if how == "sigkill":
        srv.kill9()
    else:
        assert srv.stop() == 0
    srv.start()
    _, h = srv.request("GET", "/health")
    assert h["mode"] == "REJECT_ALL" and h["ingress"]["killed"], h
    assert h["ingress"]["cause"].startswith("queue_pressure"), h["ingress"]
    code, d = srv.request("POST", "/orders", order("during", symbol="MSFT"), tok, {"Idempotency-Key": "during"})
    assert code == 503 and d["error"] == "KILLED", d
    end = time.time() + 15  # idle: utilisation <= recover_pct for recover_after (3 s) -> recovers
    while time.time() < end and srv.request("GET", "/health")[1]["ingress"]["killed"]:
        time.sleep(0.1)
    _, h = srv.request("GET", "/health")
    assert not h["ingress"]["killed"] and h["mode"] == "ALLOW_ALL", h
    assert srv.metrics()["gateway_kill_switch_recoveries_total"] >= 1
    code, d = srv.request("POST", "/orders", order("after", symbol="MSFT"), tok, {"Idempotency-Key": "after"})
    assert code == 201, d


def _loss(srv, tok, tag: str, buy: int = 1000, sell: int = 900, qty: int = 10) -> None:
    """A round trip of `loser` on MSFT (IOC orders, filled by the loopback venue): a realised loss of
    (buy - sell) * qty money units."""
    for side, px in (("buy", buy), ("sell", sell)):
        code, d = srv.request("POST", "/orders", order(f"{tag}-{side}", side=side, price=px, qty=qty,
                                                       strategy="loser", symbol="MSFT", tif="ioc"),
                              tok, {"Idempotency-Key": f"{tag}-{side}"})
        assert code == 201, d
        _wait_status(srv, d["order_id"], tok, "filled")


def test_breaker_cooldown_steps_down_without_orders_and_is_recovered(server_factory, tmp_path):
    """The StormGuard's cooldown is driven by the writer's timer, not by the next order: with a 2 s cooldown and
    ``loss_auto_recover`` a daily-loss HALT steps down to DEGRADED and then NORMAL with no order arriving, each step
    a journaled control, so a SIGKILL and restart comes back NORMAL (before: /health stayed HALT until an order
    came, and that first order was refused)."""
    text = Path(__file__).with_name("gateway_service.yaml").read_text()
    assert "storm:\n  cooldown: 600s\n" in text
    cfg = tmp_path / "gateway_cooldown.yaml"
    cfg.write_text(text.replace("storm:\n  cooldown: 600s\n", "storm:\n  cooldown: 2s\n  loss_auto_recover: true\n"))
    home = tmp_path / "cooldown"
    srv = server_factory("--loopback", "rest", config=cfg, home=home).start()
    tok = token(strategies=("loser",))
    _loss(srv, tok, "trip")  # realised loss 1000 > daily_loss 100: HALT
    tripped = time.monotonic()
    _, h = srv.request("GET", "/health")
    assert h["storm"] == "HALT" and h["mode"] == "REJECT_ALL", h
    seen = []
    end = time.monotonic() + 20
    while time.monotonic() < end:  # no order from here on
        _, h = srv.request("GET", "/health")
        if not seen or seen[-1] != h["storm"]:
            seen.append(h["storm"])
        if h["storm"] == "NORMAL":
            break
        time.sleep(0.1)
    assert seen[-1] == "NORMAL" and h["mode"] == "ALLOW_ALL", (seen, h)
    assert "DEGRADED" in seen and time.monotonic() - tripped >= 1.5, seen
    steps = [e["ts"] for e in _wal_journal(home) if e["source"] == "control:cooldown"]
    assert len(steps) == 2 and steps[1] - steps[0] >= 2_000_000_000, steps  # a full quiet cooldown for each step
    srv.kill9()
    srv2 = Server(home, "--loopback", "rest", config=cfg).start()  # the steps down are replayed from the WAL
    try:
        _, h = srv2.request("GET", "/health")
        assert h["storm"] == "NORMAL" and h["mode"] == "ALLOW_ALL" and h["recovery"]["mismatches"] == 0, h
        assert h["recovery"]["controls"] == 2, h["recovery"]
        code, d = srv2.request("POST", "/orders", order("after", price=800, symbol="MSFT"), token(),
                               {"Idempotency-Key": "after"})  # (loser's own orders meet its daily loss limit)
        assert code == 201, d
    finally:
        srv2.stop()


def _wal_journal(home: Path) -> list[dict]:
    """The controls, marks and reports the service journaled (``sim.orders``: the source column says which)."""
    from hft.recorder.reader import iter_records

    return [r for _, r in iter_records(home / "wal" / "gateway-live", frozenset({"sim.orders"}))
            if r["source"].startswith("control:")]


@pytest.mark.shared_data
def test_kill_with_flatten_cancels_the_working_orders_once_and_not_its_closing_order(shared_data, tmp_path):
    """The kill switch with ``storm.flatten_on_halt`` on the paper venue (its feed marks the reference price): it
    cancels exactly the orders working before it (its answer's ``cancels``), then sends the closing order of the
    open position, which it leaves alone (before: a second cancel_all after the flatten cancelled it too, and
    ``cancels`` counted it)."""
    day = shared_data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"
    if not day.exists():
        pytest.skip(f"{day} not present")
    text = Path(__file__).with_name("gateway_service.yaml").read_text()
    assert "storm:\n  cooldown: 600s\n" in text
    cfg = tmp_path / "gateway_flatten.yaml"
    cfg.write_text(text.replace("storm:\n  cooldown: 600s\n", "storm:\n  cooldown: 600s\n  flatten_on_halt: true\n"))
    home = tmp_path / "flatten"
    srv = Server(home, "--paper", str(day), "--speed", "20", config=cfg).start(timeout=300)
    try:
        h = srv.health_after_first_trade()
        last = h["venue"]["last_trade"]
        assert last > 0, h["venue"]
        tok, admin = token(), token(accounts=("*",), strategies=("*",), admin=True)
        code, d = srv.request("POST", "/orders", order("open", side="sell", price=last - 200, qty=1, symbol="GOOG",
                                                       tif="ioc"), tok, {"Idempotency-Key": "open"})
        assert code == 201 and d["accepted"], d
        _wait_status(srv, d["order_id"], tok, "filled", timeout=60)  # short 1 GOOG: the kill closes it
        oids = _working(srv, tok, 2, symbol="GOOG", tag="rest")  # far below the market: they rest
        code, k = srv.request("POST", "/admin/kill", token=admin)
        assert code == 200 and k["cancels"] == len(oids), k
        for oid in oids:
            _wait_status(srv, oid, tok, "canceled", timeout=30)
    finally:
        srv.stop()
    from hft.core.orders import INTENT_CANCEL, INTENT_NEW, NO_KEY
    from hft.recorder.reader import iter_records

    decs = [r for _, r in iter_records(home / "wal" / "gateway-live", frozenset({"audit.gateway_decisions"}))]
    internal = [r for r in decs if r["key"] == NO_KEY and r["accepted"]]
    closing = [r for r in internal if r["kind"] == INTENT_NEW]
    assert len(closing) == 1 and closing[0]["side"] == 1 and closing[0]["qty"] == 1, closing  # buys back the short
    cancelled = sorted(r["target_id"] for r in internal if r["kind"] == INTENT_CANCEL)
    assert cancelled == sorted(oids), (cancelled, closing[0]["order_id"])  # not the closing order


@pytest.mark.parametrize("cancel", [True, False])
def test_sigterm_cancels_the_working_orders_unless_configured_off(server_factory, tmp_path, cancel):
    """``server.cancel_on_shutdown`` (default true): SIGTERM cancels the working orders at the venue before the WAL
    closes (a journaled ``control:cancel_all``), so the next start finds them cancelled; false leaves them working
    at the venue and the gateway alike (before: always left working)."""
    text = Path(__file__).with_name("gateway_service.yaml").read_text()
    cfg = tmp_path / "gateway_shutdown.yaml"
    cfg.write_text(text if cancel else text.replace("server:\n", "server:\n  cancel_on_shutdown: false\n"))
    home = tmp_path / "shutdown"
    srv = server_factory("--loopback", "rest", config=cfg, home=home).start()
    tok = token()
    oids = _working(srv, tok, 2)
    code, d = srv.request("POST", "/orders", order("done", price=900, symbol="MSFT", tif="ioc"), tok,
                          {"Idempotency-Key": "done"})
    assert code == 201
    _wait_status(srv, d["order_id"], tok, "filled")
    assert srv.stop() == 0
    assert _cancels(srv) == (set(oids) if cancel else set())  # the filled order is not cancelled
    answered = {e["order_id"] for e in srv.journal() if e["ev"] == "report" and e["kind"] == 4}  # CANCELED
    assert answered == (set(oids) if cancel else set())
    controls = [f'{e["source"]}:{e["symbol_name"]}' for e in _wal_journal(home)]
    assert controls == (["control:cancel_all:shutdown"] if cancel else []), controls
    srv.start()
    _, h = srv.request("GET", "/health")
    assert h["recovery"]["mismatches"] == 0 and h["recovery"]["reports_applied"] == 0, h["recovery"]  # all in the WAL
    for oid in oids:
        _, v = srv.request("GET", f"/orders/{oid}", token=tok)
        assert v["status"] == ("canceled" if cancel else "working"), v
