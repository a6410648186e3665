"""`hft alpha status`: every alpha with its lifecycle state, from the promotion YAMLs and the audit store.

An alpha's state is that of its active promotion (promoted / canary / graduated), else of its latest promotion
(inactive), else ``candidate``. From the audit store: the latest verdict per gate (A, B, C, pool, D, E) for the
alpha's *current* code hash, so a candidate shows how far it got. Promotion files that fail validation are
listed under ``errors`` (the rest is still shown); an unavailable store is a note, not a failure.

The promotion files are views: with the store, every promotion is shown as its record in the audit store says
(`hft.alpha.records.ledger`), and a file that differs from its record is flagged (``tampered``: the first field that
differs) and listed under ``errors``; a file left behind by an interrupted step is flagged ``stale_file``.
Without the store (``--no-store``) the files are shown unverified (``verified: false``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hft.alpha.api.lifecycle_config import GATE_NAMES
from hft.alpha.api.registry import list_alphas
from hft.alpha.gates.gate_e import latest_verdicts
from hft.alpha.governance.promotion import parse_promotion, safe_list_promotions
from hft.alpha.records import ledger
from hft.alpha.records.audit import query_gate_decisions
from hft.alpha.records.experiments import alpha_code_hash
from hft.alpha.records.sink import AuditSink, require_sink
from hft.core.errors import HftError

__all__ = ["status"]


def status(*, root: Path | None = None, promotions_root: Path | None = None, with_audit: bool = True,
           gate_rows: list[dict[str, Any]] | None = None, sink: AuditSink | None = None) -> dict[str, Any]:
    """``{"alphas": [...], "errors": [...], "notes": [...]}`` (see the module docstring). With `with_audit`,
    the promotions and verdicts are read from `sink` (`hft.alpha.records.sink.AuditSink`; the store:
    `hft.recorder.alpha_audit.AUDIT`), which is then required."""
    if with_audit:
        sink = require_sink(sink, "status")
    promos, errors = safe_list_promotions(promotions_root)
    notes: list[str] = []
    flags: dict[str, dict[str, Any]] = {}
    if with_audit:
        promos = _as_recorded(promos, errors, notes, flags, sink)
    ids = sorted(set(list_alphas(root)) | {p.alpha_id for p in promos})
    if gate_rows is None and with_audit:
        try:
            gate_rows = query_gate_decisions(sink=sink)
        except HftError as exc:
            notes.append(f"audit store unavailable: {exc.message}")
            gate_rows = None
    rows = []
    for a in ids:
        mine = sorted((p for p in promos if p.alpha_id == a), key=lambda p: p.promoted_ts)
        active = [p for p in mine if p.active]
        cur = active[-1] if active else (mine[-1] if mine else None)
        chash = None
        try:
            chash = alpha_code_hash(a, root, artifact=cur.params.get("artifact") if cur else None)
        except HftError as exc:
            notes.append(f"{a}: code hash unavailable: {exc.message}")
        row: dict[str, Any] = {"alpha_id": a, "state": cur.state if cur else "candidate",
                               "canary_step": cur.canary_step if cur else None,
                               "ladder_steps": len(cur.canary.ladder) if cur else None,
                               "promoted_code_hash": cur.code_hash if cur else None, "code_hash": chash,
                               "code_changed": bool(cur and chash and cur.code_hash != chash),
                               "promotion_file": cur.file if cur else None,
                               "last_event": cur.history[-1].event if cur else None,
                               "last_ts": cur.last_ts if cur else None, "promotions": len(mine),
                               "verified": bool(cur and with_audit and str(cur.file) in flags
                                                and not flags[str(cur.file)].get("tampered")),
                               **(flags.get(str(cur.file), {}) if cur else {})}
        if gate_rows is not None and chash:
            v = latest_verdicts(gate_rows, a, chash)
            row["gates"] = {g: bool(v[g]["passed"]) if g in v else None for g in GATE_NAMES}
        rows.append(row)
    return {"ok": not errors, "alphas": rows, "errors": errors, "notes": notes}


def _as_recorded(promos: list[Any], errors: list[dict[str, Any]], notes: list[str],
                 flags: dict[str, dict[str, Any]], sink: AuditSink) -> list[Any]:
    """The promotions as their records say (files that differ flagged in `flags` and `errors`)."""


    try:
        chains = ledger.read_chains(sink=sink)
    except HftError as exc:
        notes.append(f"promotion records unavailable (files shown unverified): {exc.message}")
        return promos
    out = []
    for p in promos:
        doc, stale, err = ledger.inspect(p, chains.get(ledger.promotion_id(p), []))
        f: dict[str, Any] = {}
        if err is not None:
            f["tampered"] = err
            errors.append({"file": str(p.file), "error": err})
        if stale:
            f["stale_file"] = True
        flags[str(p.file)] = f
        if doc is not None:
            try:
                p = dataclasses.replace(parse_promotion(doc, p.file), file=p.file)
            except HftError as exc:
                errors.append({"file": str(p.file), "error": f"audit store record: {exc.message}"})
        out.append(p)
    return out
