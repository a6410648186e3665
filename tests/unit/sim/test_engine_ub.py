"""The numba engine's arithmetic at its boundaries (issue 50: no undefined behaviour, the same answer on every CPU
target): the latency draws and the RNG at their extremes against pure-Python oracles, the fee of the largest fills,
the engine's intake bounds (times, prices, durations), the strategy kernels' products at their parameter bounds,
and uninitialised memory: every Python-side ``np.empty`` and every reused buffer poisoned with two byte patterns
gives the same run hash.
"""

from __future__ import annotations

import ctypes
import math
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from hft.core.bounds import MAX_ABS_PRICE, expected
from hft.core.dtypes import BUY, EV_LEVEL_SET, EV_TRADE, FLAG_EOM, NO_PRICE, SELL, empty_events
from hft.core.errors import ConfigError, SimError
from hft.core.orders import INTENT_CANCEL
from hft.core.rng import splitmix64, uniform01
from hft.sim import latency as L
from hft.sim.engine import Engine, EngineConfig, L2MarketVenue
from hft.sim.engine_nb import NbEngine
from hft.sim.engine_nb import buffers as B
from hft.sim.engine_nb.state import (
    EVM_ROWS,
    F_COLS,
    H_COLS,
    IN_CANCEL,
    IN_COLS,
    IN_SUBMIT,
    LM_COLS,
    LM_POS,
    MAX_INTENTS,
    N_STATE,
    O_COLS,
    OI_COLS,
    S_HI,
    S_LEG,
    S_NORD,
    S_POS,
    S_SKID,
    S_SPARAMS,
    SK_HEDGED_MM,
    SK_MM,
    SO_COLS,
    SO_ID,
    SO_STATUS,
)
from hft.sim.engine_nb.strategy_kernels import (
    MM_MAX_POS,
    MM_MAX_QTY,
    MM_MAX_SKEW,
    float_param,
    strategy_on_book,
)
from hft.sim.exchange_l2 import MODE_PARTIAL_FILL, L2Venue
from hft.sim.fees import FEE_REFUSED, MAX_ABS_BPS_H, FeeSchedule, fee_money, fee_py
from hft.sim.gateway_setup import sim_gateway_config
from hft.sim.queue_models import parse_queue_model
from hft.sim.strategies import make_strategy

U64 = (1 << 64) - 1
P62 = MAX_ABS_PRICE  # the largest |price| the engine takes (`hft.core.bounds`)
I64_MAX = (1 << 63) - 1


# --- pure-Python oracles (no code shared with the kernels) ---------------------------------------------------------
def splitmix_py(seed: int, counter: int) -> int:
    z = (seed + (counter + 1) * 0x9E3779B97F4A7C15) & U64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & U64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & U64
    return z ^ (z >> 31)


def random_latency_py(base: int, jitter: int, cap: int, seed: int, draw: int) -> int:
    u = (splitmix_py(seed & U64, draw) >> 11) * (1.0 / 9007199254740992.0)
    j = -math.log(1.0 - u) * jitter
    if j >= cap - base:
        return cap
    return min(base + int(j), cap)


# --- the RNG and the random latency model ----------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, I64_MAX, -1, -(1 << 63)])
@pytest.mark.parametrize("counter", [0, 1, I64_MAX - 1, I64_MAX])
def test_splitmix64_wraps_modulo_2_64_at_the_extremes(seed, counter):
    assert int(splitmix64(seed, counter)) == splitmix_py(seed & U64, counter)
    assert 0.0 <= uniform01(seed, counter) < 1.0


def test_random_latency_of_the_largest_jitter_is_capped_not_converted_past_int64():
    """A jitter of mean 2**60 draws values up to ~36.7 x 2**60, past int64: the draw compares with the cap as a float
    before any conversion (an out-of-range float to int64 is poison to LLVM, whose value depends on the target)."""
    m = L.random(0, L.MAX_LATENCY_NS, seed=9, cap_ns=L.MAX_LATENCY_NS)
    got = [L.latency_ns(m, 0, d) for d in range(3000)]
    assert got == [random_latency_py(0, L.MAX_LATENCY_NS, L.MAX_LATENCY_NS, 9, d) for d in range(3000)]
    assert max(got) == L.MAX_LATENCY_NS and min(got) >= 0
    assert got.count(L.MAX_LATENCY_NS) > 100  # P(jitter > mean) = 1/e: the cap path is taken


