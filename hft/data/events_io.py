"""Canonical event files: Parquet written with polars, instrument metadata in the Parquet key-value metadata.

A file holds one event stream (`hft.core.dtypes.EVENT_DTYPE` columns) of one instrument. The key
``hft.instrument`` holds the `Instrument` as JSON; ``hft.meta`` holds importer facts (source files, counts,
gaps) as JSON; ``hft.format`` is the format version; ``hft.content_hash`` is a 64-bit digest of the event columns
(:func:`content_hash`, a numba kernel near memory speed: damage and foreign files, not a signature).

Loading refuses what `hft` did not write or what changed since: another format version, missing columns or
columns of another type (a float or string column), a content hash that does not match (flipped bytes), and, in
one pass of a numba kernel (`hft.data._eventcheck`), an unknown event kind, a side outside -1/0/1, a negative
quantity or a ``local_ts`` going back in time. Each is a DataValidationError naming the file, the row and the
field. Files written before the content hash existed load without that check.

Several files of one L2 instrument whose times overlap (a book file and a trades file imported apart) are one
stream: `load_merged` merges them by the rule of `hft.data._merge` (as the importers merge a vendor's files), so
the result equals importing the files together.

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
from hft.core.errors import DataValidationError, HftError
from hft.core.fileio import atomic_path
from hft.core.instrument import Instrument
from hft.data._convert import stream_repr, was
from hft.data._eventcheck import check_event_values, content_hash
from hft.data._merge import merge_streams

FORMAT_VERSION = "1"
_KEY_FORMAT = "hft.format"
_KEY_INSTRUMENT = "hft.instrument"
_KEY_META = "hft.meta"
_KEY_HASH = "hft.content_hash"
#: polars dtype name of each event column (what `write_events` writes).
_COLUMN_TYPES = {"i8": "Int64", "u1": "UInt8", "i1": "Int8"}


@dataclass(frozen=True)
class EventFile:
    """A loaded event file: the read-only events, their instrument, and importer metadata."""

    events: np.ndarray
    instrument: Instrument
    meta: dict[str, Any] = field(default_factory=dict)
    # merged files (`load_merged(origins=True)`): each event's file (index into `meta["files"]`) and its Parquet
    # row there (1-based, as `hft.data._eventcheck` names rows); None when not asked or for one file
    parts: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return stream_repr("EventFile", self.events, self.instrument, self.meta)


def events_to_frame(events: np.ndarray) -> pl.DataFrame:
    """Structured event array → polars DataFrame (one column per field)."""
    if events.dtype != EVENT_DTYPE:
        raise DataValidationError(f"events: expected dtype EVENT_DTYPE, was {events.dtype}")
    return pl.DataFrame({name: np.ascontiguousarray(events[name]) for name in EVENT_FIELDS})


def _check_schema(df: pl.DataFrame, source: str) -> None:
    missing = [n for n in EVENT_FIELDS if n not in df.columns]
    if missing:
        raise DataValidationError(f"{source}: expected event columns {list(EVENT_FIELDS)}, missing {missing}",
                                  file=source)
    for name in EVENT_FIELDS:
        want = _COLUMN_TYPES[EVENT_DTYPE[name].str.lstrip("<>|")]
        got = str(df.schema[name])
        if got != want:
            raise DataValidationError(f"{source}: column {name}: expected {want}, was {got}", file=source,
                                      key=name, expected=want, found=got)


def frame_to_events(df: pl.DataFrame, *, source: str = "<frame>", expected_hash: str | None = None,
                    check: bool = False) -> np.ndarray:
    """polars DataFrame with the event columns → a new read-only structured array.

    Args:
        expected_hash: the file's ``hft.content_hash``: refuse the data when it differs.
        check: run the schema and value checks (see module doc).
    """
    if check:
        _check_schema(df, source)
    else:
        missing = [n for n in EVENT_FIELDS if n not in df.columns]
        if missing:
            raise DataValidationError(f"{source}: expected event columns {list(EVENT_FIELDS)}, missing {missing}")
    out = np.zeros(df.height, dtype=EVENT_DTYPE)  # zeros: padding bytes are deterministic too
    cols = {}
    for name in EVENT_FIELDS:
        cols[name] = df.get_column(name).to_numpy()
        out[name] = cols[name]
    if expected_hash is not None:
        got = content_hash(cols)
        if got != expected_hash:
            raise DataValidationError(f"{source}: the event data does not match the file's content hash (expected "
                                      f"{expected_hash}, was {got}): the file changed after hft wrote it",
                                      file=source, expected=expected_hash, found=got,
                                      hint="re-import the raw data (`hft data import`)")
    if check:
        check_event_values(out, source)
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
        _KEY_HASH: content_hash(events),
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
    instrument, meta, _ = _read_kv(path, kv)
    return instrument, meta


def _read_kv(path: Path, kv: dict[str, str]) -> tuple[Instrument, dict[str, Any], str | None]:
    """(instrument, importer meta, content hash or None) from the key-value metadata, each checked."""
    if _KEY_INSTRUMENT not in kv:
        raise DataValidationError(f"{path}: expected Parquet key '{_KEY_INSTRUMENT}' (not an hft event file)",
                                  file=str(path), hint="import raw data with `hft data import`")
    fmt = kv.get(_KEY_FORMAT)
    if fmt != FORMAT_VERSION:
        raise DataValidationError(f"{path}: {_KEY_FORMAT}: expected format version {FORMAT_VERSION}, "
                                  f"{was(fmt)}",
                                  file=str(path), key=_KEY_FORMAT, expected=FORMAT_VERSION, found=fmt,
                                  hint="re-import the raw data with this version of hft")
    try:
        instrument = Instrument.from_json(kv[_KEY_INSTRUMENT])
        meta = json.loads(kv.get(_KEY_META, "{}"))
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except HftError as exc:
        raise DataValidationError(f"{path}: Parquet metadata: {exc.message}", file=str(path)) from None
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise DataValidationError(f"{path}: Parquet metadata: expected JSON objects under '{_KEY_INSTRUMENT}' "
                                  f"and '{_KEY_META}' ({exc.__class__.__name__}: {str(exc)[:120]})",
                                  file=str(path)) from None
    digest = kv.get(_KEY_HASH)
    return instrument, meta, digest


def load_events(path: str | Path) -> EventFile:
    """Load an event file written by `write_events`, checked (see module doc)."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{path}: expected an event file, none exists", file=str(path))
    try:
        kv = pl.read_parquet_metadata(path)
    except Exception as exc:  # polars raises several error types for non-parquet input
        raise DataValidationError(f"{path}: expected an hft event Parquet file ({exc.__class__.__name__})",
                                  file=str(path)) from None
    instrument, meta, digest = _read_kv(path, kv)
    try:
        df = pl.read_parquet(path)
    except Exception as exc:  # a damaged page: polars raises several error types
        raise DataValidationError(f"{path}: expected readable Parquet data ({exc.__class__.__name__}: "
                                  f"{str(exc).splitlines()[0][:160] if str(exc) else ''})", file=str(path)) from None
    return EventFile(frame_to_events(df, source=str(path), expected_hash=digest, check=True), instrument, meta)


