"""No module in `hft/` is over 800 lines (docs/architecture.md): a module past that is split by responsibility."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 800


def test_no_module_over_800_lines():
    big = {p.relative_to(ROOT).as_posix(): n for p in sorted((ROOT / "hft").rglob("*.py"))
           if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"
