"""`hft replay` over several days of several instruments (`hft.sim.portfolio_days`), through the real console
script on generated days: AAA and BBB on 2024-01-02 and 2024-01-03, quoted and hedged by `hedged_mm` through one
gateway; per-day x per-instrument results, leg totals and the portfolio, the run folder and the store, both
engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

HEDGED_MM = "hft.sim.strategies.hedged_mm:HedgedMarketMaker"


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> dict[str, Path]:
    from tests.cli.conftest import run_hft

    out = tmp_path_factory.mktemp("days_instruments")
    paths = {}
    for seed, symbol, date in ((2, "AAA", "2024-01-02"), (3, "BBB", "2024-01-02"), (4, "AAA", "2024-01-03"),
                               (5, "BBB", "2024-01-03")):
        r = run_hft("data", "generate", "--out", str(out / f"{symbol}{seed}"), "--seed", str(seed), "--symbol", symbol,
                    "--date", date, "--messages", "4000", "--levels", "5", "--zip", "--json")
        assert r.code == 0, r.err
        paths[f"{symbol}{date[-1]}"] = Path(r.json()["zip_path"])
    return paths  # AAA2, BBB2: the first day; AAA3, BBB3: the second


def _args(*paths: Path) -> list[str]:
    return [a for p in paths for a in ("-d", str(p))]


def test_two_days_of_two_instruments_in_one_run(hft, days, tmp_path):
    d1, d2 = (days["AAA2"], days["BBB2"]), (days["AAA3"], days["BBB3"])
    home = {"HFT_HOME": str(tmp_path / "home")}
    r = hft("replay", *_args(*d1, *d2), "-s", HEDGED_MM, "--engine", "python", "--out", str(tmp_path / "run"),
            "--json", env=home)
    assert r.code == 0, r.err
    s = r.json()
    assert s["symbols"] == ["AAA", "BBB"] and s["n_days"] == 2 and len(s["days"]) == 2
    assert s["events"] == sum(d["events"] for d in s["days"])
    # per day x per instrument: the day's PnL is its legs'; the days add up to the run, and each leg's days to it
    for d in s["days"]:
        assert [x["symbol"] for x in d["legs"]] == ["AAA", "BBB"]
        assert d["pnl"] == pytest.approx(sum(x["pnl"] for x in d["legs"]), abs=0.011)
        assert d["fills"] == sum(x["fills"] for x in d["legs"]) and d["fills"] > 20
    assert s["pnl"] == pytest.approx(sum(d["pnl"] for d in s["days"]), abs=0.011)
    assert s["days"][-1]["pnl_cumulative"] == pytest.approx(s["pnl"], abs=0.011)
    assert s["fills"] == sum(d["fills"] for d in s["days"])
    for k, leg in enumerate(s["legs"]):
        assert leg["pnl"] == pytest.approx(sum(d["legs"][k]["pnl"] for d in s["days"]), abs=0.011)
        assert leg["fills"] == sum(d["legs"][k]["fills"] for d in s["days"])
        assert leg["position"] == s["days"][-1]["legs"][k]["position"] == s["positions"][leg["symbol"]]
    assert len({s["run_hash"], *(d["run_hash"] for d in s["days"]), *(x["run_hash"] for x in s["legs"])}) == 5
    # the first day is the run of its two instruments alone (a fresh gateway); the second carries positions on
    alone = hft("replay", *_args(*d1), "-s", HEDGED_MM, "--engine", "python", "--no-store", "--json")
    assert alone.code == 0, alone.err
    assert alone.json()["run_hash"] == s["days"][0]["run_hash"]
    second = hft("replay", *_args(*d2), "-s", HEDGED_MM, "--engine", "python", "--no-store", "--json")
    assert second.code == 0, second.err
    assert second.json()["run_hash"] != s["days"][1]["run_hash"]  # day 2 starts from day 1's positions
    # run folder: the portfolio's, each leg over the days, and each day as a run over the instruments
    folder = tmp_path / "run"
    assert json.loads((folder / "summary.json").read_text())["run_hash"] == s["run_hash"]
    assert (folder / "portfolio.parquet").exists() and (folder / "config.yaml").exists()
    assert [p.name for p in sorted((folder / "legs").iterdir())] == ["01_AAA", "02_BBB"]
    leg_a = json.loads((folder / "legs" / "01_AAA" / "summary.json").read_text())
    assert leg_a["run_hash"] == s["legs"][0]["run_hash"] and leg_a["n_days"] == 2
    day_dirs = sorted((folder / "days").iterdir())
    assert len(day_dirs) == 2
    for d, day in zip(day_dirs, s["days"], strict=True):
        assert json.loads((d / "summary.json").read_text())["run_hash"] == day["run_hash"]
        assert [p.name for p in sorted((d / "legs").iterdir())] == ["01_AAA", "02_BBB"]
        assert (d / "legs" / "02_BBB" / "fills.parquet").exists()
    import polars as pl

    pf = pl.read_parquet(folder / "portfolio.parquet")
    assert pf.row(-1, named=True)["net_equity_ccy"] == pytest.approx(s["pnl"], abs=0.011)
    assert s["store"]["run_id"] == s["run_hash"] and s["store"]["fills_in_store"] == s["fills"]
    # deterministic, whatever order each day's instruments come in (days: by instrument, in the order given)
    shuffled = hft("replay", *_args(days["AAA2"], days["BBB2"], days["BBB3"], days["AAA3"]), "-s", HEDGED_MM,
                   "--engine", "python", "--no-store", "--json")
    assert shuffled.code == 0, shuffled.err
    assert shuffled.json()["run_hash"] == s["run_hash"]
    nb = hft("replay", *_args(*d1, *d2), "-s", HEDGED_MM, "--no-store", "--json")  # the numba engine
    assert nb.code == 0, nb.err
    n = nb.json()
    assert n["engine"] == "numba" and n["run_hash"] == s["run_hash"]
    keys = ("run_hash", "pnl", "fills", "position", "expired_at_close")
    assert [{k: d.get(k) for k in keys} for d in n["days"]] == [{k: d.get(k) for k in keys} for d in s["days"]]
    leg_keys = ("symbol", "run_hash", "pnl", "fees", "fills", "orders", "position", "rejects")
    assert [{k: x[k] for k in leg_keys} for x in n["legs"]] == [{k: x[k] for k in leg_keys} for x in s["legs"]]
    assert n["pnl"] == s["pnl"] and n["exposure"] == s["exposure"]


def test_the_terminal_shows_each_day_and_leg(hft, days):
    r = hft("replay", *_args(days["AAA2"], days["BBB2"], days["AAA3"], days["BBB3"]), "-s", HEDGED_MM,
            "--no-store", env={"COLUMNS": "200"})
    assert r.code == 0, r.err
    assert "replay hedged_mm on AAA + BBB" in r.out and "portfolio" in r.out
    assert "per day (USD; PnL of that day alone)" in r.out and "cum. PnL" in r.out


def test_days_of_instruments_refusals(hft, days):
    r = hft("replay", *_args(days["AAA2"], days["BBB2"], days["AAA3"]), "-s", HEDGED_MM, "--no-store", "--json")
    assert r.code != 0 and "expected the same number of days of each instrument, was AAA 2, BBB 1" in r.err
    r = hft("replay", *_args(days["AAA3"], days["BBB3"], days["AAA2"], days["BBB2"]), "-s", HEDGED_MM,
            "--no-store", "--json")
    assert r.code == 12 and "expected day 2 to start after day 1 (" in r.err and "was given out of order" in r.err
