"""Promote benchmark: the Gate D replay (features + signal + `alpha_exec` through the real gateway) on one day.

    .venv/bin/python bench/bench_promote.py [--repeat 3] [--alpha obi_l1] [--quick]

Writes bench/results/bench_promote.json. Sections (each the median of `--repeat` timed runs after one untimed
warm-up run: numba compilation and the feature cache excluded):

* ``gate_d_goog10`` — GOOG 2012-06-21 level 10 (LOBSTER sample, 147,916 messages, ``../shared/data``); skipped
  without the shared data.
* ``gate_d_generated`` — a generated full session (``hft.data.generate`` defaults, ~300k messages, seed 1;
  ``--quick``: 30 minutes, ~20k messages).

Each section reports wall time, events per second, orders and the run hash (equal across runs: determinism).
Gate D is run with ``write_folder=False`` (no Parquet / PNG output) into a temporary ``$HFT_HOME``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, shared_data, summarise, time_runs, write_result

GOOG10 = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"


def bench_gate_d(alpha: str, data: Path, repeat: int) -> dict[str, Any]:
    from hft.alpha.gates.gate_d import run_gate_d
    from hft.data.sources import FILES

    hashes: list[str] = []
    last: dict[str, Any] = {}

    def once() -> None:
        r = run_gate_d(alpha, [data], code_hash="bench", source=FILES, write_folder=False)
        hashes.append(r.run_hash)
        last.update(r.metrics)

    times = time_runs(once, repeat=repeat, warmup=1)
    out = summarise(times, last.get("events"))
    out.update({"data": str(data.name), "orders": last.get("orders"), "fills": last.get("fills"),
                "run_hash": hashes[-1], "deterministic": len(set(hashes)) == 1})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--alpha", default="obi_l1")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    result: dict[str, Any] = {"alpha": args.alpha, "machine": machine_info()}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HFT_HOME"] = str(Path(tmp) / "home")
        shared = shared_data()
        if shared is not None and (shared / GOOG10).is_file() and not args.quick:
            result["gate_d_goog10"] = bench_gate_d(args.alpha, shared / GOOG10, args.repeat)
        else:
            result["gate_d_goog10"] = {"skipped": "no ../shared/data" if shared is None else "--quick"}
        from hft.data.generate import GeneratorConfig, generate_lobster_day

        cfg = GeneratorConfig(seed=1, session_end=34_200 + 1_800, target_messages=20_000) if args.quick else \
            GeneratorConfig(seed=1)
        day = generate_lobster_day(Path(tmp) / "gen", cfg)
        result["gate_d_generated"] = bench_gate_d(args.alpha, day.message_path, args.repeat)
    path = write_result("bench_promote", result)
    print(path)
    for k in ("gate_d_goog10", "gate_d_generated"):
        print(k, {x: result[k].get(x) for x in ("median_s", "items", "per_s_median", "orders", "skipped")
                  if x in result[k]})


if __name__ == "__main__":
    main()
