"""The process's memory policies: the simulator keeps freed memory for the next run (glibc's malloc); the live
service runs without transparent huge pages.

A replay allocates its tables and logs anew each run (the gateway arena, the decision, order, fill and equity
rows, the logs built from them: ~7 MB for a LOBSTER day of `mm`) and frees them when its results are dropped.
glibc serves blocks above its mmap threshold (128 kB, raised dynamically up to the size of the largest block freed
so far) with fresh ``mmap`` pages, and returns the top of its heap to the kernel once more than twice that is free.
So every run of a sweep, an alpha gate or a benchmark got fresh pages, and the kernel's first-touch faults cost
more than a tenth of a warm LOBSTER `mm` run (~1,300 faults, ~2.5 ms of ~25 ms; `bench/bench_sim.py`).

`keep_freed_memory` sets a fixed mmap threshold (32 MiB, glibc's largest) and a trim threshold of 512 MiB, so that
blocks up to 32 MiB come from the heap and a freed run's memory is there for the next one. The cost: the process
keeps up to 512 MiB of freed heap instead of returning it (it is reused, not leaked). Blocks over 32 MiB (a
multi-million-event matrix) are still mapped per allocation; the engine keeps those itself
(`hft.sim.engine_nb.buffers`).

Called by the simulator's engines when they are built (`hft.sim.engine.Engine`): a process that never replays is
left as it was. ``HFT_KEEP_FREED_MEMORY=0`` turns it off. A no-op where the C library is not glibc.

`no_transparent_huge_pages` is the live service's policy (`hft.live.server`): no 2 MB pages, whose first touch
stalls a latency-bound writer.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_PR_SET_THP_DISABLE = 41  # linux/prctl.h

MMAP_THRESHOLD = 32 << 20  # glibc's largest (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit)
TRIM_THRESHOLD = 512 << 20

_state: dict[str, bool] = {}


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse (module docstring); once per process. True when the policy is in
    force (set now or earlier), False when it is turned off or the C library is not glibc."""
    done = _state.get("kept")
    if done is not None:
        return done
    kept = False
    if os.environ.get("HFT_KEEP_FREED_MEMORY", "1") != "0":
        kept = _mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and _mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    _state["kept"] = kept
    return kept


def no_transparent_huge_pages() -> None:
    """No transparent huge pages in this process, Redis's advice for a latency-bound server. numpy asks for huge
    pages on its arrays of 4 MB and more (``madvise``), so every 2 MB of a ring the live writer fills for the first
    time (order views, fills, the gateway's tables) was one fault that zeroes 2 MB: measured as regular ~4.7 ms
    stalls of the writer, the `/v3` p99 over 30 s cells 2.6-2.9 ms against 1.1-1.2 ms without them (bench/JOURNAL.md,
    "the live service's load, stop by stop"). With 4 KB pages the same first touches are spread thin, and a forked snapshot child copies 4 KB pages
    on write, not 2 MB ones. ``prctl(PR_SET_THP_DISABLE)`` turns huge pages off for the whole process (malloc's and
    numba's memory too, where the kernel's mode is ``always``); numpy's own switch covers a kernel without the
    call. Best effort: elsewhere (not Linux) it changes nothing."""
    with contextlib.suppress(OSError, AttributeError):
        _libc().prctl(_PR_SET_THP_DISABLE, 1, 0, 0, 0)
    with contextlib.suppress(ImportError, AttributeError):
        from numpy._core.multiarray import _set_madvise_hugepage  # lazy: numpy's switch, used once

        _set_madvise_hugepage(False)


def _libc() -> ctypes.CDLL:
    """The C library (`OSError` when it cannot be loaded)."""
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def _mallopt(param: int, value: int) -> bool:
    try:
        libc = _libc()
        fn = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - glibc only: other C libraries' mallopt take other parameters
    except (OSError, AttributeError):
        return False
    fn.argtypes = (ctypes.c_int, ctypes.c_int)
    fn.restype = ctypes.c_int
    return fn(param, value) == 1
