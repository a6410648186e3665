"""Verify a LOBSTER import: rebuild the L3 book message by message and compare it with the reference book.

Method
------
LOBSTER records only the messages that touch the *visible window* — the top L occupied levels of each side —
and the orderbook file shows that window after every message. Orders resting before 09:30, and orders added or
changed while their level was deeper than L, are invisible in the message file. The replay therefore
distinguishes what the messages must explain exactly from what can only be learned from the reference:

1. Seeding. The book before message 0 is row 0 with message 0's own effect undone (an add subtracted, a
   cancel / delete / execution added back at its side and price). All of it is *anonymous* quantity (unknown
   orders at the front of each level's queue). Each seeded level counts in ``seeded_levels``.
2. Messages are applied to the L3 book (`hft.book.l3`): adds create orders at the back of the queue;
   cancels / executions / deletes of a known order change that order; of an unknown order id (it rested
   before the recording or arrived unobserved) they remove anonymous quantity at the message's price
   (``unknown_order_refs``). The message's size is always what leaves the level: a delete whose size differs
   from the known order's remaining size (the order changed while unobserved) removes the order and settles
   the difference with the anonymous quantity (``size_conflicts``). When an unknown id needs more than the
   anonymous quantity of a visible level, the level's known composition is stale and its known orders are
   forgotten into anonymous quantity (``anon_underflows``, ``stale_orders``). Hidden executions, cross trades
   and halts leave the book unchanged.
3. Visible region. Row k shows, per side, every level from the best price down to its L-th level (the whole
   side when fewer than L levels are shown). A price that was inside the region of row k-1 can only change
   through message k — it is verified exactly. A price that *enters* the region at row k (the window widened
   or moved: e.g. the best level emptied and a deeper one became visible) may carry quantity that changed
   while unobserved. For such a price only, the book takes the reference quantity: the difference goes to (or
   comes from) the anonymous quantity; if the level must shrink by more than its anonymous quantity, its known
   orders are forgotten (``stale_orders``) because which of them left is unknowable. A learned difference at
   a price never seen before counts in ``seeded_levels``; at a price seen before (it left the window and came
   back changed) in ``relearned_levels``.
4. Comparison. After every message the rebuilt top-L (price and quantity of every level of both sides) must
   equal reference row k exactly, and the message must have been applicable (a visible level cannot lose
   more than it holds, ``overdrawn``; an id cannot be added twice); otherwise the row counts in
   ``mismatches`` (the first one is reported with expected and found rows) and the visible region is
   re-synchronised from the reference so later rows are judged on their own.

Learning happens only at prices entering the visible region, never at prices that stayed visible, so a
message with a wrong size, side or price shows up as a mismatch (order ids cannot be checked against level
totals; they only decide queue positions). ``strict_reentry=True`` learns a level
only at its first observation (re-entries must then match exactly): the real files show that this cannot
hold for LOBSTER, whose message files omit everything that happens below level L.

The whole replay is one numba call (`replay_verify`), with no Python per message; `verify_arrays` is the
measurement-friendly entry point (arrays in, dict out).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hft.book.l3 import (
    ASK,
    BID,
    M_BASE,
    M_BEST_ASK,
    M_BEST_BID,
    M_FREE,
    M_HWM,
    OK,
    L3Book,
    l3_add,
    l3_add_anon,
    l3_delete,
    l3_drop_level_orders,
    l3_ensure_price,
    l3_execute,
    l3_grow_orders,
    l3_order_price,
    l3_order_qty,
    l3_remove_anon,
    l3_snapshot,
    new_l3_book,
)
from hft.book.topn import COL_ASK_PX, COL_BID_PX, ROW_STRIDE
from hft.core.bounds import MAX_ABS_PRICE, MAX_TOTAL_QTY, expected
from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_DELETE,
    EV_EXEC,
    NO_PRICE,
    SELL,
)
from hft.core.errors import DataValidationError
from hft.core.jit import njit
from hft.data._convert import row_error, row_place
from hft.data._eventcheck import check_event_values
from hft.data.lobster import column_name

__all__ = ["COUNTER_NAMES", "replay_verify", "verify_arrays", "verify_lobster", "verify_lobster_path"]

# counters written by the kernel (index → name)
C_CHECKED = 0
C_MISMATCHES = 1
C_FIRST_MISMATCH = 2
C_UNKNOWN_REFS = 3
C_SEEDED = 4
C_RELEARNED = 5
C_STALE_ORDERS = 6
C_ANON_UNDERFLOW = 7
C_PRICE_CONFLICTS = 8
C_SIZE_CONFLICTS = 9
C_DUPLICATE_IDS = 10
C_NOT_APPLIED = 11
C_STATUS = 12
C_OVERDRAWN = 13
C_STATUS_ROW = 14  # the message row at which a non-zero status stopped the replay
C_FIRST_SIZE_CONFLICT = 15  # the message row of the first size conflict (-1: none)
N_COUNTERS = 16
COUNTER_NAMES = ("checked", "mismatches", "first_mismatch_row", "unknown_order_refs", "seeded_levels",
                 "relearned_levels", "stale_orders", "anon_underflows", "price_conflicts", "size_conflicts",
                 "duplicate_ids", "not_applied", "status", "overdrawn", "status_row", "first_size_conflict_row")

_SEEN = 1  # lv_flags bit: the level has been visible with a known quantity
_I64_MAX = np.iinfo(np.int64).max
_I64_MIN = np.iinfo(np.int64).min
ST_PRICE_RANGE = 1  # kernel status: a price beyond the book's maximum span
# `_verify_run` state slots
S_PREV_BID = 0
S_PREV_ASK = 1
S_NEED = 2
S_NEED_LO = 3
S_NEED_HI = 4
S_SIZE = 5
_kernel = njit(cache=True, _nrt=False)  # never allocates: no reference counting (see hft.book.l3)


@_kernel
def _region_bound(ref: np.ndarray, k: int, levels: int, row: int) -> int:
    """Worst visible price of a side in reference row k; the side's extreme when fewer than L levels show."""
    base = (levels - 1) * ROW_STRIDE
    if row == BID:
        p = ref[k, base + COL_BID_PX]
        return p if p != NO_PRICE else _I64_MIN
    p = ref[k, base + COL_ASK_PX]
    return p if p != NO_PRICE else _I64_MAX


