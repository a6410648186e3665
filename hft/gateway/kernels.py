"""Numba core of the gateway: dedup table, exposure, risk checks, order table, reports, marks.

State layout
------------
All mutable gateway state lives in ONE contiguous int64 array, the *arena*. A small header holds the offset and
shape of each table (row-major: one row per account / strategy / symbol / exposure slot / working order /
dedup entry, so one intent touches a handful of cache lines). Python façades see the tables as numpy views
through `views(buf)` → `GatewayState` (a NamedTuple of views). Kernels use `KState` (a NamedTuple of the
arena and the table offsets) and address fields as ``b[offset + row * width + field]``.

Why: numba's dispatcher unboxes a NamedTuple of 8 arrays in ~4.7 µs, each array argument costs ~100 ns, and
inside nopython code every nested call copies and refcounts each array of a NamedTuple argument (~150 ns
for 16 views, per call). A call with one array and a dozen integers costs ~0.3 µs, and passing `KState`
between kernels costs a few ns (measured on the 2-vCPU bench VM). The first, views-based version of this
module spent 5-10x more time per intent.

All kernels are compiled with ``_nrt=False`` (no reference counting: passing `KState` to a nested call
otherwise costs an atomic incref / decref pair on the arena's MemInfo, hundreds per intent).

The batch kernel prefetches (`_touch_far`, `_touch_near`, `_touch_head`, real ``prefetcht0`` /
``prefetchw`` instructions via the `_prefetch` intrinsic, which never stall or fault): the dedup bucket,
slot-map bucket, symbol rows and target order of intent i+16, the exposure slot of intent i+6, the order
row a new order of intent i+2 will link to, and the order-table rows the next ids will take. No effect on
decisions. The dedup index hashes blocks of 8 consecutive keys to 8 adjacent buckets (`_home`, `DD_HASH`),
so counter-numbered intents share cache lines instead of missing once each. `process_one` (the per-intent
entry) prefetches at entry what its own intent will touch (`_touch_intent`, `_touch_chain`: dedup bucket,
slot-map bucket, symbol rows, target order, next order row, then the exposure slot and its head order), so the
misses of one intent overlap instead of being paid one after the other. The compiled per-intent driver runs
the same read-ahead in stages (`touch`, `touch_slot`, then `process_touched`) with its own work in between.

Kernels do no I/O, never allocate, and return integer codes: ``(reason | DUP_FLAG, order_id,
seq)`` for decisions, a bit set of ``F_*`` flags for reports and marks. The service (`hft.gateway.service`,
through the compiled per-intent driver `hft.gateway.driver` for the common case) turns codes into records,
commands and StormGuard triggers.

Pipeline inside `process_one` / `process_batch` (one intent):
  1. dedup: purge expired entries, look the key up; a live hit returns the original decision (DUP_FLAG).
  2. policy: the mode is an argument; cancels always pass; CANCEL_ONLY / REJECT_ALL refuse the rest.
  2b. decoding: registry indices, kind, side, qty / price sign, order type and TIF support.
  3. exposure: find or create the (account, strategy, symbol) slot (evict zero-balance slots at capacity,
     else EXPOSURE_CARDINALITY), check net position / notional *including working orders*, reserve.
  4. risk: tick / lot multiples, min / max qty, price band, order notional, daily loss, rate limits,
     repeated-order throttle, self-match. A rejection here releases the step-3 reservation explicitly.
  5. order table entry (the command itself is materialised by the per-intent driver / batch kernel).
  6. dedup commit: the decision (accepted or not) is stored under the key.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from hft.core.orders import (
    INTENT_CANCEL,
    INTENT_NEW,
    INTENT_REPLACE,
    MODE_CANCEL_ONLY,
    MODE_REJECT_ALL,
    N_REASONS,
    NO_KEY,
    ORDER_MARKET,
    ORDER_POST_ONLY,
    R_BAD_KIND,
    R_BAD_PRICE,
    R_BAD_QTY,
    R_BAD_SIDE,
    R_CANCEL_RATE,
    R_DAILY_LOSS,
    R_EXPOSURE_CARDINALITY,
    R_MAX_ORDER_NOTIONAL,
    R_MAX_ORDER_QTY,
    R_MIN_NOTIONAL,
    R_NO_REFERENCE_PRICE,
    R_NOTIONAL_LIMIT,
    R_OFF_LOT,
    R_OFF_TICK,
    R_OK,
    R_ORDER_PENDING,
    R_ORDER_TABLE_FULL,
    R_POLICY_CANCEL_ONLY,
    R_POLICY_REJECT_ALL,
    R_POSITION_LIMIT,
    R_PRICE_BAND,
    R_QTY_BELOW_MIN,
    R_REPEAT_THROTTLE,
    R_SELF_MATCH,
    R_SUBMIT_RATE,
    R_UNKNOWN_ACCOUNT,
    R_UNKNOWN_ORDER,
    R_UNKNOWN_STRATEGY,
    R_UNKNOWN_SYMBOL,
    R_UNSUPPORTED_ORDER_TYPE,
    R_UNSUPPORTED_TIF,
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    RISK_FLAG_BAD_REPORT,
    RISK_FLAG_LOSS_BREACH,
    RISK_FLAG_MARKET_MOVE,
    RISK_FLAG_POSITION_BREACH,
    RISK_FLAG_UNKNOWN_ORDER,
    TIF_FOK,
    TIF_IOC,
)

# Kernels never allocate, so they are compiled without NRT reference counting (`_nrt=False`): with NRT on,
# numba increfs / decrefs the arena (an atomic read-modify-write on its MemInfo) at every nested call that
# passes `KState` or `b`. None of them allocates; `_kstate`, the only one returning an array, is inlined.
_kernel = njit(cache=True, _nrt=False)
_kernel_inline = njit(cache=True, _nrt=False, inline="always")

I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min
EMPTY = NO_KEY  # empty hash-table cell
UNSET = -1  # limit not set at this level (inherit)
UNLIMITED = I64_MAX
NONE_BID = I64_MIN  # no working buy in a slot
NONE_ASK = I64_MAX  # no working sell in a slot
DUP_FLAG = 1 << 16  # set in a decision code when the decision is a dedup hit
CTL_INTERNAL = 1 << 8  # ctl bit: internal command (kill-switch cancels): no rate limits, no ownership check

# report / mark flags (defined in hft.core.orders)
F_LOSS_BREACH = RISK_FLAG_LOSS_BREACH
F_POSITION_BREACH = RISK_FLAG_POSITION_BREACH
F_MARKET_MOVE = RISK_FLAG_MARKET_MOVE
F_UNKNOWN_ORDER = RISK_FLAG_UNKNOWN_ORDER
F_BAD_REPORT = RISK_FLAG_BAD_REPORT

MAGIC = 0x4846544757  # "HFTGW"
VERSION = 1

# --- cfg (1-D) ---------------------------------------------------------------------------------------------
C_TTL_NS = 0
C_DD_CAP = 1
C_DD_BITS = 2
DD_HASH = 3 << 8  # or-ed into the dedup index's bits: blocks of 8 consecutive keys (see `_home`)
C_SLOT_CAP = 3
C_SM_BITS = 4
C_ORD_CAP = 5
C_MAX_ACCT = 6
C_MAX_STRAT = 7
C_MAX_SYM = 8
C_N_ACCT = 9
C_N_STRAT = 10
C_N_SYM = 11
C_REQUIRE_REF = 12
C_SELF_MATCH = 13
C_OTYPE_MASK = 14
C_TIF_MASK = 15
C_MOVE_BPS = 16
C_MOVE_WIN_NS = 17
C_SCRATCH = 23  # unused (was a sink for read-ahead loads; the batch kernel now issues real prefetches)
N_CFG = 24

# --- ctr (1-D) ---------------------------------------------------------------------------------------------
K_NEXT_OID = 0
K_SEQ = 1
K_DD_HEAD = 2
K_DD_COUNT = 3
K_SLOT_COUNT = 4
K_FREE_TOP = 5
K_DEDUP_HITS = 6
K_ACCEPTED = 7
K_DECISIONS = 8
K_SLOT_EVICTIONS = 9
K_LIVE = 10
K_REPORTS = 11
K_UNKNOWN_REPORTS = 12
K_DD_EVICTED = 13
K_DD_EXPIRED = 14
N_CTR = 24

# --- limit fields (rows of lim_acct / lim_strat / lim_sym, and lim_def) -------------------------------------
L_MAX_ORDER_QTY = 0
L_MAX_ORDER_NOTIONAL = 1
L_MAX_POSITION = 2
L_MAX_NOTIONAL = 3
L_MIN_QTY = 4
L_BAND_BPS = 5
L_DAILY_LOSS = 6
L_SUBMIT_COUNT = 7
L_SUBMIT_WINDOW = 8
L_CANCEL_COUNT = 9
L_CANCEL_WINDOW = 10
L_MAX_REPEATS = 11
L_REPEAT_WINDOW = 12
N_LIM = 16

# --- symbol rows -------------------------------------------------------------------------------------------
Y_REF_PX = 0
Y_MULT = 1
Y_TICK = 2
Y_LOT = 3
Y_HEAD = 4  # first exposure slot of this symbol (linked list)
Y_WIN_TS = 5
Y_WIN_PX = 6
Y_MAX_BID = 7  # upper bound of the best working buy of any slot of the symbol (refreshed by walks)
Y_MIN_ASK = 8  # lower bound of the best working sell
Y_MIN_NOTIONAL = 9  # exchange filter: smallest order value in money units (0: none)
N_Y = 16

# --- strategy rows -----------------------------------------------------------------------------------------
S_SUB_TOK = 0
S_SUB_TS = 1
S_CAN_TOK = 2
S_CAN_TS = 3
S_REAL = 4
S_COST = 5
S_MTM = 6
N_S = 8

# --- account rows ------------------------------------------------------------------------------------------
A_REAL = 0
A_COST = 1
A_MTM = 2
N_A = 4

# --- exposure slot rows (hot fields first: line 0 = exposure + self-match walk, line 1 = order list + repeats)
Z_ACCT = 0
Z_BID = 1  # best working buy (cross price) of this slot
Z_ASK = 2
Z_SNEXT = 3  # next slot of the same symbol
Z_POS = 4
Z_WBUY = 5
Z_WSELL = 6
Z_NLIVE = 7
Z_OHEAD = 8
Z_REP_SIDE = 9
Z_REP_PX = 10
Z_REP_QTY = 11
Z_REP_N = 12
Z_REP_TS = 13
Z_SPREV = 14
Z_USED = 15
Z_KEY = 16
Z_STRAT = 17
Z_SYM = 18
Z_COST = 19
Z_REAL = 20
N_Z = 24

# --- order rows --------------------------------------------------------------------------------------------
O_ID = 0
O_SLOT = 1
O_SIDE = 2
O_PX = 3
O_OPEN = 4  # reserved working quantity
O_STATUS = 5
O_NEXT = 6
O_PREV = 7
O_NEW_PX = 8
O_NEW_QTY = 9
O_REP_RES = 10  # while a replace is pending: the part of O_OPEN reserved for the new size
O_TYPE = 11
N_O = 12

OS_FREE = 0
OS_LIVE = 1
OS_PENDING_CANCEL = 2
OS_PENDING_REPLACE = 3
OS_PENDING_CANCEL_REPLACE = 4  # a cancel accepted while a replace is pending: both still to be answered

# --- dedup entries (FIFO ring) -----------------------------------------------------------------------------
D_KEY = 0
D_EXPIRY = 1
D_TS = 2
D_REASON = 3
D_OID = 4
D_SEQ = 5
N_D = 8

# --- header ------------------------------------------------------------------------------------------------
H_MAGIC = 0
H_VERSION = 1
H_BASE = 8
T_CFG, T_CTR, T_REASONS, T_LIM_DEF, T_LIM_ACCT, T_LIM_STRAT, T_LIM_SYM = 0, 1, 2, 3, 4, 5, 6
T_SYM, T_STRAT, T_ACCT, T_SLOT, T_SMAP, T_FREE, T_ORD, T_DDE, T_DDX = 7, 8, 9, 10, 11, 12, 13, 14, 15
N_TABLES = 16
HEADER = H_BASE + 3 * N_TABLES


class GatewayState(NamedTuple):
    """Views of the arena (see module docstring). 1-D: cfg, ctr, reasons, lim_def, free; the rest 2-D."""

    cfg: np.ndarray
    ctr: np.ndarray
    reasons: np.ndarray
    lim_def: np.ndarray
    lim_acct: np.ndarray
    lim_strat: np.ndarray
    lim_sym: np.ndarray
    sym: np.ndarray
    strat: np.ndarray
    acct: np.ndarray
    slot: np.ndarray
    smap: np.ndarray
    free: np.ndarray
    ord: np.ndarray
    dde: np.ndarray
    ddx: np.ndarray


def _v1(buf, t):
    b = H_BASE + 3 * t
    o = buf[b]
    return buf[o:o + buf[b + 1] * buf[b + 2]]


def _v2(buf, t):
    b = H_BASE + 3 * t
    o = buf[b]
    r = buf[b + 1]
    c = buf[b + 2]
    return buf[o:o + r * c].reshape((r, c))


def views(buf):
    """The arena as a `GatewayState` (works in Python and in numba)."""
    return GatewayState(_v1(buf, T_CFG), _v1(buf, T_CTR), _v1(buf, T_REASONS), _v1(buf, T_LIM_DEF),
                        _v2(buf, T_LIM_ACCT), _v2(buf, T_LIM_STRAT), _v2(buf, T_LIM_SYM), _v2(buf, T_SYM),
                        _v2(buf, T_STRAT), _v2(buf, T_ACCT), _v2(buf, T_SLOT), _v2(buf, T_SMAP),
                        _v1(buf, T_FREE), _v2(buf, T_ORD), _v2(buf, T_DDE), _v2(buf, T_DDX))


class KState(NamedTuple):
    """What the kernels pass around: the arena and the offset of each table.

    ``b`` is the arena's data pointer (``CPointer(int64)``, indexed like the array, without negative-index
    wrap-around and without reference counting); the caller keeps the arena array alive.

    A NamedTuple of 16 array views costs ~150 ns per *nested call* in numba (each view is copied and
    refcounted), a NamedTuple of one array and 16 ints costs a few ns, so kernels address rows as
    ``b[table_offset + row * row_width + field]``.
    """

    b: np.ndarray  # in kernels: CPointer(int64) to the arena's data (see `_kstate`)
    cfg: int
    ctr: int
    reasons: int
    lim_def: int
    lim_acct: int
    lim_strat: int
    lim_sym: int
    sym: int
    strat: int
    acct: int
    slot: int
    smap: int
    free: int
    ord: int
    dde: int
    ddx: int


@intrinsic
def _data_ptr(typingctx, arr):
    """``_data_ptr(arr)``: the data pointer of a C-contiguous int64 array as ``CPointer(int64)``.

    Kernels index the arena through it: numba's array indexing wraps negative indices (compare, add and
    select on every access: hundreds of instructions per intent), pointer indexing does not. Every arena
    index in the kernels is non-negative by construction (table offset + row * width + field, rows checked)."""
    def codegen(context, builder, signature, args):
        return context.make_array(signature.args[0])(context, builder, args[0]).data

    return types.CPointer(types.int64)(arr), codegen


@_kernel_inline  # inlined: a non-NRT function must never *return* an array to an NRT caller (the caller
def _kstate(buf):  # would decref a reference it was never given and free the arena under its owner)
    return KState(_data_ptr(buf), buf[H_BASE + 3 * T_CFG], buf[H_BASE + 3 * T_CTR], buf[H_BASE + 3 * T_REASONS],
                  buf[H_BASE + 3 * T_LIM_DEF], buf[H_BASE + 3 * T_LIM_ACCT], buf[H_BASE + 3 * T_LIM_STRAT],
                  buf[H_BASE + 3 * T_LIM_SYM], buf[H_BASE + 3 * T_SYM], buf[H_BASE + 3 * T_STRAT],
                  buf[H_BASE + 3 * T_ACCT], buf[H_BASE + 3 * T_SLOT], buf[H_BASE + 3 * T_SMAP],
                  buf[H_BASE + 3 * T_FREE], buf[H_BASE + 3 * T_ORD], buf[H_BASE + 3 * T_DDE],
                  buf[H_BASE + 3 * T_DDX])


def _pow2_bits(n: int) -> int:
    bits = 1
    while (1 << bits) < n:
        bits += 1
    return bits


MAX_ARENA_BYTES = 16 << 30  # the largest gateway arena new_arena allocates


def new_arena(*, max_accounts: int, max_strategies: int, max_symbols: int, exposure_slots: int,
              working_orders: int, dedup_capacity: int) -> np.ndarray:
    """Allocate and initialise an arena (all limits UNSET, all tables empty).

    `working_orders` is rounded up to a power of two (order ids index the order ring by ``id & (n - 1)``).
    """
    ord_cap = 1 << _pow2_bits(max(working_orders, 2))
    dd_bits = _pow2_bits(max(2 * dedup_capacity, 2))
    sm_bits = _pow2_bits(max(2 * exposure_slots, 2))
    shapes = [
        (1, N_CFG), (1, N_CTR), (1, N_REASONS), (1, N_LIM),
        (max_accounts, N_LIM), (max_strategies, N_LIM), (max_symbols, N_LIM),
        (max_symbols, N_Y), (max_strategies, N_S), (max_accounts, N_A),
        (exposure_slots, N_Z), (1 << sm_bits, 2), (1, exposure_slots), (ord_cap, N_O),
        (dedup_capacity, N_D), (1 << dd_bits, 2),
    ]
    total = HEADER
    offs = []
    for r, c in shapes:
        total = (total + 7) // 8 * 8  # 64-byte aligned tables
        offs.append(total)
        total += r * c
    if total * 8 > MAX_ARENA_BYTES:  # refused before allocating (a capacity typo would ask for terabytes)
        from hft.core.errors import ConfigError

        raise ConfigError(f"capacity: the gateway arena would take {total * 8 / 2**30:,.1f} GiB; expected at most "
                          f"{MAX_ARENA_BYTES / 2**30:g} GiB", key="capacity",
                          hint="lower capacity.max_working_orders / exposure_max_symbols / dedup.capacity")
    buf = np.zeros(total, dtype=np.int64)  # numpy advises huge pages for large blocks itself
    buf[H_MAGIC] = MAGIC
    buf[H_VERSION] = VERSION
    for t, ((r, c), o) in enumerate(zip(shapes, offs, strict=True)):
        buf[H_BASE + 3 * t: H_BASE + 3 * t + 3] = (o, r, c)
    st = views(buf)
    cfg = st.cfg
    cfg[C_DD_CAP] = dedup_capacity
    cfg[C_DD_BITS] = dd_bits
    cfg[C_SLOT_CAP] = exposure_slots
    cfg[C_SM_BITS] = sm_bits
    cfg[C_ORD_CAP] = ord_cap
    cfg[C_MAX_ACCT] = max_accounts
    cfg[C_MAX_STRAT] = max_strategies
    cfg[C_MAX_SYM] = max_symbols
    st.lim_def[:] = UNLIMITED
    st.lim_def[L_MIN_QTY] = 1
    st.lim_acct[:] = UNSET
    st.lim_strat[:] = UNSET
    st.lim_sym[:] = UNSET
    st.strat[:, S_SUB_TS] = I64_MIN
    st.strat[:, S_CAN_TS] = I64_MIN
    st.sym[:, Y_HEAD] = -1
    st.sym[:, Y_MAX_BID] = NONE_BID
    st.sym[:, Y_MIN_ASK] = NONE_ASK
    st.sym[:, Y_MULT] = 1
    st.sym[:, Y_TICK] = 1
    st.sym[:, Y_LOT] = 1
    st.smap[:, 0] = EMPTY
    st.ddx[:, 0] = EMPTY
    st.free[:] = np.arange(exposure_slots - 1, -1, -1)
    st.ctr[K_FREE_TOP] = exposure_slots
    st.ctr[K_NEXT_OID] = 1
    st.ctr[K_SEQ] = 1
    return buf


# ======================================================================= hash tables (linear probing)
# A table is 2 int64 columns (key, value) at offset `off` of `b`, 2**bits rows.
@_kernel_inline
def _home(key, bits):
    """Home bucket of `key` in a table of 2**(bits & 0xFF) rows (Fibonacci hashing).

    ``bits >> 8`` = g > 0 keeps runs of 2**g consecutive keys in 2**g adjacent buckets: the high key bits
    choose the block, the low g bits the bucket inside it. The dedup index uses g = 3 (`DD_HASH`): producers
    number their intents with counters, so consecutive keys then share a cache line (and a page) instead
    of costing a DRAM miss each; strided or random keys still spread over the whole table."""
    g = bits >> 8
    n = bits & 0xFF
    if g == 0 or n <= g:
        return np.int64((np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - n))
    k = np.uint64(key)
    h = ((k >> np.uint64(g)) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - n + g)
    return np.int64((h << np.uint64(g)) | (k & np.uint64((1 << g) - 1)))


@_kernel
def _tab_find(b, off, bits, key):
    mask = (1 << (bits & 0xFF)) - 1
    i = _home(key, bits)
    while True:
        k = b[off + 2 * i]
        if k == key:
            return i
        if k == EMPTY:
            return -1
        i = (i + 1) & mask


@_kernel
def _tab_insert(b, off, bits, key, val):
    mask = (1 << (bits & 0xFF)) - 1
    i = _home(key, bits)
    while b[off + 2 * i] != EMPTY and b[off + 2 * i] != key:
        i = (i + 1) & mask
    b[off + 2 * i] = key
    b[off + 2 * i + 1] = val


@_kernel
def _tab_delete(b, off, bits, key):
    """Remove `key` with backward-shift deletion (no tombstones)."""
    mask = (1 << (bits & 0xFF)) - 1
    i = _tab_find(b, off, bits, key)
    if i < 0:
        return
    j = i
    while True:
        j = (j + 1) & mask
        k = b[off + 2 * j]
        if k == EMPTY:
            break
        h = _home(k, bits)
        # keep entry j where it is if its home lies cyclically in (i, j]
        if i <= j:
            if i < h <= j:
                continue
        elif h > i or h <= j:
            continue
        b[off + 2 * i] = k
        b[off + 2 * i + 1] = b[off + 2 * j + 1]
        i = j
    b[off + 2 * i] = EMPTY
    b[off + 2 * i + 1] = 0


# ======================================================================= dedup
@_kernel
def _dd_purge(st, now):
    b = st.b
    cap = b[st.cfg + C_DD_CAP]
    c = st.ctr
    while b[c + K_DD_COUNT] > 0:
        e = b[c + K_DD_HEAD]
        r = st.dde + e * N_D
        if b[r + D_EXPIRY] > now:
            break
        k = b[r + D_KEY]
        if k != EMPTY:
            _tab_delete(b, st.ddx, b[st.cfg + C_DD_BITS] | DD_HASH, k)
            b[c + K_DD_EXPIRED] += 1
        b[r + D_KEY] = EMPTY
        b[c + K_DD_HEAD] = e + 1 if e + 1 < cap else 0
        b[c + K_DD_COUNT] -= 1


@_kernel
def _dd_find(st, key, now):
    """Row offset of a live entry for `key`, or -1."""
    b = st.b
    if b[st.cfg + C_DD_CAP] == 0:
        return -1
    _dd_purge(st, now)
    bits = b[st.cfg + C_DD_BITS] | DD_HASH
    i = _tab_find(b, st.ddx, bits, key)
    if i < 0:
        return -1
    r = st.dde + b[st.ddx + 2 * i + 1] * N_D
    if b[r + D_EXPIRY] <= now:  # out of FIFO order (TTL changed across a restart)
        _tab_delete(b, st.ddx, bits, key)
        b[r + D_KEY] = EMPTY
        b[st.ctr + K_DD_EXPIRED] += 1
        return -1
    return r


@_kernel
def _dd_insert(st, key, now, expiry, reason, oid, seq):
    b = st.b
    cap = b[st.cfg + C_DD_CAP]
    if cap == 0:
        return
    c = st.ctr
    bits = b[st.cfg + C_DD_BITS] | DD_HASH
    old = _tab_find(b, st.ddx, bits, key)
    if old >= 0:  # replace a stale entry for the same key
        b[st.dde + b[st.ddx + 2 * old + 1] * N_D + D_KEY] = EMPTY
        _tab_delete(b, st.ddx, bits, key)
    if b[c + K_DD_COUNT] == cap:  # evict the oldest
        e = b[c + K_DD_HEAD]
        r = st.dde + e * N_D
        k = b[r + D_KEY]
        if k != EMPTY:
            _tab_delete(b, st.ddx, bits, k)
            b[c + K_DD_EVICTED] += 1
        b[r + D_KEY] = EMPTY
        b[c + K_DD_HEAD] = (e + 1) % cap
        b[c + K_DD_COUNT] -= 1
    e = b[c + K_DD_HEAD] + b[c + K_DD_COUNT]
    if e >= cap:
        e -= cap
    r = st.dde + e * N_D
    b[r + D_KEY] = key
    b[r + D_EXPIRY] = expiry
    b[r + D_TS] = now
    b[r + D_REASON] = reason
    b[r + D_OID] = oid
    b[r + D_SEQ] = seq
    _tab_insert(b, st.ddx, bits, key, e)
    b[c + K_DD_COUNT] += 1


@_kernel
def dd_lookup(buf, key, now):
    """(found, reason, order_id, decided_ts, seq) for a live dedup entry."""
    st = _kstate(buf)
    r = _dd_find(st, key, now)
    if r < 0:
        return (0, 0, 0, 0, 0)
    return (1, buf[r + D_REASON], buf[r + D_OID], buf[r + D_TS], buf[r + D_SEQ])


@_kernel
def dd_store(buf, key, now, expiry, reason, oid, seq):
    """Insert or overwrite the entry for `key` (used by load and by direct DedupStore use)."""
    st = _kstate(buf)
    _dd_purge(st, now)
    _dd_insert(st, key, now, expiry, reason, oid, seq)


@_kernel
def dd_export(buf, out):
    """Copy live entries in FIFO order into `out` (n, N_D); returns n."""
    st = _kstate(buf)
    cap = buf[st.cfg + C_DD_CAP]
    n = 0
    for j in range(buf[st.ctr + K_DD_COUNT]):
        r = st.dde + ((buf[st.ctr + K_DD_HEAD] + j) % cap) * N_D
        if buf[r + D_KEY] != EMPTY:
            for f in range(N_D):
                out[n, f] = buf[r + f]
            n += 1
    return n


# ======================================================================= limits
@_kernel_inline
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


@_kernel_inline
def _strat_lim(st, f, t):
    v = st.b[st.lim_strat + t * N_LIM + f]
    return v if v >= 0 else st.b[st.lim_def + f]


@_kernel_inline
def _mul_gt(a, b, c):
    """a * b > c for a, b, c >= 0 without overflow (no division when both factors are below 2**31)."""
    if a <= 0x7FFFFFFF and b <= 0x7FFFFFFF:
        return a * b > c
    if a == 0 or b == 0:
        return c < 0
    return a > c // b


@_kernel_inline
def _mul3_gt(a, b, m, c):
    if a == 0 or b == 0 or m == 0:
        return c < 0
    if _mul_gt(a, b, I64_MAX):
        return True
    return _mul_gt(a * b, m, c)


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
@_kernel_inline
def _cross_px(side, otype, px):
    if otype == ORDER_MARKET:
        return I64_MAX - 1 if side > 0 else I64_MIN + 1
    return px


@_kernel
def _recompute_best(st, z):
    b = st.b
    bid = NONE_BID
    ask = NONE_ASK
    s = st.slot + z * N_Z
    o = b[s + Z_OHEAD]
    while o >= 0:
        r = st.ord + o * N_O
        c = _cross_px(b[r + O_SIDE], b[r + O_TYPE], b[r + O_PX])
        if b[r + O_SIDE] > 0:
            bid = max(bid, c)
        else:
            ask = min(ask, c)
        o = b[r + O_NEXT]
    b[s + Z_BID] = bid
    b[s + Z_ASK] = ask


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
        if c > b[ys + Y_MAX_BID]:
            b[ys + Y_MAX_BID] = c
    else:
        if c < b[s + Z_ASK]:
            b[s + Z_ASK] = c
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
    _recompute_best(st, z)


@_kernel_inline
def _find_order(st, oid):
    """Order-table index of a live order `oid`, or -1."""
    if oid <= 0:
        return -1
    o = oid & (st.b[st.cfg + C_ORD_CAP] - 1)
    r = st.ord + o * N_O
    if st.b[r + O_ID] != oid or st.b[r + O_STATUS] == OS_FREE:
        return -1
    return o


# ======================================================================= rate limits
@_kernel
def _bucket_ok(b, tok, ts, count, window, now):
    """Refill a token bucket at b[tok] / b[ts] (`count` per `window` ns, in units of 1/window) and test
    for one token."""
    if count >= UNLIMITED or window <= 0:
        return True
    full = count * window
    last = b[ts]
    if last == I64_MIN or now - last >= window:
        b[tok] = full
    else:
        el = now - last
        if el > 0:
            b[tok] = min(full, b[tok] + el * count)
    b[ts] = now
    return b[tok] >= window


# ======================================================================= risk (step 4)
@_kernel_inline
def _pnl_strat(st, t):
    r = st.strat + t * N_S
    return st.b[r + S_REAL] + st.b[r + S_MTM] - st.b[r + S_COST]


@_kernel_inline
def _pnl_acct(st, a):
    r = st.acct + a * N_A
    return st.b[r + A_REAL] + st.b[r + A_MTM] - st.b[r + A_COST]


@_kernel
def _loss_breached(st, a, t):
    lim = _strat_lim(st, L_DAILY_LOSS, t)
    if lim < UNLIMITED and _pnl_strat(st, t) < -lim:
        return True
    lim = st.b[st.lim_acct + a * N_LIM + L_DAILY_LOSS]
    return lim >= 0 and lim < UNLIMITED and _pnl_acct(st, a) < -lim


@_kernel
def _risk(st, now, a, t, y, z, side, price, qty, otype, valpx, ref, mult, internal, check_repeat):
    b = st.b
    ys = st.sym + y * N_Y
    tick = b[ys + Y_TICK]
    if tick != 1 and otype != ORDER_MARKET and price % tick != 0:
        return R_OFF_TICK
    lot = b[ys + Y_LOT]
    if lot != 1 and qty % lot != 0:
        return R_OFF_LOT
    if qty < _eff(st, L_MIN_QTY, a, t, y):
        return R_QTY_BELOW_MIN
    minn = b[ys + Y_MIN_NOTIONAL]
    if minn > 0 and not _mul3_gt(valpx, qty, mult, minn - 1):
        return R_MIN_NOTIONAL
    if qty > _eff(st, L_MAX_ORDER_QTY, a, t, y):
        return R_MAX_ORDER_QTY
    if otype != ORDER_MARKET and ref > 0:
        band = _eff(st, L_BAND_BPS, a, t, y)
        d = abs(price - ref)
        if (band < UNLIMITED and not _mul_gt(band, ref, I64_MAX) and not _mul_gt(d, 10000, I64_MAX)
                and d * 10000 > band * ref):
            return R_PRICE_BAND
    if _mul3_gt(valpx, qty, mult, _eff(st, L_MAX_ORDER_NOTIONAL, a, t, y)):
        return R_MAX_ORDER_NOTIONAL
    if not internal and _loss_breached(st, a, t):  # internal orders (flatten_on_halt) close what lost
        return R_DAILY_LOSS
    ts = st.strat + t * N_S
    if not internal and not _bucket_ok(b, ts + S_SUB_TOK, ts + S_SUB_TS, _strat_lim(st, L_SUBMIT_COUNT, t),
                                       _strat_lim(st, L_SUBMIT_WINDOW, t), now):
        return R_SUBMIT_RATE
    if check_repeat:
        s = st.slot + z * N_Z
        maxrep = _strat_lim(st, L_MAX_REPEATS, t)
        if (maxrep < UNLIMITED and b[s + Z_REP_SIDE] == side and b[s + Z_REP_PX] == price
                and b[s + Z_REP_QTY] == qty and now - b[s + Z_REP_TS] < _strat_lim(st, L_REPEAT_WINDOW, t)
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


@_kernel_inline
def _exposure_worst(st, a, t, y, worst, valpx, ref, mult):
    """Step 3 limits for `worst`, the side's net quantity including working orders and this order."""
    if worst > _eff(st, L_MAX_POSITION, a, t, y):
        return R_POSITION_LIMIT
    mark = ref if ref > 0 else valpx
    if worst > 0 and _mul3_gt(worst, mark, mult, _eff(st, L_MAX_NOTIONAL, a, t, y)):
        return R_NOTIONAL_LIMIT
    return R_OK


