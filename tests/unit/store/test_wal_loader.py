"""The loader against the real embedded engine: in order, in batches, idempotent, all-or-nothing on corruption."""

from __future__ import annotations

import numpy as np
import pytest

from hft.core.errors import StoreError
from hft.core.ids import stable_id
from hft.recorder import wal_format as wf
from hft.recorder.loader import WALLoader, backlog
from hft.recorder.manifest import read_manifest
from hft.recorder.wal_first import WALConfig, WALFirstWriter


def fill(i: int) -> dict:
    return {"ts": 1_700_000_000_000_000_000 + i, "run_id": "r1", "fill_id": i, "order_id": i // 3,
            "symbol_name": "BTCUSDT", "side": 1 if i % 2 else -1, "price": 10_000 + i, "qty": 1 + i % 5,
            "liquidity": 1, "fee": -2, "exch_ts": 1_700_000_000_000_000_000 + i}


def decision(i: int) -> dict:
    return {"ts": i, "run_id": "r1", "seq": i, "key": 1000 + i, "symbol": 3, "symbol_name": "BTCUSDT",
            "kind": 1, "side": 1, "price": 100, "qty": 2, "accepted": i % 3 != 0,
            "reason": 0 if i % 3 else 30, "reason_name": "" if i % 3 else "POSITION_LIMIT",
            "details": {"i": i}}


def write_mixed(d, n_batches=20, per_batch=50, segment_bytes=64 * 1024, ns="t"):
    with WALFirstWriter(d, WALConfig(fsync="never", segment_bytes=segment_bytes), id_namespace=ns) as w:
        k = 0
        for _b in range(n_batches):
            w.write_many("sim.fills", [fill(k + i) for i in range(per_batch)])
            w.write_many("audit.gateway_decisions", [decision(k + i) for i in range(per_batch)])
            k += per_batch
    return k


def raw_count(store, table):
    return int(store.query(f"SELECT count() FROM {table} SETTINGS final = 0").scalar())


def test_load_roundtrip_values_and_ids(store, tmp_path):
    rid = stable_id("decision", "x")
    with WALFirstWriter(tmp_path / "w", WALConfig(fsync="never")) as w:
        w.write("audit.gateway_decisions", {**decision(5), "record_id": rid})
        w.write("sim.fills", fill(3))
    rep = WALLoader(store, [tmp_path / "w"]).load()
    assert rep.records_loaded == 2 and rep.tables == {"audit.gateway_decisions": 1, "sim.fills": 1}
    row = store.query("SELECT lower(leftPad(hex(record_id), 32, '0')) AS rid, * EXCEPT record_id "
                      "FROM audit.gateway_decisions").dicts()[0]
    assert row["rid"] == rid
    assert row["key"] == 1005 and row["accepted"] is True and row["details"] == '{"i":5}'
    assert row["ts"] == "1970-01-01 00:00:00.000000005"
    f = store.query("SELECT toUnixTimestamp64Nano(ts) AS ts, side, price, fee, symbol_name FROM sim.fills").dicts()[0]
    assert f == {"ts": fill(3)["ts"], "side": 1, "price": 10_003, "fee": -2, "symbol_name": "BTCUSDT"}


def test_load_in_batches_across_segments_then_rerun_is_a_no_op(store, tmp_path):
    d = tmp_path / "w"
    n = write_mixed(d)
    sealed = len(wf.list_segments(d)) - 1  # the last segment is the one being written
    assert sealed >= 3
    bl = backlog([d])
    assert bl["records"] == 2 * n and bl["bytes"] > 0 and bl["lag_s"] >= 0 and bl["eta_s"] is None
    rep = WALLoader(store, [d], batch_rows=120).load()
    assert rep.records_loaded == 2 * n and rep.batches > 5
    assert raw_count(store, "sim.fills") == n and raw_count(store, "audit.gateway_decisions") == n
    assert len(wf.list_segments(d)) == 1 and rep.segments_pruned == sealed  # loaded sealed segments are pruned
    again = WALLoader(store, [d]).load()
    assert again.records_loaded == 0
    bl = backlog([d])
    assert bl["records"] == 0 and bl["eta_s"] == 0.0 and bl["last_rows_per_s"] > 0
    # more writes later: only those are loaded
    with WALFirstWriter(d, WALConfig(fsync="never")) as w:
        w.write_many("sim.fills", [fill(10_000 + i) for i in range(7)])
    assert backlog([d])["records"] == 7
    assert WALLoader(store, [d]).load().records_loaded == 7
    assert raw_count(store, "sim.fills") == n + 7


