"""Several instruments on one clock (`hft.sim.legs`, `Engine.of_legs`): the merged stream and its tie-break,
routing by leg (views, venues, accounting), the context per leg, the run hash, and a leg that trades alone being
exactly the single-instrument run."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from hft.core.dtypes import BUY, EV_LEVEL_SET, FLAG_EOM, SELL, empty_events
from hft.core.errors import SimError
from hft.core.orders import INTENT_NEW, ORDER_LIMIT, REPORT_FILL, REPORT_PARTIAL_FILL, TIF_IOC
from hft.sim.engine import Engine, EngineConfig, legs_run_hash
from hft.sim.engine_nb import SK_NONE, NbEngine
from hft.sim.fees import FeeSchedule, cash_flow
from hft.sim.legs import LegInput, local_stream, merge_streams
from hft.sim.strategies import make_strategy
from hft.sim.strategy import Strategy
from tests.unit.sim.agreement import (
    ECFG,
    LATENCIES,
    Chaos,
    OnlyLeg0,
    ThreeLegChaos,
    Tight,
    TwoLegChaos,
    l2_stream,
    l2_venue,
    legs_gateway,
    run_legs,
    same,
    shifted,
)


def _events(times: list[int]) -> np.ndarray:
    ev = empty_events(len(times))
    for i, t in enumerate(times):
        ev[i] = (t, t, 100 + i, 1, 0, i, EV_LEVEL_SET, BUY, FLAG_EOM)
    return ev


def test_merge_keeps_each_legs_order_and_breaks_ties_by_leg():
    a = _events([0, 5, 5, 10])
    b = _events([5, 3, 7])  # unsorted exchange times (as Binance's): its running maximum is the key
    m = merge_streams([a, b])
    assert list(zip(m.leg.tolist(), m.own.tolist(), strict=True)) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1),
                                                                       (1, 2), (0, 3)]
    for k, ev in enumerate((a, b)):
        assert np.array_equal(m.events[m.leg == k], ev)  # each leg's own events, in its own order
    assert not m.events.flags.writeable
    flipped = merge_streams([b, a])  # ties go to the leg given first
    assert flipped.leg.tolist() == [1, 0, 0, 1, 1, 0, 1]
    assert flipped.events["exch_ts"].tolist() == [0, 5, 3, 5, 5, 7, 10]


def test_merge_of_one_leg_is_the_stream():
    a = _events([3, 1, 4, 1, 5])
    m = merge_streams([a])
    assert np.array_equal(m.events, a) and m.own.tolist() == list(range(5)) and not m.leg.any()


@settings(max_examples=200, deadline=None)
@given(hs.lists(hs.lists(hs.integers(0, 20), max_size=30), min_size=1, max_size=4))
def test_merge_is_the_sort_by_clock_then_leg_then_own_order(times):
    """The merge against its definition: a stable sort of every event by (its leg's running maximum exchange
    time, leg, own index)."""
    streams = [_events(t) for t in times]
    m = merge_streams(streams)
    keyed = sorted((max(t[:i + 1]), k, i) for k, t in enumerate(times) for i in range(len(t)))
    assert list(zip(m.leg.tolist(), m.own.tolist(), strict=True)) == [(k, i) for _, k, i in keyed]
    assert np.array_equal(m.events, np.array([streams[k][i] for _, k, i in keyed], dtype=m.events.dtype)
                          if keyed else m.events)


@settings(max_examples=200, deadline=None)
@given(hs.lists(hs.lists(hs.tuples(hs.integers(0, 20), hs.integers(0, 30)), max_size=30), min_size=2, max_size=4))
def test_local_stream_is_the_sort_by_each_legs_local_time_then_leg_then_own_order(legs):
    """The local stream against its definition: each leg's local times (its data's, here never before its exchange
    times: no shift) as the running maximum within the leg, then a stable sort of every event by (local time, leg,
    own index); ``order`` names each local event's merged index."""
    streams = []
    for pairs in legs:
        ev = _events([t for t, _ in pairs])
        ev["local_ts"] = [t + d for t, d in pairs]
        streams.append(ev)
    m = merge_streams(streams)
    ls = local_stream(m.events, m.leg, len(streams), None)
    keyed = sorted((max(t + d for t, d in pairs[:i + 1]), k, i) for k, pairs in enumerate(legs)
                   for i in range(len(pairs)))
    assert ls.times.tolist() == [t for t, _, _ in keyed]
    merged_at = {(k, i): j for j, (k, i) in enumerate(zip(m.leg.tolist(), m.own.tolist(), strict=True))}
    assert ls.order.tolist() == [merged_at[(k, i)] for _, k, i in keyed]
    one = local_stream(streams[0], None, 1, None)
    assert one.order is None and one.times.tolist() == [t for t, k, _ in keyed if k == 0]


