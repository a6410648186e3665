"""Instrument metadata that travels with every event array."""

from __future__ import annotations

import json
import re
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
        contract_size: linear: the contract multiplier (quote currency per unit of price x quantity, e.g. ``"50"``
            for a future worth 50 USD a point); inverse: the quote-currency value of one contract (Binance COIN-M
            BTCUSD_PERP: ``"100"`` USD). ``"1"`` for plain spot / linear perpetuals.
        kind: ``"linear"`` (PnL and fees in the quote currency: value = price x qty x contract_size) or
            ``"inverse"`` (coin-margined: PnL and fees in the settlement coin: value = qty x contract_size / price).
        settle_currency: the currency PnL and fees are counted in when it is not the quote currency (inverse:
            the base coin, e.g. ``"BTC"``); empty = `currency` (linear) or guessed from the symbol (inverse).
        min_qty: exchange filter, the smallest order quantity in instrument units (``"0"``: none beyond a lot).
        min_notional: exchange filter, the smallest order value in the quote currency (``"0"``: none).
        order_tick: exchange filter, the price step of orders when coarser than the data's tick (``""``: the tick).
        order_lot: exchange filter, the quantity step of orders when coarser than the data's lot (``""``: the lot).
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
    kind: str = "linear"
    settle_currency: str = ""
    min_qty: str = "0"
    min_notional: str = "0"
    order_tick: str = ""
    order_lot: str = ""

    def __post_init__(self) -> None:
        for name in ("tick_size", "lot_size", "contract_size", "order_tick", "order_lot"):
            value = getattr(self, name)
            if name.startswith("order_") and value == "":
                continue
            if not _decimal_ok(value, positive=True):
                raise DataValidationError(f"instrument {name}: expected a positive decimal string, was {value!r}",
                                          key=name, expected="a positive decimal string", found=value)
        for name in ("min_qty", "min_notional"):
            if not _decimal_ok(getattr(self, name), positive=False):
                raise DataValidationError(f"instrument {name}: expected a decimal string >= 0, "
                                          f"was {getattr(self, name)!r}", key=name,
                                          expected="a decimal string >= 0", found=getattr(self, name))
        for name, unit in (("order_tick", self.tick_size), ("order_lot", self.lot_size)):
            value = getattr(self, name)
            if value and Decimal(value) % Decimal(unit) != 0:
                raise DataValidationError(f"instrument {name}: expected a multiple of {unit}, was {value!r}",
                                          key=name, expected=f"a multiple of {unit}", found=value)
        if self.book_level not in ("L2", "L3"):
            raise DataValidationError(f"instrument book_level: expected 'L2' or 'L3', was {self.book_level!r}",
                                      key="book_level", expected="'L2' or 'L3'", found=self.book_level)
        if self.kind not in ("linear", "inverse"):
            raise DataValidationError(f"instrument kind: expected 'linear' or 'inverse', was {self.kind!r}",
                                      key="kind", expected="'linear' or 'inverse'", found=self.kind)

    @property
    def inverse(self) -> bool:
        """True for a coin-margined (inverse) contract: PnL and fees in the settlement coin."""
        return self.kind == "inverse"

    @property
    def settlement(self) -> str:
        """The currency PnL and fees are counted in: `settle_currency`, else the quote currency (linear) or the
        symbol's base coin (inverse: ``BTCUSD_PERP`` → ``BTC``)."""
        if self.settle_currency:
            return self.settle_currency
        if not self.inverse:
            return self.currency
        return base_asset(self.symbol, self.currency) or self.symbol.split("_")[0].upper()

    @property
    def unit(self) -> str:
        """What a quantity counts, the word a lot is said in (`base_unit`): ``"contracts"`` (inverse, or a
        contract multiplier), the base asset of a crypto pair (``"BTC"``), else ``"shares"``."""
        return base_unit(self.symbol, self.currency,
                         contracts=self.inverse or Decimal(self.contract_size) != 1)

    @property
    def tick(self) -> float:
        """Tick size as float (for display and research metrics only)."""
        return float(self.tick_size)

    @property
    def lot(self) -> float:
        """Lot size as float (for display and research metrics only)."""
        return float(self.lot_size)

    @property
    def contract(self) -> int | float:
        """Contract size as a number (an int when whole: ``"100"`` → 100), for summaries and display; the field
        stays the exact decimal string the accounting computes with."""
        d = Decimal(self.contract_size)
        return int(d) if d == d.to_integral_value() else float(d)

    def price_to_ticks(self, price: str | Decimal) -> int:
        """Exact decimal price → integer ticks; raises if the price is not a multiple of the tick."""
        ticks, rem = divmod(Decimal(price), Decimal(self.tick_size))
        if rem != 0:
            raise DataValidationError(f"price {price}: expected a multiple of tick {self.tick_size}")
        return int(ticks)

    def qty_to_lots(self, qty: str | Decimal) -> int:
        """Exact decimal quantity in instrument units (``"0.001"`` BTC, ``"100"`` shares) → integer lots; raises
        if the quantity is not a whole number of lots."""
        lots, rem = divmod(Decimal(qty), Decimal(self.lot_size))
        if rem != 0:
            raise DataValidationError(f"quantity {qty}: expected a multiple of lot {self.lot_size}",
                                      expected=f"a multiple of lot {self.lot_size}", found=str(qty))
        return int(lots)

    def to_json(self) -> str:
        """Sorted JSON of every field (the event files' ``hft.instrument`` metadata)."""
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


def base_asset(symbol: str, quote: str) -> str | None:
    """The asset a pair quoted in `quote` trades (``BTCUSDT``, ``BTC-USDT``, ``btc_usdt``, ``BTCUSD_PERP`` with
    quote ``USD`` → ``BTC``), None when the symbol does not name its quote currency (an equity's ``GOOG``)."""
    parts = re.split(r"[-_/:]", symbol.upper())
    q = quote.upper()
    if len(parts) > 1 and parts[1] == q and parts[0]:
        return parts[0]
    return parts[0][: -len(q)] if q and parts[0].endswith(q) and len(parts[0]) > len(q) else None


def base_unit(symbol: str, quote: str, *, contracts: bool = False) -> str:
    """The unit a quantity of `symbol` (quoted in `quote`) counts: ``"contracts"`` when `contracts`, else its
    base asset (`base_asset`: ``"BTC"`` for ``BTCUSDT``), else ``"shares"`` (a symbol that names no currency: an
    equity). A config writes quantities in it (``"0.5 BTC"``, ``"100 shares"``: `hft.core.units.quantity_in_lots`)."""
    if contracts:
        return "contracts"
    return base_asset(symbol, quote) or "shares"


def _decimal_ok(value: object, *, positive: bool) -> bool:
    try:
        d = Decimal(value)  # type: ignore[arg-type]
    except Exception:  # decimal.InvalidOperation and friends
        return False
    return d.is_finite() and (d > 0 if positive else d >= 0)
