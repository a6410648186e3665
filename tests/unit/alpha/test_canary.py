"""`hft alpha canary`: hold / escalate / rollback / graduate from run-folder observations; refusals write nothing."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from types import SimpleNamespace

import pytest
from lifecycle_helpers import T0, Recorder, make_day, make_research_root, record_promotion, simple_promotion

from hft.alpha.api.lifecycle_config import CanaryKill, CanaryPlan, CanaryStep
from hft.alpha.gates.gate_d import run_gate_d
from hft.alpha.governance.canary import (
    decide,
    observation_metrics,
    plan_in_money_units,
    read_observations,
    run_canary,
)
from hft.alpha.governance.promotion import active_promotion, load_promotion
from hft.core.errors import GovernanceError
from hft.data.sources import FILES

S = 1_000_000_000


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Two observation run folders of toy_obi (code hash 'hash-1') on two generated days (one after the other)."""
    base = tmp_path_factory.mktemp("canary")
    root = make_research_root(base)
    runs = []
    for seed, date in ((21, "2024-06-21"), (22, "2024-06-24")):
        day = make_day(base / f"day{seed}", seed=seed, date=date)
        r = run_gate_d("toy_obi", [day], code_hash="hash-1", source=FILES, root=root, out_dir=base / f"run{seed}")
        runs.append(base / f"run{seed}")
        assert r.run_folder
    return SimpleNamespace(root=root, runs=runs, base=base)


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("HFT_HOME", str(tmp_path / "home"))


@pytest.fixture
def rec(store):
    """Audit rows through the real audit path into the (emptied) shared test store, captured too."""
    return Recorder(store)


def _promote(tmp_path, rec, **kw):
    return record_promotion(simple_promotion(code_hash="hash-1", **kw), rec, tmp_path / "promos")


def _canary_calls(rec):
    return [c for c in rec.calls if c[0] == "audit.alpha_canary_decisions"]


def test_escalate_then_graduate(env, tmp_path, rec):
    path = _promote(tmp_path, rec)
    r1 = run_canary("toy_obi", env.runs[0], promotions_root=tmp_path / "promos", audit_writer=rec.audit, audit_reader=rec.chain,
                    now_ns=T0 + 10, actor="ops")
    assert (r1.decision, r1.from_state, r1.to_state, r1.from_step, r1.to_step) == ("escalate", "promoted", "canary",
                                                                                   0, 1)
    # for people steps are 1-based and the promoted state is not on the ladder: 0-based ``to_step`` 1 is step 2
    assert r1.headline == "promoted → canary (step 2/2)" and r1.to_dict()["ladder_steps"] == 2
    assert r1.reasons[0].startswith("step 1/2 (") and "escalate to step 2/2" in r1.reasons[0]
    r2 = run_canary("toy_obi", env.runs[1], promotions_root=tmp_path / "promos", audit_writer=rec.audit, audit_reader=rec.chain,
                    now_ns=T0 + 20, actor="ops")
    assert (r2.decision, r2.to_state) == ("graduate", "graduated")
    assert r2.headline == "canary (step 2/2) → graduated" and "last step 2/2" in r2.reasons[0]
    p = load_promotion(path)
    assert [h.event for h in p.history] == ["promote", "escalate", "graduate"]
    assert p.history[1].run_id == r1.run_id and p.history[1].metrics["duration_ns"] > 1000 * S
    assert rec.topics() == ["audit.alpha_promotions"] + ["audit.alpha_canary_decisions"] * 2
    row = rec.calls[1][1][0]
    assert (row["decision"], row["from_state"], row["to_state"], row["code_hash"], row["run_id"]) == (
        "escalate", "promoted", "canary", "hash-1", r1.run_id)
    assert row["reasons"] and row["canary_id"] == "20260528/toy_obi"
    # a graduated canary takes no more observations
    with pytest.raises(GovernanceError, match="graduated"):
        run_canary("toy_obi", env.runs[0], promotions_root=tmp_path / "promos", audit_writer=rec.audit, audit_reader=rec.chain)


