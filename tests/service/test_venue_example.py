"""docs/extending.md's example venue adapter, installed as `pip install` leaves a package (a distribution on the
path with an ``hft.venues`` entry point), named by the service config and passing the conformance suite."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from hft.live import venue_conformance as vc

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _block(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "extending.md").read_text(), flags=re.S)
    (block,) = [b for b in blocks if marker in b]
    return block


def _entry_points() -> str:
    (toml,) = re.findall(r'```toml\n(\[project.entry-points."hft.venues"\]\n.*?)```',
                         (ROOT / "docs" / "extending.md").read_text(), flags=re.S)
    return toml.replace('[project.entry-points."hft.venues"]', "[hft.venues]").replace('"', "")


def test_the_example_adapter_installed_by_name_passes_the_conformance_suite(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "echo_venue.py").write_text(_block("class EchoVenue"))
    dist = site / "echo_venue-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-venue\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(_entry_points())
    monkeypatch.syspath_prepend(str(site))  # the suite builds the adapter in this process too
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    out = vc.run(vc.Profile("echo", {}, env={"PYTHONPATH": path}), tmp_path / "run")
    assert out == dict.fromkeys(vc.CLAUSES, "ok")
