"""Compiled passes of the vendor importers, from a file's columns to the `EVENT_DTYPE` array.

* `gather_events`: a vendor importer holds its files' values as columns, each file's rows one after another,
  and a merge order over them (`hft.data._convert.merge_order`). Building the events with numpy takes a
  fancy-index gather per column and a field-by-field structured copy per column (and, for a snapshot that must
  be preceded by a clear, a spread of every column to its shifted place): ~10 ms for 100k rows of a Tardis pair,
  about a quarter of an import. Here each event is written once, in its final place.
* `snapshot_diffs`: rows of top-N snapshots (one price and one size column per level and side: Tardis
  ``book_snapshot_N`` / ``quotes``, Databento MBP-10 / MBP-1) into each row's change from the row before (one
  rule for every vendor's snapshots; numpy's masks over the whole (rows, levels) grid took most of a
  ``book_snapshot_25`` import).
* `least_decimals`: `hft.data._convert.decimals_needed`'s rule in one pass (numpy's sort of the unique values
  took ~35 ms of a ``book_snapshot_25`` import).
"""

from __future__ import annotations

import numpy as np

from hft.core.dtypes import (
    BUY,
    EV_CLEAR,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TICKER,
    EV_TRADE,
    EVENT_DTYPE,
    FLAG_EOM,
    SELL,
)
from hft.core.jit import njit


@njit(cache=True, nogil=True)
def _gather(out: np.ndarray, order: np.ndarray, clear: np.ndarray, exch: np.ndarray, local: np.ndarray,
            price: np.ndarray, qty: np.ndarray, oid: np.ndarray, seq: np.ndarray, kind: np.ndarray,
            side: np.ndarray, eom: np.ndarray) -> None:
    j = 0
    for i in range(order.shape[0]):
        r = order[i]
        if clear[r]:  # the book clear of a snapshot's first row: its times and seq, both sides, no end of message
            e = out[j]
            e.exch_ts = exch[r]
            e.local_ts = local[r]
            e.seq = seq[r]
            e.kind = EV_CLEAR
            j += 1
        e = out[j]
        e.exch_ts = exch[r]
        e.local_ts = local[r]
        e.price = price[r]
        e.qty = qty[r]
        e.order_id = oid[r]
        e.seq = seq[r]
        e.kind = kind[r]
        e.side = side[r]
        e.flags = FLAG_EOM if eom[r] else 0
        j += 1


def gather_events(order: np.ndarray, *, clear: np.ndarray, exch_ts: np.ndarray, local_ts: np.ndarray,
                  price: np.ndarray, qty: np.ndarray, order_id: np.ndarray, seq: np.ndarray, kind: np.ndarray,
                  side: np.ndarray, eom: np.ndarray) -> np.ndarray:
    """The events of rows ``order[0], order[1], …`` of the columns (every column one value per row: int64 times,
    units, ids and seq; uint8 `kind`, int8 `side`, bool `eom` → FLAG_EOM); a row whose `clear` is set is preceded
    by an EV_CLEAR event with its exchange and local times and seq (side 0: both sides)."""
    out = np.zeros(len(order) + int(np.count_nonzero(clear[order])), EVENT_DTYPE)  # sized by the rows taken
    _gather(out, np.ascontiguousarray(order, np.int64), np.ascontiguousarray(clear, np.bool_),
            np.ascontiguousarray(exch_ts, np.int64), np.ascontiguousarray(local_ts, np.int64),
            np.ascontiguousarray(price, np.int64), np.ascontiguousarray(qty, np.int64),
            np.ascontiguousarray(order_id, np.int64), np.ascontiguousarray(seq, np.int64),
            np.ascontiguousarray(kind, np.uint8), np.ascontiguousarray(side, np.int8),
            np.ascontiguousarray(eom, np.bool_))
    return out


