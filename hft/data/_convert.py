"""Shared steps of the vendor importers: decimal scales, exact units, message ends, one-line row errors.

Vendors that write prices and sizes as decimal text or floats (Tardis.dev, hftbacktest, generic tables) carry no
tick or lot size; `decimals_needed` finds the fewest decimal places that represent every value exactly, which
gives a tick (lot) of ``10**-d`` — exact integers, possibly finer than the venue's real tick (harmless: prices
stay exact). A generic table states its tick and lot in its mapping instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.dtypes import EVENT_DTYPE, FLAG_EOM
from hft.core.errors import DataValidationError
from hft.core.units import iso_time  # noqa: F401  (the importers' time writer lives in hft.core)

MAX_DECIMALS = 9

# where event row k (0-based) of an opened stream was read from: its `place` in the input files
Locate = Callable[[int], dict[str, Any]]


def decimals_needed(values: np.ndarray, *, what: str, file: str | Path) -> int:
    """The fewest decimal places d (<= 9) with every finite value x exactly ``round(x * 10**d) / 10**d`` (within
    1e-6 of a unit, relatively 1e-15 for large values), the values taken as float64; one compiled pass
    (`hft.data._gather.least_decimals`)."""
    from hft.data._gather import least_decimals  # lazy: numba, once an importer needs it

    values = np.ascontiguousarray(values, np.float64)
    d = least_decimals(values, MAX_DECIMALS)
    if d >= 0:
        return d
    v = np.abs(values[np.isfinite(values)])
    raise DataValidationError(f"{file}: {what}: expected decimals with at most {MAX_DECIMALS} places, was e.g. "
                              f"{float(v.max())!r}", file=str(file), field=what)


def scale_str(d: int) -> str:
    """``10**-d`` as an exact decimal string ("1", "0.01" …)."""
    return "1" if d == 0 else "0." + "0" * (d - 1) + "1"


def to_units(values: np.ndarray, unit: str) -> np.ndarray:
    """Decimal values (float) → int64 multiples of `unit` (a decimal string), rounded to the nearest unit."""
    from decimal import Decimal

    inv = 1 / Decimal(unit)
    if inv == int(inv):
        return np.rint(values * float(int(inv))).astype(np.int64)
    return np.rint(values / float(Decimal(unit))).astype(np.int64)


def not_multiple(values: np.ndarray, unit: str) -> int:
    """Index of the first value that is not a multiple of `unit` (-1: all are)."""
    from decimal import Decimal

    x = values / float(Decimal(unit))
    bad = np.flatnonzero(np.isfinite(x) & (np.abs(x - np.rint(x)) > 1e-6 * np.maximum(1.0, np.abs(x) * 1e-9)))
    return int(bad[0]) if len(bad) else -1


def message_ends(*keys: np.ndarray) -> np.ndarray:
    """True at the last row of each run of consecutive rows with equal keys (a vendor message)."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, bool)
    diff = np.zeros(n, bool)
    for k in keys:
        diff[:-1] |= k[1:] != k[:-1]
    diff[-1] = True
    return diff


def make_events(n: int, **cols: Any) -> np.ndarray:
    """A zeroed `EVENT_DTYPE` array of `n` rows with the given columns set (scalars broadcast)."""
    out = np.zeros(n, dtype=EVENT_DTYPE)
    for k, v in cols.items():
        out[k] = v
    return out


def with_eom(flags: np.ndarray, ends: np.ndarray) -> np.ndarray:
    return (flags | np.where(ends, FLAG_EOM, 0)).astype(np.uint8)


def row_place(file: str | Path, row: int, *, unit: str = "row", offset: int | None = None) -> str:
    """Where a row is, as a person finds it: ``"<file>: row 12"`` (a text file's line, 1-based, as an editor shows
    it) or ``"<file>: record 12 (byte 4168)"`` (a binary file's record, 1-based, and its byte offset in the
    decompressed stream)."""
    return f"{file}: {unit} {row}" + (f" (byte {offset})" if offset is not None else "")


def place(file: str | Path, row: int, *, unit: str = "row", offset: int | None = None) -> dict[str, Any]:
    """A row's place as result fields, named as `row_error` names them: ``file``, ``line`` (or ``record`` and
    ``offset``) and ``message`` (`row_place`)."""
    return {"file": str(file), ("line" if unit == "row" else unit): row,
            **({"offset": offset} if offset is not None else {}),
            "message": row_place(file, row, unit=unit, offset=offset)}


def was(value: Any) -> str:
    """How an error states the value it found: ``was '1.5'`` as written; a blank field (``""``) ``was empty``; no
    value at all (``None``: a CSV reader's null, an empty or a missing trailing field of a cut row, which readers do
    not tell apart) ``was empty or missing`` — never Python's ``None``."""
    if value is None:
        return "was empty or missing"
    if isinstance(value, str) and not value.strip():
        return "was empty"
    return f"was {value!r}"


