"""The numba strategy kernel API: what a kernel written outside the package reads and writes, and
`KernelStrategy`, the strategy class that runs it (docs/extending.md, "Numba strategy kernels").

A kernel is an ``@njit`` function ``kernel(st, ltop, sord, intents) -> int`` called at every end of message
that changes the local book (the book callback), on both engines and in the numba loop itself:

* ``st`` — int64 state row, read only for a kernel: ``st[S_POS]`` the position (lots), ``st[S_NORD]`` the rows
  of ``sord`` in use, ``st[S_PARAMS + i]`` the i-th parameter (at most `MAX_PARAMS`, in ``DEFAULTS`` order);
* ``ltop`` — int64 ``[4]``: the local best bid, its quantity, the best ask, its quantity (`NO_PRICE` when a
  side is empty; prices in ticks, quantities in lots);
* ``sord`` — int64 ``[rows, SO_COLS]``: our live orders in submission order, columns ``SO_ID``, ``SO_SIDE``,
  ``SO_PRICE``, ``SO_LEAVES``, ``SO_STATUS`` (``SO_PENDING_NEW``, ``SO_WORKING``, ``SO_PENDING_CANCEL``,
  ``SO_PENDING_REPLACE``), ``SO_QTY`` (and the order's leg, 0 on one instrument); only the first ``st[S_NORD]``
  rows are meaningful;
* ``intents`` — int64 ``[MAX_INTENTS, IN_COLS]``, written by the kernel: one row per intent, ``(IN_SUBMIT,
  side, price, qty, 0)`` or ``(IN_CANCEL, 0, 0, 0, order_id)`` in its first five columns, ``IN_KIND``,
  ``IN_SIDE``, ``IN_PRICE``, ``IN_QTY``, ``IN_ORDER_ID`` (0 to 4: the numbers stay), and by name, when not the
  defaults, ``IN_ORDER_TYPE`` (``hft.core.orders.ORDER_*``; 0: a limit order), ``IN_TIF`` (``TIF_*``; 0: GTC) and
  ``IN_TRIGGER``, a venue-held stop's trigger price (ticks; 0: none): ``ORDER_STOP`` (price 0) or
  ``ORDER_STOP_LIMIT`` (its limit price) with a trigger > 0 places a stop the venue holds until a print reaches
  it (docs/sim.md, "Stop orders held by the venue"), as ``ctx.submit(..., trigger=...)`` does; ``IN_EXPIRE``, a
  good-till-date order's expiry (``tif=TIF_GTD``; int ns UTC, e.g. ``acct[AC_NOW] + ...`` in a kernel with the
  full context: docs/sim.md, "Good till date"), as ``ctx.submit(..., expire=...)``; ``IN_DISPLAY``, an iceberg's
  displayed lots (a limit / post-only order with ``0 < display < qty``: docs/sim.md, "Iceberg orders held by the
  venue"), as ``ctx.submit(..., display=...)``; ``IN_TRAIL``, a trailing stop's distance (ticks, > 0, on a row
  with ``IN_TRIGGER``: the venue moves the trigger toward the prints, docs/sim.md "Trailing stops"), as
  ``ctx.submit(..., trail=...)``; ``IN_OCO``, the order id of one of its working orders this one is paired with
  (one cancels the other: docs/sim.md, "OCO and bracket orders held by the venue"; a kernel names orders it sees
  in ``sord[:, SO_ID]``), as ``ctx.submit(..., oco=...)``; ``IN_PARENT``, a bracket child's entry (its order id), as
  ``ctx.submit(..., parent=...)``. A kernel that never writes these columns keeps them 0 (a plain
  limit order); one that writes them for some rows writes them for every row (the array is reused between calls;
  ``put_intent`` writes every column). A row with a trigger, an expiry, a display, a trail or a link goes through the gateway from
  Python (the in-kernel order path hands it over): the same decision, a slower path. The leg column is the built-in kernels'; leave it 0. The
  kernel returns how many rows it wrote. They go through the gateway in order, exactly as ``ctx.submit`` /
  ``ctx.cancel`` from a Python ``on_book`` would.

A kernel with the full context is the second signature, told apart by its arity (seven arguments):
``kernel(st, ltop, sord, intents, depth, trades, acct) -> int``. Its arrays are filled before each call (a
four-argument kernel gets none of them and pays nothing for them), from the same state a Python strategy's
`Context` reads, on both engines:

* ``depth`` — int64 ``[depth_levels, DP_COLS]`` (the class's ``depth_levels``, as ``ctx.depth()``): row i is the
  i-th level of each side of the local book, best first, columns ``DP_BID``, ``DP_BID_QTY``, ``DP_ASK``,
  ``DP_ASK_QTY`` (`NO_PRICE` and 0 past the book's levels);
* ``trades`` — int64 ``[trade_history, TR_COLS]``: the last ``trade_history`` prints (``ctx.trades``), oldest
  first, columns ``TR_TS`` (local time), ``TR_SIDE`` (aggressor; 0 unknown), ``TR_PRICE``, ``TR_QTY``; the first
  ``acct[AC_NTRADES]`` rows hold one;
* ``sord[j, SO_QUEUE]`` — the lots ahead of our order j in its venue queue (``int(ctx.queue_ahead(id))``: exact
  on the L3 venue, the queue model's estimate on the L2 venue, floored to whole lots; -1 when it does not rest);
* ``acct`` — int64 ``[AC_COLS]``: ``AC_POS`` (lots), ``AC_CASH`` and ``AC_FEES`` (money units, ``ctx.cash`` /
  ``ctx.fees``), ``AC_MID2`` (twice the local mid, `NO_PRICE` when a side is empty), ``AC_NTRADES``, ``AC_NOW``
  (local time, ns), ``AC_PNL`` (money units: ``ctx.pnl`` — the cash plus the position marked at the local mid,
  linear ``position × mid × m``, inverse ``-position × K / mid`` — computed exactly and rounded once, half to
  even: ``ctx.pnl_rounded``; while a side is empty the cash alone, ``acct[AC_CASH]``; `NO_PRICE` when it does
  not fit int64), ``AC_REAL`` (money units: ``ctx.realized_pnl`` — the realised PnL at average cost, the
  gateway's rule, net of the fills' exact fees, rounded once, half to even; ``acct[AC_CASH]`` whenever the
  position is flat; a value past int64 stops the run).

On several instruments a kernel is called for each leg's book on that leg (``st[S_POS]``, ``ltop``, ``sord``
and the context arrays are the leg's; the intent rows are zeroed before each call, and a row's leg is the
callback's), in the numba loop as from its Python callback (`KernelStrategy.on_book`).

A kernel does no I/O and allocates nothing; ``@njit(cache=True)`` in an importable module (or a file) keeps
its compilation across runs. The engine compiles a small C entry around it once per process and calls that
from its own cached loop, so no engine code is recompiled for a user's kernel.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hft.core.dtypes import BUY, NO_PRICE, SELL
from hft.sim.engine_nb.state import (
    AC_CASH,
    AC_COLS,
    AC_FEES,
    AC_MID2,
    AC_NOW,
    AC_NTRADES,
    AC_PNL,
    AC_POS,
    AC_REAL,
    DP_ASK,
    DP_ASK_QTY,
    DP_BID,
    DP_BID_QTY,
    DP_COLS,
    IN_CANCEL,
    IN_COLS,
    IN_DISPLAY,
    IN_EXPIRE,
    IN_KIND,
    IN_OCO,
    IN_ORDER_ID,
    IN_ORDER_TYPE,
    IN_PARENT,
    IN_PRICE,
    IN_QTY,
    IN_SIDE,
    IN_SUBMIT,
    IN_TIF,
    IN_TRAIL,
    IN_TRIGGER,
    MAX_INTENTS,
    S_FAST,
    S_NORD,
    S_POS,
    SO_COLS,
    SO_ID,
    SO_LEAVES,
    SO_PRICE,
    SO_QTY,
    SO_QUEUE,
    SO_SIDE,
    SO_STATUS,
    TR_COLS,
    TR_PRICE,
    TR_QTY,
    TR_SIDE,
    TR_TS,
)
from hft.sim.engine_nb.state import S_SPARAMS as S_PARAMS
from hft.sim.engine_nb.strategy_kernels import book_kernel
from hft.sim.kernel_check import strategy_label
from hft.sim.strategy import Strategy

SO_PENDING_NEW, SO_WORKING, SO_PENDING_CANCEL, SO_PENDING_REPLACE = 0, 1, 2, 3
LTOP_BID, LTOP_BID_QTY, LTOP_ASK, LTOP_ASK_QTY = 0, 1, 2, 3
MAX_PARAMS = S_FAST - S_PARAMS

__all__ = ["AC_CASH", "AC_COLS", "AC_FEES", "AC_MID2", "AC_NOW", "AC_NTRADES", "AC_PNL", "AC_POS", "AC_REAL",
           "BUY", "DP_ASK",
           "DP_ASK_QTY", "DP_BID", "DP_BID_QTY", "DP_COLS", "IN_CANCEL", "IN_COLS", "IN_DISPLAY", "IN_EXPIRE",
           "IN_KIND", "IN_OCO", "IN_ORDER_ID",
           "IN_ORDER_TYPE", "IN_PARENT", "IN_PRICE", "IN_QTY", "IN_SIDE", "IN_SUBMIT", "IN_TIF", "IN_TRAIL", "IN_TRIGGER", "LTOP_ASK", "LTOP_ASK_QTY",
           "LTOP_BID", "LTOP_BID_QTY", "MAX_INTENTS", "MAX_PARAMS", "NO_PRICE", "SELL", "SO_COLS", "SO_ID",
           "SO_LEAVES", "SO_PENDING_CANCEL", "SO_PENDING_NEW", "SO_PENDING_REPLACE", "SO_PRICE", "SO_QTY",
           "SO_QUEUE", "SO_SIDE", "SO_STATUS", "SO_WORKING", "S_NORD", "S_PARAMS", "S_POS", "TR_COLS", "TR_PRICE",
           "TR_QTY", "TR_SIDE", "TR_TS", "KernelStrategy"]


class KernelStrategy(Strategy):
    """A strategy whose book callback is a numba kernel (module docstring).

    Subclass it with ``nb_kernel`` (the ``@njit`` function, or a spec: ``path/to/file.py:func``,
    ``package.module:func``, or a name in the entry-point group ``hft.strategy_kernels``) and ``DEFAULTS`` (the
    integer parameters, in the order the kernel reads them from ``st[S_PARAMS:]``; the config's
    ``strategies.<name>`` and ``--set`` override them). The numba engine runs the kernel inside its loop; the
    reference engine (and ``strategy_kernels = False``) runs the same kernel from this ``on_book``.
    """

    name = "kernel"
    nb_kernel: Any = None
    DEFAULTS: ClassVar[dict[str, int]] = {}

    def __init__(self, **params: int) -> None:
        self._params = {**self.DEFAULTS, **params}

    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def nb_params(self) -> list[int]:
        """The parameters as the kernel reads them: ``st[S_PARAMS + i]`` in ``DEFAULTS`` order."""
        return [int(self._params[k]) for k in self.DEFAULTS]

    def on_book(self, ctx: Any) -> None:
        book_kernel(self, self.nb_kernel, strategy_label(type(self)), self.depth_levels, self.trade_history).run(ctx)
