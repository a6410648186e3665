"""Helpers to run the real `hft` console script in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HFT = Path(sys.executable).with_name("hft")


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def run_hft(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: int = 300) -> Run:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("HFT_DEBUG", None)
    if env and "HFT_DEBUG" in env:
        full_env["HFT_DEBUG"] = env["HFT_DEBUG"]
    p = subprocess.run([str(HFT), *args], capture_output=True, text=True, cwd=cwd, env=full_env,
                       timeout=timeout)
    return Run(p.returncode, p.stdout, p.stderr)


def generated_day(tmp_path_factory, name: str, messages: int) -> Path:
    """A generated LOBSTER day (5 levels, zipped) of `messages` messages, by `hft data generate`: a module
    fixture's data."""
    out = tmp_path_factory.mktemp(name)
    r = run_hft("data", "generate", "--out", str(out), "--messages", str(messages), "--levels", "5", "--zip",
                "--json")
    assert r.code == 0, r.err
    return Path(r.json()["zip_path"])


@pytest.fixture
def hft():
    return run_hft
