"""The L3 venue's entry kernels (numba; `hft.sim.exchange_l3`): `market_step` (one market event, then the
reference resync) and `order_step` (our NEW / CANCEL / REPLACE), the report-room rule `out_need` and the market
snapshot."""

from __future__ import annotations

import numpy as np

from hft.book.l3 import (
    M_BASE,
    M_FREE,
    M_HWM,
    L3Book,
    L3View,
    add_v,
    delete_v,
    l3_view,
    queue_ahead_v,
    reduce_v,
)
from hft.book.topn import COL_ASK_PX, COL_BID_PX, QTY_MAX, ROW_STRIDE, level_index
from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_CLEAR,
    EV_DELETE,
    EV_EXEC,
    EV_HIDDEN_EXEC,
    EV_TRADE,
    NO_PRICE,
    SELL,
)
from hft.core.jit import helper
from hft.core.order_rules import bad_trail, is_stop, may_show
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
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    REPORT_TRIGGERED,
    TIF_FOK,
    TIF_IOC,
)
from hft.sim.exchange_l2 import (
    LIQ_NONE,
    LIQ_TAKER,
    MODE_ALL_OR_NONE,
    MODE_NO_PARTIAL_FILL,
)
from hft.sim.exchange_l3.book_ops import (
    _add,
    _avail,
    _booked,
    _clear,
    _drop_row,
    _eff_best,
    _end,
    _exec,
    _fill,
    _first_idx,
    _is_held,
    _is_reserved,
    _level_qty,
    _next_idx,
    _own_qty_at,
    _own_row_by_id,
    _remove,
    _remove_row,
)
from hft.sim.exchange_l3.layout import (
    IN_KID,
    IN_REFILL,
    N_OCOL,
    O_ARRIVAL,
    O_DISPLAY,
    O_EXEC,
    O_ID,
    O_INBOOK,
    O_KEY,
    O_KIDS,
    O_LEAVES,
    O_OCO,
    O_PRICE,
    O_QTY,
    O_SHOWN,
    O_SIDE,
    O_TIF,
    O_TRAIL,
    O_TRIGGER,
    O_TYPE,
    OP_CANCEL,
    OP_EXPIRE,
    OP_NEW,
    OP_REPLACE,
    OWN_KEY_BASE,
    P_LINKGEN,
    P_MODE,
    P_NEED_PRICE,
    P_NHELD,
    P_NORD,
    P_NREADY,
    P_NREFILL,
    P_SEQ,
    V_BAD_ID,
    V_BAD_OP,
    V_CONS_FULL,
    V_NEED_LEVELS,
    V_NEED_ORDERS,
    V_OK,
    V_REPORTS_FULL,
    V_TABLE_FULL,
    _kernel,
)
from hft.sim.exchange_l3.link_call import hold_linked, link_size, linked, release
from hft.sim.exchange_l3.resync import (
    _resync,
    _rs_room,
)
from hft.sim.venue_common import LINK_BAD, LINK_HELD, P_NREP, consume, emit, trail_follow, triggers, within


@_kernel
def market_step(book: L3Book, orders: np.ndarray, cons: np.ndarray, params: np.ndarray, out: np.ndarray,
                ref: np.ndarray, now: int, kind: int, side: int, price: int, qty: int, oid: int) -> int:
    """`market_step_v` on the book's view (`hft.book.l3.l3_view`)."""
    return market_step_v(l3_view(book), orders, cons, params, out, ref, now, kind, side, price, qty, oid)


@_kernel
def market_step_v(v: L3View, orders: np.ndarray, cons: np.ndarray, params: np.ndarray, out: np.ndarray,
                  ref: np.ndarray, now: int, kind: int, side: int, price: int, qty: int, oid: int) -> int:
    """Apply one market event (module docstring) at exchange time `now`, then, when `ref` has rows (reference
    resync on), reconcile the visible levels with row ``params[P_REF_ROW]``; our reports are appended to
    ``out[params[P_NREP]:]``. Returns a `V_*` status; on `V_NEED_LEVELS` / `V_NEED_ORDERS` nothing changed."""
    # while stops or bracket children are held: a call of its own (the prints' triggers, the children's entry),
    # so the path of every other event stays as short as without them
    if params[P_NHELD] > 0:
        return _with_held(v, orders, cons, params, out, ref, now, kind, side, price, qty, oid)
    status = _event(v, orders, cons, params, out, ref, now, kind, side, price, qty, oid)
    # icebergs whose shown part the event filled whole: their next parts, at the back of their levels
    if params[P_NREFILL] > 0 and not _refill(v, orders, params, out, now):
        status = V_REPORTS_FULL
    return status


