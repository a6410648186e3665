"""The market streams of the numba engine (numba kernels, inlined into the loops): the strategy's local view, its
top and the gateway mark, equity samples, the venues' market events, and the merged clock's pick of the next market
item (`hft.sim.engine_nb`)."""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload, register_jitable

from hft.book.l2 import (
    BOOK_ASK_BASE,
    BOOK_BEST_ASK,
    BOOK_BEST_BID,
    BOOK_BID_BASE,
    BOOK_N_ASK,
    BOOK_N_BID,
    L2_NEGATIVE_QTY,
    L2_OK,
    clear_arrays,
    set_level_inline,
    top_n_arrays,
)
from hft.book.l2_view import level_after, set_row_arrays
from hft.book.l3 import l3_view, queue_ahead_v
from hft.book.topn import level_index
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
from hft.core.jit import helper, inline_copy
from hft.core.money import round_money, round_owed
from hft.gateway import kernels as GK
from hft.sim.engine_nb.state import (
    _I64_MAX,
    _STORM,
    AC_CASH,
    AC_FEES,
    AC_MID2,
    AC_NOW,
    AC_NTRADES,
    AC_PNL,
    AC_POS,
    AC_REAL,
    DP_ASK,
    DP_ASK_QTY,
    DP_BID,
    DP_BID_QTY,
    EQ_ASK,
    EQ_BID,
    EQ_CASH,
    EQ_FEE_FRAC,
    EQ_FEES,
    EQ_MID2,
    EQ_POSITION,
    EQ_TS,
    FR_FEE,
    FR_FEE_FRAC,
    FR_OID,
    FR_PRICE,
    FR_QTY,
    FR_SIDE,
    LM_CASH,
    LM_FEES,
    LM_FFRAC,
    LM_MMB,
    LM_MULT,
    LM_POS,
    LM_ROWED,
    LM_RPOS,
    LM_RREAL,
    LM_Y,
    OI_LEG,
    S_FLAGS,
    S_LEG,
    S_MMB,
    S_MMQ,
    S_MULT,
    S_NF,
    S_NINT,
    S_NORD,
    S_POS,
    S_RN,
    S_ROWED,
    S_RPOS,
    S_RREAL,
    S_SKID,
    SK_CONTEXT,
    SK_EXTERNAL,
    SK_MM,
    SK_NONE,
    SO_ID,
    SO_QUEUE,
    TR_PRICE,
    TR_QTY,
    TR_SIDE,
    TR_TS,
    W_BOOK,
    W_ERROR,
    W_EXCH_FALLBACK,
    W_FLAGS,
    W_INTENTS,
    W_LOCAL_FALLBACK,
    W_MONEY,
    W_REPORTS,
    W_TRADE,
    WAKE_BOOK,
    WAKE_TRADE,
    _kernel,
)
from hft.sim.engine_nb.strategy_kernels import (
    call_context_kernel,
    call_external_kernel,
    leg_orders,
    reset_intents,
    strategy_on_book,
)
from hft.sim.exchange_l2 import (
    F_FRONT,
    LIVE_HELD,
    LIVE_WORKING,
    O_ID,
    O_LIVE,
    O_PRICE,
    O_SIDE,
    O_TRAIL,
    O_TRIGGER,
    OP_CLEAR,
    OP_DEPTH,
    OP_TRADE,
    V_OK,
    out_rows,
    step,
)
from hft.sim.exchange_l3 import (
    V_BAD_ID,
    V_NEED_LEVELS,
    V_NEED_ORDERS,
    out_need,
)
from hft.sim.exchange_l3.book_ops import _own_row_by_id
from hft.sim.exchange_l3.layout import O_INBOOK, O_KEY
from hft.sim.exchange_l3.steps import market_step_v
from hft.sim.fees import MONEY_REALIZED, mark_pnl, realized_fill
from hft.sim.run_events import (
    PRI_EXCH_MD,
    PRI_LOCAL_MD,
    PRI_TIMER,
)
from hft.sim.venue_common import P_NCONS, P_NREP, triggers

