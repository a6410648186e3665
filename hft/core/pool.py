"""A spawned process pool that stops with its caller (`hft replay sweep`, `hft alpha search`).

Ctrl-C in a terminal reaches every process of the foreground group: the workers ignore SIGINT, so the caller alone
sees it (one ``error: interrupted`` line, not a traceback per worker). When the caller leaves the ``with`` block by
an exception (Ctrl-C, SIGTERM, an error), the workers are terminated at once instead of finishing their tasks or
being left running without a parent.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def _init_worker(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt stops
    if initializer is not None:
        initializer(*initargs)


@contextlib.contextmanager
def spawn_pool(workers: int, initializer: Callable[..., None] | None = None,
               initargs: tuple[Any, ...] = ()) -> Iterator[ProcessPoolExecutor]:
    """A `ProcessPoolExecutor` of `workers` spawned processes (module docstring)."""
    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                               initargs=(initializer, initargs))
    try:
        yield pool
    except BaseException:
        # no public way to stop running workers before Python 3.14 (terminate_workers)
        for proc in list((pool._processes or {}).values()):
            proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
