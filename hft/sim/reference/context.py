"""The strategy's context in the reference replay: the API of `hft.sim.strategy.Context` (its module docstring
is the contract), written over the reference engine's state, one context per leg (instrument).

What the strategy sees is local: the book as the local feed has delivered it, its top as of the last end of
message, our orders, position, cash and fees as the reports have told it, and `queue_ahead` (the venue's state
now, a research convenience). What it does goes through the gateway (`submit` / `cancel` / `replace` return the
gateway's `Decision`). Its instrument accessors read its own leg; `leg(k)` is the context of leg k; a cancel or
replace goes to the order's own leg.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from hft.core.dtypes import NO_PRICE
from hft.core.errors import SimError
from hft.core.money import exact_money, round_money, round_owed
from hft.core.orders import R_BAD_INPUT, options_dict, order_options
from hft.gateway.intents import INT_FIELD_MAX, as_int_field
from hft.sim.reference.accounting import FRAC_UNITS, I64_MAX
from hft.sim.strategy import MAX_ACTIONS_AT_ONE_TIME, Fill, OrderState, Trade, submit_bracket

if TYPE_CHECKING:
    from hft.sim.reference.loop import ReferenceEngine


class ReferenceContext:
    """What a strategy sees and can do on leg `k` (prices ticks, quantities lots, times local ns)."""

    def __init__(self, engine: ReferenceEngine, k: int = 0) -> None:
        self._e = engine
        self._k = k
        self._leg = engine.legs[k]

    # --- the instrument --------------------------------------------------------------------------------------
    def leg(self, which: int | str) -> ReferenceContext:
        """The context of one instrument: its index or its symbol."""
        legs = self._e.legs
        if isinstance(which, str) and which in self._e.leg_of_symbol:
            return self._e.ctxs[self._e.leg_of_symbol[which]]
        if isinstance(which, int | np.integer) and not isinstance(which, bool) and 0 <= which < len(legs):
            return self._e.ctxs[int(which)]
        raise SimError(f"ctx.leg: expected an index below {len(legs)} or one of {self.symbols}, was {which!r}")

    @property
    def symbols(self) -> list[str]:
        return [leg.symbol for leg in self._e.legs]

    @property
    def symbol(self) -> str:
        return self._leg.symbol

    @property
    def leg_index(self) -> int:
        return self._k

    # --- the local view --------------------------------------------------------------------------------------
    @property
    def now(self) -> int:
        return self._e.clock.now_ns()

    @property
    def best_bid(self) -> int | None:
        return self._leg.top[0]

    @property
    def bid_qty(self) -> int:
        return self._leg.top[1]

    @property
    def best_ask(self) -> int | None:
        return self._leg.top[2]

    @property
    def ask_qty(self) -> int:
        return self._leg.top[3]

    @property
    def mid2(self) -> int | None:
        """Twice the mid (ticks), None when a side is empty."""
        b, _, a, _ = self._leg.top
        return None if b is None or a is None else b + a

    def depth(self, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The best `n` levels per side of the local book as it stands now (``(bids, asks)``, each int64
        ``[k, 2]`` of (price, qty), best first)."""
        n = int(getattr(self._e.strategy, "depth_levels", 5)) if n is None else int(n)
        out = []
        for side_levels in self._leg.local.best_levels(max(n, 0)):
            out.append(np.array(side_levels, dtype=np.int64).reshape(-1, 2))
        return out[0], out[1]

    @property
    def trades(self) -> list[Trade]:
        return list(self._leg.trades) if self._leg.trades is not None else []

    # --- our side --------------------------------------------------------------------------------------------
    @property
    def position(self) -> int:
        return self._leg.account.position

    @property
    def orders(self) -> dict[int, OrderState]:
        return self._leg.live_orders

    @property
    def fills(self) -> list[Fill]:
        return [Fill._make(r) for r in self._leg.fill_rows]  # rows `FILL_LOG.pack` wrote

    @property
    def cash(self) -> int:
        return round_owed(self._leg.account.cash, self._leg.account.fee_frac)

    @property
    def fees(self) -> int:
        return round_money(self._leg.account.fees, self._leg.account.fee_frac)

    @property
    def realized_pnl(self) -> int:
        """Realised PnL at average cost, net of fees, rounded once, half to even (`Account`: its own rule)."""
        acc = self._leg.account
        return round_owed(acc.realised, acc.fee_frac)

    @property
    def pnl(self) -> float:
        """Cash plus the position marked at the local mid (linear ``position × mid × m``, inverse ``-position ×
        K / mid``), money units; the cash alone without a mid."""
        acc = self._leg.account
        cash = exact_money(acc.cash, -acc.fee_frac)
        mid2 = self.mid2
        if mid2 is None:
            return float(cash)
        if acc.money > 0:
            return float(cash + acc.position * mid2 * acc.money / 2.0)
        return float(cash + -acc.position * (-acc.money) * 2.0 / np.float64(mid2))

    @property
    def pnl_rounded(self) -> int:
        """`pnl` exactly (Python fractions), rounded once to whole money units, half to even; the cash alone without
        a mid (an inverse instrument's mid must be positive); `NO_PRICE` when the position's mark, the cash plus
        the mark's whole units, or the result leave int64 (docs/extending.md, ``AC_PNL``)."""
        acc = self._leg.account
        exact = Fraction(acc.cash) - Fraction(acc.fee_frac, FRAC_UNITS)
        mid2 = self.mid2
        if mid2 is not None and (acc.money > 0 or mid2 > 0):
            if acc.money > 0:
                products = (acc.position * mid2, acc.position * mid2 * acc.money)
                mark = Fraction(products[1], 2)
            else:
                products = (acc.position * -acc.money, acc.position * -acc.money * 2)
                mark = Fraction(-products[1], mid2)
            if any(abs(p) > I64_MAX for p in products) or abs(acc.cash + mark.numerator // mark.denominator) > I64_MAX:
                return NO_PRICE
            exact += mark
        v = round(exact)  # a Fraction rounds half to even
        return v if abs(v) <= I64_MAX else NO_PRICE

    def queue_ahead(self, order_id: int) -> float:
        return self._e.legs[self._e.leg_of.get(order_id, self._k)].venue.queue_ahead(order_id)

    # --- acting ----------------------------------------------------------------------------------------------
    def _count(self, call: str) -> None:
        """At most MAX_ACTIONS_AT_ONE_TIME orders and wake-ups for now at one local time: beyond, the clock
        could never advance."""
        counted = self._e.actions_now  # [local time, actions at it]: one count for every leg's context
        if counted[0] != self.now:
            counted[0], counted[1] = self.now, 0
        counted[1] += 1
        if counted[1] > MAX_ACTIONS_AT_ONE_TIME:
            raise SimError(f"{call}: expected at most {MAX_ACTIONS_AT_ONE_TIME:,} orders and wake-ups at one local "
                           f"time, was more at {self.now} ns")

    def at(self, t: int, payload: Any = None) -> None:
        if int(t) <= self.now:
            self._count("ctx.at")
        self._e.wake_at(max(int(t), self.now), payload)

    def submit(self, side: int, price: int, qty: int, order_type: int | None = None, tif: int | None = None,
               trigger: int = 0, expire: int = 0, display: int = 0, trail: int = 0,
               oco: int = 0, parent: int = 0) -> Any:
        self._count("ctx.submit")
        opt = order_options(trigger=trigger, expire=expire, display=display, trail=trail, oco=oco,
                            parent=parent)
        d = self._e.submit(self._k, side, price, qty, order_type, tif, opt)
        if d.reason == R_BAD_INPUT:
            _recordable("ctx.submit", side=side, price=price, qty=qty, order_type=order_type, tif=tif,
                        **options_dict(opt))
        return d

    def cancel(self, order_id: int) -> Any:
        self._count("ctx.cancel")
        d = self._e.cancel(self._k, order_id)
        if d.reason == R_BAD_INPUT:
            _recordable("ctx.cancel", order_id=order_id)
        return d

    def replace(self, order_id: int, price: int, qty: int) -> Any:
        self._count("ctx.replace")
        d = self._e.replace(self._k, order_id, price, qty)
        if d.reason == R_BAD_INPUT:
            _recordable("ctx.replace", order_id=order_id, price=price, qty=qty)
        return d

    def bracket(self, side: int, price: int, qty: int, take_profit: int, stop: int,
                stop_limit: int | None = None) -> tuple:
        return submit_bracket(self, side, price, qty, take_profit, stop, stop_limit)


def _recordable(call: str, **fields: Any) -> None:
    """An integer past int64 cannot be recorded in the run's logs: the run stops naming it."""
    for name, v in fields.items():
        if type(v) is int and as_int_field(v) is None:
            raise SimError(f"{call}: {name}: expected an integer within ±{INT_FIELD_MAX:,} (int64), was {v}",
                           key=name)
