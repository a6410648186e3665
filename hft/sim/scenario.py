"""Scripted venue scenarios: ``hft sim scenario FILE.yaml`` (issue 4, "Scripted scenarios").

A scenario file fixes an instrument, latencies, fees, a queue model, an exchange mode, an initial book, timed
market events (exchange time) and timed order actions (local time). Every action goes through a real
`hft.gateway.GatewayService` (per-intent ``process()``, a permissive in-memory config built from the scenario:
one account ``SIM``, one strategy ``scenario``, the scenario's symbol, no limits apart from ``min_qty: 1`` and
the file's ``limits``);
its dispatcher puts accepted commands in flight to the simulated L2 venue (`hft.sim.exchange_l2.L2Venue`);
venue reports come back after the response latency and are fed to ``gateway.on_execution_report``.

File format (strict: unknown keys, wrong types, off-tick prices → `ConfigError` naming the file and key)::

    instrument: {symbol: TEST, tick_size: 0.1, lot_size: 0.001, multiplier: 1}   # multiplier optional (1)
    # optional: kind: inverse (coin-margined) | linear (default); contract_size: 100 (inverse: quote value of a
    # contract; linear: the contract multiplier, default 1) — money as in `hft.sim.fees`
    latency: {entry: 1ms, response: 1ms, feed: 100us}   # constant, non-negative durations
    fees: {maker_bps: -0.5, taker_bps: 7, per_lot: 0}   # bps to 0.01; per_lot in money units (optional)
    queue_model: risk_averse                            # | power_prob_N | log_prob
    exchange: partial_fill                              # | no_partial_fill (hftbacktest's) | all_or_none
    book: {bids: [[100.0, 5.0], ...], asks: [[100.1, 5.0], ...]}   # [price, qty] in instrument units
    events:                                             # exchange time
      - {t: 20ms, kind: trade, aggressor: sell, price: 100.0, qty: 3.0}
      - {t: 20ms, kind: depth, side: buy, price: 100.0, qty: 2.0}     # level's displayed qty becomes qty
      - {t: 40ms, kind: clear, side: both}                            # side optional: buy | sell | both
    actions:                                            # local time
      - {t: 10ms, op: submit, id: 1, side: buy, price: 100.0, qty: 1.0, type: limit, tif: gtc}
      - {t: 30ms, op: cancel, id: 1}
      - {t: 35ms, op: replace, id: 1, price: 100.1, qty: 0.5}         # qty = new open size
    # emulated orders (`hft.sim.conditional`), all but oco with optional expire: 50ms | expire_at: 80ms (GTD)
      - {t: 40ms, op: submit, id: s, side: sell, type: stop, stop: 99.5, qty: 1.0}
      - {t: 40ms, op: submit, id: sl, side: sell, type: stop_limit, stop: 99.5, price: 99.4, qty: 1.0}
      - {t: 40ms, op: submit, id: tr, side: sell, type: trailing_stop, offset: 0.3, qty: 1.0}
      - {t: 40ms, op: submit, id: ice, side: buy, type: iceberg, price: 99.8, qty: 5.0, display: 1.0}
      - {t: 40ms, op: submit, id: br, side: buy, type: bracket, price: 99.9, qty: 1.0, take_profit: 100.3,
         stop: 99.6}                                                   # optional stop_limit: 99.5
      - {t: 40ms, op: submit, id: g, side: buy, price: 99.7, qty: 1.0, expire: 50ms}   # a GTD limit
      - {t: 45ms, op: oco, ids: [g, s]}                               # the first fill of either cancels the other
    # stops held by the venue (held_by: venue; docs/sim.md "Stop orders held by the venue"): the trigger is `stop`
      - {t: 40ms, op: submit, id: vs, side: sell, type: stop, held_by: venue, stop: 99.5, qty: 1.0}
      - {t: 40ms, op: submit, id: vl, side: sell, type: stop_limit, held_by: venue, stop: 99.5, price: 99.4, qty: 1.0}
      # a trailing stop held by the venue: its trigger at entry `stop`, trailing the prints by `offset`
      - {t: 40ms, op: submit, id: vt, side: sell, type: trailing_stop, held_by: venue, stop: 99.5, offset: 0.3, qty: 1.0}
      # OCO and bracket orders held by the venue (docs/sim.md "OCO and bracket orders held by the venue"): a plain or
      # venue-held order naming an earlier one; `oco`: its pair's other, `parent`: a bracket child's entry
      - {t: 40ms, op: submit, id: vo, side: sell, type: stop, held_by: venue, stop: 99.5, qty: 1.0, oco: 1}
      - {t: 40ms, op: submit, id: tp, side: sell, price: 100.5, qty: 1.0, parent: 1}
    trigger: trade                                      # | mid: the stops' trigger price (default trade; a stop
                                                        # type or a bracket may name its own: trigger: mid)
    limits: {max_order_qty: 3000}                       # optional: the gateway's limits.defaults (lots, money units)
    venue: l3                                           # optional (default l2): the L3 venue; `book` is then
                                                        # anonymous quantity and the events order messages:
      - {t: 20ms, kind: add, id: 7, side: sell, price: 100.1, qty: 2.0}   # add | cancel | delete | exec: an id
      - {t: 21ms, kind: exec, id: 7, side: sell, price: 100.1, qty: 1.0}  # side: the resting order's
      - {t: 22ms, kind: hidden_exec, side: buy, price: 100.0, qty: 1.0}   # | trade (aggressor) | clear

A ``stop`` / ``stop_limit`` with ``held_by: venue`` is an order of that type (`ORDER_STOP` / `ORDER_STOP_LIMIT`)
the venue holds until a print reaches its trigger (``stop``); a stop-limit takes its ``price`` and a ``tif``
(default gtc), a stop a ``tif`` of gtc or day; no ``trigger`` (the venue's prints), ``offset`` or expiry. An
``iceberg`` with ``held_by: venue`` is a limit order at ``price`` with its ``display`` (lots shown at a time) and a
``tif`` (default gtc), the venue showing and refilling it (docs/sim.md, "Iceberg orders held by the venue"). A
``trailing_stop`` with ``held_by: venue`` is a stop (with a ``price``: a stop-limit, its limit) the venue holds,
its trigger ``stop`` at entry, moved toward the prints at ``offset`` from them (docs/sim.md, "Trailing stops"), a
``tif`` (default gtc). Any of these, or a plain order, may name an order submitted earlier with ``oco`` (the L2
venue pairs them: a fill or trigger of either cancels the other) or ``parent`` (a bracket child the venue holds until
that entry has no leaves, then enters for the lots it filled: docs/sim.md, "OCO and bracket orders held by the
venue"); an emulated order takes neither.

``type``: limit | market | post_only (default limit), or an emulated type: stop | stop_limit | trailing_stop |
iceberg | bracket; ``tif``: gtc | ioc | fok | day (default gtc; market orders default to ioc; none for emulated
types: their children are GTC limits or IOC market orders). Market orders carry no price. Prices (``stop``,
``take_profit``, ``stop_limit``, a trailing stop's ``offset`` too) / quantities (``display`` too) are decimals
converted exactly to ticks / lots. ``id`` is the scenario's own name for an order (int or string); a cancel /
replace / oco must name an id submitted by an earlier action (same time: earlier in the list).

Emulated orders are placed on one `hft.sim.conditional.ConditionalOrders` (its rules: trigger prices, releases,
OCO, brackets) fed the scripted strategy's callbacks. A limit with ``expire`` / ``expire_at`` or named by an
``oco`` is placed there too (a GTD / OCO limit); a market or post-only order takes neither. ``expire`` is a
duration from the action's local time, ``expire_at`` a local time; either after the action's time. A cancel of
an emulated id drops it while held or cancels its working child (an order already done: nothing); an emulated
order is not replaced.

The run is the replay engine's (`hft.sim.engine_nb.NbEngine`, what ``hft replay`` runs; no loop of its own):
the market becomes canonical events (`scenario_events`: the initial book as snapshot levels at t = 0, seen
locally at once), the actions a scripted strategy (`ScriptedStrategy`) that the engine wakes at each action's
local time (`Context.at`). The engine's order of equal times is the scenario's:

1. local market data (the local book copy advances; the gateway is marked at the local mid),
2. local order responses (venue reports reach the gateway and the trace),
3. actions (the scripted strategy acts, having seen everything local up to now),
4. exchange market data (the venue's book advances; our resting orders may fill),
5. exchange order arrivals (commands reach the venue after the entry latency).

Within one kind, by insertion order (file order for events / actions). Work created at the current time (zero
latencies) is queued behind the item being processed, never before it. Market events reach the local side at
``t + feed``; commands reach the venue at ``action time + entry``; reports reach the local side at
``venue time + response``.

Output (`run_scenario` → dict): the trace (one row per report received locally, one per gateway rejection, and
one per state change of an emulated order: ``source: emulator``, ``status`` one of held | working | filled |
cancelled | expired | rejected, with ``child`` (working: the child sent), ``stop`` (the stop level then, ticks;
``stop_dec``), ``filled`` (lots) and ``reason`` (rejected: the gateway's reason name, or ``VENUE``); a ``working``
row for each child an iceberg sends. A child is named ``<id>#<n>`` (the order's n-th) and its reports are rows under
that name; a bracket's take profit and stop for its n-th fill are ``<id>.tp<n>`` / ``<id>.sl<n>``; rows come in
the order they happen, an emulated order's reaction after the report that caused it),
the final position (lots), balance (cash, money units: ``Σ cash_flow − fees``, i.e. ``-Σ side·price·qty·multiplier
− fees`` for a linear instrument; `hft.sim.fees`), fees (money units, positive = paid), trade count, plus the
gateway's view of the position. Fees are exact (`hft.core.money`): a fill's ``fee``, the balance and ``fees_paid``
are integers when they are whole and decimals to the millionth of a unit when a rate makes them so. ``money_unit`` is one money unit in the settlement currency (the quote currency,
or the coin of an inverse contract; ``settlement`` says which).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np

from hft.book.l2 import new_book
from hft.config.strict import Section, load_yaml
from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_CLEAR,
    EV_DELETE,
    EV_EXEC,
    EV_HALT,
    EV_HIDDEN_EXEC,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TRADE,
    EVENT,
    FLAG_EOM,
    SELL,
    empty_events,
)
from hft.core.errors import ConfigError, SimError
from hft.core.money import FEE_FRAC_UNITS
from hft.core.orders import (
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_POST_ONLY,
    ORDER_STOP,
    ORDER_STOP_LIMIT,
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    REPORT_TRIGGERED,
    TIF_DAY,
    TIF_FOK,
    TIF_GTC,
    TIF_GTD,
    TIF_IOC,
)
from hft.gateway import GatewayService
from hft.gateway.config import check_limit_defaults, limits_in_units
from hft.sim.conditional import TRIGGERS, ConditionalOrders, EmulatedOrder
from hft.sim.engine import EngineConfig, L2MarketVenue
from hft.sim.engine_nb import NbEngine
from hft.sim.exchange_l2 import EXCHANGE_MODES, L2Venue
from hft.sim.exchange_l3 import L3Venue
from hft.sim.fees import INVERSE_UNITS, FeeSchedule, bps_to_hundredths, money_factor
from hft.sim.gateway_setup import sim_gateway_config
from hft.sim.latency import constant
from hft.sim.queue_models import parse_queue_model
from hft.sim.strategy import Context, OrderUpdate, Strategy

ACCOUNT = "SIM"
STRATEGY = "scenario"

STATUS_OF_REPORT = {
    REPORT_ACK: "NEW",
    REPORT_PARTIAL_FILL: "PARTIALLY_FILLED",
    REPORT_FILL: "FILLED",
    REPORT_CANCELED: "CANCELED",
    REPORT_EXPIRED: "EXPIRED",
    REPORT_REJECTED: "REJECTED",
    REPORT_REPLACED: "REPLACED",
    REPORT_REPLACE_REJECTED: "REPLACE_REJECTED",
    REPORT_CANCEL_REJECTED: "CANCEL_REJECTED",
    REPORT_TRIGGERED: "TRIGGERED",
}

_SIDES = {"buy": BUY, "sell": SELL}
_TYPES = {"limit": ORDER_LIMIT, "market": ORDER_MARKET, "post_only": ORDER_POST_ONLY}
_L3_EVENTS = ("add", "cancel", "delete", "exec", "hidden_exec", "trade", "clear")  # ``venue: l3``'s event kinds
_NATIVE = {"stop": ORDER_STOP, "stop_limit": ORDER_STOP_LIMIT}  # the types a venue may hold (``held_by: venue``)
_TIFS = {"gtc": TIF_GTC, "ioc": TIF_IOC, "fok": TIF_FOK, "day": TIF_DAY}
#: the emulated types (`hft.sim.conditional`) and the keys each takes besides t, op, id, side, qty, expire(_at)
_EMULATED = {"stop": ("stop", "trigger"), "stop_limit": ("stop", "price", "trigger"),
             "trailing_stop": ("offset", "trigger"), "iceberg": ("price", "display"),
             "bracket": ("price", "take_profit", "stop", "stop_limit", "trigger")}

@dataclass(frozen=True)
class MarketEvent:
    t: int
    kind: str  # L2: depth | trade | clear; L3: add | cancel | delete | exec | hidden_exec | trade | clear
    side: int  # depth: level side; trade: aggressor; L3 order events: the resting order's side; clear: side or 0
    price: int
    qty: int
    oid: int = 0  # L3 order events: the market order's id


@dataclass(frozen=True)
class Action:
    t: int
    op: str  # submit | cancel | replace | oco
    id: int | str
    side: int = 0
    price: int = 0
    qty: int = 0
    order_type: int = ORDER_LIMIT
    tif: int = TIF_GTC
    # emulated orders (`hft.sim.conditional`): the type's name ("" for a plain order) and its parameters (ticks,
    # lots, local ns)
    kind: str = ""
    stop: int | None = None
    offset: int = 0
    display: int = 0
    take_profit: int | None = None
    stop_limit: int | None = None
    expire_at: int | None = None
    pair: tuple[Any, ...] = ()  # oco: the two ids
    trigger: str | None = None  # its stop's trigger price (None: the file's)
    trigger_px: int = 0  # a stop held by the venue (``held_by: venue``): its trigger price, ticks
    expire_ns: int = 0  # a GTD order the venue expires (``held_by: venue``): its exchange expiry time, ns
    trail: int = 0  # a trailing stop held by the venue (``held_by: venue``): its distance from the prints, ticks
    oco: Any = None  # the scenario id of the order the venue pairs this one with (one cancels the other)
    parent: Any = None  # a bracket child's entry (its scenario id): the venue holds the child until it has no leaves


@dataclass(frozen=True)
class Scenario:
    file: str
    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    multiplier: int
    entry_ns: int
    response_ns: int
    feed_ns: int
    fees: FeeSchedule
    queue_model: str
    exchange: str
    bids: tuple[tuple[int, int], ...]
    asks: tuple[tuple[int, int], ...]
    events: tuple[MarketEvent, ...] = field(default_factory=tuple)
    actions: tuple[Action, ...] = field(default_factory=tuple)
    kind: str = "linear"  # | "inverse" (hft.sim.fees)
    contract_size: Decimal = Decimal(1)
    trigger: str = "trade"  # the emulated orders' trigger price: trade | mid (hft.sim.conditional)
    limits: dict[str, Any] = field(default_factory=dict)  # the gateway's limits.defaults (lots, money units)
    venue: str = "l2"  # l2: the L2 venue, level events; l3: the L3 venue, order events, the book as anonymous lots

    @property
    def money(self) -> int:
        """The money factor of the scenario's fills (`hft.sim.fees.money_factor`)."""

        return money_factor(self, self.multiplier)

    def px(self, ticks: int) -> str:
        """Price in instrument units, with the tick size's decimals (``10000`` ticks of 0.01 → ``"100.00"``)."""
        return format(Decimal(ticks) * self.tick_size, "f")

    def qty(self, lots: int) -> str:
        return format(Decimal(lots) * self.lot_size, "f")


