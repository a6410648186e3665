"""Two instruments on one clock (this tree) against the single-instrument path of another git revision.

Issue 16 asks several instruments to run "at least [as fast as] today's single-day path on the same events".
`bench_sim.py --only instruments` measures the strict reading (this tree's two legs against this tree's single
path); this bench measures the literal one: the single path of the tree the issue was filed on (``--rev``, by
default 7b8bd4e, the parent of the issue's first commit) on LOBSTER GOOG and AMZN 2012-06-21 level 1 alone,
against this tree's two-leg run of the same 106,997 events, and this tree's single path beside them.

Each side runs in its own long-lived process on one CPU (``taskset -c 1``; the revision checked out once as a git
worktree under ``$XDG_CACHE_HOME/hft/bench-trees/REV``, so its numba cache is kept between runs), asked for one
run at a time in interleaved rounds (the first dropped): the replay loop (``RunOutput.wall_s``) and end to end
(strategy, engine, run; `build_engine` + run alone, `replay_legs` for two legs). Pure replay and `mm` (size 1).
This tree's single runs are hashed once more (untimed) under the BLAKE2b scheme, which older trees used:
``same_runs_as_rev`` says the two trees made the same decisions, orders and fills. Writes bench/results/bench_legs_vs_tree.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from _common import machine_info, paired_ratio, shared_data, write_result

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FILED_REV = "7b8bd4e"  # the parent of issue 16's first commit (024b573, 2026-11-23 18:00 UTC)

# the worker: reads "single|legs|blake2b idle|mm" lines, answers [loop_s, total_s, [hashes]] as JSON lines
_WORKER = r'''
import json, sys, time
from pathlib import Path
import hft  # noqa: F401 (sets the numba cache directory)
from hft.data.sources import open_market_data
from hft.sim.replay import ReplayConfig, build_engine
from hft.sim.strategies import make_strategy
from hft.sim.strategy import Strategy

data = Path(sys.argv[1])
mds = [open_market_data([data / f"LOBSTER_SampleFile_{s}_2012-06-21_1.zip"]) for s in ("GOOG", "AMZN")]
params = {"idle": {}, "mm": {"size": 1}}

def config(name):
    return ReplayConfig(strategies={name: params[name]} if name != "idle" else {}, exchange="no_partial_fill",
                        queue_model="risk_averse", engine="numba")

def strategy(name):
    return Strategy() if name == "idle" else make_strategy(name, params[name])

def single(name):
    loop = total = 0.0
    hashes = []
    for md in mds:
        t0 = time.perf_counter()
        eng, mult = build_engine(md, strategy(name), name, config(name))
        out = eng.run(multiplier=mult)
        total += time.perf_counter() - t0
        loop += out.wall_s
        hashes.append(out.run_hash[:8])
        out = eng = None
    return loop, total, hashes

def legs(name):
    from hft.sim.portfolio import replay_legs
    t0 = time.perf_counter()
    out = replay_legs(mds, strategy(name), name, config(name))[0]
    return out.wall_s, time.perf_counter() - t0, [out.run_hash[:8]]

def blake2b(name):
    """The single runs' hashes under BLAKE2b, the scheme of trees before BLAKE3 (untimed)."""
    from hft.core.ids import run_hash_scheme
    with run_hash_scheme("blake2b-128"):
        return single(name)

for line in sys.stdin:
    kind, name = line.split()
    print(json.dumps({"single": single, "legs": legs, "blake2b": blake2b}[kind](name)), flush=True)
'''


def _tree(rev: str) -> Path:
    """A worktree of `rev` at a stable path (its numba cache survives between runs of this bench)."""
    full = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{rev}^{{commit}}"], check=True,
                          capture_output=True, text=True).stdout.strip()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hft" / "bench-trees"
    path = base / full[:12]
    if not (path / "hft").is_dir():
        base.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(path), full], check=True,
                       capture_output=True)
    return path


class _Side:
    """One long-lived worker process on CPU 1 importing `hft` from `root`."""

    def __init__(self, root: Path, data: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(root)}
        self.proc = subprocess.Popen(["taskset", "-c", "1", sys.executable, "-c", _WORKER, str(data)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=root)

    def ask(self, kind: str, name: str) -> tuple[float, float, list[str]]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{kind} {name}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"bench_legs_vs_tree: a worker exited ({self.proc.wait()})")
        loop, total, hashes = json.loads(line)
        return loop, total, hashes

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def _series(rows: list[tuple[float, float, list[str]]], events: int) -> dict[str, Any]:
    loops = [r[0] for r in rows]
    totals = [r[1] for r in rows]
    return {"loop_median_s": round(statistics.median(loops), 6), "e2e_median_s": round(statistics.median(totals), 6),
            "loop_per_s_median": round(events / statistics.median(loops)),
            "hashes": rows[0][2], "loops_s": [round(x, 6) for x in loops], "e2e_s": [round(x, 6) for x in totals]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default=FILED_REV, help="the revision whose single path is the reference")
    ap.add_argument("--repeat", type=int, default=9, help="interleaved rounds (after one dropped warm-up round)")
    args = ap.parse_args(argv)
    data = shared_data()
    if data is None:
        raise SystemExit("bench_legs_vs_tree: needs ../shared/data (LOBSTER samples)")
    lobster = data / "lobster"
    old, now = _Side(_tree(args.rev), lobster), _Side(REPO, lobster)
    events = 106_997
    result: dict[str, Any] = {"name": "bench_legs_vs_tree", "machine": machine_info(), "rev": args.rev,
                              "repeat": args.repeat, "events": events}
    try:
        for name in ("idle", "mm"):
            rows: dict[str, list[tuple[float, float, list[str]]]] = {"rev_single": [], "single": [], "two_legs": []}
            for r in range(args.repeat + 1):
                got = {"rev_single": old.ask("single", name), "single": now.ask("single", name),
                       "two_legs": now.ask("legs", name)}
                if r:
                    for k, v in got.items():
                        rows[k].append(v)
            sec: dict[str, Any] = {k: _series(v, events) for k, v in rows.items()}
            # the same decisions, orders and fills on both trees: this tree's single runs hashed as the old one did
            sec["single_hashes_blake2b"] = now.ask("blake2b", name)[2]
            sec["same_runs_as_rev"] = sec["single_hashes_blake2b"] == sec["rev_single"]["hashes"]
            legs_loop = [x[0] for x in rows["two_legs"]]
            legs_e2e = [x[1] for x in rows["two_legs"]]
            for ref in ("rev_single", "single"):
                sec[f"two_legs_vs_{ref}"] = {
                    "loops": paired_ratio(legs_loop, [x[0] for x in rows[ref]]),
                    "end_to_end": paired_ratio(legs_e2e, [x[1] for x in rows[ref]])}
            result[name] = sec
            print(f"{name}: two legs vs {args.rev}'s single path, loops "
                  f"{sec['two_legs_vs_rev_single']['loops']['median']}x, end to end "
                  f"{sec['two_legs_vs_rev_single']['end_to_end']['median']}x; vs this tree's single path "
                  f"{sec['two_legs_vs_single']['loops']['median']}x / {sec['two_legs_vs_single']['end_to_end']['median']}x",
                  file=sys.stderr)
    finally:
        old.close()
        now.close()
    print(write_result("bench_legs_vs_tree", result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
