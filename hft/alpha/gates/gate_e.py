"""Gate E — risk and capacity, on Gate D's replay and the audit store.

Checks (thresholds: the ``gate_e`` section, hft/alpha/api/lifecycle_config.py):

* **Exposure vs the gateway limits** the strategy will run under (``gate_d.limits``): the limits must set
  ``max_position``; ``headroom = 1 − peak |position| / max_position >= min_headroom``. When ``max_notional`` is
  set, ``1 − peak notional / max_notional >= min_headroom`` too. ``order_size`` must not exceed
  ``max_order_qty`` (when set): every order would be denied.
* **Capacity**: ``participation`` = our filled lots / lots traded in the data ``<= max_participation``.
* **Turnover bounds**: ``min_turnover <= filled lots / max_position <= max_turnover``.
* **Earlier gates still valid**: for each gate in ``require_gates`` (default A, B, C, pool) the latest verdict
  recorded in ``audit.alpha_gate_decisions`` for this alpha *and this code hash* is a pass. A verdict for
  another code hash does not count: the code changed since.
* **Held out**: Gate D's data hash differs from the data hash of every required verdict (the replay must not
  run on the data the alpha was validated on).
* **Approvals**: at least ``min_approvers`` distinct approvers (format checked by
  `hft.alpha.governance.promotion.check_approver`).

The deciding metric recorded is ``headroom``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hft.alpha.governance.promotion import check_approver

__all__ = ["GateEResult", "evaluate_gate_e", "latest_verdicts"]

_RECORDED_BY = {"pool": "pool", "R": "rl-promote"}  # the command that records each gate (default: validate)


@dataclass
class GateEResult:
    passed: bool
    metrics: dict[str, Any]
    thresholds: dict[str, Any]
    reasons: list[str]
    experiment_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"gate": "E", "passed": self.passed, "metrics": self.metrics, "thresholds": self.thresholds,
                "reasons": self.reasons, "experiment_id": self.experiment_id}


def latest_verdicts(rows: list[dict[str, Any]], alpha_id: str, code_hash: str) -> dict[str, dict[str, Any]]:
    """The latest recorded verdict per gate for (`alpha_id`, `code_hash`)."""
    out: dict[str, dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: (int(r.get("ts_ns", 0)), str(r.get("record_id", "")))):
        if r.get("alpha_id") == alpha_id and r.get("code_hash") == code_hash:
            out[str(r["gate"])] = r
    return out


def evaluate_gate_e(*, alpha_id: str, code_hash: str, d_metrics: dict[str, Any], gate_d: Any, gate_e: Any,
                    approvers: list[str], gate_rows: list[dict[str, Any]], d_data_hash: str | None = None
                    ) -> GateEResult:
    """Gate E's verdict from Gate D's metrics, the recorded gate verdicts and the approvers. `gate_d`'s limits are
    lots and money units (`GateDResult.limits`: a limit written in instrument units or currency, converted)."""
    reasons: list[str] = []
    limits = dict(gate_d.limits)
    peak = int(d_metrics["peak_position"])
    max_pos = limits.get("max_position")
    headroom = float("nan")
    if not isinstance(max_pos, int) or max_pos <= 0:
        reasons.append(f"gateway limits: expected max_position set (> 0) for the strategy, was {max_pos!r}")
    else:
        headroom = 1.0 - peak / max_pos
        if headroom < gate_e.min_headroom:
            reasons.append(f"headroom: expected 1 - peak |position| / max_position >= {gate_e.min_headroom}, was "
                           f"{headroom:.4f} (peak {peak} of {max_pos})")
    notional_headroom = None
    max_notional = limits.get("max_notional")
    if isinstance(max_notional, int) and max_notional > 0:
        notional_headroom = 1.0 - d_metrics["peak_notional"] / max_notional
        if notional_headroom < gate_e.min_headroom:
            reasons.append(f"notional headroom: expected >= {gate_e.min_headroom}, was {notional_headroom:.4f} "
                           f"(peak {d_metrics['peak_notional']} of {max_notional})")
    max_oq = limits.get("max_order_qty")
    if isinstance(max_oq, int) and gate_d.order_size > max_oq:
        reasons.append(f"order_size: expected <= the gateway max_order_qty {max_oq} lots, was {gate_d.order_size}")
    part = float(d_metrics["participation"])
    if part > gate_e.max_participation:
        reasons.append(f"participation: expected <= {gate_e.max_participation}, was {part:.6f}")
    turn = float(d_metrics["turnover"])
    if not gate_e.min_turnover <= turn <= gate_e.max_turnover:
        reasons.append(f"turnover: expected in [{gate_e.min_turnover}, {gate_e.max_turnover}], was {turn:.4f}")
    latest = latest_verdicts(gate_rows, alpha_id, code_hash)
    gate_status: dict[str, Any] = {}
    for g in gate_e.require_gates:
        r = latest.get(g)
        if r is None:
            gate_status[g] = None
            reasons.append(f"gate {g}: expected a passing verdict recorded for code hash {code_hash}, found none "
                           f"(run `hft alpha {_RECORDED_BY.get(g, 'validate')}` on this code)")
        else:
            gate_status[g] = bool(r["passed"])
            if not r["passed"]:
                reasons.append(f"gate {g}: expected the latest verdict for code hash {code_hash} to pass, it failed "
                               f"({'; '.join(r.get('reasons') or []) or r.get('metric', '')})")
    if d_data_hash:
        same = sorted(g for g, r in latest.items() if g in gate_e.require_gates and r.get("data_hash") == d_data_hash)
        if same:
            reasons.append(f"held-out data: expected Gate D data other than the data of gate(s) {', '.join(same)}, "
                           f"was the same ({d_data_hash})")
    valid = [check_approver(a, f"approvers[{i}]") for i, a in enumerate(approvers)]
    distinct = sorted(set(valid))
    if len(distinct) < gate_e.min_approvers:
        reasons.append(f"approvals: expected at least {gate_e.min_approvers} distinct approver(s), was {len(distinct)}")
    exp_ids = [latest[g].get("experiment_id", "") for g in ("C", "B", "A", "pool") if g in latest]
    experiment_id = next((e for e in exp_ids if e), "")
    metrics = {"headroom": headroom, "notional_headroom": notional_headroom, "peak_position": peak,
               "max_position_limit": max_pos, "participation": part, "turnover": turn,
               "required_gates": gate_status, "approvers": distinct}
    thresholds = {"min_headroom": gate_e.min_headroom, "max_participation": gate_e.max_participation,
                  "min_turnover": gate_e.min_turnover, "max_turnover": gate_e.max_turnover,
                  "require_gates": list(gate_e.require_gates), "min_approvers": gate_e.min_approvers}
    return GateEResult(not reasons, metrics, thresholds, reasons, experiment_id)
