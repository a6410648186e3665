"""A strategy kernel places good-till-date orders, icebergs, trailing stops and brackets (``intents[j, IN_EXPIRE]``
with ``TIF_GTD``, ``intents[j, IN_DISPLAY]``, ``intents[j, IN_TRAIL]``, ``IN_PARENT`` / ``IN_OCO``:
`hft.sim.kernel_api`): on real days the run is the one of a Python strategy placing the same orders with
``ctx.submit(..., expire=...)`` / ``display=`` / ``trail=`` (every decision, order, fill and the run hash), on both
engines; orders expired, icebergs filled, trailing stops triggered, brackets' children filled, and the reference
engine agrees."""

from __future__ import annotations

from pathlib import Path

import pytest
from numba import njit

from hft.core.dtypes import BUY, NO_PRICE, SELL
from hft.core.orders import (
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_STOP,
    REPORT_EXPIRED,
    REPORT_TRIGGERED,
    TIF_GTC,
    TIF_GTD,
    TIF_IOC,
)
from hft.sim.kernel_api import (
    AC_NOW,
    AC_POS,
    IN_DISPLAY,
    IN_EXPIRE,
    IN_OCO,
    IN_ORDER_TYPE,
    IN_PARENT,
    IN_SUBMIT,
    IN_TIF,
    IN_TRAIL,
    IN_TRIGGER,
    S_NORD,
    S_PARAMS,
    S_POS,
    SO_ID,
    SO_SIDE,
    KernelStrategy,
)
from hft.sim.strategy import Strategy
from tests.unit.sim.agreement import agree, binance_golden_day, same

GOOG_10 = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"
_CONFIG = {"exchange": "no_partial_fill", "fees": {"maker_bps": -0.25, "taker_bps": 0.35, "per_lot": 0}}


# --- good till date: a kernel with the full context knows the time --------------------------------------------------
@njit
def _gtd_quote(st, ltop, sord, intents, depth, trades, acct):
    """Nothing working: a GTD limit order at the touch on the side that flattens (a buy when flat), expiring
    `life` ns after now; on the L3 venue it queues behind the level and often expires before the queue reaches it."""
    if st[S_NORD] > 0:
        return 0
    bid, ask = ltop[0], ltop[2]
    if bid == NO_PRICE or ask == NO_PRICE:
        return 0
    buy = acct[AC_POS] <= 0
    intents[0, 0], intents[0, 1], intents[0, 2], intents[0, 3] = IN_SUBMIT, BUY if buy else SELL, bid if buy else ask, 1
    intents[0, IN_ORDER_TYPE], intents[0, IN_TIF] = ORDER_LIMIT, TIF_GTD
    intents[0, IN_EXPIRE] = acct[AC_NOW] + st[S_PARAMS]
    intents[0, IN_DISPLAY] = 0
    return 1


class GtdQuoteNb(KernelStrategy):
    name = "gtd_quote"
    nb_kernel = _gtd_quote
    DEFAULTS = {"life": 3_000_000}  # noqa: RUF012 - the class attribute KernelStrategy reads


class GtdQuotePy(Strategy):
    """`_gtd_quote`'s rule from a Python ``on_book``; counts the expiries it saw."""

    name = "gtd_quote_py"

    def __init__(self, life: int = 3_000_000) -> None:
        self.life = life
        self.expired = 0

    def on_book(self, ctx) -> None:
        if ctx.orders or ctx.best_bid is None or ctx.best_ask is None:
            return
        buy = ctx.position <= 0
        ctx.submit(BUY if buy else SELL, ctx.best_bid if buy else ctx.best_ask, 1, ORDER_LIMIT, TIF_GTD,
                   expire=ctx.now + self.life)

    def on_order_update(self, ctx, u) -> None:
        if u.kind == REPORT_EXPIRED:
            self.expired += 1


def _run(md, strategy: Strategy, engine: str, config: dict):
    from hft.sim.replay import build_engine, parse_replay_config

    eng, money = build_engine(md, strategy, "quote", parse_replay_config({"engine": engine, **config}))
    return eng.run(multiplier=money), money


@pytest.fixture(scope="module")
def goog10(shared_data: Path):
    from hft.data.sources import open_market_data

    return open_market_data([shared_data / GOOG_10]).head(40_000)


