"""The compiled per-intent driver (hft.gateway.driver): what it takes, what it leaves to Python, references."""

import gc
import sys

import numpy as np
import pytest
from gwkit import Gw, config

from hft.core.errors import ConfigError
from hft.core.orders import (
    BUY,
    INTENT_CANCEL,
    INTENT_NEW,
    NO_KEY,
    ORDER_LIMIT,
    R_UNKNOWN_ACCOUNT,
    R_UNKNOWN_STRATEGY,
    R_UNKNOWN_SYMBOL,
    TIF_GTC,
)
from hft.gateway import driver
from hft.gateway.config import LimitSet
from hft.gateway.intents import Decision, IntentEnvelope, OrderCommand, OrderIntent, TypedIntentEnvelope

# `.ci/run` runs the gateway tests a second time with the driver switched off (HFT_GATEWAY_DRIVER=python); the
# tests of the driver itself then have nothing to test
pytestmark = pytest.mark.skipif(driver.driver_mode() == "python", reason="HFT_GATEWAY_DRIVER=python: driver off")


def payload(key=1, acct="A1", strat="s1", sym="AAA", side=BUY, price=1000, qty=1, kind=INTENT_NEW,
            otype=ORDER_LIMIT, tif=TIF_GTC, target=0, tag="typed_intent_v1"):
    return (tag, kind, key, acct, strat, sym, side, price, qty, otype, tif, 0, target)


def drive(g, env, now=None):
    svc = g.svc
    return svc._fast(svc.arena, svc._ctx, env, g.clock.now_ns() if now is None else now, svc._mode)


class TupleChild(tuple):
    pass


class Duck:
    """Has an OrderIntent's fields but is not one."""

    def __init__(self):
        for name, value in zip(("kind", "key", "account", "strategy", "symbol", "side", "price", "qty",
                                "order_type", "tif", "ts", "order_id"), payload()[1:], strict=True):
            setattr(self, name, value)


