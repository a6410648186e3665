"""The live runner's engine (`hft.live.algo.LiveEngine`) without a service: the market stream's events become the
context's book and trade prints, the order API's answers its decisions (a refusal is no order, as in a replay), the
order stream's reports its fills and orders, and a fill read back by a resumed run is not counted twice. The runs
against a real service: tests/service/test_strategy_live.py."""

from __future__ import annotations

from typing import Any

from hft.core.orders import R_BAD_INPUT, REASON_NAMES
from hft.live.algo import LiveEngine
from hft.sim.strategies.pov import Pov

RATE = next(k for k, v in REASON_NAMES.items() if v == "SUBMIT_RATE")


class FakeClient:
    """The order API's answers, in order; the requests it got."""

    def __init__(self, *answers: tuple[int, dict]) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, str, Any, Any]] = []

    def request(self, method: str, path: str, body: Any = None, headers: Any = None) -> tuple[int, dict]:
        self.requests.append((method, path, body, headers))
        return self.answers.pop(0)


def _engine(client: FakeClient) -> LiveEngine:
    pov = Pov(side=1, qty=10, rate=0.5, min_child=1, limit_price=None, max_child=4)
    return LiveEngine(pov, "pov", "r1", client, "ACC1", "algo1", "GOOG", out=lambda _line: None)  # type: ignore[arg-type]


def _book(bid: int | None, ask: int | None, kind: str = "book", **kw: int) -> dict:
    """An event of the market stream: a book of `bid` and `ask` (sizes 5 and 7) and a level behind each."""
    return {"kind": kind, "side": kw.get("side", 0), "price": kw.get("price", 0), "qty": kw.get("qty", 0),
            "bids": [[bid, 5], [bid - 2, 3]] if bid else [], "asks": [[ask, 7], [ask + 1, 9]] if ask else []}


def test_prints_drive_the_strategy_and_a_refused_child_is_no_order() -> None:
    client = FakeClient((422, {"accepted": False, "reason": "SUBMIT_RATE", "order_id": 0}),
                        (201, {"accepted": True, "reason": "OK", "order_id": 9, "duplicate": False}))
    e = _engine(client)
    ctx = e.ctx
    assert e.on_market(_book(100, 102)) and (ctx.best_bid, ctx.best_ask, ctx.ask_qty) == (100, 102, 7)
    assert not e.on_market(_book(100, 102))  # the same top: no on_book due
    bids, asks = ctx.depth(3)
    assert bids.tolist() == [[100, 5], [98, 3]] and asks.tolist() == [[102, 7], [103, 9]]
    e.on_market(_book(100, 101))
    assert ctx.depth(3)[1].tolist() == [[101, 7], [102, 9]]  # 103 is gone, 102 is the second level now
    e.on_market(_book(100, 101, "trade", side=1, price=101, qty=4))  # pov: 50% of 4 lots -> a child of 2
    assert e.refused == 1 and ctx.orders == {}  # refused by the rate: nothing in flight
    _, path, body, headers = client.requests[0]
    assert (path, body["client_order_id"], headers["Idempotency-Key"]) == ("/orders", "pov-r1-1", "pov-r1-1")
    assert (body["side"], body["price"], body["qty"], body["tif"]) == ("buy", 101, 2, "ioc")
    e.on_market(_book(100, 101, "trade", side=1, price=101, qty=2))  # 50% of 6 = 3: the refused 2 caught up
    assert client.requests[1][2]["qty"] == 3 and client.requests[1][2]["client_order_id"] == "pov-r1-2"
    assert list(ctx.orders) == [9] and ctx.orders[9].status == "pending_new"
    e.on_report({"order_id": 9, "kind": "partial_fill", "price": 101, "qty": 1, "leaves": 2, "filled": 1, "ts": 5})
    e.on_report({"order_id": 9, "kind": "expired", "price": 0, "qty": 0, "leaves": 0, "filled": 1, "ts": 6})
    assert ctx.orders == {} and ctx.position == 1 and ctx.cash == -101 and e.strategy.filled == 1
    assert [(f.order_id, f.price, f.qty, f.side) for f in ctx.fills] == [(9, 101, 1, 1)]
    d = e._decision(400, {"error": "BAD_INPUT", "field": "qty"}, "c")
    assert (d.accepted, d.reason) == (False, R_BAD_INPUT)
    assert e._decision(422, {"accepted": False, "reason": "SUBMIT_RATE", "order_id": 0}, "c").reason == RATE


