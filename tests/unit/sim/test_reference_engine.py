"""The independent reference replay (`hft.sim.reference`, written from docs/sim.md and sharing no code with the
engines) against the numba engine: the same decisions, orders, fills, equity samples, ACK log, final accounting
and run hash, on seeded L2 streams (every queue model, exchange mode and latency model; exchange times that step
back), with `mm` and with Python strategies that use every callback, order type and context read, on a real
Binance capture (the golden's run hash), and over seeds and latencies (a property test).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hft.core.orders import INTENT_CANCEL, INTENT_NEW, ORDER_STOP, ORDER_STOP_LIMIT, REPORT_TRIGGERED, TIF_GTD
from hft.sim import latency as L
from hft.sim.engine_nb import NbEngine
from hft.sim.exchange_l2 import EXCHANGE_MODES
from hft.sim.fees import FeeSchedule
from hft.sim.gateway_setup import sim_gateway_config
from hft.sim.reference import (
    Fees,
    L2ReferenceVenue,
    L3ReferenceVenue,
    Latency,
    ReferenceConfig,
    ReferenceEngine,
    from_replay_config,
)
from hft.sim.strategies import make_strategy
from hft.sim.strategy import Strategy
from tests.unit.sim.agreement import (
    LATENCIES,
    Chaos,
    Gtd,
    Icebergs,
    Linked,
    Reader,
    Stops,
    Trailing,
    agree,
    binance_golden_day,
    l2_pair,
    l2_stream,
    reference_latency,
    stepped_back,
)

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "golden" / "binance_spot_eth_mm.json"
MODES = sorted(EXCHANGE_MODES)
QUEUE_MODELS = ["risk_averse", "power_prob_2", "log_prob"]
FEES = (-20, 150, 1)


# --- a strategy that reads the whole context ---------------------------------------------------------------------


# --- harness -----------------------------------------------------------------------------------------------------


def _gateway(limits: dict | None):
    cfg = sim_gateway_config("X", "chaos", limits=limits)

    def factory(clock, dispatcher, sink):
        from hft.gateway import GatewayService

        return GatewayService(cfg, clock=clock, dispatcher=dispatcher, sink=sink)

    return factory


def _pair(ev, make, *, qm="risk_averse", mode="partial_fill", entry=None, resp=None, feed=None, limits=None,
          sample_ns=50_000_000):
    """(reference output, numba output) of one seeded L2 run."""
    entry, resp = entry or L.constant(1_000_000), resp or L.constant(1_000_000)
    (nb,) = l2_pair(ev, make, qm=qm, mode=EXCHANGE_MODES[mode], entry=entry, resp=resp, feed=feed, limits=limits,
                     sample_ns=sample_ns, fees=FeeSchedule(*FEES), classes=(NbEngine,))
    venue = L2ReferenceVenue(qm, mode, Fees(*FEES), 1, capacity=64)
    cfg = ReferenceConfig(entry=reference_latency(entry), response=reference_latency(resp), feed=reference_latency(feed), sample_ns=sample_ns,
                          strategy="chaos")
    ref = ReferenceEngine(ev, venue, _gateway(limits), make(), "X", cfg).run()
    return ref, nb


def _venue_pair(mode: str):
    """A fresh numba L2 venue and reference L2 venue alike (risk-averse queue, the test fees, 64 slots)."""
    from hft.sim.exchange_l2 import L2Venue
    from hft.sim.queue_models import parse_queue_model

    return (L2Venue(None, parse_queue_model("risk_averse"), EXCHANGE_MODES[mode], FeeSchedule(*FEES), 1, capacity=64),
            L2ReferenceVenue("risk_averse", mode, Fees(*FEES), 1, capacity=64))


def _market_both(nb, ref, rng, now: int, prices: tuple[int, int], depth_p: float, clear_p: float, at) -> np.ndarray:
    """One seeded random market event at `now` on the numba L2 venue `nb` and the reference `ref`: a depth update
    (probability `depth_p`, a size from 0), a clear of both sides (`clear_p`), else a print, at a side and a price in
    `prices`; their reports the same (`at` names the step). Returns the numba venue's reports."""
    side = 1 if rng.random() < 0.5 else -1
    price = int(rng.integers(*prices))
    r = rng.random()
    if r < depth_p:
        qty = int(rng.integers(0, 9))
        got, want = nb.depth(now, side, price, qty), ref.depth(now, side, price, qty)
    elif r < 1.0 - clear_p:
        qty = int(rng.integers(1, 9))
        got, want = nb.trade(now, side, price, qty), ref.trade(now, side, price, qty)
    else:
        got, want = nb.clear(now, 0), ref.clear(now, 0)
    assert [tuple(x) for x in want] == [tuple(x) for x in got.tolist()], (at, "market")
    return got


# --- seeded L2 streams -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("qm", QUEUE_MODELS)
def test_chaos_agrees(qm, mode):
    ref, nb = _pair(l2_stream(7), lambda: Chaos(seed=2, timer_ns=30_000_000), qm=qm, mode=mode)
    agree(ref, nb)
    assert len(ref.fills) > 10 and len(ref.orders) > 50


@pytest.mark.parametrize("lat", sorted(LATENCIES))
def test_latencies_agree(lat):
    ref, nb = _pair(l2_stream(11), lambda: Chaos(seed=3, timer_ns=20_000_000, every=2), qm="power_prob_2",
                    **LATENCIES[lat])
    agree(ref, nb)
    assert len(ref.fills) > 10


@pytest.mark.parametrize("mode", MODES)
def test_reader_agrees(mode):
    """Every context read feeds a decision: a disagreement in what the context shows changes the orders."""
    ref, nb = _pair(l2_stream(12, n_msgs=600), Reader, mode=mode, **LATENCIES["random"])
    agree(ref, nb)
    assert len(ref.fills) > 5 and len(ref.orders) > 30


@pytest.mark.parametrize("name", ["mm", "imbalance_taker", "twap", "vwap", "pov", "idle"])
def test_builtins_agree(name):
    params = {"twap": {"qty": 40, "duration_ns": 200_000_000, "slices": 10},
              "vwap": {"qty": 24, "duration_ns": 200_000_000, "profile": [1, 2, 3, 4, 4, 3, 2, 1],
                       "max_participation": 0.5},
              "pov": {"qty": 20, "rate": 0.2, "min_child": 2},
              "imbalance_taker": {"threshold": 0.3, "cooldown_ns": 5_000_000}}.get(name, {})
    ref, nb = _pair(l2_stream(9, n_msgs=600), lambda: Strategy() if name == "idle" else make_strategy(name, params),
                    limits={"max_position": 25})
    agree(ref, nb)
    assert name == "idle" or len(ref.orders) > 5


@pytest.mark.parametrize("how", ["shuffle", "step", "trades"])
def test_exchange_times_stepping_back_agree(how):
    ev = stepped_back(l2_stream(13), 13, how, 3_000_000)
    ref, nb = _pair(ev, lambda: Chaos(seed=6, timer_ns=15_000_000, every=2), entry=L.constant(200_000))
    agree(ref, nb)


def _on_grid(ev: np.ndarray, grid: int) -> np.ndarray:
    """`ev` with every time on a `grid` ns grid (local = exchange + one grid step): with latencies, timers and
    samples on the same grid, items of every stream fall at equal times, so the tie order decides."""
    out = ev.copy()
    out["exch_ts"] = out["exch_ts"] // grid * grid
    out["local_ts"] = out["exch_ts"] + grid
    return out


