"""A/B of the Python engine's replay against another source tree (the baseline, e.g. main): CPU seconds of a
replay with ``--engine python`` (the rows it appends for orders, fills and equity samples are Python work), each
tree run as a child process in turns, round after round, so a slow spell of the shared machine hits both.

    .venv/bin/python bench/bench_python_engine_ab.py --baseline /path/to/other/tree [--rounds 5] [--runs 3]

The run: a generated L3 day (40,000 messages, seed 7, 5 levels: `tests/golden/generated_mm.json`'s data) with
``mm`` (size 5, max_position 50), the Python engine. Each child replays it once untimed (kernels loaded), then
`--runs` times, each timed by ``time.process_time`` (CPU seconds of the process: the wait for a busy core is not
counted; a shared machine still slows the CPU through its caches). Reports each side's median over rounds of each
round's best run and the paired ratio baseline / ours (> 1: ours faster), and the run's counts. Writes
bench/results/bench_python_engine_ab.json (its other sections kept).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `_common`; the tree on PYTHONPATH is the one imported

from _common import carry_over, machine_info, paired_ratio, write_json

HERE = Path(__file__).resolve().parents[1]
GOLDEN = {"strategies": {"mm": {"max_position": 50, "size": 5}}, "engine": "python"}


def child(runs: int) -> dict[str, object]:
    """In the tree on PYTHONPATH: the best CPU seconds of `runs` replays, and the run's counts."""
    from hft.data.sources import FILES
    from hft.sim.replay import overlay_replay_config, run_replay

    with tempfile.TemporaryDirectory() as d:
        day = FILES.generate_day(Path(d), seed=7, symbol="SYNTH", date="2024-01-02", messages=40_000, levels=5)
        cfg = overlay_replay_config(GOLDEN)
        summary = run_replay([day], "mm", cfg, source=FILES)  # untimed: the kernels loaded or compiled
        cpu = []
        for _ in range(runs):
            t0 = time.process_time()
            s = run_replay([day], "mm", cfg, source=FILES)
            cpu.append(time.process_time() - t0)
            assert s["run_hash"] == summary["run_hash"]
    return {"cpu_s": min(cpu), "run_hash": summary["run_hash"], "events": summary["events"],
            "orders": summary["orders"], "fills": summary["fills"]}


def run_tree(tree: Path, runs: int) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, "--child", "--runs", str(runs)],
                         env={**os.environ, "PYTHONPATH": str(tree)}, check=True, capture_output=True, text=True,
                         cwd=tree).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", help="the other source tree (a checkout's root)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(HERE / "bench" / "results" / "bench_python_engine_ab.json"))
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.runs)), flush=True)
        return 0
    if not a.baseline:
        ap.error("--baseline: expected the other source tree")
    trees = {"ours": HERE, "baseline": Path(a.baseline).resolve()}
    for tree in trees.values():  # warm-up: each tree's kernels compiled / loaded from the cache, not timed
        run_tree(tree, 1)
    rounds: dict[str, list[dict[str, object]]] = {k: [] for k in trees}
    for i in range(a.rounds):
        for side in (list(trees) if i % 2 == 0 else list(trees)[::-1]):  # who goes first alternates
            rounds[side].append(run_tree(trees[side], a.runs))
    hashes = {str(r["run_hash"]) for rs in rounds.values() for r in rs}
    if len(hashes) != 1:
        raise SystemExit(f"the trees' runs differ: run hashes {sorted(hashes)}")
    cpu = {side: [float(r["cpu_s"]) for r in rs] for side, rs in rounds.items()}  # type: ignore[arg-type]
    first = rounds["ours"][0]
    result = {
        "bench": "bench_python_engine_ab", "machine": machine_info(), "load_average_after": list(os.getloadavg()),
        "params": {"baseline": str(trees["baseline"]), "rounds": a.rounds, "runs": a.runs, "config": GOLDEN},
        "run": {k: first[k] for k in ("run_hash", "events", "orders", "fills")},
        "median_cpu_s": {side: round(statistics.median(v), 4) for side, v in cpu.items()},
        "paired_ratio_baseline_over_ours": paired_ratio(cpu["ours"], cpu["baseline"]),
        "rounds_cpu_s": cpu,
    }
    write_json(a.out, carry_over(a.out, result))
    print(json.dumps({k: result[k] for k in ("run", "median_cpu_s", "paired_ratio_baseline_over_ours")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
