"""Record declarations (`hft.core.records`): the decision record's generated layouts keep the bytes the WAL, the
run folders and the run hash hold, and a field added to a declaration reaches every generated consumer."""

from __future__ import annotations

import numpy as np
import pytest

from hft.core.orders import DECISION, DECISION_DTYPE, R_OK, REASON_NAMES
from hft.core.records import Field, Record
from hft.recorder.topics import TOPICS, Column, Topic
from hft.sim.engine import DECISION_LOG, DECISION_LOG_DTYPE

# the layouts frames in a WAL and run folders were written with (a change here breaks reading them back)
DECISION_LAYOUT = [("seq", "<i8", 0), ("ts", "<i8", 8), ("recv_ts", "<i8", 16), ("key", "<i8", 24),
                   ("order_id", "<i8", 32), ("target_id", "<i8", 40), ("price", "<i8", 48), ("qty", "<i8", 56),
                   ("account", "<i4", 64), ("strategy", "<i4", 68), ("symbol", "<i4", 72), ("reason", "<i2", 76),
                   ("kind", "|i1", 78), ("side", "|i1", 79), ("order_type", "|i1", 80), ("tif", "|i1", 81),
                   ("accepted", "|u1", 82), ("duplicate", "|u1", 83),
                   ("trigger", "<i8", 88),  # version 2 (issue 54: a stop's trigger), appended
                   ("expire", "<i8", 96),  # version 3 (issue 54: a GTD order's expiry), appended
                   ("display", "<i8", 104),  # version 4 (issue 54: an iceberg's display), appended
                   ("trail", "<i8", 112),  # version 5 (issue 54: a trailing stop's distance), appended
                   ("oco", "<i8", 120), ("parent", "<i8", 128)]  # version 6 (issue 54: OCO and bracket links)
DECISION_LOG_LAYOUT = [("seq", "<i8", 0), ("ts", "<i8", 8), ("order_id", "<i8", 16), ("target_id", "<i8", 24),
                       ("price", "<i8", 32), ("qty", "<i8", 40), ("reason", "<i2", 48), ("kind", "|i1", 50),
                       ("side", "|i1", 51), ("accepted", "|i1", 52), ("duplicate", "|i1", 53)]


def _layout(dt: np.dtype) -> list[tuple[str, str, int]]:
    return [(n, dt.fields[n][0].str, dt.fields[n][1]) for n in dt.names]


def test_the_decision_layouts_are_the_ones_written_before():
    assert _layout(DECISION_DTYPE) == DECISION_LAYOUT and DECISION_DTYPE.itemsize == 136
    assert DECISION_DTYPE.isalignedstruct
    assert _layout(DECISION_LOG_DTYPE) == DECISION_LOG_LAYOUT and DECISION_LOG_DTYPE.itemsize == 56


def test_the_decision_topic_is_the_record_between_its_string_columns():
    topic = TOPICS["audit.gateway_decisions"]
    first = [c.name for c in topic.columns].index("trigger")  # version 2's field, after version 1's columns
    assert topic.record is DECISION and topic.version == 6
    assert topic.legacy == ((1, first), (2, first + 1), (3, first + 2), (4, first + 3), (5, first + 4))
    names = [c.name for c in topic.columns]
    assert names[0] == "ts" and names[1] == "run_id" and names[-6:] == ["trigger", "expire", "display", "trail", "oco",
                                                                                   "parent"]
    numeric = [c for c in topic.columns if not c.is_string]
    assert [(c.name, c.type) for c in numeric] == [
        (n, DECISION.field(n).store_type) for n in ("ts", *(n for n in DECISION.names if n != "ts"))]
    col = {c.name: c for c in topic.columns}
    assert col["seq"].type == "UInt64" and col["recv_ts"].type == "DateTime64(9, 'UTC')"
    assert col["accepted"].type == "Bool" and col["accepted"].default is ...


def test_the_decision_log_is_a_projection_of_the_record():
    for f in DECISION_LOG.fields:
        declared = DECISION.field(f.name)
        assert (f.unit, f.doc, f.enum) == (declared.unit, declared.doc, declared.enum)
    with pytest.raises(ValueError, match="in decision's order"):
        DECISION.project("x", ("ts", "seq"))
    with pytest.raises(KeyError, match="no field 'nope'"):
        DECISION.project("x", ("seq", "nope"))


def test_rows_and_readable_names():
    arr = np.zeros(2, DECISION_DTYPE)
    arr["seq"] = [1, 2]
    arr["reason"] = [R_OK, 9999]
    arr["accepted"] = [1, 0]
    rows = DECISION.rows(arr)
    assert rows[0].seq == 1 and rows[0].accepted is True and rows[1].accepted is False
    assert rows[1]._fields == DECISION.names
    names = DECISION.readable({"reason": arr["reason"], "price": arr["price"]})
    assert names == {"reason_name": [REASON_NAMES[R_OK], "9999"]}


