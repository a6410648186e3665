"""``POST /webhooks/{source}``: the signed signal door of the live service (an ASGI handler the server mounts).

Order of the checks (each refusal is a JSON body naming ``error``, ``field`` and ``reason``, counted in
``gateway_webhooks_received_total{source,status}``; nothing is published or remembered for a refused request):

1. the source is in the allowlist (exact, case-sensitive) — else 404 UNKNOWN_SOURCE; method POST — else 405;
2. body at most ``signals.max_body_bytes`` (1 MiB) — else 413;
3. ``X-Timestamp`` (unix seconds) within ``replay_window`` of now, ``X-Nonce`` well-formed, ``X-Signature`` an
   HMAC-SHA256 under a key of the source valid now (`guard`) — else 401 (400 for a malformed nonce);
4. the nonce not seen within the window (kept until max(receipt, X-Timestamp) + window, persisted across
   restarts) — else 409 REPLAYED;
5. the source's token bucket has a token — else 429 RATE_LIMITED (after authentication, so unsigned traffic
   cannot spend a source's budget);
6. the payload fits the source's shape (`schema`) and is not stale (its horizon not ended, its event time within
   the source's ``max_signal_age``): the raw message goes to ``signals.raw`` and the canonical record to
   ``signals.normalized`` (202); a misfit goes to ``signals.raw`` and ``signals.dead`` (422 with field and
   reason). A message over the bus's ``max_payload`` (a body under ``max_body_bytes`` that grows past it once
   escaped into the raw message) is a 413 TOO_LARGE: it could never be published. Either way the answer comes
   only after JetStream acknowledged every message; when the
   bus cannot (down past its blip buffer, no ack) the answer is 503 BUS_UNAVAILABLE and the nonce is released
   (the sender may retry it; the stream's duplicate window stores a re-sent message once).
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

import msgspec

from hft.bus.nats_bus import BusDown, PayloadTooLarge, SignalBus
from hft.config.signals import SignalsConfig
from hft.core.signal import SignalRecord
from hft.live.logs import LineLog
from hft.live.webhooks.guard import NONCE_RE, NonceStore, TokenBucket, verify_signature
from hft.live.webhooks.schema import SchemaError, normalise

log = logging.getLogger("hft.signals")
_JSON = [(b"content-type", b"application/json")]
encode = msgspec.json.Encoder().encode


class Refused(Exception):
    def __init__(self, status: int, error: str, field: str, reason: str, kind: str | None = None) -> None:
        self.status = status
        self.body = {"error": error, "field": field, "reason": reason}
        self.kind = kind or error.lower()
        self.headers: list[tuple[bytes, bytes]] = []


class WebhookMetrics:
    """The webhook and bus metrics, registered in the service's Prometheus registry."""

    def __init__(self, registry: Any, bus: SignalBus) -> None:
        from prometheus_client import Counter, Histogram

        self.received = Counter("gateway_webhooks_received", "webhooks by source and HTTP status",
                                ["source", "status"], registry=registry)
        self.duration = Histogram("gateway_webhook_duration_seconds", "webhook receipt to answer",
                                  buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
                                  registry=registry)
        self.validation = Counter("gateway_validation_errors", "webhooks refused, by type of error", ["type"],
                                  registry=registry)
        registry.register(_BusCollector(bus))
        self._received: dict[tuple[str, int], Any] = {}  # labelled children, looked up once (labels() is slow)

    def count(self, source: str, status: int) -> None:
        """One webhook answered with `status` (the source label bounded by the caller)."""
        child = self._received.get((source, status))
        if child is None:
            child = self._received[(source, status)] = self.received.labels(source, str(status))
        child.inc()


class _BusCollector:
    def __init__(self, bus: SignalBus) -> None:
        self.bus = bus

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        c = CounterMetricFamily("gateway_nats_publish", "JetStream publications by subject and result",
                                labels=["subject", "status"])
        for (subject, status), n in sorted(self.bus.published.items()):
            c.add_metric([subject, status], n)
        yield c
        yield GaugeMetricFamily("gateway_nats_connected", "1 while the bus is connected", value=int(self.bus.connected))
        yield CounterMetricFamily("gateway_nats_reconnects", "bus reconnections", value=self.bus.reconnects)


