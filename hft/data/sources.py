"""Recognise market-data inputs and open them as one event stream.

Which format a file is in is decided by its content through the registry of `hft.data.formats` (or named
explicitly, ``--format``): LOBSTER, Binance captures, Tardis.dev CSV, hftbacktest ``.npz``, Databento DBN,
generic tables with a column mapping, and imported hft event Parquet (LOBSTER imports keep their
``.ref.parquet`` sidecar). Formats that chain (Binance, Tardis) take several files of one instrument as one
stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.errors import DataValidationError
from hft.core.instrument import Instrument

Kind = str  # a format name of `hft.data.formats` ("lobster", "binance", "events", "tardis", …)


def detect_kind(path: str | Path) -> Kind:
    """The format of one input path, by content (`hft.data.formats.detect`); a DataValidationError otherwise."""
    from hft.data.formats import detect

    return detect(path)


def detect_common_kind(paths: list[Path], fmt: str | None = None) -> Kind:
    """The single format shared by all `paths` (mixing formats is an error); `fmt` names it explicitly."""
    from hft.data.formats import get

    if not paths:
        raise DataValidationError("expected at least one input file, got none")
    if fmt is not None:
        for p in paths:
            if not Path(p).is_file():
                raise DataValidationError(f"{p}: expected a market data file, none exists", file=str(p))
        kind = get(fmt).name
    else:
        kinds = {detect_kind(p) for p in paths}
        if len(kinds) != 1:
            raise DataValidationError(f"expected inputs of one format, got {sorted(kinds)}: "
                                      f"{[str(p) for p in paths]}")
        kind = kinds.pop()
    if not get(kind).chains and len(paths) > 1:
        raise DataValidationError(f"expected one {kind} input (only Binance captures and Tardis CSVs chain), got "
                                  f"{len(paths)}")
    return kind


@dataclass(frozen=True)
class MarketData:
    """An opened event stream with what verification needs."""

    kind: Kind
    events: np.ndarray
    instrument: Instrument
    meta: dict[str, Any] = field(default_factory=dict)
    lobster: Any = None  # hft.data.lobster.LobsterData when the source is LOBSTER (reference book inside)


def open_market_data(paths: list[Path], *, allow_gaps: bool = False, fmt: str | None = None,
                     mapping: Path | None = None) -> MarketData:
    """Import (raw) or load (Parquet) `paths` into one `MarketData`; `fmt` names the format (else detected),
    `mapping` is a generic table's column mapping."""
    from hft.data.formats import OpenOptions, get

    paths = [Path(p) for p in paths]
    if mapping is not None and fmt is None:
        fmt = "table"
    kind = detect_common_kind(paths, fmt)
    md = get(kind).open(paths, OpenOptions(allow_gaps=allow_gaps, mapping=Path(mapping) if mapping else None))
    if kind != "events":  # a loaded event file was checked on load; a fresh import gets the same checks
        from hft.data._eventcheck import check_event_values

        check_event_values(md.events, ", ".join(str(p) for p in paths))
    if len(md.events) == 0:
        raise DataValidationError(f"{paths[0]}: expected market events, the {kind} input holds none",
                                  file=str(paths[0]))
    return md


def open_lobster(paths: list[Path], opts: Any) -> MarketData:
    from hft.data.lobster import import_lobster

    data = import_lobster(paths[0])
    return MarketData("lobster", data.events, data.instrument, data.meta, lobster=data)


def open_binance(paths: list[Path], opts: Any) -> MarketData:
    from hft.data.binance import import_binance

    bdata = import_binance(paths, allow_gaps=opts.allow_gaps)
    return MarketData("binance", bdata.events, bdata.instrument, bdata.meta)


def open_events(paths: list[Path], opts: Any) -> MarketData:
    """An imported hft event file (a LOBSTER import with its reference sidecar opens as LOBSTER)."""
    from hft.data.events_io import read_event_metadata

    instrument, _ = read_event_metadata(paths[0])
    if instrument.book_level == "L3" and _ref_path(paths[0]).exists():
        from hft.data.lobster import load_lobster_import

        data = load_lobster_import(paths[0])
        return MarketData("lobster", data.events, data.instrument, data.meta, lobster=data)
    from hft.data.events_io import load_events

    ef = load_events(paths[0])
    return MarketData("events", ef.events, ef.instrument, ef.meta)


def _ref_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".parquet") + ".ref.parquet")
