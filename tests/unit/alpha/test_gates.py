"""Gates A/B/C as pure functions: planted lookahead, noise vs real signal, PSR/DSR wiring, PBO, cost model."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import polars as pl
import pytest

from hft.alpha.api.base import Alpha
from hft.alpha.api.config import GateA, GateB, GateC, parse_alpha_config
from hft.alpha.gates.gate_a import gate_a, lookahead_cuts, shift_ic_excess
from hft.alpha.gates.gate_b import gate_b
from hft.alpha.gates.gate_c import (
    distinct_columns,
    gate_c,
    param_variants,
    period_returns,
    positions,
    row_returns,
    strategy_returns,
    walk_forward,
)
from hft.alpha.gates.result import Check, json_safe
from hft.alpha.research import stats
from hft.core.errors import ConfigError, DataValidationError, GovernanceError

T0 = 1_340_285_400_000_000_000  # 2012-06-21 13:30 UTC
SESSION_NS = int(6.5 * 3600 * 1e9)


def synthetic_features(n: int = 20_000, seed: int = 1, strength: float = 0.4) -> pl.DataFrame:
    """A day of rows: an AR(1) L1 imbalance that predicts the next mid moves with `strength` (0: noise)."""
    rng = np.random.default_rng(seed)
    imb = np.empty(n)
    imb[0] = 0.0
    eps = rng.normal(0, 0.3, n)
    for i in range(1, n):
        imb[i] = 0.9 * imb[i - 1] + eps[i]
    imb = np.clip(imb, -0.99, 0.99)
    steps = strength * imb + rng.normal(0, 1.0, n)
    mid = 20_000.0 + np.concatenate(([0.0], np.cumsum(steps[:-1])))
    ts = T0 + np.linspace(0, SESSION_NS, n).astype(np.int64)
    qb = np.round(100 * (1 + imb)).astype(np.int64) + 1
    qa = np.round(100 * (1 - imb)).astype(np.int64) + 1
    df = pl.DataFrame({"ts": ts, "mid": mid, "spread": np.full(n, 2, np.int64), "bid_qty_1": qb,
                       "ask_qty_1": qa, "imb_1": (qb - qa) / (qb + qa)})
    return df.with_columns([(pl.col("mid").shift(-k) / pl.col("mid") - 1.0).alias(f"fwd_ret_{k}")
                            for k in (1, 10, 100)])


class Honest(Alpha):
    alpha_id = "honest"
    version = "1.0.0"
    features = ("imb_1",)

    @dataclass(frozen=True)
    class Params:
        smooth: int = 3

    def compute(self, features: pl.DataFrame) -> pl.Series:
        return features["imb_1"].rolling_mean(self.params.smooth, min_samples=1)


class PeeksAhead(Alpha):
    """Planted lookahead: the imbalance of the NEXT row."""

    alpha_id = "peeks_ahead"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, features: pl.DataFrame) -> pl.Series:
        return features["imb_1"].shift(-1)


class GlobalZ(Alpha):
    """Planted lookahead: z-scored with the whole day's mean and std."""

    alpha_id = "global_z"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, features: pl.DataFrame) -> pl.Series:
        x = features["imb_1"]
        return (x - x.mean()) / x.std()


class ReadsFutureMid(Alpha):
    """Planted lookahead through the mid: the next row's mid move (caught statistically too)."""

    alpha_id = "reads_future_mid"
    version = "1.0.0"
    features = ("mid",)

    def compute(self, features: pl.DataFrame) -> pl.Series:
        m = features["mid"]
        return (m.shift(-1) / m - 1.0).fill_null(0.0)


class Jittery(Alpha):
    alpha_id = "jittery"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, features: pl.DataFrame) -> pl.Series:
        return features["imb_1"] + pl.Series(np.random.default_rng().normal(0, 1e-9, features.height))


@pytest.fixture(scope="module")
def feats() -> pl.DataFrame:
    return synthetic_features()


def fwd_of(df: pl.DataFrame) -> dict[str, np.ndarray]:
    return {c: df[c].to_numpy().astype(np.float64) for c in ("fwd_ret_1", "fwd_ret_10", "fwd_ret_100")}


# --- gate A -------------------------------------------------------------------------------------------------

def test_honest_alpha_passes_gate_a(feats):
    res, sig = gate_a(Honest(), feats, GateA(max_ns_per_event=1e12))  # speed is measured in bench/, not here
    assert res.passed, res.reasons
    assert res.metrics["coverage"] == 1.0
    assert res.metrics["lookahead"]["mismatches"] == [] and res.metrics["perturbation"]["mismatches"] == []
    assert len(res.metrics["lookahead"]["cuts"]) >= 15 and len(res.metrics["perturbation"]["cuts"]) >= 15
    assert res.metrics["lookahead"]["cuts_run"] == len(res.metrics["lookahead"]["cuts"])
    assert sig.dtype == np.float64 and len(sig) == feats.height


