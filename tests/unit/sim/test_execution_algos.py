"""The execution algorithms `twap`, `vwap` and `pov` (`hft.sim.strategies.execution`): hand-derived traces of their
child orders, fills and completion on scripted markets (the scenario files' format, `hft.sim.scenario`, run on the
replay engine through a real gateway), and their parameter errors.

Common setup: tick 0.01 (100.01 = 10001 ticks), lot 1, entry = response = 1 ms, no feed latency, no fees. The
book at t = 0 is seen locally at once, so the strategies' timers tick every bucket from t = 0 (a timer at t runs
after the local data of t). A child is a marketable IOC at the local best ask: it reaches the venue 1 ms after it
was sent and its report the strategy 1 ms later. The L2 venue's taker fills consume a level until it next updates.
"""

from __future__ import annotations

import pytest

from hft.core.errors import ConfigError
from hft.core.orders import TIF_IOC
from hft.sim.scenario import build_engine, parse_scenario
from hft.sim.strategies import make_strategy

MS = 1_000_000
ASK = 10001  # 100.01


def run(market: dict, spec: str, params: dict):
    """Run strategy `spec` on the scripted `market`; (children, fills, position): children as (sent ms, price,
    qty), fills as (ms the report reached the strategy, price, qty)."""
    sc = parse_scenario({"instrument": {"symbol": "TEST", "tick_size": 0.01, "lot_size": 1},
                         "latency": {"entry": "1ms", "response": "1ms"}, **market}, "<market>")
    out = build_engine(sc, make_strategy(spec, params)).run(multiplier=sc.money)
    assert all(o["tif"] == TIF_IOC and o["side"] == 1 for o in out.orders)  # buys, every one an IOC
    children = [(int(o["ts"]) / MS, int(o["price"]), int(o["qty"])) for o in out.orders]
    fills = [(int(f["local_ts"]) / MS, int(f["price"]), int(f["qty"])) for f in out.fills]
    assert out.final["position"] == sum(q for _, _, q in fills)
    return children, fills, out


# TWAP buy 10 over 50 ms in 5 slices (targets 2, 4, 6, 8, 10 at 10, 20, 30, 40, 50 ms), limit 100.01:
#   10 ms: 2 @ 100.01 -> 3 available, fills 2                              filled 2
#   20 ms: due 4 -> 2 @ 100.01; 1 left of the level: fills 1, 1 expires   filled 3
#   25 ms: the 100.01 ask leaves; best ask 100.02 is beyond the limit
#   30 ms: due 6, but 100.02 > 100.01: nothing sent
#   35 ms: 100.01 is back with 5 lots (fresh)
#   40 ms: due 8 -> catch-up 5 @ 100.01: fills 5                          filled 8
#   45 ms: 100.01 updates to 4 lots (fresh)
#   50 ms: due 10 -> 2 @ 100.01: fills 2                                  filled 10: done, nothing after
TWAP_MARKET = {
    "book": {"bids": [[99.99, 10]], "asks": [[100.01, 3], [100.02, 10]]},
    "events": [{"t": "25ms", "kind": "depth", "side": "sell", "price": 100.01, "qty": 0},
               {"t": "35ms", "kind": "depth", "side": "sell", "price": 100.01, "qty": 5},
               {"t": "45ms", "kind": "depth", "side": "sell", "price": 100.01, "qty": 4},
               {"t": "100ms", "kind": "depth", "side": "buy", "price": 99.99, "qty": 10}],
}
TWAP = {"qty": 10, "duration_ns": 50 * MS, "slices": 5, "limit_price": ASK}


def test_twap_catches_up_missed_slices_and_stops_at_its_limit_price():
    children, fills, _ = run(TWAP_MARKET, "twap", TWAP)
    assert children == [(10.0, ASK, 2), (20.0, ASK, 2), (40.0, ASK, 5), (50.0, ASK, 2)]
    assert fills == [(12.0, ASK, 2), (22.0, ASK, 1), (42.0, ASK, 5), (52.0, ASK, 2)]


def test_twap_without_limit_price_takes_the_next_level():
    # 30 ms: due 6, committed 3 -> 3 @ 100.02 (10 lots); 40 ms: due 8 -> 2 @ 100.01 (5 fresh); 50 ms: 2 @ 100.01
    # (4 fresh at 45 ms)
    children, fills, _ = run(TWAP_MARKET, "twap", {**TWAP, "limit_price": None})
    assert children == [(10.0, ASK, 2), (20.0, ASK, 2), (30.0, ASK + 1, 3), (40.0, ASK, 2), (50.0, ASK, 2)]
    assert [q for _, _, q in fills] == [2, 1, 3, 2, 2]


