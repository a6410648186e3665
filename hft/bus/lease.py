"""Leases as NATS KV entries with a TTL: `KVLease` (one key), `LeaderLease` (who leads among `hft gateway serve`
processes) and `ShardLeases` (which WAL loader loads which WAL directory, `hft audit load --workers-bus`).

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
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hft.config.signals import HAConfig
from hft.core.errors import StoreError
from hft.core.tasks import bounded, cancel_and_wait

log = logging.getLogger("hft.bus.lease")
KEY = "leader"


async def open_bucket(js: Any, bucket: str, ttl_s: float) -> Any:
    """The JetStream KV bucket `bucket`, created if missing with one revision per key and entries aging out after
    `ttl_s` (the lease's time to live)."""
    from nats.js.api import KeyValueConfig

    try:
        return await js.key_value(bucket)
    except Exception:
        return await js.create_key_value(KeyValueConfig(bucket=bucket, history=1, ttl=ttl_s))


class KVLease:
    """One key of a KV bucket (`open_bucket`) held as a lease by `holder`: taken by *creating* the key (refused
    while another holder's entry lives), kept by *updating* it with the revision last written (compare-and-set),
    given back by deleting that revision. The holder counts itself as holding until `grace_s` (the bucket's ttl
    minus the renew period) after it *sent* its last successful write (`valid`). The renew loop is the caller's:
    `LeaderLease` (the gateway's leader) and `hft.recorder.shard_lease.ShardLeases` (WAL loaders) run one."""

    def __init__(self, kv: Any, key: str, holder: str, grace_s: float) -> None:
        self.kv = kv
        self.key = key
        self.holder = holder
        self.grace_s = grace_s
        self.held = False
        self.revision = 0
        self.deadline = 0.0  # monotonic time by which a holder must have renewed, else the lease is lost
        self.seen_holder: str | None = None  # who holds the key as last seen

    async def acquire(self) -> bool:
        """Create the key; False (and `seen_holder` set) while another holder's entry lives, or when it aged out
        in the middle of the create (nats-py's `create` then raises KeyNotFoundError: the next try takes it)."""
        from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

        sent = time.monotonic()
        try:
            self.revision = await self.kv.create(self.key, self.holder.encode())
        except KeyNotFoundError:  # refused as existing, then gone when the client looked: free at the next try
            self.seen_holder = None
            return False
        except KeyWrongLastSequenceError:
            with contextlib.suppress(Exception):
                e = await self.kv.get(self.key)
                self.seen_holder = e.value.decode() if e and e.value else None
            return False
        self.held = True
        self.seen_holder = self.holder
        self.deadline = sent + self.grace_s
        return True

    async def renew(self) -> bool | None:
        """One compare-and-set renewal, bounded by the deadline: True renewed; False refused (another holder wrote:
        the lease is lost at once); None unanswered by the deadline (abandoned: the lease is lost)."""
        from nats.js.errors import KeyWrongLastSequenceError

        sent = time.monotonic()
        left = self.deadline - sent
        if left <= 0:
            return None
        update = asyncio.ensure_future(self.kv.update(self.key, self.holder.encode(), last=self.revision))
        done, _ = await asyncio.wait({update}, timeout=left)
        if not done:
            update.cancel()
            return None
        try:
            self.revision = update.result()
        except KeyWrongLastSequenceError:
            self.held = False
            return False
        self.deadline = sent + self.grace_s
        return True

    async def release(self, timeout_s: float = 1.0) -> None:
        """Delete the key if still ours (the revision last written): the next claimant need not wait it out."""
        if self.held:
            self.held = False
            await bounded(self.kv.delete(self.key, last=self.revision), timeout_s)

    def valid(self) -> bool:
        """Held, and the deadline not passed."""
        return self.held and time.monotonic() < self.deadline


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
        self._key: KVLease | None = None
        self.changes = 0
        self.task: asyncio.Task | None = None

    @property
    def revision(self) -> int:
        return self._key.revision if self._key is not None else 0

    @property
    def deadline(self) -> float:
        """Monotonic time by which a leader must have renewed, else the lease is lost."""
        return self._key.deadline if self._key is not None else 0.0

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="hft-leader-lease")

    async def stop(self) -> None:
        await cancel_and_wait(self.task)
        if self.leader and self._key is not None:  # a clean stop hands over at once
            await self._key.release()
        self.leader = False

    async def _bucket(self) -> Any:
        return await open_bucket(self.bus.js, self.cfg.bucket, self.cfg.lease_ttl_ns / 1e9)

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
        if self._key is None or self._key.kv is not self.kv:
            self._key = KVLease(self.kv, KEY, self.node, self.grace_s)
        if not await self._key.acquire():
            self.holder = self._key.seen_holder
            return
        self.leader = True
        self.holder = self.node
        self.changes += 1
        log.warning("lease: %s is the leader (revision %d)", self.node, self.revision)
        await self.on_acquired()

    async def _renew(self) -> None:
        """One renewal (`KVLease.renew`): unanswered by the deadline, the caller steps down; refused, the lease is
        lost at once."""
        assert self._key is not None
        if await self._key.renew() is False:
            await self._lose("another node holds the lease")

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


