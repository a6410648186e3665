"""The L3 venue's OCO pairs and bracket children (`hft.sim.exchange_l3`, module docstring): the rules, and the one C
entry the venue's kernels reach them through (`hft.sim.exchange_l3.link_call`, which says why).

`link_entry` is the source of a ``cfunc`` compiled once per process (and cached) holding `_linked`, `_release`, `_link_size` and
`_hold_linked`; `link_address` is its address, which `L3Venue` keeps in ``params[P_LINKFN]``.
"""

from __future__ import annotations

from numba import carray, cfunc, types

from hft.book.l3 import L3View
from hft.core.jit import helper
from hft.core.order_rules import is_stop
from hft.core.orders import REPORT_CANCELED, REPORT_REPLACED
from hft.sim.exchange_l2 import LIQ_NONE, VENUE_REPORT_DTYPE
from hft.sim.exchange_l3.book_ops import _drop_row, _end, _own_row_by_id, _remove_row
from hft.sim.exchange_l3.layout import (
    IN_KID,
    IN_READY,
    N_OCOL,
    N_PARAMS,
    O_ARRIVAL,
    O_DISPLAY,
    O_EXEC,
    O_ID,
    O_INBOOK,
    O_KIDS,
    O_LEAVES,
    O_OCO,
    O_PARENT,
    O_PRICE,
    O_QTY,
    O_SIDE,
    O_TIF,
    O_TRAIL,
    O_TRIGGER,
    O_TYPE,
    P_DONE,
    P_LINKGEN,
    P_NHELD,
    P_NORD,
    P_NREADY,
    V_OK,
    V_REPORTS_FULL,
)
from hft.sim.exchange_l3.link_call import LK_HOLD, LK_LINKED, LK_RELEASE, LK_SIZE
from hft.sim.exchange_l3.steps import _new
from hft.sim.venue_common import emit, link_size

__all__ = ["link_address", "link_entry"]


@helper  # inlined into `_linked`, its only caller
def _kids_ready(orders, params, pid, got) -> None:
    """The bracket entry `pid` has no leaves, having filled `got` lots: each child held for it is ready to enter
    (`_release`) for at most that many lots (0: it will be cancelled)."""
    for s in range(params[P_NORD]):
        if orders[s, O_INBOOK] == IN_KID and orders[s, O_PARENT] == pid:
            orders[s, O_INBOOK] = IN_READY
            params[P_NREADY] += 1
            q = min(orders[s, O_QTY], got)
            orders[s, O_QTY] = q
            orders[s, O_LEAVES] = q


@helper  # inlined into the entry
def _linked(v, orders, params, out, now, oid, oco, kids, got) -> bool:
    """What a fill, a trigger or the end of our order `oid` sets off, the one place of the OCO and bracket rules
    (`hft.sim.exchange_l3`): `oco` (its pair's other, 0: none) is CANCELED and the pair unlinked, and `kids` != 0
    (an order with no leaves left, having filled `got` lots) readies its bracket children, as does the cancelled
    other. The other's row leaves the table: ``params[P_LINKGEN]`` counts it, so a caller walking rows or a queue
    looks again."""
    ok = True
    if oco != 0:
        j = _own_row_by_id(orders, params, oid)
        if j >= 0:
            orders[j, O_OCO] = 0
        k = _own_row_by_id(orders, params, oco)
        if k >= 0:
            k_kids = orders[k, O_KIDS]
            k_got = orders[k, O_EXEC]
            px = orders[k, O_PRICE]
            orders[k, O_OCO] = 0
            _remove_row(v, orders, params, k)
            params[P_LINKGEN] += 1
            ok = emit(out, params, now, oco, REPORT_CANCELED, px, 0, 0, 0, LIQ_NONE)
            if k_kids != 0:
                _kids_ready(orders, params, oco, k_got)
    if kids != 0:
        _kids_ready(orders, params, oid, got)
    return ok




@helper  # inlined into the entry
def _link_size(orders, params, otype, qty, oco, parent) -> int:
    """`venue_common.link_size` on this venue's table: may a NEW name `oco` / `parent` (0: none)?"""
    p = _own_row_by_id(orders, params, parent) if parent != 0 else -1
    k = _own_row_by_id(orders, params, oco) if oco != 0 else -1
    return link_size(params, P_DONE, otype, qty, parent, p, p >= 0 and orders[p, O_INBOOK] >= IN_KID, oco, k,
                     k >= 0 and orders[k, O_OCO] != 0)


@helper  # inlined into the entry
def _hold_linked(orders, params, n, oid, first_px, stop, display, trail, oco, parent, ready) -> None:
    """The NEW in row `n` (`_put_order` done) is held for its links (`_link_size` answered `ready`): a stop
    (trigger `first_px`, `trail`) or a bracket child (``IN_KID``; ``IN_READY`` with `ready` lots when what it names
    has ended); its pair linked both ways unless its other has ended (the OCO rule then cancels it)."""
    orders[n, O_TRIGGER] = first_px if stop else 0
    orders[n, O_TRAIL] = trail
    if oco != 0:
        k = _own_row_by_id(orders, params, oco)
        if k >= 0:
            orders[n, O_OCO] = oco
            orders[k, O_OCO] = oid
    if parent != 0 or ready >= 0:  # a bracket child (or an order whose pair's other has ended): its display kept
        orders[n, O_DISPLAY] = display
        orders[n, O_PARENT] = parent
        if ready < 0:
            orders[n, O_INBOOK] = IN_KID
            orders[_own_row_by_id(orders, params, parent), O_KIDS] += 1
        else:
            orders[n, O_INBOOK] = IN_READY
            orders[n, O_QTY] = ready
            orders[n, O_LEAVES] = ready
            params[P_NREADY] += 1



