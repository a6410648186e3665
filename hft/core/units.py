"""Human units: durations → ns and sizes → bytes parsed into integers; order quantities and currency amounts as
a config gives them; ns times written as ISO 8601."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import NamedTuple

from hft.core.errors import ConfigError

_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                   "m": 60_000_000_000, "min": 60_000_000_000, "h": 3_600_000_000_000}
_SIZE_UNITS = {"b": 1, "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000, "kib": 1024, "mib": 1024**2,
               "gib": 1024**3, "tb": 10**12, "tib": 1024**4}
#: The largest value an int64 holds: every duration and size becomes one (ns, bytes) on the hot path.
INT64_MAX = 2**63 - 1
_NUM_UNIT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Zµ]*)\s*$")


def parse_duration_ns(value: str | int | float, *, key: str = "duration", allow_negative: bool = False) -> int:
    """Parse a duration with its unit (``"250us"``, ``"1.5ms"``, ``"2s"``, ``"5min"``; units ns, us / µs, ms, s,
    m / min, h) into int nanoseconds.

    A duration needs its unit: a bare number (``300``, ``"300"``, ``2.5``) is refused, since read as nanoseconds
    it would silently mean something else (``ttl: 300`` a 300 ns window); only zero stands alone, being zero in
    every unit.

    Raises:
        ConfigError: naming `key` when the value is a bare number, has no known unit or is negative.
    """
    m = None if isinstance(value, bool) or not isinstance(value, str | int | float) else _NUM_UNIT.match(str(value))
    if m is None or (m.group(2) and m.group(2) not in _DURATION_UNITS):
        raise ConfigError(f"{key}: expected a duration like '250us' or '1ms', was {value!r}", key=key)
    if not m.group(2):
        if float(m.group(1)) != 0:
            raise ConfigError(f"{key}: expected a duration with a unit (e.g. 300s, 250ms), was {value!r}", key=key)
        return 0
    ns = round(float(m.group(1)) * _DURATION_UNITS[m.group(2)])
    if ns < 0 and not allow_negative:
        raise ConfigError(f"{key}: expected a non-negative duration, was {value!r}", key=key)
    if abs(ns) > INT64_MAX:
        raise ConfigError(f"{key}: expected a duration of at most {INT64_MAX:,} ns (about 292 years), "
                          f"was {value!r}", key=key)
    return int(ns)


def parse_size_bytes(value: str | int, *, key: str = "size") -> int:
    """Parse ``"512MiB"``, ``"1GB"`` or an integer (bytes) into int bytes."""
    if isinstance(value, bool):
        raise ConfigError(f"{key}: expected a size like '64MiB', was {value!r}", key=key)
    if isinstance(value, int):
        n = value
    else:
        m = _NUM_UNIT.match(str(value))
        unit = (m.group(2) if m else "").lower() or "b"
        if not m or unit not in _SIZE_UNITS:
            raise ConfigError(f"{key}: expected a size like '64MiB', was {value!r}", key=key)
        n = round(float(m.group(1)) * _SIZE_UNITS[unit])
    if n < 0:
        raise ConfigError(f"{key}: expected a non-negative size, was {value!r}", key=key)
    if n > INT64_MAX:
        raise ConfigError(f"{key}: expected a size of at most {INT64_MAX:,} bytes, was {value!r}", key=key)
    return int(n)


_LOTS = re.compile(r"^\s*(\d+)\s*lots?\s*$")
_DECIMAL = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*$")
_WITH_UNIT = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z][A-Za-z0-9]*)\s*$")
_AMOUNT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Za-z][A-Za-z0-9]*)\s*$")
#: the unit words a quantity may be written in besides the instrument's own (`hft.core.instrument.base_unit`)
_PLURALS = {"shares": "share", "contracts": "contract"}


class Quantity(NamedTuple):
    """A quantity written with its unit word (``"0.5 BTC"``, ``"100 shares"``): `amount` in `unit` (as written),
    checked against the instrument's unit when the instrument is known (`quantity_in_lots`)."""

    amount: Decimal
    unit: str


