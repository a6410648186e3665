"""Stopping asyncio work with a bound: the one way the service's background tasks are stopped.

``task.cancel(); await task`` waits for ever when the task swallows its cancellation, and on Python 3.11 that
happens without any fault of ours: ``asyncio.wait_for`` drops a cancellation that arrives in the same loop turn as
its inner future's result, and a library that catches ``CancelledError`` (a NATS client's fetch or close) may go
on. Seen: ``hft gateway serve --nats-embedded`` that did not stop on Ctrl-C, its loop idle, awaiting a stopped
task for ever. `cancel_and_wait` cancels again until the task ends and gives up after a deadline; `bounded`
awaits a coroutine without cancelling it into a wait it might not leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any

log = logging.getLogger("hft.core.tasks")


async def cancel_and_wait(task: asyncio.Task | None, timeout_s: float = 5.0) -> bool:
    """Cancel `task` and wait until it has ended, cancelling it again while it runs (a swallowed cancellation);
    True once it ended, False when it still ran after `timeout_s` (logged; the caller goes on). Its outcome,
    an exception included, is retrieved and dropped: the task is being stopped."""
    if task is None:
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not task.done():
        left = deadline - loop.time()
        if left <= 0:
            log.warning("task %s did not stop within %.1f s of its cancellation; left running", task.get_name(),
                        timeout_s)
            return False
        task.cancel()
        await asyncio.wait({task}, timeout=min(0.25, left))
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
    return True


async def bounded(aw: Awaitable[Any], timeout_s: float) -> bool:
    """Await `aw` for at most `timeout_s`; True when it finished (its exception, if any, dropped). Unlike
    ``asyncio.wait_for`` it never waits on a cancellation the awaitable may swallow: past the deadline it is
    cancelled once and left behind."""
    fut = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait({fut}, timeout=timeout_s)
    if not done:
        fut.cancel()
        return False
    with contextlib.suppress(asyncio.CancelledError, Exception):
        fut.result()
    return True
