"""Execution reports, marks and fills on the arena; live orders, flatten prices, the day roll.

Part of the gateway's numba core; the layout and the pipeline: `hft.gateway.kernels`."""

from __future__ import annotations

import numpy as np

from hft.core.orders import (
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
)
from hft.gateway.kernels.decide import _replace_pending, _replace_settled
from hft.gateway.kernels.exposure import _eff, _find_order, _mul_gt, _ord_remove, _recompute_best, _release
from hft.gateway.kernels.layout import (
    A_COST,
    A_MTM,
    A_REAL,
    C_MAX_ACCT,
    C_MAX_STRAT,
    C_MOVE_BPS,
    C_MOVE_WIN_NS,
    C_N_SYM,
    C_ORD_CAP,
    C_SLOT_CAP,
    F_BAD_REPORT,
    F_LOSS_BREACH,
    F_MARKET_MOVE,
    F_POSITION_BREACH,
    F_UNKNOWN_ORDER,
    I64_MAX,
    K_REPORTS,
    K_UNKNOWN_REPORTS,
    L_BAND_BPS,
    L_MAX_POSITION,
    N_A,
    N_O,
    N_S,
    N_Y,
    N_Z,
    O_ID,
    O_NEW_PX,
    O_NEW_QTY,
    O_OPEN,
    O_PX,
    O_REP_RES,
    O_SIDE,
    O_SLOT,
    O_STATUS,
    OS_FREE,
    OS_LIVE,
    OS_PENDING_CANCEL,
    OS_PENDING_CANCEL_REPLACE,
    OS_PENDING_REPLACE,
    S_COST,
    S_MTM,
    S_REAL,
    UNLIMITED,
    Y_HEAD,
    Y_MULT,
    Y_REF_PX,
    Y_TICK,
    Y_WIN_PX,
    Y_WIN_TS,
    Z_ACCT,
    Z_COST,
    Z_POS,
    Z_REAL,
    Z_SNEXT,
    Z_STRAT,
    Z_SYM,
    Z_USED,
    _kernel,
    _kernel_inline,
    _kstate,
)
from hft.gateway.kernels.money import position_value
from hft.gateway.kernels.risk import _loss_breached, _reserve


# ======================================================================= reports and marks
@_kernel_inline
def _apply_mtm(st, t, a, dm):
    st.b[st.strat + t * N_S + S_MTM] += dm
    st.b[st.acct + a * N_A + A_MTM] += dm


@_kernel
def _set_mark(st, y, px, now):
    b = st.b
    flags = 0
    ys = st.sym + y * N_Y
    old = b[ys + Y_REF_PX]
    mult = b[ys + Y_MULT]
    b[ys + Y_REF_PX] = px
    d = px - old
    if d != 0:
        w = b[ys + Y_HEAD]
        while w >= 0:
            s = st.slot + w * N_Z
            if b[s + Z_POS] != 0:
                pos = b[s + Z_POS]
                dm = position_value(px, pos, mult) - position_value(old, pos, mult)  # linear: pos × d × mult
                _apply_mtm(st, b[s + Z_STRAT], b[s + Z_ACCT], dm)
                if _loss_breached(st, b[s + Z_ACCT], b[s + Z_STRAT]):
                    flags |= F_LOSS_BREACH
            w = b[s + Z_SNEXT]
    win = b[st.cfg + C_MOVE_WIN_NS]
    bps = b[st.cfg + C_MOVE_BPS]
    if win > 0 and bps > 0:
        if b[ys + Y_WIN_PX] <= 0 or now - b[ys + Y_WIN_TS] > win:
            b[ys + Y_WIN_TS] = now
            b[ys + Y_WIN_PX] = px
        elif abs(px - b[ys + Y_WIN_PX]) * 10000 > bps * b[ys + Y_WIN_PX]:
            flags |= F_MARKET_MOVE
    return flags


@_kernel
def mark(buf, y, px, now):
    """Mark-to-market symbol `y` at `px` ticks. Returns F_* flags (loss breach, market move)."""
    st = _kstate(buf)
    if y < 0 or y >= buf[st.cfg + C_N_SYM] or px <= 0:
        return F_BAD_REPORT
    return _set_mark(st, y, px, now)


