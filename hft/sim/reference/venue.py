"""The reference L2 venue: the market book as the data shows it, our orders and their queue places, matching and
fees, written from docs/sim.md ("Venue semantics", L2; "The L2 venue, precisely"). Plain Python: dicts and lists.

The replayed book is exogenous: our fills never change it. Our taker fills remember what they took per level
(`consumed`); a level's *available* quantity is displayed − consumed until that level next updates (or its side is
cleared), and the *effective best* of a side is its best level with available > 0.

Our orders sit in `slots` (a new order takes the lowest free slot; a finished order frees its slot at once), and
every market event visits our orders in slot order, so the reports of one event come in that order.

A stop or stop-limit (docs/sim.md, "Stop orders held by the venue") is `Held` in its slot: not in the book, no queue
place. After a print's fills, each held stop the print reaches (a buy at a print >= its trigger, a sell at <=), in
slot order, leaves its slot, is reported TRIGGERED (the print's price) and is entered as a new order without an ACK:
a stop a market IOC, a stop-limit a limit at its price with its TIF. A trailing stop (`Held.trail` > 0; docs/sim.md,
"Trailing stops") that a print does not reach then follows it: a sell's trigger becomes max(trigger, print − trail),
a buy's min(trigger, print + trail) but at least 1, and a stop-limit's limit moves as much as its trigger did.

An iceberg (docs/sim.md, "Iceberg orders held by the venue") is a `Resting` order with a `display`: it shows `shown`
lots at its queue place. An event fills at most what it shows; when that is gone and lots are left, the next
min(display, leaves) show at the back of the level (a new queue place behind all displayed there), and what was
left of that event does not reach them.

OCO and bracket orders (docs/sim.md, "OCO and bracket orders held by the venue"): an order's `oco` names the other
order of its pair (both ways, once the second arrives); `_after` is what a fill, a trigger or an end of an order sets
off: the other of its pair CANCELED, and an order with no leaves readies the bracket children (`Child`) it holds,
each for the lots it filled, at most its own size. At the end of each operation `_release` enters the ready children
in slot order (passes until none is ready): none filled for it → CANCELED; a stop → `Held` in its slot; a limit →
a new order (`_enter`), each reported REPLACED with its size and keeping its pair. The venue remembers the last
`ENDED` orders that ended (`ended`: id and filled lots, None for a child that ended held): a new order whose pair's
other is one of them is a ready `Child` of size 0 (cancelled), a child whose parent is one a ready `Child` of the
lots it filled, at most its size.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

from hft.core.dtypes import BUY, EV_CLEAR, EV_LEVEL_SET, EV_SNAPSHOT_LEVEL, EV_TRADE, SELL
from hft.core.errors import SimError
from hft.core.orders import (
    LIQ_MAKER,
    LIQ_NONE,
    LIQ_TAKER,
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

QTY_MAX = (1 << 62) - 1  # the largest order size the venue takes
MODES = ("partial_fill", "no_partial_fill", "all_or_none")


class VenueReport(NamedTuple):
    """One report of the venue, at the venue's time `ts` (`queue`: the lots ahead at entry, on an ACK of an order
    that rests; else -1)."""

    ts: int
    order_id: int
    price: int
    qty: int
    leaves: int
    fee: int
    fee_frac: int
    kind: int
    liquidity: int
    queue: int = -1


@dataclass
class QueueModel:
    """How the lots ahead of our resting order move on a depth change (docs/sim.md, "The L2 venue, precisely")."""

    kind: str  # "risk_averse" | "power_prob" | "log_prob"
    power: float = 0.0

    @staticmethod
    def parse(name: str) -> QueueModel:
        """``risk_averse``, ``log_prob`` or ``power_prob_N`` (N > 0)."""
        if name in ("risk_averse", "log_prob"):
            return QueueModel(name)
        m = re.fullmatch(r"power_prob_(\d+(?:\.\d+)?)", name)
        if m and float(m.group(1)) > 0:
            return QueueModel("power_prob", float(m.group(1)))
        raise SimError(f"queue_model: expected risk_averse, log_prob or power_prob_N, was {name!r}")

    def prob_behind(self, front: float, back: float) -> float:
        """The probability that a cancel at our level was behind us."""
        if self.kind == "power_prob":
            fb, ff = max(back, 0.0) ** self.power, max(front, 0.0) ** self.power
        else:
            fb, ff = math.log1p(max(back, 0.0)), math.log1p(max(front, 0.0))
        s = fb + ff
        return 1.0 if s <= 0.0 or not math.isfinite(s) else fb / s

    def on_depth(self, front: float, traded: float, prev: float, new: float) -> float:
        """The new estimate of the lots ahead when the level goes from `prev` to `new` lots, `traded` lots having
        printed at it since its last change; capped at the new level."""
        if self.kind == "risk_averse":
            return min(front, new)
        chg = prev - new - traded  # the decrease the trades do not explain: cancels
        if chg < 0.0:
            return min(front, new)
        back = prev - front
        p = self.prob_behind(front, back)
        return min(front - (1.0 - p) * chg + min(back - p * chg, 0.0), new)


def lots_reached(front: float) -> int:
    """Lots of our order the trades have reached: ``floor(-front)`` once ``front < -0.5``, else 0 (at most
    2**62)."""
    if not front < -0.5:
        return 0
    if front <= -float(1 << 62):
        return 1 << 62
    return math.floor(-front)


class TakerMatching:
    """What both reference venues share: how a marketable new order takes liquidity in each exchange mode
    (docs/sim.md, "The L2 venue", "The L3 venue"), and cancel and replace. A venue gives ``mode``,
    ``available``, ``levels``, ``effective_best``, ``within``, ``_consume`` and ``_fill``, and how it keeps our
    orders: ``_find`` (our working order by id, or None), ``_leave`` (it leaves the venue), ``_move`` (it rests
    a new size at a new place in the queue) and, where a level's total is bounded, ``_room``."""

    mode: str

    def cancel(self, now: int, oid: int) -> list[VenueReport]:
        o = self._find(oid)
        if o is None:
            return [VenueReport(now, oid, 0, 0, 0, 0, 0, REPORT_CANCEL_REJECTED, LIQ_NONE)]
        self._leave(o)
        return [VenueReport(now, oid, o.price, 0, 0, 0, 0, REPORT_CANCELED, LIQ_NONE)]

    def expire(self, now: int, oid: int) -> list[VenueReport]:
        """A GTD order's expiry (docs/sim.md, "Good till date"): EXPIRED if the venue still has it, else nothing."""
        o = self._find(oid)
        if o is None:
            return []
        self._leave(o)
        return [VenueReport(now, oid, o.price, 0, 0, 0, 0, REPORT_EXPIRED, LIQ_NONE)]

    def replace(self, now: int, oid: int, price: int, qty: int) -> list[VenueReport]:
        """`qty` is the new open size. A replace never takes liquidity; at its price with no more lots it keeps
        the order's queue place, else the order takes a fresh one (`_move`)."""
        o = self._find(oid)
        if o is None or qty <= 0 or qty > QTY_MAX - o.filled:
            return [VenueReport(now, oid, price, 0, 0, 0, 0, REPORT_REPLACE_REJECTED, LIQ_NONE)]
        best = self.effective_best(-o.side)
        if not self._room(o, price, qty) or (best is not None and self.within(o.side, price, best, False)):
            return [VenueReport(now, oid, price, 0, o.leaves, 0, 0, REPORT_REPLACE_REJECTED, LIQ_NONE)]
        if price == o.price and qty <= o.leaves:
            o.leaves = qty  # shrinks in place: its queue place is kept
        else:
            self._move(o, price, qty)
        return [VenueReport(now, oid, price, qty, qty, 0, 0, REPORT_REPLACED, LIQ_NONE)]

    def _room(self, o: Any, price: int, qty: int) -> bool:
        """Whether `o` may rest `qty` lots at `price` (the L3 venue checks its level total stays in range)."""
        return True

    def _take_liquidity(self, now: int, o: Any, best: int, tif: int, market: bool, out: list[VenueReport]) -> bool:
        """A marketable new order `o` (its whole size open) takes the opposite side's lots from `best` on, its
        fills appended to `out`; whether what is left of it must expire (all-or-none that cannot fill whole)."""
        side, qty = o.side, o.leaves
        if self.mode == "no_partial_fill":  # whole at the best, nothing consumed
            out.append(self._fill(now, o, best, qty, LIQ_TAKER))
            self._filled(now, o, out)
        elif self.mode == "all_or_none":
            if self.available(-side, best) < qty:
                return True
            self._consume(-side, best, qty)
            out.append(self._fill(now, o, best, qty, LIQ_TAKER))
            self._filled(now, o, out)
        else:
            # (levels go best first, so those within the limit are a prefix)
            reachable = [p for p in self.levels(-side) if self.within(side, o.price, p, market)]
            go = tif != TIF_FOK or sum(self.available(-side, p) for p in reachable) >= qty
            for p in reachable if go else []:
                if o.leaves == 0:
                    break
                take = min(self.available(-side, p), o.leaves)
                if take > 0:
                    self._consume(-side, p, take)
                    out.append(self._fill(now, o, p, take, LIQ_TAKER))
                    self._filled(now, o, out)
        return False

    def _filled(self, now: int, o: Any, out: list[VenueReport]) -> None:
        """What a fill of `o` sets off, its reports appended to `out` (`_after`)."""
        self._after(now, o, out)

    # --- OCO and brackets: one rule for both venues, which give `_find_linked` (any order of ours the venue holds,
    # by id, or None), `_end_linked` (it ends: the OCO rule), `_holds` and `_children` (the bracket children held)
    def _after(self, now: int, o: Any, out: list[VenueReport]) -> None:
        """What a fill, a trigger or the end of `o` sets off: the other order of its OCO pair is CANCELED (the pair
        unlinked); an order no longer held here readies its bracket children, as does that cancelled other."""
        if o.oco:
            other = self._find_linked(o.oco)
            o.oco = 0
            if other is not None:
                other.oco = 0
                self._end_linked(other)
                out.append(VenueReport(now, other.order_id, other.price, 0, 0, 0, 0, REPORT_CANCELED, LIQ_NONE))
                self._ready(other)
        if not self._holds(o):
            self._ready(o)

    def _may_link(self, side: int, price: int, otype: int, qty: int, trigger: int, trail: int, oco: int,
                  parent: int) -> tuple[bool, int | None]:
        """A new order's trail and links: False when it is REJECTED; else the lots it enters for at once when what it
        names has ended (None: it links as sent). A trail (docs/sim.md, "Trailing stops"): > 0, on a stop, a
        stop-limit's limit at or through its trigger. The other of an OCO pair: an order held here, not paired yet,
        or one remembered ended (the new order is then cancelled: 0); a parent: one held here that is no child, or
        one remembered ended that ended no held child (the child then enters for what it filled), and a child a
        limit, stop or stop-limit."""
        stop = otype in (ORDER_STOP, ORDER_STOP_LIMIT)
        if trail and (trail < 0 or not stop or (
                otype == ORDER_STOP_LIMIT and (price < trigger if side == BUY else price > trigger))):
            return False, None
        size = None
        up = self._find_linked(parent) if parent else None
        if parent:
            if otype not in (ORDER_LIMIT, ORDER_STOP, ORDER_STOP_LIMIT) or isinstance(up, Child):
                return False, None
            if up is None:
                got = next((f for i, f in reversed(self.ended) if i == parent), -1)
                if got is None or got < 0:
                    return False, None
                size = min(got, qty)
        other = self._find_linked(oco) if oco else None
        if oco:
            if other is None and all(i != oco for i, _ in self.ended):
                return False, None
            if other is None:
                size = 0
            elif other.oco:
                return False, None
        return True, size

    def _ready(self, parent: Any) -> None:
        """`parent` has no leaves: its children enter for the lots it filled (a held stop's, nothing yet: 0)."""
        if isinstance(parent, Child) or not parent.kids:
            return
        parent.kids = 0
        got = 0 if isinstance(parent, Held) else parent.filled
        for c in self._children():
            if c.parent == parent.order_id and not c.ready:
                c.ready, c.size = True, min(c.qty, got)


