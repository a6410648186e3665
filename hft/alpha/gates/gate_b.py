"""Gate B — predictive power: IC per time bucket at every horizon, in and out of sample.

Definitions (helpers from `hft.alpha.research.stats`; thresholds: `hft.alpha.api.config.GateB`):

* Time buckets: ``ts // bucket_ns`` (UTC-aligned, e.g. 30-minute buckets). Per bucket, the Spearman and the
  Pearson IC of the signal with each forward-return column (rows with a missing value dropped).
* Per horizon: IC mean, IC std (ddof=1), IC-IR = mean/std (not annualised), t-stat = mean/(std/√n), hit rate =
  share of buckets whose IC has the expected ``sign``; quantile returns (mean over buckets of each bucket's
  quantile means, `quantiles` groups); IC decay = the mean IC across horizons.
* Signal dynamics: lag-1 Spearman autocorrelation and position turnover (`stats.turnover`).
* In / out of sample: the buckets in time order, the first ``ceil((1 − oos_fraction) · n_buckets)`` in sample
  (IS), the rest out of sample (OOS); every summary is reported for all, IS and OOS.

Pass / fail on the primary horizon (``primary_horizon``; default the first), all buckets, sign-adjusted
(``sign · IC``): mean ≥ ``min_ic``, IC-IR ≥ ``min_ic_ir``, t-stat ≥ ``min_t_stat``, hit rate ≥
``min_hit_rate``; and the OOS mean IC must have the expected sign (> 0 after adjusting).

Too little data is an error, not a verdict: fewer than 3 buckets with a finite IC at the primary horizon, or a
horizon with no forward return at all, raise `DataValidationError`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hft.alpha.gates.result import Check, GateResult
from hft.alpha.research import stats
from hft.core.errors import DataValidationError

__all__ = ["MIN_BUCKETS", "gate_b", "split_buckets"]

MIN_BUCKETS = 3


def split_buckets(labels: np.ndarray, oos_fraction: float) -> np.ndarray:
    """Boolean mask over sorted bucket `labels`: True for the in-sample (earlier) buckets."""
    n = len(labels)
    n_is = min(n, max(1, math.ceil((1.0 - oos_fraction) * n))) if n else 0
    mask = np.zeros(n, bool)
    mask[:n_is] = True
    return mask


def _signed(summary: dict[str, float], ics: np.ndarray, sign: int) -> dict[str, float]:
    """ic_summary of sign·IC, with the raw mean kept as ``mean_raw``."""
    out = stats.ic_summary(sign * ics)
    out["mean_raw"] = summary["mean"]
    return out


def gate_b(signal: np.ndarray, ts: np.ndarray, fwd: Mapping[str, np.ndarray], th: Any,
           primary: str | None = None) -> tuple[GateResult, dict[str, Any]]:
    """Run gate B.

    Args:
        signal: float64 signal per row (NaN = missing).
        ts: int64 row times (ns), non-decreasing.
        fwd: forward-return column name → float64 array (NaN = no future), in horizon order.
        th: `GateB` thresholds.
        primary: the primary forward-return column (default: the first of `fwd`).

    Returns:
        (result, series) — `series` holds arrays for the plots: per-horizon bucket labels and ICs, quantile
        returns, and a signal / forward-return sample.
    """
    sig = np.asarray(signal, np.float64)
    ts = np.asarray(ts, np.int64)
    names = list(fwd)
    primary = primary or names[0]
    sign = int(th.sign)
    buckets = ts // int(th.bucket_ns)
    per_h: dict[str, Any] = {}
    series: dict[str, Any] = {"horizons": names, "primary": primary, "bucket_ic": {}, "quantile_returns": {}}
    for name in names:
        y = np.asarray(fwd[name], np.float64)
        if not np.isfinite(y).any():
            raise DataValidationError(f"gate B: expected forward returns at horizon {name}, the data has none "
                                      f"(too short for the horizon)", key="features.horizons",
                                      hint="use longer data or shorter horizons")
        labels, ic_s = stats.bucket_ic(sig, y, buckets, "spearman")
        _, ic_p = stats.bucket_ic(sig, y, buckets, "pearson")
        is_mask = split_buckets(labels, th.oos_fraction)
        row: dict[str, Any] = {}
        for part, m in (("all", np.ones(len(labels), bool)), ("is", is_mask), ("oos", ~is_mask)):
            row[part] = {
                "spearman": _signed(stats.ic_summary(ic_s[m]), ic_s[m], sign),
                "pearson": _signed(stats.ic_summary(ic_p[m]), ic_p[m], sign),
            }
        q = stats.quantile_returns(sig, y, buckets, th.quantiles)
        row["quantile_returns"] = q
        row["top_minus_bottom"] = float(q[-1] - q[0]) if np.isfinite(q[[0, -1]]).all() else math.nan
        row["n_buckets"] = len(labels)
        per_h[name] = row
        series["bucket_ic"][name] = (labels * int(th.bucket_ns), ic_s)
        series["quantile_returns"][name] = q

    head = per_h[primary]["all"]["spearman"]
    if head["n"] < MIN_BUCKETS:
        raise DataValidationError(
            f"gate B: expected at least {MIN_BUCKETS} buckets of {th.bucket} with a finite IC at horizon "
            f"{primary}, was {head['n']}", key="validation.gate_b.bucket",
            hint="use longer data or a shorter gate_b.bucket")
    oos = per_h[primary]["oos"]["spearman"]
    decay = {name: per_h[name]["all"]["spearman"]["mean_raw"] for name in names}
    dyn = {"autocorrelation_lag1": stats.signal_autocorrelation(sig, 1, "spearman") if len(sig) > 3 else math.nan,
           "turnover": stats.turnover(sig, 1) if len(sig) > 1 else math.nan}
    checks = [
        Check.compare("ic_mean", head["mean"], ">=", th.min_ic),
        Check.compare("ic_ir", head["ic_ir"], ">=", th.min_ic_ir),
        Check.compare("t_stat", head["t_stat"], ">=", th.min_t_stat),
        Check.compare("hit_rate", head["hit_rate"], ">=", th.min_hit_rate),
    ]
    if oos["n"] > 0:
        checks.append(Check.compare("oos_ic_mean", oos["mean"], ">", 0.0,
                                    f"out-of-sample mean IC {oos['mean_raw']:.4g} does not have the expected "
                                    f"sign {sign:+d}" if math.isfinite(oos["mean"]) else ""))
    else:
        checks.append(Check.not_applicable("oos_ic_mean", ">", 0.0, "no out-of-sample bucket"))
    metrics = {"primary_horizon": primary, "sign": sign, "horizons": per_h, "ic_decay": decay, **dyn}
    series["sample"] = _sample(sig, np.asarray(fwd[primary], np.float64))
    return GateResult.from_checks("B", checks, "ic_mean", metrics, dataclasses.asdict(th)), series


def _sample(x: np.ndarray, y: np.ndarray, k: int = 5_000) -> tuple[np.ndarray, np.ndarray]:
    """Up to `k` evenly spaced finite (signal, forward return) pairs, for the scatter plot."""
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if len(ok) > k:
        ok = ok[np.linspace(0, len(ok) - 1, k).astype(np.int64)]
    return x[ok], y[ok]
