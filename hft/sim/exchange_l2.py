"""The simulated venue for L2 (market-by-price) data: our order table, matching, queue position, fees.

Layout (numba; few arrays per call, as the gateway's measured lesson asks):

* the venue's copy of the market book is an `hft.book.l2.L2Book`, advanced by the caller (`L2Venue.depth`
  applies the level with `hft.book.l2.set_level`, growing the book when needed, then calls the kernel with the
  level's previous quantity);
* ``orders`` int64 ``[cap, N_OCOL]`` — our working orders, one row per slot (``O_*`` columns; ``O_LIVE == 0``
  marks a free slot; a finished order frees its slot at once);
* ``fq`` float64 ``[cap, 2]`` — queue estimate per slot: ``front`` (lots ahead of us) and ``cum_trade`` (lots
  traded at our price since the last depth update, see `hft.sim.queue_models`);
* ``cons`` int64 ``[m, 3]`` — visible liquidity our taker fills consumed: ``(side, price, lots)``;
* ``params`` int64 ``[N_PARAMS]`` — mode, money multiplier, fees, counters (``P_*``);
* ``out`` — a caller-allocated `VENUE_REPORT_DTYPE` buffer (`hft.core.orders.VENUE_REPORT`: the execution
  report's fields plus ``liquidity`` and ``queue``);
  ``params[P_NREP]`` counts the rows written. `L2Venue` sizes it before every call so it never overflows
  (the kernel still returns `V_REPORTS_FULL` rather than writing out of bounds).

One entry kernel, `step(book, orders, fq, cons, qm, params, out, op, now, oid, side, price, qty, otype, tif,
aux, trail, oco, parent)`, does every operation (``OP_*``) and returns a status code (`V_*`); one kernel keeps numba's cold compile
short.

Semantics (exactly what is implemented)
---------------------------------------
Market replay is exogenous: our fills never change the replayed book (no market impact). Our *taker* fills
remember the lots they took per level in ``cons`` so that visible liquidity is not consumed twice: a level's
*available* quantity is ``displayed - consumed``, and the consumed count of a level is forgotten when that level
next updates (a depth event at that side and price) or its side is cleared. The *effective opposite best* is the
best opposite level with available quantity > 0; it decides marketability and crossing.

NEW (``oid, side, price, qty, otype, tif``):

* qty <= 0 or above `hft.book.topn.QTY_MAX` (2**62 - 1 lots: so an order's filled and open lots always add up
  within int64), bad side, or a full order table → ``REJECTED``.
* marketable = the effective opposite best exists and (market order, or buy price >= it, or sell price <= it).
* post-only and marketable → ``REJECTED`` (nothing else happens). Otherwise ``ACK`` first (leaves = qty).
* marketable, mode ``partial_fill``: walk the opposite levels from the effective best while the level price is
  within the limit (market: no limit), taking ``min(available, leaves)`` at each level price, as taker. FOK
  first checks that the available quantity within the limit covers qty; if not → ``EXPIRED`` with no fill.
* marketable, mode ``no_partial_fill`` (hftbacktest's NoPartialFillExchange, taker side, as the peer does it):
  the order fills entirely at the effective best level as taker (one ``FILL``), whatever the quantity shown
  there and whatever its TIF; nothing is recorded as consumed (the peer keeps no such count), so in this mode
  the effective best is always the displayed best. Unrealistic for sizes larger than the level (the peer's
  documentation says so too); `all_or_none` is the realistic variant.
* marketable, mode ``all_or_none`` (all or nothing at the touch): if the available quantity at the effective
  best level covers the whole qty, the order fills entirely there as taker (one ``FILL``, consumed); otherwise
  nothing fills and the order is ``EXPIRED`` whatever its TIF (this venue cannot rest an order that crosses the
  book). Maker fills as ``no_partial_fill``.
* remaining leaves: market, IOC and FOK → ``EXPIRED``; limit / post-only GTC (and DAY, treated as GTC: no
  session end) rest at their price with ``front`` = the displayed quantity at that price on our side at arrival
  (our own orders are never in the displayed quantity), ``cum_trade`` = 0.

Stops (``otype`` `ORDER_STOP` / `ORDER_STOP_LIMIT`, ``aux`` = the trigger price, docs/sim.md "Stop orders held by
the venue"): NEW checks qty, side and the table as above and a trigger > 0 (else ``REJECTED``), then holds the
order (``O_LIVE`` = 2: not in the book, no queue place, no fill) and reports ``ACK`` (leaves = qty, queue -1). A
print (TRADE) at a price >= the trigger of a held buy stop, or <= the trigger of a held sell stop, triggers it, in
slot order, after the print's fills of our resting orders: the venue reports ``TRIGGERED`` (price = the print's,
leaves = qty) and enters the order at that time as a NEW without its ACK: a stop as a market IOC order, a stop-limit
as a limit order at its price with its TIF (it takes what it can, then rests at the back of its level's queue). A
print before the stop arrived never triggers it; our own fills are not prints (the replay is exogenous). DEPTH and
CLEAR never trigger. CANCEL of a held stop → ``CANCELED``; REPLACE of one → ``REPLACE_REJECTED``.

Trailing stops (a stop / stop-limit NEW with ``trail`` > 0 ticks, docs/sim.md "Trailing stops"; a trailing
stop-limit whose limit is not at or through its trigger — a buy's limit >= trigger, a sell's <= — and a ``trail``
on any other order type or < 0 → ``REJECTED``): held as a stop. Each print first tests the trigger as it stood
(the rule above); a print that does not trigger it then moves it toward the market: a sell's trigger becomes
``max(trigger, print - trail)``, a buy's ``min(trigger, print + trail)`` (at least 1), and a stop-limit's limit
moves by the same amount (limit − trigger is kept): `hft.sim.venue_common.trail_follow`, the L3 venue's rule too.
The TRIGGERED report's price is the print's, as for any stop.

OCO and bracket orders (a NEW with ``oco`` / ``parent``, docs/sim.md "OCO and bracket orders held by the venue"):
``oco`` names the other order of a pair: one the venue holds (working or held) not paired yet, else ``REJECTED``;
both link (``O_OCO``). ``parent`` names a bracket child's entry: one the venue holds that is no held child itself,
the child a limit / stop / stop-limit (`may_follow`), else ``REJECTED``; the child is held (``O_LIVE`` 3, ACK) and
counted on its parent (``O_KIDS``). The venue remembers the last `DONE_ROWS` orders that ended (filled, cancelled,
expired) with their filled lots (a ring in ``params``: `_end`, `venue_common.ring_lots`), so a link may name an order that ended
before the NEW arrived (an entry that filled on arrival): a NEW whose pair's other has ended is ACKed and then
``CANCELED`` (the OCO rule); a child whose entry has ended (and was no held child) is ACKed and held ready
(``O_LIVE`` 4) for the lots the entry filled, at most its size; an order neither held nor remembered →
``REJECTED``. `_linked` is the one place of the consequences, called after every fill of an
order, its trigger, and its end (cancel, expiry, an IOC's expiry): the other of its pair is ``CANCELED`` (after that
fill's report / the trigger's reports); an order with no leaves (and a cancelled other) readies its children
(``O_LIVE`` 4) with the lots it filled, at most their size. At the end of the step `_release` takes the ready
children in slot order: none filled → ``CANCELED`` (its pair's other with it); else ``REPLACED`` (qty = leaves = that
size) and a stop is held from now, a limit enters as a NEW (without an ACK) keeping its pair. A held child is not
replaced (``REPLACE_REJECTED``).

CANCEL (``oid``): a working order → ``CANCELED`` (qty 0, leaves 0); an order the venue does not hold (never
arrived, already filled / cancelled / expired) → ``CANCEL_REJECTED``.

EXPIRE (``oid``; a GTD order's expiry, which the engine schedules when the order arrives: docs/sim.md, "Good till
date"): a working or held order → ``EXPIRED`` (price: its price, qty 0, leaves 0); an order the venue does not hold
→ no report. Limit / post-only / stop-limit GTD orders rest like GTC until then.

REPLACE (``oid, price, qty`` = the new *open* size, as the gateway's REPLACED report expects): unknown order,
qty <= 0, filled + qty above ``QTY_MAX``, or a new price that would be marketable → ``REPLACE_REJECTED`` (a replace never takes liquidity; the
order keeps its old price, size and queue place). Same price and qty <= leaves → the order keeps its queue
position (``front``) and only its size shrinks. Anything else → a fresh queue position (front = displayed
quantity at the new price). Report ``REPLACED`` with price = new price, qty = leaves = new open size.

DEPTH (``side, price, qty`` = new displayed quantity, ``aux`` = previous displayed quantity): for every working
order of ours on that side at that price, ``front', cum_trade = queue_models.on_depth(model, front, cum_trade,
prev, new)``, then clamped: a front > 0 becomes ``max(front', 0)`` and a front <= 0 (we are at the head, or
being filled) is kept — cancels can bring us to the head of the queue but never fill us, only trades do; the
level's consumed count is forgotten; then the cross check runs.

TRADE (``side`` = aggressor, ``price, qty``): only our orders on the passive side (``-aggressor``) react.

* trade-through (a sell aggressor printing below our buy price, a buy aggressor above our sell price): the
  order fills entirely at its own price, maker.
* a trade at our price: ``front -= qty`` (`queue_models.on_trade`); ``n = filled_lots(front)`` is the number
  of our lots the trades have reached since the queue position began. ``partial_fill``: fill
  ``min(n - already_filled_from_this_queue_position, leaves)`` (maker, at our price). ``no_partial_fill`` and
  ``all_or_none``: once ``n >= 1`` the whole order fills (maker, at our price).

Trades never change the book (depth events do).

CLEAR (``side``; 0 = both): consumed counts of that side are forgotten; queue fronts are kept (a snapshot that
follows re-sets the levels through DEPTH, which applies the model). Then the cross check runs.

Cross check (after DEPTH and CLEAR): a working buy whose price >= the effective best ask, or a sell whose price
<= the effective best bid, fills entirely at its own price as maker (the opposite side moved through it). Such
fills do not consume visible liquidity.

Fees: `hft.sim.fees.fee_money` with the maker or taker bps and the per-lot fee, exact: ``fee + fee_frac / 1e6``
money units (``fee`` the floor), > 0 paid; a fill whose value or fee would not fit int64 carries ``FEE_REFUSED`` (the engines stop the run at it: `hft.sim.fees`, "Range").
Reports carry the exchange time ``now``; fills are ``PARTIAL_FILL`` while leaves > 0, then ``FILL``.
Iteration over our orders is by slot index, so runs are deterministic.
"""

