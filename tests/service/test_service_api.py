"""The order API of `hft gateway serve`, driven over the network (one server per module: start-up is costly)."""

from __future__ import annotations

import pytest
from svckit import Server, order, thp_enabled, token


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("api") / "home", "--loopback", "rest").start()
    yield s
    assert s.stop() == 0  # SIGTERM: drained, WAL closed, exit 0


def test_ready_line_port_from_env_and_health(srv):
    assert f"127.0.0.1:{srv.port}" in srv.ready_line  # HFT_GATEWAY_PORT, no --port
    code, h = srv.request("GET", "/health")
    assert code == 200 and h["ready"] and h["mode"] == "ALLOW_ALL"
    assert h["wal"]["disk_level"] == "NORMAL"  # the disk-pressure monitor watches the WAL
    assert h["venue"]["kind"] == "loopback"


def test_no_transparent_huge_pages_in_the_service(srv):
    """The service runs without transparent huge pages (`hft.core.memory.no_transparent_huge_pages`: a first touch of a 2 MB
    page stalled the writer ~4.7 ms); the kernel says so in the process's status (Linux 5.0+)."""
    thp = thp_enabled(srv.proc.pid)
    if thp is None:
        pytest.skip("no THP_enabled line in /proc/PID/status (not Linux, or a kernel before 5.0)")
    assert thp == "0"


def test_durable_order_duplicate_lookup_cancel(srv):
    tok = token()
    code, d = srv.request("POST", "/orders", order("a1"), tok, {"Idempotency-Key": "a1-key"})
    assert code == 201 and d["accepted"] and d["reason"] == "OK" and not d["duplicate"]
    oid = d["order_id"]
    code, d2 = srv.request("POST", "/orders", order("a1"), tok, {"Idempotency-Key": "a1-key"})
    assert code == 200 and d2["duplicate"] and d2["order_id"] == oid
    code, v = srv.request("GET", f"/orders/{oid}", token=tok)
    assert code == 200 and v["status"] == "working" and v["client_order_id"] == "a1" and v["leaves"] == 5
    code, v2 = srv.request("GET", "/orders/client/a1", token=tok)
    assert code == 200 and v2["order_id"] == oid
    code, c = srv.request("POST", f"/orders/{oid}/cancel", token=tok)
    assert code == 201 and c["accepted"] and c["kind"] == "cancel"
    for _ in range(50):
        _, v = srv.request("GET", f"/orders/{oid}", token=tok)
        if v["status"] == "canceled":
            break
    assert v["status"] == "canceled"
    cmds = [(e["action"], e["order_id"]) for e in srv.journal() if e["ev"] == "cmd"]
    assert cmds.count((1, oid)) == 1 and cmds.count((2, oid)) == 1  # dispatched once each


def test_volatile_order_and_fill_position(srv):
    tok = token()
    code, d = srv.request("POST", "/v3/orders", order("v1", tif="ioc", price=10005, qty=3))
    assert code == 401
    code, d = srv.request("POST", "/v3/orders", order("v1", tif="ioc", price=10005, qty=3), tok)
    assert code == 201 and d["accepted"]
    for _ in range(50):
        _, v = srv.request("GET", f"/orders/{d['order_id']}", token=tok)
        if v["status"] == "filled":
            break
    assert v["status"] == "filled" and v["fills"][0]["qty"] == 3 and v["fills"][0]["price"] == 10005
    code, pos = srv.request("GET", "/positions", token=tok)
    assert code == 200
    assert any(p["symbol"] == "AAPL" and p["position"] >= 3 for p in pos)


def test_token_may_not_trade_as_others(srv):
    tok = token(accounts=("ACC1",), strategies=("mm1",))
    code, d = srv.request("POST", "/orders", order("x1", account="ACC2"), tok, {"Idempotency-Key": "x1"})
    assert code == 403 and d["error"] == "FORBIDDEN"
    code, d = srv.request("POST", "/orders", order("x2", strategy="mm2"), tok, {"Idempotency-Key": "x2"})
    assert code == 403
    other = token(accounts=("ACC2",), strategies=("mm1",))
    code, d = srv.request("POST", "/orders", order("x3"), tok, {"Idempotency-Key": "x3"})
    assert code == 201
    code, _ = srv.request("GET", f"/orders/{d['order_id']}", token=other)
    assert code == 404  # another account's order is not visible


def test_metrics_exposition(srv):
    m = srv.metrics()
    for name in ('gateway_ingress_total{result="accepted"}', 'gateway_ingress_total{result="soft_rejected"}',
                 'gateway_ingress_total{result="killed"}', "gateway_ingress_queue_depth",
                 "gateway_ingress_queue_capacity", "gateway_ingress_utilisation_pct", "gateway_kill_switch",
                 "gateway_kill_switch_recoveries_total", 'gateway_ack_latency_ns_count{path="durable"}',
                 'gateway_http_stage_latency_ns_count{stage="parse"}',
                 'gateway_live_stage_latency_ns_count{stage="wal"}', 'gateway_decisions_total{result="accepted"}'):
        assert name in m, name
    assert m["gateway_ingress_queue_capacity"] == 64
    assert m['gateway_ack_latency_ns_count{path="durable"}'] >= 1
    assert m['gateway_ack_latency_ns_count{path="volatile"}'] >= 1


def test_market_order_fills_at_the_venues_reference_price_and_is_accounted(srv):
    """A market order (price 0) fills at the loopback venue's last fill price of the symbol; the gateway counts
    the fill and releases the working reservation, so a later sell is not a self-match."""
    tok = token(strategies=("mm2",))
    code, _ = srv.request("POST", "/v3/orders", order("mk1", strategy="mm2", symbol="MSFT", tif="ioc", price=4321,
                                                      qty=2), tok)
    assert code == 201
    code, d = srv.request("POST", "/v3/orders", order("mk2", strategy="mm2", symbol="MSFT", price=0, qty=1,
                                                      order_type="market", tif="ioc"), tok)
    assert code == 201 and d["accepted"]
    for _ in range(50):
        _, v = srv.request("GET", "/orders/client/mk2", token=tok)
        if v["status"] == "filled":
            break
    assert v["status"] == "filled" and v["fills"][0]["price"] == 4321 and v["fills"][0]["qty"] == 1
    _, pos = srv.request("GET", "/positions", token=tok)
    msft = [p for p in pos if p["symbol"] == "MSFT" and p["strategy"] == "mm2"]
    assert msft == [{"account": "ACC1", "strategy": "mm2", "symbol": "MSFT", "position": 3, "working_buy": 0,
                     "working_sell": 0}]
    code, d = srv.request("POST", "/v3/orders", order("mk3", side="sell", strategy="mm2", symbol="MSFT", tif="ioc",
                                                      price=4321, qty=3), tok)
    assert code == 201, d
    fills = [e for e in srv.journal() if e["ev"] == "report" and e["kind"] == 3 and e["order_id"] == v["order_id"]]
    assert [f["price"] for f in fills] == [4321]
