"""The supervisor's restart rule (`hft.live.supervise`) on small child processes."""

from __future__ import annotations

import sys

from hft.live.supervise import child_command, supervise


def _child(tmp_path, codes: list[int]) -> list[str]:
    """A child that exits with the next of `codes` at each start (its count kept in a file)."""
    count = tmp_path / "starts"
    count.write_text("0")
    src = (f"import pathlib, os, signal; p = pathlib.Path({str(count)!r}); n = int(p.read_text()); "
           f"p.write_text(str(n + 1)); c = {codes!r}[n]; "
           "os.kill(os.getpid(), -c) if c < 0 else None; raise SystemExit(c)")
    return [sys.executable, "-c", src]


def test_crashes_and_exit_75_are_restarted_with_back_off_until_a_clean_exit(tmp_path):
    said: list[str] = []
    code = supervise(_child(tmp_path, [75, -9, 1, 0]), backoff_first_s=0.01, say=said.append)
    assert code == 0
    assert (tmp_path / "starts").read_text() == "4"
    restarts = [s for s in said if "restarting in" in s]
    assert len(restarts) == 3
    assert "exited 75 (lost the leader lease)" in restarts[0] and "killed by SIGKILL" in restarts[1]
    assert [s.rsplit("restarting in ", 1)[1] for s in restarts] == ["0.01 s", "0.02 s", "0.04 s"]


def test_config_and_usage_errors_are_not_restarted(tmp_path):
    for c in (2, 10, 11):
        said: list[str] = []
        assert supervise(_child(tmp_path, [c, 0]), backoff_first_s=0.01, say=said.append) == c
        assert (tmp_path / "starts").read_text() == "1" and "not restarted" in said[-1]


def test_the_child_command_drops_the_flag():
    cmd = child_command(["gateway", "serve", "--supervise", "--port", "0"])
    assert cmd[0] == sys.executable and cmd[-4:] == ["gateway", "serve", "--port", "0"]
