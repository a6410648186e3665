"""`alpha_exec`: the documented execution strategy that turns an alpha's signal into orders (Gate D, canary).

Signal → z-score (causal)
-------------------------
The alpha's signal ``s_i`` (times ``gate_b.sign``, so that positive means "expect the mid to rise") is scaled
by its *expanding* root-mean-square: ``z_i = s_i / sqrt(mean(s_0², …, s_i²))`` over the finite values up to and
including row ``i`` (no demeaning: the sign of the signal carries the view). Rows before ``warmup_rows`` finite
values, and non-finite signals, give ``z = NaN``. Only past and present rows enter ``z_i``.

Each row carries a *stamp*: the local time at which the strategy can know it, ``max(row ts, local arrival time
of the last market event the row's state includes)`` (arrival times from the engine's own feed-latency model).
The strategy uses only rows whose stamp is ``<=`` its local clock (`ctx.now`).

z → target position
-------------------
``z > entry_z`` → ``+max_position``; ``z < −entry_z`` → ``−max_position``; ``|z| < exit_z`` → ``0``; otherwise
(or NaN) the previous target is kept. The target starts at 0.

target → orders
---------------
On every local book update: when no order of ours is in flight, at least ``cooldown_ns`` of local time has passed
since the last order, and ``target != position``, send one IOC limit order of ``min(|target − position|,
order_size)`` lots at the opposite touch (buy at the best ask, sell at the best bid) through the gateway. The
gateway's limits (``gate_d.limits``) apply exactly as live: a denial is recorded, never retried at once.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from hft.core.dtypes import BUY, SELL
from hft.core.errors import SimError
from hft.core.orders import ORDER_LIMIT, TIF_IOC
from hft.sim.strategy import Context, Strategy

__all__ = ["STRATEGY_NAME", "AlphaExecution", "causal_zscore", "signal_stamps"]

STRATEGY_NAME = "alpha_exec"


def causal_zscore(signal: np.ndarray, warmup_rows: int, sign: int = 1) -> np.ndarray:
    """``sign * s_i / expanding RMS`` over finite values up to row i; NaN before `warmup_rows` finite values."""
    s = np.asarray(signal, dtype=np.float64) * float(sign)
    ok = np.isfinite(s)
    sq = np.where(ok, s * s, 0.0)
    cnt = np.cumsum(ok)
    rms = np.sqrt(np.cumsum(sq) / np.maximum(cnt, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(ok & (cnt >= warmup_rows) & (rms > 0), s / rms, np.nan)
    return z


def signal_stamps(row_ts: np.ndarray, src_row: np.ndarray, local_arrival: np.ndarray) -> np.ndarray:
    """Local time each feature row becomes knowable: ``max(ts, arrival of event src_row)``, non-decreasing."""
    st = np.maximum(np.asarray(row_ts, np.int64), np.asarray(local_arrival, np.int64)[np.asarray(src_row)])
    return np.maximum.accumulate(st) if len(st) else st


class AlphaExecution(Strategy):
    """The alpha-driven taker (see the module docstring). Call `set_signal` before the run."""

    name = STRATEGY_NAME
    wakes = ("book",)  # the numba engine wakes the strategy on local book changes only

    def __init__(self, *, alpha_id: str, version: str, code_hash: str, max_position: int, order_size: int,
                 entry_z: float, exit_z: float, cooldown_ns: int, warmup_rows: int) -> None:
        self.alpha_id = alpha_id
        self.version = version
        self.code_hash = code_hash
        self.max_position = int(max_position)
        self.order_size = int(order_size)
        self.entry_z = float(entry_z)
        self.exit_z = float(exit_z)
        self.cooldown_ns = int(cooldown_ns)
        self.warmup_rows = int(warmup_rows)
        self._stamps: list[int] = []
        self._z: list[float] = []
        self._signal_hash = ""
        self._ptr = 0
        self.target = 0
        self.next_ok = 0
        self.max_used_stamp = -1  # the latest stamp ever used (tests check it never exceeds the clock)
        self.lookahead_violations = 0

    def set_signal(self, stamps: np.ndarray, z: np.ndarray) -> None:
        """Stamps (int ns local, non-decreasing) and z-scores, one per feature row."""
        stamps = np.asarray(stamps, np.int64)
        z = np.asarray(z, np.float64)
        if stamps.shape != z.shape or (len(stamps) > 1 and np.any(np.diff(stamps) < 0)):

            raise SimError("alpha_exec: expected non-decreasing stamps, one per z value")
        self._stamps = stamps.tolist()
        self._z = z.tolist()
        h = hashlib.blake2b(digest_size=8)
        h.update(np.ascontiguousarray(stamps).tobytes())
        h.update(np.ascontiguousarray(np.nan_to_num(z, nan=0.0)).tobytes())
        self._signal_hash = h.hexdigest()
        self._ptr = 0

    def params(self) -> dict[str, Any]:
        return {"alpha_id": self.alpha_id, "version": self.version, "code_hash": self.code_hash,
                "max_position": self.max_position, "order_size": self.order_size, "entry_z": self.entry_z,
                "exit_z": self.exit_z, "cooldown_ns": self.cooldown_ns, "warmup_rows": self.warmup_rows,
                "signal_hash": self._signal_hash}

    def _current_z(self, now: int) -> float:
        stamps, n, i = self._stamps, len(self._stamps), self._ptr
        while i < n and stamps[i] <= now:
            i += 1
        self._ptr = i
        if i == 0:
            return math.nan
        if stamps[i - 1] > now:  # cannot happen (guarded above); counted so tests can assert causality
            self.lookahead_violations += 1
        self.max_used_stamp = stamps[i - 1]
        return self._z[i - 1]

    def on_book(self, ctx: Context) -> None:
        now = ctx.now
        z = self._current_z(now)
        if z == z:  # not NaN
            if z > self.entry_z:
                self.target = self.max_position
            elif z < -self.entry_z:
                self.target = -self.max_position
            elif abs(z) < self.exit_z:
                self.target = 0
        if ctx.orders or now < self.next_ok:
            return
        diff = self.target - ctx.position
        if diff == 0:
            return
        bid, ask = ctx.best_bid, ctx.best_ask
        if bid is None or ask is None:
            return
        qty = min(abs(diff), self.order_size)
        if diff > 0:
            ctx.submit(BUY, ask, qty, ORDER_LIMIT, TIF_IOC)
        else:
            ctx.submit(SELL, bid, qty, ORDER_LIMIT, TIF_IOC)
        self.next_ok = now + self.cooldown_ns
