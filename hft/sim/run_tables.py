"""The tables of a run folder, as a researcher reads them: the exact integers, and beside them the same in words,
datetimes, instrument units and the quote currency. The one place these readable columns are built.

Every integer column of the engine's records stays as it is (the run hash covers those arrays, never these
files). Added beside them:

* times: ``<col>_utc`` — ``Datetime(ns, UTC)`` of each int64 ns column (``ts``, ``local_ts``);
* codes as names: ``side_name`` (buy / sell), ``action_name`` and ``kind_name`` (new / cancel / replace for
  orders and decisions; the report kind for fills: fill / partial_fill), ``order_type_name``, ``tif_name``,
  ``liquidity_name`` (maker / taker), ``reason_name`` and ``status`` (accepted / rejected / duplicate) of
  decisions;
* prices ``<col>_px`` (ticks × tick size; the mid from ``mid2``) and quantities ``<col>_inst`` (lots × lot
  size), floats in instrument units;
* money ``<col>_ccy`` in the settlement currency (money units × `money_unit`: the quote currency of a linear
  instrument, the coin of an inverse one; `hft.sim.fees`); equity adds ``realised_ccy``
  (average-cost, before fees), ``unrealised_ccy`` (position marked to the mid), ``fees_ccy`` and
  ``net_equity_ccy`` = realised + unrealised − fees;
* per order (from the run's ACK log, `RunOutput.acks`, which the run hash does not cover): on an order's ``new``
  row ``ack_utc`` (when its ACK reached the strategy) and ``ack_latency_ms`` (send → ACK received: entry latency,
  the venue, response latency), and on its ``new`` row and every fill of it ``queue_at_entry_inst`` — the
  quantity ahead of it when it joined its price level (exact on L3; the displayed level, the queue model's
  starting estimate, on L2), in instrument units; null when it never rested.

Each file's Parquet metadata names the currency and the units (``hft.currency``, ``hft.money_unit``,
``hft.instrument``, ``hft.columns``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.dtypes import NO_PRICE
from hft.core.money import exact_money
from hft.core.orders import INTENT_NEW, SIDE_NAMES
from hft.sim.engine import ACK_LOG_DTYPE, DECISION_LOG, FILL_LOG, ORDER_LOG
from hft.sim.fees import mark_value, money_factor
from hft.sim.fees import money_unit as unit
from hft.sim.run_reader import RunResult

UNITS_NOTE = ("integer columns: time int64 ns UTC, price in ticks, qty in lots, money in money units; "
              "*_utc Datetime(ns, UTC); *_px price and *_inst quantity in instrument units; *_ccy in hft.currency")


def money_unit(instrument: Any, multiplier: int) -> float:
    """Settlement-currency value of one money unit (`hft.sim.fees.money_unit`)."""

    return unit(instrument, multiplier)


def _decimals(step: float | str) -> int:
    """Decimal places of a step (``"0.01"`` → 2, ``1e-10`` → 10): readable columns round to them."""
    from decimal import Decimal

    return max(0, -Decimal(str(step)).normalize().as_tuple().exponent)


def _names(codes: np.ndarray, names: dict[int, str]) -> list[str | None]:
    return [names.get(int(c)) for c in codes]


def _null(code: Any) -> None:
    return None


_LOGS = {"orders": ORDER_LOG, "fills": FILL_LOG}


def _px(ticks: np.ndarray, tick: float) -> np.ndarray:
    out = np.round(ticks.astype(np.float64) * tick, _decimals(tick) + 1)
    out[(ticks == NO_PRICE) | (ticks <= 0)] = np.nan
    return out


def realised_pnl(fills: np.ndarray, money: int) -> np.ndarray:
    """Cumulative realised PnL in money units after each fill (average cost, before fees). `money` is the run's
    money factor (`hft.sim.fees`): the average is of each lot's mark value (linear: price × m; inverse: -K / price,
    the harmonic mean of the entry prices), so a closed lot realises its mark at the fill minus its cost."""

    out = np.zeros(len(fills), dtype=np.float64)
    pos, avg, realised = 0, 0.0, 0.0
    for i, (side, price, qty) in enumerate(zip(fills["side"].tolist(), fills["price"].tolist(),
                                               fills["qty"].tolist(), strict=True)):
        signed = side * qty
        value = float(mark_value(1, 2 * price, money))  # one lot marked at the fill price
        if pos == 0 or (pos > 0) == (signed > 0):  # opening or adding: new average cost
            avg = (avg * abs(pos) + value * qty) / (abs(pos) + qty)
            pos += signed
        else:
            closed = min(qty, abs(pos))
            realised += closed * (value - avg) * (1 if pos > 0 else -1)
            pos += signed
            if pos == 0:
                avg = 0.0
            elif (pos > 0) == (signed > 0):  # flipped through zero: the remainder opens at this price
                avg = value
        out[i] = realised
    return out


def readable_frames(out: Any, instrument: Any, multiplier: int) -> dict[str, Any]:
    """``{"orders": DataFrame, "fills": …, "decisions": …, "equity": …}``: integer columns plus readable ones."""
    import polars as pl


    tick, lot = float(instrument.tick_size), float(instrument.lot_size)
    unit = money_unit(instrument, multiplier)
    lot_d, ccy_d = _decimals(instrument.lot_size), _decimals(unit) + 2
    frames: dict[str, Any] = {}
    for name in ("orders", "fills", "decisions", "equity"):
        arr = getattr(out, name)
        cols: dict[str, Any] = {f: np.ascontiguousarray(arr[f]) for f in arr.dtype.names}
        df = pl.DataFrame(cols)
        extra: list[Any] = []
        for t in ("ts", "local_ts"):
            if t in cols:
                extra.append(pl.Series(f"{t}_utc", cols[t]).cast(pl.Datetime("ns", "UTC")))
        if "side" in cols:
            extra.append(pl.Series("side_name", _names(cols["side"], SIDE_NAMES), dtype=pl.Utf8))
        if name in ("orders", "fills"):
            # the names of the log's enum fields (`hft.sim.engine.ORDER_LOG` / `FILL_LOG`: action, order type, TIF;
            # report kind, liquidity), null for a code without a name; side_name as above
            extra += [pl.Series(k, v, dtype=pl.Utf8) for k, v in _LOGS[name].readable(cols, _null).items()
                      if k != "side_name"]
        if name == "fills":
            extra += [pl.Series("leaves_inst", np.round(cols["leaves"] * lot, lot_d)),
                      # the exact fee (`fee` + `fee_frac` millionths), to a millionth of the money unit
                      pl.Series("fee_ccy", np.round(exact_money(cols["fee"], cols["fee_frac"]) * unit, ccy_d + 6))]
        if name == "decisions":
            status = np.where(cols["duplicate"] != 0, "duplicate", np.where(cols["accepted"] != 0, "accepted",
                                                                             "rejected"))
            # the names of the decision record's enum fields (`hft.core.orders.DECISION`), side_name as above
            extra += [pl.Series(k, v, dtype=pl.Utf8) for k, v in DECISION_LOG.readable(cols).items()
                      if k != "side_name"]
            extra.append(pl.Series("status", status.tolist(), dtype=pl.Utf8))
        if "price" in cols:
            extra.append(pl.Series("price_px", _px(cols["price"], tick)))
        if "qty" in cols:
            extra.append(pl.Series("qty_inst", np.round(cols["qty"] * lot, lot_d)))
        if name == "equity":
            extra += _equity_columns(cols, out.fills, instrument, unit, multiplier, (lot_d, ccy_d))
        frames[name] = df.with_columns(extra) if extra else df
    return _with_acks(frames, getattr(out, "acks", None), lot, lot_d)


def _with_acks(frames: dict[str, Any], acks: np.ndarray | None, lot: float, lot_d: int) -> dict[str, Any]:
    """Join the ACK log onto the orders' ``new`` rows and the fills (module docstring)."""
    import polars as pl

    if acks is None:
        acks = np.zeros(0, dtype=ACK_LOG_DTYPE)
    q = acks["queue"]
    a = pl.DataFrame({"order_id": acks["order_id"], "ack_ts": acks["ack_ts"],
                      "queue_at_entry_inst": np.where(q >= 0, np.round(q * lot, lot_d), np.nan)}
                     ).with_columns(pl.col("queue_at_entry_inst").fill_nan(None))
    orders = frames["orders"]
    is_new = pl.col("action") == INTENT_NEW
    orders = orders.join(a, on="order_id", how="left", maintain_order="left").with_columns(
        pl.when(is_new).then(pl.col("ack_ts")).cast(pl.Datetime("ns", "UTC")).alias("ack_utc"),
        pl.when(is_new).then((pl.col("ack_ts") - pl.col("ts")) / 1e6).alias("ack_latency_ms"),
        pl.when(is_new).then(pl.col("queue_at_entry_inst")).alias("queue_at_entry_inst"),
    ).drop("ack_ts")
    fills = frames["fills"].join(a.drop("ack_ts"), on="order_id", how="left", maintain_order="left")
    return {**frames, "orders": orders, "fills": fills}


