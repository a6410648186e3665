"""Limits changed without a restart, through the real service: ``POST /admin/limits`` (validated by the config's
parser, dry run, journaled so a restart keeps the change, audited), ``GET /admin/limits``, a reload of the config
file on SIGHUP (a printed diff; an invalid file refused) and ``hft gateway limits-diff`` (the dry run of a reload,
run as a subprocess, also under a pseudo-terminal)."""

from __future__ import annotations

import shlex
import signal
import subprocess
import time

import pytest
from svckit import CONFIG, HFT, order, token

from hft.recorder.reader import iter_records

pytestmark = pytest.mark.slow  # starts the service as processes: outside the README's test command

ADMIN = token(accounts=("*",), strategies=("*",), admin=True)
ANY = token(accounts=("*",), strategies=("*",))


def _post(srv, coid: str, qty: int) -> tuple[int, dict]:
    return srv.request("POST", "/orders", order(coid, qty=qty), ANY, {"Idempotency-Key": coid})


def _acc1_qty(srv) -> object:
    code, d = srv.request("GET", "/admin/limits", token=ADMIN)
    assert code == 200, d
    return d["accounts"]["ACC1"].get("max_order_qty", "inherit")



def test_admin_change_is_effective_journaled_and_audited(server_factory):
    srv = server_factory().start()
    assert _post(srv, "a1", 8)[0] == 201
    body = {"scope": {"account": "ACC1"}, "limits": {"max_order_qty": "5 lots"}, "reason": "desk call"}
    code, d = srv.request("POST", "/admin/limits", {**body, "dry_run": True}, ADMIN)  # a dry run changes nothing
    assert code == 200 and d["dry_run"] and not d["applied"], d
    assert [(c["path"], c["before"], c["after"]) for c in d["changes"]] == [
        ("accounts.ACC1.max_order_qty", "inherit", 5)]
    assert _acc1_qty(srv) == "inherit" and _post(srv, "a2", 8)[0] == 201

    code, d = srv.request("POST", "/admin/limits", body, ADMIN)
    assert code == 200 and d["applied"] and d["changes"][0]["after"] == 5, d
    code, d = _post(srv, "a3", 8)
    assert code == 422 and d["reason"] == "MAX_ORDER_QTY", d
    assert _post(srv, "a4", 5)[0] == 201
    code, d = srv.request("POST", "/orders", order("b1", qty=8, account="ACC2"), ANY, {"Idempotency-Key": "b1"})
    assert code == 201, d  # another account keeps the default

    srv.stop()  # a clean restart (from the stop's snapshot): the change stays
    srv2 = server_factory(home=srv.home).start()
    assert _acc1_qty(srv2) == 5 and _post(srv2, "a5", 8)[0] == 422
    assert "1 limits in force (kept by the WAL and snapshot) differ from" in srv2.log.read_text()
    code, d = srv2.request("POST", "/admin/limits", {"scope": "defaults", "limits": {"max_order_qty": 7}}, ADMIN)
    assert code == 200 and d["changes"][0]["before"] == 1000, d
    srv2.kill9()  # no snapshot at the stop: the WAL's control after the start's snapshot is replayed
    srv3 = server_factory(home=srv.home).start()
    _, lim = srv3.request("GET", "/admin/limits", token=ADMIN)
    assert lim["defaults"]["max_order_qty"] == 7 and lim["accounts"]["ACC1"]["max_order_qty"] == 5, lim
    _, h = srv3.request("GET", "/health")
    assert h["recovery"]["mismatches"] == 0, h
    code, d = srv3.request("POST", "/orders", order("b2", qty=8, account="ACC2"), ANY, {"Idempotency-Key": "b2"})
    assert code == 422 and d["reason"] == "MAX_ORDER_QTY", d
    srv3.stop()
    rows = [(r["key"], r["from_state"], r["to_state"], r["actor"], r["reason"])
            for t, r in iter_records(srv.home / "wal" / "gateway-live")
            if t == "audit.policy_transitions" and r["scope"] == "limits"]
    assert rows == [("accounts.ACC1.max_order_qty", '"inherit"', "5", "tester", "limits:tester: desk call"),
                    ("limits.defaults.max_order_qty", "1000", "7", "tester", "limits:tester")]


