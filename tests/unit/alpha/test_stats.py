"""Tests for hft.alpha.research.stats: published worked examples, hand-computed cases, brute-force references, properties."""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hft.alpha.research import stats
from hft.alpha.research.stats import (
    bucket_ic,
    dsr,
    expected_max_sharpe,
    ic_summary,
    min_track_record_length,
    moments,
    norm_cdf,
    norm_ppf,
    pbo,
    pearson_ic,
    psr,
    quantile_returns,
    quantile_turnover,
    sharpe,
    sharpe_std_error,
    signal_autocorrelation,
    spearman_ic,
    turnover,
)
from hft.core.errors import GovernanceError

# ------------------------------------------------------------------------------------------------------------
# normal distribution
# ------------------------------------------------------------------------------------------------------------

# Published standard normal quantiles (tables / high-precision references), 16 significant digits.
_QUANTILES = [
    (0.5, 0.0),
    (0.8413447460685429, 1.0),  # Φ(1)
    (0.95, 1.6448536269514722),
    (0.975, 1.959963984540054),
    (0.99, 2.3263478740408408),
    (0.995, 2.5758293035489004),
    (0.999, 3.090232306167814),
    (0.05, -1.6448536269514722),
    (0.001, -3.090232306167814),
]


@pytest.mark.parametrize(("p", "z"), _QUANTILES)
def test_norm_ppf_matches_published_quantiles(p: float, z: float) -> None:
    assert norm_ppf(p) == pytest.approx(z, abs=1e-9)
    assert norm_ppf(p) == pytest.approx(NormalDist().inv_cdf(p), abs=1e-15)


@pytest.mark.parametrize("p", [1e-300, 1e-12, 1e-6, 0.001, 0.0228, 0.3, 0.5, 0.7, 0.9772, 0.999, 1 - 1e-9])
def test_norm_ppf_inverts_erfc_based_cdf(p: float) -> None:
    # Φ here comes from math.erfc, independent of NormalDist's AS241 inverse: a round trip checks both.
    x = norm_ppf(p)
    assert norm_cdf(x) == pytest.approx(p, rel=1e-12)
    # and the quantile itself to 1e-9 via one Newton step on Φ(x) = p (x error ≈ step size).
    step = (norm_cdf(x) - p) / (math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi))
    assert abs(step) < 1e-9 * max(1.0, abs(x))


def test_norm_cdf_tails_and_symmetry() -> None:
    assert norm_cdf(0.0) == 0.5
    assert norm_cdf(-1.0) == pytest.approx(0.15865525393145707, rel=1e-14)
    assert norm_cdf(-10.0) == pytest.approx(7.619853024160527e-24, rel=1e-12)  # erfc keeps the tail
    for x in (0.3, 1.7, 4.2):
        assert norm_cdf(x) + norm_cdf(-x) == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5, math.nan])
def test_norm_ppf_rejects_non_probabilities(p: float) -> None:
    with pytest.raises(GovernanceError, match="expected"):
        norm_ppf(p)


# ------------------------------------------------------------------------------------------------------------
# Sharpe and moments
# ------------------------------------------------------------------------------------------------------------


def test_sharpe_and_moments_hand_computed() -> None:
    r = [1.0, 2.0, 3.0, 4.0]
    assert sharpe(r) == pytest.approx(2.5 / math.sqrt(1.25), rel=1e-15)
    mean, std, skew, kurt = moments(r)
    assert (mean, std, skew) == pytest.approx((2.5, math.sqrt(1.25), 0.0), abs=1e-15)
    assert kurt == pytest.approx(2.5625 / 1.5625, rel=1e-14)  # m4 / m2² with population moments = 1.64


def test_moments_bernoulli_population_estimators() -> None:
    # Bernoulli(p = 1/4) sample exactly: skew (1-2p)/sqrt(pq) = 2/√3, raw kurtosis 1/(pq) - 3 = 7/3.
    mean, std, skew, kurt = moments([0.0, 0.0, 0.0, 1.0])
    assert mean == 0.25
    assert std == pytest.approx(math.sqrt(0.1875), rel=1e-15)
    assert skew == pytest.approx(2 / math.sqrt(3), rel=1e-14)
    assert kurt == pytest.approx(7 / 3, rel=1e-14)


