"""`hft.live.tcp_scan`: the scan's dedup keys are `orders.intent_key`'s (BLAKE2b-64 computed in the kernel)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.live import tcp_scan as S
from hft.live.client_index import ClientIndex
from hft.live.engine import _details_many
from hft.live.frames import MAX_FRAME, NEW, NEW_FIXED, frame
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


# ---------------------------------------------------------------- untrusted bytes: every read inside the buffer
def _ref_scan(buf: bytes, pos: int, rows: int) -> tuple[int, int, list[tuple]]:
    """The scan's rules in plain Python (the oracle): complete NEW frames of 29 to MAX_FRAME bytes whose five
    length-prefixed strings end exactly at the frame's end; (frames, end, their fixed fields)."""
    out = []
    n = len(buf)
    while len(out) < rows and n - pos >= 5:
        length = int.from_bytes(buf[pos:pos + 4], "little")
        end = pos + 4 + length
        if length < 1 + NEW_FIXED.size or length > MAX_FRAME or end > n or buf[pos + 4] != NEW:
            break
        fixed = NEW_FIXED.unpack_from(buf, pos + 5)
        p, ok = pos + 5 + NEW_FIXED.size, True
        for _ in range(5):
            if p >= end or p + 1 + buf[p] > end:
                ok = False
                break
            p += 1 + buf[p]
        if not ok or p != end:
            break
        out.append(fixed)
        pos = end
    return len(out), pos, out


def _frame_bytes(draw_fixed: tuple, strs: list[bytes]) -> bytes:
    return frame(NEW, NEW_FIXED.pack(*draw_fixed) + b"".join(bytes([len(x)]) + x for x in strs))


_I64 = st.integers(-(2**63), 2**63 - 1)
_fixed = st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 255), st.integers(-128, 127), st.integers(0, 255),
                   st.integers(0, 255), st.one_of(_I64, st.sampled_from([-(2**63), 2**63 - 1, 0, -1])),
                   st.one_of(_I64, st.sampled_from([-(2**63), 2**63 - 1, 0, -1])))
_frames = st.lists(st.tuples(_fixed, st.lists(st.binary(max_size=255), min_size=5, max_size=5)), max_size=6)
_edits = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4)


@settings(max_examples=300, deadline=None)
@given(_frames, _edits, st.integers(0, 40), st.integers(1, 8), st.binary(max_size=12))
def test_the_scan_of_any_bytes_is_the_rules_and_reads_only_the_buffer(frames, edits, cut, rows, tail):
    """Valid frames (any fixed fields: prices and quantities at int64's edges), then bytes overwritten, the buffer
    cut short and garbage appended: the scan parses exactly what the rules say, never past the buffer (run with
    ``NUMBA_BOUNDSCHECK=1`` in CI, an index outside it raises; the scan reads through numpy arrays only)."""
    buf = bytearray(b"".join(_frame_bytes(f, s) for f, s in frames) + tail)
    for at, byte in edits:
        if buf:
            buf[at % len(buf)] = byte
    buf = bytes(buf[:max(0, len(buf) - cut)])
    arr = np.frombuffer(buf, np.uint8).copy()  # an exact-size array: nothing readable past its end
    out = np.zeros((rows, S.N_COLS), np.int64)
    k, end = S.scan_new_frames(arr, 0, out)
    rk, rend, fixed = _ref_scan(buf, 0, rows)
    assert (k, end) == (rk, rend)
    for i, (corr, flags, side, otype, tif, price, qty) in enumerate(fixed):
        assert out[i, :7].tolist() == [corr - 2**64 if corr >= 2**63 else corr, flags, side, otype, tif, price, qty]
        assert out[i, S.END] <= len(buf)
        for c in (S.COID, S.ACCOUNT, S.STRATEGY, S.SYMBOL, S.IDEM):
            assert out[i, c] >= 0 and out[i, c] + out[i, c + 1] <= out[i, S.END]


@pytest.mark.parametrize("length", [0, 1, 28, 29, MAX_FRAME, MAX_FRAME + 1, 2**31, 2**32 - 1])
def test_a_length_prefix_at_any_value_reads_nothing_past_the_buffer(length: int) -> None:
    good = _new(1, "c", "ACC1", "")
    buf = np.frombuffer(good + length.to_bytes(4, "little") + bytes([NEW]) + bytes(40), np.uint8).copy()
    out = np.zeros((4, S.N_COLS), np.int64)
    assert S.scan_new_frames(buf, 0, out) == (1, len(good))  # the first frame; the second is left to the other path
    with pytest.raises(ValueError, match="pos"):
        S.scan_new_frames(buf, -1, out)
    with pytest.raises(ValueError, match="k"):
        S.client_order_ids(buf, out, 5)