@pytest.mark.parametrize(("body", "field"), [
    ({"scope": {"account": "ACC1"}, "limits": {"max_order_qty": 0}}, "limits.max_order_qty"),
    ({"scope": {"account": "ACC1"}, "limits": {"max_order_qty": "3 apples"}}, "limits.max_order_qty"),
    ({"scope": {"account": "ACC1"}, "limits": {"cancel_rate": {"count": 5, "per": "1s"}}}, "limits.cancel_rate"),
    ({"scope": {"account": "ACC1"}, "limits": {"submit_rate": [{"count": 5, "per": "1s"}] * 3}},
     "limits.submit_rate"),
    ({"scope": {"symbol": "AAPL"}, "limits": {"tick_multiple": 1}}, "limits.tick_multiple"),
    ({"scope": {"account": "NOPE"}, "limits": {"max_order_qty": 3}}, "scope"),
    ({"scope": "everything", "limits": {"max_order_qty": 3}}, "scope"),
    ({"scope": "defaults", "limits": {"min_qty": 5000}}, "limits.min_qty"),
    ({"scope": {"account": "ACC1"}, "limits": {"min_qty": 2000}}, "min_qty"),  # above the default maximum
    ({"scope": "defaults", "limits": {}}, "limits"),
    ({"scope": "defaults", "limits": {"max_order_qty": 3}, "dryrun": True}, "dryrun"),
])
def test_bad_body_is_400_naming_the_key_and_changes_nothing(server_factory, body, field):
    srv = server_factory().start()
    _, before = srv.request("GET", "/admin/limits", token=ADMIN)
    code, d = srv.request("POST", "/admin/limits", body, ADMIN)
    assert code == 400 and d["field"] == field, d
    _, after = srv.request("GET", "/admin/limits", token=ADMIN)
    assert after == before
    code, d = srv.request("POST", "/admin/limits", {"scope": "defaults", "limits": {"max_order_qty": 3}}, ANY)
    assert code == 403 and d["error"] == "FORBIDDEN", d
    assert srv.request("GET", "/admin/limits", token=ANY)[0] == 403


def test_rate_windows_and_long_short_refused_with_their_reasons_and_changed_by_admin(server_factory):
    srv = server_factory().start()
    hour = [{"count": 100, "per": "1s"}, {"count": 3, "per": "1h"}]  # the account's own budget: 3 an hour
    code, d = srv.request("POST", "/admin/limits", {"scope": {"account": "ACC1"}, "limits": {
        "submit_rate": hour, "max_short": 0}}, ADMIN)
    assert code == 200 and d["applied"], d
    assert [(c["path"], c["after"]) for c in d["changes"]] == [
        ("accounts.ACC1.max_short", 0),
        ("accounts.ACC1.submit_rate", [{"count": 100, "window_ns": 10**9}, {"count": 3, "window_ns": 3600 * 10**9}])]
    code, d = srv.request("POST", "/orders", order("s1", side="sell"), ANY, {"Idempotency-Key": "s1"})
    assert code == 422 and d["reason"] == "SHORT_LIMIT" and d["field"] == "qty", d  # long only: flat, no sell
    assert [_post(srv, f"r{i}", 1)[0] for i in range(3)] == [201, 201, 201]
    code, d = _post(srv, "r3", 1)
    assert code == 422 and d["reason"] == "ACCOUNT_SUBMIT_RATE_2", d
    code, d = srv.request("POST", "/orders", order("o1", strategy="mm2"), ANY, {"Idempotency-Key": "o1"})
    assert code == 422 and d["reason"] == "ACCOUNT_SUBMIT_RATE_2", d  # the account's, across its strategies
    assert srv.request("POST", "/orders", order("o2", account="ACC2"), ANY, {"Idempotency-Key": "o2"})[0] == 201
    m = srv.metrics()
    assert m['gateway_submit_rate_available{level="account",name="ACC1",window="3600s"}'] == 0
    assert m['gateway_short_limit{account="ACC1",strategy="mm1",symbol="AAPL"}'] == 0
    # a longer window's count raised: the bucket keeps the 0 it held, the new count refills it
    code, d = srv.request("POST", "/admin/limits", {"scope": {"account": "ACC1"}, "limits": {
        "submit_rate": [{"count": 100, "per": "1s"}, {"count": 100000, "per": "1h"}]}}, ADMIN)
    assert code == 200 and d["changes"][0]["before"][1]["count"] == 3, d
    time.sleep(0.1)  # 100,000 an hour: one back in 36 ms
    assert _post(srv, "r4", 1)[0] == 201
    code, d = srv.request("POST", "/admin/limits", {"scope": {"account": "ACC1"}, "limits": {"submit_rate": None}},
                          ADMIN)
    assert code == 200 and d["changes"][0]["after"] is None, d
    assert [_post(srv, f"u{i}", 1)[0] for i in range(5)] == [201] * 5
    srv.stop()


