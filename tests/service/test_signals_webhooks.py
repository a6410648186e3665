"""Signed webhooks into `hft gateway serve` over a real nats-server: signal → bus → follower → order → fill,
every attack refused and counted, the nonce cache across a restart, the bus down and back (fail-closed)."""

from __future__ import annotations

import json
import time

import pytest
from sigkit import KEYS, EmbeddedNats, post, signal_server, signed, stream_messages, wait_for
from svckit import token

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("signals")
    nats = EmbeddedNats(d / "nats").start()
    srv = signal_server(d / "home", nats).start()
    yield srv, nats, d
    srv.stop()
    nats.stop()


def _counter(srv, name: str, **labels: str) -> float:
    m = srv.metrics()
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return sum(v for k, v in m.items() if k.startswith(name + "{") and all(
        f'{k2}="{v2}"' in k for k2, v2 in labels.items())) if want else m.get(name, 0.0)


def test_signed_webhook_becomes_signal_order_and_fill(env):
    srv, nats, _ = env
    code, out, h = post(srv, "partner", {"instrument": "AAPL", "side": "buy", "price": 10000, "strength": 0.5})
    assert code == 202 and out["accepted"]
    corr = out["corr_id"]
    assert corr == f"partner:{h['X-Nonce']}"
    sig = out["signal"]
    assert (sig["v"], sig["source"], sig["instrument"], sig["side"], sig["price"]) == (1, "partner", "AAPL", 1, 10000)
    norm = stream_messages(nats.url, "signals.normalized")
    assert [m["corr_id"] for m in norm].count(corr) == 1
    assert [m["corr_id"] for m in stream_messages(nats.url, "signals.raw")].count(corr) == 1
    tok = token(strategies=("sig1",))
    # the follower: decision (idempotency key sig:<corr_id>), order at the venue, fill, position
    coid = f"sig-{corr}"[:64]

    def filled():
        code, v = srv.request("GET", f"/orders/client/{coid}", token=tok)
        return v if code == 200 and v["status"] == "filled" else None

    v = wait_for(filled)
    assert v and v["side"] == "buy" and v["qty"] == 5 and v["price"] == 10000 and v["strategy"] == "sig1"
    assert [e["order_id"] for e in srv.journal() if e["ev"] == "cmd"].count(v["order_id"]) == 1
    _, h = srv.request("GET", "/health")
    assert h["signals"]["bus"]["state"] == "connected" and h["signals"]["follower"]["accepted"] >= 1
    log = srv.log.read_text()
    lines = [json.loads(x.split("hft.signals: ", 1)[1]) for x in log.splitlines() if "hft.signals: {" in x]
    line = next(x for x in lines if x["event"] == "webhook" and x["corr_id"] == corr)
    assert line["validation_status"] == "valid" and line["instrument"] == "AAPL" and line["latency_ms"] > 0
    assert _counter(srv, "gateway_webhooks_received_total", source="partner", status="202") >= 1


def test_key_rotation_and_tradingview_shape(env):
    srv, _, _ = env
    body = {"instrument": "MSFT", "side": "sell", "strength": 0.2}
    assert post(srv, "partner", body, key=KEYS["HFT_TEST_KEY_OLD"])[0] == 202  # overlap: both keys valid
    assert post(srv, "partner", body, key=KEYS["HFT_TEST_KEY_NEW"])[0] == 202
    code, out, _ = post(srv, "partner", body, key=KEYS["HFT_TEST_KEY_RETIRED"])  # past its not_after
    assert code == 401 and out["field"] == "X-Signature"
    now = int(time.time())
    tv = {"ticker": "AAPL", "action": "sell", "contracts": "3", "position_size": "-3", "price": "100.05",
          "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
          "strategy": "extra fields stay in the raw message"}
    code, out, _ = post(srv, "tradingview", tv, key=KEYS["HFT_TEST_KEY_TV"], v2=False)  # first form: key unshared
    assert code == 202
    s = out["signal"]
    assert (s["instrument"], s["side"], s["target"], s["price"]) == ("AAPL", -1, -3, 10005)
    assert s["ts_event"] == now * 10**9
    # the same key in two objects (extra fields stay in the raw message) is no repeated key
    code, out, _ = post(srv, "tradingview", {**tv, "plot": {"a": 1, "b": 2}, "extra": {"a": 3}},
                        key=KEYS["HFT_TEST_KEY_TV"])
    assert code == 202, out


