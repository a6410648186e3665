"""The pure parts of the signal ingress: the config section (one-line errors naming the key), signatures under
rotating keys, the persisted nonce cache, the token bucket, payload normalisation, the follower's rule."""

from __future__ import annotations

import time

import msgspec
import pytest

from hft.config.signals import SignalKey, SourceSpec, parse_signals
from hft.config.strict import Section
from hft.core.errors import ConfigError
from hft.core.signal import SignalRecord
from hft.live.webhooks.guard import NonceStore, TokenBucket, sign, verify_signature
from hft.live.webhooks.schema import SchemaError, normalise
from hft.sim.strategies.signal_follow import order_for

K = "k" * 40


def _parse(data, env=None):
    return parse_signals(Section(data, "gw.yaml", "signals"), env or {})


def test_config_defaults_and_env_switches():
    c = _parse({})
    assert not c.enabled and not c.needs_bus and c.max_body_bytes == 1 << 20
    c = _parse({"sources": {"p": {"keys": [{"id": "a", "secret_env": "KEY_P"}]}}},
               {"HFT_SIGNALS": "1", "KEY_P": K, "HFT_NATS_URL": "nats://10.0.0.1:4222", "HFT_NODE_ID": "n1"})
    assert c.enabled and c.sources["p"].keys[0].secret == K.encode() and c.bus.url == "nats://10.0.0.1:4222"
    assert c.ha.node_id == "n1"
    # keys are read only when the webhooks are on
    assert not _parse({"sources": {"p": {"keys": [{"id": "a", "secret_env": "UNSET"}]}}}).enabled


@pytest.mark.parametrize("data,env,key", [
    ({"enabled": True, "sources": {"p": {"keys": [{"id": "a", "secret_env": "UNSET"}]}}}, {},
     "signals.sources.p.keys[0].secret_env"),
    ({"enabled": True, "sources": {"p": {"keys": [{"id": "a", "secret": "short"}]}}}, {},
     "signals.sources.p.keys[0].secret"),
    ({"enabled": True, "sources": {"p": {"keys": [{"id": "a", "secret": K, "secret_env": "X"}]}}}, {},
     "signals.sources.p.keys[0].secret"),
    ({"enabled": True, "sources": {"p": {"keys": [{"id": "a", "secret": K}, {"id": "a", "secret": K}]}}}, {},
     "signals.sources.p.keys"),
    ({"enabled": True, "sources": {"p": {"keys": [{"id": "a", "secret": K, "not_after": "soon"}]}}}, {},
     "signals.sources.p.keys[0].not_after"),
    ({"enabled": True, "sources": {"bad name": {"keys": [{"id": "a", "secret": K}]}}}, {}, "signals.sources.bad name"),
    ({"enabled": True, "sources": {"p": {"kind": "fax", "keys": [{"id": "a", "secret": K}]}}}, {},
     "signals.sources.p.kind"),
    ({"enabled": True}, {}, "signals.sources"),
    ({"bus": {"url": "http://x"}}, {}, "signals.bus.url"),
    ({"bus": {"retention": "forever"}}, {}, "signals.bus.retention"),
    ({"ha": {"lease_ttl": "1s", "renew": "800ms"}}, {}, "signals.ha.renew"),
    ({}, {"HFT_SIGNALS": "maybe"}, "HFT_SIGNALS"),
    ({"max_signal_age": "0s"}, {}, "signals.max_signal_age"),
    ({"sources": {"p": {"keys": [{"id": "a", "secret": K}], "max_signal_age": "soon"}}}, {},
     "signals.sources.p.max_signal_age"),
])
def test_config_errors_name_the_key(data, env, key):
    with pytest.raises(ConfigError) as e:
        _parse(data, env)
    assert e.value.fields["key"] == key and "\n" not in str(e.value) and K not in str(e.value)


def test_signal_age_below_the_follower_key_lifetime(tmp_path):
    """``max_signal_age + clock_skew`` must stay below ``dedup.ttl`` (after the environment's overrides): else a
    redelivery after the follower's key expired would be fresh enough to trade again."""
    from hft.gateway.config import load_config

    cfg = tmp_path / "gw.yaml"
    cfg.write_text("dedup: {ttl: 60s}\naccounts: {ACC1: {}}\nstrategies: {signal1: {}}\n"
                   "signals: {ha: {enabled: true}, follow: {enabled: true}, max_signal_age: 59s, clock_skew: 500ms}\n")
    assert load_config(cfg, {}).signals.max_signal_age_ns == 59 * 10**9
    with pytest.raises(ConfigError) as e:
        load_config(cfg, {"HFT_DEDUP_TTL_S": "59"})
    assert e.value.fields["key"] == "signals.max_signal_age" and "dedup.ttl (59s)" in str(e.value)
    cfg.write_text(cfg.read_text().replace("follow: {enabled: true}", "follow: {enabled: false}"))
    assert load_config(cfg, {"HFT_DEDUP_TTL_S": "59"})  # no follower: no key to outlive
    # a source's own age (null: historical signals accepted) defaults to the section's
    c = _parse({"max_signal_age": "5s", "sources": {"p": {"keys": [{"id": "a", "secret": K}]},
                                                    "r": {"keys": [{"id": "a", "secret": K}], "max_signal_age": None}}})
    assert c.sources["p"].max_signal_age_ns == 5 * 10**9 and c.sources["r"].max_signal_age_ns is None


