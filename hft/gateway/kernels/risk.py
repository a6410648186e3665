"""Risk checks of one intent: rate buckets, PnL and daily loss, the risk step, exposure limits and reservations, TIF.

Part of the gateway's numba core; the layout and the pipeline: `hft.gateway.kernels`."""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from hft.core.jit import helper
from hft.core.order_rules import bad_trail, is_stop, may_follow, may_show
from hft.core.orders import (
    OPT_DISPLAY,
    OPT_EXPIRE,
    OPT_OCO,
    OPT_PARENT,
    OPT_TRAIL,
    OPT_TRIGGER,
    ORDER_MARKET,
    ORDER_POST_ONLY,
    ORDER_STOP,
    ORDER_TYPE_MAX,
    R_ACCOUNT_SUBMIT_RATE,
    R_ACCOUNT_SUBMIT_RATE_2,
    R_BAD_DISPLAY,
    R_BAD_EXPIRE,
    R_BAD_LINK,
    R_BAD_PRICE,
    R_BAD_QTY,
    R_BAD_SIDE,
    R_BAD_TRAIL,
    R_BAD_TRIGGER,
    R_BUYING_POWER,
    R_DAILY_LOSS,
    R_LONG_LIMIT,
    R_MAX_ORDER_NOTIONAL,
    R_MAX_ORDER_QTY,
    R_MIN_NOTIONAL,
    R_NO_REFERENCE_PRICE,
    R_NOTIONAL_LIMIT,
    R_OFF_LOT,
    R_OFF_TICK,
    R_OK,
    R_POSITION_LIMIT,
    R_PRICE_BAND,
    R_QTY_BELOW_MIN,
    R_REPEAT_THROTTLE,
    R_RISK_CHECK,
    R_SELF_MATCH,
    R_SHORT_LIMIT,
    R_SUBMIT_RATE,
    R_SUBMIT_RATE_2,
    R_UNKNOWN_ACCOUNT,
    R_UNKNOWN_STRATEGY,
    R_UNKNOWN_SYMBOL,
    R_UNSUPPORTED_ORDER_TYPE,
    R_UNSUPPORTED_TIF,
    TIF_DAY,
    TIF_FOK,
    TIF_GTC,
    TIF_GTD,
    TIF_IOC,
    TIF_MAX,
)
from hft.gateway.kernels.exact import add_ok, mul_cmp_gt, mul_div_trunc, since, sub_ok, sum3_lt
from hft.gateway.kernels.exposure import _cross_px, _eff, _eff_floor, _notional_gt, _strat_lim
from hft.gateway.kernels.layout import (
    A_COST,
    A_FFRAC,
    A_MTM,
    A_REAL,
    A_SUB2_TOK,
    A_SUB2_TS,
    A_SUB_TOK,
    A_SUB_TS,
    C_N_ACCT,
    C_N_STRAT,
    C_N_SYM,
    C_OTYPE_MASK,
    C_REQUIRE_REF,
    C_SELF_MATCH,
    C_TIF_MASK,
    I64_MIN,
    L_BAND_BPS,
    L_CASH,
    L_DAILY_LOSS,
    L_MARGIN_RATE,
    L_MAX_LONG,
    L_MAX_NOTIONAL,
    L_MAX_ORDER_NOTIONAL,
    L_MAX_ORDER_QTY,
    L_MAX_POSITION,
    L_MAX_REPEATS,
    L_MAX_SHORT,
    L_MIN_QTY,
    L_REPEAT_WINDOW,
    L_SUBMIT2_COUNT,
    L_SUBMIT2_WINDOW,
    L_SUBMIT_COUNT,
    L_SUBMIT_WINDOW,
    MS_CASH,
    MS_COMPUTABLE,
    MS_REQUIRED,
    N_A,
    N_LIM,
    N_RC,
    N_S,
    N_Y,
    N_Z,
    NONE_ASK,
    NONE_BID,
    OV_ACCOUNT,
    OV_MULT,
    OV_ORDER_TYPE,
    OV_POSITION,
    OV_PRICE,
    OV_QTY,
    OV_REF_PX,
    OV_SIDE,
    OV_STRATEGY,
    OV_SYMBOL,
    OV_TS,
    OV_WORKING_BUY,
    OV_WORKING_SELL,
    RC_ADDR,
    RC_COUNT,
    RC_DENIALS,
    RC_PARAMS,
    RC_VIEW,
    S_COST,
    S_FFRAC,
    S_MTM,
    S_REAL,
    S_SUB2_TOK,
    S_SUB2_TS,
    S_SUB_TOK,
    S_SUB_TS,
    SB_AVAILABLE,
    SB_BUCKET,
    SB_COUNT,
    SB_INDEX,
    SB_LEVEL,
    SB_WINDOW,
    UNLIMITED,
    Y_HEAD,
    Y_LOT,
    Y_MAX_BID,
    Y_MIN_ASK,
    Y_MIN_NOTIONAL,
    Y_MULT,
    Y_REF_PX,
    Y_TICK,
    Z_ACCT,
    Z_ASK,
    Z_BID,
    Z_POS,
    Z_REP_N,
    Z_REP_PX,
    Z_REP_QTY,
    Z_REP_SIDE,
    Z_REP_TS,
    Z_SNEXT,
    Z_WBUY,
    Z_WSELL,
    _kernel,
    _kstate,
)
from hft.gateway.kernels.money import fill_value_ok
from hft.gateway.limits import PPM