class ShardLeases:
    """Leases on named shards for processes sharing work (`hft audit load --workers-bus`: one shard per WAL
    directory), from synchronous code: a `KVLease` per shard in the bucket `bucket`, renewed every `renew_s` by a
    background thread's event loop while held. A holder that dies stops renewing; its entry ages out after `ttl_s`
    and another process's `claim` succeeds.

    Args:
        url: the NATS server (``nats://host:4222``); JetStream must be on.
        holder: who claims (written as the key's value; default ``host:pid``).
        ttl_s / renew_s: the bucket's max-age and the renew period (a holder counts itself as holding for
            ``ttl_s - renew_s`` after its last successful write was sent).

    Raises:
        StoreError: NATS unreachable within `connect_timeout_s`.
    """

    def __init__(self, url: str, *, bucket: str = "hft_wal_loaders", holder: str | None = None,
                 ttl_s: float = 10.0, renew_s: float = 2.0, connect_timeout_s: float = 5.0) -> None:
        if not 0 < renew_s < ttl_s:
            raise ValueError(f"expected 0 < renew_s < ttl_s, were {renew_s} and {ttl_s}")
        self.url = url
        self.bucket = bucket
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self.ttl_s = ttl_s
        self.renew_s = renew_s
        self._leases: dict[str, KVLease] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hft-shard-leases", daemon=True)
        self._thread.start()
        try:
            self._nc, self._kv = self._call(self._connect(), connect_timeout_s + 5.0)
        except BaseException as exc:
            self._stop_loop()
            why = f"{exc.__class__.__name__}: {exc}" if str(exc) else f"no answer within {connect_timeout_s + 5:g} s"
            raise StoreError(f"{url}: cannot open the loaders' lease bucket {bucket!r} on NATS ({why})",
                             hint="start nats-server with JetStream (-js), or drop --workers-bus to load alone",
                             url=url) from None
        self._renewer = self._call(self._start_renewer(), 5.0)

    def _call(self, coro: Awaitable[Any], timeout_s: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    async def _connect(self) -> tuple[Any, Any]:
        import nats

        async def quiet(exc: Exception) -> None:  # nats-py would print each failed reconnect's traceback
            return None

        nc = await nats.connect(self.url, name=f"hft-loader {self.holder}", connect_timeout=2,
                                allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=0.2,
                                error_cb=quiet)
        try:
            return nc, await open_bucket(nc.jetstream(timeout=2.0), self.bucket, self.ttl_s)
        except BaseException:
            await nc.close()
            raise

    async def _start_renewer(self) -> asyncio.Task:
        return asyncio.create_task(self._renew_loop(), name="hft-shard-leases-renew")

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.renew_s)
            for key, lease in list(self._leases.items()):
                if not lease.held:
                    continue
                try:
                    ok = await lease.renew()
                except Exception as exc:  # the bus down: retried next period until the deadline passes
                    log.warning("shard lease %s: renew failed: %s: %s", key, exc.__class__.__name__, exc)
                    continue
                if ok is False:
                    log.error("shard lease %s: %s lost it (another holder wrote)", key, self.holder)

    def claim(self, key: str) -> bool:
        """Take the lease on shard `key`; False while another holder's entry lives (`holder_of` names it)."""
        lease = self._leases.get(key) or KVLease(self._kv, key, self.holder, self.ttl_s - self.renew_s)
        self._leases[key] = lease
        if lease.valid():
            return True
        lease.held = False
        return bool(self._call(lease.acquire(), self.ttl_s))

    def holder_of(self, key: str) -> str | None:
        """The holder of `key` as last seen by `claim`."""
        lease = self._leases.get(key)
        return lease.seen_holder if lease is not None else None

    def valid(self, key: str) -> bool:
        """Whether this process still holds `key`: claimed, renewed, and its deadline not passed. Ask right before
        each step that must not overlap another holder's (a loader: before each batch and its manifest update)."""
        lease = self._leases.get(key)
        return lease is not None and lease.valid()

    def release(self, key: str) -> None:
        """Give `key` back (its entry deleted if still ours): another claimant need not wait for it to age out."""
        lease = self._leases.get(key)
        if lease is not None and lease.held:
            with contextlib.suppress(Exception):
                self._call(lease.release(), 3.0)

    def close(self) -> None:
        """Release every held lease, close the connection, stop the thread."""
        if not self._thread.is_alive():
            return
        for key in list(self._leases):
            self.release(key)

        async def down() -> None:
            await cancel_and_wait(self._renewer)
            with contextlib.suppress(Exception):
                await self._nc.close()

        with contextlib.suppress(Exception):
            self._call(down(), 10.0)
        self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> ShardLeases:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
