"""Risk engine (step 4): limit tables in the arena and a Python façade over the numba risk core.

Checks, in order (first failure is the reason): tick multiple, lot multiple, min qty, max order qty, price
band against the reference price (the last mark: mid or last, whatever the caller marks with), max order
notional, daily loss (strategy and account: realised + unrealised), submit rate (token bucket per strategy),
repeated-order throttle (more than ``max_repeats`` identical new orders — same symbol, side, price, qty —
within ``repeat_window``), self-match prevention (a new order crossing a working order of the same account
in the same symbol). Cancels are rate limited separately (``cancel_rate``). Position and notional limits
including working orders are step 3 (`hft.gateway.exposure`) and run first.

Limit resolution: for order / position limits the tightest value set at the account, strategy or symbol level
(of a minimum, ``min_qty``, the largest) wins, else the default; daily loss is checked per strategy (strategy row, else default) and per account
(account row only); rates and the repeat throttle are per strategy (strategy row, else default).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hft.core.errors import GatewayError
from hft.core.orders import ORDER_LIMIT, R_BAD_INPUT, REASON_NAMES, TIF_GTC
from hft.gateway import kernels as K
from hft.gateway.config import UNLIMITED, LimitSet
from hft.gateway.limits import LIMITS


def write_limits(row: np.ndarray, lim: LimitSet | None, *, default_row: bool = False) -> None:
    """Encode a LimitSet into an arena limit row (UNSET = inherit; the default row uses UNLIMITED instead)."""
    unset = UNLIMITED if default_row else K.UNSET
    row[:] = unset
    if lim is None:
        lim = LimitSet()
    for spec in LIMITS:  # the one limit table: its fields in the row
        v = getattr(lim, spec.name)
        if v is None:
            continue
        if spec.kind == "rate":
            if v.count != UNLIMITED and not (v.count >= 0 and v.window_ns > 0 and v.count * v.window_ns < 1 << 62):
                # the token bucket holds count * window (in 1/window units) and adds to it: kept below 2**62 (the
                # config refuses such a rate too: `hft.gateway.config._rate`; this for limits built in code)
                raise GatewayError(f"{spec.key}: expected count >= 0 and window > 0 with count * window below 2**62 "
                                   f"(or an unlimited rate), was count {v.count}, window {v.window_ns} ns")
            row[spec.fields[0]], row[spec.fields[1]] = v.count, v.window_ns
        else:
            row[spec.fields[0]] = v
    if default_row:
        if row[K.L_MIN_QTY] == UNLIMITED:
            row[K.L_MIN_QTY] = 1
        if row[K.L_REPEAT_WINDOW] == UNLIMITED:
            row[K.L_REPEAT_WINDOW] = 1_000_000_000


class RiskEngine:
    """Façade: limit tables and a side-effect-free `evaluate` (dry run of steps 2b-4 for a new order)."""

    def __init__(self, buf: np.ndarray) -> None:
        self.buf = buf
        self._st = K.views(buf)

    def set_default_limits(self, lim: LimitSet) -> None:
        write_limits(self._st.lim_def, lim, default_row=True)

    def set_account_limits(self, a: int, lim: LimitSet | None) -> None:
        write_limits(self._st.lim_acct[a], lim)

    def set_strategy_limits(self, t: int, lim: LimitSet | None) -> None:
        write_limits(self._st.lim_strat[t], lim)

    def set_symbol_limits(self, y: int, lim: LimitSet | None) -> None:
        write_limits(self._st.lim_sym[y], lim)

    def evaluate(self, now: int, account: int, strategy: int, symbol: int, side: int, price: int, qty: int,
                 order_type: int = ORDER_LIMIT, tif: int = TIF_GTC) -> int:
        """Reason code a NEW order would get from steps 2b-4 right now (rate limits not consumed); BAD_INPUT for a
        value that is not an int within int64 (the kernel would be compiled for it otherwise: `service._i64`)."""
        args = (now, account, strategy, symbol, side, price, qty, order_type, tif)
        if not all(type(v) is int and -(1 << 63) <= v < 1 << 63 for v in args):
            try:
                args = tuple(int(v) for v in args)
            except (TypeError, ValueError):
                return R_BAD_INPUT
            if not all(-(1 << 63) <= v < 1 << 63 for v in args):
                return R_BAD_INPUT
        return int(K.dry_run(self.buf, *args))

    def limits_row(self, level: str, idx: int) -> dict[str, Any]:
        """Raw limit row of a level ('default', 'account', 'strategy', 'symbol'), None = unset/unlimited."""
        row = {"default": self._st.lim_def, "account": self._st.lim_acct[idx] if idx >= 0 else None,
               "strategy": self._st.lim_strat[idx], "symbol": self._st.lim_sym[idx]}[level]
        out: dict[str, Any] = {}
        for spec in LIMITS:
            if spec.kind != "rate":
                v = int(row[spec.fields[0]])
                out[spec.name] = None if v < 0 or v == UNLIMITED else v
        return out


def reason_name(code: int) -> str:
    return REASON_NAMES.get(int(code), str(code))
