"""Migration 004: ``sim.runs`` names a run's symbols and when it ran (``symbols``, ``wall_ts``, ``wall_s``), on a
store created before it; WAL frames of the topic's version 1 still load; `run_row` fills the new columns."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap

from hft.core.ids import stable_id
from hft.recorder import topics as topics_mod
from hft.recorder.loader import WALLoader
from hft.recorder.sim_runs import run_row
from hft.recorder.topics import TOPICS
from hft.recorder.wal_first import WALConfig, WALFirstWriter

NEW = ["symbols", "wall_ts", "wall_s"]

# Its own process: chDB admits one data directory per process and the test session holds one already.
SCRIPT = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    from hft.store import migrations
    from hft.store.store import open_store

    home = Path(sys.argv[1])
    out = {}
    real = migrations.available
    migrations.available = lambda: [m for m in real() if m.version <= 3]
    with open_store(home=home) as s:
        out["v_before"] = s.schema_version
        s.execute("INSERT INTO sim.runs (record_id, ts, run_id, strategy, n_orders) VALUES (7, 0, 'old', 'mm', 3)")
    migrations.available = real
    with open_store(home=home) as s:
        out["v_after"] = s.schema_version
        out["columns"] = [r[0] for r in s.query("SELECT name FROM system.columns WHERE database = 'sim' AND "
                                                "table = 'runs' ORDER BY position").rows]
        out["old"] = s.query("SELECT run_id, n_orders, symbols, toUnixTimestamp64Nano(wall_ts) AS wall_ns, wall_s "
                             "FROM sim.runs").dicts()
    print(json.dumps(out))
''')


def test_004_adds_the_columns_to_an_existing_store(tmp_path):
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "home")], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["v_before"] == 3 and out["v_after"] >= 4
    assert out["columns"] == list(TOPICS["sim.runs"].column_names) and out["columns"][-3:] == NEW
    # a row written before reads the defaults
    assert [{**r, "wall_ns": int(r["wall_ns"])} for r in out["old"]] == [
        {"run_id": "old", "n_orders": 3, "symbols": "[]", "wall_ns": 0, "wall_s": 0.0}]


def _load(store, name, rows, wal_name):
    wal = store.test_home / "wal" / wal_name
    with WALFirstWriter(wal, WALConfig(fsync="never")) as w:
        for row in rows:
            assert w.write(name, row)
    assert WALLoader(store, [wal]).load().records_loaded == len(rows)


def test_run_rows_name_symbols_and_wall_time(store):
    one = {"run_hash": "a" * 32, "strategy": "mm", "symbol": "GOOG", "orders": 5, "wall_s": 0.25}
    pair = {"run_hash": "b" * 32, "strategy": "hedged_mm", "symbols": ["GOOG", "AMZN"], "orders": 9, "wall_s": 1.5}
    _load(store, "sim.runs", [run_row(one, stable_id("a", "run"), wall_ts=1_700_000_000_123_456_789),
                              run_row(pair, stable_id("b", "run"), wall_ts=1_700_000_001_000_000_000)], "runs-v2")
    got = store.query("SELECT run_id, n_orders, symbols, toUnixTimestamp64Nano(wall_ts) AS wall_ns, wall_s "
                      "FROM sim.runs FINAL ORDER BY run_id").dicts()
    assert [(r["run_id"][0], r["n_orders"], json.loads(r["symbols"]), int(r["wall_ns"]), r["wall_s"]) for r in got] == [
        ("a", 5, ["GOOG"], 1_700_000_000_123_456_789, 0.25), ("b", 9, ["GOOG", "AMZN"], 1_700_000_001_000_000_000, 1.5)]


def test_wal_frames_of_version_1_still_load(store, monkeypatch):
    name = "sim.runs"
    cur = TOPICS[name]
    assert cur.version == 2 and (1, len(cur.columns) - len(NEW)) in cur.legacy
    old = dataclasses.replace(cur, version=1, columns=cur.columns[:-len(NEW)], legacy=())
    monkeypatch.setitem(topics_mod.TOPICS, name, old)  # an older build's writer
    wal = store.test_home / "wal" / "runs-v1"
    with WALFirstWriter(wal, WALConfig(fsync="never")) as w:
        assert w.write(name, {"record_id": 11, "ts": 5, "run_id": "from-v1", "n_orders": 2})
    monkeypatch.setitem(topics_mod.TOPICS, name, cur)
    assert WALLoader(store, [wal]).load().records_loaded == 1
    assert store.query("SELECT run_id, n_orders, symbols, wall_s FROM sim.runs WHERE run_id = 'from-v1'").dicts() == [
        {"run_id": "from-v1", "n_orders": 2, "symbols": "[]", "wall_s": 0.0}]
