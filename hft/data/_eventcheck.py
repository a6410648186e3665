"""The event-file check kernel: value ranges and order of a loaded event stream, in one pass.

Pure numba (no I/O) and no polars: a fresh LOBSTER import checks its events here without loading polars.
`check_event_values` (called by `hft.data.events_io.load_events` on every file it loads and by
`hft.data.sources.open_market_data` on every fresh import) turns a non-zero code into a DataValidationError naming
the row (from 1) and the field.

The bounds every stream a kernel replays is held to are `hft.core.bounds` (the value domain, declared once): times,
prices (`value_fault`, the same rule as the engines' intake) and the stream's total quantity.
"""

from __future__ import annotations

import numpy as np

from hft.core.bounds import (
    FAULT_EXCH_TS,
    FAULT_NONE,
    FAULT_PRICE,
    MAX_TOTAL_QTY,
    expected,
    value_fault,
)
from hft.core.dtypes import EVENT_FIELDS, EVENT_KIND_NAMES
from hft.core.errors import DataValidationError
from hft.core.jit import njit

CHECK_OK = 0
CHECK_KIND = 1  # kind not one of the EV_* codes
CHECK_SIDE = 2  # side not -1, 0 or 1
CHECK_QTY = 3  # negative quantity
CHECK_ORDER = 4  # local_ts goes back in time
CHECK_PRICE = 5  # |price| past the value domain (`hft.core.bounds`)
CHECK_LOCAL_TS = 6  # |local_ts| past it
CHECK_EXCH_TS = 7  # |exch_ts| past it
CHECK_TOTAL_QTY = 8  # the quantities so far sum past MAX_TOTAL_QTY

CHECK_NAMES = {CHECK_KIND: "kind", CHECK_SIDE: "side", CHECK_QTY: "qty", CHECK_ORDER: "local_ts",
               CHECK_PRICE: "price", CHECK_LOCAL_TS: "local_ts", CHECK_EXCH_TS: "exch_ts", CHECK_TOTAL_QTY: "qty"}
MAX_KIND = max(EVENT_KIND_NAMES)


@njit(cache=True, nogil=True)
def check_events(kind: np.ndarray, side: np.ndarray, qty: np.ndarray, local_ts: np.ndarray, exch_ts: np.ndarray,
                 price: np.ndarray, max_kind: int) -> tuple[int, int]:
    """(code, row) of the first bad row (``CHECK_*``), or (CHECK_OK, -1). The columns are of one length."""
    prev = np.int64(-(2 ** 63))
    total = 0  # the quantities so far: <= MAX_TOTAL_QTY, so the check below never overflows
    for i in range(kind.shape[0]):
        k = kind[i]
        if k < 1 or k > max_kind:
            return CHECK_KIND, i
        s = side[i]
        if s < -1 or s > 1:
            return CHECK_SIDE, i
        q = qty[i]
        if q < 0:
            return CHECK_QTY, i
        if q > MAX_TOTAL_QTY - total:
            return CHECK_TOTAL_QTY, i
        total += q
        t = local_ts[i]
        f = value_fault(exch_ts[i], t, price[i])  # the value domain (`hft.core.bounds`)
        if f == FAULT_PRICE:
            return CHECK_PRICE, i
        if f == FAULT_EXCH_TS:
            return CHECK_EXCH_TS, i
        if f != FAULT_NONE:
            return CHECK_LOCAL_TS, i
        if t < prev:
            return CHECK_ORDER, i
        prev = t
    return CHECK_OK, -1


# --- content digest ---------------------------------------------------------------------------------------------
# A 64-bit digest of the event columns, 4 independent lanes (xxHash64's round and primes) so it runs near memory
# speed: it detects damaged or foreign data; it is not a signature (whoever rewrites the data can rewrite it).
_P1 = np.uint64(0x9E3779B185EBCA87)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_P3 = np.uint64(0x165667B19E3779F9)


@njit(cache=True, nogil=True)
def _rotl(x: np.uint64, r: int) -> np.uint64:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def _frozen(a: np.ndarray) -> np.ndarray:
    """A read-only view of `a`: a kernel below sees one array type whether its caller's array is writable or not
    (numba compiles one specialisation per flag)."""
    v = a.view()
    v.flags.writeable = False
    return v


def digest_words(words: np.ndarray, seed: np.uint64) -> np.uint64:
    """64-bit digest of a uint64 array, chained from `seed` (pass an np.uint64: a Python int types as int64)."""
    return _digest_words(_frozen(words), seed)


