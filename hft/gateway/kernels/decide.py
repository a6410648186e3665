"""One intent's decision: new / cancel / replace, the dedup commit (`_process`), and the per-intent entry `process_one`.

Part of the gateway's numba core; the layout and the pipeline: `hft.gateway.kernels`."""

from __future__ import annotations

import numpy as np

from hft.core.jit import helper
from hft.core.order_rules import is_stop
from hft.core.orders import (
    INTENT_CANCEL,
    INTENT_NEW,
    INTENT_REPLACE,
    MODE_CANCEL_ONLY,
    MODE_REJECT_ALL,
    N_OPT,
    N_REASONS,
    NO_OPTIONS,
    OPT_DISPLAY,
    OPT_OCO,
    OPT_PARENT,
    OPT_TRAIL,
    ORDER_MARKET,
    R_BAD_DISPLAY,
    R_BAD_INPUT,
    R_BAD_KIND,
    R_BAD_LINK,
    R_BAD_PRICE,
    R_BAD_QTY,
    R_BAD_SIDE,
    R_BAD_TRAIL,
    R_CANCEL_RATE,
    R_EXPOSURE_CARDINALITY,
    R_KEY_REUSED,
    R_NO_REFERENCE_PRICE,
    R_OK,
    R_ORDER_PENDING,
    R_ORDER_TABLE_FULL,
    R_POLICY_CANCEL_ONLY,
    R_POLICY_REJECT_ALL,
    R_UNKNOWN_ORDER,
    R_UNSUPPORTED_ORDER_TYPE,
    R_UNSUPPORTED_REPLACE,
)
from hft.gateway.kernels.dedup import _dd_find, _dd_insert
from hft.gateway.kernels.exact import sat_add, since
from hft.gateway.kernels.exposure import _find_order, _ord_add, _release, _slot_get, _strat_lim
from hft.gateway.kernels.layout import (
    C_ORD_CAP,
    C_REQUIRE_REF,
    C_TTL_NS,
    CTL_INTERNAL,
    D_FP,
    D_OID,
    D_REASON,
    DUP_FLAG,
    EMPTY,
    K_ACCEPTED,
    K_DECISIONS,
    K_DEDUP_HITS,
    K_NEXT_OID,
    K_SEQ,
    L_CANCEL_COUNT,
    L_CANCEL_WINDOW,
    L_REPEAT_WINDOW,
    N_O,
    N_S,
    N_Y,
    N_Z,
    O_ID,
    O_NEW_PX,
    O_NEW_QTY,
    O_OPEN,
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
    S_CAN_TOK,
    S_CAN_TS,
    UNLIMITED,
    Y_MULT,
    Y_REF_PX,
    Z_ACCT,
    Z_REP_N,
    Z_REP_PX,
    Z_REP_QTY,
    Z_REP_SIDE,
    Z_REP_TS,
    Z_STRAT,
    Z_SYM,
    _kernel,
)
from hft.gateway.kernels.risk import (
    _bucket_ok,
    _exposure_check,
    _house,
    _new_static,
    _registered,
    _reserve,
    _risk,
    _take_submit,
)


