"""Migrations: applied once, idempotent, and the DDL agrees with the Python record schemas."""

from __future__ import annotations

import pytest

from hft.core.errors import StoreError
from hft.recorder.topics import TOPICS
from hft.store import migrations


def test_schema_is_applied_and_reapplying_is_a_no_op(shared_store):
    assert shared_store.schema_version == migrations.latest_version() >= 1
    assert migrations.migrate(shared_store.backend) == shared_store.schema_version
    rows = shared_store.query("SELECT count() FROM hft_meta.schema_migrations").scalar()
    assert rows == len(migrations.available())


def test_tables_match_the_topic_schemas(shared_store):
    res = shared_store.query("SELECT database || '.' || table, name, type FROM system.columns "
                             "WHERE database IN ('audit', 'sim') ORDER BY database, table, position")
    got: dict[str, list[tuple[str, str]]] = {}
    for table, name, type_ in res.rows:
        got.setdefault(table, []).append((name, type_))
    assert set(got) == set(TOPICS)
    for name, topic in TOPICS.items():
        want = [("record_id", "UInt128")] + [(c.name, c.type) for c in topic.columns]
        assert got[name] == want, name


def test_every_declared_field_has_its_column(shared_store):
    """A field of a declared record (`hft.core.records`) that no migration added fails here, naming the field and
    the statement its migration needs."""
    declared = [t for t in TOPICS.values() if t.record is not None]
    assert declared, "expected topics declared from a record"
    for topic in declared:
        res = shared_store.query(f"SELECT name, type FROM system.columns WHERE database = '{topic.database}' "
                                 f"AND table = '{topic.table}'")
        got = dict(res.rows)
        for name, type_, _default, _doc in topic.record.store_columns():
            assert name in got, (f"{topic.name}: field {name!r} of record {topic.record.name!r} has no column after "
                                 f"the migrations: add hft/store/schema/NNN_*.sql with "
                                 f"`{topic.add_column_sql(name)};`")
            assert got[name] == type_, (f"{topic.name}: field {name!r} of record {topic.record.name!r}: the "
                                        f"migrations made it {got[name]}, the declaration says {type_}")


def test_engines_deduplicate_on_record_id(shared_store):
    res = shared_store.query("SELECT database || '.' || name, engine, sorting_key FROM system.tables "
                             "WHERE database IN ('audit', 'sim')")
    for table, engine, key in res.rows:
        assert engine == "ReplacingMergeTree" and key == "record_id", table


def test_an_edited_applied_migration_is_refused(shared_store, monkeypatch):
    real = migrations.available()
    commented = [migrations.Migration(m.version, m.name, "-- a new comment\n" + m.sql) for m in real]
    monkeypatch.setattr(migrations, "available", lambda: commented)
    assert migrations.migrate(shared_store.backend) == shared_store.schema_version  # comments do not count
    edited = [migrations.Migration(m.version, m.name, m.sql.replace("Int64", "Int32", 1)) for m in real]
    monkeypatch.setattr(migrations, "available", lambda: edited)
    with pytest.raises(StoreError, match="expected checksum"):
        migrations.migrate(shared_store.backend)


def test_statements_split():
    m = migrations.Migration(1, "x", "-- c\nCREATE DATABASE a;\n\nCREATE TABLE a.b (x Int8) ENGINE = Memory;\n")
    assert m.statements() == ["CREATE DATABASE a", "CREATE TABLE a.b (x Int8) ENGINE = Memory"]