def test_moments_normal_sample_has_raw_kurtosis_three() -> None:
    r = np.random.default_rng(7).standard_normal(400_000)
    _, std, skew, kurt = moments(r)
    assert std == pytest.approx(1.0, abs=0.01)
    assert skew == pytest.approx(0.0, abs=0.02)
    assert kurt == pytest.approx(3.0, abs=0.03)


def test_sharpe_constant_returns_is_nan_and_guards() -> None:
    assert math.isnan(sharpe([0.1, 0.1, 0.1]))
    assert math.isnan(moments([2.0, 2.0])[2])
    assert moments([0.1, 0.1, 0.1])[:2] == (0.1, 0.0)
    with pytest.raises(GovernanceError, match="expected at least 2 observations, was 1"):
        sharpe([0.1])
    with pytest.raises(GovernanceError, match="expected finite values only"):
        moments([0.1, math.nan, 0.2])
    with pytest.raises(GovernanceError, match="expected a 1-d array"):
        sharpe(np.zeros((3, 2)))


# ------------------------------------------------------------------------------------------------------------
# PSR / DSR / MinTRL: published examples
# ------------------------------------------------------------------------------------------------------------


def test_psr_paper_hedge_fund_example() -> None:
    # Bailey & López de Prado (2012): annualised SR 1.585 from 24 monthly returns, skew -2.448, kurtosis 10.164.
    sr = 1.585 / math.sqrt(12)
    p = psr(sr, 24, -2.448, 10.164, sr_benchmark=0.0)
    assert p == pytest.approx(0.913, abs=5e-4)
    assert round(p, 3) == 0.913


def test_dsr_paper_example() -> None:
    # Bailey & López de Prado (2014): annual SR 2.5, T = 1250 daily obs, N = 100 trials, V[SR] = 0.5 annualised,
    # skew -3, kurtosis 10; 250 days a year.
    sr = 2.5 / math.sqrt(250)
    var = 0.5 / 250
    sr0 = expected_max_sharpe(100, var)
    assert round(sr0, 4) == 0.1132
    d = dsr(sr, 1250, 100, var, -3.0, 10.0)
    assert round(d, 4) == 0.9004
    assert d == psr(sr, 1250, -3.0, 10.0, sr_benchmark=sr0)


def test_expected_max_sharpe_closed_form_and_edge_cases() -> None:
    g = 0.5772156649015329
    n, v = 37, 0.013
    want = math.sqrt(v) * ((1 - g) * NormalDist().inv_cdf(1 - 1 / n) + g * NormalDist().inv_cdf(1 - 1 / (n * math.e)))
    assert expected_max_sharpe(n, v) == pytest.approx(want, rel=1e-15)
    assert expected_max_sharpe(1, 0.3) == 0.0  # no selection, no deflation
    assert expected_max_sharpe(50, 0.0) == 0.0
    assert expected_max_sharpe(2, 1.0) > 0.0
    # more trials, higher bar
    assert expected_max_sharpe(1000, 0.01) > expected_max_sharpe(100, 0.01) > expected_max_sharpe(10, 0.01)
    with pytest.raises(GovernanceError, match="expected an integer >= 1, was 0"):
        expected_max_sharpe(0, 0.1)
    with pytest.raises(GovernanceError, match="expected a variance >= 0"):
        expected_max_sharpe(10, -0.1)


def test_psr_closed_form_and_normal_case() -> None:
    sr, n, sk, ku, b = 0.12, 500, -0.7, 5.5, 0.03
    z = (sr - b) * math.sqrt(n - 1) / math.sqrt(1 - sk * sr + (ku - 1) / 4 * sr**2)
    assert psr(sr, n, sk, ku, b) == pytest.approx(0.5 * math.erfc(-z / math.sqrt(2)), rel=1e-15)
    # normal returns: standard error sqrt((1 + SR²/2)/(n-1)) (Lo 2002 / Mertens 2002)
    assert sharpe_std_error(0.2, 101, 0.0, 3.0) == pytest.approx(math.sqrt((1 + 0.02) / 100), rel=1e-15)
    assert psr(0.0, 10, 0.0, 3.0) == 0.5
    assert psr(0.1, 100, 0.0, 3.0, sr_benchmark=0.1) == 0.5