@helper  # after a market event that filled an iceberg's shown part: inlined into `market_step_v`
def _refill(v, orders, params, out, now) -> bool:
    """Every iceberg waiting for its refill (`IN_REFILL`), in the order of the table's rows (the order they entered
    the book), shows its next ``min(display, leaves)`` lots at its price: its row moves to the end of the table (it
    is the last to enter the book) and the lots join the BACK of the level's FIFO. A level that cannot hold them
    (``QTY_MAX``) expires the order's rest (EXPIRED, leaves 0). Slots: each waiting iceberg left one free when its
    shown part filled; its level exists (it rested there). Returns False when a report did not fit."""
    ok = True
    r = 0
    while params[P_NREFILL] > 0 and r < params[P_NORD]:  # a refilled row moves behind every row still to look at
        if orders[r, O_INBOOK] != IN_REFILL:
            r += 1
            continue
        params[P_NREFILL] -= 1
        side = orders[r, O_SIDE]
        price = orders[r, O_PRICE]
        if min(orders[r, O_DISPLAY], orders[r, O_LEAVES]) > QTY_MAX - _level_qty(v, side, price):
            oid = orders[r, O_ID]
            oco = orders[r, O_OCO]
            kids = orders[r, O_KIDS]
            got = orders[r, O_EXEC]
            _end(orders, params, r)
            ok &= emit(out, params, now, oid, REPORT_EXPIRED, price, 0, 0, 0, LIQ_NONE)
            if oco != 0 or kids != 0:
                gen = params[P_LINKGEN]
                ok &= linked(v, orders, params, out, now, oid, oco, kids, got)
                if params[P_LINKGEN] != gen:  # a row before `r` may have left: look again from the first
                    r = 0
            continue
        last = params[P_NORD] - 1
        for c in range(N_OCOL):  # rotate row r to the end: rows stay in book-entry order
            x = orders[r, c]
            for k in range(r, last):
                orders[k, c] = orders[k + 1, c]
            orders[last, c] = x
        _enter_book(v, orders, params, now, last)
    return ok


