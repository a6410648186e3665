"""Gate D (alpha_exec through the real gateway, deterministic run hash, causal signal use) and Gate E."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from lifecycle_helpers import gate_rows, make_day, make_research_root

from hft.alpha.api.lifecycle_config import GateD, GateE
from hft.alpha.gates.execution import AlphaExecution, causal_zscore, signal_stamps
from hft.alpha.gates.gate_d import run_gate_d
from hft.alpha.gates.gate_e import evaluate_gate_e
from hft.core.errors import ConfigError, GovernanceError
from hft.data.sources import FILES


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("gate_d")
    return SimpleNamespace(day=make_day(base / "day", seed=11), root=make_research_root(base), base=base)


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("HFT_HOME", str(tmp_path / "home"))


def test_gate_d_runs_and_is_deterministic(env, tmp_path):
    a = run_gate_d("toy_obi", [env.day], code_hash="hash-1", source=FILES, root=env.root, out_dir=tmp_path / "run_a")
    b = run_gate_d("toy_obi", [env.day], code_hash="hash-1", source=FILES, root=env.root, write_folder=False)
    assert a.run_hash == b.run_hash and len(a.run_hash) == 32
    assert {k: v for k, v in a.metrics.items() if k != "wall_s"} == {k: v for k, v in b.metrics.items()
                                                                     if k != "wall_s"}
    m = a.metrics
    for k in ("net_pnl", "sharpe", "max_drawdown", "fill_ratio", "reject_rate", "rejects", "turnover",
              "peak_position", "participation", "orders"):
        assert k in m
    assert m["orders"] > 0 and m["lookahead_violations"] == 0
    assert m["peak_position"] <= 4  # gate_d.max_position of the toy config
    assert 0 < m["participation"] < 1
    assert a.passed, a.reasons  # lenient thresholds
    # the run folder is the simulator's format and names the alpha and its code hash
    folder = tmp_path / "run_a"
    assert {p.name for p in folder.iterdir()} >= {"orders.parquet", "fills.parquet", "decisions.parquet",
                                                   "equity.parquet", "summary.json"}
    s = json.loads((folder / "summary.json").read_text())
    assert s["run_hash"] == a.run_hash and s["strategy"] == "alpha_exec"
    assert s["alpha"] == {"alpha_id": "toy_obi", "version": "1.0.0", "code_hash": "hash-1"}
    assert s["params"]["code_hash"] == "hash-1"
    # config.yaml as `hft replay` writes it: the effective config (Gate D's limits in it), the very mapping hashed
    text = (folder / "config.yaml").read_text()
    doc = yaml.safe_load(text)
    assert f"# config_hash {s['config_hash']} =" in text and doc["limits"] == a.limits
    assert hashlib.blake2b(json.dumps(doc, sort_keys=True).encode(), digest_size=8).hexdigest() == s["config_hash"]


def test_run_hash_same_in_another_process(env, tmp_path):
    a = run_gate_d("toy_obi", [env.day], code_hash="hash-1", source=FILES, root=env.root, write_folder=False)
    code = ("import sys; from pathlib import Path; from hft.alpha.gates.gate_d import run_gate_d; "
            "from hft.data.sources import FILES; "
            "r = run_gate_d('toy_obi', [Path(sys.argv[1])], code_hash='hash-1', source=FILES, "
            "root=Path(sys.argv[2]), write_folder=False); print(r.run_hash)")
    envv = {**os.environ, "PYTHONHASHSEED": "12345", "HFT_HOME": str(tmp_path / "h2")}
    out = subprocess.run([sys.executable, "-c", code, str(env.day), str(env.root)], capture_output=True, text=True,
                         env=envv, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == a.run_hash


def test_gate_d_on_two_held_out_days(env, tmp_path):
    """Several held-out days: one session each on one gateway; each day gets its own signal; the first day's
    replay is the single-day Gate D's."""
    day2 = make_day(env.base / "day2", seed=12, date="2024-06-24")
    one = run_gate_d("toy_obi", [env.day], code_hash="hash-1", source=FILES, root=env.root, write_folder=False)
    two = run_gate_d("toy_obi", [env.day, day2], code_hash="hash-1", source=FILES, root=env.root, out_dir=tmp_path / "run2")
    s = two.summary
    assert s["n_days"] == 2 and s["days"][0]["run_hash"] == one.run_hash
    assert two.run_hash != one.run_hash and two.metrics["orders"] > one.metrics["orders"]
    assert two.metrics["lookahead_violations"] == 0
    assert two.metrics["participation"] > 0 and (tmp_path / "run2" / "fills.parquet").exists()