def test_signature_under_rotating_keys():
    now = time.time_ns()
    old = SignalKey("old", b"o" * 32, None, now + 10**9)
    new = SignalKey("new", b"n" * 32, now - 10**9, None)
    body = b'{"instrument":"AAPL","side":"buy"}'
    for src in ("p", None):  # v2= (signs the source) and the first form sha256=
        for k in (old, new):
            assert verify_signature((old, new), now, sign(k.secret, "1", "nonce-123", body, src), "1", "nonce-123",
                                    body, "p") == k.key_id
        later = now + 2 * 10**9  # past the old key's not_after
        assert verify_signature((old, new), later, sign(old.secret, "1", "nonce-123", body, src), "1", "nonce-123",
                                body, "p") is None
        sig = sign(new.secret, "1", "nonce-123", body, src)
        assert verify_signature((old, new), now, sig, "1", "nonce-124", body, "p") is None  # the nonce is signed
        assert verify_signature((old, new), now, sig, "2", "nonce-123", body, "p") is None  # the timestamp is signed
        assert verify_signature((old, new), now, sig, "1", "nonce-123", body + b" ", "p") is None


def test_the_source_is_signed_and_shared_keys_take_only_v2():
    """A request signed for one source does not verify for another; under a key two sources hold, the first form
    (which does not sign the source, so it could be replayed to the other) is refused."""
    body = b'{"instrument":"AAPL","side":"buy"}'
    c = _parse({"sources": {"a": {"keys": [{"id": "ka", "secret": K}]}, "b": {"keys": [{"id": "kb", "secret": K}]},
                            "c": {"keys": [{"id": "kc", "secret": "c" * 40}]}}}, {"HFT_SIGNALS": "1"})
    a, b, cc = (c.sources[n].keys for n in "abc")
    assert a[0].shared and b[0].shared and not cc[0].shared
    now = time.time_ns()
    v2 = sign(K.encode(), "1", "nonce-123", body, "a")
    assert verify_signature(a, now, v2, "1", "nonce-123", body, "a") == "ka"
    assert verify_signature(b, now, v2, "1", "nonce-123", body, "b") is None  # replayed to the other source
    v1 = sign(K.encode(), "1", "nonce-123", body)
    assert verify_signature(a, now, v1, "1", "nonce-123", body, "a") is None  # shared: v2 only
    assert verify_signature(cc, now, sign(b"c" * 40, "1", "nonce-123", body), "1", "nonce-123", body, "c") == "kc"


def test_nonce_store_persists_within_the_window(tmp_path):
    p = tmp_path / "nonces.log"
    now = 10**18
    s = NonceStore(p, 60 * 10**9, now)
    assert s.reserve("src", "n1", now) and not s.reserve("src", "n1", now)  # in flight
    s.commit("src", "n1", now)
    assert s.reserve("src", "n2", now)
    s.release("src", "n2")  # a refused publication: the nonce may be retried
    assert s.reserve("other", "n1", now)  # per source
    s.close()
    s2 = NonceStore(p, 60 * 10**9, now + 10**9)
    assert s2.loaded == 1 and not s2.reserve("src", "n1", now + 10**9) and s2.reserve("src", "n2", now)
    s2.close()
    with open(p, "ab") as f:
        f.write(b"123 src torn-line-without-newline")
    s3 = NonceStore(p, 60 * 10**9, now + 61 * 10**9)  # past the window: forgotten, file compacted
    assert s3.loaded == 0 and s3.reserve("src", "n1", now + 61 * 10**9)
    s3.close()
    assert p.read_text() == ""


def test_nonce_kept_until_the_later_of_receipt_and_timestamp_plus_window(tmp_path):
    """A sender clock 50 s ahead: the request passes the timestamp check until X-Timestamp + 60 s, so its nonce
    is kept that long (in memory and across a reload), an earlier-expiring one behind it still expires."""
    p = tmp_path / "nonces.log"
    now, w = 10**18, 60 * 10**9
    s = NonceStore(p, w, now)
    assert s.reserve("src", "ahead", now)
    s.commit("src", "ahead", now, now + 50 * 10**9)
    assert s.reserve("src", "plain", now + 10**9)
    s.commit("src", "plain", now + 10**9, now)  # behind: kept from receipt
    t = now + 62 * 10**9  # past receipt + window, X-Timestamp + window still ahead
    assert not s.reserve("src", "ahead", t) and s.reserve("src", "plain", t)
    s.release("src", "plain")
    s.close()
    s2 = NonceStore(p, w, t)
    assert s2.loaded == 1 and not s2.reserve("src", "ahead", t)
    assert s2.reserve("src", "ahead", now + 111 * 10**9)  # X-Timestamp + window passed (and stale by then)
    s2.close()


