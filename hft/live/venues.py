"""The built-in venue adapters behind the live service's dispatcher (the contract: `hft.live.venue`).

``send_array(cmds, accounts, strategies, symbols) -> EXEC_REPORT_DTYPE array``, the contract's optional path of
a COMMAND_DTYPE array of a writer step at once, is offered by the loopback venue (the reports it caused at once
are returned, later ones come through ``on_report``).

- `LoopbackVenue` (adapter ``loopback``): an exchange stand-in on the same machine. ``fill`` mode fills every new
  order in full at its limit price; ``rest`` mode fills IOC / FOK orders the same way and keeps the others working
  until cancelled (across a restart of the service too: its journal says which still rest). It holds no stops,
  no OCO or bracket orders and, in ``rest`` mode, no GTD orders (no book to trigger them, no fills of its own
  to end a pair or an entry, no clock to expire them): it rejects them, its journal saying why; an iceberg fills (``fill``) or rests (``rest``) whole; a replace of a
  resting order takes its new price and open size (REPLACED), of any other is refused (REPLACE_REJECTED). It has
  no book: its reference price of a symbol is the price of its last fill there, and a market order fills at it
  (a symbol it never filled has none: the market order is rejected, the journal saying why). It keeps its own
  journal (JSON lines, one ``write(2)`` per batch of commands, outside the gateway's WAL, surviving the gateway's
  crash as an exchange's books would), refuses a second new order with an id it already holds (counted and
  journaled as ``dup``: the chaos test asserts there are none) and answers reconciliation from it.
- `PaperVenue` (adapter ``paper``, `hft.live.paper`): the simulator's venue fed by a recorded day on the wall clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from hft.core.errors import ConfigError
from hft.core.jit import njit
from hft.core.order_rules import is_stop
from hft.core.orders import (
    CMD_CANCEL,
    CMD_NEW,
    CMD_REPLACE,
    EXEC_REPORT,
    EXEC_REPORT_DTYPE,
    ORDER_MARKET,
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_REJECTED,
    REPORT_REPLACE_REJECTED,
    REPORT_REPLACED,
    TIF_FOK,
    TIF_GTD,
    TIF_IOC,
)
from hft.gateway import records
from hft.gateway.intents import ExecutionReport, OrderCommand, report_from_row
from hft.live.venue import VenueContext

_encode = msgspec.json.Encoder().encode  # the journal's JSON lines (compact, as json.dumps with separators)


_ENDED = frozenset({REPORT_FILL, REPORT_CANCELED, REPORT_REJECTED, REPORT_EXPIRED})  # an order's last report
_A, _T, _Y, _SIDE, _PX, _QTY, _OPEN = range(7)  # a LoopbackVenue order: (account, strategy, symbol, side, price,
# qty, open)
_FILLED = (b'{"ev":"cmd","action":%d,"order_id":%d,"account":%s,"strategy":%s,"symbol":%s,"side":%d,"price":%d,'
           b'"qty":%d}\n{"ev":"report","order_id":%d,"kind":%d,"price":0,"qty":0,"leaves":%d,"ts":0}\n'
           b'{"ev":"report","order_id":%d,"kind":%d,"price":%d,"qty":%d,"leaves":0,"ts":0}\n')
# a new order acknowledged and filled: the three lines `_act` writes for it (msgspec's compact JSON, same keys)
_FILLED_LITS = re.split(rb"%[ds]", _FILLED)  # the literal text around its 15 slots
# its slots: ("i", column of the int matrix: 0 action, 1 order id, 2 side, 3 price, 4 qty, 5 ack, 6 fill) or
# ("s", name column: 0 account, 1 strategy, 2 symbol)
_FILLED_SLOTS = (("i", 0), ("i", 1), ("s", 0), ("s", 1), ("s", 2), ("i", 2), ("i", 3), ("i", 4), ("i", 1), ("i", 5),
                 ("i", 4), ("i", 1), ("i", 6), ("i", 3), ("i", 4))
_LITS = np.frombuffer(b"".join(_FILLED_LITS), np.uint8)
_LIT_AT = np.cumsum([0] + [len(x) for x in _FILLED_LITS]).astype(np.int64)
_KIND = np.array([0 if k == "i" else 1 for k, _ in _FILLED_SLOTS], np.int64)
_COL = np.array([c for _, c in _FILLED_SLOTS], np.int64)


@njit(cache=True, nogil=True)
def _lines(lits: np.ndarray, lit_at: np.ndarray, kind: np.ndarray, col: np.ndarray, ints: np.ndarray,
           codes: np.ndarray, tstart: np.ndarray, tlen: np.ndarray, tblob: np.ndarray, n: int,
           cap: int) -> np.ndarray:
    """Rows of text: for each row, literal j (``lits[lit_at[j]:lit_at[j + 1]]``) then slot j (kind 0: the decimal
    of ``ints[col[j], row]``, kind 1: the bytes of name ``codes[col[j], row]`` in the table `tstart`, `tlen`,
    `tblob`), and the last literal. `cap` bounds the bytes written. Each int column's decimal is made once per
    row (a column may fill several slots: an order id fills three)."""
    out = np.empty(cap, np.uint8)
    nc = ints.shape[0]
    digits = np.empty((nc, 24), np.uint8)  # each int column's decimal of this row, right-aligned
    first = np.empty(nc, np.int64)
    p = 0
    k = kind.shape[0]
    for i in range(n):
        for c in range(nc):
            v = ints[c, i]
            u = np.uint64(v) if v >= 0 else np.uint64(0) - np.uint64(v)  # unsigned: a cheap division by 10
            e = 24
            while True:
                q = u // np.uint64(10)
                e -= 1
                digits[c, e] = np.uint8(np.uint64(48) + u - q * np.uint64(10))
                u = q
                if u == 0:
                    break
            if v < 0:
                e -= 1
                digits[c, e] = 45  # "-"
            first[c] = e
        for j in range(k + 1):
            for x in range(lit_at[j], lit_at[j + 1]):
                out[p] = lits[x]
                p += 1
            if j == k:
                break
            if kind[j] == 0:
                c = col[j]
                for x in range(first[c], 24):
                    out[p] = digits[c, x]
                    p += 1
            else:
                t = codes[col[j], i]
                for x in range(tstart[t], tstart[t] + tlen[t]):
                    out[p] = tblob[x]
                    p += 1
    return out[:p]


_GROW, _REFUSED, _UNKNOWN_NAME = 1, 2, 3  # `_fill`'s statuses besides 0 (done)


@njit(cache=True, nogil=True)
def _fill(cmds: np.ndarray, bits: np.ndarray, reps: np.ndarray, sizes: np.ndarray, tstart: np.ndarray,
          tlen: np.ndarray, tblob: np.ndarray, lits: np.ndarray, lit_at: np.ndarray, kind: np.ndarray,
          col: np.ndarray, cap: int) -> tuple[np.ndarray, int, int]:
    """New orders (COMMAND_DTYPE) acknowledged and filled at once: their ids set in the `bits` bitmap, their
    ack and fill rows written into `reps` (two per order, zeroed), their journal lines (`_lines`) returned with
    status 0. Nothing changes when the status is `_GROW` (an id at or past the bitmap: the third value),
    `_REFUSED` (not a new order, a market order (no limit price to fill at), a stop or a linked order (rejected
    one by one), an id negative, held or repeated) or `_UNKNOWN_NAME` (a name index outside
    `sizes`, the registries' lengths)."""
    n = cmds.shape[0]
    none = np.empty(0, np.uint8)
    hi = 0
    for i in range(n):
        c = cmds[i]
        if (c.action != CMD_NEW or c.order_type == ORDER_MARKET or is_stop(c.order_type) or c.oco != 0
                or c.parent != 0 or c.order_id < 0):
            return none, _REFUSED, 0
        if not (0 <= c.account < sizes[0] and 0 <= c.strategy < sizes[1] and 0 <= c.symbol < sizes[2]):
            return none, _UNKNOWN_NAME, 0
        hi = max(hi, c.order_id)
    if hi >= bits.shape[0]:
        return none, _GROW, hi
    for i in range(n):
        o = cmds[i].order_id
        if bits[o]:  # held, or twice in this batch: undo this batch's
            for j in range(i):
                bits[cmds[j].order_id] = False
            return none, _REFUSED, 0
        bits[o] = True
    ints = np.empty((7, n), np.int64)  # the template's int columns (see _FILLED_SLOTS)
    codes = np.empty((3, n), np.int64)
    for i in range(n):
        c = cmds[i]
        ints[0, i], ints[1, i], ints[2, i], ints[3, i], ints[4, i] = CMD_NEW, c.order_id, c.side, c.price, c.qty
        ints[5, i], ints[6, i] = REPORT_ACK, REPORT_FILL
        codes[0, i], codes[1, i], codes[2, i] = c.account, sizes[0] + c.strategy, sizes[0] + sizes[1] + c.symbol
        ack, filled = reps[2 * i], reps[2 * i + 1]
        ack.order_id = filled.order_id = c.order_id
        ack.kind = REPORT_ACK
        ack.leaves = c.qty
        filled.kind = REPORT_FILL
        filled.price = c.price
        filled.qty = c.qty
    return _lines(lits, lit_at, kind, col, ints, codes, tstart, tlen, tblob, n, cap), 0, hi


class _IdSet:
    """The order ids of the new orders a venue received: a bitmap over ids from 0 that grows by doubling (the
    gateway numbers orders densely from 1), a set for the others (negative, or far past the bitmap); a batch's
    ids are checked and taken column-wise (`_fill`)."""

    def __init__(self) -> None:
        self.bits = np.zeros(1024, np.bool_)
        self.other: set[int] = set()
        self.n = 0

    def _in_reach(self, hi: int) -> bool:
        return hi < 2 * len(self.bits) + (1 << 20)

    def _fit(self, hi: int) -> None:
        cap = len(self.bits)
        if hi < cap:
            return
        while cap <= hi:
            cap *= 2
        bits = np.zeros(cap, np.bool_)
        bits[:len(self.bits)] = self.bits
        self.bits = bits

    def __len__(self) -> int:
        return self.n

    def __contains__(self, i: int) -> bool:
        return bool(0 <= i < len(self.bits) and self.bits[i]) or i in self.other

    def __iter__(self) -> Iterator[int]:
        yield from np.flatnonzero(self.bits).tolist()
        yield from self.other

    def add(self, i: int) -> None:
        if i in self:
            return
        self.n += 1
        if i >= 0 and self._in_reach(i):
            self._fit(i)
            self.bits[i] = True
        else:
            self.other.add(i)

class LoopbackVenue:
    """See the module docstring. `journal` is a file path (created if missing)."""

    def __init__(self, journal: str | Path, mode: str = "fill") -> None:
        if mode not in ("fill", "rest"):
            raise ValueError(f"loopback venue mode: expected fill|rest, was {mode!r}")
        self.path = Path(journal)
        self.mode = mode
        self.loop: asyncio.AbstractEventLoop | None = None
        self.on_report: Callable[[ExecutionReport], None] | None = None
        self._new_ids = _IdSet()  # new orders received
        self._received: set[tuple[int, int]] = set()  # other commands received: (action, order id)
        self._log: list[np.ndarray] = []  # every report sent, EXEC_REPORT_DTYPE chunks in order
        self._orders: dict[int, tuple] = {}  # see _A .. _OPEN; `positions` reads it through `_book`
        self._filled: list[tuple] = []  # new orders `send_array` filled at once: (COMMAND_DTYPE, names), not in
        # `_orders` until `positions` needs them (no Python object per order on the hot path; `_act` needs no
        # entry for them: a cancel of an order that is not open is rejected either way, a repeated id is a dup)
        self._ref: dict[str, int] = {}  # symbol -> price of the last fill there (what a market order fills at)
        self._ref_seen = 0  # how many of `_filled` `_ref` has taken in (`_refs`)
        self._json: dict[str, bytes] = {}  # names as JSON strings
        self._names_at: tuple[int, int, int] | None = None  # registry sizes `_names_table` was built for
        self._names_table: tuple | None = None  # (starts, lengths, bytes, sizes, bytes a row, the name tuples)
        self.duplicates = 0
        self.sent = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._load()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def _load(self) -> None:
        if not self.path.exists():
            return
        reps = []
        last: dict[int, tuple[int, int]] = {}  # order id -> (kind, leaves) of its last report
        with open(self.path) as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # a line cut by a crash: the venue never acted on it
                ev = json.loads(line)
                if ev["ev"] == "cmd":
                    if ev["action"] == CMD_NEW:
                        self._new_ids.add(ev["order_id"])
                        self._orders[ev["order_id"]] = (ev["account"], ev["strategy"], ev["symbol"], ev["side"],
                                                        ev["price"], ev["qty"], False)  # open: from its reports
                    else:
                        self._received.add((ev["action"], ev["order_id"]))
                elif ev["ev"] == "report":
                    reps.append(EXEC_REPORT.pack(ts=ev["ts"], order_id=ev["order_id"], price=ev["price"],
                                                 qty=ev["qty"], leaves=ev["leaves"], fee=0, fee_frac=0,
                                                 kind=ev["kind"]))
                    last[ev["order_id"]] = (ev["kind"], ev["leaves"])
                    o = self._orders.get(ev["order_id"])
                    if ev["kind"] == REPORT_FILL and o is not None and ev["price"] > 0:
                        self._ref[o[_Y]] = ev["price"]
                    elif ev["kind"] == REPORT_REPLACED and o is not None:  # its book entry as replaced
                        self._orders[ev["order_id"]] = (*o[:_PX], ev["price"], ev["leaves"], o[_OPEN])
                elif ev["ev"] == "dup":
                    self.duplicates += 1
        if reps:
            self._log.append(np.array(reps, dtype=EXEC_REPORT_DTYPE))
        for oid, (kind, leaves) in last.items():  # still resting at the venue, as an exchange's book keeps it
            o = self._orders.get(oid)
            if o is not None and leaves > 0 and kind not in _ENDED:
                self._orders[oid] = (*o[:_OPEN], True)

    def _write(self, ev: dict[str, Any]) -> None:
        self._lines.append(_encode(ev))

    def start(self, loop: asyncio.AbstractEventLoop, on_report: Callable[[ExecutionReport], None]) -> None:
        self.loop = loop
        self.on_report = on_report

    def send(self, cmd: OrderCommand) -> None:
        """Act on one command; its journal lines go out in one ``write(2)`` (all or nothing on a crash)."""
        self._lines: list[bytes] = []
        self._due: list[tuple] = []  # `EXEC_REPORT.pack` rows
        self._act(cmd)
        self._flush()
        if self.loop is not None and self.on_report is not None:
            for r in self._due:
                self.on_report(report_from_row(r))

    def send_array(self, cmds: np.ndarray, accounts: Sequence[str], strategies: Sequence[str],
                   symbols: Sequence[str]) -> np.ndarray:
        """Act on a COMMAND_DTYPE array (registry indices resolved by the name lists) in order, its journal lines
        in one ``write(2)``. Returns the reports it caused (EXEC_REPORT_DTYPE, in order) for the caller to
        deliver, none before `start` (reconciliation reads them back with `reports`). New orders that fill at
        once are handled column-wise; anything else command by command (`_act`)."""
        n = len(cmds)
        fill = self.mode == "fill" or bool(np.isin(cmds["tif"], (TIF_IOC, TIF_FOK)).all())
        reps = self._fill_new(cmds, accounts, strategies, symbols) if fill and n else None
        if reps is None:
            self._lines = []
            self._due = []
            for c in records.commands_from_array(cmds, accounts, strategies, symbols):  # type: ignore[arg-type]
                self._act(c)
            self._flush()
            return self._delivered(np.array(self._due, dtype=EXEC_REPORT_DTYPE) if self._due else None)
        return self._delivered(reps)

    def _fill_new(self, cmds: np.ndarray, accounts: Sequence[str], strategies: Sequence[str],
                  symbols: Sequence[str]) -> np.ndarray | None:
        """New orders that fill at once, taken column-wise by one numba call (`_fill`: their ids into the
        bitmap, their journal lines, their ack and fill reports), journaled with one ``write(2)``; returns the
        reports, or None (nothing changed) when the commands must go one by one: not all new, an id negative,
        held, repeated or out of the bitmap's reach."""
        ids = self._new_ids
        if ids.other:  # ids outside the bitmap were received: the per-command path checks against them
            return None
        n = len(cmds)
        sizes = (len(accounts), len(strategies), len(symbols))
        if self._names_at != sizes:  # the registries only grow: their JSON strings as one table, once per size
            js = self._json
            encs = [js.get(x) or js.setdefault(x, _encode(x)) for t in (accounts, strategies, symbols) for x in t]
            tlen = np.fromiter(map(len, encs), np.int64, len(encs))
            self._names_table = (np.cumsum(tlen) - tlen, tlen, np.frombuffer(b"".join(encs), np.uint8),
                                 np.array(sizes, np.int64), len(_LITS) + 12 * 21 + 3 * int(tlen.max(initial=0)),
                                 (tuple(accounts), tuple(strategies), tuple(symbols)))
            self._names_at = sizes
        tstart, tlen, tblob, sz, row_cap, names = self._names_table
        c = np.ascontiguousarray(cmds)
        reps = np.zeros(2 * n, EXEC_REPORT_DTYPE)
        while True:
            text, status, hi = _fill(c, ids.bits, reps, sz, tstart, tlen, tblob, _LITS, _LIT_AT, _KIND, _COL,
                                     n * row_cap)
            if status == 0:
                break
            if status == _GROW and ids._in_reach(hi):
                ids._fit(hi)
                continue
            if status == _UNKNOWN_NAME:
                raise IndexError("loopback venue: a command names an account, strategy or symbol the registry lacks")
            return None
        ids.n += n
        self.sent += n
        os.write(self._fd, text)
        self._filled.append((c.copy() if c is cmds else c, *names))
        self._log.append(reps)
        return reps

    def _refs(self) -> dict[str, int]:
        """`_ref` with the fills of the orders `send_array` filled at once taken in (the last row of each symbol
        in each batch not taken yet, in order)."""
        for cmds, _, _, symbols in self._filled[self._ref_seen:]:
            sym = cmds["symbol"][::-1]
            names, last = np.unique(sym, return_index=True)
            px = cmds["price"][::-1][last]
            self._ref.update(zip([symbols[i] for i in names.tolist()], px.tolist(), strict=True))
        self._ref_seen = len(self._filled)
        return self._ref

    def _book(self) -> dict[int, tuple]:
        """`_orders` with the orders `send_array` filled at once put in (not open: a cancel is rejected)."""
        self._refs()
        for cmds, accounts, strategies, symbols in self._filled:
            orders = zip([accounts[i] for i in cmds["account"].tolist()],
                         [strategies[i] for i in cmds["strategy"].tolist()],
                         [symbols[i] for i in cmds["symbol"].tolist()], cmds["side"].tolist(),
                         cmds["price"].tolist(), cmds["qty"].tolist(), [False] * len(cmds), strict=True)
            self._orders.update(zip(cmds["order_id"].tolist(), orders, strict=True))
        self._filled.clear()
        self._ref_seen = 0
        return self._orders

    def _delivered(self, reps: np.ndarray | None) -> np.ndarray:
        if self.loop is None or reps is None:
            return np.empty(0, EXEC_REPORT_DTYPE)
        return reps

    def _flush(self) -> None:
        if self._lines:
            self._lines.append(b"")
            os.write(self._fd, b"\n".join(self._lines))
        if self._due:
            self._log.append(np.array(self._due, dtype=EXEC_REPORT_DTYPE))

    def _act(self, cmd: OrderCommand) -> None:
        self.sent += 1
        action, oid = int(cmd.action), int(cmd.order_id)
        if action == CMD_NEW:
            if oid in self._new_ids:
                self.duplicates += 1
                self._write({"ev": "dup", "action": action, "order_id": oid})
                return
            self._new_ids.add(oid)
        else:
            self._received.add((action, oid))
        self._write({"ev": "cmd", "action": action, "order_id": oid, "account": cmd.account,
                     "strategy": cmd.strategy, "symbol": cmd.symbol, "side": int(cmd.side),
                     "price": int(cmd.price), "qty": int(cmd.qty)})
        if action == CMD_NEW:
            fill = self.mode == "fill" or int(cmd.tif) in (TIF_IOC, TIF_FOK)
            price = int(cmd.price)
            held = ("a stop" if is_stop(int(cmd.order_type)) else
                    "an OCO / bracket order" if int(cmd.oco) != 0 or int(cmd.parent) != 0 else
                    "a good-till-date order resting" if int(cmd.tif) == TIF_GTD and not fill else "")
            if held:  # no book to trigger it, no clock to expire it: never filled as something else
                self._orders[oid] = (cmd.account, cmd.strategy, cmd.symbol, int(cmd.side), 0, int(cmd.qty), False)
                self._report(oid, REPORT_REJECTED, 0, 0, 0, f"{held}: the loopback venue holds none (it has no "
                             "book and no clock; the paper venue holds them)")
                return
            if int(cmd.order_type) == ORDER_MARKET:  # no limit price: it fills at the reference price, if any
                price = self._refs().get(cmd.symbol, 0)
                if price <= 0:
                    self._orders[oid] = (cmd.account, cmd.strategy, cmd.symbol, int(cmd.side), 0, int(cmd.qty), False)
                    self._report(oid, REPORT_REJECTED, 0, 0, 0,
                                 f"market order: no reference price for {cmd.symbol} (the venue has not filled it)")
                    return
                fill = True  # a market order never rests (the gateway admits it only IOC / FOK)
            self._orders[oid] = (cmd.account, cmd.strategy, cmd.symbol, int(cmd.side), int(cmd.price), int(cmd.qty),
                                 not fill)
            self._report(oid, REPORT_ACK, 0, 0, int(cmd.qty))
            if fill:
                self._report(oid, REPORT_FILL, price, int(cmd.qty), 0)
                self._refs()[cmd.symbol] = price
        elif action == CMD_CANCEL:
            o = self._orders.get(oid)
            if o is not None and o[_OPEN]:
                self._orders[oid] = (*o[:_OPEN], False)
                self._report(oid, REPORT_CANCELED, 0, 0, 0)
            else:
                self._report(oid, REPORT_CANCEL_REJECTED, 0, 0, 0)
        elif action == CMD_REPLACE:  # a resting order takes the new price and open size; anything else: refused
            o = self._orders.get(oid)
            if o is not None and o[_OPEN]:
                self._orders[oid] = (*o[:_PX], int(cmd.price), int(cmd.qty), True)
                self._report(oid, REPORT_REPLACED, int(cmd.price), 0, int(cmd.qty))
            else:
                self._report(oid, REPORT_REPLACE_REJECTED, 0, 0, 0)
        else:
            self._report(oid, REPORT_REJECTED, 0, 0, 0)

    def _report(self, oid: int, kind: int, price: int, qty: int, leaves: int, why: str = "") -> None:
        ev = {"ev": "report", "order_id": oid, "kind": kind, "price": price, "qty": qty, "leaves": leaves, "ts": 0}
        if why:
            ev["reason"] = why
        self._write(ev)
        self._due.append(EXEC_REPORT.pack(ts=0, order_id=oid, price=price, qty=qty, leaves=leaves, fee=0, fee_frac=0,
                                          kind=kind))

    def received(self) -> set[tuple[int, int]]:
        """(action, order id) of every command the venue received."""
        return {(CMD_NEW, i) for i in self._new_ids} | self._received

    def _all_reports(self) -> np.ndarray:
        if len(self._log) > 1:
            self._log = [np.concatenate(self._log)]
        return self._log[0] if self._log else np.empty(0, EXEC_REPORT_DTYPE)

    def reports(self) -> dict[int, list[ExecutionReport]]:
        """Every report sent, per order id, in order."""
        out: dict[int, list[ExecutionReport]] = {}
        for r in self._all_reports().tolist():
            rep = report_from_row(r)
            out.setdefault(rep.order_id, []).append(rep)
        return out

    def positions(self) -> dict[tuple[str, str, str], int]:
        """Net filled position per (account, strategy, symbol), from the venue's own record."""
        out: dict[tuple[str, str, str], int] = {}
        reps = self._all_reports()
        fills = reps[reps["kind"] == REPORT_FILL]
        orders = self._book()
        for oid, qty in zip(fills["order_id"].tolist(), fills["qty"].tolist(), strict=True):
            o = orders.get(oid)
            if o is None:
                continue
            k = (o[_A], o[_T], o[_Y])
            out[k] = out.get(k, 0) + qty * o[_SIDE]
        return out

    def health(self) -> dict[str, Any]:
        return {"kind": "loopback", "mode": self.mode, "journal": str(self.path),
                "received": len(self._new_ids) + len(self._received),
                "duplicates": self.duplicates}

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def loopback(ctx: VenueContext) -> LoopbackVenue:
    """The ``loopback`` adapter (`hft.live.venue`): options ``mode`` (fill | rest, default fill) and ``journal``
    (default ``<wal dir>-venue.jsonl``)."""
    ctx.only("loopback", "mode", "journal")
    mode = ctx.options.get("mode", "fill")
    if mode not in ("fill", "rest"):
        raise ConfigError(f"key 'venue.options.mode': expected fill or rest, was {mode!r}", key="venue.options.mode")
    return LoopbackVenue(Path(ctx.options.get("journal") or ctx.path("venue.jsonl")), mode)
