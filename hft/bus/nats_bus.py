"""`SignalBus`: the NATS JetStream connection of the live service, fail-closed.

One connection (nats-py), one stream (``signals.bus.stream``, subjects ``<prefix>.>``, limits retention from the
config, a duplicate window equal to the webhook replay window so a re-sent message id is stored once).
`publish_many` returns only once JetStream acknowledged the message; otherwise it raises `BusDown`, and the caller
(the webhook) answers 503 and acknowledges nothing. While the connection is down a publish may wait for a
reconnect for ``blip`` at most, and at most ``buffer`` publishes wait at once: the bounded buffer for a short
blip, never more. The connection is retried in the background from start-up on, so a gateway starts even when
NATS is down (its webhooks answer 503 until it is up; /health shows the state).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any

from hft.config.signals import BusConfig

log = logging.getLogger("hft.bus")


class BusDown(Exception):
    """The bus could not take the message (down, blip buffer full, no ack in time)."""


class SignalBus:
    """See the module docstring. `start()` begins connecting in the background; `close()` drains."""

    def __init__(self, cfg: BusConfig, duplicate_window_ns: int = 120_000_000_000) -> None:
        self.cfg = cfg
        self.dup_window_s = max(1.0, duplicate_window_ns / 1e9)
        self.nc: Any = None
        self.js: Any = None
        self.state = "connecting"
        self.last_error = ""
        self._up = asyncio.Event()
        self._waiting = 0
        self._task: asyncio.Task | None = None
        self._ready_cbs: list[Any] = []
        self.published: Counter = Counter()  # (subject, status) -> n
        self.reconnects = 0

    def subject(self, name: str) -> str:
        return f"{self.cfg.subject_prefix}.{name}"

    @property
    def connected(self) -> bool:
        return self._up.is_set()

    def on_ready(self, cb: Any) -> None:
        """`cb(bus)` (a coroutine function) runs after every (re)connection with the stream in place."""
        self._ready_cbs.append(cb)

    # ------------------------------------------------------------------ connection
    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_loop(), name="hft-bus-connect")

    async def wait_connected(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._up.wait(), timeout)
        return self.connected

    async def _connect_loop(self) -> None:
        import nats

        while self.nc is None:
            try:
                nc = await nats.connect(
                    servers=[self.cfg.url], name="hft-gateway", connect_timeout=1, allow_reconnect=True,
                    max_reconnect_attempts=-1, reconnect_time_wait=0.2, ping_interval=1, max_outstanding_pings=2,
                    disconnected_cb=self._on_disconnect, reconnected_cb=self._on_reconnect,
                    error_cb=self._on_error, closed_cb=self._on_closed)
            except Exception as exc:  # unreachable: stay fail-closed and retry
                self._set_error(f"connect: {exc.__class__.__name__}: {exc}")
                await asyncio.sleep(0.25)
                continue
            self.nc = nc
            self.js = nc.jetstream(timeout=self.cfg.publish_timeout_ns / 1e9)
            await self._ready()

    async def _ready(self) -> None:
        """Stream in place, then open for publishing; a failure leaves the bus down and retries."""
        while self.nc is not None and self.nc.is_connected:
            try:
                await self._ensure_stream()
                for cb in self._ready_cbs:
                    await cb(self)
            except Exception as exc:
                self._set_error(f"stream: {exc.__class__.__name__}: {exc}")
                await asyncio.sleep(0.25)
                continue
            self.state = "connected"
            self._up.set()
            log.info("bus connected to %s (stream %s)", self.cfg.url, self.cfg.stream)
            return

    async def _ensure_stream(self) -> None:
        from nats.js.api import RetentionPolicy, StorageType, StreamConfig
        from nats.js.errors import NotFoundError

        c = self.cfg
        sc = StreamConfig(name=c.stream, subjects=[f"{c.subject_prefix}.>"], retention=RetentionPolicy.LIMITS,
                          max_age=c.max_age_ns / 1e9, max_msgs=c.max_msgs, max_bytes=c.max_bytes,
                          storage=StorageType.FILE if c.storage == "file" else StorageType.MEMORY,
                          duplicate_window=min(self.dup_window_s, c.max_age_ns / 1e9))
        try:
            await self.js.stream_info(c.stream)
        except NotFoundError:
            await self.js.add_stream(sc)
            return
        await self.js.update_stream(sc)

    def _set_error(self, msg: str) -> None:
        if msg != self.last_error:
            log.warning("bus: %s", msg)
        self.last_error = msg

    async def _on_disconnect(self) -> None:
        self._up.clear()
        if self.state != "closing":
            self.state = "disconnected"
            self._set_error("disconnected")

    async def _on_reconnect(self) -> None:
        self.reconnects += 1
        asyncio.get_running_loop().create_task(self._ready())

    async def _on_error(self, exc: Exception) -> None:
        self._set_error(f"{exc.__class__.__name__}: {exc}")

    async def _on_closed(self) -> None:
        self._up.clear()
        self.state = "closed"

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.nc is not None:  # every publish was awaited to its ack: nothing to drain
            self.state = "closing"
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.close(), 2)
        self._up.clear()
        self.state = "closed"

    # ------------------------------------------------------------------ publishing
    async def publish_many(self, msgs: list[tuple[str, bytes, str]]) -> list[int]:
        """Publish ``(subject, data, msg_id)`` messages together and wait for JetStream's acks (one timeout for
        all); their stream sequences. `BusDown` unless every message was acknowledged."""
        if not self._up.is_set():
            await self._wait_for_bus(msgs)
        futs: list[asyncio.Future] = []
        timeout = self.cfg.publish_timeout_ns / 1e9

        try:  # one timeout over sending (nats-py's pending-ack semaphore may stall) and every ack; a timeout
            # scope, not wait_for: no task per webhook
            async with asyncio.timeout(timeout):
                for subject, data, msg_id in msgs:
                    futs.append(await self.js.publish_async(subject, data, headers={"Nats-Msg-Id": msg_id}))
                acks = [await f for f in futs]
        except Exception as exc:
            for f in futs:
                f.cancel()  # frees nats-py's pending slot; an ack that comes later is dropped
            for subject, _, _ in msgs:
                self.published[(subject, "error")] += 1
            why = str(exc) or f"no ack within {timeout:g}s"
            raise BusDown(f"publish not acknowledged: {exc.__class__.__name__}: {why}") from None
        for (subject, _, _), ack in zip(msgs, acks, strict=True):
            self.published[(subject, "duplicate" if ack.duplicate else "ok")] += 1
        return [int(a.seq) for a in acks]

    async def _wait_for_bus(self, msgs: list[tuple[str, bytes, str]]) -> None:
        """The bounded blip buffer: wait for a reconnect, at most `blip`, at most `buffer` waiters at once."""
        if self._waiting >= self.cfg.buffer:
            for subject, _, _ in msgs:
                self.published[(subject, "refused")] += 1
            raise BusDown(f"bus {self.state}: {self._waiting} webhooks already wait for it")
        self._waiting += 1
        try:
            await asyncio.wait_for(self._up.wait(), self.cfg.blip_ns / 1e9)
        except TimeoutError:
            for subject, _, _ in msgs:
                self.published[(subject, "refused")] += 1
            raise BusDown(f"bus {self.state} for more than {self.cfg.blip_ns / 1e9:g}s: {self.last_error}") from None
        finally:
            self._waiting -= 1

    def health(self) -> dict[str, Any]:
        return {"state": self.state, "url": self.cfg.url, "stream": self.cfg.stream, "waiting": self._waiting,
                "reconnects": self.reconnects, "last_error": self.last_error,
                "published": sum(n for (_, st), n in self.published.items() if st in ("ok", "duplicate"))}
