"""The ``fix`` venue adapter (`hft.live.fix`, a QuickFIX initiator) against the FIX 4.4 exchange of
`hft.live.fix_exchange` (a QuickFIX acceptor) run as its own process on a free loopback port: the adapter alone
(fills, partial fills, replace, cancel, the venue's refusal of a repeated ClOrdID, the exchange's restart), the
conformance suite through the real service (a SIGKILL of the service included), and a SIGKILL of the exchange
with an order in flight."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import yaml

pytest.importorskip("quickfix", reason="the fix venue adapter needs the package quickfix-ssl (pip install "
                    "'hft[fix]'; wheels for CPython 3.11 on Linux)")

from svckit import Server, token, wal_reports

from hft.core.errors import ConfigError
from hft.core.orders import (
    CMD_CANCEL,
    CMD_NEW,
    CMD_REPLACE,
    LIQ_MAKER,
    LIQ_NONE,
    LIQ_TAKER,
    ORDER_LIMIT,
    ORDER_POST_ONLY,
    ORDER_STOP,
    ORDER_STOP_LIMIT,
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    REPORT_TRIGGERED,
    TIF_GTC,
    TIF_GTD,
    TIF_IOC,
)
from hft.gateway.intents import OrderCommand
from hft.live import venue_conformance as vc
from hft.live.fix import FixVenue, utc_timestamp, utc_timestamp_ns
from hft.live.fix_exchange import ExchangeProcess
from hft.live.venue import VenueContext, venue_adapter

pytestmark = pytest.mark.slow

REF = 10_000  # the exchange's reference price of AAPL: a buy at or above it fills, below it rests


@pytest.fixture
def exchange(tmp_path):
    ex = ExchangeProcess(tmp_path / "exchange", {"AAPL": REF}, max_fill=2, clients=("HFT", "HFT-ALONE")).start()
    yield ex
    ex.stop()


def _cmd(action: int, oid: int, price: int = 0, qty: int = 0, tif: int = TIF_GTC,
         order_type: int = ORDER_LIMIT) -> OrderCommand:
    return OrderCommand(action, oid, None, "ACC1", "s1", "AAPL", 1, price, qty, order_type, tif, 0)


async def _until(reps: list, n: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while len(reps) < n and time.monotonic() < end:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # and nothing more


def _kinds(reps: list, oid: int) -> list[tuple[int, int, int, int]]:
    return [(r.kind, r.price, r.qty, r.leaves) for r in reps if r.order_id == oid]


def test_the_adapter_maps_fix_execution_reports_to_the_gateways(exchange, tmp_path):
    async def go() -> tuple[list, FixVenue]:
        v = FixVenue(tmp_path / "adapter", exchange.port, logon_timeout=10)
        reps: list = []
        v.start(asyncio.get_running_loop(), reps.append)
        v.send(_cmd(CMD_NEW, 1, REF, 3, TIF_IOC))  # marketable: fills of at most 2 lots (the exchange's max fill)
        v.send(_cmd(CMD_NEW, 2, REF - 500, 2))  # rests
        v.send(_cmd(CMD_NEW, 3, REF - 500, 1, TIF_IOC))  # not marketable, IOC: expires
        v.send(_cmd(CMD_NEW, 4, REF, 1, TIF_GTC, ORDER_POST_ONLY))  # post-only (ExecInst 6) that would take
        await _until(reps, 7)
        v.send(_cmd(CMD_REPLACE, 2, REF - 600, 4))  # new open size 4
        await _until(reps, 8)
        v.send(_cmd(CMD_CANCEL, 2))
        await _until(reps, 9)
        v.send(_cmd(CMD_CANCEL, 2))  # not open any more
        await _until(reps, 10)
        v.close()
        return reps, v

    reps, v = asyncio.run(go())
    assert _kinds(reps, 1) == [(REPORT_ACK, 0, 0, 3), (REPORT_PARTIAL_FILL, REF, 2, 1), (REPORT_FILL, REF, 1, 0)]
    # LastLiquidityInd 2 (removed liquidity): a taker's fills; FIX 4.4 has no queue position: never said
    assert [r.liquidity for r in reps if r.order_id == 1] == [LIQ_NONE, LIQ_TAKER, LIQ_TAKER]
    assert {r.queue for r in reps} == {-1}
    assert _kinds(reps, 2) == [(REPORT_ACK, 0, 0, 2), (REPORT_REPLACED, REF - 600, 0, 4), (REPORT_CANCELED, 0, 0, 0),
                               (REPORT_CANCEL_REJECTED, 0, 0, -1)]
    assert _kinds(reps, 3) == [(REPORT_ACK, 0, 0, 1), (REPORT_EXPIRED, 0, 0, 0)]
    assert _kinds(reps, 4) == [(REPORT_REJECTED, 0, 0, 0)]
    assert v.positions() == {("ACC1", "s1", "AAPL"): 3}
    assert v.received() == {(CMD_NEW, 1), (CMD_NEW, 2), (CMD_NEW, 3), (CMD_NEW, 4), (CMD_REPLACE, 2),
                            (CMD_CANCEL, 2)}


def _gtd(oid: int, price: int, expire: int, qty: int = 1) -> OrderCommand:
    return OrderCommand(CMD_NEW, oid, None, "ACC1", "s1", "AAPL", 1, price, qty, ORDER_LIMIT, TIF_GTD, 0, 0, expire)


def _iceberg(oid: int, price: int, qty: int, display: int) -> OrderCommand:
    return OrderCommand(CMD_NEW, oid, None, "ACC1", "s1", "AAPL", 1, price, qty, ORDER_LIMIT, TIF_GTC, 0, 0, 0,
                        display)


def test_utc_timestamps_are_milliseconds_truncated_and_read_back():
    """ExpireTime goes out in milliseconds, truncated: a GTD order never outlives its time on the venue."""
    ns = 1_700_000_000_123_999_999
    assert utc_timestamp(ns) == "20231114-22:13:20.123"
    assert utc_timestamp_ns(utc_timestamp(ns)) == ns - 999_999
    assert utc_timestamp_ns("not a time") == 0


def test_gtd_orders_and_icebergs_are_held_by_the_fix_venue(exchange, tmp_path):
    """A GTD order goes out as TimeInForce 6 with its ExpireTime; the exchange expires it at its time (EXPIRED
    after the time, not before), at once when it arrives after its time with nothing to take, never when it filled
    or was cancelled first, and at its start when its time passed while the exchange was down — before the new
    prices could fill it. An iceberg's display is MaxFloor: resting, it fills MaxFloor lots at a time when the
    exchange starts again with a price that reaches it (1 + 1 + 1, where the exchange's fills take 2); taking as it
    arrives, it fills as any order (2 + 1)."""
    async def go() -> tuple[list, FixVenue, int]:
        v = FixVenue(tmp_path / "adapter", exchange.port, logon_timeout=10)
        reps: list = []
        v.start(asyncio.get_running_loop(), reps.append)
        now = time.time_ns()
        v.send(_gtd(1, REF - 500, now + 1_500_000_000))  # rests, expires in 1.5 s
        v.send(_gtd(2, REF, now + 60 * 10**9))  # takes at once: filled, never expired
        v.send(_gtd(3, REF - 500, now + 60 * 10**9))  # rests, cancelled before its time
        v.send(_gtd(4, REF - 500, now - 10**9))  # arrives after its time: ACK, then EXPIRED at once
        v.send(_gtd(5, REF - 100, now + 4 * 10**9))  # rests; its time passes while the exchange is down
        v.send(_iceberg(6, REF - 100, 3, 1))  # rests, shows 1 lot
        v.send(_iceberg(7, REF, 3, 1))  # takes as it arrives
        await _until(reps, 11)
        v.send(_cmd(CMD_CANCEL, 3))
        end = time.monotonic() + 10
        while not any(r.order_id == 1 and r.kind == REPORT_EXPIRED for r in reps) and time.monotonic() < end:
            await asyncio.sleep(0.01)
        exchange.stop()
        await asyncio.sleep(max(0.0, (now + 4 * 10**9 - time.time_ns()) / 1e9) + 0.2)
        exchange.refs["AAPL"] = REF - 200  # order 5 (REF - 100) and 6 would take now
        exchange.start()
        await _until(reps, 19, timeout=20)
        v.close()
        return reps, v, now

    reps, v, now = asyncio.run(go())
    assert _kinds(reps, 1) == [(REPORT_ACK, 0, 0, 1), (REPORT_EXPIRED, 0, 0, 0)]
    expired_at = next(r.ts for r in reps if r.order_id == 1 and r.kind == REPORT_EXPIRED)  # its TransactTime
    assert now + 1_500_000_000 <= expired_at <= now + 2_500_000_000  # at its time (the exchange looks every 0.2 s)
    assert _kinds(reps, 2) == [(REPORT_ACK, 0, 0, 1), (REPORT_FILL, REF, 1, 0)]
    assert _kinds(reps, 3) == [(REPORT_ACK, 0, 0, 1), (REPORT_CANCELED, 0, 0, 0)]
    assert _kinds(reps, 4) == [(REPORT_ACK, 0, 0, 1), (REPORT_EXPIRED, 0, 0, 0)]
    assert _kinds(reps, 5) == [(REPORT_ACK, 0, 0, 1), (REPORT_EXPIRED, 0, 0, 0)]  # not filled at REF - 200
    assert _kinds(reps, 6) == [(REPORT_ACK, 0, 0, 3), (REPORT_PARTIAL_FILL, REF - 200, 1, 2),
                               (REPORT_PARTIAL_FILL, REF - 200, 1, 1), (REPORT_FILL, REF - 200, 1, 0)]
    assert {r.liquidity for r in reps if r.order_id == 6 and r.kind != REPORT_ACK} == {LIQ_MAKER}
    assert _kinds(reps, 7) == [(REPORT_ACK, 0, 0, 3), (REPORT_PARTIAL_FILL, REF, 2, 1), (REPORT_FILL, REF, 1, 0)]
    assert v.positions() == {("ACC1", "s1", "AAPL"): 7}
    assert v.received() == {*((CMD_NEW, i) for i in range(1, 8)), (CMD_CANCEL, 3)}


def test_linked_orders_are_refused_by_the_adapter_without_a_message(exchange, tmp_path):
    """Its counterparty links nothing: an order paired with another (``oco``) and a bracket child (``parent``) are
    each answered REJECTED at once, nothing sent or journaled (so never re-sent, and never sent as a plain order,
    which would work unlinked), counted in ``links_refused``; a limit order after them goes on as usual."""
    async def go() -> tuple[list, FixVenue]:
        v = FixVenue(tmp_path / "adapter", exchange.port, logon_timeout=10)
        reps: list = []
        v.start(asyncio.get_running_loop(), reps.append)
        v.send(OrderCommand(CMD_NEW, 7, None, "ACC1", "s1", "AAPL", -1, REF + 100, 1, ORDER_LIMIT, TIF_GTC, 0,
                            oco=6))
        v.send(OrderCommand(CMD_NEW, 8, None, "ACC1", "s1", "AAPL", -1, REF + 100, 1, ORDER_LIMIT, TIF_GTC, 0,
                            parent=6))
        v.send(_cmd(CMD_NEW, 3, REF, 1))
        await _until(reps, 4)
        v.close()
        return reps, v

    reps, v = asyncio.run(go())
    for oid in (7, 8):
        assert _kinds(reps, oid) == [(REPORT_REJECTED, 0, 0, 0)], oid
    assert _kinds(reps, 3) == [(REPORT_ACK, 0, 0, 1), (REPORT_FILL, REF, 1, 0)]
    assert v.health()["links_refused"] == 2
    assert v.sent == 1 and v.received() == {(CMD_NEW, 3)}


def test_trailing_stops_are_held_by_the_fix_venue_and_follow_its_price(exchange, tmp_path):
    """A trailing stop goes out as its stop with ExecInst a and PegOffsetValue (211) the trail, negative for a sell;
    the exchange moves the trigger toward each reference price that does not reach it, hand-derived (REF 10000):

    * sell stop, trigger REF - 100, trail 50: on arrival the reference (REF) moves it to REF - 50; the exchange
      started again at REF + 100 moves it to REF + 50; started again at REF + 40 (at or below REF + 50) it triggers:
      TRIGGERED at REF + 40, a market sell filled there. A plain stop at REF - 100 would not have triggered.
    * buy stop-limit, trigger REF + 100, limit REF + 110, trail 30: on arrival to REF + 30, its limit with it to
      REF + 40; at REF + 100 (at or above REF + 30) it triggers: TRIGGERED at REF + 100, a buy limit at REF + 40
      rests; at REF + 40 it fills there (it rested: maker). Untrailed, it would have bought at REF + 100."""
    async def go() -> list:
        v = FixVenue(tmp_path / "adapter", exchange.port, logon_timeout=10)
        reps: list = []
        v.start(asyncio.get_running_loop(), reps.append)
        v.send(OrderCommand(CMD_NEW, 1, None, "ACC1", "s1", "AAPL", -1, 0, 1, ORDER_STOP, TIF_GTC, 0, REF - 100,
                            trail=50))
        v.send(OrderCommand(CMD_NEW, 2, None, "ACC1", "s1", "AAPL", 1, REF + 110, 1, ORDER_STOP_LIMIT, TIF_GTC, 0,
                            REF + 100, trail=30))
        await _until(reps, 2)
        for ref, n in ((REF + 100, 3), (REF + 40, 6)):  # the last trade moves while the client is connected
            exchange.stop()
            exchange.refs["AAPL"] = ref
            exchange.start()
            await _until(reps, n, timeout=20)
        v.close()
        return reps

    reps = asyncio.run(go())
    assert _kinds(reps, 1) == [(REPORT_ACK, 0, 0, 1), (REPORT_TRIGGERED, REF + 40, 0, 1),
                               (REPORT_FILL, REF + 40, 1, 0)]
    assert _kinds(reps, 2) == [(REPORT_ACK, 0, 0, 1), (REPORT_TRIGGERED, REF + 100, 0, 1),
                               (REPORT_FILL, REF + 40, 1, 0)]
    assert {r.order_id: r.liquidity for r in reps if r.kind == REPORT_FILL} == {1: LIQ_TAKER, 2: LIQ_MAKER}
    state = [json.loads(line) for line in (exchange.dir / "orders.jsonl").read_text().splitlines()]
    last = {o["order_id"]: o for o in state}
    assert sorted((o["side"], o["stop_px"], o.get("price")) for o in last.values()) == [
        ("1", REF + 30, REF + 40), ("2", REF + 50, None)]  # the triggers as the trail left them


def _stop(oid: int, side: int, otype: int, price: int, trigger: int, qty: int = 1) -> OrderCommand:
    return OrderCommand(CMD_NEW, oid, None, "ACC1", "s1", "AAPL", side, price, qty, otype, TIF_GTC, 0, trigger)


def test_stops_are_held_by_the_fix_venue_and_triggered_by_its_price(exchange, tmp_path):
    """A stop (OrdType 3) and a stop-limit (4) go out with their trigger as StopPx: held by the exchange (ACK)
    until its reference price (its last trade) reaches the trigger. One the reference has reached already triggers
    at once (TRIGGERED at the reference, then its fills); the others wait; the exchange started again with a
    higher price triggers the buy stop (a market order: filled at the new reference, taking) and the buy stop-limit
    whose limit is above it, not the one whose limit is below; a held stop is cancelled as any order; a replace of
    one is refused by the exchange. The adapter's positions are the fills'."""
    async def go() -> tuple[list, FixVenue]:
        v = FixVenue(tmp_path / "adapter", exchange.port, logon_timeout=10)
        reps: list = []
        v.start(asyncio.get_running_loop(), reps.append)
        v.send(_stop(1, -1, ORDER_STOP_LIMIT, REF - 1, REF))  # sell, trigger at the reference: triggers at once
        v.send(_stop(2, 1, ORDER_STOP, 0, REF + 5))  # buy stops above the reference: held
        v.send(_stop(3, 1, ORDER_STOP_LIMIT, REF + 20, REF + 5))
        v.send(_stop(4, 1, ORDER_STOP_LIMIT, REF + 6, REF + 5))  # its limit below the price that will trigger it
        v.send(_stop(5, -1, ORDER_STOP, 0, REF - 50))  # held, then cancelled
        await _until(reps, 7)
        v.send(_cmd(CMD_CANCEL, 5))
        v.send(_cmd(CMD_REPLACE, 4, REF + 7, 1))
        await _until(reps, 9)
        exchange.stop()
        exchange.refs["AAPL"] = REF + 10  # the last trade moved up while the client is connected
        exchange.start()
        await _until(reps, 14, timeout=20)
        v.close()
        return reps, v

    reps, v = asyncio.run(go())
    assert _kinds(reps, 1) == [(REPORT_ACK, 0, 0, 1), (REPORT_TRIGGERED, REF, 0, 1), (REPORT_FILL, REF, 1, 0)]
    assert _kinds(reps, 2) == [(REPORT_ACK, 0, 0, 1), (REPORT_TRIGGERED, REF + 10, 0, 1),
                               (REPORT_FILL, REF + 10, 1, 0)]
    assert _kinds(reps, 3) == [(REPORT_ACK, 0, 0, 1), (REPORT_TRIGGERED, REF + 10, 0, 1),
                               (REPORT_FILL, REF + 10, 1, 0)]
    assert _kinds(reps, 4) == [(REPORT_ACK, 0, 0, 1), (REPORT_REPLACE_REJECTED, 0, 0, -1),
                               (REPORT_TRIGGERED, REF + 10, 0, 1)]  # a limit at REF + 6 now rests
    assert _kinds(reps, 5) == [(REPORT_ACK, 0, 0, 1), (REPORT_CANCELED, 0, 0, 0)]
    fill_liq = {r.order_id: r.liquidity for r in reps if r.kind == REPORT_FILL}
    assert fill_liq == {1: LIQ_TAKER, 2: LIQ_TAKER, 3: LIQ_TAKER}
    assert v.positions() == {("ACC1", "s1", "AAPL"): 1}  # sold 1, bought 2


def test_a_repeated_order_id_is_never_executed_twice(exchange, tmp_path):
    async def once() -> tuple[list, int]:
        v = FixVenue(tmp_path / "adapter", exchange.port, logon_timeout=10)
        reps: list = []
        v.start(asyncio.get_running_loop(), reps.append)
        v.send(_cmd(CMD_NEW, 1, REF, 1))
        end = time.monotonic() + 10
        while not reps and not v.duplicates and time.monotonic() < end:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        v.close()
        return reps, v.duplicates

    first, dups = asyncio.run(once())
    assert [r.kind for r in first] == [REPORT_ACK, REPORT_FILL] and dups == 0
    assert asyncio.run(once()) == ([], 1)  # the adapter's journal knows it sent order 1: refused, not sent
    (tmp_path / "adapter" / "journal.jsonl").unlink()  # the journal lost, QuickFIX's store kept (one session)
    assert asyncio.run(once()) == ([], 1)  # the exchange refuses the ClOrdID it has (OrdRejReason 6): no report


def test_the_exchange_keeps_its_orders_across_its_restart(exchange, tmp_path):
    async def go() -> list:
        v = FixVenue(tmp_path / "adapter", exchange.port, logon_timeout=10)
        reps: list = []
        v.start(asyncio.get_running_loop(), reps.append)
        v.send(_cmd(CMD_NEW, 5, REF - 100, 2))
        await _until(reps, 1)
        exchange.kill9()
        exchange.start()
        end = time.monotonic() + 20
        while v.logons < 2 and time.monotonic() < end:
            await asyncio.sleep(0.05)
        v.send(_cmd(CMD_CANCEL, 5))
        await _until(reps, 2)
        v.close()
        return reps

    reps = asyncio.run(go())
    assert [r.kind for r in reps] == [REPORT_ACK, REPORT_CANCELED]


def test_a_command_journaled_but_never_sent_is_not_received_and_goes_out_again(exchange, tmp_path):
    # a crash between the adapter's journal and the wire: the venue's status answer does not know the ClOrdID
    store = tmp_path / "adapter"
    store.mkdir()
    (store / "journal.jsonl").write_text('{"ev":"cmd","action":1,"order_id":9,"clordid":"9","account":"ACC1",'
                                         '"strategy":"s1","symbol":"AAPL","side":1}\n')

    async def go() -> tuple[set, dict, list]:
        v = FixVenue(store, exchange.port, logon_timeout=10)
        received, health = v.received(), v.health()
        reps: list = []
        v.start(asyncio.get_running_loop(), reps.append)
        v.send(_cmd(CMD_NEW, 9, REF, 1))  # the gateway sends it again: not refused as a repeat
        await _until(reps, 2)
        v.close()
        return received, health, reps

    received, health, reps = asyncio.run(go())
    assert received == set() and health["status_requests"] == 1 and health["status_unknown"] == 1
    assert [r.kind for r in reps] == [REPORT_ACK, REPORT_FILL]


def test_bad_options_are_refused_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"venue.options.bogus.*one of \['host', 'port'"):
        venue_adapter("fix", VenueContext({"port": 1, "bogus": 1}, tmp_path / "wal"))
    with pytest.raises(ConfigError, match=r"venue.options.port.*was missing"):
        venue_adapter("fix", VenueContext({}, tmp_path / "wal"))
    with pytest.raises(ConfigError, match=r"venue.options.heartbeat.*integer"):
        venue_adapter("fix", VenueContext({"port": 1, "heartbeat": "30s"}, tmp_path / "wal"))
    with pytest.raises(ConfigError, match=r"venue.options.quickfix.*mapping of QuickFIX setting"):
        venue_adapter("fix", VenueContext({"port": 1, "quickfix": ["SocketNodelay=N"]}, tmp_path / "wal"))


def _profile(ex: ExchangeProcess, **kw) -> vc.Profile:
    return vc.Profile("fix", {"port": ex.port, "logon_timeout": 20},
                      alone_options={"port": ex.port, "sender_comp_id": "HFT-ALONE", "logon_timeout": 20},
                      fill=lambda h: {"side": "buy", "price": REF, "tif": "ioc"},
                      rest=lambda h: {"side": "buy", "price": REF - 1_000, "tif": "gtc"}, **kw)


def test_the_fix_adapter_conforms(exchange, tmp_path):
    out = vc.run(_profile(exchange), tmp_path / "run")
    assert out == dict.fromkeys(vc.CLAUSES, "ok")


def _config(tmp_path, port: int):
    cfg = tmp_path / "gateway.yaml"
    cfg.write_text(yaml.safe_dump({
        "accounts": {"ACC1": {}}, "strategies": {"mm1": {}}, "symbols": {"AAPL": {}},
        "limits": {"defaults": {"max_order_qty": 100, "max_position": 1000, "price_band_bps": None}},
        "server": {"fsync": "batch", "cancel_on_shutdown": False},
        "venue": {"adapter": "fix", "options": {"port": port, "logon_timeout": 20}}}))
    return cfg


def _order(srv: Server, tok: str, coid: str, price: int, tif: str) -> int:
    code, d = srv.request("POST", "/orders", {"client_order_id": coid, "account": "ACC1", "strategy": "mm1",
                                              "symbol": "AAPL", "side": "buy", "qty": 1, "price": price,
                                              "tif": tif}, tok, {"Idempotency-Key": coid})
    assert code in (200, 201) and d["accepted"], d
    return d["order_id"]


def _status(srv: Server, tok: str, oid: int, want: str, timeout: float = 30.0) -> dict:
    end = time.monotonic() + timeout
    while (v := srv.request("GET", f"/orders/{oid}", token=tok)[1])["status"] != want:
        assert time.monotonic() < end, v
        time.sleep(0.05)
    return v


def test_the_gateway_reconnects_and_reconciles_after_the_exchange_is_killed_with_an_order_in_flight(exchange,
                                                                                                   tmp_path):
    cfg = _config(tmp_path, exchange.port)
    srv = Server(tmp_path / "home", config=cfg).start(300)
    tok = token()
    try:
        resting = _order(srv, tok, "rest-1", REF - 1_000, "gtc")
        _status(srv, tok, resting, "working")
        exchange.kill9()
        end = time.monotonic() + 20
        while srv.request("GET", "/health")[1]["venue"]["logged_on"]:
            assert time.monotonic() < end
            time.sleep(0.05)
        flight = _order(srv, tok, "flight-1", REF, "ioc")  # the exchange is down: QuickFIX keeps it in its store
        time.sleep(0.5)
        assert srv.request("GET", f"/orders/{flight}", token=tok)[1]["status"] == "accepted"
        exchange.start()  # its orders and sequence numbers kept: it asks for what it missed, QuickFIX resends it
        v = _status(srv, tok, flight, "filled")
        assert v["filled"] == 1 and [(f["qty"], f["liquidity"]) for f in v["fills"]] == [(1, "taker")]
        _status(srv, tok, resting, "working")  # the exchange kept it across its restart
        code, _ = srv.request("POST", f"/orders/{resting}/cancel", {}, tok)
        assert code in (200, 201, 202)
        _status(srv, tok, resting, "canceled")
        venue = srv.request("GET", "/health")[1]["venue"]
        assert venue["logged_on"] and venue["logons"] == 2 and venue["duplicates"] == 0
        assert [p["position"] for p in srv.request("GET", "/positions", token=tok)[1]] == [1]
    finally:
        srv.stop()


def test_what_the_venue_did_while_the_service_was_down_is_applied_at_its_restart(exchange, tmp_path):
    # a resting order; the service SIGKILLed; the exchange, restarted with a lower reference price, fills it (its
    # report waits in QuickFIX's store); the service's restart logs on, gets it by a resend and applies it
    cfg = _config(tmp_path, exchange.port)
    srv = Server(tmp_path / "home", config=cfg).start(300)
    tok = token()
    try:
        resting = _order(srv, tok, "rest-1", REF - 500, "gtc")
        _status(srv, tok, resting, "working")
        srv.kill9()
        exchange.kill9()
        exchange.refs["AAPL"] = REF - 1_000
        exchange.start()
        srv.start(300)
        v = _status(srv, tok, resting, "filled")
        assert [(f["price"], f["qty"], f["liquidity"]) for f in v["fills"]] == [(REF - 1_000, 1, "maker")]  # it rested
        health = srv.request("GET", "/health")[1]
        assert health["recovery"]["reports_applied"] == 1 and health["recovery"]["positions_differ"] == 0
        assert health["venue"]["duplicates"] == 0
    finally:
        srv.stop()


def test_a_stop_held_by_the_fix_venue_triggers_while_the_service_is_down_and_the_restart_applies_it(exchange,
                                                                                                  tmp_path):
    """A buy stop through the service's order API goes to the FIX exchange, which holds it (the order `working`);
    the service is SIGKILLed, the exchange restarted with its price through the trigger triggers and fills it (the
    reports wait in QuickFIX's store); the service's restart gets them by a resend and applies them: the WAL holds
    the order's ACK, TRIGGERED and FILL once each, its fill at the new price, taking."""
    cfg = _config(tmp_path, exchange.port)
    doc = yaml.safe_load(cfg.read_text())
    doc["risk"] = {"order_types": ["limit", "market", "post_only", "stop", "stop_limit"]}
    cfg.write_text(yaml.safe_dump(doc))
    home = tmp_path / "home"
    srv = Server(home, config=cfg).start(300)
    tok = token()
    try:
        code, d = srv.request("POST", "/orders", {"client_order_id": "stop-1", "account": "ACC1", "strategy": "mm1",
                                                  "symbol": "AAPL", "side": "buy", "qty": 1, "price": 0,
                                                  "order_type": "stop", "trigger": REF + 5}, tok,
                              {"Idempotency-Key": "stop-1"})
        assert code in (200, 201) and d["accepted"], d
        oid = d["order_id"]
        _status(srv, tok, oid, "working")  # held by the exchange: its reference is below the trigger
        srv.kill9()
        exchange.kill9()
        exchange.refs["AAPL"] = REF + 10
        exchange.start()
        srv.start(300)
        v = _status(srv, tok, oid, "filled")
        assert [(f["price"], f["qty"], f["liquidity"]) for f in v["fills"]] == [(REF + 10, 1, "taker")]
        assert [p["position"] for p in srv.request("GET", "/positions", token=tok)[1]] == [1]
    finally:
        srv.stop()
    assert wal_reports(home)[oid] == [REPORT_ACK, REPORT_TRIGGERED, REPORT_FILL]


def test_a_gtd_order_expires_and_an_iceberg_fills_by_its_floor_at_the_fix_venue_while_the_service_is_down(
        exchange, tmp_path):
    """A GTD order and an iceberg through the service's order API, each held by the FIX exchange; the service is
    SIGKILLed; the GTD order's time passes (the exchange expires it: the report waits in QuickFIX's store), then the
    exchange, restarted with a lower price, fills the iceberg one shown lot at a time. The service's restart gets
    the reports by a resend and applies each once: the WAL holds ACK, EXPIRED and ACK, PARTIAL_FILL, FILL."""
    cfg = _config(tmp_path, exchange.port)
    doc = yaml.safe_load(cfg.read_text())
    doc["risk"] = {"tifs": ["gtc", "ioc", "gtd"]}
    cfg.write_text(yaml.safe_dump(doc))
    home = tmp_path / "home"
    srv = Server(home, config=cfg).start(300)
    tok = token()
    body = {"account": "ACC1", "strategy": "mm1", "symbol": "AAPL", "side": "buy", "price": REF - 500}
    try:
        expire = time.time_ns() + 3 * 10**9
        code, d = srv.request("POST", "/orders", {**body, "client_order_id": "gtd-1", "qty": 1, "tif": "gtd",
                                                  "expire": expire}, tok, {"Idempotency-Key": "gtd-1"})
        assert code in (200, 201) and d["accepted"], d
        gtd = d["order_id"]
        code, d = srv.request("POST", "/orders", {**body, "client_order_id": "ice-1", "qty": 2, "display": 1}, tok,
                              {"Idempotency-Key": "ice-1"})
        assert code in (200, 201) and d["accepted"], d
        ice = d["order_id"]
        _status(srv, tok, gtd, "working")
        _status(srv, tok, ice, "working")
        srv.kill9()
        time.sleep(max(0.0, (expire - time.time_ns()) / 1e9) + 0.5)  # the exchange expires it meanwhile
        exchange.kill9()
        exchange.refs["AAPL"] = REF - 1_000
        exchange.start()
        srv.start(300)
        v = _status(srv, tok, ice, "filled")
        assert [(f["price"], f["qty"], f["liquidity"]) for f in v["fills"]] == [(REF - 1_000, 1, "maker")] * 2
        assert _status(srv, tok, gtd, "expired")["filled"] == 0
    finally:
        srv.stop()
    reports = wal_reports(home)
    assert reports[gtd] == [REPORT_ACK, REPORT_EXPIRED]
    assert reports[ice] == [REPORT_ACK, REPORT_PARTIAL_FILL, REPORT_FILL]


def test_the_exchange_rejects_a_trailing_peg_it_cannot_take(tmp_path):
    """The test exchange's own check of a trailing stop peg (the adapter never sends these): a sell whose offset is
    positive, a peg on a limit order, an ExecInst a without PegOffsetValue: each Rejected (ExecType 8) naming the
    peg; a well-formed one is held (New)."""
    from hft.live.fix_exchange import Exchange, _message

    ex = Exchange(tmp_path / "orders.jsonl", {"AAPL": REF})
    base = {"35": "D", "55": "AAPL", "38": 1, "59": "1", "40": "3", "99": REF - 100, "54": "2"}
    cases = (({"11": "a", "18": "a", "211": 50}, "8"),  # a sell trailing above the market
             ({"11": "b", "18": "a", "211": -50, "40": "2", "44": REF + 5}, "8"),  # on a limit order
             ({"11": "c", "18": "a"}, "8"),  # no offset
             ({"11": "d", "18": "a", "211": -50}, "0"))  # held, its trigger moved to REF - 50
    for extra, exec_type in cases:
        fields = {**base, **extra}
        if fields["40"] == "2":
            del fields["99"]
        out = ex._new(_message(fields), "HFT")
        assert out[0]["150"] == exec_type, (extra, out)
        if exec_type == "8":
            assert "trailing stop peg" in out[0]["58"], out
    assert ex.orders["HFT d"]["stop_px"] == REF - 50 and ex.orders["HFT d"]["held"]
