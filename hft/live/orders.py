"""The order API's bodies: decode + validate a request into a typed intent, and render answers.

Validation here is structural and read-only (JSON, types, unknown fields, repeated keys, names the gateway
knows, signs): a failure is a `BadInput` naming the field and the reason, answered 4xx with nothing queued,
decided or recorded. Bodies are decoded by the service's one rule (`hft.live.jsonbody`), which the admin routes and
the signal webhooks share. Rules of trading (tick and lot multiples, limits, price band, rates) are the gateway's,
decided and recorded there: their denials come back as 422 with the gateway's reason and the field it concerns.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
import numpy as np
from msgspec import UNSET, UnsetType

from hft.core.orders import (
    ICEBERG_TYPES,
    INTENT_CANCEL,
    INTENT_KIND_NAMES,
    INTENT_NEW,
    INTENT_REPLACE,
    OPTION_NAMES,
    ORDER_TYPE_NAMES,
    R_GATEWAY_DISABLED,
    R_KEY_REUSED,
    R_POLICY_CANCEL_ONLY,
    R_POLICY_REJECT_ALL,
    R_STRATEGY_CANCEL_ONLY,
    R_STRATEGY_DISABLED,
    REASON_NAMES,
    STOP_TYPES,
    TIF_NAMES,
)
from hft.gateway.dedup import dedup_key
from hft.gateway.intents import typed_intent_v1
from hft.gateway.limits import LIMITS
from hft.live import jsonbody as J

_OTYPE = {v: k for k, v in ORDER_TYPE_NAMES.items()}
_TIF = {v: k for k, v in TIF_NAMES.items()}
SIDES = {"buy": 1, "sell": -1}
SIDE_NAMES = {1: "buy", -1: "sell"}
_STOPS = frozenset(ORDER_TYPE_NAMES[t] for t in STOP_TYPES)  # the types that take a trigger
_ICEBERGS = frozenset(ORDER_TYPE_NAMES[t] for t in ICEBERG_TYPES)  # the types that take a display
I64_MAX = (1 << 63) - 1  # the widest quantity or price the gateway holds


class NewOrder(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /orders`` and ``POST /v3/orders`` body. Prices in integer ticks, quantities in integer lots.

    The optional fields decode as UNSET when absent, so `decode_new` knows how many keys the body held (the
    repeated-key check's count, `jsonbody.unique_keys`); it then fills their defaults (price 0, ``limit``,
    ``gtc``, trigger, expire, display and trail 0): a `NewOrder` out of `decode_new` (or built whole, as the TCP intake
    does) holds no UNSET.

    ``stop`` (price 0: a market order once triggered) and ``stop_limit`` (its limit `price`) take `trigger`, the
    price in ticks whose print makes the venue enter the order (`hft.core.orders.ORDER_STOP`); the gateway's
    ``risk.order_types`` must list them. A ``gtd`` order takes `expire`, its expiry time in integer ns UTC (the
    API's times are all ns: a view's ``ts``, a limit's ``window_ns``), which the venue expires it at; a limit or
    post-only order may take `display` (lots), an iceberg showing that many at a time; the gateway's ``risk.tifs``
    must list ``gtd``. A ``stop`` / ``stop_limit`` may take `trail` (ticks): a trailing stop, its trigger following
    the prints at that distance (docs/sim.md, "Trailing stops"). `oco` names (by its order id) the order this one is
    paired with, one cancelling the other, and `parent` the order this one is a bracket child of, held by the venue
    until its parent has no leaves (either may have ended: docs/live.md, "An entry that takes at once") (docs/sim.md, "OCO and bracket orders held by the venue"; the
    gateway checks both: BAD_LINK). The optional fields are `hft.core.orders.OPTION_NAMES`, in that order."""

    client_order_id: str
    account: str
    strategy: str
    symbol: str
    side: Literal["buy", "sell"]
    qty: int
    price: int | UnsetType = UNSET
    order_type: Literal["limit", "market", "post_only", "stop", "stop_limit"] | UnsetType = UNSET
    tif: Literal["gtc", "ioc", "fok", "day", "gtd"] | UnsetType = UNSET
    trigger: int | UnsetType = UNSET
    expire: int | UnsetType = UNSET
    display: int | UnsetType = UNSET
    trail: int | UnsetType = UNSET
    oco: int | UnsetType = UNSET
    parent: int | UnsetType = UNSET