def parse_quantity(value: object, *, key: str = "quantity") -> int | Decimal | Quantity:
    """An order quantity as a config gives it: an integer is lots (``size: 1``, one lot, as it always was), and so
    is ``"3 lots"``; a decimal string is instrument units (``"0.001"``: 0.001 BTC, 100 shares as ``"100"``), and so
    is a decimal with the instrument's unit word (``"0.001 BTC"``, ``"100 shares"``), turned into lots by
    `quantity_in_lots` once the instrument is known.

    Returns:
        int lots, the `Decimal` quantity in instrument units, or the `Quantity` with its unit word.

    Raises:
        ConfigError: naming `key` when the value is none of these (a float, a negative number, no number).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        if m := _LOTS.match(value):
            return int(m.group(1))
        if _DECIMAL.match(value):
            return Decimal(value.strip())
        if m := _WITH_UNIT.match(value):
            return Quantity(Decimal(m.group(1)), m.group(2))
    raise ConfigError(f"{key}: expected lots (an integer, or a string like '3 lots') or a quantity in instrument "
                      f"units as a decimal string (like '0.001' or '0.001 BTC'), was {value!r}", key=key)


def lot_in_units(lot_size: str | Decimal, unit: str = "") -> str:
    """One lot as a quantity in instrument units: ``0.00001 BTC``, ``1 share``, ``100 shares``; the bare decimal
    when `unit` is not known (empty)."""
    lot = Decimal(lot_size).normalize()
    word = _PLURALS.get(unit, unit) if lot == 1 else unit
    return f"{lot:f} {word}".rstrip()


def quantity_in_lots(value: object, lot_size: str | Decimal, *, key: str = "quantity", symbol: str = "",
                     unit: str = "") -> int:
    """An order quantity as a config gives it (`parse_quantity`) in whole lots of `lot_size` (instrument units
    per lot; `symbol` and `unit`, the instrument's unit word as `hft.core.instrument.Instrument.unit` says it,
    name the lot in errors): an integer or ``"3 lots"`` as is, ``"0.001"`` and ``"0.001 BTC"`` exactly. A unit
    word is case-insensitive, ``share`` / ``contract`` as good as the plural; with `unit` empty (not known) none
    is accepted.

    Raises:
        ConfigError: naming `key`, the value and the lot when the value is not a quantity, names another unit or
            is not a whole number of lots.
    """
    qty = parse_quantity(value, key=key)
    if isinstance(qty, int):
        return qty
    lot = Decimal(lot_size).normalize()
    said = f"{lot_in_units(lot, unit)}{f' ({symbol})' if symbol else ''}"
    if isinstance(qty, Quantity):
        if not unit or qty.unit.lower() not in {unit.lower(), _PLURALS.get(unit, unit).lower()}:
            want = (f"a quantity in {unit}, lots or a plain decimal (one lot is {said})" if unit else
                    f"lots or a plain decimal, no unit word (none applies here; one lot is {said})")
            raise ConfigError(f"{key}: expected {want}, was {value!r}", key=key)
        qty = qty.amount
    lots, rem = divmod(qty, lot)
    if rem != 0:
        raise ConfigError(f"{key}: expected a whole number of lots of {said}, was {value!r}", key=key)
    return int(lots)


def parse_amount(value: object, *, key: str = "amount") -> tuple[Decimal, str]:
    """A currency amount ``"<decimal> <CURRENCY>"`` (``"5 USD"``, ``"0.5 USDT"``) as its exact decimal and
    currency code (upper case).

    Raises:
        ConfigError: naming `key` when the value is not one.
    """
    m = _AMOUNT.match(value) if isinstance(value, str) else None
    if m is None:
        raise ConfigError(f"{key}: expected a currency amount like '5 USD', was {value!r}", key=key)
    return Decimal(m.group(1)), m.group(2).upper()


def amount_in_units(value: object, unit: float | str | Decimal, currency: str, *, key: str = "amount") -> int:
    """A currency amount (`parse_amount`) as a whole number of money units of `unit` (one money unit's value in
    `currency`, as a run summary's ``money_unit`` states it: ``0.01`` for LOBSTER's USD).

    Raises:
        ConfigError: naming `key`, the value and the money unit when the currency is not `currency` or the amount
        is not a whole number of units.
    """
    amount, ccy = parse_amount(value, key=key)
    step = (Decimal(repr(unit)) if isinstance(unit, float) else Decimal(unit)).normalize()
    if ccy != currency.upper():
        raise ConfigError(f"{key}: expected an amount in {currency} (the money unit is {step:f} {currency}), "
                          f"was {value!r}", key=key)
    units, rem = divmod(amount, step)
    if rem != 0:
        raise ConfigError(f"{key}: expected a whole number of money units of {step:f} {currency}, was {value!r}",
                          key=key)
    return int(units)


def iso_time(ns: int, zone: tzinfo = UTC) -> str:
    """Nanoseconds since the epoch as an ISO 8601 time in `zone` (to the microsecond)."""
    return datetime.fromtimestamp(ns // 1_000_000_000, zone).replace(microsecond=(ns % 10**9) // 1000).isoformat()
