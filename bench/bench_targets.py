"""The CPU target the kernels are compiled for, measured: `bench_sim.py --only lobster_l3` (LOBSTER GOOG against
hftbacktest's L3 backtest, pure replay and `mm`, paired ratios ours / peer in the same run) once per target in
interleaved rounds, each target with its own numba cache (the first round compiles it, untimed). Targets: this
CPU's model (numba's own default, ``host``: no ``NUMBA_CPU_NAME``), x86-64-v3 and x86-64-v4 (skipped without
AVX-512). Writes ``bench/results/bench_targets.json`` (section ``--section``); the medians over rounds of each
target's paired ratios and loop times. What `hft` picks by default (`hft._default_target`) is what this decides.

    .venv/bin/python bench/bench_targets.py [--rounds 4] [--repeat 7] [--section NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine_info, write_json

ROOT = Path(__file__).resolve().parents[1]
HOST = "host"


def _host_model() -> str:
    code = "import llvmlite.binding as l; print(l.get_host_cpu_name())"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def _can_run(target: str) -> bool:
    if target != "x86-64-v4":
        return True
    flags = next((ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")), "")
    return all(f in flags.split() for f in ("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"))


def _one(target: str, cache: Path, repeat: int) -> dict:
    """One `bench_sim --only lobster_l3` run for `target`: its lobster_l3 section (bench_sim's own results file is
    put back as it was)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES")}
    env["NUMBA_CACHE_DIR"] = str(cache)
    env["NUMBA_CPU_NAME"] = _host_model() if target == HOST else target  # host: the model's name, as numba's default
    if target == HOST:
        env["NUMBA_CPU_FEATURES"] = subprocess.run(
            [sys.executable, "-c", "import llvmlite.binding as l; print(l.get_host_cpu_features().flatten())"],
            capture_output=True, text=True, check=True).stdout.strip()
    results = RESULTS / "bench_sim.json"
    keep = results.read_bytes() if results.exists() else None
    try:
        subprocess.run([sys.executable, str(ROOT / "bench" / "bench_sim.py"), "--only", "lobster_l3", "--repeat",
                        str(repeat), "--no-startup"], env=env, check=True, capture_output=True, text=True)
        return json.loads(results.read_text())["lobster_l3"]
    finally:
        if keep is not None:
            results.write_bytes(keep)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--section", default="lobster_l3_targets")
    a = ap.parse_args()
    targets = [t for t in (HOST, "x86-64-v3", "x86-64-v4") if _can_run(t)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-targets-"))
    rows: dict[str, list[dict]] = {t: [] for t in targets}
    try:
        for t in targets:  # compile each target's cache: untimed
            _one(t, tmp / t, 1)
        for _ in range(a.rounds):
            for t in targets:
                s = _one(t, tmp / t, a.repeat)
                o = s["ours"]
                rows[t].append({"pure_loop_ms": round(o["pure_replay_loop"]["median_s"] * 1e3, 3),
                                "mm_loop_ms": round(o["mm_loop"]["median_s"] * 1e3, 3),
                                "paired_pure": s["paired_ratio_pure_replay"]["median"],
                                "paired_mm": s["paired_ratio_mm"]["median"],
                                "mm_run_hashes": o["mm_run_hashes"]})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {t: {k: round(statistics.median(r[k] for r in rs), 4) for k in ("pure_loop_ms", "mm_loop_ms",
                                                                          "paired_pure", "paired_mm")}
           for t, rs in rows.items()}
    hashes = {h for rs in rows.values() for r in rs for h in r["mm_run_hashes"]}
    out_path = RESULTS / "bench_targets.json"
    doc = json.loads(out_path.read_text()) if out_path.exists() else {}
    doc[a.section] = {"machine": machine_info(), "host_model": _host_model(), "rounds": rows, "medians": med,
                      "same_mm_run_hash_on_every_target": len(hashes) == 1}
    write_json(out_path, doc)
    print(json.dumps(doc[a.section]["medians"], indent=1))


if __name__ == "__main__":
    main()
