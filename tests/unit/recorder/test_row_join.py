"""`Topic.encode_array_view` gives the bytes of the dict path (the reference encoder) for any number of rows: a
few packed whole by one numba call (`hft.recorder.row_join.pack_rows`), more by numpy's column copies and the join
kernel (`join_rows`); string columns as codes into tables (outside them: ""; small tables memoised by their
contents, large ones looked up per row), lists of strings and packed bytes; columns copied as bytes or converted
by numpy first. Out-of-range values and values that are not strings are refused naming the field."""

from __future__ import annotations

import numpy as np
import pytest

from hft.core.errors import StoreError
from hft.core.orders import DECISION_DTYPE
from hft.recorder import row_join
from hft.recorder.topics import get_topic

DECISIONS = get_topic("audit.gateway_decisions")
NAMES = ["ACC1", "é" * 70, "", "x" * 300]  # multi-byte, empty, over 127 bytes (a two-byte varint)
BIG = [f"s{i}" for i in range(20000)]  # larger than the memoised tables: looked up per row


def _batch(n: int, seed: int) -> tuple[np.ndarray, dict, dict]:
    rng = np.random.default_rng(seed)
    arr = np.zeros(n, DECISION_DTYPE)
    for f in ("ts", "recv_ts", "key", "order_id", "target_id", "price", "qty"):
        arr[f] = rng.integers(-(1 << 62), 1 << 62, n)
    arr["seq"] = rng.integers(0, 1 << 62, n)
    arr["account"] = rng.integers(-1, 5, n)  # -1 and 4: outside the table
    arr["strategy"] = rng.integers(0, 20000, n)
    arr["symbol"] = rng.integers(0, 3, n)
    arr["reason"] = rng.integers(-(1 << 15), 1 << 15, n)
    for f in ("kind", "side", "order_type", "tif"):
        arr[f] = rng.integers(-128, 128, n)
    arr["accepted"] = rng.integers(0, 2, n)
    arr["duplicate"] = rng.integers(0, 2, n)
    details = ["{}" if i % 3 else "ä" * int(rng.integers(0, 150)) + f"{i}" for i in range(n)]
    strings = {"account_name": (arr["account"], NAMES), "strategy_name": (arr["strategy"], BIG),
               "symbol_name": [["AAPL", "ü" * 130, ""][i] for i in arr["symbol"].tolist()],
               "reason_name": row_join.Packed("".join(f"R{r}" for r in arr["reason"].tolist()).encode(),
                                              np.array([len(f"R{r}") for r in arr["reason"].tolist()], np.int64)),
               "details": row_join.Packed("".join(details).encode(),
                                          np.array([len(d.encode()) for d in details], np.int64))}
    return arr, {"run_id": "live", "policy_state": "ALLOW_ALL"}, strings


def _records(arr: np.ndarray, const: dict, strings: dict) -> list[dict]:
    """The rows as the dict path takes them (each string column's value spelled out)."""
    cols = {}
    for name, v in strings.items():
        if type(v) is row_join.Packed:
            cols[name] = v.values()
        elif isinstance(v, tuple):
            cols[name] = [v[1][c] if 0 <= c < len(v[1]) else "" for c in v[0].tolist()]
        else:
            cols[name] = list(v)
    out = []
    for i, row in enumerate(arr.tolist()):
        rec = dict(zip(arr.dtype.names, row, strict=True))
        rec.update(const)
        rec.update({name: vals[i] for name, vals in cols.items()})
        out.append(rec)
    return out


@pytest.mark.parametrize("n", [1, 2, 23, 300, 5000])
def test_the_packed_rows_are_the_dict_paths_bytes(n: int) -> None:
    arr, const, strings = _batch(n, n)
    hi = (1 << 64) - 3
    lo = np.arange(7, 7 + n, dtype=np.uint64)
    got = DECISIONS.encode_array(arr, lo, hi, const=const, strings=strings)
    recs = _records(arr, const, strings)
    assert got == DECISIONS.encode_records_slow(recs, [(hi << 64) + 7 + i for i in range(n)])
    packed = {**strings, "details": strings["details"].values(), "reason_name": strings["reason_name"].values()}
    assert DECISIONS.encode_array(arr, lo, hi, const=const, strings=packed) == got  # lists: the same bytes
    rev = {k: v.values()[::-1] if type(v) is row_join.Packed else (v[0][::-1], v[1]) if isinstance(v, tuple)
           else v[::-1] for k, v in strings.items()}  # a strided array (copied first)
    assert DECISIONS.encode_array(arr[::-1], lo, hi, const=const, strings=rev) == \
        DECISIONS.encode_records_slow(recs[::-1], [(hi << 64) + 7 + i for i in range(n)])


