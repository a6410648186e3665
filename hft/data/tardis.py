"""Tardis.dev CSV importer (``incremental_book_L2``, ``trades``, ``book_snapshot_N``, ``quotes``) → L2 events.

The documented CSV datasets (https://docs.tardis.dev/downloadable-csv-files), plain or ``.csv.gz``; every file
starts with ``exchange,symbol,timestamp,local_timestamp`` (microseconds since the epoch, UTC: ``timestamp`` is
the exchange's, ``local_timestamp`` the collector's receive time). Which dataset a file holds is read from
its header:

* ``incremental_book_L2`` — ``is_snapshot,side,price,amount``: one row per level update (``amount`` = the new
  total, 0 removes the level). Rows of one message share ``timestamp`` and ``local_timestamp``. A run of
  ``is_snapshot=true`` rows is a full snapshot: EV_CLEAR then EV_SNAPSHOT_LEVEL per row; other rows are
  EV_LEVEL_SET. FLAG_EOM ends each message.
* ``trades`` — ``id,side,price,amount``: EV_TRADE, side = the aggressor (``buy`` / ``sell``; ``unknown`` → 0);
  a numeric ``id`` is the trade id (``order_id``), else the row number.
* ``book_snapshot_N`` — ``asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,…`` up to N-1: each row is
  a top-N snapshot, replayed as its change from the row before (`hft.data._gather.snapshot_diffs`): the file's
  first row EV_CLEAR, then a EV_SNAPSHOT_LEVEL per non-empty level; every later row an EV_LEVEL_SET of 0 per
  price that left the top N, then one per price new or resized; FLAG_EOM on a row's last event (a row that
  changes nothing is one informational EV_TICKER, so that every row stays one message). After each row the book
  is that row's top N, as a clear and a full snapshot would leave it.
* ``quotes`` — ``ask_amount,ask_price,bid_price,bid_amount``: a top-1 snapshot per row, as above.

Several files of one exchange and symbol (e.g. a book file and a trades file, the "pair") import as one stream
ordered by local time; at equal local time trades go first (as hftbacktest's converter does: the depth update a
trade causes must not move our queue a second time).

Several days: Tardis files are daily (UTC), and each ``incremental_book_L2`` file starts with a snapshot of the
book. The files of consecutive days (book files, and optionally the trades files of the same days) are one
continuous stream, in time order whatever order they are given in. Tardis's rule for a snapshot row that follows a
row that is not one (reset the book: "a connection restart … or the start of a new day") is the rule above: the
next day's snapshot is one message, EV_CLEAR and its levels, and after it the book is that snapshot. A file's day
is the UTC day of its first ``local_timestamp``; `_check_chain` refuses, naming the file, two book (or two trades)
files of one day, a file whose rows start before the previous day's file ends, a missing day between two files,
book and trades files of different days, and a second exchange or symbol.

Ticks and lots: the fewest decimals that hold every price and amount exactly (`hft.data._convert`). Instrument:
``symbol`` and ``exchange`` columns, currency the symbol's quote asset (``SOLUSDT``: USDT; a guess, said, when it
names none: `hft.data._convert.currency_of`). A bad value (a negative amount, a ``local_timestamp`` before the row
above it among them) is a one-line error naming file, row (the line number, header = line 1), field and the value
as written.
"""

from __future__ import annotations

import builtins
import contextlib
import gzip
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.dtypes import BUY, EV_LEVEL_SET, EV_SNAPSHOT_LEVEL, EV_TRADE, SELL
from hft.core.errors import DataValidationError
from hft.core.instrument import Instrument
from hft.data._convert import (
    Locate,
    currency_of,
    decimals_needed,
    freeze,
    merge_order,
    message_ends,
    place,
    row_error,
    scale_str,
    to_units,
)
from hft.data._gather import gather_events, snapshot_diffs
from hft.data.formats import archive_damage

HEADER = ["exchange", "symbol", "timestamp", "local_timestamp"]
DATASETS = {
    "incremental_book_L2": ["is_snapshot", "side", "price", "amount"],
    "trades": ["id", "side", "price", "amount"],
    "quotes": ["ask_amount", "ask_price", "bid_price", "bid_amount"],
}


