"""A record the WAL did not acknowledge fails the run: a real file-size limit (prlimit) and real disk pressure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import HFT, run_hft

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    from tests.cli.conftest import generated_day

    return generated_day(tmp_path_factory, "wday", 6000)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HFT_DEBUG", "HFT_CLICKHOUSE_URL")}
    return {**env, "HFT_HOME": str(home), **extra}


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="prlimit (util-linux) is not installed")
def test_replay_fails_when_a_wal_append_fails(day, tmp_path):
    # warm numba's on-disk cache first (its files are larger than the limit below)
    warm = run_hft("replay", "--data", str(day), "-s", "mm", "--no-store", cwd=tmp_path, timeout=900)
    assert warm.code == 0, warm.err
    # a 20 kB file-size limit: the WAL segment cannot hold the run's frames (write(2) fails with EFBIG)
    p = subprocess.run(["prlimit", "--fsize=20000", "--", str(HFT), "replay", "--data", str(day), "-s", "mm",
                        "--json"], capture_output=True, text=True, env=_env(tmp_path), timeout=600, cwd=tmp_path)
    assert p.returncode == 15, (p.returncode, p.stderr)
    out = json.loads(p.stdout)
    assert out["ok"] is False and out["records_lost"] > 0 and out["records_total"] >= out["records_lost"]
    err = [ln for ln in p.stderr.splitlines() if ln.startswith("error: ")]
    assert len(err) == 1 and "were not written (append failed: File too large)" in err[0], p.stderr
    assert "Traceback" not in p.stderr
    # nothing was loaded as if the run were recorded
    q = run_hft("audit", "query", "SELECT count() AS n FROM sim.runs", "--json", env={"HFT_HOME": str(tmp_path)})
    assert q.code == 0, q.err
    assert q.json()["rows"] == [{"n": 0}]


def test_replay_fails_under_disk_pressure_halt(day, tmp_path):
    # HALT at "100% free or less" always applies: the monitor every CLI writer attaches refuses every write
    r = run_hft("replay", "--data", str(day), "-s", "mm", "--json", cwd=tmp_path,
                env={"HFT_HOME": str(tmp_path), "HFT_DISK_THRESHOLDS": "halt=100%"}, timeout=900)
    assert r.code == 15, r.err
    out = r.json()
    assert out["ok"] is False and out["records_lost"] == out["records_total"] > 0
    assert "disk pressure HALT on the WAL filesystem" in r.err


def test_bad_disk_thresholds_are_a_config_error(day, tmp_path):
    r = run_hft("replay", "--data", str(day), "-s", "mm", cwd=tmp_path,
                env={"HFT_HOME": str(tmp_path), "HFT_DISK_THRESHOLDS": "halt=lots"})
    assert r.code == 11 and "halt" in r.err and "Traceback" not in r.err


def test_a_run_the_store_refused_leaves_no_run_folder(day, tmp_path):
    # the run is recorded before its folder is moved into place: a refused record leaves no folder (nor its
    # temp one), so the same command runs again without --force once the store takes it
    run = tmp_path / "run"
    r = run_hft("replay", "--data", str(day), "-s", "mm", "--out", str(run), cwd=tmp_path,
                env={"HFT_HOME": str(tmp_path), "HFT_DISK_THRESHOLDS": "halt=100%"}, timeout=900)
    assert r.code == 15, r.err
    assert not run.exists() and not [p.name for p in tmp_path.iterdir() if p.name.startswith(".run.")]
    again = run_hft("replay", "--data", str(day), "-s", "mm", "--out", str(run), "--json", cwd=tmp_path,
                    env={"HFT_HOME": str(tmp_path)}, timeout=900)
    assert again.code == 0, again.err
    assert (run / "summary.json").is_file() and again.json()["store"]["fills_in_store"] > 0