def _settled(srv, nats) -> None:
    n = len(stream_messages(nats.url, "signals.normalized"))

    def done() -> bool:  # orders counts decisions made (and dispatched: the commit precedes the answer)
        c = srv.request("GET", "/health")[1]["signals"]["follower"]
        return c["orders"] + c["skipped"] + c["invalid"] >= n

    assert wait_for(done)


def _attacks():
    good = {"instrument": "AAPL", "side": "buy", "price": 10000}
    raw, h = signed(good)
    yield "missing signature", 401, "X-Signature", "partner", raw, {k: v for k, v in h.items() if k != "X-Signature"}
    yield "missing nonce", 401, "X-Nonce", "partner", raw, {k: v for k, v in h.items() if k != "X-Nonce"}
    raw, h = signed(good, key="an-attackers-key-0123456789abcdef012345")
    yield "wrong key", 401, "X-Signature", "partner", raw, h
    raw, h = signed(good, key=KEYS["HFT_TEST_KEY_TV"], source="tradingview")  # another source's key
    yield "key of another source", 401, "X-Signature", "partner", raw, h
    raw, h = signed(good, source="research")  # research holds the same key: the signed source differs
    yield "signed for another source sharing the key", 401, "X-Signature", "partner", raw, h
    raw, h = signed(good, source=None)  # the first form does not sign the source: refused under a shared key
    yield "first-form signature under a shared key", 401, "X-Signature", "partner", raw, h
    raw, h = signed(good)
    yield "body altered after signing", 401, "X-Signature", "partner", raw.replace(b"10000", b"99999"), h
    raw, h = signed(good)
    yield "garbage signature", 401, "X-Signature", "partner", raw, {**h, "X-Signature": "sha256=zz"}
    raw, h = signed(good, ts=int(time.time()) - 600)
    yield "timestamp too old", 401, "X-Timestamp", "partner", raw, h
    raw, h = signed(good, ts=int(time.time()) + 600)
    yield "timestamp in the future", 401, "X-Timestamp", "partner", raw, h
    raw, h = signed(good, nonce="short")
    yield "malformed nonce", 400, "X-Nonce", "partner", raw, h
    raw, h = signed(good)
    yield "unknown source", 404, "source", "nobody", raw, h
    yield "source differs in case", 404, "source", "Partner", raw, h
    raw, h = signed(b"x" * ((1 << 20) + 1))
    yield "oversized body", 413, "$body", "partner", raw, h
    raw, h = signed(b'{"instrument": "AAPL", "side": ')
    yield "malformed JSON (dead-lettered)", 422, "$body", "partner", raw, h
    raw, h = signed({"instrument": "AAPL", "side": "buy", "strength": 7})
    yield "strength out of range (dead-lettered)", 422, "strength", "partner", raw, h
    raw, h = signed({"instrument": "TSLA", "side": "buy"})
    yield "instrument not allowed (dead-lettered)", 422, "instrument", "partner", raw, h
    raw, h = signed({"instrument": "AAPL", "side": "buy", "leverage": 100})
    yield "unknown field (dead-lettered)", 422, "leverage", "partner", raw, h
    raw, h = signed(b'{"instrument": "AAPL", "target": 1, "target": 100}')  # msgspec would keep the last
    yield "repeated key (dead-lettered)", 422, "target", "partner", raw, h
    raw, h = signed(b'{"ticker": "AAPL", "action": "buy", "position_size": "1", "price": "100.05", '
                    b'"time": "2026-11-23T20:00:00Z", "position_size": "100"}', key=KEYS["HFT_TEST_KEY_TV"], source="tradingview")
    yield "tradingview repeated key (dead-lettered)", 422, "position_size", "tradingview", raw, h
    raw, h = signed({"instrument": "AAPL", "target": 2**70})
    yield "target beyond int64 (dead-lettered)", 422, "target", "partner", raw, h
    raw, h = signed({"instrument": "AAPL", "side": "buy", "ts_ms": 2**70})
    yield "ts_ms beyond int64 ns (dead-lettered)", 422, "ts_ms", "partner", raw, h
    tv = {"ticker": "AAPL", "action": "sell", "position_size": "-1e30", "price": "100.05"}
    raw, h = signed(tv, key=KEYS["HFT_TEST_KEY_TV"], source="tradingview")
    yield "position_size beyond int64 (dead-lettered)", 422, "position_size", "tradingview", raw, h
    raw, h = signed({**tv, "position_size": "-3", "price": "100.005"}, key=KEYS["HFT_TEST_KEY_TV"], source="tradingview")
    yield "price off the tick grid (dead-lettered)", 422, "price", "tradingview", raw, h
    # off the grid by 1e-29: within Decimal's 28 digits it rounds onto it; refused all the same
    raw, h = signed({**tv, "position_size": "-3", "price": "100.05" + "0" * 26 + "1"}, key=KEYS["HFT_TEST_KEY_TV"], source="tradingview")
    yield "price off the tick grid by 1e-29 (dead-lettered)", 422, "price", "tradingview", raw, h
    raw, h = signed(b'{"ticker": "AAPL", "action": "buy", "position_size": 3.0000000000000000000000000001, '
                    b'"price": 100.05}', key=KEYS["HFT_TEST_KEY_TV"], source="tradingview")  # as a JSON number (a float reads 3.0)
    yield "position_size a fraction as a JSON number (dead-lettered)", 422, "position_size", "tradingview", raw, h
    # 400 digits (float() of such an int raised OverflowError: a 500)
    raw, h = signed(b'{"ticker": "AAPL", "action": "buy", "position_size": ' + b"9" * 400 + b', "price": "100.05"}',
                    key=KEYS["HFT_TEST_KEY_TV"], source="tradingview")
    yield "position_size of 400 digits (dead-lettered)", 422, "position_size", "tradingview", raw, h
    raw, h = signed(b'{"ticker": "AAPL", "action": "buy", "contracts": ' + b"9" * 400 + b', "price": "100.05"}',
                    key=KEYS["HFT_TEST_KEY_TV"], source="tradingview")
    yield "contracts of 400 digits (dead-lettered)", 422, "contracts", "tradingview", raw, h
    raw, h = signed({**tv, "position_size": "-3", "price": "1" * 400}, key=KEYS["HFT_TEST_KEY_TV"], source="tradingview")
    yield "price of 400 digits in a string (dead-lettered)", 422, "price", "tradingview", raw, h
    raw, h = signed({**tv, "position_size": "-3", "price": "1e999999999"}, key=KEYS["HFT_TEST_KEY_TV"], source="tradingview")
    yield "price of a huge exponent (dead-lettered)", 422, "price", "tradingview", raw, h
    raw, h = signed({**tv, "position_size": "\u0661", "price": "100.05"}, key=KEYS["HFT_TEST_KEY_TV"], source="tradingview")
    yield "position_size in Arabic-Indic digits (dead-lettered)", 422, "position_size", "tradingview", raw, h
    # invalid UTF-8 inside a JSON string (msgspec's UnicodeDecodeError was a 500)
    raw, h = signed(b'{"instrument": "AA\xffPL", "side": "buy"}')
    yield "invalid UTF-8 in a string (dead-lettered)", 422, "instrument", "partner", raw, h
    raw, h = signed(b'{"ticker": "AAPL", "action": "buy", "price": "100.0\xff5"}', key=KEYS["HFT_TEST_KEY_TV"], source="tradingview")
    yield "tradingview invalid UTF-8 in a number's string (dead-lettered)", 422, "price", "tradingview", raw, h
    raw, h = signed(good)
    yield "timestamp of a superscript digit", 401, "X-Timestamp", "partner", raw, {**h, "X-Timestamp": "\xb2"}


