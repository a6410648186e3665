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
(account row only), and so is the submit rate (each of its windows a token bucket of its own); the cancel rate and
the repeat throttle are per strategy (strategy row, else default).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hft.core.errors import GatewayError
from hft.core.orders import ORDER_LIMIT, R_BAD_INPUT, REASON_NAMES, TIF_GTC, order_options
from hft.gateway import kernels as K
from hft.gateway.config import UNLIMITED, LimitSet, Rate, rate_windows
from hft.gateway.limits import LIMITS, PPM


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
            ws = rate_windows(v)
            if len(ws) > spec.windows:
                raise GatewayError(f"{spec.key}: expected at most {spec.windows} windows, was {len(ws)}")
            for i in range(spec.windows):  # a rate set here sets all its windows (one not given: unlimited)
                r = ws[i] if i < len(ws) else Rate(UNLIMITED, 1)
                if r.count != UNLIMITED and not (r.count >= 0 and r.window_ns > 0 and r.count * r.window_ns < 1 << 62):
                    # the token bucket holds count * window (in 1/window units) and adds to it: kept below 2**62
                    # (the config refuses such a rate too: `hft.gateway.config._rate`; this for limits built in code)
                    raise GatewayError(f"{spec.key}: expected count >= 0 and window > 0 with count * window below "
                                       f"2**62 (or an unlimited rate), was count {r.count}, window {r.window_ns} ns")
                row[spec.fields[2 * i]], row[spec.fields[2 * i + 1]] = r.count, r.window_ns
        else:
            if spec.kind == "fraction" and not 0 <= v <= PPM:  # the margin rule's exact product needs it
                raise GatewayError(f"{spec.key}: expected millionths from 0 to {PPM}, was {v}")
            row[spec.fields[0]] = v
    if default_row:
        if row[K.L_MARGIN_RATE] == UNLIMITED:  # no margin rate set anywhere: 1.0 (a cash account)
            row[K.L_MARGIN_RATE] = PPM
        if row[K.L_MIN_QTY] == UNLIMITED:
            row[K.L_MIN_QTY] = 1
        if row[K.L_REPEAT_WINDOW] == UNLIMITED:
            row[K.L_REPEAT_WINDOW] = 1_000_000_000


#: the rate buckets: (count field, window field of a limit row, token / time fields of a strategy row, of an
#: account row, None where the rate is per strategy only)
_BUCKETS = ((K.L_SUBMIT_COUNT, K.L_SUBMIT_WINDOW, K.S_SUB_TOK, K.S_SUB_TS, K.A_SUB_TOK, K.A_SUB_TS),
            (K.L_SUBMIT2_COUNT, K.L_SUBMIT2_WINDOW, K.S_SUB2_TOK, K.S_SUB2_TS, K.A_SUB2_TOK, K.A_SUB2_TS),
            (K.L_CANCEL_COUNT, K.L_CANCEL_WINDOW, K.S_CAN_TOK, K.S_CAN_TS, None, None))


def _limited(count: int, window: int) -> bool:
    return 0 <= count < UNLIMITED and window > 0


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
                 order_type: int = ORDER_LIMIT, tif: int = TIF_GTC, **options: int) -> int:
        """Reason code a NEW order would get from steps 2b-4 right now (rate limits not consumed); BAD_INPUT for a
        value that is not an int within int64 (the kernel would be compiled for it otherwise: `service._i64`).
        `options`: the order's optional fields by name (``trigger=``, ``expire=``, ``display=``, ``trail=``:
        `hft.core.orders.OPTION_NAMES`)."""
        args = (now, account, strategy, symbol, side, price, qty, order_type, tif, *order_options(**options))
        if not all(type(v) is int and -(1 << 63) <= v < 1 << 63 for v in args):
            try:
                args = tuple(int(v) for v in args)
            except (TypeError, ValueError):
                return R_BAD_INPUT
            if not all(-(1 << 63) <= v < 1 << 63 for v in args):
                return R_BAD_INPUT
        return int(K.dry_run(self.buf, *args[:9], args[9:]))

    def bucket_rates(self) -> dict[tuple[str, int, int, int], tuple[int, int]]:
        """The (count, window) each rate bucket applies now, by (``strategy`` | ``account``, row, token field,
        time field): a strategy's from its row, else the default; an account's from its row only."""
        st = self._st
        out: dict[tuple[str, int, int, int], tuple[int, int]] = {}
        for fc, fw, stok, sts, atok, ats in _BUCKETS:
            for t in range(len(st.lim_strat)):
                row = st.lim_strat[t] if st.lim_strat[t, fc] >= 0 else st.lim_def
                out[("strategy", t, stok, sts)] = (int(row[fc]), int(row[fw]))
            if atok is not None:
                for a in range(len(st.lim_acct)):
                    out[("account", a, atok, ats)] = (int(st.lim_acct[a, fc]), int(st.lim_acct[a, fw]))
        return out

    def keep_buckets(self, before: dict[tuple[str, int, int, int], tuple[int, int]]) -> None:
        """After a change of limits (`bucket_rates` taken before it): a bucket whose rate changed keeps the whole
        tokens it held, up to its new count (its tokens count 1/window units, so they are rescaled); one limited
        only now starts full. Without this a new window would reinterpret the old units."""
        st = self._st
        for key, (c1, w1) in self.bucket_rates().items():
            c0, w0 = before[key]
            if (c0, w0) == (c1, w1) or not _limited(c1, w1):
                continue
            level, i, tok, ts = key
            rows = st.strat if level == "strategy" else st.acct
            if not _limited(c0, w0) or rows[i, ts] == K.I64_MIN:
                rows[i, ts] = K.I64_MIN  # full at its first use
            else:
                rows[i, tok] = min(c1, int(rows[i, tok]) // w0) * w1

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
