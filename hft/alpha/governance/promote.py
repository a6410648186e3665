"""`hft alpha promote NAME --data ...`: Gates D and E, then the promotion YAML (or a refusal), all audited.

Order of work (nothing is written on bad input):

1. Inputs are checked first: alpha id, approver formats (`hft.alpha.governance.promotion.check_approver`), ``force``
   needs a non-empty ``reason`` and at least one approver (and a reason needs ``force``), no active promotion of the same code hash,
   no promotion file already at today's path.
2. Gate D (`hft.alpha.gates.gate_d.run_gate_d`) replays the alpha through the real gateway on the held-out data;
   Gate E (`hft.alpha.gates.gate_e.evaluate_gate_e`) checks risk, capacity, earlier gates for this code hash and
   approvals. Both verdicts are written to ``audit.alpha_gate_decisions``.
3. On pass — or on failure with ``force=True, reason=...`` — an ``audit.alpha_promotions`` row records
   ``promoted`` or ``forced`` (with the reason) and the promotion document with its chain hash
   (`hft.alpha.records.ledger`), then the promotion YAML (its view) is written (state ``promoted``; a previous active
   promotion of the alpha with another code hash is retired, "superseded": checked against its own record,
   recorded, then rewritten). On failure without force, an ``audit.alpha_promotions`` row records ``refused``
   and no file is written.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hft.alpha.api.base import check_alpha_id
from hft.alpha.api.registry import load_alpha_class, load_config
from hft.alpha.gates.gate_d import run_gate_d
from hft.alpha.gates.gate_e import evaluate_gate_e, latest_verdicts
from hft.alpha.governance.canary import observation_identity, plan_in_money_units, read_observations
from hft.alpha.governance.promotion import (
    GateResult,
    active_promotion,
    append_event,
    check_approver,
    check_write,
    new_promotion,
    promotion_path,
    write_promotion,
)
from hft.alpha.records import ledger
from hft.alpha.records.audit import GateDecision, query_gate_decisions, write_audit, write_gate_decisions
from hft.alpha.records.experiments import alpha_code_hash, current_actor
from hft.alpha.records.sink import AuditSink, on_sink, require_sink
from hft.core.errors import GovernanceError
from hft.core.market_data import MarketDataSource

__all__ = ["PromoteResult", "check_promotable", "check_promotion_inputs", "conclude_promotion", "promote"]


@dataclass
class PromoteResult:
    alpha_id: str
    version: str
    code_hash: str
    passed: bool
    forced: bool
    promoted: bool
    gate_d: dict[str, Any]
    gate_e: dict[str, Any]
    reasons: list[str]
    promotion_file: str | None = None
    state: str = "candidate"
    superseded: str | None = None
    audit_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (what ``--json`` prints)."""
        return {"ok": self.promoted, "alpha_id": self.alpha_id, "version": self.version,
                "code_hash": self.code_hash, "passed": self.passed, "forced": self.forced,
                "promoted": self.promoted, "state": self.state, "promotion_file": self.promotion_file,
                "superseded": self.superseded, "reasons": self.reasons, "gate_d": self.gate_d,
                "gate_e": self.gate_e, "audit_ids": self.audit_ids}


def check_promotion_inputs(alpha_id: str, approvers: list[str], force: bool, reason: str | None) -> None:
    """GovernanceError on a bad id, a malformed or repeated approver, `force` without a reason or without an
    approver (who overrode the gates), or a reason without `force` — before anything runs or is written."""
    check_alpha_id(alpha_id)
    for i, a in enumerate(approvers):
        check_approver(a, f"approver[{i}]")
    if len(set(approvers)) != len(approvers):
        raise GovernanceError(f"approvers: expected distinct approvers, was {approvers}", key="approvers")
    if force and (reason is None or not reason.strip()):
        raise GovernanceError("force: expected a reason (--reason TEXT) when forcing a promotion, was none",
                              key="reason", hint="a forced promotion is audited with its reason")
    if force and not approvers:
        raise GovernanceError("approvers: expected at least one approver (--approver) when forcing a promotion, "
                              "was none", key="approvers", hint="a forced promotion names who overrode the gates")
    if reason is not None and not force:
        raise GovernanceError("reason: expected only together with force (--force), was given alone", key="reason")


