"""LOBSTER importer: exact conversion, file handling, atomic writes, and every bad-input case."""

from __future__ import annotations

import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_DELETE,
    EV_EXEC,
    EV_HALT,
    EV_HIDDEN_EXEC,
    EV_TRADE,
    FLAG_EOM,
    NO_PRICE,
    SELL,
)
from hft.core.errors import DataValidationError
from hft.data import lobster
from hft.data._eventcheck import content_hash, digest_words
from hft.data.lobster import import_lobster, load_lobster_import, ref_sidecar_path, write_lobster_import

STEM = "TEST_2012-06-21_34200000_57600000"
E = 9999999999
def ns(iso: str) -> int:
    dt = datetime.fromisoformat(iso).replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1_000_000_000


# --- conversion --------------------------------------------------------------------------------------------


def test_events_are_converted_exactly(tmp_path: Path, lobster_day: Any) -> None:
    data = import_lobster(lobster_day.write(tmp_path))
    ev = data.events
    assert not ev.flags.writeable
    assert ev["kind"].tolist() == [EV_ADD, EV_ADD, EV_EXEC, EV_HIDDEN_EXEC, EV_CANCEL, EV_DELETE, EV_DELETE]
    assert ev["side"].tolist() == [BUY, SELL, BUY, BUY, BUY, SELL, SELL]
    assert ev["price"].tolist() == [10001, 10003, 10001, 10000, 10000, 10003, 10005]  # half-cent: buy → down
    assert ev["qty"].tolist() == [100, 50, 30, 10, 20, 50, 300]
    assert ev["order_id"].tolist() == [11, 12, 11, 0, 5, 12, 6]
    assert ev["seq"].tolist() == list(range(7))
    assert (ev["flags"] == FLAG_EOM).all()
    assert (ev["local_ts"] == ev["exch_ts"]).all()
    # 2012-06-21 is summer time: 09:30 New York = 13:30 UTC; decimals are exact, never through a float
    open_ns = ns("2012-06-21T13:30:00")
    assert ev["exch_ts"].tolist() == [
        open_ns + 1, open_ns + 500_000_000, open_ns + 1_250_000_000, open_ns + 2_000_000_000,
        open_ns + 3_123_456_789, open_ns + 4_123_456_790, open_ns + 5_000_000_000,
    ]
    assert data.meta["subtick_prices"] == 1 and data.meta["subns_times"] == 1


def test_instrument_reference_and_meta(tmp_path: Path, lobster_day: Any) -> None:
    data = import_lobster(lobster_day.write(tmp_path))
    inst = data.instrument
    assert (inst.symbol, inst.venue, inst.tick_size, inst.lot_size, inst.price_scale, inst.currency,
            inst.timezone, inst.book_level) == ("TEST", "NASDAQ", "0.01", "1", 10000, "USD", "America/New_York",
                                                 "L3")
    assert data.levels == 2
    assert data.reference.shape == (7, 8) and data.reference.dtype == np.int64
    assert not data.reference.flags.writeable
    assert data.reference[0].tolist() == [10005, 300, 10001, 100, NO_PRICE, 0, 10000, 200]
    assert data.meta["messages"] == 7
    assert data.meta["counts_by_type"] == {"1": 2, "2": 1, "3": 2, "4": 1, "5": 1}
    assert data.meta["files"] == [f"{STEM}_message_2.csv", f"{STEM}_orderbook_2.csv"]
    assert set(data.meta["sha256"]) == set(data.meta["files"])
    assert data.meta["date"] == "2012-06-21" and data.meta["ticker"] == "TEST"


def test_winter_date_uses_standard_time(tmp_path: Path, lobster_day: Any) -> None:
    data = import_lobster(lobster_day.write(tmp_path, stem="TEST_2012-01-05_34200000_57600000"))
    assert int(data.events["exch_ts"][0]) == ns("2012-01-05T14:30:00") + 1  # EST: UTC-5