@given(base=st.integers(0, 10**12), jitter=st.integers(0, 10**12), seed=st.integers(-(1 << 80), 1 << 80),
       draw=st.integers(0, I64_MAX))
@settings(max_examples=200, deadline=None)
def test_random_latency_is_the_oracle(base, jitter, seed, draw):
    m = L.random(base, jitter, seed=seed)
    cap = int(m.params[3])
    assert cap == min(base + 20 * jitter, L.MAX_LATENCY_NS)
    assert L.latency_ns(m, 0, draw) == random_latency_py(base, jitter, cap, seed, draw)


def test_any_integer_seed_is_taken_modulo_2_64():
    """`config.seed * 1_000_003 + salt` (hft.sim.replay.engine_config) passes int64 for large seeds: the model keeps
    its 64 bits, so seed s and s + 2**64 draw alike, and small seeds are unchanged."""
    draws = [L.latency_ns(L.random(1000, 500, seed=s), 0, d) for s in (5, 5 + (1 << 64), 5 - (1 << 64))
             for d in range(20)]
    assert draws[:20] == draws[20:40] == draws[40:]
    big = 10**13 * 1_000_003 + 1  # past 2**63: refused before (numpy's OverflowError), now wrapped
    assert int(L.random(0, 10, seed=big).params[4]) & U64 == big & U64


@pytest.mark.parametrize("bad, key", [
    (lambda: L.constant(L.MAX_LATENCY_NS + 1), "latency"),
    (lambda: L.random(L.MAX_LATENCY_NS + 1, 0, seed=0), "latency.base"),
    (lambda: L.random(0, L.MAX_LATENCY_NS + 1, seed=0), "latency.jitter"),
    (lambda: L.random(0, 1, seed=0, cap_ns=L.MAX_LATENCY_NS + 1), "latency.cap"),
])
def test_latencies_past_the_bound_are_refused_naming_the_key(bad, key):
    with pytest.raises(ConfigError, match="expected a latency of at most") as ei:
        bad()
    assert ei.value.fields["key"] == key
    L.constant(L.MAX_LATENCY_NS)  # the bound itself is a latency


def test_empirical_series_bounds():
    """The widest series, times 2**64 - 2 apart: interpolated exactly (its differences are taken in uint64; in int64
    a span past 2**63 wrapped to a negative latency); latencies past the bound are refused."""
    t = np.array([-I64_MAX, I64_MAX], np.int64)
    m = L.empirical(t, np.array([0, L.MAX_LATENCY_NS], np.int64))
    assert L.latency_ns(m, 0, 0) == L.MAX_LATENCY_NS // 2
    assert L.latency_ns(m, 1 << 62, 0) == (3 * L.MAX_LATENCY_NS) // 4
    assert L.latency_ns(m, -I64_MAX + 1, 0) == 0 and L.latency_ns(m, I64_MAX, 0) == L.MAX_LATENCY_NS
    near = L.empirical(np.array([(1 << 62) - 2, 1 << 62], np.int64), np.array([L.MAX_LATENCY_NS, 0], np.int64))
    assert L.latency_ns(near, (1 << 62) - 1, 0) == L.MAX_LATENCY_NS // 2
    with pytest.raises(ConfigError, match=r"expected latencies of at most 1152921504606846976 ns"):
        L.empirical(np.array([0], np.int64), np.array([L.MAX_LATENCY_NS + 1], np.int64))


