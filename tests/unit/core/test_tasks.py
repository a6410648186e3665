"""`hft.core.tasks`: stopping a task that swallows its cancellation ends (or gives up) instead of waiting for
ever, the way a Ctrl-C'd `hft gateway serve --nats-embedded` once waited."""

from __future__ import annotations

import asyncio

from hft.core.tasks import bounded, cancel_and_wait


async def _swallows(times: int, log: list[str]) -> None:
    """Swallows its first `times` cancellations (as a library catching CancelledError does), then ends."""
    seen = 0
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen += 1
            log.append("cancelled")
            if seen > times:
                raise


def test_a_task_that_swallows_cancellations_is_cancelled_again_until_it_ends():
    async def main() -> tuple[bool, list[str], bool]:
        log: list[str] = []
        task = asyncio.create_task(_swallows(2, log))
        await asyncio.sleep(0)
        ended = await cancel_and_wait(task, timeout_s=5.0)
        return ended, log, task.cancelled()

    ended, log, cancelled = asyncio.run(main())
    assert ended and cancelled and log == ["cancelled"] * 3


def test_a_task_that_never_ends_is_left_after_the_deadline():
    async def main() -> tuple[bool, bool, float]:
        release = asyncio.Event()
        task = asyncio.create_task(_until(release))
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        ended = await cancel_and_wait(task, timeout_s=0.3)
        took = loop.time() - t0
        done = task.done()
        release.set()  # the test's own clean-up: let it end
        await asyncio.sleep(0.05)
        return ended, done, took

    ended, done, took = asyncio.run(main())
    assert not ended and not done and took < 5.0


def test_bounded_returns_false_past_its_deadline_and_true_when_done():
    async def main() -> tuple[bool, bool, bool, bool]:
        quick = await bounded(asyncio.sleep(0.01), 2.0)
        failing = await bounded(_raise(), 2.0)  # an exception is dropped: the step is over
        release = asyncio.Event()
        stuck = await bounded(_until(release), 0.2)  # swallows the cancellation past the deadline: left behind
        release.set()  # the test's own clean-up: let it end
        await asyncio.sleep(0.05)
        return quick, failing, stuck, release.is_set()

    assert asyncio.run(main()) == (True, True, False, True)


async def _until(release: asyncio.Event) -> None:
    """Ignores cancellation until `release` is set."""
    while not release.is_set():
        try:
            await release.wait()
        except asyncio.CancelledError:
            continue


async def _raise() -> None:
    raise RuntimeError("closing failed")
