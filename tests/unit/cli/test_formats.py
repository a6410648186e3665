"""How the CLI writes numbers and days for a person: amounts in their money unit's decimals, counts and
quantities with thousands separators, a day by its date (`hft.cli._output`, `hft.sim.sessions`)."""

from __future__ import annotations

import pytest

from hft.cli._output import fmt_money, fmt_qty, fmt_rejects, short_hash, unit_decimals
from hft.sim.sessions import short_day_label, short_day_labels


@pytest.mark.parametrize(("v", "unit", "shown"), [
    (0.5, 0.01, "0.50"), (0.0, 0.01, "0.00"), (-0.0, 0.01, "0.00"), (-0.3, 0.01, "-0.30"),
    (1234.5, 0.01, "1,234.50"), (-8.613e-06, 1e-09, "-0.000008613"), (12.0, 1.0, "12"), (5.0, 100.0, "5"),
])
def test_an_amount_has_its_money_units_decimals(v, unit, shown):
    """The same decimals in every cell of a column (``fees 0.5`` beside ``PnL -6.67`` read as different
    precisions); a whole money unit is never rounded away."""
    assert fmt_money(v, unit) == shown


def test_unit_decimals():
    assert [unit_decimals(u) for u in (0.01, 1e-09, 0.0025, 1.0, 100.0)] == [2, 9, 4, 0, 0]


def test_counts_and_quantities_have_thousands_separators():
    assert [fmt_qty(v) for v in (3538.0, -6.0, 1234.5, 0.002, -0.0, 12345678.0)] == [
        "3,538", "-6", "1,234.5", "0.002", "0", "12,345,678"]
    assert fmt_rejects({"SELF_MATCH": 1, "RISK_LIMIT": 2345}) == "SELF_MATCH 1, RISK_LIMIT 2,345"
    assert fmt_rejects({}) == "none"
    assert short_hash("5e7775f014d8d0a5284216f9b9bf6fc6") == "5e7775f0"


@pytest.mark.parametrize(("label", "shown"), [
    ("SYNTH_2024-01-02_34200000_57600000_10.zip", "2024-01-02"),  # 34200000 is no date
    ("btcusd_perp_20240808.gz +1", "2024-08-08 +1"),  # a chain keeps its +N
    ("LOBSTER_SampleFile_GOOG_2012-06-21_1.zip + LOBSTER_SampleFile_AMZN_2012-06-21_1.zip", "2012-06-21"),
    ("A_2024-01-02.zip + B_2024-01-03.zip", "2024-01-02 + 2024-01-03"),
    ("garbage.txt", "garbage.txt"), ("2 days", "2 days"), ("day.parquet", "day.parquet"),
])
def test_a_day_is_shown_by_its_date(label, shown):
    assert short_day_label(label) == shown


def test_days_that_would_read_the_same_keep_their_names():
    """Two files of one date are two days only their names tell apart; days of different instruments may share a
    date."""
    assert short_day_labels(["a/x_20240809.npz", "y_20240809.npz", "z_20240810.npz"]) == [
        "a/x_20240809.npz", "y_20240809.npz", "2024-08-10"]
    assert short_day_labels(["x_20240809.npz", "y_20240809.npz"], within=["X", "Y"]) == ["2024-08-09"] * 2
    assert short_day_labels(["x_20240809.npz", "x_20240809.npz"]) == ["2024-08-09"] * 2  # one day, two cells
