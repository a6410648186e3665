"""The venue adapter conformance suite: each clause of the contract (`hft.live.venue`) checked through the real
service, `hft gateway serve` in a subprocess on a loopback port, with the adapter named in its config.

Any adapter runs it with a `Profile` (its name or ``module:factory``, its options, and the orders that fill or
rest at its venue)::

    from hft.live import venue_conformance as vc

    PROFILE = vc.Profile("my_venue", options={"url": "..."}, symbol="AAPL")

    @pytest.mark.slow
    def test_my_venue_conforms(tmp_path):
        vc.run(PROFILE, tmp_path)

`run` starts the service once, checks every clause in `CLAUSES` (or those named), and raises `ConformanceError`
naming the clause and what differed. The clauses:

- ``new_ack_fill``: a marketable order is acknowledged, then filled: its reports at the gateway are ACK then
  FILL / PARTIAL_FILL, in that order, and its view says filled.
- ``cancel``: a resting order is working, then cancelled: ACK then CANCELED.
- ``replace``: a resting order replaced takes its new price and size: ACK then REPLACED.
- ``repeated_id``: the adapter itself (built by its factory beside the service) given the same new order twice
  executes it once: one ACK, ``health()["duplicates"]`` 1; and the gateway given the same request twice (the same
  Idempotency-Key) answers the same order, filled once.
- ``crash_reconcile``: orders sent, then the service SIGKILLed and started again on the same WAL: every order the
  gateway answered is still there, none filled twice, the positions equal the sum of the fills, no repeated
  id reached the venue; a `Reconciling` venue's orders all end filled (its record gives back what the WAL
  lacked), a resting order is still working and is cancelled after the restart, and the venue's positions
  (``positions()``, when offered) equal the gateway's; an adapter whose start is a new session
  (``session_restarts``, as the paper venue beginning a new day) has its working orders expired.

The report order is read back from the service's own WAL once it has stopped. An adapter that never rests an
order (``Profile.rest`` None) skips ``cancel`` and ``replace``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hft.core.orders import (
    BUY,
    CMD_NEW,
    ORDER_LIMIT,
    REPORT_ACK,
    REPORT_CANCELED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REPLACED,
    SELL,
    TIF_GTC,
)
from hft.gateway.intents import OrderCommand
from hft.live.auth import mint
from hft.live.engine import JOURNAL
from hft.live.service_process import ServiceProcess
from hft.live.venue import VenueContext, venue_adapter
from hft.recorder.reader import iter_records

__all__ = ["CLAUSES", "ConformanceError", "Profile", "run"]

CLAUSES = ("new_ack_fill", "cancel", "replace", "repeated_id", "crash_reconcile")
ACCOUNT, STRATEGY = "ACC1", "conf"


class ConformanceError(AssertionError):
    """A clause of the contract the adapter does not meet (its message names the clause)."""


def _loopback_fill(health: Mapping[str, Any]) -> dict[str, Any]:
    return {"side": "buy", "price": 10_000, "tif": "ioc"}


def _loopback_rest(health: Mapping[str, Any]) -> dict[str, Any]:
    return {"side": "buy", "price": 9_000, "tif": "gtc"}


@dataclass(frozen=True)
class Profile:
    """How to run the suite against one adapter.

    `adapter` and `options` are the config's ``venue.adapter`` / ``venue.options``; `symbol` the symbol traded
    (registered in the generated config unless the adapter registers its own, as paper does). `fill(health)`
    and `rest(health)` give the side, price (ticks) and tif of an order the venue fills at once and of one it
    keeps working, from the venue's ``health()`` (``rest`` None: it never rests one); `ready(health)` says the
    venue can take them (a market fed by data may need a moment); `replace_by` is the price change of the
    replace clause. `env` is added to the service's environment (a ``PYTHONPATH`` to a package not installed).
    `alone_options` are the options of the adapter the ``repeated_id`` clause builds beside the service (default
    `options`): a venue that admits one connection per session identity (FIX: a SenderCompID) needs another.
    """

    adapter: str = "loopback"
    options: Mapping[str, Any] = field(default_factory=lambda: {"mode": "rest"})
    symbol: str = "AAPL"
    fill: Callable[[Mapping[str, Any]], dict[str, Any]] = _loopback_fill
    rest: Callable[[Mapping[str, Any]], dict[str, Any]] | None = _loopback_rest
    ready: Callable[[Mapping[str, Any]], bool] = lambda h: True
    replace_by: int = -100
    env: Mapping[str, str] = field(default_factory=dict)
    alone_options: Mapping[str, Any] | None = None
    start_timeout_s: float = 300.0
    wait_s: float = 30.0


class _Service(ServiceProcess):
    """`hft gateway serve` in a subprocess, on its own HFT_HOME under `home` (restarted on the same WAL)."""

    def __init__(self, home: Path, config: Path, profile: Profile) -> None:
        super().__init__(home, config, secret=secrets.token_hex(24), env=profile.env)
        self.profile = profile
        self.orders: list[int] = []  # the ids of the orders the suite sent

    def start(self, timeout: float | None = None) -> _Service:
        try:
            return super().start(self.profile.start_timeout_s if timeout is None else timeout)
        except RuntimeError as exc:
            raise ConformanceError(f"start: the service did not start with venue {self.profile.adapter!r}: "
                                   f"{exc}") from None

    def token(self) -> str:
        return mint(self.secret, "conformance", [ACCOUNT], [STRATEGY], 3600.0)

    def request(self, method: str, path: str, body: Any = None, token: str | None = None,
                headers: Mapping[str, str] | None = None, raw: bytes | None = None) -> tuple[int, Any]:
        return super().request(method, path, body, token or self.token(), headers, raw)

    def health(self) -> dict[str, Any]:
        return self.request("GET", "/health")[1]["venue"]

    def new(self, coid: str, order: Mapping[str, Any], qty: int = 1, key: str | None = None) -> dict[str, Any]:
        body = {"client_order_id": coid, "account": ACCOUNT, "strategy": STRATEGY, "symbol": self.profile.symbol,
                "qty": qty, **order}
        code, out = self.request("POST", "/orders", body, headers={"Idempotency-Key": key or coid})
        if code not in (200, 201) or not out.get("accepted"):
            raise ConformanceError(f"order {coid}: expected the gateway to accept it, was {code} {out}")
        if out["order_id"] not in self.orders:
            self.orders.append(out["order_id"])
        return out

    def view(self, oid: int) -> dict[str, Any]:
        return self.request("GET", f"/orders/{oid}")[1]

    def wait_status(self, clause: str, oid: int, statuses: Iterable[str]) -> dict[str, Any]:
        want = set(statuses)
        end = time.monotonic() + self.profile.wait_s
        v = self.view(oid)
        while v.get("status") not in want and time.monotonic() < end:
            time.sleep(0.05)
            v = self.view(oid)
        if v.get("status") not in want:
            raise ConformanceError(f"{clause}: order {oid}: expected status in {sorted(want)}, was {v}")
        return v


def _config(profile: Profile, workdir: Path) -> Path:
    """The service config of the suite: one account and strategy, the profile's symbol, limits wide open."""
    cfg = {"capacity": {"max_accounts": 4, "max_strategies": 4, "max_symbols": 16, "exposure_max_symbols": 16,
                        "max_working_orders": 1024, "channel_capacity": 64},
           "limits": {"defaults": {"max_order_qty": 1000, "max_position": 1_000_000, "price_band_bps": None,
                                   "submit_rate": None, "cancel_rate": None, "max_repeats": None}},
           "accounts": {ACCOUNT: {}}, "strategies": {STRATEGY: {}},
           "symbols": {} if profile.adapter == "paper" else {profile.symbol: {}},
           "server": {"fsync": "batch", "cancel_on_shutdown": False},
           "venue": {"adapter": profile.adapter, "options": dict(profile.options)}}
    path = workdir / "gateway.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _report_kinds(home: Path) -> dict[int, list[int]]:
    """Each order's report kinds in the order the service recorded them (its WAL, read once it stopped)."""
    out: dict[int, list[int]] = {}
    for _topic, r in iter_records(home / "wal" / "gateway-live", frozenset({JOURNAL})):
        if r["source"] == "report":
            out.setdefault(int(r["order_id"]), []).append(int(r["kind"]))
    return out


