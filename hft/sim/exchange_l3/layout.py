"""The L3 venue's layout (`hft.sim.exchange_l3`): operation and status codes, the key ranges of our orders and
of the reference resync's in the book, the order-table columns (``O_*``), the params row (``P_*``) and the numba
decorator of its kernels."""

from __future__ import annotations

from hft.core.jit import njit
from hft.sim.venue_common import RING_WORDS

# --- operations of order_step ------------------------------------------------------------------------------
OP_NEW = 1
OP_CANCEL = 2
OP_REPLACE = 3
OP_EXPIRE = 4  # a GTD order's expiry (the engine's `hft.sim.venue_common.CMD_EXPIRE`)

# --- status codes ------------------------------------------------------------------------------------------
V_OK = 0
V_REPORTS_FULL = 1  # the report buffer had no room (size it with `L3Venue`)
V_CONS_FULL = 2  # the consumed-liquidity table had no room
V_BAD_OP = 3
V_NEED_LEVELS = 4  # grow the book's price range to params[P_NEED_PRICE] and call again (nothing changed)
V_NEED_ORDERS = 5  # grow the book's order capacity and call again (nothing changed)
V_BAD_ID = 6  # a market event used an id in our reserved range
V_TABLE_FULL = 7  # our order table had no free row
V_STATUS_NAMES = {V_OK: "ok", V_REPORTS_FULL: "report buffer full", V_CONS_FULL: "consumed table full",
                  V_BAD_OP: "unknown operation", V_NEED_LEVELS: "book needs a wider price range",
                  V_NEED_ORDERS: "book needs more order slots", V_BAD_ID: "market order id in our reserved range",
                  V_TABLE_FULL: "order table full"}

# --- our ids in the book -----------------------------------------------------------------------------------
OWN_KEY_BASE = -(1 << 62)
OWN_KEY_LIMIT = OWN_KEY_BASE + (1 << 61)
# anonymous quantity the reference resync adds at the back of a queue: synthetic market orders with keys
# RESYNC_KEY_BASE + n (n = params[P_RSEQ]); market ids in [OWN_KEY_BASE, RESYNC_KEY_LIMIT) are refused
RESYNC_KEY_BASE = OWN_KEY_LIMIT
RESYNC_KEY_LIMIT = RESYNC_KEY_BASE + (1 << 60)

# --- order table columns -----------------------------------------------------------------------------------
O_ID = 0  # gateway order id
O_KEY = 1  # our id in the L3 book
O_SIDE = 2
O_PRICE = 3
O_QTY = 4  # total size (filled + open)
O_LEAVES = 5  # open size
O_EXEC = 6  # cumulative filled
O_TYPE = 7
O_TIF = 8
O_ARRIVAL = 9  # exchange time the order (or its last repositioning) entered the book
O_INBOOK = 10  # 1 once resting in the book; IN_REFILL: an iceberg between its shown part and its next one
O_TRIGGER = 11  # a held stop's trigger price (> 0 with O_INBOOK 0: held, not in the book)
O_DISPLAY = 12  # an iceberg's display (0: not an iceberg, its whole leaves rest in the book)
O_SHOWN = 13  # an iceberg's lots in the book (its shown part left at its current queue place)
O_TRAIL = 14  # a held trailing stop's distance from the prints (ticks; 0: not trailing)
O_OCO = 15  # the order id of the other order of its OCO pair (0: none)
O_PARENT = 16  # a held bracket child's entry: its parent's order id (0: none, or released)
O_KIDS = 17  # a bracket entry's children held for it (0: none)
N_OCOL = 18
IN_REFILL = 2  # O_INBOOK of an iceberg whose shown part filled whole during a market event: refilled at its end
IN_KID = 3  # O_INBOOK of a bracket child held, out of the book, until its parent has no leaves
IN_READY = 4  # O_INBOOK of a bracket child whose parent has no leaves: `_release` enters (or cancels) it

# --- params ------------------------------------------------------------------------------------------------
P_MODE = 0
P_MULT = 1
P_MAKER_BPS_H = 2
P_TAKER_BPS_H = 3
P_PER_LOT = 4
# 5 = P_NREP (rows written to `out`), 6 = P_NCONS (rows used in `cons`): see hft.sim.venue_common
P_NORD = 7  # live rows of `orders`
P_SEQ = 8  # next own key offset
P_NEED_PRICE = 9  # price that needs a level (V_NEED_LEVELS)
P_POS = 10  # signed position from our fills (lots)
P_UNKNOWN_REFS = 11  # market cancels / deletes / executions of ids the book does not hold
P_CLIPPED = 12  # ... of which the anonymous quantity did not cover the size
P_REJECTED = 13  # invalid market adds (bad side / qty, duplicate id)
P_REF_ROW = 14  # reference resync: the reference row of the next market event
P_RSEQ = 15  # next resync key offset (> 0: resync orders may rest in the book)
P_RS_LEVELS = 16  # levels the resync adjusted (one per level and message)
P_RS_ADDED = 17  # lots the resync added
P_RS_REMOVED = 18  # lots the resync removed
P_NHELD = 19  # rows of `orders` that are held: stops (not in the book) and bracket children (IN_KID, IN_READY)
P_NREFILL = 20  # rows of `orders` that are icebergs waiting for their refill (O_INBOOK == IN_REFILL)
P_NREADY = 21  # bracket children ready to enter (O_INBOOK == IN_READY)
P_LINKGEN = 22  # orders the OCO rule cancelled so far: a loop over rows or queue nodes that saw it change restarts
P_DONE = 23  # the ring of ended orders (`venue_common.ring_push`: `RING_WORDS` words)
P_LINKFN = P_DONE + RING_WORDS  # the address of the OCO / bracket code's C entry (`link_call`), set by `L3Venue`
N_PARAMS = P_LINKFN + 1

# Kernels never allocate: compiled without NRT reference counting, like `hft.book.l3`'s (a call passing the
# 14-array `L3Book` otherwise increfs / decrefs every member).
_kernel = njit(cache=True, _nrt=False)
