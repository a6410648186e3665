"""Load test of `hft gateway serve` on loopback (issues 17 and 18): throughput and ack latency of the volatile
(`POST /v3/orders`) and durable (`POST /orders`, fsync interval) paths at several offered loads, with the
in-process `GatewayService.process()` figure beside them, and signed webhooks per second end to end (receive →
check timestamp, HMAC, nonce, rate → normalise → publish to ``signals.raw`` and ``signals.normalized`` with
JetStream acks → 202; goal >= 5k/s with p99 <= 20 ms) against a real nats-server.

Load generator: ``wrk`` (Debian package) with a Lua script: unique client order ids (and Idempotency-Keys on
the durable path), buys at 9990 and sells at 10010 alternating (no self-match, the position stays flat),
closed loop with 1 .. 64 connections (the offered load is the connection count). Latency percentiles (p50,
p99, p99.9) are wrk's, measured at the client from request sent to answer read. The server's CPU time per
answered order (from /proc) is recorded too: on a shared machine it says what one core would sustain. The server runs the loopback
venue in ``fill`` mode (every order is acknowledged and filled: two reports per order, journaled).

The TCP intake (``hft.live.tcp``) is driven by the package's client (``hft.live.client``) from this process: one
connection, a window of 64 .. 1024 intents in flight, refilled by halves (one write per half window, its frames
built column-wise by `new_frames`); its latency is from the write of an intent's frame to the read of its
answer. ``tcp-echo`` drives a bare server that only scans the frames and answers them (`echo_server`): the
ceiling of the transport, the event loop and this client on the machine.

Run: ``.venv/bin/python bench/bench_service.py [--seconds 8] [--rounds 2] [--paths /v3/orders,/orders,tcp,webhooks]``
→ ``bench/results/bench_service.json`` (rounds interleave the paths; report medians). Webhooks before/after in
one run: ``--paths webhooks --webhook-trees <tree A>,<tree B> --out bench/results/bench_service_webhooks.json``
(each round runs the server from each tree in turn; the nats-server's CPU per webhook is recorded beside).
Order paths A/B in one run: ``--paths /v3/orders,tcp --trees <tree A>,<tree B>`` (each path's server from each
tree in turn, every round; the runs carry their ``tree``).
The 2-vCPU machine is shared (the load average is recorded with every figure); wrk uses one of the two cores.
``--pin`` puts the order paths' server on CPU 0 and wrk (and this process, the TCP client) on CPU 1 with taskset:
a whole core for the server, as the goals assume (other jobs still share both cores).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import carry_over, write_json

if TYPE_CHECKING:
    from hft.live.client import TcpOrderClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HFT = Path(sys.executable).with_name("hft")
SECRET = "bench-secret-0123456789abcdef-0123456789"
KEY = "bench-signal-key-0123456789abcdef012345"
WEBHOOK_CONFIG = """
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
WRK_DONE = r"""
function done(summary, latency, requests)
  io.write(string.format("JSON {\"requests\":%d,\"non2xx\":%d,\"errors\":%d,\"p50_us\":%d,\"p99_us\":%d," ..
    "\"p999_us\":%d,\"max_us\":%d,\"duration_us\":%d}\n", summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max, summary.duration))
end
"""  # the JSON summary line both Lua scripts end with
LUA = r"""
local n = 0
local tid = 0
local counter = 1
function setup(thread) thread:set("tid", counter); counter = counter + 1 end
function init(args) tid = tonumber(tid) or 0; path = args[1]; token = args[2]; durable = args[3] == "1" end
function request()
  n = n + 1
  local id = string.format("t%d-%d", tid, n)
  local side, price = "buy", 9990
  if n % 2 == 0 then side, price = "sell", 10010 end
  local body = string.format('{"client_order_id":"%s","account":"ACC1","strategy":"mm1","symbol":"AAPL",' ..
    '"side":"%s","price":%d,"qty":1}', id, side, price)
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
  if durable then headers["Idempotency-Key"] = id end
  return wrk.format("POST", path, headers, body)
end
"""


WEBHOOK_LUA = r"""
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
"""


