"""Where `hft` keeps its state: ``$HFT_HOME`` (default ``.hft/`` in the working directory)."""

from __future__ import annotations

import os
from pathlib import Path


def hft_home() -> Path:
    """``$HFT_HOME`` or ``./.hft`` (absolute; not created)."""
    return Path(os.environ.get("HFT_HOME") or ".hft").absolute()


def wal_root(home: Path | None = None) -> Path:
    """Directory holding one WAL directory per writer: ``$HFT_HOME/wal``."""
    return (home or hft_home()) / "wal"


def clickhouse_dir(home: Path | None = None) -> Path:
    """Data directory of the embedded chDB engine: ``$HFT_HOME/clickhouse``."""
    return (home or hft_home()) / "clickhouse"