# Kernels inlined into the loop (`hft.core.jit.inline_copy`): the local view := reference row (`run_events.local_row`),
# the L3 venue's market event (`L3Venue.market`); the L2 level setter is the book's own `set_level_inline`
_set_row_i = inline_copy(set_row_arrays)
_market_step_i = inline_copy(market_step_v)


@helper
def _before(t1, p1, t2, p2) -> bool:
    return t1 < t2 or (t1 == t2 and p1 < p2)


@helper
def _qty_at(bq, aq, st, side, price) -> int:
    """`hft.book.l2.level_qty` on the unpacked arrays (BUY: bids, anything else: asks; 0 outside the range; any
    int64 price: `level_index`, no ``price - base`` overflow)."""
    if side == BUY:
        i = level_index(price, st[BOOK_BID_BASE], bq.shape[0])
        return bq[i] if i >= 0 else 0
    i = level_index(price, st[BOOK_ASK_BASE], aq.shape[0])
    return aq[i] if i >= 0 else 0


@helper
def _local_apply(bq, aq, bb, ab, st, kind, side, price, qty, is_l3, top) -> int:
    """`hft.book.l2_view.local_apply` on the unpacked arrays (same kernels, same statuses), without the top
    refresh (`_top_now`)."""
    if is_l3 and (kind == EV_ADD or kind == EV_CANCEL or kind == EV_DELETE or kind == EV_EXEC):
        status = set_level_inline(bq, aq, bb, ab, st, side, price, level_after(_qty_at(bq, aq, st, side, price), kind, qty))
    elif kind == EV_LEVEL_SET or kind == EV_SNAPSHOT_LEVEL:
        status = L2_NEGATIVE_QTY if qty < 0 else set_level_inline(bq, aq, bb, ab, st, side, price, qty)
    elif kind == EV_CLEAR:
        status = clear_arrays(bq, aq, bb, ab, st, side)
    else:
        status = L2_OK
    return status


@helper
def _top_now(bq, aq, st, top) -> None:
    """``top`` = [best bid, qty, best ask, qty] of the local view, as `local_apply` leaves it after each event.
    The loop computes it only where it is read: at an end of message, before a trade wake, and on return."""
    b = st[BOOK_BEST_BID]
    a = st[BOOK_BEST_ASK]
    top[0] = b
    top[1] = _qty_at(bq, aq, st, BUY, b) if b != NO_PRICE else 0
    top[2] = a
    top[3] = _qty_at(bq, aq, st, SELL, a) if a != NO_PRICE else 0


@helper
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


@helper
def _sample(tops, lm, eq, ne, now) -> bool:
    """Equity sample `ne` at `now` (`Engine._sample`): one row per leg (rows ``ne * legs + k``, leg k's top
    snapshot ``tops[k, 4:8]`` and accounting ``lm[k]``); False when `eq` is full."""
    nl = tops.shape[0]
    if (ne + 1) * nl > eq.shape[0]:
        return False
    for k in range(nl):
        r = ne * nl + k
        b = tops[k, 4]
        a = tops[k, 6]
        eq[r, EQ_TS] = now
        eq[r, EQ_MID2] = b + a if (b != NO_PRICE and a != NO_PRICE) else 0
        eq[r, EQ_POSITION] = lm[k, LM_POS]
        eq[r, EQ_CASH] = lm[k, LM_CASH]
        eq[r, EQ_FEES] = lm[k, LM_FEES]
        eq[r, EQ_FEE_FRAC] = lm[k, LM_FFRAC]
        eq[r, EQ_BID] = b if b != NO_PRICE else 0
        eq[r, EQ_ASK] = a if a != NO_PRICE else 0
    return True


