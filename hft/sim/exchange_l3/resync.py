"""The L3 venue's reference resync (numba kernels; `hft.sim.exchange_l3`, "Reference resync"): after every
market event the visible window's market quantity is set to the LOBSTER reference row."""

from __future__ import annotations

from hft.book.l3 import (
    M_BASE,
    M_HWM,
    OC_ID,
    OC_PREV,
    OC_QTY,
    OW,
    add_v,
    delete_v,
    reduce_v,
    remove_anon_v,
)
from hft.book.topn import COL_ASK_PX, COL_BID_PX, QTY_MAX, ROW_STRIDE, level_index
from hft.core.dtypes import (
    BUY,
    NO_PRICE,
    SELL,
)
from hft.core.jit import helper
from hft.sim.exchange_l3.book_ops import (
    _acc,
    _fill_through,
    _first_idx,
    _forget_consumed,
    _is_own,
    _next_idx,
    _own_qty_at,
    _row_of,
)
from hft.sim.exchange_l3.layout import (
    P_NEED_PRICE,
    P_NORD,
    P_REF_ROW,
    P_RS_ADDED,
    P_RS_LEVELS,
    P_RS_REMOVED,
    P_RSEQ,
    RESYNC_KEY_BASE,
    V_NEED_LEVELS,
    V_NEED_ORDERS,
    V_OK,
    _kernel,
)
from hft.sim.venue_common import P_NCONS


@_kernel
def _ref_qty(ref, k, levels, col, price) -> int:
    """Quantity of reference row `k` at `price` on the side whose price column is `col` (0: not shown)."""
    for j in range(levels):
        if ref[k, j * ROW_STRIDE + col] == price:
            return ref[k, j * ROW_STRIDE + col + 1]
    return 0


@_kernel
def _rs_room(v, ref, params) -> int:
    """V_OK when the resync after the next market event can run without growing the book: every price of its
    reference row has a level, and one synthetic order per level (plus the event's own add) has a slot."""
    k = params[P_REF_ROW]
    if k >= ref.shape[0]:
        return V_OK
    base = v.meta[M_BASE]
    n = v.n
    for j in range(0, ref.shape[1], ROW_STRIDE):
        for c in (COL_ASK_PX, COL_BID_PX):
            p = ref[k, j + c]
            if p != NO_PRICE and level_index(p, base, n) < 0:
                params[P_NEED_PRICE] = p
                return V_NEED_LEVELS
    if v.meta[M_HWM] + ref.shape[1] // 2 + 1 > v.cap:
        return V_NEED_ORDERS
    return V_OK


@helper
def _rs_market(v, orders, params, side, price) -> int:
    """The MARKET quantity (level minus our own) at (side, price), a price with a level."""
    q = v.lv_qty[_row_of(side) * v.n + price - v.meta[M_BASE]]
    if q > 0 and params[P_NORD] > 0:
        q -= _own_qty_at(orders, params, side, price)
    return q


@helper
def _rs_set(v, orders, cons, params, out, now, side, price, target) -> bool:
    """Make the MARKET quantity at (side, price) equal `target` (resync); the check is inlined at each call,
    `_rs_apply` (a call) runs only when they differ."""
    m = _rs_market(v, orders, params, side, price)
    return True if m == target else _rs_apply(v, orders, cons, params, out, now, side, price, target, m)


@_kernel
def _rs_apply(v, orders, cons, params, out, now, side, price, target, m) -> bool:
    """Make the market quantity `m` at (side, price) equal `target` (resync). Additions join the back of the
    queue as one anonymous synthetic order (behind every order of ours; an addition crossing our resting orders
    of the other side fills them first, as a market add would); removals take market quantity from the back of
    the queue, skipping ours, then from the front anonymous quantity. `target` >= 0 (`L3Venue` checks the
    reference's sizes: 0 <= size <= `QTY_MAX`); an addition is held to what the level can take (`QTY_MAX`)."""
    row = _row_of(side)
    idx = price - v.meta[M_BASE]
    params[P_RS_LEVELS] += 1
    if target > m:
        x = min(target - m, QTY_MAX - v.lv_qty[row * v.n + idx])  # the level's room: so `add_v` below takes it
        if x <= 0:
            return True
        _acc(params, P_RS_ADDED, x)
        ok = True
        if params[P_NORD] > 0:
            ok, _ = _fill_through(v, orders, params, out, now, -side, price, x, True)
        add_v(v, RESYNC_KEY_BASE + params[P_RSEQ], side, price, x)
        params[P_RSEQ] += 1
        return ok
    x = m - target
    _acc(params, P_RS_REMOVED, x)
    if params[P_NCONS] > 0:
        _forget_consumed(cons, params, side, price, target, x)  # the last x market lots: positions [target, m)
    j = v.lv_tail[row * v.n + idx]
    rem = x
    while j >= 0 and rem > 0:
        prv = v.o[OW * j + OC_PREV]
        key = v.o[OW * j + OC_ID]
        if not _is_own(key):
            oq = v.o[OW * j + OC_QTY]
            if oq <= rem:
                delete_v(v, key)
                rem -= oq
            else:
                reduce_v(v, key, rem)
                rem = 0
        j = prv
    if rem > 0:
        remove_anon_v(v, side, price, rem)
    return True


@helper  # once per market event: inlined into `market_step_v` (a call passes ~60 machine words)
def _resync(v, orders, cons, params, out, ref, now) -> bool:
    """Reference resync after a market event (module docstring): the market's visible top-L equals reference row
    ``params[P_REF_ROW]`` (then advanced). Returns False when the report buffer overflowed."""
    k = params[P_REF_ROW]
    params[P_REF_ROW] = k + 1
    if k >= ref.shape[0]:
        return True
    levels = ref.shape[1] // ROW_STRIDE
    base = v.meta[M_BASE]
    ok = True
    for sd in (BUY, SELL):
        col = COL_BID_PX if sd == BUY else COL_ASK_PX
        # 1. every price the reference shows: its quantity
        for j in range(levels):
            p = ref[k, j * ROW_STRIDE + col]
            if p != NO_PRICE:
                ok &= _rs_set(v, orders, cons, params, out, now, sd, p, ref[k, j * ROW_STRIDE + col + 1])
        # 2. prices inside the window (from the side's best to its L-th reference level; the whole side when
        # fewer than L levels show) that the reference does not show: no market quantity
        bound = ref[k, (levels - 1) * ROW_STRIDE + col]
        i = _first_idx(v, sd)
        if bound == NO_PRICE:
            while i >= 0:
                if _ref_qty(ref, k, levels, col, base + i) == 0:
                    ok &= _rs_set(v, orders, cons, params, out, now, sd, base + i, 0)
                i = _next_idx(v, sd, i)
        elif i >= 0:
            # scan only the window's indices (a scan for the next level beyond it may cross the whole range)
            stop = bound - base
            step = -1 if sd == BUY else 1
            row = _row_of(sd)
            while (i >= stop) if sd == BUY else (i <= stop):
                if v.lv_qty[row * v.n + i] > 0 and _ref_qty(ref, k, levels, col, base + i) == 0:
                    ok &= _rs_set(v, orders, cons, params, out, now, sd, base + i, 0)
                i += step
    return ok
