"""Order views of the live service (`GET /orders/{id}`), kept as columns indexed by order id.

The gateway numbers accepted orders densely (1, 2, 3 …), so a view is a row of numpy columns at
``order_id - base``: registry indices of its account / strategy / symbol, side, price, qty, time, status, filled,
leaves, and the number of the venue's reports applied to that order id (reconciliation reads it). Its fills are a
linked list in a fill log (price, qty, time). Accepted new orders are added column-wise, one numba call for a
batch (`OrderViews.add_many`, or `OrderViews.add_accepted` picking them among any decisions), a report array is
applied in one numba call (`OrderViews.apply_reports`) that also says which of its rows are fills of a viewed
order, whose ``sim.fills`` rows one more call builds (`OrderViews.fill_rows`), and an `OrderView` object is made
only when one is asked for (`OrderViews.get`). Nothing here holds a Python object per order except its client order id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from hft.core.orders import (
    INTENT_NEW,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
)
from hft.live.client_index import ClientIndex
from hft.live.ids import PackedIds
from hft.live.orders import SIDE_NAMES

ACCEPTED, WORKING, PARTIAL, FILLED, CANCELED, REJECTED, EXPIRED, CANCEL_PENDING = range(8)
STATUS_NAMES = ("accepted", "working", "partially_filled", "filled", "canceled", "rejected", "expired",
                "cancel_pending")
_OPEN = (ACCEPTED, WORKING, PARTIAL)  # a cancel accepted for these makes the view cancel_pending
_LIVE = np.array([*_OPEN, CANCEL_PENDING])  # not terminal: kept by `OrderViews.prune` however old
ALL_APPLIED = 1 << 62  # `OrderViews.applied` of a pruned order: every report the venue sent it
# columns of OrderViews.rows (int64)
_HAS, _STATUS, _FILLED, _LEAVES, _APPLIED, _HEAD, _TAIL, _ACCT, _STRAT, _SYM, _SIDE, _PRICE, _QTY, _TS = range(14)
_N_COLS = 14
_STEP = 1 << 15  # rows the columns and the fill log grow by at a time (~1 ms of page faults, not a copy)
_RESERVE = 1 << 20  # rows reserved without a retention (with one: twice the retention, what `prune` allows)


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
def _apply(rows: np.ndarray, old_oids: np.ndarray, old_rows: np.ndarray, oid: np.ndarray, kind: np.ndarray,
           price: np.ndarray, qty: np.ndarray, leaves: np.ndarray, ts: np.ndarray, base: int, n_fill: int,
           fills: np.ndarray, out_fill: np.ndarray, out_cols: np.ndarray, out_far: np.ndarray) -> tuple[int, int, int]:
    """Apply reports in order to the view columns `rows` (int64, one row per order id - base) or, for an order
    id below `base`, to its row of `old_rows` (the open views kept by `OrderViews.prune`, ids `old_oids`), and
    the fill log `fills` (PRICE, QTY, TS, NEXT, OWNER). Writes the indices of the reports that are fills of a
    viewed order into `out_fill` (with their view's account, strategy, symbol, side into `out_cols`), of those
    whose order id has no row into `out_far`. Returns (fills logged, far reports, fill log length)."""
    nf = 0
    nx = 0
    for i in range(oid.shape[0]):
        o = oid[i] - base
        if 0 <= o < rows.shape[0]:
            r = rows[o]
        else:
            j = np.searchsorted(old_oids, oid[i]) if o < 0 else old_oids.shape[0]
            if j >= old_oids.shape[0] or old_oids[j] != oid[i]:
                out_far[nx] = i
                nx += 1
                continue
            r = old_rows[j]
        r[_APPLIED] += 1
        if r[_HAS] == 0:
            continue
        k = kind[i]
        if k == REPORT_FILL or k == REPORT_PARTIAL_FILL:
            out_fill[nf] = i
            out_cols[nf, 0] = r[_ACCT]
            out_cols[nf, 1] = r[_STRAT]
            out_cols[nf, 2] = r[_SYM]
            out_cols[nf, 3] = r[_SIDE]
            nf += 1
            r[_FILLED] += qty[i]
            f = fills[n_fill]
            f[0] = price[i]
            f[1] = qty[i]
            f[2] = ts[i]
            f[3] = -1
            f[4] = oid[i]
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



# the sim.fills rows the writer journals for the fills of viewed orders (symbol_name joins as codes)
FILL_DTYPE = np.dtype([("ts", "<i8"), ("fill_id", "<u8"), ("order_id", "<i8"), ("account", "<i4"),
                       ("strategy", "<i4"), ("symbol", "<i4"), ("kind", "i1"), ("side", "i1"), ("price", "<i8"),
                       ("qty", "<i8"), ("leaves", "<i8"), ("fee", "<i8"), ("exch_ts", "<i8")])


@njit(cache=True, nogil=True)
def _fill_rows(rep: np.ndarray, exch_ts: np.ndarray, sel: np.ndarray, cols: np.ndarray, first_id: int,
               out: np.ndarray) -> None:
    """`out[j]`: the FILL_DTYPE row of report ``rep[sel[j]]`` (its view's columns ``cols[j]``), fill id
    ``first_id + j``."""
    for j in range(sel.shape[0]):
        r = rep[sel[j]]
        f = out[j]
        f.ts = r.ts
        f.fill_id = first_id + j
        f.order_id = r.order_id
        f.account = cols[j, 0]
        f.strategy = cols[j, 1]
        f.symbol = cols[j, 2]
        f.kind = r.kind
        f.side = cols[j, 3]
        f.price = r.price
        f.qty = r.qty
        f.leaves = r.leaves
        f.fee = r.fee
        f.exch_ts = exch_ts[sel[j]]


@njit(cache=True, nogil=True)
def _add(rows: np.ndarray, base: int, dec: np.ndarray, select: bool, sel: np.ndarray) -> tuple[int, int, int, bool]:
    """Views of DECISION_DTYPE rows `dec` into `rows`: every row with an order id at or past `base`, or with
    `select` only accepted new orders (not duplicates). Writes the indices of the rows taken into `sel`; returns
    (rows taken, views that are new, highest order id taken, whether the ids taken are consecutive ascending);
    (-1, 0, highest order id, False) and nothing written when `rows` must first grow to that id."""
    top = 0
    for i in range(dec.shape[0]):
        top = max(top, dec[i].order_id)
    if top - base >= rows.shape[0]:
        return -1, 0, top, False
    k = 0
    new = 0
    top = 0
    run = True
    for i in range(dec.shape[0]):
        d = dec[i]
        if select and not (d.accepted != 0 and d.duplicate == 0 and d.kind == INTENT_NEW):
            continue
        o = d.order_id - base
        if o < 0:
            continue
        if k and d.order_id != dec[sel[k - 1]].order_id + 1:
            run = False
        r = rows[o]
        if r[_HAS] == 0:
            new += 1
        r[_HAS] = 1
        r[_STATUS] = ACCEPTED
        r[_ACCT] = d.account
        r[_STRAT] = d.strategy
        r[_SYM] = d.symbol
        r[_SIDE] = d.side
        r[_PRICE] = d.price
        r[_QTY] = d.qty
        r[_TS] = d.ts
        top = max(top, d.order_id)
        sel[k] = i
        k += 1
    return k, new, top, run


def _blank_rows(rows: np.ndarray) -> np.ndarray:
    """Rows of no view: zero, with the fill links and the leaves at -1."""
    rows[:] = 0
    rows[:, _HEAD:_TAIL + 1] = -1
    rows[:, _LEAVES] = -1
    return rows


def _grown(store: np.ndarray, cur: np.ndarray, need: int) -> tuple[np.ndarray, np.ndarray]:
    """(`store`, its first rows: at least `need`, `_STEP` more than `cur` = ``store[:len(cur)]``). Rows come
    from the reservation `store` (zeros from calloc: the OS maps its pages as they are first written), so growing
    costs only the new rows; a reservation too small is replaced by one twice as large (the one copy)."""
    new = max(need, len(cur) + _STEP)
    if new > len(store):
        bigger = np.zeros((max(new, 2 * len(store)), store.shape[1]), np.int64)
        bigger[:len(cur)] = cur
        store = bigger
    return store, store[:new]


class OrderViews:
    """The order views of a `LiveGateway`, column-wise (see the module doc). Names are passed in as the
    registry's tables (``names = (accounts, strategies, symbols)``, the gateway's own lists: not pickled) for
    the views it materialises.

    Retention (`retention` > 0): `prune` keeps the views of the `retention` most recent order ids and of every
    older order still open (accepted, working, partially filled, cancel pending); an older terminal order's view
    is dropped (`pruned` says so: GET answers 404 with that reason) and counts as having had every report of the
    venue applied (`ALL_APPLIED`: it was terminal, so the WAL held them all)."""

    def __init__(self, names: tuple[list[str], list[str], list[str]], capacity: int = 1024,
                 retention: int = 0) -> None:
        self.names = names
        self.retention = retention
        self.base = 1  # order id of row 0
        self.top = 0  # highest order id with a view
        # the columns and the fill log are the first rows of reservations (`_grown`): growing them touches new
        # pages only, never copies what is held (a doubling copy stalled the writer 30-110 ms at 64k-512k views)
        self._reserve = max(capacity, 2 * retention + _STEP if retention else _RESERVE)
        self._rows_store = np.zeros((self._reserve, _N_COLS), np.int64)  # pages mapped on first touch
        self.rows = self._rows_store[:capacity]
        _blank_rows(self.rows)
        self.coids: list[str | None] = [None] * capacity
        self.old_oids = np.empty(0, np.int64)  # open views older than the retention, ascending ids
        self.old_rows = np.empty((0, _N_COLS), np.int64)
        self.old_coids: list[str | None] = []
        self._fills_store = np.zeros((self._reserve, 5), np.int64)
        self.fills = self._fills_store[:capacity]  # PRICE, QTY, TS, NEXT, OWNER
        self.n_fill = 0  # fill log length
        self.n = 0  # views held
        self.far: dict[int, int] = {}  # reports applied to order ids without a row
        self.n_pruned = 0
        self.index = ClientIndex(self._reserve)  # (account, client order id) -> newest order id: `find_client`
        self._unindexed: list[tuple[int, str, int]] = []  # views `add` made since the last `flush_index`

    def __len__(self) -> int:
        return self.n

    def __getstate__(self) -> dict[str, Any]:
        """What a snapshot pickles: the columns up to the newest view and the fill log's used part (no names)."""
        st = {k: v for k, v in self.__dict__.items()  # rebuilt, not written: the names, index, reservations
              if k not in ("names", "index", "_unindexed", "_rows_store", "_fills_store")}
        applied = np.flatnonzero(self.rows[:, _APPLIED])  # ids past the newest view may have reports (internal)
        used = max(0, self.top - self.base + 1, int(applied[-1]) + 1 if len(applied) else 0)
        st["rows"], st["coids"], st["fills"] = self.rows[:used], self.coids[:used], self.fills[:self.n_fill]
        return st

    def restore(self, other: OrderViews) -> None:
        """Take over the views of `other` (a snapshot's), keeping this one's name tables and retention."""
        names, retention, reserve = self.names, self.retention, self._reserve
        rows_store, fills_store = self._rows_store, self._fills_store
        self.__dict__.update(other.__dict__)
        self.names, self.retention, self._reserve = names, retention, reserve
        self._rows_store, self._fills_store = rows_store, fills_store
        used, rows = len(self.rows), self.rows  # trimmed by __getstate__: room again
        self._rows_store, self.rows = _grown(self._rows_store, self._rows_store[:0], max(1024, 2 * used))
        self.rows[:used] = rows
        _blank_rows(self.rows[used:])
        self.coids = list(self.coids) + [None] * (len(self.rows) - used)
        fills = self.fills
        self._fills_store, self.fills = _grown(self._fills_store, self._fills_store[:0], max(1024, 2 * len(fills)))
        self.fills[:len(fills)] = fills
        self._reindex()

    def _reindex(self) -> None:
        """The client-id index anew from the views held, oldest first (the newest of an id wins)."""
        self.index = ClientIndex(max(self.n, self._reserve))
        self._unindexed = []
        if len(self.old_oids):
            self.index.put_many(self.old_rows[:, _ACCT], self.old_coids, self.old_oids)  # type: ignore[arg-type]
        held = np.flatnonzero(self.rows[:, _HAS])
        if len(held):
            self.index.put_many(self.rows[held, _ACCT], [self.coids[i] or "" for i in held.tolist()],
                                held + self.base)

    # ------------------------------------------------------------------ growth
    def _fit(self, oid_max: int) -> None:
        need = oid_max - self.base + 1
        cap = len(self.rows)
        if need <= cap:
            return
        self._rows_store, self.rows = _grown(self._rows_store, self.rows, need)
        _blank_rows(self.rows[cap:])
        self.coids.extend([None] * (len(self.rows) - len(self.coids)))

    def _fit_fills(self, extra: int) -> None:
        if self.n_fill + extra > len(self.fills):
            self._fills_store, self.fills = _grown(self._fills_store, self.fills, self.n_fill + extra)

    def _row(self, oid: int) -> tuple[np.ndarray, list[str | None], int] | None:
        """(the rows holding `oid`'s view, their client order ids, its index there), or None: no row."""
        o = oid - self.base
        if 0 <= o < len(self.rows):
            return self.rows, self.coids, o
        if o < 0 and len(self.old_oids):
            j = int(np.searchsorted(self.old_oids, oid))
            if j < len(self.old_oids) and self.old_oids[j] == oid:
                return self.old_rows, self.old_coids, j
        return None

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
        self.top = max(self.top, oid)
        if coid:  # indexed with the others of this step (`flush_index`): one call, not one per order
            self._unindexed.append((acct, coid, oid))

    def add_many(self, dec: np.ndarray, coids: list[str]) -> None:
        """The views of accepted new orders: DECISION_DTYPE rows (order_id ascending, each new) and their
        client order ids."""
        self._add_rows(dec, coids, False)

    def add_accepted(self, dec: np.ndarray, coids: list[str], packed: PackedIds | None = None) -> np.ndarray:
        """The views of the accepted new orders among DECISION_DTYPE rows of any decisions (`coids`: one per
        row, `packed`: the same as bytes, if known); returns those rows' indices (the other rows are left
        alone)."""
        return self._add_rows(dec, coids, True, packed)

    def _add_rows(self, dec: np.ndarray, coids: list[str], select: bool,
                  packed: PackedIds | None = None) -> np.ndarray:
        """`add_many` (every row) or `add_accepted` (`select`): the rows written by one `_add` call; the client
        ids follow (list slice) and are indexed."""
        n = len(dec)
        if not n:
            return np.empty(0, np.int64)
        dec = np.ascontiguousarray(dec)
        sel = np.empty(n, np.int64)
        k, new, top, run = _add(self.rows, self.base, dec, select, sel)
        if k < 0:
            self._fit(top)
            k, new, top, run = _add(self.rows, self.base, dec, select, sel)
        sel = sel[:k]
        if not k:
            return sel
        self.n += new
        if k < n:
            coids = [coids[i] for i in sel.tolist()]
            dec = dec[sel]
        oid = dec["order_id"]
        if run:  # consecutive ids (the usual case)
            lo = int(oid[0]) - self.base
            self.coids[lo:lo + k] = coids
        else:
            cs = self.coids
            for i, c in zip((oid - self.base).tolist(), coids, strict=True):
                cs[i] = c
        self.top = max(self.top, top)
        self.flush_index()  # in order: views `add` made before these
        self.index.put_many(dec["account"], coids, oid, packed if k == n else None)
        return sel

    def cancel_pending(self, oid: int) -> None:
        """An accepted cancel of `oid`: its view, while open, becomes cancel_pending."""
        at = self._row(oid)
        if at is not None:
            r = at[0][at[2]]
            if r[_HAS] and r[_STATUS] in _OPEN:
                r[_STATUS] = CANCEL_PENDING

    def apply_reports(self, rep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply an EXEC_REPORT_DTYPE array in order (status, filled, leaves, fills, reports applied); returns the
        indices of its rows that are fills of a viewed order, and their views' account, strategy, symbol and side
        (registry indices; an n x 4 array)."""
        n = len(rep)
        oid = rep["order_id"]  # the array's own columns, strided: no copy (the kernel takes any layout)
        self._fit_fills(n)
        out_fill = np.empty(n, np.int64)
        out_cols = np.empty((n, 4), np.int64)
        out_far = np.empty(n, np.int64)
        nf, nx, self.n_fill = _apply(self.rows, self.old_oids, self.old_rows, oid, rep["kind"], rep["price"],
                                     rep["qty"], rep["leaves"], rep["ts"], self.base, self.n_fill, self.fills,
                                     out_fill, out_cols, out_far)
        if nx:
            far = self.far
            for x in oid[out_far[:nx]].tolist():
                far[x] = far.get(x, 0) + 1
        return out_fill[:nf], out_cols[:nf]

    @staticmethod
    def fill_rows(rep: np.ndarray, exch_ts: np.ndarray, sel: np.ndarray, cols: np.ndarray,
                  first_id: int) -> np.ndarray:
        """The FILL_DTYPE rows (fill ids from `first_id`) of the reports `apply_reports` said were fills of viewed
        orders (its `sel` and `cols`); `exch_ts`: each report's venue time."""
        out = np.empty(len(sel), FILL_DTYPE)
        _fill_rows(np.ascontiguousarray(rep), np.ascontiguousarray(exch_ts, np.int64),
                   np.ascontiguousarray(sel, np.int64), cols, first_id, out)
        return out

    def prune(self) -> int:
        """With a retention, once the views span twice it: drop the terminal ones older than the `retention`
        most recent order ids (open ones move aside, kept); the client-id index is rebuilt from the views held.
        Returns how many views were dropped."""
        if not self.retention or self.top - self.base + 1 <= 2 * self.retention:
            return 0
        k = self.top + 1 - self.retention - self.base  # rows leaving the dense block
        front = self.rows[:k]
        live = (front[:, _HAS] == 1) & np.isin(front[:, _STATUS], _LIVE)
        dead = (front[:, _HAS] == 1) & ~live
        old_live = np.isin(self.old_rows[:, _STATUS], _LIVE)  # moved aside earlier: terminal since?
        n_gone = len(old_live) - int(old_live.sum())
        keep_idx = np.flatnonzero(live)
        self.old_oids = np.concatenate([self.old_oids[old_live], self.base + keep_idx])
        self.old_rows = np.concatenate([self.old_rows[old_live], front[live]])
        self.old_coids = [c for c, x in zip(self.old_coids, old_live.tolist(), strict=True) if x] + [
            self.coids[i] for i in keep_idx.tolist()]
        rows = self.rows  # shifted in place (numpy copies an overlapping assignment safely)
        rows[:len(rows) - k] = rows[k:]
        _blank_rows(rows[len(rows) - k:])
        self.coids = self.coids[k:] + [None] * k
        self.base += k
        n_dead = int(dead.sum()) + n_gone
        self.n -= n_dead
        self.n_pruned += n_dead
        self._compact_fills()
        self._reindex()
        return n_dead

    def _compact_fills(self) -> None:
        """Drop the fills of views no longer held from the fill log (links renumbered)."""
        if not self.n_fill:  # no fills, no links (every head and tail is -1)
            return
        f = self.fills[:self.n_fill]
        owner = f[:, 4]
        keep = (owner >= self.base) | np.isin(owner, self.old_oids)
        new_at = np.cumsum(keep) - 1
        kept = f[keep]
        kept[:, 3] = np.where(kept[:, 3] >= 0, new_at[kept[:, 3]], -1)
        self.fills[:len(kept)] = kept
        self.n_fill = len(kept)
        for rows in (self.rows, self.old_rows):
            for c in (_HEAD, _TAIL):
                col = rows[:, c]
                rows[:, c] = np.where(col >= 0, new_at[np.maximum(col, 0)], -1)

    # ------------------------------------------------------------------ reads
    def pruned(self, oid: int) -> bool:
        """Whether `oid` had a view that `prune` dropped (an order id below the retained ones, not open)."""
        return 0 < oid < self.base and self._row(oid) is None

    def applied(self, oid: int) -> int:
        """How many of the venue's reports for `oid` were applied (`ALL_APPLIED` for a pruned order)."""
        at = self._row(oid)
        if at is None and 0 < oid < self.base:
            return ALL_APPLIED
        here = int(at[0][at[2], _APPLIED]) if at is not None else 0
        return here + self.far.get(oid, 0)  # an id beyond the columns then may have been covered since

    def flush_index(self) -> None:
        """Put the views `add` made one at a time into the client-id index (one call; the writer's commit)."""
        if self._unindexed:
            acct, coids, oids = zip(*self._unindexed, strict=True)
            self._unindexed = []
            self.index.put_many(np.array(acct, np.int64), list(coids), np.array(oids, np.int64))

    def find_client(self, acct: int, coid: str) -> int | None:
        """The newest order id of account `acct` (registry index) with client order id `coid` among the views
        held, or None (the index's answer, checked against the view)."""
        self.flush_index()
        oid = self.index.get(acct, coid) if coid else None
        if oid is None:
            return None
        at = self._row(oid)
        if at is None or not at[0][at[2], _HAS] or at[1][at[2]] != coid or at[0][at[2], _ACCT] != acct:
            return None
        return oid

    def client_order_id(self, oid: int) -> str | None:
        at = self._row(oid)
        if at is not None and at[0][at[2], _HAS]:
            return at[1][at[2]]
        return None

    def get(self, oid: int) -> OrderView | None:
        """The view of `oid` as an `OrderView` (None: no view)."""
        at = self._row(oid)
        if at is None or not at[0][at[2], _HAS]:
            return None
        rows, coids, o = at
        (_has, status, filled, leaves, _ap, head, _tl, a, t, y, side, price, qty, ts) = rows[o].tolist()
        fills = []
        f = head
        while f >= 0:
            p, q, fts, f, _owner = self.fills[f].tolist()
            fills.append({"price": p, "qty": q, "ts": fts})
        names = self.names
        return OrderView(oid, coids[o] or "", names[0][a], names[1][t], names[2][y], side, price, qty, ts,
                         STATUS_NAMES[status], filled, leaves, fills)
