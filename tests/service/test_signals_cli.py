"""The signal commands as a person runs them: `hft gateway serve --nats-embedded` under a terminal (Ctrl-C stops
the gateway and its nats-server, exit 0), and `hft gateway signals-export` refusing an unreachable bus in one
line."""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import time

from sigkit import CONFIG, KEYS
from svckit import HFT, SECRET, free_port

from tests.cli.conftest import run_hft


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _exit_status(pid: int, timeout_s: float) -> int | None:
    """The child's wait status once it has exited, None if it still runs after `timeout_s` (a hang fails the test
    instead of holding the run for ever)."""
    end = time.time() + timeout_s
    while time.time() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    return None


def test_serve_nats_embedded_under_a_terminal_then_ctrl_c(tmp_path):
    port, nport = free_port(), free_port()
    env = {**os.environ, **KEYS, "HFT_HOME": str(tmp_path), "HFT_JWT_SECRET": SECRET,
           "HFT_NATS_URL": f"nats://127.0.0.1:{nport}"}
    env.pop("HFT_DEBUG", None)
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(str(HFT), [str(HFT), "gateway", "serve", "--config", str(CONFIG), "--port", str(port),
                             "--nats-embedded"], env)
    out = b""
    end = time.time() + 120
    try:
        while time.time() < end and b"listening on" not in out:
            r, _, _ = select.select([fd], [], [], 1.0)
            if r:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        assert f"http://127.0.0.1:{port}".encode() in out, out
        assert _listening(nport)  # the embedded nats-server
        os.kill(pid, signal.SIGINT)  # Ctrl-C
        status = _exit_status(pid, 60.0)
        assert status is not None, "the server did not exit within 60 s of Ctrl-C"
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        assert not _listening(nport)  # stopped with the gateway
        assert (tmp_path / "wal" / "signals" / "nats" / "jetstream").is_dir()
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


def test_signals_export_without_a_bus_is_one_line(tmp_path):
    out = tmp_path / "s.jsonl"
    r = run_hft("gateway", "signals-export", "--url", f"nats://127.0.0.1:{free_port()}", "--out", str(out))
    assert r.code == 12 and "cannot connect to NATS" in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) <= 2 and not out.exists()


def test_follower_naming_an_unknown_strategy_is_a_config_error(tmp_path):
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(CONFIG.read_text().replace("strategy: sig1", "strategy: nobody"))
    r = run_hft("gateway", "serve", "--config", str(cfg), "--port", "0",
                env={**KEYS, "HFT_HOME": str(tmp_path), "HFT_JWT_SECRET": SECRET})
    assert r.code == 11 and "signals.follow.strategy" in r.err and "'nobody'" in r.err and "Traceback" not in r.err
    assert not (tmp_path / "wal").exists()  # nothing opened
    r = run_hft("gateway", "check-config", str(cfg), env={**KEYS, "HFT_JWT_SECRET": SECRET})  # said there too
    assert r.code == 11 and "signals.follow.strategy" in r.err and "'nobody'" in r.err, r.err
