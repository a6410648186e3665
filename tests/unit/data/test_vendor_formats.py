"""Importers of researchers' own data: Tardis.dev CSV, hftbacktest .npz, Databento DBN, mapped tables.

Every sample is written here in the vendor's documented format from one synthetic market
(`tests/unit/data/vendor_samples.py`), so the formats can be checked against each other: the same market must
come out as the same events (incremental formats) or the same book (snapshot formats)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.book.l2 import L2_OUT_OF_RANGE, book_for, grow, top_n
from hft.book.l2_view import local_apply
from hft.core.dtypes import (
    BUY,
    EV_CLEAR,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TICKER,
    EV_TRADE,
    FLAG_EOM,
    NO_PRICE,
    SELL,
)
from hft.core.errors import ConfigError, DataValidationError
from hft.data.formats import detect
from hft.data.importing import verify_market_data
from hft.data.inspect import inspect_market_data
from hft.data.sources import open_market_data
from tests.unit.data import vendor_samples as vs


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    f = tmp_path_factory.mktemp("vendors")
    m = vs.market(400, seed=3)
    book, trades = vs.write_tardis(m, f)
    (f / "gz").mkdir()
    bgz, tgz = vs.write_tardis(m, f / "gz", gz=True)
    snap, quotes = vs.write_tardis_snapshots(m, f)
    out = {"book": book, "trades": trades, "book_gz": bgz, "trades_gz": tgz, "snap25": snap, "quotes": quotes,
           "npz": vs.write_hftbacktest(m, f / "btcusdt.npz"), "table": vs.write_table(m, f)}
    (f / "pq").mkdir()
    out["parquet"] = vs.write_table(m, f / "pq", parquet=True)
    (f / "dbn").mkdir()
    out.update({f"dbn_{k}": v for k, v in vs.write_dbn(m, f / "dbn").items()})
    return out


def _core(ev: np.ndarray) -> np.ndarray:
    """What must agree between formats: every non-clear event's times, kind, side, price, size (trade ids too)."""
    e = ev[ev["kind"] != EV_CLEAR]
    return np.stack([e["exch_ts"], e["local_ts"], e["kind"], e["side"], e["price"], e["qty"],
                     np.where(e["kind"] == 6, e["order_id"], 0)], axis=1)


def _final_book(ev: np.ndarray, l3: bool = False, n: int = 10) -> list[list[int]]:
    book = book_for(ev)
    top = np.empty(4, np.int64)
    for e in ev:
        args = (e["kind"], e["side"], e["price"], e["qty"], l3, top)
        status = local_apply(book, *args)
        if status == L2_OUT_OF_RANGE:
            book = grow(book, int(e["side"]), int(e["price"]))
            status = local_apply(book, *args)
        assert status == 0
    bp, bq, ap, aq = (np.empty(n, np.int64) for _ in range(4))
    top_n(book, bp, bq, ap, aq)
    return [[int(p), int(q)] for p, q in zip(np.concatenate([bp, ap]), np.concatenate([bq, aq]), strict=True)
            if p != NO_PRICE]


def test_detected_by_content_not_suffix(files):
    assert detect(files["book"]) == detect(files["trades"]) == detect(files["snap25"]) == "tardis"
    assert detect(files["book_gz"]) == "tardis"  # a .gz that is not a Binance capture
    assert detect(files["npz"]) == "hftbacktest"
    assert detect(files["table"]) == detect(files["parquet"]) == "table"  # by the mapping beside it
    assert {detect(files[f"dbn_{k}"]) for k in ("mbo", "mbp-10", "mbp-1", "trades")} == {"dbn"}


def test_incremental_formats_give_the_same_events(files):
    tardis = open_market_data([files["book"], files["trades"]])
    assert tardis.kind == "tardis" and tardis.instrument.tick_size == "0.1" and tardis.instrument.lot_size == "0.001"
    assert tardis.instrument.symbol == "BTCUSDT" and tardis.instrument.currency == "USDT"
    gz = open_market_data([files["book_gz"], files["trades_gz"]])
    npz = open_market_data([files["npz"]])
    table = open_market_data([files["table"]])
    parquet = open_market_data([files["parquet"]])
    want = _core(tardis.events)
    for md in (gz, npz, table, parquet):
        assert np.array_equal(_core(md.events), want), md.kind
    for md in (tardis, npz, table):
        assert _final_book(md.events) == _final_book(tardis.events)
        res = verify_market_data(md)
        assert res["ok"] and res["crossed"] == 0 and res["out_of_order"] == 0 and res["checked"] > 300
        ins = inspect_market_data(md)
        assert ins["trades"] == len(np.flatnonzero(tardis.events["kind"] == 6)) > 0
    assert not tardis.events.flags.writeable