def test_vwap_with_a_flat_profile_is_twap():
    flat = {"qty": 10, "duration_ns": 50 * MS, "buckets": 5, "limit_price": ASK}
    _, _, twap = run(TWAP_MARKET, "twap", TWAP)
    _, _, vwap = run(TWAP_MARKET, "vwap", flat)
    assert vwap.run_hash == twap.run_hash and len(vwap.fills) == 4


@pytest.mark.parametrize(("start_ns", "late"), [(15 * MS, 0.0), (15 * MS + 1, 0.15625)])
def test_twap_start_off_the_bucket_grid(start_ns, late):
    # start 15 ms, buckets of 10 ms: the timer ticks every 5 ms (their gcd); slices end at 25, 35, 45 ms
    # (targets 3, 6, 10 of 10). 25 ms: 3 @ 100.01, but the level left at 25 ms (local data first): 100.02, 3 lots;
    # 35 ms: 3 @ 100.01 (5 fresh); 45 ms: 4 @ 100.01 (4 fresh at 45 ms).
    # start 15 ms + 1 ns: a gcd of 1 ns; the timer ticks every 10 ms / 64 = 156,250 ns instead, and each slice's
    # child goes out at the first tick after its end (25 ms + 1 ns -> tick 161 at 25.15625 ms; 35.15625, 45.15625)
    children, fills, _ = run(TWAP_MARKET, "twap", {"qty": 10, "duration_ns": 30 * MS, "slices": 3,
                                                   "start_ns": start_ns})
    assert children == [(25.0 + late, ASK + 1, 3), (35.0 + late, ASK, 3), (45.0 + late, ASK, 4)]
    assert [q for _, _, q in fills] == [3, 3, 4]


# VWAP buy 12 over 30 ms, profile [1, 2, 3] (targets 2, 6, 12 at 10, 20, 30 ms), at most half of the volume
# printed over the last bucket (10 ms) per child; 50 lots at 100.01, never used up:
#   prints 4 (5 ms), 6 (15 ms), 2 (25 ms), 10 (35 ms), 2 (55 ms)
#   10 ms: due 2, cap 4 / 2 = 2  -> 2            filled 2
#   20 ms: due 6, cap 6 / 2 = 3  -> 3 (of 4)     filled 5
#   30 ms: due 12, cap 2 / 2 = 1 -> 1 (of 7)     filled 6
#   40 ms: due 12, cap 10 / 2 = 5 -> 5 (of 6)    filled 11
#   50 ms: nothing printed since 40 ms: cap 0, nothing sent
#   60 ms: cap 2 / 2 = 1 -> the last lot         filled 12: done
VWAP_MARKET = {
    "book": {"bids": [[99.99, 50]], "asks": [[100.01, 50]]},
    "events": [{"t": f"{t}ms", "kind": "trade", "aggressor": "buy", "price": 100.01, "qty": q}
               for t, q in ((5, 4), (15, 6), (25, 2), (35, 10), (55, 2), (75, 8))]
    + [{"t": "100ms", "kind": "depth", "side": "buy", "price": 99.99, "qty": 50}],
}


def test_vwap_follows_its_profile_within_its_participation_cap():
    children, fills, out = run(VWAP_MARKET, "vwap", {"qty": 12, "duration_ns": 30 * MS, "profile": [1, 2, 3],
                                                     "max_participation": 0.5})
    assert children == [(10.0, ASK, 2), (20.0, ASK, 3), (30.0, ASK, 1), (40.0, ASK, 5), (60.0, ASK, 1)]
    assert fills == [(12.0, ASK, 2), (22.0, ASK, 3), (32.0, ASK, 1), (42.0, ASK, 5), (62.0, ASK, 1)]
    assert out.final["position"] == 12


def test_vwap_without_a_cap_meets_each_cumulative_target():
    children, _, _ = run(VWAP_MARKET, "vwap", {"qty": 12, "duration_ns": 30 * MS, "profile": [1, 2, 3]})
    assert children == [(10.0, ASK, 2), (20.0, ASK, 4), (30.0, ASK, 6)]


# POV buy 5 at rate 0.25 with children of at least 2 and a limit of 100.01 (asks 100.01 x 50, 100.02 x 50):
#   5 ms print 4: V 4, target 1: below the minimum child
#   10 ms print 4: V 8, target 2 -> 2 @ 100.01                       filled 2 (12 ms)
#   13 ms: the 100.01 ask leaves (best 100.02 is beyond the limit)
#   15 ms print 3: V 11, target 2: nothing due
#   20 ms print 5: V 16, target 4: 2 due, but 100.02 > 100.01: nothing sent
#   22 ms: 100.01 back with 50
#   25 ms print 8: V 24, target 6 capped at 5: 3 due -> 3 @ 100.01   filled 5 (27 ms): done
#   30 ms print 10: done, nothing sent
POV_MARKET = {
    "book": {"bids": [[99.99, 50]], "asks": [[100.01, 50], [100.02, 50]]},
    "events": [{"t": f"{t}ms", "kind": "trade", "aggressor": "sell", "price": 99.99, "qty": q}
               for t, q in ((5, 4), (10, 4), (15, 3), (20, 5), (25, 8), (30, 10))]
    + [{"t": "13ms", "kind": "depth", "side": "sell", "price": 100.01, "qty": 0},
       {"t": "22ms", "kind": "depth", "side": "sell", "price": 100.01, "qty": 50}],
}


