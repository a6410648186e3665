"""What SIGINT / SIGTERM do to an `hft` process (docs/architecture.md, rule 12): one rule for the CLI and the
servers it runs.

* The first signal unwinds the command: KeyboardInterrupt, so every ``finally`` and context manager runs (temp
  files and folders removed, pool workers stopped, the WAL closed), and the CLI ends in one
  ``error: interrupted by SIG…`` line (exit 130 / 143).
* Repeats within `REPEAT_WINDOW_S` of it (a terminal's flood, a double tap, a supervisor's signal on top of the
  terminal's) are noted and leave the cleanup alone: a second KeyboardInterrupt inside a ``finally`` is how temp
  folders used to be left behind.
* A repeat after that means "exit now": one line saying the cleanup was skipped, the first signal's exit code, at
  once (``os._exit``). What is left is named so that the next run removes it (`hft.core.fileio.remove_dead_temps`);
  pool workers die with the process (`hft.core.pool`).
* A server that stops gracefully on its own signal handler (`hft.live.http`: stop accepting, finish in-flight
  requests, then the gateway's drain, snapshot and WAL close) hands the signal back (`Interrupts.graceful`): its
  shutdown is the cleanup, so a repeat within the window leaves it alone and a later one exits at once; the
  command's exit code stays its own (a graceful stop exits 0).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from typing import Any

#: Seconds after the first SIGINT / SIGTERM within which a repeat is the same interruption and leaves the cleanup
#: alone; a repeat after that exits at once (module docstring).
REPEAT_WINDOW_S = 1.0


class Interrupts:
    """The SIGINT / SIGTERM handler of a command (`catch_interrupts`; module docstring). `received`: the signals
    that interrupted the command (the first decides its exit code); `unwound`: set by the caller once the command
    has returned (only interpreter shutdown is left, so any signal then exits at once)."""

    def __init__(self, json_mode: bool = False) -> None:
        self.json_mode = json_mode
        self.received: list[int] = []
        self.first_at: float | None = None
        self.stopped_by: int | None = None  # the signal a server's own handler stopped on (`graceful`)
        self.unwound = False
        self.hook_before: Any = sys.unraisablehook

    def __call__(self, signum: int, frame: Any) -> None:
        now = time.monotonic()
        if self.first_at is None and not self.unwound:
            self.first_at = now
            self.received.append(signum)
            raise KeyboardInterrupt
        if self.first_at is not None and now - self.first_at < REPEAT_WINDOW_S:
            if self.received:  # the same interruption: the cleanup goes on (a graceful stop's code stays its own)
                self.received.append(signum)
            return
        self.exit_now(signum)

    def unraisable(self, info: Any) -> None:
        """`sys.unraisablehook` while installed: our KeyboardInterrupt raised where Python cannot propagate it (a
        ``__del__``, a weakref or GC callback: printed as "Exception ignored in …" and dropped, the command running
        on) is delivered again, quietly: the signal is re-sent a moment later from another thread (from here it
        would raise inside this hook), so it interrupts the command at its next step. Any other unraisable
        exception goes to the hook in place before."""
        if not (isinstance(info.exc_value, KeyboardInterrupt) and self.received and not self.unwound):
            self.hook_before(info)
            return
        signum = self.received[0]
        self.received.clear()
        self.first_at = None
        threading.Thread(target=_resend, args=(signum, Interrupts.unraisable.__code__), name="hft-interrupt-again",
                         daemon=True).start()

    def graceful(self, signum: int, at: float) -> None:
        """A server's own handler received `signum` at `at` (``time.monotonic()``) and stopped gracefully; its
        shutdown goes on under this handler as a cleanup does: repeats within the window are left alone, a later
        one exits at once. The command's exit code is not changed (not in `received`)."""
        if self.first_at is None:
            self.first_at = at
            self.stopped_by = signum

    def exit_now(self, signum: int) -> None:
        """End the process at once (``os._exit``: no ``finally``, no atexit, no thread joined), one line saying
        the cleanup was skipped; the exit code of the first signal (130 Ctrl-C, 143 SIGTERM)."""
        first = self.received[0] if self.received else (self.stopped_by or signum)
        name, again = signal.Signals(first).name, signal.Signals(signum).name
        with contextlib.suppress(Exception):  # what the command wrote so far (not if the signal came mid-write)
            sys.stdout.flush()
        if self.received:
            line = f"error: interrupted by {name}, then {again} again: exited at once, cleanup skipped\n"
        elif self.stopped_by is not None:
            line = f"error: stopping on {name}, then {again} again: exited at once, shutdown skipped\n"
        else:  # the command had ended (its result written): only the interpreter's shutdown was left
            line = f"error: interrupted by {name} while exiting: exited at once, cleanup skipped\n"
        line += "hint: the next run that writes the same output removes the temporary files left behind\n"
        with contextlib.suppress(OSError):  # plain writes: the handler may have interrupted a buffered one
            if self.json_mode and self.received:  # the command's own JSON result was never written
                os.write(1, (json.dumps({"ok": False, "error": "Interrupted", "signal": name,
                                         "cleanup": "skipped"}) + "\n").encode())
            os.write(2, line.encode())
        os._exit(128 + first)


def _resend(signum: int, hook: Any) -> None:
    """Send `signum` again once the main thread has left the unraisable hook (its code object `hook`): raised
    there, the handler's KeyboardInterrupt would be dropped again. Waiting on the hook's frame, not on a clock: a
    loaded machine can hold the main thread inside the hook (starting this thread) for longer than any sleep."""
    main = threading.main_thread().ident
    end = time.monotonic() + 5.0  # (bounded: a hook that never returns is not ours to wait for)
    while time.monotonic() < end:
        frame = sys._current_frames().get(main)
        while frame is not None and frame.f_code is not hook:
            frame = frame.f_back
        if frame is None:
            break
        time.sleep(0.001)
    os.kill(os.getpid(), signum)


def catch_interrupts(handler: Interrupts) -> dict[int, Any]:
    """Install `handler` for SIGINT and SIGTERM (module docstring), and its `Interrupts.unraisable` as
    `sys.unraisablehook`. Returns the handlers to restore (`release`; none off the main thread, where Python
    allows no handler; an ignored signal stays ignored)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) in (signal.default_int_handler, signal.SIG_DFL):
            previous[sig] = signal.signal(sig, handler)
    if previous:
        handler.hook_before = sys.unraisablehook
        sys.unraisablehook = handler.unraisable
    return previous


def release(handler: Interrupts, previous: dict[int, Any]) -> None:
    """Put back what `catch_interrupts` replaced (`previous`, its answer)."""
    for sig, before in previous.items():
        signal.signal(sig, before)
    if previous and sys.unraisablehook == handler.unraisable:
        sys.unraisablehook = handler.hook_before
