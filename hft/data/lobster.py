"""LOBSTER importer: NASDAQ message + orderbook CSV files → canonical events and a reference book.

Input
-----
A LOBSTER zip holding one ``<TICKER>_<YYYY-MM-DD>_<start>_<end>_message_<L>.csv`` and its
``..._orderbook_<L>.csv``, or the message CSV itself (the orderbook CSV is found by the same naming convention
in the same folder, or passed explicitly). Both files have no header.

- message columns: ``time, type, order_id, size, price, direction``
- orderbook columns: ``ask_px_1, ask_sz_1, bid_px_1, bid_sz_1, …`` for L levels; row k is the book AFTER
  message k; empty levels are written as price ±9999999999 with size 0.

Conversion (exact, integer only)
--------------------------------
- ``exch_ts = local_ts``: the time column is seconds after midnight (wall clock) in America/New_York on the
  date in the file name. The decimal string is parsed as integer seconds + fraction digits (never through a
  float); digits beyond the 9th are rounded half-up to the nanosecond (LOBSTER writes a few rows with float
  noise such as ``43002.632812672004``; counted in ``meta["subns_times"]``). The UTC offset comes from
  `zoneinfo` for each local hour of that date, so DST is handled.
- type → kind: 1 ADD, 2 CANCEL (partial), 3 DELETE, 4 EXEC, 5 HIDDEN_EXEC, 6 TRADE (cross trade), 7 HALT.
- price: LOBSTER price is dollars × 10000, the tick is 0.01 USD, so ``ticks = price / 100``. Book messages
  (types 1–4) must be exact multiples of 100. Hidden and cross executions (5, 6) do happen at half-cent
  midpoint prices; their price is rounded to a whole tick toward the resting order's own side (buy: down,
  sell: up) and counted in ``meta["subtick_prices"]``. Halts keep LOBSTER's code in ``price``
  (-1 halt, 0 quoting, 1 resume) and have side 0.
- side: direction (1 buy, -1 sell) = the resting order's side. Cross trades (6) have no aggressor: side 0.
- qty: size in shares (lot 1); order_id as given; ``seq`` = 0-based message row; every event carries
  ``FLAG_EOM`` (one message = one event).

Reference book
--------------
``LobsterData.reference`` is an int64 array of shape (n_messages, 4*L) in LOBSTER column order (ask_px, ask_sz,
bid_px, bid_sz per level), prices in ticks. Empty levels become price ``NO_PRICE`` (int64 min, the same sentinel
the top-N kernels write) and size 0.

On disk
-------
`write_lobster_import(data, "x.parquet")` writes the canonical event file (`hft.data.events_io`, instrument and
meta in the Parquet metadata) and the reference book as the sidecar ``x.ref.parquet`` (columns ``ask_px_1,
ask_sz_1, bid_px_1, bid_sz_1, …``, key ``hft.lobster.levels``). Both are written atomically: on failure
neither file is left behind. `load_lobster_import` reads the pair back.

Every problem with the input is a `DataValidationError` naming the file, the 1-based line, what was expected
and what was found.

Parsing: a strict numba scanner (`_parse_strict`) reads well-formed files (LF line ends, plain decimal integers
without leading zeros, times ``[0-9]+(.[0-9]+)?``) straight into int64 columns, without importing polars (the
start-up of `hft replay`). It only ever declines: any file it does not accept, and any file whose values fail a
check, goes through the reference path (polars ``read_csv``), which makes every decision and raises every error.
Both paths give the same arrays on what the scanner accepts (tests/unit/data/test_lobster.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_DELETE,
    EV_EXEC,
    EV_HALT,
    EV_HIDDEN_EXEC,
    EV_TRADE,
    EVENT_DTYPE,
    EVENT_KIND_NAMES,
    FLAG_EOM,
    NO_PRICE,
    SELL,
)
from hft.core.errors import DataError, DataValidationError
from hft.core.fileio import MAX_DECOMPRESSION_RATIO, atomic_path, decompressed_limit
from hft.core.instrument import Instrument
from hft.core.jit import helper, njit
from hft.data._convert import row_error, row_place
from hft.data.formats import archive_damage

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "LOBSTER_EMPTY_PRICE",
    "LOBSTER_PRICE_PER_TICK",
    "LobsterData",
    "import_lobster",
    "load_lobster_import",
    "lobster_instrument",
    "ref_sidecar_path",
    "write_lobster_import",
]

LOBSTER_PRICE_PER_TICK = 100  # LOBSTER price unit is 1e-4 USD, the tick is 0.01 USD
LOBSTER_EMPTY_PRICE = 9_999_999_999  # ± this marks an empty level in the orderbook file
TIMEZONE = "America/New_York"

_NAME_RE = re.compile(
    r"^(?P<ticker>[A-Za-z0-9.\-]+)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<start>\d+)_(?P<end>\d+)"
    r"_(?P<what>message|orderbook)_(?P<levels>\d+)\.csv$"
)
_MSG_COLS = ("time", "type", "order_id", "size", "price", "direction")
_TIME_RE = r"^[0-9]+(\.[0-9]+)?$"
# LOBSTER type → event kind (index = type)
_KIND_OF_TYPE = np.array([0, EV_ADD, EV_CANCEL, EV_DELETE, EV_EXEC, EV_HIDDEN_EXEC, EV_TRADE, EV_HALT],
                         dtype=np.uint8)
_KEY_LEVELS = "hft.lobster.levels"


def counts_by_kind(counts_by_type: dict[int, int]) -> dict[str, int]:
    """Message counts by LOBSTER type (1-7) as counts by event kind name ("add", "delete", "exec" ...: the names
    `hft data inspect` counts by), in type order."""
    return {EVENT_KIND_NAMES[int(_KIND_OF_TYPE[t])]: int(n) for t, n in sorted(counts_by_type.items())}
_KEY_REF_HASH = "hft.content_hash"
_KEY_EVENTS_HASH = "hft.events_hash"
MAX_LEVELS = 1000  # reference book levels a sidecar may declare


@dataclass(frozen=True)
class LobsterData:
    """One imported LOBSTER file pair.

    Attributes:
        events: read-only `EVENT_DTYPE` array, one event per message.
        instrument: the NASDAQ instrument (tick 0.01 USD, lot 1 share, L3).
        reference: read-only int64 array (n_messages, 4*levels): the book after each message, LOBSTER column
            order, prices in ticks, empty levels ``(NO_PRICE, 0)``.
        levels: L, the number of book levels per side in the reference.
        meta: JSON-able facts: source files, sha256, message count, counts by type, ...
        origins: what to call the message rows' and the reference rows' file in a message (``x.zip:member``, a
            CSV's path; an imported event file and its ``.ref.parquet``): row k is line k + 1 of each.
    """

    events: np.ndarray
    instrument: Instrument
    reference: np.ndarray
    levels: int
    meta: dict[str, Any] = field(default_factory=dict)
    origins: tuple[str, str] = ("events", "reference")


def lobster_instrument(symbol: str) -> Instrument:
    """The `Instrument` of a LOBSTER (NASDAQ equity) symbol."""
    return Instrument(symbol=symbol, venue="NASDAQ", tick_size="0.01", lot_size="1", price_scale=10000,
                      currency="USD", timezone=TIMEZONE, book_level="L3")


# ------------------------------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class _Member:
    name: str  # file name (LOBSTER convention)
    origin: str  # what to call it in messages ("x.zip:member" or a path)
    data: bytes


def _parse_name(name: str, origin: str, what: str) -> re.Match[str]:
    m = _NAME_RE.match(name)
    if m is None or m.group("what") != what:
        raise DataValidationError(
            f"{origin}: expected a LOBSTER {what} file name "
            f"'<TICKER>_<YYYY-MM-DD>_<start>_<end>_{what}_<L>.csv', was {name!r}",
            file=origin, expected=f"<TICKER>_<YYYY-MM-DD>_<start>_<end>_{what}_<L>.csv", found=name)
    return m


def _read_zip(path: Path) -> tuple[_Member, _Member, list[str]]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            msgs = [n for n in names if _NAME_RE.match(Path(n).name) and "_message_" in Path(n).name]
            if len(msgs) != 1:
                raise DataValidationError(
                    f"{path}: expected exactly one LOBSTER '*_message_<L>.csv' member, found {len(msgs)} "
                    f"in {names}", file=str(path), expected="one *_message_<L>.csv member", found=names)
            msg_name = msgs[0]
            ob_name = _orderbook_name(msg_name)
            if ob_name not in names:
                raise DataValidationError(
                    f"{path}: expected member {ob_name!r} beside {msg_name!r}, members are {names}",
                    file=str(path), expected=ob_name, found=names)
            for name in (msg_name, ob_name):  # declared sizes bounded before anything is decompressed
                info = zf.getinfo(name)
                limit = decompressed_limit(info.compress_size)
                if info.file_size > limit:
                    raise DataValidationError(
                        f"{path}:{name}: expected at most {limit:,} decompressed bytes ({MAX_DECOMPRESSION_RATIO}x "
                        f"its {info.compress_size:,} compressed bytes), it declares {info.file_size:,} (a zip bomb?)",
                        file=str(path), expected=f"<= {limit} bytes", found=info.file_size)
            # zipfile never returns more than the declared size (and checks the CRC)
            msg = _Member(Path(msg_name).name, f"{path}:{msg_name}", zf.read(msg_name))
            ob = _Member(Path(ob_name).name, f"{path}:{ob_name}", zf.read(ob_name))
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as exc:
        raise DataValidationError(  # a zip cut short says so; another file named .zip is not one
            archive_damage(path, exc) or f"{path}: expected a readable zip archive, found a non-zip file ({exc})",
            file=str(path), expected="zip archive", found=str(exc)) from None
    return msg, ob, names


def _orderbook_name(message_name: str) -> str:
    head, _, tail = message_name.rpartition("_message_")
    return f"{head}_orderbook_{tail}"


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataValidationError(f"{path}: expected a readable file, {exc.strerror}",
                                  file=str(path)) from None


def _resolve(source: Path, orderbook: Path | None) -> tuple[_Member, _Member, list[str]]:
    if not source.is_file():
        raise DataValidationError(f"{source}: expected a LOBSTER zip or message CSV, no such file",
                                  file=str(source))
    if source.suffix.lower() == ".zip" or (orderbook is None and zipfile.is_zipfile(source)):
        if orderbook is not None:
            raise DataValidationError(f"{source}: a zip already holds its orderbook; do not pass one",
                                      file=str(source))
        return _read_zip(source)
    _parse_name(source.name, str(source), "message")
    ob_path = orderbook if orderbook is not None else source.with_name(_orderbook_name(source.name))
    if not ob_path.is_file():
        raise DataValidationError(
            f"{source}: expected the orderbook file {ob_path} beside the message file, none exists",
            file=str(source), expected=str(ob_path), found="missing",
            hint="pass the orderbook CSV explicitly")
    return (_Member(source.name, str(source), _read_file(source)),
            _Member(ob_path.name, str(ob_path), _read_file(ob_path)), [str(source), str(ob_path)])


# ------------------------------------------------------------------------------------------------- parsing


def column_name(ncols: int, col: int) -> str:
    """The field of 0-based column `col`: a message column's LOBSTER name (``size``), an orderbook column's name
    and number (``ask_sz_1 (column 2)``: the orderbook file has 4 x L columns and no header)."""
    if ncols == len(_MSG_COLS):
        return _MSG_COLS[col]
    return f"{_ref_columns(ncols // 4)[col]} (column {col + 1})"


def _written(data: bytes, row: int, col: int) -> str:
    """The text of 0-based `row` (= line - 1: LOBSTER files have no header, and a blank line is refused) and column
    `col` as written in the file; read again only on the error path."""
    line = data.split(b"\n", row + 1)[row].rstrip(b"\r")
    return line.split(b",")[col].decode("utf-8", errors="replace")


def _first_bad_line(data: bytes, ncols: int, origin: str) -> DataValidationError | None:
    """Slow path after polars refused a file: find the first line with the wrong shape or a non-integer."""
    for lineno, raw in enumerate(io.BytesIO(data), start=1):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        fields = line.split(",")
        if len(fields) != ncols:
            return DataValidationError(
                f"{row_place(origin, lineno)}: expected {ncols} comma-separated columns, found {len(fields)}: "
                f"{line[:80]!r}", file=origin, line=lineno, expected=f"{ncols} columns", found=len(fields))
        for col, value in enumerate(fields):
            if col == 0 and ncols == len(_MSG_COLS):
                ok = re.match(_TIME_RE, value) is not None
                what = "seconds after midnight (decimal)"
            else:
                ok = re.match(r"^-?[0-9]+$", value) is not None
                what = "an integer"
            if not ok:
                return row_error(origin, lineno, column_name(ncols, col), what, value)
    return None


def _msg_schema() -> dict[str, Any]:
    import polars as pl

    return {"time": pl.Utf8, "type": pl.Int64, "order_id": pl.Int64, "size": pl.Int64, "price": pl.Int64,
            "direction": pl.Int64}


def _read_csv(member: _Member, schema: dict[str, Any]) -> pl.DataFrame:
    import polars as pl

    ncols = len(schema)
    if not member.data or member.data.isspace():
        raise DataValidationError(f"{row_place(member.origin, 1)}: expected at least one CSV row, found an empty file",
                                  file=member.origin, line=1, expected="a CSV row", found="empty file")
    try:
        df = pl.read_csv(io.BytesIO(member.data), has_header=False, schema=schema)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        err = _first_bad_line(member.data, ncols, member.origin)
        if err is not None:
            raise err from None
        raise DataValidationError(f"{member.origin}: expected {ncols} integer CSV columns ({exc})",
                                  file=member.origin) from None
    if df.null_count().sum_horizontal().item() > 0:  # short rows / blank lines come back as nulls
        err = _first_bad_line(member.data, ncols, member.origin)
        raise err or DataValidationError(f"{member.origin}: expected no empty fields", file=member.origin)
    return df


@helper
def _natural(buf: np.ndarray, i: int, size: int, max_digits: int) -> tuple[int, int]:
    """The decimal digits at ``buf[i:]``: (value, index after them); value -1 when there are none, more than
    `max_digits` (at most 18: the value fits int64), or a leading zero (``0`` alone is fine). The digits are
    counted before they are summed: a sum past int64 would be undefined behaviour (numba marks it ``nsw``)."""
    start = i
    while i < size and 48 <= buf[i] <= 57:
        i += 1
    nd = i - start
    if nd == 0 or nd > max_digits or (nd > 1 and buf[start] == 48):
        return -1, i
    v = 0
    for j in range(start, i):
        v = v * 10 + (buf[j] - 48)
    return v, i


@njit(cache=True, _nrt=False)
def _scan_strict(buf: np.ndarray, time_first: bool, ncsv: int, out: np.ndarray) -> int:
    """Scan `ncsv` comma-separated columns per LF-terminated line into `out` (rows, k); returns the rows read,
    or -1 to decline. Integers: ``-?(0|[1-9][0-9]{0,17})`` (not ``-0``). With `time_first`, column 0 is
    ``(0|[1-9][0-9]{0,5})(.[0-9]+)?`` written as 4 columns: seconds, the first 9 fraction digits as ns (right-
    padded), 1 when the 10th digit is >= 5, 1 when there are more than 9 digits. The last line may lack its LF.
    """
    n = out.shape[0]
    size = buf.shape[0]
    i = 0
    row = 0
    while i < size:
        if row >= n:
            return -1
        col = 0
        for c in range(ncsv):
            if time_first and c == 0:
                v, i = _natural(buf, i, size, 6)
                if v < 0:
                    return -1
                ns = 0
                digits = 0
                up = 0
                if i < size and buf[i] == 46:
                    i += 1
                    while i < size and 48 <= buf[i] <= 57:
                        d = buf[i] - 48
                        if digits < 9:
                            ns = ns * 10 + d
                        elif digits == 9:
                            up = 1 if d >= 5 else 0
                        digits += 1
                        i += 1
                    if digits == 0:
                        return -1
                    for _ in range(digits, 9):
                        ns *= 10
                out[row, 0] = v
                out[row, 1] = ns
                out[row, 2] = up
                out[row, 3] = 1 if digits > 9 else 0
                col = 4
            else:
                neg = False
                if i < size and buf[i] == 45:
                    neg = True
                    i += 1
                v, i = _natural(buf, i, size, 18)
                if v < 0 or (neg and v == 0):
                    return -1
                out[row, col] = -v if neg else v
                col += 1
            if c < ncsv - 1:
                if i >= size or buf[i] != 44:
                    return -1
                i += 1
            elif i < size:
                if buf[i] != 10:
                    return -1
                i += 1
        row += 1
    return row


def _parse_strict(data: bytes, ncsv: int, time_first: bool) -> np.ndarray | None:
    """The int64 columns of a well-formed CSV (see `_scan_strict`), or None when the scanner declines."""
    if not data:
        return None
    n = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    out = np.empty((n, ncsv + 3 if time_first else ncsv), dtype=np.int64)
    rows = _scan_strict(np.frombuffer(data, dtype=np.uint8), time_first, ncsv, out)
    return out if rows == n else None


def _import_strict(msg: _Member, ob: _Member, levels: int, day: date
                   ) -> tuple[np.ndarray, dict[str, Any], np.ndarray] | None:
    """Events, facts and reference through the strict scanner; None (→ the reference path) when it declines
    or when any check fails, so that every error is raised by the reference path, word for word."""
    mcols = _parse_strict(msg.data, len(_MSG_COLS), True)
    if mcols is None:
        return None
    raw = _parse_strict(ob.data, 4 * levels, False)
    if raw is None or raw.shape[0] != mcols.shape[0]:
        return None
    try:
        events, facts = _events_from_columns(
            mcols[:, 4], mcols[:, 5], mcols[:, 6], mcols[:, 7], mcols[:, 8], msg,
            times=lambda: _times_from_parts(mcols[:, 0], mcols[:, 1], mcols[:, 2], int(mcols[:, 3].sum()), day,
                                            msg))
        reference = _reference_from_raw(raw, ob)
    except DataValidationError:
        return None
    return events, facts, reference


def _fail_at(mask: np.ndarray, msg: _Member, what: str, expected: str) -> None:
    """Raise for the first True in `mask` (a vectorised check's failures over the message rows), naming its line
    (1-based, as an editor shows it), the column `what` and its text as written."""
    if mask.any():
        row = int(np.argmax(mask))
        raise row_error(msg.origin, row + 1, what, expected, _written(msg.data, row, _MSG_COLS.index(what)))


def _utc_offsets_ns(day: date) -> np.ndarray:
    """UTC offset (ns) of America/New_York for each local wall-clock hour 0..24 of `day` (DST-correct)."""
    tz = ZoneInfo(TIMEZONE)
    base = datetime(day.year, day.month, day.day)
    out = np.empty(25, dtype=np.int64)
    for h in range(25):
        off = (base + timedelta(hours=h)).replace(tzinfo=tz).utcoffset()
        assert off is not None
        out[h] = int(off.total_seconds()) * 1_000_000_000
    return out


def _times_ns(time_col: pl.Series, day: date, msg: _Member) -> tuple[np.ndarray, int]:
    """Decimal seconds-after-midnight strings → int64 ns UTC, exactly. Returns (ns, rows rounded below 1 ns)."""
    import polars as pl

    bad = ~time_col.str.contains(_TIME_RE).to_numpy()
    _fail_at(bad, msg, "time", "seconds after midnight like 34200.123456789")
    parts = time_col.str.split_exact(".", 1).struct.rename_fields(["s", "f"]).struct.unnest()
    frac = parts.get_column("f").fill_null("")
    secs = parts.get_column("s").cast(pl.Int64).to_numpy()
    ns = frac.str.pad_end(9, "0").str.slice(0, 9).cast(pl.Int64).to_numpy()
    tenth = frac.str.slice(9, 1)
    round_up = (tenth >= "5").fill_null(False).to_numpy()
    subns = int((frac.str.len_chars() > 9).sum())
    return _times_from_parts(secs, ns, round_up, subns, day, msg)


def _times_from_parts(secs: np.ndarray, ns: np.ndarray, round_up: np.ndarray, subns: int, day: date,
                      msg: _Member) -> tuple[np.ndarray, int]:
    """Whole seconds, the first 9 fraction digits (ns), the half-up rounding of the 10th → int64 ns UTC."""
    _fail_at(secs >= 86_400, msg, "time", "less than 86400 seconds after midnight")
    local = secs * 1_000_000_000 + ns + round_up
    midnight = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo("UTC"))
    midnight_ns = int(midnight.timestamp()) * 1_000_000_000
    offsets = _utc_offsets_ns(day)
    return midnight_ns + local - offsets[secs // 3600], subns


def _build_events(df: pl.DataFrame, day: date, msg: _Member) -> tuple[np.ndarray, dict[str, Any]]:
    typ, oid, size, price, direction = (df.get_column(c).to_numpy() for c in _MSG_COLS[1:])
    return _events_from_columns(typ, oid, size, price, direction, msg,
                                times=lambda: _times_ns(df.get_column("time"), day, msg))


def _events_from_columns(typ: np.ndarray, oid: np.ndarray, size: np.ndarray, price: np.ndarray,
                         direction: np.ndarray, msg: _Member, *, times: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """Validate the integer message columns and build the events; `times()` gives (ns UTC, sub-ns rows). An error
    names the line of `msg` and the value as written there."""
    n = len(typ)
    _fail_at((typ < 1) | (typ > 7), msg, "type", "a message type 1..7")
    halt = typ == 7
    book = typ <= 4
    _fail_at(~np.isin(direction, (BUY, SELL)), msg, "direction", "1 (buy) or -1 (sell)")
    _fail_at(~halt & (size <= 0), msg, "size", "a positive size")
    _fail_at(halt & (size != 0), msg, "size", "0 for a halt message (type 7)")
    _fail_at(oid < 0, msg, "order_id", "a non-negative order id")
    _fail_at(~halt & (price <= 0), msg, "price", "a positive price")
    _fail_at(halt & ((price < -1) | (price > 1)), msg, "price", "-1, 0 or 1 for a halt message")
    off_tick = price % LOBSTER_PRICE_PER_TICK != 0
    _fail_at(book & off_tick, msg, "price", f"a multiple of {LOBSTER_PRICE_PER_TICK} (tick 0.01 USD = 100 price units)")

    ts, subns = times()
    backwards = np.concatenate(([False], np.diff(ts) < 0))  # flag the row that goes back, not its predecessor
    if backwards.any():
        row = int(np.argmax(backwards))
        _fail_at(backwards, msg, "time",
                 f"rows in time order (>= {_written(msg.data, row - 1, 0)}, the row before)")
    ticks = np.where(direction == SELL, -((-price) // LOBSTER_PRICE_PER_TICK), price // LOBSTER_PRICE_PER_TICK)
    ticks = np.where(halt, price, ticks)
    side = np.where(halt | (typ == 6), 0, direction)

    ev = np.zeros(n, dtype=EVENT_DTYPE)  # zeros: padding bytes are deterministic too
    ev["exch_ts"] = ts
    ev["local_ts"] = ts
    ev["price"] = ticks
    ev["qty"] = size
    ev["order_id"] = oid
    ev["seq"] = np.arange(n, dtype=np.int64)
    ev["kind"] = _KIND_OF_TYPE[typ]
    ev["side"] = side
    ev["flags"] = FLAG_EOM
    ev.flags.writeable = False
    counts = np.bincount(typ, minlength=8)
    facts = {"counts_by_type": {str(t): int(counts[t]) for t in range(1, 8) if counts[t]},
             "subtick_prices": int((off_tick & ~halt).sum()), "subns_times": subns}
    return ev, facts


@njit(cache=True, _nrt=False)
def _convert_reference(raw: np.ndarray, out: np.ndarray) -> int:
    """LOBSTER orderbook values → ticks / sizes with (NO_PRICE, 0) for empty levels, validating each cell.

    Returns -1, or the flat (row-major) index of the first bad cell: a size that is negative, non-zero at an
    empty level or not positive at an occupied one, or a price that is not a positive multiple of 100.
    """
    n, m = raw.shape
    for i in range(n):
        for j in range(0, m, 2):
            p = raw[i, j]
            q = raw[i, j + 1]
            if p == LOBSTER_EMPTY_PRICE or p == -LOBSTER_EMPTY_PRICE:
                if q != 0:
                    return i * m + j + 1
                out[i, j] = NO_PRICE
                out[i, j + 1] = 0
            else:
                if q <= 0:
                    return i * m + j + 1
                if p <= 0 or p % LOBSTER_PRICE_PER_TICK != 0:
                    return i * m + j
                out[i, j] = p // LOBSTER_PRICE_PER_TICK
                out[i, j + 1] = q
    return -1


def _build_reference(df: pl.DataFrame, levels: int, ob: _Member) -> np.ndarray:
    return _reference_from_raw(df.to_numpy(), ob)


def _reference_from_raw(raw: np.ndarray, ob: _Member) -> np.ndarray:
    ref = np.empty(raw.shape, dtype=np.int64)  # C order: the verifier reads one row per message
    if _convert_reference(raw, ref) >= 0:
        _locate_bad_reference(raw, ob)
    ref.flags.writeable = False
    return ref


def _locate_bad_reference(raw: np.ndarray, ob: _Member) -> None:
    """Slow path: raise for the first bad orderbook cell (row-major order), naming line, column and its text."""
    px, sz = raw[:, 0::2], raw[:, 1::2]
    empty = np.abs(px) == LOBSTER_EMPTY_PRICE
    checks = (
        ("size", np.where(empty, sz != 0, sz <= 0), "a positive size (0 only at an empty ±9999999999 level)"),
        ("price", ~empty & ((px <= 0) | (px % LOBSTER_PRICE_PER_TICK != 0)),
         f"a positive multiple of {LOBSTER_PRICE_PER_TICK} or ±{LOBSTER_EMPTY_PRICE}"),
    )
    first = min((int(np.argmax(mask.ravel())), name, mask, expected)
                for name, mask, expected in checks if mask.any())
    flat, name, _mask, expected = first
    row, col = divmod(flat, px.shape[1])
    column = 2 * col + (1 if name == "size" else 0)
    raise row_error(ob.origin, row + 1, column_name(raw.shape[1], column), expected,
                    _written(ob.data, row, column))


def import_lobster(source: str | Path, orderbook: str | Path | None = None) -> LobsterData:
    """Import a LOBSTER zip, or a message CSV (+ its orderbook CSV), into events and a reference book.

    Args:
        source: a LOBSTER zip, or a ``*_message_<L>.csv`` file.
        orderbook: the orderbook CSV when it does not sit beside the message file under its LOBSTER name.

    Raises:
        DataValidationError: naming the file, line, expected and found value for any malformed input.
    """
    from hft.core.selftest import ensure  # lazy: keeps the self-test out of the kernels' cache key
    ensure("lobster")  # the import and verify kernels answered right on this CPU target
    source = Path(source)
    msg, ob, _ = _resolve(source, Path(orderbook) if orderbook is not None else None)
    m = _parse_name(msg.name, msg.origin, "message")
    mo = _parse_name(ob.name, ob.origin, "orderbook")
    levels = int(m.group("levels"))
    if int(mo.group("levels")) != levels or levels < 1:
        raise DataValidationError(f"{ob.origin}: expected an orderbook of {levels} levels (from {msg.name}), "
                                  f"found {mo.group('levels')}", file=ob.origin)
    try:
        day = date.fromisoformat(m.group("date"))
    except ValueError:
        raise DataValidationError(f"{msg.origin}: expected a calendar date in the file name, found "
                                  f"{m.group('date')!r}", file=msg.origin) from None

    fast = _import_strict(msg, ob, levels, day)
    if fast is not None:
        events, facts, reference = fast
    else:  # the reference path: it decides on everything the strict scanner declined, and raises the errors
        import polars as pl

        mdf = _read_csv(msg, _msg_schema())
        events, facts = _build_events(mdf, day, msg)
        ob_schema = {f"{c}_{lv}": pl.Int64 for lv in range(1, levels + 1)
                     for c in ("ask_px", "ask_sz", "bid_px", "bid_sz")}
        odf = _read_csv(ob, ob_schema)
        if odf.height != mdf.height:
            raise DataValidationError(
                f"{row_place(ob.origin, min(odf.height, mdf.height) + 1)}: expected {mdf.height} orderbook rows (one per "
                f"message in {msg.name}), found {odf.height}", file=ob.origin,
                line=min(odf.height, mdf.height) + 1, expected=mdf.height, found=odf.height)
        reference = _build_reference(odf, levels, ob)

    meta: dict[str, Any] = {
        "format": "lobster",
        "source": str(source),
        "files": [msg.name, ob.name],
        "sha256": {msg.name: hashlib.sha256(msg.data).hexdigest(), ob.name: hashlib.sha256(ob.data).hexdigest()},
        "ticker": m.group("ticker"),
        "date": day.isoformat(),
        "levels": levels,
        "messages": len(events),
        **facts,
    }
    return LobsterData(events, lobster_instrument(m.group("ticker")), reference, levels, meta,
                       (msg.origin, ob.origin))


# ------------------------------------------------------------------------------------------------- files


def _ref_hash(ref: np.ndarray) -> str:
    """Digest (``xh64:`` + 16 hex) of the reference rows (int64, row-major), as `events_io.content_hash`."""
    # lazy: numba kernels, loaded only when a digest is computed
    from hft.data._eventcheck import digest_words

    words = np.ascontiguousarray(ref, dtype=np.int64).reshape(-1).view(np.uint64)
    return f"xh64:{int(digest_words(words, np.uint64(len(ref)))):016x}"


def ref_sidecar_path(events_path: str | Path) -> Path:
    """``x.parquet`` → ``x.ref.parquet`` (the reference book beside an imported event file)."""
    p = Path(events_path)
    return p.with_name(f"{p.stem}.ref.parquet")


def _ref_columns(levels: int) -> list[str]:
    return [f"{c}_{lv}" for lv in range(1, levels + 1) for c in ("ask_px", "ask_sz", "bid_px", "bid_sz")]


def write_lobster_import(data: LobsterData, out_path: str | Path) -> tuple[Path, Path]:
    """Write the events Parquet and its ``.ref.parquet`` sidecar; both or neither. Returns both paths.

    Raises:
        DataValidationError: when the output location is not writable (nothing is left behind).
    """
    import polars as pl

    from hft.data.events_io import write_events  # lazy: polars, only when an import is written

    out_path = Path(out_path)
    ref_path = ref_sidecar_path(out_path)
    frame = pl.DataFrame({name: np.ascontiguousarray(data.reference[:, i])
                          for i, name in enumerate(_ref_columns(data.levels))})
    from hft.data.events_io import content_hash  # lazy: polars, only when an import is written

    # the sidecar carries its own digest and the events' digest: a garbage or foreign sidecar is refused on load
    ref_meta = {_KEY_LEVELS: str(data.levels), _KEY_REF_HASH: _ref_hash(data.reference),
                _KEY_EVENTS_HASH: content_hash(data.events)}
    events_written = False
    try:
        with atomic_path(ref_path) as tmp_ref:  # the sidecar is renamed into place only if the events landed
            frame.write_parquet(tmp_ref, compression="zstd", metadata=ref_meta)
            write_events(out_path, data.events, data.instrument, data.meta)
            events_written = True
    except BaseException as exc:
        if events_written:  # the sidecar rename failed after the events file was renamed: take it back
            with contextlib.suppress(FileNotFoundError):
                out_path.unlink()
        if isinstance(exc, DataValidationError):
            raise
        if isinstance(exc, DataError | OSError):
            reason = exc.message if isinstance(exc, DataError) else str(exc.strerror)
            raise DataValidationError(f"{out_path}: expected a writable output location: {reason}",
                                      file=str(out_path), expected="writable directory", found=reason) from None
        raise
    return out_path, ref_path


def load_lobster_import(path: str | Path) -> LobsterData:
    """Read an event file written by `write_lobster_import` and its ``.ref.parquet`` sidecar."""
    import polars as pl

    from hft.data.events_io import load_events  # lazy: polars, only when an import is loaded

    path = Path(path)
    ef = load_events(path)
    ref_path = ref_sidecar_path(path)
    if not ref_path.is_file():
        raise DataValidationError(f"{path}: expected the reference book sidecar {ref_path}, none exists",
                                  file=str(path), expected=str(ref_path), found="missing")
    try:
        kv = pl.read_parquet_metadata(ref_path)
        levels = int(kv[_KEY_LEVELS])
        if not 1 <= levels <= MAX_LEVELS:
            raise ValueError(f"levels {levels} outside 1..{MAX_LEVELS}")
        frame = pl.read_parquet(ref_path)
    except Exception as exc:  # polars raises several error types for non-parquet input
        raise DataValidationError(f"{ref_path}: expected a LOBSTER reference Parquet ({exc.__class__.__name__})",
                                  file=str(ref_path)) from None
    cols = _ref_columns(levels)
    if frame.columns != cols or frame.height != len(ef.events):
        raise DataValidationError(
            f"{ref_path}: expected {len(ef.events)} rows of columns {cols[:4]}…, found {frame.height} rows "
            f"of {frame.columns[:4]}…", file=str(ref_path))
    bad = [f"{c}: {t}" for c, t in frame.schema.items() if str(t) != "Int64"]
    if bad:
        raise DataValidationError(f"{ref_path}: expected Int64 reference columns, was {bad[0]}", file=str(ref_path))
    ref = np.ascontiguousarray(frame.to_numpy().astype(np.int64, copy=False))
    # the events' digest was verified against their data by load_events: compare the one the sidecar records
    ev_hash = pl.read_parquet_metadata(path).get("hft.content_hash")
    with_digests = ev_hash is not None or _KEY_REF_HASH in kv  # files written with digests: both must match
    if with_digests and (kv.get(_KEY_EVENTS_HASH) != ev_hash or kv.get(_KEY_REF_HASH) != _ref_hash(ref)):
            raise DataValidationError(f"{ref_path}: expected the reference book written with {path.name} (its "
                                      "content hash, or the events' hash it records, does not match)",
                                      file=str(ref_path), hint="re-import the raw LOBSTER zip")
    ref.flags.writeable = False
    return LobsterData(ef.events, ef.instrument, ref, levels, ef.meta, (str(path), str(ref_path)))