@_kernel
def _exposure_check(st, a, t, y, z, side, add, valpx, ref, mult):
    """Step 3: net position and notional including working orders, on the side the order adds to."""
    b = st.b
    s = st.slot + z * N_Z
    if side > 0:
        worst = b[s + Z_POS] + b[s + Z_WBUY] + add
    else:
        worst = b[s + Z_WSELL] + add - b[s + Z_POS]
    return _exposure_worst(st, a, t, y, worst, valpx, ref, mult)


@_kernel_inline
def _reserve(st, z, side, qty):
    if side > 0:
        st.b[st.slot + z * N_Z + Z_WBUY] += qty
    else:
        st.b[st.slot + z * N_Z + Z_WSELL] += qty


@_kernel_inline
def _check_tif(st, otype, tif):
    b = st.b
    if otype < 1 or otype > 3 or ((b[st.cfg + C_OTYPE_MASK] >> otype) & 1) == 0:
        return R_UNSUPPORTED_ORDER_TYPE
    if tif < 1 or tif > 4 or ((b[st.cfg + C_TIF_MASK] >> tif) & 1) == 0:
        return R_UNSUPPORTED_TIF
    if otype == ORDER_MARKET and tif != TIF_IOC and tif != TIF_FOK:
        return R_UNSUPPORTED_TIF
    if otype == ORDER_POST_ONLY and (tif == TIF_IOC or tif == TIF_FOK):
        return R_UNSUPPORTED_TIF
    return R_OK