from __future__ import annotations

import numpy as np

from hft.book.l2 import (
    BOOK_ASK_BASE,
    BOOK_ASK_HI,
    BOOK_BEST_ASK,
    BOOK_BEST_BID,
    BOOK_BID_BASE,
    BOOK_BID_LO,
    BOOK_N_ASK,
    BOOK_N_BID,
    L2_OK,
    L2_OUT_OF_RANGE,
    L2_STATUS_NAMES,
    L2Book,
    clear,
    grow,
    new_book,
    next_down,
    next_up,
    set_level,
)
from hft.book.topn import QTY_MAX, level_index
from hft.core.dtypes import BUY, NO_PRICE, SELL
from hft.core.errors import SimError
from hft.core.jit import helper, njit

# re-exported: the liquidity flag and the venue report are declared with the order-flow records (hft.core.orders)
from hft.core.order_rules import bad_trail, is_stop, may_show
from hft.core.orders import LIQ_MAKER as LIQ_MAKER
from hft.core.orders import LIQ_NONE as LIQ_NONE
from hft.core.orders import LIQ_TAKER as LIQ_TAKER
from hft.core.orders import LIQUIDITY_NAMES as LIQUIDITY_NAMES
from hft.core.orders import (
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_POST_ONLY,
    ORDER_STOP,
    ORDER_STOP_LIMIT,
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    REPORT_TRIGGERED,
    TIF_FOK,
    TIF_IOC,
)
from hft.core.orders import VENUE_REPORT_DTYPE as VENUE_REPORT_DTYPE
from hft.sim.entry_points import CallSite
from hft.sim.fees import FeeSchedule, fee_money
from hft.sim.queue_models import QueueModel, filled_lots, on_depth, on_trade
from hft.sim.venue_common import (
    LINK_BAD,
    LINK_HELD,
    P_NCONS,
    P_NREP,
    RING_WORDS,
    cons_drop,
    cons_find,
    consume,
    emit,
    emit_fill,
    link_size,
    new_aux,
    ring_push,
    trail_follow,
    triggers,
    within,
)

# --- exchange modes ----------------------------------------------------------------------------------------
MODE_PARTIAL_FILL = 0
MODE_NO_PARTIAL_FILL = 1  # hftbacktest's NoPartialFillExchange: a marketable order fills whole at the best
MODE_ALL_OR_NONE = 2  # whole fills only, and a taker only when the best level covers it (else EXPIRED)
EXCHANGE_MODES = {"partial_fill": MODE_PARTIAL_FILL, "no_partial_fill": MODE_NO_PARTIAL_FILL,
                  "all_or_none": MODE_ALL_OR_NONE}

