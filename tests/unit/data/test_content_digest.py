"""The event files' content digest (`hft.data._eventcheck`: `digest_words`, `digest_bytes`, `content_hash`) equals a
plain-Python implementation of the same function (integers masked to 64 bits), sharing no code with the kernels:
any CPU target whose compiled digest differs (a miscompile, undefined behaviour) fails here, at every length of
the 4-lane loop and its tail."""

from __future__ import annotations

import numpy as np
import pytest

from hft.core.dtypes import EVENT_DTYPE, EVENT_FIELDS
from hft.data._eventcheck import content_hash, digest_bytes, digest_words

M64 = (1 << 64) - 1
P1, P2, P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
SEEDS = [0, 1, 7, 1 << 63, M64, 0x0123456789ABCDEF]


def rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & M64


def py_digest_words(words: list[int], seed: int) -> int:
    """xxHash64's round over 4 lanes, then the tail one word at a time and the final mix (see the kernel)."""
    a, b, c, d = (seed + P1) & M64, (seed + P2) & M64, seed ^ P3, (seed - P1) & M64
    n, i = len(words), 0
    while i + 4 <= n:
        a = rotl((a + words[i] * P2) & M64, 31) * P1 & M64
        b = rotl((b + words[i + 1] * P2) & M64, 31) * P1 & M64
        c = rotl((c + words[i + 2] * P2) & M64, 31) * P1 & M64
        d = rotl((d + words[i + 3] * P2) & M64, 31) * P1 & M64
        i += 4
    h = (rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18) + n) & M64
    while i < n:
        h = (rotl(h ^ (rotl(words[i] * P2 & M64, 31) * P1 & M64), 27) * P1 + P3) & M64
        i += 1
    h ^= h >> 33
    h = h * P2 & M64
    h ^= h >> 29
    h = h * P3 & M64
    return h ^ (h >> 32)


def py_digest_bytes(data: bytes, seed: int) -> int:
    h = (seed + P3 + len(data)) & M64
    for x in data:
        h = rotl(h ^ (x * P1 & M64), 11) * P2 & M64
    h ^= h >> 29
    h = h * P3 & M64
    return h ^ (h >> 32)


def py_content_hash(events: np.ndarray) -> str:
    h = 0
    for name in EVENT_FIELDS:
        raw = np.ascontiguousarray(events[name]).tobytes()
        if events.dtype[name].itemsize == 8:
            h = py_digest_words([int.from_bytes(raw[k: k + 8], "little") for k in range(0, len(raw), 8)], h)
        else:
            h = py_digest_bytes(raw, h)
    return f"xh64:{h:016x}"


def _words(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random words with the extremes among them (0, 1, 2**63 - 1, 2**63, 2**64 - 1)."""
    w = rng.integers(0, M64, size=n, dtype=np.uint64, endpoint=True)
    edges = np.array([0, 1, (1 << 63) - 1, 1 << 63, M64], np.uint64)
    w[: min(n, 5)] = edges[: min(n, 5)]
    return w


@pytest.mark.parametrize("n", [*range(10), 4093, 4096])
def test_digest_words_equals_the_python_digest(n: int) -> None:
    rng = np.random.default_rng(n)
    w = _words(rng, n)
    for seed in SEEDS:
        assert int(digest_words(w, np.uint64(seed))) == py_digest_words([int(x) for x in w], seed), (n, seed)


@pytest.mark.parametrize("n", [*range(10), 3001])
def test_digest_bytes_equals_the_python_digest(n: int) -> None:
    rng = np.random.default_rng(100 + n)
    b = rng.integers(0, 255, size=n, dtype=np.uint8, endpoint=True)
    b[: min(n, 2)] = [0, 255][: min(n, 2)]
    for seed in SEEDS:
        assert int(digest_bytes(b, np.uint64(seed))) == py_digest_bytes(b.tobytes(), seed), (n, seed)


def test_the_digests_known_answers() -> None:
    """Pinned values (the Python digest's too): the function itself never changes unnoticed."""
    w = np.arange(1, 10, dtype=np.uint64)
    assert py_digest_words([int(x) for x in w], 0) == int(digest_words(w, np.uint64(0))) == 0xADDA0D07F7B60FB5
    b = np.arange(1, 10, dtype=np.uint8)
    assert py_digest_bytes(b.tobytes(), 0) == int(digest_bytes(b, np.uint64(0))) == 0x82234C537A40C733


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 2999])
def test_content_hash_equals_the_python_digest_of_every_column(n: int) -> None:
    rng = np.random.default_rng(7 + n)
    ev = np.zeros(n, EVENT_DTYPE)
    for name in EVENT_FIELDS:
        info = np.iinfo(ev.dtype[name])
        ev[name] = rng.integers(info.min, info.max, size=n, endpoint=True, dtype=ev.dtype[name])
    if n:
        ev["price"][0], ev["qty"][-1] = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    assert content_hash(ev) == py_content_hash(ev)
    assert content_hash({name: ev[name] for name in EVENT_FIELDS}) == py_content_hash(ev)
