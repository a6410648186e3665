"""`hft.sim.run_reader.read_run`: a run folder read back as its summary and polars DataFrames, errors naming the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hft.core.errors import SimError
from hft.data.importing import generate_day
from hft.data.sources import FILES
from hft.sim.replay import parse_replay_config, run_replay
from hft.sim.run_reader import TABLES, read_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("run_reader")
    day = generate_day(work, seed=3, symbol="SYNTH", date="2024-01-02", messages=3000, levels=5,
                       zip_output=True)["zip_path"]
    run_replay([Path(day)], "mm", parse_replay_config({}), out_dir=work / "run", source=FILES)
    return work / "run"


def test_reads_the_summary_and_the_tables(run_dir):
    run = read_run(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert run.summary == summary and run.path == run_dir
    assert len(run.fills) == summary["fills"] and len(run.decisions) == summary["decisions"]
    assert {"ts_utc", "side_name", "price_px", "qty_inst", "fee_ccy"} <= set(run.fills.columns)
    assert run.equity["net_equity_ccy"].dtype.is_float() and run.equity["ts_utc"].dtype.time_zone == "UTC"
    r = repr(run)
    assert r.startswith(f"RunFolder({str(run_dir)!r}, strategy='mm', symbol='SYNTH'") and "\n" not in r
    assert f"fills={summary['fills']:,}" in r and f"run_hash={summary['run_hash']!r}" in r


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


def test_a_run_over_several_instruments_names_its_legs(run_dir, tmp_path):
    legs = tmp_path / "pair"
    (legs / "legs").mkdir(parents=True)
    (legs / "summary.json").write_text("{}")
    for name in ("00_AAA", "01_BBB"):
        shutil.copytree(run_dir, legs / "legs" / name)
    with pytest.raises(SimError, match=r"pair: expected the run folder of one instrument, it holds legs "
                                       r"\['00_AAA', '01_BBB'\]") as err:
        read_run(legs)
    assert "legs/00_AAA" in err.value.hint
    assert len(read_run(legs / "legs" / "01_BBB").orders) == len(read_run(run_dir).orders)
    assert TABLES == ("orders", "fills", "decisions", "equity")
