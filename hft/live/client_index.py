"""The client-id index of the order views (`GET /orders/client/{client_order_id}`): (account, client order id) →
the newest order id given to it, kept in numba over one numpy table and taken a batch at a time.

A key is a seeded 64-bit hash of the account's registry index and the client order id's UTF-8 bytes (`_hashes`,
one numba call for a batch); the table is open addressing with linear probing over (hash, order id) pairs, at
most half full. Equal hashes are one key: a later order overwrites an earlier one, as a dict keyed by the pair
would. The index only proposes an order id: `hft.live.views.OrderViews.find_client` checks the view's own
account and client order id, so a collision of two pairs' hashes (about n² / 2**65 for n keys, with a seed
drawn per process that a client cannot aim at) can at worst hide the older order from this lookup, never answer
another order. The index is not pickled: a snapshot's views rebuild it (`OrderViews.restore`). A prune of old
views deletes their keys (`ClientIndex.drop_many`, only where the key still names the dropped order) by backward
shift: the entries after the freed bucket that may move back into it do, so no probe ever crosses a hole that
was not empty when its key went in and no tombstone is left (the table never needs a rebuild for deletions). The
keys of orders held apart (the views aside) are counted in a small table of their own (`ClientIndex.watch`): a
deletion of one of those is reported, and the views put the newest such order back (`ClientIndex.put_missing`),
so an older order still held is found again when a newer one with its client id is dropped.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from hft.core.jit import njit
from hft.gateway.kernels.prefetch import prefetchw
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


_AHEAD = 16  # keys whose bucket is prefetched ahead of the one being used
_WATCH = 1 << 14  # keys the table of watched keys holds before it is rehashed larger


@njit(cache=True, nogil=True, inline="always")
def _home(tab: np.ndarray, h: np.int64) -> np.int64:
    """Key `h`'s home bucket (its low bits)."""
    return np.int64(np.uint64(h) & np.uint64(tab.shape[0] - 1))


@njit(cache=True, nogil=True, inline="always")
def _ahead(tab: np.ndarray, hs: np.ndarray, i: int) -> None:
    """Prefetch the home bucket of key ``hs[i]``, if there is one: a batch's cache misses overlap."""
    if i < hs.shape[0]:
        prefetchw(tab, 2 * _home(tab, hs[i]))


@njit(cache=True, nogil=True, inline="always")
def _probe(tab: np.ndarray, h: np.int64) -> int:
    """The bucket holding key `h`, or the empty one ending its run (where it would go): linear probing."""
    mask = tab.shape[0] - 1
    j = _home(tab, h)
    while True:
        k = tab[j, 0]
        if k == h or k == 0:
            return j
        j = (j + 1) & mask


@njit(cache=True, nogil=True)
def _insert(tab: np.ndarray, hs: np.ndarray, oids: np.ndarray, replace: bool) -> int:
    """Put (hs[i], oids[i]) in order into `tab` (rows of (key, order id); key 0: empty, so a key 0 is none and
    skipped), an equal key's value replaced (or, without `replace`, kept); returns the number of new keys. The
    bucket of the insert `_AHEAD` rows on is prefetched. Precondition: `tab` holds at most half its rows with the
    new keys (`_room`), so every probe ends at an empty bucket."""
    new = 0
    for i in range(_AHEAD):
        _ahead(tab, hs, i)
    for i in range(hs.shape[0]):
        _ahead(tab, hs, i + _AHEAD)
        if hs[i] == 0:
            continue
        j = _probe(tab, hs[i])
        if tab[j, 0] == 0:
            tab[j, 0] = hs[i]
            tab[j, 1] = oids[i]
            new += 1
        elif replace:
            tab[j, 1] = oids[i]
    return new


@njit(cache=True, nogil=True)
def _put(tab: np.ndarray, data: np.ndarray, lens: np.ndarray, gap: int, acct: np.ndarray, seed: np.uint64,
         oids: np.ndarray, hs: np.ndarray) -> int:
    """`_hashes` of the rows into `hs` (uint64), then `_insert` of them with `oids` (one call); the number of new
    keys."""
    _hashes(data, lens, gap, acct, seed, hs)
    return _insert(tab, hs.view(np.int64), oids, True)


