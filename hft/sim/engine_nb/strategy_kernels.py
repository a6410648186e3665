"""Strategy kernels: a strategy's book callback as a numba kernel inside the loop (`hft.sim.engine_nb`,
"Strategy kernels"). The registry `STRATEGY_KERNELS` maps a built-in strategy's ``nb_kernel`` name to its ``SK_*``
code in `strategy_on_book`. A kernel is the strategy's only implementation of its rule: its Python ``on_book``
calls `run_book_kernel`, which runs the same kernel on the context and sends the intents through it (`mm_on_book`
is `hft.sim.strategies.mm.MarketMaker`'s rule in every engine).

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
from numba import types
from numba.extending import intrinsic

from hft.core.dtypes import (
    BUY,
    NO_PRICE,
    SELL,
)
from hft.sim.engine_nb.state import (
    IN_CANCEL,
    IN_SUBMIT,
    MAX_INTENTS,
    N_STATE,
    S_NORD,
    S_POS,
    S_SKID,
    S_SKPTR,
    S_SPARAMS,
    SK_EXTERNAL,
    SK_MM,
    SO_COLS,
    SO_ID,
    SO_PRICE,
    SO_SIDE,
    SO_STATUS,
    SO_STATUS_CODES,
    _kernel,
)


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
    """The `mm` rule (`hft.sim.strategies.mm`, module docstring; its ``on_book`` runs this kernel): intents for the
    BUY side, then the SELL side; parameters in ``st[S_SPARAMS:]``: size, max_position, edge_ticks,
    skew_ticks_per_lot."""
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


@intrinsic
def _call_c_entry(typingctx, addr, st, ltop, sord, intents):
    """``_call_c_entry(addr, st, ltop, sord, intents)``: call the C entry at `addr` (`c_entry`) with the arrays'
    data pointers and the order view's row count; returns its int64."""
    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        p64 = i64.as_pointer()
        fnty = ir.FunctionType(i64, [p64, p64, p64, i64, p64])
        fn = builder.inttoptr(args[0], fnty.as_pointer())
        arrs = [context.make_array(signature.args[k])(context, builder, args[k]) for k in (1, 2, 3, 4)]
        rows = builder.extract_value(arrs[2].shape, 0)
        return builder.call(fn, [arrs[0].data, arrs[1].data, arrs[2].data, rows, arrs[3].data])

    return types.int64(addr, st, ltop, sord, intents), codegen


@_kernel
def strategy_on_book(st, ltop, sord, intents) -> int:
    """The strategy kernel registered under ``st[S_SKID]``: writes intents, returns their count."""
    if st[S_SKID] == SK_MM:
        return mm_on_book(st, ltop, sord, intents)
    if st[S_SKID] == SK_EXTERNAL:
        return _call_c_entry(st[S_SKPTR], st, ltop, sord, intents)
    return 0


STRATEGY_KERNELS = {"mm": SK_MM}  # a built-in strategy's ``nb_kernel`` name → its kernel in `strategy_on_book`
KERNEL_ENTRY_POINT_GROUP = "hft.strategy_kernels"
_C_ENTRIES: dict[int, tuple[Any, Any]] = {}  # id(kernel) → (kernel, its cfunc): compiled once per process


def resolve_kernel(spec: Any) -> Any:
    """An external strategy kernel from ``nb_kernel``: an njit function as is, or a spec string
    ``path/to/file.py:func``, ``package.module:func`` or a name in the entry-point group ``hft.strategy_kernels``
    (the same routes as strategies, `hft.sim.strategy_loader`). `SimError` naming the spec when it is not one."""
    from hft.core.errors import SimError

    obj = getattr(spec, "__func__", spec)  # a dispatcher read through an instance is a bound method
    if isinstance(spec, str):
        from hft.core.plugins import resolve
        from hft.sim.strategy_loader import offered

        obj = resolve(spec, group=KERNEL_ENTRY_POINT_GROUP, label="strategy kernel", what="function", error=SimError,
                      key="strategy", builtins=STRATEGY_KERNELS, candidates=offered).obj
    if not (callable(obj) and hasattr(obj, "py_func") and hasattr(obj, "compile")):
        raise SimError(f"strategy kernel {spec!r}: expected a numba @njit function "
                       f"(st, ltop, sord, intents) -> int, was {type(obj).__name__}", key="strategy")
    return obj


def c_entry(kernel: Any) -> Any:
    """The C entry of an external kernel (a ``cfunc``: data pointers of st, ltop, sord, the order view's row
    count and intents → the kernel's int64), compiled once per kernel and kept alive here."""
    hit = _C_ENTRIES.get(id(kernel))
    if hit is not None and hit[0] is kernel:
        return hit[1]
    from numba import carray, cfunc

    sig = types.int64(types.CPointer(types.int64), types.CPointer(types.int64), types.CPointer(types.int64),
                      types.int64, types.CPointer(types.int64))

    @cfunc(sig)
    def entry(st_p, ltop_p, sord_p, rows, intents_p):  # pragma: no cover - compiled
        return kernel(carray(st_p, (N_STATE,)), carray(ltop_p, (4,)), carray(sord_p, (rows, SO_COLS)),
                      carray(intents_p, (MAX_INTENTS, 5)))

    _C_ENTRIES[id(kernel)] = (kernel, entry)
    return entry


def kernel_code(spec: Any) -> tuple[int, int, Any]:
    """``(SK_* code, C entry address or 0, what must stay alive)`` of a strategy's ``nb_kernel``."""
    if isinstance(spec, str) and spec in STRATEGY_KERNELS:
        return STRATEGY_KERNELS[spec], 0, None
    entry = c_entry(resolve_kernel(spec))
    return SK_EXTERNAL, entry.address, entry


def run_book_kernel(name: Any, params: Sequence[int], ctx: Any) -> None:
    """Run the strategy kernel `name` with `params` from a Python ``on_book`` on context `ctx` (the reference
    engine, or the numba engine with ``strategy_kernels = False``): the kernel's inputs from the context (local
    top, position, the live orders in insertion order), then its intents sent in order through ``ctx.submit`` /
    ``ctx.cancel`` — the calls the numba engine makes for the same intents."""
    st = np.zeros(N_STATE, dtype=np.int64)
    code, addr, _entry = kernel_code(name)  # the C entry stays alive in `_C_ENTRIES`
    st[S_SKID] = code
    st[S_SKPTR] = addr
    st[S_POS] = ctx.position
    st[S_SPARAMS: S_SPARAMS + len(params)] = params
    orders = list(ctx.orders.values())
    sord = np.zeros((max(1, len(orders)), SO_COLS), dtype=np.int64)
    for j, o in enumerate(orders):
        sord[j] = (o.order_id, o.side, o.price, o.leaves, SO_STATUS_CODES[o.status], o.qty)
    st[S_NORD] = len(orders)
    bid, ask = ctx.best_bid, ctx.best_ask
    ltop = np.array([NO_PRICE if bid is None else bid, ctx.bid_qty, NO_PRICE if ask is None else ask, ctx.ask_qty],
                    dtype=np.int64)
    intents = np.zeros((MAX_INTENTS, 5), dtype=np.int64)
    n = int(strategy_on_book(st, ltop, sord, intents))
    for kind, side, price, qty, oid in intents[:n].tolist():
        if kind == IN_SUBMIT:
            ctx.submit(side, price, qty)
        else:
            ctx.cancel(oid)
