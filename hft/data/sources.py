"""Recognise market-data inputs and open them as one event stream.

Kinds:
  * ``lobster`` — a LOBSTER zip, or a ``*_message_<L>.csv`` file (its orderbook CSV beside it);
  * ``binance`` — one or more Binance capture files ``<symbol>_<YYYYMMDD>.gz`` (several = one stream);
  * ``events``  — an imported hft event Parquet file (LOBSTER imports keep their ``.ref.parquet`` sidecar).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hft.core.errors import DataValidationError
from hft.core.instrument import Instrument

Kind = Literal["lobster", "binance", "events"]


def detect_kind(path: str | Path) -> Kind:
    """Classify one input path by name (and existence); a DataValidationError for anything else."""
    p = Path(path)
    if not p.exists():
        raise DataValidationError(f"{p}: expected a market data file, none exists", file=str(p))
    name = p.name.lower()
    if name.endswith(".parquet"):
        return "events"
    if name.endswith(".zip") or ("_message_" in name and name.endswith(".csv")):
        return "lobster"
    if name.endswith(".gz"):
        return "binance"
    raise DataValidationError(
        f"{p}: expected a LOBSTER zip or *_message_<L>.csv, a Binance capture .gz, or an hft .parquet file",
        file=str(p), hint="see `hft data import --help` for supported formats")


def detect_common_kind(paths: list[Path]) -> Kind:
    """The single kind shared by all `paths` (mixing kinds is an error)."""
    if not paths:
        raise DataValidationError("expected at least one input file, got none")
    kinds = {detect_kind(p) for p in paths}
    if len(kinds) != 1:
        raise DataValidationError(f"expected inputs of one kind, got {sorted(kinds)}: {[str(p) for p in paths]}")
    kind = kinds.pop()
    if kind != "binance" and len(paths) > 1:
        raise DataValidationError(f"expected one {kind} input (only Binance captures chain), got {len(paths)}")
    return kind


@dataclass(frozen=True)
class MarketData:
    """An opened event stream with what verification needs."""

    kind: Kind
    events: np.ndarray
    instrument: Instrument
    meta: dict[str, Any] = field(default_factory=dict)
    lobster: Any = None  # hft.data.lobster.LobsterData when the source is LOBSTER (reference book inside)


def open_market_data(paths: list[Path], *, allow_gaps: bool = False) -> MarketData:
    """Import (raw) or load (Parquet) `paths` into one `MarketData`."""
    from hft.data.events_io import check_event_values  # the same checks on a fresh import as on a loaded file

    paths = [Path(p) for p in paths]
    kind = detect_common_kind(paths)
    if kind == "lobster":
        from hft.data.lobster import import_lobster

        data = import_lobster(paths[0])
        check_event_values(data.events, str(paths[0]))
        return MarketData("lobster", data.events, data.instrument, data.meta, lobster=data)
    if kind == "binance":
        from hft.data.binance import import_binance

        bdata = import_binance(paths, allow_gaps=allow_gaps)
        check_event_values(bdata.events, ", ".join(str(p) for p in paths))  # e.g. a local time jumping back
        return MarketData("binance", bdata.events, bdata.instrument, bdata.meta)
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
