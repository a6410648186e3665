"""The reference L3 venue: the market's orders in FIFO queues with ours among them, matching and fees, written from
docs/sim.md ("Venue semantics", L3 and the reference resync; "The L3 venue, precisely"). Plain Python: a level is
its anonymous front quantity and a list of queue entries.

The replayed flow is exogenous: the data's messages change the market's orders as the data says, whatever we did;
our fills never remove market liquidity. Our taker fills remember what they took from the front of a level
(`consumed`); a level's *available* quantity is its market quantity (every lot but ours) − consumed, and the
*effective best* of a side is its best level with available > 0.

Our resting orders are kept in `ours` in the order they (last) entered the book; among orders of ours at one
price that is their FIFO order, so "earliest in `ours`" breaks price ties in price-time priority.

Stops and stop-limits (docs/sim.md, "Stop orders held by the venue") wait in `held`, in the order they arrived, out
of the book. A print — an execution of a visible order, an execution against hidden liquidity, a cross trade —
at a price >= a held buy's trigger or <= a held sell's triggers it, after the message and its resync: in `held`'s
order each stop it reaches (its trigger as it stood) leaves it, is reported TRIGGERED (the message's price) and enters
as a new order without an ACK (a stop a market IOC, a stop-limit a limit at its price with its TIF); each trailing
stop it does not reach (`Held.trail` > 0; docs/sim.md, "Trailing stops") follows the print: a sell's trigger becomes
max(trigger, print − trail), a buy's min(trigger, print + trail) but at least 1, and a stop-limit's limit moves as
much as its trigger did (one at a time, in `held`'s order: what a trigger's OCO rule cancels shows the price it had).

An iceberg (docs/sim.md, "Iceberg orders held by the venue", L3) is an `Ours` with a `display`: its queue entry is
its `shown` lots, not its leaves. An event that fills the shown part whole takes it out of its queue (`waiting`:
no more fills from that event); when the message, its resync and the stops it triggered are done, each waiting
iceberg, in `ours`' order, joins the back of its level again with ``min(display, leaves)`` lots and moves to the
end of `ours`.

OCO and bracket orders (docs/sim.md, "OCO and bracket orders held by the venue"), as on the reference L2 venue: an
order's `oco` names the other of its pair; `_after` is what a fill, a trigger or an end of an order sets off (the
other CANCELED; an order no longer held here readies its bracket children, `Child`, kept in `kids` in the order they
arrived, each for the lots it filled, at most its size). At the end of each operation and of each message (after
the stops it triggered and the icebergs' refills), `_release` takes the first ready child, again until none is:
none filled for it → CANCELED; a stop → `Held` at the end of `held` (as if newly sent); a limit → a new order,
reported REPLACED with its size. `ended` remembers the last 16 orders that ended (id, lots filled; None: a child
that ended held), for the links that name one after its end.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_CLEAR,
    EV_DELETE,
    EV_EXEC,
    EV_HIDDEN_EXEC,
    EV_TRADE,
    NO_PRICE,
    SELL,
)
from hft.core.errors import SimError
from hft.core.orders import (
    LIQ_MAKER,
    LIQ_NONE,
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_POST_ONLY,
    ORDER_STOP,
    ORDER_STOP_LIMIT,
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    REPORT_TRIGGERED,
    TIF_FOK,
    TIF_IOC,
)
from hft.sim.reference.accounting import Fees, fee_of
from hft.sim.reference.venue import ENDED, MODES, QTY_MAX, Child, Held, TakerMatching, VenueReport

_U64 = (1 << 64) - 1


@dataclass(eq=False)  # an order is itself: lists find it by identity
class Ours:
    """One resting order of ours (its queue entry: `lots`)."""

    order_id: int
    side: int
    price: int
    leaves: int
    filled: int = 0
    display: int = 0  # an iceberg's (0: not an iceberg)
    shown: int = 0  # an iceberg's lots in its queue entry
    waiting: bool = False  # an iceberg out of its queue until the end of the message (its shown part filled)
    oco: int = 0  # the other order of its OCO pair (0: none)
    kids: int = 0  # the bracket children held for it

    @property
    def lots(self) -> int:
        """The lots of its queue entry."""
        return self.shown if self.display else self.leaves


@dataclass(eq=False)
class Theirs:
    """A market order in a queue: an order of the data (`resync` False, `key` its id) or one the reference resync
    added (`resync` True)."""

    key: int
    qty: int
    resync: bool = False


@dataclass
class Level:
    """One price level: anonymous quantity at the front (orders the book never saw), then the FIFO queue."""

    anon: int = 0
    queue: list[Ours | Theirs] = field(default_factory=list)

    def total(self) -> int:
        return self.anon + sum(e.lots if isinstance(e, Ours) else e.qty for e in self.queue)

    def market(self) -> int:
        """Every lot but ours."""
        return self.anon + sum(e.qty for e in self.queue if isinstance(e, Theirs))

    def market_ahead(self, entry: Theirs) -> int:
        """Market lots ahead of `entry` (anonymous quantity is at position 0)."""
        ahead = self.anon
        for e in self.queue:
            if e is entry:
                return ahead
            if isinstance(e, Theirs):
                ahead += e.qty
        raise AssertionError("entry not in its level")


class L3ReferenceVenue(TakerMatching):
    """One instrument's L3 venue. Each method applies one thing at the venue's time `now` and returns the reports
    it produced, in order.

    Args:
        mode: ``partial_fill``, ``no_partial_fill`` or ``all_or_none``.
        fees: the fee schedule; money: the money factor of fills (multiplier, or -K inverse).
        reference: LOBSTER reference rows (one per market event, ``4*L`` ints each: ask price, ask size, bid price,
            bid size per level, ``NO_PRICE`` for an empty level): the resync after every market event; None: off.
    """

    def __init__(self, mode: str = "partial_fill", fees: Fees | None = None, money: int = 1,
                 reference: Sequence[Sequence[int]] | None = None) -> None:
        if mode not in MODES:
            raise SimError(f"exchange mode: expected one of {MODES}, was {mode!r}")
        self.mode = mode
        self.fees = fees or Fees()
        self.money = money
        self.book: dict[int, dict[int, Level]] = {BUY: {}, SELL: {}}
        self.where: dict[int, tuple[int, int]] = {}  # market order id -> (side, price)
        self.consumed: dict[tuple[int, int], int] = {}
        self.ours: list[Ours] = []
        self.held: list[Held] = []  # stops waiting for their trigger, in the order they arrived
        self.kids: list[Child] = []  # bracket children held for their parent, in the order they arrived
        self.taking: Ours | None = None  # a new order taking liquidity (not in `ours` yet)
        self.ended: deque[tuple[int, int | None]] = deque(maxlen=ENDED)  # (order id, lots filled), oldest first
        self.reference = reference
        self.rows_used = 0
        self.resync_serial = 0
        self.resync = {"levels": 0, "added": 0, "removed": 0}  # lot sums modulo 2**64 (as int64), like the engine
        self.data = {"unknown_refs": 0, "clipped": 0, "rejected": 0}

    # --- the book ------------------------------------------------------------------------------------------
    def _level(self, side: int, price: int) -> Level:
        return self.book[side].setdefault(price, Level())

    def _tidy(self, side: int, price: int) -> None:
        lv = self.book[side].get(price)
        if lv is not None and lv.anon == 0 and not lv.queue:
            del self.book[side][price]

    def total(self, side: int, price: int) -> int:
        lv = self.book[side].get(price)
        return lv.total() if lv else 0

    def market_qty(self, side: int, price: int) -> int:
        lv = self.book[side].get(price)
        return lv.market() if lv else 0

    def available(self, side: int, price: int) -> int:
        return max(self.market_qty(side, price) - self.consumed.get((side, price), 0), 0)

    def levels(self, side: int) -> list[int]:
        """The side's prices with lots (ours included), best first (a level without lots is never kept)."""
        return sorted(self.book[side], reverse=side == BUY)

    def effective_best(self, side: int) -> int | None:
        return next((p for p in self.levels(side) if self.available(side, p) > 0), None)

    @staticmethod
    def within(side: int, limit: int, level: int, market: bool) -> bool:
        return market or (level <= limit if side == BUY else level >= limit)

    @staticmethod
    def better(side: int, a: int, b: int) -> bool:
        """Is `a` a strictly better price than `b` for a resting order of `side`?"""
        return a > b if side == BUY else a < b

    def seed(self, side: int, price: int, qty: int) -> None:
        """Anonymous quantity (orders resting before the data starts) at the front of a level."""
        if side not in (BUY, SELL) or qty <= 0:
            raise SimError(f"seed: expected side BUY/SELL and qty > 0, was side {side}, qty {qty}")
        self._level(side, price).anon += qty

    def _forget(self, side: int, price: int, at: int, qty: int) -> None:
        """The data removed `qty` market lots at position `at` of a level: the consumed prefix loses its overlap."""
        c = self.consumed.get((side, price))
        if c is None:
            return
        c -= max(min(c, at + qty) - at, 0)
        if c <= 0:
            del self.consumed[(side, price)]
        else:
            self.consumed[(side, price)] = c

    def _take(self, side: int, price: int, entry: Theirs, qty: int) -> None:
        """Take `qty` lots (at most its size) from a market entry; it leaves its queue at 0."""
        entry.qty -= qty
        if entry.qty == 0:
            self.book[side][price].queue.remove(entry)
            if not entry.resync:
                del self.where[entry.key]
            self._tidy(side, price)

    # --- market data ---------------------------------------------------------------------------------------
    def market(self, now: int, kind: int, side: int, price: int, qty: int, order_id: int = 0) -> list[VenueReport]:
        """One exchange event (``side``: the resting order's, as the data gives it), then the reference resync."""
        out: list[VenueReport] = []
        if kind == EV_ADD:
            self._add(out, now, order_id, side, price, qty)
        elif kind == EV_EXEC:
            self._exec(out, now, order_id, side, price, qty)
        elif kind in (EV_CANCEL, EV_DELETE):
            self._remove(kind, order_id, side, price, qty)
        elif kind == EV_CLEAR:
            for s in (BUY, SELL):
                if side in (0, s):
                    self._clear(s)
        # a hidden execution, a trade without a resting order, a halt: nothing at the venue
        if self.reference is not None:
            self._resync(out, now)
        if kind in (EV_EXEC, EV_HIDDEN_EXEC, EV_TRADE):  # a print: each held stop in arrival order, as it stood
            for h in list(self.held):
                if not any(x is h for x in self.held):  # the other of an OCO pair an earlier one cancelled
                    continue
                if not (price >= h.trigger if h.side == BUY else price <= h.trigger):
                    if h.trail:  # not reached: a trailing stop follows it (the limit keeps its distance)
                        to = max(h.trigger, price - h.trail) if h.side == SELL else max(1, min(h.trigger,
                                                                                           price + h.trail))
                        if h.order_type == ORDER_STOP_LIMIT:
                            h.price += to - h.trigger
                        h.trigger = to
                    continue
                self.held.remove(h)
                if h.order_type == ORDER_STOP:
                    out += self._enter_new(now, h.order_id, h.side, 0, h.qty, ORDER_MARKET, TIF_IOC,
                                           REPORT_TRIGGERED, price, oco=h.oco, kids=h.kids)
                else:
                    out += self._enter_new(now, h.order_id, h.side, h.price, h.qty, ORDER_LIMIT, h.tif,
                                           REPORT_TRIGGERED, price, oco=h.oco, kids=h.kids)
                entered = self._find(h.order_id)  # the trigger cancels its pair's other (unless a fill or its end
                if entered is not None and entered.oco:  # at entry did)
                    self._after(now, entered, out)
        for o in [o for o in self.ours if o.waiting]:  # icebergs whose shown part this message filled whole
            if not o.waiting or not any(x is o for x in self.ours):
                continue
            self.ours.remove(o)
            o.waiting = False
            if min(o.display, o.leaves) > QTY_MAX - self.total(o.side, o.price):  # the level cannot hold it
                self.ended.append((o.order_id, o.filled))
                out.append(VenueReport(now, o.order_id, o.price, 0, 0, 0, 0, REPORT_EXPIRED, LIQ_NONE))
                self._after(now, o, out)
            else:
                self._enter(o)
        return self._release(now, out)

    def _add(self, out: list[VenueReport], now: int, oid: int, side: int, price: int, qty: int) -> None:
        if side not in (BUY, SELL) or qty <= 0 or oid in self.where or qty > QTY_MAX - self.total(side, price):
            self.data["rejected"] += 1
            return
        self._fill_through(out, now, -side, price, qty, inclusive=True)  # it would have matched ours first
        self._level(side, price).queue.append(Theirs(oid, qty))
        self.where[oid] = (side, price)

    def _theirs(self, oid: int) -> tuple[int, int, Theirs] | None:
        if oid not in self.where:
            return None
        side, price = self.where[oid]
        entry = next(e for e in self.book[side][price].queue if isinstance(e, Theirs) and not e.resync
                     and e.key == oid)
        return side, price, entry

    def _exec(self, out: list[VenueReport], now: int, oid: int, side: int, price: int, qty: int) -> None:
        found = self._theirs(oid)
        if found is not None:
            side, price, x = found
        if self.ours and qty > 0 and side in (BUY, SELL):
            # the aggressor went through every order of ours ahead of the executed one first
            rem = self._fill_through(out, now, side, price, qty, inclusive=False)
            lv = self.book[side].get(price)
            if lv is not None and rem > 0:
                if found is not None:
                    rem = self._fill_ahead(out, now, lv, x, rem)
                else:  # beyond the front anonymous quantity it executes the resync's orders, front first
                    need, last = qty - lv.anon, None
                    for e in lv.queue:
                        if need <= 0:
                            break
                        if isinstance(e, Theirs) and e.resync:
                            need -= e.qty
                            last = e
                    if last is not None:
                        self._fill_ahead(out, now, lv, last, rem)
        self._remove(EV_EXEC, oid, side, price, qty)

    def _fill_ahead(self, out: list[VenueReport], now: int, lv: Level, stop: Theirs, rem: int) -> int:
        """Our orders queued ahead of `stop` fill (maker) by up to `rem` lots; returns the lots left."""
        for e in list(lv.queue):
            if e is stop or rem <= 0:
                break
            if isinstance(e, Ours) and any(x is e for x in lv.queue):  # (not cancelled by the OCO rule meanwhile)
                rem -= self._maker(out, now, e, rem)
        return rem

    def _remove(self, kind: int, oid: int, side: int, price: int, qty: int) -> None:
        """A market cancel (partial), delete or execution, as the data says."""
        found = self._theirs(oid)
        if found is None:
            self.data["unknown_refs"] += 1
            if side not in (BUY, SELL):
                self.data["rejected"] += 1
                return
            lv = self.book[side].get(price)
            rest = qty
            if lv is not None:
                take = min(rest, lv.anon)  # an unknown order: the front anonymous quantity first
                if take > 0:
                    self._forget(side, price, 0, take)
                    lv.anon -= take
                    rest -= take
                for e in list(lv.queue):  # then the resync's orders, front first (unknown orders too)
                    if rest <= 0:
                        break
                    if isinstance(e, Theirs) and e.resync:
                        x = min(rest, e.qty)
                        self._forget(side, price, lv.market_ahead(e), x)
                        self._take(side, price, e, x)
                        rest -= x
                self._tidy(side, price)
            if rest > 0:
                self.data["clipped"] += 1
            return
        side, price, x = found
        q = x.qty if kind == EV_DELETE or qty >= x.qty else qty
        if q <= 0:
            self.data["rejected"] += 1
            return
        self._forget(side, price, self.book[side][price].market_ahead(x), q)
        self._take(side, price, x, q)

    def _clear(self, side: int) -> None:
        for price, lv in list(self.book[side].items()):
            for e in lv.queue:
                if isinstance(e, Theirs) and not e.resync:
                    del self.where[e.key]
            lv.anon = 0
            lv.queue = [e for e in lv.queue if isinstance(e, Ours)]
            self._tidy(side, price)
        self.consumed = {k: v for k, v in self.consumed.items() if k[0] != side}

    # --- the reference resync ------------------------------------------------------------------------------
    def _resync(self, out: list[VenueReport], now: int) -> None:
        """The market quantity of the visible window := reference row k (the k-th market event's)."""
        assert self.reference is not None
        k = self.rows_used
        self.rows_used += 1
        if k >= len(self.reference):
            return
        row = [int(x) for x in self.reference[k]]
        n = len(row) // 4
        for side, col in ((BUY, 2), (SELL, 0)):
            shown = [(row[4 * j + col], row[4 * j + col + 1]) for j in range(n) if row[4 * j + col] != NO_PRICE]
            for p, q in shown:
                self._rs_set(out, now, side, p, q)
            sizes: dict[int, int] = {}
            for p, q in shown:
                sizes.setdefault(p, q)
            bound = row[4 * (n - 1) + col]  # the row's L-th price: the window's far end (NO_PRICE: the whole side)
            for p in self.levels(side):
                if bound != NO_PRICE and self.better(side, bound, p):
                    break
                if sizes.get(p, 0) == 0:
                    self._rs_set(out, now, side, p, 0)

    def _rs_set(self, out: list[VenueReport], now: int, side: int, price: int, target: int) -> None:
        m = self.market_qty(side, price)
        if m == target:
            return
        self.resync["levels"] += 1
        if target > m:
            x = min(target - m, QTY_MAX - self.total(side, price))
            if x <= 0:
                return
            self.resync["added"] = (self.resync["added"] + x) & _U64
            self._fill_through(out, now, -side, price, x, inclusive=True)
            self.resync_serial += 1
            self._level(side, price).queue.append(Theirs(self.resync_serial, x, resync=True))
            return
        x = m - target
        self.resync["removed"] = (self.resync["removed"] + x) & _U64
        self._forget(side, price, target, x)  # the level's last x market lots
        lv = self.book[side][price]
        for e in reversed(list(lv.queue)):  # from the back, skipping ours
            if x <= 0:
                break
            if isinstance(e, Theirs):
                take = min(x, e.qty)
                self._take(side, price, e, take)
                x -= take
        if x > 0:
            lv.anon -= x
            self._tidy(side, price)

    def resync_counters(self) -> dict[str, int | bool]:
        """On / off, levels adjusted, lots added and removed (sums as signed 64-bit integers)."""
        def i64(v: int) -> int:
            return v - (1 << 64) if v >= 1 << 63 else v

        return {"enabled": self.reference is not None and len(self.reference) > 0,
                "levels": self.resync["levels"], "added": i64(self.resync["added"]),
                "removed": i64(self.resync["removed"])}

    # --- our fills -----------------------------------------------------------------------------------------
    def _fill_through(self, out: list[VenueReport], now: int, side: int, price: int, budget: int,
                      inclusive: bool) -> int:
        """Our resting orders of `side` priced better than `price` (or at it, `inclusive`) fill as makers in
        price-time priority by up to `budget` lots in all; returns the lots left."""
        while budget > 0:
            reached = [o for o in self.ours if o.side == side and not o.waiting and
                       (self.better(side, o.price, price) or (inclusive and o.price == price))]
            if not reached:
                break
            best = reached[0]
            for o in reached[1:]:
                if self.better(side, o.price, best.price):
                    best = o
            budget -= self._maker(out, now, best, budget)
        return budget

    def _maker(self, out: list[VenueReport], now: int, o: Ours, budget: int) -> int:
        """Our resting order is reached with `budget` lots left: its queue entry fills (whole unless
        ``partial_fill``); returns the lots of the budget it used."""
        use = min(o.lots, budget)
        out.append(self._fill(now, o, o.price, use if self.mode == "partial_fill" else o.lots, LIQ_MAKER))
        self._after(now, o, out)
        return use

    def _fill(self, now: int, o: Ours, price: int, qty: int, liquidity: int) -> VenueReport:
        bps = self.fees.maker_bps_h if liquidity == LIQ_MAKER else self.fees.taker_bps_h
        fee, frac = fee_of(price, qty, self.money, bps, self.fees.per_lot)
        o.leaves -= qty
        o.filled += qty
        resting = any(x is o for x in self.ours)
        if o.leaves == 0:
            if resting:
                self._leave(o)
            self.ended.append((o.order_id, o.filled))
        elif resting and o.display:
            o.shown -= qty
            if o.shown == 0:  # out of its queue; the end of the message refills it
                self.book[o.side][o.price].queue.remove(o)
                self._tidy(o.side, o.price)
                o.waiting = True
        kind = REPORT_FILL if o.leaves == 0 else REPORT_PARTIAL_FILL
        return VenueReport(now, o.order_id, price, qty, o.leaves, fee, frac, kind, liquidity)

    def _leave(self, o: Ours) -> None:
        """Our order leaves its queue and `ours`."""
        self.ours.remove(o)
        self.book[o.side][o.price].queue.remove(o)
        self._tidy(o.side, o.price)

    def _enter(self, o: Ours) -> None:
        """Our order joins the back of its price's queue (an iceberg with ``min(display, leaves)`` lots)."""
        if o.display:
            o.shown = min(o.display, o.leaves)
        self._level(o.side, o.price).queue.append(o)
        self.ours.append(o)

    # --- our orders ----------------------------------------------------------------------------------------
    def new(self, now: int, oid: int, side: int, price: int, qty: int, otype: int, tif: int,
            trigger: int = 0, display: int = 0, trail: int = 0, oco: int = 0, parent: int = 0) -> list[VenueReport]:
        stop = otype in (ORDER_STOP, ORDER_STOP_LIMIT)
        rejected = [VenueReport(now, oid, price, 0, 0, 0, 0, REPORT_REJECTED, LIQ_NONE)]
        ok, size = self._may_link(side, price, otype, qty, trigger, trail, oco, parent)
        if not ok:
            return rejected
        up = self._find_linked(parent) if parent else None  # what it names, held here (None: not, or ended)
        other = self._find_linked(oco) if oco else None
        if stop or parent or size is not None:
            if (qty <= 0 or qty > QTY_MAX or side not in (BUY, SELL)
                    or (stop and (trigger <= 0 or (otype == ORDER_STOP_LIMIT and price <= 0)))
                    or (display and not stop and not (0 < display < qty and otype in (ORDER_LIMIT, ORDER_POST_ONLY)))):
                return rejected
            if parent or size is not None:
                c = Child(oid, side, price, qty, otype, tif, trigger if stop else 0, 0 if stop else display, trail,
                          parent, oco if other is not None else 0)
                if up is not None:
                    up.kids += 1
                if size is not None:  # what it names has ended: it enters (or is cancelled) at this step's end
                    c.ready, c.size = True, size
                self.kids.append(c)
            else:
                self.held.append(Held(oid, side, price, qty, otype, tif, trigger, trail, oco if other else 0))
            if other is not None:
                other.oco = oid
            return self._release(now, [VenueReport(now, oid, price, 0, qty, 0, 0, REPORT_ACK, LIQ_NONE)])
        return self._release(now, self._enter_new(now, oid, side, price, qty, otype, tif, REPORT_ACK, price, display,
                                                  oco=oco, pair=other))

    def cancel(self, now: int, oid: int) -> list[VenueReport]:
        return self._end_op(now, oid, REPORT_CANCELED)

    def expire(self, now: int, oid: int) -> list[VenueReport]:
        return self._end_op(now, oid, REPORT_EXPIRED)

    def _end_op(self, now: int, oid: int, kind: int) -> list[VenueReport]:
        """A cancel (CANCEL_REJECTED when the venue does not hold the order) or a GTD expiry (nothing then): the
        order ends, and what that sets off (`_after`), then the ready children (`_release`)."""
        o = self._find_any(oid)
        if o is None:
            if kind == REPORT_CANCELED:
                return [VenueReport(now, oid, 0, 0, 0, 0, 0, REPORT_CANCEL_REJECTED, LIQ_NONE)]
            return []
        self._drop(o)
        out = [VenueReport(now, oid, o.price, 0, 0, 0, 0, kind, LIQ_NONE)]
        self._after(now, o, out)
        return self._release(now, out)

    def replace(self, now: int, oid: int, price: int, qty: int) -> list[VenueReport]:
        if any(h.order_id == oid for h in self.held) or any(c.order_id == oid for c in self.kids):
            # a held stop or bracket child is not replaced
            return [VenueReport(now, oid, price, 0, 0, 0, 0, REPORT_REPLACE_REJECTED, LIQ_NONE)]
        out = super().replace(now, oid, price, qty)
        o = self._find(oid)
        if o is not None and o.display:  # kept in place: its shown lots shrink to at most the new size
            o.shown = min(o.shown, o.leaves)
        return out

    # --- OCO and brackets ----------------------------------------------------------------------------------
    def _find_any(self, oid: int) -> Ours | Held | Child | None:
        """Our order `oid` the venue holds: resting (or an iceberg waiting for its refill), a held stop or child."""
        for seq in (self.ours, self.held, self.kids):
            for o in seq:
                if o.order_id == oid:
                    return o
        return None

    def _holds(self, o: Ours | Held | Child) -> bool:
        if o is self.taking and o.leaves > 0:
            return True
        return any(x is o for seq in (self.ours, self.held, self.kids) for x in seq)

    def _drop(self, o: Ours | Held | Child) -> None:
        """`o` ends (cancelled, expired, the OCO rule): it leaves the venue, which remembers it (`ended`)."""
        if isinstance(o, Ours):
            if o.waiting:
                self.ours.remove(o)
            else:
                self._leave(o)
            self.ended.append((o.order_id, o.filled))
        elif isinstance(o, Held):
            self.held.remove(o)
            self.ended.append((o.order_id, 0))
        else:
            self.kids.remove(o)
            self.ended.append((o.order_id, None if o.parent else 0))

    def _find_linked(self, oid: int) -> Ours | Held | Child | None:
        return self._find_any(oid)

    def _end_linked(self, o: Ours | Held | Child) -> None:
        self._drop(o)

    def _children(self) -> list[Child]:
        return self.kids

    def _release(self, now: int, out: list[VenueReport]) -> list[VenueReport]:
        """The ready bracket children, the first in arrival order each time until none is, reports appended."""
        while True:
            c = next((c for c in self.kids if c.ready), None)
            if c is None:
                return out
            self.kids.remove(c)
            if c.size == 0:  # its parent filled nothing (or its pair's other had ended)
                self.ended.append((c.order_id, None if c.parent else 0))
                out.append(VenueReport(now, c.order_id, c.price, 0, 0, 0, 0, REPORT_CANCELED, LIQ_NONE))
                self._after(now, c, out)
            elif c.order_type in (ORDER_STOP, ORDER_STOP_LIMIT):  # held from now, as if newly sent
                self.held.append(Held(c.order_id, c.side, c.price, c.size, c.order_type, c.tif, c.trigger, c.trail,
                                      c.oco))
                out.append(VenueReport(now, c.order_id, c.price, c.size, c.size, 0, 0, REPORT_REPLACED, LIQ_NONE))
            else:
                out += self._enter_new(now, c.order_id, c.side, c.price, c.size, c.order_type, c.tif,
                                       REPORT_REPLACED, c.price, c.display if c.display < c.size else 0, oco=c.oco)

    def _enter_new(self, now: int, oid: int, side: int, price: int, qty: int, otype: int, tif: int, first: int,
                   first_price: int, display: int = 0, oco: int = 0, kids: int = 0,
                   pair: Ours | Held | Child | None = None) -> list[VenueReport]:
        """A new order into the book; its first report is `first` (ACK; TRIGGERED; REPLACED, a bracket child with
        its size) at `first_price`; `display`: an iceberg's (a limit / post-only with 0 < display < qty), which takes
        liquidity with its whole size; `oco`, `kids`: the links it keeps (`pair`: the other of a pair it makes,
        which names it from now)."""
        rejected = [VenueReport(now, oid, price, 0, 0, 0, 0, REPORT_REJECTED, LIQ_NONE)]
        if qty <= 0 or qty > QTY_MAX or side not in (BUY, SELL):
            return rejected
        if display and not (0 < display < qty and otype in (ORDER_LIMIT, ORDER_POST_ONLY)):
            return rejected
        market = otype == ORDER_MARKET
        expire = market or tif in (TIF_IOC, TIF_FOK)
        if not expire and qty > QTY_MAX - self.total(side, price):  # it could not rest there
            return rejected
        best = self.effective_best(-side)
        marketable = best is not None and self.within(side, price, best, market)
        if otype == ORDER_POST_ONLY and marketable:
            return rejected
        o = Ours(oid, side, price, qty, display=display, oco=oco, kids=kids)
        if pair is not None:
            pair.oco = oid
        out = [VenueReport(now, oid, first_price, qty if first == REPORT_REPLACED else 0, qty, 0, 0, first, LIQ_NONE)]
        if marketable:
            assert best is not None
            self.taking = o  # held here while it takes (`_holds`): its partial fills ready no children
            expire |= self._take_liquidity(now, o, best, tif, market, out)
            self.taking = None
        if o.leaves > 0:
            if expire:
                self.ended.append((oid, o.filled))
                out.append(VenueReport(now, oid, price, 0, 0, 0, 0, REPORT_EXPIRED, LIQ_NONE))
                self._after(now, o, out)
            else:
                self._enter(o)
                out[0] = out[0]._replace(queue=self.queue_ahead(oid))
        return out

    def _room(self, o: Ours, price: int, qty: int) -> bool:
        """The level at `price` holds `qty` more lots of ours (besides what `o` holds there now)."""
        return qty <= QTY_MAX - (self.total(o.side, price) - (o.lots if price == o.price else 0))

    def _move(self, o: Ours, price: int, qty: int) -> None:
        """To the back of the queue at `price`."""
        self._leave(o)
        o.price, o.leaves = price, qty
        self._enter(o)

    def queue_ahead(self, oid: int) -> int:
        """The lots ahead of our resting order in its queue (anonymous, market and our earlier orders); -1 when it
        does not rest here."""
        o = self._find(oid)
        if o is None:
            return -1
        lv = self.book[o.side][o.price]
        ahead = lv.anon
        for e in lv.queue:
            if e is o:
                return ahead
            ahead += e.lots if isinstance(e, Ours) else e.qty
        raise AssertionError("our order is not in its level")

    # --- helpers -------------------------------------------------------------------------------------------
    def _find(self, oid: int) -> Ours | None:
        return next((o for o in self.ours if o.order_id == oid), None)

    def _consume(self, side: int, price: int, qty: int) -> None:
        self.consumed[(side, price)] = self.consumed.get((side, price), 0) + qty


def preopen_levels(row0: Sequence[int], first: tuple[int, int, int, int]) -> list[tuple[int, int, int]]:
    """What rested before the first LOBSTER message: reference row 0 (the book after it) with message 0 undone;
    `first` is that message's ``(kind, side, price, qty)``. ``(side, price, qty)`` per level, sorted."""
    levels: dict[tuple[int, int], int] = {}
    for j in range(len(row0) // 4):
        for side, col in ((SELL, 0), (BUY, 2)):
            p, q = int(row0[4 * j + col]), int(row0[4 * j + col + 1])
            if p != NO_PRICE and q > 0:
                levels[(side, p)] = q
    kind, side, price, qty = first
    if kind == EV_ADD and (side, price) in levels:
        levels[(side, price)] -= qty
    elif kind in (EV_CANCEL, EV_DELETE, EV_EXEC):
        levels[(side, price)] = levels.get((side, price), 0) + qty
    return [(s, p, q) for (s, p), q in sorted(levels.items()) if q > 0]