@pytest.mark.parametrize("cls", [PeeksAhead, GlobalZ, ReadsFutureMid])
def test_planted_lookahead_fails_gate_a(feats, cls):
    res, _ = gate_a(cls(), feats, GateA())
    assert not res.passed
    checks = {c.name: c for c in res.checks}
    assert not checks["lookahead_mismatches"].passed
    # every cut sees it: the test stops at its third mismatching cut, after three cuts
    assert checks["lookahead_mismatches"].value == 3 == res.metrics["lookahead"]["cuts_run"]
    assert not checks["perturbation_mismatches"].passed
    assert any("lookahead (truncation): 3 of 3 cuts run (stopped there)" in r for r in res.reasons)


def test_shift_test_flags_a_future_leak_and_not_an_honest_signal(feats):
    mid = feats["mid"].to_numpy()
    honest = Honest().signal(feats).to_numpy()
    leak = ReadsFutureMid().signal(feats).to_numpy()
    assert shift_ic_excess(honest, mid)["excess"] < 0.05
    assert shift_ic_excess(leak, mid)["excess"] > 0.5
    res, _ = gate_a(ReadsFutureMid(), feats, GateA())
    assert not {c.name: c for c in res.checks}["shift_ic_excess"].passed


def test_nondeterministic_alpha_fails_and_budget_is_enforced(feats):
    res, _ = gate_a(Jittery(), feats, GateA(lookahead_cuts=2))
    assert not {c.name: c for c in res.checks}["determinism"].passed
    res, _ = gate_a(Honest(), feats, GateA(max_ns_per_event=0.0))
    assert [c.name for c in res.checks if not c.passed] == ["ns_per_row"]
    res, _ = gate_a(Honest(), feats, GateA(min_coverage=1.0))
    assert res.passed


def test_coverage_threshold():
    class Sparse(Alpha):
        alpha_id = "sparse"
        version = "1.0.0"
        features = ("imb_1",)

        def compute(self, features):
            x = features["imb_1"].to_numpy().copy()
            x[1::2] = np.nan
            return pl.Series(x)

    df = synthetic_features(2000)
    res, _ = gate_a(Sparse(), df, GateA(max_ns_per_event=1e12))  # speed is measured in bench/, not here
    assert res.metrics["coverage"] == pytest.approx(0.5)
    assert [c.name for c in res.checks if not c.passed] == ["coverage"]


def test_lookahead_cuts_are_seeded_and_in_range():
    a = lookahead_cuts(1000, 20, 7)
    assert np.array_equal(a, lookahead_cuts(1000, 20, 7))
    assert not np.array_equal(a, lookahead_cuts(1000, 20, 8))
    assert a.min() >= 100 and a.max() <= 999 and np.all(np.diff(a) > 0)


def test_bad_alpha_output_is_an_error_not_a_verdict(feats):
    class NaNs(Alpha):
        alpha_id = "nans"
        version = "1.0.0"
        features = ("imb_1",)

        def compute(self, features):
            return pl.Series(np.full(features.height, np.nan))

    class Short(Alpha):
        alpha_id = "short"
        version = "1.0.0"
        features = ("imb_1",)

        def compute(self, features):
            return features["imb_1"].head(5)

    for cls, msg in ((NaNs, "at least one finite"), (Short, "expected 20000 values")):
        with pytest.raises(GovernanceError, match=msg):
            gate_a(cls(), feats, GateA())


# --- gate B -------------------------------------------------------------------------------------------------

def test_real_signal_passes_gate_b_and_noise_fails():
    df = synthetic_features(strength=0.4)
    sig = df["imb_1"].to_numpy()
    res, series = gate_b(sig, df["ts"].to_numpy(), fwd_of(df), GateB(), "fwd_ret_10")
    assert res.passed, res.reasons
    h = res.metrics["horizons"]["fwd_ret_10"]
    assert h["n_buckets"] == 14  # 6.5 h in 30-minute buckets, aligned to the UTC grid
    for part in ("all", "is", "oos"):
        assert h[part]["spearman"]["mean"] > 0.05 and h[part]["pearson"]["mean"] > 0.05
    q = h["quantile_returns"]
    assert q[-1] > q[0] and h["top_minus_bottom"] > 0
    assert set(res.metrics["ic_decay"]) == {"fwd_ret_1", "fwd_ret_10", "fwd_ret_100"}
    assert 0.5 < res.metrics["autocorrelation_lag1"] <= 1.0
    assert set(series["bucket_ic"]) == {"fwd_ret_1", "fwd_ret_10", "fwd_ret_100"}

    noise = np.random.default_rng(5).normal(size=df.height)
    res_n, _ = gate_b(noise, df["ts"].to_numpy(), fwd_of(df), GateB(), "fwd_ret_10")
    assert not res_n.passed
    assert abs(res_n.metrics["horizons"]["fwd_ret_10"]["all"]["spearman"]["mean"]) < 0.02