@_kernel
def _fill(st, z, side, px, q, fee, now):
    b = st.b
    s = st.slot + z * N_Z
    y = b[s + Z_SYM]
    t = b[s + Z_STRAT]
    a = b[s + Z_ACCT]
    flags = 0
    ys = st.sym + y * N_Y
    if b[ys + Y_REF_PX] <= 0:
        flags |= _set_mark(st, y, px, now)
    m = b[ys + Y_MULT]
    mk = b[ys + Y_REF_PX]
    pos = b[s + Z_POS]
    cost = b[s + Z_COST]
    dreal = -fee
    if pos == 0 or (pos > 0) == (side > 0):
        cost += position_value(px, side * q, m)
        npos = pos + side * q
    else:
        ap = abs(pos)
        closing = min(q, ap)
        removed = (cost * closing) // ap if cost >= 0 else -((-cost * closing) // ap)
        sgn = 1 if pos > 0 else -1
        dreal += position_value(px, sgn * closing, m) - removed
        cost -= removed
        npos = pos + side * closing
        rest = q - closing
        if rest > 0:
            cost += position_value(px, side * rest, m)
            npos += side * rest
    dcost = cost - b[s + Z_COST]
    dpos = npos - pos
    b[s + Z_POS] = npos
    b[s + Z_COST] = cost
    b[s + Z_REAL] += dreal
    ts = st.strat + t * N_S
    b[ts + S_REAL] += dreal
    b[ts + S_COST] += dcost
    ac = st.acct + a * N_A
    b[ac + A_REAL] += dreal
    b[ac + A_COST] += dcost
    _apply_mtm(st, t, a, position_value(mk, dpos, m))
    if abs(npos) > _eff(st, L_MAX_POSITION, a, t, y):
        flags |= F_POSITION_BREACH
    if _loss_breached(st, a, t):
        flags |= F_LOSS_BREACH
    return flags


@_kernel
def _report(st, now, oid, kind, price, qty, leaves, fee):
    b = st.b
    b[st.ctr + K_REPORTS] += 1
    o = _find_order(st, oid)
    if o < 0:
        b[st.ctr + K_UNKNOWN_REPORTS] += 1
        return F_UNKNOWN_ORDER
    r = st.ord + o * N_O
    if kind == REPORT_ACK:
        return 0
    if kind == REPORT_PARTIAL_FILL or kind == REPORT_FILL:
        if qty <= 0 or price <= 0:
            return F_BAD_REPORT
        _release(st, o, min(qty, b[r + O_OPEN]))
        if b[r + O_REP_RES] > b[r + O_OPEN]:  # a fill beyond the old open size ate into the new size's part
            b[r + O_REP_RES] = b[r + O_OPEN]
        flags = _fill(st, b[r + O_SLOT], b[r + O_SIDE], price, qty, fee, now)
        if kind == REPORT_FILL:
            _ord_remove(st, o)
        return flags
    if kind == REPORT_CANCELED or kind == REPORT_EXPIRED or kind == REPORT_REJECTED:
        _ord_remove(st, o)
        return 0
    if kind == REPORT_REPLACED:
        newq = leaves if leaves >= 0 else b[r + O_NEW_QTY]
        newp = price if price > 0 else b[r + O_NEW_PX]
        d = newq - b[r + O_OPEN]
        if d < 0:
            _release(st, o, -d)
        elif d > 0:
            _reserve(st, b[r + O_SLOT], b[r + O_SIDE], d)
            b[r + O_OPEN] += d
        b[r + O_PX] = newp
        if _replace_pending(b[r + O_STATUS]):
            _replace_settled(st, o, False)
        _recompute_best(st, b[r + O_SLOT])
        if b[r + O_OPEN] == 0 and b[r + O_STATUS] == OS_LIVE:
            _ord_remove(st, o)
        return 0
    if kind == REPORT_REPLACE_REJECTED:
        if _replace_pending(b[r + O_STATUS]):
            _replace_settled(st, o, True)
        return 0
    if kind == REPORT_CANCEL_REJECTED:
        if b[r + O_STATUS] == OS_PENDING_CANCEL:
            b[r + O_STATUS] = OS_LIVE
        elif b[r + O_STATUS] == OS_PENDING_CANCEL_REPLACE:
            b[r + O_STATUS] = OS_PENDING_REPLACE
        return 0
    return F_BAD_REPORT


