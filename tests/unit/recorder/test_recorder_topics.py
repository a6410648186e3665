"""Record schemas: checked before the WAL, and two encodings (dicts, numpy) that give identical bytes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.core.errors import StoreError
from hft.core.ids import stable_id
from hft.recorder.topics import _INT_TYPES as INT_TYPES
from hft.recorder.topics import TOPICS, get_topic, parse_record_id, record_id_hex


def test_every_topic_of_the_issue_exists_with_record_id_and_ts():
    expected = {"audit.alpha_gate_decisions", "audit.alpha_promotions", "audit.alpha_canary_decisions",
                "audit.alpha_experiments", "audit.gateway_decisions", "audit.policy_transitions",
                "sim.runs", "sim.orders", "sim.fills"}
    assert set(TOPICS) == expected
    ids = [t.topic_id for t in TOPICS.values()]
    assert len(set(ids)) == len(ids)
    for t in TOPICS.values():
        assert t.column_names[0] == "record_id"
        assert t.column_names[1] == "ts"


def test_get_topic_accepts_bare_table_names_and_rejects_unknown():
    assert get_topic("fills").name == "sim.fills"
    with pytest.raises(StoreError, match="unknown topic"):
        get_topic("nope")


def test_record_ids_int_or_stable_id_hex():
    sid = stable_id("run", 1)
    assert parse_record_id(sid) == int(sid, 16)
    assert record_id_hex(parse_record_id(sid)) == sid
    assert parse_record_id(5) == 5
    for bad in (True, -1, 2**128, "xyz", "0" * 31):
        with pytest.raises(StoreError):
            parse_record_id(bad)


@pytest.mark.parametrize("record, match", [
    ({"ts": 1, "run_id": "r", "bogus": 1}, "unknown field 'bogus'"),
    ({"run_id": "r"}, "field 'ts': expected a value"),
    ({"ts": 1, "run_id": "r", "side": 300}, "field 'side': expected -128 <= value <= 127"),
    ({"ts": 1, "run_id": "r", "price": 1.5}, "field 'price': expected an integer"),
    ({"ts": 1, "run_id": 7}, "field 'run_id': expected a string"),
])
def test_bad_records_are_refused_naming_the_field(record, match):
    t = get_topic("sim.fills")
    with pytest.raises(StoreError, match=match):
        t.check_record(record)
        t.encode_records([record], [1])


def test_json_columns_accept_dicts_with_sorted_keys():
    t = get_topic("audit.alpha_gate_decisions")
    rec = {"ts": 1, "alpha_id": "a", "gate": "A", "passed": True, "details": {"b": 1, "a": [1, 2]}}
    payload = t.encode_records([rec], [9])
    assert b'{"a":[1,2],"b":1}' in payload


FILL_ARRAY = np.dtype([("ts", "<i8"), ("fill_id", "<u8"), ("order_id", "<i8"), ("side", "i1"), ("price", "<i8"),
                       ("qty", "<i4"), ("liquidity", "i1"), ("fee", "<i8"), ("exch_ts", "<i8")])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**62), st.integers(0, 2**40), st.sampled_from([-1, 1]),
                          st.integers(-(2**40), 2**40), st.integers(0, 2**31 - 1)), min_size=1, max_size=30),
       st.text(max_size=12), st.integers(0, 2**64 - 1))
def test_numpy_path_encodes_exactly_like_the_dict_path(rows, run_id, hi):
    t = get_topic("sim.fills")
    arr = np.zeros(len(rows), FILL_ARRAY)
    for i, (ts, oid, side, price, qty) in enumerate(rows):
        arr[i] = (ts, i, oid, side, price, qty, 1, 0, ts)
    lo = np.arange(100, 100 + len(rows), dtype=np.uint64)
    fast = t.encode_array(arr, lo, hi, const={"run_id": run_id, "symbol_name": "BTCUSDT"})
    recs = [{"ts": int(r["ts"]), "run_id": run_id, "fill_id": int(r["fill_id"]), "order_id": int(r["order_id"]),
             "symbol_name": "BTCUSDT", "side": int(r["side"]), "price": int(r["price"]), "qty": int(r["qty"]),
             "liquidity": 1, "fee": 0, "exch_ts": int(r["exch_ts"])} for r in arr]
    slow = t.encode_records(recs, [hi * 2**64 + 100 + i for i in range(len(rows))])
    assert fast == slow


def test_numpy_path_rejects_out_of_range_and_strings_from_arrays():
    t = get_topic("sim.fills")
    arr = np.zeros(2, [("ts", "<i8"), ("side", "<i8")])
    arr["side"] = [1, 1000]
    with pytest.raises(StoreError, match="field 'side'"):
        t.encode_array(arr, np.arange(2, dtype=np.uint64), 0, const={"run_id": "r"})
    with pytest.raises(StoreError, match="expected an array field or a const"):
        t.encode_array(np.zeros(1, [("side", "i1")]), np.arange(1, dtype=np.uint64), 0, const={"run_id": "r"})
    with pytest.raises(StoreError, match="unknown array field"):
        t.encode_array(np.zeros(1, [("ts", "<i8"), ("oops", "i1")]), np.arange(1, dtype=np.uint64), 0,
                       const={"run_id": "r"})


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(TOPICS)), st.data())
def test_generated_encoder_equals_the_reference_encoder(name, data):
    t = TOPICS[name]
    recs = []
    for _ in range(data.draw(st.integers(1, 5))):
        rec = {}
        for c in t.columns:
            if c.default is not ... and data.draw(st.booleans()):
                continue
            if c.is_string:
                rec[c.name] = data.draw(st.one_of(st.text(max_size=200),
                                                  st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)))
            elif c.type == "Bool":
                rec[c.name] = data.draw(st.booleans())
            elif c.type == "Float64":
                rec[c.name] = data.draw(st.floats(allow_nan=False))
            else:
                _code, code_min, code_max = INT_TYPES[c.type]
                rec[c.name] = data.draw(st.integers(code_min, code_max))
        recs.append(rec)
    rids = [data.draw(st.integers(0, 2**128 - 1)) for _ in recs]
    assert t.encode_records(recs, rids) == t.encode_records_slow(recs, rids)


def test_numpy_path_refuses_a_record_id_field():
    t = get_topic("sim.fills")
    with pytest.raises(StoreError, match="auto-assigned record ids"):
        t.encode_array(np.zeros(1, [("ts", "<i8"), ("record_id", "<u8")]), np.arange(1, dtype=np.uint64), 0,
                       const={"run_id": "r"})


def test_gateway_and_simulator_arrays_are_written_as_they_are():
    from hft.core.orders import COMMAND_DTYPE, DECISION_DTYPE, EXEC_REPORT_DTYPE

    for topic, dtype in [("audit.gateway_decisions", DECISION_DTYPE), ("sim.orders", COMMAND_DTYPE),
                         ("sim.orders", EXEC_REPORT_DTYPE), ("sim.fills", EXEC_REPORT_DTYPE)]:
        t = get_topic(topic)
        arr = np.zeros(4, dtype)
        for name in dtype.names:
            arr[name] = 1
        fast = t.encode_array(arr, np.arange(4, dtype=np.uint64), 5, const={"run_id": "r"})
        recs = [{**{n: int(r[n]) for n in dtype.names}, "run_id": "r"} for r in arr]
        for rec in recs:
            for n in ("accepted", "duplicate"):
                if n in rec:
                    rec[n] = bool(rec[n])
        assert fast == t.encode_records(recs, [5 * 2**64 + i for i in range(4)]), topic
