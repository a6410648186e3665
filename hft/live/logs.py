"""The service's log handler: the lines of one event-loop turn leave in one ``write(2)``.

The webhook door and the signal follower write one structured line per request (docs/signals.md). With a plain
`logging.StreamHandler` on an unbuffered stderr that is one system call per request, which under load costs as
much as the request's own checks. This handler queues the lines formatted on the loop's thread and writes them
with one write at the end of the loop turn (``call_soon``): nothing waits longer than the turn that logged it,
order is kept, and lines from other threads (the WAL's sync thread, say) are written at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TextIO


class LoopTurnHandler(logging.StreamHandler):
    """A `StreamHandler` that batches the lines logged on `bind`'s loop thread per loop turn."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._scheduled = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Batch the lines logged on this thread, written once per turn of `loop`."""
        self._loop = loop
        self._thread = threading.get_ident()

    def unbind(self) -> None:
        """Write what is queued; log at once from now on."""
        self._loop = None
        self.flush()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        loop = self._loop
        if loop is None or threading.get_ident() != self._thread or loop.is_closed():
            self._write(line)
            return
        self._pending.append(line)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write the queued lines (one write) and flush the stream."""
        self.acquire()
        try:
            self._scheduled = False
            if self._pending:
                lines = "".join(self._pending)
                self._pending.clear()
                self._write(lines)
            elif self.stream is not None and hasattr(self.stream, "flush"):
                self.stream.flush()
        finally:
            self.release()

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:  # a closed or broken stream: logging must never stop the service
            pass


def install(stream: TextIO, level: int = logging.WARNING,
            fmt: str = "%(levelname)s %(name)s: %(message)s") -> LoopTurnHandler:
    """Replace the root logger's handlers with one `LoopTurnHandler` on `stream` (what `hft gateway serve`
    does at start); returns it for `bind` once the loop runs."""
    handler = LoopTurnHandler(stream)
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
    return handler

