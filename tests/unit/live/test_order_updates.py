"""The order-update log (`hft.live.updates`): numbered in order, read after a number, what it no longer holds
refused, published after each commit, kept whole by a snapshot's pickle; the TCP REPORT frame is its record."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from hft.core.orders import ORDER_UPDATE, ORDER_UPDATE_DTYPE, REPORT_FILL
from hft.live import frames as T
from hft.live.client import _decode
from hft.live.updates import UpdateLog


def _rows(first: int, n: int) -> np.ndarray:
    r = np.zeros(n, ORDER_UPDATE_DTYPE)
    r["seq"] = np.arange(first, first + n)
    r["order_id"] = r["seq"] * 10
    return r


def test_updates_are_read_after_a_number_until_the_ring_wraps_past_it() -> None:
    log = UpdateLog(capacity=4)
    assert (log.n, log.lo, len(log.since(0))) == (0, 1, 0)
    log.append(_rows(1, 3))
    assert log.since(0)["seq"].tolist() == [1, 2, 3] and log.since(2)["seq"].tolist() == [3]
    assert log.since(3).size == 0 and log.since(1, 2)["seq"].tolist() == [2]
    log.append(_rows(4, 3))  # 6 numbers in a ring of 4: 3 .. 6 held
    assert log.lo == 3 and log.since(2)["order_id"].tolist() == [30, 40, 50, 60]
    with pytest.raises(LookupError):
        log.since(1)
    for bad in (-1, 7):
        with pytest.raises(ValueError):
            log.since(bad)


def test_listeners_get_each_update_once_and_a_pickle_keeps_numbers_and_rows() -> None:
    log = UpdateLog(capacity=8)
    seen: list[list[int]] = []
    log.listeners.append(lambda rows: seen.append(rows["seq"].tolist()))
    log.append(_rows(1, 2))
    log.publish()
    log.publish()  # nothing new: no call
    log.append(_rows(3, 1))
    log.publish()
    assert seen == [[1, 2], [3]]
    back = pickle.loads(pickle.dumps(log))
    assert back.listeners == [] and (back.n, back.published) == (3, 3)
    assert back.since(0).tolist() == log.since(0).tolist()
    fresh = UpdateLog()
    fresh.listeners.append(print)
    fresh.restore(back)
    assert fresh.n == 3 and fresh.listeners == [print] and fresh.since(1)["seq"].tolist() == [2, 3]


def test_a_report_frame_is_the_order_update_record_packed() -> None:
    assert T.REPORT_ANSWER.names == ORDER_UPDATE.names and T.REPORT_ANSWER.itemsize == sum(
        np.dtype(f.numpy_type).itemsize for f in ORDER_UPDATE.fields)
    u = _rows(7, 1)
    u["kind"] = REPORT_FILL
    u["status"] = 3
    u["filled"] = 5
    fr = np.zeros(1, T.REPORT_FRAME)
    fr["len"] = T.REPORT_FRAME.itemsize - 4
    fr["type"] = T.REPORT
    for f in ORDER_UPDATE.names:
        fr["u"][f] = u[f]
    raw = fr.tobytes()
    got = _decode(raw[4], raw[5:])
    assert (got["type"], got["seq"], got["order_id"], got["filled"], got["kind_name"], got["status_name"]) == (
        "report", 7, 70, 5, "fill", "filled")


def test_the_market_stream_shows_its_symbols_rows_and_the_levels_each_side_has() -> None:
    from types import SimpleNamespace

    from hft.core.dtypes import NO_PRICE
    from hft.core.orders import MARKET_BOOK, MARKET_TRADE, MARKET_UPDATE, MARKET_UPDATE_DTYPE
    from hft.live import orders as O
    from hft.live.stream import MarketStream, parse_market_query

    market = UpdateLog(capacity=8, dtype=MARKET_UPDATE_DTYPE)
    live = SimpleNamespace(market=market, gw=SimpleNamespace(indices=lambda kind: {"AAPL": 0, "GOOG": 1}))
    rows = np.zeros(3, MARKET_UPDATE_DTYPE)
    for f in MARKET_UPDATE.names:
        if f.startswith(("bid_", "ask_")) and "_qty_" not in f:
            rows[f] = NO_PRICE
    for r, (seq, ts, sym, kind, side, price, qty) in enumerate(
            [(1, 5, 1, MARKET_TRADE, -1, 57940, 300), (2, 5, 0, MARKET_TRADE, 1, 10000, 1), (3, 6, 1, MARKET_BOOK, 0, 0, 0)]):
        for f, v in zip(("seq", "ts", "exch_ts", "symbol", "kind", "side", "price", "qty"),
                        (seq, ts, ts - 1, sym, kind, side, price, qty), strict=True):
            rows[r][f] = v
    rows[0]["bid_1"], rows[0]["bid_qty_1"], rows[0]["ask_1"], rows[0]["ask_qty_1"] = 57940, 196, 58023, 100
    rows[2]["bid_1"], rows[2]["bid_qty_1"], rows[2]["bid_2"], rows[2]["bid_qty_2"] = 57940, 196, 57930, 50
    market.append(rows)  # row 1 is another symbol's; row 2 has no ask
    s = MarketStream(live, None, 0, "GOOG")  # type: ignore[arg-type]
    text = s.events(market.since(0)).decode()
    events = [e for e in text.split("\n\n") if e]
    assert [e.splitlines()[:2] for e in events] == [["id: 1", "event: trade"], ["id: 3", "event: book"]]
    last = json.loads(events[1].splitlines()[2].removeprefix("data: "))
    assert last == {"seq": 3, "ts": 6, "exch_ts": 5, "symbol": "GOOG", "kind": "book", "side": 0, "price": 0, "qty": 0,
                    "bids": [[57940, 196], [57930, 50]], "asks": []}
    first = json.loads(events[0].splitlines()[2].removeprefix("data: "))
    assert (first["side"], first["price"], first["qty"], first["bids"], first["asks"]) == (
        -1, 57940, 300, [[57940, 196]], [[58023, 100]])
    assert parse_market_query(b"symbol=GOOG&after=2", None, 3) == (2, "GOOG")
    assert parse_market_query(b"symbol=GOOG", "1", 3) == (1, "GOOG")
    for query in (b"after=1", b"symbol=GOOG&depth=5"):
        with pytest.raises(O.BadInput):
            parse_market_query(query, None, 3)
    with pytest.raises(O.BadInput, match="expected a symbol of the gateway"):
        MarketStream(live, None, 0, "MSFT")  # type: ignore[arg-type]


@pytest.mark.parametrize("version", [1, 2])
def test_a_snapshot_of_an_earlier_version_of_the_record_loads_with_what_it_lacked_unknown(version: int) -> None:
    """A snapshot written before later fields were appended (version 1: no ``fee`` / ``fee_frac``; version 2: no
    ``liquidity`` / ``queue``) restores into the current layout: its rows keep every field, the fee fields are 0,
    the liquidity 0 and the queue -1 (not said), and new rows append after them."""
    old_dt = np.dtype([(f.name, np.dtype(f.numpy_type)) for f in ORDER_UPDATE.fields if f.since <= version],
                      align=True)
    assert ORDER_UPDATE.version == 3 and old_dt.names == ORDER_UPDATE_DTYPE.names[:len(old_dt.names)]
    old = np.zeros(3, old_dt)
    old["seq"] = [1, 2, 3]
    old["filled"] = [0, 4, 9]
    if version == 2:
        old["fee"], old["fee_frac"] = [0, 1, 2], [0, 10, 20]
    log = UpdateLog(capacity=8)
    log.__setstate__({"n": 3, "capacity": 8, "rows": old})
    assert log.ring.dtype == ORDER_UPDATE_DTYPE
    got = log.since(0)
    assert got["filled"].tolist() == [0, 4, 9]
    assert got["fee"].tolist() == ([0, 0, 0] if version == 1 else [0, 1, 2])
    assert got["fee_frac"].tolist() == ([0, 0, 0] if version == 1 else [0, 10, 20])
    assert got["liquidity"].tolist() == [0, 0, 0] and got["queue"].tolist() == [-1, -1, -1]
    new = _rows(4, 1)
    new["fee"], new["fee_frac"], new["liquidity"], new["queue"] = -3, 500_000, 1, 40
    log.append(new)
    assert log.since(3)[["fee", "fee_frac", "liquidity", "queue"]].tolist() == [(-3, 500_000, 1, 40)]


def test_a_report_frame_carries_the_fee_liquidity_and_queue_at_its_end() -> None:
    u = _rows(9, 1)
    u["kind"], u["fee"], u["fee_frac"], u["liquidity"], u["queue"] = REPORT_FILL, 12, 345_678, 2, -1
    fr = np.zeros(1, T.REPORT_FRAME)
    fr["len"], fr["type"] = T.REPORT_FRAME.itemsize - 4, T.REPORT
    for f in ORDER_UPDATE.names:
        fr["u"][f] = u[f]
    raw = fr.tobytes()
    got = _decode(raw[4], raw[5:])
    assert (got["fee"], got["fee_frac"], got["liquidity"], got["liquidity_name"], got["queue"]) == (
        12, 345_678, 2, "taker", -1)
    assert len(raw) - 5 == 66 + 16 + 9  # version 1's 66 bytes, then fee i64, fee_frac i64, then liquidity i8, queue i64
    # a reader of version 2's layout (the frame grew only at its end) reads its prefix unchanged
    v2 = np.dtype([(f.name, np.dtype(f.numpy_type).newbyteorder("<")) for f in ORDER_UPDATE.fields if f.since <= 2])
    old = np.frombuffer(raw[5:], v2, 1)
    assert [int(old[f][0]) for f in v2.names] == [int(u[f][0]) for f in v2.names]