# ======================================================================= rate limits
@helper  # at its two callers (a submit's and a cancel's rate check)
def _bucket_ok(b, tok, ts, count, window, now):
    """Refill a token bucket at b[tok] / b[ts] (`count` per `window` ns, in units of 1/window) and test
    for one token.

    Precondition: ``0 <= count * window < 2**62`` for a limited rate (the config refuses others: `_rate` in
    `hft.gateway.config`; `hft.gateway.risk.write_limits` for limits built in code), so ``full`` fits, and the
    bucket holds ``0 <= tok <= full``: ``tok + el * count < 2 * full`` (``el < window``)."""
    if count >= UNLIMITED or window <= 0:
        return True
    held = _bucket_held(b, tok, ts, count, window, now)
    b[tok] = held
    b[ts] = now
    return held >= window


@helper
def _bucket_held(b, tok, ts, count, window, now):
    """What a limited bucket at b[tok] / b[ts] holds refilled to `now` (units of 1/window; read only): full when
    never used or idle a whole window, else what it held plus `count` per ns elapsed, at most full."""
    full = count * window
    last = b[ts]
    el = since(now, last)
    if last == I64_MIN or el >= window:  # I64_MIN: never used
        return full
    if el > 0:
        return min(full, b[tok] + el * count)
    return b[tok]


@_kernel
def submit_buckets(buf, now, out):
    """Every limited submit-rate bucket as `_submit_rate` sees it at `now`, read only: rows of `out` (int64
    ``[rows, SB_COLS]``: `layout.SUBMIT_BUCKET`'s fields, level 0 a strategy's bucket, its row's else the
    default's, and 1 an account's own); returns the rows written (at most ``out.shape[0]``)."""
    st = _kstate(buf)
    b = st.b
    n = 0
    for t in range(buf[st.cfg + C_N_STRAT]):
        s = st.strat + t * N_S
        for k, fc, fw, tok, ts in ((0, L_SUBMIT_COUNT, L_SUBMIT_WINDOW, S_SUB_TOK, S_SUB_TS),
                                   (1, L_SUBMIT2_COUNT, L_SUBMIT2_WINDOW, S_SUB2_TOK, S_SUB2_TS)):
            n = _bucket_row(b, out, n, 0, t, k, _strat_lim(st, fc, t), _strat_lim(st, fw, t), s + tok, s + ts, now)
    for a in range(buf[st.cfg + C_N_ACCT]):
        la = st.lim_acct + a * N_LIM
        ac = st.acct + a * N_A
        for k, fc, fw, tok, ts in ((0, L_SUBMIT_COUNT, L_SUBMIT_WINDOW, A_SUB_TOK, A_SUB_TS),
                                   (1, L_SUBMIT2_COUNT, L_SUBMIT2_WINDOW, A_SUB2_TOK, A_SUB2_TS)):
            n = _bucket_row(b, out, n, 1, a, k, b[la + fc], b[la + fw], ac + tok, ac + ts, now)
    return n


