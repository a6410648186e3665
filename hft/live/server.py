"""Process wiring of `hft gateway serve`: config → WAL (+ disk monitor) → gateway → recovery → venue → engine →
ASGI app under the service's HTTP front `hft.live.http` (one process, one event loop, one writer task).

Start-up order: the WAL writer opens its directory (an ``flock`` names the one writer; a torn tail from a crash
is cut off), the service's state is rebuilt from the WAL and reconciled with the venue, the order path is compiled
through a throwaway copy of the service (`hft.live.warm`), then the port opens.
SIGHUP: read the config file again, apply its limits (`hft.live.limits_admin`) and read its TLS certificate files
again (`hft.live.tls.ServerContext.reload`).
SIGTERM / SIGINT: stop accepting, drain the intake channel, cancel the working orders (``server.cancel_on_shutdown``),
sync and close the WAL.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import resource
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from hft.core.clock import ManualClock
from hft.core.errors import ConfigError
from hft.core.memory import no_transparent_huge_pages
from hft.core.paths import wal_root
from hft.gateway.config import GatewayConfig, diff_limits, limit_tables
from hft.live import logs
from hft.live.auth import Verifier
from hft.live.connections import ConnectionCap, ConnectionCollector
from hft.live.http import HttpServer
from hft.live.metrics import LiveCollector
from hft.live.tls import ServerContext, server_context
from hft.live.venue import Venue, VenueContext, venue_adapter
from hft.recorder.disk_monitor import DiskPressureMonitor, DiskThresholds, env_thresholds

log = logging.getLogger("hft.live")


@dataclass(frozen=True)
class ServeOptions:
    """What the CLI passes besides the gateway config."""

    # the venue adapter (`hft.live.venue`): None takes the config's ``venue.adapter``; the flags below, when set,
    # go over its ``venue.options`` (loopback: mode, journal; paper: data, speed, symbol)
    venue: str | None = None
    loopback_mode: str | None = None  # fill | rest
    venue_journal: str | None = None
    paper_data: str | None = None
    paper_speed: float | None = None
    paper_symbol: str | None = None
    disk_monitor: bool = True
    nats_embedded: bool = False  # start a local nats-server for the signals bus (hft.bus.embedded)
    tcp_port: int | None = None  # binary TCP intake (hft.live.tcp); None: off, 0: any free port
    disk_thresholds: DiskThresholds | None = None  # the WAL's disk monitor; None: $HFT_DISK_THRESHOLDS (or defaults)


def wal_dir_of(cfg: GatewayConfig) -> Path:
    return Path(cfg.server.wal_dir) if cfg.server.wal_dir else wal_root() / "gateway-live"


def build(cfg: GatewayConfig, opts: ServeOptions, fence: Any = None,
          on_fenced: Any = None) -> tuple[Any, Any, dict[str, Any]]:
    """(LiveGateway, OrderApp, recovery summary): everything but the listener. Raises ConfigError early.
    `fence` / `on_fenced`: the writer's (`LiveGateway.fence`), in place before recovery re-sends anything."""
    from hft.gateway.service import GatewayService  # lazy: numba
    from hft.live.app import OrderApp  # lazy: numba
    from hft.live.engine import LiveGateway  # lazy: numba
    from hft.live.recovery import recover  # lazy: numba
    from hft.recorder.wal_first import WALConfig, WALFirstWriter  # lazy: numba

    if not cfg.server.jwt_secret:
        raise ConfigError(f"{cfg.source}: key 'server.jwt_secret': expected a secret (or HFT_JWT_SECRET), was null",
                          key="server.jwt_secret")
    wal_dir = wal_dir_of(cfg)
    wal_dir.mkdir(parents=True, exist_ok=True)
    monitor = None
    if opts.disk_monitor:
        monitor = DiskPressureMonitor(wal_dir, opts.disk_thresholds or env_thresholds())
    wal_cfg = WALConfig(fsync=cfg.server.fsync, fsync_interval_s=cfg.server.fsync_interval_ns / 1e9,
                        segment_bytes=cfg.server.wal_segment_bytes,
                        critical_policy={"sim.orders": "halt", "audit.gateway_decisions": "halt"})
    if monitor is not None:
        monitor.start()
    wal = WALFirstWriter(wal_dir, wal_cfg, monitor=monitor)
    try:
        venue = _venue(cfg, opts, wal_dir)
        gw = GatewayService(cfg, clock=ManualClock(0))
        sym = getattr(venue, "symbol", None)
        if sym is not None and not gw.registered("symbol", sym):  # the paper day's symbol trades with the default limits
            gw.register_symbol(sym)
        live = LiveGateway(gw, wal, venue)
        live.fence, live.on_fenced = fence, on_fenced
        summary = recover(live, wal_dir)
        _warn_limits_differ(cfg, gw.config)
        live.snapshot_every = cfg.server.snapshot_every
        live.snapshot()  # the next start replays only what follows
    except BaseException:
        wal.close()
        if monitor is not None:
            monitor.stop()
        raise
    live.monitor = monitor
    app = OrderApp(live, verifier(cfg, live.revoked), health_extra=lambda: {"recovery": summary},
                   metrics_auth=cfg.server.metrics_auth)
    gw.registry.register(LiveCollector(app))
    return live, app, summary


