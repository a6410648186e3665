"""Strict gateway configuration: ``config/gateway.yaml`` → frozen `GatewayConfig`.

Environment overrides (applied after the file, each validated; a bad value is a `ConfigError` naming it):

- ``HFT_GATEWAY_ENABLED``: ``1/0/true/false/yes/no`` → ``enabled``
- ``HFT_EXPOSURE_MAX_SYMBOLS``: positive int → ``capacity.exposure_max_symbols``
- ``HFT_DEDUP_TTL_S``: non-negative number of seconds → ``dedup.ttl``
- ``HFT_GATEWAY_HOST`` / ``HFT_GATEWAY_PORT`` → ``server.host`` / ``server.port`` (`hft gateway serve`)
- ``HFT_JWT_SECRET`` (at least 32 characters) → ``server.jwt_secret``
- ``HFT_GATEWAY_WAL_DIR`` → ``server.wal_dir``; ``HFT_GATEWAY_FSYNC`` (batch|interval|never) → ``server.fsync``

Money limits are integer *money units* of the symbol's money factor (`hft.gateway.kernels.money`): on a linear
symbol ``price_ticks * qty_lots * multiplier`` (``multiplier`` per symbol); on an inverse (coin-margined) symbol,
given ``inverse_factor: K``, ``qty_lots * K / price_ticks`` units of the settlement coin — the units its PnL and
fees are in. So ``max_order_notional``, ``max_notional`` and ``min_notional`` are coin values at the order's price
(the mark for ``max_notional``) and ``daily_loss`` a coin loss (docs/gateway.md, "Inverse instruments").
A limit set to ``null`` means unlimited; a limit absent at a level inherits. The effective limit of an
(account, strategy, symbol) is the tightest one set at any of the three levels (a minimum's largest, a maximum's
smallest), else the default.
This module imports no numba; yaml only when reading a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from hft.config.signals import SignalsConfig, parse_signals
from hft.config.strict import Section, load_yaml
from hft.core.errors import ConfigError
from hft.core.instrument import base_unit
from hft.core.orders import ORDER_TYPE_NAMES, TIF_NAMES
from hft.core.units import amount_in_units, lot_in_units, parse_amount, parse_quantity, quantity_in_lots
from hft.gateway.limits import LIMITS, PPM, Limit, names_in_scope

UNLIMITED = (1 << 63) - 1

# which limits each level takes: the scopes of the one limit table (hft/gateway/limits.py)
ORDER_LIMITS = names_in_scope("order")
_FLOORS = {lim.name: lim.floor for lim in LIMITS}  # a minimum's tightest is its largest value
STRATEGY_SCOPES = ("order", "strategy", "loss", "budget")  # strategies
DEFAULT_SCOPES = (*STRATEGY_SCOPES, "account", "margin")  # limits.defaults: every level's, cash and margin rate too
ACCOUNT_SCOPES = ("order", "loss", "budget", "account")
SYMBOL_SCOPES = ("order", "margin")


@dataclass(frozen=True)
class Rate:
    """At most `count` events per `window_ns` (token bucket on the injected clock)."""

    count: int
    window_ns: int


#: a rate limit: one window, or several enforced together (shortest first: ``(Rate(100, 1s), Rate(1000, 60s))``)
Rates = Rate | tuple[Rate, ...]


def rate_windows(v: Rates) -> tuple[Rate, ...]:
    """The windows of a rate limit, shortest first (one `Rate` is one window)."""
    return v if isinstance(v, tuple) else (v,)


def rate_value(v: Rates) -> Any:
    """A rate limit as `limit_tables` shows it: None (unlimited), ``{count, window_ns}`` for one window, a list of
    them (shortest first) for several."""
    ws = [{"count": r.count, "window_ns": r.window_ns} for r in rate_windows(v) if r.count != UNLIMITED]
    return None if not ws else ws[0] if len(ws) == 1 else ws


@dataclass(frozen=True)
class LimitSet:
    """Limits at one level. None = not set here (inherit); UNLIMITED = explicitly unlimited."""

    max_order_qty: int | None = None
    max_order_notional: int | None = None
    max_position: int | None = None
    max_long: int | None = None
    max_short: int | None = None
    max_notional: int | None = None
    min_qty: int | None = None
    price_band_bps: int | None = None
    daily_loss: int | None = None
    submit_rate: Rates | None = None
    cancel_rate: Rates | None = None
    max_repeats: int | None = None
    repeat_window_ns: int | None = None
    cash: int | None = None  # money units an account may commit (buying power; None: no margin check)
    margin_rate: int | None = None  # millionths (PPM) of a position's value held as margin; default 1.0

    def as_dict(self) -> dict[str, Any]:
        return {lim.name: table_value(lim, v) for lim in LIMITS if (v := getattr(self, lim.name)) is not None}


def table_value(lim: Limit, v: Any) -> Any:
    """A `LimitSet` field's value as `limit_tables` shows it: None for unlimited, a rate's `rate_value`, a
    fraction as a float (whose shortest repr is its exact millionths: 0.2, 0.125)."""
    if lim.kind == "rate":
        return rate_value(v)
    if lim.kind == "fraction":
        return v / PPM
    return None if v == UNLIMITED else v


# the table and the dataclass name the same limits (a limit added to one only fails here, at import)
if tuple(f.name for f in fields(LimitSet)) != tuple(lim.name for lim in LIMITS):
    raise RuntimeError("hft.gateway.config: LimitSet's fields differ from the limit table (hft.gateway.limits)")


@dataclass(frozen=True)
class SymbolUnits:
    """What one lot and one money unit of a symbol are: `lot_size` instrument units per lot, `money_unit` of
    `currency` per money unit. With them a limit written in instrument units (``"0.5"``) or as a currency amount
    (``"500 USD"``) becomes exact integer lots / money units (`limit_in_units`)."""

    symbol: str
    lot_size: Decimal
    money_unit: Decimal
    currency: str
    #: what a quantity counts (`hft.core.instrument.base_unit`: ``"BTC"``, ``"shares"``, ``"contracts"``);
    #: empty where symbols sharing a lot count different things (`common_units`)
    unit: str = ""

    def describe(self, n: int, unit: str) -> str:
        """``100 lots (0.0001 BTC)`` / ``500 money units (5 USD)``: `n` with what it is worth."""
        if unit == "lots":
            return f"{n} lots ({(n * self.lot_size).normalize():f} {self.unit or self.symbol})"
        return f"{n} money units ({(n * self.money_unit).normalize():f} {self.currency})"


#: `check_limit_defaults`' mode: a limit in instrument units or currency is checked for its form only (the
#: instrument, known later, converts it: `limits_in_units`)
FORM_ONLY = "form only"


@dataclass(frozen=True)
class SymbolSpec:
    """A tradable symbol: integer tick / lot multiples (in the instrument's ticks / lots), its money factor
    ``multiplier`` (> 0: linear, the multiplier; ``-K`` < 0: inverse, from ``inverse_factor: K``;
    `hft.gateway.kernels.money`), and the exchange's minimum order value ``min_notional`` in money units (0: none;
    reason ``MIN_NOTIONAL``)."""

    name: str
    tick_multiple: int = 1
    lot_multiple: int = 1
    multiplier: int = 1
    limits: LimitSet = field(default_factory=LimitSet)
    min_notional: int = 0
    units: SymbolUnits | None = None  # lot_size and money_unit, when the config declares them


@dataclass(frozen=True)
class StormConfig:
    """StormGuard: automatic triggers and recovery."""

    cooldown_ns: int = 30_000_000_000
    market_move_bps: int = 0  # 0 disables the market-move trigger
    market_move_window_ns: int = 1_000_000_000
    loss_level: str = "HALT"  # level a daily-loss breach moves to
    position_level: str = "DEGRADED"
    market_move_level: str = "DEGRADED"
    loss_auto_recover: bool = False  # a loss breach latches until reset() unless true
    cancel_on_trip: bool = True  # a stricter mode (trip, kill) cancels every working order
    flatten_on_halt: bool = False  # a trip to HALT also closes open positions (hft.gateway.flatten)


@dataclass(frozen=True)
class IngressConfig:
    """Queue-pressure control of the live service's intake channel (`hft gateway serve`).

    Utilisation = queued / capacity of the intake channel, in percent. At or above `soft_reject_pct` new intents
    get 429 SOFT_REJECT; at or above `kill_pct` (or a full / closed channel) the kill switch trips (503 KILLED,
    working orders cancelled). With `auto_recover` the kill clears once utilisation stayed at or below
    `recover_pct` for `recover_after_ns`; otherwise it latches until an operator resets it."""

    soft_reject_pct: float = 85.0
    kill_pct: float = 95.0
    recover_pct: float = 50.0
    recover_after_ns: int = 5_000_000_000
    auto_recover: bool = True
    max_batch: int = 256  # intents decided per turn of the writer loop
    max_body_bytes: int = 16384


@dataclass(frozen=True)
class ServerConfig:
    """The live service's listener, authentication and WAL (``server:``; env overrides below)."""

    host: str = "127.0.0.1"
    port: int = 8080
    jwt_secret: str | None = None
    jwt_leeway_s: float = 5.0
    wal_dir: str | None = None  # default $HFT_HOME/wal/gateway-live
    fsync: str = "interval"  # batch | interval | never (hft.recorder.wal_first)
    fsync_interval_ns: int = 200_000_000
    wal_segment_bytes: int = 64 << 20  # the WAL starts a new segment file past this size
    snapshot_every: int = 1_000_000  # WAL records between state snapshots (hft.live.snapshot); 0: start/stop only
    snapshot_fork_orders: int = 50_000  # order views from which those are written by a forked child (no pause)
    snapshot_rest: float = 3.0  # after a forked snapshot, none for so many times its duration (coalesced)
    order_view_retention: int = 1_000_000  # most recent order ids whose views GET /orders keeps once terminal; 0: all
    max_connections: int = 1000  # open client connections, HTTP and TCP together (hft.live.connections)
    auth_timeout_ns: int = 10_000_000_000  # TCP: HELLO verified within this of the connect
    header_timeout_ns: int = 10_000_000_000  # HTTP: a request's line and headers within this of its first byte
    body_timeout_ns: int = 30_000_000_000  # HTTP: its body within this of its headers
    keep_alive_timeout_ns: int = 30_000_000_000  # HTTP: a connection with no request begun or running
    # a clean stop (SIGTERM / Ctrl-C) cancels the working orders at the venue (control:cancel_all, cause
    # "shutdown"): no risk check, kill switch or session close watches them while the service is down
    cancel_on_shutdown: bool = True
    # TLS on the HTTP and TCP listeners (`hft.live.tls`): PEM certificate chain and key; with a client CA, mutual
    # TLS (a client without a certificate it signed is refused in the handshake). None: plain TCP
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None
    jwt_max_lifetime_ns: int | None = None  # a token whose exp - iat is longer is refused (401); None: no cap
    metrics_auth: bool = False  # /metrics and /health's detail need a token (a bare liveness answer stays open)