def promote(alpha_id: str, data: list[Path] | list[str], *, source: MarketDataSource,
            approvers: list[str] | None = None, force: bool = False, reason: str | None = None,
            root: Path | None = None, promotions_root: Path | None = None,
            replay_config: Any = None, out_dir: Path | None = None, actor: str | None = None,
            now_ns: int | None = None, code_hash: str | None = None, gate_rows: list[dict[str, Any]] | None = None,
            gate_writer: Any = None, audit_writer: Any = None, audit_reader: Any = None,
            progress: Any = None, sink: AuditSink | None = None) -> PromoteResult:
    """Run Gates D and E for `alpha_id` on held-out `data`; write the promotion YAML on pass (or when forced).

    Args:
        source: opens `data` for Gate D (`hft.core.market_data.MarketDataSource`; the files on disk:
            `hft.data.sources.FILES`).
        approvers: approvers (``Name <email>`` or a lowercase handle).
        force / reason: promote despite failed gates; the reason is required and audited.
        root / promotions_root: research root and promotions root overrides.
        replay_config: `ReplayConfig` or path for Gate D (default: the alpha's ``gate_d.replay_config``).
        out_dir: Gate D run folder (default under ``$HFT_HOME/runs/gate_d``).
        actor / now_ns: who and when (default ``user@host``, the wall clock: governance time, not sim time).
        code_hash: override the alpha's code hash (default `alpha_code_hash`).
        gate_rows: recorded gate verdicts to use for Gate E (default: queried from `sink`).
        gate_writer / audit_writer: `write_gate_decisions` / `write_audit`-like callables (default: those of
            hft.alpha.records.audit on `sink`).
        audit_reader: `hft.alpha.records.ledger.read_chain`-like callable (default: `read_chain` on `sink`).
        sink: the audit rows' `hft.alpha.records.sink.AuditSink` (the store: `hft.recorder.alpha_audit.AUDIT`);
            required unless every one of the four above is given.
    """


    approvers = list(approvers or [])
    check_promotion_inputs(alpha_id, approvers, force, reason)
    cls = load_alpha_class(alpha_id, root)
    cfg = load_config(alpha_id, root=root)
    chash = code_hash or alpha_code_hash(alpha_id, root)
    ts = int(now_ns if now_ns is not None else time.time_ns())
    current, target = check_promotable(alpha_id, chash, ts, promotions_root)
    # the audit rows' writers and reader (a missing sink is an error before Gate D's replay, not after it)
    if gate_rows is None:
        require_sink(sink, "promote")
    gate_writer = on_sink(gate_writer, write_gate_decisions, sink, "promote")
    audit_writer = on_sink(audit_writer, write_audit, sink, "promote")
    audit_reader = on_sink(audit_reader, ledger.read_chain, sink, "promote")
    d = run_gate_d(alpha_id, data, code_hash=chash, source=source, config=cfg, replay_config=replay_config,
                   out_dir=out_dir, root=root, progress=progress)
    return conclude_promotion(alpha_id=alpha_id, version=cls.version, params=dict(cfg.params),
                              validation=cfg.validation, code_hash=chash, d=d, approvers=approvers, force=force,
                              reason=reason, ts=ts, actor=actor or current_actor(), current=current, target=target,
                              gate_rows=gate_rows, gate_writer=gate_writer, audit_writer=audit_writer,
                              audit_reader=audit_reader, sink=sink)


def check_promotable(alpha_id: str, chash: str, ts: int, promotions_root: Path | None = None) -> tuple[Any, Path]:
    """Refuse (GovernanceError) when `chash` is already actively promoted or today's file exists; else return
    (the alpha's current active promotion or None, the path the new promotion file will take)."""
    current = active_promotion(alpha_id, promotions_root)
    if current is not None and current.code_hash == chash:
        raise GovernanceError(f"alpha {alpha_id}: expected no active promotion of code hash {chash}, found one in "
                              f"state {current.state} ({current.file})", key="alpha_id", file=current.file,
                              hint="roll it back or retire it first, or change the code")
    target = promotion_path(alpha_id, ts, promotions_root)
    if target.exists():
        raise GovernanceError(f"{target}: expected no promotion file of {alpha_id} for this day, one exists",
                              file=str(target), hint="promote again tomorrow, or keep the existing file")
    return current, target


