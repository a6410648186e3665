"""Venues behind the live service's dispatcher.

A venue has ``start(loop, on_report)``, ``send(cmd)`` (never blocks; reports come back later through
``on_report(ExecutionReport)``, on the event loop), ``close()``, ``health() -> dict``, and optionally
``send_many(cmds) -> EXEC_REPORT_DTYPE array`` (a writer step's commands at once; the reports they caused at
once are returned, later ones come through ``on_report``),
``received()`` / ``reports()`` for reconciliation after a crash (`hft.live.recovery`).

- `LoopbackVenue`: an exchange stand-in on the same machine. ``fill`` mode fills every new order in full at
  its limit price; ``rest`` mode fills IOC / FOK orders the same way and keeps the others working until
  cancelled. It keeps its own journal
  (JSON lines, one ``write(2)`` per batch of commands, outside the gateway's WAL, surviving the gateway's crash as an
  exchange's books would), refuses a second new order with an id it already holds (counted and journaled as
  ``dup``: the chaos test asserts there are none) and answers reconciliation from it.
- `PaperVenue` (`hft.live.paper`): the simulator's venue fed by a recorded day on the wall clock.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from hft.core.orders import (
    CMD_CANCEL,
    CMD_NEW,
    EXEC_REPORT_DTYPE,
    REPORT_ACK,
    REPORT_CANCEL_REJECTED,
    REPORT_CANCELED,
    REPORT_FILL,
    REPORT_REJECTED,
    TIF_FOK,
    TIF_IOC,
)
from hft.gateway.intents import ExecutionReport, OrderCommand

_encode = msgspec.json.Encoder().encode  # the journal's JSON lines (compact, as json.dumps with separators)


class LoopbackVenue:
    """See the module docstring. `journal` is a file path (created if missing)."""

    def __init__(self, journal: str | Path, mode: str = "fill") -> None:
        if mode not in ("fill", "rest"):
            raise ValueError(f"loopback venue mode: expected fill|rest, was {mode!r}")
        self.path = Path(journal)
        self.mode = mode
        self.loop: asyncio.AbstractEventLoop | None = None
        self.on_report: Callable[[ExecutionReport], None] | None = None
        self._received: set[tuple[int, int]] = set()
        self._reports: dict[int, list[ExecutionReport]] = {}
        self._orders: dict[int, dict[str, Any]] = {}
        self.duplicates = 0
        self.sent = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._load()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def _load(self) -> None:
        if not self.path.exists():
            return
        with open(self.path) as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # a line cut by a crash: the venue never acted on it
                ev = json.loads(line)
                if ev["ev"] == "cmd":
                    self._received.add((ev["action"], ev["order_id"]))
                    if ev["action"] == CMD_NEW:
                        self._orders[ev["order_id"]] = ev
                elif ev["ev"] == "report":
                    self._reports.setdefault(ev["order_id"], []).append(ExecutionReport(
                        ev["ts"], ev["order_id"], ev["kind"], ev["price"], ev["qty"], ev["leaves"], 0))
                elif ev["ev"] == "dup":
                    self.duplicates += 1

    def _write(self, ev: dict[str, Any]) -> None:
        self._lines.append(_encode(ev))

    def start(self, loop: asyncio.AbstractEventLoop, on_report: Callable[[ExecutionReport], None]) -> None:
        self.loop = loop
        self.on_report = on_report

    def send(self, cmd: OrderCommand) -> None:
        """Act on one command; its journal lines go out in one ``write(2)`` (all or nothing on a crash)."""
        due = self._send((cmd,))
        if self.loop is not None and self.on_report is not None:
            for ts, oid, price, qty, leaves, fee, kind in due:
                self.on_report(ExecutionReport(ts, oid, kind, price, qty, leaves, fee))

    def send_many(self, cmds: Sequence[OrderCommand]) -> np.ndarray:
        """Act on many commands in order, their journal lines in one ``write(2)``. Returns the reports they
        caused (EXEC_REPORT_DTYPE, in order) for the caller to deliver, none before `start` (reconciliation
        reads them back with `reports`)."""
        due = self._send(cmds)
        if self.loop is None or not due:
            return np.empty(0, EXEC_REPORT_DTYPE)
        return np.array(due, dtype=EXEC_REPORT_DTYPE)

    def _send(self, cmds: Sequence[OrderCommand]) -> list[tuple]:
        self._lines: list[bytes] = []
        self._due: list[tuple] = []  # EXEC_REPORT_DTYPE rows
        for cmd in cmds:
            self._act(cmd)
        if self._lines:
            self._lines.append(b"")
            os.write(self._fd, b"\n".join(self._lines))
        return self._due

    def _act(self, cmd: OrderCommand) -> None:
        self.sent += 1
        key = (int(cmd.action), int(cmd.order_id))
        if key in self._received and cmd.action == CMD_NEW:
            self.duplicates += 1
            self._write({"ev": "dup", "action": key[0], "order_id": key[1]})
            return
        self._received.add(key)
        self._write({"ev": "cmd", "action": key[0], "order_id": key[1], "account": cmd.account,
                     "strategy": cmd.strategy, "symbol": cmd.symbol, "side": int(cmd.side),
                     "price": int(cmd.price), "qty": int(cmd.qty)})
        if cmd.action == CMD_NEW:
            o = {"order_id": key[1], "account": cmd.account, "strategy": cmd.strategy, "symbol": cmd.symbol,
                 "side": int(cmd.side), "price": int(cmd.price), "qty": int(cmd.qty), "open": True}
            self._orders[key[1]] = o
            self._report(key[1], REPORT_ACK, 0, 0, o["qty"])
            if self.mode == "fill" or int(cmd.tif) in (TIF_IOC, TIF_FOK):
                o["open"] = False
                self._report(key[1], REPORT_FILL, o["price"], o["qty"], 0)
        elif cmd.action == CMD_CANCEL:
            o = self._orders.get(key[1])
            if o is not None and o.get("open", False):
                o["open"] = False
                self._report(key[1], REPORT_CANCELED, 0, 0, 0)
            else:
                self._report(key[1], REPORT_CANCEL_REJECTED, 0, 0, 0)
        else:
            self._report(key[1], REPORT_REJECTED, 0, 0, 0)

    def _report(self, oid: int, kind: int, price: int, qty: int, leaves: int) -> None:
        self._write({"ev": "report", "order_id": oid, "kind": kind, "price": price, "qty": qty, "leaves": leaves,
                     "ts": 0})
        self._reports.setdefault(oid, []).append(ExecutionReport(0, oid, kind, price, qty, leaves, 0))
        self._due.append((0, oid, price, qty, leaves, 0, kind))

    def received(self) -> set[tuple[int, int]]:
        return set(self._received)

    def reports(self) -> dict[int, list[ExecutionReport]]:
        return {k: list(v) for k, v in self._reports.items()}

    def positions(self) -> dict[tuple[str, str, str], int]:
        """Net filled position per (account, strategy, symbol), from the venue's own record."""
        out: dict[tuple[str, str, str], int] = {}
        for oid, reps in self._reports.items():
            o = self._orders.get(oid)
            if o is None:
                continue
            k = (o["account"], o["strategy"], o["symbol"])
            out[k] = out.get(k, 0) + sum(r.qty for r in reps if r.kind == REPORT_FILL) * o["side"]
        return out

    def health(self) -> dict[str, Any]:
        return {"kind": "loopback", "mode": self.mode, "journal": str(self.path), "received": len(self._received),
                "duplicates": self.duplicates}

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
