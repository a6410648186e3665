"""Exposure slots (account, strategy, symbol) and the order table: effective limits, slot lookup and eviction, working orders.

Part of the gateway's numba core; the layout and the pipeline: `hft.gateway.kernels`."""

from __future__ import annotations

from hft.core.jit import helper
from hft.core.order_rules import is_stop
from hft.core.orders import (
    ORDER_MARKET,
)
from hft.gateway.kernels.dedup import _tab_delete, _tab_find, _tab_insert
from hft.gateway.kernels.layout import (
    C_MAX_STRAT,
    C_MAX_SYM,
    C_ORD_CAP,
    C_SLOT_CAP,
    C_SM_BITS,
    I64_MAX,
    I64_MIN,
    K_FREE_TOP,
    K_LIVE,
    K_SLOT_COUNT,
    K_SLOT_EVICTIONS,
    N_LIM,
    N_O,
    N_Y,
    N_Z,
    NONE_ASK,
    NONE_BID,
    O_ID,
    O_NEW_PX,
    O_NEW_QTY,
    O_NEXT,
    O_OPEN,
    O_PREV,
    O_PX,
    O_REP_RES,
    O_SIDE,
    O_SLOT,
    O_STATUS,
    O_TYPE,
    OS_FREE,
    OS_LIVE,
    Y_HEAD,
    Y_MAX_BID,
    Y_MIN_ASK,
    Z_ACCT,
    Z_ASK,
    Z_BID,
    Z_KEY,
    Z_NASK,
    Z_NBID,
    Z_NLIVE,
    Z_OHEAD,
    Z_POS,
    Z_REP_TS,
    Z_SNEXT,
    Z_SPREV,
    Z_STRAT,
    Z_SYM,
    Z_USED,
    Z_WBUY,
    Z_WSELL,
    _kernel,
    _kstate,
)
from hft.gateway.kernels.money import fill_value


# ======================================================================= limits
@helper
def _eff(st, f, a, t, y):
    """Tightest limit set at account, strategy or symbol level; the default when none is set."""
    b = st.b
    v = b[st.lim_acct + a * N_LIM + f]
    x = b[st.lim_strat + t * N_LIM + f]
    if x >= 0 and (v < 0 or x < v):
        v = x
    x = b[st.lim_sym + y * N_LIM + f]
    if x >= 0 and (v < 0 or x < v):
        v = x
    if v < 0:
        v = b[st.lim_def + f]
    return v


@helper
def _eff_floor(st, f, a, t, y):
    """`_eff` of a minimum (``Limit.floor``: min_qty): the tightest is the largest set at account, strategy or
    symbol level; the default when none is set."""
    b = st.b
    v = b[st.lim_acct + a * N_LIM + f]
    x = b[st.lim_strat + t * N_LIM + f]
    if x > v:
        v = x
    x = b[st.lim_sym + y * N_LIM + f]
    if x > v:
        v = x
    if v < 0:
        v = b[st.lim_def + f]
    return v


@helper
def _strat_lim(st, f, t):
    v = st.b[st.lim_strat + t * N_LIM + f]
    return v if v >= 0 else st.b[st.lim_def + f]


@helper
def _mul_gt(a, b, c):
    """a * b > c for a, b >= 0 and any c, without overflow (no division when both factors are below 2**31).
    Its callers' factors are prices (>= 0: `_new_static`, `_replace`), quantities (> 0), a linear multiplier
    (> 0), an inverse factor's negation (<= I64_MAX: `GatewayService.register_symbol`) and limits (>= 0)."""
    if a <= 0x7FFFFFFF and b <= 0x7FFFFFFF:
        return a * b > c
    if a == 0 or b == 0:
        return c < 0
    return a > c // b


@helper
def _mul3_gt(a, b, m, c):
    if a == 0 or b == 0 or m == 0:
        return c < 0
    if _mul_gt(a, b, I64_MAX):
        return True
    return _mul_gt(a * b, m, c)


@helper
def _notional_gt(px, qty, m, c):
    """Whether the value of `qty` (>= 0) at `px` in money units (`hft.gateway.kernels.money.fill_value`: linear
    ``px × qty × m``, inverse ``qty × K / px`` coin units, ``m = -K``) exceeds `c`, without overflowing."""
    if m > 0:
        return _mul3_gt(px, qty, m, c)
    if px <= 0 or qty == 0:
        return c < 0
    if _mul_gt(qty, -m, I64_MAX):
        return True
    return fill_value(px, qty, m) > c


