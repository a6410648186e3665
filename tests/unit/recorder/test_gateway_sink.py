"""Gateway decisions and policy transitions reach ClickHouse through the WAL, idempotently."""

from __future__ import annotations

import numpy as np

from hft.core.clock import ManualClock
from hft.core.orders import BUY, INTENT_NEW, ORDER_LIMIT, SELL, TIF_GTC
from hft.gateway.config import GatewayConfig, LimitSet, SymbolSpec
from hft.gateway.intents import TypedIntentEnvelope, empty_intents, typed_intent_v1
from hft.gateway.service import GatewayService, ListDispatcher
from hft.recorder.gateway_sink import DECISIONS, TRANSITIONS, GatewayAuditSink
from hft.recorder.loader import WALLoader
from hft.recorder.wal_first import WALFirstWriter


def _gateway(sink: GatewayAuditSink) -> GatewayService:
    cfg = GatewayConfig(accounts={"A1": LimitSet()}, strategies={"s1": LimitSet()}, symbols={"AAA": SymbolSpec("AAA")},
                        defaults=LimitSet(max_order_qty=10, max_position=50, min_qty=1, price_band_bps=1000),
                        max_accounts=2, max_strategies=2, max_symbols=2, exposure_max_symbols=8,
                        max_working_orders=64, dedup_capacity=1000, timing="off")
    gw = GatewayService(cfg, clock=ManualClock(1_000), dispatcher=ListDispatcher(), sink=sink, batch_sink=sink.batch)
    sink.gateway = gw
    gw.mark("AAA", 1000)
    return gw


def _new(key, side=BUY, qty=1, sym="AAA"):
    return TypedIntentEnvelope(typed_intent_v1(INTENT_NEW, key, "A1", "s1", sym, side, 1000, qty, ORDER_LIMIT,
                                               TIF_GTC, 0, 0), 0)


def test_decisions_and_transitions_are_loaded_once(tmp_path, store):
    writer = WALFirstWriter(tmp_path / "wal", id_namespace="run-1")
    sink = GatewayAuditSink(writer, run_id="run-1")
    gw = _gateway(sink)
    decisions = [gw.process(_new(1)), gw.process(_new(2, qty=1000)), gw.process(_new(1)),  # ok, too big, dup
                 gw.process(_new(3, sym="ZZZ")), gw.process(_new("k-4", side=SELL))]
    gw.kill("drill")  # a transition plus an internal cancel decision per working order
    batch = empty_intents(2)
    batch["kind"], batch["key"], batch["side"], batch["price"], batch["qty"] = INTENT_NEW, [10, 11], BUY, 1000, 1
    batch["order_type"], batch["tif"] = ORDER_LIMIT, TIF_GTC
    gw.reset("drill over")
    batch_out = gw.process_batch(batch)
    writer.close()

    report = WALLoader(store, [tmp_path / "wal"]).load()
    assert report.records_loaded > 0
    rows = store.query(f"SELECT seq, reason, reason_name, duplicate, accepted, symbol_name FROM {DECISIONS} "
                       "ORDER BY seq").dicts()
    n_transitions = store.count(TRANSITIONS)
    assert n_transitions == len(gw.transitions) >= 2
    by_seq = {r["seq"]: r for r in rows}
    for d in decisions:
        assert by_seq[d.seq]["reason"] == d.reason and bool(by_seq[d.seq]["duplicate"]) == d.duplicate
    assert by_seq[decisions[3].seq]["reason_name"] == "UNKNOWN_SYMBOL"
    assert by_seq[decisions[3].seq]["symbol_name"] == "ZZZ"
    for row in batch_out:
        assert by_seq[int(row["seq"])]["reason"] == int(row["reason"])
    assert len(rows) == gw.metrics_snapshot()["decisions"]

    # loading the same WAL again (a new writer re-appending identical ids) shows no duplicates
    writer2 = WALFirstWriter(tmp_path / "wal2", id_namespace="run-1")
    sink2 = GatewayAuditSink(writer2, run_id="run-1", gateway=gw)
    for d in decisions:
        sink2(d)
    writer2.close()
    WALLoader(store, [tmp_path / "wal2"]).load()
    assert store.count(DECISIONS) == len(rows)


def test_malformed_intent_fields_are_recorded_not_fatal(tmp_path, store):
    writer = WALFirstWriter(tmp_path / "wal")
    sink = GatewayAuditSink(writer, run_id="bad")
    gw = _gateway(sink)
    env = TypedIntentEnvelope(typed_intent_v1(INTENT_NEW, 7, "A1", "s1", "AAA", 300, float("nan"), "x",
                                              ORDER_LIMIT, TIF_GTC, 0, 0), 0)
    d = gw.process(env)
    assert not d.accepted
    writer.close()
    WALLoader(store, [tmp_path / "wal"]).load()
    row = store.query(f"SELECT reason, side, price FROM {DECISIONS}").dicts()[0]
    assert row["reason"] == d.reason and row["side"] == 0 and row["price"] == 0
    assert sink.refused == 0
    assert gw.metrics_snapshot().get("sink_errors", 0) == 0
    assert np.int64(d.reason) != 0


def test_decision_array_path_records_the_same_columns_as_the_decision_path(tmp_path):
    """`write_decision_array` (the live service's column-wise path) writes what the per-`Decision` path writes,
    names, reason names and per-row details included; only the record ids (auto-assigned) differ."""
    from hft.recorder.reader import iter_records

    gw = _gateway(GatewayAuditSink(WALFirstWriter(tmp_path / "unused")))
    batch = empty_intents(4)
    batch["kind"], batch["key"], batch["side"], batch["price"] = INTENT_NEW, [10, 11, 10, 12], BUY, 1000
    batch["qty"] = [1, 1000, 1, 2]  # ok, too big, duplicate, ok
    batch["order_type"], batch["tif"] = ORDER_LIMIT, TIF_GTC
    out = gw.process_batch(batch)
    details = ['{"client_order_id":"c1"}', "{}", "{}", '{"client_order_id":"c\u00e9-4"}']
    # mixed reasons, then one reason only (all accepted; a single row): the two ways the reason names are coded
    for name, rows in (("mixed", [0, 1, 2, 3]), ("one_reason", [0, 3]), ("one_row", [1])):
        w1, w2 = WALFirstWriter(tmp_path / name / "a"), WALFirstWriter(tmp_path / name / "b")
        sub, det = out[rows], [details[i] for i in rows]
        assert GatewayAuditSink(w1, gateway=gw).write_decision_array(sub, det)
        assert GatewayAuditSink(w2, gateway=gw).write_decisions([gw.decision_from_row(r) for r in sub], det)
        w1.close()
        w2.close()
        a = [r for _, r in iter_records(tmp_path / name / "a")]
        b = [r for _, r in iter_records(tmp_path / name / "b")]
        assert len(a) == len(b) == len(rows)
        for ra, rb in zip(a, b, strict=True):
            ra.pop("record_id")
            rb.pop("record_id")
            assert ra == rb
        assert [r["reason_name"] for r in a] == [["OK", "POSITION_LIMIT", "OK", "OK"][i] for i in rows]
    a = [r for _, r in iter_records(tmp_path / "mixed" / "a")]
    assert len(a) == 4
    assert [r["duplicate"] for r in a] == [False, False, True, False]
    assert a[3]["details"] == details[3] and a[0]["account_name"] == "A1" and a[0]["symbol_name"] == "AAA"
