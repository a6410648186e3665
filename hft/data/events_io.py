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
stream: `load_merged` merges them as the importers merge a vendor's files (`hft.data._convert.merge_order`: by
local time, at an equal time a file of trades before a book file, each file's own order kept), on the finer of
their ticks and lots (each an exact multiple of it), so the result equals importing the files together.

Loading returns a read-only structured array. Parquet is columnar and the event array is row-major, so one
copy per column is unavoidable; the returned array is then frozen (``writeable = False``) and kernels read it
without further copies.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from hft.core.dtypes import EV_TRADE, EVENT_DTYPE, EVENT_FIELDS
from hft.core.errors import DataValidationError, HftError
from hft.core.fileio import atomic_path
from hft.core.instrument import Instrument
from hft.data._convert import merge_order, stream_repr, was
from hft.data._eventcheck import check_event_values

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


def content_hash(columns: dict[str, np.ndarray] | np.ndarray) -> str:
    """Digest (``xh64:`` + 16 hex) of the event columns' values in `EVENT_FIELDS` order (padding never enters it).

    A 64-bit, 4-lane numba digest (`hft.data._eventcheck.digest_words`): near memory speed, for damage and foreign
    files; not a signature.
    """
    # lazy: numba kernels, loaded only when a digest is computed
    from hft.data._eventcheck import digest_bytes, digest_words

    h = np.uint64(0)
    for name in EVENT_FIELDS:
        col = np.ascontiguousarray(columns[name])
        if col.dtype.itemsize == 8:  # numba hands back a Python int: keep the seed uint64-typed
            h = np.uint64(digest_words(col.view(np.uint64), h))
        else:
            h = np.uint64(digest_bytes(col.view(np.uint8), h))
    return f"xh64:{int(h):016x}"


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
    """Event files of one L2 instrument as one stream (module docstring); one file is `load_events`. With
    `origins`, each merged event's file and row (`EventFile.parts`), for `hft data verify` to name a row.

    Raises:
        DataValidationError: naming the file that differs: another instrument, an L3 file (a LOBSTER day is
            whole), the same events twice, ticks or lots that are not multiples of one another.
    """
    files = [load_events(p) for p in paths]
    if len(files) == 1:
        return files[0]
    first = files[0].instrument
    same = {k: v for k, v in asdict(first).items() if k not in ("tick_size", "lot_size")}
    hashes: dict[str, Path] = {}
    for p, f in zip(paths, files, strict=True):
        inst = f.instrument
        if inst.book_level != "L2":
            raise DataValidationError(f"{p}: expected L2 event files to merge into one stream, was {inst.book_level} "
                                      "(an L3 day is one file)", file=str(p), field="book_level")
        for k, v in same.items():
            if getattr(inst, k) != v:
                raise DataValidationError(f"{p}: instrument {k}: expected {v!r} as in {paths[0]} (files merged into "
                                          f"one stream are one instrument), was {getattr(inst, k)!r}",
                                          file=str(p), field=k)
        h = content_hash(f.events)
        if h in hashes:
            raise DataValidationError(f"{p}: expected different event files to merge, it holds the events of "
                                      f"{hashes[h]}", file=str(p))
        hashes[h] = p
    units: dict[str, str] = {}
    scaled: dict[str, list[np.ndarray]] = {}
    for unit, col in (("tick_size", "price"), ("lot_size", "qty")):
        have = [getattr(f.instrument, unit) for f in files]
        fine = min(have, key=Decimal)
        cols = []
        for p, f, u in zip(paths, files, have, strict=True):
            factor = Decimal(u) / Decimal(fine)
            if factor != factor.to_integral_value():
                raise DataValidationError(f"{p}: instrument {unit}: expected a multiple of {fine} (the {unit} of "
                                          f"another file merged with it), was {u}", file=str(p), field=unit)
            x = f.events[col]
            if int(factor) > 1 and len(x) and int(np.abs(x).max()) > np.iinfo(np.int64).max // int(factor):
                raise DataValidationError(f"{p}: {col}: expected values that fit int64 in units of {fine}",
                                          file=str(p), field=col)
            cols.append(x * np.int64(int(factor)))
        units[unit], scaled[col] = fine, cols
    order = merge_order([f.events["local_ts"] for f in files],
                        [0 if bool((f.events["kind"] == EV_TRADE).all()) else 1 for f in files])
    out = np.concatenate([f.events for f in files])[order]
    parts = None
    if origins:  # concatenated index -> (file, 1-based row), laid out in merged order
        lens = [len(f.events) for f in files]
        part = np.repeat(np.arange(len(files), dtype=np.int64), lens)[order]
        row = (np.arange(len(out), dtype=np.int64) - np.repeat(np.cumsum([0, *lens[:-1]]), lens))[order] + 1
        parts = (part, row)
    out["price"] = np.concatenate(scaled["price"])[order]
    out["qty"] = np.concatenate(scaled["qty"])[order]
    out.flags.writeable = False
    instrument = replace(first, **units)
    meta = {"source": "events", "files": [str(p) for p in paths], "parts": [f.meta for f in files],
            "gaps": sum(int(f.meta.get("gaps", 0)) for f in files)}
    return EventFile(out, instrument, meta, parts)
