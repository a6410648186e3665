"""What a file's name and lines say: symbols without the day in the name, errors at the file's line (header =
line 1) with the column and the value as written, a mapping's instrument errors at its key, and the streams that
several files form (event files imported apart merged, LOBSTER days each on their own)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hft.core.errors import ConfigError, DataValidationError
from hft.data._convert import symbol_from_name
from hft.data.events_io import load_events, write_events
from hft.data.sources import group_days, group_streams, open_market_data
from tests.unit.data import vendor_samples as vs

BOOK = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"
TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
SNAP1 = "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount\n"
TABLE = "ts,recv,type,side,px,size,id\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --- 1. the symbol a file name gives ------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "symbol"), [
    ("btcusdt_20240809.npz", "BTCUSDT"), ("btcusdt-2024-08-09.npz", "BTCUSDT"),
    ("ETHUSDT_2024-08-09.npz", "ETHUSDT"), ("btc_usdt.20240809.npz", "BTC_USDT"), ("btcusdt.npz", "BTCUSDT"),
    ("btcusdt_2024.npz", "BTCUSDT_2024"), ("20240809.npz", "20240809"),
])
def test_the_symbol_of_a_file_name_leaves_out_its_day(name, symbol):
    assert symbol_from_name(Path("/data") / name) == symbol


def test_hftbacktest_files_of_two_days_are_one_instrument(tmp_path):
    m = vs.market(60, seed=2)
    days = [vs.write_hftbacktest(m, tmp_path / f"btcusdt_2024080{d}.npz") for d in (8, 9)]
    assert [open_market_data([d]).instrument.symbol for d in days] == ["BTCUSDT", "BTCUSDT"]


# --- 2. errors name the file's line ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "text", "says"), [
    ("neg.csv", BOOK + "x,BTCUSDT,1,2,false,bid,1.5,1\nx,BTCUSDT,1,3,false,ask,1.6,1\nx,BTCUSDT,1,4,false,bid,1.5,-2\n",
     "row 4, field 'amount': expected a quantity >= 0, was '-2'"),
    ("back.csv", BOOK + "x,BTCUSDT,1,2,false,bid,1.5,1\nx,BTCUSDT,1,3,false,ask,1.6,1\nx,BTCUSDT,1,1,false,bid,1.5,2\n",
     "row 4, field 'local_timestamp': expected rows in time order (>= 3, the row before), was '1'"),
    ("tneg.csv", TRADES + "x,BTCUSDT,1,2,7,buy,1.5,1\nx,BTCUSDT,1,2,8,sell,1.5,-0.5\n",
     "row 3, field 'amount': expected a quantity >= 0, was '-0.5'"),
    ("sneg.csv", SNAP1 + "x,BTCUSDT,1,2,1.6,1,1.5,1\nx,BTCUSDT,3,4,1.6,1,1.5,-1\n",
     "row 3, field 'bids[0].amount': expected a quantity >= 0, was '-1'"),
])
def test_tardis_errors_name_the_line_the_column_and_the_value_written(tmp_path, name, text, says):
    p = _write(tmp_path / name, text)
    with pytest.raises(DataValidationError) as e:
        open_market_data([p])
    assert str(e.value) == f"{p}: {says}"


def test_a_tardis_file_going_back_is_refused_in_a_pair_too(tmp_path):
    """Merged with a trades file, a book file's step back in time is still named (the merge sorts by time)."""
    book = _write(tmp_path / "book.csv", BOOK + "x,BTCUSDT,1,5,false,bid,1.5,1\nx,BTCUSDT,1,3,false,ask,1.6,1\n")
    trades = _write(tmp_path / "trades.csv", TRADES + "x,BTCUSDT,1,4,7,buy,1.5,1\n")
    with pytest.raises(DataValidationError, match=r"book.csv: row 3, field 'local_timestamp'"):
        open_market_data([book, trades])


@pytest.mark.parametrize(("rows", "says"), [
    ("1000000,1000100,S,B,100.00,5,\n1000000,1000100,S,A,100.02,-7,\n",
     "row 3, field 'size': expected a quantity >= 0, was '-7'"),
    ("2000000,2000100,S,B,100.00,5,\n1000000,1000100,S,A,100.02,7,\n",
     "row 3, field 'recv': expected rows in time order (>= 2000100, the row before), was '1000100'"),
])
def test_table_errors_name_the_line(tmp_path, rows, says):
    p = _write(tmp_path / "t.csv", TABLE + rows)
    _write(tmp_path / "t.mapping.yaml", vs.MAPPING.replace('"0.1"', '"0.01"').replace('"0.001"', '"1"'))
    with pytest.raises(DataValidationError) as e:
        open_market_data([p])
    assert str(e.value) == f"{p}: {says}"