def test_halt_and_cross_trade_messages(tmp_path: Path, lobster_day: Any) -> None:
    B = lobster_day.books
    msgs = ["34200,6,0,500,1000000,1", "34201,7,0,0,-1,-1", "34202,7,0,0,1,-1"]
    books = [B[0]] * 3
    ev = import_lobster(lobster_day.write(tmp_path, msgs, books)).events
    assert ev["kind"].tolist() == [EV_TRADE, EV_HALT, EV_HALT]
    assert ev["side"].tolist() == [0, 0, 0]  # a cross has no aggressor; halts have no side
    assert ev["price"].tolist() == [10000, -1, 1]  # halt code kept


def test_zip_and_csv_give_the_same_import(tmp_path: Path, lobster_day: Any) -> None:
    a = import_lobster(lobster_day.zip(tmp_path))
    b = import_lobster(lobster_day.write(tmp_path))
    assert np.array_equal(a.events, b.events) and np.array_equal(a.reference, b.reference)
    assert a.meta["sha256"] == b.meta["sha256"]


def test_orderbook_can_be_passed_explicitly(tmp_path: Path, lobster_day: Any) -> None:
    msg = lobster_day.write(tmp_path)
    other = tmp_path / "elsewhere"
    other.mkdir()
    ob = msg.with_name(msg.name.replace("_message_", "_orderbook_"))
    moved = ob.rename(other / ob.name)
    with pytest.raises(DataValidationError, match="orderbook"):
        import_lobster(msg)
    assert import_lobster(msg, orderbook=moved).reference.shape == (7, 8)


def test_write_and_load_round_trip(tmp_path: Path, lobster_day: Any) -> None:
    data = import_lobster(lobster_day.write(tmp_path))
    out = tmp_path / "test.parquet"
    paths = write_lobster_import(data, out)
    assert paths == (out, ref_sidecar_path(out)) and paths[1].name == "test.ref.parquet"
    back = load_lobster_import(out)
    assert np.array_equal(back.events, data.events) and not back.events.flags.writeable
    assert np.array_equal(back.reference, data.reference)
    assert back.levels == 2 and back.instrument == data.instrument and back.meta == data.meta


def test_load_without_sidecar_fails(tmp_path: Path, lobster_day: Any) -> None:
    out = tmp_path / "test.parquet"
    write_lobster_import(import_lobster(lobster_day.write(tmp_path)), out)
    ref_sidecar_path(out).unlink()
    with pytest.raises(DataValidationError, match=r"test\.ref\.parquet"):
        load_lobster_import(out)


# --- bad input: each case names the file, its line (1-based, as an editor shows it), the column, what was
# expected and the value as written (`hft.data._convert.row_error`, the Tardis and table importers' form) -----


def _expect(day: Any, tmp_path: Path, messages: list[str], books: list[str], line: int, pattern: str,
            which: str = "message") -> DataValidationError:
    msg = day.write(tmp_path, messages, books)
    with pytest.raises(DataValidationError) as info:
        import_lobster(msg)
    err = info.value
    assert f"_{which}_2.csv: row {line}" in err.message, err.message
    assert err.fields["line"] == line
    assert "expected" in err.message
    assert re.search(pattern, err.message), err.message
    return err


def _replace(lines: list[str], i: int, text: str) -> list[str]:
    out = list(lines)
    out[i] = text
    return out


def test_wrong_column_count(tmp_path: Path, lobster_day: Any) -> None:
    M, B = lobster_day.messages, lobster_day.books
    _expect(lobster_day, tmp_path, _replace(M, 2, "34201.25,4,11,30,1000100"), B, 3, "expected 6 .*found 5")
    _expect(lobster_day, tmp_path, _replace(M, 1, "34200.5,1,12,50,1000300,-1,9"), B, 2, "expected 6 .*found 7")
    _expect(lobster_day, tmp_path, M, _replace(B, 3, "1000300,50,1000100"), 4, "expected 8 .*found 3",
            which="orderbook")