def verifier(cfg: GatewayConfig, revoked: Container[str]) -> Verifier:
    """The service's token verifier (``server.jwt_*``), reading the deny-list `revoked` live."""
    life = cfg.server.jwt_max_lifetime_ns
    return Verifier(cfg.server.jwt_secret, cfg.server.jwt_leeway_s,
                    max_lifetime_s=life / 1e9 if life is not None else None, revoked=revoked)


def _warn_limits_differ(file_cfg: GatewayConfig, now: GatewayConfig) -> None:
    """After recovery the limits in force are those the snapshot and the WAL hold (changes made at runtime kept):
    a limit the config file sets otherwise is logged, with how to apply the file."""
    changes = diff_limits(limit_tables(now), limit_tables(file_cfg))
    if changes:
        log.warning("%d limits in force (kept by the WAL and snapshot) differ from %s, e.g. %s; `hft gateway "
                    "limits-diff` lists them, SIGHUP applies the file", len(changes), file_cfg.source,
                    changes[0]["path"])


def venue_choice(cfg: GatewayConfig, opts: ServeOptions) -> tuple[str, dict[str, Any]]:
    """The venue adapter's name and options: the config's ``venue``, the command line's over it."""
    name = opts.venue or cfg.venue.adapter
    flags = {"mode": opts.loopback_mode, "journal": opts.venue_journal} if name == "loopback" else {}
    if name == "paper":
        flags = {"data": opts.paper_data, "speed": opts.paper_speed, "symbol": opts.paper_symbol}
    options = dict(cfg.venue.options) if name == cfg.venue.adapter else {}
    options.update((k, v) for k, v in flags.items() if v is not None)
    return name, options


def _venue(cfg: GatewayConfig, opts: ServeOptions, wal_dir: Path) -> Venue:
    name, options = venue_choice(cfg, opts)
    return venue_adapter(name, VenueContext(options, wal_dir, cfg))