@pytest.mark.parametrize("name", [a[0] for a in _attacks()])
def test_attack_refused_and_counted(env, name):
    srv, nats, _ = env
    # signed now (not at collection: the timestamps must be fresh when the request is sent)
    _, status, field, source, raw, headers = next(a for a in _attacks() if a[0] == name)
    _settled(srv, nats)  # the follower has traded every earlier signal
    before = _counter(srv, "gateway_webhooks_received_total", status=str(status))
    orders_before = len([e for e in srv.journal() if e["ev"] == "cmd"])
    norm_before = len(stream_messages(nats.url, "signals.normalized"))
    code, out = srv.request("POST", f"/webhooks/{source}", raw=raw, headers=headers)
    assert code == status, out
    assert out["field"] == field and out["reason"]
    assert _counter(srv, "gateway_webhooks_received_total", status=str(status)) == before + 1
    assert len(stream_messages(nats.url, "signals.normalized")) == norm_before  # nothing normalised
    if status == 422:  # published raw and dead-lettered for review
        dead = stream_messages(nats.url, "signals.dead")
        assert dead[-1]["corr_id"] == out["corr_id"] and dead[-1]["error"]["field"] == field
    assert len([e for e in srv.journal() if e["ev"] == "cmd"]) == orders_before
    assert "Traceback" not in srv.log.read_text()


