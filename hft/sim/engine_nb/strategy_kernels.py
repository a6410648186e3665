"""Strategy kernels: a strategy's book callback as a numba kernel inside the loop (`hft.sim.engine_nb`,
"Strategy kernels"). The registry `STRATEGY_KERNELS` maps a strategy's ``nb_kernel`` name to its ``SK_*`` code in
`strategy_on_book`. A kernel is the strategy's only implementation of its rule: its Python ``on_book`` calls
`run_book_kernel`, which runs the same kernel on the context and sends the intents through it (`mm_on_book` is
`hft.sim.strategies.mm.MarketMaker`'s rule in every engine)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

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
    S_SPARAMS,
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


@_kernel
def strategy_on_book(st, ltop, sord, intents) -> int:
    """The strategy kernel registered under ``st[S_SKID]``: writes intents, returns their count."""
    if st[S_SKID] == SK_MM:
        return mm_on_book(st, ltop, sord, intents)
    return 0



STRATEGY_KERNELS = {"mm": SK_MM}  # a strategy's ``nb_kernel`` name → its kernel in `strategy_on_book`


def run_book_kernel(name: str, params: Sequence[int], ctx: Any) -> None:
    """Run the strategy kernel `name` with `params` from a Python ``on_book`` on context `ctx` (the reference
    engine, or the numba engine with ``strategy_kernels = False``): the kernel's inputs from the context (local
    top, position, the live orders in insertion order), then its intents sent in order through ``ctx.submit`` /
    ``ctx.cancel`` — the calls the numba engine makes for the same intents."""
    st = np.zeros(N_STATE, dtype=np.int64)
    st[S_SKID] = STRATEGY_KERNELS[name]
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
