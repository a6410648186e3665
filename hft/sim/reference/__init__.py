"""An independent reference replay: one or several instruments, one day or several, on L2 or L3 data, written
from docs/sim.md alone.

The engines of `hft replay` (`hft.sim.engine_nb.NbEngine` and `hft.sim.engine.Engine`) share their venue
kernels, latency code and much of their loop, so an equality test between them cannot catch a bug in what they
share. This package is the oracle: its own event loop (`loop`), venues (`venue`: L2, `venue_l3`: L3 FIFO),
accounting (`accounting`), timing (`timing`), local book (`book`) and strategy context (`context`), plain Python
written for reading, and it imports none of the engines' modules (an import-linter contract in pyproject.toml
forbids it). What it shares is what a replay is made of, not how one runs: the gateway (the system under test:
every intent goes through the real `GatewayService`), the strategies and their record types
(`hft.sim.strategy`), the event and order records (`hft.core`) and the run's log dtypes (`hft.sim.run_records`).

Scope: one instrument, or several on one clock (`ReferenceEngine.of_legs`, `from_legs`: each leg its own venue,
local view and accounting, one gateway; docs/sim.md, "Several instruments" and "The replay, precisely"); one day,
or several as sessions (one engine per day on the one gateway: `continue_from` the previous day's engine, then
`end_session` after its run); L2 data (level sets, snapshots, clears, trades) with every queue model; L3 data
(market-by-order: adds, partial cancels, deletes, visible and hidden executions, trades, halts, clears) with our
orders in the FIFO queues, the LOBSTER pre-open book and the reference resync of the venue and of the local view;
every exchange mode; constant / random / empirical latencies; feed from the data or a latency. Not covered:
strategy kernels in the loop (a kernel strategy's Python ``on_book`` runs here, `hedged_mm`'s included; a kernel
with the full context reads this engine's own state through `ReferenceContext`: depth from its local book, queue
ahead from its venue, prints and account its own).

``tests/unit/sim/test_reference_engine.py``, ``test_reference_l3.py`` and ``test_reference_legs.py`` run it
against the numba engine, ``test_kernel_context.py`` with kernels (the full context's and `mm`'s) on LOBSTER.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from hft.sim.reference.accounting import Account, Fees, fee_of, fill_value
from hft.sim.reference.loop import (
    ReferenceConfig,
    ReferenceEngine,
    ReferenceLeg,
    ReferenceLegResult,
    ReferenceOutput,
)
from hft.sim.reference.timing import Latency
from hft.sim.reference.venue import L2ReferenceVenue, VenueReport
from hft.sim.reference.venue_l3 import L3ReferenceVenue, preopen_levels

__all__ = ["Account", "Fees", "L2ReferenceVenue", "L3ReferenceVenue", "Latency", "ReferenceConfig",
           "ReferenceEngine", "ReferenceLeg", "ReferenceLegResult", "ReferenceOutput", "VenueReport", "fee_of",
           "fill_value", "from_legs", "from_market_data", "from_replay_config", "preopen_levels"]


def from_replay_config(config: Any, money: int, strategy: str, account: str = "SIM", *, book_level: str = "L2",
                       reference: Any = None) -> tuple[ReferenceConfig, L2ReferenceVenue | L3ReferenceVenue]:
    """The reference's config and venue for a replay config (`hft.sim.replay.ReplayConfig`, read by its
    attributes) with money factor `money` (docs/sim.md, "Latency draws": the seeds of the latency series).
    `book_level` "L3": an `L3ReferenceVenue`, resynced on the LOBSTER `reference` rows when given and the config's
    ``l3_resync`` is on."""

    def series(base: int, salt: int, emp: Any = None, jitter: int | None = None) -> Latency:
        if emp is not None:
            return Latency.empirical(emp.model.times.tolist(), emp.model.values.tolist())
        jitter = config.jitter_ns if jitter is None else jitter
        return Latency.random(base, jitter, config.seed * 1_000_003 + salt) if jitter else Latency.constant(base)

    feed = None if config.feed == "data" else series(int(config.feed), 3, jitter=config.feed_jitter_ns)
    cfg = ReferenceConfig(entry=series(config.entry_ns, 1, config.entry_empirical),
                          response=series(config.response_ns, 2, config.response_empirical), feed=feed,
                          sample_ns=config.sample_ns, account=account, strategy=strategy)
    fees = Fees(_hundredths(config.maker_bps), _hundredths(config.taker_bps), int(config.per_lot))
    if book_level == "L3":
        rows = reference.tolist() if reference is not None and config.l3_resync else None
        return cfg, L3ReferenceVenue(config.exchange, fees, money, rows)
    return cfg, L2ReferenceVenue(config.queue_model, config.exchange, fees, money)


def from_market_data(md: Any, strategy: Any, strategy_name: str, config: Any, gateway_factory: Any, money: int,
                     account: str = "SIM") -> ReferenceEngine:
    """The reference engine of one opened stream (`hft.data.sources.MarketData`, read by its attributes) under a
    replay config, as `hft replay` sets a replay up: the venue by the instrument's book level; on LOBSTER data the
    pre-open book (reference row 0 with message 0 undone) seeds the venue and the local book, and with
    ``l3_resync`` the reference rows resync the venue and set the local book at each message."""
    return from_legs([md], strategy, strategy_name, [config], gateway_factory, [money], account)


def from_legs(mds: Sequence[Any], strategy: Any, strategy_name: str, configs: Sequence[Any], gateway_factory: Any,
              moneys: Sequence[int], account: str = "SIM") -> ReferenceEngine:
    """The reference engine of several opened streams on one clock (leg k: `mds[k]` under `configs[k]` with money
    factor `moneys[k]`, each leg set up as `from_market_data` sets one up); the run's latencies, sampling and names
    are leg 0's config's. One stream is the single-instrument run."""
    legs: list[ReferenceLeg] = []
    cfg = None
    for md, config, money in zip(mds, configs, moneys, strict=True):
        lobster = getattr(md, "lobster", None)
        rows = lobster.reference if lobster is not None else None
        leg_cfg, venue = from_replay_config(config, money, strategy_name, account,
                                            book_level=md.instrument.book_level, reference=rows)
        cfg = cfg or leg_cfg
        preopen: list[tuple[int, int, int]] = []
        if isinstance(venue, L3ReferenceVenue) and rows is not None and len(md.events):
            e = md.events[0]
            preopen = preopen_levels(rows[0].tolist(),
                                     (int(e["kind"]), int(e["side"]), int(e["price"]), int(e["qty"])))
        legs.append(ReferenceLeg(md.events, venue, md.instrument.symbol, preopen,
                                 venue.reference if isinstance(venue, L3ReferenceVenue) else None))
    return ReferenceEngine.of_legs(legs, gateway_factory, strategy, cfg)


def _hundredths(bps: Any) -> int:
    """Basis points as written in a config (to 0.01 bp) in hundredths of a basis point."""
    return int(Decimal(str(bps)) * 100)