def test_feed_from_data_refuses_a_shift_past_the_latency_bound():
    """The widest shift (local times 2**63 - 2 behind) is computed without wrapping, and refused."""
    ex = np.array([L.MAX_TIME_NS, L.MAX_TIME_NS], np.int64)
    loc = np.array([-L.MAX_TIME_NS, 0], np.int64)
    with pytest.raises(ConfigError, match="local timestamps are 9223372036854775806 ns behind"):
        L.feed_local_times(ex, loc, None)
    ok = L.feed_local_times(ex, ex - L.MAX_LATENCY_NS, None)
    assert ok.tolist() == ex.tolist()


# --- fees ------------------------------------------------------------------------------------------------------
@given(value_log=st.integers(0, 62), bps_h=st.integers(-MAX_ABS_BPS_H, MAX_ABS_BPS_H), per_lot=st.integers(-9, 9),
       data=st.data())
@settings(max_examples=400, deadline=None)
def test_fee_of_any_value_that_fits_is_the_exact_rounding(value_log, bps_h, per_lot, data):
    """`value * bps_h` passes 2**63 from a value of 9.2e12 at 10,000 bp: the fee is still exact (unbounded Python
    integers as the oracle), and ties round to even on the full quotient; a fee past int64 (a per-lot charge on
    ~2**63 lots) is `FEE_REFUSED`, never a wrapped number."""
    value = data.draw(st.integers(0, min(I64_MAX, (1 << value_log) * 3)))
    want = fee_py(1, value, 1, bps_h, per_lot)  # exact (a fraction): whole units = its floor
    whole, frac = (int(x) for x in fee_money(1, value, 1, bps_h, per_lot))
    if abs(math.floor(want)) <= I64_MAX:
        assert whole + Fraction(frac, 1_000_000) == want and 0 <= frac < 1_000_000
    else:
        assert whole == FEE_REFUSED


@pytest.mark.parametrize("value, bps_h", [
    (I64_MAX, MAX_ABS_BPS_H), (I64_MAX, -MAX_ABS_BPS_H), (I64_MAX, 1), (I64_MAX - 1, 500_000),
    (1_500_000, 1), (2_500_000, 1), (1_000_000 + 500_000, -1), (2 * 10**12 + 500_000, 1), (3 * 10**12 + 500_000, 1),
    (10**6 * 5 + 500_000, 1), (10**6 * 4 + 500_000, 1), (500_000, 3), (2**62 + 500_000, 1),
])
def test_fee_at_the_extremes_and_ties(value, bps_h):
    def exact(f):
        return int(f[0]) + Fraction(int(f[1]), 1_000_000)

    assert exact(fee_money(1, value, 1, bps_h, 0)) == fee_py(1, value, 1, bps_h, 0)
    per = -7 if bps_h > 0 else 7  # (the fee itself must fit)
    assert exact(fee_money(value, 1, 1, bps_h, per)) == fee_py(value, 1, 1, bps_h, per)


# --- the engine's intake ----------------------------------------------------------------------------------------
def _stream(n: int = 60, t0: int = 1_000_000_000, mid: int = 1000) -> np.ndarray:
    ev = empty_events(2 * n)
    for i in range(n):
        t = t0 + i * 1_000_000
        bid, ask = mid - 1 - (i % 3), mid + 1 + (i % 2)
        ev[2 * i] = (t, t + 500, bid, 10 + i % 5, 0, 2 * i, EV_LEVEL_SET, BUY, 0)
        ev[2 * i + 1] = (t, t + 500, ask, 10 + i % 7, 0, 2 * i + 1, EV_LEVEL_SET, SELL, FLAG_EOM)
        if i % 9 == 4:  # a trade through our likely quotes
            ev[2 * i] = (t, t + 500, bid, 3, 0, 2 * i, EV_TRADE, SELL, FLAG_EOM)
    return ev


def _engine(ev, strategy=None, *, sample_ns=5_000_000, entry=None, resp=None, feed=None, spares=None):
    return _engine_cls(NbEngine, ev, strategy, sample_ns=sample_ns, entry=entry, resp=resp, feed=feed, spares=spares)