def test_snapshot_formats_give_the_book(files):
    inc = open_market_data([files["book"]])
    snap = open_market_data([files["snap25"]])
    quotes = open_market_data([files["quotes"]])
    assert _final_book(snap.events, n=25) == _final_book(inc.events, n=25)
    assert _final_book(quotes.events, n=1) == _final_book(inc.events, n=1)
    for md in (snap, quotes):
        assert verify_market_data(md)["ok"]


def test_dbn_currency_is_the_symbols_quote_asset_and_a_guess_is_said(files, tmp_path):
    """A DBN file of SOLUSDT is in USDT (as Tardis says of the same symbol), not a guessed USD; an equity's symbol
    names no quote currency: USD, said as a guess (the import's ``notices``, which `hft data verify` / `inspect`
    and a replay print)."""
    from hft.data.sources import each_stream

    (tmp_path / "sol").mkdir()
    sol = vs.write_dbn(vs.market(60, seed=4), tmp_path / "sol", symbol="SOLUSDT")
    for schema in ("mbo", "mbp-10", "trades"):
        md = open_market_data([sol[schema]])
        assert (md.instrument.symbol, md.instrument.currency) == ("SOLUSDT", "USDT")
        assert "notices" not in md.meta
    aapl = open_market_data([files["dbn_mbo"]])
    assert aapl.instrument.currency == "USD"
    [notice] = aapl.meta["notices"]
    assert notice.startswith(f"{files['dbn_mbo'].name}: currency USD guessed") and "'AAPL'" in notice
    assert "instrument.currency" in notice and "\n" not in notice
    assert notice in each_stream([files["dbn_mbo"]], lambda md: {"ok": True})["warnings"]
    assert "warnings" not in each_stream([sol["mbo"]], lambda md: {"ok": True})
    tardis = open_market_data([files["book"]])  # Tardis BTCUSDT: the quote asset, no guess
    assert tardis.instrument.currency == "USDT" and "notices" not in tardis.meta
    # as docs/sim.md says of the three formats that name no currency: SOLUSDT in Tardis and hftbacktest files too
    m = vs.market(60, seed=4)
    for md in (open_market_data([vs.write_tardis(m, tmp_path / "sol", symbol="SOLUSDT")[0]]),
               open_market_data([vs.write_hftbacktest(m, tmp_path / "sol" / "solusdt_20240809.npz")])):
        assert (md.instrument.symbol, md.instrument.currency) == ("SOLUSDT", "USDT") and "notices" not in md.meta


