"""`L3Venue`: the L3 venue's Python driver (numba kernels in `hft.sim.exchange_l3.steps`): owns the state for
one symbol, sizes the buffers, grows the book, and returns each call's reports."""

from __future__ import annotations

import numpy as np

from hft.book.l3 import (
    M_BASE,
    M_HWM,
    MAX_LEVEL_SPAN,
    OK,
    PRICE_LIMIT,
    QTY_MAX,
    STATUS_NAMES,
    L3Book,
    l3_add_anon,
    l3_grow_levels,
    l3_grow_orders,
    l3_queue_ahead,
    new_l3_book,
)
from hft.book.topn import ROW_STRIDE
from hft.core.dtypes import (
    BUY,
    NO_PRICE,
    SELL,
)
from hft.core.errors import SimError
from hft.sim.entry_points import CallSite
from hft.sim.exchange_l2 import (
    EXCHANGE_MODES,
    MODE_PARTIAL_FILL,
    VENUE_REPORT_DTYPE,
)
from hft.sim.exchange_l3.book_ops import (
    _own_row_by_id,
)
from hft.sim.exchange_l3.layout import (
    N_OCOL,
    N_PARAMS,
    O_EXEC,
    O_ID,
    O_INBOOK,
    O_KEY,
    O_LEAVES,
    O_PRICE,
    O_SIDE,
    OP_CANCEL,
    OP_EXPIRE,
    OP_NEW,
    OP_REPLACE,
    P_CLIPPED,
    P_LINKFN,
    P_MAKER_BPS_H,
    P_MODE,
    P_MULT,
    P_NEED_PRICE,
    P_NHELD,
    P_NORD,
    P_PER_LOT,
    P_POS,
    P_REJECTED,
    P_RS_ADDED,
    P_RS_LEVELS,
    P_RS_REMOVED,
    P_TAKER_BPS_H,
    P_UNKNOWN_REFS,
    V_NEED_LEVELS,
    V_NEED_ORDERS,
    V_OK,
    V_STATUS_NAMES,
    V_TABLE_FULL,
)
from hft.sim.exchange_l3.links import link_address
from hft.sim.exchange_l3.steps import (
    market_snapshot,
    market_step,
    order_step,
)
from hft.sim.fees import FeeSchedule
from hft.sim.venue_common import P_NCONS, P_NREP, new_aux


