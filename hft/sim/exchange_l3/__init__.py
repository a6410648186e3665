"""The simulated venue for L3 (market-by-order) data: our orders in the real FIFO queues, matching, fees.

Mirrors `hft.sim.exchange_l2` (same report dtype and kinds, fees, maker / taker flag, exchange modes, driver
interface), but the queue is known exactly, so there is no queue model.

Layout (numba; few arrays per call)
-----------------------------------
* ``book`` — an `hft.book.l3.L3Book` holding the market's orders (ids as the data gives them), the anonymous
  pre-existing quantity at the front of each level, AND our resting orders, which sit in the same FIFO queues
  under *own keys* ``OWN_KEY_BASE + n`` (``n`` = a per-venue counter; ``OWN_KEY_BASE = -2**62``), and the
  reference resync's anonymous orders under *resync keys* ``RESYNC_KEY_BASE + n`` (``RESYNC_KEY_BASE =
  OWN_KEY_LIMIT``; see "Reference resync"). Market ids in ``[OWN_KEY_BASE, RESYNC_KEY_LIMIT)`` are refused
  (`V_BAD_ID` → `SimError`); LOBSTER ids are positive. `hft.book.l3.l3_queue_ahead` on an own key is our
  exact queue position.
* ``orders`` int64 ``[cap, N_OCOL]`` — our working orders, rows ``0 .. params[P_NORD]-1`` kept compact and in
  the order they (last) entered the book (a finished order's row is removed by shifting the later rows up), so
  rows of one price level are in FIFO order. Columns ``O_*``.
* ``cons`` int64 ``[m, 3]`` — visible liquidity our taker fills consumed: ``(side, price, lots)``.
* ``params`` int64 ``[N_PARAMS]`` — mode, money multiplier, fees, counters (``P_*``), among them the signed
  position ``P_POS`` (lots), data counters (``P_UNKNOWN_REFS``, ``P_CLIPPED``, ``P_REJECTED``, as
  `hft.book.l3_replay.l3_replay` counts them) and the resync's row / key counters and adjustment counts
  (``P_REF_ROW``, ``P_RSEQ``, ``P_RS_LEVELS``, ``P_RS_ADDED``, ``P_RS_REMOVED``).
* ``ref`` int64 ``[n, 4*L]`` read-only — the LOBSTER reference rows (book after each message) for the resync;
  ``[0, 4]`` (no rows): resync off.
* ``out`` — a caller-allocated `VENUE_REPORT_DTYPE` buffer; ``params[P_NREP]`` counts the rows written.

Two entry kernels: `order_step(book, orders, cons, params, out, op, now, oid, side, price, qty, otype, tif, aux,
trail, oco, parent)`
(``OP_NEW`` / ``OP_CANCEL`` / ``OP_REPLACE`` / ``OP_EXPIRE``) and `market_step(book, orders, cons, params, out, ref, now, kind,
side, price, qty, oid)` (one market event, then the reference resync when ``ref`` has rows). Kernels never allocate: when the book needs a wider price range or more
order slots they return `V_NEED_LEVELS` (price in ``params[P_NEED_PRICE]``) / `V_NEED_ORDERS` BEFORE changing
anything; `L3Venue` grows the book (`l3_grow_levels` / `l3_grow_orders`) and calls again. `L3Venue` also sizes
``out``, ``cons`` and ``orders`` before each call so they never overflow.

Semantics (exactly what is implemented)
---------------------------------------
*Exogenous replay*: the data's messages are applied to the market's orders unchanged, whatever we did. Our
fills never remove market liquidity, and our orders never change a market order or the anonymous quantity;
without the reference resync, once all our orders are gone, the book is exactly the book
`hft.book.l3_replay.l3_replay` rebuilds from the data alone (the tests check this); with it, the market's visible
levels are the reference's after every message (below). Our own orders never match each other (no self-trade simulation: the gateway's
self-match prevention is the place for that); they are excluded from every "available quantity" below.

*Available* quantity of a level (what our taker orders may take): ``level qty - our own qty there -
consumed``, where ``consumed`` (``cons``) counts the lots our taker fills already took from the FRONT of that
level. When the data later removes quantity from that level (cancel / delete / execution of a market order or
of anonymous quantity), the removed lots that lie in the consumed prefix are no longer counted:
``consumed -= overlap([a, a+q), [0, consumed))`` with ``a`` = market quantity ahead of the removed order
(anonymous quantity counts as position 0). Adds (at the back) leave it unchanged; CLEAR of the side forgets
it. The *effective best* of a side is its best level with available > 0; it decides marketability.

Price-time priority of our resting orders relative to a market order X on the same side: our order is AHEAD
of X if its price is strictly better (buy: higher, sell: lower), or equal and it precedes X in the level's
FIFO. Anonymous quantity is ahead of everything at its level.

Market events (`market_step` / `L3Venue.market`; ``side`` = the resting order's side as LOBSTER gives it):

* EV_ADD ``(oid, side, price, qty)``: invalid adds (bad side, qty <= 0, an id already in the book, a level that
  would hold more than `hft.book.topn.QTY_MAX` lots) change nothing and count in ``P_REJECTED``. Otherwise, if the add crosses our resting orders of the OTHER side
  (a sell add at ``p`` <= our buy price, a buy add >= our sell price), the incoming order would have matched
  ours first: our crossed orders fill in price-time priority (best price first, FIFO within a price), maker,
  each at its own price, by up to the add's qty in total (``no_partial_fill`` / ``all_or_none``: an order reached with
  lots left fills entirely). Crossing fills do not consume visible liquidity. Then the add joins the back of its queue
  with its full qty (exogenous replay); an order of ours only partly filled stays where it is (still crossed).
  Market orders of the other side at or through the add's price are not looked at: consistent data (LOBSTER)
  never has any, since the add would have executed against them.
* EV_EXEC ``(oid, side, price, qty)``: for a known id the order's own side and price in the book are used.
  The aggressor must have traded through every order of ours AHEAD of X first: those fill, maker, at their own
  price, in price-time priority, by up to qty executed lots in total (``no_partial_fill`` / ``all_or_none``: whole
  order once reached). Executions of orders behind ours change nothing for us; executions of orders (or anonymous
  quantity) ahead of ours reduce our queue ahead by construction. Then the execution itself is applied to X as
  the data says (the consumed rule above first). An unknown id takes the quantity from the level's anonymous
  quantity (clipped at what is there, ``P_UNKNOWN_REFS`` / ``P_CLIPPED``); it is at the front, so only our
  orders at strictly better prices are ahead of it. With the resync on, what the front anonymous quantity
  does not cover is taken from the resync's anonymous orders of the level in FIFO order (they are unknown
  orders too), and our orders queued ahead of the last resync order it reaches fill first (same budget rule);
  only what neither covers is clipped.
* EV_CANCEL (partial; qty >= the remaining qty removes it) and EV_DELETE: applied to X (or, unknown id, to the
  anonymous quantity — then the resync's anonymous orders, front first — clipped) like `l3_replay`. Never fill us: cancels ahead of us move us forward.
* EV_HIDDEN_EXEC: executions against hidden liquidity; the visible queue is untouched and we never fill (our
  orders are displayed; the hidden order sat in the spread or was not ours to take). EV_TRADE (LOBSTER cross /
  auction trade, no resting order): nothing. EV_CLEAR (side, 0 = both): every market order and all anonymous
  quantity of the side(s) is removed (our orders stay, now at the front of their queues), consumed counts of the
  side(s) are forgotten. Other kinds: ignored.

Reference resync (``ref`` has rows: `L3Venue(reference=...)`, replay config ``l3_resync``, the default for
LOBSTER data). A level-L LOBSTER file has no messages below level L: quantity that changes while its price is
outside the visible window is never reported, and a price entering the window brings a quantity the messages
cannot explain (`hft.data.verify_lobster`). Replayed from the messages alone the venue's book drifts — on the
sample files it is crossed after most messages — so our queue places and taker fills are judged against
levels that do not exist. After every market event (the i-th `market_step` call uses reference row i, the book
after message i: call it for every message from message 0; the replay seeds the venue with row 0 with message
0 undone) the *market* quantity (level minus our own orders) of the visible window is made equal to the row:

* window, per side: every price from the book's best (any price better than the row's best is inside) to the
  row's L-th price; the whole side when the row shows fewer than L levels. Prices outside the window are never
  touched (they may be stale; they are learned when they become visible).
* every price the row shows gets the row's quantity; every other price inside the window loses all its
  market quantity. Our orders are never removed or moved: a level holding only ours is empty for the market.
* additions join the BACK of the queue as one anonymous order (a resync key), behind every order of ours, so
  no queue place of ours ever gets worse. If the added side crosses resting orders of ours on the other side
  (an ask added at or below our buy), they fill first as they would for a market add (maker, price-time
  priority, by up to the added lots; ``no_partial_fill`` as for adds), then the lots rest in full.
* removals take market quantity from the BACK of the queue first (the newest orders, resync orders and market
  orders alike, skipping ours), then the front anonymous quantity. Back first because (1) it is the
  conservative assumption for our queue place: it only improves (the quantity ahead of us shrinks) when the
  reference leaves fewer lots than are queued ahead of us, i.e. never from a guess; (2) the resync's own recent
  additions, which sit at the back, are undone first, so noise in the data-alone book does not leave phantom
  quantity in front of us. The removed lots are the last market lots of the level, so the consumed prefix
  drops its overlap with them (``consumed -= overlap([target, m), [0, consumed))``).
* counters: ``P_RS_LEVELS`` (one per level and message adjusted), ``P_RS_ADDED`` / ``P_RS_REMOVED`` (lots; like the
  position ``P_POS``, a run-long sum kept modulo 2**64, defined where int64 would overflow), reported by
  `L3Venue.resync_counters` and the replay summary's ``resync``. An addition is held to what the level can take
  (``QTY_MAX``); the reference's sizes must lie in ``[0, QTY_MAX]`` (`L3Venue` checks them).

Before the event is applied, `market_step` returns `V_NEED_LEVELS` / `V_NEED_ORDERS` (nothing changed) when a
price of the row has no level or fewer than ``2L + 1`` order slots are free, so the resync never allocates.
Known limits: quantity that rested at a price before it entered the window is added behind our order there
(optimistic for an order of ours that rested outside the window: in reality some of it may have been ahead);
the strategy's local view is set to the same reference rows at each message's local time (`hft.sim.engine`,
`hft.book.l2_view.local_set_row`), so strategy and venue trust the same book.

Our orders (`order_step` / `L3Venue.new / cancel / replace`):

* NEW: qty <= 0 or above ``QTY_MAX`` (2**62 - 1), bad side, or a resting order whose level would pass
  ``QTY_MAX`` → ``REJECTED``. marketable = the effective opposite best exists and (market
  order, or buy price >= it, or sell price <= it). Post-only and marketable → ``REJECTED``. Otherwise ``ACK``
  (leaves = qty), then, if marketable: mode ``partial_fill`` walks the opposite levels from the effective best
  while the level price is within the limit (market: no limit), taking ``min(available, leaves)`` at each
  level price, taker, recording it as consumed; FOK first checks that the available quantity within the
  limit covers qty, else ``EXPIRED`` with no fill. Mode ``no_partial_fill`` (hftbacktest's
  NoPartialFillExchange, as the peer does it): fills entirely at the effective best level, whatever the
  quantity there and whatever its TIF, nothing recorded as consumed (so the effective best is the displayed
  best in this mode). Mode ``all_or_none``: fills entirely at the effective best level if its available
  quantity covers qty (consumed), else nothing fills and the order ``EXPIRED`` whatever its TIF. Maker fills
  of both: the whole order once reached. Leaves of market / IOC / FOK orders → ``EXPIRED``; limit / post-only GTC (DAY as GTC) leaves join the
  BACK of the FIFO at their price, behind everything resting there (anonymous quantity included); a marketable
  limit's remainder rests at its limit even though the (consumed) displayed quantity it took is still there.
* ICEBERG (NEW with a display, `hft.sim.venue_common.new_aux`: a limit / post-only with ``0 < display < qty``,
  else ``REJECTED``): marketable, it takes with its whole size as above; resting, only its shown part
  ``O_SHOWN = min(display, leaves)`` is in the book under its own key (every sum of our lots at a level counts the
  shown part: `book_ops._booked`), and the maker rules above fill at most those lots. A fill that empties them takes
  the order out of the book (``O_INBOOK = IN_REFILL``, counted in ``P_NREFILL``): nothing else in that market event
  reaches it. At the end of `market_step_v` (after the event, its resync and the stops it triggered) each waiting
  iceberg, in row order, moves to the end of the table and its next ``min(display, leaves)`` lots join the BACK of
  its level's FIFO (the slot its shown part freed is reused; a level that cannot hold them: ``EXPIRED``, leaves 0).
  A replace keeps the display: in place, the shown part shrinks to at most the new size; moved, it shows
  ``min(display, new size)``. No report for a refill.
* TRAILING STOP (NEW of a stop / stop-limit with ``trail`` > 0 ticks, ``O_TRAIL``; a trail < 0, on another type,
  or on a stop-limit whose limit is not at or through its trigger → ``REJECTED``, `hft.core.order_rules.bad_trail`):
  held as a stop. Each print that triggers held stops (an execution, a hidden execution, a cross trade: after the
  message and its resync, in `_with_held`, off the path of every event while nothing is held) first tests its
  trigger as it
  stood; one it does not reach follows it (`hft.sim.venue_common.trail_follow`: a sell's trigger to
  ``max(trigger, print - trail)``, a buy's to ``min(trigger, print + trail)``, at least 1; a stop-limit's limit by
  as much). docs/sim.md, "Trailing stops".
* OCO and BRACKET (a NEW with ``oco`` / ``parent``; docs/sim.md "OCO and bracket orders held by the venue"): ``oco``
  names the other order of a pair: one the venue holds (working or held) not paired yet, else ``REJECTED``; both
  link (``O_OCO``). ``parent`` names a bracket child's entry: one the venue holds that is no held child itself, the
  child a limit / stop / stop-limit (`hft.core.order_rules.may_follow`), else ``REJECTED``; the child is ACKed and
  held out of the book (``O_INBOOK = IN_KID``, counted in ``P_NHELD``) and counted on its parent (``O_KIDS``). The
  venue remembers the last `DONE_ROWS` (16) orders that ended (filled, cancelled, expired) with their filled lots
  (a ring in ``params``, ``P_DONE``...), so a link may name an order that ended before the NEW arrived: a NEW whose
  pair's other has ended is ACKed, then ``CANCELED``; a child whose entry has ended (and was no held child) is
  ACKed and enters at once for the lots the entry filled, at most its size; an order neither held nor remembered →
  ``REJECTED``. The consequences (`links._linked`, one place) follow every fill of an order of ours (an
  execution, a crossing add, the resync's crossing addition, a taker fill), its trigger and its end (cancel,
  expiry, an IOC's or a refill's expiry): the other of its pair is ``CANCELED`` at once, after that fill's report
  (or the trigger's reports), so nothing later in the message reaches it; an order with no leaves (and a cancelled
  other) readies its children (``IN_READY``) with the lots it filled, at most their size. At the end of the step —
  an order operation, or a market message after its resync, the stops it triggered and the refills — the ready
  children enter, the first in the table each time (the order they arrived): none filled → ``CANCELED`` (its pair's
  other with it); else ``REPLACED`` (qty = leaves = that size), then a stop is held as if newly sent (its row moves
  to the end of the table), a limit enters as a NEW without ACK (it takes what it can; its rest joins the back of its
  level's FIFO), each keeping its pair. A held child's REPLACE → ``REPLACE_REJECTED``. The room a child's entry
  needs (a level and a slot per limit child) is checked before a step while orders are held (`V_NEED_*`, nothing
  changed).
* CANCEL: a working order → ``CANCELED`` (it leaves the queue); an order the venue does not hold (never
  arrived, already filled / cancelled / expired) → ``CANCEL_REJECTED``.
* EXPIRE (a GTD order's expiry, scheduled by the engine when the order arrived: docs/sim.md, "Good till date"):
  a working or held order → ``EXPIRED`` (it leaves the queue; leaves 0); an order the venue does not hold → no
  report.
* REPLACE (``price, qty`` = new open size): unknown order, qty <= 0, filled + qty above ``QTY_MAX``, a level that
  would pass ``QTY_MAX``, or a new price that would be marketable → ``REPLACE_REJECTED`` (nothing changes). Same price and qty <= leaves → keeps its queue place (its size
  shrinks in place). Anything else → leaves the queue and joins the back at the new price. ``REPLACED`` with
  price = new price, qty = leaves = the new open size.

`L3Venue.working()` reports ``front`` = `l3_queue_ahead` of our order: anonymous quantity, market orders and
our own earlier orders ahead of it at its price.

Fees: `hft.sim.fees.fee_money` with the maker or taker bps and the per-lot fee, exact: ``fee + fee_frac / 1e6``
money units (``fee`` the floor), > 0 paid (``FEE_REFUSED``:
the fill's value or fee would not fit int64; the engines stop the run at it, `hft.sim.fees`, "Range"). Reports
carry the exchange time ``now``; fills are ``PARTIAL_FILL`` while leaves > 0, then ``FILL``.
"""