def test_dbn_schemas(files):
    inc = open_market_data([files["book"]])
    shifted = [[p - 590_000, q] for p, q in _final_book(inc.events)]
    mbo = open_market_data([files["dbn_mbo"]])
    assert mbo.instrument.book_level == "L3" and mbo.instrument.symbol == "AAPL"
    assert mbo.instrument.tick_size == "0.01" and mbo.instrument.venue == "XNAS.ITCH"
    assert _final_book(mbo.events, l3=True) == shifted
    mbp10 = open_market_data([files["dbn_mbp-10"]])
    assert mbp10.instrument.book_level == "L2" and _final_book(mbp10.events) == shifted
    mbp1 = open_market_data([files["dbn_mbp-1"]])
    assert _final_book(mbp1.events, n=1) == [shifted[0], shifted[len(shifted) // 2]]
    trades = open_market_data([files["dbn_trades"]])  # the market's trades, prices shifted as above
    tr = open_market_data([files["trades"]]).events
    assert len(tr) > 20 and np.array_equal(trades.events["price"], tr["price"] - 590_000)
    assert np.array_equal(trades.events["side"], tr["side"]) and np.array_equal(trades.events["qty"], tr["qty"])
    for md in (mbo, mbp10, mbp1, trades):
        res = verify_market_data(md)
        assert res["ok"] and res["out_of_order"] == 0, md.instrument
        assert (res["symbol"], res["venue"]) == ("AAPL", "XNAS.ITCH"), md.instrument  # every schema, MBO too


def test_hftbacktest_converter_agrees(files, tmp_path):
    """hftbacktest's own Tardis converter (when installed) writes a file this importer reads as our own import."""
    tardis_mod = pytest.importorskip("hftbacktest.data.utils.tardis")
    out = tmp_path / "conv.npz"
    tardis_mod.convert([str(files["trades"]), str(files["book"])], output_filename=str(out))
    theirs = open_market_data([out])
    ours = open_market_data([files["book"], files["trades"]])
    # the same events in the same order; its converter does not keep Tardis's trade ids (order_id)
    assert np.array_equal(_core(theirs.events)[:, :6], _core(ours.events)[:, :6])


# --- malformed input: one line naming file, row and field ---------------------------------------------------------
def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


HEAD = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"


@pytest.mark.parametrize(("body", "text"), [
    ("x,BTCUSDT,1,2,false,bid,1.5,abc\n", "row 2, field 'amount': expected a number, was 'abc'"),
    ("x,BTCUSDT,1,2,false,bid,1.5,1\nx,BTCUSDT,1,2,false,middle,1.5,1\n",
     "row 3, field 'side': expected one of ['ask', 'bid'], was 'middle'"),
    ("x,BTCUSDT,1.5,2,false,bid,1.5,1\n", "row 2, field 'timestamp': expected an integer, was '1.5'"),
    ("x,BTCUSDT,1,2,maybe,bid,1.5,1\n", "row 2, field 'is_snapshot': expected true or false, was 'maybe'"),
    # values the typed read parses (a NaN, an infinity, a blank) are named as the text read names them
    ("x,BTCUSDT,1,2,false,bid,nan,1\n", "row 2, field 'price': expected a number, was 'nan'"),
    ("x,BTCUSDT,1,2,false,bid,1.5,1\nx,BTCUSDT,1,2,false,bid,1.5,inf\n",
     "row 3, field 'amount': expected a number, was 'inf'"),
    # a blank field and a row cut short are named so, never as Python's None
    ("x,BTCUSDT,1,,false,bid,1.5,1\n", "row 2, field 'local_timestamp': expected an integer, was empty or missing"),
    ("x,BTCUSDT,1,2,false,bid,1.5,1\nx,BT\n", "row 3, field 'timestamp': expected an integer, was empty or missing"),
    # coded columns the typed read takes as enums: a blank or another spelling is named by the text read
    ("x,BTCUSDT,1,2,false,bid,1.5,1\nx,BTCUSDT,1,2,false,,1.5,1\n",
     "row 3, field 'side': expected one of ['ask', 'bid'], was empty or missing"),
    ("x,BTCUSDT,1,2,True,bid,1.5,1\n", "row 2, field 'is_snapshot': expected true or false, was 'True'"),
])
def test_tardis_bad_rows(tmp_path, body, text):
    p = _write(tmp_path / "book.csv", HEAD + body)
    with pytest.raises(DataValidationError) as e:
        open_market_data([p])
    assert str(e.value) == f"{p}: {text}" and "\n" not in str(e.value)


def test_tardis_pair_events_by_hand(tmp_path):
    """A book file with a snapshot between updates and a trades file, merged: a CLEAR before the snapshot's first
    row (its times and line, nothing else), FLAG_EOM at each message's last row, trades first at an equal local
    time, times in ns, units of the fewest decimals."""
    book = _write(tmp_path / "book.csv", HEAD + "x,BTCUSDT,10,20,false,bid,1.5,1\n"
                  "x,BTCUSDT,30,40,true,bid,1.4,2\nx,BTCUSDT,30,40,true,ask,1.6,3\n"
                  "x,BTCUSDT,50,60,false,ask,1.65,0\n")
    trades = _write(tmp_path / "trades.csv", "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
                    "x,BTCUSDT,35,40,77,sell,1.4,0.5\nx,BTCUSDT,55,60,abc,buy,1.6,1\n")
    md = open_market_data([book, trades])
    assert (md.instrument.tick_size, md.instrument.lot_size) == ("0.01", "0.1")
    got = [tuple(int(e[f]) for f in ("exch_ts", "local_ts", "kind", "side", "price", "qty", "order_id", "seq",
                                      "flags")) for e in md.events]
    us = 1000
    assert got == [
        (10 * us, 20 * us, EV_LEVEL_SET, BUY, 150, 10, 0, 2, FLAG_EOM),
        (35 * us, 40 * us, EV_TRADE, SELL, 140, 5, 77, 2, FLAG_EOM),
        (30 * us, 40 * us, EV_CLEAR, 0, 0, 0, 0, 3, 0),
        (30 * us, 40 * us, EV_SNAPSHOT_LEVEL, BUY, 140, 20, 0, 3, 0),
        (30 * us, 40 * us, EV_SNAPSHOT_LEVEL, SELL, 160, 30, 0, 4, FLAG_EOM),
        (55 * us, 60 * us, EV_TRADE, BUY, 160, 10, 3, 3, FLAG_EOM),  # a text id: the row's line
        (50 * us, 60 * us, EV_LEVEL_SET, SELL, 165, 0, 0, 5, FLAG_EOM),
    ]


SNAP2 = ("exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,"
         "asks[1].price,asks[1].amount,bids[1].price,bids[1].amount\n")


def test_tardis_snapshot_events_by_hand(tmp_path):
    """book_snapshot_2: the first row a CLEAR, then each level with a price and a positive amount, bids before asks
    at each depth; each later row its change from the row before (the prices gone set to 0, bids then asks, best
    first; then the prices new or resized); a blank or a zero amount is no level; the row's last event ends its
    message, and a row that changes nothing is one EV_TICKER of its best bid (else ask; side 0 when empty)."""
    p = _write(tmp_path / "snap.csv", SNAP2 + "x,ETHUSDT,10,20,2.5,1,2.4,2,2.6,3,2.3,4\n"
                                              "x,ETHUSDT,30,40,2.5,0.5,2.4,0,,,2.2,1\n"
                                              "x,ETHUSDT,50,60,,,,,,,,\n"
                                              "x,ETHUSDT,70,80,,,,,,,,\n"
                                              "x,ETHUSDT,90,95,2.5,1,2.4,2,,,,\n"
                                              "x,ETHUSDT,96,97,2.5,1,2.4,2,,,,\n")
    got = [tuple(int(e[f]) for f in ("exch_ts", "local_ts", "kind", "side", "price", "qty", "seq", "flags"))
           for e in open_market_data([p]).events]
    us = 1000
    assert got == [
        (10 * us, 20 * us, EV_CLEAR, 0, 0, 0, 2, 0),
        (10 * us, 20 * us, EV_SNAPSHOT_LEVEL, BUY, 24, 20, 2, 0),
        (10 * us, 20 * us, EV_SNAPSHOT_LEVEL, SELL, 25, 10, 2, 0),
        (10 * us, 20 * us, EV_SNAPSHOT_LEVEL, BUY, 23, 40, 2, 0),
        (10 * us, 20 * us, EV_SNAPSHOT_LEVEL, SELL, 26, 30, 2, FLAG_EOM),
        (30 * us, 40 * us, EV_LEVEL_SET, BUY, 24, 0, 3, 0),  # gone (a zero amount is no level)
        (30 * us, 40 * us, EV_LEVEL_SET, BUY, 23, 0, 3, 0),
        (30 * us, 40 * us, EV_LEVEL_SET, SELL, 26, 0, 3, 0),  # gone (blank)
        (30 * us, 40 * us, EV_LEVEL_SET, BUY, 22, 10, 3, 0),  # new
        (30 * us, 40 * us, EV_LEVEL_SET, SELL, 25, 5, 3, FLAG_EOM),  # resized
        (50 * us, 60 * us, EV_LEVEL_SET, BUY, 22, 0, 4, 0),  # no level at all: every one gone
        (50 * us, 60 * us, EV_LEVEL_SET, SELL, 25, 0, 4, FLAG_EOM),
        (70 * us, 80 * us, EV_TICKER, 0, 0, 0, 5, FLAG_EOM),  # line 5 changes nothing: one informational event
        (90 * us, 95 * us, EV_LEVEL_SET, BUY, 24, 20, 6, 0),
        (90 * us, 95 * us, EV_LEVEL_SET, SELL, 25, 10, 6, FLAG_EOM),
        (96 * us, 97 * us, EV_TICKER, BUY, 24, 20, 7, FLAG_EOM),
    ]
    bad = _write(tmp_path / "bad.csv", SNAP2 + "x,ETHUSDT,10,20,2.5,1,2.4,2,2.6,3,2.3,4\n"
                                               "x,ETHUSDT,30,40,2.5,1,2.4,2,2.6,3,nan,4\n")
    with pytest.raises(DataValidationError) as e:
        open_market_data([bad])
    assert str(e.value) == f"{bad}: row 3, field 'bids[1].price': expected a number, was 'nan'"


def test_tardis_bad_header_and_mixed_symbols(tmp_path):
    p = _write(tmp_path / "x.csv", "exchange,symbol,timestamp,local_timestamp,foo,bar\nx,Y,1,2,3,4\n")
    with pytest.raises(DataValidationError, match="row 1: expected the columns of incremental_book_L2"):
        open_market_data([p])
    a = _write(tmp_path / "a.csv", HEAD + "x,BTCUSDT,1,2,false,bid,1.5,1\n")
    b = _write(tmp_path / "b.csv", HEAD + "x,ETHUSDT,1,2,false,bid,1.5,1\n")
    with pytest.raises(DataValidationError, match="expected one symbol across the Tardis files"):
        open_market_data([a, b])
    mixed = _write(tmp_path / "m.csv", HEAD + "x,BTCUSDT,1,2,false,bid,1.5,1\nx,ETHUSDT,1,2,false,bid,1.5,1\n")
    with pytest.raises(DataValidationError, match=r"expected one symbol .*\['BTCUSDT', 'ETHUSDT'\]"):
        open_market_data([mixed])
    gz = tmp_path / "c.csv.gz"
    gz.write_bytes(gzip.compress((HEAD + "x,BTCUSDT,1,2,false,bid,1.5,1\n").encode())[:-8])  # truncated
    with pytest.raises(DataValidationError):
        open_market_data([gz], fmt="tardis")


def test_hftbacktest_bad_files(tmp_path):
    arr = np.zeros(3, vs.HFTBT_DTYPE)
    arr["ev"] = [vs.EXCH | vs.LOCAL | 1 | vs.BUYF, vs.EXCH | vs.LOCAL | 10 | vs.BUYF, 0]
    arr["px"], arr["qty"] = 1.5, 1.0
    np.savez_compressed(tmp_path / "l3.npz", data=arr)
    with pytest.raises(DataValidationError, match=r"l3.npz: row 1, field 'ev': expected a market-by-order event "
                                                  r"kind \[2, 3, 10, 11, 12, 13\] \(a file of order events holds "
                                                  r"no depth events\), was 1"):
        open_market_data([tmp_path / "l3.npz"])
    np.savez_compressed(tmp_path / "other.npz", data=np.zeros(3, [("a", "<f8")]))
    with pytest.raises(DataValidationError, match="expected hftbacktest's 64-byte event dtype"):
        open_market_data([tmp_path / "other.npz"])


def test_dbn_truncated(files, tmp_path):
    raw = files["dbn_mbo"].read_bytes()
    p = tmp_path / "cut.dbn"
    p.write_bytes(raw[:-10])
    with pytest.raises(DataValidationError, match="expected whole mbo records of 56 bytes"):
        open_market_data([p])


def test_dbn_mbo_record_count_is_bounded(files, monkeypatch):
    """The compiled walk sums an order's fills (u32 sizes): fewer than 2**31 records keep every sum in int64, and
    a file past the bound is refused before the walk (here the bound lowered to the file's records minus one)."""
    from hft.data import dbn

    n = len(dbn.read_dbn(files["dbn_mbo"])[2])
    monkeypatch.setattr(dbn, "MAX_MBO_RECORDS", n - 1)
    with pytest.raises(DataValidationError, match=f"expected at most {n - 1} MBO records in one file, it holds {n}"):
        open_market_data([files["dbn_mbo"]])


def test_table_errors(files, tmp_path):
    p = _write(tmp_path / "t.csv", "ts,recv,type,side,px,size,id\n1,2,S,B,99.95,1,\n3,4,L,B,99.97,1,\n")
    _write(tmp_path / "t.mapping.yaml", vs.MAPPING.replace("0.1", "0.05"))
    with pytest.raises(DataValidationError, match=r"t.csv: row 3, field 'px': expected a multiple of 0.05, "
                                                  r"was '99.97'"):
        open_market_data([p])
    q = _write(tmp_path / "u.csv", "ts,recv,type,side,px,size,id\n1,2,Q,B,1.0,1,\n")
    with pytest.raises(DataValidationError, match=r"u.csv: row 2, field 'type': expected one of the mapped kinds"):
        open_market_data([q], mapping=tmp_path / "t.mapping.yaml")
    bad = _write(tmp_path / "bad.yaml", vs.MAPPING + "extra: 1\n")
    with pytest.raises(ConfigError, match="extra"):
        open_market_data([q], mapping=bad)
    no_kind = _write(tmp_path / "nokind.yaml", vs.MAPPING.replace(" kind: type,", ""))
    with pytest.raises(ConfigError) as e:  # a required key missing says so, not Python's None
        open_market_data([q], mapping=no_kind)
    assert e.value.message == f"{no_kind}: key 'columns.kind': expected a value, was missing (a required key)"
    wrong = _write(tmp_path / "wrong.yaml", vs.MAPPING.replace("price: px", "price: price"))
    with pytest.raises(DataValidationError) as e:  # a column the table lacks: the table, the mapping and its key
        open_market_data([q], mapping=wrong)
    assert e.value.message.startswith(f"{q}: expected the column 'price' that {wrong} maps at key 'columns.price', "
                                      "the table has ['ts', 'recv', 'type'")
    with pytest.raises(DataValidationError, match="none recognised its content"):
        open_market_data([_write(tmp_path / "plain.csv", "a,b\n1,2\n")])
    with pytest.raises(DataValidationError, match=r"--format: expected one of \['events', 'lobster'"):
        open_market_data([q], fmt="nope")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(st.integers(0, 6), max_size=12), st.integers(0, 2)), min_size=1, max_size=4),
       st.booleans())