@helper
def _local_leg(k, lbooks, tops, lm):
    """Leg `k`'s local side for the loop: its view's arrays, its per-event top and snapshot (rows of `tops`) and
    the gateway's symbol index (several legs: taken when the local stream changes leg)."""
    b = lbooks[k]
    return b.bid_qty, b.ask_qty, b.bid_blk, b.ask_blk, b.state, tops[k, 0:4], tops[k, 4:8], lm[k, LM_Y]


# --- the full context of a kernel that takes it (``SK_CONTEXT``; `hft.sim.kernel_api`) ------------------------------
register_jitable(round_money)  # `Context.cash` / `.fees` / `.realized_pnl`'s one rounding (`hft.core.money`, pure
_round_owed = helper(round_owed)  # Python) callable in the loop: the kernels call the same two functions
_QUEUE_MAX = 2.0 ** 62  # an L2 queue estimate at or past it is written as 2**62 lots (a float's conversion to int64
# is defined only in range); quantities are within the value domain (`hft.core.bounds`), far below it


def queue_fill(sord, n, vq) -> None:
    """``sord[j, SO_QUEUE]`` for the first `n` orders: the lots ahead of each in its venue queue, as the venue's
    ``queue_ahead`` states them (`Context.queue_ahead`, floored to whole lots; -1 when it does not rest). `vq`: the
    L2 venue's ``(orders, fq, hi)`` (the queue model's ``front``) or the L3 venue's ``(view, orders, params)`` (exact,
    `hft.book.l3.queue_ahead_v`). Numba only (`_queue_fill_impl` by the venue's kind)."""
    raise NotImplementedError("numba only")


@overload(queue_fill, jit_options={"_nrt": False})
def _queue_fill_impl(sord, n, vq):
    if isinstance(vq.types[0], types.Array):  # the L2 venue's order table (the L3 venue's: its book's view)
        def l2(sord, n, vq):
            orders, fq, hi = vq
            for j in range(n):
                oid = sord[j, SO_ID]
                q = -1
                for i in range(min(hi, orders.shape[0])):
                    if orders[i, O_LIVE] == LIVE_WORKING and orders[i, O_ID] == oid:
                        f = fq[i, F_FRONT]
                        q = 0 if not f > 0.0 else (np.int64(f) if f < _QUEUE_MAX else np.int64(1) << 62)
                        break
                sord[j, SO_QUEUE] = q
        return l2

    def l3(sord, n, vq):
        vv, orders, params = vq
        for j in range(n):
            r = _own_row_by_id(orders, params, sord[j, SO_ID])
            sord[j, SO_QUEUE] = -1 if r < 0 or orders[r, O_INBOOK] != 1 else queue_ahead_v(vv, orders[r, O_KEY])
    return l3


@helper
def _realized_fold(st, frows, lm, order_info) -> bool:
    """Fold the in-kernel order path's fill rows the realised PnL has not seen (``frows[st[S_RN]:st[S_NF]]``) into
    its state by `hft.sim.fees.realized_fill`, as `hft.sim.fees.realized_after` folds ``ctx.fills``: one leg's in
    ``st[S_RPOS:S_ROWED + 1]``; several legs' each in its row of `lm` (``LM_RPOS``...), a row folded into the leg of
    its order (`order_info`). False, with ``st[S_RN]`` at the fill, when a value would not fit int64."""
    one = lm.shape[0] == 1
    b = S_RPOS if one else LM_RPOS
    for r in range(st[S_RN], st[S_NF]):
        k = 0 if one else order_info[frows[r, FR_OID], OI_LEG]
        row = st if one else lm[k]
        ok, pos, cost, real, owed = realized_fill(row[b], row[b + 1], row[b + 2], row[b + 3], frows[r, FR_SIDE],
                                                  frows[r, FR_PRICE], frows[r, FR_QTY], frows[r, FR_FEE],
                                                  frows[r, FR_FEE_FRAC], st[S_MULT] if one else lm[k, LM_MULT])
        if not ok:
            return False
        st[S_RN] = r + 1
        row[b] = pos
        row[b + 1] = cost
        row[b + 2] = real
        row[b + 3] = owed
    return True


