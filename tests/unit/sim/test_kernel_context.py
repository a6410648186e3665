"""Numba strategy kernels with the full context (`hft.sim.kernel_api`: depth, trade prints, queue position,
account): the example kernel of docs/extending.md (docs/examples/queue_quote.py) makes the decisions of the same
rule written as a Python ``on_book`` reading ``ctx``, in the numba loop and from the Python engines' callbacks, on
the L3 venue (LOBSTER GOOG level 10, exact queues) and on the L2 venue (the queue model's estimate)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from hft.core.dtypes import BUY, NO_PRICE, SELL
from hft.core.errors import SimError
from hft.core.orders import INTENT_CANCEL, INTENT_NEW
from hft.sim.engine import Engine
from hft.sim.engine_nb import NbEngine
from hft.sim.engine_nb.state import SK_CONTEXT, SK_EXTERNAL, SK_MM
from hft.sim.kernel_api import (
    AC_NOW,
    AC_NTRADES,
    DP_BID_QTY,
    IN_CANCEL,
    IN_SUBMIT,
    S_NORD,
    SO_ID,
    SO_PRICE,
    SO_QUEUE,
    SO_STATUS,
    SO_WORKING,
    KernelStrategy,
)
from hft.sim.strategies import make_strategy
from hft.sim.strategy import Strategy
from tests.unit.sim.agreement import agree, l2_pair, l2_stream, same

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = f"{ROOT / 'docs' / 'examples' / 'queue_quote.py'}:QueueQuoteNb"
GOOG_10 = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"


class QueueQuotePy(Strategy):
    """`queue_quote`'s rule (docs/examples/queue_quote.py) on the Python context."""

    name = "queue_quote_py"
    depth_levels = 10
    trade_history = 4

    def __init__(self, size: int = 1, max_position: int = 5, k_pct: int = 50) -> None:
        self.size, self.max_position, self.k_pct = size, max_position, k_pct

    def on_book(self, ctx) -> None:
        bid, ask = ctx.best_bid, ctx.best_ask
        if bid is None or ask is None:
            return
        buy = sell = None
        for o in ctx.orders.values():
            if o.side == BUY:
                buy = o
            else:
                sell = o
        pos = ctx.position
        if pos >= self.max_position:
            if buy is not None and buy.status == "working":
                ctx.cancel(buy.order_id)
            if sell is None:
                ctx.submit(SELL, ask, pos)
            elif sell.status == "working" and sell.price != ask:
                ctx.cancel(sell.order_id)
            return
        if buy is None:
            ctx.submit(BUY, bid, self.size)
            return
        if buy.status != "working":
            return
        if buy.price < bid or buy.price >= ask:
            ctx.cancel(buy.order_id)
            return
        if buy.price == bid and ask - bid > 1:
            bids, _ = ctx.depth()
            level = next((int(q) for px, q in bids.tolist() if px == buy.price), 0)
            trades = ctx.trades
            sold = bool(trades) and trades[-1].side == SELL
            if int(ctx.queue_ahead(buy.order_id)) * 100.0 > self.k_pct * 1.0 * level and not sold:
                ctx.cancel(buy.order_id)
                ctx.submit(BUY, bid + 1, self.size)


def _kernel_strategy(**params: int) -> Strategy:
    return make_strategy(EXAMPLE, params or None)


@pytest.fixture(scope="module")
def goog10(shared_data: Path):
    from hft.data.lobster import LobsterData, import_lobster
    from hft.data.sources import MarketData

    data = import_lobster(shared_data / GOOG_10)
    n = 30_000  # the first 30k messages: the Python engine runs too
    data = LobsterData(data.events[:n], data.instrument, data.reference[:n], data.levels, data.meta)
    return MarketData("lobster", data.events, data.instrument, dict(data.meta), lobster=data)


def _lobster_run(md, strategy: Strategy, engine: str, **cfg):
    from hft.sim.replay import build_engine, parse_replay_config

    rc = parse_replay_config({"engine": engine, "exchange": "no_partial_fill", **cfg})
    eng, mult = build_engine(md, strategy, "queue_quote", rc)  # one strategy name: the same gateway records
    return eng, eng.run(multiplier=mult)


@pytest.mark.slow  # the Python engine on 30k LOBSTER messages, twice
@pytest.mark.shared_data
def test_example_kernel_is_the_python_rule_on_lobster_goog_level_10(goog10):
    """L3 venue (exact queues, resync on): the kernel in the numba loop, the kernel from the Python engine's
    callback and the Python rule on both engines give one run."""
    eng, k_nb = _lobster_run(goog10, _kernel_strategy(), "numba")
    assert eng._skid == SK_CONTEXT and eng.used_in_kernel_orders  # in the loop, with the in-kernel order path
    _, k_py = _lobster_run(goog10, _kernel_strategy(), "python")
    _, r_nb = _lobster_run(goog10, QueueQuotePy(), "numba")
    _, r_py = _lobster_run(goog10, QueueQuotePy(), "python")
    assert k_nb.run_hash == k_py.run_hash == r_nb.run_hash == r_py.run_hash
    same(k_nb, r_py)
    news = k_nb.orders[k_nb.orders["action"] == INTENT_NEW]
    assert len(k_nb.fills) > 10 and (news["side"] == SELL).any()
    # the queue rule moved orders inside the spread: with a threshold no queue reaches it never does, and the
    # run differs
    _, never = _lobster_run(goog10, _kernel_strategy(k_pct=10**6), "numba")
    assert never.run_hash != k_nb.run_hash


