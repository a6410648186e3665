"""A recorded latency series read from a file (CSV or Parquet) into an empirical `hft.sim.latency.LatencyModel`.

Apart from `hft.sim.latency` because reading a table needs polars, which the numba engine's import graph must not
load (the ``kernels-pure`` contract in ``pyproject.toml``); only the replay config imports this module.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hft.core.errors import ConfigError
from hft.sim.latency import LatencyModel, empirical

__all__ = ["load_empirical"]


def load_empirical(path: str | Path, column: str) -> LatencyModel:
    """Load a recorded latency file (CSV or Parquet with columns ``t_ns`` and `column`, e.g. ``entry_ns``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: expected a latency file, none exists", file=str(path))
    try:
        df = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
    except Exception as exc:  # polars raises several exception types for unreadable input
        raise ConfigError(f"{path}: expected a CSV or Parquet latency file ({exc.__class__.__name__})",
                          file=str(path)) from None
    for col in ("t_ns", column):
        if col not in df.columns:
            raise ConfigError(f"{path}: expected column '{col}', found {df.columns}", file=str(path), key=col)
        s = df[col]
        if df.height == 0:
            raise ConfigError(f"{path}: expected at least one latency row, the file has none", file=str(path))
        if not s.dtype.is_integer():  # a float latency would be silently truncated: refuse it
            raise ConfigError(f"{path}: column '{col}': expected integer nanoseconds, was {s.dtype}",
                              file=str(path), key=col)
        if s.null_count():
            row = int(s.is_null().arg_max())
            raise ConfigError(f"{path}: column '{col}' row {row + 1}: expected an integer, was empty",
                              file=str(path), key=col)
        if s.dtype != pl.Int64:  # e.g. Int128 for a value past 2**63 (polars cannot hand that to numpy)
            try:
                df = df.with_columns(s.cast(pl.Int64, strict=True))
            except Exception:  # polars raises several error types for an overflowing cast
                raise ConfigError(f"{path}: column '{col}': expected integer nanoseconds below 2**63, was a "
                                  f"{s.dtype} value beyond it", file=str(path), key=col) from None
    try:
        return empirical(df["t_ns"].to_numpy(), df[column].to_numpy())
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.message}", file=str(path), key=column) from None