@helper
def _context_fill(st, ltop, sord, n, kc, kl, vq, lbq, laq, lst, now, frows, lm, order_info) -> bool:
    """A context kernel's depth, queue column and account row of leg `kl` (`kc`: every leg's depth, trades and
    acct), from the leg's local view's arrays, its venue (`vq`: `queue_fill` of the first `n` rows of its order view
    `sord`) and its row of the leg matrix `lm` (its accounting; the realised PnL's state, the new fill rows `frows`
    folded first: `_realized_fold`); the same figures as `strategy_kernels.fill_context` reads from the leg's
    `Context`. False when the realised PnL would not fit int64 (nothing filled)."""
    if not _realized_fold(st, frows, lm, order_info):
        return False
    depth = kc[0][kl]
    acct = kc[2][kl]
    top_n_arrays(lbq, laq, lst, depth[:, DP_BID], depth[:, DP_BID_QTY], depth[:, DP_ASK], depth[:, DP_ASK_QTY])
    queue_fill(sord, n, vq)
    one = lm.shape[0] == 1  # (one leg: `lm` is the state row's S_POS.. columns)
    pos = lm[kl, LM_POS]
    cash = lm[kl, LM_CASH]
    ff = lm[kl, LM_FFRAC]  # the fees' millionths: owed beyond the cash
    acct[AC_POS] = pos
    acct[AC_CASH] = _round_owed(cash, ff)
    acct[AC_FEES] = round_money(lm[kl, LM_FEES], ff)
    b = ltop[0]
    a = ltop[2]
    mid2 = b + a if (b != NO_PRICE and a != NO_PRICE) else NO_PRICE
    acct[AC_MID2] = mid2
    acct[AC_NOW] = now
    acct[AC_PNL] = mark_pnl(pos, cash, ff, mid2, st[S_MULT] if one else lm[kl, LM_MULT])
    acct[AC_REAL] = _round_owed(st[S_RREAL], st[S_ROWED]) if one else _round_owed(lm[kl, LM_RREAL],
                                                                                   lm[kl, LM_ROWED])
    return True


@helper
def trade_push(trades, acct, t, side, price, qty) -> None:
    """Keep a trade print in a context kernel's `trades` (the last ``trades.shape[0]`` prints, oldest first, in
    ``acct[AC_NTRADES]`` rows; `Context.trades`)."""
    rows = trades.shape[0]
    if rows == 0:
        return
    k = acct[AC_NTRADES]
    if k >= rows:
        for j in range(rows - 1):
            trades[j, TR_TS] = trades[j + 1, TR_TS]
            trades[j, TR_SIDE] = trades[j + 1, TR_SIDE]
            trades[j, TR_PRICE] = trades[j + 1, TR_PRICE]
            trades[j, TR_QTY] = trades[j + 1, TR_QTY]
        k = rows - 1
    trades[k, TR_TS] = t
    trades[k, TR_SIDE] = side
    trades[k, TR_PRICE] = price
    trades[k, TR_QTY] = qty
    acct[AC_NTRADES] = k + 1


@helper
def _kernel_call(st, ltop, sord, intents, kl, kc, vq, lbq, laq, lst, now, frows, lm, order_info) -> int:
    """A kernel from outside on leg `kl` with the order view `sord` (``st[S_NORD]`` rows): a context kernel gets
    the leg's context first (`_context_fill`; -1, nothing called, when its realised PnL would not fit int64)."""
    if st[S_SKID] == SK_CONTEXT:
        if not _context_fill(st, ltop, sord, st[S_NORD], kc, kl, vq, lbq, laq, lst, now, frows, lm, order_info):
            return -1
        return call_context_kernel(st, ltop, sord, intents, kc[0][kl], kc[1][kl], kc[2][kl])
    return call_external_kernel(st, ltop, sord, intents)


