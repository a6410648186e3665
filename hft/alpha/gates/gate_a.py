"""Gate A — integrity: coverage, no lookahead, determinism, compute cost.

Lookahead is decided by two EXACT tests, which cannot raise a false alarm on an honest alpha: both compare the
alpha's output at rows that lie before a cut, and an output that depends only on rows up to its own is equal
there by construction (up to 1e-9 relative, which allows floating-point reassociation in windowed sums and
nothing else). A statistical test runs beside them as an advisory: it can only fail the gate together with them.

Checks (thresholds: `hft.alpha.api.config.GateA`):

``coverage``
    Share of rows whose signal is finite, at least ``min_coverage``.

``lookahead_mismatches`` (truncation test: drop the future)
    At ``lookahead_cuts`` cut points (`lookahead_cuts`: one seeded point in each of as many equal strata of
    ``[n/10, n-1]``, so every part of the day, its last tenth included, is reached), the alpha is recomputed on
    the first ``cut`` rows of the FEATURES frame; its output must equal the full-data signal on those rows (same
    nulls, values to 1e-9 relative). Zero mismatching cuts allowed. Each exact test stops at its third
    mismatching cut (the verdict is settled; ``cuts_run`` in the metrics).

    Why truncate the features frame and not the raw data: every feature row depends only on events up to its
    own time (`hft.alpha.research.features` guarantees and tests this; forward returns are never handed to `compute`),
    so the first ``cut`` feature rows of the full data ARE the features of the truncated data. Truncating the
    frame therefore isolates exactly what is under test — the alpha's `compute` — and costs one compute per
    cut instead of one feature build per cut.

``perturbation_mismatches`` (future perturbation: change the future)
    At another ``lookahead_cuts`` stratified cut points (seed ``lookahead_seed + 1``), every row from the cut on
    is changed — every value of every column the alpha reads, ``ts`` included (`perturbed_frame`: integers moved
    by 1–3, floats by 5–50 % of ``|x| + 1``, ``ts`` pushed later but kept increasing; at every other cut the
    rows from the cut on are instead noised rows drawn from the whole day in a seeded random order) — and the alpha is recomputed on the whole frame; its output before the cut
    must not change. This reaches what truncation cannot see: an output that reads the VALUES of later rows
    without depending on the number of rows. Zero mismatching cuts allowed. On a mismatch the columns involved
    are found by perturbing one column at a time at the first failing cut.

    Every recompute of both tests runs on a fresh copy of the alpha (`hft.alpha.api.registry.fresh_alpha`: its
    file executed again): a memo of the full day's signal (a module-level dict, ``functools.cache``, a class or
    instance attribute) cannot answer a truncated or perturbed frame with the full day's values.

``shift_ic_excess`` (advisory statistical test)
    ``|IC(s[t], r[t])| − |IC(s[t−1], r[t])|`` with ``r[t] = mid[t+1]/mid[t] − 1`` the next-row mid return and
    ``s[t−1]`` the signal shifted one row into the past (rank ICs, each series ranked once over its finite
    values: Spearman's IC when nothing is missing): what the signal loses when
    used one row late. A signal that reads the future draws its IC from the next move and loses it all. So does,
    in event time, an honest signal whose information is consumed within a row or two (an L1 imbalance on a
    one-tick book), so no constant bound is right on every day. The bound comes from a null measured on the
    same data: the same statistic for the honest features of the frame (`REFERENCE_SIGNALS`: L1 and depth
    imbalance, micro-price deviation, OFI, signed trade flow; each depends only on its own row), its maximum
    plus the 0.999 two-sided chance level 3.29/sqrt(n), and never below ``lookahead_max_shift_ic``. Above the
    bound the check FAILS only when an exact test failed too; otherwise it passes with a warning
    (`GateResult.warnings`).

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
import polars as pl

from hft.alpha.api.base import validate_signal
from hft.alpha.api.registry import fresh_alpha
from hft.alpha.gates.result import Check, GateResult
from hft.core.errors import GovernanceError

__all__ = ["REFERENCE_SIGNALS", "gate_a", "lookahead_cuts", "perturbed_frame", "raw_signal", "shift_ic_excess",
           "shift_null"]

_REL_TOL = 1e-9
_CHANCE_Z = 3.29  # two-sided 0.999 normal quantile
_STOP_AFTER = 3  # an exact test stops after this many mismatching cuts: the verdict is settled

# Honest reference signals for the shift test's null: name -> (columns, numpy function of those columns)
REFERENCE_SIGNALS: dict[str, tuple[tuple[str, ...], Any]] = {
    "imb_1": (("imb_1",), lambda x: x),
    "imb_depth": (("imb_depth",), lambda x: x),
    "microprice_dev": (("microprice", "mid"), lambda mp, m: mp - m),
    "ofi": (("ofi",), lambda x: x),
    "trade_signed_qty": (("trade_signed_qty",), lambda x: x),
}


def _input_columns(alpha: Any, features: Any) -> list[str]:
    need = alpha.required_features()
    return ["ts", *[c for c in need if c != "ts"]] if "ts" in features.columns else list(need)


def raw_signal(alpha: Any, features: Any, context: str = "") -> np.ndarray:
    """`alpha.compute` on ``ts`` + the required columns of `features`, as float64 with NaN for missing.

    Like `Alpha.signal` but without the "at least one finite value" rule (a short prefix may still be in the
    alpha's warm-up). Type and length are checked (GovernanceError).
    """


    try:
        out = alpha.compute(features.select(_input_columns(alpha, features)))
    except GovernanceError:
        raise
    except Exception as exc:
        where = context or f"on the first {features.height} rows"
        raise GovernanceError(f"alpha {alpha.alpha_id}: compute raised {type(exc).__name__}: {exc} ({where})",
                              key="compute") from exc
    if isinstance(out, pl.Series) and len(out) == features.height and out.dtype in (pl.Float64, pl.Float32):
        return out.cast(pl.Float64).fill_nan(None).to_numpy().astype(np.float64, copy=False)
    validate_signal(out, features.height, alpha.alpha_id)  # raises the precise error
    raise AssertionError("unreachable")


def lookahead_cuts(n_rows: int, n_cuts: int, seed: int) -> np.ndarray:
    """Sorted distinct cut points (prefix lengths) in ``[max(2, n/10), n-1]``: the range split into `n_cuts`
    equal strata, one point drawn in each with `seed` (so the cuts cover the whole day, its end included)."""
    lo = max(2, n_rows // 10)
    hi = n_rows - 1
    if hi < lo or n_cuts < 1:
        return np.empty(0, np.int64)
    rng = np.random.default_rng(seed)
    edges = np.linspace(lo, hi + 1, n_cuts + 1)
    pts = np.floor(edges[:-1] + rng.random(n_cuts) * np.diff(edges)).astype(np.int64)
    return np.unique(np.clip(pts, lo, hi)).astype(np.int64)


def _first_difference(full: np.ndarray, other: np.ndarray, upto: int) -> int:
    """First row < `upto` where `other` differs from `full` (nulls and values to 1e-9 relative), else -1."""
    a, b = full[:upto], other[:upto]
    na, nb = np.isnan(a), np.isnan(b)
    diff = na != nb
    both = ~(na | nb)
    tol = _REL_TOL * np.maximum(1.0, np.abs(a))
    diff[both] |= np.abs(a[both] - b[both]) > tol[both]
    return int(np.argmax(diff)) if diff.any() else -1


def perturbed_frame(features: Any, columns: list[str], seed: int) -> Any:
    """`columns` of `features` with EVERY non-null value changed (a null stays null): integers moved by 1..3,
    floats by 5–50 % of ``|x| + 1`` (never zero), ``ts`` moved later by an increasing offset (kept strictly
    increasing and after the original time of every row). Booleans are negated, other types left as they are."""
    rng = np.random.default_rng(seed)
    n = features.height
    out: dict[str, Any] = {}
    for c in columns:
        s = features[c]
        if c == "ts":
            out[c] = s + pl.Series(np.cumsum(rng.integers(1, 1000, n)), dtype=pl.Int64)
        elif s.dtype.is_integer():
            out[c] = s + pl.Series(rng.integers(1, 4, n)).cast(s.dtype)
        elif s.dtype.is_float():
            u = pl.Series(rng.uniform(0.05, 0.5, n))
            out[c] = s + u * (s.abs() + 1.0)
        elif s.dtype == pl.Boolean:
            out[c] = ~s
        else:
            out[c] = s
    return pl.DataFrame(out)


def _splice(orig: Any, pert: Any, cut: int) -> Any:
    """Rows ``[0, cut)`` of `orig`, then rows ``[cut, n)`` of `pert`."""
    return pl.concat([orig.head(cut), pert.slice(cut)], how="vertical")


def _shuffled(frame: Any, seed: int) -> Any:
    """`frame` with its rows permuted (seeded), ``ts`` left in place (it must keep increasing)."""
    perm = np.random.default_rng(seed).permutation(frame.height)
    return frame.with_columns([frame[c].gather(perm) for c in frame.columns if c != "ts"])


def _mismatch_note(kind: str, bad: list[dict[str, Any]], n_cuts: int, what: str) -> str:
    b = bad[0]
    cols = b.get("columns")
    col_txt = (f"; feature columns involved: {', '.join(cols)}" if cols else
               "; no single column: it depends on the rows after the cut as a whole" if cols == [] else "")
    stop = " (stopped there)" if len(bad) == _STOP_AFTER else ""
    return (f"lookahead ({kind}): {len(bad)} of {n_cuts} cuts run{stop} changed the signal before the cut; "
            f"first at cut {b['cut']}: {what}, the signal at row {b['first_row']} (before the cut) changed{col_txt}")


def _involved_columns(alpha: Any, features: Any, sig: np.ndarray, cut: int, seed: int) -> list[str]:
    """Columns whose perturbation ALONE, from `cut` on, changes the signal before `cut`."""
    cols = _input_columns(alpha, features)
    base = features.select(cols)
    pert = perturbed_frame(base, cols, seed)
    out = []
    for c in cols:
        frame = base.with_columns(_splice(base.select(c), pert.select(c), cut)[c])
        try:
            if _first_difference(sig, raw_signal(fresh_alpha(alpha), frame), cut) >= 0:
                out.append(c)
        except GovernanceError:
            out.append(c)
    return out


def _ranks(x: np.ndarray) -> np.ndarray:
    """1-based average ranks of the finite values of `x` (ties share their mean rank), NaN elsewhere."""
    out = np.full(len(x), np.nan)
    idx = np.flatnonzero(np.isfinite(x))
    if len(idx) == 0:
        return out
    order = np.argsort(x[idx], kind="stable")
    v = x[idx][order]
    start = np.empty(len(v), bool)
    start[0] = True
    start[1:] = v[1:] != v[:-1]
    starts = np.flatnonzero(start)
    ends = np.append(starts[1:], len(v)) - 1
    avg = (starts + ends) / 2.0 + 1.0
    out[idx[order]] = np.repeat(avg, ends - starts + 1)
    return out


def _rank_corr(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Pearson correlation of two rank vectors over the rows where both are finite, and that row count.

    Element-wise sums, not BLAS dot products: a threaded BLAS spins badly on a loaded machine."""
    m = np.isfinite(a) & np.isfinite(b)
    n = int(np.count_nonzero(m))
    if n < 3:
        return math.nan, n
    dx = a[m] - a[m].mean()
    dy = b[m] - b[m].mean()
    sxx, syy = float(np.sum(dx * dx)), float(np.sum(dy * dy))
    if not (sxx > 0.0 and syy > 0.0):
        return math.nan, n
    return min(1.0, max(-1.0, float(np.sum(dx * dy)) / math.sqrt(sxx * syy))), n


def _next_row_return(mid: np.ndarray) -> np.ndarray:
    m = np.asarray(mid, np.float64)
    r = np.full(len(m), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        r[:-1] = m[1:] / m[:-1] - 1.0
    return r


def _shift_from_ranks(rs: np.ndarray, rr: np.ndarray) -> dict[str, float]:
    ic_now, n = _rank_corr(rs, rr)
    lagged = np.full(len(rs), np.nan)
    lagged[1:] = rs[:-1]
    ic_late, _ = _rank_corr(lagged, rr)
    excess = abs(ic_now) - abs(ic_late) if math.isfinite(ic_now) and math.isfinite(ic_late) else math.nan
    return {"ic_next_row": ic_now, "ic_next_row_shifted": ic_late, "excess": excess, "n_pairs": n,
            "chance_bound": _CHANCE_Z / math.sqrt(n) if n else math.nan}


def shift_ic_excess(signal: np.ndarray, mid: np.ndarray, *, return_ranks: np.ndarray | None = None
                    ) -> dict[str, float]:
    """The statistical lookahead test (see the module docstring): ICs now and one row late, and the excess.

    Rank ICs with each series ranked once over its finite values (so the signal's ranks serve both ICs and the
    return's ranks every signal: pass them as `return_ranks`); with no missing values this is Spearman's IC.
    """
    rr = _ranks(_next_row_return(mid)) if return_ranks is None else return_ranks
    return _shift_from_ranks(_ranks(np.asarray(signal, np.float64)), rr)


def shift_null(features: Any, *, return_ranks: np.ndarray | None = None) -> dict[str, float]:
    """`shift_ic_excess` of each honest `REFERENCE_SIGNALS` entry whose columns the frame has (NaN dropped)."""
    rr = _ranks(_next_row_return(features["mid"].to_numpy())) if return_ranks is None else return_ranks
    out: dict[str, float] = {}
    for name, (cols, fn) in REFERENCE_SIGNALS.items():
        if all(c in features.columns for c in cols):
            x = fn(*(features[c].cast(float).to_numpy().astype(np.float64) for c in cols))
            ex = shift_ic_excess(x, features["mid"], return_ranks=rr)["excess"]
            if math.isfinite(ex):
                out[name] = ex
    return out


def _structural(alpha: Any, features: Any, sig: np.ndarray, th: Any) -> tuple[dict[str, Any], list[Check]]:
    """The two exact lookahead tests: (metrics, checks)."""
    n = features.height
    cols = _input_columns(alpha, features)
    base = features.select(cols)

    cuts = lookahead_cuts(n, th.lookahead_cuts, th.lookahead_seed)
    bad: list[dict[str, Any]] = []
    run = 0
    for cut in cuts.tolist():
        run += 1
        row = _first_difference(sig, raw_signal(fresh_alpha(alpha), base.head(cut)), cut)
        if row >= 0:
            bad.append({"cut": cut, "first_row": row})
            if len(bad) == _STOP_AFTER:
                break
    if bad:
        bad[0]["columns"] = _involved_columns(alpha, features, sig, bad[0]["cut"], th.lookahead_seed)
    trunc = {"cuts": cuts.tolist(), "cuts_run": run, "mismatches": bad, "n_mismatches": len(bad)}
    checks = [Check.compare("lookahead_mismatches", float(len(bad)), "<=", 0.0, _mismatch_note(
        "truncation", bad, run, f"with the rows from {bad[0]['cut']} on removed") if bad else "")]

    pseed = th.lookahead_seed + 1
    pcuts = lookahead_cuts(n, th.lookahead_cuts, pseed)
    noise = perturbed_frame(base, cols, pseed)
    shuffled_noise = _shuffled(noise, pseed)
    pbad: list[dict[str, Any]] = []
    prun = 0
    for i, cut in enumerate(pcuts.tolist()):
        prun += 1
        shuffled = i % 2 == 1
        frame = _splice(base, shuffled_noise if shuffled else noise, cut)
        row = _first_difference(sig, raw_signal(fresh_alpha(alpha), frame, f"gate A future perturbation: every value from row "
                                                              f"{cut} on changed"), cut)
        if row >= 0:
            pbad.append({"cut": cut, "first_row": row, "how": "noised rows of the day in random order" if shuffled
                         else "noise"})
            if len(pbad) == _STOP_AFTER:
                break
    if pbad:
        pbad[0]["columns"] = _involved_columns(alpha, features, sig, pbad[0]["cut"], pseed)
    perturb = {"cuts": pcuts.tolist(), "cuts_run": prun, "mismatches": pbad, "n_mismatches": len(pbad)}
    checks.append(Check.compare("perturbation_mismatches", float(len(pbad)), "<=", 0.0, _mismatch_note(
        "future perturbation", pbad, prun, f"with every value from row {pbad[0]['cut']} on changed "
        f"({pbad[0]['how']})") if pbad else ""))
    return {"lookahead": trunc, "perturbation": perturb}, checks


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

    lk_metrics, lk_checks = _structural(alpha, features, sig, th)
    metrics.update(lk_metrics)
    checks.extend(lk_checks)
    exact_failed = not all(c.passed for c in lk_checks)

    rr = _ranks(_next_row_return(features["mid"].to_numpy()))
    shift = shift_ic_excess(sig, features["mid"], return_ranks=rr)
    null = shift_null(features, return_ranks=rr)
    null_max = max(null.values(), default=math.nan)
    chance = shift["chance_bound"] if math.isfinite(shift["chance_bound"]) else 0.0
    bound = max(th.lookahead_max_shift_ic, null_max + chance) if math.isfinite(null_max) else \
        max(th.lookahead_max_shift_ic, chance)
    shift.update(null=null, null_max=null_max, bound=bound)
    metrics["shift_test"] = shift
    if not math.isfinite(shift["excess"]):
        checks.append(Check.not_applicable("shift_ic_excess", "<=", bound,
                                           "shift test: no finite IC (signal or mid constant)"))
    else:
        ref = max(null, key=null.get) if null else "none"
        checks.append(Check.advisory(
            "shift_ic_excess", shift["excess"], "<=", bound,
            f"shift test: the signal loses {shift['excess']:.4f} of |IC| with the next-row return when shifted "
            f"one row into the past, more than honest features on this data (bound {bound:.4f} = max of "
            f"{ref} {null_max:.4f} + chance {chance:.4f}, floor {th.lookahead_max_shift_ic:g})" + (
                ": it reads the future" if exact_failed else
                "; the exact tests found no lookahead, so this is a warning only"),
            binding=exact_failed))

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
