"""Benchmark of the WAL-first recorder and the embedded store → bench/results/bench_store.json.

Measures (medians of several runs):

* WAL append, records/s, batched, without fsync: numpy fast path (``write_array``, 10k records per frame) and
  the dict path (``write_many``, 1k dicts per frame, every field checked), and one ``write()`` per record;
* WAL append with fsync (fdatasync) after every batch;
* load rows/s from the WAL into embedded chDB (``WALLoader``);
* end to end: records/s from the first ``write()`` until a query sees every record.

Goals (issue 5): >= 1,000,000 records/s appended (no fsync, batched), >= 500,000 rows/s loaded into chDB.

Usage: ``python bench/bench_store.py [--quick]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, summarise, write_result

from hft.recorder.loader import WALLoader
from hft.recorder.wal_first import WALConfig, WALFirstWriter
from hft.store.store import open_store

FILL = np.dtype([("ts", "<i8"), ("fill_id", "<u8"), ("order_id", "<i8"), ("side", "i1"), ("price", "<i8"),
                 ("qty", "<i8"), ("liquidity", "i1"), ("fee", "<i8"), ("exch_ts", "<i8")])


def fills_array(n: int, start: int = 0) -> np.ndarray:
    a = np.zeros(n, FILL)
    i = np.arange(start, start + n)
    a["ts"] = 1_700_000_000_000_000_000 + i
    a["exch_ts"] = a["ts"] - 1000
    a["fill_id"] = i
    a["order_id"] = i // 3
    a["side"] = np.where(i % 2 == 0, 1, -1)
    a["price"] = 100_000 + (i % 97)
    a["qty"] = 1 + i % 5
    a["liquidity"] = 1
    a["fee"] = -3
    return a


def fill_dicts(n: int, start: int = 0) -> list[dict]:
    return [{"ts": 1_700_000_000_000_000_000 + i, "run_id": "bench", "fill_id": i, "order_id": i // 3,
             "symbol_name": "BTCUSDT", "side": 1 if i % 2 == 0 else -1, "price": 100_000 + i % 97, "qty": 1 + i % 5,
             "liquidity": 1, "fee": -3, "exch_ts": 1_700_000_000_000_000_000 + i - 1000}
            for i in range(start, start + n)]


CONST = {"run_id": "bench", "symbol_name": "BTCUSDT"}


def measure(fn, items: int, runs: int, **extra) -> dict:
    """One untimed warm-up call, then `runs` timed calls; each call returns its own elapsed seconds (set-up
    such as building the input batches is excluded)."""
    fn()
    times = [fn() for _ in range(runs)]
    return {**extra, **summarise(times, items)}


def bench_append_array(tmp: Path, n: int, batch: int, fsync: str) -> float:
    d = Path(tempfile.mkdtemp(dir=tmp))
    arrs = [fills_array(batch, k) for k in range(0, n, batch)]
    w = WALFirstWriter(d, WALConfig(fsync=fsync, segment_bytes=256 << 20))
    t0 = time.perf_counter()
    for a in arrs:
        w.write_array("sim.fills", a, const=CONST)
    dt = time.perf_counter() - t0
    w.close()
    shutil.rmtree(d)
    return dt


def bench_append_dicts(tmp: Path, n: int, batch: int) -> float:
    d = Path(tempfile.mkdtemp(dir=tmp))
    batches = [fill_dicts(batch, k) for k in range(0, n, batch)]
    w = WALFirstWriter(d, WALConfig(fsync="never", segment_bytes=256 << 20))
    t0 = time.perf_counter()
    for b in batches:
        w.write_many("sim.fills", b)
    dt = time.perf_counter() - t0
    w.close()
    shutil.rmtree(d)
    return dt


def bench_append_single(tmp: Path, n: int) -> float:
    d = Path(tempfile.mkdtemp(dir=tmp))
    recs = fill_dicts(n)
    w = WALFirstWriter(d, WALConfig(fsync="never", segment_bytes=256 << 20))
    t0 = time.perf_counter()
    for r in recs:
        w.write("sim.fills", r)
    dt = time.perf_counter() - t0
    w.close()
    shutil.rmtree(d)
    return dt


def bench_load(tmp: Path, store, n: int) -> float:
    store.execute("TRUNCATE TABLE sim.fills")
    d = Path(tempfile.mkdtemp(dir=tmp))
    with WALFirstWriter(d, WALConfig(fsync="never", segment_bytes=256 << 20)) as w:
        for k in range(0, n, 100_000):
            w.write_array("sim.fills", fills_array(100_000, k), const=CONST)
    t0 = time.perf_counter()
    rep = WALLoader(store, [d], prune=False).load()
    dt = time.perf_counter() - t0
    assert rep.records_loaded == n
    assert store.count("sim.fills") == n
    shutil.rmtree(d)
    return dt


def bench_end_to_end(tmp: Path, store, n: int, batch: int) -> float:
    store.execute("TRUNCATE TABLE sim.fills")
    d = Path(tempfile.mkdtemp(dir=tmp))
    arrs = [fills_array(batch, k) for k in range(0, n, batch)]
    t0 = time.perf_counter()
    with WALFirstWriter(d, WALConfig(fsync="batch", segment_bytes=64 << 20)) as w:
        for a in arrs:
            w.write_array("sim.fills", a, const=CONST)
    WALLoader(store, [d]).load()
    got = store.count("sim.fills")
    dt = time.perf_counter() - t0
    assert got == n, got
    shutil.rmtree(d)
    return dt


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs (smoke)")
    args = ap.parse_args()
    runs = 3 if args.quick else 5
    n_append = 200_000 if args.quick else 2_000_000
    n_load = 200_000 if args.quick else 2_000_000
    tmp = Path(tempfile.mkdtemp(prefix="hft_bench_store_"))
    try:
        res: dict = {}
        res["wal_append_batched_nofsync_numpy"] = measure(
            lambda: bench_append_array(tmp, n_append, 10_000, "never"), n_append, runs, batch=10_000)
        res["wal_append_batched_nofsync_dicts"] = measure(
            lambda: bench_append_dicts(tmp, n_append // 4, 1000), n_append // 4, runs, batch=1000)
        res["wal_append_single_write_nofsync_dicts"] = measure(
            lambda: bench_append_single(tmp, 100_000), 100_000, runs, batch=1)
        res["wal_append_batched_fsync_per_batch_numpy"] = measure(
            lambda: bench_append_array(tmp, n_append // 4, 10_000, "batch"), n_append // 4, runs, batch=10_000)
        res["wal_append_fsync_per_batch_small_batches"] = measure(
            lambda: bench_append_array(tmp, 20_000, 100, "batch"), 20_000, runs, batch=100)
        home = tmp / "home"
        t0 = time.perf_counter()
        store = open_store(home=home)
        open_s = time.perf_counter() - t0
        try:
            res["store_open_and_migrate_s"] = round(open_s, 3)
            res["load_into_chdb"] = measure(lambda: bench_load(tmp, store, n_load), n_load, runs)
            res["end_to_end_write_to_queryable"] = measure(
                lambda: bench_end_to_end(tmp, store, n_load // 2, 10_000), n_load // 2, runs, batch=10_000,
                fsync="batch")
        finally:
            store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    append = res["wal_append_batched_nofsync_numpy"]["per_s_median"]
    load = res["load_into_chdb"]["per_s_median"]
    goals = {
        "append_records_per_s_nofsync_batched": {"goal": 1_000_000, "measured": append,
                                                 "met": append >= 1_000_000},
        "load_rows_per_s_chdb": {"goal": 500_000, "measured": load, "met": load >= 500_000},
    }

    def ver(p: str) -> str | None:
        try:
            return metadata.version(p)
        except metadata.PackageNotFoundError:
            return None

    machine = machine_info()
    machine.update({"chdb": ver("chdb"), "chdb-core": ver("chdb-core")})
    out = {"bench": "store", "quick": args.quick, "unit": "seconds per run; per_s = records per second",
           "machine": machine, "goals": goals, "results": res}
    path = write_result("bench_store", out)
    for name, r in res.items():
        shown = f"{r['per_s_median']:>12,} /s" if isinstance(r, dict) else r
        print(f"{name:45s} {shown}")
    print(f"goals: {goals}\nwrote {path}")
    return 0 if all(g["met"] for g in goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
