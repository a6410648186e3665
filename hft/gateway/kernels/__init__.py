"""Numba core of the gateway: dedup table, exposure, risk checks, order table, reports, marks.

Modules, by responsibility (this package re-exports their public names: ``from hft.gateway import kernels as
K``; the in-kernel API at the end): `layout` (arena header and table layouts, `views` / `KState`, `new_arena`,
the jit decorators), `dedup` (the decision window), `exposure` (slots and the order table), `risk` (the risk
step and exposure limits), `decide` (one intent: new / cancel / replace, dedup commit), `prefetch`
(read-ahead), `batch` (the per-intent and batch entries, rollback), `reports` (execution reports, marks, fills,
day roll), `checks` (dry runs), `money` (the value of a quantity at a price), `exact` (int64 sums, differences and
products that say when they do not fit: a signed overflow is undefined behaviour in a kernel: docs/architecture.md, rule 13).

State layout
------------
All mutable gateway state lives in ONE contiguous int64 array, the *arena*. A small header holds the offset and
shape of each table (row-major: one row per account / strategy / symbol / exposure slot / working order /
dedup entry, so one intent touches a handful of cache lines). Python façades see the tables as numpy views
through `views(buf)` → `GatewayState` (a NamedTuple of views). Kernels use `KState` (a one-word reference to the
arena: its data pointer; ``st.ord`` ... are the table offsets, read from the header) and address fields as
``b[offset + row * width + field]``.

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
misses of one intent overlap instead of being paid one after the other.

Kernels do no I/O, never allocate, and return integer codes: ``(reason | DUP_FLAG, order_id,
seq)`` for decisions, a bit set of ``F_*`` flags for reports and marks. The service (`hft.gateway.service`)
turns codes into records, commands and StormGuard triggers.

Pipeline inside `process_one` / `process_batch` (one intent):
  1. dedup: purge expired entries, look the key up; a live hit returns the original decision (DUP_FLAG), or
     R_KEY_REUSED (DUP_FLAG, nothing decided) when the entry's request fingerprint is not this intent's.
  2. policy: the mode is an argument; cancels always pass; CANCEL_ONLY / REJECT_ALL refuse the rest.
  2b. decoding: registry indices, kind, side, qty / price sign, order type and TIF support.
  3. exposure: find or create the (account, strategy, symbol) slot (evict zero-balance slots at capacity,
     else EXPOSURE_CARDINALITY), check net position / long / short / notional *including working orders* and the
     account's buying power (`risk._buying_power`: only with cash set), reserve.
  4. risk: tick / lot multiples, min / max qty, price band, order notional, daily loss, rate limits,
     repeated-order throttle, self-match. A rejection here releases the step-3 reservation explicitly.
  5. order table entry (the command itself is materialised by the service / batch kernel).
  6. dedup commit: the decision (accepted or not) is stored under the key.
"""

from __future__ import annotations