@_kernel
def _ref_qty(ref: np.ndarray, k: int, levels: int, row: int, price: int) -> int:
    px_col = COL_BID_PX if row == BID else COL_ASK_PX
    for j in range(levels):
        if ref[k, j * ROW_STRIDE + px_col] == price:
            return ref[k, j * ROW_STRIDE + px_col + 1]
    return 0


@_kernel
def _set_level(book: L3Book, row: int, price: int, target: int, counters: np.ndarray) -> None:
    """Make the level's total `target` through its anonymous quantity (forget its orders if needed)."""
    side = BUY if row == BID else SELL
    idx = price - book.meta[M_BASE]
    ours = book.lv_qty[row, idx]
    if target > ours:
        l3_add_anon(book, side, price, target - ours)
    elif target < ours:
        if book.lv_anon[row, idx] < ours - target:
            counters[C_STALE_ORDERS] += l3_drop_level_orders(book, side, price)
        l3_remove_anon(book, side, price, ours - target)


@_kernel
def _learn_range(book: L3Book, ref: np.ndarray, k: int, levels: int, row: int, lo: int, hi: int,
                 strict: bool, count: bool, counters: np.ndarray) -> None:
    """Set every price in [lo, hi] (clipped to the book's range) of one side to the reference row k."""
    base = book.meta[M_BASE]
    n = book.lv_qty.shape[1]
    lo = max(lo, base)
    hi = min(hi, base + n - 1)
    for p in range(lo, hi + 1):
        idx = p - base
        target = _ref_qty(ref, k, levels, row, p)
        if book.lv_qty[row, idx] != target:
            seen = (book.lv_flags[row, idx] & _SEEN) != 0
            if strict and seen and count:
                continue  # strict mode: a level seen before must match, the comparison will tell
            if count:
                counters[C_RELEARNED if seen else C_SEEDED] += 1
            _set_level(book, row, p, target, counters)


@_kernel
def _mark_seen(book: L3Book, ref: np.ndarray, k: int, levels: int) -> None:
    base = book.meta[M_BASE]
    for j in range(levels):
        for row, col in ((BID, COL_BID_PX), (ASK, COL_ASK_PX)):
            p = ref[k, j * ROW_STRIDE + col]
            if p != NO_PRICE:
                book.lv_flags[row, p - base] |= _SEEN


