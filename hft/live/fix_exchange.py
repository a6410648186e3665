"""A small FIX 4.4 exchange: a QuickFIX acceptor the ``fix`` venue adapter (`hft.live.fix`) connects to, run as its
own process on a loopback port. It stands in for a real venue in the tests and the docs' how-to; the FIX engine
(sessions, sequence numbers, resends, the FIX44 data dictionary) is QuickFIX's, only the matching rule is ours.

Its rule: each symbol has a reference price (``--ref SYMBOL=PRICE``, prices and quantities as the adapter puts
them on the wire: the gateway's ticks and lots). A market order, a limit buy at or above the reference or a limit
sell at or below it fills at once at the reference price (in fills of at most ``--max-fill`` lots, so a larger
order sees partial fills), except a post-only one (ExecInst 6), which is rejected; any other order rests (GTC / DAY) or expires (IOC / FOK) until a cancel (F) or a
replace (G) that makes it marketable. A GTD order (TimeInForce 6) rests until its ExpireTime (126), then is
Expired (C): checked on arrival (after its fills), every 0.2 s while the exchange runs, and when it starts (before
it matches again: an order whose time passed while the exchange was down expires, never fills). An iceberg
(MaxFloor 111, 0 < MaxFloor <= OrderQty) shows MaxFloor lots at a time: when it has rested, each of its fills takes
at most MaxFloor lots (a refill is a fill of its own); taking as it arrives, it fills as any order. The reference price is the symbol's last trade: a stop (OrdType 3) or
stop-limit (4) with its StopPx (99) is held until the reference is at or through it (a buy: at or above, a sell:
at or below), on arrival or when the exchange starts with other prices; it is then triggered and becomes the
market (3) or limit (4, its Price) order it stood for, matched as any. FIX 4.4 has no ExecType for a trigger
(Triggered, L, came with FIX 5.0 SP1): it is reported Restated (ExecType D) with ExecRestatementReason 8 (market
option), LastPx the reference that triggered it. A trailing stop (ExecInst ``a``, trailing stop peg, with
PegOffsetValue 211: the trail, negative for a sell, whose trigger trails below the market) is held as a stop; each
reference price it does not reach (on arrival, when the exchange starts with other prices) moves its StopPx toward
it, a sell's to ``max(StopPx, reference + offset)``, a buy's to ``min(StopPx, reference + offset)`` (at least 1), a
stop-limit's Price by as much, without a report (docs/sim.md, "Trailing stops": the simulator's rule, the
reference standing for the prints). A held
stop is cancelled as any order; a replace of one is refused (OrderCancelReject). A market order on a symbol without a reference price is rejected. Started
again with other reference prices, it fills the resting orders that have become marketable at once: the venue
acting while a client is away (their reports wait in QuickFIX's store until the client logs on and asks for them).

Messages answered (every answer an ExecutionReport (8) unless said):

- NewOrderSingle (D): New (ExecType 0), then (a stop whose trigger the reference has reached) Restated (D, the trigger), then Trade (F) fills (LastLiquidityInd 851: 2, removed liquidity; a resting
  order filled when the exchange starts again with other prices: 1, added), or Expired (C); Rejected (8) with OrdRejReason 6
  for a ClOrdID the session used before. The same D again with PossDupFlag (a resend after a crash) gets the
  reports it caused again, with their ExecIDs, and is not executed twice.
- OrderCancelRequest (F): Canceled (4), or an OrderCancelReject (9) when the order is unknown or not open.
- OrderCancelReplaceRequest (G): Replaced (5) with the new price, OrderQty (the new total) and LeavesQty, then
  fills if it is marketable now; or an OrderCancelReject (9).
- OrderStatusRequest (H): an OrderStatus report (ExecType I) of the order any of whose ClOrdIDs it names, with
  its OrdStatus, CumQty and LeavesQty; for an unknown ClOrdID OrdStatus Rejected (8) with OrdRejReason 5.

ClOrdIDs are unique per session. It accepts a session from each ``--client`` SenderCompID (default HFT).
Its orders are kept in a JSON-lines state file (each change of an order appended before its reports are sent)
beside QuickFIX's file store of sequence numbers and messages, so it survives its own restart, a SIGKILL
included; with ``--fsync`` both are synced to the disk at each message (a machine crash too, at a disk sync a
message).

Run it: ``python -m hft.live.fix_exchange --port 9876 --dir /tmp/exch --ref AAPL=10000``; it prints ``listening
on 127.0.0.1:PORT`` once the port is open and stops on SIGTERM / SIGINT. `ExchangeProcess` runs it as a child
process (tests, the docs' how-to).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hft.live.fix import (
    FIX_MISSING,
    field_str,
    quickfix,
    session_settings,
    transact_time,
    utc_timestamp_ns,
)
from hft.live.service_process import free_port

__all__ = ["Exchange", "ExchangeProcess", "main"]

_OPEN = ("0", "1")  # OrdStatus New, PartiallyFilled: the order is working
_STOPS = ("3", "4")  # OrdType Stop, StopLimit: held until the reference price reaches StopPx (module docstring)
_GTD = "6"  # TimeInForce Good Till Date: expires at its ExpireTime (126)
_TRIGGERED_REASON = 8  # a trigger's ExecRestatementReason (Market (exchange) option): `hft.live.fix` reads it


class Exchange(quickfix.Application if quickfix is not None else object):  # type: ignore[misc]
    """The acceptor's application (module docstring). `state` is its JSON-lines state file; `refs` the reference
    price of each symbol; `max_fill` the most lots one fill takes; `fsync`: each change synced to the disk."""

    def __init__(self, state: Path, refs: Mapping[str, float], max_fill: int = 1_000_000,
                 fsync: bool = False) -> None:
        super().__init__()
        self.fsync = fsync
        self.state = Path(state)
        self.refs = dict(refs)
        self.max_fill = max(1, int(max_fill))
        self.lock = threading.Lock()
        self.orders: dict[str, dict[str, Any]] = {}  # "<sender> <first ClOrdID>" -> the order
        self.index: dict[tuple[str, str], str] = {}  # (sender, any ClOrdID of the order) -> its key
        self.seq = 0  # OrderID / ExecID counter
        self._load()
        self._fh = open(self.state, "a")  # noqa: SIM115 - held for the process's life

    def _load(self) -> None:
        if not self.state.exists():
            return
        for line in self.state.read_text().splitlines(keepends=True):
            if not line.endswith("\n"):
                break  # cut by a crash: that change was never answered
            o = json.loads(line)
            self.orders[o["key"]] = o
            for c in o["clordids"]:
                self.index[(o["sender"], c)] = o["key"]
            self.seq = max(self.seq, o["seq"])

    def _save(self, o: dict[str, Any]) -> None:
        self.seq = max(self.seq, o["seq"])
        o["seq"] = self.seq
        self._fh.write(json.dumps(o) + "\n")
        self._fh.flush()  # in the kernel: a kill of the process loses nothing
        if self.fsync:
            os.fsync(self._fh.fileno())

    def _next(self) -> str:
        self.seq += 1
        return str(self.seq)

    # ---------------------------------------------------------------- QuickFIX's callbacks
    def onCreate(self, sessionID: Any) -> None:
        pass

    def onLogon(self, sessionID: Any) -> None:
        pass

    def onLogout(self, sessionID: Any) -> None:
        pass

    def toAdmin(self, message: Any, sessionID: Any) -> None:
        pass

    def fromAdmin(self, message: Any, sessionID: Any) -> None:
        pass

    def toApp(self, message: Any, sessionID: Any) -> None:
        pass

    def fromApp(self, message: Any, sessionID: Any) -> None:
        kind = field_str(message.getHeader(), quickfix.MsgType())
        sender = sessionID.getTargetCompID().getValue()
        with self.lock:
            out = {"D": self._new, "F": self._cancel, "G": self._replace, "H": self._status}.get(kind)
            msgs = out(message, sender) if out is not None else []
        for m in msgs:
            quickfix.Session.sendToTarget(_message(m), sessionID)

    # ---------------------------------------------------------------- the orders
    def _er(self, o: dict[str, Any], exec_type: str, clordid: str, **extra: Any) -> dict[str, Any]:
        r = {"35": "8", "37": o["order_id"], "11": clordid, "17": self._next(), "150": exec_type,
             "39": o["status"], "55": o["symbol"], "54": o["side"], "38": o["qty"], "40": o["ord_type"],
             "151": o["qty"] - o["cum"] if o["status"] in _OPEN else 0, "14": o["cum"],
             "6": o["px_sum"] / o["cum"] if o["cum"] else 0}
        if o["price"] is not None:
            r["44"] = o["price"]
        if "stop_px" in o:
            r["99"] = o["stop_px"]
        if "expire_time" in o:
            r["126"] = o["expire_time"]
        if "max_floor" in o:
            r["111"] = o["max_floor"]
        if o.get("account"):
            r["1"] = o["account"]
        r.update(extra)
        return r

    def _new(self, m: Any, sender: str) -> list[dict[str, Any]]:
        clordid = field_str(m, quickfix.ClOrdID())
        key = self.index.get((sender, clordid))
        if key is not None:
            if field_str(m.getHeader(), quickfix.PossDupFlag(), "N") == "Y":
                return list(self.orders[key]["sent"])  # a resend: what it caused, again (its ExecIDs too)
            return [{"35": "8", "37": "NONE", "11": clordid, "17": self._next(), "150": "8", "39": "8",
                     "103": 6, "55": field_str(m, quickfix.Symbol()), "54": field_str(m, quickfix.Side()),
                     "151": 0, "14": 0, "6": 0, "58": "duplicate ClOrdID"}]
        ord_type = field_str(m, quickfix.OrdType())
        o = {"key": f"{sender} {clordid}", "sender": sender, "clordids": [clordid], "current": clordid,
             "order_id": "",
             "symbol": field_str(m, quickfix.Symbol()), "side": field_str(m, quickfix.Side()),
             "qty": int(float(field_str(m, quickfix.OrderQty()))), "ord_type": ord_type,
             "price": float(field_str(m, quickfix.Price())) if ord_type in ("2", "4") else None,  # (stop: market)
             "tif": field_str(m, quickfix.TimeInForce(), "0"), "account": field_str(m, quickfix.Account(), ""),
             "post_only": "6" in field_str(m, quickfix.ExecInst(), "").split(),
             "cum": 0, "px_sum": 0.0, "status": "0", "sent": [], "seq": 0}
        if ord_type in _STOPS:  # held until the reference reaches its StopPx; a stop is a market order then
            o["stop_px"], o["held"] = float(field_str(m, quickfix.StopPx())), True
        trailing = "a" in field_str(m, quickfix.ExecInst(), "").split()  # a trailing stop peg, by PegOffsetValue
        if trailing or m.isSetField(211):
            o["trail"] = float(m.getField(211)) if m.isSetField(211) else 0.0
        if o["tif"] == _GTD:
            o["expire_time"] = field_str(m, quickfix.ExpireTime(), "")
            o["expire_ns"] = utc_timestamp_ns(o["expire_time"])
        if m.isSetField(111):
            o["max_floor"] = int(float(m.getField(111)))
        o["order_id"] = "X" + self._next()
        if o["tif"] == _GTD and not o["expire_ns"]:
            o["status"] = "8"
            out = [self._er(o, "8", clordid, **{"103": 99, "58": "TimeInForce 6 (GTD) without an ExpireTime (126)"})]
        elif "trail" in o and (not trailing or ord_type not in _STOPS or o["trail"] == 0
                               or (o["trail"] > 0) != (o["side"] == "1")):
            o["status"] = "8"
            out = [self._er(o, "8", clordid, **{"103": 99, "58": "a trailing stop peg: expected a stop (OrdType 3 / 4) "
                                                                 "with ExecInst a and PegOffsetValue (211) not 0, "
                                                                 "negative for a sell"})]
        elif not 0 < o.get("max_floor", 1) <= o["qty"]:
            o["status"] = "8"
            out = [self._er(o, "8", clordid, **{"103": 99, "58": "MaxFloor (111): expected 0 < MaxFloor <= OrderQty"})]
        elif ord_type == "1" and o["symbol"] not in self.refs:
            o["status"] = "8"
            out = [self._er(o, "8", clordid, **{"103": 99, "58": f"no reference price for {o['symbol']}"})]
        elif o.get("post_only") and self._marketable(o):
            o["status"] = "8"
            out = [self._er(o, "8", clordid, **{"103": 99, "58": "post-only (ExecInst 6) order would take"})]
        else:
            out = [self._er(o, "0", clordid), *self._trigger(o, clordid), *self._match(o, clordid),
                   *self._expire(o, clordid, time.time_ns())]
            self._follow(o)
        return self._commit(o, out)

    def _expire(self, o: dict[str, Any], clordid: str, now_ns: int) -> list[dict[str, Any]]:
        """A GTD order still open at or after its ExpireTime: Expired (C), leaves 0; else nothing."""
        if o["status"] not in _OPEN or not o.get("expire_ns") or now_ns < o["expire_ns"]:
            return []
        o["status"] = "C"
        return [self._er(o, "C", clordid)]

    def expire_due(self, now_ns: int) -> list[tuple[str, dict[str, Any]]]:
        """The GTD orders whose ExpireTime is at or before `now_ns` (int ns UTC), expired and saved: (its
        session's SenderCompID, its Expired report) each."""
        out = []
        with self.lock:
            for o in list(self.orders.values()):
                rep = self._expire(o, o["current"], now_ns)
                if rep:
                    out += [(o["sender"], r) for r in self._commit(o, rep)]
        return out

    def _trigger(self, o: dict[str, Any], clordid: str) -> list[dict[str, Any]]:
        """A held stop whose StopPx the reference price has reached (module docstring): its trigger report
        (Restated, ExecRestatementReason 8, LastPx the reference), no longer held; else nothing."""
        ref = self.refs.get(o["symbol"])
        if not o.get("held") or ref is None:
            return []
        if not (ref >= o["stop_px"] if o["side"] == "1" else ref <= o["stop_px"]):
            return []
        o["held"] = False
        return [self._er(o, "D", clordid, **{"378": _TRIGGERED_REASON, "31": ref, "58": "triggered: StopPx reached"})]

    def _follow(self, o: dict[str, Any]) -> bool:
        """A held trailing stop the reference did not reach follows it (module docstring); whether it moved."""
        ref = self.refs.get(o["symbol"])
        if not o.get("held") or not o.get("trail") or ref is None:
            return False
        to = ref + o["trail"]
        moved = max(o["stop_px"], to) if o["side"] == "2" else max(1.0, min(o["stop_px"], to))
        if moved == o["stop_px"]:
            return False
        if o["price"] is not None:  # a stop-limit's limit keeps its distance to the trigger
            o["price"] += moved - o["stop_px"]
        o["stop_px"] = moved
        return True

    def _match(self, o: dict[str, Any], clordid: str, liquidity: int = 2) -> list[dict[str, Any]]:
        """Fills while the order is marketable (module docstring), each with its LastLiquidityInd (851: 2 removed
        liquidity, an order marketable as it came; 1 added, one that rested first); an IOC / FOK remainder
        expires."""
        if o.get("held"):  # a held stop: neither matched nor expired until it triggers
            return []
        ref = self.refs.get(o["symbol"])
        out: list[dict[str, Any]] = []
        marketable = self._marketable(o)
        most = min(self.max_fill, o.get("max_floor", self.max_fill)) if liquidity == 1 else self.max_fill
        while marketable and o["cum"] < o["qty"]:  # a resting iceberg shows (and gives) MaxFloor lots at a time
            q = min(most, o["qty"] - o["cum"])
            o["cum"] += q
            o["px_sum"] += q * ref
            o["status"] = "2" if o["cum"] == o["qty"] else "1"
            out.append(self._er(o, "F", clordid, **{"32": q, "31": ref, "851": liquidity}))
        if o["status"] in _OPEN and o["tif"] in ("3", "4"):  # IOC, FOK
            o["status"] = "C"
            out.append(self._er(o, "C", clordid))
        return out

    def _marketable(self, o: dict[str, Any]) -> bool:
        ref = self.refs.get(o["symbol"])
        return ref is not None and (o["price"] is None or (o["side"] == "1" and o["price"] >= ref)
                                    or (o["side"] == "2" and o["price"] <= ref))

    def _commit(self, o: dict[str, Any], out: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The order and the reports it caused saved before they are sent."""
        o["sent"] = [*o["sent"], *out]
        self.orders[o["key"]] = o
        for c in o["clordids"]:
            self.index[(o["sender"], c)] = o["key"]
        self._save(o)
        return out

    def _reject(self, m: Any, sender: str, response_to: str, why: str, o: dict[str, Any] | None) -> list[dict]:
        out = [{"35": "9", "37": o["order_id"] if o else "NONE", "11": field_str(m, quickfix.ClOrdID()),
                "41": field_str(m, quickfix.OrigClOrdID()), "39": o["status"] if o else "8", "434": response_to,
                "102": 0 if o else 1, "58": why}]
        if o is not None:  # the reject is one of the order's answers: a resend of the request gets it again
            return self._commit(o, out)
        return out

    def _target(self, m: Any, sender: str, response_to: str) -> tuple[dict[str, Any] | None, list[dict]]:
        clordid = field_str(m, quickfix.ClOrdID())
        key = self.index.get((sender, field_str(m, quickfix.OrigClOrdID())))
        o = self.orders.get(key) if key is not None else None
        if (sender, clordid) in self.index:
            mine = self.orders[self.index[(sender, clordid)]]
            if field_str(m.getHeader(), quickfix.PossDupFlag(), "N") == "Y":
                return None, [r for r in mine["sent"] if r.get("11") == clordid]
            return None, self._reject(m, sender, response_to, "duplicate ClOrdID", None)
        if o is None:
            return None, self._reject(m, sender, response_to, "unknown order", None)
        if o["status"] not in _OPEN:
            o["clordids"] = [*o["clordids"], clordid]
            return None, self._reject(m, sender, response_to, "too late: the order is not open", o)
        o["clordids"] = [*o["clordids"], clordid]
        return o, []

    def _cancel(self, m: Any, sender: str) -> list[dict[str, Any]]:
        o, out = self._target(m, sender, "1")
        if o is None:
            return out
        o["status"] = "4"
        clordid = field_str(m, quickfix.ClOrdID())
        return self._commit(o, [self._er(o, "4", clordid, **{"41": field_str(m, quickfix.OrigClOrdID())})])

    def _replace(self, m: Any, sender: str) -> list[dict[str, Any]]:
        o, out = self._target(m, sender, "2")
        if o is None:
            return out
        if o.get("held"):
            return self._reject(m, sender, "2", "a held stop is not replaced: cancel it and send another", o)
        qty = int(float(field_str(m, quickfix.OrderQty())))
        if qty <= o["cum"]:
            return self._reject(m, sender, "2", f"OrderQty {qty} not above CumQty {o['cum']}", o)
        clordid = field_str(m, quickfix.ClOrdID())
        o["qty"] = qty
        o["current"] = clordid  # the order's ClOrdID from now on
        if o["price"] is not None:  # a limit order (a stop-limit's after its trigger); a market order keeps none
            o["price"] = float(field_str(m, quickfix.Price()))
        out = [self._er(o, "5", clordid, **{"41": field_str(m, quickfix.OrigClOrdID())}), *self._match(o, clordid)]
        return self._commit(o, out)

    def rematch(self) -> list[tuple[str, dict[str, Any]]]:
        """Each open order matched against the reference prices now (started again with others, a resting order
        may have become marketable, a held stop triggered): (its session's SenderCompID, a report) of each trigger
        and fill, saved."""
        out = []
        with self.lock:
            for o in list(self.orders.values()):
                if o["status"] in _OPEN:
                    triggered = self._trigger(o, o["current"])  # a held stop the new reference reached: it takes
                    fills = triggered + self._match(o, o["current"], 2 if triggered else 1)  # (else it rested)
                    if self._follow(o) or fills:  # (a trailing stop moved: saved, no report)
                        out += [(o["sender"], r) for r in self._commit(o, fills)]
        return out

    def _status(self, m: Any, sender: str) -> list[dict[str, Any]]:
        clordid = field_str(m, quickfix.ClOrdID())
        key = self.index.get((sender, clordid))
        if key is None:
            return [{"35": "8", "37": "NONE", "11": clordid, "17": self._next(), "150": "I", "39": "8", "103": 5,
                     "55": field_str(m, quickfix.Symbol()), "54": field_str(m, quickfix.Side()), "151": 0,
                     "14": 0, "6": 0, "58": "unknown order"}]
        o = self.orders[key]
        return [self._er(o, "I", clordid)]


def _message(fields: Mapping[str, Any]) -> Any:
    """A QuickFIX message of tag -> value (35 the MsgType), TransactTime set."""
    m = quickfix.Message()
    m.getHeader().setField(quickfix.BeginString("FIX.4.4"))
    m.getHeader().setField(quickfix.MsgType(str(fields["35"])))
    for tag, v in fields.items():
        if tag == "35":
            continue
        m.setField(int(tag), _wire(v))
    m.setField(60, transact_time())
    return m


def _wire(v: Any) -> str:
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v)


def settings_text(port: int, directory: Path, clients: Sequence[str], sender: str = "EXCH",
                  heartbeat_s: int = 30, fsync: bool = False, extra: Mapping[str, str] | None = None) -> str:
    """The acceptor's QuickFIX settings: a session for each of `clients` (the initiators' SenderCompIDs); `fsync`:
    QuickFIX's store synced to the disk at each message; `extra` over the rest."""
    return session_settings(
        {"ConnectionType": "acceptor", "SocketAcceptPort": port, "SocketReuseAddress": "Y",
         "FileStorePath": directory / "store", "FileLogPath": directory / "log", "HeartBtInt": heartbeat_s,
         "FileStoreSync": "Y" if fsync else "N", **(extra or {})},
        *({"SenderCompID": sender, "TargetCompID": c} for c in clients))


def main(argv: list[str] | None = None) -> int:
    """``python -m hft.live.fix_exchange`` (module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m hft.live.fix_exchange", description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True, help="the loopback port it accepts on")
    ap.add_argument("--dir", type=Path, required=True, help="its state: QuickFIX store and log, orders.jsonl")
    ap.add_argument("--ref", action="append", default=[], metavar="SYMBOL=PRICE", help="a reference price")
    ap.add_argument("--max-fill", type=int, default=1_000_000, help="the most lots one fill takes")
    ap.add_argument("--fsync", action="store_true",
                    help="sync its state and QuickFIX's store to the disk at each message (survives a machine crash)")
    ap.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                    help="a QuickFIX setting over its own (repeatable)")
    ap.add_argument("--sender", default="EXCH", help="its SenderCompID (the adapter's TargetCompID)")
    ap.add_argument("--client", action="append", default=[], metavar="COMPID",
                    help="a SenderCompID it accepts a session from (repeatable; default HFT)")
    a = ap.parse_args(argv)
    if quickfix is None:
        print(FIX_MISSING, file=sys.stderr)
        return 2
    refs = {}
    for r in a.ref:
        sym, _, px = r.partition("=")
        refs[sym] = float(px)
    a.dir.mkdir(parents=True, exist_ok=True)
    cfg = a.dir / "acceptor.cfg"
    extra = dict(x.partition("=")[::2] for x in a.setting)
    cfg.write_text(settings_text(a.port, a.dir, a.client or ["HFT"], a.sender, fsync=a.fsync, extra=extra))
    app = Exchange(a.dir / "orders.jsonl", refs, a.max_fill, a.fsync)
    settings = quickfix.SessionSettings(str(cfg))
    acceptor = quickfix.SocketAcceptor(app, quickfix.FileStoreFactory(settings), settings,
                                       quickfix.FileLogFactory(settings))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    acceptor.start()

    def send(reports: list[tuple[str, dict[str, Any]]]) -> None:  # now, or kept in QuickFIX's store until the
        for client, r in reports:  # client logs on and asks
            quickfix.Session.sendToTarget(_message(r), quickfix.SessionID("FIX.4.4", a.sender, client))

    send(app.expire_due(time.time_ns()))  # the GTD orders whose time passed while it was down: expired first
    send(app.rematch())
    print(f"listening on 127.0.0.1:{a.port}", flush=True)
    while not stop.wait(0.2):  # polled: a signal may land on one of QuickFIX's threads, not waking this one
        send(app.expire_due(time.time_ns()))
    acceptor.stop()
    del acceptor  # destroyed before its application (the other order crashes QuickFIX)
    return 0


class ExchangeProcess:
    """The exchange as a child process (``python -m hft.live.fix_exchange``) on a free loopback port, its state
    under `directory`: `start` (waits for its ready line), `kill9`, `stop`; started again on the same directory
    it keeps its orders and sequence numbers. `refs`, `max_fill`, `clients` and `settings` are its ``--ref``,
    ``--max-fill``, ``--client`` and ``--setting`` flags."""

    def __init__(self, directory: str | Path, refs: Mapping[str, float], max_fill: int | None = None,
                 port: int | None = None, clients: Sequence[str] = ("HFT",),
                 settings: Mapping[str, str] | None = None) -> None:
        self.dir = Path(directory)
        self.clients = tuple(clients)
        self.settings = dict(settings or {})
        self.refs = dict(refs)
        self.max_fill = max_fill
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> ExchangeProcess:
        self.dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "hft.live.fix_exchange", "--port", str(self.port), "--dir", str(self.dir)]
        cmd += [x for s, p in self.refs.items() for x in ("--ref", f"{s}={p}")]
        cmd += [x for c in self.clients for x in ("--client", c)]
        cmd += [x for k, v in self.settings.items() for x in ("--setting", f"{k}={v}")]
        if self.max_fill is not None:
            cmd += ["--max-fill", str(self.max_fill)]
        with open(self.dir / "exchange.err", "ab") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        end = time.monotonic() + timeout
        line = b""
        while time.monotonic() < end:
            line = self.proc.stdout.readline()  # type: ignore[union-attr]
            if b"listening on" in line or not line:
                break
        if b"listening on" not in line:
            self.kill9()
            raise RuntimeError(f"the FIX exchange did not start: {(self.dir / 'exchange.err').read_text()[-2000:]}")
        return self

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, wait_s: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(wait_s)
            except subprocess.TimeoutExpired:
                self.kill9()

    def __enter__(self) -> ExchangeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
