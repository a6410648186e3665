"""`hft.data._gather.snapshot_diffs`: top-N snapshot rows (Tardis ``book_snapshot_N`` / ``quotes``, Databento
MBP-10 / MBP-1) replayed as each row's change from the row before. Checked on the real L2 book: after every row
the book is exactly that row's top N (what a clear and a full snapshot would leave), never crossed on the way
when the rows are not, and a row that changes nothing is one informational EV_TICKER (every row one message)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from hft.book.l2 import L2_OUT_OF_RANGE, NO_PRICE, apply_event, best_ask, best_bid, book_for, grow, top_n
from hft.core.dtypes import BUY, EV_CLEAR, EV_LEVEL_SET, EV_SNAPSHOT_LEVEL, EV_TICKER, EV_TRADE, SELL
from hft.data._convert import make_events
from hft.data._gather import snapshot_diffs

DEPTH = 4


@hs.composite
def _rows(draw):
    """Rows of DEPTH levels a side (columns bid0, ask0, bid1, ask1, …): rows repeated or moved by up to two ticks
    (bids below the row's mid, asks above it: no row is crossed), with blanks and zero sizes, and (when `messy`)
    unsorted bids and a bid price given twice."""
    n = draw(hs.integers(1, 12))
    messy = draw(hs.booleans())
    mid = 1_000
    rows = []
    for _ in range(n):
        if rows and draw(hs.integers(0, 3)) == 0:
            rows.append(list(rows[-1]))  # unchanged
            continue
        mid += draw(hs.integers(-2, 2))
        cols = []
        for k in range(DEPTH):
            for side in (BUY, SELL):
                p = mid - 1 - k * draw(hs.integers(1, 2)) if side == BUY else mid + 1 + k * draw(hs.integers(1, 2))
                q = draw(hs.sampled_from([0, 1, 2, 5, 9, -1]))  # 0: no level; -1: a blank
                cols.append((p, q))
        if messy and draw(hs.booleans()):  # a vendor's unsorted row, or a price twice on one side
            bids = cols[0::2]
            draw(hs.randoms()).shuffle(bids)
            if draw(hs.booleans()):
                bids[-1] = (bids[0][0], bids[-1][1])
            cols[0::2] = bids
        rows.append(cols)
    return rows


def _top(row: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """The row's book: (side, price) -> size of the levels there (a price given twice: its last size)."""
    out: dict[tuple[int, int], int] = {}
    for j, (p, q) in enumerate(row):
        side = BUY if j % 2 == 0 else SELL
        if q > 0:  # a price given twice: its last level with a size
            out[(side, p)] = q
    return out


def _arrays(rows, dtype):
    px = np.array([[p for p, _ in r] for r in rows], dtype)
    qy = np.array([[q for _, q in r] for r in rows], dtype)
    if dtype == np.float64:
        px[qy < 0] = np.nan  # a blank: no price, no size
        qy[qy < 0] = np.nan
    else:
        qy[qy < 0] = 0
    return px, qy


def _book_of(book) -> dict[tuple[int, int], int]:
    bp, bq, ap, aq = (np.empty(4 * DEPTH, np.int64) for _ in range(4))
    top_n(book, bp, bq, ap, aq)
    out = {(BUY, int(p)): int(q) for p, q in zip(bp, bq, strict=True) if p != NO_PRICE}
    out.update({(SELL, int(p)): int(q) for p, q in zip(ap, aq, strict=True) if p != NO_PRICE})
    return out


@settings(max_examples=200, deadline=None)
@given(rows=_rows(), floats=hs.booleans(), trades=hs.lists(hs.booleans(), min_size=12, max_size=12))
def test_each_row_leaves_the_book_at_its_top_n(rows, floats, trades):
    n = len(rows)
    dtype = np.float64 if floats else np.int64
    px, qy = _arrays(rows, dtype)
    t_on = np.array(trades[:n], np.bool_)
    one = np.ones(n, np.int64)
    ts = np.arange(n, dtype=np.int64) * 10
    exch, local, kind, side, price, qty, seq, ends = snapshot_diffs(
        ts, ts + 1, np.arange(n, dtype=np.int64) + 2, px, qy, np.tile(np.array([BUY, SELL], np.int8), DEPTH),
        t_on, one, (one * 7).astype(dtype), one.astype(dtype))
    ev = make_events(len(kind), exch_ts=exch, local_ts=local, kind=kind, side=side, price=price.astype(np.int64),
                     qty=qty.astype(np.int64), seq=seq)
    book = book_for(ev)
    at = 0
    for i, row in enumerate(rows):
        mine = np.flatnonzero(seq == i + 2)
        assert np.array_equal(mine, np.arange(at, at + len(mine)))  # a row's events together, rows in order
        at += len(mine)
        assert len(mine) and ends[mine[-1]] and not ends[mine[:-1]].any()  # each row one message
        assert (i == 0) == (EV_CLEAR in kind[mine])  # the first row alone clears
        assert (kind[mine] == EV_TRADE).sum() == int(t_on[i]) and (not t_on[i] or kind[mine[0]] == EV_TRADE)
        assert i == 0 or not (kind[mine] == EV_SNAPSHOT_LEVEL).any()
        assert len(mine) <= 2 + 4 * DEPTH
        for e in ev[mine]:
            if e["kind"] == EV_TICKER:  # informational: the row's best bid (else ask), as the book has it
                assert len(mine) == 1 and i > 0
                bid = max((p for (sd, p) in _top(row) if sd == BUY), default=None)
                ask = min((p for (sd, p) in _top(row) if sd == SELL), default=None)
                want = ((BUY, bid) if bid is not None else (SELL, ask) if ask is not None else (0, 0))
                assert (int(e["side"]), int(e["price"])) == want
                assert int(e["qty"]) == _top(row).get(want, 0)
                continue
            if e["kind"] == EV_TRADE:
                continue
            status = apply_event(book, int(e["kind"]), int(e["side"]), int(e["price"]), int(e["qty"]))
            if status == L2_OUT_OF_RANGE:
                book = grow(book, int(e["side"]), int(e["price"]))
                status = apply_event(book, int(e["kind"]), int(e["side"]), int(e["price"]), int(e["qty"]))
            assert status == 0
            b, a = best_bid(book), best_ask(book)
            assert b == NO_PRICE or a == NO_PRICE or b < a  # never crossed on the way (the rows never are)
        assert _book_of(book) == _top(row), i
        if i and not t_on[i] and _top(row) == _top(rows[i - 1]):
            assert list(kind[mine]) == [EV_TICKER]  # nothing changed: one informational event
    assert at == len(ev)


def test_a_level_set_changes_only_what_changed():
    """One price resized among four levels a side: one event (the row's whole book would be nine)."""
    row = [(999 - k, 5) if j == 0 else (1_001 + k, 5) for k in range(DEPTH) for j in (0, 1)]
    moved = list(row)
    moved[2] = (998, 7)
    px, qy = _arrays([row, moved], np.int64)
    no = np.zeros(2, np.int64)
    out = snapshot_diffs(no, no, np.array([2, 3]), px, qy, np.tile(np.array([BUY, SELL], np.int8), DEPTH),
                         no.astype(np.bool_), no, no, no)
    kind, side, price, qty = out[2], out[3], out[4], out[5]
    assert len(kind) == 1 + 2 * DEPTH + 1
    assert (kind[-1], side[-1], price[-1], qty[-1]) == (EV_LEVEL_SET, BUY, 998, 7)


@pytest.mark.parametrize("engine", ["python", "numba"])
def test_queue_model_sees_the_cancels_between_snapshots(tmp_path, engine):
    """A Tardis book_snapshot_5 + trades pair through the engine, `log_prob` queue model, our bid joined at 100.0
    behind 30 lots: 50 lots join behind us, then 20 leave (a level of 80 → 60, no trade). Replayed as changes the
    model splits those 20 between the lots ahead and behind us (front 30 → ~20.7), so a sell of 25 at 100.0 fills
    us; a clear before each row (the full snapshot) shows the model only rises from 0, and the same sell does not."""
    from dataclasses import replace

    from hft.core.dtypes import FLAG_EOM
    from hft.data.sources import open_market_data
    from hft.sim.replay import ReplayConfig, build_engine
    from hft.sim.strategy import Strategy

    head = "exchange,symbol,timestamp,local_timestamp," + ",".join(
        f"{s}[{k}].price,{s}[{k}].amount" for k in range(5) for s in ("asks", "bids")) + "\n"

    def row(t_s, bid_qty):
        lv = ["101.0", "10", "100.0", str(bid_qty), "102.0", "10", "99.0", "10"] + [""] * 12
        return f"x,TESTUSDT,{t_s * 1_000_000},{t_s * 1_000_000 + 10}," + ",".join(lv) + "\n"

    snap = tmp_path / "snap.csv"
    snap.write_text(head + row(1, 30) + row(2, 80) + row(3, 60) + row(5, 35))
    trades = tmp_path / "trades.csv"
    trades.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
                      "x,TESTUSDT,4000000,4000010,1,sell,100.0,25\n")

    class JoinOnce(Strategy):
        name = "join_once"

        def on_book(self, ctx):
            if not self.done and ctx.best_bid is not None:
                ctx.submit(BUY, ctx.best_bid, 1)
                self.done = True

    def fills(md):
        s = JoinOnce()
        s.done = False
        eng, mult = build_engine(md, s, "join_once", ReplayConfig(engine=engine, queue_model="log_prob"))
        return eng.run(multiplier=mult).fills

    md = open_market_data([snap, trades])
    assert not (md.events["kind"] == EV_CLEAR)[1:].any()
    got = fills(md)
    assert len(got) == 1 and int(got["price"][0]) == 100 and int(got["qty"][0]) == 1  # tick 1.0: price in units
    # the same rows as a clear and a full snapshot each (the replay before `snapshot_diffs`)
    ev = md.events
    full, book = [], {BUY: {}, SELL: {}}
    for t in np.unique(ev["local_ts"]):
        at = ev[ev["local_ts"] == t]
        if (at["kind"] == EV_TRADE).all():
            full.extend(at)
            continue
        for e in at:  # the row's book: the levels after its events
            if e["kind"] == EV_CLEAR:
                book = {BUY: {}, SELL: {}}
            elif e["kind"] in (EV_LEVEL_SET, EV_SNAPSHOT_LEVEL):
                book[int(e["side"])][int(e["price"])] = int(e["qty"])
        clear = at[0].copy()
        clear["kind"], clear["side"], clear["price"], clear["qty"], clear["flags"] = EV_CLEAR, 0, 0, 0, 0
        full.append(clear)
        levels = [(sd, p, q) for sd in (BUY, SELL) for p, q in book[sd].items() if q > 0]
        for j, (sd, p, q) in enumerate(levels):
            x = at[0].copy()
            x["kind"], x["side"], x["price"], x["qty"] = EV_SNAPSHOT_LEVEL, sd, p, q
            x["flags"] = FLAG_EOM if j == len(levels) - 1 else 0
            full.append(x)
    assert len(fills(replace(md, events=np.array(full, dtype=ev.dtype)))) == 0


