"""The process's memory policies, each set only by a program that owns its process: keeping freed memory for
the next run (glibc's malloc: `hft replay sweep` and its workers, the benchmarks) and running without transparent
huge pages (the live service). Building or running an engine sets neither: a notebook that replays is left as it was.

A replay allocates its tables and logs anew each run (the gateway arena, the decision, order, fill and equity
rows, the logs built from them: ~7 MB for a LOBSTER day of `mm`) and frees them when its results are dropped.
glibc serves blocks above its mmap threshold (128 kB, raised dynamically up to the size of the largest block freed
so far) with fresh ``mmap`` pages, and returns the top of its heap to the kernel once more than twice that is free.
So every run of a sweep or a benchmark gets fresh pages, whose first-touch faults cost ~a sixth of a warm LOBSTER
`mm` run (bench/bench_process_state.py).

`keep_freed_memory` sets a fixed mmap threshold (32 MiB, glibc's largest) and a trim threshold of 512 MiB, so that
blocks up to 32 MiB come from the heap and a freed run's memory is there for the next one. The cost: the process
keeps up to 512 MiB of freed heap instead of returning it (it is reused, not leaked). Blocks over 32 MiB (a
multi-million-event matrix) are still mapped per allocation; runs that share a `hft.sim.engine_nb.buffers.Spares`
keep those themselves. A no-op where the C library is not glibc.

`no_transparent_huge_pages` is the live service's policy (`hft.live.server`): no 2 MB pages, whose first touch
stalls a latency-bound writer.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_PR_SET_THP_DISABLE = 41  # linux/prctl.h

MMAP_THRESHOLD = 32 << 20  # glibc's largest (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit)
TRIM_THRESHOLD = 512 << 20


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse (module docstring): a process-wide setting, for the programs that
    own their process (`hft replay sweep`, its workers, a benchmark), never called by the library on its own. True
    when glibc took it, False where the C library is not glibc."""
    return _mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and _mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)


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