def _engine_cls(cls, ev, strategy=None, *, sample_ns=5_000_000, entry=None, resp=None, feed=None, spares=None):
    venue = L2MarketVenue(L2Venue(None, parse_queue_model("risk_averse"), MODE_PARTIAL_FILL, FeeSchedule(-20, 150, 1), 1,
                                  capacity=64))
    cfg = sim_gateway_config("X", "mm")

    def factory(clock, dispatcher, sink, cfg=cfg):
        from hft.gateway import GatewayService

        return GatewayService(cfg, clock=clock, dispatcher=dispatcher, sink=sink)

    ecfg = EngineConfig(entry=entry or L.constant(1_000_000), response=resp or L.constant(1_000_000), feed=feed,
                        sample_ns=sample_ns, strategy="mm")
    return cls(ev, venue, factory, strategy or make_strategy("mm", {"size": 2}), "X", ecfg, spares=spares)


@pytest.mark.parametrize("cls", [NbEngine, Engine])  # the reference refuses what the numba engine refuses
@pytest.mark.parametrize("field, value, row", [
    ("exch_ts", L.MAX_TIME_NS + 1, 7), ("local_ts", L.MAX_TIME_NS + 1, 0), ("exch_ts", -L.MAX_TIME_NS - 1, 3),
    ("price", MAX_ABS_PRICE + 1, 0), ("price", -MAX_ABS_PRICE - 1, 0), ("price", NO_PRICE, 5),
])
def test_times_and_prices_past_the_engine_range_are_refused_naming_the_event(field, value, row, cls):
    ev = _stream()
    if field == "local_ts":
        ev["local_ts"][row:] = value  # (in order)
    else:
        ev[field][row] = value
    # refused at set-up (before a book is sized from the events: `check_events`), by both engines alike
    with pytest.raises(SimError, match=rf"^event {row + 1}: {field} {value}: expected {re.escape(expected(field))}, "):
        _engine_cls(cls, ev)


def test_the_engine_range_itself_runs():
    """Times at the domain's edge (2**62 - 1) minus a second, latencies at theirs: every sum the loop forms (time +
    entry + response latency) fits int64."""
    ev = _stream(t0=L.MAX_TIME_NS - 10**9)
    ev["local_ts"] = ev["exch_ts"]
    out = _engine(ev, entry=L.constant(L.MAX_LATENCY_NS), resp=L.constant(L.MAX_LATENCY_NS)).run()
    assert len(out.orders) > 0 and int(out.orders["ts"].max()) >= L.MAX_TIME_NS - 10**9
    assert int(out.acks["ack_ts"].max()) >= L.MAX_TIME_NS - 10**9 + 2 * L.MAX_LATENCY_NS  # past 2**62: no wrap


@pytest.mark.parametrize("cls", [NbEngine, Engine])
@pytest.mark.parametrize("kw, what", [({"sample_ns": L.MAX_LATENCY_NS + 1}, "sample")])
def test_durations_past_the_bound_are_refused(kw, what, cls):
    with pytest.raises(SimError, match=rf"^{what}: expected 0 to {L.MAX_LATENCY_NS} ns"):
        _engine_cls(cls, _stream(), **kw).run()


@pytest.mark.parametrize("cls", [NbEngine, Engine])
def test_a_strategy_timer_past_the_bound_is_refused(cls):
    s = make_strategy("mm", {})
    s.timer_ns = L.MAX_LATENCY_NS + 1
    with pytest.raises(SimError, match=r"^strategy timer_ns: expected 0 to"):
        _engine_cls(cls, _stream(), s).run()


