"""One definition of an order and of the fill ratio (docs/sim.md, "Orders and the fill ratio"): an order is a new
or a replace, cancels apart; the fill ratio is filled lots over the lots those orders submitted. A strategy that
quotes by replacing is counted the same way by the summary, `RunResult` and the tearsheet (the store's ``sim.runs``:
tests/cli/test_replay_cli.py)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hft.core.orders import (
    CMD_CANCEL,
    CMD_NEW,
    CMD_REPLACE,
    COMMAND_DTYPE,
    fill_ratio,
    order_counts,
)
from hft.data.importing import generate_day
from hft.data.sources import FILES
from hft.sim.replay import parse_replay_config, replay_result
from tests.strategy_sources import REPLACE_QUOTER


def test_order_counts_of_a_log():
    log = np.zeros(6, dtype=COMMAND_DTYPE)
    log["action"] = [CMD_NEW, CMD_REPLACE, CMD_REPLACE, CMD_CANCEL, CMD_NEW, CMD_CANCEL]
    log["qty"] = [5, 3, 4, 5, 2, 2]
    c = order_counts(log)
    assert (c.orders, c.replaces, c.cancels, c.submitted_qty) == (4, 2, 2, 5 + 3 + 4 + 2)
    assert order_counts(pl.DataFrame({"action": log["action"], "qty": log["qty"]})) == c  # a table read back
    assert order_counts(log[:0]) == (0, 0, 0, 0)
    assert fill_ratio(7, 14) == 0.5 and fill_ratio(0, 0) == 0.0


@pytest.fixture(scope="module")
def quoted(tmp_path_factory):
    work = tmp_path_factory.mktemp("replace_quoter")
    day = Path(generate_day(work / "day", seed=5, symbol="SYNTH", date="2024-01-02", messages=4000, levels=5,
                            zip_output=True)["zip_path"])
    strat = work / "replace_quoter.py"
    strat.write_text(textwrap.dedent(REPLACE_QUOTER))
    return replay_result([day], f"{strat}:ReplaceQuoter", parse_replay_config({}), out_dir=work / "run",
                         source=FILES)


def test_a_quoter_by_replace_counts_its_replaces(quoted):
    run = quoted
    s = run.summary
    actions = run.orders["action"].to_numpy()
    news, replaces = int((actions == CMD_NEW).sum()), int((actions == CMD_REPLACE).sum())
    assert replaces > news > 0  # the strategy quotes by replacing
    assert s["orders"] == news + replaces and s["replaces"] == replaces and s["cancels"] == 0
    submitted = int(run.orders.filter(pl.col("action") != CMD_CANCEL)["qty"].sum())
    assert s["submitted_qty"] == submitted
    new_qty = int(run.orders.filter(pl.col("action") == CMD_NEW)["qty"].sum())
    assert s["filled_qty"] > 0 and submitted > new_qty  # the replaces' lots are counted, not the first quotes' only
    assert s["fill_ratio"] == round(s["filled_qty"] / submitted, 6)
    assert f"orders={news + replaces:,}," in repr(run)  # RunResult says what the summary says
    page = (run.path / "report.html").read_text()
    assert f"{news + replaces:,} ({replaces:,} replaces) / 0" in page and f"fill ratio {s['fill_ratio']}" in page
    assert json.loads((run.path / "summary.json").read_text())["orders"] == s["orders"]