def test_gate_d_thresholds_fail(env, tmp_path):
    root = make_research_root(tmp_path, extra_validation="""
  gate_d:
    limits: {max_position: 10, max_order_qty: 5}
    min_net_pnl: 1000000000000.0
    min_orders: 1000000
""")
    r = run_gate_d("toy_obi", [env.day], code_hash="h", source=FILES, root=root, write_folder=False)
    assert not r.passed
    assert any(x.startswith("net_pnl: expected >= 1000000000000.0") for x in r.reasons)
    assert any(x.startswith("orders: expected >= 1000000") for x in r.reasons)


def test_gateway_rejects_are_counted(env, tmp_path):
    # max_order_qty 1 < order_size 2: the gateway denies every order (a decision, not an exception)
    root = make_research_root(tmp_path, extra_validation="""
  gate_d:
    order_size: 2
    limits: {max_position: 10, max_order_qty: 1}
    min_net_pnl: -1000000000000.0
    min_sharpe: -1000000.0
""")
    r = run_gate_d("toy_obi", [env.day], code_hash="h", source=FILES, root=root, write_folder=False)
    assert r.metrics["reject_rate"] == 1.0 and r.metrics["rejects"] == {"MAX_ORDER_QTY": r.metrics["decisions"]}
    assert not r.passed and any("reject_rate" in x for x in r.reasons)


def test_bad_gate_d_config(tmp_path):
    with pytest.raises(ConfigError, match=r"validation\.gate_d\.limits\.max_positon"):
        make_research_root(tmp_path, extra_validation="\n  gate_d:\n    limits: {max_positon: 3}\n")
        from hft.alpha.api.registry import load_config

        load_config("toy_obi", root=tmp_path / "research")
    with pytest.raises(GovernanceError, match="at least one data file"):
        run_gate_d("toy_obi", [], code_hash="h", source=FILES, root=tmp_path / "research")


# --- the execution strategy: causality -------------------------------------------------------------------------


def test_causal_zscore_uses_only_the_past():
    rng = np.random.default_rng(3)
    s = rng.normal(size=500)
    z = causal_zscore(s, warmup_rows=10)
    assert np.isnan(z[:9]).all() and np.isfinite(z[9:]).all()
    s2 = s.copy()
    s2[300:] *= 100.0  # change the future: the past z-scores must not move
    np.testing.assert_array_equal(causal_zscore(s2, 10)[:300], z[:300])
    assert np.allclose(causal_zscore(s, 10, sign=-1)[9:], -z[9:])


def test_signal_stamps_are_arrival_times():
    ts = np.array([10, 20, 30, 40])
    src = np.array([0, 1, 2, 3])
    arrival = np.array([15, 18, 50, 55])
    np.testing.assert_array_equal(signal_stamps(ts, src, arrival), [15, 20, 50, 55])


class _Ctx:
    def __init__(self):
        self.now, self.position, self.orders = 0, 0, {}
        self.best_bid, self.best_ask = 100, 101
        self.sent = []

    def submit(self, side, price, qty, otype, tif):
        self.sent.append((self.now, side, price, qty))


def test_strategy_never_reads_a_future_signal():
    st = AlphaExecution(alpha_id="a", version="1.0.0", code_hash="h", max_position=2, order_size=1, entry_z=1.0,
                        exit_z=0.5, cooldown_ns=0, warmup_rows=2)
    st.set_signal(np.array([100, 200, 300]), np.array([np.nan, 3.0, -3.0]))
    ctx = _Ctx()
    for now in (50, 150, 199):
        ctx.now = now
        st.on_book(ctx)
    assert ctx.sent == [] and st.target == 0  # the +3 row is stamped 200: unknown before
    ctx.now = 200
    st.on_book(ctx)
    assert st.target == 2 and ctx.sent == [(200, 1, 101, 1)] and st.max_used_stamp == 200
    ctx.position, ctx.now = 1, 299
    st.on_book(ctx)
    assert st.target == 2
    ctx.now = 300
    st.on_book(ctx)
    assert st.target == -2 and ctx.sent[-1] == (300, -1, 100, 1)
    with pytest.raises(Exception, match="non-decreasing"):
        st.set_signal(np.array([2, 1]), np.array([0.0, 0.0]))


# --- Gate E ----------------------------------------------------------------------------------------------------

D_METRICS = {"peak_position": 4, "peak_notional": 4000, "participation": 0.01, "turnover": 50.0}


def _e(**kw):
    args = {"alpha_id": "a", "code_hash": "h", "d_metrics": D_METRICS, "gate_d": GateD(), "gate_e": GateE(),
            "approvers": ["jdoe"], "gate_rows": gate_rows("a", "h")}
    args.update(kw)
    return evaluate_gate_e(**args)


def test_gate_e_pass():
    r = _e()
    assert r.passed, r.reasons
    assert r.metrics["headroom"] == pytest.approx(0.8) and r.experiment_id == "exp-1"
    assert r.metrics["required_gates"] == {"A": True, "B": True, "C": True, "pool": True}


