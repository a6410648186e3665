"""The client-id index of the order views (`GET /orders/client/{client_order_id}`): (account, client order id) →
the newest order id given to it, kept in numba over one numpy table and taken a batch at a time.

A key is a seeded 64-bit hash of the account's registry index and the client order id's UTF-8 bytes (`_hashes`,
one numba call for a batch); the table is open addressing with linear probing over (hash, order id) pairs, at
most half full. Equal hashes are one key: a later order overwrites an earlier one, as a dict keyed by the pair
would. The index only proposes an order id: `hft.live.views.OrderViews.find_client` checks the view's own
account and client order id, so a collision of two pairs' hashes (about n² / 2**65 for n keys, with a seed
drawn per process that a client cannot aim at) can at worst hide the older order from this lookup, never answer
another order. The index is not pickled: a snapshot's views rebuild it (`OrderViews.restore`), and so does a
prune of old views.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from numba import njit

from hft.gateway.kernels.prefetch import _prefetchw
from hft.live.ids import PackedIds

_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xBF58476D1CE4E5B9)
_K3 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, nogil=True, inline="always")
def _mix(x: np.uint64) -> np.uint64:
    """splitmix64's finaliser."""
    x ^= x >> np.uint64(30)
    x *= _K2
    x ^= x >> np.uint64(27)
    x *= _K3
    x ^= x >> np.uint64(31)
    return x


@njit(cache=True, nogil=True)
def _hashes(data: np.ndarray, lens: np.ndarray, gap: int, acct: np.ndarray, seed: np.uint64,
            out: np.ndarray) -> None:
    """Row i's key (never 0): its account ``acct[i]`` and its ``lens[i]`` bytes, the next ones of `data` (each
    row's followed by `gap` bytes that do not count)."""
    p = 0
    for i in range(lens.shape[0]):
        m = lens[i]
        h = _mix(seed ^ (np.uint64(acct[i]) * _K1) ^ (np.uint64(m) * _K3))
        j = 0
        while j < m:  # 8 bytes a word, little-endian, the last zero-padded
            w = np.uint64(0)
            for b in range(min(8, m - j) - 1, -1, -1):
                w = (w << np.uint64(8)) | np.uint64(data[p + j + b])
            h = _mix(h ^ w) * _K1
            j += 8
        h = _mix(h)
        out[i] = h if h != 0 else np.uint64(1)
        p += m + gap


_AHEAD = 16  # inserts whose bucket is prefetched ahead of the one being made


@njit(cache=True, nogil=True)
def _insert(tab: np.ndarray, hs: np.ndarray, oids: np.ndarray) -> int:
    """Put (hs[i], oids[i]) in order into `tab` (rows of (key, order id); key 0: empty), an equal key's value
    replaced; returns the number of new keys. The bucket of the insert `_AHEAD` rows on is prefetched, so the
    cache misses of a batch overlap."""
    mask = tab.shape[0] - 1
    new = 0
    n = hs.shape[0]
    for i in range(min(_AHEAD, n)):
        _prefetchw(tab, 2 * np.int64(np.uint64(hs[i]) & np.uint64(mask)))
    for i in range(n):
        if i + _AHEAD < n:
            _prefetchw(tab, 2 * np.int64(np.uint64(hs[i + _AHEAD]) & np.uint64(mask)))
        h = hs[i]
        j = np.int64(np.uint64(h) & np.uint64(mask))
        while True:
            k = tab[j, 0]
            if k == h:
                tab[j, 1] = oids[i]
                break
            if k == 0:
                tab[j, 0] = h
                tab[j, 1] = oids[i]
                new += 1
                break
            j = (j + 1) & mask
    return new


@njit(cache=True, nogil=True)
def _put(tab: np.ndarray, data: np.ndarray, lens: np.ndarray, gap: int, acct: np.ndarray, seed: np.uint64,
         oids: np.ndarray) -> int:
    """`_hashes` of the rows, then `_insert` of them with `oids` (one call); the number of new keys."""
    hs = np.empty(lens.shape[0], np.uint64)
    _hashes(data, lens, gap, acct, seed, hs)
    return _insert(tab, hs.view(np.int64), oids)


@njit(cache=True, nogil=True)
def _find(tab: np.ndarray, h: np.int64) -> int:
    mask = tab.shape[0] - 1
    j = np.int64(np.uint64(h) & np.uint64(mask))
    while True:
        k = tab[j, 0]
        if k == h:
            return tab[j, 1]
        if k == 0:
            return -1
        j = (j + 1) & mask


def _utf8(coids: Sequence[str]) -> tuple[bytes, np.ndarray]:
    """The ids' UTF-8 bytes one after another and each one's length."""
    joined = "".join(coids)
    if joined.isascii():
        return joined.encode("ascii"), np.fromiter(map(len, coids), np.int64, len(coids))
    enc = [c.encode() for c in coids]
    return b"".join(enc), np.fromiter(map(len, enc), np.int64, len(enc))


class ClientIndex:
    """(account index, client order id) → newest order id (see the module doc)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.seed = np.uint64(int.from_bytes(os.urandom(8), "little"))
        cap = 1024
        while cap < 2 * capacity:
            cap *= 2
        self.tab = np.zeros((cap, 2), np.int64)  # (key, order id) rows; key 0: empty
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def _keys_of(self, acct: np.ndarray, coids: Sequence[str], packed: PackedIds | None = None) -> np.ndarray:
        data, lens, gap = (packed.sep, packed.lens, 1) if packed is not None else (*_utf8(coids), 0)
        hs = np.empty(len(lens), np.uint64)
        _hashes(np.frombuffer(data, np.uint8), lens, gap, np.ascontiguousarray(acct, np.int64), self.seed, hs)
        return hs.view(np.int64)

    def _grow(self, extra: int) -> None:
        cap = len(self.tab)
        if 2 * (self.n + extra) <= cap:
            return
        while 2 * (self.n + extra) > cap:
            cap *= 2
        old = self.tab[self.tab[:, 0] != 0]
        self.tab = np.zeros((cap, 2), np.int64)
        _insert(self.tab, old[:, 0].copy(), old[:, 1].copy())

    def put_many(self, acct: np.ndarray, coids: Sequence[str], oids: np.ndarray,
                 packed: PackedIds | None = None) -> None:
        """Index these orders in order (the later of equal keys wins); empty client order ids are skipped.
        `packed`: the same ids as bytes (hashed as they are), if known."""
        if packed is None or not packed.plain:
            if "" in coids:
                keep = np.array([c != "" for c in coids], np.bool_)
                acct, oids = np.asarray(acct)[keep], np.asarray(oids)[keep]
                coids = [c for c in coids if c]
            if not len(coids):
                return
        data, lens, gap = (packed.sep, packed.lens, 1) if packed is not None and packed.plain else (*_utf8(coids), 0)
        self._grow(len(lens))
        self.n += _put(self.tab, np.frombuffer(data, np.uint8), lens, gap, np.ascontiguousarray(acct, np.int64),
                       self.seed, np.ascontiguousarray(oids, np.int64))

    def put(self, acct: int, coid: str, oid: int) -> None:
        self.put_many(np.array([acct], np.int64), [coid], np.array([oid], np.int64))

    def get(self, acct: int, coid: str) -> int | None:
        """The order id indexed for (acct, coid), unchecked (the views check it), or None."""
        oid = _find(self.tab, self._keys_of(np.array([acct], np.int64), [coid])[0])
        return None if oid < 0 else int(oid)
