"""The registry of market-data formats: each one recognised by its content, or named with ``--format``.

A `DataFormat` has a name, a ``sniff(path, head)`` that says from the file's first bytes (decompressed when the
file is gzip) whether the file is in that format, and an ``open(paths, options)`` that returns one
`hft.data.sources.MarketData` stream. Detection asks the formats in registration order; the first that claims a
file wins, so the specific checks come before the general ones. Built-ins:

=============  ===========================================================================================
name           recognised by
=============  ===========================================================================================
events         Parquet (``PAR1``) with the ``hft.instrument`` key: an imported hft event file
lobster        a ``.zip`` (or a zip holding ``*_message_<L>.csv``), or such a CSV (its orderbook file beside it)
hftbacktest    a ``.npz`` (zip of ``.npy``) holding hftbacktest's 64-byte event array (`hft.data.hftbt`)
dbn            Databento DBN (``DBN`` magic, zstd-compressed or not) (`hft.data.dbn`)
tardis         CSV (``.csv`` / ``.csv.gz``) with Tardis.dev's ``exchange,symbol,timestamp,local_timestamp``
               header (`hft.data.tardis`)
binance        gzip whose first line is ``<local ns> {json}`` (a Binance capture, `hft.data.binance`)
table          any CSV / Parquet with a column mapping: ``--mapping FILE`` or ``<name>.mapping.yaml`` beside it
               (`hft.data.table`)
=============  ===========================================================================================

An installed package adds a format through the entry-point group ``hft.data_formats`` (an object that is a
`DataFormat`; docs/extending.md); ``--format FILE.py:OBJECT`` or ``module:OBJECT`` names one that is not installed
(the one plugin loader, `hft.core.plugins`). Formats that chain (``binance``, ``tardis``, ``events`` and ``dbn``:
L2 files of one instrument whose times overlap, merged by `hft.data._merge`) take several files of one instrument
as one stream; the others take one file.
"""

from __future__ import annotations

import gzip
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hft.core.errors import DataValidationError
from hft.core.plugins import entry_point_map, load_entry_point, resolve

ENTRY_POINT_GROUP = "hft.data_formats"
HEAD_BYTES = 4096


@dataclass(frozen=True)
class OpenOptions:
    """What an opener may be told besides the paths."""

    allow_gaps: bool = False  # formats with sequence numbers: resync on a break instead of failing
    mapping: Path | None = None  # the `table` format: the column mapping YAML
    # keep where each event was read from (`MarketData.origin`), for `hft data verify` to name a row; an import or
    # a replay asks nothing and pays nothing (Binance records each event's message only when asked)
    origins: bool = False


@dataclass(frozen=True)
class DataFormat:
    """One market-data format (module docstring)."""

    name: str
    description: str
    sniff: Callable[[Path, bytes], bool]
    open: Callable[[list[Path], OpenOptions], Any]  # -> hft.data.sources.MarketData
    chains: bool = False


_REGISTRY: dict[str, DataFormat] = {}
_plugins_loaded = False


def register(fmt: DataFormat) -> DataFormat:
    """Add a format (a name registered twice is an error)."""
    if fmt.name in _REGISTRY:
        raise DataValidationError(f"data format {fmt.name!r}: expected a new name, it is registered already")
    _REGISTRY[fmt.name] = fmt
    return fmt


def formats() -> dict[str, DataFormat]:
    """Every registered format, in detection order (plugins after the built-ins)."""
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        for ep in entry_point_map(ENTRY_POINT_GROUP).values():
            obj = _checked(load_entry_point(ep, label="data format", error=DataValidationError, key="format"),
                           f"data format plugin {ep.name!r}")
            if obj.name not in _REGISTRY:
                register(obj)
    return dict(_REGISTRY)