class _Part:
    """One file read into raw columns (prices and sizes still float) before units are known: a value per event,
    but for the book clears that `clear` puts before rows (`gather_events`)."""

    def __init__(self, path: Path, dataset: str, n: int, exch: np.ndarray, local: np.ndarray, kind: np.ndarray,
                 side: np.ndarray, price: np.ndarray, qty: np.ndarray, oid: np.ndarray, seq: np.ndarray,
                 ends: np.ndarray, clear: np.ndarray, symbols: set[str], exchanges: set[str]) -> None:
        self.path, self.dataset, self.n = path, dataset, n
        self.exch, self.local, self.kind, self.side, self.price, self.qty = exch, local, kind, side, price, qty
        self.oid, self.seq, self.ends, self.clear = oid, seq, ends, clear
        self.symbols, self.exchanges = symbols, exchanges


_INT_COLUMNS = ("timestamp", "local_timestamp")
_FLOAT_COLUMNS = ("price", "amount", "ask_amount", "ask_price", "bid_price", "bid_amount")


# the coded text columns of each dataset: text -> code, every value the importer accepts (read as enums)
_ENUMS: dict[str, dict[str, dict[str, int]]] = {
    "incremental_book_L2": {"is_snapshot": {"false": 0, "true": 1}, "side": {"bid": BUY, "ask": SELL}},
    "trades": {"side": {"buy": BUY, "sell": SELL, "unknown": 0}},
}


class _Reparse(Exception):
    """A typed column holds a value the importer refuses: read the file again as text to name it (`_read`)."""


def read_frame(path: Path, *, typed: bool = False) -> Any:
    """The CSV as a polars frame of strings (no inference: every value is checked by `_num` with its row). With
    `typed`, the timestamp, price and amount columns are parsed by polars and the coded text columns (`_ENUMS`)
    read as enums (no text columns to cast or compare); a value that does not parse then reads the file as
    strings (so `_num` / `_codes` name its row and text)."""
    import polars as pl

    try:
        data: Any = path
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as g:
                data = g.read()
        if typed:
            if isinstance(data, bytes):
                head = data[:data.find(b"\n")]
            else:
                with builtins.open(path, "rb") as f:
                    head = f.readline()
            names = head.decode("utf-8", "replace").strip().split(",")
            types: dict[str, Any] = {c: pl.Int64 for c in names if c in _INT_COLUMNS}
            types.update({c: pl.Float64 for c in names
                          if c in _FLOAT_COLUMNS or c.endswith("].price") or c.endswith("].amount")})
            with contextlib.suppress(DataValidationError):  # not a known dataset: the text read says so
                types.update({c: pl.Enum(list(m)) for c, m in _ENUMS.get(dataset_of(path, names), {}).items()})
            with contextlib.suppress(pl.exceptions.ComputeError):
                return pl.read_csv(data, infer_schema=False, schema_overrides=types)
        return pl.read_csv(data, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, OSError, EOFError) as exc:
        damaged = archive_damage(path, exc) if isinstance(exc, OSError | EOFError) else None  # a .gz cut short
        raise DataValidationError(damaged or f"{path}: expected a CSV file ({str(exc).splitlines()[0][:160]})",
                                  file=str(path)) from None


def dataset_of(path: Path, columns: list[str]) -> str:
    """Which Tardis dataset a header belongs to."""
    if columns[:4] != HEADER:
        raise DataValidationError(f"{path}: row 1: expected the Tardis header {','.join(HEADER)},…; was "
                                  f"{','.join(columns[:4])}", file=str(path), line=1)
    rest = columns[4:]
    for name, cols in DATASETS.items():
        if rest[: len(cols)] == cols:
            return name
    if rest[:4] == ["asks[0].price", "asks[0].amount", "bids[0].price", "bids[0].amount"]:
        return "book_snapshot"
    raise DataValidationError(f"{path}: row 1: expected the columns of incremental_book_L2, trades, "
                              f"book_snapshot_N or quotes after '{HEADER[-1]}', was {','.join(rest[:4])}",
                              file=str(path), line=1)