def test_min_track_record_length_closed_form_and_consistency() -> None:
    sr, b, sk, ku = 1.585 / math.sqrt(12), 1.0 / math.sqrt(12), -2.448, 10.164
    z = NormalDist().inv_cdf(0.95)
    want = 1 + (1 - sk * sr + (ku - 1) / 4 * sr**2) * (z / (sr - b)) ** 2
    got = min_track_record_length(sr, b, sk, ku, confidence=0.95)
    assert got == pytest.approx(want, rel=1e-15)
    assert got == pytest.approx(247.63, abs=0.01)  # months, for the PSR paper's fund against SR* = 1 annualised
    # The hedge fund's 24 months suffice against SR* = 0 at 90% but not at 95% (PSR = 0.913).
    assert min_track_record_length(sr, 0.0, sk, ku, 0.90) <= 24 < min_track_record_length(sr, 0.0, sk, ku, 0.95)


@pytest.mark.parametrize(
    ("sr", "bench", "skew", "kurt", "conf"),
    [
        (0.4575, 0.0, -2.448, 10.164, 0.95),
        (0.1581, 0.05, -3.0, 10.0, 0.95),
        (0.05, 0.0, 0.0, 3.0, 0.99),
        (0.3, 0.1, 0.5, 4.0, 0.9),
        (0.02, -0.01, -1.0, 6.0, 0.975),
    ],
)
def test_min_track_record_length_is_the_psr_threshold(sr, bench, skew, kurt, conf) -> None:
    n_star = min_track_record_length(sr, bench, skew, kurt, conf)
    n_ceil = math.ceil(n_star)
    assert psr(sr, n_ceil, skew, kurt, bench) >= conf
    if n_ceil - 1 >= 2:
        assert psr(sr, n_ceil - 1, skew, kurt, bench) < conf


def test_min_track_record_length_unreachable_is_inf() -> None:
    assert min_track_record_length(0.1, 0.1, 0.0, 3.0) == math.inf
    assert min_track_record_length(-0.1, 0.0, 0.0, 3.0) == math.inf
    with pytest.raises(GovernanceError, match=r"expected a probability strictly between 0 and 1, was 1\.0"):
        min_track_record_length(0.2, 0.0, 0.0, 3.0, confidence=1.0)


def test_psr_guards() -> None:
    with pytest.raises(GovernanceError, match="n_obs: expected an integer >= 2, was 1"):
        psr(0.1, 1, 0.0, 3.0)
    with pytest.raises(GovernanceError, match="n_obs: expected an integer >= 2"):
        psr(0.1, 10.5, 0.0, 3.0)
    with pytest.raises(GovernanceError, match=r"expected raw kurtosis >= 1 \+ skew\*\*2"):
        psr(0.1, 100, 0.0, 0.0)  # an excess kurtosis of a normal, passed by mistake
    with pytest.raises(GovernanceError, match=r"expected 1 - skew\*sr \+ \(kurtosis-1\)/4\*sr\*\*2 > 0, was 0.0"):
        psr(1.0, 100, 2.0, 5.0)  # on the Pearson bound with skew·sr = 2: the variance term vanishes
    with pytest.raises(GovernanceError, match="sr: expected a finite number"):
        psr(math.inf, 100, 0.0, 3.0)
    with pytest.raises(GovernanceError, match="n_obs: expected an integer >= 2, was 1"):
        dsr(0.1, 1, 10, 0.1, 0.0, 3.0)
    with pytest.raises(GovernanceError) as info:
        psr(0.1, 100, 0.0, 2.0 - 1.5)
    assert info.value.fields["key"] == "kurtosis"
    assert "excess" in (info.value.hint or "")


