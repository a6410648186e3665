"""Databento DBN files (MBO → L3; MBP-10 / MBP-1 and trades → L2) through the `databento-dbn` package.

A DBN file is ``DBN`` + version byte + u32 metadata length + metadata, then fixed-size records of one schema
(https://databento.com/docs/standards-and-conventions/databento-binary-encoding). The metadata is decoded by
``databento_dbn.Metadata.decode``; the records are read as one numpy array whose dtype is the package's own
record layout (``MBOMsg._dtypes`` …), so no per-record Python work (MBO's walk over resting orders is compiled,
`hft.data._dbn_mbo`). Zstandard-compressed files (``.dbn.zst``) need the ``zstandard`` module; without it the
error says to decompress first.

Prices are fixed-point 1e-9; the tick is the largest power of ten dividing every price (exact integers), the lot
is one unit (DBN sizes are integer shares / contracts). Symbol: the metadata's single symbol (else the
instrument id), venue: the dataset, currency: the symbol's quote asset (``SOLUSDT`` → USDT:
`hft.data._convert.currency_of`), else USD, a guess said in the stream's ``notices``.

* **mbo** (L3): ``A`` add → EV_ADD; ``C`` cancel → EV_CANCEL of ``size`` (the order leaves at 0); ``M``
  modify → EV_DELETE of the order then EV_ADD at its new price and size (it loses its queue place, as a
  modify does at most venues when price or size grows); ``R`` clear → EV_CLEAR; ``N`` none: skipped.
  Trades, one print each: Databento sends a trade as ``T`` (the aggressor), ``F`` (each resting order filled)
  and a ``C`` of the filled size per fill (the one record that changes its book). Here, as LOBSTER's execution
  message (the L3 venue fills our orders queued behind an executed one, so an execution stays one):
  ``F`` of q on order o → EV_EXEC of q (o shrinks by q; the print; side = the resting order's), and q is o's
  "filled, cancel pending"; a ``C`` on o consumes up to its pending size without shrinking o again (EV_CANCEL
  only of any excess, no event when all consumed); a ``T`` in an event (the records up to the one with
  ``F_LAST``) holding an ``F`` gives no event (its fill prints), a ``T`` with no ``F`` in its event (an
  execution of hidden liquidity) → EV_TRADE (side = aggressor; book unchanged).
  FLAG_EOM where DBN sets ``F_LAST`` (on the event before when that record gives none).
* **mbp-10 / mbp-1** (L2): a trade (``T``) record first gives an EV_TRADE (aggressor side); every record then
  gives its top-N book as its change from the record before (`hft.data._gather.snapshot_diffs`: the first
  record an EV_CLEAR and an EV_SNAPSHOT_LEVEL per non-empty level, every later one an EV_LEVEL_SET of 0 per
  price that left the top N, then one per price new or resized, or one informational EV_TICKER when nothing
  changed; FLAG_EOM on the record's last event). After
  each record the book is its top N, as a clear and a full snapshot would leave it; levels below the N the
  schema carries are unknown.
* **trades** (L2): an EV_TRADE per record.

Several files: DBN files of one instrument whose times overlap (an MBP file and its trades file) are one stream
(`hft.data.sources.group_days`), merged by the rule of event files imported apart (`hft.data._merge`: L2 only,
and a trades file only beside a book file that prints no trades itself, or each trade would print twice).

Sides: ``B`` bid / buy, ``A`` ask / sell, ``N`` none. Times: ``ts_event`` → exch_ts, ``ts_recv`` → local_ts; a
record whose events would step back in ``ts_recv`` is refused.

A bad record is named as a person finds it in a binary file: ``<file>: record 12 (byte 4168), field 'side':
expected B, A or N, was 'X'`` — its index from 1 and the byte offset where it starts in the (decompressed) stream.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hft.core.dtypes import (
    BUY,
    EV_TRADE,
    FLAG_EOM,
    SELL,
)
from hft.core.errors import DataValidationError
from hft.core.instrument import Instrument
from hft.data._convert import Locate, currency_of, freeze, make_events, place, row_error, row_place, scale_str

UNDEF_PRICE = np.iinfo(np.int64).max
MAX_MBO_RECORDS = (1 << 31) - 1  # records of one MBO file (`_mbo`: the compiled walk's sums of u32 sizes fit)
F_LAST = 128
_SIDES = {b"B": BUY, b"A": SELL, b"N": 0}


def _schema_classes() -> dict[str, Any]:
    import databento_dbn as d

    return {"mbo": d.MBOMsg, "mbp-10": d.MBP10Msg, "mbp-1": d.MBP1Msg, "trades": d.TradeMsg}


def _layout(path: Path, raw: bytes | memoryview) -> tuple[Any, str, np.dtype, int]:
    """(metadata, schema name, record dtype, the byte offset of the first record) of a DBN stream's head `raw`
    (at least its metadata)."""
    try:
        import databento_dbn as d
    except ImportError:
        raise DataValidationError(f"{path}: reading DBN needs the databento-dbn package",
                                  file=str(path), hint="pip install databento-dbn") from None
    if raw[:3] != b"DBN" or len(raw) < 8:
        raise DataValidationError(f"{path}: expected the DBN magic bytes, was {bytes(raw[:3])!r}", file=str(path))
    mlen = int.from_bytes(raw[4:8], "little")
    try:
        meta = d.Metadata.decode(bytes(raw[: 8 + mlen]))
    except Exception as exc:  # databento_dbn raises its own error types
        raise DataValidationError(f"{path}: expected DBN metadata ({exc})", file=str(path)) from None
    schema = str(meta.schema.value if hasattr(meta.schema, "value") else meta.schema).lower()
    classes = _schema_classes()
    if schema not in classes:
        raise DataValidationError(f"{path}: expected a DBN schema in {sorted(classes)}, was {schema!r}",
                                  file=str(path), field="schema")
    fields = list(classes[schema]._dtypes)
    if meta.ts_out:
        fields.append(("ts_out", "u8"))
    return meta, schema, np.dtype(fields), 8 + mlen


def _zstd(path: Path, raw: bytes) -> Any | None:
    """The ``zstandard`` module when `raw` is zstd-compressed (None when it is not); refused when it is compressed
    and the module is missing."""
    if raw[:4] != b"\x28\xb5\x2f\xfd":
        return None
    try:
        import zstandard  # lazy: optional, only for compressed files
    except ImportError:
        raise DataValidationError(f"{path}: expected an uncompressed DBN file, was zstd-compressed",
                                  file=str(path), hint="decompress it first: zstd -d FILE.dbn.zst") from None
    return zstandard


def read_dbn(path: Path) -> tuple[Any, str, np.ndarray, int]:
    """(metadata, schema name, records as a structured array, the byte offset of the first record in the
    decompressed stream) of a DBN file."""
    raw = path.read_bytes()
    zstd = _zstd(path, raw)
    if zstd is not None:
        raw = zstd.ZstdDecompressor().decompressobj().decompress(raw)
    meta, schema, dt, start = _layout(path, raw)
    body = memoryview(raw)[start:]
    if len(body) % dt.itemsize:
        n = len(body) // dt.itemsize
        raise DataValidationError(
            f"{row_place(path, n + 1, unit='record', offset=start + n * dt.itemsize)}: expected whole {schema} "
            f"records of {dt.itemsize} bytes, {len(body)} bytes is not a multiple: {len(body) % dt.itemsize} bytes "
            "left (truncated file?)", file=str(path), record=n + 1, offset=start + n * dt.itemsize)
    rec = np.frombuffer(body, dtype=dt)
    bad = np.flatnonzero(rec["length"].astype(np.int64) * 4 != dt.itemsize)
    if len(bad):
        raise _bad_record(path, rec, start, int(bad[0]), "length", f"{dt.itemsize // 4} (one {schema} record "
                          "per record; files of several schemas are not read)", int(rec["length"][bad[0]]))
    return meta, schema, rec, start


def dbn_span(path: Path) -> tuple[str, int, int] | None:
    """(instrument as ``symbol@dataset``, first and last exchange time) of a DBN file, for `hft.data.sources`
    to group the files of one stream: an uncompressed file is read at its head and its first and last records
    only; None when it holds no whole record (opening it names what is wrong)."""
    with Path(path).open("rb") as f:  # (this module's `open` is the format's opener)
        head = f.read(8)
        if _zstd(path, head) is not None:
            meta, _, rec, _ = read_dbn(path)
        else:
            meta, _, dt, start = _layout(path, head + f.read(int.from_bytes(head[4:8], "little")))
            n = (path.stat().st_size - start) // dt.itemsize
            if n <= 0:
                return None
            rec = np.memmap(path, dtype=dt, mode="r", offset=start, shape=(n,))[[0, n - 1]]
    if not len(rec):
        return None
    ts = rec["ts_event"].astype(np.int64)
    return f"{_symbol(meta, int(rec['instrument_id'][0]))}@{meta.dataset}", int(ts.min()), int(ts.max())


def _symbol(meta: Any, instrument_id: int) -> str:
    """The instrument's symbol: the metadata's single symbol, else the instrument id."""
    symbols = list(meta.symbols or [])
    return symbols[0] if len(symbols) == 1 else str(instrument_id)


def _bad_record(path: Path, rec: np.ndarray, start: int, i: int, field: str, expected: str,
                value: Any) -> DataValidationError:
    """`row_error` of record `i` (0-based) of `rec`: its index from 1 and its byte offset (`start`: the first
    record's) in the decompressed stream."""
    return row_error(path, i + 1, field, expected, value, unit="record", offset=start + i * rec.dtype.itemsize)


def _in_time_order(path: Path, rec: np.ndarray, start: int, local: np.ndarray) -> None:
    """Refuse the first record received before the record before it (every MBP / trades record gives events)."""
    back = np.flatnonzero(local[1:] < local[:-1])
    if len(back):
        i = int(back[0]) + 1
        raise _bad_record(path, rec, start, i, "ts_recv", f"records in time order (>= {int(local[i - 1])}, the "
                          "record before)", int(local[i]))


def _tick(prices: np.ndarray) -> tuple[str, int]:
    """(tick as decimal string, divisor) where divisor = the largest 10**k (k <= 9) dividing every price."""
    p = prices[prices != UNDEF_PRICE]
    k = 9
    while k > 0 and len(p) and np.any(p % (10**k)):
        k -= 1
    return scale_str(9 - k), 10**k


def _sides(path: Path, rec: np.ndarray, start: int, field: str = "side") -> np.ndarray:
    col = rec[field]
    out = np.zeros(len(col), np.int8)
    known = np.zeros(len(col), bool)
    for code, side in _SIDES.items():
        m = col == code
        out[m], known[m] = side, True
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        raise _bad_record(path, rec, start, i, field, "B, A or N", col[i].decode(errors="replace"))
    return out


def _mbo(path: Path, rec: np.ndarray, div: int, start: int) -> np.ndarray:
    """MBO records → L3 events (modifies need the order's previous state: one compiled walk over the records,
    `hft.data._dbn_mbo`); `start` is the first record's byte offset (for an error)."""
    from hft.data import _dbn_mbo as K  # lazy: numba, loaded for MBO files only

    n = len(rec)
    if n > MAX_MBO_RECORDS:  # the walk sums fills of one order (u32 sizes): fewer than 2**31 of them fit int64
        raise DataValidationError(f"{path}: expected at most {MAX_MBO_RECORDS} MBO records in one file, it holds {n}",
                                  file=str(path), expected=f"<= {MAX_MBO_RECORDS} records", found=n)
    price = np.where(rec["price"] == UNDEF_PRICE, 0, rec["price"] // div).astype(np.int64)
    action = np.ascontiguousarray(rec["action"]).view(np.uint8)
    local = rec["ts_recv"].astype(np.int64)
    events, status, bad = K.mbo_events(action, _sides(path, rec, start).astype(np.int64), price,
                                       rec["size"].astype(np.int64), rec["order_id"].astype(np.int64),
                                       (rec["flags"] & F_LAST) != 0, rec["ts_event"].astype(np.int64), local,
                                       np.arange(1, n + 1, dtype=np.int64))
    if status == K.UNKNOWN_MODIFY:
        raise _bad_record(path, rec, start, bad, "order_id", "a modify of a resting order", int(rec["order_id"][bad]))
    if status == K.UNKNOWN_ACTION:
        raise _bad_record(path, rec, start, bad, "action", "one of A, C, M, F, T, R, N",
                          rec["action"][bad].decode(errors="replace"))
    if status == K.BACK_IN_TIME:
        prev = local[:bad][action[:bad] != ord("N")][-1]  # the last record before it that gave events
        raise _bad_record(path, rec, start, bad, "ts_recv", f"records in time order (>= {int(prev)}, the time of "
                          "the events before it)", int(local[bad]))
    return events


def _mbp(path: Path, rec: np.ndarray, div: int, depth: int, start: int) -> np.ndarray:
    from hft.data._gather import snapshot_diffs  # lazy: numba, loaded for MBP files only

    trade = rec["action"] == b"T"
    agg = _sides(path, rec, start).astype(np.int64)
    local = rec["ts_recv"].astype(np.int64)
    _in_time_order(path, rec, start, local)
    cols = [(f"{s}_px_{k:02d}", f"{s}_sz_{k:02d}") for k in range(depth) for s in ("bid", "ask")]
    px = np.stack([rec[p] for p, _ in cols], axis=1)
    sz = np.stack([rec[q] for _, q in cols], axis=1).astype(np.int64)
    sz[px == UNDEF_PRICE] = 0  # no level
    t_px = np.where(trade, rec["price"] // div, 0)
    exch, local, kind, side, price, qty, seq, ends = snapshot_diffs(
        rec["ts_event"].astype(np.int64), local, np.arange(1, len(rec) + 1),
        np.where(sz > 0, px // div, 0), sz, np.tile(np.array([BUY, SELL], np.int8), depth), trade, agg, t_px,
        rec["size"].astype(np.int64))
    return make_events(len(kind), exch_ts=exch, local_ts=local, price=price, qty=qty, seq=seq, kind=kind,
                       side=side, flags=np.where(ends, FLAG_EOM, 0))


def import_dbn(path: Path, *, origins: bool = False) -> tuple[np.ndarray, Instrument, dict[str, Any], Locate | None]:
    """Convert one DBN file (module docstring); with `origins`, the events' `Locate` (an event's seq is its
    record), else None."""
    meta, schema, rec, start = read_dbn(path)
    if not len(rec):
        raise DataValidationError(f"{path}: expected {schema} records, the file holds none", file=str(path))
    ids = np.unique(rec["instrument_id"])
    if len(ids) > 1:
        raise DataValidationError(f"{path}: expected records of one instrument, was {len(ids)} instrument ids "
                                  f"({ids[:5].tolist()}…)", file=str(path), field="instrument_id")
    prices = [rec["price"]]
    if schema.startswith("mbp"):
        depth = 10 if schema == "mbp-10" else 1
        prices += [rec[f"{s}_px_{k:02d}"] for k in range(depth) for s in ("bid", "ask")]
    tick, div = _tick(np.concatenate(prices))
    if schema == "mbo":
        ev, level = _mbo(path, rec, div, start), "L3"
    elif schema == "trades":
        local = rec["ts_recv"].astype(np.int64)
        _in_time_order(path, rec, start, local)
        ev = make_events(len(rec), exch_ts=rec["ts_event"].astype(np.int64), local_ts=local,
                         price=rec["price"] // div, qty=rec["size"].astype(np.int64), seq=np.arange(len(rec)) + 1,
                         kind=EV_TRADE, side=_sides(path, rec, start), flags=FLAG_EOM)
        level = "L2"
    else:
        ev, level = _mbp(path, rec, div, 10 if schema == "mbp-10" else 1, start), "L2"
    symbol = _symbol(meta, int(ids[0]))
    currency, guessed = currency_of(symbol, path.name)  # DBN market data carries no instrument definition
    inst = Instrument(symbol=symbol, venue=str(meta.dataset), tick_size=tick, lot_size="1", currency=currency,
                      book_level=level)
    info = {"source": "dbn", "schema": schema, "files": [str(path)], "dataset": str(meta.dataset), "gaps": 0,
            **({"notices": [guessed]} if guessed else {})}
    ev, size = freeze(ev), rec.dtype.itemsize
    if not origins:
        return ev, inst, info, None
    return ev, inst, info, lambda k: place(path, int(ev["seq"][k]), unit="record",
                                           offset=start + (int(ev["seq"][k]) - 1) * size)


def open(paths: list[Path], opts: Any) -> Any:
    """The `dbn` format's opener (`hft.data.formats`): one file, or the files of one L2 instrument whose times
    overlap (an MBP file and a trades file: `hft.data.sources.group_days`) merged into one stream by the rule of
    event files imported apart (`hft.data._merge`)."""
    from hft.data.sources import MarketData  # lazy: cycle (sources -> the format registry -> this module)

    if len(paths) == 1:
        ev, inst, meta, origin = import_dbn(paths[0], origins=opts.origins)
        return MarketData("dbn", ev, inst, meta, origin=origin)
    from hft.data._merge import merge_streams  # lazy: several files only

    done = [import_dbn(p, origins=opts.origins) for p in paths]
    ev, inst, meta, parts = merge_streams(paths, [(e, i, m) for e, i, m, _ in done], origins=opts.origins)
    origin = None
    if parts is not None:
        part, row = parts
        locates = [loc for _, _, _, loc in done]
        origin = lambda k: locates[int(part[k])](int(row[k]) - 1)  # noqa: E731
    meta = {"source": "dbn", "schema": "+".join(m["schema"] for _, _, m, _ in done),
            "dataset": done[0][2]["dataset"], **meta}
    return MarketData("dbn", ev, inst, meta, origin=origin)
