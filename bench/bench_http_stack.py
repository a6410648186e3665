"""Choose the live gateway's HTTP stack and JSON codec by measurement (issue 17).

Servers compared (one worker process each, a minimal order endpoint: decode a JSON order, encode a JSON answer):
uvicorn (uvloop + httptools) with a bare ASGI app, uvicorn + starlette, granian with a bare ASGI app, granian RSGI.
Load: ``wrk`` (Debian package) with a POST script, 2 threads, 64 connections. Codecs: orjson vs msgspec
(decode an order body + encode a decision), in process.

Run: ``.venv/bin/python bench/bench_http_stack.py [--seconds 5]`` → ``bench/results/bench_http_stack.json``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BODY = (b'{"client_order_id":"c-1","account":"ACC1","strategy":"mm1","symbol":"AAPL","side":"buy",'
        b'"price":10000,"qty":5,"order_type":"limit","tif":"gtc"}')
ANSWER = {"accepted": True, "reason": "OK", "order_id": 42, "seq": 7, "client_order_id": "c-1", "duplicate": False}


# ---------------------------------------------------------------- apps (imported by the servers)
def _answer(body: bytes) -> bytes:
    import orjson

    d = orjson.loads(body)
    return orjson.dumps({**ANSWER, "client_order_id": d["client_order_id"]})


async def asgi_app(scope, receive, send):  # bare ASGI
    if scope["type"] != "http":
        return
    body = b""
    while True:
        m = await receive()
        body += m.get("body", b"")
        if not m.get("more_body"):
            break
    out = _answer(body)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]})
    await send({"type": "http.response.body", "body": out})


def starlette_app():
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def orders(request: Request) -> Response:
        return Response(_answer(await request.body()), media_type="application/json")

    return Starlette(routes=[Route("/v3/orders", orders, methods=["POST"])])


class RSGIApp:
    async def __call__(self, scope, proto):
        body = await proto()
        out = _answer(body)
        proto.response_bytes(200, [("content-type", "application/json")], out)


rsgi_app = RSGIApp()


# ---------------------------------------------------------------- harness
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 20.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


# hft's own front (hft/live/http.py) in the service's process model: uvloop, the app on the same loop.
_HFT_HTTP = """
import socket, uvloop
from bench_http_stack import asgi_app
from hft.live.http import HttpServer
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", {port}))
s.listen(2048)
uvloop.run(HttpServer(asgi_app).serve([s]))
"""

SERVERS = {
    "uvicorn+asgi": lambda p: [sys.executable, "-m", "uvicorn", "bench_http_stack:asgi_app", "--port", str(p),
                               "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
                               "--no-access-log"],
    "uvicorn+starlette": lambda p: [sys.executable, "-m", "uvicorn", "bench_http_stack:starlette_app", "--factory",
                                    "--port", str(p), "--loop", "uvloop", "--http", "httptools",
                                    "--log-level", "warning", "--no-access-log"],
    "granian+asgi": lambda p: [sys.executable, "-m", "granian", "--interface", "asgi", "--port", str(p),
                               "--workers", "1", "--log-level", "warning", "bench_http_stack:asgi_app"],
    "hft-http": lambda p: [sys.executable, "-c", _HFT_HTTP.format(port=p)],
    "granian+rsgi": lambda p: [sys.executable, "-m", "granian", "--interface", "rsgi", "--port", str(p),
                               "--workers", "1", "--log-level", "warning", "bench_http_stack:rsgi_app"],
}

# The peers are not dependencies of hft: `pip install starlette granian orjson` for the whole comparison.
_NEEDS = {"uvicorn+starlette": ("starlette", "orjson"), "granian+asgi": ("granian", "orjson"),
          "granian+rsgi": ("granian", "orjson")}


def _available(name: str) -> bool:
    import importlib.util

    missing = [m for m in ("orjson", *_NEEDS.get(name, ())) if importlib.util.find_spec(m) is None]
    if missing:
        print(f"{name}: skipped ({', '.join(missing)} not installed)", flush=True)
    return not missing


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(s: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", s)
    return float(m.group(1)) * _UNIT[m.group(2)] if m else float("nan")


def run_wrk(port: int, seconds: int, conns: int = 64, threads: int = 2) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                f"wrk.body = '{BODY.decode()}'\n")
        script = f.name
    out = subprocess.run(["wrk", f"-t{min(threads, conns)}", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", script,
                          f"http://127.0.0.1:{port}/v3/orders"], capture_output=True, text=True, check=True).stdout
    os.unlink(script)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    return {"req_per_s": rps, **{f"p{k}_ms": _ms(v) for k, v in lat.items()}}


def bench_codecs(n: int = 200_000) -> dict:
    import msgspec
    import orjson

    out = {}
    t = time.perf_counter()
    for _ in range(n):
        orjson.dumps({**orjson.loads(BODY), **ANSWER})
    out["orjson_us"] = (time.perf_counter() - t) / n * 1e6

    class Order(msgspec.Struct, forbid_unknown_fields=True):
        client_order_id: str
        account: str
        strategy: str
        symbol: str
        side: str
        price: int
        qty: int
        order_type: str = "limit"
        tif: str = "gtc"

    dec = msgspec.json.Decoder(Order)
    enc = msgspec.json.Encoder()
    t = time.perf_counter()
    for _ in range(n):
        o = dec.decode(BODY)
        enc.encode({**ANSWER, "client_order_id": o.client_order_id})
    out["msgspec_typed_us"] = (time.perf_counter() - t) / n * 1e6
    t = time.perf_counter()
    for _ in range(n):
        enc.encode({**msgspec.json.decode(BODY), **ANSWER})
    out["msgspec_untyped_us"] = (time.perf_counter() - t) / n * 1e6
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=str(HERE / "results" / "bench_http_stack.json"))
    ap.add_argument("--only", action="append", choices=list(SERVERS), help="servers to measure (default: all)")
    ap.add_argument("--conns", type=int, default=64)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")
    names = [n for n in (args.only or list(SERVERS)) if _available(n)]
    res: dict = {"load_before": os.getloadavg(), "conns": args.conns, "servers": {k: [] for k in names}}
    for _ in range(args.rounds):  # interleaved rounds: the neighbours move the figures
        for name in names:
            cmd = SERVERS[name]
            port = _free_port()
            p = subprocess.Popen(cmd(port), cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                _wait_port(port)
                run_wrk(port, 1)  # warm-up
                r = run_wrk(port, args.seconds, args.conns)
                r["load"] = os.getloadavg()[0]
                res["servers"][name].append(r)
                print(name, r, flush=True)
            finally:
                p.terminate()
                p.wait(10)
    res["codecs"] = bench_codecs() if _available("codecs") else {}
    print(res["codecs"])
    res["load_after"] = os.getloadavg()
    from _common import carry_over, write_json  # here: the servers import this module for its apps

    write_json(args.out, carry_over(args.out, res))


if __name__ == "__main__":
    main()
