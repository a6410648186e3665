"""What a validation gate returns, and the helpers the three gates share.

The gates themselves live in `hft.alpha.gate_a` (integrity), `hft.alpha.gate_b` (predictive power) and
`hft.alpha.gate_c` (robustness and overfitting). Each is a pure function of arrays / a features frame, the
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

__all__ = ["Check", "GateResult", "json_safe"]

_OPS = {">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t, ">": lambda v, t: v > t, "<": lambda v, t: v < t,
        "==": lambda v, t: v == t}


@dataclass(frozen=True)
class Check:
    """One pass/fail comparison ``value <op> threshold`` (`passed` is False for a NaN value).

    `note` explains a failure (or why a check was not applicable: then `passed` is True and `value` NaN).
    """

    name: str
    value: float
    op: str
    threshold: float
    passed: bool
    note: str = ""

    @classmethod
    def compare(cls, name: str, value: float, op: str, threshold: float, note: str = "") -> Check:
        v = float(value)
        ok = (not math.isnan(v)) and bool(_OPS[op](v, float(threshold)))
        if not ok and not note:
            note = f"{name} = {_fmt(v)}, expected {op} {_fmt(threshold)}"
        return cls(name, v, op, float(threshold), ok, note if not ok else "")

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
        checks: every comparison, in order.
    """

    gate: str
    passed: bool
    metric: str
    value: float
    threshold: float
    metrics: dict[str, Any]
    thresholds: dict[str, Any]
    reasons: list[str]
    checks: list[Check] = field(default_factory=list)

    @classmethod
    def from_checks(cls, gate: str, checks: list[Check], headline: str, metrics: dict[str, Any],
                    thresholds: dict[str, Any]) -> GateResult:
        """Build a result whose headline is the check named `headline`."""
        head = next(c for c in checks if c.name == headline)
        reasons = [c.note for c in checks if not c.passed]
        return cls(gate, all(c.passed for c in checks), head.name, head.value, head.threshold, metrics,
                   thresholds, reasons, list(checks))

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"gate": self.gate, "passed": self.passed, "metric": self.metric, "value": self.value,
                          "threshold": self.threshold, "reasons": self.reasons,
                          "checks": [dataclasses.asdict(c) for c in self.checks], "metrics": self.metrics,
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
