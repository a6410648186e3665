"""Fixtures of the research-tool tests: a small generated day and the tools loaded by path like the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_day(tmp_path_factory) -> Path:
    from hft.data.importing import generate_day

    out = tmp_path_factory.mktemp("research_day")
    return Path(generate_day(out, seed=5, symbol="SYNTH", date="2024-01-02", messages=30000, levels=5,
                             zip_output=True)["zip_path"])


@pytest.fixture(scope="session")
def heldout_day(tmp_path_factory) -> Path:
    from hft.data.importing import generate_day

    out = tmp_path_factory.mktemp("research_day_b")
    return Path(generate_day(out, seed=9, symbol="SYNTH", date="2024-01-03", messages=20000, levels=5,
                             zip_output=True)["zip_path"])


@pytest.fixture(scope="session")
def search_engine():
    from hft.cli._research import load_research_module

    return load_research_module("combinatorial/search_engine.py")


@pytest.fixture(scope="session")
def rl():
    from hft.cli._research import load_research_module

    return load_research_module("rl/lifecycle.py")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Feature cache and artifacts of a test stay in its tmp dir."""
    monkeypatch.setenv("HFT_HOME", str(tmp_path / "hft_home"))
