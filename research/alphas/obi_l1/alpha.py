"""L1 order-book imbalance: (q_bid1 − q_ask1) / (q_bid1 + q_ask1), optionally averaged over the last rows."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from hft.alpha.api.base import Alpha


class ObiL1(Alpha):
    alpha_id = "obi_l1"
    version = "1.0.0"
    features = ("bid_qty_1", "ask_qty_1")

    @dataclass(frozen=True)
    class Params:
        smooth: int = 1  # rows averaged (1: the raw imbalance)

    def check_params(self, params: Params) -> None:
        self.require(params.smooth >= 1, "smooth", "an integer >= 1", params.smooth)

    def compute(self, features: pl.DataFrame) -> pl.Series:
        qb = features["bid_qty_1"].cast(pl.Float64)
        qa = features["ask_qty_1"].cast(pl.Float64)
        imb = ((qb - qa) / (qb + qa)).fill_nan(None)
        if self.params.smooth > 1:
            imb = imb.rolling_mean(self.params.smooth, min_samples=1)
        return imb
