"""The independent reference replay (`hft.sim.reference`) over several instruments on one clock and over several
days of one instrument, against the numba engine: the same decisions, orders, fills, ACK log, each leg's equity
samples, order ids, decisions and final accounting, the run's final accounting and run hash; on two and three
seeded L2 legs, on two generated LOBSTER instruments with `hedged_mm`, on the real GOOG / AMZN golden (its run
hash), on two generated days of one instrument replayed as sessions, and on two days of two instruments.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from hft.sim.engine_nb import NbEngine
from hft.sim.reference import (
    Fees,
    L2ReferenceVenue,
    ReferenceConfig,
    ReferenceEngine,
    ReferenceLeg,
    from_legs,
    from_market_data,
)
from hft.sim.strategies import make_strategy
from tests.unit.sim.agreement import (
    ECFG,
    LATENCIES,
    OnlyLeg0,
    Reader,
    ThreeLegChaos,
    TwoLegChaos,
    agree,
    l2_stream,
    legs_gateway,
    reference_and_numba_legs,
    reference_latency,
    run_legs,
    shifted,
)

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "golden" / "lobster_goog_amzn_hedged.json"


def _agree_legs(ref, nb) -> None:
    """Every array, each leg's results, the final accounting and the run hash."""
    agree(ref, nb)
    assert len(ref.legs) == len(nb.legs) > 1
    for a, b in zip(ref.legs, nb.legs, strict=True):
        assert a.symbol == b.symbol
        assert a.equity.dtype == b.equity.dtype and np.array_equal(a.equity, b.equity), a.symbol
        assert a.final == b.final, a.symbol
        assert np.array_equal(a.order_ids, b.order_ids), a.symbol
        assert np.array_equal(a.decisions, b.decisions), a.symbol


# --- seeded L2 legs -----------------------------------------------------------------------------------------------
def _l2_legs(streams, make, entry, resp, feed, sample_ns):
    """(reference output, numba output) of seeded L2 legs S0, S1, ... (risk_averse, partial fills)."""
    from hft.sim.engine import EngineConfig

    ecfg = EngineConfig(entry=entry, response=resp, feed=feed, sample_ns=sample_ns, strategy="chaos")
    _, nb = run_legs(streams, make(), NbEngine, ecfg)
    symbols = [f"S{k}" for k in range(len(streams))]
    legs = [ReferenceLeg(ev, L2ReferenceVenue("risk_averse", "partial_fill", Fees(-20, 150, 1), 1, capacity=64), s)
            for ev, s in zip(streams, symbols, strict=True)]
    cfg = ReferenceConfig(entry=reference_latency(entry), response=reference_latency(resp), feed=reference_latency(feed), sample_ns=sample_ns,
                          strategy="chaos")
    ref = ReferenceEngine.of_legs(legs, legs_gateway(symbols), make(), cfg).run()
    return ref, nb


@pytest.mark.parametrize("make,both", [(lambda: TwoLegChaos(seed=4, timer_ns=20_000_000), True),
                                       (lambda: OnlyLeg0(seed=2, timer_ns=30_000_000), False),
                                       (lambda: make_strategy("mm", {"size": 2, "max_position": 6}), True),
                                       (lambda: make_strategy("hedged_mm", {"size": 3, "min_hedge": 1}), True)],
                         ids=["two_leg_chaos", "only_leg0", "mm_both_legs", "hedged_mm"])
def test_two_l2_legs_agree(make, both):
    x = l2_stream(7)
    y = shifted(l2_stream(9), 250_000, 5000)  # leg 1 trades around 6000
    ref, nb = _l2_legs([x, y], make, ECFG.entry, ECFG.response, ECFG.feed, ECFG.sample_ns)
    _agree_legs(ref, nb)
    assert len(ref.fills) > 5 and len(ref.legs[0].order_ids) and bool(len(ref.legs[1].order_ids)) == both


@pytest.mark.parametrize("lat", ["random", "zero"])
def test_three_l2_legs_agree(lat):
    """Three legs, ties at equal exchange times between legs 0 and 2; random latencies (entry, response, feed) or
    none at all (every tie rule at work)."""
    la = LATENCIES[lat]
    streams = [l2_stream(7, n_msgs=250), shifted(l2_stream(9, n_msgs=250), 250_000, 5000),
               shifted(l2_stream(11, n_msgs=250), 0, 9000)]
    ref, nb = _l2_legs(streams, lambda: ThreeLegChaos(seed=6, timer_ns=10_000_000), la["entry"], la["resp"],
                       la.get("feed"), 15_000_000)
    _agree_legs(ref, nb)
    assert len(ref.fills) > 10 and all(len(leg.order_ids) for leg in ref.legs)


