"""Fees in integer money units: rounding, bps parsing, sign, agreement with the Python-int reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.core.errors import ConfigError
from hft.sim.fees import FeeSchedule, bps_to_hundredths, div_round_half_even, fee_money, fee_params, fee_py


@pytest.mark.parametrize(("num", "den", "want"), [
    (5, 2, 2), (7, 2, 4), (3, 2, 2), (1, 2, 0), (-1, 2, 0), (-3, 2, -2), (-5, 2, -2), (-7, 2, -4),
    (14, 10, 1), (16, 10, 2), (-14, 10, -1), (-16, 10, -2), (0, 7, 0), (1_000_000, 1_000_000, 1),
])
def test_round_half_even(num, den, want):
    assert div_round_half_even(num, den) == want


def test_fee_examples():
    # taker 5 bp on 3 lots at 10001 ticks: 30003 * 500 / 1e6 = 15.0015 -> 15
    assert fee_money(10001, 3, 1, 500, 0) == 15
    # maker -2 bp on 3 lots at 10002: -6.0012 -> -6 (a rebate: negative fee = received)
    assert fee_money(10002, 3, 1, -200, 0) == -6
    # exact tie: 25000 * 100 / 1e6 = 2.5 -> 2 (even); 35000 -> 3.5 -> 4
    assert fee_money(25000, 1, 1, 100, 0) == 2
    assert fee_money(35000, 1, 1, 100, 0) == 4
    assert fee_money(25000, 1, 1, -100, 0) == -2  # -2.5 -> -2
    # multiplier scales the value; per-lot fee adds per lot traded
    assert fee_money(10000, 2, 10, 500, 0) == 100
    assert fee_money(10000, 2, 1, 0, 3) == 6
    assert fee_money(10000, 2, 1, 500, -1) == 10 - 2


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
    assert fee_money(price, qty, mult, bps_h, per_lot) == fee_py(price, qty, mult, bps_h, per_lot)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**7), st.integers(1, 10**5), st.integers(-10_000, 10_000))
def test_fee_sign_follows_bps(price, qty, bps_h):
    f = fee_money(price, qty, 1, bps_h, 0)
    if bps_h > 0:
        assert f >= 0
    elif bps_h < 0:
        assert f <= 0
    else:
        assert f == 0
    # never further than half a unit from the exact value
    assert abs(f * 1_000_000 - price * qty * bps_h) <= 500_000