@dataclass(frozen=True)
class VenueConfig:
    """The venue adapter the live service sends its orders to (``venue:``; `hft.live.venue`): a registered name
    (``loopback``, ``paper``, an installed package's), ``module:factory`` or ``FILE.py:factory``, and the options
    its factory takes. ``venue: NAME`` is ``venue: {adapter: NAME}``."""

    adapter: str = "loopback"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionSpec:
    """A daily trading session (``sessions.<name>``): `open_s` and `close_s` are seconds after local midnight in
    the IANA zone `time_zone` (a close before the open: the session spans midnight; equal: a 24-hour session,
    the close at the same instant as the next open). At the close the DAY orders
    of its symbols are cancelled; at the open of the ``default`` session the trading day rolls (daily PnL to
    zero). `hft.live.calendar` computes the boundaries."""

    open_s: int
    close_s: int
    time_zone: str


@dataclass(frozen=True)
class GatewayConfig:
    """Effective gateway configuration (after env overrides)."""

    enabled: bool = True
    max_accounts: int = 64
    max_strategies: int = 256
    max_symbols: int = 16384
    exposure_max_symbols: int = 10000
    max_working_orders: int = 65536
    dedup_capacity: int = 1_000_000
    dedup_ttl_ns: int = 300_000_000_000
    dedup_persist_path: str | None = None
    order_types: tuple[str, ...] = ("limit", "market", "post_only")
    tifs: tuple[str, ...] = ("gtc", "ioc", "fok", "day")
    require_reference_price: bool = False
    self_match_prevention: bool = True
    risk_checks: tuple = ()  # hft.gateway.risk_checks.ConfiguredRiskCheck, run after the built-in risk checks
    defaults: LimitSet = field(default_factory=lambda: LimitSet(min_qty=1))
    accounts: Mapping[str, LimitSet] = field(default_factory=dict)
    strategies: Mapping[str, LimitSet] = field(default_factory=dict)
    symbols: Mapping[str, SymbolSpec] = field(default_factory=dict)
    allow_unlisted_symbols: bool = False
    storm: StormConfig = field(default_factory=StormConfig)
    channel_capacity: int = 65536
    timing: str = "dispatch"  # off | dispatch | stages
    ingress: IngressConfig = field(default_factory=IngressConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    venue: VenueConfig = field(default_factory=VenueConfig)
    signals: SignalsConfig = field(default_factory=SignalsConfig)  # webhooks, bus, HA (hft.config.signals)
    # trading sessions of the live service: "default" and symbol names (none: no day roll, no DAY expiry)
    sessions: Mapping[str, SessionSpec] = field(default_factory=dict)
    source: str = "<defaults>"

    def with_overrides(self, **kw: Any) -> GatewayConfig:
        return replace(self, **kw)


_ORDER_TYPES = tuple(ORDER_TYPE_NAMES.values())
_TIFS = tuple(TIF_NAMES.values())
_LEVELS = ("NORMAL", "DEGRADED", "HALT")


_LEAST = {0: "a non-negative integer", 1: "a positive integer"}  # what a limit's `least` reads as


def _limit_value(sec: Section, lim: Limit, units: SymbolUnits | str | None = None) -> int | None:
    """An ``int`` limit: None when absent (inherit), UNLIMITED for ``null``, else an integer >= `lim.least` (the
    limit table's `Limit.least`); anything else is a one-line `ConfigError` naming the file and key path.
    A lots / money limit may also be written in instrument units or as a currency amount (`limit_in_units`,
    with `units`; `FORM_ONLY`: checked for its form, None returned)."""
    key, least = lim.key, lim.least
    v = sec.raw(key, None)  # read even when absent: a known key (for the unknown-key message)
    if not sec.has(key):
        return None
    if v is None:
        return UNLIMITED
    if isinstance(v, str) and lim.unit:
        n = limit_in_units(sec, lim, v, units)
        if n is None:
            return None
    elif not isinstance(v, bool) and isinstance(v, int):
        n = v
    else:
        n = None
    if n is None or n < least:
        lot = (f"; one lot is {lot_in_units(units.lot_size, units.unit)} ({units.symbol})"
               if lim.unit == "lots" and isinstance(units, SymbolUnits) else "")
        sec.fail(sec.key(key), f"{_LEAST.get(least, f'an integer >= {least}')}{_FORMS.get(lim.unit, '')} or null "
                 f"(unlimited){lot}", v)
    return n


#: the other forms a lots / money limit takes (`limit_in_units`), for its error message
_FORMS = {"lots": " (lots), a quantity like '3 lots', '0.5' or '0.5 BTC' (instrument units)",
          "money": " (money units), a currency amount like '500 USD'"}


def limit_in_units(sec: Section, lim: Limit, value: str, units: SymbolUnits | str | None) -> int | None:
    """A lots / money limit written as a string, in integer lots / money units of `units`: ``"3 lots"`` → 3,
    ``"0.5"`` (instrument units) → exact lots of ``units.lot_size``, ``"500 USD"`` → exact money units of
    ``units.money_unit`` (`hft.core.units`). `units` `FORM_ONLY`: the form is checked and None returned.

    Raises:
        ConfigError: one line naming the file and key: a malformed value, a quantity that is no whole number of
            lots (naming the lot), an amount in another currency (naming both) or no whole number of money units,
            or a value in instrument units / currency where the symbols' units are not known (`units` None).
    """
    key = sec.key(lim.key)
    try:
        if lim.unit == "lots":
            qty = parse_quantity(value, key=key)
            if isinstance(qty, int):
                return qty
        else:
            parse_amount(value, key=key)
        if units == FORM_ONLY:
            return None
        if not isinstance(units, SymbolUnits):
            need = "lot_size" if lim.unit == "lots" else "money_unit"
            plain = "lots (an integer, or like '3 lots')" if lim.unit == "lots" else "money units (an integer)"
            sec.fail(key, f"{plain}: a value in {'instrument units' if lim.unit == 'lots' else 'currency'} needs "
                     f"the symbols' {need}, one for every symbol this level covers (symbols.<name>.{need}; no "
                     f"allow_unlisted_symbols)", value)
        if lim.unit == "lots":
            return quantity_in_lots(value, units.lot_size, key=key, symbol=units.symbol, unit=units.unit)
        return amount_in_units(value, units.money_unit, units.currency, key=key)
    except ConfigError as exc:
        if exc.message.startswith(f"{sec.file}: "):
            raise
        raise ConfigError(f"{sec.file}: key '{key}': {exc.message.removeprefix(f'{key}: ')}", file=sec.file,
                          key=key) from None


def _rate(sec: Section, lim: Limit) -> Rates | None:
    """A rate limit: ``{count, per}``, or a list of up to ``lim.windows`` of them (windows of different lengths,
    enforced together; kept shortest first), or ``null`` (unlimited)."""
    key = lim.key
    v = sec.raw(key, None)
    if v is None:  # read even when absent: a known key (for the unknown-key message)
        if not sec.has(key):
            return None
        return Rate(UNLIMITED, 1)
    if not isinstance(v, list):
        return _one_rate(sec.section(key))
    if not 1 <= len(v) <= lim.windows:
        sec.fail(sec.key(key), f"{{count, per}} or a list of 1 to {lim.windows} of them (windows enforced "
                 "together), or null (unlimited)", v)
    rates = tuple(sorted((_one_rate(Section(x, sec.file, f"{sec.key(key)}[{i}]")) for i, x in enumerate(v)),
                         key=lambda r: r.window_ns))
    if len({r.window_ns for r in rates}) != len(rates):
        sec.fail(sec.key(key), "windows of different lengths (per)", v)
    return rates[0] if len(rates) == 1 else rates


def _one_rate(r: Section) -> Rate:
    count = r.int("count", min_value=0)
    window = r.duration_ns("per")
    if window <= 0:
        r.fail(r.key("per"), "a positive duration", r.raw("per"))
    if count * window >= 1 << 62:
        r.fail(r.key("count"), "count * per (ns) below 2**62", count)
    r.done()
    return Rate(count, window)


def fraction_ppm(v: Any) -> int | None:
    """A fraction from 0 to 1 (``0.2``, ``"0.2"``, ``"20%"``) in exact millionths (`PPM`), else None (another
    type, out of range, or finer than a millionth)."""
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        return None
    text = str(v).strip()
    pct = text.endswith("%")
    try:
        d = Decimal(text.removesuffix("%").strip()) / (100 if pct else 1) * PPM
    except ArithmeticError:
        return None
    if not d.is_finite() or d != d.to_integral_value() or not 0 <= d <= PPM:
        return None
    return int(d)


def _fraction(sec: Section, lim: Limit) -> int | None:
    """A ``fraction`` limit: None when absent (inherit), else exact millionths (`fraction_ppm`); ``null`` or
    anything else is a one-line `ConfigError` naming the key."""
    v = sec.raw(lim.key, None)  # read even when absent: a known key (for the unknown-key message)
    if not sec.has(lim.key):
        return None
    n = fraction_ppm(v)
    if n is None:
        sec.fail(sec.key(lim.key), "a fraction from 0 to 1 in whole millionths, like 0.2 or '20%'", v)
    return n


def _limits(sec: Section, scopes: tuple[str, ...], units: SymbolUnits | str | None = None) -> LimitSet:
    """The limits of `scopes` a level sets (the table's parsers by kind); a key of another scope is unknown.
    `units`: the level's symbol units (`_limit_value`)."""
    kw: dict[str, Any] = {}
    for lim in LIMITS:
        if lim.scope not in scopes:
            continue
        if lim.kind == "rate":
            kw[lim.name] = _rate(sec, lim)
        elif lim.kind == "fraction":
            kw[lim.name] = _fraction(sec, lim)
        elif lim.kind == "duration":
            # absent: raw's None, the key read all the same (a known key for the unknown-key message)
            kw[lim.name] = sec.duration_ns(lim.key) if sec.has(lim.key) else sec.raw(lim.key, None)
        else:
            kw[lim.name] = _limit_value(sec, lim, units)
    return LimitSet(**kw)


def check_limit_defaults(sec: Section) -> LimitSet:
    """`sec` read as a ``limits.defaults`` level, strictly (a simulator's ``limits:`` section is one): errors
    name `sec`'s own file and key path. A limit in instrument units or currency is checked for its form (and left
    unset in the result): the instrument converts it when it is known (`limits_in_units`)."""
    out = _limits(sec, DEFAULT_SCOPES, FORM_ONLY)
    sec.done()
    _min_within_max(sec, out.min_qty, out.max_order_qty)
    return out


def _min_within_max(sec: Section, lo: int | None, hi: int | None) -> None:
    """One level's ``min_qty`` within its ``max_order_qty`` (`_check_min_below_max` checks a whole config)."""
    if lo is not None and hi is not None and hi != UNLIMITED and lo > hi:
        sec.fail(sec.key("min_qty"), f"min_qty <= max_order_qty ({hi} lots)", sec.raw("min_qty"))


def limits_in_units(sec: Section, units: SymbolUnits | None) -> dict[str, Any]:
    """`sec` (a ``limits.defaults`` level, as `check_limit_defaults` takes it) with every lots / money limit in
    integer lots / money units of `units` (the instrument's; None: the instruments' differ, so only integers and
    ``"3 lots"`` are accepted). Errors name `sec`'s file and key path (`limit_in_units`)."""
    out = dict(sec.data)
    for lim in LIMITS:
        v = out.get(lim.key)
        if lim.unit and isinstance(v, str):
            out[lim.key] = limit_in_units(sec, lim, v, units)
    lo, hi = out.get("min_qty"), out.get("max_order_qty")
    _min_within_max(sec, lo if isinstance(lo, int) else None, hi if isinstance(hi, int) else None)
    return out


def _symbol(name: str, data: Any, file: str, path: str) -> SymbolSpec:
    sec = Section({} if data is None else data, file, path)
    tick = sec.int("tick_multiple", 1, min_value=1)
    lot = sec.int("lot_multiple", 1, min_value=1)
    mult = sec.int("multiplier", 1, min_value=1)
    inverse = sec.int("inverse_factor", 0, min_value=1) if sec.has("inverse_factor") else 0
    if inverse and sec.has("multiplier"):
        sec.fail("inverse_factor", "either multiplier (linear) or inverse_factor (inverse), not both", inverse)
    if inverse:
        mult = -inverse  # the money factor of an inverse symbol (hft.gateway.kernels.money)
    units = _symbol_units(sec, name, contracts=bool(inverse))
    lim = _limits(sec, SYMBOL_SCOPES, units)
    # the exchange's minimum order value: money units, or a currency amount like a money limit
    min_notional = (_limit_value(sec, _MIN_NOTIONAL, units) if isinstance(sec.raw("min_notional", 0), str)
                    else sec.int("min_notional", 0, min_value=0))
    sec.done()
    return SymbolSpec(name, tick, lot, mult, lim, min_notional, units)


_MIN_NOTIONAL = Limit("min_notional", "min_notional", "int", "order", (), "min notional", unit="money")


def _symbol_units(sec: Section, name: str, *, contracts: bool = False) -> SymbolUnits | None:
    """A symbol's ``lot_size`` (instrument units per lot, a decimal string) and ``money_unit`` (one money unit as
    a currency amount, ``"0.0001 USD"``): both or neither. Its quantities count `base_unit` of the name and the
    money unit's currency (contracts for an inverse symbol, `contracts`)."""
    lot, money = sec.raw("lot_size", None), sec.raw("money_unit", None)
    if lot is None and money is None:
        return None
    if lot is None or money is None:
        missing = "lot_size" if lot is None else "money_unit"
        sec.fail(sec.key(missing), "lot_size and money_unit together (a symbol's units)", None)
    q = parse_quantity(lot, key=sec.key("lot_size")) if isinstance(lot, str) else None
    if not isinstance(q, Decimal) or q <= 0:
        sec.fail(sec.key("lot_size"), "instrument units per lot as a decimal string like '0.00001'", lot)
    try:
        amount, ccy = parse_amount(money, key=sec.key("money_unit"))
    except ConfigError:
        amount, ccy = Decimal(0), ""
    if amount <= 0:
        sec.fail(sec.key("money_unit"), "one money unit as a currency amount like '0.0001 USD'", money)
    return SymbolUnits(name, q, amount, ccy, base_unit(name, ccy, contracts=contracts))


def common_units(units: list[SymbolUnits | None]) -> SymbolUnits | None:
    """The units every one of `units` shares (the symbol named is the first's), else None; their `unit` empty
    when they count different things (BTCUSDT and ETHUSDT: one lot and money unit, no one unit word)."""
    first = units[0] if units else None
    if first is None or any(u is None or (u.lot_size, u.money_unit, u.currency) !=
                            (first.lot_size, first.money_unit, first.currency) for u in units):
        return None
    return first if all(u is not None and u.unit == first.unit for u in units) else replace(first, unit="")


def _names(sec: Section, key: str) -> tuple[str, ...]:
    v = sec.raw(key, ...)
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        sec.fail(sec.key(key), "a list of strings", v)
    return tuple(v)


def _opt_section(root: Section, key: str) -> Section:
    """An optional mapping section; an empty YAML value (``key:``) counts as ``{}``."""
    v = root.raw(key, {})
    return Section({} if v is None else v, root.file, root.key(key))


def parse_config(data: Mapping[str, Any], file: str | Path | None = None) -> GatewayConfig:
    """Validate a parsed mapping (the YAML document) into a `GatewayConfig` (no env overrides)."""
    f = str(file) if file is not None else "<config>"
    root = Section(data, f)
    d = GatewayConfig()
    enabled = root.bool("enabled", d.enabled)

    cap = _opt_section(root, "capacity")
    max_accounts = cap.int("max_accounts", d.max_accounts, min_value=1)
    max_strategies = cap.int("max_strategies", d.max_strategies, min_value=1)
    max_symbols = cap.int("max_symbols", d.max_symbols, min_value=1)
    exposure_max = cap.int("exposure_max_symbols", d.exposure_max_symbols, min_value=1)
    max_working = cap.int("max_working_orders", d.max_working_orders, min_value=2)
    channel_capacity = cap.int("channel_capacity", d.channel_capacity, min_value=1)
    cap.done()
    if max_accounts * max_strategies * max_symbols >= 1 << 62:
        root.fail("capacity", "max_accounts * max_strategies * max_symbols below 2**62", None)

    dd = _opt_section(root, "dedup")
    dedup_capacity = dd.int("capacity", d.dedup_capacity, min_value=0)
    ttl = dd.duration_ns("ttl", "300s")
    persist = dd.raw("persist_path", None)
    if persist is not None and not isinstance(persist, str):
        dd.fail(dd.key("persist_path"), "a file path string or null", persist)
    dd.done()

    risk = _opt_section(root, "risk")
    otypes = _names(risk, "order_types") if risk.has("order_types") else d.order_types
    for o in otypes:
        if o not in _ORDER_TYPES:
            risk.fail(risk.key("order_types"), f"names from {list(_ORDER_TYPES)}", o)
    tifs = _names(risk, "tifs") if risk.has("tifs") else d.tifs
    for t in tifs:
        if t not in _TIFS:
            risk.fail(risk.key("tifs"), f"names from {list(_TIFS)}", t)
    require_ref = risk.bool("require_reference_price", d.require_reference_price)
    smp = risk.bool("self_match_prevention", d.self_match_prevention)
    checks_raw = risk.raw("checks", None)
    risk.done()
    risk_checks: tuple = ()
    if checks_raw is not None:
        # lazy: resolving a check loads the user's file and compiles numba; a config without checks never does
        from hft.gateway.risk_checks import parse_checks

        risk_checks = parse_checks(checks_raw, f)

    storm_s = _opt_section(root, "storm")
    sd = StormConfig()
    storm = StormConfig(
        cooldown_ns=storm_s.duration_ns("cooldown", sd.cooldown_ns),
        market_move_bps=storm_s.int("market_move_bps", sd.market_move_bps, min_value=0),
        market_move_window_ns=storm_s.duration_ns("market_move_window", sd.market_move_window_ns),
        loss_level=storm_s.str("loss_level", sd.loss_level, choices=_LEVELS[1:]),
        position_level=storm_s.str("position_level", sd.position_level, choices=_LEVELS),
        market_move_level=storm_s.str("market_move_level", sd.market_move_level, choices=_LEVELS),
        loss_auto_recover=storm_s.bool("loss_auto_recover", sd.loss_auto_recover),
        cancel_on_trip=storm_s.bool("cancel_on_trip", sd.cancel_on_trip),
        flatten_on_halt=storm_s.bool("flatten_on_halt", sd.flatten_on_halt),
    )
    storm_s.done()
    ingress = _ingress(_opt_section(root, "ingress"))
    server = _server(_opt_section(root, "server"))
    venue = _venue(root)
    signals = parse_signals(_opt_section(root, "signals"))

    symbols: dict[str, SymbolSpec] = {}
    sy_s = _opt_section(root, "symbols")
    for name in list(sy_s.data):
        sy_s.raw(name)
        symbols[str(name)] = _symbol(str(name), sy_s.data[name], f, f"symbols.{name}")
    allow_unlisted = root.bool("allow_unlisted_symbols", d.allow_unlisted_symbols)
    # the levels above the symbols convert with the symbols' shared units (an unlisted symbol's are unknown)
    shared = None if allow_unlisted else common_units([s.units for s in symbols.values()])

    lim = _opt_section(root, "limits")
    defaults_s = _opt_section(lim, "defaults")
    defaults = _limits(defaults_s, DEFAULT_SCOPES, shared)
    defaults_s.done()
    if defaults.min_qty is None:
        defaults = replace(defaults, min_qty=1)
    lim.done()

    accounts: dict[str, LimitSet] = {}
    acc_s = _opt_section(root, "accounts")
    for name in list(acc_s.data):
        s = Section({} if acc_s.data[name] is None else acc_s.data[name], f, f"accounts.{name}")
        acc_s.raw(name)
        accounts[str(name)] = _limits(s, ACCOUNT_SCOPES, shared)
        s.done()
    strategies: dict[str, LimitSet] = {}
    st_s = _opt_section(root, "strategies")
    for name in list(st_s.data):
        s = Section({} if st_s.data[name] is None else st_s.data[name], f, f"strategies.{name}")
        st_s.raw(name)
        strategies[str(name)] = _limits(s, STRATEGY_SCOPES, shared)
        s.done()
    allow_unlisted = root.bool("allow_unlisted_symbols", d.allow_unlisted_symbols)
    sessions = _sessions(_opt_section(root, "sessions"), symbols)

    met = _opt_section(root, "metrics")
    timing = met.str("timing", d.timing, choices=("off", "dispatch", "stages"))
    met.done()
    root.done()

    for what, n, m in (("accounts", len(accounts), max_accounts), ("strategies", len(strategies), max_strategies),
                       ("symbols", len(symbols), max_symbols)):
        if n > m:
            raise ConfigError(f"{f}: key '{what}': expected at most {m} entries (capacity), was {n}",
                              file=f, key=what)

    cfg = GatewayConfig(
        enabled=enabled, max_accounts=max_accounts, max_strategies=max_strategies, max_symbols=max_symbols,
        exposure_max_symbols=exposure_max, max_working_orders=max_working, dedup_capacity=dedup_capacity,
        dedup_ttl_ns=ttl, dedup_persist_path=persist, order_types=tuple(otypes), tifs=tuple(tifs),
        require_reference_price=require_ref, self_match_prevention=smp, risk_checks=risk_checks,
        defaults=defaults, accounts=accounts,
        strategies=strategies, symbols=symbols, allow_unlisted_symbols=allow_unlisted, storm=storm,
        channel_capacity=channel_capacity, timing=timing, ingress=ingress, server=server, venue=venue,
        signals=signals, sessions=sessions, source=f,
    )
    _check_min_below_max(cfg)
    _check_follower_names(cfg)
    return cfg


def _check_follower_names(cfg: GatewayConfig) -> None:
    """The signal follower trades as an account and a strategy of this config (checked when the config loads:
    `hft gateway check-config` and before a server starts anything, an HA takeover included)."""
    sig, f = cfg.signals, cfg.signals.follow
    if not (sig.needs_bus and f.enabled):
        return
    for kind, name, known in (("account", f.account, cfg.accounts), ("strategy", f.strategy, cfg.strategies)):
        if name not in known:
            raise ConfigError(f"{cfg.source}: key 'signals.follow.{kind}': expected one of the config's {kind} names "
                              f"{sorted(known)[:20]}, was {name!r}", file=cfg.source, key=f"signals.follow.{kind}")


def check_signal_age(cfg: GatewayConfig) -> None:
    """The follower's idempotency key ``sig:<corr_id>`` lives ``dedup.ttl``; a signal redelivered after that (acks
    lost with the bus) is refused only because it is older than ``signals.max_signal_age`` by then. So
    ``max_signal_age + clock_skew`` must stay below ``dedup.ttl`` (checked after the environment's overrides)."""
    sig = cfg.signals
    if not (sig.needs_bus and sig.follow.enabled):
        return
    if sig.max_signal_age_ns + sig.clock_skew_ns >= cfg.dedup_ttl_ns:
        raise ConfigError(
            f"{cfg.source}: key 'signals.max_signal_age': expected max_signal_age + clock_skew "
            f"({sig.clock_skew_ns / 1e9:g}s) below dedup.ttl ({cfg.dedup_ttl_ns / 1e9:g}s), so a signal redelivered "
            f"after its idempotency key expired is refused as stale, was {sig.max_signal_age_ns / 1e9:g}s",
            file=cfg.source, key="signals.max_signal_age")


def _check_min_below_max(cfg: GatewayConfig) -> None:
    """No (account, strategy, symbol) may have a minimum order size above its maximum: nothing could trade there.
    The levels resolve as `effective_limits` does (a minimum's largest set value, a maximum's smallest, else the
    default); each level's distinct (min_qty, max_order_qty) pairs are checked against each other's, so thousands
    of symbols with a few distinct limits check in a few loops."""
    def pairs(levels: dict[str, LimitSet]) -> dict[tuple[int | None, int | None], str | None]:
        out: dict[tuple[int | None, int | None], str | None] = {}
        for name, lim in levels.items():
            out.setdefault((lim.min_qty, lim.max_order_qty), name)
        return out or {(None, None): None}

    syms = pairs({k: v.limits for k, v in cfg.symbols.items()})
    for (am, aM), a in pairs(cfg.accounts).items():
        for (tm, tM), t in pairs(cfg.strategies).items():
            for (ym, yM), y in syms.items():
                mins = [v for v in (am, tm, ym) if v is not None]
                maxs = [v for v in (aM, tM, yM) if v is not None]
                lo = max(mins) if mins else cfg.defaults.min_qty
                hi = min(maxs) if maxs else cfg.defaults.max_order_qty
                if lo is not None and hi is not None and hi != UNLIMITED and lo > hi:
                    where = ", ".join(f"{k} {v}" for k, v in (("account", a), ("strategy", t), ("symbol", y)) if v)
                    raise ConfigError(f"{cfg.source}: key 'min_qty': expected min_qty <= max_order_qty"
                                      f"{' for ' + where if where else ''}, was {lo} > {hi}", file=cfg.source,
                                      key="min_qty", hint="no order could pass both limits")


_TIME_OF_DAY = "a time of day 'HH:MM' or 'HH:MM:SS' as a quoted string"


def _time_of_day(sec: Section, key: str) -> int:
    """Seconds after midnight of ``HH:MM[:SS]`` (quoted: YAML 1.1 reads an unquoted 16:00 as the number 960)."""
    v = sec.raw(key)
    parts = v.split(":") if isinstance(v, str) else []
    if not 2 <= len(parts) <= 3 or not all(len(p) == 2 and p.isascii() and p.isdigit() for p in parts):
        sec.fail(sec.key(key), _TIME_OF_DAY, v)
    h, m, sec_ = (int(p) for p in [*parts, "00"][:3])
    if h > 23 or m > 59 or sec_ > 59:
        sec.fail(sec.key(key), _TIME_OF_DAY, v)
    return h * 3600 + m * 60 + sec_


def _sessions(root: Section, symbols: Mapping[str, SymbolSpec]) -> dict[str, SessionSpec]:
    """``sessions:``: ``default`` (required when any is set: the trading day rolls at its open) and configured
    symbol names, each ``{open, close, time_zone}``."""
    # lazy: only a config with sessions reads the tz database
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    out: dict[str, SessionSpec] = {}
    for name in list(root.data):
        root.raw(name)
        key = root.key(str(name))
        if name != "default" and name not in symbols:
            root.fail(key, f"'default' or a symbol of the config's symbols {sorted(symbols)[:20]}", name)
        data = root.data[name]
        if not isinstance(data, Mapping):
            root.fail(key, "a mapping {open, close, time_zone}", data)
        sec = Section(data, root.file, key)
        open_s, close_s = _time_of_day(sec, "open"), _time_of_day(sec, "close")
        tz = sec.raw("time_zone")
        try:
            if not isinstance(tz, str) or not tz:
                raise ValueError
            ZoneInfo(tz)
        except (ValueError, OSError, ZoneInfoNotFoundError):
            sec.fail(sec.key("time_zone"), "an IANA time zone name (e.g. America/New_York, UTC)", tz)
        sec.done()
        out[str(name)] = SessionSpec(open_s, close_s, tz)
    root.done()
    if out and "default" not in out:
        root.fail(root.key("default"), "the default session {open, close, time_zone} (the trading day rolls at "
                   "its open)", None)
    return out


def _ingress(s: Section) -> IngressConfig:
    d = IngressConfig()
    soft = s.float("soft_reject_pct", d.soft_reject_pct, min_value=0)
    kill = s.float("kill_pct", d.kill_pct, min_value=0)
    rec = s.float("recover_pct", d.recover_pct, min_value=0)
    if not rec < soft <= kill <= 100:
        s.fail(s.key("recover_pct"), "recover_pct < soft_reject_pct <= kill_pct <= 100",
                {"recover_pct": rec, "soft_reject_pct": soft, "kill_pct": kill})
    out = IngressConfig(soft_reject_pct=soft, kill_pct=kill, recover_pct=rec,
                        recover_after_ns=s.duration_ns("recover_after", d.recover_after_ns),
                        auto_recover=s.bool("auto_recover", d.auto_recover),
                        max_batch=s.int("max_batch", d.max_batch, min_value=1),
                        max_body_bytes=s.int("max_body_bytes", d.max_body_bytes, min_value=256))
    s.done()
    return out


def _venue(root: Section) -> VenueConfig:
    """``venue:``: a name, or ``{adapter: NAME, options: {...}}`` (the options are the adapter's to check)."""
    v = root.raw("venue", None)
    if v is None:
        return VenueConfig()
    if isinstance(v, str):
        v = {"adapter": v}
    s = Section(v, root.file, "venue")
    adapter = s.str("adapter", VenueConfig.adapter)
    if not adapter.strip():
        s.fail(s.key("adapter"), "a venue adapter's name, module:factory or FILE.py:factory", adapter)
    options = s.raw("options", None) or {}
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        s.fail(s.key("options"), "a mapping of the adapter's options", options)
    s.done()
    return VenueConfig(adapter.strip(), dict(options))


def _server(s: Section) -> ServerConfig:
    d = ServerConfig()
    secret = s.raw("jwt_secret", None)
    if secret is not None and (not isinstance(secret, str) or len(secret) < 32):
        s.fail(s.key("jwt_secret"), "a string of at least 32 characters, or null (HFT_JWT_SECRET)", "<hidden>")
    wal_dir = s.raw("wal_dir", None)
    if wal_dir is not None and not isinstance(wal_dir, str):
        s.fail(s.key("wal_dir"), "a directory path string or null", wal_dir)
    out = ServerConfig(host=s.str("host", d.host), port=s.int("port", d.port, min_value=0),
                       jwt_secret=secret, jwt_leeway_s=s.float("jwt_leeway", d.jwt_leeway_s, min_value=0),
                       wal_dir=wal_dir, fsync=s.str("fsync", d.fsync, choices=("batch", "interval", "never")),
                       fsync_interval_ns=s.duration_ns("fsync_interval", d.fsync_interval_ns),
                       wal_segment_bytes=s.size_bytes("wal_segment_bytes", d.wal_segment_bytes, min_value=4096),
                       snapshot_every=s.int("snapshot_every", d.snapshot_every, min_value=0),
                       snapshot_fork_orders=s.int("snapshot_fork_orders", d.snapshot_fork_orders, min_value=0),
                       snapshot_rest=s.float("snapshot_rest", d.snapshot_rest, min_value=0),
                       order_view_retention=s.int("order_view_retention", d.order_view_retention, min_value=0),
                       max_connections=s.int("max_connections", d.max_connections, min_value=1),
                       auth_timeout_ns=s.duration_ns("auth_timeout", d.auth_timeout_ns),
                       header_timeout_ns=s.duration_ns("header_timeout", d.header_timeout_ns),
                       body_timeout_ns=s.duration_ns("body_timeout", d.body_timeout_ns),
                       keep_alive_timeout_ns=s.duration_ns("keep_alive_timeout", d.keep_alive_timeout_ns),
                       cancel_on_shutdown=s.bool("cancel_on_shutdown", d.cancel_on_shutdown),
                       tls_cert=_opt_path(s, "tls_cert"), tls_key=_opt_path(s, "tls_key"),
                       tls_client_ca=_opt_path(s, "tls_client_ca"),
                       jwt_max_lifetime_ns=None if s.raw("jwt_max_lifetime", None) is None
                       else s.duration_ns("jwt_max_lifetime"),
                       metrics_auth=s.bool("metrics_auth", d.metrics_auth))
    if (out.tls_cert is None) != (out.tls_key is None):
        k = "tls_key" if out.tls_key is None else "tls_cert"
        s.fail(s.key(k), "a PEM file path beside " + ("tls_cert" if k == "tls_key" else "tls_key"), None)
    if out.tls_client_ca is not None and out.tls_cert is None:
        s.fail(s.key("tls_cert"), "a PEM file path (tls_client_ca asks for mutual TLS)", None)
    if out.jwt_max_lifetime_ns is not None and out.jwt_max_lifetime_ns <= 0:
        s.fail(s.key("jwt_max_lifetime"), "a duration above 0 (e.g. 15m), or null", s.raw("jwt_max_lifetime"))
    if out.port > 65535:
        s.fail(s.key("port"), "a TCP port 0-65535", out.port)
    for key in ("auth_timeout", "header_timeout", "body_timeout", "keep_alive_timeout"):
        if getattr(out, f"{key}_ns") <= 0:
            s.fail(s.key(key), "a duration above 0 (e.g. 10s)", s.raw(key))
    s.done()
    return out


def _opt_path(s: Section, key: str) -> str | None:
    """A file path or null (its file is read when the service starts: `hft.live.tls`)."""
    v = s.raw(key, None)
    if v is not None and (not isinstance(v, str) or not v):
        s.fail(s.key(key), "a file path string or null", v)
    return v


def apply_env(cfg: GatewayConfig, env: Mapping[str, str] | None = None) -> GatewayConfig:
    """Apply the ``HFT_*`` overrides listed in the module docstring."""
    env = os.environ if env is None else env
    kw: dict[str, Any] = {}
    v = env.get("HFT_GATEWAY_ENABLED")
    if v is not None and v != "":
        low = v.strip().lower()
        if low not in ("1", "0", "true", "false", "yes", "no"):
            raise ConfigError(f"HFT_GATEWAY_ENABLED: expected 1/0/true/false, was {v!r}",
                              key="HFT_GATEWAY_ENABLED")
        kw["enabled"] = low in ("1", "true", "yes")
    v = env.get("HFT_EXPOSURE_MAX_SYMBOLS")
    if v is not None and v != "":
        try:
            n = int(v)
        except ValueError:
            n = 0
        if n <= 0:
            raise ConfigError(f"HFT_EXPOSURE_MAX_SYMBOLS: expected a positive integer, was {v!r}",
                              key="HFT_EXPOSURE_MAX_SYMBOLS")
        kw["exposure_max_symbols"] = n
    v = env.get("HFT_DEDUP_TTL_S")
    if v is not None and v != "":
        try:
            secs = float(v)
        except ValueError:
            secs = -1.0
        if not (secs >= 0) or secs > 10**9:
            raise ConfigError(f"HFT_DEDUP_TTL_S: expected a non-negative number of seconds, was {v!r}",
                              key="HFT_DEDUP_TTL_S")
        kw["dedup_ttl_ns"] = round(secs * 1_000_000_000)
    srv: dict[str, Any] = {}
    v = env.get("HFT_GATEWAY_PORT")
    if v is not None and v != "":
        if not v.strip().isdigit() or int(v) > 65535:
            raise ConfigError(f"HFT_GATEWAY_PORT: expected a TCP port 0-65535, was {v!r}", key="HFT_GATEWAY_PORT")
        srv["port"] = int(v)
    v = env.get("HFT_GATEWAY_HOST")
    if v is not None and v != "":
        srv["host"] = v.strip()
    v = env.get("HFT_JWT_SECRET")
    if v is not None and v != "":
        if len(v) < 32:
            raise ConfigError("HFT_JWT_SECRET: expected at least 32 characters (HS256 key)", key="HFT_JWT_SECRET")
        srv["jwt_secret"] = v
    v = env.get("HFT_GATEWAY_WAL_DIR")
    if v is not None and v != "":
        srv["wal_dir"] = v
    v = env.get("HFT_GATEWAY_FSYNC")
    if v is not None and v != "":
        if v not in ("batch", "interval", "never"):
            raise ConfigError(f"HFT_GATEWAY_FSYNC: expected batch|interval|never, was {v!r}",
                              key="HFT_GATEWAY_FSYNC")
        srv["fsync"] = v
    if srv:
        kw["server"] = replace(cfg.server, **srv)
    return replace(cfg, **kw) if kw else cfg


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> GatewayConfig:
    """Read and validate a gateway YAML file (defaults when `path` is None), then apply env overrides."""
    cfg = apply_env(parse_config(load_yaml(path), path) if path is not None else GatewayConfig(), env)
    check_signal_age(cfg)
    return cfg


def effective_limits(cfg: GatewayConfig, account: str | None, strategy: str | None,
                     symbol: str | None) -> dict[str, Any]:
    """The limits the risk core applies to (account, strategy, symbol), as a plain dict (None = unlimited)."""
    levels = [cfg.accounts.get(account) if account else None, cfg.strategies.get(strategy) if strategy else None,
              cfg.symbols[symbol].limits if symbol in cfg.symbols else None]
    out: dict[str, Any] = {}
    for k in ORDER_LIMITS:
        vals = [getattr(lv, k) for lv in levels if lv is not None and getattr(lv, k) is not None]
        v = (max if _FLOORS[k] else min)(vals) if vals else getattr(cfg.defaults, k)
        out[k] = None if v is None or v == UNLIMITED else v
    st = cfg.strategies.get(strategy) if strategy else None

    def pick(name: str) -> Any:
        v = getattr(st, name) if st is not None and getattr(st, name) is not None else getattr(cfg.defaults, name)
        return v

    dl = pick("daily_loss")
    out["daily_loss_strategy"] = None if dl is None or dl == UNLIMITED else dl
    acc = cfg.accounts.get(account) if account else None
    adl = acc.daily_loss if acc is not None else None
    out["daily_loss_account"] = None if adl is None or adl == UNLIMITED else adl
    for name in ("submit_rate", "cancel_rate"):
        r = pick(name)
        out[name] = None if r is None else rate_value(r)
    ar = acc.submit_rate if acc is not None else None
    out["submit_rate_account"] = None if ar is None else rate_value(ar)
    cash = acc.cash if acc is not None and acc.cash is not None else cfg.defaults.cash
    out["cash"] = None if cash is None or cash == UNLIMITED else cash  # None: no buying-power check
    sym = cfg.symbols.get(symbol) if symbol else None
    rate = sym.limits.margin_rate if sym is not None and sym.limits.margin_rate is not None else cfg.defaults.margin_rate
    out["margin_rate"] = (PPM if rate is None else rate) / PPM  # a symbol's, else the default's, else 1.0
    mr = pick("max_repeats")
    out["max_repeats"] = None if mr is None or mr == UNLIMITED else mr
    out["repeat_window_ns"] = pick("repeat_window_ns")
    return out


# ---------------------------------------------------------------- limits changed at runtime (hft.live.limits_admin)
#: the levels of the limit tables, as the config file names them (``limits.defaults`` is the one "defaults" level)
LEVELS = ("defaults", "accounts", "strategies", "symbols")
#: a limit not set at a level (it inherits), in `limit_tables` / `diff_limits` (None there is "unlimited")
INHERIT = "inherit"
_LEVEL_SCOPES = {"defaults": DEFAULT_SCOPES, "accounts": ACCOUNT_SCOPES, "strategies": STRATEGY_SCOPES,
                 "symbols": SYMBOL_SCOPES}


def _level_sets(cfg: GatewayConfig) -> dict[str, dict[str, LimitSet]]:
    """The `LimitSet` of every level of `cfg`: ``{"defaults": {"": ...}, "accounts": {name: ...}, ...}``."""
    return {"defaults": {"": cfg.defaults}, "accounts": dict(cfg.accounts), "strategies": dict(cfg.strategies),
            "symbols": {k: v.limits for k, v in cfg.symbols.items()}}


def limit_tables(cfg: GatewayConfig) -> dict[str, Any]:
    """The limits `cfg` sets, laid out as the config file is (``defaults``, ``accounts.<name>``,
    ``strategies.<name>``, ``symbols.<name>``), each level's `LimitSet.as_dict` (integer lots / money units /
    ns; None = unlimited; a limit absent inherits). JSON-ready: ``GET /admin/limits`` answers it."""
    sets = _level_sets(cfg)
    return {"defaults": cfg.defaults.as_dict(),
            **{lvl: {k: v.as_dict() for k, v in sets[lvl].items()} for lvl in LEVELS[1:]}}


def _levels_of(tables: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {("defaults", ""): tables.get("defaults", {}),
            **{(lvl, name): lim for lvl in LEVELS[1:] for name, lim in tables.get(lvl, {}).items()}}


def limit_path(level: str, name: str, key: str) -> str:
    """A limit's key path in the config file: ``limits.defaults.max_order_qty``, ``accounts.ACC1.daily_loss``."""
    return f"limits.defaults.{key}" if level == "defaults" else f"{level}.{name}.{key}"


def diff_limits(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The limits that differ between two `limit_tables`, in the file's order (levels, then the limit table's):
    ``{"level", "name", "key", "path", "before", "after"}`` each, a value `INHERIT` when not set at the level.
    Only levels present in both are compared (a level added or removed is no limit change: `levels_added_removed`)."""
    a, b = _levels_of(before), _levels_of(after)
    out: list[dict[str, Any]] = []
    for (lvl, name), old in a.items():
        new = b.get((lvl, name))
        if new is None:
            continue
        for lim in LIMITS:
            x, y = old.get(lim.name, INHERIT), new.get(lim.name, INHERIT)
            if x != y:
                out.append({"level": lvl, "name": name, "key": lim.name, "path": limit_path(lvl, name, lim.key),
                            "before": x, "after": y})
    return out


def levels_added_removed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The accounts, strategies and symbols one `limit_tables` has and the other has not (``accounts.ACC3``)."""
    a, b = set(_levels_of(before)), set(_levels_of(after))
    return [f"{lvl}.{name}" for lvl, name in sorted(a ^ b)]


def _field_value(lim: Limit, v: Any) -> Any:
    """A `limit_tables` value back to its `LimitSet` field (`INHERIT` → None, None → unlimited)."""
    if v == INHERIT:
        return None
    if lim.kind == "fraction":
        n = fraction_ppm(v)
        if n is None:
            raise ConfigError(f"key '{lim.key}': expected a fraction from 0 to 1, was {v!r}", key=lim.key)
        return n
    if lim.kind == "rate":
        if v is None:
            return Rate(UNLIMITED, 1)
        rates = tuple(Rate(int(w["count"]), int(w["window_ns"])) for w in (v if isinstance(v, list) else [v]))
        return rates[0] if len(rates) == 1 else rates
    return UNLIMITED if v is None else int(v)


def apply_limit_changes(cfg: GatewayConfig, changes: list[Mapping[str, Any]]) -> GatewayConfig:
    """`cfg` with `diff_limits`' changes applied (their ``after`` values), checked as a loaded file is (a minimum
    above a maximum anywhere is refused). Raises `ConfigError` naming the key of a level `cfg` lacks."""
    by_name = {lim.name: lim for lim in LIMITS}
    sets = _level_sets(cfg)
    for c in changes:
        lvl, name, key = c["level"], c["name"], c["key"]
        lim = by_name.get(key)
        if lvl not in sets or name not in sets[lvl] or lim is None or lim.scope not in _LEVEL_SCOPES[lvl]:
            raise ConfigError(f"{cfg.source}: key '{limit_path(lvl, name, key)}': expected a limit of a level the "
                              "config has", file=cfg.source, key=limit_path(lvl, name, key))
        sets[lvl][name] = replace(sets[lvl][name], **{key: _field_value(lim, c["after"])})
    out = replace(cfg, defaults=sets["defaults"][""], accounts=sets["accounts"], strategies=sets["strategies"],
                  symbols={k: replace(v, limits=sets["symbols"][k]) for k, v in cfg.symbols.items()})
    _check_min_below_max(out)
    return out


def parse_limit_update(cfg: GatewayConfig, level: str, name: str, data: Any,
                       file: str = "<request>") -> GatewayConfig:
    """`cfg` with one level's limits set from `data` (the keys and units of that level in the config file: a key
    absent is left as it is, ``null`` is unlimited), by the parser that reads the file (`_limits`). `level` is one
    of `LEVELS` (`name` "" for ``defaults``).

    Raises:
        ConfigError: one line naming the key path (``accounts.ACC1.max_order_qty``): an unknown level or name,
            an unknown key or one of another scope, a bad value, a minimum above a maximum.
    """
    if level not in LEVELS:
        raise ConfigError(f"{file}: key 'scope': expected one of {list(LEVELS)}, was {level!r}", file=file,
                          key="scope")
    sets = _level_sets(cfg)
    if name not in sets[level]:
        raise ConfigError(f"{file}: key 'scope': expected one of the config's {level} {sorted(sets[level])[:20]}, "
                          f"was {name!r}", file=file, key="scope")
    shared = None if cfg.allow_unlisted_symbols else common_units([s.units for s in cfg.symbols.values()])
    units = cfg.symbols[name].units if level == "symbols" else shared
    sec = Section(data, file, "limits.defaults" if level == "defaults" else f"{level}.{name}")
    if not sec.data:
        sec.fail(sec.path, "at least one limit to set", data)
    given = _limits(sec, _LEVEL_SCOPES[level], units)
    sec.done()
    old = sets[level][name]
    _min_within_max(sec, old.min_qty if given.min_qty is None else given.min_qty,
                    old.max_order_qty if given.max_order_qty is None else given.max_order_qty)
    # the parsed values as `limit_tables` values (None: unlimited), applied like any change
    changes = [{"level": level, "name": name, "key": lim.name, "after": table_value(lim, v)}
               for lim in LIMITS if (v := getattr(given, lim.name)) is not None]
    return replace(apply_limit_changes(replace(cfg, source=file), changes), source=cfg.source)


def limit_text(v: Any, unlimited: str = "unlimited") -> str:
    """A limit's value as text: `unlimited` for None (no limit), a rate as ``COUNT/SECONDSs`` (several windows
    joined by `` + ``), else the value."""
    if v is None:
        return unlimited
    if isinstance(v, list):
        return " + ".join(limit_text(w) for w in v)
    if isinstance(v, Mapping):
        return f"{v['count']}/{v['window_ns'] / 1e9:g}s"
    return str(v)


def describe_change(c: Mapping[str, Any]) -> str:
    """One line of a `diff_limits` change: ``accounts.ACC1.max_order_qty: 1000 -> 3`` (``unlimited``, ``inherit``,
    a rate as ``COUNT/SECONDSs``)."""
    return f"{c['path']}: {limit_text(c['before'])} -> {limit_text(c['after'])}"
