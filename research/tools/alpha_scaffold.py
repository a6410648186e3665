"""`hft alpha scaffold NAME`: create ``research/alphas/NAME/`` with a working alpha, its config, tests and README
(plus an empty ``__init__.py`` so that ``pytest research/alphas`` can collect every ``test_alpha.py``).

Refuses, with a `GovernanceError` and nothing written: an id that is not a lowercase identifier, one with a
path separator or ``..``, a Python keyword, or an alpha that already exists. The files are written into a
temporary folder beside the target and renamed into place only when complete.

The research root is ``$HFT_RESEARCH_ROOT`` when set, else the repository's ``research/`` folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hft.alpha.api.base import check_alpha_id
from hft.alpha.api.registry import research_root
from hft.core.errors import GovernanceError
from hft.core.fileio import remove_dead_temps, temp_prefix

ALPHA_TEMPLATE = '''"""{name}: describe the idea in one line (a template: L1 imbalance averaged over `window` rows)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from hft.alpha import Alpha


class {cls}(Alpha):
    alpha_id = "{name}"
    version = "0.1.0"
    features = ("bid_qty_1", "ask_qty_1")  # names from hft.alpha.research.features (never fwd_ret_*)

    @dataclass(frozen=True)
    class Params:
        window: int = 1  # rows averaged

    def check_params(self, params: Params) -> None:
        self.require(params.window >= 1, "window", "an integer >= 1", params.window)

    def compute(self, features: pl.DataFrame) -> pl.Series:
        qb = features["bid_qty_1"].cast(pl.Float64)
        qa = features["ask_qty_1"].cast(pl.Float64)
        imb = ((qb - qa) / (qb + qa)).fill_nan(None)
        if self.params.window > 1:
            imb = imb.rolling_mean(self.params.window, min_samples=1)
        return imb
'''

CONFIG_TEMPLATE = '''# {name}: parameters, feature spec and validation thresholds (schema and defaults: hft/alpha/api/config.py).
alpha: {name}
params:
  window: 1             # rows averaged
features:
  levels: 1             # book levels per side
  sampling: event       # "event" (every consistent book state) or a clock step such as "100ms"
  horizons: [1, 10, 100]   # forward-return horizons in rows (durations for clock sampling)
validation:
  gate_a:               # integrity
    min_coverage: 0.9           # share of rows with a finite signal
    lookahead_cuts: 20          # cut points of each exact no-lookahead test (truncation, future perturbation)
    lookahead_seed: 7
    lookahead_max_shift_ic: 0.05  # floor of the advisory shift test's bound (the bound is measured on the data)
    determinism: true
    max_ns_per_event: 2000      # compute budget per row
  gate_b:               # predictive power
    bucket: 30m
    min_ic: 0.01
    min_ic_ir: 0.5
    min_t_stat: 2.0
    min_hit_rate: 0.5
    primary_horizon: 10
    quantiles: 5
    oos_fraction: 0.3
    sign: 1
  gate_c:               # robustness and overfitting
    min_psr: 0.95
    min_dsr: 0.9
    max_pbo: 0.5
    pbo_blocks: 10
    walk_forward_folds: 5
    min_walk_forward_positive: 0.6
    cost_spread_multipliers: [1.0, 2.0]
    fee_bps: 0.0
    min_trl_confidence: 0.95
'''

TEST_TEMPLATE = '''"""Tests of {name} (run by tests/unit/alpha/test_shipped_alphas.py, or directly with pytest)."""

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
    assert load_config(ALPHA_ID, root=ROOT).alpha_id == ALPHA_ID


def test_signal_values():
    f = pl.DataFrame({{"ts": [1, 2], "bid_qty_1": [30, 10], "ask_qty_1": [10, 10]}})
    assert make().signal(f).to_list() == [0.5, 0.0]
    assert make(window=2).signal(f).to_list() == [0.5, 0.25]


def test_bad_param():
    with pytest.raises(GovernanceError, match="window"):
        make(window=0)
'''

README_TEMPLATE = '''# {name}

**Idea.** Say what the alpha predicts and why (the template computes the L1 order-book imbalance averaged
over `window` rows).

**Reference.** Cite the paper or note the idea comes from.

Params: `window` (int >= 1, default 1). Features: `bid_qty_1`, `ask_qty_1`.

Validate: `hft alpha validate {name} --data PATH`.
'''


def class_name(alpha_id: str) -> str:
    """``my_alpha_2`` → ``MyAlpha2``."""
    return "".join(part[:1].upper() + part[1:] for part in alpha_id.split("_") if part) or "Alpha"


def scaffold(name: str, root: str | Path | None = None) -> dict[str, Any]:
    """Create ``<root>/alphas/<name>/`` (root: `research_root()`); see the module docstring."""
    check_alpha_id(name)
    base = Path(root) if root is not None else research_root()
    alphas = base / "alphas"
    target = alphas / name
    if target.exists() or target.is_symlink():
        raise GovernanceError(f"alpha {name!r}: expected a new alpha id, {target} already exists",
                              key="alpha_id", hint="pick another name or edit the existing alpha")
    files = {
        "alpha.py": ALPHA_TEMPLATE.format(name=name, cls=class_name(name)),
        "config.yaml": CONFIG_TEMPLATE.format(name=name),
        "test_alpha.py": TEST_TEMPLATE.format(name=name),
        "README.md": README_TEMPLATE.format(name=name),
        "__init__.py": f'"""Alpha {name} (the package marker lets pytest collect every alpha\'s test_alpha.py together)."""\n',
    }
    for fname, text in files.items():
        if fname.endswith(".py"):
            compile(text, fname, "exec")  # a template bug must never reach the disk
    alphas.mkdir(parents=True, exist_ok=True)
    remove_dead_temps(alphas)  # what a killed scaffold left (hft.core.fileio)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(f".{name}."), suffix=".tmp", dir=alphas))
    try:
        for fname, text in files.items():
            (tmp / fname).write_text(text)
        if target.exists():
            raise GovernanceError(f"alpha {name!r}: expected a new alpha id, {target} appeared meanwhile",
                                  key="alpha_id")
        os.rename(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return {"ok": True, "alpha_id": name, "path": str(target), "files": sorted(files)}