def _fmt(d: Decimal) -> str:
    return format(d.normalize(), "f")


# ======================================================================= parsing
def _decimal(sec: Section, key: str, value: Any, *, positive: bool = True) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        sec.fail(sec.key(key), "a decimal number", value)
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        sec.fail(sec.key(key), "a decimal number", value)
    if not d.is_finite() or (positive and d <= 0):
        sec.fail(sec.key(key), "a positive decimal number" if positive else "a decimal number", value)
    return d


def _to_units(sec: Section, key: str, value: Any, unit: Decimal, what: str, *, allow_zero: bool = False) -> int:
    d = _decimal(sec, key, value, positive=not allow_zero)
    if d < 0:
        sec.fail(sec.key(key), f"a non-negative {what}", value)
    n = d / unit
    if n != n.to_integral_value():
        name = "tick" if what == "price" else "lot"
        sec.fail(sec.key(key), f"a multiple of the {name} size {_fmt(unit)}", value)
    return int(n)


def _levels(sec: Section, key: str, tick: Decimal, lot: Decimal) -> tuple[tuple[int, int], ...]:
    raw = sec.raw(key, [])
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        sec.fail(sec.key(key), "a list of [price, qty] pairs", raw)
    out: dict[int, int] = {}
    for i, lv in enumerate(raw):
        k = f"{key}[{i}]"
        if not isinstance(lv, list) or len(lv) != 2:
            sec.fail(sec.key(k), "a [price, qty] pair", lv)
        p = _to_units(sec, k + ".price", lv[0], tick, "price")
        q = _to_units(sec, k + ".qty", lv[1], lot, "qty")
        if p in out:
            sec.fail(sec.key(k), "each price at most once per side", lv)
        out[p] = q
    return tuple(out.items())


