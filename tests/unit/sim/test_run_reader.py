"""A replay's results read back from its run folder (`hft.sim.run_reader.read_run`, a `RunResult`): one instrument's
tables, or a run over several instruments (its portfolio table and legs); errors name the file, or say what the
kind of run lacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hft.core.errors import SimError
from hft.data.importing import generate_day
from hft.data.sources import FILES
from hft.sim.replay import parse_replay_config, run_replay
from hft.sim.run_reader import TABLES, RunFolder, RunResult, read_run

HEDGED_MM = "hft.sim.strategies.hedged_mm:HedgedMarketMaker"
PYTHON = parse_replay_config({"engine": "python"})  # several legs: the reference engine, quick on a cold cache


def _day(work: Path, symbol: str, seed: int, date: str) -> Path:
    return Path(generate_day(work / f"{symbol}{seed}", seed=seed, symbol=symbol, date=date, messages=3000,
                             levels=5, zip_output=True)["zip_path"])


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> dict[str, Path]:
    """Generated LOBSTER days: SYNTH (one instrument), AAA and BBB on two dates (several instruments, days)."""
    work = tmp_path_factory.mktemp("run_reader_days")
    return {"SYNTH": _day(work, "SYNTH", 3, "2024-01-02"), "AAA1": _day(work, "AAA", 2, "2024-01-02"),
            "BBB1": _day(work, "BBB", 3, "2024-01-02"), "AAA2": _day(work, "AAA", 4, "2024-01-03"),
            "BBB2": _day(work, "BBB", 5, "2024-01-03")}


@pytest.fixture(scope="module")
def run_dir(days, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("run_reader")
    run_replay([days["SYNTH"]], "mm", parse_replay_config({}), out_dir=work / "run", source=FILES)
    return work / "run"


def test_reads_the_summary_and_the_tables(run_dir):
    run = read_run(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert run.summary == summary and run.path == run_dir
    assert len(run.fills) == summary["fills"] and len(run.decisions) == summary["decisions"]
    assert {"ts_utc", "side_name", "price_px", "qty_inst", "fee_ccy"} <= set(run.fills.columns)
    assert run.equity["net_equity_ccy"].dtype.is_float() and run.equity["ts_utc"].dtype.time_zone == "UTC"
    r = repr(run)
    assert r.startswith(f"RunResult({str(run_dir)!r}, strategy='mm', symbol='SYNTH'") and "\n" not in r
    assert f"fills={summary['fills']:,}" in r and f"run_hash={summary['run_hash']!r}" in r
    assert RunFolder is RunResult and isinstance(run, RunFolder)  # the name before results in memory existed


def test_a_run_over_several_instruments_reads_back_its_portfolio_and_legs(days, run_dir, tmp_path):
    run_replay([days["AAA1"], days["BBB1"]], HEDGED_MM, PYTHON, out_dir=tmp_path / "run", source=FILES)
    pair = read_run(tmp_path / "run")
    assert pair.several_instruments and list(pair.legs) == ["AAA", "BBB"] and pair.portfolio.height > 0
    assert pair.leg("BBB").path == tmp_path / "run" / "legs" / "02_BBB" and pair.leg("BBB").summary["symbol"] == "BBB"
    assert sum(leg.fills.height for leg in pair.legs.values()) == pair.summary["fills"] > 0
    assert repr(pair).startswith(f"RunResult({str(tmp_path / 'run')!r}, strategy='hedged_mm', symbols=['AAA', 'BBB']")
    with pytest.raises(SimError, match=r"run: a run over several instruments \['AAA', 'BBB'\] has no orders table of "
                                       r"its own") as err:
        pair.orders  # noqa: B018
    assert err.value.hint == "take a leg's: .leg('AAA').orders, or .portfolio"
    with pytest.raises(SimError, match=r"expected one of the run's symbols \['AAA', 'BBB'\], was 'ZZZ'"):
        pair.leg("ZZZ")
    one = read_run(run_dir)
    for ask, match in ((lambda: one.legs, r"a run of one instrument \(SYNTH\) has no legs"),
                       (lambda: one.portfolio, r"a run of one instrument \(SYNTH\) has no portfolio table"),
                       (lambda: one.days, r"a run of one day has no days")):
        with pytest.raises(SimError, match=match):
            ask()


def test_errors_name_the_file(run_dir, tmp_path):
    with pytest.raises(SimError, match=r"nope: expected a run folder with summary.json"):
        read_run(tmp_path / "nope")
    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    (broken / "fills.parquet").write_bytes(b"garbage")
    with pytest.raises(SimError, match=r"broken/fills.parquet: expected a readable run-folder table"):
        read_run(broken)
    (broken / "summary.json").write_text("[1]")
    with pytest.raises(SimError, match=r"broken/summary.json: expected a JSON object, was list"):
        read_run(broken)


def test_a_folder_of_legs_without_its_portfolio_table_names_the_file(run_dir, tmp_path):
    legs = tmp_path / "pair"
    (legs / "legs").mkdir(parents=True)
    (legs / "summary.json").write_text("{}")
    with pytest.raises(SimError, match=r"pair/legs: expected a run folder per leg, there is none"):
        read_run(legs)
    for name in ("01_AAA", "02_BBB"):
        shutil.copytree(run_dir, legs / "legs" / name)
    with pytest.raises(SimError, match=r"pair/portfolio.parquet: expected a readable run-folder table"):
        read_run(legs)
    assert len(read_run(legs / "legs" / "02_BBB").orders) == len(read_run(run_dir).orders)
    assert TABLES == ("orders", "fills", "decisions", "equity")
