"""Checks without effect: `dry_run` of one intent, `check_batch` of many (what the gateway would decide).

Part of the gateway's numba core; the layout and the pipeline: `hft.gateway.kernels`."""

from __future__ import annotations

import numpy as np

from hft.core.jit import helper
from hft.core.order_rules import record_options
from hft.core.orders import (
    INTENT_CANCEL,
    INTENT_NEW,
    MODE_CANCEL_ONLY,
    MODE_REJECT_ALL,
    R_BAD_KIND,
    R_BAD_LINK,
    R_EXPOSURE_CARDINALITY,
    R_OK,
    R_ORDER_PENDING,
    R_ORDER_TABLE_FULL,
    R_POLICY_CANCEL_ONLY,
    R_POLICY_REJECT_ALL,
    R_POSITION_LIMIT,
    R_UNKNOWN_ORDER,
)
from hft.gateway.kernels.batch import PREFETCH_FAR, PREFETCH_NEAR
from hft.gateway.kernels.decide import _cancel_pending, _links_ok, _new, _owned
from hft.gateway.kernels.dedup import _home
from hft.gateway.kernels.exposure import _find_order, _ord_remove, _slot_get
from hft.gateway.kernels.layout import (
    C_MAX_STRAT,
    C_MAX_SYM,
    C_N_ACCT,
    C_N_STRAT,
    C_N_SYM,
    C_ORD_CAP,
    C_SLOT_CAP,
    C_SM_BITS,
    K_FREE_TOP,
    K_NEXT_OID,
    N_LIM,
    N_O,
    N_Y,
    N_Z,
    O_ID,
    O_SLOT,
    O_STATUS,
    OS_FREE,
    Z_NLIVE,
    Z_POS,
    Z_REP_SIDE,
    Z_USED,
    Z_WBUY,
    Z_WSELL,
    _kernel,
    _kstate,
)
from hft.gateway.kernels.prefetch import _prefetch
from hft.gateway.kernels.risk import _exposure_worst, _house, _new_static, _registered, _risk, _worst


@_kernel
def dry_run(buf, now, a, t, y, side, price, qty, otype, tif, opt):
    """Would a NEW order (`opt`: its optional fields, `hft.core.orders.order_options`) pass steps 2b-4 now (rate
    limits not applied)? Returns the reason.

    Leaves the state unchanged apart from creating the exposure slot."""
    st = _kstate(buf)
    r = _registered(st, a, t, y)
    if r != R_OK:
        return r
    z = _slot_get(st, a, t, y, False)
    s0 = s1 = s2 = s3 = s4 = 0  # the 5 repeat-throttle fields (Z_REP_SIDE .. Z_REP_TS); no allocation
    if z >= 0:
        r0 = st.slot + z * N_Z + Z_REP_SIDE
        s0, s1, s2, s3, s4 = buf[r0], buf[r0 + 1], buf[r0 + 2], buf[r0 + 3], buf[r0 + 4]
    r, oid = _new(st, now, a, t, y, side, price, qty, otype, tif, True, opt)
    if r == R_OK:  # undo the commit
        _ord_remove(st, oid & (buf[st.cfg + C_ORD_CAP] - 1))
        buf[st.ctr + K_NEXT_OID] -= 1
        if z >= 0:
            r0 = st.slot + z * N_Z + Z_REP_SIDE
            buf[r0], buf[r0 + 1], buf[r0 + 2], buf[r0 + 3], buf[r0 + 4] = s0, s1, s2, s3, s4
    return r


# ======================================================================= read-only pre-trade check (batch)
@_kernel
def _any_evictable(st):
    """Is there a slot `_evict_zero` would free? (read-only)"""
    b = st.b
    for z in range(b[st.cfg + C_SLOT_CAP]):
        s = st.slot + z * N_Z
        if (b[s + Z_USED] == 1 and b[s + Z_POS] == 0 and b[s + Z_WBUY] == 0 and b[s + Z_WSELL] == 0
                and b[s + Z_NLIVE] == 0):
            return True
    return False