@pytest.mark.parametrize("feed", [None, 0])
@pytest.mark.parametrize("make", [lambda: Chaos(seed=8, timer_ns=1_000_000, every=1), lambda: Reader(1_000_000)],
                         ids=["chaos", "reader"])
def test_equal_times_agree(make, feed):
    """Ties at equal times between local data, reports, timers, exchange data and arrivals (docs/sim.md, "One clock,
    four streams")."""
    ms = 1_000_000
    ref, nb = _pair(_on_grid(l2_stream(14, n_msgs=500), ms), make, entry=L.constant(ms), resp=L.constant(ms),
                    feed=None if feed is None else L.constant(feed), sample_ns=ms)
    agree(ref, nb)
    assert len(ref.fills) > 5


def test_gateway_limits_agree():
    ref, nb = _pair(l2_stream(8), lambda: Chaos(seed=5, every=2), mode="no_partial_fill",
                    limits={"max_position": 15, "max_order_qty": 9})
    agree(ref, nb)
    assert (ref.decisions["accepted"] == 0).any()  # the gateway refused some intents


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), entry=st.integers(0, 3_000_000), resp=st.integers(0, 3_000_000),
       jitter=st.sampled_from([0, 250_000]), feed=st.sampled_from([None, 0, 400_000]),
       qm=st.sampled_from(QUEUE_MODELS), mode=st.sampled_from(MODES))
def test_property_agrees(seed, entry, resp, jitter, feed, qm, mode):
    lat = dict(entry=L.random(entry, jitter, seed=seed) if jitter else L.constant(entry),
               resp=L.random(resp, jitter, seed=seed + 1) if jitter else L.constant(resp),
               feed=None if feed is None else L.constant(feed))
    ref, nb = _pair(l2_stream(seed, n_msgs=150), lambda: Chaos(seed=seed, timer_ns=10_000_000, every=2), qm=qm,
                    mode=mode, **lat)
    agree(ref, nb)


# --- venue-native stops ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_native_stops_agree(mode):
    """Stops and stop-limits held by the L2 venue, triggered by the stream's prints, cancelled while held, a replace
    refused: both engines the same, array by array."""
    made: list[Stops] = []
    ref, _ = _pair(l2_stream(7, 600), lambda: made.append(Stops()) or made[-1], mode=mode)
    nb_s, ref_s = made
    assert nb_s.triggered == ref_s.triggered > 30 and nb_s.refused == ref_s.refused
    assert ref_s.refused.get("UNSUPPORTED_REPLACE", 0) > 0
    new = ref.orders[ref.orders["action"] == INTENT_NEW]
    assert {ORDER_STOP, ORDER_STOP_LIMIT} <= set(new["order_type"].tolist())
    assert INTENT_CANCEL in set(ref.orders["action"].tolist()) and len(ref.fills) > 30


# --- good till date ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_gtd_agrees(mode):
    """GTD limits, post-only orders, stops and stop-limits expired by the L2 venue at their time (some on arrival,
    some after a partial fill, some cancelled first, some refused BAD_EXPIRE): both engines the same, array by
    array."""
    made: list[Gtd] = []
    ref, _ = _pair(l2_stream(7, 600), lambda: made.append(Gtd()) or made[-1], mode=mode)
    nb_s, ref_s = made
    assert nb_s.expired == ref_s.expired > 50 and nb_s.refused == ref_s.refused
    assert ref_s.refused.get("BAD_EXPIRE", 0) > 0
    new = ref.orders[ref.orders["action"] == INTENT_NEW]
    assert set(new["tif"].tolist()) >= {TIF_GTD} and INTENT_CANCEL in set(ref.orders["action"].tolist())
    assert len(ref.fills) > 30


def test_l2_venue_expiry_agrees_step_by_step():
    """The numba L2 venue's EXPIRE against the reference venue's, report by report, over random steps: working,
    partly filled, held and triggered orders expire (EXPIRED, leaves 0), an order already gone says nothing."""
    from hft.core.orders import ORDER_LIMIT, REPORT_EXPIRED, TIF_GTD
    from hft.sim.exchange_l2 import L2Venue
    from hft.sim.queue_models import parse_queue_model

    expired = silent = 0
    for seed in range(3):
        rng = np.random.default_rng(seed)
        nb = L2Venue(None, parse_queue_model("risk_averse"), EXCHANGE_MODES["partial_fill"], FeeSchedule(*FEES), 1,
                     capacity=64)
        ref = L2ReferenceVenue("risk_averse", "partial_fill", Fees(*FEES), 1, capacity=64)
        ours: list[int] = []
        for t in range(300):
            now = 1_000 * t
            _market_both(nb, ref, rng, now, (96, 105), 0.5, 0.0, (seed, t))
            r = rng.random()
            if r < 0.4:
                otype = int(rng.choice([ORDER_LIMIT, ORDER_LIMIT, ORDER_STOP, ORDER_STOP_LIMIT]))
                px = 0 if otype == ORDER_STOP else int(rng.integers(96, 105))
                trigger = int(rng.integers(96, 105)) if otype != ORDER_LIMIT else 0
                args = (len(ours) + 1, int(rng.choice([1, -1])), px, int(rng.integers(1, 12)), otype, TIF_GTD,
                        trigger)
                got, want = nb.new(now, *args), ref.new(now, *args)
                ours.append(args[0])
            elif r < 0.7 and ours:
                oid = int(rng.choice(ours))
                got, want = nb.expire(now, oid), ref.expire(now, oid)
                expired += int((got["kind"] == REPORT_EXPIRED).sum())
                silent += len(got) == 0
            else:
                continue
            assert [tuple(x) for x in want] == [tuple(x) for x in got.tolist()], (seed, t, "order")
    assert expired > 15 and silent > 15


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", range(6))
def test_l2_venue_with_stops_agrees_step_by_step(seed, mode):
    """The numba L2 venue against the reference venue, report by report, over a few hundred random steps on a narrow
    price range: depth updates, trades at and through our prices, clears; our orders of every type, the stops
    among them (held, triggered by trades, entered as market / limit orders), cancels (of held stops too) and
    replaces (refused for held stops)."""
    from hft.core.orders import ORDER_LIMIT, ORDER_MARKET, ORDER_POST_ONLY, TIF_FOK, TIF_GTC, TIF_IOC

    rng = np.random.default_rng(seed)
    nb, ref = _venue_pair(mode)
    ours: list[int] = []
    triggered = 0
    for t in range(400):
        now = 1_000 * t
        got = _market_both(nb, ref, rng, now, (96, 105), 0.5, 0.05, t)
        triggered += int((got["kind"] == REPORT_TRIGGERED).sum())
        r = rng.random()
        if r < 0.45:
            otype = int(rng.choice([ORDER_LIMIT, ORDER_POST_ONLY, ORDER_MARKET, ORDER_STOP, ORDER_STOP,
                                    ORDER_STOP_LIMIT, ORDER_STOP_LIMIT]))
            tif = int(rng.choice([TIF_GTC, TIF_GTC, TIF_IOC, TIF_FOK]))
            px = 0 if otype in (ORDER_STOP, ORDER_MARKET) else int(rng.integers(96, 105))
            trigger = int(rng.integers(96, 105)) if otype in (ORDER_STOP, ORDER_STOP_LIMIT) else 0
            args = (len(ours) + 1, int(rng.choice([1, -1])), px, int(rng.integers(1, 12)), otype, tif, trigger)
            got, want = nb.new(now, *args), ref.new(now, *args)
            ours.append(args[0])
        elif r < 0.6 and ours:
            oid = int(rng.choice(ours))
            got, want = nb.cancel(now, oid), ref.cancel(now, oid)
        elif r < 0.75 and ours:
            args = (int(rng.choice(ours)), int(rng.integers(96, 105)), int(rng.integers(1, 12)))
            got, want = nb.replace(now, *args), ref.replace(now, *args)
        else:
            continue
        assert [tuple(x) for x in want] == [tuple(x) for x in got.tolist()], (t, "order")
        assert {o: ref.queue_ahead(o) for o in ours} == {o: nb.queue_ahead(o) for o in ours}, t
    assert triggered > 20


