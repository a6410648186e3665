"""`hft gateway serve` as a child process on a loopback port: start it, wait for its ready line, talk HTTP to it,
stop it cleanly or SIGKILL it. The one harness of the venue conformance suite (`hft.live.venue_conformance`) and
the project's own service tests (tests/service/svckit.py).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["ServiceProcess", "free_port"]


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServiceProcess:
    """``hft gateway serve --config CONFIG ARGS`` with ``HFT_HOME`` = `home`, its JWT secret `secret` and its HTTP
    port `port` (a free one), stderr appended to ``home/server.log``. `command`: what runs ``hft`` (default this
    Python's ``-m hft``); `wrap`: a command it runs under, ending in one that execs its arguments."""

    def __init__(self, home: Path, config: Path, *args: str, secret: str, env: Mapping[str, str] | None = None,
                 command: Sequence[str] | None = None, wrap: Sequence[str] = ()) -> None:
        self.home = Path(home)
        self.config = Path(config)
        self.args = args
        self.secret = secret
        self.env = dict(env or {})
        self.command = list(command) if command is not None else [sys.executable, "-m", "hft"]
        self.wrap = tuple(wrap)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = self.home / "server.log"
        self.ready_line = ""

    def start(self, timeout: float = 120.0) -> ServiceProcess:
        """Start it and wait for its ready line (``listening on``); RuntimeError naming the last line read and the
        log's tail when it exits or stays silent for `timeout` seconds."""
        env = {**os.environ, "HFT_HOME": str(self.home), "HFT_JWT_SECRET": self.secret,
               "HFT_GATEWAY_PORT": str(self.port), **self.env}
        env.pop("HFT_DEBUG", None)
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as err:  # the child keeps its own descriptor
            self.proc = subprocess.Popen([*self.wrap, *self.command, "gateway", "serve", "--config", str(self.config),
                                          *self.args], stdout=subprocess.PIPE, stderr=err, env=env)
        line = _ready_line(self.proc, timeout)
        if b"listening on" not in line:
            self.stop()
            raise RuntimeError(f"server did not start: {line!r}\n{self.log.read_text(errors='replace')[-3000:]}")
        self.ready_line = line.decode()
        return self

    def kill9(self) -> None:
        """SIGKILL it (if it runs) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, wait_s: float = 20.0) -> int:
        """SIGTERM (a clean stop: drain, snapshot, close the WAL), SIGKILL after `wait_s`; its exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(wait_s)
            except subprocess.TimeoutExpired:
                self.kill9()
        return self.proc.returncode

    def request(self, method: str, path: str, body: Any = None, token: str | None = None,
                headers: Mapping[str, str] | None = None, raw: bytes | None = None) -> tuple[int, Any]:
        """One HTTP request on its own connection: (status, the JSON body decoded, else the text)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        payload = r.read()
        conn.close()
        return r.status, (json.loads(payload) if "json" in r.getheader("content-type", "") else payload.decode())


def _ready_line(proc: subprocess.Popen, timeout: float) -> bytes:
    """The first stdout line saying ``listening on`` (b"" or the last line read when none comes)."""
    line = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if b"listening on" in line or not line:
            break
    return line