@pytest.mark.slow  # the plain-Python reference engine on 30k LOBSTER messages
@pytest.mark.shared_data
@pytest.mark.parametrize("which", ["queue_quote", "mm"])
def test_reference_engine_runs_the_kernel_as_the_numba_loop_does(goog10, which):
    """The independent reference engine (`hft.sim.reference`: its own venue, local book, trade prints and
    accounting behind its `ReferenceContext`) runs the kernel from its Python callback, the context filled from
    its own state; the numba engine runs it in its loop (in-kernel order path). Every decision, order, fill,
    equity row and ACK agrees, and the run hash: the context kernel of docs/examples/queue_quote.py (depth, queue
    position, prints, account) and `mm` (a built-in kernel)."""
    from hft.sim.reference import L3ReferenceVenue, from_market_data
    from hft.sim.replay import ReplayConfig, build_engine, gateway_factory

    make = (lambda: _kernel_strategy(max_position=4)) if which == "queue_quote" else \
        (lambda: make_strategy("mm", {"size": 2, "max_position": 6, "skew_ticks_per_lot": 1}))
    config = ReplayConfig(engine="numba", exchange="no_partial_fill")
    eng, money = build_engine(goog10, make(), which, config)
    nb = eng.run(multiplier=money)
    assert eng._skid == (SK_CONTEXT if which == "queue_quote" else SK_MM) and eng.used_in_kernel_orders
    ref_engine = from_market_data(goog10, make(), which, config,
                                  gateway_factory([goog10.instrument], which, config), money)
    assert isinstance(ref_engine.venue, L3ReferenceVenue)
    ref = ref_engine.run()
    agree(ref, nb)
    news = ref.orders[ref.orders["action"] == INTENT_NEW]
    assert len(ref.fills) > 10 and (news["side"] == SELL).any() and (news["side"] == BUY).any()


@pytest.mark.slow  # 12 streams, four runs each
@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k_pct=st.sampled_from([0, 30, 50, 100, 200]),
       qm=st.sampled_from(["risk_averse", "power_prob_2", "log_prob"]), max_position=st.integers(1, 6))
def test_example_kernel_is_the_python_rule_on_the_l2_venue(seed, k_pct, qm, max_position):
    """L2 venue (the queue model's estimate, floored): numba loop and Python engine, kernel and Python rule."""
    ev = l2_stream(seed, n_msgs=300)
    params = {"size": 1, "max_position": max_position, "k_pct": k_pct}
    engines: list = []
    k_py, k_nb = l2_pair(ev, lambda: _kernel_strategy(**params), qm=qm, engines=engines)
    assert engines[1]._skid == SK_CONTEXT
    r_py, r_nb = l2_pair(ev, lambda: QueueQuotePy(**params), qm=qm)
    same(k_nb, r_py)
    same(k_py, r_py)
    same(r_nb, r_py)


@njit
def _ladder(st, ltop, sord, intents, depth, trades, acct):
    """Up to 24 resting buys, one tick apart below the bid (past the 16 rows the order view starts with), each
    sized by the prints seen and the level's depth; then the order with the most lots ahead is cancelled, once
    per callback."""
    bid = ltop[0]
    if bid == NO_PRICE or (st[S_NORD] >= 24 and acct[AC_NOW] % 3 != 0):
        return 0
    if st[S_NORD] < 24:
        low = bid
        for j in range(st[S_NORD]):
            low = min(low, sord[j, SO_PRICE])
        intents[0, 0], intents[0, 1], intents[0, 2] = IN_SUBMIT, BUY, low - 1
        intents[0, 3] = 1 + (acct[AC_NTRADES] + depth[0, DP_BID_QTY]) % 3
        return 1
    worst = 0
    for j in range(st[S_NORD]):
        if sord[j, SO_QUEUE] > sord[worst, SO_QUEUE]:
            worst = j
    if sord[worst, SO_STATUS] != SO_WORKING:
        return 0
    intents[0, 0], intents[0, 4] = IN_CANCEL, sord[worst, SO_ID]
    return 1


def test_an_order_view_past_its_first_rows_is_the_same_from_python():
    """The order view of a kernel run from Python callbacks (`BookKernel`: its arrays kept between calls) grows
    when the orders exceed it; the Python engine's callback and the numba loop run one run."""
    engines: list = []
    ladder = type("Ladder", (KernelStrategy,), {"nb_kernel": _ladder, "depth_levels": 3, "trade_history": 2})
    a, b = l2_pair(l2_stream(5, n_msgs=400), ladder, classes=(Engine, NbEngine), engines=engines)
    assert engines[1]._skid == SK_CONTEXT
    same(a, b)
    news = a.orders[a.orders["action"] == INTENT_NEW]
    assert len(news) > 24 and (a.orders["action"] == INTENT_CANCEL).sum() > 5
    assert engines[0].strategy._book_kernel._sord.shape[0] > 16  # it grew


@njit
def _five(st, ltop, sord, intents, depth):
    return 0


@njit
def _plain(st, ltop, sord, intents):
    return 0


def test_a_kernel_of_another_arity_is_refused_naming_both_signatures():
    with pytest.raises(SimError, match=r"depth, trades, acct\) -> int \(7 arguments\) or kernel\(st, ltop, sord, "
                                       r"intents\) -> int \(4 arguments\), was _five"):
        l2_pair(l2_stream(1, n_msgs=5), lambda: type("Five", (KernelStrategy,), {"nb_kernel": _five})(),
                classes=(NbEngine,))


def test_a_four_argument_kernel_keeps_its_signature():
    engines: list = []
    a, b = l2_pair(l2_stream(2, n_msgs=50), lambda: type("Plain", (KernelStrategy,), {"nb_kernel": _plain})(),
                   classes=(Engine, NbEngine), engines=engines)
    assert engines[1]._skid == SK_EXTERNAL and a.run_hash == b.run_hash