@_kernel
def _check_new(st, now, a, t, y, side, price, qty, otype, tif, opt):
    """`dry_run` without its side effects: steps 2b-4 for a NEW order against the current state.

    Same checks, same order, same reason as `dry_run` (rate limits not applied); a missing exposure slot
    counts as flat and is not created. Writes nothing but the symbol's conservative self-match bounds
    (refreshed exactly by a walk, as in every path)."""
    b = st.b
    r = _registered(st, a, t, y)
    if r != R_OK:
        return r
    r, ref, mult, valpx = _new_static(st, now, y, side, price, qty, otype, tif, opt)
    if r != R_OK:
        return r
    if not _links_ok(st, opt, b[st.ctr + K_NEXT_OID], a, t, y):
        return R_BAD_LINK
    z = _slot_get(st, a, t, y, False)
    if z >= 0:
        s = st.slot + z * N_Z
        worst, ok = _worst(b[s + Z_POS], b[s + Z_WBUY], b[s + Z_WSELL], side, qty)
        if not ok:  # as `_exposure_check`
            return R_POSITION_LIMIT
    else:
        if b[st.ctr + K_FREE_TOP] == 0 and not _any_evictable(st):
            return R_EXPOSURE_CARDINALITY
        worst = qty
    r = _exposure_worst(st, a, t, y, side, worst, qty, valpx, ref, mult)
    if r != R_OK:
        return r
    r = _risk(st, now, a, t, y, z, side, price, qty, otype, valpx, ref, mult, True, z >= 0)
    if r == R_OK:
        r = _house(st, False, now, a, t, y, z, side, price, qty, otype, ref, mult, qty)
    if r == R_OK and b[st.ord + (b[st.ctr + K_NEXT_OID] & (b[st.cfg + C_ORD_CAP] - 1)) * N_O + O_STATUS] != OS_FREE:
        r = R_ORDER_TABLE_FULL
    return r


@_kernel
def _check_cancel(st, a, t, y, target):
    """`_cancel`'s checks without its side effects (no rate limit, the order is not marked pending)."""
    r = _registered(st, a, t, y)
    if r != R_OK:
        return r
    o = _find_order(st, target)
    if o < 0 or not _owned(st, o, a, t, y):
        return R_UNKNOWN_ORDER
    if _cancel_pending(st.b[st.ord + o * N_O + O_STATUS]):
        return R_ORDER_PENDING
    return R_OK


@helper
def _touch_check(st, it, near):
    """Prefetches of `check_batch`: hash bucket, symbol rows, target order (far), exposure slot (near)."""
    b = st.b
    a = np.int64(it.account)
    t = np.int64(it.strategy)
    y = np.int64(it.symbol)
    if 0 <= a < b[st.cfg + C_N_ACCT] and 0 <= t < b[st.cfg + C_N_STRAT] and 0 <= y < b[st.cfg + C_N_SYM]:
        key = (a * b[st.cfg + C_MAX_STRAT] + t) * b[st.cfg + C_MAX_SYM] + y
        i = st.smap + 2 * _home(key, b[st.cfg + C_SM_BITS])
        if not near:
            _prefetch(b, i)
            _prefetch(b, st.sym + y * N_Y)
            _prefetch(b, st.lim_sym + y * N_LIM)
            if it.order_id > 0:
                _prefetch(b, st.ord + (it.order_id & (b[st.cfg + C_ORD_CAP] - 1)) * N_O)
        elif it.order_id > 0:
            r = st.ord + (it.order_id & (b[st.cfg + C_ORD_CAP] - 1)) * N_O
            if b[r + O_ID] == it.order_id:
                _prefetch(b, st.slot + b[r + O_SLOT] * N_Z + 16)
        elif b[i] == key:
            s = st.slot + b[i + 1] * N_Z
            _prefetch(b, s)
            _prefetch(b, s + 8)


@_kernel
def check_batch(buf, intents, out, now, mode):
    """Pre-trade policy + exposure + risk check of every row of `intents` (INTENT_DTYPE) against the current
    state, read-only: ``out[i]`` (int64) = the reason code (0 = would pass). Returns the number passing.

    NEW rows: exactly `dry_run` (= `RiskEngine.evaluate`: decoding, exposure including working orders, every
    risk check except rate-limit consumption, order-table room) after the policy `mode`; CANCEL rows: policy
    never refuses, then ownership / pending; other kinds: R_BAD_KIND. No dedup, no reservation, no order, no
    counter moves: rows do not see each other (unlike `process_batch`, which decides and commits)."""
    st = _kstate(buf)
    n = intents.shape[0]
    n_ok = 0
    for i in range(n):
        if i + PREFETCH_FAR < n:
            _touch_check(st, intents[i + PREFETCH_FAR], False)
        if i + PREFETCH_NEAR < n:
            _touch_check(st, intents[i + PREFETCH_NEAR], True)
        it = intents[i]
        kind = np.int64(it.kind)
        if kind == INTENT_NEW:
            if mode == MODE_REJECT_ALL:
                r = R_POLICY_REJECT_ALL
            elif mode == MODE_CANCEL_ONLY:
                r = R_POLICY_CANCEL_ONLY
            else:
                r = _check_new(st, now, np.int64(it.account), np.int64(it.strategy), np.int64(it.symbol),
                               np.int64(it.side), it.price, it.qty, np.int64(it.order_type), np.int64(it.tif),
                               record_options(it))
        elif kind == INTENT_CANCEL:
            r = _check_cancel(st, np.int64(it.account), np.int64(it.strategy), np.int64(it.symbol), it.order_id)
        else:
            r = R_BAD_KIND
        out[i] = r
        if r == R_OK:
            n_ok += 1
    return n_ok
