"""Risk checks of the house's own (hft.gateway.risk_checks): found by spec, run by the risk step through their
C entry, counted per check, reinstalled after a restore, refused strictly in the config."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from gwkit import Gw, config, intent_row

from hft.core.errors import ConfigError
from hft.core.orders import (
    BUY,
    INTENT_DTYPE,
    INTENT_NEW,
    ORDER_LIMIT,
    R_OK,
    R_RISK_CHECK,
    REPORT_ACK,
    SELL,
    TIF_GTC,
)
from hft.gateway import kernels as K
from hft.gateway.config import parse_config
from hft.gateway.intents import ExecutionReport
from hft.gateway.risk_checks import ORDER_VIEW_FIELDS, parse_checks

CHECKS = Path(__file__).parent / "data" / "house_checks.py"


def checks(*entries: tuple[str, dict]) -> tuple:
    return parse_checks([{"check": f"{CHECKS}:{name}", "params": p} for name, p in entries], "<test>")


def test_a_check_denies_with_its_reason_counts_the_denial_and_reserves_nothing():
    g = Gw(replace(config(), risk_checks=checks(("MAX_DISTANCE", {"max_ticks": 5})), self_match_prevention=False),
           mark=1000)
    near = g.new(price=1005)
    far = g.new(price=1006, side=SELL)
    assert near.accepted and near.reason == R_OK
    assert not far.accepted and far.reason == R_RISK_CHECK and far.command is None
    assert g.svc.risk_check_denials() == {"max_distance": 1}
    snap = g.svc.metrics_snapshot()
    assert snap["rejects_by_reason"] == {"RISK_CHECK": 1} and snap["risk_check_denials"] == {"max_distance": 1}
    assert 'gateway_risk_check_denials_total{check="max_distance"} 1.0' in g.svc.metrics_text()
    # the denied sell reserved nothing: a sell of the whole position limit (50) still fits
    assert g.new(side=SELL, price=995, qty=50).accepted


def test_replaces_are_checked_and_the_first_denying_check_wins():
    cs = checks(("MAX_DISTANCE", {"max_ticks": 5}), ("FIELD_EQUALS", {"field": ORDER_VIEW_FIELDS["qty"], "value": 7}))
    g = Gw(replace(config(), risk_checks=cs), mark=1000)
    d = g.new(price=1000, qty=2)
    g.svc.on_execution_report(ExecutionReport(g.clock.now_ns(), d.order_id, REPORT_ACK, 0, 0, -1, 0))
    assert g.replace(d.order_id, price=1020, qty=2).reason == R_RISK_CHECK  # too far
    assert g.new(price=1020, qty=7).reason == R_RISK_CHECK  # both deny: the first one counts
    assert g.new(price=1000, qty=7).reason == R_RISK_CHECK  # only the second
    assert g.replace(d.order_id, price=1001, qty=3).reason == R_OK
    assert g.svc.risk_check_denials() == {"max_distance": 2, "field_equals": 1}


@pytest.mark.parametrize("field", sorted(ORDER_VIEW_FIELDS))
def test_the_order_view_carries_each_field(field):
    """Deny exactly when the field has the value the order should show, pass with any other value."""
    g0 = Gw(config(), mark=1000)
    g0.new(price=990, qty=3)  # a working buy of 3 for A1/s1/AAA
    sym, strat, acct = g0.svc._sym["BBB"], g0.svc._strat["s2"], g0.svc._acct["A2"]
    expected = {"ts": g0.clock.now_ns(), "account": acct, "strategy": strat, "symbol": sym, "side": SELL,
                "price": 1003, "qty": 4, "order_type": 1, "ref_px": 1000, "position": 0, "working_buy": 0,
                "working_sell": 4, "multiplier": 1}[field]
    for value, denied in ((expected, True), (expected + 1, False)):
        g = Gw(replace(config(), risk_checks=checks(("FIELD_EQUALS", {"field": ORDER_VIEW_FIELDS[field],
                                                                        "value": value}))), mark=1000)
        g.new(price=990, qty=3)
        d = g.new(side=SELL, price=1003, qty=4, sym="BBB", strat="s2", acct="A2")
        assert (d.reason == R_RISK_CHECK) is denied, (field, value, d)


def test_the_dry_run_applies_the_checks_too():
    g = Gw(replace(config(), risk_checks=checks(("MAX_DISTANCE", {"max_ticks": 5}))), mark=1000)
    arr = np.zeros(2, dtype=INTENT_DTYPE)
    arr[0] = intent_row(key=1, price=1004, qty=1, kind=INTENT_NEW, side=BUY, order_type=ORDER_LIMIT,
                        tif=TIF_GTC)
    arr[1] = intent_row(key=2, price=1030, qty=1, kind=INTENT_NEW, side=BUY, order_type=ORDER_LIMIT,
                        tif=TIF_GTC)
    assert g.svc.check_batch(arr).tolist() == [R_OK, R_RISK_CHECK]


def test_a_restored_arena_gets_this_process_s_addresses():
    cs = checks(("MAX_DISTANCE", {"max_ticks": 5}))
    g1 = Gw(replace(config(), risk_checks=cs), mark=1000)
    g1.new(price=1100)
    g2 = Gw(replace(config(), risk_checks=cs), mark=1000)
    saved = g1.svc.arena.copy()
    rc = K.views(saved).rc
    rc[1, 0] = 12345  # an address from another process: calling it would crash
    g2.svc.arena[:] = saved
    g2.svc.install_risk_checks()  # what hft.live.snapshot.load does after the copy
    g2._key = 100  # past g1's keys (its dedup window came with the arena)
    assert g2.new(price=1100).reason == R_RISK_CHECK and g2.new(price=1001).reason == R_OK
    assert g2.svc.risk_check_denials() == {"max_distance": 2}  # the count came with the snapshot


@pytest.mark.parametrize("checks_value, key, words", [
    ("x", "risk.checks", "expected a list"),
    ([{"check": f"{CHECKS}:MAX_DISTANCE"}], "risk.checks[0].params.max_ticks", "expected an integer, was None"),
    ([{"check": f"{CHECKS}:MAX_DISTANCE", "params": {"max_ticks": 1.5}}], "risk.checks[0].params.max_ticks",
     "expected an integer"),
    ([{"check": f"{CHECKS}:MAX_DISTANCE", "params": {"max_ticks": 1, "x": 2}}], "risk.checks[0].params.x",
     "unknown parameter"),
    ([{"check": f"{CHECKS}:MAX_DISTANCE", "params": {"max_ticks": 1}, "when": "always"}], "risk.checks[0].when",
     "unknown key"),
    ([{"check": f"{CHECKS}:NOT_A_CHECK"}], "risk.checks[0].check", "is not a hft.gateway.risk_checks.RiskCheck"),
    ([{"check": f"{CHECKS}:NOT_JITTED"}], "risk.checks[0].check", "expected a numba @njit kernel"),
    ([{"check": f"{CHECKS}:MISSING"}], "risk.checks[0].check", "expected a RiskCheck 'MISSING'"),
    ([{"check": "/no/such/file.py:X"}], "risk.checks[0].check", "expected a Python file"),
    ([{"check": "no_such_check"}], "risk.checks[0].check", "entry-point group 'hft.risk_checks'"),
    ([{"check": f"{CHECKS}:MAX_DISTANCE", "params": {"max_ticks": 1}}] * 9, "risk.checks", "at most 8 checks"),
])
def test_bad_check_entries_are_one_line_config_errors(checks_value, key, words):
    with pytest.raises(ConfigError) as e:
        parse_config({"risk": {"checks": checks_value}}, file="gw.yaml")
    assert e.value.fields["key"] == key and words in e.value.message and "\n" not in e.value.message
    assert e.value.message.startswith("gw.yaml: ")


def test_check_config_names_the_checks_and_their_parameters(tmp_path):
    from typer.testing import CliRunner

    from hft.cli.gateway import app

    cfg = tmp_path / "gw.yaml"
    cfg.write_text(f"accounts: {{A: null}}\nstrategies: {{s: null}}\nsymbols: {{X: null}}\nrisk:\n  checks:\n"
                   f"    - check: {CHECKS}:MAX_DISTANCE\n      params: {{max_ticks: 5}}\n")
    r = CliRunner().invoke(app, ["check-config", str(cfg), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["risk"]["checks"] == [{"check": f"{CHECKS}:MAX_DISTANCE", "name": "max_distance",
                                                         "params": {"max_ticks": 5}}]
    r = CliRunner().invoke(app, ["check-config", str(cfg)])
    assert r.exit_code == 0 and "risk check max_distance" in r.output and "max_ticks=5" in r.output


def test_more_checks_or_parameters_than_the_table_holds_are_refused_at_install():
    """A config built in code (not parsed) with more checks or parameters than the arena's table rows hold: the
    install refuses it instead of writing past the table (the risk step calls each address it holds)."""
    one = checks(("MAX_DISTANCE", {"max_ticks": 5}))[0]
    too_many = (one,) * (K.layout.MAX_RISK_CHECKS + 1)
    with pytest.raises(ConfigError, match="at most"):
        Gw(replace(config(), risk_checks=too_many))
    wide = replace(one, values=(1,) * (K.layout.MAX_RISK_PARAMS + 1))
    with pytest.raises(ConfigError, match="at most"):
        Gw(replace(config(), risk_checks=(wide,)))
    assert Gw(replace(config(), risk_checks=(one,) * K.layout.MAX_RISK_CHECKS)).svc.risk_check_denials()