@helper
def _bucket_row(b, out, n, level, i, k, count, window, tok, ts, now):
    if count < 0 or count >= UNLIMITED or window <= 0 or n >= out.shape[0]:  # unset, unlimited, or no room
        return n
    out[n, SB_LEVEL] = level
    out[n, SB_INDEX] = i
    out[n, SB_BUCKET] = k
    out[n, SB_COUNT] = count
    out[n, SB_WINDOW] = window
    out[n, SB_AVAILABLE] = _bucket_held(b, tok, ts, count, window, now) // window
    return n + 1


@helper
def _submit_rate(st, a, t, now):
    """The submit rate's buckets for a new order or a replace (refilled to `now`, none taken: `_take_submit`):
    the strategy's two windows (its row, else the default), then the account's own two (its row only, as its
    daily loss). R_OK, or the reason naming the window that refused."""
    b = st.b
    ts = st.strat + t * N_S
    if not _bucket_ok(b, ts + S_SUB_TOK, ts + S_SUB_TS, _strat_lim(st, L_SUBMIT_COUNT, t),
                      _strat_lim(st, L_SUBMIT_WINDOW, t), now):
        return R_SUBMIT_RATE
    if not _bucket_ok(b, ts + S_SUB2_TOK, ts + S_SUB2_TS, _strat_lim(st, L_SUBMIT2_COUNT, t),
                      _strat_lim(st, L_SUBMIT2_WINDOW, t), now):
        return R_SUBMIT_RATE_2
    la = st.lim_acct + a * N_LIM  # UNSET (-1) there: window -1, the bucket passes untouched
    ac = st.acct + a * N_A
    if not _bucket_ok(b, ac + A_SUB_TOK, ac + A_SUB_TS, b[la + L_SUBMIT_COUNT], b[la + L_SUBMIT_WINDOW], now):
        return R_ACCOUNT_SUBMIT_RATE
    if not _bucket_ok(b, ac + A_SUB2_TOK, ac + A_SUB2_TS, b[la + L_SUBMIT2_COUNT], b[la + L_SUBMIT2_WINDOW], now):
        return R_ACCOUNT_SUBMIT_RATE_2
    return R_OK


@helper
def _take(b, tok, count, window):
    """One token out of a bucket `_bucket_ok` passed (a limited one: count below UNLIMITED, window > 0)."""
    if count < UNLIMITED and window > 0:
        b[tok] -= window


@helper
def _take_submit(st, a, t):
    """A decided submit takes one token of each limited bucket `_submit_rate` passed."""
    b = st.b
    ts = st.strat + t * N_S
    _take(b, ts + S_SUB_TOK, _strat_lim(st, L_SUBMIT_COUNT, t), _strat_lim(st, L_SUBMIT_WINDOW, t))
    _take(b, ts + S_SUB2_TOK, _strat_lim(st, L_SUBMIT2_COUNT, t), _strat_lim(st, L_SUBMIT2_WINDOW, t))
    la = st.lim_acct + a * N_LIM
    ac = st.acct + a * N_A
    _take(b, ac + A_SUB_TOK, b[la + L_SUBMIT_COUNT], b[la + L_SUBMIT_WINDOW])
    _take(b, ac + A_SUB2_TOK, b[la + L_SUBMIT2_COUNT], b[la + L_SUBMIT2_WINDOW])


# ======================================================================= the house's own checks
@intrinsic
def _call_risk_check(typingctx, addr, b, view_off, params_off):
    """``_call_risk_check(addr, b, view_off, params_off)``: call the C entry at `addr`
    (`hft.gateway.risk_checks.c_entry`) with pointers to the order view and the check's parameters inside the
    arena `b` (a ``CPointer(int64)``); returns its int64 (0 passes).

    Preconditions: `addr` is a live ``int64(int64*, int64*)`` C entry of this process (`risk_checks.install`
    writes the table at start and after a snapshot restore, whose addresses were another process's; the count
    row says how many rows hold one, at most ``MAX_RISK_CHECKS``); ``b + view_off`` and ``b + params_off`` point
    at ``N_OV`` and ``MAX_RISK_PARAMS`` int64 inside the arena's risk-check table (row 0 from ``RC_VIEW``, row
    ``1 + i`` from ``RC_PARAMS``: ``N_RC`` fields a row). The addresses are plain (not inbounds) GEPs."""
    if not (isinstance(b, types.CPointer) and b.dtype == types.int64):  # the arena's pointer (`KState.b`)
        return None

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        p64 = i64.as_pointer()
        fn = builder.inttoptr(args[0], ir.FunctionType(i64, [p64, p64]).as_pointer())
        return builder.call(fn, [builder.gep(args[1], [args[2]]), builder.gep(args[1], [args[3]])])

    return types.int64(addr, b, view_off, params_off), codegen