def get(name: str) -> DataFormat:
    """The format `name` names: a registered name, or (through `hft.core.plugins`, as every registry of user code)
    ``FILE.py:OBJECT`` / ``module:OBJECT`` naming a `DataFormat`; a `DataValidationError` listing the names
    otherwise."""
    if ":" in name:
        obj = resolve(name, group=ENTRY_POINT_GROUP, label="data format", what="DataFormat",
                      error=DataValidationError, key="format", where="--format").obj
        return _checked(obj, f"--format {name!r}")
    reg = formats()
    if name not in reg:
        raise DataValidationError(f"--format: expected one of {list(reg)}, FILE.py:OBJECT or module:OBJECT, "
                                  f"was {name!r}", key="format")
    return reg[name]


def _checked(obj: Any, where: str) -> DataFormat:
    if not isinstance(obj, DataFormat):
        raise DataValidationError(f"{where}: expected a hft.data.formats.DataFormat, was {type(obj).__name__}",
                                  key="format")
    return obj


def head(path: Path, n: int = HEAD_BYTES) -> bytes:
    """The first `n` bytes of the file (of its content, when it is gzip)."""
    with open(path, "rb") as f:
        raw = f.read(n)
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as g:
                return g.read(n)
        except (OSError, EOFError, zlib.error):  # a damaged gzip: its raw bytes (no format will claim them)
            return raw
    return raw


def require_file(path: str | Path) -> Path:
    """`path`, once it names an existing file (else a DataValidationError saying what it is instead)."""
    p = Path(path)
    if p.is_dir():
        raise DataValidationError(f"{p}: expected a market data file, was a directory", file=str(p))
    if not p.is_file():
        raise DataValidationError(f"{p}: expected a market data file, none exists", file=str(p))
    return p


def detect(path: str | Path) -> str:
    """The name of the first format that claims `path` (module docstring)."""
    p = require_file(path)
    h = head(p)
    for fmt in formats().values():
        if fmt.sniff(p, h):
            return fmt.name
    name = p.name
    if "_orderbook_" in name.lower() and name.lower().endswith(".csv"):  # half of a LOBSTER pair
        head_, _, tail = name.rpartition("_orderbook_")
        raise DataValidationError(f"{p}: a LOBSTER orderbook file; expected its message file "
                                  f"({head_}_message_{tail}), which is read with the orderbook beside it",
                                  file=str(p), hint="give each LOBSTER day once: its message CSV or its zip")
    damaged = archive_damage(p)
    if damaged is not None:  # a zip / .npz / gzip cut short says so, not "unknown format"
        raise DataValidationError(damaged, file=str(p))
    raise DataValidationError(
        f"{p}: expected a file in one of the formats {list(formats())}, none recognised its content",
        file=str(p), hint="name its format (--format NAME on hft data and hft replay; or convert it once with `hft data import "
             "FILE --format NAME -o FILE.parquet`, which every command reads), or give a generic table a --mapping FILE")


def archive_damage(path: Path, exc: BaseException | None = None) -> str | None:
    """The one-line error of a file that starts as a zip archive (``PK``: a LOBSTER zip, an ``.npz``) or as gzip
    but cannot be read whole — ``<file>: a zip archive, but truncated or damaged: <reason>`` — or None when it
    reads (or is neither). `exc`: the error reading it raised already (else the file is read here: a zip's members
    are CRC-checked, a gzip decompressed to its end, so only where a file failed anyway)."""
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"PK":
        what = "an .npz (zip) archive" if path.name.lower().endswith(".npz") else "a zip archive"
        if exc is None:
            try:
                with zipfile.ZipFile(path) as z:
                    bad = z.testzip()
                if bad is None:
                    return None
                return f"{path}: {what}, but damaged: member {bad!r} fails its CRC check"
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError) as e:
                exc = e
        reason = ("no end-of-archive directory (the file is cut short?)" if "not a zip file" in str(exc)
                  else f"{type(exc).__name__}: {exc}")
    elif magic == b"\x1f\x8b":
        what = "a gzip file"
        if not isinstance(exc, OSError | EOFError | zlib.error):  # (an error of reading it as something else)
            try:
                with gzip.open(path, "rb") as g:
                    while g.read(1 << 20):
                        pass
                return None
            except (OSError, EOFError, zlib.error) as e:
                exc = e
        reason = ("the stream ends before its end-of-stream marker (the file is cut short?)"
                  if isinstance(exc, EOFError) else f"{type(exc).__name__}: {exc}")
    else:
        return None
    return f"{path}: {what}, but truncated or damaged: {reason}"


