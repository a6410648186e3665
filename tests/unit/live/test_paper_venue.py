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
