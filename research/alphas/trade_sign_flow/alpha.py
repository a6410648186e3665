"""Trade-sign flow: aggressive buy minus sell volume over the last `window` rows.

With `normalize`, divided by the total traded volume over the window (in [−1, 1]; 0 when nothing traded).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from hft.alpha.api.base import Alpha


def window_sum(s: pl.Series, window: int) -> pl.Series:
    """Sum of the last `window` values (fewer at the start), exact for integers."""
    c = s.cum_sum()
    return c - c.shift(window, fill_value=0)


class TradeSignFlow(Alpha):
    alpha_id = "trade_sign_flow"
    version = "1.0.0"
    features = ("trade_signed_qty", "trade_qty")

    @dataclass(frozen=True)
    class Params:
        window: int = 100  # rows summed
        normalize: bool = True  # divide by traded volume over the window

    def check_params(self, params: Params) -> None:
        self.require(params.window >= 1, "window", "an integer >= 1", params.window)

    def compute(self, features: pl.DataFrame) -> pl.Series:
        w = self.params.window
        signed = window_sum(features["trade_signed_qty"].fill_null(0), w).cast(pl.Float64)
        if not self.params.normalize:
            return signed
        vol = window_sum(features["trade_qty"].fill_null(0), w).cast(pl.Float64)
        return (signed / vol).fill_nan(0.0)  # 0 / 0: nothing traded in the window