def _num(df: Any, col: str, path: Path, *, integer: bool, required: bool = True,
         quantity: bool = False) -> np.ndarray:
    """A column as int64 / float64; a bad value (or a missing required one; with `quantity` a negative one) names
    its row and field, the value as the file writes it."""
    import polars as pl

    raw = df.get_column(col)
    dtype = pl.Int64 if integer else pl.Float64
    if raw.dtype == dtype:  # parsed by `read_frame`: checked in numpy (a refused value: `_Reparse` names it)
        nulls = raw.null_count()
        if required and nulls:
            raise _Reparse
        out = raw.to_numpy() if not nulls else raw.fill_null(np.nan).to_numpy()
        if not integer and int(np.count_nonzero(~np.isfinite(out))) != nulls:  # a NaN or infinity, not a blank
            raise _Reparse
        if quantity and bool((out < 0).any()):
            raise _Reparse
        return out
    val = raw.cast(dtype, strict=False)
    bad = val.is_null() & raw.is_not_null() if not required else val.is_null()
    if not integer:
        bad = bad | (val.is_nan().fill_null(False)) | val.is_infinite().fill_null(False)
    if bad.any():
        i = int(bad.arg_max())
        raise row_error(path, i + 2, col, "an integer" if integer else "a number", raw[i])
    if quantity:
        neg = (val < 0).fill_null(False)
        if neg.any():
            i = int(neg.arg_max())
            raise row_error(path, i + 2, col, "a quantity >= 0", raw[i])
    return val.to_numpy() if required else val.fill_null(np.nan).to_numpy()


def _in_time_order(df: Any, col: str, values: np.ndarray, path: Path) -> None:
    """Rows in time order (`col` never goes back): else the first row that does, named with the value written."""
    back = np.flatnonzero(values[1:] < values[:-1])
    if len(back):
        i = int(back[0]) + 1
        raw = df.get_column(col)
        raise row_error(path, i + 2, col, f"rows in time order (>= {raw[i - 1]}, the row before)", str(raw[i]))


def _codes(df: Any, col: str, path: Path, mapping: dict[str, int], expected: str = "") -> np.ndarray:
    """A text column's values as codes (`mapping`: its only values, in `_ENUMS`); another value names its row and
    field. An enum column (`read_frame`'s typed read) maps its physical codes; a text one compares once per
    value."""
    import polars as pl

    raw = df.get_column(col)
    if isinstance(raw.dtype, pl.Enum):
        if raw.null_count():
            raise _Reparse
        return np.array(list(mapping.values()), np.int64)[raw.to_physical().to_numpy()]
    out = np.zeros(len(raw), np.int64)
    seen = np.zeros(len(raw), bool)
    for text, code in mapping.items():
        hit = (raw == text).fill_null(False).to_numpy()
        out[hit] = code
        seen |= hit
    if not seen.all():
        i = int(np.argmin(seen))
        raise row_error(path, i + 2, col, expected or f"one of {sorted(mapping)}", raw[i])
    return out


def _names(df: Any, col: str) -> set[str]:
    """The distinct non-empty values of a text column (one comparison when every row has the first's)."""
    s = df.get_column(col)
    if len(s) and s[0] is not None and bool((s == s[0]).all()):
        return {s[0]}
    return set(s.unique().drop_nulls().to_list())


def _read(path: Path) -> _Part:
    try:
        return _read_frame(path, read_frame(path, typed=True))
    except _Reparse:  # a refused value in a parsed column: the text names it
        return _read_frame(path, read_frame(path))