from hft.sim.exchange_l2 import (
    EXCHANGE_MODES,
    MODE_ALL_OR_NONE,
    MODE_NO_PARTIAL_FILL,
    MODE_PARTIAL_FILL,
    VENUE_REPORT_DTYPE,
)
from hft.sim.exchange_l3.layout import (
    N_OCOL,
    N_PARAMS,
    OP_CANCEL,
    OP_EXPIRE,
    OP_NEW,
    OP_REPLACE,
    OWN_KEY_BASE,
    OWN_KEY_LIMIT,
    P_NEED_PRICE,
    RESYNC_KEY_BASE,
    RESYNC_KEY_LIMIT,
    V_BAD_ID,
    V_NEED_LEVELS,
    V_NEED_ORDERS,
    V_OK,
    V_STATUS_NAMES,
    V_TABLE_FULL,
)
from hft.sim.exchange_l3.steps import market_snapshot, market_step, order_step, out_need
from hft.sim.exchange_l3.venue import L3Venue

__all__ = [
    "EXCHANGE_MODES",
    "MODE_ALL_OR_NONE",
    "MODE_NO_PARTIAL_FILL",
    "MODE_PARTIAL_FILL",
    "N_OCOL",
    "N_PARAMS",
    "OP_CANCEL",
    "OP_EXPIRE",
    "OP_NEW",
    "OP_REPLACE",
    "OWN_KEY_BASE",
    "OWN_KEY_LIMIT",
    "P_NEED_PRICE",
    "RESYNC_KEY_BASE",
    "RESYNC_KEY_LIMIT",
    "VENUE_REPORT_DTYPE",
    "V_BAD_ID",
    "V_NEED_LEVELS",
    "V_NEED_ORDERS",
    "V_OK",
    "V_STATUS_NAMES",
    "V_TABLE_FULL",
    "L3Venue",
    "market_snapshot",
    "market_step",
    "order_step",
    "out_need",
]
