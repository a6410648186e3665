"""Wiring of the signal side of `hft gateway serve` (called by `hft.live.server` when ``signals`` needs a bus):
an embedded nats-server (``--nats-embedded``), the `SignalBus`, the persisted nonce store, the webhook handler,
the follower, and the front ASGI router that sends ``/webhooks/...`` to the handler and the rest to the order
API."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from hft.bus.embedded import EmbeddedNats
from hft.bus.nats_bus import SignalBus
from hft.gateway.config import GatewayConfig
from hft.live.webhooks.app import WebhookApp
from hft.live.webhooks.follower import SignalFollower
from hft.live.webhooks.guard import NonceStore

log = logging.getLogger("hft.signals")


class SignalFront:
    """The front ASGI router: ``/webhooks/{source}`` to the webhook handler (if any), everything else to the order
    API `orders`. It carries the order intake's direct paths (`OrderApp.direct_paths` and ``direct``), so that
    `hft.live.http`'s front keeps answering those without the ASGI round (no webhook path is among them)."""

    def __init__(self, hooks: WebhookApp | None, orders: Any) -> None:
        self.hooks = hooks
        self.orders = orders
        self.direct_paths: frozenset[str] = getattr(orders, "direct_paths", frozenset())
        if self.direct_paths:
            self.direct = orders.direct

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if self.hooks is not None and scope["type"] == "http" and scope["path"].startswith("/webhooks/"):
            await self.hooks.handle(scope, receive, send, scope["path"][len("/webhooks/"):])
            return
        await self.orders(scope, receive, send)


class SignalService:
    """See the module docstring. `state_dir` holds the nonce file and the embedded server's store."""

    def __init__(self, cfg: GatewayConfig, state_dir: Path, embedded: bool = False) -> None:
        self.cfg = cfg
        self.sig = cfg.signals
        self.state_dir = state_dir
        self.embedded: EmbeddedNats | None = None
        bus_cfg = self.sig.bus
        if embedded:
            u = urlparse(bus_cfg.url)
            self.embedded = EmbeddedNats(state_dir / "nats", port=u.port or 4222, host=u.hostname or "127.0.0.1")
        self.bus = SignalBus(bus_cfg, duplicate_window_ns=self.sig.replay_window_ns)
        self.webhooks: Any = None
        self.nonces: Any = None
        self.follower: Any = None
        self.lease: Any = None  # hft.bus.lease.LeaderLease when signals.ha is on (hft.live.webhooks.ha)

    async def start(self, live: Any, registry: Any) -> None:
        """Start the bus (connecting in the background), the webhook handler and the follower."""


        f = self.sig.follow
        self.start_bus()
        if self.sig.enabled:
            store = Path(self.sig.nonce_store) if self.sig.nonce_store else self.state_dir / "nonces.log"
            self.nonces = NonceStore(store, self.sig.replay_window_ns, time.time_ns())
            self.webhooks = WebhookApp(self.sig, self.bus, self.nonces, registry)
        if f.enabled:
            self.follower = SignalFollower(f, live, self.bus, self.bus.subject("normalized"), self.sig.max_signal_age_ns,
                                           self.sig.clock_skew_ns)
            self.follower.start()

    def start_bus(self) -> None:
        """The embedded nats-server (if asked) and the bus connection (idempotent)."""
        if self.embedded is not None and self.embedded.proc is None:
            self.embedded.start()
        if not self.bus.started:
            self.bus.start()

    def health(self) -> dict[str, Any]:
        out: dict[str, Any] = {"bus": self.bus.health()}
        if self.lease is not None:
            out["ha"] = self.lease.health()
        if self.nonces is not None:
            out["webhooks"] = {"sources": sorted(self.sig.sources), "nonces": len(self.nonces.seen),
                               "nonces_loaded": self.nonces.loaded}
        if self.follower is not None:
            out["follower"] = self.follower.health()
        return out

    def front(self, orders: Any) -> SignalFront:
        """The ASGI app the listener serves: ``/webhooks/{source}`` here, everything else to `orders`."""
        return SignalFront(self.webhooks, orders)

    async def close(self) -> None:
        if self.follower is not None:
            await self.follower.stop()
        await self.bus.close()
        if self.nonces is not None:
            self.nonces.close()
        if self.embedded is not None:
            self.embedded.stop()