# --- operations --------------------------------------------------------------------------------------------
OP_NEW = 1
OP_CANCEL = 2
OP_REPLACE = 3
OP_DEPTH = 4
OP_TRADE = 5
OP_CLEAR = 6
OP_EXPIRE = 7  # a GTD order's expiry (the engine's `hft.sim.venue_common.CMD_EXPIRE`)

# --- status codes ------------------------------------------------------------------------------------------
V_OK = 0
V_REPORTS_FULL = 1  # the report buffer had no room (reports were lost: size it with `L2Venue`)
V_CONS_FULL = 2  # the consumed-liquidity table had no room
V_BAD_OP = 3
V_STATUS_NAMES = {V_OK: "ok", V_REPORTS_FULL: "report buffer full", V_CONS_FULL: "consumed table full",
                  V_BAD_OP: "unknown operation"}

# --- order table columns -----------------------------------------------------------------------------------
O_ID = 0  # gateway order id
O_SIDE = 1
O_PRICE = 2
O_QTY = 3  # total size (filled + open)
O_LEAVES = 4  # open size
O_EXEC = 5  # cumulative filled
O_TYPE = 6
O_TIF = 7
O_LIVE = 8  # LIVE_WORKING, LIVE_HELD (a stop: not in the book) or 0 (a free slot)
O_QFILL = 9  # lots filled from the current queue position
O_ARRIVAL = 10  # exchange time the order (or its last repositioning) arrived
O_TRIGGER = 11  # a held stop's trigger price
O_DISPLAY = 12  # an iceberg's display (0: not an iceberg, the whole order shows)
O_SHOWN = 13  # an iceberg's shown part at its current queue position (lots; O_QFILL of them filled so far)
O_TRAIL = 14  # a held trailing stop's distance from the prints (ticks; 0: not trailing)
O_OCO = 15  # the order id of the other order of its OCO pair (0: none)
O_PARENT = 16  # a held bracket child's entry: its parent's order id (0: none, or released)
O_KIDS = 17  # a bracket entry's children held for it (0: none)
N_OCOL = 18
LIVE_WORKING = 1
LIVE_HELD = 2
LIVE_PENDING = 3  # a bracket child held, out of the book, until its parent has no leaves
LIVE_READY = 4  # a bracket child whose parent has no leaves: `_release` enters it (or cancels it) at the step's end

F_FRONT = 0
F_CUM = 1

# --- params ------------------------------------------------------------------------------------------------
P_MODE = 0
P_MULT = 1
P_MAKER_BPS_H = 2
P_TAKER_BPS_H = 3
P_PER_LOT = 4
# 5 = P_NREP (rows written to `out`), 6 = P_NCONS (rows used in `cons`): see hft.sim.venue_common
P_NHELD = 7  # held orders (O_LIVE 2: stops, 3 and 4: bracket children) in the order table
P_NREADY = 8  # bracket children ready to enter (O_LIVE 4)
P_DONE = 9  # the ring of ended orders (`venue_common.ring_push`: `RING_WORDS` words)
N_PARAMS = P_DONE + RING_WORDS

# ======================================================================= kernels
# No reference counting (`_nrt=False`): the kernels allocate nothing and their arrays are owned by the caller; with
# it, every call that passes the book (a NamedTuple of five arrays) paid atomic increments and decrements per member.
_kernel = njit(cache=True, _nrt=False)


@helper
def out_rows(orders, params, levels) -> int:
    """The report rows one `step` may write, `levels` the book's levels plus one: an ACK, a fill per order of ours
    resting, one walk of the book (the new order's; the orders held stops become share it: each takes what is
    available, so each leaves at most one level part-taken), and per held order (a stop, a bracket child) its
    TRIGGERED / REPLACED, that part-taken level and its expiry; per order one CANCELED (an OCO pair's other); slack.
    `L2Venue` and the numba engine size ``out`` to it before each call."""
    return 8 + 2 * orders.shape[0] + levels + 3 * params[P_NHELD]


@_kernel
def _level_qty(book, side, price) -> int:
    st = book.state
    if side == BUY:
        i = level_index(price, st[BOOK_BID_BASE], book.bid_qty.shape[0])
        return book.bid_qty[i] if i >= 0 else 0
    i = level_index(price, st[BOOK_ASK_BASE], book.ask_qty.shape[0])
    return book.ask_qty[i] if i >= 0 else 0


@_kernel
def _avail(book, cons, params, side, price) -> int:
    q = _level_qty(book, side, price)
    k = cons_find(cons, params, side, price)
    if k >= 0:
        q -= cons[k, 2]
    return q if q > 0 else 0


@_kernel
def _first_level(book, side) -> int:
    """Index of the best level of `side` (-1: empty)."""
    st = book.state
    if side == BUY:
        return -1 if st[BOOK_BEST_BID] == NO_PRICE else st[BOOK_BEST_BID] - st[BOOK_BID_BASE]
    return -1 if st[BOOK_BEST_ASK] == NO_PRICE else st[BOOK_BEST_ASK] - st[BOOK_ASK_BASE]


@_kernel
def _next_level(book, side, i) -> int:
    """Index of the next worse level after index `i` (-1: none)."""
    st = book.state
    if side == BUY:
        return next_down(book.bid_qty, book.bid_blk, i, st[BOOK_BID_LO])
    return next_up(book.ask_qty, book.ask_blk, i, st[BOOK_ASK_HI])


@_kernel
def _price_of(book, side, i) -> int:
    return i + (book.state[BOOK_BID_BASE] if side == BUY else book.state[BOOK_ASK_BASE])


@_kernel
def _eff_best(book, cons, params, side) -> int:
    """Best price of `side` with available (displayed - consumed) quantity > 0; NO_PRICE when none."""
    i = _first_level(book, side)
    while i >= 0:
        p = _price_of(book, side, i)
        if _avail(book, cons, params, side, p) > 0:
            return p
        i = _next_level(book, side, i)
    return NO_PRICE


