"""`hft demo` on a cold cache with two CPUs: a second process compiles the replay's kernels while the demo generates
its day, and the demo's own replay then compiles none of them. Killed, that process costs the demo nothing but the
time (it compiles what it needs itself: `demo ok`, the same run hash), and so does a stopped one (given up after
`hft.cli._lanes.STALL_S` seconds without CPU, and killed); Ctrl-C of the demo leaves it not running; on
one CPU, or with the cache warm, no second process starts.

"Cold" is what the demo reads: no pass of the L3 replay's self-test recorded in the kernel cache
(`hft.core.selftest.passed`). The tests that need no compiling run on a copy of this checkout's cache with that
record removed, so the second process starts and finds its kernels cached; one test runs on an empty cache.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import hft  # noqa: F401  (sets NUMBA_CACHE_DIR: the cache the copies are made from)
from tests.cli.conftest import HFT

pytestmark = pytest.mark.slow  # starts hft as processes: outside the README's test command

ARGS = ("demo", "--no-lifecycle", "--messages", "20000")
TWO_CPUS = pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                              reason="the second process starts only with two usable CPUs")


def _cold_copy(tmp: Path) -> Path:
    """A copy of this checkout's kernel cache without the record of the L3 replay's self-test: cold to the demo."""
    cache = tmp / "cache"
    src = Path(os.environ["NUMBA_CACHE_DIR"])
    if src.is_dir():
        shutil.copytree(src, cache)
    else:
        cache.mkdir()
    for marker in (cache / "hft-selftest").glob("replay-l3-*"):
        marker.unlink()
    return cache


def _env(tmp: Path, cache: Path) -> dict[str, str]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "HFT_HOME": str(tmp / "home")}
    env.pop("HFT_DEBUG", None)
    return env


def _children(pid: int) -> list[int]:
    """The live children of `pid` (Linux: /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _is_compile_ahead(pid: int) -> bool:
    try:
        return b"--compile-ahead" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _gone(pid: int) -> bool:
    """No process `pid`, or only its zombie (ended, not yet reaped by whoever adopted it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _second_process(demo: subprocess.Popen, timeout: float = 60.0) -> int:
    """The demo's second process once it has started (fails the test if none starts)."""
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end and demo.poll() is None:
        kids = [c for c in _children(demo.pid) if _is_compile_ahead(c)]
        if kids:
            return kids[0]
        time.sleep(0.01)
    raise AssertionError(f"the demo (exit {demo.poll()}) started no second process")


def _start(tmp: Path, cache: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([str(HFT), *ARGS, "--out", str(tmp / "demo"), *extra], env=_env(tmp, cache),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


def _run_hash(tmp: Path) -> str:
    return json.loads((tmp / "demo" / "run-mm" / "summary.json").read_text())["run_hash"]


def _our_temps(pid: int) -> list[str]:
    return [p.name for p in Path(tempfile.gettempdir()).glob(f"hft-demo-{pid}-*")]


@TWO_CPUS
def test_a_cold_demo_compiles_the_replay_in_a_second_process(tmp_path):
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    p = subprocess.run([str(HFT), *ARGS, "--out", str(tmp_path / "demo"), "--json"], env=_env(tmp_path, cache),
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stderr[-2000:]
    doc = json.loads(p.stdout)
    ahead = doc["compile_ahead"]
    assert ahead["processes"] == 2 and ahead["ok"], ahead
    assert ahead["kernels_compiled"] > 50  # the replay loop, the L3 venue, the gateway: compiled over there
    assert doc["steps"]["generate"]["kernels_compiled"] > 0  # the generator's, compiled here meanwhile
    assert doc["steps"]["replay"]["kernels_compiled"] == 0, doc["steps"]["replay"]  # none compiled twice

    # warm now: no second process, and the same run
    first = _run_hash(tmp_path)
    again = subprocess.run([str(HFT), *ARGS, "--out", str(tmp_path / "demo"), "--json"], env=_env(tmp_path, cache),
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout)["compile_ahead"] == {"processes": 1}
    assert _run_hash(tmp_path) == first


@TWO_CPUS
def test_a_killed_second_process_costs_the_demo_nothing_but_time(tmp_path):
    cache = _cold_copy(tmp_path)
    # the run hash of the demo whose second process compiled (found cached) the replay's kernels
    base = subprocess.run([str(HFT), *ARGS, "--out", str(tmp_path / "demo"), "--json"], env=_env(tmp_path, cache),
                          capture_output=True, text=True, timeout=900)
    assert base.returncode == 0, base.stderr[-2000:]
    assert json.loads(base.stdout)["compile_ahead"]["processes"] == 2  # the copy was cold to it
    expected = _run_hash(tmp_path)
    for marker in (cache / "hft-selftest").glob("replay-l3-*"):
        marker.unlink()  # cold again

    demo = _start(tmp_path, cache)
    os.kill(_second_process(demo), signal.SIGKILL)
    out, err = demo.communicate(timeout=900)
    assert demo.returncode == 0, err[-2000:]
    assert "demo ok" in out
    assert "note: the second process (hft demo --compile-ahead) failed" in err and "exit code -9" in err, err
    assert "Traceback" not in err
    assert _run_hash(tmp_path) == expected
    assert not _our_temps(demo.pid)


@TWO_CPUS
def test_a_stopped_second_process_is_given_up_and_killed(tmp_path):
    """SIGSTOP (a hung child): the demo waits while it uses no CPU for `STALL_S` only, kills it, compiles itself."""
    demo = _start(tmp_path, _cold_copy(tmp_path))
    child = _second_process(demo)
    os.kill(child, signal.SIGSTOP)
    out, err = demo.communicate(timeout=900)
    assert demo.returncode == 0, err[-2000:]
    assert "demo ok" in out
    assert "note: the second process (hft demo --compile-ahead) used no CPU for 30 s (stopped or hung)" in err, err
    assert "Traceback" not in err
    assert _gone(child), f"the stopped second process {child} outlived the demo"
    assert not _our_temps(demo.pid)


@TWO_CPUS
def test_ctrl_c_of_the_demo_leaves_no_second_process(tmp_path):
    demo = _start(tmp_path, _cold_copy(tmp_path))
    child = _second_process(demo)
    demo.send_signal(signal.SIGINT)  # the demo alone, as `kill -INT`: the child must not outlive it anyway
    _, err = demo.communicate(timeout=120)
    assert demo.returncode == 130, err[-2000:]
    assert "error: interrupted by SIGINT" in err and "Traceback" not in err
    # stopped before the demo exits (or killed by the kernel as it exits): not left to finish its work (seconds)
    t_end = time.monotonic() + 1.0
    while not _gone(child) and time.monotonic() < t_end:
        time.sleep(0.02)
    assert _gone(child), f"the second process {child} outlived the demo"
    assert not _our_temps(demo.pid)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="CPU affinity is Linux's")
def test_on_one_cpu_a_cold_demo_runs_in_one_process(tmp_path):
    cache = _cold_copy(tmp_path)
    cpu = min(os.sched_getaffinity(0))
    p = subprocess.run([sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{cpu}}}); "
                        f"os.execv({str(HFT)!r}, [{str(HFT)!r}, *{list(ARGS)!r}, '--out', "
                        f"{str(tmp_path / 'demo')!r}, '--json'])"],
                       env=_env(tmp_path, cache), capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(p.stdout)["compile_ahead"] == {"processes": 1}