LEFT_TO_PYTHON = {
    "envelope of a duck-typed intent": lambda: IntentEnvelope(Duck()),
    "not an envelope": lambda: payload(),
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


@pytest.mark.parametrize("case", sorted(LEFT_TO_PYTHON))
def test_unusual_envelopes_are_left_to_python_untouched(case):
    g = Gw()
    before = g.svc.arena.copy()
    env = LEFT_TO_PYTHON[case]()
    assert drive(g, env) is None
    assert (g.svc.arena == before).all()
    # ... and `process` still decides them (the Python path), as before the driver existed
    if case != "not an envelope":
        assert isinstance(g.svc.process(env), Decision)


def test_disabled_gateway_unlisted_symbols_and_odd_clock_are_left_to_python():
    g = Gw(config(enabled=False))
    assert drive(g, TypedIntentEnvelope(payload())) is None
    g.svc.enabled = True
    assert isinstance(drive(g, TypedIntentEnvelope(payload())), Decision)
    g.svc.enabled = False
    assert drive(g, TypedIntentEnvelope(payload(key=2))) is None
    assert g.svc.process(TypedIntentEnvelope(payload(key=2))).reason_name == "GATEWAY_DISABLED"

    g = Gw(config(allow_unlisted_symbols=True))
    assert drive(g, TypedIntentEnvelope(payload(sym="NEW"))) is None
    assert g.svc.process(TypedIntentEnvelope(payload(sym="NEW"))).accepted  # registered by the Python path
    assert isinstance(drive(g, TypedIntentEnvelope(payload(key=2, sym="NEW"))), Decision)

    g = Gw()
    assert drive(g, TypedIntentEnvelope(payload()), now=1.5e9) is None
    assert drive(g, TypedIntentEnvelope(payload()), now=1 << 64) is None


@pytest.mark.parametrize("names", [("ghost", "s1", "AAA"), ("A1", "ghost", "AAA"), ("A1", "s1", "ghost"),
                                   (None, None, None)])
def test_unknown_names_are_decided_by_the_driver_like_python(names):
    fast, slow = Gw(), Gw()
    slow.svc._fast = lambda *a: None
    env = TypedIntentEnvelope(payload(acct=names[0], strat=names[1], sym=names[2]), 7)
    assert isinstance(drive(fast, env), Decision)
    fast2 = Gw()
    a, b = fast2.svc.process(env), slow.svc.process(env)
    assert a == b and a.reason in (R_UNKNOWN_ACCOUNT, R_UNKNOWN_STRATEGY, R_UNKNOWN_SYMBOL)
    assert (fast2.svc.arena == slow.svc.arena).all()


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


def test_references_are_balanced():
    """Every object the driver touches ends with the reference count it started with once the decisions,
    commands and records are gone: nothing leaked, nothing freed early."""
    g = Gw(config(defaults=LimitSet(max_order_qty=100, max_position=10_000, min_qty=1, price_band_bps=1000)))
    objs = {"price": 1001, "acct": "A1", "sym": "BBB"}
    keys = [f"k-{i}" if i % 3 == 0 else 10**15 + i for i in range(330)]  # str keys go through dedup_key
    envs = [TypedIntentEnvelope(payload(key=k, acct=objs["acct"], sym=objs["sym"], price=objs["price"],
                                        qty=1 + i % 3), 1 << 40) for i, k in enumerate(keys[:300])]
    envs += [IntentEnvelope(OrderIntent.new(k, objs["acct"], "s2", objs["sym"], BUY, objs["price"], 1), 1 << 41)
             for k in keys[300:]]
    envs += envs[:50]  # duplicates
    envs.append(TypedIntentEnvelope(payload(key=7, sym="ghost", price=objs["price"])))
    gc.collect()
    before = {name: sys.getrefcount(o) for name, o in objs.items()}
    key_refs = [sys.getrefcount(k) for k in keys]
    payload_refs = [sys.getrefcount(e.payload if type(e) is TypedIntentEnvelope else e.intent) for e in envs]
    out = [g.svc.process(e) for e in envs]
    assert sum(d.accepted and not d.duplicate for d in out) > 280 and sum(d.duplicate for d in out) == 50
    assert sys.getrefcount(objs["price"]) > before["price"]  # held by the decisions now
    del out
    g.dispatcher.clear()
    g.records.clear()
    gc.collect()
    assert {name: sys.getrefcount(o) for name, o in objs.items()} == before
    assert [sys.getrefcount(e.payload if type(e) is TypedIntentEnvelope else e.intent) for e in envs] == payload_refs
    assert [sys.getrefcount(k) for k in keys] == key_refs


def test_order_intent_envelopes_take_the_driver_with_the_same_decisions():
    fast, slow = Gw(), Gw()
    slow.svc._fast = lambda *a: None
    intents = [OrderIntent.new("k1", "A1", "s1", "AAA", BUY, 1000, 2), OrderIntent.new(2, "A1", "s2", "BBB", BUY, 999, 1),
               OrderIntent.cancel(3, "A1", "s1", "AAA", 1), OrderIntent.new("k1", "A1", "s1", "AAA", BUY, 1000, 2),
               OrderIntent.replace(4, "A1", "s2", "BBB", 2, 998, 3), OrderIntent.new(5, "A1", "s1", "ghost", BUY, 9, 1)]
    for i in intents:
        env = IntentEnvelope(i, 11)
        g = Gw()
        for _ in range(2):
            assert isinstance(drive(g, env), Decision)  # taken by the driver (second time: a duplicate)
        a, b = fast.svc.process(env), slow.svc.process(env)
        assert a == b and [type(x) for x in a] == [type(x) for x in b]
        assert a.key is i.key and a.symbol is i.symbol
    assert (fast.svc.arena == slow.svc.arena).all() and fast.records == slow.records


def test_the_switch_turns_the_driver_off_with_the_same_decisions(monkeypatch):
    """HFT_GATEWAY_DRIVER=python: every envelope takes the Python path, and the decisions are the driver's."""
    def run():
        g = Gw()
        out = [g.svc.process(TypedIntentEnvelope(payload(key=k, price=1000 + k % 3, qty=1 + k % 2), 0))
               for k in range(1, 40)]
        out.append(g.svc.process(TypedIntentEnvelope(payload(key=5), 0)))  # a duplicate
        out.append(g.svc.process(TypedIntentEnvelope(payload(key=99, acct="nobody"), 0)))  # unknown account
        return g, [d._replace(command=None, recv_ts=0) for d in out]

    g_c, compiled = run()
    assert g_c.svc._fast is not driver._unavailable
    monkeypatch.setenv(driver.DRIVER_ENV, "python")
    g_p, python = run()
    assert g_p.svc._fast is driver._unavailable
    assert python == compiled


@pytest.mark.parametrize("value", ["numba", "1", "C"])
def test_the_switch_refuses_other_values(value):
    with pytest.raises(ConfigError, match="HFT_GATEWAY_DRIVER: expected one of"):
        driver.driver_mode({driver.DRIVER_ENV: value})
    assert driver.driver_mode({}) == "compiled" and driver.driver_mode({driver.DRIVER_ENV: " Python "}) == "python"
