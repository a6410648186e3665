"""The deterministic event-replay simulator (engine, simulated venue, latency, fees, strategies).

The public API is the names below, imported from ``hft.sim`` (``from hft.sim import Strategy, read_run``), and the
numba strategy kernel API ``hft.sim.kernel_api``: they keep these paths when the modules behind them move
(docs/api.md).
"""

from __future__ import annotations

from hft.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "Strategy": "hft.sim.strategy",
    "Context": "hft.sim.strategy",
    "OrderState": "hft.sim.strategy",
    "OrderUpdate": "hft.sim.strategy",
    "Trade": "hft.sim.strategy",
    "Fill": "hft.sim.strategy",
    "ConditionalStrategy": "hft.sim.conditional",
    "ConditionalOrders": "hft.sim.conditional",
    "EmulatedOrder": "hft.sim.conditional",
    "KernelStrategy": "hft.sim.kernel_api",
    "ReplayConfig": "hft.sim.replay",
    "load_replay_config": "hft.sim.replay",
    "parse_replay_config": "hft.sim.replay",
    "replay_result": "hft.sim.replay",
    "run_replay": "hft.sim.replay",
    "RunResult": "hft.sim.run_reader",
    "read_run": "hft.sim.run_reader",
    "diff_runs": "hft.sim.golden",
})
