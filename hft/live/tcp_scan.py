"""The binary TCP intake's column-wise frame scanner (`hft.live.tcp`): consecutive NEW frames of a received
buffer parsed in one numba call into an int64 table, one row per frame, so that the intake touches no Python
object per frame until the strings it needs.

Columns of the table (`scan_new_frames`): the fixed part of the frame (corr as the bits of the u64, flags, side,
order type, tif, price, qty), then (offset, length) of each of its five strings in the buffer (client order id,
account, strategy, symbol, idempotency key), then `NEW_RUN` (1 when the account, strategy or symbol bytes
differ from the previous frame's: names are looked up once per run) and the offset just past the frame.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hft.live.frames import MAX_FRAME, NEW, NEW_FIXED

CORR, FLAGS, SIDE, OTYPE, TIF, PRICE, QTY = range(7)
COID, ACCOUNT, STRATEGY, SYMBOL, IDEM = 7, 9, 11, 13, 15  # offset column; the length is the next one
NEW_RUN, END = 17, 18
N_COLS = 19
_FIXED = NEW_FIXED.size  # 28: corr u64, flags u8, side i8, order_type u8, tif u8, price i64, qty i64


@njit(cache=True, nogil=True)
def _u64(buf: np.ndarray, p: int) -> np.int64:
    v = np.uint64(0)
    for i in range(7, -1, -1):
        v = (v << np.uint64(8)) | np.uint64(buf[p + i])
    return np.int64(v)


@njit(cache=True, nogil=True)
def _same(buf: np.ndarray, a: int, b: int, n: int) -> bool:
    for i in range(n):  # noqa: SIM110 - numba compiles no generator
        if buf[a + i] != buf[b + i]:
            return False
    return True


@njit(cache=True, nogil=True)
def _scan(buf: np.ndarray, pos: int, out: np.ndarray, max_frame: int, new_kind: int) -> tuple[int, int]:
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
        k += 1
        pos = end
    return k, pos


def scan_new_frames(buf: np.ndarray, pos: int, out: np.ndarray) -> tuple[int, int]:
    """Parse the complete, well-formed NEW frames of `buf` (uint8) from `pos` into the rows of `out` (int64,
    `N_COLS` columns), stopping at the first frame that is not one (another type, incomplete, malformed: the
    per-frame path takes it) or when `out` is full. Returns (frames parsed, offset just past them)."""
    k, end = _scan(buf, pos, out, MAX_FRAME, NEW)
    return int(k), int(end)
