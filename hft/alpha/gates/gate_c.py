"""Gate C — robustness and overfitting: a simple signal-following strategy, net of costs, under scrutiny.

The strategy (deliberately simple; it measures the signal, not an execution algorithm)
--------------------------------------------------------------------------------------
* **Position** at row t: ``p[t] = clip(sign · s[t] / rms[t−1], −1, 1)`` where ``rms[t−1]`` is the root mean
  square of the finite signal values of rows ``< t`` (expanding; so the scale uses no future data) and ``sign``
  is gate B's expected sign. Rows with a missing signal, or before 10 finite values have been seen, are flat.
  The position is held from row t to row t+1.
* **Gross return** of row t: ``p[t] · (mid[t+1] / mid[t] − 1)`` (mid forward-filled over empty-side rows; 0
  on the last row: the position is marked at the final mid).
* **Cost model**: every change of position crosses the spread: ``|p[t] − p[t−1]| · (m · (spread[t] / 2) /
  mid[t] + fee_bps · 1e−4)`` with ``p[−1] = 0``, ``m`` the spread multiplier (``cost_spread_multiplier``,
  default 1, for the base case) and the spread of row t's book. Net = gross − cost, per unit of notional.
* **Per-period returns**: net row returns summed per period (``ts // period_ns``, default 5 minutes; periods
  without rows are absent).
* **Sharpe ratio**: the per-period ``mean / std(ddof=0)`` of those returns, NOT annualised (`stats.sharpe`).
  PSR / DSR / MinTRL use the same per-period figures, with skewness and raw kurtosis of the period returns.

Checks (thresholds: `hft.alpha.api.config.GateC`)
---------------------------------------------
``psr``       PSR of the base Sharpe against 0, at least ``min_psr``.
``dsr``       PSR against the expected maximum Sharpe of the family's trials (`stats.expected_max_sharpe` with
              the registry's trial count and the variance of the trials' Sharpes), at least ``min_dsr``.
``min_trl``   the number of periods is at least the Minimum Track Record Length at ``min_trl_confidence``.
``pbo``       PBO by CSCV (`stats.pbo`, ``pbo_blocks`` blocks) over the trials' per-period returns (columns:
              this run's parameter variants plus recorded trials of the family on the same data with the same
              number of periods; identical columns counted once), at most ``max_pbo``. Not applicable (a pass,
              with a note) with fewer than 2 distinct trials: no selection happened.
``walk_forward_positive``  the periods cut into ``walk_forward_folds`` contiguous folds; for each fold k >= 1
              the variant with the best Sharpe over folds 0..k−1 is evaluated on fold k; the share of those
              K−1 out-of-sample folds with a positive Sharpe, at least ``min_walk_forward_positive``.
``stress_sharpe``  the lowest net Sharpe over the cost-stress scenarios — each ``cost_spread_multipliers`` entry
              at ``fee_bps``, plus the base multiplier at ``fee_bps + stress_fee_bps`` — more than
              ``min_stress_sharpe``.

Parameter sensitivity (reported, not a check): each int/float parameter moved by ± ``sensitivity_step`` of its
value (ints by at least 1; variants the alpha refuses are listed as invalid), with the change of the Sharpe
and of the primary-horizon mean IC.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from hft.alpha.gates.result import Check, GateResult
from hft.alpha.research import stats
from hft.core.errors import DataValidationError, GovernanceError

__all__ = ["WARMUP", "StrategyReturns", "distinct_columns", "gate_c", "param_variants", "period_returns",
           "positions", "row_returns", "safe_sharpe", "strategy_returns", "walk_forward"]

WARMUP = 10  # finite signal values seen before the first position


def positions(signal: np.ndarray, sign: int = 1) -> np.ndarray:
    """Positions in [−1, 1] (see the module docstring): expanding-RMS-scaled, clipped, flat when missing."""
    s = np.asarray(signal, np.float64)
    ok = np.isfinite(s)
    v = np.where(ok, s, 0.0)
    cnt = np.cumsum(ok)
    ss = np.cumsum(v * v)
    prev_cnt = np.concatenate(([0], cnt[:-1]))
    prev_ss = np.concatenate(([0.0], ss[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        rms = np.sqrt(prev_ss / prev_cnt)
        p = np.clip(sign * v / rms, -1.0, 1.0)
    p[~ok | (prev_cnt < WARMUP) | ~(rms > 0)] = 0.0
    return p


def _ffill(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    ok = np.isfinite(x)
    if ok.all():
        return x
    idx = np.where(ok, np.arange(len(x)), 0)
    np.maximum.accumulate(idx, out=idx)
    out = x[idx]
    if not ok.any():
        return out
    first = int(np.argmax(ok))
    out[:first] = x[first]
    return out


def row_returns(pos: np.ndarray, mid: np.ndarray, spread: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                               np.ndarray]:
    """Per-row gross return, half-spread cost rate and traded quantity (cost = traded · (m · rate + fee)).

    Returns ``(gross, half_spread_rel, traded)``; net for multiplier m and fee f (bps) is
    ``gross − traded · (m · half_spread_rel + f · 1e−4)``.
    """
    m = _ffill(mid)
    sp = _ffill(np.asarray(spread, np.float64))
    ret = np.zeros(len(m))
    with np.errstate(divide="ignore", invalid="ignore"):
        ret[:-1] = m[1:] / m[:-1] - 1.0
        half = 0.5 * sp / m
    ret[~np.isfinite(ret)] = 0.0
    half[~np.isfinite(half)] = 0.0
    traded = np.abs(np.diff(pos, prepend=0.0))
    return pos * ret, half, traded


def period_returns(net: np.ndarray, ts: np.ndarray, period_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """``(period labels · period_ns, summed net returns)`` over the periods that have rows."""
    labels, codes = np.unique(np.asarray(ts, np.int64) // int(period_ns), return_inverse=True)
    sums = np.bincount(codes.reshape(-1), weights=net, minlength=len(labels))
    return labels * int(period_ns), sums


@dataclasses.dataclass
class StrategyReturns:
    """Per-period net returns of one variant under each cost scenario (key: scenario name)."""

    periods: np.ndarray
    scenarios: dict[str, np.ndarray]

    @property
    def base(self) -> np.ndarray:
        return self.scenarios["base"]


def strategy_returns(signal: np.ndarray, mid: np.ndarray, spread: np.ndarray, ts: np.ndarray, th: Any,
                     sign: int = 1) -> StrategyReturns:
    """The strategy's per-period returns: ``base`` (``cost_spread_multiplier``, ``fee_bps``), ``gross`` (no cost, reported
    only) and each stress scenario (named ``spread_x<m>`` and ``fee_<f>bps``)."""
    pos = positions(signal, sign)
    gross, half, traded = row_returns(pos, mid, spread)
    scen: dict[str, tuple[float, float]] = {"base": (th.cost_spread_multiplier, th.fee_bps), "gross": (0.0, 0.0)}
    for m in th.cost_spread_multipliers:
        scen[f"spread_x{m:g}"] = (float(m), th.fee_bps)
    scen[f"fee_{th.fee_bps + th.stress_fee_bps:g}bps"] = (th.cost_spread_multiplier, th.fee_bps + th.stress_fee_bps)
    out: dict[str, np.ndarray] = {}
    periods = None
    for name, (m, fee) in scen.items():
        net = gross - traded * (m * half + fee * 1e-4)
        periods, out[name] = period_returns(net, ts, th.period_ns)
    return StrategyReturns(periods, out)


def safe_sharpe(r: np.ndarray) -> float:
    """`stats.sharpe`, NaN for fewer than 2 observations."""
    r = np.asarray(r, np.float64)
    return stats.sharpe(r) if len(r) >= 2 else math.nan


def walk_forward(matrix: np.ndarray, folds: int) -> dict[str, Any]:
    """Walk-forward selection over a (periods × variants) matrix (see the module docstring)."""
    m = np.asarray(matrix, np.float64)
    parts = np.array_split(np.arange(m.shape[0]), folds)
    out = []
    for k in range(1, folds):
        past = np.concatenate(parts[:k])
        sr_past = np.array([safe_sharpe(m[past, j]) for j in range(m.shape[1])])
        best = int(np.nanargmax(sr_past)) if np.isfinite(sr_past).any() else 0
        out.append({"fold": k, "variant": best, "sharpe": safe_sharpe(m[parts[k], best])})
    vals = np.array([f["sharpe"] for f in out])
    share = float(np.count_nonzero(vals > 0)) / len(vals) if len(vals) else math.nan
    return {"folds": out, "positive_share": share}


def distinct_columns(matrix: np.ndarray) -> np.ndarray:
    """The columns of `matrix` with exact duplicates removed (first occurrence kept, order kept)."""
    m = np.asarray(matrix, np.float64)
    seen: set[bytes] = set()
    keep = []
    for j in range(m.shape[1]):
        key = np.ascontiguousarray(m[:, j]).tobytes()
        if key not in seen:
            seen.add(key)
            keep.append(j)
    return m[:, keep]


def gate_c(base: np.ndarray, *, n_trials: int, var_sharpe: float, trial_returns: np.ndarray | None,
           walk_forward_share: float, stress_sharpes: dict[str, float], th: Any,
           extra_metrics: dict[str, Any] | None = None) -> GateResult:
    """Decide gate C from plain numbers (unit-testable without the registry).

    Args:
        base: per-period net returns of the base variant at base costs.
        n_trials: trials recorded for the alpha's family (this run's included), >= 1.
        var_sharpe: variance of those trials' per-period Sharpe ratios.
        trial_returns: (periods × trials) matrix for PBO, or None / fewer than 2 distinct columns (PBO n/a).
        walk_forward_share: `walk_forward` ``positive_share``.
        stress_sharpes: scenario → net Sharpe.
        th: `GateC` thresholds.
        extra_metrics: merged into the result's metrics (sensitivity, walk-forward folds...).
    """
    r = np.asarray(base, np.float64)
    n = len(r)
    if n < max(th.pbo_blocks, th.walk_forward_folds, 3):
        raise DataValidationError(
            f"gate C: expected at least {max(th.pbo_blocks, th.walk_forward_folds, 3)} periods of {th.period} "
            f"(pbo_blocks, walk_forward_folds), was {n}", key="validation.gate_c.period",
            hint="use longer data or a shorter gate_c.period")
    metrics: dict[str, Any] = {"n_obs": n, "n_trials": int(n_trials), "var_sharpe": float(var_sharpe)}
    sr = safe_sharpe(r)
    metrics["sharpe"] = sr
    checks: list[Check] = []
    if not math.isfinite(sr):
        note = "the strategy's period returns are constant (it never traded): no Sharpe ratio"
        for name, op, t in (("psr", ">=", th.min_psr), ("dsr", ">=", th.min_dsr), ("min_trl", ">=", 0.0)):
            checks.append(Check.compare(name, math.nan, op, t, note))
    else:
        _, _, skew, kurt = stats.moments(r)
        metrics.update(skew=skew, kurtosis=kurt)
        try:
            p = stats.psr(sr, n, skew, kurt)
            sr0 = stats.expected_max_sharpe(max(1, int(n_trials)), max(0.0, float(var_sharpe)))
            d = stats.psr(sr, n, skew, kurt, sr_benchmark=sr0)
            trl = stats.min_track_record_length(sr, 0.0, skew, kurt, th.min_trl_confidence)
            metrics.update(psr=p, dsr=d, sr0=sr0, min_trl=trl)
            checks.append(Check.compare("psr", p, ">=", th.min_psr))
            checks.append(Check.compare("dsr", d, ">=", th.min_dsr,
                                        f"DSR {d:.4g} < {th.min_dsr:g}: Sharpe {sr:.4g} against the expected "
                                        f"maximum {sr0:.4g} of {n_trials} trials"))
            checks.append(Check.compare("min_trl", float(n), ">=", trl,
                                        f"{n} periods, the track record needs {trl:.4g} for "
                                        f"{th.min_trl_confidence:g} confidence" if math.isfinite(trl) else
                                        f"{n} periods; the Sharpe {sr:.4g} is not positive: no track record "
                                        f"is long enough to show it above 0 at {th.min_trl_confidence:g} "
                                        "confidence"))
        except GovernanceError as exc:
            for name, t in (("psr", th.min_psr), ("dsr", th.min_dsr), ("min_trl", 0.0)):
                checks.append(Check.compare(name, math.nan, ">=", t, f"{name}: {exc.message}"))
    # PBO
    cols = distinct_columns(trial_returns) if trial_returns is not None and np.ndim(trial_returns) == 2 \
        else np.empty((n, 0))
    metrics["pbo_trials"] = int(cols.shape[1])
    if cols.shape[1] >= 2:
        res = stats.pbo(cols, th.pbo_blocks)
        metrics["pbo"] = res.probability
        metrics["pbo_logits"] = {"mean": float(np.mean(res.logits)), "n_splits": res.n_splits}
        checks.append(Check.compare("pbo", res.probability, "<=", th.max_pbo,
                                    f"PBO {res.probability:.3g} > {th.max_pbo:g}: the in-sample best of "
                                    f"{cols.shape[1]} trials often ranks at or below the median out of sample"))
    else:
        metrics["pbo"] = math.nan
        checks.append(Check.not_applicable("pbo", "<=", th.max_pbo,
                                           f"not applicable: {cols.shape[1]} distinct trial(s), no selection"))
    metrics["walk_forward_positive"] = walk_forward_share
    checks.append(Check.compare("walk_forward_positive", walk_forward_share, ">=", th.min_walk_forward_positive))
    metrics["stress"] = dict(stress_sharpes)
    worst = min(stress_sharpes, key=lambda k: stress_sharpes[k] if math.isfinite(stress_sharpes[k])
                else -math.inf) if stress_sharpes else None
    worst_v = stress_sharpes[worst] if worst is not None else math.nan
    checks.append(Check.compare("stress_sharpe", worst_v, ">", th.min_stress_sharpe,
                                f"net Sharpe {worst_v:.4g} under cost stress {worst} (expected > "
                                f"{th.min_stress_sharpe:g})" if worst is not None else "no stress scenario"))
    if extra_metrics:
        metrics.update(extra_metrics)
    return GateResult.from_checks("C", checks, "dsr", metrics, dataclasses.asdict(th))


def param_variants(alpha_cls: Any, params: dict[str, Any], step: float) -> tuple[list[tuple[str, dict[str, Any]]],
                                                                                list[dict[str, Any]]]:
    """Parameter-sensitivity variants: each int/float param moved by ± `step` of its value.

    Ints move by ``max(1, round(step · |v|))``; floats by ``step · |v|`` (``step`` itself when v == 0).
    Returns ``(valid, invalid)``: valid = ``[(name, params)]`` (name like ``"smooth+1"``), each accepted by the
    alpha's `check_params`; invalid = ``[{"name", "params", "reason"}]`` refused ones. Duplicates are dropped.
    """
    types = alpha_cls.param_types()
    valid: list[tuple[str, dict[str, Any]]] = []
    invalid: list[dict[str, Any]] = []
    seen = {repr(sorted(params.items()))}
    if step <= 0:
        return valid, invalid
    for key, typ in types.items():
        v = params[key]
        if typ is int:
            d = max(1, round(step * abs(v)))
            cands = [(f"{key}-{d}", v - d), (f"{key}+{d}", v + d)]
        elif typ is float:
            d = step * abs(v) if v != 0 else step
            cands = [(f"{key}-{d:g}", v - d), (f"{key}+{d:g}", v + d)]
        else:
            continue
        for name, nv in cands:
            p = {**params, key: nv}
            k = repr(sorted(p.items()))
            if k in seen:
                continue
            seen.add(k)
            try:
                alpha_cls(p)
            except GovernanceError as exc:
                invalid.append({"name": name, "params": p, "reason": exc.message})
                continue
            valid.append((name, p))
    return valid, invalid
