"""The L3 venue's numba kernels on the book (`hft.sim.exchange_l3`): our order table, available and
consumed quantity, the effective best, fills (maker / taker, price-time priority) and the market events (add,
cancel / delete, execution, clear) as the module docstring of `hft.sim.exchange_l3` states them."""

from __future__ import annotations

import numpy as np

from hft.book.l3 import (
    ASK,
    BID,
    M_BASE,
    M_BEST_ASK,
    M_BEST_BID,
    M_FREE,
    M_HWM,
    OC_ID,
    OC_NEXT,
    OC_PREV,
    OC_PRICE,
    OC_QTY,
    OC_SIDE,
    OW,
    add_v,
    delete_v,
    level_above,
    level_below,
    reduce_v,
    remove_anon_v,
)
from hft.book.l3 import find_order as _l3_find
from hft.book.topn import QTY_MAX, level_index
from hft.core.dtypes import (
    BUY,
    EV_DELETE,
    EV_EXEC,
    NO_PRICE,
    SELL,
)
from hft.core.jit import helper, inline_copy
from hft.core.orders import (
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
)
from hft.sim.exchange_l2 import (
    LIQ_MAKER,
    MODE_PARTIAL_FILL,
)
from hft.sim.exchange_l3.layout import (
    IN_KID,
    IN_READY,
    IN_REFILL,
    N_OCOL,
    O_DISPLAY,
    O_EXEC,
    O_ID,
    O_INBOOK,
    O_KEY,
    O_KIDS,
    O_LEAVES,
    O_OCO,
    O_PARENT,
    O_PRICE,
    O_SHOWN,
    O_SIDE,
    O_TRIGGER,
    OWN_KEY_BASE,
    OWN_KEY_LIMIT,
    P_CLIPPED,
    P_DONE,
    P_LINKGEN,
    P_MAKER_BPS_H,
    P_MODE,
    P_MULT,
    P_NHELD,
    P_NORD,
    P_NREADY,
    P_NREFILL,
    P_PER_LOT,
    P_POS,
    P_REJECTED,
    P_RSEQ,
    P_TAKER_BPS_H,
    P_UNKNOWN_REFS,
    RESYNC_KEY_BASE,
    RESYNC_KEY_LIMIT,
    V_NEED_ORDERS,
    V_OK,
    V_REPORTS_FULL,
    _kernel,
)
from hft.sim.exchange_l3.link_call import linked
from hft.sim.fees import fee_money
from hft.sim.venue_common import P_NCONS, cons_drop, cons_find, emit_fill, ring_push


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


@helper
def _booked(orders, r) -> int:
    """The lots our order in row `r` has in the book while it rests: an iceberg's shown part, else its leaves."""
    return orders[r, O_SHOWN] if orders[r, O_DISPLAY] > 0 else orders[r, O_LEAVES]


@helper  # inlined at its callers: the resync asks it once or twice per market event while we have orders
def _own_qty_at(orders, params, side, price) -> int:
    q = 0
    for r in range(params[P_NORD]):
        if orders[r, O_INBOOK] == 1 and orders[r, O_SIDE] == side and orders[r, O_PRICE] == price:
            q += _booked(orders, r)
    return q


@_kernel
def _drop_row(orders, params, r) -> None:
    n = params[P_NORD]
    for k in range(r, n - 1):
        for c in range(N_OCOL):
            orders[k, c] = orders[k + 1, c]
    params[P_NORD] = n - 1


@_kernel
def _level_qty(v, side, price) -> int:
    """The level's total at (side, price) (0 without a level; any int64 price)."""
    idx = level_index(price, v.meta[M_BASE], v.n)
    if idx < 0:
        return 0
    return v.lv_qty[(_row_of(side)) * v.n + idx]


@helper
def _acc(params, k, x) -> None:
    """``params[k] += x`` modulo 2**64 (uint64: defined wrap-around) for the unbounded sums: the position and the
    resync's lot counters, sums of lots over a whole run that no boundary bounds (each term is below 2**62)."""
    params[k] = np.int64(np.uint64(params[k]) + np.uint64(x))


@_kernel
def _avail(v, orders, cons, params, side, price) -> int:
    """Market quantity at (side, price) our taker orders may still take."""
    q = _level_qty(v, side, price)
    if q == 0:
        return 0
    q -= _own_qty_at(orders, params, side, price)
    k = cons_find(cons, params, side, price)
    if k >= 0:
        q -= cons[k, 2]
    return q if q > 0 else 0


# inlined in `_eff_best` (each new order asks it; a call passes ~38 words): same source as `_avail`
_avail_i = inline_copy(_avail)


