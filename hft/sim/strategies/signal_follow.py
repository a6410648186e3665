"""`signal_follow`: trade canonical signals (`hft.core.signal.SignalRecord`) — the same rule live and in replay.

`order_for` is the one rule: a signal with a ``target`` trades toward it (at most ``max_qty`` lots per signal);
a signal with a ``side`` trades ``round(max_qty * strength)`` lots (at least 1; strength 0 trades nothing). The
order is an IOC limit: at the signal's reference price when it has one, else at the opposite best quote
(marketable) in replay, or as an IOC market order live.

Live, `hft.live.webhooks.follower` applies `order_for` to each message of the ``signals.normalized`` durable
consumer. In replay (``hft replay -s signal_follow`` with ``strategies.signal_follow.signals: FILE``) the
strategy reads recorded signals (JSON lines of `SignalRecord.to_dict()`, e.g. ``hft gateway signals-export``)
and acts on each once the replay clock reaches its ``ts_event``: deterministic, so a source can be backtested
before it is canaried.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from hft.core.dtypes import BUY
from hft.core.errors import ConfigError
from hft.core.orders import ORDER_LIMIT, TIF_IOC
from hft.core.signal import SignalRecord
from hft.sim.strategy import Context, Strategy


def toward(target: int, position: int, max_qty: int) -> tuple[int, int] | None:
    """(side, lots) that trade `position` toward `target`, at most `max_qty` lots, or None when there."""
    delta = target - position
    if delta == 0:
        return None
    return (1 if delta > 0 else -1), min(abs(delta), max_qty)


def order_for(sig: SignalRecord, position: int, max_qty: int) -> tuple[int, int] | None:
    """(side, lots) to trade for `sig` holding `position`, or None (module docstring)."""
    if sig.target is not None:
        return toward(sig.target, position, max_qty)
    if sig.side == 0 or sig.strength <= 0:
        return None
    return sig.side, max(1, round(max_qty * sig.strength))


def load_signals(path: str | Path, instrument: str = "") -> list[SignalRecord]:
    """Recorded signals (JSON lines), sorted by (ts_event, corr_id); `ConfigError` naming the line on bad input."""
    out: list[SignalRecord] = []
    p = Path(path)
    try:
        lines = p.read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read recorded signals: {exc.strerror}", file=str(p)) from None
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = SignalRecord.from_dict(json.loads(line))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{p}: line {i}: {exc}", file=str(p), key=f"line {i}") from None
        if not instrument or rec.instrument == instrument:
            out.append(rec)
    out.sort(key=lambda r: (r.ts_event, r.corr_id))
    return out


class SignalFollow(Strategy):
    name = "signal_follow"
    wakes = ("book",)
    QUANTITIES = ("max_qty",)  # lots; a config may say instrument units (Strategy)
    DEFAULTS: ClassVar[dict[str, Any]] = {"signals": "", "max_qty": 10, "instrument": ""}

    def __init__(self, signals: str, max_qty: int, instrument: str) -> None:
        if not signals:
            key = f"strategies.{self.name}.signals"
            raise ConfigError(f"{key}: expected a file of recorded signals (JSON lines)", key=key)
        self.path = signals
        self.max_qty = max_qty
        self.instrument = instrument
        self.queue = load_signals(signals, instrument)
        self.next = 0
        self.acted = 0

    def params(self) -> dict[str, Any]:
        return {"signals": Path(self.path).name, "max_qty": self.max_qty, "instrument": self.instrument,
                "n_signals": len(self.queue)}

    def decide(self, sig: SignalRecord, position: int) -> tuple[int, int] | None:
        """(side, lots) to trade for `sig` holding `position`, or None: the rule of the strategy."""
        return order_for(sig, position, self.max_qty)

    def on_book(self, ctx: Context) -> None:
        q = self.queue
        while self.next < len(q) and q[self.next].ts_event <= ctx.now:
            sig = q[self.next]
            self.next += 1
            todo = self.decide(sig, ctx.position)
            if todo is None:
                continue
            side, qty = todo
            price = sig.price if sig.price is not None else (ctx.best_ask if side == BUY else ctx.best_bid)
            if price is None:
                continue
            ctx.submit(side, price, qty, ORDER_LIMIT, TIF_IOC)
            self.acted += 1
