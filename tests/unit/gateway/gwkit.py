"""Helpers for the gateway tests (imported by the test modules of this folder)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hft.core.clock import ManualClock
from hft.core.orders import (
    BUY,
    INTENT,
    INTENT_CANCEL,
    INTENT_NEW,
    INTENT_REPLACE,
    ORDER_LIMIT,
    ORDER_TYPE_NAMES,
    TIF_GTC,
)
from hft.gateway.config import GatewayConfig, LimitSet, SymbolSpec
from hft.gateway.intents import ExecutionReport, TypedIntentEnvelope, typed_intent_v1
from hft.gateway.service import GatewayService, ListDispatcher

SYMS = ("AAA", "BBB", "CCC")
STRATS = ("s1", "s2")
ACCTS = ("A1", "A2")
ALL_ORDER_TYPES = tuple(ORDER_TYPE_NAMES.values())


def config(**kw: Any) -> GatewayConfig:
    base = GatewayConfig(
        accounts={a: LimitSet() for a in ACCTS},
        strategies={s: LimitSet() for s in STRATS},
        symbols={y: SymbolSpec(y) for y in SYMS},
        defaults=LimitSet(max_order_qty=100, max_position=50, min_qty=1, price_band_bps=1000),
        max_accounts=4, max_strategies=4, max_symbols=8, exposure_max_symbols=64, max_working_orders=1024,
        dedup_capacity=10_000, timing="dispatch",
    )
    return replace(base, **kw)


class Gw:
    """A service with a manual clock, a list dispatcher and a record sink, plus intent shortcuts."""

    def __init__(self, cfg: GatewayConfig | None = None, mark: int | None = 1000, **kw: Any) -> None:
        self.clock = ManualClock(1_000_000_000)
        self.dispatcher = kw.pop("dispatcher", None) or ListDispatcher()
        self.records: list = []
        self.svc = GatewayService(cfg or config(), clock=self.clock, dispatcher=self.dispatcher,
                                  sink=self.records.append, **kw)
        self._key = 0
        if mark is not None:
            for y in SYMS:
                self.svc.mark(y, mark)

    def key(self) -> int:
        self._key += 1
        return self._key

    def new(self, side: int = BUY, price: int = 1000, qty: int = 1, sym: str = "AAA", strat: str = "s1",
            acct: str = "A1", key: Any = None, otype: int = ORDER_LIMIT, tif: int = TIF_GTC, trigger: Any = 0,
            expire: Any = 0, display: Any = 0, trail: Any = 0, oco: Any = 0, parent: Any = 0):
        k = self.key() if key is None else key
        return self.svc.process(TypedIntentEnvelope(
            typed_intent_v1(INTENT_NEW, k, acct, strat, sym, side, price, qty, otype, tif, 0, 0, trigger, expire, display,
                            trail, oco, parent), 0))

    def cancel(self, oid: int, sym: str = "AAA", strat: str = "s1", acct: str = "A1", key: Any = None):
        k = self.key() if key is None else key
        return self.svc.process(TypedIntentEnvelope(
            typed_intent_v1(INTENT_CANCEL, k, acct, strat, sym, 0, 0, 0, ORDER_LIMIT, TIF_GTC, 0, oid), 0))

    def replace(self, oid: int, price: int, qty: int, sym: str = "AAA", strat: str = "s1", acct: str = "A1",
                key: Any = None):
        k = self.key() if key is None else key
        return self.svc.process(TypedIntentEnvelope(
            typed_intent_v1(INTENT_REPLACE, k, acct, strat, sym, 0, price, qty, ORDER_LIMIT, TIF_GTC, 0, oid), 0))


def gw_every_type(**kw: Any) -> Gw:
    """A `Gw` whose mask takes every order type (the venue-native ones too); `kw` over `config`'s."""
    return Gw(config(order_types=ALL_ORDER_TYPES, **kw))


def report(g: Gw, oid: int, kind: int, price: int = 0, qty: int = 0, leaves: int = -1, fee: int = 0) -> Any:
    """An execution report of order `oid` applied by `g`'s service at its clock's now."""
    return g.svc.on_execution_report(ExecutionReport(g.clock.now_ns(), oid, kind, price, qty, leaves, fee))


def intent_row(**fields: int) -> tuple:
    """An `INTENT` row (a tuple to assign into an ``INTENT_DTYPE`` array) by field name, each field not given 0: a
    row that still fits when the record grows a field (a new order option)."""
    return INTENT.pack(**(dict.fromkeys(INTENT.names, 0) | fields))
