"""Compiled numba kernels called from Python through their entry points, not their dispatchers.

A numba dispatcher resolves its arguments' types at every call (``typeof`` of each: for a NamedTuple of arrays,
as a book is, that is each member's), which costs microseconds a call; and the first resolution of a structured
dtype costs ~10 ms. A kernel called from Python many times over the same arrays (the engine's loop at each wake,
a venue's step at each command of a Python strategy) instead calls the compiled overload's entry point, looked up
once per (kernel, the arguments' `type_key`) and process. `CallSite` keeps the last entry point of one call site
and looks it up again only when one of its array arguments is another object (an array replaced as it grew).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import is_not
from typing import Any

import numpy as np

# (kernel, the arguments' type key) -> the compiled overload's entry point: a pure memo, bounded by the kernels
# and the argument types a process calls them with (as numba's own overloads are)
_SIGS: dict[tuple, Callable[..., Any]] = {}


def type_key(a: object) -> object:
    """What numba's typeof depends on: an array's dtype, dimensions, layout, alignment and writeability, a
    NamedTuple's type and members, any other value's type."""
    if isinstance(a, np.ndarray):
        f = a.flags
        return (a.dtype, a.ndim, f.c_contiguous, f.f_contiguous, f.aligned, f.writeable)
    if isinstance(a, tuple):
        return (type(a), tuple(type_key(x) for x in a))
    return type(a)


def entry_point(kernel: Any, args: tuple) -> Callable[..., Any]:
    """The compiled entry point of `kernel` (a numba dispatcher) for arguments of `args`' types: loaded from the
    cache, or compiled, on the first call of a process with these types."""
    ck = (kernel, type_key(args))
    entry = _SIGS.get(ck)
    if entry is None:
        sig = tuple(kernel.typeof_pyval(a) for a in args)
        if sig not in kernel.overloads:
            kernel.compile(sig)  # loads the cached machine code (compiles on a cold cache)
        entry = _SIGS[ck] = kernel.overloads[sig].entry_point  # (an `overloads` lookup hashes every type)
    return entry


class CallSite:
    """One place in Python that calls `kernel` with `n_arrays` array (or NamedTuple) arguments first, then
    integers: ``site(*args)`` calls the entry point found for the last arguments while those first ones are the
    same objects, else looks it up again (`entry_point`). The integers are not checked: the kernel's signature
    takes them as int64, as the dispatcher would have typed a Python int."""

    __slots__ = ("_arrays", "_entry", "kernel", "n_arrays")

    def __init__(self, kernel: Any, n_arrays: int) -> None:
        self.kernel = kernel
        self.n_arrays = n_arrays
        self._arrays: tuple = ()
        self._entry: Callable[..., Any] | None = None

    def __reduce__(self) -> tuple:  # a copy looks its entry point up again (a C function: not picklable)
        return CallSite, (self.kernel, self.n_arrays)

    def __call__(self, *args: Any) -> Any:
        arrays = args[: self.n_arrays]
        if self._entry is None or any(map(is_not, arrays, self._arrays)):
            self._entry = entry_point(self.kernel, args)
            self._arrays = arrays
        return self._entry(*args)
