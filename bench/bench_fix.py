"""The ``fix`` venue adapter's round trip (issue 55): a new order sent by `hft.live.fix.FixVenue` (a QuickFIX
initiator) to the local FIX exchange (`hft.live.fix_exchange`, a QuickFIX acceptor in its own process) and its
New and Trade execution reports back on the adapter's event loop, one order at a time (IOC, marketable: ACK then
FILL). Each variant of the QuickFIX settings (both sides) runs in its own exchange and adapter, interleaved per
round, so variants compare within a run; the default is the adapter's own settings (``SocketNodelay=Y``), against
``SocketNodelay=N`` (Nagle's algorithm on: a report written just after another may wait for the peer's delayed
ACK). The exchange runs without ``--fsync`` (a disk sync a message would dominate).

Run: ``.venv/bin/python bench/bench_fix.py [--rounds 5] [--orders 200]``; writes ``bench/results/bench_fix.json``
(per variant: each round's median and p90 round trip in ms, their median over the rounds; the machine's load).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine_info, write_result  # noqa: E402

VARIANTS = {"nodelay": {}, "nagle": {"SocketNodelay": "N"}}  # QuickFIX settings over both sides' own


async def _round_trips(port: int, store: Path, settings: dict[str, str], n: int) -> list[float]:
    from hft.core.orders import CMD_NEW, ORDER_LIMIT, TIF_IOC
    from hft.gateway.intents import OrderCommand
    from hft.live.fix import FixVenue

    v = FixVenue(store, port, logon_timeout=20, settings=settings)
    reps: list = []
    v.start(asyncio.get_running_loop(), reps.append)
    out = []
    try:
        for i in range(1, n + 1):
            t0 = time.perf_counter()
            want = len(reps) + 2  # ACK, FILL
            v.send(OrderCommand(CMD_NEW, i, None, "ACC1", "bench", "AAPL", 1, 10_000, 1, ORDER_LIMIT, TIF_IOC, 0))
            while len(reps) < want:
                await asyncio.sleep(0)
            out.append(time.perf_counter() - t0)
    finally:
        v.close()
    return out


def one(variant: str, n: int) -> dict[str, float]:
    from hft.live.fix_exchange import ExchangeProcess

    with tempfile.TemporaryDirectory(prefix="hft-bench-fix-") as tmp:
        ex = ExchangeProcess(Path(tmp) / "exchange", {"AAPL": 10_000}, settings=VARIANTS[variant]).start()
        try:
            times = sorted(asyncio.run(_round_trips(ex.port, Path(tmp) / "adapter", VARIANTS[variant], n)))
        finally:
            ex.stop()
    return {"median_ms": round(1e3 * statistics.median(times), 3),
            "p90_ms": round(1e3 * times[int(0.9 * (len(times) - 1))], 3), "orders": n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--orders", type=int, default=200)
    a = ap.parse_args()
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in VARIANTS}
    for r in range(a.rounds):
        for variant in VARIANTS:
            res = one(variant, a.orders)
            runs[variant].append(res)
            print(f"round {r + 1} {variant}: {res}", flush=True)
    summary = {k: {"median_ms": statistics.median(x["median_ms"] for x in v),
                   "p90_ms": statistics.median(x["p90_ms"] for x in v)} for k, v in runs.items()}
    print("summary (median over rounds):", summary)
    write_result("bench_fix", {"machine": machine_info(), "rounds": a.rounds, "orders_per_round": a.orders,
                               "variants": VARIANTS, "runs": runs, "summary": summary})


if __name__ == "__main__":
    main()
