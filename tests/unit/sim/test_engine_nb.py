"""The numba engine reproduces the Python reference engine exactly: same decisions, orders, fills, equity, run hash.

Streams: generated L3 days (L3 FIFO venue) and seeded synthetic L2 streams (L2 venue, every queue model, both
exchange modes, clears, trades, crossing updates). Strategies: the built-ins, an idle one (pure replay), and a
seeded "chaos" strategy that uses every callback and every order type (IOC, FOK, post-only, market, replace,
cancel) so that reports, rejects and races all happen. Latencies: constant, seeded random, empirical, feed from
the data or from a model, zero.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hft.data.sources import FILES
from hft.sim import latency as L
from hft.sim.engine import Engine, EngineConfig, L2MarketVenue
from hft.sim.engine_nb import NbEngine, strategy_wakes
from hft.sim.exchange_l2 import MODE_NO_PARTIAL_FILL, MODE_PARTIAL_FILL, L2Venue
from hft.sim.fees import FeeSchedule
from hft.sim.gateway_setup import sim_gateway_config
from hft.sim.queue_models import parse_queue_model
from hft.sim.replay import ReplayConfig, build_engine, run_replay
from hft.sim.strategies import make_strategy
from hft.sim.strategy import Strategy
from tests.unit.sim.agreement import LATENCIES, Chaos, NoFast, Tight, l2_pair, l2_stream, same

# --- streams ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    from hft.data.importing import generate_day

    out = tmp_path_factory.mktemp("day")
    return Path(generate_day(out, seed=5, symbol="SYNTH", date="2024-01-02", messages=6000, levels=5,
                             zip_output=True)["zip_path"])


# --- strategies -------------------------------------------------------------------------------------------------


class TimerOnly(Chaos):
    """Acts on its timer only (the kernel runs between timers without Python); its book and trade callbacks
    count calls, excluded by `wakes` (the reference engine still calls them: they must not act)."""

    wakes = ("timer", "order")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.market_calls = 0

    def on_book(self, ctx) -> None:
        self.market_calls += 1

    def on_trade(self, ctx, side, price, qty) -> None:
        self.market_calls += 1


# --- harness ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lat", sorted(LATENCIES))
@pytest.mark.parametrize("qm", ["risk_averse", "power_prob_2", "log_prob"])
def test_l2_chaos_same_as_reference(lat, qm):
    ev = l2_stream(7)
    a, b = l2_pair(ev, lambda: Chaos(seed=2, timer_ns=30_000_000), qm=qm, **LATENCIES[lat])
    same(a, b)
    assert len(a.fills) > 10 and len(a.orders) > 50


def test_l2_no_partial_fill_and_limits_same_as_reference():
    ev = l2_stream(8)
    a, b = l2_pair(ev, lambda: Chaos(seed=5, every=2), mode=MODE_NO_PARTIAL_FILL,
                    limits={"max_position": 15, "max_order_qty": 9})
    same(a, b)
    assert a.rejects  # the gateway refused some intents


@pytest.mark.parametrize("name", ["mm", "imbalance_taker", "twap", "idle", "timer_only"])
def test_l2_builtins_same_as_reference(name):
    ev = l2_stream(9, n_msgs=600)

    def make():
        if name == "idle":
            return Strategy()
        if name == "timer_only":
            return TimerOnly(seed=3, timer_ns=20_000_000, every=1)
        params = {"twap": {"qty": 40, "duration_ns": 200_000_000, "slices": 10},
                  "imbalance_taker": {"threshold": 0.3, "cooldown_ns": 5_000_000}}.get(name, {})
        return make_strategy(name, params)

    a, b = l2_pair(ev, make)
    same(a, b)


@given(seed=st.integers(0, 10_000), entry=st.integers(0, 3_000_000), resp=st.integers(0, 3_000_000),
       jitter=st.integers(0, 1_000_000), feed=st.one_of(st.none(), st.integers(0, 2_000_000)),
       qm=st.sampled_from(["risk_averse", "power_prob_3", "log_prob"]),
       mode=st.sampled_from([MODE_PARTIAL_FILL, MODE_NO_PARTIAL_FILL]))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_same_as_reference(seed, entry, resp, jitter, feed, qm, mode):
    ev = l2_stream(seed, n_msgs=150)
    lat = dict(entry=L.random(entry, jitter, seed=seed) if jitter else L.constant(entry),
               resp=L.random(resp, jitter, seed=seed + 1) if jitter else L.constant(resp),
               feed=None if feed is None else L.constant(feed))
    a, b = l2_pair(ev, lambda: Chaos(seed=seed, timer_ns=10_000_000, every=2), qm=qm, mode=mode, **lat)
    same(a, b)


# --- L3 (generated days, the replay path) ------------------------------------------------------------------------
def _replay_pair(day, strategy, cfg_kwargs):
    from hft.data.sources import open_market_data

    md = open_market_data([day])
    outs = []
    for engine in ("python", "numba"):
        cfg = ReplayConfig(engine=engine, **cfg_kwargs)
        strat = strategy() if callable(strategy) else make_strategy(strategy, cfg.strategies.get(strategy))
        eng, mult = build_engine(md, strat, "chaos" if callable(strategy) else strategy, cfg)
        assert type(eng) is (Engine if engine == "python" else NbEngine)
        outs.append(eng.run(multiplier=mult))
    return outs


@pytest.mark.parametrize("strategy,cfg", [
    ("mm", {"strategies": {"mm": {"size": 3, "max_position": 12}}}),
    ("imbalance_taker", {"jitter_ns": 200_000, "seed": 3}),
    ("twap", {"strategies": {"twap": {"qty": 60, "duration_ns": 600_000_000_000, "slices": 30}}}),
    ("mm", {"feed": 300_000, "feed_jitter_ns": 100_000, "exchange": "no_partial_fill",
            "strategies": {"mm": {"size": 2, "edge_ticks": 1}}}),
])
def test_l3_replay_same_as_reference(day, strategy, cfg):
    a, b = _replay_pair(day, strategy, cfg)
    same(a, b)


def test_l3_chaos_same_as_reference(day):
    a, b = _replay_pair(day, lambda: Chaos(seed=4, timer_ns=2_000_000_000, every=5),
                        {"maker_bps": -0.5, "taker_bps": 3.0, "limits": {"max_position": 30}})
    same(a, b)
    assert len(a.fills) > 10


def test_run_replay_engines_agree_and_config_hash_ignores_engine(day):
    a = run_replay([day], "mm", ReplayConfig(engine="python"), source=FILES)
    b = run_replay([day], "mm", ReplayConfig(engine="numba"), source=FILES)
    assert a["run_hash"] == b["run_hash"] and a["config_hash"] == b["config_hash"]
    assert (a["engine"], b["engine"]) == ("python", "numba")


def test_timer_only_strategy_is_not_woken_by_market_data():
    ev = l2_stream(9, n_msgs=300)
    strategies = []

    def make():
        strategies.append(TimerOnly(seed=3, timer_ns=3_000_000, every=1))
        return strategies[-1]

    a, b = l2_pair(ev, make)
    same(a, b)
    assert strategies[0].market_calls > 100 and strategies[1].market_calls == 0
    assert len(a.orders) > 5


def test_wakes_follow_overrides_or_declaration():
    assert strategy_wakes(Strategy()) == frozenset()
    assert strategy_wakes(make_strategy("mm")) == {"book"}
    assert strategy_wakes(make_strategy("twap")) == {"timer", "order"}
    assert strategy_wakes(TimerOnly(timer_ns=5)) == {"timer", "order"}
    from hft.core.errors import SimError

    bad = Strategy()
    bad.wakes = ("book", "tick")
    with pytest.raises(SimError, match="wakes"):
        strategy_wakes(bad)


def test_engine_key_is_strict():
    from hft.core.errors import ConfigError
    from hft.sim.replay import parse_replay_config

    assert parse_replay_config({"engine": "python"}).engine == "python"
    assert parse_replay_config({}).engine == "numba"
    with pytest.raises(ConfigError):
        parse_replay_config({"engine": "rust"})


def test_engines_share_no_base_class_and_one_public_surface():
    """Neither engine inherits from the other or from a base class holding behaviour: each names the shared rules
    it takes (`hft.sim.run_setup`, `run_events`, `run_output`); the equality tests above compare them. The numba
    engine is a drop-in: every public name of the Python engine is one of its names too."""
    assert Engine.__mro__ == (Engine, object)
    assert NbEngine.__mro__ == (NbEngine, object)
    public = {n for n in dir(Engine) if not n.startswith("_")}
    assert {"run", "of_legs", "submit", "cancel", "replace", "wake_at", "continue_from", "end_session"} <= public
    assert public <= set(dir(NbEngine))


# --- the strategy kernel API: the njit mm gives the Python mm's run ---------------------------------------------
class _PyOnly(NbEngine):
    strategy_kernels = False  # the numba engine with the Python `on_book`


@pytest.mark.parametrize("params", [{}, {"size": 3, "max_position": 4, "edge_ticks": 1, "skew_ticks_per_lot": 1},
                                    {"size": 7, "max_position": 30, "edge_ticks": 0, "skew_ticks_per_lot": 2}])
@pytest.mark.parametrize("mode", [MODE_PARTIAL_FILL, MODE_NO_PARTIAL_FILL])
def test_njit_mm_same_as_python_mm(params, mode):
    ev = l2_stream(21, n_msgs=800)
    ref, nb = l2_pair(ev, lambda: make_strategy("mm", params), mode=mode, **LATENCIES["random"])
    same(ref, nb)
    assert len(ref.orders) > 20
    venue = L2MarketVenue(L2Venue(None, parse_queue_model("risk_averse"), mode, FeeSchedule(-20, 150, 1), 1, capacity=64))
    cfg = sim_gateway_config("X", "chaos")

    def factory(clock, dispatcher, sink):
        from hft.gateway import GatewayService

        return GatewayService(cfg, clock=clock, dispatcher=dispatcher, sink=sink)

    ecfg = EngineConfig(entry=LATENCIES["random"]["entry"], response=LATENCIES["random"]["resp"],
                        feed=LATENCIES["random"]["feed"], sample_ns=50_000_000, strategy="chaos")
    py = _PyOnly(ev, venue, factory, make_strategy("mm", params), "X", ecfg)
    same(ref, py.run())
    assert py._skid == 0


def test_njit_mm_is_used_and_same_on_l3(day):
    a, b = _replay_pair(day, "mm", {"strategies": {"mm": {"size": 2, "max_position": 8, "skew_ticks_per_lot": 1}}})
    same(a, b)
    from hft.data.sources import open_market_data
    from hft.sim.engine_nb import SK_MM

    eng, mult = build_engine(open_market_data([day]), make_strategy("mm"), "mm", ReplayConfig())
    eng.run(multiplier=mult)
    assert eng._skid == SK_MM


# --- the in-kernel order path: intents, commands and reports of a strategy kernel inside the loop ---------------


MM_BUSY = {"size": 4, "max_position": 12, "skew_ticks_per_lot": 1}


@pytest.mark.parametrize("lat", sorted(LATENCIES))
@pytest.mark.parametrize("mode", [MODE_PARTIAL_FILL, MODE_NO_PARTIAL_FILL])
def test_in_kernel_order_path_same_as_reference(lat, mode):
    ev = l2_stream(31, n_msgs=900)
    engines: list = []
    outs = l2_pair(ev, lambda: make_strategy("mm", MM_BUSY), mode=mode, classes=(Engine, NbEngine, Tight, NoFast),
                    engines=engines, **LATENCIES[lat])
    for out in outs[1:]:
        same(outs[0], out)
    assert [type(e).__name__ for e in engines if getattr(e, "used_in_kernel_orders", False)] == ["NbEngine", "Tight"]
    assert len(outs[0].fills) > 10 and len(outs[0].orders) > 100


def test_in_kernel_order_path_rejects_and_storm_same_as_reference():
    """Risk rejects decided in the kernel, and a daily-loss breach reported by a fill: the kernel hands the flags to
    the gateway's StormGuard (Python), whose mode then gates the kernel's next intents."""
    ev = l2_stream(32, n_msgs=900)
    engines: list = []
    limits = {"max_position": 6, "max_order_qty": 5, "daily_loss": 40}
    outs = l2_pair(ev, lambda: make_strategy("mm", MM_BUSY), limits=limits, fees=FeeSchedule(300, 300, 2),
                    classes=(Engine, NbEngine, Tight), engines=engines)
    for out in outs[1:]:
        same(outs[0], out)
    assert engines[1].used_in_kernel_orders
    assert outs[0].rejects and outs[0].transition_records  # rejects, and the StormGuard tripped


def test_in_kernel_order_path_needs_a_kernel_only_strategy():
    ev = l2_stream(33, n_msgs=200)
    engines: list = []
    l2_pair(ev, lambda: Chaos(seed=1), classes=(NbEngine,), engines=engines)
    l2_pair(ev, lambda: make_strategy("mm"), classes=(_PyOnly,), engines=engines)
    assert not any(e.used_in_kernel_orders for e in engines)


class _SmallVenue(NbEngine):
    """The venue's report and consumption buffers at their smallest: Python replaces them with bigger ones as
    orders and levels come."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        v = self.venue.v
        v.out, v.cons = np.zeros(1, dtype=v.out.dtype), np.zeros((1, 3), dtype=np.int64)


