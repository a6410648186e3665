"""``hft gateway serve --supervise``: run the service as a child process and restart it when it ends on its own.

A child that exits 75 (`hft.live.webhooks.ha.EXIT_LEASE_LOST`: an active/standby leader that lost its lease), that
crashes (killed by a signal, an internal error) or that exits otherwise non-zero is started again — as a standby
when ``signals.ha`` is on (every HA process starts as one), else as a single service recovering from its WAL —
after a back-off: `BACKOFF_FIRST_S`, doubled after each child that ran less than `STABLE_S`, at most
`BACKOFF_MAX_S`. Not restarted (the same error would come back): exit 0, and the usage / error / config / gateway
exit codes 2, 10, 11 and 13 (a bad flag, a port in use, a missing certificate, a state that cannot be recovered); the supervisor then exits with the child's code.

SIGTERM / SIGINT to the supervisor stop the child cleanly (the signal is passed on; the child drains, snapshots and
closes its WAL) and the supervisor exits with the child's code, restarting nothing; SIGHUP is passed on (the
child reloads its limits). The child runs in a session of its own (a Ctrl-C at the terminal reaches it once,
through the supervisor) and is sent SIGTERM by the kernel should the supervisor die.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("hft.live.supervise")

BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_S = 60.0  # a child that ran this long resets the back-off
NO_RESTART = frozenset((0, 2, 10, 11, 13))  # ok, usage, HftError, ConfigError, GatewayError (an
# unrecoverable gateway state: a snapshot the WAL cannot replace; hft.cli.app's exit codes)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):  # not Linux: an orphaned child keeps running
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class _Flag:
    """Set by the signal handler (no lock: a `threading.Event` taken in a handler can deadlock its own thread)."""

    def __init__(self) -> None:
        self.on = False

    def set(self) -> None:
        self.on = True

    def is_set(self) -> bool:
        return self.on


def child_command(argv: Sequence[str]) -> list[str]:
    """The child's command line: this Python running ``hft`` with `argv` (the CLI's arguments) minus
    ``--supervise``."""
    return [sys.executable, "-c", "from hft.cli.app import main; main()", *(a for a in argv if a != "--supervise")]


def _describe(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    if code == 75:
        return "exited 75 (lost the leader lease)"
    return f"exited {code}"


def supervise(cmd: Sequence[str], env: dict[str, str] | None = None, *, backoff_first_s: float = BACKOFF_FIRST_S,
              backoff_max_s: float = BACKOFF_MAX_S, stable_s: float = STABLE_S, say: Any = None) -> int:
    """Run `cmd` and restart it as the module docstring says, until it exits 0 (or a code of `NO_RESTART`) or
    the supervisor is sent SIGTERM / SIGINT. Returns the last child's exit code (128 + N for a signal N)."""
    say = say or (lambda s: print(s, file=sys.stderr, flush=True))
    stop = _Flag()
    child: list[subprocess.Popen] = []

    def forward(signum: int, _frame: Any) -> None:
        if signum != signal.SIGHUP:
            stop.set()
        if child and child[0].poll() is None:
            child[0].send_signal(signum)

    before = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    backoff = backoff_first_s
    starts = 0
    try:
        while True:
            starts += 1
            t0 = time.monotonic()
            proc = subprocess.Popen(list(cmd), env=env, start_new_session=True, preexec_fn=_die_with_parent)
            child[:] = [proc]
            say(f"hft supervise: child {proc.pid} started (start {starts})")
            if stop.is_set():  # a signal between the fork and the list above
                proc.send_signal(signal.SIGTERM)
            code = proc.wait()
            ran = time.monotonic() - t0
            if stop.is_set() or code in NO_RESTART:
                say(f"hft supervise: child {proc.pid} {_describe(code)}; not restarted")
                return 128 - code if code < 0 else code
            if ran >= stable_s:
                backoff = backoff_first_s
            say(f"hft supervise: child {proc.pid} {_describe(code)} after {ran:.1f} s; restarting in {backoff:g} s")
            end = time.monotonic() + backoff
            while not stop.is_set() and time.monotonic() < end:
                time.sleep(0.05)
            if stop.is_set():
                say("hft supervise: stopped during the back-off")
                return 0
            backoff = min(backoff_max_s, backoff * 2)
    finally:
        for s, h in before.items():
            signal.signal(s, h)
