"""`hft alpha canary NAME --live` end to end: promote an alpha, run its orders through `hft gateway serve --paper`
as the gateway strategy named after it, load the service's WAL into the audit store, and let the canary read
those paper observations (not a replay)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from svckit import HFT, Server, order, token

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "alpha"))
from lifecycle_helpers import make_day, make_research_root

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


def _hft(env, cwd, *args, timeout=600):
    return subprocess.run([str(HFT), *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd)


def test_canary_live_reads_the_paper_observations_from_the_audit_store(tmp_path):
    root = make_research_root(tmp_path)
    day = make_day(tmp_path / "day", seed=41)
    newer = make_day(tmp_path / "newer", seed=42, date="2024-06-24")
    home = tmp_path / "home"
    env = {**os.environ, "HFT_HOME": str(home), "HFT_PROMOTIONS_ROOT": str(tmp_path / "promos"),
           "HFT_RESEARCH_ROOT": str(root)}
    env.pop("HFT_DEBUG", None)
    p = _hft(env, tmp_path, "alpha", "promote", "toy_obi", "--data", str(day), "--approver", "jdoe", "--force",
             "--reason", "live canary test", "--json")
    assert p.returncode == 0, p.stderr

    # the service knows the alpha's strategy; the alpha's execution trades through it on the paper venue
    cfg = tmp_path / "gateway.yaml"
    base = (Path(__file__).with_name("gateway_service.yaml")).read_text()
    cfg.write_text(base.replace("strategies:\n", "strategies:\n  toy_obi: {}\n", 1))
    srv = Server(home, "--paper", str(newer), "--speed", "30", config=cfg).start(timeout=300)
    tok = token(strategies=("toy_obi",))
    try:
        h = srv.health_after_first_trade()
        sym = h["venue"]["symbol"]
        filled = 0
        liquidity = []  # each fill's, as the service's order views say it
        for i in range(6):
            _, h = srv.request("GET", "/health")
            px = h["venue"]["last_trade"]
            side = "buy" if i % 2 == 0 else "sell"
            code, d = srv.request("POST", "/orders", order(f"live-{i}", side=side, price=px + (500 if side == "buy"
                                                           else -500), qty=1, symbol=sym, strategy="toy_obi",
                                                           tif="ioc"), tok, {"Idempotency-Key": f"live-{i}"})
            assert code == 201, d
            for _ in range(100):
                _, v = srv.request("GET", f"/orders/{d['order_id']}", token=tok)
                if v["status"] in ("filled", "expired", "canceled"):
                    break
                time.sleep(0.05)
            filled += v["status"] == "filled"
            liquidity += [f["liquidity"] for f in v["fills"]]
            time.sleep(0.4)  # the observation window spans marks over a few recorded seconds
        assert filled >= 1
    finally:
        assert srv.stop() == 0

    p = _hft(env, tmp_path, "audit", "load", "--json")
    assert p.returncode == 0, p.stderr
    p = _hft(env, tmp_path, "alpha", "canary", "toy_obi", "--live", "--json")
    assert p.returncode == 0, p.stderr
    c = json.loads(p.stdout)
    assert c["decision"] in ("hold", "escalate") and c["alpha_id"] == "toy_obi"
    assert c["metrics"]["fills"] == filled and c["metrics"]["decisions"] == 6
    obs = Path(c["observations"])
    assert obs.is_relative_to(home / "runs" / "canary" / "toy_obi") and obs.name.startswith("live-")
    summary = json.loads((obs / "summary.json").read_text())
    assert summary["source"] == "live" and summary["strategy"] == "toy_obi" and summary["symbols"] == [sym]
    assert all(type(summary[k]) is int for k in ("pnl_money_units", "max_drawdown_money_units"))  # as a replay's
    assert liquidity and summary["maker_share"] == round(liquidity.count("maker") / len(liquidity), 6)
    codes = {"": 0, "maker": 1, "taker": 2}
    assert pl.read_parquet(obs / "fills.parquet")["liquidity"].to_list() == [codes[x] for x in liquidity]

    # nothing newer than this step's window: refused, nothing written
    promo = Path(c["promotion_file"]).read_text()
    p = _hft(env, tmp_path, "alpha", "canary", "toy_obi", "--live")
    assert p.returncode == 16 and "found none" in p.stderr and "Traceback" not in p.stderr
    assert Path(c["promotion_file"]).read_text() == promo


def test_strategy_needs_live(tmp_path):
    env = {**os.environ, "HFT_HOME": str(tmp_path / "home")}
    p = _hft(env, tmp_path, "alpha", "canary", "toy_obi", "--strategy", "s1", timeout=120)
    assert p.returncode == 2 and "expected --live with --strategy" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "home" / "runs").exists()
