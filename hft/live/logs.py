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
import re
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
        self.emit_line(line)

    def emit_line(self, line: str) -> None:
        """Write `line` (formatted, terminated) like a record's: queued for the turn on the loop's thread."""
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
    does at start); returns it for `bind` once the loop runs.

    The process's records then skip what `fmt` does not show (the logging HOWTO's "Optimization"): the
    caller's frame (``logging._srcfile = None``: no stack walk per record), the thread, process and
    multiprocessing names (measured on the webhook handler in process: ~75 -> ~66 µs of CPU per webhook)."""
    if not re.search(r"%\((pathname|filename|module|funcName|lineno|thread|threadName|process|processName)\)", fmt):
        logging._srcfile = None  # type: ignore[attr-defined]  # documented switch of the stdlib
        logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = LoopTurnHandler(stream)
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


# fields of a format that differ from record to record (beyond the message): such a format needs a record
_PER_RECORD = re.compile(r"%\((?!levelname\)|name\)|message\)|levelno\))[A-Za-z_]+\)|\{")


class LineLog:
    """``info(line)`` does what ``logger.info(line)`` does, without building a `LogRecord` when the line's only
    destination is one `LoopTurnHandler` whose format shows nothing per record but the level, the logger's name
    and the message (the service's ``INFO hft.signals: {json}``): the formatted prefix is cached and the line
    queued on the handler. Any other set-up (another handler or a filter anywhere on the way, a format with a
    time or a caller, a handler above INFO) takes ``logger.info``. For the one line per request of the webhook
    door (measured in process, with the lean records of `install`: ~66 -> ~55 µs of CPU per webhook)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self._prefix: tuple[logging.Formatter | None, str | None] = (None, None)  # (formatter, its prefix)

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def info(self, line: str) -> None:
        """`line` at INFO (the caller checked `enabled`); no %-formatting of `line`."""
        h = self._direct()
        if h is None:
            self.logger.info("%s", line)
        else:
            h.acquire()  # as Handler.handle does around emit
            try:
                h.emit_line(self._prefix[1] + line + h.terminator)  # type: ignore[operator]
            finally:
                h.release()

    def _direct(self) -> LoopTurnHandler | None:
        c: logging.Logger | None = self.logger
        root = logging.getLogger()
        while c is not None and c is not root:
            if c.handlers or c.filters or not c.propagate:
                return None
            c = c.parent  # type: ignore[assignment]
        hs = root.handlers
        if c is None or root.filters or len(hs) != 1 or type(hs[0]) is not LoopTurnHandler:
            return None
        h = hs[0]
        f = h.formatter
        if h.filters or h.level > logging.INFO or f is None:
            return None
        if self._prefix[0] is not f:
            fmt = getattr(f, "_fmt", None)
            ok = isinstance(fmt, str) and fmt.endswith("%(message)s") and not _PER_RECORD.search(fmt)
            rec = logging.LogRecord(self.logger.name, logging.INFO, "", 0, "", None, None)
            self._prefix = (f, f.format(rec) if ok else None)
        return h if self._prefix[1] is not None else None
