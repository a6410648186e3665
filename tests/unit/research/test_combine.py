"""Combination scoring: pure, out-of-sample honest, weights as documented."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from hft.alpha.research.combine import Combination, bucket_returns, members_of, score_combination, standardise
from hft.alpha.research.features import FeatureSpec, compute_features
from hft.core.errors import GovernanceError
from hft.data.sources import FILES

SPEC = FeatureSpec(levels=1, sampling="1s", horizons=("1s", "10s"))
KW = {"target": "fwd_ret_10s", "oos_fraction": 0.3, "bucket_ns": 300 * 10**9}


@pytest.fixture(scope="module")
def feats(small_day, tmp_path_factory):
    return compute_features([small_day], SPEC, source=FILES, cache=False)


def combo(*members, weights="equal", seed=1):
    ids = [m[0] for m in members]
    params = [m[1] for m in members]
    return Combination(members_of(ids, params), weights, seed)


def test_standardise_uses_in_sample_moments_only():
    x = np.array([1.0, 3.0, np.nan, 100.0, -100.0])
    z = standardise(x, 3)
    assert z.tolist() == [-1.0, 1.0, 0.0, 98.0, -102.0]  # mean 2, std 1 from the first three


def test_bucket_returns_sums_per_epoch_bucket():
    ts = np.array([0, 1, 5, 6, 12])
    starts, sums = bucket_returns(ts, np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 5)
    assert starts.tolist() == [0, 5, 10] and sums.tolist() == [3.0, 7.0, 5.0]


def test_score_is_deterministic_and_json_safe(feats):
    c = combo(("obi_l1", {"smooth": 10}), ("ofi", {"window": 10}), weights="ic")
    a = score_combination(feats, c, **KW)
    b = score_combination(feats, c, **KW, signal_cache={})
    assert a == b
    assert np.isfinite(a["sharpe"]) and a["n_obs"] >= 2
    assert len(a["period_returns"]) == a["n_obs"] + a["n_obs_is"]
    assert sum(abs(w) for w in a["weights"]) == pytest.approx(1.0)


def test_out_of_sample_score_ignores_future_rows_changes(feats):
    """Changing the out-of-sample signal inputs changes nothing in-sample (weights and IS Sharpe)."""
    c = combo(("obi_l1", {"smooth": 1}), ("microprice_dev", {"smooth": 1}), weights="ic")
    base = score_combination(feats, c, **KW)
    n = feats.height
    n_is = int(n * 0.7)
    scrambled = feats.with_columns(pl.concat([feats["bid_qty_1"][:n_is],
                                              feats["bid_qty_1"][n_is:].reverse()]).alias("bid_qty_1"))
    other = score_combination(scrambled, c, **KW)
    assert other["weights"] == base["weights"] and other["sharpe_is"] == base["sharpe_is"]
    assert other["sharpe"] != base["sharpe"]


def test_costs_reduce_the_score(feats):
    c = combo(("obi_l1", {"smooth": 1}))
    free = score_combination(feats, c, **KW, spread_multiplier=0.0)
    costly = score_combination(feats, c, **KW, spread_multiplier=2.0, fee_bps=1.0)
    assert costly["net_return_oos"] < free["net_return_oos"]


def test_random_weights_come_from_the_seed(feats):
    m = (("obi_l1", {"smooth": 1}), ("ofi", {"window": 10}))
    a = score_combination(feats, combo(*m, weights="random", seed=3), **KW)
    b = score_combination(feats, combo(*m, weights="random", seed=3), **KW)
    c = score_combination(feats, combo(*m, weights="random", seed=4), **KW)
    assert a["weights"] == b["weights"] != c["weights"]


def test_bad_inputs_are_clear_errors(feats):
    c = combo(("obi_l1", {"smooth": 1}))
    with pytest.raises(GovernanceError, match="forward-return column"):
        score_combination(feats, c, **{**KW, "target": "fwd_ret_1h"})
    with pytest.raises(GovernanceError, match="rows in and out of sample"):
        score_combination(feats.head(3), c, **KW)
    with pytest.raises(GovernanceError, match="weights"):
        score_combination(feats, combo(("obi_l1", {}), ("ofi", {}), weights="magic"), **KW)
