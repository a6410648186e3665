"""`hft gateway serve --supervise` against real processes: a child killed with SIGKILL is started again, an
active/standby leader that lost its lease (exit 75) comes back as a standby and leads again, and SIGTERM to the
supervisor stops the child cleanly."""

from __future__ import annotations

import os
import re
import select
import signal
from pathlib import Path

import pytest
import yaml
from sigkit import EmbeddedNats, wait_for
from svckit import Server, order, token

pytestmark = pytest.mark.slow  # starts the service as processes

HA_CONFIG = Path(__file__).with_name("gateway_ha.yaml")


def _children(srv: Server) -> list[int]:
    """The child pids the supervisor announced, in order."""
    return [int(m) for m in re.findall(r"hft supervise: child (\d+) started", srv.log.read_text())]


def _next_ready_line(srv: Server, timeout: float = 120.0) -> str:
    """The next ready line the (supervised) service prints on its stdout."""
    end = os.times().elapsed + timeout
    while os.times().elapsed < end:
        if select.select([srv.proc.stdout], [], [], 1.0)[0]:
            line = srv.proc.stdout.readline().decode()
            if "listening on" in line:
                return line
            assert line, f"the supervisor's stdout closed\n{srv.log.read_text()[-3000:]}"
    raise AssertionError(f"no ready line within {timeout} s\n{srv.log.read_text()[-3000:]}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_killed_child_is_started_again_and_sigterm_stops_it(tmp_path):
    srv = Server(tmp_path / "home", "--supervise", "--loopback", "fill").start()
    try:
        tok = token()
        key = {"Idempotency-Key": "sv-1"}  # a durable order: answered once in the WAL, so the SIGKILL cannot lose it
        assert srv.request("POST", "/orders", order("sv-1"), token=tok, headers=key)[0] == 201
        (first,) = _children(srv)
        os.kill(first, signal.SIGKILL)
        _next_ready_line(srv)
        second = _children(srv)[-1]
        assert second != first and not _alive(first)
        assert f"child {first} was killed by SIGKILL" in srv.log.read_text()
        code, body = srv.request("POST", "/orders", order("sv-1"), token=tok, headers=key)  # recovered from the WAL
        assert code == 200 and body["duplicate"] is True
    finally:
        assert srv.stop() == 0
    assert wait_for(lambda: not _alive(second), timeout=10)
    assert f"child {second} exited 0; not restarted" in srv.log.read_text()


def test_a_leader_that_lost_its_lease_comes_back_as_a_standby(tmp_path):
    cfg = yaml.safe_load(HA_CONFIG.read_text())
    cfg["server"]["metrics_auth"] = True  # the standby guards /metrics and /health's detail too
    config = tmp_path / "gateway_ha.yaml"
    config.write_text(yaml.safe_dump(cfg))
    nats = EmbeddedNats(tmp_path / "nats").start()
    srv = Server(tmp_path / "home", "--supervise", "--loopback", "fill", config=config,
                 env={"HFT_NATS_URL": nats.url, "HFT_NODE_ID": "node-a"})
    tok = token()
    try:
        srv.start()
        assert "standby until it holds the lease" in srv.ready_line
        assert srv.request("GET", "/metrics")[0] == 401
        assert srv.request("GET", "/health")[1]["ready"] is False  # liveness, the status alone

        def role() -> str:
            try:
                code, h = srv.request("GET", "/health", token=tok)
            except OSError:
                return "down"
            return h["signals"]["ha"]["role"] if code == 200 else h.get("status", "?")

        assert wait_for(lambda: role() == "leader", timeout=120)
        (first,) = _children(srv)
        nats.kill()  # the leader cannot renew: it exits 75
        assert wait_for(lambda: "exited 75 (lost the leader lease)" in srv.log.read_text(), timeout=15)
        nats.start()
        line = _next_ready_line(srv)
        assert "standby until it holds the lease" in line and not _alive(first)
        assert len(_children(srv)) == 2
        assert srv.request("GET", "/metrics")[0] == 401 and srv.request("GET", "/metrics", token=tok)[0] == 200
        assert wait_for(lambda: role() == "leader", timeout=120)  # and leads again
    finally:
        assert srv.stop() == 0
        nats.stop()
