"""Tests of obi_l1 (run by tests/unit/alpha/test_shipped_alphas.py, or directly with pytest)."""

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


def test_imbalance_values():
    f = pl.DataFrame({"ts": [1, 2, 3], "bid_qty_1": [30, 10, 0], "ask_qty_1": [10, 10, 0]})
    s = make().signal(f)
    assert s.to_list() == [0.5, 0.0, None]


def test_smooth():
    f = pl.DataFrame({"ts": [1, 2], "bid_qty_1": [30, 10], "ask_qty_1": [10, 10]})
    assert make(smooth=2).signal(f).to_list() == [0.5, 0.25]


def test_bad_param():
    with pytest.raises(GovernanceError, match="smooth"):
        make(smooth=0)
