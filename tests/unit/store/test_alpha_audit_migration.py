"""Migration 002 (alpha audit columns) on a store created at version 001, and WAL frames of the older topic
versions still loading after the upgrade."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap

from hft.recorder import topics as topics_mod
from hft.recorder.loader import WALLoader
from hft.recorder.topics import TOPICS
from hft.recorder.wal_first import WALConfig, WALFirstWriter
from hft.store import migrations

NEW_COLUMNS = {
    "audit.alpha_gate_decisions": ["version", "run_id", "thresholds", "reasons", "host", "user"],
    "audit.alpha_experiments": ["family", "version", "host", "user", "started_ts", "finished_ts"],
    "audit.alpha_promotions": ["version", "data_hash", "experiment_id", "run_id", "reasons", "approvers", "forced",
                               "host", "user"],
    "audit.alpha_canary_decisions": ["version", "code_hash", "from_state", "to_state", "reasons", "run_id", "host",
                                     "user"],
}

# Runs in its own process: chDB admits one data directory per process and the test session holds one already.
SCRIPT = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    from hft.store import migrations
    from hft.store.store import open_store

    home = Path(sys.argv[1])
    out = {}
    real = migrations.available
    migrations.available = lambda: [m for m in real() if m.version == 1]
    with open_store(home=home) as s:
        out["v_before"] = s.schema_version
        doc = json.dumps({"sharpe": 0.5})
        s.execute("INSERT INTO audit.alpha_experiments (record_id, ts, experiment_id, alpha_id, trial, kind, "
                  f"metrics, status) VALUES (7, 0, 'old-exp', 'obi_l1', 0, 'validate', '{doc}', 'ok')")
        s.execute("INSERT INTO audit.alpha_gate_decisions (record_id, ts, alpha_id, gate, passed) "
                  "VALUES (8, 0, 'obi_l1', 'A', true)")
    migrations.available = real
    with open_store(home=home) as s:
        out["v_after"] = s.schema_version
        out["again"] = migrations.migrate(s.backend)
        out["n_migrations"] = s.query("SELECT count() FROM hft_meta.schema_migrations").scalar()
        out["columns"] = {}
        for db, table, name in s.query("SELECT database, table, name FROM system.columns WHERE database = 'audit' "
                                       "ORDER BY database, table, position").rows:
            out["columns"].setdefault(db + "." + table, []).append(name)
        out["old_gate"] = s.query("SELECT version, thresholds, reasons, host FROM audit.alpha_gate_decisions").dicts()
    with open_store(home=home) as s:  # reopening a migrated store: nothing left to apply
        out["v_reopen"] = s.schema_version
    from hft.alpha.records.experiments import ExperimentRegistry
    from hft.recorder.alpha_audit import AlphaAuditStore
    reg = ExperimentRegistry(AlphaAuditStore(home, wait_s=5))
    [t] = reg.trials()
    out["old_trial"] = {"family": t.family, "version": t.version, "started_ns": t.started_ns, "sharpe": t.sharpe}
    out["family_n"] = reg.family_stats("obi_l1").n_trials
    print(json.dumps(out))
''')


def test_002_applies_on_an_existing_001_store_idempotently(tmp_path):
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "home")], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["v_before"] == 1
    latest = migrations.latest_version()
    assert latest >= 3  # 003_promotion_record
    assert out["v_after"] == out["again"] == out["v_reopen"] == latest
    assert out["n_migrations"] == len(migrations.available())  # every one applied (numbers may skip one until a merge)
    for table, cols in NEW_COLUMNS.items():
        names = out["columns"][table]
        i = names.index(cols[0])
        assert names[i:i + len(cols)] == cols, table
        assert names == list(TOPICS[table].column_names), table
    for table in ("audit.alpha_promotions", "audit.alpha_canary_decisions"):  # 003: the promotion record
        assert out["columns"][table][-4:] == ["promotion_id", "prev_hash", "record_hash", "record"], table
    # rows written before the migration read the defaults
    assert out["old_gate"] == [{"version": "", "thresholds": "{}", "reasons": "[]", "host": ""}]
    assert out["old_trial"] == {"family": "obi_l1", "version": "", "started_ns": 0, "sharpe": 0.5}
    assert out["family_n"] == 1


def test_wal_frames_of_the_previous_topic_version_still_load(store, monkeypatch):
    name = "audit.alpha_experiments"
    cur = TOPICS[name]
    (v1, n1), = cur.legacy
    old = dataclasses.replace(cur, version=v1, columns=cur.columns[:n1], legacy=())
    wal = store.test_home / "wal" / "legacy-v1"
    monkeypatch.setitem(topics_mod.TOPICS, name, old)  # an older build's writer
    with WALFirstWriter(wal, WALConfig(fsync="never")) as w:
        assert w.write(name, {"record_id": 99, "ts": 5, "experiment_id": "from-v1", "alpha_id": "ofi", "trial": 3,
                              "kind": "search", "metrics": {"sharpe": 0.2}, "status": "ok"})
    monkeypatch.setitem(topics_mod.TOPICS, name, cur)
    rep = WALLoader(store, [wal]).load()
    assert rep.records_loaded == 1
    row = store.query(f"SELECT experiment_id, trial, family, version, host, metrics FROM {name} "
                      "WHERE experiment_id = 'from-v1'").dicts()
    assert row == [{"experiment_id": "from-v1", "trial": 3, "family": "", "version": "", "host": "",
                    "metrics": '{"sharpe":0.2}'}]


def test_wal_frames_of_version_2_promotion_topics_still_load(store, monkeypatch):
    """003 appended the promotion record columns: frames an older build wrote at version 2 load with them empty."""
    for name, row in (("audit.alpha_promotions", {"alpha_id": "a", "from_stage": "candidate",
                                                  "to_stage": "promoted", "decision": "promoted"}),
                      ("audit.alpha_canary_decisions", {"alpha_id": "a", "decision": "hold"})):
        cur = TOPICS[name]
        assert (2, len(cur.columns) - 4) in cur.legacy and cur.version == 3
        old = dataclasses.replace(cur, version=2, columns=cur.columns[:-4], legacy=())
        wal = store.test_home / "wal" / f"legacy-v2-{name}"
        monkeypatch.setitem(topics_mod.TOPICS, name, old)
        with WALFirstWriter(wal, WALConfig(fsync="never")) as w:
            assert w.write(name, {"record_id": 123, "ts": 5, **row})
        monkeypatch.setitem(topics_mod.TOPICS, name, cur)
        assert WALLoader(store, [wal]).load().records_loaded == 1
        got = store.query(f"SELECT alpha_id, promotion_id, record_hash, record FROM {name}").dicts()
        assert got == [{"alpha_id": "a", "promotion_id": "", "record_hash": "", "record": ""}]
