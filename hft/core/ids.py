"""Stable identifiers and content hashes (independent of PYTHONHASHSEED)."""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stable_id(*parts: object) -> str:
    """A deterministic 128-bit hex id from the repr of its parts (e.g. a record id)."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(repr(p).encode())
        h.update(b"\x1f")
    return h.hexdigest()


def hash_stream(*arrays: object) -> np.ndarray:
    """The bytes `hash_arrays` hashes, as one contiguous uint8 array: per array a header (its length and field
    names), then each field's column in little-endian order (a plain array: its values).

    Hashing field by field (not the raw record bytes) ignores the padding bytes of aligned dtypes, which numpy
    leaves uninitialised, so equal data always gives an equal hash."""
    parts: list[tuple[bytes, list[tuple[np.ndarray, np.dtype]]]] = []
    total = 0
    for arr in arrays:
        a = np.asarray(arr)
        names = a.dtype.names or (None,)
        head = f"{len(a)}:{','.join(str(n) for n in names)}".encode()
        cols = []
        total += len(head)
        for name in names:
            col = a if name is None else a[name]
            le = col.dtype.newbyteorder("<")
            cols.append((col, le))
            total += col.size * le.itemsize
        parts.append((head, cols))
    out = np.empty(total, dtype=np.uint8)
    pos = 0
    for head, cols in parts:
        out[pos: pos + len(head)] = np.frombuffer(head, dtype=np.uint8)
        pos += len(head)
        for col, le in cols:
            nb = col.size * le.itemsize
            if le.fields is None and le.subdtype is None and not le.hasobject:  # a plain column: cast in place
                out[pos: pos + nb].view(le).reshape(col.shape)[...] = col
            else:  # a nested record field: its contiguous bytes, as `np.ascontiguousarray` lays them out
                out[pos: pos + nb] = np.frombuffer(np.ascontiguousarray(col, dtype=le), dtype=np.uint8)
            pos += nb
    return out


def hash_arrays(*arrays: object, digest_size: int = 16) -> str:
    """BLAKE2b over structured or plain numpy arrays, field by field in little-endian order (`hash_stream`)."""
    return hashlib.blake2b(hash_stream(*arrays), digest_size=digest_size).hexdigest()


def hash_arrays_started(*arrays: object, digest_size: int = 16) -> Callable[[], str]:
    """`hash_arrays(*arrays)`, started on a helper thread while the caller goes on; the returned function returns
    the hash. The bytes are copied out (`hash_stream`) before this returns, so the caller may change the arrays
    afterwards. hashlib releases the GIL while it hashes a large buffer, so the caller's work runs beside it (a
    run's hash, ~2 ms for a LOBSTER day's logs, beside the rest of its results). Never slower than hashing at the
    end, give or take a wake-up: when the caller asks before the helper has begun, the caller hashes itself."""
    stream = hash_stream(*arrays)
    task = _HashTask(stream, digest_size)
    if stream.nbytes >= _THREAD_MIN_BYTES:
        _helper().put(task)
    return task.result


class _HashTask:
    """One hash for `_helper`: whoever claims it first (the helper, or the caller asking for the result) runs it."""

    def __init__(self, stream: np.ndarray, digest_size: int) -> None:
        self._stream, self._digest_size = stream, digest_size
        self._claim = threading.Lock()
        self._done = threading.Event()
        self._value: str | BaseException = ""

    def run_if_unclaimed(self) -> bool:
        if not self._claim.acquire(blocking=False):
            return False
        try:
            self._value = hashlib.blake2b(self._stream, digest_size=self._digest_size).hexdigest()
        except BaseException as e:  # noqa: BLE001 (handed to the caller)
            self._value = e
        self._stream = None  # type: ignore[assignment]
        self._done.set()
        return True

    def result(self) -> str:
        if not self.run_if_unclaimed():
            self._done.wait()
        if isinstance(self._value, BaseException):
            raise self._value
        return self._value


_THREAD_MIN_BYTES = 256 << 10  # below this (~0.3 ms of hashing) the caller hashes when it asks
_HELPER: list[queue.SimpleQueue] = []  # the helper thread's queue (one thread per process, started on first use)


def _helper() -> queue.SimpleQueue:
    if not _HELPER:
        q: queue.SimpleQueue = queue.SimpleQueue()

        def loop() -> None:
            while True:
                q.get().run_if_unclaimed()

        threading.Thread(target=loop, name="hash_arrays", daemon=True).start()
        _HELPER.append(q)
    return _HELPER[0]


os.register_at_fork(after_in_child=_HELPER.clear)  # a forked child has no helper thread: it starts its own
