"""The README's quickstart and code examples stay true."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_quickstart_is_exactly_two_commands():
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block is not None and README.index("```bash") < README.index("## ")
    commands = [ln for ln in block.group(1).splitlines() if ln.strip()]
    assert len(commands) == 2
    assert "pip install" in commands[0] and "hft demo" in commands[0]
    assert "pytest" in commands[1]


def _python_blocks() -> list[tuple[str, str]]:
    """Every ```python block of README.md and docs/*.md, as (``FILE:LINE``, code)."""
    out = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        for m in re.finditer(r"```python\n(.*?)```", text, re.S):
            out.append((f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}", m.group(1)))
    return out


BLOCKS = _python_blocks()


def test_there_are_python_examples():
    assert any(where.startswith("README.md") for where, _ in BLOCKS)
    assert any(where.startswith("docs/") for where, _ in BLOCKS)


@pytest.mark.parametrize("where,code", BLOCKS, ids=[w for w, _ in BLOCKS])
def test_python_examples_run(where, code, tmp_path):
    """Each example runs as written, in a fresh interpreter, from the repository root (examples use repo-relative
    paths such as config/gateway.yaml) with ``HFT_HOME`` in a scratch folder."""
    env = {**os.environ, "HFT_HOME": str(tmp_path / "home"),
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    script = tmp_path / "example.py"
    script.write_text(code)
    r = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=600)
    if r.returncode:
        pytest.fail(f"{where}: the example failed:\n{r.stderr[-3000:]}", pytrace=False)