from hft.gateway.kernels.batch import (
    PREFETCH_FAR,
    PREFETCH_HEAD,
    PREFETCH_NEAR,
    count_reason,
    next_order_id,
    process_batch,
    process_one,
    process_touched,
    rollback,
)
from hft.gateway.kernels.checks import check_batch, dry_run
from hft.gateway.kernels.decide import _process
from hft.gateway.kernels.dedup import (
    dd_export,
    dd_lookup,
    dd_store,
)
from hft.gateway.kernels.exposure import (
    evict_zero,
    slot_lookup,
)
from hft.gateway.kernels.layout import (
    A_COST,
    A_FFRAC,
    A_MTM,
    A_REAL,
    A_SUB2_TOK,
    A_SUB2_TS,
    A_SUB_TOK,
    A_SUB_TS,
    C_DD_BITS,
    C_DD_CAP,
    C_MAX_ACCT,
    C_MAX_STRAT,
    C_MAX_SYM,
    C_MOVE_BPS,
    C_MOVE_WIN_NS,
    C_N_ACCT,
    C_N_STRAT,
    C_N_SYM,
    C_ORD_CAP,
    C_OTYPE_MASK,
    C_REQUIRE_REF,
    C_SCRATCH,
    C_SELF_MATCH,
    C_SLOT_CAP,
    C_SM_BITS,
    C_TIF_MASK,
    C_TTL_NS,
    CTL_INTERNAL,
    D_EXPIRY,
    D_KEY,
    D_OID,
    D_REASON,
    D_SEQ,
    D_TS,
    DD_HASH,
    DUP_FLAG,
    EMPTY,
    F_BAD_REPORT,
    F_LOSS_BREACH,
    F_MARKET_MOVE,
    F_POSITION_BREACH,
    F_UNKNOWN_ORDER,
    H_BASE,
    H_MAGIC,
    H_VERSION,
    HEADER,
    I64_MAX,
    I64_MIN,
    K_ACCEPTED,
    K_DD_COUNT,
    K_DD_EVICTED,
    K_DD_EXPIRED,
    K_DD_HEAD,
    K_DECISIONS,
    K_DEDUP_HITS,
    K_FREE_TOP,
    K_LIVE,
    K_NEXT_OID,
    K_REPORTS,
    K_SEQ,
    K_SLOT_COUNT,
    K_SLOT_EVICTIONS,
    K_UNKNOWN_REPORTS,
    L_BAND_BPS,
    L_CANCEL_COUNT,
    L_CANCEL_WINDOW,
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
    MAGIC,
    MARGIN_STATE,
    MAX_ARENA_BYTES,
    MS_CASH,
    MS_COLS,
    MS_COMPUTABLE,
    MS_REQUIRED,
    N_A,
    N_CFG,
    N_CTR,
    N_D,
    N_LIM,
    N_O,
    N_S,
    N_TABLES,
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
    OS_NAMES,
    OS_PENDING_CANCEL,
    OS_PENDING_CANCEL_REPLACE,
    OS_PENDING_REPLACE,
    S_CAN_TOK,
    S_CAN_TS,
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
    SB_COLS,
    SB_COUNT,
    SB_INDEX,
    SB_LEVEL,
    SB_WINDOW,
    SUBMIT_BUCKET,
    T_ACCT,
    T_CFG,
    T_CTR,
    T_DDE,
    T_DDX,
    T_FREE,
    T_LIM_ACCT,
    T_LIM_DEF,
    T_LIM_STRAT,
    T_LIM_SYM,
    T_ORD,
    T_REASONS,
    T_SLOT,
    T_SMAP,
    T_STRAT,
    T_SYM,
    UNLIMITED,
    UNSET,
    VERSION,
    WO_ACCOUNT,
    WO_COLS,
    WO_ORDER_ID,
    WO_STATUS,
    WO_STRATEGY,
    WO_SYMBOL,
    WORKING_ORDER,
    Y_HEAD,
    Y_LOT,
    Y_MAX_BID,
    Y_MIN_ASK,
    Y_MIN_NOTIONAL,
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
    Z_KEY,
    Z_NLIVE,
    Z_OHEAD,
    Z_POS,
    Z_REAL,
    Z_REP_N,
    Z_REP_PX,
    Z_REP_QTY,
    Z_REP_SIDE,
    Z_REP_TS,
    Z_SNEXT,
    Z_SPREV,
    Z_STRAT,
    Z_SYM,
    Z_USED,
    Z_WBUY,
    Z_WSELL,
    GatewayState,
    KState,
    _kstate,
    new_arena,
    same_layout,
    views,
)
from hft.gateway.kernels.reports import (
    _report,
    _set_mark,
    apply_report,
    apply_reports,
    apply_reports_until,
    flatten_price,
    live_orders,
    mark,
    roll_day,
)
from hft.gateway.kernels.risk import margin_state, submit_buckets

# --- the in-kernel API
# Stable names for numba callers that drive the gateway from inside their own kernels (the simulator's engine
# loop). They are the same dispatchers the service uses; the caller owns the policy mode it passes and must
# hand the returned F_* flags back to Python (`GatewayService.handle_flags` via `on_execution_reports` /
# `mark`, or its own StormGuard logic) — StormGuard and the recorder sink live in Python.
kstate = _kstate  # kstate(buf) -> KState
decide = _process  # decide(st, now, mode, key, kind, a, t, y, side, price, qty, otype, tif, target, ctl=0, opt=...)
#                    -> (reason | DUP_FLAG, order_id, seq)   (steps 1-6, exactly what process() runs; prices,
#                    quantities and times any int64: what would overflow is refused; ctl: 0, CTL_INTERNAL, or a
#                    reason code decided before the core in its low byte)
report = _report  # report(st, now, order_id, kind, price, qty, leaves, fee, fee_frac) -> F_* flags (any int64
#                    values: a fill or replace whose booking would not fit int64, or a fee_frac outside [0, 1e6),
#                    is F_BAD_REPORT, nothing applied; the fee is exact: fee + fee_frac / 1e6)
mark_symbol = _set_mark  # mark_symbol(st, y, px, now) -> F_* flags (caller checks 0 <= y < n_sym, px > 0)
