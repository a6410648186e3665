"""`hft replay sweep SPEC`: a parameter grid x days x instruments (or groups of instruments replayed together) on
the local process pool and on a local Ray, resumable, results in one Parquet table and the store; through the
real console script. The LOBSTER GOOG + AMZN pair when ../shared/data is present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

HEDGED_MM = "hft.sim.strategies.hedged_mm:HedgedMarketMaker"  # as tests/cli/test_replay_instruments_cli.py
LOBSTER_PAIR = {"GOOG": "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip", "AMZN": "LOBSTER_SampleFile_AMZN_2012-06-21_1.zip"}


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    from tests.cli.conftest import run_hft

    base = tmp_path_factory.mktemp("sweep")
    for seed, date in ((4, "2024-01-02"), (5, "2024-01-03")):
        r = run_hft("data", "generate", "--out", str(base / "gen"), "--seed", str(seed), "--date", date,
                    "--messages", "3000", "--levels", "5", "--zip", "--json")
        assert r.code == 0, r.err
    path = base / "sweep.yaml"  # data paths relative to the spec's folder
    path.write_text("sweep: edge\nstrategy: mm\ngrid: {edge_ticks: [0, 1], size: [1]}\n"
                    "data: {SYNTH: ['gen/*.zip']}\ndays: each\n")
    return path


def _table(folder: Path):
    import polars as pl

    return pl.read_parquet(folder / "results.parquet")


def test_local_pool_resume_store_and_ray_agree(hft, spec, tmp_path):
    home = {"HFT_HOME": str(tmp_path / "home")}
    a = tmp_path / "a"
    r = hft("replay", "sweep", str(spec), "--out", str(a), "--workers", "2", "--json", env=home)
    assert r.code == 0, r.err
    s = r.json()
    assert s["cells"] == 4 and s["new_cells"] == 4 and s["errors"] == 0
    t = _table(a)
    assert t.height == 4 and t["status"].to_list() == ["ok"] * 4
    assert t["p_edge_ticks"].to_list() == [0, 1, 0, 1] and t["p_size"].to_list() == [1, 1, 1, 1]
    days = sorted(p.name for p in (spec.parent / "gen").glob("*.zip"))
    assert t["day"].to_list() == [days[0], days[0], days[1], days[1]]
    # a cell is exactly the replay of its day with its parameters
    one = hft("replay", "-d", str(spec.parent / "gen" / days[1]), "-s", "mm", "--set", "strategies.mm.edge_ticks=1",
              "--no-store", "--json")
    assert one.code == 0, one.err
    assert t["run_hash"][3] == one.json()["run_hash"] and t["pnl"][3] == one.json()["pnl"]
    # every cell is a run in the store, its summary naming the sweep and the cell
    q = hft("audit", "query", "SELECT run_id, summary FROM sim.runs", "--json", env=home)
    assert q.code == 0, q.err
    stored = {row["run_id"]: json.loads(row["summary"]) for row in q.json()["rows"]}
    assert set(t["run_hash"]) <= set(stored)
    assert {stored[h]["sweep"]["cell"] for h in t["run_hash"]} == set(t["cell"])
    _resumes_and_ray_agrees(hft, spec, a, t, lost=2, tmp_path=tmp_path)


def _resumes_and_ray_agrees(hft, spec: Path, a: Path, t, *, lost: int, tmp_path: Path) -> None:
    """Resumable: a finished cell is skipped, the lost cell `lost` runs again and the table is the same; and Ray
    (a local Ray the command starts, 2 CPUs) gives the identical table."""
    (a / "cells" / f"{t['cell'][lost]}.json").unlink()
    again = hft("replay", "sweep", str(spec), "--out", str(a), "--workers", "1", "--no-store", "--json")
    assert again.code == 0, again.err
    assert (again.json()["new_cells"], again.json()["resumed_cells"]) == (1, t.height - 1)
    assert _table(a).equals(t)
    pytest.importorskip("ray")
    b = tmp_path / "b"
    ray = hft("replay", "sweep", str(spec), "--out", str(b), "--backend", "ray", "--workers", "2", "--no-store",
              "--json")
    assert ray.code == 0, ray.err
    assert ray.json()["backend"] == "ray" and ray.json()["new_cells"] == t.height
    assert _table(b).equals(t)


def test_ray_address_joins_a_running_cluster(hft, spec, tmp_path):
    """... and an existing cluster the command joins with --address (a local Ray this test starts)."""
    ray = pytest.importorskip("ray")
    import os

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        address = ray.get_runtime_context().gcs_address
        local = hft("replay", "sweep", str(spec), "--out", str(tmp_path / "l"), "--workers", "1", "--no-store",
                    "--json")
        joined = hft("replay", "sweep", str(spec), "--out", str(tmp_path / "r"), "--backend", "ray", "--address",
                     address, "--no-store", "--json")
    finally:
        ray.shutdown()
    assert local.code == 0 and joined.code == 0, local.err + joined.err
    assert joined.json()["new_cells"] == 4
    assert _table(tmp_path / "r").equals(_table(tmp_path / "l"))


@pytest.fixture(scope="module")
def pair_spec(tmp_path_factory, shared_data) -> Path:
    """hedged_mm over a size grid on the GOOG + AMZN group (LOBSTER level 1, 2012-06-21): two cells."""
    paths = {sym: shared_data / "lobster" / name for sym, name in LOBSTER_PAIR.items()}
    if not all(p.is_file() for p in paths.values()):
        pytest.skip("the LOBSTER GOOG / AMZN samples are not in ../shared/data/lobster")
    spec = tmp_path_factory.mktemp("pair") / "pair.yaml"
    spec.write_text(yaml.safe_dump({"sweep": "pair", "strategy": HEDGED_MM, "grid": {"size": [1, 2]},
                                    "data": {"GOOG+AMZN": {sym: [str(p)] for sym, p in paths.items()}}},
                                   sort_keys=False))
    return spec


def _pair_replay(hft, spec: Path, *sets: str) -> dict:
    """`hft replay -d GOOG -d AMZN -s hedged_mm` with the spec's data, as one command."""
    data = yaml.safe_load(spec.read_text())["data"]["GOOG+AMZN"]
    args = [a for sym in ("GOOG", "AMZN") for a in ("-d", data[sym][0])]
    r = hft("replay", *args, "-s", HEDGED_MM, *(a for s in sets for a in ("--set", s)), "--no-store", "--json")
    assert r.code == 0, r.err
    return r.json()


