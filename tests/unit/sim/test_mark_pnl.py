"""`hft.sim.fees.mark_pnl`, the PnL a kernel with the full context reads (``acct[AC_PNL]``): the exact cash plus the
position marked at the mid, rounded once, half to even, against Python's fractions (an oracle sharing no code with
it): linear and inverse instruments, fee millionths owed, ties, no mark, and the edges of int64."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.core.dtypes import NO_PRICE
from hft.sim.fees import mark_pnl

I64_MAX = 2**63 - 1
MILLION = 1_000_000


def oracle(pos: int, cash: int, ff: int, mid2: int, money: int) -> int:
    """Python integers and fractions: cash - ff / 1e6 + pos * mid / 1 * m (linear) or - pos * K / mid (inverse),
    rounded half to even (`round` of a Fraction); NO_PRICE past int64 or when the mark does not fit."""
    exact = Fraction(cash) - Fraction(ff, MILLION)
    if mid2 != NO_PRICE and (money > 0 or mid2 > 0):
        mark = Fraction(pos * mid2 * money, 2) if money > 0 else Fraction(-pos * -money * 2, mid2)
        parts = (pos * mid2, pos * mid2 * money) if money > 0 else (pos * -money, pos * -money * 2)
        if any(abs(p) > I64_MAX for p in parts):
            return NO_PRICE
        if abs(cash + mark.numerator // mark.denominator) > I64_MAX:
            return NO_PRICE
        exact += mark
    v = round(exact)
    return v if abs(v) <= I64_MAX else NO_PRICE


CASES = [
    # pos, cash, fee millionths, mid2, money
    (0, 0, 0, NO_PRICE, 1),
    (0, 7, 500_000, NO_PRICE, 1),  # 6.5 -> 6 (even)
    (0, 8, 500_000, NO_PRICE, 1),  # 7.5 -> 8
    (0, 8, 499_999, NO_PRICE, 1),  # 7.500001 -> 8
    (0, 8, 500_001, NO_PRICE, 1),  # 7.499999 -> 7
    (1, 0, 0, 3, 1),  # 1.5 -> 2
    (1, 0, 0, 5, 1),  # 2.5 -> 2
    (-1, 0, 0, 5, 1),  # -2.5 -> -2
    (-1, 0, 0, 7, 1),  # -3.5 -> -4
    (1, 0, 1, 5, 1),  # 2.499999 -> 2
    (1, 1, 1, 5, 1),  # 3.499999 -> 3
    (1, 0, 999_999, 3, 1),  # 0.500001 -> 1
    (3, -10, 250_000, 200_001, 7),
    (2, 0, 0, 1_000_000, -10**12),  # inverse: -2 * 1e12 * 2 / 1e6 = -4e6
    (1, 0, 0, 3, -1),  # -2/3 -> -1
    (-1, 0, 0, 4, -1),  # 0.5 -> 0
    (-1, 1, 0, 4, -1),  # 1.5 -> 2
    (-3, 5, 333_333, 7, -5),
    (1, 0, 0, -4, -1),  # inverse without a positive mid: the cash alone
    (1, 0, 0, 0, -1),
    (1, I64_MAX, 0, 2, 1),  # past int64 by one
    (1, I64_MAX - 1, 0, 2, 1),
    (-1, -I64_MAX, 0, 2, 1),
    (-1, -I64_MAX + 1, 0, 2, 1),
    (0, -I64_MAX, 1, NO_PRICE, 1),  # -I64_MAX - 1e-6 rounds to -I64_MAX
    (0, -I64_MAX, 500_000, NO_PRICE, 1),  # -I64_MAX - 0.5 -> -I64_MAX - 1 (even): past int64
    (2**40, 0, 0, 2**30, 2**10),  # the mark's product past int64
    (2**31, 0, 0, 2**30, 1),
    (I64_MAX, 0, 0, 3, -1),
    (1, 0, 0, 2**61, -(2**62)),
]


@pytest.mark.parametrize(("pos", "cash", "ff", "mid2", "money"), CASES)
def test_known_cases(pos, cash, ff, mid2, money):
    assert mark_pnl(pos, cash, ff, mid2, money) == oracle(pos, cash, ff, mid2, money)


def test_ties_round_half_to_even():
    assert [mark_pnl(0, c, 500_000, NO_PRICE, 1) for c in (7, 8)] == [6, 8]
    assert [mark_pnl(1, 0, 0, m2, 1) for m2 in (3, 5, 7)] == [2, 2, 4]


_i64 = st.integers(-I64_MAX, I64_MAX)
_small = st.integers(-(2**31), 2**31)


@settings(max_examples=600, deadline=None)
@given(pos=st.one_of(_small, _i64), cash=st.one_of(_small, _i64), ff=st.integers(0, MILLION - 1),
       mid2=st.one_of(st.just(NO_PRICE), st.integers(-(2**61), 2**61), st.integers(1, 10**7)),
       money=st.one_of(st.integers(1, 1000), st.integers(-(10**13), -1), _i64.filter(lambda m: m != 0)))
def test_exact_against_fractions(pos, cash, ff, mid2, money):
    assert mark_pnl(pos, cash, ff, mid2, money) == oracle(pos, cash, ff, mid2, money)
