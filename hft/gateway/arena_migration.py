"""Arenas of an older layout brought to the current one, in place of a replay: what a snapshot written before an
upgrade holds (`hft.live.snapshot` migrates it when the service starts).

One step per layout version, in a registry (`STEPS`: version ``v`` → the function making a ``v + 1`` arena of a
``v`` one); `migrate` chains them up to the current `VERSION`. A step says which tables grew which columns and
what the new columns hold (their documented defaults); it copies every other word as it is, so positions, PnL,
working orders, order ids, the dedup window, counters and limits come through unchanged. A layout no step reads
(another magic, a version without a step, a header that does not add up) gives None: the caller refuses it as
before.

Adding a layout version: bump `VERSION` in `hft.gateway.kernels.layout` and register the step from the previous
one here (tables widened, the new columns' defaults). Pure numpy: no kernel is compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from hft.gateway.kernels.layout import (
    A_SUB2_TS,
    A_SUB_TS,
    H_BASE,
    H_MAGIC,
    H_VERSION,
    HEADER,
    I64_MIN,
    MAGIC,
    N_TABLES,
    S_SUB2_TS,
    T_ACCT,
    T_LIM_ACCT,
    T_LIM_DEF,
    T_LIM_STRAT,
    T_LIM_SYM,
    T_STRAT,
    UNLIMITED,
    UNSET,
    VERSION,
)

__all__ = ["STEPS", "migrate"]

#: layout version v -> the step making a version v + 1 arena of a version v one
STEPS: dict[int, Callable[[np.ndarray], np.ndarray | None]] = {}


def _step(version: int) -> Callable[[Callable[[np.ndarray], np.ndarray | None]],
                                     Callable[[np.ndarray], np.ndarray | None]]:
    def register(fn: Callable[[np.ndarray], np.ndarray | None]) -> Callable[[np.ndarray], np.ndarray | None]:
        if version in STEPS:
            raise RuntimeError(f"hft.gateway.arena_migration: two steps from version {version}")
        STEPS[version] = fn
        return fn
    return register


def _shapes(arena: np.ndarray) -> list[tuple[int, int, int]] | None:
    """The (offset, rows, columns) of each table from `arena`'s header, or None when they do not fit the array."""
    out = []
    for t in range(N_TABLES):
        o, r, c = (int(x) for x in arena[H_BASE + 3 * t: H_BASE + 3 * t + 3])
        if o < HEADER or r < 0 or c < 0 or o + r * c > len(arena):
            return None
        out.append((o, r, c))
    return out


def _widen(old: np.ndarray, version: int, columns: Mapping[int, tuple[int, int]],
           defaults: Mapping[int, Mapping[int, int]]) -> np.ndarray | None:
    """A `version` arena of `old`: table ``t`` of `columns` widened to ``columns[t] = (width, fill)`` (its old
    columns first, the new ones `fill`, then the single columns `defaults` give as ``{t: {column: value}}``),
    every other table copied whole; tables laid out as `hft.gateway.kernels.layout.new_arena` lays them (64-byte
    aligned, in table order)."""
    shapes = _shapes(old)
    if shapes is None:
        return None
    new_shapes = [(r, max(c, columns.get(t, (c, 0))[0])) for t, (_, r, c) in enumerate(shapes)]
    total = HEADER
    offs = []
    for r, c in new_shapes:
        total = (total + 7) // 8 * 8
        offs.append(total)
        total += r * c
    new = np.zeros(total, dtype=np.int64)
    new[:HEADER] = old[:HEADER]
    new[H_VERSION] = version
    for t, ((o, r, c), (_, c2), o2) in enumerate(zip(shapes, new_shapes, offs, strict=True)):
        new[H_BASE + 3 * t: H_BASE + 3 * t + 3] = (o2, r, c2)
        dst = new[o2:o2 + r * c2].reshape((r, c2))
        dst[:, :c] = old[o:o + r * c].reshape((r, c))
        dst[:, c:] = columns.get(t, (c2, 0))[1]
        for col, v in defaults.get(t, {}).items():
            dst[:, col] = v
    return new


@_step(2)
def _v2_to_v3(old: np.ndarray) -> np.ndarray | None:
    """Version 3 holds the submit rate's second window: strategy rows 8 -> 12 columns (the second bucket,
    S_SUB2_TOK / S_SUB2_TS), account rows 4 -> 8 (the account's own two buckets, A_SUB_* / A_SUB2_*), limit rows
    16 -> 24 fields (the second window's count and length among them). The new buckets were never used (their
    time I64_MIN: full at their first use, as in a new arena); the new limit fields are unset at every level (-1:
    inherit) and unlimited in the defaults, as `new_arena` leaves them: no second window, no limit the v2 state did
    not have (a cash of UNLIMITED: no buying-power check; a margin rate of UNLIMITED reads as 1.0)."""
    return _widen(old, 3, {T_STRAT: (12, 0), T_ACCT: (8, 0), T_LIM_DEF: (24, UNLIMITED), T_LIM_ACCT: (24, UNSET),
                           T_LIM_STRAT: (24, UNSET), T_LIM_SYM: (24, UNSET)},
                  {T_STRAT: {S_SUB2_TS: I64_MIN}, T_ACCT: {A_SUB_TS: I64_MIN, A_SUB2_TS: I64_MIN}})


def migrate(arena: object) -> np.ndarray | None:
    """`arena` (a gateway arena of an older layout version) as a current one (`VERSION`), through the registered
    steps; None when it is not an arena or no chain of steps leads from its version (a newer one included)."""
    if not (isinstance(arena, np.ndarray) and arena.dtype == np.int64 and arena.ndim == 1 and len(arena) >= HEADER
            and int(arena[H_MAGIC]) == MAGIC):
        return None
    v = int(arena[H_VERSION])
    out: np.ndarray | None = arena
    while out is not None and v != VERSION:
        step = STEPS.get(v)
        if step is None:
            return None
        out = step(out)
        v += 1
    return out