def _equity_columns(cols: dict[str, np.ndarray], fills: np.ndarray, instrument: Any, unit: float,
                    multiplier: int, digits: tuple[int, int]) -> list[Any]:
    import polars as pl

    tick, lot = float(instrument.tick_size), float(instrument.lot_size)
    mid2 = cols["mid2"]
    valid = mid2 > 0
    mid_ticks = np.where(valid, mid2 / 2.0, np.nan)

    money = money_factor(instrument, multiplier)
    # cash + position marked at the mid, in money units; held over samples without a mid
    cash = exact_money(cols["cash"], -cols["fee_frac"])  # exact: fees to their millionths (`hft.core.money`)
    gross_net = cash + mark_value(cols["position"], np.where(valid, mid2, np.nan), money)
    gross_net = pl.Series(gross_net).fill_nan(None).fill_null(strategy="forward").fill_null(0.0).to_numpy()
    # realised PnL as of each sample: the last fill received at or before it
    if len(fills):
        order = np.argsort(fills["local_ts"], kind="stable")
        cum = realised_pnl(fills[order], money)
        idx = np.searchsorted(fills["local_ts"][order], cols["ts"], side="right") - 1
        realised = np.where(idx >= 0, cum[np.maximum(idx, 0)], 0.0)
    else:
        realised = np.zeros(len(mid2))
    fees = exact_money(cols["fees"], cols["fee_frac"])
    unrealised = gross_net + fees - realised  # net = realised + unrealised - fees
    lot_d, ccy_d = digits

    def ccy(name: str, x: np.ndarray) -> Any:
        return pl.Series(name, np.round(x * unit, ccy_d + 6))  # to a millionth of the money unit

    return [pl.Series("mid_px", np.round(mid_ticks * tick, _decimals(tick) + 1)),
            pl.Series("bid_px", _px(cols["bid"], tick)), pl.Series("ask_px", _px(cols["ask"], tick)),
            pl.Series("position_inst", np.round(cols["position"] * lot, lot_d)), ccy("cash_ccy", cash),
            ccy("realised_ccy", realised), ccy("unrealised_ccy", unrealised), ccy("fees_ccy", fees),
            ccy("net_equity_ccy", gross_net)]