@_kernel
def _fill(orders, params, out, now, j, price, qty, liq) -> bool:
    """Fill `qty` of the working order in slot `j` at `price`; frees the slot when done."""
    bps = params[P_MAKER_BPS_H] if liq == LIQ_MAKER else params[P_TAKER_BPS_H]
    fee, frac = fee_money(price, qty, params[P_MULT], bps, params[P_PER_LOT])
    leaves = orders[j, O_LEAVES] - qty
    orders[j, O_LEAVES] = leaves
    orders[j, O_EXEC] += qty
    kind = REPORT_FILL if leaves == 0 else REPORT_PARTIAL_FILL
    if leaves == 0:
        _end(orders, params, j)
    ok = emit_fill(out, params, now, orders[j, O_ID], kind, price, qty, leaves, fee, frac,
                   LIQ_MAKER if liq == LIQ_MAKER else LIQ_TAKER)
    if orders[j, O_OCO] != 0 or (leaves == 0 and orders[j, O_KIDS] != 0):
        ok &= _linked(orders, params, out, now, j)
    return ok


@_kernel
def _find(orders, oid) -> int:
    """The slot of our working or held order `oid` (-1: none)."""
    for j in range(orders.shape[0]):
        if orders[j, O_LIVE] != 0 and orders[j, O_ID] == oid:
            return j
    return -1


@helper  # inlined into its callers (no kernel, no cache entry of its own)
def _free(orders, params, j) -> None:
    """The order in slot `j` leaves the table (the held and ready counts kept)."""
    live = orders[j, O_LIVE]
    if live >= LIVE_HELD:
        params[P_NHELD] -= 1
        if live == LIVE_READY:
            params[P_NREADY] -= 1
    orders[j, O_LIVE] = 0


@helper  # inlined into its callers (no kernel, no cache entry of its own)
def _end(orders, params, j) -> None:
    """The order in slot `j` ends (filled, cancelled, expired): it leaves the table (`_free`), and the ring of
    ended orders remembers its id and filled lots (-1 for a bracket child that ended held), overwriting the oldest."""
    ring_push(params, P_DONE, orders[j, O_ID], -1 if orders[j, O_PARENT] != 0 else orders[j, O_EXEC])
    _free(orders, params, j)


@helper  # inlined into its callers (no kernel, no cache entry of its own)
def _kids_ready(orders, params, j) -> None:
    """The bracket entry in slot `j` has no leaves: each child held for it is ready to enter (`_release`) for the
    lots the entry filled, at most its own size (0: it will be cancelled)."""
    pid = orders[j, O_ID]
    got = orders[j, O_EXEC]
    orders[j, O_KIDS] = 0
    for s in range(orders.shape[0]):
        if orders[s, O_LIVE] == LIVE_PENDING and orders[s, O_PARENT] == pid:
            orders[s, O_LIVE] = LIVE_READY
            params[P_NREADY] += 1
            q = min(orders[s, O_QTY], got)
            orders[s, O_QTY] = q
            orders[s, O_LEAVES] = q


@helper(outline=True)  # a rare path, called (not inlined) from every path that fills or ends an order
def _linked(orders, params, out, now, j) -> bool:
    """What a fill, a trigger or the end of the order in slot `j` sets off, the one place of the OCO and bracket
    rules (module docstring): the other order of its OCO pair is CANCELED (the pair unlinked), and an order with
    no leaves left (``O_LIVE`` 0 already) readies its bracket children, as does the cancelled other."""
    ok = True
    k_id = orders[j, O_OCO]
    if k_id != 0:
        orders[j, O_OCO] = 0
        k = _find(orders, k_id)
        if k >= 0:
            orders[k, O_OCO] = 0
            _end(orders, params, k)
            orders[k, O_LEAVES] = 0
            ok = emit(out, params, now, k_id, REPORT_CANCELED, orders[k, O_PRICE], 0, 0, 0, LIQ_NONE)
            if orders[k, O_KIDS] != 0:
                _kids_ready(orders, params, k)
    if orders[j, O_LIVE] == 0 and orders[j, O_KIDS] != 0:
        _kids_ready(orders, params, j)
    return ok


@_kernel
def _cross_check(book, orders, fq, cons, params, out, now) -> bool:
    ok = True
    bb = _eff_best(book, cons, params, BUY)
    ba = _eff_best(book, cons, params, SELL)
    for j in range(orders.shape[0]):
        if orders[j, O_LIVE] != LIVE_WORKING:
            continue
        px = orders[j, O_PRICE]
        if orders[j, O_SIDE] == BUY:
            if ba != NO_PRICE and px >= ba:
                ok &= _fill_shown(book, orders, fq, params, out, now, j, px)
        elif bb != NO_PRICE and px <= bb:
            ok &= _fill_shown(book, orders, fq, params, out, now, j, px)
    return ok


@helper
def _put_order(orders, j, oid, side, price, qty, otype, tif, now, live) -> None:
    """A new order in slot `j`: `live` `LIVE_WORKING` or `LIVE_HELD` (a stop), nothing filled yet."""
    orders[j, O_ID] = oid
    orders[j, O_SIDE] = side
    orders[j, O_PRICE] = price
    orders[j, O_QTY] = qty
    orders[j, O_LEAVES] = qty
    orders[j, O_EXEC] = 0
    orders[j, O_TYPE] = otype
    orders[j, O_TIF] = tif
    orders[j, O_LIVE] = live
    orders[j, O_QFILL] = 0
    orders[j, O_ARRIVAL] = now
    orders[j, O_DISPLAY] = 0
    orders[j, O_SHOWN] = 0
    orders[j, O_TRAIL] = 0
    orders[j, O_OCO] = 0
    orders[j, O_PARENT] = 0
    orders[j, O_KIDS] = 0


@helper  # inlined into its callers (no kernel, no cache entry of its own)
def _refill(book, orders, fq, now, j) -> None:
    """An iceberg in slot `j` whose shown part filled whole shows its next ``min(display, leaves)`` lots at its price
    as a new queue place at the back of the level (front = the displayed quantity there now)."""
    leaves = orders[j, O_LEAVES]
    orders[j, O_SHOWN] = min(orders[j, O_DISPLAY], leaves)
    orders[j, O_QFILL] = 0
    orders[j, O_ARRIVAL] = now
    fq[j, F_FRONT] = float(_level_qty(book, orders[j, O_SIDE], orders[j, O_PRICE]))
    fq[j, F_CUM] = 0.0


@helper  # inlined into its callers (no kernel, no cache entry of its own)
def _maker(book, orders, fq, params, out, now, j, px, qty) -> bool:
    """A maker fill of `qty` lots of the resting order in slot `j` at `px`; an iceberg's (whose O_QFILL counts them
    already) shown part filled whole is refilled (`_refill`)."""
    ok = _fill(orders, params, out, now, j, px, qty, LIQ_MAKER)
    if orders[j, O_DISPLAY] > 0 and orders[j, O_LIVE] == LIVE_WORKING and orders[j, O_QFILL] >= orders[j, O_SHOWN]:
        _refill(book, orders, fq, now, j)
    return ok