@_kernel_inline
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


@_kernel_inline
def _new_static(st, y, side, price, qty, otype, tif):
    """A new order's checks that need no exposure state: side, type / TIF, quantity, price, reference price.
    Returns (reason, reference price, multiplier, valuation price)."""
    b = st.b
    if side != 1 and side != -1:
        return R_BAD_SIDE, 0, 0, 0
    r = _check_tif(st, otype, tif)
    if r != R_OK:
        return r, 0, 0, 0
    if qty <= 0:
        return R_BAD_QTY, 0, 0, 0
    if price < 0 or (price == 0 and otype != ORDER_MARKET):
        return R_BAD_PRICE, 0, 0, 0
    ys = st.sym + y * N_Y
    ref = b[ys + Y_REF_PX]
    mult = b[ys + Y_MULT]
    if ref <= 0 and (otype == ORDER_MARKET or b[st.cfg + C_REQUIRE_REF] != 0):
        return R_NO_REFERENCE_PRICE, 0, 0, 0
    return R_OK, ref, mult, ref if otype == ORDER_MARKET else price


@_kernel
def _new(st, now, a, t, y, side, price, qty, otype, tif, internal):
    b = st.b
    r, ref, mult, valpx = _new_static(st, y, side, price, qty, otype, tif)
    if r != R_OK:
        return r, 0
    # step 3: exposure
    z = _slot_get(st, a, t, y, True)
    if z < 0:
        return R_EXPOSURE_CARDINALITY, 0
    r = _exposure_check(st, a, t, y, z, side, qty, valpx, ref, mult)
    if r != R_OK:
        return r, 0
    _reserve(st, z, side, qty)
    # step 4: risk; a rejection releases the reservation explicitly
    oid = b[st.ctr + K_NEXT_OID]
    r = _risk(st, now, a, t, y, z, side, price, qty, otype, valpx, ref, mult, internal, True)
    if r == R_OK and b[st.ord + (oid & (b[st.cfg + C_ORD_CAP] - 1)) * N_O + O_STATUS] != OS_FREE:
        r = R_ORDER_TABLE_FULL
    if r != R_OK:
        _reserve(st, z, side, -qty)
        return r, 0
    # commit
    ts = st.strat + t * N_S
    if not internal:
        cnt = _strat_lim(st, L_SUBMIT_COUNT, t)
        win = _strat_lim(st, L_SUBMIT_WINDOW, t)
        if cnt < UNLIMITED and win > 0:
            b[ts + S_SUB_TOK] -= win
    s = st.slot + z * N_Z
    if (b[s + Z_REP_SIDE] == side and b[s + Z_REP_PX] == price and b[s + Z_REP_QTY] == qty
            and now - b[s + Z_REP_TS] < _strat_lim(st, L_REPEAT_WINDOW, t)):
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


