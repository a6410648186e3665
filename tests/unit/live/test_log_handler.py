"""hft.live.logs: the lines of one event-loop turn leave in one write, in order; other threads write at once."""

from __future__ import annotations

import asyncio
import logging
import threading


class CountingStream:
    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, s: str) -> None:
        self.writes.append(s)

    def flush(self) -> None:
        pass


def _logger(handler: logging.Handler) -> logging.Logger:
    log = logging.getLogger("hft.test.loopturn")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
    return log


def test_lines_of_one_turn_are_one_write_and_the_next_turn_another():
    from hft.live.logs import LoopTurnHandler

    out = CountingStream()
    h = LoopTurnHandler(out)
    h.setFormatter(logging.Formatter("%(message)s"))
    log = _logger(h)

    async def main() -> list[int]:
        h.bind(asyncio.get_running_loop())
        for i in range(3):
            log.info("a%d", i)
        assert out.writes == []  # queued until the end of the turn
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        seen = [len(out.writes)]
        log.info("b")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        seen.append(len(out.writes))
        log.info("c")  # queued when the loop ends: unbind writes it
        h.unbind()
        return seen

    seen = asyncio.run(main())
    assert seen == [1, 2]
    assert out.writes == ["a0\na1\na2\n", "b\n", "c\n"]
    log.info("after")  # no loop: at once
    assert out.writes[-1] == "after\n"


def test_lines_from_another_thread_are_written_at_once():
    from hft.live.logs import LoopTurnHandler

    out = CountingStream()
    h = LoopTurnHandler(out)
    h.setFormatter(logging.Formatter("%(message)s"))
    log = _logger(h)

    async def main() -> None:
        h.bind(asyncio.get_running_loop())
        t = threading.Thread(target=log.warning, args=("from a thread",))
        t.start()
        t.join()
        assert out.writes == ["from a thread\n"]
        h.unbind()

    asyncio.run(main())
