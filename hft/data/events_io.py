"""Canonical event files: Parquet written with polars, instrument metadata in the Parquet key-value metadata.

A file holds one event stream (`hft.core.dtypes.EVENT_DTYPE` columns) of one instrument. The key
``hft.instrument`` holds the `Instrument` as JSON; ``hft.meta`` holds importer facts (source files, counts,
gaps) as JSON; ``hft.format`` is the format version.

Loading returns a read-only structured array. Parquet is columnar and the event array is row-major, so one
copy per column is unavoidable; the returned array is then frozen (``writeable = False``) and kernels read it
without further copies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from hft.core.dtypes import EVENT_DTYPE, EVENT_FIELDS
from hft.core.errors import DataValidationError
from hft.core.fileio import atomic_path
from hft.core.instrument import Instrument

FORMAT_VERSION = "1"
_KEY_FORMAT = "hft.format"
_KEY_INSTRUMENT = "hft.instrument"
_KEY_META = "hft.meta"


@dataclass(frozen=True)
class EventFile:
    """A loaded event file: the read-only events, their instrument, and importer metadata."""

    events: np.ndarray
    instrument: Instrument
    meta: dict[str, Any] = field(default_factory=dict)


def events_to_frame(events: np.ndarray) -> pl.DataFrame:
    """Structured event array → polars DataFrame (one column per field)."""
    if events.dtype != EVENT_DTYPE:
        raise DataValidationError(f"events: expected dtype EVENT_DTYPE, was {events.dtype}")
    return pl.DataFrame({name: np.ascontiguousarray(events[name]) for name in EVENT_FIELDS})


def frame_to_events(df: pl.DataFrame, *, source: str = "<frame>") -> np.ndarray:
    """polars DataFrame with the event columns → a new read-only structured array."""
    missing = [n for n in EVENT_FIELDS if n not in df.columns]
    if missing:
        raise DataValidationError(f"{source}: expected event columns {list(EVENT_FIELDS)}, missing {missing}")
    out = np.zeros(df.height, dtype=EVENT_DTYPE)  # zeros: padding bytes are deterministic too
    for name in EVENT_FIELDS:
        out[name] = df.get_column(name).to_numpy()
    out.flags.writeable = False
    return out


def write_events(path: str | Path, events: np.ndarray, instrument: Instrument,
                 meta: dict[str, Any] | None = None) -> Path:
    """Write an event file atomically (temp file + rename). Returns the path written."""
    path = Path(path)
    df = events_to_frame(events)
    metadata = {
        _KEY_FORMAT: FORMAT_VERSION,
        _KEY_INSTRUMENT: instrument.to_json(),
        _KEY_META: json.dumps(meta or {}, sort_keys=True, default=str),
    }
    with atomic_path(path) as tmp:
        df.write_parquet(tmp, compression="zstd", statistics=True, metadata=metadata)
    return path


def read_event_metadata(path: str | Path) -> tuple[Instrument, dict[str, Any]]:
    """Read only the instrument and importer metadata of an event file (no event data)."""
    path = Path(path)
    try:
        kv = pl.read_parquet_metadata(path)
    except Exception as exc:  # polars raises several error types for non-parquet input
        raise DataValidationError(f"{path}: expected an hft event Parquet file ({exc.__class__.__name__})",
                                  file=str(path)) from None
    if _KEY_INSTRUMENT not in kv:
        raise DataValidationError(f"{path}: expected Parquet key '{_KEY_INSTRUMENT}' (not an hft event file)",
                                  file=str(path), hint="import raw data with `hft data import`")
    return Instrument.from_json(kv[_KEY_INSTRUMENT]), json.loads(kv.get(_KEY_META, "{}"))


def load_events(path: str | Path) -> EventFile:
    """Load an event file written by `write_events`."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{path}: expected an event file, none exists", file=str(path))
    instrument, meta = read_event_metadata(path)
    df = pl.read_parquet(path)
    return EventFile(frame_to_events(df, source=str(path)), instrument, meta)
