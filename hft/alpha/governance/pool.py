"""`hft alpha pool NAME --data ...`: the candidate against the promoted pool, on common data.

The *pool* is every alpha with an active promotion (promoted / canary / graduated; `hft.alpha.governance.promotion`),
other than the candidate, each with the parameters it was promoted with. All signals are computed on the same
feature frame (`hft.alpha.research.features.compute_features` with the candidate's feature spec, enough levels for every
member).

* **Correlation matrix**: Spearman rank correlation of every pair of signals over the rows where both are finite.
* **max |corr|**: the candidate's largest absolute correlation with a pool member; at most ``pool.max_corr``
  (default 0.7).
* **Marginal IC**: regress the candidate's signal on the pool signals (OLS with intercept, rows where all are
  finite), and take the Spearman IC of the residual against the forward return at the candidate's primary
  horizon (``gate_b.primary_horizon``, else the first), times ``gate_b.sign``; at least
  ``pool.min_marginal_ic`` (default 0.005). With an empty pool the residual is the demeaned signal itself.
  When the pool explains the signal exactly (residual variance below 1e-12 of the signal's), the marginal IC is
  0 (the residual is rounding noise). ``r2`` reports the share of the candidate's variance the pool explains.
* **Redundancy clusters**: connected components of the graph "|corr| > max_corr" over candidate + pool (only
  clusters of two or more are listed).

The candidate *fails* when it is too correlated with a member or its marginal IC is too small: it adds nothing.
The verdict is recorded as gate ``pool`` in ``audit.alpha_gate_decisions`` (`record_pool`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hft.alpha.api.registry import load_alpha_class, load_config
from hft.alpha.governance.promotion import list_promotions
from hft.alpha.records.audit import GateDecision, write_gate_decisions
from hft.alpha.records.sink import AuditSink, on_sink
from hft.alpha.research.features import FeatureSpec, compute_features, data_hash, horizon_column
from hft.alpha.research.stats import spearman_ic
from hft.core.errors import GovernanceError
from hft.core.market_data import MarketDataSource

__all__ = ["PoolResult", "record_pool", "run_pool"]


@dataclass
class PoolResult:
    alpha_id: str
    version: str
    code_hash: str
    data_hash: str
    passed: bool
    pool: list[str]
    ids: list[str]  # matrix order: candidate first, then the pool
    corr: list[list[float | None]]
    max_abs_corr: float | None
    max_corr_with: str | None
    ic: float | None
    marginal_ic: float | None
    n_rows: int
    clusters: list[list[str]]
    thresholds: dict[str, float]
    reasons: list[str] = field(default_factory=list)
    horizon: str = ""
    r2: float | None = None  # share of the candidate's variance the pool explains (OLS R²)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (what ``--json`` prints and the audit row carries)."""
        return {"gate": "pool", "passed": self.passed, "alpha_id": self.alpha_id, "version": self.version,
                "code_hash": self.code_hash, "data_hash": self.data_hash, "pool": self.pool, "ids": self.ids,
                "corr": self.corr, "max_abs_corr": self.max_abs_corr, "max_corr_with": self.max_corr_with,
                "ic": self.ic, "marginal_ic": self.marginal_ic, "r2": self.r2, "n_rows": self.n_rows, "clusters": self.clusters,
                "horizon": self.horizon, "thresholds": self.thresholds, "reasons": self.reasons}


