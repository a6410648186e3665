"""Tardis.dev files of several days: one continuous stream (`hft.data.tardis`, "Several days").

Tardis's CSV datasets are daily (UTC) and every ``incremental_book_L2`` file starts with a snapshot of the book;
its docs: when a row with ``is_snapshot`` true follows one that is not, reset the book (a connection restart or
the start of a new day). The files here are written in that documented format (`vendor_samples.write_tardis`,
and rows by hand)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from hft.core.dtypes import BUY, EV_CLEAR, EV_LEVEL_SET, EV_SNAPSHOT_LEVEL, EV_TRADE, FLAG_EOM, SELL
from hft.core.errors import DataValidationError
from hft.data.sources import group_days, open_market_data
from tests.unit.data import vendor_samples as vs
from tests.unit.data.test_vendor_formats import _final_book

DAY_US = 86_400_000_000
T0 = vs.T0_US  # 2024-08-09 00:00 UTC
BOOK = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"
TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> list[tuple[Path, Path]]:
    """Three consecutive days, each a book + trades pair of its own market."""
    f = tmp_path_factory.mktemp("tardis_days")
    return [vs.write_tardis(vs.market(150, seed=10 + k), f, day=k) for k in range(3)]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_consecutive_days_are_one_stream(days):
    """Three days of book + trades files, given in any order: one stream (one session), each day's events exactly
    that day's own import, end to end in time order; the instrument of the one exchange and symbol."""
    files = [p for pair in days for p in pair]
    shuffled = [files[5], files[0], files[3], files[2], files[4], files[1]]
    assert group_days(shuffled) == [shuffled]  # one stream: a replay runs it as one session
    chain = open_market_data(shuffled)
    each = [open_market_data(list(pair)).events for pair in days]
    assert np.array_equal(chain.events, np.concatenate(each))
    assert bool((np.diff(chain.events["local_ts"]) >= 0).all())
    assert (chain.instrument.symbol, chain.instrument.venue) == ("BTCUSDT", "TARDIS_BINANCE-FUTURES")
    # each later day begins with its snapshot: a clear, its levels, then that day's updates and trades
    clears = np.flatnonzero(chain.events["kind"] == EV_CLEAR)
    starts = np.cumsum([0] + [len(e) for e in each[:-1]])
    assert list(clears) == list(starts)


def test_the_next_days_snapshot_replaces_the_book(tmp_path):
    """Day 1 ends with levels day 2's snapshot does not hold: after the snapshot's message the book is that
    snapshot exactly (one message: a clear, then its levels, FLAG_EOM on the last), and day 2's updates apply to
    it; the currency is the symbol's quote asset, not a guess."""
    d1, d2 = T0 + DAY_US - 2_000_000, T0 + DAY_US  # day 1's last update 2 s before midnight; day 2 at midnight
    book1 = _write(tmp_path / "book1.csv", BOOK + "".join([
        f"x,SOLUSDT,{T0},{T0 + 5},true,bid,150.00,1\n", f"x,SOLUSDT,{T0},{T0 + 5},true,ask,150.10,2\n",
        f"x,SOLUSDT,{d1},{d1 + 5},false,bid,149.90,4\n",  # a level day 2's snapshot lacks
        f"x,SOLUSDT,{d1},{d1 + 5},false,ask,150.30,3\n"]))
    book2 = _write(tmp_path / "book2.csv", BOOK + "".join([
        f"x,SOLUSDT,{d2},{d2 + 7},true,bid,150.00,6\n", f"x,SOLUSDT,{d2},{d2 + 7},true,ask,150.20,5\n",
        f"x,SOLUSDT,{d2 + 10},{d2 + 15},false,ask,150.20,0\n", f"x,SOLUSDT,{d2 + 10},{d2 + 15},false,ask,150.40,1\n"]))
    md = open_market_data([book2, book1])
    ev = md.events
    k = int(np.flatnonzero(ev["kind"] == EV_CLEAR)[1])  # day 2's clear
    boundary = ev[k: k + 3]
    assert [(int(e["kind"]), int(e["side"]), int(e["price"]), int(e["qty"]), int(e["local_ts"]), int(e["flags"]))
            for e in boundary] == [(EV_CLEAR, 0, 0, 0, (d2 + 7) * 1000, 0),
                                   (EV_SNAPSHOT_LEVEL, BUY, 1500, 6, (d2 + 7) * 1000, 0),
                                   (EV_SNAPSHOT_LEVEL, SELL, 1502, 5, (d2 + 7) * 1000, FLAG_EOM)]
    assert md.instrument.tick_size == "0.1"
    assert _final_book(ev[:k]) == [[1500, 1], [1499, 4], [1501, 2], [1503, 3]]  # day 1 at its end
    assert _final_book(ev[: k + 3]) == [[1500, 6], [1502, 5]]  # day 2's snapshot, nothing of day 1
    assert _final_book(ev) == [[1500, 6], [1504, 1]]
    assert (md.instrument.symbol, md.instrument.currency) == ("SOLUSDT", "USDT") and "notices" not in md.meta


