"""Stable identifiers and content hashes (independent of PYTHONHASHSEED)."""

from __future__ import annotations

import hashlib
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


def hash_arrays(*arrays: object, digest_size: int = 16) -> str:
    """BLAKE2b over structured or plain numpy arrays, field by field in little-endian order.

    Hashing field by field (not the raw record bytes) ignores the padding bytes of aligned dtypes, which numpy
    leaves uninitialised, so equal data always gives an equal hash.
    """
    h = hashlib.blake2b(digest_size=digest_size)
    for arr in arrays:
        a = np.asarray(arr)
        names = a.dtype.names or (None,)
        h.update(f"{len(a)}:{','.join(str(n) for n in names)}".encode())
        for name in names:
            col = a if name is None else a[name]
            h.update(np.ascontiguousarray(col, dtype=col.dtype.newbyteorder("<")).data)  # its bytes, not copied
    return h.hexdigest()