def conclude_promotion(*, alpha_id: str, version: str, params: dict[str, Any], validation: Any, code_hash: str,
                       d: Any, approvers: list[str], force: bool, reason: str | None, ts: int, actor: str,
                       current: Any, target: Path, gate_rows: list[dict[str, Any]] | None = None,
                       gate_writer: Any = None, audit_writer: Any = None,
                       audit_reader: Any = None, sink: AuditSink | None = None) -> PromoteResult:
    """Gate E on a Gate D result `d` (`hft.alpha.gates.gate_d.GateDResult`), both verdicts audited, then the promotion
    YAML (pass, or `force` with `reason`) or a refusal row. Shared by `promote` and the RL policy's
    ``rl-promote`` (research/rl/lifecycle.py), so every promoted thing gets the same YAML and audit rows.

    `validation` holds the ``gate_d``, ``gate_e`` and ``canary`` sections (`hft.alpha.api.config.ValidationConfig`);
    `current` / `target` come from `check_promotable`; the writers, the reader and `gate_rows` default to `sink`
    (see `promote`).
    """
    chash = code_hash
    if d.summary.get("money_unit"):  # kill limits given as currency amounts: whole money units of Gate D's run
        plan_in_money_units(validation.canary, d.summary, f"alpha {alpha_id} validation",
                            Path(d.run_folder or "gate D"))
    gate_writer = on_sink(gate_writer, write_gate_decisions, sink, "conclude_promotion")
    audit_writer = on_sink(audit_writer, write_audit, sink, "conclude_promotion")
    audit_reader = on_sink(audit_reader, ledger.read_chain, sink, "conclude_promotion")
    if gate_rows is None:
        gate_rows = query_gate_decisions(alpha_id=alpha_id, code_hash=chash,
                                         sink=require_sink(sink, "conclude_promotion"))
    # Gate D's limits as the replay applied them (lots / money units of the instrument)
    e = evaluate_gate_e(alpha_id=alpha_id, code_hash=chash, d_metrics=d.metrics,
                        gate_d=dataclasses.replace(validation.gate_d, limits=d.limits),
                        gate_e=validation.gate_e, approvers=approvers, gate_rows=gate_rows, d_data_hash=d.data_hash)
    passed = d.passed and e.passed
    reasons = [f"gate D: {r}" for r in d.reasons] + [f"gate E: {r}" for r in e.reasons]


    run_id = d.run_hash
    common = {"alpha_id": alpha_id, "version": version, "code_hash": chash, "data_hash": d.data_hash,
              "experiment_id": e.experiment_id, "run_id": run_id, "ts_ns": ts}
    d_row = GateDecision(gate="D", passed=d.passed, metric="net_pnl", value=d.metrics["net_pnl"],
                         threshold=d.thresholds["min_net_pnl"], metrics=_jsonable(d.metrics),
                         thresholds=d.thresholds, reasons=list(d.reasons), **common)
    e_row = GateDecision(gate="E", passed=e.passed, metric="headroom", value=e.metrics["headroom"],
                         threshold=e.thresholds["min_headroom"], metrics=_jsonable(e.metrics),
                         thresholds=e.thresholds, reasons=list(e.reasons), **common)
    audit_ids = list(gate_writer([d_row, e_row]))
    result = PromoteResult(alpha_id=alpha_id, version=version, code_hash=chash, passed=passed,
                           forced=bool(force and not passed), promoted=False, gate_d=d.to_dict(), gate_e=e.to_dict(),
                           reasons=reasons)
    prow = {"alpha_id": alpha_id, "ts": ts, "actor": actor, "code_hash": chash, "version": version,
            "data_hash": d.data_hash, "experiment_id": e.experiment_id, "run_id": run_id,
            "approvers": list(approvers), "reasons": reasons, "from_stage": "candidate"}
    if not passed and not force:
        prow.update(to_stage="candidate", decision="refused", promotion_file="", forced=False,
                    reason="gates failed", details={"gate_d": _jsonable(d.to_dict()), "gate_e": _jsonable(e.to_dict())})
        result.audit_ids = audit_ids + list(audit_writer("audit.alpha_promotions", [prow]))
        return result

    gates = [GateResult("D", d.passed, "net_pnl", d.metrics["net_pnl"], d.thresholds["min_net_pnl"],
                        tuple(d.reasons)),
             GateResult("E", e.passed, "headroom", e.metrics["headroom"], e.thresholds["min_headroom"],
                        tuple(e.reasons))]
    for g, r in sorted(_latest_required(gate_rows, alpha_id, chash, validation.gate_e.require_gates).items()):
        gates.append(GateResult(g, bool(r["passed"]), str(r.get("metric", "")), float(r.get("value", 0.0)),
                                float(r.get("threshold", 0.0)), tuple(r.get("reasons") or ())))
    note = [f"forced: {reason}"] if result.forced else ["gates D and E passed"]
    ev_id, ev_window = _evidence_identity(d)
    promo = new_promotion(alpha_id=alpha_id, version=version, code_hash=chash, params=dict(params), ts=ts,
                          actor=actor, experiment_id=e.experiment_id, run_ids=[run_id], data_hash=d.data_hash,
                          gates=gates, gateway_limits=dict(validation.gate_d.limits),
                          canary=validation.canary, approvers=approvers, forced=result.forced,
                          force_reason=(reason or "") if result.forced else "", reasons=note + reasons,
                          evidence_id=ev_id, evidence_window=ev_window)
    check_write(promo, target)  # validate the new file before recording anything or touching the old one
    head_of_day = ledger.head_hash(ledger.promotion_id(promo), audit_reader)  # "" unless re-promoted today
    old_rows, retired = [], None
    if current is not None:  # another code hash is active: it is superseded by this promotion
        current, head = ledger.checked(current, audit_reader)  # a hand-edited file is refused, nothing written
        retired = append_event(current, "retire", ts=ts, actor=actor,
                               reasons=[f"superseded by the promotion of code hash {chash} ({target})"])
        check_write(retired, current.file)
        result.superseded = current.file
        old_rows.append({**prow, "code_hash": current.code_hash, "version": current.version,
                         "from_stage": current.state, "to_stage": "inactive", "decision": "retired",
                         "promotion_file": str(current.file), "forced": False,
                         "reason": f"superseded by code hash {chash}", "reasons": [], "details": {},
                         **ledger.chain_fields(retired, head)})
    prow.update(to_stage="promoted", decision="forced" if result.forced else "promoted",
                promotion_file=str(target), forced=result.forced,
                reason=reason if result.forced else "gates D and E passed",
                details={"gate_d": _jsonable(d.to_dict()), "gate_e": _jsonable(e.to_dict())},
                **ledger.chain_fields(promo, head_of_day))
    # the record first (WAL first), then the views
    result.audit_ids = audit_ids + list(audit_writer("audit.alpha_promotions", [*old_rows, prow]))
    if retired is not None:
        write_promotion(retired, current.file)
    path = write_promotion(promo, target)
    result.promoted = True
    result.promotion_file = str(path)
    result.state = promo.state
    return result


def _evidence_identity(d: Any) -> tuple[str, tuple[int, int] | None]:
    """Content id and time span of Gate D's run folder (`hft.alpha.governance.canary.observation_identity`), so canary
    observations can be told apart from the evidence and must be newer; ``("", None)`` without a run folder."""
    folder = getattr(d, "run_folder", None)
    if not folder or not Path(folder).is_dir():
        return "", None

    return observation_identity(read_observations(Path(folder)))


def _latest_required(rows: list[dict[str, Any]], alpha_id: str, chash: str,
                     required: Any = ("A", "B", "C", "pool")) -> dict[str, dict[str, Any]]:

    return {g: r for g, r in latest_verdicts(rows, alpha_id, chash).items() if g in tuple(required)}


def _jsonable(obj: Any) -> Any:
    """Plain JSON types (NaN / inf → None), recursively."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    try:
        f = float(obj)
    except (TypeError, ValueError):
        return str(obj)
    return int(f) if f.is_integer() and "int" in type(obj).__name__ else (f if math.isfinite(f) else None)
