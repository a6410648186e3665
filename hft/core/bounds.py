"""The value domain of market data and of the simulator: the bounds every kernel relies on, declared once.

numba marks signed integer arithmetic ``nsw`` (no signed wrap), so an int64 overflow in a kernel is undefined
behaviour to LLVM: a kernel may then answer differently on another CPU target, not wrap. The kernels that sum or
subtract event values (the books, the simulator's clock and mid, inspection, verification) do it unchecked, which
is exact because every stream is held to these bounds where it enters (`hft.data.events_io.load_events`,
`hft.data.sources.open_market_data` and both engines' set-up, all through `first_out_of_domain` / `value_fault`):

* ``|price| <= MAX_ABS_PRICE`` (2**60 ticks): the sum or difference of two prices fits, and so does a price plus
  a strategy's edge and skew (`hft.sim.engine_nb.strategy_kernels`, "bounds"); a book's levels lie in the same
  range (`hft.book.topn.PRICE_LIMIT`). ``NO_PRICE`` (an empty side in a top-of-book table) is never an event price.
* ``|exch_ts|, |local_ts| <= MAX_ABS_TIME`` (2**62 - 1 ns, the year 2116): the difference of two times fits, and
  so does a time plus a few latencies of at most ``MAX_LATENCY_NS`` (2**60 ns) each (the simulator's feed, entry and
  response latencies, sampling period and timer: `hft.sim.latency`).
* ``qty >= 0`` and a stream's quantities sum to at most ``MAX_TOTAL_QTY`` (2**61 lots): any level's size and any
  sum of levels is at most that, and the sum of two of them fits (checked by the event-file check,
  `hft.data._eventcheck`, which sees whole streams).
"""

from __future__ import annotations

import numpy as np

from hft.core.jit import helper, njit

MAX_ABS_PRICE = 1 << 60  # ticks
MAX_ABS_TIME = (1 << 62) - 1  # ns since 1970, either way
MAX_TOTAL_QTY = 1 << 61  # lots, summed over a stream
MAX_LATENCY_NS = 1 << 60  # a latency, sampling period or timer of the simulator: 36 years

# `value_fault`'s answers: 0, in the domain, else the first field outside it
FAULT_NONE, FAULT_EXCH_TS, FAULT_LOCAL_TS, FAULT_PRICE = range(4)
FAULT_FIELDS = ("", "exch_ts", "local_ts", "price")

_EXPECTED = {
    "price": f"a price within ±{MAX_ABS_PRICE} ticks (2**60)",
    "exch_ts": f"a time within ±{MAX_ABS_TIME} ns (2**62 - 1: the year 2116)",
    "local_ts": f"a time within ±{MAX_ABS_TIME} ns (2**62 - 1: the year 2116)",
    "total_qty": f"quantities summing to at most {MAX_TOTAL_QTY} lots (2**61) over the stream",
    "latency": f"0 to {MAX_LATENCY_NS} ns (2**60, 36 years)",
}


def expected(what: str) -> str:
    """What the domain expects of `what` (an event field, ``total_qty`` or ``latency``), for error messages."""
    return _EXPECTED[what]


@helper
def value_fault(exch_ts: int, local_ts: int, price: int) -> int:
    """`FAULT_NONE`, or the first of an event's exch_ts, local_ts and price outside the domain (``FAULT_*``)."""
    if exch_ts < -MAX_ABS_TIME or exch_ts > MAX_ABS_TIME:
        return FAULT_EXCH_TS
    if local_ts < -MAX_ABS_TIME or local_ts > MAX_ABS_TIME:
        return FAULT_LOCAL_TS
    if price < -MAX_ABS_PRICE or price > MAX_ABS_PRICE:
        return FAULT_PRICE
    return FAULT_NONE


@njit(cache=True, nogil=True)
def first_out_of_domain(events: np.ndarray) -> tuple[int, int]:
    """``(row, FAULT_*)`` of the first event (`hft.core.dtypes.EVENT_DTYPE` records) whose time or price lies
    outside the domain, or ``(-1, FAULT_NONE)``."""
    for i in range(events.shape[0]):
        e = events[i]
        f = value_fault(e.exch_ts, e.local_ts, e.price)
        if f != FAULT_NONE:
            return i, f
    return -1, FAULT_NONE
