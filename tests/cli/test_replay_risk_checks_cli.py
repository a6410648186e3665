"""The house's own risk checks from the command line: docs/extending.md's `MAX_DISTANCE`, named in a replay
config layer, denies orders in a replay with reason RISK_CHECK; a bad entry is a one-line config error before
any data is read, with nothing written."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.cli.conftest import run_hft
from tests.unit.test_extending_doc import _block

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rc_day")
    r = run_hft("data", "generate", "--out", str(out), "--messages", "20000", "--levels", "5", "--seed", "5",
                "--zip", "--json")
    assert r.code == 0, r.err
    return next(out.glob("*.zip"))


def _layer(tmp_path: Path, max_ticks: object, extra: str = "") -> Path:
    (tmp_path / "house").mkdir(exist_ok=True)
    (tmp_path / "house" / "my_checks.py").write_text(_block("MAX_DISTANCE = RiskCheck"))
    cfg = tmp_path / "house" / "replay.yaml"  # the check's file is relative to this config's folder
    cfg.write_text(f"risk_checks:\n  - check: my_checks.py:MAX_DISTANCE\n    params: {{max_ticks: {max_ticks}}}\n"
                   + extra)
    return cfg


def test_a_risk_check_named_in_the_config_denies_orders_in_a_replay(day, tmp_path):
    base = run_hft("replay", "-d", str(day), "-s", "mm", "--no-store", "--json", "-o", str(tmp_path / "base"))
    assert base.code == 0, base.err
    assert "RISK_CHECK" not in base.json()["rejects"]
    r = run_hft("replay", "-d", str(day), "-s", "mm", "--config", str(_layer(tmp_path, 0)), "--no-store", "--json",
                "-o", str(tmp_path / "run"), cwd=tmp_path)
    assert r.code == 0, r.err
    s = r.json()
    assert s["rejects"].get("RISK_CHECK", 0) > 0 and s["orders"] < base.json()["orders"]
    dec = pl.read_parquet(tmp_path / "run" / "decisions.parquet")
    denied = dec.filter(pl.col("reason_name") == "RISK_CHECK")
    assert denied.height == s["rejects"]["RISK_CHECK"]
    assert s["config_hash"] != base.json()["config_hash"]  # the checks are part of the effective config


@pytest.mark.parametrize("max_ticks, extra, words", [
    ("wide", "", "key 'risk_checks[0].params.max_ticks': expected an integer, was 'wide'"),
    ("1", "    when: always\n", "key 'risk_checks[0].when': unknown key"),
])
def test_a_bad_risk_check_entry_is_a_one_line_error_and_writes_nothing(day, tmp_path, max_ticks, extra, words):
    r = run_hft("replay", "-d", str(day), "-s", "mm", "--config", str(_layer(tmp_path, max_ticks, extra)),
                "--no-store", "-o", str(tmp_path / "run"))
    assert r.code == 11, r.err
    assert words in r.err and len(r.err.strip().splitlines()) <= 2, r.err  # error: ... (+ hint: ...)
    assert "Traceback" not in r.err and not (tmp_path / "run").exists()
