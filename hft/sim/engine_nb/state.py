"""The numba engine's shared layout: wake codes, the int64 state row (``S_*``), the strategy's order view
(``SO_*``), intents, the kernel heap's rows (``H_*``) and the jit decorators every numba module of the engine uses
(`hft.sim.engine_nb`)."""

from __future__ import annotations

import numpy as np

from hft.core.jit import njit
from hft.core.orders import (
    COMMAND,
    DECISION,
    INTENT,
    INTENT_CANCEL,
    INTENT_NEW,
    OPT_DISPLAY,
    OPT_EXPIRE,
    OPT_OCO,
    OPT_PARENT,
    OPT_TRAIL,
    OPT_TRIGGER,
    OPTION_NAMES,
    VENUE_REPORT,
)
from hft.core.records import Field, Record
from hft.gateway import kernels as GK
from hft.sim.run_records import EQUITY, FILL_LOG, ORDER_LOG

# --- wake codes (kernel return values) ---------------------------------------------------------------------
W_END = 0  # no market item and no heap item left
W_BOUND = 1  # the next item is the heap's
W_BOOK = 2
W_TRADE = 3
W_FLAGS = 4
W_REPORTS = 5
W_LOCAL_FALLBACK = 6
W_EXCH_FALLBACK = 7
W_EQ_FULL = 8
W_CHUNK = 9
W_ERROR = 10
W_INTENTS = 11  # the strategy kernel wrote intents (st[S_NINT] rows of `intents`)
W_GROW = 12  # in-kernel order path: a buffer (heap, rows, order view, side map, venue buffers) needs room
W_RFLAGS = 13  # in-kernel order path: a report tripped the gateway (st[S_FLAGS]): Python runs its StormGuard
W_MONEY = 14  # in-kernel order path: a fill's money would not fit int64 (st[S_FLAGS]: `hft.sim.fees.MONEY_*`; the
# report is the kernel heap's first item, untouched): Python stops the run naming it (`hft.sim.fees.fill_refusal`)

# --- wake mask bits -----------------------------------------------------------------------------------------
WAKE_BOOK = 1
WAKE_TRADE = 2
WAKE_NAMES = ("book", "trade", "order", "timer")

