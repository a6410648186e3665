"""The numba loop's per-leg layout: one-leg replay speed and compile events of one, two and three legs, as an A/B
of two source trees (a baseline and a candidate), each with its own numba cache.

Speed (``speed``): the LOBSTER GOOG 2012-06-21 `mm` golden (L3 venue) and the Binance spot ETHUSDT `mm` golden
(L2 venue, two chained captures), their configs read from ``tests/golden/*.json``. Each measurement is a fresh
worker process with one tree on PYTHONPATH and that tree's own (warm) ``NUMBA_CACHE_DIR``; the trees in turns
(``--pairs`` rounds), per process the median of ``--runs`` replay loops (`RunOutput.wall_s`) after two warm-up
runs. Reported: each tree's median over its processes and the paired ratio (base / candidate: > 1 the candidate is
faster). The run hashes must agree.

Compile (``compile``): each tree in one process with a fresh, empty ``NUMBA_CACHE_DIR``, in this order: one L2
leg (`mm`), two L2 legs (`hedged_mm`), three L2 legs (`mm`), one L3 leg (`mm`, a generated LOBSTER day), two L3
legs (`hedged_mm`) — the runs of ``hft warmup`` — and the kernels compiled (numba's compile events) and compile
seconds of each step. Writes bench/results/bench_legs_layout.json (``speed`` / ``compile`` sections).
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, add_section, machine_info, paired_ratio, shared_data

CASES = ("lobster_goog_mm", "binance_spot_eth_mm")

_SPEED = r"""
import json, sys
from pathlib import Path
from hft.core.ids import run_hash_scheme
from hft.data.sources import FILES
from hft.sim.golden import _config, _load
from hft.sim.replay import build_engine
from hft.sim.strategies import make_strategy
golden, data, runs = Path(sys.argv[1]), [Path(p) for p in sys.argv[2].split(",")], int(sys.argv[3])
doc = _load(golden)
cfg = _config(doc.get("config") or {}, golden.parent)
md = FILES.open_market_data(data)
name = doc["strategy"]

def one():
    eng, mult = build_engine(md, make_strategy(name, cfg.strategies.get(name)), name, cfg)
    out = eng.run(multiplier=mult)
    return out.wall_s, out.run_hash

with run_hash_scheme(doc["run_hash_scheme"]):
    for _ in range(2):
        one()
    rows = [one() for _ in range(runs)]
print(json.dumps({"loop": [r[0] for r in rows], "hashes": sorted({r[1] for r in rows})}))
"""

_COMPILE = r"""
import json, sys, tempfile, time
from pathlib import Path
from hft.compile_watch import CompileWatch
from hft.core.instrument import Instrument
from hft.data.events_io import write_events
from hft.data.importing import generate_day
from hft.data.sources import open_market_data
from hft.sim.portfolio import replay_legs
from hft.sim.replay import load_replay_config
from hft.sim.selftest import l2_stream
from hft.sim.strategies import make_strategy

cfg = load_replay_config()
tmp = Path(tempfile.mkdtemp(prefix="bench-legs-"))
l2 = []
for k in range(3):
    path = tmp / f"leg{k}.parquet"
    ev = l2_stream(500, seed=2 + k)
    ev["price"] += 1000 * k
    write_events(path, ev, Instrument(f"WARM{k}USDT", "BINANCE_SPOT", "0.01", "0.001", currency="USDT",
                                      book_level="L2"))
    l2.append(open_market_data([path]))
l3 = [open_market_data([generate_day(tmp / sym, seed=seed, symbol=sym, date="2024-01-02", messages=1500,
                                     levels=5, zip_output=True)["zip_path"]]) for seed, sym in ((2, "WA"), (3, "WB"))]
steps = [("L2 1 leg mm", l2[:1], "mm"), ("L2 2 legs hedged_mm", l2[:2], "hedged_mm"), ("L2 3 legs mm", l2, "mm"),
         ("L3 1 leg mm", l3[:1], "mm"), ("L3 2 legs hedged_mm", l3, "hedged_mm")]
