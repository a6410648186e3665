"""The dedup window: a FIFO ring of decisions indexed by an open-addressing hash table (`_home` blocks keys).

Part of the gateway's numba core; the layout and the pipeline: `hft.gateway.kernels`."""

from __future__ import annotations

import numpy as np

from hft.core.jit import helper
from hft.gateway.kernels.layout import (
    C_DD_BITS,
    C_DD_CAP,
    D_EXPIRY,
    D_FP,
    D_KEY,
    D_OID,
    D_REASON,
    D_SEQ,
    D_TS,
    DD_HASH,
    EMPTY,
    K_DD_COUNT,
    K_DD_EVICTED,
    K_DD_EXPIRED,
    K_DD_HEAD,
    N_D,
    _kernel,
    _kstate,
)


# ======================================================================= hash tables (linear probing)
# A table is 2 int64 columns (key, value) at offset `off` of `b`, 2**bits rows.
@helper
def _home(key, bits):
    """Home bucket of `key` in a table of 2**(bits & 0xFF) rows (Fibonacci hashing).

    ``bits >> 8`` = g > 0 keeps runs of 2**g consecutive keys in 2**g adjacent buckets: the high key bits
    choose the block, the low g bits the bucket inside it. The dedup index uses g = 3 (`DD_HASH`): producers
    number their intents with counters, so consecutive keys then share a cache line (and a page) instead
    of costing a DRAM miss each; strided or random keys still spread over the whole table.

    In uint64 (a product modulo 2**64 is defined; the key's bits as they are, negative ones included).
    Preconditions: ``1 <= n <= 63`` (a shift by ``64 - n`` must stay below 64: `new_arena` sizes every table
    with at least 2 rows) and ``g < n`` for the blocked form. Returns a bucket in ``[0, 2**n)``."""
    g = bits >> 8
    n = bits & 0xFF
    if g == 0 or n <= g:
        return np.int64((np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - n))
    k = np.uint64(key)
    h = ((k >> np.uint64(g)) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - n + g)
    return np.int64((h << np.uint64(g)) | (k & np.uint64((1 << g) - 1)))


@_kernel
def _tab_find(b, off, bits, key):
    """The bucket of `key`, or -1 (linear probing). Terminates: the tables are sized to stay at most half full
    (`new_arena`: 2**bits >= twice the capacity), so every run ends at an EMPTY bucket; buckets ``& mask``."""
    mask = (1 << (bits & 0xFF)) - 1
    i = _home(key, bits)
    while True:
        k = b[off + 2 * i]
        if k == key:
            return i
        if k == EMPTY:
            return -1
        i = (i + 1) & mask


@_kernel
def _tab_insert(b, off, bits, key, val):
    mask = (1 << (bits & 0xFF)) - 1
    i = _home(key, bits)
    while b[off + 2 * i] != EMPTY and b[off + 2 * i] != key:
        i = (i + 1) & mask
    b[off + 2 * i] = key
    b[off + 2 * i + 1] = val


@_kernel
def _tab_delete(b, off, bits, key):
    """Remove `key` with backward-shift deletion (no tombstones)."""
    mask = (1 << (bits & 0xFF)) - 1
    i = _tab_find(b, off, bits, key)
    if i < 0:
        return
    j = i
    while True:
        j = (j + 1) & mask
        k = b[off + 2 * j]
        if k == EMPTY:
            break
        h = _home(k, bits)
        # keep entry j where it is if its home lies cyclically in (i, j]
        if i <= j:
            if i < h <= j:
                continue
        elif h > i or h <= j:
            continue
        b[off + 2 * i] = k
        b[off + 2 * i + 1] = b[off + 2 * j + 1]
        i = j
    b[off + 2 * i] = EMPTY
    b[off + 2 * i + 1] = 0


# ======================================================================= dedup
@_kernel
def _dd_purge(st, now):
    b = st.b
    cap = b[st.cfg + C_DD_CAP]
    c = st.ctr
    while b[c + K_DD_COUNT] > 0:
        e = b[c + K_DD_HEAD]
        r = st.dde + e * N_D
        if b[r + D_EXPIRY] > now:
            break
        k = b[r + D_KEY]
        if k != EMPTY:
            _tab_delete(b, st.ddx, b[st.cfg + C_DD_BITS] | DD_HASH, k)
            b[c + K_DD_EXPIRED] += 1
        b[r + D_KEY] = EMPTY
        b[c + K_DD_HEAD] = e + 1 if e + 1 < cap else 0
        b[c + K_DD_COUNT] -= 1


