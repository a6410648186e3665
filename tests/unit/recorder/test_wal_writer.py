"""WALFirstWriter: framing, rotation, manifest, fsync policies, ids, torn tails and corrupt middles."""

from __future__ import annotations

import json
import logging
import os
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hft.core.errors import ConfigError, StoreError
from hft.recorder import wal_format as wf
from hft.recorder.manifest import read_manifest
from hft.recorder.wal_first import WALConfig, WALFirstWriter, id_high, open_writer


def fill(i: int) -> dict:
    return {"ts": 1_700_000_000_000_000_000 + i, "run_id": "r1", "fill_id": i, "symbol_name": "X", "side": 1,
            "price": 100 + i, "qty": 1}


def scan_dir(wal_dir):
    frames = []
    for _no, path in wf.list_segments(wal_dir):
        base, data = wf.read_segment(path)
        res = wf.scan_buffer(data, base, base=base)
        assert res.status == "ok", res
        frames += res.frames
    return frames


def test_records_are_framed_and_scanned_back(tmp_path):
    with WALFirstWriter(tmp_path, WALConfig(fsync="never")) as w:
        assert w.write("sim.fills", fill(0))
        assert w.write_many("sim.fills", [fill(i) for i in range(1, 11)])
        assert w.write_many("sim.fills", [])
    frames = scan_dir(tmp_path)
    assert [f.n_records for f in frames] == [1, 10]
    assert all(f.topic_id == 9 for f in frames)
    assert w.stats.records_written == 11 and w.stats.frames_written == 2


def test_a_refused_record_never_reaches_the_wal_and_keeps_sequence(tmp_path):
    with WALFirstWriter(tmp_path, WALConfig(fsync="never")) as w:
        with pytest.raises(StoreError, match="unknown field"):
            w.write("sim.fills", {**fill(0), "nope": 1})
        with pytest.raises(StoreError, match="unknown topic"):
            w.write("sim.nothing", fill(0))
        assert w.write("sim.fills", fill(0))
    assert [f.n_records for f in scan_dir(tmp_path)] == [1]


def test_segments_rotate_by_size_and_the_manifest_lists_them(tmp_path):
    cfg = WALConfig(segment_bytes=8192, fsync="never")
    with WALFirstWriter(tmp_path, cfg) as w:
        for i in range(300):
            w.write("sim.fills", fill(i))
    segs = wf.list_segments(tmp_path)
    assert len(segs) > 3
    assert all(p.stat().st_size <= 8192 for _, p in segs)
    m = read_manifest(tmp_path)
    assert sorted(int(k) for k in m["segments"]) == [no for no, _ in segs]
    assert all(m["segments"][str(no)]["sealed"] for no, _ in segs[:-1])
    assert sum(v["records"] for v in m["segments"].values()) == 300
    assert sum(f.n_records for f in scan_dir(tmp_path)) == 300


def _rotate_once(w: WALFirstWriter, i: int) -> int:
    """Write records until the writer is in its next segment; returns the next record number."""
    no = w.position()[0]
    while w.position()[0] == no:
        w.write("sim.fills", fill(i))
        i += 1
    return i


@pytest.mark.parametrize("policy", ["batch", "interval", "never"])
def test_the_next_segment_is_made_ahead_and_renamed_in_at_rotation(tmp_path, policy):
    """Under fsync=interval or never a rotation renames a segment made ahead (hidden from readers) and the
    manifest follows in the background; under batch it rotates in line. Either way: every record back in order,
    every segment but the last sealed, no spare file left, and a stale one from a killed writer removed."""
    (tmp_path / ".seg-00000009.wal.spare").write_bytes(b"left by a killed writer")
    cfg = WALConfig(segment_bytes=8192, fsync=policy, fsync_interval_s=0.01)
    w = WALFirstWriter(tmp_path, cfg)
    assert not (tmp_path / ".seg-00000009.wal.spare").exists()
    i = _rotate_once(w, 0)
    if policy != "batch":
        w._spare_thread.join()
        spare = tmp_path / ".seg-00000003.wal.spare"
        assert spare.stat().st_size == wf.SEGMENT_HEADER_SIZE  # ready for the next rotation
        assert [no for no, _ in wf.list_segments(tmp_path)] == [1, 2]  # not a segment to readers
        i = _rotate_once(w, i)
        assert not spare.exists() and (tmp_path / wf.segment_name(3)).exists()  # renamed in
    for _ in range(3):
        i = _rotate_once(w, i)
    w.close()
    assert not list(tmp_path.glob(".seg-*.spare"))
    segs = wf.list_segments(tmp_path)
    m = read_manifest(tmp_path)
    assert sorted(int(k) for k in m["segments"]) == [no for no, _ in segs]
    assert all(m["segments"][str(no)]["sealed"] for no, _ in segs[:-1])
    assert sum(v["records"] for v in m["segments"].values()) == i
    frames = scan_dir(tmp_path)
    assert sum(f.n_records for f in frames) == i and w.stats.rotations == len(segs) - 1