def test_replayed_nonce_and_rate_limit(env):
    srv, _, _ = env
    raw, h = signed({"instrument": "AAPL", "side": "buy", "strength": 0.1, "price": 10000})
    assert srv.request("POST", "/webhooks/partner", raw=raw, headers=h)[0] == 202
    code, out = srv.request("POST", "/webhooks/partner", raw=raw, headers=h)
    assert code == 409 and out["error"] == "REPLAYED" and out["field"] == "X-Nonce"
    codes = [post(srv, "burst", {"instrument": "MSFT", "side": "buy"})[0] for _ in range(6)]
    assert codes[:3] == [202, 202, 202] and codes[3:] == [429, 429, 429]  # burst 3, a token per 1000 s
    assert _counter(srv, "gateway_validation_errors_total", type="rate_limited") == 3
    assert _counter(srv, "gateway_validation_errors_total", type="replayed") == 1


def test_nonce_survives_restart_and_bus_outage_fails_closed(env):
    srv, nats, _ = env
    raw, h = signed({"instrument": "AAPL", "side": "buy", "strength": 0.1, "price": 10000})
    assert srv.request("POST", "/webhooks/partner", raw=raw, headers=h)[0] == 202
    srv.stop()
    srv.start()
    code, out = srv.request("POST", "/webhooks/partner", raw=raw, headers=h)
    assert code == 409 and out["error"] == "REPLAYED"  # the nonce file was reloaded
    # NATS down: 503 naming the bus, nothing acknowledged; /health says so
    nats.kill()
    acked = []
    code, out, hdr = post(srv, "partner", {"instrument": "AAPL", "side": "sell", "strength": 0.1})
    assert code == 503 and out["error"] == "BUS_UNAVAILABLE" and out["field"] == "bus"
    _, health = srv.request("GET", "/health")
    assert health["signals"]["bus"]["state"] != "connected"
    # back up (same port, same store): the refused webhook's nonce was released, so its retry is accepted
    nats.start()
    assert wait_for(lambda: srv.request("GET", "/health")[1]["signals"]["bus"]["state"] == "connected")
    retry = srv.request("POST", "/webhooks/partner", raw=json.dumps(
        {"instrument": "AAPL", "side": "sell", "strength": 0.1}).encode(), headers=hdr)
    assert retry[0] == 202
    acked.append(retry[1]["corr_id"])
    for _ in range(5):
        code, out, _ = post(srv, "partner", {"instrument": "MSFT", "side": "buy", "strength": 0.1})
        assert code == 202
        acked.append(out["corr_id"])
    norm = [m["corr_id"] for m in stream_messages(nats.url, "signals.normalized")]
    assert all(norm.count(c) == 1 for c in acked)  # every acknowledged signal is in the stream, once
    assert _counter(srv, "gateway_webhooks_received_total", status="503") >= 1