def _id(sec: Section) -> int | str:
    v = sec.raw("id")
    if isinstance(v, bool) or not isinstance(v, int | str) or v == "":
        sec.fail(sec.key("id"), "an integer or a non-empty string", v)
    return v


def load_scenario(path: str | Path) -> Scenario:
    """Parse and validate a scenario file (strict). Raises `ConfigError` naming the file and key."""
    path = Path(path)
    data = load_yaml(path)
    return parse_scenario(data, str(path))


def parse_scenario(data: Any, file: str = "<scenario>") -> Scenario:
    root = Section(data, file)
    ins = root.section("instrument")
    symbol = ins.str("symbol", "TEST")
    if not symbol:
        ins.fail(ins.key("symbol"), "a non-empty string", symbol)
    tick = _decimal(ins, "tick_size", ins.raw("tick_size"))
    lot = _decimal(ins, "lot_size", ins.raw("lot_size"))
    mult = ins.int("multiplier", 1, min_value=1)
    inst_kind = ins.str("kind", "linear", choices=["linear", "inverse"])
    contract = _decimal(ins, "contract_size", ins.raw("contract_size", 1))
    ins.done()

    lat = root.section("latency", {})
    entry = lat.duration_ns("entry", 0)
    response = lat.duration_ns("response", 0)
    feed = lat.duration_ns("feed", 0)
    lat.done()

    fs = root.section("fees", {})
    fees = FeeSchedule(
        maker_bps_h=bps_to_hundredths(fs.raw("maker_bps", 0), key=fs.key("maker_bps"), file=file),
        taker_bps_h=bps_to_hundredths(fs.raw("taker_bps", 0), key=fs.key("taker_bps"), file=file),
        per_lot=fs.int("per_lot", 0),
    )
    fs.done()

    qm = root.str("queue_model", "risk_averse")
    try:
        parse_queue_model(qm)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc.message}", file=file, key="queue_model") from None
    mode = root.str("exchange", "partial_fill", choices=sorted(EXCHANGE_MODES))

    bk = root.section("book", {})
    bids = _levels(bk, "bids", tick, lot)
    asks = _levels(bk, "asks", tick, lot)
    bk.done()
    if bids and asks and max(p for p, _ in bids) >= min(p for p, _ in asks):
        bk.fail(bk.key("bids"), "a best bid below the best ask", [_fmt(Decimal(max(p for p, _ in bids)) * tick)])

    venue = root.str("venue", "l2", choices=("l2", "l3"))
    events: list[MarketEvent] = []
    raw_events = root.raw("events", [])
    if not isinstance(raw_events, list):
        root.fail("events", "a list of market events", raw_events)
    for i, ev in enumerate(raw_events):
        s = Section(ev, file, f"events[{i}]")
        t = s.duration_ns("t")
        kind = s.str("kind", choices=_L3_EVENTS if venue == "l3" else ("depth", "trade", "clear"))
        oid = 0
        if kind in _L3_EVENTS and kind not in ("trade", "clear"):  # an L3 order event: LOBSTER's fields
            if kind != "hidden_exec":
                oid = s.int("id", min_value=1)
            side = _SIDES[s.str("side", choices=tuple(_SIDES))]
            price = _to_units(s, "price", s.raw("price"), tick, "price")
            qty = _to_units(s, "qty", s.raw("qty"), lot, "qty")
        elif kind == "depth":
            side = _SIDES[s.str("side", choices=tuple(_SIDES))]
            price = _to_units(s, "price", s.raw("price"), tick, "price")
            qty = _to_units(s, "qty", s.raw("qty"), lot, "qty", allow_zero=True)
        elif kind == "trade":
            side = _SIDES[s.str("aggressor", choices=tuple(_SIDES))]
            price = _to_units(s, "price", s.raw("price"), tick, "price")
            qty = _to_units(s, "qty", s.raw("qty"), lot, "qty")
        else:
            name = s.str("side", "both", choices=("buy", "sell", "both"))
            side, price, qty = _SIDES.get(name, 0), 0, 0
        s.done()
        events.append(MarketEvent(t, kind, side, price, qty, oid))

    trigger = root.str("trigger", "trade", choices=TRIGGERS)
    lim = root.section("limits", {})
    check_limit_defaults(lim)  # strict, naming this file's keys
    limits = limits_in_units(lim, None)

    submitted: set[Any] = set()
    emulated: dict[Any, str] = {}  # ids placed through the emulator -> their type
    raw_actions = root.raw("actions", [])
    if not isinstance(raw_actions, list):
        root.fail("actions", "a list of order actions", raw_actions)
    # a plain limit named by an oco goes through the emulator too (an OCO links emulated orders)
    in_oco = {v for a in raw_actions if isinstance(a, dict) and a.get("op") == "oco" and isinstance(a.get("ids"), list)
              for v in a["ids"] if isinstance(v, int | str) and not isinstance(v, bool)}
    paired: set[Any] = set()
    order = sorted(range(len(raw_actions)), key=lambda k: _peek_t(raw_actions[k], file, k))
    parsed: dict[int, Action] = {}
    for i in order:
        s = Section(raw_actions[i], file, f"actions[{i}]")
        t = s.duration_ns("t")
        op = s.str("op", choices=("submit", "cancel", "replace", "oco"))
        if op == "oco":
            act = _oco(s, t, submitted, emulated, paired)
            s.done()
            parsed[i] = act
            continue
        oid = _id(s)
        if op == "submit":
            if oid in submitted:
                s.fail(s.key("id"), "an id not submitted before", oid)
            submitted.add(oid)
            side = _SIDES[s.str("side", choices=tuple(_SIDES))]
            name = s.str("type", "limit", choices=(*_TYPES, *_EMULATED))
            qty = _to_units(s, "qty", s.raw("qty"), lot, "qty")
            gtd = s.has("expire") or s.has("expire_at")
            held_by = s.str("held_by", "emulator", choices=("emulator", "venue"))
            links = {k: _link(s, k, submitted, file, i) for k in ("oco", "parent") if s.has(k)}
            if links and (held_by != "venue" and (name in _EMULATED or (name == "limit" and (gtd or oid in in_oco)))):
                k = next(iter(links))
                s.fail(s.key(k), f"no {k} for an emulated order (the venue links orders it holds: held_by: venue "
                       "or a plain order)", s.raw(k))
            if held_by == "venue" and name == "iceberg":
                act = _native_iceberg(s, t, oid, side, qty, tick, lot)
            elif held_by == "venue" and name == "trailing_stop":
                act = _native_trailing(s, t, oid, side, qty, tick)
            elif held_by == "venue":
                act = _native(s, t, oid, side, name, qty, tick)
            elif name in _EMULATED or (name == "limit" and (gtd or oid in in_oco)):
                act = _emulated(s, t, oid, side, name, qty, tick, lot)
                emulated[oid] = name
            else:
                if gtd:
                    s.fail(s.key("expire" if s.has("expire") else "expire_at"),
                           "no expiry for a market or post-only order (GTD: a limit or an emulated type)",
                           s.raw("expire" if s.has("expire") else "expire_at"))
                otype = _TYPES[name]
                tif = _TIFS[s.str("tif", "ioc" if otype == ORDER_MARKET else "gtc", choices=tuple(_TIFS))]
                if otype == ORDER_MARKET:
                    if s.has("price"):
                        s.fail(s.key("price"), "no price for a market order", s.raw("price"))
                    price = 0
                else:
                    price = _to_units(s, "price", s.raw("price"), tick, "price")
                act = Action(t, op, oid, side, price, qty, otype, tif)
            if links:
                act = replace(act, **links)
        elif op == "cancel":
            _submitted_before(oid, submitted, file, i)
            act = Action(t, op, oid, kind=emulated.get(oid, ""))  # an emulated order: the emulator cancels it
        else:
            _submitted_before(oid, submitted, file, i)
            if oid in emulated:
                s.fail(s.key("id"), "the id of a plain order (an emulated order is cancelled, not replaced)", oid)
            price = _to_units(s, "price", s.raw("price"), tick, "price")
            qty = _to_units(s, "qty", s.raw("qty"), lot, "qty")
            act = Action(t, op, oid, 0, price, qty)
        s.done()
        parsed[i] = act
    actions = [parsed[i] for i in range(len(raw_actions))]
    root.done()
    sc = Scenario(file, symbol, tick, lot, mult, entry, response, feed, fees, qm, mode, bids, asks,
                  tuple(events), tuple(actions), inst_kind, contract, trigger, limits, venue)
    try:
        sc.money  # noqa: B018 - an inexact inverse contract value fails here, naming the file
    except ConfigError as e:
        raise ConfigError(f"{file}: {e}", file=file, key="instrument.contract_size") from None
    return sc


