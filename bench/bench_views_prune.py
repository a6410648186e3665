"""The order views' prune in process (issue 17): `OrderViews` of the live service driven as the writer drives it,
without the gateway: a writer step adds B accepted orders (`add_many`, client ids ``c<id>``), applies their
venue reports (`apply_reports`: each order filled, except one in `--open-every` left working and canceled
`--open-life` order ids later, so old open views go aside and end there) and calls `prune`, whose every call is
timed; the collector is set as the service sets it (`hft.live.server._tune_gc`: without it a full collection
of ~65 ms lands in whichever call allocates at the wrong moment, in either tree). Reported per tree: the largest single prune call (and the 99.9th percentile of all calls), the prune time
over the last 1M order ids (the steady state: past the retention's first prune), how many calls dropped views
there and their median and 99th percentile, and the views held at the end.

A/B: each tree runs in its own process (`PYTHONPATH`, `_common.tree_child`), interleaved per round, so trees
compare within a run. Run: ``.venv/bin/python bench/bench_views_prune.py --trees A,B [--rounds 3] [--n 3000000]
[--retention 1000000] [--section NAME]`` (``--child`` is the measured process); with ``--section`` the runs and
the summary are stored under that key of ``bench/results/bench_service.json`` (other keys kept).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import add_section, machine_info, tree_child  # noqa: E402

NAMES = (["ACC1", "ACC2"], ["mm1"], ["AAPL", "MSFT"])


def child(n: int, retention: int, batch: int, open_every: int, open_life: int, window: int) -> dict:
    """Drive one tree's `OrderViews` through `n` orders; the prune calls' times (see the module doc)."""
    import numpy as np

    from hft.core.orders import DECISION_DTYPE, EXEC_REPORT_DTYPE, REPORT_CANCELED, REPORT_FILL
    from hft.live.server import _tune_gc
    from hft.live.views import OrderViews

    def step(v: OrderViews, lo: int, hi: int) -> tuple[int, int]:
        """One writer step: orders lo..hi-1 added and reported, the cancels due, then a timed prune."""
        ids = np.arange(lo, hi, dtype=np.int64)
        dec = np.zeros(len(ids), DECISION_DTYPE)
        dec["order_id"], dec["account"], dec["side"], dec["price"], dec["qty"], dec["ts"] = ids, ids & 1, 1, 9990, 10, ids
        v.add_many(dec, [f"c{i}" for i in ids.tolist()])
        filled = ids[ids % open_every != 0] if open_every else ids
        due = ids - open_life
        due = due[(due > 0) & (due % open_every == 0)] if open_every else due[:0]
        rep = np.zeros(len(filled) + len(due), EXEC_REPORT_DTYPE)
        rep["order_id"] = np.concatenate([filled, due])
        rep["kind"] = np.concatenate([np.full(len(filled), REPORT_FILL), np.full(len(due), REPORT_CANCELED)])
        rep["price"], rep["qty"], rep["ts"] = 9990, 10, lo
        v.apply_reports(rep)
        t0 = time.perf_counter_ns()
        dropped = v.prune()
        return time.perf_counter_ns() - t0, dropped

    warm = OrderViews(NAMES, retention=100)  # compiles (or loads) every kernel before the timed run
    for lo in range(1, 2000, 50):
        step(warm, lo, lo + 50)
    v = OrderViews(NAMES, retention=retention)
    _tune_gc()  # the service's collector settings: its start-up state (these views) frozen, young collections rare
    calls: list[tuple[int, int, int]] = []  # (top order id, ns, views dropped)
    t_all = time.perf_counter()
    for lo in range(1, n + 1, batch):
        ns, d = step(v, lo, min(lo + batch, n + 1))
        calls.append((min(lo + batch, n + 1) - 1, ns, d))
    wall = time.perf_counter() - t_all
    last = [c for c in calls if c[0] > n - window]
    ns_all = sorted(c[1] for c in calls)
    dropping = sorted(c[1] for c in last if c[2])
    return {"orders": n, "retention": retention, "batch": batch, "wall_s": round(wall, 2),
            "max_call_ms": round(ns_all[-1] / 1e6, 3),
            "p999_call_ms": round(ns_all[int(0.999 * (len(ns_all) - 1))] / 1e6, 4),
            "window_orders": window, "window_prune_ms": round(sum(c[1] for c in last) / 1e6, 2),
            "window_max_call_ms": round(max(c[1] for c in last) / 1e6, 3),
            "window_calls_dropping": len(dropping),
            "window_dropping_call_median_ms": round(dropping[len(dropping) // 2] / 1e6, 3),
            "window_dropping_call_p99_ms": round(dropping[int(0.99 * (len(dropping) - 1))] / 1e6, 3),
            "window_dropped": sum(c[2] for c in last), "held_at_end": len(v)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trees", default=str(HERE.parent))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=3_000_000, help="orders per run")
    ap.add_argument("--retention", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=256, help="orders per writer step")
    ap.add_argument("--open-every", type=int, default=1000, help="one order in this many left open (0: none)")
    ap.add_argument("--open-life", type=int, default=1_500_000, help="order ids until an open one is canceled")
    ap.add_argument("--window", type=int, default=1_000_000, help="the last order ids whose prune time is summed")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--section", default="", help="store the runs under this key of bench_service.json")
    args = ap.parse_args()
    shape = [str(x) for x in (args.n, args.retention, args.batch, args.open_every, args.open_life, args.window)]
    if args.child:
        print(json.dumps(child(*map(int, shape))), flush=True)
        return
    trees = args.trees.split(",")
    rows: list[dict] = []
    for r in range(args.rounds):
        for t in trees:
            load = os.getloadavg()[0]
            res = tree_child(__file__, ["--n", shape[0], "--retention", shape[1], "--batch", shape[2],
                                        "--open-every", shape[3], "--open-life", shape[4], "--window", shape[5]], t)
            rows.append({"round": r, "tree": t, "load": round(load, 2), **res})
            print(json.dumps(rows[-1]), flush=True)
    summary = []
    for t in trees:
        mine = [x for x in rows if x["tree"] == t]
        summary.append({"tree": t, **{f"median_{k}": statistics.median(x[k] for x in mine)
                                      for k in ("max_call_ms", "p999_call_ms", "window_prune_ms",
                                                "window_max_call_ms", "window_calls_dropping",
                                                "window_dropping_call_median_ms", "window_dropping_call_p99_ms",
                                                "wall_s")}})
        print(json.dumps(summary[-1]))
    if args.section:
        add_section("bench_service", args.section,
                    {"what": "bench_views_prune.py: OrderViews.prune per writer step in process (issue 17)",
                     "args": vars(args), "machine": machine_info(), "runs": rows, "summary": summary})


if __name__ == "__main__":
    main()
