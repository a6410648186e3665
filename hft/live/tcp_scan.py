"""The binary TCP intake's column-wise frame scanner (`hft.live.tcp`): consecutive NEW frames of a received
buffer parsed in one numba call into an int64 table, one row per frame, so that the intake touches no Python
object per frame until the strings it needs.

Columns of the table (`scan_new_frames`): the fixed part of the frame (corr as the bits of the u64, flags, side,
order type, tif, price, qty), then (offset, length) of each of its five strings in the buffer (client order id,
account, strategy, symbol, idempotency key), then `NEW_RUN` (1 when the account, strategy or symbol bytes
differ from the previous frame's: names are looked up once per run), the offset just past the frame, and `KEY`:
the dedup key of the frame (`hft.live.orders.intent_key` of its account and its idempotency key, or its client
order id when that is empty: BLAKE2b-64 of ``account 0x1f key``, computed here by `blake2b_64` so that no
Python step per frame hashes it), and `KEY_ASCII` (1 when the idempotency key's bytes are ASCII: valid UTF-8
without decoding it).

Over a scanned run, two more single passes: `check_rows` (the intake's checks of the fixed fields and string
lengths) and `client_order_ids` (the client order ids as strings, from one decode and one split of their bytes,
and packed as `hft.live.ids.PackedIds` for the client-id index and the WAL's ``details``).
"""

from __future__ import annotations

import numpy as np

from hft.core.jit import helper, njit
from hft.core.orders import NO_KEY
from hft.live.frames import MAX_FRAME, NEW, NEW_FIXED
from hft.live.ids import PackedIds

# The kernels never allocate (the scan's scratch comes from its caller), so they run without numba's reference
# counting: an atomic increment and decrement on every view and every array handed to a helper (`_g` takes the
# state 96 times a compression), ~a fifth of a frame's scan.
_kernel = njit(cache=True, nogil=True, _nrt=False)

CORR, FLAGS, SIDE, OTYPE, TIF, PRICE, QTY = range(7)
COID, ACCOUNT, STRATEGY, SYMBOL, IDEM = 7, 9, 11, 13, 15  # offset column; the length is the next one
NEW_RUN, END, KEY, KEY_ASCII = 17, 18, 19, 20
N_COLS = 21
_FIXED = NEW_FIXED.size  # 28: corr u64, flags u8, side i8, order_type u8, tif u8, price i64, qty i64


_IV = np.array([0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
                0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179], np.uint64)
_SIGMA = np.array([
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4], [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13], [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11], [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5], [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
], np.int64)


@helper
def _rotr(x: np.uint64, n: int) -> np.uint64:
    return (x >> np.uint64(n)) | (x << np.uint64(64 - n))


@helper
def _g(v: np.ndarray, a: int, b: int, c: int, d: int, x: np.uint64, y: np.uint64) -> None:
    v[a] = v[a] + v[b] + x
    v[d] = _rotr(v[d] ^ v[a], 32)
    v[c] = v[c] + v[d]
    v[b] = _rotr(v[b] ^ v[c], 24)
    v[a] = v[a] + v[b] + y
    v[d] = _rotr(v[d] ^ v[a], 16)
    v[c] = v[c] + v[d]
    v[b] = _rotr(v[b] ^ v[c], 63)


@_kernel
def _compress(h: np.ndarray, block: np.ndarray, t: int, last: bool, v: np.ndarray, m: np.ndarray) -> None:
    for i in range(16):  # the block's words, little-endian
        w = np.uint64(0)
        for b in range(7, -1, -1):
            w = (w << np.uint64(8)) | np.uint64(block[8 * i + b])
        m[i] = w
    for i in range(8):
        v[i] = h[i]
        v[i + 8] = _IV[i]
    v[12] ^= np.uint64(t)
    if last:
        v[14] = ~v[14]
    for r in range(12):
        s = _SIGMA[r % 10]
        _g(v, 0, 4, 8, 12, m[s[0]], m[s[1]])  # columns
        _g(v, 1, 5, 9, 13, m[s[2]], m[s[3]])
        _g(v, 2, 6, 10, 14, m[s[4]], m[s[5]])
        _g(v, 3, 7, 11, 15, m[s[6]], m[s[7]])
        _g(v, 0, 5, 10, 15, m[s[8]], m[s[9]])  # diagonals
        _g(v, 1, 6, 11, 12, m[s[10]], m[s[11]])
        _g(v, 2, 7, 8, 13, m[s[12]], m[s[13]])
        _g(v, 3, 4, 9, 14, m[s[14]], m[s[15]])
    for i in range(8):
        h[i] ^= v[i] ^ v[i + 8]


