"""Gate A — integrity: coverage, no lookahead, determinism, compute cost.

Checks (thresholds: `hft.alpha.config.GateA`):

``coverage``
    Share of rows whose signal is finite, at least ``min_coverage``.

``lookahead_mismatches`` (truncation test)
    At ``lookahead_cuts`` cut points drawn with ``numpy.random.default_rng(lookahead_seed)`` uniformly in
    ``[n/10, n-1]``, the alpha is recomputed on the first ``cut`` rows of the FEATURES frame; its output must
    equal the full-data signal on those rows (same nulls; values equal up to 1e-9 relative, which allows
    floating-point reassociation in windowed sums and nothing else). Zero mismatching cuts allowed.

    Why truncate the features frame and not the raw data: every feature row depends only on events up to its
    own time (`hft.alpha.features` guarantees and tests this; forward returns are never handed to `compute`),
    so the first ``cut`` feature rows of the full data ARE the features of the truncated data. Truncating the
    frame therefore isolates exactly what is under test — the alpha's `compute` — and costs one compute per
    cut instead of one feature build per cut.

``shift_ic_excess`` (statistical lookahead test)
    ``|IC(s[t], r[t])| − |IC(s[t−1], r[t])|`` with ``r[t] = mid[t+1]/mid[t] − 1`` the next-row mid return and
    ``s[t−1]`` the signal shifted one row into the past (Spearman ICs over all rows). An honest signal knows row
    t but not the move from t to t+1, so using it one row late costs little (measured on GOOG: +0.009 for L1
    imbalance, −0.017 for OFI); a signal that reads the future draws its IC from the last row and loses it
    when shifted (+0.2 for a planted leak). Must be at most ``max(lookahead_max_shift_ic, 3.29/sqrt(n))``,
    the second term being the 0.999 two-sided chance level of a correlation from ``n`` pairs.

``determinism``
    Two runs give byte-identical signals (values and null mask). Skipped when ``determinism: false``.

``ns_per_row``
    Wall time of one `Alpha.signal` call (the faster of the two determinism runs) per row, at most
    ``max_ns_per_event``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np

from hft.alpha.gates import Check, GateResult
from hft.core.errors import GovernanceError

__all__ = ["gate_a", "lookahead_cuts", "raw_signal", "shift_ic_excess"]

_REL_TOL = 1e-9
_CHANCE_Z = 3.29  # two-sided 0.999 normal quantile


def raw_signal(alpha: Any, features: Any) -> np.ndarray:
    """`alpha.compute` on ``ts`` + the required columns of `features`, as float64 with NaN for missing.

    Like `Alpha.signal` but without the "at least one finite value" rule (a short prefix may still be in the
    alpha's warm-up). Type and length are checked (GovernanceError).
    """
    import polars as pl

    from hft.alpha.base import validate_signal

    need = alpha.required_features()
    cols = ["ts", *[c for c in need if c != "ts"]] if "ts" in features.columns else list(need)
    try:
        out = alpha.compute(features.select(cols))
    except GovernanceError:
        raise
    except Exception as exc:
        raise GovernanceError(f"alpha {alpha.alpha_id}: compute raised {type(exc).__name__}: {exc} (on the "
                              f"first {features.height} rows)", key="compute") from exc
    if isinstance(out, pl.Series) and len(out) == features.height and out.dtype in (pl.Float64, pl.Float32):
        return out.cast(pl.Float64).fill_nan(None).to_numpy().astype(np.float64, copy=False)
    validate_signal(out, features.height, alpha.alpha_id)  # raises the precise error
    raise AssertionError("unreachable")


def lookahead_cuts(n_rows: int, n_cuts: int, seed: int) -> np.ndarray:
    """Sorted distinct cut points (prefix lengths) in ``[max(2, n/10), n-1]``, drawn with `seed`."""
    lo = max(2, n_rows // 10)
    hi = n_rows - 1
    if hi < lo:
        return np.empty(0, np.int64)
    rng = np.random.default_rng(seed)
    return np.unique(rng.integers(lo, hi + 1, size=n_cuts)).astype(np.int64)


def _same_prefix(full: np.ndarray, part: np.ndarray) -> tuple[bool, int]:
    """(equal, first differing row) for a prefix recomputed on truncated data."""
    a = full[: len(part)]
    na, nb = np.isnan(a), np.isnan(part)
    diff = na != nb
    both = ~(na | nb)
    tol = _REL_TOL * np.maximum(1.0, np.abs(a))
    diff[both] |= np.abs(a[both] - part[both]) > tol[both]
    if diff.any():
        return False, int(np.argmax(diff))
    return True, -1


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from hft.alpha.stats import spearman_ic

    return spearman_ic(x, y)


def shift_ic_excess(signal: np.ndarray, mid: np.ndarray) -> dict[str, float]:
    """The statistical lookahead test (see the module docstring): ICs now and one row late, and the excess."""
    s = np.asarray(signal, np.float64)
    m = np.asarray(mid, np.float64)
    r = np.full(len(m), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        r[:-1] = m[1:] / m[:-1] - 1.0
    ic_now = _spearman(s, r)
    lagged = np.full(len(s), np.nan)
    lagged[1:] = s[:-1]
    ic_late = _spearman(lagged, r)
    n = int(np.count_nonzero(np.isfinite(s) & np.isfinite(r)))
    excess = abs(ic_now) - abs(ic_late) if math.isfinite(ic_now) and math.isfinite(ic_late) else math.nan
    return {"ic_next_row": ic_now, "ic_next_row_shifted": ic_late, "excess": excess, "n_pairs": n,
            "chance_bound": _CHANCE_Z / math.sqrt(n) if n else math.nan}


def gate_a(alpha: Any, features: Any, th: Any) -> tuple[GateResult, np.ndarray]:
    """Run gate A on `features` (a polars frame with ``ts``, ``mid`` and the alpha's columns).

    Returns the result and the validated signal (float64, NaN where missing) for gates B and C.
    Raises GovernanceError when the alpha's output is unusable (wrong type / length / dtype, all NaN, raising).
    """
    n = features.height
    t0 = time.perf_counter_ns()
    first = alpha.signal(features)  # validated: Float64, right length, at least one finite value
    t1 = time.perf_counter_ns()
    sig = first.to_numpy().astype(np.float64, copy=True)
    checks: list[Check] = []
    metrics: dict[str, Any] = {"n_rows": n}

    finite = np.isfinite(sig)
    coverage = float(np.count_nonzero(finite)) / n
    metrics["coverage"] = coverage
    checks.append(Check.compare("coverage", coverage, ">=", th.min_coverage))

    # truncation test on the features frame (see the module docstring for why the frame, not the raw data)
    cuts = lookahead_cuts(n, th.lookahead_cuts, th.lookahead_seed)
    bad: list[dict[str, int]] = []
    for cut in cuts.tolist():
        part = raw_signal(alpha, features.head(cut))
        ok, row = _same_prefix(sig, part)
        if not ok:
            bad.append({"cut": cut, "first_row": row})
    metrics["lookahead"] = {"cuts": cuts.tolist(), "mismatches": bad}
    note = (f"signal changes when later data is removed: {len(bad)} of {len(cuts)} cuts (first at row "
            f"{bad[0]['first_row']} with data cut at {bad[0]['cut']}): lookahead") if bad else ""
    checks.append(Check.compare("lookahead_mismatches", float(len(bad)), "<=", 0.0, note))

    shift = shift_ic_excess(sig, features["mid"].to_numpy())
    metrics["shift_test"] = shift
    bound = max(th.lookahead_max_shift_ic, shift["chance_bound"]) if math.isfinite(
        shift["chance_bound"]) else th.lookahead_max_shift_ic
    checks.append(Check.compare(
        "shift_ic_excess", shift["excess"], "<=", bound,
        f"the signal loses {shift['excess']:.4f} of |IC| with the next-row return when shifted one row into the "
        f"past (bound {bound:.4f}): it looks like it reads the future" if math.isfinite(shift["excess"])
        else "shift test: no finite IC (signal or mid constant)"))

    t2 = time.perf_counter_ns()
    second = alpha.signal(features)
    t3 = time.perf_counter_ns()
    if th.determinism:
        a = first.to_numpy()
        b = second.to_numpy()
        same = a.tobytes() == b.tobytes() and first.is_null().to_numpy().tobytes() == \
            second.is_null().to_numpy().tobytes()
        metrics["deterministic"] = same
        checks.append(Check.compare("determinism", 1.0 if same else 0.0, "==", 1.0,
                                    "" if same else "two runs on the same data gave different signals"))
    ns_per_row = min(t1 - t0, t3 - t2) / n
    metrics["ns_per_row"] = ns_per_row
    checks.append(Check.compare("ns_per_row", ns_per_row, "<=", th.max_ns_per_event))
    return GateResult.from_checks("A", checks, "lookahead_mismatches", metrics, dataclasses.asdict(th)), sig
