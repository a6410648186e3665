"""`SignalBus`: the NATS JetStream connection of the live service, fail-closed.

One connection (nats-py), one stream (``signals.bus.stream``, subjects ``<prefix>.>``, limits retention from the
config, a duplicate window equal to the webhook replay window so a re-sent message id is stored once). Acks come
to one inbox subscription, are taken straight from nats-py's parser and resolve a future per reply token
(decoded by msgspec); one sweep task fails those not answered within ``publish_timeout``: no nats-py future,
semaphore, timer, JSON parse, message object or callback task per message.
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
import re
from collections import Counter
from typing import Any

import msgspec

from hft.config.signals import BusConfig
from hft.core.tasks import bounded, cancel_and_wait

log = logging.getLogger("hft.bus")
_TOKEN_RE = re.compile(r"[!-~]+")  # a subject or header value in a protocol frame: printable ASCII, no space


class _Ack(msgspec.Struct):
    """A JetStream publish ack (``{"stream", "seq", "duplicate"}``) or its error."""

    seq: int = 0
    duplicate: bool = False
    error: dict | None = None


_decode_ack = msgspec.json.Decoder(_Ack).decode


def _ack_error(ack: _Ack) -> Exception:
    e = ack.error or {}
    return RuntimeError(f"JetStream refused: {e.get('description', e)} (code {e.get('err_code')})")


class BusDown(Exception):
    """The bus could not take the message (down, blip buffer full, no ack in time)."""


class PayloadTooLarge(ValueError):
    """A message over the server's ``max_payload`` (its headers included): it will never be published, however
    often it is sent, so it is not the bus being down."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"a message of {size} bytes is over the bus's max_payload of {limit}")
        self.size = size
        self.limit = limit


