"""Strict ``signals:`` section of the gateway config: webhook sources and keys, the NATS bus, the
signal-following strategy and the active/standby lease (docs/signals.md).

Secrets never sit in the file when avoidable: a key gives ``secret_env`` (the name of an environment variable,
read at load) or ``secret`` (at least 32 characters). Key rotation: a source lists several keys, each with an
optional validity window (``not_before`` / ``not_after``, ISO 8601 times); every key valid at the request's
time is tried, so two keys are accepted during an overlap. ``HFT_NATS_URL`` overrides ``signals.bus.url``;
``HFT_NODE_ID`` overrides ``signals.ha.node_id``; ``HFT_SIGNALS=1|0`` overrides ``signals.enabled``. Keys named
by ``secret_env`` are read only when the webhooks are enabled (a shipped config may name them while off).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from hft.config.strict import Section
from hft.core.errors import ConfigError

SOURCE_KINDS = ("generic", "tradingview")
_SOURCE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class SignalKey:
    """One HMAC key of a source; valid in [not_before, not_after] (ns since the epoch; None = open)."""

    key_id: str
    secret: bytes
    not_before_ns: int | None = None
    not_after_ns: int | None = None
    shared: bool = False  # another source holds the same secret: only ``v2=`` signatures (they sign the source)

    def valid_at(self, t_ns: int) -> bool:
        return ((self.not_before_ns is None or t_ns >= self.not_before_ns)
                and (self.not_after_ns is None or t_ns <= self.not_after_ns))


@dataclass(frozen=True)
class SourceSpec:
    """An allowed signal source (its name is matched exactly, case-sensitively, in ``/webhooks/{source}``)."""

    name: str
    kind: str  # generic | tradingview (payload shape)
    keys: tuple[SignalKey, ...]
    rate_per_s: float  # token-bucket refill
    burst: int  # bucket size
    instruments: tuple[str, ...] = ()  # allowlist; empty = any
    tick_size: float = 0.01  # decimal prices of the source (TradingView) → integer ticks
    # a webhook whose event time is older than this is refused (422, stale); None: any event time (a source that
    # posts historical signals for research). Default: the section's ``max_signal_age``
    max_signal_age_ns: int | None = 60_000_000_000


@dataclass(frozen=True)
class BusConfig:
    """The NATS JetStream bus (subjects ``<prefix>.raw|normalized|dead`` in one stream)."""

    url: str = "nats://127.0.0.1:4222"
    stream: str = "SIGNALS"
    subject_prefix: str = "signals"
    max_age_ns: int = 7 * 86_400 * 1_000_000_000  # retention: limits policy
    max_msgs: int = 1_000_000
    max_bytes: int = 1 << 30
    storage: str = "file"  # file | memory
    publish_timeout_ns: int = 2_000_000_000  # a JetStream ack must come within this
    buffer: int = 64  # webhooks that may wait for the bus during a blip; more → 503 at once
    blip_ns: int = 2_000_000_000  # how long a webhook waits for a reconnect before 503


CONFLICT_RULES = ("net", "flat")


@dataclass(frozen=True)
class AggregateSource:
    """How one source counts in an aggregate (docs/signals.md, "Signal aggregation")."""

    weight: float  # > 0
    min_strength: float = 0.0  # a view whose strength is below this counts as none
    ttl_ns: int | None = None  # the life of a view whose signal has no horizon; None: until replaced


@dataclass(frozen=True)
class AggregateConfig:
    """Several sources combined into one target (`hft.sim.strategies.signal_aggregate.Aggregator`)."""

    sources: Mapping[str, AggregateSource]
    conflict: str = "net"  # net: opposite views offset each other; flat: any disagreement → target 0
    min_net: float = 0.0  # |net view| below this → target 0
    max_qty: int = 10  # lots at a net view of ±1, and at most this per signal


def parse_aggregate(s: Section, max_qty: int) -> AggregateConfig:
    """Validate an aggregation section (``sources``, ``conflict``, ``min_net``, ``ttl``): the live follower's
    ``signals.follow.aggregate`` and the replay strategy ``signal_aggregate`` read theirs with this one function.
    `max_qty` is the caller's (``follow.max_qty`` / the strategy's ``max_qty``)."""
    ttl = None if s.raw("ttl", None) is None else s.duration_ns("ttl")
    if ttl is not None and ttl <= 0:
        s.fail(s.key("ttl"), "a positive duration or null", s.raw("ttl"))
    src = s.raw("sources")
    if not isinstance(src, Mapping) or not src:
        s.fail(s.key("sources"), "a non-empty mapping of source name to {weight, min_strength, ttl}", src)
    sources: dict[str, AggregateSource] = {}
    for name, data in src.items():
        path = s.key(f"sources.{name}")
        if not isinstance(name, str) or not _SOURCE_NAME.match(name):
            s.fail(path, "a source name of 1-64 letters, digits, '_' or '-'", name)
        one = Section({} if data is None else data, s.file, path)
        weight = one.float("weight", 1.0)
        if weight <= 0:
            one.fail(one.key("weight"), "a number > 0", weight)
        low = one.float("min_strength", 0.0, min_value=0.0)
        if low > 1:
            one.fail(one.key("min_strength"), "a number within [0, 1]", low)
        own = ttl if not one.has("ttl") or one.raw("ttl") is None else one.duration_ns("ttl")
        if own is not None and own <= 0:
            one.fail(one.key("ttl"), "a positive duration or null", one.raw("ttl"))
        one.done()
        sources[name] = AggregateSource(weight, low, own)
    conflict = s.str("conflict", "net", choices=CONFLICT_RULES)
    min_net = s.float("min_net", 0.0, min_value=0.0)
    if min_net > 1:
        s.fail(s.key("min_net"), "a number within [0, 1]", min_net)
    s.done()
    return AggregateConfig(sources, conflict, min_net, max_qty)


@dataclass(frozen=True)
class FollowConfig:
    """The signal-following strategy (durable consumer of ``signals.normalized`` → intents)."""

    enabled: bool = False
    account: str = "ACC1"
    strategy: str = "signal1"
    max_qty: int = 10  # lots at strength 1.0
    consumer: str = "gateway-follower"  # durable consumer name
    aggregate: AggregateConfig | None = None  # several sources combined (None: each signal on its own)


@dataclass(frozen=True)
class HAConfig:
    """Active/standby: a leader lease in a NATS KV bucket whose entries expire after ``lease_ttl``."""

    enabled: bool = False
    node_id: str = ""
    bucket: str = "hft_gateway_leader"
    lease_ttl_ns: int = 3_000_000_000
    renew_ns: int = 1_000_000_000


@dataclass(frozen=True)
class SignalsConfig:
    """The whole ``signals:`` section (defaults: webhooks off)."""

    enabled: bool = False
    replay_window_ns: int = 300_000_000_000
    nonce_store: str | None = None  # default $HFT_HOME/signals/nonces.log
    max_body_bytes: int = 1 << 20
    # the follower acts on a signal only within this of its receipt (and before its horizon ends); with
    # `clock_skew` it must stay below ``dedup.ttl``, so a redelivery after the idempotency key expired is stale
    max_signal_age_ns: int = 60_000_000_000
    clock_skew_ns: int = 1_000_000_000  # how far the webhook ingress's clock may run ahead of the gateway's
    sources: Mapping[str, SourceSpec] = field(default_factory=dict)
    bus: BusConfig = field(default_factory=BusConfig)
    follow: FollowConfig = field(default_factory=FollowConfig)
    ha: HAConfig = field(default_factory=HAConfig)

    @property
    def needs_bus(self) -> bool:
        return self.enabled or self.ha.enabled


def _time_ns(sec: Section, key: str) -> int | None:
    v = sec.raw(key, None)
    if v is None:
        return None
    try:
        dt = datetime.fromisoformat(str(v)) if not isinstance(v, datetime) else v
    except ValueError:
        sec.fail(sec.key(key), "an ISO 8601 time (2026-11-23T20:00:00Z) or null", v)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1e9)


def _key(data: Any, file: str, path: str, env: Mapping[str, str], resolve: bool) -> SignalKey:
    s = Section(data, file, path)
    kid = s.str("id")
    secret = s.raw("secret", None)
    var = s.raw("secret_env", None)
    if (secret is None) == (var is None):
        s.fail(s.key("secret"), "exactly one of secret / secret_env", "<hidden>")
    if var is not None:
        if not isinstance(var, str) or not var:
            s.fail(s.key("secret_env"), "an environment variable name", var)
        secret = env.get(var) if resolve else "<unresolved: signals disabled>" * 2
        if not secret:
            s.fail(s.key("secret_env"), f"environment variable {var} to hold the key", "<unset>")
    if not isinstance(secret, str) or len(secret) < 32:
        s.fail(s.key("secret"), "a key of at least 32 characters", "<hidden>")
    out = SignalKey(kid, secret.encode(), _time_ns(s, "not_before"), _time_ns(s, "not_after"))
    s.done()
    return out


def _source(name: str, data: Any, file: str, path: str, env: Mapping[str, str], resolve: bool,
            max_age_ns: int) -> SourceSpec:
    s = Section({} if data is None else data, file, path)
    if not _SOURCE_NAME.match(name):
        s.fail(path, "a source name of 1-64 letters, digits, '_' or '-'", name)
    kind = s.str("kind", "generic", choices=SOURCE_KINDS)
    raw_keys = s.raw("keys")
    if not isinstance(raw_keys, list) or not raw_keys:
        s.fail(s.key("keys"), "a non-empty list of keys", raw_keys)
    keys = tuple(_key(k, file, f"{path}.keys[{i}]", env, resolve) for i, k in enumerate(raw_keys))
    if len({k.key_id for k in keys}) != len(keys):
        s.fail(s.key("keys"), "distinct key ids", [k.key_id for k in keys])
    rate = s.float("rate_per_s", 50.0, min_value=0.001)
    burst = s.int("burst", 100, min_value=1)
    inst = s.raw("instruments", [])
    if not isinstance(inst, list) or not all(isinstance(x, str) for x in inst):
        s.fail(s.key("instruments"), "a list of instrument names", inst)
    tick = s.float("tick_size", 0.01, min_value=1e-12)
    age = None if s.has("max_signal_age") and s.raw("max_signal_age") is None else \
        s.duration_ns("max_signal_age", max_age_ns)
    s.done()
    return SourceSpec(name, kind, keys, rate, burst, tuple(inst), tick, age)


def _bus(s: Section, env: Mapping[str, str]) -> BusConfig:
    d = BusConfig()
    url = s.str("url", d.url)
    out = BusConfig(url=env.get("HFT_NATS_URL") or url, stream=s.str("stream", d.stream),
                    subject_prefix=s.str("subject_prefix", d.subject_prefix),
                    max_age_ns=s.duration_ns("max_age", d.max_age_ns),
                    max_msgs=s.int("max_msgs", d.max_msgs, min_value=1),
                    max_bytes=s.int("max_bytes", d.max_bytes, min_value=1024),
                    storage=s.str("storage", d.storage, choices=("file", "memory")),
                    publish_timeout_ns=s.duration_ns("publish_timeout", d.publish_timeout_ns),
                    buffer=s.int("buffer", d.buffer, min_value=0, max_value=10_000),
                    blip_ns=s.duration_ns("blip", d.blip_ns))
    if not out.url.startswith(("nats://", "tls://")):
        s.fail(s.key("url"), "a nats:// or tls:// URL (or HFT_NATS_URL)", out.url)
    s.done()
    return out


def _mark_shared(sources: dict[str, SourceSpec]) -> dict[str, SourceSpec]:
    """The sources with `SignalKey.shared` set on each key whose secret another source also holds."""
    holders: dict[bytes, set[str]] = {}
    for name, spec in sources.items():
        for k in spec.keys:
            holders.setdefault(k.secret, set()).add(name)
    return {name: replace(spec, keys=tuple(replace(k, shared=len(holders[k.secret]) > 1) for k in spec.keys))
            for name, spec in sources.items()}


def parse_signals(s: Section, env: Mapping[str, str] | None = None) -> SignalsConfig:
    """Validate the ``signals:`` section (`s` may be empty: webhooks off, defaults)."""
    env = os.environ if env is None else env
    d = SignalsConfig()
    enabled = s.bool("enabled", d.enabled)
    flag = env.get("HFT_SIGNALS", "")
    if flag:
        if flag.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ConfigError(f"HFT_SIGNALS: expected 1/0/true/false, was {flag!r}", key="HFT_SIGNALS")
        enabled = flag.lower() in ("1", "true", "yes")
    window = s.duration_ns("replay_window", d.replay_window_ns)
    if window <= 0:
        s.fail(s.key("replay_window"), "a positive duration", s.raw("replay_window"))
    store = s.raw("nonce_store", None)
    if store is not None and not isinstance(store, str):
        s.fail(s.key("nonce_store"), "a file path string or null", store)
    max_body = s.int("max_body_bytes", d.max_body_bytes, min_value=256)
    max_age = s.duration_ns("max_signal_age", d.max_signal_age_ns)
    if max_age <= 0:
        s.fail(s.key("max_signal_age"), "a positive duration", s.raw("max_signal_age"))
    skew = s.duration_ns("clock_skew", d.clock_skew_ns)
    src = s.raw("sources", {}) or {}
    if not isinstance(src, Mapping):
        s.fail(s.key("sources"), "a mapping of source name to its keys", src)
    sources = {str(n): _source(str(n), v, s.file, s.key(f"sources.{n}"), env, enabled, max_age) for n, v in src.items()}
    bus = _bus(Section(s.raw("bus", {}) or {}, s.file, s.key("bus")), env)
    f = Section(s.raw("follow", {}) or {}, s.file, s.key("follow"))
    fd = FollowConfig()
    max_qty = f.int("max_qty", fd.max_qty, min_value=1)
    agg = f.raw("aggregate", None)
    follow = FollowConfig(enabled=f.bool("enabled", fd.enabled), account=f.str("account", fd.account),
                          strategy=f.str("strategy", fd.strategy), max_qty=max_qty,
                          consumer=f.str("consumer", fd.consumer),
                          aggregate=None if agg is None else parse_aggregate(Section(agg, s.file, f.key("aggregate")),
                                                                             max_qty))
    f.done()
    h = Section(s.raw("ha", {}) or {}, s.file, s.key("ha"))
    hd = HAConfig()
    node = h.str("node_id", hd.node_id)
    ha = HAConfig(enabled=h.bool("enabled", hd.enabled),
                  node_id=env.get("HFT_NODE_ID") or node or f"{os.uname().nodename}-{os.getpid()}",
                  bucket=h.str("bucket", hd.bucket), lease_ttl_ns=h.duration_ns("lease_ttl", hd.lease_ttl_ns),
                  renew_ns=h.duration_ns("renew", hd.renew_ns))
    if not 0 < ha.renew_ns * 2 <= ha.lease_ttl_ns:
        h.fail(h.key("renew"), "a positive duration at most half of lease_ttl", h.raw("renew", None))
    h.done()
    s.done()
    sources = _mark_shared(sources) if enabled else sources
    if enabled and not sources:
        s.fail(s.key("sources"), "at least one source when signals.enabled is true", {})
    return SignalsConfig(enabled, window, store, max_body, max_age, skew, sources, bus, follow, ha)