def test_one_trade_triggering_many_stops_fits_the_report_buffer():
    """Twelve held buy stops of 7 lots, one print triggers them all against 60 one-lot ask levels: each becomes a
    market order taking what the ones before it left (eight fill whole, one fills 4 of 7, three find nothing), in
    slot order; the report buffer is sized for it (`exchange_l2.out_rows`), both venues the same."""
    from hft.core.orders import REPORT_EXPIRED, REPORT_FILL, REPORT_PARTIAL_FILL, TIF_GTC
    from hft.sim.exchange_l2 import L2Venue
    from hft.sim.queue_models import parse_queue_model

    nb = L2Venue(None, parse_queue_model("risk_averse"), EXCHANGE_MODES["partial_fill"], FeeSchedule(*FEES), 1,
                 capacity=16)
    ref = L2ReferenceVenue("risk_averse", "partial_fill", Fees(*FEES), 1, capacity=16)
    for p in range(101, 161):
        nb.depth(0, -1, p, 1)
        ref.depth(0, -1, p, 1)
    for oid in range(1, 13):
        assert [tuple(x) for x in ref.new(1, oid, 1, 0, 7, ORDER_STOP, TIF_GTC, 100)] == \
            [tuple(x) for x in nb.new(1, oid, 1, 0, 7, ORDER_STOP, TIF_GTC, 100).tolist()]
    got = nb.trade(2, 1, 100, 1)
    assert [tuple(x) for x in ref.trade(2, 1, 100, 1)] == [tuple(x) for x in got.tolist()]
    kinds = got["kind"].tolist()
    assert kinds.count(REPORT_TRIGGERED) == 12 and kinds.count(REPORT_EXPIRED) == 4
    fills = got[np.isin(got["kind"], (REPORT_FILL, REPORT_PARTIAL_FILL))]
    assert len(fills) == 60 and int(fills["qty"].sum()) == 60
    assert [int(o) for o in got[got["kind"] == REPORT_TRIGGERED]["order_id"]] == list(range(1, 13))


def test_our_own_fills_and_earlier_prints_never_trigger():
    """A held stop triggers on the data's prints after it arrived, never on a print before it (no last price is
    kept) nor on our own taker fill at its trigger (our fills are not prints: the replay is exogenous); depth
    updates never trigger. Both venues."""
    from hft.core.orders import ORDER_MARKET, TIF_GTC, TIF_IOC
    from hft.sim.exchange_l2 import L2Venue
    from hft.sim.queue_models import parse_queue_model

    nb = L2Venue(None, parse_queue_model("risk_averse"), EXCHANGE_MODES["partial_fill"], FeeSchedule(*FEES), 1)
    ref = L2ReferenceVenue("risk_averse", "partial_fill", Fees(*FEES), 1)

    def both(name, *args):
        got = [tuple(x) for x in getattr(nb, name)(*args).tolist()]
        assert got == [tuple(x) for x in getattr(ref, name)(*args)], name
        return [x[7] for x in got]

    both("depth", 0, -1, 101, 5)
    both("depth", 0, 1, 99, 5)
    both("trade", 1, 1, 101, 2)  # a print at 101 before the stop: nothing to trigger
    assert both("new", 2, 1, 1, 0, 3, ORDER_STOP, TIF_GTC, 101) == [1]  # ACK, held
    assert REPORT_TRIGGERED not in both("new", 3, 2, 1, 0, 2, ORDER_MARKET, TIF_IOC, 0)  # we take 2 @ 101
    assert REPORT_TRIGGERED not in both("depth", 4, -1, 101, 1)
    assert both("trade", 5, 1, 101, 1)[0] == REPORT_TRIGGERED  # the data's print at 101


# --- venue-native icebergs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_native_icebergs_agree(mode):
    """A Python strategy placing icebergs held by the L2 venue (taker ones too, replaced, cancelled, some refused
    BAD_DISPLAY) on a seeded stream: the numba engine and the reference the same, array by array."""
    made: list[Icebergs] = []
    ref, _ = _pair(l2_stream(11, 600), lambda: made.append(Icebergs()) or made[-1], mode=mode)
    nb_s, ref_s = made
    assert nb_s.fills == ref_s.fills > 30 and nb_s.refused == ref_s.refused
    assert ref_s.refused.get("BAD_DISPLAY", 0) > 0
    assert INTENT_CANCEL in set(ref.orders["action"].tolist()) and len(ref.fills) > 30


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", range(6))
def test_l2_venue_with_icebergs_agrees_step_by_step(seed, mode):
    """The numba L2 venue against the reference venue, report by report and queue estimate by queue estimate, over a
    few hundred random steps on a narrow price range: depth updates, trades at and through our prices, clears; our
    orders of every type, limit / post-only icebergs among them (some with a display the venue refuses), cancels
    and replaces (of icebergs too)."""
    from hft.core.orders import (
        ORDER_LIMIT,
        ORDER_MARKET,
        ORDER_POST_ONLY,
        REPORT_FILL,
        REPORT_PARTIAL_FILL,
        TIF_FOK,
        TIF_GTC,
        TIF_IOC,
    )

    rng = np.random.default_rng(100 + seed)
    nb, ref = _venue_pair(mode)
    ours: list[int] = []
    icebergs: set[int] = set()
    iceberg_fills = 0
    for t in range(400):
        now = 1_000 * t
        got = _market_both(nb, ref, rng, now, (96, 105), 0.5, 0.05, t)
        fills = got[np.isin(got["kind"], (REPORT_FILL, REPORT_PARTIAL_FILL))]
        iceberg_fills += sum(int(o) in icebergs for o in fills["order_id"])
        r = rng.random()
        if r < 0.45:
            otype = int(rng.choice([ORDER_LIMIT, ORDER_LIMIT, ORDER_POST_ONLY, ORDER_MARKET]))
            tif = int(rng.choice([TIF_GTC, TIF_GTC, TIF_GTC, TIF_IOC, TIF_FOK]))
            px = 0 if otype == ORDER_MARKET else int(rng.integers(96, 105))
            qty = int(rng.integers(1, 16))
            display = int(rng.integers(1, 5)) if rng.random() < 0.6 else 0
            if rng.random() < 0.05:
                display = qty  # not below the size: REJECTED
            oid = len(ours) + 1
            args = (oid, int(rng.choice([1, -1])), px, qty, otype, tif)
            got, want = nb.new(now, *args, display=display), ref.new(now, *args, display=display)
            ours.append(oid)
            if display:
                icebergs.add(oid)
        elif r < 0.55 and ours:
            oid = int(rng.choice(ours))
            got, want = nb.cancel(now, oid), ref.cancel(now, oid)
        elif r < 0.75 and ours:
            args = (int(rng.choice(ours)), int(rng.integers(96, 105)), int(rng.integers(1, 12)))
            got, want = nb.replace(now, *args), ref.replace(now, *args)
        else:
            continue
        assert [tuple(x) for x in want] == [tuple(x) for x in got.tolist()], (t, "order")
        assert {o: ref.queue_ahead(o) for o in ours} == {o: nb.queue_ahead(o) for o in ours}, t
    assert iceberg_fills > 20


