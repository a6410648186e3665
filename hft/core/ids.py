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