@_kernel
def _new(st, now, a, t, y, side, price, qty, otype, tif, internal, opt):
    b = st.b
    r, ref, mult, valpx = _new_static(st, now, y, side, price, qty, otype, tif, opt)
    if r != R_OK:
        return r, 0
    oid = b[st.ctr + K_NEXT_OID]
    if not _links_ok(st, opt, oid, a, t, y):
        return R_BAD_LINK, 0
    # step 3: exposure
    z = _slot_get(st, a, t, y, True)
    if z < 0:
        return R_EXPOSURE_CARDINALITY, 0
    r = _exposure_check(st, a, t, y, z, side, qty, valpx, ref, mult)
    if r != R_OK:
        return r, 0
    _reserve(st, z, side, qty)
    # step 4: risk; a rejection releases the reservation explicitly
    r = _risk(st, now, a, t, y, z, side, price, qty, otype, valpx, ref, mult, internal, True)
    if r == R_OK:
        r = _house(st, internal, now, a, t, y, z, side, price, qty, otype, ref, mult, 0)
    if r == R_OK and b[st.ord + (oid & (b[st.cfg + C_ORD_CAP] - 1)) * N_O + O_STATUS] != OS_FREE:
        r = R_ORDER_TABLE_FULL
    if r != R_OK:
        _reserve(st, z, side, -qty)
        return r, 0
    # commit
    if not internal:
        _take_submit(st, a, t)
    s = st.slot + z * N_Z
    if (b[s + Z_REP_SIDE] == side and b[s + Z_REP_PX] == price and b[s + Z_REP_QTY] == qty
            and since(now, b[s + Z_REP_TS]) < _strat_lim(st, L_REPEAT_WINDOW, t)):
        b[s + Z_REP_N] += 1
    else:
        b[s + Z_REP_SIDE] = side
        b[s + Z_REP_PX] = price
        b[s + Z_REP_QTY] = qty
        b[s + Z_REP_N] = 1
        b[s + Z_REP_TS] = now
    b[st.ctr + K_NEXT_OID] = oid + 1
    _ord_add(st, z, y, oid, side, price, qty, otype)
    return R_OK, oid


@helper
def _owned(st, o, a, t, y):
    s = st.slot + st.b[st.ord + o * N_O + O_SLOT] * N_Z
    b = st.b
    return b[s + Z_ACCT] == a and b[s + Z_STRAT] == t and b[s + Z_SYM] == y


@helper
def _may_link(st, link, oid, a, t, y):
    """May a new order `oid` name order `link` as its OCO pair or bracket parent (0: names none)? One of the
    gateway's orders of the same account, strategy and instrument, not itself: a working one (held stops
    included), or one that has ended whose row in the order table no later order has taken (`C_ORD_CAP` ids
    later), since the venue remembers its last ends (the children of an entry that filled at once enter for what
    it filled). The venue checks the rest: an order already paired, one it no longer remembers; docs/sim.md, "OCO
    and bracket orders held by the venue"."""
    if link <= 0:
        return link == 0
    if link == oid:
        return False
    o = link & (st.b[st.cfg + C_ORD_CAP] - 1)
    return st.b[st.ord + o * N_O + O_ID] == link and _owned(st, o, a, t, y)


@helper
def _links_ok(st, opt, oid, a, t, y):
    """A new order `oid`'s OCO and bracket links (`opt`: its options) each name what `_may_link` allows (0: none);
    `_new` and `checks._check_new` decide it after the static checks."""
    return _may_link(st, opt[OPT_OCO], oid, a, t, y) and _may_link(st, opt[OPT_PARENT], oid, a, t, y)


@helper
def _cancel_pending(status):
    return status == OS_PENDING_CANCEL or status == OS_PENDING_CANCEL_REPLACE


@helper
def _replace_pending(status):
    return status == OS_PENDING_REPLACE or status == OS_PENDING_CANCEL_REPLACE


@_kernel
def _replace_settled(st, o, release_new):
    """A pending replace is answered: with `release_new`, give back the reservation held for the new size
    (REPLACE_REJECTED, a failed dispatch); the status drops its replace part."""
    b = st.b
    r = st.ord + o * N_O
    if release_new:
        _release(st, o, min(b[r + O_REP_RES], b[r + O_OPEN]))
    b[r + O_REP_RES] = 0
    b[r + O_STATUS] = OS_PENDING_CANCEL if b[r + O_STATUS] == OS_PENDING_CANCEL_REPLACE else OS_LIVE