def parquet_metadata(instrument: Any, multiplier: int) -> dict[str, str]:
    """Key-value metadata of every run table: the currency, the money unit, the instrument, the column units."""
    return {"hft.currency": instrument.settlement, "hft.money_unit": repr(money_unit(instrument, multiplier)),
            "hft.instrument": instrument.to_json(), "hft.columns": UNITS_NOTE,
            "hft.multiplier": json.dumps(multiplier)}


def write_tables(folder: Any, out: Any, instrument: Any, multiplier: int,
                 frames: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write ``orders``, ``fills``, ``decisions``, ``equity`` Parquet files into `folder`; returns the frames.
    `frames`: `readable_frames` of this run, already built (a result in memory, `run_result`); None builds them."""

    frames = readable_frames(out, instrument, multiplier) if frames is None else dict(frames)
    meta = parquet_metadata(instrument, multiplier)
    for name, df in frames.items():
        df.write_parquet(Path(folder) / f"{name}.parquet", metadata=meta)
    return frames


def run_result(out: Any, summary: dict[str, Any], instrument: Any, path: Path | None = None) -> RunResult:
    """A single-instrument run's results in memory (`hft.sim.run_reader.RunResult`): its `summary` and the
    `readable_frames` of its output `out` (the multiplier the summary names, as its run folder's files are built);
    `path`: the run folder written too, or None."""
    return RunResult(path, summary, readable_frames(out, instrument, int(summary.get("multiplier", 1))))