def test_gate_b_is_sign_aware():
    df = synthetic_features()
    sig = -df["imb_1"].to_numpy()
    res, _ = gate_b(sig, df["ts"].to_numpy(), fwd_of(df), GateB(), "fwd_ret_10")
    assert not res.passed
    res, _ = gate_b(sig, df["ts"].to_numpy(), fwd_of(df), GateB(sign=-1), "fwd_ret_10")
    assert res.passed, res.reasons
    head = res.metrics["horizons"]["fwd_ret_10"]["all"]["spearman"]
    assert head["mean"] > 0 > head["mean_raw"]


def test_gate_b_summary_matches_stats_helpers():
    df = synthetic_features()
    sig, y, ts = df["imb_1"].to_numpy(), df["fwd_ret_10"].to_numpy(), df["ts"].to_numpy()
    res, _ = gate_b(sig, ts, fwd_of(df), GateB(), "fwd_ret_10")
    _, ics = stats.bucket_ic(sig, y, ts // GateB().bucket_ns, "spearman")
    want = stats.ic_summary(ics)
    got = res.metrics["horizons"]["fwd_ret_10"]["all"]["spearman"]
    for k in ("mean", "std", "ic_ir", "t_stat", "hit_rate", "n"):
        assert got[k] == pytest.approx(want[k])
    assert res.metric == "ic_mean" and res.value == pytest.approx(want["mean"])


def test_gate_b_data_too_short_is_an_error():
    df = synthetic_features(3000)
    short = df.filter(pl.col("ts") < T0 + 3_000_000_000_000)  # 50 minutes: 2 buckets
    with pytest.raises(DataValidationError, match="at least 3 buckets"):
        gate_b(short["imb_1"].to_numpy(), short["ts"].to_numpy(), fwd_of(short), GateB(), "fwd_ret_10")
    tiny = synthetic_features(60)  # 60 rows: no row has a future 100 rows ahead
    with pytest.raises(DataValidationError, match="too short for the horizon"):
        gate_b(tiny["imb_1"].to_numpy(), tiny["ts"].to_numpy(), fwd_of(tiny), GateB(), "fwd_ret_10")


# --- gate C: the strategy and cost model -------------------------------------------------------------------

def test_positions_use_no_future_and_are_clipped():
    s = np.random.default_rng(2).normal(size=500)
    s[7] = np.nan
    p = positions(s)
    assert np.all(np.abs(p) <= 1.0)
    assert np.all(p[:10] == 0.0) and p[7] == 0.0  # warm-up and missing rows are flat
    for k in (20, 100, 499):
        assert np.array_equal(positions(s[:k]), p[:k])
    assert np.array_equal(positions(s, -1), -p)


def test_cost_model_by_hand():
    pos = np.array([0.0, 1.0, 1.0, -0.5])
    mid = np.array([100.0, 101.0, 100.0, 100.0])
    spread = np.array([2.0, 2.0, 4.0, 2.0])
    gross, half, traded = row_returns(pos, mid, spread)
    assert gross == pytest.approx([0.0, 1.0 * (100 / 101 - 1), 0.0, 0.0])
    assert half == pytest.approx([0.01, 1 / 101, 0.02, 0.01])
    assert traded == pytest.approx([0.0, 1.0, 0.0, 1.5])
    labels, sums = period_returns(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 5, 10, 12]), 10)
    assert labels.tolist() == [0, 10] and sums.tolist() == [3.0, 7.0]


def test_strategy_scenarios_order_costs():
    df = synthetic_features()
    th = GateC(cost_spread_multipliers=(1.0, 2.0), fee_bps=0.5)
    res = strategy_returns(df["imb_1"].to_numpy(), df["mid"].to_numpy(), df["spread"].to_numpy(),
                           df["ts"].to_numpy(), th)
    assert set(res.scenarios) == {"base", "gross", "spread_x1", "spread_x2", "fee_0.6bps"}
    g, b, x2 = (res.scenarios[k].sum() for k in ("gross", "base", "spread_x2"))
    assert g > b > x2
    assert np.array_equal(res.scenarios["base"], res.scenarios["spread_x1"])
    assert len(res.periods) == 79  # 6.5 h of 5-minute periods on the UTC grid (+1 partial)


