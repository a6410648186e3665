"""The in-kernel order path (numba kernels, inlined into the loops; `hft.sim.engine_nb`, "In-kernel order path"):
the kernel heap of commands and reports in flight, a strategy kernel's intents through the gateway's numba core,
commands at the venues (L2 `step`, L3 `order_step`), reports back through the gateway's report kernel with the
position / cash / fee accounting, the fill rows and the strategy's order view."""

from __future__ import annotations

import numpy as np

from hft.book.l2 import (
    BOOK_N_ASK,
    BOOK_N_BID,
)
from hft.core.jit import helper, inline_copy
from hft.core.orders import (
    INTENT_CANCEL,
    INTENT_NEW,
    N_OPT,
    NO_OPTIONS,
    ORDER_LIMIT,
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    TIF_GTC,
    TIF_IOC,
)
from hft.gateway import kernels as GK
from hft.sim.engine_nb.state import (
    D_CODE,
    D_KEY,
    D_KIND,
    D_LEG,
    D_OID,
    D_ORDER_TYPE,
    D_PRICE,
    D_QTY,
    D_SEQ,
    D_SIDE,
    D_TARGET,
    D_TIF,
    D_TS,
    FR_FEE,
    FR_FEE_FRAC,
    FR_KIND,
    FR_LEAVES,
    FR_LIQ,
    FR_LOCAL_TS,
    FR_OID,
    FR_PRICE,
    FR_QTY,
    FR_SIDE,
    FR_TS,
    H_COLS,
    H_P,
    H_SEQ,
    H_T,
    H_TYPE,
    HC_ACTION,
    HC_DISPLAY,
    HC_EXPIRE,
    HC_OCO,
    HC_OID,
    HC_OPT,
    HC_ORDER_TYPE,
    HC_PARENT,
    HC_PRICE,
    HC_QTY,
    HC_SIDE,
    HC_TIF,
    HC_TRAIL,
    HC_TRIGGER,
    HR_FEE,
    HR_FEE_FRAC,
    HR_KIND,
    HR_LEAVES,
    HR_LIQ,
    HR_OID,
    HR_PRICE,
    HR_QTY,
    HR_QUEUE,
    HR_TS,
    IN_CANCEL,
    IN_KIND,
    IN_LEG,
    IN_OPT,
    IN_ORDER_ID,
    IN_ORDER_TYPE,
    IN_PRICE,
    IN_QTY,
    IN_SIDE,
    IN_SUBMIT,
    IN_TIF,
    IT_CMD,
    IT_REP,
    LM_CASH,
    LM_FEES,
    LM_FFRAC,
    LM_MULT,
    LM_POS,
    LM_Y,
    OI_ACK_TS,
    OI_LEG,
    OI_QUEUE,
    OI_SIDE,
    OR_ACTION,
    OR_OID,
    OR_ORDER_TYPE,
    OR_PRICE,
    OR_QTY,
    OR_SIDE,
    OR_TIF,
    OR_TS,
    S_ACCT,
    S_CMD_AT,
    S_FLAGS,
    S_KEY,
    S_LEG,
    S_MMQ,
    S_MODE,
    S_MULT,
    S_ND,
    S_NENTRY,
    S_NF,
    S_NH,
    S_NINT,
    S_NO,
    S_NORD,
    S_NRESP,
    S_ORD_CHANGED,
    S_POS,
    S_RLEG,
    S_SEQ,
    S_SKID,
    S_STORM_NEXT,
    S_STRAT,
    SO_COLS,
    SO_ID,
    SO_LEAVES,
    SO_LEG,
    SO_PRICE,
    SO_QTY,
    SO_SIDE,
    SO_STATUS,
    W_ERROR,
    W_GROW,
    W_INTENTS,
    W_MONEY,
    W_RFLAGS,
)
from hft.sim.engine_nb.strategy_kernels import report_rule_leg, strategy_on_book
from hft.sim.exchange_l2 import (
    O_LIVE,
    OP_CANCEL,
    OP_EXPIRE,
    OP_NEW,
    OP_REPLACE,
    V_OK,
    out_rows,
    step,
)
from hft.sim.exchange_l3 import OP_CANCEL as L3_OP_CANCEL
from hft.sim.exchange_l3 import OP_EXPIRE as L3_OP_EXPIRE
from hft.sim.exchange_l3 import OP_NEW as L3_OP_NEW
from hft.sim.exchange_l3 import OP_REPLACE as L3_OP_REPLACE
from hft.sim.exchange_l3 import (
    V_NEED_LEVELS,
    V_NEED_ORDERS,
    V_TABLE_FULL,
    out_need,
)
from hft.sim.exchange_l3.steps import order_step_v
from hft.sim.fees import MONEY_GATEWAY, MONEY_OK, book_fill
from hft.sim.latency import latency_ns, session_arrival
from hft.sim.run_events import (
    PRI_EXCH_ARRIVAL,
    PRI_LOCAL_RESP,
)
from hft.sim.venue_common import CMD_EXPIRE, P_NCONS, P_NREP, gtd_expiry, new_aux