# --- strategy kernels at their bounds ---------------------------------------------------------------------------
def _kernel_inputs(skid, params, pos, bid, ask, legs=1, pos1=0):
    st_ = np.zeros(N_STATE, np.int64)
    st_[S_SKID] = skid
    st_[S_POS] = pos
    st_[S_SPARAMS: S_SPARAMS + len(params)] = params
    tops = np.zeros((legs, 8), np.int64)
    tops[:, 4:] = (bid, 5, ask, 5)
    lm = np.zeros((legs, LM_COLS), np.int64)
    lm[0, LM_POS] = pos
    if legs > 1:
        lm[1, LM_POS] = pos1
    sord = np.zeros((4, SO_COLS), np.int64)
    intents = np.zeros((MAX_INTENTS, IN_COLS), np.int64)
    return st_, tops, sord, intents, lm


def mm_py(bid, ask, pos, size, max_pos, edge, skew):
    """`mm`'s rule for a leg with no orders (hft.sim.strategies.mm), Python integers."""
    out = []
    for side, want in ((BUY, min(bid - edge - pos * skew, ask - 1)), (SELL, max(ask + edge - pos * skew, bid + 1))):
        room = max_pos - side * pos
        if room > 0:
            out.append((IN_SUBMIT, side, want, min(size, room)))
    return out


@pytest.mark.parametrize("bid, ask, pos, edge, skew", [
    (P62 - 2, P62, MM_MAX_POS, MM_MAX_QTY, MM_MAX_SKEW),
    (-P62, -P62 + 3, -MM_MAX_POS, MM_MAX_QTY, MM_MAX_SKEW),
    (-P62, -P62 + 3, MM_MAX_POS, -MM_MAX_QTY, -MM_MAX_SKEW),
    (100, 102, -MM_MAX_POS, -MM_MAX_QTY, MM_MAX_SKEW),
    (-P62, -P62 + 3, MM_MAX_POS, MM_MAX_QTY, MM_MAX_SKEW),  # the lowest bid: -2**60 - 2**40 - 2**61
    (P62 - 2, P62, -MM_MAX_POS, MM_MAX_QTY, MM_MAX_SKEW),  # the highest ask: 2**60 + 2**40 + 2**61
])
def test_mm_kernel_at_its_bounds_is_the_python_rule(bid, ask, pos, edge, skew):
    params = [MM_MAX_QTY, MM_MAX_QTY, edge, skew]
    st_, tops, sord, intents, lm = _kernel_inputs(SK_MM, params, pos, bid, ask)
    n = strategy_on_book(st_, tops[0, 4:], sord, intents, tops, lm)
    assert [tuple(r[:4]) for r in intents[:n].tolist()] == mm_py(bid, ask, pos, MM_MAX_QTY, MM_MAX_QTY, edge, skew)


def test_mm_quotes_nothing_beyond_its_position_bound():
    st_, tops, sord, intents, lm = _kernel_inputs(SK_MM, [1, MM_MAX_QTY, 0, MM_MAX_SKEW], MM_MAX_POS + 1, 100, 102)
    assert strategy_on_book(st_, tops[0, 4:], sord, intents, tops, lm) == 0


@pytest.mark.parametrize("params, name", [
    ({"size": MM_MAX_QTY + 1}, "size"), ({"max_position": MM_MAX_QTY + 1}, "max_position"),
    ({"edge_ticks": -MM_MAX_QTY - 1}, "edge_ticks"), ({"skew_ticks_per_lot": MM_MAX_SKEW + 1}, "skew_ticks_per_lot"),
])
def test_mm_parameters_past_their_bounds_are_refused(params, name):
    with pytest.raises(ConfigError, match=rf"strategy mm: the class refused its parameters: parameter '{name}'"):
        make_strategy("mm", params)
    with pytest.raises(ConfigError, match=rf"parameter '{name}'"):
        make_strategy("hedged_mm", params)
    with pytest.raises(ConfigError, match="parameter 'hedge_slip_ticks'"):
        make_strategy("hedged_mm", {"hedge_slip_ticks": MM_MAX_QTY + 1})


