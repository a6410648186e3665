"""`LeaderLease`: who leads among `hft gateway serve` processes, as a NATS KV entry with a TTL.

The bucket (``signals.ha.bucket``) keeps one revision per key and ages entries out after ``lease_ttl``. A node
becomes leader by *creating* the key ``leader`` (refused while another node's entry lives), and stays leader by
*updating* it every ``renew`` with the revision it last wrote (compare-and-set: refused if anyone else wrote in
between). A leader that cannot renew (the bus is down, or the CAS fails) for ``lease_ttl - renew`` considers the
lease lost before it can have lapsed for anyone else, and calls ``on_lost`` — the server steps down then. That
span is counted from when the last successful write was *sent* (the server stored it later, so its entry ages out
later), and it is kept however the renewal goes: a renewal still unanswered at the deadline (a bus that died with
the request in flight: the client would wait out its own request timeout) is abandoned, and the loop wakes at
the deadline instead of at its next ``renew`` tick; and the writer checks the deadline itself before each
dispatch (`may_dispatch`), so a step that outlived it sends nothing. A standby retries the create every
``renew``; it succeeds once the dead leader's entry aged out. The lease is NATS's (JetStream's per-key compare-and-set and max-age),
nothing home-made beyond the renew loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hft.config.signals import HAConfig
from hft.core.tasks import bounded, cancel_and_wait

log = logging.getLogger("hft.bus.lease")
KEY = "leader"


class LeaderLease:
    """See the module docstring. `on_acquired()` / `on_lost()` are coroutine functions."""

    def __init__(self, cfg: HAConfig, bus: Any, on_acquired: Callable[[], Awaitable[None]],
                 on_lost: Callable[[], Awaitable[None]]) -> None:
        self.cfg = cfg
        self.bus = bus
        self.node = cfg.node_id
        self.on_acquired = on_acquired
        self.on_lost = on_lost
        self.kv: Any = None
        self.leader = False
        self.holder: str | None = None  # who holds the lease as last seen
        self.revision = 0
        self.deadline = 0.0  # monotonic time by which a leader must have renewed, else the lease is lost
        self.changes = 0
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="hft-leader-lease")

    async def stop(self) -> None:
        await cancel_and_wait(self.task)
        if self.leader and self.kv is not None:  # a clean stop hands over at once
            await bounded(self.kv.delete(KEY, last=self.revision), 1.0)
        self.leader = False

    async def _bucket(self) -> Any:
        from nats.js.api import KeyValueConfig

        js = self.bus.js
        try:
            return await js.key_value(self.cfg.bucket)
        except Exception:
            return await js.create_key_value(KeyValueConfig(bucket=self.cfg.bucket, history=1,
                                                            ttl=self.cfg.lease_ttl_ns / 1e9))

    @property
    def grace_s(self) -> float:
        """How long after sending its last successful write a leader still counts as one: ``lease_ttl - renew``."""
        return (self.cfg.lease_ttl_ns - self.cfg.renew_ns) / 1e9

    async def _run(self) -> None:
        period = self.cfg.renew_ns / 1e9
        while True:
            try:
                if self.kv is None and self.bus.connected:
                    self.kv = await self._bucket()
                if self.kv is not None and self.bus.connected:
                    await (self._renew() if self.leader else self._try_acquire())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("lease: %s: %s", exc.__class__.__name__, exc)
                if not self.leader:
                    self.kv = None if not self.bus.connected else self.kv
            if self.leader and time.monotonic() >= self.deadline:
                await self._lose("not renewed within the lease")
            # a leader wakes at its deadline at the latest (not up to a whole period after it)
            await asyncio.sleep(min(period, max(0.0, self.deadline - time.monotonic())) if self.leader else period)

    async def _try_acquire(self) -> None:
        from nats.js.errors import KeyWrongLastSequenceError

        sent = time.monotonic()
        try:
            self.revision = await self.kv.create(KEY, self.node.encode())
        except KeyWrongLastSequenceError:
            with contextlib.suppress(Exception):
                e = await self.kv.get(KEY)
                self.holder = e.value.decode() if e and e.value else None
            return
        self.leader = True
        self.holder = self.node
        self.deadline = sent + self.grace_s
        self.changes += 1
        log.warning("lease: %s is the leader (revision %d)", self.node, self.revision)
        await self.on_acquired()

    async def _renew(self) -> None:
        """One compare-and-set renewal, bounded by the deadline: unanswered by then, it is abandoned (the caller
        then steps down); refused, the lease is lost at once."""
        from nats.js.errors import KeyWrongLastSequenceError

        sent = time.monotonic()
        left = self.deadline - sent
        if left <= 0:
            return
        update = asyncio.ensure_future(self.kv.update(KEY, self.node.encode(), last=self.revision))
        done, _ = await asyncio.wait({update}, timeout=left)
        if not done:
            update.cancel()
            return
        try:
            self.revision = update.result()
        except KeyWrongLastSequenceError:
            await self._lose("another node holds the lease")
            return
        self.deadline = sent + self.grace_s

    async def _lose(self, why: str) -> None:
        if not self.leader:
            return
        self.leader = False
        self.changes += 1
        log.error("lease: %s lost the lead (%s)", self.node, why)
        await self.on_lost()

    def may_dispatch(self) -> bool:
        """Whether this process may still send commands: it leads and its deadline has not passed. The writer asks
        right before each dispatch (`LiveGateway.fence`): a leader whose loop stalled past its deadline (a WAL
        write held up by the disk, a long pause) would otherwise send that step's commands before its renew loop
        wakes to step down, while a standby may already have taken over."""
        return self.leader and time.monotonic() < self.deadline

    def health(self) -> dict[str, Any]:
        return {"node": self.node, "role": "leader" if self.leader else "standby", "holder": self.holder,
                "changes": self.changes, "lease_ttl_s": self.cfg.lease_ttl_ns / 1e9}