@helper
def _house(st, internal, now, a, t, y, z, side, price, qty, otype, ref, mult, pending):
    """The house's checks after the built-in ones (none installed: one load and a branch). Internal orders
    (the emergency stop's, flatten_on_halt's closes) skip them, as they skip the daily loss. `pending`: this
    order's quantity not yet reserved in the slot (a dry run), so the view shows what the decision would."""
    n = st.b[st.rc + RC_COUNT]
    if n > 0 and not internal:
        return _house_checks(st, n, now, a, t, y, z, side, price, qty, otype, ref, mult, pending)
    return R_OK


@_kernel
def _house_checks(st, n, now, a, t, y, z, side, price, qty, otype, ref, mult, pending):
    """Run the `n` installed checks on this order (first denial wins, counted on the check's row)."""
    b = st.b
    v = st.rc + RC_VIEW
    b[v + OV_TS] = now
    b[v + OV_ACCOUNT] = a
    b[v + OV_STRATEGY] = t
    b[v + OV_SYMBOL] = y
    b[v + OV_SIDE] = side
    b[v + OV_PRICE] = price
    b[v + OV_QTY] = qty
    b[v + OV_ORDER_TYPE] = otype
    b[v + OV_REF_PX] = ref
    b[v + OV_MULT] = mult
    pos = 0
    wbuy = 0
    wsell = 0
    if z >= 0:  # (a dry run for an account / strategy / symbol with no slot yet: flat, nothing working)
        s = st.slot + z * N_Z
        pos = b[s + Z_POS]
        wbuy = b[s + Z_WBUY]
        wsell = b[s + Z_WSELL]
    b[v + OV_POSITION] = pos
    b[v + OV_WORKING_BUY] = wbuy + (pending if side > 0 else 0)
    b[v + OV_WORKING_SELL] = wsell + (pending if side < 0 else 0)
    for i in range(n):
        row = st.rc + (1 + i) * N_RC
        if _call_risk_check(b[row + RC_ADDR], b, v, row + RC_PARAMS) != 0:
            b[row + RC_DENIALS] += 1
            return R_RISK_CHECK
    return R_OK


# ======================================================================= risk (step 4)
@helper
def _strat_loss_below(st, t, floor):
    """The strategy's daily PnL (realised + marked - cost, less the fee millionths owed) below `floor` (<= 0),
    exactly (the sum of three held values may not fit int64: `exact.sum3_lt`): ``x - owed / 1e6 < floor`` for an
    integer ``x`` is ``x < floor`` without millionths owed and ``x < floor + 1`` with some."""
    r = st.strat + t * N_S
    return sum3_lt(st.b[r + S_REAL], st.b[r + S_MTM], st.b[r + S_COST], floor + (st.b[r + S_FFRAC] > 0))


@helper
def _acct_loss_below(st, a, floor):
    r = st.acct + a * N_A  # as `_strat_loss_below`
    return sum3_lt(st.b[r + A_REAL], st.b[r + A_MTM], st.b[r + A_COST], floor + (st.b[r + A_FFRAC] > 0))


@helper  # at its callers (the risk step, the marks)
def _loss_breached(st, a, t):
    lim = _strat_lim(st, L_DAILY_LOSS, t)
    if lim < UNLIMITED and _strat_loss_below(st, t, -lim):  # a set limit is >= 0: -lim fits
        return True
    lim = st.b[st.lim_acct + a * N_LIM + L_DAILY_LOSS]
    return lim >= 0 and lim < UNLIMITED and _acct_loss_below(st, a, -lim)


