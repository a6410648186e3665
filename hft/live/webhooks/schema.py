"""Webhook payload shapes and their normalisation into the canonical `SignalRecord` (hft.core.signal).

``generic`` sources post::

    {"instrument": "AAPL", "side": "buy" | "sell", "target": <lots>, "strength": 0..1, "horizon_s": <s>,
     "price": <ticks>, "ts_ms": <ms since the epoch>}

(``side`` or ``target`` required; unknown fields refused). ``tradingview`` sources post TradingView's alert JSON
(the usual template: ``{"ticker": "{{ticker}}", "action": "{{strategy.order.action}}", "contracts":
"{{strategy.order.contracts}}", "position_size": "{{strategy.position_size}}", "price": "{{close}}", "time":
"{{timenow}}"}``; numbers may arrive as strings; other fields are kept in the raw message only); the decimal
price becomes ticks by the source's ``tick_size`` (exactly: a price off the tick grid is refused, never rounded),
``position_size`` the target (whole lots).

A key repeated within an object (``{"target": 1, "target": 100}``) is refused naming it (``duplicate_key``),
by the rule every JSON body of the service is decoded by (`hft.live.jsonbody`).

Every integer of the record fits int64 (the gateway's and the bus readers'): a target, price or time beyond it is
refused naming the payload's field, never published.

A payload that fails is a `SchemaError` (field, reason, type): the webhook answers 422, and the raw payload goes
to ``signals.raw`` and ``signals.dead`` for review.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import msgspec

from hft.config.signals import SourceSpec
from hft.core.signal import SignalRecord
from hft.live import jsonbody as J

_INSTRUMENT = re.compile(r"^[A-Za-z0-9._:/-]{1,32}$")
I64_MAX = (1 << 63) - 1  # every integer of a record fits int64


class SchemaError(Exception):
    """A payload that does not fit its source's shape: `field`, `reason`, `type` (metric label)."""

    def __init__(self, field: str, reason: str, kind: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.kind = kind


class GenericSignal(msgspec.Struct, forbid_unknown_fields=True):
    instrument: str
    side: Literal["buy", "sell"] | None = None
    target: int | None = None
    strength: float = 1.0
    horizon_s: float = 0.0
    price: int | None = None
    ts_ms: int | None = None


Num = str | int | float | None


class TradingViewAlert(msgspec.Struct):
    ticker: str
    action: Literal["buy", "sell", "BUY", "SELL"]
    contracts: Num = None
    position_size: Num = None
    price: Num = None
    time: str | None = None
    strength: float = 1.0
    horizon_s: float = 0.0


_dec = {"generic": msgspec.json.Decoder(GenericSignal), "tradingview": msgspec.json.Decoder(TradingViewAlert)}


def _number(v: Num, field: str) -> float | None:
    if v is None or v == "":
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise SchemaError(field, f"expected a number, was {v!r}", "type") from None
    if x != x or x in (float("inf"), float("-inf")):
        raise SchemaError(field, f"expected a finite number, was {v!r}", "value")
    return x


def _int64(field: str, v: int, lo: int = -I64_MAX, hi: int = I64_MAX, what: str = "an integer") -> int:
    """`v` when ``lo <= v <= hi`` (int64 by default), else `SchemaError` naming `field`."""
    if not lo <= v <= hi:
        raise SchemaError(field, f"expected {what} in [{lo}, {hi}], was {v}", "value")
    return v


def _whole(v: Num, field: str) -> int | None:
    """A number of lots given as a JSON number or a string: a whole number within int64, or None if absent."""
    x = _number(v, field)
    if x is None:
        return None
    if x != int(x):
        raise SchemaError(field, f"expected whole lots, was {v!r}", "value")
    return _int64(field, int(x), what="lots")


def _ticks(v: Num, tick: float) -> int | None:
    """A decimal price (a JSON number or a string) as integer ticks of `tick`: positive, exactly on the grid (no
    rounding), within int64; None if absent."""
    x = _number(v, "price")
    if x is None:
        return None
    if x <= 0:
        raise SchemaError("price", f"expected a positive price, was {v!r}", "value")
    try:
        q = Decimal(str(v).strip()) / Decimal(str(tick))
    except InvalidOperation:
        raise SchemaError("price", f"expected a number, was {v!r}", "type") from None
    if q != q.to_integral_value():
        raise SchemaError("price", f"expected a multiple of the tick size {tick}, was {v!r}", "value")
    return _int64("price", int(q), 1, what="ticks")


def _common(src: SourceSpec, instrument: str, strength: float, horizon_s: float) -> None:
    if not _INSTRUMENT.match(instrument):
        raise SchemaError("instrument", f"expected 1-32 characters [A-Za-z0-9._:/-], was {instrument!r}", "value")
    if src.instruments and instrument not in src.instruments:
        raise SchemaError("instrument", f"expected one of {list(src.instruments)[:20]}, was {instrument!r}",
                          "instrument")
    if not 0.0 <= strength <= 1.0:
        raise SchemaError("strength", f"expected a number in [0, 1], was {strength}", "value")
    if not 0.0 <= horizon_s <= 366 * 86400:
        raise SchemaError("horizon_s", f"expected seconds in [0, 366 days], was {horizon_s}", "value")


def normalise(src: SourceSpec, body: bytes, corr_id: str, received_ns: int) -> SignalRecord:
    """The canonical record of a payload, or `SchemaError`."""
    try:
        p: Any = J.decode(_dec[src.kind], body)  # the service's one rule: types, unknown fields, repeated keys
    except J.BodyError as e:
        raise SchemaError(e.field, e.reason, e.kind) from None
    if src.kind == "generic":
        _common(src, p.instrument, p.strength, p.horizon_s)
        if p.side is None and p.target is None:
            raise SchemaError("side", "expected side (buy|sell) or target (lots)", "missing_field")
        if p.target is not None:
            _int64("target", p.target, what="lots")
        if p.price is not None:
            _int64("price", p.price, 1, what="a price in ticks")
        if p.ts_ms is not None:
            _int64("ts_ms", p.ts_ms, 1, I64_MAX // 1_000_000, "milliseconds since the epoch")
        side = {"buy": 1, "sell": -1}.get(p.side or "", 0)
        return SignalRecord(src.name, p.instrument, side, p.target, float(p.strength),
                            round(p.horizon_s * 1e9), p.price,
                            p.ts_ms * 1_000_000 if p.ts_ms is not None else received_ns, received_ns, corr_id)
    _common(src, p.ticker, p.strength, p.horizon_s)
    price = _ticks(p.price, src.tick_size)
    target = _whole(p.position_size, "position_size")
    _number(p.contracts, "contracts")
    ts = received_ns
    if p.time:
        try:
            dt = datetime.fromisoformat(p.time.replace("Z", "+00:00"))
        except ValueError:
            raise SchemaError("time", f"expected an ISO 8601 time, was {p.time!r}", "value") from None
        ts = _int64("time", int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp() * 1e9), 1,
                    what="ns since the epoch")
    return SignalRecord(src.name, p.ticker, 1 if p.action.lower() == "buy" else -1, target, float(p.strength),
                        round(p.horizon_s * 1e9), price, ts, received_ns, corr_id)
