"""Numba walk of Databento MBO records into L3 event rows (`hft.data.dbn`, its module docstring for the rules).

A modify needs the order's previous side, price and size, and a cancel or fill its remaining size, so the records
are walked in order with the resting orders in a hash map: one compiled pass (the Python walk ran at ~0.2 M
records a second; real MBO days hold tens of millions). A second map holds each order's "filled, cancel pending"
size (a fill's size until the cancel that Databento sends after every fill consumes it), and each event (the
records up to one with F_LAST) is looked over once at its start for a fill (a trade in it then prints nothing).
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.typed import Dict

from hft.core.dtypes import EV_ADD, EV_CANCEL, EV_CLEAR, EV_DELETE, EV_EXEC, EV_TRADE, FLAG_EOM
from hft.core.jit import njit
from hft.data._convert import make_events

# the columns of `mbo_rows`' output, one row per event
R_PRICE, R_QTY, R_OID, R_REC, R_KIND, R_SIDE, R_EOM = range(7)
N_COLS = 7
# its status
OK, UNKNOWN_MODIFY, UNKNOWN_ACTION, BACK_IN_TIME = 0, 1, 2, 3

_A, _C, _M, _F, _T, _R, _N = (ord(c) for c in "ACMFTRN")
_ORDER = types.UniTuple(types.int64, 3)  # a resting order: side, price, size


@njit(cache=True, nogil=True)
def _event_has_fill(action, last, i) -> bool:
    """Whether the event starting at record `i` (its records up to the first with F_LAST, or the file's end) holds
    a fill."""
    for j in range(i, action.shape[0]):
        if action[j] == _F:
            return True
        if last[j]:
            return False
    return False


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
def _none(out, k, last) -> None:
    """A record that gives no event (``N``, a cancel a fill already took, a trade its event's fill prints): when
    it ends the message, the event before it (`k` rows written) carries the end-of-message mark."""
    if last and k > 0:
        out[k - 1, R_EOM] = 1


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
    before the time of the events before it is refused (BACK_IN_TIME), so the events keep local time order.

    Preconditions (`hft.data.dbn._mbo`): sizes are DBN's u32, and fewer than 2**31 records (`MAX_MBO_RECORDS`),
    so an order's pending fills (a sum of sizes) fit int64; `out` has 2 x records rows (a modify writes two), of
    which only the first (rows written) are set: the caller reads no others."""
    live = Dict.empty(key_type=types.int64, value_type=_ORDER)
    pending = Dict.empty(key_type=types.int64, value_type=types.int64)  # order id -> filled, cancel pending
    k = 0
    prev_ts = np.int64(-9223372036854775807 - 1)
    has_fill = False
    for i in range(action.shape[0]):
        a = action[i]
        if i == 0 or last[i - 1]:  # an event starts here
            has_fill = _event_has_fill(action, last, i)
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
        elif a == _F:  # a fill: what rests shrinks now; the cancel that follows it is the same size
            _reduce(live, o, q)
            pending[o] = pending.get(o, 0) + q
            kind = EV_EXEC
        elif a == _C:  # a cancel: what a fill already took is not taken again, only any excess
            done = min(q, pending.get(o, 0))
            if done > 0:
                if pending[o] == done:
                    del pending[o]
                else:
                    pending[o] -= done
            q -= done
            if q <= 0:
                _none(out, k, last[i])
                continue
            _reduce(live, o, q)
            kind = EV_CANCEL
        elif a == _T:
            if has_fill:  # the event's fill is the print (of the resting side)
                _none(out, k, last[i])
                continue
            o = 0
            kind = EV_TRADE  # an execution with no fill in its event (hidden liquidity): the print
        elif a == _R:
            live.clear()
            pending.clear()
            p = q = o = s = 0
            kind = EV_CLEAR
        elif a == _N:
            _none(out, k, last[i])
            continue
        else:
            return k, UNKNOWN_ACTION, i
        _put(out, k, p, q, o, i, kind, s, 1 if last[i] else 0)
        k += 1
    return k, OK, -1


def mbo_events(action: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray, oid: np.ndarray,
               last: np.ndarray, exch_ts: np.ndarray, local_ts: np.ndarray, seq: np.ndarray
               ) -> tuple[np.ndarray | None, int, int]:
    """MBO records (Databento's actions, as `mbo_rows` takes them, and each record's times and `seq`) → canonical
    L3 events: ``(events, OK, -1)``, or ``(None, status, record index)`` of the record refused (the caller names
    it as its format does: `hft.data.dbn`, `hft.data.hftbt`)."""
    out = np.empty((2 * len(action), N_COLS), np.int64)
    k, status, bad = mbo_rows(action, side, price, size, oid, last, local_ts, out)
    if status != OK:
        return None, status, bad
    r = out[:k]
    i = r[:, R_REC]
    return make_events(k, exch_ts=exch_ts[i], local_ts=local_ts[i], price=r[:, R_PRICE], qty=r[:, R_QTY],
                       order_id=r[:, R_OID], seq=seq[i], kind=r[:, R_KIND], side=r[:, R_SIDE],
                       flags=np.where(r[:, R_EOM] != 0, FLAG_EOM, 0)), OK, -1


def warm() -> None:
    """Compile (or load) `mbo_rows` for the argument types `hft.data.dbn` passes (`hft warmup`: no DBN file)."""
    n = 2
    ones = np.ones(n, np.int64)
    mbo_rows(np.array([_A, _N], np.uint8), ones.copy(), ones.copy(), ones.copy(), ones.copy(), np.ones(n, np.bool_),
             ones.copy(), np.empty((2 * n, N_COLS), np.int64))