@_kernel
def _cancel(st, now, a, t, y, target, internal):
    b = st.b
    o = _find_order(st, target)
    if o < 0 or (not internal and not _owned(st, o, a, t, y)):
        return R_UNKNOWN_ORDER, 0
    r = st.ord + o * N_O
    if _cancel_pending(b[r + O_STATUS]):
        return R_ORDER_PENDING, 0
    if not internal:
        cnt = _strat_lim(st, L_CANCEL_COUNT, t)
        win = _strat_lim(st, L_CANCEL_WINDOW, t)
        ts = st.strat + t * N_S
        if not _bucket_ok(b, ts + S_CAN_TOK, ts + S_CAN_TS, cnt, win, now):
            return R_CANCEL_RATE, 0
        if cnt < UNLIMITED and win > 0:
            b[ts + S_CAN_TOK] -= win
    # a pending replace stays pending: its REPLACED / REPLACE_REJECTED still has to settle the reservation
    b[r + O_STATUS] = OS_PENDING_CANCEL_REPLACE if b[r + O_STATUS] == OS_PENDING_REPLACE else OS_PENDING_CANCEL
    return R_OK, target


@_kernel
def _replace(st, now, a, t, y, target, side, price, qty, internal):
    b = st.b
    o = _find_order(st, target)
    if o < 0 or not _owned(st, o, a, t, y):
        return R_UNKNOWN_ORDER, 0
    r0 = st.ord + o * N_O
    if b[r0 + O_STATUS] != OS_LIVE:
        return R_ORDER_PENDING, 0
    if side != 0 and side != b[r0 + O_SIDE]:
        return R_BAD_SIDE, 0
    side = b[r0 + O_SIDE]
    otype = b[r0 + O_TYPE]
    if otype == ORDER_MARKET:
        return R_UNSUPPORTED_ORDER_TYPE, 0
    if is_stop(otype):  # a held stop: cancel it and submit again
        return R_UNSUPPORTED_REPLACE, 0
    if qty <= 0:
        return R_BAD_QTY, 0
    if price <= 0:
        return R_BAD_PRICE, 0
    ys = st.sym + y * N_Y
    ref = b[ys + Y_REF_PX]
    mult = b[ys + Y_MULT]
    if ref <= 0 and b[st.cfg + C_REQUIRE_REF] != 0:
        return R_NO_REFERENCE_PRICE, 0
    z = b[r0 + O_SLOT]
    # The venue sets the open size to `qty` whatever fills while the replace is in flight (REPLACED reports
    # leaves = qty), so the old open quantity AND the new size can both execute: the new size is reserved on
    # top of the old open quantity until the venue answers (REPLACED: open = the reported leaves;
    # REPLACE_REJECTED: the new size is released).
    r = _exposure_check(st, a, t, y, z, side, qty, price, ref, mult)
    if r != R_OK:
        return r, 0
    _reserve(st, z, side, qty)
    r = _risk(st, now, a, t, y, z, side, price, qty, otype, price, ref, mult, internal, False)
    if r == R_OK:
        r = _house(st, internal, now, a, t, y, z, side, price, qty, otype, ref, mult, 0)
    if r != R_OK:
        _reserve(st, z, side, -qty)
        return r, 0
    if not internal:
        _take_submit(st, a, t)
    b[r0 + O_REP_RES] = qty
    b[r0 + O_OPEN] += qty
    b[r0 + O_NEW_PX] = price
    b[r0 + O_NEW_QTY] = qty
    b[r0 + O_STATUS] = OS_PENDING_REPLACE
    return R_OK, target