def test_a_fill_read_back_by_a_resumed_run_counts_once() -> None:
    views = {"pov-r1-1": {"order_id": 4, "side": "buy", "status": "partially_filled", "price": 101, "qty": 4,
                          "leaves": 1, "filled": 3, "fills": [{"price": 101, "qty": 3, "ts": 1}]}}

    class Views(FakeClient):
        def request(self, method: str, path: str, body: Any = None, headers: Any = None) -> tuple[int, dict]:
            v = views.get(path.rsplit("/", 1)[1])
            return (200, v) if v else (404, {})

    e = _engine(Views())
    assert e.resume(misses=3) == 1 and e.sent == 1 and e.strategy.filled == 3 and list(e.ctx.orders) == [4]
    # the stream opened before the orders were read: the same fill again, then a new one, then the end
    e.on_report({"order_id": 4, "kind": "partial_fill", "price": 101, "qty": 3, "leaves": 1, "filled": 3, "ts": 1})
    assert e.strategy.filled == 3 and e.ctx.position == 3
    e.on_report({"order_id": 4, "kind": "fill", "price": 101, "qty": 1, "leaves": 0, "filled": 4, "ts": 2})
    assert e.strategy.filled == 4 and e.ctx.position == 4 and e.ctx.orders == {}


def test_fills_are_booked_with_the_fee_the_venue_reported() -> None:
    """Maker rebates of a fraction of a unit and taker fees, as the order-update stream carries them (``fee`` /
    ``fee_frac``): the runner's ``ctx.cash``, ``ctx.fees``, ``ctx.pnl`` and ``ctx.fills`` are what the reference
    engine's account (`hft.sim.reference.accounting`, sharing no code with `hft.sim.fees`) books for the same fills
    at the default replay fees (maker -0.2 bp, taker 2 bp)."""
    from fractions import Fraction

    from hft.sim.reference.accounting import Account, fee_of

    e = _engine(FakeClient())
    e.on_market(_book(58_000, 58_002))
    e.own.update({7: 1, 8: -1})  # this run's orders and their sides (as `submit` records them)
    ref = Account(money=1)
    fills = [(7, 58_001, 3, -20), (7, 58_002, 20, 200), (8, 58_003, 4, -20), (7, 57_999, 1, 200), (8, 58_000, 23, -20)]
    for n, (oid, price, qty, bps_h) in enumerate(fills, 1):
        fee, frac = fee_of(price, qty, 1, bps_h, 0)
        e.on_report({"seq": n, "order_id": oid, "kind": "partial_fill", "price": price, "qty": qty, "leaves": 9,
                     "filled": n, "ts": n, "fee": fee, "fee_frac": frac})
        ref.book(e.own[oid], price, qty, fee, frac)
    ctx = e.ctx
    exact_fees = Fraction(ref.fees) + Fraction(ref.fee_frac, 1_000_000)
    exact_cash = Fraction(ref.cash) - Fraction(ref.fee_frac, 1_000_000)
    assert exact_fees == sum(Fraction(p * q * b, 1_000_000) for _, p, q, b in fills)  # the rates, independently
    assert ctx.position == ref.position == -3
    assert (ctx.cash, ctx.fees) == (round(exact_cash), round(exact_fees)) and ctx.fees != 0
    assert abs(ctx.pnl - float(exact_cash + ctx.position * 58_001)) < 1e-6  # the mid of 58,000 / 58,002 (float)
    assert ctx.pnl_rounded == round(exact_cash + ctx.position * 58_001)
    assert [(f.fee, f.fee_frac) for f in ctx.fills] == [fee_of(p, q, 1, b, 0) for _, p, q, b in fills]


