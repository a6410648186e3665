"""A second process of a command ("a lane"): a cold kernel cache compiles on one CPU per process, so a command
with two CPUs hands part of its compiling to a second `hft` process while it works on (`hft warmup`: its second
lane of steps; `hft demo`: its replay's kernels while it generates its day).

The child runs ``hft ARGS`` with its output in files (no pipe to fill while the caller works), sees no stdin, and
runs in a session of its own: a terminal's Ctrl-C reaches the caller alone, which stops it as it unwinds
(`stop_lane`), and where the kernel groups processes by session for fair CPU shares (Linux's autogroup, the default
of most desktop distributions) a loaded machine gives it its own share instead of splitting the caller's. It dies
with its caller on Linux (`hft.core.pool.die_with_parent`: SIGKILL, the OOM killer, a second Ctrl-C). numba's cache takes concurrent writers (each entry and index is written to a
temporary file and renamed), so both processes may compile into it at once. The child's last stdout line is its
JSON answer (`finish_lane`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hft.core.errors import HftError


@dataclass(frozen=True)
class Lane:
    """A started second process: its `proc`, its stdout and stderr files, and `what` it is (for an error)."""

    proc: subprocess.Popen
    out: Path
    err: Path
    what: str


def start_lane(tmp: Path, args: list[str], name: str, env: dict[str, str] | None = None,
               what: str | None = None) -> Lane:
    """``hft ARGS`` in a child process, its stdout and stderr to ``tmp/NAME.json`` and ``tmp/NAME.err``; `env`:
    variables set for it on top of this process's; `what`: how an error names it (default ``hft ARGS``)."""
    from hft.core.pool import die_with_parent  # lazy: multiprocessing (~25 ms): not for `hft --help`

    out, err = tmp / f"{name}.json", tmp / f"{name}.err"
    cmd = [sys.executable, "-c", "from hft.cli.app import main; main()", *args]
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                                env={**os.environ, **env} if env else None, start_new_session=True,
                                preexec_fn=functools.partial(die_with_parent, os.getpid()))
    return Lane(proc, out, err, what or "hft " + " ".join(args))


# A child that used no CPU for this long is stopped or hung (compiling is CPU work; a loaded machine still gives it
# some every second): `finish_lane` gives up on it, and its caller does the work itself.
STALL_S = 30.0


def finish_lane(lane: Lane, timeout: float | None = None, stall_s: float = STALL_S) -> dict[str, Any]:
    """The child's JSON answer once it ends; its failure (an exit code, no answer, `timeout` seconds passed, or no
    CPU time used for `stall_s` seconds: stopped or hung, where /proc tells) is an `HftError` in one line naming it
    and the last line it wrote on stderr."""
    t_end = None if timeout is None else time.monotonic() + timeout
    cpu, since = _cpu_ticks(lane.proc.pid), time.monotonic()
    while (code := lane.proc.poll()) is None:
        now = time.monotonic()
        if t_end is not None and now >= t_end:
            raise HftError(f"the second process ({lane.what}) did not end within {timeout:g} s")
        used = _cpu_ticks(lane.proc.pid)
        if used is None or used != cpu:
            cpu, since = used, now
        elif now - since >= stall_s:
            raise HftError(f"the second process ({lane.what}) used no CPU for {stall_s:g} s (stopped or hung)")
        with contextlib.suppress(subprocess.TimeoutExpired):
            lane.proc.wait(min(0.5, t_end - now) if t_end is not None else 0.5)
    text = lane.out.read_text()
    if code != 0 or not text.strip():
        last = next((ln for ln in reversed(lane.err.read_text().splitlines()) if ln.strip()), "no output")
        raise HftError(f"the second process ({lane.what}) failed with exit code {code}: {last}")
    try:
        return json.loads(text.strip().splitlines()[-1])
    except ValueError:
        raise HftError(f"the second process ({lane.what}) answered no JSON: {text.strip()[-200:]}") from None


def _cpu_ticks(pid: int) -> int | None:
    """CPU time process `pid` and its reaped children used so far, in clock ticks (Linux's /proc; None elsewhere
    or when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime (fields 14-17)


def stop_lane(lane: Lane) -> None:
    """Kill the child if it still runs, and reap it."""
    if lane.proc.poll() is None:
        lane.proc.kill()
    lane.proc.wait()
