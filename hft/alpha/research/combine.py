"""Combine alpha signals and score the combination out of sample: the worker side of `hft alpha search`.

A *combination* is a set of (alpha id, params) members and a weighting scheme. Scoring it on a features frame
(`hft.alpha.research.features.compute_features`) is a pure function of (frame, combination, split, cost, seed), so any
process — the search driver, a local pool worker, a Ray worker — gets the same numbers.

Method (all statistics of the in-sample part only are used on the out-of-sample part; nothing looks ahead):

1. Each member's signal (``Alpha.signal``) is standardised with its **in-sample** mean and std (ddof=0);
   non-finite values become 0 (no view).
2. Weights: ``equal`` (1/k each); ``ic`` (each member's in-sample Spearman IC against the target forward
   return, divided by the sum of |IC|: sign-aware); ``random`` (Dirichlet(1,…,1) drawn from the trial seed,
   signs from the in-sample IC). The combined signal is ``Σ w_i z_i``.
3. Position ``p_t = clip(combined_t, −1, 1)`` (units of one notional), held from row t to row t+1.
4. Net return per row ``p_t · (mid_{t+1}/mid_t − 1) − |p_t − p_{t−1}| · (m · spread_t / (2 mid_t) + fee_bps·1e-4)``:
   crossing half the spread (times the stress multiplier m) and paying the fee on every change of position.
5. Row returns are summed per time bucket (``bucket_ns`` on the UTC epoch grid); the **per-period Sharpe** is
   mean / std (ddof=0) of the bucket returns (`hft.alpha.research.stats.sharpe`), in-sample and out-of-sample. The
   search ranks by the out-of-sample figure, deflated (`research/combinatorial/search_engine.py`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from hft.alpha.api.registry import get_alpha
from hft.alpha.research import stats
from hft.core.errors import GovernanceError

__all__ = ["WEIGHT_SCHEMES", "Combination", "bucket_returns", "init_worker", "members_of", "score_chunk",
           "score_chunk_with", "score_combination", "standardise"]

WEIGHT_SCHEMES = ("equal", "ic", "random")


@dataclass(frozen=True)
class Combination:
    """One search trial: members ``((alpha_id, ((param, value), ...)), ...)`` and a weighting scheme."""
    members: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]
    weights: str
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {"members": [{"alpha": a, "params": dict(p)} for a, p in self.members], "weights": self.weights,
                "seed": self.seed}


def standardise(x: np.ndarray, n_is: int) -> np.ndarray:
    """z-score of `x` with the mean / std (ddof=0) of its first `n_is` finite values; non-finite → 0."""
    head = x[:n_is]
    head = head[np.isfinite(head)]
    mu = float(head.mean()) if head.size else 0.0
    sd = float(head.std()) if head.size else 0.0
    z = (x - mu) / sd if sd > 0 else np.zeros_like(x)
    return np.where(np.isfinite(z), z, 0.0)


def bucket_returns(ts: np.ndarray, row_ret: np.ndarray, bucket_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """Row returns summed per time bucket: (bucket start times, sums), in time order."""
    b = ts // bucket_ns
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    return b[starts] * bucket_ns, np.add.reduceat(row_ret, starts) if row_ret.size else row_ret


def _signal(features: Any, alpha_id: str, params: tuple[tuple[str, Any], ...], cache: dict | None) -> np.ndarray:
    key = (alpha_id, params)
    if cache is not None and key in cache:
        return cache[key]

    sig = get_alpha(alpha_id, dict(params)).signal(features).to_numpy().astype(np.float64)
    if cache is not None:
        cache[key] = sig
    return sig


def score_combination(features: Any, combo: Combination, *, target: str, oos_fraction: float, bucket_ns: int,
                      spread_multiplier: float = 1.0, fee_bps: float = 0.0,
                      signal_cache: dict | None = None) -> dict[str, Any]:
    """Score `combo` on a features frame; returns JSON-safe metrics (see the module docstring).

    ``metrics["sharpe"]`` is the out-of-sample per-period Sharpe (the trial's score), ``n_obs`` the number of
    out-of-sample buckets, ``period_returns`` every bucket's net return (in-sample then out-of-sample, for PBO).
    """
    n = features.height
    if target not in features.columns:
        raise GovernanceError(f"search: expected the forward-return column {target!r} in the features",
                              key="target")
    n_is = int(n * (1.0 - oos_fraction))
    if n_is < 2 or n - n_is < 2:
        raise GovernanceError(f"search: expected at least 2 rows in and out of sample, was {n} rows with "
                              f"oos_fraction {oos_fraction}", key="oos_fraction")
    fwd = features[target].fill_null(float("nan")).to_numpy().astype(np.float64)
    zs, ics = [], []
    for alpha_id, params in combo.members:
        z = standardise(_signal(features, alpha_id, params, signal_cache), n_is)
        zs.append(z)
        ok = np.isfinite(fwd[:n_is])
        ic = stats.spearman_ic(z[:n_is][ok], fwd[:n_is][ok]) if ok.sum() > 2 else 0.0
        ics.append(0.0 if not np.isfinite(ic) else ic)
    k = len(zs)
    ic_arr = np.asarray(ics)
    if combo.weights == "equal":
        w = np.full(k, 1.0 / k)
    elif combo.weights == "ic":
        tot = np.abs(ic_arr).sum()
        w = ic_arr / tot if tot > 0 else np.full(k, 1.0 / k)
    elif combo.weights == "random":
        rng = np.random.default_rng(combo.seed)
        w = rng.dirichlet(np.ones(k)) * np.where(ic_arr < 0, -1.0, 1.0)
    else:
        raise GovernanceError(f"search: weights: expected one of {list(WEIGHT_SCHEMES)}, was {combo.weights!r}",
                              key="weights")
    combined = np.zeros(n)
    for wi, z in zip(w, zs, strict=True):
        combined += wi * z
    pos = np.clip(combined, -1.0, 1.0)

    mid = features["mid"].fill_null(float("nan")).to_numpy().astype(np.float64)
    spread = features["spread"].fill_null(0).to_numpy().astype(np.float64)
    nxt = np.empty(n)
    nxt[:-1] = mid[1:] / mid[:-1] - 1.0
    nxt[-1] = 0.0
    nxt = np.where(np.isfinite(nxt), nxt, 0.0)
    dpos = np.abs(np.diff(pos, prepend=0.0))
    half = np.where(np.isfinite(mid) & (mid > 0), spread / (2.0 * np.where(mid > 0, mid, 1.0)), 0.0)
    row_ret = pos * nxt - dpos * (spread_multiplier * half + fee_bps * 1e-4)

    ts = features["ts"].to_numpy()
    _, br_is = bucket_returns(ts[:n_is], row_ret[:n_is], bucket_ns)
    _, br_oos = bucket_returns(ts[n_is:], row_ret[n_is:], bucket_ns)
    sr_is = stats.sharpe(br_is) if br_is.size > 1 and br_is.std() > 0 else 0.0
    sr_oos = stats.sharpe(br_oos) if br_oos.size > 1 and br_oos.std() > 0 else 0.0
    _, _, skew, kurt = stats.moments(br_oos) if br_oos.size > 1 and br_oos.std() > 0 else (0.0, 0.0, 0.0, 3.0)
    ok = np.isfinite(fwd[n_is:])
    ic_oos = stats.spearman_ic(combined[n_is:][ok], fwd[n_is:][ok]) if ok.sum() > 2 else 0.0
    return {
        "sharpe": float(sr_oos), "sharpe_is": float(sr_is), "n_obs": int(br_oos.size), "n_obs_is": int(br_is.size),
        "skew": float(skew), "kurtosis": float(kurt),
        "ic_oos": float(ic_oos) if np.isfinite(ic_oos) else 0.0,
        "ic_is": [float(x) for x in ic_arr], "weights": [float(x) for x in w],
        "net_return_oos": float(br_oos.sum()), "turnover": float(dpos.sum() / n),
        "period_returns": [float(x) for x in np.concatenate([br_is, br_oos])],
    }


def members_of(alpha_ids: Sequence[str], params: Sequence[dict[str, Any]]) -> tuple:
    """Canonical members tuple (sorted params) for `Combination`."""
    return tuple((a, tuple(sorted(p.items()))) for a, p in zip(alpha_ids, params, strict=True))


# --- worker entry points (module-level so spawned processes and Ray workers can import them) -------------------

_WORKER: dict[str, Any] = {}


def init_worker(features_path: str, kw: dict[str, Any]) -> None:
    """Process-pool initializer: load the features once per worker; `kw` are `score_combination` options."""
    _WORKER.update(features=pl.read_parquet(features_path), kw=kw, cache={}, key=None)


def score_chunk(chunk: list[tuple[int, Combination]]) -> list[tuple[int, dict[str, Any], int, int, str]]:
    """Score ``(trial number, combination)`` pairs on the worker's features: (n, metrics, t0, t1, status)."""
    out = []
    for n, combo in chunk:
        t0 = time.time_ns()
        try:
            metrics = score_combination(_WORKER["features"], combo, signal_cache=_WORKER["cache"], **_WORKER["kw"])
            status = "ok"
        except GovernanceError as exc:  # a combination that cannot be scored is recorded as an error trial
            metrics, status = {"error": exc.message}, "error"
        out.append((n, metrics, t0, time.time_ns(), status))
    return out


def score_chunk_with(features: Any, kw: dict[str, Any], chunk: list[tuple[int, Combination]]) -> list:
    """`score_chunk` with the features passed in (Ray: an object-store reference resolved by Ray)."""
    key = (id(features), features.height)
    if _WORKER.get("key") != key:
        _WORKER.update(features=features, kw=kw, cache={}, key=key)
    return score_chunk(chunk)