@_kernel
def _row_span(ref: np.ndarray, k: int, levels: int, price: int) -> tuple[int, int]:
    """Lowest and highest price among `price` and the occupied levels of reference row k."""
    lo = price
    hi = price
    for j in range(levels):
        p = ref[k, j * ROW_STRIDE + COL_BID_PX]
        if p != NO_PRICE:
            lo = min(lo, p)
            hi = max(hi, p)
        p = ref[k, j * ROW_STRIDE + COL_ASK_PX]
        if p != NO_PRICE:
            lo = min(lo, p)
            hi = max(hi, p)
    return lo, hi


@_kernel
def _covers(book: L3Book, lo: int, hi: int) -> bool:
    base = book.meta[M_BASE]
    return lo >= base and hi < base + book.lv_qty.shape[1]


@_kernel
def _take_anon(book: L3Book, side: int, price: int, qty: int, visible: bool, counters: np.ndarray) -> int:
    """Remove `qty` of unknown orders from a level. If the anonymous part is too small at a visible level,
    the level's known composition is stale (it changed while unobserved), so its known orders are forgotten
    first; at a level outside the visible region (only in files that record deep messages) the removal is
    clipped, and the level is learned when it becomes visible. Returns the quantity that was not there."""
    row = BID if side == BUY else ASK
    idx = price - book.meta[M_BASE]
    if book.lv_anon[row, idx] < qty:
        counters[C_ANON_UNDERFLOW] += 1
        if visible:
            counters[C_STALE_ORDERS] += l3_drop_level_orders(book, side, price)
    take = min(qty, book.lv_anon[row, idx])
    if take > 0:
        l3_remove_anon(book, side, price, take)
    return qty - take


@_kernel
def _apply(book: L3Book, kind: int, side: int, price: int, qty: int, oid: int, visible: bool,
           counters: np.ndarray) -> int:
    """Apply one LOBSTER event; returns the quantity it could not apply (0 when consistent).

    The message's size is what leaves the level: unknown ids take it from the anonymous quantity; a known
    order whose remaining size disagrees (it changed while unobserved) is removed and the difference is
    settled with the anonymous quantity. A removal larger than everything the level holds, or an add of an
    id already in the book, cannot be applied."""
    if kind == EV_ADD:
        if l3_add(book, oid, side, price, qty) != OK:
            counters[C_DUPLICATE_IDS] += 1
            counters[C_NOT_APPLIED] += 1
            return qty
        return 0
    if not _changes_book(kind):
        return 0  # hidden executions, cross trades, halts: the displayed book does not change
    remaining = l3_order_qty(book, oid)
    if remaining < 0:
        counters[C_UNKNOWN_REFS] += 1
        return _take_anon(book, side, price, qty, visible, counters)
    if l3_order_price(book, oid) != price:
        counters[C_PRICE_CONFLICTS] += 1
    if kind != EV_DELETE and qty < remaining:
        l3_execute(book, oid, qty)  # partial cancel and execution reduce an order alike
        return 0
    l3_delete(book, oid)
    if qty == remaining:
        return 0
    counters[C_SIZE_CONFLICTS] += 1
    if qty < remaining:
        l3_add_anon(book, side, price, remaining - qty)
        return 0
    return _take_anon(book, side, price, qty - remaining, visible, counters)


@_kernel
def _changes_book(kind: int) -> bool:
    return kind in (EV_ADD, EV_CANCEL, EV_DELETE, EV_EXEC)


@_kernel
def _undo_delta(kind: int, qty: int) -> int:
    """Quantity a message removed from its level (negative for an add)."""
    if kind == EV_ADD:
        return -qty
    if kind in (EV_CANCEL, EV_DELETE, EV_EXEC):
        return qty
    return 0


