"""A signal is acted on once for as long as the stream can redeliver it, and never when stale: `hft gateway serve`
with a real nats-server, ``dedup.ttl`` 10 s and ``signals.max_signal_age`` 6 s.

A redelivery after the follower's idempotency key expired (what acks lost with a nats-server outage cause; here
the durable consumer is deleted, so JetStream delivers the whole stream again) is refused as stale, counted and
dead-lettered, never traded a second time. A stale signal is refused at the webhook (422, dead-lettered) and by
the follower (a record already old when the follower reads it)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from sigkit import CONFIG, KEYS, EmbeddedNats, post, signal_server, stream_messages, wait_for

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

TTL = 10
MAX_AGE = 6


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("stale")
    cfg = d / "gateway_signals_stale.yaml"
    text = CONFIG.read_text()
    assert "ttl: 600s" in text and "replay_window: 60s" in text
    cfg.write_text(text.replace("ttl: 600s", f"ttl: {TTL}s")
                   .replace("replay_window: 60s", f"replay_window: 60s\n  max_signal_age: {MAX_AGE}s"))
    nats = EmbeddedNats(d / "nats").start()
    srv = signal_server(d / "home", nats, config=cfg).start()
    yield srv, nats
    srv.stop()
    nats.stop()


def _follower(srv) -> dict:
    return srv.request("GET", "/health")[1]["signals"]["follower"]


def _sent(srv, price: int) -> int:
    """How many new orders of the follower (strategy sig1) at `price` the venue received (each test's signals have
    their own prices)."""
    return sum(1 for e in srv.journal() if e["ev"] == "cmd" and e["action"] == 1 and e["strategy"] == "sig1"
               and e["price"] == price)


def _nats(url: str, fn) -> None:
    import nats

    async def go() -> None:
        nc = await nats.connect(url)
        try:
            await fn(nc.jetstream())
        finally:
            await nc.close()

    asyncio.run(go())


def test_redelivery_after_the_key_expired_is_not_traded_again(env):
    srv, nats = env
    corrs, prices = [], [10100 + 5 * i for i in range(3)]
    for p in prices:
        code, out, _ = post(srv, "partner", {"instrument": "AAPL", "side": "buy", "price": p})
        assert code == 202, out
        corrs.append(out["corr_id"])
    assert wait_for(lambda: [_sent(srv, p) for p in prices] == [1, 1, 1])
    before = _follower(srv)
    time.sleep(TTL + 0.5)  # every idempotency key sig:<corr_id> has expired (the state under test is time passing)

    async def redeliver(js) -> None:  # as lost acks do: the consumer is recreated from the stream's start
        await js.delete_consumer("SIGNALS", "follower")

    _nats(nats.url, redeliver)
    n = len(stream_messages(nats.url, "signals.normalized"))
    assert wait_for(lambda: _follower(srv)["signals"] >= before["signals"] + n, timeout=30)
    after = _follower(srv)
    assert [_sent(srv, p) for p in prices] == [1, 1, 1]
    assert after["stale"] - before["stale"] == n and after["orders"] == before["orders"]
    dead = [m for m in stream_messages(nats.url, "signals.dead") if m.get("error", {}).get("type") == "stale"]
    assert set(corrs) <= {m["corr_id"] for m in dead}
    assert "Traceback" not in srv.log.read_text()


def test_stale_webhook_refused_and_dead_lettered(env):
    srv, nats = env
    day_ago = int(time.time() * 1000) - 86_400_000
    code, out, _ = post(srv, "partner", {"instrument": "AAPL", "side": "buy", "ts_ms": day_ago})
    assert code == 422 and out["field"] == "ts_ms" and "max_signal_age" in out["reason"], out
    stale_corr = out["corr_id"]
    code, out, _ = post(srv, "partner", {"instrument": "AAPL", "side": "buy", "horizon_s": 1,
                                         "ts_ms": int(time.time() * 1000) - 3000})
    assert code == 422 and out["field"] == "horizon_s", out
    tv = {"ticker": "AAPL", "action": "buy", "position_size": "1", "price": "100.05",
          "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86_400))}
    code, out, _ = post(srv, "tradingview", tv, key=KEYS["HFT_TEST_KEY_TV"])
    assert code == 422 and out["field"] == "time", out
    # a source that posts historical signals for research (max_signal_age: null) is not refused
    code, out, _ = post(srv, "research", {"instrument": "SYNTH", "side": "buy", "ts_ms": day_ago})
    assert code == 202, out
    dead = stream_messages(nats.url, "signals.dead")
    assert any(m["corr_id"] == stale_corr and m["error"]["type"] == "stale" for m in dead)
    assert stale_corr not in {m["corr_id"] for m in stream_messages(nats.url, "signals.normalized")}


def test_follower_refuses_a_signal_already_old_when_read(env):
    """A record on the stream received long ago (the gateway was down meanwhile) is dead-lettered, not traded."""
    srv, nats = env
    now = time.time_ns()
    corr = f"partner:{uuid.uuid4().hex}"
    rec = {"source": "partner", "instrument": "AAPL", "side": 1, "target": None, "strength": 1.0, "horizon_ns": 0,
           "price": 10500, "ts_event": now - 86_400 * 10**9, "ts_received": now - 86_400 * 10**9,
           "corr_id": corr, "v": 1}
    before = _follower(srv)

    async def publish(js) -> None:
        await js.publish("signals.normalized", json.dumps(rec).encode(), stream="SIGNALS")

    _nats(nats.url, publish)
    assert wait_for(lambda: _follower(srv)["stale"] > before["stale"], timeout=30)
    assert _sent(srv, 10500) == 0 and _follower(srv)["orders"] == before["orders"]
    assert any(m["corr_id"] == corr and m["error"]["type"] == "stale"
               for m in stream_messages(nats.url, "signals.dead"))
