"""`GatewayService.process` on envelopes of every shape: the records it builds reuse the intent's objects, and
an envelope with odd field types is still decided (never raises)."""

import gc

import numpy as np
import pytest
from gwkit import Gw

from hft.core.orders import BUY, INTENT_CANCEL, INTENT_NEW, NO_KEY, ORDER_LIMIT, TIF_GTC
from hft.gateway.intents import Decision, IntentEnvelope, OrderCommand, TypedIntentEnvelope


def payload(key=1, acct="A1", strat="s1", sym="AAA", side=BUY, price=1000, qty=1, kind=INTENT_NEW,
            otype=ORDER_LIMIT, tif=TIF_GTC, target=0, tag="typed_intent_v1"):
    return (tag, kind, key, acct, strat, sym, side, price, qty, otype, tif, 0, target)


class TupleChild(tuple):
    pass


class Duck:
    """Has an OrderIntent's fields but is not one."""

    def __init__(self):
        for name, value in zip(("kind", "key", "account", "strategy", "symbol", "side", "price", "qty",
                                "order_type", "tif", "ts", "order_id"), payload()[1:], strict=True):
            setattr(self, name, value)


ODD_ENVELOPES = {
    "envelope of a duck-typed intent": lambda: IntentEnvelope(Duck()),
    "payload is a tuple subclass": lambda: TypedIntentEnvelope(TupleChild(payload())),
    "payload too short": lambda: TypedIntentEnvelope(payload()[:12]),
    "payload is a list": lambda: TypedIntentEnvelope(list(payload())),
    "tag not the interned constant": lambda: TypedIntentEnvelope(payload(tag="".join(["typed_", "intent_v1"]))),
    "wrong tag": lambda: TypedIntentEnvelope(payload(tag="typed_intent_v2")),
    "bool side": lambda: TypedIntentEnvelope(payload(side=True)),
    "numpy price": lambda: TypedIntentEnvelope(payload(price=np.int64(1000))),
    "float qty": lambda: TypedIntentEnvelope(payload(qty=1.0)),
    "qty beyond int64": lambda: TypedIntentEnvelope(payload(qty=1 << 63)),
    "target beyond int64": lambda: TypedIntentEnvelope(payload(kind=INTENT_CANCEL, target=-(1 << 64))),
    "NO_KEY key": lambda: TypedIntentEnvelope(payload(key=NO_KEY)),
    "key beyond int64": lambda: TypedIntentEnvelope(payload(key=1 << 70)),
    "empty str key": lambda: TypedIntentEnvelope(payload(key="")),
    "bytes key": lambda: TypedIntentEnvelope(payload(key=b"k")),
    "unhashable symbol": lambda: TypedIntentEnvelope(payload(sym=["AAA"])),
    "unhashable account": lambda: TypedIntentEnvelope(payload(acct={})),
}


@pytest.mark.parametrize("case", sorted(ODD_ENVELOPES))
def test_oddly_typed_envelopes_are_decided(case):
    g = Gw()
    d = g.svc.process(ODD_ENVELOPES[case]())
    assert isinstance(d, Decision) and g.records == [d]


def test_decision_and_command_objects():
    g = Gw()
    key, price = 10**12 + 7, 1000
    env = TypedIntentEnvelope(payload(key=key, price=price, qty=3), 42)
    d = g.svc.process(env)
    assert type(d) is Decision and type(d.command) is OrderCommand
    assert gc.is_tracked(d) and gc.is_tracked(d.command)  # cycles through them stay collectable
    assert d.key is env.payload[2] and d.account is env.payload[3] and d.command.symbol is env.payload[5]
    assert d.ts is d.command.ts and d.recv_ts == 42 and d.accepted is True and d.duplicate is False
    assert d.command.order_id == d.order_id == 1 and g.dispatcher.commands == [d.command]
    c = g.svc.process(TypedIntentEnvelope(payload(key=key + 1, kind=INTENT_CANCEL, price=0, qty=0, target=1)))
    assert c.accepted and c.command.order_id == c.order_id == 1 and c.command.action == INTENT_CANCEL
    dup = g.svc.process(env)
    assert dup.duplicate is True and dup.command is None and dup.order_id == 1 and dup.accepted is True
