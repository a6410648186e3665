"""The money of a quantity at a price, in integer money units: the one rule the gateway's limits and PnL and the
simulator's fill accounting (`hft.sim.fees`, which re-exports it) share.

A *money factor* ``m`` says how: linear (``m > 0``, the symbol's multiplier) ``value = price × qty × m``; inverse
(coin-margined, ``m = -K < 0``) ``value = round_half_even(qty × K / price)`` money units of the settlement coin
(`hft.sim.fees` derives ``K`` from the contract). `position_value` is what the gateway's exposure slots book: the
signed value of a position at a price — linear ``+value``, inverse ``-value`` (a long inverse position loses coin
value as the price rises: PnL ``q·K·(1/entry - 1/exit)``).

Overflow (undefined behaviour in a kernel: `hft.gateway.kernels.exact`): `fill_value` and `position_value` compute
the product unchecked, so their callers must know it fits int64 (the gateway checks an order's value with
`hft.gateway.kernels.exposure._notional_gt` before it is accepted; the simulator's fills are of accepted orders).
`fill_value_ok` and `position_value_ok` compute the same value exactly or say it does not fit: the gateway's
reports and marks, whose prices and quantities come from outside, use them. `div_round_half_even` is exact for
every ``num`` and ``den > 0``.

Realised PnL at average cost (`average_cost_fill`): a position carries its cost basis, the sum of the
`position_value` of what opened it; a fill that adds to it (or opens one) adds its value to the basis; one that
reduces it removes the closed share of the basis, ``trunc(basis × closed / |position|)`` (exact, toward zero: the
residue stays in the basis and is realised when the position closes), and realises the closed lots' value at the
fill's price less that share; one that reverses it closes it and opens the rest at the fill's price. The gateway's
exposure slots (`hft.gateway.kernels.reports`) and the simulator's realised PnL (`hft.sim.strategy.Context.
realized_pnl`) both book it; the fee is not part of it (each book subtracts its fees).

Fees are exact (`hft.sim.fees`): a fee is ``fee + fee_frac / FEE_FRAC_UNITS`` money units, the whole units (the
floor) and the millionths beyond them; books that sum fees carry the millionths apart and round once, where money
is reported (`hft.core.money`).
"""

from __future__ import annotations

from hft.core.jit import helper, njit
from hft.core.money import FEE_FRAC_UNITS, round_money, round_owed
from hft.gateway.kernels.exact import add_ok, mul_div_trunc, mul_ok, sub_ok

__all__ = ["FEE_FRAC_UNITS", "average_cost_fill", "div_round_half_even", "fill_value", "fill_value_ok",
           "position_value", "position_value_ok", "round_money", "round_owed"]

@njit(cache=True)
def div_round_half_even(num: int, den: int) -> int:
    """``round_half_even(num / den)`` for integers, ``den > 0`` (floor division semantics, as Python). Exact for
    every int64 `num` (no intermediate leaves int64)."""
    q = num // den
    r = num % den  # 0 <= r < den (numba's int % has Python's semantics, computed without overflow)
    h = den - r  # > 0: compare 2r with den without computing 2r (which overflows for den > 2**62)
    if r > h or (r == h and q % 2 != 0):
        q += 1
    return q


@njit(cache=True)
def fill_value(price: int, qty: int, money: int) -> int:
    """Value of a fill in money units, >= 0 (linear: price x qty x m; inverse: qty x K / price, rounded).
    Precondition: the product fits int64 (unchecked; see the module docstring, and `fill_value_ok`)."""
    if money > 0:
        return price * qty * money
    if price <= 0:
        return 0
    return div_round_half_even(qty * -money, price)


@njit(cache=True)
def position_value(price: int, qty: int, money: int) -> int:
    """Signed value of `qty` (signed) at `price` in money units: linear ``price × qty × m``, inverse
    ``-round(qty × K / price)`` (0 without a price); ties round half to even on either sign. Precondition: the
    product fits int64 (unchecked; see `position_value_ok`)."""
    if money > 0:
        return price * qty * money
    if qty < 0:
        return fill_value(price, -qty, money)
    return -fill_value(price, qty, money)


@helper  # (at its callers: the marks run it per position at every mark)
def fill_value_ok(price: int, qty: int, money: int) -> tuple[int, bool]:
    """``(fill_value(price, qty, money), True)`` when every product fits int64, else ``(0, False)``; for ``qty >= 0``
    and ``money != I64_MIN``."""
    if money > 0:
        v, ok = mul_ok(price, qty)
        if not ok:
            return 0, False
        return mul_ok(v, money)
    if price <= 0:
        return 0, True
    num, ok = mul_ok(qty, -money)
    if not ok:
        return 0, False
    return div_round_half_even(num, price), True


@helper
def position_value_ok(price: int, qty: int, money: int) -> tuple[int, bool]:
    """``(position_value(price, qty, money), True)`` when every product fits int64, else ``(0, False)``; for ``qty``
    and ``money`` other than ``I64_MIN`` (held values never are: `hft.gateway.kernels.exact`)."""
    if money > 0:
        v, ok = mul_ok(price, qty)
        if not ok:
            return 0, False
        return mul_ok(v, money)
    if qty < 0:
        return fill_value_ok(price, -qty, money)
    v, ok = fill_value_ok(price, qty, money)
    return -v, ok


@helper
def average_cost_fill(pos: int, cost: int, side: int, price: int, qty: int, money: int) -> tuple[bool, int, int, int]:
    """A fill of `qty` (> 0) lots on `side` (+1 / -1) at `price` on a position `pos` with cost basis `cost` (module
    docstring, "Realised PnL at average cost"): ``(ok, position, cost basis, realised)`` after it, `realised` the
    PnL it realises before fees; ``(False, 0, 0, 0)`` when a value would not fit int64. Needs `pos`, `cost` and
    `money` other than ``I64_MIN`` (held values never are)."""
    sq = side * qty  # side is +-1, 0 < qty <= I64_MAX: fits
    if pos == 0 or (pos > 0) == (side > 0):
        v, ok1 = position_value_ok(price, sq, money)
        ncost, ok2 = add_ok(cost, v)
        npos, ok3 = add_ok(pos, sq)
        if not (ok1 and ok2 and ok3):
            return False, 0, 0, 0
        return True, npos, ncost, 0
    ap = abs(pos)  # pos != I64_MIN
    closing = min(qty, ap)
    removed = mul_div_trunc(cost, closing, ap)  # the closed share of the cost basis, exactly (|.| <= |cost|)
    sgn = 1 if pos > 0 else -1
    v, ok1 = position_value_ok(price, sgn * closing, money)
    gain, ok2 = sub_ok(v, removed)
    if not (ok1 and ok2):
        return False, 0, 0, 0
    ncost = cost - removed  # between 0 and cost: fits
    npos = pos + side * closing  # toward 0: fits
    rest = qty - closing
    if rest > 0:  # the position reverses (npos is 0 here)
        v, ok3 = position_value_ok(price, side * rest, money)
        ncost, ok4 = add_ok(ncost, v)
        npos = side * rest
        if not (ok3 and ok4):
            return False, 0, 0, 0
    return True, npos, ncost, gain