def test_hold_when_the_window_is_short(env, tmp_path, rec):
    _promote(tmp_path, rec, ladder=(CanaryStep(0.1, "10h", 36_000 * S),))
    r = run_canary("toy_obi", env.runs[0], promotions_root=tmp_path / "promos", audit_writer=rec.audit, audit_reader=rec.chain)
    assert (r.decision, r.to_state, r.to_step) == ("hold", "canary", 0)
    assert r.headline == "promoted → canary (step 1/1)" and r.reasons[0].startswith("step 1/1: observed")


def test_rollback_marks_inactive(env, tmp_path, rec):
    path = _promote(tmp_path, rec, kill=CanaryKill(max_drawdown=0.0))
    r = run_canary("toy_obi", env.runs[0], promotions_root=tmp_path / "promos", audit_writer=rec.audit, audit_reader=rec.chain)
    assert (r.decision, r.to_state) == ("rollback", "inactive")
    assert r.reasons[0].startswith("kill: max_drawdown expected <= 0.0")
    assert load_promotion(path).state == "inactive"
    assert active_promotion("toy_obi", tmp_path / "promos") is None
    with pytest.raises(GovernanceError, match="expected an active promotion"):
        run_canary("toy_obi", env.runs[1], promotions_root=tmp_path / "promos", audit_writer=rec.audit, audit_reader=rec.chain)


def test_kill_limits_in_a_currency_are_judged_in_the_runs_money_units(env, tmp_path, rec):
    """``max_drawdown: "<amount> USD"``: the observations' money unit (0.01 USD, LOBSTER) converts it exactly; the
    decision and its audit row are in money units, as the metrics are."""
    s = json.loads((env.runs[0] / "summary.json").read_text())
    assert (s["currency"], s["money_unit"]) == ("USD", 0.01) and s["max_drawdown_money_units"] > 1
    below = s["max_drawdown_money_units"] - 1  # one cent below the window's drawdown: a breach
    path = _promote(tmp_path, rec, kill=CanaryKill(max_drawdown=f"{below / 100:.2f} USD"))
    r = run_canary("toy_obi", env.runs[0], promotions_root=tmp_path / "promos", audit_writer=rec.audit,
                   audit_reader=rec.chain)
    assert (r.decision, r.thresholds["max_drawdown"]) == ("rollback", float(below))
    assert r.reasons[0].startswith(f"kill: max_drawdown expected <= {float(below)}, was ")
    assert load_promotion(path).canary.kill.max_drawdown == f"{below / 100:.2f} USD"  # the plan as written


@pytest.mark.parametrize(("amount", "text"), [
    ("5 EUR", "key 'canary.kill.max_loss': expected an amount in USD (the money unit is 0.01 USD), was '5 EUR'"),
    ("0.005 USD", "key 'canary.kill.max_loss': expected a whole number of money units of 0.01 USD, was "
                  "'0.005 USD'"),
])
def test_a_kill_amount_the_runs_money_unit_cannot_hold_is_refused(env, tmp_path, rec, amount, text):
    path = _promote(tmp_path, rec, kill=CanaryKill(max_loss=amount))
    before = path.read_text()
    with pytest.raises(GovernanceError) as e:
        run_canary("toy_obi", env.runs[0], promotions_root=tmp_path / "promos", audit_writer=rec.audit,
                   audit_reader=rec.chain)
    assert str(e.value) == f"{path}: {text}"
    assert path.read_text() == before and not _canary_calls(rec)


def test_observations_without_a_money_unit_cannot_judge_a_currency_amount(tmp_path):
    """Observations that do not say their money unit (``--live``'s) are refused for amounts, taken for numbers."""
    plan = CanaryPlan(CanaryKill(max_loss="5 USD"))
    with pytest.raises(GovernanceError) as e:
        plan_in_money_units(plan, {"pnl_money_units": 0}, "promo.yaml", tmp_path)
    assert str(e.value) == (f"{tmp_path}/summary.json: expected 'currency' and 'money_unit' (the kill limits of "
                            "promo.yaml are currency amounts), were None and None")
    numbers = CanaryPlan(CanaryKill(max_loss=500.0))
    assert plan_in_money_units(numbers, {"pnl_money_units": 0}, "promo.yaml", tmp_path) is numbers


