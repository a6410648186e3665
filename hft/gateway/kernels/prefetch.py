"""Read-ahead: what an intent will touch, prefetched before it is decided (`touch*`, the `_prefetch` intrinsics).

Part of the gateway's numba core; the layout and the pipeline: `hft.gateway.kernels`."""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from hft.core.jit import helper
from hft.core.orders import (
    INTENT_NEW,
)
from hft.gateway.kernels.dedup import _home
from hft.gateway.kernels.layout import (
    C_DD_BITS,
    C_DD_CAP,
    C_MAX_STRAT,
    C_MAX_SYM,
    C_N_ACCT,
    C_N_STRAT,
    C_N_SYM,
    C_ORD_CAP,
    C_SM_BITS,
    DD_HASH,
    EMPTY,
    K_NEXT_OID,
    N_LIM,
    N_O,
    N_Y,
    N_Z,
    O_ID,
    O_SLOT,
    Z_OHEAD,
)


@helper
def _touch_first(st, key, kind, a, t, y, target):
    _touch_intent(st, key, a, t, y, target)
    if kind == INTENT_NEW:  # the order row a new order will take (ids are sequential)
        o = st.ord + (st.b[st.ctr + K_NEXT_OID] & (st.b[st.cfg + C_ORD_CAP] - 1)) * N_O
        prefetchw(st.b, o)
        prefetchw(st.b, o + N_O - 1)


@helper
def _touch_chain(st, kind, a, t, y, target):
    """Per-intent counterpart of `_touch_near` + `_touch_head`: follow the slot-map bucket (or the target
    order) to the exposure slot, prefetch its row and, for a new order, the slot's head order row (which
    the new order's link writes). Its loads wait for lines `_touch_intent` already has in flight, so the
    misses of this dependent chain overlap with the dedup-bucket miss instead of following it. Reads
    only; no effect on decisions."""
    b = st.b
    s = _touch_slot(st, a, t, y, target)
    if s >= 0 and kind == INTENT_NEW:
        h = b[s + Z_OHEAD]
        if h >= 0:
            prefetchw(b, st.ord + h * N_O)


@helper
def _touch_slot(st, a, t, y, target):
    """Find the exposure slot an intent will use without changing anything (through the target order, or the
    slot-map bucket of (account, strategy, symbol)) and prefetch its row; its arena offset, -1 when none.

    Its loads are real (not prefetches), so their indices are in range: the target's order row is
    ``target & (C_ORD_CAP - 1)`` for ``target > 0``, a slot index read from an order row or a slot-map value is
    one `_slot_get` wrote (``< C_SLOT_CAP``; a freed order row keeps its last slot's index, still in range), the
    slot-map bucket is `_home`'s (``< 2**C_SM_BITS``) and its key needs registry indices checked first."""
    b = st.b
    z = -1
    if target > 0:
        r = st.ord + (target & (b[st.cfg + C_ORD_CAP] - 1)) * N_O
        if b[r + O_ID] == target:
            z = b[r + O_SLOT]
    elif 0 <= a < b[st.cfg + C_N_ACCT] and 0 <= t < b[st.cfg + C_N_STRAT] and 0 <= y < b[st.cfg + C_N_SYM]:
        k = (a * b[st.cfg + C_MAX_STRAT] + t) * b[st.cfg + C_MAX_SYM] + y
        i = st.smap + 2 * _home(k, b[st.cfg + C_SM_BITS])
        if b[i] == k:
            z = b[i + 1]
    if z < 0:
        return -1
    s = st.slot + z * N_Z
    _prefetch(b, s)
    _prefetch(b, s + 8)
    _prefetch(b, s + 16)
    return s


def _prefetch_codegen(rw):
    def codegen(context, builder, signature, args):
        if isinstance(signature.args[0], types.CPointer):
            ptr = builder.gep(args[0], [args[1]])
        else:
            ptr = builder.gep(context.make_array(signature.args[0])(context, builder, args[0]).data, [args[1]])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(rw), i32(3), i32(1)])
        return context.get_dummy_value()

    return codegen


