"""Active/standby `hft gateway serve` (``signals.ha.enabled``): two (or more) processes share a WAL directory
and a venue journal (one machine or a shared volume) and a leader lease in NATS KV (`hft.bus.lease`).

* Every process opens its port at once, as a **standby**: ``/health`` answers 503 with ``role: standby``, the
  lease holder and the state it follows; every other route answers 503 ``STANDBY`` naming the leader. It does
  not hold the WAL (its ``flock``), the venue or the intake, so it cannot dispatch. It competes for the lease
  only once its order path is compiled (`hft.live.warm`, in a thread): a leader compiling on its first orders
  could not renew for that long.
* The standby **follows** the leader's WAL-derived state: whenever the WAL grew it replays it read-only through
  a fresh gateway (`hft.live.recovery.replay_wal`, in a thread) and shows decisions, orders and positions in
  ``/health`` (a check that the WAL rebuilds; the takeover rebuilds again under the lock).
* On acquiring the lease it **takes over**: `hft.live.server.build` (WAL lock — retried while the old leader's
  process still holds it —, WAL replay, venue reconciliation: commands the venue already received are not sent
  again, so a takeover dispatches nothing twice), then the engine, webhooks and follower start and the routes
  open. A leader that loses the lease exits at once (code 75), without dispatching another command: its
  supervisor restarts it as a standby. Recovery from the WAL is what makes that exit safe. The writer also asks
  the lease right before each dispatch (`LeaderLease.may_dispatch`): a step that outlived the lease's deadline (a
  WAL write held up by the disk, a stalled process) sends nothing and the process exits 75 the same way.

Metrics: ``gateway_leader`` (1 on the leader), ``gateway_leadership_changes_total``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from hft.bus.lease import LeaderLease
from hft.core.clock import ManualClock
from hft.core.errors import HftError
from hft.core.tasks import cancel_and_wait
from hft.gateway.config import GatewayConfig
from hft.gateway.service import GatewayService
from hft.live import server as S
from hft.live.auth import AuthError, Verifier
from hft.live.connections import ConnectionCollector
from hft.live.engine import LiveGateway
from hft.live.recovery import replay_wal
from hft.live.webhooks.service import SignalService

log = logging.getLogger("hft.live.ha")
EXIT_LEASE_LOST = 75
_JSON = [(b"content-type", b"application/json")]


class LeadershipCollector:
    def __init__(self, lease: Any) -> None:
        self.lease = lease

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        yield GaugeMetricFamily("gateway_leader", "1 while this process holds the leader lease",
                                value=int(self.lease.leader))
        yield CounterMetricFamily("gateway_leadership_changes", "leader lease acquired or lost by this process",
                                  value=self.lease.changes)


class HAFront:
    """The ASGI app of an HA process: the leader's app once it leads, standby answers before."""

    def __init__(self, lease: Any, registry: Any, verifier: Verifier | None = None) -> None:
        self.lease = lease
        self.registry = registry
        self.verifier = verifier  # ``server.metrics_auth``: /metrics and /health's detail need a token
        self.target: Any = None
        self.following: dict[str, Any] = {}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if self.target is not None:
            await self.target(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if self.verifier is not None and path in ("/metrics", "/health"):
            auth = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
            if auth is None and path == "/health":  # liveness stays open: the status alone
                body = {"status": "taking_over" if self.lease.leader else "standby", "ready": False}
                await _send(send, 503, json.dumps(body).encode(), _JSON)
                return
            try:
                self.verifier.verify(auth)
            except AuthError as e:
                await _send(send, e.status, json.dumps({"error": "UNAUTHORIZED", "reason": e.reason}).encode(), _JSON)
                return
        if path == "/metrics":
            from prometheus_client import generate_latest

            await _send(send, 200, generate_latest(self.registry), [(b"content-type", b"text/plain")])
            return
        holder = self.lease.holder
        if path == "/health":
            body = {"status": "taking_over" if self.lease.leader else "standby", "ready": False,
                    **self.lease.health(), "following": self.following}
        else:
            body = {"error": "STANDBY", "field": "leader",
                    "reason": f"node {self.lease.node} is a standby; the leader is {holder or 'unknown'}"}
        await _send(send, 503, json.dumps(body).encode(), _JSON)


async def _send(send: Any, status: int, body: bytes, headers: list) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def follow_state(cfg: GatewayConfig, wal_dir: Path) -> dict[str, Any]:
    """Replay the WAL read-only through a fresh gateway: what a takeover would start from."""

    live = LiveGateway(GatewayService(cfg, clock=ManualClock(0)), None, None)
    rep = replay_wal(live, wal_dir)
    return {"decisions": rep["decisions"], "reports": rep["reports"], "mismatches": rep["mismatches"],
            "orders": len(live.orders), "positions": live.positions(), "at": time.time(),
            "revoked": sorted(live.revoked)}


def _wal_size(wal_dir: Path) -> int:
    try:
        return sum(p.stat().st_size for p in wal_dir.iterdir() if p.is_file())
    except OSError:
        return -1


async def serve_ha(cfg: GatewayConfig, opts: Any, host: str, port: int, announce: Any) -> dict[str, Any]:
    """Run one HA process until SIGINT / SIGTERM (module docstring)."""
    from prometheus_client import CollectorRegistry


    wal_dir = S.wal_dir_of(cfg)
    tls = S.server_context(cfg.server, cfg.source)  # a missing or bad certificate: one line, before anything opens
    svc = SignalService(cfg, wal_dir.parent / "signals", embedded=opts.nats_embedded)
    standby_registry = CollectorRegistry()
    state: dict[str, Any] = {"live": None, "tasks": None, "summary": {}}
    took_over = asyncio.Event()

    async def acquired() -> None:
        asyncio.get_running_loop().create_task(take_over())

    def step_down(why: str) -> None:
        front.target = None
        print(f"hft gateway: {lease.node} {why}; exiting ({EXIT_LEASE_LOST})", file=sys.stderr, flush=True)
        os._exit(EXIT_LEASE_LOST)  # fencing: no further dispatch; the WAL makes the restart safe

    async def lost() -> None:
        step_down("lost the leader lease")

    def fenced(n: int) -> None:  # the writer found the lease's deadline passed before a dispatch
        step_down(f"held back {n} commands: its lease had run out before they were dispatched")

    async def take_over() -> None:
        while lease.leader:
            try:
                live, app, summary = await asyncio.to_thread(S.build, cfg, opts, lease.may_dispatch, fenced)
                break
            except HftError as exc:  # e.g. the old leader's process still holds the WAL lock
                log.warning("takeover: %s; retrying", exc)
                await asyncio.sleep(0.2)
        else:
            return
        S._tune_gc()  # the leader's state built: frozen out of the collector, as a single service's
        state.update(live=live, summary=summary, tasks=S.start_engine(live))
        S._reload_on_sighup(live, cfg, tls)  # the leader reloads its limits and certificates on SIGHUP, as a single service
        live.gw.registry.register(LeadershipCollector(lease))
        live.gw.registry.register(ConnectionCollector(cap))
        await svc.start(live, live.gw.registry)
        extra = app.health_extra
        app.health_extra = lambda: {**extra(), "signals": svc.health()}
        front.target = svc.front(app)
        app.ready = True
        took_over.set()
        announce(f"hft gateway: {lease.node} leads (wal {live.wal.wal_dir}; recovered {summary['decisions']} "
                 f"decisions, {summary['reports']} reports; resent {summary['commands_resent']})")

    lease = LeaderLease(cfg.signals.ha, svc.bus, acquired, lost)
    svc.lease = lease
    standby_registry.register(LeadershipCollector(lease))
    revoked: set[str] = set()  # the leader's token deny-list, as the standby follows its WAL
    front = HAFront(lease, standby_registry, S.verifier(cfg, revoked) if cfg.server.metrics_auth else None)
    cap = S.connection_cap(cfg, standby_registry)
    sock = S.listen(host, port)
    svc.start_bus()
    warm = asyncio.create_task(_warm_then_lead(cfg, opts, lease), name="hft-warm-then-lead")
    server = S.http_server(front, cfg, cap, tls)
    follower = asyncio.create_task(_follow(cfg, wal_dir, front, lease, revoked), name="hft-standby-follow")
    line = (f"hft gateway: listening on {server.scheme}://{host}:{sock.getsockname()[1]} (node {lease.node}, standby until "
            f"it holds the lease)")
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, log.warning, "SIGHUP ignored: a standby has no limits in force (it "
                            "reads the file when it leads)")
    try:
        await S.serve_announced(server, sock, line, announce)
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
        follower.cancel()
        await cancel_and_wait(warm)
        await lease.stop()
        await svc.close()
        if state["live"] is not None:
            await S.stop_engine(state["live"], state["tasks"])
    return state["summary"]


async def _warm_then_lead(cfg: GatewayConfig, opts: Any, lease: LeaderLease) -> None:
    """Compile the order path (`hft.live.warm`, in a thread: the loop answers meanwhile), then join the lease.
    A leader that compiled on its first orders stopped renewing for as long (seconds on a cold kernel cache), lost
    the lease to the standby and exited 75."""
    await S.warm(cfg, opts)
    log.info("%s competes for the lease", lease.node)
    lease.start()


async def _follow(cfg: GatewayConfig, wal_dir: Path, front: HAFront, lease: Any, revoked: set[str],
                  period_s: float = 1.0) -> None:
    """While standby: rebuild the WAL-derived state read-only whenever the WAL grew (its token deny-list into
    `revoked`)."""
    seen = -2
    while front.target is None:
        size = _wal_size(wal_dir)
        if size != seen and size >= 0 and not lease.leader:
            try:
                state = await asyncio.to_thread(follow_state, cfg, wal_dir)
                revoked.clear()
                revoked.update(state.pop("revoked"))
                front.following = state
                seen = size
            except Exception as exc:
                front.following = {"error": f"{exc.__class__.__name__}: {exc}"}
        await asyncio.sleep(period_s)
