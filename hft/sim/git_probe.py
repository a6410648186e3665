"""The repository's commit a replay's summary names (``git_commit``): ``git rev-parse HEAD`` and a ``git status``
started in the background (`GitCommitProbe`), so git runs beside the data load and the replay."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["GitCommitProbe", "git_commit"]


def git_commit() -> str:
    """The repository's commit, with ``+dirty`` when the tree has uncommitted changes ('' outside git)."""
    return GitCommitProbe().result()


# `--no-optional-locks`: status must not refresh the index, which takes `.git/index.lock`: a probe killed then
# (an error before the summary) would leave the lock behind, and the user's next git command would fail on it
_GIT_COMMANDS = (["git", "rev-parse", "HEAD"],
                 ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"])


class GitCommitProbe:
    """`git_commit()` started now (both git commands run concurrently, in the background), read by `result()`.
    `root`: the repository (default: the one holding this package)."""

    def __init__(self, root: Path | None = None) -> None:
        root = Path(__file__).resolve().parents[2] if root is None else root
        self._procs: list[subprocess.Popen[str]] = []
        try:
            for cmd in _GIT_COMMANDS:
                self._procs.append(subprocess.Popen(cmd, cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                    stderr=subprocess.DEVNULL, text=True))
        except OSError:
            self._kill()
            self._procs = []
        self._result: str | None = None

    def result(self, timeout_s: float = 5.0) -> str:
        """The commit (``+dirty`` when the tree has uncommitted changes; '' when git failed or took longer than
        `timeout_s`), waited for on the first call."""
        if self._result is None:
            self._result = self._collect(timeout_s)
        return self._result

    def _collect(self, timeout_s: float) -> str:
        if len(self._procs) != len(_GIT_COMMANDS):
            return ""
        try:
            sha, dirty = (p.communicate(timeout=timeout_s)[0].strip() for p in self._procs)
        except (OSError, subprocess.SubprocessError):
            self._kill()
            return ""
        return sha + ("+dirty" if dirty and sha else "")

    def close(self) -> None:
        """Stop and reap git if its result was never asked for (an error before the summary)."""
        if self._result is None:
            self._kill()
            self._result = ""

    def _kill(self) -> None:
        for p in self._procs:
            if p.poll() is None:
                p.kill()
            p.communicate()