def test_a_pair_over_two_days_keeps_each_trade_in_its_day(tmp_path):
    """Book and trades files of two days: the trades of day 2 come after day 2's snapshot (local time), the last
    trade of day 1 before it; trades first at an equal local time, as within a day."""
    d2 = T0 + DAY_US
    files = [
        _write(tmp_path / "b1.csv", BOOK + f"x,BTCUSDT,{T0},{T0 + 5},true,bid,10.0,1\n"
                                           f"x,BTCUSDT,{T0},{T0 + 5},true,ask,10.5,1\n"),
        _write(tmp_path / "t1.csv", TRADES + f"x,BTCUSDT,{d2 - 9},{d2 - 3},1,buy,10.5,0.5\n"),
        _write(tmp_path / "b2.csv", BOOK + f"x,BTCUSDT,{d2},{d2 + 5},true,bid,11.0,2\n"
                                           f"x,BTCUSDT,{d2},{d2 + 5},true,ask,11.5,2\n"),
        _write(tmp_path / "t2.csv", TRADES + f"x,BTCUSDT,{d2 + 1},{d2 + 5},2,sell,11.0,0.5\n"),
    ]
    ev = open_market_data(files).events
    got = [(int(e["kind"]), int(e["local_ts"]) // 1000 - T0, int(e["price"])) for e in ev]
    assert got == [(EV_CLEAR, 5, 0), (EV_SNAPSHOT_LEVEL, 5, 100), (EV_SNAPSHOT_LEVEL, 5, 105),
                   (EV_TRADE, DAY_US - 3, 105),
                   (EV_TRADE, DAY_US + 5, 110),  # at the snapshot's local time: trades first
                   (EV_CLEAR, DAY_US + 5, 0), (EV_SNAPSHOT_LEVEL, DAY_US + 5, 110),
                   (EV_SNAPSHOT_LEVEL, DAY_US + 5, 115)]
    assert EV_LEVEL_SET not in {g[0] for g in got}


def _day_file(tmp_path: Path, name: str, day: int, *, symbol: str = "BTCUSDT", exchange: str = "binance",
              trades: bool = False, until_us: int | None = None) -> Path:
    """One day's book (snapshot + an update) or trades file; `until_us`: its last row's time instead."""
    t = T0 + day * DAY_US
    last = until_us if until_us is not None else t + 1_000_000
    if trades:
        return _write(tmp_path / name, TRADES + f"{exchange},{symbol},{t},{t},1,buy,10.5,1\n"
                                                f"{exchange},{symbol},{last},{last},2,sell,10.0,1\n")
    return _write(tmp_path / name, BOOK + f"{exchange},{symbol},{t},{t},true,bid,10.0,1\n"
                                          f"{exchange},{symbol},{t},{t},true,ask,10.5,1\n"
                                          f"{exchange},{symbol},{last},{last},false,bid,10.0,2\n")


@pytest.mark.parametrize(("files", "bad", "says"), [
    # a missing day between two book files
    ([("b0", 0, {}), ("b2", 2, {})], "b2",
     "expected the book file of 2024-08-10, the day after b0 (a chain of daily Tardis files has no gap), was of "
     "2024-08-11: 1 day missing"),
    ([("t0", 0, {"trades": True}), ("t3", 3, {"trades": True})], "t3",
     "expected the trades file of 2024-08-10, the day after t0 (a chain of daily Tardis files has no gap), was of "
     "2024-08-12: 2 days missing"),
    # two files of one day (the same day given twice, or two book datasets of it)
    ([("b0", 0, {}), ("b0_again", 0, {})], "b0_again",
     "expected one book file a day (a chain of daily Tardis files), b0 is of 2024-08-09 too"),
    # a day's rows running into the next day's
    ([("b0", 0, {"until_us": T0 + DAY_US + 5_000_000}), ("b1", 1, {})], "b1",
     "expected the book file of a day after b0 (a chain of daily Tardis files), its first row "
     "(2024-08-10T00:00:00.000000Z) is before that file's last (2024-08-10T00:00:05.000000Z)"),
    # another symbol, another exchange
    ([("b0", 0, {}), ("b1", 1, {"symbol": "ETHUSDT"})], "b1",
     "expected one symbol across the Tardis files (BTCUSDT, as in b0), was ['ETHUSDT']"),
    ([("b0", 0, {}), ("t0", 0, {"trades": True, "exchange": "binance-futures"})], "t0",
     "expected one exchange across the Tardis files (binance, as in b0), was ['binance-futures']"),
    # book and trades files of different days
    ([("b0", 0, {}), ("b1", 1, {}), ("t0", 0, {"trades": True})], "b1",
     "the book file of 2024-08-10, expected a trades file of that day too (the trades files are of 2024-08-09)"),
    ([("b0", 0, {}), ("t0", 0, {"trades": True}), ("t1", 1, {"trades": True})], "t1",
     "the trades file of 2024-08-10, expected a book file of that day too (the book files are of 2024-08-09)"),
], ids=["gap", "gap_of_trades", "one_day_twice", "overlap", "symbol", "exchange", "book_day_without_trades",
        "trades_day_without_book"])
def test_a_broken_chain_is_refused_naming_the_file(tmp_path, files, bad, says):
    paths = {name: _day_file(tmp_path, name, day, **kw) for name, day, kw in files}
    with pytest.raises(DataValidationError) as e:
        open_market_data(list(paths.values()))
    assert str(e.value) == f"{paths[bad]}: {says}" and "\n" not in str(e.value)
    assert e.value.fields["file"] == str(paths[bad])


def test_a_day_copied_is_refused_however_given(days, tmp_path):
    """The same day's book file twice (a copy under another name) is two files of one day."""
    copy = tmp_path / "copy.csv"
    shutil.copy(days[0][0], copy)
    with pytest.raises(DataValidationError, match=r"copy.csv: expected one book file a day .* is of 2024-08-09 too"):
        open_market_data([days[0][0], days[1][0], copy])
