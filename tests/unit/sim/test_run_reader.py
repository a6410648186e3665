"""A replay's results (`hft.sim.run_reader.RunResult`): in memory (`hft.sim.replay.replay_result`) and read back from
its run folder (`read_run`) — the same tables, for one instrument, several days and several instruments (each leg
and the portfolio); errors name the file, or say what the kind of run lacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hft.core.errors import SimError
from hft.data.importing import generate_day
from hft.data.sources import FILES
from hft.sim.replay import parse_replay_config, replay_result, run_replay
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


def _assert_same_tables(a: RunResult, b: RunResult) -> None:
    for t in TABLES:
        assert getattr(a, t).equals(getattr(b, t)), t


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


def test_the_result_in_memory_is_the_folder_read_back(days, run_dir):
    """No folder: the same summary figures and tables (equal frames) as the run folder of the same run."""
    r = replay_result([days["SYNTH"]], "mm", parse_replay_config({}), source=FILES)
    back = read_run(run_dir)
    assert r.path is None and "run_folder" not in r.summary
    assert r.summary["run_hash"] == back.summary["run_hash"] and r.summary["fills"] == back.summary["fills"] > 0
    _assert_same_tables(r, back)
    text = repr(r)
    assert text.startswith("RunResult(None, strategy='mm', symbol='SYNTH'") and "\n" not in text
    # orders as the summary counts them (new + replace, cancels apart), not the order log's rows
    assert f"orders={r.summary['orders']:,}," in text and r.summary["orders"] < len(r.orders)


def test_with_out_dir_the_folder_is_written_from_the_same_tables(days, tmp_path):
    r = replay_result([days["SYNTH"]], "mm", parse_replay_config({}), out_dir=tmp_path / "run", source=FILES)
    assert r.path == tmp_path / "run" and r.summary["run_folder"] == str(tmp_path / "run")
    _assert_same_tables(r, read_run(tmp_path / "run"))


def test_several_days_give_the_days_and_the_total_tables(days, tmp_path):
    data = [days["AAA1"], days["AAA2"]]
    r = replay_result(data, "mm", parse_replay_config({}), source=FILES)
    run_replay(data, "mm", parse_replay_config({}), out_dir=tmp_path / "run", source=FILES)
    back = read_run(tmp_path / "run")
    assert [d["run_hash"] for d in r.days] == [d["run_hash"] for d in back.days] and len(r.days) == 2
    assert sum(d["fills"] for d in r.days) == len(r.fills) == r.summary["fills"]
    _assert_same_tables(r, back)
    assert "days=2, " in repr(r)


@pytest.mark.parametrize("kind", ["instruments", "instruments over days"])
def test_several_instruments_give_each_leg_and_the_portfolio(kind, days, tmp_path):
    """Each leg's tables equal its folder ``legs/NN_<symbol>/`` read back; the portfolio, ``portfolio.parquet``."""
    data = [days["AAA1"], days["BBB1"]] + ([days["AAA2"], days["BBB2"]] if kind != "instruments" else [])
    r = replay_result(data, HEDGED_MM, PYTHON, source=FILES)
    run_replay(data, HEDGED_MM, PYTHON, out_dir=tmp_path / "run", source=FILES)
    back = read_run(tmp_path / "run")
    assert r.several_instruments and list(r.legs) == list(back.legs) == ["AAA", "BBB"]
    assert r.portfolio.equals(back.portfolio) and r.portfolio.height > 0
    for symbol, leg in r.legs.items():
        assert leg.summary["symbol"] == symbol and leg.path is None
        assert back.leg(symbol).path == tmp_path / "run" / "legs" / f"{list(r.legs).index(symbol) + 1:02d}_{symbol}"
        assert leg.summary["run_hash"] == back.leg(symbol).summary["run_hash"]
        _assert_same_tables(leg, back.leg(symbol))
    assert sum(len(leg.fills) for leg in r.legs.values()) == r.summary["fills"] > 0
    if kind != "instruments":
        assert len(r.days) == 2 and [d["run_hash"] for d in r.days] == [d["run_hash"] for d in back.days]
    text = repr(r)
    assert text.startswith("RunResult(None, strategy='hedged_mm', symbols=['AAA', 'BBB']") and "\n" not in text
    with_folder = replay_result(data, HEDGED_MM, PYTHON, out_dir=tmp_path / "again", source=FILES)
    assert [leg.path for leg in with_folder.legs.values()] == [tmp_path / "again" / "legs" / leg.path.name
                                                               for leg in back.legs.values()]
    assert with_folder.portfolio.equals(read_run(tmp_path / "again").portfolio)


def test_diff_runs_compares_results_in_memory_as_it_compares_folders(days, run_dir, tmp_path):
    """`diff_runs` takes a run in memory, a run folder, or one of each: the same answer."""
    from hft.sim.golden import diff_runs

    same = replay_result([days["SYNTH"]], "mm", parse_replay_config({}), source=FILES)
    other = replay_result([days["SYNTH"]], "mm", parse_replay_config({"latency": {"entry": "5ms"}}),
                          out_dir=tmp_path / "slow", source=FILES)
    assert diff_runs(same, run_dir)["divergences"] == [] and diff_runs(same, run_dir)["same_run_hash"] is True
    mem, disk = diff_runs(same, other), diff_runs(run_dir, tmp_path / "slow")
    assert mem["first_divergence"] is not None and mem["same_run_hash"] is False
    assert (mem["first_divergence"], mem["metric_deltas"]) == (disk["first_divergence"], disk["metric_deltas"])
    pair = replay_result([days["AAA1"], days["BBB1"]], HEDGED_MM, PYTHON, source=FILES)
    assert diff_runs(pair, pair)["divergences"] == []
    with pytest.raises(SimError, match=r"the run in memory \(.*\) and .*: expected runs of the same instruments "
                                       r"to compare, were legs 01_AAA, 02_BBB and one instrument"):
        diff_runs(pair, run_dir)


def test_asking_a_result_in_memory_for_what_its_kind_has_not_is_a_sim_error(days):
    one = replay_result([days["SYNTH"]], "mm", parse_replay_config({}), source=FILES)
    with pytest.raises(SimError, match=r"^run in memory: a run of one instrument \(SYNTH\) has no legs$") as err:
        one.leg("SYNTH")
    assert err.value.hint == "its tables: .orders, .fills, .decisions, .equity"
    pair = replay_result([days["AAA1"], days["BBB1"]], HEDGED_MM, PYTHON, source=FILES)
    with pytest.raises(SimError, match=r"^run in memory: a run over several instruments \['AAA', 'BBB'\] has no "
                                       r"equity table of its own$"):
        pair.equity  # noqa: B018
    with pytest.raises(SimError, match=r"^run in memory: a run of one day has no days$"):
        pair.days  # noqa: B018


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