@_kernel
def _verify_run(book: L3Book, kind: np.ndarray, side: np.ndarray, price: np.ndarray, qty: np.ndarray,
                oid: np.ndarray, ref: np.ndarray, levels: int, strict_reentry: bool, start: int,
                state: np.ndarray, row_buf: np.ndarray, counters: np.ndarray, expected_row: np.ndarray,
                found_row: np.ndarray) -> int:
    """Steps 2–4 for messages `start`…; returns the index to resume at (n when done).

    Stops early, before touching message k, when the book must grow: ``state[S_NEED]`` is then 1 (levels:
    ``state[S_NEED_LO]``…``state[S_NEED_HI]`` must be covered) or 2 (order capacity).
    """
    n = kind.shape[0]
    width = levels * ROW_STRIDE
    prev_bid = state[S_PREV_BID]
    prev_ask = state[S_PREV_ASK]
    state[S_NEED] = 0
    for k in range(start, n):
        p_msg = price[k] if _changes_book(kind[k]) else book.meta[M_BASE]
        lo, hi = _row_span(ref, k, levels, p_msg)
        if not _covers(book, lo, hi):
            state[S_NEED] = 1
            state[S_NEED_LO] = lo
            state[S_NEED_HI] = hi
            return k
        if book.meta[M_FREE] < 0 and book.meta[M_HWM] >= book.o_id.shape[0]:
            state[S_NEED] = 2
            return k
        # 2. the message
        visible = price[k] >= prev_bid if side[k] == BUY else price[k] <= prev_ask
        conflicts = counters[C_SIZE_CONFLICTS]
        # the side as int64, as the venue passes it: one specialisation of the book helpers for both
        short = _apply(book, kind[k], np.int64(side[k]), price[k], qty[k], oid[k], visible, counters)
        if counters[C_SIZE_CONFLICTS] != conflicts and counters[C_FIRST_SIZE_CONFLICT] < 0:
            counters[C_FIRST_SIZE_CONFLICT] = k
        # 3. prices entering the visible region learn the reference quantity
        bid_bound = _region_bound(ref, k, levels, BID)
        ask_bound = _region_bound(ref, k, levels, ASK)
        if bid_bound < prev_bid:
            _learn_range(book, ref, k, levels, BID, bid_bound, prev_bid - 1, strict_reentry, True, counters)
        if ask_bound > prev_ask:
            _learn_range(book, ref, k, levels, ASK, prev_ask + 1, ask_bound, strict_reentry, True, counters)
        _mark_seen(book, ref, k, levels)
        # 4. compare
        l3_snapshot(book, levels, row_buf)
        counters[C_CHECKED] += 1
        same = short == 0 or not visible  # a visible level cannot lose more than it holds
        if not same:
            counters[C_OVERDRAWN] += 1
        for j in range(width):
            if row_buf[j] != ref[k, j]:
                same = False
                break
        if not same:
            counters[C_MISMATCHES] += 1
            if counters[C_FIRST_MISMATCH] < 0:
                counters[C_FIRST_MISMATCH] = k
                for j in range(width):
                    expected_row[j] = ref[k, j]
                    found_row[j] = row_buf[j]
            # re-synchronise the visible region (from our best or the reference's, whichever is further out)
            base = book.meta[M_BASE]
            top_bid = max(book.meta[M_BEST_BID] + base, ref[k, COL_BID_PX])
            top_ask = ref[k, COL_ASK_PX] if ref[k, COL_ASK_PX] != NO_PRICE else _I64_MAX
            if book.meta[M_BEST_ASK] >= 0:
                top_ask = min(top_ask, book.meta[M_BEST_ASK] + base)
            _learn_range(book, ref, k, levels, BID, bid_bound, top_bid, False, False, counters)
            _learn_range(book, ref, k, levels, ASK, top_ask, ask_bound, False, False, counters)
        prev_bid = bid_bound
        prev_ask = ask_bound
        state[S_PREV_BID] = prev_bid
        state[S_PREV_ASK] = prev_ask
    return n


