"""Good-till-date orders at the gateway (docs/gateway.md, "Good till date"): the TIF mask, the expiry's checks
(after the decision's time, none on another TIF, GTD on limit / post-only / stop / stop-limit but not market), the
expiry in the decision, the command, the audit row and the idempotency fingerprint, the venue's EXPIRED report, and
the batch path and the dry run equal to the one-intent path."""

from __future__ import annotations

import numpy as np
from gwkit import Gw, config, intent_row

from hft.core.orders import (
    BUY,
    INTENT_NEW,
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_POST_ONLY,
    ORDER_STOP,
    ORDER_STOP_LIMIT,
    ORDER_TYPE_NAMES,
    R_BAD_EXPIRE,
    R_KEY_REUSED,
    R_OK,
    R_UNSUPPORTED_TIF,
    REPORT_ACK,
    REPORT_EXPIRED,
    TIF_GTC,
    TIF_GTD,
    TIF_IOC,
    TIF_NAMES,
)
from hft.gateway.intents import ExecutionReport, OrderIntent, empty_intents, from_typed, typed_intent_v1

ALL = tuple(ORDER_TYPE_NAMES.values())
NOW = 1_000_000_000  # gwkit's clock


def gw():
    return Gw(config(order_types=ALL, tifs=tuple(TIF_NAMES.values())))


def test_the_shipped_tifs_refuse_gtd():
    g = Gw()  # tifs: gtc, ioc, fok, day (config/gateway.yaml's)
    assert g.new(tif=TIF_GTD, expire=NOW + 5).reason == R_UNSUPPORTED_TIF


def test_expire_rules():
    g = gw()
    assert g.new(tif=TIF_GTD, expire=0).reason == R_BAD_EXPIRE  # a GTD needs its expiry
    assert g.new(tif=TIF_GTD, expire=NOW).reason == R_BAD_EXPIRE  # not after the decision's time
    assert g.new(tif=TIF_GTD, expire=NOW - 1).reason == R_BAD_EXPIRE
    assert g.new(tif=TIF_GTC, expire=NOW + 5).reason == R_BAD_EXPIRE  # an expiry on another TIF
    assert g.new(tif=TIF_IOC, expire=NOW + 5).reason == R_BAD_EXPIRE
    assert g.new(otype=ORDER_MARKET, price=0, tif=TIF_GTD, expire=NOW + 5).reason == R_UNSUPPORTED_TIF
    for otype, price, trigger in ((ORDER_LIMIT, 1000, 0), (ORDER_POST_ONLY, 990, 0), (ORDER_STOP, 0, 1010),
                                  (ORDER_STOP_LIMIT, 1005, 1010)):
        d = g.new(otype=otype, price=price, trigger=trigger, tif=TIF_GTD, expire=NOW + 1)
        assert d.accepted, (otype, d.reason_name)
        assert d.expire == NOW + 1 and d.command.expire == NOW + 1 and d.command.tif == TIF_GTD
        assert g.records[-1] is d and g.dispatcher.commands[-1].expire == NOW + 1
    assert g.new(tif=TIF_GTD, expire=2**63 - 1).accepted  # the far future: int64's end


def test_an_expired_report_frees_the_order_and_its_exposure():
    g = gw()
    d = g.new(qty=3, tif=TIF_GTD, expire=NOW + 10)
    assert g.svc.position("A1", "s1", "AAA").working_buy == 3
    assert g.svc.on_execution_report(ExecutionReport(NOW, d.order_id, REPORT_ACK, 1000, 0, 3)) == 0
    g.clock.set(NOW + 10)
    assert g.svc.on_execution_report(ExecutionReport(NOW + 10, d.order_id, REPORT_EXPIRED, 0, 0, 0)) == 0
    assert g.svc.position("A1", "s1", "AAA").working_buy == 0


def test_the_expiry_binds_the_idempotency_key():
    g = gw()
    d = g.new(key=77, tif=TIF_GTD, expire=NOW + 10)
    again = g.new(key=77, tif=TIF_GTD, expire=NOW + 10)
    assert again.duplicate and again.order_id == d.order_id
    assert g.new(key=77, tif=TIF_GTD, expire=NOW + 11).reason == R_KEY_REUSED  # another expiry: another request


def test_the_typed_tuple_carries_the_expiry_only_when_set():
    assert len(typed_intent_v1(INTENT_NEW, 1, "A1", "s1", "AAA", BUY, 1000, 1)) == 13
    assert len(typed_intent_v1(INTENT_NEW, 1, "A1", "s1", "AAA", BUY, 1000, 1, trigger=5)) == 14
    p = typed_intent_v1(INTENT_NEW, 1, "A1", "s1", "AAA", BUY, 1000, 1, ORDER_LIMIT, TIF_GTD, 0, 0, 0, NOW + 3)
    assert len(p) == 15 and from_typed(p).expire == NOW + 3 and from_typed(p).trigger == 0
    i = OrderIntent.new(1, "A1", "s1", "AAA", BUY, 1000, 1, ORDER_LIMIT, TIF_GTD, 0, 0, NOW + 3)
    assert i.to_typed() == p


def test_batch_path_and_dry_run_equal_one_intent_path():
    rows = [(TIF_GTD, NOW + 1), (TIF_GTD, NOW), (TIF_GTD, 0), (TIF_GTC, NOW + 5), (TIF_GTC, 0), (TIF_GTD, NOW + 9)]
    one = gw()
    singles = [one.new(qty=2, tif=tif, expire=e) for tif, e in rows]
    assert [d.reason for d in singles] == [R_OK, R_BAD_EXPIRE, R_BAD_EXPIRE, R_BAD_EXPIRE, R_OK, R_OK]
    batch = gw()
    it = empty_intents(len(rows))
    for i, (tif, e) in enumerate(rows):
        it[i] = intent_row(key=i + 1, price=1000, qty=2, account=batch.svc.account_id("A1"),
                           strategy=batch.svc.strategy_id("s1"), symbol=batch.svc.symbol_id("AAA"), kind=INTENT_NEW,
                           side=BUY, order_type=ORDER_LIMIT, tif=tif, expire=e)
    dry = gw()
    checked = dry.svc.check_batch(it.copy())
    evaluated = [dry.svc.risk.evaluate(NOW, 0, 0, 0, BUY, 1000, 2, ORDER_LIMIT, tif, expire=e) for tif, e in rows]
    out = batch.svc.process_batch(it)
    assert [int(r) for r in out["reason"]] == [d.reason for d in singles] == checked.tolist() == evaluated
    assert [int(e) for e in out["expire"]] == [d.expire for d in singles] == [r[1] for r in rows]
    (cmds,) = batch.dispatcher.batches  # one COMMAND_DTYPE array
    assert cmds["expire"].tolist() == [d.command.expire for d in singles if d.accepted]
    assert np.array_equal(cmds["tif"], [d.command.tif for d in singles if d.accepted])
