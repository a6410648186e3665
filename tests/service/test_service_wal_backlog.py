"""The WAL backlog on a running server's /metrics: what the loader has not yet put into the store, its age, and
after a load (`hft audit load` run beside the server, as an operator's timer would) the load's throughput and a
drained backlog. The alert on it (GatewayWalBacklogStale) is unit-tested with promtool (test_service_alerts.py)."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from svckit import HFT, Server, order, token

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


def test_the_backlog_grows_with_orders_and_drains_with_a_load(tmp_path):
    home = tmp_path / "home"
    srv = Server(home).start()
    try:
        m0 = srv.metrics()
        assert "gateway_wal_load_rows_per_second" not in m0  # no load has run
        tok = token()
        for i in range(20):
            code, _ = srv.request("POST", "/orders", order(f"b-{i}", qty=1), tok, {"Idempotency-Key": f"b-{i}"})
            assert code == 201
        time.sleep(1.1)  # the backlog is walked at most once a second
        m1 = srv.metrics()
        assert m1["gateway_wal_backlog_records"] > m0["gateway_wal_backlog_records"] >= 0
        assert m1["gateway_wal_backlog_bytes"] > 0 and m1["gateway_wal_replay_lag_seconds"] > 0
        assert "gateway_wal_drain_eta_seconds" not in m1  # records wait and no load has run: no estimate

        p = subprocess.run([str(HFT), "audit", "load", "--json"], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "HFT_HOME": str(home)})
        assert p.returncode == 0, p.stderr
        loaded = json.loads(p.stdout)["records_loaded"]
        assert loaded >= m1["gateway_wal_backlog_records"]
        time.sleep(1.1)
        m2 = srv.metrics()
        assert m2["gateway_wal_backlog_records"] == 0 and m2["gateway_wal_backlog_bytes"] == 0
        assert m2["gateway_wal_replay_lag_seconds"] == 0
        assert m2["gateway_wal_load_rows_per_second"] > 0 and m2["gateway_wal_drain_eta_seconds"] == 0
    finally:
        srv.stop()
