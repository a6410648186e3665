"""Simulator throughput: `hft replay` engine vs the peer (hftbacktest 2.4.4) in the same run.

Measured on Binance usdm BTCUSDT 2024-08-08 (constant 1 ms latencies, risk-averse queue):

* pure replay, no orders: our engine with a strategy that never trades, vs the peer's `elapse` to the end;
* quote-at-touch market making (`mm`: cancel and requote on every touch change) through the real gateway;
* start-up: a second `hft replay` process on a small generated day (numba cache warm): process wall time
  minus the replay loop time.

Writes bench/results/bench_sim.json. Medians of --repeat runs. The current engine drives the venues from
Python per event (docs/sim.md); the figures say how far it is from the numba engine's goal.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, shared_data, summarise, time_runs, write_result
from bench_data import PEER_FILE, _peer_available, _peer_run


def _ours(md: Any, strategy_name: str, params: dict[str, Any]) -> float:
    from hft.sim.replay import ReplayConfig, build_engine
    from hft.sim.strategies import make_strategy
    from hft.sim.strategy import Strategy

    cfg = ReplayConfig(strategies={strategy_name: params} if strategy_name != "idle" else {})
    strategy = Strategy() if strategy_name == "idle" else make_strategy(strategy_name, params)
    engine, mult = build_engine(md, strategy, strategy_name if strategy_name != "idle" else "idle", cfg)
    out = engine.run(multiplier=mult)
    return out.wall_s


def _startup(tmp: Path) -> dict[str, Any]:
    from hft.data.importing import generate_day

    day = generate_day(tmp, seed=1, symbol="SYNTH", date="2024-01-02", messages=3000, levels=5, zip_output=True)
    exe = Path(sys.executable).with_name("hft")
    cmd = [str(exe), "replay", "--data", day["zip_path"], "--no-store", "--json"]
    subprocess.run(cmd, check=True, capture_output=True)  # warm the numba cache
    rows = []
    for _ in range(5):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, check=True, capture_output=True, text=True)
        total = time.perf_counter() - t0
        rows.append((total, total - json.loads(p.stdout)["wall_s"]))
    rows.sort()
    return {"process_wall_s_median": round(rows[2][0], 3), "startup_s_median": round(sorted(r[1] for r in rows)[2], 3),
            "note": "startup = process wall time minus the replay loop (imports, data load, numba cache load)"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    data = shared_data()
    result: dict[str, Any] = {"name": "bench_sim", "machine": machine_info(), "repeat": args.repeat}
    with tempfile.TemporaryDirectory() as tmp:
        result["startup"] = _startup(Path(tmp))
    if data is None:
        result["replay"] = {"skipped": "../shared/data not present"}
    else:
        from hft.data.sources import open_market_data

        md = open_market_data([data / PEER_FILE])
        n = len(md.events)
        ours_idle = [_ours(md, "idle", {}) for _ in range(args.repeat)]
        ours_mm = [_ours(md, "mm", {"size": 1, "max_position": 10}) for _ in range(args.repeat)]
        result["ours"] = {"rows": n, "pure_replay": summarise(ours_idle, n), "mm_through_gateway": summarise(ours_mm, n)}
        version = _peer_available()
        if version is None:
            result["peer"] = {"skipped": "hftbacktest is not installed (pip install -e '.[bench]')"}
        else:
            from hftbacktest.data.utils import binancefutures

            with contextlib.redirect_stdout(sys.stderr):
                rows = binancefutures.convert(str(data / PEER_FILE))
            roi = (float(rows["px"][rows["px"] > 0].min()), float(rows["px"].max()))
            peer = time_runs(lambda: _peer_run(rows, "roivector", roi), repeat=args.repeat)
            result["peer"] = {"version": version, "rows": len(rows),
                              "pure_replay_incl_setup": summarise(peer, len(rows))}
            ours_rate = result["ours"]["pure_replay"]["per_s_median"]
            peer_rate = result["peer"]["pure_replay_incl_setup"]["per_s_median"]
            result["ratio_pure_replay_ours_over_peer"] = round(ours_rate / peer_rate, 4)
    print(write_result("bench_sim", result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
