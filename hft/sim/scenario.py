"""Scripted venue scenarios: ``hft sim scenario FILE.yaml`` (issue 4, "Scripted scenarios").

A scenario file fixes an instrument, latencies, fees, a queue model, an exchange mode, an initial book, timed
market events (exchange time) and timed order actions (local time). Every action goes through a real
`hft.gateway.GatewayService` (per-intent ``process()``, a permissive in-memory config built from the scenario:
one account ``SIM``, one strategy ``scenario``, the scenario's symbol, no limits apart from ``min_qty: 1``);
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

``type``: limit | market | post_only (default limit); ``tif``: gtc | ioc | fok | day (default gtc; market
orders default to ioc). Market orders carry no price. Prices / quantities are decimals converted exactly to
ticks / lots. ``id`` is the scenario's own name for an order (int or string); a cancel / replace must name an
id submitted by an earlier action (same time: earlier in the list).

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

Output (`run_scenario` → dict): the trace (one row per report received locally, and one per gateway rejection),
the final position (lots), balance (cash, money units: ``Σ cash_flow − fees``, i.e. ``-Σ side·price·qty·multiplier
− fees`` for a linear instrument; `hft.sim.fees`), fees (money units, positive = paid), trade count, plus the
gateway's view of the position. Fees are exact (`hft.core.money`): a fill's ``fee``, the balance and ``fees_paid``
are integers when they are whole and decimals to the millionth of a unit when a rate makes them so. ``money_unit`` is one money unit in the settlement currency (the quote currency,
or the coin of an inverse contract; ``settlement`` says which).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np

from hft.book.l2 import new_book
from hft.config.strict import Section, load_yaml
from hft.core.dtypes import (
    BUY,
    EV_CLEAR,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TRADE,
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
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    TIF_DAY,
    TIF_FOK,
    TIF_GTC,
    TIF_IOC,
)
from hft.gateway import GatewayService
from hft.sim.engine import EngineConfig, L2MarketVenue
from hft.sim.engine_nb import NbEngine
from hft.sim.exchange_l2 import EXCHANGE_MODES, L2Venue
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
}

_SIDES = {"buy": BUY, "sell": SELL}
_TYPES = {"limit": ORDER_LIMIT, "market": ORDER_MARKET, "post_only": ORDER_POST_ONLY}
_TIFS = {"gtc": TIF_GTC, "ioc": TIF_IOC, "fok": TIF_FOK, "day": TIF_DAY}

@dataclass(frozen=True)
class MarketEvent:
    t: int
    kind: str  # depth | trade | clear
    side: int  # depth: level side; trade: aggressor; clear: side or 0
    price: int
    qty: int


@dataclass(frozen=True)
class Action:
    t: int
    op: str  # submit | cancel | replace
    id: int | str
    side: int = 0
    price: int = 0
    qty: int = 0
    order_type: int = ORDER_LIMIT
    tif: int = TIF_GTC


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

    events: list[MarketEvent] = []
    raw_events = root.raw("events", [])
    if not isinstance(raw_events, list):
        root.fail("events", "a list of market events", raw_events)
    for i, ev in enumerate(raw_events):
        s = Section(ev, file, f"events[{i}]")
        t = s.duration_ns("t")
        kind = s.str("kind", choices=("depth", "trade", "clear"))
        if kind == "depth":
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
        events.append(MarketEvent(t, kind, side, price, qty))

    actions: list[Action] = []
    submitted: set[Any] = set()
    raw_actions = root.raw("actions", [])
    if not isinstance(raw_actions, list):
        root.fail("actions", "a list of order actions", raw_actions)
    order = sorted(range(len(raw_actions)), key=lambda k: _peek_t(raw_actions[k], file, k))
    parsed: dict[int, Action] = {}
    for i in order:
        s = Section(raw_actions[i], file, f"actions[{i}]")
        t = s.duration_ns("t")
        op = s.str("op", choices=("submit", "cancel", "replace"))
        oid = _id(s)
        if op == "submit":
            if oid in submitted:
                s.fail(s.key("id"), "an id not submitted before", oid)
            submitted.add(oid)
            side = _SIDES[s.str("side", choices=tuple(_SIDES))]
            otype = _TYPES[s.str("type", "limit", choices=tuple(_TYPES))]
            tif = _TIFS[s.str("tif", "ioc" if otype == ORDER_MARKET else "gtc", choices=tuple(_TIFS))]
            if otype == ORDER_MARKET:
                if s.has("price"):
                    s.fail(s.key("price"), "no price for a market order", s.raw("price"))
                price = 0
            else:
                price = _to_units(s, "price", s.raw("price"), tick, "price")
            qty = _to_units(s, "qty", s.raw("qty"), lot, "qty")
            act = Action(t, op, oid, side, price, qty, otype, tif)
        elif op == "cancel":
            if oid not in submitted:
                raise SimError(f"{file}: key 'actions[{i}].id': expected the id of an order submitted earlier, "
                               f"was {oid!r}", file=file, key=f"actions[{i}].id")
            act = Action(t, op, oid)
        else:
            if oid not in submitted:
                raise SimError(f"{file}: key 'actions[{i}].id': expected the id of an order submitted earlier, "
                               f"was {oid!r}", file=file, key=f"actions[{i}].id")
            price = _to_units(s, "price", s.raw("price"), tick, "price")
            qty = _to_units(s, "qty", s.raw("qty"), lot, "qty")
            act = Action(t, op, oid, 0, price, qty)
        s.done()
        parsed[i] = act
    actions = [parsed[i] for i in range(len(raw_actions))]
    root.done()
    sc = Scenario(file, symbol, tick, lot, mult, entry, response, feed, fees, qm, mode, bids, asks,
                  tuple(events), tuple(actions), inst_kind, contract)
    try:
        sc.money  # noqa: B018 - an inexact inverse contract value fails here, naming the file
    except ConfigError as e:
        raise ConfigError(f"{file}: {e}", file=file, key="instrument.contract_size") from None
    return sc


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
    """The scenario's market as canonical events: the initial book as snapshot levels at t = 0 (local 0), then
    its timed events in time order (file order at equal times), each seen locally ``feed`` later."""

    kinds = {"depth": EV_LEVEL_SET, "trade": EV_TRADE, "clear": EV_CLEAR}
    rows = [(0, 0, EV_SNAPSHOT_LEVEL, side, p, q) for side, lv in ((BUY, sc.bids), (SELL, sc.asks)) for p, q in lv]
    rows += [(e.t, e.t + sc.feed_ns, kinds[e.kind], e.side, e.price, e.qty)
             for e in sorted(sc.events, key=lambda e: e.t)]
    ev = empty_events(len(rows))
    for i, (t, local, kind, side, price, qty) in enumerate(rows):
        ev[i] = (t, local, price, qty, 0, i, kind, side, FLAG_EOM)
    return ev


class ScriptedStrategy(Strategy):
    """The scenario's actions as a strategy: each action wakes it at its local time (`Context.at`) and goes
    through the gateway like any strategy's intent; every report it receives and every gateway rejection is a
    row of the trace."""

    name = STRATEGY

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc
        self.gw_id: dict[Any, int] = {}  # scenario id -> gateway order id
        self.sc_id: dict[int, Any] = {}
        self.trace: list[dict[str, Any]] = []

    def on_start(self, ctx: Context) -> None:
        for act in self.sc.actions:
            ctx.at(act.t, act)

    def on_wake(self, ctx: Context, act: Action) -> None:
        if act.op == "submit":
            d = ctx.submit(act.side, act.price, act.qty, act.order_type, act.tif)
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

    def on_order_update(self, ctx: Context, u: OrderUpdate) -> None:
        fill = u.kind in (REPORT_FILL, REPORT_PARTIAL_FILL)
        shown = fill or u.kind == REPORT_REPLACED  # fills: exec price / qty; REPLACED: the new price / size
        self._row(u.ts, self.sc_id.get(u.order_id, u.order_id), STATUS_OF_REPORT.get(u.kind, str(u.kind)),
                  source="venue", exch_ts=u.exch_ts, price=u.price if shown else None, qty=u.qty if shown else None,
                  leaves=u.leaves, liquidity=("maker" if u.maker else "taker") if fill else None,
                  fee=_money(u.fee, u.fee_frac) if fill else None)

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


def build_engine(sc: Scenario, strategy: Strategy) -> Any:
    """The replay engine (`hft.sim.engine_nb.NbEngine`, as `hft replay` runs) set up for the scenario: its L2
    venue, latencies, fees and a permissive gateway (module docstring)."""

    prices = [p for p, _ in sc.bids + sc.asks] + [e.price for e in sc.events if e.kind != "clear"] + \
             [a.price for a in sc.actions if a.price > 0]
    lo, hi = (min(prices), max(prices)) if prices else (0, 0)
    capacity = max(16, len(sc.actions) + 1)
    venue = L2Venue(new_book(lo - 64, hi + 64, lo - 64, hi + 64), parse_queue_model(sc.queue_model),
                    EXCHANGE_MODES[sc.exchange], sc.fees, sc.money, capacity=capacity)
    cfg = sim_gateway_config(sc.symbol, STRATEGY, multiplier=sc.multiplier, working_orders=2 * capacity,
                             dedup_capacity=2 * len(sc.actions), file=f"<gateway config for {sc.file}>")

    def gateway(clock: Any, dispatcher: Any, sink: Any) -> Any:
        return GatewayService(cfg, clock=clock, dispatcher=dispatcher, sink=sink, private_arena=True)

    ecfg = EngineConfig(entry=constant(sc.entry_ns), response=constant(sc.response_ns), feed=None,
                        account=ACCOUNT, strategy=STRATEGY)
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
        rows.append(r)

    money_unit = (Decimal(1) / (INVERSE_UNITS * sc.multiplier) if sc.kind == "inverse"
                  else sc.tick_size * sc.lot_size * sc.contract_size / sc.multiplier)
    return {
        "ok": True,
        "file": sc.file,
        "symbol": sc.symbol,
        "queue_model": sc.queue_model,
        "exchange": sc.exchange,
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
