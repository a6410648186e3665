"""Exact money amounts and their one rounding (pure Python, no numba: strategies and reports import it).

Money is integer *money units* (`hft.sim.fees`: a tick × lot × contract size / multiplier of the quote currency,
or 1e-9 / multiplier coin for an inverse contract). An amount derived from a rate — a fee or rebate in basis points
to 0.01 bp — is a whole number of *millionths* of a unit, so it is carried exactly as a pair: whole units (the
floor) and ``0 <= frac < FEE_FRAC_UNITS`` millionths beyond them (``fee`` / ``fee_frac`` of a fill; ``fees`` /
``fee_frac`` of a leg, whose exact cash is then ``cash - fee_frac / 1e6``). Books sum the pairs exactly (the
millionths carry into whole units) and money is rounded once, where it is reported: `round_money` (half to even).
"""

from __future__ import annotations

from typing import Any

__all__ = ["FEE_FRAC_UNITS", "exact_money", "micro_units", "round_micro", "round_money", "round_owed"]

FEE_FRAC_UNITS = 1_000_000  # a fee's fraction (``fee_frac``) is in millionths of a money unit: exact for 0.01 bp


def round_money(whole: int, frac: int = 0) -> int:
    """An exact amount ``whole + frac / FEE_FRAC_UNITS`` money units (``0 <= frac < FEE_FRAC_UNITS``: a fee and its
    millionths, a leg's fees) rounded once to whole units, half to even."""
    whole, frac = int(whole), int(frac)
    half = FEE_FRAC_UNITS // 2
    return whole + (1 if frac > half or (frac == half and whole % 2) else 0)


def round_owed(whole: int, owed: int) -> int:
    """``whole - owed / FEE_FRAC_UNITS`` (a cash balance or realised PnL with fee millionths `owed` not yet taken
    from `whole`) rounded once, half to even (`round_money`)."""
    owed = int(owed)
    return round_money(int(whole) - 1, FEE_FRAC_UNITS - owed) if owed else int(whole)


def exact_money(whole: Any, frac: Any = 0) -> Any:
    """``whole + frac / FEE_FRAC_UNITS`` as float money units (scalars or numpy arrays): an exact amount for a
    figure that is float anyway (currency, PnL with a position marked at a mid)."""
    return whole + frac / FEE_FRAC_UNITS


def micro_units(whole: int, frac: int = 0) -> int:
    """``whole + frac / FEE_FRAC_UNITS`` money units as one exact integer of millionths (a Python int: unbounded;
    summaries carry the fees so, ``fees_micro_units``, for sums over legs and differences between days)."""
    return int(whole) * FEE_FRAC_UNITS + int(frac)


def round_micro(micro: int) -> int:
    """An exact amount in millionths of a money unit (`micro_units`) rounded once to whole units, half to even."""
    return round_money(*divmod(int(micro), FEE_FRAC_UNITS))