@pytest.mark.parametrize("lat", sorted(LATENCIES))
@pytest.mark.parametrize("every", [1, 3])
def test_python_callbacks_while_buffers_grow_same_as_reference(lat, every):
    """A Python strategy acting at some of its wakes (the others do nothing) while the venue's order table, the
    heap and the rows grow only when full: the loop skips its array check after a book callback that sent nothing,
    and the kernel never runs on an array Python has replaced."""
    ev = l2_stream(35, n_msgs=900)
    ev["price"] += np.arange(len(ev)) * 60 // len(ev)  # a drift: late in the run, beyond the books' first range
    outs = l2_pair(ev, lambda: Chaos(seed=5, timer_ns=3_000_000, every=every),
                    classes=(Engine, NbEngine, Tight, _SmallVenue), **LATENCIES[lat])
    for out in outs[1:]:
        same(outs[0], out)
    assert len(outs[0].orders) > 100 and len(outs[0].fills) > 10


# --- the in-kernel order path on the L3 venue (LOBSTER-format days: reference rows for the view and the venue) ---
# (engine, attributes set on the built engine): the reference, the numba engine (in-kernel order path), the same with
# buffers grown only when full (the kernel runs out of room mid-call: heap, rows, side map, the venue's order table
# and report buffer), and the numba engine with commands and reports through Python
L3_VARIANTS = (("python", {}), ("numba", {}), ("numba", {"_rows0": 2, "_tight": True}),
               ("numba", {"in_kernel_orders": False}))


