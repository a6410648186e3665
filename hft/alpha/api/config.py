"""An alpha's ``config.yaml``: parameters, the feature spec and the validation thresholds, strictly parsed.

```yaml
alpha: obi_l1                 # required; must equal the folder name / the class's alpha_id
params:                       # optional; checked against the alpha's Params (unknown / wrong type: error)
  smooth: 1
features:                     # optional; defaults shown
  levels: 5                   # book levels per side
  sampling: event             # "event" or a duration ("100ms", "1s")
  horizons: [1, 10, 100]      # rows (event time) or durations, multiples of the step (clock)
validation:                   # optional; every key optional, defaults below
  gate_a:                     # integrity
    min_coverage: 0.9         # share of rows with a finite signal
    lookahead_cuts: 20        # stratified cut points of each exact lookahead test (truncation, future
                              # perturbation)
    lookahead_seed: 7
    lookahead_max_shift_ic: 0.05   # floor of the advisory shift test's bound, which is measured on the data
                                   # (see hft.alpha.gates.gate_a)
    determinism: true         # two runs must be identical
    max_ns_per_event: 2000    # compute cost budget per input row
  gate_b:                     # predictive power
    bucket: 30m               # IC time bucket
    min_ic: 0.01              # mean Spearman IC at the primary horizon, at least (sign-aware: see `sign`)
    min_ic_ir: 0.5            # IC mean / IC std (ddof=1), at least
    min_t_stat: 2.0
    min_hit_rate: 0.5         # share of buckets whose IC has the expected sign
    primary_horizon: null     # a horizon from features.horizons; null: the first
    quantiles: 5
    oos_fraction: 0.3         # last share of the data kept out of sample
    sign: 1                   # expected sign of the IC (1 or -1)
  gate_c:                     # robustness and overfitting
    min_psr: 0.95
    min_dsr: 0.9
    max_pbo: 0.5
    pbo_blocks: 10
    walk_forward_folds: 5
    min_walk_forward_positive: 0.6   # share of folds with positive net Sharpe, at least
    cost_spread_multiplier: 1.0   # base case: the half-spread crossing cost times this (1: every change of
                                  # position crosses half the spread; below 1 models passive fills)
    cost_spread_multipliers: [1.0, 2.0]   # cost stress: the half-spread crossing cost times each of these
    fee_bps: 0.0              # fee per unit of position traded, in basis points of the mid
    min_trl_confidence: 0.95  # confidence of the Minimum Track Record Length (strictly between 0 and 1)
    period: 5m                # Sharpe period: per-row net returns are summed per period of this length
    min_stress_sharpe: 0.0    # net per-period Sharpe in every cost-stress scenario, more than
    stress_fee_bps: 0.1       # fee stress: one more scenario at the base multiplier with fee_bps + this
    sensitivity_step: 0.25    # parameter sensitivity: numeric params moved by ± this fraction (ints by >= 1)
  pool: {...}                 # lifecycle stages: pool, gate_d, gate_e, canary (hft/alpha/api/lifecycle_config.py)
  gate_d: {...}
  gate_e: {...}
  canary: {...}
```

Gates A/B/C (what each threshold means exactly, the strategy, its cost model and the Sharpe definition):
`hft.alpha.gates.gate_a`, `hft.alpha.gates.gate_b`, `hft.alpha.gates.gate_c`; overview in ``docs/alpha.md``.

Errors: threshold / spec keys → `ConfigError` naming the file and key; params → `GovernanceError` naming the
key (the alpha owns its parameter types).
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hft.alpha.api import lifecycle_config as lc
from hft.alpha.api.lifecycle_config import CanaryPlan, GateD, GateE, PoolConfig
from hft.alpha.gates.registry import HouseGate, resolve_gate
from hft.alpha.research.feature_spec import FeatureSpec
from hft.config.strict import Section, load_yaml
from hft.core.errors import ConfigError, GovernanceError

__all__ = ["AlphaConfig", "GateA", "GateB", "GateC", "ValidationConfig", "load_alpha_config",
           "parse_alpha_config"]


@dataclass(frozen=True)
class GateA:
    min_coverage: float = 0.9
    lookahead_cuts: int = 20
    lookahead_seed: int = 7
    lookahead_max_shift_ic: float = 0.05
    determinism: bool = True
    max_ns_per_event: float = 2000.0


@dataclass(frozen=True)
class GateB:
    bucket: str = "30m"
    bucket_ns: int = 30 * 60 * 1_000_000_000
    min_ic: float = 0.01
    min_ic_ir: float = 0.5
    min_t_stat: float = 2.0
    min_hit_rate: float = 0.5
    primary_horizon: int | str | None = None
    quantiles: int = 5
    oos_fraction: float = 0.3
    sign: int = 1


@dataclass(frozen=True)
class GateC:
    min_psr: float = 0.95
    min_dsr: float = 0.9
    max_pbo: float = 0.5
    pbo_blocks: int = 10
    walk_forward_folds: int = 5
    min_walk_forward_positive: float = 0.6
    cost_spread_multiplier: float = 1.0
    cost_spread_multipliers: tuple[float, ...] = (1.0, 2.0)
    fee_bps: float = 0.0
    min_trl_confidence: float = 0.95
    period: str = "5m"
    period_ns: int = 5 * 60 * 1_000_000_000
    min_stress_sharpe: float = 0.0
    stress_fee_bps: float = 0.1
    sensitivity_step: float = 0.25


@dataclass(frozen=True)
class ValidationConfig:
    gate_a: GateA = field(default_factory=GateA)
    gate_b: GateB = field(default_factory=GateB)
    gate_c: GateC = field(default_factory=GateC)
    # lifecycle stages (hft/alpha/api/lifecycle_config.py)
    pool: PoolConfig = field(default_factory=PoolConfig)
    gate_d: GateD = field(default_factory=GateD)
    gate_e: GateE = field(default_factory=GateE)
    canary: CanaryPlan = field(default_factory=CanaryPlan)
    # house gates run after C (hft/alpha/gates/registry.py): spec → its parameters, in config order
    extra_gates: tuple[HouseGate, ...] = ()


@dataclass(frozen=True)
class AlphaConfig:
    alpha_id: str
    params: dict[str, Any]
    features: FeatureSpec
    validation: ValidationConfig
    file: str | None = None


#: Bounds that keep a small config from asking for unbounded memory or time (checked before anything runs).
MAX_LOOKAHEAD_CUTS = 10_000
MAX_QUANTILES = 1_000


def _fraction(sec: Section, key: str, default: float) -> float:
    v = sec.float(key, default, min_value=0.0)
    if v > 1.0:
        sec.fail(sec.key(key), "a number in [0, 1]", v)
    return v


def _gate_a(sec: Section) -> GateA:
    d = GateA()
    out = GateA(
        min_coverage=_fraction(sec, "min_coverage", d.min_coverage),
        lookahead_cuts=sec.int("lookahead_cuts", d.lookahead_cuts, min_value=1, max_value=MAX_LOOKAHEAD_CUTS),
        lookahead_seed=sec.int("lookahead_seed", d.lookahead_seed, min_value=0),
        lookahead_max_shift_ic=_fraction(sec, "lookahead_max_shift_ic", d.lookahead_max_shift_ic),
        determinism=sec.bool("determinism", d.determinism),
        max_ns_per_event=sec.float("max_ns_per_event", d.max_ns_per_event, min_value=0.0),
    )
    sec.done()
    return out


def _gate_b(sec: Section, spec: FeatureSpec) -> GateB:
    d = GateB()
    bucket_raw = sec.raw("bucket", d.bucket)
    bucket_ns = sec.duration_ns("bucket", d.bucket)
    if bucket_ns <= 0:
        sec.fail(sec.key("bucket"), "a positive duration", bucket_raw)
    primary = sec.raw("primary_horizon", None)
    if primary is not None and primary not in spec.horizons:
        sec.fail(sec.key("primary_horizon"), f"one of features.horizons {list(spec.horizons)}", primary)
    sign = sec.int("sign", d.sign)
    if sign not in (1, -1):
        sec.fail(sec.key("sign"), "1 or -1", sign)
    out = GateB(
        bucket=str(bucket_raw), bucket_ns=bucket_ns,
        min_ic=sec.float("min_ic", d.min_ic),
        min_ic_ir=sec.float("min_ic_ir", d.min_ic_ir),
        min_t_stat=sec.float("min_t_stat", d.min_t_stat),
        min_hit_rate=_fraction(sec, "min_hit_rate", d.min_hit_rate),
        primary_horizon=primary,
        quantiles=sec.int("quantiles", d.quantiles, min_value=2, max_value=MAX_QUANTILES),
        oos_fraction=_fraction(sec, "oos_fraction", d.oos_fraction),
        sign=sign,
    )
    sec.done()
    return out


def _gate_c(sec: Section) -> GateC:
    d = GateC()
    mults = sec.raw("cost_spread_multipliers", list(d.cost_spread_multipliers))
    period_raw = sec.raw("period", d.period)
    period_ns = sec.duration_ns("period", d.period)
    if period_ns <= 0:
        sec.fail(sec.key("period"), "a positive duration", period_raw)
    if (not isinstance(mults, list) or not mults
            or not all(isinstance(m, int | float) and not isinstance(m, bool) and m >= 0 for m in mults)):
        sec.fail(sec.key("cost_spread_multipliers"), "a non-empty list of numbers >= 0", mults)
    out = GateC(
        min_psr=_fraction(sec, "min_psr", d.min_psr),
        min_dsr=_fraction(sec, "min_dsr", d.min_dsr),
        max_pbo=_fraction(sec, "max_pbo", d.max_pbo),
        pbo_blocks=sec.int("pbo_blocks", d.pbo_blocks, min_value=2),
        walk_forward_folds=sec.int("walk_forward_folds", d.walk_forward_folds, min_value=2),
        min_walk_forward_positive=_fraction(sec, "min_walk_forward_positive", d.min_walk_forward_positive),
        cost_spread_multiplier=sec.float("cost_spread_multiplier", d.cost_spread_multiplier, min_value=0.0),
        cost_spread_multipliers=tuple(float(m) for m in mults),
        fee_bps=sec.float("fee_bps", d.fee_bps, min_value=0.0),
        min_trl_confidence=_fraction(sec, "min_trl_confidence", d.min_trl_confidence),
        period=str(period_raw), period_ns=period_ns,
        min_stress_sharpe=sec.float("min_stress_sharpe", d.min_stress_sharpe),
        stress_fee_bps=sec.float("stress_fee_bps", d.stress_fee_bps, min_value=0.0),
        sensitivity_step=sec.float("sensitivity_step", d.sensitivity_step, min_value=0.0),
    )
    if not 0.0 < out.min_trl_confidence < 1.0:
        sec.fail(sec.key("min_trl_confidence"), "a probability strictly between 0 and 1", out.min_trl_confidence)
    if out.pbo_blocks % 2:
        sec.fail(sec.key("pbo_blocks"), "an even integer >= 2 (CSCV splits blocks in halves)", out.pbo_blocks)
    sec.done()
    return out


def _feature_spec(sec: Section) -> FeatureSpec:
    d = FeatureSpec()
    levels = sec.int("levels", d.levels, min_value=1)
    sampling = sec.str("sampling", d.sampling)
    horizons = sec.raw("horizons", list(d.horizons))
    if not isinstance(horizons, list):
        sec.fail(sec.key("horizons"), "a list of horizons", horizons)
    sec.done()
    try:
        return FeatureSpec(levels=levels, sampling=sampling, horizons=tuple(horizons))
    except ConfigError as exc:
        raise ConfigError(f"{sec.file}: {exc.message}", file=sec.file, key=exc.fields.get("key")) from None


def _lifecycle_sections(val: Section) -> dict[str, Any]:
    return {"pool": lc.parse_pool(val.section("pool", {})), "gate_d": lc.parse_gate_d(val.section("gate_d", {})),
            "gate_e": lc.parse_gate_e(val.section("gate_e", {})),
            "canary": lc.parse_canary(val.section("canary", {}))}


def _extra_gates(val: Section) -> tuple[HouseGate, ...]:
    """``validation.extra_gates``: house gate spec → parameters; every gate is found now, once (a missing one fails
    the config, before any work). A relative ``FILE.py`` is relative to the current directory, as for
    ``hft replay -s FILE.py:Class``."""
    raw = val.raw("extra_gates", {}) or {}
    if not isinstance(raw, dict):
        val.fail(val.key("extra_gates"), "a mapping of gate → parameters", raw)
    out: list[HouseGate] = []
    for spec, params in raw.items():
        key = val.key(f"extra_gates.{spec}")
        if not isinstance(spec, str) or not spec.strip():
            val.fail(key, "a gate name, FILE.py:function or module:function", spec)
        if params is not None and not isinstance(params, dict):
            val.fail(key, "a mapping of the gate's parameters (or nothing)", params)
        try:
            name, fn = resolve_gate(spec, key=key)
        except ConfigError as exc:
            raise ConfigError(f"{val.file}: {exc.message}", file=val.file, key=key) from None
        out.append(HouseGate(spec, name, fn, dict(params or {})))
    return tuple(out)


def parse_alpha_config(data: Any, file: str | Path | None = None, alpha_cls: Any = None) -> AlphaConfig:
    """Parse a config mapping (see the module docstring); `alpha_cls` checks the id and the params."""
    root = Section(data, file)
    alpha_id = root.str("alpha")
    params_raw = root.raw("params", {})
    if params_raw is None:
        params_raw = {}
    if not isinstance(params_raw, dict):
        root.fail("params", "a mapping of parameter values", params_raw)
    spec = _feature_spec(root.section("features", {}))
    val = root.section("validation", {})
    lifecycle = _lifecycle_sections(val)
    extra = _extra_gates(val)
    if extra:  # a house gate binds promotion too: Gate E requires its latest verdict to pass
        ge = lifecycle["gate_e"]
        lifecycle["gate_e"] = dataclasses.replace(
            ge, require_gates=tuple(dict.fromkeys((*ge.require_gates, *(g.name for g in extra)))))
    validation = ValidationConfig(gate_a=_gate_a(val.section("gate_a", {})),
                                  gate_b=_gate_b(val.section("gate_b", {}), spec),
                                  gate_c=_gate_c(val.section("gate_c", {})), **lifecycle, extra_gates=extra)
    val.done()
    root.done()
    params = dict(params_raw)
    if alpha_cls is not None:
        if alpha_id != alpha_cls.alpha_id:
            raise ConfigError(f"{root.file}: key 'alpha': expected {alpha_cls.alpha_id!r}, was {alpha_id!r}",
                              file=root.file, key="alpha")
        try:
            inst = alpha_cls(params)
        except GovernanceError as exc:
            fields = {k: v for k, v in exc.fields.items() if k != "file"}
            raise GovernanceError(f"{root.file}: {exc.message}", file=root.file, **fields) from None

        params = asdict(inst.params)
        need = inst.required_levels()
        if need > spec.levels:
            raise ConfigError(f"{root.file}: key 'features.levels': expected at least {need} (alpha "
                              f"{alpha_id} reads level {need}), was {spec.levels}", file=root.file,
                              key="features.levels")
    return AlphaConfig(alpha_id, params, spec, validation, None if file is None else str(file))


def load_alpha_config(path: str | Path, alpha_cls: Any = None) -> AlphaConfig:
    """Read and strictly parse an alpha ``config.yaml``."""
    return parse_alpha_config(load_yaml(path), path, alpha_cls)