def test_token_bucket_burst_then_rate():
    b = TokenBucket(2.0, 3)
    t = 10**18
    assert [b.take(t) for _ in range(4)] == [True, True, True, False]
    assert not b.take(t + 400_000_000) and b.take(t + 600_000_000)  # 2/s: one token per 500 ms


SRC = SourceSpec("p", "generic", (), 1.0, 1, ("AAPL",))
TV = SourceSpec("tv", "tradingview", (), 1.0, 1, (), 0.25)


def test_normalise_generic_and_tradingview():
    r = normalise(SRC, b'{"instrument":"AAPL","target":-3,"strength":0.5,"horizon_s":60,"ts_ms":1000}', "p:x", 7)
    assert (r.side, r.target, r.horizon_ns, r.ts_event, r.ts_received, r.corr_id, r.v) == \
        (0, -3, 60 * 10**9, 10**9, 7, "p:x", 1)
    assert SignalRecord.from_dict(r.to_dict()) == r
    t = normalise(TV, b'{"ticker":"ES","action":"BUY","price":"4500.25","position_size":"2","time":"2026-01-01T00:00:00Z"}',
                  "tv:y", 7)
    assert (t.instrument, t.side, t.price, t.target) == ("ES", 1, 18001, 2)


@pytest.mark.parametrize("body,field,kind", [
    (b"{", "$body", "malformed_json"),
    (b"[]", "$body", "type"),
    (b'{"side":"buy"}', "instrument", "missing_field"),
    (b'{"instrument":"AAPL"}', "side", "missing_field"),
    (b'{"instrument":"AAPL","side":"hold"}', "side", "type"),
    (b'{"instrument":"MSFT","side":"buy"}', "instrument", "instrument"),
    (b'{"instrument":"AAPL","side":"buy","strength":1.5}', "strength", "value"),
    (b'{"instrument":"AAPL","side":"buy","price":0}', "price", "value"),
    (b'{"instrument":"AAPL","side":"buy","x":1}', "x", "unknown_field"),
    (b'{"instrument":"AAPL","target":%d}' % 2**70, "target", "value"),  # beyond int64: never published
    (b'{"instrument":"AAPL","target":%d}' % -(2**63), "target", "value"),
    (b'{"instrument":"AAPL","side":"buy","price":%d}' % 2**63, "price", "value"),
    (b'{"instrument":"AAPL","side":"buy","ts_ms":%d}' % 2**70, "ts_ms", "value"),
    (b'{"instrument":"AAPL","side":"buy","ts_ms":%d}' % (2**63 // 10**6 + 1), "ts_ms", "value"),  # ns overflow
])
def test_normalise_refusals_name_the_field(body, field, kind):
    with pytest.raises(SchemaError) as e:
        normalise(SRC, body, "p:x", 1)
    assert (e.value.field, e.value.kind) == (field, kind)


@pytest.mark.parametrize("fields,field", [
    ({"position_size": "-1e30"}, "position_size"),  # beyond int64
    ({"position_size": "1.5"}, "position_size"),  # not whole lots: never rounded
    ({"price": "4500.1"}, "price"),  # off the 0.25 grid: never rounded
    ({"price": 4500.1}, "price"),
    ({"price": "1e30"}, "price"),  # 4e30 ticks
    ({"time": "9999-01-01T00:00:00Z"}, "time"),  # beyond int64 ns
])
def test_tradingview_refuses_what_it_cannot_carry_exactly(fields, field):
    body = msgspec.json.encode({"ticker": "ES", "action": "buy", "price": "4500.25", **fields})
    with pytest.raises(SchemaError) as e:
        normalise(TV, body, "tv:y", 1)
    assert (e.value.field, e.value.kind) == (field, "value")
    ok = normalise(TV, msgspec.json.encode({"ticker": "ES", "action": "buy", "price": 4500.75,
                                            "position_size": "-2.0"}), "tv:y", 1)
    assert (ok.price, ok.target) == (18003, -2)


def test_signal_expiry():
    """Stale after `max_age` from the earlier of event and receipt, or at the end of its horizon."""
    def rec(ts_event, ts_received, horizon_ns=0):
        return SignalRecord("p", "AAPL", 1, None, 1.0, horizon_ns, None, ts_event, ts_received, "p:x")

    assert rec(100, 100).expires_ns(50) == 150
    assert rec(10**12, 100).expires_ns(50) == 150  # a source clock ahead does not lengthen it
    assert rec(40, 100).expires_ns(50) == 90  # an event older than its receipt
    assert rec(100, 100, 20).expires_ns(50) == 120 and rec(100, 100, 80).expires_ns(50) == 150


def test_follow_rule():
    def sig(side=0, target=None, strength=1.0):
        return SignalRecord("p", "AAPL", side, target, strength, 0, None, 0, 0, "p:x")

    assert order_for(sig(side=1, strength=0.5), 0, 10) == (1, 5)
    assert order_for(sig(side=-1, strength=0.01), 0, 10) == (-1, 1)
    assert order_for(sig(side=1, strength=0.0), 0, 10) is None
    assert order_for(sig(target=-3), 4, 10) == (-1, 7)
    assert order_for(sig(target=100), 0, 10) == (1, 10)
    assert order_for(sig(target=2), 2, 10) is None