def event_span(path: str | Path) -> tuple[Instrument, int, int]:
    """The instrument and the first and last ``exch_ts`` of an event file (its metadata and one column)."""
    instrument, _ = read_event_metadata(path)
    try:
        span = pl.scan_parquet(path).select(pl.col("exch_ts").min().alias("lo"),
                                            pl.col("exch_ts").max().alias("hi")).collect()
    except Exception as exc:  # a damaged page: polars raises several error types
        raise DataValidationError(f"{path}: expected readable Parquet data ({exc.__class__.__name__})",
                                  file=str(path)) from None
    lo, hi = span.row(0)
    return instrument, int(lo if lo is not None else 0), int(hi if hi is not None else 0)


def load_merged(paths: list[Path], *, origins: bool = False) -> EventFile:
    """Event files of one L2 instrument as one stream (module docstring, `hft.data._merge.merge_streams`); one
    file is `load_events`. With `origins`, each merged event's file and row (`EventFile.parts`), for `hft data
    verify` to name a row."""
    files = [load_events(p) for p in paths]
    if len(files) == 1:
        return files[0]
    events, instrument, meta, parts = merge_streams(paths, [(f.events, f.instrument, f.meta) for f in files],
                                                    origins=origins)
    return EventFile(events, instrument, {"source": "events", **meta}, parts)