# ======================================================================= Python driver
class L3Venue:
    """Owns the venue state for one symbol and drives the kernels. Every method returns the reports it produced
    (a `VENUE_REPORT_DTYPE` array, copied).

    Args:
        book: the venue's L3 book (market state already applied), or None for an empty one (seed it with
            `seed_level` / `seed_reference`).
        mode: ``MODE_PARTIAL_FILL``, ``MODE_NO_PARTIAL_FILL`` or ``MODE_ALL_OR_NONE``.
        fees: a `FeeSchedule`; multiplier: the symbol's money multiplier (money = ticks × lots × multiplier).
        capacity: initial order-table rows (grows on demand).
        reference: LOBSTER reference rows (int64 ``(n_messages, 4*L)``, `hft.data.lobster.LobsterData.reference`)
            to resync the visible book after every market event (row i after the i-th `market` call); None:
            no resync (the data-alone book). Its sizes must lie in ``[0, QTY_MAX]`` (checked here: the resync's
            kernels subtract them from level totals).
    """

    def __init__(self, book: L3Book | None = None, mode: int = MODE_PARTIAL_FILL, fees: FeeSchedule | None = None,
                 multiplier: int = 1, capacity: int = 64, reference: np.ndarray | None = None) -> None:
        if mode not in EXCHANGE_MODES.values():
            raise SimError(f"exchange mode: expected one of {sorted(EXCHANGE_MODES)}, was {mode!r}")
        if reference is None:
            ref = np.zeros((0, ROW_STRIDE), dtype=np.int64)
        else:
            ref = np.ascontiguousarray(reference, dtype=np.int64)
            if ref.ndim != 2 or ref.shape[1] < ROW_STRIDE or ref.shape[1] % ROW_STRIDE:
                raise SimError(f"venue reference: expected int64 rows of 4*L columns, was shape {ref.shape}")
            sizes = ref[:, 1::2]  # ask_sz, bid_sz of every level
            bad = np.flatnonzero(((sizes < 0) | (sizes > QTY_MAX)).any(axis=1))
            if len(bad):
                k = int(bad[0])
                found = next(int(x) for x in sizes[k] if not 0 <= x <= QTY_MAX)
                raise SimError(f"venue reference: row {k}: expected sizes in [0, {QTY_MAX}], was {found}")
        ref = ref.view()
        ref.flags.writeable = False  # one numba specialisation (read-only) whether resync is on or off
        self.ref = ref
        fees = fees or FeeSchedule()
        self.book = book if book is not None else new_l3_book(0, 4096, 4096)
        self._fresh = book is None  # the default book: re-centred on the first price that needs a level
        self.orders = np.zeros((max(4, capacity), N_OCOL), dtype=np.int64)
        self.cons = np.zeros((64, 3), dtype=np.int64)
        self.params = np.zeros(N_PARAMS, dtype=np.int64)
        self.params[P_MODE] = mode
        self.params[P_MULT] = multiplier
        self.params[P_MAKER_BPS_H] = fees.maker_bps_h
        self.params[P_TAKER_BPS_H] = fees.taker_bps_h
        self.params[P_PER_LOT] = fees.per_lot
        self.params[P_LINKFN] = link_address()  # the OCO / bracket code's C entry (`link_call`)
        self.out = np.zeros(64, dtype=VENUE_REPORT_DTYPE)
        self._order_site = CallSite(order_step, 5)  # (book, orders, cons, params, out, op, now, ...)
        self._market_site = CallSite(market_step, 6)  # (..., out, ref, now, kind, ...)

    # --- growth and sizing: the kernels never run out of room
    def _grow_levels(self, price: int) -> None:
        b = self.book
        price = int(price)
        if not -PRICE_LIMIT <= price <= PRICE_LIMIT:
            raise SimError(f"venue: expected a price within +-{PRICE_LIMIT} ticks, was {price}")
        if self._fresh and b.meta[M_HWM] == 0 and not b.lv_qty.any():
            # nothing rests yet (the default book starts at price 0): centre the book on the first price instead
            # of growing it from 0, so that its width (and the report / consumed / heap buffers sized by it) stays
            # that of the data's price range (GOOG at 58,000 ticks: 4,096 levels instead of 116,048); inside the
            # price domain
            n = b.lv_qty.shape[1]
            base = min(max(price - n // 2, -PRICE_LIMIT), PRICE_LIMIT + 1 - n)
            self.book = new_l3_book(base, n, b.o_id.shape[0])
        else:
            self.book = l3_grow_levels(b, price)
        self._fresh = False
        idx = price - int(self.book.meta[M_BASE])
        if not 0 <= idx < self.book.lv_qty.shape[1]:
            raise SimError(f"venue: expected a price within {MAX_LEVEL_SPAN} ticks of the book, was {price}")

    def _ensure_out(self) -> None:
        """Room for every report one call can write (ACK + one fill per level or per order of ours + one more)
        and for one taker walk in ``cons`` (at most one row per level)."""
        width = self.book.lv_qty.shape[1]
        # = out_need (the numba engine's test)
        need = 8 + 4 * int(self.params[P_NORD]) + width + int(self.params[P_NHELD]) + self.ref.shape[1]
        if self.out.shape[0] < need:
            self.out = np.zeros(max(need, 2 * self.out.shape[0]), dtype=VENUE_REPORT_DTYPE)
        if self.cons.shape[0] - int(self.params[P_NCONS]) < width + 1:
            grown = np.zeros((self.cons.shape[0] + width + 64, 3), np.int64)
            grown[: self.cons.shape[0]] = self.cons
            self.cons = grown

    def _grow_table(self) -> None:
        grown = np.zeros((2 * self.orders.shape[0], N_OCOL), dtype=np.int64)
        grown[: self.orders.shape[0]] = self.orders
        self.orders = grown

    def grow(self, status: int) -> None:
        """Make the room a kernel asked for by returning `status` (`V_NEED_LEVELS`: the book's price range to
        ``params[P_NEED_PRICE]``; `V_NEED_ORDERS`: the book's order slots; `V_TABLE_FULL`: our order table); any
        other status: nothing to grow."""
        if status == V_NEED_LEVELS:
            self._grow_levels(int(self.params[P_NEED_PRICE]))
        elif status == V_NEED_ORDERS:
            self.book = l3_grow_orders(self.book)
        elif status == V_TABLE_FULL:
            self._grow_table()

    def ensure_room(self, orders: int) -> None:
        """Report and consumption buffers for any one call (`_ensure_out`) and room for `orders` more of our
        orders in the table (the numba engine's in-kernel order path, before each kernel call)."""
        self._ensure_out()
        while self.orders.shape[0] - int(self.params[P_NORD]) < orders:
            self._grow_table()

    def _call(self, site: CallSite, *args: int) -> np.ndarray:
        while True:
            self._ensure_out()
            self.params[P_NREP] = 0
            status = int(site(self.book, self.orders, self.cons, self.params, self.out, *args))
            if status == V_OK:
                return self.out[: int(self.params[P_NREP])].copy()
            if status not in (V_NEED_LEVELS, V_NEED_ORDERS, V_TABLE_FULL):
                raise SimError(f"venue: expected status ok, was {V_STATUS_NAMES.get(status, status)}")
            self.grow(status)

    # --- orders
    def new(self, now: int, oid: int, side: int, price: int, qty: int, otype: int, tif: int,
            trigger: int = 0, display: int = 0, trail: int = 0, oco: int = 0, parent: int = 0) -> np.ndarray:
        """A new order (a stop / stop-limit: held until a print reaches `trigger`, which follows the prints at
        `trail` > 0 ticks; `display` > 0: an iceberg, showing that many lots at a time; `oco`: the order it is
        paired with, one cancelling the other; `parent`: a bracket child's entry, held until the entry has no
        leaves)."""
        return self._call(self._order_site, OP_NEW, now, oid, side, price, qty, otype, tif,
                          new_aux(otype, trigger, display), trail, oco, parent)

    def cancel(self, now: int, oid: int) -> np.ndarray:
        return self._call(self._order_site, OP_CANCEL, now, oid, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    def expire(self, now: int, oid: int) -> np.ndarray:
        """A GTD order's expiry: EXPIRED (leaves 0) if it still works or is held here, else nothing."""
        return self._call(self._order_site, OP_EXPIRE, now, oid, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    def replace(self, now: int, oid: int, price: int, qty: int) -> np.ndarray:
        return self._call(self._order_site, OP_REPLACE, now, oid, 0, price, qty, 0, 0, 0, 0, 0, 0)

    # --- market data
    def market(self, now: int, kind: int, side: int, price: int, qty: int, order_id: int) -> np.ndarray:
        """Apply one L3 market event (``EV_*``; see the module docstring) and return our reports."""
        return self._call(self._market_site, self.ref, now, kind, side, price, qty, order_id)

    def seed_level(self, side: int, price: int, qty: int) -> None:
        """Add anonymous quantity (orders that rested before the recording) at the front of a level."""
        if side not in (BUY, SELL) or qty <= 0:
            raise SimError(f"seed_level: expected side BUY/SELL and qty > 0, was side {side}, qty {qty}")
        idx = price - int(self.book.meta[M_BASE])
        if not 0 <= idx < self.book.lv_qty.shape[1]:
            self._grow_levels(price)
        status = l3_add_anon(self.book, side, price, qty)
        if status != OK:
            raise SimError(f"seed_level: expected ok, was {STATUS_NAMES[int(status)]} (side {side}, price {price}, "
                           f"qty {qty})")

    def seed_reference(self, row: np.ndarray) -> None:
        """Seed every level of a LOBSTER reference row (``ask_px, ask_sz, bid_px, bid_sz`` per level, prices in
        ticks, empty levels ``NO_PRICE``) as anonymous quantity. Row k is the book AFTER message k: seed with
        row 0 and replay from message 1."""
        row = np.asarray(row, dtype=np.int64)
        for lv in range(row.shape[0] // 4):
            ap, asz, bp, bsz = (int(x) for x in row[4 * lv: 4 * lv + 4])
            if ap != NO_PRICE and asz > 0:
                self.seed_level(SELL, ap, asz)
            if bp != NO_PRICE and bsz > 0:
                self.seed_level(BUY, bp, bsz)

    # --- inspection
    def queue_ahead(self, oid: int) -> int:
        """Exact quantity ahead of our resting order `oid` in its FIFO (anonymous, market and our own earlier
        orders); -1 when the order does not rest."""
        r = _own_row_by_id(self.orders, self.params, oid)
        if r < 0 or self.orders[r, O_INBOOK] != 1:
            return -1
        return int(l3_queue_ahead(self.book, self.orders[r, O_KEY]))

    def working(self) -> dict[int, dict[str, int]]:
        """Working orders by order id: side, price, leaves, filled, front (exact queue ahead)."""
        out = {}
        for j in range(int(self.params[P_NORD])):
            r = self.orders[j]
            out[int(r[O_ID])] = {"side": int(r[O_SIDE]), "price": int(r[O_PRICE]), "leaves": int(r[O_LEAVES]),
                                 "filled": int(r[O_EXEC]), "front": self.queue_ahead(int(r[O_ID]))}
        return out

    def market_top(self, n: int) -> np.ndarray:
        """Top-`n` snapshot (int64[4n], LOBSTER layout) of the MARKET's book: every level without our own
        orders (what the reference rows show)."""
        row = np.empty(ROW_STRIDE * n, dtype=np.int64)
        market_snapshot(self.book, self.orders, self.params, n, row)
        return row

    def resync_counters(self) -> dict[str, int | bool]:
        """Reference resync: on / off, levels adjusted, lots added and removed (how far the data-alone book
        was off)."""
        return {"enabled": bool(self.ref.shape[0] > 0), "levels": int(self.params[P_RS_LEVELS]),
                "added": int(self.params[P_RS_ADDED]), "removed": int(self.params[P_RS_REMOVED])}

    @property
    def position(self) -> int:
        """Signed position from our fills, lots."""
        return int(self.params[P_POS])

    def counters(self) -> dict[str, int]:
        """Data counters: unknown-id references, clipped anonymous removals, rejected (invalid) market adds."""
        return {"unknown_refs": int(self.params[P_UNKNOWN_REFS]), "clipped": int(self.params[P_CLIPPED]),
                "rejected": int(self.params[P_REJECTED])}
