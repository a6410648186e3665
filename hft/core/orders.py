"""Order-flow codes and structured dtypes, defined once: intents, commands, decisions, execution reports.

Used by the gateway (`hft.gateway`) and the simulator. Everything is an integer: times int64 ns UTC, prices
integer ticks, quantities integer lots, money in integer *money units* (``price_ticks * qty_lots *
multiplier``, where ``multiplier`` is a per-symbol integer configured in the gateway).

Sides are `hft.core.dtypes.BUY` (1) and `hft.core.dtypes.SELL` (-1).

Records (`hft.core.records`: each declared once, with its fields' types, units, docs and enum names; its
structured dtype generated: little-endian, int64 fields first, ``align=True``):

``INTENT`` / ``INTENT_DTYPE`` (80 bytes) — one typed order intent, the input of the batch path
    ts, key, price, qty, order_id (target of cancel / replace), account, strategy, symbol (registry indices,
    see ``GatewayService.account_id`` …), kind, side, order_type, tif, trigger, expire, display.
``DECISION`` / ``DECISION_DTYPE`` (112 bytes) — one gateway decision (accepted or not)
    seq, ts (decided), recv_ts, key, order_id, target_id, price, qty, account, strategy, symbol, reason, kind,
    side, order_type, tif, accepted, duplicate, trigger, expire, display.
``COMMAND`` / ``COMMAND_DTYPE`` (80 bytes) — one command to the venue
    ts, order_id, key, price, qty, account, strategy, symbol, action, side, order_type, tif, trigger, expire,
    display.
``EXEC_REPORT`` / ``EXEC_REPORT_DTYPE`` (64 bytes) — one execution report from the venue
    ts, order_id, price, qty (filled now / new size for REPLACED), leaves (remaining after this report),
    fee (money units, positive = paid; the floor of the exact fee), fee_frac (its millionths beyond ``fee``,
    ``0 <= fee_frac < 1_000_000``: `hft.sim.fees`), kind.
``VENUE_REPORT`` / ``VENUE_REPORT_DTYPE`` (72 bytes) — a simulated venue's report: the execution report's
    fields, then liquidity (``LIQ_*``) and queue (an ACK's queue ahead at entry, lots; -1 otherwise).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from hft.core.dtypes import BUY as BUY  # re-exported: sides are defined in hft.core.dtypes
from hft.core.dtypes import SELL as SELL
from hft.core.records import Field, Record

# --- intent kinds ------------------------------------------------------------------------------------------
INTENT_NEW = 1
INTENT_CANCEL = 2
INTENT_REPLACE = 3
INTENT_KIND_NAMES: dict[int, str] = {INTENT_NEW: "new", INTENT_CANCEL: "cancel", INTENT_REPLACE: "replace"}
SIDE_NAMES: dict[int, str] = {BUY: "buy", SELL: "sell"}

# --- order types -------------------------------------------------------------------------------------------
ORDER_LIMIT = 1
ORDER_MARKET = 2
ORDER_POST_ONLY = 3
# venue-native stops (docs/sim.md, "Stop orders held by the venue"): the venue holds the order (not in the book)
# until a print reaches its `trigger` price, then enters it as a market IOC order (stop) or a limit order at its
# `price` with its TIF (stop-limit)
ORDER_STOP = 4
ORDER_STOP_LIMIT = 5
ORDER_TYPE_NAMES: dict[int, str] = {ORDER_LIMIT: "limit", ORDER_MARKET: "market", ORDER_POST_ONLY: "post_only",
                                    ORDER_STOP: "stop", ORDER_STOP_LIMIT: "stop_limit"}
ORDER_TYPE_MAX = max(ORDER_TYPE_NAMES)  # the largest order-type code (kernels bound a code by it)
STOP_TYPES: tuple[int, ...] = (ORDER_STOP, ORDER_STOP_LIMIT)  # the types that carry a trigger price
ICEBERG_TYPES: tuple[int, ...] = (ORDER_LIMIT, ORDER_POST_ONLY)  # the types that may show a display (an iceberg)
# the types a bracket child may be (an order with a `parent`: a take-profit limit, a stop, a stop-limit)
CHILD_TYPES: tuple[int, ...] = (ORDER_LIMIT, ORDER_STOP, ORDER_STOP_LIMIT)

# --- time in force -----------------------------------------------------------------------------------------
TIF_GTC = 1
TIF_IOC = 2
TIF_FOK = 3
TIF_DAY = 4
# good till date: the order works until its `expire` time (ns UTC), then the venue reports EXPIRED (docs/sim.md,
# "Good till date")
TIF_GTD = 5
TIF_NAMES: dict[int, str] = {TIF_GTC: "gtc", TIF_IOC: "ioc", TIF_FOK: "fok", TIF_DAY: "day", TIF_GTD: "gtd"}
TIF_MAX = max(TIF_NAMES)

# --- command actions (same numbers as intent kinds) --------------------------------------------------------
CMD_NEW = INTENT_NEW
CMD_CANCEL = INTENT_CANCEL
CMD_REPLACE = INTENT_REPLACE

# --- execution report kinds --------------------------------------------------------------------------------
REPORT_ACK = 1  # venue accepted the order (working)
REPORT_PARTIAL_FILL = 2  # qty filled, order still working
REPORT_FILL = 3  # qty filled, order done
REPORT_CANCELED = 4  # order removed on request
REPORT_REJECTED = 5  # venue refused the order
REPORT_EXPIRED = 6  # removed by TIF / session end (IOC remainder included)
REPORT_REPLACED = 7  # replace applied: price / qty are the new values
REPORT_REPLACE_REJECTED = 8  # replace refused; the order keeps its old price and size
REPORT_CANCEL_REJECTED = 9  # cancel refused (e.g. too late); the order is still working
REPORT_TRIGGERED = 10  # a held stop's trigger was reached: the venue entered it as a market / limit order (price:
# the print that triggered it; leaves: the order's open size)
REPORT_KIND_NAMES: dict[int, str] = {
    REPORT_ACK: "ack",
    REPORT_PARTIAL_FILL: "partial_fill",
    REPORT_FILL: "fill",
    REPORT_CANCELED: "canceled",
    REPORT_REJECTED: "rejected",
    REPORT_EXPIRED: "expired",
    REPORT_REPLACED: "replaced",
    REPORT_REPLACE_REJECTED: "replace_rejected",
    REPORT_CANCEL_REJECTED: "cancel_rejected",
    REPORT_TRIGGERED: "triggered",
}

# --- order statuses (as the venue / simulator reports them) ------------------------------------------------
STATUS_PENDING_NEW = 1
STATUS_WORKING = 2
STATUS_PARTIALLY_FILLED = 3
STATUS_FILLED = 4
STATUS_CANCELED = 5
STATUS_REJECTED = 6
STATUS_EXPIRED = 7
STATUS_PENDING_CANCEL = 8
STATUS_PENDING_REPLACE = 9
ORDER_STATUS_NAMES: dict[int, str] = {
    STATUS_PENDING_NEW: "pending_new",
    STATUS_WORKING: "working",
    STATUS_PARTIALLY_FILLED: "partially_filled",
    STATUS_FILLED: "filled",
    STATUS_CANCELED: "canceled",
    STATUS_REJECTED: "rejected",
    STATUS_EXPIRED: "expired",
    STATUS_PENDING_CANCEL: "pending_cancel",
    STATUS_PENDING_REPLACE: "pending_replace",
}

# --- policy modes and storm levels -------------------------------------------------------------------------
MODE_ALLOW_ALL = 0
MODE_CANCEL_ONLY = 1
MODE_REJECT_ALL = 2
MODE_NAMES: dict[int, str] = {MODE_ALLOW_ALL: "ALLOW_ALL", MODE_CANCEL_ONLY: "CANCEL_ONLY",
                              MODE_REJECT_ALL: "REJECT_ALL"}

STORM_NORMAL = 0
STORM_DEGRADED = 1
STORM_HALT = 2
STORM_NAMES: dict[int, str] = {STORM_NORMAL: "NORMAL", STORM_DEGRADED: "DEGRADED", STORM_HALT: "HALT"}

# --- flags returned by report / mark processing (bit set) --------------------------------------------------
RISK_FLAG_LOSS_BREACH = 1  # a daily-loss limit is breached (strategy or account)
RISK_FLAG_POSITION_BREACH = 2  # a fill left |position| above its limit
RISK_FLAG_MARKET_MOVE = 4  # the mark moved more than storm.market_move_bps within the window
RISK_FLAG_UNKNOWN_ORDER = 8  # report for an order the gateway does not know (counted, ignored)
RISK_FLAG_BAD_REPORT = 16  # malformed report / mark (ignored)

# --- decision reason codes (0 = accepted) ------------------------------------------------------------------
R_OK = 0
# policy (step 2)
R_POLICY_CANCEL_ONLY = 1
R_POLICY_REJECT_ALL = 2
R_GATEWAY_DISABLED = 3
R_STRATEGY_CANCEL_ONLY = 4  # the strategy's own mode (an operator's): new orders and replaces refused, cancels pass
R_STRATEGY_DISABLED = 5  # likewise, the strategy disabled (its working orders were cancelled when it was)
# input decoding / static validity
R_UNKNOWN_ACCOUNT = 10
R_UNKNOWN_STRATEGY = 11
R_UNKNOWN_SYMBOL = 12
R_UNKNOWN_ORDER = 13
R_BAD_INPUT = 14  # a field of the wrong type (float, str, NaN, None ...)
R_BAD_KEY = 15  # missing / unusable idempotency key
R_BAD_SIDE = 16
R_BAD_QTY = 17
R_BAD_PRICE = 18
R_BAD_KIND = 19
R_UNSUPPORTED_ORDER_TYPE = 20
R_UNSUPPORTED_TIF = 21
R_ORDER_PENDING = 22  # cancel / replace of an order with a cancel or replace still in flight
R_KEY_REUSED = 23  # an idempotency key already decided for a different request (a dedup hit, fingerprints differ)
R_BAD_TRIGGER = 24  # a stop / stop-limit without a trigger price > 0, or a trigger on another order type
R_UNSUPPORTED_REPLACE = 25  # a replace of a held stop / stop-limit (not supported: cancel and submit again)
R_BAD_EXPIRE = 26  # a GTD order whose expire time is not after the decision's, or an expire time on another TIF
R_BAD_DISPLAY = 27  # an iceberg's display: not 0 < display < qty, on an order type other than limit / post-only,
# or on a cancel / replace (a replace keeps the order's display)
R_BAD_TRAIL = 28  # a trailing stop's distance: not > 0, not a whole number of ticks, on an order type other than
# stop / stop-limit, or on a cancel / replace
R_BAD_LINK = 29  # an OCO / bracket link (`oco`, `parent`): < 0, the order's own id, no order of the same account,
# strategy and instrument in the gateway's order table (working, or ended with its row not yet taken), a bracket child of a type other than limit / stop / stop-limit, or on a cancel /
# replace
# exposure (step 3)
R_POSITION_LIMIT = 30
R_NOTIONAL_LIMIT = 31
R_EXPOSURE_CARDINALITY = 32  # ExposureLimitError: no room for another (account, strategy, symbol) entry
R_SYMBOL_CAPACITY = 33  # an unlisted symbol (allow_unlisted_symbols) with the registry full (capacity.max_symbols)
R_LONG_LIMIT = 34  # a buy whose worst-case long (position + working buys + it) exceeds max_long
R_SHORT_LIMIT = 35  # a sell whose worst-case short (working sells + it - position) exceeds max_short
R_BUYING_POWER = 36  # the account's required margin with the order would exceed its cash + realised PnL
# risk (step 4)
R_OFF_TICK = 40
R_OFF_LOT = 41
R_QTY_BELOW_MIN = 42
R_MAX_ORDER_QTY = 43
R_MAX_ORDER_NOTIONAL = 44
R_NO_REFERENCE_PRICE = 45
R_PRICE_BAND = 46
R_SUBMIT_RATE = 47
R_CANCEL_RATE = 48
R_DAILY_LOSS = 49
R_REPEAT_THROTTLE = 50
R_SELF_MATCH = 51
R_ORDER_TABLE_FULL = 52
R_MIN_NOTIONAL = 53  # exchange filter: order value below the symbol's min_notional
R_RISK_CHECK = 54  # a risk check of the house's own (`hft.gateway.risk_checks`) denied it
# the submit rate's other windows (R_SUBMIT_RATE: the strategy's first, shortest window)
R_SUBMIT_RATE_2 = 55  # the strategy's second window
R_ACCOUNT_SUBMIT_RATE = 56  # the account's own first window
R_ACCOUNT_SUBMIT_RATE_2 = 57  # the account's own second window
# around the pipeline
R_QUEUE_FULL = 60
R_DISPATCH_FAILED = 61
R_INTERNAL_ERROR = 62

N_REASONS = 64

REASON_NAMES: dict[int, str] = {
    R_OK: "OK",
    R_POLICY_CANCEL_ONLY: "POLICY_CANCEL_ONLY",
    R_POLICY_REJECT_ALL: "POLICY_REJECT_ALL",
    R_GATEWAY_DISABLED: "GATEWAY_DISABLED",
    R_STRATEGY_CANCEL_ONLY: "STRATEGY_CANCEL_ONLY",
    R_STRATEGY_DISABLED: "STRATEGY_DISABLED",
    R_UNKNOWN_ACCOUNT: "UNKNOWN_ACCOUNT",
    R_UNKNOWN_STRATEGY: "UNKNOWN_STRATEGY",
    R_UNKNOWN_SYMBOL: "UNKNOWN_SYMBOL",
    R_UNKNOWN_ORDER: "UNKNOWN_ORDER",
    R_BAD_INPUT: "BAD_INPUT",
    R_BAD_KEY: "BAD_KEY",
    R_BAD_SIDE: "BAD_SIDE",
    R_BAD_QTY: "BAD_QTY",
    R_BAD_PRICE: "BAD_PRICE",
    R_BAD_KIND: "BAD_KIND",
    R_UNSUPPORTED_ORDER_TYPE: "UNSUPPORTED_ORDER_TYPE",
    R_UNSUPPORTED_TIF: "UNSUPPORTED_TIF",
    R_ORDER_PENDING: "ORDER_PENDING",
    R_KEY_REUSED: "KEY_REUSED",
    R_BAD_TRIGGER: "BAD_TRIGGER",
    R_UNSUPPORTED_REPLACE: "UNSUPPORTED_REPLACE",
    R_BAD_EXPIRE: "BAD_EXPIRE",
    R_BAD_DISPLAY: "BAD_DISPLAY",
    R_BAD_TRAIL: "BAD_TRAIL",
    R_BAD_LINK: "BAD_LINK",
    R_POSITION_LIMIT: "POSITION_LIMIT",
    R_NOTIONAL_LIMIT: "NOTIONAL_LIMIT",
    R_EXPOSURE_CARDINALITY: "EXPOSURE_CARDINALITY",
    R_SYMBOL_CAPACITY: "SYMBOL_CAPACITY",
    R_LONG_LIMIT: "LONG_LIMIT",
    R_SHORT_LIMIT: "SHORT_LIMIT",
    R_BUYING_POWER: "BUYING_POWER",
    R_OFF_TICK: "OFF_TICK",
    R_OFF_LOT: "OFF_LOT",
    R_QTY_BELOW_MIN: "QTY_BELOW_MIN",
    R_MAX_ORDER_QTY: "MAX_ORDER_QTY",
    R_MAX_ORDER_NOTIONAL: "MAX_ORDER_NOTIONAL",
    R_NO_REFERENCE_PRICE: "NO_REFERENCE_PRICE",
    R_PRICE_BAND: "PRICE_BAND",
    R_SUBMIT_RATE: "SUBMIT_RATE",
    R_CANCEL_RATE: "CANCEL_RATE",
    R_DAILY_LOSS: "DAILY_LOSS",
    R_REPEAT_THROTTLE: "REPEAT_THROTTLE",
    R_SELF_MATCH: "SELF_MATCH",
    R_ORDER_TABLE_FULL: "ORDER_TABLE_FULL",
    R_MIN_NOTIONAL: "MIN_NOTIONAL",
    R_RISK_CHECK: "RISK_CHECK",
    R_SUBMIT_RATE_2: "SUBMIT_RATE_2",
    R_ACCOUNT_SUBMIT_RATE: "ACCOUNT_SUBMIT_RATE",
    R_ACCOUNT_SUBMIT_RATE_2: "ACCOUNT_SUBMIT_RATE_2",
    R_QUEUE_FULL: "QUEUE_FULL",
    R_DISPATCH_FAILED: "DISPATCH_FAILED",
    R_INTERNAL_ERROR: "INTERNAL_ERROR",
}
REASON_CODES: dict[str, int] = {v: k for k, v in REASON_NAMES.items()}

# --- liquidity flag of a venue report (`VENUE_REPORT`) ----------------------------------------------------------
LIQ_NONE = 0
LIQ_MAKER = 1
LIQ_TAKER = 2
LIQUIDITY_NAMES = {LIQ_NONE: "", LIQ_MAKER: "maker", LIQ_TAKER: "taker"}
LIQUIDITY_CODES = {v: k for k, v in LIQUIDITY_NAMES.items()}

# --- the records (`hft.core.records`): each declared once, its dtype generated ---------------------------------
# Adding a field: docs/architecture.md, "Adding a record field". Fields of the same meaning in several records are
# one `Field` (below), so their type, unit, doc and enum are declared once.
_EVENT_TS = Field("ts", "time", "ns UTC", "event time, int ns UTC (the run clock for sim and gateway rows)",
                  default=...)  # a store row's time
_ORDER_ID = Field("order_id", "i8", "id")
_KEY = Field("key", "i8", "", "idempotency key of the intent (hft.core.orders.NO_KEY when none)")
_PRICE = Field("price", "i8", "ticks", "integer ticks")
_QTY = Field("qty", "i8", "lots", "integer lots")
_ACCOUNT = Field("account", "i4", "index", "gateway registry index of the account")
_STRATEGY = Field("strategy", "i4", "index", "gateway registry index of the strategy")
_SYMBOL = Field("symbol", "i4", "index", "gateway registry index of the symbol")
_SIDE = Field("side", "i1", "code", "1 buy, -1 sell", SIDE_NAMES)
_ORDER_TYPE = Field("order_type", "i1", "code", "", ORDER_TYPE_NAMES)
_TIF = Field("tif", "i1", "code", "", TIF_NAMES)
# a stop's trigger price (ORDER_STOP / ORDER_STOP_LIMIT; 0 on every other order and on cancels / replaces): one
# field of every record that carries it, appended in each record's next version
_TRIGGER = Field("trigger", "i8", "ticks", "a stop's trigger price, integer ticks (0: none)", default=0)
# a GTD order's expiry time (TIF_GTD; 0 on every other order and on cancels / replaces): one field of every record
# that carries it, appended in each record's next version (008_gtd_trailing.sql)
_EXPIRE = Field("expire", "time", "ns UTC", "a GTD order's expiry time, int ns UTC (0: none)", default=0)
# an iceberg's displayed size (ORDER_LIMIT / ORDER_POST_ONLY with 0 < display < qty; 0: not an iceberg, the whole
# order shows; docs/sim.md, "Iceberg orders held by the venue"): one field of every record that carries it, appended
# in each record's next version after the GTD expiry
_DISPLAY = Field("display", "i8", "lots", "an iceberg's displayed size, lots (0: not an iceberg, all of it shows)",
                 default=0)
# a trailing stop's distance from the best print since it was entered (ORDER_STOP / ORDER_STOP_LIMIT with trail > 0;
# 0: not trailing; docs/sim.md, "Trailing stops"): one field of every record that carries it, appended in each
# record's next version after the display (010_trailing_stop.sql)
_TRAIL = Field("trail", "i8", "ticks", "a trailing stop's distance from the best print since entry, ticks (0: not "
               "trailing)", default=0)
# an OCO pair's link: the gateway order id of the order this one is paired with (0: none; docs/sim.md, "OCO and
# bracket orders held by the venue"), and a bracket child's entry: the gateway order id of its parent (0: none);
# fields of every record that carries them, appended in each record's next version after the trail
# (011_oco_bracket.sql)
_OCO = Field("oco", "i8", "id", "the gateway order id of the order this one is paired with, one cancels the other "
             "(0: none)", default=0)
_PARENT = Field("parent", "i8", "id", "a bracket child's entry: the gateway order id of its parent (0: none)",
                default=0)

# A new order's optional fields, in the order the records append them: what a plain limit order leaves 0. They
# travel as ONE unit, a tuple of int64 in this order (`order_options`; the gateway's core and the engines pass it
# whole, `hft.core.order_rules` reads and writes it on a record row): a new optional field is declared here and in
# the records, and read where its rule is, not threaded through every layer (docs/architecture.md, "Adding a
# record field").
ORDER_OPTIONS = (_TRIGGER, _EXPIRE, _DISPLAY, _TRAIL, _OCO, _PARENT)
OPTION_NAMES = tuple(f.name for f in ORDER_OPTIONS)
N_OPT = len(ORDER_OPTIONS)
OPT_TRIGGER, OPT_EXPIRE, OPT_DISPLAY, OPT_TRAIL, OPT_OCO, OPT_PARENT = (
    OPTION_NAMES.index(n) for n in ("trigger", "expire", "display", "trail", "oco", "parent"))
NO_OPTIONS = (0,) * N_OPT  # a plain order's


def order_options(**fields: Any) -> tuple:
    """A new order's optional fields as the one tuple the gateway and the engines pass (`OPTION_NAMES` order; a
    field not given is 0). An unknown name is a TypeError naming it and the known ones."""
    if not fields:
        return NO_OPTIONS
    unknown = fields.keys() - set(OPTION_NAMES)
    if unknown:
        raise TypeError(f"unknown order option {sorted(unknown)[0]!r}: expected one of {list(OPTION_NAMES)}")
    return tuple(fields.get(n, 0) for n in OPTION_NAMES)


def options_dict(opt: tuple) -> dict[str, Any]:
    """`order_options`' tuple as keywords (``trigger=``, ``expire=``, ...)."""
    return dict(zip(OPTION_NAMES, opt, strict=True))