# --- state row (int64) shared by the driver and the kernel ----------------------------------------------------
S_ILOC = 0  # next local market event
S_IEX = 1  # next exchange market event
S_NOW = 2  # clock (max of the times processed)
S_NEXT_SAMPLE = 3  # local time of the next equity sample
S_SAMPLE_NS = 4
S_NEQ = 5  # equity rows written
S_BT = 6  # bound: time and priority of the heap's first item (I64 max / 9: none)
S_BP = 7
S_WAKE = 8  # wake mask
S_STOP = 9  # return W_CHUNK before processing local event S_STOP (progress)
S_POS = 10  # position / cash / fees for equity rows
S_CASH = 11
S_FEES = 12
S_EV = 13  # the (merged) event index a wake refers to
S_T = 14  # its time
S_FLAGS = 15  # mark flags (W_FLAGS) / venue status (W_ERROR) / what did not fit (W_MONEY)
S_Y = 16  # the gateway's symbol index
S_HI = 17  # L2 venue: an upper bound of 1 + its last live order slot
S_FFRAC = 18  # the fees' millionths beyond S_FEES (`hft.sim.fees`: exact fees; the leg matrix's LM_FFRAC)
S_NORD = 19  # rows of the strategy's order mirror
S_NINT = 20  # intents the strategy kernel wrote (W_INTENTS)
S_SKID = 21  # the strategy kernel (`SK_*`; 0: the Python callbacks)
S_SPARAMS = 24  # st[24:32]: the strategy kernel's integer parameters
# the in-kernel order path (`NbEngine`, "In-kernel order path")
S_FAST = 32  # 1: intents, commands and reports run in the kernel
S_MODE = 33  # the gateway's policy mode
S_STORM_NEXT = 34  # the gateway's next StormGuard check: intents at or after it go to Python
S_KEY = 35  # the engine's idempotency-key counter
S_NENTRY = 36  # latency draws made (entry, response)
S_NRESP = 37
S_SEQ = 38  # the heap sequence counter, shared by the kernel heap and the Python heap
S_BS = 39  # sequence number of the Python heap's first item
S_NH = 40  # items in the kernel heap
S_ND = 41  # decision / order / fill rows written
S_NO = 42
S_NF = 43
S_ORD_CHANGED = 44  # the kernel changed the order view (Python rebuilds `live_orders` from it)
S_ACCT = 45  # the gateway's account and strategy indices
S_STRAT = 46
S_MULT = 47  # money factor of fills (hft.sim.fees: > 0 linear, < 0 inverse)
S_SKPTR = 48  # SK_EXTERNAL: the address of the strategy kernel's C entry (`strategy_kernels.c_entry`)
S_LEG = 49  # the leg of the strategy kernel's callback (several legs; S_POS is then that leg's position)
S_GLEG = 50  # in-kernel order path, W_GROW: the leg whose venue must grow (what: st[S_FLAGS])
S_RLEG = 51  # in-kernel order path, W_RFLAGS: 1 + the leg whose book rule a report asked for (0: none), for Python
# `mm` wrote no intent at its last book callback of a leg, with this bid, ask and position (`streams._book_rule`):
# until its inputs change, it writes none again. S_MMQ: bit k set = leg k's memo holds (one leg: 1); bit k is
# cleared when leg k's orders in the order view change, all bits at each kernel entry. One leg's bid, ask, position: S_MMB..S_MMP; several
# legs': the leg matrix's LM_MMB..LM_MMP
S_MMQ, S_MMB, S_MMA, S_MMP = 52, 53, 54, 55
# a kernel with the full context (in the loop): the realised PnL of `acct[AC_REAL]`, `hft.sim.fees.realized_after`'s
# state: the fill rows folded (in-kernel order path: `frows`), then the position, cost basis, realised PnL and fee
# millionths owed at average cost (`hft.sim.fees.realized_fill`), exact (the loop rounds them); several legs keep the
# last four per leg (`LM_RPOS`...) and fold each row into its order's leg; when Python books the fills, the driver
# writes them from the same rule folded over them (S_RN stays 0)
S_RN, S_RPOS, S_RCOST, S_RREAL, S_ROWED = 56, 57, 58, 59, 60
S_CMD_AT = 61  # the venue arrival time of the last command sent: the next arrives no earlier (one session, in order)
N_STATE = 64
# the leg matrix (int64 [legs, LM_COLS]): each leg's accounting, symbol index and L2 live-slot bound, read by the loop
# kernels at the columns below. One leg's matrix is the state row's st[S_POS:S_POS + LM_COLS] seen as [1, LM_COLS]
# (the same memory: `S_POS` ... `S_HI` are that leg's), so a single-instrument run reads and writes what it always did.
LM_POS, LM_CASH, LM_FEES, LM_FFRAC = S_POS - S_POS, S_CASH - S_POS, S_FEES - S_POS, S_FFRAC - S_POS
LM_Y = S_Y - S_POS
LM_HI = S_HI - S_POS
LM_MULT = 3  # several legs only: the leg's money factor of fills (one leg: st[S_MULT]; this column is S_EV there)
LM_COLS = 9
LM_MMB, LM_MMA, LM_MMP = 9, 10, 11  # several legs only: leg k's `mm` memo (S_MMQ bit k); one leg: S_MMB..S_MMP
# several legs only: leg k's realised-PnL state of a kernel with the full context (position, cost basis, realised PnL,
# fee millionths owed: as S_RPOS..S_ROWED of one leg, whose fold cursor S_RN every leg shares)
LM_RPOS, LM_RCOST, LM_RREAL, LM_ROWED = 12, 13, 14, 15
LM_COLS_LEGS = 16  # the leg matrix's columns on several legs
# the event matrix's rows: 0 the local time of the j-th local event (the strategy's stream, `legs.local_stream`),
# 1 exch_ts, 2 the venue's clock (its running maximum, `venue_times`), 3.. kind, side, price, qty, order_id, flags;
# several legs add the leg of each event and its index in that leg's own stream (its reference row), and the
# merged index of the j-th local event (`EVM_AT`: the local stream's order differs from the exchange stream's; one
# leg's local event j is event j)
EVM_ROWS = 9
EVM_LEG, EVM_OWN, EVM_AT = 9, 10, 11
EVM_ROWS_LEGS = 12

