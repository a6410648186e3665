"""A strategy kernel run from Python callbacks (`hft.sim.engine_nb.strategy_kernels.BookKernel`): the path of the
reference engine, of ``strategy_kernels = False`` and of several-leg runs with an external kernel.

On LOBSTER GOOG 2012-06-21 level 10 (the first ``--messages``; needs ../shared/data), the numba engine with
``strategy_kernels = False`` (the kernel runs from the Python ``on_book`` at every book callback, its intents go
through the gateway from Python), L3 venue, exchange ``no_partial_fill``:

* ``queue_quote``: the context kernel of docs/examples/queue_quote.py (depth 10 levels, 4 trade prints, queue
  position, account row);
* ``mm``: the built-in `mm` kernel from Python;
* ``noop``: a Python ``on_book`` that does nothing, the ceiling of the callback path itself.

A/B of source trees (``--trees A,B``: each case of each tree in its own process, `_common.tree_child`, the trees
interleaved per round, so that they compare within one run); messages per second over the replay loop (the
engine's ``wall_s``) and of the process's CPU time over it (``cpu_s``: less sensitive to the shared machine's
load), medians over the rounds, paired speed-ups per round, and each tree's run hashes (the trees must agree). Writes
``bench/results/bench_kernel_python.json``. Run: ``.venv/bin/python bench/bench_kernel_python.py --trees
BASE,NEW [--rounds 5] [--messages 30000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine_info, shared_data, summarise, tree_child, write_result  # noqa: E402

FILE = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"
CASES = ("queue_quote", "mm", "noop")
PARAMS = {"queue_quote": {"size": 1, "max_position": 10, "k_pct": 50},
          "mm": {"size": 1, "max_position": 10, "edge_ticks": 0, "skew_ticks_per_lot": 0}}


def child(case: str, messages: int, tree: str) -> dict[str, Any]:
    """One run of `case` on this process's tree (after one untimed run: the kernels' caches loaded)."""
    from hft.data.lobster import LobsterData, import_lobster
    from hft.data.sources import MarketData
    from hft.sim.replay import ReplayConfig, build_engine
    from hft.sim.strategies import make_strategy
    from hft.sim.strategy import Strategy

    data = import_lobster(shared_data() / FILE)
    n = min(messages, len(data.events))
    data = LobsterData(data.events[:n], data.instrument, data.reference[:n], data.levels, data.meta)
    md = MarketData("lobster", data.events, data.instrument, dict(data.meta), lobster=data)

    class Noop(Strategy):
        name = "noop"

        def on_book(self, ctx: Any) -> None:
            pass

    def make() -> Strategy:
        if case == "noop":
            return Noop()
        spec = f"{tree}/docs/examples/queue_quote.py:QueueQuoteNb" if case == "queue_quote" else case
        return make_strategy(spec, PARAMS[case])

    def run() -> tuple[float, float, str]:
        eng, mult = build_engine(md, make(), case, ReplayConfig(exchange="no_partial_fill", engine="numba"))
        eng.strategy_kernels = False  # the kernel from the Python callback
        c0 = time.process_time()
        out = eng.run(multiplier=mult)
        return out.wall_s, time.process_time() - c0, out.run_hash

    run()
    t0 = time.perf_counter()
    wall, cpu, h = run()
    return {"messages": n, "wall_s": wall, "cpu_s": cpu, "total_s": time.perf_counter() - t0, "run_hash": h}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trees", default=str(HERE.parent), help="source trees, comma-separated (the first: base)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--messages", type=int, default=30_000)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--case", default="queue_quote")
    ap.add_argument("--tree", default=str(HERE.parent))
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.case, args.messages, args.tree)), flush=True)
        return 0
    if shared_data() is None:
        print("../shared/data not present", file=sys.stderr)
        return 1
    trees, cases = args.trees.split(","), args.cases.split(",")
    runs: list[dict[str, Any]] = []
    for r in range(args.rounds):
        for case in cases:
            for t in trees:  # interleaved: a noisy neighbour hits every tree of a round alike
                load = os.getloadavg()[0]
                res = tree_child(__file__, ["--case", case, "--messages", str(args.messages), "--tree", t], t)
                runs.append({"round": r, "case": case, "tree": t, "load": round(load, 2), **res})
                print(json.dumps(runs[-1]), flush=True)
    summary: dict[str, Any] = {}
    for case in cases:
        per: dict[str, Any] = {}
        for t in trees:
            mine = [x for x in runs if x["case"] == case and x["tree"] == t]
            per[t] = {"wall": summarise([x["wall_s"] for x in mine], mine[0]["messages"]),
                      "cpu": summarise([x["cpu_s"] for x in mine], mine[0]["messages"]),
                      "run_hashes": sorted({x["run_hash"] for x in mine})}
        for t in trees[1:]:
            for what in ("wall_s", "cpu_s"):  # paired by round: base time / this tree's time
                base = [x[what] for x in runs if x["case"] == case and x["tree"] == trees[0]]
                mine = [x[what] for x in runs if x["case"] == case and x["tree"] == t]
                ratios = [b / m for b, m in zip(base, mine, strict=True)]
                per[t][f"speedup_vs_base_{what[:-2]}_median"] = round(statistics.median(ratios), 2)
            per[t]["same_run_hash_as_base"] = per[t]["run_hashes"] == per[trees[0]]["run_hashes"]
        summary[case] = per
    print(json.dumps(summary, indent=2))
    print(write_result("bench_kernel_python", {"name": "bench_kernel_python", "file": FILE, "args": vars(args),
                                               "machine": machine_info(), "summary": summary, "runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