def test_non_numeric_field(tmp_path: Path, lobster_day: Any) -> None:
    M, B = lobster_day.messages, lobster_day.books
    _expect(lobster_day, tmp_path, _replace(M, 4, "34203.1,2,5,abc,1000000,1"), B, 5,
            "row 5, field 'size': expected an integer, was 'abc'$")
    _expect(lobster_day, tmp_path, _replace(M, 0, "9:30,1,11,100,1000100,1"), B, 1,
            "row 1, field 'time': expected seconds after midnight like 34200.123456789, was '9:30'$")
    _expect(lobster_day, tmp_path, M, _replace(B, 6, f"1001000,400,1000100,7x,{E},0,1000000,180"), 7,
            r"row 7, field 'bid_sz_1 \(column 4\)': expected an integer, was '7x'$", which="orderbook")


@pytest.mark.parametrize("size", ["0", "-5"])
def test_negative_or_zero_size(tmp_path: Path, size: str, lobster_day: Any) -> None:
    M, B = lobster_day.messages, lobster_day.books
    err = _expect(lobster_day, tmp_path, _replace(M, 2, f"34201.25,4,11,{size},1000100,1"), B, 3,
                  f"row 3, field 'size': expected a positive size, was '{size}'$")
    assert err.fields["found"] == size and err.fields["field"] == "size"


def test_the_value_is_named_as_written(tmp_path: Path, lobster_day: Any) -> None:
    """A value the strict scanner declines (a leading zero) is read by polars as an integer; the error still
    quotes the file's text, not the number read."""
    M, B = lobster_day.messages, lobster_day.books
    _expect(lobster_day, tmp_path, _replace(M, 2, "34201.25,4,11,-030,1000100,1"), B, 3,
            "row 3, field 'size': expected a positive size, was '-030'$")
    _expect(lobster_day, tmp_path, M, _replace(B, 2, "1000300,050,1000100,-070,1000500,300,1000000,200"), 3,
            r"row 3, field 'bid_sz_1 \(column 4\)': expected a positive size .*, was '-070'$", which="orderbook")


def test_a_bad_row_in_a_zip_names_the_member_and_its_line(tmp_path: Path, lobster_day: Any) -> None:
    M, B = lobster_day.messages, lobster_day.books
    z = lobster_day.zip(tmp_path, _replace(M, 5, "34204.5,3,12,50,1000300,2"), B)
    with pytest.raises(DataValidationError) as info:
        import_lobster(z)
    assert str(info.value) == (f"{z}:{STEM}_message_2.csv: row 6, field 'direction': expected 1 (buy) or -1 (sell), "
                               "was '2'")
    assert info.value.fields["line"] == 6 and info.value.fields["file"] == f"{z}:{STEM}_message_2.csv"
    z = lobster_day.zip(tmp_path, M, _replace(B, 4, "1000300,50,1000100,70,1000500,300,1000050,180"))
    with pytest.raises(DataValidationError, match=rf"\.zip:{STEM}_orderbook_2\.csv: row 5, field 'bid_px_2 "
                                                  r"\(column 7\)': expected a positive multiple of 100"):
        import_lobster(z)


def test_negative_size_in_orderbook(tmp_path: Path, lobster_day: Any) -> None:
    M, B = lobster_day.messages, lobster_day.books
    _expect(lobster_day, tmp_path, M, _replace(B, 1, "1000300,-50,1000100,100,1000500,300,1000000,200"), 2,
            r"row 2, field 'ask_sz_1 \(column 2\)': expected a positive size \(0 only at an empty ±9999999999 "
            "level\\), was '-50'$", which="orderbook")


def test_unknown_message_type(tmp_path: Path, lobster_day: Any) -> None:
    M, B = lobster_day.messages, lobster_day.books
    _expect(lobster_day, tmp_path, _replace(M, 3, "34202,8,0,10,1000050,1"), B, 4,
            r"row 4, field 'type': expected a message type 1\.\.7, was '8'$")


def test_unknown_direction(tmp_path: Path, lobster_day: Any) -> None:
    M, B = lobster_day.messages, lobster_day.books
    _expect(lobster_day, tmp_path, _replace(M, 3, "34202,5,0,10,1000050,0"), B, 4, "direction")


