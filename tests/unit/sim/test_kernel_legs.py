"""Numba strategy kernels from outside the package on several instruments (`hft.sim.kernel_api`): the numba loop
runs them itself, each call on its callback's leg with what `BookKernel.run` gives them from that leg's `Context` in
the other engines (the leg's orders, depth, prints, queue positions, position, cash, fees, PnL and realised PnL). A
probe kernel whose every decision depends on every field of its context makes one run in the numba loop, from the
Python engine's callbacks and from the independent reference engine's: on seeded L2 legs, on two generated LOBSTER
instruments and on the real LOBSTER GOOG + AMZN level 5 day."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numba import njit

from hft.core.dtypes import BUY, NO_PRICE, SELL
from hft.sim.engine import Engine
from hft.sim.engine_nb import NbEngine
from hft.sim.engine_nb.state import SK_CONTEXT, SK_EXTERNAL
from hft.sim.kernel_api import (
    AC_CASH,
    AC_FEES,
    AC_MID2,
    AC_NOW,
    AC_NTRADES,
    AC_PNL,
    AC_POS,
    AC_REAL,
    DP_ASK_QTY,
    DP_BID_QTY,
    IN_CANCEL,
    IN_SUBMIT,
    S_NORD,
    SO_ID,
    SO_LEAVES,
    SO_PRICE,
    SO_QUEUE,
    SO_SIDE,
    SO_STATUS,
    SO_WORKING,
    TR_QTY,
    TR_SIDE,
    KernelStrategy,
)
from tests.unit.sim.agreement import (
    ECFG,
    Tight,
    agree,
    l2_stream,
    reference_and_numba_legs,
    run_legs,
    same,
    shifted,
)

_MASK = 0xFFFFFFFF


@njit(cache=True)
def _mix(h, x):
    """A digest step that cannot overflow (32-bit halves): a different input changes the decisions after it."""
    return ((h & _MASK) * 33) ^ (x & _MASK)


@njit(cache=True)
def _put(intents, n, kind, side, price, qty, order_id):
    intents[n, 0], intents[n, 1], intents[n, 2], intents[n, 3], intents[n, 4] = kind, side, price, qty, order_id
    return n + 1


@njit(cache=True)
def probe(st, ltop, sord, intents, depth, trades, acct):
    """One buy and one sell near the touch of the callback's leg, moved, cancelled and sometimes sent through the
    touch as the digest of the whole context says: its depth, prints, orders and their queues, and every account
    figure (a field read wrong on one leg makes another run)."""
    bid, ask = ltop[0], ltop[2]
    if bid == NO_PRICE or ask == NO_PRICE:
        return 0
    h = 7
    for i in range(depth.shape[0]):
        h = _mix(_mix(h, depth[i, DP_BID_QTY]), depth[i, DP_ASK_QTY])
    for j in range(acct[AC_NTRADES]):
        h = _mix(_mix(h, trades[j, TR_QTY]), trades[j, TR_SIDE])
    for c in (AC_POS, AC_CASH, AC_FEES, AC_MID2, AC_NTRADES, AC_PNL, AC_REAL):
        h = _mix(h, acct[c])
    h = _mix(h, acct[AC_NOW] >> 10)
    b = s = -1
    for j in range(st[S_NORD]):
        h = _mix(_mix(h, sord[j, SO_QUEUE]), sord[j, SO_LEAVES])
        if sord[j, SO_SIDE] == BUY:
            b = j
        else:
            s = j
    pos = acct[AC_POS]
    n = 0
    if b < 0:
        if pos < 4:
            if h % 13 == 0:
                n = _put(intents, n, IN_SUBMIT, BUY, ask, 1, 0)  # through the touch: a fill now
            else:
                n = _put(intents, n, IN_SUBMIT, BUY, bid - h % 2, 1 + (h >> 4) % 3, 0)
    elif sord[b, SO_STATUS] == SO_WORKING and (h % 5 == 0 or sord[b, SO_PRICE] < bid - 2):
        n = _put(intents, n, IN_CANCEL, 0, 0, 0, sord[b, SO_ID])
    if s < 0:
        if pos > -4:
            if h % 17 == 0:
                n = _put(intents, n, IN_SUBMIT, SELL, bid, 1, 0)
            else:
                n = _put(intents, n, IN_SUBMIT, SELL, ask + (h >> 1) % 2, 1 + (h >> 6) % 3, 0)
    elif sord[s, SO_STATUS] == SO_WORKING and (h % 7 == 0 or sord[s, SO_PRICE] > ask + 2):
        n = _put(intents, n, IN_CANCEL, 0, 0, 0, sord[s, SO_ID])
    return n


@njit(cache=True)
def quote(st, ltop, sord, intents):
    """A four-argument kernel: one buy at the bid and one sell at the ask of the callback's leg, each cancelled when
    the touch moves; with another leg's orders in its view it would cancel those."""
    n = 0
    for j in range(st[S_NORD]):
        want = ltop[0] if sord[j, SO_SIDE] == BUY else ltop[2]
        if sord[j, SO_STATUS] == SO_WORKING and sord[j, SO_PRICE] != want:
            n = _put(intents, n, IN_CANCEL, 0, 0, 0, sord[j, SO_ID])
            if n == 8:
                return n
    if st[S_NORD] == 0 and ltop[0] != NO_PRICE and ltop[2] != NO_PRICE:
        n = _put(intents, n, IN_SUBMIT, BUY, ltop[0], 1, 0)
        n = _put(intents, n, IN_SUBMIT, SELL, ltop[2], 1, 0)
    return n


