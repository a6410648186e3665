"""The signal aggregation rule (`hft.sim.strategies.signal_aggregate.Aggregator`) against a plain re-reading of
its statement in docs/signals.md ("Signal aggregation"), its config (one-line errors naming the key), the worked
example of the doc, and the property a restart relies on: the views do not depend on the order records are
folded in."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.config.signals import parse_aggregate, parse_signals
from hft.config.strict import Section
from hft.core.errors import ConfigError
from hft.core.signal import SignalRecord
from hft.sim.strategies.signal_aggregate import Aggregator


def _cfg(data, max_qty=10):
    return parse_aggregate(Section(data, "gw.yaml", "agg"), max_qty)


def _sig(source, ts, side=0, target=None, strength=1.0, horizon=0, inst="GOOG", n=None):
    return SignalRecord(source, inst, side, target, strength, horizon, None, ts, ts, f"{source}:{n or ts}")


def oracle(sources, conflict, min_net, max_qty, signals):
    """(target, order) after each signal, straight from the doc's statement, recomputed from every signal seen."""
    names = sorted(sources)
    total = 0.0
    for n in names:
        total += sources[n]["weight"]
    seen, pos, out = [], {}, []
    for s in signals:
        seen.append(s)

        def view(name, inst):
            mine = [x for x in seen if x.source == name and x.instrument == inst]
            return max(mine, key=lambda x: (x.ts_event, x.corr_id)) if mine else None

        views = {n: v for n in names if (v := view(n, s.instrument)) is not None}
        num, signs = 0.0, set()
        if views:
            clock = max(v.ts_event for v in views.values())
            for n in names:
                v = views.get(n)
                if v is None:
                    continue
                life = v.horizon_ns if v.horizon_ns > 0 else sources[n]["ttl"]
                if life is not None and clock >= v.ts_event + life:
                    continue  # expired at the clock
                if v.strength < sources[n]["min_strength"]:
                    continue  # counts as none
                x = (max(-1.0, min(1.0, v.target / max_qty)) if v.target is not None else v.side) * v.strength
                num += sources[n]["weight"] * x
                if x != 0:
                    signs.add(x > 0)
        net = 0.0 if conflict == "flat" and len(signs) == 2 else num / total
        if abs(net) < min_net:
            net = 0.0
        target = round(max_qty * net)
        order = None
        if s.source in sources and views[s.source].corr_id == s.corr_id:  # the signal is its source's view
            held = pos.get(s.instrument, 0)
            if target != held:
                side = 1 if target > held else -1
                order = (side, min(abs(target - held), max_qty))
                pos[s.instrument] = held + side * order[1]  # filled in full
        out.append((target, order))
    return out


NAMES = ["A", "B", "C", "D"]
STRENGTHS = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), st.floats(0, 1))


@st.composite
def scenario(draw):
    k = draw(st.integers(2, 4))
    sources = {n: {"weight": draw(st.one_of(st.sampled_from([1.0, 2.0, 0.5]), st.floats(0.01, 5))),
                   "min_strength": draw(st.sampled_from([0.0, 0.3, 0.5])),
                   "ttl": draw(st.one_of(st.none(), st.integers(1, 12).map(lambda x: 5 * x)))} for n in NAMES[:k]}
    conflict = draw(st.sampled_from(["net", "flat"]))
    min_net = draw(st.sampled_from([0.0, 0.1, 0.2, 0.5]))
    max_qty = draw(st.integers(1, 20))
    sigs: list[SignalRecord] = []
    for i in range(draw(st.integers(1, 25))):
        if sigs and draw(st.integers(0, 9)) == 0:  # a redelivery of an earlier record
            sigs.append(sigs[draw(st.integers(0, len(sigs) - 1))])
            continue
        src = draw(st.sampled_from([*NAMES[:k], "X"]))  # X: a source not aggregated
        is_target = draw(st.booleans())
        sigs.append(SignalRecord(
            src, draw(st.sampled_from(["I1", "I2"])), 0 if is_target else draw(st.sampled_from([1, -1])),
            draw(st.integers(-30, 30)) if is_target else None, draw(STRENGTHS),
            draw(st.one_of(st.just(0), st.integers(1, 16).map(lambda x: 5 * x))), None,
            5 * draw(st.integers(0, 40)), 0, f"{src}:{i}"))  # a grid of 5: expiries fall on the clock
    return sources, conflict, min_net, max_qty, sigs


def _section(sources, conflict, min_net):
    return {"sources": {n: {"weight": s["weight"], "min_strength": s["min_strength"],
                            "ttl": None if s["ttl"] is None else f"{s['ttl']}ns"} for n, s in sources.items()},
            "conflict": conflict, "min_net": min_net}


@settings(max_examples=100, deadline=None)
@given(scenario())
def test_the_rule_matches_its_statement(case):
    sources, conflict, min_net, max_qty, sigs = case
    section = _section(sources, conflict, min_net)
    agg = Aggregator(_cfg(section, max_qty))
    pos: dict[str, int] = {}
    got = []
    for s in sigs:
        order = agg.order(s, pos.get(s.instrument, 0))
        if order is not None:
            pos[s.instrument] = pos.get(s.instrument, 0) + order[0] * order[1]
        got.append((agg.target(s.instrument), order))
    assert got == oracle(sources, conflict, min_net, max_qty, sigs)


