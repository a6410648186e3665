"""What the simulator needs from whoever records its runs: a small protocol, implemented by the store adapter.

The simulator's services (`hft.sim.replay.run_replay`, `hft.sim.sessions.run_days`, `hft.sim.sweep.run_sweep`)
take a `RunRecorder` (or None: record nothing) instead of importing the WAL and the store; the composition root
(the CLI, `hft demo`) passes the module `hft.recorder.sim_runs`, which appends to the WAL and loads the audit store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["RunRecorder"]


class RunRecorder(Protocol):
    """Records replays."""

    def record_run(self, out: Any, summary: dict[str, Any], symbol: str | Mapping[int, str], gateway: Any = None
                   ) -> dict[str, Any]:
        """Record one run (its summary, decisions, orders, fills); `symbol`: its instrument, or each order id's
        (several instruments); what was recorded (run id, counts)."""
        ...

    def record_summaries(self, summaries: list[dict[str, Any]], *, writer: str) -> dict[str, Any]:
        """Record one summary row per run (a sweep's cells) under the WAL writer `writer`."""
        ...