# --- sniffers of the built-ins ------------------------------------------------------------------------------------
def _zip_names(p: Path, h: bytes) -> list[str]:
    if h[:2] != b"PK":
        return []
    try:
        with zipfile.ZipFile(p) as z:
            return z.namelist()
    except (zipfile.BadZipFile, OSError):
        return []


def _sniff_events(p: Path, h: bytes) -> bool:
    if h[:4] != b"PAR1":
        return False
    import polars as pl

    try:
        return "hft.instrument" in pl.read_parquet_metadata(p)
    except Exception:  # polars raises several types on a damaged footer
        return False


def _sniff_lobster(p: Path, h: bytes) -> bool:
    name = p.name.lower()
    if "_message_" in name and name.endswith(".csv"):
        return True
    if name.endswith(".zip"):  # any .zip is LOBSTER's (its importer says what a damaged one lacks)
        return True
    return any("_message_" in n for n in _zip_names(p, h))


def _sniff_hftbacktest(p: Path, h: bytes) -> bool:
    return any(n.endswith(".npy") for n in _zip_names(p, h))


def _sniff_dbn(p: Path, h: bytes) -> bool:
    return h[:3] == b"DBN" or (h[:4] == b"\x28\xb5\x2f\xfd" and ".dbn" in p.name.lower())


def _sniff_tardis(p: Path, h: bytes) -> bool:
    return h.startswith(b"exchange,symbol,timestamp,local_timestamp,")


def _sniff_binance(p: Path, h: bytes) -> bool:
    return re.match(rb"^\d{10,20} [\[{]", h) is not None


def _sniff_table(p: Path, h: bytes) -> bool:
    return sidecar_mapping(p) is not None


def sidecar_mapping(p: Path) -> Path | None:
    """``<name>.mapping.yaml`` beside a table (``trades.csv.gz`` → ``trades.mapping.yaml``), if it exists."""
    stem = p.name.split(".")[0]
    cand = p.with_name(f"{stem}.mapping.yaml")
    return cand if cand.is_file() else None


def _open(module: str, func: str) -> Callable[[list[Path], OpenOptions], Any]:
    def opener(paths: list[Path], opts: OpenOptions) -> Any:
        import importlib  # lazy: the opener's module is imported when its format is used

        return getattr(importlib.import_module(module), func)(paths, opts)
    return opener


for _fmt in (
    DataFormat("events", "hft event Parquet (imported)", _sniff_events, _open("hft.data.sources", "open_events"),
               chains=True),
    DataFormat("lobster", "LOBSTER zip or message CSV", _sniff_lobster, _open("hft.data.sources", "open_lobster")),
    DataFormat("hftbacktest", "hftbacktest .npz event array", _sniff_hftbacktest, _open("hft.data.hftbt", "open")),
    DataFormat("dbn", "Databento DBN (MBO, MBP-10, MBP-1, trades)", _sniff_dbn, _open("hft.data.dbn", "open"),
               chains=True),
    DataFormat("tardis", "Tardis.dev CSV (incremental_book_L2, trades, book_snapshot_N, quotes)", _sniff_tardis,
               _open("hft.data.tardis", "open"), chains=True),
    DataFormat("binance", "Binance capture .gz", _sniff_binance, _open("hft.data.sources", "open_binance"),
               chains=True),
    DataFormat("table", "generic CSV / Parquet with a column mapping YAML", _sniff_table,
               _open("hft.data.table", "open")),
):
    register(_fmt)