@njit(cache=True)
def replay_verify(book: L3Book, kind: np.ndarray, side: np.ndarray, price: np.ndarray, qty: np.ndarray,
                  oid: np.ndarray, ref: np.ndarray, levels: int, strict_reentry: bool,
                  counters: np.ndarray, expected_row: np.ndarray, found_row: np.ndarray) -> L3Book:
    """Replay every message into `book` (empty) and compare with `ref` after each; see the module docstring.

    One call for a whole file: the per-message loop (`_verify_run`) runs without reference counting and
    only returns here, rarely, to grow the book.

    Args:
        book: an empty `L3Book` (grown as needed; the final book is returned).
        kind, side, price, qty, oid: event columns (read-only views are fine).
        ref: int64 (n, 4*levels) reference rows, LOBSTER layout, prices in ticks, empty = (NO_PRICE, 0).
        levels: L.
        strict_reentry: learn a level only at its first observation.
        counters: int64[N_COUNTERS] output (see `COUNTER_NAMES`), zeroed by the caller; row -1 = none.
        expected_row, found_row: int64[4*levels] outputs: the first mismatching reference row and our row.
    """
    n = kind.shape[0]
    counters[C_FIRST_MISMATCH] = -1
    counters[C_FIRST_SIZE_CONFLICT] = -1
    if n == 0:
        return book
    # 1. seed: row 0 with message 0 undone
    p0 = price[0] if _changes_book(kind[0]) else book.meta[M_BASE]
    lo, hi = _row_span(ref, 0, levels, p0)
    book = l3_ensure_price(l3_ensure_price(book, lo), hi)
    if not _covers(book, lo, hi):
        counters[C_STATUS] = ST_PRICE_RANGE
        counters[C_STATUS_ROW] = 0
        return book
    for row in (BID, ASK):
        _learn_range(book, ref, 0, levels, row, _I64_MIN, _I64_MAX, False, False, counters)
    delta = _undo_delta(kind[0], qty[0])
    if delta != 0:
        r0 = BID if side[0] == BUY else ASK
        idx0 = price[0] - book.meta[M_BASE]
        target = book.lv_qty[r0, idx0] + delta
        if target >= 0:
            _set_level(book, r0, price[0], target, counters)
        book.lv_flags[r0, idx0] |= _SEEN
    counters[C_SEEDED] += np.count_nonzero(book.lv_qty)
    _mark_seen(book, ref, 0, levels)
    state = np.zeros(S_SIZE, np.int64)
    state[S_PREV_BID] = _region_bound(ref, 0, levels, BID)
    state[S_PREV_ASK] = _region_bound(ref, 0, levels, ASK)
    row_buf = np.empty(levels * ROW_STRIDE, np.int64)
    k = 0
    while k < n:
        k = _verify_run(book, kind, side, price, qty, oid, ref, levels, strict_reentry, k, state, row_buf,
                        counters, expected_row, found_row)
        if state[S_NEED] == 1:
            book = l3_ensure_price(l3_ensure_price(book, state[S_NEED_LO]), state[S_NEED_HI])
            if not _covers(book, state[S_NEED_LO], state[S_NEED_HI]):
                counters[C_STATUS] = ST_PRICE_RANGE
                counters[C_STATUS_ROW] = k
                return book
        elif state[S_NEED] == 2:
            book = l3_grow_orders(book)
    return book


def _frozen(a: np.ndarray) -> np.ndarray:
    """A read-only view: numba compiles one specialisation per writability, so inputs always arrive frozen."""
    v = a.view()
    v.flags.writeable = False
    return v


def _within_bounds(events: np.ndarray, ref: np.ndarray, origins: tuple[str, str]) -> None:
    """The bounds the replay's sums and differences rely on (the value domain, `hft.core.bounds`, held by the event
    check; the reference's prices alike and its sizes 0..MAX_TOTAL_QTY: a
    level then never holds more than 2**61 and two of them add up within int64), else a DataValidationError naming
    the file, the line and the column."""
    check_event_values(events, origins[0])
    px, sz = ref[:, 0::2], ref[:, 1::2]
    bad = np.zeros(ref.shape, np.bool_)
    bad[:, 0::2] = (px != NO_PRICE) & ((px < -MAX_ABS_PRICE) | (px > MAX_ABS_PRICE))
    bad[:, 1::2] = (sz < 0) | (sz > MAX_TOTAL_QTY)
    if bad.any():
        row, col = divmod(int(np.argmax(bad)), ref.shape[1])
        want = expected("price") if col % 2 == 0 else f"a size from 0 to {MAX_TOTAL_QTY} (2**61)"
        raise row_error(origins[1], row + 1, column_name(ref.shape[1], col), want, str(int(ref[row, col])))


