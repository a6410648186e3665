"""Stable identifiers and content hashes (independent of PYTHONHASHSEED), and the run hash's schemes.

The run hash (`run_hash`) fingerprints what a replay did: its decision, order and fill logs (and, over several
instruments, the leg of each), framed field by field as `hash_arrays` frames them. Its scheme names the digest:
``blake3-128`` (BLAKE3, 128 bits; the default) or ``blake2b-128`` (BLAKE2b, 128 bits: every run hash recorded
before BLAKE3 replaced it, and the goldens that pin those values). Both are cryptographic; BLAKE3 hashes a LOBSTER
day's ~1.75 MB of logs in ~0.7 ms where BLAKE2b took ~3 ms (a tenth of the replay). `run_hash_scheme` switches
the scheme for the code it encloses (a golden that pins a BLAKE2b value is checked under it, so an unchanged run
still shows its recorded hash).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import blake3
import numpy as np

from hft.core.errors import ConfigError

RUN_HASH_BLAKE3 = "blake3-128"
RUN_HASH_BLAKE2B = "blake2b-128"
RUN_HASH_SCHEMES = (RUN_HASH_BLAKE3, RUN_HASH_BLAKE2B)
RUN_HASH_SCHEME = RUN_HASH_BLAKE3  # what a run records
RUN_HASH_LEGACY = RUN_HASH_BLAKE2B  # what a recorded hash with no scheme beside it is (written before schemes)
_scheme: ContextVar[str] = ContextVar("hft_run_hash_scheme", default=RUN_HASH_SCHEME)


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


def hash_arrays(*arrays: object, digest_size: int = 16) -> str:
    """BLAKE2b over structured or plain numpy arrays, field by field in little-endian order.

    Hashing field by field (not the raw record bytes) ignores the padding bytes of aligned dtypes, which numpy
    leaves uninitialised, so equal data always gives an equal hash.
    """
    h = hashlib.blake2b(digest_size=digest_size)
    _feed_fields(h, arrays)
    return h.hexdigest()


def _feed_fields(h: Any, arrays: tuple[object, ...]) -> None:
    """The framing both `hash_arrays` and `run_hash` hash: per array its length and field names, then each field's
    column in little-endian order."""
    for arr in arrays:
        a = np.asarray(arr)
        names = a.dtype.names or (None,)
        h.update(f"{len(a)}:{','.join(str(n) for n in names)}".encode())
        if names[0] is not None and a.ndim == 1 and len(a) > 0 and a.flags.c_contiguous:
            for run in _field_runs(a.dtype):  # several columns in one copy (the same bytes, in the same order)
                if isinstance(run, str):
                    _feed_column(h, a[run])
                else:
                    size, first, count = run
                    cols = a.view(f"<u{size}").reshape(len(a), a.dtype.itemsize // size)[:, first: first + count]
                    h.update(np.ascontiguousarray(cols.T).reshape(-1).view(np.uint8))
            continue
        for name in names:
            _feed_column(h, a if name is None else a[name])


def _feed_column(h: Any, col: np.ndarray) -> None:
    c = np.ascontiguousarray(col, dtype=col.dtype.newbyteorder("<"))
    h.update(c.reshape(-1).view(np.uint8))  # its bytes (a view: not copied again)


_RUNS: dict[np.dtype, list[str | tuple[int, int, int]]] = {}


def _field_runs(dt: np.dtype) -> list[str | tuple[int, int, int]]:
    """A structured dtype's fields in order, grouped: a run of adjacent little-endian scalar fields of one size,
    each at the offset after the last, is ``(size, first, count)`` (their columns are the transpose of those
    ``size``-byte words of the records, `first` counted in words); any other field is its name."""
    runs = _RUNS.get(dt)
    if runs is not None:
        return runs
    runs = []
    little = ("<", "|") if sys.byteorder == "big" else ("<", "|", "=")
    for name in dt.names:
        f, off = dt.fields[name][:2]
        size = f.itemsize
        if (f.kind not in "biuf" or f.byteorder not in little or f.shape or size not in (1, 2, 4, 8)
                or off % size or dt.itemsize % size):
            runs.append(name)
            continue
        last = runs[-1] if runs else None
        if isinstance(last, tuple) and last[0] == size and (last[1] + last[2]) * size == off:
            runs[-1] = (size, last[1], last[2] + 1)
        else:
            runs.append((size, off // size, 1))
    _RUNS[dt] = runs
    return runs


def run_hash(*arrays: object) -> str:
    """The run hash of a run's arrays under the current scheme (module docstring; `run_hash_scheme`): 32 hex
    digits."""
    scheme = _scheme.get()
    if scheme == RUN_HASH_BLAKE2B:
        return hash_arrays(*arrays)
    h = blake3.blake3()
    _feed_fields(h, arrays)
    return h.hexdigest(length=16)


def current_run_hash_scheme() -> str:
    """The scheme `run_hash` uses here (``blake3-128`` unless a `run_hash_scheme` block says otherwise)."""
    return _scheme.get()


@contextmanager
def run_hash_scheme(scheme: str) -> Iterator[None]:
    """Compute run hashes under `scheme` (one of `RUN_HASH_SCHEMES`) inside the block, in this thread or task."""
    if scheme not in RUN_HASH_SCHEMES:
        raise ConfigError(f"run hash scheme: expected one of {list(RUN_HASH_SCHEMES)}, was {scheme!r}",
                          key="run_hash_scheme")
    token = _scheme.set(scheme)
    try:
        yield
    finally:
        _scheme.reset(token)