def _read_frame(path: Path, df: Any) -> _Part:
    ds = dataset_of(path, df.columns)
    n = df.height
    ts = _num(df, "timestamp", path, integer=True) * 1000
    lts = _num(df, "local_timestamp", path, integer=True) * 1000
    _in_time_order(df, "local_timestamp", lts, path)  # each file in order: a merge must not hide a step back
    symbols, exchanges = _names(df, "symbol"), _names(df, "exchange")
    rows = np.arange(n, dtype=np.int64) + 2  # the line number: the header is line 1
    if ds == "incremental_book_L2":
        codes = _ENUMS[ds]
        snap = _codes(df, "is_snapshot", path, codes["is_snapshot"], "true or false").astype(bool)
        side = _codes(df, "side", path, codes["side"]).astype(np.int8)
        price, qty = _num(df, "price", path, integer=False), _num(df, "amount", path, integer=False, quantity=True)
        ends = message_ends(ts, lts, snap)
        prev_snap = np.concatenate([[False], snap[:-1]])
        same_msg = np.concatenate([[False], ~ends[:-1]])
        clear = snap & ~(prev_snap & same_msg)  # the first row of each snapshot: a CLEAR goes before it
        kind = np.where(snap, EV_SNAPSHOT_LEVEL, EV_LEVEL_SET).astype(np.uint8)
        return _Part(path, ds, n, ts, lts, kind, side, price, qty, np.zeros(n, np.int64), rows, ends, clear,
                     symbols, exchanges)
    if ds == "trades":
        side = _codes(df, "side", path, _ENUMS[ds]["side"]).astype(np.int8)
        price, qty = _num(df, "price", path, integer=False), _num(df, "amount", path, integer=False, quantity=True)
        import polars as pl

        tid_s = df.get_column("id").cast(pl.Int64, strict=False)  # ids may be text (UUIDs): then the row
        tid = np.where(tid_s.is_null().to_numpy(), rows, tid_s.fill_null(0).to_numpy()).astype(np.int64)
        return _Part(path, ds, n, ts, lts, np.full(n, EV_TRADE, np.uint8), side, price, qty, tid, rows,
                     np.ones(n, bool), np.zeros(n, bool), symbols, exchanges)
    # top-N snapshots (book_snapshot_N, quotes): each row's change from the row before (`snapshot_diffs`)
    if ds == "quotes":
        cols = [("bid_price", "bid_amount", BUY), ("ask_price", "ask_amount", SELL)]
    else:
        depth = sum(1 for c in df.columns if c.startswith("asks[") and c.endswith("].price"))
        cols = [(f"{s}[{k}].price", f"{s}[{k}].amount", BUY if s == "bids" else SELL)
                for k in range(depth) for s in ("bids", "asks")]
    px = _wide(df, [c for c, _, _ in cols], path)
    qy = _wide(df, [c for _, c, _ in cols], path, quantity=True)
    none = np.zeros(n)  # no trade rows in these files
    exch, local, kind, side, price, qty, seq, ends = snapshot_diffs(
        ts, lts, rows, px, qy, np.array([s for _, _, s in cols], np.int8), none.astype(np.bool_),
        none.astype(np.int64), none, none)
    m = len(kind)
    return _Part(path, ds, m, exch, local, kind, side, price, qty, np.zeros(m, np.int64), seq, ends,
                 np.zeros(m, bool), symbols, exchanges)


def _wide(df: Any, cols: list[str], path: Path, *, quantity: bool = False) -> np.ndarray:
    """Optional number columns as one float64 (rows, columns) array, blanks as NaN (`_num` per column; with
    `quantity` none negative)."""
    import polars as pl

    sub = df.select(cols)
    if any(t != pl.Float64 for t in sub.dtypes):  # read as text: each column checked and named by `_num`
        return np.stack([_num(df, c, path, integer=False, required=False, quantity=quantity) for c in cols], axis=1)
    out = sub.to_numpy(order="c")
    if (np.count_nonzero(~np.isfinite(out), axis=0) != np.array(sub.null_count().row(0))).any():
        raise _Reparse  # a NaN or infinity, not a blank: the text read names it
    if quantity and bool((out < 0).any()):
        raise _Reparse  # a negative amount: the text read names it as written
    return out


def _day(local_ns: int) -> np.datetime64:
    """The UTC day of a local time (ns)."""
    return np.datetime64(local_ns, "ns").astype("datetime64[D]")


def _check_chain(parts: list[_Part]) -> None:
    """The files make one chain (module docstring, "Several days"): one exchange and one symbol, each role's files
    (book, trades) a day apiece, on consecutive days, none overlapping another in time, and both roles of the same
    days; else a one-line DataValidationError naming the file that breaks it. Files with no rows say nothing."""
    full = [p for p in parts if p.n and p.symbols]
    if not full:
        return  # no rows at all: `import_tardis` says there is no symbol
    first = full[0]
    for what, attr in (("symbol", "symbols"), ("exchange", "exchanges")):
        want = getattr(first, attr)
        for p in full:
            got = getattr(p, attr)
            if len(got) != 1 or got != want:
                like = "" if p is first else f" ({next(iter(want))}, as in {first.path.name})"
                raise DataValidationError(f"{p.path}: expected one {what} across the Tardis files{like}, was "
                                          f"{sorted(got)}", file=str(p.path), field=what)
    days: dict[str, dict[np.datetime64, _Part]] = {}
    for role in ("book", "trades"):
        chain = sorted((p for p in full if (p.dataset == "trades") == (role == "trades")),
                       key=lambda p: int(p.local[0]))
        for a, b in pairwise(chain):
            da, db = _day(int(a.local[0])), _day(int(b.local[0]))
            if db == da:
                raise DataValidationError(f"{b.path}: expected one {role} file a day (a chain of daily Tardis "
                                          f"files), {a.path.name} is of {da} too", file=str(b.path))
            if int(b.local[0]) < int(a.local[-1]):
                raise DataValidationError(
                    f"{b.path}: expected the {role} file of a day after {a.path.name} (a chain of daily Tardis "
                    f"files), its first row ({_iso(int(b.local[0]))}) is before that file's last "
                    f"({_iso(int(a.local[-1]))})", file=str(b.path))
            if db > da + 1:
                missing = int((db - da).astype(int)) - 1
                raise DataValidationError(
                    f"{b.path}: expected the {role} file of {da + 1}, the day after {a.path.name} (a chain of daily "
                    f"Tardis files has no gap), was of {db}: {missing} day{'s' if missing > 1 else ''} missing",
                    file=str(b.path))
        if chain:
            days[role] = {_day(int(p.local[0])): p for p in chain}
    if len(days) == 2 and set(days["book"]) != set(days["trades"]):
        role, other = ("trades", "book") if set(days["trades"]) - set(days["book"]) else ("book", "trades")
        day = min(set(days[role]) - set(days[other]))
        raise DataValidationError(
            f"{days[role][day].path}: the {role} file of {day}, expected a {other} file of that day too (the "
            f"{other} files are of {', '.join(str(d) for d in sorted(days[other]))})", file=str(days[role][day].path))