# ======================================================================= exposure slots
@_kernel
def _slot_unlink(st, z):
    b = st.b
    s = st.slot + z * N_Z
    y = b[s + Z_SYM]
    p = b[s + Z_SPREV]
    n = b[s + Z_SNEXT]
    if p >= 0:
        b[st.slot + p * N_Z + Z_SNEXT] = n
    else:
        b[st.sym + y * N_Y + Y_HEAD] = n
    if n >= 0:
        b[st.slot + n * N_Z + Z_SPREV] = p


@_kernel
def _evict_zero(st):
    """Free every slot with zero position, zero working quantity and no live order. Returns the count."""
    b = st.b
    n = 0
    for z in range(b[st.cfg + C_SLOT_CAP]):
        s = st.slot + z * N_Z
        if (b[s + Z_USED] == 1 and b[s + Z_POS] == 0 and b[s + Z_WBUY] == 0 and b[s + Z_WSELL] == 0
                and b[s + Z_NLIVE] == 0):
            _tab_delete(b, st.smap, b[st.cfg + C_SM_BITS], b[s + Z_KEY])
            _slot_unlink(st, z)
            b[s + Z_USED] = 0
            b[st.free + b[st.ctr + K_FREE_TOP]] = z
            b[st.ctr + K_FREE_TOP] += 1
            b[st.ctr + K_SLOT_COUNT] -= 1
            n += 1
    b[st.ctr + K_SLOT_EVICTIONS] += n
    return n


@_kernel
def _slot_get(st, a, t, y, create):
    b = st.b
    key = (a * b[st.cfg + C_MAX_STRAT] + t) * b[st.cfg + C_MAX_SYM] + y
    bits = b[st.cfg + C_SM_BITS]
    i = _tab_find(b, st.smap, bits, key)
    if i >= 0:
        return b[st.smap + 2 * i + 1]
    if not create:
        return -1
    if b[st.ctr + K_FREE_TOP] == 0:
        _evict_zero(st)
        if b[st.ctr + K_FREE_TOP] == 0:
            return -1
    b[st.ctr + K_FREE_TOP] -= 1
    z = b[st.free + b[st.ctr + K_FREE_TOP]]
    s = st.slot + z * N_Z
    for f in range(N_Z):
        b[s + f] = 0
    b[s + Z_KEY] = key
    b[s + Z_ACCT] = a
    b[s + Z_STRAT] = t
    b[s + Z_SYM] = y
    b[s + Z_OHEAD] = -1
    b[s + Z_BID] = NONE_BID
    b[s + Z_ASK] = NONE_ASK
    b[s + Z_REP_TS] = I64_MIN
    b[s + Z_USED] = 1
    h = b[st.sym + y * N_Y + Y_HEAD]
    b[s + Z_SNEXT] = h
    b[s + Z_SPREV] = -1
    if h >= 0:
        b[st.slot + h * N_Z + Z_SPREV] = z
    b[st.sym + y * N_Y + Y_HEAD] = z
    _tab_insert(b, st.smap, bits, key, z)
    b[st.ctr + K_SLOT_COUNT] += 1
    return z


@_kernel
def slot_lookup(buf, a, t, y, create):
    """Slot index of (account, strategy, symbol); -1 if absent (or no room when `create`)."""
    return _slot_get(_kstate(buf), a, t, y, create)


@_kernel
def evict_zero(buf):
    return _evict_zero(_kstate(buf))


# ======================================================================= order table
@helper
def _cross_px(side, otype, px):
    if otype == ORDER_MARKET:
        return I64_MAX - 1 if side > 0 else I64_MIN + 1
    if is_stop(otype):  # held by the venue, not in its book: crosses nothing
        return I64_MIN + 1 if side > 0 else I64_MAX - 1
    return px


@_kernel
def _recompute_best(st, z):
    """The slot's best working buy and sell (cross prices) and how many live orders are at each, from its
    order list."""
    b = st.b
    bid = NONE_BID
    ask = NONE_ASK
    nbid = 0
    nask = 0
    s = st.slot + z * N_Z
    o = b[s + Z_OHEAD]
    while o >= 0:
        r = st.ord + o * N_O
        c = _cross_px(b[r + O_SIDE], b[r + O_TYPE], b[r + O_PX])
        if b[r + O_SIDE] > 0:
            if c > bid:
                bid = c
                nbid = 1
            elif c == bid:
                nbid += 1
        else:
            if c < ask:
                ask = c
                nask = 1
            elif c == ask:
                nask += 1
        o = b[r + O_NEXT]
    b[s + Z_BID] = bid
    b[s + Z_ASK] = ask
    b[s + Z_NBID] = nbid
    b[s + Z_NASK] = nask


