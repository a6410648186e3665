"""The ``sim.runs`` audit row is declared once (`hft.core.orders.SIM_RUN`): the topic is generated from it, the
writer (`hft.recorder.sim_runs.run_row`) builds its rows through the record's row view, so a row that lacks or
misspells a declared field is refused where it is written, and a field added to the declaration reaches the topic."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hft.core.orders import SIM_RUN
from hft.core.records import Field, Record
from hft.recorder.sim_runs import run_row
from hft.recorder.topics import TOPICS, Topic

# the columns the store's migrations created (001_init.sql, 004_sim_runs_symbols_wall_time.sql), written out here
COLUMNS = [("ts", "DateTime64(9, 'UTC')"), ("run_id", "String"), ("scenario", "String"),
           ("strategy", "LowCardinality(String)"), ("seed", "UInt64"), ("config_hash", "String"),
           ("data_hash", "String"), ("run_hash", "String"), ("status", "LowCardinality(String)"),
           ("start_ts", "DateTime64(9, 'UTC')"), ("end_ts", "DateTime64(9, 'UTC')"), ("n_events", "UInt64"),
           ("n_orders", "UInt64"), ("n_fills", "UInt64"), ("summary", "String"), ("symbols", "String"),
           ("wall_ts", "DateTime64(9, 'UTC')"), ("wall_s", "Float64")]


def test_the_topic_is_the_declaration() -> None:
    topic = TOPICS["sim.runs"]
    assert topic.record is SIM_RUN
    assert [(c.name, c.type) for c in topic.columns] == COLUMNS
    assert topic.version == 2 and topic.legacy == ((1, 15),)


def test_a_row_has_every_declared_field_and_nothing_else() -> None:
    row = run_row({"run_hash": "ab" * 8, "strategy": "mm", "events": 3, "symbols": ["X", "Y"]}, "0" * 32, wall_ts=5)
    assert list(row) == ["record_id", *SIM_RUN.names]
    assert row["n_events"] == 3 and row["symbols"] == ["X", "Y"] and row["wall_ts"] == 5
    TOPICS["sim.runs"].check_record(row)  # the topic takes it as it is
    TOPICS["sim.runs"].encode_records([row], [1])


def test_a_row_missing_or_misspelling_a_field_is_refused() -> None:
    values = dict.fromkeys(SIM_RUN.names, 0)
    SIM_RUN.row(**values)
    missing = {k: v for k, v in values.items() if k != "n_fills"}
    with pytest.raises(TypeError, match="n_fills"):
        SIM_RUN.row(**missing)
    with pytest.raises(TypeError, match="n_fill"):
        SIM_RUN.row(**missing, n_fill=0)


def test_an_added_field_reaches_the_topic_the_row_and_its_migration() -> None:
    added = Field("host", "str", "", "the machine that ran it", default="", store="LowCardinality(String)", since=3)
    grown = Record(SIM_RUN.name, (*SIM_RUN.fields, added), SIM_RUN.doc)
    topic = Topic.from_record("sim.runs", 7, grown, doc="one row per simulator run")
    assert [(c.name, c.type) for c in topic.columns] == [*COLUMNS, ("host", "LowCardinality(String)")]
    assert topic.version == 3 and topic.legacy == ((1, 15), (2, 18))
    assert topic.add_column_sql("host") == ("ALTER TABLE sim.runs ADD COLUMN IF NOT EXISTS host "
                                            "LowCardinality(String) DEFAULT '' COMMENT 'the machine that ran it'")
    with pytest.raises(TypeError, match="host"):
        grown.row(**dict.fromkeys(SIM_RUN.names, 0))


def test_a_row_only_field_has_no_array_layout() -> None:
    with pytest.raises(ValueError, match="run_id"):
        _ = SIM_RUN.dtype
    with pytest.raises(ValueError, match="type"):
        replace(SIM_RUN.field("wall_s"), type="f4")
    types = SIM_RUN.row.__annotations__
    assert types["wall_s"] is float and types["summary"] is object and types["run_id"] is str


def test_the_order_and_fill_logs_reach_the_store_rows_field_by_name() -> None:
    """`record_run`'s rows of a run's logs (`log_rows`): each log field under its name, or the store's name for it
    (the fill log's venue ``ts`` is the store's ``exch_ts``, its ``local_ts`` the store's ``ts``), the venue's
    liquidity codes as the store's by their names; a log field the store row lacks is refused, naming it."""
    import numpy as np

    from hft.core.orders import FILL, LIQ_MAKER, LIQ_NONE, LIQ_TAKER, ORDER_EVENT
    from hft.recorder import sim_runs
    from hft.recorder.sim_runs import FILL_LOG_NAMES, log_rows
    from hft.sim.run_records import FILL_LOG, FILL_LOG_DTYPE, ORDER_LOG, ORDER_LOG_DTYPE

    orders = np.array([ORDER_LOG.pack(ts=5, order_id=7, price=100, qty=2, action=1, side=-1, order_type=1, tif=2)],
                      dtype=ORDER_LOG_DTYPE)
    assert log_rows(orders, ORDER_EVENT) == [{"ts": 5, "order_id": 7, "price": 100, "qty": 2, "action": 1,
                                              "side": -1, "order_type": 1, "tif": 2}]
    fill = dict(ts=11, local_ts=13, order_id=7, price=100, qty=2, leaves=0, fee=3, fee_frac=4, side=-1, kind=3)
    fills = np.array([FILL_LOG.pack(**fill, liquidity=liq) for liq in (LIQ_MAKER, LIQ_TAKER, LIQ_NONE)],
                     dtype=FILL_LOG_DTYPE)
    rows = log_rows(fills, FILL, FILL_LOG_NAMES, {"liquidity": sim_runs._LIQUIDITY})
    assert [r["liquidity"] for r in rows] == [1, -1, 0]  # FILL's codes: 1 maker, -1 taker, 0 unknown
    assert rows[0]["exch_ts"] == 11 and rows[0]["ts"] == 13 and rows[0]["fee_frac"] == 4 and rows[0]["qty"] == 2
    assert set(rows[0]) == set(FILL_LOG.names) - {"local_ts"} | {"exch_ts"}
    row = {"record_id": "0" * 32, "run_id": "r", "fill_id": 0, "symbol_name": "X", **rows[0]}
    TOPICS["sim.fills"].check_record(row)
    TOPICS["sim.fills"].encode_records([row], [1])
    grown = FILL_LOG.layout("fill_log", (*FILL_LOG.names, "venue"), (Field("venue", "i2"),))
    with pytest.raises(KeyError, match="no field 'venue'"):  # a log field the store does not hold: said, not lost
        log_rows(np.zeros(1, grown.dtype), FILL, FILL_LOG_NAMES)
