"""Strategy kernels: a strategy's book callback as a numba kernel inside the loop (`hft.sim.engine_nb`,
"Strategy kernels"). The registry `STRATEGY_KERNELS` maps a built-in strategy's ``nb_kernel`` name to its ``SK_*``
code in `strategy_on_book`. A kernel is the strategy's only implementation of its rule: its Python ``on_book``
runs the same kernel on the context through its `BookKernel` (arrays kept, filled in place) and sends the intents
through it (`mm_on_book` is `hft.sim.strategies.mm.MarketMaker`'s rule in every engine).

Kernels from outside the package (docs/extending.md, "Numba strategy kernels"): ``nb_kernel`` may also be an
njit function, ``path/to/file.py:func``, ``package.module:func`` or a name in the entry-point group
``hft.strategy_kernels`` (`resolve_kernel`). Such a kernel is compiled on its own and wrapped in a C entry
(`c_entry`: a ``cfunc`` taking the four arrays' data pointers); the loop calls it through that address
(``SK_EXTERNAL``, ``st[S_SKPTR]``), so the engine's cached kernels are never recompiled for a user's kernel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from llvmlite import ir
from numba import carray, cfunc, types
from numba.extending import intrinsic

from hft.core.dtypes import (
    BUY,
    NO_PRICE,
    SELL,
)
from hft.core.errors import SimError
from hft.core.jit import helper
from hft.core.orders import N_OPT, ORDER_LIMIT, REPORT_FILL, REPORT_PARTIAL_FILL, TIF_IOC, options_dict
from hft.core.plugins import resolve
from hft.sim.engine_nb.state import (
    AC_CASH,
    AC_COLS,
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
    DP_COLS,
    IN_CANCEL,
    IN_COLS,
    IN_DISPLAY,
    IN_EXPIRE,
    IN_KIND,
    IN_LEG,
    IN_OCO,
    IN_OPT,
    IN_ORDER_ID,
    IN_ORDER_TYPE,
    IN_PARENT,
    IN_PRICE,
    IN_QTY,
    IN_SIDE,
    IN_SUBMIT,
    IN_TIF,
    IN_TRAIL,
    IN_TRIGGER,
    KERNEL_INTENT,
    LM_COLS,
    LM_POS,
    MAX_INTENTS,
    N_STATE,
    S_LEG,
    S_NORD,
    S_POS,
    S_SKID,
    S_SKPTR,
    S_SPARAMS,
    SK_CONTEXT,
    SK_EXTERNAL,
    SK_HEDGED_MM,
    SK_MM,
    SO_COLS,
    SO_ID,
    SO_LEG,
    SO_PRICE,
    SO_QUEUE,
    SO_SIDE,
    SO_STATUS,
    SO_STATUS_CODES,
    TR_COLS,
    _kernel,
)


@_kernel
def put_intent(intents, n, kind, side, price, qty, order_id, leg, order_type, tif, trigger, expire=0, display=0,
               trail=0, oco=0, parent=0) -> int:
    """Write intent row `n`, each column of `KERNEL_INTENT` by name (its fields: this kernel's parameters after
    `n`, a test compares them); returns n + 1."""
    intents[n, IN_KIND] = kind
    intents[n, IN_SIDE] = side
    intents[n, IN_PRICE] = price
    intents[n, IN_QTY] = qty
    intents[n, IN_ORDER_ID] = order_id
    intents[n, IN_LEG] = leg
    intents[n, IN_ORDER_TYPE] = order_type
    intents[n, IN_TIF] = tif
    intents[n, IN_TRIGGER] = trigger
    intents[n, IN_EXPIRE] = expire
    intents[n, IN_DISPLAY] = display
    intents[n, IN_TRAIL] = trail
    intents[n, IN_OCO] = oco
    intents[n, IN_PARENT] = parent
    return n + 1


@_kernel
def _mm_side(st, side, j, want, pos, sord, intents, n) -> int:
    if j < 0:
        room = st[S_SPARAMS + 1] - side * pos
        if room > 0:
            return put_intent(intents, n, IN_SUBMIT, side, want, min(st[S_SPARAMS], room), 0, st[S_LEG], 0, 0, 0)
    elif sord[j, SO_STATUS] == 1 and sord[j, SO_PRICE] != want:
        return put_intent(intents, n, IN_CANCEL, 0, 0, 0, sord[j, SO_ID], st[S_LEG], 0, 0, 0)
    return n


# `mm`'s parameter bounds (`check_mm_params`, at construction) and the position it quotes at: with prices within
# ±2**60 ticks (the value domain, `hft.core.bounds`, which the engines check at set-up), every sum and product of
# `mm_on_book` fits int64: |skew| <= 2**41 * 2**20 = 2**61, |bid - edge - skew| < 2**60 + 2**40 + 2**61 (signed
# overflow is undefined behaviour to LLVM)
MM_MAX_QTY = 1 << 40  # size, max_position, |edge_ticks| (lots, ticks)
MM_MAX_SKEW = 1 << 20  # |skew_ticks_per_lot|
MM_MAX_POS = 1 << 41  # |position| at which `mm` quotes: max_position + size at most, by its own rule


def check_mm_params(size: int, max_position: int, edge_ticks: int, skew_ticks_per_lot: int) -> None:
    """`ValueError` naming the first of `mm`'s parameters outside its bounds (`MM_MAX_QTY`, `MM_MAX_SKEW`; the
    strategy loader turns it into a `ConfigError` naming the strategy)."""
    for name, v, lim in (("size", size, MM_MAX_QTY), ("max_position", max_position, MM_MAX_QTY),
                         ("edge_ticks", edge_ticks, MM_MAX_QTY), ("skew_ticks_per_lot", skew_ticks_per_lot, MM_MAX_SKEW)):
        if not -lim <= int(v) <= lim:
            raise ValueError(f"parameter '{name}': expected within ±{lim} (2**{lim.bit_length() - 1}), was {v}")


@helper  # inlined into `strategy_on_book` (it runs at most ends of message)
def mm_on_book(st, ltop, sord, intents) -> int:
    """The `mm` rule (`hft.sim.strategies.mm`, module docstring; its ``on_book`` runs this kernel): intents for the
    BUY side, then the SELL side; parameters in ``st[S_SPARAMS:]``: size, max_position, edge_ticks,
    skew_ticks_per_lot."""
    bid = ltop[0]
    ask = ltop[2]
    if bid == NO_PRICE or ask == NO_PRICE:
        return 0
    pos = st[S_POS]
    if pos > MM_MAX_POS or pos < -MM_MAX_POS:
        return 0  # beyond what its own rule reaches (max_position + size): no quote (the products below fit)
    skew = pos * st[S_SPARAMS + 3]
    edge = st[S_SPARAMS + 2]
    hb = -1
    hs = -1
    leg = st[S_LEG]
    for j in range(st[S_NORD]):  # one order per side at most; the last one seen wins
        if sord[j, SO_LEG] != leg:
            continue  # several legs: the callback's instrument only
        if sord[j, SO_SIDE] == BUY:
            hb = j
        elif sord[j, SO_SIDE] == SELL:
            hs = j
    n = _mm_side(st, BUY, hb, min(bid - edge - skew, ask - 1), pos, sord, intents, 0)
    return _mm_side(st, SELL, hs, max(ask + edge - skew, bid + 1), pos, sord, intents, n)


@intrinsic
def _call_c_entry(typingctx, addr, st, ltop, sord, intents):
    """``_call_c_entry(addr, st, ltop, sord, intents)``: call the C entry at `addr` (`c_entry`) with the arrays'
    data pointers and the order view's row count; returns its int64.

    Preconditions (what the C entry reads through the pointers, `carray` without bounds): `addr` is the address of
    a live `c_entry` cfunc of its signature (set by the driver from `kernel_code`, whose entry the engine keeps alive
    for the run: ``NbEngine._kentry``; 0 never reaches here: ``st[S_SKID] == SK_EXTERNAL`` only with an entry); the
    arrays are C-contiguous int64: `st` of `N_STATE`, `ltop` of 4 (a row's ``[4:8]``), `sord` of ``[rows, SO_COLS]``
    (its row count is passed), `intents` of ``[MAX_INTENTS, IN_COLS]`` (the driver's own arrays, allocated with these
    shapes and never resized but `sord`, whose new row count is passed at each call). The kernel's count is checked
    in the entry (`IN_BAD_COUNT`), so the loop never reads past the intent rows. Tested by the external-kernel tests
    (``tests/unit/sim/test_engine_ub.py``, which ``.ci/targets`` runs with ``NUMBA_BOUNDSCHECK=1`` too, and
    ``tests/cli/test_own_kernel_cli.py``)."""
    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        p64 = i64.as_pointer()
        fnty = ir.FunctionType(i64, [p64, p64, p64, i64, p64])
        fn = builder.inttoptr(args[0], fnty.as_pointer())
        arrs = [context.make_array(signature.args[k])(context, builder, args[k]) for k in (1, 2, 3, 4)]
        rows = builder.extract_value(arrs[2].shape, 0)
        return builder.call(fn, [arrs[0].data, arrs[1].data, arrs[2].data, rows, arrs[3].data])

    return types.int64(addr, st, ltop, sord, intents), codegen


@intrinsic
def _call_c_entry_ctx(typingctx, addr, st, ltop, sord, intents, depth, trades, acct):
    """``_call_c_entry_ctx(addr, st, ltop, sord, intents, depth, trades, acct)``: `_call_c_entry` for a kernel with
    the full context (`c_entry` of a seven-argument kernel), passing also the data pointers of the context arrays
    and the row counts of `depth` and `trades`. Preconditions as `_call_c_entry`'s, and: `depth` is C-contiguous
    ``[rows, DP_COLS]``, `trades` ``[rows, TR_COLS]`` and `acct` ``[AC_COLS]`` (the driver's, or `BookKernel`'s,
    allocated with these shapes); the rows passed are theirs."""
    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        p64 = i64.as_pointer()
        fnty = ir.FunctionType(i64, [p64, p64, p64, i64, p64, p64, i64, p64, i64, p64])
        fn = builder.inttoptr(args[0], fnty.as_pointer())
        a = [context.make_array(signature.args[k])(context, builder, args[k]) for k in range(1, 8)]
        rows = [builder.extract_value(a[k].shape, 0) for k in (2, 4, 5)]
        return builder.call(fn, [a[0].data, a[1].data, a[2].data, rows[0], a[3].data, a[4].data, rows[1], a[5].data,
                                 rows[2], a[6].data])

    return types.int64(addr, st, ltop, sord, intents, depth, trades, acct), codegen


@_kernel
def call_context_kernel(st, ltop, sord, intents, depth, trades, acct) -> int:
    """A kernel with the full context through its C entry at ``st[S_SKPTR]`` (from Python: `BookKernel.run`)."""
    return _call_c_entry_ctx(st[S_SKPTR], st, ltop, sord, intents, depth, trades, acct)


@helper
def call_external_kernel(st, ltop, sord, intents) -> int:
    """A four-argument kernel from outside the package through its C entry at ``st[S_SKPTR]``."""
    return _call_c_entry(st[S_SKPTR], st, ltop, sord, intents)


@helper
def leg_orders(sord, n, leg, out) -> int:
    """The rows of leg `leg` among the first `n` of the order view `sord`, in order, copied into `out` (as many
    rows): a kernel's view of its callback's instrument on several legs (``ctx.orders``); returns their count."""
    m = 0
    for j in range(n):
        if sord[j, SO_LEG] == leg:
            for c in range(SO_COLS):
                out[m, c] = sord[j, c]
            m += 1
    return m


@helper
def reset_intents(intents, leg) -> None:
    """Every intent row zeroed but its leg, `leg`: what a kernel from outside finds before each call on several
    legs (a kernel that writes no leg trades the callback's instrument)."""
    for j in range(intents.shape[0]):
        for c in range(intents.shape[1]):
            intents[j, c] = 0
        intents[j, IN_LEG] = leg


_HEDGE_MAX_I = 1 << 61  # lots: a hedge target or leg-1 position beyond it places no hedge (`hedge_on_book`)
_HEDGE_MAX = float(_HEDGE_MAX_I)


@_kernel
def hedge_on_book(st, sord, intents, tops, lm) -> int:
    """`hedged_mm`'s hedge rule (`hft.sim.strategies.hedged_mm`, module docstring): with no order of leg 1 in
    flight, a marketable IOC on leg 1 for the difference between its target ``-round(ratio × position of leg
    0)`` and its position, when at least ``min_hedge``. Parameters after `mm`'s four: the ratio (float64 bits; 0:
    the legs' mid ratio), min_hedge, hedge_slip_ticks. `tops` / `lm`: every leg's snapshot and position."""
    for j in range(st[S_NORD]):
        if sord[j, SO_LEG] == 1:
            return 0  # one hedge order in flight at a time
    ratio = st[S_SPARAMS + 4: S_SPARAMS + 5].view(np.float64)[0]
    b1 = tops[1, 4]
    a1 = tops[1, 6]
    if ratio == 0.0:
        b0 = tops[0, 4]
        a0 = tops[0, 6]
        if b0 == NO_PRICE or a0 == NO_PRICE or b1 == NO_PRICE or a1 == NO_PRICE or b1 + a1 == 0:
            return 0  # no mids, no value-neutral ratio (prices within ±2**62: the sums fit)
        ratio = (b0 + a0) / (b1 + a1)
    # the target as a float first: its conversion to int64 is defined only in range (NaN, inf or past 2**63 is
    # poison to LLVM), and the difference below only within ±2**62 each; a target or position beyond `_HEDGE_MAX`
    # lots places no hedge
    target = -(ratio * lm[0, LM_POS])
    p1 = lm[1, LM_POS]
    if not (-_HEDGE_MAX <= target <= _HEDGE_MAX) or p1 > _HEDGE_MAX_I or p1 < -_HEDGE_MAX_I:
        return 0  # (the position compared as an integer: as a float, 2**61 + 1 would round to 2**61)
    diff = np.int64(round(target)) - p1
    if abs(diff) < st[S_SPARAMS + 5]:
        return 0
    slip = st[S_SPARAMS + 6]
    if diff > 0 and a1 != NO_PRICE:
        return put_intent(intents, 0, IN_SUBMIT, BUY, a1 + slip, diff, 0, 1, ORDER_LIMIT, TIF_IOC, 0)
    if diff < 0 and b1 != NO_PRICE:
        return put_intent(intents, 0, IN_SUBMIT, SELL, b1 - slip, -diff, 0, 1, ORDER_LIMIT, TIF_IOC, 0)
    return 0


@helper  # at the loop kernels' ends of message (inlined by LLVM)
def strategy_on_book(st, ltop, sord, intents, tops, lm) -> int:
    """The strategy kernel registered under ``st[S_SKID]``: writes intents, returns their count. The callback's
    leg is ``st[S_LEG]``, `ltop` its snapshot; `tops` / `lm` hold every leg's (several legs: built-in kernels)."""
    if st[S_SKID] == SK_MM:
        return mm_on_book(st, ltop, sord, intents)
    if st[S_SKID] == SK_HEDGED_MM:
        if st[S_LEG] == 0:
            return mm_on_book(st, ltop, sord, intents)  # leg 0 is quoted by `mm`'s rule
        return hedge_on_book(st, sord, intents, tops, lm)
    if st[S_SKID] == SK_EXTERNAL:
        return call_external_kernel(st, ltop, sord, intents)
    return 0


@_kernel
def report_rule_leg(skid, leg, kind) -> int:
    """The order rule of the strategy kernel `skid`: after a report of `kind` about an order of leg `leg`, the leg
    whose book rule runs now (-1: none). `hedged_mm` hedges on each fill of a leg-0 quote (leg 1's rule); its
    Python ``on_order_update`` asks this kernel too, the numba engine's report path runs it in the loop."""
    if skid == SK_HEDGED_MM and leg == 0 and (kind == REPORT_FILL or kind == REPORT_PARTIAL_FILL):
        return 1
    return -1


# the strategy kernels with an order rule (`report_rule_leg`): their ``on_order_update`` is that rule, so the
# in-kernel order path serves them with the "order" wake
ORDER_RULE_KERNELS = frozenset({SK_HEDGED_MM})
# a built-in strategy's ``nb_kernel`` name → its kernel in `strategy_on_book`
STRATEGY_KERNELS = {"mm": SK_MM, "hedged_mm": SK_HEDGED_MM}
KERNEL_ENTRY_POINT_GROUP = "hft.strategy_kernels"
# id(kernel) → (kernel, its cfunc): a pure memo, one entry per kernel object a process defines; never evicted
# (an installed arena or a running loop holds the cfunc's address)
_C_ENTRIES: dict[int, tuple[Any, Any]] = {}


def resolve_kernel(spec: Any) -> Any:
    """An external strategy kernel from ``nb_kernel``: the object itself (a bound method's function), or what a spec
    string ``path/to/file.py:func``, ``package.module:func`` or a name in the entry-point group
    ``hft.strategy_kernels`` names (the same routes as strategies, `hft.sim.strategy_loader`); `SimError` naming
    the spec when it names nothing. `c_entry` checks it is a kernel (`hft.sim.kernel_check.check_kernel`)."""

    obj = getattr(spec, "__func__", spec)  # a dispatcher read through an instance is a bound method
    if isinstance(spec, str):
        # lazy: cycle (hft.sim.strategy_loader imports hft.sim.kernel_api, which imports this module)
        from hft.sim.strategy_loader import offered

        obj = resolve(spec, group=KERNEL_ENTRY_POINT_GROUP, label="strategy kernel", what="function", error=SimError,
                      key="strategy", builtins=STRATEGY_KERNELS, candidates=offered).obj
    return obj


IN_BAD_COUNT = -1  # intent kind the C entry writes in row 0 when the kernel returned a count outside 0..MAX_INTENTS
IN_BAD_N = IN_ORDER_ID  # ... and the column it writes that count in
_KERNEL_DOCS = "see docs/extending.md, \"Numba strategy kernels\""


def check_intents(n: int, intents: np.ndarray, who: str) -> int:
    """`n` when a strategy kernel's count is within ``0..MAX_INTENTS`` (the C entry marks one outside it as a row of
    kind `IN_BAD_COUNT`) and each of its first `n` intent rows is an ``IN_SUBMIT`` or ``IN_CANCEL``; else a one-line
    `SimError` starting with `who` (`hft.sim.kernel_check.strategy_label`)."""
    if n >= 1 and intents[0, IN_KIND] == IN_BAD_COUNT:
        raise SimError(f"{who}: returned {int(intents[0, IN_BAD_N])} intents: expected 0 to {MAX_INTENTS} "
                       "(MAX_INTENTS), the number of intent rows it wrote", key="strategy", hint=_KERNEL_DOCS)
    if not 0 <= n <= MAX_INTENTS:
        raise SimError(f"{who}: returned {n} intents: expected 0 to {MAX_INTENTS} (MAX_INTENTS), the number of "
                       "intent rows it wrote", key="strategy", hint=_KERNEL_DOCS)
    for j in range(n):
        kind = int(intents[j, IN_KIND])
        if kind not in (IN_SUBMIT, IN_CANCEL):
            # (empty: nothing in the columns before the leg, the ones every kernel writes)
            state = "is empty (action 0)" if not intents[j, :IN_LEG].any() else f"has action {kind}"
            raise SimError(f"{who}: returned {n} intents, but intent row {j} {state}: expected {IN_SUBMIT} "
                           f"(IN_SUBMIT) or {IN_CANCEL} (IN_CANCEL)", key="strategy", hint=_KERNEL_DOCS)
    return n


def c_entry(kernel: Any, who: str | None = None) -> Any:
    """The C entry of an external kernel (a ``cfunc``: data pointers of st, ltop, sord, the order view's row
    count and intents → the kernel's int64), compiled once per kernel and kept alive here. The kernel is checked
    first (`hft.sim.kernel_check.check_kernel`; `who` starts its error line). A count outside ``0..MAX_INTENTS``
    comes back as one intent row of kind ``IN_BAD_COUNT`` holding the count (the loop never reads past the intent
    rows; `check_intents` names it)."""
    hit = _C_ENTRIES.get(id(kernel))
    if hit is not None and hit[0] is kernel:
        return hit[1]
    # lazy: cycle (hft.sim.kernel_check imports hft.sim.engine_nb.state, whose package imports this module)
    from hft.sim.kernel_check import CONTEXT_ARITY, check_kernel, kernel_arity, kernel_name

    kernel = check_kernel(kernel, who or f"strategy kernel {kernel_name(kernel)}")
    hit = _C_ENTRIES.get(id(kernel))
    if hit is not None and hit[0] is kernel:
        return hit[1]

    p64 = types.CPointer(types.int64)
    if kernel_arity(kernel) == CONTEXT_ARITY:
        @cfunc(types.int64(p64, p64, p64, types.int64, p64, p64, types.int64, p64, types.int64, p64))
        def entry(st_p, ltop_p, sord_p, rows, intents_p, depth_p, drows, trades_p, trows, acct_p):  # pragma: no cover
            intents = carray(intents_p, (MAX_INTENTS, IN_COLS))
            n = kernel(carray(st_p, (N_STATE,)), carray(ltop_p, (4,)), carray(sord_p, (rows, SO_COLS)), intents,
                       carray(depth_p, (drows, DP_COLS)), carray(trades_p, (trows, TR_COLS)),
                       carray(acct_p, (AC_COLS,)))
            if n < 0 or n > MAX_INTENTS:
                intents[0, IN_KIND] = IN_BAD_COUNT
                intents[0, IN_BAD_N] = n
                return 1
            return n
    else:
        @cfunc(types.int64(p64, p64, p64, types.int64, p64))
        def entry(st_p, ltop_p, sord_p, rows, intents_p):  # pragma: no cover - compiled
            intents = carray(intents_p, (MAX_INTENTS, IN_COLS))
            n = kernel(carray(st_p, (N_STATE,)), carray(ltop_p, (4,)), carray(sord_p, (rows, SO_COLS)), intents)
            if n < 0 or n > MAX_INTENTS:
                intents[0, IN_KIND] = IN_BAD_COUNT
                intents[0, IN_BAD_N] = n
                return 1
            return n

    _C_ENTRIES[id(kernel)] = (kernel, entry)
    return entry


def kernel_code(spec: Any, who: str | None = None) -> tuple[int, int, Any]:
    """``(SK_* code, C entry address or 0, what must stay alive)`` of a strategy's ``nb_kernel`` (`who` names it
    in an error: `c_entry`): ``SK_CONTEXT`` for a kernel with the full context (seven arguments)."""
    if isinstance(spec, str) and spec in STRATEGY_KERNELS:
        return STRATEGY_KERNELS[spec], 0, None
    from hft.sim.kernel_check import CONTEXT_ARITY, kernel_arity  # lazy: cycle (as in `c_entry`)

    kernel = resolve_kernel(spec)
    entry = c_entry(kernel, who)
    return (SK_CONTEXT if kernel_arity(kernel) == CONTEXT_ARITY else SK_EXTERNAL), entry.address, entry


def context_arrays(depth_levels: int, trade_history: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A context kernel's ``(depth, trades, acct)`` (`hft.sim.kernel_api`): `depth_levels` and `trade_history`
    rows (at least one each: the C entry passes valid pointers; a kernel reads ``depth.shape[0]`` levels and
    ``acct[AC_NTRADES]`` trades)."""
    return (np.zeros((max(1, int(depth_levels)), DP_COLS), dtype=np.int64),
            np.zeros((max(1, int(trade_history)), TR_COLS), dtype=np.int64), np.zeros(AC_COLS, dtype=np.int64))


def loop_kernel_arrays(legs: int, depth_levels: int, trade_history: int,
                       order_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The numba loop's arrays for a kernel from outside: each leg's `context_arrays` (``[legs, ...]``; leg k's are
    row k, what the kernel gets) and a leg's order view (`leg_orders`: as many rows as the loop's, `order_rows`)."""
    depth, trades, acct = context_arrays(depth_levels, trade_history)
    return (np.zeros((legs, *depth.shape), dtype=np.int64), np.zeros((legs, *trades.shape), dtype=np.int64),
            np.zeros((legs, *acct.shape), dtype=np.int64), np.zeros((order_rows, SO_COLS), dtype=np.int64))


@_kernel
def _put_context(depth, bids, asks, acct, pos, cash, fees, mid2, now, pnl) -> None:
    """`fill_context`'s writes in one call: the levels `bids` / `asks` (``[k, 2]`` of price, qty: ``ctx.depth``)
    into `depth` (`NO_PRICE` and 0 past them) and the account row."""
    for i in range(depth.shape[0]):
        if i < bids.shape[0]:
            depth[i, DP_BID] = bids[i, 0]
            depth[i, DP_BID_QTY] = bids[i, 1]
        else:
            depth[i, DP_BID] = NO_PRICE
            depth[i, DP_BID_QTY] = 0
        if i < asks.shape[0]:
            depth[i, DP_ASK] = asks[i, 0]
            depth[i, DP_ASK_QTY] = asks[i, 1]
        else:
            depth[i, DP_ASK] = NO_PRICE
            depth[i, DP_ASK_QTY] = 0
    acct[AC_POS] = pos
    acct[AC_CASH] = cash
    acct[AC_FEES] = fees
    acct[AC_MID2] = mid2
    acct[AC_NOW] = now
    acct[AC_PNL] = pnl


def fill_context(ctx: Any, sord: np.ndarray, n_orders: int, depth: np.ndarray, trades: np.ndarray | None,
                 acct: np.ndarray, memo: list[Any] | None = None, real: int | None = None) -> None:
    """The context of a kernel from a Python `Context` (`hft.sim.strategy`, or the reference engine's), in place:
    its depth (``ctx.depth``), the queue ahead of each of the `n_orders` orders of `sord` (``int(ctx.queue_ahead)``:
    the venue's figure, floored to whole lots; -1 when it does not rest), its account row (``ctx.pnl_rounded`` its
    PnL, ``ctx.realized_pnl`` its realised PnL unless given as `real`), and (unless `trades` is
    None: the numba engine keeps its own) the last ``trade_history`` prints (``ctx.trades``). `memo` (``[newest
    print copied, prints copied]``, kept with `trades` between calls: `BookKernel`) skips the copy while no print
    arrived (a print is a new `Trade` object). The numba loop fills the same arrays from its own state
    (`hft.sim.engine_nb.streams._context_fill`)."""
    bids, asks = ctx.depth(depth.shape[0])
    for j in range(n_orders):
        sord[j, SO_QUEUE] = int(ctx.queue_ahead(int(sord[j, SO_ID])))
    if trades is not None:
        last = ctx.trades[-trades.shape[0]:] if trades.shape[0] else []
        if memo is None or not last or last[-1] is not memo[0] or len(last) != memo[1]:
            for j, t in enumerate(last):
                trades[j] = t  # a `Trade`: ts, side, price, qty (`TR_*` order)
            acct[AC_NTRADES] = len(last)
            if memo is not None:
                memo[0], memo[1] = (last[-1] if last else None), len(last)
    mid2 = ctx.mid2
    _put_context(depth, bids, asks, acct, ctx.position, ctx.cash, ctx.fees, NO_PRICE if mid2 is None else mid2,
                 ctx.now, ctx.pnl_rounded)
    acct[AC_REAL] = ctx.realized_pnl if real is None else real


class BookKernel:
    """A strategy kernel run from Python callbacks on a context (`run`): the reference engine, the numba engine with
    ``strategy_kernels = False``. Its code and C entry are resolved
    once and its arrays kept (the state row with the parameters, the order view, grown when the orders exceed it,
    the intents, every leg's top and position, a context kernel's depth / trades / account: `context_arrays`);
    each call fills them in place from the context and sends the intents through it. A strategy keeps one for its
    life (`book_kernel`: `hft.sim.kernel_api.KernelStrategy`, `mm`, `hedged_mm`)."""

    def __init__(self, name: Any, params: Sequence[int], who: str = "strategy kernel", depth_levels: int = 0,
                 trade_history: int = 0) -> None:
        self.who = who
        code, addr, self._entry = kernel_code(name, who)  # the entry stays alive here (and in `_C_ENTRIES`)
        self._context = code == SK_CONTEXT
        st = self._st = np.zeros(N_STATE, dtype=np.int64)
        st[S_SKID], st[S_SKPTR] = code, addr
        st[S_SPARAMS: S_SPARAMS + len(params)] = params
        self._sord = np.zeros((16, SO_COLS), dtype=np.int64)
        self._intents = np.zeros((MAX_INTENTS, IN_COLS), dtype=np.int64)
        self._tops = np.zeros((1, 8), dtype=np.int64)
        self._lm = np.zeros((1, LM_COLS), dtype=np.int64)
        self._kc = context_arrays(depth_levels, trade_history) if self._context else None
        self._memo: list[Any] = [None, 0]  # `fill_context`'s: the newest print copied and how many

    def run(self, ctx: Any) -> None:
        """The kernel on context `ctx`: its inputs from the context (its leg, every leg's top and position, the
        leg's live orders in insertion order; a context kernel's depth, queues, prints and account, `fill_context`),
        then its intents sent in order through ``submit`` / ``cancel`` of their leg's context — the calls the numba
        engine makes for them. An invalid count or intent row is a `SimError` starting with ``who``
        (`check_intents`)."""
        st, intents = self._st, self._intents
        k = ctx.leg_index
        st[S_LEG] = k
        st[S_POS] = ctx.position
        orders = ctx.orders
        sord = self._sord
        if len(orders) > sord.shape[0]:
            sord = self._sord = np.zeros((2 * len(orders), SO_COLS), dtype=np.int64)
        for j, o in enumerate(orders.values()):
            sord[j, :SO_QUEUE] = (o.order_id, o.side, o.price, o.leaves, SO_STATUS_CODES[o.status], o.qty, k)
        st[S_NORD] = len(orders)
        reset_intents(intents, k)
        if self._context:  # one leg's top (`ltop`) and the context arrays
            ltop = self._tops[0, 4:]
            bid, ask = ctx.best_bid, ctx.best_ask
            ltop[0] = NO_PRICE if bid is None else bid
            ltop[1] = ctx.bid_qty
            ltop[2] = NO_PRICE if ask is None else ask
            ltop[3] = ctx.ask_qty
            depth, trades, acct = self._kc
            fill_context(ctx, sord, len(orders), depth, trades, acct, self._memo)
            n = int(call_context_kernel(st, ltop, sord, intents, depth, trades, acct))
        else:  # the built-in kernels read every leg's top and position
            legs = [ctx.leg(j) for j in range(len(ctx.symbols))]
            if self._tops.shape[0] != len(legs):
                self._tops = np.zeros((len(legs), 8), dtype=np.int64)
                self._lm = np.zeros((len(legs), LM_COLS), dtype=np.int64)
            tops, lm = self._tops, self._lm
            for j, c in enumerate(legs):
                bid, ask = c.best_bid, c.best_ask
                tops[j, 4:] = (NO_PRICE if bid is None else bid, c.bid_qty, NO_PRICE if ask is None else ask,
                               c.ask_qty)
                lm[j, LM_POS] = c.position
            n = int(strategy_on_book(st, tops[k, 4:], sord, intents, tops, lm))
        if n == 0:
            return
        n = check_intents(n, intents, self.who)
        for r in map(KERNEL_INTENT.row._make, intents[:n].tolist()):  # each row by its fields' names
            if r.kind == IN_SUBMIT:
                ctx.leg(r.leg).submit(r.side, r.price, r.qty, r.order_type or None, r.tif or None,
                                      **options_dict(r[IN_OPT:IN_OPT + N_OPT]))
            else:
                ctx.cancel(r.order_id)


def book_kernel(strategy: Any, name: Any, who: str = "strategy kernel", depth_levels: int = 0,
                trade_history: int = 0) -> BookKernel:
    """The `BookKernel` of `strategy` for its kernel `name`, made at its first call with the strategy's
    ``nb_params()`` then and kept on the strategy (its parameters are fixed for its life)."""
    bk = strategy._book_kernel  # declared on `hft.sim.strategy.Strategy` (None until the first call)
    if bk is None:
        bk = strategy._book_kernel = BookKernel(name, strategy.nb_params(), who, depth_levels, trade_history)
    return bk


def run_book_kernel(name: Any, params: Sequence[int], ctx: Any, who: str = "strategy kernel", depth_levels: int = 0,
                    trade_history: int = 0) -> None:
    """Run the strategy kernel `name` with `params` once from a Python callback on context `ctx` (`BookKernel.run`,
    with arrays made for this call: a strategy calling it at every callback keeps a `BookKernel` instead). A kernel
    with the full context gets its arrays from the context (`fill_context`: `depth_levels` levels,
    `trade_history` prints)."""
    BookKernel(name, params, who, depth_levels, trade_history).run(ctx)


def float_param(x: float) -> int:
    """A float kernel parameter as the int64 of its float64 bits (a kernel reads it back with ``.view``)."""
    return int(np.array([x], dtype=np.float64).view(np.int64)[0])