# the L3 venue's order operation (`L3Venue.new / cancel / replace`'s source) inlined into the loop (`hft.core.jit.inline_copy`)
_order_step_i = inline_copy(order_step_v)


@helper
def _h_before(h, i, j) -> bool:
    """Kernel heap row i before row j in (time, priority, sequence) order (the Python heap's tuple order)."""
    if h[i, H_T] != h[j, H_T]:
        return h[i, H_T] < h[j, H_T]
    if h[i, H_P] != h[j, H_P]:
        return h[i, H_P] < h[j, H_P]
    return h[i, H_SEQ] < h[j, H_SEQ]


@helper
def _h_swap(h, i, j) -> None:
    for c in range(H_COLS):
        x = h[i, c]
        h[i, c] = h[j, c]
        h[j, c] = x


@helper
def _h_sift_up(h, st, n) -> None:
    """Row `n`, just written, takes its place in the kernel heap (numbered from the shared sequence counter)."""
    h[n, H_SEQ] = st[S_SEQ]
    st[S_SEQ] += 1
    st[S_NH] = n + 1
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        if not _h_before(h, i, parent):
            break
        _h_swap(h, i, parent)
        i = parent


@helper
def _h_head(h, st, t, prio, typ) -> int:
    """The next free heap row with its head written (due time, priority, item type); -1 when the heap is full.
    The push then writes the item's payload and sifts the row up."""
    n = st[S_NH]
    if n >= h.shape[0]:
        return -1
    h[n, H_T] = t
    h[n, H_P] = prio
    h[n, H_TYPE] = typ
    return n


# The two pushes take their item's fields by name, in the order of its declaration (`state.HEAP_CMD` / `HEAP_REP`:
# a test compares their parameters with it) and write each at its declared column.
@helper  # per intent: inlined at its call sites (the driver calls it from Python too)
def heap_push_cmd(h, st, t, prio, action, order_id, side, price, qty, order_type, tif, opt) -> bool:
    """Push a command (due at the venue at `t`; `opt`: its optional fields, `hft.core.orders.order_options`) on
    the kernel heap; False when it is full."""
    n = _h_head(h, st, t, prio, IT_CMD)
    if n < 0:
        return False
    h[n, HC_ACTION] = action
    h[n, HC_OID] = order_id
    h[n, HC_SIDE] = side
    h[n, HC_PRICE] = price
    h[n, HC_QTY] = qty
    h[n, HC_ORDER_TYPE] = order_type
    h[n, HC_TIF] = tif
    for i in range(N_OPT):
        h[n, HC_OPT + i] = opt[i]
    _h_sift_up(h, st, n)
    return True


