"""Several market-data inputs as separate days: the one place that turns ``--data`` paths into per-day features.

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

from hft.core.errors import DataValidationError

__all__ = ["DayFeatures", "day_features", "group_days"]


@dataclass(frozen=True)
class DayFeatures:
    """One day's features.

    Attributes:
        label: the day's name (its file name; the first file of a Binance chain, ``+N`` more).
        paths: its input files.
        data_hash: content hash of those files (`hft.alpha.features.data_hash`).
        features: the features frame (`hft.alpha.features.compute_features`).
    """

    label: str
    paths: tuple[Path, ...]
    data_hash: str
    features: Any


def _chain_key(p: Path) -> tuple[str, str] | None:
    """(folder, symbol) of a Binance capture ``<symbol>_<YYYYMMDD>.gz``, None for other inputs."""
    name = p.name
    if not name.lower().endswith(".gz"):
        return None
    stem = name[: -len(".gz")]
    sym, _, date = stem.rpartition("_")
    return (str(p.resolve().parent), sym.lower()) if sym and date.isdigit() else (str(p.resolve()), "")


def group_days(paths: Sequence[Path | str]) -> list[list[Path]]:
    """`paths` grouped into days, in the order given (see the module docstring).

    Raises DataValidationError for no paths, a missing file or a file given twice.
    """
    ps = [Path(p) for p in paths]
    if not ps:
        raise DataValidationError("expected at least one data path (--data), was none", key="data")
    seen: set[Path] = set()
    for p in ps:
        if not p.is_file():
            raise DataValidationError(f"{p}: expected a market data file, none exists", file=str(p))
        r = p.resolve()
        if r in seen:
            raise DataValidationError(f"{p}: expected each data file once, was given twice", file=str(p))
        seen.add(r)
    days: list[list[Path]] = []
    chains: dict[tuple[str, str], list[Path]] = {}
    for p in ps:
        key = _chain_key(p)
        if key is None:
            days.append([p])
        elif key in chains:
            chains[key].append(p)
        else:
            chains[key] = [p]
            days.append(chains[key])
    return days


def _label(paths: list[Path]) -> str:
    return paths[0].name + (f" +{len(paths) - 1}" if len(paths) > 1 else "")


def day_features(paths: Sequence[Path | str], spec: Any, *, cache: bool = True) -> list[DayFeatures]:
    """Features of each day of `paths` (`group_days`) for `spec`, from the feature cache when warm."""
    from hft.alpha.features import compute_features, data_hash

    out = []
    for group in group_days(paths):
        feats = compute_features(group, spec, cache=cache)
        out.append(DayFeatures(_label(group), tuple(group), data_hash(group), feats))
    return out
