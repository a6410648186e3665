"""What a validation gate returns, and the helpers the three gates share.

The gates themselves live in `hft.alpha.gates.gate_a` (integrity), `hft.alpha.gates.gate_b` (predictive power) and
`hft.alpha.gates.gate_c` (robustness and overfitting). Each is a pure function of arrays / a features frame, the
alpha and its thresholds, returning a `GateResult`: a list of `Check` rows (name, value, threshold, pass/fail)
plus every metric computed, so a report can show both what was decided and why.

A gate passes when every one of its checks passes. A NaN metric never passes a check.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hft.core.errors import GovernanceError

__all__ = ["GATE_TITLES", "Check", "GateResult", "gate_title", "json_safe", "pool_days"]

#: What each contract gate judges (a house gate, hft/alpha/gates/registry.py, reads "house gate").
GATE_TITLES = {"A": "integrity", "B": "predictive power", "C": "robustness", "D": "replay",
               "E": "risk and capacity"}


def gate_title(gate: str) -> str:
    """The title a report shows beside ``Gate <gate>``."""
    return GATE_TITLES.get(gate, "house gate")

_OPS = {">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t, ">": lambda v, t: v > t, "<": lambda v, t: v < t,
        "==": lambda v, t: v == t}


@dataclass(frozen=True)
class Check:
    """One pass/fail comparison ``value <op> threshold`` (`passed` is False for a NaN value).

    `note` explains a failure (or why a check was not applicable: then `passed` is True and `value` NaN). A
    `warning` passed but its value crossed the threshold of an advisory check (`note` says why it did not fail).
    """

    name: str
    value: float
    op: str
    threshold: float
    passed: bool
    note: str = ""
    warning: bool = False

    @classmethod
    def compare(cls, name: str, value: float, op: str, threshold: float, note: str = "") -> Check:
        v = float(value)
        ok = (not math.isnan(v)) and bool(_OPS[op](v, float(threshold)))
        if not ok and not note:
            note = f"{name} = {_fmt(v)}, expected {op} {_fmt(threshold)}"
        return cls(name, v, op, float(threshold), ok, note if not ok else "")

    @classmethod
    def advisory(cls, name: str, value: float, op: str, threshold: float, note: str, *, binding: bool) -> Check:
        """An advisory comparison: when ``value <op> threshold`` does not hold it FAILS only when `binding`
        (e.g. corroborated by an exact test), else it passes as a warning carrying `note`."""
        c = cls.compare(name, value, op, threshold, note)
        if c.passed or binding or math.isnan(c.value):
            return c
        return cls(name, c.value, op, c.threshold, True, f"warning: {note}", warning=True)

    @classmethod
    def not_applicable(cls, name: str, op: str, threshold: float, note: str) -> Check:
        return cls(name, math.nan, op, float(threshold), True, note)

    def to_dict(self) -> dict[str, Any]:
        return json_safe(dataclasses.asdict(self))


@dataclass(frozen=True)
class GateResult:
    """Outcome of one gate.

    Attributes:
        gate: "A", "B" or "C".
        passed: every check passed.
        metric, value, threshold: the gate's headline check (what an audit row's scalar columns hold).
        metrics: everything the gate computed (JSON-safe after `json_safe`).
        thresholds: the thresholds it applied.
        reasons: one line per failed check (empty on a pass; notes on not-applicable checks are kept in
            `checks`).
        warnings: one line per advisory check that crossed its threshold without failing (see `Check`).
        checks: every comparison, in order.
    """

    gate: str
    passed: bool
    metric: str
    value: float
    threshold: float
    metrics: dict[str, Any] = field(repr=False)  # bulky (cut points, per-period series): in `to_dict`, not the repr
    thresholds: dict[str, Any] = field(repr=False)
    reasons: list[str]
    checks: list[Check] = field(default_factory=list, repr=False)

    @property
    def warnings(self) -> list[str]:
        return [c.note for c in self.checks if c.warning]

    @classmethod
    def from_checks(cls, gate: str, checks: list[Check], headline: str, metrics: dict[str, Any],
                    thresholds: dict[str, Any]) -> GateResult:
        """Build a result whose headline is the check named `headline`."""
        head = next((c for c in checks if c.name == headline), None)
        if head is None:
            raise GovernanceError(f"gate {gate}: headline: expected the name of one of its checks "
                                  f"{[c.name for c in checks]}, was {headline!r}", key="headline")
        reasons = [c.note for c in checks if not c.passed]
        return cls(gate, all(c.passed for c in checks), head.name, head.value, head.threshold, metrics,
                   thresholds, reasons, list(checks))

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"gate": self.gate, "passed": self.passed, "metric": self.metric, "value": self.value,
                          "threshold": self.threshold, "reasons": self.reasons,
                          "warnings": self.warnings, "checks": [dataclasses.asdict(c) for c in self.checks], "metrics": self.metrics,
                          "thresholds": self.thresholds})


def _fmt(v: float) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def json_safe(obj: Any) -> Any:
    """A copy of `obj` that `json.dumps` writes as strict JSON: NaN → None, ±inf → "inf"/"-inf", numpy
    scalars/arrays → Python numbers/lists, tuples → lists, dataclasses → dicts."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [json_safe(v) for v in obj.tolist()]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return json_safe(dataclasses.asdict(obj))
    return obj


_WORST = {">=": min, ">": min, "<=": max, "<": max, "==": min}


def pool_days(results: list[GateResult], labels: list[str]) -> GateResult:
    """One verdict from per-day results of the same gate: it passes only when every day passes.

    One check per check name (in the first day's order): the worst value over the days (lowest for ``>=`` /
    ``>`` / ``==``, highest for ``<=`` / ``<``; NaN values ignored), failed when any day failed it, its note the
    failing days' notes prefixed with their labels. Warnings are kept the same way. ``metrics["days"]`` lists
    each day's label, verdict, headline value, reasons and warnings.
    """
    first = results[0]
    names = [c.name for c in first.checks]
    checks: list[Check] = []
    for name in names:
        per = [(lab, next((c for c in r.checks if c.name == name), None)) for r, lab in zip(results, labels,
                                                                                                  strict=True)]
        per = [(lab, c) for lab, c in per if c is not None]
        op, th = per[0][1].op, per[0][1].threshold
        vals = [c.value for _, c in per if not math.isnan(c.value)]
        value = _WORST[op](vals) if vals else math.nan
        failed = [(lab, c) for lab, c in per if not c.passed]
        warned = [(lab, c) for lab, c in per if c.warning]
        if failed:
            note = "; ".join(f"{lab}: {c.note}" for lab, c in failed)
            checks.append(Check(name, value, op, th, False, note))
        elif warned:
            checks.append(Check(name, value, op, th, True, "; ".join(f"{lab}: {c.note}" for lab, c in warned),
                                warning=True))
        else:
            checks.append(Check(name, value, op, th, True, per[0][1].note if math.isnan(value) else ""))
    metrics = {"days": [{"day": lab, "passed": r.passed, "metric": r.metric, "value": r.value,
                         "reasons": r.reasons, "warnings": r.warnings} for r, lab in zip(results, labels,
                                                                                          strict=True)]}
    return GateResult.from_checks(first.gate, checks, first.metric, metrics, first.thresholds)