# One typed order intent, the input of the gateway's batch path.
INTENT = Record("intent", (
    Field("ts", "time", "ns UTC", "when the intent was made"),
    _KEY, _PRICE, _QTY,
    Field("order_id", "i8", "id", "order a cancel / replace targets"),
    _ACCOUNT, _STRATEGY, _SYMBOL,
    Field("kind", "i1", "code", "intent kind: 1 new, 2 cancel, 3 replace", INTENT_KIND_NAMES),
    _SIDE, _ORDER_TYPE, _TIF,
    replace(_TRIGGER, since=2),
    replace(_EXPIRE, since=3),
    replace(_DISPLAY, since=4),
    replace(_TRAIL, since=5),
    replace(_OCO, since=6),
    replace(_PARENT, since=6),
), "one typed order intent (the batch path's input)")
INTENT_DTYPE = INTENT.dtype

# The gateway's decision on one intent: DECISION_DTYPE, the store's audit.gateway_decisions columns
# (`hft.recorder.topics`), the simulator's decision log (`DECISION_LOG`) and the row view are generated from it.
DECISION = Record("decision", (
    Field("seq", "i8", "count", "decision sequence number of the gateway", store="UInt64"),
    _EVENT_TS,
    Field("recv_ts", "time", "ns UTC", "when the intent arrived"),
    _KEY,
    _ORDER_ID,
    Field("target_id", "i8", "id", "order a cancel / replace targets"),
    _PRICE, _QTY, _ACCOUNT, _STRATEGY, _SYMBOL,
    Field("reason", "i2", "code", "reason code, 0 = accepted (hft.core.orders.R_*)", REASON_NAMES),
    INTENT.field("kind"),
    _SIDE, _ORDER_TYPE, _TIF,
    Field("accepted", "bool", "", "true when the intent passed every stage", default=...),
    Field("duplicate", "bool", "", "a repeated idempotency key", default=False),
    replace(_TRIGGER, since=2),  # 007_stop_trigger.sql
    replace(_EXPIRE, since=3),  # 008_gtd_trailing.sql
    replace(_DISPLAY, since=4),  # 009_iceberg_display.sql
    replace(_TRAIL, since=5),  # 010_trailing_stop.sql
    replace(_OCO, since=6),  # 011_oco_bracket.sql
    replace(_PARENT, since=6),
), "one gateway decision (accepted or not)")
DECISION_DTYPE = DECISION.dtype

