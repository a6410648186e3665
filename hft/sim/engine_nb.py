"""The numba replay engine: the market streams of `hft.sim.engine` advanced in one kernel, Python only at wakes.

`NbEngine` is a drop-in `Engine` (same constructor, same `run`, same `RunOutput`) that produces the *same*
outputs — decisions, orders, fills, equity series, final position / cash / fees and therefore the same run
hash — as the Python reference engine for the same inputs (``tests/unit/sim/test_engine_nb.py`` proves it on
generated and scripted streams, both venues, every latency / queue model, and on the goldens).

How the work is split
---------------------
The merged clock of `hft.sim.engine` has five prioritised streams (local market data, local order responses,
timers, exchange market data, exchange order arrivals; tie order in that module). Market data and the equity
sampler live here, in numba:

* local market data — the strategy's L2 view (`hft.book.l2_view.local_apply`; with reference rows, LOBSTER
  data with ``l3_resync`` on, `hft.book.l2_view.set_row_arrays`: the view becomes row i at local event i, in
  `run_l3`), the top-of-book snapshot at each complete message (``FLAG_EOM``) and the gateway
  mark-to-market on a touch change (the gateway's own `hft.gateway.kernels.mark` on its arena, exactly what
  `GatewayService.mark` runs);
* exchange market data — the venue's book and matching (`hft.sim.exchange_l2.step` /
  `hft.sim.exchange_l3.market_step`, the same kernels the Python venues call; on LOBSTER data the L3 venue's
  reference resync runs inside `market_step`, with the venue's reference rows as a kernel argument);
* the equity sampler (every ``sample_ns`` of local time, the timer priority).

What stays in Python (unless the in-kernel order path below is on) is what belongs to the gateway and the
strategy: the in-flight heap (commands travelling to the venue, reports travelling back, strategy timers),
`GatewayService.process` / `on_execution_report`, latency draws (their counters) and the strategy callbacks.
The kernel runs the market streams in clock order until the next heap item ``(t, prio)`` (the *bound*: ties go
to the market streams, exactly as the reference loop) or until a **wake point** — something only Python can do:

==================== =================================================================================
wake                 Python then
==================== =================================================================================
``W_BOUND``          pops the heap item (command to the venue, report to gateway and strategy, timer)
``W_BOOK``           ``strategy.on_book`` (the local book changed; only if the strategy wakes on "book")
``W_TRADE``          ``strategy.on_trade`` then, at end of message, the top refresh and ``on_book``
``W_FLAGS``          the gateway's StormGuard flags of a mark (loss / market move), then ``on_book``
``W_REPORTS``        schedules the venue reports an exchange event produced (response latency draws)
``W_*_FALLBACK``     the event needs an allocation (book growth, bigger report buffer): Python applies it
                     through the reference code path, which grows and retries
``W_INTENTS``        sends the intents a strategy kernel wrote, in order, through `GatewayService.process`
``W_EQ_FULL``        grows the equity buffer; ``W_CHUNK``: progress callback (only with a progress bar)
``W_GROW``           in-kernel order path: grows its heap / rows / order view / side map (item retried)
``W_RFLAGS``         in-kernel order path: a report tripped the gateway; its StormGuard runs (Python)
==================== =================================================================================

A strategy states what wakes it with a ``wakes`` attribute (a subset of ``("book", "trade", "order",
"timer")``); when it does not, the callbacks it overrides decide (`strategy_wakes`), so a timer-only or
order-only strategy lets the kernel run long stretches, and a strategy with no callbacks (or no strategy:
pure replay) runs the whole day in one kernel call. Reports always reach the gateway and ``on_order_update``
(through the heap); ``timer`` decides whether the strategy's timer runs at all.

Strategy kernels: a strategy with ``nb_kernel`` (a name in `STRATEGY_KERNELS`) and ``nb_params()`` has its
book callback run inside the loop as an njit kernel (`strategy_on_book`; `mm_on_book` for `mm`) that reads the
local top, the position, its parameters and its order view (`Engine.live_orders`, mirrored by the driver) and
writes intents; Python wakes only when there are intents, and sends them exactly as the Python callback would
(docs/sim.md, "Numba strategy kernel API"). ``strategy_kernels = False`` on the engine forces the callback.

On the L2 venue, exchange events that provably change nothing (a depth update away from our orders that crosses
none of them with nothing consumed; a trade no passive order of ours is at or behind) skip the venue step call.

Exchange fast-forward (L2 venue): while no order of ours rests at the venue, nothing is consumed and the
strategy wakes on no market data, the exchange items before the next heap item only move the venue's book, which
nothing reads before that item; the kernel applies them first in one tight loop. The reference's clock after
exchange item i is ``max(exch_ts[:i+1])`` (exchange times need not be sorted; Binance's are not), which the
kernel uses for the final clock and for the "data left" test of samples.

The driver calls the kernels' compiled entry point directly (`NbEngine._entry`), with the argument tuple
rebuilt only when an array is replaced (growth): the dispatcher's type resolution of ~20 arguments cost several
µs per wake.

In-kernel order path (``NbEngine.in_kernel_orders``, on when eligible): with a strategy kernel that is the
strategy's only callback (wakes exactly ``{"book"}``), the L2 venue, the gateway's metrics timing off and no
extra record sink, the order side runs in the loop too. A second heap in numba (`heap_push`, rows of
time / priority / sequence / item) holds commands and reports in flight; its sequence counter is shared with the
Python heap (``st[S_SEQ]``), so items from either heap come out in the reference's ``(t, prio, seq)`` order. At
an end of message the strategy kernel's intents go through the gateway's numba core (`kernels.process_one`,
what `GatewayService.process` calls) with the engine's idempotency keys, the entry latency draw
(`hft.sim.latency.latency_ns`, the same per-model draw counter) and the command pushed on the heap; a command
item runs the venue's `step` and schedules its reports with response latency draws; a report item runs the
gateway's `kernels.apply_report`, the position / cash / fee accounting, the fill row and the strategy's order
view (`sord`, which is then the truth; Python rebuilds ``live_orders`` from it). Decisions, orders and fills are
int64 rows; the run's logs are built from them after the loop (the gateway's `Decision` records lazily, for
the store). Python still does what only it can: the StormGuard (``W_RFLAGS`` when a report trips it; intents at
or after the guard's next check go to Python's `process`), growth (``W_GROW``: nothing is half done, the item is
retried), fallbacks of the market streams. Whatever Python sends meanwhile (a fallback path's intents, the
gateway's own commands) goes onto the same heap and rows, and the decision marks recorded after each kernel
call put Python's decisions back in their place. The tests run every engine pair on the same streams
(``tests/unit/sim/test_engine_nb.py``: reference, numba with and without the in-kernel path, and with buffers
that run out of room mid-call).

Equality with the reference rests on three facts, each checked by the tests: (1) the kernel processes market
items (and, on the in-kernel path, its own heap's items) in the reference's order and stops before any Python
heap item that the reference would pop first; (2) the Python state the kernel reads (position, cash, fees for
the equity rows) changes only at heap items, which are either Python's (the kernel stops before them) or the
kernel's own; (3) equity samples do not change any state, so moving them from the heap into the kernel (where
their order relative to a strategy timer at the same instant may differ) changes nothing.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Sequence

import numpy as np
from numba import njit

from hft.book.l2 import (
    L2_NEGATIVE_QTY,
    L2_OK,
    S_ASK_BASE,
    S_BEST_ASK,
    S_BEST_BID,
    S_BID_BASE,
    S_N_ASK,
    S_N_BID,
    _clear_arrays,
    _set,
)
from hft.book.l2_view import set_row_arrays
from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_CLEAR,
    EV_DELETE,
    EV_EXEC,
    EV_HIDDEN_EXEC,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TRADE,
    FLAG_EOM,
    NO_PRICE,
    SELL,
)
from hft.core.errors import SimError
from hft.core.orders import (
    INTENT_CANCEL,
    INTENT_NEW,
    ORDER_LIMIT,
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    TIF_GTC,
)
from hft.gateway import kernels as GK
from hft.gateway.intents import TypedIntentEnvelope, typed_intent_v1
from hft.sim.engine import (
    DECISION_LOG_DTYPE,
    EQUITY_DTYPE,
    P_EXCH_ARRIVAL,
    P_EXCH_MD,
    P_LOCAL_MD,
    P_LOCAL_RESP,
    P_TIMER,
    Engine,
    RunOutput,
)
from hft.sim.exchange_l2 import (
    O_LIVE,
    O_PRICE,
    O_SIDE,
    OP_CANCEL,
    OP_CLEAR,
    OP_DEPTH,
    OP_NEW,
    OP_REPLACE,
    OP_TRADE,
    V_OK,
    step,
)
from hft.sim.exchange_l3 import V_BAD_ID, V_NEED_LEVELS, V_NEED_ORDERS, market_step, out_need
from hft.sim.latency import feed_local_times, latency_ns
from hft.sim.strategy import OrderState, Strategy
from hft.sim.venue_common import P_NCONS, P_NREP

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
S_EV = 13  # the event index a wake refers to
S_T = 14  # its time
S_FLAGS = 15  # mark flags (W_FLAGS) / venue status (W_ERROR)
S_Y = 16  # the gateway's symbol index
S_HI = 17  # L2 venue: an upper bound of 1 + its last live order slot
S_SKID = 18  # the strategy kernel (`SK_*`; 0: the Python callbacks)
S_NORD = 19  # rows of the strategy's order mirror
S_NINT = 20  # intents the strategy kernel wrote (W_INTENTS)
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
S_MULT = 47  # money multiplier (cash of fills)
N_STATE = 64

# --- strategy kernels ---------------------------------------------------------------------------------------
SK_NONE = 0
SK_MM = 1  # hft.sim.strategies.mm.MarketMaker
# the strategy's view of its orders (`Engine.live_orders`, insertion order): one row per order
SO_ID, SO_SIDE, SO_PRICE, SO_LEAVES, SO_STATUS, SO_QTY = range(6)
SO_COLS = 6
SO_STATUS_NAMES = ("pending_new", "working", "pending_cancel", "pending_replace")
SO_STATUS_CODES = {"pending_new": 0, "working": 1, "pending_cancel": 2, "pending_replace": 3}
# intents a strategy kernel writes (executed in order through `GatewayService.process` by the driver)
IN_SUBMIT, IN_CANCEL = 1, 2
MAX_INTENTS = 8
# kernel heap rows: time, priority, sequence, item type, payload (IT_CMD: action, order id, side, price, qty,
# order type, TIF; IT_REP: the venue report's ts, order id, price, qty, leaves, fee, kind, liquidity)
H_T, H_P, H_SEQ, H_TYPE, H_PAY = 0, 1, 2, 3, 4
H_COLS = 12
IT_CMD, IT_REP = 1, 2
# rows the kernel writes: decisions (seq, ts, key, kind, side, price, qty, order type, tif, target, code, order
# id), orders (`Engine._order_rows` layout) and fills (`Engine._fill_rows` layout)
D_COLS, O_COLS, F_COLS = 12, 8, 10

EQ_COLS = 7  # ts, mid2, position, cash, fees, bid, ask (EQUITY_DTYPE order)
_I64_MAX = np.iinfo(np.int64).max
_NO_ROWS = np.zeros((0, 4), dtype=np.int64)  # no reference rows (a global: a constant array inside the kernels)
_STORM = GK.F_LOSS_BREACH | GK.F_MARKET_MOVE


def strategy_wakes(strategy: Strategy) -> frozenset[str]:
    """What wakes `strategy`: its ``wakes`` attribute, else the callbacks it overrides (and ``timer`` when
    ``timer_ns > 0``). A callback outside this set is never called by `NbEngine`."""
    declared = getattr(strategy, "wakes", None)
    if declared is not None:
        bad = sorted(set(declared) - set(WAKE_NAMES))
        if bad:
            raise SimError(f"strategy wakes: expected a subset of {list(WAKE_NAMES)}, was {bad}")
        return frozenset(declared)
    cls = type(strategy)
    out = {name for name, meth in (("book", "on_book"), ("trade", "on_trade"), ("order", "on_order_update"))
           if getattr(cls, meth) is not getattr(Strategy, meth)}
    if strategy.timer_ns > 0:
        out.add("timer")
    return frozenset(out)


# ======================================================================= kernels
# Helpers are inlined into the two loop kernels (`inline="always"`): numba passes every array as several machine
# words and a NamedTuple of arrays costs a reference-count round trip per member per call (see hft/book/l2.py),
# so the hot loop unpacks the books once per call and works on plain arrays with the books' own kernels.
_inline = njit(cache=True, inline="always")
# The kernels run without numba's reference counting (`_nrt=False`): they allocate nothing, and every array they
# touch is owned by the Python driver for the whole call. With it, the merged loop spent over half its time in
# NRT_incref / NRT_decref (atomic) on the arrays its inlined helpers pass around (perf, Binance day: 111 -> 51 ms).
_kernel = njit(cache=True, _nrt=False)
# The book's level kernel, inlined at each call site (the same source as `hft.book.l2._set`): a call that passes
# five arrays costs ~20-40 ns, and LLVM stops inlining `_set` once it has several call sites.
_set_i = njit(inline="always")(_set.py_func)
# the local view := reference row (Engine._local_row), inlined into `run_l3` (same source as the Python engine's)
_set_row_i = njit(inline="always")(set_row_arrays.py_func)


@_inline
def _before(t1, p1, t2, p2) -> bool:
    return t1 < t2 or (t1 == t2 and p1 < p2)


@_inline
def _qty_at(bq, aq, st, side, price) -> int:
    """`hft.book.l2.level_qty` on the unpacked arrays (BUY: bids, anything else: asks; 0 outside the range)."""
    if side == BUY:
        i = price - st[S_BID_BASE]
        return bq[i] if 0 <= i < bq.shape[0] else 0
    i = price - st[S_ASK_BASE]
    return aq[i] if 0 <= i < aq.shape[0] else 0


@_inline
def _local_apply(bq, aq, bb, ab, st, kind, side, price, qty, is_l3, top) -> int:
    """`hft.book.l2_view.local_apply` on the unpacked arrays (same kernels, same statuses), without the top
    refresh (`_top_now`)."""
    if is_l3 and (kind == EV_ADD or kind == EV_CANCEL or kind == EV_DELETE or kind == EV_EXEC):
        cur = _qty_at(bq, aq, st, side, price)
        new = cur + qty if kind == EV_ADD else cur - qty
        status = _set_i(bq, aq, bb, ab, st, side, price, new if new > 0 else 0)
    elif kind == EV_LEVEL_SET or kind == EV_SNAPSHOT_LEVEL:
        status = L2_NEGATIVE_QTY if qty < 0 else _set_i(bq, aq, bb, ab, st, side, price, qty)
    elif kind == EV_CLEAR:
        status = _clear_arrays(bq, aq, bb, ab, st, side)
    else:
        status = L2_OK
    return status


@_inline
def _top_now(bq, aq, st, top) -> None:
    """``top`` = [best bid, qty, best ask, qty] of the local view, as `local_apply` leaves it after each event.
    The loop computes it only where it is read: at an end of message, before a trade wake, and on return."""
    b = st[S_BEST_BID]
    a = st[S_BEST_ASK]
    top[0] = b
    top[1] = _qty_at(bq, aq, st, BUY, b) if b != NO_PRICE else 0
    top[2] = a
    top[3] = _qty_at(bq, aq, st, SELL, a) if a != NO_PRICE else 0


@_inline
def _refresh(top, ltop, arena, y, now) -> int:
    """The strategy's top snapshot at end of message; marks the gateway on a touch change (`Engine._refresh_top`)."""
    b = top[0]
    a = top[2]
    if b == ltop[0] and top[1] == ltop[1] and a == ltop[2] and top[3] == ltop[3]:
        return 0
    flags = 0
    if (b != ltop[0] or a != ltop[2]) and b != NO_PRICE and a != NO_PRICE:
        flags = GK.mark(arena, y, (b + a) // 2, now)
    ltop[0] = b
    ltop[1] = top[1]
    ltop[2] = a
    ltop[3] = top[3]
    return flags


@_inline
def _sample(st, ltop, eq, ne, now) -> bool:
    """Equity row `ne` at `now` (`Engine._sample`); False when `eq` is full."""
    if ne >= eq.shape[0]:
        return False
    b = ltop[0]
    a = ltop[2]
    eq[ne, 0] = now
    eq[ne, 1] = b + a if (b != NO_PRICE and a != NO_PRICE) else 0
    eq[ne, 2] = st[S_POS]
    eq[ne, 3] = st[S_CASH]
    eq[ne, 4] = st[S_FEES]
    eq[ne, 5] = b if b != NO_PRICE else 0
    eq[ne, 6] = a if a != NO_PRICE else 0
    return True


@_kernel
def _mm_side(st, side, j, want, pos, sord, intents, n) -> int:
    if j < 0:
        room = st[S_SPARAMS + 1] - side * pos
        if room > 0:
            intents[n, 0] = IN_SUBMIT
            intents[n, 1] = side
            intents[n, 2] = want
            intents[n, 3] = min(st[S_SPARAMS], room)
            intents[n, 4] = 0
            return n + 1
    elif sord[j, SO_STATUS] == 1 and sord[j, SO_PRICE] != want:
        intents[n, 0] = IN_CANCEL
        intents[n, 1] = 0
        intents[n, 2] = 0
        intents[n, 3] = 0
        intents[n, 4] = sord[j, SO_ID]
        return n + 1
    return n


@_kernel
def mm_on_book(st, ltop, sord, intents) -> int:
    """`MarketMaker.on_book` as a strategy kernel (same rules, same intents in the same order); parameters in
    ``st[S_SPARAMS:]``: size, max_position, edge_ticks, skew_ticks_per_lot."""
    bid = ltop[0]
    ask = ltop[2]
    if bid == NO_PRICE or ask == NO_PRICE:
        return 0
    pos = st[S_POS]
    skew = pos * st[S_SPARAMS + 3]
    edge = st[S_SPARAMS + 2]
    hb = -1
    hs = -1
    for j in range(st[S_NORD]):  # one order per side at most; the last one seen wins
        if sord[j, SO_SIDE] == BUY:
            hb = j
        elif sord[j, SO_SIDE] == SELL:
            hs = j
    n = _mm_side(st, BUY, hb, min(bid - edge - skew, ask - 1), pos, sord, intents, 0)
    return _mm_side(st, SELL, hs, max(ask + edge - skew, bid + 1), pos, sord, intents, n)


@_kernel
def strategy_on_book(st, ltop, sord, intents) -> int:
    """The strategy kernel registered under ``st[S_SKID]``: writes intents, returns their count."""
    if st[S_SKID] == SK_MM:
        return mm_on_book(st, ltop, sord, intents)
    return 0


@_inline
def _local(st, i, kind, side, price, qty, flags, lbq, laq, lbb, lab, lst, top, ltop, is_l3, arena, wake, y,
           now, sord, intents, lref) -> int:
    """One local market event (`Engine._apply_local`); -1 when done without a wake, else the wake code
    (`W_LOCAL_FALLBACK`: nothing applied). With reference rows (`lref` has rows) the view becomes row `i`."""
    k = kind[i]
    if lref.shape[0] > 0:
        if _set_row_i(lbq, laq, lbb, lab, lst, lref, i, i > 0) != L2_OK:
            return W_LOCAL_FALLBACK  # a row price outside the view's range: Python grows it (nothing applied)
    elif _local_apply(lbq, laq, lbb, lab, lst, k, side[i], price[i], qty[i], is_l3, top) != L2_OK:
        return W_LOCAL_FALLBACK
    if (k == EV_TRADE or k == EV_EXEC or k == EV_HIDDEN_EXEC) and (wake & WAKE_TRADE) != 0:
        return W_TRADE  # the loop refreshes `top` on return
    if flags[i] & FLAG_EOM:
        _top_now(lbq, laq, lst, top)
        fl = _refresh(top, ltop, arena, y, now)
        if fl & _STORM:
            st[S_FLAGS] = fl
            return W_FLAGS
        if st[S_SKID] != SK_NONE:
            ni = strategy_on_book(st, ltop, sord, intents)
            if ni > 0:
                st[S_NINT] = ni
                return W_INTENTS
        if wake & WAKE_BOOK:
            return W_BOOK
    return -1


@_kernel
def _live_hi(orders, bound) -> int:
    """1 + the last live slot of the L2 venue's order table, searched below `bound` (the driver keeps it an
    upper bound: a new order takes the lowest free slot, so each NEW can raise it by one at most)."""
    j = min(bound, orders.shape[0]) - 1
    while j >= 0 and orders[j, O_LIVE] != 1:
        j -= 1
    return j + 1


@_inline
def _depth_is_noop(vorders, hi, vst, s, p) -> bool:
    """With nothing consumed: does `step(OP_DEPTH)` at (s, p) change nothing? (no order of ours at that level,
    none crossed by the best prices, which are the effective best prices when nothing is consumed)"""
    bb = vst[S_BEST_BID]
    ba = vst[S_BEST_ASK]
    for j in range(hi):
        if vorders[j, O_LIVE] != 1:
            continue
        os = vorders[j, O_SIDE]
        px = vorders[j, O_PRICE]
        if os == s and px == p:
            return False
        if os == BUY:
            if ba != NO_PRICE and px >= ba:
                return False
        elif bb != NO_PRICE and px <= bb:
            return False
    return True


@_inline
def _trade_is_noop(vorders, hi, aggressor, p) -> bool:
    """Does `step(OP_TRADE)` change nothing? (no order of ours on the passive side at or through `p`)"""
    passive = -aggressor
    for j in range(hi):
        if vorders[j, O_LIVE] != 1 or vorders[j, O_SIDE] != passive:
            continue
        px = vorders[j, O_PRICE]
        if (passive == BUY and p <= px) or (passive == SELL and p >= px):
            return False
    return True


@_inline
def _exch_l2(st, i, t, kind, side, price, qty, vbook, vbq, vaq, vbb, vab, vst, vorders, vfq, vcons, qm, vparams,
             vout, hi) -> int:
    """One exchange market event on the L2 venue (`hft.sim.engine.L2MarketVenue.market`); -1 / wake code."""
    k = kind[i]
    s = side[i]
    p = price[i]
    q = qty[i]
    if k == EV_LEVEL_SET or k == EV_SNAPSHOT_LEVEL:
        if (s != BUY and s != SELL) or q < 0:
            return W_EXCH_FALLBACK  # the Python venue raises the error
        prev = _qty_at(vbq, vaq, vst, s, p)
        if hi == 0 and vparams[P_NCONS] == 0:
            # no order of ours and nothing consumed: DEPTH changes nothing but the book (reports: none)
            return -1 if _set_i(vbq, vaq, vbb, vab, vst, s, p, q) == L2_OK else W_EXCH_FALLBACK
        levels = vst[S_N_BID] + vst[S_N_ASK] + 1
        if vout.shape[0] < 8 + vorders.shape[0] + levels or vcons.shape[0] - vparams[P_NCONS] < levels + 1:
            return W_EXCH_FALLBACK  # the Python venue sizes its buffers first
        if _set_i(vbq, vaq, vbb, vab, vst, s, p, q) != L2_OK:
            return W_EXCH_FALLBACK  # out of range: nothing changed, the Python venue grows the book
        if vparams[P_NCONS] == 0 and _depth_is_noop(vorders, hi, vst, s, p):
            return -1  # the step would change nothing (no report): skip its call
        vparams[P_NREP] = 0
        status = step(vbook, vorders[:hi], vfq[:hi], vcons, qm, vparams, vout, OP_DEPTH, t, 0, s, p, q, 0, 0, prev)
    elif k == EV_TRADE and s != 0:
        if (s != BUY and s != SELL) or q <= 0:
            return W_EXCH_FALLBACK
        if hi == 0 or _trade_is_noop(vorders, hi, s, p):
            return -1  # TRADE only looks at our orders on the passive side at or through its price
        levels = vst[S_N_BID] + vst[S_N_ASK] + 1
        if vout.shape[0] < 8 + vorders.shape[0] + levels or vcons.shape[0] - vparams[P_NCONS] < levels + 1:
            return W_EXCH_FALLBACK
        vparams[P_NREP] = 0
        status = step(vbook, vorders[:hi], vfq[:hi], vcons, qm, vparams, vout, OP_TRADE, t, 0, s, p, q, 0, 0, 0)
    elif k == EV_CLEAR:
        if hi == 0 and vparams[P_NCONS] == 0:
            _clear_arrays(vbq, vaq, vbb, vab, vst, s)
            return -1
        levels = vst[S_N_BID] + vst[S_N_ASK] + 1
        if vout.shape[0] < 8 + vorders.shape[0] + levels or vcons.shape[0] - vparams[P_NCONS] < levels + 1:
            return W_EXCH_FALLBACK
        _clear_arrays(vbq, vaq, vbb, vab, vst, s)
        vparams[P_NREP] = 0
        status = step(vbook, vorders[:hi], vfq[:hi], vcons, qm, vparams, vout, OP_CLEAR, t, 0, s, 0, 0, 0, 0, 0)
    else:
        return -1
    if status != V_OK:
        st[S_FLAGS] = status
        return W_ERROR
    if vparams[P_NREP] > 0:
        return W_REPORTS
    return -1


@_inline
def _exch_l3(st, i, t, kind, side, price, qty, oid, vbook, vorders, vcons, vparams, vout, vref) -> int:
    """One exchange market event on the L3 venue (`hft.sim.exchange_l3.L3Venue.market`, with its reference resync
    when `vref` has rows); -1 / wake code."""
    width = vbook.lv_qty.shape[1]
    if vout.shape[0] < out_need(vparams, width, vref) or vcons.shape[0] - vparams[P_NCONS] < width + 1:
        return W_EXCH_FALLBACK
    vparams[P_NREP] = 0
    status = market_step(vbook, vorders, vcons, vparams, vout, vref, t, kind[i], side[i], price[i], qty[i], oid[i])
    if status == V_NEED_LEVELS or status == V_NEED_ORDERS or status == V_BAD_ID:
        return W_EXCH_FALLBACK  # nothing changed: the Python venue grows (or raises) and applies it
    if status != V_OK:
        st[S_FLAGS] = status
        return W_ERROR
    if vparams[P_NREP] > 0:
        return W_REPORTS
    return -1


@_inline
def _pick(i_loc, i_ex, n, loc_t, ex_t, ex_last, ns, sample_ns):
    """The next market item in (time, priority) order: (source, time, priority); source 0 = none,
    1 local data, 2 equity sample, 3 exchange data."""
    src = 0
    ct = _I64_MAX
    cp = 9
    if i_loc < n:
        src = 1
        ct = loc_t[i_loc]
        cp = P_LOCAL_MD
    if (i_loc < n or ex_last >= ns) and sample_ns > 0 and _before(ns, P_TIMER, ct, cp):
        src = 2  # samples run while there is data (the reference drops them after its end)
        ct = ns
        cp = P_TIMER
    if i_ex < n and _before(ex_t[i_ex], P_EXCH_MD, ct, cp):
        src = 3
        ct = ex_t[i_ex]
        cp = P_EXCH_MD
    return src, ct, cp


# ----------------------------------------------------------------------- in-kernel order path
@_inline
def _h_before(h, i, j) -> bool:
    """Kernel heap row i before row j in (time, priority, sequence) order (the Python heap's tuple order)."""
    if h[i, H_T] != h[j, H_T]:
        return h[i, H_T] < h[j, H_T]
    if h[i, H_P] != h[j, H_P]:
        return h[i, H_P] < h[j, H_P]
    return h[i, H_SEQ] < h[j, H_SEQ]


@_inline
def _h_swap(h, i, j) -> None:
    for c in range(H_COLS):
        x = h[i, c]
        h[i, c] = h[j, c]
        h[j, c] = x


@_kernel
def heap_push(h, st, t, prio, typ, p0, p1, p2, p3, p4, p5, p6, p7) -> bool:
    """Push an item on the kernel heap, numbered from the shared sequence counter; False when it is full."""
    n = st[S_NH]
    if n >= h.shape[0]:
        return False
    h[n, H_T] = t
    h[n, H_P] = prio
    h[n, H_SEQ] = st[S_SEQ]
    h[n, H_TYPE] = typ
    h[n, H_PAY] = p0
    h[n, H_PAY + 1] = p1
    h[n, H_PAY + 2] = p2
    h[n, H_PAY + 3] = p3
    h[n, H_PAY + 4] = p4
    h[n, H_PAY + 5] = p5
    h[n, H_PAY + 6] = p6
    h[n, H_PAY + 7] = p7
    st[S_SEQ] += 1
    st[S_NH] = n + 1
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        if not _h_before(h, i, parent):
            break
        _h_swap(h, i, parent)
        i = parent
    return True


@_inline
def _h_drop_top(h, st) -> None:
    n = st[S_NH] - 1
    st[S_NH] = n
    if n == 0:
        return
    for c in range(H_COLS):
        h[0, c] = h[n, c]
    i = 0
    while True:
        m = 2 * i + 1
        if m >= n:
            break
        if m + 1 < n and _h_before(h, m + 1, m):
            m += 1
        if not _h_before(h, m, i):
            break
        _h_swap(h, i, m)
        i = m


@_inline
def _sord_find(sord, n, oid) -> int:
    for j in range(n):
        if sord[j, SO_ID] == oid:
            return j
    return -1


@_inline
def _fast_intents(st, ni, intents, now, arena, y, h, drows, orows, sord, side_of, lat_e) -> int:
    """The strategy kernel's intents, in order, as `NbEngine._exec_intents` sends them: `Engine.submit` /
    `Engine.cancel` → the gateway's `process` (its numba core, `kernels.process_one`) → its dispatcher
    `Engine.put_nowait` (entry latency draw, the command on the heap, the order row). -1, or W_GROW (nothing done)
    when a buffer lacks room for `ni` intents."""
    if (h.shape[0] - st[S_NH] < ni or drows.shape[0] - st[S_ND] < ni or orows.shape[0] - st[S_NO] < ni
            or sord.shape[0] - st[S_NORD] < ni or side_of.shape[0] <= GK.next_order_id(arena) + ni):
        return W_GROW
    for j in range(ni):
        if intents[j, 0] != IN_SUBMIT and intents[j, 0] != IN_CANCEL:
            return W_INTENTS  # Python raises on it
    for j in range(ni):
        if intents[j, 0] == IN_SUBMIT:
            kind = INTENT_NEW
            side = intents[j, 1]
            price = intents[j, 2]
            qty = intents[j, 3]
            target = 0
        else:
            kind = INTENT_CANCEL
            side = 0
            price = 0
            qty = 0
            target = intents[j, 4]
        key = st[S_KEY] + 1
        st[S_KEY] = key
        code, oid, seq = GK.process_one(arena, now, st[S_MODE], key, kind, st[S_ACCT], st[S_STRAT], y, side, price,
                                        qty, ORDER_LIMIT, TIF_GTC, target, 0)
        if code == 0:
            cmd_oid = oid if kind == INTENT_NEW else target
            lat = latency_ns(lat_e, now, st[S_NENTRY])
            st[S_NENTRY] += 1
            heap_push(h, st, now + lat, P_EXCH_ARRIVAL, IT_CMD, kind, cmd_oid, side, price, qty, ORDER_LIMIT,
                      TIF_GTC, 0)
            r = st[S_NO]
            orows[r, 0] = now
            orows[r, 1] = cmd_oid
            orows[r, 2] = price
            orows[r, 3] = qty
            orows[r, 4] = kind
            orows[r, 5] = side
            orows[r, 6] = ORDER_LIMIT
            orows[r, 7] = TIF_GTC
            st[S_NO] = r + 1
        r = st[S_ND]
        drows[r, 0] = seq
        drows[r, 1] = now
        drows[r, 2] = key
        drows[r, 3] = kind
        drows[r, 4] = side
        drows[r, 5] = price
        drows[r, 6] = qty
        drows[r, 7] = ORDER_LIMIT
        drows[r, 8] = TIF_GTC
        drows[r, 9] = target
        drows[r, 10] = code
        drows[r, 11] = oid
        st[S_ND] = r + 1
        accepted = code == 0 or (code & 0xFFFF) == 0
        if kind == INTENT_NEW:
            if code == 0:  # accepted, not a duplicate: the order joins the strategy's view
                side_of[oid] = side
                k = st[S_NORD]
                sord[k, SO_ID] = oid
                sord[k, SO_SIDE] = side
                sord[k, SO_PRICE] = price
                sord[k, SO_LEAVES] = qty
                sord[k, SO_STATUS] = 0
                sord[k, SO_QTY] = qty
                st[S_NORD] = k + 1
                st[S_ORD_CHANGED] = 1
        elif accepted:
            k = _sord_find(sord, st[S_NORD], target)
            if k >= 0:
                sord[k, SO_STATUS] = 2
                st[S_ORD_CHANGED] = 1
    return -1


@_inline
def _fast_schedule(st, t, vout, nrep, h, lat_r) -> None:
    """The venue's reports at exchange time `t` travel back (`Engine._schedule_reports`)."""
    for r in range(nrep):
        lat = latency_ns(lat_r, t, st[S_NRESP])
        st[S_NRESP] += 1
        v = vout[r]
        heap_push(h, st, t + lat, P_LOCAL_RESP, IT_REP, v.ts, v.order_id, v.price, v.qty, v.leaves, v.fee,
                  np.int64(v.kind), np.int64(v.liquidity))


@_inline
def _fast_item(st, now, h, arena, frows, sord, side_of, vbook, vorders, vfq, vcons, qm, vparams, vout, lat_r,
               hi) -> tuple:
    """Pop and run the kernel heap's first item at clock `now`: a command arriving at the venue
    (`Engine._dispatch_item`) or a report arriving locally (`Engine._deliver`: the gateway's `on_execution_report`,
    position, cash, fees, the fill row, the strategy's order view). (wake code or -1, new `hi`); W_GROW leaves the
    item on the heap untouched."""
    t = h[0, H_T]
    if h[0, H_TYPE] == IT_CMD:
        levels = vbook.state[S_N_BID] + vbook.state[S_N_ASK]
        if (vout.shape[0] < 8 + vorders.shape[0] + levels or vcons.shape[0] - vparams[P_NCONS] < levels + 1
                or h.shape[0] - st[S_NH] < vout.shape[0]):
            return W_GROW, hi
        action = h[0, H_PAY]
        oid = h[0, H_PAY + 1]
        side = h[0, H_PAY + 2]
        price = h[0, H_PAY + 3]
        qty = h[0, H_PAY + 4]
        otype = h[0, H_PAY + 5]
        tif = h[0, H_PAY + 6]
        _h_drop_top(h, st)
        vparams[P_NREP] = 0
        if action == INTENT_NEW:
            j = 0  # the slot the order takes (the lowest free one): keeps `hi` an upper bound of the live slots
            while j < vorders.shape[0] and vorders[j, O_LIVE] != 0:
                j += 1
            if j + 1 > hi:
                hi = j + 1
            status = step(vbook, vorders, vfq, vcons, qm, vparams, vout, OP_NEW, t, oid, side, price, qty, otype,
                          tif, 0)
        elif action == INTENT_CANCEL:
            status = step(vbook, vorders, vfq, vcons, qm, vparams, vout, OP_CANCEL, t, oid, 0, 0, 0, 0, 0, 0)
        else:
            status = step(vbook, vorders, vfq, vcons, qm, vparams, vout, OP_REPLACE, t, oid, 0, price, qty, 0, 0,
                          0)
        if status != V_OK:
            st[S_FLAGS] = status
            return W_ERROR, hi
        _fast_schedule(st, t, vout, vparams[P_NREP], h, lat_r)
        return -1, hi
    if frows.shape[0] - st[S_NF] < 1:
        return W_GROW, hi
    ts = h[0, H_PAY]
    oid = h[0, H_PAY + 1]
    price = h[0, H_PAY + 2]
    qty = h[0, H_PAY + 3]
    leaves = h[0, H_PAY + 4]
    fee = h[0, H_PAY + 5]
    kind = h[0, H_PAY + 6]
    liq = h[0, H_PAY + 7]
    _h_drop_top(h, st)
    flags = GK.apply_report(arena, now, oid, kind, price, qty, leaves, fee)
    side = side_of[oid] if 0 <= oid < side_of.shape[0] else 0
    if kind == REPORT_FILL or kind == REPORT_PARTIAL_FILL:
        st[S_POS] += side * qty
        st[S_CASH] -= side * price * qty * st[S_MULT]
        st[S_FEES] += fee
        st[S_CASH] -= fee
        r = st[S_NF]
        frows[r, 0] = ts
        frows[r, 1] = now
        frows[r, 2] = oid
        frows[r, 3] = price
        frows[r, 4] = qty
        frows[r, 5] = leaves
        frows[r, 6] = fee
        frows[r, 7] = side
        frows[r, 8] = kind
        frows[r, 9] = liq
        st[S_NF] = r + 1
    n = st[S_NORD]
    k = _sord_find(sord, n, oid)
    if k >= 0:
        st[S_ORD_CHANGED] = 1
        if kind == REPORT_FILL or kind == REPORT_CANCELED or kind == REPORT_EXPIRED or kind == REPORT_REJECTED:
            for m in range(k, n - 1):  # removed; the others keep their order (a dict's insertion order)
                for c in range(SO_COLS):
                    sord[m, c] = sord[m + 1, c]
            st[S_NORD] = n - 1
        elif kind == REPORT_REPLACED:
            sord[k, SO_PRICE] = price
            sord[k, SO_LEAVES] = leaves
            sord[k, SO_STATUS] = 1
        elif kind == REPORT_ACK or kind == REPORT_CANCEL_REJECTED or kind == REPORT_REPLACE_REJECTED:
            sord[k, SO_STATUS] = 1
        elif kind == REPORT_PARTIAL_FILL:
            sord[k, SO_LEAVES] = leaves
            if sord[k, SO_STATUS] == 0:
                sord[k, SO_STATUS] = 1
    if flags & (GK.F_LOSS_BREACH | GK.F_POSITION_BREACH):
        st[S_FLAGS] = flags
        return W_RFLAGS, hi
    return -1, hi


@_kernel
def run_l2(st, evm, tops, lbook, is_l3, arena, eq, sord, intents, vbook, vorders, vfq, vcons, qm, vparams,
           vout, h, drows, orows, frows, side_of, lat_e, lat_r) -> int:
    """Advance the market streams (L2 venue) until a wake; see the module docstring. With ``st[S_FAST]`` the
    kernel heap `h` (commands and reports in flight) runs here too (`NbEngine`, "In-kernel order path")."""
    lref = _NO_ROWS  # reference rows are L3 (LOBSTER) data only
    loc_t, ex_t, ex_pm, kind, side, price, qty, flags = evm[0], evm[1], evm[2], evm[3], evm[4], evm[5], evm[6], evm[8]
    top = tops[0:4]
    ltop = tops[4:8]
    hi = _live_hi(vorders, st[S_HI])
    lbq, laq, lbb, lab, lst = lbook.bid_qty, lbook.ask_qty, lbook.bid_blk, lbook.ask_blk, lbook.state
    vbq, vaq, vbb, vab, vst = vbook.bid_qty, vbook.ask_qty, vbook.bid_blk, vbook.ask_blk, vbook.state
    n = loc_t.shape[0]
    i_loc = st[S_ILOC]
    i_ex = st[S_IEX]
    now = st[S_NOW]
    ns = st[S_NEXT_SAMPLE]
    sample_ns = st[S_SAMPLE_NS]
    ne = st[S_NEQ]
    bt = st[S_BT]
    bp = st[S_BP]
    stop = st[S_STOP]
    wake = st[S_WAKE]
    y = st[S_Y]
    ex_last = ex_pm[n - 1] if n > 0 else 0  # the latest exchange time (exchange times need not be sorted)
    code = W_END
    if wake == 0 and st[S_SKID] == SK_NONE and hi == 0 and vparams[P_NCONS] == 0:
        # Exchange fast-forward. With no order of ours at the venue and nothing consumed, exchange market data
        # only moves the venue's book, which nothing else reads before the next heap item (the bound); and no
        # wake can create one (the strategy wakes on no market data). So the exchange items before the bound
        # are applied here in one tight loop, and the merged loop below only sees local data and samples
        # (a sample's "data left" test reads ex_last, not i_ex). It stops at anything unusual, which the
        # merged loop then meets at its turn (and hands to Python).
        while i_ex < n and _before(ex_t[i_ex], P_EXCH_MD, bt, bp):
            k = kind[i_ex]
            s = side[i_ex]
            q = qty[i_ex]
            if k == EV_LEVEL_SET or k == EV_SNAPSHOT_LEVEL:
                if (s != BUY and s != SELL) or q < 0 or _set_i(vbq, vaq, vbb, vab, vst, s, price[i_ex], q) != L2_OK:
                    break
            elif k == EV_CLEAR:
                _clear_arrays(vbq, vaq, vbb, vab, vst, s)
            elif k == EV_TRADE and s != 0 and ((s != BUY and s != SELL) or q <= 0):
                break  # the Python venue raises on it
            i_ex += 1
    fast = st[S_FAST] != 0
    bs = st[S_BS]
    while True:
        src, ct, cp = _pick(i_loc, i_ex, n, loc_t, ex_t, ex_last, ns, sample_ns)
        # the first heap item: the kernel heap's (fast mode) or the Python heap's, in (time, priority, seq) order
        kfirst = False
        ht = bt
        hp = bp
        if fast and st[S_NH] > 0:
            kt = h[0, H_T]
            kp = h[0, H_P]
            if kt < bt or (kt == bt and (kp < bp or (kp == bp and h[0, H_SEQ] < bs))):
                kfirst = True
                ht = kt
                hp = kp
        if src == 0 or _before(ht, hp, ct, cp):  # ties go to the market streams, as in the reference loop
            if kfirst:
                t_now = ht if ht > now else now
                w, hi = _fast_item(st, t_now, h, arena, frows, sord, side_of, vbook, vorders, vfq, vcons, qm, vparams,
                                   vout, lat_r, hi)
                if w == W_GROW:
                    code = w
                    break
                now = t_now
                if w >= 0:
                    code = w
                    break
                continue
            code = W_BOUND if (src != 0 or bt != _I64_MAX) else W_END
            if i_ex > 0 and ex_pm[i_ex - 1] > now:
                now = ex_pm[i_ex - 1]  # exchange items a fast-forward applied early count now
            break
        t_now = ct if ct > now else now
        if src == 1:
            if i_loc >= stop:
                code = W_CHUNK
                break
            w = _local(st, i_loc, kind, side, price, qty, flags, lbq, laq, lbb, lab, lst, top, ltop, is_l3, arena,
                       wake, y, t_now, sord, intents, lref)
            now = t_now
            if w == W_LOCAL_FALLBACK:
                code = w
                break
            i_loc += 1
            if w == W_INTENTS and fast and t_now < st[S_STORM_NEXT]:
                w = _fast_intents(st, st[S_NINT], intents, t_now, arena, y, h, drows, orows, sord, side_of, lat_e)
                if w == W_GROW:
                    w = W_INTENTS  # no room: Python sends them (and grows the buffers before the next call)
            if w >= 0:
                st[S_EV] = i_loc - 1
                st[S_T] = ct
                code = w
                break
        elif src == 2:
            if not _sample(st, ltop, eq, ne, t_now):
                code = W_EQ_FULL
                break
            ne += 1
            ns += sample_ns
            now = t_now
        else:
            if fast and h.shape[0] - st[S_NH] < vout.shape[0]:
                code = W_GROW  # the reports it may produce need heap room: nothing applied
                break
            w = _exch_l2(st, i_ex, ct, kind, side, price, qty, vbook, vbq, vaq, vbb, vab, vst, vorders, vfq, vcons,
                         qm, vparams, vout, hi)
            if w == W_EXCH_FALLBACK:
                code = w
                break
            now = t_now
            i_ex += 1
            if w == W_REPORTS and fast:
                _fast_schedule(st, ct, vout, vparams[P_NREP], h, lat_r)
                w = -1
            if w >= 0:
                st[S_EV] = i_ex - 1
                st[S_T] = ct
                code = w
                break
    st[S_ILOC] = i_loc
    st[S_IEX] = i_ex
    st[S_NOW] = now
    st[S_NEXT_SAMPLE] = ns
    st[S_NEQ] = ne
    st[S_HI] = hi
    _top_now(lbq, laq, lst, top)
    return code


@_kernel
def run_l3(st, evm, tops, lbook, is_l3, arena, eq, sord, intents, vbook, vorders, vcons, vparams, vout,
           vref, lref) -> int:
    """Advance the market streams (L3 venue) until a wake; see the module docstring. `lref`: the local view's
    reference rows (``[0, 4]``: none, the view is built from the events)."""
    loc_t, ex_t, ex_pm, kind, side, price, qty, oid, flags = (evm[0], evm[1], evm[2], evm[3], evm[4], evm[5], evm[6],
                                                               evm[7], evm[8])
    top = tops[0:4]
    ltop = tops[4:8]
    hi = 0
    lbq, laq, lbb, lab, lst = lbook.bid_qty, lbook.ask_qty, lbook.bid_blk, lbook.ask_blk, lbook.state
    n = loc_t.shape[0]
    i_loc = st[S_ILOC]
    i_ex = st[S_IEX]
    now = st[S_NOW]
    ns = st[S_NEXT_SAMPLE]
    sample_ns = st[S_SAMPLE_NS]
    ne = st[S_NEQ]
    bt = st[S_BT]
    bp = st[S_BP]
    stop = st[S_STOP]
    wake = st[S_WAKE]
    y = st[S_Y]
    ex_last = ex_pm[n - 1] if n > 0 else 0  # the latest exchange time (exchange times need not be sorted)
    code = W_END
    while True:
        src, ct, cp = _pick(i_loc, i_ex, n, loc_t, ex_t, ex_last, ns, sample_ns)
        if src == 0:
            code = W_BOUND if bt != _I64_MAX else W_END
            if i_ex > 0 and ex_pm[i_ex - 1] > now:
                now = ex_pm[i_ex - 1]  # exchange items a fast-forward applied early count now
            break
        if _before(bt, bp, ct, cp):  # ties go to the market streams, as in the reference loop
            code = W_BOUND
            if i_ex > 0 and ex_pm[i_ex - 1] > now:
                now = ex_pm[i_ex - 1]
            break
        t_now = ct if ct > now else now
        if src == 1:
            if i_loc >= stop:
                code = W_CHUNK
                break
            w = _local(st, i_loc, kind, side, price, qty, flags, lbq, laq, lbb, lab, lst, top, ltop, is_l3, arena,
                       wake, y, t_now, sord, intents, lref)
            now = t_now
            if w == W_LOCAL_FALLBACK:
                code = w
                break
            i_loc += 1
            if w >= 0:
                st[S_EV] = i_loc - 1
                st[S_T] = ct
                code = w
                break
        elif src == 2:
            if not _sample(st, ltop, eq, ne, t_now):
                code = W_EQ_FULL
                break
            ne += 1
            ns += sample_ns
            now = t_now
        else:
            w = _exch_l3(st, i_ex, ct, kind, side, price, qty, oid, vbook, vorders, vcons, vparams, vout, vref)
            if w == W_EXCH_FALLBACK:
                code = w
                break
            now = t_now
            i_ex += 1
            if w >= 0:
                st[S_EV] = i_ex - 1
                st[S_T] = ct
                code = w
                break
    st[S_ILOC] = i_loc
    st[S_IEX] = i_ex
    st[S_NOW] = now
    st[S_NEXT_SAMPLE] = ns
    st[S_NEQ] = ne
    st[S_HI] = hi
    _top_now(lbq, laq, lst, top)
    return code


@_kernel
def _fill_evm(events, evm) -> None:
    """The event columns as int64 rows (1 exch_ts, 2 running max of exch_ts, 3.. kind, side, price, qty, order_id,
    flags) in one pass over the record array."""
    m = np.iinfo(np.int64).min
    for i in range(events.shape[0]):
        e = events[i]
        t = e.exch_ts
        evm[1, i] = t
        m = t if t > m else m
        evm[2, i] = m
        evm[3, i] = e.kind
        evm[4, i] = e.side
        evm[5, i] = e.price
        evm[6, i] = e.qty
        evm[7, i] = e.order_id
        evm[8, i] = e.flags


# ======================================================================= Python driver
# The event matrix of the last finished run, reused by the next run of the same length (a parameter sweep over one
# stream): a fresh 9 x n int64 matrix is written in full, and on this kind of machine the first touch of its pages
# (kernel page faults: 144 MB for 2 M events) cost more than the replay itself, and varied 5x between runs.
_SPARE_MATRIX: list[np.ndarray] = []


def _take_matrix(n: int) -> np.ndarray:
    """A 9 x n int64 matrix for the event columns (contents undefined): the spare one when it fits."""
    if _SPARE_MATRIX and _SPARE_MATRIX[0].shape == (9, n):
        return _SPARE_MATRIX.pop()
    _SPARE_MATRIX.clear()
    return np.empty((9, n), dtype=np.int64)


def _give_matrix(evm: np.ndarray) -> None:
    """Keep `evm` (no longer used by its run) as the spare matrix."""
    _SPARE_MATRIX.clear()
    _SPARE_MATRIX.append(evm)


class LazyRecords(Sequence):
    """A sequence built on first use (the gateway's `Decision` records of a run: Python objects that only a store
    write needs)."""

    def __init__(self, build: Callable[[], list]) -> None:
        self._build: Callable[[], list] | None = build
        self._items: list = []

    def _all(self) -> list:
        if self._build is not None:
            self._items = self._build()
            self._build = None
        return self._items

    def __getitem__(self, i):  # type: ignore[override]
        return self._all()[i]

    def __len__(self) -> int:
        return len(self._all())


def _rows_to(rows: np.ndarray, dtype: np.dtype, n: int | None = None) -> np.ndarray:
    """int64 rows (one column per field, in order) as a structured array of `dtype`; `n` rows in all (the
    rest zero) when given."""
    out = np.zeros(rows.shape[0] if n is None else n, dtype)
    for j, name in enumerate(dtype.names):
        out[name][: rows.shape[0]] = rows[:, j]
    return out


def _grown(a: np.ndarray, need: int) -> np.ndarray:
    """`a` with at least `need` more rows of room (doubled at least), contents kept."""
    out = np.zeros((max(2 * a.shape[0], a.shape[0] + need), *a.shape[1:]), dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


STRATEGY_KERNELS = {"mm": SK_MM}  # a strategy's ``nb_kernel`` name → its kernel in `strategy_on_book`


class NbEngine(Engine):
    """`Engine` with the market streams in numba (module docstring). Same constructor and outputs.

    A strategy with an ``nb_kernel`` name (and ``nb_params()``) runs its book callback as that strategy kernel
    inside the loop (``strategy_kernels = False`` on the engine forces the Python callbacks)."""

    strategy_kernels = True
    in_kernel_orders = True  # False: commands, reports and kernel intents always go through Python
    _skid = SK_NONE
    _orders_dirty = True
    _fast = False  # the in-kernel order path is on (set by `run`, off again once its results are handed over)
    used_in_kernel_orders = False  # whether the last `run` used the in-kernel order path
    _rows0 = 256  # initial rows of the in-kernel order path's buffers
    _tight = False  # tests: grow those buffers only when full, so that the kernel runs out of room mid-call

    _ltop: np.ndarray | None = None  # the kernel's copy of `local_top` (set by `run`)

    def _refresh_top(self) -> bool:
        changed = super()._refresh_top()
        if self._ltop is not None:
            self._ltop[:] = self._top
        return changed

    def _sync_top(self) -> None:
        b, bq, a, aq = self._ltop.tolist()
        self.local_top = (None if b == NO_PRICE else b, bq, None if a == NO_PRICE else a, aq)

    # --- the strategy's order view for strategy kernels -------------------------------------------------------
    def submit(self, side: int, price: int, qty: int, otype: int | None, tif: int | None) -> object:
        self._orders_dirty = True
        d = super().submit(side, price, qty, otype, tif)
        if self._fast and d.accepted and not d.duplicate:  # the kernel's side map is the one reports read
            self._room_side(d.order_id)
            self._side_arr[d.order_id] = side
        return d

    def cancel(self, order_id: int) -> object:
        self._orders_dirty = True
        return super().cancel(order_id)

    def replace(self, order_id: int, price: int, qty: int) -> object:
        self._orders_dirty = True
        return super().replace(order_id, price, qty)

    def _deliver(self, rep: tuple) -> None:
        self._orders_dirty = True
        super()._deliver(rep)

    def _sync_orders(self) -> None:
        """Mirror `live_orders` (insertion order) into the kernel's order rows."""
        orders = self.live_orders
        if len(orders) + MAX_INTENTS > self._sord.shape[0]:
            self._sord = np.zeros((2 * (len(orders) + MAX_INTENTS), SO_COLS), dtype=np.int64)
        for j, o in enumerate(orders.values()):
            self._sord[j] = (o.order_id, o.side, o.price, o.leaves, SO_STATUS_CODES[o.status], o.qty)
        self._st[S_NORD] = len(orders)
        self._orders_dirty = False

    def _pull_orders(self) -> None:
        """`live_orders` := the kernel's order rows (the in-kernel order path changed them)."""
        rows = self._sord[: int(self._st[S_NORD])].tolist()
        self.live_orders = {r[SO_ID]: OrderState(r[SO_ID], r[SO_SIDE], r[SO_PRICE], r[SO_QTY], r[SO_LEAVES],
                                                 SO_STATUS_NAMES[r[SO_STATUS]]) for r in rows}
        self._st[S_ORD_CHANGED] = 0

    # --- the in-kernel order path: Python's side of it ----------------------------------------------------------
    # With `_fast`, commands and reports in flight live on the kernel heap and the counters (idempotency keys,
    # latency draws, heap sequence) in the state row, whoever creates them: Python code that sends an intent (a
    # fallback path, the gateway's StormGuard) pushes onto the same heap and writes the same rows, so the
    # order of everything is the reference engine's.
    def _intent(self, kind: int, side: int, price: int, qty: int, otype: int, tif: int, target: int) -> object:
        if not self._fast:
            return super()._intent(kind, side, price, qty, otype, tif, target)
        st = self._st
        st[S_KEY] += 1
        now = self.clock.now_ns()
        env = TypedIntentEnvelope(typed_intent_v1(kind, int(st[S_KEY]), self.cfg.account, self.cfg.strategy,
                                                  self.symbol, side, price, qty, otype, tif, now, target), now)
        return self.gw.process(env)

    def put_nowait(self, cmd: object) -> None:
        if not self._fast:
            return super().put_nowait(cmd)
        st = self._st
        now = self.clock.now_ns()
        lat = int(latency_ns(self.cfg.entry, now, int(st[S_NENTRY])))
        st[S_NENTRY] += 1
        self._heap_push(now + lat, P_EXCH_ARRIVAL, IT_CMD, cmd.action, cmd.order_id, cmd.side, cmd.price, cmd.qty,
                        cmd.order_type, cmd.tif, 0)
        if int(st[S_NO]) >= self._orows.shape[0]:
            self._orows = _grown(self._orows, 1)
            self._arg_key = None
        self._orows[int(st[S_NO])] = (now, cmd.order_id, cmd.price, cmd.qty, cmd.action, cmd.side, cmd.order_type,
                                      cmd.tif)
        st[S_NO] += 1

    def _schedule_reports(self, now: int, reports: np.ndarray) -> None:
        if not self._fast:
            return super()._schedule_reports(now, reports)
        st = self._st
        for r in reports.tolist():
            ts, oid, price, qty, leaves, fee, kind, liq = r
            lat = int(latency_ns(self.cfg.response, now, int(st[S_NRESP])))
            st[S_NRESP] += 1
            self._heap_push(now + lat, P_LOCAL_RESP, IT_REP, ts, oid, price, qty, leaves, fee, kind, liq)

    def _push(self, t: int, prio: int, item: tuple) -> None:
        if not self._fast:
            return super()._push(t, prio, item)
        heapq.heappush(self.heap, (t, prio, int(self._st[S_SEQ]), item))
        self._st[S_SEQ] += 1

    def _heap_push(self, t: int, prio: int, typ: int, *payload: int) -> None:
        if self._st[S_NH] >= self._h.shape[0]:
            self._h = _grown(self._h, 1)
            self._arg_key = None
        heap_push(self._h, self._st, t, prio, typ, *payload)

    def _room_side(self, oid: int) -> None:
        need = oid + 2 if self._tight else 2 * (oid + 2 * MAX_INTENTS + 2)  # half free: few regrowths
        if need >= self._side_arr.shape[0]:
            grown = np.zeros(2 * need, dtype=np.int64)
            grown[: self._side_arr.shape[0]] = self._side_arr
            self._side_arr = grown
            self._arg_key = None

    def _room(self) -> None:
        """Room for the next kernel call: a command's reports on the heap, a batch of intents, rows."""
        st = self._st
        v = self.venue.v
        v._ensure()  # the venue's report and consumption buffers for any one step
        tight = self._tight
        spare = 1 if tight else 4 * MAX_INTENTS
        if self._h.shape[0] - st[S_NH] < v.out.shape[0] + spare:
            self._h = _grown(self._h, v.out.shape[0] + spare)
        for name, col in (("_drows", S_ND), ("_orows", S_NO), ("_frows", S_NF)):
            a = getattr(self, name)
            if a.shape[0] - st[col] < (1 if tight else max(4 * MAX_INTENTS + 64, a.shape[0] // 2)):  # half free
                setattr(self, name, _grown(a, spare))
        if self._sord.shape[0] - st[S_NORD] < spare:
            self._sord = _grown(self._sord, spare)
        self._room_side(int(GK.next_order_id(self.gw.arena)))

    def _fast_eligible(self, wakes: frozenset[str]) -> bool:
        """The in-kernel order path needs: the L2 venue, a strategy kernel and no other Python callback, the
        gateway's metrics timing off (no per-intent wall-clock histogram) and no extra record sink."""
        gw = self.gw
        return (self.in_kernel_orders and not self._l3_venue and self._skid != SK_NONE and wakes == {"book"}
                and gw.config.timing == "off" and gw.sink == self._sink and self._extra_sink is None
                and getattr(gw, "_put", None) == self.put_nowait)

    def _fast_segments(self) -> list[tuple[str, int, int]]:
        """The run's decisions in order, as segments ("py" | "kernel", start, stop) of Python's list and of the
        kernel's rows: the marks recorded after each kernel call ((kernel rows, Python decisions) so far) say
        that Python's decisions [previous mark, mark) came before the kernel rows of that call."""
        segs: list[tuple[str, int, int]] = []
        k = p = 0
        for nd, np_ in [*self._dmarks, (int(self._st[S_ND]), len(self.decisions))]:
            if np_ > p:
                segs.append(("py", p, np_))
            if nd > k:
                segs.append(("kernel", k, nd))
            k, p = max(k, nd), max(p, np_)
        return segs

    def _kernel_decision_log(self, rows: np.ndarray) -> np.ndarray:
        """`DECISION_LOG_DTYPE` rows of the kernel's decision rows (what `decision_log` makes of their records)."""
        code = rows[:, 10]
        reason = code & 0xFFFF
        dec = np.zeros(rows.shape[0], DECISION_LOG_DTYPE)
        for name, col in (("seq", 0), ("ts", 1), ("order_id", 11), ("target_id", 9), ("price", 5), ("qty", 6),
                          ("kind", 3), ("side", 4)):
            dec[name] = rows[:, col]
        dec["reason"] = reason
        dec["accepted"] = reason == 0
        dec["duplicate"] = code >= GK.DUP_FLAG
        return dec

    def _kernel_records(self, rows: np.ndarray) -> list:
        """The gateway's `Decision` records of the kernel's decision rows (as `GatewayService.process` makes them)."""
        from hft.gateway.intents import Decision, OrderCommand

        acct, strat, sym = self.cfg.account, self.cfg.strategy, self.symbol
        out: list = []
        for seq, ts, key, kind, side, price, qty, otype, tif, target, code, oid in rows.tolist():
            if code == 0:
                cmd = OrderCommand(kind, oid if kind == INTENT_NEW else target, key, acct, strat, sym, side, price,
                                   qty, otype, tif, ts)
                out.append(Decision(seq, ts, ts, key, kind, acct, strat, sym, side, price, qty, otype, tif, target,
                                    True, 0, oid, False, cmd))
            else:
                reason = code & 0xFFFF
                out.append(Decision(seq, ts, ts, key, kind, acct, strat, sym, side, price, qty, otype, tif, target,
                                    reason == 0, reason, oid, code >= GK.DUP_FLAG, None))
        return out

    def _fast_finish(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The in-kernel order path's results: the (decisions, orders, fills) logs built from the kernel's rows,
        the decision records as a lazily built sequence, the engine's Python state (final order view, side
        map, counters) as the reference engine leaves it."""
        from hft.sim.engine import FILL_LOG_DTYPE, ORDER_LOG_DTYPE, decision_log

        st = self._st
        drows = self._drows[: int(st[S_ND])]
        py = self.decisions
        segs = self._fast_segments()
        parts = [decision_log(py[a:b]) if src == "py" else self._kernel_decision_log(drows[a:b])
                 for src, a, b in segs]
        dec = np.concatenate(parts) if parts else np.zeros(0, DECISION_LOG_DTYPE)

        def records() -> list:
            out: list = []
            for src, a, b in segs:
                out.extend(py[a:b] if src == "py" else self._kernel_records(drows[a:b]))
            return out

        self.decisions = LazyRecords(records)
        orders = _rows_to(self._orows[: int(st[S_NO])], ORDER_LOG_DTYPE)
        fills = _rows_to(self._frows[: int(st[S_NF])], FILL_LOG_DTYPE)
        self._pull_orders()
        self._side_of = {i: s for i, s in enumerate(self._side_arr.tolist()) if s != 0}
        self._key, self._n_entry, self._n_resp, self._seq = (int(st[S_KEY]), int(st[S_NENTRY]), int(st[S_NRESP]),
                                                             int(st[S_SEQ]))
        self._fast = False
        return dec, orders, fills

    def _exec_intents(self, n: int) -> None:
        """Send the strategy kernel's intents, in order, through the gateway (as its Python callback would)."""
        for kind, side, price, qty, oid in self._intents[:n].tolist():
            if kind == IN_SUBMIT:
                self.submit(side, price, qty, None, None)
            elif kind == IN_CANCEL:
                self.cancel(oid)
            else:
                raise SimError(f"strategy kernel: expected intent {IN_SUBMIT} or {IN_CANCEL}, was {kind}")

    def _on_book(self) -> None:
        """The strategy's book callback from Python: its kernel, or its Python `on_book`."""
        if self._skid != SK_NONE:
            if self._orders_dirty:
                self._sync_orders()
            self._st[S_POS] = self.position
            self._exec_intents(int(strategy_on_book(self._st, self._ltop, self._sord, self._intents)))
        elif self._mask & WAKE_BOOK:
            self.strategy.on_book(self.ctx)

    def _apply_local_py(self, i: int) -> None:
        """The reference `_apply_local` for event `i` (used when the kernel needs the local book to grow)."""
        kind, side, price, qty, flags = (int(self._kind[i]), int(self._side[i]), int(self._price[i]),
                                         int(self._qty[i]), int(self._flags[i]))
        self._local_event(i, kind, side, price, qty)
        if (kind == EV_TRADE or kind == EV_EXEC or kind == EV_HIDDEN_EXEC) and self._mask & WAKE_TRADE:
            self.strategy.on_trade(self.ctx, side if kind == EV_TRADE else -side, price, qty)
        if flags & FLAG_EOM:
            self._refresh_top()
            self._on_book()

    def _entry(self) -> tuple[Callable[..., int], tuple]:
        """The kernel's compiled entry point and its arguments after the state row, rebuilt only when an array was
        replaced (book growth, bigger buffers). Calling the compiled overload directly skips the dispatcher's
        per-call type resolution of ~20 arguments (several µs per wake)."""
        v = self.venue if self._l3_venue else self.venue.v
        k = self._arg_key
        key = (self.local, v.book, v.orders, v.cons, v.out, self._eq, self._sord, self._h, self._drows, self._orows,
               self._frows, self._side_arr)
        if k is None or any(a is not b for a, b in zip(k, key, strict=True)):
            self._arg_key = key
            common = (self._evm, self._tops, self.local, self.is_l3, self.gw.arena, self._eq, self._sord,
                      self._intents, v.book, v.orders)
            args = ((*common, v.cons, v.params, v.out, v.ref, self._lref) if self._l3_venue else
                    (*common, v.fq, v.cons, v.qm, v.params, v.out, self._h, self._drows, self._orows, self._frows,
                     self._side_arr, self.cfg.entry, self.cfg.response))
            kernel = run_l3 if self._l3_venue else run_l2
            sig = tuple(kernel.typeof_pyval(a) for a in (self._st, *args))
            if sig not in kernel.overloads:
                kernel.compile(sig)  # loads the cached machine code (compiles on a cold cache)
            self._arg_cache = (kernel.overloads[sig].entry_point, args)
        return self._arg_cache

    def run(self, progress: Callable[[int, int], None] | None = None, *, multiplier: int = 1) -> RunOutput:
        """Replay every event; returns the `RunOutput` (identical to `Engine.run`'s)."""
        from hft.sim.exchange_l3 import L3Venue

        self._mult = multiplier
        ev = self.events
        n = len(ev)
        # one int64 matrix for the event columns (one kernel argument instead of nine); row 2 is the clock after
        # exchange item i, max(exch_ts[:i+1]) (exchange times need not be sorted)
        evm = _take_matrix(n)
        _fill_evm(ev, evm)
        evm[0] = feed_local_times(evm[1], np.ascontiguousarray(ev["local_ts"]), self.cfg.feed)
        self._evm = evm
        exch = evm[1]
        self._loc, self._exch = evm[0], evm[1]
        self._kind, self._side, self._price, self._qty, self._oid, self._flags = evm[3], evm[4], evm[5], evm[6], \
            evm[7], evm[8]
        self._arg_key = None
        self._l3_venue = isinstance(self.venue, L3Venue)
        if not self._l3_venue and not hasattr(self.venue, "v"):
            raise SimError("numba engine: expected an L2MarketVenue or an L3Venue")
        if self.reference is not None and not self._l3_venue:
            raise SimError("numba engine: reference rows for the local view need the L3 venue (LOBSTER data)")
        if self.reference is not None:
            self._lref = self.reference
        else:
            self._lref = np.zeros((0, 4), dtype=np.int64)
            self._lref.flags.writeable = False  # the same numba type as the rows (read-only): one specialisation
        wakes = strategy_wakes(self.strategy)
        self._mask = (WAKE_BOOK if "book" in wakes else 0) | (WAKE_TRADE if "trade" in wakes else 0)
        self._tops = np.empty(8, dtype=np.int64)  # the per-event top (`_top`) and the strategy's snapshot
        self._tops[:4] = self._top
        self._tops[4:] = [NO_PRICE if self.local_top[0] is None else self.local_top[0], self.local_top[1],
                          NO_PRICE if self.local_top[2] is None else self.local_top[2], self.local_top[3]]
        self._top, self._ltop = self._tops[:4], self._tops[4:]
        self._eq = np.zeros((max(16, min(1 << 20, n // 4 + 16)), EQ_COLS), dtype=np.int64)
        st = self._st = np.zeros(N_STATE, dtype=np.int64)
        self._sord = np.zeros((16, SO_COLS), dtype=np.int64)
        self._intents = np.zeros((MAX_INTENTS, 5), dtype=np.int64)
        kname = getattr(self.strategy, "nb_kernel", None) if self.strategy_kernels else None
        if kname is not None and "book" in wakes:
            if kname not in STRATEGY_KERNELS:
                raise SimError(f"strategy kernel: expected one of {sorted(STRATEGY_KERNELS)}, was {kname!r}")
            self._skid = STRATEGY_KERNELS[kname]
            params = [int(x) for x in self.strategy.nb_params()]
            st[S_SPARAMS: S_SPARAMS + len(params)] = params
            self._mask &= ~WAKE_BOOK  # the kernel runs the book callback in the loop
        st[S_SKID] = self._skid
        self._orders_dirty = True
        # the in-kernel order path (class docstring): its heap, rows and side map exist (empty) in every run, so
        # that the L2 kernel has one signature
        self._h = np.zeros((max(2, self._rows0 // 4), H_COLS), dtype=np.int64)
        rows = self._rows0 + (0 if self._tight else n // 64)  # a guess at a busy strategy's orders; rows grow
        self._drows = np.zeros((rows, D_COLS), dtype=np.int64)
        self._orows = np.zeros((rows, O_COLS), dtype=np.int64)
        self._frows = np.zeros((rows // 4, F_COLS), dtype=np.int64)
        self._side_arr = np.zeros(rows, dtype=np.int64)
        self._dmarks: list[tuple[int, int]] = []
        self._fast = self.used_in_kernel_orders = self._fast_eligible(wakes)
        if self._fast:
            st[S_KEY], st[S_NENTRY], st[S_NRESP], st[S_SEQ] = self._key, self._n_entry, self._n_resp, self._seq
            st[S_ACCT] = self.gw._acct.get(self.cfg.account, -1)  # as `process` looks them up (-1: unknown)
            st[S_STRAT] = self.gw._strat.get(self.cfg.strategy, -1)
            st[S_MULT] = multiplier
            st[S_POS], st[S_CASH], st[S_FEES] = self.position, self.cash, self.fees
        st[S_NOW] = self.clock.now_ns()
        st[S_SAMPLE_NS] = self.cfg.sample_ns if n else 0
        st[S_NEXT_SAMPLE] = int(self._loc[0]) if n else 0
        st[S_WAKE] = self._mask
        st[S_Y] = self.gw._sym.get(self.symbol, -1)
        st[S_HI] = 1 << 62
        t0 = time.perf_counter()
        self.strategy.on_start(self.ctx)
        timer_on = "timer" in wakes and self.strategy.timer_ns > 0
        if n and timer_on:
            self._push(int(self._loc[0]) + self.strategy.timer_ns, P_TIMER, ("timer",))
        chunk = max(n // 200, 1)
        heap = self.heap
        clock = self.clock
        strategy, ctx = self.strategy, self.ctx
        fast = self._fast
        gw = self.gw
        while True:
            if heap:
                st[S_BT], st[S_BP], st[S_BS] = heap[0][0], heap[0][1], heap[0][2]
            else:
                st[S_BT], st[S_BP], st[S_BS] = _I64_MAX, 9, 0
            if fast:  # the kernel owns position, cash and fees; the gateway's policy state is Python's
                st[S_FAST] = 1 if gw.enabled else 0
                st[S_MODE] = gw._mode
                st[S_STORM_NEXT] = min(gw._storm_next, _I64_MAX)
                self._room()
            else:
                st[S_POS], st[S_CASH], st[S_FEES] = self.position, self.cash, self.fees
            st[S_STOP] = n if progress is None else (int(st[S_ILOC]) // chunk + 1) * chunk
            if self._orders_dirty:
                self._sync_orders()
            entry, args = self._entry()
            code = int(entry(st, *args))
            now = int(st[S_NOW])
            if now > clock.now_ns():
                clock.set(now)
            self._sync_top()
            if fast:
                self.position, self.cash, self.fees = int(st[S_POS]), int(st[S_CASH]), int(st[S_FEES])
                if st[S_ORD_CHANGED]:
                    self._pull_orders()
                self._dmarks.append((int(st[S_ND]), len(self.decisions)))
            if code == W_GROW:
                continue  # `_room` (before the next call) makes the room
            if code == W_RFLAGS:
                gw._handle_flags(int(st[S_FLAGS]), clock.now_ns())
                continue
            if code == W_BOUND:
                t, _, _, item = heapq.heappop(heap)
                clock.set(max(t, clock.now_ns()))
                st[S_NOW] = clock.now_ns()
                if st[S_ILOC] >= n and st[S_IEX] >= n and item[0] == "timer":
                    continue  # the data is over: drain in-flight orders and reports, no more timers
                self._dispatch_item(t, item)
                if item[0] == "cmd" and item[1].action == INTENT_NEW:
                    st[S_HI] += 1  # the order may have taken the next slot of the L2 venue
                st[S_NOW] = clock.now_ns()
            elif code == W_BOOK:
                strategy.on_book(ctx)
            elif code == W_INTENTS:
                self._exec_intents(int(st[S_NINT]))
            elif code == W_TRADE:
                i = int(st[S_EV])
                kind, side = int(self._kind[i]), int(self._side[i])
                strategy.on_trade(ctx, side if kind == EV_TRADE else -side, int(self._price[i]), int(self._qty[i]))
                if int(self._flags[i]) & FLAG_EOM:
                    self._refresh_top()
                    self._on_book()
            elif code == W_FLAGS:
                self.gw._handle_flags(int(st[S_FLAGS]), clock.now_ns())
                self._on_book()
            elif code == W_REPORTS:
                v = self.venue if self._l3_venue else self.venue.v
                reps = v.out[: int(v.params[P_NREP])].copy()
                self._schedule_reports(int(st[S_T]), reps)
            elif code == W_LOCAL_FALLBACK:
                i = int(st[S_ILOC])
                clock.set(max(int(self._loc[i]), clock.now_ns()))
                self._apply_local_py(i)
                st[S_ILOC] = i + 1
                st[S_NOW] = clock.now_ns()
            elif code == W_EXCH_FALLBACK:
                i = int(st[S_IEX])
                t = int(exch[i])
                clock.set(max(t, clock.now_ns()))
                reps = self.venue.market(t, int(self._kind[i]), int(self._side[i]), int(self._price[i]),
                                         int(self._qty[i]), int(self._oid[i]))
                if len(reps):
                    self._schedule_reports(t, reps)
                st[S_IEX] = i + 1
                st[S_NOW] = clock.now_ns()
            elif code == W_EQ_FULL:
                self._eq = _grown(self._eq, 1)
                self._arg_key = None
            elif code == W_CHUNK:
                if progress is not None:
                    progress(int(st[S_ILOC]), n)
            elif code == W_END:
                break
            else:
                raise SimError(f"numba engine: expected a venue status ok, was {int(st[S_FLAGS])}")
        arrays = self._fast_finish() if fast else None
        if n and st[S_SAMPLE_NS] > 0:
            # the reference pops (and drops) the pending sample after the data ends: its time still moves the clock
            clock.set(max(int(st[S_NEXT_SAMPLE]), clock.now_ns()))
        ne = int(st[S_NEQ])
        rows = _rows_to(self._eq[:ne], EQUITY_DTYPE, ne + 1)  # `_output` takes it as the reference's list
        self._equity_rows = []
        self._sample()  # the final sample, exactly as the reference takes it
        rows[ne] = self._equity_rows[0]
        self._equity_rows = rows
        wall = time.perf_counter() - t0
        if progress is not None:
            progress(n, n)
        self._evm = self._loc = self._exch = None  # the matrix (and its row views) go back to the spare slot
        self._kind = self._side = self._price = self._qty = self._oid = self._flags = None
        self._arg_key = self._arg_cache = None
        _give_matrix(evm)
        return self._output(n, wall, arrays)


ENGINES: dict[str, type[Engine]] = {"python": Engine, "numba": NbEngine}