@_kernel
def _risk(st, now, a, t, y, z, side, price, qty, otype, valpx, ref, mult, internal, check_repeat):
    b = st.b
    ys = st.sym + y * N_Y
    tick = b[ys + Y_TICK]
    if tick != 1 and otype != ORDER_MARKET and price % tick != 0:  # a stop's price is 0; its trigger: _new_static
        return R_OFF_TICK
    lot = b[ys + Y_LOT]
    if lot != 1 and qty % lot != 0:
        return R_OFF_LOT
    if qty < _eff_floor(st, L_MIN_QTY, a, t, y):
        return R_QTY_BELOW_MIN
    minn = b[ys + Y_MIN_NOTIONAL]
    if minn > 0 and not _notional_gt(valpx, qty, mult, minn - 1):
        return R_MIN_NOTIONAL
    if qty > _eff(st, L_MAX_ORDER_QTY, a, t, y):
        return R_MAX_ORDER_QTY
    if otype != ORDER_MARKET and otype != ORDER_STOP and ref > 0:  # a stop becomes a market order: no limit price
        band = _eff(st, L_BAND_BPS, a, t, y)
        d = abs(price - ref)  # price >= 0, ref > 0: fits
        if band < UNLIMITED and mul_cmp_gt(d, 10000, band, ref):  # exact: a far price never wraps into the band
            return R_PRICE_BAND
    if _notional_gt(valpx, qty, mult, _eff(st, L_MAX_ORDER_NOTIONAL, a, t, y)):
        return R_MAX_ORDER_NOTIONAL
    if not internal and _loss_breached(st, a, t):  # internal orders (flatten_on_halt) close what lost
        return R_DAILY_LOSS
    if not internal:
        r = _submit_rate(st, a, t, now)
        if r != R_OK:
            return r
    if check_repeat:
        s = st.slot + z * N_Z
        maxrep = _strat_lim(st, L_MAX_REPEATS, t)
        if (maxrep < UNLIMITED and b[s + Z_REP_SIDE] == side and b[s + Z_REP_PX] == price
                and b[s + Z_REP_QTY] == qty and since(now, b[s + Z_REP_TS]) < _strat_lim(st, L_REPEAT_WINDOW, t)
                and b[s + Z_REP_N] >= maxrep):
            return R_REPEAT_THROTTLE
    if not internal and b[st.cfg + C_SELF_MATCH] != 0:  # internal closes: crossed orders are being cancelled
        c = _cross_px(side, otype, price)
        # the symbol-level bounds are conservative (never tighter than the truth): skip the walk when even
        # the best working order of any account cannot be crossed; a walk refreshes the bounds exactly
        if (b[ys + Y_MIN_ASK] <= c) if side > 0 else (b[ys + Y_MAX_BID] >= c):
            hi = NONE_BID
            lo = NONE_ASK
            w = b[ys + Y_HEAD]
            while w >= 0:
                s = st.slot + w * N_Z
                if b[s + Z_ACCT] == a:
                    if side > 0:
                        if b[s + Z_ASK] <= c:
                            return R_SELF_MATCH
                    elif b[s + Z_BID] >= c:
                        return R_SELF_MATCH
                hi = max(hi, b[s + Z_BID])
                lo = min(lo, b[s + Z_ASK])
                w = b[s + Z_SNEXT]
            b[ys + Y_MAX_BID] = hi
            b[ys + Y_MIN_ASK] = lo
    return R_OK


@helper
def _exposure_worst(st, a, t, y, side, worst, add, valpx, ref, mult):
    """Step 3 limits for `worst`, the net quantity on `side` (long for a buy, short for a sell) including working
    orders and this order (`add` lots at `valpx`): the position limit (either side), then the side's own
    (max_long / max_short), the notional, the account's buying power."""
    if worst > _eff(st, L_MAX_POSITION, a, t, y):
        return R_POSITION_LIMIT
    if side > 0:
        if worst > _eff(st, L_MAX_LONG, a, t, y):
            return R_LONG_LIMIT
    elif worst > _eff(st, L_MAX_SHORT, a, t, y):
        return R_SHORT_LIMIT
    mark = ref if ref > 0 else valpx
    if worst > 0 and _notional_gt(mark, worst, mult, _eff(st, L_MAX_NOTIONAL, a, t, y)):
        return R_NOTIONAL_LIMIT
    cash = _acct_cash(st, a)
    if cash >= 0 and cash < UNLIMITED:  # (no cash configured: one load and a branch)
        return _buying_power(st, a, y, side, add, valpx, cash)
    return R_OK