def _native(s: Section, t: int, oid: Any, side: int, name: str, qty: int, tick: Decimal) -> Action:
    """A submit with ``held_by: venue``: a stop or stop-limit the venue holds (`ORDER_STOP` / `ORDER_STOP_LIMIT`),
    its trigger the ``stop`` price; a stop-limit's ``price`` and ``tif`` (default gtc) are its limit order's. With
    ``expire`` (a duration from the action's time) or ``expire_at`` (a time), it, or a limit / post-only order, is
    good till date (`TIF_GTD`): the venue expires it at that exchange time (docs/sim.md, "Good till date")."""
    gtd = s.has("expire") or s.has("expire_at")
    if name not in _NATIVE and not (gtd and name in ("limit", "post_only")):
        s.fail(s.key("held_by"), "held_by: venue only for type stop, stop_limit, trailing_stop or iceberg, or a "
               "limit / post_only with expire or expire_at", "venue")
    for k in ("offset", "display", "take_profit", "stop_limit", "trigger"):
        if s.has(k):
            s.fail(s.key(k), f"no {k} for a {name} held by the venue", s.raw(k))
    expire = 0
    if gtd:
        if s.has("expire") and s.has("expire_at"):
            s.fail(s.key("expire_at"), "either expire (a duration) or expire_at (a time), not both",
                   s.raw("expire_at"))
        expire = t + s.duration_ns("expire") if s.has("expire") else s.duration_ns("expire_at")
        if s.has("tif"):
            s.fail(s.key("tif"), "no tif with an expiry (it is gtd)", s.raw("tif"))
    if name in ("limit", "post_only"):
        price = _to_units(s, "price", s.raw("price"), tick, "price")
        return Action(t, "submit", oid, side, price, qty, _TYPES[name], TIF_GTD, expire_ns=expire)
    stop = _to_units(s, "stop", s.raw("stop"), tick, "price")
    if name == "stop":
        if s.has("price"):
            s.fail(s.key("price"), "no price for a stop (it becomes a market order)", s.raw("price"))
        tif = TIF_GTD if gtd else _TIFS[s.str("tif", "gtc", choices=("gtc", "day"))]
        return Action(t, "submit", oid, side, 0, qty, ORDER_STOP, tif, trigger_px=stop, expire_ns=expire)
    price = _to_units(s, "price", s.raw("price"), tick, "price")
    tif = TIF_GTD if gtd else _TIFS[s.str("tif", "gtc", choices=tuple(_TIFS))]
    return Action(t, "submit", oid, side, price, qty, ORDER_STOP_LIMIT, tif, trigger_px=stop, expire_ns=expire)