@pytest.mark.parametrize("policy", ["batch", "interval", "never"])
def test_fsync_policies(tmp_path, policy):
    cfg = WALConfig(fsync=policy, fsync_interval_s=0.01)
    w = WALFirstWriter(tmp_path, cfg)
    for i in range(5):
        w.write("sim.fills", fill(i))
    if policy == "interval":
        deadline = time.monotonic() + 2
        while w.stats.fsyncs == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
    n = w.stats.fsyncs
    w.close()
    if policy == "batch":
        assert n == 5
    elif policy == "interval":
        assert 1 <= n <= 5
    else:
        assert n == 0 and w.stats.fsyncs == 0


def test_auto_ids_are_stable_per_namespace_and_unique_per_session(tmp_path):
    def ids(d, ns):
        with WALFirstWriter(d, WALConfig(fsync="never"), id_namespace=ns) as w:
            w.write_many("sim.fills", [fill(i) for i in range(3)])
        return w

    ids(tmp_path / "a", "run-1")
    ids(tmp_path / "b", "run-1")
    a = (tmp_path / "a" / "seg-00000001.wal").read_bytes()
    b = (tmp_path / "b" / "seg-00000001.wal").read_bytes()
    # same namespace -> same record ids (bytes differ only in written_ns / crc)
    fa, fb = scan_dir(tmp_path / "a")[0], scan_dir(tmp_path / "b")[0]
    assert a[fa.payload_offset:fa.end] == b[fb.payload_offset:fb.end]
    hi = id_high("run-1", "sim.fills")
    assert int.from_bytes(a[fa.payload_offset + 8:fa.payload_offset + 16], "little") == hi
    # default namespace: a new session of the same directory gets different ids
    w1 = WALFirstWriter(tmp_path / "c", WALConfig(fsync="never"))
    w1.close()
    w2 = WALFirstWriter(tmp_path / "c", WALConfig(fsync="never"))
    w2.close()
    assert w1.id_namespace != w2.id_namespace


def test_explicit_record_ids_are_kept(tmp_path):
    rid = "0123456789abcdef0123456789abcdef"
    with WALFirstWriter(tmp_path, WALConfig(fsync="never")) as w:
        w.write("sim.fills", {**fill(0), "record_id": rid})
    f = scan_dir(tmp_path)[0]
    raw = (tmp_path / "seg-00000001.wal").read_bytes()[f.payload_offset:f.payload_offset + 16]
    lo, hi = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little")
    assert f"{hi * 2**64 + lo:032x}" == rid


def test_numpy_fast_path_appends_batches(tmp_path):
    arr = np.zeros(1000, [("ts", "<i8"), ("price", "<i8"), ("qty", "<i8")])
    arr["ts"] = np.arange(1000)
    with WALFirstWriter(tmp_path, WALConfig(fsync="never")) as w:
        assert w.write_array("sim.fills", arr, const={"run_id": "r", "symbol_name": "S"})
        assert w.write("sim.fills", fill(0))  # continues the same sequence
    frames = scan_dir(tmp_path)
    assert [f.n_records for f in frames] == [1000, 1]


def test_one_writer_per_directory_names_the_holder(tmp_path):
    w = WALFirstWriter(tmp_path)
    try:
        with pytest.raises(StoreError, match=rf"held by pid {os.getpid()} on host"):
            WALFirstWriter(tmp_path)
    finally:
        w.close()
    WALFirstWriter(tmp_path).close()


def _torn(tmp_path, tail: bytes):
    with WALFirstWriter(tmp_path, WALConfig(fsync="never")) as w:
        for i in range(10):
            w.write("sim.fills", fill(i))
    seg = tmp_path / "seg-00000001.wal"
    good = seg.stat().st_size
    with open(seg, "ab") as f:
        f.write(tail)
    return seg, good


@pytest.mark.parametrize("kind", ["half_frame", "header_only", "zeros", "bad_crc"])
def test_torn_tail_is_truncated_reported_and_counted(tmp_path, caplog, kind):
    frame = wf.encode_frame(9, 1, 1, b"x" * 80, 0)
    tail = {"half_frame": frame[:50], "header_only": frame[:10], "zeros": b"\0" * 4096,
            "bad_crc": frame[:-1] + bytes([frame[-1] ^ 0xFF])}[kind]
    seg, good = _torn(tmp_path, tail)
    with caplog.at_level(logging.WARNING, logger="hft.recorder.wal"):
        w = WALFirstWriter(tmp_path, WALConfig(fsync="never"))
    assert seg.stat().st_size == good
    assert w.stats.torn_tail_truncations == 1 and w.stats.torn_bytes_truncated == len(tail)
    assert any("torn tail" in r.message for r in caplog.records)
    assert w.write("sim.fills", fill(99))
    w.close()
    assert sum(f.n_records for f in scan_dir(tmp_path)) == 11
    torn = read_manifest(tmp_path)["torn_tails"]
    assert len(torn) == 1 and torn[0]["offset"] == good and torn[0]["segment"] == 1


