"""What a service needs from recorded market data: the `MarketDataSource` protocol.

Services (`hft.alpha`'s features, validation and Gate D; `hft.sim`'s replay, sessions, sweeps and goldens) take
a source instead of importing the data adapter `hft.data`: the composition root (the CLI, `hft demo`, notebooks,
research code, tests) passes `hft.data.sources.FILES`, the market-data files on disk. It lives in `hft.core` so
that every service layer can name it.

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
    """Expands market-data specs into inputs, groups them into days, opens a day as one event stream and writes
    a synthetic day (goldens and warm-up replay generated data)."""

    def expand_paths(self, specs: Sequence[Path | str], notices: list[str] | None = None) -> list[Path]:
        """`specs` with their glob and ``{FROM..TO}`` range forms expanded, in order; raises
        `hft.core.errors.DataValidationError` for a pattern or range that matches nothing. A range's values with
        no file are skipped, each such range adding one line naming them to `notices` (when given)."""
        ...

    def group_days(self, paths: Sequence[Path | str]) -> list[list[Path]]:
        """`paths` grouped into days (the files of one stream together), in the order given; raises
        `hft.core.errors.DataValidationError` for no paths, a missing file or a file given twice."""
        ...

    def open_market_data(self, paths: list[Path], *, fmt: str | None = None, mapping: Path | None = None) -> Any:
        """The files of one day opened as one stream: an object with ``events`` (the canonical event array),
        ``instrument`` (`hft.core.instrument.Instrument`), ``meta`` and ``lobster`` (the LOBSTER reference
        book, or None). `fmt` names the format (else detected by content), `mapping` a generic table's column
        mapping file."""
        ...

    def generate_day(self, out_dir: Path, *, seed: int, symbol: str, date: str, messages: int,
                     levels: int) -> Path:
        """A synthetic day written into `out_dir` (deterministic for its arguments); returns the path that
        `open_market_data` opens."""
        ...
