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


def test_the_rows_checks_are_the_intakes_rules() -> None:
    """`check_rows` keeps exactly the rows the intake's rules allow (each rule written out here with numpy)."""
    rng = np.random.default_rng(7)
    n = 4000
    t = np.zeros((n, S.N_COLS), np.int64)
    t[:, S.FLAGS] = rng.integers(0, 4, n)
    t[:, S.SIDE] = rng.integers(-2, 3, n)
    t[:, S.OTYPE] = rng.integers(0, 6, n)
    t[:, S.TIF] = rng.integers(0, 7, n)
    t[:, S.PRICE] = rng.integers(-2, 3, n)
    t[:, S.QTY] = rng.integers(-1, 3, n)
    t[:, S.COID + 1] = rng.choice([0, 1, 64, 65], n)
    t[:, S.IDEM + 1] = rng.choice([0, 1, 128, 129], n)
    names_ok = rng.random(n) < 0.9
    otype_ok, tif_ok = np.zeros(256, np.bool_), np.zeros(256, np.bool_)
    otype_ok[[1, 2, 3]] = True
    tif_ok[[1, 2, 3, 4]] = True
    ok = names_ok.copy()
    durable = S.check_rows(t, ok, otype_ok, tif_ok, 2, 1)
    side, otype, price, qty = t[:, S.SIDE], t[:, S.OTYPE], t[:, S.PRICE], t[:, S.QTY]
    coid_len, idem_len = t[:, S.COID + 1], t[:, S.IDEM + 1]
    want_durable = (t[:, S.FLAGS] & 1) != 0
    want = names_ok & ((side == 1) | (side == -1)) & otype_ok[otype] & tif_ok[t[:, S.TIF]] & (qty > 0)
    want &= np.where(otype == 2, price >= 0, price > 0) & (coid_len >= 1) & (coid_len <= 64)
    want &= (idem_len <= 128) & ((idem_len > 0) | ~want_durable)
    assert durable.tolist() == want_durable.tolist()
    assert ok.tolist() == want.tolist() and 0 < ok.sum() < n