@helper  # inlined into `_process` (one call less per intent)
def _dd_find(st, key, now):
    """Row offset of a live entry for `key`, or -1."""
    b = st.b
    if b[st.cfg + C_DD_CAP] == 0:
        return -1
    _dd_purge(st, now)
    bits = b[st.cfg + C_DD_BITS] | DD_HASH
    i = _tab_find(b, st.ddx, bits, key)
    if i < 0:
        return -1
    r = st.dde + b[st.ddx + 2 * i + 1] * N_D
    if b[r + D_EXPIRY] <= now:  # out of FIFO order (TTL changed across a restart)
        _tab_delete(b, st.ddx, bits, key)
        b[r + D_KEY] = EMPTY
        b[st.ctr + K_DD_EXPIRED] += 1
        return -1
    return r


@helper  # inlined into `_process` (one call less per intent)
def _dd_insert(st, key, now, expiry, reason, oid, seq, fp, absent):
    """Enter `key`'s decision (evicting the oldest entry when full), `fp` its request's fingerprint (0: not
    known). `absent`: the caller knows `key` has no
    entry (a `_dd_find` miss with no dedup change since), so the search for a stale one is skipped."""
    b = st.b
    cap = b[st.cfg + C_DD_CAP]
    if cap == 0:
        return
    c = st.ctr
    bits = b[st.cfg + C_DD_BITS] | DD_HASH
    old = -1 if absent else _tab_find(b, st.ddx, bits, key)
    if old >= 0:  # replace a stale entry for the same key
        b[st.dde + b[st.ddx + 2 * old + 1] * N_D + D_KEY] = EMPTY
        _tab_delete(b, st.ddx, bits, key)
    if b[c + K_DD_COUNT] == cap:  # evict the oldest
        e = b[c + K_DD_HEAD]
        r = st.dde + e * N_D
        k = b[r + D_KEY]
        if k != EMPTY:
            _tab_delete(b, st.ddx, bits, k)
            b[c + K_DD_EVICTED] += 1
        b[r + D_KEY] = EMPTY
        b[c + K_DD_HEAD] = (e + 1) % cap
        b[c + K_DD_COUNT] -= 1
    e = b[c + K_DD_HEAD] + b[c + K_DD_COUNT]
    if e >= cap:
        e -= cap
    r = st.dde + e * N_D
    b[r + D_KEY] = key
    b[r + D_EXPIRY] = expiry
    b[r + D_TS] = now
    b[r + D_REASON] = reason
    b[r + D_OID] = oid
    b[r + D_SEQ] = seq
    b[r + D_FP] = fp
    for f in range(D_FP + 1, N_D):  # the row's spare fields: an insert writes the whole row (`new_arena`)
        b[r + f] = 0
    _tab_insert(b, st.ddx, bits, key, e)
    b[c + K_DD_COUNT] += 1


@_kernel
def dd_lookup(buf, key, now):
    """(found, reason, order_id, decided_ts, seq) for a live dedup entry."""
    st = _kstate(buf)
    r = _dd_find(st, key, now)
    if r < 0:
        return (0, 0, 0, 0, 0)
    return (1, buf[r + D_REASON], buf[r + D_OID], buf[r + D_TS], buf[r + D_SEQ])


@_kernel
def dd_store(buf, key, now, expiry, reason, oid, seq):
    """Insert or overwrite the entry for `key` (used by load and by direct DedupStore use)."""
    st = _kstate(buf)
    _dd_purge(st, now)
    _dd_insert(st, key, now, expiry, reason, oid, seq, 0, False)


@_kernel
def dd_export(buf, out):
    """Copy live entries in FIFO order into `out` (n, N_D); returns n."""
    st = _kstate(buf)
    cap = buf[st.cfg + C_DD_CAP]
    n = 0
    for j in range(buf[st.ctr + K_DD_COUNT]):
        r = st.dde + ((buf[st.ctr + K_DD_HEAD] + j) % cap) * N_D
        if buf[r + D_KEY] != EMPTY:
            for f in range(N_D):
                out[n, f] = buf[r + f]
            n += 1
    return n


