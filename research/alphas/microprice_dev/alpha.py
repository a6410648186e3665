"""Micro-price deviation: size-weighted micro-price minus mid, in ticks (Stoikov 2018)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from hft.alpha.api.base import Alpha


class MicropriceDev(Alpha):
    alpha_id = "microprice_dev"
    version = "1.0.0"
    features = ("microprice", "mid")

    @dataclass(frozen=True)
    class Params:
        smooth: int = 1  # rows averaged (1: the raw deviation)

    def check_params(self, params: Params) -> None:
        self.require(params.smooth >= 1, "smooth", "an integer >= 1", params.smooth)

    def compute(self, features: pl.DataFrame) -> pl.Series:
        dev = (features["microprice"] - features["mid"]).cast(pl.Float64)  # both already in ticks
        if self.params.smooth > 1:
            dev = dev.rolling_mean(self.params.smooth, min_samples=1)
        return dev
