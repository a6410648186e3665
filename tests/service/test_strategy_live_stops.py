"""`hft strategy live` with a strategy that places venue-held stops (``ctx.submit(..., ORDER_STOP, trigger=...)``)
against `hft gateway serve --paper` (a generated day) with the stop types allowed: the runner sends each with its
trigger, the paper venue triggers the one every print reaches (TRIGGERED, then its fill, booked by the runner) and
holds the other until the runner's end cancels it; a trailing stop (``trail=``) is sent with its trail, held by the
paper venue (its trigger follows the prints, half of FAR above them: none reaches it) and cancelled at the end. A
bracket (``ctx.bracket``, on an L2 day) goes out as its entry and two children naming it (``parent``), the stop
paired with the take profit (``oco``); the entry never fills, and the end's cancel of it cancels both children at
the venue."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from svckit import HFT, Server, token

from hft.core.orders import REPORT_ACK, REPORT_CANCELED, REPORT_FILL, REPORT_TRIGGERED
from hft.recorder.reader import iter_records

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "alpha"))
from lifecycle_helpers import make_day, make_l2_print_day

pytestmark = pytest.mark.slow  # starts the service and the runner as processes

TOKEN = token(accounts=("ACC1",), strategies=("algo1",))
FAR = 10_000_000  # ticks: above every price of the day
TRAIL = FAR // 2  # a trailing buy stop's trail (a multiple of AAPL's tick, 5): its trigger stays far above the prints

STRATEGY = f'''
from hft.core.orders import ORDER_STOP, ORDER_STOP_LIMIT, TIF_GTC
from hft.sim import Strategy


class TwoStops(Strategy):
    name = "two_stops"

    def __init__(self):
        self.sent = False
        self.kinds = []

    def on_book(self, ctx):
        if self.sent or ctx.best_bid is None:
            return
        self.sent = True
        ctx.submit(-1, 0, 1, ORDER_STOP, TIF_GTC, trigger=ctx.best_bid + {FAR})  # every print is at or below it
        ctx.submit(1, ctx.best_ask + {FAR} + 100, 1, ORDER_STOP_LIMIT, TIF_GTC, trigger=ctx.best_ask + {FAR})
        ctx.submit(1, 0, 1, ORDER_STOP, TIF_GTC, trigger=ctx.best_ask + {FAR}, trail={TRAIL})  # trailing

    def on_order_update(self, ctx, u):
        self.kinds.append(u.kind)
        print("update", u.order_id, u.kind, flush=True)
'''


@contextlib.contextmanager
def _live_run(tmp_path: Path, day: Path, source: str, cls: str, run_id: str, seconds: int) -> Iterator[tuple]:
    """`hft gateway serve --paper day` (speed 5, the stop types allowed) and `hft strategy live` run against it for
    at most `seconds` with the strategy `cls` written in `source`: yields (the server, the runner's finished process,
    the seconds it ran), the server stopped after."""
    cfg = yaml.safe_load(Path(__file__).with_name("gateway_algo.yaml").read_text())
    cfg["risk"] = {"order_types": ["limit", "market", "post_only", "stop", "stop_limit"]}
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(cfg))
    srv = Server(tmp_path / "home", "--paper", str(day), "--speed", "5",
                 config=tmp_path / "gateway.yaml").start(timeout=300)
    try:
        h = srv.health_after_first_trade()
        (tmp_path / "strategy.py").write_text(source)
        run_cfg = tmp_path / "run.yaml"
        run_cfg.write_text(json.dumps({"strategy": str(tmp_path / "strategy.py") + f":{cls}", "account": "ACC1",
                                       "strategy_id": "algo1", "symbol": h["venue"]["symbol"]}))
        t0 = time.time()
        r = subprocess.run([str(HFT), "strategy", "live", str(run_cfg), "--service", f"http://127.0.0.1:{srv.port}",
                            "--token", TOKEN, "--json", "--max-seconds", str(seconds), "--run-id", run_id],
                           capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, r.stderr[-3000:]
        yield srv, r, time.time() - t0
    finally:
        srv.stop()


def test_a_live_strategys_stops_go_through_the_runner(tmp_path):
    home = tmp_path / "home"
    with _live_run(tmp_path, make_day(tmp_path / "day", seed=41), STRATEGY, "TwoStops", "st", 8) as (srv, r, took):
        s = json.loads(r.stdout[r.stdout.index("{"):])
        assert took >= 8 and s["reason"] == "--max-seconds 8 passed", s  # the held stop kept it going
        assert (s["children"], s["refused"], s["filled"], s["position"], s["cancelled"], s["working"]) == (
            3, 0, 1, -1, 2, 0), s
        oids = {}
        for n, want in ((1, "filled"), (2, "canceled"), (3, "canceled")):
            code, v = srv.request("GET", f"/orders/client/two_stops-st-{n}", token=TOKEN)
            assert code == 200 and v["status"] == want and v["strategy"] == "algo1", v
            oids[n] = v["order_id"]
    kinds: dict[int, list[int]] = {}
    trails: dict[int, set[int]] = {}  # the trail of each WAL record of an order that has the column
    for topic, rec in iter_records(home / "wal" / "gateway-live"):
        if topic == "sim.orders" and rec.get("source") == "report":
            kinds.setdefault(rec["order_id"], []).append(rec["kind"])
        if "trail" in rec and "order_id" in rec:
            trails.setdefault(rec["order_id"], set()).add(rec["trail"])
    assert kinds[oids[1]] == [REPORT_ACK, REPORT_TRIGGERED, REPORT_FILL]
    assert kinds[oids[2]] == kinds[oids[3]] == [REPORT_ACK, REPORT_CANCELED]
    assert TRAIL in trails[oids[3]] and TRAIL not in trails[oids[1]], trails  # sent with its trail, the others not
    updates = [ln.split()[1:] for ln in r.stdout.splitlines() if ln.startswith("update ")]
    assert [int(k) for o, k in updates if int(o) == oids[1]] == [REPORT_ACK, REPORT_TRIGGERED, REPORT_FILL], r.stdout


BRACKET = f'''
from hft.sim import Strategy


class OneBracket(Strategy):
    name = "one_bracket"

    def __init__(self):
        self.sent = False

    def on_book(self, ctx):
        if self.sent or ctx.best_bid is None:
            return
        self.sent = True
        entry, tp, sl = ctx.bracket(1, ctx.best_bid - 1000, 1, ctx.best_ask + {FAR}, 5)  # nothing reaches them
        print("bracket", entry.order_id, tp.order_id, sl.order_id, flush=True)
'''


def test_a_live_strategys_bracket_goes_through_the_runner_with_its_links(tmp_path):
    home = tmp_path / "home"
    day = make_l2_print_day(tmp_path / "msft_l2.parquet")  # L2 data: the paper venue holds links there
    with _live_run(tmp_path, day, BRACKET, "OneBracket", "br", 4) as (srv, r, _):
        s = json.loads(r.stdout[r.stdout.index("{"):])
        assert (s["children"], s["refused"], s["filled"], s["working"]) == (3, 0, 0, 0), r.stdout
        sent = [ln.split()[1:] for ln in r.stdout.splitlines() if ln.startswith("bracket ")]
        entry, tp, sl = map(int, sent[0])
        for oid in (entry, tp, sl):
            code, v = srv.request("GET", f"/orders/{oid}", token=TOKEN)
            assert code == 200 and v["status"] == "canceled", v
    kinds: dict[int, list[int]] = {}
    links: dict[int, set[tuple[int, int]]] = {}
    for topic, rec in iter_records(home / "wal" / "gateway-live"):
        if topic == "sim.orders" and rec.get("source") == "report":
            kinds.setdefault(rec["order_id"], []).append(rec["kind"])
        if "parent" in rec and "order_id" in rec and rec.get("source") != "report":
            links.setdefault(rec["order_id"], set()).add((rec.get("oco", 0), rec["parent"]))
    assert kinds[entry] == kinds[tp] == kinds[sl] == [REPORT_ACK, REPORT_CANCELED], kinds
    assert (0, entry) in links[tp] and (tp, entry) in links[sl] and (0, 0) in links[entry], links
