"""The entries: one intent (`process_one`, and `process_touched` without its read-ahead), a batch (`process_batch`), rollback, reason counters.

Part of the gateway's numba core; the layout and the pipeline: `hft.gateway.kernels`."""

from __future__ import annotations

import numpy as np

from hft.core.order_rules import put_record_options, record_options
from hft.core.orders import (
    INTENT_CANCEL,
    INTENT_NEW,
    INTENT_REPLACE,
    N_REASONS,
    R_INTERNAL_ERROR,
    R_OK,
)
from hft.gateway.kernels.decide import _process, _replace_settled
from hft.gateway.kernels.dedup import _dd_find
from hft.gateway.kernels.exposure import _find_order, _ord_remove
from hft.gateway.kernels.layout import (
    C_ORD_CAP,
    D_REASON,
    DUP_FLAG,
    EMPTY,
    K_ACCEPTED,
    K_DECISIONS,
    K_NEXT_OID,
    K_SEQ,
    N_O,
    O_STATUS,
    OS_LIVE,
    OS_PENDING_CANCEL,
    OS_PENDING_CANCEL_REPLACE,
    OS_PENDING_REPLACE,
    _kernel,
    _kstate,
)
from hft.gateway.kernels.prefetch import (
    _touch_chain,
    _touch_far,
    _touch_first,
    _touch_head,
    _touch_near,
    prefetchw,
)


@_kernel
def next_order_id(buf):
    """The id the next accepted new order will get (ids are sequential: 1, 2, ...)."""
    return buf[_kstate(buf).ctr + K_NEXT_OID]


@_kernel
def process_one(buf, now, mode, key, kind, a, t, y, side, price, qty, otype, tif, target, ctl, opt):
    """Steps 1-6 for one intent (`opt`: a new order's optional fields, `hft.core.orders.order_options`; a cancel's
    and a replace's: `NO_OPTIONS`). Returns (reason | DUP_FLAG?, order_id, seq).

    Starts with software prefetches of the rows the intent will touch that are addressable from its fields
    (`_touch_intent`), so their cache misses overlap instead of being paid one after the other. No effect
    on decisions."""
    st = _kstate(buf)
    _touch_first(st, key, kind, a, t, y, target)
    _touch_chain(st, kind, a, t, y, target)
    return _process(st, now, mode, key, kind, a, t, y, side, price, qty, otype, tif, target, ctl, opt)


@_kernel
def process_touched(buf, now, mode, key, kind, a, t, y, side, price, qty, otype, tif, target, ctl, opt):
    """`process_one` without its read-ahead (for callers whose arena rows are in cache: the simulator's)."""
    return _process(_kstate(buf), now, mode, key, kind, a, t, y, side, price, qty, otype, tif, target, ctl, opt)


PREFETCH_FAR = 16  # intents ahead for hash buckets and rows addressable from the intent
PREFETCH_NEAR = 6  # intents ahead for rows found through a bucket / an order row
PREFETCH_HEAD = 2  # intents ahead for the order row found through the slot row