@pytest.mark.parametrize("ratio, pos0, pos1, want", [
    (0.5, 10, 0, -5), (0.5, 10, -5, 0), (2.0, -3, 0, 6),
    (1e300, 10, 0, None), (float("inf"), 1, 0, None), (float("nan"), 1, 0, None),  # no target: no hedge
    (1.0, 1 << 61, 0, -(1 << 61)), (1.0, (1 << 61) + (1 << 10), 0, None),  # at and past the target bound
    (1.0, 0, (1 << 61) + 1, None), (1.0, 0, -(1 << 61), 1 << 61),  # the leg-1 position bound
])
def test_hedge_kernel_converts_only_targets_in_range(ratio, pos0, pos1, want):
    """The hedge target ``-round(ratio x position)`` is a float: NaN, inf and values past 2**61 lots place no hedge
    (their conversion to int64 would be poison); in range it is the Python rule."""
    params = [1, 10, 0, 0, float_param(ratio), 1, 0]
    st_, tops, sord, intents, lm = _kernel_inputs(SK_HEDGED_MM, params, pos0, 100, 102, legs=2, pos1=pos1)
    st_[S_LEG] = 1
    n = strategy_on_book(st_, tops[1, 4:], sord, intents, tops, lm)
    if want is None or want == 0:
        assert n == 0
        return
    diff = -round(ratio * pos0) - pos1
    assert diff == want
    assert n == 1 and intents[0, 1] == (BUY if diff > 0 else SELL) and intents[0, 3] == abs(diff)


def test_hedge_kernel_without_mids_ratio_hedges_nothing():
    """``hedge_ratio`` 0 takes the legs' mid ratio; a leg-1 mid of 0 has none (no division by zero)."""
    params = [1, 10, 0, 0, float_param(0.0), 1, 0]
    st_, tops, sord, intents, lm = _kernel_inputs(SK_HEDGED_MM, params, 4, -1, 1, legs=2)
    st_[S_LEG] = 1
    assert strategy_on_book(st_, tops[1, 4:], sord, intents, tops, lm) == 0


# --- uninitialised memory ---------------------------------------------------------------------------------------
def _poisoning(monkeypatch, byte: int, n_events: int) -> B.Spares:
    """Every ``np.empty`` / ``np.empty_like`` filled with `byte` from now on (in every module: they are looked up on
    numpy at each call), and reusable buffers for the engine, full of it."""
    real_empty, real_like = np.empty, np.empty_like

    def fill(a):
        if isinstance(a, np.ndarray) and a.nbytes and not a.dtype.hasobject and a.flags.c_contiguous:
            ctypes.memset(a.ctypes.data, byte, a.nbytes)
        return a

    monkeypatch.setattr(np, "empty", lambda *a, **k: fill(real_empty(*a, **k)))
    monkeypatch.setattr(np, "empty_like", lambda *a, **k: fill(real_like(*a, **k)))
    spares = B.Spares()
    for name, cols in (("h", H_COLS), ("orows", O_COLS), ("frows", F_COLS)):
        spares.give(name, fill(real_empty((4096, cols), np.int64)))
    spares.give("order_info", np.zeros((4096, OI_COLS), np.int64))  # handed back zeroed (its contract: checked below)
    spares.give("evm", fill(real_empty((EVM_ROWS, n_events), np.int64)))  # the event matrix's spare
    return spares


@pytest.mark.parametrize("case", ["mm_in_kernel", "chaos_python_path", "random_latency_feed_model"])
def test_poisoned_allocations_give_the_same_run(monkeypatch, case):
    """No cell of an ``np.empty`` allocation or of a reused buffer is read before it is written: runs whose
    allocations hold 0x00, 0xA5 or 0xFF bytes are the same run (run hash, logs, equity)."""
    from tests.unit.sim.agreement import Chaos, l2_stream

    ev = l2_stream(41, n_msgs=500)
    ev.flags.writeable = False
    lat = {"entry": L.random(200_000, 300_000, seed=1), "resp": L.random(100_000, 400_000, seed=2),
           "feed": L.random(50_000, 100_000, seed=3)} if case == "random_latency_feed_model" else {}

    def strategy():
        if case == "chaos_python_path":
            return Chaos(seed=3, timer_ns=20_000_000, every=2)
        return make_strategy("mm", {"size": 3, "max_position": 9, "skew_ticks_per_lot": 1})

    outs = []
    for byte in (0x00, 0xA5, 0xFF):
        with monkeypatch.context() as mp:
            spares = _poisoning(mp, byte, len(ev))
            eng = _engine(ev, strategy(), spares=spares, **lat)
            out = eng.run()
            assert eng.used_in_kernel_orders == (case != "chaos_python_path")
            assert not spares.spare("order_info").any()  # the side map goes back zeroed, as `take(zeros=True)` trusts
            outs.append(out)
    assert len(outs[0].fills) > 5
    for o in outs[1:]:
        assert o.run_hash == outs[0].run_hash
        for name in ("decisions", "orders", "fills", "equity", "acks"):  # field by field (padding is no value)
            assert np.array_equal(getattr(o, name), getattr(outs[0], name)), name


