"""Kernel helpers shared by the L2 and L3 simulated venues (`hft.sim.exchange_l2`, `hft.sim.exchange_l3`).

Both venues keep a caller-allocated report buffer (`VENUE_REPORT_DTYPE` rows, count in ``params[P_NREP]``) and a
table of visible liquidity our taker fills consumed (``cons`` rows ``(side, price, lots)``, count in
``params[P_NCONS]``). These helpers never allocate, so they are compiled without NRT reference counting and
can be called from both venues' kernels (the L3 venue's are NRT-free too).
"""

from __future__ import annotations

from hft.core.dtypes import BUY
from hft.core.jit import helper, njit
from hft.core.order_rules import is_stop, may_follow
from hft.core.orders import ORDER_STOP_LIMIT, REPORT_EXPIRED, REPORT_FILL, REPORT_REJECTED, TIF_GTD

P_NREP = 5  # params index: rows written to `out`
P_NCONS = 6  # params index: rows used in `cons`

# The engines' own command (beside `hft.core.orders.CMD_NEW` / ``CMD_CANCEL`` / ``CMD_REPLACE``: never sent by the
# gateway): a GTD order's expiry reaching its venue, scheduled by the engine when the order arrived (`gtd_expiry`;
# docs/sim.md, "Good till date"); the venue's OP_EXPIRE.
CMD_EXPIRE = 4


@helper(pure=True)  # the numba engine's order path inlines it; the Python engine calls it
def gtd_expiry(out, n, tif, expire, now) -> int:
    """When a new order that has just reached its venue at `now` expires there: ``max(expire, now)`` for a GTD
    order the venue's first `n` reports in `out` (its answer to the order) leave working, else -1 (not GTD, or
    rejected, filled or expired at once)."""
    if tif != TIF_GTD:
        return -1
    for i in range(n):
        k = out[i]["kind"]
        if k == REPORT_REJECTED or k == REPORT_FILL or k == REPORT_EXPIRED:
            return -1
    return expire if expire > now else now

_kernel = njit(cache=True, _nrt=False)


@_kernel
def emit(out, params, now, oid, kind, price, qty, leaves, fee, liq) -> bool:
    """Append one report; False when the buffer is full (the caller sizes it so that never happens)."""
    n = params[P_NREP]
    if n >= out.shape[0]:
        return False
    r = out[n]
    r.ts = now
    r.order_id = oid
    r.kind = kind
    r.price = price
    r.qty = qty
    r.leaves = leaves
    r.fee = fee
    r.fee_frac = 0
    r.liquidity = liq
    r.queue = -1  # set by the venue on an ACK once the order rests
    params[P_NREP] = n + 1
    return True


@_kernel
def emit_fill(out, params, now, oid, kind, price, qty, leaves, fee, frac, liq) -> bool:
    """Append a fill's report (`emit`) with its exact fee ``fee + frac / 1e6`` (`hft.sim.fees.fee_money`)."""
    if not emit(out, params, now, oid, kind, price, qty, leaves, fee, liq):
        return False
    out[params[P_NREP] - 1].fee_frac = frac
    return True


@_kernel
def within(side, limit, level_px, market) -> bool:
    """Can an order of `side` with `limit` take an opposite level at `level_px`?"""
    if market:
        return True
    return level_px <= limit if side == BUY else level_px >= limit


@_kernel
def triggers(side, trigger, print_px) -> bool:
    """Does a print at `print_px` trigger a held stop of `side` at `trigger`? (buy: at or above, sell: at or
    below; docs/sim.md, "Stop orders held by the venue")"""
    return print_px >= trigger if side == BUY else print_px <= trigger


@helper(pure=True)  # inlined into the engine's command paths; the venues' Python drivers call it
def new_aux(otype, trigger, display) -> int:
    """The venues' NEW operation's one order-type parameter (``aux``): a stop / stop-limit's trigger price, else an
    iceberg's display (0: not an iceberg). The gateway lets an order carry at most one of them (BAD_TRIGGER,
    BAD_DISPLAY)."""
    return trigger if is_stop(otype) else display


