"""An independent reference replay: one instrument on L2 data, written from docs/sim.md alone.

The engines of `hft replay` (`hft.sim.engine_nb.NbEngine` and `hft.sim.engine.Engine`) share their venue
kernels, latency code and much of their loop, so an equality test between them cannot catch a bug in what they
share. This package is the oracle: its own event loop (`loop`), venue (`venue`), accounting (`accounting`),
timing (`timing`), local book (`book`) and strategy context (`context`), plain Python written for reading, and it
imports none of the engines' modules (an import-linter contract in pyproject.toml forbids it). What it shares is
what a replay is made of, not how one runs: the gateway (the system under test: every intent goes through the
real `GatewayService`), the strategies and their record types (`hft.sim.strategy`), the event and order records
(`hft.core`) and the run's log dtypes (`hft.sim.run_records`).

Scope: one instrument, L2 data (level sets, snapshots, clears, trades), every queue model and exchange mode,
constant / random / empirical latencies, feed from the data or a latency. Not covered: L3 data, several
instruments, several days, strategy kernels in the loop (a kernel strategy's Python ``on_book`` runs here).

``tests/unit/sim/test_reference_engine.py`` runs it against the numba engine.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hft.sim.reference.accounting import Account, Fees, fee_of, fill_value
from hft.sim.reference.loop import ReferenceConfig, ReferenceEngine, ReferenceOutput
from hft.sim.reference.timing import Latency
from hft.sim.reference.venue import L2ReferenceVenue, VenueReport

__all__ = ["Account", "Fees", "L2ReferenceVenue", "Latency", "ReferenceConfig", "ReferenceEngine",
           "ReferenceOutput", "VenueReport", "fee_of", "fill_value", "from_replay_config"]


def from_replay_config(config: Any, money: int, strategy: str, account: str = "SIM"
                       ) -> tuple[ReferenceConfig, L2ReferenceVenue]:
    """The reference's config and venue for a replay config (`hft.sim.replay.ReplayConfig`, read by its
    attributes) with money factor `money` (docs/sim.md, "Latency draws": the seeds of the latency series)."""

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
    return cfg, L2ReferenceVenue(config.queue_model, config.exchange, fees, money)


def _hundredths(bps: Any) -> int:
    """Basis points as written in a config (to 0.01 bp) in hundredths of a basis point."""
    return int(Decimal(str(bps)) * 100)
