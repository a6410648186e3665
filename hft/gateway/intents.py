"""Order intents, their envelopes, the ``typed_intent_v1`` tuple form, decisions and commands.

An intent is what a strategy *wants*; the gateway answers every intent with a `Decision` (accepted or not,
with a reason code) and, when accepted, an `OrderCommand` for the venue. Intents are not validated when
built: a malformed intent must reach the gateway and be rejected with a reason, never crash the producer.

Typed fast path: a strategy may emit plain tuples tagged ``"typed_intent_v1"``::

    ("typed_intent_v1", kind, key, account, strategy, symbol, side, price, qty, order_type, tif, ts, order_id)

or with a 14th field, a stop's trigger price (ticks; `hft.core.orders.ORDER_STOP` / ``ORDER_STOP_LIMIT``), which
`typed_intent_v1` appends when it is not 0 (a 13-field tuple is an intent without a trigger: the live service's
intakes build those), a 15th, a GTD order's expiry, a 16th, an iceberg's display (lots; 0: the whole order shows),
and a 17th, a trailing stop's distance (ticks; 0: not trailing), each appended up to the last that is not 0,
wrapped at receipt in a `TypedIntentEnvelope`. The gateway reads the fields by position and never builds an
`OrderIntent` for it (``envelope.intent`` deserialises lazily, for logs and tests only).

Batch form: a structured array of `hft.core.orders.INTENT_DTYPE` whose account / strategy / symbol fields are
registry indices (``GatewayService.account_id(name)`` …) and whose key is an int64.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from hft.core.orders import (
    EXEC_REPORT,
    INTENT_CANCEL,
    INTENT_DTYPE,
    INTENT_NEW,
    INTENT_REPLACE,
    N_OPT,
    NO_OPTIONS,
    OPTION_NAMES,
    ORDER_LIMIT,
    REASON_NAMES,
    TIF_GTC,
    VENUE_REPORT,
)

TYPED_INTENT_V1 = "typed_intent_v1"
INT_FIELD_MAX = (1 << 63) - 1  # an integer field's bound, either sign (int64 without its minimum, a sentinel)


def as_int_field(v: Any) -> int | None:
    """An intent's integer field as the gateway reads it: an ``int`` or numpy integer within ±`INT_FIELD_MAX`
    (no bool, float, str); None otherwise (the gateway then rejects the intent ``BAD_INPUT``)."""
    if type(v) is int:
        return v if -INT_FIELD_MAX <= v <= INT_FIELD_MAX else None
    if isinstance(v, np.integer) and not isinstance(v, np.bool_):
        return as_int_field(int(v))
    return None


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """One order intent. Prices in ticks, quantities in lots, ts in int ns (the strategy's own clock).

    `order_id` is the gateway order id targeted by a cancel / replace (0 for new orders). For replace,
    `price` / `qty` are the new values and `side` may be 0 (the order's side is kept).
    """

    kind: Any
    key: Any
    account: Any
    strategy: Any
    symbol: Any
    side: Any = 0
    price: Any = 0
    qty: Any = 0
    order_type: Any = ORDER_LIMIT
    tif: Any = TIF_GTC
    ts: Any = 0
    order_id: Any = 0
    trigger: Any = 0  # a stop's trigger price (ticks); 0 on every other order
    expire: Any = 0  # a GTD order's expiry time (int ns UTC); 0 on every other order
    display: Any = 0  # an iceberg's displayed size (lots); 0: not an iceberg
    trail: Any = 0  # a trailing stop's distance from the best print since entry (ticks); 0: not trailing
    oco: Any = 0  # the gateway order id of the order this one is paired with (one cancels the other); 0: none
    parent: Any = 0  # a bracket child's entry (its gateway order id); 0: none

    @classmethod
    def new(cls, key: Any, account: Any, strategy: Any, symbol: Any, side: Any, price: Any, qty: Any,
            order_type: Any = ORDER_LIMIT, tif: Any = TIF_GTC, ts: Any = 0, trigger: Any = 0,
            expire: Any = 0, display: Any = 0, trail: Any = 0, oco: Any = 0, parent: Any = 0) -> OrderIntent:
        return cls(INTENT_NEW, key, account, strategy, symbol, side, price, qty, order_type, tif, ts, 0, trigger,
                   expire, display, trail, oco, parent)

    @classmethod
    def cancel(cls, key: Any, account: Any, strategy: Any, symbol: Any, order_id: Any, ts: Any = 0) -> OrderIntent:
        return cls(INTENT_CANCEL, key, account, strategy, symbol, 0, 0, 0, ORDER_LIMIT, TIF_GTC, ts, order_id)

    @classmethod
    def replace(cls, key: Any, account: Any, strategy: Any, symbol: Any, order_id: Any, price: Any, qty: Any,
                ts: Any = 0) -> OrderIntent:
        return cls(INTENT_REPLACE, key, account, strategy, symbol, 0, price, qty, ORDER_LIMIT, TIF_GTC, ts,
                   order_id)

    @property
    def options(self) -> tuple:
        """Its optional fields as one tuple (`hft.core.orders.order_options`)."""
        return tuple(getattr(self, n) for n in OPTION_NAMES)

    def to_typed(self) -> tuple:
        """The ``typed_intent_v1`` tuple of this intent."""
        return typed_intent_v1(self.kind, self.key, self.account, self.strategy, self.symbol, self.side,
                               self.price, self.qty, self.order_type, self.tif, self.ts, self.order_id, *self.options)


def typed_intent_v1(kind: int, key: Any, account: str, strategy: str, symbol: str, side: int, price: int,
                    qty: int, order_type: int = ORDER_LIMIT, tif: int = TIF_GTC, ts: int = 0,
                    order_id: int = 0, trigger: Any = 0, expire: Any = 0, display: Any = 0,
                    trail: Any = 0, oco: Any = 0, parent: Any = 0) -> tuple:
    """Build a ``typed_intent_v1`` payload tuple: the one place its layout is written (the gateway reads it back in
    `from_typed`, the Python intake and the compiled driver): 13 fields, then the optional ones in this order up to
    the last that is not 0 — a stop's trigger (14th), a GTD order's expiry time (15th), an iceberg's display (16th), a
    trailing stop's distance (17th), an OCO link (18th), a bracket child's parent (19th) —
    so a payload without them is the 13 fields it always was (`typed_options` reads them back)."""
    opt = (trigger, expire, display, trail, oco, parent)
    n = N_OPT
    while n and type(opt[n - 1]) is int and opt[n - 1] == 0:
        n -= 1
    return (TYPED_INTENT_V1, kind, key, account, strategy, symbol, side, price, qty, order_type, tif, ts, order_id,
            *opt[:n])


TYPED_FIELDS = 13  # a ``typed_intent_v1`` tuple's fields before its optional ones


def typed_options(payload: tuple) -> tuple:
    """The optional fields of a ``typed_intent_v1`` tuple as one tuple (`hft.core.orders.order_options`: those
    it leaves out are 0); raises ValueError on a tuple with more fields than there are options."""
    tail = payload[TYPED_FIELDS:]
    if len(tail) > N_OPT:
        raise ValueError(f"typed_intent_v1: expected at most {TYPED_FIELDS + N_OPT} fields, got {len(payload)}")
    return tail + NO_OPTIONS[len(tail):]






def from_typed(payload: tuple) -> OrderIntent:
    """Deserialise a ``typed_intent_v1`` tuple (raises ValueError when it is not one)."""
    if not isinstance(payload, tuple) or not TYPED_FIELDS <= len(payload) <= TYPED_FIELDS + N_OPT \
            or payload[0] != TYPED_INTENT_V1:
        raise ValueError(f"expected a {TYPED_FIELDS}- to {TYPED_FIELDS + N_OPT}-tuple tagged {TYPED_INTENT_V1!r}, "
                         f"was {payload!r}")
    return OrderIntent(*payload[1:])


class IntentEnvelope:
    """An `OrderIntent` as received by the gateway, with its receipt time (int ns, injected clock)."""

    __slots__ = ("intent", "recv_ns")

    def __init__(self, intent: OrderIntent, recv_ns: int = 0) -> None:
        self.intent = intent
        self.recv_ns = recv_ns

    def __repr__(self) -> str:
        return f"IntentEnvelope({self.intent!r}, recv_ns={self.recv_ns})"


class TypedIntentEnvelope:
    """A ``typed_intent_v1`` tuple as received; deserialised only on demand (`intent`)."""

    __slots__ = ("payload", "recv_ns")

    def __init__(self, payload: tuple, recv_ns: int = 0) -> None:
        self.payload = payload
        self.recv_ns = recv_ns

    @property
    def intent(self) -> OrderIntent:
        return from_typed(self.payload)

    def __repr__(self) -> str:
        return f"TypedIntentEnvelope({self.payload!r}, recv_ns={self.recv_ns})"


def wrap(obj: Any, recv_ns: int = 0) -> IntentEnvelope | TypedIntentEnvelope:
    """Wrap an `OrderIntent` or a typed tuple in the right envelope (anything else → IntentEnvelope)."""
    if isinstance(obj, IntentEnvelope | TypedIntentEnvelope):
        return obj
    if isinstance(obj, tuple) and obj and obj[0] == TYPED_INTENT_V1:
        return TypedIntentEnvelope(obj, recv_ns)
    return IntentEnvelope(obj, recv_ns)


class OrderCommand(NamedTuple):
    """A command to the venue (step 5). `action` is CMD_NEW / CMD_CANCEL / CMD_REPLACE; for cancel and
    replace `order_id` is the target order; for new orders it is the gateway-assigned id."""

    action: int
    order_id: int
    key: Any
    account: str
    strategy: str
    symbol: str
    side: int
    price: int
    qty: int
    order_type: int
    tif: int
    ts: int
    trigger: int = 0  # a stop's trigger price (ticks); 0 on every other command
    expire: int = 0  # a GTD order's expiry time (int ns UTC); 0 on every other command
    display: int = 0  # an iceberg's displayed size (lots); 0 on every other command
    trail: int = 0  # a trailing stop's distance (ticks); 0 on every other command
    oco: int = 0  # the order id this one is paired with (one cancels the other); 0 on every other command
    parent: int = 0  # a bracket child's entry (its order id); 0 on every other command

    @property
    def options(self) -> tuple:
        """Its optional fields (the last ones) as one tuple (`hft.core.orders.order_options`)."""
        return self[-N_OPT:]


class Decision(NamedTuple):
    """The gateway's answer to one intent (denials are events, not exceptions).

    `duplicate` is true when the idempotency key was seen before: the original decision's `accepted`,
    `reason` and `order_id` are returned and nothing is dispatched (`command` is None).
    """

    seq: int
    ts: int
    recv_ts: int
    key: Any
    kind: Any
    account: Any
    strategy: Any
    symbol: Any
    side: Any
    price: Any
    qty: Any
    order_type: Any
    tif: Any
    target_id: Any
    accepted: bool
    reason: int
    order_id: int
    duplicate: bool
    command: OrderCommand | None
    trigger: Any = 0  # a stop's trigger price (ticks), as the intent carried it; 0 on every other intent
    expire: Any = 0  # a GTD order's expiry time (int ns UTC), as the intent carried it; 0 on every other intent
    display: Any = 0  # an iceberg's displayed size (lots), as the intent carried it; 0 on every other intent
    trail: Any = 0  # a trailing stop's distance (ticks), as the intent carried it; 0 on every other intent
    oco: Any = 0  # the order id it is paired with (one cancels the other), as the intent carried it; 0: none
    parent: Any = 0  # a bracket child's entry (its order id), as the intent carried it; 0: none

    @property
    def options(self) -> tuple:
        """The intent's optional fields (the last ones) as one tuple (`hft.core.orders.order_options`)."""
        return self[-N_OPT:]

    @property
    def reason_name(self) -> str:
        return REASON_NAMES.get(self.reason, str(self.reason))

    def to_record(self) -> dict[str, Any]:
        """A JSON-friendly dict (for recorders)."""
        d = self._asdict()
        d["reason_name"] = self.reason_name
        d["command"] = self.command._asdict() if self.command is not None else None
        return d


class ExecutionReport(NamedTuple):
    """A report from the venue. `qty`: filled now (fills); `leaves`: remaining after the report (-1 unknown);
    for REPLACED, `price` / `leaves` are the order's new price / open size. The fee is exact: ``fee +
    fee_frac / 1e6`` money units, `fee` the whole units (the floor), ``0 <= fee_frac < 1_000_000`` the millionths
    beyond them (`hft.sim.fees`); positive = paid. What a venue may say beyond that (the venue report's,
    `hft.core.orders.VENUE_REPORT`): `liquidity`, a fill's maker / taker flag (``LIQ_MAKER`` / ``LIQ_TAKER``; 0: not
    said), and `queue`, an ACK's queue ahead at entry in lots (-1: not said). The gateway's accounting reads neither;
    the live service carries both to the order views and the order-update stream (docs/live.md)."""

    ts: int
    order_id: int
    kind: int
    price: int = 0
    qty: int = 0
    leaves: int = -1
    fee: int = 0
    fee_frac: int = 0
    liquidity: int = 0
    queue: int = -1


# `ExecutionReport`'s fields where a row of the execution report record holds them, found by name once, by the
# row's length: an `EXEC_REPORT` row, or a `VENUE_REPORT` one (it extends it with what a venue says beyond:
# liquidity, queue). A field the row's record lacks is left out, and `ExecutionReport` gives it its default (those are
# its last fields: a test compares them with the records).
_REPORT_AT = {len(r.names): itemgetter(*(r.index[n] for n in ExecutionReport._fields if n in r.index))
              for r in (EXEC_REPORT, VENUE_REPORT)}


def report_from_row(row: Sequence[int]) -> ExecutionReport:
    """The `ExecutionReport` of a row of the execution report record (a tuple of its fields in the record's order:
    `EXEC_REPORT.pack`, a ``tolist()`` row of an `EXEC_REPORT_DTYPE` or `VENUE_REPORT_DTYPE` array), field by name."""
    return ExecutionReport(*_REPORT_AT[len(row)](row))


def empty_intents(n: int) -> np.ndarray:
    """A zeroed INTENT_DTYPE array (for the batch path)."""
    return np.zeros(n, dtype=INTENT_DTYPE)