# --- strategy kernels ---------------------------------------------------------------------------------------
SK_NONE = 0
SK_MM = 1  # hft.sim.strategies.mm.MarketMaker
SK_EXTERNAL = 2  # a kernel from outside the package, called through its C entry at st[S_SKPTR]
SK_HEDGED_MM = 3  # hft.sim.strategies.hedged_mm.HedgedMarketMaker (several legs)
SK_CONTEXT = 4  # an external kernel with the full context (seven arguments), through its C entry at st[S_SKPTR]
# the strategy's view of its orders (`Engine.live_orders`, insertion order): one row per order, with its leg and,
# for a kernel with the full context only, the lots ahead of it in its venue queue (filled before each call)
SO_ID, SO_SIDE, SO_PRICE, SO_LEAVES, SO_STATUS, SO_QTY, SO_LEG, SO_QUEUE = range(8)
SO_COLS = 8
# --- the full context of a strategy kernel (`hft.sim.kernel_api`), filled only for a kernel that takes it ----------
# depth: int64 [depth_levels, DP_COLS], level i of each side in row i (best first; NO_PRICE and 0 past the book)
DP_BID, DP_BID_QTY, DP_ASK, DP_ASK_QTY = range(4)
DP_COLS = 4
# trades: int64 [trade_history, TR_COLS], the last prints oldest first (acct[AC_NTRADES] rows hold one)
TR_TS, TR_SIDE, TR_PRICE, TR_QTY = range(4)
TR_COLS = 4
# acct: int64 [AC_COLS]: position (lots), cash and fees (money units, rounded once as `Context.cash` / `.fees`),
# twice the local mid (NO_PRICE when a side is empty), the rows of `trades` in use, the local time (ns), the PnL
# (money units: `Context.pnl` exact, rounded once, `hft.sim.fees.mark_pnl`; the cash alone without a mid), the realised
# PnL (money units: `Context.realized_pnl`, at average cost net of fees, rounded once: `hft.sim.fees.realized_fill`)
AC_POS, AC_CASH, AC_FEES, AC_MID2, AC_NTRADES, AC_NOW, AC_PNL, AC_REAL = range(8)
AC_COLS = 8
SO_STATUS_NAMES = ("pending_new", "working", "pending_cancel", "pending_replace")
SO_STATUS_CODES = {"pending_new": 0, "working": 1, "pending_cancel": 2, "pending_replace": 3}
# intents a strategy kernel writes (executed in order through `GatewayService.process` by the driver): int64 rows
# ``[MAX_INTENTS, IN_COLS]``, one per intent, of the intent record's fields (`INTENT`: its kind, IN_SUBMIT a new
# order, IN_CANCEL a cancel; side, price, qty; the order a cancel targets) and the leg, then the order type and
# TIF (0: the defaults, a GTC limit order), then a new order's optional fields (`hft.core.orders.ORDER_OPTIONS`: a
# stop's trigger, a GTD order's expiry, an iceberg's display; 0: none). The columns `IN_*` are derived from
# `KERNEL_INTENT`; users' kernels write the first five by number (docs/extending.md, `hft.sim.kernel_api`) and the
# order type, TIF and options by name: their order is an API, a field is only appended. The kinds are the
# intent record's codes (1, 2: users' kernels may have them as numbers too).
IN_SUBMIT, IN_CANCEL = INTENT_NEW, INTENT_CANCEL
MAX_INTENTS = 8
_LEG = Field("leg", "i8", "index", "the leg of the intent's symbol")
KERNEL_INTENT = INTENT.layout("kernel_intent", (
    "kind", "side", "price", "qty", "order_id", "leg", "order_type", "tif", *OPTION_NAMES), (_LEG,),
    "an intent row of a strategy kernel (order_type / tif 0: the defaults, a GTC limit order; options 0: none)")