def run(profile: Profile, workdir: str | Path, clauses: Iterable[str] = CLAUSES) -> dict[str, str]:
    """Check `clauses` of the contract against the adapter of `profile` through the real service (module
    docstring), under `workdir`. Returns each clause's outcome (``ok`` or why it was skipped); raises
    `ConformanceError` at the first clause not met."""
    chosen = list(clauses)
    unknown = [c for c in chosen if c not in CLAUSES]
    if unknown:
        raise ValueError(f"venue conformance: expected clauses from {list(CLAUSES)}, was {unknown}")
    workdir = Path(workdir)
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    svc = _Service(home, _config(profile, workdir), profile)
    out: dict[str, str] = {}
    expect: dict[int, tuple[str, tuple[int, ...]]] = {}  # order id -> (clause, its first report kinds)
    svc.start()
    try:
        end = time.monotonic() + profile.wait_s
        while not profile.ready(svc.health()):
            if time.monotonic() > end:
                raise ConformanceError(f"start: the venue was not ready in {profile.wait_s:g} s: {svc.health()}")
            time.sleep(0.1)
        for clause in chosen:
            if clause in ("cancel", "replace") and profile.rest is None:
                out[clause] = "skipped: the adapter rests no order (Profile.rest is None)"
                continue
            out[clause] = _CHECKS[clause](svc, profile, expect) or "ok"
    finally:
        svc.stop(30.0)
    kinds = _report_kinds(home)
    for oid, (clause, first) in sorted(expect.items()):
        got = tuple(kinds.get(oid, ())[:len(first)])
        if got != first and not (first[-1] == REPORT_FILL and got[:1] == (REPORT_ACK,) and len(got) > 1
                                 and got[1] == REPORT_PARTIAL_FILL):
            raise ConformanceError(f"{clause}: order {oid}: expected its reports to begin {list(first)}, were "
                                   f"{kinds.get(oid, [])} (kinds: hft.core.orders REPORT_*)")
    return out