def test_psr_from_sample_returns() -> None:
    r = np.random.default_rng(3).standard_t(df=5, size=2_000) * 0.01 + 0.001
    mean, std, sk, ku = moments(r)
    sr = sharpe(r)
    assert sr == pytest.approx(mean / std, rel=1e-14)
    p = psr(sr, r.shape[0], sk, ku)
    assert 0.0 < p < 1.0


# ------------------------------------------------------------------------------------------------------------
# PSR / DSR properties
# ------------------------------------------------------------------------------------------------------------

_skew = st.floats(-3.0, 3.0)
_extra_kurt = st.floats(0.0, 30.0)  # kurtosis = 1 + skew² + extra >= Pearson's bound


@settings(max_examples=200, deadline=None)
@given(sr=st.floats(-1.0, 1.0), n=st.integers(2, 100_000), skew=_skew, extra=_extra_kurt,
       bench=st.floats(-0.5, 0.5))
def test_psr_is_a_probability(sr, n, skew, extra, bench) -> None:
    kurt = 1.0 + skew * skew + extra
    assume(1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr > 1e-9)
    p = psr(sr, n, skew, kurt, bench)
    assert 0.0 <= p <= 1.0


@settings(max_examples=200, deadline=None)
@given(sr=st.floats(-0.5, 0.5), d=st.floats(1e-4, 0.3), n=st.integers(2, 10_000), skew=_skew,
       extra=_extra_kurt)
def test_psr_increases_with_sr(sr, d, n, skew, extra) -> None:
    # Monotone for SR* = 0 when skew·SR < 2 (see psr's docstring); |skew·SR| <= 2.4 here, so bound sr·skew.
    kurt = 1.0 + skew * skew + extra
    assume(skew * (sr + d) < 1.9 and skew * sr < 1.9)
    assert psr(sr + d, n, skew, kurt) >= psr(sr, n, skew, kurt)


@settings(max_examples=200, deadline=None)
@given(sr=st.floats(-0.5, 0.5), n=st.integers(2, 10_000), n_trials=st.integers(2, 10_000),
       var=st.floats(1e-8, 1.0), skew=_skew, extra=_extra_kurt)
def test_dsr_never_exceeds_psr(sr, n, n_trials, var, skew, extra) -> None:
    kurt = 1.0 + skew * skew + extra
    assume(1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr > 1e-9)
    assert expected_max_sharpe(n_trials, var) > 0.0
    assert dsr(sr, n, n_trials, var, skew, kurt) <= psr(sr, n, skew, kurt, 0.0)


# ------------------------------------------------------------------------------------------------------------
# PBO
# ------------------------------------------------------------------------------------------------------------