@helper  # per report: inlined at its call sites (the driver calls it from Python too)
def heap_push_rep(h, st, t, prio, ts, order_id, price, qty, leaves, fee, fee_frac, kind, liquidity, queue) -> bool:
    """Push a venue report (due locally at `t`) on the kernel heap; False when it is full."""
    n = _h_head(h, st, t, prio, IT_REP)
    if n < 0:
        return False
    h[n, HR_TS] = ts
    h[n, HR_OID] = order_id
    h[n, HR_PRICE] = price
    h[n, HR_QTY] = qty
    h[n, HR_LEAVES] = leaves
    h[n, HR_FEE] = fee
    h[n, HR_FEE_FRAC] = fee_frac
    h[n, HR_KIND] = kind
    h[n, HR_LIQ] = liquidity
    h[n, HR_QUEUE] = queue
    _h_sift_up(h, st, n)
    return True


@helper
def _h_drop_top(h, st) -> None:
    n = st[S_NH] - 1
    st[S_NH] = n
    if n == 0:
        return
    for c in range(H_COLS):
        h[0, c] = h[n, c]
    i = 0
    while True:
        m = 2 * i + 1
        if m >= n:
            break
        if m + 1 < n and _h_before(h, m + 1, m):
            m += 1
        if not _h_before(h, m, i):
            break
        _h_swap(h, i, m)
        i = m


@helper
def _memo_clear(st, leg) -> None:
    """Leg `leg`'s orders in the strategy's view changed: its `mm` memo no longer holds (`streams._book_rule`;
    `mm` reads only the callback leg's orders, so the other legs' memos stay)."""
    if leg < 63:
        st[S_MMQ] &= ~(1 << leg)


@helper
def _sord_find(sord, n, oid) -> int:
    for j in range(n):
        if sord[j, SO_ID] == oid:
            return j
    return -1