def test_walk_forward_selects_on_the_past():
    m = np.zeros((10, 2))
    m[:, 0] = [1, 2, 1, 2, -1, -2, -1, -2, -1, -2]  # good early, bad late
    m[:, 1] = [0, 0.1, 0, 0.1, 1, 2, 1, 2, 1, 2]  # modest early, good late
    wf = walk_forward(m, 5)
    # folds of 2 rows; fold k is traded with the best variant over rows [0, 2k)
    assert [f["variant"] for f in wf["folds"]] == [0, 0, 1, 1]
    assert wf["positive_share"] == pytest.approx(0.75)  # only fold 2 (rows 4-5 with variant 0) loses


def test_distinct_columns():
    m = np.array([[1.0, 1.0, 2.0], [3.0, 3.0, 4.0]])
    assert distinct_columns(m).tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_param_variants_respect_check_params():
    class Smooth(Alpha):
        alpha_id = "smooth_alpha"
        version = "1.0.0"
        features = ("imb_1",)

        @dataclass(frozen=True)
        class Params:
            window: int = 1
            decay: float = 0.5
            on: bool = True

        def check_params(self, p):
            self.require(p.window >= 1, "window", "an integer >= 1", p.window)

    good, bad = param_variants(Smooth, {"window": 1, "decay": 0.5, "on": True}, 0.25)
    assert [n for n, _ in good] == ["window+1", "decay-0.125", "decay+0.125"]
    assert [b["name"] for b in bad] == ["window-1"]
    assert param_variants(Smooth, {"window": 1, "decay": 0.5, "on": True}, 0.0) == ([], [])


# --- gate C: decisions --------------------------------------------------------------------------------------

def _returns(mean: float, n: int = 200, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, 1.0, n)


def test_min_trl_with_a_sharpe_that_is_not_positive_says_why_it_is_infinite():
    """A Sharpe <= 0 needs an infinite track record: the check's note says so ("78 >= inf" alone read as a bug)."""
    res = gate_c(_returns(-0.3), n_trials=1, var_sharpe=0.0, trial_returns=None, walk_forward_share=1.0,
                 stress_sharpes={}, th=GateC())
    trl = next(c for c in res.checks if c.name == "min_trl")
    assert not trl.passed and trl.threshold == math.inf
    assert "is not positive: no track record is long enough" in trl.note, trl.note
    assert "needs inf" not in trl.note


def test_psr_dsr_min_trl_wiring():
    r = _returns(0.3)
    th = GateC()
    res = gate_c(r, n_trials=50, var_sharpe=0.02, trial_returns=None, walk_forward_share=1.0,
                 stress_sharpes={"spread_x2": 0.2}, th=th)
    sr = stats.sharpe(r)
    _, _, skew, kurt = stats.moments(r)
    m = res.metrics
    assert m["sharpe"] == pytest.approx(sr)
    assert m["psr"] == pytest.approx(stats.psr(sr, 200, skew, kurt))
    assert m["dsr"] == pytest.approx(stats.dsr(sr, 200, 50, 0.02, skew, kurt))
    assert m["sr0"] == pytest.approx(stats.expected_max_sharpe(50, 0.02))
    assert m["min_trl"] == pytest.approx(stats.min_track_record_length(sr, 0.0, skew, kurt, 0.95))
    assert m["dsr"] < m["psr"]
    assert res.metric == "dsr" and res.value == pytest.approx(m["dsr"])
    one = gate_c(r, n_trials=1, var_sharpe=0.0, trial_returns=None, walk_forward_share=1.0,
                 stress_sharpes={"x": 0.2}, th=th)
    assert one.metrics["dsr"] == pytest.approx(one.metrics["psr"])
    assert one.passed, one.reasons
    assert {c.name: c for c in one.checks}["pbo"].note.startswith("not applicable")


def test_many_trials_deflate_a_lucky_sharpe():
    r = _returns(0.15)
    few = gate_c(r, n_trials=2, var_sharpe=0.01, trial_returns=None, walk_forward_share=1.0,
                 stress_sharpes={"x": 1.0}, th=GateC())
    many = gate_c(r, n_trials=1000, var_sharpe=0.01, trial_returns=None, walk_forward_share=1.0,
                  stress_sharpes={"x": 1.0}, th=GateC())
    assert few.metrics["dsr"] > 0.9 > many.metrics["dsr"]
    assert not many.passed and any("DSR" in r for r in many.reasons)


