"""What alpha governance needs from whoever keeps its audit rows: the `AuditSink` protocol.

The experiment registry, the gate decisions, the promotion ledger, promotion and the canary take an `AuditSink`
instead of importing the WAL and the store; the composition root (the CLI, `hft demo`, notebooks, research code,
tests) passes the store adapter `hft.recorder.alpha_audit` builds: `AUDIT` (``$HFT_HOME``, the store opened per
call), ``AlphaAuditStore(home, store=...)`` (an open store) or ``held()`` (one store held open for a unit of
work). The rows themselves — what a trial or a verdict records, the SQL that reads them back — stay here, in
`hft.alpha.records`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["AuditSink", "on_sink", "require_sink"]


class AuditSink(Protocol):
    """Appends audit rows (write-ahead, then loaded into the store) and reads the store back."""

    def append(self, topic: str, records: list[dict[str, Any]]) -> list[str]:
        """Append `records` of `topic` (each with its ``record_id``) as one batch, all or nothing, every value
        checked against the topic's schema before anything is written; then load them into the store. Returns
        their record ids (32 hex), in order. Raises `hft.core.errors.StoreError`: unknown topic / field / type
        (nothing written), a refused write, a failed load."""
        ...

    def query(self, sql: str) -> list[dict[str, Any]]:
        """The rows of `sql` on the store, one dict per row, after every appended record is loaded (a record
        written but not yet loaded still counts)."""
        ...


def require_sink(sink: AuditSink | None, what: str) -> AuditSink:
    """`sink`, or a TypeError naming `what` needs it (the composition root passes one)."""
    if sink is None:
        raise TypeError(f"{what}: expected an audit sink (sink=hft.recorder.alpha_audit.AUDIT or one on an open "
                        "store), was None")
    return sink


def on_sink(given: Callable[..., Any] | None, default: Callable[..., Any], sink: AuditSink | None,
            what: str) -> Callable[..., Any]:
    """`given` (a writer or reader a caller passed, e.g. a test double), else `default` bound to `sink`
    (``default(..., sink=sink)``); a TypeError naming `what` when neither is there."""
    return given if given is not None else functools.partial(default, sink=require_sink(sink, what))
