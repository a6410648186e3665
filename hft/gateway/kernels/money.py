"""The money of a quantity at a price, in integer money units: the one rule the gateway's limits and PnL and the
simulator's fill accounting (`hft.sim.fees`, which re-exports it) share.

A *money factor* ``m`` says how: linear (``m > 0``, the symbol's multiplier) ``value = price × qty × m``; inverse
(coin-margined, ``m = -K < 0``) ``value = round_half_even(qty × K / price)`` money units of the settlement coin
(`hft.sim.fees` derives ``K`` from the contract). `position_value` is what the gateway's exposure slots book: the
signed value of a position at a price — linear ``+value``, inverse ``-value`` (a long inverse position loses coin
value as the price rises: PnL ``q·K·(1/entry - 1/exit)``).
"""

from __future__ import annotations

from numba import njit

__all__ = ["div_round_half_even", "fill_value", "position_value"]


@njit(cache=True)
def div_round_half_even(num: int, den: int) -> int:
    """``round_half_even(num / den)`` for integers, ``den > 0`` (floor division semantics, as Python)."""
    q = num // den
    r = num - q * den  # 0 <= r < den
    twice = 2 * r
    if twice > den or (twice == den and q % 2 != 0):
        q += 1
    return q


@njit(cache=True)
def fill_value(price: int, qty: int, money: int) -> int:
    """Value of a fill in money units, >= 0 (linear: price x qty x m; inverse: qty x K / price, rounded)."""
    if money > 0:
        return price * qty * money
    if price <= 0:
        return 0
    return div_round_half_even(qty * -money, price)


@njit(cache=True)
def position_value(price: int, qty: int, money: int) -> int:
    """Signed value of `qty` (signed) at `price` in money units: linear ``price × qty × m``, inverse
    ``-round(qty × K / price)`` (0 without a price); ties round half to even on either sign."""
    if money > 0:
        return price * qty * money
    if qty < 0:
        return fill_value(price, -qty, money)
    return -fill_value(price, qty, money)
