"""`hft replay` over several instruments on one clock (one gateway, per-leg and portfolio results), through the
real console script: two generated instruments always, the LOBSTER GOOG and AMZN samples of 2012-06-21 when
../shared/data is present. The built-in two-leg strategy `hedged_mm` is named by its module path here (the name
``hedged_mm`` resolves once the package's entry points are installed)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

HEDGED_MM = "hft.sim.strategies.hedged_mm:HedgedMarketMaker"


@pytest.fixture(scope="module")
def instruments(tmp_path_factory) -> dict[str, Path]:
    from tests.cli.conftest import run_hft

    out = tmp_path_factory.mktemp("instruments")
    paths = {}
    for seed, symbol, date in ((2, "AAA", "2024-01-02"), (3, "BBB", "2024-01-02"), (4, "AAA", "2024-01-03")):
        r = run_hft("data", "generate", "--out", str(out / f"{symbol}{seed}"), "--seed", str(seed), "--symbol", symbol,
                    "--date", date, "--messages", "4000", "--levels", "5", "--zip", "--json")
        assert r.code == 0, r.err
        paths[f"{symbol}{seed}"] = Path(r.json()["zip_path"])
    return paths


def _check_portfolio(s: dict, symbols: list[str]) -> None:
    """The portfolio adds up its legs."""
    assert s["symbols"] == symbols and s["n_instruments"] == len(symbols)
    legs = s["legs"]
    assert [leg["symbol"] for leg in legs] == symbols
    assert s["pnl"] == pytest.approx(sum(leg["pnl"] for leg in legs), abs=0.011)
    assert s["fees"] == pytest.approx(sum(leg["fees"] for leg in legs), abs=0.011)
    assert s["pnl_money_units"] == pytest.approx(sum(leg["pnl_money_units"] for leg in legs))
    assert s["fills"] == sum(leg["fills"] for leg in legs) and s["orders"] == sum(leg["orders"] for leg in legs)
    assert s["events"] == sum(leg["events"] for leg in legs)
    assert s["positions"] == {leg["symbol"]: leg["position"] for leg in legs}
    ex = s["exposure"]
    assert ex["gross"] == pytest.approx(sum(abs(v) for v in ex["by_symbol"].values()), abs=0.011)
    assert ex["net"] == pytest.approx(sum(ex["by_symbol"].values()), abs=0.011)
    assert ex["max_gross"] >= ex["gross"] - 0.011
    assert len({s["run_hash"], *(leg["run_hash"] for leg in legs)}) == len(legs) + 1


def test_two_generated_instruments_in_one_run(hft, instruments, tmp_path):
    a, b = instruments["AAA2"], instruments["BBB3"]
    home = {"HFT_HOME": str(tmp_path / "home")}
    r = hft("replay", "-d", str(a), "-d", str(b), "-s", HEDGED_MM, "--engine", "python",
            "--set", "strategies.hedged_mm.size=2", "--out", str(tmp_path / "run"), "--json", env=home)
    assert r.code == 0, r.err
    s = r.json()
    _check_portfolio(s, ["AAA", "BBB"])
    assert s["engine"] == "python" and s["params"]["size"] == 2
    legs = s["legs"]
    assert legs[0]["fills"] > 10 and legs[1]["fills"] > 5  # quotes filled on AAA, hedged on BBB
    assert legs[1]["maker_share"] == 0.0  # hedges take liquidity
    assert legs[0]["position"] * legs[1]["position"] <= 0  # the hedge leans against the quoted inventory
    assert s["store"]["run_id"] == s["run_hash"] and s["store"]["fills_in_store"] == s["fills"]
    folder = tmp_path / "run"
    assert json.loads((folder / "summary.json").read_text())["run_hash"] == s["run_hash"]
    assert (folder / "config.yaml").exists()
    import polars as pl

    pf = pl.read_parquet(folder / "portfolio.parquet")
    assert pf.height > 10 and pf["ts_utc"].dtype == pl.Datetime("ns", "UTC")
    last = pf.row(-1, named=True)
    assert last["net_equity_ccy"] == pytest.approx(s["pnl"], abs=0.011)  # the portfolio's series ends at its PnL
    assert last["gross_exposure_ccy"] == pytest.approx(s["exposure"]["gross"], abs=0.011)
    assert {sym: last[f"{sym}_position"] for sym in ("AAA", "BBB")} == s["positions"]
    assert pf["gross_exposure_ccy"].max() == pytest.approx(s["exposure"]["max_gross"], abs=0.011)
    dirs = sorted((folder / "legs").iterdir())
    assert [p.name for p in dirs] == ["01_AAA", "02_BBB"]
    for d, leg in zip(dirs, legs, strict=True):
        one = json.loads((d / "summary.json").read_text())
        assert one["symbol"] == leg["symbol"] and one["run_hash"] == leg["run_hash"]
        assert (d / "fills.parquet").exists() and (d / "report.html").exists()
    again = hft("replay", "-d", str(a), "-d", str(b), "-s", HEDGED_MM, "--engine", "python",
                "--set", "strategies.hedged_mm.size=2", "--no-store", "--json")
    assert again.code == 0, again.err
    assert again.json()["run_hash"] == s["run_hash"]  # deterministic
    swapped = hft("replay", "-d", str(b), "-d", str(a), "-s", HEDGED_MM, "--engine", "python", "--no-store", "--json")
    assert swapped.code == 0, swapped.err
    assert swapped.json()["symbols"] == ["BBB", "AAA"]  # the first --data is the quoted leg
    nb = hft("replay", "-d", str(a), "-d", str(b), "-s", HEDGED_MM, "--set", "strategies.hedged_mm.size=2",
             "--no-store", "--json")  # the numba engine (the default): the same run
    assert nb.code == 0, nb.err
    _same_run(nb.json(), s, "numba")


def _same_run(s: dict, ref: dict, engine: str) -> None:
    """Summary `s` (engine `engine`) is the run of summary `ref`: run hash, per-leg results, portfolio."""
    assert s["engine"] == engine and s["run_hash"] == ref["run_hash"]
    keys = ("run_hash", "fills", "orders", "position", "pnl_money_units", "max_drawdown", "rejects")
    assert [{k: leg[k] for k in keys} for leg in s["legs"]] == [{k: leg[k] for k in keys} for leg in ref["legs"]]
    assert s["positions"] == ref["positions"] and s["pnl"] == ref["pnl"] and s["exposure"] == ref["exposure"]


def test_several_instruments_refusals(hft, instruments):
    a, b, a_day2 = instruments["AAA2"], instruments["BBB3"], instruments["AAA4"]
    r = hft("replay", "-d", str(a), "-d", str(b), "-d", str(a_day2), "-s", HEDGED_MM, "--engine", "python",
            "--no-store", "--json")
    assert r.code != 0 and "expected the same number of days of each instrument, was AAA 2, BBB 1" in r.err
    r = hft("replay", "-d", str(a), "-d", str(a_day2), "-d", str(b), "-s", "mm", "--no-store",
            "--json")  # the first two are days of AAA: a run over days, which BBB cannot join
    assert r.code != 0 and "expected days of one instrument (AAA), was BBB" in r.err
    assert "give each day's instruments together, the first day first" in r.err
    r = hft("replay", "-d", str(a), "-s", HEDGED_MM, "--no-store", "--json")
    assert r.code != 0 and "hedged_mm: expected two instruments (quoted, hedge), was 1 (AAA)" in r.err


def test_a_one_leg_strategy_trades_the_leg_of_each_callback(hft, instruments):
    r = hft("replay", "-d", str(instruments["AAA2"]), "-d", str(instruments["BBB3"]), "-s", "mm", "--engine", "python",
            "--no-store", "--json")
    assert r.code == 0, r.err
    s = r.json()
    _check_portfolio(s, ["AAA", "BBB"])
    assert all(leg["orders"] > 10 and leg["maker_share"] > 0.9 for leg in s["legs"])  # mm quotes both books


@pytest.mark.shared_data
def test_goog_and_amzn_hedged_on_one_clock(hft):
    lob = SHARED_DATA / "lobster"
    goog, amzn = lob / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip", lob / "LOBSTER_SampleFile_AMZN_2012-06-21_1.zip"
    if not goog.exists() or not amzn.exists():
        pytest.skip(f"LOBSTER samples not present under {lob}")
    r = hft("replay", "-d", str(goog), "-d", str(amzn), "-s", HEDGED_MM, "--engine", "python", "--no-store",
            "--json", timeout=900)
    assert r.code == 0, r.err
    s = r.json()
    _check_portfolio(s, ["GOOG", "AMZN"])
    assert s["events"] == 49_482 + 57_515 and s["currency"] == "USD"
    g, a = s["legs"]
    assert g["fills"] > 300 and g["maker_share"] > 0.9  # GOOG quoted at the touch
    assert a["fills"] > 300 and a["maker_share"] == 0.0  # AMZN hedged with marketable IOCs
    # value-neutral: GOOG (~$580) against AMZN (~$220) hedges about 2.6 AMZN shares per GOOG share
    assert g["position"] * a["position"] <= 0 and abs(a["position"]) <= 3 * abs(g["position"]) + 3
    assert abs(s["exposure"]["net"]) < 0.1 * s["exposure"]["gross"] + 1000
    nb = hft("replay", "-d", str(goog), "-d", str(amzn), "-s", HEDGED_MM, "--no-store", "--json", timeout=900)
    assert nb.code == 0, nb.err
    _same_run(nb.json(), s, "numba")  # the numba engine (the default) gives the reference's run


def test_hedged_mm_is_registered_under_its_name():
    from hft.sim.strategies.hedged_mm import HedgedMarketMaker
    from hft.sim.strategy_loader import resolve
    from tests.conftest import REPO_ROOT

    eps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["hft.strategies"]
    assert eps["hedged_mm"] == HEDGED_MM
    assert resolve(HEDGED_MM).cls is HedgedMarketMaker


def test_binance_btcusdt_and_ethusdt_of_different_money_units_in_one_run(hft, tmp_path):
    """Spot BTCUSDT (tick 0.01 x lot 1e-8: 1e-10 USDT) and USD-M ETHUSDT (0.01 x 0.001: 1e-5 USDT) in one run:
    both count in 1e-10 USDT. Each leg's PnL is recomputed here from its own fills and last mid, in USDT."""
    import polars as pl

    spot, usdm = SHARED_DATA / "binance" / "spot", SHARED_DATA / "binance" / "usdm"
    btc, eth = spot / "btcusdt_20240808.gz", usdm / "ethusdt_20240808.gz"
    if not btc.exists() or not eth.exists():
        pytest.skip(f"Binance captures not present under {SHARED_DATA / 'binance'}")
    r = hft("replay", "-d", str(btc), "-d", str(eth), "-s", HEDGED_MM, "--out", str(tmp_path / "run"),
            "--no-store", "--json", timeout=1200)
    assert r.code == 0, r.err
    s = r.json()
    _check_portfolio(s, ["BTCUSDT", "ETHUSDT"])
    assert s["currency"] == "USDT" and s["money_unit"] == 1e-10
    assert s["pnl_money_units"] == sum(leg["pnl_money_units"] for leg in s["legs"])  # one unit: exact sums
    for k, leg in enumerate(s["legs"], 1):
        d = tmp_path / "run" / "legs" / f"{k:02d}_{leg['symbol']}"
        summary = json.loads((d / "summary.json").read_text())
        assert summary["money_unit"] == 1e-10 and summary["config_hash"] == s["config_hash"]  # the run's config
        assert summary["multiplier"] == {"BTCUSDT": 1, "ETHUSDT": 100_000}[leg["symbol"]]
        fills, equity = pl.read_parquet(d / "fills.parquet"), pl.read_parquet(d / "equity.parquet")
        assert fills.height == leg["fills"] > 0
        cash = -float((fills["side"] * fills["price_px"] * fills["qty_inst"]).sum()) - float(fills["fee_ccy"].sum())
        position = float((fills["side"] * fills["qty_inst"]).sum())
        last_mid = equity.filter(pl.col("mid2") > 0)["mid_px"][-1]
        assert leg["pnl"] == pytest.approx(cash + position * last_mid, abs=1e-6)
    assert (tmp_path / "run" / "report.html").read_text().count("Legs side by side") == 1
