"""Execution reports, marks and fills on the arena; live orders, flatten prices, the day roll.

Part of the gateway's numba core; the layout and the pipeline: `hft.gateway.kernels`."""

from __future__ import annotations

import numpy as np

from hft.core.jit import helper
from hft.core.orders import (
    ORDER_LIMIT,
    ORDER_MARKET,
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
)
from hft.gateway.kernels.decide import _replace_pending, _replace_settled
from hft.gateway.kernels.exact import add_ok, mul_cmp_gt, sat_add, since, sub_ok
from hft.gateway.kernels.exposure import _eff, _find_order, _mul_gt, _ord_remove, _recompute_best, _release
from hft.gateway.kernels.layout import (
    A_COST,
    A_FFRAC,
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
    L_MAX_LONG,
    L_MAX_POSITION,
    L_MAX_SHORT,
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
    O_TYPE,
    OS_FREE,
    OS_LIVE,
    OS_PENDING_CANCEL,
    OS_PENDING_CANCEL_REPLACE,
    OS_PENDING_REPLACE,
    S_COST,
    S_FFRAC,
    S_MTM,
    S_REAL,
    UNLIMITED,
    WO_ACCOUNT,
    WO_ORDER_ID,
    WO_STATUS,
    WO_STRATEGY,
    WO_SYMBOL,
    Y_HEAD,
    Y_MAX_BID,
    Y_MIN_ASK,
    Y_MULT,
    Y_REF_PX,
    Y_TICK,
    Y_WIN_PX,
    Y_WIN_TS,
    Z_ACCT,
    Z_ASK,
    Z_BID,
    Z_COST,
    Z_FFRAC,
    Z_POS,
    Z_REAL,
    Z_SNEXT,
    Z_STRAT,
    Z_SYM,
    Z_USED,
    Z_WBUY,
    Z_WSELL,
    _kernel,
    _kstate,
)
from hft.gateway.kernels.money import FEE_FRAC_UNITS, average_cost_fill, position_value_ok
from hft.gateway.kernels.risk import _loss_breached, _reserve


# ======================================================================= reports and marks
# Every value a report or a mark books is computed exactly (`hft.gateway.kernels.exact`): one that would not fit
# int64 (prices, quantities or fees from outside at the edge of the range) refuses the report or the mark, with
# F_BAD_REPORT and nothing applied, instead of wrapping a position or a PnL. Held values stay within
# [-I64_MAX, I64_MAX] (no I64_MIN: their negation and abs are defined).
@helper
def _mtm_ok(st, t, a, dm):
    """Add `dm` to the marked value of strategy `t` and account `a` when both sums fit int64 (else nothing is
    added); whether it was added."""
    b = st.b
    sm = st.strat + t * N_S + S_MTM
    am = st.acct + a * N_A + A_MTM
    vs, ok1 = add_ok(b[sm], dm)
    va, ok2 = add_ok(b[am], dm)
    if not (ok1 and ok2):
        return False
    b[sm] = vs
    b[am] = va
    return True


@helper
def _mark_delta(px, old, pos, mult):
    """``(position_value(px) - position_value(old), ok)`` of `pos` (linear: ``pos × (px - old) × mult``)."""
    v1, ok1 = position_value_ok(px, pos, mult)
    v0, ok0 = position_value_ok(old, pos, mult)
    dm, ok = sub_ok(v1, v0)
    return dm, ok and ok1 and ok0


