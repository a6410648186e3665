"""Order views of the live service (`GET /orders/{id}`), kept as columns indexed by order id.

The gateway numbers accepted orders densely (1, 2, 3 …), so a view is a row of numpy columns at
``order_id - base``: registry indices of its account / strategy / symbol, side, price, qty, time, status, filled,
leaves, and the number of the venue's reports applied to that order id (reconciliation reads it). Its fills are a
linked list in a fill log (price, qty, time). Accepted new orders are added column-wise (`OrderViews.add_many`),
a report array is applied in one numba call (`OrderViews.apply_reports`) that also says which of its rows are
fills of a viewed order (the writer's ``sim.fills`` rows), and an `OrderView` object is made only when one is
asked for (`OrderViews.get`). Nothing here holds a Python object per order except its client order id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from hft.core.orders import REPORT_CANCELED, REPORT_EXPIRED, REPORT_FILL, REPORT_PARTIAL_FILL, REPORT_REJECTED
from hft.live.orders import SIDE_NAMES

ACCEPTED, WORKING, PARTIAL, FILLED, CANCELED, REJECTED, EXPIRED, CANCEL_PENDING = range(8)
STATUS_NAMES = ("accepted", "working", "partially_filled", "filled", "canceled", "rejected", "expired",
                "cancel_pending")
_OPEN = (ACCEPTED, WORKING, PARTIAL)  # a cancel accepted for these makes the view cancel_pending
# columns of OrderViews.rows (int64)
_HAS, _STATUS, _FILLED, _LEAVES, _APPLIED, _HEAD, _TAIL, _ACCT, _STRAT, _SYM, _SIDE, _PRICE, _QTY, _TS = range(14)
_N_COLS = 14


@dataclass
class OrderView:
    """What `GET /orders/{id}` shows: the accepted order and what its reports said."""

    order_id: int
    client_order_id: str
    account: str
    strategy: str
    symbol: str
    side: int
    price: int
    qty: int
    ts: int
    status: str = "accepted"
    filled: int = 0
    leaves: int = -1
    fills: list[dict[str, int]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "client_order_id": self.client_order_id, "account": self.account,
                "strategy": self.strategy, "symbol": self.symbol, "side": SIDE_NAMES.get(self.side, self.side),
                "price": self.price, "qty": self.qty, "ts": self.ts, "status": self.status, "filled": self.filled,
                "leaves": self.qty - self.filled if self.leaves < 0 else self.leaves, "fills": self.fills}


@njit(cache=True, nogil=True)
def _apply(rows: np.ndarray, oid: np.ndarray, kind: np.ndarray, price: np.ndarray, qty: np.ndarray,
           leaves: np.ndarray, ts: np.ndarray, base: int, n_fill: int, fills: np.ndarray,
           out_fill: np.ndarray, out_far: np.ndarray) -> tuple[int, int, int]:
    """Apply reports in order to the view columns `rows` (int64, one row per order id - base: HAS, STATUS,
    FILLED, LEAVES, APPLIED, HEAD, TAIL) and the fill log `fills` (PRICE, QTY, TS, NEXT). Writes the indices of
    the reports that are fills of a viewed order into `out_fill`, of those whose order id is outside the columns
    into `out_far`. Returns (fills logged, far reports, fill log length)."""
    nf = 0
    nx = 0
    for i in range(oid.shape[0]):
        o = oid[i] - base
        if o < 0 or o >= rows.shape[0]:
            out_far[nx] = i
            nx += 1
            continue
        r = rows[o]
        r[_APPLIED] += 1
        if r[_HAS] == 0:
            continue
        k = kind[i]
        if k == REPORT_FILL or k == REPORT_PARTIAL_FILL:
            out_fill[nf] = i
            nf += 1
            r[_FILLED] += qty[i]
            f = fills[n_fill]
            f[0] = price[i]
            f[1] = qty[i]
            f[2] = ts[i]
            f[3] = -1
            if r[_TAIL] >= 0:
                fills[r[_TAIL], 3] = n_fill
            else:
                r[_HEAD] = n_fill
            r[_TAIL] = n_fill
            n_fill += 1
        if leaves[i] >= 0:
            r[_LEAVES] = leaves[i]
        if k == REPORT_FILL:
            r[_STATUS] = FILLED
        elif k == REPORT_PARTIAL_FILL:
            r[_STATUS] = PARTIAL
        elif k == REPORT_CANCELED:
            r[_STATUS] = CANCELED
        elif k == REPORT_REJECTED:
            r[_STATUS] = REJECTED
        elif k == REPORT_EXPIRED:
            r[_STATUS] = EXPIRED
        elif r[_STATUS] == ACCEPTED:
            r[_STATUS] = WORKING
    return nf, nx, n_fill



class OrderViews:
    """The order views of a `LiveGateway`, column-wise (see the module doc). Names are passed in as the
    registry's tables (``names = (accounts, strategies, symbols)``, the gateway's own lists: not pickled) for
    the views it materialises."""

    def __init__(self, names: tuple[list[str], list[str], list[str]], capacity: int = 1024) -> None:
        self.names = names
        self.base = 1  # order id of row 0
        self.rows = np.zeros((capacity, _N_COLS), np.int64)
        self.rows[:, _HEAD:_TAIL + 1] = -1
        self.rows[:, _LEAVES] = -1
        self.coids: list[str | None] = [None] * capacity
        self.fills = np.zeros((capacity, 4), np.int64)
        self.n_fill = 0  # fill log length
        self.n = 0  # views held
        self.far: dict[int, int] = {}  # reports applied to order ids outside the columns

    def __len__(self) -> int:
        return self.n

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "names"}

    def restore(self, other: OrderViews) -> None:
        """Take over the views of `other` (a snapshot's), keeping this one's name tables."""
        names = self.names
        self.__dict__.update(other.__dict__)
        self.names = names

    # ------------------------------------------------------------------ growth
    def _fit(self, oid_max: int) -> None:
        need = oid_max - self.base + 1
        cap = len(self.rows)
        if need <= cap:
            return
        while cap < need:
            cap *= 2
        rows = np.zeros((cap, _N_COLS), np.int64)
        rows[:, _HEAD:_TAIL + 1] = -1
        rows[:, _LEAVES] = -1
        rows[:len(self.rows)] = self.rows
        self.rows = rows
        self.coids.extend([None] * (cap - len(self.coids)))

    def _fit_fills(self, extra: int) -> None:
        cap = len(self.fills)
        if self.n_fill + extra <= cap:
            return
        while cap < self.n_fill + extra:
            cap *= 2
        fills = np.zeros((cap, 4), np.int64)
        fills[:self.n_fill] = self.fills[:self.n_fill]
        self.fills = fills

    # ------------------------------------------------------------------ writes
    def add(self, oid: int, coid: str, acct: int, strat: int, sym: int, side: int, price: int, qty: int,
            ts: int) -> None:
        """The view of one accepted new order (registry indices of its names)."""
        if oid < self.base:
            return
        self._fit(oid)
        o = oid - self.base
        r = self.rows[o]
        if not r[_HAS]:
            self.n += 1
        r[_HAS] = 1
        r[_STATUS] = ACCEPTED
        r[_ACCT], r[_STRAT], r[_SYM], r[_SIDE], r[_PRICE], r[_QTY], r[_TS] = acct, strat, sym, side, price, qty, ts
        self.coids[o] = coid

    def add_many(self, dec: np.ndarray, coids: list[str]) -> None:
        """The views of accepted new orders: DECISION_DTYPE rows (order_id ascending, each new) and their
        client order ids."""
        oid = dec["order_id"].astype(np.int64)
        if not len(oid):
            return
        keep = oid >= self.base
        if not keep.all():
            dec, oid = dec[keep], oid[keep]
            coids = [c for c, k in zip(coids, keep.tolist(), strict=True) if k]
            if not len(oid):
                return
        self._fit(int(oid.max()))
        o = oid - self.base
        rows = self.rows
        self.n += len(o) - int(rows[o, _HAS].sum())
        rows[o, _HAS] = 1
        rows[o, _STATUS] = ACCEPTED
        for col, f in ((_ACCT, "account"), (_STRAT, "strategy"), (_SYM, "symbol"), (_SIDE, "side"),
                       (_PRICE, "price"), (_QTY, "qty"), (_TS, "ts")):
            rows[o, col] = dec[f]
        lo, hi = int(o.min()), int(o.max()) + 1
        if hi - lo == len(o):  # consecutive ids (the usual case): one slice assignment
            self.coids[lo:hi] = coids if bool((np.diff(o) > 0).all()) else [coids[i] for i in np.argsort(o).tolist()]
        else:
            cs = self.coids
            for i, c in zip(o.tolist(), coids, strict=True):
                cs[i] = c

    def cancel_pending(self, oid: int) -> None:
        """An accepted cancel of `oid`: its view, while open, becomes cancel_pending."""
        o = oid - self.base
        if 0 <= o < len(self.rows) and self.rows[o, _HAS] and self.rows[o, _STATUS] in _OPEN:
            self.rows[o, _STATUS] = CANCEL_PENDING

    def apply_reports(self, rep: np.ndarray) -> np.ndarray:
        """Apply an EXEC_REPORT_DTYPE array in order (status, filled, leaves, fills, reports applied); returns the
        indices of its rows that are fills of a viewed order."""
        n = len(rep)
        oid = np.ascontiguousarray(rep["order_id"], np.int64)
        self._fit_fills(n)
        out_fill = np.empty(n, np.int64)
        out_far = np.empty(n, np.int64)
        nf, nx, self.n_fill = _apply(self.rows, oid, np.ascontiguousarray(rep["kind"], np.int64),
                                     np.ascontiguousarray(rep["price"], np.int64),
                                     np.ascontiguousarray(rep["qty"], np.int64),
                                     np.ascontiguousarray(rep["leaves"], np.int64),
                                     np.ascontiguousarray(rep["ts"], np.int64), self.base, self.n_fill, self.fills,
                                     out_fill, out_far)
        far = self.far
        for x in oid[out_far[:nx]].tolist():
            far[x] = far.get(x, 0) + 1
        return out_fill[:nf]

    # ------------------------------------------------------------------ reads
    def column(self, oids: np.ndarray, col: str) -> np.ndarray:
        """A column (``account``, ``strategy``, ``symbol``, ``side``) of viewed orders."""
        return self.rows[oids - self.base, {"account": _ACCT, "strategy": _STRAT, "symbol": _SYM,
                                            "side": _SIDE}[col]]

    def applied(self, oid: int) -> int:
        """How many of the venue's reports for `oid` were applied."""
        o = oid - self.base
        here = int(self.rows[o, _APPLIED]) if 0 <= o < len(self.rows) else 0
        return here + self.far.get(oid, 0)  # an id beyond the columns then may have been covered since

    def client_order_id(self, oid: int) -> str | None:
        o = oid - self.base
        if 0 <= o < len(self.rows) and self.rows[o, _HAS]:
            return self.coids[o]
        return None

    def get(self, oid: int) -> OrderView | None:
        """The view of `oid` as an `OrderView` (None: no view)."""
        o = oid - self.base
        if not (0 <= o < len(self.rows)) or not self.rows[o, _HAS]:
            return None
        (_has, status, filled, leaves, _ap, head, _tl, a, t, y, side, price, qty, ts) = self.rows[o].tolist()
        fills = []
        f = head
        while f >= 0:
            p, q, fts, f = self.fills[f].tolist()
            fills.append({"price": p, "qty": q, "ts": fts})
        names = self.names
        return OrderView(oid, self.coids[o] or "", names[0][a], names[1][t], names[2][y], side, price, qty, ts,
                         STATUS_NAMES[status], filled, leaves, fills)