def _l3_runs(data, strategy_params, cfg_kwargs, *, capacity=None):
    from hft.data.sources import open_market_data

    md = open_market_data(data)
    outs, engines = [], []
    for engine, attrs in L3_VARIANTS:
        cfg = ReplayConfig(engine=engine, strategies={"mm": strategy_params}, **cfg_kwargs)
        eng, mult = build_engine(md, make_strategy("mm", strategy_params), "mm", cfg)
        for k, v in attrs.items():
            setattr(eng, k, v)
        if capacity is not None:  # a small venue order table: it grows while the kernel runs
            eng.venue.orders = np.zeros((capacity, eng.venue.orders.shape[1]), dtype=np.int64)
        outs.append(eng.run(multiplier=mult))
        engines.append(eng)
    assert [bool(e.used_in_kernel_orders) for e in engines[1:]] == [True, True, False]
    for out in outs[1:]:
        same(outs[0], out)
    return outs


@pytest.mark.parametrize("cfg", [
    {},
    {"exchange": "no_partial_fill"},
    {"entry_ns": 0, "response_ns": 0, "feed": 0},
    {"jitter_ns": 400_000, "seed": 11, "feed": 200_000, "feed_jitter_ns": 50_000, "maker_bps": -0.25,
     "taker_bps": 2.0},
    {"l3_resync": False},
])
def test_l3_in_kernel_order_path_same_as_reference(day, cfg):
    outs = _l3_runs([day], MM_BUSY, cfg, capacity=1)
    assert len(outs[0].fills) > 10 and len(outs[0].orders) > 100


