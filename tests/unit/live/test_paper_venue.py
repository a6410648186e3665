"""`PaperVenue`: a cancel or replace of an order this day never received is answered EXPIRED (an order of a day
before, ended with it: a new day, or a venue without a journal), counted in its health."""

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


class _Live:
    """What the feed asks of the service besides the venue: marks (ignored here)."""

    def on_mark(self, symbol: str, price: int) -> None:
        pass


def test_gtd_expires_on_the_venues_clock_after_the_events_of_its_time_and_after_the_days_end(tmp_path, monkeypatch):
    """Hand-derived on the print day (`make_l2_print_day`: a sell of 5 at 10000 at T0 + 2 s, 4 s, …), with the wall
    clock set by the test (speed 1: venue time = T0 + wall - start): a GTD buy of 9 at 10000 expiring exactly at
    T0 + 2 s is first filled 5 by the print of that time (a fill at the expiry time wins, as in a replay), then its
    rest EXPIRED at T0 + 2 s; a GTD buy reaching the venue after its time takes what it can (10 at the ask, taker)
    and is EXPIRED at once; one still working when the day's events end expires at its time all the same; a GTC
    order schedules nothing; one cancelled before its time is no longer pending (`/health`'s `gtd_pending`)."""
    import contextlib

    from hft.core.orders import CMD_NEW, REPORT_ACK, REPORT_CANCELED, REPORT_PARTIAL_FILL, TIF_GTD
    from hft.live import paper as paper_mod
    from tests.unit.alpha.lifecycle_helpers import PRINT_DAY_ASK, PRINT_DAY_P, PRINT_DAY_T0, make_l2_print_day

    s = 1_000_000_000
    w0 = 1_900_000_000 * s  # the wall time the venue started at (any: only differences count)
    wall = [w0]
    monkeypatch.setattr(paper_mod.time, "time_ns", lambda: wall[0])
    venue = PaperVenue.from_data(make_l2_print_day(tmp_path / "d.parquet", seconds=10), speed=1)
    got: list = []
    loop = asyncio.new_event_loop()

    def feed_to(t: int) -> None:
        wall[0] = t

        async def go() -> None:
            task = asyncio.ensure_future(venue.run_feed(_Live()))
            await asyncio.sleep(0.05)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        loop.run_until_complete(go())

    def new(oid: int, price: int, qty: int, tif: int, expire: int) -> None:
        venue.send(OrderCommand(CMD_NEW, oid, oid, "A", "s", venue.symbol, 1, price, qty, ORDER_LIMIT, tif, 0, 0,
                                expire))

    def reps(oid: int) -> list[tuple[int, int, int, int, int]]:
        return [(r.kind, r.ts - PRINT_DAY_T0, r.price if r.qty else 0, r.qty, r.leaves) for r in got
                if r.order_id == oid]

    try:
        venue.start(loop, got.append)
        assert venue.exch_at(w0) == PRINT_DAY_T0
        feed_to(w0 + s // 2)  # the book's snapshot
        new(1, PRINT_DAY_P, 9, TIF_GTD, w0 + 2 * s)
        new(4, PRINT_DAY_P - 5, 1, TIF_GTC, 0)
        assert venue.health()["gtd_pending"] == 1
        feed_to(w0 + 3 * s)
        assert reps(1) == [(REPORT_ACK, 0, 0, 0, 9), (REPORT_PARTIAL_FILL, 2 * s, PRINT_DAY_P, 5, 4),
                           (REPORT_EXPIRED, 2 * s, 0, 0, 0)]
        new(2, PRINT_DAY_ASK, 12, TIF_GTD, w0 + s)  # its time (T0 + 1 s) passed: the venue is at T0 + 3 s
        assert reps(2) == [
            (REPORT_ACK, 3 * s, 0, 0, 12), (REPORT_PARTIAL_FILL, 3 * s, PRINT_DAY_ASK, 10, 2),
            (REPORT_EXPIRED, 3 * s, 0, 0, 0)]
        feed_to(w0 + 11 * s)  # every event of the day applied
        assert venue.i == len(venue.events)
        new(3, PRINT_DAY_P - 10, 1, TIF_GTD, w0 + 20 * s)
        new(5, PRINT_DAY_P - 10, 1, TIF_GTD, w0 + 25 * s)
        assert venue.health()["gtd_pending"] == 2
        venue.send(OrderCommand(CMD_CANCEL, 5, 5, "A", "s", venue.symbol, 0, 0, 0, ORDER_LIMIT, TIF_GTC, 0))
        assert [r.kind for r in got if r.order_id == 5][-1] == REPORT_CANCELED
        assert venue.health()["gtd_pending"] == 1  # cancelled before its time: no longer pending
        feed_to(w0 + 19 * s)
        assert reps(3) == [(REPORT_ACK, 10 * s, 0, 0, 1)]
        feed_to(w0 + 20 * s)
        assert reps(3)[1:] == [(REPORT_EXPIRED, 20 * s, 0, 0, 0)]
    finally:
        loop.close()
    assert [r.kind for r in got if r.order_id == 4] == [REPORT_ACK]  # a GTC order: nothing at any time
    h = venue.health()
    assert (h["gtd_pending"], h["gtd_expired"]) == (0, 3)