# --- LOBSTER legs -------------------------------------------------------------------------------------------------
def _replay_legs(mds, name: str, **cfg):
    """(reference output, numba output) of opened legs `mds` with the strategy `name` under a replay config."""
    from hft.sim.replay import ReplayConfig

    config = cfg.pop("config", None) or ReplayConfig(engine="numba", **cfg)
    ref, _, nb = reference_and_numba_legs(mds, lambda: make_strategy(name, config.strategies.get(name)), name, config)
    return ref, nb


@pytest.mark.parametrize("cfg", [
    {},
    {"feed": 300_000, "feed_jitter_ns": 100_000, "jitter_ns": 200_000, "seed": 3, "exchange": "no_partial_fill",
     "strategies": {"hedged_mm": {"size": 2, "hedge_slip_ticks": 1}}},
    {"l3_resync": False},
], ids=["default", "latencies_no_partial", "no_resync"])
def test_two_lobster_legs_hedged_mm_agree(two_lobster_instruments, cfg):
    ref, nb = _replay_legs(two_lobster_instruments, "hedged_mm", **cfg)
    _agree_legs(ref, nb)
    assert len(ref.fills) > 10 and all(len(leg.order_ids) for leg in ref.legs)


@pytest.mark.shared_data
@pytest.mark.slow  # ~107k messages through the plain-Python reference
@pytest.mark.skipif(not GOLDEN.exists(), reason="no golden")
def test_goog_amzn_hedged_golden_agrees():
    """GOOG quoted, AMZN hedging (LOBSTER level 1, the golden's data and config): the numba engine's every array
    and the golden's run hash, fills and positions."""
    from hft.data.sources import open_market_data
    from hft.sim.instruments import apply_overrides
    from hft.sim.replay import overlay_replay_config

    doc = json.loads(GOLDEN.read_text())
    paths = [(GOLDEN.parent / p).resolve() for p in doc["data"]]
    if not all(p.exists() for p in paths):
        pytest.skip(f"../shared/data is absent ({paths[0]})")
    config = dataclasses.replace(overlay_replay_config(doc["config"], base_dir=GOLDEN.parent), engine="numba")
    mds = [open_market_data([p]) for p in paths]
    mds = [dataclasses.replace(md, instrument=apply_overrides(md.instrument, config.instrument)) for md in mds]
    ref, nb = _replay_legs(mds, "hedged_mm", config=config)
    _agree_legs(ref, nb)
    assert ref.run_hash == doc["expect"]["run_hash"]
    assert len(ref.fills) == doc["expect"]["fills"]
    assert {leg.symbol: leg.final["position"] for leg in ref.legs} == doc["expect"]["positions"]


# --- several days of one instrument -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_days(tmp_path_factory):
    """Two generated LOBSTER days of one instrument (zip paths)."""
    from hft.data.importing import generate_day

    out = tmp_path_factory.mktemp("ref_days")
    return [Path(generate_day(out, seed=seed, symbol="SYNTH", date=date, messages=2500, levels=5,
                              zip_output=True)["zip_path"]) for seed, date in ((21, "2024-01-02"), (22, "2024-01-03"))]


def _reference_days(paths, name: str, config, make):
    """The reference over the days as sessions (one engine per day on the one gateway; docs/sim.md, "Several days
    in one run"): each day's output and how many orders expired at each close."""
    from hft.data.sources import open_market_data
    from hft.sim.fees import money_factor
    from hft.sim.replay import gateway_factory

    strategy = make()
    outs, expired, gw, prev = [], [], None, None
    for p in paths:
        md = open_market_data([p])
        money = money_factor(md.instrument, config.multiplier)
        eng = from_market_data(md, strategy, name, config, gateway_factory([md.instrument], name, config, gw), money)
        if prev is not None:
            eng.continue_from(prev)
        outs.append(eng.run())
        expired.append(eng.end_session())
        gw, prev = eng.gw, eng
    return outs, expired


