"""Numba walk of Databento MBO records into L3 event rows (`hft.data.dbn`, its module docstring for the rules).

A modify needs the order's previous side, price and size, and a cancel or fill its remaining size, so the records
are walked in order with the resting orders in a hash map: one compiled pass (the Python walk ran at ~0.2 M
records a second; real MBO days hold tens of millions).
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.typed import Dict

from hft.core.dtypes import EV_ADD, EV_CANCEL, EV_CLEAR, EV_DELETE, EV_EXEC, EV_TRADE

# the columns of `mbo_rows`' output, one row per event
R_PRICE, R_QTY, R_OID, R_REC, R_KIND, R_SIDE, R_EOM = range(7)
N_COLS = 7
# its status
OK, UNKNOWN_MODIFY, UNKNOWN_ACTION, BACK_IN_TIME = 0, 1, 2, 3

_A, _C, _M, _F, _T, _R, _N = (ord(c) for c in "ACMFTRN")
_ORDER = types.UniTuple(types.int64, 3)  # a resting order: side, price, size


@njit(cache=True, nogil=True)
def _reduce(live, oid, qty) -> None:
    """A cancel or fill of `qty` on a resting order (unknown ids: nothing to track); gone at zero."""
    if oid not in live:
        return
    prev = live[oid]
    if prev[2] - qty > 0:
        live[oid] = (prev[0], prev[1], prev[2] - qty)
    else:
        del live[oid]


@njit(cache=True, nogil=True, inline="always")
def _put(out, k, price, qty, oid, rec, kind, side, eom) -> None:
    """Row `k` of `mbo_rows`' output."""
    out[k, R_PRICE] = price
    out[k, R_QTY] = qty
    out[k, R_OID] = oid
    out[k, R_REC] = rec
    out[k, R_KIND] = kind
    out[k, R_SIDE] = side
    out[k, R_EOM] = eom


@njit(cache=True, nogil=True)
def mbo_rows(action: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray, oid: np.ndarray,
             last: np.ndarray, ts_recv: np.ndarray, out: np.ndarray) -> tuple[int, int, int]:
    """The event rows of MBO records (uint8 action codes, int64 side / price / size / order id, bool F_LAST, int64
    ts_recv: the events' local time) into `out` (int64 ``[2 × records, N_COLS]``: a modify gives two rows).
    Returns (rows written, status, the record index of a refused record: -1 when OK); a record that gives events
    before the time of the events before it is refused (BACK_IN_TIME), so the events keep local time order."""
    live = Dict.empty(key_type=types.int64, value_type=_ORDER)
    k = 0
    prev_ts = np.int64(-9223372036854775807 - 1)
    for i in range(action.shape[0]):
        a = action[i]
        if a == _A or a == _M or a == _C or a == _F or a == _T or a == _R:  # a record that gives events
            if ts_recv[i] < prev_ts:
                return k, BACK_IN_TIME, i
            prev_ts = ts_recv[i]
        s = side[i]
        p = price[i]
        q = size[i]
        o = oid[i]
        if a == _A or a == _M:
            if a == _M:  # what rests leaves, then the new order
                if o not in live:
                    return k, UNKNOWN_MODIFY, i
                prev = live[o]
                _put(out, k, prev[1], prev[2], o, i, EV_DELETE, prev[0], 0)
                k += 1
            live[o] = (s, p, q)
            kind = EV_ADD
        elif a == _C or a == _F:  # a cancel or a fill: what rests shrinks
            _reduce(live, o, q)
            kind = EV_CANCEL if a == _C else EV_EXEC
        elif a == _T:
            o = 0
            kind = EV_TRADE
        elif a == _R:
            live.clear()
            p = q = o = s = 0
            kind = EV_CLEAR
        elif a == _N:
            if last[i] and k > 0:  # the message ends here: mark its last event
                out[k - 1, R_EOM] = 1
            continue
        else:
            return k, UNKNOWN_ACTION, i
        _put(out, k, p, q, o, i, kind, s, 1 if last[i] else 0)
        k += 1
    return k, OK, -1


def warm() -> None:
    """Compile (or load) `mbo_rows` for the argument types `hft.data.dbn` passes (`hft warmup`: no DBN file)."""
    n = 2
    ones = np.ones(n, np.int64)
    mbo_rows(np.array([_A, _N], np.uint8), ones.copy(), ones.copy(), ones.copy(), ones.copy(), np.ones(n, np.bool_),
             ones.copy(), np.empty((2 * n, N_COLS), np.int64))
