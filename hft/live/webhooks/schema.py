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
from fractions import Fraction
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


class TradingViewAlert(msgspec.Struct):
    """TradingView's alert. Its numbers are kept as their raw JSON (a number or a string) and read exactly
    (`_decimal`): a binary float would round a price off the tick grid onto it."""

    ticker: str
    action: Literal["buy", "sell", "BUY", "SELL"]
    contracts: msgspec.Raw = msgspec.Raw()
    position_size: msgspec.Raw = msgspec.Raw()
    price: msgspec.Raw = msgspec.Raw()
    time: str | None = None
    strength: float = 1.0
    horizon_s: float = 0.0


_dec = {"generic": msgspec.json.Decoder(GenericSignal), "tradingview": msgspec.json.Decoder(TradingViewAlert)}
_str_dec = msgspec.json.Decoder(str)
MAX_NUMBER_CHARS = 64  # of a TradingView number: longer ones are refused before any arithmetic
MAX_EXPONENT = 40  # |decimal exponent| of a non-zero TradingView number: beyond 10^±40, refused


def _decimal(raw: msgspec.Raw, field: str) -> Decimal | None:
    """A TradingView number (a JSON number or a string holding one) as an exact `Decimal`; None if absent, null
    or an empty string. Bounded (`MAX_NUMBER_CHARS`, `MAX_EXPONENT`) so that exact arithmetic on it stays
    small; anything else is a `SchemaError` naming `field`."""
    b = bytes(raw)
    if not b or b == b"null":
        return None
    if b[0] == 0x22:  # '"': a string holding the number
        try:
            text = _str_dec.decode(b).strip()
        except (UnicodeDecodeError, msgspec.DecodeError):  # invalid UTF-8: msgspec < 0.23 / 0.23's error
            raise SchemaError(field, "expected UTF-8 text", "type") from None
        if not text:
            return None
    elif b[0] in b"-0123456789":  # a JSON number, as written
        text = b.decode("ascii")
    else:
        raise SchemaError(field, f"expected a number, was {b[:20].decode('utf-8', 'replace')}", "type")
    if not text.isascii():  # Decimal() reads other scripts' digits too
        raise SchemaError(field, f"expected a number in ASCII digits, was {text[:20]!r}", "type")
    if len(text) > MAX_NUMBER_CHARS:
        raise SchemaError(field, f"expected a number of at most {MAX_NUMBER_CHARS} characters, was {len(text)}",
                          "value")
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise SchemaError(field, f"expected a number, was {text!r}", "type") from None
    if not d.is_finite():
        raise SchemaError(field, f"expected a finite number, was {text!r}", "value")
    if d and abs(d.adjusted()) > MAX_EXPONENT:
        raise SchemaError(field, f"expected a number within 1e-{MAX_EXPONENT} to 1e{MAX_EXPONENT}, was {text!r}",
                          "value")
    return d


def _int64(field: str, v: int, lo: int = -I64_MAX, hi: int = I64_MAX, what: str = "an integer") -> int:
    """`v` when ``lo <= v <= hi`` (int64 by default), else `SchemaError` naming `field`."""
    if not lo <= v <= hi:
        raise SchemaError(field, f"expected {what} in [{lo}, {hi}], was {v}", "value")
    return v


def _whole(raw: msgspec.Raw, field: str) -> int | None:
    """A number of lots given as a JSON number or a string: a whole number within int64, or None if absent."""
    d = _decimal(raw, field)
    if d is None:
        return None
    q = Fraction(d)
    if q.denominator != 1:
        raise SchemaError(field, f"expected whole lots, was {d}", "value")
    return _int64(field, int(q), what="lots")


def _ticks(raw: msgspec.Raw, tick: float) -> int | None:
    """A decimal price (a JSON number or a string) as integer ticks of `tick`: positive, exactly on the grid
    (exact fractions: no rounding, not even Decimal's 28-digit context's), within int64; None if absent."""
    d = _decimal(raw, "price")
    if d is None:
        return None
    if d <= 0:
        raise SchemaError("price", f"expected a positive price, was {d}", "value")
    q = Fraction(d) / Fraction(Decimal(str(tick)))
    if q.denominator != 1:
        raise SchemaError("price", f"expected a multiple of the tick size {tick}, was {d}", "value")
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
    _decimal(p.contracts, "contracts")
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