def verify_arrays(events: np.ndarray, reference: np.ndarray, levels: int, *, strict_reentry: bool = False,
                  origins: tuple[str, str] = ("events", "reference")) -> dict[str, Any]:
    """Replay `events` against `reference` (see `replay_verify`); the JSON-able result of `verify_lobster`.

    `origins` name the files of the message rows and of the reference rows (row k of both is line k + 1: a
    LOBSTER message and orderbook CSV, or an imported event file and its sidecar), for ``first_mismatch`` and
    for an error."""
    from hft.core.selftest import ensure  # lazy: keeps the self-test out of the kernels' cache key
    ensure("lobster")  # the book kernels answered right on this CPU target
    n = len(events)
    if reference.shape != (n, 4 * levels):
        raise DataValidationError(f"reference: expected shape ({n}, {4 * levels}), was {reference.shape}",
                                  expected=[n, 4 * levels], found=list(reference.shape))
    ref = np.ascontiguousarray(reference, dtype=np.int64)
    _within_bounds(events, ref, origins)
    if n:
        valid = ref[:, COL_BID_PX::ROW_STRIDE][ref[:, COL_BID_PX::ROW_STRIDE] != NO_PRICE]
        base = int(np.min(valid)) - 64 if valid.size else 0
    else:
        base = 0
    book = new_l3_book(base_price=base, n_levels=4096, order_capacity=1 << 14)
    counters = np.zeros(N_COUNTERS, dtype=np.int64)
    expected = np.zeros(4 * levels, dtype=np.int64)
    found = np.zeros(4 * levels, dtype=np.int64)
    cols = [_frozen(events[name]) for name in ("kind", "side", "price", "qty", "order_id")]
    replay_verify(book, *cols, _frozen(ref), levels, strict_reentry, counters, expected, found)
    if counters[C_STATUS] == ST_PRICE_RANGE:
        line = int(counters[C_STATUS_ROW]) + 1
        raise DataValidationError(
            f"{row_place(origins[0], line)} (the book after it: {row_place(origins[1], line)}): expected prices "
            "within the book's maximum span, found one beyond it", file=origins[0], line=line)
    out: dict[str, Any] = {name: int(counters[i]) for i, name in enumerate(COUNTER_NAMES)
                           if name not in ("status", "status_row")}
    out["messages"] = n
    out["levels"] = levels
    out["strict_reentry"] = strict_reentry
    first = int(counters[C_FIRST_MISMATCH])
    out.pop("first_mismatch_row")
    conflict = int(out.pop("first_size_conflict_row"))
    out["first_size_conflict"] = None if conflict < 0 else {
        "row": conflict, "line": conflict + 1, "message": row_place(origins[0], conflict + 1),
        "order_id": int(events["order_id"][conflict])}
    out["first_mismatch"] = None if first < 0 else {
        "row": first,
        "line": first + 1,
        "message": row_place(origins[0], first + 1),
        "orderbook": row_place(origins[1], first + 1),
        "expected": [int(v) for v in expected],
        "found": [int(v) for v in found],
        "event": {name: int(events[name][first]) for name in ("kind", "side", "price", "qty", "order_id")},
    }
    out["ok"] = out["mismatches"] == 0 and out["checked"] == n
    return out


def verify_lobster(data: Any, *, strict_reentry: bool = False) -> dict[str, Any]:
    """Verify a `hft.data.lobster.LobsterData` (events + reference book); returns a JSON-able dict.

    Keys: ``checked``, ``mismatches``, ``first_mismatch`` (row: the 0-based message index, line: row + 1, message
    and orderbook: the two files' line as ``"<file>: row <line>"``, expected, found, event; or None),
    ``unknown_order_refs``, ``seeded_levels``, ``relearned_levels``, ``stale_orders``, ``anon_underflows``,
    ``price_conflicts``, ``size_conflicts`` (``first_size_conflict``: row, line, message, order_id; or None),
    ``duplicate_ids``, ``not_applied``, ``overdrawn``, ``messages``,
    ``levels``,
    ``ok``, and ``symbol`` / ``source`` from the import.
    """
    out = verify_arrays(data.events, data.reference, data.levels, strict_reentry=strict_reentry,
                        origins=data.origins)
    out["symbol"] = data.instrument.symbol
    out["source"] = data.meta.get("source")
    return out


def verify_lobster_path(path: str | Path, *, strict_reentry: bool = False) -> dict[str, Any]:
    """Verify a LOBSTER zip, a message CSV (orderbook beside it), or an imported Parquet with its .ref sidecar."""
    from hft.data.lobster import import_lobster, load_lobster_import  # lazy: polars only where files are read

    path = Path(path)
    if path.suffix.lower() == ".parquet":
        data = load_lobster_import(path)
    else:
        data = import_lobster(path)
    return verify_lobster(data, strict_reentry=strict_reentry)
