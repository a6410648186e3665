"""Compile the order path before a process serves orders: `warm_order_path`.

The kernels an order or a scrape of `/metrics` reaches (the gateway's batch decision and reports, order views, the client-id index, the
WAL's row join, the loopback venue) are compiled on their first call, or loaded from numba's on-disk cache. On a
cold cache (a fresh install before ``hft warmup``, or a change to kernel code) the first orders of a new process
compile them on the event loop: measured 6.5 s and 2 s for the first two orders (11 s and 3.5 s with the CPUs
busy). The loop answers nothing meanwhile (health, other clients), and an active/standby process
(`hft.live.webhooks.ha`) does not renew its leader lease either: a leader that had just taken over lost its lease
to the standby and exited 75 on its first orders (tests/service/test_signals_failover.py, with a cold cache). So
the service sends orders through a throwaway copy of itself first, in a thread (`hft.live.server.warm`): a single
service before its port opens and its ready line, an active/standby one while it answers as a standby, before it
competes for the lease.

A signal meanwhile (the caller's `warm` cancelled) stops the warm-up at its next step (`stop`): its throwaway
service is stopped and its directory deleted before the process exits, not after the warm-up's orders (up to
seconds on a cold cache). The directory is named with the process's pid (`hft.core.fileio.temp_prefix`): one a
process left without unwinding (SIGKILL, a second signal that skipped the cleanup, during a kernel compile that
nothing interrupts) is removed by the next warm-up (`hft.core.fileio.remove_dead_temps`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from hft.core.fileio import remove_dead_temps, temp_prefix
from hft.gateway.config import GatewayConfig, VenueConfig
from hft.live import server as S
from hft.live.auth import mint

log = logging.getLogger("hft.live.warm")


def warm_order_path(cfg: GatewayConfig, opts: S.ServeOptions, timeout_s: float = 600.0,
                    stop: threading.Event | None = None) -> float:
    """Send a durable and a volatile order, each to its fill, through a throwaway copy of the service: `cfg` with
    its WAL, loopback venue journal and secret its own under a temporary directory (no dedup file, no disk
    monitor), on an event loop of its own, then stop it and delete the directory. Every kernel the order path
    reaches is then compiled (or loaded) in this process. Seconds taken. `stop` (set from another thread) ends
    it at its next step, the throwaway service stopped and the directory deleted all the same. Never raises: a
    warm-up that fails (a config that trades nothing, say) is logged and the real orders compile what is left,
    as before."""
    t0 = time.perf_counter()
    try:
        remove_dead_temps(tempfile.gettempdir())  # a killed process's warm-up directory (module docstring)
        with tempfile.TemporaryDirectory(prefix=temp_prefix("hft-warm-")) as tmp:
            secret = secrets.token_hex(24)
            scratch = replace(cfg, dedup_persist_path=None, venue=VenueConfig(),  # the loopback venue, below
                              server=replace(cfg.server, wal_dir=str(Path(tmp) / "wal"), jwt_secret=secret))
            name, options = S.venue_choice(cfg, opts)
            mode = options.get("mode", "fill") if name == "loopback" else "fill"
            scratch_opts = S.ServeOptions(venue="loopback", loopback_mode=mode,
                                          venue_journal=str(Path(tmp) / "venue.jsonl"), disk_monitor=False)
            asyncio.run(_until_stopped(_orders(scratch, scratch_opts, secret), stop or threading.Event(), timeout_s))
    except _Stopped:
        log.info("order path warm-up stopped")
    except Exception as exc:  # the real orders then compile what is left, as before
        log.warning("order path warm-up: %s: %s", exc.__class__.__name__, exc)
    return time.perf_counter() - t0


class _Stopped(Exception):
    """The warm-up's `stop` was set."""


async def _until_stopped(orders: Any, stop: threading.Event, timeout_s: float) -> None:
    """Run `orders` until it ends, `stop` is set (polled: set from another thread) or `timeout_s` passes; in the
    last two cases it is cancelled and waited for (its ``finally`` stops the throwaway service)."""
    task = asyncio.ensure_future(orders)
    deadline = time.monotonic() + timeout_s
    while not task.done() and not stop.is_set() and time.monotonic() < deadline:
        await asyncio.wait({task}, timeout=0.02)
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise _Stopped if stop.is_set() else TimeoutError(f"not done in {timeout_s:g} s")
    task.result()


async def _orders(cfg: GatewayConfig, opts: S.ServeOptions, secret: str) -> None:
    live, app, _ = S.build(cfg, opts)
    tasks = S.start_engine(live)
    try:
        if not (cfg.accounts and cfg.strategies and cfg.symbols):  # the names the gateway registers at build
            raise ValueError("the config lists no account, strategy or symbol to trade")
        account, strategy, (symbol, spec) = next(iter(cfg.accounts)), next(iter(cfg.strategies)), next(
            iter(cfg.symbols.items()))
        tick, lot = spec.tick_multiple, spec.lot_multiple
        tok = mint(secret, "warm-up", [account], [strategy], 600.0)
        fills_at_once = opts.loopback_mode in ("fill", None)
        for i, (path, key) in enumerate((("/orders", b"warm-0"), ("/v3/orders", None))):
            body = {"client_order_id": f"warm-{i}", "account": account, "strategy": strategy, "symbol": symbol,
                    "side": ("buy", "sell")[i], "price": (10_000, 20_000)[i] * tick, "qty": lot}  # never crossing
            fills = live.n_fills
            status = await _post(app, path, body, tok, key)
            if status not in (200, 201):  # a denial compiled the decision; nothing more to wait for
                raise ValueError(f"{path}: the warm-up order was answered {status}")
            for _ in range(1000 if fills_at_once else 0):  # its fill (the venue's reports come through the loop)
                if live.n_fills > fills:
                    break
                await asyncio.sleep(0.005)
        live.gw.metrics_text()  # the scrape's kernels (submit-rate buckets) too: a first /metrics would compile them
    finally:
        await S.stop_engine(live, tasks)


async def _post(app: Any, path: str, body: dict, tok: str, key: bytes | None) -> int:
    """One request through `app` (ASGI), without a socket; its status."""
    raw = json.dumps(body).encode()
    headers = [(b"authorization", f"Bearer {tok}".encode()), (b"content-type", b"application/json"),
               (b"content-length", str(len(raw)).encode())]
    if key is not None:
        headers.append((b"idempotency-key", key))
    out: dict[str, Any] = {}

    async def receive() -> dict:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(m: dict) -> None:
        if m["type"] == "http.response.start":
            out["status"] = m["status"]

    await app({"type": "http", "method": "POST", "path": path, "headers": headers}, receive, send)
    return out["status"]
