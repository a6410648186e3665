"""`hft.live.tcp_scan`: the scan's dedup keys are `orders.intent_key`'s (BLAKE2b-64 computed in the kernel)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from hft.live import tcp_scan as S
from hft.live.client_index import ClientIndex
from hft.live.engine import _details_many
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


@pytest.mark.parametrize("ids", [
    ["a", "b-1", "x" * 64],
    ["é", "x\u2028", "a/b<>&", "a\x7fb", "ключ"],  # not escaped by the JSON encoder
    ['a"b', "c"], ["a\\b"], ["x\x1fy", "z"], ["tab\there"],  # escaped
    ["", "a"],  # an empty id
])
def test_client_ids_come_packed_as_the_strings_bytes(ids: list[str]) -> None:
    """`client_order_ids` gives the ids as a decode of each would, and their bytes packed: the WAL's details and
    the client-id index's keys made of the bytes are those made of the strings."""
    buf = np.frombuffer(b"".join(_new(i, c, "ACC1", "") for i, c in enumerate(ids)), np.uint8)
    out = np.empty((8, S.N_COLS), np.int64)
    k, _ = S.scan_new_frames(buf, 0, out)
    got, packed = S.client_order_ids(buf, out, k)
    assert got == ids and all(type(c) is str for c in got)
    assert packed.sep == b"".join(c.encode() + b"\0" for c in ids)
    assert packed.lens.tolist() == [len(c.encode()) for c in ids]
    escaped = any(ch in c for c in ids for ch in '"\\\x1f\t')
    assert packed.plain == (not escaped and "" not in ids)
    a, b = _details_many(ids, packed), _details_many(ids)
    assert a.data == b.data and a.lens.tolist() == b.lens.tolist()
    index = ClientIndex()
    acct = np.arange(len(ids), dtype=np.int64) % 2
    assert index._keys_of(acct, ids, packed).tolist() == index._keys_of(acct, ids).tolist()
    part = packed.rows(1, len(ids))
    assert part.sep == packed.sep[len(ids[0].encode()) + 1:] and part.lens.tolist() == packed.lens[1:].tolist()


def test_client_ids_with_a_nul_or_bad_utf8_are_not_packed() -> None:
    out = np.empty((8, S.N_COLS), np.int64)
    buf = np.frombuffer(_new(1, "a\0b", "ACC1", "") + _new(2, "c", "ACC1", ""), np.uint8)
    k, _ = S.scan_new_frames(buf, 0, out)
    assert S.client_order_ids(buf, out, k) is None  # the intake slices them one by one
    bad = bytearray(_new(1, "éé", "ACC1", ""))
    bad[5 + NEW_FIXED.size + 2] = 0x41  # the second byte of the first "é": not UTF-8 any more
    buf = np.frombuffer(bytes(bad), np.uint8)
    k, _ = S.scan_new_frames(buf, 0, out)
    with pytest.raises(UnicodeDecodeError):
        S.client_order_ids(buf, out, k)