class WebhookApp:
    """The handler. `handle(scope, receive, send, source)` is called by the server's router."""

    def __init__(self, cfg: SignalsConfig, bus: SignalBus, nonces: NonceStore, registry: Any,
                 clock_ns: Any = time.time_ns) -> None:
        self.cfg = cfg
        self.bus = bus
        self.nonces = nonces
        self.now = clock_ns
        self.buckets = {n: TokenBucket(s.rate_per_s, s.burst) for n, s in cfg.sources.items()}
        self.metrics = WebhookMetrics(registry, bus)
        self.raw_subject = bus.subject("raw")
        self.norm_subject = bus.subject("normalized")
        self.dead_subject = bus.subject("dead")
        if not log.level:
            log.setLevel(logging.INFO)
        self._log = LineLog(log)

    async def handle(self, scope: dict, receive: Any, send: Any, source: str) -> None:
        t0 = time.perf_counter()
        ctx: dict[str, Any] = {"event": "webhook", "status": 0, "corr_id": None, "source": source, "instrument": None,
                               "validation_status": None}  # the log line's fields, in its order
        try:
            status, body = await self._handle(scope, receive, source, ctx)
            headers = _JSON
        except Refused as r:
            status, body, headers = r.status, r.body, [*_JSON, *r.headers]
            self.metrics.validation.labels(r.kind).inc()
            ctx["validation_status"] = ctx["validation_status"] or "refused"
            ctx["error"] = r.body["error"]
        ctx["status"] = status
        data = encode(body)
        label = source if source in self.cfg.sources else "<unknown>"  # bounded label set
        self.metrics.count(label, status)
        dt = time.perf_counter() - t0
        self.metrics.duration.observe(dt)
        if self._log.enabled():
            ctx["latency_ms"] = round(dt * 1e3, 3)
            self._log.info(encode(ctx).decode())
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    async def _handle(self, scope: dict, receive: Any, source: str, ctx: dict[str, Any]) -> tuple[int, dict]:
        src = self.cfg.sources.get(source)
        if src is None:
            raise Refused(404, "UNKNOWN_SOURCE", "source", f"no source {source[:64]!r} in signals.sources")
        if scope["method"] != "POST":
            raise Refused(405, "METHOD_NOT_ALLOWED", "method", f"expected POST, was {scope['method']}")
        body = await self._body(scope, receive)
        h = {k: v for k, v in scope["headers"] if k in (b"x-signature", b"x-timestamp", b"x-nonce")}
        now = self.now()
        for name in (b"x-timestamp", b"x-nonce", b"x-signature"):
            if name not in h:
                raise Refused(401, "UNAUTHORIZED", name.decode().title(), "missing header", "missing_header")
        ts, nonce, sig = (h[b"x-timestamp"].decode("latin-1"), h[b"x-nonce"].decode("latin-1"),
                          h[b"x-signature"].decode("latin-1"))
        if not (ts.isascii() and ts.isdigit()) or len(ts) > 12:  # str.isdigit() alone takes '²'
            raise Refused(401, "UNAUTHORIZED", "X-Timestamp", f"expected unix seconds, was {ts[:20]!r}",
                          "bad_timestamp")
        ts_ns = int(ts) * 1_000_000_000
        if abs(ts_ns - now) > self.cfg.replay_window_ns:
            raise Refused(401, "UNAUTHORIZED", "X-Timestamp",
                          f"outside the replay window of {self.cfg.replay_window_ns // 1_000_000_000}s", "stale")
        if not NONCE_RE.match(nonce):
            raise Refused(400, "BAD_INPUT", "X-Nonce", "expected 8-128 characters [A-Za-z0-9_.:-]", "bad_nonce")
        key_id = verify_signature(src.keys, now, sig, ts, nonce, body, source)
        if key_id is None:
            why = "no key of this source valid now signed this body"
            if not sig.strip().startswith("v2=") and any(k.shared for k in src.keys):
                why += " (a key shared with another source takes only v2= signatures, which sign the source)"
            raise Refused(401, "UNAUTHORIZED", "X-Signature", why, "bad_signature")
        corr = f"{source}:{nonce}"
        ctx["corr_id"] = corr
        if not self.nonces.reserve(source, nonce, now):
            raise Refused(409, "REPLAYED", "X-Nonce", "nonce already used within the replay window", "replayed")
        try:
            if not self.buckets[source].take(now):
                r = Refused(429, "RATE_LIMITED", "source", f"over {src.rate_per_s:g}/s (burst {src.burst})",
                            "rate_limited")
                r.headers = [(b"retry-after", str(max(1, round(self.buckets[source].retry_after_s()))).encode())]
                raise r
            status, out = await self._publish(src, body, corr, key_id, now, ctx)
        except Refused as r:
            if r.status == 422:  # published raw + dead-lettered: the nonce is spent
                self.nonces.commit(source, nonce, now, ts_ns)
            else:
                self.nonces.release(source, nonce)
            raise
        except BaseException:
            self.nonces.release(source, nonce)
            raise
        self.nonces.commit(source, nonce, now, ts_ns)
        return status, out

    async def _body(self, scope: dict, receive: Any) -> bytes:
        limit = self.cfg.max_body_bytes
        for k, v in scope["headers"]:
            if k == b"content-length" and v.isdigit() and int(v) > limit:
                raise Refused(413, "TOO_LARGE", "$body", f"expected at most {limit} bytes, was {int(v)}",
                              "too_large")
        body = b""
        while True:
            m = await receive()
            body += m.get("body", b"")
            if len(body) > limit:
                raise Refused(413, "TOO_LARGE", "$body", f"expected at most {limit} bytes", "too_large")
            if not m.get("more_body"):
                return body

    async def _publish(self, src: Any, body: bytes, corr: str, key_id: str, now: int,
                       ctx: dict[str, Any]) -> tuple[int, dict]:
        raw: dict[str, Any] = {"v": 1, "source": src.name, "corr_id": corr, "received_ns": now, "key_id": key_id}
        try:
            raw["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            raw["body_b64"] = base64.b64encode(body).decode()
        try:
            rec = normalise(src, body, corr, now)
            _fresh(src, rec, now)
        except SchemaError as e:
            ctx["validation_status"] = "invalid"
            raw["error"] = {"field": e.field, "reason": e.reason, "type": e.kind}
            data = encode(raw)
            await self._send([(self.raw_subject, data, f"{corr}:raw"), (self.dead_subject, data, f"{corr}:dead")])
            r = Refused(422, "SCHEMA", e.field, e.reason, e.kind)
            r.body["corr_id"] = corr
            raise r from None
        ctx["validation_status"] = "valid"
        ctx["instrument"] = rec.instrument
        signal = rec.to_dict()
        seqs = await self._send([(self.raw_subject, encode(raw), f"{corr}:raw"),
                                 (self.norm_subject, encode(signal), f"{corr}:norm")])
        return 202, {"accepted": True, "corr_id": corr, "seq": seqs[1], "signal": signal}

    async def _send(self, msgs: list[tuple[str, bytes, str]]) -> list[int]:
        try:
            return await self.bus.publish_many(msgs)
        except BusDown as e:
            raise Refused(503, "BUS_UNAVAILABLE", "bus", str(e), "bus_unavailable") from None
        except PayloadTooLarge as e:  # the body, escaped into the signal's messages: never publishable
            raise Refused(413, "TOO_LARGE", "$body", f"expected a body whose messages fit the bus: {e}",
                          "too_large") from None


def _fresh(src: Any, rec: SignalRecord, now: int) -> None:
    """`SchemaError` (type ``stale``, naming the payload's field) when the signal's horizon ended before it arrived
    or its event time is older than the source's ``max_signal_age`` (None: any event time)."""
    if rec.horizon_ns > 0 and rec.ts_event + rec.horizon_ns < now:
        raise SchemaError("horizon_s", f"expected a horizon not yet ended, ended "
                          f"{(now - rec.ts_event - rec.horizon_ns) / 1e9:.3f}s before receipt", "stale")
    age = src.max_signal_age_ns
    if age is not None and rec.ts_event + age < now:
        raise SchemaError("ts_ms" if src.kind == "generic" else "time",
                          f"expected an event at most {age / 1e9:g}s old (signals.max_signal_age), was "
                          f"{(now - rec.ts_event) / 1e9:.3f}s old", "stale")
