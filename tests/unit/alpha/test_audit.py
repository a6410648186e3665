"""Alpha audit rows: gate decisions, promotions and canary decisions go through the WAL into the store."""

from __future__ import annotations

import json

import pytest

from hft.alpha.records import experiments as ex
from hft.alpha.records.audit import GateDecision, query_gate_decisions, write_audit, write_gate_decisions
from hft.core.errors import GovernanceError, StoreError
from hft.recorder import alpha_audit
from hft.recorder.alpha_audit import AlphaAuditStore

TS = 1_700_000_000_000_000_000


@pytest.fixture
def kw(store):
    """Keyword arguments pointing the audit writers at the shared test store."""
    return {"sink": AlphaAuditStore(store.test_home, store=store)}


def gate(g: str = "A", passed: bool = True, **over) -> GateDecision:
    base = {"alpha_id": "obi_l1", "version": "1.2.0", "code_hash": "abc123", "data_hash": "d1", "gate": g,
            "passed": passed, "metric": "coverage", "value": 0.93, "threshold": 0.8,
            "metrics": {"coverage": 0.93, "finite": True}, "thresholds": {"coverage": 0.8, "lookahead_p": 0.01},
            "reasons": [] if passed else ["coverage 0.93 < 0.95"], "experiment_id": "obi_l1-validate-x",
            "run_id": "run-1", "host": "h", "user": "u", "ts_ns": TS}
    return GateDecision(**{**base, **over})


def test_gate_decisions_round_trip_every_field(kw):
    rows = [gate("A"), gate("B", False, metric="ic_ir", value=0.1, threshold=0.2, ts_ns=TS + 1)]
    ids = write_gate_decisions(rows, **kw)
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)
    got = query_gate_decisions("obi_l1", **kw)
    assert [g["record_id"] for g in got] == ids
    for want, g in zip(rows, got, strict=True):
        for k, v in want.to_dict().items():
            assert g[k] == v, k
    assert got[0]["ts"].startswith("2023-11-14T22:13:20")


def test_a_decision_written_twice_is_one_row(kw, store):
    g = gate()
    assert write_gate_decisions([g], **kw) == write_gate_decisions([g], **kw)
    assert store.count("audit.alpha_gate_decisions") == 1


def test_query_filters_by_alpha_and_code_hash(kw):
    write_gate_decisions([gate(), gate(alpha_id="ofi"), gate("B", code_hash="def456")], **kw)
    assert {g["alpha_id"] for g in query_gate_decisions(**kw)} == {"obi_l1", "ofi"}
    assert [g["gate"] for g in query_gate_decisions("obi_l1", code_hash="def456", **kw)] == ["B"]
    assert query_gate_decisions("nobody", **kw) == []


def test_gate_decision_defaults_host_user_and_now():
    g = GateDecision("a", "1.0.0", "c", "d", "A", True)
    assert g.host == ex.current_host() and g.user == ex.current_user() and g.ts_ns > TS
    assert g.to_record()["reasons"] == [] and g.to_record()["details"] == {}


@pytest.mark.parametrize("over, match", [
    ({"passed": "yes"}, "passed: expected a bool"),
    ({"gate": ""}, "gate: expected a non-empty string"),
    ({"reasons": "one string"}, "reasons: expected a list of strings"),
    ({"value": "high"}, "expected a number"),
])
def test_bad_gate_decisions_are_refused_and_nothing_is_written(kw, over, match):
    with pytest.raises(GovernanceError, match=match):
        write_gate_decisions([gate("A"), gate("B", **over)], **kw)
    assert query_gate_decisions(**kw) == []


def test_promotion_and_canary_rows_carry_the_new_columns(kw, store):
    [pid] = write_audit("audit.alpha_promotions", [{
        "ts": TS, "alpha_id": "obi_l1", "version": "1.2.0", "from_stage": "validated", "to_stage": "canary",
        "decision": "promoted", "code_hash": "abc123", "data_hash": "d1", "experiment_id": "e1",
        "run_id": "r1", "reasons": ["all gates passed"], "approvers": ["alice", "bob"], "forced": False,
        "details": {"gates": {"D": True, "E": True}}}], **kw)
    [cid] = write_audit("audit.alpha_canary_decisions", [{
        "ts": TS, "alpha_id": "obi_l1", "version": "1.2.0", "code_hash": "abc123", "canary_id": "c1",
        "decision": "escalate", "from_state": "canary_1", "to_state": "canary_2", "reasons": ["within plan"],
        "metric": "drawdown", "value": 0.01, "threshold": 0.05}], **kw)
    p = store.query("SELECT lower(hex(record_id)) AS rid, version, approvers, reasons, forced, host, user, details "
                    "FROM audit.alpha_promotions").dicts()[0]
    assert json.loads(p["approvers"]) == ["alice", "bob"] and json.loads(p["reasons"]) == ["all gates passed"]
    assert p["version"] == "1.2.0" and p["forced"] is False and p["host"] == ex.current_host()
    assert p["user"] == ex.current_user() and json.loads(p["details"]) == {"gates": {"D": True, "E": True}}
    assert p["rid"].rjust(32, "0") == pid
    c = store.query("SELECT from_state, to_state, reasons, code_hash FROM audit.alpha_canary_decisions").dicts()
    assert c == [{"from_state": "canary_1", "to_state": "canary_2", "reasons": '["within plan"]',
                  "code_hash": "abc123"}]
    assert len(cid) == 32
    # same row again (same content, same ts): no duplicate
    write_audit("audit.alpha_canary_decisions", [{
        "ts": TS, "alpha_id": "obi_l1", "version": "1.2.0", "code_hash": "abc123", "canary_id": "c1",
        "decision": "escalate", "from_state": "canary_1", "to_state": "canary_2", "reasons": ["within plan"],
        "metric": "drawdown", "value": 0.01, "threshold": 0.05}], **kw)
    assert store.count("audit.alpha_canary_decisions") == 1


@pytest.mark.parametrize("topic, row, match", [
    ("audit.alpha_promotions", {"alpha_id": "a", "from_stage": "x", "to_stage": "y", "decision": "promoted",
                                "bogus": 1}, "unknown field 'bogus'"),
    ("audit.alpha_promotions", {"alpha_id": "a", "from_stage": "x", "to_stage": "y", "decision": "promoted",
                                "forced": "maybe"}, "field 'forced': expected a bool"),
    ("audit.alpha_canary_decisions", {"alpha_id": "a"}, "field 'decision': expected a value"),
    ("sim.fills", {"run_id": "r"}, "expected one of"),
    ("audit.nope", {}, "expected one of"),
])
def test_write_audit_refuses_bad_rows_before_the_wal(kw, store, topic, row, match):
    with pytest.raises(StoreError, match=match):
        write_audit(topic, [row], **kw)
    wal = store.test_home / "wal" / alpha_audit.WAL_NAME
    before = sorted((p.name, p.stat().st_size) for p in wal.glob("seg-*")) if wal.exists() else []
    with pytest.raises(StoreError):
        write_audit(topic, [row], **kw)
    after = sorted((p.name, p.stat().st_size) for p in wal.glob("seg-*")) if wal.exists() else []
    assert before == after
    assert store.count("audit.alpha_promotions") == 0 and store.count("audit.alpha_canary_decisions") == 0


def test_a_decision_in_the_wal_but_not_loaded_is_found(kw, store):
    g = gate("C")
    alpha_audit.write_records("audit.alpha_gate_decisions", [g.to_record()], home=store.test_home)
    assert [d["gate"] for d in query_gate_decisions(**kw)] == ["C"]