def test_merge_order_is_local_time_then_priority_then_own_order(streams, sort_each):
    """`merge_order`'s fast path (distinct priorities: a stable sort of the streams laid out by priority) and its
    general path give the rule's order: local time, then the lower priority, then each stream's own order; one
    stream keeps its order (sorted or not)."""
    from hft.data._convert import merge_order

    local = [np.array(sorted(ts) if sort_each else ts, np.int64) for ts, _ in streams]
    prio = [p for _, p in streams]
    got = merge_order(local, prio)
    if len(local) == 1:
        assert got.tolist() == list(range(len(local[0])))
        return
    rows = [(int(t), p, j, k) for k, (ts, p) in enumerate(zip(local, prio, strict=True)) for j, t in enumerate(ts)]
    starts = np.concatenate([[0], np.cumsum([len(x) for x in local])[:-1]])
    want = [int(starts[k]) + j for _, _, j, k in sorted(rows)]  # (time, priority, own index, stream)
    assert got.tolist() == want


def _decimals_by_definition(values: np.ndarray) -> int:
    """The rule as first written (numpy, unique values): the least d <= 9 with every finite value exact at d."""
    v = np.unique(np.abs(values[np.isfinite(values)]))
    with np.errstate(over="ignore", invalid="ignore"):  # a huge value overflows to inf: never exact
        for d in range(10):
            x = v * 10.0**d
            if not len(x) or np.all(np.abs(x - np.rint(x)) <= 1e-6 * np.maximum(1.0, x * 1e-9)):
                return d
    return -1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.tuples(st.integers(-10**12, 10**12), st.integers(0, 11)).map(lambda t: t[0] / 10**t[1]),
                          st.floats(allow_nan=True, allow_infinity=True, width=64)), max_size=30))
