"""Order-type rules the gateway's and the venues' kernels share, each written once (numba helpers, inlined where
they are called; their plain Python versions are ``fn.py_func``), and the one place kernels name a new order's
optional fields on a record row (`record_options`, `put_record_options`)."""

from __future__ import annotations

from hft.core.dtypes import BUY
from hft.core.jit import helper
from hft.core.orders import (
    CHILD_TYPES,
    ICEBERG_TYPES,
    OPT_DISPLAY,
    OPT_EXPIRE,
    OPT_OCO,
    OPT_PARENT,
    OPT_TRAIL,
    OPT_TRIGGER,
    ORDER_STOP_LIMIT,
    STOP_TYPES,
)

__all__ = ["bad_trail", "is_stop", "may_follow", "may_show", "put_record_options", "record_options"]


@helper(pure=True)
def is_stop(otype: int) -> bool:
    """Whether an order of type `otype` is held by the venue until a print reaches its trigger: a stop or a
    stop-limit (`hft.core.orders.STOP_TYPES`; docs/sim.md, "Stop orders held by the venue")."""
    return otype in STOP_TYPES


@helper(pure=True)
def may_show(otype: int) -> bool:
    """Whether an order of type `otype` may be an iceberg, showing a display (`hft.core.orders.ICEBERG_TYPES`: limit
    and post-only; docs/sim.md, "Iceberg orders held by the venue")."""
    return otype in ICEBERG_TYPES


@helper(pure=True)
def bad_trail(otype: int, side: int, price: int, trigger: int, trail: int) -> bool:
    """Whether a new order's `trail` is refused (the gateway's BAD_TRAIL, the venues' REJECTED): a trail not 0 that
    is < 0, on a type other than a stop / stop-limit, or on a stop-limit whose limit `price` is not at or through
    its `trigger` (a buy's limit >= trigger, a sell's <=: the limit moves with the trigger and stays on its far
    side; docs/sim.md, "Trailing stops")."""
    return trail != 0 and (trail < 0 or not is_stop(otype) or (otype == ORDER_STOP_LIMIT and (
        price < trigger if side == BUY else price > trigger)))


@helper(pure=True)
def may_follow(otype: int) -> bool:
    """Whether an order of type `otype` may be a bracket child, held until its parent has no leaves
    (`hft.core.orders.CHILD_TYPES`: limit, stop, stop-limit; docs/sim.md, "OCO and bracket orders held by the
    venue")."""
    return otype in CHILD_TYPES


@helper
def record_options(r):
    """A new order's optional fields (`hft.core.orders.ORDER_OPTIONS`) read from an intent, decision or command
    row, as the one tuple the gateway's core and the engines pass (`order_options`' order)."""
    return (r.trigger, r.expire, r.display, r.trail, r.oco, r.parent)


@helper
def put_record_options(r, opt) -> None:
    """Write `record_options`' tuple into a decision or command row."""
    r.trigger = opt[OPT_TRIGGER]
    r.expire = opt[OPT_EXPIRE]
    r.display = opt[OPT_DISPLAY]
    r.trail = opt[OPT_TRAIL]
    r.oco = opt[OPT_OCO]
    r.parent = opt[OPT_PARENT]