@pytest.mark.parametrize("every", [1, 3])
def test_l3_python_callbacks_while_the_order_table_grows(day, every):
    """A Python strategy acting at some of its book callbacks (the others do nothing) on the L3 venue whose order
    table starts with one row: Python grows it (a new array) between kernel calls, and the loop, which skips its
    array check after a book callback that sent nothing, never runs the kernel on the old one."""
    from hft.data.sources import open_market_data

    md = open_market_data([day])
    outs = []
    for engine, capacity in (("python", None), ("numba", None), ("numba", 1)):
        eng, mult = build_engine(md, Chaos(seed=7, every=every), "chaos", ReplayConfig(engine=engine))
        if capacity is not None:
            eng.venue.orders = np.zeros((capacity, eng.venue.orders.shape[1]), dtype=np.int64)
        outs.append(eng.run(multiplier=mult))
    for out in outs[1:]:
        same(outs[0], out)
    assert len(outs[0].fills) > 10 and len(outs[0].orders) > 100


def test_l3_in_kernel_order_path_rejects_and_storm_same_as_reference(day):
    """Risk rejects decided in the kernel and a loss breach reported by a fill on the L3 venue: the kernel hands
    the flags to the gateway's StormGuard (Python), whose mode then gates the kernel's next intents."""
    outs = _l3_runs([day], {**MM_BUSY, "size": 2}, {"taker_bps": 30.0, "maker_bps": 30.0, "per_lot": 2,
                                                         "limits": {"max_position": 6, "max_order_qty": 3,
                                                                    "daily_loss": 40}})
    assert outs[0].rejects and outs[0].transition_records