def _native_iceberg(s: Section, t: int, oid: Any, side: int, qty: int, tick: Decimal, lot: Decimal) -> Action:
    """A submit of ``type: iceberg`` with ``held_by: venue``: a limit order at ``price`` the venue shows ``display``
    lots of at a time (docs/sim.md, "Iceberg orders held by the venue"), its ``tif`` (default gtc)."""
    for k in ("stop", "offset", "take_profit", "stop_limit", "trigger", "expire", "expire_at"):
        if s.has(k):
            s.fail(s.key(k), f"no {k} for an iceberg held by the venue", s.raw(k))
    price = _to_units(s, "price", s.raw("price"), tick, "price")
    display = _to_units(s, "display", s.raw("display"), lot, "qty")
    tif = _TIFS[s.str("tif", "gtc", choices=tuple(_TIFS))]
    return Action(t, "submit", oid, side, price, qty, ORDER_LIMIT, tif, display=display)


def _native_trailing(s: Section, t: int, oid: Any, side: int, qty: int, tick: Decimal) -> Action:
    """A submit of ``type: trailing_stop`` with ``held_by: venue``: a stop (with a ``price``: a stop-limit at that
    limit) whose trigger, ``stop`` at entry, the venue moves toward the prints at ``offset`` from them (docs/sim.md,
    "Trailing stops"), its ``tif`` (default gtc; a stop's gtc or day)."""
    for k in ("display", "take_profit", "stop_limit", "trigger", "expire", "expire_at"):
        if s.has(k):
            s.fail(s.key(k), f"no {k} for a trailing stop held by the venue", s.raw(k))
    stop = _to_units(s, "stop", s.raw("stop"), tick, "price")
    trail = _to_units(s, "offset", s.raw("offset"), tick, "price")
    if s.has("price"):
        price = _to_units(s, "price", s.raw("price"), tick, "price")
        tif = _TIFS[s.str("tif", "gtc", choices=tuple(_TIFS))]
        return Action(t, "submit", oid, side, price, qty, ORDER_STOP_LIMIT, tif, trigger_px=stop, trail=trail)
    tif = _TIFS[s.str("tif", "gtc", choices=("gtc", "day"))]
    return Action(t, "submit", oid, side, 0, qty, ORDER_STOP, tif, trigger_px=stop, trail=trail)


def _link(s: Section, k: str, submitted: set[Any], file: str, i: int) -> Any:
    """A submit's ``oco`` / ``parent``: the scenario id of an order submitted earlier."""
    v = s.raw(k)
    if isinstance(v, bool) or not isinstance(v, int | str) or v not in submitted:
        s.fail(s.key(k), "the id of an order submitted earlier", v)
    return v


def _submitted_before(oid: Any, submitted: set[Any], file: str, i: int) -> None:
    if oid not in submitted:
        raise SimError(f"{file}: key 'actions[{i}].id': expected the id of an order submitted earlier, "
                       f"was {oid!r}", file=file, key=f"actions[{i}].id")


