"""How the L3 venue's kernels reach its OCO and bracket code (`hft.sim.exchange_l3.links`): through one C entry
whose address is kept in ``params[P_LINKFN]``.

The link code is a rare path (an order with a link filled, triggered or ended; a child entering), but a large
one: the release of a bracket child enters it as a new order. numba links a callee's IR into the module of every
kernel that calls it and optimises it there again, and the engine compiles many loop kernels that inline the
venue's steps: each would hold its own copy (bench/JOURNAL.md has the cost). Called through a C entry (a ``cfunc``
compiled once per process and cached), it is compiled once; a caller holds only the call.

`L3Venue` sets ``params[P_LINKFN]`` when it makes its ``params`` (`links.link_address`); every call here reads it.
Each wrapper below is one operation (``LK_*``) of the entry, `links.link_entry`.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from hft.core.jit import helper
from hft.sim.exchange_l3.layout import P_LINKFN

LK_LINKED = 0  # `links._linked`: what a fill, trigger or end of a linked order sets off
LK_RELEASE = 1  # `links._release`: the ready bracket children enter
LK_SIZE = 2  # `links._link_size`: may a NEW name these links, and what it enters for
LK_HOLD = 3  # `links._hold_linked`: a NEW held for its links
LINK_ARGS = 10  # integer arguments of each operation (the unused ones 0)


@intrinsic
def _call_entry(typingctx, addr, v, orders, cons, params, out, op, now, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9):
    """``_call_entry(addr, v, orders, cons, params, out, op, now, a0, ..., a9)``: call the C entry at `addr`
    (`links.link_entry`) with the view's eight pointers and three sizes, each array's data pointer and row count
    (`params` has `N_PARAMS`), `op`, `now` and ten integers; returns its int64.

    Preconditions (the entry reads through the pointers as `carray`s of the shapes passed): `addr` is the address
    of the live `links.link_entry` (`L3Venue` sets it from `links.link_address`, which keeps the entry alive for the
    process); `v` is the `L3View` of the book the arrays belong to; `orders` is C-contiguous ``[rows, N_OCOL]``,
    `cons` ``[rows, 3]`` (or empty: an operation that takes no liquidity), `params` ``[N_PARAMS]``, `out` a
    `VENUE_REPORT_DTYPE` vector: the venue's own arrays."""
    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        p64 = i64.as_pointer()
        p8 = ir.IntType(8).as_pointer()
        view = [builder.extract_value(args[1], k) for k in range(11)]
        arrs = [context.make_array(signature.args[k])(context, builder, args[k]) for k in (2, 3, 4, 5)]
        rows = [builder.extract_value(a.shape, 0) for a in arrs]
        fnty = ir.FunctionType(i64, [*[p64] * 8, i64, i64, i64, p64, i64, p64, i64, p64, p8, i64, *[i64] * (2 + LINK_ARGS)])
        fn = builder.inttoptr(args[0], fnty.as_pointer())
        call = [*view, builder.bitcast(arrs[0].data, p64), rows[0], builder.bitcast(arrs[1].data, p64), rows[1],
                builder.bitcast(arrs[2].data, p64), builder.bitcast(arrs[3].data, p8), rows[3]]
        call += [context.cast(builder, args[k], signature.args[k], types.int64) for k in range(6, len(args))]
        return builder.call(fn, call)

    return types.int64(addr, v, orders, cons, params, out, op, now, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9), codegen


@helper
def linked(v, orders, params, out, now, oid, oco, kids, got) -> bool:
    """`links._linked` through the entry: our order `oid` filled, triggered or ended, `oco` its pair's other, `kids`
    != 0 when its bracket children are to be readied with the `got` lots it filled. False: the reports did not fit."""
    return _call_entry(params[P_LINKFN], v, orders, orders[:0, :3], params, out, LK_LINKED, now, oid, oco, kids, got,
                       0, 0, 0, 0, 0, 0) != 0


@helper
def release(v, orders, cons, params, out, now) -> int:
    """`links._release` through the entry: the ready bracket children enter. A `V_*` status."""
    return _call_entry(params[P_LINKFN], v, orders, cons, params, out, LK_RELEASE, now, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


@helper
def link_size(v, orders, params, out, otype, qty, oco, parent) -> int:
    """`links._link_size` through the entry: `venue_common.LINK_BAD`, ``LINK_HELD`` or the lots a NEW enters for at
    once."""
    return _call_entry(params[P_LINKFN], v, orders, orders[:0, :3], params, out, LK_SIZE, 0, otype, qty, oco, parent,
                       0, 0, 0, 0, 0, 0)


@helper
def hold_linked(v, orders, params, out, n, oid, first_px, stop, display, trail, oco, parent, ready) -> None:
    """`links._hold_linked` through the entry: the NEW in row `n` is held for its links."""
    _call_entry(params[P_LINKFN], v, orders, orders[:0, :3], params, out, LK_HOLD, 0, n, oid, first_px, stop, display,
                trail, oco, parent, ready, 0)
