"""Instruments from the command line: a coin-margined (inverse) Binance replay counts PnL and fees in the coin
(cents of USD a contract, not hundreds of dollars), the run folder names the coin; exchange filters reject with
their own reasons; ``hft replay --format`` chooses the importer."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "binance"
CM_DAY = SHARED / "cm" / "btcusd_perp_20240808.gz"
needs_cm = pytest.mark.skipif(not CM_DAY.is_file(), reason=f"shared data not present at {CM_DAY}")


def cm_prefix(tmp_path: Path, lines: int = 60_000) -> Path:
    """The first `lines` of the recorded COIN-M capture (a prefix keeps the sequence whole)."""
    out = tmp_path / "cm" / CM_DAY.name
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(CM_DAY, "rt") as src, gzip.open(out, "wt") as dst:
        for i, line in enumerate(src):
            if i >= lines:
                break
            dst.write(line)
    return out


@needs_cm
@pytest.mark.shared_data
def test_coin_margined_replay_counts_pnl_and_fees_in_the_coin(hft, tmp_path: Path) -> None:
    day = cm_prefix(tmp_path)
    r = hft("replay", "-d", str(day), "-s", "imbalance_taker", "--no-store", "--json", "-o", str(tmp_path / "run"),
            cwd=tmp_path)
    assert r.code == 0, r.err
    s = r.json()
    assert (s["currency"], s["quote_currency"], s["instrument_kind"], s["contract_size"]) == ("BTC", "USD",
                                                                                             "inverse", 100)
    assert s["fills"] > 0
    # taker 2 bp (config/sim/replay.yaml) of 100 USD = 0.02 USD a contract, about 3.3e-7 BTC near 60,000 USD;
    # before inverse accounting this read ~1,240 USD a contract
    per_contract_btc = s["fees"] / s["filled_qty"]
    assert 1e-7 < per_contract_btc < 1e-6
    q = s["quote_equivalent"]
    assert 50_000 < q["at_mid"] < 70_000
    assert 0.005 < q["fees"] / s["filled_qty"] < 0.05  # USD a contract: cents
    assert abs(s["pnl"]) < 0.01 * s["filled_qty"]  # BTC: a contract is worth ~0.0017 BTC
    fills = pl.read_parquet(tmp_path / "run" / "fills.parquet")
    meta = pl.read_parquet_metadata(tmp_path / "run" / "fills.parquet")
    assert meta["hft.currency"] == "BTC" and float(meta["hft.money_unit"]) == 1e-9
    assert json.loads(meta["hft.instrument"])["kind"] == "inverse"
    assert fills["fee_ccy"].abs().max() < 1e-5  # BTC per fill
    eq = pl.read_parquet(tmp_path / "run" / "equity.parquet")
    assert eq["net_equity_ccy"][-1] == pytest.approx(s["pnl"], abs=1e-8)


FILTER_PROBE = '''
from hft.core.dtypes import BUY
from hft.sim.strategy import Strategy


class FilterProbe(Strategy):
    """At the first book: one order breaking each exchange filter, and one that passes them all (far from the
    market, so nothing fills). The config's filters: order tick 5 ticks, order lot 2 lots, min qty 4 lots,
    min notional 1000 USD (prices near 100 USD)."""

    name = "filter_probe"

    def __init__(self) -> None:
        self.sent = False

    def on_book(self, ctx):
        if self.sent or ctx.best_bid is None:
            return
        self.sent = True
        p0 = ctx.best_bid - ctx.best_bid % 5 - 50     # on the order tick, 50 ticks below the bid
        ctx.submit(BUY, p0 - 1, 100)                  # OFF_TICK
        ctx.submit(BUY, p0, 5)                        # OFF_LOT
        ctx.submit(BUY, p0, 2)                        # QTY_BELOW_MIN
        ctx.submit(BUY, p0, 4)                        # MIN_NOTIONAL (4 x ~100 USD < 1000)
        ctx.submit(BUY, p0, 100)                      # accepted
'''


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    from tests.cli.conftest import generated_day

    return generated_day(tmp_path_factory, "inst", 3000)


def test_exchange_filters_reject_with_their_own_reasons(hft, day, tmp_path: Path) -> None:
    (tmp_path / "probe.py").write_text(FILTER_PROBE)
    (tmp_path / "filters.yaml").write_text(
        "instrument: {order_tick: 0.05, order_lot: 2, min_qty: 4, min_notional: 1000}\n")
    r = hft("replay", "-d", str(day), "-s", "probe.py:FilterProbe", "-c", "filters.yaml", "--no-store", "--json",
            cwd=tmp_path)
    assert r.code == 0, r.err
    s = r.json()
    assert s["rejects"] == {"MIN_NOTIONAL": 1, "OFF_LOT": 1, "OFF_TICK": 1, "QTY_BELOW_MIN": 1}
    assert s["orders"] == 1 and s["fills"] == 0
    # without the filters every order passes
    r = hft("replay", "-d", str(day), "-s", "probe.py:FilterProbe", "--no-store", "--json", cwd=tmp_path)
    assert r.code == 0, r.err
    assert r.json()["rejects"] == {} and r.json()["orders"] == 5


def test_a_filter_that_does_not_fit_the_data_is_a_config_error(hft, day, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("instrument: {order_tick: 0.015}\n")
    r = hft("replay", "-d", str(day), "-s", "mm", "-c", "bad.yaml", "--no-store", "--json", cwd=tmp_path)
    assert r.code == 11, r.err
    assert r.err.splitlines()[0] == ("error: key 'instrument.order_tick': expected a multiple of 0.01, was "
                                     "'0.015' (instrument SYNTH)")
    assert "Traceback" not in r.err