@_kernel
def _set_mark(st, y, px, now):
    """Mark symbol `y` at `px` (> 0). Returns F_* flags; F_BAD_REPORT (nothing applied) when the marked value of a
    position, or a strategy's or account's sum of them, would not fit int64."""
    b = st.b
    flags = 0
    ys = st.sym + y * N_Y
    old = b[ys + Y_REF_PX]
    mult = b[ys + Y_MULT]
    if px != old:  # (px > 0, old >= 0: the difference fits)
        w = b[ys + Y_HEAD]
        failed = -1
        while w >= 0:
            s = st.slot + w * N_Z
            pos = b[s + Z_POS]
            if pos != 0:
                dm, ok = _mark_delta(px, old, pos, mult)  # linear: pos × d × mult
                if not (ok and _mtm_ok(st, b[s + Z_STRAT], b[s + Z_ACCT], dm)):
                    failed = w
                    break
                if _loss_breached(st, b[s + Z_ACCT], b[s + Z_STRAT]):
                    flags |= F_LOSS_BREACH
            w = b[s + Z_SNEXT]
        if failed >= 0:  # undo the slots before it (each of their deltas was added exactly), refuse the mark
            w = b[ys + Y_HEAD]
            while w != failed:
                s = st.slot + w * N_Z
                pos = b[s + Z_POS]
                if pos != 0:
                    dm, _ok = _mark_delta(px, old, pos, mult)
                    _mtm_ok(st, b[s + Z_STRAT], b[s + Z_ACCT], -dm)
                w = b[s + Z_SNEXT]
            return F_BAD_REPORT
        b[ys + Y_REF_PX] = px
    win = b[st.cfg + C_MOVE_WIN_NS]
    bps = b[st.cfg + C_MOVE_BPS]
    if win > 0 and bps > 0:
        wpx = b[ys + Y_WIN_PX]
        if wpx <= 0 or since(now, b[ys + Y_WIN_TS]) > win:
            b[ys + Y_WIN_TS] = now
            b[ys + Y_WIN_PX] = px
        elif mul_cmp_gt(abs(px - wpx), 10000, bps, wpx):  # px, wpx > 0: the difference fits
            flags |= F_MARKET_MOVE
    return flags


@_kernel
def mark(buf, y, px, now):
    """Mark-to-market symbol `y` at `px` ticks. Returns F_* flags (loss breach, market move; F_BAD_REPORT: a bad
    symbol or price, or a marked value that would not fit int64: not applied)."""
    st = _kstate(buf)
    if y < 0 or y >= buf[st.cfg + C_N_SYM] or px <= 0:
        return F_BAD_REPORT
    return _set_mark(st, y, px, now)


@helper
def _add3(x, y, z):
    """``(x + y + z, ok)`` exactly."""
    v, ok1 = add_ok(x, y)
    v, ok2 = add_ok(v, z)
    return v, ok1 and ok2


@helper
def _real_after(real, owed, dreal, frac):
    """A realised PnL `real` with fee millionths `owed` (`S_FFRAC`: exactly ``real - owed / 1e6``) after adding
    `dreal` and a fee's millionths `frac`: ``(real', owed', ok)``, the millionths carried into a whole unit when
    they make one; ok False when ``real'`` would not fit int64."""
    nowed = owed + frac  # < 2 * FEE_FRAC_UNITS
    if nowed >= FEE_FRAC_UNITS:
        d, ok = sub_ok(dreal, 1)
        r, ok2 = add_ok(real, d)
        return r, nowed - FEE_FRAC_UNITS, ok and ok2
    r, ok = add_ok(real, dreal)
    return r, nowed, ok