def digest_bytes(data: np.ndarray, seed: np.uint64) -> np.uint64:
    """64-bit digest of a uint8 array (the one-byte columns), chained from `seed`."""
    return _digest_bytes(_frozen(data), seed)


@njit(cache=True, nogil=True)
def _digest_words(words: np.ndarray, seed: np.uint64) -> np.uint64:
    seed = np.uint64(seed)
    a = seed + _P1
    b = seed + _P2
    c = seed ^ _P3
    d = seed - _P1
    n = words.shape[0]
    i = 0
    while i + 4 <= n:
        a = _rotl(a + words[i] * _P2, 31) * _P1
        b = _rotl(b + words[i + 1] * _P2, 31) * _P1
        c = _rotl(c + words[i + 2] * _P2, 31) * _P1
        d = _rotl(d + words[i + 3] * _P2, 31) * _P1
        i += 4
    h = _rotl(a, 1) + _rotl(b, 7) + _rotl(c, 12) + _rotl(d, 18) + np.uint64(n)
    while i < n:
        h = _rotl(h ^ (_rotl(words[i] * _P2, 31) * _P1), 27) * _P1 + _P3
        i += 1
    h ^= h >> np.uint64(33)
    h *= _P2
    h ^= h >> np.uint64(29)
    h *= _P3
    h ^= h >> np.uint64(32)
    return h


@njit(cache=True, nogil=True)
def _digest_bytes(data: np.ndarray, seed: np.uint64) -> np.uint64:
    h = np.uint64(seed) + _P3 + np.uint64(data.shape[0])
    for i in range(data.shape[0]):
        h = _rotl(h ^ (np.uint64(data[i]) * _P1), 11) * _P2
    h ^= h >> np.uint64(29)
    h *= _P3
    h ^= h >> np.uint64(32)
    return h


def check_event_values(events: np.ndarray, source: str, *, unit: str = "row") -> None:
    """Refuse an unknown kind, a side outside -1/0/1, a negative qty, local_ts going back, or a value past the
    bounds in the module docstring (one numba pass).

    `unit` names what the events are counted in, from 1: an event file's ``row`` (its Parquet row: the error's
    ``line``); ``event`` for a stream an importer built, whose events are not the source file's rows (the importers
    check their rows' values themselves, naming the file's line).

    Raises:
        DataValidationError: naming `source`, the row (event) and the field.
    """
    code, row = check_events(*(_frozen(events[f]) for f in ("kind", "side", "qty", "local_ts", "exch_ts", "price")),
                             MAX_KIND)
    if code == CHECK_OK:
        return
    name = CHECK_NAMES[int(code)]
    value = int(events[name][row])
    expected_ = {CHECK_KIND: f"an event kind 1..{MAX_KIND}", CHECK_SIDE: "-1, 0 or 1", CHECK_QTY: "a quantity >= 0",
                 CHECK_ORDER: f"times in order (>= {int(events['local_ts'][row - 1]) if row > 0 else 0})",
                 CHECK_PRICE: expected("price"), CHECK_LOCAL_TS: expected("local_ts"),
                 CHECK_EXCH_TS: expected("exch_ts"),
                 CHECK_TOTAL_QTY: f"{expected('total_qty')}, {int(events['qty'][:row].sum())} before this {unit}",
                 }[int(code)]
    what = f"{unit}s out of time order" if code == CHECK_ORDER else f"{name} {value}"
    n = int(row) + 1
    raise DataValidationError(f"{source}: {unit} {n}: {what}; expected {expected_}", file=source,
                              **({"line": n} if unit == "row" else {unit: n}), key=name, expected=expected_,
                              found=value)


def content_hash(columns: dict[str, np.ndarray] | np.ndarray) -> str:
    """Digest (``xh64:`` + 16 hex) of the event columns' values in `EVENT_FIELDS` order (padding never enters it).

    A 64-bit, 4-lane numba digest (`hft.data._eventcheck.digest_words`): near memory speed, for damage and foreign
    files; not a signature.
    """
    from hft.core.selftest import ensure  # lazy: keeps the self-test out of the kernels' cache key
    ensure("events")  # the digest kernels answered right on this CPU target
    h = np.uint64(0)
    for name in EVENT_FIELDS:
        col = np.ascontiguousarray(columns[name])
        if col.dtype.itemsize == 8:  # numba hands back a Python int: keep the seed uint64-typed
            h = np.uint64(digest_words(col.view(np.uint64), h))
        else:
            h = np.uint64(digest_bytes(col.view(np.uint8), h))
    return f"xh64:{int(h):016x}"
