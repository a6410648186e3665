"""The read-only SQL guard (`hft audit query`) against ClickHouse's own parser (the embedded engine).

Every table function the engine ships (``system.table_functions``) is tried in every position a function can
take; every statement class ClickHouse has is tried; only reads pass. The end-to-end runs through the real CLI
are in test_store_cli.py, the server path in test_store_server_backend.py.
"""

from __future__ import annotations

import pytest

from hft.core.errors import StoreError
from hft.store.readonly_sql import ALLOWED_TABLE_FUNCTIONS, check_read_only_sql


def _check(store, sql: str) -> None:
    check_read_only_sql(sql, store.explain_ast, store.table_functions())


def _refused(store, sql: str) -> str:
    with pytest.raises(StoreError, match="read-only query refused") as ei:
        _check(store, sql)
    assert ei.value.exit_code == 15 and "\n" not in ei.value.message
    return ei.value.message


def _refused_or_unparsable(store, sql: str) -> str:
    """Refused by the guard, or by ClickHouse's parser (``EXPLAIN AST`` of it fails): either way nothing ran."""
    with pytest.raises(StoreError) as ei:
        _check(store, sql)
    msg = ei.value.message
    assert ei.value.exit_code == 15 and ("read-only query refused" in msg or "Syntax error" in msg), (sql, msg)
    return msg


def _forms(name: str) -> list[str]:
    """Every place a (table) function can be written, with its name as is, upper-cased and back-quoted."""
    return [f"SELECT * FROM {name}('x')", f"SELECT {name}('x')", f"DESCRIBE TABLE {name}('x')",
            f"SELECT * FROM (SELECT * FROM {name.upper()}('x'))", f"EXPLAIN SELECT * FROM `{name}`('x')",
            f"SELECT 1 FROM system.one AS o JOIN {name}('x') AS t ON 1", f"SELECT * FROM view(SELECT * FROM {name}('x'))",
            f"WITH (SELECT count() FROM {name}('x')) AS n SELECT n", f"SELECT 1 WHERE 1 IN (SELECT * FROM {name}('x'))",
            f"SELECT * FROM {name}(SELECT 1)", f"SELECT * FROM {name}(SELECT 1 ELSE null('a UInt8'))"]


def test_every_table_function_the_engine_ships_is_refused_unless_allowlisted(shared_store):
    names = sorted(shared_store.table_functions())
    assert len(names) > 50
    # the ones the review used, and chDB's own, are among those the engine ships
    assert {"file", "url", "executable", "s3", "hdfs", "remote", "mysql", "postgresql", "python"} <= set(names)
    allowed, refusals = [], []
    for name in names:
        for sql in _forms(name):
            if name.lower() in ALLOWED_TABLE_FUNCTIONS:
                try:
                    _check(shared_store, sql)
                except StoreError as exc:  # e.g. `null('x')` as a scalar is a syntax error: not a refusal
                    assert "refused" not in exc.message and "Syntax error" in exc.message, (sql, exc.message)
            else:
                refusals.append(_refused_or_unparsable(shared_store, sql))
        if name.lower() not in ALLOWED_TABLE_FUNCTIONS:  # refused by name wherever ClickHouse parses it
            assert sum(f"table function {name.lower()}()" in m for m in refusals) >= 1, (name, refusals)
            refusals.clear()
        if name.lower() in ALLOWED_TABLE_FUNCTIONS:
            allowed.append(name)
    assert {"numbers", "zeros", "values", "generateRandom"} <= set(allowed)


# Every statement class of ClickHouse's SQL reference, in its writing forms (none may pass).
WRITES = [
    "INSERT INTO audit.gateway_decisions (ts) VALUES (1)",
    "INSERT INTO FUNCTION file('out.tsv', 'TSV') SELECT 1",
    "INSERT INTO audit.gateway_decisions SELECT * FROM audit.gateway_decisions",
    "CREATE DATABASE x", "CREATE TABLE x (a UInt8) ENGINE = Memory", "CREATE TABLE x AS file('a', 'TSV')",
    "CREATE VIEW v AS SELECT 1", "CREATE MATERIALIZED VIEW v ENGINE = Memory AS SELECT 1",
    "CREATE DICTIONARY d (a UInt64) PRIMARY KEY a SOURCE(FILE(path 'x' format 'TSV')) LAYOUT(FLAT()) LIFETIME(0)",
    "CREATE FUNCTION f AS (x) -> x", "CREATE USER u", "CREATE ROLE r", "CREATE ROW POLICY p ON t USING 1 TO ALL",
    "CREATE QUOTA q", "CREATE SETTINGS PROFILE p", "CREATE NAMED COLLECTION c AS a = 1",
    "CREATE TEMPORARY TABLE t (a UInt8)",
    "ALTER TABLE audit.gateway_decisions DELETE WHERE 1", "ALTER TABLE audit.gateway_decisions UPDATE ts = 0 WHERE 1",
    "ALTER TABLE audit.gateway_decisions ADD COLUMN z UInt8", "ALTER TABLE audit.gateway_decisions DROP PARTITION 1",
    "ALTER USER default IDENTIFIED BY 'x'", "ALTER ROLE r", "ALTER QUOTA q", "ALTER SETTINGS PROFILE p",
    "DELETE FROM audit.gateway_decisions WHERE 1", "UPDATE audit.gateway_decisions SET ts = 0 WHERE 1",
    "DROP TABLE audit.gateway_decisions", "DROP DATABASE audit", "DROP USER u", "DROP FUNCTION f",
    "DROP DICTIONARY d", "UNDROP TABLE t", "TRUNCATE TABLE audit.gateway_decisions", "TRUNCATE ALL TABLES FROM audit",
    "RENAME TABLE audit.gateway_decisions TO audit.x", "EXCHANGE TABLES a AND b",
    "ATTACH TABLE t", "DETACH TABLE audit.gateway_decisions", "OPTIMIZE TABLE audit.gateway_decisions FINAL",
    "SYSTEM DROP MARK CACHE", "SYSTEM STOP MERGES", "SYSTEM FLUSH LOGS", "SYSTEM SHUTDOWN",
    "KILL QUERY WHERE 1", "KILL MUTATION WHERE 1", "GRANT ALL ON *.* TO u", "REVOKE ALL ON *.* FROM u",
    "CHECK GRANT SELECT ON *.*", "CHECK TABLE audit.gateway_decisions", "EXISTS TABLE audit.gateway_decisions",
    "SET readonly = 0", "SET ROLE r", "SET DEFAULT ROLE r TO u", "USE audit",
    "WATCH v", "MOVE USER u TO local_directory", "BACKUP TABLE audit.gateway_decisions TO File('b')",
    "RESTORE TABLE audit.gateway_decisions FROM File('b')", "BEGIN TRANSACTION", "COMMIT", "ROLLBACK",
    "EXPLAIN AST INSERT INTO audit.gateway_decisions (ts) VALUES (1)",
    "EXPLAIN PIPELINE INSERT INTO FUNCTION file('out.tsv') SELECT 1", "EXPLAIN AST CREATE TABLE x (a UInt8) ENGINE = Memory",
    "WITH 1 AS x INSERT INTO audit.gateway_decisions (ts) SELECT x",
]