# One command to the venue (the simulator's order log, `hft.sim.run_records.ORDER_LOG`, is a projection of it).
COMMAND = Record("command", (
    Field("ts", "time", "ns UTC", "when the gateway sent it"),
    Field("order_id", "i8", "id", "a new order: the gateway's id; a cancel / replace: the order it targets"),
    _KEY, _PRICE, _QTY, _ACCOUNT, _STRATEGY, _SYMBOL,
    Field("action", "i1", "code", "command action: 1 new, 2 cancel, 3 replace", INTENT_KIND_NAMES),
    _SIDE, _ORDER_TYPE, _TIF,
    replace(_TRIGGER, since=2),
    replace(_EXPIRE, since=3),
    replace(_DISPLAY, since=4),
    replace(_TRAIL, since=5),
    replace(_OCO, since=6),
    replace(_PARENT, since=6),
), "one command to the venue")
COMMAND_DTYPE = COMMAND.dtype

# One execution report from the venue; the simulated venues' reports (`VENUE_REPORT`) add what only they know.
EXEC_REPORT = Record("exec_report", (
    Field("ts", "time", "ns UTC", "when the venue reported"),
    _ORDER_ID,
    Field("price", "i8", "ticks", "a fill's price; REPLACED: the order's new price"),
    Field("qty", "i8", "lots", "filled now; REPLACED: the order's new size"),
    Field("leaves", "i8", "lots", "quantity still working after the report (-1 unknown)"),
    Field("fee", "i8", "money units", "money units, positive = paid (the floor of the exact fee)"),
    Field("fee_frac", "i8", "millionths", "millionths of a money unit beyond fee (0 <= . < 1e6)"),
    Field("kind", "i1", "code", "report kind (hft.core.orders.REPORT_*)", REPORT_KIND_NAMES),
), "one execution report from the venue")
EXEC_REPORT_DTYPE = EXEC_REPORT.dtype