def test_timestamps_going_backwards(tmp_path: Path, lobster_day: Any) -> None:
    M, B = lobster_day.messages, lobster_day.books
    _expect(lobster_day, tmp_path, _replace(M, 4, "34201.2,2,5,20,1000000,1"), B, 5,
            r"row 5, field 'time': expected rows in time order \(>= 34202, the row before\), was '34201.2'$")


def test_price_not_on_tick(tmp_path: Path, lobster_day: Any) -> None:
    M, B = lobster_day.messages, lobster_day.books
    _expect(lobster_day, tmp_path, _replace(M, 0, "34200.000000001,1,11,100,1000150,1"), B, 1,
            "row 1, field 'price': expected a multiple of 100 .*, was '1000150'$")
    _expect(lobster_day, tmp_path, M, _replace(B, 0, f"1000501,300,1000100,100,{E},0,1000000,200"), 1,
            r"row 1, field 'ask_px_1 \(column 1\)': expected a positive multiple of 100 or ±9999999999, "
            "was '1000501'$", which="orderbook")


def test_orderbook_with_a_different_row_count(tmp_path: Path, lobster_day: Any) -> None:
    M, B = lobster_day.messages, lobster_day.books
    err = _expect(lobster_day, tmp_path, M, B[:-1], 7, "expected 7 orderbook rows.*found 6", which="orderbook")
    assert (err.fields["expected"], err.fields["found"]) == (7, 6)


def test_empty_files(tmp_path: Path, lobster_day: Any) -> None:
    M, B = lobster_day.messages, lobster_day.books
    _expect(lobster_day, tmp_path, [], B, 1, "empty")
    _expect(lobster_day, tmp_path, M, [], 1, "empty", which="orderbook")


def test_non_zip_archive(tmp_path: Path) -> None:
    path = tmp_path / "LOBSTER_SampleFile_TEST_2012-06-21_2.zip"
    path.write_bytes(b"this is not a zip archive at all\n" * 10)
    with pytest.raises(DataValidationError, match=r"\.zip: expected a readable zip archive"):
        import_lobster(path)


def test_truncated_zip(tmp_path: Path, lobster_day: Any) -> None:
    whole = lobster_day.zip(tmp_path).read_bytes()
    for cut in (len(whole) // 3, len(whole) - 30):
        path = tmp_path / f"cut{cut}.zip"
        path.write_bytes(whole[:cut])
        with pytest.raises(DataValidationError, match=rf"cut{cut}\.zip: a zip archive, but truncated or damaged: "):
            import_lobster(path)


def test_zip_without_the_expected_members(tmp_path: Path, lobster_day: Any) -> None:
    M = lobster_day.messages
    path = tmp_path / "empty.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "x")
    with pytest.raises(DataValidationError, match=r"expected exactly one LOBSTER '\*_message_<L>\.csv'"):
        import_lobster(path)
    path = tmp_path / "half.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{STEM}_message_2.csv", "\n".join(M))
    with pytest.raises(DataValidationError, match=r"expected member .*_orderbook_2\.csv"):
        import_lobster(path)


def test_bad_file_names(tmp_path: Path, lobster_day: Any) -> None:
    M = lobster_day.messages
    path = tmp_path / "messages.csv"
    path.write_text("\n".join(M))
    with pytest.raises(DataValidationError, match="expected a LOBSTER message file name"):
        import_lobster(path)
    with pytest.raises(DataValidationError, match="no such file"):
        import_lobster(tmp_path / "missing.zip")


def test_unwritable_output_leaves_nothing(tmp_path: Path, lobster_day: Any) -> None:
    data = import_lobster(lobster_day.write(tmp_path))
    with pytest.raises(DataValidationError, match="expected a writable output location") as info:
        write_lobster_import(data, tmp_path / "no" / "such" / "dir" / "x.parquet")
    assert info.value.fields["file"].endswith("x.parquet")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(DataValidationError):
        write_lobster_import(data, blocker / "x.parquet")


