"""The simulated venue for L3 (market-by-order) data: our orders in the real FIFO queues, matching, fees.

Mirrors `hft.sim.exchange_l2` (same report dtype and kinds, fees, maker / taker flag, exchange modes, driver
interface), but the queue is known exactly, so there is no queue model.

Layout (numba; few arrays per call)
-----------------------------------
* ``book`` — an `hft.book.l3.L3Book` holding the market's orders (ids as the data gives them), the anonymous
  pre-existing quantity at the front of each level, AND our resting orders, which sit in the same FIFO queues
  under *own keys* ``OWN_KEY_BASE + n`` (``n`` = a per-venue counter; ``OWN_KEY_BASE = -2**62``), and the
  reference resync's anonymous orders under *resync keys* ``RESYNC_KEY_BASE + n`` (``RESYNC_KEY_BASE =
  OWN_KEY_LIMIT``; see "Reference resync"). Market ids in ``[OWN_KEY_BASE, RESYNC_KEY_LIMIT)`` are refused
  (`V_BAD_ID` → `SimError`); LOBSTER ids are positive. `hft.book.l3.l3_queue_ahead` on an own key is our
  exact queue position.
* ``orders`` int64 ``[cap, N_OCOL]`` — our working orders, rows ``0 .. params[P_NORD]-1`` kept compact and in
  the order they (last) entered the book (a finished order's row is removed by shifting the later rows up), so
  rows of one price level are in FIFO order. Columns ``O_*``.
* ``cons`` int64 ``[m, 3]`` — visible liquidity our taker fills consumed: ``(side, price, lots)``.
* ``params`` int64 ``[N_PARAMS]`` — mode, money multiplier, fees, counters (``P_*``), among them the signed
  position ``P_POS`` (lots), data counters (``P_UNKNOWN_REFS``, ``P_CLIPPED``, ``P_REJECTED``, as
  `hft.book.l3.l3_replay` counts them) and the resync's row / key counters and adjustment counts
  (``P_REF_ROW``, ``P_RSEQ``, ``P_RS_LEVELS``, ``P_RS_ADDED``, ``P_RS_REMOVED``).
* ``ref`` int64 ``[n, 4*L]`` read-only — the LOBSTER reference rows (book after each message) for the resync;
  ``[0, 4]`` (no rows): resync off.
* ``out`` — a caller-allocated `VENUE_REPORT_DTYPE` buffer; ``params[P_NREP]`` counts the rows written.

Two entry kernels: `order_step(book, orders, cons, params, out, op, now, oid, side, price, qty, otype, tif)`
(``OP_NEW`` / ``OP_CANCEL`` / ``OP_REPLACE``) and `market_step(book, orders, cons, params, out, ref, now, kind,
side, price, qty, oid)` (one market event, then the reference resync when ``ref`` has rows). Kernels never allocate: when the book needs a wider price range or more
order slots they return `V_NEED_LEVELS` (price in ``params[P_NEED_PRICE]``) / `V_NEED_ORDERS` BEFORE changing
anything; `L3Venue` grows the book (`l3_grow_levels` / `l3_grow_orders`) and calls again. `L3Venue` also sizes
``out``, ``cons`` and ``orders`` before each call so they never overflow.

Semantics (exactly what is implemented)
---------------------------------------
*Exogenous replay*: the data's messages are applied to the market's orders unchanged, whatever we did. Our
fills never remove market liquidity, and our orders never change a market order or the anonymous quantity;
without the reference resync, once all our orders are gone, the book is exactly the book
`hft.book.l3.l3_replay` rebuilds from the data alone (the tests check this); with it, the market's visible
levels are the reference's after every message (below). Our own orders never match each other (no self-trade simulation: the gateway's
self-match prevention is the place for that); they are excluded from every "available quantity" below.

*Available* quantity of a level (what our taker orders may take): ``level qty - our own qty there -
consumed``, where ``consumed`` (``cons``) counts the lots our taker fills already took from the FRONT of that
level. When the data later removes quantity from that level (cancel / delete / execution of a market order or
of anonymous quantity), the removed lots that lie in the consumed prefix are no longer counted:
``consumed -= overlap([a, a+q), [0, consumed))`` with ``a`` = market quantity ahead of the removed order
(anonymous quantity counts as position 0). Adds (at the back) leave it unchanged; CLEAR of the side forgets
it. The *effective best* of a side is its best level with available > 0; it decides marketability.

Price-time priority of our resting orders relative to a market order X on the same side: our order is AHEAD
of X if its price is strictly better (buy: higher, sell: lower), or equal and it precedes X in the level's
FIFO. Anonymous quantity is ahead of everything at its level.

Market events (`market_step` / `L3Venue.market`; ``side`` = the resting order's side as LOBSTER gives it):

* EV_ADD ``(oid, side, price, qty)``: invalid adds (bad side, qty <= 0, an id already in the book) change
  nothing and count in ``P_REJECTED``. Otherwise, if the add crosses our resting orders of the OTHER side
  (a sell add at ``p`` <= our buy price, a buy add >= our sell price), the incoming order would have matched
  ours first: our crossed orders fill in price-time priority (best price first, FIFO within a price), maker,
  each at its own price, by up to the add's qty in total (``no_partial_fill``: an order reached with lots left
  fills entirely). Crossing fills do not consume visible liquidity. Then the add joins the back of its queue
  with its full qty (exogenous replay); an order of ours only partly filled stays where it is (still crossed).
  Market orders of the other side at or through the add's price are not looked at: consistent data (LOBSTER)
  never has any, since the add would have executed against them.
* EV_EXEC ``(oid, side, price, qty)``: for a known id the order's own side and price in the book are used.
  The aggressor must have traded through every order of ours AHEAD of X first: those fill, maker, at their own
  price, in price-time priority, by up to qty executed lots in total (``no_partial_fill``: whole order once
  reached). Executions of orders behind ours change nothing for us; executions of orders (or anonymous
  quantity) ahead of ours reduce our queue ahead by construction. Then the execution itself is applied to X as
  the data says (the consumed rule above first). An unknown id takes the quantity from the level's anonymous
  quantity (clipped at what is there, ``P_UNKNOWN_REFS`` / ``P_CLIPPED``); it is at the front, so only our
  orders at strictly better prices are ahead of it. With the resync on, what the front anonymous quantity
  does not cover is taken from the resync's anonymous orders of the level in FIFO order (they are unknown
  orders too), and our orders queued ahead of the last resync order it reaches fill first (same budget rule);
  only what neither covers is clipped.
* EV_CANCEL (partial; qty >= the remaining qty removes it) and EV_DELETE: applied to X (or, unknown id, to the
  anonymous quantity — then the resync's anonymous orders, front first — clipped) like `l3_replay`. Never fill us: cancels ahead of us move us forward.
* EV_HIDDEN_EXEC: executions against hidden liquidity; the visible queue is untouched and we never fill (our
  orders are displayed; the hidden order sat in the spread or was not ours to take). EV_TRADE (LOBSTER cross /
  auction trade, no resting order): nothing. EV_CLEAR (side, 0 = both): every market order and all anonymous
  quantity of the side(s) is removed (our orders stay, now at the front of their queues), consumed counts of the
  side(s) are forgotten. Other kinds: ignored.

Reference resync (``ref`` has rows: `L3Venue(reference=...)`, replay config ``l3_resync``, the default for
LOBSTER data). A level-L LOBSTER file has no messages below level L: quantity that changes while its price is
outside the visible window is never reported, and a price entering the window brings a quantity the messages
cannot explain (`hft.data.verify_lobster`). Replayed from the messages alone the venue's book drifts — on the
sample files it is crossed after most messages — so our queue places and taker fills are judged against
levels that do not exist. After every market event (the i-th `market_step` call uses reference row i, the book
after message i: call it for every message from message 0; the replay seeds the venue with row 0 with message
0 undone) the *market* quantity (level minus our own orders) of the visible window is made equal to the row:

* window, per side: every price from the book's best (any price better than the row's best is inside) to the
  row's L-th price; the whole side when the row shows fewer than L levels. Prices outside the window are never
  touched (they may be stale; they are learned when they become visible).
* every price the row shows gets the row's quantity; every other price inside the window loses all its
  market quantity. Our orders are never removed or moved: a level holding only ours is empty for the market.
* additions join the BACK of the queue as one anonymous order (a resync key), behind every order of ours, so
  no queue place of ours ever gets worse. If the added side crosses resting orders of ours on the other side
  (an ask added at or below our buy), they fill first as they would for a market add (maker, price-time
  priority, by up to the added lots; ``no_partial_fill`` as for adds), then the lots rest in full.
* removals take market quantity from the BACK of the queue first (the newest orders, resync orders and market
  orders alike, skipping ours), then the front anonymous quantity. Back first because (1) it is the
  conservative assumption for our queue place: it only improves (the quantity ahead of us shrinks) when the
  reference leaves fewer lots than are queued ahead of us, i.e. never from a guess; (2) the resync's own recent
  additions, which sit at the back, are undone first, so noise in the data-alone book does not leave phantom
  quantity in front of us. The removed lots are the last market lots of the level, so the consumed prefix
  drops its overlap with them (``consumed -= overlap([target, m), [0, consumed))``).
* counters: ``P_RS_LEVELS`` (one per level and message adjusted), ``P_RS_ADDED`` / ``P_RS_REMOVED`` (lots),
  reported by `L3Venue.resync_counters` and the replay summary's ``resync``.

Before the event is applied, `market_step` returns `V_NEED_LEVELS` / `V_NEED_ORDERS` (nothing changed) when a
price of the row has no level or fewer than ``2L + 1`` order slots are free, so the resync never allocates.
Known limits: quantity that rested at a price before it entered the window is added behind our order there
(optimistic for an order of ours that rested outside the window: in reality some of it may have been ahead);
the strategy's local view is set to the same reference rows at each message's local time (`hft.sim.engine`,
`hft.book.l2_view.local_set_row`), so strategy and venue trust the same book.

Our orders (`order_step` / `L3Venue.new / cancel / replace`):

* NEW: qty <= 0 or bad side → ``REJECTED``. marketable = the effective opposite best exists and (market
  order, or buy price >= it, or sell price <= it). Post-only and marketable → ``REJECTED``. Otherwise ``ACK``
  (leaves = qty), then, if marketable: mode ``partial_fill`` walks the opposite levels from the effective best
  while the level price is within the limit (market: no limit), taking ``min(available, leaves)`` at each
  level price, taker, recording it as consumed; FOK first checks that the available quantity within the
  limit covers qty, else ``EXPIRED`` with no fill. Mode ``no_partial_fill``: fills entirely at the effective
  best level if its available quantity covers qty, else nothing fills and the order ``EXPIRED`` whatever its
  TIF. Leaves of market / IOC / FOK orders → ``EXPIRED``; limit / post-only GTC (DAY as GTC) leaves join the
  BACK of the FIFO at their price, behind everything resting there (anonymous quantity included); a marketable
  limit's remainder rests at its limit even though the (consumed) displayed quantity it took is still there.
* CANCEL: a working order → ``CANCELED`` (it leaves the queue); an order the venue does not hold (never
  arrived, already filled / cancelled / expired) → ``CANCEL_REJECTED``.
* REPLACE (``price, qty`` = new open size): unknown order, qty <= 0, or a new price that would be marketable
  → ``REPLACE_REJECTED`` (nothing changes). Same price and qty <= leaves → keeps its queue place (its size
  shrinks in place). Anything else → leaves the queue and joins the back at the new price. ``REPLACED`` with
  price = new price, qty = leaves = the new open size.

`L3Venue.working()` reports ``front`` = `l3_queue_ahead` of our order: anonymous quantity, market orders and
our own earlier orders ahead of it at its price.

Fees: `hft.sim.fees.fee_money` with the maker or taker bps and the per-lot fee; ``fee`` > 0 paid. Reports
carry the exchange time ``now``; fills are ``PARTIAL_FILL`` while leaves > 0, then ``FILL``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hft.book.l3 import (
    ASK,
    BID,
    M_BASE,
    M_BEST_ASK,
    M_BEST_BID,
    M_FREE,
    M_HWM,
    MAX_LEVEL_SPAN,
    OK,
    L3Book,
    l3_add,
    l3_add_anon,
    l3_cancel,
    l3_delete,
    l3_execute,
    l3_grow_levels,
    l3_grow_orders,
    l3_queue_ahead,
    l3_remove_anon,
    new_l3_book,
)
from hft.book.l3 import _find as _l3_find
from hft.book.topn import COL_ASK_PX, COL_BID_PX, ROW_STRIDE
from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_CLEAR,
    EV_DELETE,
    EV_EXEC,
    NO_PRICE,
    SELL,
)
from hft.core.errors import SimError
from hft.core.orders import (
    ORDER_MARKET,
    ORDER_POST_ONLY,
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    TIF_FOK,
    TIF_IOC,
)
from hft.sim.exchange_l2 import (
    EXCHANGE_MODES,
    LIQ_MAKER,
    LIQ_NONE,
    LIQ_TAKER,
    MODE_NO_PARTIAL_FILL,
    MODE_PARTIAL_FILL,
    VENUE_REPORT_DTYPE,
)
from hft.sim.fees import FeeSchedule, fee_money
from hft.sim.venue_common import P_NCONS, P_NREP, cons_drop, cons_find, consume, emit, within

__all__ = [
    "EXCHANGE_MODES",
    "MODE_NO_PARTIAL_FILL",
    "MODE_PARTIAL_FILL",
    "OWN_KEY_BASE",
    "OWN_KEY_LIMIT",
    "RESYNC_KEY_BASE",
    "RESYNC_KEY_LIMIT",
    "VENUE_REPORT_DTYPE",
    "L3Venue",
    "market_step",
    "order_step",
]

# --- operations of order_step ------------------------------------------------------------------------------
OP_NEW = 1
OP_CANCEL = 2
OP_REPLACE = 3

# --- status codes ------------------------------------------------------------------------------------------
V_OK = 0
V_REPORTS_FULL = 1  # the report buffer had no room (size it with `L3Venue`)
V_CONS_FULL = 2  # the consumed-liquidity table had no room
V_BAD_OP = 3
V_NEED_LEVELS = 4  # grow the book's price range to params[P_NEED_PRICE] and call again (nothing changed)
V_NEED_ORDERS = 5  # grow the book's order capacity and call again (nothing changed)
V_BAD_ID = 6  # a market event used an id in our reserved range
V_TABLE_FULL = 7  # our order table had no free row
V_STATUS_NAMES = {V_OK: "ok", V_REPORTS_FULL: "report buffer full", V_CONS_FULL: "consumed table full",
                  V_BAD_OP: "unknown operation", V_NEED_LEVELS: "book needs a wider price range",
                  V_NEED_ORDERS: "book needs more order slots", V_BAD_ID: "market order id in our reserved range",
                  V_TABLE_FULL: "order table full"}

# --- our ids in the book -----------------------------------------------------------------------------------
OWN_KEY_BASE = -(1 << 62)
OWN_KEY_LIMIT = OWN_KEY_BASE + (1 << 61)
# anonymous quantity the reference resync adds at the back of a queue: synthetic market orders with keys
# RESYNC_KEY_BASE + n (n = params[P_RSEQ]); market ids in [OWN_KEY_BASE, RESYNC_KEY_LIMIT) are refused
RESYNC_KEY_BASE = OWN_KEY_LIMIT
RESYNC_KEY_LIMIT = RESYNC_KEY_BASE + (1 << 60)

# --- order table columns -----------------------------------------------------------------------------------
O_ID = 0  # gateway order id
O_KEY = 1  # our id in the L3 book
O_SIDE = 2
O_PRICE = 3
O_QTY = 4  # total size (filled + open)
O_LEAVES = 5  # open size
O_EXEC = 6  # cumulative filled
O_TYPE = 7
O_TIF = 8
O_ARRIVAL = 9  # exchange time the order (or its last repositioning) entered the book
O_INBOOK = 10  # 1 once resting in the book
N_OCOL = 11

# --- params ------------------------------------------------------------------------------------------------
P_MODE = 0
P_MULT = 1
P_MAKER_BPS_H = 2
P_TAKER_BPS_H = 3
P_PER_LOT = 4
# 5 = P_NREP (rows written to `out`), 6 = P_NCONS (rows used in `cons`): see hft.sim.venue_common
P_NORD = 7  # live rows of `orders`
P_SEQ = 8  # next own key offset
P_NEED_PRICE = 9  # price that needs a level (V_NEED_LEVELS)
P_POS = 10  # signed position from our fills (lots)
P_UNKNOWN_REFS = 11  # market cancels / deletes / executions of ids the book does not hold
P_CLIPPED = 12  # ... of which the anonymous quantity did not cover the size
P_REJECTED = 13  # invalid market adds (bad side / qty, duplicate id)
P_REF_ROW = 14  # reference resync: the reference row of the next market event
P_RSEQ = 15  # next resync key offset (> 0: resync orders may rest in the book)
P_RS_LEVELS = 16  # levels the resync adjusted (one per level and message)
P_RS_ADDED = 17  # lots the resync added
P_RS_REMOVED = 18  # lots the resync removed
N_PARAMS = 24

# Kernels never allocate: compiled without NRT reference counting, like `hft.book.l3`'s (a call passing the
# 14-array `L3Book` otherwise increfs / decrefs every member).
_kernel = njit(cache=True, _nrt=False)


# ======================================================================= kernels
@_kernel
def _is_own(key) -> bool:
    return key >= OWN_KEY_BASE and key < OWN_KEY_LIMIT


@_kernel
def _is_resync(key) -> bool:
    return key >= RESYNC_KEY_BASE and key < RESYNC_KEY_LIMIT


@_kernel
def _is_reserved(key) -> bool:
    return key >= OWN_KEY_BASE and key < RESYNC_KEY_LIMIT


@_kernel
def _row_of(side) -> int:
    return BID if side == BUY else ASK


@_kernel
def _better(side, a, b) -> bool:
    """Is price `a` strictly better than `b` for a resting order of `side`?"""
    return a > b if side == BUY else a < b


@_kernel
def _own_row_by_key(orders, params, key) -> int:
    for r in range(params[P_NORD]):
        if orders[r, O_KEY] == key:
            return r
    return -1


@_kernel
def _own_row_by_id(orders, params, oid) -> int:
    for r in range(params[P_NORD]):
        if orders[r, O_ID] == oid:
            return r
    return -1


@_kernel
def _own_qty_at(orders, params, side, price) -> int:
    q = 0
    for r in range(params[P_NORD]):
        if orders[r, O_INBOOK] == 1 and orders[r, O_SIDE] == side and orders[r, O_PRICE] == price:
            q += orders[r, O_LEAVES]
    return q


@_kernel
def _drop_row(orders, params, r) -> None:
    n = params[P_NORD]
    for k in range(r, n - 1):
        for c in range(N_OCOL):
            orders[k, c] = orders[k + 1, c]
    params[P_NORD] = n - 1


@_kernel
def _level_qty(book, side, price) -> int:
    idx = price - book.meta[M_BASE]
    if idx < 0 or idx >= book.lv_qty.shape[1]:
        return 0
    return book.lv_qty[_row_of(side), idx]


@_kernel
def _avail(book, orders, cons, params, side, price) -> int:
    """Market quantity at (side, price) our taker orders may still take."""
    q = _level_qty(book, side, price)
    if q == 0:
        return 0
    q -= _own_qty_at(orders, params, side, price)
    k = cons_find(cons, params, side, price)
    if k >= 0:
        q -= cons[k, 2]
    return q if q > 0 else 0


@_kernel
def _first_idx(book, side) -> int:
    return book.meta[M_BEST_BID] if side == BUY else book.meta[M_BEST_ASK]


@_kernel
def _next_idx(book, side, i) -> int:
    """Index of the next worse non-empty level after `i` (-1: none)."""
    row = _row_of(side)
    q = book.lv_qty
    if side == BUY:
        i -= 1
        while i >= 0 and q[row, i] == 0:
            i -= 1
        return i
    n = q.shape[1]
    i += 1
    while i < n and q[row, i] == 0:
        i += 1
    return i if i < n else -1


@_kernel
def _eff_best(book, orders, cons, params, side) -> int:
    i = _first_idx(book, side)
    base = book.meta[M_BASE]
    while i >= 0:
        if _avail(book, orders, cons, params, side, base + i) > 0:
            return base + i
        i = _next_idx(book, side, i)
    return NO_PRICE


@_kernel
def _fill(book, orders, params, out, now, r, price, qty, liq) -> bool:
    """Fill `qty` of our order in row `r` at `price`; a finished order leaves the book and the table."""
    bps = params[P_MAKER_BPS_H] if liq == LIQ_MAKER else params[P_TAKER_BPS_H]
    fee = fee_money(price, qty, params[P_MULT], bps, params[P_PER_LOT])
    leaves = orders[r, O_LEAVES] - qty
    orders[r, O_LEAVES] = leaves
    orders[r, O_EXEC] += qty
    params[P_POS] += orders[r, O_SIDE] * qty
    if orders[r, O_INBOOK] == 1:
        l3_execute(book, orders[r, O_KEY], qty)  # keeps the queue place; removes the order at 0
    oid = orders[r, O_ID]
    if leaves == 0:
        _drop_row(orders, params, r)
    return emit(out, params, now, oid, REPORT_FILL if leaves == 0 else REPORT_PARTIAL_FILL, price, qty, leaves,
                 fee, liq)


@_kernel
def _maker_take(book, orders, params, out, now, r, rem) -> tuple:
    """Our resting order in row `r` is reached with `rem` lots left: fill it; returns (ok, lots used)."""
    leaves = orders[r, O_LEAVES]
    use = min(leaves, rem)
    q = leaves if params[P_MODE] == MODE_NO_PARTIAL_FILL else use
    ok = _fill(book, orders, params, out, now, r, orders[r, O_PRICE], q, LIQ_MAKER)
    return ok, use


@_kernel
def _fill_through(book, orders, params, out, now, side, price, rem, inclusive) -> tuple:
    """Fill our resting orders of `side` priced strictly better than `price` (or equal, `inclusive`) in
    price-time priority by up to `rem` lots in total; returns (ok, lots left)."""
    ok = True
    while rem > 0:
        best = -1
        for r in range(params[P_NORD]):
            if orders[r, O_INBOOK] != 1 or orders[r, O_SIDE] != side:
                continue
            px = orders[r, O_PRICE]
            if not (_better(side, px, price) or (inclusive and px == price)):
                continue
            if best < 0 or _better(side, px, orders[best, O_PRICE]):
                best = r
        if best < 0:
            break
        o, used = _maker_take(book, orders, params, out, now, best, rem)
        ok &= o
        rem -= used
    return ok, rem


@_kernel
def _market_ahead(book, s) -> int:
    """Market quantity (anonymous + market orders, not ours) ahead of slot `s` in its queue."""
    ahead = book.lv_anon[book.o_side[s], book.o_price[s] - book.meta[M_BASE]]
    p = book.o_prev[s]
    while p >= 0:
        if not _is_own(book.o_id[p]):
            ahead += book.o_qty[p]
        p = book.o_prev[p]
    return ahead


@_kernel
def _forget_consumed(cons, params, side, price, a, q) -> None:
    """The data removed `q` market lots at position `a` of (side, price): drop their overlap with the
    consumed prefix."""
    k = cons_find(cons, params, side, price)
    if k < 0:
        return
    c = cons[k, 2]
    hi = min(c, a + q)
    if hi > a:
        c -= hi - a
    if c <= 0:
        cons_drop(cons, params, k)
    else:
        cons[k, 2] = c


@_kernel
def _take_resync(book, cons, params, side, price, qty) -> int:
    """An unknown id's removal beyond the front anonymous quantity: take it from the resync's anonymous orders
    of the level in FIFO order (front first); returns the lots not found."""
    row = _row_of(side)
    j = book.lv_head[row, price - book.meta[M_BASE]]
    while j >= 0 and qty > 0:
        nxt = book.o_next[j]
        key = book.o_id[j]
        if _is_resync(key):
            x = min(qty, book.o_qty[j])
            if params[P_NCONS] > 0:
                _forget_consumed(cons, params, side, price, _market_ahead(book, j), x)
            if x == book.o_qty[j]:
                l3_delete(book, key)
            else:
                l3_cancel(book, key, x)
            qty -= x
        j = nxt
    return qty


@_kernel
def _remove(book, cons, params, kind, side, price, qty, oid) -> None:
    """Apply a market cancel / delete / execution as `l3_replay` does (plus the consumed bookkeeping)."""
    s = _l3_find(book, oid)
    if s < 0:
        params[P_UNKNOWN_REFS] += 1
        if side != BUY and side != SELL:
            params[P_REJECTED] += 1
            return
        idx = price - book.meta[M_BASE]
        take = min(qty, book.lv_anon[_row_of(side), idx])
        if take > 0:
            _forget_consumed(cons, params, side, price, 0, take)
            l3_remove_anon(book, side, price, take)
        rest = qty - take
        if rest > 0 and params[P_RSEQ] > 0:  # the resync's anonymous orders are unknown orders too
            rest = _take_resync(book, cons, params, side, price, rest)
        if rest > 0:
            params[P_CLIPPED] += 1
        return
    oside = BUY if book.o_side[s] == BID else SELL
    opx = book.o_price[s]
    full = kind == EV_DELETE or qty >= book.o_qty[s]
    q = book.o_qty[s] if full else qty
    if q <= 0:
        params[P_REJECTED] += 1
        return
    if params[P_NCONS] > 0 and cons_find(cons, params, oside, opx) >= 0:
        _forget_consumed(cons, params, oside, opx, _market_ahead(book, s), q)
    if full:
        l3_delete(book, oid)
    else:
        l3_cancel(book, oid, q)


@_kernel
def _exec(book, orders, cons, params, out, now, side, price, qty, oid) -> bool:
    ok = True
    s = _l3_find(book, oid)
    if s >= 0:
        side = BUY if book.o_side[s] == BID else SELL
        price = book.o_price[s]
    if params[P_NORD] > 0 and qty > 0 and (side == BUY or side == SELL):
        # 1. our orders at strictly better prices: the aggressor traded through them first
        o, rem = _fill_through(book, orders, params, out, now, side, price, qty, False)
        ok &= o
        # 2. our orders at the same price ahead of X in the FIFO (none ahead of anonymous quantity)
        if s >= 0 and rem > 0 and _own_qty_at(orders, params, side, price) > 0:
            head = book.lv_head[_row_of(side), price - book.meta[M_BASE]]
            o, rem = _take_own_ahead(book, orders, params, out, now, head, s, rem)
            ok &= o
        # 2'. unknown id beyond the front anonymous quantity: it executes the resync's anonymous orders in FIFO
        # order, so our orders queued ahead of the last one it reaches were traded through first
        if s < 0 and rem > 0 and params[P_RSEQ] > 0 and _own_qty_at(orders, params, side, price) > 0:
            row = _row_of(side)
            idx = price - book.meta[M_BASE]
            need = qty - book.lv_anon[row, idx]
            last = -1
            j = book.lv_head[row, idx]
            while j >= 0 and need > 0:
                if _is_resync(book.o_id[j]):
                    need -= book.o_qty[j]
                    last = j
                j = book.o_next[j]
            if last >= 0:
                o, rem = _take_own_ahead(book, orders, params, out, now, book.lv_head[row, idx], last, rem)
                ok &= o
    # 3. the execution itself, as the data says
    _remove(book, cons, params, EV_EXEC, side, price, qty, oid)
    return ok


@_kernel
def _take_own_ahead(book, orders, params, out, now, j, stop, rem) -> tuple:
    """Walk a level's FIFO from node `j` up to (not including) node `stop`: our orders met on the way fill as makers,
    up to `rem` lots in all. Returns (reports fit, lots left)."""
    ok = True
    while j >= 0 and j != stop and rem > 0:
        nxt = book.o_next[j]
        key = book.o_id[j]
        if _is_own(key):
            r = _own_row_by_key(orders, params, key)
            o, used = _maker_take(book, orders, params, out, now, r, rem)
            ok &= o
            rem -= used
        j = nxt
    return ok, rem


@_kernel
def _add(book, orders, params, out, now, side, price, qty, oid) -> int:
    if (side != BUY and side != SELL) or qty <= 0 or _l3_find(book, oid) >= 0:
        params[P_REJECTED] += 1
        return V_OK
    meta = book.meta
    if meta[M_FREE] < 0 and meta[M_HWM] >= book.o_id.shape[0]:
        return V_NEED_ORDERS
    ok = True
    if params[P_NORD] > 0:
        # the incoming order would have matched our crossed orders of the other side first
        ok, _ = _fill_through(book, orders, params, out, now, -side, price, qty, True)
    l3_add(book, oid, side, price, qty)
    return V_OK if ok else V_REPORTS_FULL


@_kernel
def _clear(book, cons, params, side) -> None:
    base = book.meta[M_BASE]
    for row in range(2):
        sd = BUY if row == BID else SELL
        if side != 0 and side != sd:
            continue
        for idx in range(book.lv_qty.shape[1]):
            if book.lv_qty[row, idx] == 0:
                continue
            j = book.lv_head[row, idx]
            while j >= 0:
                nxt = book.o_next[j]
                if not _is_own(book.o_id[j]):
                    l3_delete(book, book.o_id[j])
                j = nxt
            a = book.lv_anon[row, idx]
            if a > 0:
                l3_remove_anon(book, sd, base + idx, a)
        k = 0
        while k < params[P_NCONS]:
            if cons[k, 0] == sd:
                cons_drop(cons, params, k)
            else:
                k += 1


@_kernel
def _ref_qty(ref, k, levels, col, price) -> int:
    """Quantity of reference row `k` at `price` on the side whose price column is `col` (0: not shown)."""
    for j in range(levels):
        if ref[k, j * ROW_STRIDE + col] == price:
            return ref[k, j * ROW_STRIDE + col + 1]
    return 0


@_kernel
def _rs_room(book, ref, params) -> int:
    """V_OK when the resync after the next market event can run without growing the book: every price of its
    reference row has a level, and one synthetic order per level (plus the event's own add) has a slot."""
    k = params[P_REF_ROW]
    if k >= ref.shape[0]:
        return V_OK
    base = book.meta[M_BASE]
    n = book.lv_qty.shape[1]
    for j in range(0, ref.shape[1], ROW_STRIDE):
        for c in (COL_ASK_PX, COL_BID_PX):
            p = ref[k, j + c]
            if p != NO_PRICE and (p - base < 0 or p - base >= n):
                params[P_NEED_PRICE] = p
                return V_NEED_LEVELS
    if book.meta[M_HWM] + ref.shape[1] // 2 + 1 > book.o_id.shape[0]:
        return V_NEED_ORDERS
    return V_OK


@_kernel
def _rs_set(book, orders, cons, params, out, now, side, price, target) -> bool:
    """Make the MARKET quantity (level minus our own) at (side, price) equal `target` (resync). Additions join
    the back of the queue as one anonymous synthetic order (behind every order of ours; an addition crossing
    our resting orders of the other side fills them first, as a market add would); removals take market
    quantity from the back of the queue, skipping ours, then from the front anonymous quantity."""
    row = _row_of(side)
    idx = price - book.meta[M_BASE]
    q = book.lv_qty[row, idx]
    m = q
    if q > 0 and params[P_NORD] > 0:
        m -= _own_qty_at(orders, params, side, price)
    if m == target:
        return True
    params[P_RS_LEVELS] += 1
    if target > m:
        x = target - m
        params[P_RS_ADDED] += x
        ok = True
        if params[P_NORD] > 0:
            ok, _ = _fill_through(book, orders, params, out, now, -side, price, x, True)
        l3_add(book, RESYNC_KEY_BASE + params[P_RSEQ], side, price, x)
        params[P_RSEQ] += 1
        return ok
    x = m - target
    params[P_RS_REMOVED] += x
    if params[P_NCONS] > 0:
        _forget_consumed(cons, params, side, price, target, x)  # the last x market lots: positions [target, m)
    j = book.lv_tail[row, idx]
    rem = x
    while j >= 0 and rem > 0:
        prv = book.o_prev[j]
        key = book.o_id[j]
        if not _is_own(key):
            oq = book.o_qty[j]
            if oq <= rem:
                l3_delete(book, key)
                rem -= oq
            else:
                l3_cancel(book, key, rem)
                rem = 0
        j = prv
    if rem > 0:
        l3_remove_anon(book, side, price, rem)
    return True


@_kernel
def _resync(book, orders, cons, params, out, ref, now) -> bool:
    """Reference resync after a market event (module docstring): the market's visible top-L equals reference row
    ``params[P_REF_ROW]`` (then advanced). Returns False when the report buffer overflowed."""
    k = params[P_REF_ROW]
    params[P_REF_ROW] = k + 1
    if k >= ref.shape[0]:
        return True
    levels = ref.shape[1] // ROW_STRIDE
    base = book.meta[M_BASE]
    ok = True
    for sd in (BUY, SELL):
        col = COL_BID_PX if sd == BUY else COL_ASK_PX
        # 1. every price the reference shows: its quantity
        for j in range(levels):
            p = ref[k, j * ROW_STRIDE + col]
            if p != NO_PRICE:
                ok &= _rs_set(book, orders, cons, params, out, now, sd, p, ref[k, j * ROW_STRIDE + col + 1])
        # 2. prices inside the window (from the side's best to its L-th reference level; the whole side when
        # fewer than L levels show) that the reference does not show: no market quantity
        bound = ref[k, (levels - 1) * ROW_STRIDE + col]
        i = _first_idx(book, sd)
        if bound == NO_PRICE:
            while i >= 0:
                if _ref_qty(ref, k, levels, col, base + i) == 0:
                    ok &= _rs_set(book, orders, cons, params, out, now, sd, base + i, 0)
                i = _next_idx(book, sd, i)
        elif i >= 0:
            # scan only the window's indices (a scan for the next level beyond it may cross the whole range)
            stop = bound - base
            step = -1 if sd == BUY else 1
            row = _row_of(sd)
            while (i >= stop) if sd == BUY else (i <= stop):
                if book.lv_qty[row, i] > 0 and _ref_qty(ref, k, levels, col, base + i) == 0:
                    ok &= _rs_set(book, orders, cons, params, out, now, sd, base + i, 0)
                i += step
    return ok


@_kernel
def market_step(book: L3Book, orders: np.ndarray, cons: np.ndarray, params: np.ndarray, out: np.ndarray,
                ref: np.ndarray, now: int, kind: int, side: int, price: int, qty: int, oid: int) -> int:
    """Apply one market event (module docstring) at exchange time `now`, then, when `ref` has rows (reference
    resync on), reconcile the visible levels with row ``params[P_REF_ROW]``; our reports are appended to
    ``out[params[P_NREP]:]``. Returns a `V_*` status; on `V_NEED_LEVELS` / `V_NEED_ORDERS` nothing changed."""
    rs = ref.shape[0] > 0
    if rs:
        room = _rs_room(book, ref, params)
        if room != V_OK:
            return room
    status = V_OK
    if kind == EV_ADD or kind == EV_CANCEL or kind == EV_DELETE or kind == EV_EXEC:
        if _is_reserved(oid):
            return V_BAD_ID
        idx = price - book.meta[M_BASE]
        if idx < 0 or idx >= book.lv_qty.shape[1]:
            params[P_NEED_PRICE] = price
            return V_NEED_LEVELS
        if kind == EV_ADD:
            status = _add(book, orders, params, out, now, side, price, qty, oid)
            if status == V_NEED_ORDERS:
                return status
        elif kind == EV_EXEC:
            status = V_OK if _exec(book, orders, cons, params, out, now, side, price, qty, oid) else V_REPORTS_FULL
        else:
            _remove(book, cons, params, kind, side, price, qty, oid)
    elif kind == EV_CLEAR:
        _clear(book, cons, params, side)
    if rs and not _resync(book, orders, cons, params, out, ref, now):
        status = V_REPORTS_FULL
    return status


@_kernel
def _rest_room(book, price) -> int:
    """V_OK when an order at `price` can join the book now, else what must grow first."""
    idx = price - book.meta[M_BASE]
    if idx < 0 or idx >= book.lv_qty.shape[1]:
        return V_NEED_LEVELS
    if book.meta[M_FREE] < 0 and book.meta[M_HWM] >= book.o_id.shape[0]:
        return V_NEED_ORDERS
    return V_OK


@_kernel
def _enter_book(book, orders, params, now, r) -> None:
    orders[r, O_INBOOK] = 1
    orders[r, O_ARRIVAL] = now
    l3_add(book, orders[r, O_KEY], orders[r, O_SIDE], orders[r, O_PRICE], orders[r, O_LEAVES])


@_kernel
def _new(book, orders, cons, params, out, now, oid, side, price, qty, otype, tif) -> int:
    if qty <= 0 or (side != BUY and side != SELL):
        return V_OK if emit(out, params, now, oid, REPORT_REJECTED, price, 0, 0, 0, LIQ_NONE) else V_REPORTS_FULL
    n = params[P_NORD]
    if n >= orders.shape[0]:
        return V_TABLE_FULL
    market = otype == ORDER_MARKET
    ioc_like = market or tif == TIF_IOC or tif == TIF_FOK
    if not ioc_like:
        room = _rest_room(book, price)
        if room != V_OK:
            params[P_NEED_PRICE] = price
            return room
    opp = -side
    ob = _eff_best(book, orders, cons, params, opp)
    marketable = ob != NO_PRICE and within(side, price, ob, market)
    if otype == ORDER_POST_ONLY and marketable:
        return V_OK if emit(out, params, now, oid, REPORT_REJECTED, price, 0, 0, 0, LIQ_NONE) else V_REPORTS_FULL
    for c in range(N_OCOL):
        orders[n, c] = 0
    orders[n, O_ID] = oid
    orders[n, O_KEY] = OWN_KEY_BASE + params[P_SEQ]
    params[P_SEQ] += 1
    orders[n, O_SIDE] = side
    orders[n, O_PRICE] = price
    orders[n, O_QTY] = qty
    orders[n, O_LEAVES] = qty
    orders[n, O_TYPE] = otype
    orders[n, O_TIF] = tif
    orders[n, O_ARRIVAL] = now
    params[P_NORD] = n + 1
    ok = emit(out, params, now, oid, REPORT_ACK, price, 0, qty, 0, LIQ_NONE)
    expire = ioc_like
    live = True
    if marketable:
        base = book.meta[M_BASE]
        if params[P_MODE] == MODE_NO_PARTIAL_FILL:
            if _avail(book, orders, cons, params, opp, ob) >= qty:
                if not consume(cons, params, opp, ob, qty):
                    return V_CONS_FULL
                ok &= _fill(book, orders, params, out, now, n, ob, qty, LIQ_TAKER)
                live = False
            else:
                expire = True
        else:
            go = True
            if tif == TIF_FOK:
                total = 0
                i = _first_idx(book, opp)
                while i >= 0 and total < qty:
                    if not within(side, price, base + i, market):
                        break
                    total += _avail(book, orders, cons, params, opp, base + i)
                    i = _next_idx(book, opp, i)
                go = total >= qty
            if go:
                i = _first_idx(book, opp)
                while i >= 0 and live:
                    p = base + i
                    if not within(side, price, p, market):
                        break
                    a = _avail(book, orders, cons, params, opp, p)
                    if a > 0:
                        take = min(a, orders[n, O_LEAVES])
                        if not consume(cons, params, opp, p, take):
                            return V_CONS_FULL
                        live = take < orders[n, O_LEAVES]
                        ok &= _fill(book, orders, params, out, now, n, p, take, LIQ_TAKER)
                    i = _next_idx(book, opp, i)
    if live:
        if expire:
            _drop_row(orders, params, n)
            ok &= emit(out, params, now, oid, REPORT_EXPIRED, price, 0, 0, 0, LIQ_NONE)
        else:
            _enter_book(book, orders, params, now, n)
    return V_OK if ok else V_REPORTS_FULL


@_kernel
def _replace(book, orders, cons, params, out, now, oid, price, qty) -> int:
    r = _own_row_by_id(orders, params, oid)
    if r < 0 or qty <= 0:
        ok = emit(out, params, now, oid, REPORT_REPLACE_REJECTED, price, 0, 0, 0, LIQ_NONE)
        return V_OK if ok else V_REPORTS_FULL
    side = orders[r, O_SIDE]
    leaves = orders[r, O_LEAVES]
    ob = _eff_best(book, orders, cons, params, -side)
    if ob != NO_PRICE and within(side, price, ob, False):
        ok = emit(out, params, now, oid, REPORT_REPLACE_REJECTED, price, 0, leaves, 0, LIQ_NONE)
        return V_OK if ok else V_REPORTS_FULL
    if price == orders[r, O_PRICE] and qty <= leaves:
        if qty < leaves:
            l3_cancel(book, orders[r, O_KEY], leaves - qty)  # shrinks in place: the queue place is kept
        orders[r, O_LEAVES] = qty
        orders[r, O_QTY] = orders[r, O_EXEC] + qty
    else:
        n = params[P_NORD]
        if n >= orders.shape[0]:
            return V_TABLE_FULL
        if _rest_room(book, price) == V_NEED_LEVELS:
            params[P_NEED_PRICE] = price
            return V_NEED_LEVELS
        l3_delete(book, orders[r, O_KEY])  # frees a slot, so the re-add always has one
        for c in range(N_OCOL):  # move the row to the end: rows stay in book-entry order
            orders[n, c] = orders[r, c]
        params[P_NORD] = n + 1
        _drop_row(orders, params, r)
        r = n - 1
        orders[r, O_PRICE] = price
        orders[r, O_LEAVES] = qty
        orders[r, O_QTY] = orders[r, O_EXEC] + qty
        _enter_book(book, orders, params, now, r)
    ok = emit(out, params, now, oid, REPORT_REPLACED, price, qty, qty, 0, LIQ_NONE)
    return V_OK if ok else V_REPORTS_FULL


@_kernel
def order_step(book: L3Book, orders: np.ndarray, cons: np.ndarray, params: np.ndarray, out: np.ndarray, op: int,
               now: int, oid: int, side: int, price: int, qty: int, otype: int, tif: int) -> int:
    """Apply one of our order operations (``OP_*``; module docstring) at exchange time `now`. Returns a `V_*`
    status; on `V_NEED_LEVELS` / `V_NEED_ORDERS` / `V_TABLE_FULL` nothing changed."""
    if op == OP_NEW:
        return _new(book, orders, cons, params, out, now, oid, side, price, qty, otype, tif)
    if op == OP_CANCEL:
        r = _own_row_by_id(orders, params, oid)
        if r < 0:
            ok = emit(out, params, now, oid, REPORT_CANCEL_REJECTED, 0, 0, 0, 0, LIQ_NONE)
        else:
            px = orders[r, O_PRICE]
            if orders[r, O_INBOOK] == 1:
                l3_delete(book, orders[r, O_KEY])
            _drop_row(orders, params, r)
            ok = emit(out, params, now, oid, REPORT_CANCELED, px, 0, 0, 0, LIQ_NONE)
        return V_OK if ok else V_REPORTS_FULL
    if op == OP_REPLACE:
        return _replace(book, orders, cons, params, out, now, oid, price, qty)
    return V_BAD_OP


@_kernel
def out_need(params, width, ref) -> int:
    """Report rows one venue call may need: ACK + one fill per order of ours (event and resync crossing fills
    each reach an order once in full) + one partial per level walked or adjusted + slack."""
    return 8 + 2 * params[P_NORD] + width + ref.shape[1]


@_kernel
def market_snapshot(book, orders, params, n, row) -> None:
    """Top-`n` levels of the market's quantity (level minus our own orders; levels holding only ours are
    empty) into `row` (int64[4n], LOBSTER layout, empty levels ``(NO_PRICE, 0)``)."""
    base = book.meta[M_BASE]
    for sd in (BUY, SELL):
        col = COL_BID_PX if sd == BUY else COL_ASK_PX
        j = 0
        i = _first_idx(book, sd)
        while i >= 0 and j < n:
            p = base + i
            m = _level_qty(book, sd, p) - _own_qty_at(orders, params, sd, p)
            if m > 0:
                row[j * ROW_STRIDE + col] = p
                row[j * ROW_STRIDE + col + 1] = m
                j += 1
            i = _next_idx(book, sd, i)
        while j < n:
            row[j * ROW_STRIDE + col] = NO_PRICE
            row[j * ROW_STRIDE + col + 1] = 0
            j += 1


# ======================================================================= Python driver
class L3Venue:
    """Owns the venue state for one symbol and drives the kernels. Every method returns the reports it produced
    (a `VENUE_REPORT_DTYPE` array, copied).

    Args:
        book: the venue's L3 book (market state already applied), or None for an empty one (seed it with
            `seed_level` / `seed_reference`).
        mode: ``MODE_PARTIAL_FILL`` or ``MODE_NO_PARTIAL_FILL``.
        fees: a `FeeSchedule`; multiplier: the symbol's money multiplier (money = ticks × lots × multiplier).
        capacity: initial order-table rows (grows on demand).
        reference: LOBSTER reference rows (int64 ``(n_messages, 4*L)``, `hft.data.lobster.LobsterData.reference`)
            to resync the visible book after every market event (row i after the i-th `market` call); None:
            no resync (the data-alone book).
    """

    def __init__(self, book: L3Book | None = None, mode: int = MODE_PARTIAL_FILL, fees: FeeSchedule | None = None,
                 multiplier: int = 1, capacity: int = 64, reference: np.ndarray | None = None) -> None:
        if mode not in (MODE_PARTIAL_FILL, MODE_NO_PARTIAL_FILL):
            raise SimError(f"exchange mode: expected one of {sorted(EXCHANGE_MODES)}, was {mode!r}")
        if reference is None:
            ref = np.zeros((0, ROW_STRIDE), dtype=np.int64)
        else:
            ref = np.ascontiguousarray(reference, dtype=np.int64)
            if ref.ndim != 2 or ref.shape[1] < ROW_STRIDE or ref.shape[1] % ROW_STRIDE:
                raise SimError(f"venue reference: expected int64 rows of 4*L columns, was shape {ref.shape}")
        ref = ref.view()
        ref.flags.writeable = False  # one numba specialisation (read-only) whether resync is on or off
        self.ref = ref
        fees = fees or FeeSchedule()
        self.book = book if book is not None else new_l3_book(0, 4096, 4096)
        self.orders = np.zeros((max(4, capacity), N_OCOL), dtype=np.int64)
        self.cons = np.zeros((64, 3), dtype=np.int64)
        self.params = np.zeros(N_PARAMS, dtype=np.int64)
        self.params[P_MODE] = mode
        self.params[P_MULT] = multiplier
        self.params[P_MAKER_BPS_H] = fees.maker_bps_h
        self.params[P_TAKER_BPS_H] = fees.taker_bps_h
        self.params[P_PER_LOT] = fees.per_lot
        self.out = np.zeros(64, dtype=VENUE_REPORT_DTYPE)

    # --- growth and sizing: the kernels never run out of room
    def _grow_levels(self, price: int) -> None:
        self.book = l3_grow_levels(self.book, price)
        idx = price - int(self.book.meta[M_BASE])
        if not 0 <= idx < self.book.lv_qty.shape[1]:
            raise SimError(f"venue: expected a price within {MAX_LEVEL_SPAN} ticks of the book, was {price}")

    def _ensure_out(self) -> None:
        """Room for every report one call can write (ACK + one fill per level or per order of ours + one more)
        and for one taker walk in ``cons`` (at most one row per level)."""
        width = self.book.lv_qty.shape[1]
        need = 8 + 2 * int(self.params[P_NORD]) + width + self.ref.shape[1]  # = out_need (the numba engine's test)
        if self.out.shape[0] < need:
            self.out = np.zeros(max(need, 2 * self.out.shape[0]), dtype=VENUE_REPORT_DTYPE)
        if self.cons.shape[0] - int(self.params[P_NCONS]) < width + 1:
            grown = np.zeros((self.cons.shape[0] + width + 64, 3), np.int64)
            grown[: self.cons.shape[0]] = self.cons
            self.cons = grown

    def _call(self, fn, *args: int) -> np.ndarray:
        while True:
            self._ensure_out()
            self.params[P_NREP] = 0
            status = int(fn(self.book, self.orders, self.cons, self.params, self.out, *args))
            if status == V_NEED_LEVELS:
                self._grow_levels(int(self.params[P_NEED_PRICE]))
            elif status == V_NEED_ORDERS:
                self.book = l3_grow_orders(self.book)
            elif status == V_TABLE_FULL:
                grown = np.zeros((2 * self.orders.shape[0], N_OCOL), dtype=np.int64)
                grown[: self.orders.shape[0]] = self.orders
                self.orders = grown
            elif status == V_OK:
                return self.out[: int(self.params[P_NREP])].copy()
            else:
                raise SimError(f"venue: expected status ok, was {V_STATUS_NAMES.get(status, status)}")

    # --- orders
    def new(self, now: int, oid: int, side: int, price: int, qty: int, otype: int, tif: int) -> np.ndarray:
        return self._call(order_step, OP_NEW, now, oid, side, price, qty, otype, tif)

    def cancel(self, now: int, oid: int) -> np.ndarray:
        return self._call(order_step, OP_CANCEL, now, oid, 0, 0, 0, 0, 0)

    def replace(self, now: int, oid: int, price: int, qty: int) -> np.ndarray:
        return self._call(order_step, OP_REPLACE, now, oid, 0, price, qty, 0, 0)

    # --- market data
    def market(self, now: int, kind: int, side: int, price: int, qty: int, order_id: int) -> np.ndarray:
        """Apply one L3 market event (``EV_*``; see the module docstring) and return our reports."""
        return self._call(market_step, self.ref, now, kind, side, price, qty, order_id)

    def seed_level(self, side: int, price: int, qty: int) -> None:
        """Add anonymous quantity (orders that rested before the recording) at the front of a level."""
        if side not in (BUY, SELL) or qty <= 0:
            raise SimError(f"seed_level: expected side BUY/SELL and qty > 0, was side {side}, qty {qty}")
        idx = price - int(self.book.meta[M_BASE])
        if not 0 <= idx < self.book.lv_qty.shape[1]:
            self._grow_levels(price)
        status = l3_add_anon(self.book, side, price, qty)
        if status != OK:
            raise SimError(f"seed_level: expected ok, was status {status}")

    def seed_reference(self, row: np.ndarray) -> None:
        """Seed every level of a LOBSTER reference row (``ask_px, ask_sz, bid_px, bid_sz`` per level, prices in
        ticks, empty levels ``NO_PRICE``) as anonymous quantity. Row k is the book AFTER message k: seed with
        row 0 and replay from message 1."""
        row = np.asarray(row, dtype=np.int64)
        for lv in range(row.shape[0] // 4):
            ap, asz, bp, bsz = (int(x) for x in row[4 * lv: 4 * lv + 4])
            if ap != NO_PRICE and asz > 0:
                self.seed_level(SELL, ap, asz)
            if bp != NO_PRICE and bsz > 0:
                self.seed_level(BUY, bp, bsz)

    # --- inspection
    def queue_ahead(self, oid: int) -> int:
        """Exact quantity ahead of our resting order `oid` in its FIFO (anonymous, market and our own earlier
        orders); -1 when the order does not rest."""
        r = _own_row_by_id(self.orders, self.params, oid)
        if r < 0 or self.orders[r, O_INBOOK] != 1:
            return -1
        return int(l3_queue_ahead(self.book, self.orders[r, O_KEY]))

    def working(self) -> dict[int, dict[str, int]]:
        """Working orders by order id: side, price, leaves, filled, front (exact queue ahead)."""
        out = {}
        for j in range(int(self.params[P_NORD])):
            r = self.orders[j]
            out[int(r[O_ID])] = {"side": int(r[O_SIDE]), "price": int(r[O_PRICE]), "leaves": int(r[O_LEAVES]),
                                 "filled": int(r[O_EXEC]), "front": self.queue_ahead(int(r[O_ID]))}
        return out

    def market_top(self, n: int) -> np.ndarray:
        """Top-`n` snapshot (int64[4n], LOBSTER layout) of the MARKET's book: every level without our own
        orders (what the reference rows show)."""
        row = np.empty(ROW_STRIDE * n, dtype=np.int64)
        market_snapshot(self.book, self.orders, self.params, n, row)
        return row

    def resync_counters(self) -> dict[str, int | bool]:
        """Reference resync: on / off, levels adjusted, lots added and removed (how far the data-alone book
        was off)."""
        return {"enabled": bool(self.ref.shape[0] > 0), "levels": int(self.params[P_RS_LEVELS]),
                "added": int(self.params[P_RS_ADDED]), "removed": int(self.params[P_RS_REMOVED])}

    @property
    def position(self) -> int:
        """Signed position from our fills, lots."""
        return int(self.params[P_POS])

    def counters(self) -> dict[str, int]:
        """Data counters: unknown-id references, clipped anonymous removals, rejected (invalid) market adds."""
        return {"unknown_refs": int(self.params[P_UNKNOWN_REFS]), "clipped": int(self.params[P_CLIPPED]),
                "rejected": int(self.params[P_REJECTED])}