def test_corrupt_middle_of_the_newest_segment_is_an_error_not_a_truncation(tmp_path):
    with WALFirstWriter(tmp_path, WALConfig(fsync="never")) as w:
        for i in range(10):
            w.write("sim.fills", fill(i))
    frames = scan_dir(tmp_path)
    seg = tmp_path / "seg-00000001.wal"
    data = bytearray(seg.read_bytes())
    bad = frames[4]
    data[bad.payload_offset + 3] ^= 0x55
    seg.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=rf"seg-00000001.wal: corrupt WAL frame at offset {bad.offset}") as ei:
        WALFirstWriter(tmp_path)
    assert ei.value.fields["segment"] == "seg-00000001.wal" and ei.value.fields["offset"] == bad.offset
    assert seg.stat().st_size == len(data)  # nothing cut off


def test_segment_killed_while_being_created_is_repaired(tmp_path):
    with WALFirstWriter(tmp_path, WALConfig(fsync="never")) as w:
        w.write("sim.fills", fill(0))
    (tmp_path / "seg-00000002.wal").write_bytes(b"HFTW")
    w = WALFirstWriter(tmp_path, WALConfig(fsync="never"))
    assert w.stats.torn_tail_truncations == 1
    assert w.write("sim.fills", fill(1))
    w.close()
    assert sum(f.n_records for f in scan_dir(tmp_path)) == 2


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 40), min_size=1, max_size=12), st.data())
def test_property_any_cut_keeps_exactly_the_complete_frames(tmp_path_factory, batches, data):
    d = tmp_path_factory.mktemp("wal")
    with WALFirstWriter(d, WALConfig(fsync="never", segment_bytes=1 << 20)) as w:
        ends = []
        k = 0
        for n in batches:
            w.write_many("sim.fills", [fill(k + i) for i in range(n)])
            k += n
            ends.append(w.current_segment[1])
    seg = d / "seg-00000001.wal"
    size = seg.stat().st_size
    cut = data.draw(st.integers(wf.SEGMENT_HEADER_SIZE, size))
    os.truncate(seg, cut)
    kept = [e for e in ends if e <= cut]
    w2 = WALFirstWriter(d, WALConfig(fsync="never"))
    w2.close()
    assert seg.stat().st_size == (kept[-1] if kept else wf.SEGMENT_HEADER_SIZE)
    assert sum(f.n_records for f in scan_dir(d)) == sum(batches[:len(kept)])
    assert w2.stats.torn_tail_truncations == (0 if cut in (*ends, wf.SEGMENT_HEADER_SIZE) else 1)


def test_config_is_strict():
    cfg = WALConfig.from_mapping({"segment_bytes": "1MiB", "fsync": "batch", "fsync_interval": "50ms",
                                  "critical_policy": {"sim.fills": "halt"}}, "gw.yaml")
    assert cfg.segment_bytes == 1 << 20 and cfg.fsync == "batch" and cfg.fsync_interval_s == 0.05
    assert cfg.critical_policy == {"sim.fills": "halt"}
    with pytest.raises(ConfigError, match=r"unknown key 'wal\.fsnyc'"):
        WALConfig.from_mapping({"fsnyc": "batch"}, "gw.yaml")
    with pytest.raises(ConfigError, match=r"wal\.fsync"):
        WALConfig.from_mapping({"fsync": "always"}, "gw.yaml")
    with pytest.raises(ConfigError, match=r"critical_policy\.sim\.fills"):
        WALConfig.from_mapping({"critical_policy": {"sim.fills": "explode"}}, "gw.yaml")
    with pytest.raises(ConfigError, match="segment_bytes"):
        WALConfig.from_mapping({"segment_bytes": "lots"}, "gw.yaml")


def test_open_writer_uses_hft_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HFT_HOME", str(tmp_path / "home"))
    with open_writer("gw") as w:
        w.write("sim.fills", fill(0))
    assert (tmp_path / "home" / "wal" / "gw" / "seg-00000001.wal").exists()
    assert json.loads((tmp_path / "home" / "wal" / "gw" / "manifest.json").read_text())["writer_sessions"] == 1
    with pytest.raises(StoreError):
        open_writer("../x")