@helper  # inlined into its callers (no kernel, no cache entry of its own)
def _fill_shown(book, orders, fq, params, out, now, j, px) -> bool:
    """The resting order in slot `j` fills what it shows at `px`, maker: the whole order, or an iceberg's shown part
    (its next part refilled at the back of the queue, for a later event)."""
    if orders[j, O_DISPLAY] == 0:
        return _fill(orders, params, out, now, j, px, orders[j, O_LEAVES], LIQ_MAKER)
    take = orders[j, O_SHOWN] - orders[j, O_QFILL]
    orders[j, O_QFILL] = orders[j, O_SHOWN]
    return _maker(book, orders, fq, params, out, now, j, px, take)


@helper(outline=True)  # a rare path: called (not inlined) from `_new` for a NEW that names a link
def _link_size(orders, params, otype, qty, oco, parent) -> int:
    """`venue_common.link_size` on this venue's table: may a NEW name `oco` / `parent` (0: none)?"""
    p = _find(orders, parent) if parent != 0 else -1
    k = _find(orders, oco) if oco != 0 else -1
    return link_size(params, P_DONE, otype, qty, parent, p, p >= 0 and orders[p, O_PARENT] != 0, oco, k,
                     k >= 0 and orders[k, O_OCO] != 0)


@helper  # inlined into `_new`
def _keep_links(orders, j, oid, first, oco, kids) -> None:
    """The new order in slot `j` takes its links: a NEW naming `oco` pairs both ways; a re-entered order (a
    trigger, a bracket child's entry) keeps its pair and its children."""
    orders[j, O_OCO] = oco
    orders[j, O_KIDS] = kids
    if oco != 0 and first == REPORT_ACK:
        orders[_find(orders, oco), O_OCO] = oid


@_kernel
def _new(book, orders, fq, cons, params, out, now, oid, side, price, qty, otype, tif, first, first_px,
         display, trail, oco, parent, kids) -> int:
    """A NEW order; its first report is `first` (ACK; TRIGGERED for a stop entered by its trigger, REPLACED for a
    bracket child entered by its parent's end) at `first_px`. A stop type (`first_px`: its trigger) is held,
    trailing its trigger by `trail` > 0 ticks; `display` > 0: an iceberg; `oco`: the other order of its OCO pair,
    `parent`: its bracket entry (0: none), both checked on an ACK'd NEW (else the links it keeps); `kids`: the
    bracket children a re-entered order keeps (module docstring)."""
    j = -1
    for s in range(orders.shape[0]):
        if orders[s, O_LIVE] == 0:
            j = s
            break
    stop = is_stop(otype)
    ready = LINK_HELD  # a NEW whose link names an ended order: the lots it enters for at the step's end
    if first == REPORT_ACK and (oco | parent) != 0:
        ready = _link_size(orders, params, otype, qty, oco, parent)
    if (j < 0 or qty <= 0 or qty > QTY_MAX or (side != BUY and side != SELL)
            or (stop and (first_px <= 0 or (otype == ORDER_STOP_LIMIT and price <= 0)))
            or (display != 0 and (display < 0 or display >= qty or not may_show(otype)))
            or bad_trail(otype, side, price, first_px, trail) or ready == LINK_BAD):
        ok = emit(out, params, now, oid, REPORT_REJECTED, price, 0, 0, 0, LIQ_NONE)
        return V_OK if ok else V_REPORTS_FULL
    if stop or (first == REPORT_ACK and (parent != 0 or ready >= 0)):  # held: not in the book, no queue place
        live = LIVE_HELD if parent == 0 and ready < 0 else (LIVE_PENDING if ready < 0 else LIVE_READY)
        _put_order(orders, j, oid, side, price, qty, otype, tif, now, live)
        orders[j, O_TRIGGER] = first_px if stop else 0
        orders[j, O_TRAIL] = trail
        # (a pair's other that has ended is no pair: the order is cancelled at the step's end)
        _keep_links(orders, j, oid, first, oco if ready < 0 or (oco != 0 and _find(orders, oco) >= 0) else 0, kids)
        if parent != 0:  # a bracket child: its display kept for its entry
            orders[j, O_DISPLAY] = display
            orders[j, O_PARENT] = parent
            if ready < 0:
                orders[_find(orders, parent), O_KIDS] += 1
        if ready >= 0:  # its parent or its pair's other has ended: it enters for `ready` lots at the step's end
            orders[j, O_QTY] = ready
            orders[j, O_LEAVES] = ready
            params[P_NREADY] += 1
        params[P_NHELD] += 1
        ok = emit(out, params, now, oid, REPORT_ACK, price, 0, qty, 0, LIQ_NONE)
        return V_OK if ok else V_REPORTS_FULL
    market = otype == ORDER_MARKET
    opp = -side
    ob = _eff_best(book, cons, params, opp)
    marketable = ob != NO_PRICE and within(side, price, ob, market)
    if otype == ORDER_POST_ONLY and marketable:
        if not emit(out, params, now, oid, REPORT_REJECTED, price, 0, 0, 0, LIQ_NONE):
            return V_REPORTS_FULL
        return V_OK
    _put_order(orders, j, oid, side, price, qty, otype, tif, now, LIVE_WORKING)
    _keep_links(orders, j, oid, first, oco, kids)
    ack = params[P_NREP]
    ok = emit(out, params, now, oid, first, first_px, qty if first == REPORT_REPLACED else 0, qty, 0, LIQ_NONE)
    ioc_like = market or tif == TIF_IOC or tif == TIF_FOK
    expire = ioc_like
    if marketable:
        if params[P_MODE] == MODE_NO_PARTIAL_FILL:
            ok &= _fill(orders, params, out, now, j, ob, qty, LIQ_TAKER)  # whole, at the best, nothing consumed
        elif params[P_MODE] == MODE_ALL_OR_NONE:
            if _avail(book, cons, params, opp, ob) >= qty:
                if not consume(cons, params, opp, ob, qty):
                    return V_CONS_FULL
                ok &= _fill(orders, params, out, now, j, ob, qty, LIQ_TAKER)
            else:
                expire = True
        else:
            go = True
            if tif == TIF_FOK:
                need = qty  # lots not yet covered (counting down: a sum of levels could pass int64's maximum)
                i = _first_level(book, opp)
                while i >= 0 and need > 0:
                    p = _price_of(book, opp, i)
                    if not within(side, price, p, market):
                        break
                    need -= _avail(book, cons, params, opp, p)  # need > 0, avail >= 0: no overflow
                    i = _next_level(book, opp, i)
                go = need <= 0
            if go:
                i = _first_level(book, opp)
                while i >= 0 and orders[j, O_LIVE] == LIVE_WORKING:
                    p = _price_of(book, opp, i)
                    if not within(side, price, p, market):
                        break
                    a = _avail(book, cons, params, opp, p)
                    if a > 0:
                        take = min(a, orders[j, O_LEAVES])
                        if not consume(cons, params, opp, p, take):
                            return V_CONS_FULL
                        ok &= _fill(orders, params, out, now, j, p, take, LIQ_TAKER)
                    i = _next_level(book, opp, i)
    if orders[j, O_LIVE] == LIVE_WORKING:
        if expire:
            _end(orders, params, j)
            ok &= emit(out, params, now, oid, REPORT_EXPIRED, price, 0, 0, 0, LIQ_NONE)
            ok &= _linked(orders, params, out, now, j)
        else:
            ahead = _level_qty(book, side, price)
            fq[j, F_FRONT] = float(ahead)
            fq[j, F_CUM] = 0.0
            if display > 0:  # an iceberg rests showing min(display, leaves)
                orders[j, O_DISPLAY] = display
                orders[j, O_SHOWN] = min(display, orders[j, O_LEAVES])
            if ok:
                out[ack].queue = ahead
    return V_OK if ok else V_REPORTS_FULL


