"""The Q-learning market maker: deterministic training through the real gateway, open-format artifact."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hft.core.errors import ConfigError, GovernanceError
from hft.data.sources import FILES


@pytest.fixture(scope="module")
def trained(rl, small_day):
    return rl.train([small_day], rl.Hyper(episodes=2, decision_ns=500_000_000, seed=3))


def test_training_is_deterministic_and_learns(rl, small_day, trained):
    again = rl.train([small_day], rl.Hyper(episodes=2, decision_ns=500_000_000, seed=3))
    assert rl.q_digest(again) == rl.q_digest(trained)
    assert trained.meta["train_run_hashes"] == again.meta["train_run_hashes"]
    assert np.count_nonzero(trained.q) > 0  # it visited states and updated values
    other = rl.train([small_day], rl.Hyper(episodes=2, decision_ns=500_000_000, seed=4))
    assert rl.q_digest(other) != rl.q_digest(trained)  # exploration draws follow the seed


def test_state_index_covers_the_table(rl):
    seen = {rl.state_of(pos, 10, 100, 100 + sp, qb, qa)
            for pos in range(-10, 11) for sp in (1, 2, 5) for qb, qa in ((1, 9), (5, 5), (9, 1))}
    assert seen == set(range(rl.N_STATES))


def test_evaluation_is_greedy_and_does_not_learn(rl, trained, heldout_day, tmp_path):
    q = trained.q.copy()
    a = rl.evaluate(trained, [heldout_day], out_dir=tmp_path / "run")
    b = rl.evaluate(trained, [heldout_day])
    assert np.array_equal(q, trained.q)
    assert a["run_hash"] == b["run_hash"] and a["decisions"] > 0
    assert (tmp_path / "run" / "summary.json").is_file()


def test_artifact_roundtrip_and_tamper_detection(rl, trained, tmp_path):
    meta = rl.save_policy(trained, tmp_path / "pol")
    assert sorted(p.name for p in (tmp_path / "pol").iterdir()) == ["policy.npz", "policy.yaml"]
    loaded = rl.load_policy(tmp_path / "pol")
    assert rl.q_digest(loaded) == rl.q_digest(trained) and loaded.hyper == trained.hyper
    assert meta["npz_sha256"] and "train_data_hash" in meta
    with np.load(tmp_path / "pol" / "policy.npz", allow_pickle=False) as z:  # open format: no pickle needed
        assert z["q"].shape == (rl.N_STATES, len(rl.ACTIONS))
    np.savez(tmp_path / "pol" / "policy.npz", q=np.ones((rl.N_STATES, len(rl.ACTIONS))))
    with pytest.raises(GovernanceError, match="SHA-256"):
        rl.load_policy(tmp_path / "pol")


@pytest.mark.parametrize("bad", [{"episodes": 0}, {"alpha": 1.5}, {"inventory_penalty": -1.0}])
def test_bad_hyper_parameters(rl, small_day, bad):
    with pytest.raises(ConfigError):
        rl.train([small_day], rl.Hyper(**bad))


# --- rl-promote ----------------------------------------------------------------------------------------------

def _cfg(tmp_path, **gate_d):
    import yaml

    from hft.alpha.api.registry import repo_research_dir

    data = yaml.safe_load((repo_research_dir() / "rl" / "config.yaml").read_text())
    data["hyper"].update(episodes=1, decision="500ms")
    data["validation"]["gate_d"].update(gate_d)
    path = tmp_path / "rl.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_rl_promote_gates_and_promotes_like_an_alpha(rl, small_day, heldout_day, tmp_path, store):
    from hft.alpha.governance.promotion import load_promotion
    from hft.alpha.records.audit import query_gate_decisions
    from hft.alpha.records.experiments import ExperimentRegistry
    from hft.recorder.alpha_audit import AlphaAuditStore

    reg = ExperimentRegistry(AlphaAuditStore(store=store))
    lenient = _cfg(tmp_path, min_net_pnl=-1e12, min_sharpe=-1e9)
    res = rl.rl_promote([small_day], [heldout_day], config_path=lenient, approvers=["alice"],
                        promotions_root=tmp_path / "promos", registry=reg, out=tmp_path / "artifact")
    assert res["gate_r"]["passed"] and res["gate_r"]["metrics"]["reproduced"] is True
    assert res["promoted"] and not res["forced"], res["reasons"]
    promo = load_promotion(res["promotion_file"])
    assert promo.alpha_id == "rl_mm_q" and promo.state == "promoted" and promo.code_hash == res["code_hash"]
    assert {g.gate for g in promo.gates} == {"D", "E", "R"}
    rows = query_gate_decisions(alpha_id="rl_mm_q", sink=reg.sink)
    assert sorted(r["gate"] for r in rows) == ["D", "E", "R"]
    trials = reg.trials(family="rl:rl_mm_q")
    assert len(trials) == 1 and trials[0].kind == "rl-train"
    assert rl.q_digest(rl.load_policy(tmp_path / "artifact")) == res["gate_r"]["metrics"]["q_digest"]
    # `hft alpha status` recomputes the promoted policy's code hash (its research folder, hft/alpha and the
    # artifact) by the one rule: unchanged code and its gates (it once said "code changed" and showed none,
    # and a canary was refused: "promote the new code first")
    from hft.alpha.governance.status import status

    row = next(a for a in status(promotions_root=tmp_path / "promos", sink=reg.sink)["alphas"]
               if a["alpha_id"] == "rl_mm_q")
    assert row["code_hash"] == res["code_hash"] and not row["code_changed"]
    assert {g: row["gates"][g] for g in ("D", "E", "R")} == {"D": True, "E": True, "R": True}


def test_policy_canary_replays_the_artifact_on_newer_data(rl, small_day, heldout_day, tmp_path, store):
    """`hft alpha canary rl_mm_q --data`: the promoted artifact replayed greedily on a newer day through the
    gateway, at the ladder step's capital fraction, evaluated as a canary step; a changed artifact is refused."""
    import json

    from hft.alpha.governance.canary import run_canary
    from hft.alpha.governance.promotion import load_promotion
    from hft.alpha.records.experiments import ExperimentRegistry
    from hft.data.importing import generate_day
    from hft.recorder.alpha_audit import AlphaAuditStore

    sink = AlphaAuditStore(store=store)
    res = rl.rl_promote([small_day], [heldout_day], config_path=_cfg(tmp_path, min_net_pnl=-1e12, min_sharpe=-1e9),
                        approvers=["alice"], promotions_root=tmp_path / "promos",
                        registry=ExperimentRegistry(sink), out=tmp_path / "artifact")
    assert res["promoted"], res["reasons"]
    newer = Path(generate_day(tmp_path / "newer", seed=11, symbol="SYNTH", date="2024-01-04", messages=20000,
                              levels=5, zip_output=True)["zip_path"])
    promo = load_promotion(res["promotion_file"])
    frac = promo.canary.ladder[0].capital_fraction
    kw = {"promotions_root": tmp_path / "promos", "sink": sink, "source": FILES}
    with pytest.raises(GovernanceError, match="research tool"):  # the library alone cannot replay a policy
        run_canary("rl_mm_q", data=[newer], **kw)

    c = run_canary("rl_mm_q", data=[newer], replay=rl.canary_observations, **kw)
    obs = Path(c.observations)
    assert obs.parent == Path(os.environ["HFT_HOME"]) / "runs" / "canary" / "rl_mm_q"
    summary = json.loads((obs / "summary.json").read_text())
    assert summary["alpha"] == {"alpha_id": "rl_mm_q", "version": rl.POLICY_VERSION, "code_hash": res["code_hash"]}
    hyper_max = res["hyper"]["max_position"]
    assert summary["params"]["max_position"] == max(1, round(hyper_max * frac)) < hyper_max
    assert abs(summary["position"]) <= summary["params"]["max_position"]
    assert c.decision in ("hold", "escalate", "rollback") and c.from_step == 0
    assert load_promotion(res["promotion_file"]).history[-1].run_id == c.run_id

    # the artifact retrained or altered after the promotion: refused before anything is replayed or written
    before = Path(res["promotion_file"]).read_text()
    (tmp_path / "artifact" / "policy.yaml").write_text((tmp_path / "artifact" / "policy.yaml").read_text() + "# x\n")
    with pytest.raises(GovernanceError, match="expected the promoted code and artifact"):
        run_canary("rl_mm_q", data=[newer], replay=rl.canary_observations, **kw)
    assert Path(res["promotion_file"]).read_text() == before


