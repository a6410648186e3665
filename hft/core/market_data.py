"""What a service needs from recorded market data: the `MarketDataSource` protocol, and `no_book_notice` (the
one rule of a stream without an order book, said by `hft data verify` / `inspect` and a replay alike).

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

import numpy as np

from hft.core.dtypes import EV_ADD, EV_LEVEL_SET, EV_SNAPSHOT_LEVEL, EVENT_KIND_NAMES

__all__ = ["BOOK_BUILDING_KINDS", "MarketDataSource", "no_book_notice"]

BOOK_BUILDING_KINDS = (EV_ADD, EV_LEVEL_SET, EV_SNAPSHOT_LEVEL)  # the events that put quantity in a book


def no_book_notice(events: np.ndarray, paths: Sequence[Path | str]) -> str | None:
    """The one-line notice of a stream that holds no order book (a Tardis ``trades`` file alone, say): none of its
    `events` adds an order or sets a level, so `hft data verify` / `inspect` and a replay have no book to look
    at; `paths` are its files (the first is named). None when the stream has a book."""
    kinds = events["kind"]
    if np.isin(kinds, BOOK_BUILDING_KINDS).any():
        return None
    names, counts = np.unique(kinds, return_counts=True)
    held = ", ".join(f"{c:,} {EVENT_KIND_NAMES.get(int(k), str(int(k)))}" for k, c in zip(names, counts, strict=True))
    return (f"{Path(paths[0]).name}: no order book in this data (it holds {held} events, no orders, depth updates "
            "or snapshots): book statistics and checks are empty and a replay has no book; add the book file")


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
