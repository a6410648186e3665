"""The venue adapter contract of `hft gateway serve`, and the registry that builds an adapter by name.

A venue adapter is what the live service's dispatcher sends order commands to and gets execution reports from.
The service (`hft.live.engine.LiveGateway`, the one writer) holds it; an adapter needs only the methods of
`Venue`, and the optional ones below add what it can do:

- ``start(loop, on_report)``: called once, after recovery and before the port opens. From then on every
  execution report goes to ``on_report(ExecutionReport)``, called on `loop` (from another thread:
  ``loop.call_soon_threadsafe``), each order's reports in the order the venue sent them.
- ``send(cmd: OrderCommand)``: one command (``action`` CMD_NEW / CMD_CANCEL / CMD_REPLACE); never blocks (its
  answer comes later through ``on_report``). The gateway has written the command to its WAL before. A new order
  answers ACK then FILL / PARTIAL_FILL (or REJECTED); a cancel CANCELED or CANCEL_REJECTED; a replace REPLACED
  (its new price and leaves) or REPLACE_REJECTED. A report may also say what only the venue knows (the last
  fields of `ExecutionReport`): a fill's ``liquidity`` (maker / taker) and an ACK's ``queue`` ahead in lots, left at
  their defaults (0, -1: not said) by a venue that does not know them; never made up (docs/live.md, "What a venue
  says beyond the report").
- A repeated order id: a CMD_NEW whose ``order_id`` the venue already received is refused and never executed
  twice: no report, counted in ``health()["duplicates"]`` (the gateway never sends one itself; a re-send after a
  crash is the case this guards).
- ``health() -> dict``: shown under ``venue`` in ``GET /health``; ``kind`` names the adapter, ``duplicates``
  counts the refused repeated ids.
- ``close()``: on shutdown, after the cancels of ``server.cancel_on_shutdown`` were answered.

Reconciliation after a crash (`hft.live.recovery`): an adapter whose venue keeps its own record across a crash of
the service (an exchange does; `LoopbackVenue` and `PaperVenue` keep a journal) offers `Reconciling`'s
``received()`` (the (action, order id) of every command it got) and ``reports()`` (every report it sent, per
order id, in order). On start the gateway rebuilds its state from its WAL, applies the reports the WAL lacks and
sends again the commands the venue never received; nothing is lost and, with the refusal of a repeated id,
nothing is executed twice. An adapter without that record gets nothing re-sent; one whose start is a new session
(``session_restarts`` True, as `PaperVenue` when it begins a new day: no journal of the day before) is not
reconciled: the orders still working at the gateway end with EXPIRED. ``positions()`` (net filled quantity per
(account, strategy, symbol)), when offered, is compared with the gateway's after reconciliation: a difference is
logged and counted in the recovery summary.

Optional too: ``send_array(cmds, accounts, strategies, symbols)`` (a COMMAND_DTYPE array at once, the reports it
caused at once returned as EXEC_REPORT_DTYPE), ``run_feed(live)`` (a coroutine the service runs: a venue's
market data, calling ``live.on_mark(symbol, price)``, and, to give clients the market as the venue sees it,
``live.on_market(symbol, rows)`` with `hft.core.orders.MARKET_UPDATE` rows, the market stream ``GET
/market/stream`` that ``hft strategy live`` reads: each trade print, and the book's top levels when they changed; the
paper venue feeds it from its recorded day, an exchange's adapter from the exchange's market data), ``symbol`` (a
symbol the gateway registers at start).

Adapters are found by name (`venue_adapter`): the built-ins ``loopback`` (`hft.live.venues.LoopbackVenue`) and
``paper`` (`hft.live.paper.PaperVenue`), those an installed package registers in the entry-point group
``hft.venues``, or ``module:factory`` / ``FILE.py:factory`` (the one plugin loader, `hft.core.plugins`). A
factory takes a `VenueContext` and returns the adapter. The service config names it (``venue.adapter``);
`hft.live.venue_conformance` checks an adapter against the contract through the real service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from hft.core.errors import ConfigError
from hft.core.plugins import entry_point_map, load_entry_point, load_object
from hft.gateway.intents import ExecutionReport, OrderCommand

__all__ = ["ENTRY_POINT_GROUP", "Reconciling", "Venue", "VenueContext", "VenueFactory", "adapters", "register",
           "venue_adapter"]

ENTRY_POINT_GROUP = "hft.venues"


@runtime_checkable
class Venue(Protocol):
    """What the service needs of a venue adapter (module docstring)."""

    def start(self, loop: asyncio.AbstractEventLoop, on_report: Callable[[ExecutionReport], None]) -> None: ...

    def send(self, cmd: OrderCommand) -> None: ...

    def health(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


@runtime_checkable
class Reconciling(Venue, Protocol):
    """A venue adapter whose venue keeps its own record across a crash of the service (module docstring)."""

    def received(self) -> set[tuple[int, int]]: ...

    def reports(self) -> dict[int, list[ExecutionReport]]: ...


@dataclass(frozen=True)
class VenueContext:
    """What a factory is given: the adapter's options (``venue.options`` of the config, the command line's venue
    flags over them), the service's WAL directory (an adapter's own files go beside it: `path`) and the
    gateway config."""

    options: Mapping[str, Any] = field(default_factory=dict)
    wal_dir: Path = Path(".")
    config: Any = None  # hft.gateway.config.GatewayConfig

    def path(self, suffix: str) -> Path:
        """A file of the adapter beside the WAL directory: ``<wal dir>-<suffix>`` (the loopback journal's
        ``gateway-live-venue.jsonl``)."""
        return self.wal_dir.parent / f"{self.wal_dir.name}-{suffix}"

    def only(self, adapter: str, *keys: str) -> None:
        """Refuse an option other than `keys` (one line naming it and the known ones), as the config refuses an
        unknown key."""
        for k in self.options:
            if k not in keys:
                raise ConfigError(f"key 'venue.options.{k}': expected an option of the {adapter} venue adapter "
                                  f"(one of {list(keys)}), was {self.options[k]!r}", key=f"venue.options.{k}")


VenueFactory = Callable[[VenueContext], Venue]

# name -> factory, or the "module:factory" of a built-in (imported when built: the loopback venue loads numba)
_REGISTRY: dict[str, VenueFactory | str] = {
    "loopback": "hft.live.venues:loopback",
    "paper": "hft.live.paper:paper",
    "fix": "hft.live.fix:fix",
}


def register(name: str, factory: VenueFactory | str) -> None:
    """Add an adapter by name (a name registered twice is an error); an installed package uses the entry-point
    group ``hft.venues`` instead."""
    if name in _REGISTRY:
        raise ConfigError(f"venue adapter {name!r}: expected a new name, it is registered already", key="venue")
    _REGISTRY[name] = factory


def adapters() -> list[str]:
    """The names of the registered adapters: the built-ins, then those of the entry-point group."""
    return [*_REGISTRY, *(n for n in entry_point_map(ENTRY_POINT_GROUP) if n not in _REGISTRY)]


def _factory(name: str) -> VenueFactory:
    if ":" in name:
        return load_object(name, what="factory", label="venue adapter", error=ConfigError, key="venue.adapter")[0]
    hit = _REGISTRY.get(name)
    if isinstance(hit, str):
        return load_object(hit, what="factory", label="venue adapter", error=ConfigError, key="venue.adapter")[0]
    if hit is not None:
        return hit
    eps = entry_point_map(ENTRY_POINT_GROUP)
    if name in eps:
        return load_entry_point(eps[name], label="venue adapter", error=ConfigError, key="venue.adapter")
    raise ConfigError(f"key 'venue.adapter': expected a venue adapter, one of {adapters()} (built in or in the entry-point group "
                      f"{ENTRY_POINT_GROUP!r}), module:factory or FILE.py:factory, was {name!r}", key="venue.adapter")


def venue_adapter(name: str, ctx: VenueContext) -> Venue:
    """The adapter `name` names (module docstring), built by its factory from `ctx`. Raises a one-line
    `ConfigError` for an unknown name, a factory that fails to load, or an object that is no `Venue`."""
    obj = _factory(name)(ctx)
    if not isinstance(obj, Venue):
        missing = [m for m in ("start", "send", "health", "close") if not callable(getattr(obj, m, None))]
        raise ConfigError(f"venue adapter {name!r}: expected a hft.live.venue.Venue, was {type(obj).__name__} "
                          f"(no {', '.join(missing)})", key="venue.adapter")
    return obj
