"""Readable run tables: names, datetimes, instrument units, currency, and the equity decomposition."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import polars as pl

from hft.core.instrument import Instrument
from hft.core.orders import REASON_CODES
from hft.sim.engine import DECISION_LOG_DTYPE, EQUITY_DTYPE, FILL_LOG_DTYPE, ORDER_LOG_DTYPE
from hft.sim.run_tables import money_unit, readable_frames, realised_pnl, write_tables

BTC = Instrument("BTCUSDT", "BINANCE_SPOT", "0.01", "0.00001", currency="USDT", book_level="L2")
T0 = 1_700_000_000_000_000_000


def _fills(rows):
    f = np.zeros(len(rows), FILL_LOG_DTYPE)
    for i, (t, side, price, qty, fee) in enumerate(rows):
        f[i] = (t, t + 1_000_000, i + 1, price, qty, 0, fee, 0, side, 3, 1 if i % 2 == 0 else 2)
    return f


def test_realised_pnl_average_cost_through_a_flip():
    f = _fills([(T0, 1, 100, 2, 0), (T0 + 1, -1, 103, 1, 0), (T0 + 2, -1, 99, 2, 0), (T0 + 3, 1, 97, 1, 0)])
    # +1 x 3 (close 1 of 2 at 103 vs 100); close the last at 99 (-1), open a short 1 at 99; cover at 97 (+2)
    assert realised_pnl(f, 1).tolist() == [0.0, 3.0, 2.0, 4.0]
    assert realised_pnl(f, 10)[-1] == 40.0


def _output():
    fills = _fills([(T0 + 100, 1, 5_000_000, 3, 2), (T0 + 1_500_000_000, -1, 5_000_100, 3, -1)])
    orders = np.zeros(2, ORDER_LOG_DTYPE)
    orders[0] = (T0, 1, 5_000_000, 3, 1, 1, 1, 1)
    orders[1] = (T0 + 10, 2, 5_000_100, 3, 1, -1, 3, 2)
    dec = np.zeros(2, DECISION_LOG_DTYPE)
    dec[0] = (1, T0, 1, 0, 5_000_000, 3, 0, 1, 1, 1, 0)
    dec[1] = (2, T0 + 5, 0, 0, 5_000_000, 9999, REASON_CODES["BAD_QTY"], 1, 1, 0, 0)
    eq = np.zeros(3, EQUITY_DTYPE)
    # cash after the buy: -3 x 5_000_000 - 2; after the sell: + 3 x 5_000_100 + 1
    eq[0] = (T0, 10_000_000, 0, 0, 0, 0, 4_999_999, 5_000_001)
    eq[1] = (T0 + 1_000_000_000, 10_000_100, 3, -15_000_002, 2, 0, 5_000_049, 5_000_051)
    eq[2] = (T0 + 2_000_000_000, 10_000_300, 0, 299, 1, 0, 5_000_149, 5_000_151)
    return SimpleNamespace(orders=orders, fills=fills, decisions=dec, equity=eq)


def test_readable_columns_beside_the_integers():
    fr = readable_frames(_output(), BTC, 1)
    o, f, d, e = fr["orders"], fr["fills"], fr["decisions"], fr["equity"]
    assert o.schema["ts"] == pl.Int64 and o.schema["ts_utc"] == pl.Datetime("ns", "UTC")
    assert o["ts_utc"][0].isoformat().startswith("2023-11-14T22:13:20")
    assert o["side_name"].to_list() == ["buy", "sell"] and o["tif_name"].to_list() == ["gtc", "ioc"]
    assert o["order_type_name"].to_list() == ["limit", "post_only"] and o["action_name"][0] == "new"
    assert o["price_px"].to_list() == [50000.0, 50001.0] and o["qty_inst"].to_list() == [0.00003, 0.00003]
    assert f["liquidity_name"].to_list() == ["maker", "taker"] and f["kind_name"][0] == "fill"
    unit = money_unit(BTC, 1)
    assert unit == 1e-7 and f["fee_ccy"].to_list() == [2e-7, -1e-7]
    assert d["status"].to_list() == ["accepted", "rejected"] and d["reason_name"][0] == "OK"
    assert d["reason_name"][1] == "BAD_QTY"
    net = e["net_equity_ccy"].to_numpy()
    cash_plus_mark = (e["cash"].to_numpy() + e["position"].to_numpy() * e["mid2"].to_numpy() / 2) * unit
    assert np.allclose(net, cash_plus_mark)
    assert np.allclose(e["realised_ccy"] + e["unrealised_ccy"] - e["fees_ccy"], net)
    assert np.isclose(e["realised_ccy"][-1], 300 * unit)  # bought 3 lots at 5_000_000, sold at 5_000_100
    assert e["mid_px"].to_list() == [50000.0, 50000.5, 50001.5]


def test_tables_name_their_currency(tmp_path):
    write_tables(tmp_path, _output(), BTC, 1)
    for name in ("orders", "fills", "decisions", "equity"):
        meta = pl.read_parquet_metadata(tmp_path / f"{name}.parquet")
        assert meta["hft.currency"] == "USDT" and float(meta["hft.money_unit"]) == 1e-7
        assert "BTCUSDT" in meta["hft.instrument"]


def test_ack_latency_and_queue_at_entry_join_the_orders_and_fills():
    from hft.sim.engine import ACK_LOG_DTYPE

    out = _output()
    out.acks = np.array([(1, T0 + 2_500_000, 7), (2, T0 + 10 + 1_000_000, -1)], dtype=ACK_LOG_DTYPE)
    fr = readable_frames(out, BTC, 1)
    o, f = fr["orders"], fr["fills"]
    assert o["order_id"].to_list() == [1, 2]  # order kept
    assert o["ack_latency_ms"].to_list() == [2.5, 1.0]
    assert o["ack_utc"][0].isoformat().startswith("2023-11-14T22:13:20.0025")
    assert o["queue_at_entry_inst"].to_list() == [0.00007, None]  # 7 lots ahead; order 2 never rested
    assert f["queue_at_entry_inst"].to_list() == [0.00007, None]


def test_a_run_without_an_ack_log_has_null_ack_columns():
    fr = readable_frames(_output(), BTC, 1)
    assert fr["orders"]["ack_latency_ms"].null_count() == 2 and fr["fills"]["queue_at_entry_inst"].null_count() == 2