def test_failure_while_writing_leaves_neither_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lobster_day: Any) -> None:
    data = import_lobster(lobster_day.write(tmp_path))
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("hft.data.events_io.write_events", boom)
    with pytest.raises(DataValidationError, match="No space left"):
        write_lobster_import(data, out_dir / "x.parquet")
    assert list(out_dir.iterdir()) == []


def test_no_output_is_written_by_a_failing_import(tmp_path: Path, lobster_day: Any) -> None:
    M = lobster_day.messages
    msg = lobster_day.write(tmp_path, _replace(M, 3, "34202,8,0,10,1000050,1"))
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(DataValidationError):
        import_lobster(msg)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# --- real files --------------------------------------------------------------------------------------------

SAMPLES = {  # file: (messages, levels), from ../shared/data/README.md
    "LOBSTER_SampleFile_AAPL_2012-06-21_1.zip": (118_497, 1),
    "LOBSTER_SampleFile_AMZN_2012-06-21_1.zip": (57_515, 1),
    "LOBSTER_SampleFile_AMZN_2012-06-21_5.zip": (155_935, 5),
    "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip": (49_482, 1),
    "LOBSTER_SampleFile_GOOG_2012-06-21_5.zip": (112_673, 5),
    "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip": (147_916, 10),
}
# file: (the events' content digest, the reference book's digest): recorded once, the same on every CPU target the
# importer is compiled for (.ci/targets runs this on x86-64-v2, v3, v4 and with bounds checks)
PINNED = {
    "LOBSTER_SampleFile_AAPL_2012-06-21_1.zip": ("xh64:970fc69d83ea5797", 0xa2d60acf9eda7112),
    "LOBSTER_SampleFile_AMZN_2012-06-21_1.zip": ("xh64:c5ae46f33244de78", 0xe87e6838b1742871),
    "LOBSTER_SampleFile_AMZN_2012-06-21_5.zip": ("xh64:329025d32d150c28", 0xb7337c9b9a5c5001),
    "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip": ("xh64:8258ebc6649844cc", 0xac347a05b374f893),
    "LOBSTER_SampleFile_GOOG_2012-06-21_5.zip": ("xh64:a031ecc72dbccf37", 0xa02288cc6963d3e7),
    "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip": ("xh64:98ad0e1188f7cd54", 0xf41440b128d046df),
}


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_imports_the_shared_samples(shared_data: Path, name: str) -> None:
    data = import_lobster(shared_data / "lobster" / name)
    n, levels = SAMPLES[name]
    assert len(data.events) == n and data.levels == levels and data.reference.shape == (n, 4 * levels)
    assert sum(data.meta["counts_by_type"].values()) == n
    ts = data.events["exch_ts"]
    assert ns("2012-06-21T13:30:00") <= ts[0] and ts[-1] <= ns("2012-06-21T20:00:00")
    assert (np.diff(ts) >= 0).all()
    book = data.reference
    both = (book[:, 0] != NO_PRICE) & (book[:, 2] != NO_PRICE)
    assert (book[both, 0] > book[both, 2]).all()  # best ask above best bid: never crossed
    ref_digest = int(digest_words(np.ascontiguousarray(book).view(np.uint64).ravel(), np.uint64(0)))
    assert (content_hash(data.events), ref_digest) == PINNED[name]


# --- the strict scanner (start-up path) and the polars reference path give the same import ------------------


def _reference_path(monkeypatch: pytest.MonkeyPatch, source: Path) -> Any:
    with monkeypatch.context() as m:
        m.setattr(lobster, "_import_strict", lambda *a: None)
        return import_lobster(source)


def _same_import(a: Any, b: Any) -> None:
    assert a.events.dtype == b.events.dtype and a.events.tobytes() == b.events.tobytes()
    assert a.reference.dtype == b.reference.dtype and np.array_equal(a.reference, b.reference)
    assert a.reference.flags.c_contiguous and not a.reference.flags.writeable and not a.events.flags.writeable
    assert a.meta == b.meta and a.levels == b.levels and a.instrument == b.instrument