# A simulated venue's report (`hft.sim.exchange_l2`, `hft.sim.exchange_l3`; the numba engine's heap payload): an
# execution report and the venue's liquidity flag and queue ahead.
VENUE_REPORT = EXEC_REPORT.extend("venue_report", (
    Field("liquidity", "i1", "code", "of a fill: maker or taker (hft.core.orders.LIQ_*)",
          {LIQ_MAKER: "maker", LIQ_TAKER: "taker"}),
    Field("queue", "i8", "lots", "an ACK's queue ahead at entry once the order rests (exact on L3, the displayed "
          "level on L2); -1 on every other report and when the order never rested", default=-1),
), "a simulated venue's execution report")
VENUE_REPORT_DTYPE = VENUE_REPORT.dtype

# The store's rows of the order flow (`hft.recorder.topics`: their topics' numeric columns). An order event
# (``sim.orders``) is a command or an execution report, each array written as it is: the fields of both.
ORDER_EVENT = Record("order_event", (
    _EVENT_TS, _ORDER_ID, _KEY, _ACCOUNT, _STRATEGY, _SYMBOL, COMMAND.field("action"), EXEC_REPORT.field("kind"),
    _SIDE, _ORDER_TYPE, _TIF, _PRICE, _QTY, EXEC_REPORT.field("leaves"), EXEC_REPORT.field("fee"),
    replace(EXEC_REPORT.field("fee_frac"), since=2),
    # version 3 (006_live_liquidity_queue.sql): what a venue report adds, kept by the live service's journal of
    # reports (`hft.live.engine`) so that a restart shows a fill's liquidity and an ACK's queue as they came
    replace(VENUE_REPORT.field("liquidity"), since=3),
    replace(VENUE_REPORT.field("queue"), since=3),
    replace(_TRIGGER, since=4),  # 007_stop_trigger.sql
    replace(_EXPIRE, since=5),  # 008_gtd_trailing.sql
    replace(_DISPLAY, since=6),  # 009_iceberg_display.sql
    replace(_TRAIL, since=7),  # 010_trailing_stop.sql
    replace(_OCO, since=8),  # 011_oco_bracket.sql
    replace(_PARENT, since=8),
), "a command sent or an execution report received (the store's sim.orders)")
# A fill (``sim.fills``): when it reached the strategy / the gateway (``ts``) and the venue's time (``exch_ts``).
FILL = Record("fill", (
    _EVENT_TS,
    Field("fill_id", "u8", "count", "fill sequence number within the run"),
    _ORDER_ID, _ACCOUNT, _STRATEGY, _SYMBOL,
    Field("kind", "i1", "code", "report kind: partial_fill or fill", REPORT_KIND_NAMES),
    _SIDE, _PRICE,
    Field("qty", "i8", "lots", "integer lots filled"),
    EXEC_REPORT.field("leaves"),
    Field("liquidity", "i1", "code", "1 maker, -1 taker, 0 unknown", {1: "maker", -1: "taker"}),
    EXEC_REPORT.field("fee"),
    Field("exch_ts", "time", "ns UTC", "exchange time of the fill"),
    replace(EXEC_REPORT.field("fee_frac"), since=2),
), "a fill (the store's sim.fills)")

