"""The execution algorithms from the command line: ``hft replay -s vwap`` / ``-s pov`` on the real LOBSTER sample,
parameters from ``--set`` (a profile as a list), and a bad parameter as one line naming its key."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

GOOG_1 = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"


@pytest.mark.shared_data
def test_replay_vwap_executes_the_parent(hft, shared_data, tmp_path):
    r = hft("replay", "-d", str(shared_data / GOOG_1), "-s", "vwap", "--no-store", "--json", "--out",
            str(tmp_path / "run"), "--set", "strategies.vwap.qty=600", "--set", "strategies.vwap.duration_ns=3600000000000",
            "--set", "strategies.vwap.profile=[3, 2, 1, 1, 2, 3]", "--set", "limits.max_order_qty=1000")
    assert r.code == 0, r.err
    s = r.json()
    assert s["strategy"] == "vwap" and s["position"] == 600
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["params"]["profile"] == [3, 2, 1, 1, 2, 3] and summary["params"]["buckets"] == 6


@pytest.mark.shared_data
def test_replay_pov_executes_the_parent(hft, shared_data):
    r = hft("replay", "-d", str(shared_data / GOOG_1), "-s", "pov", "--no-store", "--json",
            "--set", "strategies.pov.qty=500", "--set", "strategies.pov.rate=0.1", "--set", "strategies.pov.min_child=5")
    assert r.code == 0, r.err
    assert r.json()["position"] == 500


def test_bad_parameter_is_one_line_naming_the_key(hft, tmp_path):
    r = hft("replay", "-d", str(tmp_path / "none.zip"), "-s", "pov", "--no-store", "--set", "strategies.pov.rate=2")
    assert r.code == 11
    assert "strategy pov: parameter 'rate': expected a number in (0, 1], was 2" in r.err
    assert len(r.err.strip().splitlines()) <= 2 and "Traceback" not in r.err
