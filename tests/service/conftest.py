"""Fixtures of the live-service tests (helpers in svckit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from svckit import Server


@pytest.fixture
def server_factory(tmp_path):
    started: list[Server] = []

    def make(*args: str, home: Path | None = None, **kw: Any) -> Server:
        s = Server(home or tmp_path / "home", *args, **kw)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()