def test_canary_after_a_rollback_names_the_inactive_file_and_when_to_promote(env, tmp_path, rec):
    """After a rollback, `canary` names the inactive promotion file and says the alpha must be promoted again,
    and when: not "promote it first" (promoting again the same day is refused: today's file exists)."""
    path = _promote(tmp_path, rec, kill=CanaryKill(max_drawdown=0.0))
    kw = dict(promotions_root=tmp_path / "promos", audit_writer=rec.audit, audit_reader=rec.chain)
    run_canary("toy_obi", env.runs[0], now_ns=T0 + 10, **kw)
    with pytest.raises(GovernanceError) as same_day:
        run_canary("toy_obi", env.runs[1], now_ns=T0 + 20, **kw)
    msg, hint = str(same_day.value), same_day.value.hint
    assert f"the latest is inactive (rollback): {path}" in msg, msg
    assert "promote it first" not in hint and "tomorrow (UTC)" in hint and "hft alpha promote toy_obi" in hint
    with pytest.raises(GovernanceError) as next_day:
        run_canary("toy_obi", env.runs[1], now_ns=T0 + 86_400 * S, **kw)
    assert str(path) in str(next_day.value) and "promote the alpha again now" in next_day.value.hint


def _copy_with_summary(src, dst, **changes):
    shutil.copytree(src, dst)
    s = json.loads((dst / "summary.json").read_text())
    for k, v in changes.items():
        s[k] = v
    (dst / "summary.json").write_text(json.dumps(s))
    return dst


def test_refusals_write_nothing(env, tmp_path, rec):
    path = _promote(tmp_path, rec)
    before = path.read_text()
    kw = {"promotions_root": tmp_path / "promos", "audit_writer": rec.audit, "audit_reader": rec.chain}
    other_alpha = _copy_with_summary(env.runs[0], tmp_path / "o1",
                                     alpha={"alpha_id": "ofi", "version": "1.0.0", "code_hash": "hash-1"})
    with pytest.raises(GovernanceError, match="expected observations of alpha toy_obi, were of 'ofi'"):
        run_canary("toy_obi", other_alpha, **kw)
    other_code = _copy_with_summary(env.runs[0], tmp_path / "o2",
                                    alpha={"alpha_id": "toy_obi", "version": "1.0.0", "code_hash": "hash-2"})
    with pytest.raises(GovernanceError, match="expected observations of code hash hash-1"):
        run_canary("toy_obi", other_code, **kw)
    with pytest.raises(GovernanceError, match="expected a run folder"):
        run_canary("toy_obi", tmp_path / "missing", **kw)
    broken = tmp_path / "o3"
    shutil.copytree(env.runs[0], broken)
    (broken / "fills.parquet").unlink()
    with pytest.raises(GovernanceError, match="missing"):
        run_canary("toy_obi", broken, **kw)
    with pytest.raises(GovernanceError, match=r"observations \(a run folder\) under"):
        run_canary("toy_obi", None, **kw)  # none under $HFT_HOME/runs/canary/toy_obi
    with pytest.raises(GovernanceError, match="expected an active promotion"):
        run_canary("ofi", env.runs[0], **kw)
    assert path.read_text() == before and _canary_calls(rec) == []
    # the same observations twice, and the Gate D evidence run itself, are refused
    run_canary("toy_obi", env.runs[0], **kw)
    after = path.read_text()
    with pytest.raises(GovernanceError, match="already evaluated"):
        run_canary("toy_obi", env.runs[0], **kw)
    evidence = _copy_with_summary(env.runs[1], tmp_path / "o4", run_hash="run-d")
    with pytest.raises(GovernanceError, match="Gate D evidence"):
        run_canary("toy_obi", evidence, **kw)
    assert path.read_text() == after and len(_canary_calls(rec)) == 1


