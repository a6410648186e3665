"""Promotion YAML: strict schema on read and write, append-only history, approvers, active / list lookups."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from lifecycle_helpers import DAY_NS, T0, simple_promotion

from hft.alpha.governance.promotion import (
    active_promotion,
    append_event,
    check_approver,
    list_promotions,
    load_promotion,
    parse_promotion,
    promotion_path,
    promotions_root,
    write_promotion,
)
from hft.core.errors import ConfigError, GovernanceError


def test_round_trip_and_path(tmp_path):
    p = simple_promotion()
    path = write_promotion(p, root=tmp_path)
    assert path == tmp_path / "20260528" / "toy_obi.yaml" == promotion_path("toy_obi", T0, tmp_path)
    q = load_promotion(path)
    assert q == p and q.file == str(path)
    assert q.state == "promoted" and q.canary_step == 0 and q.active
    assert q.history[0].event == "promote" and q.history[0].from_state == "candidate"
    doc = yaml.safe_load(path.read_text())
    assert list(doc)[:4] == ["schema", "alpha_id", "version", "code_hash"]
    assert doc["canary"]["capital_fraction"] == 0.1 and doc["canary"]["duration"] == "2s"


def test_root_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HFT_PROMOTIONS_ROOT", str(tmp_path / "promos"))
    assert promotions_root() == tmp_path / "promos"
    path = write_promotion(simple_promotion())
    assert path.parent.parent == tmp_path / "promos"
    monkeypatch.delenv("HFT_PROMOTIONS_ROOT")
    assert promotions_root().parts[-2:] == ("config", "strategy_promotions")


def test_history_append_only(tmp_path):
    p = simple_promotion()
    path = write_promotion(p, root=tmp_path)
    p2 = append_event(load_promotion(path), "hold", ts=T0 + 5, actor="a", reasons=["window short"],
                      metrics={"net_pnl": 1.5}, run_id="r1")
    write_promotion(p2, path)
    before = path.read_text()
    # dropping an entry
    dropped = dataclasses.replace(p2, history=p2.history[:1], state="promoted", canary_step=0)
    with pytest.raises(GovernanceError, match=r"history\[1\].*append-only"):
        write_promotion(dropped, path)
    # editing an earlier entry (keeps the same length and a valid walk)
    h0 = dataclasses.replace(p2.history[0], reasons=("rewritten",))
    with pytest.raises(GovernanceError, match=r"history\[0\]"):
        write_promotion(dataclasses.replace(p2, history=(h0, p2.history[1])), path)
    # changing an identity field
    with pytest.raises(GovernanceError, match=r"key 'code_hash'.*unchanged"):
        write_promotion(dataclasses.replace(p2, code_hash="other"), path)
    assert path.read_text() == before  # nothing written
    assert load_promotion(path).history[1].run_id == "r1"


def test_hand_edited_invalid_state(tmp_path):
    path = write_promotion(simple_promotion(), root=tmp_path)
    text = path.read_text()
    path.write_text(text.replace("state: promoted", "state: graduated"))
    with pytest.raises(GovernanceError) as ei:
        load_promotion(path)
    assert str(path) in ei.value.message and "key 'state'" in ei.value.message
    assert ei.value.fields["key"] == "state"
    path.write_text(text.replace("state: promoted", "state: live"))
    with pytest.raises(ConfigError, match="key 'state': expected one of"):
        load_promotion(path)
    path.write_text(text.replace("canary_step: 0", "canary_step: 1"))
    with pytest.raises(GovernanceError, match="key 'canary_step'"):
        load_promotion(path)
    path.write_text(text.replace("event: promote", "event: graduate"))
    with pytest.raises(GovernanceError, match=r"history\[0\]\.event"):
        load_promotion(path)


def test_unknown_and_bad_keys(tmp_path):
    doc = simple_promotion().to_dict()
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        parse_promotion({**doc, "colour": "red"}, "f.yaml")
    with pytest.raises(ConfigError, match=r"f\.yaml: key 'gateway_limits\.max_positon'|unknown key "
                                          r"'gateway_limits\.max_positon'"):
        parse_promotion({**doc, "gateway_limits": {"max_positon": 3}}, "f.yaml")
    bad = {**doc, "canary": {**doc["canary"], "capital_fraction": 0.5}}
    with pytest.raises(ConfigError, match=r"canary\.capital_fraction"):
        parse_promotion(bad, "f.yaml")
    bad = {**doc, "canary": {**doc["canary"], "ladder": [{"capital_fraction": 1.5, "duration": "1h"}]}}
    with pytest.raises(ConfigError, match=r"canary\.ladder\[0\]\.capital_fraction"):
        parse_promotion(bad, "f.yaml")
    with pytest.raises(GovernanceError, match="force_reason"):
        parse_promotion({**doc, "evidence": {**doc["evidence"], "forced": True, "force_reason": ""}}, "f.yaml")
    with pytest.raises(GovernanceError, match="key 'alpha_id'"):
        parse_promotion({**doc, "alpha_id": "../etc"}, "f.yaml")
    h = dict(doc["history"][0], ts=T0 - 1)
    with pytest.raises(GovernanceError, match="promoted_ts"):
        parse_promotion({**doc, "history": [h]}, "f.yaml")


def test_approvers():
    for ok in ("jdoe", "j.doe-2", "Jane Doe <jane.doe@example.com>", "Jean-Luc O'Neil <jl@corp.example.org>"):
        assert check_approver(ok) == ok
    for bad in ("J", "JDoe", "jane@example.com", "Jane <jane>", "<jane@example.com>", "", 3, "jane doe"):
        with pytest.raises(GovernanceError, match="expected an approver"):
            check_approver(bad)
    doc = simple_promotion().to_dict()
    with pytest.raises(GovernanceError, match=r"key 'approvers\[1\]'"):
        parse_promotion({**doc, "approvers": ["jdoe", "Not An Email"]}, "f.yaml")
    with pytest.raises(GovernanceError, match="distinct"):
        parse_promotion({**doc, "approvers": ["jdoe", "jdoe"]}, "f.yaml")


def test_bad_write_writes_nothing(tmp_path):
    p = dataclasses.replace(simple_promotion(), approvers=("Bad Approver",))
    with pytest.raises(GovernanceError):
        write_promotion(p, root=tmp_path)
    assert not any(tmp_path.rglob("*.yaml"))


def test_active_and_list(tmp_path):
    old = simple_promotion(code_hash="h-old", ts=T0)
    write_promotion(old, root=tmp_path)
    new = simple_promotion(code_hash="h-new", ts=T0 + DAY_NS)
    path_new = write_promotion(new, root=tmp_path)
    write_promotion(simple_promotion(alpha_id="other", ts=T0), root=tmp_path)
    assert [(p.date, p.alpha_id) for p in list_promotions(tmp_path)] == [
        ("20260528", "other"), ("20260528", "toy_obi"), ("20260529", "toy_obi")]
    assert active_promotion("toy_obi", tmp_path).code_hash == "h-new"
    rolled = append_event(load_promotion(path_new), "rollback", ts=T0 + DAY_NS + 1, actor="a", reasons=["kill"])
    write_promotion(rolled, path_new)
    assert active_promotion("toy_obi", tmp_path).code_hash == "h-old"
    assert active_promotion("nobody", tmp_path) is None
    assert list_promotions(tmp_path / "missing") == []


def test_events_follow_the_state_machine(tmp_path):
    p = simple_promotion()
    with pytest.raises(GovernanceError, match="not allowed"):
        append_event(p, "promote", ts=T0, actor="a", reasons=[])
    p = append_event(p, "escalate", ts=T0 - 10, actor="a", reasons=[])  # ts clamps to the last entry
    assert p.history[-1].ts == T0 and (p.state, p.canary_step) == ("canary", 1)
    p = append_event(p, "graduate", ts=T0 + 1, actor="a", reasons=[])
    assert p.state == "graduated"
    path = write_promotion(p, root=tmp_path)
    assert load_promotion(path).state == "graduated"


OLD_FILE = """\
schema: 1
alpha_id: toy_obi
version: 1.0.0
code_hash: hash-1
params: {smooth: 1}
promoted_ts: 1780000000000000000
state: promoted
canary_step: 0
evidence:
  experiment_id: exp-1
  run_ids: [run-d]
  data_hash: files-x
  forced: false
  force_reason: ''
  gates:
  - {gate: D, passed: true, metric: net_pnl, value: 1.0, threshold: 0.0, reasons: []}