@helper  # inlined into the entry
def _release(v, orders, cons, params, out, now) -> int:
    """The bracket children made ready in this step (their parent has no leaves), the first in the table (the
    order they arrived) each time, until none is ready: one its parent filled nothing for is CANCELED (the other
    of its pair with it); else it enters for its lots (``O_LEAVES``, reported REPLACED with that size): a stop
    is held from now as if newly sent (its row moves to the end of the table: the held stops trigger in the order
    they arrived), a limit enters as a NEW (it takes what it can, then rests at the back of its level's queue),
    each keeping its OCO pair. The room its entry needs was checked before the step (`_held_room`)."""
    while params[P_NREADY] > 0:
        r = 0
        while r < params[P_NORD] and orders[r, O_INBOOK] != IN_READY:
            r += 1
        if r == params[P_NORD]:  # (never: the count is kept with the rows)
            params[P_NREADY] = 0
            break
        params[P_NREADY] -= 1
        oid = orders[r, O_ID]
        q = orders[r, O_LEAVES]
        px = orders[r, O_PRICE]
        oco = orders[r, O_OCO]
        if q == 0:
            params[P_NHELD] -= 1
            _end(orders, params, r)
            ok = emit(out, params, now, oid, REPORT_CANCELED, px, 0, 0, 0, LIQ_NONE)
            if oco != 0:
                ok &= _linked(v, orders, params, out, now, oid, oco, 0, 0)
            if not ok:
                return V_REPORTS_FULL
            continue
        orders[r, O_PARENT] = 0
        otype = orders[r, O_TYPE]
        if is_stop(otype):  # held from now, as if newly sent: the last to have arrived
            orders[r, O_INBOOK] = 0
            orders[r, O_ARRIVAL] = now
            last = params[P_NORD] - 1
            for c in range(N_OCOL):
                x = orders[r, c]
                for k in range(r, last):
                    orders[k, c] = orders[k + 1, c]
                orders[last, c] = x
            if not emit(out, params, now, oid, REPORT_REPLACED, px, q, q, 0, LIQ_NONE):
                return V_REPORTS_FULL
            continue
        side = orders[r, O_SIDE]
        tif = orders[r, O_TIF]
        display = orders[r, O_DISPLAY]
        params[P_NHELD] -= 1
        _drop_row(orders, params, r)  # (no end: it enters as a new order)
        status = _new(v, orders, cons, params, out, now, oid, side, px, q, otype, tif, REPORT_REPLACED, px,
                      display if display < q else 0, 0, oco, 0, 0)
        if status != V_OK:
            return status
    return V_OK


_p64 = types.CPointer(types.int64)
_i64 = types.int64
LINK_ENTRY_SIG = _i64(*([_p64] * 8), _i64, _i64, _i64, _p64, _i64, _p64, _i64, _p64, types.voidptr, _i64, _i64, _i64,
                      *([_i64] * 10))


def link_entry(meta, ht, o, lv_qty, lv_anon, lv_head, lv_tail, lv_count, n, hmask, cap, orders_p, nord, cons_p,
               ncons, params_p, out_p, nout, op, now, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9):  # pragma: no cover
    """The C entry's source (`link_address` compiles it as a ``cfunc`` of `LINK_ENTRY_SIG`;
    `hft.sim.exchange_l3.link_call._call_entry` passes the venue's arrays as pointers and row counts): operation
    `op` (``LK_*``) with its integer arguments ``a0...``; returns its int64."""
    v = L3View(meta, ht, o, lv_qty, lv_anon, lv_head, lv_tail, lv_count, n, hmask, cap)
    orders = carray(orders_p, (nord, N_OCOL))
    params = carray(params_p, (N_PARAMS,))
    out = carray(out_p, (nout,), VENUE_REPORT_DTYPE)
    if op == LK_LINKED:
        return 1 if _linked(v, orders, params, out, now, a0, a1, a2, a3) else 0
    if op == LK_RELEASE:
        return _release(v, orders, carray(cons_p, (ncons, 3)), params, out, now)
    if op == LK_SIZE:
        return _link_size(orders, params, a0, a1, a2, a3)
    if op == LK_HOLD:
        _hold_linked(orders, params, a0, a1, a2, a3 != 0, a4, a5, a6, a7, a8)
    return 0


_compiled: list = []  # the cfunc, once made: kept alive for the process (its address is in venues' params)


def link_address() -> int:
    """The address of the C entry (`link_entry` compiled as a ``cfunc``, or loaded from numba's cache), made at the
    first call: only a process that makes an L3 venue pays for it, not every import of the package."""
    if not _compiled:
        _compiled.append(cfunc(LINK_ENTRY_SIG, cache=True)(link_entry))
    return _compiled[0].address
