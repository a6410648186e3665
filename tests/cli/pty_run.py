"""Run the real `hft` console script under a pseudo-terminal, as a person in a terminal (or tmux) would.

`run_pty` gives the child a pty for stdin, stdout and stderr (so `isatty()` is true and progress is drawn),
sets its window size, reads everything it writes and returns the exit code and the screen text (control
sequences stripped). Used by the pytest tests and by `tests/cli/pty_smoke.py` (the CI step "pty smoke").
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

HFT = Path(sys.executable).with_name("hft")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]")
BAR = "━"  # rich's bar glyph: present on screen once a progress bar was drawn


@dataclass
class PtyRun:
    """Exit code, raw bytes written to the terminal, and the same as plain text."""

    code: int
    raw: str
    args: tuple[str, ...]

    @property
    def text(self) -> str:
        return _ANSI.sub("", self.raw).replace("\r\n", "\n").replace("\r", "\n")

    def drew_progress(self, label: str) -> bool:
        """True when a progress display labelled ``label`` was drawn (its label beside a bar glyph)."""
        return any(label in line and BAR in line for line in self.text.splitlines())

    def describe(self) -> str:
        tail = "\n".join(self.text.splitlines()[-40:])
        return f"hft {' '.join(self.args)} -> exit {self.code}\n{tail}"


def run_pty(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, columns: int = 120,
            lines: int = 40, timeout: float = 900) -> PtyRun:
    """Run ``hft ARGS`` with a pseudo-terminal of ``columns`` x ``lines`` as its stdin/stdout/stderr."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    full_env = {**os.environ, **(env or {}), "COLUMNS": str(columns), "LINES": str(lines), "TERM": "xterm-256color"}
    for k in ("HFT_DEBUG", "NO_COLOR", "CI"):  # CI=true makes rich think it is not interactive
        if not env or k not in env:
            full_env.pop(k, None)
    proc = subprocess.Popen([str(HFT), *args], stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=full_env,
                            start_new_session=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                proc.kill()
                raise TimeoutError(f"hft {' '.join(args)} did not finish in {timeout} s")
            r, _, _ = select.select([master], [], [], 0.5)
            if r:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed its side of the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                # drain what is left, then stop
                while select.select([master], [], [], 0.1)[0]:
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        data = b""
                    if not data:
                        break
                    chunks.append(data)
                break
        code = proc.wait(timeout=60)
    finally:
        os.close(master)
    return PtyRun(code, b"".join(chunks).decode("utf-8", "replace"), tuple(args))