# --- an external kernel through its C entry (`strategy_kernels._call_c_entry`), at its boundaries ------------------
@njit
def _eight(st, ltop, sord, intents):
    """Exactly MAX_INTENTS intents at each call with both sides: a cancel of each live order (reading every row of
    the order view up to st[S_NORD]), the rest new one-lot bids below the touch."""
    if ltop[0] == NO_PRICE or ltop[2] == NO_PRICE:
        return 0
    n = 0
    for j in range(min(st[S_NORD], MAX_INTENTS)):
        if sord[j, SO_STATUS] == 1:
            intents[n, 0] = IN_CANCEL
            intents[n, 4] = sord[j, SO_ID]
            n += 1
    k = 1
    while n < MAX_INTENTS:
        intents[n, 0] = IN_SUBMIT
        intents[n, 1] = BUY
        intents[n, 2] = ltop[0] - k
        intents[n, 3] = 1
        intents[n, 4] = 0
        n += 1
        k += 1
    return n


@njit
def _too_many(st, ltop, sord, intents):
    return MAX_INTENTS + 1 if ltop[0] != NO_PRICE else 0


@njit
def _negative(st, ltop, sord, intents):
    return -1 if ltop[0] != NO_PRICE else 0


def test_an_external_kernel_at_max_intents_runs_in_the_loop_as_in_python():
    """The C entry reads the order view through a pointer with its row count and writes the intent rows: a kernel
    writing exactly MAX_INTENTS each call, cancelling every live order it reads, gives the Python callback's run."""
    from hft.sim.engine import Engine
    from hft.sim.kernel_api import KernelStrategy

    class Eight(KernelStrategy):
        nb_kernel = _eight

    ev = _stream(80)
    ref = _engine_cls(Engine, ev, Eight())
    eng = _engine_cls(NbEngine, ev, Eight())
    a, b = ref.run(), eng.run()
    assert eng.used_in_kernel_orders
    assert a.run_hash == b.run_hash and np.array_equal(a.decisions, b.decisions)
    assert len(a.decisions) >= 8 * 20 and (a.decisions["kind"] == INTENT_CANCEL).sum() > 20  # cancels of what it read
    # the venue's 64-slot order table filled up (its NEWs rejected): the loop's bound of live slots stayed within the
    # table (one past it, the no-op scans of depth and trade updates read a row past its end: an IndexError under
    # NUMBA_BOUNDSCHECK=1, stray memory without)
    assert len(b.orders) > 64 and int(eng._st[S_HI]) <= eng.venue.v.orders.shape[0] == 64


@pytest.mark.parametrize("kernel, n", [(_too_many, MAX_INTENTS + 1), (_negative, -1)])
def test_an_external_kernel_count_outside_0_to_max_intents_is_refused(kernel, n):
    from hft.sim.kernel_api import KernelStrategy

    cls = type("Bad", (KernelStrategy,), {"nb_kernel": kernel})
    with pytest.raises(SimError, match=rf"returned {n} intents: expected 0 to {MAX_INTENTS} \(MAX_INTENTS\)"):
        _engine(_stream(), cls()).run()
