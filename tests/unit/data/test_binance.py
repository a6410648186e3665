"""Binance capture importer: synchronisation, exact units, multi-file streams, bad input, and the real files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from hft.core.dtypes import (
    BUY,
    EV_CLEAR,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TICKER,
    EV_TRADE,
    FLAG_EOM,
    FLAG_RESYNC,
    SELL,
)
from hft.core.errors import DataGapError, DataValidationError
from hft.data._eventcheck import content_hash
from hft.data.binance import import_binance

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "binance"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared data not present at {SHARED}")

E0 = 1_723_161_256_000  # ms


# --- capture line builders -----------------------------------------------------------------------------------
def _line(ts: int, obj: dict) -> str:
    return f"{ts} {json.dumps(obj, separators=(',', ':'))}"


def depth(ts: int, first: int, last: int, b: list, a: list, pu: int | None = None, sym: str = "BTCUSDT") -> str:
    data = {"e": "depthUpdate", "E": E0 + ts, "T": E0 + ts, "s": sym, "U": first, "u": last}
    if pu is not None:
        data["pu"] = pu
    data.update({"b": b, "a": a})
    return _line(ts, {"stream": f"{sym.lower()}@depth@0ms", "data": data})


def snapshot(ts: int, lid: int, bids: list, asks: list) -> str:
    return _line(ts, {"lastUpdateId": lid, "E": E0 + ts, "T": E0 + ts, "bids": bids, "asks": asks})


def trade(ts: int, tid: int, p: str, q: str, maker: bool, sym: str = "BTCUSDT") -> str:
    return _line(ts, {"stream": f"{sym.lower()}@trade", "data": {
        "e": "trade", "E": E0 + ts + 1, "T": E0 + ts, "s": sym, "t": tid, "p": p, "q": q, "X": "MARKET",
        "m": maker}})


def ticker(ts: int, u: int, b: str, bq: str, a: str, aq: str, sym: str = "BTCUSDT") -> str:
    return _line(ts, {"stream": f"{sym.lower()}@bookTicker", "data": {
        "e": "bookTicker", "u": u, "s": sym, "b": b, "B": bq, "a": a, "A": aq, "T": E0 + ts, "E": E0 + ts}})


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def usdm_lines() -> list[str]:
    """A small usdm stream: a dropped and a spanning buffered diff, the snapshot, a trade, a diff, a ticker."""
    return [
        depth(1000, 90, 95, [["99.90", "9.000"]], [], pu=80),  # u <= lastUpdateId: dropped
        depth(1001, 96, 105, [["99.80", "3.000"]], [], pu=95),  # spans lastUpdateId + 1: first applied
        snapshot(1002, 100, [["100.00", "1.000"], ["99.90", "2.000"]], [["100.10", "1.500"]]),
        trade(1003, 7, "100.00", "0.005", maker=True),
        depth(1004, 107, 110, [["100.00", "0.000"]], [["100.20", "0.100"]], pu=105),
        ticker(1005, 110, "99.90", "2.000", "100.10", "1.500"),
    ]


# --- behaviour -----------------------------------------------------------------------------------------------
def test_usdm_stream_synchronises_and_converts_exactly(tmp_path: Path) -> None:
    d = import_binance([write(tmp_path / "usdm" / "btcusdt_20240808.gz", usdm_lines())])
    ev = d.events
    assert not ev.flags.writeable
    assert (d.instrument.venue, d.instrument.tick_size, d.instrument.lot_size) == ("BINANCE_USDM", "0.10", "0.001")
    rows = [(int(e["kind"]), int(e["side"]), int(e["price"]), int(e["qty"]), int(e["seq"]), int(e["flags"]))
            for e in ev]
    kinds = [r[0] for r in rows]
    assert kinds == [EV_CLEAR, EV_SNAPSHOT_LEVEL, EV_SNAPSHOT_LEVEL, EV_SNAPSHOT_LEVEL, EV_LEVEL_SET, EV_TRADE,
                     EV_LEVEL_SET, EV_LEVEL_SET, EV_TICKER, EV_TICKER]
    assert rows[4] == (EV_LEVEL_SET, BUY, 998, 3000, 105, FLAG_EOM)
    assert rows[5] == (EV_TRADE, SELL, 1000, 5, 7, FLAG_EOM)  # buyer is maker → SELL aggressor
    assert ev[5]["order_id"] == 7 and ev[5]["exch_ts"] == (E0 + 1003) * 1_000_000  # trade time T
    assert rows[6:8] == [(EV_LEVEL_SET, BUY, 1000, 0, 110, 0), (EV_LEVEL_SET, SELL, 1002, 100, 110, FLAG_EOM)]
    assert rows[8:] == [(EV_TICKER, BUY, 999, 2000, 110, 0), (EV_TICKER, SELL, 1001, 1500, 110, FLAG_EOM)]
    # the buffered diff is applied when the snapshot arrives: local time raised, exchange time kept
    assert ev[4]["local_ts"] == 1002 and ev[4]["exch_ts"] == (E0 + 1001) * 1_000_000
    assert d.meta["dropped_diffs"] == 1 and d.meta["buffered_diffs"] == 2 and d.meta["gaps"] == 0


def test_spot_continuity_and_two_files_as_one_stream(tmp_path: Path) -> None:
    day1 = [snapshot(10, 100, [["10.00", "1.00000000"]], [["10.01", "1.00000000"]]),
            depth(11, 101, 103, [["10.00", "2.00000000"]], [], sym="ETHUSDT")]
    day2 = [depth(12, 104, 104, [], [["10.02", "0.50000000"]], sym="ETHUSDT"),
            ticker(13, 104, "10.00", "2", "10.01", "1", sym="ETHUSDT")]
    p1 = write(tmp_path / "spot" / "ethusdt_20240808.gz", day1)
    p2 = write(tmp_path / "spot" / "ethusdt_20240809.gz", day2)
    d = import_binance([p2, p1])  # order comes from the dates in the names
    assert d.instrument.venue == "BINANCE_SPOT" and d.meta["files"] == [str(p1), str(p2)]
    assert d.events["seq"][-3] == 104 and d.events["kind"][-3] == EV_LEVEL_SET
    # a break across the file boundary names the second file and its line
    write(p2, [depth(12, 105, 106, [], [["10.02", "0.5"]], sym="ETHUSDT")])
    with pytest.raises(DataGapError) as exc:
        import_binance([p1, p2])
    assert exc.value.fields["file"] == str(p2) and exc.value.fields["line"] == 1
    assert (exc.value.fields["expected"], exc.value.fields["found"]) == (104, 105)


def test_slow_path_lines_import_like_compact_ones(tmp_path: Path) -> None:
    """Whitespace, other key order and escapes go through json.loads and give the same events."""
    compact = usdm_lines()
    loose = []
    for ln in compact:
        ts, js = ln.split(" ", 1)
        obj = json.loads(js)
        if "data" in obj:
            items = list(obj["data"].items())  # other key order; levels keep their order (bids, asks)
            obj["data"] = dict([kv for kv in reversed(items) if kv[0] not in "ba"] + [kv for kv in items
                                                                                      if kv[0] in "ba"])
            obj["stream"] = obj["stream"].replace("@", "\\u0040")
        loose.append(f"{ts} {json.dumps(obj, indent=None, separators=(', ', ': '))}".replace("\\\\u", "\\u"))
    a = import_binance([write(tmp_path / "a" / "usdm" / "btcusdt_20240808.gz", compact)])
    b = import_binance([write(tmp_path / "b" / "usdm" / "btcusdt_20240808.gz", loose)])
    assert np.array_equal(a.events, b.events)


def test_market_inferred_from_shapes_outside_market_folders(tmp_path: Path) -> None:
    d = import_binance([write(tmp_path / "capture" / "btcusdt_20240808.gz", usdm_lines())])
    assert d.meta["market"] == "usdm" and d.instrument.venue == "BINANCE_USDM"


def test_unknown_symbol_infers_tick_and_lot(tmp_path: Path) -> None:
    lines = [snapshot(1, 10, [["1.2345", "10"]], [["1.2350", "5.5"]]),
             depth(2, 11, 12, [["1.2344", "3"]], [], pu=10, sym="ABCUSDT")]
    d = import_binance([write(tmp_path / "usdm" / "abcusdt_20240808.gz", lines)])
    assert (d.instrument.tick_size, d.instrument.lot_size, d.meta["tick_source"]) == ("0.0001", "0.1", "inferred")
    assert d.events["price"][1] == 12345 and d.events["qty"][2] == 55


def test_allow_gaps_clears_resyncs_and_counts(tmp_path: Path) -> None:
    lines = [*usdm_lines(), depth(1006, 120, 125, [["99.70", "1.000"]], [], pu=115),  # pu != 110: gap
                            depth(1007, 126, 130, [["99.60", "1.000"]], [], pu=125)]
    path = write(tmp_path / "usdm" / "btcusdt_20240808.gz", lines)
    with pytest.raises(DataGapError) as exc:
        import_binance([path])
    assert exc.value.fields["line"] == 7 and (exc.value.fields["expected"], exc.value.fields["found"]) == (110, 115)
    d = import_binance([path], allow_gaps=True)
    ev = d.events
    clear = np.flatnonzero((ev["kind"] == EV_CLEAR) & ((ev["flags"] & FLAG_RESYNC) != 0))
    assert len(clear) == 1 and d.meta["gaps"] == 1 and d.meta["first_gap"]["line"] == 7
    assert ((ev["flags"][clear[0]:] & FLAG_RESYNC) != 0).all()  # everything after the break is flagged
    # a later snapshot resynchronises: diffs after it are no longer flagged
    lines += [snapshot(1008, 128, [["99.60", "1.000"]], [["100.10", "1.000"]]),
              depth(1009, 131, 131, [["99.50", "1.000"]], [], pu=130)]
    d = import_binance([write(path, lines)], allow_gaps=True)
    assert d.meta["gaps"] == 1 and d.events["flags"][-1] == FLAG_EOM and d.events["seq"][-1] == 131


# --- bad input: each is a DataValidationError / DataGapError naming file, line, expected and found --------------
def _bad(tmp_path: Path, content: bytes | list[str], name: str = "btcusdt_20240808.gz") -> DataValidationError:
    path = tmp_path / "usdm" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, list):
        write(path, content)
    else:
        path.write_bytes(content)
    with pytest.raises((DataValidationError, DataGapError)) as exc:
        import_binance([path])
    err = exc.value
    assert err.fields["file"] == str(path) and "line" in err.fields, err.fields
    assert str(path) in str(err) and "expected" in str(err) and ("found" in str(err) or ", was " in str(err))
    return err


def test_gzip_garbage(tmp_path: Path) -> None:
    assert _bad(tmp_path, b"this is not gzip at all\n").fields["line"] == 1


def test_truncated_gzip_names_the_breaking_line(tmp_path: Path) -> None:
    full = gzip.compress(("\n".join(usdm_lines() * 50) + "\n").encode(), compresslevel=1)
    err = _bad(tmp_path, full[: len(full) // 2])
    assert err.fields["line"] > 1


def test_json_that_does_not_parse(tmp_path: Path) -> None:
    lines = usdm_lines()
    lines[3] = lines[3][:-5]
    assert _bad(tmp_path, lines).fields["line"] == 4


def test_line_without_timestamp_prefix(tmp_path: Path) -> None:
    lines = usdm_lines()
    lines[2] = lines[2].split(" ", 1)[1]
    assert _bad(tmp_path, lines).fields["line"] == 3


def test_file_without_snapshot(tmp_path: Path) -> None:
    _bad(tmp_path, [ln for ln in usdm_lines() if "lastUpdateId" not in ln])


def test_empty_file_and_empty_capture(tmp_path: Path) -> None:
    _bad(tmp_path, b"")
    _bad(tmp_path, gzip.compress(b""), name="ethusdt_20240808.gz")


def test_sequence_break(tmp_path: Path) -> None:
    lines = usdm_lines()
    lines[4] = depth(1004, 107, 110, [["100.00", "0.000"]], [], pu=104)
    err = _bad(tmp_path, lines)
    assert isinstance(err, DataGapError) and err.fields["line"] == 5


def test_missing_spanning_diff_is_a_gap(tmp_path: Path) -> None:
    lines = usdm_lines()
    del lines[1]  # the buffered diff that spans lastUpdateId + 1
    err = _bad(tmp_path, lines)
    assert isinstance(err, DataGapError) and (err.fields["expected"], err.fields["found"]) == (100, 105)


def test_price_not_on_tick(tmp_path: Path) -> None:
    lines = usdm_lines()
    lines[4] = depth(1004, 107, 110, [["100.05", "1.000"]], [], pu=105)
    err = _bad(tmp_path, lines)
    assert err.fields["line"] == 5 and err.fields["found"] == "100.05"
    assert str(err) == (f"{err.fields['file']}: row 5, field 'b': expected a price that is a multiple of 0.10, "
                        "was '100.05'")
    lines[4] = trade(1004, 8, "100.00", "0.0005", maker=False)
    assert str(_bad(tmp_path, lines)).endswith(": row 5, field 'q': expected a quantity that is a multiple of "
                                               "0.001, was '0.0005'")


@pytest.mark.parametrize(("qty", "units"), [
    ("92233720368.5477580", 9_223_372_036_854_775_800),  # the largest 18-digit quantity whose lots fit int64
    ("0092233720368.54775807", None),  # 19 significant digits: refused before any sum (leading zeros aside)
    ("92233720368.5477581", None),  # 9223372036854775810 lots: past int64, refused before the multiply
    ("999999999999999999", None),  # 10**26 lots
    ("0.00000000000000000000", 0),  # zero with any number of decimals
])
def test_quantities_at_the_int64_edge_of_their_lots(tmp_path: Path, qty: str, units: int | None) -> None:
    """Spot lots are 1e-8: a quantity becomes lots exactly while they fit int64, and is refused naming its line,
    field and text when not (never a wrapped product: a signed overflow is undefined behaviour in numba)."""
    lines = [snapshot(10, 100, [["10.00", "1.00000000"]], [["10.01", "1.00000000"]]),
             ticker(11, 101, "10.00", qty, "10.01", "1")]
    path = write(tmp_path / "spot" / "btcusdt_20240808.gz", lines)
    if units is not None:
        assert import_binance([path]).events["qty"][-2] == units
        return
    with pytest.raises(DataValidationError) as exc:
        import_binance([path])
    assert exc.value.fields["line"] == 2 and exc.value.fields.get("key", "B") == "B", str(exc.value)
    if qty != "0092233720368.54775807":
        assert str(exc.value) == (f"{path}: row 2, field 'B': expected a quantity of at most 9223372036854775807 x "
                                  f"0.00000001, was '{qty}'")


@pytest.mark.parametrize(("e_ms", "ok"), [(9_223_372_036_854, True), (9_223_372_036_855, False)])
def test_exchange_times_whose_nanoseconds_do_not_fit_int64_are_refused(tmp_path: Path, e_ms: int, ok: bool) -> None:
    lines = usdm_lines()
    lines[4] = lines[4].replace(f'"E":{E0 + 1004}', f'"E":{e_ms}')
    path = write(tmp_path / "usdm" / "btcusdt_20240808.gz", lines)
    if ok:
        assert import_binance([path]).events["exch_ts"][6] == e_ms * 1_000_000
        return
    with pytest.raises(DataValidationError) as exc:
        import_binance([path])
    assert str(exc.value) == (f"{path}: row 5, field 'E': expected an exchange time in ms up to 9223372036854 "
                              f"(int64 nanoseconds), was '{e_ms}'")


@pytest.mark.parametrize(("i", "line"), [
    (3, trade(1001, 7, "100.00", "0.005", maker=True)),  # a trade before the snapshot's time
    (4, depth(900, 107, 110, [["100.00", "0.000"]], [["100.20", "0.100"]], pu=105)),  # a diff
    (5, ticker(1003, 110, "99.90", "2.000", "100.10", "1.500")),  # a ticker before the diff's time
])
def test_a_line_back_in_local_time_is_named_by_its_line(tmp_path: Path, i: int, line: str) -> None:
    """The stream's events must keep local time order; the line that breaks it is named, with the time written
    (was: 'event N: events out of time order', counted in events, from the check of the whole stream)."""
    lines = usdm_lines()
    lines[i] = line
    err = _bad(tmp_path, lines)
    ts = line.split(" ", 1)[0]
    before = {3: 1002, 4: 1003, 5: 1004}[i]  # the buffered diff is applied at the snapshot's time (1002)
    assert str(err) == (f"{err.fields['file']}: row {i + 1}, field 'local_receive_ts_ns': expected lines in local "
                        f"time order (>= {before}, the stream's time before it), was '{ts}'")
    assert err.fields["line"] == i + 1 and err.exit_code == 12


def test_a_line_back_in_time_across_two_files_names_the_second(tmp_path: Path) -> None:
    a = write(tmp_path / "usdm" / "btcusdt_20240808.gz", usdm_lines())
    b = write(tmp_path / "usdm" / "btcusdt_20240809.gz", [trade(2000, 8, "100.00", "0.005", maker=True),
                                                          trade(1004, 9, "100.00", "0.005", maker=True)])
    with pytest.raises(DataValidationError) as exc:
        import_binance([b, a])
    assert str(exc.value).startswith(f"{b}: row 2, field 'local_receive_ts_ns': expected lines in local time "
                                     "order (>= 2000, ")


def test_lines_that_give_no_events_may_step_back(tmp_path: Path) -> None:
    """Only events are held to local time order, as before: a trade that is not a market trade gives none."""
    lines = usdm_lines()
    lines.insert(4, _line(5, {"stream": "btcusdt@trade", "data": {
        "e": "trade", "E": E0 + 6, "T": E0 + 5, "s": "BTCUSDT", "t": 8, "p": "100.00", "q": "0.005",
        "X": "INSURANCE_FUND", "m": True}}))
    d = import_binance([write(tmp_path / "usdm" / "btcusdt_20240808.gz", lines)])
    assert d.meta["trades_non_market_skipped"] == 1 and len(d.events) > 0


def test_unknown_message_and_wrong_symbol(tmp_path: Path) -> None:
    lines = usdm_lines()
    lines[3] = _line(1003, {"stream": "btcusdt@aggTrade", "data": {"e": "aggTrade", "E": 1, "s": "BTCUSDT"}})
    assert _bad(tmp_path, lines).fields["line"] == 4
    lines = usdm_lines()
    lines[3] = trade(1003, 7, "100.00", "0.005", maker=True, sym="ETHUSDT")
    assert _bad(tmp_path, lines, name="btcusdt_20240809.gz").fields["line"] == 4


def test_files_of_different_symbols(tmp_path: Path) -> None:
    a = write(tmp_path / "usdm" / "btcusdt_20240808.gz", usdm_lines())
    b = write(tmp_path / "usdm" / "ethusdt_20240808.gz", usdm_lines())
    with pytest.raises(DataValidationError, match="one symbol") as exc:
        import_binance([a, b])
    assert exc.value.fields["file"] == str(a)


# --- the shipped captures -----------------------------------------------------------------------------------
STREAMS = {
    "usdm-btc": (["usdm/btcusdt_20240808.gz"], 443_521, 21_313),
    "usdm-eth": (["usdm/ethusdt_20240808.gz"], 428_662, 14_076),
    "spot-btc": (["spot/btcusdt_20240808.gz", "spot/btcusdt_20240809.gz"], 124_090 + 174_021, 9_757 + 10_147),
    "spot-eth": (["spot/ethusdt_20240808.gz", "spot/ethusdt_20240809.gz"], 106_814 + 165_950, 6_106 + 8_409),
    "cm-btc": (["cm/btcusd_perp_20240808.gz", "cm/btcusd_perp_20240809.gz"], 296_013 + 363_658, 2_286 + 2_949),
    "cm-eth": (["cm/ethusd_perp_20240808.gz", "cm/ethusd_perp_20240809.gz"], 193_753 + 244_169, 1_732 + 1_863),
}
# the events' content digests: recorded once, the same on every CPU target the scanner is compiled for
# (.ci/targets runs this on x86-64-v2, v3, v4 and with bounds checks; issue 50's scanner failed on v3 and v4)
PINNED = {"usdm-btc": "xh64:579cd8fc287a99da", "usdm-eth": "xh64:6ec7fdb4821464b7",
          "spot-btc": "xh64:621aa23cadf87f0c", "spot-eth": "xh64:f6249ada8aa4eb7c",
          "cm-btc": "xh64:89f44213867f4fee", "cm-eth": "xh64:275f1fc23eea7822"}


@needs_shared
@pytest.mark.shared_data
@pytest.mark.parametrize("name", list(STREAMS))
def test_shipped_stream_counts(name: str) -> None:
    files, levels, trades = STREAMS[name]
    d = import_binance([SHARED / f for f in files])
    assert d.meta["depth_levels"] == levels and d.meta["messages"]["trade"] == trades
    assert int((d.events["kind"] == EV_TRADE).sum()) == trades
    assert d.meta["gaps"] == 0 and d.meta["snapshots"] == 1
    # book events after sync: snapshot levels + applied diffs' levels; prices are positive integer ticks
    book = (d.events["kind"] == EV_LEVEL_SET) | (d.events["kind"] == EV_SNAPSHOT_LEVEL)
    assert (d.events["price"][book] > 0).all() and (d.events["qty"][book] >= 0).all()
    assert (np.diff(d.events["local_ts"]) >= 0).all()
    assert content_hash(d.events) == PINNED[name]


@needs_shared
@pytest.mark.shared_data
def test_dropping_the_spanning_diff_of_a_real_file_is_a_gap(tmp_path: Path) -> None:
    src = SHARED / "usdm" / "btcusdt_20240808.gz"
    lines = gzip.decompress(src.read_bytes()).decode().splitlines()
    snap_i = next(i for i, ln in enumerate(lines) if "lastUpdateId" in ln)
    lid = json.loads(lines[snap_i].split(" ", 1)[1])["lastUpdateId"]
    spanning = next(i for i, ln in enumerate(lines) if "depthUpdate" in ln
                    and json.loads(ln.split(" ", 1)[1])["data"]["u"] > lid)
    assert spanning < snap_i  # it arrived before the snapshot (buffered)
    del lines[spanning]
    path = write(tmp_path / "usdm" / "btcusdt_20240808.gz", lines)
    with pytest.raises(DataGapError):
        import_binance([path])
    d = import_binance([path], allow_gaps=True)
    assert d.meta["gaps"] >= 1