out = {}
for name, mds, strat in steps:
    t0 = time.perf_counter()
    with CompileWatch() as w:
        res = replay_legs(mds, make_strategy(strat, cfg.strategies.get(strat)), strat, cfg)[0]
    out[name] = {"kernels_compiled": w.kernels, "compile_s": round(w.seconds, 2),
                 "wall_s": round(time.perf_counter() - t0, 2), "run_hash": res.run_hash}
    print(name, out[name], file=sys.stderr, flush=True)
print(json.dumps(out))
"""


def _child(code: str, tree: str, cache: str, args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": tree, "NUMBA_CACHE_DIR": cache}
    p = subprocess.run([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, env=env, cwd=tree)
    if p.returncode != 0:  # (its stderr went to ours)
        raise SystemExit(f"child failed ({tree})")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _speed(trees: dict[str, str], caches: dict[str, str], pairs: int, runs: int, data: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for case in CASES:
        golden = REPO / "tests" / "golden" / f"{case}.json"
        doc = json.loads(golden.read_text())
        files = ",".join(str((golden.parent / p).resolve()) for p in doc["data"])
        per: dict[str, list[float]] = {t: [] for t in trees}
        hashes: set[str] = set()
        for _ in range(pairs):
            for t, tree in trees.items():
                r = _child(_SPEED, tree, caches[t], [str(golden), files, str(runs)])
                per[t].append(statistics.median(r["loop"]))
                hashes.update(r["hashes"])
                print(case, t, round(per[t][-1] * 1e3, 2), "ms", flush=True)
        out[case] = {"loop_ms_median": {t: round(statistics.median(v) * 1e3, 2) for t, v in per.items()},
                     "loop_ms_per_process": {t: [round(x * 1e3, 2) for x in v] for t, v in per.items()},
                     "ratio_base_over_cand": paired_ratio(per["cand"], per["base"]),
                     "run_hashes": sorted(hashes)}
        print(case, json.dumps(out[case]), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("speed", "compile"))
    ap.add_argument("--base", required=True, help="the baseline source tree")
    ap.add_argument("--cand", default=str(REPO), help="the candidate source tree (default: this one)")
    ap.add_argument("--base-cache", help="speed: the baseline's warm NUMBA_CACHE_DIR")
    ap.add_argument("--cand-cache", help="speed: the candidate's warm NUMBA_CACHE_DIR")
    ap.add_argument("--pairs", type=int, default=7, help="speed: rounds of one process per tree, in turns")
    ap.add_argument("--runs", type=int, default=7, help="speed: replay loops per process")
    ap.add_argument("--trees", nargs="+", default=["base", "cand"], help="compile: which trees")
    args = ap.parse_args(argv)
    trees = {"base": args.base, "cand": args.cand}
    if args.what == "speed":
        data = shared_data()
        if data is None:
            print("needs ../shared/data", file=sys.stderr)
            return 1
        caches = {"base": args.base_cache, "cand": args.cand_cache}
        if None in caches.values():
            ap.error("speed needs --base-cache and --cand-cache (warm ones)")
        result = {"machine": machine_info(), "pairs": args.pairs, "runs": args.runs,
                  "cases": _speed(trees, caches, args.pairs, args.runs, data)}
        add_section("bench_legs_layout", "speed", result)
        return 0 if all(len(c["run_hashes"]) == 1 for c in result["cases"].values()) else 1
    path = REPO / "bench" / "results" / "bench_legs_layout.json"
    res: dict[str, Any] = json.loads(path.read_text()).get("compile", {}) if path.exists() else {}
    res["machine"] = machine_info()  # (a tree not run now keeps its earlier figures)
    for t in args.trees:
        with tempfile.TemporaryDirectory(prefix=f"bench-legs-nb-{t}-") as cache:
            res[t] = _child(_COMPILE, trees[t], cache, [])
        print(t, json.dumps(res[t]), flush=True)
    add_section("bench_legs_layout", "compile", res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