@pytest.mark.shared_data
def test_a_kernels_gtd_orders_are_the_python_strategys_on_lobster_goog(goog10):
    py = GtdQuotePy()
    k_nb, money = _run(goog10, GtdQuoteNb(), "numba", _CONFIG)
    r_nb, _ = _run(goog10, py, "numba", _CONFIG)
    k_py, _ = _run(goog10, GtdQuoteNb(), "python", _CONFIG)
    same(k_nb, r_nb)
    same(k_nb, k_py)
    new = k_nb.orders[k_nb.orders["action"] == 1]
    assert set(new["tif"].tolist()) == {TIF_GTD}
    assert py.expired >= 20 and len(k_nb.fills) >= 5  # some expired in the queue, some filled first
    assert all(d.expire > d.ts for d in k_nb.decision_records if d.accepted)

    from hft.sim.reference import from_market_data
    from hft.sim.replay import gateway_factory, parse_replay_config

    config = parse_replay_config({"engine": "numba", **_CONFIG})
    ref = from_market_data(goog10, GtdQuoteNb(), "quote", config,
                           gateway_factory([goog10.instrument], "quote", config), money).run()
    agree(ref, k_nb)


# --- icebergs: the L2 venue shows a part at a time ------------------------------------------------------------------
@njit
def _iceberg_quote(st, ltop, sord, intents):
    """Nothing working: a `size`-lot iceberg showing a third of it at the touch, on the side that flattens."""
    if st[S_NORD] > 0:
        return 0
    bid, ask = ltop[0], ltop[2]
    if bid == NO_PRICE or ask == NO_PRICE:
        return 0
    buy = st[S_POS] <= 0
    size = st[S_PARAMS]
    intents[0, 0], intents[0, 1], intents[0, 2], intents[0, 3] = IN_SUBMIT, BUY if buy else SELL, bid if buy else ask, size
    intents[0, IN_ORDER_TYPE], intents[0, IN_TIF] = ORDER_LIMIT, TIF_GTC
    intents[0, IN_EXPIRE] = 0
    intents[0, IN_DISPLAY] = size // 3
    return 1


class IcebergQuoteNb(KernelStrategy):
    name = "iceberg_quote"
    nb_kernel = _iceberg_quote
    DEFAULTS = {"size": 300_000}  # noqa: RUF012 - the class attribute KernelStrategy reads