def test_decimals_needed_is_the_rule(values):
    """`decimals_needed` (one compiled pass) gives what the rule's definition gives: decimal text of 0-11 places,
    any float, NaN and infinities (skipped); past 9 places the one-line error."""
    from hft.data._convert import decimals_needed

    arr = np.array(values, np.float64)
    want = _decimals_by_definition(arr)
    if want < 0:
        with pytest.raises(DataValidationError, match=r"^f\.csv: price: expected decimals with at most 9 places"):
            decimals_needed(arr, what="price", file="f.csv")
    else:
        assert decimals_needed(arr, what="price", file="f.csv") == want


def _mbo_records(rows):
    import databento_dbn as d

    rec = np.zeros(len(rows), dtype=np.dtype(list(d.MBOMsg._dtypes)))
    for i, (action, side, px, size, oid, flags) in enumerate(rows):
        rec[i]["ts_event"], rec[i]["ts_recv"] = 1_000 + i, 2_000 + i
        rec[i]["action"], rec[i]["side"], rec[i]["price"] = action, side, px * 10**9
        rec[i]["size"], rec[i]["order_id"], rec[i]["flags"] = size, oid, flags
    return rec


def test_dbn_mbo_walk_of_every_action(tmp_path):
    """Every MBO action through the compiled walk (`hft.data._dbn_mbo`), against events worked out by hand: a
    partial cancel keeps the order, a modify is a delete of what rests then an add, a fill ends it (the trade in
    its event prints nothing: the fill is the print), ``N`` marks the end of the message on the last event, ``R``
    forgets every order."""
    from hft.core.dtypes import BUY, EV_ADD, EV_CANCEL, EV_DELETE, EV_EXEC, SELL
    from hft.data.dbn import _mbo

    last = 128
    rec = _mbo_records([(b"A", b"B", 100, 5, 1, last), (b"A", b"A", 101, 3, 2, last), (b"C", b"B", 100, 2, 1, last),
                        (b"M", b"B", 99, 4, 1, last), (b"F", b"A", 101, 3, 2, 0), (b"T", b"B", 101, 3, 9, 0),
                        (b"N", b"N", 0, 0, 0, last), (b"R", b"N", 0, 0, 0, last), (b"A", b"A", 102, 1, 2, last)])
    ev = _mbo(tmp_path / "x.dbn", rec, 10**9, 100)
    got = [(int(e["kind"]), int(e["price"]), int(e["qty"]), int(e["order_id"]), int(e["side"]), int(e["seq"]),
            bool(e["flags"] & FLAG_EOM), int(e["exch_ts"]), int(e["local_ts"])) for e in ev]
    assert got == [
        (EV_ADD, 100, 5, 1, BUY, 1, True, 1000, 2000), (EV_ADD, 101, 3, 2, SELL, 2, True, 1001, 2001),
        (EV_CANCEL, 100, 2, 1, BUY, 3, True, 1002, 2002),
        (EV_DELETE, 100, 3, 1, BUY, 4, False, 1003, 2003), (EV_ADD, 99, 4, 1, BUY, 4, True, 1003, 2003),
        (EV_EXEC, 101, 3, 2, SELL, 5, True, 1004, 2004),
        (EV_CLEAR, 0, 0, 0, 0, 8, True, 1007, 2007), (EV_ADD, 102, 1, 2, SELL, 9, True, 1008, 2008)]
    # after the clear no order rests: a modify of order 1 is refused, naming its record (from 1) and its byte offset
    # (the first record's, 100 here, + 56 bytes a record); so is an unknown action, and a step back in ts_recv
    with pytest.raises(DataValidationError, match=r"x\.dbn: record 9 \(byte 548\), field 'order_id': expected a "
                                                  r"modify of a resting order"):
        modify = _mbo_records([(b"M", b"B", 99, 4, 1, last)])
        modify["ts_recv"] = 3_000  # after the clear's time
        _mbo(tmp_path / "x.dbn", np.concatenate([rec[:8], modify]), 10**9, 100)
    with pytest.raises(DataValidationError, match=r"record 2 \(byte 156\), field 'action': expected one of A, C, M, "
                                                  r"F, T, R, N, was 'X'"):
        _mbo(tmp_path / "x.dbn", _mbo_records([(b"A", b"B", 100, 5, 1, last), (b"X", b"B", 1, 1, 1, 0)]), 10**9, 100)
    back = rec.copy()
    back["ts_recv"][8] = 2005  # the add after the clear (record 9) received before the clear (2007); N gives none
    back["ts_recv"][6] = 1  # the N record (7) gives no events: its time is not held to the order
    with pytest.raises(DataValidationError) as e:
        _mbo(tmp_path / "x.dbn", back, 10**9, 100)
    assert str(e.value) == (f"{tmp_path / 'x.dbn'}: record 9 (byte 548), field 'ts_recv': expected records in time "
                            "order (>= 2007, the time of the events before it), was 2005")
    assert (e.value.fields["record"], e.value.fields["offset"], e.value.fields["field"]) == (9, 548, "ts_recv")


