"""Statistics for alpha validation: Sharpe inference (PSR, DSR, MinTRL), PBO by CSCV, IC and quantile helpers.

Conventions (they hold for every function in this module):

* **Sharpe ratios are per period**, never annualised: ``mean / std`` of the returns as sampled (per bar, per
  day, ...). To use annual figures, convert first (``sr_period = sr_annual / sqrt(periods_per_year)``,
  ``var_period = var_annual / periods_per_year``).
* **Moments estimated from returns use the biased (population) estimators**: ``std`` with ``ddof=0``,
  ``skew = m3 / m2**1.5``, ``kurtosis = m4 / m2**2`` with ``m_k`` the k-th central sample moment
  (divided by ``n``, not ``n - 1``), as in Bailey & López de Prado.
* **Kurtosis is raw (Pearson) kurtosis: a normal distribution has kurtosis 3**, not excess kurtosis 0. Every
  distribution satisfies ``kurtosis >= 1 + skew**2``; inputs that break this bound are rejected (passing an
  excess kurtosis is the usual cause).
* ``n_obs`` is the number of return observations the Sharpe ratio was estimated from.
* The standard normal CDF is ``Φ(x) = erfc(-x / √2) / 2`` (``math.erfc``, accurate in both tails). Its inverse
  is the standard library's ``statistics.NormalDist().inv_cdf`` (Wichura's AS241 algorithm, about 1e-16
  relative accuracy; the tests check it against published quantiles and against ``Φ`` to better than 1e-12).
* Deliberate errors are `hft.core.errors.GovernanceError` with messages reading "expected X, was Y".

References:
    Bailey, López de Prado (2012), "The Sharpe Ratio Efficient Frontier", Journal of Risk 15(2)  — PSR, MinTRL.
    Bailey, López de Prado (2014), "The Deflated Sharpe Ratio", Journal of Portfolio Management 40(5) — DSR.
    Bailey, Borwein, López de Prado, Zhu (2017), "The Probability of Backtest Overfitting",
    Journal of Computational Finance 20(4) — PBO by combinatorially symmetric cross-validation (CSCV).
    alphalens (Quantopian) — IC, quantile returns, factor rank autocorrelation and turnover conventions.
"""

from __future__ import annotations

import itertools
import math
import numbers
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from hft.core.errors import GovernanceError

__all__ = [
    "EULER_GAMMA",
    "PBOResult",
    "bucket_ic",
    "dsr",
    "expected_max_sharpe",
    "ic_summary",
    "min_track_record_length",
    "moments",
    "norm_cdf",
    "norm_ppf",
    "pbo",
    "pearson_ic",
    "psr",
    "quantile_returns",
    "quantile_turnover",
    "sharpe",
    "sharpe_std_error",
    "signal_autocorrelation",
    "spearman_ic",
    "turnover",
]

EULER_GAMMA = 0.57721566490153286060651209008240243  # Euler–Mascheroni constant γ
_STD_NORMAL = NormalDist()
_SQRT2 = math.sqrt(2.0)
_PBO_METRICS = ("sharpe", "mean")
_FLAT_REL = 1e-12  # std below this fraction of |mean|: a constant subset, up to rounding
_PBO_CHUNK_CELLS = 1 << 22  # splits x trials processed at once (bounds memory to ~ a few x 32 MiB)


# --------------------------------------------------------------------------------------------------------------
# input guards
# --------------------------------------------------------------------------------------------------------------


def _finite_float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise GovernanceError(f"{name}: expected a real number, was {value!r}", key=name)
    out = float(value)
    if not math.isfinite(out):
        raise GovernanceError(f"{name}: expected a finite number, was {value!r}", key=name)
    return out


