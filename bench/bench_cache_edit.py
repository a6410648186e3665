"""Kernels recompiled after an edit: `hft warmup --json` on a copy of a source tree with its own empty numba cache,
then again after each edit of the copy (``kernels_compiled``: the compilations numba announced).

Steps: a cold warm-up; a warm one; a docstring and a comment edit in ``hft/sim/engine.py`` and ``hft/core/errors.py``
(no kernel's meaning changes: 0 is the goal); a new constant in ``hft/cli/replay.py`` (no kernel imports it); a
new constant in ``hft/core/rng.py`` (its kernels and those of the modules importing it recompile, no others).
After the warm run, `check_cache_args.py` lists cached signatures whose argument types come from outside their
kernel's stamp (none is the rule's premise).
With ``--tree`` an older tree (``git archive <commit> hft config | tar -x -C DIR``) measures what it did.

Run: ``.venv/bin/python bench/bench_cache_edit.py [--tree DIR] [--label NAME]``; writes
``bench/results/bench_cache_edit.json`` (one section per label). Minutes: the cold warm-up compiles every kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import add_section, machine_info  # noqa: E402

EDITS = {
    "docstring_and_comment": [
        ("hft/sim/engine.py", lambda s: s.replace('"""', '"""(An edited docstring.) ', 1)),
        ("hft/core/errors.py", lambda s: "# an edited comment\n" + s),
    ],
    "unrelated_module": [("hft/cli/replay.py", lambda s: s + "\n_BENCH_EDIT = 1\n")],
    # a kernel module's code: its kernels and those of the modules importing it recompile, no others
    "one_kernel_module": [("hft/core/rng.py", lambda s: s + "\n_BENCH_EDIT = 1\n")],
}


def _warmup(tree: Path, cache: Path) -> dict:
    # the cache home, not NUMBA_CACHE_DIR: an older tree keys its cache only when it chooses the directory
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(tree), XDG_CACHE_HOME=str(cache), PYTHONDONTWRITEBYTECODE="1")
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", "from hft.cli.app import main; main()", "warmup", "--json"],
                       env=env, capture_output=True, text=True, cwd=tree)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"warmup failed ({p.returncode}): {p.stderr[-2000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    return {"wall_s": round(wall, 1), "kernels_compiled": out["kernels_compiled"],
            "steps": {k: v["kernels_compiled"] for k, v in out["steps"].items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", default=str(HERE.parent), help="source tree to copy (its hft/ and config/)")
    ap.add_argument("--label", default="this_tree")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hft-bench-cache-") as tmp:
        tree, cache = Path(tmp) / "tree", Path(tmp) / "cache"
        for d in ("hft", "config"):
            shutil.copytree(Path(args.tree) / d, tree / d, ignore=shutil.ignore_patterns("__pycache__"))
        result = {"machine": machine_info(), "cold": _warmup(tree, cache)}
        print(json.dumps({"cold": result["cold"]}), flush=True)
        result["warm"] = _warmup(tree, cache)
        print(json.dumps({"warm": result["warm"]}), flush=True)
        if (tree / "hft" / "_numba_locator.py").exists():  # the argument types of every kernel the warm-up cached
            p = subprocess.run([sys.executable, str(HERE / "check_cache_args.py"), "--cache", str(cache), "--tree",
                                str(tree)], capture_output=True, text=True, cwd=tmp,
                               env={**os.environ, "XDG_CACHE_HOME": str(cache)})
            result["argument_types"] = json.loads(p.stdout) if p.returncode == 0 else {"error": p.stderr[-2000:]}
            print(json.dumps({"argument_types": result["argument_types"]}), flush=True)
        for name, edits in EDITS.items():
            for rel, edit in edits:
                p = tree / rel
                text = p.read_text()
                new = edit(text)
                assert new != text and re.sub(r"\s", "", new) != "", rel
                p.write_text(new)
            result[name] = _warmup(tree, cache)
            result[name]["edited"] = [rel for rel, _ in edits]
            print(json.dumps({name: result[name]}), flush=True)
    print(add_section("bench_cache_edit", args.label, result))


if __name__ == "__main__":
    main()