@helper
def _external_on_book(st, ltop, sord, intents, lm, kl, kc, vq, lbq, laq, lst, now, frows, order_info) -> int:
    """A kernel from outside the package (``SK_EXTERNAL``, ``SK_CONTEXT``) at an end of message of leg `kl` with its
    arrays in `kc` (`_kernel_call`; -1: a context kernel's realised PnL would not fit int64); on several legs by
    `_external_on_leg`."""
    if lm.shape[0] == 1:
        return _kernel_call(st, ltop, sord, intents, kl, kc, vq, lbq, laq, lst, now, frows, lm, order_info)
    return _external_on_leg(st, ltop, sord, intents, lm, kl, kc, vq, lbq, laq, lst, now, frows, order_info)


@helper(outline=True)  # out of the one-leg loop's body, which it would make slower
def _external_on_leg(st, ltop, sord, intents, lm, kl, kc, vq, lbq, laq, lst, now, frows, order_info) -> int:
    """`_external_on_book` on several legs: the kernel gets what `strategy_kernels.BookKernel.run` gives it from
    the leg's `Context`, the leg's orders only (`leg_orders` into ``kc[3]``, ``st[S_NORD]`` their count during the
    call) and intent rows zeroed with the leg's index (a kernel that writes no leg trades the callback's
    instrument)."""
    nord = st[S_NORD]
    st[S_NORD] = leg_orders(sord, nord, kl, kc[3])
    reset_intents(intents, kl)
    ni = _kernel_call(st, ltop, kc[3], intents, kl, kc, vq, lbq, laq, lst, now, frows, lm, order_info)
    st[S_NORD] = nord
    return ni


@helper
def _book_rule(st, ltop, sord, intents, tops, lm, kl, kc, vq, lbq, laq, lst, now, frows, order_info) -> int:
    """`strategy_on_book` at an end of message of leg `kl`. `mm` reads only the leg's bid, ask and position and the
    order view, and writes nothing when it returns 0: after a call of a leg that wrote no intent, that leg's call is
    skipped until one of them changes (``S_MMQ`` bit `kl`; a change of leg `kl`'s orders in the view clears it,
    `order_path._memo_clear`, and each kernel entry clears every leg's). The memo: one leg's in ``st[S_MMB:]``, several legs' in their rows of `lm`.
    A kernel from outside with its arrays `kc` (a context kernel; any on several legs) runs by `_external_on_book`
    (-1: its realised PnL would not fit int64)."""
    memo = st[S_SKID] == SK_MM and kl < 63  # a bit of S_MMQ per leg
    bit = (1 << kl) if memo else 0  # (a shift by 64 or more is poison to LLVM: never formed)
    one = lm.shape[0] == 1
    mb = S_MMB if one else LM_MMB  # the memo's first column: of the state row (one leg) or of leg kl's row
    mrow = st if one else lm[kl]
    if memo and (st[S_MMQ] & bit) != 0 and ltop[0] == mrow[mb] and ltop[2] == mrow[mb + 1] \
            and st[S_POS] == mrow[mb + 2]:
        return 0
    if kc is not None and (st[S_SKID] == SK_CONTEXT or st[S_SKID] == SK_EXTERNAL):  # (kc None: pruned by type)
        return _external_on_book(st, ltop, sord, intents, lm, kl, kc, vq, lbq, laq, lst, now, frows, order_info)
    ni = strategy_on_book(st, ltop, sord, intents, tops, lm)
    if memo and ni == 0:
        st[S_MMQ] |= bit
        mrow[mb] = ltop[0]
        mrow[mb + 1] = ltop[2]
        mrow[mb + 2] = st[S_POS]
    return ni


