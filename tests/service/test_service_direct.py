"""The order intake answers the same through the ASGI round and through the HTTP front's direct path.

`hft gateway serve` answers ``POST /v3/orders`` and ``POST /orders`` with `OrderApp.direct` (no ASGI scope or
task per request, `hft.live.http`); any other ASGI server calls `OrderApp` as ASGI. Here one real writer
(`LiveGateway` with the loopback venue and its WAL, built as the server builds it) is served twice on loopback:
`OrderApp` itself (direct) and a plain ASGI function calling it (the ASGI round), and the same requests — good
orders, duplicates, and the bad-input table — must get the same statuses and bodies.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time

import pytest
from svckit import CONFIG, SECRET, token

from hft.gateway.config import load_config
from hft.live.http import HttpServer
from hft.live.server import ServeOptions, build, start_engine, stop_engine


class TwoFronts:
    """One `LiveGateway` + `OrderApp`, served direct and through a plain ASGI wrapper, on a thread's loop."""

    def __init__(self, home) -> None:
        self.home = home
        self.ports: list[int] = []
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.main(),))
        self.thread.start()
        deadline = time.monotonic() + 120
        while len(self.ports) < 2 and self.error is None:
            assert time.monotonic() < deadline, "the fronts did not start"
            time.sleep(0.02)
        assert self.error is None, self.error

    async def main(self) -> None:
        try:
            cfg = load_config(CONFIG, {"HFT_JWT_SECRET": SECRET})  # the WAL under $HFT_HOME (the fixture's)
            live, app, _ = build(cfg, ServeOptions(disk_monitor=False))
            app.ready = True
            tasks = start_engine(live)

            async def plain(scope, receive, send):  # no direct_paths: the ASGI round
                await app(scope, receive, send)

            fronts = [HttpServer(app, handle_signals=False), HttpServer(plain, handle_signals=False)]
            assert fronts[0].direct_paths and not fronts[1].direct_paths
            socks = []
            for _ in fronts:
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                s.listen(64)
                socks.append(s)
            serving = [asyncio.create_task(f.serve([s])) for f, s in zip(fronts, socks, strict=True)]
            self.stop_event = asyncio.Event()
            while not all(f.started for f in fronts):
                await asyncio.sleep(0.01)
            self.ports = [s.getsockname()[1] for s in socks]
        except BaseException as exc:  # reported to the test thread
            self.error = exc
            self.ports = [0, 0]
            return
        await self.stop_event.wait()
        for f in fronts:
            f.request_exit()
        await asyncio.gather(*serving)
        await stop_engine(live, tasks)

    def request(self, which: int, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, str, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.ports[which], timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.getheader("content-type"), json.loads(r.read())
        finally:
            conn.close()

    def stop(self) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)
        assert not self.thread.is_alive()
        self.loop.close()


@pytest.fixture
def fronts(tmp_path, monkeypatch):
    monkeypatch.setenv("HFT_HOME", str(tmp_path / "home"))
    f = TwoFronts(tmp_path)
    yield f
    f.stop()


def order(coid: str, **kw) -> bytes:
    o = {"client_order_id": coid, "account": "ACC1", "strategy": "mm1", "symbol": "AAPL", "side": "buy",
         "price": 10000, "qty": 1, **kw}
    return json.dumps(o).encode()


def test_the_order_routes_answer_alike_direct_and_through_asgi(fronts):
    auth = {"Authorization": f"Bearer {token()}", "Content-Type": "application/json"}
    cases = [  # (method, path, body of coid c, extra headers: "{c}" is the coid)
        ("POST", "/v3/orders", lambda c: order(c), {}),
        ("POST", "/orders", lambda c: order(c), {"Idempotency-Key": "k-{c}"}),
        ("POST", "/orders", lambda c: order(c), {}),  # no Idempotency-Key
        ("POST", "/v3/orders", lambda c: order(c, price=10001), {}),  # off tick: the gateway's 422
        ("POST", "/v3/orders", lambda c: b"{not json", {}),
        ("POST", "/v3/orders", lambda c: order(c, colour="red"), {}),
        ("POST", "/v3/orders", lambda c: order(c, qty=0), {}),
        ("POST", "/v3/orders", lambda c: order(c, account="NOPE"), {}),  # not in the token either: 403
        ("POST", "/v3/orders", lambda c: order(c, account="ACC2"), {}),  # the token may not trade as ACC2
        ("POST", "/v3/orders", lambda c: order(c, symbol="ZZZ"), {}),
        ("POST", "/v3/orders", lambda c: b"x" * 100_000, {}),  # over the intake's body limit
        ("GET", "/v3/orders", lambda c: None, {}),
        ("POST", "/v3/orders", lambda c: order(c), {"Authorization": "Bearer nope"}),
    ]
    answers = []
    for i, (method, path, body, extra) in enumerate(cases):
        got = []
        for which in (0, 1):
            c = f"c{i}-{which}"
            got.append(fronts.request(which, method, path, body(c), {**auth, **{k: v.format(c=c) for k, v in
                                                                                  extra.items()}}))
        answers.append(got)
    for (method, path, _, _), (direct, asgi) in zip(cases, answers, strict=True):
        for volatile in ("order_id", "seq", "ts", "client_order_id"):
            direct[2].pop(volatile, None)
            asgi[2].pop(volatile, None)
        assert direct == asgi, (method, path)
    statuses = [a[0][0] for a in answers]
    assert statuses == [201, 201, 400, 422, 400, 400, 400, 403, 403, 400, 413, 405, 401]
    assert all(a[0][1] == "application/json" for a in answers)
    first = [fronts.request(which, "POST", "/v3/orders", order(f"c0-{which}"), auth) for which in (0, 1)]
    for (_, _, a), (status, _, again) in zip(answers[0], first, strict=True):  # each front's first order again
        assert status == 200 and again["duplicate"] is True and again["order_id"] == a.get("order_id", again["order_id"])
