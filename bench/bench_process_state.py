"""What the process-wide state around a replay buys: glibc's keep-freed-memory policy (`hft.core.memory`) and the
reuse of a run's big buffers by the next run (`hft.sim.engine_nb.buffers.Spares`), against their absence.

Repeated LOBSTER GOOG 2012-06-21 `mm` runs (size 1, max position 10, ``no_partial_fill``, risk-averse queue: as
`bench_sim.py`'s L3 case), each mode in a fresh process, the modes in turns (``--pairs`` rounds); per process the
median of ``--runs`` warm runs (after two warm-up runs): the run with its set-up (`build_engine` + run), the
replay loop alone, minor page faults per run. Modes:

* ``plain``: what a library caller gets (no memory policy; each engine its own buffers);
* ``keep``: `keep_freed_memory()` called first (what `hft replay sweep` and the benchmarks opt into);
* ``spares``: no policy, one `Spares` passed to every run (`build_engine(..., spares=)`);
* ``keep_spares``: both.

Also times the strict parse of the simulator's gateway config (`sim_gateway_config`), which was memoised per
arguments and environment before. Writes bench/results/bench_process_state.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, shared_data, write_result

MODES = ("plain", "keep", "spares", "keep_spares")

_CHILD = r"""
import json, resource, sys, time
mode, day, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode.startswith("keep"):
    from hft.core.memory import keep_freed_memory
    keep_freed_memory()
from hft.data.sources import open_market_data
from hft.sim.replay import ReplayConfig, build_engine
from hft.sim.strategies import make_strategy
md = open_market_data([day])
cfg = ReplayConfig(strategies={"mm": {"size": 1, "max_position": 10}}, exchange="no_partial_fill",
                   queue_model="risk_averse", engine="numba")
kw = {}
if mode.endswith("spares"):
    from hft.sim.engine_nb.buffers import Spares
    kw["spares"] = Spares()

def one():
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0 = time.perf_counter()
    eng, mult = build_engine(md, make_strategy("mm", {"size": 1, "max_position": 10}), "mm", cfg, **kw)
    out = eng.run(multiplier=mult)
    total = time.perf_counter() - t0
    return total, out.wall_s, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0, out.run_hash

for _ in range(2):
    one()
rows = [one() for _ in range(runs)]
from hft.sim.gateway_setup import sim_gateway_config
t0 = time.perf_counter()
for _ in range(200):
    sim_gateway_config("GOOG", "mm", limits={"max_position": 10})
parse = (time.perf_counter() - t0) / 200
print(json.dumps({"total": [r[0] for r in rows], "loop": [r[1] for r in rows], "faults": [r[2] for r in rows],
                  "hashes": sorted({r[3] for r in rows}), "parse_s": parse}))
"""


def _child(mode: str, day: Path, runs: int) -> dict[str, Any]:
    p = subprocess.run([sys.executable, "-c", _CHILD, mode, str(day), str(runs)], capture_output=True, text=True,
                       check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=5, help="rounds of one process per mode, in turns")
    ap.add_argument("--runs", type=int, default=21, help="warm runs per process")
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    args = ap.parse_args(argv)
    data = shared_data()
    if data is None:
        print("needs ../shared/data (LOBSTER sample)", file=sys.stderr)
        return 1
    day = data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"
    per: dict[str, list[dict[str, Any]]] = {m: [] for m in args.modes}
    for _ in range(args.pairs):
        for m in args.modes:
            r = _child(m, day, args.runs)
            per[m].append({"total_ms": statistics.median(r["total"]) * 1e3,
                           "loop_ms": statistics.median(r["loop"]) * 1e3,
                           "faults": statistics.median(r["faults"]), "hashes": r["hashes"],
                           "parse_ms": r["parse_s"] * 1e3})
            print(m, {k: (round(v, 2) if isinstance(v, float) else v) for k, v in per[m][-1].items()}, flush=True)
    hashes = {h for rows in per.values() for r in rows for h in r["hashes"]}
    result: dict[str, Any] = {
        "name": "bench_process_state", "machine": machine_info(), "pairs": args.pairs, "runs": args.runs,
        "day": day.name, "run_hashes": sorted(hashes),
        "modes": {m: {"total_ms_median": round(statistics.median(r["total_ms"] for r in rows), 2),
                      "total_ms_per_process": [round(r["total_ms"], 2) for r in rows],
                      "loop_ms_median": round(statistics.median(r["loop_ms"] for r in rows), 2),
                      "faults_median": statistics.median(r["faults"] for r in rows)}
                  for m, rows in per.items()},
        "sim_gateway_config_parse_ms_median": round(statistics.median(r["parse_ms"] for rows in per.values()
                                                                      for r in rows), 3)}
    print(json.dumps(result["modes"], indent=1), "parse ms", result["sim_gateway_config_parse_ms_median"])
    write_result("bench_process_state", result)
    return 0 if len(hashes) == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