def test_recorded_signals_replay_deterministically(env, tmp_path):
    """The same rule in `hft replay`: signals recorded on the bus, exported, replayed twice on a day (same hash)."""
    from tests.cli.conftest import run_hft

    srv, nats, _ = env
    r = run_hft("data", "generate", "--out", str(tmp_path), "--messages", "2000", "--levels", "5", "--zip", "--json")
    assert r.code == 0, r.err
    day = r.json()["zip_path"]  # SYNTH, 2024-01-02 14:30-21:00 UTC
    t0 = 1704207600000  # 15:00 UTC, ms
    for i, sig in enumerate([{"side": "buy", "strength": 0.5}, {"side": "sell"}, {"target": 0}]):
        code, _, _ = post(srv, "research", {"instrument": "SYNTH", "ts_ms": t0 + i * 3_600_000, **sig})
        assert code == 202
    out = tmp_path / "signals.jsonl"
    r = run_hft("gateway", "signals-export", "--url", nats.url, "--source", "research", "--out", str(out))
    assert r.code == 0, r.err
    assert len(out.read_text().splitlines()) == 3
    r = run_hft("gateway", "signals-export", "--url", nats.url, "--source", "research", "--out", str(out), "--json")
    assert r.code == 0 and r.json() == {"signals": 3, "out": str(out)}, r.err
    runs = [run_hft("replay", "-d", day, "-s", "signal_follow", "--set", f"strategies.signal_follow.signals={out}",
                    "--no-store", "--json") for _ in range(2)]
    assert all(x.code == 0 for x in runs), runs[0].err
    a, b = (x.json() for x in runs)
    assert a["run_hash"] == b["run_hash"]
    # buy 5 (strength 0.5 of 10), sell 10, then back to a flat target: buy 5
    assert a["orders"] == 3 and a["decisions"] == 3 and a["filled_qty"] == 20 and a["position"] == 0
    r = run_hft("replay", "-d", day, "-s", "signal_follow", "--no-store")
    assert r.code == 11 and "strategies.signal_follow.signals" in r.err and "Traceback" not in r.err


def test_the_order_api_answers_beside_the_webhooks(env):
    """The webhook front hands the order intake through (its direct paths, `OrderApp.direct`): orders and bad
    input are answered as on a server without signals."""
    srv, _, _ = env
    order = {"client_order_id": "beside-1", "account": "ACC1", "strategy": "mm1", "symbol": "AAPL", "side": "sell",
             "price": 1_000_000, "qty": 1}  # far above any resting buy of the module's orders (no self-match)
    code, d = srv.request("POST", "/v3/orders", order, token=token())
    assert code == 201 and d["accepted"] and d["client_order_id"] == "beside-1", d
    code, d = srv.request("POST", "/orders", {**order, "client_order_id": "beside-2"}, token=token(),
                          headers={"Idempotency-Key": "beside-2"})
    assert code == 201 and d["accepted"]
    code, d = srv.request("POST", "/v3/orders", {**order, "qty": 0}, token=token())
    assert code == 400 and d["field"] == "qty"
    code, v = srv.request("GET", "/orders/client/beside-1", token=token())
    assert code == 200 and v["client_order_id"] == "beside-1"


def test_a_body_whose_messages_exceed_the_bus_payload_is_413(env):
    """A body under ``signals.max_body_bytes`` (1 MiB) whose raw message, escaped, is over nats-server's
    ``max_payload`` (1 MiB): it can never be published, so it is a 413 naming the body (a 503 BUS_UNAVAILABLE
    for ever before), its retry too, nothing stored; the bus stays up for the next webhook."""
    srv, nats, _ = env
    raw, h = signed(b'"' * 600_000)  # each '"' is escaped to 2 bytes in the raw message's JSON string
    corr = f"partner:{h['X-Nonce']}"
    for _ in range(2):  # the retry (same nonce) meets the same answer
        code, out = srv.request("POST", "/webhooks/partner", raw=raw, headers=h)
        assert code == 413 and out["error"] == "TOO_LARGE" and out["field"] == "$body", out
        assert "max_payload" in out["reason"], out
    assert corr not in {m.get("corr_id") for m in stream_messages(nats.url, "signals.raw")}
    assert post(srv, "partner", {"instrument": "MSFT", "side": "sell", "strength": 0.1})[0] == 202
    assert "Traceback" not in srv.log.read_text()