def _headers(msg_id: str) -> bytes:
    return b"NATS/1.0\r\nNats-Msg-Id: %s\r\n\r\n" % msg_id.encode()


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
        # JetStream acks come to one subscription, <inbox>.<token>; a future per pending token
        self._inbox = ""
        self._inbox_b = b""
        self._pending: dict[bytes, tuple[asyncio.Future, float]] = {}  # token -> (future, deadline)
        self._replies = 0
        self._timeout_s = cfg.publish_timeout_ns / 1e9
        self._sweep_s = min(0.05, self._timeout_s / 10)
        self._sweeper: asyncio.Task | None = None
        self._loop: Any = None

    def subject(self, name: str) -> str:
        return f"{self.cfg.subject_prefix}.{name}"

    @property
    def connected(self) -> bool:
        return self._up.is_set()

    def on_ready(self, cb: Any) -> None:
        """`cb(bus)` (a coroutine function) runs after every (re)connection with the stream in place."""
        self._ready_cbs.append(cb)

    # ------------------------------------------------------------------ connection
    @property
    def started(self) -> bool:
        """Whether `start` was called (the connection loop runs, or ran until `close`)."""
        return self._task is not None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._connect_loop(), name="hft-bus-connect")
        self._sweeper = asyncio.create_task(self._sweep(), name="hft-bus-ack-sweep")

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
            inbox = nc.new_inbox() + "."
            try:  # the acks' subscription, kept across reconnections by nats-py
                sub = await nc.subscribe(inbox + "*")  # delivered by `_take_acks`
            except Exception as exc:  # lost at once: start over
                self._set_error(f"subscribe: {exc.__class__.__name__}: {exc}")
                with contextlib.suppress(Exception):
                    await nc.close()
                await asyncio.sleep(0.25)
                continue
            self._inbox = inbox
            self._inbox_b = inbox.encode()
            self._take_acks(nc, sub._id)
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
        for task in (self._task, self._sweeper):
            await cancel_and_wait(task)
        if self.nc is not None:  # every publish was awaited to its ack: nothing to drain
            self.state = "closing"
            await bounded(self.nc.close(), 2.0)
        self._up.clear()
        self.state = "closed"

    # ------------------------------------------------------------------ publishing
    async def publish_many(self, msgs: list[tuple[str, bytes, str]]) -> list[int]:
        """Publish ``(subject, data, msg_id)`` messages together and wait for JetStream's acks (one timeout for
        all); their stream sequences. `BusDown` unless every message was acknowledged."""
        if not self._up.is_set():
            await self._wait_for_bus(msgs)
        limit = self.nc.max_payload  # the connected server's (its INFO)
        size = max(len(_headers(msg_id)) + len(data) for _, data, msg_id in msgs)
        if size > limit:
            for subject, _, _ in msgs:
                self.published[(subject, "too_large")] += 1
            raise PayloadTooLarge(size, limit)
        try:
            acks = await self._publish_each(msgs)
        except Exception as exc:
            for subject, _, _ in msgs:
                self.published[(subject, "error")] += 1
            raise BusDown(f"publish not acknowledged: {exc.__class__.__name__}: {exc}") from None
        published = self.published
        for (subject, _, _), (_, dup) in zip(msgs, acks, strict=True):
            published[(subject, "duplicate" if dup else "ok")] += 1
        return [seq for seq, _ in acks]

    async def _publish_each(self, msgs: list[tuple[str, bytes, str]]) -> list[tuple[int, bool]]:
        """Every message with its own reply; (sequence, duplicate) per message once all are acknowledged."""
        toks: list[bytes] = []
        futs: list[asyncio.Future] = []
        try:
            frames = []
            for subject, data, msg_id in msgs:
                tok, fut = self._expect()
                toks.append(tok)
                futs.append(fut)
                frames.append(self._hpub(subject, self._inbox_b + tok, msg_id, data))
            await self._send(b"".join(frames))
            out = []
            for fut in futs:
                ack = await fut
                if ack.error is not None:
                    raise _ack_error(ack)
                out.append((ack.seq, ack.duplicate))
            return out
        finally:
            self._abandon(toks)
            for fut in futs:  # an ack error after the first: retrieved, so asyncio does not warn about it
                if fut.done() and not fut.cancelled():
                    fut.exception()

    def _hpub(self, subject: str, reply: bytes, msg_id: str, data: bytes) -> bytes:
        """The protocol frame of one message with its ``Nats-Msg-Id`` header (what ``nc.publish`` builds from a
        header dict, at a quarter of its cost). Refuses what would break the frame or the server's limit."""
        hdr = _headers(msg_id)
        if len(hdr) + len(data) > self.nc.max_payload:  # the server counts headers and data (HPUB's total)
            raise PayloadTooLarge(len(hdr) + len(data), self.nc.max_payload)
        if not _TOKEN_RE.fullmatch(msg_id) or not _TOKEN_RE.fullmatch(subject):
            raise ValueError(f"subject {subject!r} / message id {msg_id!r}: expected no space or control character")
        return b"HPUB %s %s %d %d\r\n%s%s\r\n" % (subject.encode(), reply, len(hdr), len(hdr) + len(data),
                                                   hdr, data)

    async def _send(self, frames: bytes) -> None:
        """Queue `frames` on the connection and wake nats-py's flusher (the checks and tail of ``nc.publish``,
        nats-py 2.16's private `_send_command` / `_flush_pending`: nats-py writes what a loop turn queued in one
        write). While reconnecting nats-py buffers them up to its `pending_size`."""
        nc = self.nc
        if nc.is_closed:
            raise ConnectionError("nats connection closed")
        if not nc.is_connected and len(frames) + nc.pending_data_size > nc._max_pending_size:
            raise ConnectionError("nats reconnecting and its buffer is full")  # as nc.publish refuses it
        await nc._send_command(frames)
        if nc._flush_queue is not None and nc._flush_queue.empty():
            await nc._flush_pending()

    def _expect(self) -> tuple[bytes, asyncio.Future]:
        """A reply token and the future its JetStream ack resolves (or the sweep fails after the timeout)."""
        self._replies += 1
        tok = b"%d" % self._replies
        fut = self._loop.create_future()
        self._pending[tok] = (fut, self._loop.time() + self._timeout_s)
        return tok, fut

    def _abandon(self, toks: Any) -> None:
        """Forget the replies of `toks` (answered ones are gone already); a later ack is dropped."""
        for tok in toks:
            entry = self._pending.pop(tok, None)
            if entry is not None:
                entry[0].cancel()

    def _take_acks(self, nc: Any, sid: int) -> None:
        """Deliver the messages of the acks' subscription `sid` straight from nats-py's parser to `_resolve`:
        no `Msg` object, header dict, subscription queue and callback task per ack (nats-py 2.16's private
        `_process_msg(sid, subject, reply, data, headers)`, which its parser awaits per message; every other
        subscription goes through it unchanged). `tests/service/test_signals_bus.py` runs it against a real
        nats-server, so a nats-py upgrade that moves it fails there."""
        deliver = nc._process_msg
        prefix = len(self._inbox_b)
        resolve = self._resolve

        async def process_msg(sid_: int, subject: bytes, reply: bytes, data: bytes, headers: bytes | None) -> None:
            if sid_ == sid:
                resolve(bytes(subject[prefix:]), data, headers)
            else:
                await deliver(sid_, subject, reply, data, headers)

        nc._process_msg = process_msg

    def _resolve(self, tok: bytes, data: bytes, headers: bytes | None) -> None:
        """A JetStream reply on the bus's inbox: resolve the future of its token."""
        entry = self._pending.pop(tok, None)
        if entry is None or entry[0].done():
            return
        fut = entry[0]
        if not data:  # a status message (``NATS/1.0 503``): no responders (no stream, JetStream off)
            status = headers[9:].split(b"\r\n", 1)[0].strip().decode("latin-1") if headers else ""
            fut.set_exception(RuntimeError(f"no JetStream answer (status {status or 'empty'})"))
            return
        try:
            fut.set_result(_decode_ack(data))
        except msgspec.DecodeError as exc:
            fut.set_exception(RuntimeError(f"unreadable JetStream ack: {exc}"))

    async def _sweep(self) -> None:
        """Fail the acks that did not come within the publish timeout. One task for all instead of a timer per
        publish: the timeout is the same for all, so the pending map (insertion order) is in deadline order."""
        pending = self._pending
        while True:
            await asyncio.sleep(self._sweep_s)
            now = self._loop.time()
            while pending:
                tok = next(iter(pending))
                fut, deadline = pending[tok]
                if deadline > now:
                    break
                del pending[tok]
                if not fut.done():
                    fut.set_exception(TimeoutError(f"no ack within {self._timeout_s:g}s"))

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