def test_an_iceberg_refills_at_the_back_and_a_larger_print_does_not_reach_the_refill():
    """A resting buy iceberg of 10 showing 3 at 100 behind 4 displayed lots: a print of 9 reaches 5 of our lots, but
    only the 3 shown fill; the next 3 show behind the 4 lots displayed then (the rest of that print is lost): a print
    of 4 fills none of them, the next of 3 fills them, a print through our price fills the next 3 shown, and the last
    lot shows; both venues the same, leaves = all remaining lots, no report of a refill."""
    from hft.core.orders import ORDER_LIMIT, REPORT_ACK, REPORT_FILL, REPORT_PARTIAL_FILL, TIF_GTC
    from hft.sim.exchange_l2 import L2Venue
    from hft.sim.queue_models import parse_queue_model

    nb = L2Venue(None, parse_queue_model("risk_averse"), EXCHANGE_MODES["partial_fill"], FeeSchedule(0, 0, 0), 1)
    ref = L2ReferenceVenue("risk_averse", "partial_fill", Fees(0, 0, 0), 1)

    def both(name, *args, **kw):
        got, want = getattr(nb, name)(*args, **kw), getattr(ref, name)(*args, **kw)
        assert [tuple(x) for x in want] == [tuple(x) for x in got.tolist()], name
        return [(int(r["kind"]), int(r["qty"]), int(r["leaves"]), int(r["queue"])) for r in got]

    both("depth", 0, 1, 100, 4)
    assert both("new", 1, 7, 1, 100, 10, ORDER_LIMIT, TIF_GTC, display=3) == [(REPORT_ACK, 0, 10, 4)]
    assert both("trade", 2, -1, 100, 9) == [(REPORT_PARTIAL_FILL, 3, 7, -1)]
    assert nb.queue_ahead(7) == ref.queue_ahead(7) == 4.0  # the refill: behind the 4 lots displayed then
    assert both("trade", 3, -1, 100, 4) == []
    assert both("trade", 4, -1, 100, 3) == [(REPORT_PARTIAL_FILL, 3, 4, -1)]
    assert both("trade", 5, -1, 99, 1) == [(REPORT_PARTIAL_FILL, 3, 1, -1)]  # through us: the shown part only
    assert both("trade", 6, -1, 99, 1) == [(REPORT_FILL, 1, 0, -1)]  # the last lot