def test_hftbacktest_errors_count_records_from_1(tmp_path):
    arr = np.zeros(3, vs.HFTBT_DTYPE)
    arr["ev"] = vs.EXCH | vs.LOCAL | 1 | vs.BUYF
    arr["px"], arr["qty"], arr["local_ts"] = 1.5, [1.0, 1.0, -1.0], [1, 2, 3]
    np.savez_compressed(tmp_path / "neg.npz", data=arr)
    with pytest.raises(DataValidationError, match=r"neg.npz: row 3, field 'qty': expected a quantity >= 0"):
        open_market_data([tmp_path / "neg.npz"])
    arr["qty"], arr["local_ts"] = 1.0, [1, 3, 2]
    np.savez_compressed(tmp_path / "back.npz", data=arr)
    with pytest.raises(DataValidationError, match=r"back.npz: row 3, field 'local_ts': expected events in local"):
        open_market_data([tmp_path / "back.npz"])


@pytest.mark.parametrize("schema", ["mbo", "mbp-1", "mbp-10", "trades"])
def test_dbn_errors_name_the_record_and_its_byte_offset(tmp_path, schema):
    """A DBN file is binary: a bad record is named by its index from 1 and the byte where it starts in the stream
    (the bytes there are the record's), with the field; a step back in ts_recv too (was the stream's event index)."""
    from hft.data.dbn import read_dbn

    p = vs.write_dbn(vs.market(60, seed=3), tmp_path)[schema]
    _, _, rec, start = read_dbn(p)
    size = rec.dtype.itemsize
    raw = bytearray(p.read_bytes())
    side_at = start + 4 * size + rec.dtype.fields["side"][1]  # record 5's side
    raw[side_at] = ord("X")
    bad = tmp_path / f"side.{schema}.dbn"
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataValidationError) as e:
        open_market_data([bad])
    assert str(e.value) == f"{bad}: record 5 (byte {start + 4 * size}), field 'side': expected B, A or N, was 'X'"
    assert e.value.fields["offset"] == start + 4 * size and e.value.fields["record"] == 5
    raw = bytearray(p.read_bytes())
    k = 7 if schema != "mbo" else int(np.flatnonzero(rec["ts_recv"] > rec["ts_recv"][0])[0]) + 1  # a later record
    t_at = start + k * size + rec.dtype.fields["ts_recv"][1]
    prev = int(rec["ts_recv"][k - 1])
    raw[t_at: t_at + 8] = (prev - 1).to_bytes(8, "little")
    back = tmp_path / f"back.{schema}.dbn"
    back.write_bytes(bytes(raw))
    with pytest.raises(DataValidationError) as e:
        open_market_data([back])
    before = "the time of the events before it" if schema == "mbo" else "the record before"
    assert str(e.value) == (f"{back}: record {k + 1} (byte {start + k * size}), field 'ts_recv': expected records "
                            f"in time order (>= {prev}, {before}), was {prev - 1}")
    truncated = tmp_path / f"cut.{schema}.dbn"
    truncated.write_bytes(p.read_bytes()[:-10])
    n = len(rec) - 1
    with pytest.raises(DataValidationError, match=rf"cut\.{schema}\.dbn: record {n + 1} \(byte {start + n * size}\): "
                                                  rf"expected whole {schema} records of {size} bytes"):
        open_market_data([truncated])


# --- 3. a mapping's instrument -------------------------------------------------------------------------------------
@pytest.mark.parametrize("tick", ["0", "abc", '"-0.01"'])
def test_a_mapping_tick_that_is_not_a_positive_decimal_is_a_config_error_at_its_key(tmp_path, tick):
    p = _write(tmp_path / "t.csv", TABLE + "1,2,S,B,1.0,1,\n")
    y = _write(tmp_path / "y7.yaml", vs.MAPPING.replace('tick_size: "0.1"', f"tick_size: {tick}"))
    with pytest.raises(ConfigError) as e:
        open_market_data([p], mapping=y)
    assert str(e.value).startswith(f"{y}: key 'instrument.tick_size': expected a positive decimal string, was ")
    assert e.value.exit_code == 11 and e.value.fields["key"] == "instrument.tick_size"


# --- 4. event files imported apart ---------------------------------------------------------------------------------
def _imported(paths: list[Path], out: Path) -> Path:
    md = open_market_data(paths)
    return write_events(out, md.events, md.instrument, md.meta)


def test_book_and_trades_imported_apart_are_the_stream_imported_together(tmp_path):
    m = vs.market(300, seed=4)
    book, trades = vs.write_tardis(m, tmp_path)
    head, *rows = trades.read_text().splitlines()
    trades.write_text("\n".join([head] + [r + "1" for r in rows]) + "\n")  # finer amounts: another lot alone
    together = _imported([book, trades], tmp_path / "both.parquet")
    b, t = _imported([book], tmp_path / "b.parquet"), _imported([trades], tmp_path / "t.parquet")
    assert load_events(b).instrument.lot_size != load_events(t).instrument.lot_size
    assert group_days([t, b]) == [[t, b]]
    merged, want = open_market_data([t, b]), load_events(together)
    assert merged.instrument == want.instrument and merged.kind == "events"
    assert np.array_equal(merged.events, want.events)