@pytest.mark.shared_data
def test_l3_in_kernel_order_path_same_on_real_lobster(shared_data: Path):
    """GOOG level 1 (the golden's day and settings, and the benchmark's): every variant gives the reference's run."""
    outs = _l3_runs([shared_data / "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"],
                    {"size": 10, "max_position": 100}, {})
    assert len(outs[0].orders) > 9000


def test_reused_buffers_leave_earlier_runs_intact(day):
    """The in-kernel order path's buffers go to the next run given the same `Spares`: a run's outputs, lazy
    `Decision` records and side map are the same after a second run replays the day with other parameters on them."""
    import copy

    from hft.data.sources import open_market_data
    from hft.sim.engine_nb.buffers import Spares

    md = open_market_data([day])
    spares = Spares()

    def run(engine, params):
        cfg = ReplayConfig(engine=engine, strategies={"mm": params})
        eng, mult = build_engine(md, make_strategy("mm", params), "mm", cfg, spares=spares)
        return eng, eng.run(multiplier=mult)

    ref_eng, ref = run("python", MM_BUSY)
    eng, first = run("numba", MM_BUSY)
    assert eng.used_in_kernel_orders
    kept = copy.deepcopy((first.decisions, first.orders, first.fills, first.acks, first.equity))
    _, other = run("numba", {**MM_BUSY, "size": 2})  # the same buffers, other orders written into them
    assert other.run_hash != first.run_hash
    for a, b in zip(kept, (first.decisions, first.orders, first.fills, first.acks, first.equity), strict=True):
        assert np.array_equal(a, b)
    same(ref, first)  # the lazy records, built only now, read the first run's rows
    assert dict(eng._side_of) == dict(ref_eng._side_of) and len(ref_eng._side_of) > 100
    _, again = run("numba", MM_BUSY)
    same(ref, again)


