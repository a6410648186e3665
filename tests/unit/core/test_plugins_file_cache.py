"""hft.core.plugins runs a user's file once per source: loaded again unchanged, it is the same module; changed,
it runs again (a config parsed per layer, merged and again by the gateway loads a check's file once)."""

from __future__ import annotations

from hft.core import plugins
from hft.core.errors import ConfigError


def _load(path):
    obj, origin = plugins.load_object(f"{path}:RUNS", what="list", label="test", error=ConfigError, key="k")
    assert origin == "file"
    return obj


def test_an_unchanged_file_runs_once_and_a_changed_one_again(tmp_path):
    f = tmp_path / "user_code.py"
    f.write_text("RUNS = []\nRUNS.append(1)\n")
    first = _load(f)
    assert _load(f) is first and first == [1]  # not run again
    f.write_text("RUNS = []\nRUNS.append(2)\n")  # same size, other source
    assert _load(f) == [2]