@_kernel_inline
def _owned(st, o, a, t, y):
    s = st.slot + st.b[st.ord + o * N_O + O_SLOT] * N_Z
    b = st.b
    return b[s + Z_ACCT] == a and b[s + Z_STRAT] == t and b[s + Z_SYM] == y


@_kernel_inline
def _cancel_pending(status):
    return status == OS_PENDING_CANCEL or status == OS_PENDING_CANCEL_REPLACE


@_kernel_inline
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
    if r != R_OK:
        _reserve(st, z, side, -qty)
        return r, 0
    if not internal:
        cnt = _strat_lim(st, L_SUBMIT_COUNT, t)
        win = _strat_lim(st, L_SUBMIT_WINDOW, t)
        if cnt < UNLIMITED and win > 0:
            b[st.strat + t * N_S + S_SUB_TOK] -= win
    b[r0 + O_REP_RES] = qty
    b[r0 + O_OPEN] += qty
    b[r0 + O_NEW_PX] = price
    b[r0 + O_NEW_QTY] = qty
    b[r0 + O_STATUS] = OS_PENDING_REPLACE
    return R_OK, target


@_kernel
def _decide(st, now, kind, a, t, y, side, price, qty, otype, tif, target, ctl, mode):
    """Steps 2-5 for one intent: (reason, order_id)."""
    if kind != INTENT_CANCEL:
        if mode == MODE_REJECT_ALL:
            return R_POLICY_REJECT_ALL, 0
        if mode == MODE_CANCEL_ONLY:
            return R_POLICY_CANCEL_ONLY, 0
    pre = ctl & 0xFF
    if pre != 0:
        return pre, 0
    if kind != INTENT_NEW and kind != INTENT_CANCEL and kind != INTENT_REPLACE:
        return R_BAD_KIND, 0
    r = _registered(st, a, t, y)
    if r != R_OK:
        return r, 0
    internal = (ctl & CTL_INTERNAL) != 0
    if kind == INTENT_NEW:
        return _new(st, now, a, t, y, side, price, qty, otype, tif, internal)
    if kind == INTENT_CANCEL:
        return _cancel(st, now, a, t, y, target, internal)
    return _replace(st, now, a, t, y, target, side, price, qty, internal)