# ======================================================================= buying power (step 3, last)
# The rule. An account with `cash` set has a *required margin*: the sum over the symbols it trades of
#   ceil(margin_rate(symbol) x value(E(symbol), mark(symbol)))
# where E is the account's worst-side quantity in the symbol, over all its strategies: max(pos + working buys,
# working sells - pos), the net quantity it would hold if every working order of one side filled, the worse side
# (>= |pos|); value is the one value rule (`kernels.money`: price x qty x multiplier, inverse qty x K / price) at
# the symbol's mark (its reference price); margin_rate is the symbol's, else the default's, else 1.0. The order
# being checked adds `add` lots on its side of its symbol: the part by which it raises E is valued at the order's
# own price (its limit price; a market order's reference price), the rest at the mark (the order's price when
# the symbol has no mark). An order that does not raise E (it reduces or keeps the worse side) passes; one that
# does is refused with BUYING_POWER when the required margin with it would exceed
#   cash + the account's realised PnL of the trading day (fills, fees included, exact: millionths owed count)
# or when it cannot be computed (another symbol with exposure and no mark, or a sum past int64). Unrealised PnL
# does not count. A cancel is never checked. Every step is exact in integers.
@helper
def _acct_cash(st, a):
    """The account's cash (its row, else the default); negative or UNLIMITED: no buying-power check."""
    c = st.b[st.lim_acct + a * N_LIM + L_CASH]
    return c if c >= 0 else st.b[st.lim_def + L_CASH]


@helper
def _margin_rate(st, y):
    """Symbol `y`'s margin rate in millionths: its row, else the default's; 1.0 outside 0..PPM (a default row
    written before margin rates existed holds UNLIMITED there)."""
    r = st.b[st.lim_sym + y * N_LIM + L_MARGIN_RATE]
    if r < 0:
        r = st.b[st.lim_def + L_MARGIN_RATE]
    return r if 0 <= r <= PPM else PPM


@helper
def _margin_of(value, rate):
    """``ceil(value * rate / PPM)`` exactly, for ``value >= 0`` and ``0 <= rate <= PPM`` (so it is <= value)."""
    q = mul_div_trunc(value, rate, PPM)
    return q + 1 if mul_cmp_gt(value, rate, q, PPM) else q


@helper
def _worse_side(pos, wbuy, wsell):
    """``(E, ok)``: ``max(pos + wbuy, wsell - pos)`` exactly (ok False when it does not fit int64)."""
    lo, ok1 = add_ok(pos, wbuy)
    sh, ok2 = sub_ok(wsell, pos)
    return max(lo, sh), ok1 and ok2


@_kernel
def _margin_required(st, a, y, side, add, px):
    """``(required, raises, ok)``: account `a`'s required margin (the rule above) with `add` lots more on `side`
    of symbol `y` at `px` (``y = -1``: as it is), whether that order raises E of its symbol, and whether the sum
    could be computed. Walks every symbol's exposure list (its slots of every account)."""
    b = st.b
    total = 0
    raises = False
    good = True
    for yy in range(b[st.cfg + C_N_SYM]):
        ys = st.sym + yy * N_Y
        pos = 0
        wb = 0
        ws = 0
        seen = False
        w = b[ys + Y_HEAD]
        while w >= 0:
            s = st.slot + w * N_Z
            if b[s + Z_ACCT] == a:
                seen = True
                pos, ok1 = add_ok(pos, b[s + Z_POS])
                wb, ok2 = add_ok(wb, b[s + Z_WBUY])
                ws, ok3 = add_ok(ws, b[s + Z_WSELL])
                good = good and ok1 and ok2 and ok3
            w = b[s + Z_SNEXT]
        if not seen and yy != y:
            continue
        e, ok = _worse_side(pos, wb, ws)
        good = good and ok
        mark = b[ys + Y_REF_PX]
        mult = b[ys + Y_MULT]
        if yy == y:
            if side > 0:
                wb, ok1 = add_ok(wb, add)
            else:
                ws, ok1 = add_ok(ws, add)
            e2, ok2 = _worse_side(pos, wb, ws)
            if not (ok1 and ok2):
                return 0, True, False
            raises = e2 > e
            v1, ok1 = fill_value_ok(mark if mark > 0 else px, e, mult)
            v2, ok2 = fill_value_ok(px, e2 - e, mult)
            v, ok3 = add_ok(v1, v2)
            good = good and ok1 and ok2 and ok3
        elif e == 0:
            continue
        elif mark <= 0:  # exposure that cannot be valued
            good = False
            continue
        else:
            v, ok = fill_value_ok(mark, e, mult)
            good = good and ok
        if good:
            total, ok = add_ok(total, _margin_of(v, _margin_rate(st, yy)))
            good = ok
    return total, raises, good