class IcebergQuotePy(Strategy):
    """`_iceberg_quote`'s rule from a Python ``on_book``."""

    name = "iceberg_quote_py"

    def __init__(self, size: int = 300_000) -> None:
        self.size = size

    def on_book(self, ctx) -> None:
        if ctx.orders or ctx.best_bid is None or ctx.best_ask is None:
            return
        buy = ctx.position <= 0
        ctx.submit(BUY if buy else SELL, ctx.best_bid if buy else ctx.best_ask, self.size, ORDER_LIMIT, TIF_GTC,
                   display=self.size // 3)


@pytest.fixture(scope="module")
def ethusdt():
    """The Binance spot golden's first capture (ETHUSDT 2024-08-08) with its instrument, its first 60k events."""
    return binance_golden_day()[0].head(60_000)


@pytest.mark.shared_data
def test_a_kernels_icebergs_are_the_python_strategys_on_binance_ethusdt(ethusdt):
    config = {"queue_model": "power_prob_2", "limits": {"max_order_qty": 1_000_000, "max_position": 10_000_000}}
    k_nb, money = _run(ethusdt, IcebergQuoteNb(), "numba", config)
    r_nb, _ = _run(ethusdt, IcebergQuotePy(), "numba", config)
    k_py, _ = _run(ethusdt, IcebergQuoteNb(), "python", config)
    same(k_nb, r_nb)
    same(k_nb, k_py)
    accepted = [d for d in k_nb.decision_records if d.accepted]
    assert accepted and all(d.display == d.qty // 3 for d in accepted)
    assert len(k_nb.fills) >= 10
    # the venue shows a third at a time: no single fill larger than the shown part
    assert int(k_nb.fills["qty"].max()) <= 100_000

    from hft.sim.reference import from_market_data
    from hft.sim.replay import gateway_factory, parse_replay_config

    cfg = parse_replay_config({"engine": "numba", **config})
    ref = from_market_data(ethusdt, IcebergQuoteNb(), "quote", cfg,
                           gateway_factory([ethusdt.instrument], "quote", cfg), money).run()
    agree(ref, k_nb)


# --- trailing stops: the L2 venue moves the trigger with the prints -------------------------------------------------
@njit
def _trail_protect(st, ltop, sord, intents):
    """Nothing working: flat or short, a `size`-lot buy limit at the bid; long, a sell trailing stop for the position,
    `trail` ticks below the bid, trailing the prints by `trail`."""
    if st[S_NORD] > 0:
        return 0
    bid, ask = ltop[0], ltop[2]
    if bid == NO_PRICE or ask == NO_PRICE:
        return 0
    trail = st[S_PARAMS + 1]
    if st[S_POS] <= 0:
        intents[0, 0], intents[0, 1], intents[0, 2], intents[0, 3] = IN_SUBMIT, BUY, bid, st[S_PARAMS]
        intents[0, IN_ORDER_TYPE], intents[0, IN_TRIGGER], intents[0, IN_TRAIL] = ORDER_LIMIT, 0, 0
    else:
        intents[0, 0], intents[0, 1], intents[0, 2], intents[0, 3] = IN_SUBMIT, SELL, 0, st[S_POS]
        intents[0, IN_ORDER_TYPE], intents[0, IN_TRIGGER], intents[0, IN_TRAIL] = ORDER_STOP, bid - trail, trail
    intents[0, IN_TIF], intents[0, IN_EXPIRE], intents[0, IN_DISPLAY] = TIF_GTC, 0, 0
    return 1


class TrailProtectNb(KernelStrategy):
    name = "trail_protect"
    nb_kernel = _trail_protect
    DEFAULTS = {"size": 100_000, "trail": 20}  # noqa: RUF012 - the class attribute KernelStrategy reads


class TrailProtectPy(Strategy):
    """`_trail_protect`'s rule from a Python ``on_book``; counts the triggers it saw."""

    name = "trail_protect_py"

    def __init__(self, size: int = 100_000, trail: int = 20) -> None:
        self.size, self.trail, self.triggered = size, trail, 0

    def on_book(self, ctx) -> None:
        if ctx.orders or ctx.best_bid is None or ctx.best_ask is None:
            return
        if ctx.position <= 0:
            ctx.submit(BUY, ctx.best_bid, self.size, ORDER_LIMIT, TIF_GTC)
        else:
            ctx.submit(SELL, 0, ctx.position, ORDER_STOP, TIF_GTC, trigger=ctx.best_bid - self.trail, trail=self.trail)

    def on_order_update(self, ctx, u) -> None:
        if u.kind == REPORT_TRIGGERED:
            self.triggered += 1


@pytest.mark.shared_data
def test_a_kernels_trailing_stops_are_the_python_strategys_on_binance_ethusdt(ethusdt):
    config = {"queue_model": "power_prob_2", "limits": {"max_order_qty": 1_000_000, "max_position": 10_000_000}}
    k_nb, money = _run(ethusdt, TrailProtectNb(), "numba", config)
    py = TrailProtectPy()
    r_nb, _ = _run(ethusdt, py, "numba", config)
    k_py, _ = _run(ethusdt, TrailProtectNb(), "python", config)
    same(k_nb, r_nb)
    same(k_nb, k_py)
    stops = [d for d in k_nb.decision_records if d.accepted and d.trail]
    assert len(stops) >= 3 and all(d.trail == 20 and d.order_type == ORDER_STOP for d in stops)
    assert py.triggered >= 3  # triggered by the venue after their triggers moved (or not) with the prints

    from hft.sim.reference import from_market_data
    from hft.sim.replay import gateway_factory, parse_replay_config

    cfg = parse_replay_config({"engine": "numba", **config})
    ref = from_market_data(ethusdt, TrailProtectNb(), "quote", cfg,
                           gateway_factory([ethusdt.instrument], "quote", cfg), money).run()
    agree(ref, k_nb)


# --- OCO and bracket links: a kernel names orders it sees ---------------------------------------------------------
@njit
def _bracketed(st, ltop, sord, intents):
    """Flat with nothing working: a `size`-lot buy limit at the bid (the entry). The entry alone (flat): its take
    profit, a sell limit `edge` ticks above the ask, a child of the entry (`IN_PARENT`: its id, seen in `sord`). The
    entry and its take profit (flat): the stop, a sell stop `edge` ticks below the bid, a child of the entry paired
    with the take profit (`IN_OCO`). A position with nothing working: a market order flattens it."""
    bid, ask = ltop[0], ltop[2]
    if bid == NO_PRICE or ask == NO_PRICE:
        return 0
    n, pos, size, edge = st[S_NORD], st[S_POS], st[S_PARAMS], st[S_PARAMS + 1]
    intents[0, IN_TIF], intents[0, IN_TRIGGER], intents[0, IN_EXPIRE], intents[0, IN_DISPLAY] = TIF_GTC, 0, 0, 0
    intents[0, IN_TRAIL], intents[0, IN_OCO], intents[0, IN_PARENT] = 0, 0, 0
    if n == 0 and pos == 0:
        intents[0, 0], intents[0, 1], intents[0, 2], intents[0, 3] = IN_SUBMIT, BUY, bid, size
        intents[0, IN_ORDER_TYPE] = ORDER_LIMIT
    elif n == 0:
        intents[0, 0], intents[0, 1], intents[0, 2], intents[0, 3] = IN_SUBMIT, SELL if pos > 0 else BUY, 0, abs(pos)
        intents[0, IN_ORDER_TYPE], intents[0, IN_TIF] = ORDER_MARKET, TIF_IOC
    elif n == 1 and pos == 0 and sord[0, SO_SIDE] == BUY:
        intents[0, 0], intents[0, 1], intents[0, 2], intents[0, 3] = IN_SUBMIT, SELL, ask + edge, size
        intents[0, IN_ORDER_TYPE], intents[0, IN_PARENT] = ORDER_LIMIT, sord[0, SO_ID]
    elif n == 2 and pos == 0 and sord[0, SO_SIDE] != sord[1, SO_SIDE]:
        e, tp = (0, 1) if sord[0, SO_SIDE] == BUY else (1, 0)
        intents[0, 0], intents[0, 1], intents[0, 2], intents[0, 3] = IN_SUBMIT, SELL, 0, size
        intents[0, IN_ORDER_TYPE], intents[0, IN_TRIGGER] = ORDER_STOP, bid - edge
        intents[0, IN_PARENT], intents[0, IN_OCO] = sord[e, SO_ID], sord[tp, SO_ID]
    else:
        return 0
    return 1


class BracketedNb(KernelStrategy):
    name = "bracketed"
    nb_kernel = _bracketed
    DEFAULTS = {"size": 100_000, "edge": 10}  # noqa: RUF012 - the class attribute KernelStrategy reads


@pytest.mark.shared_data
def test_a_kernels_brackets_agree_on_both_engines_and_the_reference_on_binance_ethusdt(ethusdt):
    """A kernel's bracket, child by child (`IN_PARENT`, `IN_OCO` naming the orders it sees in `sord`): the numba and
    the Python engine give the same run, the reference venue and engine agree, and the links ran (children filled:
    each entered the book for its entry's fills)."""
    config = {"queue_model": "power_prob_2", "limits": {"max_order_qty": 1_000_000, "max_position": 10_000_000}}
    k_nb, money = _run(ethusdt, BracketedNb(), "numba", config)
    k_py, _ = _run(ethusdt, BracketedNb(), "python", config)
    same(k_nb, k_py)
    linked = [d for d in k_nb.decision_records if d.accepted and (d.parent or d.oco)]
    assert sum(1 for d in linked if d.oco) >= 20 and len(linked) >= 40
    children = {d.order_id for d in linked}  # a child fills only once its entry ended and it entered
    assert len(set(k_nb.fills["order_id"].tolist()) & children) >= 20

    from hft.sim.reference import from_market_data
    from hft.sim.replay import gateway_factory, parse_replay_config

    cfg = parse_replay_config({"engine": "numba", **config})
    ref = from_market_data(ethusdt, BracketedNb(), "quote", cfg,
                           gateway_factory([ethusdt.instrument], "quote", cfg), money).run()
    agree(ref, k_nb)