# a fill's liquidity in the store's ``sim.fills`` (`FILL`: 1 maker, -1 taker, 0 unknown), by `LIQ_*` code, matched by
# the codes' names: the one mapping every writer of fill rows uses (`hft.recorder.sim_runs`, `hft.live.views`)
_FILL_LIQUIDITY_CODE = {name: code for code, name in FILL.field("liquidity").enum.items()}  # type: ignore[union-attr]
FILL_LIQUIDITY = np.array([_FILL_LIQUIDITY_CODE.get(LIQUIDITY_NAMES.get(c, ""), 0)
                           for c in range(max(LIQUIDITY_NAMES) + 1)], np.int8)

# A simulator run's audit row (``sim.runs``; `hft.recorder.sim_runs.run_row` builds it through `SIM_RUN.row`, so a
# field it does not give is an error there): a store row only, never an array.
SIM_RUN = Record("sim_run", (
    _EVENT_TS,
    Field("run_id", "str", "id", default=...),
    Field("scenario", "str", default=""),
    Field("strategy", "str", default="", store="LowCardinality(String)"),
    Field("seed", "u8", default=0),
    Field("config_hash", "str", default=""),
    Field("data_hash", "str", default=""),
    Field("run_hash", "str", default=""),
    Field("status", "str", "", "ok | failed", default="", store="LowCardinality(String)"),
    Field("start_ts", "time", "ns UTC"),
    Field("end_ts", "time", "ns UTC"),
    Field("n_events", "u8", "count"),
    Field("n_orders", "u8", "count"),
    Field("n_fills", "u8", "count"),
    Field("summary", "json", "", "JSON document (pnl, metrics)", default="{}"),
    # version 2 (004_sim_runs_symbols_wall_time.sql): the run's instruments and when it ran
    Field("symbols", "json", "", "JSON list of the run's symbols (leg order)", default="[]", since=2),
    Field("wall_ts", "time", "ns UTC", "wall-clock time the run was recorded, at its end (int ns UTC)", since=2),
    Field("wall_s", "f8", "s", "wall-clock seconds the replay took", default=0.0, since=2),
), "one row per simulator run")

