"""`hft.cli._lanes.finish_lane` with real child processes: a child that works is waited for however long it takes;
one that uses no CPU (stopped with SIGSTOP, or blocked) is given up after `stall_s`, in one line naming it; one that
fails names its exit code and last stderr line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hft.cli._lanes import Lane, finish_lane, stop_lane
from hft.core.errors import HftError

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="CPU time is read from Linux's /proc")


def _lane(tmp: Path, code: str) -> Lane:
    out, err = tmp / "child.json", tmp / "child.err"
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=fo, stderr=fe, stdin=subprocess.DEVNULL)
    return Lane(proc, out, err, "the test's child")


def test_a_working_child_is_waited_for_past_the_stall_limit(tmp_path):
    # busy for ~2.5 s of CPU, then answers: never idle for the 1 s limit
    lane = _lane(tmp_path, "import time, json\nt = time.process_time()\nwhile time.process_time() - t < 2.5: pass\n"
                           "print(json.dumps({'ok': True}))")
    try:
        assert finish_lane(lane, stall_s=1.0) == {"ok": True}
    finally:
        stop_lane(lane)


def test_a_stopped_child_is_given_up_after_the_stall_limit(tmp_path):
    lane = _lane(tmp_path, "while True: pass")
    try:
        time.sleep(0.3)
        os.kill(lane.proc.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        with pytest.raises(HftError, match=r"the second process \(the test's child\) used no CPU for 1 s "
                                           r"\(stopped or hung\)"):
            finish_lane(lane, stall_s=1.0)
        assert 1.0 <= time.monotonic() - t0 < 10.0
    finally:
        stop_lane(lane)  # SIGKILL ends a stopped process too
    assert lane.proc.returncode == -signal.SIGKILL


def test_a_blocked_child_is_given_up_too(tmp_path):
    lane = _lane(tmp_path, "import time; time.sleep(60)")
    try:
        with pytest.raises(HftError, match="used no CPU for 1 s"):
            finish_lane(lane, stall_s=1.0)
    finally:
        stop_lane(lane)


def test_a_failed_child_names_its_exit_code_and_last_error_line(tmp_path):
    lane = _lane(tmp_path, "import sys; sys.stderr.write('first\\nboom: no kernel\\n'); sys.exit(3)")
    with pytest.raises(HftError, match=r"failed with exit code 3: boom: no kernel$"):
        finish_lane(lane)


def test_the_overall_timeout_still_holds(tmp_path):
    lane = _lane(tmp_path, "while True: pass")
    try:
        with pytest.raises(HftError, match=r"did not end within 0.5 s"):
            finish_lane(lane, timeout=0.5)
    finally:
        stop_lane(lane)
