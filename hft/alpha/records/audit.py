"""Audit rows of alpha governance: gate decisions, promotions, canary decisions.

Every row goes through an `hft.alpha.records.sink.AuditSink` that the caller passes: appended to the WAL first
(the store adapter `hft.recorder.alpha_audit`: ``$HFT_HOME/wal/alpha-audit``), then loaded into the store, so a
decision that was taken is never lost even when the store is unavailable at that moment (the next load picks
it up). Tables and columns: ``hft/recorder/topics.py`` (``audit.alpha_gate_decisions``,
``audit.alpha_promotions``, ``audit.alpha_canary_decisions``).

JSON columns (``details``, ``thresholds``, ``reasons``, ``approvers`` …) take dicts / lists directly.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hft.alpha.records.experiments import current_host, current_user, iso_utc, now_ns, sql_literal
from hft.alpha.records.sink import AuditSink
from hft.core.errors import GovernanceError, StoreError
from hft.core.ids import stable_id

__all__ = ["AUDIT_TOPICS", "GateDecision", "query_gate_decisions", "write_audit", "write_gate_decisions"]

GATE_TOPIC = "audit.alpha_gate_decisions"
AUDIT_TOPICS = (GATE_TOPIC, "audit.alpha_promotions", "audit.alpha_canary_decisions", "audit.alpha_experiments")


@dataclass(frozen=True)
class GateDecision:
    """One gate verdict (``audit.alpha_gate_decisions``).

    Attributes:
        alpha_id / version: the alpha.
        code_hash / data_hash: versions of the code (:func:`hft.alpha.records.experiments.code_hash`) and of the data.
        gate: ``"A"`` … ``"E"`` or a gate name (``"pool"``).
        passed: the verdict.
        metric / value / threshold: the deciding statistic, its value and the threshold it was held to.
        metrics: every statistic of the gate (stored in the ``details`` JSON column).
        thresholds: every threshold in force.
        reasons: why it failed (or notes); one line each.
        experiment_id / run_id: the experiment registry id and the run (validate / promote invocation).
        host / user / ts_ns: where, by whom, when (UTC int ns; default now).
    """
    alpha_id: str
    version: str
    code_hash: str
    data_hash: str
    gate: str
    passed: bool
    metric: str = ""
    value: float = 0.0
    threshold: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    experiment_id: str = ""
    run_id: str = ""
    host: str = field(default_factory=current_host)
    user: str = field(default_factory=current_user)
    ts_ns: int = field(default_factory=now_ns)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of every field."""
        return dataclasses.asdict(self)

    @property
    def record_id(self) -> str:
        """Stable record id: writing the same decision twice stores it once."""
        return stable_id(GATE_TOPIC, self.alpha_id, self.version, self.code_hash, self.data_hash, self.gate,
                         self.experiment_id, self.run_id, self.ts_ns)

    def to_record(self) -> dict[str, Any]:
        """The ``audit.alpha_gate_decisions`` record (record id included)."""
        if not isinstance(self.alpha_id, str) or not self.alpha_id:
            raise GovernanceError(f"gate decision alpha_id: expected a non-empty string, was {self.alpha_id!r}",
                                  key="alpha_id")
        if not isinstance(self.gate, str) or not self.gate:
            raise GovernanceError(f"gate decision gate: expected a non-empty string, was {self.gate!r}", key="gate")
        if not isinstance(self.passed, bool):
            raise GovernanceError(f"gate decision passed: expected a bool, was {self.passed!r}", key="passed")
        if not isinstance(self.reasons, list | tuple) or not all(isinstance(r, str) for r in self.reasons):
            raise GovernanceError(f"gate decision reasons: expected a list of strings, was {self.reasons!r}",
                                  key="reasons")
        return {
            "record_id": self.record_id, "ts": self.ts_ns, "alpha_id": self.alpha_id, "gate": self.gate,
            "passed": self.passed, "metric": self.metric, "value": _float(self.value),
            "threshold": _float(self.threshold), "experiment_id": self.experiment_id, "code_hash": self.code_hash,
            "data_hash": self.data_hash, "details": dict(self.metrics), "version": self.version,
            "run_id": self.run_id, "thresholds": dict(self.thresholds), "reasons": list(self.reasons),
            "host": self.host, "user": self.user,
        }


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise GovernanceError(f"gate decision value/threshold: expected a number, was {v!r}") from None