def _f(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _clusters(ids: list[str], corr: Any, threshold: float) -> list[list[str]]:
    parent = list(range(len(ids)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(ids)):
        for j in range(i + 1, len(ids)):
            c = corr[i][j]
            if c is not None and math.isfinite(c) and abs(c) > threshold:
                parent[find(i)] = find(j)
    groups: dict[int, list[str]] = {}
    for i, a in enumerate(ids):
        groups.setdefault(find(i), []).append(a)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def run_pool(alpha_id: str, data: list[Path] | list[str], *, code_hash: str, source: MarketDataSource,
             max_corr: float | None = None,
             min_marginal_ic: float | None = None, root: Path | None = None,
             promotions_root: Path | None = None, pool_ids: list[str] | None = None) -> PoolResult:
    """Compare `alpha_id` with the promoted pool on `data` (see the module docstring).

    Args:
        code_hash: the candidate's code hash (recorded with the verdict).
        source: opens `data` (`hft.core.market_data.MarketDataSource`; the files on disk: `hft.data.sources.FILES`).
        max_corr / min_marginal_ic: override the alpha config's ``pool`` thresholds.
        root: research root override; promotions_root: promotions root override.
        pool_ids: use these alphas (default params) instead of the active promotions (tests, what-ifs).
    """



    paths = [Path(p) for p in data]
    if not paths:
        raise GovernanceError("pool: expected at least one data file, was none", key="data")
    cls = load_alpha_class(alpha_id, root)
    cfg = load_config(alpha_id, root=root)
    thr_corr = cfg.validation.pool.max_corr if max_corr is None else float(max_corr)
    thr_ic = cfg.validation.pool.min_marginal_ic if min_marginal_ic is None else float(min_marginal_ic)
    if not 0.0 <= thr_corr <= 1.0:
        raise GovernanceError(f"pool: max_corr: expected a number in [0, 1], was {thr_corr}", key="max_corr")
    cand = cls(cfg.params)
    members: list[tuple[str, Any]] = []
    if pool_ids is not None:
        for pid in sorted(set(pool_ids) - {alpha_id}):
            members.append((pid, load_alpha_class(pid, root)(load_config(pid, root=root).params)))
    else:
        seen: dict[str, Any] = {}
        for p in list_promotions(promotions_root):
            if p.active and p.alpha_id != alpha_id:
                seen[p.alpha_id] = p  # the latest active promotion wins (sorted by date)
        for pid in sorted(seen):
            try:
                members.append((pid, load_alpha_class(pid, root)(seen[pid].params)))
            except GovernanceError as exc:
                raise GovernanceError(f"pool: promoted alpha {pid}: {exc.message}", key="pool",
                                      file=seen[pid].file) from None
    levels = max([cfg.features.levels, cand.required_levels(), *(m.required_levels() for _, m in members)])
    spec = dataclasses.replace(cfg.features) if levels == cfg.features.levels else \
        FeatureSpec(levels=levels, sampling=cfg.features.sampling, horizons=cfg.features.horizons)
    feats = compute_features(paths, spec, source=source)
    h = cfg.validation.gate_b.primary_horizon
    h = spec.horizons[0] if h is None else h
    fwd = feats[horizon_column(h)].to_numpy().astype(np.float64)
    sign = cfg.validation.gate_b.sign
    ids = [alpha_id, *(pid for pid, _ in members)]
    sigs = [cand.signal(feats).to_numpy().astype(np.float64)]
    sigs += [m.signal(feats).to_numpy().astype(np.float64) for _, m in members]
    k = len(ids)
    corr: list[list[float | None]] = [[None] * k for _ in range(k)]
    for i in range(k):
        corr[i][i] = 1.0
        for j in range(i + 1, k):
            c = _f(spearman_ic(sigs[i], sigs[j]))
            corr[i][j] = corr[j][i] = c
    reasons: list[str] = []
    max_abs, max_with = None, None
    for j in range(1, k):
        c = corr[0][j]
        if c is not None and (max_abs is None or abs(c) > max_abs):
            max_abs, max_with = abs(c), ids[j]
    if max_abs is not None and max_abs > thr_corr:
        reasons.append(f"max |corr|: expected <= {thr_corr}, was {max_abs:.4f} (with {max_with})")
    ic = _f(spearman_ic(sigs[0], fwd))
    ic = None if ic is None else ic * sign
    ok = np.isfinite(fwd)
    for s in sigs:
        ok &= np.isfinite(s)
    n = int(ok.sum())
    marginal = None
    r2 = None
    if n < k + 3:
        reasons.append(f"marginal IC: expected at least {k + 3} rows where every signal and the forward return "
                       f"are finite, was {n}")
    else:
        y = sigs[0][ok]
        x = np.column_stack([np.ones(n), *(s[ok] for s in sigs[1:])])
        beta, *_ = np.linalg.lstsq(x, y, rcond=None)
        resid = y - x @ beta
        var_y = float(np.var(y))
        r2 = 1.0 - float(np.var(resid)) / var_y if var_y > 0 else 1.0
        if var_y <= 0 or float(np.var(resid)) <= 1e-12 * var_y:
            marginal = 0.0  # the pool explains the signal exactly: the residual is rounding noise, ranks mean nothing
        else:
            m = _f(spearman_ic(resid, fwd[ok]))
            marginal = None if m is None else m * sign
        if marginal is None or marginal < thr_ic:
            reasons.append(f"marginal IC: expected >= {thr_ic} after orthogonalising against the pool "
                           f"({len(members)} alpha(s)), was {marginal if marginal is None else round(marginal, 6)}")
    return PoolResult(alpha_id=alpha_id, version=cls.version, code_hash=code_hash, data_hash=data_hash(paths),
                      passed=not reasons, pool=ids[1:], ids=ids, corr=corr, max_abs_corr=max_abs,
                      max_corr_with=max_with, ic=ic, marginal_ic=marginal, n_rows=n,
                      clusters=_clusters(ids, corr, thr_corr), r2=_f(r2) if r2 is not None else None,
                      thresholds={"max_corr": thr_corr, "min_marginal_ic": thr_ic}, reasons=reasons,
                      horizon=str(h))


def record_pool(res: PoolResult, *, run_id: str = "", experiment_id: str = "", writer: Any = None,
                sink: AuditSink | None = None) -> list[str]:
    """Write the verdict as gate ``pool`` in ``audit.alpha_gate_decisions`` (WAL first); returns record ids.

    `writer`: a `write_gate_decisions`-like callable (default `hft.alpha.records.audit.write_gate_decisions` on
    `sink`, the audit rows' `hft.alpha.records.sink.AuditSink`; the store: `hft.recorder.alpha_audit.AUDIT`).
    """
    writer = on_sink(writer, write_gate_decisions, sink, "record_pool")
    row = GateDecision(alpha_id=res.alpha_id, version=res.version, code_hash=res.code_hash, data_hash=res.data_hash,
                       gate="pool", passed=res.passed, metric="marginal_ic",
                       value=res.marginal_ic if res.marginal_ic is not None else float("nan"),
                       threshold=res.thresholds["min_marginal_ic"],
                       metrics={k: v for k, v in res.to_dict().items() if k not in ("thresholds", "reasons")},
                       thresholds=res.thresholds, reasons=list(res.reasons), experiment_id=experiment_id,
                       run_id=run_id)
    return writer([row])
