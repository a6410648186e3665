"""`POST /v3/orders` without the socket (issue 17): `OrderApp.direct` called with complete requests, B of them per
round, the real writer (`LiveGateway`: decide, WAL, loopback venue in fill mode, reports, views) on the event loop,
each round's answers built by the app's `finish` as the HTTP front would: the process CPU per writer step of B
orders, which measures the step's fixed cost F (B = 1) and what each more order adds (B = 16: about what the writer
sees at 16 connections). A/B: each tree runs in its own process (`PYTHONPATH`), interleaved per round, so trees
compare within a run.

Run: ``.venv/bin/python bench/bench_v3_inproc.py --trees A,B [--rounds 3] [--batches 1,16] [--n 8000]
[--section NAME]`` (``--child`` is the measured process). Prints one JSON line per run and a summary (min / median
CPU µs per round and per order, per tree and batch, and each tree's median against the first tree's); with
``--section`` the runs and the summary are also stored under that key of ``bench/results/bench_service.json``
(other keys kept). Run ``hft warmup`` with each tree on ``PYTHONPATH`` first (a tree's first process compiles).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import add_section, child_result, tree_child  # noqa: E402

SECRET = "bench-secret-0123456789abcdef-0123456789"
BODY = ('{"client_order_id":"c%d","account":"ACC1","strategy":"mm1","symbol":"AAPL","side":"%s","qty":1,'
        '"price":%d,"order_type":"limit","tif":"gtc"}')


def child(batch: int, n: int) -> None:
    """Measure one tree (the one on PYTHONPATH): prints ``{"us_per_round", "us_per_order", ...}``."""
    import asyncio

    import uvloop

    from hft.core.memory import no_transparent_huge_pages
    from hft.gateway.config import load_config
    from hft.live import server as srv
    from hft.live.auth import mint

    home = tempfile.mkdtemp(prefix="hft-v3-inproc-")
    os.environ.update(HFT_HOME=home, HFT_JWT_SECRET=SECRET, HFT_GATEWAY_FSYNC="interval")
    no_transparent_huge_pages()  # as the service
    live, app, _ = srv.build(load_config(HERE / "gateway_bench.yaml"), srv.ServeOptions(disk_monitor=False))
    headers = [(b"host", b"x"), (b"authorization", f"Bearer {mint(SECRET, 'bench', ['*'], ['*'], 3600.0)}".encode()),
               (b"content-type", b"application/json")]

    async def main() -> dict:
        tasks = srv.start_engine(live)
        await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        count = [0]

        state: dict = {}  # the round's: orders left, the future its last answer resolves

        def answered(fut: object, finish: object) -> None:  # the front's done-callback
            status, _, _ = finish(fut.result())  # type: ignore[attr-defined, operator]
            assert status == 201, status
            state["left"] -= 1
            if not state["left"] and not state["done"].done():
                state["done"].set_result(None)

        async def rounds(k: int) -> None:
            for _ in range(k):
                state.update(left=batch, done=loop.create_future())
                for _ in range(batch):
                    count[0] += 1
                    i = count[0]
                    body = (BODY % (i, "buy" if i & 1 else "sell", 9990 if i & 1 else 10010)).encode()
                    fut, finish = app.direct("POST", "/v3/orders", headers, body)
                    fut.add_done_callback(lambda f, finish=finish: answered(f, finish))
                await state["done"]
                await asyncio.sleep(0)  # the reports' drain
                await asyncio.sleep(0)

        await rounds(max(200, 4000 // batch))  # warm-up
        srv._tune_gc()
        k = max(1, n // batch)
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        c0, w0 = time.process_time(), time.perf_counter()
        await rounds(k)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
        await srv.stop_engine(live, tasks)
        return {"batch": batch, "orders": k * batch, "us_per_round": round(cpu / k * 1e6, 1),
                "us_per_order": round(cpu / (k * batch) * 1e6, 2), "orders_per_s_wall": round(k * batch / wall),
                "minor_faults_per_round": round(faults / k, 2)}

    child_result(lambda: uvloop.run(main()), home)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trees", default=str(HERE.parent))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batches", default="1,16", help="orders per writer step")
    ap.add_argument("--n", type=int, default=8000, help="orders measured per run")
    ap.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)  # the child's
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--section", default="", help="store the runs under this key of bench_service.json")
    args = ap.parse_args()
    if args.child:
        child(args.batch, args.n)
        return
    trees = args.trees.split(",")
    batches = [int(b) for b in args.batches.split(",")]
    runs: dict[tuple[str, int], list[float]] = {(t, b): [] for t in trees for b in batches}
    rows: list[dict] = []
    for r in range(args.rounds):
        for b in batches:
            for t in trees:
                load = os.getloadavg()[0]
                res = tree_child(__file__, ["--batch", str(b), "--n", str(args.n)], t)
                runs[(t, b)].append(res["us_per_round"])
                rows.append({"round": r, "tree": t, "load": round(load, 2), **res})
                print(json.dumps(rows[-1]), flush=True)
    summary = []
    for b in batches:
        base = statistics.median(runs[(trees[0], b)])
        for t in trees:
            v = runs[(t, b)]
            med = statistics.median(v)
            summary.append({"tree": t, "batch": b, "min_us_per_round": min(v), "median_us_per_round": med,
                            "median_us_per_order": round(med / b, 2), "ratio_median": round(med / base, 3)})
            print(json.dumps(summary[-1]))
    if args.section:
        add_section("bench_service", args.section,
                    {"what": "bench_v3_inproc.py: process CPU per writer step of B /v3 orders in process "
                             "(OrderApp.direct, no socket)",
                     "load_after": os.getloadavg(), "runs": rows, "summary": summary})


if __name__ == "__main__":
    main()
