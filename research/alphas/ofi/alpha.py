"""Order-flow imbalance (Cont, Kukanov & Stoikov 2014) summed over the last `window` rows.

With `normalize`, divided by the mean L1 depth (q_bid1 + q_ask1) / 2 over the same window, as in the paper's
price-impact regression (ΔP ≈ β · OFI / depth).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from hft.alpha.api.base import Alpha


def window_sum(s: pl.Series, window: int) -> pl.Series:
    """Sum of the last `window` values (fewer at the start), exact for integers."""
    c = s.cum_sum()
    return c - c.shift(window, fill_value=0)


class Ofi(Alpha):
    alpha_id = "ofi"
    version = "1.0.0"
    features = ("ofi", "bid_qty_1", "ask_qty_1")

    @dataclass(frozen=True)
    class Params:
        window: int = 50  # rows summed
        normalize: bool = True  # divide by the mean L1 depth over the window

    def check_params(self, params: Params) -> None:
        self.require(params.window >= 1, "window", "an integer >= 1", params.window)

    def compute(self, features: pl.DataFrame) -> pl.Series:
        w = self.params.window
        flow = window_sum(features["ofi"].fill_null(0), w).cast(pl.Float64)
        if not self.params.normalize:
            return flow
        depth = (features["bid_qty_1"] + features["ask_qty_1"]).cast(pl.Float64) / 2.0
        mean_depth = depth.rolling_mean(w, min_samples=1)
        return (flow / mean_depth).fill_nan(None)