# The statuses of the live service's order views (`hft.live.views`, ``GET /orders/{id}``'s ``status``), by code.
VIEW_STATUS_NAMES = ("accepted", "working", "partially_filled", "filled", "canceled", "rejected", "expired",
                     "cancel_pending")

# An execution report applied to a viewed order of the live service, as its owner sees it: the order-update
# stream's event (``GET /orders/stream``) and the TCP intake's REPORT frame (`hft.live.frames.REPORT_ANSWER`, its
# packed layout) are this record.
ORDER_UPDATE = Record("order_update", (
    Field("seq", "i8", "count", "number in the service's order-update stream (from 1, in the order applied)"),
    Field("ts", "time", "ns UTC", "when the service applied the report"),
    _ORDER_ID,
    EXEC_REPORT.field("price"), EXEC_REPORT.field("qty"), EXEC_REPORT.field("leaves"),
    Field("filled", "i8", "lots", "the order's quantity filled so far, after the report"),
    _ACCOUNT, _STRATEGY,
    EXEC_REPORT.field("kind"),
    Field("status", "i1", "code", "the order's status after the report", dict(enumerate(VIEW_STATUS_NAMES))),
    # the report's exact fee (a fill's; 0 on other reports): what `hft strategy live` books (`hft.sim.fees.book_fill`)
    replace(EXEC_REPORT.field("fee"), since=2),
    replace(EXEC_REPORT.field("fee_frac"), since=2),
    # what the venue said beyond the execution report (a venue report's, `VENUE_REPORT`): a fill's maker / taker
    # flag (0: the venue did not say) and an ACK's queue ahead at entry (-1: the venue did not say; docs/live.md)
    replace(VENUE_REPORT.field("liquidity"), since=3),
    replace(VENUE_REPORT.field("queue"), since=3,
            doc="an ACK's queue ahead at entry as the venue reported it (lots); -1 on other reports and from a "
                "venue that does not report it"),
), "an execution report applied to a live order view (order-update stream, TCP REPORT frame)")
ORDER_UPDATE_DTYPE = ORDER_UPDATE.dtype

