"""The clickhouse-connect backend.

Against a real ClickHouse server when ``HFT_CLICKHOUSE_URL`` is set, e.g.::

    docker run -d --name ch -p 8123:8123 -e CLICKHOUSE_SKIP_USER_SETUP=1 clickhouse/clickhouse-server:24.8
    HFT_CLICKHOUSE_URL=http://127.0.0.1:8123 .venv/bin/pytest tests/unit/store/test_store_server_backend.py

(it writes to the real audit.* / sim.* tables, rows tagged with a fresh run id: use a scratch server).
Without it, the same test runs against ``_chdb_http_shim.py``: clickhouse-connect's real HTTP protocol in front
of the real ClickHouse engine (chDB) in a subprocess. That is not a server, so a real one is still the final
word on server-only behaviour (users, clusters, compression on the wire).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from hft.core.errors import StoreError
from hft.recorder.loader import WALLoader
from hft.recorder.wal_first import WALConfig, WALFirstWriter
from hft.store.backend import ServerBackend
from hft.store.migrations import latest_version

URL = os.environ.get("HFT_CLICKHOUSE_URL")


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    if URL:
        yield URL
        return
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("_chdb_http_shim.py")),
                             str(tmp_path_factory.mktemp("shim") / "db"), str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        yield f"http://default:@127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


def test_unreachable_server_is_a_clear_store_error():
    port = _free_port()
    with pytest.raises(StoreError, match=rf"cannot reach the ClickHouse server at http://127.0.0.1:{port}") as ei:
        ServerBackend(f"http://u:secret@127.0.0.1:{port}", connect_timeout_s=2)
    assert "secret" not in ei.value.message and ei.value.hint


def test_bad_url_is_refused():
    with pytest.raises(StoreError, match="expected http"):
        ServerBackend("clickhouse://x")


def test_server_backend_migrate_load_dedup_and_errors(tmp_path, server_url):
    from hft.store.store import open_store

    run = uuid.uuid4().hex
    with open_store(url=server_url) as store:
        assert store.name == "server" and store.schema_version == latest_version()
        d = tmp_path / "w"
        with WALFirstWriter(d, WALConfig(fsync="never")) as w:
            w.write_many("sim.fills", [{"ts": i, "run_id": run, "fill_id": i} for i in range(100)])
        assert WALLoader(store, [d]).load().records_loaded == 100
        (tmp_path / "v").mkdir()
        (tmp_path / "v" / "seg-00000001.wal").write_bytes((d / "seg-00000001.wal").read_bytes())
        WALLoader(store, [tmp_path / "v"]).load()  # the same records again, new tokens
        n = store.query(f"SELECT count() FROM sim.fills WHERE run_id = '{run}'").scalar()
        assert n == 100
        row = store.query(f"SELECT fill_id, toUnixTimestamp64Nano(ts) AS ts FROM sim.fills WHERE run_id = '{run}' "
                          "ORDER BY fill_id LIMIT 1 OFFSET 7").dicts()
        assert row == [{"fill_id": 7, "ts": 7}]
        with pytest.raises(StoreError, match="query failed: Syntax error"):
            store.query("SELECT (1 +")
    with open_store(url=server_url) as again:  # migrations are idempotent on the server too
        assert again.schema_version == latest_version()


def test_server_read_only_refuses_output_files_and_outside_table_functions(tmp_path, server_url):
    from hft.store.store import open_store

    out = tmp_path / "out.tsv"
    with open_store(url=server_url) as store:
        store.read_only()
        assert store.query("SELECT sum(number) AS s FROM numbers(4)").dicts() == [{"s": 6}]
        for sql in (f"SELECT 1 INTO OUTFILE '{out}'", "SELECT * FROM file('/etc/hostname', 'LineAsString')",
                    "SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')", "SELECT 1; SELECT 2",
                    "DROP TABLE sim.fills"):
            with pytest.raises(StoreError, match="read-only query refused"):
                store.query(sql)
            with pytest.raises(StoreError, match="read-only query refused"):
                store.query_raw(sql, "CSVWithNames")
        with pytest.raises(StoreError, match="write refused"):
            store.execute("TRUNCATE TABLE sim.fills")
    assert not out.exists()
