"""Start-up of `hft gateway serve` and its first orders: a real process on a loopback port per start, A/B of source
trees (each on ``PYTHONPATH``, starts interleaved).

Per start: the seconds from the process's launch to its ready line (``hft gateway: listening on``), then the
answer times of a durable ``POST /orders`` and of a ``POST /v3/orders`` sent right after it (each on a new
connection, the loopback venue filling). With ``--cold`` each start gets an empty numba cache of its own
(``NUMBA_CACHE_DIR`` under /tmp, deleted after), as after a fresh install before ``hft warmup``. Run it pinned
(``taskset -c 0``) on this shared 2-CPU machine.

Run: ``.venv/bin/python bench/bench_serve_start.py --trees A,B [--starts 7] [--cold] [--section NAME]``. Prints
one JSON line per start and a summary (median, min, max per tree); with ``--section`` both are also stored under
that key of ``bench/results/bench_service.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import add_section, machine_info  # noqa: E402

HFT = Path(sys.executable).with_name("hft")
CONFIG = HERE.parent / "tests" / "service" / "gateway_service.yaml"
SECRET = "bench-secret-0123456789abcdef-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, path: str, body: dict, tok: str, key: str | None) -> tuple[int, float]:
    """One request on a new connection: its status and the seconds to its answer."""
    headers = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
    r = conn.getresponse()
    r.read()
    conn.close()
    return r.status, time.perf_counter() - t0


def one_start(tree: str, cold: bool) -> dict:
    """Launch the service of `tree`, time its ready line and its first two orders, stop it."""
    from hft.live.auth import mint  # lazy: the tree under test is on the child's PYTHONPATH, not this one's

    home = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": tree, "HFT_HOME": str(home), "HFT_JWT_SECRET": SECRET}
    if cold:
        env["NUMBA_CACHE_DIR"] = str(home / "numba-cold")
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(HFT), "gateway", "serve", "--config", str(CONFIG), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=tree)
    try:
        line = proc.stdout.readline()
        ready = time.perf_counter() - t0
        if b"listening on" not in line:
            raise RuntimeError(f"{tree}: no ready line: {line!r}")
        tok = mint(SECRET, "bench", ["ACC1"], ["mm1"], 3600.0)
        order = {"account": "ACC1", "strategy": "mm1", "symbol": "AAPL", "qty": 1}
        s1, first = _post(port, "/orders", {**order, "client_order_id": "b1", "side": "buy", "price": 10_000},
                          tok, "b1")
        s2, second = _post(port, "/v3/orders", {**order, "client_order_id": "b2", "side": "sell",
                                                "price": 10_005}, tok, None)
        assert (s1, s2) == (201, 201), (s1, s2)
    finally:
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(home, ignore_errors=True)
    warmed = re.search(rb"order path warmed in ([0-9.]+) s", line)  # what the ready line says it took (after)
    return {"tree": tree, "cold": cold, "ready_s": round(ready, 4), "first_order_s": round(first, 4),
            "second_order_s": round(second, 4), "warm_s": float(warmed.group(1)) if warmed else None}


def _stats(xs: list[float]) -> dict:
    return {"median": round(statistics.median(xs), 4), "min": round(min(xs), 4), "max": round(max(xs), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trees", required=True, help="comma-separated source trees (A,B)")
    ap.add_argument("--starts", type=int, default=7, help="starts per tree (interleaved)")
    ap.add_argument("--cold", action="store_true", help="an empty numba cache for each start")
    ap.add_argument("--section", help="store under this key of bench/results/bench_service.json")
    a = ap.parse_args()
    trees = [str(Path(t).resolve()) for t in a.trees.split(",")]
    runs = []
    for _ in range(a.starts):
        for tree in trees:
            runs.append(one_start(tree, a.cold))
            print(json.dumps(runs[-1]), flush=True)
    summary = {t: {k: _stats([r[k] for r in runs if r["tree"] == t])
                   for k in ("ready_s", "first_order_s", "second_order_s")} for t in trees}
    print(json.dumps(summary, indent=2))
    if a.section:
        add_section("bench_service", a.section, {"runs": runs, "summary": summary, "machine": machine_info()})


if __name__ == "__main__":
    main()