@njit(cache=True, nogil=True, inline="always")
def _level_ok(p, q) -> bool:
    """A level is there: finite price and size (NaN: a blank), positive size (int or float columns)."""
    return q > 0 and p - p == 0 and q - q == 0  # x - x is NaN for NaN and infinities, 0 for the rest


@njit(cache=True, nogil=True, inline="always")
def _better(s: int, x, y) -> bool:
    """Price `x` is better than `y` on side `s` (0 bids: higher; 1 asks: lower)."""
    return x > y if s == 0 else x < y


@njit(cache=True, nogil=True)
def _longer(a: np.ndarray, m: int, e: int) -> np.ndarray:
    """`a` in an array of `m` items, its first `e` kept."""
    out = np.empty(m, a.dtype)
    out[:e] = a[:e]
    return out


@njit(cache=True, nogil=True)
def _diff_rows(i, e, ts, lts, rows, px, qy, sides, t_on, t_side, t_px, t_qty, lp, lq, ln, rem, put_p, put_q, nr,
               nu, exch, local, kind, side, price, qty, seq, ends) -> tuple:
    """`snapshot_diffs` from row `i`, writing from event `e`, until the rows end or the columns have no room for
    another row; returns (next row, next event). No array is reassigned here (a loop that reassigns one pays
    reference counting on every row)."""
    n, k = px.shape
    m = exch.shape[0]
    while i < n and e + 2 + 2 * k <= m:
        c = i & 1
        o = 1 - c
        ln[c, 0] = 0
        ln[c, 1] = 0
        for j in range(k):
            if _level_ok(px[i, j], qy[i, j]):
                s = 0 if sides[j] == BUY else 1
                lp[c, s, ln[c, s]] = px[i, j]
                lq[c, s, ln[c, s]] = qy[i, j]
                ln[c, s] += 1
        e0 = e
        if t_on[i]:
            kind[e] = EV_TRADE
            side[e] = t_side[i]
            price[e] = t_px[i]
            qty[e] = t_qty[i]
            e += 1
        if i == 0:
            kind[e] = EV_CLEAR
            side[e] = 0
            price[e] = 0
            qty[e] = 0
            e += 1
            for j in range(k):
                if _level_ok(px[i, j], qy[i, j]):
                    kind[e] = EV_SNAPSHOT_LEVEL
                    side[e] = sides[j]
                    price[e] = px[i, j]
                    qty[e] = qy[i, j]
                    e += 1
        else:
            for s in range(2):
                # side s's change from the last row's top N (``lp[o, s]``, pn levels) to this row's (``lp[c, s]``,
                # cn): the prices gone into ``rem[s]``, the prices new or resized into ``put_p[s]`` / ``put_q[s]``.
                # Written out here, not in a helper: numba counts references on every array passed to a function,
                # inlined or not, which was most of the time of a row. Levels in strict best-first order are walked
                # once; otherwise (a vendor's unsorted row) each is looked up, a price given twice ending at its
                # last size.
                # a better bid is higher, a better ask lower: compared, never subtracted (a difference of two
                # vendor prices could pass int64, undefined behaviour in numba; of floats it is the same order)
                pn = ln[o, s]
                cn = ln[c, s]
                nr[s] = 0
                nu[s] = 0
                ordered = True
                for j in range(1, pn):
                    ordered = ordered and _better(s, lp[o, s, j - 1], lp[o, s, j])
                for j in range(1, cn):
                    ordered = ordered and _better(s, lp[c, s, j - 1], lp[c, s, j])
                if ordered:
                    a = 0
                    b = 0
                    while a < pn or b < cn:
                        if b == cn or (a < pn and _better(s, lp[o, s, a], lp[c, s, b])):
                            rem[s, nr[s]] = lp[o, s, a]  # better than every remaining level of this row: gone
                            nr[s] += 1
                            a += 1
                        elif a == pn or _better(s, lp[c, s, b], lp[o, s, a]):
                            put_p[s, nu[s]] = lp[c, s, b]
                            put_q[s, nu[s]] = lq[c, s, b]
                            nu[s] += 1
                            b += 1
                        else:
                            if lq[o, s, a] != lq[c, s, b]:
                                put_p[s, nu[s]] = lp[c, s, b]
                                put_q[s, nu[s]] = lq[c, s, b]
                                nu[s] += 1
                            a += 1
                            b += 1
                    continue
                for a in range(pn):
                    found = False
                    for b in range(cn):
                        found = found or lp[c, s, b] == lp[o, s, a]
                    if not found:
                        rem[s, nr[s]] = lp[o, s, a]
                        nr[s] += 1
                for b in range(cn):
                    last = True  # only a price's last level counts (the book a full snapshot leaves)
                    for b2 in range(b + 1, cn):
                        last = last and lp[c, s, b2] != lp[c, s, b]
                    same = False
                    for a in range(pn):
                        if lp[o, s, a] == lp[c, s, b]:
                            same = lq[o, s, a] == lq[c, s, b]  # the last row's last level there: the book's size
                    if last and not same:
                        put_p[s, nu[s]] = lp[c, s, b]
                        put_q[s, nu[s]] = lq[c, s, b]
                        nu[s] += 1
            for s in range(2):  # the levels gone first: the book is never crossed in between
                for r in range(nr[s]):
                    kind[e] = EV_LEVEL_SET
                    side[e] = BUY if s == 0 else SELL
                    price[e] = rem[s, r]
                    qty[e] = 0
                    e += 1
            for s in range(2):
                for r in range(nu[s]):
                    kind[e] = EV_LEVEL_SET
                    side[e] = BUY if s == 0 else SELL
                    price[e] = put_p[s, r]
                    qty[e] = put_q[s, r]
                    e += 1
            if e == e0:  # nothing changed: the row's message is one informational EV_TICKER of its best bid
                kind[e] = EV_TICKER  # (else best ask; an empty book: side 0), so that it wakes what it would
                side[e] = 0
                price[e] = 0
                qty[e] = 0
                for s in range(2):  # bids, then asks
                    if ln[c, s] > 0 and side[e] == 0:
                        best = 0
                        for j in range(1, ln[c, s]):
                            if not _better(s, lp[c, s, best], lp[c, s, j]):
                                best = j  # the best price; a price given twice: its last level
                        side[e] = BUY if s == 0 else SELL
                        price[e] = lp[c, s, best]
                        qty[e] = lq[c, s, best]
                e += 1
        for x in range(e0, e):
            exch[x] = ts[i]
            local[x] = lts[i]
            seq[x] = rows[i]
            ends[x] = False
        ends[e - 1] = True
        i += 1
    return i, e