@_kernel
def blake2b_64(msg: np.ndarray, n: int, block: np.ndarray, work: np.ndarray) -> np.int64:
    """BLAKE2b (RFC 7693) with an 8-byte digest and no key of ``msg[:n]`` (uint8), as the int64 of its
    little-endian digest: ``hashlib.blake2b(msg[:n], digest_size=8)`` read as `dedup_key` reads it. `block`
    (128 bytes) and `work` (40 uint64) are the caller's scratch space."""
    h, v, m = work[:8], work[8:24], work[24:40]
    for i in range(8):
        h[i] = _IV[i]
    h[0] ^= np.uint64(0x01010008)  # digest length 8, no key, fanout 1, depth 1
    pos = 0
    while n - pos > 128:
        _compress(h, msg[pos:pos + 128], pos + 128, False, v, m)
        pos += 128
    for i in range(128):  # the last block, zero-padded (byte by byte: a slice copy would allocate)
        block[i] = msg[pos + i] if i < n - pos else 0
    _compress(h, block, n, True, v, m)
    return np.int64(h[0])


@_kernel
def _u64(buf: np.ndarray, p: int) -> np.int64:
    v = np.uint64(0)
    for i in range(7, -1, -1):
        v = (v << np.uint64(8)) | np.uint64(buf[p + i])
    return np.int64(v)


@_kernel
def _same(buf: np.ndarray, a: int, b: int, n: int) -> bool:
    for i in range(n):  # noqa: SIM110 - numba compiles no generator
        if buf[a + i] != buf[b + i]:
            return False
    return True


@_kernel
def _scan(buf: np.ndarray, pos: int, out: np.ndarray, max_frame: int, new_kind: int, msg: np.ndarray,
          block: np.ndarray, work: np.ndarray) -> tuple[int, int]:
    n = buf.shape[0]
    k = 0
    while k < out.shape[0] and n - pos >= 5:
        length = np.int64(buf[pos]) | (np.int64(buf[pos + 1]) << 8) | (np.int64(buf[pos + 2]) << 16) | (
            np.int64(buf[pos + 3]) << 24)
        end = pos + 4 + length
        if length < 1 + _FIXED or length > max_frame or end > n or buf[pos + 4] != new_kind:
            break
        b = pos + 5
        r = out[k]
        r[0] = _u64(buf, b)
        r[1] = buf[b + 8]
        s = np.int64(buf[b + 9])
        r[2] = s - 256 if s > 127 else s
        r[3] = buf[b + 10]
        r[4] = buf[b + 11]
        r[5] = _u64(buf, b + 12)
        r[6] = _u64(buf, b + 20)
        p = b + _FIXED
        ok = True
        for j in range(5):
            if p >= end:
                ok = False
                break
            m = np.int64(buf[p])
            p += 1
            if p + m > end:
                ok = False
                break
            r[7 + 2 * j] = p
            r[8 + 2 * j] = m
            p += m
        if not ok or p != end:
            break  # malformed: the per-frame path answers it
        new_run = 1
        if k > 0:
            q = out[k - 1]
            new_run = 0
            for c in (9, 11, 13):
                if r[c + 1] != q[c + 1] or not _same(buf, r[c], q[c], r[c + 1]):
                    new_run = 1
        r[17] = new_run
        r[18] = end
        al = r[10]
        for i in range(al):
            msg[i] = buf[r[9] + i]
        msg[al] = 0x1F
        ko, kl = (r[15], r[16]) if r[16] else (r[7], r[8])  # the idempotency key, else the client order id
        for i in range(kl):
            msg[al + 1 + i] = buf[ko + i]
        key = blake2b_64(msg, al + 1 + kl, block, work)
        r[19] = key if key != NO_KEY else NO_KEY + 1
        r[20] = 1
        for b in range(r[15], r[15] + r[16]):
            if buf[b] >= 0x80:
                r[20] = 0
                break
        k += 1
        pos = end
    return k, pos


def scan_new_frames(buf: np.ndarray, pos: int, out: np.ndarray) -> tuple[int, int]:
    """Parse the complete, well-formed NEW frames of `buf` (uint8) from `pos` into the rows of `out` (int64,
    `N_COLS` columns), stopping at the first frame that is not one (another type, incomplete, malformed: the
    per-frame path takes it) or when `out` is full. Returns (frames parsed, offset just past them).

    The bytes are a client's (untrusted): every read of `_scan` stays inside ``buf[pos:]`` (a frame is read only
    once its 4-byte length, at most `MAX_FRAME`, says it ends inside the buffer; each string's length byte is read
    before the frame's end and the string ends by it; the dedup key's message, an account and a key of at most 255
    bytes each and a separator, fits its 512-byte scratch), and every integer it computes from them is a byte or a
    4-byte length (no product, no sum past int64). Prices and quantities are taken as the frame's int64 bits,
    unchecked here: `check_rows` and the gateway decide them."""
    if not 0 <= pos <= len(buf):  # (numba would wrap a negative index)
        raise ValueError(f"scan_new_frames: expected 0 <= pos <= {len(buf)}, was {pos}")
    k, end = _scan(buf, pos, out, MAX_FRAME, NEW, np.empty(2 * 256, np.uint8),  # account 0x1f key (each <= 255)
                   np.empty(128, np.uint8), np.empty(40, np.uint64))  # BLAKE2b's block and work space
    return int(k), int(end)