def test_merge_of_the_same_read_only_streams_is_reused_and_of_writable_ones_never():
    from hft.sim.engine_nb.buffers import Spares

    sp = Spares()
    a, b = _events([0, 5, 9]), _events([1, 2])
    first = merge_streams([a, b], sp)  # writable inputs: made anew each time (their contents may change)
    a[1]["exch_ts"] = 20
    again = merge_streams([a, b], sp)
    assert again is not first and again.events["exch_ts"].tolist() == [0, 1, 2, 20, 9]
    for ev in (a, b):
        ev.flags.writeable = False
    frozen = merge_streams([a, b], sp)
    assert merge_streams([a, b], sp) is frozen  # a sweep's next run over the same days takes the merge as it is
    assert merge_streams([a, b]) is not frozen  # a run without the sweep's Spares merges anew
    assert merge_streams([a, b], Spares()) is not frozen  # nor does another run's Spares see this one
    assert merge_streams([b, a], sp) is not frozen  # another order of legs is another merge
    c = a.copy()
    c.flags.writeable = False
    assert merge_streams([c, b], sp) is not frozen and np.array_equal(merge_streams([c, b], sp).events, frozen.events)


# --- engines ----------------------------------------------------------------------------------------------------


def test_a_leg_trading_alone_is_the_single_instrument_run():
    x = l2_stream(7)
    y = shifted(l2_stream(8, n_msgs=150), 1_000_000, 5000)  # inside x's time range, other prices
    single = Engine(x, l2_venue(), legs_gateway(["S0"]), OnlyLeg0(seed=2, timer_ns=30_000_000), "S0", ECFG).run()
    _, multi = run_legs([x, y], OnlyLeg0(seed=2, timer_ns=30_000_000))
    assert len(single.fills) > 10 and len(single.orders) > 50
    for f in ("decisions", "orders", "fills", "acks"):
        assert np.array_equal(getattr(single, f), getattr(multi, f)), f
    leg0, leg1 = multi.legs
    assert np.array_equal(leg0.equity, single.equity)  # sampled at the same local times
    assert leg0.final == single.final and leg1.final == {"position": 0, "cash": 0, "fees": 0, "fee_frac": 0}
    assert np.array_equal(np.sort(leg0.order_ids), np.unique(single.orders["order_id"]))
    assert len(leg1.order_ids) == 0 and len(leg1.decisions) == 0 and multi.events == len(x) + len(y)
    assert np.array_equal(leg0.decisions, np.arange(len(single.decisions)))
    assert multi.run_hash != single.run_hash  # a run of several legs also hashes which leg each order is on
    assert multi.final == {"cash": single.final["cash"], "fees": single.final["fees"],
                           "fee_frac": single.final["fee_frac"]}


def test_two_legs_route_orders_and_account_per_leg():
    x = l2_stream(7)
    y = shifted(l2_stream(9), 250_000, 5000)  # leg 1 trades around 6000: a fill's price says its venue
    strat = TwoLegChaos(seed=4, timer_ns=20_000_000)
    eng, out = run_legs([x, y], strat)
    leg_of = {int(o): k for k, leg in enumerate(out.legs) for o in leg.order_ids}
    assert set(leg_of.values()) == {0, 1}
    assert strat.report_legs and all(ks == {leg_of[o]} for o, ks in strat.report_legs.items())
    assert set(leg_of) == set(out.orders["order_id"].tolist())  # every order is on exactly one leg
    fills = out.fills
    assert len(fills) > 20
    for k, leg in enumerate(out.legs):
        mine = fills[np.isin(fills["order_id"], leg.order_ids)]
        assert len(mine) > 0
        lo, hi = (900, 1100) if k == 0 else (5900, 6100)
        assert ((mine["price"] > lo) & (mine["price"] < hi)).all()  # filled at its own venue
        assert set(mine["kind"].tolist()) <= {REPORT_FILL, REPORT_PARTIAL_FILL}
        pos = int((mine["side"].astype(np.int64) * mine["qty"]).sum())
        # the fees exact to the millionth: whole units carry out of the summed millionths
        carry, frac = divmod(int(mine["fee_frac"].sum()), 1_000_000)
        fees = int(mine["fee"].sum()) + carry
        cash = sum(cash_flow(int(f["side"]), int(f["price"]), int(f["qty"]), 1) for f in mine) - fees
        assert leg.final == {"position": pos, "cash": cash, "fees": fees, "fee_frac": frac}
        assert eng.legs[k].position == pos
        eq = leg.equity
        assert len(eq) > 3 and eq["position"][-1] == pos and eq["cash"][-1] == cash
        assert ((eq["bid"] == 0) | ((eq["bid"] > lo) & (eq["bid"] < hi))).all()  # its own book's top
    d_all = np.concatenate([leg.decisions for leg in out.legs])
    assert sorted(d_all.tolist()) == list(range(len(out.decisions)))  # every decision on exactly one leg
    for leg in out.legs:
        d = out.decisions[leg.decisions]
        new = d[(d["accepted"] == 1) & (d["kind"] == INTENT_NEW)]["order_id"]
        assert set(new.tolist()) == set(leg.order_ids.tolist())
    carry, frac = divmod(sum(leg.final["fee_frac"] for leg in out.legs), 1_000_000)  # millionths carry exactly
    assert out.final == {"cash": sum(leg.final["cash"] for leg in out.legs) - carry,
                         "fees": sum(leg.final["fees"] for leg in out.legs) + carry, "fee_frac": frac}
    _, again = run_legs([x, y], TwoLegChaos(seed=4, timer_ns=20_000_000))
    same(out, again)
    assert [a.final for a in out.legs] == [b.final for b in again.legs]


