"""The numba engine's big buffers, reused from one run to the next (see `SPARE`)."""

from __future__ import annotations

import weakref

import numpy as np

# The big buffers of the last finished run, reused by the next run (a parameter sweep, a benchmark, the days of a
# many-days run): a fresh array is written in full, and on this kind of machine the first touch of its pages (kernel
# page faults; 144 MB for the 2 M-event matrix) cost more than the replay itself and varied 5x between runs. By
# name: "evm" the event matrix, EVM_ROWS x n, and "evm_legs" the several-legs one, EVM_ROWS_LEGS x n (each taken only
# at the same shape; two names, so that runs of several legs and single-instrument runs in turns, as a benchmark
# or a comparison does them, each find theirs),
# "h" / "orows" / "frows" / "order_info" the in-kernel order path's heap and rows (taken when at least as big;
# contents undefined except "order_info", which is handed back zeroed).
SPARE: dict[str, np.ndarray] = {}
# Spares whose contents are a pure function of one read-only array (the event matrix of a day's events with the
# data's own local times), most recently given first, by name: the next run on the same array takes its matrix as it
# is (`take_of`). Several are kept, so that runs over a few instruments or days in turns (a sweep's cells, each
# instrument of a comparison alone) each find theirs, within `MADE_KEEP` arrays and `MADE_BYTES` a name (the most
# recent one always); the others go back to `SPARE`.
_MADE: dict[str, list[tuple[weakref.ref, np.ndarray]]] = {}
MADE_KEEP = 4
MADE_BYTES = 256 << 20


def take(name: str, shape: tuple[int, int], *, exact: bool = False, zeros: bool = False) -> np.ndarray:
    """An int64 array of `shape` (rows: at least, unless `exact`): the spare one called `name` when it fits,
    else a fresh one (`zeros`: zero-filled, else contents undefined)."""
    a = SPARE.pop(name, None)
    if a is not None and a.shape[1:] == shape[1:] and (
            a.shape[0] == shape[0] or (not exact and a.shape[0] > shape[0])):
        return a
    return np.zeros(shape, dtype=np.int64) if zeros else np.empty(shape, dtype=np.int64)


def take_of(name: str, shape: tuple[int, int], source: np.ndarray | None) -> tuple[np.ndarray, bool]:
    """`take(name, shape, exact=True)`, and whether its contents are already those made from `source` (given back
    with ``give(name, a, source)``, still read-only)."""
    made = _MADE.get(name, [])
    if source is not None and not source.flags.writeable:
        for j, (ref, a) in enumerate(made):
            if ref() is source and a.shape == shape:
                del made[j]
                return a, True
    return take(name, shape, exact=True), False


def give(name: str, a: np.ndarray | None, source: np.ndarray | None = None) -> None:
    """Keep `a` (no longer used by its run, nor by anything the run returned) as a spare called `name`;
    `source`: the read-only array its contents are a pure function of (`take_of`)."""
    if a is None:
        return
    if source is None or source.flags.writeable:
        SPARE[name] = a
        return
    made, stale = [], []
    for r, m in _MADE.get(name, []):
        (made if r() is not None and r() is not source else stale).append((r, m))
    made.insert(0, (weakref.ref(source), a))
    if stale and name not in SPARE:  # a dead source's matrix, or this source's of another shape: still good memory
        SPARE[name] = stale[0][1]
    total = 0
    for j, (_, m) in enumerate(made):
        total += m.nbytes
        if j and (j >= MADE_KEEP or total > MADE_BYTES):
            SPARE[name] = made[j][1]  # the first one over the bounds is the plain spare; the rest are freed
            del made[j:]
            break
    _MADE[name] = made


def grown(a: np.ndarray, need: int) -> np.ndarray:
    """`a` with at least `need` more rows of room (doubled at least), contents kept."""
    out = np.zeros((max(2 * a.shape[0], a.shape[0] + need), *a.shape[1:]), dtype=a.dtype)
    out[: a.shape[0]] = a
    return out
