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


def test_line_log_writes_what_logger_info_writes_and_steps_aside_for_other_set_ups():
    from hft.live.logs import LineLog, LoopTurnHandler

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    out = CountingStream()
    h = LoopTurnHandler(out)
    h.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.handlers[:] = [h]
    log = logging.getLogger("hft.test.lineline")
    log.setLevel(logging.INFO)
    fast = LineLog(log)
    try:
        assert fast.enabled()
        fast.info('{"a":1,"pct":"100%s"}')  # no %-formatting of the line
        log.info('{"a":1,"pct":"100%s"}')
        assert out.writes == ['INFO hft.test.lineline: {"a":1,"pct":"100%s"}\n'] * 2
        assert fast._prefix[1] == "INFO hft.test.lineline: "  # the record-free path was taken
        # a second handler (a test's capture, say): the line goes through logging to both
        other = CountingStream()
        root.addHandler(logging.StreamHandler(other))
        fast.info("b")
        assert out.writes[-1] == "INFO hft.test.lineline: b\n" and other.writes[0] == "b\n"
        root.handlers[:] = [h]
        # a format with a per-record field: through logging (the time is there)
        h.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        fast.info("c")
        assert out.writes[-1].endswith(" c\n") and out.writes[-1][:4].isdigit()
        assert fast._prefix[1] is None
        log.setLevel(logging.WARNING)
        assert not fast.enabled()
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        log.setLevel(logging.NOTSET)
