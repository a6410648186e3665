"""The README's quickstart and code examples stay true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_quickstart_is_exactly_two_commands():
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block is not None and README.index("```bash") < README.index("## ")
    commands = [ln for ln in block.group(1).splitlines() if ln.strip()]
    assert len(commands) == 2
    assert "pip install" in commands[0] and "hft demo" in commands[0]
    assert "pytest" in commands[1]


def test_python_examples_run(monkeypatch):
    monkeypatch.chdir(ROOT)  # examples use repo-relative paths such as config/gateway.yaml
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
