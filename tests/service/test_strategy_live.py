"""`hft strategy live` against the real service: `hft gateway serve` with the paper venue over the LOBSTER GOOG day,
the runner as a process. The replay's `twap` and `pov` work a parent order through the order API (every child in the
service's records as the configured strategy, none above ``max_child``, a child the gateway's rate refused caught up
by the schedule); SIGTERM cancels the runner's working orders (the `mm` market maker's resting quotes) and exits 0."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import pytest
from svckit import HFT, Server, token

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

CONFIG = Path(__file__).with_name("gateway_algo.yaml")
ROOT = Path(__file__).resolve().parents[2]
TOKEN = token(accounts=("ACC1",), strategies=("algo1", "algo2", "mm1"))
CHILD = re.compile(r"child (\S+): buy (\d+) @ (\d+) (-> order (\d+)|refused: (\w+))")


@pytest.fixture(scope="module")
def srv(shared_data, tmp_path_factory):
    day = shared_data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"
    if not day.exists():
        pytest.skip(f"{day} not present")
    s = Server(tmp_path_factory.mktemp("algo") / "home", "--paper", str(day), "--speed", "5", config=CONFIG)
    s.start(timeout=600)
    try:
        s.health_after_first_trade()
        yield s
    finally:
        s.stop()


def _config(tmp_path: Path, strategy: str, params: dict, strategy_id: str) -> Path:
    p = tmp_path / f"{strategy}.yaml"
    p.write_text(json.dumps({"strategy": strategy, "strategies": {strategy: params}, "account": "ACC1",
                             "strategy_id": strategy_id, "symbol": "GOOG"}))  # JSON is YAML
    return p


def _args(srv, config: Path, *more: str) -> list[str]:
    return [str(HFT), "strategy", "live", str(config), "--service", f"http://127.0.0.1:{srv.port}", "--token", TOKEN,
            *more]


def _order(srv, coid: str) -> tuple[int, dict]:
    return srv.request("GET", f"/orders/client/{coid}", token=TOKEN)


def test_twap_under_a_terminal_completes_through_the_gateway(srv, tmp_path):
    """twap 20 lots in 4 slices of 500 ms, children of at most 8 lots, trading as algo2 (one new order a second):
    the human output on a terminal, every accepted child in the service's records, the refused ones caught up."""
    cfg = _config(tmp_path, "twap", {"side": 1, "qty": 20, "duration_ns": 2_000_000_000, "slices": 4,
                                     "max_child": 8}, "algo2")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real console script on a terminal
        env = {k: v for k, v in os.environ.items() if k != "HFT_DEBUG"}
        os.execve(str(HFT), _args(srv, cfg, "--max-seconds", "60"), env)
    out = b""
    try:
        end = time.time() + 180
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], 1.0)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    text = out.decode(errors="replace").replace("\r\n", "\n")
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, text
    assert "hft strategy live: twap on GOOG as ACC1/algo2" in text, text
    assert "done: filled 20/20 lots" in text, text
    children = [(m[1], int(m[2]), m[5], m[6]) for m in CHILD.finditer(text)]
    assert children and all(q <= 8 for _, q, _, _ in children), text
    refused = [i for i, c in enumerate(children) if c[3] is not None]
    assert refused and {children[i][3] for i in refused} == {"SUBMIT_RATE"}, text
    for i in refused:  # the shortfall is kept: the next child asks for at least as much (the schedule's catch-up)
        if i + 1 < len(children):
            assert children[i + 1][1] >= children[i][1], text
    filled = 0
    for coid, qty, oid, why in children:
        code, v = _order(srv, coid)
        if why is not None:
            assert code == 404, v  # refused by the gateway: no order
            continue
        assert code == 200 and v["order_id"] == int(oid), v
        assert (v["account"], v["strategy"], v["symbol"], v["side"], v["qty"]) == ("ACC1", "algo2", "GOOG", "buy", qty)
        assert v["status"] in ("filled", "expired"), v  # IOC children: done either way
        filled += v["filled"]
    assert filled == 20