# What the live service's venue sees of the market, as its clients see it: the market stream's event
# (``GET /market/stream``, `hft.live.stream`). A ``book`` row: the book's top `MARKET_DEPTH` levels changed; a
# ``trade`` row: a print (its aggressor side, price and size). Every row carries the book's top `MARKET_DEPTH` levels
# a side after it, best first (``bid_1`` … ``bid_5``, ``ask_1`` …; a missing level: price
# `hft.core.dtypes.NO_PRICE`, size 0).
MARKET_BOOK = 1
MARKET_TRADE = 2
MARKET_KIND_NAMES: dict[int, str] = {MARKET_BOOK: "book", MARKET_TRADE: "trade"}
MARKET_DEPTH = 5
MARKET_UPDATE = Record("market_update", (
    Field("seq", "i8", "count", "number in the service's market stream (from 1 in each process, in the order seen)"),
    Field("ts", "time", "ns UTC", "when the service published it"),
    Field("exch_ts", "time", "ns UTC", "the venue's time of the event"),
    _SYMBOL,
    Field("kind", "i1", "code", "book (the top levels changed) or trade (a print)", MARKET_KIND_NAMES),
    replace(_SIDE, doc="a trade's aggressor: 1 buy, -1 sell, 0 unknown; 0 on a book row"),
    replace(_PRICE, doc="a trade's price (ticks); 0 on a book row"),
    replace(_QTY, doc="a trade's size (lots); 0 on a book row"),
    *(f for k in range(1, MARKET_DEPTH + 1) for f in (
        Field(f"bid_{k}", "i8", "ticks", f"bid level {k} after the event, best first (NO_PRICE: none)"),
        Field(f"bid_qty_{k}", "i8", "lots", f"size at bid level {k}"),
        Field(f"ask_{k}", "i8", "ticks", f"ask level {k} after the event, best first (NO_PRICE: none)"),
        Field(f"ask_qty_{k}", "i8", "lots", f"size at ask level {k}"))),
), "the market as the live service's venue sees it (market stream)")
MARKET_UPDATE_DTYPE = MARKET_UPDATE.dtype