def test_instrument_pair_cells_resume_store_and_ray_agree(hft, pair_spec, tmp_path):
    home = {"HFT_HOME": str(tmp_path / "home")}
    a = tmp_path / "a"
    r = hft("replay", "sweep", str(pair_spec), "--out", str(a), "--workers", "2", "--json", env=home)
    assert r.code == 0, r.err
    assert (r.json()["cells"], r.json()["new_cells"], r.json()["errors"]) == (2, 2, 0)
    t = _table(a)
    assert t["instrument"].to_list() == ["GOOG+AMZN"] * 2 and t["p_size"].to_list() == [1, 2]
    assert t["symbols"].to_list() == [["GOOG", "AMZN"]] * 2
    # a cell is exactly the run of the two instruments on one clock with its parameters: portfolio and legs
    one = _pair_replay(hft, pair_spec, "strategies.hedged_mm.size=2")
    row = t.row(1, named=True)
    assert row["run_hash"] == one["run_hash"] and row["pnl"] == one["pnl"] and row["fills"] == one["fills"]
    assert row["data_hash"] == one["data_hash"] and row["events"] == one["events"] == 106_997
    assert (row["exposure_net"], row["exposure_gross"], row["exposure_max_gross"]) == (
        one["exposure"]["net"], one["exposure"]["gross"], one["exposure"]["max_gross"])
    assert [(x["symbol"], x["run_hash"], x["pnl"], x["fills"], x["position"]) for x in row["legs"]] == [
        (x["symbol"], x["run_hash"], x["pnl"], x["fills"], x["position"]) for x in one["legs"]]
    assert row["pnl"] == pytest.approx(sum(x["pnl"] for x in row["legs"]), abs=0.011)
    assert t["run_hash"][0] != t["run_hash"][1]
    # one sim.runs row per cell, its summary the portfolio's, naming the sweep and the cell
    q = hft("audit", "query", "SELECT run_id, summary FROM sim.runs", "--json", env=home)
    assert q.code == 0, q.err
    stored = {row["run_id"]: json.loads(row["summary"]) for row in q.json()["rows"]}
    assert set(stored) == set(t["run_hash"])
    assert [stored[h]["sweep"]["cell"] for h in t["run_hash"]] == t["cell"].to_list()
    assert all(stored[h]["symbols"] == ["GOOG", "AMZN"] for h in t["run_hash"])
    _resumes_and_ray_agrees(hft, pair_spec, a, t, lost=0, tmp_path=tmp_path)  # legs included