def test_columns_numpy_converts_first_give_the_same_bytes() -> None:
    """A dtype whose columns are not byte copies of the topic's types (narrower, wider, a bool): numpy converts
    them, then the rows are packed as before."""
    arr, const, strings = _batch(50, 1)
    dt = np.dtype([(f, "<i8" if f in ("account", "reason") else "<i4" if f == "qty" else "?" if f == "accepted"
                    else DECISION_DTYPE[f]) for f in DECISION_DTYPE.names])
    conv = np.zeros(50, dt)
    arr["qty"] = arr["qty"] % 1000
    for f in DECISION_DTYPE.names:
        conv[f] = arr[f]
    lo = np.arange(50, dtype=np.uint64)
    assert DECISIONS.encode_array(conv, lo, 5, const=const, strings=strings) == \
        DECISIONS.encode_array(arr, lo, 5, const=const, strings=strings)


def test_out_of_range_values_and_values_that_are_not_strings_are_refused() -> None:
    arr, const, strings = _batch(30, 2)
    lo = np.arange(30, dtype=np.uint64)
    arr["seq"][17] = -1  # an int64 into UInt64: a byte copy, its sign checked
    with pytest.raises(StoreError, match=r"field 'seq': expected values in \[0, 18446744073709551615\]"):
        DECISIONS.encode_array(arr, lo, 0, const=const, strings=strings)
    arr["seq"][17] = 0
    wide = np.zeros(30, [("ts", "<i8"), ("account", "<i8")])
    wide["account"][3] = 1 << 40  # narrowed by numpy: checked first
    with pytest.raises(StoreError, match="field 'account'"):
        DECISIONS.encode_array(wide, lo, 0, const={"accepted": True})
    for bad in ([*["x"] * 29, 3], (arr["symbol"], ["AAPL", None, "B"])):
        with pytest.raises(StoreError, match="field 'symbol_name': expected a string"):
            DECISIONS.encode_array(arr, lo, 0, const=const, strings={**strings, "symbol_name": bad})
    with pytest.raises(StoreError, match="per-row strings 'details': expected 30 values, was 29"):
        DECISIONS.encode_array(arr, lo, 0, const=const, strings={**strings, "details": ["{}"] * 29})


def test_a_table_that_grows_between_batches_is_encoded_anew() -> None:
    """Tables are memoised by their contents, so a registry's list that gained a name gives the new bytes."""
    arr, const, _ = _batch(4, 3)
    arr["account"] = [0, 1, 2, 1]
    names = ["A", "B"]
    lo = np.arange(4, dtype=np.uint64)
    first = DECISIONS.encode_array(arr, lo, 0, const={**const, "details": "{}"},
                                   strings={"account_name": (arr["account"], names)})
    names.append("C")
    second = DECISIONS.encode_array(arr, lo, 0, const={**const, "details": "{}"},
                                    strings={"account_name": (arr["account"], names)})
    recs = _records(arr, {**const, "details": "{}"}, {"account_name": (arr["account"], names)})
    assert second == DECISIONS.encode_records_slow(recs, list(range(4))) != first


@pytest.mark.parametrize("offs", [[0, 3, 8], [5, 3], [8, 8], [9, 20], [-4, 2]])
def test_join_writes_every_byte_and_none_past_its_output(offs):
    """The join's output is `np.empty`: each row's fixed bytes and strings are written exactly once, for any cuts
    (ascending ones as the plans make them; others clamped into ascending order within the row, never a byte more
    or less than the output holds). Oracle: the bytes assembled in Python."""
    fixed = np.arange(3 * 8, dtype=np.uint8).reshape(3, 8)
    cols = [f"c{i}" for i in range(len(offs))]
    values = {c: [f"{c}-{r}" * (r + 1) for r in range(3)] for c in cols}
    got = row_join.join_rows(fixed, np.array(offs, np.int64), cols, values, lambda c, v: None)
    want = b""
    for r in range(3):
        prev = 0
        for c, off in zip(cols, offs, strict=True):
            off = min(max(off, prev), 8)
            s = values[c][r].encode()
            want += fixed[r, prev:off].tobytes() + bytes([len(s)]) + s
            prev = off
        want += fixed[r, prev:].tobytes()
    assert got.tobytes() == want