def test_the_gateway_decision_carries_every_field_of_the_record():
    """`hft.gateway.intents.Decision` is the caller's view, not `DECISION.row`: its key, account, strategy and
    symbol are what the intent carried (a string key, names), its fields are in the intent's order (the hot paths
    build it positionally) and it holds the dispatched command. So it is written by hand and kept up here."""
    from hft.gateway.intents import Decision

    missing = [n for n in DECISION.names if n not in Decision._fields]
    assert not missing, f"hft.gateway.intents.Decision lacks the decision record's fields {missing}"


def test_a_row_packed_by_name_is_the_records_row_in_its_order():
    """`Record.pack`: every field by name, in any order of the call; the tuple is the record's order, so the array
    of its dtype and the row view read it back field by field."""
    vals = {n: 10 + k for k, n in enumerate(DECISION_LOG.names)}
    vals["accepted"], vals["duplicate"] = 1, 0
    row = DECISION_LOG.pack(**dict(reversed(vals.items())))  # the call's order does not matter
    assert type(row) is tuple and row == tuple(vals[n] for n in DECISION_LOG.names)
    arr = np.array([row, row], dtype=DECISION_LOG_DTYPE)
    assert all(arr[n][1] == vals[n] for n in DECISION_LOG.names)
    assert DECISION_LOG.row._make(row)._asdict() == vals
    missing = {n: v for n, v in vals.items() if n != "target_id"}
    with pytest.raises(TypeError, match="target_id"):
        DECISION_LOG.pack(**missing)
    with pytest.raises(TypeError, match="'venue'"):
        DECISION_LOG.pack(**vals, venue=1)
    with pytest.raises(TypeError):
        DECISION_LOG.pack(*row)  # keyword only: a positional row is what it replaces
    grown = Record(DECISION_LOG.name, (*DECISION_LOG.fields, Field("venue", "i2", since=2)))
    assert grown.pack(**vals, venue=3) == (*row, 3)  # a field added to the declaration: the writer must give it


def test_a_kernel_layout_mixes_record_fields_and_its_own():
    row = DECISION.layout("row", ("ts", "code", "seq"), (Field("code", "i8"),))
    assert row.index == {"ts": 0, "code": 1, "seq": 2} and row.field("ts") is DECISION.field("ts")
    with pytest.raises(KeyError, match="no field 'nope'"):
        DECISION.layout("row", ("ts", "nope"))
    with pytest.raises(ValueError, match="extra field seq is a field of decision"):
        DECISION.layout("row", ("seq",), (Field("seq", "i8"),))
    with pytest.raises(ValueError, match=r"extra fields \['leg'\] are not in its names"):
        DECISION.layout("row", ("seq",), (Field("leg", "i8"),))


def test_a_declaration_refuses_what_it_cannot_lay_out():
    with pytest.raises(ValueError, match="type: expected one of"):
        Field("x", "f4")
    with pytest.raises(ValueError, match="not a Python keyword"):
        Field("from", "i8")  # no row view, no `pack` parameter could carry it
    with pytest.raises(ValueError, match="field x: a str field has no array layout"):
        _ = Record("r", (Field("a", "i8"), Field("x", "str"))).dtype  # a row-only field (`ROW_TYPES`)
    with pytest.raises(ValueError, match="field a declared twice"):
        Record("r", (Field("a", "i8"), Field("a", "i4")))
    with pytest.raises(ValueError, match="field b: fields are appended"):
        Record("r", (Field("a", "i8", since=2), Field("b", "i8")))


# --- a field added to a declaration ----------------------------------------------------------------------------

VENUE = {1: "binance", 2: "lobster"}
ADDED = Field("venue", "i2", "code", "the venue that answered", VENUE, default=0, since=DECISION.version + 1)


def _extended() -> tuple[Record, Topic]:
    rec = Record(DECISION.name, (*DECISION.fields, ADDED), DECISION.doc)
    base = TOPICS["audit.gateway_decisions"]
    lead = tuple(c for c in base.columns[1:] if c.name == "run_id")
    tail = tuple(c for c in base.columns if c.is_string and c.name != "run_id")
    return rec, Topic.from_record(base.name, base.topic_id, rec, lead, tail, base.doc, base.critical_policy)