def test_concat_records_joins_logs_as_numpy_does():
    from hft.sim.engine import DECISION_LOG_DTYPE
    from hft.sim.engine_nb.logs import concat_records

    a = np.zeros(5, DECISION_LOG_DTYPE)
    a["seq"], a["reason"], a["duplicate"] = np.arange(5), 3, 1
    b = np.zeros(3, DECISION_LOG_DTYPE)
    b["ts"], b["side"] = 7, -1
    joined = concat_records([a, b], DECISION_LOG_DTYPE)
    assert joined.dtype == DECISION_LOG_DTYPE and np.array_equal(joined, np.concatenate([a, b]))
    assert concat_records([a], DECISION_LOG_DTYPE) is a
    assert concat_records([], DECISION_LOG_DTYPE).dtype == DECISION_LOG_DTYPE


def test_logs_of_kernel_rows_are_numpy_assignment_with_zero_padding():
    """The order, fill and decision logs written as whole int64 words of their records hold what numpy's
    field assignment from the kernel's rows gives (narrow fields keep their low bytes), and zero padding, even in
    memory the allocator hands over dirty."""
    from hft.gateway.kernels import DUP_FLAG
    from hft.sim.engine import DECISION_LOG_DTYPE, FILL_LOG_DTYPE, ORDER_LOG_DTYPE
    from hft.sim.engine_nb.logs import decision_log_of, fill_log_of, order_log_of

    rng = np.random.default_rng(7)
    n = 257
    orows = rng.integers(-(1 << 40), 1 << 40, (n, 8))
    orows[:, 4:] = rng.integers(-300, 300, (n, 4))  # action, side, order_type, tif: narrowed to int8
    frows = rng.integers(-(1 << 40), 1 << 40, (n, 11))
    frows[:, 8:] = rng.integers(-300, 300, (n, 3))
    drows = rng.integers(-(1 << 40), 1 << 40, (n, 13))
    drows[:, 3:5] = rng.integers(-300, 300, (n, 2))
    drows[:, 10] = rng.integers(0, 40, n) | np.where(rng.random(n) < 0.3, DUP_FLAG, 0)  # reason | duplicate
    drows[::5, 10] = 0  # accepted
    for dt, rows, built, cols in ((ORDER_LOG_DTYPE, orows, order_log_of, range(8)),
                                  (FILL_LOG_DTYPE, frows, fill_log_of, range(11)),
                                  (DECISION_LOG_DTYPE, drows, decision_log_of, None)):
        for _ in range(3):  # the allocator's memory dirty: a freed array of the same size filled with ones
            dirty = np.empty(n, dt)
            dirty.view(np.uint8)[:] = 0xFF
            del dirty
            got = built(rows)
            want = np.zeros(n, dt)
            if cols is None:
                code = rows[:, 10]
                reason = code & 0xFFFF
                for name, col in (("seq", rows[:, 0]), ("ts", rows[:, 1]), ("order_id", rows[:, 11]),
                                  ("target_id", rows[:, 9]), ("price", rows[:, 5]), ("qty", rows[:, 6])):
                    want[name] = col
                want["reason"] = reason.astype(np.int16)
                want["kind"] = rows[:, 3].astype(np.int8)
                want["side"] = rows[:, 4].astype(np.int8)
                want["accepted"] = reason == 0
                want["duplicate"] = code >= DUP_FLAG
            else:
                for name, c in zip(dt.names, cols, strict=True):
                    want[name] = rows[:, c].astype(dt[name])
            assert got.dtype == dt
            assert got.tobytes() == want.tobytes()  # every byte: the fields and the zero padding