@dataclass
class Resting:
    """One working order of ours at the venue."""

    order_id: int
    side: int
    price: int
    leaves: int
    filled: int = 0
    front: float = 0.0  # lots ahead of us (the queue model's estimate)
    traded: float = 0.0  # lots printed at our price since the level last changed
    queue_filled: int = 0  # lots filled from the current queue place
    display: int = 0  # an iceberg's display (0: not an iceberg)
    shown: int = 0  # an iceberg's lots still shown at its current queue place
    oco: int = 0  # the other order of its OCO pair (0: none)
    kids: int = 0  # the bracket children held for it


@dataclass
class Held:
    """A stop or stop-limit of ours the venue holds until a print reaches its trigger."""

    order_id: int
    side: int
    price: int  # a stop-limit's limit (0 for a stop)
    qty: int
    order_type: int
    tif: int
    trigger: int
    trail: int = 0  # a trailing stop's distance from the prints (ticks; 0: its trigger stays)
    oco: int = 0  # the other order of its OCO pair (0: none)
    kids: int = 0  # the bracket children held for it


@dataclass
class Child:
    """A bracket child the venue holds, out of the book, until its parent has no leaves."""

    order_id: int
    side: int
    price: int
    qty: int
    order_type: int
    tif: int
    trigger: int
    display: int
    trail: int
    parent: int
    oco: int = 0
    ready: bool = False  # its parent has no leaves: it enters (or is cancelled) at the end of the operation
    size: int = 0  # when ready: the lots it enters for (what the parent filled, at most qty)