@helper
def _fast_intents(st, ni, intents, now, arena, lm, h, drows, orows, sord, order_info, lat_e) -> int:
    """The strategy kernel's intents, in order, as `NbEngine._exec_intents` sends them: `Engine.submit` /
    `Engine.cancel` → the gateway's `process` (its numba core, `kernels.process_touched`) → its dispatcher
    `Engine.put_nowait` (entry latency draw, the command on the heap, the order row). An intent's leg picks its
    symbol (a cancel's: its order's leg). -1, or W_GROW (nothing done) when a buffer lacks room for `ni` intents."""
    if (h.shape[0] - st[S_NH] < ni or drows.shape[0] - st[S_ND] < ni or orows.shape[0] - st[S_NO] < ni
            or sord.shape[0] - st[S_NORD] < ni or order_info.shape[0] <= GK.next_order_id(arena) + ni):
        return W_GROW
    for j in range(ni):
        otype = intents[j, IN_ORDER_TYPE]
        tif = intents[j, IN_TIF]
        if (intents[j, IN_KIND] != IN_SUBMIT and intents[j, IN_KIND] != IN_CANCEL) or intents[j, IN_LEG] < 0 \
                or intents[j, IN_LEG] >= lm.shape[0] or (otype != 0 and otype != ORDER_LIMIT) \
                or (tif != 0 and tif != TIF_GTC and tif != TIF_IOC):
            return W_INTENTS  # Python raises on it, or sends an order type / TIF the kernel does not route
        any_opt = 0
        for i in range(N_OPT):  # one OR and one test per row: no branch per field
            any_opt |= intents[j, IN_OPT + i]
        if any_opt != 0:
            return W_INTENTS  # an optional field (a stop's trigger, an expiry, a display): Python sends it
    for j in range(ni):
        otype = ORDER_LIMIT
        tif = TIF_GTC
        if intents[j, IN_KIND] == IN_SUBMIT:
            kind = INTENT_NEW
            side = intents[j, IN_SIDE]
            price = intents[j, IN_PRICE]
            qty = intents[j, IN_QTY]
            target = 0
            leg = intents[j, IN_LEG]
            if intents[j, IN_TIF] != 0:
                tif = intents[j, IN_TIF]
        else:
            kind = INTENT_CANCEL
            side = 0
            price = 0
            qty = 0
            target = intents[j, IN_ORDER_ID]
            leg = order_info[target, OI_LEG] if 0 <= target < order_info.shape[0] else 0
        key = st[S_KEY] + 1
        st[S_KEY] = key
        # without `process_one`'s read-ahead: the sim's arena rows are in cache, its prefetches were pure cost
        code, oid, seq = GK.process_touched(arena, now, st[S_MODE], key, kind, st[S_ACCT], st[S_STRAT],
                                            lm[leg, LM_Y], side, price, qty, otype, tif, target, 0, NO_OPTIONS)
        if code == 0:
            cmd_oid = oid if kind == INTENT_NEW else target
            lat = latency_ns(lat_e, now, st[S_NENTRY])
            st[S_NENTRY] += 1
            at = session_arrival(now + lat, st[S_CMD_AT])  # not before the command sent before it
            st[S_CMD_AT] = at
            heap_push_cmd(h, st, at, PRI_EXCH_ARRIVAL, action=kind, order_id=cmd_oid, side=side, price=price,
                          qty=qty, order_type=otype, tif=tif, opt=NO_OPTIONS)
            r = st[S_NO]
            orows[r, OR_TS] = now
            orows[r, OR_OID] = cmd_oid
            orows[r, OR_PRICE] = price
            orows[r, OR_QTY] = qty
            orows[r, OR_ACTION] = kind
            orows[r, OR_SIDE] = side
            orows[r, OR_ORDER_TYPE] = otype
            orows[r, OR_TIF] = tif
            st[S_NO] = r + 1
        r = st[S_ND]
        drows[r, D_SEQ] = seq
        drows[r, D_TS] = now
        drows[r, D_KEY] = key
        drows[r, D_KIND] = kind
        drows[r, D_SIDE] = side
        drows[r, D_PRICE] = price
        drows[r, D_QTY] = qty
        drows[r, D_ORDER_TYPE] = otype
        drows[r, D_TIF] = tif
        drows[r, D_TARGET] = target
        drows[r, D_CODE] = code
        drows[r, D_OID] = oid
        drows[r, D_LEG] = leg
        st[S_ND] = r + 1
        accepted = code == 0 or (code & 0xFFFF) == 0
        if kind == INTENT_NEW:
            if code == 0:  # accepted, not a duplicate: the order joins the strategy's view
                order_info[oid, OI_SIDE] = side
                order_info[oid, OI_LEG] = leg
                k = st[S_NORD]
                sord[k, SO_ID] = oid
                sord[k, SO_SIDE] = side
                sord[k, SO_PRICE] = price
                sord[k, SO_LEAVES] = qty
                sord[k, SO_STATUS] = 0
                sord[k, SO_QTY] = qty
                sord[k, SO_LEG] = leg
                st[S_NORD] = k + 1
                st[S_ORD_CHANGED] = 1
                _memo_clear(st, leg)
        elif accepted:
            k = _sord_find(sord, st[S_NORD], target)
            if k >= 0:
                sord[k, SO_STATUS] = 2
                st[S_ORD_CHANGED] = 1
                _memo_clear(st, sord[k, SO_LEG])
    return -1


@helper
def _fast_schedule(st, t, vout, nrep, h, lat_r) -> None:
    """The venue's reports at exchange time `t` travel back (`Engine._schedule_reports`)."""
    for r in range(nrep):
        lat = latency_ns(lat_r, t, st[S_NRESP])
        st[S_NRESP] += 1
        v = vout[r]
        heap_push_rep(h, st, t + lat, PRI_LOCAL_RESP, ts=v.ts, order_id=v.order_id, price=v.price, qty=v.qty,
                      leaves=v.leaves, fee=v.fee, fee_frac=v.fee_frac, kind=np.int64(v.kind),
                      liquidity=np.int64(v.liquidity), queue=v.queue)