@_kernel
def _replace(book, orders, fq, cons, params, out, now, oid, price, qty) -> int:
    j = _find(orders, oid)
    if j < 0 or orders[j, O_LIVE] != LIVE_WORKING or qty <= 0 or qty > QTY_MAX - orders[j, O_EXEC]:  # 0 <= O_EXEC <= QTY_MAX
        ok = emit(out, params, now, oid, REPORT_REPLACE_REJECTED, price, 0, 0, 0, LIQ_NONE)
        return V_OK if ok else V_REPORTS_FULL
    side = orders[j, O_SIDE]
    ob = _eff_best(book, cons, params, -side)
    if ob != NO_PRICE and within(side, price, ob, False):
        ok = emit(out, params, now, oid, REPORT_REPLACE_REJECTED, price, 0, orders[j, O_LEAVES], 0, LIQ_NONE)
        return V_OK if ok else V_REPORTS_FULL
    keep = price == orders[j, O_PRICE] and qty <= orders[j, O_LEAVES]
    orders[j, O_PRICE] = price
    orders[j, O_LEAVES] = qty
    orders[j, O_QTY] = orders[j, O_EXEC] + qty
    if not keep:
        fq[j, F_FRONT] = float(_level_qty(book, side, price))
        fq[j, F_CUM] = 0.0
        orders[j, O_QFILL] = 0
        orders[j, O_ARRIVAL] = now
    if orders[j, O_DISPLAY] > 0:  # an iceberg keeps its display: its shown part shrinks in place, or starts anew
        if keep:
            orders[j, O_SHOWN] = orders[j, O_QFILL] + min(orders[j, O_SHOWN] - orders[j, O_QFILL], qty)
        else:
            orders[j, O_SHOWN] = min(orders[j, O_DISPLAY], qty)
    ok = emit(out, params, now, oid, REPORT_REPLACED, price, qty, qty, 0, LIQ_NONE)
    return V_OK if ok else V_REPORTS_FULL


@_kernel
def _trade(book, orders, fq, qm, params, out, now, aggressor, price, qty) -> bool:
    ok = True
    passive = -aggressor
    for j in range(orders.shape[0]):
        if orders[j, O_LIVE] != LIVE_WORKING or orders[j, O_SIDE] != passive:
            continue
        px = orders[j, O_PRICE]
        if (passive == BUY and price < px) or (passive == SELL and price > px):
            ok &= _fill_shown(book, orders, fq, params, out, now, j, px)
        elif price == px:
            f, c = on_trade(fq[j, F_FRONT], fq[j, F_CUM], float(qty))
            fq[j, F_FRONT] = f
            fq[j, F_CUM] = c
            n = filled_lots(f)
            if n >= 1:
                if params[P_MODE] != MODE_PARTIAL_FILL:
                    ok &= _fill_shown(book, orders, fq, params, out, now, j, px)
                else:
                    take = min(n - orders[j, O_QFILL], orders[j, O_LEAVES])
                    if orders[j, O_DISPLAY] > 0:  # an iceberg: its shown part; the rest of the print is lost
                        take = min(take, orders[j, O_SHOWN] - orders[j, O_QFILL])
                    if take > 0:
                        orders[j, O_QFILL] += take
                        ok &= _maker(book, orders, fq, params, out, now, j, px, take)
    return ok


@_kernel
def _trigger(book, orders, fq, cons, params, out, now, print_px) -> int:
    """The held stops a print at `print_px` triggers, in slot order, each entered as a market IOC (stop) or a limit
    order (stop-limit) with a TRIGGERED report; a trailing stop the print does not trigger moves its trigger (and
    a stop-limit's limit) toward the print (module docstring)."""
    for j in range(orders.shape[0]):
        if orders[j, O_LIVE] != LIVE_HELD:
            continue
        if not triggers(orders[j, O_SIDE], orders[j, O_TRIGGER], print_px):
            if orders[j, O_TRAIL] > 0:  # not reached: a trailing stop follows the print (and its limit with it)
                orders[j, O_TRIGGER], orders[j, O_PRICE] = trail_follow(
                    orders[j, O_SIDE], orders[j, O_TYPE], orders[j, O_TRIGGER], orders[j, O_PRICE], orders[j, O_TRAIL],
                    print_px)
            continue
        _free(orders, params, j)  # the slot is free: the order enters as a new one (it may take this slot again)
        stop = orders[j, O_TYPE] == ORDER_STOP
        oid = orders[j, O_ID]
        oco = orders[j, O_OCO]
        status = _new(book, orders, fq, cons, params, out, now, oid, orders[j, O_SIDE],
                      0 if stop else orders[j, O_PRICE], orders[j, O_LEAVES], ORDER_MARKET if stop else ORDER_LIMIT,
                      TIF_IOC if stop else orders[j, O_TIF], REPORT_TRIGGERED, print_px, 0, 0, oco,
                      0, orders[j, O_KIDS])
        if status != V_OK:
            return status
        if oco != 0:  # the trigger cancels the other of its pair, after the order's reports at entry (unless a
            s = _find(orders, oid)  # fill or its end did)
            if s >= 0 and orders[s, O_OCO] != 0 and not _linked(orders, params, out, now, s):
                return V_REPORTS_FULL
    return V_OK