def _emulated(s: Section, t: int, oid: Any, side: int, name: str, qty: int, tick: Decimal, lot: Decimal) -> Action:
    """A submit of an emulated type (`hft.sim.conditional`); a ``limit`` here is a GTD or OCO one."""
    keys = _EMULATED.get(name, ("price",))
    for k in ("price", "stop", "offset", "display", "take_profit", "stop_limit", "trigger", "tif"):
        if s.has(k) and k not in keys:
            what = "no tif (its orders are GTC limits or IOC market orders)" if k == "tif" else f"no {k} for {name}"
            s.fail(s.key(k), what, s.raw(k))

    def px(k: str) -> int:
        return _to_units(s, k, s.raw(k), tick, "price")

    price = px("price") if "price" in keys else 0
    stop = px("stop") if "stop" in keys else None
    offset = px("offset") if "offset" in keys else 0
    display = _to_units(s, "display", s.raw("display"), lot, "qty") if "display" in keys else 0
    take_profit = px("take_profit") if "take_profit" in keys else None
    stop_limit = px("stop_limit") if "stop_limit" in keys and s.has("stop_limit") else None
    expire_at = None
    if s.has("expire") and s.has("expire_at"):
        s.fail(s.key("expire_at"), "either expire (a duration) or expire_at (a local time), not both",
               s.raw("expire_at"))
    if s.has("expire"):
        expire_at = t + s.duration_ns("expire")
    elif s.has("expire_at"):
        expire_at = s.duration_ns("expire_at")
    if expire_at is not None and expire_at <= t:
        k = "expire" if s.has("expire") else "expire_at"
        s.fail(s.key(k), "a time after the action's", s.raw(k))
    trigger = s.str("trigger", choices=TRIGGERS) if s.has("trigger") else None
    return Action(t, "submit", oid, side, price, qty, ORDER_LIMIT, TIF_GTC, name, stop, offset, display,
                  take_profit, stop_limit, expire_at, trigger=trigger)


def _oco(s: Section, t: int, submitted: set[Any], emulated: dict[Any, str], paired: set[Any]) -> Action:
    ids = s.raw("ids")
    if not isinstance(ids, list) or len(ids) != 2 or ids[0] == ids[1]:
        s.fail(s.key("ids"), "two different order ids", ids)
    for k, v in enumerate(ids):
        if isinstance(v, bool) or not isinstance(v, int | str) or v not in submitted:
            s.fail(s.key(f"ids[{k}]"), "the id of an order submitted earlier", v)
        if v not in emulated:
            s.fail(s.key(f"ids[{k}]"), "an emulated order or a limit (not market / post-only)", v)
        if v in paired:
            s.fail(s.key(f"ids[{k}]"), "an order in no OCO pair yet", v)
    paired.update(ids)
    return Action(t, "oco", ids[0], kind="oco", pair=tuple(ids))


def _peek_t(raw: Any, file: str, i: int) -> int:
    """Time of an action, for the submitted-before check (errors are reported by the full parse)."""
    if not isinstance(raw, dict) or "t" not in raw:
        return -1
    try:
        return Section({"t": raw["t"]}, file, f"actions[{i}]").duration_ns("t")
    except ConfigError:
        return -1


# ======================================================================= on the engine
def scenario_events(sc: Scenario) -> np.ndarray:
    """The scenario's market as canonical events: on L2 the initial book as snapshot levels at t = 0 (local 0) (on
    L3 it is the venue's anonymous quantity, `seed_levels`, and a resume marker stands at t = 0), then its timed events in time order (file order at
    equal times), each seen locally ``feed`` later."""

    kinds = {"depth": EV_LEVEL_SET, "trade": EV_TRADE, "clear": EV_CLEAR, "add": EV_ADD, "cancel": EV_CANCEL,
             "delete": EV_DELETE, "exec": EV_EXEC, "hidden_exec": EV_HIDDEN_EXEC}
    # L3: a resume marker (EV_HALT, price 0: no effect on a book) at t = 0 starts the run's clock there
    rows = [(0, 0, EV_HALT, 0, 0, 0, 0)] if sc.venue == "l3" else [
        (0, 0, EV_SNAPSHOT_LEVEL, side, p, q, 0) for side, lv in ((BUY, sc.bids), (SELL, sc.asks)) for p, q in lv]
    rows += [(e.t, e.t + sc.feed_ns, kinds[e.kind], e.side, e.price, e.qty, e.oid)
             for e in sorted(sc.events, key=lambda e: e.t)]
    ev = empty_events(len(rows))
    for i, (t, local, kind, side, price, qty, oid) in enumerate(rows):
        ev[i] = EVENT.pack(exch_ts=t, local_ts=local, price=price, qty=qty, order_id=oid, seq=i, kind=kind, side=side,
                           flags=FLAG_EOM)
    return ev


def seed_levels(sc: Scenario) -> list[tuple[int, int, int]]:
    """An L3 scenario's initial book: (side, price, qty) of anonymous quantity resting before its first event."""
    return [(side, p, q) for side, lv in ((BUY, sc.bids), (SELL, sc.asks)) for p, q in lv] if sc.venue == "l3" else []