gateway_limits: {max_position: 10}
canary:
  capital_fraction: 0.1
  duration: 2s
  kill: {max_drawdown: 1000.0, max_loss: 500.0, max_reject_rate: 0.05, max_slippage_bps: 10.0}
  ladder:
  - {capital_fraction: 0.1, duration: 1s}
  - {capital_fraction: 1.0, duration: 1s}
approvers: [jdoe]
history:
- {ts: 1780000000000000000, event: promote, from: candidate, to: promoted, step: 0, reasons: [test],
   actor: tester@host}
"""


def test_a_promotion_file_of_money_units_loads_with_the_same_meaning(tmp_path):
    """A file written before kill limits took currency amounts: numbers are money units, as they were."""
    f = tmp_path / "20260528" / "toy_obi.yaml"
    f.parent.mkdir()
    f.write_text(OLD_FILE)
    p = load_promotion(f)
    assert (p.canary.kill.max_loss, p.canary.kill.max_drawdown) == (500.0, 1000.0)
    # as money units they are what they were, whatever the run's currency and unit
    assert p.canary.kill.in_money_units("USDT", 1e-10) == p.canary.kill
    assert p.to_dict() == yaml.safe_load(OLD_FILE)  # written back unchanged


def test_kill_limits_as_currency_amounts_round_trip(tmp_path):
    from hft.alpha.api.lifecycle_config import CanaryKill

    text = OLD_FILE.replace("max_drawdown: 1000.0, max_loss: 500.0", "max_drawdown: 10 usd, max_loss: '5.00 USD'")
    f = tmp_path / "20260528" / "toy_obi.yaml"
    f.parent.mkdir()
    f.write_text(text)
    p = load_promotion(f)
    assert (p.canary.kill.max_drawdown, p.canary.kill.max_loss) == ("10 USD", "5.00 USD")
    q = load_promotion(write_promotion(p, root=tmp_path / "again"))
    assert q.canary == p.canary
    assert yaml.safe_load(Path(q.file).read_text())["canary"]["kill"]["max_loss"] == "5.00 USD"
    # converted exactly: 0.01 USD a money unit (LOBSTER) and 1e-10 USD
    assert p.canary.kill.in_money_units("USD", 0.01) == CanaryKill(1000.0, 500.0, 0.05, 10.0)
    assert p.canary.kill.in_money_units("USD", 1e-10).max_loss == 50_000_000_000.0


@pytest.mark.parametrize(("unit", "ccy", "text"), [
    (0.01, "USDT", "canary.kill.max_drawdown: expected an amount in USDT (the money unit is 0.01 USDT), was "
                   "'10 USD'"),
    (3.0, "USD", "canary.kill.max_drawdown: expected a whole number of money units of 3 USD, was '10 USD'"),
])
def test_a_currency_amount_that_is_not_whole_money_units_is_refused(tmp_path, unit, ccy, text):
    f = tmp_path / "20260528" / "toy_obi.yaml"
    f.parent.mkdir()
    f.write_text(OLD_FILE.replace("max_drawdown: 1000.0", "max_drawdown: 10 USD"))
    with pytest.raises(ConfigError) as e:
        load_promotion(f).canary.kill.in_money_units(ccy, unit)
    assert str(e.value) == text


@pytest.mark.parametrize("bad", ["'five USD'", "'-5 USD'", "'5'", "-1.0"])
def test_a_bad_kill_limit_is_one_line_naming_file_and_key(tmp_path, bad):
    f = tmp_path / "20260528" / "toy_obi.yaml"
    f.parent.mkdir()
    f.write_text(OLD_FILE.replace("max_loss: 500.0", f"max_loss: {bad}"))
    with pytest.raises(ConfigError) as e:
        load_promotion(f)
    msg = str(e.value)
    assert msg.startswith(f"{f}: key 'canary.kill.max_loss': expected ") and "\n" not in msg