class Hedger(Strategy):
    """Buys one lot of leg 0 (a marketable IOC) on its first book, then hedges each fill on leg 1 (a marketable IOC)."""

    name = "chaos"
    wakes = ("book", "order")

    def __init__(self):
        self.sent = False
        self.seen: list[tuple[str, int, int | None]] = []

    def on_book(self, ctx):
        self.seen.append((ctx.symbol, ctx.leg_index, ctx.best_bid))
        a = ctx.leg("S0")
        if not self.sent and a.best_ask is not None and ctx.leg(1).best_bid is not None:
            self.sent = True
            a.submit(BUY, a.best_ask + 3, 1, ORDER_LIMIT, TIF_IOC)  # marketable through a moving touch

    def on_order_update(self, ctx, u):
        if u.kind in (REPORT_FILL, REPORT_PARTIAL_FILL) and ctx.symbol == "S0":
            b = ctx.leg(1)
            b.submit(SELL, b.best_bid - 3, u.qty, ORDER_LIMIT, TIF_IOC)


def test_context_per_leg_and_a_hedge():
    x = l2_stream(7, n_msgs=60)
    y = shifted(l2_stream(9, n_msgs=60), 250_000, 5000)
    h = Hedger()
    eng, out = run_legs([x, y], h)
    assert {s for s, _, _ in h.seen} == {"S0", "S1"}
    assert all((k == 0) == (s == "S0") and (b is None or (b > 5000) == (k == 1)) for s, k, b in h.seen)
    assert [leg.final["position"] for leg in out.legs] == [1, -1]  # bought leg 0, hedged on leg 1
    ctx = eng.ctx
    assert ctx.symbols == ["S0", "S1"] and ctx.leg("S1") is ctx.leg(1) and ctx.leg(1).position == -1
    with pytest.raises(SimError, match="expected one of"):
        ctx.leg("NOPE")
    with pytest.raises(SimError, match="leg index"):
        ctx.leg(2)


def test_one_leg_of_legs_is_the_engine():
    x = l2_stream(7)
    a = Engine(x, l2_venue(), legs_gateway(["S0"]), Chaos(seed=2, timer_ns=30_000_000), "S0", ECFG).run()
    _, b = run_legs([x], Chaos(seed=2, timer_ns=30_000_000))
    same(a, b)
    assert b.legs == []


class LegWatch(Strategy):
    """Checks that trades, depth and the top a callback sees are its own leg's (leg 1 trades around 6000)."""

    name = "chaos"
    trade_history = 4

    def __init__(self) -> None:
        self.trades = self.books = self.wrong = 0

    @staticmethod
    def _mine(ctx, price: int) -> bool:
        return (900 < price < 1100) if ctx.leg_index == 0 else (5900 < price < 6100)

    def on_trade(self, ctx, side, price, qty):
        self.trades += 1
        own, other = ctx.trades, ctx.leg(1 - ctx.leg_index).trades
        ok = own[-1].price == price and all(self._mine(ctx, t.price) for t in own)
        self.wrong += not (ok and not any(self._mine(ctx, t.price) for t in other))

    def on_book(self, ctx):
        self.books += 1
        bids, asks = ctx.depth(3)
        prices = [*bids[:, 0].tolist(), *asks[:, 0].tolist(), *(p for p in (ctx.best_bid, ctx.best_ask) if p)]
        self.wrong += not all(self._mine(ctx, p) for p in prices)


