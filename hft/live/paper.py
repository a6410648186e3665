"""`PaperVenue`: the simulator's venue behind the live dispatcher, fed by a recorded day on the wall clock.

The venue is the one `hft replay` builds (`hft.sim.replay.build_venue`: L3 with the LOBSTER pre-open book and
reference resync, or L2 with the configured queue model), with the replay config's defaults. The recorded
events are applied in order as the wall clock reaches their (scaled) exchange time: event i is due at
``start_wall + (exch_ts[i] - exch_ts[0]) / speed``. Our orders meet the book as it stands at that moment (no
latency model: the live path has its own). Reports (ours only: the replay is exogenous) go back through the
service's ``on_report``, each with what the venue knows beyond the execution report (the replay's venue report,
`hft.core.orders.VENUE_REPORT`): a fill's liquidity (maker: it rested; taker: it crossed) and an ACK's queue ahead
at entry (the lots before ours at its price: exact on L3, the displayed level on L2; -1 when it did not rest);
trade prices mark the symbol (at most every `mark_every_ns` of wall time), which
drives the gateway's price band, unrealised PnL and market-move trigger. What the venue sees of the market goes to
the service's market stream (``GET /market/stream``, `hft.live.engine.LiveGateway.on_market`): every trade print
(its aggressor side, price and size) and, once per turn of the feed, the book's top `MARKET_DEPTH` levels when
they changed (the market's book: our own orders are not in it).

Good-till-date orders and icebergs are the simulator venue's too. A GTD order's ``expire`` (ns UTC, the
gateway's clock) is put on the venue's clock by the same scaling (``start_exch + (expire - start_wall) * speed``)
and expired there (`L2Venue.expire` / `L3Venue.expire`: EXPIRED, leaves 0) when the feed reaches that time, after
the day's events at or before it (a replay's order: market data first at equal times); an order reaching the venue
after its expiry is answered as in a replay (`hft.sim.venue_common.gtd_expiry`): ACK, what it can take at once,
then EXPIRED. The feed keeps the venue's clock running after the day's last event, for the expiries. An iceberg
(``display``) shows min(display, leaves) and refills at the back of its level, on the L2 and the L3 venue
(docs/sim.md, "Iceberg orders held by the venue").

Crash-durable (`hft.live.paper_journal`): the venue keeps a write-ahead journal beside the service's WAL
(``<wal dir>-paper.jsonl``, option ``journal``). Its first record anchors the day: the wall and exchange time it
started at, the speed and the data's identity (path, size, rows, a hash of the first and last rows); a start
with other data or another speed is a one-line `ConfigError` naming what the journal holds: the day goes on, or
the operator moves the journal away to begin a new day. Every operation on the venue besides the recorded
events (a new order, cancel or replace, a GTD expiry) is written and flushed to disk (``fsync``) with the feed
position (events applied before it) and the venue time BEFORE it is applied: a report the gateway saw was caused
by a journaled operation or by the recorded events. A record the disk refuses (ENOSPC…) is not applied: the
command is dropped (logged; the gateway re-sends it after a restart, it never received it), the service is
halted (``control halt``, cause ``venue_journal``: new orders are refused until ``/admin/resume``) and the
expiry waits for the next turn of the feed.

After a crash the venue is rebuilt exactly (`build_venue`, then the day's events up to each journaled position,
each operation applied at its time, by the feed's own loop `_turn`), then the feed catches up on the anchored
wall clock: the events due while the service was down are applied at once (fills included) and a GTD order whose
time passed meanwhile is EXPIRED at its time in that catch-up (after the events of its time). The venue then
offers the recovery its record (`hft.live.venue.Reconciling`): ``received()``, ``reports()`` (every report of
the day, per order), not ``positions()`` (a new day's venue knows none of the positions the gateway carries
over: `day_positions` gives this day's); the recovery applies the reports the WAL lacks (each order's reports
are the same sequence as before the crash: the gateway's count of applied ones skips those it saw) and re-sends
the commands the venue never received. ``session_restarts`` is True only when this start began a new day (no
journal): the orders still working at the gateway then ended with the day before, and the recovery expires them;
a cancel or replace of an order this day never received is answered EXPIRED (counted in ``expired_unknown``).
Without a journal (``journal=None``, in-process use) every start is such a new day.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.dtypes import EV_EXEC, EV_HIDDEN_EXEC, EV_TRADE, NO_PRICE
from hft.core.errors import ConfigError
from hft.core.orders import (
    CMD_CANCEL,
    CMD_NEW,
    CMD_REPLACE,
    EXEC_REPORT_DTYPE,
    MARKET_BOOK,
    MARKET_DEPTH,
    MARKET_TRADE,
    MARKET_UPDATE_DTYPE,
    OPTION_NAMES,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    VENUE_REPORT_DTYPE,
)
from hft.data.sources import open_market_data
from hft.gateway.intents import ExecutionReport, OrderCommand, report_from_row
from hft.gateway.records import commands_from_array
from hft.live.paper_journal import Journal
from hft.live.venue import VenueContext
from hft.sim.replay import build_venue, load_replay_config
from hft.sim.venue_common import gtd_expiry

log = logging.getLogger("hft.live.paper")

_OPS = {CMD_NEW: "new", CMD_CANCEL: "cancel", CMD_REPLACE: "replace"}  # a command's journal op
_FAR = np.iinfo(np.int64).max  # "no time limit": the rebuild stops at a feed position


class PaperVenue:
    """See the module docstring. Build with `from_data`."""

    session_restarts = True  # without a journal every start is a new day; with one: True only on the day's first

    def __init__(self, venue: Any, events: np.ndarray, symbol: str, speed: float = 1.0,
                 mark_every_ns: int = 100_000_000, source: str = "", journal: Journal | None = None,
                 identity: dict[str, Any] | None = None) -> None:
        if speed <= 0:
            raise ConfigError(f"paper venue: speed: expected > 0, was {speed}", key="speed")
        self.venue = venue
        self.events = events
        self._cols = tuple(events[c] for c in ("exch_ts", "kind", "side", "price", "qty", "order_id"))
        self.symbol = symbol
        self.speed = float(speed)
        self.mark_every_ns = mark_every_ns
        self.source = source
        self.i = 0  # next event
        self.exch_now = int(events["exch_ts"][0]) if len(events) else 0
        self.on_report: Callable[[ExecutionReport], None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sent = 0
        self.n_reports = 0  # reports sent (`health`)
        self.fills = 0
        self.last_trade = 0
        self.expired_unknown = 0  # cancels / replaces of orders of a day before (a new day), answered EXPIRED
        self.duplicates = 0  # new orders with an id received already: refused, not executed again
        self.expired = 0  # GTD orders expired at their time (EXPIRED reports)
        self._expiries: list[tuple[int, int]] = []  # heap of (venue time, order id): the GTD orders' expiries
        self._gtd_working: set[int] = set()  # the GTD orders among them still working (no report of 0 leaves yet)
        self._received: set[int] = set()  # ids of the new orders this venue received (this day)
        self._other: set[tuple[int, int]] = set()  # (action, order id) of the cancels and replaces received
        self._owners: dict[int, tuple[str, str, str, int]] = {}  # new order id -> (account, strategy, symbol, side)
        self._log: dict[int, list[ExecutionReport]] = {}  # every report of the day, per order, in order
        self._t0_wall = 0
        self._t0_exch = self.exch_now
        self._live: Any = None  # the service (`run_feed`): halted when the journal refuses a record
        self.journal = journal
        self.identity = identity or {}
        self.journal_error = ""  # the last refusal of the journal, "" once it writes again
        self._halted = False
        self._replaying = False  # rebuilding from the journal: its records, not the clock, say what happens
        self._anchored = False
        self.rebuilt: dict[str, Any] = {}
        if journal is not None:
            self._resume(journal.read())

    @classmethod
    def from_data(cls, data: str | Path | None, *, speed: float = 1.0, symbol: str | None = None,
                  journal: str | Path | None = None, fsync: bool = True) -> PaperVenue:
        """The venue of the recorded day `data`; with `journal` (a file path) crash-durable (module docstring):
        the day that journal began is rebuilt, or a new one begins when the file does not exist."""
        if data is None or not Path(data).exists():
            raise ConfigError(f"--paper (venue.options.data): expected a recorded data file, {data} does not "
                              "exist", key="paper")
        md = open_market_data([Path(data)])
        cfg = load_replay_config(None)
        venue, _seed, _ref = build_venue(md, cfg)
        # compile (or load) the venue's kernels before the port opens, on a throwaway venue: a first call
        # inside the feed would block the event loop for the compile
        warm, _, _ = build_venue(md, cfg)
        e = md.events[0]
        warm.market(int(e["exch_ts"]), int(e["kind"]), int(e["side"]), int(e["price"]), int(e["qty"]),
                    int(e["order_id"]))
        warm.new(int(e["exch_ts"]), 1, 1, max(int(e["price"]), 1), 1, 1, 1)
        warm.cancel(int(e["exch_ts"]), 1)
        return cls(venue, md.events, symbol or md.instrument.symbol, speed, source=str(data),
                   journal=None if journal is None else Journal(journal, fsync=fsync),
                   identity=_identity(Path(data), md.events))

    # ------------------------------------------------------------------ the journal: the day's anchor, its rebuild
    def _resume(self, recs: list[dict[str, Any]]) -> None:
        """Rebuild the venue the journal's records describe (none: a new day, anchored at `start`), then catch
        up with the wall clock."""
        if not recs:
            self.session_restarts = True
            return
        path = self.journal.path if self.journal is not None else ""
        day = recs[0]
        if day.get("op") != "day":
            raise ConfigError(f"paper venue journal {path}: record 1: expected the day's anchor (op 'day'), was "
                              f"{day.get('op')!r}", key="venue.options.journal")
        if (day.get("data"), day.get("speed")) != (self.identity, self.speed):
            d = day.get("data") or {}
            raise ConfigError(
                f"paper venue journal {path}: expected the day it began (data {d.get('path')}, {d.get('size')} "
                f"bytes, {d.get('rows')} rows, hash {d.get('hash')}; speed {day.get('speed')}), was data "
                f"{self.identity.get('path')} ({self.identity.get('size')} bytes, {self.identity.get('rows')} rows, "
                f"hash {self.identity.get('hash')}; speed {self.speed}): move the journal away to begin a new day",
                key="venue.options.journal")
        self._t0_wall, self._t0_exch = int(day["wall"]), int(day["exch"])
        self._anchored = True
        self.session_restarts = False
        t0 = time.process_time()
        n = len(self.events)
        self._replaying = True
        try:
            for k, r in enumerate(recs[1:], 2):
                try:
                    pos, t = int(r["pos"]), int(r["t"])
                    if not self.i <= pos <= n:
                        raise ValueError(f"feed position {pos} in [{self.i}, {n}]")
                    self._turn(_FAR, pos)
                    self.exch_now = max(self.exch_now, t)
                    self._apply(r)
                except (KeyError, TypeError, ValueError) as exc:
                    raise ConfigError(f"paper venue journal {path}: record {k}: expected an operation (op, id, pos, "
                                      f"t and its fields), was {r} ({type(exc).__name__}: {exc})",
                                      key="venue.options.journal") from None
        finally:
            self._replaying = False
        self._expiries = [e for e in self._expiries if e[1] in self._gtd_working]  # those the journal applied: gone
        heapq.heapify(self._expiries)
        at, ops = self.i, len(recs) - 1
        self._turn(self.exch_at(time.time_ns()), n)  # the events due while the service was down, at once
        self.rebuilt = {"operations": ops, "events_replayed": at, "events_caught_up": self.i - at,
                        "cpu_s": round(time.process_time() - t0, 3)}
        log.info("paper venue: day rebuilt from %s: %s", path, self.rebuilt)

    def _anchor(self) -> None:
        """Begin the day (once): its clock starts now; with a journal its first record says so."""
        if self._anchored:
            return
        self._t0_wall = time.time_ns()
        self._anchored = True
        if self.journal is not None:
            self.journal.append({"op": "day", "wall": self._t0_wall, "exch": self._t0_exch, "speed": self.speed,
                                 "data": self.identity})

    def _journal(self, *recs: dict[str, Any]) -> None:
        """Write `recs` to the journal and flush them (one write, one fsync) before any is applied; when the disk
        refuses them: nothing applied, the service halted, an OSError raised."""
        if self.journal is None:
            return
        try:
            self.journal.append_many(recs)
        except OSError as exc:
            first = not self.journal_error
            self.journal_error = f"{exc.strerror or exc}"
            if first:
                log.error("paper venue journal %s refused a record (%s): not applied; the service is halted",
                          self.journal.path, self.journal_error)
            self._halt()
            what = (f"the {recs[0]['op']} of order {recs[0]['id']}" if len(recs) == 1 else
                    f"{len(recs)} commands (orders {recs[0]['id']} to {recs[-1]['id']})")
            raise OSError(exc.errno, f"paper venue journal {self.journal.path}: {self.journal_error}: {what} "
                          "not applied") from None
        if self.journal_error:
            log.warning("paper venue journal %s writes again", self.journal.path)
        self.journal_error = ""
        self._halted = False

    def _halt(self) -> None:
        control = getattr(self._live, "control", None)
        if self._halted or control is None or self.loop is None:
            return
        self._halted = True
        self.loop.call_soon(control, "halt", "venue_journal")  # after this dispatch: new orders refused

    # ------------------------------------------------------------------ the venue adapter contract (hft.live.venue)
    def start(self, loop: asyncio.AbstractEventLoop, on_report: Callable[[ExecutionReport], None]) -> None:
        self.loop = loop
        self.on_report = on_report
        self._anchor()

    def send(self, cmd: OrderCommand) -> None:
        """Journal the command (raises OSError, nothing applied, when the journal refuses it), then apply it."""
        self.sent += 1
        r = self._record(cmd, set())
        if r is None:
            return
        self._journal(r)
        self._apply(r)

    def send_array(self, cmds: np.ndarray, accounts: Sequence[str], strategies: Sequence[str],
                   symbols: Sequence[str]) -> np.ndarray:
        """A writer step's commands (COMMAND_DTYPE rows, names by index): journaled together, one write and one
        fsync, before any is applied (raises OSError, none applied, when the journal refuses them), then applied
        in order, as `send` applies one. An order that reached the venue after its GTD expiry is expired after the
        step's last command (its journal record after theirs, as a rebuild replays it). The reports come through
        ``on_report``: none is returned here."""
        self.sent += len(cmds)
        batch: set[int] = set()
        recs = [r for r in (self._record(c, batch) for c in commands_from_array(cmds, accounts, strategies, symbols))
                if r is not None]
        self._journal(*recs)
        for r in recs:
            self._apply(r, expire_due=False)
        self._expire_until(self.exch_now)
        return np.zeros(0, EXEC_REPORT_DTYPE)

    def _record(self, cmd: OrderCommand, batch: set[int]) -> dict[str, Any] | None:
        """The journal record of a command at the venue's time and feed position, or None: not an operation, or a
        new order with an id received already (this day, or earlier in `batch`, the ids of the commands journaled
        with it): never executed twice (`hft.live.venue`)."""
        action, oid = int(cmd.action), int(cmd.order_id)
        op = _OPS.get(action)
        if op is None:
            return None
        if action == CMD_NEW:
            if oid in self._received or oid in batch:
                self.duplicates += 1
                return None
            batch.add(oid)
        self._anchor()
        r: dict[str, Any] = {"op": op, "id": oid, "pos": self.i, "t": self.exch_now}
        if action == CMD_NEW:
            r.update(side=int(cmd.side), price=int(cmd.price), qty=int(cmd.qty), type=int(cmd.order_type),
                     tif=int(cmd.tif), opt=dict(zip(OPTION_NAMES, map(int, cmd.options), strict=True)),
                     xt=self.exch_at(int(cmd.expire)), acct=cmd.account, strat=cmd.strategy, sym=cmd.symbol)
        elif action == CMD_REPLACE:
            r.update(price=int(cmd.price), qty=int(cmd.qty))
        return r

    def _apply(self, r: dict[str, Any], expire_due: bool = True) -> None:
        """Apply one journaled operation at the venue's time: the one place a command or an expiry acts, live
        and in the rebuild; a GTD order that arrives at or after its expiry is expired at once when `expire_due`
        (else by the caller, after the records journaled with it)."""
        op, oid, v, now = r["op"], int(r["id"]), self.venue, self.exch_now
        due = -1
        if op == "expire":
            rows = v.expire(now, oid)
            self.expired += len(rows)
        elif op in ("cancel", "replace") and oid not in self._received:
            self._other.add((CMD_CANCEL if op == "cancel" else CMD_REPLACE, oid))
            rows = np.zeros(1, VENUE_REPORT_DTYPE)  # an order of a day before: gone with that day
            rows[0]["ts"], rows[0]["order_id"], rows[0]["kind"], rows[0]["queue"] = now, oid, REPORT_EXPIRED, -1
            self.expired_unknown += 1
        elif op == "new":
            self._received.add(oid)
            self._owners[oid] = (r["acct"], r["strat"], r["sym"], int(r["side"]))
            o, tif = r["opt"], int(r["tif"])
            rows = v.new(now, oid, int(r["side"]), int(r["price"]), int(r["qty"]), int(r["type"]), tif,
                         int(o["trigger"]), int(o["display"]), int(o["trail"]),  # a stop: held; an iceberg: in part
                         oco=int(o.get("oco", 0)), parent=int(o.get("parent", 0)))  # links (a journal of before
            # them has none)
            due = gtd_expiry(rows, len(rows), tif, int(r["xt"]), now)
            if due >= 0:  # a GTD order the venue keeps: expired at its time on the venue's clock
                heapq.heappush(self._expiries, (due, oid))
                self._gtd_working.add(oid)
        elif op == "cancel":
            self._other.add((CMD_CANCEL, oid))
            rows = v.cancel(now, oid)
        elif op == "replace":
            self._other.add((CMD_REPLACE, oid))
            rows = v.replace(now, oid, int(r["price"]), int(r["qty"]))
        else:
            raise ValueError(f"op {op!r}: expected new, cancel, replace or expire")
        self._deliver(rows)
        if 0 <= due <= now and expire_due and not self._replaying:  # reached the venue at or after its expiry
            self._expire_until(now)

    def exch_at(self, wall_ns: int) -> int:
        """The venue's time (the day's exchange clock) at wall time `wall_ns`: the feed's scaling."""
        return self._t0_exch + int((wall_ns - self._t0_wall) * self.speed)

    def _expire_until(self, t: int) -> None:
        """Expire the GTD orders due at venue time `t` or before, each at its time (the venue's clock moves on to
        it), each journaled first (refused: it waits for the next turn); an order no longer working there
        (filled, cancelled) is dropped."""
        heap = self._expiries
        while heap and heap[0][0] <= t and not self._replaying:
            at, oid = heap[0]
            if oid not in self._gtd_working:
                heapq.heappop(heap)
                continue
            r = {"op": "expire", "id": oid, "pos": self.i, "t": max(self.exch_now, at)}
            try:
                self._journal(r)
            except OSError:
                return
            heapq.heappop(heap)
            self.exch_now = r["t"]
            self._apply(r)

    def _deliver(self, rows: np.ndarray) -> None:
        for r in rows:
            rep = report_from_row(r.tolist())  # a VENUE_REPORT row, by name
            self.n_reports += 1
            self.fills += rep.kind in (REPORT_PARTIAL_FILL, REPORT_FILL)
            if rep.leaves == 0:  # filled, cancelled, expired or rejected: nothing of the order works any more
                self._gtd_working.discard(rep.order_id)
            self._log.setdefault(rep.order_id, []).append(rep)
            if self.loop is not None and self.on_report is not None:  # before `start`: the recovery reads `reports`
                self.on_report(rep)

    # ------------------------------------------------------------------ reconciliation (hft.live.venue.Reconciling)
    def received(self) -> set[tuple[int, int]]:
        """(action, order id) of every command this day received."""
        return {(CMD_NEW, i) for i in self._received} | self._other

    def reports(self) -> dict[int, list[ExecutionReport]]:
        """Every report of this day, per order id, in order."""
        return {oid: list(reps) for oid, reps in self._log.items()}

    def day_positions(self) -> dict[tuple[str, str, str], int]:
        """Net filled quantity per (account, strategy, symbol) of this day's orders. Not the contract's
        ``positions()``: the gateway's positions go on across days (a new day begins with them), this day's do
        not, so the recovery's comparison would differ after every new day."""
        out: dict[tuple[str, str, str], int] = {}
        for oid, (a, t, y, side) in self._owners.items():
            q = sum(r.qty for r in self._log.get(oid, ()) if r.kind in (REPORT_PARTIAL_FILL, REPORT_FILL))
            if q:
                out[(a, t, y)] = out.get((a, t, y), 0) + q * side
        return out

    def book(self, n: int = MARKET_DEPTH) -> tuple[int, ...]:
        """The market's book now, its best `n` levels a side: ``(bid_1, bid_qty_1, ask_1, ask_qty_1, bid_2, …)``
        (`hft.core.orders.MARKET_UPDATE`'s layout); a missing level's price is `NO_PRICE`, its size 0."""
        v = self.venue
        bp, bq, ap, aq = (np.full(n, NO_PRICE, np.int64), np.zeros(n, np.int64), np.full(n, NO_PRICE, np.int64),
                          np.zeros(n, np.int64))
        if hasattr(v, "market_top"):  # L3: the market's book, our orders left out (LOBSTER layout: ask, size, bid, size)
            row = v.market_top(n).reshape(n, 4)
            ap[:], aq[:], bp[:], bq[:] = row[:, 0], row[:, 1], row[:, 2], row[:, 3]
        else:  # L2 (`hft.sim.engine.L2MarketVenue`): its displayed book
            from hft.book.l2 import top_n  # lazy: numba

            top_n(v.v.book, bp, bq, ap, aq)
        bp[bq <= 0], ap[aq <= 0] = NO_PRICE, NO_PRICE
        bq[bq < 0], aq[aq < 0] = 0, 0
        return tuple(np.stack([bp, bq, ap, aq], axis=1).ravel().tolist())

    # ------------------------------------------------------------------ the feed
    def _turn(self, due: int, stop: int,
              prints: list[tuple[int, int, int, int, tuple[int, ...]]] | None = None) -> None:
        """One turn of the feed, the one loop of the live feed, the rebuild and its catch-up: apply the recorded
        events before position `stop` due at venue time `due` (at or before it), each GTD expiry due before an
        event first (at its time: after the events of that time), then, the events up to `due` all applied, the
        expiries up to it. Rebuilding, the expiries are the journal's records instead. `prints` gets each trade
        print (its time, aggressor side, price, size and the book after it)."""
        ts, kind, side, price, qty, oid = self._cols
        n = len(ts)
        market = self.venue.market
        expiries = self._expiries
        i = self.i
        while i < stop and ts[i] <= due:
            if expiries and expiries[0][0] < ts[i]:  # due before this event (at its time: after it)
                self._expire_until(int(ts[i]) - 1)
            k = int(kind[i])
            self.exch_now = int(ts[i])
            self._deliver(market(self.exch_now, k, int(side[i]), int(price[i]), int(qty[i]), int(oid[i])))
            self.i = i = i + 1  # applied: an operation journaled from now on comes after it
            if k == EV_EXEC or k == EV_TRADE:
                self.last_trade = int(price[i - 1])
            if prints is not None and (k == EV_EXEC or k == EV_TRADE or k == EV_HIDDEN_EXEC):
                aggressor = int(side[i - 1]) if k == EV_TRADE else -int(side[i - 1])  # an L3 execution's side rests
                prints.append((self.exch_now, aggressor, int(price[i - 1]), int(qty[i - 1]), self.book()))
        if expiries and (i == n or ts[i] > due):  # the events up to `due` applied: the expiries up to it
            self._expire_until(due)

    async def run_feed(self, live: Any, tick_s: float = 0.001, max_batch: int = 2000) -> None:
        """Apply the recorded events as the wall clock reaches them and expire the GTD orders at their time; mark
        the symbol with trade prices; publish the prints and the book's top levels (`live.on_market`, when the
        service offers it). After the day's last event the venue's clock runs on (every 10 ms) for the expiries.
        A pause of the process (SIGSTOP) is caught up turn by turn (`max_batch` events a turn)."""
        self._live = live
        n = len(self.events)
        next_mark = marked = 0
        publish = getattr(live, "on_market", None)
        shown: tuple[int, ...] = ()  # the book last published
        while True:
            i0 = self.i
            prints: list[tuple[int, int, int, int, tuple[int, ...]]] | None = [] if publish is not None else None
            self._turn(self.exch_at(time.time_ns()), min(n, i0 + max_batch), prints)  # bounded: requests go on
            if prints is not None and self.i > i0:
                top = self.book()
                rows = np.zeros(len(prints) + (top != shown), MARKET_UPDATE_DTYPE)
                for j, (t, a, p, q, tp) in enumerate(prints):
                    _market_row(rows[j], t, MARKET_TRADE, tp, a, p, q)
                if top != shown:
                    _market_row(rows[-1], self.exch_now, MARKET_BOOK, top)
                    shown = top
                publish(self.symbol, rows)
            wall = time.time_ns()
            if self.last_trade != marked and wall >= next_mark:
                live.on_mark(self.symbol, self.last_trade)
                marked = self.last_trade
                next_mark = wall + self.mark_every_ns
            await asyncio.sleep(tick_s if self.i < n else max(tick_s, 0.01))

    def health(self) -> dict[str, Any]:
        j = self.journal
        return {"kind": "paper", "source": self.source, "symbol": self.symbol, "speed": self.speed,
                "events_applied": self.i, "events": len(self.events), "exchange_ts": self.exch_now,
                "orders_sent": self.sent, "reports": self.n_reports, "fills": self.fills,
                "last_trade": self.last_trade, "expired_unknown": self.expired_unknown,
                "duplicates": self.duplicates, "gtd_pending": len(self._gtd_working), "gtd_expired": self.expired,
                "journal": None if j is None else {"path": str(j.path), "records": j.records, "writes": j.writes,
                                                   "failures": j.failures,
                                                   "failing": self.journal_error or None, "torn_bytes": j.torn},
                "new_day": self.session_restarts, "rebuilt": self.rebuilt or None,
                "day_start": {"wall_ns": self._t0_wall, "exchange_ns": self._t0_exch}}

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()