def test_default_observations_folder(env, tmp_path, rec):
    _promote(tmp_path, rec)
    dst = tmp_path / "home" / "runs" / "canary" / "toy_obi" / "r1"
    dst.parent.mkdir(parents=True)
    shutil.copytree(env.runs[0], dst)
    r = run_canary("toy_obi", promotions_root=tmp_path / "promos", audit_writer=rec.audit, audit_reader=rec.chain)
    assert r.observations == str(dst)


def test_metrics_and_decide():
    plan = CanaryPlan(CanaryKill(max_drawdown=100.0, max_loss=50.0, max_reject_rate=0.1, max_slippage_bps=5.0),
                      (CanaryStep(0.1, "1h", 3600 * S), CanaryStep(1.0, "1h", 3600 * S)))
    ok = {"net_pnl": 1.0, "max_drawdown": 10.0, "loss": 0.0, "reject_rate": 0.0, "slippage_bps": 1.0, "duration_ns": 3600 * S}
    assert decide(ok, plan, 0)[0] == "escalate"
    assert decide(ok, plan, 1)[0] == "graduate"
    assert decide({**ok, "duration_ns": 60 * S}, plan, 0)[0] == "hold"
    for k, v in (("max_drawdown", 101.0), ("loss", 51.0), ("reject_rate", 0.2), ("slippage_bps", 6.0),
                 ("slippage_bps", float("nan")), ("net_pnl", float("nan")), ("loss", float("inf")),
                 ("duration_ns", float("nan"))):
        d, reasons, metric, *_ = decide({**ok, k: v}, plan, 0)
        assert d == "rollback" and metric == k and reasons


def test_observation_metrics(env):
    obs = read_observations(env.runs[0])
    m = observation_metrics(obs)
    s = obs["summary"]
    assert m["net_pnl"] == s["pnl_money_units"] and m["loss"] == max(0.0, -s["pnl_money_units"])
    assert m["fills"] == s["fills"] and m["duration_ns"] > 0
    # IOC at the touch: each fill pays about half a spread over the sampled mid (a cost, positive)
    assert 0.0 <= m["slippage_bps"] < 50.0


def test_audit_rows_reach_the_store(env, tmp_path, store, rec):
    from hft.alpha.records.audit import write_audit
    from hft.recorder.alpha_audit import AlphaAuditStore

    _promote(tmp_path, rec)
    r = run_canary("toy_obi", env.runs[0], promotions_root=tmp_path / "promos", audit_reader=rec.chain,
                   audit_writer=lambda t, rows: write_audit(t, rows, sink=AlphaAuditStore(store.test_home,
                                                                                          store=store)))
    got = store.query("SELECT decision, from_state, to_state, code_hash, run_id, reasons FROM "
                      "audit.alpha_canary_decisions WHERE alpha_id = 'toy_obi'").dicts()
    assert len(got) == 1
    assert (got[0]["decision"], got[0]["from_state"], got[0]["to_state"], got[0]["code_hash"], got[0]["run_id"]) == (
        r.decision, "promoted", r.to_state, "hash-1", r.run_id)
    assert json.loads(got[0]["reasons"]) == r.reasons


def test_replay_observations_on_newer_data(env, tmp_path, rec):
    from hft.alpha.governance.canary import replay_observations

    day = make_day(tmp_path / "newer", seed=23)
    path = _promote(tmp_path, rec, ladder=(CanaryStep(0.25, "1s", S), CanaryStep(1.0, "1s", S)))
    p = load_promotion(path)
    folder = replay_observations(p, [day], source=FILES, root=env.root, code_hash="hash-1")
    assert folder.parent == tmp_path / "home" / "runs" / "canary" / "toy_obi"
    s = json.loads((folder / "summary.json").read_text())
    assert s["alpha"]["code_hash"] == "hash-1" and s["params"]["max_position"] == 1  # 4 lots x 0.25
    r = run_canary("toy_obi", folder, promotions_root=tmp_path / "promos", audit_writer=rec.audit,
                   audit_reader=rec.chain)
    assert r.decision == "escalate"
    # the code of the alpha is not the promoted code (here: any real hash != 'hash-1'): refused, nothing written
    before = path.read_text()
    with pytest.raises(GovernanceError, match="expected the promoted code"):
        run_canary("toy_obi", data=[day], source=FILES, root=env.root, promotions_root=tmp_path / "promos",
                   audit_writer=rec.audit, audit_reader=rec.chain)
    with pytest.raises(GovernanceError, match="either observations or data"):
        run_canary("toy_obi", folder, data=[day], source=FILES, promotions_root=tmp_path / "promos")
    assert path.read_text() == before