@njit(cache=True, nogil=True)
def snapshot_diffs(ts: np.ndarray, lts: np.ndarray, rows: np.ndarray, px: np.ndarray, qy: np.ndarray,
                   sides: np.ndarray, t_on: np.ndarray, t_side: np.ndarray, t_px: np.ndarray,
                   t_qty: np.ndarray) -> tuple:
    """Top-N snapshot rows → event columns (exch, local, kind, side, price, qty, seq, ends), each row as the change
    from the row before: the first row an EV_CLEAR (side 0, price and size 0) and an EV_SNAPSHOT_LEVEL per level,
    every later row an EV_LEVEL_SET of size 0 per price that left its side's top N, then an EV_LEVEL_SET per price
    new or resized (bids, then asks, best first), so that after each row the book is that row's top N and nothing
    else — the book a clear and a full snapshot per row gives, in ~1-2 events a row instead of ~2N, and a queue
    model sees the levels' real changes (a clear would hide each decrease behind a rise from 0). A row with
    ``t_on`` set starts with an EV_TRADE (``t_side`` / ``t_px`` / ``t_qty``). A row that changes nothing (and prints
    no trade) gives one informational EV_TICKER of its best bid (else its best ask; no level: side 0), so that
    every row stays one message and wakes a strategy as a full snapshot would; the last event of a row ends its
    message. `px` / `qy`: (rows, levels), int or float (blanks as NaN); level j's side is ``sides[j]`` (BUY /
    SELL), each side's columns best first; times and seq (the row's line) per row."""
    n, k = px.shape
    lp = np.zeros((2, 2, k), px.dtype)  # [row parity, side (0 bids, 1 asks), level]: this row's and the last's
    lq = np.zeros((2, 2, k), qy.dtype)
    ln = np.zeros((2, 2), np.int64)
    rem = np.zeros((2, k), px.dtype)
    put_p = np.zeros((2, k), px.dtype)
    put_q = np.zeros((2, k), qy.dtype)
    nr = np.zeros(2, np.int64)
    nu = np.zeros(2, np.int64)
    m = max(16, 2 * n, 2 + 2 * k)  # doubled when short (a quiet feed changes ~1 level a row)
    exch = np.empty(m, np.int64)
    local = np.empty(m, np.int64)
    kind = np.empty(m, np.uint8)
    side = np.empty(m, np.int8)
    price = np.empty(m, px.dtype)
    qty = np.empty(m, qy.dtype)
    seq = np.empty(m, np.int64)
    ends = np.empty(m, np.bool_)
    i = 0
    e = 0
    while True:
        i, e = _diff_rows(i, e, ts, lts, rows, px, qy, sides, t_on, t_side, t_px, t_qty, lp, lq, ln, rem, put_p,
                          put_q, nr, nu, exch, local, kind, side, price, qty, seq, ends)
        if i == n:
            break
        m = 2 * m
        exch = _longer(exch, m, e)
        local = _longer(local, m, e)
        kind = _longer(kind, m, e)
        side = _longer(side, m, e)
        price = _longer(price, m, e)
        qty = _longer(qty, m, e)
        seq = _longer(seq, m, e)
        ends = _longer(ends, m, e)
    return exch[:e], local[:e], kind[:e], side[:e], price[:e], qty[:e], seq[:e], ends[:e]


