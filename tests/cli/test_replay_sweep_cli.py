"""`hft replay sweep SPEC`: a parameter grid x days on the local process pool and on a local Ray, resumable,
results in one Parquet table and the store; through the real console script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


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
    # resumable: a finished cell is skipped; a lost one runs again, and the table is the same
    lost = a / "cells" / f"{t['cell'][2]}.json"
    lost.unlink()
    again = hft("replay", "sweep", str(spec), "--out", str(a), "--workers", "1", "--no-store", "--json")
    assert again.code == 0, again.err
    assert (again.json()["new_cells"], again.json()["resumed_cells"]) == (1, 3)
    assert _table(a).equals(t)
    # Ray gives the identical table: a local Ray the command starts (2 CPUs) ...
    pytest.importorskip("ray")
    b = tmp_path / "b"
    ray = hft("replay", "sweep", str(spec), "--out", str(b), "--backend", "ray", "--workers", "2", "--no-store",
              "--json")
    assert ray.code == 0, ray.err
    assert ray.json()["backend"] == "ray" and ray.json()["new_cells"] == 4
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


@pytest.mark.parametrize(("text", "code", "expect"), [
    ("sweep: x\nstrategy: mm\ngrid: {nope: [1]}\ndata: {S: ['gen/*.zip']}\n", 11, "grid.nope"),
    ("sweep: x\nstrategy: mm\ngrid: {size: [0]}\ndata: {S: ['gen/*.zip']}\n", 11, "expected a value >= 1"),
    ("sweep: x\nstrategy: mm\ngrid: {size: 1}\ndata: {S: ['gen/*.zip']}\n", 11, "non-empty list"),
    ("sweep: x\nstrategy: nope\ndata: {S: ['gen/*.zip']}\n", 11, "registered strategy"),
    ("sweep: x\nstrategy: mm\ndata: {S: ['gen/*.none']}\n", 11, "matching the pattern"),
    ("sweep: x\nstrategy: mm\ndata: {S: ['gen/*.zip']}\ncolour: red\n", 11, "colour"),
])
def test_bad_spec_is_one_line(hft, spec, tmp_path, text, code, expect):
    bad = spec.parent / "bad.yaml"
    bad.write_text(text)
    r = hft("replay", "sweep", str(bad), "--out", str(tmp_path / "x"), "--no-store")
    assert r.code == code, r.err
    assert expect in r.err and "Traceback" not in r.err
    assert not (tmp_path / "x").exists()  # nothing written
