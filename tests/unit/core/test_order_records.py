"""The order-flow records (`hft.core.orders`: INTENT, COMMAND, EXEC_REPORT, VENUE_REPORT) and the simulator's logs
(`hft.sim.engine`: ORDER_LOG, FILL_LOG, EQUITY, ACK_LOG) declared once: their generated dtypes keep the bytes the
kernels, the WAL, the run folders and the run hash hold, each field has one declaration, and a field added to a
declaration reaches what is generated from it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hft.core import orders as O
from hft.core.records import Field, Record
from hft.sim import engine as E

# the layouts the kernels were compiled for and the logs were written with (a change here changes every run hash)
LAYOUTS = {
    # version 2 appended a stop's trigger, version 3 a GTD order's expiry, version 4 an iceberg's display, version 5 a
    # trailing stop's distance, version 6 an OCO link and a bracket's parent (issue 54): the earlier offsets stay
    "INTENT_DTYPE": (O, 104, [("ts", "<i8", 0), ("key", "<i8", 8), ("price", "<i8", 16), ("qty", "<i8", 24),
                             ("order_id", "<i8", 32), ("account", "<i4", 40), ("strategy", "<i4", 44),
                             ("symbol", "<i4", 48), ("kind", "|i1", 52), ("side", "|i1", 53),
                             ("order_type", "|i1", 54), ("tif", "|i1", 55), ("trigger", "<i8", 56),
                             ("expire", "<i8", 64), ("display", "<i8", 72), ("trail", "<i8", 80),
                             ("oco", "<i8", 88), ("parent", "<i8", 96)]),
    "COMMAND_DTYPE": (O, 104, [("ts", "<i8", 0), ("order_id", "<i8", 8), ("key", "<i8", 16), ("price", "<i8", 24),
                              ("qty", "<i8", 32), ("account", "<i4", 40), ("strategy", "<i4", 44),
                              ("symbol", "<i4", 48), ("action", "|i1", 52), ("side", "|i1", 53),
                              ("order_type", "|i1", 54), ("tif", "|i1", 55), ("trigger", "<i8", 56),
                              ("expire", "<i8", 64), ("display", "<i8", 72), ("trail", "<i8", 80),
                              ("oco", "<i8", 88), ("parent", "<i8", 96)]),
    "EXEC_REPORT_DTYPE": (O, 64, [("ts", "<i8", 0), ("order_id", "<i8", 8), ("price", "<i8", 16), ("qty", "<i8", 24),
                                  ("leaves", "<i8", 32), ("fee", "<i8", 40), ("fee_frac", "<i8", 48),
                                  ("kind", "|i1", 56)]),
    "VENUE_REPORT_DTYPE": (O, 72, [("ts", "<i8", 0), ("order_id", "<i8", 8), ("price", "<i8", 16), ("qty", "<i8", 24),
                                   ("leaves", "<i8", 32), ("fee", "<i8", 40), ("fee_frac", "<i8", 48),
                                   ("kind", "|i1", 56), ("liquidity", "|i1", 57), ("queue", "<i8", 64)]),
    "ORDER_LOG_DTYPE": (E, 40, [("ts", "<i8", 0), ("order_id", "<i8", 8), ("price", "<i8", 16), ("qty", "<i8", 24),
                                ("action", "|i1", 32), ("side", "|i1", 33), ("order_type", "|i1", 34),
                                ("tif", "|i1", 35)]),
    "FILL_LOG_DTYPE": (E, 72, [("ts", "<i8", 0), ("local_ts", "<i8", 8), ("order_id", "<i8", 16),
                               ("price", "<i8", 24), ("qty", "<i8", 32), ("leaves", "<i8", 40), ("fee", "<i8", 48),
                               ("fee_frac", "<i8", 56), ("side", "|i1", 64), ("kind", "|i1", 65),
                               ("liquidity", "|i1", 66)]),
    "EQUITY_DTYPE": (E, 64, [("ts", "<i8", 0), ("mid2", "<i8", 8), ("position", "<i8", 16), ("cash", "<i8", 24),
                             ("fees", "<i8", 32), ("fee_frac", "<i8", 40), ("bid", "<i8", 48), ("ask", "<i8", 56)]),
    "ACK_LOG_DTYPE": (E, 24, [("order_id", "<i8", 0), ("ack_ts", "<i8", 8), ("queue", "<i8", 16)]),
}


def _layout(dt: np.dtype) -> list[tuple[str, str, int]]:
    return [(n, dt.fields[n][0].str, dt.fields[n][1]) for n in dt.names]


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_the_generated_layouts_are_the_ones_built_before(name: str) -> None:
    module, itemsize, layout = LAYOUTS[name]
    dt = getattr(module, name)
    assert _layout(dt) == layout and dt.itemsize == itemsize and dt.isalignedstruct


def test_a_field_of_one_meaning_is_declared_once() -> None:
    for name in ("key", "price", "qty", "account", "strategy", "symbol", "side", "order_type", "tif"):
        assert O.INTENT.field(name) is O.DECISION.field(name) is O.COMMAND.field(name), name
    # the trigger: one declaration, appended to each record in its next version
    trig = {r.field("trigger").name + r.field("trigger").type + r.field("trigger").doc
            for r in (O.INTENT, O.DECISION, O.COMMAND, O.ORDER_EVENT)}
    assert len(trig) == 1 and O.ORDER_EVENT.field("trigger").since == 4
    # the expiry likewise (version 3 of the order-flow records, 5 of the order event)
    exp = {r.field("expire").name + r.field("expire").type + r.field("expire").doc
           for r in (O.INTENT, O.DECISION, O.COMMAND, O.ORDER_EVENT)}
    assert len(exp) == 1 and O.ORDER_EVENT.field("expire").since == 5
    assert O.INTENT.field("expire").since == O.DECISION.field("expire").since == O.COMMAND.field("expire").since == 3
    assert O.DECISION.field("kind") is O.INTENT.field("kind")
    # the logs: the order log keeps fields of the commands; the fill log is the venue's report of a fill, the
    # order's side and when it arrived; the venue's report is the execution report and what only a venue knows
    assert all(f is O.COMMAND.field(f.name) for f in E.ORDER_LOG.fields)
    assert E.FILL_LOG.field("side") is O.COMMAND.field("side")
    assert all(E.FILL_LOG.field(n) is O.VENUE_REPORT.field(n) for n in E.FILL_LOG.names if n in O.VENUE_REPORT)
    assert O.VENUE_REPORT.fields[:len(O.EXEC_REPORT.fields)] == O.EXEC_REPORT.fields
    assert O.VENUE_REPORT.names[len(O.EXEC_REPORT.fields):] == ("liquidity", "queue")
    assert E.ACK_LOG.field("queue") is O.VENUE_REPORT.field("queue")


def test_moved_names_are_still_where_they_were() -> None:
    from hft.sim import exchange_l2 as X

    assert X.VENUE_REPORT_DTYPE is O.VENUE_REPORT_DTYPE
    assert (X.LIQ_NONE, X.LIQ_MAKER, X.LIQ_TAKER, X.LIQUIDITY_NAMES) == (
        O.LIQ_NONE, O.LIQ_MAKER, O.LIQ_TAKER, O.LIQUIDITY_NAMES)


def test_the_kernels_int64_rows_are_the_logs() -> None:
    """The numba engine writes orders, fills and equity samples as int64 rows of the logs' fields in order
    (`hft.sim.engine_nb.state`); the equity rows are viewed as the log itself."""
    from hft.sim.engine_nb.logs import fill_log_of, order_log_of
    from hft.sim.engine_nb.state import EQ_COLS, F_COLS, O_COLS

    eq = np.arange(2 * EQ_COLS, dtype=np.int64).reshape(2, EQ_COLS)
    view = eq.view(E.EQUITY_DTYPE)[:, 0]
    assert view["ts"].tolist() == [0, EQ_COLS] and view["ask"].tolist() == [EQ_COLS - 1, 2 * EQ_COLS - 1]
    for log, of, cols in ((E.ORDER_LOG, order_log_of, O_COLS), (E.FILL_LOG, fill_log_of, F_COLS)):
        rows = np.arange(1, cols + 1, dtype=np.int64).reshape(1, cols)
        assert log.rows(of(rows)) == [log.row(*range(1, cols + 1))]


def test_the_readable_names_of_the_logs() -> None:
    fills = np.zeros(2, E.FILL_LOG_DTYPE)
    fills["kind"] = [O.REPORT_FILL, O.REPORT_PARTIAL_FILL]
    fills["liquidity"] = [O.LIQ_MAKER, O.LIQ_TAKER]
    fills["side"] = [1, -1]
    assert E.FILL_LOG.readable({n: fills[n] for n in fills.dtype.names}) == {
        "side_name": ["buy", "sell"], "kind_name": ["fill", "partial_fill"], "liquidity_name": ["maker", "taker"]}
    orders = np.zeros(1, E.ORDER_LOG_DTYPE)
    orders[0] = (1, 2, 3, 4, O.CMD_REPLACE, 1, O.ORDER_LIMIT, O.TIF_IOC)
    assert E.ORDER_LOG.readable({n: orders[n] for n in orders.dtype.names}) == {
        "action_name": ["replace"], "side_name": ["buy"], "order_type_name": ["limit"], "tif_name": ["ioc"]}
    # a code without a name: its number, or what the reader asks for (the run tables: null)
    assert E.ORDER_LOG.readable({"tif": np.array([0, 2])}) == {"tif_name": ["0", "ioc"]}
    assert E.ORDER_LOG.readable({"tif": np.array([0, 2])}, lambda c: None) == {"tif_name": [None, "ioc"]}


# --- a field added to a declaration ----------------------------------------------------------------------------

VENUE = {1: "binance", 2: "lobster"}
ADDED = Field("venue", "i2", "code", "the venue that answered", VENUE, since=2)


def test_an_added_report_field_reaches_the_venue_report_and_the_logs_that_list_it() -> None:
    report = Record(O.EXEC_REPORT.name, (*O.EXEC_REPORT.fields, ADDED), O.EXEC_REPORT.doc)
    # the dtype: appended, every earlier field where it was
    assert _layout(report.dtype)[:-1] == LAYOUTS["EXEC_REPORT_DTYPE"][2]
    assert report.dtype.names[-1] == "venue" and report.version == 2
    # the venue's report holds every field of the execution report, then its own (a layout of its own order: the
    # added field of version 2 before the venue's fields)
    extras = O.VENUE_REPORT.fields[len(O.EXEC_REPORT.fields):]
    venue = report.extend(O.VENUE_REPORT.name, extras)
    assert venue.names == (*O.EXEC_REPORT.names, "venue", "liquidity", "queue")
    assert venue.dtype.fields["venue"][1] == 58 and venue.dtype.fields["liquidity"][1] == 60
    # the fill log keeps what it lists: the same without it, the field where it is listed with it
    fill_extras = [E.FILL_LOG.field(n) for n in E.FILL_LOG.names if n not in O.VENUE_REPORT]
    assert venue.layout("fill_log", E.FILL_LOG.names, fill_extras).dtype == E.FILL_LOG_DTYPE
    with_it = venue.layout("fill_log", (*E.FILL_LOG.names, "venue"), fill_extras)
    assert with_it.index["venue"] == len(E.FILL_LOG.fields) and with_it.field("venue") is ADDED
    # readable names and the row view
    arr = np.zeros(1, venue.dtype)
    arr["venue"] = 2
    assert venue.readable({"venue": arr["venue"]}) == {"venue_name": ["lobster"]}
    assert venue.rows(arr)[0].venue == 2


def test_an_added_command_field_reaches_the_order_log_when_it_keeps_it() -> None:
    added = replace(ADDED, since=O.COMMAND.version + 1)
    command = Record(O.COMMAND.name, (*O.COMMAND.fields, added), O.COMMAND.doc)
    assert _layout(command.dtype)[:-1] == LAYOUTS["COMMAND_DTYPE"][2]
    assert command.project("order_log", E.ORDER_LOG.names).dtype == E.ORDER_LOG_DTYPE
    kept = command.project("order_log", (*E.ORDER_LOG.names, "venue"))
    assert _layout(kept.dtype)[:-1] == LAYOUTS["ORDER_LOG_DTYPE"][2] and kept.field("venue") is added
    assert kept.constants("O_")["O_VENUE"] == len(E.ORDER_LOG.fields)


def test_a_declared_record_appends_in_the_order_of_since_a_layout_need_not() -> None:
    with pytest.raises(ValueError, match="fields are appended"):
        Record("r", (ADDED, Field("a", "i8")))
    row = Record("r", (Field("a", "i8"), ADDED)).layout("row", ("venue", "a"))
    assert row.names == ("venue", "a")
    with pytest.raises(ValueError, match="extra field a is a field of r"):
        Record("r", (Field("a", "i8"),)).extend("x", (Field("a", "i4"),))


# --- the store's rows ------------------------------------------------------------------------------------------

def _topic_of(record: Record, name: str):
    """The topic `name` built as `hft.recorder.topics` builds it, from `record` (a copy, maybe extended)."""
    from hft.recorder.topics import TOPICS, Topic

    base = TOPICS[name]
    names = set(record.names)
    lead = tuple(c for c in base.columns[1:] if c.name in ("run_id", "source"))
    after = {"symbol": tuple(c for c in base.columns if c.name == "symbol_name")}
    assert not names & {c.name for c in lead}
    return base, Topic.from_record(base.name, base.topic_id, record, lead, (), base.doc, base.critical_policy, after)


# fee_frac: version 2 (005_exact_fees.sql); sim.orders' liquidity and queue: version 3 (006_live_liquidity_queue.sql),
# its trigger: version 4 (007_stop_trigger.sql), its expiry: version 5 (008_gtd_trailing.sql), its display: version 6
# (009_iceberg_display.sql), its trail: version 7 (010_trailing_stop.sql), its oco and parent: version 8
# (011_oco_bracket.sql)
@pytest.mark.parametrize("record,name,legacy", [(O.ORDER_EVENT, "sim.orders",
                                                 ((1, 18), (2, 19), (3, 21), (4, 22), (5, 23), (6, 24),
                                                  (7, 25))),
                                                (O.FILL, "sim.fills", ((1, 16),))])
def test_the_order_and_fill_topics_are_their_records(record: Record, name: str, legacy: tuple) -> None:
    base, rebuilt = _topic_of(record, name)
    assert base.record is record and rebuilt.columns == base.columns
    assert base.version == len(legacy) + 1 and base.legacy == legacy
    names = [c.name for c in base.columns]
    assert names[names.index("symbol") + 1] == "symbol_name"
    assert [c.name for c in base.columns if not c.is_string] == ["ts", *(n for n in record.names if n != "ts")]


def test_command_and_report_arrays_are_written_to_sim_orders_as_they_are() -> None:
    from hft.recorder.topics import TOPICS

    topic = TOPICS["sim.orders"]
    for rec in (O.COMMAND, O.EXEC_REPORT, O.VENUE_REPORT):
        for f in rec.fields:
            assert O.ORDER_EVENT.field(f.name).numpy_type == f.numpy_type, (rec.name, f.name)
    cmd = np.zeros(1, O.COMMAND_DTYPE)
    cmd[0] = (5, 7, 9, 100, 2, 0, 0, 3, O.CMD_NEW, 1, O.ORDER_STOP_LIMIT, O.TIF_GTD, 98, 1_000, 0, 0, 0, 0)
    row = {n: int(cmd[n][0]) for n in O.COMMAND.names} | {"run_id": "r", "source": "command", "symbol_name": "X"}
    assert topic.encode_array(cmd, np.zeros(1, np.uint64), 0, const={"run_id": "r", "source": "command",
                                                                     "symbol_name": "X"}) == \
        topic.encode_records([row], [0])
    # the live service's journal of reports: a venue report (its liquidity and queue too) as it is
    rep = np.zeros(1, O.VENUE_REPORT_DTYPE)
    rep[0] = (5, 7, 100, 2, 0, 1, 250_000, O.REPORT_FILL, O.LIQ_TAKER, -1)
    row = {n: int(rep[n][0]) for n in O.VENUE_REPORT.names} | {"run_id": "r", "source": "report"}
    assert row["liquidity"] == 2 and row["queue"] == -1
    assert topic.encode_array(rep, np.zeros(1, np.uint64), 0, const={"run_id": "r", "source": "report"}) == \
        topic.encode_records([row], [0])


def test_the_live_fill_rows_are_the_fill_record() -> None:
    from hft.live.views import FILL_DTYPE

    assert O.FILL.dtype == FILL_DTYPE  # its liquidity too (the venue's, 0 when it did not say)


@pytest.mark.parametrize("record,name", [(O.ORDER_EVENT, "sim.orders"), (O.FILL, "sim.fills")])
def test_an_added_field_reaches_the_store_topic(record: Record, name: str) -> None:
    v = record.version
    added = Field("venue", "i2", "code", "the venue that answered", VENUE, since=v + 1)
    base, topic = _topic_of(Record(record.name, (*record.fields, added), record.doc), name)
    assert topic.columns[:-1] == base.columns and topic.columns[-1].name == "venue"
    assert topic.version == v + 1 and topic.legacy == (*base.legacy, (v, len(base.columns)))
    assert topic.column_names_of_version(v) == base.column_names
    assert topic.add_column_sql("venue") == (f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS venue Int16 DEFAULT 0 "
                                             "COMMENT 'the venue that answered'")


def test_a_column_placed_after_a_field_must_follow_a_first_version_field() -> None:
    from hft.core.errors import StoreError
    from hft.recorder.topics import Column, Topic

    with pytest.raises(StoreError, match="after: expected first-version fields of record fill but ts, was 'fee_frac'"):
        Topic.from_record("sim.x", 99, O.FILL, after={"fee_frac": (Column("s", "String", ""),)})


def test_the_gateway_report_and_the_strategy_fill_are_their_records_by_name() -> None:
    """`hft.gateway.intents.ExecutionReport` (the gateway's view, its own field order) has every field of
    `VENUE_REPORT` (`EXEC_REPORT`'s, then what a venue says beyond: its last fields, with defaults) and is made from
    a record's row by name (`report_from_row`: an `EXEC_REPORT` row gives those their defaults, a `VENUE_REPORT`
    row its own); `hft.sim.strategy.Fill` is the fill log's row view (its fields, in its order)."""
    from hft.gateway.intents import ExecutionReport, report_from_row
    from hft.sim.strategy import Fill

    assert sorted(ExecutionReport._fields) == sorted(O.VENUE_REPORT.names)
    extra = [n for n in O.VENUE_REPORT.names if n not in O.EXEC_REPORT.names]
    assert list(ExecutionReport._fields[-len(extra):]) == extra and set(extra) <= set(ExecutionReport._field_defaults)
    vals = {n: 20 + k for k, n in enumerate(O.VENUE_REPORT.names)}
    want = ExecutionReport(**{n: vals[n] for n in ExecutionReport._fields})
    assert report_from_row(O.VENUE_REPORT.pack(**vals)) == want
    assert report_from_row(O.EXEC_REPORT.pack(**{n: vals[n] for n in O.EXEC_REPORT.names})) == want._replace(
        **{n: ExecutionReport._field_defaults[n] for n in extra})
    rep = np.array([O.VENUE_REPORT.pack(**vals)], dtype=O.VENUE_REPORT_DTYPE)
    assert report_from_row(rep.tolist()[0]) == want
    assert Fill._fields == E.FILL_LOG.names
    f = Fill._make(E.FILL_LOG.pack(**{n: k for k, n in enumerate(E.FILL_LOG.names)}))
    assert f.local_ts == E.FILL_LOG.index["local_ts"] and f.liquidity == E.FILL_LOG.index["liquidity"]