@pytest.mark.parametrize("cls", [Engine, NbEngine])
def test_trades_depth_and_top_are_the_callbacks_leg(cls):
    w = LegWatch()
    run_legs([l2_stream(7, n_msgs=200), shifted(l2_stream(9, n_msgs=200), 250_000, 5000)], w, cls)
    assert w.trades > 20 and w.books > 100 and w.wrong == 0


# --- the numba engine over several legs (the same run as the reference) -----------------------------------------
def _same_legs(a, b) -> None:
    """Two runs over several legs are the same run: the run's arrays and each leg's results; each one's run hash is
    the several-legs rule over its legs' results (`legs_run_hash`, which a run over several days applies too)."""
    same(a, b)
    assert len(a.legs) == len(b.legs) > 1
    for o in (a, b):
        assert legs_run_hash(o.decisions, o.orders, o.fills, o.legs) == o.run_hash
    for la, lb in zip(a.legs, b.legs, strict=True):
        assert la.symbol == lb.symbol and la.multiplier == lb.multiplier and la.final == lb.final
        assert np.array_equal(la.equity, lb.equity) and len(la.equity) > 3
        assert np.array_equal(la.order_ids, lb.order_ids) and np.array_equal(la.decisions, lb.decisions)


def _both_engines(streams, make, ecfg: EngineConfig = ECFG, classes=(NbEngine,), engines=None):
    """The reference and the numba engine (`classes`) on the same legs; asserts they give the same run, returns the
    reference's run and the first numba engine's."""
    _, a = run_legs(streams, make(), Engine, ecfg)
    outs = []
    for cls in classes:
        eng, b = run_legs(streams, make(), cls, ecfg)
        assert type(eng) is cls
        _same_legs(a, b)
        outs.append(b)
        if engines is not None:
            engines.append(eng)
    return a, outs[0]


@pytest.mark.parametrize("make", [lambda: TwoLegChaos(seed=4, timer_ns=20_000_000),
                                  lambda: OnlyLeg0(seed=2, timer_ns=30_000_000),
                                  Hedger, LegWatch, Strategy,
                                  lambda: make_strategy("mm", {"size": 2, "max_position": 6})],
                         ids=["two_leg_chaos", "only_leg0", "hedger", "leg_watch", "idle", "mm_both_legs"])
def test_numba_engine_runs_several_legs_as_the_reference(make):
    x = l2_stream(7)
    y = shifted(l2_stream(9), 250_000, 5000)
    a, _ = _both_engines([x, y], make)
    assert len(a.orders) > 0 or make in (LegWatch, Strategy)  # those two only watch


@pytest.mark.parametrize("name,params", [("mm", {"size": 4, "max_position": 12, "skew_ticks_per_lot": 1}),
                                         ("hedged_mm", {"size": 2, "hedge_slip_ticks": 1}),
                                         ("hedged_mm", {"size": 3, "hedge_ratio": 1.5, "min_hedge": 2})])
def test_in_kernel_order_path_over_legs_same_as_reference(name, params):
    """The built-in kernels' intents, commands (to the venue of the order's leg), reports (to its leg's accounting)
    and `hedged_mm`'s hedge on fills run in the loop on several legs; with buffers grown only when full too."""
    x = l2_stream(7, n_msgs=900)
    y = shifted(l2_stream(9, n_msgs=900), 250_000, 5000)
    engines: list = []
    a, _ = _both_engines([x, y], lambda: make_strategy(name, params), classes=(NbEngine, Tight), engines=engines)
    assert all(e.used_in_kernel_orders for e in engines)
    assert len(a.fills) > 10 and all(len(leg.order_ids) > 0 for leg in a.legs)


def test_runs_of_one_and_of_two_legs_in_turns_keep_their_event_matrices():
    """Single-instrument and two-leg runs in turns (a benchmark's order): each takes its own spare event matrix
    (`buffers.Spares`: "evm" and "evm_legs", no fresh 12-row matrix per run) and replays the same runs as before;
    runs given no `Spares` neither take nor leave any."""
    from hft.sim.engine_nb import buffers

    spares = buffers.Spares()

    x = l2_stream(7, n_msgs=400)
    y = shifted(l2_stream(9, n_msgs=400), 250_000, 5000)

    def single(sp=spares):
        return NbEngine(x, l2_venue(), legs_gateway(["S0"]), make_strategy("mm", {"size": 2}), "S0", ECFG, spares=sp).run()

    def two(sp=spares):
        return run_legs([x, y], make_strategy("mm", {"size": 2}), NbEngine, spares=sp)[1]

    first = (single(), two())
    mats = (spares.spare("evm"), spares.spare("evm_legs"))
    assert mats[0] is not None and mats[1] is not None
    for _ in range(2):
        again = (single(), two())
        assert spares.spare("evm") is mats[0] and spares.spare("evm_legs") is mats[1]
        for a, b in zip(first, again, strict=True):
            same(a, b)
    alone = (single(None), two(None))  # no Spares: fresh buffers, and the shared ones untouched
    assert spares.spare("evm") is mats[0] and spares.spare("evm_legs") is mats[1]
    for a, b in zip(first, alone, strict=True):
        same(a, b)
    assert len(first[1].fills) > 0 and first[0].run_hash != first[1].run_hash