def test_a_fee_fraction_out_of_range_is_a_one_line_error() -> None:
    import pytest

    from hft.live.algo import ServiceError

    e = _engine(FakeClient())
    e.own[7] = 1
    with pytest.raises(ServiceError, match=r"^order update 3: fee_frac 1000000: expected 0 <= fee_frac < 1000000 "
                                           r"\(millionths of a money unit\)$"):
        e.on_report({"seq": 3, "order_id": 7, "kind": "fill", "price": 101, "qty": 1, "leaves": 0, "filled": 1,
                     "ts": 1, "fee": 0, "fee_frac": 1_000_000})
    assert e.ctx.position == 0 and e.ctx.fills == []  # nothing booked


def test_a_resumed_run_books_the_fills_read_back_with_their_fee_and_liquidity() -> None:
    """The fills an order view keeps carry the venue's exact fee and liquidity: a resumed run books them as the
    stream did (cash and fees those of the run that was not interrupted), an older service's fills (neither) as
    fee-less and not said."""
    views = {"pov-r1-1": {"order_id": 4, "side": "buy", "status": "filled", "price": 101, "qty": 4, "leaves": 0,
                          "filled": 4, "fills": [{"price": 101, "qty": 3, "ts": 1, "fee": 0, "fee_frac": 60_600,
                                                  "liquidity": "taker"},
                                                 {"price": 100, "qty": 1, "ts": 2, "fee": -1, "fee_frac": 998_000,
                                                  "liquidity": "maker"}]},
             "pov-r1-2": {"order_id": 5, "side": "buy", "status": "filled", "price": 101, "qty": 2, "leaves": 0,
                          "filled": 2, "fills": [{"price": 102, "qty": 2, "ts": 3}]}}

    class Views(FakeClient):
        def request(self, method: str, path: str, body: Any = None, headers: Any = None) -> tuple[int, dict]:
            v = views.get(path.rsplit("/", 1)[1])
            return (200, v) if v else (404, {})

    e = _engine(Views())
    assert e.resume(misses=3) == 2 and e.strategy.filled == 6
    # fees: 0.0606 - 0.002 (exact millionths) = 0.0586 -> 0; cash: -(303 + 100 + 204) - 0.0586 -> -607
    from fractions import Fraction

    leg = e.legs[0]
    assert leg.fees + Fraction(leg.fee_frac, 1_000_000) == Fraction(586, 10_000) and (e.ctx.fees, e.ctx.cash) == (0, -607)
    assert [(f.fee, f.fee_frac, f.liquidity) for f in e.ctx.fills] == [(0, 60_600, 2), (-1, 998_000, 1), (0, 0, 0)]


def test_the_venues_liquidity_and_queue_reach_the_strategy() -> None:
    """An update's ``liquidity`` is `OrderUpdate.maker` and `Fill.liquidity` (1 maker, 2 taker, 0 not said); an ACK's
    ``queue`` is ``ctx.queue_ahead`` while the order works (0 after a maker fill: it was at the front; not said after
    a replace; -1 once it ended or when the venue did not say)."""
    from hft.sim.strategy import Strategy

    seen = []

    class Watch(Strategy):
        def on_order_update(self, ctx, update):  # type: ignore[no-untyped-def]
            seen.append((update.kind, update.maker, ctx.queue_ahead(update.order_id)))

    e = LiveEngine(Watch(), "w", "r1", FakeClient(), "ACC1", "algo1", "GOOG", out=lambda _line: None)  # type: ignore[arg-type]
    from hft.sim.strategy import OrderState

    for oid in (7, 8, 9):
        e.own[oid] = 1
        e.live_orders[oid] = OrderState(oid, 1, 100, 5, 5, "pending_new")
    e.on_report({"order_id": 7, "kind": "ack", "price": 0, "qty": 0, "leaves": 5, "ts": 1, "queue": 42})
    e.on_report({"order_id": 8, "kind": "ack", "price": 0, "qty": 0, "leaves": 5, "ts": 1})  # a venue that does not say
    assert (e.ctx.queue_ahead(7), e.ctx.queue_ahead(8), e.ctx.queue_ahead(99)) == (42, -1, -1)
    e.on_report({"order_id": 7, "kind": "partial_fill", "price": 100, "qty": 2, "leaves": 3, "filled": 2, "ts": 2,
                 "liquidity": "maker", "queue": -1})
    e.on_report({"order_id": 9, "kind": "ack", "price": 0, "qty": 0, "leaves": 5, "ts": 2, "queue": 6})
    e.on_report({"order_id": 9, "kind": "replaced", "price": 101, "qty": 0, "leaves": 5, "ts": 3, "queue": -1})
    e.on_report({"order_id": 8, "kind": "fill", "price": 100, "qty": 5, "leaves": 0, "filled": 5, "ts": 3,
                 "liquidity": "taker", "queue": -1})
    e.on_report({"order_id": 7, "kind": "fill", "price": 100, "qty": 3, "leaves": 0, "filled": 5, "ts": 4,
                 "liquidity": "maker", "queue": -1})
    assert seen == [(1, False, 42), (1, False, -1), (2, True, 0), (1, False, 6), (7, False, -1), (3, False, -1),
                    (3, True, -1)]
    assert [(f.order_id, f.liquidity) for f in e.ctx.fills] == [(7, 1), (8, 2), (7, 1)]


