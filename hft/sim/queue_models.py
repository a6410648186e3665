"""Queue-position models for L2 (market-by-price) data.

With only aggregate depth we cannot see where our order sits in its price queue; we estimate the quantity
*ahead* of it (`front`, in lots, float64 because it is an estimate). The models follow the ones hftbacktest
documents (probability models after Rigtorp, "Estimating order queue position", 2013):

* ``risk_averse`` — we advance only when trades print at our price: ``front -= trade_qty``; a depth decrease
  never moves us forward except that ``front`` can never exceed the level's quantity.
* ``power_prob_N`` / ``log_prob`` — a depth decrease not explained by trades (``chg = prev - new - trades``)
  is split between cancels ahead of and behind us with probability ``p = f(back) / (f(back) + f(front))`` of
  the cancel being *behind* us, ``f(x) = x**N`` (power) or ``log(1 + x)`` (log):
  ``front' = front - (1 - p) * chg + min(back - p * chg, 0)``, capped at the new level quantity.

We are filled once trades have consumed everything ahead of us: ``filled = floor(-front)`` lots when
``round(front) < 0`` (i.e. ``front < -0.5``), at most 2**62 (a float beyond int64 converted to an integer is
undefined behaviour: `filled_lots` never converts one). On L3 data no model is needed: the FIFO queue is known
exactly.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

import numpy as np

from hft.core.errors import ConfigError
from hft.core.jit import njit

QM_RISK_AVERSE = 0
QM_POWER_PROB = 1
QM_LOG_PROB = 2
_MAX_LOTS = 1 << 62  # `filled_lots`' answer for a front at or below -2**62 (more than any order holds)
_MAX_LOTS_F = float(_MAX_LOTS)  # exact in float64

_POWER = re.compile(r"^power_prob_(\d+(?:\.\d+)?)$")


class QueueModel(NamedTuple):
    """`params` = [kind, n] (n is the power of ``power_prob_N``)."""

    params: np.ndarray  # float64[2]


def parse_queue_model(name: str) -> QueueModel:
    """``"risk_averse"``, ``"log_prob"`` or ``"power_prob_N"`` (N > 0, e.g. ``power_prob_2``)."""
    if name == "risk_averse":
        return QueueModel(np.array([QM_RISK_AVERSE, 0.0]))
    if name == "log_prob":
        return QueueModel(np.array([QM_LOG_PROB, 0.0]))
    m = _POWER.match(name)
    if m and float(m.group(1)) > 0:
        return QueueModel(np.array([QM_POWER_PROB, float(m.group(1))]))
    raise ConfigError(f"queue_model: expected 'risk_averse', 'log_prob' or 'power_prob_N' (N > 0), was {name!r}",
                      key="queue_model")


@njit(cache=True)
def prob_behind(model: QueueModel, front: float, back: float) -> float:
    """Probability that a cancel at our level happened behind us."""
    kind = model.params[0]
    if kind == QM_POWER_PROB:
        n = model.params[1]
        fb = max(back, 0.0) ** n
        ff = max(front, 0.0) ** n
    else:
        fb = math.log1p(max(back, 0.0))
        ff = math.log1p(max(front, 0.0))
    s = fb + ff
    if s <= 0.0 or not math.isfinite(s):
        return 1.0
    return fb / s


@njit(cache=True)
def on_trade(front: float, cum_trade: float, qty: float) -> tuple[float, float]:
    """A trade of `qty` printed at our price: everything ahead of us trades first."""
    return front - qty, cum_trade + qty


@njit(cache=True)
def on_depth(model: QueueModel, front: float, cum_trade: float, prev_qty: float,
             new_qty: float) -> tuple[float, float]:
    """The level's quantity changed from `prev_qty` to `new_qty` (our own order excluded)."""
    if model.params[0] == QM_RISK_AVERSE:
        return min(front, new_qty), 0.0
    chg = prev_qty - new_qty - cum_trade  # trades already moved us; count only the unexplained decrease
    if chg < 0.0:
        return min(front, new_qty), 0.0
    back = prev_qty - front
    p = prob_behind(model, front, back)
    est = front - (1.0 - p) * chg + min(back - p * chg, 0.0)
    return min(est, new_qty), 0.0


@njit(cache=True)
def filled_lots(front: float) -> int:
    """Lots of our order that trades have reached (0 while anything is still ahead of us): ``floor(-front)`` once
    ``round(front) < 0``, i.e. ``front < -0.5`` (round half to even: -0.5 rounds to 0), held at 2**62.

    Converts to an integer only a float in ``(0.5, 2**62)``: ``round`` / ``floor`` of a float outside int64 (a trade
    of ~2**63 lots at our price) is undefined behaviour in numba (LLVM ``fptosi``), as is one of NaN (answered 0)."""
    if not front < -0.5:  # also NaN
        return 0
    if front <= -_MAX_LOTS_F:
        return _MAX_LOTS
    return math.floor(-front)
