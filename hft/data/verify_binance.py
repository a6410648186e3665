"""Verify an imported Binance (L2) event stream: rebuild the book and check it at every message end.

`verify_binance` replays the events through the L2 kernels (`hft.book.l2`). At every book message end
(an EV_LEVEL_SET / EV_SNAPSHOT_LEVEL carrying FLAG_EOM, i.e. after each snapshot and each depth diff) it checks
the best bid / ask: **crossed** (bid > ask) and **locked** (bid == ask) states are counted. Points inside a
resync after a gap (FLAG_RESYNC) are counted apart, as the book there is known to be incomplete. **gaps** is
the number of EV_CLEAR events flagged FLAG_RESYNC (the importer's ``allow_gaps`` breaks).

bookTicker comparison: a ticker carries the venue's best bid/ask and the update id ``u`` of the book state it
describes. When a depth diff ends at exactly that id (``u`` equal), the rebuilt book after that diff must
match: prices and quantities of both bests are compared (``ticker_agree`` / ``ticker_disagree``). Tickers
whose id falls inside a diff are not comparable and only counted (``ticker_not_comparable``): a diff
aggregates all updates of its window (0 ms futures, 100 ms spot), so intermediate states the ticker saw are
never visible in the depth stream. That is what can legitimately differ; at an equal update id nothing may.

The first crossed and the first locked point are named (``first_crossed`` / ``first_locked``): the event row that
ended the message, its exchange and local times, and, given the stream's `Locate` (`MarketData.origin`), the
file and line (a binary file's record and byte) of the message that made the book so, as `row_error` names it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hft.book.l2 import (
    L2_OK,
    L2_OUT_OF_RANGE,
    L2_STATUS_NAMES,
    TOB_ASK_PX,
    TOB_ASK_QTY,
    TOB_BID_PX,
    TOB_BID_QTY,
    TOB_COLS,
    TOB_FLAGS,
    TOB_ROW,
    TOB_SEQ,
    book_for,
    grow,
    replay_tob,
)
from hft.core.dtypes import (
    BUY,
    EV_CLEAR,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TICKER,
    EVENT_DTYPE,
    FLAG_EOM,
    FLAG_RESYNC,
    NO_PRICE,
)
from hft.core.errors import DataValidationError
from hft.core.instrument import Instrument
from hft.data._convert import Locate, iso_time


def top_of_book(events: np.ndarray) -> np.ndarray:
    """Replay `events` through the L2 kernels; the top of book after every book message end (`TOB_*` columns,
    see `hft.book.l2.replay_tob`)."""
    kind, flags = events["kind"], events["flags"]
    is_book = (kind == EV_LEVEL_SET) | (kind == EV_SNAPSHOT_LEVEL)
    tob = np.zeros((int((is_book & ((flags & FLAG_EOM) != 0)).sum()), TOB_COLS), dtype=np.int64)
    cnt = np.zeros(1, dtype=np.int64)
    book = book_for(events)
    i, n = 0, len(events)
    while i < n:
        status, i = replay_tob(book, events, i, n, tob, cnt)
        if status == L2_OUT_OF_RANGE:
            book = grow(book, int(events[i]["side"]), int(events[i]["price"]))
        elif status != L2_OK:
            raise DataValidationError(f"event row {i}: expected a valid L2 update, was {L2_STATUS_NAMES[status]}",
                                      line=i)
    return tob[: cnt[0]]


def _compare_tickers(events: np.ndarray, tob: np.ndarray) -> dict[str, int]:
    """Compare bookTicker pairs with the rebuilt book at the same update id (see module docstring)."""
    tick = events[events["kind"] == EV_TICKER]
    bids = tick[tick["side"] == BUY]
    asks = tick[tick["side"] != BUY]
    n = min(len(bids), len(asks))
    bids, asks = bids[:n], asks[:n]  # the importer writes each ticker as a (bid, ask) pair
    out = {"tickers": n, "ticker_compared": 0, "ticker_agree": 0, "ticker_disagree": 0,
           "ticker_price_disagree": 0, "ticker_not_comparable": n}
    if n == 0 or len(tob) == 0:
        return out
    # one state per update id (an id repeats only across a resync: keep the last), sorted for the lookup
    seq = tob[:, TOB_SEQ]
    last = np.r_[seq[1:] != seq[:-1], True]
    states = tob[last]
    states = states[np.argsort(states[:, TOB_SEQ], kind="stable")]
    seq = states[:, TOB_SEQ]
    pos = np.minimum(np.searchsorted(seq, bids["seq"]), len(seq) - 1)
    hit = seq[pos] == bids["seq"]
    s, b, a = states[pos[hit]], bids[hit], asks[hit]
    price_eq = (s[:, TOB_BID_PX] == b["price"]) & (s[:, TOB_ASK_PX] == a["price"])
    all_eq = price_eq & (s[:, TOB_BID_QTY] == b["qty"]) & (s[:, TOB_ASK_QTY] == a["qty"])
    out["ticker_compared"] = int(hit.sum())
    out["ticker_agree"] = int(all_eq.sum())
    out["ticker_disagree"] = int((~all_eq).sum())
    out["ticker_price_disagree"] = int((~price_eq).sum())
    out["ticker_not_comparable"] = n - int(hit.sum())
    return out


def _first(events: np.ndarray, tob: np.ndarray, where: np.ndarray, origin: Locate | None) -> dict[str, Any] | None:
    """The first checked point of `where`: its event row, times and (with `origin`) the place it was read from."""
    return point(events, int(tob[where, TOB_ROW][0]), origin) if where.any() else None


def point(events: np.ndarray, row: int, origin: Locate | None) -> dict[str, Any]:
    """Event `row` as a verify result names it: ``row``, ``exch_ts``, ``exch_utc``, ``local_ts`` and, with
    `origin`, the place it was read from (``file``, ``line`` or ``record`` / ``offset``, ``message``)."""
    exch = int(events["exch_ts"][row])
    return {"row": row, "exch_ts": exch, "exch_utc": iso_time(exch), "local_ts": int(events["local_ts"][row]),
            **(origin(row) if origin is not None else {})}


def verify_binance(events: np.ndarray, instrument: Instrument, origin: Locate | None = None) -> dict[str, Any]:
    """Rebuild the L2 book from an imported Binance (or any L2) stream and report its consistency.

    Returns a dict with ``checked`` (book message ends checked), ``crossed``, ``locked``, ``gaps``,
    ``resync_checked`` / ``resync_crossed`` (points inside a resync), ``one_sided``, ``first_crossed_row``
    (event row, or None), ``first_crossed`` / ``first_locked`` (None, or ``row``, ``exch_ts`` and ``exch_utc``,
    ``local_ts`` and, with `origin`, the place: ``file``, ``line`` or ``record`` / ``offset``, ``message``), the
    bookTicker comparison counts (module docstring) and ``ok`` (no crossed or locked state and no gap).
    """
    if events.dtype != EVENT_DTYPE:
        raise DataValidationError(f"events: expected dtype EVENT_DTYPE, was {events.dtype}")
    if instrument.book_level != "L2":
        raise DataValidationError(f"{instrument.symbol}: expected an L2 instrument, was {instrument.book_level}")
    tob = top_of_book(events)
    bb, ba = tob[:, TOB_BID_PX], tob[:, TOB_ASK_PX]
    two_sided = (bb != NO_PRICE) & (ba != NO_PRICE)
    crossed = two_sided & (bb > ba)
    locked = two_sided & (bb == ba)
    resync = (tob[:, TOB_FLAGS] & FLAG_RESYNC) != 0
    kind, flags = events["kind"], events["flags"]
    gaps = int(((kind == EV_CLEAR) & ((flags & FLAG_RESYNC) != 0)).sum())
    res: dict[str, Any] = {
        "symbol": instrument.symbol,
        "venue": instrument.venue,
        "events": len(events),
        "checked": len(tob),
        "crossed": int(crossed.sum()),
        "locked": int(locked.sum()),
        "gaps": gaps,
        "resync_checked": int(resync.sum()),
        "resync_crossed": int((crossed & resync).sum()),
        "one_sided": int((~two_sided).sum()),
        "first_crossed_row": int(tob[crossed, TOB_ROW][0]) if crossed.any() else None,
        "first_crossed": _first(events, tob, crossed, origin),
        "first_locked": _first(events, tob, locked, origin),
    }
    res.update(_compare_tickers(events, tob))
    res["ok"] = res["crossed"] == 0 and res["locked"] == 0 and gaps == 0
    return res
