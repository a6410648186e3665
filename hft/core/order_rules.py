"""Order-type rules the gateway's and the venues' kernels share, each written once (numba helpers, inlined where
they are called; their plain Python versions are ``fn.py_func``)."""

from __future__ import annotations

from hft.core.jit import helper
from hft.core.orders import STOP_TYPES

__all__ = ["is_stop"]


@helper
def is_stop(otype: int) -> bool:
    """Whether an order of type `otype` is held by the venue until a print reaches its trigger: a stop or a
    stop-limit (`hft.core.orders.STOP_TYPES`; docs/sim.md, "Stop orders held by the venue")."""
    return otype in STOP_TYPES
