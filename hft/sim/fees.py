"""Trading fees in the gateway's integer money units.

Money is ``price_ticks * qty_lots * multiplier`` (``multiplier`` is the symbol's integer money multiplier, as in
the gateway). A fee schedule has

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

Range: ``value * |bps_h|`` must fit in int64 (9.2e18): with |bps_h| <= 10,000 (100 bp) a single fill may be
worth up to 9.2e14 money units.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from numba import njit

from hft.core.errors import ConfigError

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
def div_round_half_even(num: int, den: int) -> int:
    """``round_half_even(num / den)`` for integers, ``den > 0`` (floor division semantics, as Python)."""
    q = num // den
    r = num - q * den  # 0 <= r < den
    twice = 2 * r
    if twice > den or (twice == den and q % 2 != 0):
        q += 1
    return q


@njit(cache=True)
def fee_money(price: int, qty: int, multiplier: int, bps_h: int, per_lot: int) -> int:
    """Fee of one fill in money units (see the module docstring). Positive = paid."""
    value = price * qty * multiplier
    return div_round_half_even(value * bps_h, FEE_DIVISOR) + per_lot * qty


def fee_py(price: int, qty: int, multiplier: int, bps_h: int, per_lot: int) -> int:
    """Reference implementation with Python integers (unbounded; for tests and reporting)."""
    value = int(price) * int(qty) * int(multiplier)
    num = value * int(bps_h)
    q, r = divmod(num, FEE_DIVISOR)
    if 2 * r > FEE_DIVISOR or (2 * r == FEE_DIVISOR and q % 2 != 0):
        q += 1
    return q + int(per_lot) * int(qty)


def fee_params(fees: FeeSchedule) -> np.ndarray:
    """[maker_bps_h, taker_bps_h, per_lot] as int64 (the venue's parameter layout)."""
    return np.array([fees.maker_bps_h, fees.taker_bps_h, fees.per_lot], dtype=np.int64)