def test_segments_a_live_snapshot_still_needs_are_kept_until_a_newer_one_covers_them(store, tmp_path):
    """`WALFirstWriter.needed_from` (the live service's newest snapshot): the loader loads every record but
    deletes loaded sealed segments only below it; a later run deletes them once the mark has moved on."""
    d = tmp_path / "w"
    n = write_mixed(d)
    nos = [no for no, _ in wf.list_segments(d)]
    assert len(nos) >= 4  # (how many: the records' sizes decide)
    with WALFirstWriter(d, WALConfig(fsync="never")) as w:
        w.needed_from(nos[1])
    rep = WALLoader(store, [d]).load()
    assert rep.records_loaded == 2 * n and rep.segments_pruned == 1
    assert [no for no, _ in wf.list_segments(d)] == nos[1:]
    assert read_manifest(d)["needed_from"] == nos[1]
    with WALFirstWriter(d, WALConfig(fsync="never")) as w:
        w.needed_from(nos[-1])
    rep = WALLoader(store, [d]).load()
    assert rep.records_loaded == 0 and rep.segments_pruned == len(nos) - 2
    assert [no for no, _ in wf.list_segments(d)] == nos[-1:]


def test_interrupted_batch_is_redone_with_the_same_tokens(store, tmp_path):
    d = tmp_path / "w"
    n = write_mixed(d, n_batches=10)
    loader = WALLoader(store, [d], batch_rows=300)
    calls = []

    def boom(table):
        calls.append(table)
        if len(calls) == 3:  # after the first table of the second batch: mid-batch
            raise KeyboardInterrupt("killed")

    loader._after_insert_hook = boom
    with pytest.raises(KeyboardInterrupt):
        loader.load()
    m = read_manifest(d)
    assert m["pending"] is not None
    partial = raw_count(store, "sim.fills") + raw_count(store, "audit.gateway_decisions")
    assert 0 < partial < 2 * n
    rep = WALLoader(store, [d], batch_rows=1_000_000).load()
    assert rep.redone_pending_batches == 1
    # the re-inserted block was dropped by insert deduplication: no duplicate even without FINAL
    assert raw_count(store, "sim.fills") == n and raw_count(store, "audit.gateway_decisions") == n
    assert store.query("SELECT uniqExact(record_id) FROM sim.fills").scalar() == n
    assert read_manifest(d)["pending"] is None


def test_duplicates_never_show_to_queries_even_without_tokens(store, tmp_path):
    with WALFirstWriter(tmp_path / "w", WALConfig(fsync="never")) as w:
        w.write_many("sim.fills", [fill(i) for i in range(10)])
    WALLoader(store, [tmp_path / "w"]).load()
    # replay the same WAL bytes through a second directory (new wal_uid -> new tokens): same ids
    seg = tmp_path / "w" / "seg-00000001.wal"
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "seg-00000001.wal").write_bytes(seg.read_bytes())
    WALLoader(store, [tmp_path / "v"]).load()
    assert raw_count(store, "sim.fills") == 20
    assert store.count("sim.fills") == 10


def _flip_frame(path, k):
    """Flip a payload byte of the k-th frame of a segment; returns that frame."""
    base, data = wf.read_segment(path)
    fr = wf.scan_buffer(data, base, base=base).frames[k]
    buf = bytearray(path.read_bytes())
    buf[fr.payload_offset + 10] ^= 0xFF
    path.write_bytes(bytes(buf))
    return fr


def test_a_corrupt_frame_is_quarantined_and_the_rest_loads(store, tmp_path):
    d = tmp_path / "w"
    n = write_mixed(d, n_batches=10, segment_bytes=16 * 1024)
    segs = wf.list_segments(d)
    assert len(segs) >= 3
    _no, path = segs[1]
    fr = _flip_frame(path, 1)
    other = tmp_path / "other"
    write_mixed(other, n_batches=2, ns="other")
    rep = WALLoader(store, [d, other]).load()
    assert len(rep.quarantined) == 1
    q = rep.quarantined[0]
    assert (q["segment"], q["offset"], q["bytes"]) == (path.name, fr.offset, fr.end - fr.offset)
    assert "CRC mismatch" in q["reason"]
    assert (d / "quarantine" / f"{path.name}.{fr.offset}-{fr.end}.bad").stat().st_size == fr.end - fr.offset
    # every record but the bad frame's loaded, from both WAL directories
    assert rep.records_loaded == 2 * n - fr.n_records + 2 * 2 * 50
    assert raw_count(store, "sim.fills") + raw_count(store, "audit.gateway_decisions") == rep.records_loaded
    assert read_manifest(d)["quarantined"][0]["offset"] == fr.offset
    again = WALLoader(store, [d]).load()  # nothing left, nothing quarantined twice
    assert again.records_loaded == 0 and again.quarantined == []