def test_a_stop_goes_to_the_order_api_with_its_trigger_and_its_trigger_report_keeps_it_working() -> None:
    """A strategy's stop / stop-limit (``ctx.submit(..., order_type=ORDER_STOP, trigger=...)``) is sent to the order
    API with its type and trigger (the service's venue holds it); its TRIGGERED report reaches the strategy and the
    order stays working until its fill."""
    from hft.core.orders import ORDER_STOP, ORDER_STOP_LIMIT, REPORT_TRIGGERED, TIF_GTC

    client = FakeClient((201, {"accepted": True, "reason": "OK", "order_id": 5, "duplicate": False}),
                        (201, {"accepted": True, "reason": "OK", "order_id": 6, "duplicate": False}))
    e = _engine(client)
    seen: list[tuple[int, int]] = []
    e.strategy.on_order_update = lambda _ctx, u: seen.append((u.order_id, u.kind))  # type: ignore[method-assign]
    for otype, price in ((ORDER_STOP, 0), (ORDER_STOP_LIMIT, 99)):
        d = e.ctx.submit(1, price, 2, otype, TIF_GTC, trigger=101)
        assert d.accepted, d
    bodies = [r[2] for r in client.requests]
    assert [(b["order_type"], b["price"], b["trigger"]) for b in bodies] == [("stop", 0, 101), ("stop_limit", 99, 101)]
    e.on_report({"order_id": 5, "kind": "ack", "price": 0, "qty": 0, "leaves": 2, "ts": 1, "queue": -1})
    e.on_report({"order_id": 5, "kind": "triggered", "price": 101, "qty": 0, "leaves": 2, "ts": 2, "queue": -1})
    assert e.ctx.orders[5].status == "working" and e.ctx.orders[5].leaves == 2
    e.on_report({"order_id": 5, "kind": "fill", "price": 102, "qty": 2, "leaves": 0, "filled": 2, "ts": 3,
                 "liquidity": "taker", "queue": -1})
    assert 5 not in e.ctx.orders and 6 in e.ctx.orders and e.refused == 0
    assert seen == [(5, 1), (5, REPORT_TRIGGERED), (5, 3)]
    assert [(f.order_id, f.qty, f.price) for f in e.ctx.fills] == [(5, 2, 102)]