def _new_ack_fill(svc: _Service, p: Profile, expect: dict) -> None:
    d = svc.new("conf-fill", p.fill(svc.health()))
    v = svc.wait_status("new_ack_fill", d["order_id"], ("filled",))
    if v["filled"] != 1 or sum(f["qty"] for f in v["fills"]) != 1:
        raise ConformanceError(f"new_ack_fill: order {d['order_id']}: expected 1 lot filled, was {v}")
    expect[d["order_id"]] = ("new_ack_fill", (REPORT_ACK, REPORT_FILL))


def _cancel(svc: _Service, p: Profile, expect: dict) -> None:
    d = svc.new("conf-cancel", p.rest(svc.health()))  # type: ignore[misc]
    svc.wait_status("cancel", d["order_id"], ("working",))
    code, out = svc.request("POST", f"/orders/{d['order_id']}/cancel", {})
    if code not in (200, 201, 202) or not out.get("accepted"):
        raise ConformanceError(f"cancel: order {d['order_id']}: expected the cancel accepted, was {code} {out}")
    svc.wait_status("cancel", d["order_id"], ("canceled",))
    expect[d["order_id"]] = ("cancel", (REPORT_ACK, REPORT_CANCELED))


def _replace(svc: _Service, p: Profile, expect: dict) -> None:
    order = p.rest(svc.health())  # type: ignore[misc]
    d = svc.new("conf-replace", order, qty=2)
    svc.wait_status("replace", d["order_id"], ("working",))
    price = order["price"] + p.replace_by
    code, out = svc.request("POST", f"/orders/{d['order_id']}/replace",
                            {"price": price, "qty": 3, "client_order_id": "conf-replace-2"})
    if code not in (200, 201, 202) or not out.get("accepted"):
        raise ConformanceError(f"replace: order {d['order_id']}: expected the replace accepted, was {code} {out}")
    end = time.monotonic() + p.wait_s
    v = svc.view(d["order_id"])
    while (v["price"], v["qty"]) != (price, 3) and time.monotonic() < end:
        time.sleep(0.05)
        v = svc.view(d["order_id"])
    if (v["price"], v["qty"], v["status"]) != (price, 3, "working"):
        raise ConformanceError(f"replace: order {d['order_id']}: expected working at {price} for 3, was {v}")
    svc.request("POST", f"/orders/{d['order_id']}/cancel", {})
    expect[d["order_id"]] = ("replace", (REPORT_ACK, REPORT_REPLACED))


def _repeated_id(svc: _Service, p: Profile, expect: dict) -> None:
    # the gateway: the same request twice is one order, filled once
    order = p.fill(svc.health())  # once: a retry repeats its request exactly
    a = svc.new("conf-repeat", order, key="conf-repeat")
    b = svc.new("conf-repeat", order, key="conf-repeat")
    if a["order_id"] != b["order_id"]:
        raise ConformanceError(f"repeated_id: the same request twice: expected one order, were {a} and {b}")
    v = svc.wait_status("repeated_id", a["order_id"], ("filled",))
    if v["filled"] != 1:
        raise ConformanceError(f"repeated_id: order {a['order_id']}: expected filled once (1 lot), was {v}")
    # the adapter: the same new order twice is executed once
    acks, dups = asyncio.run(_twice(p, svc))
    if acks != 1 or dups != 1:
        raise ConformanceError(f"repeated_id: the adapter given one new order twice: expected 1 ACK and health "
                               f"duplicates 1, were {acks} ACK and {dups}")