@_kernel
def _buying_power(st, a, y, side, add, px, cash):
    """R_BUYING_POWER when the order (`add` lots on `side` of `y` at `px`) raises its symbol's exposure and the
    account's required margin with it exceeds `cash` + realised PnL (the rule above), else R_OK."""
    need, raises, ok = _margin_required(st, a, y, side, add, px)
    if not raises:
        return R_OK
    if not ok:
        return R_BUYING_POWER
    ac = st.acct + a * N_A
    # cash + real - owed / 1e6 - need < 0, exactly: an integer x less millionths owed is below 0 iff x < (owed > 0)
    if sum3_lt(cash, st.b[ac + A_REAL], need, 1 if st.b[ac + A_FFRAC] > 0 else 0):
        return R_BUYING_POWER
    return R_OK


@_kernel
def margin_state(buf, out):
    """Each registered account's buying power as the risk core sees it, read only: rows of `out` (int64
    ``[rows, MS_COLS]``: `layout.MARGIN_STATE`'s fields; required as `_margin_required` without an order).
    Returns the rows written."""
    st = _kstate(buf)
    n = min(buf[st.cfg + C_N_ACCT], out.shape[0])
    for a in range(n):
        cash = _acct_cash(st, a)
        out[a, MS_CASH] = cash if cash >= 0 and cash < UNLIMITED else -1
        need, _raises, ok = _margin_required(st, a, -1, 1, 0, 0)
        out[a, MS_REQUIRED] = need
        out[a, MS_COMPUTABLE] = 1 if ok else 0
    return n


@helper
def _worst(pos, wbuy, wsell, side, add):
    """``(worst, ok)``: the net quantity on `side` if every working order of that side and `add` more filled
    (buy: ``pos + wbuy + add``, sell: ``wsell + add - pos``), and whether it and the side's working quantity
    with `add` fit int64 (when they do not, the order is refused: POSITION_LIMIT; so a reservation never wraps).
    ``add >= 0``; the working quantities are >= 0."""
    w, ok = add_ok(wbuy if side > 0 else wsell, add)
    if not ok:
        return 0, False
    return add_ok(pos, w) if side > 0 else sub_ok(w, pos)


@_kernel
def _exposure_check(st, a, t, y, z, side, add, valpx, ref, mult):
    """Step 3: net position and notional including working orders, on the side the order adds to."""
    b = st.b
    s = st.slot + z * N_Z
    worst, ok = _worst(b[s + Z_POS], b[s + Z_WBUY], b[s + Z_WSELL], side, add)
    if not ok:
        return R_POSITION_LIMIT
    return _exposure_worst(st, a, t, y, side, worst, add, valpx, ref, mult)


@helper
def _reserve(st, z, side, qty):
    if side > 0:
        st.b[st.slot + z * N_Z + Z_WBUY] += qty
    else:
        st.b[st.slot + z * N_Z + Z_WSELL] += qty


@helper
def _check_tif(st, otype, tif):
    b = st.b
    if otype < 1 or otype > ORDER_TYPE_MAX or ((b[st.cfg + C_OTYPE_MASK] >> otype) & 1) == 0:
        return R_UNSUPPORTED_ORDER_TYPE
    if tif < 1 or tif > TIF_MAX or ((b[st.cfg + C_TIF_MASK] >> tif) & 1) == 0:
        return R_UNSUPPORTED_TIF
    if otype == ORDER_MARKET and tif != TIF_IOC and tif != TIF_FOK:
        return R_UNSUPPORTED_TIF
    if otype == ORDER_STOP and tif != TIF_GTC and tif != TIF_DAY and tif != TIF_GTD:  # held, then a market IOC
        return R_UNSUPPORTED_TIF
    if otype == ORDER_POST_ONLY and (tif == TIF_IOC or tif == TIF_FOK):
        return R_UNSUPPORTED_TIF
    return R_OK