_NUL, _HIGH, _ESC = 1, 2, 4  # `_coids` flags: a NUL byte, a byte >= 0x80, a byte JSON escapes (< 0x20, '"', '\\')


@_kernel
def _coids(buf: np.ndarray, table: np.ndarray, k: int, out: np.ndarray) -> tuple[int, int]:
    """The client order ids of rows ``:k`` of a scan `table` (their bytes in `buf`) into `out`, each followed by
    a NUL; returns (bytes written, flags of the bytes seen: `_NUL`, `_HIGH`, `_ESC`)."""
    q = 0
    flags = 0
    for i in range(k):
        o = table[i, COID]
        for x in range(o, o + table[i, COID + 1]):
            b = buf[x]
            if b == 0:
                flags |= _NUL
            elif b >= 0x80:
                flags |= _HIGH
            if b < 0x20 or b == 0x22 or b == 0x5C:
                flags |= _ESC
            out[q] = b
            q += 1
        out[q] = 0
        q += 1
    return q, flags


def client_order_ids(buf: np.ndarray, table: np.ndarray, k: int) -> tuple[list[str], PackedIds] | None:
    """The client order ids of rows ``:k`` of a scan `table` over `buf`: as strings (one decode and one split
    of their bytes, not a slice per row) and packed (`PackedIds`: the index hashes and the WAL's ``details``
    take the bytes as they are). None when one holds a NUL (the caller slices them one by one); raises
    UnicodeDecodeError when one is not UTF-8. Precondition: rows ``:k`` are `scan_new_frames`' over this `buf`
    (their offsets and lengths inside it); `_coids` writes every byte of its `np.empty` output."""
    if not 0 <= k <= len(table):
        raise ValueError(f"client_order_ids: expected 0 <= k <= {len(table)}, was {k}")
    lens = table[:k, COID + 1].copy()
    out = np.empty(int(lens.sum()) + k, np.uint8)
    q, flags = _coids(buf, table, k, out)
    if flags & _NUL:
        return None
    sep = out[:q].tobytes()
    text = sep.decode("latin-1" if not flags & _HIGH else "utf-8")  # NULs split it exactly: they are ASCII
    ids = text.split("\0")
    ids.pop()  # after the last NUL
    return ids, PackedIds(sep, lens, not flags & _ESC and bool(k) and bool(lens.min() > 0))


@_kernel
def _check(table: np.ndarray, ok: np.ndarray, otype_ok: np.ndarray, tif_ok: np.ndarray, market: int,
           durable_flag: int, durable: np.ndarray) -> None:
    for i in range(ok.shape[0]):
        r = table[i]
        d = (r[FLAGS] & durable_flag) != 0
        durable[i] = d
        if not ok[i]:
            continue
        otype, coid_len, idem_len = r[OTYPE], r[COID + 1], r[IDEM + 1]
        ok[i] = ((r[SIDE] == 1 or r[SIDE] == -1) and otype_ok[otype] and tif_ok[r[TIF]] and r[QTY] > 0
                 and (r[PRICE] >= 0 if otype == market else r[PRICE] > 0) and 1 <= coid_len <= 64
                 and idem_len <= 128 and (idem_len > 0 or not d))


def check_rows(table: np.ndarray, ok: np.ndarray, otype_ok: np.ndarray, tif_ok: np.ndarray, market: int,
               durable_flag: int) -> np.ndarray:
    """The intake's checks of scanned NEW rows (``table[:len(ok)]``), one pass: `ok` (the names' verdict on
    entry) keeps the rows whose side is 1 or -1, order type and tif are known (lookup tables by the frame's u8),
    qty > 0, price > 0 (>= 0 for a market order), client order id of 1 to 64 bytes, idempotency key of at
    most 128 bytes and present when the row is durable (bit `durable_flag` of its flags). Returns each row's
    durable flag. The lookup tables are indexed by a frame's byte: 256 entries each."""
    if len(otype_ok) < 256 or len(tif_ok) < 256 or len(ok) > len(table):
        raise ValueError("check_rows: expected lookup tables of 256 entries and a row of `table` per `ok`")
    durable = np.empty(len(ok), np.bool_)
    _check(table, ok, otype_ok, tif_ok, market, durable_flag, durable)
    return durable