def test_pov_trades_its_rate_of_the_printed_volume_with_a_minimum_child_and_a_limit():
    children, fills, _ = run(POV_MARKET, "pov", {"qty": 5, "rate": 0.25, "min_child": 2, "limit_price": ASK})
    assert children == [(10.0, ASK, 2), (25.0, ASK, 3)]
    assert fills == [(12.0, ASK, 2), (27.0, ASK, 3)]


def test_pov_finishes_a_remainder_below_the_minimum_child():
    # rate 0.5, min child 3, qty 5: V 4 -> target 2 (< 3); V 8 -> 4: child 4; V 11 -> 5 = qty: the last lot goes
    # out though it is below the minimum (limit off: 100.02 at 15 ms)
    children, _, out = run(POV_MARKET, "pov", {"qty": 5, "rate": 0.5, "min_child": 3})
    assert children == [(10.0, ASK, 4), (15.0, ASK + 1, 1)]
    assert out.final["position"] == 5


def test_every_child_goes_through_the_gateway():
    # with the gateway's max_order_qty at 5, the 6-lot child due at 30 ms is rejected there, and again at every
    # bucket after it; max_child 5 sends what the limits allow and catches up the rest
    market = {**VWAP_MARKET, "limits": {"max_order_qty": 5}}
    vwap = {"qty": 12, "duration_ns": 30 * MS, "profile": [1, 2, 3]}
    children, _, out = run(market, "vwap", vwap)
    assert children == [(10.0, ASK, 2), (20.0, ASK, 4)] and out.final["position"] == 6
    assert out.rejects == {"MAX_ORDER_QTY": 8}  # at 30, 40, ..., 100 ms
    children, _, out = run(market, "vwap", {**vwap, "max_child": 5})
    assert children == [(10.0, ASK, 2), (20.0, ASK, 4), (30.0, ASK, 5), (40.0, ASK, 1)] and not out.rejects


@pytest.mark.parametrize(("spec", "params", "message"), [
    ("vwap", {"profile": [1, -1]}, "parameter 'profile': expected a list of non-negative numbers"),
    ("vwap", {"profile": [0, 0]}, "parameter 'profile': expected at least one positive weight"),
    ("vwap", {"profile": "flat"}, "parameter 'profile': expected a list, was 'flat'"),
    ("vwap", {"buckets": 3, "profile": [1, 2]}, "parameter 'buckets': expected the profile's length 2"),
    ("vwap", {"max_participation": 1.5}, "parameter 'max_participation': expected a number in [0, 1], was 1.5"),
    ("pov", {"rate": 0.0}, "parameter 'rate': expected a number in (0, 1], was 0.0"),
    ("pov", {"min_child": 0}, "parameter 'min_child': expected a value >= 1, was 0 (lots)"),
    ("pov", {"limit_price": "100.5"}, "parameter 'limit_price': expected a price in ticks (an integer) or null"),
    ("twap", {"side": 0}, "parameter 'side': expected 1 (buy) or -1 (sell), was 0"),
    ("twap", {"start_ns": -1}, "parameter 'start_ns': expected a value >= 0, was -1"),
    ("twap", {"duration_ns": 3600}, "parameter 'duration_ns': expected at least 1ms a bucket (60 buckets: 60000000"),
])
def test_parameter_errors_name_the_key(spec, params, message):
    with pytest.raises(ConfigError) as exc:
        make_strategy(spec, params)
    assert f"strategy {spec}: {message}" in exc.value.message
    assert "\n" not in exc.value.message
    assert exc.value.fields["key"] == f"strategies.{spec}.{next(iter(params))}"  # the first one is wrong


# ----------------------------------------------------------------------------- the real LOBSTER sample
GOOG_1 = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"
HOUR = 3_600_000_000_000


@pytest.fixture(scope="module")
def goog(shared_data):
    """The GOOG sample day and its market prints: local times and the cumulative volume (visible and hidden
    executions, what `on_trade` delivers)."""
    import numpy as np

    from hft.core.dtypes import EV_EXEC, EV_HIDDEN_EXEC, EV_TRADE
    from hft.data.sources import open_market_data

    path = shared_data / GOOG_1
    ev = open_market_data([path]).events
    prints = np.isin(ev["kind"], [EV_TRADE, EV_EXEC, EV_HIDDEN_EXEC])
    return path, int(ev["local_ts"][0]), ev["local_ts"][prints], np.cumsum(ev["qty"][prints])


