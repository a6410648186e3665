"""Instrument metadata that travels with every event array."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any

from hft.core.errors import DataValidationError


@dataclass(frozen=True, slots=True)
class Instrument:
    """Static description of one instrument, enough to turn integer ticks / lots back into money.

    Attributes:
        symbol: venue symbol, e.g. ``"AAPL"`` or ``"BTCUSDT"``.
        venue: ``"NASDAQ"``, ``"BINANCE_SPOT"``, ``"BINANCE_USDM"``, ``"BINANCE_CM"``, ``"SYNTH"``.
        tick_size: price of one tick, as a decimal string (exact), e.g. ``"0.01"``.
        lot_size: quantity of one lot, as a decimal string, e.g. ``"1"`` or ``"0.001"``.
        price_scale: source price units per currency unit (LOBSTER: 10000); informational.
        currency: quote currency, e.g. ``"USD"``.
        timezone: the venue's session timezone (IANA), e.g. ``"America/New_York"``.
        book_level: ``"L3"`` (market-by-order) or ``"L2"`` (price levels).
        contract_size: quote-currency value of one unit for inverse contracts (Binance CM), else ``"1"``.
    """

    symbol: str
    venue: str
    tick_size: str
    lot_size: str
    price_scale: int = 1
    currency: str = "USD"
    timezone: str = "UTC"
    book_level: str = "L2"
    contract_size: str = "1"

    def __post_init__(self) -> None:
        for name in ("tick_size", "lot_size", "contract_size"):
            value = getattr(self, name)
            try:
                ok = Decimal(value) > 0
            except Exception:  # decimal.InvalidOperation and friends
                ok = False
            if not ok:
                raise DataValidationError(f"instrument {name}: expected a positive decimal string, was {value!r}")
        if self.book_level not in ("L2", "L3"):
            raise DataValidationError(f"instrument book_level: expected 'L2' or 'L3', was {self.book_level!r}")

    @property
    def tick(self) -> float:
        """Tick size as float (for display and research metrics only)."""
        return float(self.tick_size)

    @property
    def lot(self) -> float:
        """Lot size as float (for display and research metrics only)."""
        return float(self.lot_size)

    def price_to_ticks(self, price: str | Decimal) -> int:
        """Exact decimal price → integer ticks; raises if the price is not a multiple of the tick."""
        ticks, rem = divmod(Decimal(price), Decimal(self.tick_size))
        if rem != 0:
            raise DataValidationError(f"price {price}: expected a multiple of tick {self.tick_size}")
        return int(ticks)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Instrument:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise DataValidationError(f"instrument metadata: unknown keys {sorted(unknown)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> Instrument:
        return cls.from_dict(json.loads(text))
