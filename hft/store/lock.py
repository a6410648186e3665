"""An inter-process file lock that says who holds it.

``fcntl.flock`` on ``<path>`` (released by the kernel when the holder dies, even by SIGKILL), plus a JSON
sidecar ``<path>.owner`` with the holder's pid, host, command and start time, so a process that cannot get the
lock can say *who* has it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from hft.core.errors import StoreError


class ProcessLock:
    """Exclusive lock on `path`; `what` names the resource in messages ("the chDB data directory ...")."""

    def __init__(self, path: str | Path, what: str) -> None:
        self.path = Path(path)
        self.what = what
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def owner(self) -> dict[str, Any] | None:
        """The recorded holder (may be stale when nobody holds the lock)."""
        try:
            return json.loads(Path(f"{self.path}.owner").read_text())
        except (OSError, ValueError):
            return None

    def is_locked(self) -> bool:
        """True when another process holds the lock right now (probes without keeping it)."""
        if self._fd is not None:
            return False
        if not self.path.exists():
            return False
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def describe_owner(self) -> str:
        o = self.owner()
        if not o:
            return "another process (owner unknown)"
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(o.get("since", 0)))
        return f"pid {o.get('pid')} on host {o.get('host')} ({o.get('cmd', '?')}, since {since} UTC)"

    def acquire(self, wait_s: float = 0.0, poll_s: float = 0.05) -> ProcessLock:
        """Take the lock, waiting up to `wait_s` seconds.

        Raises:
            StoreError: naming the holder (pid, host, command) when the lock stays held.
        """
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + max(wait_s, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise StoreError(
                        f"{self.what} is in use: expected a free lock on {self.path}, "
                        f"held by {self.describe_owner()}",
                        hint="wait for that process to finish (or pass --wait SECONDS), or stop it",
                        file=str(self.path), holder=self.owner()) from None
                time.sleep(poll_s)
        self._fd = fd
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "cmd": " ".join(sys.argv[:3])[:200] or sys.executable, "since": time.time()}
        with contextlib.suppress(OSError):
            tmp = Path(f"{self.path}.owner.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(info))
            os.replace(tmp, f"{self.path}.owner")
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            Path(f"{self.path}.owner").unlink()
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> ProcessLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