@helper  # inlined into `_process`, its only caller
def _decide(st, now, kind, a, t, y, side, price, qty, otype, tif, target, ctl, mode, opt):
    """Steps 2-5 for one intent: (reason, order_id)."""
    if kind != INTENT_CANCEL:
        if mode == MODE_REJECT_ALL:
            return R_POLICY_REJECT_ALL, 0
        if mode == MODE_CANCEL_ONLY:
            return R_POLICY_CANCEL_ONLY, 0
    pre = ctl & 0xFF
    if pre != 0:  # a reason decided before the core; it indexes the reason counters (N_REASONS of them)
        return (pre if pre < N_REASONS else R_BAD_INPUT), 0
    if kind != INTENT_NEW and kind != INTENT_CANCEL and kind != INTENT_REPLACE:
        return R_BAD_KIND, 0
    r = _registered(st, a, t, y)
    if r != R_OK:
        return r, 0
    internal = (ctl & CTL_INTERNAL) != 0
    if kind == INTENT_NEW:
        return _new(st, now, a, t, y, side, price, qty, otype, tif, internal, opt)
    if opt[OPT_DISPLAY] != 0:  # a cancel carries none; a replace keeps the order's display (docs/gateway.md)
        return R_BAD_DISPLAY, 0
    if opt[OPT_TRAIL] != 0:  # a cancel carries none; a held stop is never replaced
        return R_BAD_TRAIL, 0
    if opt[OPT_OCO] != 0 or opt[OPT_PARENT] != 0:  # a cancel carries none; a replace keeps the order's links
        return R_BAD_LINK, 0
    if kind == INTENT_CANCEL:
        return _cancel(st, now, a, t, y, target, internal)
    return _replace(st, now, a, t, y, target, side, price, qty, internal)


# the fingerprint's tag of each optional field (`hft.core.orders.OPTION_NAMES` order; 0: none): a new field takes a
# tag of its own, so that its value is never read as another field's
_FP_TAGS = (0, 0, 0x1CE, 0x7A11, 0x0C0, 0xB7AC)
assert len(_FP_TAGS) == N_OPT


@helper
def _fp_step(h, v):
    return (h ^ np.uint64(v)) * np.uint64(0x100000001B3)  # FNV-1a over whole int64 words (mod 2**64)


@helper
def _fingerprint(kind, a, t, y, side, price, qty, otype, tif, target, opt):
    """The request an idempotency key is bound to: a 64-bit hash (never 0) of the intent's kind, target, names
    and order fields, which the WAL's decision record holds too (a replay stores the same)."""
    h = _fp_step(np.uint64(0xCBF29CE484222325), kind)
    h = _fp_step(_fp_step(_fp_step(_fp_step(h, a), t), y), side)
    h = _fp_step(_fp_step(_fp_step(_fp_step(_fp_step(h, price), qty), otype), tif), target)
    for i in range(N_OPT):  # the optional fields that are not 0 (an intent without them keeps the fingerprint it
        v = opt[i]  # had before they were added), each after its tag (a field with none: the first ones)
        if v != 0:
            if _FP_TAGS[i] != 0:
                h = _fp_step(h, _FP_TAGS[i])
            h = _fp_step(h, v)
    h ^= h >> np.uint64(31)
    fp = np.int64(h)
    return fp if fp != 0 else np.int64(1)


@_kernel
def _process(st, now, mode, key, kind, a, t, y, side, price, qty, otype, tif, target, ctl=0, opt=NO_OPTIONS):
    b = st.b
    c = st.ctr
    seq = b[c + K_SEQ]
    b[c + K_SEQ] = seq + 1
    b[c + K_DECISIONS] += 1
    fp = np.int64(0)
    if key != EMPTY:
        fp = _fingerprint(kind, a, t, y, side, price, qty, otype, tif, target, opt)
        r = _dd_find(st, key, now)
        if r >= 0:
            b[c + K_DEDUP_HITS] += 1
            known = b[r + D_FP]
            if known != 0 and known != fp:  # the key was decided for another request: refused, nothing decided
                return R_KEY_REUSED | DUP_FLAG, b[r + D_OID], seq
            return b[r + D_REASON] | DUP_FLAG, b[r + D_OID], seq
    reason, oid = _decide(st, now, kind, a, t, y, side, price, qty, otype, tif, target, ctl, mode, opt)
    if key != EMPTY:  # `_dd_find` missed above (and a miss leaves no entry): no stale entry to look for
        _dd_insert(st, key, now, sat_add(now, b[st.cfg + C_TTL_NS]), reason, oid, seq, fp, True)  # TTL <= I64_MAX
    b[st.reasons + reason] += 1
    if reason == R_OK:
        b[c + K_ACCEPTED] += 1
    return reason, oid, seq


