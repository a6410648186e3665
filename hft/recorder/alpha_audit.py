"""The alpha audit WAL and the store as alpha governance's `hft.alpha.records.sink.AuditSink`.

Rows are appended to the write-ahead log ``$HFT_HOME/wal/alpha-audit`` first (all or nothing, every value
checked against its topic's schema in `hft.recorder.topics` before anything is written), then that WAL is loaded
into the store, so a decision that was taken is never lost even when the store is unavailable at that moment (the
next load or read picks it up).

What the composition root passes:

* `AUDIT`: ``$HFT_HOME`` of the environment, the store opened for each call and closed after (the embedded
  store admits one process at a time: nothing is held between calls). A module-level instance: it pickles.
* ``AlphaAuditStore(home, store=store)``: another home and / or an already open store (not closed).
* ``held(home)``: the store opened at the first call and held open until the block ends, for a unit of work
  (`hft alpha validate` writes trials, reads the family's statistics and writes its verdicts on one store, and
  holds the embedded store's lock only from its first record on).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hft.core.errors import StoreError
from hft.core.paths import wal_root
from hft.recorder.loader import WALLoader
from hft.recorder.topics import get_topic, parse_record_id, record_id_hex
from hft.recorder.wal_first import WALConfig, open_checked_writer

__all__ = ["AUDIT", "WAL_NAME", "AlphaAuditStore", "drain_audit_wal", "held", "write_records"]

WAL_NAME = "alpha-audit"  # the WAL directory of alpha governance audit rows ($HFT_HOME/wal/alpha-audit)


def write_records(topic: str, records: list[dict[str, Any]], *, home: Path | None = None) -> None:
    """Append `records` (one batch, all or nothing) to the alpha audit WAL; StoreError if refused."""
    with open_checked_writer(WAL_NAME, home=home, config=WALConfig(fsync="batch", lock_wait_s=30.0),
                             what=f"{topic} audit records") as w:
        if not w.write_many(topic, records):
            raise StoreError(f"{topic}: the WAL refused {len(records)} audit record(s) (disk pressure); "
                             "expected them written, nothing was recorded",
                             hint="free disk space under $HFT_HOME/wal and rerun", topic=topic)


def drain_audit_wal(store: Any, home: Path | None = None) -> None:
    """Load whatever the alpha audit WAL still holds into `store` (a no-op when it is fully loaded)."""
    d = wal_root(home) / WAL_NAME
    if (d / "manifest.json").exists():
        WALLoader(store, [d]).load()


class AlphaAuditStore:
    """`AuditSink` on the alpha audit WAL and the store (module docstring).

    Args:
        home: ``$HFT_HOME`` to use (its ``wal/`` and, for the embedded engine, ``clickhouse/``); default the
            environment's, read at each call.
        store: an already open `hft.store.store.Store` to use instead of opening one per call (it is not
            closed). chDB admits one data directory per process, so a process that holds the store open must
            pass it here.
        wait_s: how long to wait for another process holding the embedded store.
        hold: keep the store opened at the first call open until `close` (`held` does both).
    """

    def __init__(self, home: Path | None = None, *, store: Any = None, wait_s: float = 30.0,
                 hold: bool = False) -> None:
        self.home = Path(home) if home is not None else None
        self.store = store
        self.wait_s = wait_s
        self._hold = hold
        self._owned = False  # the store is ours to close (opened under `hold`)

    def __repr__(self) -> str:
        home = str(self.home) if self.home is not None else "$HFT_HOME"
        return f"AlphaAuditStore(home={home!r}, store={'open' if self.store is not None else 'per call'})"

    @contextlib.contextmanager
    def _open(self) -> Iterator[Any]:
        if self.store is not None:
            yield self.store
            return
        # lazy: hft.store.store opens chDB (LAZY_DEPENDENCIES); a sink that is only handed around loads nothing
        from hft.store.store import open_store

        if self._hold:
            self.store, self._owned = open_store(home=self.home, wait_s=self.wait_s), True
            yield self.store
            return
        with open_store(home=self.home, wait_s=self.wait_s) as store:
            yield store

    def append(self, topic: str, records: list[dict[str, Any]]) -> list[str]:
        """Check `records` against `topic`'s schema, append them to the WAL (all or nothing), load the store;
        their record ids (32 hex). See `hft.alpha.records.sink.AuditSink.append`."""
        t = get_topic(topic)
        ids: list[str] = []
        for rec in records:
            if not isinstance(rec, dict):
                raise StoreError(f"{t.name}: expected a dict per row, was {type(rec).__name__}", topic=t.name)
            t.check_record(rec)
            ids.append(record_id_hex(parse_record_id(rec.get("record_id"), topic=t.name)))
        if not records:
            return []
        t.encode_records(records, [int(i, 16) for i in ids])  # every value checked before anything reaches the WAL
        write_records(t.name, records, home=self.home)
        with self._open() as store:
            drain_audit_wal(store, self.home)
        return ids

    def close(self) -> None:
        """Close the store this sink opened under `hold` (an injected store is left open)."""
        if self._owned and self.store is not None:
            self.store.close()
            self.store, self._owned = None, False

    def query(self, sql: str) -> list[dict[str, Any]]:
        """The rows of `sql`, the alpha audit WAL loaded first. See `hft.alpha.records.sink.AuditSink.query`."""
        with self._open() as store:
            drain_audit_wal(store, self.home)
            return store.query(sql).dicts()


@contextlib.contextmanager
def held(home: Path | None = None, *, wait_s: float = 30.0) -> Iterator[AlphaAuditStore]:
    """An `AlphaAuditStore` that opens the store at its first call and holds it open until the block ends (one
    unit of work); nothing is opened when it is not used."""
    sink = AlphaAuditStore(home, wait_s=wait_s, hold=True)
    try:
        yield sink
    finally:
        sink.close()


AUDIT = AlphaAuditStore()