def test_an_added_field_reaches_every_generated_consumer():
    rec, topic = _extended()
    # the dtype: appended, every earlier field where it was
    assert rec.dtype.names[-1] == "venue" and rec.dtype.fields["venue"][0] == np.dtype("<i2")
    assert _layout(rec.dtype)[:-1] == DECISION_LAYOUT
    # the int64 matrix columns
    assert rec.index["venue"] == len(DECISION.fields) and rec.constants("D_")["D_VENUE"] == len(DECISION.fields)
    assert rec.constants("D_")["D_COLS"] == len(DECISION.fields) + 1
    # the topic: appended after the string columns (where the migration's ADD COLUMN puts it), the next version,
    # and frames of the earlier versions still load with the leading columns
    base = TOPICS["audit.gateway_decisions"]
    assert topic.columns[:-1] == base.columns and topic.columns[-1] == Column("venue", "Int16", 0, ADDED.doc)
    assert topic.version == DECISION.version + 1
    assert topic.legacy == (*base.legacy, (DECISION.version, len(base.columns)))
    assert topic.column_names_of_version(DECISION.version) == base.column_names
    # the DDL a migration adds
    assert topic.add_column_sql("venue") == ("ALTER TABLE audit.gateway_decisions ADD COLUMN IF NOT EXISTS venue "
                                             "Int16 DEFAULT 0 COMMENT 'the venue that answered'")
    # the row view and the readable names
    assert rec.row._fields[-1] == "venue"
    arr = np.zeros(1, rec.dtype)
    arr["venue"] = 2
    assert rec.rows(arr)[0].venue == 2 and rec.readable({"venue": arr["venue"]}) == {"venue_name": ["lobster"]}
    # a projection may keep it
    assert rec.project("log", ("seq", "venue")).dtype.names == ("seq", "venue")
    # an array of the extended dtype encodes as the extended topic's rows
    payload = topic.encode_array(arr, np.zeros(1, np.uint64), 0, const={"run_id": "r"})
    assert payload.endswith(np.int16(2).tobytes())


def test_the_generated_ddl_gives_the_extended_topic(shared_store):
    _, topic = _extended()
    db = "test_records_ddl"
    shared_store.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
    try:
        shared_store.execute(f"CREATE TABLE {db}.decisions AS audit.gateway_decisions")
        shared_store.execute(topic.add_column_sql("venue").replace("audit.gateway_decisions", f"{db}.decisions"))
        res = shared_store.query(f"SELECT name, type FROM system.columns WHERE database = '{db}' "
                                 "AND table = 'decisions' ORDER BY position")
        assert [tuple(r) for r in res.rows] == [("record_id", "UInt128"), *((c.name, c.type) for c in topic.columns)]
    finally:
        shared_store.execute(f"DROP DATABASE IF EXISTS {db}")


def test_every_field_type_is_stored_over_its_numpy_range():
    """A record field's store column (`hft.recorder.topics`) takes exactly its numpy type's values, by either
    encoding path (the store's integer rules are `hft.core.records.TYPES`)."""
    from hft.core.errors import StoreError
    from hft.core.records import TYPES

    rec = Record("all", tuple(Field(f"f_{t}", t) for t in TYPES))
    topic = Topic("t.all", 99, 1, tuple(Column(n, t, 0) for n, t, _, _ in rec.store_columns()))
    for edge in ("min", "max"):
        arr = np.zeros(1, rec.dtype)
        row = {}
        for f in rec.fields:
            v = 1 if f.type == "bool" and edge == "max" else (
                0 if f.type == "bool" else int(getattr(np.iinfo(f.numpy_type), edge)))
            arr[f.name] = v
            row[f.name] = v
        assert topic.encode_records([row], [0]) == topic.encode_array(arr, np.zeros(1, np.uint64), 0)
    for f in rec.fields:
        if f.type != "bool":
            with pytest.raises(StoreError, match=f.name):
                topic.encode_records_slow([{f.name: int(np.iinfo(f.numpy_type).max) + 1}], [0])


def test_the_event_and_order_leg_records_keep_their_on_disk_layouts() -> None:
    """The market event (`hft.core.dtypes.EVENT`) and a run's order legs (`hft.sim.run_records.ORDER_LEG`) are
    declared records now; event files, content digests and run hashes read their bytes, so the generated dtypes are
    the layouts written before, byte for byte (written out here, apart from the declarations)."""
    from hft.core.dtypes import EVENT, EVENT_DTYPE
    from hft.sim.run_records import ORDER_LEG, ORDER_LEG_DTYPE

    event = np.dtype([("exch_ts", "<i8"), ("local_ts", "<i8"), ("price", "<i8"), ("qty", "<i8"), ("order_id", "<i8"),
                      ("seq", "<i8"), ("kind", "u1"), ("side", "i1"), ("flags", "u1")], align=True)
    assert EVENT_DTYPE is EVENT.dtype and event == EVENT_DTYPE and EVENT_DTYPE.itemsize == 56
    assert [EVENT_DTYPE.fields[n][1] for n in EVENT.names] == [event.fields[n][1] for n in event.names]
    order_leg = np.dtype([("order_id", "<i8"), ("leg", "<i8")], align=True)
    assert order_leg == ORDER_LEG_DTYPE
    assert ORDER_LEG.names == ("order_id", "leg")
    assert EVENT.field("kind").enum[1] == "add" and EVENT.field("side").enum == {1: "buy", -1: "sell"}