def _pbo_reference(m: np.ndarray, n_blocks: int, metric: str) -> np.ndarray:
    """Straightforward CSCV: loops, np.std, average OOS ranks (independent of the vectorised version)."""
    blocks = np.array_split(np.arange(m.shape[0]), n_blocks)
    n = m.shape[1]
    out = []
    for combo in itertools.combinations(range(n_blocks), n_blocks // 2):
        is_rows = np.concatenate([blocks[i] for i in combo])
        oos_rows = np.concatenate([blocks[i] for i in range(n_blocks) if i not in combo])

        def score(rows: np.ndarray) -> np.ndarray:
            sub = m[rows]
            return sub.mean(axis=0) if metric == "mean" else sub.mean(axis=0) / sub.std(axis=0)

        best = int(np.argmax(score(is_rows)))
        oos = score(oos_rows)
        rank = np.sum(oos < oos[best]) + (np.sum(oos == oos[best]) + 1) / 2
        w = rank / (n + 1)
        out.append(math.log(w / (1 - w)))
    return np.array(out)


def test_pbo_hand_computed_four_blocks_three_trials() -> None:
    # One row per block. Splits in combinations order (IS blocks):
    # (0,1): IS sums [4,3,5] → trial 2; OOS [5,5,2] → rank 1            → ω 1/4  → λ ln(1/3)
    # (0,2): IS [5,4,3] → trial 0; OOS [4,4,4] all tied → rank 2         → ω 1/2  → λ 0
    # (0,3): IS [6,3,3] → trial 0; OOS [3,5,4] → rank 1                  → λ ln(1/3)
    # (1,2): IS [3,5,4] → trial 1; OOS [6,3,3] tied with trial 2 → 1.5   → ω 3/8  → λ ln(3/5)
    # (1,3): IS [4,4,4] tie → lowest index, trial 0; OOS [5,4,3] → rank 3 → ω 3/4  → λ ln 3
    # (2,3): IS [5,5,2] tie → trial 0; OOS [4,3,5] → rank 2              → λ 0
    m = np.array([[3, 1, 2], [1, 2, 3], [2, 3, 1], [3, 2, 1]], dtype=float)
    res = pbo(m, 4, metric="mean")
    want = [math.log(1 / 3), 0.0, math.log(1 / 3), math.log(3 / 5), math.log(3), 0.0]
    assert res.n_splits == 6
    np.testing.assert_allclose(res.logits, want, rtol=0, atol=1e-15)
    assert res.probability == 5 / 6  # λ <= 0 counts as overfit (ties at the median included)


def test_pbo_matches_bruteforce_reference_sharpe_and_mean() -> None:
    rng = np.random.default_rng(11)
    m = rng.standard_normal((53, 7)) * 0.01 + rng.normal(0, 0.002, size=7)  # 53 rows: uneven blocks
    for metric in ("sharpe", "mean"):
        res = pbo(m, 6, metric=metric)
        ref = _pbo_reference(m, 6, metric)
        assert res.n_splits == math.comb(6, 3) == ref.shape[0]
        np.testing.assert_allclose(res.logits, ref, rtol=0, atol=1e-12)
        assert res.probability == np.mean(ref <= 0)


def test_pbo_dominant_trial_gives_zero() -> None:
    rng = np.random.default_rng(5)
    m = rng.standard_normal((800, 20))
    m[:, 13] = 1.0 + 0.1 * rng.standard_normal(800)  # Sharpe ≈ 10 per period vs ≈ 0: best in every subset
    res = pbo(m, 16)
    assert res.probability == 0.0
    np.testing.assert_allclose(res.logits, math.log(20.0), rtol=1e-15)  # OOS rank N: ω = N/(N+1)


def test_pbo_pure_noise_is_near_one_half() -> None:
    # Exchangeable trials: the IS winner's OOS rank is uniform on 1..N, so E[PBO] = 1/2 for even N. Single
    # matrices scatter widely (splits share data), so average over many seeded matrices.
    rng = np.random.default_rng(20261122)
    probs = [pbo(rng.standard_normal((240, 40)), 8).probability for _ in range(200)]
    assert abs(np.mean(probs) - 0.5) < 0.05
    big = pbo(np.random.default_rng(1).standard_normal((1600, 100)), 16)
    assert big.n_splits == 12_870
    assert 0.2 < big.probability < 0.8


def test_pbo_is_deterministic_and_read_only() -> None:
    m = np.random.default_rng(2).standard_normal((100, 9))
    a, b = pbo(m, 10), pbo(m.copy(), 10)
    assert a.probability == b.probability
    assert a.logits.tobytes() == b.logits.tobytes()
    with pytest.raises(ValueError):
        a.logits[0] = 1.0


def test_pbo_flat_trials_rank_by_sign() -> None:
    m = np.zeros((8, 3))
    m[:, 1] = 0.1  # riskless gain (constant up to rounding of its mean): +inf Sharpe in every subset
    m[:, 2] = -0.1
    res = pbo(m, 4)
    assert res.probability == 0.0
    np.testing.assert_allclose(res.logits, math.log(3.0))
    # two riskless gains tie at +inf: the first column wins IS, OOS rank (2 + 3) / 2 = 2.5 of 3
    m[:, 2] = 0.3
    res = pbo(m, 4)
    np.testing.assert_allclose(res.logits, math.log(2.5 / 1.5))


@pytest.mark.parametrize(
    ("n_blocks", "message"),
    [
        (3, "n_blocks: expected an even integer >= 2, was 3"),
        (0, "n_blocks: expected an even integer >= 2, was 0"),
        (12, r"n_blocks: expected at most the number of rows \(10\), was 12"),
        (2.0, "n_blocks: expected an even integer >= 2, was 2.0"),
    ],
)
def test_pbo_rejects_bad_blocks(n_blocks, message) -> None:
    with pytest.raises(GovernanceError, match=message):
        pbo(np.ones((10, 3)), n_blocks)


def test_pbo_rejects_bad_matrices_and_metric() -> None:
    with pytest.raises(GovernanceError, match="expected at least 2 trials"):
        pbo(np.ones((10, 1)), 2)
    with pytest.raises(GovernanceError, match="expected a 2-d"):
        pbo(np.ones(10), 2)
    bad = np.ones((10, 3))
    bad[4, 1] = math.nan
    with pytest.raises(GovernanceError, match="expected finite values only, was 1 non-finite"):
        pbo(bad, 2)
    with pytest.raises(GovernanceError, match=r"metric: expected one of \['sharpe', 'mean'\], was 'sortino'"):
        pbo(np.ones((10, 3)), 2, metric="sortino")


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(4, 40), trials=st.integers(2, 8),
       half=st.integers(1, 3), metric=st.sampled_from(["sharpe", "mean"]), ties=st.booleans())