def replay(path, spec: str, params: dict):
    from hft.data.sources import FILES
    from hft.sim.replay import parse_replay_config, replay_result

    cfg = parse_replay_config({"strategies": {spec: params},
                               "limits": {"max_position": 200_000, "max_order_qty": 10_000}})
    return replay_result([path], spec, cfg, source=FILES)


def volume_to(goog, t):
    """Market lots printed up to local time `t` (inclusive)."""
    import numpy as np

    _, _, ts, cum = goog
    i = int(np.searchsorted(ts, t, side="right"))
    return int(cum[i - 1]) if i else 0


@pytest.mark.shared_data
def test_pov_on_lobster_completes_within_its_rate(goog):
    path = goog[0]
    r = replay(path, "pov", {"qty": 2000, "rate": 0.1, "min_child": 5})
    assert r.summary["position"] == 2000 and int(r.fills["qty"].sum()) == 2000
    filled = r.fills["qty"].cum_sum().to_list()
    for q, t in zip(filled, r.fills["ts"].to_list(), strict=True):  # at every fill: within the rate + one child
        assert q <= 0.1 * volume_to(goog, t) + 5
    assert all(q >= 5 for q in r.orders["qty"].to_list()[:-1])  # min child, but for the remainder


@pytest.mark.shared_data
def test_pov_on_lobster_realised_participation_over_the_day(goog):
    path, _, _, cum = goog
    r = replay(path, "pov", {"qty": 1_000_000, "rate": 0.05, "min_child": 20})
    filled = r.fills["qty"].cum_sum().to_list()
    for q, t in zip(filled, r.fills["ts"].to_list(), strict=True):
        assert q <= 0.05 * volume_to(goog, t) + 20
    realised = filled[-1] / int(cum[-1])  # 35,301 of 706,125 lots
    assert 0.05 - 20 / int(cum[-1]) <= realised <= 0.05


@pytest.mark.shared_data
@pytest.mark.parametrize(("spec", "params", "first"), [
    ("vwap", {"qty": 600, "duration_ns": HOUR, "profile": [3, 2, 1, 1, 2, 3]}, 150),  # 600 x 3 / 12 at 10 min
    ("twap", {"qty": 600, "duration_ns": HOUR, "slices": 12}, 50),  # 600 / 12 at 5 min
])
def test_scheduled_algos_on_lobster_execute_the_parent(goog, spec, params, first):
    path, t0 = goog[0], goog[1]
    r = replay(path, spec, params)
    assert r.summary["position"] == 600 and int(r.fills["qty"].sum()) == 600
    bucket = HOUR // len(params.get("profile") or [0] * params.get("slices", 0))
    assert r.orders["ts"][0] == t0 + bucket and r.orders["qty"][0] == first


@pytest.mark.shared_data
def test_vwap_participation_cap_on_lobster(goog):
    path = goog[0]
    bucket = HOUR // 6
    r = replay(path, "vwap", {"qty": 3000, "duration_ns": HOUR, "profile": [3, 2, 1, 1, 2, 3],
                              "max_participation": 0.02, "start_ns": HOUR // 2})
    assert r.summary["position"] == 3000  # done well after the hour: the cap held it back (about 5 hours)
    caps = [int(0.02 * (volume_to(goog, t) - volume_to(goog, t - bucket))) for t in r.orders["ts"].to_list()]
    sent = r.orders["qty"].to_list()
    assert all(q <= cap for q, cap in zip(sent, caps, strict=True))
    assert sum(q == cap for q, cap in zip(sent, caps, strict=True)) >= len(sent) - 2  # the cap binds


@pytest.mark.parametrize(("spec", "params"), [
    ("pov", {"qty": 30, "rate": 0.2, "min_child": 2}),
    ("vwap", {"qty": 30, "duration_ns": 200_000_000, "profile": [1, 2, 3, 3, 2, 1], "max_participation": 0.5}),
])
def test_on_two_instruments_the_first_is_worked_on_its_own_prints(spec, params):
    from hft.sim.engine_nb import NbEngine
    from tests.unit.sim.agreement import l2_stream, run_legs, shifted

    x, y = l2_stream(7), shifted(l2_stream(9), 250_000, 5000)
    _, two = run_legs([x, y], make_strategy(spec, params), NbEngine)
    _, one = run_legs([x], make_strategy(spec, params), NbEngine)
    assert len(two.legs[1].order_ids) == 0 and len(one.orders) > 2
    assert two.orders[["ts", "price", "qty"]].tolist() == one.orders[["ts", "price", "qty"]].tolist()
