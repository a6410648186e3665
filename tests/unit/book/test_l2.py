"""L2 price-level book kernels: behaviour, range growth, and invariants (hypothesis) against a dict model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.book import l2
from hft.core.dtypes import (
    BUY,
    EV_CLEAR,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TRADE,
    FLAG_EOM,
    NO_PRICE,
    SELL,
    empty_events,
)
from hft.core.errors import DataValidationError


def _events(rows: list[tuple[int, int, int, int]]) -> np.ndarray:
    """(kind, side, price, qty) rows → a read-only event array."""
    ev = empty_events(len(rows))
    for i, (kind, side, price, qty) in enumerate(rows):
        ev[i]["kind"], ev[i]["side"], ev[i]["price"], ev[i]["qty"] = kind, side, price, qty
    ev.flags.writeable = False
    return ev


def _top(book: l2.L2Book, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    bp, bq, ap, aq = (np.zeros(n, dtype=np.int64) for _ in range(4))
    l2.top_n(book, bp, bq, ap, aq)
    return list(zip(bp.tolist(), bq.tolist(), strict=True)), list(zip(ap.tolist(), aq.tolist(), strict=True))


def _model_top(levels: dict[int, int], n: int, descending: bool) -> list[tuple[int, int]]:
    live = sorted(((p, q) for p, q in levels.items() if q > 0), reverse=descending)[:n]
    return live + [(NO_PRICE, 0)] * (n - len(live))


def test_set_and_remove_levels_track_best_prices() -> None:
    book = l2.new_book(90, 110, 90, 130)
    assert l2.best_bid(book) == NO_PRICE and l2.best_ask(book) == NO_PRICE
    assert l2.set_level(book, BUY, 100, 5) == l2.L2_OK
    assert l2.set_level(book, BUY, 98, 2) == l2.L2_OK
    assert l2.set_level(book, SELL, 103, 7) == l2.L2_OK
    assert (l2.best_bid(book), l2.best_ask(book)) == (100, 103)
    l2.set_level(book, BUY, 100, 0)  # best removed: scan finds 98
    assert l2.best_bid(book) == 98
    l2.set_level(book, BUY, 98, 0)
    assert l2.best_bid(book) == NO_PRICE
    assert _top(book, 2) == ([(NO_PRICE, 0)] * 2, [(103, 7), (NO_PRICE, 0)])


def test_bad_input_returns_status_and_leaves_book_unchanged() -> None:
    book = l2.new_book(0, 10, 0, 10)
    l2.set_level(book, BUY, 5, 3)
    before = (book.bid_qty.copy(), book.state.copy())
    assert l2.set_level(book, BUY, 5, -1) == l2.L2_NEGATIVE_QTY
    assert l2.set_level(book, 0, 5, 1) == l2.L2_BAD_SIDE
    assert l2.set_level(book, BUY, 50, 1) == l2.L2_OUT_OF_RANGE
    assert l2.set_level(book, BUY, 50, 0) == l2.L2_OK  # deleting an empty far level is a no-op
    assert np.array_equal(book.bid_qty, before[0]) and np.array_equal(book.state, before[1])


def test_rebuild_grows_the_range_and_clear_empties() -> None:
    book = l2.new_book(100, 101, 100, 101)
    ev = _events([(EV_SNAPSHOT_LEVEL, BUY, 100, 1), (EV_SNAPSHOT_LEVEL, SELL, 101, 1),
                  (EV_LEVEL_SET, BUY, 5, 4), (EV_LEVEL_SET, SELL, 1_000_000, 9), (EV_TRADE, BUY, 7, 7)])
    book = l2.rebuild(ev, book)
    assert _top(book, 3) == ([(100, 1), (5, 4), (NO_PRICE, 0)], [(101, 1), (1_000_000, 9), (NO_PRICE, 0)])
    book = l2.rebuild(_events([(EV_CLEAR, 0, 0, 0)]), book)
    assert l2.best_bid(book) == NO_PRICE and l2.best_ask(book) == NO_PRICE
    assert not book.bid_qty.any() and not book.ask_qty.any()
    assert not book.bid_blk.any() and not book.ask_blk.any()


def test_rebuild_rejects_negative_quantity_naming_the_row() -> None:
    with pytest.raises(DataValidationError, match="row 1"):
        l2.rebuild(_events([(EV_LEVEL_SET, BUY, 10, 1), (EV_LEVEL_SET, SELL, 11, -3)]))


def test_replay_reports_failing_row() -> None:
    book = l2.new_book(0, 10, 0, 10)
    ev = _events([(EV_LEVEL_SET, BUY, 1, 1), (EV_LEVEL_SET, SELL, 99, 1), (EV_LEVEL_SET, SELL, 5, 1)])
    assert l2.replay(book, ev, 0, len(ev)) == (l2.L2_OUT_OF_RANGE, 1)


_updates = st.lists(st.tuples(st.sampled_from([BUY, SELL]), st.integers(-40, 40), st.integers(0, 5)),
                    max_size=200)


@settings(max_examples=200, deadline=None)
@given(_updates, st.integers(1, 6))
def test_matches_a_dict_model(updates: list[tuple[int, int, int]], n: int) -> None:
    """Any update sequence (range growth included): best prices and top-N equal a dict model's."""
    book = l2.new_book(-3, 3, -3, 3)
    model: dict[int, dict[int, int]] = {BUY: {}, SELL: {}}
    ev = _events([(EV_LEVEL_SET, s, p, q) for s, p, q in updates])
    book = l2.rebuild(ev, book)
    for s, p, q in updates:
        model[s][p] = q
    assert (book.bid_qty >= 0).all() and (book.ask_qty >= 0).all()
    # occupancy blocks agree with the levels (they drive scans and clears)
    assert np.array_equal(book.bid_blk, l2._blocks(len(book.bid_qty), book.bid_qty))
    assert np.array_equal(book.ask_blk, l2._blocks(len(book.ask_qty), book.ask_qty))
    bids, asks = _top(book, n)
    assert bids == _model_top(model[BUY], n, descending=True)
    assert asks == _model_top(model[SELL], n, descending=False)
    live_b = [p for p, q in model[BUY].items() if q > 0]
    assert l2.best_bid(book) == (max(live_b) if live_b else NO_PRICE)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([BUY, SELL]), st.integers(1, 30), st.integers(0, 5)), max_size=150),
       st.integers(-50, 50))