def test_gate_e_failures():
    assert any("headroom" in x for x in _e(d_metrics={**D_METRICS, "peak_position": 19}).reasons)
    assert any("max_position set" in x for x in _e(gate_d=GateD(limits={"max_order_qty": 5})).reasons)
    lim = {"max_position": 20, "max_notional": 4500, "max_order_qty": 5}
    assert any("notional headroom" in x for x in _e(gate_d=GateD(limits=lim)).reasons)
    assert any("order_size" in x for x in _e(gate_d=GateD(order_size=9)).reasons)
    assert any("participation" in x for x in _e(d_metrics={**D_METRICS, "participation": 0.5}).reasons)
    assert any("turnover" in x for x in _e(gate_e=GateE(max_turnover=10.0)).reasons)
    assert any("approvals" in x for x in _e(approvers=[]).reasons)
    # verdicts of another code hash do not count; a later failure overrides an earlier pass
    r = _e(gate_rows=gate_rows("a", "old-hash"))
    assert not r.passed and sum("found none" in x for x in r.reasons) == 4
    rows = gate_rows("a", "h") + gate_rows("a", "h", gates=("B",), passed=False, ts=2 * 10**18)
    r = _e(gate_rows=rows)
    assert [x for x in r.reasons if x.startswith("gate B")] and r.metrics["required_gates"]["B"] is False
    assert _e(gate_rows=[], gate_e=GateE(require_gates=())).passed
    held = [dict(r, data_hash="files-abc") for r in gate_rows("a", "h")]
    assert _e(gate_rows=held, d_data_hash="files-other").passed
    r = _e(gate_rows=held, d_data_hash="files-abc")
    assert [x for x in r.reasons if x.startswith("held-out data") and "A, B, C, pool" in x]
    with pytest.raises(GovernanceError, match="approver"):
        _e(approvers=["Not Valid"])


def _gate_d_root(tmp_path, name: str, limits: str, min_net_pnl: object, max_drawdown: object):
    return make_research_root(tmp_path / name, extra_validation=f"""
  gate_d:
    limits: {limits}
    min_net_pnl: {json.dumps(min_net_pnl)}
    max_drawdown: {json.dumps(max_drawdown)}
""")


def test_gate_d_money_thresholds_and_limits_in_currency_and_instrument_units(env, tmp_path):
    """Gate D's money thresholds as currency amounts and its gateway limits in instrument units judge as their
    money-unit / lot forms do (the generated day: lot 1, money unit 0.01 USD); reasons state the unit."""
    units = run_gate_d("toy_obi", [env.day], code_hash="h", source=FILES, write_folder=False,
                       root=_gate_d_root(tmp_path, "a", "{max_position: 10, max_order_qty: 5}", 10**12, 1))
    human = run_gate_d("toy_obi", [env.day], code_hash="h", source=FILES, write_folder=False,
                       root=_gate_d_root(tmp_path, "b", "{max_position: '10', max_order_qty: '5 lots'}",
                                         "10000000000 USD", "0.01 USD"))
    assert human.summary["money_unit"] == 0.01 and human.summary["currency"] == "USD"
    assert human.run_hash == units.run_hash and human.reasons == units.reasons and not human.passed
    assert human.thresholds == units.thresholds and human.thresholds["min_net_pnl"] == 10**12
    assert human.limits == units.limits == {"max_position": 10, "max_order_qty": 5}  # Gate E weighs these
    assert any(x.startswith("net_pnl: expected >= 1000000000000.0 money units (10000000000 USD), was ")
               for x in human.reasons)
    assert any(x.startswith("max_drawdown: expected <= 1.0 money units (0.01 USD), was ") for x in human.reasons)


def test_gate_d_amount_in_another_currency_names_the_key(env, tmp_path):
    root = _gate_d_root(tmp_path, "c", "{max_position: 10}", "5 USDT", None)
    with pytest.raises(GovernanceError) as e:
        run_gate_d("toy_obi", [env.day], code_hash="h", source=FILES, root=root, write_folder=False)
    assert e.value.fields["key"] == "validation.gate_d.min_net_pnl" and "\n" not in str(e.value)
    assert "expected an amount in USD (the money unit is 0.01 USD), was '5 USDT'" in str(e.value)
    root = _gate_d_root(tmp_path, "e", "{max_position: '0.5'}", 0, None)  # lot 1: no half lots
    with pytest.raises(GovernanceError) as e:
        run_gate_d("toy_obi", [env.day], code_hash="h", source=FILES, root=root, write_folder=False)
    assert str(e.value).endswith("config.yaml: key 'validation.gate_d.limits.max_position': expected a whole number "
                                 "of lots of 1 share (SYNTH), was '0.5'")
    with pytest.raises(ConfigError, match=r"key 'validation\.gate_d\.max_drawdown': expected an amount >= 0"):
        _gate_d_root(tmp_path, "d", "{max_position: 10}", 0, "-5 USD")
        from hft.alpha.api.registry import load_config

        load_config("toy_obi", root=tmp_path / "d" / "research")