def _rows(ev):
    return [(int(e["kind"]), int(e["price"]), int(e["qty"]), int(e["order_id"]), int(e["side"]), int(e["seq"]),
             bool(e["flags"] & FLAG_EOM)) for e in ev]


def test_dbn_mbo_trade_is_one_print_and_one_reduction(tmp_path):
    """Databento sends a trade as T (aggressor), F (the resting order filled) and C (its filled size: the record
    that updates the book): the F is the one execution (the order shrinks once, one print), the C after it gives
    nothing, the T in the F's event gives nothing, and the end-of-message mark moves to the F."""
    from hft.core.dtypes import BUY, EV_ADD, EV_CANCEL, EV_EXEC, SELL
    from hft.data.dbn import _mbo

    last = 128
    rec = _mbo_records([(b"A", b"A", 101, 150, 4, last),
                        (b"T", b"B", 101, 50, 0, 0), (b"F", b"A", 101, 50, 4, 0), (b"C", b"A", 101, 50, 4, last)])
    ev = _mbo(tmp_path / "x.dbn", rec, 10**9, 100)
    assert _rows(ev) == [(EV_ADD, 101, 150, 4, SELL, 1, True), (EV_EXEC, 101, 50, 4, SELL, 3, True)]
    assert _final_book(ev, l3=True) == [[101, 100]]  # 100 rest (not 50)
    # a cancel larger than what the fill left pending cancels the excess; a later cancel is a cancel again
    rec2 = _mbo_records([(b"A", b"A", 101, 150, 4, last), (b"F", b"A", 101, 50, 4, 0), (b"C", b"A", 101, 70, 4, last),
                         (b"C", b"A", 101, 30, 4, last)])
    assert _rows(_mbo(tmp_path / "x.dbn", rec2, 10**9, 100)) == [
        (EV_ADD, 101, 150, 4, SELL, 1, True), (EV_EXEC, 101, 50, 4, SELL, 2, False),
        (EV_CANCEL, 101, 20, 4, SELL, 3, True), (EV_CANCEL, 101, 30, 4, SELL, 4, True)]
    # a trade with no fill in its event (hidden liquidity) prints, side = aggressor
    hidden = _mbo_records([(b"A", b"A", 101, 150, 4, last), (b"T", b"B", 100, 7, 0, last)])
    assert _rows(_mbo(tmp_path / "x.dbn", hidden, 10**9, 100))[1] == (EV_TRADE, 100, 7, 0, BUY, 2, True)


