"""`hft replay` start-up: what a new process does before the replay loop (no polars for a LOBSTER zip, git asked
in the background, the same summary)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hft.sim import replay as replay_mod
from hft.sim.git_probe import GitCommitProbe
from tests.git_repo import make_repo

ROOT = Path(replay_mod.__file__).resolve().parents[2]


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return ""


def test_git_commit_is_head_plus_dirty() -> None:
    sha = _git("rev-parse", "HEAD")
    got = replay_mod.git_commit()
    if not sha:
        assert got == ""
        return
    assert got in (sha, sha + "+dirty")
    if _git("status", "--porcelain", "--untracked-files=no"):
        assert got == sha + "+dirty"


def _repo(path: Path) -> str:
    """A small git repository with one commit; its HEAD."""
    return make_repo(path, {f"f{i}.txt": f"{i}\n" for i in range(200)})


def test_git_probe_closed_before_its_result_reaps_git(tmp_path: Path) -> None:
    _repo(tmp_path)
    probe = GitCommitProbe(tmp_path)
    procs = list(probe._procs)
    probe.close()
    assert probe.result() == ""
    assert all(p.returncode is not None for p in procs)
    assert not (tmp_path / ".git" / "index.lock").exists()


def test_git_probe_never_writes_the_index(tmp_path: Path) -> None:
    """A plain `git status` refreshes a stale index under `.git/index.lock`; killed then (the probe's `close`), it
    left the lock in the user's repository and their next commit failed. The probe's status writes nothing."""
    import os

    sha = _repo(tmp_path)
    index = tmp_path / ".git" / "index"
    for f in tmp_path.glob("f*.txt"):  # same content, new times: the index's stat data is stale
        os.utime(f, ns=(f.stat().st_mtime_ns + 10**9, f.stat().st_mtime_ns + 10**9))
    before = index.stat().st_mtime_ns, index.read_bytes()
    assert GitCommitProbe(tmp_path).result() == sha  # not dirty: only the times changed
    assert (index.stat().st_mtime_ns, index.read_bytes()) == before
    (tmp_path / "f0.txt").write_text("changed\n")
    assert GitCommitProbe(tmp_path).result() == sha + "+dirty"
    assert (index.stat().st_mtime_ns, index.read_bytes()) == before


def test_replay_of_a_lobster_zip_does_not_import_polars(tmp_path: Path) -> None:
    from hft.data.importing import generate_day

    day = generate_day(tmp_path, seed=2, symbol="SYNTH", date="2024-01-02", messages=1000, levels=5,
                       zip_output=True)
    code = ("import sys, io, contextlib\n"
            "from hft.cli.app import main\n"
            "buf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf):\n"
            f"    rc = main(['replay', '--data', {day['zip_path']!r}, '--no-store', '--json'])\n"
            "print(json.dumps({'rc': rc, 'polars': 'polars' in sys.modules, 'out': json.loads(buf.getvalue())}))\n")
    p = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True,
                       timeout=900)
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout.strip().splitlines()[-1])
    assert res["rc"] == 0 and res["out"]["ok"] is True and res["out"]["events"] > 0
    assert res["polars"] is False
    assert res["out"]["git_commit"] == replay_mod.git_commit()
