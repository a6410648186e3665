"""`LeaderLease` fencing on a fake KV bucket (no NATS): the leader steps down ``lease_ttl - renew`` after it
*sent* its last successful write, even when a renewal hangs unanswered (a bus that died with the request in
flight) and whatever the phase of the renew loop."""

from __future__ import annotations

import asyncio
import time

from hft.bus.lease import LeaderLease
from hft.config.signals import HAConfig

TTL_S, RENEW_S = 1.2, 0.3  # grace: 0.9 s


class _Bus:
    connected = True


class _KV:
    """A bucket whose writes answer after `delay_s` (None: never) once `hang_after` of them were answered."""

    def __init__(self, delay_s: float = 0.0, hang_after: int | None = None) -> None:
        self.delay_s = delay_s
        self.hang_after = hang_after
        self.writes = 0
        self.sent: list[float] = []  # monotonic time each write was sent
        self.answered: list[float] = []  # monotonic send time of each write answered

    async def _write(self) -> int:
        sent = time.monotonic()
        self.sent.append(sent)
        if self.hang_after is not None and self.writes >= self.hang_after:
            await asyncio.Event().wait()  # in flight for ever: the server died after reading it
        await asyncio.sleep(self.delay_s)
        self.writes += 1
        self.answered.append(sent)
        return self.writes

    async def create(self, key: str, value: bytes) -> int:
        return await self._write()

    async def update(self, key: str, value: bytes, last: int) -> int:
        return await self._write()

    async def delete(self, key: str, last: int) -> None:
        return None


def _run(kv: _KV, limit_s: float = 5.0) -> tuple[float | None, LeaderLease]:
    """Start a lease on `kv`; the monotonic time `on_lost` was called (None: not within `limit_s`)."""

    async def go() -> tuple[float | None, LeaderLease]:
        lost = asyncio.get_running_loop().create_future()

        async def acquired() -> None:
            return None

        async def on_lost() -> None:
            lost.set_result(time.monotonic())

        lease = LeaderLease(HAConfig(enabled=True, node_id="n1", lease_ttl_ns=int(TTL_S * 1e9),
                                     renew_ns=int(RENEW_S * 1e9)), _Bus(), acquired, on_lost)
        lease.kv = kv
        lease.start()
        try:
            done, _ = await asyncio.wait({lost}, timeout=limit_s)
            return (lost.result() if done else None), lease
        finally:
            await lease.stop()

    return asyncio.run(go())


def test_a_renewal_in_flight_does_not_outlive_the_lease():
    # the second renewal never comes back: without a bound the leader would wait for it (the NATS client's
    # own request timeout, 2 s by default) while its entry ages out on the server
    kv = _KV(hang_after=3)
    at, lease = _run(kv)
    assert at is not None and not lease.leader
    assert at >= kv.answered[-1] + TTL_S - RENEW_S - 0.01  # counted from the send of the last answered write
    assert at < kv.answered[-1] + TTL_S, at - kv.answered[-1]  # before the entry can have aged out for others


def test_the_deadline_counts_from_the_send_of_a_slow_answer():
    # each write is answered 0.35 s after it was sent: counted from the answer, the leader would outlive its entry
    # (answer + grace = send + 1.25 s > send + lease_ttl)
    kv = _KV(delay_s=0.35, hang_after=2)
    at, _ = _run(kv)
    assert at is not None
    assert at < kv.answered[-1] + TTL_S, at - kv.answered[-1]


def test_a_leader_that_renews_stays_leader():
    kv = _KV(delay_s=0.01)
    at, _ = _run(kv, limit_s=2.0)
    assert at is None and kv.writes >= 2.0 / RENEW_S - 3


def test_shard_leases_on_a_real_nats_server(tmp_path):
    """`ShardLeases` (the WAL loaders' leases) on a real nats-server: exclusive, kept by renewing past the
    bucket's max-age, handed over at once on release, taken over once a dead holder's entry aged out."""
    from hft.bus.embedded import EmbeddedNats
    from hft.bus.lease import ShardLeases

    srv = EmbeddedNats(tmp_path / "nats").start()
    try:
        with ShardLeases(srv.url, holder="A", ttl_s=1.5, renew_s=0.3) as a, \
                ShardLeases(srv.url, holder="B", ttl_s=1.5, renew_s=0.3) as b:
            assert a.claim("wal.x") and not b.claim("wal.x") and b.holder_of("wal.x") == "A"
            assert b.claim("wal.y")  # another shard
            time.sleep(2.0)  # past the max-age: renewed
            assert a.valid("wal.x") and not b.claim("wal.x")
            a.release("wal.x")
            assert b.claim("wal.x") and not a.valid("wal.x")
            # B stops renewing (as a SIGKILLed loader does): its entries age out, A takes over
            b._loop.call_soon_threadsafe(b._renewer.cancel)
            t0 = time.monotonic()
            assert not a.claim("wal.x")
            while not a.claim("wal.x"):
                assert time.monotonic() - t0 < 5.0, "a dead holder's lease did not age out"
                time.sleep(0.05)
            assert not b.valid("wal.x")  # B's own deadline passed before A could take it
            assert a.holder_of("wal.x") == "A"
    finally:
        srv.stop()


def test_a_key_that_ages_out_during_the_create_is_free_at_the_next_try():
    """nats-py's `create` writes with last sequence 0; refused (the key exists), it reads the key to tell a
    tombstone from a live entry, and raises KeyNotFoundError when the entry aged out in between (seen on a loaded
    machine). That is not an error of the lease: not held now, taken at the next try."""
    from nats.js.errors import KeyNotFoundError

    from hft.bus.lease import KVLease

    class _Racing(_KV):
        raced = False

        async def create(self, key: str, value: bytes) -> int:
            if not self.raced:
                self.raced = True
                raise KeyNotFoundError
            return await self._write()

    lease = KVLease(_Racing(), "wal.x", "A", 0.9)
    assert asyncio.run(lease.acquire()) is False and not lease.held
    assert asyncio.run(lease.acquire()) is True and lease.held and lease.seen_holder == "A"