@helper(outline=True)  # a rare path: called (not inlined) from `step` when bracket children are ready
def _release(book, orders, fq, cons, params, out, now) -> int:
    """The bracket children made ready in this step (their parent has no leaves), in slot order: one its parent
    filled nothing for is CANCELED (the other of its pair with it); else it enters for its lots (``O_LEAVES``,
    reported REPLACED with that size): a stop becomes a held stop, a limit a NEW (it takes what it can, then rests
    at the back of its level's queue), each keeping its OCO pair. Passes until none is ready (an entry's fill may
    cancel a pair's other that readies children of its own)."""
    while params[P_NREADY] != 0:
        found = False
        for s in range(orders.shape[0]):
            if params[P_NREADY] == 0:
                break
            if orders[s, O_LIVE] != LIVE_READY:
                continue
            found = True
            status = _release_one(book, orders, fq, cons, params, out, now, s)
            if status != V_OK:
                return status
        if not found:  # (never: the count is kept with the rows)
            params[P_NREADY] = 0
    return V_OK


@helper  # inlined into `_release`
def _release_one(book, orders, fq, cons, params, out, now, s) -> int:
    """The ready bracket child in slot `s` (`_release`)."""
    oid = orders[s, O_ID]
    q = orders[s, O_LEAVES]
    px = orders[s, O_PRICE]
    if q == 0:
        _end(orders, params, s)
        ok = emit(out, params, now, oid, REPORT_CANCELED, px, 0, 0, 0, LIQ_NONE)
        if not (_linked(orders, params, out, now, s) and ok):
            return V_REPORTS_FULL
        return V_OK
    orders[s, O_PARENT] = 0
    otype = orders[s, O_TYPE]
    if is_stop(otype):  # held from now, as if newly sent
        orders[s, O_LIVE] = LIVE_HELD
        params[P_NREADY] -= 1
        orders[s, O_ARRIVAL] = now
        ok = emit(out, params, now, oid, REPORT_REPLACED, px, q, q, 0, LIQ_NONE)
        return V_OK if ok else V_REPORTS_FULL
    display = orders[s, O_DISPLAY]
    _free(orders, params, s)
    return _new(book, orders, fq, cons, params, out, now, oid, orders[s, O_SIDE], px, q, otype,
                orders[s, O_TIF], REPORT_REPLACED, px, display if display < q else 0, 0, orders[s, O_OCO],
                0, 0)


@_kernel
def step(book: L2Book, orders: np.ndarray, fq: np.ndarray, cons: np.ndarray, qm: QueueModel, params: np.ndarray,
         out: np.ndarray, op: int, now: int, oid: int, side: int, price: int, qty: int, otype: int, tif: int,
         aux: int, trail: int, oco: int, parent: int) -> int:
    """Apply one venue operation (``OP_*``; see the module docstring) at exchange time `now`; reports are
    appended to ``out[params[P_NREP]:]``; `trail`: a NEW trailing stop's distance, `oco` / `parent`: a NEW's OCO
    pair / bracket entry (else 0). Returns a `V_*` status."""
    status = _op(book, orders, fq, cons, qm, params, out, op, now, oid, side, price, qty, otype, tif, aux, trail,
                 oco, parent)
    if status == V_OK and params[P_NREADY] != 0:  # bracket children whose parent ended in this step
        status = _release(book, orders, fq, cons, params, out, now)
    return status


@helper  # inlined into `step`, its only caller
def _op(book, orders, fq, cons, qm, params, out, op, now, oid, side, price, qty, otype, tif, aux, trail, oco,
        parent) -> int:
    if op == OP_NEW:
        stop = is_stop(otype)
        return _new(book, orders, fq, cons, params, out, now, oid, side, price, qty, otype, tif,
                    REPORT_ACK, aux if stop else price, 0 if stop else aux, trail, oco, parent, 0)
    if op == OP_CANCEL or op == OP_EXPIRE:
        j = _find(orders, oid)
        if j < 0:  # an expiry of an order already gone says nothing
            ok = op == OP_EXPIRE or emit(out, params, now, oid, REPORT_CANCEL_REJECTED, 0, 0, 0, 0, LIQ_NONE)
        else:
            _end(orders, params, j)
            orders[j, O_LEAVES] = 0
            ok = emit(out, params, now, oid, REPORT_CANCELED if op == OP_CANCEL else REPORT_EXPIRED,
                      orders[j, O_PRICE], 0, 0, 0, LIQ_NONE)
            ok &= _linked(orders, params, out, now, j)  # its pair's other cancelled, its children ready
        return V_OK if ok else V_REPORTS_FULL
    if op == OP_REPLACE:
        return _replace(book, orders, fq, cons, params, out, now, oid, price, qty)
    if op == OP_DEPTH:
        for j in range(orders.shape[0]):
            if orders[j, O_LIVE] == LIVE_WORKING and orders[j, O_SIDE] == side and orders[j, O_PRICE] == price:
                old = fq[j, F_FRONT]
                f, c = on_depth(qm, old, fq[j, F_CUM], float(aux), float(qty))
                # cancels can bring us to the head of the queue, never fill us: only trades fill
                fq[j, F_FRONT] = (f if f > 0.0 else 0.0) if old > 0.0 else old
                fq[j, F_CUM] = c
        k = cons_find(cons, params, side, price)
        if k >= 0:
            cons_drop(cons, params, k)
        ok = _cross_check(book, orders, fq, cons, params, out, now)
        return V_OK if ok else V_REPORTS_FULL
    if op == OP_TRADE:
        ok = _trade(book, orders, fq, qm, params, out, now, side, price, qty)
        if not ok:
            return V_REPORTS_FULL
        return _trigger(book, orders, fq, cons, params, out, now, price)
    if op == OP_CLEAR:
        k = 0
        while k < params[P_NCONS]:
            if side == 0 or cons[k, 0] == side:
                cons_drop(cons, params, k)
            else:
                k += 1
        ok = _cross_check(book, orders, fq, cons, params, out, now)
        return V_OK if ok else V_REPORTS_FULL
    return V_BAD_OP


