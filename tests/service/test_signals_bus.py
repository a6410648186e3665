"""`SignalBus` publishing against a real nats-server: stream sequences from JetStream's acks, a re-sent message id
answered as a duplicate with the original sequence, and fail-closed when no ack comes (no stream for the subject;
a frozen server: the sweep fails the publish after `publish_timeout`), nothing left pending."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from sigkit import EmbeddedNats

from hft.bus.nats_bus import BusDown, SignalBus
from hft.config.signals import BusConfig


@pytest.fixture
def nats(tmp_path):
    srv = EmbeddedNats(tmp_path / "nats").start()
    yield srv
    if srv.proc is not None:
        os.kill(srv.proc.pid, signal.SIGCONT)
    srv.stop()


def _freeze(pid: int) -> None:
    """SIGSTOP `pid` and wait until every thread of it is stopped (the signal is delivered asynchronously)."""
    os.kill(pid, signal.SIGSTOP)
    tasks = Path(f"/proc/{pid}/task")
    while not all((t / "stat").read_text().rsplit(")", 1)[1].split()[0] in "Tt" for t in tasks.iterdir()):
        time.sleep(0.001)


def _run(url: str, body) -> dict:
    async def go() -> dict:
        bus = SignalBus(BusConfig(url=url, publish_timeout_ns=300_000_000))
        bus.start()
        try:
            assert await bus.wait_connected(15)
            return await body(bus)
        finally:
            await bus.close()

    return asyncio.run(go())


def test_acks_sequences_and_duplicates(nats):
    async def body(bus: SignalBus) -> dict:
        msgs = [("signals.raw", b'{"a":1}', "c1:raw"), ("signals.normalized", b'{"b":2}', "c1:norm")]
        first = await bus.publish_many(msgs)
        again = await bus.publish_many(msgs)  # a retry after a lost ack: stored once, the original sequences
        other = await bus.publish_many([("signals.raw", b"{}", "c2:raw")])
        return {"first": first, "again": again, "other": other, "published": dict(bus.published),
                "pending": len(bus._pending)}

    r = _run(nats.url, body)
    assert r["first"] == [1, 2] and r["again"] == [1, 2] and r["other"] == [3]
    assert r["published"] == {("signals.raw", "ok"): 2, ("signals.normalized", "ok"): 1,
                              ("signals.raw", "duplicate"): 1, ("signals.normalized", "duplicate"): 1}
    assert r["pending"] == 0


def test_no_ack_fails_closed(nats):
    async def body(bus: SignalBus) -> dict:
        out: dict = {}
        try:  # no stream takes this subject: the server answers "no responders"
            await bus.publish_many([("elsewhere.raw", b"{}", "x:raw")])
        except BusDown as e:
            out["no_stream"] = str(e)
        _freeze(nats.proc.pid)  # the connection stays up, no ack ever comes
        try:
            await bus.publish_many([("signals.raw", b"{}", "y:raw"), ("signals.normalized", b"{}", "y:norm")])
        except BusDown as e:
            out["frozen"] = str(e)
        os.kill(nats.proc.pid, signal.SIGCONT)
        out["pending"] = len(bus._pending)
        out["errors"] = {k: v for k, v in bus.published.items() if k[1] == "error"}
        return out

    r = _run(nats.url, body)
    assert "no JetStream answer" in r["no_stream"]
    assert "no ack within" in r["frozen"]
    assert r["pending"] == 0
    assert r["errors"] == {("elsewhere.raw", "error"): 1, ("signals.raw", "error"): 1,
                           ("signals.normalized", "error"): 1}
