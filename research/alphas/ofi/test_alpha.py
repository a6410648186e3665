"""Tests of ofi (run by tests/unit/alpha/test_shipped_alphas.py, or directly with pytest)."""

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


def test_window_sum_raw():
    f = pl.DataFrame({"ts": [1, 2, 3, 4], "ofi": [5, -2, 3, 1], "bid_qty_1": [1, 1, 1, 1],
                      "ask_qty_1": [1, 1, 1, 1]})
    assert make(window=2, normalize=False).signal(f).to_list() == [5.0, 3.0, 1.0, 4.0]


def test_normalized_by_depth():
    f = pl.DataFrame({"ts": [1, 2], "ofi": [10, 10], "bid_qty_1": [10, 30], "ask_qty_1": [10, 30]})
    # window 2: flow 10, 20; mean depth 10, 20 → 1.0, 1.0
    assert make(window=2).signal(f).to_list() == [1.0, 1.0]


def test_wrong_type_param():
    with pytest.raises(GovernanceError, match="window"):
        make(window=2.5)