def _strict_used(source: Path) -> bool:
    msg, ob, _ = lobster._resolve(source, None)
    day = datetime.strptime(lobster._parse_name(msg.name, msg.origin, "message").group("date"), "%Y-%m-%d")
    levels = int(lobster._parse_name(msg.name, msg.origin, "message").group("levels"))
    return lobster._import_strict(msg, ob, levels, day.date()) is not None


def test_strict_scanner_matches_the_reference_path(tmp_path: Path, lobster_day: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from hft.data.importing import generate_day

    day = generate_day(tmp_path / "gen", seed=3, symbol="SYNTH", date="2024-01-02", messages=1000, levels=3,
                       zip_output=True)
    for source in (lobster_day.write(tmp_path), lobster_day.zip(tmp_path), Path(day["zip_path"])):
        assert _strict_used(source)
        _same_import(import_lobster(source), _reference_path(monkeypatch, source))


@pytest.mark.parametrize("variant", ["crlf", "leading_zero", "quoted", "plus_sign", "minus_zero", "no_final_lf",
                                     "blank_line", "long_fraction", "dot_only", "digits_18", "digits_19", "digits_30",
                                     "seconds_7"])
def test_strict_scanner_declines_or_agrees_on_unusual_text(tmp_path: Path, lobster_day: Any, variant: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    M, B = list(lobster_day.messages), list(lobster_day.books)
    if variant == "leading_zero":
        M = _replace(M, 1, "34200.5,1,012,50,1000300,-1")
    elif variant == "quoted":
        M = _replace(M, 1, '"34200.5",1,12,50,1000300,-1')
    elif variant == "plus_sign":
        M = _replace(M, 1, "34200.5,1,12,+50,1000300,-1")
    elif variant == "minus_zero":
        M = _replace(M, 3, "34202,5,-0,10,1000050,1")
    elif variant == "blank_line":
        M = [*M, ""]
    elif variant == "long_fraction":
        M = _replace(M, 1, "34200.49999999999999,1,12,50,1000300,-1")
    elif variant == "dot_only":
        M = _replace(M, 1, "34200.,1,12,50,1000300,-1")
    elif variant == "digits_18":  # the longest integer the strict scanner reads (counted before it is summed)
        M = _replace(M, 1, "34200.5,1,999999999999999999,50,1000300,-1")
    elif variant == "digits_19":  # fits int64: the reference path reads it
        M = _replace(M, 1, "34200.5,1,1000000000000000000,50,1000300,-1")
    elif variant == "digits_30":  # past int64 (a sum of its digits would overflow): the reference path refuses it
        M = _replace(M, 1, "34200.5,1,123456789012345678901234567890,50,1000300,-1")
    elif variant == "seconds_7":
        M = _replace(M, 1, "1234567.5,1,12,50,1000300,-1")
    msg = lobster_day.write(tmp_path, M, B)
    if variant in ("crlf", "no_final_lf"):
        for path in (msg, msg.with_name(msg.name.replace("_message_", "_orderbook_"))):
            text = path.read_bytes()
            path.write_bytes(text.replace(b"\n", b"\r\n") if variant == "crlf" else text.rstrip(b"\n"))

    def outcome(f: Any) -> Any:
        try:
            return f()
        except DataValidationError as exc:
            return exc.message
        except Exception as exc:  # whatever the reference path does, the strict path must do the same
            return f"{exc.__class__.__name__}: {exc}"

    a = outcome(lambda: import_lobster(msg))
    b = outcome(lambda: _reference_path(monkeypatch, msg))
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
    else:
        _same_import(a, b)
    if variant in ("no_final_lf", "long_fraction", "digits_18"):
        assert _strict_used(msg)
    else:
        assert not _strict_used(msg)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_strict_scanner_matches_the_reference_path_on_the_shared_samples(
        shared_data: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source = shared_data / "lobster" / name
    assert _strict_used(source)
    _same_import(import_lobster(source), _reference_path(monkeypatch, source))


def test_module_constants_describe_the_format() -> None:
    assert lobster.LOBSTER_PRICE_PER_TICK == 100 and lobster.LOBSTER_EMPTY_PRICE == E
    assert SELL == -1