def test_in_kernel_order_path_over_legs_storm_same_as_reference():
    """A daily-loss breach reported by a fill on several legs: the kernel hands the flags to the StormGuard
    (Python), then `hedged_mm`'s hedge rule of that report runs."""
    x = l2_stream(32, n_msgs=900)
    y = shifted(l2_stream(33, n_msgs=900), 250_000, 5000)
    factory = legs_gateway(["S0", "S1"], limits={"daily_loss": 40})
    outs, engines = [], []
    for cls in (Engine, NbEngine, Tight):
        legs = [LegInput(ev, l2_venue(FeeSchedule(300, 300, 2)), s) for ev, s in ((x, "S0"), (y, "S1"))]
        eng = cls.of_legs(legs, factory, make_strategy("hedged_mm", {"size": 3}), ECFG)
        outs.append(eng.run())
        engines.append(eng)
    for out in outs[1:]:
        _same_legs(outs[0], out)
    assert all(e.used_in_kernel_orders for e in engines[1:]) and outs[0].transition_records


@pytest.mark.parametrize("lat", ["random", "zero"])
def test_numba_engine_several_legs_latencies_and_three_legs(lat):
    la = LATENCIES[lat]
    ecfg = EngineConfig(entry=la["entry"], response=la["resp"], feed=la.get("feed"), sample_ns=15_000_000,
                        strategy="chaos")
    streams = [l2_stream(7, n_msgs=250), shifted(l2_stream(9, n_msgs=250), 250_000, 5000),
               shifted(l2_stream(11, n_msgs=250), 0, 9000)]  # three legs, ties at equal exchange times
    a, _ = _both_engines(streams, lambda: ThreeLegChaos(seed=6, timer_ns=10_000_000), ecfg)
    assert len(a.fills) > 10 and all(len(leg.order_ids) > 0 for leg in a.legs)


@pytest.mark.parametrize("strategy,cfg", [
    ("hedged_mm", {}),
    ("hedged_mm", {"feed": 300_000, "feed_jitter_ns": 100_000, "jitter_ns": 200_000, "seed": 3,
                   "exchange": "no_partial_fill", "strategies": {"hedged_mm": {"size": 2, "hedge_slip_ticks": 1}}}),
    ("hedged_mm", {"l3_resync": False}),
    ("mm", {"strategies": {"mm": {"size": 3, "max_position": 12}}}),
    ("chaos", {"maker_bps": -0.5, "taker_bps": 3.0}),
])
def test_numba_engine_runs_several_l3_legs_as_the_reference(two_lobster_instruments, strategy, cfg):
    """LOBSTER legs (L3 venues with their reference resync, local views set to their own reference rows)."""
    from hft.sim.portfolio import replay_legs
    from hft.sim.replay import ReplayConfig

    outs = []
    for engine, tight in (("python", False), ("numba", False), ("numba", True)):
        conf = ReplayConfig(engine=engine, **cfg)
        strat = (TwoLegChaos(seed=4, timer_ns=2_000_000_000, every=5) if strategy == "chaos" else
                 make_strategy(strategy, conf.strategies.get(strategy)))
        with pytest.MonkeyPatch.context() as mp:
            if tight:  # buffers grown only when full: the kernel runs out of room mid-call (heap, rows, venues)
                mp.setattr(NbEngine, "_rows0", 2)
                mp.setattr(NbEngine, "_tight", True)
            out, eng, _, _ = replay_legs(two_lobster_instruments, strat, strategy, conf)
        assert type(eng) is (Engine if engine == "python" else NbEngine)
        if engine == "numba":  # the built-in kernels and their order path run in the loop on several legs
            assert (eng._skid != SK_NONE) == (strategy != "chaos") == eng.used_in_kernel_orders
        outs.append(out)
    for out in outs[1:]:
        _same_legs(outs[0], out)
    assert len(outs[0].fills) > 10 and all(len(leg.order_ids) for leg in outs[0].legs)