_IN = KERNEL_INTENT.index
IN_KIND, IN_SIDE, IN_PRICE, IN_QTY, IN_ORDER_ID = _IN["kind"], _IN["side"], _IN["price"], _IN["qty"], _IN["order_id"]
IN_LEG, IN_ORDER_TYPE, IN_TIF = _IN["leg"], _IN["order_type"], _IN["tif"]
IN_OPT = _IN[OPTION_NAMES[0]]  # the options' first column; in `OPTION_NAMES` order from there
IN_TRIGGER, IN_EXPIRE, IN_DISPLAY = IN_OPT + OPT_TRIGGER, IN_OPT + OPT_EXPIRE, IN_OPT + OPT_DISPLAY
IN_TRAIL, IN_OCO, IN_PARENT = IN_OPT + OPT_TRAIL, IN_OPT + OPT_OCO, IN_OPT + OPT_PARENT
IN_COLS = len(KERNEL_INTENT.fields)
# kernel heap rows: a head (time, priority, sequence, item type), then the item's payload: a command on its way to
# the venue (IT_CMD: `HEAP_CMD`, fields of the command record) or a venue report on its way back (IT_REP:
# `HEAP_REP`, every field of the venue report record in order). The columns are derived from these declarations;
# `order_path.heap_push_cmd` / `heap_push_rep` take the payload's fields by their names (a test checks their
# parameters against the declarations), so a field added to the venue report widens the heap by itself.
HEAP_HEAD = Record("heap_head", (
    Field("t", "time", "ns", "when the item is due (venue time of a command's arrival, local time of a report's)"),
    Field("prio", "i8", "code", "the tie-break of items due at one time (`hft.sim.run_events.PRI_*`)"),
    Field("seq", "i8", "count", "the shared heap sequence number (st[S_SEQ])"),
    Field("type", "i8", "code", "IT_CMD or IT_REP"),
), "the head of a kernel heap row")
HEAP_CMD = COMMAND.layout("heap_cmd", ("action", "order_id", "side", "price", "qty", "order_type", "tif",
                                       *OPTION_NAMES),
                          doc="a command in the kernel heap (the payload of an IT_CMD row; its optional fields last)")
HEAP_REP = VENUE_REPORT.layout("heap_rep", VENUE_REPORT.names, doc="a venue report in the kernel heap (IT_REP)")
_HH = HEAP_HEAD.index
H_T, H_P, H_SEQ, H_TYPE = _HH["t"], _HH["prio"], _HH["seq"], _HH["type"]
H_PAY = len(HEAP_HEAD.fields)  # the payload's first column
H_COLS = H_PAY + max(len(HEAP_CMD.fields), len(HEAP_REP.fields))
_HC = {n: H_PAY + i for n, i in HEAP_CMD.index.items()}
HC_ACTION, HC_OID, HC_SIDE, HC_PRICE = _HC["action"], _HC["order_id"], _HC["side"], _HC["price"]
HC_QTY, HC_ORDER_TYPE, HC_TIF = _HC["qty"], _HC["order_type"], _HC["tif"]
HC_OPT = _HC[OPTION_NAMES[0]]  # a command's optional fields (`hft.core.orders.order_options`), from here in order
HC_TRIGGER, HC_EXPIRE, HC_DISPLAY = HC_OPT + OPT_TRIGGER, HC_OPT + OPT_EXPIRE, HC_OPT + OPT_DISPLAY
HC_TRAIL, HC_OCO, HC_PARENT = HC_OPT + OPT_TRAIL, HC_OPT + OPT_OCO, HC_OPT + OPT_PARENT
_HR = {n: H_PAY + i for n, i in HEAP_REP.index.items()}
HR_TS, HR_OID, HR_PRICE, HR_QTY, HR_LEAVES = _HR["ts"], _HR["order_id"], _HR["price"], _HR["qty"], _HR["leaves"]
HR_FEE, HR_FEE_FRAC, HR_KIND, HR_LIQ, HR_QUEUE = (_HR["fee"], _HR["fee_frac"], _HR["kind"], _HR["liquidity"],
                                                  _HR["queue"])
