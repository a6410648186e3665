"""Regenerate the golden replays (run only when a behaviour change is intended; review the diff).

    .venv/bin/python tests/golden/regenerate.py [NAME ...]

Each golden pins a run hash and key metrics of one replay; `.ci/run` replays them with `hft replay --check`. A
golden's ``config`` is an overlay on the shipped ``config/sim/replay.yaml`` (fees, limits, strategy defaults), as
``hft replay --config`` layers a file (`hft.sim.golden`).
Goldens on recorded data (../shared/data) fail the check when the data is absent; `.ci/run` passes
`--skip-missing-data`, which reports them skipped instead (a clone without ../shared).
"""

from __future__ import annotations

import sys
from pathlib import Path

from hft.data.sources import FILES
from hft.sim.golden import make_golden

HERE = Path(__file__).resolve().parent
SHARED = "../../../shared/data"  # relative to this folder

GOLDENS = {
    "generated_mm": dict(strategy="mm", generate={"seed": 7, "messages": 40_000, "levels": 5},
                         config={"strategies": {"mm": {"size": 5, "max_position": 50}}},
                         description="generated L3 day, mm quoting at the touch, L3 FIFO venue"),
    "generated_imbalance": dict(strategy="imbalance_taker", generate={"seed": 11, "messages": 40_000, "levels": 5},
                                config={"latency": {"jitter": "200us"}, "seed": 3},
                                description="generated day, imbalance taker, seeded random latencies"),
    "lobster_goog_mm": dict(strategy="mm", data=[f"{SHARED}/lobster/LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"],
                            config={"strategies": {"mm": {"size": 10, "max_position": 100}}},
                            description="NASDAQ GOOG 2012-06-21 (LOBSTER level 1), mm"),
    "lobster_goog_amzn_hedged": dict(strategy="hft.sim.strategies.hedged_mm:HedgedMarketMaker",
                                     data=[f"{SHARED}/lobster/LOBSTER_SampleFile_GOOG_2012-06-21_1.zip",
                                           f"{SHARED}/lobster/LOBSTER_SampleFile_AMZN_2012-06-21_1.zip"],
                                     config={"engine": "python"},
                                     description="NASDAQ GOOG quoted and AMZN hedging it on one clock (LOBSTER "
                                                 "level 1, 2012-06-21), hedged_mm, reference engine"),
    "binance_spot_eth_mm": dict(strategy="mm", data=[f"{SHARED}/binance/spot/ethusdt_20240808.gz",
                                                     f"{SHARED}/binance/spot/ethusdt_20240809.gz"],
                                config={"queue_model": "power_prob_2",
                                        "strategies": {"mm": {"size": 100000, "max_position": 1000000}},
                                        # above the shipped limits (100 lots an order, 1000 a position)
                                        "limits": {"max_order_qty": 100000, "max_position": 1000000}},
                                description="Binance spot ETHUSDT (two chained files), mm, power_prob_2 queue"),
}


def main(names: list[str]) -> int:
    for name in names or sorted(GOLDENS):
        doc = make_golden(HERE / f"{name}.json", **GOLDENS[name], source=FILES)
        print(f"{name}: run hash {doc['expect']['run_hash']}, fills {doc['expect']['fills']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