def test_an_impossible_manifest_offset_is_an_error_and_other_dirs_still_load(store, tmp_path):
    from hft.recorder.manifest import update_manifest

    bad, good = tmp_path / "bad", tmp_path / "good"
    write_mixed(bad, n_batches=2)
    write_mixed(good, n_batches=2, ns="good")
    seg = wf.list_segments(bad)[0][1]
    size = seg.stat().st_size

    def past_end(m):
        m["loaded"] = {"segment": 1, "offset": size + 1000, "records": 0, "bytes": 0}
    update_manifest(bad, past_end)
    with pytest.raises(StoreError) as ei:
        WALLoader(store, [bad, good]).load()
    e = ei.value
    assert f"loaded up to offset {size + 1000}, but the segment holds {size} bytes" in e.message
    assert "the other WAL directories loaded (200 records)" in e.message and e.exit_code == 15
    assert raw_count(store, "sim.fills") == 100

    def mid_frame(m):
        m["loaded"] = {"segment": 1, "offset": wf.SEGMENT_HEADER_SIZE + 5, "records": 0, "bytes": 0}
    update_manifest(bad, mid_frame)
    with pytest.raises(StoreError, match="which is not where a frame of the segment ends: expected a frame boundary"):
        WALLoader(store, [bad]).load()


def test_incomplete_tail_of_the_newest_segment_waits(store, tmp_path):
    d = tmp_path / "w"
    with WALFirstWriter(d, WALConfig(fsync="never")) as w:
        w.write_many("sim.fills", [fill(i) for i in range(5)])
    seg = wf.list_segments(d)[-1][1]
    frame = wf.encode_frame(9, 1, 1, b"\0" * 60, 0)
    with open(seg, "ab") as f:
        f.write(frame[:40])  # a frame still being written
    rep = WALLoader(store, [d]).load()
    assert rep.records_loaded == 5 and rep.tail_pending_bytes == 40
    assert backlog([d])["tail_pending_bytes"] == 40


def test_numpy_batches_and_many_wal_dirs(store, tmp_path, monkeypatch):
    monkeypatch.setenv("HFT_HOME", str(tmp_path))
    from hft.recorder.loader import load, wal_dirs
    from hft.recorder.wal_first import open_writer

    arr = np.zeros(10_000, [("ts", "<i8"), ("fill_id", "<u8"), ("price", "<i8"), ("qty", "<i8")])
    arr["fill_id"] = np.arange(len(arr))
    for name in ("sim-a", "sim-b"):
        with open_writer(name, config=WALConfig(fsync="never")) as w:
            w.write_array("sim.fills", arr, const={"run_id": name, "symbol_name": "S"})
    assert [p.name for p in wal_dirs()] == ["sim-a", "sim-b"]
    rep = load(store)
    assert rep.records_loaded == 20_000
    got = store.query("SELECT run_id, count(), sum(fill_id) FROM sim.fills GROUP BY run_id ORDER BY run_id").rows
    assert got == [["sim-a", 10_000, 49_995_000], ["sim-b", 10_000, 49_995_000]]


def test_a_missing_segment_is_an_error_not_a_silent_gap(store, tmp_path):
    d = tmp_path / "w"
    write_mixed(d, n_batches=10, segment_bytes=16 * 1024)
    segs = wf.list_segments(d)
    segs[1][1].unlink()
    with pytest.raises(StoreError, match=rf"{segs[1][1].name}: expected WAL segment 2 \(not loaded yet\), it is missing"):
        WALLoader(store, [d]).load()
    assert raw_count(store, "sim.fills") == 0


def test_a_kept_backlog_walk_agrees_with_a_fresh_one_as_the_wal_grows_loads_and_tears(store, tmp_path):
    """`WalBacklog.refresh` re-reads only new bytes; after writes, a partial and a full load, a torn tail and its
    truncation by the next writer, it says what a fresh walk (`backlog`) says."""
    from hft.recorder.loader import WalBacklog

    d = tmp_path / "w"
    kept = WalBacklog(d)
    keys = ("records", "bytes", "frames", "tail_pending_bytes", "torn_tails")

    def agree() -> dict:
        a, b = kept.refresh(), backlog([d])
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}
        return a

    n = write_mixed(d, n_batches=6)
    assert agree()["records"] == 2 * n
    with WALFirstWriter(d, WALConfig(fsync="never", segment_bytes=64 * 1024)) as w:
        w.write_many("sim.fills", [fill(20_000 + i) for i in range(30)])
        assert agree()["records"] == 2 * n + 30  # the open segment's new frames only
    WALLoader(store, [d], batch_rows=120, prune=False).load()
    assert agree()["records"] == 0
    with WALFirstWriter(d, WALConfig(fsync="never")) as w:
        w.write_many("sim.fills", [fill(30_000 + i) for i in range(5)])
    last = wf.list_segments(d)[-1][1]
    with open(last, "ab") as f:
        f.write(b"\x00" * 40)  # a torn tail
    assert agree()["tail_pending_bytes"] == 40
    with WALFirstWriter(d, WALConfig(fsync="never")) as w:  # the next writer truncates it
        w.write_many("sim.fills", [fill(40_000 + i) for i in range(2)])
    assert agree()["records"] == 7