@helper
def _check_expire(now, tif, expire):
    """A GTD order needs an expiry time after the decision's (`now`); any other order none (BAD_EXPIRE)."""
    if tif == TIF_GTD:
        return R_OK if expire > now else R_BAD_EXPIRE
    return R_OK if expire == 0 else R_BAD_EXPIRE


@helper
def _registered(st, a, t, y):
    """R_OK when account `a`, strategy `t` and symbol `y` are registry indices, else the first unknown one."""
    b = st.b
    if a < 0 or a >= b[st.cfg + C_N_ACCT]:
        return R_UNKNOWN_ACCOUNT
    if t < 0 or t >= b[st.cfg + C_N_STRAT]:
        return R_UNKNOWN_STRATEGY
    if y < 0 or y >= b[st.cfg + C_N_SYM]:
        return R_UNKNOWN_SYMBOL
    return R_OK


@helper
def _new_static(st, now, y, side, price, qty, otype, tif, opt):
    """A new order's checks that need no exposure state: side, type / TIF, quantity, price, its optional fields
    (`opt`: `hft.core.orders.order_options`), reference price. Returns (reason, reference price, multiplier,
    valuation price: a market order's reference price, a stop's trigger, else its price)."""
    b = st.b
    trigger = opt[OPT_TRIGGER]
    expire = opt[OPT_EXPIRE]
    display = opt[OPT_DISPLAY]
    trail = opt[OPT_TRAIL]
    if side != 1 and side != -1:
        return R_BAD_SIDE, 0, 0, 0
    r = _check_tif(st, otype, tif)
    if r == R_OK:
        r = _check_expire(now, tif, expire)
    if r != R_OK:
        return r, 0, 0, 0
    if qty <= 0:
        return R_BAD_QTY, 0, 0, 0
    stop = otype == ORDER_STOP
    if price < 0 or (price == 0 and otype != ORDER_MARKET and not stop) or (stop and price != 0):
        return R_BAD_PRICE, 0, 0, 0  # a stop has no price: it becomes a market order
    if (trigger <= 0) if is_stop(otype) else (trigger != 0):
        return R_BAD_TRIGGER, 0, 0, 0
    ys = st.sym + y * N_Y
    tick = b[ys + Y_TICK]
    if trigger > 0 and tick != 1 and trigger % tick != 0:
        return R_OFF_TICK, 0, 0, 0
    # an iceberg: a limit / post-only order showing 0 < display < qty lots, a whole number of lots (the hidden
    # part counts in every exposure check: `qty` is the whole order)
    if display != 0:
        lot = b[ys + Y_LOT]
        if (display < 0 or display >= qty or not may_show(otype)
                or (lot != 1 and display % lot != 0)):
            return R_BAD_DISPLAY, 0, 0, 0
    # a trailing stop: a stop / stop-limit whose trigger follows the prints at `trail` > 0 ticks, a whole number of
    # ticks, a stop-limit's limit at or through its trigger (buy >=, sell <=: the limit moves with the trigger and
    # stays on the right side of it; docs/sim.md, "Trailing stops"); exposure as a stop's, its trigger at entry
    if bad_trail(otype, side, price, trigger, trail) or (trail != 0 and tick != 1 and trail % tick != 0):
        return R_BAD_TRAIL, 0, 0, 0
    # an OCO / bracket link: an order id >= 0 (0: none), a bracket child a limit / stop / stop-limit (the named
    # order itself: `decide._new`, which sees the order table; docs/sim.md, "OCO and bracket orders held by the
    # venue"); exposure: each order of a pair and each held child is a working order of its size
    oco = opt[OPT_OCO]
    parent = opt[OPT_PARENT]
    if oco < 0 or parent < 0 or (parent != 0 and not may_follow(otype)):
        return R_BAD_LINK, 0, 0, 0
    ref = b[ys + Y_REF_PX]
    mult = b[ys + Y_MULT]
    if ref <= 0 and (otype == ORDER_MARKET or b[st.cfg + C_REQUIRE_REF] != 0):
        return R_NO_REFERENCE_PRICE, 0, 0, 0
    return R_OK, ref, mult, ref if otype == ORDER_MARKET else (trigger if stop else price)


