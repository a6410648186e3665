"""A spawned process pool that stops with its caller (`hft replay sweep`, `hft alpha search`).

Ctrl-C in a terminal reaches every process of the foreground group: the workers ignore SIGINT, so the caller alone
sees it (one ``error: interrupted`` line, not a traceback per worker). When the caller leaves the ``with`` block by
an exception (Ctrl-C, SIGTERM, an error), the workers are terminated at once instead of finishing their tasks or
being left running without a parent. When the caller dies without unwinding (SIGKILL, the OOM killer, a second
Ctrl-C that skipped the cleanup), the kernel ends the workers on Linux (`die_with_parent`); elsewhere a worker
finds no parent only once its task ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when its parent ends (Linux ``prctl(PR_SET_PDEATHSIG)``), then exit at
    once if the parent `parent` (its pid) ended already, before the request (this process was reparented: no
    signal will come). A no-op where the call is unavailable (not Linux, no libc). The "parent" is the thread that
    started this process: `spawn_pool`'s callers submit from the thread that holds the pool."""
    if not sys.platform.startswith("linux"):
        return
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return
    if prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return
    if os.getppid() != parent:
        os._exit(1)


def _init_worker(parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt stops
    die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


@contextlib.contextmanager
def spawn_pool(workers: int, initializer: Callable[..., None] | None = None,
               initargs: tuple[Any, ...] = ()) -> Iterator[ProcessPoolExecutor]:
    """A `ProcessPoolExecutor` of `workers` spawned processes (module docstring). Use ``submit``, not ``map``, and
    leave cancelling to this block: on Python 3.11 a future cancelled by its caller (``map`` cancels its pending
    ones when interrupted) makes the pool's manager thread fail while the workers are stopped."""
    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                               initargs=(os.getpid(), initializer, initargs))
    try:
        yield pool
    except BaseException:
        # no public way to stop running workers before Python 3.14 (terminate_workers)
        procs = list((pool._processes or {}).values())
        for proc in procs:
            proc.terminate()
        for proc in procs:  # gone before the shutdown: the pool marks what was pending broken, then stops
            proc.join()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
