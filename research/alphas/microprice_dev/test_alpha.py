"""Tests of microprice_dev (run by tests/unit/alpha/test_shipped_alphas.py, or directly with pytest)."""

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


def test_deviation_in_ticks():
    # bid 100 x 30, ask 102 x 10: micro = (100*10 + 102*30) / 40 = 101.5, mid 101 → +0.5 tick
    f = pl.DataFrame({"ts": [1], "microprice": [101.5], "mid": [101.0]})
    assert make().signal(f).to_list() == [0.5]


def test_nulls_stay_null():
    f = pl.DataFrame({"ts": [1, 2], "microprice": [None, 101.5], "mid": [None, 101.0]},
                     schema={"ts": pl.Int64, "microprice": pl.Float64, "mid": pl.Float64})
    assert make().signal(f).to_list() == [None, 0.5]
