"""The signal-following strategy, live: a durable JetStream consumer of ``signals.normalized`` whose messages
become intents of the gateway (the rule is `hft.sim.strategies.signal_follow.order_for`, the one the replay
uses).

Each message: decode the `SignalRecord`, apply the rule to the follower's position, submit a durable intent
through the same intake channel as ``POST /orders`` (idempotency key ``sig:<corr_id>`` scoped by the account,
so a redelivered message is a duplicate decision, never a second order), wait for the decision to be in the
WAL, then ack the message. A message the gateway could not decide durably (WAL refused, intake closed) is
nak'ed and redelivered; a message that is not a valid record is terminated (it stays in the stream).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from hft.config.signals import FollowConfig
from hft.core.signal import SignalRecord
from hft.core.tasks import cancel_and_wait
from hft.gateway.intents import TypedIntentEnvelope
from hft.live import orders as O
from hft.live.engine import LiveGateway, Pending
from hft.sim.strategies.signal_follow import order_for

log = logging.getLogger("hft.signals")


class SignalFollower:
    """Consumes `subject` with durable consumer ``cfg.consumer`` on `bus` and trades through `live`."""

    def __init__(self, cfg: FollowConfig, live: LiveGateway, bus: Any, subject: str) -> None:
        self.cfg = cfg
        self.live = live
        self.bus = bus
        self.subject = subject
        self.task: asyncio.Task | None = None
        self.counts = {"signals": 0, "orders": 0, "accepted": 0, "duplicates": 0, "denied": 0, "skipped": 0,
                       "invalid": 0, "retried": 0}

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="hft-signal-follower")

    async def stop(self) -> None:
        await cancel_and_wait(self.task)

    async def _run(self) -> None:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        sub = None
        while True:
            if not await self.bus.wait_connected(1.0):
                sub = None
                continue
            try:
                if sub is None:
                    sub = await self.bus.js.pull_subscribe(
                        self.subject, durable=self.cfg.consumer, stream=self.bus.cfg.stream,
                        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                                              ack_wait=30, max_ack_pending=1024))
                msgs = await sub.fetch(batch=64, timeout=0.5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # timeout (nothing to do), or the bus went away: retry
                if exc.__class__.__name__ not in ("TimeoutError", "FetchTimeoutError"):
                    log.warning("follower: %s: %s", exc.__class__.__name__, exc)
                    sub = None
                    await asyncio.sleep(0.2)
                continue
            for m in msgs:
                await self._one(m)

    async def _one(self, msg: Any) -> None:
        try:
            sig = SignalRecord.from_dict(json.loads(msg.data))
        except (ValueError, TypeError) as exc:
            self.counts["invalid"] += 1
            log.error("follower: not a signal record (%s); terminated", exc)
            await msg.term()
            return
        self.counts["signals"] += 1
        c = self.cfg
        pos = self.live.gw.position(c.account, c.strategy, sig.instrument).position \
            if self.live.gw.registered("symbol", sig.instrument) else 0
        todo = order_for(sig, int(pos), c.max_qty)
        if todo is None:
            self.counts["skipped"] += 1
            await msg.ack()
            return
        side, qty = todo
        body = O.NewOrder(client_order_id=f"sig-{sig.corr_id}"[:64], account=c.account, strategy=c.strategy,
                          symbol=sig.instrument, side="buy" if side > 0 else "sell", qty=qty,
                          price=sig.price or 0, order_type="limit" if sig.price else "market", tif="ioc")
        payload = O.new_intent(body, O.intent_key(c.account, f"sig:{sig.corr_id}"), time.time_ns())
        fut = asyncio.get_running_loop().create_future()
        t0 = time.perf_counter_ns()
        if not self.live.offer(Pending(TypedIntentEnvelope(payload, payload[11]), fut, True, body.client_order_id,
                                       t0)):
            self.counts["retried"] += 1
            await msg.nak(delay=1)
            return
        d = await fut
        if d is None:  # the WAL refused: redeliver later
            self.counts["retried"] += 1
            await msg.nak(delay=1)
            return
        self.counts["orders"] += 1
        self.counts["duplicates" if d.duplicate else ("accepted" if d.accepted else "denied")] += 1
        log.info(json.dumps({"event": "signal_decision", "corr_id": sig.corr_id, "source": sig.source,
                             "instrument": sig.instrument, "accepted": bool(d.accepted),
                             "reason": O.decision_body(d, body.client_order_id).reason,
                             "order_id": int(d.order_id),
                             "latency_ms": round((time.time_ns() - sig.ts_received) / 1e6, 3)}))
        await msg.ack()