async def serve_async(cfg: GatewayConfig, opts: ServeOptions, host: str, port: int,
                      announce: Any = print) -> dict[str, Any]:
    """Run the service until SIGINT / SIGTERM. `announce(line)` gets the ready line (the bound port).
    With ``signals.ha.enabled`` the process starts as a standby and leads once it holds the lease
    (`hft.live.webhooks.ha`)."""
    no_transparent_huge_pages()  # the process's, a standby's too (it may lead)
    if cfg.signals.ha.enabled:
        from hft.live.webhooks.ha import serve_ha  # lazy: numba

        return await serve_ha(cfg, opts, host, port, announce)
    signals = _signal_service(cfg, opts)  # validated before anything opens
    tls = server_context(cfg.server, cfg.source)  # a missing or bad certificate: one line, before the WAL opens
    # until the service serves, a SIGHUP (its default: the end of the process) is logged and ignored
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, log.warning, "SIGHUP ignored: the service is "
                                                  "starting (send it again once it listens)")
    live, app, summary = build(cfg, opts)
    try:
        sock = listen(host, port, now=False)  # a port in use is reported now, not after the warm-up
        # before the port opens (closed during recovery too): the ready line then means the first orders are
        # answered at full speed, not compiled on the loop (seconds on a cold numba cache, the loop deaf meanwhile)
        warmed_s = await warm(cfg, opts)
        sock.listen(BACKLOG)
    except BaseException:  # a port in use, or Ctrl-C while warming: release the WAL's lock
        live.wal.close()
        raise
    _tune_gc()  # after the warm-up: its throwaway service is collected, not frozen
    tasks = start_engine(live)
    front = await _start_signals(signals, live, app)
    cap = connection_cap(cfg, live.gw.registry)
    health = app.health_extra
    app.health_extra = lambda: {**health(), "connections": cap.health()}
    server = http_server(front, cfg, cap, tls)
    _reload_on_sighup(live, cfg, tls)
    tcp = await _start_tcp(live, app, host, opts.tcp_port, cfg, cap, tls) if opts.tcp_port is not None else None
    app.ready = True
    bound = sock.getsockname()[1]
    tcp_at = f" and {'tls' if tls else 'tcp'}://{host}:{tcp.sockets[0].getsockname()[1]}" if tcp is not None else ""
    line = (f"hft gateway: listening on {server.scheme}://{host}:{bound}{tcp_at} (wal {live.wal.wal_dir}; recovered "
            f"{summary['decisions']} decisions, {summary['reports']} reports; resent {summary['commands_resent']}; "
            f"order path warmed in {warmed_s:.2f} s)")
    try:
        await serve_announced(server, sock, line, announce)
    finally:
        app.ready = False
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if tcp is not None:
            tcp.close()
        if signals is not None:
            await signals.close()
        await stop_engine(live, tasks)
    return summary


async def warm(cfg: GatewayConfig, opts: ServeOptions) -> float:
    """Compile the order path (`hft.live.warm`) in a thread, the caller's event loop free meanwhile (the warm-up
    runs its throwaway service on a loop of its own): seconds taken. Never raises but its cancellation (a
    signal, a standby stopped), which stops the warm-up at its next step: the process then exits once the
    thread has stopped its throwaway service and deleted its directory, not after the whole warm-up."""
    from hft.live.warm import warm_order_path  # lazy: hft.live.warm imports this module

    stop = threading.Event()
    try:
        seconds = await asyncio.to_thread(warm_order_path, cfg, opts, stop=stop)
    except BaseException:
        stop.set()
        raise
    log.info("order path warmed in %.2f s", seconds)
    return seconds


BACKLOG = 2048


