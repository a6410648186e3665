"""What a fresh install compiles: `hft demo` on a cold kernel cache, `hft warmup` on a cold cache, the demo after it.

Each cold run gets its own empty ``NUMBA_CACHE_DIR`` and ``HFT_HOME``; the runs of one round follow each other and
rounds repeat (``--repeat``), so the figures compared were taken in the same spell of a shared machine. For each:
wall seconds, CPU seconds (the process and the children it waited for: the warm-up's and the demo's second process
and the live service), numba's compile events (`hft.compile_watch.CompileWatch`, in the demo's process; the warm-up's own
``kernels_compiled``) and what the cache holds afterwards (`hft.compile_watch.cached_specialisations`: distinct
(kernel, signature) pairs, and the kernels holding signatures that differ only by flags). ``--base DIR`` runs the
same on another tree (``git archive <commit> hft config research | tar -x -C DIR``: the demo reads
research/alphas) in the same rounds, interleaved.
``--install`` also times the README's install step (line 1 before ``hft demo``: a fresh venv, ``pip install -e .``) in a clone, with
pip's cache as on this machine, and with ``--no-cache-dir`` as on a new one.

Run: ``.venv/bin/python bench/bench_compile.py [--repeat N] [--base DIR] [--install] [--demo-only |
--warmup-only]``; writes ``bench/results/bench_compile.json`` (section ``--label``). Minutes per round: every
run compiles from nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import add_section, machine_info  # noqa: E402

# `hft ARGS` in this process with numba's compile events counted (a child compiles nothing of the demo's)
_WATCHED = """
import json, sys
from hft.compile_watch import CompileWatch
w = CompileWatch().__enter__()
try:
    from hft.cli.app import main
    sys.argv = ["hft", *sys.argv[1:]]
    main()
finally:
    sys.stderr.write("\\nWATCH " + json.dumps({"events": w.kernels, "compile_s": round(w.seconds, 2)}) + "\\n")
