"""`hft alpha scaffold NAME`: the happy path in a temporary research root, and every refusal (nothing written).

Runs in process through `hft.cli.app.main` (the error → exit-code table) with the `alpha` group attached for
the test when the root app does not carry it yet.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hft.cli import alpha as alpha_cli
from hft.cli import app as root_cli
from hft.cli._research import load_research_module
from hft.core.errors import GovernanceError
from hft.data.sources import FILES


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """main(argv) → exit code, with HFT_RESEARCH_ROOT in a temp dir (read output with capsys)."""
    monkeypatch.setenv("HFT_RESEARCH_ROOT", str(tmp_path / "research"))
    monkeypatch.delenv("HFT_DEBUG", raising=False)
    groups = root_cli.app.registered_groups
    added = None
    if not any(g.name == "alpha" for g in groups):
        root_cli.app.add_typer(alpha_cli.app, name="alpha")
        added = groups[-1]

    def run(*args: str) -> int:
        return root_cli.main(list(args))

    yield run
    if added is not None:
        groups.remove(added)


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_scaffold_happy_path(cli, tmp_path, capsys):
    code = cli("alpha", "scaffold", "my_idea", "--json")
    out = capsys.readouterr()
    assert code == 0, out.err
    res = json.loads(out.out)
    folder = tmp_path / "research" / "alphas" / "my_idea"
    assert res["ok"] and res["alpha_id"] == "my_idea" and Path(res["path"]) == folder
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "__init__.py", "alpha.py", "config.yaml",
                                                             "test_alpha.py"]
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp dir left

    # importable through the registry BY ID, and computes a signal on a small generated day
    from hft.alpha.api.registry import get_alpha, list_alphas, load_config
    from hft.alpha.research.features import compute_features
    from hft.data.importing import generate_day

    assert list_alphas() == ["my_idea"]
    cfg = load_config("my_idea")
    alpha = get_alpha("my_idea", cfg.params)
    day = generate_day(tmp_path / "day", seed=2, symbol="SYNTH", date="2024-01-02", messages=2000, levels=5,
                       zip_output=False)
    feats = compute_features([Path(day["message_path"])], cfg.features, source=FILES, cache=False)
    sig = alpha.signal(feats)
    assert len(sig) == feats.height and sig.is_finite().mean() > 0.9

    # the generated tests pass
    spec = importlib.util.spec_from_file_location("_scaffolded_test_my_idea", folder / "test_alpha.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    try:
        spec.loader.exec_module(mod)
        tests = [f for n, f in vars(mod).items() if n.startswith("test_")]
        assert len(tests) >= 3
        for t in tests:
            t()
    finally:
        sys.modules.pop(spec.name, None)


def test_scaffold_human_output(cli, tmp_path, capsys):
    assert cli("alpha", "scaffold", "x2") == 0
    assert "created alpha" in capsys.readouterr().out


@pytest.mark.parametrize("name, match", [
    ("Bad", "lowercase identifier"),
    ("9lives", "lowercase identifier"),
    ("my-alpha", "lowercase identifier"),
    ("a/b", "path separators"),
    ("a\\b", "path separators"),
    ("..", "path separators"),
    ("../escape", "path separators"),
    ("class", "keyword"),
    ("lambda", "keyword"),
    ("match", "keyword"),
])
def test_scaffold_refuses_bad_names(cli, tmp_path, capsys, name, match):
    code = cli("alpha", "scaffold", name, "--json")
    out = capsys.readouterr()
    assert code == GovernanceError.exit_code
    assert match in out.err and out.err.startswith("error: ")
    assert json.loads(out.out)["ok"] is False
    assert _tree(tmp_path) == []  # nothing written anywhere, not even research/


def test_scaffold_refuses_an_existing_alpha(cli, tmp_path, capsys):
    assert cli("alpha", "scaffold", "taken") == 0
    folder = tmp_path / "research" / "alphas" / "taken"
    (folder / "alpha.py").write_text("# my work\n")
    before = _tree(tmp_path)
    capsys.readouterr()
    code = cli("alpha", "scaffold", "taken")
    err = capsys.readouterr().err
    assert code == GovernanceError.exit_code and "already exists" in err
    assert _tree(tmp_path) == before
    assert (folder / "alpha.py").read_text() == "# my work\n"


def test_scaffold_failure_mid_write_leaves_nothing(tmp_path, monkeypatch):
    tool = load_research_module("tools/alpha_scaffold.py")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(tool.os, "rename", boom)
    with pytest.raises(OSError, match="disk full"):
        tool.scaffold("half", root=tmp_path)
    assert _tree(tmp_path / "alphas") == []


def test_scaffold_class_name():
    tool = load_research_module("tools/alpha_scaffold.py")
    assert tool.class_name("my_alpha_2") == "MyAlpha2"
    assert tool.class_name("x") == "X"


def test_a_killed_scaffolds_temp_folder_goes_at_the_next_scaffold(cli, tmp_path, capsys):
    from hft.core.fileio import temp_prefix

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid no process has now
    alphas = tmp_path / "research" / "alphas"
    alphas.mkdir(parents=True)
    left = alphas / (temp_prefix(".half.").replace(f".{os.getpid()}-", f".{dead.pid}-") + "abcd.tmp")
    left.mkdir()  # as mkdtemp names it (prefix, random part, suffix) for a writer now dead
    live = alphas / (temp_prefix(".mine.") + "efgh.tmp")  # this process's: alive, never touched
    live.mkdir()
    assert cli("alpha", "scaffold", "next_idea", "--json") == 0, capsys.readouterr().err
    assert sorted(p.name for p in alphas.iterdir()) == sorted([live.name, "next_idea"])