def test_a_short_write_is_completed(tmp_path, monkeypatch):
    import hft.recorder.wal_first as wal_first

    real_write = os.write

    def short_writev(fd, bufs):
        data = b"".join(bytes(b) for b in bufs)
        return real_write(fd, data[:10])

    monkeypatch.setattr(wal_first.os, "writev", short_writev)
    with WALFirstWriter(tmp_path, WALConfig(fsync="never")) as w:
        assert w.write_many("sim.fills", [fill(i) for i in range(5)])
        assert w.write_array("sim.fills", np.zeros(3, [("ts", "<i8")]), const={"run_id": "r"})
    assert [f.n_records for f in scan_dir(tmp_path)] == [5, 3]


def test_disk_full_cuts_the_partial_frame_and_refuses(tmp_path, monkeypatch):
    import errno

    import hft.recorder.wal_first as wal_first

    real_write = os.write
    with WALFirstWriter(tmp_path, WALConfig(fsync="never")) as w:
        assert w.write("sim.fills", fill(0))

        def full(fd, bufs):
            real_write(fd, bytes(bufs[0])[:7])  # part of the frame made it, then ENOSPC
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(wal_first.os, "writev", full)
        assert w.write("sim.fills", fill(1)) is False
        assert w.stats.write_errors == 1 and w.stats.data_loss_events == 1
        monkeypatch.undo()
        assert w.write("sim.fills", fill(2))
    assert [f.n_records for f in scan_dir(tmp_path)] == [1, 1]


def _journal(n: int) -> np.ndarray:
    arr = np.zeros(n, [("ts", "<i8"), ("order_id", "<i8"), ("price", "<i8")])
    arr["order_id"] = np.arange(n)
    return arr


def test_several_array_frames_go_out_in_one_writev_and_read_back_as_written_one_by_one(tmp_path, monkeypatch):
    """`write_arrays`: a step's frames with one system call, each its own frame with the ids and bytes
    `write_array` gives; an empty batch is skipped; a group that does not fit the segment goes frame by frame."""
    import hft.recorder.wal_first as wal_first

    calls = []
    real = os.writev

    def counted(fd, bufs):
        calls.append(len(bufs))
        return real(fd, bufs)

    monkeypatch.setattr(wal_first.os, "writev", counted)
    batches = [("sim.orders", _journal(3), {"run_id": "live", "source": "report"}, None),
               ("sim.fills", np.zeros(0, [("ts", "<i8")]), {"run_id": "live"}, None),
               ("sim.fills", _journal(2)[["ts", "order_id", "price"]], {"run_id": "live", "symbol_name": "S"}, None)]
    with WALFirstWriter(tmp_path / "many", WALConfig(fsync="never"), id_namespace="n") as w:
        assert w.write_arrays(batches) == [True, True, True]
        assert calls == [4]  # two frames: two headers, two payloads
        assert w.stats.frames_written == 2 and w.stats.records_written == 5
    with WALFirstWriter(tmp_path / "one", WALConfig(fsync="never"), id_namespace="n") as w:
        for topic, arr, const, strings in batches:
            assert w.write_array(topic, arr, const, strings)
    assert [(f.topic_id, f.n_records) for f in scan_dir(tmp_path / "many")] == [(8, 3), (9, 2)]

    def payloads(d):
        base, data = wf.read_segment(wf.list_segments(d)[0][1])
        return [data[f.payload_offset - base:f.end - base] for f in scan_dir(d)]
    assert payloads(tmp_path / "many") == payloads(tmp_path / "one")
    calls.clear()
    with WALFirstWriter(tmp_path / "small", WALConfig(segment_bytes=4096, fsync="never")) as w:
        big = [("sim.orders", _journal(60), {"run_id": "live", "source": "report"}, None)] * 2  # ~2 x 3.4 kB
        assert w.write_arrays(big) == [True, True]
        assert len(calls) == 2 and w.stats.rotations == 1


def test_a_batch_refused_by_disk_pressure_is_left_out_of_the_group(tmp_path):
    from hft.recorder.disk_monitor import DiskPressureMonitor, DiskThresholds

    free = [3 << 30]
    m = DiskPressureMonitor("/nowhere", DiskThresholds.from_values(warning="10GiB", critical="5%", halt="1GiB"),
                            usage=lambda _p: (free[0], 100 << 30))
    m.check_now()  # CRITICAL: sim.fills drops (its default), sim.orders is written
    with WALFirstWriter(tmp_path, WALConfig(fsync="never", critical_policy={"sim.orders": "write"}), monitor=m) as w:
        got = w.write_arrays([("sim.orders", _journal(3), {"run_id": "live", "source": "report"}, None),
                              ("sim.fills", _journal(2), {"run_id": "live", "symbol_name": "S"}, None)])
        assert got == [True, False]
        assert w.stats.records_dropped == 2 and w.stats.records_written == 3
    assert [(f.topic_id, f.n_records) for f in scan_dir(tmp_path)] == [(8, 3)]
