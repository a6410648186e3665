"""Idempotency store (step 1 and step 6): a bounded FIFO/TTL table of int64 keys inside the arena.

Keys: ints in int64 range are used as they are (the typed fast path and the batch path use int keys);
strings are hashed with BLAKE2b-64 (stable across processes and PYTHONHASHSEED; about 1 µs per key, so
latency-sensitive producers should send int keys). ``INT64_MIN`` is reserved (no key).

Semantics: an entry lives ``ttl`` ns after the decision that created it (measured on the injected clock).
At capacity the *oldest* entry is evicted (insertion order: a duplicate hit does not extend an entry's life,
so a retry storm cannot keep a key alive forever). A hit returns the original decision and dispatches
nothing; each entry also holds the fingerprint of the request it decided (`kernels.decide._fingerprint`: kind,
target, names, side, price, qty, type, tif), and a hit whose intent differs is decided ``KEY_REUSED`` instead
(entries stored through `commit` / `load` hold none and are not checked). Lookup-or-reserve and commit are fused in the numba core (`kernels._process`), so there is no
window in which a key is reserved but not committed.

Persistence: `persist(path)` writes the live entries (and the next order id / decision seq) as JSON,
atomically, off the hot path (on clean shutdown); `load(path)` re-inserts the entries still alive at load
time and moves the order-id counter past every id issued before the restart.

Cold restart (no file, or a crash before persist): the dedup window is empty, so an intent retried within
its TTL after the restart is treated as new and dispatched again (replay risk), and order ids restart from
``order_id_start``. Mitigations: persist on shutdown and periodically; give the venue a client order id
derived from the idempotency key so the venue rejects the duplicate; start a live process with an
``order_id_start`` above any id the venue may still hold.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from hft.core.errors import GatewayError
from hft.core.fileio import atomic_write_text
from hft.core.orders import NO_KEY
from hft.gateway import kernels as K

_I64_MAX = (1 << 63) - 1
FORMAT = "hft.gateway.dedup/1"


def dedup_key(key: Any) -> int:
    """The int64 form of an idempotency key; raises TypeError / ValueError for unusable keys."""
    if type(key) is int:
        if -_I64_MAX <= key <= _I64_MAX:
            return key
        raise ValueError(f"expected an int64 idempotency key, was {key}")
    if isinstance(key, np.integer):
        return dedup_key(int(key))
    if isinstance(key, str) and key:
        v = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little", signed=True)
        return v if v != NO_KEY else NO_KEY + 1
    raise TypeError(f"expected an int or non-empty str idempotency key, was {type(key).__name__}")


class DedupEntry(NamedTuple):
    reason: int
    order_id: int
    ts: int
    seq: int


class DedupStore:
    """Python façade over the dedup table of an arena (the service's hot path calls the kernel directly)."""

    def __init__(self, buf: np.ndarray) -> None:
        self.buf = buf
        self._st = K.views(buf)

    @property
    def ttl_ns(self) -> int:
        return int(self._st.cfg[K.C_TTL_NS])

    @property
    def capacity(self) -> int:
        return int(self._st.cfg[K.C_DD_CAP])

    def __len__(self) -> int:
        return int(self._st.ctr[K.K_DD_COUNT])

    def check(self, key: Any, now: int) -> DedupEntry | None:
        """The live entry for `key` (after purging expired ones), or None."""
        found, reason, oid, ts, seq = K.dd_lookup(self.buf, dedup_key(key), now)
        return DedupEntry(int(reason), int(oid), int(ts), int(seq)) if found else None

    def commit(self, key: Any, now: int, reason: int, order_id: int = 0, seq: int = 0) -> None:
        """Store a decision under `key` (overwrites)."""
        K.dd_store(self.buf, dedup_key(key), now, min(now + self.ttl_ns, K.I64_MAX), reason, order_id, seq)

    def entries(self) -> np.ndarray:
        """Live entries in FIFO order: (n, 8) int64 rows key, expiry, ts, reason, order_id, seq."""
        out = np.zeros((max(len(self), 1), K.N_D), dtype=np.int64)
        n = K.dd_export(self.buf, out)
        return out[:n]

    def persist(self, path: str | Path) -> int:
        """Write the live entries and id counters to `path` (JSON, atomic). Returns the entry count."""
        e = self.entries()
        doc = {
            "format": FORMAT,
            "ttl_ns": self.ttl_ns,
            "next_order_id": int(self._st.ctr[K.K_NEXT_OID]),
            "next_seq": int(self._st.ctr[K.K_SEQ]),
            "entries": e[:, :6].tolist(),
        }
        atomic_write_text(path, json.dumps(doc, separators=(",", ":")))
        return len(e)

    def load(self, path: str | Path, now: int) -> int:
        """Re-insert entries of `path` still alive at `now`; returns how many. A missing file loads nothing."""
        path = Path(path)
        if not path.is_file():
            return 0
        try:
            doc = json.loads(path.read_text())
            if doc.get("format") != FORMAT:
                raise ValueError(f"format {doc.get('format')!r}")
            rows = doc["entries"]
            nxt = int(doc["next_order_id"])
            seq = int(doc["next_seq"])
        except (ValueError, KeyError, TypeError) as exc:
            raise GatewayError(f"{path}: expected a {FORMAT} dedup file, {exc}", file=str(path)) from None
        n = 0
        for key, expiry, ts, reason, oid, s in rows:
            if expiry > now:
                K.dd_store(self.buf, int(key), int(ts), int(expiry), int(reason), int(oid), int(s))
                n += 1
        ctr = self._st.ctr
        ctr[K.K_NEXT_OID] = max(int(ctr[K.K_NEXT_OID]), nxt)
        ctr[K.K_SEQ] = max(int(ctr[K.K_SEQ]), seq)
        return n