def _diff(srv, cfg, *wrap: str) -> subprocess.CompletedProcess:
    cmd = [str(HFT), "gateway", "limits-diff", str(cfg), "--url", f"http://127.0.0.1:{srv.port}", "--token", ADMIN]
    if wrap:  # under a pseudo-terminal (`script`): what an operator at a terminal sees
        cmd = [*wrap, shlex.join(cmd), "/dev/null"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_sighup_reload_applies_the_diff_and_refuses_an_invalid_file(server_factory, tmp_path):
    cfg = tmp_path / "gateway.yaml"
    text = CONFIG.read_text()
    cfg.write_text(text)
    srv = server_factory(config=cfg).start()
    assert _post(srv, "h1", 8)[0] == 201

    edited = text.replace("  ACC1: {}", "  ACC1: {max_order_qty: 5}").replace("fsync_interval: 50ms",
                                                                             "fsync_interval: 60ms")
    cfg.write_text(edited)
    for wrap in ((), ("script", "-q", "-e", "-c")):  # the dry run prints the diff, changes nothing
        out = _diff(srv, cfg, *wrap)
        assert out.returncode == 0 and "accounts.ACC1.max_order_qty: inherit -> 5" in out.stdout, out
    assert _acc1_qty(srv) == "inherit"

    srv.proc.send_signal(signal.SIGHUP)
    log = srv.wait_log("limit accounts.ACC1.max_order_qty: inherit -> 5 by SIGHUP")
    assert "need a restart, not applied: server" in log
    end = time.time() + 10
    while _acc1_qty(srv) != 5 and time.time() < end:
        time.sleep(0.05)
    assert _post(srv, "h2", 8)[0] == 422 and _post(srv, "h3", 5)[0] == 201
    out = _diff(srv, cfg)
    assert out.returncode == 0 and "no limit differs" in out.stdout, out

    cfg.write_text(edited.replace("ACC1: {max_order_qty: 5}", "ACC1: {max_order_qty: -2}"))
    srv.proc.send_signal(signal.SIGHUP)
    log = srv.wait_log("refused, limits unchanged")
    line = next(ln for ln in log.splitlines() if "refused, limits unchanged" in ln)
    assert "accounts.ACC1.max_order_qty" in line
    assert _acc1_qty(srv) == 5 and srv.proc.poll() is None
    srv.stop()
    rows = [(r["key"], r["actor"], r["reason"]) for t, r in iter_records(srv.home / "wal" / "gateway-live")
            if t == "audit.policy_transitions" and r["scope"] == "limits"]
    assert rows == [("accounts.ACC1.max_order_qty", "SIGHUP", "SIGHUP")]


def _ioc(srv, coid: str, side: str, qty: int) -> None:
    """An IOC order the loopback venue fills at its price, and the wait until the gateway counted the fill."""
    code, d = srv.request("POST", "/orders", order(coid, side=side, qty=qty, tif="ioc"), ANY, {"Idempotency-Key": coid})
    assert code == 201, d
    end = time.time() + 10
    while time.time() < end:
        _, v = srv.request("GET", f"/orders/{d['order_id']}", token=ANY)
        if v["status"] == "filled":
            return
        time.sleep(0.05)
    raise AssertionError(f"{coid} not filled: {v}")


def test_buying_power_refuses_with_its_reason_until_a_fill_or_an_admin_raise_of_cash(server_factory, tmp_path):
    """ACC1 gets 100,000 money units of cash (margin rate 1.0, the default) over the admin route; every price here
    is 10,000, so whatever the mark, a lot needs 10,000 (docs/gateway.md, "Buying power"). Then a SIGHUP reload
    of the file sets a symbol's margin rate and the account's cash."""
    cfg = tmp_path / "gateway.yaml"
    text = CONFIG.read_text()
    cfg.write_text(text)
    srv = server_factory(config=cfg).start()
    code, d = srv.request("POST", "/admin/limits", {"scope": {"account": "ACC1"}, "limits": {"cash": 100_000}},
                          ADMIN)
    assert code == 200 and [(c["path"], c["after"]) for c in d["changes"]] == [("accounts.ACC1.cash", 100_000)], d
    _ioc(srv, "f1", "buy", 8)  # long 8: 80,000
    code, d = srv.request("POST", "/orders", order("g1", qty=3), ANY, {"Idempotency-Key": "g1"})
    assert code == 422 and d["reason"] == "BUYING_POWER" and d["field"] == "qty", d  # 110,000
    assert srv.request("POST", "/orders", order("g2", qty=3, account="ACC2"), ANY,
                       {"Idempotency-Key": "g2"})[0] == 201  # ACC2 has no cash: no check
    _ioc(srv, "f2", "sell", 5)  # a sell that reduces exposure passes; long 3 after its fill
    assert _post(srv, "g3", 3)[0] == 201  # 3 held + 3 working: 60,000
    code, d = _post(srv, "g4", 5)
    assert code == 422 and d["reason"] == "BUYING_POWER", d  # 110,000
    m = srv.metrics()
    assert m['gateway_cash_limit{account="ACC1"}'] == 100_000 and m['gateway_margin_required{account="ACC1"}'] == 60_000
    code, d = srv.request("POST", "/admin/limits", {"scope": {"account": "ACC1"}, "limits": {"cash": "200000"}},
                          ADMIN)
    assert code == 400 and d["field"] == "limits.cash", d  # a string is a currency amount: none declared here
    code, d = srv.request("POST", "/admin/limits", {"scope": {"account": "ACC1"}, "limits": {"cash": 200_000}}, ADMIN)
    assert code == 200 and d["changes"][0]["before"] == 100_000, d
    assert _post(srv, "g4b", 5)[0] == 201
    assert srv.metrics()['gateway_margin_required{account="ACC1"}'] == 110_000
    # the file: AAPL at a 50 % margin rate, ACC1 with 60,000 of cash: 11 lots need 55,000, one more 60,000
    cfg.write_text(text.replace("  ACC1: {}", "  ACC1: {cash: 60000}").replace(
        "AAPL: {tick_multiple: 5}", "AAPL: {tick_multiple: 5, margin_rate: '50%'}"))
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_log("limit symbols.AAPL.margin_rate: inherit -> 0.5 by SIGHUP")
    srv.wait_log("limit accounts.ACC1.cash: 200000 -> 60000 by SIGHUP")
    assert _post(srv, "g5", 1)[0] == 201
    code, d = _post(srv, "g6", 1)
    assert code == 422 and d["reason"] == "BUYING_POWER", d  # 13 lots x 5,000 = 65,000 > 60,000
    srv.stop()