@_kernel
def apply_report(buf, now, oid, kind, price, qty, leaves, fee):
    """Apply one execution report. Returns F_* flags."""
    return _report(_kstate(buf), now, oid, kind, price, qty, leaves, fee)


@_kernel
def apply_reports(buf, now, reports):
    """Apply an EXEC_REPORT_DTYPE array in order; returns the OR of all flags."""
    st = _kstate(buf)
    flags = 0
    for i in range(reports.shape[0]):
        r = reports[i]
        flags |= _report(st, max(now, r.ts), r.order_id, np.int64(r.kind), r.price, r.qty, r.leaves, r.fee)
    return flags


@_kernel
def apply_reports_until(buf, now, reports, start, stop_mask, flags):
    """Apply ``reports[start:]`` in order at `now` until one returns a flag in `stop_mask` (a breach the caller
    must act on before the next report); each report's flags go to ``flags[i]`` (F_BAD_REPORT / F_UNKNOWN_ORDER:
    not applied). Returns (that report's flags or 0, index of the next report)."""
    st = _kstate(buf)
    for i in range(start, reports.shape[0]):
        r = reports[i]
        f = _report(st, now, r.order_id, np.int64(r.kind), r.price, r.qty, r.leaves, r.fee)
        flags[i] = f
        if f & stop_mask:
            return f, i + 1
    return 0, reports.shape[0]


@_kernel
def live_orders(buf, out):
    """Write (order_id, account, strategy, symbol, status) of every working order into `out`; return n."""
    st = _kstate(buf)
    n = 0
    for o in range(buf[st.cfg + C_ORD_CAP]):
        r = st.ord + o * N_O
        if buf[r + O_STATUS] != OS_FREE:
            if n < out.shape[0]:
                s = st.slot + buf[r + O_SLOT] * N_Z
                out[n, 0] = buf[r + O_ID]
                out[n, 1] = buf[s + Z_ACCT]
                out[n, 2] = buf[s + Z_STRAT]
                out[n, 3] = buf[s + Z_SYM]
                out[n, 4] = buf[r + O_STATUS]
            n += 1
    return n


@_kernel
def flatten_price(buf, a, t, y, side):
    """The limit price of an internal closing order (flatten_on_halt) on `side`: as far through the reference
    price as the price band allows (its edge, on the tick grid, inside the band), the reference price itself
    when no band is set; 0 when the symbol has no reference price."""
    st = _kstate(buf)
    ys = st.sym + y * N_Y
    ref = buf[ys + Y_REF_PX]
    if ref <= 0:
        return 0
    tick = max(buf[ys + Y_TICK], 1)
    band = _eff(st, L_BAND_BPS, a, t, y)
    d = 0
    if band < UNLIMITED and not _mul_gt(band, ref, I64_MAX):
        d = band * ref // 10000
    if side > 0:
        px = (ref + d) // tick * tick  # down to the grid: never past the band
    else:
        px = -((-(ref - d)) // tick) * tick  # up to the grid
    return max(px, tick)


@_kernel
def roll_day(buf):
    """Start a new trading day: realised PnL to zero, cost basis re-marked (unrealised to zero)."""
    st = _kstate(buf)
    b = buf
    for t in range(b[st.cfg + C_MAX_STRAT]):
        r = st.strat + t * N_S
        b[r + S_REAL] = 0
        b[r + S_COST] = 0
        b[r + S_MTM] = 0
    for a in range(b[st.cfg + C_MAX_ACCT]):
        r = st.acct + a * N_A
        b[r + A_REAL] = 0
        b[r + A_COST] = 0
        b[r + A_MTM] = 0
    for z in range(b[st.cfg + C_SLOT_CAP]):
        s = st.slot + z * N_Z
        if b[s + Z_USED] == 1:
            ys = st.sym + b[s + Z_SYM] * N_Y
            v = position_value(b[ys + Y_REF_PX], b[s + Z_POS], b[ys + Y_MULT])
            b[s + Z_REAL] = 0
            b[s + Z_COST] = v
            ts = st.strat + b[s + Z_STRAT] * N_S
            b[ts + S_COST] += v
            b[ts + S_MTM] += v
            ac = st.acct + b[s + Z_ACCT] * N_A
            b[ac + A_COST] += v
            b[ac + A_MTM] += v