def _rate_bps(which: str) -> Fraction:
    """The paper venue's taker or maker rate: the shipped replay config's (`hft gateway serve --paper` builds its
    venue with it), read here as YAML text, not through hft."""
    text = (ROOT / "config" / "sim" / "replay.yaml").read_text()
    fees = text[text.index("\nfees:"):]
    return Fraction(re.search(rf"\n  {which}_bps: *([-0-9.]+)", fees)[1])


def _taker_bps() -> Fraction:
    return _rate_bps("taker")


def _maker_bps() -> Fraction:
    return _rate_bps("maker")


def test_pov_follows_the_prints_to_the_parent(srv, tmp_path):
    """pov 10 lots at 5% of the printed volume, children of at most 3 lots (algo1): the summary as JSON. Its IOC
    children take liquidity: the runner's fees are the venue's taker rate on the fills the service recorded
    (GOOG: one money unit a tick x share, multiplier 1), its cash their cost plus those fees, each rounded once."""
    cfg = _config(tmp_path, "pov", {"side": 1, "qty": 10, "rate": 0.05, "min_child": 1, "max_child": 3}, "algo1")
    r = subprocess.run(_args(srv, cfg, "--json", "--max-seconds", "90", "--run-id", "pov-t"), capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    s = json.loads(r.stdout)
    assert (s["strategy"], s["reason"], s["filled"], s["position"], s["working"]) == ("pov", "done", 10, 10, 0), s
    total = 0
    notional = 0
    for n in range(1, s["children"] + 1):
        code, v = _order(srv, f"pov-pov-t-{n}")
        assert code == 200, v
        assert (v["strategy"], v["symbol"]) == ("algo1", "GOOG") and 1 <= v["qty"] <= 3, v
        total += v["filled"]
        notional += sum(f["price"] * f["qty"] for f in v["fills"])
    assert total == 10
    fees = notional * _taker_bps() / 10_000
    assert fees > 1 and (s["fees"], s["cash"]) == (round(fees), round(-notional - fees)), (s, notional, fees)
    # started again with its run id, the runner reads its children back: the parent is done, nothing is sent
    r2 = subprocess.run(_args(srv, cfg, "--json", "--max-seconds", "30", "--run-id", "pov-t"), capture_output=True,
                        text=True, timeout=120)
    assert r2.returncode == 0, r2.stderr[-3000:]
    s2 = json.loads(r2.stdout)
    assert (s2["filled"], s2["children"], s2["reason"]) == (10, s["children"], "done"), s2
    assert _order(srv, f"pov-pov-t-{s['children'] + 1}")[0] == 404


def test_sigterm_cancels_the_working_orders(srv, tmp_path):
    """mm quoting 50 ticks off the touch (mm1): its quotes rest; SIGTERM cancels them, the runner exits 0."""
    cfg = _config(tmp_path, "mm", {"size": 1, "max_position": 5, "edge_ticks": 50}, "mm1")
    p = subprocess.Popen(_args(srv, cfg, "--run-id", "term"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        seen: list[str] = []
        end = time.time() + 120
        while time.time() < end and len(seen) < 2:
            line = p.stdout.readline()
            if not line:
                break
            if "-> order" in line:
                seen.append(line)
        assert len(seen) == 2, (seen, p.stderr.read() if p.poll() is not None else "")
        time.sleep(0.5)
        p.send_signal(signal.SIGTERM)
        rest, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err[-3000:]
    last = rest.strip().splitlines()[-1]
    assert last.startswith("stopped by SIGTERM:") and last.endswith(", 0 working"), rest
    n = 0
    while True:
        n += 1
        code, v = _order(srv, f"mm-term-{n}")
        if code != 200:
            break
        assert v["strategy"] == "mm1" and v["status"] not in ("accepted", "working", "partially_filled"), v
    assert n > 2


def test_the_market_stream_carries_the_paper_days_prints_and_book(srv):
    """The events of ``GET /market/stream?symbol=GOOG``: trade prints and books of up to five levels a side, bids
    below asks, each side best first, numbered in order."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    conn.request("GET", "/market/stream?symbol=GOOG", headers={"Authorization": f"Bearer {TOKEN}"})
    r = conn.getresponse()
    assert r.status == 200
    events, ev = [], {}
    try:
        while len(events) < 40 or not {"trade", "book"} <= {e["kind"] for e in events}:
            line = r.readline().decode().rstrip("\n")
            if not line:
                if "data" in ev:
                    events.append({"id": int(ev["id"]), "event": ev["event"], **json.loads(ev["data"])})
                ev = {}
            elif not line.startswith(":"):
                k, _, v = line.partition(": ")
                ev[k] = v
    finally:
        conn.sock.close()
        conn.close()
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and all(e["event"] == e["kind"] for e in events)
    for e in events:
        bids, asks = e["bids"], e["asks"]
        assert e["symbol"] == "GOOG" and 1 <= len(bids) <= 5 and 1 <= len(asks) <= 5, e
        assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True), e
        assert [p for p, _ in asks] == sorted(p for p, _ in asks) and bids[0][0] < asks[0][0], e
        assert all(q > 0 for _, q in bids + asks), e
        if e["kind"] == "trade":
            assert e["side"] in (1, -1) and e["price"] > 0 and e["qty"] > 0, e


def _children(srv, prefix: str) -> list[dict]:
    """The views of a run's children (``<prefix>1``, ``<prefix>2`` … until 8 in a row are unknown: refused ones)."""
    out, n, misses = [], 0, 0
    while misses < 8:
        n += 1
        code, v = _order(srv, f"{prefix}{n}")
        if code == 200:
            out.append(v)
            misses = 0
        else:
            misses += 1
    return out


def _algo1_position(srv) -> int:
    _, pos = srv.request("GET", "/positions", token=TOKEN)
    return sum(p["position"] for p in pos if (p["strategy"], p["symbol"]) == ("algo1", "GOOG"))


def test_a_runner_killed_mid_run_resumes_with_its_fills_fees(srv, tmp_path):
    """pov 30 lots (algo1) SIGKILLed once some of its children filled, then started again with its run id: the
    resumed run reads its fills back with their exact fees, so its cash and fees are those of the service's record
    of the run's fills (GET /orders, and the sim.fills rows its WAL journaled), which are the venue's taker rate
    on their notional (computed here from prices and sizes alone, as fractions); every fill is a taker's (IOC
    children cross)."""
    from hft.recorder.reader import iter_records

    cfg = _config(tmp_path, "pov", {"side": 1, "qty": 30, "rate": 0.05, "min_child": 1, "max_child": 3}, "algo1")
    start = _algo1_position(srv)
    p = subprocess.Popen(_args(srv, cfg, "--run-id", "kill-t"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        end, before = time.time() + 150, 0
        while time.time() < end and before < 2:
            time.sleep(0.05)
            before = _algo1_position(srv) - start
        p.kill()  # SIGKILL: nothing of the runner's own shutdown runs
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    before = sum(v["filled"] for v in _children(srv, "pov-kill-t-"))
    assert 2 <= before < 30, before
    r = subprocess.run(_args(srv, cfg, "--json", "--max-seconds", "200", "--run-id", "kill-t"), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    s = json.loads(r.stdout)
    assert (s["reason"], s["filled"], s["position"], s["working"]) == ("done", 30, 30, 0), s
    views = _children(srv, "pov-kill-t-")
    fills = [(v["order_id"], f) for v in views for f in v["fills"]]
    assert sum(f["qty"] for _, f in fills) == 30 and {f["liquidity"] for _, f in fills} == {"taker"}, fills
    fees = sum(Fraction(f["fee"]) + Fraction(f["fee_frac"], 1_000_000) for _, f in fills)
    notional = sum(f["price"] * f["qty"] for _, f in fills)
    assert fees == notional * _taker_bps() / 10_000 and fees > 1  # the venue's rate, from the fee fields exactly
    assert (s["fees"], s["cash"]) == (round(fees), round(-notional - fees)), (s, notional, fees)
    # the service's journal of the same fills: the same fee, and the store's taker code (-1)
    journal = sorted((r["order_id"], r["qty"], r["fee"], r["fee_frac"], r["liquidity"])
                     for t, r in iter_records(srv.home / "wal" / "gateway-live", frozenset({"sim.fills"}))
                     if r["order_id"] in {v["order_id"] for v in views})
    assert journal == sorted((oid, f["qty"], f["fee"], f["fee_frac"], -1) for oid, f in fills)


def _sse(r, until, timeout: float = 90.0) -> dict:
    """The first event of the SSE answer `r` whose data `until` accepts (fails after `timeout` s: the stream's
    keep-alive comments come every 15 s)."""
    ev: dict = {}
    end = time.time() + timeout
    while True:
        assert time.time() < end, f"no such event in {timeout:g} s"
        line = r.readline().decode().rstrip("\n")
        if not line:
            if "data" in ev:
                e = json.loads(ev["data"])
                if until(e):
                    return e
            ev = {}
        elif not line.startswith(":"):
            k, _, v = line.partition(": ")
            ev[k] = v


def _open(srv, path: str):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
    return conn, conn.getresponse()


def test_an_order_inside_the_spread_is_acked_with_no_queue_ahead_and_fills_as_a_maker(srv):
    """A buy one tick below the best ask of a book with a spread rests alone at the best bid: the paper venue's ACK
    says 0 lots ahead (``queue``), no bid can come in ahead of it, and the next sell reaches it first: a maker's
    fill, its fee the venue's maker rate (a rebate, exactly), on ``GET /orders/{id}`` and the order stream alike.
    Tried again when the ask came down to it before it rested (then it took: a taker's fill, not this case)."""
    orders, o_r = _open(srv, "/orders/stream")
    try:
        for attempt in range(5):
            market, mr = _open(srv, "/market/stream?symbol=GOOG")  # the book now (a fresh stream's first rows)
            try:
                book = _sse(mr, lambda e: e["bids"] and e["asks"] and e["asks"][0][0] - e["bids"][0][0] >= 2)
            finally:
                market.sock.close()
                market.close()
            px = book["asks"][0][0] - 1
            coid = f"inside-{attempt}"
            code, d = srv.request("POST", "/orders", {"client_order_id": coid, "account": "ACC1", "strategy": "mm1",
                                                      "symbol": "GOOG", "side": "buy", "price": px, "qty": 1},
                                  token=TOKEN, headers={"Idempotency-Key": coid})
            assert code == 201 and d["accepted"], d
            oid = d["order_id"]
            ack = _sse(o_r, lambda e, oid=oid: e["order_id"] == oid)
            assert ack["kind"] == "ack" and ack["liquidity"] == "", ack
            if ack["queue"] == -1:  # it never rested: the ask came down to it meanwhile
                continue
            assert ack["queue"] == 0, ack
            upd = _sse(o_r, lambda e, oid=oid: e["order_id"] == oid and e["kind"] != "ack")
            assert upd["kind"] == "fill" and (upd["liquidity"], upd["price"], upd["queue"]) == ("maker", px, -1), upd
            v = srv.request("GET", f"/orders/{oid}", token=TOKEN)[1]
            (f,) = v["fills"]
            assert (f["liquidity"], f["fee"], f["fee_frac"]) == ("maker", upd["fee"], upd["fee_frac"]), v
            fee = Fraction(f["fee"]) + Fraction(f["fee_frac"], 1_000_000)
            assert fee == px * 1 * _maker_bps() / 10_000 and fee < 0, (v, fee)
            return
        pytest.fail("every order the test sent crossed the ask before it rested")
    finally:
        orders.sock.close()
        orders.close()