def test_gtd_and_iceberg_children_go_to_the_order_api_with_their_expiry_and_display() -> None:
    """A strategy's GTD child is sent with ``tif: gtd`` and its ``expire`` (ns UTC, as ``ctx.now``), an iceberg with
    its ``display``; a plain child carries neither key (the body an older service reads); a GTD child without an
    expiry is sent as written and the service's refusal (400 naming ``expire``) is the strategy's decision; its
    EXPIRED report ends the order."""
    from hft.core.orders import ORDER_LIMIT, ORDER_POST_ONLY, TIF_GTC, TIF_GTD

    client = FakeClient((201, {"accepted": True, "reason": "OK", "order_id": 5, "duplicate": False}),
                        (201, {"accepted": True, "reason": "OK", "order_id": 6, "duplicate": False}),
                        (201, {"accepted": True, "reason": "OK", "order_id": 7, "duplicate": False}),
                        (400, {"error": "BAD_INPUT", "field": "expire", "reason": "expected ..."}))
    e = _engine(client)
    assert e.ctx.submit(1, 99, 2, ORDER_LIMIT, TIF_GTD, expire=1_800_000_000_000_000_000).accepted
    assert e.ctx.submit(-1, 101, 9, ORDER_POST_ONLY, TIF_GTC, display=3).accepted
    assert e.ctx.submit(1, 98, 1, ORDER_LIMIT, TIF_GTC).accepted
    d = e.ctx.submit(1, 97, 1, ORDER_LIMIT, TIF_GTD)
    assert not d.accepted and e.refused == 1
    bodies = [r[2] for r in client.requests]
    assert [(b["tif"], b.get("expire"), b["order_type"], b.get("display")) for b in bodies] == [
        ("gtd", 1_800_000_000_000_000_000, "limit", None), ("gtc", None, "post_only", 3), ("gtc", None, "limit", None),
        ("gtd", 0, "limit", None)]
    assert "expire" not in bodies[2] and "display" not in bodies[2] and "trigger" not in bodies[2]
    e.on_report({"order_id": 5, "kind": "ack", "price": 0, "qty": 0, "leaves": 2, "ts": 1, "queue": 0})
    assert e.ctx.orders[5].status == "working"
    e.on_report({"order_id": 5, "kind": "expired", "price": 0, "qty": 0, "leaves": 0, "ts": 2, "queue": -1})
    assert 5 not in e.ctx.orders and {6, 7} <= set(e.ctx.orders)


def test_a_trailing_stop_child_goes_to_the_order_api_with_its_trail() -> None:
    """A strategy's trailing stop child (docs/sim.md, "Trailing stops") is sent with its ``trigger`` and ``trail``;
    a plain stop after it carries no ``trail`` key (the body an older service reads)."""
    from hft.core.orders import ORDER_STOP, ORDER_STOP_LIMIT, TIF_GTC

    client = FakeClient(*((201, {"accepted": True, "reason": "OK", "order_id": n, "duplicate": False})
                          for n in (5, 6, 7)))
    e = _engine(client)
    assert e.ctx.submit(-1, 0, 2, ORDER_STOP, TIF_GTC, trigger=99, trail=3).accepted
    assert e.ctx.submit(1, 103, 1, ORDER_STOP_LIMIT, TIF_GTC, trigger=101, trail=4).accepted
    assert e.ctx.submit(-1, 0, 2, ORDER_STOP, TIF_GTC, trigger=99).accepted
    bodies = [r[2] for r in client.requests]
    assert [(b["order_type"], b["trigger"], b.get("trail")) for b in bodies] == [
        ("stop", 99, 3), ("stop_limit", 101, 4), ("stop", 99, None)]
    assert e.refused == 0 and {5, 6, 7} <= set(e.ctx.orders)


def test_oco_and_bracket_children_go_to_the_order_api_with_their_links() -> None:
    """A strategy's OCO and bracket children (docs/sim.md, "OCO and bracket orders held by the venue") are sent with
    their ``oco`` / ``parent`` (order ids); ``ctx.bracket`` sends the entry, then its take profit and stop naming it,
    the stop paired with the take profit; a plain limit carries neither key (the body an older service reads)."""
    from hft.core.orders import ORDER_LIMIT, TIF_GTC

    client = FakeClient(*((201, {"accepted": True, "reason": "OK", "order_id": n, "duplicate": False})
                          for n in (5, 6, 7, 8, 9)))
    e = _engine(client)
    assert e.ctx.submit(-1, 101, 2, ORDER_LIMIT, TIF_GTC, oco=3).accepted
    entry, tp, sl = e.ctx.bracket(1, 100, 2, 105, 95)
    assert (entry.order_id, tp.order_id, sl.order_id) == (6, 7, 8)
    assert e.ctx.submit(-1, 101, 2, ORDER_LIMIT, TIF_GTC).accepted
    links = [(b["side"], b["order_type"], b.get("oco"), b.get("parent"), b.get("trigger")) for _, _, b, *_ in
             client.requests]
    assert links == [("sell", "limit", 3, None, None), ("buy", "limit", None, None, None),
                     ("sell", "limit", None, 6, None), ("sell", "stop", 7, 6, 95), ("sell", "limit", None, None, None)]
    assert e.refused == 0
