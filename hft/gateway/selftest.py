"""Known-answer check of the gateway's compiled decision core (`hft.core.selftest`): a fixed sequence of intents
(new, cancel, replace; repeated keys, with their own request and with another: KEY_REUSED; limits, price band, rates), execution reports and marks through one
`GatewayService` — one intent at a time (`process`), then as arrays (the batch kernel) — and the
digest of every decision, position and PnL it gives. A change of the gateway's behaviour on purpose re-records
`KNOWN` (``tests/unit/core/test_selftest.py`` prints the new values)."""

from __future__ import annotations

import hashlib

import numpy as np

from hft.core.clock import ManualClock
from hft.core.orders import (
    BUY,
    EXEC_REPORT_DTYPE,
    INTENT_CANCEL,
    INTENT_DTYPE,
    INTENT_NEW,
    INTENT_REPLACE,
    ORDER_LIMIT,
    REPORT_ACK,
    REPORT_CANCELED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    SELL,
    TIF_GTC,
    TIF_IOC,
)
from hft.core.selftest import Answer
from hft.gateway.config import GatewayConfig, LimitSet, Rate, SymbolSpec
from hft.gateway.intents import TypedIntentEnvelope, typed_intent_v1
from hft.gateway.service import GatewayService, ListDispatcher

KNOWN = {
    "one intent at a time: decisions": "be2808e0e8a977d9",
    "batch: decisions": "ba716b79c6912265",
    "positions and PnL": "95c910178c8f7bec",
}
_ACCTS, _STRATS, _SYMS = ("A1", "A2"), ("s1", "s2"), ("AAA", "BBB", "CCC")


def _config() -> GatewayConfig:
    return GatewayConfig(
        accounts={"A1": LimitSet(max_notional=5_000_000), "A2": LimitSet(daily_loss=20_000)},
        strategies={"s1": LimitSet(submit_rate=Rate(40, 1_000_000_000)), "s2": LimitSet(max_position=30)},
        symbols={"AAA": SymbolSpec("AAA"), "BBB": SymbolSpec("BBB", multiplier=3), "CCC": SymbolSpec("CCC")},
        defaults=LimitSet(max_order_qty=40, max_order_notional=60_000, max_position=80, min_qty=1,
                          price_band_bps=500),
        max_accounts=4, max_strategies=4, max_symbols=8, exposure_max_symbols=64, max_working_orders=256,
        dedup_capacity=1000, timing="off")


def _digest(rows: list[tuple]) -> str:
    return hashlib.blake2b(repr(rows).encode(), digest_size=8).hexdigest()


def decisions() -> list[Answer]:
    """Run the sequence and return the digests of what the gateway decided."""
    clock = ManualClock(1_000_000_000)
    svc = GatewayService(_config(), clock=clock, dispatcher=ListDispatcher(), sink=None)
    marks = {"AAA": 1000, "BBB": 2000, "CCC": 500}
    for y, px in marks.items():
        svc.mark(y, px)
    x = 12345  # a fixed linear congruential sequence (Python integers: no library's generator can change it)

    def rnd(n: int) -> int:
        nonlocal x
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return (x >> 33) % n

    live: list[tuple[int, str, str, str]] = []  # working orders: id, account, strategy, symbol
    one: list[tuple] = []
    for i in range(240):
        clock.advance(rnd(20_000_000) + 1)
        a, t, y = _ACCTS[rnd(2)], _STRATS[rnd(2)], _SYMS[rnd(3)]
        key = i if rnd(10) else max(i - 3, 0)  # a repeated key now and then: a dedup hit
        r = rnd(10)
        if r < 6 or not live:
            m = marks[y]
            px = m + rnd(m // 20 + 1) - m // 40 if rnd(8) else m * 2  # now and then outside the band
            it = typed_intent_v1(INTENT_NEW, key, a, t, y, BUY if rnd(2) else SELL, px, rnd(50) + 1, ORDER_LIMIT,
                                 TIF_IOC if rnd(6) == 0 else TIF_GTC, 0, 0)
        else:
            oid, a, t, y = live[rnd(len(live))]
            if rnd(8) == 0:  # now and then another strategy's order
                t = _STRATS[(_STRATS.index(t) + 1) % 2]
            if r < 8:
                it = typed_intent_v1(INTENT_CANCEL, key, a, t, y, 0, 0, 0, ORDER_LIMIT, TIF_GTC, 0, oid)
            else:
                it = typed_intent_v1(INTENT_REPLACE, key, a, t, y, 0, marks[y] + rnd(21) - 10, rnd(30) + 1,
                                     ORDER_LIMIT, TIF_GTC, 0, oid)
        d = svc.process(TypedIntentEnvelope(it, clock.now_ns()))
        one.append((d.seq, d.ts, d.key, d.kind, d.accepted, d.reason, d.order_id, d.duplicate, d.target_id))
        if d.accepted and not d.duplicate and d.kind == INTENT_NEW:
            live.append((d.order_id, a, t, y))
        if live and rnd(3) == 0:  # the venue answers: ack, partial fill, fill or cancel of a working order
            order = live[rnd(len(live))]
            kind = (REPORT_ACK, REPORT_PARTIAL_FILL, REPORT_FILL, REPORT_CANCELED)[rnd(4)]
            svc.on_execution_report_array(_report(clock.now_ns(), order[0], kind, marks[order[3]], rnd(5) + 1))
            if kind in (REPORT_FILL, REPORT_CANCELED):
                live.remove(order)
        if rnd(12) == 0:
            y = _SYMS[rnd(3)]
            marks[y] += rnd(41) - 20
            svc.mark(y, marks[y])

    batch = np.zeros(120, dtype=INTENT_DTYPE)
    for i in range(len(batch)):
        b = batch[i]
        b["ts"] = clock.now_ns() + i
        b["key"] = 1000 + i if i % 9 else 1000 + i // 2
        b["account"] = svc.account_id(_ACCTS[rnd(2)])
        b["strategy"] = svc.strategy_id(_STRATS[rnd(2)])
        y = _SYMS[rnd(3)]
        b["symbol"] = svc.symbol_id(y)
        b["kind"] = INTENT_NEW
        b["side"] = BUY if rnd(2) else SELL
        b["price"] = marks[y] + rnd(81) - 40
        b["qty"] = rnd(45) + 1
        b["order_type"] = ORDER_LIMIT
        b["tif"] = TIF_GTC
    clock.advance(1_000_000_000)
    out = svc.process_batch(batch)
    cols = ("seq", "key", "order_id", "reason", "accepted", "duplicate")
    batch_rows = [tuple(int(v) for v in row) for row in zip(*(out[c] for c in cols), strict=True)]

    state = []
    for a in _ACCTS:
        for t in _STRATS:
            for y in _SYMS:
                e = svc.position(a, t, y)
                state.append((a, t, y, *e))
    for t in _STRATS:
        state.append((t, tuple(sorted(svc.pnl(strategy=t).items()))))
    return [Answer(what, KNOWN[what], got) for what, got in (
        ("one intent at a time: decisions", _digest(one)),
        ("batch: decisions", _digest(batch_rows)),
        ("positions and PnL", _digest(state)))]


def _report(ts: int, oid: int, kind: int, price: int, qty: int) -> np.ndarray:
    rep = np.zeros(1, dtype=EXEC_REPORT_DTYPE)
    rep["ts"], rep["order_id"], rep["kind"], rep["price"] = ts, oid, kind, price
    rep["qty"] = qty if kind in (REPORT_PARTIAL_FILL, REPORT_FILL) else 0
    rep["leaves"] = -1
    return rep
