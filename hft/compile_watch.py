"""Seeing kernel compilation: how long it took, and a callback when it starts and ends.

The kernels are ``@njit(cache=True)``: a process compiles a kernel only when the on-disk cache has no entry for
it (a fresh install, or a change to numba code, see ``hft/__init__.py``). numba broadcasts a
``"numba:compile"`` event around each such compilation (a load from the cache broadcasts none), so a
`CompileWatch` around any work measures exactly the compile time inside it, which a replay reports apart from
its events per second, and lets the CLI say "compiling kernels (first run only)" while it happens.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

EVENT = "numba:compile"


class CompileWatch:
    """Context manager: ``seconds`` of kernel compilation (outermost compilations only) and ``kernels`` compiled.

    ``on_start`` / ``on_end`` are called when a compilation starts / ends with none other running.
    """

    def __init__(self, on_start: Callable[[], None] | None = None, on_end: Callable[[], None] | None = None) -> None:
        self.on_start, self.on_end = on_start, on_end
        self.seconds = 0.0
        self.kernels = 0
        self._depth = 0
        self._t0 = 0.0
        self._listener: Any = None

    def __enter__(self) -> CompileWatch:
        # a command's progress bar watches for compiles even when the command never compiles anything
        from numba.core import event  # lazy: numba takes ~0.4 s to import, which such a command must not pay

        watch = self

        class _Listener(event.Listener):
            def on_start(self, ev: Any) -> None:
                watch._started()

            def on_end(self, ev: Any) -> None:
                watch._ended()

        self._listener = _Listener()
        event.register(EVENT, self._listener)
        return self

    def _started(self) -> None:
        self.kernels += 1
        if self._depth == 0:
            self._t0 = time.perf_counter()
            if self.on_start is not None:
                self.on_start()
        self._depth += 1

    def _ended(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.seconds += time.perf_counter() - self._t0
            if self.on_end is not None:
                self.on_end()

    def __exit__(self, *exc: object) -> None:
        from numba.core import event  # lazy: as in __enter__

        if self._listener is not None:
            event.unregister(EVENT, self._listener)
            self._listener = None