@helper
def _fast_expiry(st, h, t, vout, nrep, oid, tif, expire) -> None:
    """A new GTD order the venue keeps (its reports at `t`, `vout[:nrep]`): its expiry on the heap, due at its time
    (`hft.sim.venue_common.gtd_expiry`; `run_events.dispatch_item`)."""
    due = gtd_expiry(vout, nrep, tif, expire, t)
    if due >= 0:
        heap_push_cmd(h, st, due, PRI_EXCH_ARRIVAL, action=CMD_EXPIRE, order_id=oid, side=0, price=0, qty=0,
                      order_type=0, tif=tif, opt=NO_OPTIONS)  # (the venue's OP_EXPIRE reads none)


@helper
def _fast_cmd_l2(st, h, vbook, vorders, vfq, vcons, qm, vparams, vout, lat_r, hi) -> tuple:
    """The kernel heap's first item, a command, arrives at the L2 venue (`Engine._dispatch_item`): the venue's
    `step`, its reports scheduled back. (wake code or -1, new `hi`); W_GROW leaves the item on the heap."""
    t = h[0, H_T]
    levels = vbook.state[BOOK_N_BID] + vbook.state[BOOK_N_ASK]
    if (vout.shape[0] < out_rows(vorders, vparams, levels) or vcons.shape[0] - vparams[P_NCONS] < levels + 1
            or h.shape[0] - st[S_NH] < vout.shape[0] + 1):  # its reports, and a GTD order's expiry
        return W_GROW, hi
    action = h[0, HC_ACTION]
    oid = h[0, HC_OID]
    side = h[0, HC_SIDE]
    price = h[0, HC_PRICE]
    qty = h[0, HC_QTY]
    otype = h[0, HC_ORDER_TYPE]
    tif = h[0, HC_TIF]
    aux = new_aux(otype, h[0, HC_TRIGGER], h[0, HC_DISPLAY])
    trail = h[0, HC_TRAIL]
    oco = h[0, HC_OCO]
    parent = h[0, HC_PARENT]
    expire = h[0, HC_EXPIRE]
    _h_drop_top(h, st)
    vparams[P_NREP] = 0
    if action == INTENT_NEW:
        j = 0  # the slot the order takes (the lowest free one): keeps `hi` an upper bound of the live slots
        while j < vorders.shape[0] and vorders[j, O_LIVE] != 0:
            j += 1
        # a full table (j == rows) rejects the order: no slot, and `hi` stays within the table, whose rows
        # `_depth_is_noop` / `_trade_is_noop` read up to hi - 1 (hi = rows + 1 read one row past its end)
        if j < vorders.shape[0] and j + 1 > hi:
            hi = j + 1
        status = step(vbook, vorders, vfq, vcons, qm, vparams, vout, OP_NEW, t, oid, side, price, qty, otype,
                      tif, aux, trail, oco, parent)
    elif action == INTENT_CANCEL or action == CMD_EXPIRE:
        status = step(vbook, vorders, vfq, vcons, qm, vparams, vout, OP_CANCEL if action == INTENT_CANCEL else
                      OP_EXPIRE, t, oid, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    else:
        status = step(vbook, vorders, vfq, vcons, qm, vparams, vout, OP_REPLACE, t, oid, 0, price, qty, 0, 0,
                      0, 0, 0, 0)
    if status != V_OK:
        st[S_FLAGS] = status
        return W_ERROR, hi
    _fast_schedule(st, t, vout, vparams[P_NREP], h, lat_r)
    if action == INTENT_NEW:
        _fast_expiry(st, h, t, vout, vparams[P_NREP], oid, tif, expire)
    return -1, hi


@helper
def _fast_cmd_l3(st, h, vv, vorders, vcons, vparams, vout, vref, lat_r) -> int:
    """The kernel heap's first item, a command, arrives at the L3 venue (`Engine._dispatch_item` →
    `L3Venue.new / cancel / replace`): `order_step`, its reports scheduled back. W_GROW leaves the item on the heap
    with what must grow in ``st[S_FLAGS]`` (a `V_NEED_*` / `V_TABLE_FULL` status, or 0: report / consumed / heap
    room), nothing changed. `vv`: the view of the venue's book."""
    width = vv.n
    if (vout.shape[0] < out_need(vparams, width, vref) or vcons.shape[0] - vparams[P_NCONS] < width + 1
            or h.shape[0] - st[S_NH] < vout.shape[0] + 1):  # its reports, and a GTD order's expiry
        st[S_FLAGS] = 0
        return W_GROW
    t = h[0, H_T]
    action = h[0, HC_ACTION]
    oid = h[0, HC_OID]
    vparams[P_NREP] = 0
    side = price = qty = otype = tif = aux = trail = oco = parent = 0
    expire = h[0, HC_EXPIRE]
    if action == INTENT_NEW:
        op = L3_OP_NEW
        side = h[0, HC_SIDE]
        price = h[0, HC_PRICE]
        qty = h[0, HC_QTY]
        otype = h[0, HC_ORDER_TYPE]
        tif = h[0, HC_TIF]
        aux = new_aux(otype, h[0, HC_TRIGGER], h[0, HC_DISPLAY])
        trail = h[0, HC_TRAIL]
        oco = h[0, HC_OCO]
        parent = h[0, HC_PARENT]
    elif action == INTENT_CANCEL:
        op = L3_OP_CANCEL
    elif action == CMD_EXPIRE:
        op = L3_OP_EXPIRE
    else:
        op = L3_OP_REPLACE
        price = h[0, HC_PRICE]
        qty = h[0, HC_QTY]
    status = _order_step_i(vv, vorders, vcons, vparams, vout, op, t, oid, side, price, qty, otype, tif, aux,
                           trail, oco, parent)
    if status == V_NEED_LEVELS or status == V_NEED_ORDERS or status == V_TABLE_FULL:
        st[S_FLAGS] = status  # nothing changed: Python grows the venue, the item is retried
        return W_GROW
    _h_drop_top(h, st)
    if status != V_OK:
        st[S_FLAGS] = status
        return W_ERROR
    _fast_schedule(st, t, vout, vparams[P_NREP], h, lat_r)
    if action == INTENT_NEW:
        _fast_expiry(st, h, t, vout, vparams[P_NREP], oid, tif, expire)
    return -1


@helper
def _fast_report(st, now, h, arena, frows, sord, order_info, lm, tops, intents, drows, orows, lat_e) -> int:
    """Pop and run the kernel heap's first item, a report arriving locally at clock `now` (`Engine._deliver`: the
    gateway's `on_execution_report`, its order's leg's position, cash, fees, the fill row, the strategy's order
    view, then the strategy kernel's order rule, `report_rule_leg`). Wake code or -1; W_GROW leaves the item on
    the heap untouched, and so does W_MONEY: a fill whose money `hft.sim.fees.book_fill` or the gateway refused
    (what, in ``st[S_FLAGS]``: a ``MONEY_*`` code), nothing of it applied."""
    if frows.shape[0] - st[S_NF] < 1:
        return W_GROW
    ts = h[0, HR_TS]
    oid = h[0, HR_OID]
    price = h[0, HR_PRICE]
    qty = h[0, HR_QTY]
    leaves = h[0, HR_LEAVES]
    fee = h[0, HR_FEE]
    frac = h[0, HR_FEE_FRAC]
    kind = h[0, HR_KIND]
    liq = h[0, HR_LIQ]
    queue = h[0, HR_QUEUE]
    ours = 0 <= oid < order_info.shape[0]
    side = order_info[oid, OI_SIDE] if ours else 0
    leg = order_info[oid, OI_LEG] if ours else 0
    fill = kind == REPORT_FILL or kind == REPORT_PARTIAL_FILL
    npos = ncash = nfees = nfrac = 0
    if fill:
        # the leg's accounting (one leg: `lm` is the state row's S_POS columns, and its money factor st[S_MULT]):
        # exactly, or the run stops before anything of the fill is booked (`hft.sim.fees.book_fill`)
        mult = lm[leg, LM_MULT] if lm.shape[0] > 1 else st[S_MULT]
        what, npos, ncash, nfees, nfrac = book_fill(side, price, qty, mult, fee, frac, lm[leg, LM_POS],
                                                    lm[leg, LM_CASH], lm[leg, LM_FEES], lm[leg, LM_FFRAC])
        if what != MONEY_OK:
            st[S_FLAGS] = what
            return W_MONEY  # the report stays on the heap: Python names it (`fill_refusal`)
    flags = GK.apply_report(arena, now, oid, kind, price, qty, leaves, fee, frac)
    if fill and flags & GK.F_BAD_REPORT:  # the gateway could not book it (and applied nothing)
        st[S_FLAGS] = MONEY_GATEWAY
        return W_MONEY
    _h_drop_top(h, st)
    if kind == REPORT_ACK and ours:
        order_info[oid, OI_ACK_TS] = now
        order_info[oid, OI_QUEUE] = queue
    if fill:
        lm[leg, LM_POS] = npos
        lm[leg, LM_CASH] = ncash
        lm[leg, LM_FEES] = nfees
        lm[leg, LM_FFRAC] = nfrac
        r = st[S_NF]
        frows[r, FR_TS] = ts
        frows[r, FR_LOCAL_TS] = now
        frows[r, FR_OID] = oid
        frows[r, FR_PRICE] = price
        frows[r, FR_QTY] = qty
        frows[r, FR_LEAVES] = leaves
        frows[r, FR_FEE] = fee
        frows[r, FR_FEE_FRAC] = frac
        frows[r, FR_SIDE] = side
        frows[r, FR_KIND] = kind
        frows[r, FR_LIQ] = liq
        st[S_NF] = r + 1
    n = st[S_NORD]
    k = _sord_find(sord, n, oid)
    if k >= 0:
        st[S_ORD_CHANGED] = 1
        _memo_clear(st, sord[k, SO_LEG])
        if kind == REPORT_FILL or kind == REPORT_CANCELED or kind == REPORT_EXPIRED or kind == REPORT_REJECTED:
            for m in range(k, n - 1):  # removed; the others keep their order (a dict's insertion order)
                for c in range(SO_COLS):
                    sord[m, c] = sord[m + 1, c]
            st[S_NORD] = n - 1
        elif kind == REPORT_REPLACED:
            sord[k, SO_PRICE] = price
            sord[k, SO_LEAVES] = leaves
            sord[k, SO_STATUS] = 1
        elif kind == REPORT_ACK or kind == REPORT_CANCEL_REJECTED or kind == REPORT_REPLACE_REJECTED:
            sord[k, SO_STATUS] = 1
        elif kind == REPORT_PARTIAL_FILL:
            sord[k, SO_LEAVES] = leaves
            if sord[k, SO_STATUS] == 0:
                sord[k, SO_STATUS] = 1
    rl = report_rule_leg(st[S_SKID], leg, kind)  # the strategy's order callback (`on_order_update`), as a kernel
    if flags & (GK.F_LOSS_BREACH | GK.F_POSITION_BREACH):
        st[S_FLAGS] = flags
        st[S_RLEG] = rl + 1  # Python runs the StormGuard first, then that rule (as the reference's order)
        return W_RFLAGS
    if rl >= 0:
        st[S_LEG] = rl
        st[S_POS] = lm[rl, LM_POS]
        ni = strategy_on_book(st, tops[rl, 4:8], sord, intents, tops, lm)
        if ni > 0:
            st[S_NINT] = ni
            if now >= st[S_STORM_NEXT] or _fast_intents(st, ni, intents, now, arena, lm, h, drows, orows, sord,
                                                          order_info, lat_e) != -1:
                return W_INTENTS  # at the StormGuard's check, no room, or not routed here: Python sends them
    return -1


@helper
def _kfirst(st, h, bt, bp, bs) -> bool:
    """Is the kernel heap's first item before the Python heap's (bound ``(bt, bp, bs)``)? (the reference's
    ``(t, prio, seq)`` order)"""
    if st[S_NH] == 0:
        return False
    kt = h[0, H_T]
    kp = h[0, H_P]
    return kt < bt or (kt == bt and (kp < bp or (kp == bp and h[0, H_SEQ] < bs)))