def test_pbo_is_high_for_noise_variants_and_low_with_a_real_edge():
    rng = np.random.default_rng(11)
    noise = rng.normal(0.0, 1.0, (400, 16))
    res = gate_c(noise[:, 0], n_trials=16, var_sharpe=0.01, trial_returns=noise, walk_forward_share=1.0,
                 stress_sharpes={"x": 1.0}, th=GateC(max_pbo=0.2))
    assert res.metrics["pbo"] >= 0.3
    assert not {c.name: c for c in res.checks}["pbo"].passed
    edge = noise.copy()
    edge[:, 3] += 0.5
    res = gate_c(edge[:, 3], n_trials=16, var_sharpe=0.01, trial_returns=edge, walk_forward_share=1.0,
                 stress_sharpes={"x": 1.0}, th=GateC(max_pbo=0.2))
    assert res.metrics["pbo"] < 0.05
    assert res.metrics["pbo"] == pytest.approx(stats.pbo(edge, 10).probability)


def test_flat_strategy_and_short_data():
    with pytest.raises(DataValidationError, match="at least 10 periods"):
        gate_c(np.ones(5), n_trials=1, var_sharpe=0.0, trial_returns=None, walk_forward_share=1.0,
               stress_sharpes={}, th=GateC())
    res = gate_c(np.zeros(50), n_trials=1, var_sharpe=0.0, trial_returns=None, walk_forward_share=0.0,
                 stress_sharpes={"x": math.nan}, th=GateC())
    assert not res.passed
    assert any("never traded" in r for r in res.reasons)


# --- results, config --------------------------------------------------------------------------------------

def test_check_and_json_safe():
    assert Check.compare("x", math.nan, ">=", 0.0).passed is False
    assert Check.compare("x", 1.0, ">=", 1.0).passed is True
    assert Check.compare("x", 0.5, "<=", 0.2).note == "x = 0.5, expected <= 0.2"
    assert json_safe({"a": math.nan, "b": np.float64(math.inf), "c": np.arange(2), "d": (1, np.int64(2))}) == \
        {"a": None, "b": "inf", "c": [0, 1], "d": [1, 2]}


def test_gate_c_config_keys_parse_strictly():
    base = {"alpha": "x", "validation": {"gate_c": {"period": "1m", "cost_spread_multiplier": 0.5,
                                                     "stress_fee_bps": 0.2, "min_stress_sharpe": -0.1,
                                                     "sensitivity_step": 0.1}}}
    c = parse_alpha_config(base).validation.gate_c
    assert (c.period_ns, c.cost_spread_multiplier, c.stress_fee_bps, c.min_stress_sharpe,
            c.sensitivity_step) == (60_000_000_000, 0.5, 0.2, -0.1, 0.1)
    assert dataclasses.asdict(GateC())["period"] == "5m"
    for key, value in (("period", "soon"), ("min_psr", "high"), ("cost_spread_multiplier", -1),
                       ("min_trl_confidence", 1.0), ("pbo_blocks", 7)):
        with pytest.raises(ConfigError, match=key):
            parse_alpha_config({"alpha": "x", "validation": {"gate_c": {key: value}}})


def test_an_honest_signal_with_fast_information_is_a_warning_not_a_failure():
    """Each row's queue carries the next move and nothing after: an honest signal loses all of its IC one row
    late. With no honest reference feature in the frame the shift test's bound is its floor: a warning only."""
    n = 20_000
    rng = np.random.default_rng(3)
    eps = rng.normal(0, 1, n)
    mid = 20_000.0 + np.concatenate(([0.0], np.cumsum(eps[:-1] + rng.normal(0, 0.5, n - 1))))
    df = pl.DataFrame({"ts": T0 + np.arange(n, dtype=np.int64) * 1_000_000, "mid": mid,
                       "bid_qty_1": np.round(100 + 30 * eps).astype(np.int64)})

    class Queue(Alpha):
        alpha_id = "queue"
        version = "1.0.0"
        features = ("bid_qty_1",)

        def compute(self, f):
            return f["bid_qty_1"].cast(pl.Float64)

    res, _ = gate_a(Queue(), df, GateA(max_ns_per_event=1e12))  # (speed: bench/)
    shift = {c.name: c for c in res.checks}["shift_ic_excess"]
    assert res.metrics["shift_test"]["excess"] > 0.5 and res.metrics["shift_test"]["null"] == {}
    assert res.passed and shift.passed and shift.warning
    assert res.warnings and "exact tests found no lookahead" in res.warnings[0]