def test_prices_far_apart_are_compared_never_subtracted():
    """Two bids 1.8e19 apart (a vendor's int64 prices): their difference is past int64 (undefined behaviour in
    numba, where it once picked the lower bid as the best); compared, the unchanged row's informational ticker
    names the higher bid, and an unsorted row still gives each level's change."""
    lo, hi = -9 * 10**18, 9 * 10**18
    row = [(lo, 1), (hi, 3), (hi, 2), (hi - 1, 0)]  # bids lo then hi (unsorted), asks hi (size 3); a blank
    px, qy = _arrays([row, row, [(lo, 4), (hi, 3), (hi, 2), (hi - 1, 0)]], np.int64)
    no = np.zeros(3, np.int64)
    out = snapshot_diffs(no, no, np.array([1, 2, 3]), px, qy, np.array([BUY, SELL, BUY, SELL], np.int8),
                         no.astype(np.bool_), no, no, no)
    kind, side, price, qty, seq = out[2], out[3], out[4], out[5], out[6]
    assert list(kind[seq == 2]) == [EV_TICKER]
    assert (side[seq == 2][0], price[seq == 2][0], qty[seq == 2][0]) == (BUY, hi, 2)  # the best bid: the higher
    assert [(int(k), int(s), int(p), int(q)) for k, s, p, q in zip(kind, side, price, qty, strict=True)][-1:] == [
        (EV_LEVEL_SET, BUY, lo, 4)]