# Output to a file, and a second statement behind a first, in every writing the lexer must see through.
SMUGGLED = [
    "SELECT 1 INTO OUTFILE 'out.tsv'", "SELECT 1 INTO OUTFILE 'out.tsv' TRUNCATE FORMAT TSVRaw",
    "select 1 into outfile 'out.tsv' append", "SELECT 1 INTO/* c */OUTFILE 'out.tsv'",
    "SELECT 1 INTO -- c\n OUTFILE 'out.tsv'", "SELECT 1 INTO OUTFILE 'o.gz' COMPRESSION 'gzip'",
    "SHOW TABLES INTO OUTFILE 'out.tsv'", "EXPLAIN SELECT 1 INTO OUTFILE 'out.tsv'",
    "(SELECT 1) INTO OUTFILE 'out.tsv'", "WITH 1 AS x SELECT x INTO OUTFILE 'out.tsv'",
    "SELECT 1; DROP TABLE audit.gateway_decisions", "SELECT 1;SELECT 2", "SELECT ';'; SELECT 2",
    "SELECT 1 /* ; */ ; SELECT * FROM file('/etc/hostname')", "SELECT 1 -- x\n; SELECT 2",
    "SELECT $$;$$; SELECT 2", "SELECT 'unterminated", "SELECT 1 /* unterminated", "", ";", "  -- only a comment",
]

READS = [
    "SELECT 1", "select 1 AS one", "  SELECT 1 ;  ", "SELECT 1;;", "(SELECT 1)", "WITH 1 AS x SELECT x",
    "SELECT ';' AS s", "SELECT 'INTO OUTFILE' AS s", "SELECT 1 AS `outfile`", "SELECT 1 -- INTO OUTFILE 'x'",
    "SELECT $$ ; INTO OUTFILE $$ AS s", "SELECT count() FROM audit.gateway_decisions SETTINGS final = 0",
    "SELECT 1 FORMAT JSON", "SELECT 1 UNION ALL SELECT 2", "SELECT 1 INTERSECT SELECT 1", "SELECT 1 EXCEPT SELECT 2",
    "SELECT * FROM numbers(3)", "SELECT * FROM values('a UInt8', 1, 2)", "SELECT * FROM generateRandom('a UInt8') LIMIT 1",
    "SELECT number FROM numbers(10) WHERE number IN (SELECT number FROM zeros(2))",
    "SELECT format('{}-{}', 'a', 'b')", "SHOW TABLES FROM audit", "SHOW DATABASES", "SHOW CREATE TABLE sim.runs",
    "SHOW PROCESSLIST", "SHOW GRANTS", "SHOW SETTINGS LIKE 'readonly'", "DESCRIBE TABLE audit.gateway_decisions",
    "DESC audit.gateway_decisions", "DESCRIBE (SELECT 1 AS a)", "EXPLAIN SELECT 1", "EXPLAIN AST SELECT 1",
    "EXPLAIN SYNTAX SELECT 1", "EXPLAIN PLAN SELECT * FROM numbers(3)", "EXPLAIN PIPELINE SELECT 1",
    "EXPLAIN ESTIMATE SELECT 1", "SELECT dictGetOrNull('no_such', 'x', 1)",
]


@pytest.mark.parametrize("sql", WRITES)
def test_every_statement_class_but_reads_is_refused(shared_store, sql):
    msg = _refused_or_unparsable(shared_store, sql)
    assert "statement" in msg or "table function" in msg or "Syntax error" in msg


@pytest.mark.parametrize("sql", SMUGGLED)
def test_output_files_and_second_statements_are_refused(shared_store, sql):
    _refused(shared_store, sql)


@pytest.mark.parametrize("sql", READS)
def test_reads_pass(shared_store, sql):
    _check(shared_store, sql)
