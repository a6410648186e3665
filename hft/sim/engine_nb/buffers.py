"""The numba engine's big buffers, reused from one run to the next (see `SPARE`)."""

from __future__ import annotations

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


def take(name: str, shape: tuple[int, int], *, exact: bool = False, zeros: bool = False) -> np.ndarray:
    """An int64 array of `shape` (rows: at least, unless `exact`): the spare one called `name` when it fits,
    else a fresh one (`zeros`: zero-filled, else contents undefined)."""
    a = SPARE.pop(name, None)
    if a is not None and a.shape[1:] == shape[1:] and (
            a.shape[0] == shape[0] or (not exact and a.shape[0] > shape[0])):
        return a
    return np.zeros(shape, dtype=np.int64) if zeros else np.empty(shape, dtype=np.int64)


def give(name: str, a: np.ndarray | None) -> None:
    """Keep `a` (no longer used by its run, nor by anything the run returned) as the spare called `name`."""
    if a is not None:
        SPARE[name] = a


def grown(a: np.ndarray, need: int) -> np.ndarray:
    """`a` with at least `need` more rows of room (doubled at least), contents kept."""
    out = np.zeros((max(2 * a.shape[0], a.shape[0] + need), *a.shape[1:]), dtype=a.dtype)
    out[: a.shape[0]] = a
    return out
