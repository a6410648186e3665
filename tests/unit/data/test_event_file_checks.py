"""Corrupt or foreign event files are refused on load (schema, format version, values, order, content hash)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from hft.core.errors import DataValidationError
from hft.data.events_io import load_events, write_events
from hft.data.lobster import import_lobster, load_lobster_import, ref_sidecar_path, write_lobster_import
from tests.unit.data.test_events_io import INST, _events


def _rewrite(path: Path, df: pl.DataFrame | None = None, **meta: str | None) -> None:
    """Write `df` (default: the file's data) back to `path` with its metadata changed by `meta`."""
    kv = {k: v for k, v in pl.read_parquet_metadata(path).items() if k != "ARROW:schema"}
    for k, v in meta.items():
        key = k.replace("_", ".", 1)
        if v is None:
            kv.pop(key, None)
        else:
            kv[key] = v
    (df if df is not None else pl.read_parquet(path)).write_parquet(path, metadata=kv)


@pytest.fixture
def good(tmp_path) -> Path:
    return write_events(tmp_path / "d.parquet", _events(20), INST, {"source": "test"})


@pytest.mark.parametrize(("column", "value", "text"), [
    ("kind", 99, "row 6: kind 99; expected an event kind 1..11"),
    ("kind", 0, "row 6: kind 0; expected an event kind"),
    ("side", 7, "row 6: side 7; expected -1, 0 or 1"),
    ("qty", -3, "row 6: qty -3; expected a quantity >= 0"),
    ("local_ts", 0, "row 6: rows out of time order"),
    ("price", 2**60 + 1, "row 6: price 1152921504606846977; expected a price within ±1152921504606846976 ticks"),
    ("price", -(2**60) - 1, "row 6: price -1152921504606846977; expected a price within ±1152921504606846976"),
    ("exch_ts", 2**62, "row 6: exch_ts 4611686018427387904; expected a time within ±4611686018427387903 ns"),
    ("local_ts", -(2**62), "row 6: local_ts -4611686018427387904; expected a time within ±4611686018427387903"),
    ("qty", 2**61 - 24, "row 6: qty 2305843009213693928; expected quantities summing to at most "
                        "2305843009213693952 lots (2**61) over the stream, 25 before this row"),
])
def test_values_out_of_range_or_order_are_refused(tmp_path, column, value, text):
    ev = _events(20)
    ev[column][5] = value
    path = write_events(tmp_path / "bad.parquet", ev, INST)  # written with a matching hash: the values are wrong
    with pytest.raises(DataValidationError) as ei:
        load_events(path)
    assert text in ei.value.message and ei.value.fields["line"] == 6 and ei.value.exit_code == 12  # rows from 1


def test_values_at_the_bounds_kernels_rely_on_are_taken():
    """|price| <= 2**60, |times| <= 2**62 - 1, quantities summing to 2**61 (`hft.core.bounds`): the edges themselves
    load (every sum or difference of two such values fits int64, so no kernel downstream needs a check)."""
    from hft.data._eventcheck import check_event_values

    ev = _events(4)
    ev["price"] = [-(2**60), 2**60, 0, 1]
    ev["exch_ts"] = [-(2**62) + 1, 2**62 - 1, 0, 0]
    ev["local_ts"] = [-(2**62) + 1, 0, 1, 2**62 - 1]
    ev["qty"] = [2**60, 2**59, 2**59 - 1, 1]
    check_event_values(ev, "edges")  # nothing raised
    ev["qty"][3] = 2
    with pytest.raises(DataValidationError, match="edges: row 4: qty 2; expected quantities summing to at most"):
        check_event_values(ev, "edges")


def test_flipped_data_is_refused_by_the_content_hash(good):
    df = pl.read_parquet(good)
    ts = df["exch_ts"].to_numpy().copy()
    ts[3] += 1  # one timestamp changed; still in range and in order
    _rewrite(good, df.with_columns(pl.Series("exch_ts", ts)))
    with pytest.raises(DataValidationError, match="does not match the file's content hash"):
        load_events(good)


def test_other_format_versions_and_missing_version_are_refused(good):
    _rewrite(good, hft_format="99")
    with pytest.raises(DataValidationError, match=r"hft\.format: expected format version 1, was '99'"):
        load_events(good)
    _rewrite(good, hft_format=None)
    with pytest.raises(DataValidationError, match="was empty or missing"):
        load_events(good)


@pytest.mark.parametrize(("column", "cast", "found"), [("price", pl.Float64, "Float64"), ("qty", pl.String, "String"),
                                                        ("kind", pl.Int64, "Int64")])
def test_columns_of_another_type_are_refused(good, column, cast, found):
    df = pl.read_parquet(good)
    _rewrite(good, df.with_columns(pl.col(column).cast(cast)))
    with pytest.raises(DataValidationError, match=f"column {column}: expected .*, was {found}"):
        load_events(good)


@pytest.mark.parametrize("meta", ["not json", "[1, 2]", "[" * 100_000 + "]" * 100_000])
def test_non_json_metadata_is_a_data_error(good, meta):
    _rewrite(good, hft_meta=meta)
    with pytest.raises(DataValidationError, match="Parquet metadata"):
        load_events(good)


def test_files_without_a_hash_still_load_and_hashed_ones_round_trip(good):
    assert len(load_events(good).events) == 20
    _rewrite(good, hft_content_hash=None)
    assert len(load_events(good).events) == 20


def test_a_garbage_or_foreign_sidecar_is_refused(tmp_path: Path, lobster_day: Any) -> None:
    out = tmp_path / "test.parquet"
    data = import_lobster(lobster_day.write(tmp_path))
    write_lobster_import(data, out)
    ref = ref_sidecar_path(out)
    kv = {k: v for k, v in pl.read_parquet_metadata(ref).items() if k != "ARROW:schema"}
    frame = pl.read_parquet(ref)
    garbage = frame.with_columns(pl.col(frame.columns[0]) + 7)  # same shape, other values
    garbage.write_parquet(ref, metadata=kv)
    with pytest.raises(DataValidationError, match=r"expected the reference book written with test\.parquet"):
        load_lobster_import(out)
    frame.write_parquet(ref, metadata={k: v for k, v in kv.items() if k != "hft.content_hash"})
    with pytest.raises(DataValidationError, match="expected the reference book written with"):
        load_lobster_import(out)
    frame.with_columns(pl.col(frame.columns[0]).cast(pl.Float64)).write_parquet(ref, metadata=kv)
    with pytest.raises(DataValidationError, match="expected Int64 reference columns"):
        load_lobster_import(out)
    ref.write_bytes(b"garbage")
    with pytest.raises(DataValidationError, match="expected a LOBSTER reference Parquet"):
        load_lobster_import(out)
    frame.write_parquet(ref, metadata=kv)
    assert np.array_equal(load_lobster_import(out).reference, data.reference)


def test_a_binance_local_time_jumping_back_is_refused_on_import(tmp_path, shared_data):
    import gzip

    from hft.data.sources import open_market_data

    lines = gzip.decompress((shared_data / "binance/cm/ethusd_perp_20240808.gz").read_bytes()).split(b"\n")[:3000]
    f = tmp_path / "ethusd_perp_20240808.gz"
    f.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    assert len(open_market_data([f]).events) > 0
    lines[2000] = b"1000" + lines[2000][lines[2000].index(b" "):]  # back to 1970
    f.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    with pytest.raises(DataValidationError) as ei:
        open_market_data([f])  # the importer names the capture's line (was the event's index in the stream)
    assert str(ei.value).startswith(f"{f}: row 2001, field 'local_receive_ts_ns': expected lines in local time "
                                    "order (>= ")
    assert str(ei.value).endswith(", the stream's time before it), was '1000'")
    assert ei.value.exit_code == 12 and ei.value.fields["line"] == 2001


def test_the_content_hash_changes_with_any_value_of_any_column():
    from hft.core.dtypes import EVENT_FIELDS
    from hft.data.events_io import content_hash

    ev = _events(37)  # not a multiple of the digest's 4 lanes: the tail counts too
    cols = {n: np.ascontiguousarray(ev[n]) for n in EVENT_FIELDS}
    base = content_hash(ev)
    assert base == content_hash(cols) and base.startswith("xh64:")
    seen = {base}
    for name in EVENT_FIELDS:
        for row in (0, 17, 35, 36):
            for bit in (0, 6):
                c = dict(cols)
                c[name] = cols[name].copy()
                c[name].view(np.uint8)[row * cols[name].itemsize] ^= 1 << bit
                seen.add(content_hash(c))
    assert len(seen) == 1 + len(EVENT_FIELDS) * 4 * 2  # every change gave a distinct digest
