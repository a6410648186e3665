"""A/B of the gateway's `process()` against another source tree (the baseline, e.g. main): `bench_gateway.py` of
each tree run as a child process in turns, round after round, so a slow spell of the shared machine hits both.

    .venv/bin/python bench/bench_gateway_ab.py --baseline /work/main [--rounds 5] [--n 100000] [--runs 3]

Reports, per side, the median over rounds of each round's per-intent p50 / p99 (timing off and dispatch, the
large and the cache-resident universe) and the batch kernel's ns per intent, and the paired ratios baseline /
ours of the p50s (> 1: ours faster). Writes bench/results/bench_gateway_ab.json (its other sections kept).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import carry_over, machine_info, paired_ratio, write_json

HERE = Path(__file__).resolve().parents[1]
#: (label, section of bench_gateway.json, key)
FIGURES = (("p50_off", "per_intent_typed_timing_off", "p50_ns"), ("p99_off", "per_intent_typed_timing_off", "p99_ns"),
           ("p50_dispatch", "per_intent_typed_timing_dispatch", "p50_ns"),
           ("p50_small_off", "small_universe_10sym_2strat_timing_off", "p50_ns"),
           ("batch_kernel_ns", "batch", "ns_per_intent_kernel_only"))


def run_tree(tree: Path, args: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "r.json"
        subprocess.run([sys.executable, str(tree / "bench" / "bench_gateway.py"), *args, "--out", str(out)],
                       env={**os.environ, "PYTHONPATH": str(tree)}, check=True, capture_output=True, cwd=tree)
        res = json.loads(out.read_text())["results"]
    return {label: float(res[sec][key]) for label, sec, key in FIGURES}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="the other source tree (a checkout's root)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "bench" / "results" / "bench_gateway_ab.json"))
    a = ap.parse_args(argv)
    args = ["--n", str(a.n), "--batch-n", str(a.n), "--runs", str(a.runs)]
    trees = {"ours": HERE, "baseline": Path(a.baseline).resolve()}
    for tree in trees.values():  # warm-up: each tree's kernels compiled / loaded from the cache, not timed
        run_tree(tree, ["--quick"])
    rounds: dict[str, list[dict[str, float]]] = {k: [] for k in trees}
    for i in range(a.rounds):
        order = list(trees) if i % 2 == 0 else list(trees)[::-1]  # who goes first alternates
        for side in order:
            rounds[side].append(run_tree(trees[side], args))
    result = {
        "bench": "bench_gateway_ab", "machine": machine_info(), "load_average_after": list(os.getloadavg()),
        "params": {"baseline": str(trees["baseline"]), "rounds": a.rounds, "n": a.n, "runs": a.runs},
        "median": {side: {label: statistics.median(r[label] for r in rs) for label, _, _ in FIGURES}
                   for side, rs in rounds.items()},
        "paired_ratio_baseline_over_ours": {
            label: paired_ratio([r[label] for r in rounds["ours"]], [r[label] for r in rounds["baseline"]])
            for label, _, _ in FIGURES},
        "rounds": rounds,
    }
    write_json(a.out, carry_over(a.out, result))
    print(json.dumps({k: result[k] for k in ("median", "paired_ratio_baseline_over_ours")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
