"""Exact fees (issue 51): a run's recorded fees are the exact sum of its fills' fees, recomputed here from the run
folder alone — the fills' prices, quantities and maker / taker flags, and the rates in the run's ``config.yaml`` —
as a skeptic would, with fractions (no code shared with the simulator). Each fill's fee is exact to the millionth
of a money unit (``fee`` + ``fee_frac`` / 1e6) and the summary's total is that sum rounded once (within half a
unit), on real LOBSTER days (level 10 and a leg of a two-instrument level-1 run), a Binance capture, three
generated days and a taker run. Before, each fill's fee was rounded to a unit and a day of sub-unit rebates
vanished (GOOG level 10: -734 recorded for -841.69)."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
import yaml

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

MICRO = 1_000_000


def _bps_h(v: object) -> int:
    """Basis points (as the config writes them) in hundredths."""
    return int(Decimal(str(v)) * 100)


def recompute(folder: Path, config: dict) -> tuple[Fraction, pl.DataFrame, dict]:
    """The exact fees of the run folder's fills from their prices, quantities and liquidity and the config's rates
    (linear instruments: value = price x qty x money factor), each fill's recorded exact fee beside it, and the
    folder's summary."""
    summary = json.loads((folder / "summary.json").read_text())
    m = summary["money_factor"]
    assert m > 0, "these runs are of linear instruments"
    # the run's effective config (canonical: the fee schedule's keys at the top)
    maker, taker, per_lot = _bps_h(config["maker_bps"]), _bps_h(config["taker_bps"]), int(config["per_lot"])
    fills = pl.read_parquet(folder / "fills.parquet")
    total = Fraction(0)
    for price, qty, liq, fee, frac in fills.select("price", "qty", "liquidity", "fee", "fee_frac").iter_rows():
        bps = maker if liq == 1 else taker
        want = Fraction(price * qty * m * bps, MICRO) + per_lot * qty
        assert fee + Fraction(frac, MICRO) == want, (price, qty, liq, fee, frac)
        total += want
    return total, fills, summary


def _check_total(total: Fraction, summary: dict) -> None:
    """The summary's fees: rounded once (half a unit at most, half to even), the exact amount in currency."""
    assert abs(summary["fees_money_units"] - total) <= Fraction(1, 2)
    assert Fraction(summary["fees_micro_units"], MICRO) == total
    assert summary["fees"] == pytest.approx(float(total) * summary["money_unit"], rel=1e-9, abs=1e-12)


def _replay(hft, tmp_path: Path, name: str, *args: str) -> tuple[Path, dict]:
    folder = tmp_path / name
    r = hft("replay", *args, "--out", str(folder), "--no-store", "--json")
    assert r.code == 0, r.err
    return folder, yaml.safe_load((folder / "config.yaml").read_text())


@pytest.mark.parametrize(("name", "data", "strategy"), [
    ("goog10_mm", ["lobster/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"], "mm"),
    ("eth_spot_mm", ["binance/spot/ethusdt_20240808.gz"], "mm"),
    ("aapl_taker", ["lobster/LOBSTER_SampleFile_AAPL_2012-06-21_1.zip"], "imbalance_taker"),
])
def test_recorded_fees_are_the_exact_sum_on_real_days(hft, shared_data, tmp_path, name, data, strategy):
    args = [a for p in data for a in ("-d", str(shared_data / p))]
    folder, config = _replay(hft, tmp_path, name, *args, "-s", strategy)
    total, fills, summary = recompute(folder, config)
    assert fills.height > 20 and total != 0
    _check_total(total, summary)
    if strategy == "mm":  # a maker's rebates are most of its fees, and no longer vanish in per-fill rounding
        assert (fills["liquidity"] == 1).sum() > fills.height // 2 and total < 0


def test_a_leg_of_a_two_instrument_run_and_the_portfolio(hft, shared_data, tmp_path):
    lob = shared_data / "lobster"
    folder, config = _replay(hft, tmp_path, "hedged", "-d", str(lob / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"),
                             "-d", str(lob / "LOBSTER_SampleFile_AMZN_2012-06-21_1.zip"),
                             "-s", "hft.sim.strategies.hedged_mm:HedgedMarketMaker")
    portfolio = json.loads((folder / "summary.json").read_text())
    legs = sorted((folder / "legs").iterdir())
    totals = []
    for leg in legs:
        total, _fills, summary = recompute(leg, config)
        _check_total(total, summary)
        totals.append(total)
    assert "AMZN" in legs[1].name and totals[1] != 0
    _check_total(sum(totals), portfolio)  # the portfolio's fees: the legs' exact fees summed, rounded once


def test_three_generated_days_add_up_exactly(hft, tmp_path):
    paths = []
    for seed, date in ((2, "2024-01-02"), (3, "2024-01-03"), (4, "2024-01-04")):
        r = hft("data", "generate", "--out", str(tmp_path), "--seed", str(seed), "--date", date, "--messages",
                "8000", "--levels", "5", "--zip", "--json")
        assert r.code == 0, r.err
        paths.append(r.json()["zip_path"])
    folder, config = _replay(hft, tmp_path, "days", *(a for p in paths for a in ("-d", p)), "-s", "mm")
    total, fills, summary = recompute(folder, config)
    assert summary["n_days"] == 3 and fills.height > 20
    _check_total(total, summary)
    # each day's fees are that day's fills' exact fees, rounded once; the days add up to the run exactly
    days = summary["days"]
    day_micro = [d["fees_micro_units"] for d in days]
    assert sum(day_micro) == summary["fees_micro_units"]
    for d in days:
        assert abs(d["fees_money_units"] - Fraction(d["fees_micro_units"], MICRO)) <= Fraction(1, 2)