def listen(host: str, port: int, *, now: bool = True) -> socket.socket:
    """The listening socket (port 0 = any free port); `ConfigError` when it cannot be bound. `now=False`: bound
    only (connections refused until the caller's ``sock.listen(BACKLOG)``), so a port in use is reported before
    a long start-up step rather than after it."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"server: cannot listen on {host}:{port}: {exc.strerror}", key="server.port") from None
    if now:
        sock.listen(BACKLOG)
    return sock


def connection_cap(cfg: GatewayConfig, *registries: Any) -> ConnectionCap:
    """The cap on open client connections (``server.max_connections``, HTTP and TCP together), its metrics
    registered in `registries`. The soft limit on open files is raised towards the hard one so that the cap, not
    the descriptors, is what a flood of connections meets."""
    cap = ConnectionCap(cfg.server.max_connections)
    for reg in registries:
        reg.register(ConnectionCollector(cap))
    _raise_nofile(cfg.server.max_connections + _FD_HEADROOM)
    return cap


_FD_HEADROOM = 256  # descriptors besides client connections: WAL segments, snapshots, the venue, NATS, listeners


def _raise_nofile(want: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        target = want if hard == resource.RLIM_INFINITY else min(want, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < want:
            log.warning("open files limited to %d (ulimit -n): below server.max_connections + %d", target,
                        _FD_HEADROOM)


def http_server(app: Any, cfg: GatewayConfig | None = None, cap: ConnectionCap | None = None,
                tls: ssl.SSLContext | None = None) -> HttpServer:
    """The HTTP front on `app` (`hft.live.http`: measured against uvicorn and granian in
    bench/bench_http_stack.py), with the deadlines of ``cfg.server``, the connection `cap` and TLS (`tls`, of
    `hft.live.tls.server_context`; None: plain HTTP). It handles
    SIGINT / SIGTERM once serving: stop accepting, finish in-flight requests, return; the process then finishes
    its own shutdown (drain, WAL close) and exits 0."""
    if cfg is None:
        return HttpServer(app, cap=cap, ssl=tls)
    srv = cfg.server
    return HttpServer(app, keep_alive_s=srv.keep_alive_timeout_ns / 1e9, header_timeout_s=srv.header_timeout_ns / 1e9,
                      body_timeout_s=srv.body_timeout_ns / 1e9, cap=cap, ssl=tls)


async def serve_announced(server: HttpServer, sock: socket.socket, line: str, announce: Any) -> None:
    """Serve on `sock`; `announce(line)` once the server has started, i.e. once its signal handlers are in place
    (a Ctrl-C right after the ready line then stops the server instead of meeting the default handler)."""

    async def ready() -> None:
        while not server.started and not server.should_exit:
            await asyncio.sleep(0.01)
        if server.started:
            announce(line)

    task = asyncio.create_task(ready(), name="hft-ready-line")
    try:
        await server.serve([sock])
    finally:
        task.cancel()


def start_engine(live: Any) -> list[asyncio.Task]:
    """The writer task, the venue's report path, the paper feed and the pressure ticker."""
    loop = asyncio.get_running_loop()
    tasks = [asyncio.create_task(live.run(), name="hft-gateway-writer")]
    live.venue.start(loop, live.on_report)
    feed = getattr(live.venue, "run_feed", None)
    if feed is not None:
        tasks.append(asyncio.create_task(feed(live), name="hft-paper-feed"))
    tasks.append(asyncio.create_task(_pressure_ticker(live), name="hft-ingress-ticker"))
    return tasks


async def stop_engine(live: Any, tasks: list[asyncio.Task]) -> None:
    """Stop the feed and ticker, drain the intake channel through the writer, cancel the working orders
    (``server.cancel_on_shutdown``), close the venue and the WAL."""
    for t in tasks[1:]:
        t.cancel()
    live.channel.close()
    with contextlib.suppress(asyncio.CancelledError):
        await tasks[0]
    if live.gw.config.server.cancel_on_shutdown and not live.fenced:
        await cancel_working(live)
    with contextlib.suppress(Exception):  # every decision is in the WAL: the next start skips no order id
        live.release_ids()
    try:  # a clean stop restarts from here (a failure: from the previous one, replaying the WAL after it)
        live.snapshot()
    except Exception as exc:  # counted and logged; the stop goes on (the WAL holds all)
        live.snapshot_failed(f"{type(exc).__name__}: {exc}")
    live.venue.close()
    live.wal.close()
    if getattr(live, "monitor", None) is not None:
        live.monitor.stop()


SHUTDOWN_CANCEL_WAIT_S = 5.0


async def cancel_working(live: Any, wait_s: float = SHUTDOWN_CANCEL_WAIT_S) -> int:
    """``server.cancel_on_shutdown``: after the writer drained, cancel every working order (a journaled
    ``control:cancel_all``, cause "shutdown"), then wait up to `wait_s` for the venue's answers (canceled, or a
    cancel refused), applied and journaled as they come, so the WAL closes with the orders ended. Returns the
    cancels sent."""
    if not live.gw.working_orders():  # nothing to record
        return 0
    from hft.gateway.kernels import OS_PENDING_CANCEL  # lazy: numba

    def unanswered() -> int:
        return sum(o["status"] == OS_PENDING_CANCEL for o in live.gw.working_orders())

    n = len(live.control("cancel_all", "shutdown"))
    end = time.monotonic() + wait_s
    while unanswered() and time.monotonic() < end:
        await asyncio.sleep(0.01)  # the venue's reports are applied on the loop (`LiveGateway.on_report`)
    left, working = unanswered(), len(live.gw.working_orders())
    if left or working:
        log.warning("shutdown: %d cancels sent; %d unanswered after %.0f s, %d refused by the venue (still "
                    "working; the next start reconciles them)", n, left, wait_s, working - left)
    else:
        log.warning("shutdown: %d working orders cancelled (server.cancel_on_shutdown)", n)
    return n


