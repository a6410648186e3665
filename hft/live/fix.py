"""`FixVenue` (adapter ``fix``): the live service's orders sent to a FIX 4.4 venue over a QuickFIX initiator.

The FIX engine is QuickFIX (the ``quickfix-ssl`` package: ``pip install 'hft[fix]'``): sessions, logon, heartbeats,
sequence numbers kept in its file store across restarts, resend requests, and the FIX44 data dictionary shipped
with it (every message checked against it). This module maps the gateway's commands and reports onto it:

- CMD_NEW → NewOrderSingle (D), ClOrdID the gateway's order id; CMD_CANCEL → OrderCancelRequest (F) and
  CMD_REPLACE → OrderCancelReplaceRequest (G), ClOrdID ``<order id>.<n>`` (the order's n-th request), OrigClOrdID
  the order's current ClOrdID (its last replace accepted, else its own); a replace's OrderQty is the total (filled
  + the gateway's new open size). A post-only order is a limit order with ExecInst 6 (participate, don't
  initiate). A stop is OrdType 3 and a stop-limit OrdType 4 (its Price), each with its trigger as StopPx (99): the
  venue holds it. A good-till-date order (TIF_GTD) is TimeInForce 6 with its expiry as ExpireTime (126, a
  UTCTimestamp in milliseconds, truncated: never after the order's time) and the venue expires it (Expired →
  EXPIRED); an iceberg's display is MaxFloor (111), the lots the venue shows at a time. Prices and quantities go
  on the wire as the gateway's ticks and lots. A trailing stop is its stop or stop-limit (StopPx: the trigger at
  entry) with ExecInst ``a`` (trailing stop peg) and its trail as PegOffsetValue (211), negative for a sell (its
  trigger trails below the market), positive for a buy: the venue moves the trigger. An OCO or bracket order (an
  ``oco`` / ``parent`` link: ``links_refused``) is not sent: it is answered REJECTED at once. FIX 4.4
  links orders only in a list (NewOrderList, ContingencyType in 5.0), which the counterparty does not hold, and
  sent alone it would work unlinked.
- ExecutionReport (8) ExecType New → ACK; Trade → FILL (OrdStatus Filled) or PARTIAL_FILL (LastPx, LastQty,
  LeavesQty; LastLiquidityInd 851, when the venue gives it: 1 added liquidity → maker, 2 removed → taker, else not
  said); FIX 4.4 carries no queue position: an ACK's queue is not said (-1); Restated (D) of a held stop →
  TRIGGERED (it entered the book: LastPx, the price that triggered it, when the venue gives it, and LeavesQty; FIX
  4.4 has no ExecType for a trigger, Triggered (L) came with FIX 5.0 SP1, so a 4.4 venue restates the order; a
  restatement of any other order is logged and ignored);
  Canceled → CANCELED; Replaced → REPLACED (the new Price and LeavesQty); Rejected → REJECTED, except
  OrdRejReason 6 (duplicate order): the venue refused a repeated ClOrdID, counted in ``duplicates`` and no report;
  Expired → EXPIRED; OrderStatus (I) answers a status request (below), no report. OrderCancelReject (9) →
  CANCEL_REJECTED or REPLACE_REJECTED (CxlRejResponseTo).

Its journal (JSON lines in the store directory) records each command before QuickFIX sends it and each report as
it arrives, before it is delivered; a report the venue sends again (a resend after a crash) is known by its ExecID
and dropped. A repeated order id: a new order whose id the venue already received is refused by the adapter
(``duplicates``), never sent twice.

Reconciliation after a crash of the service (`Reconciling`): on start the adapter logs on (its stored sequence
numbers make QuickFIX ask the venue again for every message sent while it was down, and resend the ones the venue
missed), then sends an OrderStatusRequest (H) for each command of its journal the venue has not answered and
waits for the answers. ``received()`` is then exact: a command the venue answered, or whose ClOrdID its status
answer knows; one it does not know (the crash came between the journal and the wire) is not received, and the
gateway sends it again. ``reports()`` are the journal's, ``positions()`` the net of its fills. The same status
requests go out on every later logon (the venue restarted: what it did meanwhile arrives by QuickFIX's resend).

Options (``venue.options``, `fix`): ``port`` (required), ``host`` (default 127.0.0.1), ``sender_comp_id``
(default HFT), ``target_comp_id`` (default EXCH), ``store`` (QuickFIX's file store, its log and the journal;
default ``<wal dir>-fix``), ``heartbeat`` (seconds, default 30), ``logon_timeout`` (seconds to wait for the logon
and the status answers at start, default 30), ``quickfix`` (QuickFIX settings over the adapter's, e.g. its SSL
keys). `hft.live.fix_exchange` is a small acceptor to run it against.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from hft.core.dtypes import BUY
from hft.core.errors import ConfigError, GatewayError
from hft.core.orders import (
    CMD_CANCEL,
    CMD_NEW,
    CMD_REPLACE,
    LIQ_MAKER,
    LIQ_NONE,
    LIQ_TAKER,
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
    STOP_TYPES,
    TIF_DAY,
    TIF_FOK,
    TIF_GTD,
    TIF_IOC,
)
from hft.gateway.intents import ExecutionReport, OrderCommand
from hft.live.venue import VenueContext

try:
    import quickfix
except ImportError:  # the optional extra ``fix``: its wheels exist for CPython 3.11 on Linux
    quickfix = None

__all__ = ["FIX_MISSING", "FixVenue", "data_dictionary", "field_str", "fix", "session_settings", "transact_time",
           "utc_timestamp", "utc_timestamp_ns"]

log = logging.getLogger("hft.live.fix")

FIX_MISSING = ("the fix venue adapter needs the package quickfix-ssl (QuickFIX; pip install 'hft[fix]', wheels "
               "for CPython 3.11 on Linux x86_64 / aarch64)")

_TIF = {TIF_DAY: "0", TIF_IOC: "3", TIF_FOK: "4", TIF_GTD: "6"}  # FIX TimeInForce; anything else GTC (1)
_EXEC_KIND = {"0": REPORT_ACK, "4": REPORT_CANCELED, "5": REPORT_REPLACED, "8": REPORT_REJECTED,
              "C": REPORT_EXPIRED}  # ExecType → report kind (Trade "F" by OrdStatus; Restated "D" of a held stop:
# TRIGGERED; OrderStatus "I": none)
_STOP_ORD_TYPE = {ORDER_STOP: "3", ORDER_STOP_LIMIT: "4"}  # OrdType of a stop / stop-limit (StopPx 99 its trigger)
_RESTATED = "D"  # ExecType Restated: a FIX 4.4 venue's report of a held stop's trigger
_DUPLICATE_ORDER = "6"  # OrdRejReason
_LIQUIDITY = {"1": LIQ_MAKER, "2": LIQ_TAKER}  # LastLiquidityInd (851): added / removed liquidity
_UNKNOWN_ORDER = "5"


def data_dictionary() -> Path:
    """The FIX44 data dictionary QuickFIX ships (``share/quickfix/FIX44.xml`` of the quickfix-ssl wheel)."""
    try:
        dist = metadata.distribution("quickfix-ssl")
    except metadata.PackageNotFoundError:
        raise ConfigError(FIX_MISSING, key="venue.adapter") from None
    for f in dist.files or ():
        if f.name == "FIX44.xml":
            return Path(str(dist.locate_file(f))).resolve()
    raise ConfigError("quickfix-ssl is installed without its FIX44.xml data dictionary", key="venue.adapter")


def session_settings(default: Mapping[str, Any], *sessions: Mapping[str, Any]) -> str:
    """QuickFIX settings text: FIX 4.4 sessions, always on (no daily reset), messages checked against
    `data_dictionary`; `default` adds to the [DEFAULT] section, each of `sessions` is a [SESSION]."""
    base = {"StartTime": "00:00:00", "EndTime": "00:00:00", "NonStopSession": "Y", "UseDataDictionary": "Y",
            "DataDictionary": data_dictionary(), "ValidateUserDefinedFields": "N", "ReconnectInterval": 1,
            "PersistMessages": "Y", "SocketNodelay": "Y", **default}
    lines = ["[DEFAULT]", *(f"{k}={v}" for k, v in base.items()), ""]
    for session in sessions:
        lines += ["[SESSION]", "BeginString=FIX.4.4", *(f"{k}={v}" for k, v in session.items()), ""]
    return "\n".join(lines)


def field_str(m: Any, f: Any, default: str | None = None) -> str:
    """The value of field `f` (a QuickFIX field object) in message or header `m`; `default` when absent (KeyError
    when None)."""
    tag = f.getField()
    if m.isSetField(tag):
        return m.getField(tag)
    if default is None:
        raise KeyError(f"FIX tag {tag} missing")
    return default


def transact_time() -> str:
    """Now as a FIX UTCTimestamp with milliseconds."""
    return utc_timestamp(time.time_ns())


def utc_timestamp(ns: int) -> str:
    """Int ns UTC as a FIX UTCTimestamp with milliseconds, truncated (a GTD order's ExpireTime is then never after
    its time)."""
    t = dt.datetime.fromtimestamp(ns // 1_000_000_000, dt.UTC)
    return f"{t:%Y%m%d-%H:%M:%S}.{ns // 1_000_000 % 1000:03d}"


def utc_timestamp_ns(s: str) -> int:
    """A FIX UTCTimestamp (seconds, milliseconds or microseconds) as int ns UTC; 0 when it is not one."""
    for fmt in ("%Y%m%d-%H:%M:%S.%f", "%Y%m%d-%H:%M:%S"):
        try:
            t = dt.datetime.strptime(s, fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        return int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000
    return 0


def _num(s: str) -> int:
    return round(float(s))


class FixVenue(quickfix.Application if quickfix is not None else object):  # type: ignore[misc]
    """See the module docstring. Build with `fix` (the factory) or directly; the constructor logs on and
    reconciles (it blocks up to `logon_timeout` seconds and raises `GatewayError` when the venue does not answer).
    `settings` are QuickFIX settings over the adapter's own (its [DEFAULT] section: SSL keys, say)."""

    def __init__(self, store: str | Path, port: int, host: str = "127.0.0.1", sender: str = "HFT",
                 target: str = "EXCH", heartbeat: int = 30, logon_timeout: float = 30.0,
                 settings: Mapping[str, Any] | None = None) -> None:
        if quickfix is None:
            raise ConfigError(FIX_MISSING, key="venue.adapter")
        super().__init__()
        self.store = Path(store)
        self.host, self.port, self.sender, self.target = host, int(port), sender, target
        self.lock = threading.RLock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.on_report: Callable[[ExecutionReport], None] | None = None
        self.orders: dict[int, dict[str, Any]] = {}  # order id -> account, strategy, symbol, side, clordid, n
        self.cmds: dict[str, tuple[int, int]] = {}  # ClOrdID -> (action, order id) of each command journaled
        self.answered: set[str] = set()  # ClOrdIDs the venue answered (a report naming it, or its status)
        self.unknown: set[str] = set()  # ClOrdIDs the venue's status answer does not know
        self.exec_ids: set[str] = set()
        self.log: dict[int, list[ExecutionReport]] = {}  # every report, per order, in order
        self.arrived: list[ExecutionReport] = []  # reports that arrived before `start`, in order
        self.handed = 0  # how many of `arrived` `reports()` has handed out (the rest are delivered at `start`)
        self.duplicates = self.sent = self.logons = self.status_sent = 0
        self.links_refused = 0
        self.logged_on = threading.Event()
        self._waiting: set[str] = set()  # ClOrdIDs whose status answer is awaited
        self._answers = threading.Condition(self.lock)
        self.session_id: Any = None
        self.store.mkdir(parents=True, exist_ok=True)
        self.journal = self.store / "journal.jsonl"
        self._load()
        self._fd = os.open(self.journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        cfg = self.store / "initiator.cfg"
        cfg.write_text(session_settings(
            {"ConnectionType": "initiator", "SocketConnectHost": host, "SocketConnectPort": self.port,
             "FileStorePath": self.store / "store", "FileLogPath": self.store / "log", "HeartBtInt": heartbeat,
             **(settings or {})},
            {"SenderCompID": sender, "TargetCompID": target}))
        qf = quickfix.SessionSettings(str(cfg))
        self.initiator: Any = quickfix.SocketInitiator(self, quickfix.FileStoreFactory(qf), qf,
                                                       quickfix.FileLogFactory(qf))
        self.initiator.start()
        if not self.logged_on.wait(logon_timeout):
            self.initiator.stop(True)
            self.initiator = None  # destroyed before this application (see `close`)
            os.close(self._fd)
            self._fd = -1
            raise GatewayError(f"fix venue: no logon from {target} at {host}:{port} in {logon_timeout:g} s "
                               f"(QuickFIX log: {self.store / 'log'})")
        self.sync(logon_timeout)

    # ---------------------------------------------------------------- the journal
    def _load(self) -> None:
        if not self.journal.exists():
            return
        with open(self.journal) as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # cut by a crash
                ev = json.loads(line)
                if ev["ev"] == "cmd":
                    self._take_cmd(ev)
                elif ev["ev"] == "report":
                    self._take_report(ev)
                elif ev["ev"] == "dup":
                    self.duplicates += 1
                    if ev["exec_id"]:  # refused by the venue: it holds that ClOrdID
                        self.exec_ids.add(ev["exec_id"])
                        self.answered.add(ev["clordid"])

    def _write(self, ev: dict[str, Any]) -> None:
        os.write(self._fd, json.dumps(ev, separators=(",", ":")).encode() + b"\n")

    def _take_cmd(self, ev: dict[str, Any]) -> None:
        oid = ev["order_id"]
        self.cmds[ev["clordid"]] = (ev["action"], oid)
        if ev["action"] == CMD_NEW:
            self.orders[oid] = {"account": ev["account"], "strategy": ev["strategy"], "symbol": ev["symbol"],
                                "side": ev["side"], "clordid": ev["clordid"], "n": 0, "cum": 0,
                                "held": bool(ev.get("stop"))}  # a stop the venue holds until its trigger
        elif oid in self.orders:
            self.orders[oid]["n"] += 1

    def _take_report(self, ev: dict[str, Any]) -> ExecutionReport:
        if ev["exec_id"]:
            self.exec_ids.add(ev["exec_id"])
        self.answered.add(ev["clordid"])
        rep = ExecutionReport(ts=ev["ts"], order_id=ev["order_id"], kind=ev["kind"], price=ev["price"], qty=ev["qty"],
                              leaves=ev["leaves"], liquidity=ev.get("liquidity", LIQ_NONE))  # (a journal line of an older hft: none)
        self.log.setdefault(rep.order_id, []).append(rep)
        o = self.orders.get(rep.order_id)
        if o is not None:
            if rep.kind == REPORT_REPLACED:
                o["clordid"] = ev["clordid"]  # the order's ClOrdID at the venue from now on
            if rep.kind in (REPORT_FILL, REPORT_PARTIAL_FILL):
                o["cum"] += rep.qty
            if rep.kind == REPORT_TRIGGERED:
                o["held"] = False
        return rep

    # ---------------------------------------------------------------- QuickFIX's callbacks (its threads)
    def onCreate(self, sessionID: Any) -> None:
        self.session_id = sessionID

    def onLogon(self, sessionID: Any) -> None:
        self.logons += 1
        if self.logged_on.is_set():  # a logon again (the venue restarted): ask after what is unanswered
            threading.Thread(target=self.sync, args=(30.0,), daemon=True, name="fix-status").start()
        self.logged_on.set()

    def onLogout(self, sessionID: Any) -> None:
        pass

    def toAdmin(self, message: Any, sessionID: Any) -> None:
        pass

    def fromAdmin(self, message: Any, sessionID: Any) -> None:
        if field_str(message.getHeader(), quickfix.MsgType()) == "0":  # a heartbeat: the answer to `sync`'s test?
            req = field_str(message, quickfix.TestReqID(), "")
            with self.lock:
                if req in self._waiting:
                    self._waiting.discard(req)
                    self._answers.notify_all()

    def toApp(self, message: Any, sessionID: Any) -> None:
        pass

    def fromApp(self, message: Any, sessionID: Any) -> None:
        kind = field_str(message.getHeader(), quickfix.MsgType())
        if kind == "8":
            self._execution_report(message)
        elif kind == "9":
            self._cancel_reject(message)

    def _oid(self, clordid: str) -> int | None:
        hit = self.cmds.get(clordid)
        if hit is not None:
            return hit[1]
        head = clordid.split(".", 1)[0]
        return int(head) if head.lstrip("-").isdigit() else None

    def _execution_report(self, m: Any) -> None:
        exec_type = field_str(m, quickfix.ExecType())
        clordid = field_str(m, quickfix.ClOrdID(), "")
        exec_id = field_str(m, quickfix.ExecID(), "")
        status = field_str(m, quickfix.OrdStatus(), "")
        with self.lock:
            if exec_type == "I":  # a status answer
                if status == "8" and field_str(m, quickfix.OrdRejReason(), "") == _UNKNOWN_ORDER:
                    self.unknown.add(clordid)
                else:
                    self.answered.add(clordid)
                self._waiting.discard(clordid)
                self._answers.notify_all()
                return
            if exec_id in self.exec_ids:
                return  # sent again (a resend): applied already
            oid = self._oid(clordid)
            if oid is None:
                log.warning("fix venue: an execution report for ClOrdID %r, not one of ours: ignored", clordid)
                return
            if exec_type == "8" and field_str(m, quickfix.OrdRejReason(), "") == _DUPLICATE_ORDER:
                self.exec_ids.add(exec_id)
                self.answered.add(clordid)
                self.duplicates += 1  # the venue refused a ClOrdID it had: the order is the one it holds
                self._write({"ev": "dup", "order_id": oid, "exec_id": exec_id, "clordid": clordid})
                return
            leaves = _num(field_str(m, quickfix.LeavesQty(), "0"))
            price = qty = liquidity = 0
            if exec_type == "F":
                kind = REPORT_FILL if status == "2" or leaves == 0 else REPORT_PARTIAL_FILL
                price, qty = _num(field_str(m, quickfix.LastPx())), _num(field_str(m, quickfix.LastQty()))
                liquidity = _LIQUIDITY.get(field_str(m, quickfix.LastLiquidityInd(), ""), LIQ_NONE)
            elif exec_type == _RESTATED and self.orders.get(oid, {}).get("held"):  # a held stop's trigger
                kind = REPORT_TRIGGERED
                price = _num(field_str(m, quickfix.LastPx(), "0"))
            elif exec_type in _EXEC_KIND:
                kind = _EXEC_KIND[exec_type]
                if kind == REPORT_REPLACED:
                    price = _num(field_str(m, quickfix.Price(), "0"))
            else:
                log.warning("fix venue: ExecType %r of order %d not mapped: ignored", exec_type, oid)
                return
            self._arrive({"ev": "report", "exec_id": exec_id, "clordid": clordid, "order_id": oid, "kind": kind,
                          "price": price, "qty": qty, "leaves": leaves,
                          "ts": utc_timestamp_ns(field_str(m, quickfix.TransactTime(), "")), "liquidity": liquidity})

    def _cancel_reject(self, m: Any) -> None:
        clordid = field_str(m, quickfix.ClOrdID(), "")
        with self.lock:
            key = "9:" + clordid  # one reject per request: its id
            oid = self._oid(clordid)
            if key in self.exec_ids or oid is None:
                return
            to = field_str(m, quickfix.CxlRejResponseTo(), "1")
            kind = REPORT_REPLACE_REJECTED if to == "2" else REPORT_CANCEL_REJECTED
            self._arrive({"ev": "report", "exec_id": key, "clordid": clordid, "order_id": oid, "kind": kind,
                          "price": 0, "qty": 0, "leaves": -1, "ts": 0})

    def _arrive(self, ev: dict[str, Any]) -> None:
        """A report journaled, then delivered (on the service's loop once started, else at `start`)."""
        self._write(ev)
        rep = self._take_report(ev)
        if self.loop is not None and self.on_report is not None:
            self.loop.call_soon_threadsafe(self.on_report, rep)
        else:
            self.arrived.append(rep)

    # ---------------------------------------------------------------- reconciliation
    def sync(self, timeout: float) -> int:
        """An OrderStatusRequest for each journaled command the venue has not answered, then a TestRequest, and
        wait (up to `timeout` s) for their answers; how many status requests. The answers come after every message
        the venue sent before them, the ones it sends again for the resend QuickFIX asked at logon included (a
        session's messages are delivered in sequence), so the journal is then complete."""
        barrier = f"sync-{time.time_ns()}"
        with self.lock:
            ask = [c for c in self.cmds if c not in self.answered and c not in self.unknown]
            self._waiting.update([*ask, barrier])
        for clordid in ask:
            oid = self.cmds[clordid][1]
            o = self.orders.get(oid, {})
            m = _message("H", {11: clordid, 54: "1" if o.get("side", BUY) == BUY else "2",
                               55: o.get("symbol", "?")})
            self._send(m)
            self.status_sent += 1
        self._send(_message("1", {112: barrier}))
        wanted = {*ask, barrier}
        with self._answers:
            if not self._answers.wait_for(lambda: not (self._waiting & wanted), timeout):
                log.warning("fix venue: %d status requests (and the test request) unanswered in %g s",
                            len(self._waiting & wanted), timeout)
        return len(ask)

    def received(self) -> set[tuple[int, int]]:
        """(action, order id) of every command the venue received: answered by a report or known to its status
        answer (module docstring)."""
        with self.lock:
            return {self.cmds[c] for c in self.cmds if c in self.answered}

    def reports(self) -> dict[int, list[ExecutionReport]]:
        """Every report the venue sent, per order id, in order (the journal)."""
        with self.lock:
            self.handed = len(self.arrived)
            return {oid: list(reps) for oid, reps in self.log.items()}

    def positions(self) -> dict[tuple[str, str, str], int]:
        """Net filled quantity per (account, strategy, symbol), from the journal."""
        out: dict[tuple[str, str, str], int] = {}
        with self.lock:
            for o in self.orders.values():
                if o["cum"]:
                    k = (o["account"], o["strategy"], o["symbol"])
                    out[k] = out.get(k, 0) + o["cum"] * (1 if o["side"] == BUY else -1)
        return out

    # ---------------------------------------------------------------- the venue adapter contract (hft.live.venue)
    def start(self, loop: asyncio.AbstractEventLoop, on_report: Callable[[ExecutionReport], None]) -> None:
        with self.lock:
            self.loop = loop
            self.on_report = on_report
            for rep in self.arrived[self.handed:]:  # arrived after the recovery read `reports()`
                loop.call_soon_threadsafe(on_report, rep)
            self.arrived.clear()

    def send(self, cmd: OrderCommand) -> None:
        action, oid = int(cmd.action), int(cmd.order_id)
        with self.lock:
            if action == CMD_NEW and (int(cmd.oco) != 0 or int(cmd.parent) != 0):
                self._refuse(oid)
                return
            if action == CMD_NEW:
                clordid = str(oid)
                if clordid in self.cmds and clordid not in self.unknown:  # sent already: never twice (a re-send
                    # after a crash is of an id the venue's status answer did not know)
                    self.duplicates += 1
                    self._write({"ev": "dup", "order_id": oid, "exec_id": "", "clordid": clordid})
                    return
                self.unknown.discard(clordid)
                fields = {11: clordid, 1: cmd.account, 55: cmd.symbol, 54: "1" if cmd.side == BUY else "2",
                          38: int(cmd.qty), 59: _TIF.get(int(cmd.tif), "1")}
                otype = int(cmd.order_type)
                if otype == ORDER_MARKET:
                    fields[40] = "1"
                elif otype in STOP_TYPES:  # held by the venue until its trigger (StopPx): a market / limit order then
                    fields[40], fields[99] = _STOP_ORD_TYPE[otype], int(cmd.trigger)
                    if otype == ORDER_STOP_LIMIT:
                        fields[44] = int(cmd.price)
                    if int(cmd.trail):  # a trailing stop peg: the venue trails the trigger by PegOffsetValue
                        fields[18], fields[211] = "a", int(cmd.trail) * (1 if cmd.side == BUY else -1)
                else:
                    fields[40], fields[44] = "2", int(cmd.price)
                    if int(cmd.order_type) == ORDER_POST_ONLY:
                        fields[18] = "6"  # ExecInst: participate, don't initiate
                if int(cmd.tif) == TIF_GTD:  # the venue expires it at its time
                    fields[126] = utc_timestamp(int(cmd.expire))
                if int(cmd.display):  # an iceberg: the venue shows MaxFloor lots at a time
                    fields[111] = int(cmd.display)
                msg = "D"
                ev = {"account": cmd.account, "strategy": cmd.strategy, "symbol": cmd.symbol, "side": int(cmd.side)}
                if otype in STOP_TYPES:
                    ev["stop"] = 1
            elif action in (CMD_CANCEL, CMD_REPLACE) and oid in self.orders:
                o = self.orders[oid]
                clordid = f"{oid}.{o['n'] + 1}"
                fields = {11: clordid, 41: o["clordid"], 55: o["symbol"], 54: "1" if o["side"] == BUY else "2"}
                msg = "F"
                if action == CMD_REPLACE:
                    msg = "G"
                    fields.update({38: o["cum"] + int(cmd.qty), 40: "2", 44: int(cmd.price)})
                ev = {}
            else:  # a cancel / replace of an order this venue never had
                kind = REPORT_CANCEL_REJECTED if action == CMD_CANCEL else REPORT_REPLACE_REJECTED
                self.sent += 1
                if self.loop is not None and self.on_report is not None:
                    self.on_report(ExecutionReport(ts=0, order_id=oid, kind=kind, price=0, qty=0, leaves=-1))
                return
            self._write({"ev": "cmd", "action": action, "order_id": oid, "clordid": clordid, **ev})
            self._take_cmd({"action": action, "order_id": oid, "clordid": clordid, **ev})
            self.sent += 1
        self._send(_message(msg, fields))

    def _refuse(self, oid: int) -> None:
        """A linked order (OCO, bracket) is not sent: answered REJECTED at once (nothing on the wire, nothing
        journaled), counted in ``links_refused``. FIX 4.4 links orders only in a list, which the counterparty this
        adapter is tested against does not take, and sent alone it would work unlinked (module docstring)."""
        self.links_refused += 1
        log.warning("fix venue: order %d is an OCO / bracket order: refused (the FIX adapter sends none; emulate it "
                    "in the strategy, hft.sim.ConditionalStrategy)", oid)
        if self.loop is not None and self.on_report is not None:
            self.on_report(ExecutionReport(ts=0, order_id=oid, kind=REPORT_REJECTED, price=0, qty=0, leaves=0))

    def _send(self, m: Any) -> None:
        """Hand a message to QuickFIX: sent now, or kept in its store and sent when the venue asks again after
        a reconnect."""
        quickfix.Session.sendToTarget(m, self.session_id)

    def health(self) -> dict[str, Any]:
        session = quickfix.Session.lookupSession(self.session_id) if self.session_id is not None else None
        with self.lock:
            reports = sum(map(len, self.log.values()))
        return {"kind": "fix", "venue": f"{self.target}@{self.host}:{self.port}", "sender_comp_id": self.sender,
                "logged_on": bool(session is not None and session.isLoggedOn()), "logons": self.logons,
                "sent": self.sent, "reports": reports, "status_requests": self.status_sent,
                "status_unknown": len(self.unknown), "duplicates": self.duplicates,
                "links_refused": self.links_refused, "store": str(self.store)}

    def close(self) -> None:
        if self.initiator is not None:
            self.initiator.stop()
            self.initiator = None  # destroyed before this application (the other order crashes QuickFIX)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _message(kind: str, fields: Mapping[int, Any]) -> Any:
    m = quickfix.Message()
    m.getHeader().setField(quickfix.BeginString("FIX.4.4"))
    m.getHeader().setField(quickfix.MsgType(kind))
    for tag, v in fields.items():
        m.setField(tag, str(v))
    if kind in ("D", "F", "G"):
        m.setField(60, transact_time())
    return m


def _int_option(ctx: VenueContext, key: str, default: int | None, lo: int, hi: int) -> int:
    v = ctx.options.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ConfigError(f"key 'venue.options.{key}': expected an integer in [{lo}, {hi}], was {v!r}",
                          key=f"venue.options.{key}")
    return v


def _str_option(ctx: VenueContext, key: str, default: str) -> str:
    v = ctx.options.get(key, default)
    if not isinstance(v, str) or not v:
        raise ConfigError(f"key 'venue.options.{key}': expected a non-empty string, was {v!r}",
                          key=f"venue.options.{key}")
    return v


def fix(ctx: VenueContext) -> FixVenue:
    """The ``fix`` adapter (`hft.live.venue`): options ``port`` (required), ``host``, ``sender_comp_id``,
    ``target_comp_id``, ``store``, ``heartbeat``, ``logon_timeout``, ``quickfix`` (module docstring)."""
    ctx.only("fix", "host", "port", "sender_comp_id", "target_comp_id", "store", "heartbeat", "logon_timeout",
             "quickfix")
    if quickfix is None:
        raise ConfigError(FIX_MISSING, key="venue.adapter")
    if "port" not in ctx.options:
        raise ConfigError("key 'venue.options.port': expected the FIX venue's port, was missing",
                          key="venue.options.port")
    timeout = ctx.options.get("logon_timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"key 'venue.options.logon_timeout': expected seconds > 0, was {timeout!r}",
                          key="venue.options.logon_timeout")
    extra = ctx.options.get("quickfix", {})
    if not isinstance(extra, Mapping) or not all(isinstance(k, str) and isinstance(v, str | int | float)
                                                 and not isinstance(v, bool) for k, v in extra.items()):
        raise ConfigError(f"key 'venue.options.quickfix': expected a mapping of QuickFIX setting names to values "
                          f"(strings or numbers), was {extra!r}", key="venue.options.quickfix")
    store = ctx.options.get("store") or ctx.path("fix")
    return FixVenue(Path(store), _int_option(ctx, "port", None, 1, 65535), _str_option(ctx, "host", "127.0.0.1"),
                    _str_option(ctx, "sender_comp_id", "HFT"), _str_option(ctx, "target_comp_id", "EXCH"),
                    _int_option(ctx, "heartbeat", 30, 1, 3600), float(timeout), dict(extra))
