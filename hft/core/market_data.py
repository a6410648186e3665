"""What a service needs from recorded market data: the `MarketDataSource` protocol.

Services (`hft.alpha`'s features, validation and Gate D) take a source instead of importing the data adapter
`hft.data`: the composition root (the CLI, `hft demo`, notebooks, research code, tests) passes
`hft.data.sources.FILES`, the market-data files on disk. It lives in `hft.core` so that every service layer can
name it.

Which files make one day is format knowledge (a Binance capture chains with the next file of its symbol, a
LOBSTER file stands alone; detecting a format reads the file), so grouping belongs to the source, beside
opening.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = ["MarketDataSource"]


class MarketDataSource(Protocol):
    """Groups market-data inputs into days and opens a day as one event stream."""

    def group_days(self, paths: Sequence[Path | str]) -> list[list[Path]]:
        """`paths` grouped into days (the files of one stream together), in the order given; raises
        `hft.core.errors.DataValidationError` for no paths, a missing file or a file given twice."""
        ...

    def open_market_data(self, paths: list[Path]) -> Any:
        """The files of one day opened as one stream: an object with ``events`` (the canonical event array),
        ``instrument`` (`hft.core.instrument.Instrument`), ``meta`` and ``lobster`` (the LOBSTER reference
        book, or None)."""
        ...