class ScriptedStrategy(Strategy):
    """The scenario's actions as a strategy: each action wakes it at its local time (`Context.at`) and goes
    through the gateway like any strategy's intent; every report it receives and every gateway rejection is a
    row of the trace. Emulated orders go through `hft.sim.conditional.ConditionalOrders`, fed the strategy's
    callbacks; each of their state changes is a row too (module docstring)."""

    name = STRATEGY

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc
        self.gw_id: dict[Any, int] = {}  # scenario id -> gateway order id
        self.sc_id: dict[int, Any] = {}  # gateway order id -> scenario id (an emulated order's child: its name)
        self.trace: list[dict[str, Any]] = []
        self.cond = ConditionalOrders(sc.trigger, self._changed)
        self.em: dict[Any, EmulatedOrder] = {}  # scenario id -> emulated order
        self.em_name: dict[int, Any] = {}  # emulated id -> scenario id
        self._owner: dict[int, Any] = {}  # child's gateway order id -> its emulated order's scenario id
        self._placing: Any = None  # the scenario id of the emulated order being placed
        self._parent: Any = None  # the emulated order whose child's report the emulator is being fed
        self._pairs: dict[Any, int] = {}  # bracket -> take-profit / stop pairs placed

    def on_start(self, ctx: Context) -> None:
        for act in self.sc.actions:
            ctx.at(act.t, act)

    def on_book(self, ctx: Context) -> None:
        self.cond.on_book(ctx)
        self._adopt(ctx)

    def on_trade(self, ctx: Context, side: int, price: int, qty: int) -> None:
        self.cond.on_trade(ctx, side, price, qty)
        self._adopt(ctx)

    def on_wake(self, ctx: Context, act: Any) -> None:
        if self.cond.on_wake(ctx, act):  # an emulated order's expiry
            self._adopt(ctx)
            return
        if act.kind:
            self._emulated(ctx, act)
            return
        if act.op == "submit":
            d = ctx.submit(act.side, act.price, act.qty, act.order_type, act.tif, act.trigger_px, act.expire_ns,
                           act.display, act.trail, self._link(act.oco), self._link(act.parent))
            if d.accepted:
                self.gw_id[act.id] = int(d.order_id)
                self.sc_id[int(d.order_id)] = act.id
        else:
            target = self.gw_id.get(act.id)
            if target is None:  # the submit was rejected by the gateway: nothing to cancel
                self._row(ctx.now, act.id, "REJECTED", source="gateway", reason="UNKNOWN_ORDER", op=act.op)
                return
            d = ctx.cancel(target) if act.op == "cancel" else ctx.replace(target, act.price, act.qty)
        if not d.accepted:
            self._row(ctx.now, act.id, "REJECTED", source="gateway", reason=d.reason_name, op=act.op)

    def _link(self, sc_id: Any) -> int:
        """The gateway order id of the order an action names with ``oco`` / ``parent`` (None: 0, no link; one the
        gateway refused: -1, which it refuses as BAD_LINK)."""
        return 0 if sc_id is None else self.gw_id.get(sc_id, -1)

    def _emulated(self, ctx: Context, act: Action) -> None:
        """Place, cancel or pair emulated orders (the conditional component's calls)."""
        c = self.cond
        if act.op == "oco":
            c.oco(ctx, self.em[act.pair[0]], self.em[act.pair[1]])
        elif act.op == "cancel":
            c.cancel(ctx, self.em[act.id])
        else:
            self._placing = act.id
            if act.kind in ("stop", "stop_limit"):
                c.stop(ctx, act.side, act.stop, act.qty, limit=act.price if act.kind == "stop_limit" else None,
                       expire_at=act.expire_at, trigger=act.trigger)
            elif act.kind == "trailing_stop":
                c.trailing_stop(ctx, act.side, act.offset, act.qty, expire_at=act.expire_at, trigger=act.trigger)
            elif act.kind == "iceberg":
                c.iceberg(ctx, act.side, act.price, act.qty, act.display, expire_at=act.expire_at)
            elif act.kind == "bracket":
                assert act.take_profit is not None and act.stop is not None
                c.bracket(ctx, act.side, act.price, act.qty, act.take_profit, act.stop, stop_limit=act.stop_limit,
                          expire_at=act.expire_at, trigger=act.trigger)
            else:
                c.limit(ctx, act.side, act.price, act.qty, expire_at=act.expire_at)
        self._adopt(ctx)

    def on_order_update(self, ctx: Context, u: OrderUpdate) -> None:
        fill = u.kind in (REPORT_FILL, REPORT_PARTIAL_FILL)
        # fills: exec price / qty; REPLACED: the new price / size; TRIGGERED: the print's price
        shown = fill or u.kind == REPORT_REPLACED or u.kind == REPORT_TRIGGERED
        self._row(u.ts, self.sc_id.get(u.order_id, u.order_id), STATUS_OF_REPORT.get(u.kind, str(u.kind)),
                  source="venue", exch_ts=u.exch_ts, price=u.price if shown else None,
                  qty=u.qty if shown and u.kind != REPORT_TRIGGERED else None,
                  leaves=u.leaves, liquidity=("maker" if u.maker else "taker") if fill else None,
                  fee=_money(u.fee, u.fee_frac) if fill else None)
        self._parent = self._owner.get(u.order_id)
        if self._parent is not None:  # after its row: the emulator's reactions follow the report
            self.cond.on_order_update(ctx, u)
            self._adopt(ctx)
            self._parent = None

    # --- the emulated orders' rows -------------------------------------------------------------------------------
    def _adopt(self, ctx: Context) -> None:
        """After a call into the emulator: the new orders' rows, then a ``working`` row for each child sent without
        a state change (an iceberg's next part)."""
        self._adopt_new(ctx)
        for o in self.cond.orders.values():
            for child in self._children(o):
                self._em_row(ctx, o, "working", child)

    def _adopt_new(self, ctx: Context) -> None:
        """Name the emulated orders not named yet, oldest first; a ``held`` row for each still held."""
        for o in self.cond.orders.values():
            if o.id not in self.em_name:
                self._name(o)
                if o.status == "held":
                    self._em_row(ctx, o, "held")

    def _name(self, o: EmulatedOrder) -> None:
        """A placed order takes its action's id; a bracket's take profit and stop for its n-th fill are
        ``<id>.tp<n>`` and ``<id>.sl<n>``."""
        if self._placing is not None:
            name, self._placing = self._placing, None
        else:
            parent = self._parent
            if o.kind == "limit":
                self._pairs[parent] = self._pairs.get(parent, 0) + 1
            name = f"{parent}.{'tp' if o.kind == 'limit' else 'sl'}{self._pairs.get(parent, 0)}"
        self.em[name] = o
        self.em_name[o.id] = name

    def _children(self, o: EmulatedOrder) -> list[Any]:
        """The children of `o` not named yet, named ``<id>#<n>`` (its n-th child) and mapped to their order ids."""
        name = self.em_name[o.id]
        new = []
        for n, oid in enumerate(o.children, 1):
            if oid not in self.sc_id:
                self.sc_id[oid] = f"{name}#{n}"
                self._owner[oid] = name
                new.append(self.sc_id[oid])
        return new

    def _changed(self, ctx: Context, o: EmulatedOrder) -> None:
        """`ConditionalOrders`' on_change: a row for the state change (``working``: with the child it sent).
        Orders made before it (a bracket's held stop) get their rows first."""
        self._adopt_new(ctx)
        if o.status == "working":
            for child in self._children(o):
                self._em_row(ctx, o, "working", child)
        else:
            self._em_row(ctx, o, o.status)

    def _em_row(self, ctx: Context, o: EmulatedOrder, status: str, child: Any = None) -> None:
        row: dict[str, Any] = {"t_ns": ctx.now, "id": self.em_name[o.id], "status": status, "price": None,
                               "qty": None, "leaves": None, "liquidity": None, "fee": None, "exch_ts": None,
                               "source": "emulator", "child": child, "stop": o.stop, "filled": o.filled}
        if status == "rejected":
            row["reason"] = o.reason
        self.trace.append(row)

    def _row(self, t: int, oid: Any, status: str, *, source: str, exch_ts: int | None = None,
             price: int | None = None, qty: int | None = None, leaves: int | None = None,
             liquidity: str | None = None, fee: int | float | None = None, reason: str | None = None,
             op: str | None = None) -> None:
        row: dict[str, Any] = {"t_ns": t, "id": oid, "status": status, "price": price, "qty": qty,
                               "leaves": leaves, "liquidity": liquidity, "fee": fee, "exch_ts": exch_ts,
                               "source": source}
        if reason is not None:
            row["reason"] = reason
            row["op"] = op
        self.trace.append(row)


