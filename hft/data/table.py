"""Generic CSV / Parquet tables with a column mapping in YAML → canonical events.

The mapping (``--mapping FILE``, or ``<name>.mapping.yaml`` beside the table: ``quotes.csv`` →
``quotes.mapping.yaml``) is strict YAML::

    instrument: {symbol: XYZ, venue: MYVENUE, tick_size: "0.01", lot_size: "1", currency: USD}
    time_unit: us                  # ns | us | ms | s: the unit of the integer time columns
    columns:                       # canonical field: the table's column
      exch_ts: ts                  # required
      local_ts: recv_ts            # optional (default: exch_ts)
      kind: type                   # required
      side: side                   # required
      price: px                    # required: decimal prices, converted to ticks by tick_size (exactly)
      qty: size                    # required: decimal sizes, converted to lots by lot_size (exactly)
      order_id: id                 # optional (trade ids)
    kinds: {L: level_set, T: trade, S: snapshot_level, C: clear}   # the table's value → event kind name
    sides: {B: buy, A: sell}       # the table's value → buy | sell | none

Kinds are the event kind names of `hft.core.dtypes.EVENT_KIND_NAMES` that make an L2 stream (``level_set``,
``snapshot_level``, ``clear``, ``trade``, ``ticker``). Consecutive rows with equal (exch_ts, local_ts) form one
message (FLAG_EOM on the last). Values are compared as text (a CSV read without inference), so ``1`` in the
mapping matches ``1`` in the file. A price that is not a multiple of the tick, a negative size, an unknown kind or
side, a non-integer time or a row before the one above it in local time: a one-line error naming file, row and
field (row = the CSV line, the header line 1; a Parquet row counts from 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hft.config.strict import Section, load_yaml
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
from hft.core.errors import ConfigError, DataValidationError
from hft.core.instrument import Instrument
from hft.data._convert import freeze, make_events, message_ends, not_multiple, place, row_error, to_units

_UNITS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_KINDS = {"level_set": EV_LEVEL_SET, "snapshot_level": EV_SNAPSHOT_LEVEL, "clear": EV_CLEAR, "trade": EV_TRADE,
          "ticker": EV_TICKER}
_SIDES = {"buy": BUY, "sell": SELL, "none": 0}


def read_mapping(path: Path) -> dict[str, Any]:
    """Parse a mapping file strictly (unknown keys, wrong types, a tick or lot that is not a positive decimal:
    `ConfigError` naming file and key)."""
    s = Section(load_yaml(path), path)
    inst = s.section("instrument")
    fields = {"symbol": inst.str("symbol"), "venue": inst.str("venue", "TABLE"),
              "tick_size": str(inst.raw("tick_size")), "lot_size": str(inst.raw("lot_size")),
              "currency": inst.str("currency", "USD"), "timezone": inst.str("timezone", "UTC")}
    inst.done()
    try:
        instrument = Instrument(**fields, book_level="L2")
    except DataValidationError as e:  # the instrument's own rule (a positive decimal tick …), named in the mapping
        key, expected = f"instrument.{e.fields.get('key', '')}", e.fields.get("expected", "a valid instrument")
        found = inst.data.get(e.fields.get("key", ""))
        raise ConfigError(f"{path}: key '{key}': expected {expected}, was {found!r}", file=str(path), key=key,
                          expected=expected, found=repr(found)) from None
    out: dict[str, Any] = {"instrument": instrument}
    out["unit"] = _UNITS[s.str("time_unit", "ns", choices=list(_UNITS))]
    cols = s.section("columns")
    out["columns"] = {k: cols.str(k) for k in ("exch_ts", "kind", "side", "price", "qty")}
    for k in ("local_ts", "order_id"):
        if cols.has(k):
            out["columns"][k] = cols.str(k)
    cols.done()
    for key, names in (("kinds", _KINDS), ("sides", _SIDES)):
        sec = s.section(key)
        m = {}
        for src in list(sec.data):
            m[str(src)] = names[sec.str(src, choices=list(names))]
        sec.done()
        out[key] = m
    s.done()
    return out


def _frame(path: Path) -> Any:
    import polars as pl

    try:
        if path.name.endswith(".parquet"):
            return pl.read_parquet(path).cast(pl.String), 1
        return pl.read_csv(path, infer_schema=False), 2
    except Exception as exc:  # polars raises several types for an unreadable table
        raise DataValidationError(f"{path}: expected a CSV or Parquet table ({str(exc).splitlines()[0][:160]})",
                                  file=str(path)) from None


def import_table(path: Path, mapping_path: Path) -> tuple[np.ndarray, Instrument, dict[str, Any]]:
    """Convert one mapped table (module docstring)."""
    import polars as pl

    m = read_mapping(mapping_path)
    df, first_row = _frame(path)
    cols = m["columns"]
    missing = [(k, c) for k, c in cols.items() if c not in df.columns]
    if missing:
        key, col = missing[0]
        raise DataValidationError(f"{path}: expected the column '{col}' that {mapping_path} maps at key "
                                  f"'columns.{key}', the table has {df.columns}", file=str(path), field=col,
                                  mapping=str(mapping_path), key=f"columns.{key}")

    def ints(field: str, *, optional: bool = False) -> np.ndarray:
        raw = df.get_column(cols[field])
        v = raw.cast(pl.Int64, strict=False)
        bad = v.is_null() & raw.is_not_null() if optional else v.is_null()
        if bad.any():
            i = int(bad.arg_max())
            raise row_error(path, i + first_row, cols[field], "an integer", raw[i])
        return v.fill_null(0).to_numpy()

    def coded(field: str, table: dict[str, int], what: str) -> np.ndarray:
        raw = df.get_column(cols[field])
        v = raw.replace_strict(table, default=None, return_dtype=pl.Int64)
        if v.is_null().any():
            i = int(v.is_null().arg_max())
            raise row_error(path, i + first_row, cols[field], f"one of the mapped {what} {sorted(table)}", raw[i])
        return v.to_numpy()

    exch = ints("exch_ts") * m["unit"]
    local = ints("local_ts") * m["unit"] if "local_ts" in cols else exch
    back = np.flatnonzero(local[1:] < local[:-1])
    if len(back):  # the stream is replayed in local time: a row before the one above it is a broken table
        i = int(back[0]) + 1
        raw = df.get_column(cols["local_ts" if "local_ts" in cols else "exch_ts"])
        raise row_error(path, i + first_row, raw.name, f"rows in time order (>= {raw[i - 1]}, the row before)",
                        raw[i])
    kind = coded("kind", m["kinds"], "kinds")
    side = coded("side", m["sides"], "sides")
    priced = kind != EV_CLEAR
    inst: Instrument = m["instrument"]
    units = {}
    for field, unit in (("price", inst.tick_size), ("qty", inst.lot_size)):
        raw = df.get_column(cols[field])
        v = raw.cast(pl.Float64, strict=False).to_numpy()
        bad = priced & ~np.isfinite(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise row_error(path, i + first_row, cols[field], "a number", raw[i])
        v = np.where(priced, v, 0.0)
        if field == "qty" and bool((v < 0).any()):
            i = int(np.flatnonzero(v < 0)[0])
            raise row_error(path, i + first_row, cols[field], "a quantity >= 0", raw[i])
        j = not_multiple(v, unit)
        if j >= 0:
            raise row_error(path, j + first_row, cols[field], f"a multiple of {unit}", raw[j])
        units[field] = to_units(v, unit)
    oid = ints("order_id", optional=True) if "order_id" in cols else np.zeros(len(df), np.int64)
    ends = message_ends(exch, local)
    ev = make_events(len(df), exch_ts=exch, local_ts=local, price=units["price"], qty=units["qty"],
                     order_id=np.where(kind == EV_TRADE, oid, 0), seq=np.arange(len(df)) + first_row, kind=kind,
                     side=side, flags=np.where(ends, FLAG_EOM, 0))
    return freeze(ev), inst, {"source": "table", "files": [str(path)], "mapping": str(mapping_path), "gaps": 0}


def open(paths: list[Path], opts: Any) -> Any:
    """The `table` format's opener (`hft.data.formats`)."""
    # lazy: cycle (sources -> the format registry -> this module)
    from hft.data.formats import sidecar_mapping
    from hft.data.sources import MarketData  # lazy: cycle (sources -> the format registry -> this module)

    mapping = opts.mapping or sidecar_mapping(paths[0])
    if mapping is None:
        raise ConfigError(f"{paths[0]}: expected a column mapping (--mapping FILE, or "
                          f"{paths[0].name.split('.')[0]}.mapping.yaml beside it), none given", key="mapping")
    ev, inst, meta = import_table(paths[0], Path(mapping))
    # an event's seq is its row as `row_error` names it (a CSV's line, a Parquet table's row from 1)
    origin = (lambda k: place(paths[0], int(ev["seq"][k]))) if opts.origins else None
    return MarketData("table", ev, inst, meta, origin=origin)
