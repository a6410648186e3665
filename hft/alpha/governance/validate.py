"""`validate`: run gates A, B and C (and the alpha's house gates) on an alpha over recorded data, record every trial and decision.

Steps (any error before step 6 writes nothing):

1. Load the alpha class and its config through the registry (by id), the params from the config.
2. Features (`compute_features`, cached by data hash) for the config's `FeatureSpec`.
3. Gate A (integrity) → the validated signal. Gate B (predictive power) on it. The house gates of
   ``validation.extra_gates`` (`hft.alpha.gates.registry`) on the same inputs; their results join the verdict
   after C.
4. Gate C inputs: the base params and each parameter-sensitivity variant (`gate_c.param_variants`) are run
   through the strategy (`gate_c.strategy_returns`); too few periods for ``pbo_blocks`` /
   ``walk_forward_folds`` is a `DataValidationError`.
5. PNG plots into `plots_dir` (default ``$HFT_HOME/runs/validate/<experiment_id>/``).
6. With `record`: every evaluated variant is recorded as a trial (kind ``validate``) in the experiment
   registry FIRST, then the family's trial count and Sharpe variance are read back (so DSR counts this run),
   and PBO's matrix gets the family's recorded trials on the same data with the same number of periods.
   Without `record` (a dry run) nothing is read or written: DSR and PBO see only this run's variants.
7. Gate C is decided; with `record`, one ``audit.alpha_gate_decisions`` row per gate.

The alpha's family is ``getattr(alpha_cls, "family", alpha_id)``. The code hash is
`experiments.code_hash` of the alpha's folder and ``hft/alpha`` — the same as `hft.alpha.records.experiments.alpha_code_hash`,
so promotion finds these verdicts — plus the ``config_path`` file when one is given: a validation under another
config (other thresholds) gets its own code hash and cannot stand in for the alpha's own config.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hft.alpha.api.registry import alpha_dir, load_alpha_class, load_config
from hft.alpha.gates import gate_a as ga
from hft.alpha.gates import gate_b as gb
from hft.alpha.gates import gate_c as gc
from hft.alpha.gates.registry import GateInputs, run_extra_gates
from hft.alpha.gates.result import Check, GateResult, json_safe, pool_days
from hft.alpha.records.audit import GateDecision, write_gate_decisions
from hft.alpha.records.experiments import ExperimentRegistry, Trial, code_hash, new_experiment_id
from hft.alpha.research import stats
from hft.alpha.research.days import day_features
from hft.alpha.research.features import data_hash, horizon_column
from hft.core.errors import DataValidationError, GovernanceError
from hft.core.market_data import MarketDataSource
from hft.core.paths import hft_home

__all__ = ["Scorecard", "validate"]

Progress = Callable[[str, int, int], None]
_STEPS = ("load", "features", "gate A", "gate B", "house gates", "variants", "plots", "record", "gate C", "audit")


@dataclass
class Scorecard:
    """The outcome of `validate`.

    Attributes:
        alpha_id, version, family, params: the alpha under test.
        experiment_id, run_id: registry ids of this run (the experiment id names the plots folder).
        data, data_hash, code_hash, features: inputs (paths, content hash, code version, feature spec).
        n_rows: feature rows.
        gates: the `GateResult` of A, B, C, then of each house gate.
        variants: per variant (base first): name, params, Sharpe, primary-horizon IC.
        plots: PNG paths.
        recorded: trials and audit rows were written.
        timings: seconds per step.
        days: one entry per day of `data` (`hft.alpha.research.days`): ``day`` (label), ``data``, ``data_hash``,
            ``n_rows``, and with several days ``gates``: that day's own A, B, C (the `gates` above are pooled:
            A passes only when every day passes; B and C are computed on every day's rows / periods together).
    """
    alpha_id: str
    version: str
    family: str
    params: dict[str, Any]
    experiment_id: str
    run_id: str
    data: list[str]
    data_hash: str
    code_hash: str
    features: dict[str, Any]
    n_rows: int
    gates: list[GateResult] = field(default_factory=list)
    variants: list[dict[str, Any]] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)
    recorded: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    days: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Every gate passed."""
        return bool(self.gates) and all(g.passed for g in self.gates)

    def gate(self, name: str) -> GateResult:
        """The result of the gate called `name` ("A", "B", "C" or a house gate's name)."""
        found = next((g for g in self.gates if g.gate == name), None)
        if found is None:
            raise GovernanceError(f"scorecard of {self.alpha_id}: expected a gate in {[g.gate for g in self.gates]}, "
                                  f"was {name!r}", key="gate")
        return found

    def __repr__(self) -> str:
        """One line: the alpha, the verdict and each gate's headline (everything else: `to_dict`)."""
        gates = ", ".join(f"{g.gate} {'pass' if g.passed else 'FAIL'} {g.metric}={g.value:.4g}" for g in self.gates)
        return (f"Scorecard(alpha_id={self.alpha_id!r}, version={self.version!r}, params={self.params!r}, "
                f"passed={self.passed}, gates=[{gates}], n_rows={self.n_rows:,}, days={max(len(self.days), 1)}, "
                f"experiment_id={self.experiment_id!r}, recorded={self.recorded})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (strict JSON: NaN → null)."""
        return json_safe({
            "ok": True, "passed": self.passed, "alpha_id": self.alpha_id, "version": self.version,
            "family": self.family, "params": self.params, "experiment_id": self.experiment_id,
            "run_id": self.run_id, "data": self.data, "data_hash": self.data_hash, "code_hash": self.code_hash,
            "features": self.features, "n_rows": self.n_rows, "gates": [g.to_dict() for g in self.gates],
            "variants": self.variants, "plots": self.plots, "recorded": self.recorded, "timings": self.timings,
            "days": [{**d, "gates": [g.to_dict() for g in d["gates"]]} if "gates" in d else d for d in self.days],
        })


def _paths(data: Sequence[Path | str], source: MarketDataSource) -> list[Path]:

    if isinstance(data, str | Path):
        data = [data]
    paths = [Path(p) for p in data]
    source.group_days(paths)  # every file exists, none twice, at least one
    return paths


def _primary_ic(signal: np.ndarray, fwd: np.ndarray, buckets: np.ndarray) -> float:

    _, ics = stats.bucket_ic(signal, fwd, buckets, "spearman")
    ics = ics[np.isfinite(ics)]
    return float(ics.mean()) if len(ics) else math.nan


def validate(alpha_id: str, data: Sequence[Path | str], *, source: MarketDataSource,
             config_path: Path | str | None = None, registry: ExperimentRegistry | None = None,
             record: bool = True, plots_dir: Path | str | None = None, progress: Progress | None = None,
             plots: bool = True) -> Scorecard:
    """Validate `alpha_id` on `data` (see the module docstring).

    Args:
        alpha_id: alpha id (found under the research root by id).
        data: market-data file(s) (LOBSTER zip / CSV pair, imported Parquet, Binance captures, ...).
        source: groups `data` into days and opens them (`hft.core.market_data.MarketDataSource`; the files on
            disk: `hft.data.sources.FILES`).
        config_path: a config file instead of the alpha's ``config.yaml``.
        registry: the `ExperimentRegistry` the trials are recorded in (required with `record`); the gate
            decisions go to its sink too. The CLI's holds one store open from the first record to the end
            (`hft.recorder.alpha_audit.held`).
        record: record trials and gate decisions (False: a dry run that reads and writes nothing).
        plots_dir: folder for the PNGs (default ``$HFT_HOME/runs/validate/<experiment_id>/``).
        progress: called as ``progress(step, index, total)`` before each step.
        plots: write the PNGs (False skips them: benchmarks).

    Raises:
        GovernanceError (unknown alpha, bad params, compute raising / wrong output), ConfigError (bad config),
        DataValidationError (missing / too short data). A failed gate is NOT an exception: see
        `Scorecard.passed`.
    """
    if record and registry is None:
        raise TypeError("validate: record=True needs registry=ExperimentRegistry(sink) (or record=False), was None")
    timings: dict[str, float] = {}
    state: dict[str, Any] = {"name": None, "t": 0.0}

    def step(name: str | None) -> None:
        now = time.perf_counter()
        if state["name"] is not None:
            timings[state["name"]] = round(now - state["t"], 4)
        state.update(name=name, t=now)
        if progress is not None and name is not None:
            progress(name, _STEPS.index(name), len(_STEPS))

    step("load")
    cls = load_alpha_class(alpha_id)
    cfg = load_config(alpha_id, config_path)
    alpha = cls(cfg.params)
    params = dataclasses.asdict(alpha.params)
    family = str(getattr(cls, "family", alpha_id) or alpha_id)
    paths = _paths(data, source)
    va = cfg.validation

    step("features")
    dhash = data_hash(paths)
    days = day_features(paths, cfg.features, source=source)
    labels = [d.label for d in days]
    h_rows = cfg.features.horizon_rows()
    for d in days:
        if d.features.height <= max(h_rows):
            raise DataValidationError(
                f"validate: {d.label}: expected more than {max(h_rows)} feature rows for the longest horizon "
                f"{cfg.features.horizons[h_rows.index(max(h_rows))]!r}, was {d.features.height}",
                key="features.horizons", file=str(d.paths[0]), hint="use longer data or shorter horizons")
    frames = [d.features for d in days]
    n = sum(f.height for f in frames)

    step("gate A")
    per_a = [ga.gate_a(alpha, f, va.gate_a) for f in frames]
    sigs = [s for _, s in per_a]
    res_a = per_a[0][0] if len(days) == 1 else pool_days([r for r, _ in per_a], labels)
    sig = np.concatenate(sigs)

    step("gate B")
    primary = horizon_column(va.gate_b.primary_horizon if va.gate_b.primary_horizon is not None
                             else cfg.features.horizons[0])

    def b_inputs(fs: list[Any]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        ts_ = np.concatenate([f["ts"].to_numpy() for f in fs])
        fwd_ = {horizon_column(h): np.concatenate([f[horizon_column(h)].to_numpy().astype(np.float64) for f in fs])
                for h in cfg.features.horizons}
        return ts_, fwd_

    ts, fwd = b_inputs(frames)
    res_b, series = gb.gate_b(sig, ts, fwd, va.gate_b, primary)
    per_b = [_day_gate_b(gb, s, *b_inputs([f]), va.gate_b, primary) for s, f in zip(sigs, frames, strict=True)] \
        if len(days) > 1 else []

    step("house gates")  # before anything is recorded: a gate that breaks leaves no trace
    extra = run_extra_gates(va.extra_gates, GateInputs(alpha_id, params, labels, frames, sigs, ts, sig, fwd)) \
        if va.extra_gates else []

    step("variants")
    th_c = va.gate_c
    buckets = ts // int(va.gate_b.bucket_ns)
    good, refused = gc.param_variants(cls, params, th_c.sensitivity_step)
    variants: list[dict[str, Any]] = []
    per_day_sr: list[list[Any]] = []  # per variant: its StrategyReturns of each day
    for name, p in [("base", params), *good]:
        if name == "base":
            day_sigs = sigs
        else:
            try:
                day_sigs = [cls(p).signal(f).to_numpy().astype(np.float64) for f in frames]
            except GovernanceError as exc:
                refused.append({"name": name, "params": p, "reason": exc.message})
                continue
        srs = [gc.strategy_returns(s, f["mid"].to_numpy().astype(np.float64),
                                   f["spread"].to_numpy().astype(np.float64), f["ts"].to_numpy(), th_c,
                                   va.gate_b.sign) for s, f in zip(day_sigs, frames, strict=True)]
        per_day_sr.append(srs)
        r = np.concatenate([x.base for x in srs])
        variants.append({"name": name, "params": p, "sharpe": gc.safe_sharpe(r), "n_obs": len(r),
                         "ic": _primary_ic(np.concatenate(day_sigs), fwd[primary], buckets)})
    base_sr = gc.StrategyReturns(np.concatenate([x.periods for x in per_day_sr[0]]),
                                 {k: np.concatenate([x.scenarios[k] for x in per_day_sr[0]])
                                  for k in per_day_sr[0][0].scenarios})
    returns = [np.concatenate([x.base for x in srs]) for srs in per_day_sr]
    n_periods = len(base_sr.periods)
    need = max(th_c.pbo_blocks, th_c.walk_forward_folds, 3)
    if n_periods < need:
        raise DataValidationError(
            f"gate C: expected at least {need} periods of {th_c.period} (pbo_blocks / walk_forward_folds), the "
            f"data gives {n_periods}", key="validation.gate_c.period",
            hint="use longer data or a shorter gate_c.period / fewer pbo_blocks")
    matrix = np.column_stack(returns)
    base = variants[0]
    for v in variants:
        v["d_sharpe"] = v["sharpe"] - base["sharpe"]
        v["d_ic"] = v["ic"] - base["ic"]
    wf = gc.walk_forward(matrix, th_c.walk_forward_folds)
    stress = {k: gc.safe_sharpe(v) for k, v in base_sr.scenarios.items() if k not in ("base", "gross")}

    experiment_id = new_experiment_id(alpha_id, "validate")
    run_id = secrets.token_hex(8)
    step("plots")
    plot_paths: list[str] = []
    if plots:
        from hft.alpha.research.plots import write_validation_plots

        folder = Path(plots_dir) if plots_dir is not None else hft_home() / "runs" / "validate" / experiment_id
        plot_paths = [str(p) for p in write_validation_plots(folder, series, res_b.metrics,
                                                             f"{alpha_id} {cls.version}")]

    step("record")
    chash = code_hash([alpha_dir(alpha_id), Path(__file__).resolve().parents[1],
                       *([Path(config_path)] if config_path is not None else [])])
    card = Scorecard(alpha_id, cls.version, family, params, experiment_id, run_id, [str(p) for p in paths], dhash,
                     chash, cfg.features.to_dict(), n, variants=variants, plots=plot_paths,
                     days=[{"day": d.label, "data": [str(p) for p in d.paths], "data_hash": d.data_hash,
                            "n_rows": d.features.height} for d in days])

    def decide(reg: Any) -> None:
        extra_cols: list[np.ndarray] = []
        if reg is not None:
            _record_trials(reg, card, returns, va.gate_a.lookahead_seed)
            fam = reg.family_stats(family)
            n_trials, var_sharpe = fam.n_trials, fam.var_sharpe
            for t in reg.trials(family=family, data_hash=dhash):
                pr = t.metrics.get("period_returns")
                if t.experiment_id != experiment_id and isinstance(pr, list) and len(pr) == n_periods:
                    col = np.asarray([np.nan if x is None else x for x in pr], np.float64)
                    if np.isfinite(col).all():
                        extra_cols.append(col)
        else:
            srs = np.array([v["sharpe"] for v in variants], np.float64)
            srs = srs[np.isfinite(srs)]
            n_trials, var_sharpe = len(variants), float(np.var(srs, ddof=1)) if len(srs) >= 2 else 0.0
        step("gate C")
        trial_matrix = np.column_stack([matrix, *extra_cols]) if extra_cols else matrix
        res_c = gc.gate_c(base_sr.base, n_trials=n_trials, var_sharpe=var_sharpe, trial_returns=trial_matrix,
                          walk_forward_share=wf["positive_share"], stress_sharpes=stress, th=th_c,
                          extra_metrics={"sharpe_gross": gc.safe_sharpe(base_sr.scenarios["gross"]),
                                         "walk_forward": wf["folds"], "sensitivity": variants,
                                         "sensitivity_refused": refused, "period": th_c.period,
                                         "recorded_trials_in_pbo": len(extra_cols)})
        card.gates = [res_a, res_b, res_c, *extra]
        if len(days) > 1:
            per_c = [_day_gate_c(gc, [srs[i] for srs in per_day_sr], n_trials, var_sharpe, th_c, need)
                     for i in range(len(days))]
            for pooled, per in ((res_b, per_b), (res_c, per_c)):
                pooled.metrics["days"] = [{"day": lab, "passed": r.passed, "metric": r.metric, "value": r.value,
                                           "reasons": r.reasons} for r, lab in zip(per, labels, strict=True)]
            for d, ra, rb, rc in zip(card.days, per_a, per_b, per_c, strict=True):
                d["gates"] = [ra[0], rb, rc]
        step("audit")
        if reg is not None:
            _write_decisions(reg, card)
            card.recorded = True

    decide(registry if record else None)
    step(None)
    card.timings = timings
    return card


def _day_gate_b(gb: Any, sig: np.ndarray, ts: np.ndarray, fwd: dict[str, np.ndarray], th: Any,
                primary: str) -> GateResult:
    """Gate B on one day; a day too short for it on its own (too few buckets) gets a not-applicable result."""
    try:
        return gb.gate_b(sig, ts, fwd, th, primary)[0]
    except DataValidationError as exc:
        return GateResult.from_checks("B", [Check.not_applicable("buckets", ">=", 3, f"{exc.message} on this "
                                                                 f"day: judged pooled")], "buckets", {},
                                      dataclasses.asdict(th))


def _day_gate_c(gc: Any, srs: list[Any], n_trials: int, var_sharpe: float, th: Any, need: int) -> GateResult:
    """Gate C on one day's periods: this run's variants on that day (the pooled run's trial count and Sharpe
    variance for DSR). A day with fewer than `need` periods gets a not-applicable result."""
    base = srs[0]
    if len(base.periods) < need:
        return GateResult.from_checks("C", [Check.not_applicable(
            "periods", ">=", need, f"{len(base.periods)} periods of {th.period} on this day: too few for gate C "
            f"on its own (judged pooled)")], "periods", {"n_obs": len(base.periods)}, dataclasses.asdict(th))
    matrix = np.column_stack([x.base for x in srs])
    wf = gc.walk_forward(matrix, th.walk_forward_folds)
    stress = {k: gc.safe_sharpe(v) for k, v in base.scenarios.items() if k not in ("base", "gross")}
    return gc.gate_c(base.base, n_trials=n_trials, var_sharpe=var_sharpe, trial_returns=matrix,
                     walk_forward_share=wf["positive_share"], stress_sharpes=stress, th=th,
                     extra_metrics={"sharpe_gross": gc.safe_sharpe(base.scenarios["gross"]),
                                    "walk_forward": wf["folds"], "period": th.period})


def _record_trials(reg: Any, card: Scorecard, returns: list[np.ndarray], seed: int) -> None:

    now = time.time_ns()
    trials = []
    for i, (v, r) in enumerate(zip(card.variants, returns, strict=True)):
        metrics = json_safe({"sharpe": v["sharpe"], "n_obs": v["n_obs"], "ic": v["ic"], "variant": v["name"],
                             "period_returns": r})
        trials.append(Trial(experiment_id=card.experiment_id, alpha_id=card.alpha_id, family=card.family,
                            version=card.version, trial=i, kind="validate", params=dict(v["params"]),
                            metrics=metrics, code_hash=card.code_hash, data_hash=card.data_hash, seed=int(seed),
                            status="ok", started_ns=now, finished_ns=now))
    reg.record(trials)


def _write_decisions(reg: Any, card: Scorecard) -> None:

    rows = [GateDecision(alpha_id=card.alpha_id, version=card.version, code_hash=card.code_hash,
                         data_hash=card.data_hash, gate=g.gate, passed=bool(g.passed), metric=g.metric,
                         value=g.value, threshold=g.threshold, metrics=json_safe(g.metrics),
                         thresholds=json_safe(g.thresholds), reasons=list(g.reasons),
                         experiment_id=card.experiment_id, run_id=card.run_id)
            for g in card.gates]
    write_gate_decisions(rows, sink=reg.sink)
