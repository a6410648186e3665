"""hftbacktest ``.npz`` event files → L2 events, so hftbacktest users bring their data as it is.

hftbacktest (2.x) stores one structured array (``np.savez_compressed(path, data=events)``) of its 64-byte event
dtype (`HFTBT_DTYPE`: ``ev`` u8, ``exch_ts`` i8, ``local_ts`` i8, ``px`` f8, ``qty`` f8, ``order_id`` u8,
``ival`` i8, ``fval`` f8; aligned). ``ev`` is the event kind in the low bits plus flags:

=============================  ==================================================================
``ev``                         becomes
=============================  ==================================================================
DEPTH_EVENT (1)                EV_LEVEL_SET (BUY_EVENT flag: bid side, SELL_EVENT: ask side)
DEPTH_SNAPSHOT_EVENT (4)       EV_SNAPSHOT_LEVEL
DEPTH_CLEAR_EVENT (3)          EV_CLEAR of the flagged side (both when neither flag); hftbacktest clears only up
                               to ``px``, its converters always follow with a full snapshot, which is equal
TRADE_EVENT (2)                EV_TRADE, side = the initiator (BUY_EVENT / SELL_EVENT; else 0)
DEPTH_BBO_EVENT (5)            EV_TICKER (the venue's best bid or ask; informational)
=============================  ==================================================================

Market-by-order files (any ADD_ORDER / CANCEL_ORDER / MODIFY_ORDER / FILL event, 10-13) are L3 streams.
hftbacktest writes them from Databento MBO records one for one (its ``databento.convert``: ``A`` add → 10,
``C`` cancel → 11, ``M`` modify → 12, ``F`` fill → 13, ``T`` trade → TRADE_EVENT, ``R`` clear →
DEPTH_CLEAR_EVENT; the side flags as Databento's side; Databento's ``flags`` in ``ival``), so they are read by
the rules of `hft.data.dbn`'s MBO records, the one walk of `hft.data._dbn_mbo`: a fill is the execution (the
resting order shrinks once, one print, the trade in its event prints nothing), a cancel removes what the fill
has not already taken, a modify is a delete and an add (the order loses its queue place), an order id it does not
know is refused. A message ends at a record with Databento's F_LAST in ``ival`` or, in a file without them, at
the last of consecutive events of equal times. Depth events (1, 4, 5) in such a file are refused.

EXCH_EVENT (bit 31) / LOCAL_EVENT (bit 30): hftbacktest may hold an event twice (an exchange-only copy in
exchange order and a local-only copy in local order, `correct_event_order`); one canonical event carries both
times, so the events with LOCAL_EVENT are kept (all of them when none is flagged) and the count of exchange-only
copies dropped is in ``meta``. Messages: consecutive events with equal (exch_ts, local_ts) form one (FLAG_EOM on
the last). A bad value is a one-line error naming the file, the row (the record's number in the array, counted
from 1) and the field. Ticks and lots: the fewest decimals holding every price and size exactly (`hft.data._convert`).
Symbol: the file name before its first ``.`` without a trailing date (``btcusdt_20240809.npz`` → BTCUSDT,
`hft.data._convert.symbol_from_name`), so the files of several days are days of one instrument.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.dtypes import (
    BUY,
    EV_CLEAR,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TICKER,
    EV_TRADE,
    FLAG_EOM,
    SELL,
)
from hft.core.errors import DataValidationError
from hft.core.instrument import Instrument
from hft.data._convert import (
    currency_of,
    decimals_needed,
    freeze,
    make_events,
    message_ends,
    place,
    row_error,
    scale_str,
    symbol_from_name,
    to_units,
)
from hft.data.dbn import MAX_MBO_RECORDS
from hft.data.formats import archive_damage

HFTBT_DTYPE = np.dtype([("ev", "<u8"), ("exch_ts", "<i8"), ("local_ts", "<i8"), ("px", "<f8"), ("qty", "<f8"),
                        ("order_id", "<u8"), ("ival", "<i8"), ("fval", "<f8")], align=True)
EXCH_EVENT = 1 << 31
LOCAL_EVENT = 1 << 30
BUY_EVENT = 1 << 29
SELL_EVENT = 1 << 28
DEPTH_EVENT, TRADE_EVENT, DEPTH_CLEAR_EVENT, DEPTH_SNAPSHOT_EVENT, DEPTH_BBO_EVENT = 1, 2, 3, 4, 5
ADD_ORDER_EVENT, CANCEL_ORDER_EVENT, MODIFY_ORDER_EVENT, FILL_EVENT = 10, 11, 12, 13
F_LAST = 1 << 7  # Databento's flag of a message's last record, kept in ``ival`` by hftbacktest's converter
_KIND_MASK = 0xFF
# an MBO file's event kinds as Databento's actions (`hft.data._dbn_mbo` walks them)
_MBO_ACTIONS = {ADD_ORDER_EVENT: "A", CANCEL_ORDER_EVENT: "C", MODIFY_ORDER_EVENT: "M", FILL_EVENT: "F",
                TRADE_EVENT: "T", DEPTH_CLEAR_EVENT: "R"}
_KINDS = {DEPTH_EVENT: EV_LEVEL_SET, TRADE_EVENT: EV_TRADE, DEPTH_CLEAR_EVENT: EV_CLEAR,
          DEPTH_SNAPSHOT_EVENT: EV_SNAPSHOT_LEVEL, DEPTH_BBO_EVENT: EV_TICKER}


def load_npz(path: Path) -> np.ndarray:
    """The event array of an hftbacktest ``.npz`` (key ``data``, or its only array), checked against the dtype."""
    not_npz = DataValidationError(f"{path}: expected an hftbacktest .npz (a zip of .npy arrays), the file is not one",
                                  file=str(path))
    try:
        with zipfile.ZipFile(path) as zf:  # np.load would take any other file for a pickle or a bare .npy
            if not any(n.endswith(".npy") for n in zf.namelist()):
                raise not_npz
    except (zipfile.BadZipFile, OSError) as exc:
        damaged = archive_damage(path, exc)  # a zip cut short says so
        raise (DataValidationError(damaged, file=str(path)) if damaged else not_npz) from None
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            key = "data" if "data" in keys else (keys[0] if len(keys) == 1 else None)
            if key is None:
                raise DataValidationError(f"{path}: expected an array 'data' (or a single array), was {keys}",
                                          file=str(path))
            arr = z[key]
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        damaged = archive_damage(path, exc) if not isinstance(exc, ValueError) else None
        raise DataValidationError(damaged or f"{path}: expected an hftbacktest .npz ({exc.__class__.__name__}: "
                                  f"{exc})", file=str(path)) from None
    names = arr.dtype.names or ()
    if tuple(names) != HFTBT_DTYPE.names or arr.dtype.itemsize != HFTBT_DTYPE.itemsize:
        raise DataValidationError(f"{path}: expected hftbacktest's 64-byte event dtype {list(HFTBT_DTYPE.names)}, "
                                  f"was {list(names) or arr.dtype.str} ({arr.dtype.itemsize} bytes)",
                                  file=str(path), field="dtype")
    return arr


def import_hftbacktest(path: Path) -> tuple[np.ndarray, Instrument, dict[str, Any]]:
    """Convert one hftbacktest event file (module docstring)."""
    raw = load_npz(path)
    ev_all = raw["ev"].astype(np.uint64)
    local = (ev_all & LOCAL_EVENT) != 0
    keep = local if local.any() else np.ones(len(raw), bool)
    rows = np.flatnonzero(keep)
    a = raw[keep]
    ev = a["ev"].astype(np.uint64)
    code = (ev & _KIND_MASK).astype(np.int64)
    side = np.where((ev & BUY_EVENT) != 0, BUY, np.where((ev & SELL_EVENT) != 0, SELL, 0)).astype(np.int8)
    if np.isin(code, [ADD_ORDER_EVENT, CANCEL_ORDER_EVENT, MODIFY_ORDER_EVENT, FILL_EVENT]).any():
        return _import_mbo(path, a, rows, code, side, int((~keep).sum()))
    _refuse_first(path, rows, ~np.isin(code, list(_KINDS)), "ev", f"an L2 event kind {sorted(_KINDS)} or a "
                  "market-by-order one (10-13)", code)
    kind = np.zeros(len(a), np.uint8)
    for src, dst in _KINDS.items():
        kind[code == src] = dst
    book = (kind == EV_LEVEL_SET) | (kind == EV_SNAPSHOT_LEVEL) | (kind == EV_TICKER)
    _refuse_first(path, rows, book & (side == 0), "ev", "BUY_EVENT or SELL_EVENT on a depth event", ev)
    priced = kind != EV_CLEAR
    for f in ("px", "qty"):
        _refuse_first(path, rows, priced & ~np.isfinite(a[f]), f, "a finite number", a[f])
    _refuse_first(path, rows, priced & (a["qty"] < 0), "qty", "a quantity >= 0", a["qty"])
    back = np.flatnonzero(a["local_ts"][1:] < a["local_ts"][:-1])
    if len(back):  # the kept events are replayed in local time
        i = int(back[0]) + 1
        raise row_error(path, int(rows[i]) + 1, "local_ts", f"events in local time order (>= {int(a['local_ts'][i - 1])}"
                        ", the event before)", int(a["local_ts"][i]))
    tick, lot, price, qty = _units(path, a, priced)
    ends = message_ends(a["exch_ts"], a["local_ts"])
    out = make_events(len(a), exch_ts=a["exch_ts"], local_ts=a["local_ts"], price=price, qty=qty,
                      order_id=np.where(kind == EV_TRADE, a["order_id"].astype(np.int64), 0), seq=rows,
                      kind=kind, side=side, flags=np.where(ends, FLAG_EOM, 0))
    inst, meta = _described(path, tick, lot, "L2", int((~keep).sum()))
    return freeze(out), inst, meta


def _refuse_first(path: Path, rows: np.ndarray, bad: np.ndarray, field: str, expected: str,
                  values: np.ndarray) -> None:
    """A `row_error` naming the first `bad` row (its record in the file, from 1) and its value of `field`."""
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise row_error(path, int(rows[i]) + 1, field, expected, values[i].item())


def _units(path: Path, a: np.ndarray, priced: np.ndarray) -> tuple[str, str, np.ndarray, np.ndarray]:
    """The tick and lot (the fewest decimals holding every price and size of the `priced` rows exactly) and the
    rows' prices and sizes in them (0 where not priced)."""
    tick = scale_str(decimals_needed(a["px"][priced], what="px", file=path))
    lot = scale_str(decimals_needed(a["qty"][priced], what="qty", file=path))
    price = np.where(priced, to_units(np.where(priced, a["px"], 0.0), tick), 0)
    qty = np.where(priced, to_units(np.where(priced, a["qty"], 0.0), lot), 0)
    return tick, lot, price, qty