@_kernel
def _process(st, now, mode, key, kind, a, t, y, side, price, qty, otype, tif, target, ctl):
    b = st.b
    c = st.ctr
    seq = b[c + K_SEQ]
    b[c + K_SEQ] = seq + 1
    b[c + K_DECISIONS] += 1
    if key != EMPTY:
        r = _dd_find(st, key, now)
        if r >= 0:
            b[c + K_DEDUP_HITS] += 1
            return b[r + D_REASON] | DUP_FLAG, b[r + D_OID], seq
    reason, oid = _decide(st, now, kind, a, t, y, side, price, qty, otype, tif, target, ctl, mode)
    if key != EMPTY:
        _dd_insert(st, key, now, now + b[st.cfg + C_TTL_NS], reason, oid, seq)
    b[st.reasons + reason] += 1
    if reason == R_OK:
        b[c + K_ACCEPTED] += 1
    return reason, oid, seq


@_kernel
def next_order_id(buf):
    """The id the next accepted new order will get (ids are sequential: 1, 2, ...)."""
    return buf[_kstate(buf).ctr + K_NEXT_OID]


@_kernel
def process_one(buf, now, mode, key, kind, a, t, y, side, price, qty, otype, tif, target, ctl):
    """Steps 1-6 for one intent. Returns (reason | DUP_FLAG?, order_id, seq).

    Starts with software prefetches of the rows the intent will touch that are addressable from its fields
    (`_touch_intent`), so their cache misses overlap instead of being paid one after the other. No effect
    on decisions."""
    st = _kstate(buf)
    _touch_first(st, key, kind, a, t, y, target)
    _touch_chain(st, kind, a, t, y, target)
    return _process(st, now, mode, key, kind, a, t, y, side, price, qty, otype, tif, target, ctl)


