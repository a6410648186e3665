"""A captured webhook replayed against `hft gateway serve` with a 4 s replay window, the sender's clock ahead of
the server's and behind it: the nonce outlives every moment the timestamp check still accepts the request, so
the replay is a 409 (or, later, a stale 401) and never a second signal (the nonce file keeps the same
deadline across a restart: tests/unit/signals)."""

from __future__ import annotations

import time

import pytest
from sigkit import CONFIG, EmbeddedNats, signal_server, signed, stream_messages

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

WINDOW = 4


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("skew")
    cfg = d / "gateway_signals_4s.yaml"
    text = CONFIG.read_text()
    assert "replay_window: 60s" in text
    cfg.write_text(text.replace("replay_window: 60s", f"replay_window: {WINDOW}s"))
    nats = EmbeddedNats(d / "nats").start()
    srv = signal_server(d / "home", nats, config=cfg).start()
    yield srv, nats
    srv.stop()
    nats.stop()


def _send(srv, raw, h):
    return srv.request("POST", "/webhooks/partner", raw=raw, headers=h)


def _norm_count(nats, corr):
    return [m["corr_id"] for m in stream_messages(nats.url, "signals.normalized")].count(corr)


def test_sender_clock_ahead_replay_refused_until_its_timestamp_is_stale(env):
    srv, nats = env
    ts = int(time.time()) + WINDOW - 1  # ahead of the server by 2-3 s: inside the window
    raw, h = signed({"instrument": "AAPL", "side": "buy", "price": 10000, "strength": 0.1}, ts=ts)
    t0 = time.time()
    code, out = _send(srv, raw, h)
    assert code == 202, out
    time.sleep(max(0.0, t0 + WINDOW + 0.7 - time.time()))  # past receipt + window, before X-Timestamp + window
    assert time.time() < ts + WINDOW
    code, out = _send(srv, raw, h)
    assert code == 409 and out["error"] == "REPLAYED", out
    _refused_once_stale(srv, nats, raw, h, ts)


def _refused_once_stale(srv, nats, raw, h, ts) -> None:
    """Once X-Timestamp + window has passed the request is stale (401), and the signal was published once."""
    time.sleep(max(0.0, ts + WINDOW + 1.2 - time.time()))
    code, out = _send(srv, raw, h)
    assert code == 401 and out["field"] == "X-Timestamp", out
    assert _norm_count(nats, f"partner:{h['X-Nonce']}") == 1


def test_sender_clock_behind_replay_refused_then_stale(env):
    srv, nats = env
    ts = int(time.time()) - WINDOW + 2  # behind the server by 1-2 s... up to 3 s
    raw, h = signed({"instrument": "AAPL", "side": "buy", "price": 10000, "strength": 0.1}, ts=ts)
    code, out = _send(srv, raw, h)
    assert code == 202, out
    code, out = _send(srv, raw, h)
    assert code == 409 and out["error"] == "REPLAYED", out
    _refused_once_stale(srv, nats, raw, h, ts)