async def _twice(p: Profile, svc: _Service) -> tuple[int, int]:
    """Build the adapter by its factory beside the service (its files under a folder of its own), send one new
    order twice, wait for its answers; (ACKs of that order, ``health()["duplicates"]``). A venue may answer
    later than `send` returns (an exchange over a network does): the wait is for the ACK and the refusal, up to
    `Profile.wait_s`, then a moment more for a second ACK that must not come."""
    wal = svc.home / "adapter-alone" / "wal"
    wal.mkdir(parents=True, exist_ok=True)
    options = p.options if p.alone_options is None else p.alone_options
    v = venue_adapter(p.adapter, VenueContext(dict(options), wal))
    reps: list[Any] = []
    v.start(asyncio.get_running_loop(), reps.append)
    try:
        order = p.rest(v.health()) if p.rest is not None else p.fill(v.health())
        side = BUY if order["side"] == "buy" else SELL
        cmd = OrderCommand(CMD_NEW, 1, None, ACCOUNT, STRATEGY, p.symbol, side, order["price"], 1, ORDER_LIMIT,
                           TIF_GTC, 0)
        v.send(cmd)
        v.send(cmd)

        def acks() -> int:
            return sum(r.order_id == 1 and r.kind == REPORT_ACK for r in reps)

        end = time.monotonic() + p.wait_s
        while (acks() < 1 or int(v.health().get("duplicates", -1)) < 1) and time.monotonic() < end:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)
        return acks(), int(v.health().get("duplicates", -1))
    finally:
        v.close()


def _crash_reconcile(svc: _Service, p: Profile, expect: dict) -> str:
    fills = [svc.new(f"conf-crash-{i}", p.fill(svc.health()))["order_id"] for i in range(20)]
    rest = svc.new("conf-crash-rest", p.rest(svc.health()))["order_id"] if p.rest is not None else None
    if rest is not None:
        svc.wait_status("crash_reconcile", rest, ("working",))
    svc.kill9()
    svc.start()
    health = svc.health()
    recovery = svc.request("GET", "/health")[1].get("recovery", {})
    session = "orders_expired" in recovery
    ends = ("filled", "expired") if session else ("filled",)
    views = [svc.wait_status("crash_reconcile", oid, ends) for oid in fills]
    for v in views:
        if v["filled"] > 1 or sum(f["qty"] for f in v["fills"]) != v["filled"]:
            raise ConformanceError(f"crash_reconcile: order {v['order_id']}: expected at most its 1 lot filled, "
                                   f"once, was {v}")
    if recovery.get("positions_differ", 0):
        raise ConformanceError(f"crash_reconcile: expected the venue's positions to equal the gateway's after the "
                               f"restart, {recovery['positions_differ']} differ ({recovery})")
    if health.get("duplicates", 0):
        raise ConformanceError(f"crash_reconcile: expected no repeated order id at the venue, was {health}")
    _, pos = svc.request("GET", "/positions")
    net = sum(p_["position"] for p_ in pos if p_["symbol"] == p.symbol)
    want = _net(svc, p)
    if net != want:
        raise ConformanceError(f"crash_reconcile: expected the position {want} (the sum of the fills), was {net}")
    if rest is not None:
        if session:
            svc.wait_status("crash_reconcile", rest, ("expired",))
        else:
            svc.wait_status("crash_reconcile", rest, ("working",))
            svc.request("POST", f"/orders/{rest}/cancel", {})
            svc.wait_status("crash_reconcile", rest, ("canceled",))
    return "ok (a new session: working orders expired)" if session else "ok"


def _net(svc: _Service, p: Profile) -> int:
    """The net position of the suite's orders, from their views (side x filled)."""
    n = 0
    for oid in svc.orders:
        v = svc.view(oid)
        n += v["filled"] * (1 if v["side"] == "buy" else -1)
    return n


_CHECKS: dict[str, Callable[[_Service, Profile, dict], str | None]] = {
    "new_ack_fill": _new_ack_fill, "cancel": _cancel, "replace": _replace, "repeated_id": _repeated_id,
    "crash_reconcile": _crash_reconcile}