IT_CMD, IT_REP = 1, 2
# rows the kernel writes: decisions (`DECISION_ROW`: fields of the decision record, the gateway core's answer code
# and the leg of its symbol), orders and fills (the fields of `hft.sim.engine.ORDER_LOG` / `FILL_LOG` in order, as
# int64 columns: `Engine._order_rows` / `Engine._fill_rows`)
DECISION_ROW = DECISION.layout("decision_row", (
    "seq", "ts", "key", "kind", "side", "price", "qty", "order_type", "tif", "target_id", "code", "order_id", "leg"),
    (Field("code", "i8", "code", "the core's answer: reason | DUP_FLAG (accepted: reason 0)"), _LEG),
    "a decision row of the numba engine")
_D = DECISION_ROW.index
D_SEQ, D_TS, D_KEY, D_KIND, D_SIDE = _D["seq"], _D["ts"], _D["key"], _D["kind"], _D["side"]
D_PRICE, D_QTY, D_ORDER_TYPE, D_TIF = _D["price"], _D["qty"], _D["order_type"], _D["tif"]
D_TARGET, D_CODE, D_OID, D_LEG = _D["target_id"], _D["code"], _D["order_id"], _D["leg"]
D_COLS = len(DECISION_ROW.fields)
O_COLS, F_COLS = len(ORDER_LOG.fields), len(FILL_LOG.fields)
# the order and fill rows' columns (their logs' fields, in order; `OR_` / `FR_`: the L2 venue's order table has `O_`)
_O, _F = ORDER_LOG.index, FILL_LOG.index
OR_TS, OR_OID, OR_PRICE, OR_QTY = _O["ts"], _O["order_id"], _O["price"], _O["qty"]
OR_ACTION, OR_SIDE, OR_ORDER_TYPE, OR_TIF = _O["action"], _O["side"], _O["order_type"], _O["tif"]
FR_TS, FR_LOCAL_TS, FR_OID, FR_PRICE, FR_QTY = _F["ts"], _F["local_ts"], _F["order_id"], _F["price"], _F["qty"]
FR_LEAVES, FR_FEE, FR_FEE_FRAC, FR_SIDE, FR_KIND, FR_LIQ = (_F["leaves"], _F["fee"], _F["fee_frac"], _F["side"],
                                                            _F["kind"], _F["liquidity"])

# per order id (`order_info`, rows indexed by order id): side (0: not ours), the local time its ACK arrived, its
# queue ahead at entry (lots; -1: never rested), its leg: `Engine._side_of`, `Engine._acks`, `Engine._leg_of`
OI_SIDE, OI_ACK_TS, OI_QUEUE, OI_LEG = 0, 1, 2, 3
OI_COLS = 4

EQ_COLS = len(EQUITY.fields)  # the equity log as int64 columns (`hft.sim.engine.EQUITY`: its fields are int64)
_E = EQUITY.index
EQ_TS, EQ_MID2, EQ_POSITION, EQ_CASH = _E["ts"], _E["mid2"], _E["position"], _E["cash"]
EQ_FEES, EQ_FEE_FRAC, EQ_BID, EQ_ASK = _E["fees"], _E["fee_frac"], _E["bid"], _E["ask"]
_I64_MAX = np.iinfo(np.int64).max
_NO_ROWS = np.zeros((0, 4), dtype=np.int64)  # no reference rows (a global: a constant array inside the kernels)
_STORM = GK.F_LOSS_BREACH | GK.F_MARKET_MOVE


# ======================================================================= jit decorators
# The kernels run without numba's reference counting (`_nrt=False`): they allocate nothing, and every array they
# touch is owned by the Python driver for the whole call. With it, the merged loop spent over half its time in
# NRT_incref / NRT_decref (atomic) on the arrays its helpers pass around (perf, Binance day: 111 -> 51 ms).
_kernel = njit(cache=True, _nrt=False)
# The loop kernels' helpers (`hft.core.jit.helper`): each compiled as a subroutine of its callers and inlined by LLVM
# at every call site (LLVM's ``alwaysinline``), so the hot loop works on plain arrays with no call in between (a call
# passes every array as ~7 machine words: ~100 words for the order path's steps). Numba's own inlining
# (``inline="always"``) would type a copy of the helper, and of all it inlines, at every call site of every loop
# specialisation: most of a cold compile. No reference counting either: a helper compiled with it would count
# references its caller never releases; for the same reason a helper that returns arrays (`_local_leg`,
# `_venue_l2_leg`) is called from kernels without reference counting only.

