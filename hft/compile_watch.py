"""Seeing kernel compilation: how long it took, and a callback when it starts and ends.

The kernels are ``@njit(cache=True)``: a process compiles a kernel only when the on-disk cache has no entry for
it (a fresh install, or a change to numba code, see ``hft/__init__.py``). numba broadcasts a
``"numba:compile"`` event around each such compilation (a load from the cache broadcasts none), so a
`CompileWatch` around any work measures exactly the compile time inside it, which a replay reports apart from
its events per second, and lets the CLI say "compiling kernels (first run only)" while it happens.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
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


def cached_specialisations(cache_dir: str | None = None) -> dict[str, Any]:
    """What numba's on-disk cache holds for this ``hft`` checkout: distinct compiled specialisations.

    Reads the index of every ``hft`` kernel under `cache_dir` (default ``$NUMBA_CACHE_DIR``, which ``import hft``
    sets) and counts its fresh entries (those whose stamp is the kernel's module's current one,
    `hft._numba_locator`) for this process's CPU target, as distinct (function, signature) pairs. A compile event
    (`CompileWatch`) is not one of these: several processes may compile the same specialisation, and a kernel's
    compile announces the compiles of what it calls. ``duplicates`` lists the functions holding several
    signatures that differ only by array layout or read-only flags, literal values or the width of a scalar
    integer, with how many of them one signature would have served.

    Returns ``{"specialisations", "functions", "duplicates": {function: extra signatures}}``.
    """
    from numba.core import config, types  # lazy: numba, for `hft warmup --json` only
    from numba.core.registry import cpu_target  # lazy: as above

    from hft._numba_locator import ROOT, stamps  # lazy: imports numba's caching

    cache = cache_dir or config.CACHE_DIR or os.environ.get("NUMBA_CACHE_DIR")
    out: dict[str, Any] = {"specialisations": 0, "functions": 0, "duplicates": {}}
    if not cache or not os.path.isdir(cache):
        return out
    dirs = {}  # numba's folder of each package directory (`_UserProvidedCacheLocator`) -> its path under ROOT
    for d, _, _ in os.walk(ROOT):
        if "__pycache__" not in d:
            dirs["_".join([os.path.basename(d), hashlib.sha1(os.path.abspath(d).encode()).hexdigest()])] = (
                os.path.relpath(d, ROOT).replace(os.sep, "/"))
    magic = cpu_target.target_context.codegen().magic_tuple()
    src = stamps()
    flags = re.compile(r"readonly |unaligned |, [CFA](?=\))|Literal\[(\w+)\]\([^()]*\)")
    for sub, pkg in dirs.items():
        folder = os.path.join(cache, sub)
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            if not name.endswith(".nbi") or "-src." not in name:
                continue
            module = name.split(".", 1)[0]
            rel = f"{module}.py" if pkg == "." else f"{pkg}/{module}.py"
            if not os.path.exists(os.path.join(ROOT, rel)):
                continue
            try:
                with open(os.path.join(folder, name), "rb") as f:
                    pickle.load(f)  # numba's version
                    stamp, overloads = pickle.loads(f.read())
            except Exception:  # an index another numba wrote, or being replaced: not this cache's to count
                continue
            if stamp != src.stamp(rel):
                continue
            sigs = {key[0] for key in overloads if key[1] == magic}
            if not sigs:
                continue
            function = f"{pkg}/{name.split('-src.', 1)[0]}".lstrip("./")
            out["functions"] += 1
            out["specialisations"] += len(sigs)
            # (a dispatcher's index keys hold argument tuples, a cfunc's its signature)
            loose = {tuple("int" if isinstance(t, types.Integer) else flags.sub(lambda m: m.group(1) or "", str(t))
                           for t in getattr(s, "args", s)) for s in sigs}
            if len(loose) < len(sigs):
                out["duplicates"][function] = len(sigs) - len(loose)
    return out