# --- the scripted scenarios (hand-derived traces: tests/unit/sim/test_scenario.py) ----------------------------------
@pytest.mark.parametrize("path", sorted((ROOT / "config" / "sim" / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_scenarios_agree(path):
    """Each scenario's script on the reference and on the numba engine (what `hft sim scenario` runs): the same
    arrays and the same trace of reports and gateway rejections."""
    from hft.sim import scenario as S

    sc = S.load_scenario(path)
    nb_script, ref_script = S.ScriptedStrategy(sc), S.ScriptedStrategy(sc)
    engine = S.build_engine(sc, nb_script)
    nb = engine.run(multiplier=sc.money)
    capacity, cfg = S.venue_capacity(sc), S.gateway_config(sc)  # the scenario's venue and gateway

    def gateway(clock, dispatcher, sink):
        from hft.gateway import GatewayService

        return GatewayService(cfg, clock=clock, dispatcher=dispatcher, sink=sink, private_arena=True)

    fees = Fees(sc.fees.maker_bps_h, sc.fees.taker_bps_h, sc.fees.per_lot)
    rcfg = ReferenceConfig(entry=Latency.constant(sc.entry_ns), response=Latency.constant(sc.response_ns),
                           account=S.ACCOUNT, strategy=S.STRATEGY)
    if sc.venue == "l3":  # the L3 venue, the book as anonymous quantity
        ref = ReferenceEngine(S.scenario_events(sc), L3ReferenceVenue(sc.exchange, fees, sc.money), gateway,
                              ref_script, sc.symbol, rcfg, preopen=S.seed_levels(sc)).run()
    else:
        venue = L2ReferenceVenue(sc.queue_model, sc.exchange, fees, sc.money, capacity)
        ref = ReferenceEngine(S.scenario_events(sc), venue, gateway, ref_script, sc.symbol, rcfg).run()
    agree(ref, nb)
    assert ref_script.trace == nb_script.trace and ref_script.trace


# --- the replay path: selftest stream and a Binance capture --------------------------------------------------------
def _replay_pair(md, strategy: str, config):
    """(reference output, numba output) of `strategy` on opened market data `md` under a replay config."""
    from hft.sim.fees import money_factor
    from hft.sim.replay import build_engine, gateway_factory
    from hft.sim.strategy_loader import make

    spec, strat = make(strategy, config.strategies)
    engine, money = build_engine(md, strat, spec.key, config)
    nb = engine.run(None, multiplier=money)
    cfg, venue = from_replay_config(config, money_factor(md.instrument, config.multiplier), spec.key)
    _, strat = make(strategy, config.strategies)
    ref = ReferenceEngine(md.events, venue, gateway_factory([md.instrument], spec.key, config), strat,
                          md.instrument.symbol, cfg).run()
    return ref, nb


def test_selftest_stream_agrees():
    """The replay self-test's L2 stream and config (seeded jitter, maker / taker fees, gateway limits)."""
    from hft.core.instrument import Instrument
    from hft.sim.replay import parse_replay_config
    from hft.sim.selftest import _CONFIG, _Stream, l2_stream

    md = _Stream(l2_stream(), Instrument("CHECK", "SYNTH", "0.01", "1", currency="USD", book_level="L2"))
    ref, nb = _replay_pair(md, "mm", parse_replay_config(_CONFIG))
    agree(ref, nb)
    assert len(ref.fills) > 100


@pytest.mark.shared_data
@pytest.mark.slow  # ~100 s: 400k events through the plain-Python reference
@pytest.mark.skipif(not GOLDEN.exists(), reason="no golden")
def test_binance_golden_agrees():
    """The Binance spot golden (two chained captures, `mm`, power_prob_2): the reference gives the golden's run
    hash and the numba engine's every array."""
    import dataclasses
    import json

    from hft.data.sources import open_market_data
    from hft.sim.instruments import apply_overrides
    from hft.sim.replay import overlay_replay_config

    doc = json.loads(GOLDEN.read_text())
    paths = [(GOLDEN.parent / p).resolve() for p in doc["data"]]
    if not all(p.exists() for p in paths):
        pytest.skip(f"../shared/data is absent ({paths[0]})")
    config = overlay_replay_config(doc["config"], base_dir=GOLDEN.parent)  # as `hft replay --check` layers it
    md = open_market_data(paths)  # chained captures of one symbol: one stream
    md = dataclasses.replace(md, instrument=apply_overrides(md.instrument, config.instrument))
    ref, nb = _replay_pair(md, doc["strategy"], config)
    agree(ref, nb)
    assert ref.run_hash == doc["expect"]["run_hash"]
    assert len(ref.fills) == doc["expect"]["fills"] and ref.final["position"] == doc["expect"]["position"]


def _real_day_pair(make, name: str):
    """A fresh strategy from `make` on the Binance golden's first capture (its config) through the numba engine and
    the reference engine, which must agree array by array: (the reference run, (the numba run's strategy, the
    reference's))."""
    from hft.sim.fees import money_factor
    from hft.sim.replay import build_engine, gateway_factory

    md, config = binance_golden_day()
    made = [make(), make()]
    engine, money = build_engine(md, made[0], name, config)
    nb = engine.run(None, multiplier=money)
    cfg, venue = from_replay_config(config, money_factor(md.instrument, config.multiplier), name)
    ref = ReferenceEngine(md.events, venue, gateway_factory([md.instrument], name, config), made[1],
                          md.instrument.symbol, cfg).run()
    agree(ref, nb)
    return ref, tuple(made)


@pytest.mark.shared_data
@pytest.mark.slow  # one real day through the plain-Python reference
@pytest.mark.skipif(not GOLDEN.exists(), reason="no golden")
def test_native_icebergs_on_a_real_binance_day_agree():
    """The Binance spot golden's first capture (ETHUSDT 2024-08-08, its config) with a strategy placing icebergs held
    by the L2 venue: the numba engine and the reference the same, every array, on real prints and depth."""
    ref, (nb_s, ref_s) = _real_day_pair(lambda: Icebergs(every=25), "icebergs")
    assert nb_s.fills == ref_s.fills > 50 and nb_s.refused == ref_s.refused
    assert len(ref.fills) > 50


# --- venue-native trailing stops ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_native_trailing_stops_agree(mode):
    """A Python strategy placing trailing stops and stop-limits held by the L2 venue (cancelled while held, some
    refused BAD_TRAIL) on a seeded stream: the numba engine and the reference the same, array by array."""
    made: list[Trailing] = []
    ref, _ = _pair(l2_stream(13, 600), lambda: made.append(Trailing()) or made[-1], mode=mode)
    nb_s, ref_s = made
    assert nb_s.triggered == ref_s.triggered > 20 and nb_s.refused == ref_s.refused
    assert ref_s.refused.get("BAD_TRAIL", 0) > 5
    assert INTENT_CANCEL in set(ref.orders["action"].tolist()) and len(ref.fills) > 20


def test_native_trailing_stops_the_python_engine_agrees():
    """The Python engine (`hft.sim.engine.Engine`) passes the trail to the venue as the numba engine does: the same
    run, every array."""
    from tests.unit.sim.agreement import same

    made: list[Trailing] = []
    py, nb = l2_pair(l2_stream(13, 600), lambda: made.append(Trailing()) or made[-1], fees=FeeSchedule(*FEES))
    same(py, nb)
    assert made[0].triggered == made[1].triggered > 20


def _held_triggers(nb, ref) -> tuple[dict, dict]:
    """Each venue's held stops: order id -> (trigger, limit)."""
    from hft.sim.exchange_l2 import LIVE_HELD, O_ID, O_LIVE, O_PRICE, O_TRIGGER
    from hft.sim.reference.venue import Held

    got = {int(r[O_ID]): (int(r[O_TRIGGER]), int(r[O_PRICE])) for r in nb.orders if r[O_LIVE] == LIVE_HELD}
    want = {h.order_id: (h.trigger, h.price) for h in ref.slots if isinstance(h, Held)}
    return got, want


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", range(4))
def test_l2_venue_with_trailing_stops_agrees_step_by_step(seed, mode):
    """The numba L2 venue against the reference venue, report by report and held trigger / limit by held trigger /
    limit, over a few hundred random steps: depth updates, prints, clears; stops and stop-limits of both sides, most
    trailing at 1 to 4 ticks (some with a trail the venue refuses: < 0, on a limit order, a stop-limit's limit on the
    wrong side of its trigger; some with a trail near int64's maximum: they never move), cancels."""
    from hft.core.orders import ORDER_LIMIT, TIF_GTC

    rng = np.random.default_rng(300 + seed)
    nb, ref = _venue_pair(mode)
    ours: list[int] = []
    triggered = moved = 0
    for t in range(400):
        now = 1_000 * t
        before = _held_triggers(nb, ref)[0]
        got = _market_both(nb, ref, rng, now, (90, 111), 0.4, 0.05, t)
        triggered += int((got["kind"] == REPORT_TRIGGERED).sum())
        after, expected = _held_triggers(nb, ref)
        assert after == expected, (t, "held")
        moved += sum(after[o] != before[o] for o in after if o in before)
        r = rng.random()
        if r < 0.5:
            otype = int(rng.choice([ORDER_STOP, ORDER_STOP_LIMIT, ORDER_STOP_LIMIT, ORDER_LIMIT]))
            o_side = int(rng.choice([1, -1]))
            trigger = int(rng.integers(90, 111)) if otype != ORDER_LIMIT else 0
            px = 0 if otype == ORDER_STOP else (trigger + o_side * int(rng.integers(-1, 3)) if trigger
                                                else int(rng.integers(90, 111)))
            trail = int(rng.choice([1, 2, 3, 4, 0, -1, (1 << 63) - 1]))
            oid = len(ours) + 1
            args = (oid, o_side, px, int(rng.integers(1, 6)), otype, TIF_GTC, trigger)
            got, want = nb.new(now, *args, trail=trail), ref.new(now, *args, trail=trail)
            ours.append(oid)
        elif r < 0.6 and ours:
            oid = int(rng.choice(ours))
            got, want = nb.cancel(now, oid), ref.cancel(now, oid)
        else:
            continue
        assert [tuple(x) for x in want] == [tuple(x) for x in got.tolist()], (t, "order")
    assert triggered > 20 and moved > 20


def test_a_trailing_stop_moves_toward_the_prints_only():
    """Hand-derived, both venues: a sell trailing stop at 95 trailing 3 moves to 98 at a print of 101, to 100 at 103,
    stays at 100 at 101 (never back) and triggers at a print of 100 (its trigger as it stood); a buy trailing
    stop-limit at 110 limit 112 trailing 4 moves to 105 limit 107 at a print of 101, and a buy trailing stop with a
    trail of int64's maximum never moves."""
    from hft.core.orders import REPORT_ACK, TIF_GTC
    from hft.sim.exchange_l2 import L2Venue
    from hft.sim.queue_models import parse_queue_model

    nb = L2Venue(None, parse_queue_model("risk_averse"), EXCHANGE_MODES["partial_fill"], FeeSchedule(*FEES), 1)
    ref = L2ReferenceVenue("risk_averse", "partial_fill", Fees(*FEES), 1)

    def both(name, *args, **kw):
        got = [tuple(x) for x in getattr(nb, name)(*args, **kw).tolist()]
        assert got == [tuple(x) for x in getattr(ref, name)(*args, **kw)], name
        return [x[7] for x in got]

    both("depth", 0, 1, 99, 5)
    both("depth", 0, -1, 102, 5)
    assert both("new", 1, 1, -1, 0, 2, ORDER_STOP, TIF_GTC, 95, trail=3) == [REPORT_ACK]
    assert both("new", 1, 2, 1, 112, 1, ORDER_STOP_LIMIT, TIF_GTC, 110, trail=4) == [REPORT_ACK]
    assert both("new", 1, 3, 1, 0, 1, ORDER_STOP, TIF_GTC, 120, trail=(1 << 63) - 1) == [REPORT_ACK]
    held = []
    for p, aggressor in ((101, 1), (103, 1), (101, -1)):
        assert both("trade", 2, aggressor, p, 1) == []
        held.append(_held_triggers(nb, ref)[0])
    assert held == [{1: (98, 0), 2: (105, 107), 3: (120, 0)}, {1: (100, 0), 2: (105, 107), 3: (120, 0)},
                    {1: (100, 0), 2: (105, 107), 3: (120, 0)}]
    assert both("trade", 3, -1, 100, 1)[0] == REPORT_TRIGGERED  # reached as it stood: then a market sell
    assert _held_triggers(nb, ref)[0] == {2: (104, 106), 3: (120, 0)}  # 100 + 4 < 105: the buy's moved on
    # int64's edges: a print at its minimum moves the buys (trigger - print would not fit) down to 1 tick, one at its
    # maximum triggers them
    low = -(1 << 63)
    assert both("trade", 4, -1, low, 1) == []
    assert _held_triggers(nb, ref)[0] == {2: (1, 3), 3: (1, 0)}  # never below 1 tick (a held trigger is > 0)
    assert both("trade", 5, 1, (1 << 63) - 1, 1)[:2] == [REPORT_TRIGGERED, REPORT_TRIGGERED]


@pytest.mark.shared_data
@pytest.mark.slow  # one real day through the plain-Python reference
@pytest.mark.skipif(not GOLDEN.exists(), reason="no golden")
def test_native_trailing_stops_on_a_real_binance_day_agree():
    """The Binance spot golden's first capture (ETHUSDT 2024-08-08, its config) with a strategy placing trailing
    stops held by the L2 venue: the numba engine and the reference the same, every array, on real prints and depth
    (every print moves the held trailing triggers: the numba engine's trade fast path must not skip one)."""
    ref, (nb_s, ref_s) = _real_day_pair(lambda: Trailing(every=25), "trailing")
    assert nb_s.triggered == ref_s.triggered > 50 and nb_s.refused == ref_s.refused
    assert len(ref.fills) > 50


# --- venue-native OCO and bracket orders -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_native_oco_and_brackets_agree(mode):
    """A Python strategy placing OCO pairs and brackets held by the L2 venue (entries cancelled after a partial fill
    or none, children of an entry that took at once, an order paired twice, BAD_LINK refusals) on a
    seeded stream: the numba engine and the reference the same, array by array; the rules ran (counts)."""
    made: list[Linked] = []
    ref, _ = _pair(l2_stream(17, 800), lambda: made.append(Linked()) or made[-1], mode=mode)
    nb_s, ref_s = made
    assert (nb_s.oco_cancels, nb_s.released, nb_s.rejected, nb_s.refused) == (
        ref_s.oco_cancels, ref_s.released, ref_s.rejected, ref_s.refused)
    assert ref_s.oco_cancels > 20 and ref_s.released > 10 and ref_s.rejected > 0
    assert ref_s.refused.get("BAD_LINK", 0) > 5
    assert len(ref.fills) > 20


def test_native_oco_and_brackets_the_python_engine_agrees():
    """The Python engine (`hft.sim.engine.Engine`) passes the links to the venue as the numba engine does: the same
    run, every array."""
    from tests.unit.sim.agreement import same

    made: list[Linked] = []
    py, nb = l2_pair(l2_stream(17, 800), lambda: made.append(Linked()) or made[-1], fees=FeeSchedule(*FEES))
    same(py, nb)
    assert made[0].oco_cancels == made[1].oco_cancels > 20 and made[0].released == made[1].released > 10


def _linked_state(nb, ref) -> tuple[dict, dict]:
    """Each venue's orders with their links: order id -> (state, leaves, oco, parent)."""
    from hft.sim.exchange_l2 import (
        LIVE_HELD,
        LIVE_PENDING,
        LIVE_WORKING,
        O_ID,
        O_LEAVES,
        O_LIVE,
        O_OCO,
        O_PARENT,
    )
    from hft.sim.reference.venue import Child, Held

    names = {LIVE_WORKING: "working", LIVE_HELD: "held", LIVE_PENDING: "child"}
    got = {int(r[O_ID]): (names[int(r[O_LIVE])], int(r[O_LEAVES]), int(r[O_OCO]), int(r[O_PARENT]))
           for r in nb.orders if r[O_LIVE] != 0}
    want = {}
    for o in ref.slots:
        if isinstance(o, Child):
            want[o.order_id] = ("child", o.qty, o.oco, o.parent)
        elif isinstance(o, Held):
            want[o.order_id] = ("held", o.qty, o.oco, 0)
        elif o is not None:
            want[o.order_id] = ("working", o.leaves, o.oco, 0)
    return got, want


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", range(4))
def test_l2_venue_with_oco_and_brackets_agrees_step_by_step(seed, mode):
    """The numba L2 venue against the reference venue, report by report and order by order (state, leaves, links),
    over a few hundred random steps: depth updates, prints, clears; limits, stops, stop-limits and post-only orders
    naming random earlier orders as their OCO pair or bracket parent (some the venue refuses: unknown, paired
    already, a child as a parent, a post-only child), cancels, expiries and replaces."""
    from hft.core.orders import (
        ORDER_LIMIT,
        ORDER_POST_ONLY,
        REPORT_CANCELED,
        REPORT_REJECTED,
        REPORT_REPLACED,
        TIF_GTC,
        TIF_IOC,
    )

    rng = np.random.default_rng(500 + seed)
    nb, ref = _venue_pair(mode)
    ours: list[int] = []
    kinds: dict[int, int] = {}
    for t in range(500):
        now = 1_000 * t
        got = _market_both(nb, ref, rng, now, (90, 111), 0.35, 0.05, t)
        want = got.tolist()
        for k in tuple(x[7] for x in want):
            kinds[k] = kinds.get(k, 0) + 1
        got_s, want_s = _linked_state(nb, ref)
        assert got_s == want_s, (t, "state")
        r = rng.random()
        if r < 0.55:
            otype = int(rng.choice([ORDER_STOP, ORDER_STOP_LIMIT, ORDER_LIMIT, ORDER_LIMIT, ORDER_POST_ONLY]))
            o_side = int(rng.choice([1, -1]))
            trigger = int(rng.integers(90, 111)) if otype in (ORDER_STOP, ORDER_STOP_LIMIT) else 0
            px = 0 if otype == ORDER_STOP else int(rng.integers(90, 111))
            tif = TIF_IOC if rng.random() < 0.1 and otype == ORDER_LIMIT else TIF_GTC
            held = [o.order_id for o in ref.slots if o is not None]  # mostly orders the venue holds
            pool = held if held and rng.random() < 0.85 else ours
            pick = rng.random()
            oco = int(rng.choice(pool)) if pool and pick < 0.45 else (999 if pick < 0.5 else 0)
            parent = int(rng.choice(pool)) if pool and 0.35 < pick < 0.8 else 0
            oid = len(ours) + 1
            args = (oid, o_side, px, int(rng.integers(1, 6)), otype, tif, trigger)
            got, want = nb.new(now, *args, oco=oco, parent=parent), ref.new(now, *args, oco=oco, parent=parent)
            ours.append(oid)
        elif r < 0.7 and ours:
            oid = int(rng.choice(ours))
            got, want = nb.cancel(now, oid), ref.cancel(now, oid)
        elif r < 0.75 and ours:
            oid = int(rng.choice(ours))
            got, want = nb.expire(now, oid), ref.expire(now, oid)
        elif r < 0.8 and ours:
            oid, px, qty = int(rng.choice(ours)), int(rng.integers(90, 111)), int(rng.integers(1, 6))
            got, want = nb.replace(now, oid, px, qty), ref.replace(now, oid, px, qty)
        else:
            continue
        assert [tuple(x) for x in want] == [tuple(x) for x in got.tolist()], (t, "order")
        for k in tuple(x[7] for x in want):
            kinds[k] = kinds.get(k, 0) + 1
        got_s, want_s = _linked_state(nb, ref)
        assert got_s == want_s, (t, "state")
    # the rules ran: pairs cancelled, children entered, links refused
    assert kinds.get(REPORT_CANCELED, 0) > 20 and kinds.get(REPORT_REPLACED, 0) > 2
    assert kinds.get(REPORT_REJECTED, 0) > 100


def test_oco_and_bracket_hand_derived():
    """Hand-derived, both venues: a limit and a stop paired (a partial fill of the limit cancels the stop, after the
    fill); a stop paired with a limit triggers (TRIGGERED, its fill, then the limit's CANCELED); an order naming one
    already paired is REJECTED; a bracket entry filled in two parts releases its take profit and stop for the whole
    (REPLACED, qty = leaves = 4), the take profit's fill cancels the stop; an entry cancelled after 2 of 5 releases
    its children for 2; an entry cancelled unfilled cancels its children; a child of an unknown entry or of a held
    child is REJECTED. Links to orders that ended before the new order arrived: the children of an entry that filled
    whole (or took part and expired) on arrival enter at once for what it filled, those of one that filled nothing
    are cancelled, an order whose pair's other has ended is cancelled, and an end 16 ends ago is forgotten."""
    from hft.core.orders import (
        ORDER_LIMIT,
        REPORT_ACK,
        REPORT_CANCELED,
        REPORT_EXPIRED,
        REPORT_FILL,
        REPORT_PARTIAL_FILL,
        REPORT_REJECTED,
        REPORT_REPLACED,
        TIF_GTC,
        TIF_IOC,
    )
    from hft.sim.exchange_l2 import L2Venue
    from hft.sim.queue_models import parse_queue_model

    nb = L2Venue(None, parse_queue_model("risk_averse"), EXCHANGE_MODES["partial_fill"], FeeSchedule(*FEES), 1)
    ref = L2ReferenceVenue("risk_averse", "partial_fill", Fees(*FEES), 1)

    def both(name, *args, **kw):
        got = [tuple(x) for x in getattr(nb, name)(*args, **kw).tolist()]
        assert got == [tuple(x) for x in getattr(ref, name)(*args, **kw)], name
        return [(x[1], x[7], x[3], x[4]) for x in got]  # (order id, kind, qty, leaves)

    both("depth", 0, 1, 100, 10)
    both("depth", 0, -1, 102, 10)
    # OCO: sell limit 105 x3 (nothing shown ahead) and sell stop 95 x3
    assert both("new", 1, 1, -1, 105, 3, ORDER_LIMIT, TIF_GTC) == [(1, REPORT_ACK, 0, 3)]
    assert both("new", 1, 2, -1, 0, 3, ORDER_STOP, TIF_GTC, 95, oco=1) == [(2, REPORT_ACK, 0, 3)]
    assert both("new", 1, 3, -1, 0, 3, ORDER_STOP, TIF_GTC, 95, oco=1) == [(3, REPORT_REJECTED, 0, 0)]
    assert both("trade", 2, 1, 105, 2) == [(1, REPORT_PARTIAL_FILL, 2, 1), (2, REPORT_CANCELED, 0, 0)]
    # a stop of a pair triggers: market IOC sell 2 at the 100 bid, then the limit cancelled
    assert both("new", 3, 4, -1, 110, 2, ORDER_LIMIT, TIF_GTC) == [(4, REPORT_ACK, 0, 2)]
    assert both("new", 3, 5, -1, 0, 2, ORDER_STOP, TIF_GTC, 99, oco=4) == [(5, REPORT_ACK, 0, 2)]
    assert both("trade", 4, -1, 99, 1) == [(5, REPORT_TRIGGERED, 0, 2), (5, REPORT_FILL, 2, 0),
                                           (4, REPORT_CANCELED, 0, 0)]
    # a bracket: buy 100 x4 behind the 10 shown; take profit sell 110 x4, stop sell 90 x4 paired with it
    assert both("new", 5, 10, 1, 100, 4, ORDER_LIMIT, TIF_GTC) == [(10, REPORT_ACK, 0, 4)]
    assert both("new", 5, 11, -1, 110, 4, ORDER_LIMIT, TIF_GTC, parent=10) == [(11, REPORT_ACK, 0, 4)]
    assert both("new", 5, 12, -1, 0, 4, ORDER_STOP, TIF_GTC, 90, parent=10, oco=11) == [(12, REPORT_ACK, 0, 4)]
    assert both("trade", 6, -1, 100, 12) == [(10, REPORT_PARTIAL_FILL, 2, 2)]  # held children: nothing
    assert both("trade", 7, -1, 100, 2) == [(10, REPORT_FILL, 2, 0), (11, REPORT_REPLACED, 4, 4),
                                            (12, REPORT_REPLACED, 4, 4)]
    assert both("trade", 8, 1, 110, 3) == [(1, REPORT_FILL, 1, 0),  # order 1's last lot: traded through
                                           (11, REPORT_PARTIAL_FILL, 3, 1), (12, REPORT_CANCELED, 0, 0)]
    # cancelled after 2 of 5: children for 2
    assert both("new", 9, 20, 1, 98, 5, ORDER_LIMIT, TIF_GTC) == [(20, REPORT_ACK, 0, 5)]
    both("new", 9, 21, -1, 120, 5, ORDER_LIMIT, TIF_GTC, parent=20)
    both("new", 9, 22, -1, 0, 5, ORDER_STOP, TIF_GTC, 80, parent=20, oco=21)
    assert both("trade", 10, -1, 98, 2) == [(20, REPORT_PARTIAL_FILL, 2, 3)]
    assert both("cancel", 11, 20) == [(20, REPORT_CANCELED, 0, 0), (21, REPORT_REPLACED, 2, 2),
                                      (22, REPORT_REPLACED, 2, 2)]
    # cancelled unfilled: its children cancelled (the second as the first's pair)
    both("new", 12, 30, 1, 97, 3, ORDER_LIMIT, TIF_GTC)
    both("new", 12, 31, -1, 130, 3, ORDER_LIMIT, TIF_GTC, parent=30)
    both("new", 12, 32, -1, 0, 3, ORDER_STOP, TIF_GTC, 70, parent=30, oco=31)
    assert both("new", 12, 33, -1, 140, 1, ORDER_LIMIT, TIF_GTC, parent=31) == [(33, REPORT_REJECTED, 0, 0)]
    assert both("cancel", 13, 30) == [(30, REPORT_CANCELED, 0, 0), (31, REPORT_CANCELED, 0, 0),
                                      (32, REPORT_CANCELED, 0, 0)]
    assert both("new", 14, 40, -1, 140, 1, ORDER_LIMIT, TIF_GTC, parent=999) == [(40, REPORT_REJECTED, 0, 0)]
    # an entry that fills whole on arrival (buy 3 taking the 102 ask): its children arrive after its end and enter
    # at once for what it filled; the stop pairs with the take profit, which then fills and cancels it
    both("depth", 15, -1, 102, 10)
    assert both("new", 15, 50, 1, 102, 3, ORDER_LIMIT, TIF_GTC) == [(50, REPORT_ACK, 0, 3), (50, REPORT_FILL, 3, 0)]
    assert both("new", 15, 51, -1, 111, 3, ORDER_LIMIT, TIF_GTC, parent=50) == [(51, REPORT_ACK, 0, 3),
                                                                                (51, REPORT_REPLACED, 3, 3)]
    assert both("new", 15, 52, -1, 0, 3, ORDER_STOP, TIF_GTC, 90, parent=50, oco=51) == [
        (52, REPORT_ACK, 0, 3), (52, REPORT_REPLACED, 3, 3)]
    assert both("trade", 16, 1, 111, 3) == [(11, REPORT_FILL, 1, 0),  # order 11's last lot, traded through
                                            (51, REPORT_FILL, 3, 0), (52, REPORT_CANCELED, 0, 0)]
    # an order whose pair's other has ended: ACKed, then cancelled by the OCO rule
    assert both("new", 16, 53, -1, 130, 1, ORDER_LIMIT, TIF_GTC, oco=51) == [(53, REPORT_ACK, 0, 1),
                                                                             (53, REPORT_CANCELED, 0, 0)]
    # an IOC entry that took 2 of 5 and expired: its child enters for 2; one that took nothing: its child cancelled
    both("depth", 17, -1, 102, 2)
    assert both("new", 17, 60, 1, 102, 5, ORDER_LIMIT, TIF_IOC) == [(60, REPORT_ACK, 0, 5),
                                                                    (60, REPORT_PARTIAL_FILL, 2, 3),
                                                                    (60, REPORT_EXPIRED, 0, 0)]
    assert both("new", 17, 61, -1, 125, 5, ORDER_LIMIT, TIF_GTC, parent=60) == [(61, REPORT_ACK, 0, 5),
                                                                                (61, REPORT_REPLACED, 2, 2)]
    assert both("new", 18, 70, 1, 95, 2, ORDER_LIMIT, TIF_IOC) == [(70, REPORT_ACK, 0, 2), (70, REPORT_EXPIRED, 0, 0)]
    assert both("new", 18, 71, -1, 125, 2, ORDER_LIMIT, TIF_GTC, parent=70) == [(71, REPORT_ACK, 0, 2),
                                                                               (71, REPORT_CANCELED, 0, 0)]
    # a child of a held child that ended (cancelled with its entry, order 31) is REJECTED, as while it was held
    assert both("new", 19, 72, -1, 140, 1, ORDER_LIMIT, TIF_GTC, parent=31) == [(72, REPORT_REJECTED, 0, 0)]
    # the venue remembers the last 16 ends: an entry 16 ends ago is forgotten, its child REJECTED
    both("new", 20, 80, 1, 90, 1, ORDER_LIMIT, TIF_GTC)
    both("cancel", 20, 80)
    for oid in range(81, 97):
        both("new", 21, oid, 1, 90, 1, ORDER_LIMIT, TIF_GTC)
        both("cancel", 21, oid)
    assert both("new", 22, 97, -1, 120, 1, ORDER_LIMIT, TIF_GTC, parent=80) == [(97, REPORT_REJECTED, 0, 0)]
    assert both("new", 22, 98, -1, 120, 1, ORDER_LIMIT, TIF_GTC, parent=96) == [(98, REPORT_ACK, 0, 1),
                                                                               (98, REPORT_CANCELED, 0, 0)]


@pytest.mark.shared_data
@pytest.mark.slow  # one real day through the plain-Python reference
@pytest.mark.skipif(not GOLDEN.exists(), reason="no golden")
def test_native_oco_and_brackets_on_a_real_binance_day_agree():
    """The Binance spot golden's first capture (ETHUSDT 2024-08-08, its config) with a strategy placing OCO pairs and
    brackets held by the L2 venue: the numba engine and the reference the same, every array, on real prints and
    depth; the rules ran (OCO / bracket cancels, children released)."""
    ref, (nb_s, ref_s) = _real_day_pair(lambda: Linked(every=25), "linked")
    assert (nb_s.oco_cancels, nb_s.released, nb_s.refused) == (ref_s.oco_cancels, ref_s.released, ref_s.refused)
    assert ref_s.oco_cancels > 50 and ref_s.released > 20
    assert len(ref.fills) > 50


# --- independence --------------------------------------------------------------------------------------------------
FORBIDDEN = ("hft.sim.engine", "hft.sim.engine_nb", "hft.sim.exchange_l2", "hft.sim.exchange_l3",
             "hft.sim.venue_common", "hft.sim.latency", "hft.sim.queue_models")


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_reference_imports_no_engine_module():
    """Neither its source (lazy imports included) nor what importing it loads names an engine module (the
    import-linter contract in pyproject.toml says the same for every indirect import)."""
    pkg = ROOT / "hft" / "sim" / "reference"
    named = set()
    for path in pkg.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                named.add(node.module)
                named.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                named.update(a.name for a in node.names)
    assert named and not [n for n in named if _forbidden(n)]
    code = "import sys, hft.sim.reference; print('\\n'.join(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=ROOT).stdout.split()
    assert "hft.sim.reference.loop" in loaded and not [m for m in loaded if _forbidden(m)]


# --- one session: commands reach the venue in the order sent -------------------------------------------------------
class _Brackets(Strategy):
    """A bracket on every fourth print: a resting entry one tick behind the print on its passive side, a take profit
    and a stop (paired) as its children; counts the REJECTED reports of its children (`lost`) and their releases."""

    name = "brackets"

    def __init__(self) -> None:
        self.n = self.lost = self.released = 0
        self.children: set[int] = set()

    def on_trade(self, ctx, side, price, qty) -> None:
        self.n += 1
        if self.n % 4 or len(ctx.orders) > 9:
            return
        s = -side
        _, tp, sl = ctx.bracket(s, price - s, 1, price + 3 * s, price - 3 * s)
        self.children.update(d.order_id for d in (tp, sl) if d is not None and d.accepted)

    def on_order_update(self, ctx, u) -> None:
        from hft.core.orders import REPORT_REJECTED, REPORT_REPLACED

        if u.order_id in self.children:
            self.lost += u.kind == REPORT_REJECTED
            self.released += u.kind == REPORT_REPLACED


def test_commands_reach_the_venue_in_the_order_sent():
    """An entry latency with a heavy random jitter (mean 2 ms on a 0.1 ms base, drawn per command) would let a command
    overtake the one sent before it; the gateway's commands travel on one session and arrive in the order sent
    (`hft.sim.latency.session_arrival`): with a constant response latency, the ACKs of the orders reach the strategy
    in the order of their ids, both engines the same; and no bracket child reaches the venue before its entry (none
    REJECTED as the child of an unknown order, however far the draws spread)."""
    made: list[_Brackets] = []
    ref, nb = _pair(l2_stream(17, 800), lambda: made.append(_Brackets()) or made[-1],
                    entry=L.random(100_000, 2_000_000, seed=9), resp=L.constant(1_000_000))
    agree(ref, nb)
    acks = np.sort(ref.acks, order="order_id")
    assert len(acks) > 60 and (np.diff(acks["ack_ts"]) >= 0).all()
    nb_s, ref_s = made
    assert (nb_s.lost, nb_s.released) == (ref_s.lost, ref_s.released)
    assert ref_s.lost == 0 and ref_s.released > 10, (ref_s.lost, ref_s.released)