def test_sim_gateway_config_follows_its_arguments_and_the_environment_of_each_call(monkeypatch):
    from hft.core.errors import ConfigError

    lim = {"max_position": 10}
    first = sim_gateway_config("X", "mm", limits=lim)
    assert sim_gateway_config("X", "mm", limits={"max_position": 10}) == first
    assert sim_gateway_config("X", "mm", limits={"max_position": 11}).defaults != first.defaults
    with pytest.raises(ConfigError):  # 10.0 is not 10 for the strict parse
        sim_gateway_config("X", "mm", limits={"max_position": 10.0})
    monkeypatch.setenv("HFT_NATS_URL", "nats://10.0.0.9:4222")
    moved = sim_gateway_config("X", "mm", limits=lim)
    assert moved.signals.bus.url == "nats://10.0.0.9:4222" != first.signals.bus.url
    monkeypatch.setenv("HFT_NATS_URL", "nats://10.0.0.7:4222")  # changed again between two runs: taken again
    assert sim_gateway_config("X", "mm", limits=lim).signals.bus.url == "nats://10.0.0.7:4222"


def test_event_matrix_reused_only_for_the_same_read_only_events():
    """`Spares.take_of`: a spare's contents count as made from `source` only for that very array, read-only."""
    from hft.sim.engine_nb import buffers

    sp = buffers.Spares()

    ev = np.arange(10)
    ev.flags.writeable = False
    a, filled = sp.take_of("test_evm", (2, 10), ev)
    assert not filled
    sp.give("test_evm", a, ev)
    b, filled = sp.take_of("test_evm", (2, 10), ev)
    assert filled and b is a
    sp.give("test_evm", b, ev)
    other = ev.copy()
    other.flags.writeable = False
    c, filled = sp.take_of("test_evm", (2, 10), other)  # equal values, another array
    assert not filled
    sp.give("test_evm", c, None)
    d, filled = sp.take_of("test_evm", (2, 10), other)  # given back without a source
    assert not filled
    w = np.arange(10)  # writeable: never trusted
    sp.give("test_evm", d, w)
    _, filled = sp.take_of("test_evm", (2, 10), w)
    assert not filled


def test_event_matrices_of_several_sources_in_turns_each_reused():
    """Runs over a few instruments in turns (a sweep's cells, each instrument alone) each find their matrix; beyond
    `MADE_KEEP` the least recently given is dropped (its array becomes the plain spare)."""
    from hft.sim.engine_nb import buffers

    sp = buffers.Spares()

    srcs = [np.arange(10) + k for k in range(buffers.MADE_KEEP + 1)]
    for s in srcs:
        s.flags.writeable = False
    mats = {}
    for s in srcs[:2]:
        a, filled = sp.take_of("test_evm", (2, 10), s)
        assert not filled
        mats[id(s)] = a
        sp.give("test_evm", a, s)
    for _ in range(3):
        for s in srcs[:2]:
            a, filled = sp.take_of("test_evm", (2, 10), s)
            assert filled and a is mats[id(s)]
            sp.give("test_evm", a, s)
    for s in srcs[2:]:  # three more sources: the first one's matrix is the oldest, then dropped
        a, _ = sp.take_of("test_evm", (2, 10), s)
        sp.give("test_evm", a, s)
    _, filled = sp.take_of("test_evm", (2, 10), srcs[0])
    assert not filled
    _, filled = sp.take_of("test_evm", (2, 10), srcs[-1])
    assert filled


def test_event_matrix_of_a_feed_model_is_not_reused_for_data_times(day):
    """A run with a feed latency model between two runs on the day's own local times: the third run is the first."""
    from hft.data.sources import open_market_data

    md = open_market_data([day])

    def run(**kw):
        cfg = ReplayConfig(engine="numba", strategies={"mm": MM_BUSY}, **kw)
        eng, mult = build_engine(md, make_strategy("mm", MM_BUSY), "mm", cfg)
        return eng.run(multiplier=mult).run_hash

    first = run()
    assert run(feed=300_000) != first
    assert run() == first