@helper(pure=True)  # inlined into both numba venues' `_trigger` (held stops, out of the market path)
def trail_follow(side, otype, trigger, price, trail, print_px) -> tuple:
    """A held trailing stop (`trail` > 0 ticks; 0: not trailing) that a print at `print_px` did NOT trigger
    (`triggers`): its ``(trigger, price)`` after the print (docs/sim.md, "Trailing stops"). A sell's trigger becomes
    ``max(trigger, print - trail)``, a buy's ``min(trigger, print + trail)``, never below 1 tick (a held stop's
    trigger is > 0); a stop-limit's (`otype`) limit `price` moves by as much, a stop's price (0) stays.
    Every difference fits in int64: a sell not triggered has print > trigger > 0, a buy has trigger, trail > 0;
    the limit is at or through the trigger (buy >=, sell <=; the venues' NEW checks it) and stays on that side."""
    if trail <= 0:
        return trigger, price
    if side == BUY:
        moved = print_px + trail if print_px < trigger - trail else trigger  # then moved < trigger
        if moved < 1:
            moved = 1
    else:  # print > trigger (not triggered): print - trigger > 0 fits, and print - trail > trigger > 0 when taken
        moved = print_px - trail if trail < print_px - trigger else trigger
    return moved, (price + (moved - trigger) if otype == ORDER_STOP_LIMIT else price)


# --- the ring of ended orders and the links that name one (both numba venues; docs/sim.md, "OCO and bracket orders
# held by the venue"): `params[at]` is the row the next end is written to, then DONE_ROWS ids, then their lots
DONE_ROWS = 16  # ended orders a venue remembers (a power of 2)
RING_WORDS = 1 + 2 * DONE_ROWS  # the params words of the ring
LINK_BAD = -2  # `link_size`: the NEW is REJECTED
LINK_HELD = -1  # `link_size`: what it names is held here (or nothing): it links as sent


@helper  # inlined into each venue's `_end`
def ring_push(params, at, oid, got) -> None:
    """Order `oid` ended having filled `got` lots (-1: a bracket child that ended held): remember it in the ring at
    ``params[at:]``, overwriting the oldest."""
    r = params[at]
    params[at] = (r + 1) & (DONE_ROWS - 1)
    params[at + 1 + r] = oid
    params[at + 1 + DONE_ROWS + r] = got


@helper  # inlined into `link_size`
def ring_lots(params, at, oid) -> int:
    """The filled lots of `oid` if it is one of the last `DONE_ROWS` orders that ended (-1: a bracket child that
    ended held), -2 when it is none of them; the latest end of an id counts."""
    r = params[at]
    for i in range(DONE_ROWS):
        k = (r - 1 - i) & (DONE_ROWS - 1)
        if params[at + 1 + k] == oid:
            return params[at + 1 + DONE_ROWS + k]
    return -2


@helper  # inlined into each venue's `_link_size`
def link_size(params, at, otype, qty, parent, p, p_is_kid, oco, k, k_paired) -> int:
    """May a NEW of type `otype` and `qty` lots name `oco` as the other order of its OCO pair and `parent` as its
    bracket entry (0: none)? `p` / `k`: their rows in the venue's table (-1: not held), `p_is_kid`: the parent is a
    held bracket child, `k_paired`: the other is paired already. The other: an order the venue holds not paired
    already, or one it remembers ended (the ring at ``params[at:]``); the parent: one it holds that is no held
    child, or one it remembers ended that was none, and the order a type a child may be (`may_follow`).
    `LINK_BAD`, `LINK_HELD`, or the lots the order enters for at once: 0 when its pair's other has ended (the OCO
    rule cancels it), else what its ended parent filled, at most `qty`."""
    size = LINK_HELD
    if parent != 0:
        if not may_follow(otype):
            return LINK_BAD
        if p >= 0:
            if p_is_kid:
                return LINK_BAD
        else:
            got = ring_lots(params, at, parent)
            if got < 0:  # not remembered (-2), or a bracket child (-1)
                return LINK_BAD
            size = min(got, qty)
    if oco != 0:
        if k >= 0:
            if k_paired:
                return LINK_BAD
        elif ring_lots(params, at, oco) == -2:
            return LINK_BAD
        else:
            size = 0
    return size


@_kernel
def cons_find(cons, params, side, price) -> int:
    """Row of `cons` for (side, price), -1 when our taker fills consumed nothing there."""
    for k in range(params[P_NCONS]):
        if cons[k, 0] == side and cons[k, 1] == price:
            return k
    return -1


@_kernel
def cons_drop(cons, params, k) -> None:
    """Forget row `k` of `cons` (the last row moves into its place)."""
    last = params[P_NCONS] - 1
    if k != last:
        cons[k, 0] = cons[last, 0]
        cons[k, 1] = cons[last, 1]
        cons[k, 2] = cons[last, 2]
    params[P_NCONS] = last


@_kernel
def consume(cons, params, side, price, qty) -> bool:
    """Remember `qty` lots taken at (side, price); False when `cons` is full."""
    k = cons_find(cons, params, side, price)
    if k < 0:
        k = params[P_NCONS]
        if k >= cons.shape[0]:
            return False
        cons[k, 0] = side
        cons[k, 1] = price
        cons[k, 2] = 0
        params[P_NCONS] = k + 1
    cons[k, 2] += qty
    return True