@_kernel
def touch(buf, key, kind, a, t, y, target):
    """First stage of `process_one`'s read-ahead, for callers with work to do before the decision (the
    compiled per-intent driver): prefetches only, never stalls. No effect on decisions."""
    _touch_first(_kstate(buf), key, kind, a, t, y, target)


@_kernel
def touch_slot(buf, kind, a, t, y, target):
    """Second stage (`_touch_chain`): reads the slot-map bucket (or target order) that `touch` prefetched and
    prefetches the exposure slot and its head order. Call it some work after `touch`. No effect on decisions."""
    _touch_chain(_kstate(buf), kind, a, t, y, target)


@_kernel
def process_touched(buf, now, mode, key, kind, a, t, y, side, price, qty, otype, tif, target, ctl):
    """`process_one` without its read-ahead (the caller ran `touch` and `touch_slot`)."""
    return _process(_kstate(buf), now, mode, key, kind, a, t, y, side, price, qty, otype, tif, target, ctl)


@_kernel_inline
def _touch_first(st, key, kind, a, t, y, target):
    _touch_intent(st, key, a, t, y, target)
    if kind == INTENT_NEW:  # the order row a new order will take (ids are sequential)
        o = st.ord + (st.b[st.ctr + K_NEXT_OID] & (st.b[st.cfg + C_ORD_CAP] - 1)) * N_O
        _prefetchw(st.b, o)
        _prefetchw(st.b, o + N_O - 1)


