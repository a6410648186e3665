"""The money of a fill at int64's edges (issue 50): `hft.sim.fees`' one rule (`fee_money` at the venues,
`book_fill` in both engines) against pure-Python oracles, and replays through both engines and both venues where a
fill's money just fits (exact numbers) or does not (a one-line `SimError` naming the fill, the same on every engine,
never a wrapped number).

Signed overflow is undefined behaviour to LLVM (numba marks int64 add / sub / mul ``nsw``), so a wrapped sum is not
even a reliable wrong answer: it may differ per CPU target. The oracles here use Python's unbounded integers and
share no code with the kernels.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from hft.core.dtypes import BUY, EV_ADD, EV_DELETE, EV_LEVEL_SET, FLAG_EOM, NO_PRICE, SELL, empty_events
from hft.core.errors import ConfigError, SimError
from hft.core.orders import ORDER_LIMIT, REPORT_FILL, TIF_GTC
from hft.sim import latency as L
from hft.sim.engine import Engine, EngineConfig, L2MarketVenue
from hft.sim.engine_nb import NbEngine
from hft.sim.engine_nb.state import IN_SUBMIT, S_NORD, S_POS, S_SPARAMS
from hft.sim.exchange_l2 import MODE_PARTIAL_FILL, L2Venue
from hft.sim.exchange_l3 import L3Venue
from hft.sim.fees import (
    FEE_REFUSED,
    MAX_ABS_BPS_H,
    MONEY_CASH,
    MONEY_FEE,
    MONEY_FEES,
    MONEY_GATEWAY,
    MONEY_OK,
    MONEY_POSITION,
    MONEY_VALUE,
    FeeSchedule,
    book_fill,
    fee_money,
    fill_refusal,
)
from hft.sim.gateway_setup import sim_gateway_config
from hft.sim.kernel_api import KernelStrategy
from hft.sim.queue_models import parse_queue_model

M = (1 << 63) - 1  # int64's maximum: every money value the simulator holds lies within ±M
D = 1_000_000  # the fee divisor (bps in hundredths: 1e-4 x 1e-2)
QMAX = (1 << 62) - 1  # the most lots a level holds (`hft.book.topn.QTY_MAX`)


# --- pure-Python oracles ---------------------------------------------------------------------------------------
def _fits(x: int) -> bool:
    return -M <= x <= M


def _half_even(num: int, den: int) -> int:
    q, r = divmod(num, den)
    return q + (1 if 2 * r > den or (2 * r == den and q % 2) else 0)


def value_oracle(price: int, qty: int, money: int) -> int | None:
    """The fill's value, or None when a product of it does not fit: linear ``price x qty x m``; inverse
    ``round_half_even(qty x K / price)`` whose product ``qty x K`` must fit (0 without a positive price)."""
    if money > 0:
        v = price * qty * money
        return v if _fits(price * qty) and _fits(v) else None
    if price <= 0:
        return 0
    n = qty * -money
    return _half_even(n, price) if _fits(n) and money != -(1 << 63) else None


def fee_oracle(price: int, qty: int, money: int, bps_h: int, per_lot: int) -> tuple[int, int] | None:
    """The exact fee as (whole units, millionths beyond them), or None when the value, ``per_lot x qty`` or the
    whole units do not fit."""
    v = value_oracle(price, qty, money)
    if v is None or not _fits(per_lot * qty):
        return None
    q, r = divmod(v * bps_h, D)
    fee = q + per_lot * qty
    return (fee, r) if _fits(fee) else None


def book_oracle(side, price, qty, money, fee, pos, cash, fees, frac=0, fees_frac=0) -> tuple[int, ...]:
    """`book_fill`'s rule in words: the value (and its cash flow, a linear buy pays it), the venue's fee (None:
    refused; with its millionths `frac`, which join the leg's `fees_frac` and make a whole unit of fee when they
    reach a million), the position, the cash after it and the fees after it must each fit, checked in that
    order."""
    unchanged = (pos, cash, fees, fees_frac)
    v = value_oracle(price, qty, money)
    if v is None or not _fits(side * v):
        return MONEY_VALUE, *unchanged
    flow = -side * v if money > 0 else side * v
    if fee is None:
        return MONEY_FEE, *unchanged
    carry, nfrac = divmod(fees_frac + frac, D)
    fee += carry
    if not _fits(fee):
        return MONEY_FEE, *unchanged
    if not (_fits(side * qty) and _fits(pos + side * qty)):
        return MONEY_POSITION, *unchanged
    if not _fits(cash + flow - fee):
        return MONEY_CASH, *unchanged
    if not _fits(fees + fee):
        return MONEY_FEES, *unchanged
    return MONEY_OK, pos + side * qty, cash + flow - fee, fees + fee, nfrac


def _fee(price, qty, money, bps_h, per_lot):
    f, frac = (int(x) for x in fee_money(price, qty, money, bps_h, per_lot))
    return None if f == FEE_REFUSED else (f, frac)


# --- the fee at the edges --------------------------------------------------------------------------------------
EDGE_VALUES = [M, M - 1, M - D // 2, -M, -M + 1, -(M - M % D) - D // 2, 500_000, -500_000, 1_500_000, -1_500_000,
               2_500_000, -2_500_000, 0, 1, -1, 10**12 + 500_000, -(10**12) - 500_000]
EDGE_BPS = [MAX_ABS_BPS_H, -MAX_ABS_BPS_H, 1, -1, 500_000, -500_000, 999_999, -999_999, 0, 150, -20]


@pytest.mark.parametrize("value", EDGE_VALUES)
@pytest.mark.parametrize("bps_h", EDGE_BPS)
def test_fee_of_linear_values_at_int64_edges_and_ties_is_the_oracle(value, bps_h):
    """Values up to ±I64_MAX (negative prices included: split toward zero, so ``hi x bps`` never passes the value)
    at every bps bound, ties rounding half to even on either sign."""
    for price, qty in ((value, 1), (1, value) if value >= 0 else (value, 1)):
        assert _fee(price, qty, 1, bps_h, 0) == fee_oracle(price, qty, 1, bps_h, 0)
    assert _fee(value, 1, 1, bps_h, 0) is not None  # any value that fits has its fee


@pytest.mark.parametrize("price, qty, money", [
    (M, 2, 1), (1 << 62, 2, 1), (2, 1 << 62, 1), (1 << 31, 1 << 31, 2), (-(1 << 62), 2, 1), (-M, 1, 2),
    (3, 3074457345618258603, 1), (3, 3074457345618258602, 1),  # 3 x that = M + 2 and M - 1
    (1000, 1, M // 1000 + 1), (1000, 1, M // 1000),
])
def test_fee_of_a_value_past_int64_is_refused_never_wrapped(price, qty, money):
    want = fee_oracle(price, qty, money, 150, 0)
    assert _fee(price, qty, money, 150, 0) == want
    assert (want is None) == (abs(price * qty * money) > M)


@pytest.mark.parametrize("per_lot, qty, bps_h", [
    ((1 << 62), 2, 0), ((1 << 62) - 1, 2, 0), (-(1 << 62), 2, 0), (-(1 << 62), 2, -1), (M, 1, 1), (-M, 1, -1),
    (M, 1, -1), ((1 << 61), 3, 0), ((1 << 61) + 1, 4, 0),
])
def test_per_lot_fee_and_the_sum_past_int64_are_refused(per_lot, qty, bps_h):
    """``per_lot x qty`` and ``rounded value fee + per_lot x qty``: each must fit (price 1, multiplier 1)."""
    assert _fee(1, qty, 1, bps_h, per_lot) == fee_oracle(1, qty, 1, bps_h, per_lot)


@pytest.mark.parametrize("price, qty, k, bps_h", [
    (1, 1, M, MAX_ABS_BPS_H), (1, 2, M // 2, 1), (1, 2, M // 2 + 1, 1), (3, 1, M, 1), (2, 1, 5, 1_000_000),
    (2, 3, 1, 1_000_000), (2, 5, 1, 1_000_000), (0, 7, M, 1), (-5, 7, M, 1), (7, 1 << 40, 1 << 23, -500_000),
    (7, 1 << 40, 1 << 22, -500_000), (10**9, 3, (1 << 53) - 1, 700),
])
def test_fee_of_inverse_fills_at_the_edges_is_the_oracle(price, qty, k, bps_h):
    """Inverse (``m = -K``): value ``round_half_even(qty x K / price)``, refused when ``qty x K`` does not fit;
    no price (<= 0) is no value."""
    assert _fee(price, qty, -k, bps_h, 0) == fee_oracle(price, qty, -k, bps_h, 0)


def test_an_inverse_factor_of_int64_minimum_is_refused():
    """``-money`` of int64's minimum does not fit: a value that does not fit (no UB negating it)."""
    assert _fee(5, 1, -(1 << 63), 1, 0) is None
    assert book_fill(1, 5, 1, -(1 << 63), 0, 0, 0, 0, 0, 0)[0] == MONEY_VALUE


