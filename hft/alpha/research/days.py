"""Several market-data inputs as separate days: per-day features (the grouping itself is
`hft.data.sources.group_days`, shared with ``hft replay`` over several days).

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
from hft.data.sources import group_days

__all__ = ["DayFeatures", "day_features", "group_days"]


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


def day_features(paths: Sequence[Path | str], spec: Any, *, cache: bool = True) -> list[DayFeatures]:
    """Features of each day of `paths` (`group_days`) for `spec`, from the feature cache when warm."""
    out = []
    for group in group_days(paths):
        feats = compute_features(group, spec, cache=cache)
        out.append(DayFeatures(_label(group), tuple(group), data_hash(group), feats))
    return out
