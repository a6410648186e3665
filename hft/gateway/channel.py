"""`LocalIntentChannel`: the bounded asyncio queue in front of `GatewayService.run()`.

Producers call `offer(envelope)` (non-blocking). When the queue is full the envelope is not queued: the
`on_full` callback (the service's `reject_queue_full`) records a QUEUE_FULL decision and `offer` returns
False — back-pressure is a recorded event, never a silent drop and never a blocked producer.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any


class LocalIntentChannel:
    """Bounded FIFO of intent envelopes for one consumer task (single event loop).

    An item may stand for several intents (`offer(item, weight=n)`: a batch read at once from one connection);
    the capacity and `qsize` count intents, not items. A deque and the one waiting consumer's future (no
    `asyncio.Queue` bookkeeping per item: the live intake offers an item per HTTP order)."""

    def __init__(self, maxsize: int = 65536, on_full: Callable[[Any], Any] | None = None) -> None:
        if maxsize <= 0:
            raise ValueError(f"expected a positive channel capacity, was {maxsize}")
        self.maxsize = maxsize
        self.on_full = on_full
        self._items: deque = deque()  # (item, weight); bounded by `_depth` below
        self._waiter: asyncio.Future | None = None  # the consumer waiting in `get`
        self._depth = 0
        self.closed = False
        self.offered = 0
        self.rejected_full = 0

    def offer(self, envelope: Any, weight: int = 1) -> bool:
        """Queue `envelope` (standing for `weight` intents); on a full queue call `on_full(envelope)` and return
        False."""
        if self.closed:
            raise RuntimeError("channel closed: expected an open channel")
        self.offered += weight
        if self._depth + weight > self.maxsize:
            self.rejected_full += weight
            if self.on_full is not None:
                self.on_full(envelope)
            return False
        self._depth += weight
        self._items.append((envelope, weight))
        self._wake()
        return True

    put_nowait = offer

    def _wake(self) -> None:
        w = self._waiter
        if w is not None:
            self._waiter = None
            if not w.done():
                w.set_result(None)

    async def get(self) -> Any:
        """Next envelope, or None once the channel is closed and drained."""
        while not self._items:
            if self.closed:
                return None
            if self._waiter is not None:
                raise RuntimeError("channel: expected one consumer, a second one is waiting")
            fut = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await fut
            finally:
                if self._waiter is fut:
                    self._waiter = None
        item, w = self._items.popleft()
        self._depth -= w
        return item

    def get_nowait(self) -> Any:
        """Next envelope or None when empty (no waiting)."""
        if not self._items:
            return None
        item, w = self._items.popleft()
        self._depth -= w
        return item

    def qsize(self) -> int:
        """Intents queued."""
        return self._depth

    def close(self) -> None:
        """No more offers; the consumer drains what is queued and stops."""
        self.closed = True
        self._wake()
