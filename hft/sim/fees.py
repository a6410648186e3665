"""Trading fees and fill accounting in integer money units: the one place every loop's money comes from (the value
of a quantity at a price, `fill_value`, is `hft.gateway.kernels.money`'s, which the gateway's money limits use too).

The *money factor* ``m`` of a run (`money_factor`) says how a fill becomes money, and every loop (the Python
engine, the numba engine's order path, the scenario runner) and both venues use the functions below with it:

* **linear** (``m > 0``, the replay's ``multiplier``): value = ``price_ticks * qty_lots * m``; one money unit is
  ``tick × lot × contract_size / multiplier`` of the quote currency. A buy pays its value:
  ``cash_flow = -side * value``; a position is worth ``position * mid * m``.
* **inverse** (coin-margined, ``m = -K < 0``): value = ``round_half_even(qty_lots * K / price_ticks)`` money
  units of the settlement coin, with ``K = lot × contract_size / tick × INVERSE_UNITS × multiplier`` (exact
  integer); one money unit is ``1 / (INVERSE_UNITS × multiplier)`` coin. A buy of ``q`` contracts at ``P``
  receives ``q·K/P`` (``cash_flow = +side * value``) and a position is worth ``-position * K / mid``, so a round
  trip long earns ``q·K·(1/entry - 1/exit)`` coin units, the inverse PnL.

Fees are on the fill's value in the same units (so in coin for inverse contracts). A fee schedule has

* ``maker_bps`` / ``taker_bps`` — basis points of traded value, given to **0.01 bp** (stored as integer
  hundredths of a basis point, ``bps_h``; e.g. ``-0.5`` bp → ``-50``, ``7`` bp → ``700``). Negative = rebate.
* ``per_lot`` — an optional fixed fee per traded lot, in money units (integer, may be negative), applied to
  maker and taker fills alike.

The fee of one fill, all integer arithmetic (no float anywhere)::

    value = price_ticks * qty_lots * multiplier
    fee   = round_half_even(value * bps_h / 1_000_000) + per_lot * qty_lots

(1 bp = 1e-4 of value, and bps_h = 100 × bp, so the divisor is 1e6.) Rounding is to the nearest money unit,
ties to even (banker's rounding), also for negative fees (a rebate of -2.5 units rounds to -2). Positive fee
= paid, negative = received, as `hft.core.orders.EXEC_REPORT_DTYPE` ``fee`` expects.

Range: the fill's value must fit in int64 (linear ``price * qty * multiplier``, inverse ``qty * K``; the gateway
refuses an order whose value at its price does not, `hft.gateway.kernels.exposure._notional_gt`), and
``per_lot * qty`` too. The fee itself never overflows then: `fee_money` never forms ``value * bps_h`` (which
would pass 2**63 from a value of 9.2e12 at 10,000 bp), it splits the value at the divisor, ``value = hi * 1e6 + lo``,
and ``fee = hi * bps_h + round_half_even(lo * bps_h / 1e6)`` — the same integer, each product in range
(``|hi * bps_h| <= |value|`` as ``|bps_h| <= MAX_ABS_BPS_H = 1e6``, ``|lo * bps_h| < 1e12``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from numba import njit

from hft.core.errors import ConfigError
from hft.gateway.kernels.money import div_round_half_even, fill_value  # noqa: F401 - the one rule, shared with the gateway

INVERSE_UNITS = 10**9  # money units per coin of an inverse contract (times the multiplier): 1e-9 BTC per unit
BPS_SCALE = 100  # bps are stored in hundredths of a basis point
FEE_DIVISOR = 1_000_000  # 1 bp = 1e-4; hundredths → 1e-6
MAX_ABS_BPS_H = 1_000_000  # |fee| <= 100 % of value (10,000 bp)


@dataclass(frozen=True)
class FeeSchedule:
    """Maker / taker fees in hundredths of a basis point, plus a per-lot fee in money units."""

    maker_bps_h: int = 0
    taker_bps_h: int = 0
    per_lot: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"maker_bps": str(Decimal(self.maker_bps_h) / BPS_SCALE),
                "taker_bps": str(Decimal(self.taker_bps_h) / BPS_SCALE), "per_lot": self.per_lot}


def bps_to_hundredths(value: Any, *, key: str = "bps", file: str | None = None) -> int:
    """Convert a bps value (int, float as written in YAML, or decimal string) to integer hundredths of a bp.

    Raises:
        ConfigError: naming `key` for non-numbers, values finer than 0.01 bp or beyond ±10,000 bp.
    """
    where = f"{file}: " if file else ""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{where}key '{key}': expected a number of basis points, was {value!r}", file=file, key=key)
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{where}key '{key}': expected a number of basis points, was {value!r}",
                          file=file, key=key) from None
    if not d.is_finite():
        raise ConfigError(f"{where}key '{key}': expected a finite number of basis points, was {value!r}",
                          file=file, key=key)
    h = d * BPS_SCALE
    if h != h.to_integral_value():
        raise ConfigError(f"{where}key '{key}': expected basis points to 0.01 bp, was {value!r}", file=file, key=key)
    n = int(h)
    if abs(n) > MAX_ABS_BPS_H:
        raise ConfigError(f"{where}key '{key}': expected at most ±10000 bp, was {value!r}", file=file, key=key)
    return n


@njit(cache=True)
def cash_flow(side: int, price: int, qty: int, money: int) -> int:
    """Change of cash from a fill before its fee: a linear buy pays its value, an inverse buy receives it."""
    v = fill_value(price, qty, money)
    return -side * v if money > 0 else side * v


@njit(cache=True)
def fee_money(price: int, qty: int, money: int, bps_h: int, per_lot: int) -> int:
    """Fee of one fill in money units (see the module docstring). Positive = paid. Needs ``|bps_h| <=
    MAX_ABS_BPS_H`` (`bps_to_hundredths`) and the value in int64; never forms ``value * bps_h`` (module docstring,
    "Range")."""
    value = fill_value(price, qty, money)
    hi = value // FEE_DIVISOR  # floor: value = hi * FEE_DIVISOR + lo, 0 <= lo < FEE_DIVISOR
    lo = value - hi * FEE_DIVISOR
    num = lo * bps_h
    q = num // FEE_DIVISOR
    r = num - q * FEE_DIVISOR  # 0 <= r < FEE_DIVISOR
    q += hi * bps_h  # the quotient of value * bps_h, whose parity breaks a tie (half to even)
    if 2 * r > FEE_DIVISOR or (2 * r == FEE_DIVISOR and q % 2 != 0):
        q += 1
    return q + per_lot * qty


def mark_value(position: Any, mid2: Any, money: int) -> Any:
    """Money value of a position at a mid given in half ticks (float or float array, for equity and PnL):
    linear ``position * mid * m``, inverse ``-position * K / mid``. Equity = cash + mark_value."""
    if money > 0:
        return position * mid2 * money / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return -position * (-money) * 2.0 / np.asarray(mid2, dtype=np.float64)


def money_factor(instrument: Any, multiplier: int = 1) -> int:
    """The run's money factor (module docstring): `multiplier` for a linear instrument, ``-K`` for an inverse one.

    Raises:
        ConfigError: an inverse instrument whose ``lot × contract_size / tick × INVERSE_UNITS × multiplier``
        is not a whole number (or does not fit comfortably in int64).
    """
    if getattr(instrument, "kind", "linear") != "inverse":
        return int(multiplier)
    k = (Decimal(instrument.lot_size) * Decimal(instrument.contract_size) / Decimal(instrument.tick_size)
         * INVERSE_UNITS * multiplier)
    if k != k.to_integral_value() or not 0 < k < 2**53:
        raise ConfigError(f"instrument {instrument.symbol}: inverse contract value lot x contract_size / tick x "
                          f"{INVERSE_UNITS} x multiplier: expected a whole number below 2^53, was {k}",
                          key="instrument.contract_size")
    return -int(k)


def money_unit(instrument: Any, multiplier: int = 1) -> float:
    """Value of one money unit in the settlement currency (`Instrument.settlement`): linear
    ``tick × lot × contract_size / multiplier`` of the quote currency, inverse ``1 / (INVERSE_UNITS × multiplier)``
    of the coin."""
    if getattr(instrument, "kind", "linear") == "inverse":
        return float(Decimal(1) / (INVERSE_UNITS * multiplier))
    return float(Decimal(instrument.tick_size) * Decimal(instrument.lot_size) * Decimal(instrument.contract_size)
                 / multiplier)


def fee_py(price: int, qty: int, multiplier: int, bps_h: int, per_lot: int) -> int:
    """Reference implementation with Python integers (unbounded; for tests and reporting), linear or inverse
    (a negative `multiplier` is the inverse money factor)."""
    if multiplier > 0:
        value = int(price) * int(qty) * int(multiplier)
    else:
        q, r = divmod(int(qty) * -int(multiplier), int(price))
        value = q + (1 if 2 * r > int(price) or (2 * r == int(price) and q % 2) else 0)
    num = value * int(bps_h)
    q, r = divmod(num, FEE_DIVISOR)
    if 2 * r > FEE_DIVISOR or (2 * r == FEE_DIVISOR and q % 2 != 0):
        q += 1
    return q + int(per_lot) * int(qty)


def fee_params(fees: FeeSchedule) -> np.ndarray:
    """[maker_bps_h, taker_bps_h, per_lot] as int64 (the venue's parameter layout)."""
    return np.array([fees.maker_bps_h, fees.taker_bps_h, fees.per_lot], dtype=np.int64)