def test_consistent_updates_never_cross(updates: list[tuple[int, int, int]], mid: int) -> None:
    """Bids always below `mid`, asks at or above it: after every update best bid < best ask, top-N sorted."""
    book = l2.new_book(mid - 40, mid, mid, mid + 40)
    for s, off, q in updates:
        price = mid - off if s == BUY else mid + off - 1
        assert l2.set_level(book, s, price, q) == l2.L2_OK
        bb, ba = l2.best_bid(book), l2.best_ask(book)
        if bb != NO_PRICE and ba != NO_PRICE:
            assert bb < ba
        bids, asks = _top(book, 5)
        bpx = [p for p, _ in bids if p != NO_PRICE]
        apx = [p for p, _ in asks if p != NO_PRICE]
        assert bpx == sorted(bpx, reverse=True) and len(set(bpx)) == len(bpx)
        assert apx == sorted(apx) and len(set(apx)) == len(apx)
        assert all(q > 0 for p, q in bids + asks if p != NO_PRICE)


def test_replay_tob_records_top_of_book_at_message_ends() -> None:
    ev = empty_events(4)
    rows = [(EV_SNAPSHOT_LEVEL, BUY, 100, 5, 0), (EV_SNAPSHOT_LEVEL, SELL, 102, 6, FLAG_EOM),
            (EV_LEVEL_SET, BUY, 101, 2, 0), (EV_LEVEL_SET, SELL, 102, 0, FLAG_EOM)]
    for i, (kind, side, price, qty, flags) in enumerate(rows):
        ev[i]["kind"], ev[i]["side"], ev[i]["price"], ev[i]["qty"], ev[i]["flags"] = kind, side, price, qty, flags
        ev[i]["seq"] = 10 + i
    book = l2.new_book(90, 110, 90, 110)
    tob = np.zeros((1, l2.TOB_COLS), dtype=np.int64)
    cnt = np.zeros(1, dtype=np.int64)
    assert l2.replay_tob(book, ev, 0, 4, tob, cnt) == (l2.L2_TOB_FULL, 3)  # room for one record only
    assert l2.best_ask(book) == 102  # the failing row was not applied
    tob = np.zeros((2, l2.TOB_COLS), dtype=np.int64)
    cnt[0] = 0
    book = l2.new_book(90, 110, 90, 110)
    assert l2.replay_tob(book, ev, 0, 4, tob, cnt) == (l2.L2_OK, 4)
    assert tob[:, [l2.TOB_ROW, l2.TOB_SEQ, l2.TOB_BID_PX, l2.TOB_BID_QTY, l2.TOB_ASK_PX, l2.TOB_ASK_QTY]].tolist() == [
        [1, 11, 100, 5, 102, 6], [3, 13, 101, 2, NO_PRICE, 0]]
