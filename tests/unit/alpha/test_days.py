"""Several --data inputs as days (`hft.alpha.research.days`) and the pooled verdict over days (`gates.pool_days`)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from hft.alpha.gates.result import Check, GateResult, pool_days
from hft.alpha.research.days import day_features
from hft.alpha.research.features import FeatureSpec
from hft.core.errors import DataValidationError
from hft.data.sources import FILES


def _touch(folder, *names):
    out = []
    for n in names:
        p = folder / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
        out.append(p)
    return out


def test_each_lobster_or_parquet_file_is_a_day_and_binance_captures_chain_per_symbol(tmp_path):
    a, b, s1, s2, e1, c = _touch(tmp_path, "A_2012-06-21_34200000_57600000_message_1.csv", "B.zip",
                                 "spot/btcusdt_20240808.gz", "spot/btcusdt_20240809.gz",
                                 "spot/ethusdt_20240808.gz", "day.parquet")
    assert FILES.group_days([a, s1, b, e1, s2, c]) == [[a], [s1, s2], [b], [e1], [c]]


@pytest.mark.parametrize("case", ["none", "missing", "twice"])
def test_bad_inputs_are_data_errors(tmp_path, case):
    (a,) = _touch(tmp_path, "B.zip")
    paths = {"none": [], "missing": [a, tmp_path / "nope.zip"], "twice": [a, tmp_path / "." / "B.zip"]}[case]
    match = {"none": "at least one data path", "missing": "nope.zip: expected a market data file",
             "twice": "given twice"}[case]
    with pytest.raises(DataValidationError, match=match):
        FILES.group_days(paths)


def test_day_features_builds_one_frame_per_day(tmp_path):
    from hft.data.importing import generate_day

    msgs = [generate_day(tmp_path / str(i), seed=i, symbol="SYNTH", date=f"2024-01-0{i + 2}", messages=3000,
                         levels=2, zip_output=False)["message_path"] for i in (1, 2)]
    days = day_features(msgs, FeatureSpec(levels=1), source=FILES, cache=False)
    assert [d.label for d in days] == [Path(m).name for m in msgs]
    assert all(d.features.height > 100 for d in days) and days[0].data_hash != days[1].data_hash
    assert days[0].features["ts"].max() < days[1].features["ts"].min()  # separate frames, in the order given


def _result(gate, checks, metric):
    return GateResult.from_checks(gate, checks, metric, {}, {})


def test_pool_days_passes_only_when_every_day_passes_and_names_the_failing_day():
    ok = _result("A", [Check.compare("coverage", 0.95, ">=", 0.9), Check.compare("lookahead_mismatches", 0, "<=", 0),
                       Check.advisory("shift_ic_excess", 0.2, "<=", 0.1, "too much", binding=False)],
                 "lookahead_mismatches")
    bad = _result("A", [Check.compare("coverage", 0.92, ">=", 0.9),
                        Check.compare("lookahead_mismatches", 3, "<=", 0, "lookahead (truncation): ..."),
                        Check.compare("shift_ic_excess", 0.01, "<=", 0.1)], "lookahead_mismatches")
    pooled = pool_days([ok, bad], ["d1", "d2"])
    checks = {c.name: c for c in pooled.checks}
    assert not pooled.passed and pooled.metric == "lookahead_mismatches" and pooled.value == 3
    assert checks["coverage"].passed and checks["coverage"].value == 0.92  # worst of >=: the lowest
    assert pooled.reasons == ["d2: lookahead (truncation): ..."]
    assert checks["shift_ic_excess"].warning and pooled.warnings == ["d1: warning: too much"]
    assert [(d["day"], d["passed"]) for d in pooled.metrics["days"]] == [("d1", True), ("d2", False)]
    assert pool_days([ok, ok], ["d1", "d2"]).passed


def test_advisory_check_warns_unless_binding():
    warn = Check.advisory("x", 2.0, "<=", 1.0, "above", binding=False)
    assert warn.passed and warn.warning and warn.note == "warning: above"
    fail = Check.advisory("x", 2.0, "<=", 1.0, "above", binding=True)
    assert not fail.passed and not fail.warning and fail.note == "above"
    fine = Check.advisory("x", 0.5, "<=", 1.0, "above", binding=False)
    assert fine.passed and not fine.warning and fine.note == ""
    assert not Check.advisory("x", math.nan, "<=", 1.0, "above", binding=False).passed
    assert np.isnan(Check.advisory("x", math.nan, "<=", 1.0, "above", binding=False).value)
