"""Several market-data inputs as separate days: per-day features (the grouping itself is the market-data
source's, `hft.core.market_data.MarketDataSource.group_days`; on files `hft.data.sources.group_days`, shared
with ``hft replay`` over several days).

A LOBSTER zip / message CSV and an imported event Parquet file are one day each. Binance captures of one
symbol (same folder, same name before ``_YYYYMMDD``) chain into one stream, as `open_market_data` chains them;
each chain is one day. Days are never concatenated into one stream: an overnight gap is not a book event, and a
forward return or a strategy position must not run from one day into the next. Callers (``hft alpha
validate``) evaluate each day on its own frame and pool the per-day results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hft.alpha.research.features import compute_features, data_hash
from hft.core.market_data import MarketDataSource

__all__ = ["DayFeatures", "day_features"]


@dataclass(frozen=True)
class DayFeatures:
    """One day's features.

    Attributes:
        label: the day's name (its file name; the first file of a Binance chain, ``+N`` more).
        paths: its input files.
        data_hash: content hash of those files (`hft.alpha.research.features.data_hash`).
        features: the features frame (`hft.alpha.research.features.compute_features`).
    """
    label: str
    paths: tuple[Path, ...]
    data_hash: str
    features: Any


def _label(paths: list[Path]) -> str:
    return paths[0].name + (f" +{len(paths) - 1}" if len(paths) > 1 else "")


def day_features(paths: Sequence[Path | str], spec: Any, *, source: MarketDataSource,
                 cache: bool = True) -> list[DayFeatures]:
    """Features of each day of `paths` (grouped and opened by `source`) for `spec`, from the feature cache when
    warm."""
    out = []
    for group in source.group_days(paths):
        feats = compute_features(group, spec, source=source, cache=cache)
        out.append(DayFeatures(_label(group), tuple(group), data_hash(group), feats))
    return out
