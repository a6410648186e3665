"""Opening the store: the embedded chDB engine by default, a ClickHouse server when HFT_CLICKHOUSE_URL is set.

``open_store()`` returns a :class:`Store` whose schema is migrated on first use. The embedded engine admits one
process per data directory: `wait_s` says how long to wait for another holder before failing with a
StoreError that names it (pid, host, command).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hft.core.errors import StoreError
from hft.core.paths import clickhouse_dir
from hft.store.backend import ChdbBackend, QueryResult, ServerBackend, StoreBackend
from hft.store.lock import ProcessLock
from hft.store.migrations import migrate as run
from hft.store.readonly_sql import check_read_only_sql

ENV_URL = "HFT_CLICKHOUSE_URL"


class Store:
    """A store backend with the schema applied. Reads never show a record twice (``final = 1``)."""

    def __init__(self, backend: StoreBackend, *, migrate: bool = True) -> None:
        self.backend = backend
        self.schema_version = 0
        self._read_only = False
        self._table_functions: frozenset[str] | None = None
        if migrate:

            self.schema_version = run(backend)

    @property
    def name(self) -> str:
        return self.backend.name

    def query(self, sql: str) -> QueryResult:
        self._guard(sql)
        return self.backend.query(sql)

    def query_raw(self, sql: str, fmt: str) -> bytes:
        self._guard(sql)
        return self.backend.query_raw(sql, fmt)

    def execute(self, sql: str) -> None:
        self._refuse_write()
        self.backend.execute(sql)

    def insert_rowbinary(self, table: str, columns: Sequence[str], payload: bytes,
                         dedup_token: str | None = None) -> None:
        self._refuse_write()
        self.backend.insert_rowbinary(table, columns, payload, dedup_token)

    def read_only(self) -> Store:
        """From now on run only plain reads of the store (what `hft audit query` runs under).

        The engine refuses writes and DDL (``readonly = 2``), and every query first passes
        :func:`hft.store.readonly_sql.check_read_only_sql`: one SELECT / WITH / SHOW / DESCRIBE / EXPLAIN statement,
        no ``INTO OUTFILE``, and only allowlisted table functions (nothing that reaches files, URLs, processes or
        other databases).
        """
        self.backend.set_readonly()
        self._read_only = True
        return self

    def set_time_limit(self, seconds: float) -> Store:
        """Stop each later query after `seconds` (ClickHouse's ``max_execution_time``; 0: no limit): a query
        past it fails with a `StoreError` whose ``code`` is `hft.store.backend.TIMEOUT_EXCEEDED`."""
        self.backend.set_time_limit(seconds)
        return self

    def table_functions(self) -> frozenset[str]:
        """Names of the engine's table functions (``system.table_functions``), asked once."""
        if self._table_functions is None:
            res = self.backend.query("SELECT name FROM system.table_functions")
            self._table_functions = frozenset(r[0] for r in res.rows)
        return self._table_functions

    def explain_ast(self, sql: str) -> str:
        """ClickHouse's parse tree of `sql` (``EXPLAIN AST``: parsed, not run). Call only on lexically checked SQL."""
        return self.backend.query_raw(f"EXPLAIN AST {sql}", "TSVRaw").decode("utf-8", "replace")

    def _guard(self, sql: str) -> None:
        if self._read_only:

            check_read_only_sql(sql, self.explain_ast, self.table_functions())

    def _refuse_write(self) -> None:
        if self._read_only:
            raise StoreError("write refused: this store was opened read-only")

    def count(self, table: str) -> int:
        return int(self.query(f"SELECT count() FROM {table}").scalar() or 0)

    def describe(self) -> dict[str, Any]:
        return {**self.backend.describe(), "schema_version": self.schema_version}

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def store_url(url: str | None = None) -> str | None:
    """The server URL in force: `url`, else ``$HFT_CLICKHOUSE_URL``, else None (embedded)."""
    return url or os.environ.get(ENV_URL) or None


def open_store(*, home: Path | None = None, url: str | None = None, wait_s: float = 0.0,
               migrate: bool = True, timeout_s: float | None = None) -> Store:
    """Open the configured store (see module doc). `timeout_s`: a server's answer to each request is waited
    for that long (`ServerBackend`; default 300 s); the embedded store ignores it.

    Raises:
        StoreError: the data directory is held by another process (named), the server is unreachable, or a
            migration failed.
    """
    url = store_url(url)
    backend: StoreBackend
    if url:

        backend = ServerBackend(url) if timeout_s is None else ServerBackend(url, timeout_s=timeout_s)
    else:

        backend = ChdbBackend(clickhouse_dir(home), wait_s=wait_s)
    try:
        return Store(backend, migrate=migrate)
    except BaseException:
        backend.close()
        raise


def embedded_lock(home: Path | None = None):
    """The inter-process lock of the embedded data directory (to ask who holds it without opening it)."""
    path = clickhouse_dir(home)
    return ProcessLock(path.parent / f".{path.name}.lock", f"the embedded ClickHouse data directory {path}")


__all__ = ["ENV_URL", "Store", "StoreError", "embedded_lock", "open_store", "store_url"]
