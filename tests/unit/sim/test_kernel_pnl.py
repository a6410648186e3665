"""A kernel with the full context reads its PnL, ``acct[AC_PNL]`` (`hft.sim.kernel_api`): the same integer a Python
strategy gets by rounding ``ctx.pnl`` (half to even), shown by a rule whose every decision depends on it — its side
and size come from the PnL — making one run as a kernel (in the numba loop, from the Python engine's callback, from
the independent reference engine's) and as a Python ``on_book`` reading ``round(ctx.pnl)``: on LOBSTER GOOG (linear,
ties at half a unit: a mid between two ticks), on Binance COIN-M BTCUSD_PERP (inverse: ``-position × K / mid``) and
on a generated L2 stream whose book empties (no mid: the PnL is the cash alone, which the kernel checks itself)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numba import njit

from hft.core.dtypes import BUY, EV_CLEAR, FLAG_EOM, NO_PRICE, SELL
from hft.core.errors import SimError
from hft.sim.engine import Engine
from hft.sim.engine_nb import NbEngine
from hft.sim.engine_nb.state import SK_CONTEXT
from hft.sim.fees import FeeSchedule
from hft.sim.kernel_api import (
    AC_CASH,
    AC_MID2,
    AC_PNL,
    IN_CANCEL,
    IN_SUBMIT,
    S_NORD,
    S_PARAMS,
    S_POS,
    SO_ID,
    SO_PRICE,
    SO_SIDE,
    SO_STATUS,
    SO_WORKING,
    KernelStrategy,
)
from hft.sim.strategy import Strategy
from tests.unit.sim.agreement import agree, l2_pair, l2_stream, same

GOOG_10 = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"
CM = "binance/cm/btcusd_perp_20240808.gz"


@njit
def _pnl_sized(st, ltop, sord, intents, depth, trades, acct):
    """One passive order at a time at the touch; its side and size from the PnL: buy when ``pnl % 2 == 0`` (unless
    the position is at +max), else sell (unless at -max), ``1 + (pnl // 2) % 2`` lots; an order off the touch is
    cancelled. Without a mid the PnL must be the cash (else the kernel returns -1: the run stops)."""
    pnl = acct[AC_PNL]
    if acct[AC_MID2] == NO_PRICE and pnl != acct[AC_CASH]:
        return -1
    bid, ask = ltop[0], ltop[2]
    if bid == NO_PRICE or ask == NO_PRICE:
        return 0
    if st[S_NORD] > 0:
        touch = bid if sord[0, SO_SIDE] == BUY else ask
        if sord[0, SO_STATUS] == SO_WORKING and sord[0, SO_PRICE] != touch:
            intents[0, 0], intents[0, 4] = IN_CANCEL, sord[0, SO_ID]
            return 1
        return 0
    cap = st[S_PARAMS]
    side = BUY if (pnl % 2 == 0 and st[S_POS] < cap) or st[S_POS] <= -cap else SELL
    intents[0, 0], intents[0, 1] = IN_SUBMIT, side
    intents[0, 2] = bid if side == BUY else ask
    intents[0, 3] = 1 + (pnl // 2) % 2
    return 1


class PnlSizedNb(KernelStrategy):
    name = "pnl_sized"
    nb_kernel = _pnl_sized
    DEFAULTS = {"max_position": 4}  # noqa: RUF012 - the class attribute KernelStrategy reads


class PnlSizedPy(Strategy):
    """`_pnl_sized`'s rule on the Python context, with ``round(ctx.pnl)`` (half to even); it keeps what it read."""

    name = "pnl_sized_py"

    def __init__(self, max_position: int = 4) -> None:
        self.cap = max_position
        self.seen: list[tuple[float, int, bool]] = []  # ctx.pnl, ctx.pnl_rounded, a mid

    def on_book(self, ctx) -> None:
        pnl = round(ctx.pnl)
        self.seen.append((ctx.pnl, ctx.pnl_rounded, ctx.mid2 is not None))
        bid, ask = ctx.best_bid, ctx.best_ask
        if bid is None or ask is None:
            return
        if ctx.orders:
            o = next(iter(ctx.orders.values()))
            if o.status == "working" and o.price != (bid if o.side == BUY else ask):
                ctx.cancel(o.order_id)
            return
        pos = ctx.position
        side = BUY if (pnl % 2 == 0 and pos < self.cap) or pos <= -self.cap else SELL
        ctx.submit(side, bid if side == BUY else ask, 1 + (pnl // 2) % 2)


def _checked(py: PnlSizedPy, *, mids_missing: bool = False) -> None:
    """What the Python rule read: ``ctx.pnl_rounded`` is ``round(ctx.pnl)`` at every call, the PnL moved (fills
    were marked), and, when asked, calls without a mid happened."""
    pnls = [p for p, _, _ in py.seen]
    assert all(round(p) == r for p, r, _ in py.seen)
    assert len({round(p) for p in pnls}) > 10
    assert any(p != int(p) for p in pnls)  # the exact PnL had a fraction: rounding was exercised
    if mids_missing:
        assert not all(m for _, _, m in py.seen)


def _open(shared_data: Path, rel: str, n: int):
    from hft.data.sources import open_market_data

    return open_market_data([shared_data / rel]).head(n)


def _run(md, strategy: Strategy, engine: str):
    from hft.sim.replay import build_engine, parse_replay_config

    rc = parse_replay_config({"engine": engine, "exchange": "no_partial_fill",
                              "fees": {"maker_bps": -0.25, "taker_bps": 0.35, "per_lot": 0}})
    eng, money = build_engine(md, strategy, "pnl_sized", rc)  # one strategy name: the same gateway records
    return eng, eng.run(multiplier=money), money


@pytest.fixture(scope="module")
def goog10(shared_data: Path):
    return _open(shared_data, GOOG_10, 30_000)


@pytest.mark.shared_data
def test_the_kernel_reads_the_pnl_a_python_strategy_rounds_on_lobster_goog(goog10):
    eng, k_nb, money = _run(goog10, PnlSizedNb(), "numba")
    assert money > 0 and eng._skid == SK_CONTEXT and eng.used_in_kernel_orders  # in the loop
    py = PnlSizedPy()
    _, r_nb, _ = _run(goog10, py, "numba")
    same(k_nb, r_nb)
    _checked(py)
    assert len(k_nb.fills) > 20 and (k_nb.fills["fee_frac"] != 0).any()
    assert (k_nb.orders["qty"] == 2).any() and (k_nb.orders["qty"] == 1).any()


@pytest.mark.shared_data
def test_the_reference_engine_fills_the_same_pnl_on_lobster_goog(goog10):
    """The independent reference engine computes the PnL itself (Python fractions, `ReferenceContext.pnl_rounded`)
    and runs the kernel from its callback: every decision, order and fill agrees with the numba loop's run."""
    from hft.sim.reference import from_market_data
    from hft.sim.replay import ReplayConfig, gateway_factory, parse_replay_config

    _, nb, money = _run(goog10, PnlSizedNb(), "numba")
    config: ReplayConfig = parse_replay_config({"engine": "numba", "exchange": "no_partial_fill",
                                                "fees": {"maker_bps": -0.25, "taker_bps": 0.35, "per_lot": 0}})
    ref = from_market_data(goog10, PnlSizedNb(), "pnl_sized", config,
                           gateway_factory([goog10.instrument], "pnl_sized", config), money).run()
    agree(ref, nb)


@pytest.mark.shared_data
def test_the_kernel_reads_the_inverse_pnl_on_binance_cm_btcusd_perp(shared_data):
    md = _open(shared_data, CM, 60_000)
    eng, k_nb, money = _run(md, PnlSizedNb(max_position=3), "numba")
    assert money < 0 and eng._skid == SK_CONTEXT and eng.used_in_kernel_orders  # inverse, in the loop
    py = PnlSizedPy(max_position=3)
    _, r_nb, _ = _run(md, py, "numba")
    same(k_nb, r_nb)
    _checked(py)
    assert len(k_nb.fills) > 20


def _emptying(seed: int) -> np.ndarray:
    """`l2_stream`, each clear of the book (both sides or one) its own message: the strategy sees the book without
    a mid until the next message's snapshot."""
    ev = l2_stream(seed, n_msgs=600)
    clears = ev["kind"] == EV_CLEAR
    assert clears.sum() > 5
    ev["flags"][clears] |= FLAG_EOM
    return ev


def test_without_a_mid_the_pnl_is_the_cash_on_both_engines():
    """A generated L2 stream whose book is cleared now and then (no mid until the next snapshot): the kernel checks
    ``acct[AC_PNL] == acct[AC_CASH]`` there itself; the Python engine's callback (`BookKernel`, the context's
    ``pnl_rounded``) and the numba loop make the Python rule's run."""
    ev = _emptying(11)
    engines: list = []
    fees = FeeSchedule(-25, 35, 0)
    k_py, k_nb = l2_pair(ev, PnlSizedNb, fees=fees, classes=(Engine, NbEngine), engines=engines)
    assert engines[1]._skid == SK_CONTEXT
    holder: list[PnlSizedPy] = []

    def make_py():
        holder.append(PnlSizedPy())
        return holder[-1]

    (r_nb,) = l2_pair(ev, make_py, fees=fees, classes=(NbEngine,))
    same(k_py, r_nb)
    same(k_nb, r_nb)
    _checked(holder[0], mids_missing=True)


def test_a_kernel_that_finds_the_pnl_wrong_stops_the_run():
    """The kernel's own check can fail (the check above is not vacuous): with the cash read from the PnL's
    column, a call without a mid and a non-zero PnL returns -1 and the run stops."""

    @njit
    def wrong(st, ltop, sord, intents, depth, trades, acct):
        if acct[AC_MID2] == NO_PRICE and acct[AC_PNL] == acct[AC_CASH] and st[S_POS] == 0:
            return -1
        return 0

    with pytest.raises(SimError, match="-1"):
        l2_pair(_emptying(11), type("Wrong", (KernelStrategy,), {"nb_kernel": wrong}),
                classes=(NbEngine,))


def test_the_pnl_column_is_past_the_others():
    from hft.sim.kernel_api import AC_COLS, AC_NOW

    assert AC_NOW < AC_PNL < AC_COLS
    assert np.zeros(AC_COLS, np.int64)[AC_PNL] == 0