def _hftbt_from_dbn_mbo(rec: np.ndarray, path: Path) -> Path:
    """An hftbacktest market-by-order file of Databento MBO records, written as hftbacktest's documented Databento
    converter writes one: action A/C/M/F/T/R -> event 10/11/12/13/2/3, side B/A -> BUY_EVENT / SELL_EVENT,
    ``price`` (1e-9) -> px, ``size`` -> qty, ``flags`` -> ival; EXCH_EVENT | LOCAL_EVENT on each."""
    code = {b"A": 10, b"C": 11, b"M": 12, b"F": 13, b"T": 2, b"R": 3}
    keep = rec["action"] != b"N"  # the converter has no event for N
    r = rec[keep]
    arr = np.zeros(len(r), vs.HFTBT_DTYPE)
    arr["ev"] = [vs.EXCH | vs.LOCAL | code[a] | {b"B": vs.BUYF, b"A": vs.SELLF}.get(sd, 0)
                 for a, sd in zip(r["action"], r["side"], strict=True)]
    arr["exch_ts"], arr["local_ts"] = r["ts_event"], r["ts_recv"]
    arr["px"], arr["qty"], arr["order_id"], arr["ival"] = r["price"] / 1e9, r["size"], r["order_id"], r["flags"]
    np.savez_compressed(path, data=arr)
    return path