def _int_at_least(value: Any, minimum: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise GovernanceError(f"{name}: expected an integer >= {minimum}, was {value!r}", key=name)
    out = int(value)
    if out < minimum:
        raise GovernanceError(f"{name}: expected an integer >= {minimum}, was {out}", key=name)
    return out


def _as_1d(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise GovernanceError(f"{name}: expected a 1-d array, was an array of shape {arr.shape}", key=name)
    return arr


def _same_length(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise GovernanceError(
            f"{name_b}: expected the same length as {name_a} ({a.shape[0]}), was {b.shape[0]}", key=name_b
        )


def _returns(values: Any) -> np.ndarray:
    r = _as_1d(values, "returns")
    if r.shape[0] < 2:
        raise GovernanceError(f"returns: expected at least 2 observations, was {r.shape[0]}", key="returns")
    if not np.isfinite(r).all():
        bad = int(np.count_nonzero(~np.isfinite(r)))
        raise GovernanceError(
            f"returns: expected finite values only, was {bad} non-finite of {r.shape[0]}", key="returns"
        )
    return r


def _sr_variance_term(sr: float, skew: float, kurtosis: float) -> float:
    """``1 - γ3·SR + (γ4 - 1)/4·SR²``: n_obs·Var[SR̂] under the non-normal asymptotics (Mertens 2002)."""
    bound = 1.0 + skew * skew
    if kurtosis < bound - 1e-9 * bound:
        raise GovernanceError(
            f"kurtosis: expected raw kurtosis >= 1 + skew**2 = {bound:.6g} (normal = 3, not excess), "
            f"was {kurtosis!r}",
            key="kurtosis",
            hint="pass raw (Pearson) kurtosis: excess kurtosis + 3",
        )
    term = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    if not term > 0.0:
        raise GovernanceError(
            f"kurtosis: expected 1 - skew*sr + (kurtosis-1)/4*sr**2 > 0, was {term!r} "
            f"(sr={sr!r}, skew={skew!r}, kurtosis={kurtosis!r})",
            key="kurtosis",
        )
    return term


# --------------------------------------------------------------------------------------------------------------
# normal distribution
# --------------------------------------------------------------------------------------------------------------


def norm_cdf(x: float) -> float:
    """Standard normal CDF ``Φ(x) = erfc(-x/√2)/2`` (full relative accuracy in the lower tail too)."""
    return 0.5 * math.erfc(-float(x) / _SQRT2)


def norm_ppf(p: float) -> float:
    """Standard normal quantile ``Φ⁻¹(p)`` for ``0 < p < 1``.

    Uses ``statistics.NormalDist().inv_cdf`` (Wichura 1988, AS241 PPND16: about 1e-16 relative accuracy over
    the whole open interval), so no hand-rolled approximation is needed.

    Raises:
        GovernanceError: when ``p`` is not strictly between 0 and 1.
    """
    q = _finite_float(p, "p")
    if not 0.0 < q < 1.0:
        raise GovernanceError(f"p: expected a probability strictly between 0 and 1, was {p!r}", key="p")
    return _STD_NORMAL.inv_cdf(q)


# --------------------------------------------------------------------------------------------------------------
# Sharpe ratio inference
# --------------------------------------------------------------------------------------------------------------


def sharpe(returns: Any) -> float:
    """Per-period Sharpe ratio ``mean(r) / std(r, ddof=0)`` (not annualised; no risk-free rate subtracted).

    Returns NaN when all returns are equal (standard deviation 0: the ratio is undefined).

    Raises:
        GovernanceError: fewer than 2 observations, a non-1-d input, or non-finite values.
    """
    r = _returns(returns)
    if r.max() == r.min():
        return math.nan
    mean = float(r.mean())
    std = float(np.sqrt(np.mean((r - mean) ** 2)))
    return mean / std


def moments(returns: Any) -> tuple[float, float, float, float]:
    """``(mean, std, skew, kurtosis)`` of the returns with the biased (population) estimators.

    ``std = sqrt(m2)``, ``skew = m3 / m2**1.5``, ``kurtosis = m4 / m2**2`` (raw: a normal sample gives about 3),
    where ``m_k = mean((r - mean(r))**k)``. Skew and kurtosis are NaN for constant returns.

    Raises:
        GovernanceError: fewer than 2 observations, a non-1-d input, or non-finite values.
    """
    r = _returns(returns)
    if r.max() == r.min():
        return float(r[0]), 0.0, math.nan, math.nan
    mean = float(r.mean())
    d = r - mean
    d2 = d * d
    m2 = float(d2.mean())
    m3 = float((d2 * d).mean())
    m4 = float((d2 * d2).mean())
    return mean, math.sqrt(m2), m3 / m2**1.5, m4 / (m2 * m2)


def sharpe_std_error(sr: float, n_obs: int, skew: float, kurtosis: float) -> float:
    """Standard error of an estimated per-period Sharpe ratio under non-normal IID returns.

    ``sqrt((1 - γ3·SR + (γ4 - 1)/4·SR²) / (n_obs - 1))`` — the denominator of PSR (Bailey & López de Prado
    2012, eq. 11; kurtosis raw).
    """
    sr_f = _finite_float(sr, "sr")
    n = _int_at_least(n_obs, 2, "n_obs")
    term = _sr_variance_term(sr_f, _finite_float(skew, "skew"), _finite_float(kurtosis, "kurtosis"))
    return math.sqrt(term / (n - 1))


def psr(sr: float, n_obs: int, skew: float, kurtosis: float, sr_benchmark: float = 0.0) -> float:
    """Probabilistic Sharpe Ratio (Bailey & López de Prado 2012): ``P[true SR > sr_benchmark]``.

    ``PSR = Φ( (SR - SR*) · sqrt(n_obs - 1) / sqrt(1 - γ3·SR + (γ4 - 1)/4·SR²) )``

    Args:
        sr: observed per-period Sharpe ratio.
        n_obs: number of return observations behind ``sr`` (>= 2).
        skew: skewness γ3 of the returns (population estimator).
        kurtosis: raw kurtosis γ4 of the returns (normal = 3).
        sr_benchmark: SR*, per period, same frequency as ``sr``.

    PSR is strictly decreasing in ``sr_benchmark``. It is increasing in ``sr`` wherever
    ``2 - γ3·(SR + SR*) + SR*·SR·(γ4 - 1)/2 > 0`` (for SR* = 0: ``γ3·SR < 2``), which covers every realistic
    per-period Sharpe ratio; beyond that the variance term grows faster than the numerator.

    Raises:
        GovernanceError: ``n_obs < 2``, non-finite inputs, ``kurtosis < 1 + skew²`` (e.g. an excess kurtosis), or
            a non-positive variance term.
    """
    sr_f = _finite_float(sr, "sr")
    bench = _finite_float(sr_benchmark, "sr_benchmark")
    se = sharpe_std_error(sr_f, n_obs, skew, kurtosis)
    return norm_cdf((sr_f - bench) / se)


def expected_max_sharpe(n_trials: int, var_trials: float) -> float:
    """Expected maximum Sharpe ratio of ``n_trials`` unskilled trials: the DSR benchmark SR0.

    ``SR0 = sqrt(V) · ((1 - γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e)))`` with γ the Euler–Mascheroni constant and V
    the variance of the trials' (per-period) Sharpe ratios (Bailey & López de Prado 2014, eq. 2).

    One trial involves no selection: ``SR0 = 0`` for ``n_trials == 1`` (the formula's ``Φ⁻¹(0)`` is -∞).

    Raises:
        GovernanceError: ``n_trials < 1`` or a negative / non-finite ``var_trials``.
    """
    n = _int_at_least(n_trials, 1, "n_trials")
    v = _finite_float(var_trials, "var_trials")
    if v < 0.0:
        raise GovernanceError(f"var_trials: expected a variance >= 0, was {var_trials!r}", key="var_trials")
    if n == 1 or v == 0.0:
        return 0.0
    z1 = _STD_NORMAL.inv_cdf(1.0 - 1.0 / n)
    z2 = _STD_NORMAL.inv_cdf(1.0 - 1.0 / (n * math.e))
    return math.sqrt(v) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def dsr(sr: float, n_obs: int, n_trials: int, var_trials: float, skew: float, kurtosis: float) -> float:
    """Deflated Sharpe Ratio (Bailey & López de Prado 2014): PSR against the expected maximum of the trials.

    ``DSR = psr(sr, n_obs, skew, kurtosis, sr_benchmark=expected_max_sharpe(n_trials, var_trials))``.
    All Sharpe figures per period; ``var_trials`` is the variance of the trials' per-period Sharpe ratios.
    """
    return psr(sr, n_obs, skew, kurtosis, sr_benchmark=expected_max_sharpe(n_trials, var_trials))


def min_track_record_length(
    sr: float, sr_benchmark: float, skew: float, kurtosis: float, confidence: float = 0.95
) -> float:
    """Minimum Track Record Length, in observations (Bailey & López de Prado 2012, eq. 12).

    ``MinTRL = 1 + (1 - γ3·SR + (γ4 - 1)/4·SR²) · (Φ⁻¹(confidence) / (SR - SR*))²``

    The smallest (real) ``n_obs`` at which ``psr(sr, n_obs, skew, kurtosis, sr_benchmark) == confidence``, so
    ``n_obs >= ceil(MinTRL)`` observations give PSR >= confidence. Returns ``math.inf`` when
    ``sr <= sr_benchmark`` (no track record is long enough).

    Raises:
        GovernanceError: ``confidence`` not in (0, 1), non-finite inputs, or invalid skew/kurtosis.
    """
    sr_f = _finite_float(sr, "sr")
    bench = _finite_float(sr_benchmark, "sr_benchmark")
    conf = _finite_float(confidence, "confidence")
    if not 0.0 < conf < 1.0:
        raise GovernanceError(
            f"confidence: expected a probability strictly between 0 and 1, was {confidence!r}", key="confidence"
        )
    term = _sr_variance_term(sr_f, _finite_float(skew, "skew"), _finite_float(kurtosis, "kurtosis"))
    if sr_f <= bench:
        return math.inf
    z = _STD_NORMAL.inv_cdf(conf)
    return 1.0 + term * (z / (sr_f - bench)) ** 2


# --------------------------------------------------------------------------------------------------------------
# Probability of Backtest Overfitting (CSCV)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PBOResult:
    """Outcome of `pbo`.

    Attributes:
        probability: PBO, the share of splits whose logit is <= 0.
        logits: λ per split, in the order of ``itertools.combinations(range(n_blocks), n_blocks // 2)`` over
            the in-sample block indices (read-only float64 array of length ``n_splits``).
        n_splits: number of splits, ``C(n_blocks, n_blocks / 2)``.
    """

    probability: float
    logits: np.ndarray
    n_splits: int


def _pbo_metric(
    s1: np.ndarray, s2: np.ndarray, count: np.ndarray, shift: np.ndarray, metric: str
) -> np.ndarray:
    """Metric per (split, trial) from sums of centred values ``s1`` and of their squares ``s2`` over ``count``
    rows; ``shift`` (per trial) is what was subtracted before summing."""
    mean_c = s1 / count
    mean = mean_c + shift
    if metric == "mean":
        return mean
    var = s2 / count - mean_c * mean_c
    std = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = mean / std
    # zero dispersion (up to rounding): a sure gain ranks above everything, a sure loss below, flat is 0.
    flat = ~(std > _FLAT_REL * np.abs(mean))
    if flat.any():
        sure = np.where(mean > 0.0, np.inf, np.where(mean < 0.0, -np.inf, 0.0))
        out[flat] = sure[flat]
    return out


def pbo(performance: Any, n_blocks: int, metric: str = "sharpe") -> PBOResult:
    """Probability of Backtest Overfitting by combinatorially symmetric cross-validation (CSCV).

    Bailey, Borwein, López de Prado & Zhu (2014/2017). ``performance`` is a ``(T, N)`` matrix: rows are time
    (per-period returns of each trial), columns are the N trials (N >= 2). Rows are cut into ``n_blocks``
    contiguous blocks (even, >= 2, at most T; sizes as ``numpy.array_split``: they differ by at most one, the
    first ``T % n_blocks`` blocks get the extra row). For each of the ``C(n_blocks, n_blocks/2)`` choices of
    half the blocks as in-sample (IS), the rest out-of-sample (OOS):

    1. compute the metric of every trial on the IS rows and pick the best trial n* (ties: lowest column index);
    2. rank the trials by the metric on the OOS rows, ascending, 1..N; ties get the average rank (so a trial
       tied with k others gets the mid rank of the group);
    3. ω = rank(n*) / (N + 1),  λ = ln(ω / (1 - ω)).

    ``PBO = #{λ <= 0} / n_splits``: a split counts as overfit when the IS winner lands at or below the OOS
    median (λ = 0 exactly, possible with N odd or with ties, counts as overfit).

    Metrics: ``"sharpe"`` — per-period ``mean / std(ddof=0)`` of each trial's returns in that subset; a subset
    with zero dispersion (std <= 1e-12·|mean|: constant up to rounding) scores +inf for a positive mean, -inf
    for a negative one and 0 when all zero. ``"mean"`` — the mean return. Sums are taken per block, after
    centring each trial on its overall mean, then combined per split. Deterministic: no randomness, fixed split
    order, no BLAS reductions.

    Cost: ``C(n_blocks, n_blocks/2) x N`` metric evaluations (12,870 splits for 16 blocks).

    Raises:
        GovernanceError: a non-2-d or non-finite matrix, fewer than 2 trials, ``n_blocks`` odd, < 2 or larger
            than the number of rows, or an unknown metric.
    """
    m = np.asarray(performance, dtype=np.float64)
    if m.ndim != 2:
        raise GovernanceError(
            f"performance: expected a 2-d (time x trials) matrix, was an array of shape {m.shape}",
            key="performance",
        )
    n_rows, n_trials = m.shape
    if n_trials < 2:
        raise GovernanceError(f"performance: expected at least 2 trials (columns), was {n_trials}",
                              key="performance")
    if not np.isfinite(m).all():
        bad = int(np.count_nonzero(~np.isfinite(m)))
        raise GovernanceError(f"performance: expected finite values only, was {bad} non-finite",
                              key="performance")
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, numbers.Integral):
        raise GovernanceError(f"n_blocks: expected an even integer >= 2, was {n_blocks!r}", key="n_blocks")
    s = int(n_blocks)
    if s < 2 or s % 2:
        raise GovernanceError(f"n_blocks: expected an even integer >= 2, was {s}", key="n_blocks")
    if s > n_rows:
        raise GovernanceError(
            f"n_blocks: expected at most the number of rows ({n_rows}), was {s}", key="n_blocks"
        )
    if metric not in _PBO_METRICS:
        raise GovernanceError(f"metric: expected one of {list(_PBO_METRICS)}, was {metric!r}", key="metric")

    # Per-block sums of values centred on each trial's overall mean (keeps the variance formula exact enough).
    shift = m.mean(axis=0)
    c = m - shift
    sizes = np.full(s, n_rows // s, dtype=np.int64)
    sizes[: n_rows % s] += 1
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    block_s1 = np.add.reduceat(c, bounds[:-1], axis=0)  # (S, N)
    block_s2 = np.add.reduceat(c * c, bounds[:-1], axis=0)

    half = s // 2
    is_idx = np.array(list(itertools.combinations(range(s), half)), dtype=np.int64)  # lexicographic
    all_blocks = np.arange(s)
    oos_idx = np.array([np.setdiff1d(all_blocks, row, assume_unique=True) for row in is_idx], dtype=np.int64)
    n_splits = is_idx.shape[0]
    is_n = sizes[is_idx].sum(axis=1)
    oos_n = sizes[oos_idx].sum(axis=1)

    logits = np.empty(n_splits, dtype=np.float64)
    chunk = max(1, _PBO_CHUNK_CELLS // n_trials)
    for lo in range(0, n_splits, chunk):
        hi = min(lo + chunk, n_splits)
        perf_is = _subset_metric(block_s1, block_s2, is_idx[lo:hi], is_n[lo:hi], shift, metric)
        perf_oos = _subset_metric(block_s1, block_s2, oos_idx[lo:hi], oos_n[lo:hi], shift, metric)
        best = np.argmax(perf_is, axis=1)  # first maximum: lowest column index on ties
        chosen = perf_oos[np.arange(hi - lo), best][:, None]
        below = np.count_nonzero(perf_oos < chosen, axis=1)
        equal = np.count_nonzero(perf_oos == chosen, axis=1)  # includes n* itself
        rank = below + (equal + 1) / 2.0
        omega = rank / (n_trials + 1)
        logits[lo:hi] = np.log(omega / (1.0 - omega))
    logits.setflags(write=False)
    probability = float(np.count_nonzero(logits <= 0.0)) / n_splits
    return PBOResult(probability=probability, logits=logits, n_splits=n_splits)


def _subset_metric(
    block_s1: np.ndarray,
    block_s2: np.ndarray,
    idx: np.ndarray,
    counts: np.ndarray,
    shift: np.ndarray,
    metric: str,
) -> np.ndarray:
    s1 = block_s1[idx[:, 0]].copy()
    s2 = block_s2[idx[:, 0]].copy()
    for j in range(1, idx.shape[1]):
        s1 += block_s1[idx[:, j]]
        s2 += block_s2[idx[:, j]]
    return _pbo_metric(s1, s2, counts[:, None], shift[None, :], metric)


# --------------------------------------------------------------------------------------------------------------
# ranks and grouping
# --------------------------------------------------------------------------------------------------------------


def _grouped_rank2(values: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Twice the 1-based average rank of each value within its group, and each group's size per element.

    Ties share the average of the ranks they span (``scipy.stats.rankdata(method="average")``); doubling keeps
    the result integral. ``codes`` are non-negative group ids.
    """
    n = values.shape[0]
    if n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = np.lexsort((values, codes))
    v = values[order]
    g = codes[order]
    pos = np.arange(n, dtype=np.int64)
    group_start = np.empty(n, dtype=bool)
    group_start[0] = True
    group_start[1:] = g[1:] != g[:-1]
    run_start = group_start.copy()
    run_start[1:] |= v[1:] != v[:-1]
    first_of_group = np.maximum.accumulate(np.where(group_start, pos, 0))
    within = pos - first_of_group  # 0-based position inside the group
    starts = np.flatnonzero(run_start)
    ends = np.append(starts[1:], n) - 1
    lengths = ends - starts + 1
    # average 1-based rank of a run = (within[start] + within[end]) / 2 + 1  → doubled:
    rank2_runs = within[starts] + within[ends] + 2
    rank2 = np.empty(n, dtype=np.int64)
    rank2[order] = np.repeat(rank2_runs, lengths)
    group_ids = np.cumsum(group_start) - 1
    group_sizes = np.diff(np.append(np.flatnonzero(group_start), n))
    size = np.empty(n, dtype=np.int64)
    size[order] = group_sizes[group_ids]
    return rank2, size


def _average_rank(values: np.ndarray) -> np.ndarray:
    """1-based average ranks (ties get the mean of the ranks they span)."""
    rank2, _ = _grouped_rank2(values, np.zeros(values.shape[0], dtype=np.int64))
    return rank2 / 2.0


def _bucket_codes(buckets: Any, n: int, name: str = "buckets") -> np.ndarray:
    if buckets is None:
        return np.zeros(n, dtype=np.int64)
    b = np.asarray(buckets)
    if b.ndim != 1 or b.shape[0] != n:
        raise GovernanceError(f"{name}: expected a 1-d array of length {n}, was shape {b.shape}", key=name)
    _, codes = np.unique(b, return_inverse=True)
    return codes.astype(np.int64).reshape(-1)


def _quantile_labels(values: np.ndarray, codes: np.ndarray, n_quantiles: int) -> np.ndarray:
    """0-based quantile of each value within its group: ``floor((rank - 1) · Q / n)`` with average ranks."""
    rank2, size = _grouped_rank2(values, codes)
    return ((rank2 - 2) * n_quantiles) // (2 * size)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if x.shape[0] < 3:
        return math.nan
    dx = x - x.mean()
    dy = y - y.mean()
    sxx = float(np.dot(dx, dx))
    syy = float(np.dot(dy, dy))
    if not (sxx > 0.0 and syy > 0.0):
        return math.nan
    r = float(np.dot(dx, dy)) / math.sqrt(sxx * syy)
    return min(1.0, max(-1.0, r))


def _valid_pairs(signal: Any, fwd_return: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = _as_1d(signal, "signal")
    y = _as_1d(fwd_return, "fwd_return")
    _same_length(x, y, "signal", "fwd_return")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep], keep


# --------------------------------------------------------------------------------------------------------------
# information coefficient
# --------------------------------------------------------------------------------------------------------------


def pearson_ic(signal: Any, fwd_return: Any) -> float:
    """Pearson correlation between signal and forward return.

    Pairs where either value is missing (NaN, or ±inf) are dropped. Returns NaN when fewer than 3 pairs remain or
    either side has zero variance.
    """
    x, y, _ = _valid_pairs(signal, fwd_return)
    return _pearson(x, y)


def spearman_ic(signal: Any, fwd_return: Any) -> float:
    """Spearman rank correlation: the Pearson correlation of the average ranks (ties share their mean rank).

    Pairs with a missing value (NaN or ±inf) are dropped before ranking. Returns NaN when fewer than 3 pairs remain or either side is
    constant.
    """
    x, y, _ = _valid_pairs(signal, fwd_return)
    if x.shape[0] < 3:
        return math.nan
    return _pearson(_average_rank(x), _average_rank(y))


def bucket_ic(
    signal: Any, fwd_return: Any, buckets: Any, method: str = "spearman"
) -> tuple[np.ndarray, np.ndarray]:
    """IC per time bucket: ``(labels, ics)`` with ``labels`` the sorted distinct bucket values.

    ``method`` is ``"spearman"`` (ranks within each bucket) or ``"pearson"``. Pairs with a NaN/±inf are dropped; a bucket
    with fewer than 3 pairs or a constant side gets NaN (a bucket whose pairs are all NaN is still listed).
    Vectorised over buckets.
    """
    if method not in ("spearman", "pearson"):
        raise GovernanceError(f"method: expected 'spearman' or 'pearson', was {method!r}", key="method")
    x = _as_1d(signal, "signal")
    y = _as_1d(fwd_return, "fwd_return")
    _same_length(x, y, "signal", "fwd_return")
    b = np.asarray(buckets)
    if b.ndim != 1 or b.shape[0] != x.shape[0]:
        raise GovernanceError(
            f"buckets: expected a 1-d array of length {x.shape[0]}, was shape {b.shape}", key="buckets"
        )
    labels, codes = np.unique(b, return_inverse=True)
    codes = codes.astype(np.int64).reshape(-1)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y, codes = x[keep], y[keep], codes[keep]
    n_b = labels.shape[0]
    if method == "spearman":
        x = _grouped_rank2(x, codes)[0].astype(np.float64)
        y = _grouped_rank2(y, codes)[0].astype(np.float64)
    cnt = np.bincount(codes, minlength=n_b).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx = np.bincount(codes, weights=x, minlength=n_b) / cnt
        my = np.bincount(codes, weights=y, minlength=n_b) / cnt
    dx = x - mx[codes]
    dy = y - my[codes]
    sxx = np.bincount(codes, weights=dx * dx, minlength=n_b)
    syy = np.bincount(codes, weights=dy * dy, minlength=n_b)
    sxy = np.bincount(codes, weights=dx * dy, minlength=n_b)
    ok = (cnt >= 3) & (sxx > 0.0) & (syy > 0.0)
    ics = np.full(n_b, np.nan)
    ics[ok] = np.clip(sxy[ok] / np.sqrt(sxx[ok] * syy[ok]), -1.0, 1.0)
    return labels, ics


def ic_summary(ics: Any) -> dict[str, float]:
    """Summary of a series of ICs (one per time bucket); NaN ICs are dropped first.

    Returns ``{"mean", "std" (ddof=1), "ic_ir" = mean/std (not annualised), "t_stat" = mean/(std/sqrt(n)),
    "hit_rate" (share of ICs > 0), "n"}``. ``std``, ``ic_ir`` and ``t_stat`` are NaN for n < 2 or zero std;
    ``mean`` and ``hit_rate`` are NaN for n = 0.
    """
    a = _as_1d(ics, "ics")
    a = a[~np.isnan(a)]
    n = int(a.shape[0])
    if n == 0:
        return {"mean": math.nan, "std": math.nan, "ic_ir": math.nan, "t_stat": math.nan,
                "hit_rate": math.nan, "n": 0}
    mean = float(a.mean())
    std = float(a.std(ddof=1)) if n >= 2 else math.nan
    ok = n >= 2 and std > 0.0
    ic_ir = mean / std if ok else math.nan
    t_stat = mean / (std / math.sqrt(n)) if ok else math.nan
    return {"mean": mean, "std": std, "ic_ir": ic_ir, "t_stat": t_stat,
            "hit_rate": float(np.count_nonzero(a > 0.0)) / n, "n": n}


def quantile_returns(signal: Any, fwd_return: Any, buckets: Any = None, n_quantiles: int = 5) -> np.ndarray:
    """Mean forward return per signal quantile, averaged over time buckets (alphalens convention).

    Within each bucket (``buckets`` = one label per row, e.g. a day or 30-minute id; None = a single bucket),
    rows with a missing (NaN/±inf) signal or forward return are dropped and the signal is ranked (average ranks for ties);
    the row goes to quantile ``floor((rank - 1) · Q / n)`` (0-based; n = valid rows in the bucket), so
    quantiles hold equal counts up to one row and **tied signals always share a quantile** (that of their
    average rank; a heavily tied bucket can leave some quantiles empty). Each bucket contributes the mean
    forward return of each of its quantiles; the result, index 0 = lowest signal, is the mean over buckets
    of those means, skipping buckets where the quantile is empty (NaN if it is empty everywhere).

    Returns:
        float64 array of length ``n_quantiles``.
    """
    q = _int_at_least(n_quantiles, 1, "n_quantiles")
    x = _as_1d(signal, "signal")
    y = _as_1d(fwd_return, "fwd_return")
    _same_length(x, y, "signal", "fwd_return")
    codes = _bucket_codes(buckets, x.shape[0])
    keep = np.isfinite(x) & np.isfinite(y)
    x, y, codes = x[keep], y[keep], codes[keep]
    if x.shape[0] == 0:
        return np.full(q, np.nan)
    n_b = int(codes.max()) + 1
    label = _quantile_labels(x, codes, q)
    cell = codes * q + label
    sums = np.bincount(cell, weights=y, minlength=n_b * q).reshape(n_b, q)
    cnts = np.bincount(cell, minlength=n_b * q).reshape(n_b, q)
    filled = cnts > 0
    means = np.where(filled, sums / np.maximum(cnts, 1), 0.0)
    n_filled = filled.sum(axis=0)
    out = np.full(q, np.nan)
    has = n_filled > 0
    out[has] = means.sum(axis=0)[has] / n_filled[has]
    return out


# --------------------------------------------------------------------------------------------------------------
# signal dynamics
# --------------------------------------------------------------------------------------------------------------


def _lag(value: Any, n: int) -> int:
    lag = _int_at_least(value, 1, "lag")
    if lag >= n:
        raise GovernanceError(f"lag: expected less than the signal length ({n}), was {lag}", key="lag")
    return lag


def signal_autocorrelation(signal: Any, lag: int = 1, method: str = "spearman") -> float:
    """Correlation of the signal with itself ``lag`` rows earlier (``signal[t]`` vs ``signal[t - lag]``).

    ``method="spearman"`` (default) is the single-series analogue of alphalens' factor rank autocorrelation;
    ``"pearson"`` is the plain autocorrelation. Pairs with a NaN/±inf are dropped; NaN when fewer than 3 pairs.
    High values mean a slow signal (low turnover).
    """
    x = _as_1d(signal, "signal")
    k = _lag(lag, x.shape[0])
    if method == "spearman":
        return spearman_ic(x[k:], x[:-k])
    if method == "pearson":
        return pearson_ic(x[k:], x[:-k])
    raise GovernanceError(f"method: expected 'spearman' or 'pearson', was {method!r}", key="method")


def turnover(signal: Any, lag: int = 1) -> float:
    """Position turnover of a single-instrument signal: ``mean |sign(s[t]) - sign(s[t - lag])|``.

    The signal is normalised to a unit position ``sign(signal)`` in {-1, 0, +1}; the result is the traded
    quantity per step in units of that position, in [0, 2]: a long-to-flat step counts 1, a long-to-short flip
    counts 2. Pairs with a NaN/±inf signal are dropped; NaN when no pair remains. For alphalens-style quantile membership
    turnover see `quantile_turnover`.
    """
    x = _as_1d(signal, "signal")
    k = _lag(lag, x.shape[0])
    pos = np.where(np.isfinite(x), np.sign(x), np.nan)
    d = np.abs(pos[k:] - pos[:-k])
    d = d[~np.isnan(d)]
    return float(d.mean()) if d.shape[0] else math.nan


def quantile_turnover(
    signal: Any, n_quantiles: int = 5, quantile: int | None = None, lag: int = 1, buckets: Any = None
) -> float:
    """Share of rows in a signal quantile that are no longer in it ``lag`` rows later (alphalens-style).

    For a single-instrument series, rows play the part alphalens gives to names: each row gets a quantile label
    1..Q by rank of the signal (within its bucket when ``buckets`` is given, else over the whole series;
    ties share the quantile of their average rank, as in `quantile_returns`). Turnover of quantile ``q``
    (default Q, the top) = ``#{t: label[t - lag] == q and label[t] != q} / #{t: label[t - lag] == q}`` over
    pairs where both rows have a finite signal (and, with buckets, lie in the same bucket). NaN when no pair starts
    in quantile q. In [0, 1].
    """
    q_n = _int_at_least(n_quantiles, 1, "n_quantiles")
    q = q_n if quantile is None else _int_at_least(quantile, 1, "quantile")
    if q > q_n:
        raise GovernanceError(f"quantile: expected 1..{q_n}, was {q}", key="quantile")
    x = _as_1d(signal, "signal")
    k = _lag(lag, x.shape[0])
    codes = _bucket_codes(buckets, x.shape[0])
    valid = np.isfinite(x)
    labels = np.full(x.shape[0], -1, dtype=np.int64)
    labels[valid] = _quantile_labels(x[valid], codes[valid], q_n) + 1
    prev, cur = labels[:-k], labels[k:]
    ok = (prev > 0) & (cur > 0) & (codes[:-k] == codes[k:])
    start = ok & (prev == q)
    n_start = int(np.count_nonzero(start))
    if n_start == 0:
        return math.nan
    return float(np.count_nonzero(start & (cur != q))) / n_start