@_kernel
def _fill_plan(st, z, side, px, q, fee, frac, mk):
    """What a fill of `q` (> 0) lots on `side` at `px` (> 0) with the exact fee ``fee + frac / 1e6`` books on slot
    `z`, the symbol marked at `mk`: ``(ok, npos, cost, dreal, dcost, dmtm)``; ok False when a value it books would
    not fit int64 (its value, the cost basis, the realised PnL, the slot's, strategy's or account's sums: checked
    here, so that `_fill_apply` cannot overflow). ``dreal`` is before the fee's millionths (each book carries
    them, `_real_after`). Reads only."""
    b = st.b
    s = st.slot + z * N_Z
    m = b[st.sym + b[s + Z_SYM] * N_Y + Y_MULT]
    pos = b[s + Z_POS]
    cost0 = b[s + Z_COST]
    dreal, ok = sub_ok(0, fee)
    sq = side * q  # side is +-1, 0 < q <= I64_MAX: fits
    ok0, npos, cost, g = average_cost_fill(pos, cost0, side, px, q, m)  # the one rule (held: pos, cost0 != I64_MIN)
    dreal, ok3 = add_ok(dreal, g)
    ok = ok and ok0 and ok3
    dcost, ok6 = sub_ok(cost, cost0)
    dmtm, ok7 = position_value_ok(mk, sq, m)  # npos - pos == side * q
    _v, ok8 = position_value_ok(mk, npos, m)  # every held position has a value at its mark (marks, `roll_day`)
    if not (ok and ok6 and ok7 and ok8):
        return False, 0, 0, 0, 0, 0
    # the sums the fill adds to: the slot's realised PnL, the strategy's and the account's books
    ts = st.strat + b[s + Z_STRAT] * N_S
    ac = st.acct + b[s + Z_ACCT] * N_A
    _r, _f, ok1 = _real_after(b[s + Z_REAL], b[s + Z_FFRAC], dreal, frac)
    _r, _f, ok2 = _real_after(b[ts + S_REAL], b[ts + S_FFRAC], dreal, frac)
    _r, ok3 = add_ok(b[ts + S_COST], dcost)
    _r, ok4 = add_ok(b[ts + S_MTM], dmtm)
    _r, _f, ok5 = _real_after(b[ac + A_REAL], b[ac + A_FFRAC], dreal, frac)
    _r, ok6 = add_ok(b[ac + A_COST], dcost)
    _r, ok7 = add_ok(b[ac + A_MTM], dmtm)
    if not (ok1 and ok2 and ok3 and ok4 and ok5 and ok6 and ok7):
        return False, 0, 0, 0, 0, 0
    return True, npos, cost, dreal, dcost, dmtm


@_kernel
def _fill_apply(st, z, npos, cost, dreal, frac, dcost, dmtm):
    """Book a fill `_fill_plan` computed (and checked: every sum here fits), its fee's millionths `frac` carried
    in each realised PnL (`_real_after`). Returns F_* flags (position, loss breach)."""
    b = st.b
    s = st.slot + z * N_Z
    y = b[s + Z_SYM]
    t = b[s + Z_STRAT]
    a = b[s + Z_ACCT]
    flags = 0
    b[s + Z_POS] = npos
    b[s + Z_COST] = cost
    b[s + Z_REAL], b[s + Z_FFRAC], _ok = _real_after(b[s + Z_REAL], b[s + Z_FFRAC], dreal, frac)
    ts = st.strat + t * N_S
    b[ts + S_REAL], b[ts + S_FFRAC], _ok = _real_after(b[ts + S_REAL], b[ts + S_FFRAC], dreal, frac)
    b[ts + S_COST] += dcost
    b[ts + S_MTM] += dmtm
    ac = st.acct + a * N_A
    b[ac + A_REAL], b[ac + A_FFRAC], _ok = _real_after(b[ac + A_REAL], b[ac + A_FFRAC], dreal, frac)
    b[ac + A_COST] += dcost
    b[ac + A_MTM] += dmtm
    if abs(npos) > _eff(st, L_MAX_POSITION, a, t, y) or (
            npos > _eff(st, L_MAX_LONG, a, t, y) if npos > 0 else -npos > _eff(st, L_MAX_SHORT, a, t, y)):
        flags |= F_POSITION_BREACH
    if _loss_breached(st, a, t):
        flags |= F_LOSS_BREACH
    return flags