def _children_bound(a: Action) -> int:
    """At most how many commands an emulated order sends beyond its action (0 for a plain order): a child and its
    cancel; an iceberg's parts; a bracket's take profit, stop and cancel for each lot filled."""
    if not a.kind or a.op != "submit":
        return 0
    if a.kind == "iceberg":
        return -(-a.qty // a.display) + 1
    return 2 + (3 * a.qty if a.kind == "bracket" else 0)


def _commands(sc: Scenario) -> int:
    return len(sc.actions) + sum(_children_bound(a) for a in sc.actions)


def venue_capacity(sc: Scenario) -> int:
    """The venue's order slots for the scenario: one per command it may send (at least 16)."""
    return max(16, _commands(sc) + 1)


def gateway_config(sc: Scenario) -> Any:
    """The scenario's permissive gateway config (module docstring), sized for its commands, with its limits."""
    return sim_gateway_config(sc.symbol, STRATEGY, multiplier=sc.multiplier, working_orders=2 * venue_capacity(sc),
                              dedup_capacity=2 * _commands(sc), limits=sc.limits,
                              file=f"<gateway config for {sc.file}>")


def build_engine(sc: Scenario, strategy: Strategy) -> Any:
    """The replay engine (`hft.sim.engine_nb.NbEngine`, as `hft replay` runs) set up for the scenario: its L2
    venue, latencies, fees and a permissive gateway (module docstring)."""

    prices = [p for p, _ in sc.bids + sc.asks] + [e.price for e in sc.events if e.kind != "clear"] + \
             [p for a in sc.actions for p in (a.price, a.take_profit, a.stop_limit) if p]
    lo, hi = (min(prices), max(prices)) if prices else (0, 0)
    capacity, cfg = venue_capacity(sc), gateway_config(sc)

    def gateway(clock: Any, dispatcher: Any, sink: Any) -> Any:
        return GatewayService(cfg, clock=clock, dispatcher=dispatcher, sink=sink, private_arena=True)

    ecfg = EngineConfig(entry=constant(sc.entry_ns), response=constant(sc.response_ns), feed=None,
                        account=ACCOUNT, strategy=STRATEGY)
    if sc.venue == "l3":
        l3 = L3Venue(mode=EXCHANGE_MODES[sc.exchange], fees=sc.fees, multiplier=sc.money, capacity=capacity)
        seeds = seed_levels(sc)
        for side, p, q in seeds:
            l3.seed_level(side, p, q)
        return NbEngine(scenario_events(sc), l3, gateway, strategy, sc.symbol, ecfg, book_level="L3",
                        seed_levels=seeds)
    venue = L2Venue(new_book(lo - 64, hi + 64, lo - 64, hi + 64), parse_queue_model(sc.queue_model),
                    EXCHANGE_MODES[sc.exchange], sc.fees, sc.money, capacity=capacity)
    return NbEngine(scenario_events(sc), L2MarketVenue(venue), gateway, strategy, sc.symbol, ecfg)


def run_scenario(sc: Scenario) -> dict[str, Any]:
    """Run a parsed scenario on the replay engine; returns the JSON-friendly result (module docstring)."""
    script = ScriptedStrategy(sc)
    eng = build_engine(sc, script)
    out = eng.run(multiplier=sc.money)  # the money factor: linear or inverse accounting (hft.sim.fees)
    gw_pos = eng.gw.position(ACCOUNT, STRATEGY, sc.symbol)
    decisions = list(out.decision_records)
    rows = []
    for r in script.trace:
        r = dict(r)
        r["price_dec"] = sc.px(r["price"]) if r["price"] is not None else None
        r["qty_dec"] = sc.qty(r["qty"]) if r["qty"] is not None else None
        if r["source"] == "emulator":
            r["stop_dec"] = sc.px(r["stop"]) if r["stop"] is not None else None
        rows.append(r)

    money_unit = (Decimal(1) / (INVERSE_UNITS * sc.multiplier) if sc.kind == "inverse"
                  else sc.tick_size * sc.lot_size * sc.contract_size / sc.multiplier)
    return {
        "ok": True,
        "file": sc.file,
        "symbol": sc.symbol,
        "queue_model": sc.queue_model,
        "exchange": sc.exchange,
        "venue": sc.venue,
        "latency_ns": {"entry": sc.entry_ns, "response": sc.response_ns, "feed": sc.feed_ns},
        "fees": sc.fees.as_dict(),
        "trace": rows,
        "position": out.final["position"],
        "position_dec": sc.qty(out.final["position"]),
        "balance": _money(out.final["cash"], -out.final["fee_frac"]),
        "fees_paid": _money(out.final["fees"], out.final["fee_frac"]),
        "trades": len(out.fills),
        "maker_trades": int((out.fills["liquidity"] == 1).sum()),
        "money_unit": _fmt(money_unit),
        "settlement": "coin" if sc.kind == "inverse" else "quote",
        "balance_dec": format((Decimal(out.final["cash"]) - Decimal(out.final["fee_frac"]) / FEE_FRAC_UNITS)
                              * money_unit, "f"),
        "gateway": {"position": int(gw_pos.position), "working_buy": int(gw_pos.working_buy),
                    "working_sell": int(gw_pos.working_sell), "decisions": len(decisions),
                    "rejected": sum(1 for d in decisions if not d.accepted)},
    }


def _money(whole: int, frac: int) -> int | float:
    """An exact amount ``whole + frac / 1e6`` money units (`hft.core.money`) as the trace shows it: an integer when
    it is one, else its decimal (a millionth is the finest: a float prints it exactly)."""
    return int(whole) if not frac else float(Decimal(int(whole)) + Decimal(int(frac)) / FEE_FRAC_UNITS)


def run_file(path: str | Path) -> dict[str, Any]:
    """Load, validate and run a scenario file."""
    return run_scenario(load_scenario(path))
