import math

import pytest
from gwkit import (
    Gw,
    config,
)

from hft.core.orders import (
    INTENT_NEW,
    R_BAD_INPUT,
    R_BAD_KEY,
    R_BAD_KIND,
    R_BAD_PRICE,
    R_BAD_QTY,
    R_BAD_SIDE,
    R_KEY_REUSED,
    R_OFF_TICK,
    R_UNKNOWN_ACCOUNT,
    R_UNKNOWN_STRATEGY,
    R_UNKNOWN_SYMBOL,
    R_UNSUPPORTED_ORDER_TYPE,
    R_UNSUPPORTED_TIF,
)
from hft.gateway import IntentEnvelope, OrderIntent, TypedIntentEnvelope
from hft.gateway.config import SymbolSpec


def T(*fields):
    return TypedIntentEnvelope(("typed_intent_v1", *fields), 0)


GOOD = (INTENT_NEW, 1, "A1", "s1", "AAA", 1, 1000, 1, 1, 1, 0, 0)


def with_(i, v, key=None):
    f = list(GOOD)
    f[i] = v
    f[1] = key if key is not None else 1000 + i
    return T(*f)


@pytest.mark.parametrize(("idx", "value", "reason"), [
    (7, -5, R_BAD_QTY), (7, 0, R_BAD_QTY), (6, -1, R_BAD_PRICE), (6, 0, R_BAD_PRICE),
    (5, 2, R_BAD_SIDE), (5, 0, R_BAD_SIDE), (0, 9, R_BAD_KIND),
    (2, "nobody", R_UNKNOWN_ACCOUNT), (3, "nostrat", R_UNKNOWN_STRATEGY), (4, "ZZZ", R_UNKNOWN_SYMBOL),
    (8, 7, R_UNSUPPORTED_ORDER_TYPE), (9, 0, R_UNSUPPORTED_TIF),
    (6, math.nan, R_BAD_INPUT), (6, 1000.0, R_BAD_INPUT), (7, "5", R_BAD_INPUT), (7, None, R_BAD_INPUT),
    (5, True, R_BAD_INPUT), (6, 1 << 70, R_BAD_INPUT), (2, ["x"], R_BAD_INPUT),
])
def test_malformed_fields_are_rejected_with_a_reason(idx, value, reason):
    g = Gw()
    d = g.svc.process(with_(idx, value))
    assert not d.accepted and d.reason == reason, d
    assert not g.dispatcher.commands
    assert g.new().accepted  # the service keeps going


@pytest.mark.parametrize("key", [None, 1.5, "", [1], 1 << 64, -(1 << 63)])
def test_bad_keys(key):
    g = Gw()
    f = list(GOOD)
    f[1] = key
    d = g.svc.process(T(*f))
    assert not d.accepted and d.reason in (R_BAD_KEY, R_BAD_INPUT)


@pytest.mark.parametrize("payload", [("typed_intent_v1",), ("other_tag", *GOOD), "garbage", None, 42])
def test_malformed_payloads(payload):
    g = Gw()
    d = g.svc.process(TypedIntentEnvelope(payload, 0))
    assert not d.accepted and d.reason == R_BAD_INPUT


def test_wrong_envelope_objects():
    g = Gw()
    assert g.svc.process(IntentEnvelope("not an intent", 0)).reason == R_BAD_INPUT
    assert g.svc.process(object()).reason == R_BAD_INPUT  # type: ignore[arg-type]
    d = g.svc.process(IntentEnvelope(OrderIntent.new("k", "A1", "s1", "AAA", 1, 1000.5, 1), 0))
    assert d.reason == R_BAD_INPUT


def test_numpy_integers_are_accepted():
    import numpy as np

    g = Gw()
    d = g.svc.process(IntentEnvelope(OrderIntent.new(np.int64(5), "A1", "s1", "AAA", np.int8(1), np.int64(1000),
                                                     np.int32(2)), 0))
    assert d.accepted


def test_off_tick_price():
    g = Gw(config(symbols={"AAA": SymbolSpec("AAA", tick_multiple=10)}))
    assert g.new(price=1005).reason == R_OFF_TICK


def test_malformed_intent_with_a_key_is_deduplicated():
    g = Gw()
    d1 = g.svc.process(with_(7, "x", key=5))
    d2 = g.svc.process(with_(7, "x", key=5))  # same key, same intent: the original (rejected) decision comes back
    assert d1.reason == R_BAD_INPUT and d2.duplicate and d2.reason == R_BAD_INPUT
    d3 = g.svc.process(with_(7, 3, key=5))  # the key with another request: refused as a reuse
    assert d3.duplicate and d3.reason == R_KEY_REUSED


def test_unlisted_symbols_beyond_capacity_get_their_own_reason(caplog):
    """Issue 12: with the symbol registry full, unlisted symbols were INTERNAL_ERROR with a traceback logged per
    intent; they are SYMBOL_CAPACITY decisions, counted, recorded, nothing logged as an error."""
    from hft.core.orders import R_SYMBOL_CAPACITY, REASON_NAMES

    g = Gw(config(allow_unlisted_symbols=True, max_symbols=4))
    assert g.new(sym="NEW1").accepted  # the 4th symbol fits
    with caplog.at_level("DEBUG", logger="hft.gateway"):
        ds = [g.new(sym="NEW2"), g.svc.process(IntentEnvelope(OrderIntent.new(77, "A1", "s1", "NEW3", 1, 1000, 1)))]
    assert [d.reason for d in ds] == [R_SYMBOL_CAPACITY] * 2 and REASON_NAMES[R_SYMBOL_CAPACITY] == "SYMBOL_CAPACITY"
    assert not any(r.levelname in ("ERROR", "CRITICAL") or r.exc_info for r in caplog.records)
    snap = g.svc.metrics_snapshot()
    assert snap["rejects_by_reason"] == {"SYMBOL_CAPACITY": 2} and snap["internal_errors"] == 0
    assert [r.reason for r in g.records[-2:]] == [R_SYMBOL_CAPACITY] * 2
