"""`hft strategy live` with a strategy that places a GTD order and an iceberg (``ctx.submit(..., TIF_GTD,
expire=ctx.now + 2 s)``, ``ctx.submit(..., display=2)``) against `hft gateway serve --paper` on the L2 print day
(`make_l2_print_day`) with ``gtd`` allowed: the runner sends both with their fields, the paper venue expires the
GTD order at its time (EXPIRED reaches the strategy) and fills the iceberg 2 lots a print (three sell prints of 5 at
its price: hand-derived, docs/sim.md "Iceberg orders held by the venue"), booked by the runner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from svckit import HFT, Server, token

from hft.core.orders import REPORT_ACK, REPORT_EXPIRED, REPORT_FILL, REPORT_PARTIAL_FILL
from hft.recorder.reader import iter_records

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "alpha"))
from lifecycle_helpers import PRINT_DAY_BID, PRINT_DAY_P, make_l2_print_day

pytestmark = pytest.mark.slow  # starts the service and the runner as processes

TOKEN = token(accounts=("ACC1",), strategies=("algo1",))

STRATEGY = f'''
from hft.core.orders import ORDER_LIMIT, TIF_GTC, TIF_GTD
from hft.sim import Strategy


class GtdAndIceberg(Strategy):
    name = "gtd_ice"

    def __init__(self):
        self.sent = False

    def on_trade(self, ctx, side, price, qty):
        if self.sent:
            return
        self.sent = True
        ctx.submit(1, {PRINT_DAY_BID - 10}, 1, ORDER_LIMIT, TIF_GTD, expire=ctx.now + 2_000_000_000)  # never reached
        ctx.submit(1, {PRINT_DAY_P}, 6, ORDER_LIMIT, TIF_GTC, display=2)

    def on_order_update(self, ctx, u):
        print("update", u.order_id, u.kind, u.qty, u.leaves, flush=True)
'''


def test_a_live_strategys_gtd_order_and_iceberg_go_through_the_runner(tmp_path):
    day = make_l2_print_day(tmp_path / "msft_l2.parquet")
    cfg = yaml.safe_load(Path(__file__).with_name("gateway_algo.yaml").read_text())
    cfg["risk"] = {"tifs": ["gtc", "ioc", "fok", "day", "gtd"]}
    cfg["symbols"] = {"MSFT": {}}
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(cfg))
    home = tmp_path / "home"
    srv = Server(home, "--paper", str(day), "--speed", "1", config=tmp_path / "gateway.yaml").start(timeout=300)
    try:
        srv.health_after_first_trade()
        (tmp_path / "gtd_ice.py").write_text(STRATEGY)
        run_cfg = tmp_path / "run.yaml"
        run_cfg.write_text(json.dumps({"strategy": str(tmp_path / "gtd_ice.py") + ":GtdAndIceberg",
                                       "account": "ACC1", "strategy_id": "algo1", "symbol": "MSFT"}))
        r = subprocess.run([str(HFT), "strategy", "live", str(run_cfg), "--service", f"http://127.0.0.1:{srv.port}",
                            "--token", TOKEN, "--json", "--max-seconds", "15", "--run-id", "gi"],
                           capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, r.stderr[-3000:]
        s = json.loads(r.stdout[r.stdout.index("{"):])
        assert (s["children"], s["refused"], s["filled"], s["position"], s["working"]) == (2, 0, 6, 6, 0), s
        oids = {}
        for n, want in ((1, "expired"), (2, "filled")):
            code, v = srv.request("GET", f"/orders/client/gtd_ice-gi-{n}", token=TOKEN)
            assert code == 200 and v["status"] == want, v
            oids[n] = v["order_id"]
    finally:
        srv.stop()
    reps: dict[int, list[tuple[int, int, int]]] = {}
    for topic, rec in iter_records(home / "wal" / "gateway-live"):
        if topic == "sim.orders" and rec.get("source") == "report":
            reps.setdefault(rec["order_id"], []).append((rec["kind"], rec["qty"], rec["leaves"]))
    assert reps[oids[1]] == [(REPORT_ACK, 0, 1), (REPORT_EXPIRED, 0, 0)]
    assert reps[oids[2]] == [(REPORT_ACK, 0, 6), (REPORT_PARTIAL_FILL, 2, 4), (REPORT_PARTIAL_FILL, 2, 2),
                             (REPORT_FILL, 2, 0)]
    updates = [tuple(int(x) for x in ln.split()[1:]) for ln in r.stdout.splitlines() if ln.startswith("update ")]
    assert [u[1:] for u in updates if u[0] == oids[1]] == [(REPORT_ACK, 0, 1), (REPORT_EXPIRED, 0, 0)], r.stdout
    assert [u[1:] for u in updates if u[0] == oids[2]] == [
        (REPORT_ACK, 0, 6), (REPORT_PARTIAL_FILL, 2, 4), (REPORT_PARTIAL_FILL, 2, 2), (REPORT_FILL, 2, 0)], r.stdout