assert NewOrder.__struct_fields__[-len(OPTION_NAMES):] == OPTION_NAMES  # the options end the body, in their order


class CancelOrder(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /orders/{order_id}/cancel`` body (optional)."""

    client_order_id: str = ""


class ReplaceOrder(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /orders/{order_id}/replace`` body: the order's new limit price (ticks) and new open size (lots: what
    stays working once the venue has replaced it, whatever filled before), and the replace's own client order id
    (its idempotency key with the order id when no Idempotency-Key header is given). Side, type and time in force
    stay the order's."""

    price: int
    qty: int
    client_order_id: str


class AdminControl(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /admin/kill`` and ``POST /admin/reset`` body (optional: an empty body is no fields). `reason`: why,
    recorded with the operator in the control's cause (the WAL's control record, the policy transition in
    ``audit.policy_transitions``, /health's ``ingress.cause`` and the 503 KILLED answers while it holds). The
    kill switch is the whole gateway's: it takes no symbol or account."""

    reason: str = ""


class AdminCancel(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /admin/cancel`` body: the working orders to cancel, those matching every filter given (at least one
    of `account`, `strategy`, `symbol`), and why."""

    account: str | None = None
    strategy: str | None = None
    symbol: str | None = None
    reason: str = ""


class StrategyMode(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /admin/strategy/{name}/mode`` body: the strategy's new mode and why."""

    mode: Literal["enabled", "cancel_only", "disabled"]
    reason: str = ""


class TokenRevoke(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /admin/tokens/revoke`` body: the token's id (its ``jti`` claim), why, ``revoked`` false to lift
    an earlier revocation, and the token's ``exp`` claim (seconds since the epoch; optional: the entry is dropped
    from the deny-list once it and ``server.jwt_leeway`` have passed)."""

    jti: str
    reason: str = ""
    revoked: bool = True
    exp: int | None = None


class LimitsUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /admin/limits`` body: the level whose limits change (``"defaults"``, ``{"account": A}``,
    ``{"strategy": S}`` or ``{"symbol": Y}``), its limits in the config file's keys and units (`hft.gateway.
    config`: ``"3 lots"``, ``"500 USD"``, ``{"count", "per"}``, ``null`` = unlimited; a key absent is left as it
    is), why, and whether only to answer the changes (`dry_run`)."""

    scope: str | dict[str, str]
    limits: dict[str, Any]
    reason: str = ""
    dry_run: bool = False


MAX_REASON = 200  # characters of an admin control's reason

_new_dec = msgspec.json.Decoder(NewOrder)
_cancel_dec = msgspec.json.Decoder(CancelOrder)
_admin_dec = msgspec.json.Decoder(AdminControl)
_replace_dec = msgspec.json.Decoder(ReplaceOrder)
_admin_cancel_dec = msgspec.json.Decoder(AdminCancel)
_strategy_mode_dec = msgspec.json.Decoder(StrategyMode)
_limits_dec = msgspec.json.Decoder(LimitsUpdate)
_revoke_dec = msgspec.json.Decoder(TokenRevoke)
encode = msgspec.json.Encoder().encode
_NEW_REQUIRED = 6  # the fields of NewOrder without a default
_NEW_STRINGS = 5  # of them, those with a string value (client order id, account, strategy, symbol, side)


BAD_INPUT_FIELDS = frozenset((*NewOrder.__struct_fields__, *CancelOrder.__struct_fields__,
                               *AdminControl.__struct_fields__, *AdminCancel.__struct_fields__, "mode",
                               *LimitsUpdate.__struct_fields__, "jti", "revoked", "exp", *(f"limits.{lim.key}" for lim in LIMITS),
                               "$body", "order_id", "Idempotency-Key"))
"""The fields a `BadInput` may name that the API itself defines: the ``gateway_bad_input_total{field}`` labels."""


def field_label(field: str) -> str:
    """The ``gateway_bad_input_total{field}`` label of a refused field: the field when the API defines it, else
    ``unknown`` (a key the client made up: counting each under its own name let clients grow /metrics without
    bound). The answer's body still names the field itself."""
    return field if field in BAD_INPUT_FIELDS else "unknown"


class BadInput(Exception):
    """A request the API refuses before the gateway: HTTP `status`, the `field` and the `reason`."""

    def __init__(self, field: str, reason: str, status: int = 400) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"error": "BAD_INPUT", "field": self.field, "reason": self.reason}


def decode_body(decoder: msgspec.json.Decoder, body: bytes) -> Any:
    """`body` decoded by the service's rule (`jsonbody.decode`: types, unknown fields, repeated keys); a refusal
    is a 400 `BadInput` naming the field. For bodies off the order path (cancels, admin routes)."""
    try:
        return J.decode(decoder, body)
    except J.BodyError as e:
        raise BadInput(e.field, e.reason) from None


def decode_new(body: bytes) -> NewOrder:
    """A new order's body, decoded and checked (`check_new`), or `BadInput` naming the field."""
    try:
        o = _new_dec.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError) as exc:
        e = J.error_of(exc, body)
        raise BadInput(e.field, e.reason) from None
    known, strings = _NEW_REQUIRED, _NEW_STRINGS  # the keys the body held, and its string values; defaults filled
    if o.price is UNSET:
        o.price = 0
    else:
        known += 1
    if o.order_type is UNSET:
        o.order_type = "limit"
    else:
        known += 1
        strings += 1
    if o.tif is UNSET:
        o.tif = "gtc"
    else:
        known += 1
        strings += 1
    for name in OPTION_NAMES:
        if getattr(o, name) is UNSET:
            setattr(o, name, 0)
        else:
            known += 1
    if body.count(b":") > known:  # `unique_keys`'s own first test, here to spare the call on the order path
        try:
            J.unique_keys(body, known, 2 * (known + strings))
        except J.BodyError as e:
            raise BadInput(e.field, e.reason) from None
    return check_new(o)


def _option(o: NewOrder, name: str, allowed: bool, required: bool, order: str, only: str, what: str,
            unit: str) -> None:
    """One of a new order's optional fields (`hft.core.orders.ORDER_OPTIONS`), 0 when not given: where not
    `allowed` (on `order`, e.g. "a limit order") it must be 0 (it goes `only` …); where allowed, one given (or
    `required`) is `what`, in `unit` from 1 to int64's maximum."""
    v = getattr(o, name)
    if not allowed:
        if v != 0:
            raise BadInput(name, f"expected no {name} on {order} (only {only}), was {v}")
    elif (v != 0 or required) and not 0 < v <= I64_MAX:
        raise BadInput(name, f"expected {what}, {unit} from 1 to {I64_MAX} (int64), was {v}")



def check_new(o: NewOrder) -> NewOrder:
    """The value checks of a new order every intake applies (HTTP, TCP): `BadInput` naming the field (an optional
    field left UNSET is none: 0). The rules of trading stay the gateway's: an expiry not after its clock is
    BAD_EXPIRE, a display not below the quantity or off the lot BAD_DISPLAY, a trail off the tick or a trailing
    stop-limit's limit on the wrong side of its trigger BAD_TRAIL, a link to no order of the same account, strategy
    and symbol that it still knows (or a child of a type no child may be) BAD_LINK (422)."""
    for name in OPTION_NAMES:
        if getattr(o, name) is UNSET:
            setattr(o, name, 0)
    if not 0 < len(o.client_order_id) <= 64:
        raise BadInput("client_order_id", "expected 1 to 64 characters")
    if o.qty <= 0:
        raise BadInput("qty", f"expected a positive number of lots, was {o.qty}")
    if o.qty > I64_MAX:  # JSON integers are unbounded; the gateway's are int64
        raise BadInput("qty", f"expected a number of lots up to {I64_MAX} (int64), was {o.qty}")
    if o.price > I64_MAX:  # JSON integers are unbounded; the gateway's are int64
        raise BadInput("price", f"expected a price in ticks up to {I64_MAX} (int64), was {o.price}")
    if o.order_type == "market":
        if o.price < 0:
            raise BadInput("price", f"expected ticks >= 0 for a market order, was {o.price}")
    elif o.order_type == "stop":
        if o.price != 0:
            raise BadInput("price", f"expected 0 (none) for a stop order: it becomes a market order, was {o.price}")
    elif o.price <= 0:
        raise BadInput("price", f"expected a positive price in ticks, was {o.price}")
    stop = o.order_type in _STOPS
    _option(o, "trigger", stop, stop, f"a {o.order_type} order", "on stop and stop_limit",
            f"a {o.order_type} order's trigger price", "ticks")
    _option(o, "expire", o.tif == "gtd", o.tif == "gtd", f"a {o.tif} order", "with tif gtd",
            "a gtd order's expiry time", "integer ns UTC")
    _option(o, "display", o.order_type in _ICEBERGS, False, f"a {o.order_type} order", "on limit and post_only",
            "an iceberg's display", "lots")
    _option(o, "trail", stop, False, f"a {o.order_type} order", "on stop and stop_limit", "a trailing stop's trail",
            "ticks")
    _option(o, "oco", True, False, "", "", "the order id of the order to pair with", "an order id")
    _option(o, "parent", True, False, "", "", "the order id of the bracket's entry", "an order id")
    return o


def decode_cancel(body: bytes) -> CancelOrder:
    """A cancel's body (optional: an empty body is no fields), or `BadInput` naming the field."""
    if not body.strip():
        return CancelOrder()
    return decode_body(_cancel_dec, body)


def decode_replace(body: bytes) -> ReplaceOrder:
    """A replace's body, or `BadInput` naming the field: the decoding rule, then the checks every intake applies
    (`check_replace`)."""
    return check_replace(decode_body(_replace_dec, body))


def check_replace(r: ReplaceOrder) -> ReplaceOrder:
    """The value checks of a replace every intake applies (HTTP, TCP): `BadInput` naming the field. Limits,
    band and rates on the new price and size are the gateway's."""
    if not 0 < len(r.client_order_id) <= 64:
        raise BadInput("client_order_id", "expected 1 to 64 characters")
    if not 0 < r.qty <= I64_MAX:
        raise BadInput("qty", f"expected a positive number of lots up to {I64_MAX} (int64), was {r.qty}")
    if not 0 < r.price <= I64_MAX:
        raise BadInput("price", f"expected a positive price in ticks up to {I64_MAX} (int64), was {r.price}")
    return r


def decode_admin(body: bytes) -> AdminControl:
    """An admin control's body (optional: an empty body is no fields), or `BadInput` naming the field: the order
    API's decoding rule, and a `reason` of at most `MAX_REASON` printable characters (it goes into log lines)."""
    if not body.strip():
        return AdminControl()
    return _check_reason(decode_body(_admin_dec, body))


def decode_admin_cancel(body: bytes) -> AdminCancel:
    """``POST /admin/cancel``'s body (`AdminCancel`: at least one filter), or `BadInput` naming the field."""
    a: AdminCancel = _check_reason(decode_body(_admin_cancel_dec, body or b"{}"))
    if a.account is None and a.strategy is None and a.symbol is None:
        raise BadInput("$body", "expected at least one of account, strategy, symbol (the orders to cancel)")
    return a


def decode_strategy_mode(body: bytes) -> StrategyMode:
    """``POST /admin/strategy/{name}/mode``'s body, or `BadInput` naming the field."""
    return _check_reason(decode_body(_strategy_mode_dec, body or b"{}"))


def decode_limits_update(body: bytes) -> LimitsUpdate:
    """``POST /admin/limits``' body (`LimitsUpdate`), or `BadInput` naming the field (the limits themselves are
    checked by the config's parser: `hft.live.limits_admin`)."""
    return _check_reason(decode_body(_limits_dec, body or b"{}"))


def decode_token_revoke(body: bytes) -> TokenRevoke:
    """``POST /admin/tokens/revoke``'s body, or `BadInput` naming the field (a ``jti`` of 1 to 200 printable
    characters)."""
    r: TokenRevoke = _check_reason(decode_body(_revoke_dec, body or b"{}"))
    if not 0 < len(r.jti) <= 200 or not r.jti.isprintable():
        raise BadInput("jti", "expected a token id (its jti claim) of 1 to 200 printable characters")
    if r.exp is not None and not 0 <= r.exp < 1 << 40:
        raise BadInput("exp", f"expected the token's exp claim (seconds since the epoch), was {r.exp}")
    return r


def _check_reason(a: Any) -> Any:
    """An admin body's `reason`: at most `MAX_REASON` printable characters (it goes into log lines)."""
    if len(a.reason) > MAX_REASON:
        raise BadInput("reason", f"expected at most {MAX_REASON} characters, was {len(a.reason)}")
    if not a.reason.isprintable():
        raise BadInput("reason", "expected printable text (no control characters such as a newline)")
    return a


def check_names(gw: Any, account: str, strategy: str, symbol: str | None) -> None:
    """`BadInput` when the gateway does not know the account, strategy or (unless unlisted symbols are
    allowed) symbol."""
    reg = gw.registered
    if not reg("account", account):
        raise BadInput("account", f"unknown account {account!r}")
    if not reg("strategy", strategy):
        raise BadInput("strategy", f"unknown strategy {strategy!r}")
    if symbol is not None and not reg("symbol", symbol) and not gw.config.allow_unlisted_symbols:
        raise BadInput("symbol", f"unknown symbol {symbol!r}: expected one of {sorted(gw.names('symbol'))[:20]}")


def check_idempotency_key(idem: str | None, durable: bool) -> None:
    """A durable intent needs an idempotency key; any key is 1 to 128 characters."""
    if idem is None and durable:
        raise BadInput("Idempotency-Key", "expected an Idempotency-Key header on POST /orders")
    if idem is not None and not 0 < len(idem) <= 128:
        raise BadInput("Idempotency-Key", "expected 1 to 128 characters")


def intent_key(account: str, key: str, kind: int = INTENT_NEW) -> int:
    """The gateway's int64 dedup key of an API idempotency key, scoped by account and by the request's kind: a
    cancel's keys live apart from new orders' (``cancel\x1f`` before the key), so a cancel given a new order's
    key, or a new order given the key a cancel derives, is a request of its own (a replace's, ``replace\x1f``,
likewise). (A new order's form is the one
    from before the split: keys decided before an upgrade still find their decisions.) The gateway binds each
    key to its request's fingerprint (kind, target, names, side, price, qty, type, tif): the same key with
    another request is decided ``KEY_REUSED`` (`decision_status`: 409)."""
    if kind == INTENT_CANCEL:
        return dedup_key(f"{account}\x1fcancel\x1f{key}")
    if kind == INTENT_REPLACE:
        return dedup_key(f"{account}\x1freplace\x1f{key}")
    return dedup_key(f"{account}\x1f{key}")


def cancel_key(account: str, idem: str | None, order_id: int, client_order_id: str) -> int:
    """The dedup key of a cancel: its Idempotency-Key, else one derived from the order id and the cancel's
    client order id (a retry of the same cancel repeats both)."""
    return intent_key(account, idem or f"cancel:{order_id}:{client_order_id}", INTENT_CANCEL)


def replace_key(account: str, idem: str | None, order_id: int, client_order_id: str) -> int:
    """The dedup key of a replace: its Idempotency-Key, else one derived from the order id and the replace's
    client order id (a retry of the same replace repeats both)."""
    return intent_key(account, idem or f"replace:{order_id}:{client_order_id}", INTENT_REPLACE)


def new_intent(o: NewOrder, key: int, now: int) -> tuple:
    """The ``typed_intent_v1`` tuple of a validated new order."""
    return typed_intent_v1(INTENT_NEW, key, o.account, o.strategy, o.symbol, SIDES[o.side], o.price, o.qty,
                           _OTYPE[o.order_type], _TIF[o.tif], now, 0, *(0 if (v := getattr(o, n)) is UNSET else v
                                                                        for n in OPTION_NAMES))


def cancel_intent(account: str, strategy: str, symbol: str, order_id: int, key: int, now: int) -> tuple:
    return typed_intent_v1(INTENT_CANCEL, key, account, strategy, symbol, 0, 0, 0, 1, 1, now, order_id)


def replace_intent(account: str, strategy: str, symbol: str, order_id: int, price: int, qty: int, key: int,
                   now: int) -> tuple:
    """The ``typed_intent_v1`` tuple of a replace (side 0: the order's; type and tif stay the order's)."""
    return typed_intent_v1(INTENT_REPLACE, key, account, strategy, symbol, 0, price, qty, 1, 1, now, order_id)


# the field a gateway denial concerns (for the 422 body)
_REASON_FIELD = {
    "OFF_TICK": "price", "BAD_PRICE": "price", "PRICE_BAND": "price", "NO_REFERENCE_PRICE": "price",
    "OFF_LOT": "qty", "BAD_QTY": "qty", "QTY_BELOW_MIN": "qty", "MAX_ORDER_QTY": "qty", "MAX_ORDER_NOTIONAL": "qty", "MIN_NOTIONAL": "qty",
    "POSITION_LIMIT": "qty", "NOTIONAL_LIMIT": "qty",  # the order's size with the position and working orders
    "LONG_LIMIT": "qty", "SHORT_LIMIT": "qty", "BUYING_POWER": "qty",
    "SELF_MATCH": "price",  # the price would cross one of the strategy's own resting orders
    "UNKNOWN_SYMBOL": "symbol", "UNKNOWN_ACCOUNT": "account", "UNKNOWN_STRATEGY": "strategy",
    "BAD_SIDE": "side", "UNSUPPORTED_ORDER_TYPE": "order_type", "BAD_TRIGGER": "trigger", "UNSUPPORTED_TIF": "tif",
    "BAD_EXPIRE": "expire", "BAD_DISPLAY": "display", "BAD_TRAIL": "trail", "BAD_LINK": "oco, parent",
    "UNKNOWN_ORDER": "order_id", "ORDER_PENDING": "order_id",
    "STRATEGY_CANCEL_ONLY": "strategy", "STRATEGY_DISABLED": "strategy",  # the strategy's mode (an admin's)
}


_POLICY = (R_POLICY_REJECT_ALL, R_POLICY_CANCEL_ONLY, R_GATEWAY_DISABLED, R_STRATEGY_CANCEL_ONLY, R_STRATEGY_DISABLED)
_IS_POLICY = np.zeros(1 << 16, np.bool_)  # by the int16 reason's bits (decision_statuses: no isin per batch)
_IS_POLICY[np.array(_POLICY, np.int16).view(np.uint16)] = True


def decision_status(d: Any) -> int:
    """The status a decision is answered with (HTTP, and the TCP intake's frames): 201 accepted, 200 a
    duplicate, 409 its key already decided for another request (``KEY_REUSED``), 503 refused by the policy
    (kill switch, REJECT_ALL, disabled; a strategy's cancel_only or disabled mode), 422 any other denial."""
    if d.accepted:
        return 200 if d.duplicate else 201
    if d.reason == R_KEY_REUSED:
        return 409
    return 503 if d.reason in _POLICY else 422


def decision_statuses(out: np.ndarray) -> np.ndarray:
    """`decision_status` of every row of a DECISION_DTYPE array (the TCP intake's column-wise answers)."""
    return np.where(out["accepted"] != 0, np.where(out["duplicate"] != 0, 200, 201),
                    np.where(_IS_POLICY[out["reason"].astype(np.int16).view(np.uint16)], 503,
                             np.where(out["reason"] == R_KEY_REUSED, 409, 422))).astype(np.uint16)


class DecisionBody(msgspec.Struct):
    """The JSON answer of a decision (accepted or denied), in its field order; `field` (the field a denial
    concerns) only on a denial. A struct: msgspec encodes it at about half a dict's cost."""

    accepted: bool
    reason: str
    order_id: int
    seq: int
    duplicate: bool
    client_order_id: str
    kind: str
    ts: int
    field: str | msgspec.UnsetType = msgspec.UNSET


def decision_body(d: Any, client_order_id: str) -> DecisionBody:
    """The JSON answer of a decision (accepted or denied): `encode` it."""
    reason = REASON_NAMES.get(int(d.reason), str(d.reason))
    out = DecisionBody(bool(d.accepted), reason, int(d.order_id), int(d.seq), bool(d.duplicate), client_order_id,
                       INTENT_KIND_NAMES.get(d.kind, str(d.kind)), int(d.ts))
    if not d.accepted:
        out.field = _REASON_FIELD.get(reason, "")
    return out
