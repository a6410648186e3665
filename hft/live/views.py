"""Order views of the live service (`GET /orders/{id}`), kept as columns indexed by order id.

The gateway numbers accepted orders densely (1, 2, 3 …), so a view is a row of numpy columns at slot
``order_id % capacity`` of a ring (`OrderViews.rows`, holding the order ids ``base .. base + capacity - 1``):
registry indices of its account / strategy / symbol, side, price, qty, time, status, filled, leaves, the number of
the venue's reports applied to that order id (reconciliation reads it) and its client-id key. Its fills are a
linked list in a fill log (price, qty, time, the exact fee, liquidity), itself a ring numbered by fill (`hft.live.fill_log`). A zeroed row
is no view, so a dropped order's row is simply zeroed and the ring's pages are mapped as they are first written.
Accepted new orders are added column-wise, one numba call for a batch (`OrderViews.add_many`, or
`OrderViews.add_accepted` picking them among any decisions), a report array is applied in one numba call
(`OrderViews.apply_reports`) that also says which of its rows are fills of a viewed order, whose ``sim.fills`` rows
one more call builds (`OrderViews.fill_rows`), and an `OrderView` object is made only when one is asked for
(`OrderViews.get`). Nothing here holds a Python object per order except its client order id.

With a retention, `OrderViews.prune` drops old terminal views a bounded step at a time (its doc): each writer
call zeroes the rows it drops, deletes their client-id keys and moves the fill log's low mark on, so its cost
follows what it drops, never what is held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np

from hft.core.jit import njit
from hft.core.orders import (
    FILL,
    FILL_LIQUIDITY,
    INTENT_NEW,
    LIQUIDITY_NAMES,
    ORDER_UPDATE_DTYPE,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    VENUE_REPORT_DTYPE,
    VIEW_STATUS_NAMES,
)
from hft.core.report_rows import venue_reports as venue_reports  # the live engine imports it from here
from hft.gateway.kernels.exact import sat_add
from hft.live.client_index import ClientIndex, KeyTable, find
from hft.live.fill_log import (
    HEAD,
    N_FCOLS,
    TAIL,
    advance,
    copy_fills,
    count_fills,
    in_order,
    log_fill,
    place,
    relaid,
    spans,
    widened,
)
from hft.live.ids import PackedIds
from hft.live.orders import SIDE_NAMES

ACCEPTED, WORKING, PARTIAL, FILLED, CANCELED, REJECTED, EXPIRED, CANCEL_PENDING = range(8)
STATUS_NAMES = VIEW_STATUS_NAMES  # declared with the order-update record (hft.core.orders.ORDER_UPDATE)
_OPEN = (ACCEPTED, WORKING, PARTIAL)  # a cancel accepted for these makes the view cancel_pending
_LIVE = np.zeros(len(STATUS_NAMES), np.bool_)  # by status: not terminal, kept by `OrderViews.prune` however old
_LIVE[[*_OPEN, CANCEL_PENDING]] = True
ALL_APPLIED = 1 << 62  # `OrderViews.applied` of a pruned order: every report the venue sent it
# columns of OrderViews.rows (int64); a row of zeros is no view: _HEAD / _TAIL are its first and last fill number
# (the fill log's columns; 0: none), _LEAVES holds leaves + 1 (0: none reported), _KEY its client-id key (0: none)
_HEAD, _TAIL = HEAD, TAIL
_HAS, _STATUS, _FILLED, _LEAVES, _APPLIED, _ACCT, _STRAT, _SYM, _SIDE, _PRICE, _QTY, _TS, _KEY = range(2, 15)
_N_COLS = 15
_STEP = 1 << 11  # order ids a prune call drops at most while it keeps up (~0.25 ms; a step's rows, index buckets
# and fills fit the 512 KB L2: 4,096 took 0.56 ms, 8,192 1.1 ms); also the slack of the reservation
_RESERVE = 1 << 20  # rows reserved without a retention (with one: twice the retention plus a step)
_ASIDE = 1 << 14  # rows reserved for the views aside (zeroed memory, mapped as it is first written)
_OLD_FILLS = 1 << 18  # rows reserved for their fill log (the same)
_NONE = np.empty(0, np.int64)


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
    fills: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "client_order_id": self.client_order_id, "account": self.account,
                "strategy": self.strategy, "symbol": self.symbol, "side": SIDE_NAMES.get(self.side, self.side),
                "price": self.price, "qty": self.qty, "ts": self.ts, "status": self.status, "filled": self.filled,
                "leaves": self.qty - self.filled if self.leaves < 0 else self.leaves, "fills": self.fills}


@njit(cache=True, nogil=True)
def _apply(rows: np.ndarray, old_at: np.ndarray, old_rows: np.ndarray, oid: np.ndarray, kind: np.ndarray,
           price: np.ndarray, qty: np.ndarray, leaves: np.ndarray, ts: np.ndarray, fee: np.ndarray,
           fee_frac: np.ndarray, liq: np.ndarray, queue: np.ndarray, base: int, fills: np.ndarray, n_fill: int, old_fills: np.ndarray, n_old_fill: int,
           out_fill: np.ndarray, out_cols: np.ndarray, out_far: np.ndarray, out_ended: np.ndarray,
           out_upd: np.ndarray, first_seq: int) -> tuple[int, int, int, int, int, int, int]:
    """Apply reports in order to the view ring `rows` (order ids ``base .. base + len(rows) - 1``, each at slot
    ``id % len(rows)``) or, for an order id below `base`, to its row of `old_rows` (the open views kept aside by
    `OrderViews.prune`; the table `old_at` gives an order id's row there); a fill goes to the fill log `fills` (last
    fill number `n_fill`), or to `old_fills` (last `n_old_fill`) for a view aside. Writes the indices of the reports
    that are fills of a viewed order into `out_fill` (with their view's account, strategy, symbol, side into
    `out_cols`), of those whose order id has no row into `out_far`, the rows of the views aside that a report ended
    into `out_ended`, and each report applied to a view as an ORDER_UPDATE_DTYPE row of `out_upd` (the order-update
    stream's, numbered from `first_seq`: the view's status and filled after it, the report's fee, liquidity and
    queue). Returns (fills reported, far reports, n_fill, n_old_fill,
    highest order id counted in the ring, views aside ended, updates)."""
    cap = rows.shape[0]
    nf = 0
    nx = 0
    hi = 0
    ne = 0
    nu = 0
    for i in range(oid.shape[0]):
        below = oid[i] < base  # (a venue's order id may be any int64: no oid - base, which could overflow)
        aside = below or oid[i] - base >= cap
        if not aside:
            r = rows[oid[i] % cap]
            hi = max(hi, oid[i])
        else:
            j = find(old_at, oid[i]) if below else -1
            if j < 0:
                out_far[nx] = i
                nx += 1
                continue
            r = old_rows[j]
        r[_APPLIED] += 1
        if r[_HAS] == 0:
            continue
        k = kind[i]
        was_live = _LIVE[r[_STATUS]]
        if k == REPORT_FILL or k == REPORT_PARTIAL_FILL:
            out_fill[nf] = i
            out_cols[nf, 0] = r[_ACCT]
            out_cols[nf, 1] = r[_STRAT]
            out_cols[nf, 2] = r[_SYM]
            out_cols[nf, 3] = r[_SIDE]
            nf += 1
            r[_FILLED] = sat_add(r[_FILLED], qty[i])  # (quantities from the venue: never wrapped)
            if aside:
                n_old_fill = log_fill(old_fills, n_old_fill, r, price[i], qty[i], ts[i], oid[i], fee[i],
                                      fee_frac[i], liq[i])
            else:
                n_fill = log_fill(fills, n_fill, r, price[i], qty[i], ts[i], oid[i], fee[i], fee_frac[i], liq[i])
        refused = k == REPORT_CANCEL_REJECTED or k == REPORT_REPLACE_REJECTED  # the order as it was
        if leaves[i] >= 0 and not refused:  # (a refusal's leaves may be a venue's placeholder)
            r[_LEAVES] = sat_add(leaves[i], 1)  # (I64_MAX leaves read back one less, never wrapped)
        if refused:
            if r[_STATUS] == CANCEL_PENDING:  # still working, as the gateway has it again
                r[_STATUS] = PARTIAL if r[_FILLED] > 0 else WORKING
        elif k == REPORT_FILL:
            r[_STATUS] = FILLED
        elif k == REPORT_PARTIAL_FILL:
            r[_STATUS] = PARTIAL
        elif k == REPORT_CANCELED:
            r[_STATUS] = CANCELED
        elif k == REPORT_REJECTED:
            r[_STATUS] = REJECTED
        elif k == REPORT_EXPIRED:
            r[_STATUS] = EXPIRED
        elif k == REPORT_REPLACED:  # the new price, and the size: what filled plus the new open quantity
            if price[i] > 0:
                r[_PRICE] = price[i]
            if leaves[i] >= 0:
                r[_QTY] = sat_add(r[_FILLED], leaves[i])
            if r[_STATUS] == ACCEPTED:
                r[_STATUS] = WORKING
        elif r[_STATUS] == ACCEPTED:
            r[_STATUS] = WORKING
        if aside and was_live and not _LIVE[r[_STATUS]]:
            out_ended[ne] = j
            ne += 1
        u = out_upd[nu]
        u.seq = first_seq + nu
        u.ts = ts[i]
        u.order_id = oid[i]
        u.price = price[i]
        u.qty = qty[i]
        u.leaves = leaves[i]
        u.filled = r[_FILLED]
        u.account = r[_ACCT]
        u.strategy = r[_STRAT]
        u.kind = k
        u.status = r[_STATUS]
        u.fee = fee[i]
        u.fee_frac = fee_frac[i]
        u.liquidity = liq[i]
        u.queue = queue[i]
        nu += 1
    return nf, nx, n_fill, n_old_fill, hi, ne, nu


# the sim.fills rows the writer journals for the fills of viewed orders (symbol_name joins as codes): the store's
# fill record (`hft.core.orders.FILL`; its liquidity 0 when the venue did not say)
FILL_DTYPE = FILL.dtype


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
        f.liquidity = FILL_LIQUIDITY[r.liquidity] if 0 <= r.liquidity < FILL_LIQUIDITY.shape[0] else 0
        f.exch_ts = exch_ts[sel[j]]
        f.fee_frac = r.fee_frac


@njit(cache=True, nogil=True)
def _add(rows: np.ndarray, base: int, dec: np.ndarray, select: bool, sel: np.ndarray) -> tuple[int, int, int, bool]:
    """Views of DECISION_DTYPE rows `dec` into the ring `rows` (order id at slot ``id % len(rows)``): every row with
    an order id at or past `base`, or with `select` only accepted new orders (not duplicates). Writes the indices
    of the rows taken into `sel`; returns (rows taken, views that are new, highest order id taken, whether the ids
    taken are consecutive ascending); (-1, 0, highest order id, False) and nothing written when the ring must
    first grow to that id."""
    cap = rows.shape[0]
    top = 0
    for i in range(dec.shape[0]):
        top = max(top, dec[i].order_id)
    if top - base >= cap:
        return -1, 0, top, False
    k = 0
    new = 0
    top = 0
    run = True
    for i in range(dec.shape[0]):
        d = dec[i]
        if select and not (d.accepted != 0 and d.duplicate == 0 and d.kind == INTENT_NEW):
            continue
        if d.order_id < base:
            continue
        if k and d.order_id != dec[sel[k - 1]].order_id + 1:
            run = False
        r = rows[d.order_id % cap]
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


@njit(cache=True, nogil=True)
def _sweep(rows: np.ndarray, lo: int, hi: int, keys: np.ndarray, oids: np.ndarray, moved: np.ndarray,
           moved_ids: np.ndarray) -> tuple[int, int, int]:
    """Empty the slots of the order ids ``lo .. hi - 1`` of the ring `rows` (zeroed): an open view's row is first
    copied to `moved` (its id to `moved_ids`), a terminal view with a client-id key has its key and id written to
    `keys` and `oids`. Returns (keys written, views moved, terminal views)."""
    cap = rows.shape[0]
    nk = 0
    na = 0
    dead = 0
    for oid in range(lo, hi):
        r = rows[oid % cap]
        if r[_HAS]:
            if _LIVE[r[_STATUS]]:
                moved[na] = r
                moved_ids[na] = oid
                na += 1
            else:
                dead += 1
                if r[_KEY]:
                    keys[nk] = r[_KEY]
                    oids[nk] = oid
                    nk += 1
        r[:] = 0
    return nk, na, dead


@njit("void(int64[:, ::1], int64[:], int64[::1])", cache=True, nogil=True)  # `oids`: any layout, one signature
def _set_keys(rows: np.ndarray, oids: np.ndarray, keys: np.ndarray) -> None:
    """``rows[oid % len(rows), _KEY] = key`` for each order id of `oids` and its key."""
    cap = rows.shape[0]
    for i in range(oids.shape[0]):
        rows[oids[i] % cap, _KEY] = keys[i]


class OrderViews:
    """The order views of a `LiveGateway`, column-wise (see the module doc). Names are passed in as the
    registry's tables (``names = (accounts, strategies, symbols)``, the gateway's own lists: not pickled) for
    the views it materialises.

    Retention (`retention` R > 0): `prune` keeps the views of the R most recent order ids and of every older order
    still open (accepted, working, partially filled, cancel pending); an older terminal order's view is dropped
    once the views reach S = min(`_STEP`, R) ids past the newest R, S ids at a time (`prune`), so one is held
    until it is older than the newest R + S ids at most. A dropped view is `pruned` (GET answers 404 with that
    reason) and counts as having had every report of the venue applied (`ALL_APPLIED`: it was terminal, so the
    WAL held them). The open ones older than the newest R are moved aside (rows of `old_rows`, `old_oids`,
    `old_coids` found by order id in `old_at`, freed rows reused; their fills copied to `old_fills`) and dropped by
    the next `prune` that drops once a report has ended them (`_end_aside`: its work follows the views that ended,
    not those aside)."""

    def __init__(self, names: tuple[list[str], list[str], list[str]], capacity: int = 1024,
                 retention: int = 0) -> None:
        self.names = names
        self.retention = retention
        self.base = 1  # the lowest order id of the ring (those below are dropped or aside)
        self.top = 0  # highest order id with a view
        # the ring and the fill log are reserved for what the retention allows, as zeroed memory the OS maps page
        # by page when first written; past it (no retention, or a step that added more), a larger one, laid out
        # anew (the one copy: a doubling copy stalled the writer 30-110 ms at 64k-512k views)
        self._reserve = max(capacity, 2 * retention + _STEP if retention else _RESERVE)
        self.rows = np.zeros((self._reserve, _N_COLS), np.int64)  # the ring: order id at slot id % len
        self.coids: list[str | None] = [None] * self._reserve  # the client order ids, at the same slots
        self.old_rows = np.zeros((0, _N_COLS), np.int64)  # open views older than the retention (zero: a free row)
        self.old_oids = np.zeros(0, np.int64)  # their order ids
        self.old_coids: list[str | None] = []  # their client order ids
        self.n_old = 0  # rows aside ever used (the free ones among them in `_free`)
        self._free: list[int] = []
        self.old_at = KeyTable(_ASIDE)  # order id -> its row aside
        self._ended: list[int] = []  # rows aside whose view a report ended since the last drop (`_apply` says)
        self.fills = np.zeros((self._reserve, N_FCOLS), np.int64)  # fill n at slot n % len (`hft.live.fill_log`)
        self.n_fill = 0  # the last fill number
        self.fill_gone = 0  # the fills up to this number are of views no longer in the ring
        self.old_fills = np.zeros((_OLD_FILLS, N_FCOLS), np.int64)  # the fills of the views aside (numbered from 1)
        self.n_old_fill = 0
        self.n = 0  # views held
        self.far: dict[int, int] = {}  # reports applied to order ids without a row
        self._hi_reported = 0  # the highest order id whose row counted a report (maybe past `top`: no view)
        self.n_pruned = 0
        self.index = ClientIndex(self._reserve)  # (account, client order id) -> newest order id: `find_client`
        self._unindexed: list[tuple[int, str, int]] = []  # views `add` made since the last `flush_index`

    def __len__(self) -> int:
        return self.n

    def __getstate__(self) -> dict[str, Any]:
        """What a snapshot pickles: the ring's rows and client ids in order id order from `base` up to the newest
        view, the fill log's held numbers, the views aside in order id order and their log's used part (no names,
        no free rows); the reports counted for ids past the newest view (no view: internal orders) go with `far`,
        by id."""
        st = {k: v for k, v in self.__dict__.items()  # rebuilt, not written: the names, index, reservation
              if k not in ("names", "index", "_unindexed", "_reserve", "_hi_reported", "_ended", "_free", "old_at")}
        end = max(self.top + 1, self.base)
        past = np.arange(end, min(self._hi_reported + 1, self.base + len(self.rows)), dtype=np.int64)
        counts = self.rows[past % len(self.rows), _APPLIED]
        if counts.any():
            st["far"] = far = dict(self.far)
            for x, c in zip(past[counts != 0].tolist(), counts[counts != 0].tolist(), strict=True):
                far[x] = far.get(x, 0) + c
        st["rows"] = in_order(self.rows, self.base, end)
        st["coids"] = list(chain.from_iterable(in_order(self.coids, self.base, end)))
        st["fills"] = in_order(self.fills, self.fill_gone + 1, self.n_fill + 1)
        st["old_fills"] = self.old_fills[:self.n_old_fill + 1]
        live = self._aside()  # the views aside in order id order, without the free rows
        st["old_oids"], st["old_rows"] = self.old_oids[live], self.old_rows[live]
        st["old_coids"], st["n_old"] = [self.old_coids[i] for i in live.tolist()], len(live)
        return st

    def restore(self, other: OrderViews) -> None:
        """Take over the views of `other` (a snapshot's), keeping this one's name tables, retention and
        reservation: laid out at their slots in a fresh ring and fill log."""
        keep = {k: self.__dict__[k] for k in ("names", "retention", "_reserve")}
        self.__dict__.update(other.__dict__)
        self.__dict__.update(keep)
        self._hi_reported = self.top
        self._free, self.old_at = [], KeyTable(max(_ASIDE, self.n_old))
        self.old_at.put(self.old_oids, np.arange(self.n_old, dtype=np.int64))
        self._ended = np.flatnonzero(~_LIVE[self.old_rows[:, _STATUS]]).tolist()  # ended since the last drop
        rows = np.concatenate([np.empty((0, _N_COLS), np.int64), *other.rows])
        self.rows = np.zeros((max(self._reserve, len(rows) + _STEP), _N_COLS), np.int64)
        place(self.rows, self.base, rows)
        self.coids = [None] * len(self.rows)
        place(self.coids, self.base, other.coids)
        fills = np.concatenate([np.empty((0, N_FCOLS), np.int64), *map(widened, other.fills)])
        self.fills = np.zeros((max(self._reserve, len(fills) + _STEP), N_FCOLS), np.int64)
        place(self.fills, self.fill_gone + 1, fills)
        self.old_fills = np.zeros((max(_OLD_FILLS, 2 * len(other.old_fills)), N_FCOLS), np.int64)
        self.old_fills[:len(other.old_fills)] = widened(other.old_fills)
        self._reindex()

    def _reindex(self) -> None:
        """The client-id index anew from the views held, oldest first (the newest of an id wins), with their keys
        noted in their rows (the index's seed is this process's)."""
        self.index = ClientIndex(max(self.n, self._reserve))
        self._unindexed = []
        live = self._aside()
        if len(live):
            keys = self.index.put_many(self.old_rows[live, _ACCT], [self.old_coids[i] or "" for i in live.tolist()],
                                       self.old_oids[live])
            self.old_rows[live, _KEY] = keys
            self.index.watch(keys, 1)
        ids = np.arange(self.base, self.top + 1, dtype=np.int64)
        ids = ids[self.rows[ids % len(self.rows), _HAS] == 1]
        if len(ids):
            slots = ids % len(self.rows)
            self._note_keys(ids, self.index.put_many(self.rows[slots, _ACCT],
                                                     [self.coids[s] or "" for s in slots.tolist()], ids))

    def _note_keys(self, oids: np.ndarray, keys: np.ndarray) -> None:
        """Note in the ring's rows of `oids` their client-id keys (`ClientIndex.put_many`'s), which `prune` deletes
        (a numba call: numpy's fancy indexing cost ~7 µs a writer step)."""
        _set_keys(self.rows, oids, keys)  # `oids` as it comes (a column of the decisions: any layout)

    # ------------------------------------------------------------------ growth
    def _fit(self, oid_max: int) -> None:
        """Room in the ring for the order ids up to `oid_max`: past it, a larger ring laid out anew."""
        cap = len(self.rows)
        if oid_max - self.base < cap:
            return
        new = max(2 * cap, oid_max - self.base + 1 + _STEP)
        self.rows = relaid(self.rows, self.base, self.base + cap, new)
        coids: list[str | None] = [None] * new
        place(coids, self.base, list(chain.from_iterable(in_order(self.coids, self.base, self.base + cap))))
        self.coids = coids

    def _fit_fills(self, extra: int) -> None:
        """Room for `extra` more fills in the fill log (its low mark moved on first, then a larger ring if need be)
        and, with views aside, in theirs."""
        if self.n_fill + extra - self.fill_gone > len(self.fills):
            self.fill_gone = advance(self.fills, self.fill_gone, self.n_fill, self.base)
            held = self.n_fill - self.fill_gone
            if held + extra > len(self.fills):
                self.fills = relaid(self.fills, self.fill_gone + 1, self.n_fill + 1,
                                    max(2 * len(self.fills), held + extra + _STEP))
        if self.n_old:
            self._fit_old_fills(extra)

    def _fit_old_fills(self, extra: int) -> None:
        """Room for `extra` more fills in the aside log: when full, a new one with the fills of the views aside
        only (those of the views dropped since go) and room for twice as many."""
        if self.n_old_fill + extra < len(self.old_fills):
            return
        rows = self.old_rows[:self.n_old]
        held = count_fills(rows, self.old_fills)
        new = np.zeros((max(_OLD_FILLS, 2 * (held + extra) + 1), N_FCOLS), np.int64)
        self.n_old_fill = copy_fills(rows, self.old_fills, new, 0)
        self.old_fills = new

    def _row(self, oid: int) -> tuple[np.ndarray, list[str | None], int, np.ndarray] | None:
        """(the rows holding `oid`'s view, their client order ids, its index there, their fill log), or None: no
        row."""
        o = oid - self.base
        if 0 <= o < len(self.rows):
            return self.rows, self.coids, oid % len(self.rows), self.fills
        if o < 0 and self.n_old:
            j = find(self.old_at.tab, oid)
            if j >= 0:
                return self.old_rows, self.old_coids, j, self.old_fills
        return None

    # ------------------------------------------------------------------ writes
    def add(self, oid: int, coid: str, acct: int, strat: int, sym: int, side: int, price: int, qty: int,
            ts: int) -> None:
        """The view of one accepted new order (registry indices of its names)."""
        if oid < self.base:
            return
        self._fit(oid)
        o = oid % len(self.rows)
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
        ids follow (list slices) and are indexed."""
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
            place(self.coids, int(oid[0]), coids)
        else:
            cs, cap = self.coids, len(self.coids)
            for i, c in zip((oid % cap).tolist(), coids, strict=True):
                cs[i] = c
        self.top = max(self.top, top)
        self.flush_index()  # in order: views `add` made before these
        self._note_keys(oid, self.index.put_many(dec["account"], coids, oid, packed if k == n else None))
        return sel

    def cancel_pending(self, oid: int) -> None:
        """An accepted cancel of `oid`: its view, while open, becomes cancel_pending."""
        at = self._row(oid)
        if at is not None:
            r = at[0][at[2]]
            if r[_HAS] and r[_STATUS] in _OPEN:
                r[_STATUS] = CANCEL_PENDING

    def apply_reports(self, rep: np.ndarray, first_seq: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Apply a VENUE_REPORT_DTYPE array (an EXEC_REPORT_DTYPE one: its liquidity and queue not said) in order (status, filled, leaves, fills, reports applied); returns the
        indices of its rows that are fills of a viewed order, and their views' account, strategy, symbol and side
        (registry indices; an n x 4 array), and the ORDER_UPDATE_DTYPE rows of the reports applied to a view
        (numbered from `first_seq`: the order-update stream's, `hft.live.updates`)."""
        if rep.dtype != VENUE_REPORT_DTYPE:
            rep = venue_reports(rep)
        n = len(rep)
        oid = rep["order_id"]  # the array's own columns, strided: no copy (the kernel takes any layout)
        self._fit_fills(n)
        out_fill = np.empty(n, np.int64)
        out_cols = np.empty((n, 4), np.int64)
        out_far = np.empty(n, np.int64)
        out_ended = np.empty(n if self.n_old else 0, np.int64)
        out_upd = np.empty(n, ORDER_UPDATE_DTYPE)
        nf, nx, self.n_fill, self.n_old_fill, hi, ne, nu = _apply(
            self.rows, self.old_at.tab, self.old_rows[:self.n_old], oid, rep["kind"], rep["price"],
            rep["qty"], rep["leaves"], rep["ts"], rep["fee"], rep["fee_frac"], rep["liquidity"], rep["queue"], self.base, self.fills, self.n_fill, self.old_fills, self.n_old_fill,
            out_fill, out_cols, out_far, out_ended, out_upd, first_seq)
        self._hi_reported = max(self._hi_reported, hi)
        if ne:
            self._ended += out_ended[:ne].tolist()
        if nx:
            far = self.far
            for x in oid[out_far[:nx]].tolist():
                far[x] = far.get(x, 0) + 1
        return out_fill[:nf], out_cols[:nf], out_upd[:nu]

    @staticmethod
    def fill_rows(rep: np.ndarray, exch_ts: np.ndarray, sel: np.ndarray, cols: np.ndarray,
                  first_id: int) -> np.ndarray:
        """The FILL_DTYPE rows (fill ids from `first_id`) of the reports `apply_reports` said were fills of viewed
        orders (its `sel` and `cols`; a fill's liquidity in the store's code, `FILL_LIQUIDITY`); `exch_ts`: each
        report's venue time."""
        out = np.empty(len(sel), FILL_DTYPE)
        if rep.dtype != VENUE_REPORT_DTYPE:
            rep = venue_reports(rep)
        _fill_rows(np.ascontiguousarray(rep), np.ascontiguousarray(exch_ts, np.int64),
                   np.ascontiguousarray(sel, np.int64), cols, first_id, out)
        return out

    def prune(self) -> int:
        """With a retention R, once the views reach more than S = min(`_STEP`, R) order ids past the newest R:
        drop the oldest of those ids, S of them (as many as reach past R + S when a step added more), terminal
        views dropped, open ones moved aside, and the views aside that have ended since. The writer calls it once
        a step; its cost follows the ids it drops (`_drop`). Returns how many views were dropped."""
        over = self.top + 1 - self.retention - self.base  # ids older than the newest R
        slack = min(_STEP, self.retention)
        if not self.retention or over <= slack:
            return 0
        return self._drop(self.base + max(min(_STEP, over), over - slack))

    def _drop(self, hi: int) -> int:
        """Empty the ring's slots of the order ids ``base .. hi - 1`` (`_sweep`): the terminal views' client-id keys
        are deleted from the index, the open views move aside with copies of their fills (`_move_aside`); the views
        aside that have ended go too (`_end_aside`); then `base` is `hi` and the fill log's low mark moves past the
        fills of what left. Returns the views dropped."""
        self.flush_index()  # every key of what goes is noted in its row before it goes
        lo = self.base
        keys = np.empty(hi - lo, np.int64)
        oids = np.empty(hi - lo, np.int64)
        moved = np.empty((hi - lo, _N_COLS), np.int64)
        moved_ids = np.empty(hi - lo, np.int64)
        nk, na, dead = _sweep(self.rows, lo, hi, keys, oids, moved, moved_ids)
        cs = self.coids
        moved_coids = [cs[i % len(cs)] for i in moved_ids[:na].tolist()]
        for a, b in spans(lo, hi, len(cs)):
            cs[a:b] = [None] * (b - a)
        end_keys, end_ids = self._end_aside()
        if na:
            self._move_aside(moved[:na], moved_ids[:na], moved_coids)
        keys, oids = keys[:nk], oids[:nk]
        if len(end_ids):
            keys, oids = np.concatenate([keys, end_keys]), np.concatenate([oids, end_ids])
        uncovered = self.index.drop_many(keys, oids)
        if len(uncovered):  # a view aside had a deleted key (a newer order had taken it): it takes it back
            n = self.n_old
            back = np.flatnonzero((self.old_rows[:n, _HAS] == 1) & np.isin(self.old_rows[:n, _KEY], uncovered))
            back = back[np.argsort(self.old_oids[back])]
            self.index.put_missing(self.old_rows[back, _KEY], self.old_oids[back])
        dead += len(end_ids)
        self.base = hi
        self.n -= dead
        self.n_pruned += dead
        self.fill_gone = advance(self.fills, self.fill_gone, self.n_fill, hi)
        return dead

    def _move_aside(self, rows: np.ndarray, oids: np.ndarray, coids: list[str | None]) -> None:
        """Keep these open views (rows leaving the ring) aside: their fills copied to the aside log, their rows put
        in free rows or after the used ones (a reservation twice as large when full, the one copy), their order ids
        in `old_at`, their client-id keys watched by the index."""
        self._fit_old_fills(count_fills(rows, self.fills))
        self.n_old_fill = copy_fills(rows, self.fills, self.old_fills, self.n_old_fill)
        k, free, n = len(oids), self._free, self.n_old
        reuse = [free.pop() for _ in range(min(k, len(free)))]
        new = k - len(reuse)
        if n + new > len(self.old_oids):
            cap = max(_ASIDE, 2 * len(self.old_oids), n + new)
            self.old_oids = np.concatenate([self.old_oids[:n], np.zeros(cap - n, np.int64)])
            self.old_rows = np.concatenate([self.old_rows[:n], np.zeros((cap - n, _N_COLS), np.int64)])
        self.old_coids += [None] * new
        self.n_old = n + new
        at = np.array(reuse + list(range(n, n + new)), np.int64)
        self.old_rows[at], self.old_oids[at] = rows, oids
        for j, c in zip(at.tolist(), coids, strict=True):
            self.old_coids[j] = c
        self.old_at.put(oids, at)
        self.index.watch(rows[:, _KEY], 1)

    def _end_aside(self) -> tuple[np.ndarray, np.ndarray]:
        """Drop the views aside that reports ended since the last drop (`_apply` noted their rows) and that are
        still terminal: their rows freed (zeroed), their order ids out of `old_at`, their keys no longer watched.
        Returns the client-id keys and order ids of the views dropped."""
        if not self._ended:
            return _NONE, _NONE
        at = np.unique(np.array(self._ended, np.int64))
        self._ended = []
        at = at[(self.old_rows[at, _HAS] == 1) & ~_LIVE[self.old_rows[at, _STATUS]]]  # not reopened since
        keys, ids = self.old_rows[at, _KEY], self.old_oids[at]
        self.index.watch(keys, -1)
        self.old_at.remove(ids, at)
        self.old_rows[at], self.old_oids[at] = 0, 0
        for j in at.tolist():
            self.old_coids[j] = None
        self._free += at.tolist()
        return keys, ids

    def _aside(self) -> np.ndarray:
        """The rows of the views aside, in order id order (the oldest first)."""
        live = np.flatnonzero(self.old_rows[:self.n_old, _HAS])
        return live[np.argsort(self.old_oids[live])]

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
            ids = np.array(oids, np.int64)
            self._note_keys(ids, self.index.put_many(np.array(acct, np.int64), list(coids), ids))

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
        rows, coids, o, log = at
        (head, _tl, _has, status, filled, leaves, _ap, a, t, y, side, price, qty, ts, _key) = rows[o].tolist()
        fills = []
        f = head
        while f:
            p, q, fts, f, _owner, fee, frac, liq = log[f % len(log)].tolist()
            fills.append({"price": p, "qty": q, "ts": fts, "fee": fee, "fee_frac": frac,
                          "liquidity": LIQUIDITY_NAMES.get(liq, "")})
        names = self.names
        return OrderView(oid, coids[o] or "", names[0][a], names[1][t], names[2][y], side, price, qty, ts,
                         STATUS_NAMES[status], filled, leaves - 1, fills)