# --- issue 12: observations identified by content, newer each step; NaN fails closed; record before view ---


def test_one_window_copied_cannot_step_twice(env, tmp_path, rec):
    """The same run folder copied with its run_hash edited in summary.json is the same observation."""
    path = _promote(tmp_path, rec, ladder=(CanaryStep(0.1, "1s", S), CanaryStep(0.5, "1s", S),
                                           CanaryStep(1.0, "1s", S)))
    kw = {"promotions_root": tmp_path / "promos", "audit_writer": rec.audit, "audit_reader": rec.chain}
    copies = [_copy_with_summary(env.runs[0], tmp_path / f"copy{i}", run_hash=f"{i}" * 32) for i in range(3)]
    assert run_canary("toy_obi", copies[0], **kw).decision == "escalate"
    after = path.read_text()
    for c in copies[1:]:
        with pytest.raises(GovernanceError, match="already evaluated"):
            run_canary("toy_obi", c, **kw)
    assert path.read_text() == after and len(_canary_calls(rec)) == 1


def test_observations_must_be_newer_than_the_last_step(env, tmp_path, rec):
    path = _promote(tmp_path, rec)
    kw = {"promotions_root": tmp_path / "promos", "audit_writer": rec.audit, "audit_reader": rec.chain}
    assert run_canary("toy_obi", env.runs[1], **kw).decision == "escalate"  # the later day first
    before = path.read_text()
    with pytest.raises(GovernanceError, match="newer than the last step's"):
        run_canary("toy_obi", env.runs[0], **kw)
    assert path.read_text() == before and len(_canary_calls(rec)) == 1
    p = load_promotion(path)
    assert p.history[1].window[0] > 0 and p.history[1].run_id == run_canary.__globals__["observation_identity"](
        read_observations(env.runs[1]))[0]


def test_gate_d_evidence_identified_by_content(env, tmp_path, rec):
    from hft.alpha.governance.canary import observation_identity

    ev_id, window = observation_identity(read_observations(env.runs[0]))
    p = simple_promotion(code_hash="hash-1")
    h0 = dataclasses.replace(p.history[0], run_id=ev_id, window=window)
    _ = record_promotion(dataclasses.replace(p, history=(h0,)), rec, tmp_path / "promos")
    kw = {"promotions_root": tmp_path / "promos", "audit_writer": rec.audit, "audit_reader": rec.chain}
    with pytest.raises(GovernanceError, match="Gate D evidence"):
        run_canary("toy_obi", _copy_with_summary(env.runs[0], tmp_path / "ev", run_hash="e" * 32), **kw)
    assert run_canary("toy_obi", env.runs[1], **kw).decision == "escalate"  # newer than the evidence


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_pnl_fails_closed_and_json_stays_valid(env, tmp_path, rec, bad):
    path = _promote(tmp_path, rec)
    obs = _copy_with_summary(env.runs[0], tmp_path / "nan", pnl_money_units=bad)
    r = run_canary("toy_obi", obs, promotions_root=tmp_path / "promos", audit_writer=rec.audit,
                   audit_reader=rec.chain)
    assert (r.decision, r.to_state) == ("rollback", "inactive")
    assert any("net_pnl expected a finite number" in x for x in r.reasons)
    out = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert out["metrics"]["net_pnl"] is None and load_promotion(path).state == "inactive"


