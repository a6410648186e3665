"""DiskPressureMonitor levels, hooks, resilience, and the writer's per-topic policies."""

from __future__ import annotations

import threading
import time

import pytest

from hft.core.errors import ConfigError
from hft.recorder.disk_monitor import DiskLevel, DiskPressureMonitor, DiskThresholds, Threshold, disk_usage
from hft.recorder.wal_first import WALConfig, WALFirstWriter

GIB = 1 << 30


class FakeDisk:
    def __init__(self, free: int, total: int = 100 * GIB) -> None:
        self.free, self.total, self.fail = free, total, False

    def __call__(self, path):
        if self.fail:
            raise OSError("statvfs exploded")
        return self.free, self.total


def mon(disk, **kw):
    th = DiskThresholds.from_values(warning=kw.pop("warning", "10GiB"), critical=kw.pop("critical", "5%"),
                                    halt=kw.pop("halt", "1GiB"))
    return DiskPressureMonitor("/nowhere", th, usage=disk, **kw)


@pytest.mark.parametrize("free, level", [(50 * GIB, DiskLevel.NORMAL), (10 * GIB, DiskLevel.WARNING),
                                         (5 * GIB, DiskLevel.CRITICAL), (GIB + 1, DiskLevel.CRITICAL),
                                         (GIB, DiskLevel.HALT), (0, DiskLevel.HALT)])
def test_levels_from_bytes_and_percent(free, level):
    assert mon(FakeDisk(free)).check_now() == level


def test_threshold_parsing():
    assert Threshold.parse("5%").free_bytes(200) == 10
    assert Threshold.parse("2KiB").free_bytes(1) == 2048
    assert Threshold.parse(100).bytes == 100
    for bad in ("lots", "150%", "-1GB", "x%"):
        with pytest.raises(ConfigError):
            Threshold.parse(bad)
    th = DiskThresholds.from_mapping({"warning": "20%", "critical": "1GiB", "halt": 1000})
    assert th.halt.bytes == 1000
    with pytest.raises(ConfigError, match=r"unknown key 'disk\.panic'"):
        DiskThresholds.from_mapping({"panic": "1%"})


def test_hooks_fire_on_change_only_and_a_failing_hook_is_survived():
    disk = FakeDisk(50 * GIB)
    m = mon(disk)
    seen = []
    m.add_hook(lambda old, new, free: seen.append((old, new)))
    m.add_hook(lambda old, new, free: 1 / 0)
    m.check_now()
    m.check_now()
    disk.free = 3 * GIB
    m.check_now()
    disk.free = 100
    m.check_now()
    disk.free = 50 * GIB
    m.check_now()
    assert seen == [(DiskLevel.NORMAL, DiskLevel.CRITICAL), (DiskLevel.CRITICAL, DiskLevel.HALT),
                    (DiskLevel.HALT, DiskLevel.NORMAL)]
    assert m.hook_errors == 3


def test_monitor_survives_its_own_errors_and_keeps_the_last_level():
    disk = FakeDisk(100)
    m = mon(disk)
    assert m.check_now() == DiskLevel.HALT
    disk.fail = True
    assert m.check_now() == DiskLevel.HALT
    assert m.errors == 1 and "statvfs exploded" in m.last_error
    disk.fail, disk.free = False, 50 * GIB
    assert m.check_now() == DiskLevel.NORMAL


def test_background_thread_tracks_changes_and_reads_are_cheap():
    disk = FakeDisk(50 * GIB)
    changed = threading.Event()
    with mon(disk, interval_s=0.01) as m:
        m.add_hook(lambda old, new, free: changed.set())
        disk.free = 0
        assert changed.wait(2)
        assert m.level == DiskLevel.HALT
        t0 = time.perf_counter()
        for _ in range(100_000):
            _ = m.level
        assert time.perf_counter() - t0 < 0.5
    assert m._thread is None


def test_real_statvfs(tmp_path):
    free, total = disk_usage(tmp_path)
    assert 0 < free <= total


def fill(i):
    return {"ts": i, "run_id": "r", "fill_id": i}


def audit(i):
    return {"ts": i, "alpha_id": "a", "gate": "A", "passed": True}


def test_writer_refuses_at_halt_and_counts_data_loss(tmp_path):
    disk = FakeDisk(50 * GIB)
    m = mon(disk)
    m.check_now()
    with WALFirstWriter(tmp_path, WALConfig(fsync="never"), monitor=m) as w:
        assert w.write("audit.alpha_gate_decisions", audit(0))
        disk.free = 0
        m.check_now()
        assert w.write("audit.alpha_gate_decisions", audit(1)) is False
        assert w.write_many("sim.fills", [fill(1), fill(2)]) is False
        assert w.stats.data_loss_events == 2 and w.stats.records_refused == 3
        disk.free = 50 * GIB
        m.check_now()
        assert w.write("audit.alpha_gate_decisions", audit(2))
        assert w.stats.records_written == 2


def test_critical_policies_per_topic(tmp_path, caplog):
    disk = FakeDisk(3 * GIB)
    m = mon(disk)
    assert m.check_now() == DiskLevel.CRITICAL
    cfg = WALConfig(fsync="never", critical_policy={"audit.alpha_promotions": "halt"})
    with WALFirstWriter(tmp_path, cfg, monitor=m) as w:
        assert w.write("audit.alpha_gate_decisions", audit(0))  # default policy for audit: write
        with caplog.at_level("WARNING", logger="hft.recorder.wal"):
            assert w.write("sim.fills", fill(0)) is False  # default policy for sim.fills: drop
        assert any("dropping sim.fills" in r.message for r in caplog.records)
        assert w.write("audit.alpha_promotions", {"ts": 0, "alpha_id": "a", "from_stage": "x", "to_stage": "y",
                                                  "decision": "promoted"}) is False  # overridden: halt
        assert w.stats.records_dropped == 1 and w.stats.records_refused == 1
        assert w.stats.data_loss_events == 2 and w.stats.records_written == 1
