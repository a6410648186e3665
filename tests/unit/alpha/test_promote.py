"""`promote`: Gates D + E, the YAML on pass, refusal (audited) on failure, --force --reason, supersession."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from lifecycle_helpers import DAY_NS, T0, Recorder, gate_rows, make_day, make_research_root

from hft.alpha.governance.promote import promote
from hft.alpha.governance.promotion import active_promotion, list_promotions, load_promotion
from hft.core.errors import GovernanceError
from hft.data.sources import FILES


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("promote")
    return SimpleNamespace(day=make_day(base / "day", seed=31), root=make_research_root(base), base=base)


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("HFT_HOME", str(tmp_path / "home"))


def _run(env, tmp_path, rec, **kw):
    args = {"approvers": ["jdoe", "Jane Doe <jane@example.com>"], "root": env.root,
            "promotions_root": tmp_path / "promos", "code_hash": "hash-1", "gate_rows": gate_rows("toy_obi", "hash-1"),
            "gate_writer": rec.gates, "audit_writer": rec.audit, "audit_reader": rec.chain, "now_ns": T0,
            "actor": "tester@host"}
    args.update(kw)
    return promote("toy_obi", [env.day], source=FILES, **args)


def test_promote_pass_writes_yaml_and_audits(env, tmp_path):
    rec = Recorder()
    r = _run(env, tmp_path, rec)
    assert r.passed and r.promoted and not r.forced and r.state == "promoted"
    p = load_promotion(r.promotion_file)
    assert r.promotion_file == str(tmp_path / "promos" / "20260528" / "toy_obi.yaml")
    assert (p.alpha_id, p.code_hash, p.state, p.params) == ("toy_obi", "hash-1", "promoted", {"smooth": 1})
    assert p.run_ids == (r.gate_d["run_hash"],) and p.experiment_id == "exp-1"
    assert [g.gate for g in p.gates] == ["D", "E", "A", "B", "C", "pool"] and all(g.passed for g in p.gates)
    assert p.gateway_limits == {"max_position": 10, "max_order_qty": 2}
    assert [s.duration for s in p.canary.ladder] == ["1s", "1s"]
    assert p.approvers == ("jdoe", "Jane Doe <jane@example.com>")
    assert rec.topics() == ["audit.alpha_gate_decisions", "audit.alpha_promotions"]
    d_row, e_row = rec.calls[0][1]
    assert (d_row.gate, d_row.passed, d_row.run_id, e_row.gate, e_row.metric) == ("D", True, p.run_ids[0], "E",
                                                                                  "headroom")
    prow = rec.calls[1][1][0]
    assert (prow["decision"], prow["to_stage"], prow["forced"], prow["promotion_file"]) == (
        "promoted", "promoted", False, r.promotion_file)
    json.dumps(r.to_dict())  # JSON-ready
    # the same code cannot be promoted twice while active
    with pytest.raises(GovernanceError, match="expected no active promotion"):
        _run(env, tmp_path, Recorder(), now_ns=T0 + DAY_NS)


def test_refused_then_forced(env, tmp_path):
    rec = Recorder()
    r = _run(env, tmp_path, rec, approvers=[], gate_rows=[])  # no approver, no earlier verdicts
    assert not r.passed and not r.promoted and r.promotion_file is None
    assert any("approvals" in x for x in r.reasons) and any("gate A" in x for x in r.reasons)
    assert list_promotions(tmp_path / "promos") == []
    assert rec.calls[-1][0] == "audit.alpha_promotions" and rec.calls[-1][1][0]["decision"] == "refused"
    rec2 = Recorder()
    f = _run(env, tmp_path, rec2, approvers=["deskhead"], gate_rows=[], force=True,
             reason="desk head override, ticket 42")
    assert f.promoted and f.forced and not f.passed
    p = load_promotion(f.promotion_file)
    assert p.forced and p.force_reason == "desk head override, ticket 42"
    assert p.history[0].reasons[0] == "forced: desk head override, ticket 42"
    prow = rec2.calls[-1][1][0]
    assert (prow["decision"], prow["forced"], prow["reason"]) == ("forced", True, "desk head override, ticket 42")


def test_bad_input_writes_nothing(env, tmp_path):
    rec = Recorder()
    for kw, pat in (({"approvers": ["Jane"]}, "expected an approver"),
                    ({"approvers": ["jdoe", "jdoe"]}, "distinct"),
                    ({"force": True, "approvers": ["jdoe"]}, "expected a reason"),
                    ({"force": True, "approvers": ["jdoe"], "reason": "  "}, "expected a reason"),
                    ({"force": True, "reason": "override", "approvers": []}, "expected at least one approver"),
                    ({"reason": "why"}, "only together with force")):
        with pytest.raises(GovernanceError, match=pat):
            _run(env, tmp_path, rec, **kw)
    with pytest.raises(GovernanceError, match="unknown alpha"):
        promote("nope", [env.day], source=FILES, root=env.root, promotions_root=tmp_path / "promos", gate_writer=rec.gates,
                audit_writer=rec.audit)
    assert rec.calls == [] and not (tmp_path / "promos").exists()


def test_new_code_supersedes_the_active_promotion(env, tmp_path):
    rec = Recorder()
    old = _run(env, tmp_path, rec)
    new = _run(env, tmp_path, rec, code_hash="hash-2", gate_rows=gate_rows("toy_obi", "hash-2"),
               now_ns=T0 + DAY_NS)
    assert new.promoted and new.superseded == old.promotion_file
    assert load_promotion(old.promotion_file).state == "inactive"
    assert load_promotion(old.promotion_file).history[-1].event == "retire"
    assert active_promotion("toy_obi", tmp_path / "promos").code_hash == "hash-2"
    decisions = [r["decision"] for t, rows in rec.calls if t == "audit.alpha_promotions" for r in rows]
    assert decisions == ["promoted", "retired", "promoted"]


def test_gate_rows_from_the_store(env, tmp_path, store):
    """Gate E reads earlier verdicts from audit.alpha_gate_decisions; promote writes its own there."""
    from hft.alpha.records.audit import GateDecision, query_gate_decisions, write_audit, write_gate_decisions
    from hft.recorder.alpha_audit import AlphaAuditStore

    sink = AlphaAuditStore(store.test_home, store=store)

    def gw(rows):
        return write_gate_decisions(rows, sink=sink)

    gw([GateDecision(alpha_id="toy_obi", version="1.0.0", code_hash="hash-s", data_hash="d", gate=g, passed=True,
                     experiment_id="exp-s", ts_ns=T0 - 100 + i) for i, g in enumerate(("A", "B", "C", "pool"))])
    rows = query_gate_decisions(alpha_id="toy_obi", code_hash="hash-s", sink=sink)
    r = _run(env, tmp_path, Recorder(), code_hash="hash-s", gate_rows=rows, gate_writer=gw,
             audit_writer=lambda t, rs: write_audit(t, rs, sink=sink))
    assert r.promoted, r.reasons
    assert load_promotion(r.promotion_file).experiment_id == "exp-s"
    gates = [x["gate"] for x in query_gate_decisions(alpha_id="toy_obi", code_hash="hash-s", sink=sink)]
    assert gates.count("D") == 1 and gates.count("E") == 1
    got = store.query("SELECT decision, forced, approvers FROM audit.alpha_promotions WHERE code_hash = 'hash-s'"
                      ).dicts()
    assert [g["decision"] for g in got] == ["promoted"]
    assert json.loads(got[0]["approvers"]) == ["jdoe", "Jane Doe <jane@example.com>"]


def test_promotion_is_recorded_with_its_chain_and_evidence_identity(env, tmp_path):
    from hft.alpha.governance.canary import observation_identity, read_observations
    from hft.alpha.records.ledger import canonical, record_hash

    rec = Recorder()
    r = _run(env, tmp_path, rec)
    p = load_promotion(r.promotion_file)
    prow = rec.calls[-1][1][0]
    assert prow["promotion_id"] == "20260528/toy_obi" and prow["prev_hash"] == ""
    assert prow["record"] == canonical(p.to_dict()) and prow["record_hash"] == record_hash("", prow["record"])
    ev_id, window = observation_identity(read_observations(r.gate_d["run_folder"]))
    assert (p.history[0].run_id, p.history[0].window) == (ev_id, window)


def test_record_first_then_the_file(env, tmp_path):
    from hft.core.errors import StoreError

    rec = Recorder()

    def refusing(topic, rows):
        if topic == "audit.alpha_promotions":
            raise StoreError("store locked (test)")
        return rec.audit(topic, rows)

    with pytest.raises(StoreError):
        _run(env, tmp_path, rec, audit_writer=refusing)
    assert list_promotions(tmp_path / "promos") == []


def test_superseding_a_hand_edited_promotion_is_refused(env, tmp_path):
    rec = Recorder()
    old = _run(env, tmp_path, rec)
    path = tmp_path / "promos" / "20260528" / "toy_obi.yaml"
    import yaml

    doc = yaml.safe_load(path.read_text())
    doc["approvers"][0] = "someone.else"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    before = path.read_text()
    n = len(rec.calls)
    with pytest.raises(GovernanceError, match="key 'approvers'"):
        _run(env, tmp_path, rec, code_hash="hash-2", gate_rows=gate_rows("toy_obi", "hash-2"), now_ns=T0 + DAY_NS)
    assert path.read_text() == before and old.promotion_file == str(path)
    assert [t for t, _ in rec.calls[n:]] == ["audit.alpha_gate_decisions"]  # the gates ran; no promotion row
    assert [p.code_hash for p in list_promotions(tmp_path / "promos")] == ["hash-1"]


def test_a_second_promotion_on_one_day_continues_that_days_record(env, tmp_path):
    """The day's file gone (removed by hand, or the demo's fresh lifecycle), a new promote of the alpha that day
    links its step to the day's last recorded step: one chain, which later reads (canary, status) accept. A second
    chain beside the first was a fork that every later read refused."""
    from hft.alpha.governance.promotion import load_promotion
    from hft.alpha.records.ledger import checked, record_hash

    rec = Recorder()
    first = _run(env, tmp_path, rec)
    first_row = rec.calls[-1][1][0]
    (tmp_path / "promos" / "20260528" / "toy_obi.yaml").unlink()
    again = _run(env, tmp_path, rec, now_ns=T0 + 1)
    row = rec.calls[-1][1][0]
    assert again.promoted and again.promotion_file == first.promotion_file
    assert row["promotion_id"] == first_row["promotion_id"] == "20260528/toy_obi"
    assert row["prev_hash"] == first_row["record_hash"] and row["record_hash"] == record_hash(row["prev_hash"],
                                                                                            row["record"])
    p, head = checked(load_promotion(again.promotion_file), rec.chain)  # one chain: not refused as a fork
    assert head == row["record_hash"] and p.promoted_ts == T0 + 1
