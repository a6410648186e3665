"""`hft audit …` and `hft store status` through the real entry point, in subprocesses (own chDB each)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hft.recorder.wal_first import WALConfig, open_writer
from hft.store.store import embedded_lock

HFT = Path(sys.executable).with_name("hft")  # the real console script


def hft(home: Path, *args: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    full = {**os.environ, "HFT_HOME": str(home), **(env or {})}
    full.pop("HFT_DEBUG", None)
    if env is None or "HFT_CLICKHOUSE_URL" not in env:
        full.pop("HFT_CLICKHOUSE_URL", None)
    return subprocess.run([str(HFT), *args], capture_output=True, text=True, env=full,
                          timeout=timeout, cwd=home)


@pytest.fixture(scope="module")
def loaded_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("cli_home")
    with open_writer("gw", home=home, config=WALConfig(fsync="never")) as w:
        w.write_many("audit.gateway_decisions", [
            {"ts": 1_000 + i, "run_id": "r", "seq": i, "symbol_name": "BTCUSDT", "accepted": i % 2 == 0,
             "reason_name": "" if i % 2 == 0 else "POSITION_LIMIT", "details": {"i": i}} for i in range(30)])
        w.write("sim.runs", {"ts": 5, "run_id": "r", "scenario": "demo", "n_fills": 3})
    p = hft(home, "audit", "load", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["records_loaded"] == 31 and out["backlog_after"]["records"] == 0
    return home


def test_query_json_csv_and_table(loaded_home):
    sql = "SELECT accepted, count() AS n FROM audit.gateway_decisions GROUP BY accepted ORDER BY accepted"
    p = hft(loaded_home, "audit", "query", sql, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["rows"] == [{"accepted": False, "n": 15}, {"accepted": True, "n": 15}]
    p = hft(loaded_home, "audit", "query", sql, "--csv")
    assert p.stdout.splitlines() == ['"accepted","n"', "false,15", "true,15"]
    p = hft(loaded_home, "audit", "query", sql)
    assert p.returncode == 0 and "accepted" in p.stdout and "2 rows" in p.stdout


def test_tail(loaded_home):
    p = hft(loaded_home, "audit", "tail", "gateway_decisions", "-n", "3", "--json")
    out = json.loads(p.stdout)
    assert out["table"] == "audit.gateway_decisions"
    assert [r["seq"] for r in out["rows"]] == [27, 28, 29]
    assert all(len(r["record_id"]) == 32 for r in out["rows"])
    p = hft(loaded_home, "audit", "tail", "nope")
    assert p.returncode == 15 and "unknown topic 'nope'" in p.stderr


def test_sql_error_is_one_clear_line_and_non_zero(loaded_home):
    p = hft(loaded_home, "audit", "query", "SELECT (1 +")
    assert p.returncode == 15
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: query failed: Syntax error"), p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""
    p = hft(loaded_home, "audit", "query", "SELECT nope FROM audit.gateway_decisions", "--json")
    assert p.returncode == 15
    assert json.loads(p.stdout)["ok"] is False and "Unknown expression" in p.stderr.splitlines()[0]
    assert len(p.stderr.strip().splitlines()) == 1


def test_store_status(loaded_home):
    with open_writer("gw", home=loaded_home, config=WALConfig(fsync="never")) as w:
        w.write("sim.runs", {"ts": 6, "run_id": "r2"})
    p = hft(loaded_home, "store", "status", "--json")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["backend"] == "chdb" and s["schema_version"] == s["schema_version_available"] >= 1
    assert s["backlog"]["records"] == 1 and s["lag_s"] >= 0 and s["eta_s"] is not None
    assert s["disk"]["level"] in ("NORMAL", "WARNING", "CRITICAL", "HALT")
    p = hft(loaded_home, "store", "status")
    assert p.returncode == 0 and "schema version" in p.stdout


def _has_open(pid: int, suffix: str) -> bool:
    """True when process `pid` has a file whose path ends with `suffix` open (Linux /proc)."""
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            if os.readlink(fd).endswith(suffix):
                return True
        except OSError:
            continue
    return False


def test_a_reader_says_who_holds_the_store_or_waits(loaded_home):
    # The holder keeps the store until told on stdin (no sleep to outlast: under load a CLI start takes seconds).
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from hft.store.store import open_store; s = open_store(); "
         "print('ready', flush=True); sys.stdin.readline(); s.close()"],
        env={**os.environ, "HFT_HOME": str(loaded_home)}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    waiter = None
    try:
        assert holder.stdout.readline().strip() == "ready"
        p = hft(loaded_home, "audit", "query", "SELECT 1", "--wait", "0")
        assert p.returncode == 15
        assert f"held by pid {holder.pid} on host" in p.stderr
        s = json.loads(hft(loaded_home, "store", "status", "--json").stdout)
        assert f"pid {holder.pid}" in s["holder"]
        env = {**os.environ, "HFT_HOME": str(loaded_home)}
        env.pop("HFT_CLICKHOUSE_URL", None)
        waiter = subprocess.Popen([str(HFT), "audit", "query", "SELECT 1 AS one", "--json", "--wait", "120"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=loaded_home)
        # release only once the waiter is in its lock loop (it keeps the lock file open while it polls)
        lock = str(embedded_lock(loaded_home).path)
        deadline = time.monotonic() + 120
        while not _has_open(waiter.pid, lock) and waiter.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiter.poll() is None, waiter.communicate()
        holder.stdin.write("go\n")
        holder.stdin.flush()
        out, err = waiter.communicate(timeout=120)
        assert waiter.returncode == 0, err
        assert json.loads(out)["rows"] == [{"one": 1}]
    finally:
        for proc in (holder, waiter):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def test_help_does_not_import_heavy_modules():
    code = ("import sys; import hft.cli.audit, hft.cli.store; "
            "bad = [m for m in ('chdb', 'clickhouse_connect', 'polars', 'numpy', 'rich') if m in sys.modules]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_query_is_read_only(loaded_home):
    p = hft(loaded_home, "audit", "query", "DROP TABLE audit.gateway_decisions")
    assert p.returncode == 15 and "read-only query refused: a DROP statement" in p.stderr
    p = hft(loaded_home, "audit", "query", "SELECT count() AS n FROM audit.gateway_decisions SETTINGS final = 0",
            "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["rows"] == [{"n": 30}]


def test_query_cannot_write_files_read_files_or_reach_out(loaded_home, tmp_path):
    victim = tmp_path / "promotion.yaml"
    victim.write_text("kept: true\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("the-secret-line\n")
    cases = [
        f"SELECT 1 INTO OUTFILE '{victim}' TRUNCATE FORMAT TSVRaw",
        f"SELECT 1 INTO OUTFILE '{tmp_path / 'new.tsv'}'",
        f"INSERT INTO FUNCTION file('{tmp_path / 'ins.tsv'}', 'TSV') SELECT 1",
        f"SELECT * FROM file('{secret}', 'LineAsString')",
        f"SELECT file('{secret}')",
        f"DESCRIBE TABLE file('{secret}', 'LineAsString')",
        "SELECT * FROM url('http://127.0.0.1:9/x', 'LineAsString')",
        "SELECT * FROM executable('cat /etc/hostname', 'LineAsString', 'x String')",
        "SELECT * FROM python('x')",
        f"SELECT 1; SELECT * FROM file('{secret}', 'LineAsString')",
    ]
    for sql in cases:
        started = time.monotonic()
        p = hft(loaded_home, "audit", "query", sql, "--json")
        assert p.returncode == 15, (sql, p.returncode, p.stderr)
        assert json.loads(p.stdout)["ok"] is False
        assert p.stderr.startswith("error: read-only query refused: "), p.stderr
        assert "the-secret-line" not in p.stdout + p.stderr and "Traceback" not in p.stderr
        assert time.monotonic() - started < 60
    assert victim.read_text() == "kept: true\n"
    assert not (tmp_path / "new.tsv").exists() and not (tmp_path / "ins.tsv").exists()
    assert not (loaded_home / "new.tsv").exists()


def test_query_reads_still_work(loaded_home):
    for sql, rows in [("SELECT sum(number) AS s FROM numbers(4)", [{"s": 6}]),
                      ("SHOW TABLES FROM audit LIKE 'gateway_decisions'", [{"name": "gateway_decisions"}]),
                      ("WITH 2 AS x SELECT x * count() AS n FROM audit.gateway_decisions;", [{"n": 60}])]:
        p = hft(loaded_home, "audit", "query", sql, "--json")
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)["rows"] == rows
    p = hft(loaded_home, "audit", "query", "DESCRIBE sim.runs", "--csv")
    assert p.returncode == 0 and "run_id" in p.stdout


def test_a_query_past_its_timeout_is_stopped_with_one_line_and_frees_the_store(loaded_home):
    """`--timeout` is ClickHouse's max_execution_time: a query that would run for minutes (10^11 rows) stops after
    it, exit 15 with one line naming the option, and the embedded store's lock is free for the next command."""
    t0 = time.monotonic()
    p = hft(loaded_home, "audit", "query", "SELECT count() FROM numbers(1e11) WHERE number % 7 = 3",
            "--timeout", "1")
    took = time.monotonic() - t0
    assert p.returncode == 15, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: query stopped: it ran past --timeout 1 s"), p.stderr
    assert "Traceback" not in p.stderr and took < 60
    p = hft(loaded_home, "audit", "query", "SELECT 1 AS one", "--json", "--wait", "0")
    assert p.returncode == 0 and json.loads(p.stdout)["rows"] == [{"one": 1}], p.stderr
    p = hft(loaded_home, "audit", "query", "SELECT count() AS n FROM numbers(1000)", "--json", "--timeout", "0")
    assert p.returncode == 0 and json.loads(p.stdout)["rows"] == [{"n": 1000}], p.stderr  # 0: no limit
