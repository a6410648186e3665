"""numba's on-disk cache is keyed by the content of every numba-using module (hft/__init__.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _run(code: str, env: dict[str, str]) -> str:
    full = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**full, **env},
                       check=True)
    return p.stdout.strip()


def test_cache_dir_is_content_keyed_and_used(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    code = ("import os, hft; from hft.core.rng import splitmix64; splitmix64(1, 2); "
            "print(os.environ['NUMBA_CACHE_DIR'])")
    first = Path(_run(code, env))
    assert first.parent == tmp_path / "hft" / "numba" and first.name.startswith("0.1.0-")
    assert any(first.rglob("*.nbi")), "numba wrote its index files into the keyed directory"
    assert Path(_run(code, env)) == first  # same sources: the same cache, no recompile


def test_an_explicit_numba_cache_dir_is_respected(tmp_path):
    out = _run("import os, hft; print(os.environ['NUMBA_CACHE_DIR'])", {"NUMBA_CACHE_DIR": str(tmp_path / "x")})
    assert out == str(tmp_path / "x")


def test_old_caches_are_pruned(tmp_path):
    base = tmp_path / "hft" / "numba"
    for i in range(4):
        d = base / f"0.0.{i}-old"
        d.mkdir(parents=True)
        os.utime(d, (1_000_000 + i, 1_000_000 + i))
    _run("import hft", {"XDG_CACHE_HOME": str(tmp_path)})
    left = sorted(p.name for p in base.iterdir())
    assert "0.0.3-old" in left and "0.0.2-old" in left and "0.0.0-old" not in left and len(left) == 3


def test_caches_used_this_week_are_kept(tmp_path):
    """Several checkouts on one machine (worktrees, a CI clone) must not delete each other's fresh caches."""
    import time

    base = tmp_path / "hft" / "numba"
    now = time.time()
    for i in range(5):
        d = base / f"0.0.{i}-other-checkout"
        d.mkdir(parents=True)
        os.utime(d, (now - 3600 * (i + 1), now - 3600 * (i + 1)))  # used within the last hours
    stale = base / "0.0.9-stale"
    stale.mkdir()
    os.utime(stale, (now - 30 * 86400, now - 30 * 86400))
    _run("import hft", {"XDG_CACHE_HOME": str(tmp_path)})
    left = {p.name for p in base.iterdir()}
    assert {f"0.0.{i}-other-checkout" for i in range(5)} <= left and "0.0.9-stale" not in left


def test_every_module_with_kernels_is_in_the_cache_key():
    """The key covers the modules whose text says "numba" (hft/__init__.py): a module whose kernels use a decorator
    imported from another module (``@_kernel``, ``@_inline``) must say it too, or a change to it would run stale."""
    root = Path(__file__).resolve().parents[3] / "hft"
    jit = ("@_kernel", "@_inline", "@njit", "njit(", "@jit", "_kernel(", "_inline(")
    missing = [str(p.relative_to(root)) for p in root.rglob("*.py")
               if any(m in (t := p.read_text()) for m in jit) and "numba" not in t]
    assert missing == []
