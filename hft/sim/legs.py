"""Several instruments on one clock: the legs of a run and their merged event stream (docs/sim.md, "Several
instruments").

A run replays one or more *legs*: an instrument's events, its venue and the strategy's local view of it, and its
accounting (position, cash, fees in that instrument's money units). A single-instrument run is a run of one leg,
with exactly the arrays, order and run hash it always had.

The merged stream (`merge_streams`) is a merge, never a re-sort: each leg's events keep their own order (their
exchange times need not be sorted: Binance's are not), and the merge key of a leg's event i is the leg's venue
clock at it, ``max(exch_ts[:i+1])`` (`hft.sim.latency.venue_times`). The running maximum of the merged stream's
exchange times is then its keys in order, so the engines' venue clock over the merged stream is each leg's own.
Ties at one key go to the leg given first (leg index), then to each leg's own order, so the merge is a pure
function of the legs' arrays and their order on the command line; a LOBSTER message's events (one timestamp) stay
together.

Local (arrival) times are per leg (`local_stream`): each leg's are computed over its own events exactly as a run of
that leg alone computes them (the feed model's draw i for the leg's own event i, then the running maximum within
the leg), so a slow feed event of one leg delays none of another leg's. The data's own local timestamps are one
machine's clock: one shift for the whole run (the smallest putting no local time of any leg before its exchange
time). The strategy's stream is then the legs' local events merged by local time (ties to the lower leg, then the
leg's own order): its order may differ from the exchange stream's, so the engines walk it through ``order`` (the
merged index of each local event). For one leg both orders are the events' own.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from hft.core.dtypes import NO_PRICE
from hft.core.errors import SimError
from hft.core.jit import njit
from hft.sim.latency import LatencyModel, feed_local_times, venue_times

if TYPE_CHECKING:
    from hft.sim.engine_nb.buffers import Spares


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
    fee_frac: int = 0  # the fees' millionths beyond `fees` (`hft.sim.fees`: exact fees, rounded where reported)
    equity_rows: list[tuple] = field(default_factory=list)


class LocalStream(NamedTuple):
    """The strategy's market data stream (`local_stream`): ``times[j]``, the local time of the j-th local event
    (non-decreasing), and ``order[j]``, its index in the merged (exchange) stream; None for one leg, whose local
    event j is event j."""

    times: np.ndarray
    order: np.ndarray | None


class MergedStream(NamedTuple):
    """The legs' events on one clock: ``events`` in merged order, ``leg`` the leg of each event (int64) and
    ``own`` its index in that leg's own array (its reference row)."""

    events: np.ndarray
    leg: np.ndarray
    own: np.ndarray


@njit(cache=True, nogil=True)
def _merge_order(ts: np.ndarray, starts: np.ndarray, at: np.ndarray, leg: np.ndarray, own: np.ndarray) -> None:
    """The merge of `merge_streams` over the legs' venue clocks `ts` (concatenated, each leg's non-decreasing:
    leg k's are ``ts[starts[k]:starts[k + 1]]``): ``at[j]``, the merged position of concatenated event j, and the
    leg and own index of each merged event. A k-way merge: the smallest key goes first, a tie to the lower leg, a
    leg's events in their own order."""
    nl = starts.shape[0] - 1
    pos = starts[:-1].copy()
    for i in range(ts.shape[0]):
        best = -1
        for k in range(nl):
            if pos[k] < starts[k + 1] and (best < 0 or ts[pos[k]] < ts[pos[best]]):
                best = k
        p = pos[best]
        at[p] = i
        leg[i] = best
        own[i] = p - starts[best]
        pos[best] = p + 1


def merge_streams(streams: Sequence[np.ndarray], spares: Spares | None = None) -> MergedStream:
    """Merge the legs' event arrays on one clock (module docstring): key = the leg's venue clock (the running
    maximum of its exchange times, `venue_times`), then the leg index, then the leg's own order. One numba pass (`_merge_order`) and one copy of each leg's
    events to its merged positions; all three arrays are read-only. `spares`: a run's reusable memory
    (`hft.sim.engine_nb.buffers.Spares`): read-only inputs it saw merged last give that merge back (the same
    objects), and the numba engine's event matrix of it with it (`Spares.take_of`)."""
    if not streams:
        raise SimError("several instruments: expected at least one event stream, was none")
    dtype = streams[0].dtype
    for k, ev in enumerate(streams):
        if ev.dtype != dtype:
            raise SimError(f"several instruments: expected one event dtype, leg {k} has {ev.dtype}")
    frozen = all(not ev.flags.writeable for ev in streams)
    last = spares.merged if spares is not None else None
    if frozen and last is not None and len(last[0]) == len(streams) and all(
            r() is ev for r, ev in zip(last[0], streams, strict=True)):
        return last[1]
    starts = np.zeros(len(streams) + 1, np.int64)
    starts[1:] = np.cumsum([len(ev) for ev in streams])
    n = int(starts[-1])
    at = np.empty(n, np.int64)
    leg = np.empty(n, np.int64)
    own = np.empty(n, np.int64)
    _merge_order(np.concatenate([venue_times(ev["exch_ts"]) for ev in streams]), starts, at, leg, own)
    events = np.empty(n, dtype)
    # records copied as machine words (numpy's fancy assignment of a structured dtype copies field by field: 10x)
    word = np.int64 if dtype.itemsize % 8 == 0 else np.uint8
    width = dtype.itemsize // np.dtype(word).itemsize
    out = events.view(word).reshape(n, width)
    for k, ev in enumerate(streams):
        out[at[starts[k]:starts[k + 1]]] = np.ascontiguousarray(ev).view(word).reshape(len(ev), width)
    for a in (events, leg, own):
        a.flags.writeable = False
    merged = MergedStream(events, leg, own)
    if spares is not None:
        spares.merged = ([weakref.ref(ev) for ev in streams], merged) if frozen else None
    return merged


def local_stream(events: np.ndarray, leg: np.ndarray | None, n_legs: int, feed: LatencyModel | None
                 ) -> LocalStream:
    """The local stream of a run's (merged) `events` (module docstring): each leg's local times are its own
    feed's (`feed_local_times` over the leg's own events: the leg's draws, the leg's running maximum; the data's
    local timestamps one shift for all), then the legs' local events merged by local time, ties to the lower leg,
    then the leg's own order (`_merge_order`). `leg`: the leg of each merged event (None: one leg, the identity
    order)."""
    exch = np.ascontiguousarray(events["exch_ts"])
    local = np.ascontiguousarray(events["local_ts"])
    if leg is None:
        return LocalStream(feed_local_times(exch, local, feed), None)
    n = len(events)
    # each leg's events in its own order, leg after leg (the merge kept each leg's order)
    idx = np.argsort(leg, kind="stable").astype(np.int64)
    starts = np.zeros(n_legs + 1, np.int64)
    starts[1:] = np.cumsum(np.bincount(leg, minlength=n_legs))
    t = feed_local_times(exch[idx], local[idx], feed, starts)
    at = np.empty(n, np.int64)
    _merge_order(t, starts, at, np.empty(n, np.int64), np.empty(n, np.int64))
    times = np.empty(n, np.int64)
    order = np.empty(n, np.int64)
    times[at] = t
    order[at] = idx
    return LocalStream(times, order)
