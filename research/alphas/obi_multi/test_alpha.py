"""Tests of obi_multi (run by tests/unit/alpha/test_shipped_alphas.py, or directly with pytest)."""

import math
from pathlib import Path

import polars as pl
import pytest

from hft.alpha.api.registry import load_alpha_class, load_config
from hft.core.errors import GovernanceError

HERE = Path(__file__).resolve().parent
ALPHA_ID = HERE.name
ROOT = HERE.parents[1]  # the research root holding alphas/<id>/


def make(**params):
    return load_alpha_class(ALPHA_ID, root=ROOT)(params)


def test_config_parses():
    cfg = load_config(ALPHA_ID, root=ROOT)
    assert cfg.alpha_id == ALPHA_ID


def test_weighted_imbalance():
    f = pl.DataFrame({"ts": [1], "bid_qty_1": [10], "ask_qty_1": [0], "bid_qty_2": [0], "ask_qty_2": [10]})
    w2 = math.exp(-1.0)
    s = make(levels=2, decay=1.0).signal(f)
    assert s[0] == pytest.approx((10 - w2 * 10) / (10 + w2 * 10))
    assert make(levels=2, decay=0.0).signal(f)[0] == 0.0


def test_features_follow_levels():
    assert make(levels=3).required_features() == (
        "bid_qty_1", "ask_qty_1", "bid_qty_2", "ask_qty_2", "bid_qty_3", "ask_qty_3")


def test_missing_level_is_refused():
    f = pl.DataFrame({"ts": [1], "bid_qty_1": [10], "ask_qty_1": [0]})
    with pytest.raises(GovernanceError, match="bid_qty_2"):
        make(levels=2).signal(f)
