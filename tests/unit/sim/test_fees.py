"""Exact fees: a fill's fee to the millionth of a money unit, a leg's fees summed exactly and rounded once, bps
parsing, sign, agreement with a fractions oracle."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.core.errors import ConfigError
from hft.core.money import round_micro, round_money, round_owed
from hft.sim.fees import (
    FeeSchedule,
    book_fill,
    bps_to_hundredths,
    div_round_half_even,
    fee_money,
    fee_params,
    fee_py,
)


@pytest.mark.parametrize(("num", "den", "want"), [
    (5, 2, 2), (7, 2, 4), (3, 2, 2), (1, 2, 0), (-1, 2, 0), (-3, 2, -2), (-5, 2, -2), (-7, 2, -4),
    (14, 10, 1), (16, 10, 2), (-14, 10, -1), (-16, 10, -2), (0, 7, 0), (1_000_000, 1_000_000, 1),
])
def test_round_half_even(num, den, want):
    assert div_round_half_even(num, den) == want


def _exact(fee_pair) -> Fraction:
    """A `fee_money` answer as the exact amount it stands for (whole units + millionths)."""
    whole, frac = (int(x) for x in fee_pair)
    assert 0 <= frac < 1_000_000
    return whole + Fraction(frac, 1_000_000)


def test_fee_examples():
    # taker 5 bp on 3 lots at 10001 ticks: 30003 * 500 / 1e6 = 15.0015, exactly
    assert fee_money(10001, 3, 1, 500, 0) == (15, 1500)
    # maker -2 bp on 3 lots at 10002: -6.0012 (a rebate: negative fee = received), the floor and the millionths
    assert fee_money(10002, 3, 1, -200, 0) == (-7, 998_800)
    assert _exact(fee_money(10002, 3, 1, -200, 0)) == Fraction(-60012, 10_000)
    # a half unit is carried, not rounded: 2.5 and -2.5
    assert fee_money(25000, 1, 1, 100, 0) == (2, 500_000)
    assert fee_money(25000, 1, 1, -100, 0) == (-3, 500_000)
    # a sub-unit rebate does not vanish: -0.2 bp on a value of 10,000 units is -0.2 units
    assert _exact(fee_money(10000, 1, 1, -20, 0)) == Fraction(-1, 5)
    # multiplier scales the value; per-lot fee adds per lot traded
    assert fee_money(10000, 2, 10, 500, 0) == (100, 0)
    assert fee_money(10000, 2, 1, 0, 3) == (6, 0)
    assert fee_money(10000, 2, 1, 500, -1) == (10 - 2, 0)


def test_round_money_once_half_to_even():
    assert [round_money(w, f) for w, f in ((2, 500_000), (3, 500_000), (-3, 500_000), (-7, 998_800), (15, 1500))] \
        == [2, 4, -2, -6, 15]
    assert round_micro(-841_690_000) == -842 and round_micro(-841_490_000) == -841
    # cash with millionths owed: 10 - 0.5 -> 10 (even), 11 - 0.5 -> 10, 10 - 0.7 -> 9
    assert [round_owed(10, 500_000), round_owed(11, 500_000), round_owed(10, 700_000), round_owed(10, 0)] \
        == [10, 10, 9, 10]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from((1, -1)), st.integers(1, 10**7), st.integers(1, 10**4),
                          st.integers(-10_000, 10_000), st.integers(-3, 3)), min_size=1, max_size=40))
def test_book_fill_sums_fees_exactly(fills):
    """A leg's fees after many fills are the exact sum of their fees (the millionths carried, nothing rounded),
    and its cash the exact cash flows less that sum: an oracle in fractions, sharing no code with `book_fill`."""
    pos = cash = fees = frac = 0
    want_fees = want_cash = Fraction(0)
    for side, price, qty, bps_h, per_lot in fills:
        fee, ffrac = fee_money(price, qty, 1, bps_h, per_lot)
        what, pos, cash, fees, frac = (int(x) for x in book_fill(side, price, qty, 1, fee, ffrac, pos, cash, fees,
                                                                  frac))
        assert what == 0 and 0 <= frac < 1_000_000
        exact_fee = Fraction(price * qty * bps_h, 1_000_000) + per_lot * qty
        want_fees += exact_fee
        want_cash += -side * price * qty - exact_fee
    assert fees + Fraction(frac, 1_000_000) == want_fees
    assert cash - Fraction(frac, 1_000_000) == want_cash
    assert abs(round_money(fees, frac) - want_fees) <= Fraction(1, 2)


def test_bps_parsing():
    assert bps_to_hundredths(-0.5) == -50
    assert bps_to_hundredths(7) == 700
    assert bps_to_hundredths("0.01") == 1
    assert bps_to_hundredths(2.25) == 225
    for bad in (0.001, True, None, "x", float("nan"), 20000):
        with pytest.raises(ConfigError) as ei:
            bps_to_hundredths(bad, key="fees.maker_bps", file="f.yaml")
        assert "fees.maker_bps" in str(ei.value)


def test_schedule_layout():
    fs = FeeSchedule(-50, 700, 1)
    assert fee_params(fs).tolist() == [-50, 700, 1]
    assert fs.as_dict() == {"maker_bps": "-0.5", "taker_bps": "7", "per_lot": 1}


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**7), st.integers(1, 10**5), st.integers(1, 100), st.integers(-10_000, 10_000),
       st.integers(-100, 100))
def test_kernel_matches_reference(price, qty, mult, bps_h, per_lot):
    want = Fraction(price * qty * mult * bps_h, 1_000_000) + per_lot * qty  # value x rate + per lot, exactly
    assert _exact(fee_money(price, qty, mult, bps_h, per_lot)) == want == fee_py(price, qty, mult, bps_h, per_lot)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**7), st.integers(1, 10**5), st.integers(-10_000, 10_000))
def test_fee_sign_follows_bps(price, qty, bps_h):
    f = _exact(fee_money(price, qty, 1, bps_h, 0))
    assert (f > 0) == (bps_h > 0) and (f < 0) == (bps_h < 0)