@_kernel
def process_batch(buf, intents, out, cmds, now, mode):
    """Steps 1-6 for every row of `intents` (INTENT_DTYPE) at time `now`; fills `out` (DECISION_DTYPE) and,
    for every accepted non-duplicate row, the next row of `cmds` (COMMAND_DTYPE, step 5).

    Returns the number of commands written. Same code as `process_one`, row by row, in order (plus
    read-only prefetching of the rows upcoming intents will touch).
    """
    st = _kstate(buf)
    n_ok = 0
    n = intents.shape[0]
    omask = buf[st.cfg + C_ORD_CAP] - 1
    for i in range(n):
        # the order-table rows the next new orders will take (ids are sequential)
        o = st.ord + ((buf[st.ctr + K_NEXT_OID] + PREFETCH_NEAR) & omask) * N_O
        prefetchw(buf, o)
        prefetchw(buf, o + N_O - 1)
        if i + PREFETCH_FAR < n:
            _touch_far(st, intents[i + PREFETCH_FAR])
        if i + PREFETCH_NEAR < n:
            _touch_near(st, intents[i + PREFETCH_NEAR])
        if i + PREFETCH_HEAD < n:
            _touch_head(st, intents[i + PREFETCH_HEAD])
        it = intents[i]
        opt = record_options(it)
        code, oid, seq = _process(st, now, mode, it.key, np.int64(it.kind), np.int64(it.account),
                                  np.int64(it.strategy), np.int64(it.symbol), np.int64(it.side), it.price,
                                  it.qty, np.int64(it.order_type), np.int64(it.tif), it.order_id, 0, opt)
        d = out[i]
        reason = code & 0xFFFF
        d.seq = seq
        d.ts = now
        d.recv_ts = it.ts
        d.key = it.key
        d.order_id = oid
        d.target_id = it.order_id
        d.price = it.price
        d.qty = it.qty
        d.account = it.account
        d.strategy = it.strategy
        d.symbol = it.symbol
        d.reason = reason
        d.kind = it.kind
        d.side = it.side
        d.order_type = it.order_type
        d.tif = it.tif
        d.accepted = 1 if reason == R_OK else 0
        d.duplicate = 1 if code & DUP_FLAG else 0
        put_record_options(d, opt)
        if reason == R_OK and not (code & DUP_FLAG):
            c = cmds[n_ok]
            c.ts = now
            c.order_id = oid if it.kind == INTENT_NEW else it.order_id
            c.key = it.key
            c.price = it.price
            c.qty = it.qty
            c.account = it.account
            c.strategy = it.strategy
            c.symbol = it.symbol
            c.action = it.kind
            c.side = it.side
            c.order_type = it.order_type
            c.tif = it.tif
            put_record_options(c, opt)
            n_ok += 1
    return n_ok


@_kernel
def rollback(buf, key, kind, oid, reason, now):
    """Undo an accepted decision whose dispatch failed: release / restore the order, re-mark dedup entry.
    `reason` (a code below N_REASONS: it indexes the reason counters; another counts as INTERNAL_ERROR)."""
    st = _kstate(buf)
    if not 0 <= reason < N_REASONS:
        reason = R_INTERNAL_ERROR
    o = _find_order(st, oid)
    if o >= 0:
        r = st.ord + o * N_O
        if kind == INTENT_NEW:
            _ord_remove(st, o)
        elif kind == INTENT_CANCEL:
            if buf[r + O_STATUS] == OS_PENDING_CANCEL:
                buf[r + O_STATUS] = OS_LIVE
            elif buf[r + O_STATUS] == OS_PENDING_CANCEL_REPLACE:
                buf[r + O_STATUS] = OS_PENDING_REPLACE
        elif kind == INTENT_REPLACE and buf[r + O_STATUS] == OS_PENDING_REPLACE:
            _replace_settled(st, o, True)
    if key != EMPTY:
        e = _dd_find(st, key, now)
        if e >= 0:
            buf[e + D_REASON] = reason
    buf[st.reasons + R_OK] -= 1
    buf[st.reasons + reason] += 1
    buf[st.ctr + K_ACCEPTED] -= 1


@_kernel
def count_reason(buf, reason):
    """Count a decision taken outside the kernel (QUEUE_FULL, INTERNAL_ERROR, ...) and return its seq. `reason`
    indexes the reason counters: one outside ``[0, N_REASONS)`` is counted as INTERNAL_ERROR."""
    st = _kstate(buf)
    if not 0 <= reason < N_REASONS:
        reason = R_INTERNAL_ERROR
    seq = buf[st.ctr + K_SEQ]
    buf[st.ctr + K_SEQ] = seq + 1
    buf[st.ctr + K_DECISIONS] += 1
    buf[st.reasons + reason] += 1
    return seq


