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

The fee of one fill is exact, all integer arithmetic (no float anywhere)::

    value = price_ticks * qty_lots * multiplier
    fee + fee_frac / 1_000_000 = value * bps_h / 1_000_000 + per_lot * qty_lots

(1 bp = 1e-4 of value, and bps_h = 100 × bp, so the divisor is 1e6 and a fee is a whole number of *millionths*
of a money unit.) A fee is carried as the pair ``(fee, fee_frac)``: ``fee`` the whole money units (the floor),
``0 <= fee_frac < 1_000_000`` the millionths beyond it (``FEE_FRAC_UNITS``): a rebate of 2.5 units is ``(-3,
500_000)``. Positive = paid, negative = received, as `hft.core.orders.EXEC_REPORT_DTYPE` ``fee`` / ``fee_frac``
say. Nothing is rounded per fill: a leg accumulates its fees exactly (`book_fill`: the millionths carry into the
whole units), so a day of sub-unit rebates adds up to what the rates say. Money is rounded once, where it is
reported (`round_money`: half to even, the summary's ``*_money_units``; the currency figures are the exact
amount times the unit). A leg's exact cash is ``cash - fee_frac / 1e6`` (``cash`` books the whole fees).

Range (int64, where an overflow is undefined behaviour to LLVM: docs/architecture.md, rule 13). Every fill's money is exact or the
run stops; nothing wraps. The rule is `book_fill`, which both engines (the Python reference's `Engine._deliver`,
the numba engine's in-kernel order path `_fast_report`) call for every fill before anything of it is booked, with
the fee the venue computed (`fee_money`, the one call of both venues, L2 and L3):

* `fee_money` computes the fill's value exactly (`hft.gateway.kernels.money.fill_value_ok`) and the fee from it,
  or returns `FEE_REFUSED` (int64's minimum, never a fee: every fee is within ``±I64_MAX``) as its whole part
  when the value, ``per_lot * qty`` or their sum would not fit. It never forms ``value * bps_h`` (past 2**63
  from a value of 9.2e12 at 10,000 bp): the value is split at the divisor toward zero, ``value = hi * 1e6 +
  lo`` with ``|lo| < 1e6`` of the value's sign, and ``value * bps_h / 1e6 = hi * bps_h + lo * bps_h / 1e6`` —
  its floor and the millionths beyond it, each product in range (``|hi * bps_h| <= |value|`` as ``|bps_h| <=
  MAX_ABS_BPS_H = 1e6``, which `FeeSchedule` and `bps_to_hundredths` enforce; ``|lo * bps_h| < 1e12``);
* `book_fill` takes the fill (side, price, qty, the run's money factor, that fee and its millionths) and the
  leg's position, cash, fees and fee millionths, and returns their new values, or the first thing that would
  not fit int64 (``±I64_MAX``): the fill's value (its cash flow is ``±value``; `MONEY_VALUE`), its fee
  (`MONEY_FEE`), the position after it (`MONEY_POSITION`), the cash after it (``cash + cash_flow - fee``,
  exactly, with the millionths' carry: `MONEY_CASH`) or the fees paid after it (`MONEY_FEES`). The engines then stop the run with `fill_refusal`'s one-line `SimError` naming the
  fill (time, order id, side, price, qty) and what did not fit, the same message on both engines. A fill the
  gateway cannot book (`MONEY_GATEWAY`: its position at the mark, cost basis or PnL past int64, or a price or
  quantity <= 0; the gateway then applies nothing) stops the run the same way, as the gateway's books and the
  engine's would otherwise part.

The PnL a strategy reads (``ctx.pnl``, float) is the exact cash plus `mark_value`; `mark_pnl` is the same amount
as whole money units, exact and rounded once (half to even), for a kernel's ``acct[AC_PNL]`` and
``ctx.pnl_rounded``.

Why the venues cannot prove the value fits: the gateway accepts an order only when its value at its own limit
price fits (`hft.gateway.kernels.exposure._notional_gt`), which bounds a passive fill and a buy; a sell that
takes bids above its limit, and the sums over a whole run, are bounded by nothing but this rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import numpy as np

from hft.core.dtypes import NO_PRICE
from hft.core.errors import ConfigError, SimError
from hft.core.jit import helper, njit
from hft.core.money import FEE_FRAC_UNITS, exact_money, round_money, round_owed  # noqa: F401 - re-exported
from hft.gateway.kernels.exact import I64_MAX, I64_MIN, add_ok, mul_cmp_gt, mul_ok, sub_ok
from hft.gateway.kernels.money import (  # noqa: F401 - the one rule, shared with the gateway
    average_cost_fill,
    div_round_half_even,
    fill_value,
    fill_value_ok,
)
from hft.sim.strategy import Fill

INVERSE_UNITS = 10**9  # money units per coin of an inverse contract (times the multiplier): 1e-9 BTC per unit
BPS_SCALE = 100  # bps are stored in hundredths of a basis point
FEE_DIVISOR = FEE_FRAC_UNITS  # 1 bp = 1e-4; hundredths → 1e-6 (so a fee's millionths are exact)
MAX_ABS_BPS_H = 1_000_000  # |fee| <= 100 % of value (10,000 bp)
FEE_REFUSED = I64_MIN  # `fee_money`'s whole part when a fill's value or fee does not fit int64 (never a fee)
# `book_fill`'s first result: 0, the fill is booked; else what would not fit int64 (`fill_refusal` names it)
MONEY_OK, MONEY_VALUE, MONEY_FEE, MONEY_POSITION, MONEY_CASH, MONEY_FEES, MONEY_GATEWAY = range(7)
MONEY_REALIZED = 7  # a kernel's realised PnL (`realized_fill`, ``acct[AC_REAL]``) would not fit: `realized_refusal`



@dataclass(frozen=True)
class FeeSchedule:
    """Maker / taker fees in hundredths of a basis point, plus a per-lot fee in money units."""

    maker_bps_h: int = 0
    taker_bps_h: int = 0
    per_lot: int = 0

    def __post_init__(self) -> None:
        for name in ("maker_bps_h", "taker_bps_h"):  # `fee_money`'s precondition (its products stay in int64)
            v = getattr(self, name)
            if not -MAX_ABS_BPS_H <= v <= MAX_ABS_BPS_H:
                raise ConfigError(f"fee schedule: {name} {v}: expected within ±{MAX_ABS_BPS_H} (±10000 bp)", key=name)
        if not -I64_MAX <= self.per_lot <= I64_MAX:
            raise ConfigError(f"fee schedule: per_lot {self.per_lot}: expected within ±{I64_MAX} (int64)",
                              key="per_lot")

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


@helper
def _value_ok(price: int, qty: int, money: int) -> tuple[int, bool]:
    """`fill_value_ok` for any int64 operands (an inverse factor of int64's minimum, whose negation does not fit,
    is a value that does not fit)."""
    if money == I64_MIN:
        return np.int64(0), False
    return fill_value_ok(price, qty, money)


@njit(cache=True)
def fee_money(price: int, qty: int, money: int, bps_h: int, per_lot: int) -> tuple[int, int]:
    """Exact fee of one fill (see the module docstring): ``(fee, fee_frac)``, ``fee + fee_frac / 1e6`` money units,
    ``fee`` the floor, ``0 <= fee_frac < FEE_FRAC_UNITS``; positive = paid. ``(FEE_REFUSED, 0)`` when the fill's
    value, ``per_lot * qty`` or the fee would not fit int64 (module docstring, "Range"). Needs ``|bps_h| <=
    MAX_ABS_BPS_H`` (`FeeSchedule`, `bps_to_hundredths`); any int64 price, qty, money factor and per-lot fee."""
    value, ok = _value_ok(price, qty, money)
    if not ok:
        return FEE_REFUSED, np.int64(0)
    # value = hi * FEE_DIVISOR + lo, split toward zero: |hi * FEE_DIVISOR| <= |value| (|value| <= I64_MAX), so
    # |hi * bps_h| <= |value| too; lo has the value's sign, |lo| < FEE_DIVISOR
    hi = value // FEE_DIVISOR if value >= 0 else -((-value) // FEE_DIVISOR)
    lo = value - hi * FEE_DIVISOR
    num = lo * bps_h  # |num| < 1e12
    q = num // FEE_DIVISOR
    r = num - q * FEE_DIVISOR  # 0 <= r < FEE_DIVISOR
    # the floor of value * bps_h / 1e6: within ±I64_MAX (|bps_h| <= 1e6); r / 1e6 beyond it
    q += hi * bps_h
    per, ok = mul_ok(per_lot, qty)
    if not ok:
        return FEE_REFUSED, np.int64(0)
    fee, ok = add_ok(q, per)
    if not ok:
        return FEE_REFUSED, np.int64(0)
    return fee, r


@helper
def _cash_after(cash: int, flow: int, fee: int) -> tuple[int, bool]:
    """``(cash + flow - fee, True)`` when it lies within ``±I64_MAX``, else ``(0, False)`` — exactly, whichever
    partial sum would leave int64 (operands within ``±I64_MAX``: when both orders of summing fail, they fail on
    the same side, so the total does not fit either)."""
    c, ok = add_ok(cash, flow)
    if ok:
        c, ok = sub_ok(c, fee)
        if ok:
            return c, True
    n, ok = sub_ok(flow, fee)
    if ok:
        return add_ok(cash, n)
    return np.int64(0), False


@helper
def carry_fee(fee: int, frac: int) -> tuple:
    """A fill's whole fee `fee` with `frac`, the fee millionths owed so far plus the fill's (``0 <= frac < 2 *
    FEE_FRAC_UNITS``): ``(fee, millionths still owed, ok)``, a whole unit of millionths taken into the fee when they
    make one (the one carry rule of `book_fill`'s fees and `realized_fill`'s realised PnL); ok False when the fee
    would not fit int64."""
    if frac >= FEE_FRAC_UNITS:  # the millionths make a whole unit: paid now
        fee, ok = add_ok(fee, 1)
        return fee, frac - FEE_FRAC_UNITS, ok
    return fee, frac, True


@helper  # per fill, at the numba engine's report path (and from Python for the reference engine)
def book_fill(side: int, price: int, qty: int, money: int, fee: int, frac: int, pos: int, cash: int, fees: int,
              fees_frac: int) -> tuple:
    """The one accounting rule of a fill (module docstring, "Range"): ``(MONEY_OK, position, cash, fees,
    fees_frac)`` after a fill of `qty` lots on `side` (+1 buy, -1 sell; 0: not our order, no position change) at
    `price` with the venue's exact fee ``fee + frac / 1e6`` (`fee_money`; `FEE_REFUSED`: it did not fit), money
    factor `money`; or ``(MONEY_*, pos, cash, fees, fees_frac)`` unchanged, naming the first value that would not
    fit int64. Cash flow: a linear buy pays its value (``-side * value``), an inverse buy receives it (``+side *
    value``); the fee is paid from cash. The leg's fee millionths (`fees_frac`, ``0 <= . < FEE_FRAC_UNITS``)
    carry into whole units here, so ``fees + fees_frac / 1e6`` is the exact sum of every fill's fee and the exact
    cash is ``cash - fees_frac / 1e6``. Needs `pos`, `cash`, `fees` within ``±I64_MAX`` and `frac`, `fees_frac`
    within ``[0, FEE_FRAC_UNITS)`` (what this rule and `fee_money` return always are)."""
    v, ok = _value_ok(price, qty, money)
    flow, ok2 = mul_ok(side, v)
    if not (ok and ok2):
        return MONEY_VALUE, pos, cash, fees, fees_frac
    if money > 0:
        flow = -flow  # (within ±I64_MAX)
    if fee == FEE_REFUSED:
        return MONEY_FEE, pos, cash, fees, fees_frac
    fee, nfrac, ok = carry_fee(fee, fees_frac + frac)
    if not ok:
        return MONEY_FEE, pos, cash, fees, fees_frac
    dq, ok = mul_ok(side, qty)
    npos, ok2 = add_ok(pos, dq)
    if not (ok and ok2):
        return MONEY_POSITION, pos, cash, fees, fees_frac
    ncash, ok = _cash_after(cash, flow, fee)
    if not ok:
        return MONEY_CASH, pos, cash, fees, fees_frac
    nfees, ok = add_ok(fees, fee)
    if not ok:
        return MONEY_FEES, pos, cash, fees, fees_frac
    return MONEY_OK, npos, ncash, nfees, nfrac


def legs_final(legs: Any) -> dict[str, int]:
    """The summed ``cash``, ``fees`` and ``fee_frac`` of several legs' accounts (each with `cash`, `fees`,
    `fee_frac` attributes, in one money unit), the millionths carried into whole units as `book_fill` carries them:
    the exact fees are ``fees + fee_frac / 1e6`` and the exact cash ``cash - fee_frac / 1e6``."""
    cash = sum(int(leg.cash) for leg in legs)
    fees = sum(int(leg.fees) for leg in legs)
    carry, frac = divmod(sum(int(leg.fee_frac) for leg in legs), FEE_FRAC_UNITS)
    return {"cash": cash - carry, "fees": fees + carry, "fee_frac": frac}


def fill_value_py(price: int, qty: int, money: int) -> int:
    """`fill_value` in Python integers (unbounded: for messages, reporting and tests)."""
    price, qty, money = int(price), int(qty), int(money)
    if money > 0:
        return price * qty * money
    if price <= 0:
        return 0
    q, r = divmod(qty * -money, price)
    return q + (1 if 2 * r > price or (2 * r == price and q % 2) else 0)


def cash_flow(side: int, price: int, qty: int, money: int) -> int:
    """Change of cash from a fill before its fee, in Python integers: a linear buy pays its value, an inverse buy
    receives it (the engines book fills through `book_fill`, which checks this against int64)."""
    v = fill_value_py(price, qty, money)
    return -int(side) * v if money > 0 else int(side) * v


def fill_refusal(what: int, ts: int, order_id: int, side: int, price: int, qty: int, fee: int, money: int,
                 pos: int, cash: int, fees: int) -> SimError:
    """The `SimError` that stops a run at a fill `book_fill` (or the gateway: `MONEY_GATEWAY`) refused: one line
    naming the fill and what did not fit, with its exact value; the same on both engines (they pass the same
    fill and the leg's position, cash and fees before it)."""
    ts, order_id, side, price, qty, fee, money = map(int, (ts, order_id, side, price, qty, fee, money))
    name = {1: "buy", -1: "sell"}.get(side, f"side {side}")
    head = f"fill of order {order_id} at {ts} ns ({name} {qty} lots at {price} ticks)"
    value = fill_value_py(price, qty, money)
    rule = f"price x qty x multiplier {money}" if money > 0 else f"qty x {-money} / price, inverse"
    flow = cash_flow(side, price, qty, money)
    if what == MONEY_GATEWAY:
        why = ("the gateway books no fill at a price or quantity <= 0" if price <= 0 or qty <= 0 else
               "the gateway could not book it: a position value at the mark, cost basis or PnL in its books would "
               "not fit int64")
        msg = f"{head}: {why} (it applied nothing)"
    else:
        shown = {MONEY_VALUE: f"its value {value} money units ({rule})",
                 MONEY_FEE: f"its fee (value {value} x bps + per_lot x qty)",
                 MONEY_POSITION: f"the position after it, {int(pos) + side * qty} lots",
                 MONEY_CASH: f"the cash after it, {int(cash) + flow - fee} money units",
                 MONEY_FEES: f"the fees after it, {int(fees) + fee} money units"}.get(what, f"what {what}")
        msg = f"{head}: {shown}: expected within ±{I64_MAX} (int64)"
    return SimError(msg, hint="the simulator's money is int64 money units: a smaller `multiplier` (money units per "
                    "tick x lot), fewer lots or smaller fees keep a fill's money in range", key="multiplier",
                    order_id=order_id, ts=ts)


def mark_value(position: Any, mid2: Any, money: int) -> Any:
    """Money value of a position at a mid given in half ticks (float or float array, for equity and PnL):
    linear ``position * mid * m``, inverse ``-position * K / mid``. Equity = cash + mark_value."""
    if money > 0:
        return position * mid2 * money / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return -position * (-money) * 2.0 / np.asarray(mid2, dtype=np.float64)


@helper
def _cmp_frac(r: int, a: int, d: int, b: int) -> int:
    """The sign of ``r * a - d * b`` (-1, 0, 1), exactly, for ``r, a >= 0``, ``d > 0`` and any `b` (no product is
    formed that could leave int64: `mul_cmp_gt`)."""
    if b < 0:
        return 1  # d * b < 0 <= r * a
    if mul_cmp_gt(r, a, d, b):
        return 1
    return -1 if mul_cmp_gt(d, b, r, a) else 0


# per call of a kernel with the full context (`hft.sim.engine_nb.streams._context_fill`), and from Python: a call,
# not inlined, so that the loop kernel's code for every other strategy stays as it was (callgrind, `single mm`)
@njit(cache=True, forceinline=False)
def mark_pnl(pos: int, cash: int, fees_frac: int, mid2: int, money: int) -> int:
    """``ctx.pnl`` as whole money units, exact and rounded once (half to even): the exact cash ``cash - fees_frac /
    1e6`` (`book_fill`'s leg: ``0 <= fees_frac < FEE_FRAC_UNITS``) plus the position marked at the mid given in half
    ticks (`mark_value`: linear ``pos * mid2 * m / 2``, inverse ``-pos * K * 2 / mid2`` with ``m = -K``), every
    quotient kept exact until the one rounding. Without a mark — `mid2` is `NO_PRICE` (a side of the book is
    empty), or an inverse instrument's ``mid2 <= 0`` — the cash alone, rounded as ``ctx.cash``. `NO_PRICE` (never
    a PnL: every value is within ``±I64_MAX``) when the mark or the sum does not fit int64. Needs `pos`, `cash`
    within ``±I64_MAX`` and `money` other than ``I64_MIN`` (what `book_fill` and `money_factor` give)."""
    # the mark as q + r / d, 0 <= r < d (floor): linear d = 2, inverse d = mid2
    q = np.int64(0)
    r = np.int64(0)
    d = np.int64(1)
    if mid2 != NO_PRICE and (money > 0 or mid2 > 0):
        if money > 0:
            x, ok = mul_ok(pos, mid2)
            x, ok2 = mul_ok(x, money)
            d = np.int64(2)
        else:
            x, ok = mul_ok(pos, -money)
            x, ok2 = mul_ok(x, -2)
            d = mid2
        if not (ok and ok2):
            return NO_PRICE
        q = x // d  # (floor: Python's semantics; x within ±I64_MAX, d > 0)
        r = x - q * d
    w, ok = add_ok(cash, q)
    if not ok:
        return NO_PRICE
    # the exact PnL is w + g, g = r / d - fees_frac / 1e6 in (-1, 1): its floor, then the rest h in [0, 1) against 1/2
    if _cmp_frac(r, FEE_FRAC_UNITS, d, fees_frac) >= 0:  # g >= 0: h = g; h vs 1/2 is 2e6 r vs d (1e6 + 2 ff)
        half = _cmp_frac(r, 2 * FEE_FRAC_UNITS, d, FEE_FRAC_UNITS + 2 * fees_frac)
    else:  # g < 0: the floor is w - 1, h = 1 + g; h vs 1/2 is 2e6 r vs d (2 ff - 1e6)
        w -= 1  # (w >= -I64_MAX: at worst int64's minimum, which no PnL is: refused below unless rounded up)
        half = _cmp_frac(r, 2 * FEE_FRAC_UNITS, d, 2 * fees_frac - FEE_FRAC_UNITS)
    if half > 0 or (half == 0 and w % 2 != 0):
        w, ok = add_ok(w, 1)
        if not ok:
            return NO_PRICE
    return w if w != I64_MIN else NO_PRICE


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
    of the coin (`money_unit_exact` as a float)."""
    return float(money_unit_exact(instrument, multiplier))


def money_unit_exact(instrument: Any, multiplier: int = 1) -> Decimal:
    """`money_unit` as an exact decimal (what a currency amount in a config is converted with)."""
    if getattr(instrument, "kind", "linear") == "inverse":
        return Decimal(1) / (INVERSE_UNITS * multiplier)
    return (Decimal(instrument.tick_size) * Decimal(instrument.lot_size) * Decimal(instrument.contract_size)
            / multiplier)


def fee_py(price: int, qty: int, multiplier: int, bps_h: int, per_lot: int) -> Fraction:
    """Reference implementation with Python integers (unbounded; for tests and reporting): the exact fee of a
    fill in money units, linear or inverse (a negative `multiplier` is the inverse money factor)."""
    return (Fraction(fill_value_py(price, qty, multiplier) * int(bps_h), FEE_DIVISOR)
            + int(per_lot) * int(qty))


def fee_params(fees: FeeSchedule) -> np.ndarray:
    """[maker_bps_h, taker_bps_h, per_lot] as int64 (the venue's parameter layout)."""
    return np.array([fees.maker_bps_h, fees.taker_bps_h, fees.per_lot], dtype=np.int64)


@helper  # per fill a kernel with the full context has not seen yet (`hft.sim.engine_nb.streams._realized_fold`), and
# from Python (`realized_after`)
def realized_fill(pos: int, cost: int, real: int, owed: int, side: int, price: int, qty: int, fee: int, frac: int,
                  money: int) -> tuple:
    """The realised PnL's rule for one fill (`hft.sim.strategy.Context.realized_pnl`, ``acct[AC_REAL]``): ``(True,
    position, cost basis, realised, owed)`` after a fill of `qty` lots on `side` at `price` with its exact fee ``fee
    + frac / 1e6`` (`fee_money`), on a position `pos` with cost basis `cost` (the gateway's rule,
    `average_cost_fill`), realised PnL `real` and fee millionths owed `owed` (``0 <= . < FEE_FRAC_UNITS``: exactly
    ``real - owed / 1e6``, carried into whole units as `book_fill` carries them); ``(False, pos, cost, real, owed)``
    unchanged when a value would not fit int64. Needs `pos`, `cost`, `real`, `fee` within ``±I64_MAX`` (held
    values and a booked fill's fee are)."""
    ok, npos, ncost, gain = average_cost_fill(pos, cost, side, price, qty, money)
    if not ok:
        return False, pos, cost, real, owed
    fee, nowed, ok = carry_fee(fee, owed + frac)
    if not ok:
        return False, pos, cost, real, owed
    nreal, ok = _cash_after(real, gain, fee)  # real + gain - fee, exactly (`gain` within ±I64_MAX)
    if not ok:
        return False, pos, cost, real, owed
    return True, npos, ncost, nreal, nowed


def realized_refusal(order_id: int, side: int, price: int, qty: int, pos: int, cost: int, real: int) -> SimError:
    """The `SimError` that stops a run at a fill whose realised PnL `realized_fill` refused (``ctx.realized_pnl``
    or a kernel's ``acct[AC_REAL]``): one line naming the fill and the books before it."""
    return SimError(f"realised PnL: the fill of order {int(order_id)} ({int(side):+d} {int(qty)} @ {int(price)}) on "
                    f"a position of {int(pos)} lots with a cost basis of {int(cost)} and a realised PnL of "
                    f"{int(real)}: expected values within int64", key="multiplier", order_id=int(order_id),
                    hint="the simulator's money is int64 money units: a smaller `multiplier` keeps it in range")


def realized_after(fills: Any, state: list[int], leg: int, leg_of: Any, money: int) -> int:
    """Realised PnL at average cost, net of fees, of one leg's fills (`hft.sim.strategy.Context.realized_pnl`): the
    gateway's rule (`average_cost_fill`), folded over the fills of `fills` (`hft.sim.strategy.Fill` rows of the run,
    in order) past ``state[0]`` whose order is of leg `leg` (`leg_of`: order id -> leg, 0 when absent), each fill's
    exact fee subtracted. `state` (``[fills folded, position, cost basis, realised, fee millionths owed]``, from
    ``[0, 0, 0, 0, 0]``) is updated in place; returns the realised PnL rounded once, half to even
    (`round_owed`). A value past int64 is a `SimError` naming the fill (`realized_refusal`)."""
    n, pos, cost, real, owed = state
    for row in fills[n:]:
        f = Fill(*row)
        if leg_of.get(f.order_id, 0) != leg:
            continue
        ok, npos, ncost, nreal, nowed = realized_fill(pos, cost, real, owed, f.side, f.price, f.qty, f.fee,
                                                      f.fee_frac, money)
        if not ok:
            raise realized_refusal(f.order_id, f.side, f.price, f.qty, pos, cost, real)
        pos, cost, real, owed = int(npos), int(ncost), int(nreal), int(nowed)
    state[:] = [len(fills), pos, cost, real, owed]
    return round_owed(real, owed)
