"""The run folder a live canary writes (`hft.alpha.governance.canary_live.live_observations`) from the service's
records: its fills keep the liquidity the venue reported (the store's codes as a replay's), and its summary says the
maker share as a replay's does."""

from __future__ import annotations

import json
from types import SimpleNamespace

import polars as pl

from hft.alpha.governance.canary_live import live_observations
from hft.core.orders import LIQ_MAKER, LIQ_NONE, LIQ_TAKER

_STORE = {LIQ_MAKER: 1, LIQ_TAKER: -1, LIQ_NONE: 0}  # the store's sim.fills codes (`hft.core.orders.FILL`)


def _records(liquidity: list[int]):
    dec = [{"seq": i + 1, "ts": 1_000 + i, "order_id": i + 1, "target_id": 0, "kind": 1, "side": 1, "price": 100,
            "qty": 1, "accepted": True, "reason": 0, "symbol_name": "SYM"} for i in range(len(liquidity) + 1)]
    fills = [{"ts": 2_000 + i, "fill_id": i + 1, "order_id": i + 1, "side": 1, "price": 100, "qty": 1, "fee": 0,
              "fee_frac": 0, "liquidity": _STORE[liq], "symbol_name": "SYM"} for i, liq in enumerate(liquidity)]
    marks = [{"ts": 3_000, "symbol_name": "SYM", "price": 101}]
    return lambda _strategy, _after: {"decisions": dec, "fills": fills, "marks": marks}


def _folder(tmp_path, liquidity: list[int]):
    p = SimpleNamespace(alpha_id="toy", code_hash="c0de", history=[])
    return live_observations(p, records=_records(liquidity), runs_root=tmp_path / "runs")


def test_the_live_summary_carries_the_maker_share_of_its_fills(tmp_path) -> None:
    folder = _folder(tmp_path, [LIQ_MAKER, LIQ_TAKER, LIQ_MAKER, LIQ_NONE, LIQ_TAKER, LIQ_MAKER, LIQ_TAKER])
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["fills"] == 7 and summary["maker_share"] == round(3 / 7, 6) == 0.428571  # 3 rested of 7
    fills = pl.read_parquet(folder / "fills.parquet")
    assert fills["liquidity"].to_list() == [1, 2, 1, 0, 2, 1, 2] and fills["liquidity"].dtype == pl.Int8


def test_no_fills_is_a_maker_share_of_zero_as_in_a_replay(tmp_path) -> None:
    summary = json.loads((_folder(tmp_path, []) / "summary.json").read_text())
    assert summary["fills"] == 0 and summary["maker_share"] == 0.0
