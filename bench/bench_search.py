"""Benchmark of `hft alpha search` → bench/results/bench_search.json.

A 200-trial spec (five shipped alphas, singletons and pairs, two weighting schemes, small parameter grids) on
one LOBSTER day (GOOG level 10 when ../shared/data is present, else a generated day), scored on 1 s features.
Each run is a fresh `hft alpha search --json` process with its own HFT_HOME (nothing resumed, every trial
recorded through the WAL into chDB), so the figures include recording. Reported per backend: trials/minute of
the search phase (the engine's own clock, features already cached by a warm-up run) and the whole command's
wall time; medians of several runs. Backends: local inline (1 worker), local process pool (2 workers), local
auto (no --workers: inline unless the work is long), local Ray (2 workers) — the peer of the local pool.

Usage: ``python bench/bench_search.py [--quick]``.
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
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine_info, shared_data, write_result

SPEC = """search: bench200
alphas:
  obi_l1: {smooth: [1, 5, 20, 50]}
  microprice_dev: {smooth: [1, 10, 50]}
  ofi: {window: [10, 50, 100]}
  trade_sign_flow: {window: [50, 200]}
  obi_multi: {levels: [3, 5], decay: [0.0, 0.5]}
subset_sizes: [1, 2]
weights: [equal, ic]
features: {levels: 5, sampling: 1s, horizons: [1s, 10s]}
target: 10s
bucket: 5m
"""
HFT = str(Path(sys.executable).with_name("hft"))


def day(tmp: Path) -> Path:
    data = shared_data()
    if data is not None and (data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip").is_file():
        return data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"
    from hft.data.importing import generate_day

    return Path(generate_day(tmp, seed=7, symbol="SYNTH", date="2024-01-02", messages=150_000, levels=10,
                             zip_output=True)["zip_path"])


def run(spec: Path, data: Path, cache: Path, backend: str, workers: int) -> dict:
    home = Path(tempfile.mkdtemp(prefix="bench_search_"))
    try:
        (home / "cache").symlink_to(cache)  # warm feature cache shared by every run
        env = {**os.environ, "HFT_HOME": str(home), "RAY_AUTH_MODE": "disabled"}
        t0 = time.perf_counter()
        out = subprocess.run([HFT, "alpha", "search", str(spec), "--data", str(data), "--backend", backend,
                              "--workers", str(workers), "--max-trials", "200", "--json"],
                             capture_output=True, text=True, env=env, check=True)
        wall = time.perf_counter() - t0
        res = json.loads(out.stdout)
        assert res["new_trials"] == 200, res["new_trials"]
        return {"trials_per_min": res["trials_per_min"], "search_s": res["wall_s"], "command_s": wall,
                "top": res["top"][0]["trial"]}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="one run per backend")
    args = ap.parse_args()
    repeat = 1 if args.quick else 3
    tmp = Path(tempfile.mkdtemp(prefix="bench_search_data_"))
    try:
        spec = tmp / "spec.yaml"
        spec.write_text(SPEC)
        data = day(tmp)
        cache = tmp / "cache"
        cache.mkdir()
        run(spec, data, cache, "local", 1)  # warm-up: features into the shared cache, numba compiled
        backends = [("local", 1), ("local", 2), ("local", 0)]  # 0: auto (a pool only for long searches)
        try:
            import ray  # noqa: F401

            backends.append(("ray", 2))
        except ImportError:
            pass
        results = {}
        for backend, workers in backends:
            runs = [run(spec, data, cache, backend, workers) for _ in range(repeat)]
            assert len({r["top"] for r in runs}) == 1  # same leaderboard every run
            results[f"{backend}_{workers}"] = {
                "runs": repeat,
                "trials_per_min_median": statistics.median(r["trials_per_min"] for r in runs),
                "search_s_median": round(statistics.median(r["search_s"] for r in runs), 3),
                "command_s_median": round(statistics.median(r["command_s"] for r in runs), 3),
                "best_trial": runs[0]["top"],
            }
            print(backend, workers, results[f"{backend}_{workers}"], flush=True)
        base = results["local_1"]["trials_per_min_median"]
        ratios = {k: round(v["trials_per_min_median"] / base, 3) for k, v in results.items()}
        assert len({v["best_trial"] for v in results.values()}) == 1, "backends disagree on the best trial"
        path = write_result("bench_search", {"data": data.name, "trials": 200, "results": results,
                                             "ratio_vs_local_1": ratios, "machine": machine_info()})
        print(f"wrote {path.relative_to(REPO)}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
