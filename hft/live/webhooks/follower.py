"""The signal-following strategy, live: a durable JetStream consumer of ``signals.normalized`` whose messages
become intents of the gateway (the rule is `hft.sim.strategies.signal_follow.order_for`, the one the replay
uses).

Each message: decode the `SignalRecord`, apply the rule to the follower's position, submit a durable intent
through the same intake channel as ``POST /orders`` (idempotency key ``sig:<corr_id>`` scoped by the account,
so a redelivered message is a duplicate decision, never a second order), wait for the decision to be in the
WAL, then ack the message. A message the gateway could not decide durably (WAL refused, intake closed) is
nak'ed and redelivered; a message that is not a valid record is terminated (it stays in the stream).

A signal is acted on once for as long as the stream can redeliver it. The idempotency key lives ``dedup.ttl``; a
redelivery later than that (acks lost with a nats-server outage, a consumer recreated) is refused as stale: the
intent carries the window ``[ts_received - clock_skew, expires_ns(max_signal_age)]``, which the writer checks on
the gateway's clock (`hft.live.engine.Pending.window`), and the config keeps ``max_signal_age + clock_skew`` below
``dedup.ttl`` (`hft.gateway.config.check_signal_age`). A stale signal is not traded: it is counted (``stale``),
dead-lettered on ``signals.dead`` with the reason, and acked.

With ``signals.follow.aggregate`` the rule is `hft.sim.strategies.signal_aggregate.Aggregator` (several sources
combined into one target, the one the ``signal_aggregate`` replay uses): each record is folded into the views
(stale or not: the views judge time by event times only), and a record that is its source's view trades toward
the aggregate target. The views are rebuilt on start, before the first message is consumed, by folding every
record of the subject still in the stream (`hft.bus.export.scan_subject`): folding is idempotent and
order-free, so a restart (a SIGKILL too) has the views it had, plus those of records not yet acted on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from hft.bus.export import scan_subject
from hft.bus.nats_bus import BusDown
from hft.config.signals import FollowConfig
from hft.core.signal import SignalRecord
from hft.core.tasks import cancel_and_wait
from hft.gateway.intents import TypedIntentEnvelope
from hft.live import orders as O
from hft.live.engine import OUTSIDE_WINDOW, LiveGateway, Pending
from hft.sim.strategies.signal_aggregate import Aggregator
from hft.sim.strategies.signal_follow import order_for, toward

log = logging.getLogger("hft.signals")


class SignalFollower:
    """Consumes `subject` with durable consumer ``cfg.consumer`` on `bus` and trades through `live`."""

    def __init__(self, cfg: FollowConfig, live: LiveGateway, bus: Any, subject: str, max_signal_age_ns: int,
                 clock_skew_ns: int) -> None:
        self.cfg = cfg
        self.max_age_ns = max_signal_age_ns
        self.skew_ns = clock_skew_ns
        self.live = live
        self.bus = bus
        self.subject = subject
        self.task: asyncio.Task | None = None
        self.counts = {"signals": 0, "orders": 0, "accepted": 0, "duplicates": 0, "denied": 0, "skipped": 0,
                       "invalid": 0, "retried": 0, "stale": 0}
        self.agg = Aggregator(cfg.aggregate) if cfg.aggregate is not None else None
        self.rebuilt: int | None = None  # records folded by the start's rebuild (None: not done yet)

    def health(self) -> dict[str, Any]:
        """The counts, and with an aggregate its views and targets (``/health`` ``signals.follower``)."""
        out: dict[str, Any] = dict(self.counts)
        if self.agg is not None:
            out["aggregate"] = {"rebuilt": self.rebuilt, "instruments": self.agg.state()}
        return out

    async def _rebuild(self) -> None:
        """Fold every record of the subject in the stream into the views (module docstring)."""
        assert self.agg is not None
        agg = self.agg

        def fold(d: dict[str, Any]) -> None:
            with contextlib.suppress(ValueError, TypeError):  # not a record: the consumer terminates it
                agg.fold(SignalRecord.from_dict(d))

        self.rebuilt = await scan_subject(self.bus.js, self.bus.cfg.stream, self.subject, fold)
        log.info(json.dumps({"event": "signal_views_rebuilt", "records": self.rebuilt,
                             "instruments": agg.state()}))

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
                if self.agg is not None and self.rebuilt is None:
                    await self._rebuild()
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
        if self.agg is not None and not self.agg.fold(sig):  # superseded, or a source not aggregated
            self.counts["skipped"] += 1
            await msg.ack()
            return
        window = (sig.ts_received - self.skew_ns, sig.expires_ns(self.max_age_ns))
        if not window[0] <= time.time_ns() <= window[1]:  # the writer checks again, on the gateway's clock
            await self._stale(msg, sig)
            return
        c = self.cfg
        pos = self.live.gw.position(c.account, c.strategy, sig.instrument).position \
            if self.live.gw.registered("symbol", sig.instrument) else 0
        todo = order_for(sig, int(pos), c.max_qty) if self.agg is None else \
            toward(self.agg.target(sig.instrument), int(pos), c.max_qty)
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
                                       t0, window=window)):
            self.counts["retried"] += 1
            await msg.nak(delay=1)
            return
        d = await fut
        if d is OUTSIDE_WINDOW:
            await self._stale(msg, sig)
            return
        if d is None:  # the WAL refused: redeliver later
            self.counts["retried"] += 1
            await msg.nak(delay=1)
            return
        self.counts["orders"] += 1
        self.counts["duplicates" if d.duplicate else ("accepted" if d.accepted else "denied")] += 1
        extra = {} if self.agg is None else {"target": self.agg.target(sig.instrument)}
        log.info(json.dumps({"event": "signal_decision", "corr_id": sig.corr_id, "source": sig.source,
                             "instrument": sig.instrument, **extra, "accepted": bool(d.accepted),
                             "reason": O.decision_body(d, body.client_order_id).reason,
                             "order_id": int(d.order_id),
                             "latency_ms": round((time.time_ns() - sig.ts_received) / 1e6, 3)}))
        await msg.ack()

    async def _stale(self, msg: Any, sig: SignalRecord) -> None:
        """Not traded: counted, dead-lettered with the reason (a bus refusal naks it for another try), acked."""
        now = time.time_ns()
        reason = ("received in the future beyond signals.clock_skew" if now < sig.ts_received - self.skew_ns else
                  f"stale: {(now - sig.ts_received) / 1e9:.3f}s after receipt, past its horizon or "
                  f"signals.max_signal_age ({self.max_age_ns / 1e9:g}s)")
        dead = {**sig.to_dict(), "error": {"field": "ts_received", "reason": reason, "type": "stale"}}
        try:
            await self.bus.publish_many([(self.bus.subject("dead"), json.dumps(dead).encode(),
                                          f"{sig.corr_id}:stale")])
        except BusDown as exc:  # the bus went away: try again on the redelivery
            log.warning("follower: dead-lettering %s failed (%s); nak", sig.corr_id, exc)
            self.counts["retried"] += 1
            await msg.nak(delay=1)
            return
        self.counts["stale"] += 1
        log.warning(json.dumps({"event": "signal_stale", "corr_id": sig.corr_id, "source": sig.source,
                                "instrument": sig.instrument, "reason": reason}))
        await msg.ack()
