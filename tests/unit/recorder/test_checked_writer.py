"""CLI writers (`open_checked_writer`): disk-pressure monitor attached, and no record lost in silence."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hft.core.errors import ConfigError, StoreError
from hft.recorder.wal_first import open_checked_writer


def _fills(n: int) -> list[dict]:
    return [{"ts": i, "run_id": "r", "fill_id": i} for i in range(n)]


def test_all_acknowledged_is_silent(tmp_path, monkeypatch):
    monkeypatch.delenv("HFT_DISK_THRESHOLDS", raising=False)
    with open_checked_writer("w", home=tmp_path) as w:
        assert w.write_many("sim.fills", _fills(10))
        assert w.monitor is not None and w.monitor.checks >= 1  # the monitor is attached and has looked
    assert w.stats.records_lost == 0


def test_disk_halt_fails_the_writer_with_the_count(tmp_path, monkeypatch):
    monkeypatch.setenv("HFT_DISK_THRESHOLDS", "halt=100%")  # "100% free or less" always holds: HALT
    with pytest.raises(StoreError) as ei, open_checked_writer("w", home=tmp_path, what="fills") as w:
        assert not w.write_many("sim.fills", _fills(10))
        assert not w.write("sim.fills", _fills(1)[0])
    e = ei.value
    assert "11 of 11 fills were not written (disk pressure HALT on the WAL filesystem (policy halt))" in e.message
    assert e.fields["records_lost"] == 11 and e.exit_code == 15


def test_alpha_audit_rows_are_refused_under_halt(tmp_path, monkeypatch):
    from hft.recorder.alpha_audit import write_records

    monkeypatch.setenv("HFT_DISK_THRESHOLDS", "critical=100%,halt=100%")
    with pytest.raises(StoreError, match=r"audit\.policy_transitions"):
        write_records("audit.policy_transitions", [{"ts": 1, "run_id": "r", "scope": "account", "key": "A"}],
                      home=tmp_path)


@pytest.mark.parametrize("value", ["halt", "halt=lots", "nope=5%", "halt=1%,halt=2%", "halt=120%"])
def test_bad_thresholds_are_a_config_error(tmp_path, monkeypatch, value):
    monkeypatch.setenv("HFT_DISK_THRESHOLDS", value)
    with pytest.raises(ConfigError), open_checked_writer("w", home=tmp_path):
        pass


def test_a_real_file_size_limit_fails_the_writer(tmp_path):
    code = (
        "import resource, sys\nfrom pathlib import Path\n"
        "from hft.recorder.wal_first import open_checked_writer\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))\n"
        "with open_checked_writer('w', home=Path(sys.argv[1])) as w:\n"
        "    ok = w.write_many('sim.fills', [{'ts': i, 'run_id': 'r', 'fill_id': i} for i in range(5000)])\n"
        "    print('acknowledged', ok, flush=True)\n")
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120,
                       env={"HFT_DISK_THRESHOLDS": "", "PATH": "/usr/bin:/bin"})
    assert "acknowledged False" in p.stdout
    assert p.returncode == 1 and "StoreError" in p.stderr
    assert "5,000 of 5,000 records were not written (append failed: File too large)" in p.stderr
