"""The planted-leak corpus: alphas that each read the future in their own way (issue 14).

Every one reads only columns that every features frame has (``ts``, ``mid``, ``imb_1``, ``bid_qty_1``,
``ask_qty_1``), so each runs on generated days, on every LOBSTER sample day and in both sampling modes. Gate A
must fail every one of them, everywhere. `HONEST` holds look-alikes that do the same things without the
future (a trailing window, an expanding z-score, a forward fill, ...): gate A must pass those.
"""

from __future__ import annotations

import polars as pl

from hft.alpha.api.base import Alpha

SESSION_NS = int(6.5 * 3600 * 1e9)
MINUTE_NS = 60 * 1_000_000_000


class ShiftBack1(Alpha):
    """Shift by −1 row: the next row's imbalance."""

    alpha_id = "leak_shift_1"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        return f["imb_1"].shift(-1)


class ShiftBack20(Alpha):
    """Shift by −20 rows, the gap filled with the current value (no nulls to give it away)."""

    alpha_id = "leak_shift_20"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        return f["imb_1"].shift(-20).fill_null(f["imb_1"])


class CentredWindow(Alpha):
    """A centred rolling mean (half the window is in the future)."""

    alpha_id = "leak_centred_window"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        return f["imb_1"].rolling_mean(21, center=True, min_samples=1)


class WholeDayZ(Alpha):
    """Whole-sample normalisation: z-scored with the day's mean and standard deviation."""

    alpha_id = "leak_whole_day_z"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        x = f["imb_1"]
        return (x - x.mean()) / x.std()


class WholeDayRank(Alpha):
    """Whole-sample ranking: the percentile of the mid within the whole day."""

    alpha_id = "leak_whole_day_rank"
    version = "1.0.0"
    features = ("mid",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        m = f["mid"]
        return (m.rank("average") / m.len()).cast(pl.Float64) - 0.5


class BackwardFill(Alpha):
    """A sparse signal (every 7th row) backward filled: each row gets the NEXT sampled value."""

    alpha_id = "leak_backward_fill"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        idx = pl.int_range(pl.len())
        return f.select(pl.when(idx % 7 == 0).then(pl.col("imb_1")).otherwise(None)
                        .fill_null(strategy="backward").fill_null(0.0)).to_series()


class RightEdgeResample(Alpha):
    """Resampled to 1-minute bars labelled at the right edge: every row sees its bar's close."""

    alpha_id = "leak_right_edge_bar"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        return f.select(pl.col("imb_1").last().over(pl.col("ts") // MINUTE_NS)).to_series()


class AsofFuture(Alpha):
    """An as-of join on future timestamps: the imbalance as it will be one second later."""

    alpha_id = "leak_asof_future"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        left = f.select((pl.col("ts") + 1_000_000_000).alias("t"))
        right = f.select(pl.col("ts").alias("t"), pl.col("imb_1").alias("later"))
        return left.join_asof(right, on="t", strategy="backward")["later"]


class LastRowBroadcast(Alpha):
    """The last row's value broadcast: the mid relative to the day's closing mid."""

    alpha_id = "leak_last_row"
    version = "1.0.0"
    features = ("mid",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        m = f["mid"]
        return m / m.drop_nulls().tail(1).item() - 1.0


class LateDayLeak(Alpha):
    """Honest for the first 90 % of the session (6.5 h from the first row); the next row's imbalance after."""

    alpha_id = "leak_late_day"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        late = pl.col("ts") >= pl.col("ts").first() + int(0.9 * SESSION_NS)
        x = pl.col("imb_1")
        return f.select(pl.when(late).then(x.shift(-1).fill_null(x)).otherwise(x)).to_series()


class BackwardCumulative(Alpha):
    """A cumulative statistic computed backwards: the mean imbalance from each row to the end of the day."""

    alpha_id = "leak_backward_cum"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        x = f["imb_1"].fill_null(0.0)
        n = pl.Series(range(len(x), 0, -1), dtype=pl.Float64)
        return x.cum_sum(reverse=True) / n


class SortByFuture(Alpha):
    """Sorting by a future value: a rolling mean of the imbalance in the order of the mid 10 rows later."""

    alpha_id = "leak_sort_by_future"
    version = "1.0.0"
    features = ("imb_1", "mid")

    def compute(self, f: pl.DataFrame) -> pl.Series:
        g = f.with_row_index("i").with_columns(key=pl.col("mid").shift(-10))
        g = g.sort("key", "i", nulls_last=True).with_columns(s=pl.col("imb_1").rolling_mean(5, min_samples=1))
        return g.sort("i")["s"]


class TimeToNextRow(Alpha):
    """A leak through time alone: the wait until the next row (known only when it arrives)."""

    alpha_id = "leak_time_to_next"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        return (f["ts"].shift(-1) - f["ts"]).cast(pl.Float64).fill_null(0.0)


class FutureMidMove(Alpha):
    """The next row's mid move, directly."""

    alpha_id = "leak_future_mid"
    version = "1.0.0"
    features = ("mid",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        m = f["mid"]
        return (m.shift(-1) / m - 1.0).fill_null(0.0)


LEAKS: tuple[type[Alpha], ...] = (ShiftBack1, ShiftBack20, CentredWindow, WholeDayZ, WholeDayRank, BackwardFill,
                                  RightEdgeResample, AsofFuture, LastRowBroadcast, LateDayLeak, BackwardCumulative,
                                  SortByFuture, TimeToNextRow, FutureMidMove)


# --- honest look-alikes ---------------------------------------------------------------------------------------

class TrailingWindow(Alpha):
    alpha_id = "honest_trailing_window"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        return f["imb_1"].rolling_mean(21, min_samples=1)


class ExpandingZ(Alpha):
    alpha_id = "honest_expanding_z"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        x = f["imb_1"].fill_null(0.0)
        n = pl.Series(range(1, len(x) + 1), dtype=pl.Float64)
        mean = x.cum_sum() / n
        var = (x * x).cum_sum() / n - mean * mean
        return ((x - mean) / var.sqrt()).fill_nan(None)


class ForwardFill(Alpha):
    alpha_id = "honest_forward_fill"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        idx = pl.int_range(pl.len())
        return f.select(pl.when(idx % 7 == 0).then(pl.col("imb_1")).otherwise(None)
                        .fill_null(strategy="forward")).to_series()


class LeftEdgeBar(Alpha):
    """The previous completed 1-minute bar's last imbalance (known at the bar's close)."""

    alpha_id = "honest_left_edge_bar"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        bar = pl.col("ts") // MINUTE_NS
        first_of_bar = bar != bar.shift(1)
        prev = pl.col("imb_1").shift(1)
        return f.select(pl.when(first_of_bar).then(prev).otherwise(None).forward_fill()).to_series()


class TimeSincePrevious(Alpha):
    alpha_id = "honest_time_since_prev"
    version = "1.0.0"
    features = ("imb_1",)

    def compute(self, f: pl.DataFrame) -> pl.Series:
        return (f["ts"] - f["ts"].shift(1)).cast(pl.Float64)


HONEST: tuple[type[Alpha], ...] = (TrailingWindow, ExpandingZ, ForwardFill, LeftEdgeBar, TimeSincePrevious)