def row_error(file: str | Path, row: int, field: str, expected: str, value: Any, *, unit: str = "row",
              offset: int | None = None) -> DataValidationError:
    """The one-line error of a bad value: file, row (1-based, as a person counts lines; `unit` ``"record"`` and its
    byte `offset` in a binary file), field, expected, was (the value as written, `was`)."""
    return DataValidationError(f"{row_place(file, row, unit=unit, offset=offset)}, field '{field}': expected "
                               f"{expected}, {was(value)}", file=str(file),
                               **({"line": row} if unit == "row" else {unit: row}), offset=offset, field=field,
                               expected=expected, found=value)


def merge_order(local_ts: list[np.ndarray], priority: list[int]) -> np.ndarray:
    """How several streams of one instrument merge into one ordered by local time (ties: lower `priority` first,
    then each stream's own order; messages stay whole: their events share a local time): indices into the
    streams' rows concatenated in the order given. One stream keeps its order."""
    lens = [len(x) for x in local_ts]
    if len(lens) == 1:
        return np.arange(lens[0])
    lt = np.concatenate(local_ts)
    if len(set(priority)) == len(priority):
        # distinct priorities: a stable sort of the streams laid out by priority (numpy's stable sort of int64
        # merges already sorted runs in linear time: ~0.5 ms for 100k events against lexsort's ~2 ms)
        by = sorted(range(len(lens)), key=priority.__getitem__)
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        laid = np.concatenate([np.arange(starts[k], starts[k] + lens[k]) for k in by])
        return laid[np.argsort(lt[laid], kind="stable")]
    prio = np.repeat(np.asarray(priority, np.int64), lens)
    pos = np.concatenate([np.arange(n) for n in lens])
    return np.lexsort((pos, prio, lt))


def stream_repr(cls: str, events: np.ndarray, instrument: Any, meta: dict[str, Any], kind: str | None = None) -> str:
    """One line for an opened event stream (`MarketData`, `EventFile`): what a notebook prints instead of the
    whole array: format, instrument, event count, local-time span (UTC) and the metadata's keys."""
    span = ""
    if len(events):
        t0, t1 = (datetime.fromtimestamp(int(events["local_ts"][i]) // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                  for i in (0, -1))
        span = f", local_ts={t0}..{t1}"
    head = f"kind={kind!r}, " if kind is not None else ""
    return (f"{cls}({head}instrument={instrument.symbol}@{instrument.venue} {instrument.book_level}, "
            f"events={len(events):,}{span}, meta={sorted(meta)})")


def freeze(ev: np.ndarray) -> np.ndarray:
    ev = np.ascontiguousarray(ev)
    ev.flags.writeable = False
    return ev


# a day at the end of a file name, as the importers name days: ``_20240809`` (Binance, hftbacktest's examples),
# ``-2024-08-09`` / ``_2024-08-09`` (LOBSTER, Tardis); ``.`` as a separator too
_NAME_DATE = re.compile(r"[_.-](\d{8}|\d{4}-\d{2}-\d{2})$")


def symbol_from_name(path: str | Path) -> str:
    """The symbol a data file's name gives (for formats that carry none inside): the name before its first ``.``,
    upper-cased, without a trailing date (``btcusdt_20240809.npz`` → ``BTCUSDT``: the days of one instrument are
    one symbol). A name that is only a date stays whole."""
    stem = Path(path).name.split(".")[0]
    m = _NAME_DATE.search(stem)
    return (stem[: m.start()] if m and m.start() > 0 else stem).upper()


QUOTE_ASSETS = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "BTC", "ETH", "BNB", "EUR")  # each before its suffixes


def quote_asset(symbol: str) -> str | None:
    """The quote asset a crypto symbol ends with (``SOLUSDT`` → ``USDT``, ``BTCUSD_PERP`` → ``USD``, ``ETHBTC`` →
    ``BTC``), None when it ends with none of `QUOTE_ASSETS` (an equity's ``AAPL``)."""
    s = symbol.upper().replace("-", "").replace("_", "").replace("/", "")
    for q in QUOTE_ASSETS:
        if s.endswith(q) or s.split("PERP")[0].endswith(q):
            return q
    return None


def guess_currency(symbol: str) -> str:
    """The quote currency a crypto symbol ends with (`quote_asset`), else "USD" (`currency_of` says the guess)."""
    return quote_asset(symbol) or "USD"


def currency_of(symbol: str, source: str, known: str | None = None) -> tuple[str, str | None]:
    """``(quote currency, notice)`` of an import: `known` (the data's own instrument definition says it), else the
    symbol's quote asset (`quote_asset`), else ``"USD"``, a guess, with the one-line notice saying so (`source`
    names the file); the notice is None when the currency was not guessed."""
    if known:
        return known, None
    q = quote_asset(symbol)
    if q is not None:
        return q, None
    return "USD", (f"{source}: currency USD guessed: neither the data nor the symbol {symbol!r} names its quote "
                   "currency; set instrument.currency in the replay config if it is another")