def test_rl_promote_refuses_failed_gates_without_force(rl, small_day, heldout_day, tmp_path, store):
    from hft.alpha.records.experiments import ExperimentRegistry
    from hft.recorder.alpha_audit import AlphaAuditStore

    strict = _cfg(tmp_path, min_net_pnl=1e12)
    res = rl.rl_promote([small_day], [heldout_day], config_path=strict, approvers=["alice"],
                        promotions_root=tmp_path / "promos", registry=ExperimentRegistry(AlphaAuditStore(store=store)),
                        out=tmp_path / "artifact")
    assert not res["promoted"] and any("net_pnl" in r for r in res["reasons"])
    assert not (tmp_path / "promos").exists() or not list((tmp_path / "promos").rglob("*.yaml"))


def test_rl_promote_bad_input_writes_nothing(rl, small_day, tmp_path, store):
    from hft.alpha.records.experiments import ExperimentRegistry
    from hft.recorder.alpha_audit import AlphaAuditStore

    reg = ExperimentRegistry(AlphaAuditStore(store=store))
    with pytest.raises(GovernanceError, match="held-out"):
        rl.rl_promote([small_day], [small_day], registry=reg, promotions_root=tmp_path / "p")
    with pytest.raises(GovernanceError, match="reason"):
        rl.rl_promote([small_day], [small_day], force=True, registry=reg, promotions_root=tmp_path / "p")
    with pytest.raises(GovernanceError, match="none exists"):
        rl.rl_promote([small_day], [tmp_path / "x.zip"], registry=reg, promotions_root=tmp_path / "p")
    with pytest.raises(GovernanceError, match="approver"):
        rl.rl_promote([small_day], [small_day], approvers=["Not An Approver!"], registry=reg,
                      promotions_root=tmp_path / "p")
    assert reg.trials(family="rl:rl_mm_q") == []
