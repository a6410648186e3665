"""`LocalIntentChannel`: the bounded asyncio queue in front of `GatewayService.run()`.

Producers call `offer(envelope)` (non-blocking). When the queue is full the envelope is not queued: the
`on_full` callback (the service's `reject_queue_full`) records a QUEUE_FULL decision and `offer` returns
False — back-pressure is a recorded event, never a silent drop and never a blocked producer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

_STOP = object()


class LocalIntentChannel:
    """Bounded FIFO of intent envelopes for one consumer task (single event loop)."""

    def __init__(self, maxsize: int = 65536, on_full: Callable[[Any], Any] | None = None) -> None:
        if maxsize <= 0:
            raise ValueError(f"expected a positive channel capacity, was {maxsize}")
        self.maxsize = maxsize
        self.on_full = on_full
        self._q: asyncio.Queue = asyncio.Queue(maxsize)
        self.closed = False
        self.offered = 0
        self.rejected_full = 0

    def offer(self, envelope: Any) -> bool:
        """Queue `envelope`; on a full queue call `on_full(envelope)` and return False."""
        if self.closed:
            raise RuntimeError("channel closed: expected an open channel")
        self.offered += 1
        try:
            self._q.put_nowait(envelope)
        except asyncio.QueueFull:
            self.rejected_full += 1
            if self.on_full is not None:
                self.on_full(envelope)
            return False
        return True

    put_nowait = offer

    async def get(self) -> Any:
        """Next envelope, or None once the channel is closed and drained."""
        while True:
            if self.closed and self._q.empty():
                return None
            item = await self._q.get()
            if item is _STOP:
                continue
            return item

    def get_nowait(self) -> Any:
        """Next envelope or None when empty (no waiting)."""
        while not self._q.empty():
            item = self._q.get_nowait()
            if item is not _STOP:
                return item
        return None

    def qsize(self) -> int:
        return self._q.qsize()

    def close(self) -> None:
        """No more offers; the consumer drains what is queued and stops."""
        self.closed = True
        # wake a waiting consumer; when full, the consumer is busy and sees `closed` once the queue drains
        with contextlib.suppress(asyncio.QueueFull):
            self._q.put_nowait(_STOP)
