"""Several instruments on one clock: the legs of a run and their merged event stream (docs/sim.md, "Several
instruments").

A run replays one or more *legs*: an instrument's events, its venue and the strategy's local view of it, and its
accounting (position, cash, fees in that instrument's money units). A single-instrument run is a run of one leg,
with exactly the arrays, order and run hash it always had.

The merged stream (`merge_streams`) is a merge, never a re-sort: each leg's events keep their own order (their
exchange times need not be sorted: Binance's are not), and the merge key of a leg's event i is the leg's clock
after it, ``max(exch_ts[:i+1])`` — the clock the engines keep for that leg. Ties at one key go to the leg given
first (leg index), then to each leg's own order, so the merge is a pure function of the legs' arrays and their
order on the command line; a LOBSTER message's events (one timestamp) stay together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from hft.core.dtypes import NO_PRICE
from hft.core.errors import SimError


@dataclass(frozen=True)
class LegInput:
    """What the engine needs of one instrument: its canonical events (sorted as the data gave them), its venue,
    the gateway symbol, the local view's kind and seed, reference rows (L3 data with ``l3_resync``) and the money
    factor of its fills (`hft.sim.fees.money_factor`)."""

    events: np.ndarray
    venue: Any
    symbol: str
    book_level: str = "L2"
    seed_levels: Sequence[tuple[int, int, int]] = ()
    reference: np.ndarray | None = None
    multiplier: int = 1


@dataclass(eq=False)
class Leg:
    """One instrument inside the engine: its venue, the strategy's local view of it (book, per-event top,
    the snapshot the strategy sees), reference rows and its accounting (money units of this instrument)."""

    index: int
    symbol: str
    venue: Any
    is_l3: bool
    reference: np.ndarray | None
    local: Any
    top: np.ndarray = field(default_factory=lambda: np.array([NO_PRICE, 0, NO_PRICE, 0], dtype=np.int64))
    local_top: tuple[Any, int, Any, int] = (None, 0, None, 0)
    mult: int = 1
    position: int = 0
    cash: int = 0
    fees: int = 0
    equity_rows: list[tuple] = field(default_factory=list)


class MergedStream(NamedTuple):
    """The legs' events on one clock: ``events`` in merged order, ``leg`` the leg of each event (int64) and
    ``own`` its index in that leg's own array (its reference row)."""

    events: np.ndarray
    leg: np.ndarray
    own: np.ndarray


def merge_streams(streams: Sequence[np.ndarray]) -> MergedStream:
    """Merge the legs' event arrays on one clock (module docstring): key = the leg's running maximum exchange
    time, then the leg index, then the leg's own order."""
    if not streams:
        raise SimError("several instruments: expected at least one event stream, was none")
    dtype = streams[0].dtype
    for k, ev in enumerate(streams):
        if ev.dtype != dtype:
            raise SimError(f"several instruments: expected one event dtype, leg {k} has {ev.dtype}")
    keys = [np.maximum.accumulate(np.asarray(ev["exch_ts"], dtype=np.int64)) if len(ev) else
            np.zeros(0, np.int64) for ev in streams]
    key = np.concatenate(keys)
    leg = np.concatenate([np.full(len(ev), k, dtype=np.int64) for k, ev in enumerate(streams)])
    own = np.concatenate([np.arange(len(ev), dtype=np.int64) for ev in streams])
    order = np.lexsort((own, leg, key))  # the last key is the primary one
    events = np.concatenate(list(streams))[order]
    events.flags.writeable = False
    return MergedStream(events, leg[order], own[order])

