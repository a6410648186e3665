"""An L2 view of any event stream (L2 level updates or L3 order events), one numba call per event.

Used for the strategy's local book in the simulator and for `hft data inspect`.

L2 events set levels; L3 order events are aggregated into level totals (adds add, cancels / deletes /
executions subtract, floored at 0 — quantity that rested before the recording is seeded separately).
After each event ``top`` holds ``[best bid, qty, best ask, qty]`` (``NO_PRICE``/0 for an empty side).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hft.book.l2 import (
    L2_OK,
    S_BEST_ASK,
    S_BEST_BID,
    L2Book,
    apply_event,
    level_qty,
    set_level,
)
from hft.core.dtypes import BUY, EV_ADD, EV_CANCEL, EV_DELETE, EV_EXEC, NO_PRICE, SELL


@njit(cache=True)
def local_apply(book: L2Book, kind: int, side: int, price: int, qty: int, is_l3: bool, top: np.ndarray) -> int:
    """Apply one event to the local view and refresh `top`; returns an `hft.book.l2` status code."""
    if is_l3 and (kind == EV_ADD or kind == EV_CANCEL or kind == EV_DELETE or kind == EV_EXEC):
        cur = level_qty(book, side, price)
        new = cur + qty if kind == EV_ADD else cur - qty
        status = set_level(book, side, price, new if new > 0 else 0)
    else:
        status = apply_event(book, kind, side, price, qty)
    if status != L2_OK:
        return status
    b = book.state[S_BEST_BID]
    a = book.state[S_BEST_ASK]
    top[0] = b
    top[1] = level_qty(book, BUY, b) if b != NO_PRICE else 0
    top[2] = a
    top[3] = level_qty(book, SELL, a) if a != NO_PRICE else 0
    return L2_OK