@settings(max_examples=40, deadline=None)
@given(scenario(), st.randoms(use_true_random=False))
def test_the_views_do_not_depend_on_the_folding_order(case, rnd):
    """What a restarted follower relies on: folding the stream's records again, in any order, any number of
    times, gives the same views and targets."""
    section = _section(*case[:3])
    max_qty, sigs = case[3:]
    a, b = Aggregator(_cfg(section, max_qty)), Aggregator(_cfg(section, max_qty))
    for s in sigs:
        a.fold(s)
    shuffled = sigs * 2
    rnd.shuffle(shuffled)
    for s in shuffled:
        b.fold(s)
    assert a.state() == b.state()


def test_the_worked_example_of_the_doc():
    """docs/signals.md "Signal aggregation", worked example: trend (weight 2, min_strength 0.3) and news
    (weight 1), conflict net, min_net 0.25, max_qty 10."""
    agg = Aggregator(_cfg({"sources": {"trend": {"weight": 2, "min_strength": 0.3}, "news": {"weight": 1}},
                           "conflict": "net", "min_net": 0.25}))
    s = 1_000_000_000
    steps = [(_sig("trend", 4 * s, side=1, strength=0.9), 0, (1, 6), 6),      # 2 × 0.9 / 3 = 0.6
             (_sig("news", 5 * s, side=-1, strength=0.9), 6, (-1, 3), 3),   # (1.8 - 0.9) / 3 = 0.3
             (_sig("trend", 3 * s, side=-1, n="late"), 3, None, 3),          # older than trend's view: ignored
             (_sig("trend", 9 * s, side=1, strength=0.25), 3, (-1, 6), -3),  # below 0.3: none; -0.9 / 3
             (_sig("news", 12 * s, target=0, horizon=60 * s), -3, (1, 3), 0),  # a flat view: net 0
             (_sig("trend", 80 * s, side=1, strength=0.6), 0, (1, 4), 4),    # news's horizon ended at 72 s: 1.2 / 3
             (_sig("trend", 90 * s, side=1, strength=0.35), 4, (-1, 4), 0)]  # 0.7 / 3 = 0.23 < min_net
    for sig, pos, order, target in steps:
        assert agg.order(sig, pos) == order, sig
        assert agg.target("GOOG") == target
    flat = Aggregator(_cfg({"sources": {"trend": {"weight": 2}, "news": {}}, "conflict": "flat"}))
    assert flat.order(_sig("trend", 0, side=1), 0) == (1, 7)  # round(10 × 2/3)
    assert flat.order(_sig("news", 1, side=-1, strength=0.1), 7) == (-1, 7)  # they disagree: flat


def test_a_superseded_signal_trades_nothing_and_its_redelivery_trades_again():
    agg = Aggregator(_cfg({"sources": {"a": {}, "b": {}}}))
    first = _sig("a", 10, side=1)
    assert agg.order(first, 0) == (1, 5)
    assert agg.order(first, 0) == (1, 5)  # redelivered before its order was decided: still its source's view
    assert agg.order(_sig("a", 20, side=-1), 5) == (-1, 10)
    assert agg.order(first, -5) is None  # superseded
    assert agg.order(_sig("other", 30, side=1), -5) is None  # a source not aggregated


@pytest.mark.parametrize("data,key", [
    ({}, "agg.sources"),
    ({"sources": {}}, "agg.sources"),
    ({"sources": {"a": {"weight": 0}}}, "agg.sources.a.weight"),
    ({"sources": {"a": {"weight": "heavy"}}}, "agg.sources.a.weight"),
    ({"sources": {"a": {"min_strength": 1.5}}}, "agg.sources.a.min_strength"),
    ({"sources": {"a": {"ttl": "soon"}}}, "agg.sources.a.ttl"),
    ({"sources": {"a": {"confidence": 1}}}, "agg.sources.a.confidence"),
    ({"sources": {"bad name": {}}}, "agg.sources.bad name"),
    ({"sources": {"a": {}}, "conflict": "vote"}, "agg.conflict"),
    ({"sources": {"a": {}}, "min_net": 2}, "agg.min_net"),
    ({"sources": {"a": {}}, "ttl": "0s"}, "agg.ttl"),
    ({"sources": {"a": {}}, "weights": {}}, "agg.weights"),
])
def test_config_errors_name_the_key(data, key):
    with pytest.raises(ConfigError) as e:
        _cfg(data)
    assert e.value.fields["key"] == key and "\n" not in str(e.value)


def test_the_follower_reads_the_same_section():
    c = parse_signals(Section({"follow": {"max_qty": 7, "aggregate": {
        "sources": {"a": {"weight": 2, "ttl": "30s"}, "b": {"min_strength": 0.5}}, "ttl": "1m",
        "conflict": "flat", "min_net": 0.1}}}, "gw.yaml", "signals"), {})
    agg = c.follow.aggregate
    assert agg is not None and agg.max_qty == 7 and agg.conflict == "flat" and agg.min_net == 0.1
    assert (agg.sources["a"].weight, agg.sources["a"].ttl_ns) == (2.0, 30 * 10**9)
    assert (agg.sources["b"].weight, agg.sources["b"].min_strength, agg.sources["b"].ttl_ns) == (1.0, 0.5, 60 * 10**9)
    assert parse_signals(Section({}, "gw.yaml", "signals"), {}).follow.aggregate is None
    with pytest.raises(ConfigError) as e:
        parse_signals(Section({"follow": {"aggregate": {"sources": {"a": {"weight": -1}}}}}, "gw.yaml", "signals"), {})
    assert e.value.fields["key"] == "signals.follow.aggregate.sources.a.weight"