@pytest.mark.parametrize("name,cfg", [
    ("mm", {"strategies": {"mm": {"size": 3, "max_position": 9}}}),
    ("mm", {"jitter_ns": 300_000, "feed": 200_000, "feed_jitter_ns": 50_000, "seed": 5, "maker_bps": -0.5,
            "taker_bps": 3.0}),
    ("imbalance_taker", {"strategies": {"imbalance_taker": {"threshold": 0.3, "cooldown_ns": 5_000_000}}}),
    pytest.param("reader", {"maker_bps": -0.5, "taker_bps": 3.0}, marks=pytest.mark.slow),  # ~25k orders: ~40 s
])
def test_two_days_as_sessions_agree(two_days, name, cfg):
    """Day by day and end to end: the same arrays, run hashes, orders expired at the close; position, cash and
    fees carried over."""
    from hft.data.sources import FILES
    from hft.sim.replay import ReplayConfig
    from hft.sim.sessions import concat_outputs, replay_sessions

    config = ReplayConfig(engine="numba", **cfg)

    def make():  # `reader`: every read of the context (trades, fills, depth, queue, cash, pnl) feeds a decision
        return Reader(timer_ns=50_000_000) if name == "reader" else make_strategy(name, config.strategies.get(name))

    sessions, _ = replay_sessions([[p] for p in two_days], make(), name, config, source=FILES)
    refs, expired = _reference_days(two_days, name, config, make)
    for ref, s, n in zip(refs, sessions, expired, strict=True):
        agree(ref, s.out)
        assert n == s.expired
    total = concat_outputs([s.out for s in sessions])
    from hft.core.ids import run_hash

    arrays = [np.concatenate([getattr(r, f) for r in refs]) for f in ("decisions", "orders", "fills")]
    assert run_hash(*arrays) == total.run_hash
    assert refs[1].equity["position"][0] == refs[0].final["position"]  # carried over
    assert len(refs[0].fills) and len(refs[1].fills)


def test_two_days_of_two_instruments_agree(tmp_path):
    """Several days of several instruments (`-d A1 -d B1 -d A2 -d B2`): each day a run of the legs on one clock, one
    gateway over the days, orders expired at each close, each leg's accounting carried."""
    from hft.data.importing import generate_day
    from hft.data.sources import open_market_data
    from hft.sim.fees import money_factor
    from hft.sim.portfolio import leg_configs, replay_legs
    from hft.sim.replay import ReplayConfig, gateway_factory

    name = "hedged_mm"
    config = ReplayConfig(engine="numba", jitter_ns=200_000, seed=4, maker_bps=-0.5, taker_bps=3.0,
                          strategies={name: {"size": 2, "max_position": 6}})
    days = [[open_market_data([generate_day(tmp_path / f"{sym}{d}", seed=seed + d, symbol=sym, date=date,
                                            messages=1500, levels=5, zip_output=True)["zip_path"]])
             for seed, sym in ((5, "AAA"), (6, "BBB"))] for d, date in ((0, "2024-01-02"), (1, "2024-01-03"))]
    strat_nb, strat_ref = (make_strategy(name, config.strategies[name]) for _ in range(2))
    gw_nb = prev_nb = gw_ref = prev_ref = None
    for mds in days:
        nb, eng_nb, _, _ = replay_legs(mds, strat_nb, name, config, gateway=gw_nb, prev=prev_nb)
        configs = leg_configs(mds, config)
        factory = gateway_factory([md.instrument for md in mds], name, config, gw_ref,
                                  multipliers=[c.multiplier for c in configs])
        eng_ref = from_legs(mds, strat_ref, name, configs, factory,
                            [money_factor(md.instrument, c.multiplier) for md, c in zip(mds, configs, strict=True)])
        if prev_ref is not None:
            eng_ref.continue_from(prev_ref)
        ref = eng_ref.run()
        _agree_legs(ref, nb)
        assert eng_ref.end_session() == eng_nb.end_session()
        assert len(ref.fills) > 5
        gw_nb, prev_nb, gw_ref, prev_ref = eng_nb.gw, eng_nb, eng_ref.gw, eng_ref
    assert ref.legs[0].equity["position"][0] != 0 or ref.legs[1].equity["position"][0] != 0  # carried over