@njit(cache=True, nogil=True, inline="always")
def _unlink(tab: np.ndarray, j: int) -> None:
    """Empty bucket `j` by backward shift: each later entry of its run whose home bucket is not between the hole
    and itself moves back into the hole, which moves on to where it was, until an empty bucket ends the run."""
    mask = tab.shape[0] - 1
    while True:
        tab[j, 0] = 0
        tab[j, 1] = 0
        x = j
        while True:
            x = (x + 1) & mask
            k = tab[x, 0]
            if k == 0:
                return
            if ((x - _home(tab, k)) & mask) >= ((x - j) & mask):  # the hole lies on its probe path: it moves back
                tab[j, 0] = k
                tab[j, 1] = tab[x, 1]
                j = x
                break


@njit(cache=True, nogil=True)
def _delete(tab: np.ndarray, hs: np.ndarray, oids: np.ndarray, watched: np.ndarray,
            out: np.ndarray) -> tuple[int, int]:
    """Delete each key ``hs[i]`` (0: none) whose entry names ``oids[i]`` (`_unlink`); an entry naming another
    order (a newer one with that key) is left as it is. A deleted key that the table `watched` counts goes to
    `out`. Returns (keys deleted, keys written to `out`). Buckets are prefetched `_AHEAD` keys ahead, as `_insert`
    does."""
    gone = 0
    n_out = 0
    for i in range(_AHEAD):
        _ahead(tab, hs, i)
    for i in range(hs.shape[0]):
        _ahead(tab, hs, i + _AHEAD)
        if hs[i] == 0:
            continue
        j = _probe(tab, hs[i])
        if tab[j, 0] == hs[i] and tab[j, 1] == oids[i]:
            _unlink(tab, j)
            gone += 1
            if find(watched, hs[i]) > 0:
                out[n_out] = hs[i]
                n_out += 1
    return gone, n_out


@njit(cache=True, nogil=True)
def _tally(tab: np.ndarray, hs: np.ndarray, delta: int) -> int:
    """Add `delta` to the count of each key ``hs[i]`` (0: none) in `tab` (rows of (key, count)); a count that
    falls to 0 takes its key out (`_unlink`). Returns the change in the number of keys."""
    change = 0
    for i in range(hs.shape[0]):
        if hs[i] == 0:
            continue
        j = _probe(tab, hs[i])
        if tab[j, 0] == 0:
            if delta > 0:
                tab[j, 0] = hs[i]
                tab[j, 1] = delta
                change += 1
        else:
            tab[j, 1] += delta
            if tab[j, 1] <= 0:
                _unlink(tab, j)
                change -= 1
    return change


@njit(cache=True, nogil=True)
def find(tab: np.ndarray, h: np.int64) -> int:
    """The value of key `h` in the table `tab` (rows of (key, value)), or -1. Key 0 marks an empty bucket, so it is
    never found (its probe would stop at the first empty bucket and read that bucket's 0 as a value: the order
    views took a report for order id 0 as one for their first row aside)."""
    if h == 0:
        return -1
    j = _probe(tab, h)
    return tab[j, 1] if tab[j, 0] == h else -1


def _table(capacity: int) -> np.ndarray:
    """An empty table with room for `capacity` keys at most half full (at least 1,024 rows)."""
    cap = 1024
    while cap < 2 * capacity:
        cap *= 2
    return np.zeros((cap, 2), np.int64)