def presign(path: Path, n: int, start: int) -> None:
    from hft.live.webhooks.guard import sign

    ts = str(int(time.time()))
    body = '{"instrument":"AAPL","side":"buy","strength":0.5,"price":10000}'
    with open(path, "w") as f:
        for i in range(start, start + n):
            nonce = f"bench{i:012d}"
            f.write(f"{ts} {nonce} {sign(KEY.encode(), ts, nonce, body.encode(), 'bench')} {body}\n")


def run_webhooks(conns: list[int], seconds: int, per_run: int, round_: int, res: dict, tree: str = "") -> None:
    """Signed webhooks end to end (issue 18): a real nats-server (JetStream, file store) and the server (loopback
    venue, follower off: the ingress, not the trading); each pre-signed request (distinct nonces) is sent once by
    wrk (one thread, closed loop). `tree`: a source tree to run the server from (PYTHONPATH; A/B in one run)."""
    from hft.bus.embedded import EmbeddedNats, free_port

    work = Path(tempfile.mkdtemp(prefix="hft-bench-webhooks-"))
    nats = EmbeddedNats(work / "nats").start()
    (work / "gateway.yaml").write_text(WEBHOOK_CONFIG % nats.url)
    (work / "bench.lua").write_text(WEBHOOK_LUA + WRK_DONE)
    port = free_port()
    env = {**os.environ, "HFT_HOME": str(work / "home"), "HFT_JWT_SECRET": SECRET, "HFT_BENCH_KEY": KEY}
    if tree:
        env["PYTHONPATH"] = tree
    p = subprocess.Popen([str(HFT), "gateway", "serve", "--config", str(work / "gateway.yaml"), "--port",
                          str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        line = p.stdout.readline().decode()
        if "listening on" not in line:
            raise RuntimeError(f"server did not start: {line!r}")
        warm = work / "reqs-0.txt"
        presign(warm, 5000, 0)
        warm_http(port, "/webhooks/bench", str(work / "bench.lua"), [str(warm)], tree, threads=1, seconds=1)
        base = per_run
        for i, c in enumerate(conns, 1):
            reqs = work / f"reqs-{i}.txt"
            presign(reqs, per_run, base)
            base += per_run
            n0 = cpu_s(nats.proc.pid)
            r = run_wrk(port, "/webhooks/bench", str(work / "bench.lua"), c, seconds, [str(reqs)], p.pid, threads=1)
            _answered(r, "webhooks", tree, c)
            # nats-server shares the cores: its CPU per webhook beside the server's
            r["nats_cpu_us_per_req"] = round((cpu_s(nats.proc.pid) - n0) / r["requests"] * 1e6, 1)
            r.update(path="webhooks", conns=c, round=round_, load=os.getloadavg()[0])
            if tree:
                r["tree"] = tree
            if r["requests"] > per_run:
                r["note"] = "ran past the pre-signed requests: the repeats are 409s (non2xx)"
            res["runs"].append(r)
            print(json.dumps(r), flush=True)
    finally:
        p.terminate()
        p.wait(30)
        nats.stop()
        shutil.rmtree(work, ignore_errors=True)


PIN: dict[str, list[str]] = {"server": [], "client": []}  # `--pin`: taskset prefixes of the server and of wrk


def start_server(home: Path, fsync: str, tree: str = "") -> tuple[subprocess.Popen, int, int]:
    """The server (loopback venue, fill mode) with HTTP and TCP intake: (process, http port, tcp port); `tree`:
    a source tree to run it from (PYTHONPATH)."""
    env = {**os.environ, "HFT_HOME": str(home), "HFT_JWT_SECRET": SECRET, "HFT_GATEWAY_FSYNC": fsync}
    if tree:
        env["PYTHONPATH"] = tree
    p = subprocess.Popen([*PIN["server"], str(HFT), "gateway", "serve", "--config", str(HERE / "gateway_bench.yaml"), "--port", "0",
                          "--tcp-port", "0", "--loopback", "fill"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env)
    line = p.stdout.readline().decode()
    m = re.search(r"http://[\d.]+:(\d+) and tcp://[\d.]+:(\d+)", line)
    if not m:
        p.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return p, int(m.group(1)), int(m.group(2))


_DIGITS = 12  # the numbered client order ids of `new_frames`


def new_frames(prefix: str, first: int, k: int, corr: int, durable: bool) -> bytes:
    """`k` NEW frames (docs/live.md, `hft.live.frames`) built column-wise with numpy, the load generator's
    frames: client order ids ``prefix`` + the 12-digit number ``first + i`` (also the idempotency key when
    `durable`), ACC1 / mm1 / AAPL, buys at 9990 and sells at 10010 alternating, qty 1, corr ``corr + i``. The
    bytes `TcpOrderClient.send_new_many` packs frame by frame, at a fraction of its CPU (the client shares the
    machine with the server)."""
    import numpy as np

    from hft.live import frames as F

    coid = len(prefix) + _DIGITS
    names = F.pack_strings("ACC1", "mm1", "AAPL")
    key = coid if durable else 0
    dt = np.dtype([("len", "<u4"), ("type", "u1"), ("corr", "<u8"), ("flags", "u1"), ("side", "i1"),
                   ("otype", "u1"), ("tif", "u1"), ("price", "<i8"), ("qty", "<i8"), ("clen", "u1"),
                   ("coid", "u1", coid), ("names", "u1", len(names)), ("klen", "u1"), ("key", "u1", key)])
    fr = np.zeros(k, dt)
    fr["len"] = dt.itemsize - 4
    fr["type"] = F.NEW
    fr["corr"] = np.arange(corr, corr + k, dtype=np.uint64)
    fr["flags"] = F.FLAG_DURABLE if durable else 0
    num = np.arange(first, first + k, dtype=np.int64)
    side = np.where(num % 2 == 1, 1, -1)
    fr["side"] = side
    fr["otype"], fr["tif"], fr["qty"] = 1, 1, 1  # limit, gtc
    fr["price"] = np.where(side == 1, 9990, 10010)
    fr["clen"] = coid
    ids = fr["coid"]
    ids[:, :len(prefix)] = np.frombuffer(prefix.encode(), np.uint8)
    ids[:, len(prefix):] = num[:, None] // 10 ** np.arange(_DIGITS - 1, -1, -1, dtype=np.int64) % 10 + 48
    fr["names"] = np.frombuffer(names, np.uint8)
    fr["klen"] = key
    if key:
        fr["key"] = ids
    return fr.tobytes()


def _check_frames(c: TcpOrderClient, durable: bool) -> None:
    """`new_frames` must be the bytes the client's own `send_new_many` packs (the frame layout has one owner,
    `hft.live.client` / `hft.live.frames`; the numpy copy here only makes them cheaply): checked on a few frames,
    nothing sent."""
    ids = [f"chk-{i:0{_DIGITS}d}" for i in range(1, 5)]
    sides = [1 if i % 2 else -1 for i in range(1, 5)]
    corr, pending = c.corr, len(c.pending)
    c.send_new_many(ids, "ACC1", "mm1", "AAPL", sides, [1] * 4, [9990 if s == 1 else 10010 for s in sides],
                    durable=durable, idempotency_keys=ids if durable else None)
    theirs = b"".join(c.pending[pending:])
    del c.pending[pending:]
    c.corr = corr
    if new_frames("chk-", 1, 4, corr + 1, durable) != theirs:
        raise RuntimeError("bench new_frames differ from TcpOrderClient.send_new_many's frames")


def run_tcp(port: int, token: str, window: int, seconds: float, pid: int | None = None,
            durable: bool = False) -> dict:
    """The TCP intake with `window` intents in flight (refilled by halves: one write per half window). Frames
    are built column-wise (`new_frames`) and answers read column-wise (`recv_decisions`) so that the client,
    on the other core, is not what is measured; an answer's latency is from the write of its half window to
    the read that completed it. Also the load of the echo ceiling (`echo_server`)."""
    import numpy as np

    from hft.live.client import TcpOrderClient

    c0 = cpu_s(pid) if pid else 0.0
    b0 = time.process_time()  # this process: the client's own CPU (it shares the machine with the server)
    half = max(1, window // 2)
    perf = time.perf_counter_ns
    run = f"w{window}-{time.time_ns()}-"  # client order ids unique across runs (else: duplicates, 200)
    cap = 1 << 16
    sent_at = np.zeros(cap, np.int64)  # by corr % cap (far more than the window)
    lat_parts: list[np.ndarray] = []
    n = errors = done = 0
    with TcpOrderClient("127.0.0.1", port, token) as c:
        _check_frames(c, durable)

        def refill(k: int) -> None:
            nonlocal n
            first = c.corr + 1
            c.send_raw(new_frames(run, n + 1, k, first, durable))
            c.corr += k
            n += k
            c.flush()
            sent_at[np.arange(first, first + k) % cap] = perf()
        t0 = time.perf_counter()
        refill(window)
        since = 0
        while True:
            decs, other = c.recv_decisions()
            t = perf()
            if len(decs):
                lat_parts.append(t - sent_at[decs["corr"].astype(np.int64) % cap])
                errors += int(np.count_nonzero(decs["status"] != 201))
            errors += len(other)
            got = len(decs) + len(other)
            done += got
            since += got
            if since >= half:
                if time.perf_counter() - t0 >= seconds:
                    break
                since -= half
                refill(half)
        wall = time.perf_counter() - t0
        left = n - done
        while left > 0:  # drain what is still in flight
            decs, other = c.recv_decisions()
            left -= len(decs) + len(other)
    lat = np.sort(np.concatenate(lat_parts)) if lat_parts else np.zeros(1, np.int64)
    k = len(lat)
    r = {"requests": done, "non201": errors, "req_per_s": round(done / wall), "p50_us": int(lat[k // 2]) // 1000,
         "p99_us": int(lat[int(k * .99)]) // 1000, "p999_us": int(lat[int(k * .999)]) // 1000,
         "duration_us": round(wall * 1e6)}
    if done:
        r["client_cpu_us_per_req"] = round((time.process_time() - b0) / done * 1e6, 2)
    if pid and done:
        r["server_cpu_us_per_req"] = round((cpu_s(pid) - c0) / done * 1e6, 1)
        r["server_cpu_share"] = round((cpu_s(pid) - c0) / wall, 2)
    return r


def echo_server() -> None:
    """The ceiling of the TCP intake on this machine: a bare server on the same event loop (uvloop) that reads
    the same frames, finds them with the intake's scanner (`tcp_scan.scan_new_frames`) and answers each with a
    DECISION frame (201, built column-wise, one write per read) — no gateway, WAL or venue. Prints
    ``echo PORT`` and serves until killed (`start_echo`)."""
    import asyncio

    import numpy as np
    import uvloop

    from hft.live import frames as F
    from hft.live import tcp_scan as S

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t = transport
            self.buf = bytearray()
            self.hello = False
            self.table = np.empty((4096, S.N_COLS), np.int64)
            self.n = 0

        def data_received(self, data: bytes) -> None:
            self.buf += data
            if not self.hello:
                (length,) = struct.unpack_from("<I", self.buf)
                if len(self.buf) < 4 + length:
                    return
                del self.buf[:4 + length]
                self.hello = True
                self.t.write(F.frame(F.READY, b'{"subject":"echo","accounts":["ACC1"],"strategies":["mm1"]}'))
            raw = bytes(self.buf)
            pos, out = 0, []
            while True:
                k, end = S.scan_new_frames(np.frombuffer(raw, np.uint8), pos, self.table)
                if not k:
                    break
                fr = np.zeros(k, F.DECISION_FRAME)
                fr["len"] = F.DECISION_FRAME.itemsize - 4
                fr["type"] = F.DECISION
                a = fr["a"]
                a["corr"] = self.table[:k, S.CORR].view(np.uint64)
                a["status"], a["accepted"], a["kind"] = 201, 1, 1
                a["order_id"] = a["seq"] = np.arange(self.n + 1, self.n + k + 1)
                a["ts"] = time.time_ns()
                self.n += k
                out.append(fr.tobytes())
                pos = end
            del self.buf[:pos]
            if out:
                self.t.write(b"".join(out))

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0)
        print(f"echo {server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.Event().wait()

    uvloop.run(main())


def start_echo(tree: str = "") -> tuple[subprocess.Popen, int]:
    """`echo_server` in a process of its own: (process, port)."""
    env = {**os.environ, **({"PYTHONPATH": tree} if tree else {})}
    p = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--echo-server"], stdout=subprocess.PIPE,
                         env=env)
    line = p.stdout.readline().decode()
    if not line.startswith("echo "):
        p.kill()
        raise RuntimeError(f"echo server did not start: {line!r}")
    return p, int(line.split()[1])


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def ack_buckets(port: int, label: str) -> dict[float, int]:
    """The order service's own ack latency histogram for `label` (``volatile`` / ``durable``), read from its
    ``/metrics`` with prometheus_client's parser: cumulative count by bucket upper bound (ns)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    fam = next((f for f in text_string_to_metric_families(text) if f.name == "gateway_ack_latency_ns"), None)
    return {} if fam is None else {float(s.labels["le"]): int(s.value) for s in fam.samples
                                   if s.name.endswith("_bucket") and s.labels.get("path") == label}


def ack_quantiles(before: dict[float, int], after: dict[float, int]) -> dict[str, float | None]:
    """The cell's p50 / p99 / p99.9 of the server's own ack latency (receipt of a whole request to its answer
    released) from two readings of `ack_buckets`, by the service's own rule (`Log2Histogram.quantile` over the
    cell's counts): the upper bound (µs) of the power-of-two bucket holding each, so a figure means "at most".
    What the round trip wrk sees adds to it: the kernel's socket queues both ways and the client's own
    scheduling."""
    from hft.gateway.metrics import Log2Histogram

    h = Log2Histogram()
    below = 0
    for le in sorted(x for x in after if x != float("inf")):  # le = 2**i - 1: the values of bit length i
        cum = after[le] - before.get(le, 0)
        h.counts[int(le).bit_length()] = cum - below
        below = cum
    return {f"server_ack_{name}_le_us": round(h.quantile(q) / 1e3, 1) if h.count else None
            for name, q in (("p50", 0.5), ("p99", 0.99), ("p999", 0.999))}


def run_wrk(port: int, path: str, script: str, conns: int, seconds: int, lua_args: list[str],
            pid: int | None = None, threads: int | None = None, ack: str = "") -> dict:
    """wrk on ``path`` with a Lua `script` (its arguments `lua_args`); its JSON summary plus req/s and, with the
    server's `pid`, the server's CPU per answered request; with `ack` (an order path's ``volatile`` /
    ``durable``) the server's own ack latency quantiles over the cell (`ack_quantiles`)."""
    threads = threads or int(os.environ.get("WRK_THREADS", 0)) or min(conns, 2)  # WRK_THREADS: wrk's -t
    a0 = ack_buckets(port, ack) if ack else {}
    c0 = cpu_s(pid) if pid else 0.0
    out = subprocess.run([*PIN["client"], "wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "-s", script,
                          f"http://127.0.0.1:{port}{path}", "--", *lua_args],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"^JSON (.*)$", out, re.M)
    r = json.loads(m.group(1))
    r["req_per_s"] = round(r["requests"] / (r["duration_us"] / 1e6))
    if pid and r["requests"]:
        # the server's CPU per answered order: independent of how much of the shared machine it was given
        r["server_cpu_us_per_req"] = round((cpu_s(pid) - c0) / r["requests"] * 1e6, 1)
        r["server_cpu_share"] = round((cpu_s(pid) - c0) / (r["duration_us"] / 1e6), 2)
    if ack:
        r.update(ack_quantiles(a0, ack_buckets(port, ack)))
    return r


def warm_http(port: int, path: str, script: str, lua_args: list[str], tree: str, threads: int | None = None,
              seconds: int = 2, limit_s: float = 1800.0) -> None:
    """Warm a fresh server up: short wrk runs (4 connections) until one is answered, then one more. A tree whose
    numba cache is cold (an A/B worktree: the cache is keyed by the sources) compiles its kernels at its first
    request, for longer than a cell; before this the first cell of such a tree answered no request."""
    t0 = time.monotonic()
    tries = 1
    while not run_wrk(port, path, script, 4, seconds, lua_args, threads=threads)["requests"]:
        if time.monotonic() - t0 > limit_s:
            raise SystemExit(f"{path} ({tree or 'installed'}): no answer within {limit_s:.0f} s of warm-up")
        tries += 1
    if tries > 1:
        print(f"warm-up of {path} ({tree or 'installed'}): first answers after {time.monotonic() - t0:.0f} s",
              file=sys.stderr, flush=True)
    run_wrk(port, path, script, 4, seconds, lua_args, threads=threads)


def _answered(r: dict, path: str, tree: str, conns: int) -> None:
    """Stop the bench on a recorded cell that answered nothing (after the warm-up, a fault to look at)."""
    if not r["requests"]:
        raise SystemExit(f"{path} ({tree or 'installed'}, {conns} connections): the server answered no request in "
                         "the cell after its warm-up: expected answers")


def in_process(n: int = 200_000) -> dict:
    """`GatewayService.process()` on typed envelopes, the same order mix, in this process."""
    import gc

    from hft.core.clock import ManualClock
    from hft.gateway import GatewayService, TypedIntentEnvelope
    from hft.gateway.config import load_config
    from hft.gateway.intents import typed_intent_v1
    from hft.live.orders import SIDES, intent_key

    gw = GatewayService(load_config(HERE / "gateway_bench.yaml", {}), clock=ManualClock(1))
    envs = [TypedIntentEnvelope(typed_intent_v1(1, intent_key("ACC1", f"k{i}"), "ACC1", "mm1", "AAPL",
                                 SIDES["buy" if i % 2 else "sell"], 9990 if i % 2 else 10010, 1, 1, 1, 0, 0), 0)
            for i in range(n)]
    gc.collect()
    gc.freeze()
    lat = []
    process = gw.process
    perf = time.perf_counter_ns
    t0 = time.perf_counter()
    for e in envs:
        a = perf()
        process(e)
        lat.append(perf() - a)
    wall = time.perf_counter() - t0
    lat.sort()
    return {"intents": n, "per_s": round(n / wall), "p50_us": lat[n // 2] / 1e3, "p99_us": lat[int(n * .99)] / 1e3,
            "p999_us": lat[int(n * .999)] / 1e3}


def summary(runs: list[dict]) -> list[dict]:
    """Per path, tree and offered load: the cells' count, min and median server CPU per request, median and best
    rate, median p99. On a shared machine other jobs only add to a cell's CPU, so the minimum and the median of
    several interleaved cells are what an A/B compares (the `tree` field tells the trees of one run apart)."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["path"], r.get("tree", ""), r.get("window", r["conns"])), []).append(r)
    out = []
    for (path, tree, load), rs in groups.items():
        cpu = [r["server_cpu_us_per_req"] for r in rs if "server_cpu_us_per_req" in r]
        out.append({"path": path, "tree": tree, "conns_or_window": load, "cells": len(rs),
                    "cpu_us_min": min(cpu, default=None), "cpu_us_median": statistics.median(cpu) if cpu else None,
                    "req_per_s_median": statistics.median(r["req_per_s"] for r in rs),
                    "req_per_s_max": max(r["req_per_s"] for r in rs),
                    "p99_ms_median": statistics.median(r["p99_us"] for r in rs) / 1e3})
        acks = [r["server_ack_p99_le_us"] for r in rs if r.get("server_ack_p99_le_us") is not None]
        if acks:  # the server's own p99 (bucket bound): what of the round trip's p99 the server itself adds
            out[-1]["server_ack_p99_le_ms_median"] = statistics.median(acks) / 1e3
        if path == "webhooks":  # issue 18's goal, per cell: >= 5k/s with p99 <= 20 ms at the same offered load
            out[-1]["cells_meeting_goal"] = sum(r["req_per_s"] >= 5000 and r["p99_us"] <= 20_000 for r in rs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--conns", default="1,4,16,64")
    ap.add_argument("--windows", default="64,256,1024", help="TCP: intents in flight")
    ap.add_argument("--paths", default="/v3/orders,/orders,tcp,webhooks",
                    help="of /v3/orders,/orders,tcp,tcp-durable,tcp-echo,webhooks (/orders runs fsync interval and "
                         "batch; tcp-echo: the TCP ceiling, `echo_server`)")
    ap.add_argument("--webhook-conns", default="16,32,64", help="webhooks: connections")
    ap.add_argument("--per-run", type=int, default=120_000, help="webhooks: pre-signed requests per run")
    ap.add_argument("--webhook-trees", default="",
                    help="webhooks: source trees to run the server from, comma-separated, interleaved per round "
                         "(A/B in one run; default: the installed package / PYTHONPATH)")
    ap.add_argument("--trees", default="", help="order paths (HTTP, TCP): source trees to run the server from, "
                    "comma-separated, interleaved per round and path (A/B in one run)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out", default=str(HERE / "results" / "bench_service.json"))
    ap.add_argument("--pin", action="store_true", help="the order paths' server on CPU 0, wrk and this process (the "
                    "TCP client) on CPU 1 (taskset): a whole core for the server on the 2-core machine")
    ap.add_argument("--echo-server", action="store_true", help=argparse.SUPPRESS)  # `start_echo`'s child
    args = ap.parse_args()
    if args.echo_server:
        echo_server()
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")
    if args.pin:
        PIN.update(server=["taskset", "-c", "0"], client=["taskset", "-c", "1"])
        os.sched_setaffinity(0, {1})
    sys.path.insert(0, str(ROOT))
    from hft.live.auth import mint

    token = mint(SECRET, "bench", ["ACC1"], ["mm1"], 3600)
    conns = [int(c) for c in args.conns.split(",")]
    windows = [int(w) for w in args.windows.split(",")]
    res: dict = {"machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()}, "runs": []}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA + WRK_DONE)
        script = f.name
    paths = [(p_, d, f) for p_, d, f in (("/v3/orders", False, "interval"), ("/orders", True, "interval"),
                                          ("/orders", True, "batch"), ("tcp", False, "interval"),
                                          ("tcp-durable", True, "interval"), ("tcp-echo", False, ""))
             if p_ in args.paths.split(",")]
    try:
        for _round in range(args.rounds):  # rounds interleave the paths (a shared machine's load drifts)
            if "webhooks" in args.paths.split(","):
                for tree in args.webhook_trees.split(","):
                    run_webhooks([int(c) for c in args.webhook_conns.split(",")], args.seconds, args.per_run,
                                 _round, res, tree)
            for (path, durable, fsync), tree in ((x, t) for x in paths for t in args.trees.split(",")):
                if path == "tcp-echo" and tree != args.trees.split(",")[0]:
                    continue  # the ceiling runs no gateway: once a round
                home = Path(tempfile.mkdtemp(prefix="hft-bench-service-"))
                if path == "tcp-echo":
                    p, tcp_port = start_echo(tree)
                else:
                    p, port, tcp_port = start_server(home, fsync, tree)
                try:
                    if path.startswith("tcp"):
                        run_tcp(tcp_port, token, 64, 1.0, durable=durable)  # warm-up
                        for w in windows:
                            r = run_tcp(tcp_port, token, w, args.seconds, p.pid, durable=durable)
                            r.update(path=path, fsync=fsync, conns=1, window=w, round=_round,
                                     load=os.getloadavg()[0], **({"tree": tree} if tree else {}))
                            res["runs"].append(r)
                            print(json.dumps(r), flush=True)
                        continue
                    lua_args = [path, token, "1" if durable else "0"]
                    warm_http(port, path, script, lua_args, tree)
                    for c in conns:
                        r = run_wrk(port, path, script, c, args.seconds, lua_args, p.pid,
                                    ack="durable" if durable else "volatile")
                        _answered(r, path, tree, c)
                        r.update(path=path, fsync=fsync, conns=c, round=_round, load=os.getloadavg()[0],
                                 **({"tree": tree} if tree else {}))
                        res["runs"].append(r)
                        print(json.dumps(r), flush=True)
                finally:
                    p.terminate()
                    try:
                        p.wait(30)
                    except subprocess.TimeoutExpired:  # a server that ignores SIGTERM: killed, so its dir can go
                        p.kill()
                        p.wait()
                    finally:
                        shutil.rmtree(home, ignore_errors=True)  # the WAL and the venue journal of the cell
    finally:
        os.unlink(script)
    res["in_process"] = in_process()
    print("in-process process():", res["in_process"])
    res["machine"]["load_after"] = os.getloadavg()
    res["summary"] = summary(res["runs"])
    for row in res["summary"]:
        print(json.dumps(row))
    # atomically, keeping the sections a session recorded beside this run's own (the file's history)
    write_json(args.out, carry_over(args.out, res))


if __name__ == "__main__":
    main()