def _iso(ns: int) -> str:
    return str(np.datetime64(ns, "ns").astype("datetime64[us]")) + "Z"


def import_tardis(paths: list[Path], *, origins: bool = False) -> tuple[np.ndarray, Instrument, dict[str, Any],
                                                                        Locate | None]:
    """Read Tardis CSV files of one exchange and symbol into one event stream (module docstring: several days chain
    into one); with `origins`, the events' `Locate` (an event's seq is its line; which file, of several, is laid
    out beside the events), else None."""
    parts = [_read(Path(p)) for p in paths]
    _check_chain(parts)
    symbols = set().union(*(p.symbols for p in parts))
    if len(symbols) != 1:
        raise DataValidationError(f"{paths[0]}: expected one symbol across the Tardis files, was {sorted(symbols)}",
                                  file=str(paths[0]), field="symbol")
    def col(name: str) -> np.ndarray:  # the files' column, one after another
        return getattr(parts[0], name) if len(parts) == 1 else np.concatenate([getattr(p, name) for p in parts])

    price, qty = col("price"), col("qty")  # a snapshot file's clear rows hold 0: no decimals
    tick = scale_str(decimals_needed(price, what="price", file=paths[0]))
    lot = scale_str(decimals_needed(qty, what="amount", file=paths[0]))
    order = merge_order([p.local for p in parts], [0 if p.dataset == "trades" else 1 for p in parts])
    ev = gather_events(order, clear=col("clear"), exch_ts=col("exch"), local_ts=col("local"),
                       price=to_units(price, tick), qty=to_units(qty, lot), order_id=col("oid"), seq=col("seq"),
                       kind=col("kind"), side=col("side"), eom=col("ends"))
    part = None
    if origins and len(parts) > 1:  # each event's file: its row's, laid out as `gather_events` lays the rows out
        part = np.repeat(np.repeat(np.arange(len(parts), dtype=np.int32), [p.n for p in parts])[order],
                         1 + col("clear")[order])
    symbol = symbols.pop()
    exch = sorted(set().union(*(p.exchanges for p in parts)))
    currency, guessed = currency_of(symbol, paths[0].name)
    inst = Instrument(symbol=symbol.upper(), venue=("TARDIS_" + "_".join(exch)).upper(), tick_size=tick,
                      lot_size=lot, currency=currency, book_level="L2")
    meta = {"source": "tardis", "files": [str(p) for p in paths], "datasets": [p.dataset for p in parts],
            "gaps": 0, **({"notices": [guessed]} if guessed else {})}
    ev = freeze(ev)
    origin = (lambda k: place(paths[0 if part is None else int(part[k])], int(ev["seq"][k]))) if origins else None
    return ev, inst, meta, origin


def open(paths: list[Path], opts: Any) -> Any:
    """The `tardis` format's opener (`hft.data.formats`)."""
    from hft.data.sources import MarketData  # lazy: cycle (sources -> the format registry -> this module)

    ev, inst, meta, origin = import_tardis(paths, origins=opts.origins)
    return MarketData("tardis", ev, inst, meta, origin=origin)