@pytest.fixture(scope="module")
def two_by_two(tmp_path_factory) -> Path:
    """Two generated instruments (AAA, BBB) on two days each."""
    from tests.cli.conftest import run_hft

    base = tmp_path_factory.mktemp("legs_days")
    for symbol, seed in (("AAA", 2), ("BBB", 3)):
        for date in ("2024-01-02", "2024-01-03"):
            r = run_hft("data", "generate", "--out", str(base / symbol), "--seed", str(seed), "--symbol", symbol,
                        "--date", date, "--messages", "3000", "--levels", "5", "--zip", "--json")
            assert r.code == 0, r.err
    return base


def test_group_over_days_each_and_together(hft, two_by_two, tmp_path):
    """days: each -> a cell per day of the pair; together -> one run over both days of both (portfolio_days)."""
    a_days = sorted((two_by_two / "AAA").glob("*.zip"))
    b_days = sorted((two_by_two / "BBB").glob("*.zip"))
    for days in ("each", "together"):
        spec = two_by_two / f"{days}.yaml"
        spec.write_text(yaml.safe_dump({"sweep": days, "strategy": "mm", "grid": {"edge_ticks": [0, 1]}, "days": days,
                                        "data": {"AB": {"AAA": ["AAA/*.zip"], "BBB": ["BBB/*.zip"]}}}))
        r = hft("replay", "sweep", str(spec), "--out", str(tmp_path / days), "--workers", "2", "--no-store",
                "--json")
        assert r.code == 0, r.err
        t = _table(tmp_path / days)
        assert t["status"].to_list() == ["ok"] * t.height and t["symbols"][0].to_list() == ["AAA", "BBB"]
        data = [a_days[1], b_days[1]] if days == "each" else [a_days[0], b_days[0], a_days[1], b_days[1]]
        one = hft("replay", *(a for p in data for a in ("-d", str(p))), "-s", "mm", "--set",
                  "strategies.mm.edge_ticks=1", "--no-store", "--json")
        assert one.code == 0, one.err
        last = t.row(t.height - 1, named=True)  # each: day 2, edge 1; together: edge 1
        assert t.height == (4 if days == "each" else 2)
        assert (last["run_hash"], last["pnl"]) == (one.json()["run_hash"], one.json()["pnl"])
        assert [x["run_hash"] for x in last["legs"]] == [x["run_hash"] for x in one.json()["legs"]]
        if days == "together":
            assert one.json()["n_days"] == 2


@pytest.mark.parametrize(("text", "code", "expect"), [
    ("sweep: x\nstrategy: mm\ngrid: {nope: [1]}\ndata: {S: ['gen/*.zip']}\n", 11, "grid.nope"),
    ("sweep: x\nstrategy: mm\ngrid: {size: [0]}\ndata: {S: ['gen/*.zip']}\n", 11, "expected a value >= 1"),
    ("sweep: x\nstrategy: mm\ngrid: {size: 1}\ndata: {S: ['gen/*.zip']}\n", 11, "non-empty list"),
    ("sweep: x\nstrategy: nope\ndata: {S: ['gen/*.zip']}\n", 11, "registered strategy"),
    ("sweep: x\nstrategy: mm\ndata: {S: ['gen/*.none']}\n", 11, "matching the pattern"),
    ("sweep: x\nstrategy: mm\ndata: {S: ['gen/*.zip']}\ncolour: red\n", 11, "colour"),
    ("sweep: x\nstrategy: mm\ndata: {P: {S: ['gen/*.zip']}}\n", 11, "key 'data.P': expected a group of two"),
    ("sweep: x\nstrategy: mm\ngrid: {size: {2,3}}\ndata: {S: ['gen/*.zip']}\n", 11,
     "key 'grid.size': expected a list of values: write [2, 3]"),
])
def test_bad_spec_is_one_line(hft, spec, tmp_path, text, code, expect):
    bad = spec.parent / "bad.yaml"
    bad.write_text(text)
    r = hft("replay", "sweep", str(bad), "--out", str(tmp_path / "x"), "--no-store")
    assert r.code == code, r.err
    assert expect in r.err and "Traceback" not in r.err and len(r.err.strip().splitlines()) <= 2  # error (+ hint)
    assert not (tmp_path / "x").exists()  # nothing written


