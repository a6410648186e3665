"""`PaperVenue`: a cancel or replace of an order it never received is answered EXPIRED (sent before a restart,
the order ended with that session), counted in its health."""

from __future__ import annotations

import asyncio

from hft.core.orders import CMD_CANCEL, CMD_REPLACE, ORDER_LIMIT, REPORT_EXPIRED, TIF_GTC
from hft.gateway.intents import OrderCommand
from hft.live.paper import PaperVenue
from tests.unit.alpha.lifecycle_helpers import make_day


def test_commands_for_orders_it_never_received_expire(tmp_path):
    venue = PaperVenue.from_data(make_day(tmp_path, seed=41), speed=5)
    got = []
    loop = asyncio.new_event_loop()
    try:
        venue.start(loop, got.append)
        for action in (CMD_CANCEL, CMD_REPLACE):
            venue.send(OrderCommand(action, 7, 1, "A", "s", venue.symbol, 1, 100, 1, ORDER_LIMIT, TIF_GTC, 0))
    finally:
        loop.close()
    assert [(r.order_id, r.kind) for r in got] == [(7, REPORT_EXPIRED), (7, REPORT_EXPIRED)]
    assert venue.health()["expired_unknown"] == 2


def test_reports_carry_the_venues_liquidity_and_an_acks_queue_ahead(tmp_path):
    """What the simulator's venue knows beyond the execution report reaches the service: a resting buy's ACK says
    the lots ahead of it (the displayed level it joined, as the venue's own `queue_ahead` then), a sell crossing
    the market is a taker's fill, and the resting buy, once the recorded flow trades down to it, a maker's."""
    from hft.core.dtypes import BUY, SELL
    from hft.core.orders import CMD_NEW, LIQ_MAKER, LIQ_NONE, LIQ_TAKER, REPORT_ACK, REPORT_FILL, TIF_IOC

    venue = PaperVenue.from_data(make_day(tmp_path, seed=41), speed=5)
    got = []
    loop = asyncio.new_event_loop()
    ev = venue.events
    i = 0

    def step() -> None:
        nonlocal i
        e = ev[i]
        venue.exch_now = int(e["exch_ts"])
        venue._deliver(venue.venue.market(venue.exch_now, int(e["kind"]), int(e["side"]), int(e["price"]),
                                          int(e["qty"]), int(e["order_id"])))
        i += 1

    def new(oid: int, side: int, price: int, tif: int = TIF_GTC) -> list:
        n = len(got)
        venue.send(OrderCommand(CMD_NEW, oid, oid, "A", "s", venue.symbol, side, price, 1, ORDER_LIMIT, tif, 0))
        return got[n:]

    try:
        venue.start(loop, got.append)
        while i < len(ev) and (venue.book()[1] <= 0 or venue.book()[3] <= 0 or i < 200):
            step()
        bid, bid_qty = venue.book()[:2]
        (ack,) = new(1, BUY, bid)
        assert (ack.kind, ack.liquidity, ack.queue) == (REPORT_ACK, LIQ_NONE, bid_qty) and bid_qty > 0
        assert venue.venue.queue_ahead(1) == bid_qty
        taker = [r for r in new(2, SELL, bid, TIF_IOC) if r.qty > 0]
        assert [(r.liquidity, r.price, r.queue) for r in taker] == [(LIQ_TAKER, bid, -1)]  # (our buy is not matched)
        made: list = []
        while not made and i < len(ev):
            step()
            made = [r for r in got if r.order_id == 1 and r.qty > 0]
        assert made and made[0].liquidity == LIQ_MAKER and made[0].kind == REPORT_FILL and made[0].queue == -1
    finally:
        loop.close()