@_kernel
def _report(st, now, oid, kind, price, qty, leaves, fee, frac):
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
        z = b[r + O_SLOT]
        y = b[st.slot + z * N_Z + Z_SYM]
        ref = b[st.sym + y * N_Y + Y_REF_PX]
        # a symbol's first fill marks it at the fill's price (no slot of it holds a position before: a fill is
        # what opens one, so that mark changes no marked value and cannot be refused)
        if not 0 <= frac < FEE_FRAC_UNITS:
            return F_BAD_REPORT
        ok, npos, cost, dreal, dcost, dmtm = _fill_plan(st, z, b[r + O_SIDE], price, qty, fee, frac,
                                                        ref if ref > 0 else price)
        if not ok:  # a value it books would not fit int64: refused, nothing applied
            return F_BAD_REPORT
        _release(st, o, min(qty, b[r + O_OPEN]))
        if b[r + O_REP_RES] > b[r + O_OPEN]:  # a fill beyond the old open size ate into the new size's part
            b[r + O_REP_RES] = b[r + O_OPEN]
        flags = 0
        if ref <= 0:
            flags = _set_mark(st, y, price, now)
        flags |= _fill_apply(st, z, npos, cost, dreal, frac, dcost, dmtm)
        if kind == REPORT_FILL:
            _ord_remove(st, o)
        return flags
    if kind == REPORT_CANCELED or kind == REPORT_EXPIRED or kind == REPORT_REJECTED:
        _ord_remove(st, o)
        return 0
    if kind == REPORT_REPLACED:
        newq = leaves if leaves >= 0 else b[r + O_NEW_QTY]
        newp = price if price > 0 else b[r + O_NEW_PX]
        d = newq - b[r + O_OPEN]  # both >= 0: fits
        if d > 0:  # the side's working quantity must hold it (a reservation never wraps)
            s = st.slot + b[r + O_SLOT] * N_Z
            _w, ok = add_ok(b[s + (Z_WBUY if b[r + O_SIDE] > 0 else Z_WSELL)], d)
            if not ok:
                return F_BAD_REPORT
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
    if kind == REPORT_TRIGGERED:  # a held stop entered the book: a market (stop) or limit (stop-limit) order now
        otype = b[r + O_TYPE]
        if otype != ORDER_STOP and otype != ORDER_STOP_LIMIT:
            return F_BAD_REPORT
        b[r + O_TYPE] = ORDER_MARKET if otype == ORDER_STOP else ORDER_LIMIT
        z = b[r + O_SLOT]
        _recompute_best(st, z)
        # it crosses now: the symbol's self-match bounds (conservative: never tighter than the truth) take it in
        s = st.slot + z * N_Z
        ys = st.sym + b[s + Z_SYM] * N_Y
        b[ys + Y_MAX_BID] = max(b[ys + Y_MAX_BID], b[s + Z_BID])
        b[ys + Y_MIN_ASK] = min(b[ys + Y_MIN_ASK], b[s + Z_ASK])
        return 0
    if kind == REPORT_CANCEL_REJECTED:
        if b[r + O_STATUS] == OS_PENDING_CANCEL:
            b[r + O_STATUS] = OS_LIVE
        elif b[r + O_STATUS] == OS_PENDING_CANCEL_REPLACE:
            b[r + O_STATUS] = OS_PENDING_REPLACE
        return 0
    return F_BAD_REPORT


@_kernel
def apply_report(buf, now, oid, kind, price, qty, leaves, fee, frac):
    """Apply one execution report (its fee exact: ``fee + frac / 1e6``). Returns F_* flags."""
    return _report(_kstate(buf), now, oid, kind, price, qty, leaves, fee, frac)


@_kernel
def apply_reports(buf, now, reports):
    """Apply an EXEC_REPORT_DTYPE array in order; returns the OR of all flags."""
    st = _kstate(buf)
    flags = 0
    for i in range(reports.shape[0]):
        r = reports[i]
        flags |= _report(st, max(now, r.ts), r.order_id, np.int64(r.kind), r.price, r.qty, r.leaves, r.fee,
                         r.fee_frac)
    return flags


@_kernel
def apply_reports_until(buf, now, reports, start, stop_mask, flags):
    """Apply ``reports[start:]`` in order at `now` until one returns a flag in `stop_mask` (a breach the caller
    must act on before the next report); each report's flags go to ``flags[i]`` (F_BAD_REPORT / F_UNKNOWN_ORDER:
    not applied). Returns (that report's flags or 0, index of the next report)."""
    st = _kstate(buf)
    for i in range(start, reports.shape[0]):
        r = reports[i]
        f = _report(st, now, r.order_id, np.int64(r.kind), r.price, r.qty, r.leaves, r.fee, r.fee_frac)
        flags[i] = f
        if f & stop_mask:
            return f, i + 1
    return 0, reports.shape[0]