class Probe(KernelStrategy):
    name = "probe"
    nb_kernel = probe
    depth_levels = 4
    trade_history = 3


class ProbeWithReports(Probe):
    """The probe with a Python report callback: the numba engine books fills in Python (no in-kernel order path)."""

    def on_order_update(self, ctx, update) -> None:
        pass


class ProbeWithTrades(Probe):
    """The probe with a Python trade callback: the numba engine wakes Python at each print, which then runs the
    kernel at that message's end from Python (the driver's own copy of the leg's view)."""

    def on_trade(self, ctx, side, price, qty) -> None:
        pass


class Quote(KernelStrategy):
    name = "quote"
    nb_kernel = quote


def _legs(seed: int = 7, n_msgs: int = 500) -> list[np.ndarray]:
    return [l2_stream(seed, n_msgs=n_msgs), shifted(l2_stream(seed + 2, n_msgs=n_msgs), 250_000, 5000)]


def _same_legs(a, b) -> None:
    same(a, b)
    for la, lb in zip(a.legs, b.legs, strict=True):
        assert la.final == lb.final and np.array_equal(la.equity, lb.equity)


@pytest.mark.parametrize("cls,skid", [(Probe, SK_CONTEXT), (ProbeWithReports, SK_CONTEXT),
                                      (ProbeWithTrades, SK_CONTEXT), (Quote, SK_EXTERNAL)],
                         ids=["context", "context_python_books", "context_python_prints", "four_arguments"])
@pytest.mark.parametrize("engine", [NbEngine, Tight])
def test_a_kernel_on_two_l2_legs_runs_in_the_loop_as_from_python(cls, skid, engine):
    """Seeded L2 legs (the queue model's estimate): the kernel in the numba loop (buffers grown only when full too)
    and from the Python engine's callbacks make one run; both legs trade."""
    _, a = run_legs(_legs(), cls(), Engine, ECFG)  # (the gateway's strategy: "chaos", as ECFG names it)
    eng, b = run_legs(_legs(), cls(), engine, ECFG)
    assert eng._skid == skid and eng._kc is not None  # in the loop
    assert eng.used_in_kernel_orders == (cls not in (ProbeWithReports, ProbeWithTrades))
    _same_legs(a, b)
    assert all(len(leg.order_ids) > 5 for leg in a.legs)
    assert len(a.fills) > 10 and {int(x) for x in np.unique(b.fills["side"])} == {BUY, SELL}
    assert all(leg.final["position"] != 0 or leg.final["cash"] != 0 for leg in a.legs)  # each leg traded


# --- L3 legs: the independent reference engine ----------------------------------------------------------------------
def _replay_two(mds, make, name: str, **cfg):
    """(reference output, numba engine, numba output) of opened legs `mds` with strategy `make()`."""
    from hft.sim.replay import ReplayConfig

    return reference_and_numba_legs(mds, make, name, ReplayConfig(engine="numba", **cfg))


@pytest.mark.parametrize("cfg", [{}, {"l3_resync": False, "feed": 300_000, "jitter_ns": 200_000, "seed": 3}],
                         ids=["default", "no_resync_latencies"])
def test_a_context_kernel_on_two_lobster_legs_agrees_with_the_reference(two_lobster_instruments, cfg):
    """Exact queues on the L3 venue of each leg; the reference runs the kernel from its own `Context` of each leg."""
    ref, eng, nb = _replay_two(two_lobster_instruments, Probe, "probe", **cfg)
    assert eng._skid == SK_CONTEXT and eng._kc is not None
    agree(ref, nb)
    assert all(len(leg.order_ids) > 5 for leg in ref.legs) and len(ref.fills) > 10


@pytest.mark.shared_data
@pytest.mark.slow  # the plain-Python reference on 2 x 20k LOBSTER messages
def test_a_context_kernel_on_lobster_goog_and_amzn_agrees_with_the_reference(shared_data: Path):
    """The real LOBSTER GOOG and AMZN level 5 samples (the first 20k messages of each), one clock."""
    from hft.data.lobster import LobsterData, import_lobster
    from hft.data.sources import MarketData

    mds = []
    for sym in ("GOOG", "AMZN"):
        d = import_lobster(shared_data / "lobster" / f"LOBSTER_SampleFile_{sym}_2012-06-21_5.zip")
        n = 20_000
        d = LobsterData(d.events[:n], d.instrument, d.reference[:n], d.levels, d.meta)
        mds.append(MarketData("lobster", d.events, d.instrument, dict(d.meta), lobster=d))
    ref, eng, nb = _replay_two(mds, Probe, "probe", exchange="no_partial_fill")
    assert eng._skid == SK_CONTEXT and eng.used_in_kernel_orders
    agree(ref, nb)
    assert all(len(leg.order_ids) > 20 for leg in ref.legs) and len(ref.fills) > 20
