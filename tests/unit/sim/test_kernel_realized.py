"""A kernel with the full context reads its realised PnL, ``acct[AC_REAL]`` (`hft.sim.kernel_api`): the integer a
Python strategy reads as ``ctx.realized_pnl`` (average cost, net of the exact fees, rounded once), at every call.

A Python strategy trades a rule whose side and size come from ``ctx.realized_pnl`` and records it at each book
callback; a kernel trading the same rule from ``acct[AC_REAL]`` compares it, call by call, with that recording (a
constant of its code; its call counter in a free parameter slot) and stops the run (-1) at the first difference,
and whenever it is flat and ``acct[AC_REAL] != acct[AC_CASH]``. On the real LOBSTER GOOG day it runs in the numba
loop (in-kernel order path: the loop folds its own fill rows; and with the order path off: Python books the
fills), from the Python engine's callback and from the independent reference engine's (whose realised PnL is its
own `Account` rule): every run makes the Python strategy's trades, and calls the kernel once per recorded value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numba import njit

from hft.core.dtypes import BUY, NO_PRICE, SELL
from hft.core.errors import SimError
from hft.sim.engine_nb.state import S_NF, S_RCOST, S_RN, S_ROWED, S_RPOS, S_RREAL, SK_CONTEXT
from hft.sim.fees import MONEY_REALIZED
from hft.sim.kernel_api import (
    AC_CASH,
    AC_POS,
    AC_REAL,
    IN_CANCEL,
    IN_SUBMIT,
    S_NORD,
    S_PARAMS,
    SO_ID,
    SO_PRICE,
    SO_SIDE,
    SO_STATUS,
    SO_WORKING,
    KernelStrategy,
)
from hft.sim.strategy import Strategy
from tests.unit.sim.agreement import agree, same

GOOG_10 = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"
CAP = 3
_CALLS = S_PARAMS + 7  # the kernel's call counter (a parameter slot no parameter uses)
I64_MAX = 2**63 - 1


def _kernel_for(expected: np.ndarray):
    """The rule as a kernel, checking ``acct[AC_REAL]`` against `expected` (the Python strategy's recording) at
    each call and the flat identity; -1 (the run stops) at the first failure."""
    exp = expected.copy()

    @njit
    def kernel(st, ltop, sord, intents, depth, trades, acct):
        k = st[_CALLS]
        real = acct[AC_REAL]
        if k >= exp.shape[0] or real != exp[k]:
            return -1
        st[_CALLS] = k + 1
        pos = acct[AC_POS]
        if pos == 0 and real != acct[AC_CASH]:
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
        side = BUY if (real % 2 == 0 and pos < cap) or pos <= -cap else SELL
        intents[0, 0], intents[0, 1] = IN_SUBMIT, side
        intents[0, 2] = bid if side == BUY else ask
        intents[0, 3] = 1 + (real // 2) % 2
        return 1

    return type("RealNb", (KernelStrategy,), {"name": "real_sized", "nb_kernel": kernel,
                                              "DEFAULTS": {"max_position": CAP}})


class RealPy(Strategy):
    """The rule on the Python context, from ``ctx.realized_pnl``; it records what it read (and the position, cash)."""

    name = "real_sized_py"

    def __init__(self) -> None:
        self.seen: list[tuple[int, int, int]] = []  # realized_pnl, position, cash

    def on_book(self, ctx) -> None:
        real = ctx.realized_pnl
        pos = ctx.position
        self.seen.append((real, pos, ctx.cash))
        bid, ask = ctx.best_bid, ctx.best_ask
        if bid is None or ask is None:
            return
        if ctx.orders:
            o = next(iter(ctx.orders.values()))
            if o.status == "working" and o.price != (bid if o.side == BUY else ask):
                ctx.cancel(o.order_id)
            return
        side = BUY if (real % 2 == 0 and pos < CAP) or pos <= -CAP else SELL
        ctx.submit(side, bid if side == BUY else ask, 1 + (real // 2) % 2)


_FEES = {"maker_bps": -0.25, "taker_bps": 0.35, "per_lot": 0}


def _open(shared_data: Path, n: int):
    from hft.data.sources import open_market_data

    return open_market_data([shared_data / GOOG_10]).head(n)


def _run(md, strategy: Strategy, engine: str, *, fast: bool = True):
    from hft.sim.replay import build_engine, parse_replay_config

    rc = parse_replay_config({"engine": engine, "exchange": "no_partial_fill", "fees": _FEES})
    eng, money = build_engine(md, strategy, "real_sized", rc)  # one strategy name: the same gateway records
    if not fast:
        eng.in_kernel_orders = False
    return eng, eng.run(multiplier=money), money


@pytest.fixture(scope="module")
def goog10(shared_data: Path):
    return _open(shared_data, 30_000)


@pytest.fixture(scope="module")
def python_run(goog10):
    """The Python strategy's run on the numba engine and what it read."""
    py = RealPy()
    _, out, money = _run(goog10, py, "numba")
    return py, out, money


@pytest.mark.shared_data
def test_the_recorded_realised_pnl_moves_and_keeps_the_flat_identity(python_run):
    py, out, _ = python_run
    reals = [r for r, _, _ in py.seen]
    assert len(set(reals)) > 10 and len(out.fills) > 20 and (out.fills["fee_frac"] != 0).any()
    flat = [(r, c) for r, p, c in py.seen if p == 0]
    assert all(r == c for r, c in flat)
    assert sum(1 for r, _ in flat if r != 0) > 10  # flat after fills: the identity is not 0 == 0
    assert any(p != 0 and r != c for r, p, c in py.seen)  # open: the realised PnL is not the cash
    assert (out.orders["qty"] == 2).any() and (out.orders["qty"] == 1).any()  # the size read the realised PnL


@pytest.mark.shared_data
@pytest.mark.parametrize("where", ["loop", "loop_python_fills", "python_engine"])
def test_the_kernel_reads_what_the_python_strategy_read_at_every_call(goog10, python_run, where):
    py, r_nb, _ = python_run
    expected = np.array([r for r, _, _ in py.seen], dtype=np.int64)
    strategy = _kernel_for(expected)()
    engine = "python" if where == "python_engine" else "numba"
    eng, k_out, _ = _run(goog10, strategy, engine, fast=where != "loop_python_fills")
    same(k_out, r_nb)
    if where == "python_engine":
        st = strategy._book_kernel._st  # `BookKernel`: the Python callback's arrays
    else:
        st = eng._st
        assert eng._skid == SK_CONTEXT and eng.used_in_kernel_orders == (where == "loop")
        if where == "loop":  # the loop folded its own fill rows, every one of them
            assert st[S_RN] == st[S_NF] == len(k_out.fills)
            # the driver names a fill the fold refused (W_MONEY, `MONEY_REALIZED`) as `ctx.realized_pnl` would: books
            # before the first fill made so that its gain cannot fit (closing one lot against a cost basis of ±I64_MAX)
            f0 = k_out.fills[0]
            side0 = int(f0["side"])
            st[S_RN], st[S_RPOS], st[S_RCOST], st[S_RREAL], st[S_ROWED] = 0, -side0, side0 * I64_MAX, 0, 0
            eng._frows = np.array(k_out.fills.tolist(), np.int64)  # (its fill rows, released at the run's end)
            err = eng._money_refusal(MONEY_REALIZED)
            assert str(err).startswith(f"realised PnL: the fill of order {int(f0['order_id'])} ({side0:+d} ")
        else:  # Python booked them and wrote the realised PnL for the loop
            assert st[S_NF] == 0 and st[S_RREAL] == expected[-1]
    assert st[_CALLS] == len(expected)


@pytest.mark.shared_data
def test_the_reference_engine_reads_its_own_realised_pnl_the_same(goog10, python_run):
    """The reference engine computes the realised PnL itself (`hft.sim.reference.accounting.Account`) and runs the
    kernel from its callback: the same values at every call, the same run."""
    from hft.sim.reference import from_market_data
    from hft.sim.replay import gateway_factory, parse_replay_config

    py, r_nb, money = python_run
    expected = np.array([r for r, _, _ in py.seen], dtype=np.int64)
    strategy = _kernel_for(expected)()
    config = parse_replay_config({"engine": "numba", "exchange": "no_partial_fill", "fees": _FEES})
    ref = from_market_data(goog10, strategy, "real_sized", config,
                           gateway_factory([goog10.instrument], "real_sized", config), money).run()
    agree(ref, r_nb)
    assert strategy._book_kernel._st[_CALLS] == len(expected)


@pytest.mark.shared_data
@pytest.mark.parametrize("engine", ["numba", "python"])
def test_one_value_off_stops_the_run(goog10, python_run, engine):
    """The comparison can fail: with one recorded value changed the kernel returns -1 there and the run stops."""
    py, _, _ = python_run
    expected = np.array([r for r, _, _ in py.seen], dtype=np.int64)
    nz = np.flatnonzero(expected != 0)
    expected[nz[len(nz) // 2]] += 1
    with pytest.raises(SimError, match="-1"):
        _run(goog10, _kernel_for(expected)(), engine)




def _closing_fill(real: int, owed: int, fee: int, frac: int):
    """A long of 2 lots bought at 100 (cost basis 200 at money factor 1) sold at 110: 20 realised before the fee."""
    from hft.sim.fees import realized_fill

    return realized_fill(2, 200, real, owed, -1, 110, 2, fee, frac, 1)


def test_the_rule_books_the_realised_pnl_exactly_to_the_edge_of_int64():
    """`realized_fill` against Python's unbounded integers: ``real + 20 - fee`` (a carried millionth: one more)
    booked exactly when it lies within ±I64_MAX, whichever partial sum would not; refused otherwise."""
    cases = [(I64_MAX - 20, 0, 0, 0), (I64_MAX - 19, 0, 0, 0), (I64_MAX - 10, 0, 15, 0),  # (real + 20 overflows)
             (-I64_MAX, 0, 20, 0), (-I64_MAX, 0, 21, 0), (-I64_MAX + 1, 600_000, 21, 400_000),
             (-I64_MAX + 1, 600_000, 20, 400_000), (5, 999_999, -3, 1), (5, 0, 0, 999_999)]
    for real, owed, fee, frac in cases:
        ok, pos, cost, nreal, nowed = (int(x) for x in _closing_fill(real, owed, fee, frac))
        carry, want_owed = divmod(owed + frac, 1_000_000)
        want = real + 20 - fee - carry
        if -I64_MAX <= want <= I64_MAX:
            assert (ok, pos, cost, nreal, nowed) == (1, 0, 0, want, want_owed), (real, owed, fee, frac)
        else:
            assert (ok, pos, cost, nreal, nowed) == (0, 2, 200, real, owed), (real, owed, fee, frac)


def test_the_loop_fold_stops_at_the_fill_it_cannot_book_as_ctx_realized_pnl_does():
    """The loop's fold of its fill rows (`streams._realized_fold`) and ``ctx.realized_pnl``'s
    (`hft.sim.fees.realized_after`) on the same rows: the same books after each; past int64 the fold stops at that
    row (``st[S_RN]``) and `realized_after` names it in its `SimError`."""
    from hft.sim.engine_nb.state import (
        F_COLS,
        FR_FEE,
        FR_FEE_FRAC,
        FR_OID,
        FR_PRICE,
        FR_QTY,
        FR_SIDE,
        LM_COLS,
        N_STATE,
        OI_COLS,
        S_MULT,
        S_POS,
    )
    from hft.sim.engine_nb.streams import _realized_fold
    from hft.sim.fees import realized_after

    fills = [(1, 100, 3, 2, 300_000), (-1, 104, 1, -1, 700_000), (-1, 90, 4, 3, 0), (1, 95, 2, 0, 999_999)]
    rows = np.zeros((len(fills), F_COLS), np.int64)
    for r, (side, price, qty, fee, frac) in enumerate(fills):
        rows[r, [FR_OID, FR_SIDE, FR_PRICE, FR_QTY, FR_FEE, FR_FEE_FRAC]] = r + 1, side, price, qty, fee, frac
    st = np.zeros(N_STATE, np.int64)
    st[S_MULT] = 1_000
    lm = st[S_POS: S_POS + LM_COLS].reshape(1, LM_COLS)  # one leg's leg matrix: the state row's columns
    info = np.zeros((100, OI_COLS), np.int64)
    state = [0, 0, 0, 0, 0]
    for n in range(1, len(fills) + 1):
        st[S_NF] = n
        assert _realized_fold(st, rows, lm, info)
        real = realized_after(rows[:n], state, 0, {}, 1_000)
        assert st[S_RN:S_RN + 5].tolist() == state and state[0] == n
        assert real == (state[3] if state[4] == 0 else state[3] - 1 + (state[4] < 500_000))  # (no tie here)
    assert st[S_RREAL] != 0
    st[S_RREAL] = state[3] = I64_MAX - 5  # the next closing fill's gain would pass int64
    more = np.zeros((2, F_COLS), np.int64)  # sell 4 at 90 (flat before: opens a short, no gain), buy 1 at 10
    more[:, [FR_OID, FR_SIDE, FR_PRICE, FR_QTY, FR_FEE, FR_FEE_FRAC]] = [(98, -1, 90, 4, 3, 0), (99, 1, 10, 1, 0, 0)]
    rows = np.concatenate([rows, more])
    st[S_NF] = len(rows)
    assert not _realized_fold(st, rows, lm, info)
    assert st[S_RN] == len(rows) - 1  # stopped at that row, the one before it folded
    with pytest.raises(SimError, match=r"^realised PnL: the fill of order 99 \(\+1 1 @ 10\)"):
        realized_after(rows, state, 0, {}, 1_000)
