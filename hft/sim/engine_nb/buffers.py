"""The numba engine's big buffers, reused from one run to the next that is given the same `Spares`."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

MADE_KEEP = 4
MADE_BYTES = 256 << 20


class Spares:
    """The big buffers of finished runs, for the next run given the same `Spares` (a parameter sweep's cells, a
    benchmark's repeats, the sessions of a many-days run): a fresh array is written in full, and the first touch of
    its pages (kernel page faults; 144 MB for a 2 M-event matrix) can cost more than the replay itself. An engine
    built without one takes fresh buffers and nothing outlives its run (no process-wide pool).

    By name: "evm" the event matrix, EVM_ROWS x n, and "evm_legs" the several-legs one, EVM_ROWS_LEGS x n (each
    taken only at the same shape; two names, so that runs of several legs and single-instrument runs in turns each
    find theirs), "h" / "orows" / "frows" / "order_info" the in-kernel order path's heap and rows (taken when at
    least as big; contents undefined except "order_info", which is handed back zeroed). Spares whose contents are a
    pure function of one read-only array (the event matrix of a day's events with the data's own local times) are
    kept by that array, most recently given first: the next run on the same array takes its matrix as it is
    (`take_of`); several, so that runs over a few instruments or days in turns each find theirs, within `MADE_KEEP`
    arrays and `MADE_BYTES` a name (the most recent one always); the others go back to the plain spares.
    ``merged`` is the last merge of read-only event streams (`hft.sim.legs.merge_streams`), with its inputs
    weakly."""

    __slots__ = ("_made", "_spare", "merged")

    def __init__(self) -> None:
        self._spare: dict[str, np.ndarray] = {}
        self._made: dict[str, list[tuple[weakref.ref, np.ndarray]]] = {}
        self.merged: tuple[list[weakref.ref], Any] | None = None

    def take(self, name: str, shape: tuple[int, int], *, exact: bool = False, zeros: bool = False) -> np.ndarray:
        """An int64 array of `shape` (rows: at least, unless `exact`): the spare one called `name` when it fits,
        else a fresh one (`zeros`: zero-filled, else contents undefined)."""
        a = self._spare.pop(name, None)
        if a is not None and a.shape[1:] == shape[1:] and (
                a.shape[0] == shape[0] or (not exact and a.shape[0] > shape[0])):
            return a
        return np.zeros(shape, dtype=np.int64) if zeros else np.empty(shape, dtype=np.int64)

    def take_of(self, name: str, shape: tuple[int, int], source: np.ndarray | None) -> tuple[np.ndarray, bool]:
        """``take(name, shape, exact=True)``, and whether its contents are already those made from `source` (given
        back with ``give(name, a, source)``, still read-only)."""
        made = self._made.get(name, [])
        if source is not None and not source.flags.writeable:
            for j, (ref, a) in enumerate(made):
                if ref() is source and a.shape == shape:
                    del made[j]
                    return a, True
        return self.take(name, shape, exact=True), False

    def give(self, name: str, a: np.ndarray | None, source: np.ndarray | None = None) -> None:
        """Keep `a` (no longer used by its run, nor by anything the run returned) as a spare called `name`;
        `source`: the read-only array its contents are a pure function of (`take_of`)."""
        if a is None:
            return
        if source is None or source.flags.writeable:
            self._spare[name] = a
            return
        made, stale = [], []
        for r, m in self._made.get(name, []):
            (made if r() is not None and r() is not source else stale).append((r, m))
        made.insert(0, (weakref.ref(source), a))
        if stale and name not in self._spare:  # a dead source's matrix, or this source's of another shape
            self._spare[name] = stale[0][1]
        total = 0
        for j, (_, m) in enumerate(made):
            total += m.nbytes
            if j and (j >= MADE_KEEP or total > MADE_BYTES):
                self._spare[name] = made[j][1]  # the first one over the bounds is the plain spare; the rest freed
                del made[j:]
                break
        self._made[name] = made

    def spare(self, name: str) -> np.ndarray | None:
        """The plain spare called `name`, if any (left in place)."""
        return self._spare.get(name)


def grown(a: np.ndarray, need: int) -> np.ndarray:
    """`a` with at least `need` more rows of room (doubled at least), contents kept."""
    out = np.zeros((max(2 * a.shape[0], a.shape[0] + need), *a.shape[1:]), dtype=a.dtype)
    out[: a.shape[0]] = a
    return out
