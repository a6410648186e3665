"""Helpers of the live-service tests: the real `hft gateway serve` in a subprocess on a loopback port.

`Server` starts it (its own HFT_HOME, WAL and venue journal under a temp dir), waits for the ready line, and
talks to it over HTTP (`request`, one connection per call; `AsyncClient` for concurrent load). Restarting
on the same directory is how the crash tests exercise recovery.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from hft.live.service_process import ServiceProcess, free_port  # noqa: F401 - the tests take free_port from here

HFT = Path(sys.executable).with_name("hft")
CONFIG = Path(__file__).with_name("gateway_service.yaml")
SECRET = "test-secret-0123456789abcdef-0123456789"


_PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "group_left", "group_right", "inf", "nan"}


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: what is left once strings, label matchers, range selectors and
    the label lists of ``by``/``without``/``on``/``ignoring``/``group_*`` are taken out, minus the functions
    (a name followed by ``(``) and the keywords."""
    e = re.sub(r'"(?:\\.|[^"\\])*"', " ", expr)
    e = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", e)
    names = set()
    for tok in re.finditer(r"(?<![0-9.])[A-Za-z_:][A-Za-z0-9_:]*", e):
        if tok.group().lower() not in _PROMQL_WORDS and not e[tok.end():].lstrip().startswith("("):
            names.add(tok.group())
    return names


def token(accounts=("ACC1",), strategies=("mm1",), admin=False, secret=SECRET, ttl=3600.0) -> str:
    from hft.live.auth import mint

    return mint(secret, "tester", list(accounts), list(strategies), ttl, admin)


def thp_enabled(pid: int) -> str | None:
    """The kernel's ``THP_enabled`` of process `pid` ("0": no transparent huge pages; None: no such line, i.e.
    not Linux or a kernel before 5.0)."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return None
    return next((ln.split()[1] for ln in status.read_text().splitlines() if ln.startswith("THP_enabled:")), None)


class Server(ServiceProcess):
    """The service under test: `hft.live.service_process.ServiceProcess` run by the venv's ``hft`` script with the
    tests' config and JWT secret."""

    def __init__(self, home: Path, *args: str, config: Path = CONFIG, env: dict[str, str] | None = None,
                 wrap: tuple[str, ...] = ()) -> None:
        super().__init__(home, config, *args, secret=SECRET, env=env, command=[str(HFT)], wrap=wrap)

    def health_after_first_trade(self, timeout: float = 60.0) -> dict[str, Any]:
        """`/health` once the paper venue has replayed a trade (``venue.last_trade > 0``); fails after ``timeout``."""
        end = time.time() + timeout
        while True:
            _, h = self.request("GET", "/health")
            if h["venue"]["last_trade"] > 0:
                return h
            if time.time() > end:
                raise AssertionError(f"no trade replayed in {timeout:.0f} s: {h['venue']}")
            time.sleep(0.2)

    def poll(self, path: str, done: Any, *, token: str | None = None, timeout: float = 60.0) -> Any:
        """``GET path`` every 50 ms until ``done(answer)`` or `timeout`; the last answer either way (the caller
        asserts on it, so a failure shows what the service said)."""
        end = time.time() + timeout
        while True:
            _, v = self.request("GET", path, token=token)
            if done(v) or time.time() > end:
                return v
            time.sleep(0.05)

    def tcp_port(self) -> int:
        """The port of the service's TCP order intake (``--tcp-port 0``: the one it chose), from its ready line."""
        m = re.search(r"(?:tls|tcp)://[\d.]+:(\d+)", self.ready_line)
        assert m, self.ready_line
        return int(m.group(1))

    def metrics(self) -> dict[str, float]:
        _, text = self.request("GET", "/metrics")
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                out[k] = float(v)
        return out

    def wait_log(self, text: str, timeout: float = 10.0) -> str:
        """The service's log once it holds `text`; fails after ``timeout`` with the log's tail."""
        end = time.time() + timeout
        while time.time() < end:
            log = self.log.read_text()
            if text in log:
                return log
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not in the log:\n{self.log.read_text()[-2000:]}")

    def journal(self) -> list[dict]:
        p = self.home / "wal" / "gateway-live-venue.jsonl"
        return [json.loads(x) for x in p.read_text().splitlines()] if p.exists() else []


def config_with_risk(tmp_path: Path, **risk: Any) -> Path:
    """The service tests' config (`CONFIG`) with `risk` keys set over its own (order types, TIFs the shipped
    config/gateway.yaml does not list), written under `tmp_path`."""
    import yaml  # lazy: only the tests that change the config need it

    cfg = yaml.safe_load(CONFIG.read_text())
    cfg.setdefault("risk", {}).update(risk)
    p = tmp_path / "gateway_risk.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def wal_reports(home: Path, *fields: str) -> dict[int, list]:
    """The execution reports in a service's WAL (``home/wal/gateway-live``, the journal its restart replays), by
    order id in the WAL's order: each its `fields` as a tuple (one field: the value alone; none: ``kind``)."""
    from hft.recorder.reader import iter_records  # lazy: the tests that start no service never read a WAL

    fields = fields or ("kind",)
    out: dict[int, list] = {}
    for topic, rec in iter_records(home / "wal" / "gateway-live"):
        if topic == "sim.orders" and rec.get("source") == "report":
            v = tuple(rec[f] for f in fields)
            out.setdefault(rec["order_id"], []).append(v if len(v) > 1 else v[0])
    return out


def order(coid: str, side: str = "buy", price: int = 10000, qty: int = 5, account: str = "ACC1",
          strategy: str = "mm1", symbol: str = "AAPL", **kw: Any) -> dict:
    return {"client_order_id": coid, "account": account, "strategy": strategy, "symbol": symbol, "side": side,
            "price": price, "qty": qty, **kw}


class AsyncClient:
    """Minimal keep-alive HTTP/1.1 client on asyncio streams (for concurrent load in tests)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.r: asyncio.StreamReader | None = None
        self.w: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict, tok: str, key: str | None = None) -> tuple[int, dict]:
        if self.w is None:
            self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port)
        data = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\nContent-Type: application/json"
                f"\r\nContent-Length: {len(data)}\r\n" + (f"Idempotency-Key: {key}\r\n" if key else "") + "\r\n")
        self.w.write(head.encode() + data)
        status_line = await self.r.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.r.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode().partition(":")
            if k.lower() == "content-length":
                length = int(v)
        payload = await self.r.readexactly(length)
        return status, json.loads(payload)

    async def close(self) -> None:
        if self.w is not None:
            self.w.close()