def _reload_on_sighup(live: Any, cfg: GatewayConfig, tls: ServerContext | None = None) -> None:
    """SIGHUP reads the config file again, applies its limits and reloads the listeners' certificates `tls`
    (`hft.live.limits_admin.reload`); a service on the built-in defaults has no file to read (SIGHUP logged and
    ignored)."""
    loop = asyncio.get_running_loop()
    if cfg.source == "<defaults>":
        loop.add_signal_handler(signal.SIGHUP, log.warning, "SIGHUP ignored: no config file to read (--config)")
        return
    from hft.live import limits_admin  # lazy: the config parser's reload path

    def on_hup() -> None:
        try:
            limits_admin.reload(live, cfg.source, tls)
        except Exception as exc:  # logged; the service goes on with the limits it had
            log.error("SIGHUP: reload failed: %s: %s", type(exc).__name__, exc)

    loop.add_signal_handler(signal.SIGHUP, on_hup)


def _signal_service(cfg: GatewayConfig, opts: ServeOptions) -> Any:
    """The signal side (webhooks, bus, follower; hft.live.webhooks.service) when the config needs a bus."""
    if not (cfg.signals.needs_bus or opts.nats_embedded):
        return None
    from hft.live.webhooks.service import SignalService  # lazy: numba

    return SignalService(cfg, wal_dir_of(cfg).parent / "signals", embedded=opts.nats_embedded)


async def _start_signals(svc: Any, live: Any, app: Any) -> Any:
    """Start the signal side (if any); the ASGI app to serve (webhooks routed beside the order API)."""
    if svc is None:
        return app
    await svc.start(live, live.gw.registry)
    extra = app.health_extra
    app.health_extra = lambda: {**extra(), "signals": svc.health()}
    return svc.front(app)


async def _start_tcp(live: Any, app: Any, host: str, port: int, cfg: GatewayConfig, cap: ConnectionCap,
                     tls: ssl.SSLContext | None = None) -> Any:
    """The binary TCP intake beside HTTP (same writer, ladder, tokens, connection cap, TLS); its counters join
    /health."""
    from hft.live.tcp import start_tcp  # lazy: numba

    try:
        server, stats = await start_tcp(live, app.verifier, app.bad_input, host, port, cap,
                                        cfg.server.auth_timeout_ns / 1e9, tls)
    except OSError as exc:
        raise ConfigError(f"server: cannot listen on {host}:{port} (--tcp-port): {exc.strerror}",
                          key="server.tcp_port") from None
    health = app.health_extra
    app.health_extra = lambda: {**health(), "tcp": {"port": server.sockets[0].getsockname()[1], **stats}}
    return server


def _tune_gc() -> None:
    """The service allocates a few short-lived objects per order and keeps long-lived ones (order views):
    with the default thresholds the collector runs every 700 allocations and its older generations rescan the
    ever larger heap (measured: ~30 % of the writer's CPU per order). The start-up state is frozen out of the
    collector and young collections are made rarer."""

    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


async def _pressure_ticker(live: Any, period_s: float = 0.05) -> None:
    """Samples the intake pressure without traffic, so a kill recovers on its own (hysteresis), and runs the
    writer's timer (`LiveGateway.on_timer`: the StormGuard's cooldown, session boundaries, as journaled controls)."""

    while True:
        await asyncio.sleep(period_s)
        live.pressure.sample(live.channel.qsize(), time.monotonic_ns())
        try:
            live.on_timer()
        except Exception as exc:  # logged; the ticker (and the pressure sampling) goes on
            log.error("writer timer failed: %s: %s", type(exc).__name__, exc)


def serve(cfg: GatewayConfig, opts: ServeOptions, host: str, port: int) -> None:
    """Blocking entry point of the CLI (uvloop when installed)."""
    handler = logs.install(sys.stderr)  # one write per loop turn for the per-request log lines

    async def main() -> None:
        handler.bind(asyncio.get_running_loop())
        try:
            await serve_async(cfg, opts, host, port, announce=lambda s: print(s, flush=True))
        finally:
            handler.unbind()

    try:
        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency
        runner = asyncio.run
    runner(main())
