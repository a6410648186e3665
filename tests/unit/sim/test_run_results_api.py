"""Results from Python (docs/sim.md, "Results in memory"): `RunResult.stats`, `stats_frame`, `plot` and
`tearsheet`, for a run in memory and a run folder, one instrument and several. The figures are checked against
the run's own tables, recomputed here without the report module."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from matplotlib.figure import Figure

from hft.data import FILES, generate_day
from hft.report.run import time_axis
from hft.sim import parse_replay_config, read_run, replay_result

HEDGED_MM = "hft.sim.strategies.hedged_mm:HedgedMarketMaker"
PYTHON = parse_replay_config({"engine": "python"})  # several legs: the reference engine, quick on a cold cache


def _day(work: Path, symbol: str, seed: int, date: str = "2024-01-02") -> Path:
    return Path(generate_day(work / f"{symbol}{date}", seed=seed, symbol=symbol, date=date, messages=3000, levels=5,
                             zip_output=True)["zip_path"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("results_api")
    a, b = _day(work, "AAA", 2), _day(work, "BBB", 3)
    one = replay_result([a], "mm", parse_replay_config({}), out_dir=work / "one", source=FILES)
    pair = replay_result([a, b], HEDGED_MM, PYTHON, out_dir=work / "pair", source=FILES)
    days = replay_result([a, _day(work, "AAA", 4, "2024-01-03")], "mm", parse_replay_config({}),
                         out_dir=work / "days", source=FILES)
    return {"one": one, "one_back": read_run(work / "one"), "pair": pair, "pair_back": read_run(work / "pair"),
            "days": days}


def test_stats_are_the_runs_figures_recomputed_from_its_tables(runs):
    r = runs["one"]
    st = r.stats()
    s = r.summary
    assert st["fills"] == r.fills.height == s["fills"] > 0
    new_or_replace = r.orders.filter(pl.col("action_name").is_in(["new", "replace"]))
    assert st["orders"] == new_or_replace.height == s["orders"]
    assert st["cancels"] == r.orders.filter(pl.col("action_name") == "cancel").height
    # a linear instrument of multiplier 1: the traded value is price x quantity in the currency
    assert s["instrument_kind"] == "linear" and s["multiplier"] == 1
    assert st["turnover"] == pytest.approx(float((r.fills["price_px"] * r.fills["qty_inst"]).sum()), rel=1e-12)
    assert st["fill_ratio"] == pytest.approx(r.fills["qty"].sum() / new_or_replace["qty"].sum(), abs=1e-6)
    net = r.equity["net_equity_ccy"].to_numpy()
    worst = float((np.maximum.accumulate(net) - net).max())
    assert st["max_drawdown"] == pytest.approx(worst, abs=0.011)  # the summary rounds to the money unit
    assert (st["pnl"], st["fees"], st["currency"], st["run_hash"]) == (s["pnl"], s["fees"], "USD", s["run_hash"])
    assert st["trades"] == r.fills.height and 0.0 <= st["win_rate"] <= 1.0
    assert math.isfinite(st["edge_ticks_at_fill"])


def test_a_run_in_memory_and_its_folder_give_the_same_stats(runs):
    assert runs["one"].stats() == runs["one_back"].stats()
    assert runs["pair"].stats() == runs["pair_back"].stats()


def test_stats_frame_has_a_row_per_instrument(runs):
    one = runs["one"].stats_frame()
    assert one.height == 1 and one["symbol"].to_list() == ["AAA"] and one["fills"][0] == runs["one"].fills.height
    pair = runs["pair"].stats_frame()
    assert pair["symbol"].to_list() == ["AAA", "BBB"]
    assert pair["fills"].sum() == runs["pair"].summary["fills"]
    st = runs["pair"].stats()
    assert set(st["legs"]) == {"AAA", "BBB"} and st["pnl"] == runs["pair"].summary["pnl"]
    assert st["legs"]["BBB"] == runs["pair"].leg("BBB").stats()


def test_plot_gives_the_tearsheets_figures(runs):
    figs = runs["one"].plot()
    assert len(figs) == 6 and all(isinstance(f, Figure) for f in figs)
    net_line = figs[0].axes[0].lines[0].get_ydata()
    assert list(net_line) == runs["one"].equity["net_equity_ccy"].to_list()
    pair = runs["pair"].plot()
    assert len(pair) == 2 and [ln.get_label() for ln in pair[0].axes[0].lines] == ["portfolio", "AAA", "BBB"]


def test_tearsheet_of_a_run_in_memory_is_the_run_folders(runs, tmp_path):
    page = runs["one"].tearsheet(tmp_path / "t.html", config_text=(runs["one_back"].path / "config.yaml").read_text())
    written = (runs["one_back"].path / "report.html").read_text()

    def text(html: str) -> str:  # the PNGs' bytes may differ by matplotlib's metadata: compare the rest
        return re.sub(r'src="data:image/png;base64,[^"]*"', "", html)

    assert text(page.read_text()) == text(written)


def test_a_run_over_several_instruments_has_a_portfolio_tearsheet(runs, tmp_path):
    folder = runs["pair_back"].path
    html = (folder / "report.html").read_text()
    for part in ("Legs side by side", "PnL correlation", "Net equity and exposure", "AAA", "BBB",
                 runs["pair"].summary["run_hash"]):
        assert part in html, part
    assert html.count('src="data:image/png;base64,') == 2
    again = runs["pair"].tearsheet(tmp_path / "p.html")
    assert "Legs side by side" in again.read_text()


def test_a_run_over_several_days_has_a_table_of_its_days_and_leaves_the_nights_out_of_its_plots(runs):
    r = runs["days"]
    html = (r.path / "report.html").read_text()
    section = html.split("<h2>Days</h2>", 1)[1].split("<h2>", 1)[0]
    assert section.count("<tr>") == 1 + 2  # the header and a row per day
    for d in r.days:
        assert d["run_hash"] in section and d["day"] in section
    fig = r.plot()[0]
    axis = fig.axes[0]
    assert fig.axes[1].get_xlabel() == "hours of trading (nights left out)"
    hours = axis.lines[0].get_xdata()
    assert hours[-1] < 2 * 6.5 + 0.01  # two sessions of 6.5 h, no night between them
    assert len([ln for ln in axis.lines if ln.get_linestyle() == "--"]) == 1  # the second day's start


def test_time_axis_leaves_out_the_nights_only():
    h = 3_600_000_000_000
    ts = np.array([0, h, 2 * h, 20 * h, 21 * h, 45 * h], dtype=np.int64)  # day 1: 0-2 h; day 2: 20-21 h; day 3
    to_axis, label, starts = time_axis(ts, several_days=True)
    assert list(to_axis(ts)) == [0.0, 1.0, 2.0, 2.0, 3.0, 3.0] and starts == [2.0, 3.0]
    assert list(to_axis(np.array([h // 2, 20 * h + h // 2]))) == [0.5, 2.5]  # a fill between samples
    one, label, starts = time_axis(ts[:3], several_days=False)
    assert label == "seconds from start" and list(one(ts[:3])) == [0.0, 3600.0, 7200.0] and starts == []


def test_pnl_correlation_is_each_pairs_correlation_of_net_equity_changes():
    from hft.report.run import pnl_correlation

    rng = np.random.default_rng(1)
    a, b = np.cumsum(rng.normal(size=50)), np.cumsum(rng.normal(size=50))
    frame = pl.DataFrame({"A_net_equity_ccy": a, "B_net_equity_ccy": b, "C_net_equity_ccy": np.zeros(50)})
    got = pnl_correlation(frame, ["A", "B", "C"])
    ab = round(float(np.corrcoef(np.diff(a), np.diff(b))[0, 1]), 4)
    assert got == [[1.0, ab, None], [ab, 1.0, None], [None, None, None]]  # C never moves: no correlation
