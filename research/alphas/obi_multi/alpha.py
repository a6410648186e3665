"""Multi-level, depth-weighted order-book imbalance.

signal = Σ_k w_k (q_bid_k − q_ask_k) / Σ_k w_k (q_bid_k + q_ask_k),  w_k = exp(−decay · (k − 1)), k = 1..levels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from hft.alpha.api.base import Alpha


class ObiMulti(Alpha):
    alpha_id = "obi_multi"
    version = "1.0.0"
    features = ("bid_qty_1", "ask_qty_1")  # the full list depends on `levels`: see required_features

    @dataclass(frozen=True)
    class Params:
        levels: int = 5  # book levels per side
        decay: float = 0.5  # weight of level k: exp(-decay * (k - 1)); 0 = equal weights

    def check_params(self, params: Params) -> None:
        self.require(1 <= params.levels <= 50, "levels", "an integer in [1, 50]", params.levels)
        self.require(params.decay >= 0.0, "decay", "a number >= 0", params.decay)

    def required_features(self) -> tuple[str, ...]:
        n = self.params.levels
        return tuple(f"{s}_qty_{k}" for k in range(1, n + 1) for s in ("bid", "ask"))

    def compute(self, features: pl.DataFrame) -> pl.Series:
        num = pl.lit(0.0)
        den = pl.lit(0.0)
        for k in range(1, self.params.levels + 1):
            w = math.exp(-self.params.decay * (k - 1))
            qb = pl.col(f"bid_qty_{k}").cast(pl.Float64)
            qa = pl.col(f"ask_qty_{k}").cast(pl.Float64)
            num = num + w * (qb - qa)
            den = den + w * (qb + qa)
        return features.select((num / den).fill_nan(None).alias("s")).to_series()
