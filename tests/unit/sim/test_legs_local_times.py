"""Several instruments: each leg's local (arrival) times are its own feed's (docs/sim.md, "Several instruments").
What the strategy sees of leg k in a run of several legs (``ctx.now`` at each of its ``on_book`` calls) is what it
sees in the run of leg k alone, on the numba engine, the Python engine and the independent reference; a slow feed
event of one leg delays no other leg's events; the data's own local times take one shift for the whole run."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from hft.core.dtypes import BUY, EV_LEVEL_SET, FLAG_EOM, empty_events
from hft.sim import latency as L
from hft.sim.engine import Engine, EngineConfig
from hft.sim.engine_nb import NbEngine
from hft.sim.reference import Fees, L2ReferenceVenue, ReferenceConfig, ReferenceEngine, ReferenceLeg
from hft.sim.strategy import Strategy
from tests.unit.sim.agreement import l2_stream, legs_gateway, reference_latency, run_legs, shifted

ENGINES = ["numba", "python", "reference"]


class Seen(Strategy):
    """Records what it sees: (symbol, ctx.now) at each book callback."""

    name = "chaos"

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    def on_book(self, ctx) -> None:
        self.seen.append((ctx.symbol, ctx.now))


def _seen(engine: str, streams: list[np.ndarray], feed: L.LatencyModel | None) -> list[tuple[str, int]]:
    """The book callbacks' (symbol, now) of a run over `streams` (legs S0, S1, ...) on `engine`, with `feed`
    (None: the data's own local times)."""
    s = Seen()
    if engine == "reference":
        symbols = [f"S{k}" for k in range(len(streams))]
        legs = [ReferenceLeg(ev, L2ReferenceVenue("risk_averse", "partial_fill", Fees(-20, 150, 1), 1, capacity=64),
                             sym) for ev, sym in zip(streams, symbols, strict=True)]
        cfg = ReferenceConfig(entry=reference_latency(L.constant(0)), response=reference_latency(L.constant(0)), feed=reference_latency(feed),
                              sample_ns=10**9, strategy="chaos")
        ReferenceEngine.of_legs(legs, legs_gateway(symbols), s, cfg).run()
    else:
        ecfg = EngineConfig(entry=L.constant(0), response=L.constant(0), feed=feed, sample_ns=10**9, strategy="chaos")
        run_legs(streams, s, NbEngine if engine == "numba" else Engine, ecfg)
    return s.seen


def _one(exch: int, local: int, price: int) -> np.ndarray:
    ev = empty_events(1)
    ev[0] = (exch, local, price, 1, 0, 0, EV_LEVEL_SET, BUY, FLAG_EOM)
    return ev


@pytest.mark.parametrize("engine", ENGINES)
def test_a_legs_event_is_seen_at_its_own_feeds_time(engine):
    """Leg 0's feed delivers its event (exchange time 1 us) at 1 ms; leg 1's (exchange time 2 us) at 2.1 us: the
    strategy sees leg 1's first, at 2.1 us, as it does when leg 1 runs alone (it was seen at 1 ms, behind leg 0's)."""
    a = _one(1_000, 1_000_000, 100)
    b = _one(2_000, 2_100, 200)
    assert _seen(engine, [b], None) == [("S0", 2_100)]
    assert _seen(engine, [a, b], None) == [("S1", 2_100), ("S0", 1_000_000)]


@pytest.mark.parametrize("engine", ENGINES)
def test_the_datas_local_times_take_one_shift_for_the_whole_run(engine):
    """The recorded local times are one machine's clock: leg 0's event recorded 5 us before its exchange time
    shifts leg 1's local times by those 5 us too; each leg's are then its own running maximum (leg 0's slow first
    event holds back none of leg 1's)."""
    a = np.concatenate([_one(1_000, 50_000, 100), _one(60_000, 55_000, 101)])  # the second 5 us early
    b = np.concatenate([_one(2_000, 3_000, 200), _one(3_000, 2_500, 201)])
    assert _seen(engine, [a, b], None) == [("S1", 8_000), ("S1", 8_000), ("S0", 55_000), ("S0", 60_000)]


def _per_leg(seen: list[tuple[str, int]], symbol: str) -> list[int]:
    return [t for s, t in seen if s == symbol]


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=12, deadline=None)
@given(seeds=hs.lists(hs.integers(0, 10**6), min_size=2, max_size=3),
       offsets=hs.lists(hs.integers(0, 3_000_000), min_size=3, max_size=3),
       base=hs.integers(0, 500_000), jitter=hs.integers(1, 3_000_000), feed_seed=hs.integers(0, 2**32),
       data=hs.booleans())
def test_each_legs_local_times_are_those_of_its_run_alone(engine, seeds, offsets, base, jitter, feed_seed, data):
    """Random streams (interleaved on the exchange clock) and a random feed latency whose jitter reorders the legs'
    local events, or the data's own local times (random delays): what the strategy sees of each leg at its book
    callbacks is what it sees of that leg alone."""
    rng = np.random.default_rng(feed_seed)
    streams = []
    for k, seed in enumerate(seeds):
        ev = shifted(l2_stream(seed, n_msgs=40), offsets[k], 1000 * k)
        if data:
            ev["local_ts"] = ev["exch_ts"] + rng.integers(0, jitter, len(ev))
        streams.append(ev)
    feed = None if data else L.random(base, jitter, seed=feed_seed)
    seen = _seen(engine, streams, feed)
    for k, ev in enumerate(streams):
        alone = _per_leg(_seen(engine, [ev], feed), "S0")
        assert _per_leg(seen, f"S{k}") == alone, k
    assert [t for _, t in seen] == sorted(t for _, t in seen)  # one clock