def test_event_files_of_other_days_or_instruments_stay_apart_and_copies_are_refused(tmp_path):
    m = vs.market(100, seed=6)
    book, trades = vs.write_tardis(m, tmp_path)
    b, t = _imported([book], tmp_path / "b.parquet"), _imported([trades], tmp_path / "t.parquet")
    ef = load_events(b)
    day2 = ef.events.copy()
    day2["exch_ts"] += 86_400 * 10**9
    day2["local_ts"] += 86_400 * 10**9
    d2 = write_events(tmp_path / "b2.parquet", day2, ef.instrument, ef.meta)
    other = write_events(tmp_path / "eth.parquet", ef.events, replace(ef.instrument, symbol="ETHUSDT"), ef.meta)
    assert group_days([b, t, d2, other]) == [[b, t], [d2], [other]]
    (tmp_path / "copy.parquet").write_bytes(b.read_bytes())
    with pytest.raises(DataValidationError, match=r"copy.parquet: expected different event files to merge"):
        open_market_data([b, tmp_path / "copy.parquet"])


def test_dbn_book_and_trades_files_are_one_stream_as_imported_apart(tmp_path):
    """A DBN MBP file and its trades file (one instrument, times overlapping) are one stream raw, the stream their
    imports apart merge into; an MBO file (L3, its trades inside) and a book file that already prints trades are
    refused beside a trades file, naming the file (each trade would print twice)."""
    from hft.data.dbn import read_dbn

    f = vs.write_dbn(vs.market(120, seed=5), tmp_path)
    book, trades = f["mbp-1"], f["trades"]
    assert group_days([book, trades]) == [[book, trades]]
    raw = open_market_data([book, trades])
    b, t = _imported([book], tmp_path / "b.parquet"), _imported([trades], tmp_path / "t.parquet")
    assert raw.kind == "dbn" and np.array_equal(raw.events, open_market_data([b, t]).events)
    assert group_days([f["mbo"], trades]) == [[f["mbo"], trades]]
    with pytest.raises(DataValidationError, match=r"mbo.dbn: expected L2 files to merge into one stream, was L3"):
        open_market_data([f["mbo"], trades])
    _, _, rec, start = read_dbn(book)
    rec = rec.copy()
    rec["action"][3] = b"T"  # the book file prints a trade itself
    (tmp_path / "t").mkdir()
    printing = tmp_path / "t" / book.name
    printing.write_bytes(book.read_bytes()[:start] + rec.tobytes())
    with pytest.raises(DataValidationError, match=rf"trades.dbn: expected a trades file to add the prints "
                                                  rf".*{printing.name} lacks, .* already holds 1 trade print\(s\)"):
        open_market_data([printing, trades])


# --- 5. a file that is not an .npz ------------------------------------------------------------------------------
def test_a_csv_named_hftbacktest_says_it_is_not_an_npz(tmp_path):
    p = _write(tmp_path / "book.csv", BOOK + "x,BTCUSDT,1,2,false,bid,1.5,1\n")
    with pytest.raises(DataValidationError) as e:
        open_market_data([p], fmt="hftbacktest")
    assert str(e.value) == f"{p}: expected an hftbacktest .npz (a zip of .npy arrays), the file is not one"


# --- 6. several LOBSTER days -------------------------------------------------------------------------------------
def test_lobster_days_are_each_a_stream_for_inspect_and_verify(tmp_path, lobster_day):
    from hft.data.importing import verify_files
    from hft.data.inspect import inspect_files

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = lobster_day.write(tmp_path / "a")
    b = lobster_day.write(tmp_path / "b", stem="OTHER_2012-06-22_34200000_57600000")
    assert group_streams([a, b]) == [[a], [b]] and group_streams([a, b], fmt="lobster") == [[a], [b]]
    ins = inspect_files([a, b])
    assert [s["files"] for s in ins["streams"]] == [[str(a)], [str(b)]]
    assert [s["instrument"]["symbol"] for s in ins["streams"]] == ["TEST", "OTHER"]
    ver = verify_files([a, b])
    assert ver["ok"] and ver["problem"] is None and [s["mismatches"] for s in ver["streams"]] == [0, 0]
    assert "streams" not in inspect_files([a]) and inspect_files([a])["events"] > 0


@pytest.mark.shared_data
def test_the_head_of_a_stream_is_its_first_events_with_their_reference_rows(shared_data):
    """`MarketData.head(n)`: the first `n` events, and on a LOBSTER day the reference book rows that go with them (row
    k still the book after message k); instrument and meta unchanged; the day itself untouched."""
    md = open_market_data([shared_data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"])
    head = md.head(1000)
    assert np.array_equal(head.events, md.events[:1000]) and len(md.events) > 1000
    assert np.array_equal(head.lobster.events, md.lobster.events[:1000])
    assert np.array_equal(head.lobster.reference, md.lobster.reference[:1000])
    assert head.instrument == md.instrument and head.meta == md.meta and head.kind == md.kind
    assert len(md.head(10**9).events) == len(md.events)
