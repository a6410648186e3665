"""The order views' fill log, and the ring layout it shares with the views' columns (`hft.live.views`).

A ring holds rows numbered by an ever-growing number (an order id, a fill number) at slot ``number % capacity``:
the numbers ``lo .. lo + capacity - 1`` fit, and when the oldest go their slots serve the next ones without moving
anything (`spans`, `in_order`, `place`; `relaid` lays a ring out anew in a larger one: the one copy, rare).

A fill (price, qty, time, next, owner; then its exact fee, ``fee`` whole money units and ``fee_frac`` millionths,
and its liquidity, `hft.core.orders.LIQ_*`: what a restarted client reads back) gets the next number n = 1, 2, 3 … and the slot ``n % capacity`` of the
log. The row of its order's view links its first and last fill (columns `HEAD`, `TAIL` of the view's row; 0:
none), each fill the next one of that order (0: the last). Numbers are never reused nor renumbered, so nothing is
relinked when old fills go: the log keeps the numbers ``gone + 1 .. n``, and `advance` moves `gone` past the fills
whose owner has left the views' ring (dropped, or moved aside with copies of its fills: `copy_fills`), stopping at
the first one still held. The old open views kept aside have a log of their own with the same rules: an array
numbered from 1 that never wraps, compacted by copying the fills of the views it keeps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hft.core.jit import njit

HEAD, TAIL = 0, 1  # the columns of an owner's row (a view's) holding its first and last fill number
F_PRICE, F_QTY, F_TS, F_NEXT, F_OWNER, F_FEE, F_FEE_FRAC, F_LIQ = range(8)  # columns of a fill
N_FCOLS = 8
N_FCOLS_V1 = 5  # a fill's columns before its fee and liquidity were kept (a snapshot's fill log may have these:
# `widened`)


def spans(lo: int, hi: int, cap: int) -> list[tuple[int, int]]:
    """The slot ranges ``[a, b)`` of the numbers ``lo .. hi - 1`` (at most `cap` of them) in a ring of `cap` slots,
    in number order: none, one, or two when they wrap."""
    if hi <= lo:
        return []
    a, b = lo % cap, (hi - 1) % cap + 1
    return [(a, b)] if a < b else [(a, cap), (0, b)]


def in_order(ring: Any, lo: int, hi: int) -> list[Any]:
    """The rows of the numbers ``lo .. hi - 1`` of `ring` (an array, or a list) in number order, as one or two
    slices (views of an array)."""
    return [ring[a:b] for a, b in spans(lo, hi, len(ring))]


def place(ring: Any, lo: int, rows: Any) -> None:
    """Write `rows` (the numbers ``lo, lo + 1 …``) into `ring` at their slots."""
    a = lo % len(ring)
    if a + len(rows) <= len(ring):  # no wrap (the usual case, one slice: on the writer's path)
        ring[a:a + len(rows)] = rows
        return
    i = 0
    for a, b in spans(lo, lo + len(rows), len(ring)):
        ring[a:b] = rows[i:i + b - a]
        i += b - a


def relaid(ring: np.ndarray, lo: int, hi: int, cap: int) -> np.ndarray:
    """A zeroed ring of `cap` slots holding the rows of the numbers ``lo .. hi - 1`` of `ring` at their slots."""
    out = np.zeros((cap, ring.shape[1]), ring.dtype)
    if hi > lo:
        place(out, lo, np.concatenate(in_order(ring, lo, hi)))
    return out


def widened(fills: np.ndarray) -> np.ndarray:
    """A fill log's rows with every column of this version: a snapshot's rows of `N_FCOLS_V1` columns gain a fee
    and liquidity of 0 (not kept then: unknown)."""
    if fills.shape[1] == N_FCOLS:
        return fills
    out = np.zeros((fills.shape[0], N_FCOLS), np.int64)
    out[:, :fills.shape[1]] = fills
    return out


@njit(cache=True, nogil=True, inline="always")
def log_fill(log: np.ndarray, n: int, r: np.ndarray, price: int, qty: int, ts: int, owner: int, fee: int,
             fee_frac: int, liq: int) -> int:
    """Log fill number ``n + 1`` of the view whose row is `r` (order id `owner`) at the end of its list; returns
    ``n + 1``."""
    n += 1
    m = log.shape[0]
    f = log[n % m]
    f[F_PRICE] = price
    f[F_QTY] = qty
    f[F_TS] = ts
    f[F_NEXT] = 0
    f[F_OWNER] = owner
    f[F_FEE] = fee
    f[F_FEE_FRAC] = fee_frac
    f[F_LIQ] = liq
    if r[TAIL]:
        log[r[TAIL] % m, F_NEXT] = n
    else:
        r[HEAD] = n
    r[TAIL] = n
    return n


@njit(cache=True, nogil=True)
def count_fills(rows: np.ndarray, src: np.ndarray) -> int:
    """How many fills the views `rows` have in the log `src`."""
    m = src.shape[0]
    need = 0
    for i in range(rows.shape[0]):
        f = rows[i, HEAD]
        while f:
            need += 1
            f = src[f % m, F_NEXT]
    return need


@njit(cache=True, nogil=True)
def copy_fills(rows: np.ndarray, src: np.ndarray, dst: np.ndarray, n: int) -> int:
    """Copy the fills of the views `rows` from the log `src` to the end of the log `dst` (numbered from ``n + 1``,
    with room for `count_fills` of them), relinking each row to its copies. Returns the new last number of
    `dst`."""
    m = src.shape[0]
    for i in range(rows.shape[0]):
        r = rows[i]
        f = r[HEAD]
        r[HEAD] = 0
        r[TAIL] = 0
        while f:
            s = src[f % m]
            f = s[F_NEXT]
            n = log_fill(dst, n, r, s[F_PRICE], s[F_QTY], s[F_TS], s[F_OWNER], s[F_FEE], s[F_FEE_FRAC], s[F_LIQ])
    return n


@njit(cache=True, nogil=True)
def advance(log: np.ndarray, gone: int, n: int, base: int) -> int:
    """The log's new `gone`: past every fill from ``gone + 1`` on whose owner is below `base` (its view has left
    the ring), up to the first one whose owner is still there, or `n`."""
    m = log.shape[0]
    while gone < n and log[(gone + 1) % m, F_OWNER] < base:
        gone += 1
    return gone
