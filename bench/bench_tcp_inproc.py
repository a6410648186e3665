"""The TCP intake's server side without the socket (issue 17): `IntakeProtocol.data_received` fed the bench's
NEW frames, the real writer (`LiveGateway`: decide, WAL, loopback venue in fill mode, reports, views) on the
event loop, a window of intents in flight refilled by halves as their DECISION frames come back: the server's
CPU per intent with no transport and no client on the machine. A/B: each tree runs in its own process
(`PYTHONPATH`), interleaved per round, so trees compare within a run.

Run: ``.venv/bin/python bench/bench_tcp_inproc.py --trees A,B [--rounds 5] [--n 200000] [--window 1024]
[--section NAME]`` (``--child`` is the measured process). Prints one JSON line per run and a summary (min /
median CPU µs per intent per tree, and each tree's median against the first tree's); with ``--section`` the runs
and the summary are also stored under that key of ``bench/results/bench_service.json`` (other keys kept).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import add_section, child_result, tree_child  # noqa: E402

SECRET = "bench-secret-0123456789abcdef-0123456789"


def child(n: int, window: int, durable: bool, profile_s: float) -> None:
    """Measure one tree (the one on PYTHONPATH): prints ``{"us_per_intent", ...}``."""
    import asyncio
    from collections import Counter

    import uvloop

    sys.path.insert(0, str(HERE))
    from bench_service import new_frames  # the bench's own frames (checked against the client's)

    from hft.core.memory import no_transparent_huge_pages
    from hft.gateway.config import load_config
    from hft.live import server as srv
    from hft.live.auth import Verifier, mint
    from hft.live.frames import DECISION_FRAME, HELLO, frame
    from hft.live.tcp import IntakeProtocol

    home = tempfile.mkdtemp(prefix="hft-tcp-inproc-")
    os.environ.update(HFT_HOME=home, HFT_JWT_SECRET=SECRET, HFT_GATEWAY_FSYNC="interval")
    cfg = load_config(HERE / "gateway_bench.yaml")
    no_transparent_huge_pages()  # as the service
    live, _app, _ = srv.build(cfg, srv.ServeOptions(disk_monitor=False))
    token = mint(SECRET, "bench", ["*"], ["*"], 3600.0)
    size = DECISION_FRAME.itemsize

    class Sink:  # the transport: counts the DECISION frames written back
        def __init__(self) -> None:
            self.answers = 0

        def write(self, data: bytes) -> None:
            self.answers += len(data) // size

        def close(self) -> None:
            pass

    async def main() -> dict:
        tasks = srv.start_engine(live)
        proto = IntakeProtocol(live, Verifier(SECRET, 0), {"connections": 0, "intents": 0, "refused": 0,
                                                          "bad_frames": 0, "auth_failures": 0}, Counter())
        sink = Sink()
        proto.connection_made(sink)
        proto.data_received(frame(HELLO, token.encode()))
        await asyncio.sleep(0.01)
        half = window // 2
        prefix = f"ip{os.getpid()}-"

        def chunks(count: int, first: int) -> list[bytes]:
            """The frames of `count` intents numbered from `first`: a window, then halves (built beforehand:
            the client's work is not measured)."""
            out, at = [new_frames(prefix, first, window, first, durable)], first + window
            while at < first + count:
                k = min(half, first + count - at)
                out.append(new_frames(prefix, at, k, at, durable))
                at += k
            return out

        async def drive(count: int, first: int, frames: list[bytes] | None = None) -> int:
            frames = frames or chunks(count, first)
            base = sink.answers
            proto.data_received(frames[0])
            sent, i = window, 1
            while sink.answers - base < count:
                await asyncio.sleep(0)
                if sent - (sink.answers - base) <= half and i < len(frames):
                    proto.data_received(frames[i])
                    sent += half
                    i += 1
            return first + count

        nxt = await drive(20_000, 1)  # warm-up
        frames = chunks(n, nxt)
        srv._tune_gc()
        c0, w0 = time.process_time(), time.perf_counter()
        if profile_s:
            end = time.perf_counter() + profile_s
            while time.perf_counter() < end:
                nxt = await drive(n, nxt)
        else:
            await drive(n, nxt, frames)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        await srv.stop_engine(live, tasks)
        return {"n": n, "window": window, "durable": durable, "us_per_intent": round(cpu / n * 1e6, 3),
                "intents_per_s_wall": round(n / wall)}

    child_result(lambda: uvloop.run(main()), home)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trees", default=str(HERE.parent))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--window", type=int, default=1024)
    ap.add_argument("--durable", action="store_true")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--profile-seconds", type=float, default=0.0, help="child: loop this long (for py-spy)")
    ap.add_argument("--section", default="", help="store the runs under this key of bench_service.json")
    args = ap.parse_args()
    if args.child:
        child(args.n, args.window, args.durable, args.profile_seconds)
        return
    trees = args.trees.split(",")
    runs: dict[str, list[float]] = {t: [] for t in trees}
    rows: list[dict] = []
    for r in range(args.rounds):
        for t in trees:
            load = os.getloadavg()[0]
            res = tree_child(__file__, ["--n", str(args.n), "--window", str(args.window),
                                        *(["--durable"] if args.durable else [])], t)
            runs[t].append(res["us_per_intent"])
            rows.append({"round": r, "tree": t, "load": round(load, 2), **res})
            print(json.dumps(rows[-1]), flush=True)
    base = statistics.median(runs[trees[0]])
    summary = []
    for t in trees:
        med = statistics.median(runs[t])
        summary.append({"tree": t, "min_us": min(runs[t]), "median_us": med, "ratio_median": round(med / base, 3)})
        print(json.dumps(summary[-1]))
    if args.section:
        add_section("bench_service", args.section,
                    {"what": "bench_tcp_inproc.py: server CPU per intent in process (no socket)",
                     "load_after": os.getloadavg(), "runs": rows, "summary": summary})


if __name__ == "__main__":
    main()
