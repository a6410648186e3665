"""The kernels' exact int64 arithmetic (`hft.gateway.kernels.exact`) and the money rule's checked forms
(`hft.gateway.kernels.money`) against Python's unbounded integers, at the edges of int64 above all."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hft.gateway.kernels import exact as X
from hft.gateway.kernels import money as M

I64_MAX = 2**63 - 1
I64_MIN = -(2**63)
U64_MAX = 2**64 - 1

# every int64, weighted toward the edges (where a wrap would show) and small values (the fast paths)
EDGES = [0, 1, -1, 2, -2, 3, 10000, 0x7FFFFFFF, 0x80000000, -0x7FFFFFFF, -0x80000000, 2**32, 2**32 - 1, 2**62,
         -(2**62), 2**62 - 1, I64_MAX, I64_MAX - 1, I64_MIN, I64_MIN + 1, 3037000499, 3037000500, -3037000500]
i64 = st.one_of(st.sampled_from(EDGES), st.integers(I64_MIN, I64_MAX), st.integers(-(2**33), 2**33))
nonneg = st.one_of(st.sampled_from([e for e in EDGES if e >= 0]), st.integers(0, I64_MAX), st.integers(0, 2**33))
u64 = st.one_of(st.sampled_from([0, 1, 2**32, 2**32 - 1, 2**63, U64_MAX, U64_MAX - 1]), st.integers(0, U64_MAX))
SETTINGS = settings(max_examples=400, deadline=None)


def _fits(v: int) -> bool:
    return -I64_MAX <= v <= I64_MAX


def _checked(v: int) -> tuple[int, bool]:
    return (v, True) if _fits(v) else (0, False)


@SETTINGS
@given(i64, i64)
@example(I64_MAX, 1)
@example(I64_MIN, 0)  # I64_MIN itself is never produced
@example(-I64_MAX, -1)
def test_add_sub_mul_say_when_they_do_not_fit(a, b):
    assert tuple(X.add_ok(a, b)) == _checked(a + b)
    assert tuple(X.sub_ok(a, b)) == _checked(a - b)
    assert tuple(X.mul_ok(a, b)) == _checked(a * b)


@SETTINGS
@given(i64, i64)
@example(0, I64_MIN)
@example(I64_MAX, I64_MIN)  # "now" against the I64_MIN sentinel of "never"
def test_saturating_sum_and_elapsed_time(a, b):
    clamp = max(-I64_MAX, min(I64_MAX, a + b))
    assert X.sat_add(a, b) == clamp
    assert X.since(a, b) == max(-I64_MAX, min(I64_MAX, a - b))


@SETTINGS
@given(u64, u64)
def test_128_bit_product(a, b):
    hi, lo = X.umul128(np.uint64(a), np.uint64(b))  # (its operands are uint64 in the kernels)
    assert (int(hi) << 64) | int(lo) == a * b


@SETTINGS
@given(st.integers(1, I64_MAX), u64, u64)
def test_128_bit_division(d, x, y):
    hi = x % d  # the quotient must fit 64 bits: hi < d
    n = (hi << 64) | y
    assert int(X.udiv128(np.uint64(hi), np.uint64(y), np.uint64(d))) == n // d


@SETTINGS
@given(nonneg, nonneg, nonneg, nonneg)
@example(I64_MAX, 10000, 1, 1)
@example(922337203685478, 10000, 1000, 10**6)  # a far price against a narrow band: the old check wrapped past it
def test_product_comparison(a, b, c, d):
    assert X.mul_cmp_gt(a, b, c, d) == (a * b > c * d)


def _trunc_div(n: int, d: int) -> int:
    q = abs(n) // d
    return q if n >= 0 else -q


@SETTINGS
@given(st.one_of(st.integers(-I64_MAX, I64_MAX), st.sampled_from([I64_MAX, -I64_MAX, 0, 1, -1])),
       st.integers(1, I64_MAX), st.data())
@example(I64_MAX, I64_MAX, None)
def test_share_of_a_cost_basis(a, d, data):
    b = d if data is None else data.draw(st.integers(0, d))
    assert X.mul_div_trunc(a, b, d) == _trunc_div(a * b, d)


@SETTINGS
@given(i64, i64, i64, i64)
@example(I64_MAX, I64_MAX, I64_MIN, I64_MIN)
@example(I64_MIN, I64_MIN, I64_MAX, I64_MIN + 5)
def test_pnl_below_a_floor_exactly(a, b, c, t):
    assert X.sum3_lt(a, b, c, t) == (a + b - c < t)


def _half_even(num: int, den: int) -> int:
    return round(Fraction(num, den))  # Fraction rounds half to even


@SETTINGS
@given(i64, st.one_of(st.sampled_from([1, 2, 3, 2**62, 2**62 + 1, I64_MAX, I64_MAX - 1]), st.integers(1, I64_MAX)))
@example(I64_MAX, I64_MAX - 1)  # 2 * remainder > 2**63: the old rule's doubling overflowed
@example(I64_MIN, 3)  # the old rule's q * den went below int64
@example(2**62 + 1, 2**63 - 2)
def test_round_half_even_division(num, den):
    assert M.div_round_half_even(num, den) == _half_even(num, den)


def _value(price: int, qty: int, money: int) -> int:
    """The money rule in Python's integers: linear price*qty*m, inverse -round(qty*K/price) (0 without a price)."""
    if money > 0:
        return price * qty * money
    if price <= 0:
        return 0
    v = _half_even(abs(qty) * -money, price)
    return v if qty < 0 else -v


money_factor = st.one_of(st.sampled_from([1, 2, 10, I64_MAX, -1, -(10**12), -I64_MAX]),
                         st.integers(1, I64_MAX), st.integers(-I64_MAX, -1))
qty_i = st.one_of(st.sampled_from([0, 1, -1, I64_MAX, -I64_MAX, 2**62, 3037000500]), st.integers(-I64_MAX, I64_MAX))


@SETTINGS
@given(i64, qty_i, money_factor)
@example(I64_MAX, 2, 1)
@example(2**62, 4, 1)  # the product wraps to 0 in int64
@example(3, 2**62, -(2**62))
def test_position_value_is_exact_or_refused(price, qty, money):
    want = _value(price, qty, money)
    intermediate = abs(price * qty) if money > 0 else (abs(qty) * -money if price > 0 else 0)
    v, ok = M.position_value_ok(price, qty, money)
    if _fits(want) and _fits(intermediate):
        assert ok and v == want
        if money > 0 or price > 0:
            assert M.position_value(price, qty, money) == want  # the unchecked rule agrees where it is defined
    else:
        assert not ok
    if qty >= 0:
        fv, fok = M.fill_value_ok(price, qty, money)
        assert (fok, fv if fok else None) == (ok, (want if money > 0 else -want) if ok else None)


@pytest.mark.parametrize("fn", [X.add_ok, X.sub_ok, X.mul_ok])
def test_never_produces_int64_min(fn):
    """-I64_MAX - 1 is I64_MIN, which the helpers keep out (its negation and abs would overflow)."""
    a, b = {X.add_ok: (-I64_MAX, -1), X.sub_ok: (-I64_MAX, 1), X.mul_ok: (-(2**62), 2)}[fn]
    assert tuple(fn(a, b)) == (0, False)