@_kernel
def _first_idx(v, side) -> int:
    return v.meta[M_BEST_BID] if side == BUY else v.meta[M_BEST_ASK]


@_kernel
def _next_idx(v, side, i) -> int:
    """Index of the next worse non-empty level after `i` (-1: none)."""
    if side == BUY:
        return level_below(v.lv_qty, i - 1)
    return level_above(v.lv_qty, v.n, i + 1)


@_kernel
def _eff_best(v, orders, cons, params, side) -> int:
    i = _first_idx(v, side)
    base = v.meta[M_BASE]
    while i >= 0:
        if _avail_i(v, orders, cons, params, side, base + i) > 0:
            return base + i
        i = _next_idx(v, side, i)
    return NO_PRICE


@_kernel
def _fill(v, orders, params, out, now, r, price, qty, liq) -> bool:
    """Fill `qty` of our order in row `r` at `price` (resting: at most its booked lots); a finished order leaves
    the book and the table; a resting iceberg whose shown part is gone leaves the book, waiting for its refill
    (`IN_REFILL`) at the end of the market event."""
    bps = params[P_MAKER_BPS_H] if liq == LIQ_MAKER else params[P_TAKER_BPS_H]
    fee, frac = fee_money(price, qty, params[P_MULT], bps, params[P_PER_LOT])
    leaves = orders[r, O_LEAVES] - qty
    orders[r, O_LEAVES] = leaves
    orders[r, O_EXEC] += qty
    _acc(params, P_POS, orders[r, O_SIDE] * qty)
    if orders[r, O_INBOOK] == 1:
        reduce_v(v, orders[r, O_KEY], qty)  # keeps the queue place; removes the order at 0
        if orders[r, O_DISPLAY] > 0:
            orders[r, O_SHOWN] -= qty
            if orders[r, O_SHOWN] == 0 and leaves > 0:
                orders[r, O_INBOOK] = IN_REFILL
                params[P_NREFILL] += 1
    oid = orders[r, O_ID]
    oco = orders[r, O_OCO]
    kids = orders[r, O_KIDS] if leaves == 0 else 0
    got = orders[r, O_EXEC]
    if leaves == 0:
        _end(orders, params, r)
    ok = emit_fill(out, params, now, oid, REPORT_FILL if leaves == 0 else REPORT_PARTIAL_FILL, price, qty,
                   leaves, fee, frac, liq)
    if oco != 0 or kids != 0:  # one column test on the fill path (two on a last fill)
        ok &= linked(v, orders, params, out, now, oid, oco, kids, got)
    return ok


@helper  # inlined into its callers (no kernel, no cache entry of its own)
def _end(orders, params, r) -> None:
    """Our order in row `r` ends (filled, cancelled, expired): it leaves the table, and the ring of ended orders
    remembers its id and filled lots (-1 for a bracket child that ended held), overwriting the oldest."""
    ring_push(params, P_DONE, orders[r, O_ID], -1 if orders[r, O_PARENT] != 0 else orders[r, O_EXEC])
    _drop_row(orders, params, r)


@helper  # inlined into its callers
def _is_held(orders, r) -> bool:
    """A held row: a stop waiting for its trigger, or a bracket child (`IN_KID`, `IN_READY`)."""
    b = orders[r, O_INBOOK]
    return b >= IN_KID or (b == 0 and orders[r, O_TRIGGER] > 0)


@helper(outline=True)  # called (not inlined) from `_linked` and the cancel / expire operation: no cache entry
def _remove_row(v, orders, params, r) -> None:
    """Our order in row `r` ends whatever its state (a cancel, an expiry, the OCO rule): out of the book, its
    counts kept (`P_NHELD`, `P_NREADY`, `P_NREFILL`), remembered (`_end`)."""
    b = orders[r, O_INBOOK]
    if b == 1:
        delete_v(v, orders[r, O_KEY])
    elif b == IN_REFILL:
        params[P_NREFILL] -= 1
    elif _is_held(orders, r):
        params[P_NHELD] -= 1
        if b == IN_READY:
            params[P_NREADY] -= 1
    _end(orders, params, r)


@_kernel
def _maker_take(v, orders, params, out, now, r, rem) -> tuple:
    """Our resting order in row `r` is reached with `rem` lots left: fill it (at most its booked lots: an
    iceberg's shown part); returns (ok, lots used)."""
    booked = _booked(orders, r)
    use = min(booked, rem)
    q = use if params[P_MODE] == MODE_PARTIAL_FILL else booked
    ok = _fill(v, orders, params, out, now, r, orders[r, O_PRICE], q, LIQ_MAKER)
    return ok, use