_edge = st.one_of(st.integers(-M, M), st.sampled_from([M, M - 1, -M, -M + 1, 1 << 62, -(1 << 62), 1 << 31, 0, 1, -1]),
                  st.integers(0, 62).map(lambda k: (1 << k) - 1), st.integers(0, 62).map(lambda k: -(1 << k)))


@given(price=_edge, qty=st.one_of(st.integers(0, M), st.integers(0, 62).map(lambda k: 1 << k)),
       money=st.one_of(st.integers(1, M), st.integers(-M, -1), st.integers(0, 62).map(lambda k: 1 << k)),
       bps_h=st.integers(-MAX_ABS_BPS_H, MAX_ABS_BPS_H), per_lot=st.one_of(st.integers(-9, 9), _edge))
@settings(max_examples=600, deadline=None)
def test_fee_is_the_oracle_anywhere(price, qty, money, bps_h, per_lot):
    assert _fee(price, qty, money, bps_h, per_lot) == fee_oracle(price, qty, money, bps_h, per_lot)


def test_fee_schedule_refuses_bps_past_fee_money_s_bound():
    """``|bps_h| <= 1e6`` keeps ``hi x bps`` within the value (`fee_money`'s precondition): the schedule is the
    boundary every venue's parameters come through."""
    FeeSchedule(MAX_ABS_BPS_H, -MAX_ABS_BPS_H, M)
    for kw, key in (({"maker_bps_h": MAX_ABS_BPS_H + 1}, "maker_bps_h"),
                    ({"taker_bps_h": -MAX_ABS_BPS_H - 1}, "taker_bps_h"), ({"per_lot": -(1 << 63)}, "per_lot")):
        with pytest.raises(ConfigError, match=rf"^fee schedule: {key} ") as ei:
            FeeSchedule(**kw)
        assert ei.value.fields["key"] == key