"""
_CENSUS = "import json, hft; from hft.compile_watch import cached_specialisations as c; print(json.dumps(c()))"


def _env(tree: Path, cache: Path, home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree), "NUMBA_CACHE_DIR": str(cache), "HFT_HOME": str(home),
            "PYTHONDONTWRITEBYTECODE": "1"}


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess, float, float]:
    """The run, its wall seconds and its CPU seconds (its own and its waited-for children's)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[-3:])} failed ({p.returncode}): {p.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return p, round(wall, 1), round(cpu, 1)


def _census(tree: Path, cache: Path, home: Path) -> dict:
    if not (tree / "hft" / "compile_watch.py").read_text().count("def cached_specialisations"):
        return {}  # an older tree: no census
    p = subprocess.run([sys.executable, "-c", _CENSUS], env=_env(tree, cache, home), cwd=tree, capture_output=True,
                       text=True)
    return json.loads(p.stdout) if p.returncode == 0 else {"error": p.stderr[-500:]}


def _demo(tree: Path, cache: Path, home: Path) -> dict:
    p, wall, cpu = _timed([sys.executable, "-c", _WATCHED, "demo", "--json"], _env(tree, cache, home), tree)
    watch = json.loads(p.stderr.rsplit("WATCH ", 1)[1])
    out = json.loads(p.stdout.strip().splitlines()[-1])
    steps = out["steps"]
    return {"wall_s": wall, "cpu_s": cpu, "compile_events": watch["events"], "compile_s": watch["compile_s"],
            # a tree whose demo reports them: its second process, and each step's compile events in its own
            "compile_ahead": out.get("compile_ahead"),
            "step_s": {k: v["step_s"] for k, v in steps.items()},
            "step_kernels": {k: v["kernels_compiled"] for k, v in steps.items() if "kernels_compiled" in v}}


def _warmup(tree: Path, cache: Path, home: Path) -> dict:
    p, wall, cpu = _timed([sys.executable, "-m", "hft", "warmup", "--json"], _env(tree, cache, home), tree)
    out = json.loads(p.stdout.strip().splitlines()[-1])
    return {"wall_s": wall, "cpu_s": cpu, "compile_events": out["kernels_compiled"],
            "lanes": {k: v["kernels_compiled"] for k, v in out["steps"].items()}}


def _round(tree: Path, tmp: Path, demo_only: bool, warmup_only: bool = False) -> dict:
    """Cold demo; cold warm-up, then the demo on its cache (as README line 1 ran both)."""
    out = {}
    if not warmup_only:
        cache, home = tmp / "c1", tmp / "h1"
        out["demo_cold"] = {**_demo(tree, cache, home), "cache": _census(tree, cache, home)}
        shutil.rmtree(cache, ignore_errors=True)  # the next round's demo starts cold too
        shutil.rmtree(home, ignore_errors=True)
    if demo_only:
        return out
    cache, home = tmp / "c2", tmp / "h2"
    out["warmup_cold"] = {**_warmup(tree, cache, home), "cache": _census(tree, cache, home)}
    if warmup_only:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        return out
    out["demo_after_warmup"] = _demo(tree, cache, home)
    out["warmup_then_demo_wall_s"] = round(out["warmup_cold"]["wall_s"] + out["demo_after_warmup"]["wall_s"], 1)
    for d in ("c1", "c2", "h1", "h2"):
        shutil.rmtree(tmp / d, ignore_errors=True)
    return out


def _install(tree: Path, tmp: Path, no_cache: bool) -> dict:
    """README line 1's install step in a fresh clone: wall seconds."""
    clone = tmp / ("clone-nocache" if no_cache else "clone")
    subprocess.run(["git", "clone", "-q", str(tree), str(clone)], check=True)
    t0 = time.perf_counter()
    # README line 1 up to the demo (`python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/hft demo`)
    line1 = re.search(r"```bash\n(.*?)\n", (tree / "README.md").read_text()).group(1)
    install = line1.split("&& .venv/bin/hft demo")[0].strip().removesuffix("&&").strip()
    install = install.replace("pip install", "pip install -q" + (" --no-cache-dir" if no_cache else ""))
    subprocess.run(["bash", "-c", install.replace("python3 -m venv", f"{sys.executable} -m venv", 1)], cwd=clone,
                   check=True)
    wall = round(time.perf_counter() - t0, 1)
    shutil.rmtree(clone, ignore_errors=True)
    return {"wall_s": wall, "pip_cache": "none (--no-cache-dir, a new machine)" if no_cache else "this machine's"}


def _median(rounds: list[dict], *path: str) -> float:
    vals = []
    for r in rounds:
        v = r
        for k in path:
            v = v[k]
        vals.append(v)
    return round(statistics.median(vals), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--base", default=None, help="a baseline tree (its hft/ and config/), measured interleaved")
    ap.add_argument("--install", action="store_true", help="also time README line 1's install step")
    ap.add_argument("--demo-only", action="store_true", help="only the cold demo (minutes less)")
    ap.add_argument("--warmup-only", action="store_true", help="only the cold warm-up and its cache's census")
    ap.add_argument("--label", default="this_tree")
    args = ap.parse_args()
    trees = {"tree": HERE.parent, **({"base": Path(args.base).resolve()} if args.base else {})}
    result: dict = {"machine": machine_info(), "rounds": {k: [] for k in trees}}
    with tempfile.TemporaryDirectory(prefix="hft-bench-compile-") as tmp:
        for i in range(args.repeat):
            for name, tree in trees.items():
                r = _round(tree, Path(tmp), args.demo_only, args.warmup_only)
                r["loadavg"] = [round(x, 2) for x in os.getloadavg()]
                result["rounds"][name].append(r)
                print(json.dumps({name: r, "round": i}), flush=True)
        if args.install:
            result["install"] = [_install(HERE.parent, Path(tmp), no_cache) for no_cache in (False, True)]
            print(json.dumps({"install": result["install"]}), flush=True)
    demo = ("demo_cold.wall_s", "demo_cold.cpu_s", "demo_cold.compile_events")
    warmup = ("warmup_cold.wall_s", "warmup_cold.cpu_s", "warmup_cold.compile_events",
              "warmup_cold.cache.specialisations")
    fields = demo if args.demo_only else warmup if args.warmup_only else (
        *demo, *warmup, "demo_after_warmup.wall_s", "warmup_then_demo_wall_s")
    result["medians"] = {name: {f: _median(rs, *f.split(".")) for f in fields}
                         for name, rs in result["rounds"].items() if rs}
    print(add_section("bench_compile", args.label, result))


if __name__ == "__main__":
    main()