@_kernel
def _ord_add(st, z, y, oid, side, px, qty, otype):
    """Enter a new live order of slot `z` (symbol `y`, i.e. the slot's Z_SYM: passed in so that adding an
    order does not read the slot row's third cache line)."""
    b = st.b
    o = oid & (b[st.cfg + C_ORD_CAP] - 1)
    r = st.ord + o * N_O
    s = st.slot + z * N_Z
    b[r + O_ID] = oid
    b[r + O_SLOT] = z
    b[r + O_SIDE] = side
    b[r + O_PX] = px
    b[r + O_OPEN] = qty
    b[r + O_STATUS] = OS_LIVE
    b[r + O_TYPE] = otype
    b[r + O_NEW_PX] = 0
    b[r + O_NEW_QTY] = 0
    b[r + O_REP_RES] = 0
    h = b[s + Z_OHEAD]
    b[r + O_NEXT] = h
    b[r + O_PREV] = -1
    if h >= 0:
        b[st.ord + h * N_O + O_PREV] = o
    b[s + Z_OHEAD] = o
    b[s + Z_NLIVE] += 1
    b[st.ctr + K_LIVE] += 1
    c = _cross_px(side, otype, px)
    ys = st.sym + y * N_Y
    if side > 0:
        if c > b[s + Z_BID]:
            b[s + Z_BID] = c
            b[s + Z_NBID] = 1
        elif c == b[s + Z_BID]:
            b[s + Z_NBID] += 1
        if c > b[ys + Y_MAX_BID]:
            b[ys + Y_MAX_BID] = c
    else:
        if c < b[s + Z_ASK]:
            b[s + Z_ASK] = c
            b[s + Z_NASK] = 1
        elif c == b[s + Z_ASK]:
            b[s + Z_NASK] += 1
        if c < b[ys + Y_MIN_ASK]:
            b[ys + Y_MIN_ASK] = c


@_kernel
def _release(st, o, qty):
    b = st.b
    if qty <= 0:
        return
    r = st.ord + o * N_O
    s = st.slot + b[r + O_SLOT] * N_Z
    if b[r + O_SIDE] > 0:
        b[s + Z_WBUY] -= qty
    else:
        b[s + Z_WSELL] -= qty
    b[r + O_OPEN] -= qty


@_kernel
def _ord_remove(st, o):
    b = st.b
    r = st.ord + o * N_O
    _release(st, o, b[r + O_OPEN])
    z = b[r + O_SLOT]
    s = st.slot + z * N_Z
    p = b[r + O_PREV]
    n = b[r + O_NEXT]
    if p >= 0:
        b[st.ord + p * N_O + O_NEXT] = n
    else:
        b[s + Z_OHEAD] = n
    if n >= 0:
        b[st.ord + n * N_O + O_PREV] = p
    b[r + O_STATUS] = OS_FREE
    b[s + Z_NLIVE] -= 1
    b[st.ctr + K_LIVE] -= 1
    # the best of its side moves only if it was the last live order there: an order off the best, or one of
    # several counted at it (Z_NBID / Z_NASK), leaves it; otherwise the list is walked (which recounts)
    c = _cross_px(b[r + O_SIDE], b[r + O_TYPE], b[r + O_PX])
    if b[r + O_SIDE] > 0:
        if c == b[s + Z_BID]:
            if b[s + Z_NBID] > 1:
                b[s + Z_NBID] -= 1
            else:
                _recompute_best(st, z)
    elif c == b[s + Z_ASK]:
        if b[s + Z_NASK] > 1:
            b[s + Z_NASK] -= 1
        else:
            _recompute_best(st, z)


@helper
def _find_order(st, oid):
    """Order-table index of a live order `oid`, or -1."""
    if oid <= 0:
        return -1
    o = oid & (st.b[st.cfg + C_ORD_CAP] - 1)
    r = st.ord + o * N_O
    if st.b[r + O_ID] != oid or st.b[r + O_STATUS] == OS_FREE:
        return -1
    return o