def write_audit(topic: str, rows: list[dict[str, Any]], *, sink: AuditSink) -> list[str]:
    """Append `rows` of an alpha audit `topic` through `sink` (WAL first, all or nothing, then the store).

    A row without ``ts`` gets UTC now, one without ``host`` / ``user`` this process's (every alpha audit topic
    has those columns), one without ``record_id`` a stable id of its content. Returns the record ids (32 hex).

    Raises:
        StoreError: not an alpha audit topic, unknown / badly typed field (nothing written), WAL refusal, load
            failure.
    """
    if topic not in AUDIT_TOPICS:
        raise StoreError(f"write_audit: expected one of {list(AUDIT_TOPICS)}, was {topic!r}", topic=topic)
    recs: list[dict[str, Any]] = []
    ts = now_ns()
    for row in rows:
        if not isinstance(row, dict):
            raise StoreError(f"{topic}: expected a dict per row, was {type(row).__name__}", topic=topic)
        rec = dict(row)
        rec.setdefault("ts", ts)
        rec.setdefault("host", current_host())
        rec.setdefault("user", current_user())
        if rec.get("record_id") is None:
            rec["record_id"] = stable_id(topic, json.dumps(rec, sort_keys=True, default=str))
        recs.append(rec)
    return sink.append(topic, recs)


def write_gate_decisions(rows: Sequence[GateDecision], *, sink: AuditSink) -> list[str]:
    """Record gate decisions through `sink` (WAL first, then the store); returns their record ids. See
    `write_audit`."""
    recs = []
    for r in rows:
        if not isinstance(r, GateDecision):
            raise GovernanceError(f"write_gate_decisions: expected GateDecision objects, was {type(r).__name__}")
        recs.append(r.to_record())
    return write_audit(GATE_TOPIC, recs, sink=sink)


def query_gate_decisions(alpha_id: str | None = None, code_hash: str | None = None, *,
                         sink: AuditSink) -> list[dict[str, Any]]:
    """Recorded gate decisions (optionally of one alpha and/or code hash) in `sink`'s store, oldest first.

    Each dict has the `GateDecision` fields (``metrics``, ``thresholds``, ``reasons`` parsed from JSON) plus
    ``record_id`` (32 hex) and ``ts`` (ISO-8601 UTC).
    """
    where = [f"{c} = {sql_literal(v)}" for c, v in (("alpha_id", alpha_id), ("code_hash", code_hash))
             if v is not None]
    sql = ("SELECT toString(record_id) AS rid, toUnixTimestamp64Nano(ts) AS ts_ns, alpha_id, version, code_hash, "
           "data_hash, gate, passed, metric, value, threshold, details, thresholds, reasons, experiment_id, "
           f"run_id, host, user FROM {GATE_TOPIC}"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY ts_ns, gate, rid")
    out = []
    rows = sink.query(sql)
    for r in rows:
        ts_ns = int(r.pop("ts_ns"))
        out.append({
            "record_id": f"{int(r.pop('rid')):032x}", "alpha_id": r["alpha_id"], "version": r["version"],
            "code_hash": r["code_hash"], "data_hash": r["data_hash"], "gate": r["gate"],
            "passed": bool(r["passed"]), "metric": r["metric"], "value": _num(r["value"]),
            "threshold": _num(r["threshold"]), "metrics": _json(r["details"], {}),
            "thresholds": _json(r["thresholds"], {}), "reasons": _json(r["reasons"], []),
            "experiment_id": r["experiment_id"], "run_id": r["run_id"], "host": r["host"], "user": r["user"],
            "ts_ns": ts_ns, "ts": iso_utc(ts_ns),
        })
    return out


def _json(s: str, empty: Any) -> Any:
    if not s:
        return empty
    try:
        return json.loads(s)
    except ValueError:
        return s


def _num(v: Any) -> float:
    # JSONCompact renders nan / inf as null or strings
    if v is None:
        return float("nan")
    return float(v)
