"""Canary kill limits as currency amounts, through `hft alpha promote`: ``max_loss: "5 USD"`` is written into the
promotion file as written; an amount Gate D's money unit cannot hold, or a limit in no known form, is one line
naming the key and the value, a non-zero exit and no promotion file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "alpha"))
from lifecycle_helpers import LENIENT, make_day, make_research_root

pytestmark = pytest.mark.slow  # starts hft as processes

KILL = "kill: {max_drawdown: 1000000000000.0, max_loss: 1000000000000.0,"


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    return make_day(tmp_path_factory.mktemp("units_day"), seed=41)


def _promote(tmp_path: Path, day: Path, max_loss: str):
    assert KILL in LENIENT
    root = make_research_root(tmp_path, LENIENT.replace(KILL, f"kill: {{max_drawdown: '10000 USD', max_loss: "
                                                               f"{max_loss},"))
    env = {**os.environ, "HFT_HOME": str(tmp_path / "home"), "HFT_PROMOTIONS_ROOT": str(tmp_path / "promos"),
           "HFT_RESEARCH_ROOT": str(root)}
    env.pop("HFT_DEBUG", None)
    hft = Path(sys.executable).with_name("hft")
    return subprocess.run([str(hft), "alpha", "promote", "toy_obi", "--data", str(day), "--approver", "jdoe",
                           "--force", "--reason", "units test"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=600)


def test_a_kill_limit_in_a_currency_is_written_as_written(tmp_path, day) -> None:
    p = _promote(tmp_path, day, "'5.50 usd'")
    assert p.returncode == 0, p.stderr
    (f,) = (tmp_path / "promos").glob("*/toy_obi.yaml")
    kill = yaml.safe_load(f.read_text())["canary"]["kill"]
    assert (kill["max_loss"], kill["max_drawdown"]) == ("5.50 USD", "10000 USD")


@pytest.mark.parametrize(("max_loss", "code", "text"), [
    ("'5 EUR'", 16, "alpha toy_obi validation: key 'canary.kill.max_loss': expected an amount in USD (the money "
                    "unit is 0.01 USD), was '5 EUR'"),
    ("'0.001 USD'", 16, "key 'canary.kill.max_loss': expected a whole number of money units of 0.01 USD, was "
                        "'0.001 USD'"),
    ("'five USD'", 11, "key 'validation.canary.kill.max_loss': expected money units (a number) or a currency "
                       "amount like '5 USD', was 'five USD'"),
])
def test_a_kill_limit_gate_ds_money_unit_cannot_hold_is_one_line(tmp_path, day, max_loss, code, text) -> None:
    p = _promote(tmp_path, day, max_loss)
    assert p.returncode == code, p.stderr
    err = [ln for ln in p.stderr.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and text in err[0], p.stderr
    assert "Traceback" not in p.stderr and not (tmp_path / "promos").exists()
