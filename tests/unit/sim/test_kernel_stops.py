"""A strategy kernel places venue-held stops (``intents[j, IN_ORDER_TYPE] = ORDER_STOP`` / ``ORDER_STOP_LIMIT``,
``intents[j, IN_TRIGGER]``: `hft.sim.kernel_api`): on LOBSTER GOOG the run is the one of a Python strategy placing
the same stops with ``ctx.submit(..., trigger=...)`` (every decision, order, fill and the run hash), stops were
triggered and filled, and the reference engine agrees; a kernel that never writes the trigger column is unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numba import njit

from hft.core.dtypes import BUY, NO_PRICE, SELL
from hft.core.orders import ORDER_STOP, ORDER_STOP_LIMIT, TIF_GTC
from hft.sim.kernel_api import (
    IN_ORDER_TYPE,
    IN_SUBMIT,
    IN_TIF,
    IN_TRIGGER,
    S_NORD,
    S_PARAMS,
    S_POS,
    KernelStrategy,
)
from hft.sim.strategy import Strategy
from tests.unit.sim.agreement import agree, same

GOOG_10 = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"


@njit
def _breakout(st, ltop, sord, intents):
    """No order working: flat or long, a sell stop `away` below the bid (a market order once a print at or below
    it comes); short, a buy stop-limit triggered by a print at or above the same price, its limit `away` above the
    ask (marketable when it triggers, unless the market moved up)."""
    if st[S_NORD] > 0:
        return 0
    bid, ask = ltop[0], ltop[2]
    if bid == NO_PRICE or ask == NO_PRICE:
        return 0
    away = st[S_PARAMS]
    intents[0, 0] = IN_SUBMIT
    intents[0, 3] = 1
    intents[0, IN_TIF] = TIF_GTC
    if st[S_POS] >= 0:
        intents[0, 1], intents[0, 2] = SELL, 0
        intents[0, IN_ORDER_TYPE], intents[0, IN_TRIGGER] = ORDER_STOP, bid - away
    else:
        intents[0, 1], intents[0, 2] = BUY, ask + away
        intents[0, IN_ORDER_TYPE], intents[0, IN_TRIGGER] = ORDER_STOP_LIMIT, bid - away
    return 1


class BreakoutNb(KernelStrategy):
    name = "breakout"
    nb_kernel = _breakout
    DEFAULTS = {"away": 1}  # noqa: RUF012 - the class attribute KernelStrategy reads


class BreakoutPy(Strategy):
    """`_breakout`'s rule from a Python ``on_book``."""

    name = "breakout_py"

    def __init__(self, away: int = 1) -> None:
        self.away = away

    def on_book(self, ctx) -> None:
        if ctx.orders or ctx.best_bid is None or ctx.best_ask is None:
            return
        if ctx.position >= 0:
            ctx.submit(SELL, 0, 1, ORDER_STOP, TIF_GTC, trigger=ctx.best_bid - self.away)
        else:
            ctx.submit(BUY, ctx.best_ask + self.away, 1, ORDER_STOP_LIMIT, TIF_GTC,
                       trigger=ctx.best_bid - self.away)


_CONFIG = {"exchange": "no_partial_fill", "fees": {"maker_bps": -0.25, "taker_bps": 0.35, "per_lot": 0}}


def _run(md, strategy: Strategy, engine: str):
    from hft.sim.replay import build_engine, parse_replay_config

    eng, money = build_engine(md, strategy, "breakout", parse_replay_config({"engine": engine, **_CONFIG}))
    return eng, eng.run(multiplier=money), money


@pytest.fixture(scope="module")
def goog10(shared_data: Path):
    from hft.data.sources import open_market_data

    return open_market_data([shared_data / GOOG_10]).head(40_000)


@pytest.mark.shared_data
def test_a_kernels_stops_are_the_python_strategys_on_lobster_goog(goog10):
    _, k_nb, _ = _run(goog10, BreakoutNb(), "numba")
    _, r_nb, _ = _run(goog10, BreakoutPy(), "numba")
    _, k_py, _ = _run(goog10, BreakoutNb(), "python")
    same(k_nb, r_nb)
    same(k_nb, k_py)
    new = k_nb.orders[k_nb.orders["action"] == 1]
    assert set(np.unique(new["order_type"]).tolist()) == {ORDER_STOP, ORDER_STOP_LIMIT}
    assert len(k_nb.fills) >= 10  # stops triggered (both kinds: the position went both ways) and filled
    assert k_nb.final["position"] in (0, -1)


@pytest.mark.shared_data
def test_the_reference_engine_runs_the_stop_kernel_as_the_numba_loop_does(goog10):
    from hft.sim.reference import from_market_data
    from hft.sim.replay import gateway_factory, parse_replay_config

    _, nb, money = _run(goog10, BreakoutNb(), "numba")
    config = parse_replay_config({"engine": "numba", **_CONFIG})
    ref = from_market_data(goog10, BreakoutNb(), "breakout", config,
                           gateway_factory([goog10.instrument], "breakout", config), money).run()
    agree(ref, nb)
