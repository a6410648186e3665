"""The store backend protocol and its two implementations: embedded chDB and a ClickHouse server.

Both run the *same* DDL (``hft/store/schema/*.sql``) and the same SQL. Reads go through ``JSONCompact`` on both,
so results look alike; inserts are ``RowBinary`` blocks (what the WAL frames hold) with an insert
deduplication token, and ``optimize_on_insert = 0`` (replacing is left to merges: reads apply ``final = 1``, so
ReplacingMergeTree tables never show a record twice either way).

chDB and clickhouse-connect are imported only when a backend is opened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from hft.core.errors import StoreError
from hft.store.lock import ProcessLock

READ_SETTINGS = {"final": 1, "output_format_json_quote_64bit_integers": 0}
TIMEOUT_EXCEEDED = 159  # ClickHouse's error code of a query stopped by max_execution_time


@dataclass
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows and self.rows[0] else None


class StoreBackend(Protocol):
    name: str

    def execute(self, sql: str) -> None: ...

    def query(self, sql: str) -> QueryResult: ...

    def query_raw(self, sql: str, fmt: str) -> bytes: ...

    def insert_rowbinary(self, table: str, columns: Sequence[str], payload: bytes,
                         dedup_token: str | None = None) -> None: ...

    def describe(self) -> dict[str, Any]: ...

    def set_readonly(self) -> None: ...

    def set_time_limit(self, seconds: float) -> None: ...

    def close(self) -> None: ...


_CODE = re.compile(r"Code:\s*(\d+)\.\s*(?:DB::Exception:\s*)?", re.S)


def clean_error(exc: BaseException) -> tuple[str, int | None]:
    """One readable line from a ClickHouse exception, and its error code when there is one."""
    text = str(exc)
    m = _CODE.search(text)
    code = int(m.group(1)) if m else None
    if m:
        text = text[m.end():]
    text = " ".join(text.split())
    for cut in (". Expected one of:", " (version ", ". Stack trace", " Stack trace:"):
        i = text.find(cut)
        if i > 0:
            text = text[:i]
    text = re.sub(r"\s*\([A-Z_]{3,}\)\s*$", "", text)
    if len(text) > 300:
        text = text[:297] + "..."
    return text.rstrip(". "), code


def _parse_json_compact(raw: bytes) -> QueryResult:
    if not raw.strip():
        return QueryResult([], [], [])
    doc = json.loads(raw)
    meta = doc.get("meta", [])
    return QueryResult([m["name"] for m in meta], [m["type"] for m in meta], doc.get("data", []))


class ChdbBackend:
    """Embedded ClickHouse (chDB) on a data directory, held under an inter-process file lock.

    Args:
        path: data directory (``$HFT_HOME/clickhouse``).
        wait_s: how long to wait for another process to release the directory.
    """
    name = "chdb"

    def __init__(self, path: str | Path, *, wait_s: float = 0.0) -> None:
        self.path = Path(path).absolute()
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = ProcessLock(self.path.parent / f".{self.path.name}.lock",
                                 f"the embedded ClickHouse data directory {self.path}")
        self._lock.acquire(wait_s)
        try:
            from chdb import session as chs

            self._sess = chs.Session(str(self.path))
            self._sess.query("SET final = 1")
            self._sess.query("SET output_format_json_quote_64bit_integers = 0")
        except StoreError:
            self._lock.release()
            raise
        except Exception as exc:
            self._lock.release()
            msg, _ = clean_error(exc)
            raise StoreError(f"cannot open the embedded ClickHouse at {self.path}: {msg}",
                             file=str(self.path)) from None

    def _run(self, sql: str, fmt: str) -> Any:
        try:
            return self._sess.query(sql, fmt)
        except Exception as exc:
            msg, code = clean_error(exc)
            raise StoreError(f"query failed: {msg}" + (f" (ClickHouse code {code})" if code else ""),
                             code=code, sql=sql[:500]) from None

    def execute(self, sql: str) -> None:
        self._run(sql, "CSV")

    def query(self, sql: str) -> QueryResult:
        return _parse_json_compact(self._run(sql, "JSONCompact").bytes())

    def query_raw(self, sql: str, fmt: str) -> bytes:
        return self._run(sql, fmt).bytes()

    def insert_rowbinary(self, table: str, columns: Sequence[str], payload: bytes,
                         dedup_token: str | None = None) -> None:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) SETTINGS optimize_on_insert = 0"
        if dedup_token:
            sql += f", insert_deduplication_token = '{_sql_str(dedup_token)}'"
        try:
            ins = self._sess.send_insert(sql, "RowBinary")
            try:
                ins.append(payload)
                ins.finish()
            except BaseException:
                ins.cancel()
                raise
        except Exception as exc:
            msg, code = clean_error(exc)
            raise StoreError(f"insert into {table} failed: {msg}", code=code, table=table) from None

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "path": str(self.path)}

    def set_readonly(self) -> None:
        """From now on refuse writes and DDL (``readonly = 2``: settings may still change)."""
        self._run("SET readonly = 2", "CSV")

    def set_time_limit(self, seconds: float) -> None:
        """Stop each later query after `seconds` (``max_execution_time``; 0: no limit)."""
        self._run(f"SET max_execution_time = {float(seconds)!r}", "CSV")

    def close(self) -> None:
        sess = getattr(self, "_sess", None)
        if sess is not None:
            self._sess = None
            try:
                sess.close()
            finally:
                self._lock.release()


DEFAULT_TIMEOUT_S = 300.0  # ServerBackend: how long a request waits for the server's answer


class ServerBackend:
    """A ClickHouse server through clickhouse-connect (HTTP). `url` like ``http://user:pw@host:8123/``.

    `connect_timeout_s` bounds the TCP connect; `timeout_s` each request's wait for the server's answer
    (clickhouse-connect's ``send_receive_timeout``): a server that stopped answering fails the request then, a
    StoreError without a ClickHouse code (what `WALLoader` retries)."""
    name = "server"

    def __init__(self, url: str, *, connect_timeout_s: float = 5.0, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:

        self.url = url
        self._read_settings: dict[str, Any] = dict(READ_SETTINGS)
        self._readonly = False
        u = urlparse(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise StoreError(f"HFT_CLICKHOUSE_URL: expected http(s)://[user:password@]host:port, was {url!r}",
                             key="HFT_CLICKHOUSE_URL")
        self._safe_url = f"{u.scheme}://{u.hostname}:{u.port or (8443 if u.scheme == 'https' else 8123)}"
        try:
            import clickhouse_connect

            self._client = clickhouse_connect.get_client(
                host=u.hostname, port=u.port or (8443 if u.scheme == "https" else 8123),
                username=u.username or "default", password=u.password or "", secure=u.scheme == "https",
                connect_timeout=connect_timeout_s, send_receive_timeout=timeout_s,
                settings=dict(READ_SETTINGS), autogenerate_session_id=False)
        except Exception as exc:
            msg, _ = clean_error(exc)
            raise StoreError(f"cannot reach the ClickHouse server at {self._safe_url}: {msg}",
                             hint="check HFT_CLICKHOUSE_URL, or unset it to use the embedded store; the WAL "
                                  "keeps every record until a load succeeds",
                             url=self._safe_url) from None

    def _fail(self, what: str, exc: BaseException) -> StoreError:
        msg, code = clean_error(exc)
        return StoreError(f"{what}: {msg}" + (f" (ClickHouse code {code})" if code else ""), code=code,
                          url=self._safe_url)

    def execute(self, sql: str) -> None:
        self._check_writable()
        try:
            self._client.command(sql)
        except Exception as exc:
            raise self._fail("query failed", exc) from None

    def query(self, sql: str) -> QueryResult:
        return _parse_json_compact(self.query_raw(sql, "JSONCompact"))

    def query_raw(self, sql: str, fmt: str) -> bytes:
        try:
            return self._client.raw_query(sql, fmt=fmt, settings=self._read_settings)
        except Exception as exc:
            raise self._fail("query failed", exc) from None

    def insert_rowbinary(self, table: str, columns: Sequence[str], payload: bytes,
                         dedup_token: str | None = None) -> None:
        self._check_writable()
        settings: dict[str, Any] = {"optimize_on_insert": 0}
        if dedup_token:
            settings["insert_deduplication_token"] = dedup_token
        try:
            self._client.raw_insert(table, list(columns), insert_block=payload, settings=settings,
                                    fmt="RowBinary")
        except Exception as exc:
            raise self._fail(f"insert into {table} failed", exc) from None

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "url": self._safe_url}

    def set_readonly(self) -> None:
        """From now on queries run with ``readonly = 2`` (no writes, no DDL)."""
        self._read_settings = {**self._read_settings, "readonly": 2}
        self._readonly = True

    def set_time_limit(self, seconds: float) -> None:
        """Stop each later query after `seconds` (``max_execution_time``; 0: no limit)."""
        self._read_settings = {**self._read_settings, "max_execution_time": float(seconds)}

    def _check_writable(self) -> None:
        if self._readonly:
            raise StoreError("query failed: expected a read-only statement in read-only mode", url=self._safe_url)

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            self._client = None
            client.close()


def _sql_str(s: str) -> str:
    return s.replace("\\", "\\\\").replace("'", "\\'")