def _same_events_but_numbering(a: np.ndarray, b: np.ndarray) -> None:
    assert len(a) == len(b) > 0
    for col in ("exch_ts", "local_ts", "kind", "side", "price", "qty", "order_id", "flags"):
        assert np.array_equal(a[col], b[col]), col


def test_hftbacktest_mbo_reads_as_the_dbn_mbo_it_was_converted_from(files, tmp_path):
    """hftbacktest's market-by-order events (10-13) are Databento's MBO records one for one: the same events, the
    same L3 instrument, the same final book."""
    from hft.data.dbn import read_dbn

    _, _, rec, _ = read_dbn(files["dbn_mbo"])
    npz = _hftbt_from_dbn_mbo(rec, tmp_path / "aapl_20240809.npz")
    dbn, bt = open_market_data([files["dbn_mbo"]]), open_market_data([npz])
    _same_events_but_numbering(dbn.events, bt.events)
    assert (bt.instrument.book_level, bt.instrument.tick_size, bt.instrument.lot_size) == ("L3", "0.01", "1")
    assert _final_book(bt.events, l3=True) == _final_book(dbn.events, l3=True)


def test_hftbacktest_mbo_walk_by_hand(tmp_path):
    """A fill and its trade print once and shrink the order once; the cancel after the fill takes only what the
    fill left; a modify is a delete and an add. Without Databento's F_LAST in ``ival``, a message is the run of
    events with equal times."""
    from hft.core.dtypes import EV_ADD, EV_CANCEL, EV_DELETE, EV_EXEC

    rows = [  # (code, side flag, exch_ts, px, qty, order_id): times step at each message
        (10, vs.SELLF, 1, 10.1, 150, 4), (10, vs.BUYF, 2, 10.0, 5, 7),
        (2, vs.BUYF, 3, 10.1, 50, 0), (13, vs.SELLF, 3, 10.1, 50, 4), (11, vs.SELLF, 3, 10.1, 70, 4),
        (12, vs.BUYF, 4, 9.9, 6, 7)]
    arr = np.zeros(len(rows), vs.HFTBT_DTYPE)
    for i, (code, flag, t, px, qty, oid) in enumerate(rows):
        arr[i] = (vs.EXCH | vs.LOCAL | code | flag, t, t + 100, px, qty, oid, 0, 0.0)
    np.savez_compressed(tmp_path / "xyz.npz", data=arr)
    ev = open_market_data([tmp_path / "xyz.npz"]).events
    got = [(int(e["kind"]), int(e["side"]), int(e["price"]), int(e["qty"]), int(e["order_id"]),
            bool(e["flags"] & FLAG_EOM), int(e["seq"])) for e in ev]
    assert got == [(EV_ADD, -1, 101, 150, 4, True, 0), (EV_ADD, 1, 100, 5, 7, True, 1),
                   (EV_EXEC, -1, 101, 50, 4, False, 3), (EV_CANCEL, -1, 101, 20, 4, True, 4),
                   (EV_DELETE, 1, 100, 5, 7, False, 5), (EV_ADD, 1, 99, 6, 7, True, 5)]


def test_hftbacktest_mbo_bad_rows_are_named(tmp_path):
    def write(rows):
        arr = np.zeros(len(rows), vs.HFTBT_DTYPE)
        for i, (ev, px, qty, oid) in enumerate(rows):
            arr[i] = (vs.EXCH | vs.LOCAL | ev, i, i + 100, px, qty, oid, 0, 0.0)
        np.savez_compressed(tmp_path / "bad.npz", data=arr)
        return tmp_path / "bad.npz"

    with pytest.raises(DataValidationError, match=r"bad.npz: row 2, field 'order_id': expected a modify of a "
                                                  r"resting order, was 9"):
        open_market_data([write([(10 | vs.BUYF, 1.0, 1, 1), (12 | vs.BUYF, 1.0, 2, 9)])])
    with pytest.raises(DataValidationError, match=r"row 1, field 'ev': expected BUY_EVENT or SELL_EVENT on an "
                                                  r"order event"):
        open_market_data([write([(10, 1.0, 1, 1)])])
    with pytest.raises(DataValidationError, match=r"row 2, field 'qty': expected a finite number >= 0, was nan"):
        open_market_data([write([(10 | vs.BUYF, 1.0, 1, 1), (11 | vs.BUYF, 1.0, float("nan"), 1)])])