def _room(tab: np.ndarray, n: int, extra: int) -> np.ndarray:
    """`tab` (holding `n` keys), or a table twice as large (or more) with the same entries when `extra` more
    would fill it past half."""
    cap = len(tab)
    if 2 * (n + extra) <= cap:
        return tab
    while 2 * (n + extra) > cap:
        cap *= 2
    old = tab[tab[:, 0] != 0]
    new = np.zeros((cap, 2), np.int64)
    _insert(new, old[:, 0].copy(), old[:, 1].copy(), True)
    return new


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
        self.tab = _table(capacity)  # (key, order id) rows; key 0: empty
        self.n = 0
        self.watched = _table(_WATCH)  # (key, count) of the keys `watch` counts
        self.n_watched = 0

    def __len__(self) -> int:
        return self.n

    def _keys_of(self, acct: np.ndarray, coids: Sequence[str], packed: PackedIds | None = None) -> np.ndarray:
        data, lens, gap = (packed.sep, packed.lens, 1) if packed is not None else (*_utf8(coids), 0)
        hs = np.empty(len(lens), np.uint64)
        _hashes(np.frombuffer(data, np.uint8), lens, gap, np.ascontiguousarray(acct, np.int64), self.seed, hs)
        return hs.view(np.int64)

    def put_many(self, acct: np.ndarray, coids: Sequence[str], oids: np.ndarray,
                 packed: PackedIds | None = None) -> np.ndarray:
        """Index these orders in order (the later of equal keys wins); empty client order ids are skipped.
        `packed`: the same ids as bytes (hashed as they are), if known. Returns each order's key (int64; 0: not
        indexed), what `drop_many` takes to forget it."""
        keep = None
        if packed is None or not packed.plain:
            if "" in coids:
                keep = np.array([c != "" for c in coids], np.bool_)
                acct, oids = np.asarray(acct)[keep], np.asarray(oids)[keep]
                coids = [c for c in coids if c]
            if not len(coids):
                return np.zeros(len(keep) if keep is not None else 0, np.int64)
        data, lens, gap = (packed.sep, packed.lens, 1) if packed is not None and packed.plain else (*_utf8(coids), 0)
        self.tab = _room(self.tab, self.n, len(lens))
        hs = np.empty(len(lens), np.uint64)
        self.n += _put(self.tab, np.frombuffer(data, np.uint8), lens, gap, np.ascontiguousarray(acct, np.int64),
                       self.seed, np.ascontiguousarray(oids, np.int64), hs)
        if keep is None:
            return hs.view(np.int64)
        out = np.zeros(len(keep), np.int64)
        out[keep] = hs.view(np.int64)
        return out

    def drop_many(self, keys: np.ndarray, oids: np.ndarray) -> np.ndarray:
        """Forget the orders `oids` (their `put_many` keys `keys`; 0: none): a key whose entry still names that
        order is deleted; a key naming another order (a newer one with that client id) keeps it. Returns the
        deleted keys that are `watch` ed (an order still held has one: `put_missing` gives it back)."""
        out = np.empty(len(keys), np.int64)
        gone, n_out = _delete(self.tab, np.ascontiguousarray(keys, np.int64), np.ascontiguousarray(oids, np.int64),
                              self.watched, out)
        self.n -= gone
        return out[:n_out]

    def watch(self, keys: np.ndarray, delta: int) -> None:
        """Count (`delta` 1) or stop counting (-1) these keys (0: none) among those `drop_many` reports when it
        deletes them: the keys of orders held apart from the ones dropped in order (the order views aside)."""
        if delta > 0:
            self.watched = _room(self.watched, self.n_watched, len(keys))
        self.n_watched += _tally(self.watched, np.ascontiguousarray(keys, np.int64), delta)

    def put_missing(self, keys: np.ndarray, oids: np.ndarray) -> None:
        """Index these orders (`put_many` keys `keys`, 0: none; ascending order ids) where the index lacks their
        key, the newest of equal keys winning: after a `drop_many`, an order still held whose key named a newer,
        dropped order is found again."""
        has = keys != 0
        hs, ids = keys[has][::-1].copy(), oids[has][::-1].copy()  # the newest first: it takes the key
        self.tab = _room(self.tab, self.n, len(hs))
        self.n += _insert(self.tab, hs, ids, False)

    def put(self, acct: int, coid: str, oid: int) -> None:
        self.put_many(np.array([acct], np.int64), [coid], np.array([oid], np.int64))

    def get(self, acct: int, coid: str) -> int | None:
        """The order id indexed for (acct, coid), unchecked (the views check it), or None."""
        oid = find(self.tab, self._keys_of(np.array([acct], np.int64), [coid])[0])
        return None if oid < 0 else int(oid)


_UNWATCHED = np.zeros((16, 2), np.int64)  # no key counted: what `KeyTable.remove` gives `_delete`


class KeyTable:
    """A table of (key, value) int64 pairs of the index's kind (key ≠ 0, linear probing at most half full,
    deletion by backward shift), read in numba with `find`: the order views' order id → row of a view aside."""

    def __init__(self, capacity: int = 1024) -> None:
        self.tab = _table(capacity)
        self.n = 0

    def put(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Set these keys' values (a key already there takes the new one)."""
        self.tab = _room(self.tab, self.n, len(keys))
        self.n += _insert(self.tab, np.ascontiguousarray(keys, np.int64), np.ascontiguousarray(values, np.int64),
                          True)

    def remove(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Delete these keys where they still have these values."""
        gone, _ = _delete(self.tab, np.ascontiguousarray(keys, np.int64), np.ascontiguousarray(values, np.int64),
                          _UNWATCHED, np.empty(len(keys), np.int64))
        self.n -= gone