@_kernel_inline
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
            _prefetchw(b, st.ord + h * N_O)


@_kernel_inline
def _touch_slot(st, a, t, y, target):
    """Find the exposure slot an intent will use without changing anything (through the target order, or the
    slot-map bucket of (account, strategy, symbol)) and prefetch its row; its arena offset, -1 when none."""
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
    can keep many cache / TLB misses of upcoming intents in flight while it decides the current one."""
    return types.void(arr, types.int64), _prefetch_codegen(0)


@intrinsic
def _prefetchw(typingctx, arr, idx):
    """``_prefetchw(arr, i)``: like `_prefetch`, with intent to write (``prefetchw``)."""
    return types.void(arr, types.int64), _prefetch_codegen(1)


@_kernel_inline
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


@_kernel_inline
def _touch_far(st, it):
    """`_touch_intent` for an INTENT_DTYPE row (the batch kernels' read-ahead)."""
    _touch_intent(st, it.key, np.int64(it.account), np.int64(it.strategy), np.int64(it.symbol), it.order_id)


@_kernel_inline
def _touch_near(st, it):
    """Prefetch the rows found through what `_touch_far` fetched a few intents earlier: the exposure slot
    (through the slot-map bucket, or through the target order's slot). Reads only; no effect on decisions."""
    _touch_slot(st, np.int64(it.account), np.int64(it.strategy), np.int64(it.symbol), it.order_id)


@_kernel_inline
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
                _prefetchw(b, st.ord + h * N_O)


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
        _prefetchw(buf, o)
        _prefetchw(buf, o + N_O - 1)
        if i + PREFETCH_FAR < n:
            _touch_far(st, intents[i + PREFETCH_FAR])
        if i + PREFETCH_NEAR < n:
            _touch_near(st, intents[i + PREFETCH_NEAR])
        if i + PREFETCH_HEAD < n:
            _touch_head(st, intents[i + PREFETCH_HEAD])
        it = intents[i]
        code, oid, seq = _process(st, now, mode, it.key, np.int64(it.kind), np.int64(it.account),
                                  np.int64(it.strategy), np.int64(it.symbol), np.int64(it.side), it.price,
                                  it.qty, np.int64(it.order_type), np.int64(it.tif), it.order_id, 0)
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
            n_ok += 1
    return n_ok


@_kernel
def rollback(buf, key, kind, oid, reason, now):
    """Undo an accepted decision whose dispatch failed: release / restore the order, re-mark dedup entry."""
    st = _kstate(buf)
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
    """Count a decision taken outside the kernel (QUEUE_FULL, INTERNAL_ERROR, ...) and return its seq."""
    st = _kstate(buf)
    seq = buf[st.ctr + K_SEQ]
    buf[st.ctr + K_SEQ] = seq + 1
    buf[st.ctr + K_DECISIONS] += 1
    buf[st.reasons + reason] += 1
    return seq


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
                _apply_mtm(st, b[s + Z_STRAT], b[s + Z_ACCT], b[s + Z_POS] * d * mult)
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
        cost += side * px * m * q
        npos = pos + side * q
    else:
        ap = abs(pos)
        closing = min(q, ap)
        removed = (cost * closing) // ap if cost >= 0 else -((-cost * closing) // ap)
        sgn = 1 if pos > 0 else -1
        dreal += sgn * px * m * closing - removed
        cost -= removed
        npos = pos + side * closing
        rest = q - closing
        if rest > 0:
            cost += side * px * m * rest
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
    _apply_mtm(st, t, a, dpos * mk * m)
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
            v = b[s + Z_POS] * b[ys + Y_REF_PX] * b[ys + Y_MULT]
            b[s + Z_REAL] = 0
            b[s + Z_COST] = v
            ts = st.strat + b[s + Z_STRAT] * N_S
            b[ts + S_COST] += v
            b[ts + S_MTM] += v
            ac = st.acct + b[s + Z_ACCT] * N_A
            b[ac + A_COST] += v
            b[ac + A_MTM] += v


@_kernel
def dry_run(buf, now, a, t, y, side, price, qty, otype, tif):
    """Would a NEW order pass steps 2b-4 now (rate limits not applied)? Returns the reason.

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
    r, oid = _new(st, now, a, t, y, side, price, qty, otype, tif, True)
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
def _check_new(st, now, a, t, y, side, price, qty, otype, tif):
    """`dry_run` without its side effects: steps 2b-4 for a NEW order against the current state.

    Same checks, same order, same reason as `dry_run` (rate limits not applied); a missing exposure slot
    counts as flat and is not created. Writes nothing but the symbol's conservative self-match bounds
    (refreshed exactly by a walk, as in every path)."""
    b = st.b
    r = _registered(st, a, t, y)
    if r != R_OK:
        return r
    r, ref, mult, valpx = _new_static(st, y, side, price, qty, otype, tif)
    if r != R_OK:
        return r
    z = _slot_get(st, a, t, y, False)
    if z >= 0:
        s = st.slot + z * N_Z
        if side > 0:
            worst = b[s + Z_POS] + b[s + Z_WBUY] + qty
        else:
            worst = b[s + Z_WSELL] + qty - b[s + Z_POS]
    else:
        if b[st.ctr + K_FREE_TOP] == 0 and not _any_evictable(st):
            return R_EXPOSURE_CARDINALITY
        worst = qty
    r = _exposure_worst(st, a, t, y, worst, valpx, ref, mult)
    if r != R_OK:
        return r
    r = _risk(st, now, a, t, y, z, side, price, qty, otype, valpx, ref, mult, True, z >= 0)
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


@_kernel_inline
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
                               np.int64(it.side), it.price, it.qty, np.int64(it.order_type), np.int64(it.tif))
        elif kind == INTENT_CANCEL:
            r = _check_cancel(st, np.int64(it.account), np.int64(it.strategy), np.int64(it.symbol), it.order_id)
        else:
            r = R_BAD_KIND
        out[i] = r
        if r == R_OK:
            n_ok += 1
    return n_ok


# ======================================================================= in-kernel API
# Stable names for numba callers that drive the gateway from inside their own kernels (the simulator's engine
# loop). They are the same dispatchers the service uses; the caller owns the policy mode it passes and must
# hand the returned F_* flags back to Python (`GatewayService._handle_flags` via `on_execution_reports` /
# `mark`, or its own StormGuard logic) — StormGuard and the recorder sink live in Python.
kstate = _kstate  # kstate(buf) -> KState
decide = _process  # decide(st, now, mode, key, kind, a, t, y, side, price, qty, otype, tif, target, ctl)
#                    -> (reason | DUP_FLAG, order_id, seq)   (steps 1-6, exactly what process() runs)
report = _report  # report(st, now, order_id, kind, price, qty, leaves, fee) -> F_* flags
mark_symbol = _set_mark  # mark_symbol(st, y, px, now) -> F_* flags (caller checks 0 <= y < n_sym, px > 0)
