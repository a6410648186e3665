"""`hft replay` over several days of one instrument (one session each, one gateway), through the real console
script: two generated days in one run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> list[Path]:
    from tests.cli.conftest import run_hft

    out = tmp_path_factory.mktemp("days")
    paths = []
    for seed, date in ((2, "2024-01-02"), (3, "2024-01-03")):
        r = run_hft("data", "generate", "--out", str(out), "--seed", str(seed), "--date", date, "--messages", "5000",
                    "--levels", "5", "--zip", "--json")
        assert r.code == 0, r.err
        paths.append(Path(r.json()["zip_path"]))
    return paths


def test_two_generated_days_in_one_run(hft, days, tmp_path):
    home = {"HFT_HOME": str(tmp_path / "home")}
    r = hft("replay", "-d", str(days[0]), "-d", str(days[1]), "-s", "mm", "--out", str(tmp_path / "run"), "--json",
            env=home)
    assert r.code == 0, r.err
    s = r.json()
    assert s["n_days"] == 2 and [d["day"] for d in s["days"]] == [days[0].name, days[1].name]
    assert s["events"] == sum(d["events"] for d in s["days"])
    assert s["orders"] == sum(d["orders"] for d in s["days"]) and s["fills"] == sum(d["fills"] for d in s["days"])
    # per-day PnL is that day's alone; the days add up to the run's
    assert s["days"][1]["pnl_cumulative"] == pytest.approx(s["pnl"])
    assert sum(d["pnl"] for d in s["days"]) == pytest.approx(s["pnl"], abs=0.011)
    assert s["days"][0]["pnl"] == s["days"][0]["pnl_cumulative"]
    # day 1 of the run is exactly the single-day replay of that day (same gateway state at its start)
    one = hft("replay", "-d", str(days[0]), "-s", "mm", "--no-store", "--json")
    assert one.code == 0, one.err
    assert one.json()["run_hash"] == s["days"][0]["run_hash"]
    assert s["days"][1]["run_hash"] != s["days"][0]["run_hash"] != s["run_hash"]
    # the position carries into day 2 through the one gateway: day 2's fills start from day 1's position
    folder = tmp_path / "run"
    for f in ("orders.parquet", "fills.parquet", "summary.json", "report.html"):
        assert (folder / f).exists()
    day_dirs = sorted((folder / "days").iterdir())
    assert [p.name[:3] for p in day_dirs] == ["01_", "02_"]
    day2 = json.loads((day_dirs[1] / "summary.json").read_text())
    assert day2["run_hash"] == s["days"][1]["run_hash"]
    import polars as pl

    fills = pl.read_parquet(folder / "fills.parquet")
    assert fills.height == s["fills"]
    assert s["position"] == int((fills["side"].cast(pl.Int64) * fills["qty"]).sum())
    # the order ids of day 2 continue day 1's (one gateway): no id is reused
    orders = pl.read_parquet(folder / "orders.parquet")
    new_ids = orders.filter(pl.col("action") == 1)["order_id"]
    assert new_ids.n_unique() == new_ids.len()
    # one run in the store
    q = hft("audit", "query", f"SELECT n_fills, n_events FROM sim.runs WHERE run_id = '{s['run_hash']}'", "--json",
            env=home)
    assert q.code == 0, q.err
    assert q.json()["rows"][0] == {"n_fills": s["fills"], "n_events": s["events"]}


def test_glob_and_range_forms_and_engines_agree(hft, days, tmp_path):
    folder = days[0].parent
    glob = hft("replay", "-d", str(folder / "*.zip"), "-s", "mm", "--no-store", "--json")
    assert glob.code == 0, glob.err
    rng = str(folder / "SYNTH_2024-01-{01..04}_34200000_57600000_5.zip")  # 01 and 04 have no file: skipped
    ranged = hft("replay", "-d", rng, "-s", "mm", "--no-store", "--json", "--engine", "python")
    assert ranged.code == 0, ranged.err
    # the values skipped are said: one notice line on stderr, the same in the summary (was: silent)
    notice = (f"--data {rng}: the range matched 2 of 4 files; skipped, no file: SYNTH_2024-01-01_34200000_57600000_5.zip, "
              "SYNTH_2024-01-04_34200000_57600000_5.zip")
    assert ranged.err.splitlines() == [f"notice: {notice}"] and ranged.json()["notices"] == [notice]
    assert "notices" not in glob.json() and glob.err == ""
    a, b = glob.json(), ranged.json()
    assert a["n_days"] == b["n_days"] == 2
    assert a["run_hash"] == b["run_hash"] and a["days"] == [
        {**d, "wall_s": a_d["wall_s"], "events_per_s": a_d["events_per_s"]} for d, a_d in zip(b["days"], a["days"],
                                                                                              strict=True)]


def test_days_out_of_order_and_missing_patterns(hft, days):
    r = hft("replay", "-d", str(days[1]), "-d", str(days[0]), "-s", "mm", "--no-store")
    assert r.code == 12, r.err  # the days given are bad input data (was the simulator's 14)
    assert r.err.splitlines() == [
        f"error: {days[0]}: expected day 2 to start after day 1 ({days[1]}) ends, was given out of order: "
        "day 1 runs 2024-01-03T14:30:00+00:00 to 2024-01-03T20:59:59.505204+00:00, "
        "day 2 2024-01-02T14:30:00+00:00 to 2024-01-02T20:59:59.855555+00:00",
        "hint: give the days oldest first"]
    r = hft("replay", "-d", str(days[0].parent / "*.nothing"), "--no-store")
    assert r.code == 12 and "matching the pattern" in r.err and "Traceback" not in r.err


def test_days_whose_data_overlap_name_both_files(hft, days, tmp_path):
    """The same data under two days' names, given oldest first by name: an overlap (both files, UTC times), not
    'out of order' (was: raw ns times and the hint to give the days oldest first, exit 14)."""
    copy = tmp_path / days[0].name.replace("2024-01-02", "2024-01-05")
    copy.write_bytes(days[0].read_bytes())
    r = hft("replay", "-d", str(days[0]), "-d", str(copy), "-s", "mm", "--no-store")
    assert r.code == 12, r.err
    first, hint = r.err.splitlines()
    assert first.startswith(f"error: {copy}: expected day 2 to start after day 1 ({days[0]}) ends, was overlapping "
                            "it: day 1 runs 2024-01-02T14:30:00+00:00 to ")
    assert hint == "hint: give each day's data once (is one file a copy of the other?)"


def test_imported_parquet_days_replay_as_the_raw_days(hft, days, tmp_path):
    """Imported event files (with their LOBSTER reference sidecars) are days too: the same run as the zips."""
    pqs = []
    for d in days:
        pq = tmp_path / (d.stem + ".parquet")
        r = hft("data", "import", str(d), "--out", str(pq))
        assert r.code == 0, r.err
        pqs.append(pq)
    raw = hft("replay", "-d", str(days[0]), "-d", str(days[1]), "-s", "mm", "--no-store", "--json")
    imported = hft("replay", "-d", str(pqs[0]), "-d", str(pqs[1]), "-s", "mm", "--no-store", "--json")
    assert raw.code == 0 and imported.code == 0, raw.err + imported.err
    assert imported.json()["n_days"] == 2 and imported.json()["run_hash"] == raw.json()["run_hash"]


def test_two_instruments_are_a_run_of_two_legs_on_the_numba_engine(hft, shared_data):
    lob = shared_data / "lobster"
    r = hft("replay", "-d", str(lob / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"),
            "-d", str(lob / "LOBSTER_SampleFile_AMZN_2012-06-21_1.zip"), "-s", "mm", "--no-store", "--json",
            timeout=900)
    assert r.code == 0, r.err  # two instruments are a run of two legs (tests/cli/test_replay_instruments_cli.py)
    s = r.json()
    assert s["engine"] == "numba" and s["symbols"] == ["GOOG", "AMZN"] and s["n_instruments"] == 2
