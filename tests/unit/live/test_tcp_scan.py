"""`hft.live.tcp_scan`: the scan's dedup keys are `orders.intent_key`'s (BLAKE2b-64 computed in the kernel)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from hft.live import tcp_scan as S
from hft.live.frames import NEW, NEW_FIXED, frame
from hft.live.orders import intent_key


@pytest.mark.parametrize("n", [0, 1, 55, 111, 112, 127, 128, 129, 200, 255, 256, 257, 383, 384, 385, 511])
def test_blake2b_64_is_hashlibs(n: int) -> None:
    rng = np.random.default_rng(n)
    block, work = np.empty(128, np.uint8), np.empty(40, np.uint64)
    for _ in range(5):
        msg = rng.integers(0, 256, n + 7, dtype=np.uint8)  # bytes past n must not count
        ref = int.from_bytes(hashlib.blake2b(msg[:n].tobytes(), digest_size=8).digest(), "little", signed=True)
        assert int(S.blake2b_64(msg, n, block, work)) == ref


def _new(corr: int, coid: str, account: str, idem: str) -> bytes:
    body = NEW_FIXED.pack(corr, 0, 1, 1, 1, 9990, 1)
    for s in (coid, account, "mm1", "AAPL", idem):
        raw = s.encode()
        body += bytes([len(raw)]) + raw
    return frame(NEW, body)


def test_the_scan_keys_frames_as_intent_key_does() -> None:
    rows = [("c1", "ACC1", ""), ("c2", "ACC1", "k-2"), ("c3", "ACC2", "ключ"), ("c" * 64, "A" * 200, "k" * 128),
            ("é", "ACC1", "x" * 255)]
    buf = b"".join(_new(i, *r) for i, r in enumerate(rows))
    out = np.empty((8, S.N_COLS), np.int64)
    k, end = S.scan_new_frames(np.frombuffer(buf, np.uint8), 0, out)
    assert (k, end) == (len(rows), len(buf))
    want = [intent_key(a, idem or coid) for coid, a, idem in rows]
    assert out[:k, S.KEY].tolist() == want
    assert out[:k, S.KEY_ASCII].tolist() == [1, 1, 0, 1, 1]
