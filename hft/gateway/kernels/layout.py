"""The gateway arena: table layouts (field offsets, row widths), the header, `views` / `KState`, `new_arena`.

Part of the gateway's numba core; the layout and the pipeline: `hft.gateway.kernels`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import (
    intrinsic,
    make_attribute_wrapper,
    models,
    overload_attribute,
    register_model,
)

from hft.core.errors import ConfigError
from hft.core.jit import njit
from hft.core.orders import (
    DECISION,
    N_REASONS,
    NO_KEY,
    RISK_FLAG_BAD_REPORT,
    RISK_FLAG_LOSS_BREACH,
    RISK_FLAG_MARKET_MOVE,
    RISK_FLAG_POSITION_BREACH,
    RISK_FLAG_UNKNOWN_ORDER,
)
from hft.core.records import Field, Record
from hft.gateway.limits import FIELD as _LF
from hft.gateway.limits import N_LIMIT_FIELDS

# Kernels never allocate, so they are compiled without NRT reference counting (`_nrt=False`): with NRT on,
# numba increfs / decrefs the arena (an atomic read-modify-write on its MemInfo) at every nested call that
# passes `b`. None of them allocates.
_kernel = njit(cache=True, _nrt=False)


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
VERSION = 3  # 2: the risk-check table; 3: two submit-rate windows per strategy and per account

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

# --- limit fields (rows of lim_acct / lim_strat / lim_sym, and lim_def): from the one limit table -----------
L_MAX_ORDER_QTY = _LF["max_order_qty"]
L_MAX_ORDER_NOTIONAL = _LF["max_order_notional"]
L_MAX_POSITION = _LF["max_position"]
L_MAX_LONG = _LF["max_long"]
L_MAX_SHORT = _LF["max_short"]
L_MAX_NOTIONAL = _LF["max_notional"]
L_MIN_QTY = _LF["min_qty"]
L_BAND_BPS = _LF["price_band_bps"]
L_DAILY_LOSS = _LF["daily_loss"]
L_SUBMIT_COUNT = _LF["submit_rate.count"]
L_SUBMIT_WINDOW = _LF["submit_rate.window"]
L_SUBMIT2_COUNT = _LF["submit_rate.count2"]  # the submit rate's second (longer) window
L_SUBMIT2_WINDOW = _LF["submit_rate.window2"]
L_CANCEL_COUNT = _LF["cancel_rate.count"]
L_CANCEL_WINDOW = _LF["cancel_rate.window"]
L_MAX_REPEATS = _LF["max_repeats"]
L_REPEAT_WINDOW = _LF["repeat_window_ns"]
L_CASH = _LF["cash"]  # an account's buying power (its row, else the default; UNSET / UNLIMITED: no check)
L_MARGIN_RATE = _LF["margin_rate"]  # millionths (a symbol's row, else the default)
N_LIM = N_LIMIT_FIELDS

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
S_FFRAC = 7  # fee millionths owed beyond S_REAL (0 <= . < 1e6): the exact realised PnL is S_REAL - S_FFRAC / 1e6
S_SUB2_TOK = 8  # the submit rate's second window (its bucket; the first: S_SUB_TOK / S_SUB_TS)
S_SUB2_TS = 9
N_S = 12

# --- account rows ------------------------------------------------------------------------------------------
A_REAL = 0
A_COST = 1
A_MTM = 2
A_FFRAC = 3  # as S_FFRAC, beyond A_REAL
A_SUB_TOK = 4  # the account's own submit-rate buckets (its two windows), as the strategy's
A_SUB_TS = 5
A_SUB2_TOK = 6
A_SUB2_TS = 7
N_A = 8

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
Z_NBID = 21  # live orders at Z_BID: a lower bound (0 in an older snapshot's arena); a removal at the best walks
Z_NASK = 22  # the slot's order list only when it may have been the last there (`_ord_remove`)
Z_FFRAC = 23  # as S_FFRAC, beyond Z_REAL
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
OS_NAMES = {OS_LIVE: "live", OS_PENDING_CANCEL: "pending_cancel", OS_PENDING_REPLACE: "pending_replace",
            OS_PENDING_CANCEL_REPLACE: "pending_cancel_replace"}

# --- the listing of working orders (`reports.live_orders`): one int64 row per order, by these columns
WORKING_ORDER = Record("working_order", (
    DECISION.field("order_id"), DECISION.field("account"), DECISION.field("strategy"), DECISION.field("symbol"),
    Field("status", "i8", "code", "the order's status in the gateway's order table (OS_*)", OS_NAMES),
), "a working order of the gateway (`live_orders`' rows)")
_WO = WORKING_ORDER.index
WO_ORDER_ID, WO_ACCOUNT, WO_STRATEGY, WO_SYMBOL, WO_STATUS = (_WO["order_id"], _WO["account"], _WO["strategy"],
                                                             _WO["symbol"], _WO["status"])
WO_COLS = len(WORKING_ORDER.fields)

# --- read-outs of the risk core for the metrics (`risk.submit_buckets`, `risk.margin_state`): int64 rows by these
SUBMIT_BUCKET = Record("submit_bucket", (
    Field("level", "i8", "code", "whose bucket: a strategy's (its row, else the default) or an account's own",
          {0: "strategy", 1: "account"}),
    Field("index", "i8", "index", "the strategy's or the account's registry index"),
    Field("bucket", "i8", "index", "which of its two submit-rate windows (0: submit_rate, 1: submit_rate_2)"),
    Field("count", "i8", "count", "submits allowed per window"),
    Field("window", "i8", "ns", "the window"),
    Field("available", "i8", "count", "whole submits the bucket would take now"),
), "a limited submit-rate bucket as the rate check sees it")
_SB = SUBMIT_BUCKET.index
SB_LEVEL, SB_INDEX, SB_BUCKET, SB_COUNT = _SB["level"], _SB["index"], _SB["bucket"], _SB["count"]
SB_WINDOW, SB_AVAILABLE = _SB["window"], _SB["available"]
SB_COLS = len(SUBMIT_BUCKET.fields)
MARGIN_STATE = Record("margin_state", (
    Field("cash", "i8", "money units", "the account's cash (-1: none set, no buying-power check)"),
    Field("required", "i8", "money units", "the margin its positions and working orders need"),
    Field("computable", "i8", "", "1, or 0 when a symbol with exposure has no mark or the sum passes int64"),
), "an account's buying power as the risk core sees it")
_MS = MARGIN_STATE.index
MS_CASH, MS_REQUIRED, MS_COMPUTABLE = _MS["cash"], _MS["required"], _MS["computable"]
MS_COLS = len(MARGIN_STATE.fields)

# --- dedup entries (FIFO ring) -----------------------------------------------------------------------------
D_KEY = 0
D_EXPIRY = 1
D_TS = 2
D_REASON = 3
D_OID = 4
D_SEQ = 5
D_FP = 6  # the fingerprint of the request decided under the key (`decide._fingerprint`); 0: not known
N_D = 8

# --- risk checks of the house's own (`hft.gateway.risk_checks`): row 0 = count + the order view they read;
# row 1 + i = check i: the address of its C entry, its denial count, its parameters -----------------------
RC_COUNT = 0  # row 0: how many checks are installed
RC_VIEW = 4  # row 0: the order view (OV_* fields) from here
RC_ADDR = 0  # row 1 + i: C entry address (process-local: reinstalled after a snapshot restore)
RC_DENIALS = 1
RC_PARAMS = 4  # row 1 + i: parameters from here
MAX_RISK_CHECKS = 8
MAX_RISK_PARAMS = 16
N_RC = RC_PARAMS + MAX_RISK_PARAMS
# the order view a check reads (int64; ticks, lots, ns, registry indices)
OV_TS, OV_ACCOUNT, OV_STRATEGY, OV_SYMBOL, OV_SIDE, OV_PRICE, OV_QTY, OV_ORDER_TYPE = 0, 1, 2, 3, 4, 5, 6, 7
OV_REF_PX, OV_POSITION, OV_WORKING_BUY, OV_WORKING_SELL, OV_MULT = 8, 9, 10, 11, 12
N_OV = 16

# --- header ------------------------------------------------------------------------------------------------
H_MAGIC = 0
H_VERSION = 2  # the header word holding VERSION
H_BASE = 8
T_CFG, T_CTR, T_REASONS, T_LIM_DEF, T_LIM_ACCT, T_LIM_STRAT, T_LIM_SYM = 0, 1, 2, 3, 4, 5, 6
T_SYM, T_STRAT, T_ACCT, T_SLOT, T_SMAP, T_FREE, T_ORD, T_DDE, T_DDX = 7, 8, 9, 10, 11, 12, 13, 14, 15
T_RC = 16
N_TABLES = 17
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
    rc: np.ndarray


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
                        _v1(buf, T_FREE), _v2(buf, T_ORD), _v2(buf, T_DDE), _v2(buf, T_DDX), _v2(buf, T_RC))


class KState(types.Type):
    """What the kernels pass around: a reference to the arena (one machine word, its data pointer).

    ``st.b`` is the arena's data pointer (``CPointer(int64)``, indexed like the array, without negative-index
    wrap-around and without reference counting); the caller keeps the arena array alive. ``st.cfg``, ``st.ctr``,
    ... ``st.rc`` (`KSTATE_TABLES`) are the table offsets, read from the arena's header where they are used, so
    kernels address rows as ``b[st.table + row * row_width + field]``.

    Why a reference: numba passes a struct argument by value, field by field. A NamedTuple of 16 array views
    cost ~150 ns per *nested call* (each view copied and refcounted); the NamedTuple of the data pointer and the
    17 offsets that replaced it still pushed 18 words per call of the decision chain (a dozen calls per intent
    and report on the simulator's order path). One word and a load from the (cached) header where an offset is
    used cost less.
    """

    def __init__(self) -> None:
        super().__init__(name="hft.gateway.KState")


kstate_type = KState()
# the attribute names of the table offsets and their tables (`T_*`): ``st.ord`` is the offset of T_ORD
KSTATE_TABLES = {"cfg": T_CFG, "ctr": T_CTR, "reasons": T_REASONS, "lim_def": T_LIM_DEF, "lim_acct": T_LIM_ACCT,
                 "lim_strat": T_LIM_STRAT, "lim_sym": T_LIM_SYM, "sym": T_SYM, "strat": T_STRAT, "acct": T_ACCT,
                 "slot": T_SLOT, "smap": T_SMAP, "free": T_FREE, "ord": T_ORD, "dde": T_DDE, "ddx": T_DDX,
                 "rc": T_RC}


@register_model(KState)
class _KStateModel(models.StructModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, [("b", types.CPointer(types.int64))])


make_attribute_wrapper(KState, "b", "b")


def _offset_attr(name: str, t: int) -> None:
    @overload_attribute(KState, name, jit_options={"_nrt": False})
    def _get(st):
        def impl(st):
            return st.b[H_BASE + 3 * t]
        return impl


for _name, _t in KSTATE_TABLES.items():
    _offset_attr(_name, _t)


def _is_arena_type(arr: types.Type) -> bool:
    """The numba type of an arena: a 1-D C-contiguous int64 array (what `_data_ptr` / `_kstate` index as int64)."""
    return isinstance(arr, types.Array) and arr.dtype == types.int64 and arr.ndim == 1 and arr.layout == "C"


@intrinsic
def _data_ptr(typingctx, arr):
    """``_data_ptr(arr)``: the data pointer of a C-contiguous int64 array as ``CPointer(int64)``.

    Kernels index the arena through it: numba's array indexing wraps negative indices (compare, add and
    select on every access: hundreds of instructions per intent), pointer indexing does not. Every arena
    index in the kernels is non-negative by construction (table offset + row * width + field, rows checked).

    Preconditions (no bounds check can see a pointer read, not even ``NUMBA_BOUNDSCHECK=1``): `arr` is a
    C-contiguous int64 array kept alive by the caller for as long as the pointer is used; every index read or
    written through it is in ``[0, len(arr))``. For the arena that holds when its header is `new_arena`'s (or a
    snapshot's of the same layout: `same_layout`) and a row index is checked against its table before use:
    registry indices against ``C_N_*`` (`risk._registered`, the mark's ``y``), slot indices come from the slot
    map or an order row, order rows from ``id & (C_ORD_CAP - 1)``, dedup rows from the ring's head and count
    (``< C_DD_CAP``), hash buckets from ``& mask``."""
    if not _is_arena_type(arr):  # a typing error, not a pointer misread as int64
        return None

    def codegen(context, builder, signature, args):
        return context.make_array(signature.args[0])(context, builder, args[0]).data

    return types.CPointer(types.int64)(arr), codegen


@intrinsic
def _kstate(typingctx, arr):
    """``_kstate(buf)``: the kernels' reference to the arena `buf` (`KState`). Preconditions: those of `_data_ptr`
    (`buf` an arena, alive while the reference is used)."""
    if not _is_arena_type(arr):
        return None

    def codegen(context, builder, signature, args):
        st = cgutils.create_struct_proxy(kstate_type)(context, builder)
        st.b = context.make_array(signature.args[0])(context, builder, args[0]).data
        return st._getvalue()

    return kstate_type(arr), codegen


def _pow2_bits(n: int) -> int:
    bits = 1
    while (1 << bits) < n:
        bits += 1
    return bits


MAX_ARENA_BYTES = 16 << 30  # the largest gateway arena new_arena allocates


def new_arena(*, max_accounts: int, max_strategies: int, max_symbols: int, exposure_slots: int,
              working_orders: int, dedup_capacity: int, zero_dedup_rows: bool = True) -> np.ndarray:
    """Allocate and initialise an arena (all limits UNSET, all tables empty).

    `working_orders` is rounded up to a power of two (order ids index the order ring by ``id & (n - 1)``). The
    capacities' product stays below 2**62 (the exposure slot key, ``(a * max_strategies + t) * max_symbols + y``,
    then never overflows: `hft.gateway.config` refuses it too, this for arenas made in code).
    `zero_dedup_rows`: False leaves the dedup window's ring rows (4 MB at 65,536 keys) as the allocator gives
    them. The kernels read a row only while it holds a live entry, and an insert writes the whole row, so no
    decision depends on them; but the arena's bytes then hold whatever the process's memory held, so only an
    arena that never leaves the process (no snapshot: `GatewayService(private_arena=True)`) may skip them.
    """
    if max_accounts * max_strategies * max_symbols >= 1 << 62:  # exposure slot keys (a*max_strat+t)*max_sym+y fit
        raise ConfigError("capacity: expected max_accounts * max_strategies * max_symbols below 2**62, was "
                          f"{max_accounts * max_strategies * max_symbols}", key="capacity")
    ord_cap = 1 << _pow2_bits(max(working_orders, 2))
    dd_bits = _pow2_bits(max(2 * dedup_capacity, 2))
    sm_bits = _pow2_bits(max(2 * exposure_slots, 2))
    shapes = [
        (1, N_CFG), (1, N_CTR), (1, N_REASONS), (1, N_LIM),
        (max_accounts, N_LIM), (max_strategies, N_LIM), (max_symbols, N_LIM),
        (max_symbols, N_Y), (max_strategies, N_S), (max_accounts, N_A),
        (exposure_slots, N_Z), (1 << sm_bits, 2), (1, exposure_slots), (ord_cap, N_O),
        (dedup_capacity, N_D), (1 << dd_bits, 2), (1 + MAX_RISK_CHECKS, N_RC),
    ]
    total = HEADER
    offs = []
    for r, c in shapes:
        total = (total + 7) // 8 * 8  # 64-byte aligned tables
        offs.append(total)
        total += r * c
    if total * 8 > MAX_ARENA_BYTES:  # refused before allocating (a capacity typo would ask for terabytes)
        raise ConfigError(f"capacity: the gateway arena would take {total * 8 / 2**30:,.1f} GiB; expected at most "
                          f"{MAX_ARENA_BYTES / 2**30:g} GiB", key="capacity",
                          hint="lower capacity.max_working_orders / exposure_max_symbols / dedup.capacity")
    if zero_dedup_rows:
        buf = np.zeros(total, dtype=np.int64)  # numpy advises huge pages for large blocks itself
    else:  # everything but the ring's rows (a memset and a cache's worth of lines a simulated run never needs)
        buf = np.empty(total, dtype=np.int64)
        ring = offs[T_DDE]
        buf[:ring] = 0
        buf[ring + dedup_capacity * N_D:] = 0
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
    st.strat[:, S_SUB2_TS] = I64_MIN
    st.acct[:, A_SUB_TS] = I64_MIN
    st.acct[:, A_SUB2_TS] = I64_MIN
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




def same_layout(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether arenas `a` and `b` have the same layout: length, header (table offsets and shapes) and capacities.
    The kernels address every table through the header, so an arena copied into another (a snapshot restored)
    must have the layout the Python views and the registries were built for."""
    caps = [C_DD_CAP, C_DD_BITS, C_SLOT_CAP, C_SM_BITS, C_ORD_CAP, C_MAX_ACCT, C_MAX_STRAT, C_MAX_SYM]
    if a.shape != b.shape or a.dtype != b.dtype or len(a) < HEADER:
        return False
    if not np.array_equal(a[:HEADER], b[:HEADER]):
        return False
    o = int(a[H_BASE + 3 * T_CFG])
    return bool(np.array_equal(a[o:o + N_CFG][caps], b[o:o + N_CFG][caps]))