class _Claims:
    """Leases on a dict (what `hft.bus.lease.ShardLeases` keeps in NATS KV): `lapse(key)` makes the holder's lease
    lapse (as if not renewed in time), and the next `claim` grants it again."""

    holder = "me"

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.others: dict[str, str] = {}
        self.claims: list[str] = []

    def claim(self, key: str) -> bool:
        if key in self.others:
            return False
        self.claims.append(key)
        self.held.add(key)
        return True

    def valid(self, key: str) -> bool:
        return key in self.held

    def release(self, key: str) -> None:
        self.held.discard(key)

    def holder_of(self, key: str) -> str | None:
        return self.others.get(key, self.holder if key in self.held else None)

    def lapse(self, key: str) -> None:
        self.held.discard(key)


def test_shared_loading_a_lapsed_lease_stops_the_directory_then_it_continues_from_the_manifest(store, tmp_path):
    from hft.recorder.loader import shard_key

    a, b = tmp_path / "a", tmp_path / "b"
    n = write_mixed(a, ns="la") + write_mixed(b, ns="lb")
    claims = _Claims()
    loader = WALLoader(store, [a, b], batch_rows=100, leases=claims, claim_poll_s=0.01)
    inserts = []

    def hook(table):
        inserts.append(loader._key)
        if len(inserts) == 3:  # after the first table of the second batch: mid-batch
            claims.lapse(shard_key(a))

    loader._after_insert_hook = hook
    rep = loader.load()
    assert rep.records_loaded == 2 * n and rep.redone_pending_batches == 1
    ka, kb = shard_key(a), shard_key(b)
    assert claims.claims == [ka, kb, ka]  # a lost, b loaded, a claimed again and finished
    lost, *rest = [c for c in rep.claims if c["key"] == ka]
    assert "lapsed" in lost["lost"] and lost["records"] == 100 and rest[0]["records"] == n - 100
    assert read_manifest(a)["pending"] is None
    for t in ("sim.fills", "audit.gateway_decisions"):
        assert store.count(t) == raw_count(store, t) == n


def test_shared_loading_waits_for_a_directory_another_loader_holds(store, tmp_path):
    import threading

    from hft.recorder.loader import shard_key

    d = tmp_path / "w"
    n = write_mixed(d, n_batches=2, ns="held")
    claims = _Claims()
    claims.others[shard_key(d)] = "another-loader"
    threading.Timer(0.3, lambda: claims.others.clear()).start()  # the other loader releases it
    rep = WALLoader(store, [d], leases=claims, claim_poll_s=0.05).load()
    assert rep.records_loaded == 2 * n and rep.seconds >= 0.3 and len(rep.claims) == 1


class _StoreNotAnswering:
    """The store, whose first `fails` inserts fail as a server that does not answer does (no ClickHouse code), or
    with `code`."""

    def __init__(self, store, fails: int, code: int | None = None) -> None:
        self.store, self.fails, self.code, self.calls = store, fails, code, 0

    def insert_rowbinary(self, *args):
        self.calls += 1
        if self.calls <= self.fails:
            raise StoreError("insert into sim.fills failed: Read timed out", code=self.code)
        self.store.insert_rowbinary(*args)


def test_an_insert_the_store_does_not_answer_is_retried_with_the_same_token(store, tmp_path, monkeypatch):
    import hft.recorder.loader as L

    monkeypatch.setattr(L, "RETRY_BACKOFF_S", (0.01, 0.02))
    d = tmp_path / "w"
    n = write_mixed(d, n_batches=2, ns="retry")
    rep = WALLoader(_StoreNotAnswering(store, 3), [d]).load()
    assert rep.retries == 3 and rep.records_loaded == 2 * n
    assert store.count("sim.fills") == raw_count(store, "sim.fills") == n
    # an error the server answered (a ClickHouse code) is not retried; nor past retry_for_s
    e = tmp_path / "e"
    write_mixed(e, n_batches=1, ns="retry-e")
    with pytest.raises(StoreError, match="Read timed out"):
        WALLoader(_StoreNotAnswering(store, 1, code=241), [e]).load()
    with pytest.raises(StoreError, match="Read timed out"):
        WALLoader(_StoreNotAnswering(store, 100), [e], retry_for_s=0.05).load()
    assert WALLoader(store, [e]).load().records_loaded == 100