@helper(outline=True)  # off the path of every event while nothing is held: one copy per module, never inlined
def _with_held(v, orders, cons, params, out, ref, now, kind, side, price, qty, oid) -> int:
    """`market_step_v` while orders are held: `_event`, then, on a print (an execution, hidden or visible, or a
    cross trade), the held stops it triggers (`_trigger`), the icebergs' refills, and the bracket children made
    ready (`_release`); the room they need is checked first."""
    is_print = kind == EV_EXEC or kind == EV_HIDDEN_EXEC or kind == EV_TRADE
    room = _held_room(v, orders, params, price, is_print, (ref.shape[1] // 2 + 1) if ref.shape[0] > 0 else 1)
    if room != V_OK:
        return room
    status = _event(v, orders, cons, params, out, ref, now, kind, side, price, qty, oid)
    if status == V_OK and is_print:
        status = _trigger(v, orders, cons, params, out, now, price)
    if params[P_NREFILL] > 0 and not _refill(v, orders, params, out, now):
        status = V_REPORTS_FULL
    if status == V_OK and params[P_NREADY] > 0:
        status = release(v, orders, cons, params, out, now)
    return status


@helper
def _event(v, orders, cons, params, out, ref, now, kind, side, price, qty, oid) -> int:
    """One market event, then the reference resync (`market_step_v`)."""
    rs = ref.shape[0] > 0
    if rs:
        room = _rs_room(v, ref, params)
        if room != V_OK:
            return room
    status = V_OK
    if kind == EV_ADD or kind == EV_CANCEL or kind == EV_DELETE or kind == EV_EXEC:
        if _is_reserved(oid):
            return V_BAD_ID
        if level_index(price, v.meta[M_BASE], v.n) < 0:  # any int64 price: no `price - base` overflow
            params[P_NEED_PRICE] = price
            return V_NEED_LEVELS
        if kind == EV_ADD:
            status = _add(v, orders, params, out, now, side, price, qty, oid)
            if status == V_NEED_ORDERS:
                return status
        elif kind == EV_EXEC:
            status = V_OK if _exec(v, orders, cons, params, out, now, side, price, qty, oid) else V_REPORTS_FULL
        else:
            _remove(v, cons, params, kind, side, price, qty, oid)
    elif kind == EV_CLEAR:
        _clear(v, cons, params, side)
    if rs and not _resync(v, orders, cons, params, out, ref, now):
        status = V_REPORTS_FULL
    return status


@_kernel
def _held(orders, r) -> bool:
    return orders[r, O_INBOOK] == 0 and orders[r, O_TRIGGER] > 0


@_kernel
def _held_room(v, orders, params, print_px, is_print, extra) -> int:
    """V_OK when the held orders a step may enter can join the book after the event (and the resync, whose `extra`
    slots are counted): each stop-limit a print at `print_px` triggers (`is_print`), and each bracket child that
    is a limit (its parent may end in the step), has a level at its price and a slot; else what must grow first."""
    k = 0
    for r in range(params[P_NORD]):
        kid = orders[r, O_INBOOK] >= IN_KID and not is_stop(orders[r, O_TYPE])
        if kid or (is_print and _held(orders, r) and triggers(orders[r, O_SIDE], orders[r, O_TRIGGER], print_px)
                   and orders[r, O_TYPE] == ORDER_STOP_LIMIT):
            if level_index(orders[r, O_PRICE], v.meta[M_BASE], v.n) < 0:
                params[P_NEED_PRICE] = orders[r, O_PRICE]
                return V_NEED_LEVELS
            k += 1
    if k > 0 and v.meta[M_HWM] + extra + k > v.cap:
        return V_NEED_ORDERS
    return V_OK


@_kernel
def _trigger(v, orders, cons, params, out, now, print_px) -> int:
    """The held stops a print at `print_px` triggers, in the order they arrived: each leaves its row, is reported
    TRIGGERED and entered as a new order (a stop: market IOC; a stop-limit: a limit at its price, its TIF); a
    trailing stop the print does not trigger follows it (`trail_follow`: its trigger, a stop-limit's limit)."""
    r = 0
    while r < params[P_NORD]:
        if not _held(orders, r):
            r += 1
            continue
        if not triggers(orders[r, O_SIDE], orders[r, O_TRIGGER], print_px):
            if orders[r, O_TRAIL] > 0:
                orders[r, O_TRIGGER], orders[r, O_PRICE] = trail_follow(
                    orders[r, O_SIDE], orders[r, O_TYPE], orders[r, O_TRIGGER], orders[r, O_PRICE], orders[r, O_TRAIL],
                    print_px)
            r += 1
            continue
        oid = orders[r, O_ID]
        side = orders[r, O_SIDE]
        price = orders[r, O_PRICE]
        qty = orders[r, O_LEAVES]
        stop = orders[r, O_TYPE] == ORDER_STOP
        tif = orders[r, O_TIF]
        oco = orders[r, O_OCO]
        kids = orders[r, O_KIDS]
        _drop_row(orders, params, r)  # the rows after it move up: `r` is the next one
        params[P_NHELD] -= 1
        gen = params[P_LINKGEN]
        status = _new(v, orders, cons, params, out, now, oid, side, 0 if stop else price, qty,
                      ORDER_MARKET if stop else ORDER_LIMIT,
                      TIF_IOC if stop else tif, REPORT_TRIGGERED, print_px, 0, 0, oco, 0, kids)
        if status != V_OK:
            return status
        if oco != 0:  # the trigger cancels the other of its pair, after the order's reports at entry (unless a
            s = _own_row_by_id(orders, params, oid)  # fill or its end did)
            if s >= 0 and orders[s, O_OCO] != 0 and not linked(v, orders, params, out, now, oid, oco, 0, 0):
                return V_REPORTS_FULL
            if params[P_LINKGEN] != gen:  # a row before `r` may have left: look again from the first (the held
                r = 0  # stops this print did not reach stay so: `trail_follow` moved them away from it)
    return V_OK


@_kernel
def _rest_room(v, price) -> int:
    """V_OK when an order at `price` can join the book now, else what must grow first."""
    if level_index(price, v.meta[M_BASE], v.n) < 0:
        return V_NEED_LEVELS
    if v.meta[M_FREE] < 0 and v.meta[M_HWM] >= v.cap:
        return V_NEED_ORDERS
    return V_OK


@_kernel
def _enter_book(v, orders, params, now, r) -> None:
    """Our order in row `r` joins the back of its price's FIFO: its leaves, an iceberg ``min(display, leaves)``."""
    orders[r, O_INBOOK] = 1
    orders[r, O_ARRIVAL] = now
    if orders[r, O_DISPLAY] > 0:
        orders[r, O_SHOWN] = min(orders[r, O_DISPLAY], orders[r, O_LEAVES])
    add_v(v, orders[r, O_KEY], orders[r, O_SIDE], orders[r, O_PRICE], _booked(orders, r))


@helper
def _put_order(orders, n, oid, side, price, qty, otype, tif, now) -> None:
    """A new order in row `n`, every other column 0 (a held stop's trigger, a resting order's key: the caller's)."""
    for c in range(N_OCOL):
        orders[n, c] = 0
    orders[n, O_ID] = oid
    orders[n, O_SIDE] = side
    orders[n, O_PRICE] = price
    orders[n, O_QTY] = qty
    orders[n, O_LEAVES] = qty
    orders[n, O_TYPE] = otype
    orders[n, O_TIF] = tif
    orders[n, O_ARRIVAL] = now


@_kernel
def _new(v, orders, cons, params, out, now, oid, side, price, qty, otype, tif, first, first_px, display,
         trail, oco, parent, kids) -> int:
    """A NEW order; its first report is `first` (ACK; TRIGGERED for a stop entered by its trigger, REPLACED for a
    bracket child entered by its parent's end) at `first_px`. A stop type (`first_px`: its trigger) is held: a row
    not in the book, trailing the prints by `trail` > 0 ticks; `display` > 0: an iceberg, resting
    ``min(display, leaves)`` lots at a time (module docstring); `oco`: the other order of its OCO pair, `parent`:
    its bracket entry (0: none), both checked on an ACK'd NEW (else the links it keeps); `kids`: the bracket
    children a re-entered order keeps."""
    stop = is_stop(otype)
    ready = LINK_HELD  # a NEW whose link names an ended order: the lots it enters for at the step's end
    if first == REPORT_ACK and (oco | parent) != 0:
        ready = link_size(v, orders, params, out, otype, qty, oco, parent)
    if qty <= 0 or qty > QTY_MAX or (side != BUY and side != SELL) \
            or (stop and (first_px <= 0 or (otype == ORDER_STOP_LIMIT and price <= 0))) \
            or (display != 0 and (display < 0 or display >= qty or not may_show(otype))) \
            or bad_trail(otype, side, price, first_px, trail) or ready == LINK_BAD:
        return V_OK if emit(out, params, now, oid, REPORT_REJECTED, price, 0, 0, 0, LIQ_NONE) else V_REPORTS_FULL
    n = params[P_NORD]
    if n >= orders.shape[0]:
        return V_TABLE_FULL
    if stop or (first == REPORT_ACK and (parent != 0 or ready >= 0)):  # held: not in the book, no queue place
        _put_order(orders, n, oid, side, price, qty, otype, tif, now)
        if (oco | parent) != 0:
            hold_linked(v, orders, params, out, n, oid, first_px, stop, display, trail, oco, parent, ready)
        else:
            orders[n, O_TRIGGER] = first_px
            orders[n, O_TRAIL] = trail
        params[P_NORD] = n + 1
        params[P_NHELD] += 1
        return V_OK if emit(out, params, now, oid, REPORT_ACK, price, 0, qty, 0, LIQ_NONE) else V_REPORTS_FULL
    market = otype == ORDER_MARKET
    ioc_like = market or tif == TIF_IOC or tif == TIF_FOK
    if not ioc_like:
        room = _rest_room(v, price)
        if room != V_OK:
            params[P_NEED_PRICE] = price
            return room
        if qty > QTY_MAX - _level_qty(v, side, price):  # it could not rest there: the level would pass QTY_MAX
            return V_OK if emit(out, params, now, oid, REPORT_REJECTED, price, 0, 0, 0, LIQ_NONE) else V_REPORTS_FULL
    opp = -side
    ob = _eff_best(v, orders, cons, params, opp)
    marketable = ob != NO_PRICE and within(side, price, ob, market)
    if otype == ORDER_POST_ONLY and marketable:
        return V_OK if emit(out, params, now, oid, REPORT_REJECTED, price, 0, 0, 0, LIQ_NONE) else V_REPORTS_FULL
    _put_order(orders, n, oid, side, price, qty, otype, tif, now)
    orders[n, O_DISPLAY] = display  # takes liquidity with its whole size (not in the book yet), then rests shown
    orders[n, O_KEY] = OWN_KEY_BASE + params[P_SEQ]
    orders[n, O_OCO] = oco  # a NEW pairs both ways; a re-entered order keeps its pair and its children
    orders[n, O_KIDS] = kids
    if oco != 0 and first == REPORT_ACK:
        orders[_own_row_by_id(orders, params, oco), O_OCO] = oid
    params[P_SEQ] += 1
    params[P_NORD] = n + 1
    ack = params[P_NREP]
    ok = emit(out, params, now, oid, first, first_px, qty if first == REPORT_REPLACED else 0, qty, 0, LIQ_NONE)
    expire = ioc_like
    live = True
    # (a fill may cancel the other of its pair, a row before this one: the new order stays the table's last row)
    if marketable:
        base = v.meta[M_BASE]
        if params[P_MODE] == MODE_NO_PARTIAL_FILL:  # whole, at the best, nothing consumed
            ok &= _fill(v, orders, params, out, now, n, ob, qty, LIQ_TAKER)
            live = False
        elif params[P_MODE] == MODE_ALL_OR_NONE:
            if _avail(v, orders, cons, params, opp, ob) >= qty:
                if not consume(cons, params, opp, ob, qty):
                    return V_CONS_FULL
                ok &= _fill(v, orders, params, out, now, n, ob, qty, LIQ_TAKER)
                live = False
            else:
                expire = True
        else:
            go = True
            if tif == TIF_FOK:
                need = qty  # lots not yet covered (counting down, no sum of levels to overflow)
                i = _first_idx(v, opp)
                while i >= 0 and need > 0:
                    if not within(side, price, base + i, market):
                        break
                    need -= _avail(v, orders, cons, params, opp, base + i)
                    i = _next_idx(v, opp, i)
                go = need <= 0
            if go:
                i = _first_idx(v, opp)
                while i >= 0 and live:
                    p = base + i
                    if not within(side, price, p, market):
                        break
                    a = _avail(v, orders, cons, params, opp, p)
                    if a > 0:
                        take = min(a, orders[n, O_LEAVES])
                        if not consume(cons, params, opp, p, take):
                            return V_CONS_FULL
                        live = take < orders[n, O_LEAVES]
                        ok &= _fill(v, orders, params, out, now, n, p, take, LIQ_TAKER)
                        n = params[P_NORD] - 1
                    i = _next_idx(v, opp, i)
    if live:
        if expire:
            oco = orders[n, O_OCO]
            kids = orders[n, O_KIDS]
            got = orders[n, O_EXEC]
            _end(orders, params, n)
            ok &= emit(out, params, now, oid, REPORT_EXPIRED, price, 0, 0, 0, LIQ_NONE)
            if oco != 0 or kids != 0:
                ok &= linked(v, orders, params, out, now, oid, oco, kids, got)
        else:
            _enter_book(v, orders, params, now, n)
            if ok:
                out[ack].queue = queue_ahead_v(v, orders[n, O_KEY])
    return V_OK if ok else V_REPORTS_FULL


@_kernel
def _replace(v, orders, cons, params, out, now, oid, price, qty) -> int:
    r = _own_row_by_id(orders, params, oid)
    # a held stop or bracket child is not replaced
    if r < 0 or _is_held(orders, r) or qty <= 0 or qty > QTY_MAX - orders[r, O_EXEC]:  # 0 <= O_EXEC <= QTY_MAX
        ok = emit(out, params, now, oid, REPORT_REPLACE_REJECTED, price, 0, 0, 0, LIQ_NONE)
        return V_OK if ok else V_REPORTS_FULL
    side = orders[r, O_SIDE]
    leaves = orders[r, O_LEAVES]
    # the level it would rest at after the replace (its own lots there leave first) must hold it
    there = _level_qty(v, side, price) - (_booked(orders, r) if price == orders[r, O_PRICE] and orders[r, O_INBOOK] == 1
                                          else 0)
    ob = _eff_best(v, orders, cons, params, -side)
    if qty > QTY_MAX - there or (ob != NO_PRICE and within(side, price, ob, False)):
        ok = emit(out, params, now, oid, REPORT_REPLACE_REJECTED, price, 0, leaves, 0, LIQ_NONE)
        return V_OK if ok else V_REPORTS_FULL
    if price == orders[r, O_PRICE] and qty <= leaves:
        booked = _booked(orders, r)
        if orders[r, O_DISPLAY] > 0:  # an iceberg keeps its display: its shown part shrinks to at most qty
            orders[r, O_SHOWN] = min(booked, qty)
        if qty < booked:
            reduce_v(v, orders[r, O_KEY], booked - qty)  # shrinks in place: the queue place is kept
        orders[r, O_LEAVES] = qty
        orders[r, O_QTY] = orders[r, O_EXEC] + qty
    else:
        n = params[P_NORD]
        if n >= orders.shape[0]:
            return V_TABLE_FULL
        if _rest_room(v, price) == V_NEED_LEVELS:
            params[P_NEED_PRICE] = price
            return V_NEED_LEVELS
        delete_v(v, orders[r, O_KEY])  # frees a slot, so the re-add always has one
        for c in range(N_OCOL):  # move the row to the end: rows stay in book-entry order
            orders[n, c] = orders[r, c]
        params[P_NORD] = n + 1
        _drop_row(orders, params, r)
        r = n - 1
        orders[r, O_PRICE] = price
        orders[r, O_LEAVES] = qty
        orders[r, O_QTY] = orders[r, O_EXEC] + qty
        _enter_book(v, orders, params, now, r)
    ok = emit(out, params, now, oid, REPORT_REPLACED, price, qty, qty, 0, LIQ_NONE)
    return V_OK if ok else V_REPORTS_FULL


@_kernel
def order_step(book: L3Book, orders: np.ndarray, cons: np.ndarray, params: np.ndarray, out: np.ndarray, op: int,
               now: int, oid: int, side: int, price: int, qty: int, otype: int, tif: int, trigger: int,
               trail: int, oco: int, parent: int) -> int:
    """`order_step_v` on the book's view (`hft.book.l3.l3_view`)."""
    return order_step_v(l3_view(book), orders, cons, params, out, op, now, oid, side, price, qty, otype, tif, trigger,
                        trail, oco, parent)


@_kernel
def order_step_v(v: L3View, orders: np.ndarray, cons: np.ndarray, params: np.ndarray, out: np.ndarray, op: int,
                 now: int, oid: int, side: int, price: int, qty: int, otype: int, tif: int, trigger: int,
                 trail: int, oco: int, parent: int) -> int:
    """Apply one of our order operations (``OP_*``; module docstring; `trigger`: a new stop's trigger, or a new
    order's display, `venue_common.new_aux`: an iceberg; `trail`: a new trailing stop's distance, else 0; `oco` /
    `parent`: a NEW's OCO pair / bracket entry, else 0) at exchange time `now`, then the bracket children it made
    ready (`_release`). Returns a `V_*` status; on `V_NEED_LEVELS` / `V_NEED_ORDERS` / `V_TABLE_FULL` nothing
    changed."""
    if params[P_NHELD] > 0:  # bracket children a cancel or a fill may release need their room first
        room = _held_room(v, orders, params, 0, False, 1)
        if room != V_OK:
            return room
    status = _op(v, orders, cons, params, out, op, now, oid, side, price, qty, otype, tif, trigger, trail, oco,
                 parent)
    if status == V_OK and params[P_NREADY] > 0:
        status = release(v, orders, cons, params, out, now)
    return status


@helper  # inlined into `order_step_v`, its only caller
def _op(v, orders, cons, params, out, op, now, oid, side, price, qty, otype, tif, trigger, trail, oco,
        parent) -> int:
    if op == OP_NEW:
        if is_stop(otype):
            return _new(v, orders, cons, params, out, now, oid, side, price, qty, otype, tif, REPORT_ACK, trigger,
                        0, trail, oco, parent, 0)
        return _new(v, orders, cons, params, out, now, oid, side, price, qty, otype, tif, REPORT_ACK, price,
                    trigger, trail, oco, parent, 0)
    if op == OP_CANCEL or op == OP_EXPIRE:
        r = _own_row_by_id(orders, params, oid)
        if r < 0:  # an expiry of an order already gone says nothing
            ok = op == OP_EXPIRE or emit(out, params, now, oid, REPORT_CANCEL_REJECTED, 0, 0, 0, 0, LIQ_NONE)
        else:
            px = orders[r, O_PRICE]
            oco = orders[r, O_OCO]
            kids = orders[r, O_KIDS]
            got = orders[r, O_EXEC]
            _remove_row(v, orders, params, r)
            ok = emit(out, params, now, oid, REPORT_CANCELED if op == OP_CANCEL else REPORT_EXPIRED, px, 0, 0, 0,
                      LIQ_NONE)
            if oco != 0 or kids != 0:  # its pair's other cancelled, its children ready
                ok &= linked(v, orders, params, out, now, oid, oco, kids, got)
        return V_OK if ok else V_REPORTS_FULL
    if op == OP_REPLACE:
        return _replace(v, orders, cons, params, out, now, oid, price, qty)
    return V_BAD_OP


@_kernel
def out_need(params, width, ref) -> int:
    """Report rows one venue call may need: ACK + one fill per order of ours (event and resync crossing fills
    each reach an order once in full; a held stop: its TRIGGERED and expiry; an iceberg: the expiry of a refill
    its level cannot hold; a bracket child: its REPLACED and expiry) + one CANCELED per order of ours (the OCO
    rule) + one partial per level walked or adjusted (one walk: the orders held stops and bracket children become
    share it, each leaving at most one level part-taken, one more per held order) + slack."""
    return 8 + 4 * params[P_NORD] + width + params[P_NHELD] + ref.shape[1]


@_kernel
def market_snapshot(book, orders, params, n, row) -> None:
    """Top-`n` levels of the market's quantity (level minus our own orders; levels holding only ours are
    empty) into `row` (int64[4n], LOBSTER layout, empty levels ``(NO_PRICE, 0)``)."""
    v = l3_view(book)
    base = v.meta[M_BASE]
    for sd in (BUY, SELL):
        col = COL_BID_PX if sd == BUY else COL_ASK_PX
        j = 0
        i = _first_idx(v, sd)
        while i >= 0 and j < n:
            p = base + i
            m = _level_qty(v, sd, p) - _own_qty_at(orders, params, sd, p)
            if m > 0:
                row[j * ROW_STRIDE + col] = p
                row[j * ROW_STRIDE + col + 1] = m
                j += 1
            i = _next_idx(v, sd, i)
        while j < n:
            row[j * ROW_STRIDE + col] = NO_PRICE
            row[j * ROW_STRIDE + col + 1] = 0
            j += 1