@njit(cache=True, nogil=True, inline="always")
def _exact(a: float, scale: float) -> bool:
    """`a` has at most d decimals, ``scale = 10.0 ** d``."""
    x = a * scale
    return abs(x - np.rint(x)) <= 1e-6 * max(1.0, x * 1e-9)


@njit(cache=True, nogil=True)
def least_decimals(values: np.ndarray, max_d: int) -> int:
    """`hft.data._convert.decimals_needed`'s rule: the least d <= max_d at which every finite value (float64) is
    exact (`_exact`), or -1. d grows only when a value is not exact at d, so no smaller d works; a pass that grew
    d is followed by another over every value at the new d (exactness is not monotone in floats, though it
    nearly always is)."""
    d = 0
    scale = 1.0
    while True:
        grew = False
        for v in values:
            if not np.isfinite(v):
                continue
            a = abs(v)
            while d <= max_d and not _exact(a, scale):
                d += 1
                scale = 10.0 ** d  # exact for d <= 22, as the rule's own 10.0**d
                grew = True
            if d > max_d:
                return -1
        if not grew:
            return d


def warm() -> None:
    """Compile (or load) the kernels for the argument types the importers pass (`hft warmup`)."""
    one = np.zeros(1, np.int64)
    gather_events(one, clear=np.ones(1, np.bool_), exch_ts=one, local_ts=one, price=one, qty=one, order_id=one,
                  seq=one, kind=np.ones(1, np.uint8), side=np.zeros(1, np.int8), eom=np.ones(1, np.bool_))
    no = np.zeros(1, np.bool_)
    for grid, t in ((np.ones((1, 2)), np.ones(1)), (np.ones((1, 2), np.int64), one)):  # Tardis (float), DBN (int)
        snapshot_diffs(one, one, one, grid, grid, np.array([1, -1], np.int8), no, one, t, t)
    least_decimals(np.ones(1), 9)