@intrinsic
def _prefetch(typingctx, arr, idx):
    """``_prefetch(arr, i)``: a software prefetch (``llvm.prefetch``, read, high locality) of ``&arr[i]``.

    Unlike a load it never stalls the pipeline or faults (no bounds check is needed), so the batch kernel
    can keep many cache / TLB misses of upcoming intents in flight while it decides the current one.

    Preconditions: none on `i`. The address is computed by a plain ``getelementptr`` (not ``inbounds``: LLVM
    defines it as wrapping arithmetic for any index, so an index past either end is not undefined behaviour), and
    ``llvm.prefetch`` of any address reads nothing into a register, writes nothing and cannot trap (a hint: x86's
    ``prefetcht0`` / ``prefetchw`` ignore an unmapped address). `arr` is an array or a ``CPointer`` (the arena's
    `KState.b`). Tested at int64's extremes (`tests/unit/gateway/test_gw_int64_edges.py`). The kernels prefetch rows
    they then read (in range: `layout._data_ptr`), so out-of-range indices do not occur in practice either."""
    if not isinstance(arr, types.Array | types.CPointer):
        return None
    return types.void(arr, types.int64), _prefetch_codegen(0)


@intrinsic
def prefetchw(typingctx, arr, idx):
    """``prefetchw(arr, i)``: like `_prefetch`, with intent to write (``prefetchw``); the same (absent)
    preconditions."""
    if not isinstance(arr, types.Array | types.CPointer):
        return None
    return types.void(arr, types.int64), _prefetch_codegen(1)


@helper
def _touch_intent(st, key, a, t, y, target):
    """Prefetch the lines an intent will need that are addressable from its fields alone: dedup bucket,
    slot-map bucket, symbol and symbol-limit rows, target order row. No effect on decisions."""
    b = st.b
    if key != EMPTY and b[st.cfg + C_DD_CAP] > 0:
        _prefetch(b, st.ddx + 2 * _home(key, b[st.cfg + C_DD_BITS] | DD_HASH))
    if 0 <= a < b[st.cfg + C_N_ACCT] and 0 <= t < b[st.cfg + C_N_STRAT] and 0 <= y < b[st.cfg + C_N_SYM]:
        k = (a * b[st.cfg + C_MAX_STRAT] + t) * b[st.cfg + C_MAX_SYM] + y
        _prefetch(b, st.smap + 2 * _home(k, b[st.cfg + C_SM_BITS]))
        _prefetch(b, st.sym + y * N_Y)
        _prefetch(b, st.lim_sym + y * N_LIM)
    if target > 0:
        _prefetch(b, st.ord + (target & (b[st.cfg + C_ORD_CAP] - 1)) * N_O)


@helper
def _touch_far(st, it):
    """`_touch_intent` for an INTENT_DTYPE row (the batch kernels' read-ahead)."""
    _touch_intent(st, it.key, np.int64(it.account), np.int64(it.strategy), np.int64(it.symbol), it.order_id)


@helper
def _touch_near(st, it):
    """Prefetch the rows found through what `_touch_far` fetched a few intents earlier: the exposure slot
    (through the slot-map bucket, or through the target order's slot). Reads only; no effect on decisions."""
    _touch_slot(st, np.int64(it.account), np.int64(it.strategy), np.int64(it.symbol), it.order_id)


@helper
def _touch_head(st, it):
    """A new order is linked in front of its slot's order list, which writes the current head order's row
    (a row last touched when that order was added, long out of cache): prefetch it for writing."""
    b = st.b
    if it.kind != INTENT_NEW:
        return
    a = np.int64(it.account)
    t = np.int64(it.strategy)
    y = np.int64(it.symbol)
    if 0 <= a < b[st.cfg + C_N_ACCT] and 0 <= t < b[st.cfg + C_N_STRAT] and 0 <= y < b[st.cfg + C_N_SYM]:
        key = (a * b[st.cfg + C_MAX_STRAT] + t) * b[st.cfg + C_MAX_SYM] + y
        i = st.smap + 2 * _home(key, b[st.cfg + C_SM_BITS])
        if b[i] == key:
            h = b[st.slot + b[i + 1] * N_Z + Z_OHEAD]
            if h >= 0:
                prefetchw(b, st.ord + h * N_O)


