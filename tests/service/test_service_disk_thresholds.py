"""``HFT_DISK_THRESHOLDS`` is what the WAL's disk monitor of `hft gateway serve` and `hft store status` apply
(docs/store.md): with the halt level set above the disk's current free space the real server reports HALT
(``/health``, ``gateway_wal_disk_level``) and refuses durable orders, `hft store status` shows HALT, and a bad value
is one line naming the variable."""

from __future__ import annotations

import json
import math
import os
import subprocess

import pytest
from svckit import HFT, SECRET, order, token

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


def _over_the_halt_level(path) -> str:
    """Thresholds whose halt level is above the free space of `path`'s filesystem now (and a margin)."""
    st = os.statvfs(path)
    free_pct = 100.0 * st.f_bavail / st.f_blocks
    return f"warning=100%,critical=100%,halt={min(100, math.ceil(free_pct) + 2)}%"


def test_the_server_applies_the_env_thresholds(server_factory, tmp_path):
    env = {"HFT_DISK_THRESHOLDS": _over_the_halt_level(tmp_path)}
    srv = server_factory(env=env).start()
    code, h = srv.request("GET", "/health")
    assert h["wal"]["disk_level"] == "HALT", h["wal"]
    assert srv.metrics()["gateway_wal_disk_level"] == 3
    code, body = srv.request("POST", "/orders", order("disk-1"), token(), headers={"Idempotency-Key": "disk-1"})
    assert code == 503, body  # the WAL refuses at HALT: a durable order is not acknowledged


def test_the_server_with_default_thresholds_is_normal(server_factory):
    srv = server_factory(env={"HFT_DISK_THRESHOLDS": ""}).start()
    _, h = srv.request("GET", "/health")
    assert h["wal"]["disk_level"] in ("NORMAL", "WARNING")  # unless this machine's disk is itself nearly full
    assert srv.metrics()["gateway_wal_disk_level"] == {"NORMAL": 0, "WARNING": 1}[h["wal"]["disk_level"]]


def _cli(tmp_path, *args: str, thresholds: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HFT_HOME": str(tmp_path / "home"), "HFT_JWT_SECRET": SECRET,
           "HFT_DISK_THRESHOLDS": thresholds}
    return subprocess.run([str(HFT), *args], capture_output=True, text=True, env=env, timeout=300)


def test_store_status_applies_the_env_thresholds(tmp_path):
    r = _cli(tmp_path, "store", "status", "--json", thresholds=_over_the_halt_level(tmp_path))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["disk"]["level"] == "HALT"


def test_a_bad_value_is_one_line_naming_the_variable(tmp_path):
    for args in (("store", "status"), ("gateway", "serve", "--port", "0")):
        r = _cli(tmp_path, *args, thresholds="halt=lots")
        assert r.returncode != 0
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "HFT_DISK_THRESHOLDS" in lines[0] and "Traceback" not in r.stderr, r.stderr
