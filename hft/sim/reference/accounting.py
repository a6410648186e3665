"""Money in the reference replay, from docs/sim.md ("Venue semantics", fees; "Fees, instruments and exchange
filters"; "Orders and the fill ratio"), in Python integers (unbounded, then checked against int64).

* A fill's value: ``price × qty × m`` money units for a linear instrument (``m`` the multiplier, > 0), and
  ``round_half_even(qty × K / price)`` for an inverse one (money factor ``m = -K``).
* Its fee is exact: ``fee + fee_frac / 1e6 = value × bps_h / 1e6 + per_lot × qty`` with ``fee`` the floor and
  ``0 <= fee_frac < 1e6`` (``bps_h``: hundredths of a basis point; maker or taker by the fill's liquidity).
* An account books a fill: position ``+= side × qty``; cash ``+= -side × value`` (linear: a buy pays) or
  ``+side × value`` (inverse: a buy receives), minus the whole fee; fees ``+=`` the whole fee; the millionths
  add up in ``fee_frac`` and carry one whole unit into fees (and out of cash) when they reach 1e6. So the exact
  fees are ``fees + fee_frac / 1e6`` and the exact cash ``cash - fee_frac / 1e6``.
* Realised PnL at average cost (docs/sim.md, the context's ``realized_pnl``): the open position carries a cost
  basis, the signed value of what opened it (linear ``price × lots × m``; inverse ``-round(lots × K / price)`` for a
  long, ``+`` for a short); a fill on the position's side (or opening one) adds its value; one against it closes
  ``c = min(qty, |position|)`` lots, removing ``trunc(basis × c / |position|)`` (toward zero) from the basis and
  realising the closed lots' value at the fill's price less that; the rest of a larger fill opens at its price. The
  whole fees are taken from the realised PnL as from the cash, so its exact value is ``realised - fee_frac / 1e6``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hft.core.errors import SimError

FRAC_UNITS = 1_000_000  # millionths of a money unit
I64_MAX = (1 << 63) - 1


def fill_value(price: int, qty: int, money: int) -> int:
    """The money value of `qty` lots at `price` ticks under money factor `money` (module docstring)."""
    if money > 0:
        return price * qty * money
    if price <= 0:
        return 0
    q, r = divmod(qty * -money, price)
    if 2 * r > price or (2 * r == price and q % 2 == 1):  # half to even
        q += 1
    return q


def fee_of(price: int, qty: int, money: int, bps_h: int, per_lot: int) -> tuple[int, int]:
    """The exact fee of one fill as ``(fee, fee_frac)`` (module docstring)."""
    millionths = fill_value(price, qty, money) * bps_h + per_lot * qty * FRAC_UNITS
    return divmod(millionths, FRAC_UNITS)


@dataclass(frozen=True)
class Fees:
    """A fee schedule: maker / taker rates in hundredths of a basis point, a per-lot fee in money units."""

    maker_bps_h: int = 0
    taker_bps_h: int = 0
    per_lot: int = 0


@dataclass
class Account:
    """One instrument's position (lots), cash and fees (money units, exact with `fee_frac` millionths)."""

    money: int = 1  # the money factor (multiplier, or -K for an inverse instrument)
    position: int = 0
    cash: int = 0
    fees: int = 0
    fee_frac: int = 0
    basis: int = 0  # the open position's cost basis (module docstring)
    realised: int = 0  # realised PnL, whole fees taken (exactly ``realised - fee_frac / 1e6``)

    def book(self, side: int, price: int, qty: int, fee: int, frac: int) -> None:
        """Book one fill of ours (`side` +1 buy, -1 sell) with its exact fee ``fee + frac / 1e6``.

        Raises:
            SimError: the fill's value, its fee, or the position, cash or fees after it leave int64 (the run
                stops: docs/sim.md, "Determinism").
        """
        value = fill_value(price, qty, self.money)
        flow = -side * value if self.money > 0 else side * value
        frac_sum = self.fee_frac + frac
        whole = fee + frac_sum // FRAC_UNITS
        position, cash = self.position + side * qty, self.cash + flow - whole
        fees = self.fees + whole
        for what, v in (("value", value), ("fee", whole), ("position", position), ("cash", cash), ("fees", fees)):
            if abs(v) > I64_MAX:
                raise SimError(f"fill of {side * qty} lots at {price} ticks: its {what} {v}: expected within "
                               f"±{I64_MAX} (int64)")
        basis, gain = self._average_cost(side, price, qty)
        self.position, self.cash, self.fees, self.fee_frac = position, cash, fees, frac_sum % FRAC_UNITS
        self.basis, self.realised = basis, self.realised + gain - whole

    def _signed_value(self, price: int, lots: int) -> int:
        """The signed value of `lots` (signed) at `price`: linear ``+``, inverse ``-`` for a long (module
        docstring)."""
        if self.money > 0:
            return price * lots * self.money
        v = fill_value(price, abs(lots), self.money)
        return -v if lots > 0 else v

    def _average_cost(self, side: int, price: int, qty: int) -> tuple[int, int]:
        """(the cost basis after a fill, the PnL it realises before fees), from the position before it."""
        pos, basis = self.position, self.basis
        if pos == 0 or (pos > 0) == (side > 0):
            return basis + self._signed_value(price, side * qty), 0
        closing = min(qty, abs(pos))
        share = abs(basis) * closing // abs(pos)  # toward zero, whatever the basis' sign
        removed = share if basis >= 0 else -share
        gain = self._signed_value(price, (1 if pos > 0 else -1) * closing) - removed
        basis -= removed
        if qty > closing:  # the position reverses: the rest opens at the fill's price
            basis += self._signed_value(price, side * (qty - closing))
        return basis, gain