@helper
def _local(st, i, kind, side, price, qty, flags, lbq, laq, lbb, lab, lst, top, ltop, is_l3, arena, wake, y,
           now, sord, intents, lref, ri, kl, tops, lm, kc, vq, frows, order_info) -> int:
    """One local market event (`Engine._apply_local`) of leg `kl`; -1 when done without a wake, else the wake
    code (`W_LOCAL_FALLBACK`: nothing applied). With reference rows (`lref` has rows) the view becomes row `ri` (the
    event's index in its leg's own stream: `i` for one leg). `kc`: the arrays of a kernel from outside (`_book_rule`),
    `vq` leg `kl`'s venue's for the queue column (`queue_fill`), `frows` the in-kernel order path's fill rows and
    `order_info` each order's leg (its realised PnL: `_realized_fold`; W_MONEY with ``st[S_FLAGS]``
    `hft.sim.fees.MONEY_REALIZED` when it would not fit int64)."""
    k = kind[i]
    if lref.shape[0] > 0:
        if _set_row_i(lbq, laq, lbb, lab, lst, lref, ri, ri > 0) != L2_OK:
            return W_LOCAL_FALLBACK  # a row price outside the view's range: Python grows it (nothing applied)
    elif _local_apply(lbq, laq, lbb, lab, lst, k, side[i], price[i], qty[i], is_l3, top) != L2_OK:
        return W_LOCAL_FALLBACK
    if k == EV_TRADE or k == EV_EXEC or k == EV_HIDDEN_EXEC:
        if (wake & WAKE_TRADE) != 0:
            return W_TRADE  # the loop refreshes `top` on return
        if kc is not None and st[S_SKID] == SK_CONTEXT:  # an L3 execution's side is the resting order's
            trade_push(kc[1][kl], kc[2][kl], now, side[i] if k == EV_TRADE else -side[i], price[i], qty[i])
    if flags[i] & FLAG_EOM:
        _top_now(lbq, laq, lst, top)
        fl = _refresh(top, ltop, arena, y, now)
        if fl & _STORM:
            st[S_FLAGS] = fl
            return W_FLAGS
        if st[S_SKID] != SK_NONE:
            if tops.shape[0] > 1:  # several legs: the kernel's callback is leg kl's (one leg: st is its row)
                st[S_LEG] = kl
                st[S_POS] = lm[kl, LM_POS]
            ni = _book_rule(st, ltop, sord, intents, tops, lm, kl, kc, vq, lbq, laq, lst, now, frows, order_info)
            if kc is not None and ni < 0:  # (kc None: pruned by type, as in `_book_rule`)
                st[S_FLAGS] = MONEY_REALIZED
                return W_MONEY
            if ni > 0:
                st[S_NINT] = ni
                return W_INTENTS
        if wake & WAKE_BOOK:
            return W_BOOK
    return -1


@_kernel
def _live_hi(orders, bound) -> int:
    """1 + the last live slot (working or a held stop) of the L2 venue's order table, searched below `bound` (the
    driver keeps it an upper bound: a new order takes the lowest free slot, so each NEW can raise it by one at
    most)."""
    j = min(bound, orders.shape[0]) - 1
    while j >= 0 and orders[j, O_LIVE] == 0:
        j -= 1
    return j + 1


@helper
def _depth_is_noop(vorders, hi, vst, s, p) -> bool:
    """With nothing consumed: does `step(OP_DEPTH)` at (s, p) change nothing? (no order of ours at that level,
    none crossed by the best prices, which are the effective best prices when nothing is consumed)"""
    bb = vst[BOOK_BEST_BID]
    ba = vst[BOOK_BEST_ASK]
    for j in range(hi):
        if vorders[j, O_LIVE] != LIVE_WORKING:
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


@helper
def _trade_is_noop(vorders, hi, aggressor, p) -> bool:
    """Does `step(OP_TRADE)` change nothing? (no order of ours on the passive side at or through `p`, no held stop
    the print triggers, no held trailing stop: every print may move its trigger)"""
    passive = -aggressor
    for j in range(hi):
        live = vorders[j, O_LIVE]
        if live != 1:
            if live == LIVE_HELD and (vorders[j, O_TRAIL] != 0
                                      or triggers(vorders[j, O_SIDE], vorders[j, O_TRIGGER], p)):
                return False
            continue
        if vorders[j, O_SIDE] != passive:
            continue
        px = vorders[j, O_PRICE]
        if (passive == BUY and p <= px) or (passive == SELL and p >= px):
            return False
    return True