ENDED = 16  # the ended orders the L2 venue remembers


class L2ReferenceVenue(TakerMatching):
    """One instrument's L2 venue. Each method applies one thing at the venue's time `now` and returns the reports
    it produced, in order.

    Args:
        queue_model: the queue model's name (``risk_averse``, ``power_prob_N``, ``log_prob``).
        mode: ``partial_fill``, ``no_partial_fill`` or ``all_or_none``.
        fees: the fee schedule; money: the money factor of fills (multiplier, or -K inverse).
        capacity: how many of our orders may work at once (a new order beyond it is REJECTED).
    """

    def __init__(self, queue_model: str = "risk_averse", mode: str = "partial_fill", fees: Fees | None = None,
                 money: int = 1, capacity: int = 1024) -> None:
        if mode not in MODES:
            raise SimError(f"exchange mode: expected one of {MODES}, was {mode!r}")
        self.model = QueueModel.parse(queue_model)
        self.mode = mode
        self.fees = fees or Fees()
        self.money = money
        self.book: dict[int, dict[int, int]] = {BUY: {}, SELL: {}}  # side -> price -> displayed lots
        self.consumed: dict[tuple[int, int], int] = {}  # (side, price) -> lots our taker fills took
        self.slots: list[Resting | Held | Child | None] = [None] * capacity
        self.ended: deque[tuple[int, int | None]] = deque(maxlen=ENDED)  # (order id, lots filled), oldest first

    # --- the book ------------------------------------------------------------------------------------------
    def displayed(self, side: int, price: int) -> int:
        return self.book[side].get(price, 0)

    def available(self, side: int, price: int) -> int:
        return max(self.displayed(side, price) - self.consumed.get((side, price), 0), 0)

    def levels(self, side: int) -> list[int]:
        """The side's displayed prices, best first."""
        return sorted(self.book[side], reverse=side == BUY)

    def effective_best(self, side: int) -> int | None:
        for p in self.levels(side):
            if self.available(side, p) > 0:
                return p
        return None

    @staticmethod
    def within(side: int, limit: int, level: int, market: bool) -> bool:
        """May an order of `side` with `limit` take an opposite level at price `level`?"""
        return market or (level <= limit if side == BUY else level >= limit)

    # --- market data ---------------------------------------------------------------------------------------
    def market(self, now: int, kind: int, side: int, price: int, qty: int, order_id: int = 0) -> list[VenueReport]:
        """One exchange event: a level set (snapshot or update), a trade (aggressor `side`), a clear (`order_id`:
        unused on L2)."""
        if kind in (EV_LEVEL_SET, EV_SNAPSHOT_LEVEL):
            return self.depth(now, side, price, qty)
        if kind == EV_TRADE and side != 0:
            return self.trade(now, side, price, qty)
        if kind == EV_CLEAR:
            return self.clear(now, side)
        return []

    def depth(self, now: int, side: int, price: int, qty: int) -> list[VenueReport]:
        prev = self.displayed(side, price)
        if qty > 0:
            self.book[side][price] = qty
        else:
            self.book[side].pop(price, None)
        for o in self._working():
            if o.side == side and o.price == price:
                est = self.model.on_depth(o.front, o.traded, float(prev), float(qty))
                if o.front > 0.0:  # cancels bring us at most to the head of the queue, never fill us
                    o.front = max(est, 0.0)
                o.traded = 0.0
        self.consumed.pop((side, price), None)
        return self._release(now, self._cross(now))

    def clear(self, now: int, side: int) -> list[VenueReport]:
        for s in (BUY, SELL):
            if side in (0, s):
                self.book[s].clear()
                self.consumed = {k: v for k, v in self.consumed.items() if k[0] != s}
        return self._release(now, self._cross(now))

    def trade(self, now: int, aggressor: int, price: int, qty: int) -> list[VenueReport]:
        out: list[VenueReport] = []
        passive = -aggressor
        for o in self._working():
            if o.side != passive or not self._holds(o):  # (an OCO pair's other, cancelled by a fill before it)
                continue
            if (passive == BUY and price < o.price) or (passive == SELL and price > o.price):  # through us
                out.append(self._fill_showing(now, o))
                self._after(now, o, out)
            elif price == o.price:
                o.front -= qty
                o.traded += qty
                reached = lots_reached(o.front)
                if reached >= 1 and self.mode != "partial_fill":
                    out.append(self._fill_showing(now, o))
                    self._after(now, o, out)
                elif reached >= 1:
                    take = min(reached - o.queue_filled, o.leaves, o.shown if o.display else o.leaves)
                    if take > 0:
                        o.queue_filled += take
                        out.append(self._iceberg_fill(now, o, take))
                        self._after(now, o, out)
        for j, h in enumerate(self.slots):  # then the held stops the print reaches, in slot order
            if not isinstance(h, Held):
                continue
            if not (price >= h.trigger if h.side == BUY else price <= h.trigger):
                if h.trail:  # not reached: the trigger follows the print, the limit keeps its distance to it
                    moved = max(h.trigger, price - h.trail) if h.side == SELL else max(1, min(h.trigger,
                                                                                              price + h.trail))
                    if h.order_type == ORDER_STOP_LIMIT:
                        h.price += moved - h.trigger
                    h.trigger = moved
            else:
                self.slots[j] = None
                if h.order_type == ORDER_STOP:
                    out += self._enter(now, h.order_id, h.side, 0, h.qty, ORDER_MARKET, TIF_IOC, REPORT_TRIGGERED,
                                       price, oco=h.oco, kids=h.kids)
                else:
                    out += self._enter(now, h.order_id, h.side, h.price, h.qty, ORDER_LIMIT, h.tif,
                                       REPORT_TRIGGERED, price, oco=h.oco, kids=h.kids)
                entered = self._find(h.order_id)  # the trigger cancels its pair's other (unless a fill or its end
                if entered is not None and entered.oco:  # at entry did)
                    self._after(now, entered, out)
        return self._release(now, out)

    def _cross(self, now: int) -> list[VenueReport]:
        """Our orders the opposite effective best reached fill whole at their price (maker, nothing consumed)."""
        bid, ask = self.effective_best(BUY), self.effective_best(SELL)
        out = []
        for o in self._working():
            if not self._holds(o):
                continue
            if (o.side == BUY and ask is not None and o.price >= ask) or \
                    (o.side == SELL and bid is not None and o.price <= bid):
                out.append(self._fill_showing(now, o))
                self._after(now, o, out)
        return out

    def _fill_showing(self, now: int, o: Resting) -> VenueReport:
        """`o` fills all it shows at its price, maker: the whole order, or an iceberg's shown lots."""
        return self._iceberg_fill(now, o, o.shown if o.display else o.leaves)

    def _iceberg_fill(self, now: int, o: Resting, qty: int) -> VenueReport:
        """A maker fill of `qty` lots of `o` at its price; an iceberg whose shown lots are gone, with lots left, shows
        its next min(display, leaves) at the back of its level."""
        r = self._fill(now, o, o.price, qty, LIQ_MAKER)
        if o.display:
            o.shown -= qty
            if o.shown == 0 and o.leaves > 0:
                o.shown = min(o.display, o.leaves)
                o.front, o.traded, o.queue_filled = float(self.displayed(o.side, o.price)), 0.0, 0
        return r

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
        held: Held | Child | None = None
        if stop or parent or size is not None:
            free = [j for j, o in enumerate(self.slots) if o is None]
            shows = (ORDER_LIMIT,) if stop or parent else (ORDER_LIMIT, ORDER_POST_ONLY)
            if (not free or qty <= 0 or qty > QTY_MAX or side not in (BUY, SELL)
                    or (stop and (trigger <= 0 or (otype == ORDER_STOP_LIMIT and price <= 0)))
                    or (display and not stop and not (0 < display < qty and otype in shows))):
                return rejected
            if parent or size is not None:
                held = Child(oid, side, price, qty, otype, tif, trigger if stop else 0, 0 if stop else display, trail,
                             parent, oco if other is not None else 0)
                if up is not None:
                    up.kids += 1
                if size is not None:  # what it names has ended: it enters (or is cancelled) at this step's end
                    held.ready, held.size = True, size
            else:
                held = Held(oid, side, price, qty, otype, tif, trigger, trail, oco)
            self.slots[free[0]] = held
            if other is not None:
                other.oco = oid
            return self._release(now, [VenueReport(now, oid, price, 0, qty, 0, 0, REPORT_ACK, LIQ_NONE)])
        return self._release(now, self._enter(now, oid, side, price, qty, otype, tif, REPORT_ACK, price, display,
                                               oco=oco, pair=other))

    def _enter(self, now: int, oid: int, side: int, price: int, qty: int, otype: int, tif: int, first: int,
               first_price: int, display: int = 0, oco: int = 0, kids: int = 0,
               pair: Resting | Held | Child | None = None) -> list[VenueReport]:
        """A new order into the book; its first report is `first` (ACK; TRIGGERED; REPLACED, a bracket child with
        its size) at `first_price`; `display`: an iceberg's (a limit / post-only showing 0 < display < qty lots);
        `oco`, `kids`: the links it keeps (`pair`: the other of a pair it makes, which names it from now)."""
        free = [j for j, o in enumerate(self.slots) if o is None]
        bad_display = display != 0 and not (0 < display < qty and otype in (ORDER_LIMIT, ORDER_POST_ONLY))
        if not free or qty <= 0 or qty > QTY_MAX or side not in (BUY, SELL) or bad_display:
            return [VenueReport(now, oid, price, 0, 0, 0, 0, REPORT_REJECTED, LIQ_NONE)]
        market = otype == ORDER_MARKET
        best = self.effective_best(-side)
        marketable = best is not None and self.within(side, price, best, market)
        if otype == ORDER_POST_ONLY and marketable:
            return [VenueReport(now, oid, price, 0, 0, 0, 0, REPORT_REJECTED, LIQ_NONE)]
        o = Resting(oid, side, price, qty, oco=oco, kids=kids)
        self.slots[free[0]] = o
        if pair is not None:
            pair.oco = oid
        out = [VenueReport(now, oid, first_price, qty if first == REPORT_REPLACED else 0, qty, 0, 0, first,
                           LIQ_NONE)]
        expire = market or tif in (TIF_IOC, TIF_FOK)
        if marketable:
            assert best is not None
            expire |= self._take_liquidity(now, o, best, tif, market, out)
        if o.leaves > 0:
            if expire:
                self._leave(o)
                out.append(VenueReport(now, oid, price, 0, 0, 0, 0, REPORT_EXPIRED, LIQ_NONE))
                self._after(now, o, out)
            else:
                o.front = float(self.displayed(side, price))
                out[0] = out[0]._replace(queue=self.displayed(side, price))
                if display:
                    o.display, o.shown = display, min(display, o.leaves)
        return out

    def queue_ahead(self, oid: int) -> float:
        """The estimate of the lots ahead of our resting order (at least 0); -1 when it does not rest here."""
        o = self._find(oid)
        return -1.0 if not isinstance(o, Resting) else max(o.front, 0.0)

    # --- helpers -------------------------------------------------------------------------------------------
    def _working(self) -> list[Resting]:
        """Our working orders in slot order (a snapshot: fills free slots while the caller iterates)."""
        return [o for o in self.slots if isinstance(o, Resting)]

    def cancel(self, now: int, oid: int) -> list[VenueReport]:
        """`TakerMatching.cancel`, then what the order's end sets off (`_after`)."""
        o = self._find(oid)
        out = super().cancel(now, oid)
        if o is not None:
            self._after(now, o, out)
        return self._release(now, out)

    def expire(self, now: int, oid: int) -> list[VenueReport]:
        """`TakerMatching.expire`, then what the order's end sets off (`_after`)."""
        o = self._find(oid)
        out = super().expire(now, oid)
        if o is not None:
            self._after(now, o, out)
        return self._release(now, out)

    def replace(self, now: int, oid: int, price: int, qty: int) -> list[VenueReport]:
        """A held stop or bracket child is not replaced (REPLACE_REJECTED); a working order as
        `TakerMatching.replace` (its OCO pair kept)."""
        o = self._find(oid)
        if isinstance(o, (Held, Child)):
            return [VenueReport(now, oid, price, 0, 0, 0, 0, REPORT_REPLACE_REJECTED, LIQ_NONE)]
        before = (o.price, o.leaves) if o is not None else None
        out = super().replace(now, oid, price, qty)
        if o is not None and o.display and before is not None and out[0].kind == REPORT_REPLACED:
            # an iceberg keeps its display: in place its shown lots shrink with it, at a new place it shows anew
            o.shown = min(o.shown, qty) if (price == before[0] and qty <= before[1]) else min(o.display, qty)
        return out

    def _find(self, oid: int) -> Resting | Held | Child | None:
        return next((o for o in self.slots if o is not None and o.order_id == oid), None)

    def _holds(self, o: Any) -> bool:
        return any(s is o for s in self.slots)

    def _find_linked(self, oid: int) -> Resting | Held | Child | None:
        return self._find(oid)

    def _end_linked(self, o: Resting | Held | Child) -> None:
        self._leave(o)

    def _children(self) -> list[Child]:
        return [c for c in self.slots if isinstance(c, Child)]

    def _release(self, now: int, out: list[VenueReport]) -> list[VenueReport]:
        """The ready bracket children, in slot order (passes until none is ready), reports appended to `out`."""
        while any(isinstance(c, Child) and c.ready for c in self.slots):
            for j in range(len(self.slots)):
                c = self.slots[j]
                if not (isinstance(c, Child) and c.ready):
                    continue
                if c.size == 0:  # its parent filled nothing (or its pair's other had ended)
                    self.slots[j] = None
                    self.ended.append((c.order_id, None if c.parent else 0))
                    out.append(VenueReport(now, c.order_id, c.price, 0, 0, 0, 0, REPORT_CANCELED, LIQ_NONE))
                    self._after(now, c, out)
                elif c.order_type in (ORDER_STOP, ORDER_STOP_LIMIT):  # held from now, as if newly sent
                    self.slots[j] = Held(c.order_id, c.side, c.price, c.size, c.order_type, c.tif, c.trigger,
                                         c.trail, c.oco)
                    out.append(VenueReport(now, c.order_id, c.price, c.size, c.size, 0, 0, REPORT_REPLACED,
                                           LIQ_NONE))
                else:
                    self.slots[j] = None
                    out += self._enter(now, c.order_id, c.side, c.price, c.size, c.order_type, c.tif,
                                       REPORT_REPLACED, c.price, c.display if c.display < c.size else 0, oco=c.oco)
        return out

    def _leave(self, o: Resting | Held | Child) -> None:
        """`o` ends (filled, cancelled, expired): its slot is free and the venue remembers it (`ended`)."""
        self.slots[next(j for j, s in enumerate(self.slots) if s is o)] = None
        held_child = isinstance(o, Child) and o.parent != 0
        self.ended.append((o.order_id, None if held_child else o.filled if isinstance(o, Resting) else 0))

    def _move(self, o: Resting, price: int, qty: int) -> None:
        """A fresh queue place: behind all displayed at `price`."""
        o.price, o.leaves = price, qty
        o.front, o.traded, o.queue_filled = float(self.displayed(o.side, price)), 0.0, 0

    def _consume(self, side: int, price: int, qty: int) -> None:
        self.consumed[(side, price)] = self.consumed.get((side, price), 0) + qty

    def _fill(self, now: int, o: Resting, price: int, qty: int, liquidity: int) -> VenueReport:
        bps = self.fees.maker_bps_h if liquidity == LIQ_MAKER else self.fees.taker_bps_h
        fee, frac = fee_of(price, qty, self.money, bps, self.fees.per_lot)
        o.leaves -= qty
        o.filled += qty
        if o.leaves == 0:
            self._leave(o)
        kind = REPORT_FILL if o.leaves == 0 else REPORT_PARTIAL_FILL
        return VenueReport(now, o.order_id, price, qty, o.leaves, fee, frac, kind, liquidity)