@_kernel
def live_orders(buf, out):
    """Write every working order into a row of `out` (int64 ``[rows, WO_COLS]``: `layout.WORKING_ORDER`'s fields,
    its id, account, strategy and symbol indices, status) while rows last; return how many there are."""
    st = _kstate(buf)
    n = 0
    for o in range(buf[st.cfg + C_ORD_CAP]):
        r = st.ord + o * N_O
        if buf[r + O_STATUS] != OS_FREE:
            if n < out.shape[0]:
                s = st.slot + buf[r + O_SLOT] * N_Z
                out[n, WO_ORDER_ID] = buf[r + O_ID]
                out[n, WO_ACCOUNT] = buf[s + Z_ACCT]
                out[n, WO_STRATEGY] = buf[s + Z_STRAT]
                out[n, WO_SYMBOL] = buf[s + Z_SYM]
                out[n, WO_STATUS] = buf[r + O_STATUS]
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
    if band < UNLIMITED and not _mul_gt(band, ref, I64_MAX):  # (a band wider than that: as no band)
        d = band * ref // 10000
    if side > 0:
        px = sat_add(ref, d) // tick * tick  # down to the grid: never past the band
    else:
        lo = ref - d  # > -I64_MAX: d <= I64_MAX // 10000
        c = -((-lo) // tick)  # up to the grid (ceil(lo / tick))
        px = c * tick if c <= I64_MAX // tick else I64_MAX // tick * tick  # (the grid's top below I64_MAX)
    return max(px, tick)


@_kernel
def roll_day(buf):
    """Start a new trading day: realised PnL to zero, cost basis re-marked (unrealised to zero)."""
    st = _kstate(buf)
    b = buf
    for t in range(b[st.cfg + C_MAX_STRAT]):
        r = st.strat + t * N_S
        b[r + S_REAL] = 0
        b[r + S_FFRAC] = 0
        b[r + S_COST] = 0
        b[r + S_MTM] = 0
    for a in range(b[st.cfg + C_MAX_ACCT]):
        r = st.acct + a * N_A
        b[r + A_REAL] = 0
        b[r + A_FFRAC] = 0
        b[r + A_COST] = 0
        b[r + A_MTM] = 0
    for z in range(b[st.cfg + C_SLOT_CAP]):
        s = st.slot + z * N_Z
        if b[s + Z_USED] == 1:
            ys = st.sym + b[s + Z_SYM] * N_Y
            # fits: fills and marks keep every position's value at its mark within int64 (`_fill_plan`, `_set_mark`),
            # and a strategy's or account's sum of them is its marked value, which they keep within int64 too
            # (exactly for a linear symbol; within a unit a fill for an inverse one). Past that (a symbol's money
            # factor changed under a position) the nearest int64, never a wrapped one.
            v, ok = position_value_ok(b[ys + Y_REF_PX], b[s + Z_POS], b[ys + Y_MULT])
            if not ok:
                v = I64_MAX if (b[s + Z_POS] > 0) == (b[ys + Y_MULT] > 0) else -I64_MAX
            b[s + Z_REAL] = 0
            b[s + Z_FFRAC] = 0
            b[s + Z_COST] = v
            ts = st.strat + b[s + Z_STRAT] * N_S
            b[ts + S_COST] = sat_add(b[ts + S_COST], v)
            b[ts + S_MTM] = sat_add(b[ts + S_MTM], v)
            ac = st.acct + b[s + Z_ACCT] * N_A
            b[ac + A_COST] = sat_add(b[ac + A_COST], v)
            b[ac + A_MTM] = sat_add(b[ac + A_MTM], v)