def test_failed_cells_are_said_and_fail_the_sweep(hft, spec, tmp_path):
    """A cell that cannot run (data no format reads; the user's strategy raising) is one error line each on stderr
    and in its --json row, the sweep exits 14 with ``ok`` false, and the good cells' results are still written."""
    base = spec.parent
    (base / "junk").mkdir(exist_ok=True)
    (base / "junk" / "garbage.txt").write_text("not market data\n")
    (base / "boom.py").write_text("from hft.sim.strategy import Strategy\n\n\nclass Boom(Strategy):\n"
                                  "    def __init__(self, fuse: int = 0) -> None:\n        self.fuse = fuse\n\n"
                                  "    def on_book(self, ctx):\n        if self.fuse:\n"
                                  "            raise RuntimeError('kaboom')\n")
    path = base / "mixed.yaml"
    path.write_text("sweep: mixed\nstrategy: boom.py:Boom\ngrid: {fuse: [0, 1]}\n"
                    "data: {SYNTH: ['gen/*_2024-01-02_*.zip'], JUNK: ['junk/garbage.txt']}\n")
    out = tmp_path / "mixed"
    r = hft("replay", "sweep", str(path), "--out", str(out), "--no-store", "--workers", "1", cwd=base)
    assert r.code == 14, r.err
    errors = [ln for ln in r.err.splitlines() if ln.startswith("error: ")]
    assert errors[0] == ("error: cell 1 (SYNTH, 2024-01-02, fuse=1): strategy boom.py:Boom: on_book raised "
                         "RuntimeError: kaboom (boom.py:10)")
    for n in (2, 3):
        assert errors[n - 1].startswith(f"error: cell {n} (JUNK, garbage.txt, fuse={n - 2}): "
                                        f"{base / 'junk' / 'garbage.txt'}: expected a file in one of the formats")
    assert errors[3:] == ["error: sweep mixed: 3 of 4 cells failed"] and "Traceback" not in r.err
    assert "kaboom" not in r.out  # the table's run hash column holds run hashes only
    j = hft("replay", "sweep", str(path), "--out", str(out), "--no-store", "--json", cwd=base)  # resumed
    assert j.code == 14
    res = j.json()
    assert res["ok"] is False and res["errors"] == 3
    assert [x["status"] for x in res["rows"]] == ["ok", "error", "error", "error"]
    assert res["rows"][1]["error"] == "strategy boom.py:Boom: on_book raised RuntimeError: kaboom (boom.py:10)"
    assert _table(out)["status"].to_list() == ["ok", "error", "error", "error"]


def test_a_range_that_skips_days_says_so(hft, spec, tmp_path):
    """A day range over a day with no file (a weekend, a holiday) runs the days it finds and says, in one
    ``notice:`` line and in the --json ``notices``, which it skipped, as `hft replay` does."""
    path = spec.parent / "range.yaml"
    path.write_text("sweep: range\nstrategy: mm\ngrid: {edge_ticks: [0]}\n"
                    "data: {SYNTH: ['gen/SYNTH_2024-01-{02..04}_34200000_57600000_5.zip']}\n")
    r = hft("replay", "sweep", str(path), "--out", str(tmp_path / "range"), "--no-store", "--workers", "1",
            "--json", cwd=spec.parent)
    assert r.code == 0, r.err
    res = r.json()
    assert res["cells"] == 2 and len(res["notices"]) == 1
    assert "matched 2 of 3" in res["notices"][0] and "SYNTH_2024-01-04_34200000_57600000_5.zip" in res["notices"][0]
    assert [ln for ln in r.err.splitlines() if ln.strip()] == [f"notice: {res['notices'][0]}"]


def test_a_brace_list_of_days_expands(hft, spec, tmp_path):
    """``{03,02}`` in a data path is those days in that order (a cell each), a listed day with no file said as a
    range's is."""
    path = spec.parent / "list.yaml"
    path.write_text("sweep: list\nstrategy: mm\ngrid: {edge_ticks: [0]}\n"
                    "data: {SYNTH: ['gen/SYNTH_2024-01-{03,02,04}_34200000_57600000_5.zip']}\n")
    r = hft("replay", "sweep", str(path), "--out", str(tmp_path / "list"), "--no-store", "--workers", "1",
            "--json", cwd=spec.parent)
    assert r.code == 0, r.err
    res = r.json()
    assert res["cells"] == 2 and "the list matched 2 of 3" in res["notices"][0]
    assert [d.split("_")[1] for d in _table(tmp_path / "list")["day"].to_list()] == ["2024-01-03", "2024-01-02"]
