"""Latency models for the simulator: order entry, order response, and market-data feed.

All latencies are int64 nanoseconds. A model is a `LatencyModel` NamedTuple of arrays (numba-friendly) and is
evaluated by the jitted `latency_ns(model, t_ns, draw)`:

* ``constant``  — always ``base_ns``.
* ``random``    — ``base_ns + jitter``, jitter drawn from an exponential with mean ``jitter_ns`` (heavy right
                  tail, like real networks), capped at ``cap_ns``; seeded per draw with a counter-based RNG, so
                  the latency of order *n* depends only on (seed, n) — never on evaluation order.
* ``empirical`` — a recorded latency series ``(t_ns, latency_ns)`` linearly interpolated at ``t_ns`` (flat
                  beyond the ends), as hftbacktest's interpolated order latency does.

Feed latency can instead come from the data's own local timestamps (see `feed_local_times`). The venue's own
clock, when the data's exchange times step back, is `venue_times` (the running maximum).

Commands leave the gateway on one session and reach the venues in the order sent (`session_arrival`): a command
whose drawn entry latency would bring it before the one sent before it arrives with that one instead, after it (a
TCP connection delivers in order; a random or recorded latency must not let a bracket child overtake its entry).

Bounds (every model is built by the constructors below, which refuse anything else with a `ConfigError`): a
latency is within ``0..MAX_LATENCY_NS`` (2**60 ns, 36 years); a recorded series' times may be any int64 (the
interpolation subtracts them in uint64). With the engine's event times within ``±MAX_TIME_NS`` (both from the
value domain, `hft.core.bounds`, which the engines check at set-up), a time plus a few latencies (feed, entry,
response) and a sampling period stays below 2**63: the simulator's clock arithmetic never overflows int64 (signed overflow is undefined behaviour
to LLVM, whose answer would then depend on the CPU target).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hft.core.bounds import MAX_ABS_TIME, MAX_LATENCY_NS
from hft.core.errors import ConfigError
from hft.core.jit import helper, njit
from hft.core.rng import uniform01

LAT_CONSTANT = 0
LAT_RANDOM = 1
LAT_EMPIRICAL = 2
LATENCY_KINDS = {"constant": LAT_CONSTANT, "random": LAT_RANDOM, "empirical": LAT_EMPIRICAL}
MAX_TIME_NS = MAX_ABS_TIME  # the largest |time| of an event (`hft.core.bounds`)
_U64 = (1 << 64) - 1


class LatencyModel(NamedTuple):
    """A latency model; see the module docstring. `params` = [kind, base_ns, jitter_ns, cap_ns, seed]."""

    params: np.ndarray  # int64[5]
    times: np.ndarray  # int64[n] (empirical only; else length 1)
    values: np.ndarray  # int64[n]


def constant(ns: int) -> LatencyModel:
    """A constant latency of `ns` nanoseconds."""
    _check_latency(ns, "latency")
    return LatencyModel(np.array([LAT_CONSTANT, ns, 0, ns, 0], np.int64), _ONE.copy(), _ONE.copy())


def random(base_ns: int, jitter_ns: int, seed: int, cap_ns: int | None = None) -> LatencyModel:
    """`base_ns` plus seeded exponential jitter of mean `jitter_ns`, capped at `cap_ns` (default base+20×jitter,
    at most `MAX_LATENCY_NS`). `seed`: any integer, taken modulo 2**64 (the RNG's arithmetic, `hft.core.rng`)."""
    _check_latency(base_ns, "latency.base")
    _check_latency(jitter_ns, "latency.jitter")
    cap = min(base_ns + 20 * jitter_ns, MAX_LATENCY_NS) if cap_ns is None else cap_ns
    _check_latency(cap, "latency.cap")
    if cap < base_ns:
        raise ConfigError(f"latency.cap: expected >= base ({base_ns} ns), was {cap} ns", key="latency.cap")
    # the seed's 64 bits as an int64 (its two's complement): `splitmix64` reads them back as the same uint64
    s64 = (int(seed) & _U64) - ((int(seed) & (1 << 63)) << 1)
    return LatencyModel(np.array([LAT_RANDOM, base_ns, jitter_ns, cap, s64], np.int64), _ONE.copy(), _ONE.copy())


def empirical(times_ns: np.ndarray, latencies_ns: np.ndarray) -> LatencyModel:
    """A recorded latency series, interpolated in time."""
    # own, writable copies: every model then has the one numba type (a read-only series, e.g. a column read from a
    # file, was another type, so each kernel taking a model compiled a second time, which `hft warmup` missed)
    t = np.array(times_ns, dtype=np.int64, order="C")
    v = np.array(latencies_ns, dtype=np.int64, order="C")
    if t.ndim != 1 or t.shape != v.shape or len(t) == 0:
        raise ConfigError("empirical latency: expected two equal-length, non-empty series (t_ns, latency_ns)")
    if np.any(t[1:] < t[:-1]):  # (compared, not subtracted: a difference may pass int64, which numpy wraps)
        raise ConfigError("empirical latency: expected times in non-decreasing order")
    if np.any(v < 0):
        raise ConfigError(f"empirical latency: expected latencies >= 0, found {int(v.min())}")
    if np.any(v > MAX_LATENCY_NS):
        raise ConfigError(f"empirical latency: expected latencies of at most {MAX_LATENCY_NS} ns (2**60), found "
                          f"{int(v.max())}")
    return LatencyModel(np.array([LAT_EMPIRICAL, 0, 0, 0, 0], np.int64), t, v)


@helper
def latency_ns(model: LatencyModel, t_ns: int, draw: int) -> int:
    """Latency at time `t_ns` for the `draw`-th use of this model (the draw index seeds `random`). Inlined into
    numba callers: the constant model is answered there, without a call that passes the model's three arrays
    (~20 machine words; the in-kernel order path draws twice per order round trip)."""
    if model.params[0] == LAT_CONSTANT:
        return model.params[1]
    return _latency_drawn(model, t_ns, draw)


@helper(pure=True)
def session_arrival(arrival: int, last: int) -> int:
    """The venue arrival of a command whose entry latency brings it at `arrival`, the one sent before it having
    arrived at `last`: never before it (module docstring). The engines' one rule (the reference restates it)."""
    return arrival if arrival > last else last


def latency_of(model: LatencyModel, t_ns: int, draw: int) -> int:
    """`latency_ns` for a caller in Python: the helper's own source run by the interpreter (``py_func``), so the
    constant model is answered without a numba call (~2 µs of dispatch and argument unboxing a command or
    report); the others call the compiled `_latency_drawn`, as the kernel does."""
    return int(latency_ns.py_func(model, t_ns, draw))


@njit(cache=True)
def _latency_drawn(model: LatencyModel, t_ns: int, draw: int) -> int:
    """`latency_ns` of a random or empirical model."""
    kind = model.params[0]
    if kind == LAT_RANDOM:
        u = uniform01(model.params[4], draw)
        jitter = -np.log(1.0 - u) * model.params[2]  # u < 1: finite, at most 36.8 x the mean (2**-53 tail)
        base = model.params[1]
        cap = model.params[3]
        # compared as a float first: a jitter past the cap may be past int64 too (its conversion would be poison)
        if jitter >= cap - base:
            return cap
        lat = base + np.int64(jitter)  # jitter < cap - base <= 2**60: exact conversion, no overflow
        return lat if lat < cap else cap
    times = model.times
    vals = model.values
    n = len(times)
    if t_ns <= times[0]:
        return vals[0]
    if t_ns >= times[n - 1]:
        return vals[n - 1]
    hi = np.searchsorted(times, t_ns, side="right")
    lo = hi - 1
    # times[lo] <= t_ns < times[hi]: the differences are in [0, 2**64), exact in uint64 (in int64 they may pass 2**63)
    span = np.uint64(times[hi]) - np.uint64(times[lo])
    if span == 0:
        return vals[hi]
    frac = (np.uint64(t_ns) - np.uint64(times[lo])) / span
    return vals[lo] + np.int64(round((vals[hi] - vals[lo]) * frac))  # |.| <= MAX_LATENCY_NS: no overflow


def feed_local_times(exch_ts: np.ndarray, local_ts: np.ndarray | None, model: LatencyModel | None,
                     starts: np.ndarray | None = None) -> np.ndarray:
    """Local (arrival) times of market data: from a `model` (exch_ts + latency, draw i for event i) or from the
    data's own local timestamps. Data local times earlier than exchange time (a recorder clock behind the venue, as
    in the Binance captures) are shifted by the smallest constant that makes every local time >= its exchange time,
    so causality holds while the recorded jitter is kept. Then the running maximum: the result is non-decreasing.

    `starts`: several legs' events, each leg's in its own order, concatenated (leg k's are
    ``[starts[k]:starts[k + 1]]``; docs/sim.md, "Several instruments"). Each leg's local times are then its own
    feed's, exactly as the leg alone would have them: draw i for the leg's own event i, the running maximum within
    the leg. The data's local timestamps are one machine's clock: one shift for all the legs.
    """
    n = len(exch_ts)
    bounds = starts if starts is not None else np.array([0, n], np.int64)
    if model is not None:
        out = np.empty_like(exch_ts)
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            _model_feed_times(model, exch_ts[a:b], out[a:b])
    else:
        if local_ts is None:
            raise ConfigError("feed latency 'data': expected local timestamps in the data")
        # (times within ±MAX_TIME_NS: their difference fits int64; the shift is bounded as a latency, so the
        # shifted times fit too)
        shift = int(max(0, np.max(exch_ts - local_ts))) if n else 0
        if shift > MAX_LATENCY_NS:
            raise ConfigError(f"feed latency 'data': the local timestamps are {shift} ns behind the exchange's; "
                              f"expected at most {MAX_LATENCY_NS} ns (2**60)", key="latency.feed")
        out = local_ts + shift
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if b > a:
            np.maximum.accumulate(out[a:b], out=out[a:b])
    return out


def venue_times(exch_ts: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The venue's clock at each exchange event: ``max(exch_ts[:i+1])``, the running maximum of the exchange times
    (docs/sim.md, "One clock, four streams"). A feed's exchange times step back (a Binance trade carries its trade
    time ``T``, a depth diff its event time ``E``; a Tardis pair is merged in local time), but the venue applies
    the events in the order given, and an event applied after another cannot have happened before it: event i is
    applied at this time, its reports (fills) carry it, and the engines merge the exchange stream on it.
    Non-decreasing, so an order that reached the venue at time A meets only events at A or later and is never
    filled before A. The one rule of both engines and of the several-legs merge (`hft.sim.legs`); `out`: where to
    write it (else a new array). Every local time of an event is at or after it (`feed_local_times` is
    non-decreasing and never before the event's own exchange time), so a strategy never sees an event before the
    venue applied it."""
    exch_ts = np.asarray(exch_ts, dtype=np.int64)
    if out is None:
        out = np.empty_like(exch_ts)
    if len(exch_ts):
        np.maximum.accumulate(exch_ts, out=out)
    return out


@njit(cache=True)
def _model_feed_times(model: LatencyModel, exch_ts: np.ndarray, out: np.ndarray) -> None:
    for i in range(len(exch_ts)):
        out[i] = exch_ts[i] + latency_ns(model, exch_ts[i], i)


def _check_latency(ns: int, key: str) -> None:
    if int(ns) < 0:
        raise ConfigError(f"{key}: expected a non-negative latency, was {ns} ns", key=key)
    if int(ns) > MAX_LATENCY_NS:
        raise ConfigError(f"{key}: expected a latency of at most {MAX_LATENCY_NS} ns (2**60, 36 years), was {ns} ns",
                          key=key)


_ONE = np.zeros(1, np.int64)