# ======================================================================= Python driver
class L2Venue:
    """Owns the venue state for one symbol and drives `step`. Every method returns the reports it produced
    (a `VENUE_REPORT_DTYPE` array, copied).

    Args:
        book: the venue's market book (initial levels already set), or None for an empty one.
        queue_model: a `QueueModel` (`hft.sim.queue_models.parse_queue_model`).
        mode: ``MODE_PARTIAL_FILL``, ``MODE_NO_PARTIAL_FILL`` or ``MODE_ALL_OR_NONE``.
        fees: a `FeeSchedule`; multiplier: the symbol's money multiplier (money = ticks × lots × multiplier).
        capacity: order-table slots (our working orders at once).
    """

    def __init__(self, book: L2Book | None, queue_model: QueueModel, mode: int = MODE_PARTIAL_FILL,
                 fees: FeeSchedule | None = None, multiplier: int = 1, capacity: int = 1024) -> None:
        if mode not in EXCHANGE_MODES.values():
            raise SimError(f"exchange mode: expected one of {sorted(EXCHANGE_MODES)}, was {mode!r}")
        fees = fees or FeeSchedule()
        self.book = book if book is not None else new_book(0, 1023, 0, 1023)
        self.qm = queue_model
        self.orders = np.zeros((capacity, N_OCOL), dtype=np.int64)
        self.fq = np.zeros((capacity, 2), dtype=np.float64)
        self.cons = np.zeros((64, 3), dtype=np.int64)
        self.params = np.zeros(N_PARAMS, dtype=np.int64)
        self.params[P_MODE] = mode
        self.params[P_MULT] = multiplier
        self.params[P_MAKER_BPS_H] = fees.maker_bps_h
        self.params[P_TAKER_BPS_H] = fees.taker_bps_h
        self.params[P_PER_LOT] = fees.per_lot
        self.out = np.zeros(64, dtype=VENUE_REPORT_DTYPE)
        self._step_site = CallSite(step, 7)  # (book, orders, fq, cons, qm, params, out, op, now, ...)

    # --- sizing: never let the kernel run out of room
    def _levels(self) -> int:
        return int(self.book.state[BOOK_N_BID] + self.book.state[BOOK_N_ASK])

    def _ensure(self) -> None:
        # room for one more level than the book has (the numba engine checks before it applies a depth update,
        # which may add one): without it, a book at the edge bounced between the kernel and this fallback
        levels = self._levels() + 1
        need = out_rows(self.orders, self.params, levels)
        if self.out.shape[0] < need:
            self.out = np.zeros(max(need, 2 * self.out.shape[0]), dtype=VENUE_REPORT_DTYPE)
        room = self.cons.shape[0] - int(self.params[P_NCONS])
        if room < levels + 1:
            grown = np.zeros((max(2 * self.cons.shape[0], self.cons.shape[0] + 2 * (levels + 1)), 3), np.int64)
            grown[: self.cons.shape[0]] = self.cons
            self.cons = grown

    def _run(self, op: int, now: int, oid: int = 0, side: int = 0, price: int = 0, qty: int = 0, otype: int = 0,
             tif: int = 0, aux: int = 0, trail: int = 0, oco: int = 0, parent: int = 0) -> np.ndarray:
        self._ensure()
        self.params[P_NREP] = 0
        status = int(self._step_site(self.book, self.orders, self.fq, self.cons, self.qm, self.params, self.out, op,
                                     now, oid, side, price, qty, otype, tif, aux, trail, oco, parent))
        if status != V_OK:
            raise SimError(f"venue: expected status ok, was {V_STATUS_NAMES.get(status, status)}")
        return self.out[: int(self.params[P_NREP])].copy()

    # --- orders
    def new(self, now: int, oid: int, side: int, price: int, qty: int, otype: int, tif: int,
            trigger: int = 0, display: int = 0, trail: int = 0, oco: int = 0, parent: int = 0) -> np.ndarray:
        """A new order (a stop / stop-limit: held until a print reaches `trigger`, which follows the prints at
        `trail` > 0 ticks; a limit / post-only with `display` > 0: an iceberg showing that many lots at a time;
        `oco`: the order it is paired with, one cancelling the other; `parent`: a bracket child's entry, held until
        the entry has no leaves)."""
        return self._run(OP_NEW, now, oid, side, price, qty, otype, tif, new_aux(otype, trigger, display), trail,
                         oco, parent)

    def cancel(self, now: int, oid: int) -> np.ndarray:
        return self._run(OP_CANCEL, now, oid)

    def expire(self, now: int, oid: int) -> np.ndarray:
        """A GTD order's expiry: EXPIRED (leaves 0) if it still works or is held here, else nothing."""
        return self._run(OP_EXPIRE, now, oid)

    def replace(self, now: int, oid: int, price: int, qty: int) -> np.ndarray:
        return self._run(OP_REPLACE, now, oid, 0, price, qty)

    # --- market data
    def depth(self, now: int, side: int, price: int, qty: int) -> np.ndarray:
        """The displayed quantity at (side, price) becomes `qty` (0 removes the level)."""

        if side not in (BUY, SELL) or qty < 0:
            raise SimError(f"depth: expected side BUY/SELL and qty >= 0, was side {side}, qty {qty}")
        prev = int(_level_qty(self.book, side, price))
        status = set_level(self.book, side, price, qty)
        if status == L2_OUT_OF_RANGE:
            self.book = grow(self.book, side, price)
            status = set_level(self.book, side, price, qty)
        if status != L2_OK:
            raise SimError(f"depth: expected a valid level update, was {L2_STATUS_NAMES[status]}")
        return self._run(OP_DEPTH, now, 0, side, price, qty, 0, 0, prev)

    def trade(self, now: int, aggressor: int, price: int, qty: int) -> np.ndarray:
        if aggressor not in (BUY, SELL) or qty <= 0:
            raise SimError(f"trade: expected aggressor BUY/SELL and qty > 0, was {aggressor}, {qty}")
        return self._run(OP_TRADE, now, 0, aggressor, price, qty)

    def clear(self, now: int, side: int = 0) -> np.ndarray:
        clear(self.book, side)
        return self._run(OP_CLEAR, now, 0, side)

    # --- inspection
    def queue_ahead(self, oid: int) -> float:
        """The queue model's estimate of the lots ahead of our resting order `oid` (``front``, floored at 0);
        -1.0 when the order does not rest here."""
        js = np.flatnonzero((self.orders[:, O_LIVE] == LIVE_WORKING) & (self.orders[:, O_ID] == oid))
        return -1.0 if not len(js) else max(float(self.fq[js[0], F_FRONT]), 0.0)

    def working(self) -> dict[int, dict[str, float | int]]:
        """Working orders by order id: side, price, leaves, filled, front (queue estimate)."""
        out = {}
        for j in np.flatnonzero(self.orders[:, O_LIVE] == LIVE_WORKING):
            r = self.orders[j]
            out[int(r[O_ID])] = {"side": int(r[O_SIDE]), "price": int(r[O_PRICE]), "leaves": int(r[O_LEAVES]),
                                 "filled": int(r[O_EXEC]), "front": float(self.fq[j, F_FRONT])}
        return out