def test_summary_number_of_the_wrong_type_is_refused(env, tmp_path, rec):
    _promote(tmp_path, rec)
    obs = _copy_with_summary(env.runs[0], tmp_path / "str", pnl_money_units="12")
    with pytest.raises(GovernanceError, match="pnl_money_units': expected a number"):
        run_canary("toy_obi", obs, promotions_root=tmp_path / "promos", audit_writer=rec.audit,
                   audit_reader=rec.chain)
    assert _canary_calls(rec) == []


def test_record_first_then_the_view(env, tmp_path, rec):
    """The store refuses the row: the file does not move. The row reached the WAL but not the view: the next
    step rewrites the view from the record before going on."""
    from hft.core.errors import StoreError

    path = _promote(tmp_path, rec)
    before = path.read_text()

    def locked(topic, rows):
        raise StoreError("store locked (test)")

    with pytest.raises(StoreError):
        run_canary("toy_obi", env.runs[0], promotions_root=tmp_path / "promos", audit_writer=locked,
                   audit_reader=rec.chain)
    assert path.read_text() == before

    def recorded_then_crash(topic, rows):
        rec.audit(topic, rows)
        raise StoreError("crashed after recording (test)")

    with pytest.raises(StoreError):
        run_canary("toy_obi", env.runs[0], promotions_root=tmp_path / "promos", audit_writer=recorded_then_crash,
                   audit_reader=rec.chain)
    assert path.read_text() == before  # the view is behind its record
    kw = {"promotions_root": tmp_path / "promos", "audit_writer": rec.audit, "audit_reader": rec.chain}
    with pytest.raises(GovernanceError, match="already evaluated"):  # the record knows this window
        run_canary("toy_obi", env.runs[0], **kw)
    assert [h.event for h in load_promotion(path).history] == ["promote", "escalate"]  # view rewritten
    assert run_canary("toy_obi", env.runs[1], **kw).decision == "graduate"


def _edit(path, fn):
    import yaml

    doc = yaml.safe_load(path.read_text())
    fn(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


FORGERIES = [
    ("approvers", lambda d: d.update(approvers=[])),
    ("approvers", lambda d: d.update(approvers=["someone.else"])),
    ("evidence.forced", lambda d: d["evidence"].update(forced=True, force_reason="because")),
    ("params.smooth", lambda d: d["params"].update(smooth=99)),
    ("gateway_limits.max_position", lambda d: d["gateway_limits"].update(max_position=10_000)),
    ("canary.kill.max_loss", lambda d: d["canary"]["kill"].update(max_loss=1e15)),
    ("state", lambda d: (d["history"].append({**d["history"][0], "event": "escalate", "from": "promoted",
                                                   "to": "canary", "step": 1, "reasons": ["forged"]}),
                              d.update(state="canary", canary_step=1))),  # forged history entry
    ("history[0].actor", lambda d: d["history"][0].update(actor="ceo@host")),
]


@pytest.mark.parametrize(("field", "forge"), FORGERIES, ids=[f for f, _ in FORGERIES])
def test_hand_edited_promotion_is_refused_naming_the_field(env, tmp_path, rec, field, forge):
    path = _promote(tmp_path, rec)
    _edit(path, forge)
    before = path.read_text()
    with pytest.raises(GovernanceError, match=re.escape(f"key '{field}'")) as ei:
        run_canary("toy_obi", env.runs[0], promotions_root=tmp_path / "promos", audit_writer=rec.audit,
                   audit_reader=rec.chain)
    assert "differs from its record" in ei.value.message
    assert path.read_text() == before and _canary_calls(rec) == []


def test_forged_promotion_without_record_is_refused(env, tmp_path, rec):
    from hft.alpha.governance.promotion import write_promotion

    write_promotion(simple_promotion(code_hash="hash-1"), root=tmp_path / "promos")  # no audit row
    with pytest.raises(GovernanceError, match="found no record"):
        run_canary("toy_obi", env.runs[0], promotions_root=tmp_path / "promos", audit_writer=rec.audit,
                   audit_reader=rec.chain)
    assert rec.calls == []
