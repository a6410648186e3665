"""Tests of trade_sign_flow (run by tests/unit/alpha/test_shipped_alphas.py, or directly with pytest)."""

from pathlib import Path

import polars as pl

from hft.alpha.api.registry import load_alpha_class, load_config

HERE = Path(__file__).resolve().parent
ALPHA_ID = HERE.name
ROOT = HERE.parents[1]  # the research root holding alphas/<id>/


def make(**params):
    return load_alpha_class(ALPHA_ID, root=ROOT)(params)


def test_config_parses():
    cfg = load_config(ALPHA_ID, root=ROOT)
    assert cfg.alpha_id == ALPHA_ID


def test_normalized_flow():
    f = pl.DataFrame({"ts": [1, 2, 3], "trade_signed_qty": [10, -30, 0], "trade_qty": [10, 30, 0]})
    assert make(window=2).signal(f).to_list() == [1.0, -0.5, -1.0]


def test_no_trades_is_zero():
    f = pl.DataFrame({"ts": [1, 2], "trade_signed_qty": [0, 0], "trade_qty": [0, 0]})
    assert make(window=5).signal(f).to_list() == [0.0, 0.0]


def test_raw_flow():
    f = pl.DataFrame({"ts": [1, 2, 3], "trade_signed_qty": [10, -30, 5], "trade_qty": [10, 30, 5]})
    assert make(window=2, normalize=False).signal(f).to_list() == [10.0, -20.0, -25.0]
