"""`hft data verify` names where an L2 book first crossed: the file and line (a binary file's record and byte) of
the message that made it so, and its exchange time, for every format verified through the top-of-book check."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from hft.data._convert import row_place
from hft.data.binance import import_binance
from hft.data.importing import import_to_file, verify_files
from hft.data.verify_binance import verify_binance
from tests.unit.data import vendor_samples as vs

MARK_LOTS = 777  # the crossing update's size: found again in each written file to name its line / record


def test_binance_names_the_crossing_line_in_the_second_file(tmp_path: Path) -> None:
    files, exch = vs.binance_crossing(tmp_path)
    res = verify_files(files)
    first = res["first_crossed"]
    assert (res["ok"], res["crossed"]) == (False, 2)
    assert (first["file"], first["line"], first["exch_ts"]) == (str(files[1]), 3, exch)
    assert first["message"] == row_place(files[1], 3) and first["row"] == res["first_crossed_row"]
    assert res["problem"] == f"2 crossed book states, the first after {files[1]}: row 3"
    assert res["first_locked"] is None


def test_binance_locked_book_is_named_too(tmp_path: Path) -> None:
    path = vs.write_binance(tmp_path / "usdm" / "btcusdt_20240808.gz", [
        vs.binance_snapshot(0, 100, [["100.00", "1.000"]], [["100.10", "1.000"]]),
        vs.binance_depth(1, 101, 105, 100, [], [["100.20", "1.000"]]),
        vs.binance_depth(2, 106, 110, 105, [["100.10", "1.000"]], []),  # bid 100.10 == ask 100.10: locked
    ])
    res = verify_files([path])
    assert res["crossed"] == 0 and res["locked"] == 1 and res["first_crossed"] is None
    assert (res["first_locked"]["file"], res["first_locked"]["line"]) == (str(path), 3)


def test_a_buffered_diff_is_named_by_its_own_line(tmp_path: Path) -> None:
    """Diffs before the snapshot are applied after it (their events follow the snapshot's): the place is still
    the diff's line, not the snapshot's."""
    path = vs.write_binance(tmp_path / "usdm" / "btcusdt_20240808.gz", [
        vs.binance_depth(0, 90, 95, 85, [["99.00", "1.000"]], []),  # dropped (u <= lastUpdateId)
        vs.binance_depth(1, 96, 105, 95, [["100.50", "1.000"]], []),  # buffered; crosses the snapshot's ask 100.10
        vs.binance_snapshot(2, 100, [["100.00", "1.000"]], [["100.10", "1.000"]]),
        vs.binance_depth(3, 106, 110, 105, [["101.00", "1.000"]], []),
    ])
    first = verify_files([path])["first_crossed"]
    assert (first["line"], first["exch_ts"]) == (2, (vs.BINANCE_E0 + 1) * 1_000_000)


def test_origins_are_recorded_only_when_asked(tmp_path: Path) -> None:
    files, _ = vs.binance_crossing(tmp_path)
    plain, kept = import_binance(files), import_binance(files, origins=True)
    assert plain.origin is None and np.array_equal(plain.events, kept.events)
    first = verify_binance(plain.events, plain.instrument)["first_crossed"]
    assert first.keys() == {"row", "exch_ts", "exch_utc", "local_ts"}  # no place without the origins
    # every event names a line of its file that exists; the snapshot's are line 2 of day 1
    places = [kept.origin(k) for k in range(len(kept.events))]
    assert {p["file"] for p in places} == {str(f) for f in files}
    assert places[0] == {"file": str(files[0]), "line": 2, "message": row_place(files[0], 2)}


def test_an_imported_event_file_names_its_parquet_row(tmp_path: Path) -> None:
    files, _ = vs.binance_crossing(tmp_path)
    out = tmp_path / "btc.parquet"
    import_to_file(files, out)
    res = verify_files([out])
    first = res["first_crossed"]
    assert (first["file"], first["line"]) == (str(out), first["row"] + 1)


# --- the vendor formats (the same synthetic market, one update changed into a bid above every ask) -----------
@pytest.fixture(scope="module")
def crossed_market() -> vs.Market:
    m = vs.market(400, seed=5)
    i = len(m.updates) // 2
    t = m.updates[i][0]
    m.updates[i] = (t, 1, 600_000 + 50, MARK_LOTS)  # asks sit at most 10 ticks above 600,000
    return m


def _text_line(path: Path) -> int:
    """The line (from 1) of a text file holding the marked size."""
    text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if ",0.777" in line]
    assert len(hits) == 1
    return hits[0]


@pytest.mark.parametrize("reverse", [False, True])
def test_tardis_pair_names_the_book_file_and_line(tmp_path: Path, crossed_market: vs.Market,
                                                  reverse: bool) -> None:
    book, trades = vs.write_tardis(crossed_market, tmp_path, gz=True)
    res = verify_files([trades, book] if reverse else [book, trades])
    first = res["first_crossed"]
    assert (first["file"], first["line"]) == (str(book), _text_line(book))
    assert first["exch_ts"] == crossed_market.updates[len(crossed_market.updates) // 2][0] * 1000


def test_hftbacktest_names_the_row(tmp_path: Path, crossed_market: vs.Market) -> None:
    path = vs.write_hftbacktest(crossed_market, tmp_path / "btcusdt.npz")
    rows = np.load(path)["data"]
    row = int(np.flatnonzero(np.isclose(rows["qty"], MARK_LOTS * crossed_market.lot))[0]) + 1
    first = verify_files([path])["first_crossed"]
    assert (first["file"], first["line"], first["message"]) == (str(path), row, row_place(path, row))


@pytest.mark.parametrize("parquet", [False, True])
def test_table_names_the_row(tmp_path: Path, crossed_market: vs.Market, parquet: bool) -> None:
    path = vs.write_table(crossed_market, tmp_path, parquet=parquet)
    if parquet:  # a Parquet table's row from 1
        import polars as pl

        row = int(np.flatnonzero(pl.read_parquet(path)["size"].to_numpy() == "0.777")[0]) + 1
    else:
        row = _text_line(path)
    first = verify_files([path])["first_crossed"]
    assert (first["file"], first["line"]) == (str(path), row)


@pytest.mark.parametrize("schema", ["mbp-1", "mbp-10"])
def test_dbn_names_the_record_and_its_byte(tmp_path: Path, crossed_market: vs.Market, schema: str) -> None:
    pytest.importorskip("databento_dbn")
    from hft.data.dbn import read_dbn

    path = vs.write_dbn(crossed_market, tmp_path)[schema]
    _, _, rec, start = read_dbn(path)
    i = int(np.flatnonzero(rec["size"] == MARK_LOTS)[0])
    offset = start + i * rec.dtype.itemsize
    first = verify_files([path])["first_crossed"]
    assert (first["file"], first["record"], first["offset"]) == (str(path), i + 1, offset)
    assert first["message"] == row_place(path, i + 1, unit="record", offset=offset)


def test_dbn_mbo_names_the_record_and_its_byte(tmp_path: Path, crossed_market: vs.Market) -> None:
    # L3 without reference rows: the book is rebuilt from the orders, checked at each record flagged last
    pytest.importorskip("databento_dbn")
    from hft.data.dbn import read_dbn

    path = vs.write_dbn(crossed_market, tmp_path)["mbo"]
    _, _, rec, start = read_dbn(path)
    i = int(np.flatnonzero(rec["size"] == MARK_LOTS)[0])  # the add of the bid above every ask
    offset = start + i * rec.dtype.itemsize
    res = verify_files([path])
    first = res["first_crossed"]
    assert res["ok"] is False and res["crossed"] >= 1 and res["kind"] == "dbn"
    assert (first["file"], first["record"], first["offset"]) == (str(path), i + 1, offset)
    assert first["exch_ts"] == int(rec["ts_event"][i]) and first["message"] in res["problem"]


def test_merged_event_files_name_the_file_and_row(tmp_path: Path, crossed_market: vs.Market) -> None:
    """A book file and a trades file imported apart verify as one stream (`load_merged`), and the crossing is
    named in the imported book file, at its Parquet row."""
    import polars as pl

    book, trades = vs.write_tardis(crossed_market, tmp_path, gz=True)
    book_pq, trades_pq = tmp_path / "book.parquet", tmp_path / "trades.parquet"
    import_to_file([book], book_pq)
    import_to_file([trades], trades_pq)
    first = verify_files([trades_pq, book_pq])["first_crossed"]
    qty = pl.read_parquet(book_pq)["qty"].to_numpy()
    row = int(np.flatnonzero(qty == MARK_LOTS)[0]) + 1
    assert (first["file"], first["line"]) == (str(book_pq), row)
    assert first["exch_ts"] == crossed_market.updates[len(crossed_market.updates) // 2][0] * 1000