@helper
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
            return -1 if set_level_inline(vbq, vaq, vbb, vab, vst, s, p, q) == L2_OK else W_EXCH_FALLBACK
        levels = vst[BOOK_N_BID] + vst[BOOK_N_ASK] + 1
        if vout.shape[0] < out_rows(vorders, vparams, levels) or vcons.shape[0] - vparams[P_NCONS] < levels + 1:
            return W_EXCH_FALLBACK  # the Python venue sizes its buffers first
        if set_level_inline(vbq, vaq, vbb, vab, vst, s, p, q) != L2_OK:
            return W_EXCH_FALLBACK  # out of range: nothing changed, the Python venue grows the book
        if vparams[P_NCONS] == 0 and _depth_is_noop(vorders, hi, vst, s, p):
            return -1  # the step would change nothing (no report): skip its call
        vparams[P_NREP] = 0
        status = step(vbook, vorders[:hi], vfq[:hi], vcons, qm, vparams, vout, OP_DEPTH, t, 0, s, p, q, 0, 0, prev, 0, 0, 0)
    elif k == EV_TRADE and s != 0:
        if (s != BUY and s != SELL) or q <= 0:
            return W_EXCH_FALLBACK
        if hi == 0 or _trade_is_noop(vorders, hi, s, p):
            return -1  # TRADE only looks at our orders on the passive side at or through its price
        levels = vst[BOOK_N_BID] + vst[BOOK_N_ASK] + 1
        if vout.shape[0] < out_rows(vorders, vparams, levels) or vcons.shape[0] - vparams[P_NCONS] < levels + 1:
            return W_EXCH_FALLBACK
        vparams[P_NREP] = 0
        status = step(vbook, vorders[:hi], vfq[:hi], vcons, qm, vparams, vout, OP_TRADE, t, 0, s, p, q, 0, 0, 0, 0, 0, 0)
    elif k == EV_CLEAR:
        if hi == 0 and vparams[P_NCONS] == 0:
            clear_arrays(vbq, vaq, vbb, vab, vst, s)
            return -1
        levels = vst[BOOK_N_BID] + vst[BOOK_N_ASK] + 1
        if vout.shape[0] < out_rows(vorders, vparams, levels) or vcons.shape[0] - vparams[P_NCONS] < levels + 1:
            return W_EXCH_FALLBACK
        clear_arrays(vbq, vaq, vbb, vab, vst, s)
        vparams[P_NREP] = 0
        status = step(vbook, vorders[:hi], vfq[:hi], vcons, qm, vparams, vout, OP_CLEAR, t, 0, s, 0, 0, 0, 0, 0, 0, 0, 0)
    else:
        return -1
    if status != V_OK:
        st[S_FLAGS] = status
        return W_ERROR
    if vparams[P_NREP] > 0:
        return W_REPORTS
    return -1


@helper
def _exch_l3(st, i, t, kind, side, price, qty, oid, vv, vorders, vcons, vparams, vout, vref) -> int:
    """One exchange market event on the L3 venue (`hft.sim.exchange_l3.L3Venue.market`, with its reference resync
    when `vref` has rows; `vv`: the view of its book); -1 / wake code."""
    width = vv.n
    if vout.shape[0] < out_need(vparams, width, vref) or vcons.shape[0] - vparams[P_NCONS] < width + 1:
        return W_EXCH_FALLBACK
    vparams[P_NREP] = 0
    status = _market_step_i(vv, vorders, vcons, vparams, vout, vref, t, kind[i], side[i], price[i], qty[i], oid[i])
    if status == V_NEED_LEVELS or status == V_NEED_ORDERS or status == V_BAD_ID:
        return W_EXCH_FALLBACK  # nothing changed: the Python venue grows (or raises) and applies it
    if status != V_OK:
        st[S_FLAGS] = status
        return W_ERROR
    if vparams[P_NREP] > 0:
        return W_REPORTS
    return -1