@helper
def _any_through(orders, params, side, price, inclusive) -> bool:
    """Has `_fill_through` (same arguments) an order to fill? Checked inline before its call, which passes the
    book's view and four arrays: most market adds cross none of ours."""
    for r in range(params[P_NORD]):
        if orders[r, O_INBOOK] == 1 and orders[r, O_SIDE] == side:
            px = orders[r, O_PRICE]
            if _better(side, px, price) or (inclusive and px == price):
                return True
    return False


@_kernel
def _fill_through(v, orders, params, out, now, side, price, rem, inclusive) -> tuple:
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
        o, used = _maker_take(v, orders, params, out, now, best, rem)
        ok &= o
        rem -= used
    return ok, rem


@_kernel
def _market_ahead(v, s) -> int:
    """Market quantity (anonymous + market orders, not ours) ahead of slot `s` in its queue."""
    ahead = v.lv_anon[v.o[OW * s + OC_SIDE] * v.n + v.o[OW * s + OC_PRICE] - v.meta[M_BASE]]
    p = v.o[OW * s + OC_PREV]
    while p >= 0:
        if not _is_own(v.o[OW * p + OC_ID]):
            ahead += v.o[OW * p + OC_QTY]
        p = v.o[OW * p + OC_PREV]
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
def _take_resync(v, cons, params, side, price, qty) -> int:
    """An unknown id's removal beyond the front anonymous quantity: take it from the resync's anonymous orders
    of the level in FIFO order (front first); returns the lots not found."""
    row = _row_of(side)
    j = v.lv_head[row * v.n + price - v.meta[M_BASE]]
    while j >= 0 and qty > 0:
        nxt = v.o[OW * j + OC_NEXT]
        key = v.o[OW * j + OC_ID]
        if _is_resync(key):
            x = min(qty, v.o[OW * j + OC_QTY])
            if params[P_NCONS] > 0:
                _forget_consumed(cons, params, side, price, _market_ahead(v, j), x)
            if x == v.o[OW * j + OC_QTY]:
                delete_v(v, key)
            else:
                reduce_v(v, key, x)
            qty -= x
        j = nxt
    return qty


@helper  # once per market cancel / delete / execution: inlined at its callers
def _remove(v, cons, params, kind, side, price, qty, oid) -> None:
    """Apply a market cancel / delete / execution as `l3_replay` does (plus the consumed bookkeeping)."""
    s = _l3_find(v, oid)
    if s < 0:
        params[P_UNKNOWN_REFS] += 1
        if side != BUY and side != SELL:
            params[P_REJECTED] += 1
            return
        idx = price - v.meta[M_BASE]
        take = min(qty, v.lv_anon[(_row_of(side)) * v.n + idx])
        if take > 0:
            _forget_consumed(cons, params, side, price, 0, take)
            remove_anon_v(v, side, price, take)
        rest = qty - take
        if rest > 0 and params[P_RSEQ] > 0:  # the resync's anonymous orders are unknown orders too
            rest = _take_resync(v, cons, params, side, price, rest)
        if rest > 0:
            params[P_CLIPPED] += 1
        return
    oside = BUY if v.o[OW * s + OC_SIDE] == BID else SELL
    opx = v.o[OW * s + OC_PRICE]
    full = kind == EV_DELETE or qty >= v.o[OW * s + OC_QTY]
    q = v.o[OW * s + OC_QTY] if full else qty
    if q <= 0:
        params[P_REJECTED] += 1
        return
    if params[P_NCONS] > 0 and cons_find(cons, params, oside, opx) >= 0:
        _forget_consumed(cons, params, oside, opx, _market_ahead(v, s), q)
    if full:
        delete_v(v, oid)
    else:
        reduce_v(v, oid, q)