# No idempotency key (internal commands such as the kill switch's cancels): never deduplicated.
NO_KEY = int(np.iinfo(np.int64).min)


# --- what counts as an order (docs/sim.md, "Orders and the fill ratio") -------------------------------------
# An *order* is a command that puts a quote on the venue: a new order or a replace (a replace re-quotes the order
# at its new price and size). A cancel is counted apart and submits nothing. The fill ratio is the quantity filled
# over the quantity those orders submitted. Every count of orders (the summary, the tearsheet, `RunResult`, sweep
# tables, the store's ``sim.runs``, Gate D and the canary) is `order_counts` / `fill_ratio`.
ORDER_ACTIONS: tuple[int, ...] = (CMD_NEW, CMD_REPLACE)


class OrderCounts(NamedTuple):
    """An order log's counts (`order_counts`): `orders` (new + replace), of which `replaces`; `cancels`;
    `submitted_qty`, the lots the orders submitted (a replace: its new size)."""

    orders: int
    replaces: int
    cancels: int
    submitted_qty: int


def order_counts(orders: Any) -> OrderCounts:
    """The counts of an order log: anything with an ``action`` and a ``qty`` column (the engine's structured
    array, a polars / pandas frame, a mapping of columns). An order is a new or a replace (`ORDER_ACTIONS`)."""
    if len(orders) == 0:
        return OrderCounts(0, 0, 0, 0)
    action = np.asarray(orders["action"])
    counted = np.isin(action, ORDER_ACTIONS)
    return OrderCounts(int(counted.sum()), int((action == CMD_REPLACE).sum()), int((action == CMD_CANCEL).sum()),
                       int(np.asarray(orders["qty"], dtype=np.int64)[counted].sum()))


def fill_ratio(filled_qty: int, submitted_qty: int) -> float:
    """Filled lots over the lots the orders submitted (new + replace, `order_counts`), to 6 decimals; 0.0 when
    nothing was submitted."""
    return round(filled_qty / submitted_qty, 6) if submitted_qty else 0.0


def maker_share(liquidity: Any) -> float:
    """The share of fills that rested (`LIQ_MAKER`) among `liquidity`, each fill's flag (an array or a sequence), to
    6 decimals; 0.0 without fills. A replay's summary and a live canary's observations (`hft.alpha.governance.
    canary_live`) both say it by this rule."""
    flags = np.asarray(liquidity)
    return round(int(np.count_nonzero(flags == LIQ_MAKER)) / len(flags), 6) if len(flags) else 0.0


def reason_name(code: int) -> str:
    """Name of a reason code (``"UNKNOWN_<n>"`` for codes this version does not know)."""
    return REASON_NAMES.get(int(code), f"UNKNOWN_{int(code)}")