@helper
def _venue_l3_leg(k, vbooks, vorders, vcons, vparams, vouts, vrefs):
    """Leg `k`'s L3 venue for the loop: the view of its book and its arrays (taken when the exchange stream changes
    leg)."""
    return l3_view(vbooks[k]), vorders[k], vcons[k], vparams[k], vouts[k], vrefs[k]


@helper
def _venue_l2_leg(k, vbooks, vorders, vfqs, vcons, qms, vparams, vouts):
    """Leg `k`'s L2 venue for the loop: its book (and the book's arrays) and its arrays."""
    b = vbooks[k]
    return (b, b.bid_qty, b.ask_qty, b.bid_blk, b.ask_blk, b.state, vorders[k], vfqs[k], vcons[k], qms[k], vparams[k],
            vouts[k])


@intrinsic
def _prefetch(typingctx, arr, idx):
    """``_prefetch(arr, i)``: ask the CPU to bring the cache line of element `i` of a C-contiguous array's data (in
    memory order: ``arr[i]`` of a 1-D array, ``arr[i // cols, i % cols]`` of a 2-D one) into L1 for a read
    (``llvm.prefetch``: a hint; never faults, also past the end).

    Precondition: ``0 <= i < arr.size`` (its only caller, `_prefetch_rows`, checks ``j < evm.shape[1]`` on a row of
    `evm`, and its `i` is a loop index >= 0). The address is a plain ``getelementptr`` (not ``inbounds``): even an
    index past the end would be a defined address, never dereferenced; the hint reads no value, so no answer depends
    on it (`tests/unit/sim/test_engine_nb.py` runs several legs on the L2 venue, where it is used)."""
    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(builder.gep(ary.data, [args[1]]), i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


# Several legs on the L2 venue (`run_l2`): how far ahead (events) the loop prefetches the event matrix's rows
# (`_prefetch_rows`). `run_l3` prefetches nothing: on LOBSTER GOOG + AMZN the hints cost more than the misses they
# saved once the L3 book's order slot was one line (bench/JOURNAL.md, "legs7"); `run_l2`'s were not measured again.
PREFETCH_AHEAD = 16


@helper
def _prefetch_rows(evm, i, r0, r1, r2, r3, r4, r5, r6, r7) -> None:
    """Once per cache line of a stream (every 8th event `i`): prefetch rows r0..r7 of the event matrix
    `PREFETCH_AHEAD` events ahead (several legs; a row given twice costs one hint more)."""
    if (i & 7) == 0:
        j = i + PREFETCH_AHEAD
        if j < evm.shape[1]:
            _prefetch(evm[r0], j)
            _prefetch(evm[r1], j)
            _prefetch(evm[r2], j)
            _prefetch(evm[r3], j)
            _prefetch(evm[r4], j)
            _prefetch(evm[r5], j)
            _prefetch(evm[r6], j)
            _prefetch(evm[r7], j)


@helper
def _pick(i_loc, i_ex, n, loc_t, ex_t, ex_last, ns, sample_ns):
    """The next market item in (time, priority) order: (source, time, priority); source 0 = none,
    1 local data, 2 equity sample, 3 exchange data. `ex_t`: the venue's clock at each exchange event (the event
    matrix's row 2, `hft.sim.latency.venue_times`)."""
    src = 0
    ct = _I64_MAX
    cp = 9
    if i_loc < n:
        src = 1
        ct = loc_t[i_loc]
        cp = PRI_LOCAL_MD
    if (i_loc < n or ex_last >= ns) and sample_ns > 0 and _before(ns, PRI_TIMER, ct, cp):
        src = 2  # samples run while there is data (the reference drops them after its end)
        ct = ns
        cp = PRI_TIMER
    if i_ex < n and _before(ex_t[i_ex], PRI_EXCH_MD, ct, cp):
        src = 3
        ct = ex_t[i_ex]
        cp = PRI_EXCH_MD
    return src, ct, cp