@_kernel
def _exec(v, orders, cons, params, out, now, side, price, qty, oid) -> bool:
    ok = True
    s = _l3_find(v, oid)
    if s >= 0:
        side = BUY if v.o[OW * s + OC_SIDE] == BID else SELL
        price = v.o[OW * s + OC_PRICE]
    if params[P_NORD] > 0 and qty > 0 and (side == BUY or side == SELL):
        # 1. our orders at strictly better prices: the aggressor traded through them first
        rem = qty
        if _any_through(orders, params, side, price, False):
            o, rem = _fill_through(v, orders, params, out, now, side, price, qty, False)
            ok &= o
        # 2. our orders at the same price ahead of X in the FIFO (none ahead of anonymous quantity)
        if s >= 0 and rem > 0 and _own_qty_at(orders, params, side, price) > 0:
            head = v.lv_head[(_row_of(side)) * v.n + price - v.meta[M_BASE]]
            o, rem = _take_own_ahead(v, orders, params, out, now, head, s, rem)
            ok &= o
        # 2'. unknown id beyond the front anonymous quantity: it executes the resync's anonymous orders in FIFO
        # order, so our orders queued ahead of the last one it reaches were traded through first
        if s < 0 and rem > 0 and params[P_RSEQ] > 0 and _own_qty_at(orders, params, side, price) > 0:
            row = _row_of(side)
            idx = price - v.meta[M_BASE]
            need = qty - v.lv_anon[row * v.n + idx]
            last = -1
            j = v.lv_head[row * v.n + idx]
            while j >= 0 and need > 0:
                if _is_resync(v.o[OW * j + OC_ID]):
                    need -= v.o[OW * j + OC_QTY]
                    last = j
                j = v.o[OW * j + OC_NEXT]
            if last >= 0:
                o, rem = _take_own_ahead(v, orders, params, out, now, v.lv_head[row * v.n + idx], last, rem)
                ok &= o
    # 3. the execution itself, as the data says
    _remove(v, cons, params, EV_EXEC, side, price, qty, oid)
    return ok


@_kernel
def _take_own_ahead(v, orders, params, out, now, j, stop, rem) -> tuple:
    """Walk a level's FIFO from node `j` up to (not including) node `stop`: our orders met on the way fill as makers,
    up to `rem` lots in all. Returns (reports fit, lots left)."""
    ok = True
    lvl = (v.o[OW * j + OC_SIDE] * v.n + v.o[OW * j + OC_PRICE] - v.meta[M_BASE]) if j >= 0 else 0  # its level
    while j >= 0 and j != stop and rem > 0:
        nxt = v.o[OW * j + OC_NEXT]
        key = v.o[OW * j + OC_ID]
        if _is_own(key):
            r = _own_row_by_key(orders, params, key)
            prv = v.o[OW * j + OC_PREV]
            gen = params[P_LINKGEN]
            o, used = _maker_take(v, orders, params, out, now, r, rem)
            ok &= o
            rem -= used
            if params[P_LINKGEN] != gen:  # the OCO rule took an order of ours out of the book (maybe `nxt`): the
                nxt = v.o[OW * prv + OC_NEXT] if prv >= 0 else v.lv_head[lvl]  # walk goes on after `prv`, a
        j = nxt  # market order (ours before it filled whole and left; `j` did too, or `rem` is 0)
    return ok, rem


@helper  # once per market add: inlined into `market_step_v`
def _add(v, orders, params, out, now, side, price, qty, oid) -> int:
    """A market add at a price with a level (`market_step_v` checked): refused (``P_REJECTED``, nothing changes)
    when `add_v` would refuse it — bad side or qty, a duplicate id, a level that would pass `QTY_MAX` — checked
    before our crossed orders fill."""
    if (side != BUY and side != SELL) or qty <= 0 or _l3_find(v, oid) >= 0 \
            or qty > QTY_MAX - _level_qty(v, side, price):
        params[P_REJECTED] += 1
        return V_OK
    meta = v.meta
    if meta[M_FREE] < 0 and meta[M_HWM] >= v.cap:
        return V_NEED_ORDERS
    ok = True
    if params[P_NORD] > 0 and _any_through(orders, params, -side, price, True):
        # the incoming order would have matched our crossed orders of the other side first
        ok, _ = _fill_through(v, orders, params, out, now, -side, price, qty, True)
    add_v(v, oid, side, price, qty)
    return V_OK if ok else V_REPORTS_FULL


@_kernel
def _clear(v, cons, params, side) -> None:
    base = v.meta[M_BASE]
    for row in range(2):
        sd = BUY if row == BID else SELL
        if side != 0 and side != sd:
            continue
        for idx in range(v.n):
            if v.lv_qty[row * v.n + idx] == 0:
                continue
            j = v.lv_head[row * v.n + idx]
            while j >= 0:
                nxt = v.o[OW * j + OC_NEXT]
                if not _is_own(v.o[OW * j + OC_ID]):
                    delete_v(v, v.o[OW * j + OC_ID])
                j = nxt
            a = v.lv_anon[row * v.n + idx]
            if a > 0:
                remove_anon_v(v, sd, base + idx, a)
        k = 0
        while k < params[P_NCONS]:
            if cons[k, 0] == sd:
                cons_drop(cons, params, k)
            else:
                k += 1
