"""Prices, quantities, fees and times at the edges of int64: every path refuses (or values exactly) what would
overflow, the same way — one intent at a time (`process`), the batch kernel, the read-only checks — and a report or a mark whose booking would not fit int64 is refused (F_BAD_REPORT), with
nothing applied, instead of wrapping a position or a PnL (issue 50: a signed overflow is undefined behaviour in
a numba kernel)."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from gwkit import Gw, config
from numba import njit

from hft.core.errors import ConfigError, GatewayError
from hft.core.orders import (
    BUY,
    INTENT_DTYPE,
    INTENT_NEW,
    NO_OPTIONS,
    ORDER_LIMIT,
    R_DAILY_LOSS,
    R_MAX_ORDER_NOTIONAL,
    R_NOTIONAL_LIMIT,
    R_OK,
    R_POSITION_LIMIT,
    R_PRICE_BAND,
    REPORT_PARTIAL_FILL,
    REPORT_REPLACED,
    SELL,
    TIF_GTC,
)
from hft.gateway import kernels as K
from hft.gateway.config import LimitSet, Rate, StormConfig, SymbolSpec
from hft.gateway.intents import ExecutionReport
from hft.gateway.kernels import prefetch

I64_MAX = 2**63 - 1
I64_MIN = -(2**63)
UNLIMITED = LimitSet()  # nothing set: every default unlimited


def _gw(defaults: LimitSet = UNLIMITED, mark: int | None = None, **kw) -> Gw:
    return Gw(config(defaults=defaults, **kw), mark=mark)


def _batch_reasons(g: Gw, orders: list[tuple[int, int, int]]) -> list[int]:
    """The reasons `process_batch` gives NEW orders (side, price, qty) of A1/s1/AAA, in order."""
    a = np.zeros(len(orders), INTENT_DTYPE)
    for i, (side, price, qty) in enumerate(orders):
        a[i]["key"] = 10_000 + i
        a[i]["kind"], a[i]["side"], a[i]["price"], a[i]["qty"] = INTENT_NEW, side, price, qty
        a[i]["order_type"], a[i]["tif"] = ORDER_LIMIT, TIF_GTC
        a[i]["account"], a[i]["strategy"], a[i]["symbol"] = (g.svc.account_id("A1"), g.svc.strategy_id("s1"),
                                                             g.svc.symbol_id("AAA"))
    return [int(r) for r in g.svc.process_batch(a)["reason"]]


# (what, the reference price (None: no mark), orders placed in turn: (side, price, qty), the reason of each)
SEQUENCES = [
    # the working quantity plus a new order past int64: the old sum wrapped negative and passed every limit
    ("working_plus_order", None, [(BUY, 1, I64_MAX - 5), (BUY, 1, 10)], [R_OK, R_POSITION_LIMIT]),
    ("sell_side", None, [(SELL, 1, I64_MAX - 5), (SELL, 1, 10)], [R_OK, R_POSITION_LIMIT]),
    # price x qty past int64 (2**64 wraps to 0): refused even with no notional limit set; the position's value
    # (at the order's price without a mark) first, the order's own value with a mark that values the position
    ("notional_wraps_to_zero", None, [(BUY, 2**62, 4)], [R_NOTIONAL_LIMIT]),
    ("order_notional_wraps_to_zero", 1, [(BUY, 2**62, 4)], [R_MAX_ORDER_NOTIONAL]),
    ("notional_max", None, [(BUY, I64_MAX - 1, 1), (BUY, I64_MAX - 1, 1)], [R_OK, R_NOTIONAL_LIMIT]),
    ("qty_max_price_1", None, [(BUY, 1, I64_MAX)], [R_OK]),
    ("qty_max_price_2", None, [(BUY, 2, I64_MAX)], [R_NOTIONAL_LIMIT]),
    ("qty_max_price_2_marked", 1, [(BUY, 2, I64_MAX)], [R_MAX_ORDER_NOTIONAL]),
]


@pytest.mark.parametrize("what,ref,orders,want", SEQUENCES, ids=[s[0] for s in SEQUENCES])
def test_extreme_orders_are_refused_alike_on_every_path(what, ref, orders, want):
    g = _gw(mark=ref)
    got = {"process": [g.new(side=s, price=p, qty=q).reason for s, p, q in orders],
           "batch": _batch_reasons(_gw(mark=ref), orders)}
    assert got == {"process": want, "batch": want}
    # the read-only check of the last order, after the others were placed, agrees too
    g = _gw(mark=ref)
    for s, p, q in orders[:-1]:
        g.new(side=s, price=p, qty=q)
    s, p, q = orders[-1]
    assert g.svc.risk.evaluate(g.clock.now_ns(), 0, 0, 0, s, p, q) == want[-1]


def test_reservations_never_wrap():
    g = _gw()
    assert g.new(price=1, qty=I64_MAX - 5).accepted
    for _ in range(3):
        assert g.new(price=1, qty=10).reason == R_POSITION_LIMIT
    e = g.svc.position("A1", "s1", "AAA")
    assert (e.position, e.working_buy) == (0, I64_MAX - 5)


def test_a_far_price_does_not_wrap_into_the_price_band():
    """|price - ref| * 10000 past int64 used to skip the band check: an order a trillion ticks away passed it."""
    g = _gw(LimitSet(price_band_bps=1000), mark=1000)
    far = I64_MAX // 10000 + 2000  # its distance from 1000 times 10000 does not fit int64
    assert g.new(price=far, qty=1).reason == R_PRICE_BAND
    assert g.new(price=1100, qty=1).reason == R_OK  # inside the 10% band
    assert g.new(price=1101, qty=1).reason == R_PRICE_BAND


def _fill(g: Gw, oid: int, price: int, qty: int, fee: int = 0, kind: int = REPORT_PARTIAL_FILL) -> int:
    return g.svc.on_execution_report(ExecutionReport(0, oid, kind, price, qty, -1, fee))


def _books(g: Gw) -> tuple:
    st = g.svc._st
    e = g.svc.position("A1", "s1", "AAA")
    return (e.position, e.cost, e.realised, st.strat[0].tolist(), st.acct[0].tolist(), st.sym[0].tolist())


@pytest.mark.parametrize("price,qty,fee", [
    (I64_MAX, 2, 0),  # its value does not fit
    (2**62, 4, 0),  # wraps to exactly 0
    (1, 1, I64_MIN),  # -fee does not fit
    (I64_MAX, 1, -I64_MAX),  # fits exactly: cost I64_MAX, realised I64_MAX (a rebate)
    (1, I64_MAX, 0),
])
def test_a_fill_that_does_not_fit_is_refused_with_nothing_applied(price, qty, fee):
    """An opening fill books its value as the cost basis (and the marked value) and -fee as realised PnL."""
    g = _gw(mark=None)
    oid = g.new(price=5, qty=10).order_id
    before = _books(g)
    flags = _fill(g, oid, price, qty, fee)
    value = price * qty
    if value <= I64_MAX and -I64_MAX <= -fee <= I64_MAX:
        assert not flags & K.F_BAD_REPORT  # it fits exactly: booked
        assert g.svc.position("A1", "s1", "AAA").cost == value
    else:
        assert flags & K.F_BAD_REPORT
        assert _books(g) == before
        assert g.svc.position("A1", "s1", "AAA").working_buy == 10  # not even the order's reservation moved


def test_fills_accumulating_past_int64_are_refused():
    """Two fills, each of a value that fits, whose cost basis together does not: the second is refused."""
    g = _gw(mark=None)
    oid = g.new(price=1, qty=10).order_id
    assert not _fill(g, oid, I64_MAX // 2, 2) & K.F_BAD_REPORT  # cost I64_MAX - 1
    assert _fill(g, oid, I64_MAX // 2, 2) & K.F_BAD_REPORT
    assert g.svc.position("A1", "s1", "AAA").position == 2


def test_a_large_partial_close_takes_its_exact_share_of_the_cost_basis():
    """cost * closing overflowed int64 long before either did (cost 3e18, closing 7): the share is exact now."""
    g = _gw(mark=None)
    buy = g.new(price=5, qty=10).order_id
    assert not _fill(g, buy, 3 * 10**17, 10) & K.F_BAD_REPORT  # position 10, cost 3e18
    g.svc.mark("AAA", 3 * 10**17)
    sell = g.new(side=SELL, price=3 * 10**17, qty=7).order_id
    assert not _fill(g, sell, 2 * 10**17, 7) & K.F_BAD_REPORT
    e = g.svc.position("A1", "s1", "AAA")
    removed = 3 * 10**18 * 7 // 10  # the oracle: Python's integers
    assert (e.position, e.cost, e.realised) == (3, 3 * 10**18 - removed, 7 * 2 * 10**17 - removed)


def test_a_mark_whose_value_does_not_fit_is_refused():
    g = _gw(mark=None)
    oid = g.new(price=5, qty=10).order_id
    _fill(g, oid, 5, 4)  # position 4 (the fill marks AAA at 5)
    before = _books(g)
    assert g.svc.mark("AAA", I64_MAX // 2) & K.F_BAD_REPORT  # 4 x that does not fit
    assert _books(g) == before  # reference price and marked values unchanged
    assert g.svc.mark("AAA", I64_MAX // 4) == 0  # 4 x that does (a loss limit is not set)
    assert g.svc._st.sym[0][K.Y_REF_PX] == I64_MAX // 4


def test_a_refused_mark_undoes_the_slots_it_had_marked():
    """Two strategies hold AAA; the second one's marked value does not fit: the first one's is given back."""
    g = _gw(mark=None)
    o1 = g.new(price=5, qty=10, strat="s1").order_id
    o2 = g.new(price=5, qty=10, strat="s2").order_id
    _fill(g, o1, 5, 8)
    _fill(g, o2, 5, 1)  # s2's slot is newer: first in the symbol's list, marked before s1's is refused
    st = g.svc._st
    before = (st.strat[:2].tolist(), st.acct[0].tolist(), st.sym[0].tolist())
    assert g.svc.mark("AAA", I64_MAX // 5) & K.F_BAD_REPORT  # 1 x fits, 8 x does not; the account's sum neither
    assert (st.strat[:2].tolist(), st.acct[0].tolist(), st.sym[0].tolist()) == before


def test_a_replaced_report_cannot_wrap_the_working_quantity():
    g = _gw(mark=None)
    g.new(price=5, qty=10)
    oid = g.new(price=5, qty=10).order_id
    assert g.replace(oid, 5, 12).accepted
    flags = g.svc.on_execution_report(ExecutionReport(0, oid, REPORT_REPLACED, 5, 0, I64_MAX, 0))
    assert flags & K.F_BAD_REPORT
    assert g.svc.position("A1", "s1", "AAA").working_buy == 32


def test_the_daily_loss_is_compared_exactly_whatever_the_books_hold():
    """realised + marked - cost of a strategy may not fit int64 while each does: the comparison stays exact."""
    g = _gw(LimitSet(daily_loss=100), mark=1000)
    st = g.svc._st
    row = st.strat[0]
    row[K.S_REAL], row[K.S_MTM], row[K.S_COST] = I64_MAX, I64_MAX, I64_MAX - 50  # PnL I64_MAX + 50: no loss
    assert g.new(price=1000, qty=1).reason == R_OK
    row[K.S_REAL], row[K.S_MTM], row[K.S_COST] = -I64_MAX, -I64_MAX, -I64_MAX  # PnL -I64_MAX: a loss
    assert g.new(price=1000, qty=1).reason == R_DAILY_LOSS
    row[K.S_REAL], row[K.S_MTM], row[K.S_COST] = I64_MIN + 1, I64_MAX, 50  # PnL -50: within the limit
    assert g.new(price=1000, qty=1).reason == R_OK


def test_a_market_move_is_measured_exactly_at_any_price():
    g = _gw(mark=None, storm=StormConfig(market_move_bps=100, market_move_window_ns=10**18))
    assert g.svc.mark("AAA", I64_MAX // 2) == 0  # opens the window
    assert g.svc.mark("AAA", I64_MAX // 2 + I64_MAX // 400) == 0  # 0.5 %: inside 1 %
    assert g.svc.mark("AAA", I64_MAX // 2 + I64_MAX // 50) & K.F_MARKET_MOVE  # 4 %
    g.svc.reset()


def test_a_dedup_window_of_any_length_keeps_its_entries():
    """A TTL of I64_MAX: now + TTL wrapped negative and the entry expired at once (a retry decided anew)."""
    g = _gw(dedup_ttl_ns=I64_MAX)
    d = g.new(price=1000, qty=1, key=42)
    g.clock.advance(10**9)
    again = g.new(price=1000, qty=1, key=42)
    assert again.duplicate and again.order_id == d.order_id


def test_flatten_price_near_int64s_end_stays_on_the_grid():
    g = _gw(LimitSet(price_band_bps=0), mark=None, symbols={"AAA": SymbolSpec("AAA", tick_multiple=5),
                                                                        "BBB": SymbolSpec("BBB"),
                                                                        "CCC": SymbolSpec("CCC")})
    g.svc.mark("AAA", I64_MAX)  # no band (0 bps): the reference itself, rounded to the grid inside int64
    assert K.flatten_price(g.svc.arena, 0, 0, 0, SELL) == I64_MAX // 5 * 5
    assert K.flatten_price(g.svc.arena, 0, 0, 0, BUY) == I64_MAX // 5 * 5


def test_value_oracle_for_an_inverse_fill_at_the_edge():
    """Inverse (coin-margined) symbol: qty x K past int64 refuses the fill; below it the value is exact."""
    k = 10**12
    syms = {"AAA": SymbolSpec("AAA", multiplier=-k), "BBB": SymbolSpec("BBB"), "CCC": SymbolSpec("CCC")}
    g = _gw(mark=None, symbols=syms)
    oid = g.new(price=60_000, qty=10**6).order_id
    assert _fill(g, oid, 60_000, I64_MAX // k + 1) & K.F_BAD_REPORT
    q = I64_MAX // k
    assert not _fill(g, oid, 60_000, q) & K.F_BAD_REPORT
    assert g.svc.position("A1", "s1", "AAA").cost == -round(Fraction(q * k, 60_000))


def test_configuration_bounds():
    with pytest.raises(ConfigError, match="below 2\\*\\*62"):
        K.new_arena(max_accounts=2**21, max_strategies=2**21, max_symbols=2**21, exposure_slots=1, working_orders=2,
                    dedup_capacity=1)
    g = _gw()
    with pytest.raises(GatewayError, match="multiplier"):
        g.svc.register_symbol("DDD", multiplier=I64_MIN)
    with pytest.raises(GatewayError, match="count \\* window"):
        g.svc.risk.set_strategy_limits(0, LimitSet(submit_rate=Rate(2**40, 2**40)))
    with pytest.raises(GatewayError, match="order_id_start"):
        Gw(config(), order_id_start=I64_MAX)


def test_a_snapshot_arena_of_another_layout_does_not_fit():
    a, b = _gw(), _gw()
    assert a.svc.arena_fits(b.svc.arena.copy())
    other = b.svc.arena.copy()
    other[K.H_BASE + 3 * K.T_ORD] += 8  # the order table moved: the kernels would address another one
    assert not a.svc.arena_fits(other)
    assert not a.svc.arena_fits(other[:-1])


@njit(_nrt=False)
def _prefetch_everywhere(arr, idx):
    st = K.kstate(arr)
    for i in idx:
        prefetch._prefetch(arr, i)
        prefetch.prefetchw(arr, i)
        prefetch._prefetch(st.b, i)
        prefetch.prefetchw(st.b, i)
    return arr[0]


def test_a_prefetch_of_any_index_is_harmless():
    """`_prefetch` / `prefetchw` take any index (a plain getelementptr wraps; a prefetch never faults nor writes):
    past either end of the arena, at int64's extremes, the arena is unchanged and nothing traps."""
    g = _gw()
    arena = g.svc.arena
    before = arena.copy()
    idx = np.array([-1, len(arena), len(arena) + 4096, -(2**40), 2**40, I64_MAX, I64_MIN, I64_MAX // 8, 0],
                   np.int64)
    assert _prefetch_everywhere(arena, idx) == arena[0]
    assert np.array_equal(arena, before)


def test_a_reason_code_outside_the_counters_is_counted_as_an_error():
    """The reason counters are N_REASONS wide: a code past them (a caller's ctl byte, a count from outside) would
    have been written into the next table of the arena (the default limits)."""
    from hft.core.orders import N_REASONS, R_BAD_INPUT, R_INTERNAL_ERROR
    g = _gw()
    st = g.svc._st
    lim = st.lim_def.copy()
    code, _oid, _seq = K.process_one(g.svc.arena, 1, 0, 77, INTENT_NEW, 0, 0, 0, BUY, 100, 1, ORDER_LIMIT, TIF_GTC,
                                     0, 200, NO_OPTIONS)  # ctl: reason 200 decided before the core
    assert code == R_BAD_INPUT
    K.count_reason(g.svc.arena, N_REASONS + 3)
    K.count_reason(g.svc.arena, -1)
    assert np.array_equal(st.lim_def, lim)
    assert st.reasons[R_INTERNAL_ERROR] == 2 and st.reasons[R_BAD_INPUT] == 1


def test_ints_past_int64_from_python_are_refused_not_compiled_for():
    """An int of 2**63 or more handed to a kernel from Python would make numba compile a uint64 version of it (a
    mark at 2**63 was stored as -2**63): the service's entries refuse it instead (F_BAD_REPORT, BAD_INPUT)."""
    from hft.core.orders import R_BAD_INPUT
    g = _gw(mark=None)
    oid = g.new(price=5, qty=10).order_id
    before = _books(g)
    assert g.svc.mark("AAA", 2**63) == K.F_BAD_REPORT
    assert g.svc.mark("AAA", np.uint64(2**64 - 1)) == K.F_BAD_REPORT
    assert g.svc.on_execution_report(ExecutionReport(0, oid, REPORT_PARTIAL_FILL, 2**63, 1)) == K.F_BAD_REPORT
    assert g.svc.on_execution_report(ExecutionReport(0, oid, REPORT_PARTIAL_FILL, 5, 1, -1, -(2**63) - 1)) \
        == K.F_BAD_REPORT
    assert _books(g) == before
    assert g.svc.risk.evaluate(g.clock.now_ns(), 0, 0, 0, BUY, 2**63, 1) == R_BAD_INPUT
    assert g.svc.risk.evaluate(g.clock.now_ns(), 0, 0, 0, BUY, 5, 1) == R_OK
    assert all(str(t) == "int64" for sig in K.mark.signatures for t in sig[1:])


_PAST_INT64 = """
from gwkit import Gw, config
from hft.core.orders import ORDER_STOP_LIMIT, ORDER_TYPE_NAMES, TIF_GTD, TIF_NAMES
from hft.gateway import kernels as K
out = []
for field in ("trigger", "expire", "display", "price", "qty"):
    for value in (2**63, -(2**63) - 1, 2**70):
        g = Gw(config(order_types=tuple(ORDER_TYPE_NAMES.values()), tifs=tuple(TIF_NAMES.values())))
        n = len(K.process_one.signatures)
        d = g.new(**{"otype": ORDER_STOP_LIMIT, "trigger": 1000, "tif": TIF_GTD, "expire": 2**62, field: value})
        out.append((field, value, d.reason_name, len(K.process_one.signatures) - n, len(g.svc.working_orders()),
                    g.new(otype=ORDER_STOP_LIMIT, trigger=1000).accepted))
print(repr(out))
"""


def test_an_intent_field_past_int64_is_bad_input_and_compiles_nothing():
    """An intent whose field (an optional one too: the options' tuple) is an int outside int64: BAD_INPUT, nothing
    reserved, no kernel compiled for it (the compiled entry refuses the conversion; the slow path's range check
    decides), and the next intent decided as usual. In a process of its own: what a process decided before (a
    failed typing of the core's dispatcher) must not be what makes the answer right."""
    import ast
    import subprocess
    import sys

    here = Path(__file__).resolve().parent
    r = subprocess.run([sys.executable, "-c", _PAST_INT64], capture_output=True, text=True, timeout=300,
                       cwd=here, env={**os.environ, "PYTHONPATH": f"{here}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})
    assert r.returncode == 0, r.stderr[-2000:]
    rows = ast.literal_eval(r.stdout.strip().splitlines()[-1])
    assert len(rows) == 15
    for field, value, reason, compiled, working, next_ok in rows:
        assert (reason, compiled, working, next_ok) == ("BAD_INPUT", 0, 0, True), (field, value)


def test_the_arena_intrinsics_take_only_an_int64_arena():
    """`_kstate` / `_data_ptr` read an array's data as int64 words: any other array is a typing error, not a pointer
    misread."""
    from numba.core.errors import TypingError

    from hft.gateway.kernels import layout as L

    @njit(_nrt=False)
    def first_word(a):
        return L._kstate(a).b[0]

    arena = K.new_arena(max_accounts=1, max_strategies=1, max_symbols=1, exposure_slots=1, working_orders=2,
                        dedup_capacity=1)
    assert first_word(arena) == K.MAGIC
    for bad in (arena.astype(np.int32), arena[::2], arena.astype(np.float64), arena.reshape(1, -1)):
        with pytest.raises(TypingError):
            first_word(bad)