# --- the accounting rule ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", [
    # side, price, qty, money, fee, pos, cash, fees
    (1, 1000, 1, M // 1000, 0, 0, 0, 0),  # a buy of value M - 807: cash -(M - 807)
    (1, 1000, 1, M // 1000, 807, 0, 0, 0),  # ... and a fee that takes the cash to -M exactly
    (1, 1000, 1, M // 1000, 808, 0, 0, 0),  # ... one more: -M - 1 (int64's minimum is not held either)
    (-1, 1000, 1, M // 1000, -807, 0, 0, 0),  # a sell with a rebate: cash M exactly
    (-1, 1000, 1, M // 1000, -808, 0, 0, 0),
    (-1, 1000, 1, M // 1000 + 1, 0, 0, 0, 0),  # a value past M
    (1, 1, QMAX, 1, 0, 2 * QMAX, 0, 0),  # position 3 x (2**62 - 1) > M
    (-1, 1, QMAX, 1, 0, -2 * QMAX, 0, 0),
    (1, 1, QMAX, 1, 0, QMAX, 0, 0),  # 2 x (2**62 - 1) fits
    (1, 1, 1, 1, None, 0, 0, 0),  # the venue refused the fee
    (1, 1, 1, 1, 5, 0, 0, M - 4),  # fees past M
    (1, 1, 1, 1, -5, 0, 0, -M + 4),
    (1, 1, 1, 1, -5, 0, 0, -M + 5),
    (-1, 10, 3, 7, M, 0, M, 0),  # cash + flow overflows first but the total fits: exact either way
    (1, 10, 3, 7, -M, 0, -M, 0),
    (1, 10, 3, 7, -M, 0, -1, 0),  # flow - fee overflows first, the total fits
    (-1, 10, 3, 7, M, 0, 1, 0),
    (-1, 10, 3, 7, -M, 0, M, 0),  # both partial sums over, and so is the total
    (1, 1000, 2, -(10**12), 0, 0, M - 2 * 10**9, 0),  # inverse: a buy receives round(2 x 1e12 / 1000)
    (1, 1000, 2, -(10**12), 0, 0, M - 2 * 10**9 + 1, 0),
    (-1, 3, 1, -2, 0, 0, 0, 0),  # inverse tie: 2 / 3 -> 1
    (0, 5, 5, 5, 0, 0, 0, 0),  # not our order: no position change, no cash flow
    (2, 1 << 62, 1, 1, 0, 0, 0, 0),  # a side outside +-1: its cash flow does not fit
])
@pytest.mark.parametrize("frac, fees_frac", [(0, 0), (1, D - 1), (D - 1, D - 1), (500_000, 499_999)])
def test_book_fill_is_the_oracle_at_the_edges(case, frac, fees_frac):
    """Each edge with and without the fee's millionths carrying into a whole unit (which may be the unit that
    does not fit)."""
    side, price, qty, money, fee, pos, cash, fees = case
    got = tuple(int(x) for x in book_fill(side, price, qty, money, FEE_REFUSED if fee is None else fee, frac, pos,
                                          cash, fees, fees_frac))
    assert got == book_oracle(side, price, qty, money, fee, pos, cash, fees, frac, fees_frac)


_held = st.one_of(st.integers(-M, M), st.sampled_from([M, -M, M - 1, -M + 1, 0]))


@given(side=st.sampled_from([1, -1]), price=_edge, qty=st.one_of(st.integers(1, QMAX), st.sampled_from([1, QMAX])),
       money=st.one_of(st.integers(1, M), st.integers(-(1 << 53), -1), st.sampled_from([1, M, -1])),
       fee=st.one_of(st.none(), _held), pos=_held, cash=_held, fees=_held, frac=st.integers(0, D - 1),
       fees_frac=st.integers(0, D - 1))
@settings(max_examples=800, deadline=None)
def test_book_fill_is_the_oracle_anywhere(side, price, qty, money, fee, pos, cash, fees, frac, fees_frac):
    got = tuple(int(x) for x in book_fill(side, price, qty, money, FEE_REFUSED if fee is None else fee, frac, pos,
                                          cash, fees, fees_frac))
    assert got == book_oracle(side, price, qty, money, fee, pos, cash, fees, frac, fees_frac)


def test_the_refusal_is_one_line_naming_the_fill_and_what_did_not_fit():
    e = fill_refusal(MONEY_VALUE, 1_000_000_123, 7, -1, 1000, 1, 0, M // 1000 + 1, 0, 0, 0)
    assert str(e) == ("fill of order 7 at 1000000123 ns (sell 1 lots at 1000 ticks): its value 9223372036854776000 "
                      "money units (price x qty x multiplier 9223372036854776): expected within "
                      f"±{M} (int64)")
    assert "\n" not in str(e) and "multiplier" in e.hint and e.fields["order_id"] == 7
    assert "the cash after it, -9223372036854775808 money units" in str(
        fill_refusal(MONEY_CASH, 0, 1, 1, 1000, 1, 808, M // 1000, 0, 0, 0))
    assert "the position after it, 13835058055282163709 lots" in str(
        fill_refusal(MONEY_POSITION, 0, 1, 1, 1, QMAX, 0, 1, 2 * QMAX, 0, 0))
    assert "the fees after it, 9223372036854775808 money units" in str(
        fill_refusal(MONEY_FEES, 0, 1, 1, 1, 1, 5, 1, 0, 0, M - 4))
    assert "its fee (value 2 x bps + per_lot x qty)" in str(fill_refusal(MONEY_FEE, 0, 1, 1, 1, 2, FEE_REFUSED, 1, 0,
                                                                         0, 0))
    assert "the gateway could not book it" in str(fill_refusal(MONEY_GATEWAY, 0, 1, 1, 1, 2, 0, 1, 0, 0, 0))


# --- both venues: a fill whose value does not fit reports FEE_REFUSED (never a wrapped fee) ----------------------
@pytest.mark.parametrize("money, refused", [(M // 1000, False), (M // 1000 + 1, True)])
def test_both_venues_refuse_the_fee_of_a_sell_filled_far_above_its_limit(money, refused):
    """A sell at limit 1 takes the bid at 1000: its value ``1000 x m`` is ``M - 807 + 1000`` past int64 with
    ``m = M // 1000 + 1``, though at its limit it was ``m``, which the gateway accepts."""
    fees = FeeSchedule(-20, 150, 0)
    l2 = L2Venue(None, parse_queue_model("risk_averse"), MODE_PARTIAL_FILL, fees, money, capacity=4)
    l2.depth(0, BUY, 1000, 5)
    l3 = L3Venue(fees=fees, mode=MODE_PARTIAL_FILL, multiplier=money)
    l3.market(0, EV_ADD, BUY, 1000, 5, 1)
    for v in (l2, l3):
        reps = v.new(1, 9, SELL, 1, 1, ORDER_LIMIT, TIF_GTC)
        fill = reps[reps["kind"] == REPORT_FILL]
        assert len(fill) == 1 and int(fill["price"][0]) == 1000
        want = fee_oracle(1000, 1, money, 150, 0)
        got = (int(fill["fee"][0]), int(fill["fee_frac"][0]))
        assert got == ((FEE_REFUSED, 0) if refused else want)


# --- replays: both engines, both venues ------------------------------------------------------------------------
@njit
def _take(st_, ltop, sord, intents):
    """A taker with no order out: flat (or below ``count`` fills of ``qty``), one order of ``qty`` on ``side`` at
    ``limit``; holding a position and given a ``back`` limit, one order back to flat at it. Each crosses the
    opposite side at whatever price that side has."""
    side = st_[S_SPARAMS]
    qty = st_[S_SPARAMS + 1]
    limit = st_[S_SPARAMS + 2]
    pos = st_[S_POS]
    if st_[S_NORD] > 0:
        return 0
    if st_[S_SPARAMS + 4] != 0 and pos != 0:
        side, qty, limit = -side, abs(pos), st_[S_SPARAMS + 4]
    elif abs(pos) // qty >= st_[S_SPARAMS + 3]:
        return 0
    if (ltop[0] if side == SELL else ltop[2]) == NO_PRICE:
        return 0
    intents[0, 0] = IN_SUBMIT
    intents[0, 1] = side
    intents[0, 2] = limit
    intents[0, 3] = qty
    intents[0, 4] = 0
    return 1


class Taker(KernelStrategy):
    name = "taker"
    nb_kernel = _take
    DEFAULTS: ClassVar[dict[str, int]] = {"side": SELL, "qty": 1, "limit": 1, "count": 1, "back": 0}


T0 = 1_000_000_000


def _book_events(level: str, states: list[tuple[int, tuple | None, tuple | None]]) -> np.ndarray:
    """Events taking the book through `states`, each ``(time, bid, ask)`` with a side ``(price, qty)`` or None
    (empty), one message per state: L2 level updates, L3 adds and deletes of one order per side."""
    rows = []
    live: dict[int, tuple | None] = {BUY: None, SELL: None}
    ids = {BUY: 0, SELL: 0}
    for n, (t, bid, ask) in enumerate(states):
        for side, want in ((BUY, bid), (SELL, ask)):
            have = live[side]
            if have == want:
                continue
            if level == "L2":
                if have is not None and (want is None or want[0] != have[0]):
                    rows.append((t, EV_LEVEL_SET, side, have[0], 0, 0))
                if want is not None:
                    rows.append((t, EV_LEVEL_SET, side, want[0], want[1], 0))
            else:
                if have is not None:
                    rows.append((t, EV_DELETE, side, have[0], have[1], ids[side]))
                if want is not None:
                    ids[side] = 100 * (n + 1) + side
                    rows.append((t, EV_ADD, side, want[0], want[1], ids[side]))
            live[side] = want
    ev = empty_events(len(rows))
    for i, (t, kind, s, p, q, oid) in enumerate(rows):
        last = i + 1 == len(rows) or rows[i + 1][0] != t
        ev[i] = (t, t + 500, p, q, oid, i, kind, s, FLAG_EOM if last else 0)
    return ev


def _alternating(n: int, first: tuple, then: tuple, first_side: int = BUY) -> list:
    """`n` states 10 ms apart, the book holding `first` on `first_side`, then `then` on the other side, in turn."""
    out = []
    for i in range(n):
        side, level = (first_side, first) if i % 2 == 0 else (-first_side, then)
        out.append((T0 + i * 10_000_000, level if side == BUY else None, level if side == SELL else None))
    return out


VARIANTS = ("reference", "numba in-kernel orders", "numba Python orders")


def _run(variant: str, level: str, ev: np.ndarray, money: int, fees: FeeSchedule, params: dict):
    venue = (L2MarketVenue(L2Venue(None, parse_queue_model("risk_averse"), MODE_PARTIAL_FILL, fees, money, capacity=16))
             if level == "L2" else L3Venue(fees=fees, mode=MODE_PARTIAL_FILL, multiplier=money))
    cfg = sim_gateway_config("X", "taker", multiplier=money)

    def factory(clock, dispatcher, sink):
        from hft.gateway import GatewayService

        return GatewayService(cfg, clock=clock, dispatcher=dispatcher, sink=sink)

    ecfg = EngineConfig(entry=L.constant(1_000_000), response=L.constant(1_000_000), sample_ns=5_000_000,
                        strategy="taker")
    eng = (Engine if variant == "reference" else NbEngine)(ev, venue, factory, Taker(**params), "X", ecfg,
                                                           book_level=level)
    if variant == "numba Python orders":
        eng.in_kernel_orders = False
    out = eng.run(multiplier=money)
    if variant != "reference":
        assert eng.used_in_kernel_orders == (variant == "numba in-kernel orders")
    return out


def _refusals(level, ev, money, fees, params) -> list[str]:
    msgs = []
    for variant in VARIANTS:
        with pytest.raises(SimError) as ei:
            _run(variant, level, ev, money, fees, params)
        msgs.append(str(ei.value))
    assert msgs[1:] == msgs[:1] * 2  # one message, whichever engine and order path
    return msgs


TAKER_FEES = FeeSchedule(-20, 150, 3)


@pytest.mark.parametrize("level", ["L2", "L3"])
def test_a_sell_filled_far_above_its_limit_just_inside_int64_is_exact(level):
    """A sell of 73 lots at limit 1 takes the bid at 889 with ``889 x 73 x m = I64_MAX`` exactly (the gateway
    accepted it: its value at the limit is ``73 x m``): every engine books the cash ``I64_MAX - fee`` exactly, the
    Python-integer oracle's numbers, the same run."""
    money = M // (889 * 73)
    assert 889 * 73 * money == M
    ev = _book_events(level, [(T0, (889, 100), None), (T0 + 10_000_000, (889, 99), None)])
    outs = [_run(v, level, ev, money, TAKER_FEES, {"qty": 73}) for v in VARIANTS]
    fee = fee_oracle(889, 73, money, 150, 3)
    whole, frac = fee
    assert fee == ((M * 150) // D + 3 * 73, (M * 150) % D)  # exact: whole units and millionths
    for out in outs:
        assert out.run_hash == outs[0].run_hash
        assert out.final == {"position": -73, "cash": M - whole, "fees": whole, "fee_frac": frac}
        assert out.fills[["price", "qty", "fee", "fee_frac"]].tolist() == [(889, 73, whole, frac)]


@pytest.mark.parametrize("level", ["L2", "L3"])
def test_a_sell_filled_far_above_its_limit_past_int64_stops_the_run_naming_it(level):
    """The same sell with one more money unit per tick x lot: its value passes int64 at the bid (not at its limit,
    which the gateway checked); the venue refuses the fee and every engine stops at the fill with one message."""
    money = M // (889 * 73) + 1
    ev = _book_events(level, [(T0, (889, 100), None), (T0 + 10_000_000, (889, 99), None)])
    msg = _refusals(level, ev, money, TAKER_FEES, {"qty": 73})[0]
    assert msg == (f"fill of order 1 at 1001000500 ns (sell 73 lots at 889 ticks): its value {889 * 73 * money} money "
                   f"units (price x qty x multiplier {money}): expected within ±{M} (int64)")


@pytest.mark.parametrize("level", ["L2", "L3"])
@pytest.mark.parametrize("case", ["fee", "cash", "fees", "gateway"])
def test_running_money_past_int64_stops_the_run_naming_the_fill(level, case):
    """Each total a fill adds to, at the fill that would take it past int64, on every engine alike: the fee (a per-lot
    fee of 2**62 on 2 lots); the cash (sell 73 lots at 889 for I64_MAX, buy them back at 1, sell again); the fees
    (rebates of 2**60 a fill on round trips that cost what the rebates give: the cash stays near 0, the fees reach
    -2**63 at the eighth fill); and a fill the gateway cannot book (the mark moved from 889 to 891 while the sell was
    on its way: the position's value at the mark passes int64). (The position itself cannot pass int64 through
    the gateway, which refuses an order whose worst position would not fit: `book_fill`'s check of it is tested
    against the oracle above.)"""
    m73 = M // (889 * 73)
    params = {"side": SELL, "qty": 73, "limit": 1}
    if case == "fee":
        money, fees, params = 1, FeeSchedule(0, 0, 1 << 62), {"qty": 2}
        states = [(T0, (889, 100), None)]
        what = "its fee (value 1778 x bps + per_lot x qty): expected within"
    elif case == "cash":
        money, fees, params = m73, FeeSchedule(0, 0, 0), {**params, "back": 889}
        states = _alternating(4, (889, 100), (1, 100))
        what = f"(sell 73 lots at 889 ticks): the cash after it, {2 * M - 73 * m73} money units: expected within"
    elif case == "fees":
        money, fees = 1 << 61, FeeSchedule(0, 0, -(1 << 60))
        params = {"side": BUY, "qty": 1, "limit": 2, "back": 1}
        states = _alternating(9, (2, 10), (1, 10), first_side=SELL)
        what = f"(sell 1 lots at 1 ticks): the fees after it, {-(1 << 63)} money units: expected within"
    else:
        money, fees = m73, FeeSchedule(0, 0, 0)
        states = [(T0, (889, 100), (890, 5)), (T0 + 200_000, (889, 100), (893, 5))]
        what = "(sell 73 lots at 889 ticks): the gateway could not book it"
    msg = _refusals(level, _book_events(level, states), money, fees, params)[0]
    assert msg.startswith("fill of order ") and what in msg


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    from hft.data.importing import generate_day

    out = tmp_path_factory.mktemp("day")
    return generate_day(out, seed=5, symbol="SYNTH", date="2024-01-02", messages=1500, levels=5,
                        zip_output=True)["zip_path"]


def _mm_engines(level, day):
    """(the reference engine, the numba engine) running `mm` (size 2) with a per-lot fee of 2**62."""
    from hft.sim.strategies import make_strategy
    from tests.unit.sim.agreement import l2_stream

    if level == "L3":  # a LOBSTER-format day through the replay's set-up (reference rows, the L3 venue)
        from hft.data.sources import open_market_data
        from hft.sim.replay import ReplayConfig, build_engine

        md = open_market_data([day])
        for engine in ("python", "numba"):
            cfg = ReplayConfig(engine=engine, per_lot=1 << 62, strategies={"mm": {"size": 2}})
            yield build_engine(md, make_strategy("mm", {"size": 2}), "mm", cfg)
        return
    ev = l2_stream(7, n_msgs=300)
    cfg = sim_gateway_config("X", "mm")

    def factory(clock, dispatcher, sink):
        from hft.gateway import GatewayService

        return GatewayService(cfg, clock=clock, dispatcher=dispatcher, sink=sink)

    for cls in (Engine, NbEngine):
        venue = L2MarketVenue(L2Venue(None, parse_queue_model("risk_averse"), MODE_PARTIAL_FILL,
                                      FeeSchedule(0, 0, 1 << 62), 1, capacity=64))
        yield cls(ev, venue, factory, make_strategy("mm", {"size": 2}), "X", EngineConfig(strategy="mm")), 1


@pytest.mark.parametrize("level", ["L2", "L3"])
def test_mm_kernel_with_a_fee_past_int64_stops_the_run_on_both_engines(level, day):
    """The built-in `mm` kernel on the in-kernel order path: its first fill's per-lot fee (2**62 x 2 lots) passes
    int64; both engines stop there with the same message."""
    msgs = []
    for eng, mult in _mm_engines(level, day):
        with pytest.raises(SimError, match=r"^fill of order \d+ at \d+ ns \((buy|sell) 2 lots at \d+ ticks\): its fee"
                           ) as ei:
            eng.run(multiplier=mult)
        if isinstance(eng, NbEngine):
            assert eng.used_in_kernel_orders
        msgs.append(str(ei.value))
    assert msgs[0] == msgs[1]