def test_pbo_probability_in_unit_interval(seed, rows, trials, half, metric, ties) -> None:
    n_blocks = 2 * half
    assume(n_blocks <= rows)
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((rows, trials))
    if ties:
        m = np.round(m)  # many exact ties and some flat subsets
    res = pbo(m, n_blocks, metric=metric)
    assert 0.0 <= res.probability <= 1.0
    assert res.logits.shape == (math.comb(n_blocks, half),)
    assert np.isfinite(res.logits).all()
    assert res.probability == np.mean(res.logits <= 0)


# ------------------------------------------------------------------------------------------------------------
# IC
# ------------------------------------------------------------------------------------------------------------


def _avg_rank_loop(x: np.ndarray) -> np.ndarray:
    return np.array([np.sum(x < v) + (np.sum(x == v) + 1) / 2 for v in x])


def test_pearson_and_spearman_known_values() -> None:
    assert pearson_ic([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5, abs=1e-15)
    assert spearman_ic([1, 2, 3, 4, 5], [2, 4, 6, 8, 10]) == pytest.approx(1.0)
    assert spearman_ic([1, 2, 3, 4, 5], [10, 8, 6, 4, 2]) == pytest.approx(-1.0)
    x = np.linspace(0.1, 3.0, 30)
    assert spearman_ic(x, x**5) == pytest.approx(1.0)
    assert pearson_ic(x, x**5) < 0.95
    # ties: ranks x = [1, 2.5, 2.5, 4] vs [1, 2, 3, 4] → 4.5 / sqrt(4.5 · 5) = 3/√10
    assert spearman_ic([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(3 / math.sqrt(10), rel=1e-14)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 60), ties=st.booleans())
def test_spearman_is_pearson_on_average_ranks(seed, n, ties) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = x + rng.standard_normal(n)
    if ties:
        x, y = np.round(x), np.round(y * 2)
    got = spearman_ic(x, y)
    want = pearson_ic(_avg_rank_loop(x), _avg_rank_loop(y))
    if math.isnan(want):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(want, abs=1e-12)
        assert -1.0 <= got <= 1.0
        # invariant under strictly increasing transforms of either side
        assert spearman_ic(np.exp(x), y**3) == pytest.approx(got, abs=1e-12)


def test_ic_nan_handling() -> None:
    x = np.array([1.0, 2.0, math.nan, 3.0, 4.0, 5.0, 6.0])
    y = np.array([1.0, 3.0, 9.0, 2.0, math.inf, 5.0, math.nan])
    keep = [0, 1, 3, 5]
    assert spearman_ic(x, y) == pytest.approx(spearman_ic(x[keep], y[keep]), abs=1e-15)
    assert pearson_ic(x, y) == pytest.approx(pearson_ic(x[keep], y[keep]), abs=1e-15)
    assert math.isnan(spearman_ic([1.0, 2.0, math.nan], [1.0, 2.0, 3.0]))  # 2 pairs left
    assert math.isnan(pearson_ic([1.0, 2.0], [1.0, 2.0]))
    assert math.isnan(pearson_ic([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0]))  # zero variance
    assert math.isnan(spearman_ic([1.0, 2.0, 3.0], [7.0, 7.0, 7.0]))
    with pytest.raises(GovernanceError, match=r"fwd_return: expected the same length as signal \(3\), was 2"):
        pearson_ic([1.0, 2.0, 3.0], [1.0, 2.0])


def test_bucket_ic_matches_per_bucket_loop() -> None:
    rng = np.random.default_rng(4)
    n = 500
    b = rng.integers(0, 7, size=n) * 10
    x = np.round(rng.standard_normal(n), 1)
    y = 0.3 * x + rng.standard_normal(n)
    x[rng.random(n) < 0.05] = math.nan
    b[:2] = 99  # a bucket with too few pairs
    x[:2] = [0.5, -0.5]
    for method, fn in (("spearman", spearman_ic), ("pearson", pearson_ic)):
        labels, ics = bucket_ic(x, y, b, method=method)
        np.testing.assert_array_equal(labels, np.unique(b))
        want = np.array([fn(x[b == lab], y[b == lab]) for lab in labels])
        np.testing.assert_allclose(ics, want, rtol=0, atol=1e-12)
    labels, ics = bucket_ic(x, y, b)
    assert labels[-1] == 99 and math.isnan(ics[-1])
    assert np.isfinite(ics[:-1]).all()


def test_ic_summary_known_values() -> None:
    s = ic_summary([0.1, 0.2, -0.1, 0.2, math.nan])
    assert s["n"] == 4
    assert s["mean"] == pytest.approx(0.1)
    assert s["std"] == pytest.approx(math.sqrt(0.02))  # ddof = 1
    assert s["ic_ir"] == pytest.approx(0.1 / math.sqrt(0.02))
    assert s["t_stat"] == pytest.approx(0.1 / (math.sqrt(0.02) / 2))
    assert s["hit_rate"] == 0.75
    one = ic_summary([0.3])
    assert one["n"] == 1 and one["mean"] == 0.3 and math.isnan(one["std"]) and math.isnan(one["t_stat"])
    empty = ic_summary([math.nan])
    assert empty["n"] == 0 and math.isnan(empty["mean"])


def test_quantile_returns_hand_computed_mean_over_buckets() -> None:
    # Bucket A (6 rows, Q = 3): signals 1..6 → quantiles (0,0,1,1,2,2); returns 1..6 → means 1.5, 3.5, 5.5.
    # Bucket B (3 rows): signals 3,1,2 → quantiles 2,0,1 with returns 30,10,20 → 10, 20, 30.
    # Mean over buckets: (5.75, 11.75, 17.75) — not the pooled mean (which weights bucket A double).
    sig = [1, 2, 3, 4, 5, 6, 3, 1, 2]
    ret = [1, 2, 3, 4, 5, 6, 30, 10, 20]
    bkt = ["A"] * 6 + ["B"] * 3
    np.testing.assert_allclose(quantile_returns(sig, ret, bkt, 3), [5.75, 11.75, 17.75], rtol=1e-15)


def test_quantile_returns_ties_share_a_quantile_and_nan_rows_dropped() -> None:
    # Average ranks 1.5, 1.5, 3, 4 with Q = 2, n = 4: floor((r-1)·2/4) → 0, 0, 1, 1.
    np.testing.assert_allclose(quantile_returns([5, 5, 6, 7], [1, 3, 5, 7], None, 2), [2.0, 6.0])
    # All tied: every row in the quantile of the average rank (2.5 → floor(1.5·2/4) = 0); quantile 2 empty.
    out = quantile_returns([1, 1, 1, 1], [1, 2, 3, 4], None, 2)
    assert out[0] == 2.5 and math.isnan(out[1])
    out = quantile_returns([1, math.nan, 2, 3, 4], [1, 100, 2, 3, 4], None, 2)
    np.testing.assert_allclose(out, [1.5, 3.5])
    assert np.isnan(quantile_returns([math.nan], [1.0], None, 3)).all()


def test_quantile_returns_matches_loop_reference() -> None:
    rng = np.random.default_rng(9)
    n, q = 1000, 5
    b = rng.integers(0, 6, size=n)
    x = np.round(rng.standard_normal(n), 1)
    y = 0.1 * x + rng.standard_normal(n)
    per_bucket = []
    for lab in np.unique(b):
        xs, ys = x[b == lab], y[b == lab]
        r = _avg_rank_loop(xs)
        lbl = np.floor((r - 1) * q / xs.shape[0]).astype(int)
        per_bucket.append([ys[lbl == k].mean() if np.any(lbl == k) else np.nan for k in range(q)])
    np.testing.assert_allclose(quantile_returns(x, y, b, q), np.nanmean(per_bucket, axis=0), rtol=1e-12)


def test_signal_autocorrelation() -> None:
    assert signal_autocorrelation([1.0, -1.0] * 10, 1, method="pearson") == pytest.approx(-1.0)
    assert signal_autocorrelation([1.0, -1.0] * 10, 2) == pytest.approx(1.0)
    rng = np.random.default_rng(8)
    e = rng.standard_normal(20_000)
    x = np.empty_like(e)
    x[0] = e[0]
    for t in range(1, e.shape[0]):
        x[t] = 0.9 * x[t - 1] + e[t]
    assert signal_autocorrelation(x, 1, method="pearson") == pytest.approx(0.9, abs=0.01)
    assert signal_autocorrelation(x, 2, method="pearson") == pytest.approx(0.81, abs=0.02)
    with pytest.raises(GovernanceError, match="lag: expected an integer >= 1, was 0"):
        signal_autocorrelation(x, 0)
    with pytest.raises(GovernanceError, match=r"lag: expected less than the signal length \(3\), was 3"):
        signal_autocorrelation([1.0, 2.0, 3.0], 3)


def test_turnover_of_sign_position() -> None:
    # positions 1, 1, -1, -1, 0, 1 → |Δ| = 0, 2, 0, 1, 1 → 0.8
    assert turnover([0.5, 2.0, -1.0, -3.0, 0.0, 4.0]) == pytest.approx(0.8)
    assert turnover([0.5, 2.0, math.nan, -3.0]) == pytest.approx(0.0)  # only the pair (0.5, 2.0) is valid
    assert turnover([1.0, -1.0, 1.0, -1.0]) == 2.0
    assert turnover([1.0, -1.0, 1.0, -1.0], lag=2) == 0.0
    assert math.isnan(turnover([math.nan, 1.0, math.nan]))


def test_quantile_turnover_hand_computed() -> None:
    # 8 values, Q = 2: ranks → labels (1 = bottom half, 2 = top half).
    sig = [1.0, 8.0, 7.0, 2.0, 6.0, 5.0, 3.0, 4.0]
    # labels: 1,2,2,1,2,2,1,1. Pairs starting in top (2): t-1 ∈ {1,2,4,5} → next labels 2,1,2,1 → 2 of 4 leave.
    assert quantile_turnover(sig, n_quantiles=2) == 0.5
    # bottom: t-1 ∈ {0,3,6} → next 2,2,1 → 2 of 3 leave.
    assert quantile_turnover(sig, n_quantiles=2, quantile=1) == pytest.approx(2 / 3)
    # buckets: labels re-ranked within each half; pairs across the boundary ignored.
    got = quantile_turnover(sig, n_quantiles=2, buckets=[0, 0, 0, 0, 1, 1, 1, 1])
    # bucket 0 [1,8,7,2] → 1,2,2,1; bucket 1 [6,5,3,4] → 2,2,1,1; top starts: t-1 ∈ {1,2,4,5} → 2,1,2,1
    assert got == 0.5
    with pytest.raises(GovernanceError, match=r"quantile: expected 1..2, was 3"):
        quantile_turnover(sig, n_quantiles=2, quantile=3)


def test_public_api_is_documented() -> None:
    for name in stats.__all__:
        obj = getattr(stats, name)
        if callable(obj):
            assert obj.__doc__ and len(obj.__doc__) > 40, name
    doc = stats.__doc__ or ""
    assert "per period" in doc and "population" in doc and "normal distribution has kurtosis 3" in doc