def _identity(path: Path, events: np.ndarray) -> dict[str, Any]:
    """What the journal's anchor says the day's data was: its path, size in bytes, rows and a hash of its first
    and last rows (a file replaced by another, or cut, is another day)."""
    ends = events[:1].tobytes() + events[-1:].tobytes()
    return {"path": str(path.resolve()), "size": path.stat().st_size, "rows": len(events),
            "hash": f"{zlib.crc32(ends):08x}"}


def paper(ctx: VenueContext) -> PaperVenue:
    """The ``paper`` adapter (`hft.live.venue`): options ``data`` (a recorded day, required), ``speed`` (default
    1.0), ``symbol`` (the gateway symbol the day trades as; default the data's instrument) and ``journal`` (the
    venue's write-ahead journal; default ``<wal dir>-paper.jsonl``: move it away to begin a new day)."""
    ctx.only("paper", "data", "speed", "symbol", "journal")
    speed = ctx.options.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, int | float):
        raise ConfigError(f"key 'venue.options.speed': expected a number > 0, was {speed!r}", key="venue.options.speed")
    return PaperVenue.from_data(ctx.options.get("data"), speed=float(speed), symbol=ctx.options.get("symbol"),
                                journal=ctx.options.get("journal") or ctx.path("paper.jsonl"))


_LEVELS = [f"{side}_{k}" for k in range(1, MARKET_DEPTH + 1) for side in ("bid", "bid_qty", "ask", "ask_qty")]


def _market_row(row: np.void, exch_ts: int, kind: int, levels: tuple[int, ...], side: int = 0, price: int = 0,
                qty: int = 0) -> None:
    """One `MARKET_UPDATE` row by field name (`seq`, `ts` and `symbol` are set by `LiveGateway.on_market`);
    `levels` in `PaperVenue.book`'s order."""
    row["exch_ts"], row["kind"], row["side"], row["price"], row["qty"] = exch_ts, kind, side, price, qty
    for name, v in zip(_LEVELS, levels, strict=True):
        row[name] = v
