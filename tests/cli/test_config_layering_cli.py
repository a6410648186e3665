"""`--config` layers over the shipped defaults and `--set` overrides, through the real console script."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli.conftest import run_hft

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    from hft.data.importing import generate_day

    out = tmp_path_factory.mktemp("layering_day")
    return Path(generate_day(out, seed=5, symbol="SYNTH", date="2024-01-02", messages=8000, levels=5,
                             zip_output=True)["zip_path"])


def test_replay_partial_config_and_set_are_recorded_in_the_run_folder(day, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("strategies: {mm: {size: 2}}\n")
    run = tmp_path / "run"
    r = run_hft("replay", "--data", str(day), "-s", "mm", "--config", str(mine), "--set", "fees.taker_bps=3",
                "--out", str(run), "--no-store", "--json")
    assert r.code == 0, r.err
    s = r.json()
    assert s["params"]["size"] == 2 and s["params"]["max_position"] == 10  # shipped mm defaults kept
    eff = yaml.safe_load((run / "config.yaml").read_text())
    assert eff["maker_bps"] == -0.2 and eff["taker_bps"] == 3.0  # shipped maker fee kept, --set applied
    assert eff["limits"] == {"max_position": 1000, "max_order_qty": 100}  # gateway limits kept
    assert s["config_sources"][1] == str(mine) and s["config_sources"][2] == "--set fees.taker_bps=3"
    assert s["config_hash"] in (run / "config.yaml").read_text()


@pytest.mark.parametrize("bad, key", [("fees.taker_bps=lots", "fees.taker_bps"),
                                      ("limits.max_position=-1", "'limits.max_position'"),
                                      ("limits.max_positon=3", "'limits.max_positon'"),
                                      ("limits.max_order_qty=0", "key 'limits.max_order_qty': expected a positive "
                                                                 "integer (lots), a quantity like '3 lots', '0.5' or "
                                                                 "'0.5 BTC' (instrument units) or null (unlimited), "
                                                                 "was 0")])
def test_replay_bad_set_is_a_config_error(day, tmp_path, bad, key):
    """The error names the key as the user wrote it (a gateway limit was named by the simulated gateway's own
    config, ``<sim gateway config>: key 'limits.defaults.max_position'``)."""
    r = run_hft("replay", "--data", str(day), "--set", bad, "--no-store")
    assert r.code == 11 and r.err.startswith("error: --set") and key in r.err, r.err
    assert "Traceback" not in r.err and "sim gateway config" not in r.err


@pytest.mark.parametrize("how", ["--set", "--config"])
def test_a_strategy_key_naming_no_strategy_is_refused(day, tmp_path, how):
    """``strategies.MM.size=5`` for ``-s mm`` ran with size 1 and exit 0: the key named no strategy."""
    mine = tmp_path / "mine.yaml"
    mine.write_text("strategies: {mn: {size: 5}}\n")
    args = ["--set", "strategies.MM.size=5"] if how == "--set" else ["--config", str(mine)]
    r = run_hft("replay", "--data", str(day), "-s", "mm", *args, "--no-store", "--out", str(tmp_path / "run"))
    bad = "MM" if how == "--set" else "mn"
    assert r.code == 11 and r.err.startswith(f"error: strategies.{bad}: expected a registered strategy"), r.err
    assert "'mm'" in r.err and "Traceback" not in r.err and not (tmp_path / "run").exists()


def test_alpha_validate_set_layers_over_the_alpha_config(day, tmp_path):
    env = {"HFT_HOME": str(tmp_path / "home")}
    r = run_hft("alpha", "validate", "obi_l1", "--data", str(day), "--no-record", "--set",
                "validation.gate_b.min_ic=0.5", "--set", "params.smooth=3", "--json", env=env)
    assert r.code in (0, 17), r.err
    card = r.json()
    assert card["params"]["smooth"] == 3
    b = next(g for g in card["gates"] if g["gate"] == "B")
    assert next(c for c in b["checks"] if c["name"] == "ic_mean")["threshold"] == 0.5
    bad = run_hft("alpha", "validate", "obi_l1", "--data", str(day), "--no-record", "--set",
                  "validation.gate_b.no_such=1", env=env)
    assert bad.code == 11 and "no_such" in bad.err and "--set" in bad.err