def _described(path: Path, tick: str, lot: str, book_level: str, dropped: int) -> tuple[Instrument, dict[str, Any]]:
    symbol = symbol_from_name(path)
    currency, guessed = currency_of(symbol, path.name)
    inst = Instrument(symbol=symbol, venue="HFTBACKTEST", tick_size=tick, lot_size=lot, currency=currency,
                      book_level=book_level)
    meta = {"source": "hftbacktest", "files": [str(path)], "exchange_only_dropped": dropped, "gaps": 0,
            **({"notices": [guessed]} if guessed else {})}
    return inst, meta


def _import_mbo(path: Path, a: np.ndarray, rows: np.ndarray, code: np.ndarray, side: np.ndarray,
                dropped: int) -> tuple[np.ndarray, Instrument, dict[str, Any]]:
    """A market-by-order file (module docstring) → L3 events."""
    from hft.data import _dbn_mbo as K  # lazy: numba, loaded for MBO files only

    _refuse_first(path, rows, ~np.isin(code, list(_MBO_ACTIONS)), "ev", f"a market-by-order event kind "
                  f"{sorted(_MBO_ACTIONS)} (a file of order events holds no depth events)", code)
    action = np.zeros(len(a), np.uint8)
    for src, act in _MBO_ACTIONS.items():
        action[code == src] = ord(act)
    order = np.isin(code, [ADD_ORDER_EVENT, CANCEL_ORDER_EVENT, MODIFY_ORDER_EVENT, FILL_EVENT])
    _refuse_first(path, rows, order & (side == 0), "ev", "BUY_EVENT or SELL_EVENT on an order event", a["ev"])
    priced = code != DEPTH_CLEAR_EVENT
    for f in ("px", "qty"):
        _refuse_first(path, rows, priced & ~(np.isfinite(a[f]) & (a[f] >= 0)), f, "a finite number >= 0", a[f])
    tick, lot, price, qty = _units(path, a, priced)
    # the walk sums an order's fills in int64: sizes and counts bounded as DBN's are (u32 sizes, < 2**31 records)
    _refuse_first(path, rows, qty > np.iinfo(np.uint32).max, "qty", f"at most {np.iinfo(np.uint32).max} lots of "
                  f"{lot}", a["qty"])
    if len(a) > MAX_MBO_RECORDS:
        raise DataValidationError(f"{path}: expected at most {MAX_MBO_RECORDS} order events in one file, it holds "
                                  f"{len(a)}", file=str(path))
    flagged = (a["ival"] & F_LAST) != 0
    last = flagged if flagged.any() else message_ends(a["exch_ts"], a["local_ts"])
    local = a["local_ts"].astype(np.int64)
    events, status, bad = K.mbo_events(action, side.astype(np.int64), price.astype(np.int64),
                                       qty.astype(np.int64), a["order_id"].astype(np.int64), last,
                                       a["exch_ts"].astype(np.int64), local, rows.astype(np.int64))
    if status == K.UNKNOWN_MODIFY:
        raise row_error(path, int(rows[bad]) + 1, "order_id", "a modify of a resting order",
                        int(a["order_id"][bad]))
    if status == K.BACK_IN_TIME:
        raise row_error(path, int(rows[bad]) + 1, "local_ts", "events in local time order (>= the time of the "
                        "events before it)", int(local[bad]))
    inst, meta = _described(path, tick, lot, "L3", dropped)
    return freeze(events), inst, meta


def open(paths: list[Path], opts: Any) -> Any:
    """The `hftbacktest` format's opener (`hft.data.formats`)."""
    from hft.data.sources import MarketData  # lazy: cycle (sources -> the format registry -> this module)

    ev, inst, meta = import_hftbacktest(paths[0])
    # an event's seq is its row in the file from 0 (the rows `row_error` names from 1)
    origin = (lambda k: place(paths[0], int(ev["seq"][k]) + 1)) if opts.origins else None
    return MarketData("hftbacktest", ev, inst, meta, origin=origin)
