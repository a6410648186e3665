"""Fencing of an active/standby leader at dispatch, on a real nats-server: a step that outlives the lease's
deadline before its renew loop wakes (a WAL write held up by the disk, a stalled process) sends nothing to the
venue; the WAL holds it, and the next leader's recovery sends it, once."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from hft.bus.embedded import EmbeddedNats
from hft.bus.lease import LeaderLease
from hft.bus.nats_bus import SignalBus
from hft.config.signals import BusConfig, HAConfig
from hft.core.orders import CMD_NEW
from hft.gateway.config import load_config
from hft.live import server as S
from hft.live.auth import mint
from hft.live.warm import _post

SECRET = "s" * 40
TTL_S, RENEW_S = 3.0, 0.3  # the lease's grace: 2.7 s (a first order under load must not outlive it; the test waits it out)
CONFIG = """\
accounts: {ACC1: {}}
strategies: {mm1: {}}
symbols: {AAPL: {tick_multiple: 5}}
server: {wal_dir: %s}
"""


def _order(i: int) -> dict:
    return {"client_order_id": f"c{i}", "account": "ACC1", "strategy": "mm1", "symbol": "AAPL", "side": "buy",
            "price": 50_000 + 5 * i, "qty": 1}


def _venue_orders(journal: Path) -> list[int]:
    """The order ids of the new orders the venue received, in its journal's order."""
    if not journal.exists():
        return []
    rows = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    return [r["order_id"] for r in rows if r["ev"] == "cmd" and r["action"] == CMD_NEW]


async def _lead(nats: EmbeddedNats) -> tuple[LeaderLease, SignalBus]:
    bus = SignalBus(BusConfig(url=nats.url, storage="memory"))
    bus.start()
    assert await bus.wait_connected(15.0)
    acquired = asyncio.Event()

    async def on_acquired() -> None:
        acquired.set()

    async def on_lost() -> None:
        return None

    ha = HAConfig(enabled=True, node_id="n1", bucket="hft_fence_test", lease_ttl_ns=int(TTL_S * 1e9),
                  renew_ns=int(RENEW_S * 1e9))
    lease = LeaderLease(ha, bus, on_acquired, on_lost)
    lease.start()
    await asyncio.wait_for(acquired.wait(), 15.0)
    return lease, bus


def test_a_step_past_the_lease_deadline_dispatches_nothing_and_the_next_leader_sends_it(tmp_path):
    nats = EmbeddedNats(tmp_path / "nats").start()
    cfg_file = tmp_path / "gw.yaml"
    cfg_file.write_text(CONFIG % (tmp_path / "wal"))
    cfg = load_config(cfg_file, env={"HFT_JWT_SECRET": SECRET})
    journal = tmp_path / "venue.jsonl"
    opts = S.ServeOptions(venue_journal=str(journal), disk_monitor=False)
    tok = mint(SECRET, "t", ["ACC1"], ["mm1"], 600.0)
    fenced: list[int] = []

    async def leader() -> dict:
        lease, bus = await _lead(nats)
        live, app, _ = await asyncio.to_thread(S.build, cfg, opts, lease.may_dispatch, fenced.append)
        tasks = S.start_engine(live)
        try:
            assert await _post(app, "/orders", _order(0), tok, b"k0") == 201
            sent = _venue_orders(journal)
            assert len(sent) == 1 and lease.may_dispatch()
            # the renew loop does not wake (as if the loop were held up), and the deadline passes
            lease.task.cancel()
            await asyncio.sleep(max(0.0, lease.deadline - time.monotonic()) + 0.05)
            assert lease.leader and not lease.may_dispatch()
            assert await _post(app, "/orders", _order(1), tok, b"k1") == 201  # the WAL holds it: answered
            return {"sent": sent, "after": _venue_orders(journal), "fenced": live.fenced}
        finally:
            await S.stop_engine(live, tasks)
            await bus.close()

    async def next_leader() -> dict:
        live, _app, summary = S.build(cfg, opts)
        tasks = S.start_engine(live)
        await S.stop_engine(live, tasks)
        return summary

    try:
        first = asyncio.run(leader())
        assert first["after"] == first["sent"] and first["fenced"] == 1 and fenced == [1]
        summary = asyncio.run(next_leader())
        assert summary["commands_resent"] == 1, (summary, journal.read_text())
        ids = _venue_orders(journal)
        assert len(ids) == 2 and len(set(ids)) == 2 and ids[0] == first["sent"][0]  # each order once
    finally:
        nats.stop()
