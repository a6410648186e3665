"""A signal during `hft gateway serve`'s own shutdown (after its first signal stopped the HTTP front: the drain,
snapshot and WAL close) follows the CLI's one rule (`hft.core.interrupts`): a repeat within the window leaves the
shutdown alone (exit 0, as a graceful stop), a later repeat exits at once with one line (exit 143). Before, the
front put the default handlers back, so a second SIGTERM killed the process in the middle of its snapshot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from svckit import CONFIG, SECRET, free_port

# `hft gateway serve` whose shutdown holds before its drain (the file $DRAIN_MARK says it got there) until the file
# $DRAIN_RELEASE exists, as a slow disk holds a snapshot (the start's warm-up, a throwaway copy of the service,
# is not held). The service is the real one, the hold aside.
HELD_DRAIN = textwrap.dedent("""
    import os, sys, time
    import hft.live.server as server

    stop_engine = server.stop_engine

    async def held(live, tasks):
        if "hft-warm-" in str(live.wal.wal_dir):  # the warm-up's throwaway service stops as it does
            return await stop_engine(live, tasks)
        open(os.environ["DRAIN_MARK"], "w").close()
        while not os.path.exists(os.environ["DRAIN_RELEASE"]):
            time.sleep(0.02)  # blocking, as a snapshot's write is
        return await stop_engine(live, tasks)

    server.stop_engine = held
    from hft.cli.app import main
    sys.argv = ["hft", *sys.argv[1:]]
    main()
""")


def _serving(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """The held service, started: its ready line written (its signal handlers in place)."""
    env = {**os.environ, "HFT_HOME": str(tmp_path / "home"), "HFT_JWT_SECRET": SECRET,
           "HFT_GATEWAY_PORT": str(free_port()), "DRAIN_MARK": str(tmp_path / "draining"),
           "DRAIN_RELEASE": str(tmp_path / "release")}
    env.pop("HFT_DEBUG", None)
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    p = subprocess.Popen([sys.executable, "-c", HELD_DRAIN, "gateway", "serve", "--config", str(CONFIG)],
                         stdin=subprocess.DEVNULL, stdout=open(out, "wb"), stderr=open(err, "wb"),  # noqa: SIM115
                         env=env)
    end = time.monotonic() + 180
    while p.poll() is None and time.monotonic() < end:
        if b"listening on" in out.read_bytes():
            return p, err
        time.sleep(0.05)
    p.kill()
    p.wait(10)
    raise AssertionError(f"the service did not start: {err.read_text()[-2000:]}")


def _draining(p: subprocess.Popen, tmp_path: Path) -> None:
    p.send_signal(signal.SIGTERM)
    end = time.monotonic() + 30
    while not (tmp_path / "draining").exists() and p.poll() is None and time.monotonic() < end:
        time.sleep(0.01)
    assert (tmp_path / "draining").exists()


def test_a_repeat_within_the_window_leaves_the_shutdown_alone(tmp_path):
    p, err = _serving(tmp_path)
    try:
        _draining(p, tmp_path)
        p.send_signal(signal.SIGTERM)  # a supervisor's second SIGTERM, at once
        with pytest.raises(subprocess.TimeoutExpired):
            p.wait(0.3)  # still draining: not killed
        (tmp_path / "release").touch()
        code = p.wait(30)
    finally:
        p.kill()
        p.wait(10)
    assert code == 0, err.read_text()
    assert "error:" not in err.read_text()


def test_a_later_repeat_exits_at_once_with_one_line(tmp_path):
    p, err = _serving(tmp_path)
    try:
        _draining(p, tmp_path)
        time.sleep(1.3)  # past hft.core.interrupts.REPEAT_WINDOW_S: "stop now"
        p.send_signal(signal.SIGTERM)
        code = p.wait(10)  # the drain is still held: only the rule ends it
    finally:
        p.kill()
        p.wait(10)
    assert code == 128 + signal.SIGTERM, err.read_text()
    lines = [x for x in err.read_text().splitlines() if x.startswith(("error:", "hint:"))]
    assert lines[0] == "error: stopping on SIGTERM, then SIGTERM again: exited at once, shutdown skipped", lines
    assert "Traceback" not in err.read_text()
