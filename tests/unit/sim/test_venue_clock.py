"""The venue's clock when a feed's exchange times step back (docs/sim.md, "One clock, four streams").

Exchange event i is applied at the venue's clock, ``max(exch_ts[:i+1])`` (`hft.sim.latency.venue_times`): no fill
is stamped before its order reached the venue, nor before it was sent. Checked on L2 and L3 venues, on both engines
(which must still agree), over shuffled and stepped-back exchange times, and on recorded Binance data as it is and
with its trades stamped 50 ms early (as a Tardis day can be).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hft.core.dtypes import EV_TRADE
from hft.core.orders import INTENT_NEW, REPORT_ACK
from hft.data.sources import open_market_data
from hft.sim import latency as L
from hft.sim.engine import Engine
from hft.sim.engine_nb import NbEngine
from hft.sim.latency import venue_times
from hft.sim.replay import ReplayConfig, build_engine, load_replay_config
from hft.sim.strategies import make_strategy
from tests.unit.sim.agreement import Chaos, NoFast, l2_pair, l2_stream, same, stepped_back

MS = 1_000_000


class AckRecorder(Chaos):
    """`Chaos` that records the venue's time of each order's ACK: the moment the order reached the venue."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.acked: dict[int, int] = {}

    def on_order_update(self, ctx, update) -> None:
        if update.kind == REPORT_ACK:
            self.acked[update.order_id] = update.exch_ts
        super().on_order_update(ctx, update)


def check_fills_after_orders(out, entry_ns: int, acked: dict[int, int] | None = None) -> None:
    """Every fill of `out` at or after its order's arrival at the venue (its send time + the constant entry latency
    `entry_ns`; with `acked`, also the venue's time of its ACK), and that at or after its send time."""
    new = out.orders[out.orders["action"] == INTENT_NEW]
    sent = dict(zip(new["order_id"].tolist(), new["ts"].tolist(), strict=True))
    for ts, oid in zip(out.fills["ts"].tolist(), out.fills["order_id"].tolist(), strict=True):
        arrival = sent[oid] + entry_ns
        assert ts >= arrival >= sent[oid], f"order {oid}: sent {sent[oid]}, arrived {arrival}, filled at {ts}"
        if acked is not None:
            assert acked[oid] == arrival  # the venue's ACK: the order's arrival, on the venue's clock
    if acked is not None:
        assert set(acked) >= set(out.fills["order_id"].tolist())


def test_venue_times_is_the_running_maximum():
    t = np.array([5, 3, 7, 7, 6, -2, 9], dtype=np.int64)
    assert venue_times(t).tolist() == [5, 5, 7, 7, 7, 7, 9]
    out = np.zeros(7, dtype=np.int64)
    assert venue_times(t, out=out) is out and out.tolist() == [5, 5, 7, 7, 7, 7, 9]
    assert venue_times(np.zeros(0, dtype=np.int64)).tolist() == []


# --- L2 venue ------------------------------------------------------------------------------------------------------
@given(seed=st.integers(0, 10_000), how=st.sampled_from(["shuffle", "step", "trades"]),
       back_ms=st.integers(1, 60), entry=st.integers(0, 3 * MS), resp=st.integers(0, 3 * MS),
       feed=st.one_of(st.none(), st.integers(0, 2 * MS)), mm=st.booleans())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_l2_no_fill_before_its_order(seed, how, back_ms, entry, resp, feed, mm):
    ev = stepped_back(l2_stream(seed, n_msgs=300), seed, how, back_ms * MS)
    strategies: list = []

    def make():
        strategies.append(make_strategy("mm", {"size": 4, "max_position": 12}) if mm else
                          AckRecorder(seed=seed, timer_ns=10_000_000, every=2))
        return strategies[-1]

    outs = l2_pair(ev, make, entry=L.constant(entry), resp=L.constant(resp),
                    feed=None if feed is None else L.constant(feed), classes=(Engine, NbEngine, NoFast))
    for out in outs[1:]:
        same(outs[0], out)
    for out, strategy in zip(outs, strategies, strict=True):
        check_fills_after_orders(out, entry, None if mm else strategy.acked)


# --- L3 venue (a generated day, the replay path: reference rows, resync) ----------------------------------------
@pytest.fixture(scope="module")
def l3_day(tmp_path_factory):
    from hft.data.importing import generate_day

    out = tmp_path_factory.mktemp("day")
    path = Path(generate_day(out, seed=9, symbol="SYNTH", date="2024-01-02", messages=1500, levels=5,
                             zip_output=True)["zip_path"])
    return open_market_data([path])


@given(seed=st.integers(0, 10_000), how=st.sampled_from(["shuffle", "step"]), back_ms=st.integers(1, 2_000),
       entry=st.integers(0, 3 * MS), mm=st.booleans())
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
def test_l3_no_fill_before_its_order(l3_day, seed, how, back_ms, entry, mm):
    md = replace(l3_day, events=stepped_back(l3_day.events, seed, how, back_ms * MS))
    outs, strategies = [], []
    for engine in ("python", "numba"):
        cfg = ReplayConfig(engine=engine, entry_ns=entry, strategies={"mm": {"size": 3, "max_position": 12}})
        strategy = make_strategy("mm", cfg.strategies["mm"]) if mm else AckRecorder(seed=seed, every=3)
        eng, mult = build_engine(md, strategy, "mm" if mm else "chaos", cfg)
        outs.append(eng.run(multiplier=mult))
        strategies.append(strategy)
    same(*outs)
    for out, strategy in zip(outs, strategies, strict=True):
        check_fills_after_orders(out, entry, None if mm else strategy.acked)


# --- recorded data ---------------------------------------------------------------------------------------------
@pytest.mark.shared_data
@pytest.mark.parametrize("trades_early_ms", [0, 50])
def test_binance_eth_spot_mm_no_fill_before_its_order(shared_data: Path, trades_early_ms: int):
    """Binance spot ETHUSDT 2024-08-08, `mm` with the shipped config: its exchange times step back (trades carry
    their trade time); with its trades also stamped 50 ms early, as a Tardis day can be. Before the venue's clock
    was the running maximum, 64 of 718 and 260 of 714 of its fills were stamped before their order was sent
    (bench/JOURNAL.md)."""
    md = open_market_data([shared_data / "binance/spot/ethusdt_20240808.gz"])
    if trades_early_ms:
        ev = md.events.copy()
        ev["exch_ts"][ev["kind"] == EV_TRADE] -= trades_early_ms * MS
        ev.flags.writeable = False
        md = replace(md, events=ev)
    t = md.events["exch_ts"]
    assert (t < venue_times(t)).sum() > 2000  # the day's exchange times step back (2,329 events, up to 186 ms)
    cfg = load_replay_config()  # the shipped config (`hft replay -s mm`): numba engine, constant 1 ms entry latency
    eng, mult = build_engine(md, make_strategy("mm", cfg.strategies["mm"]), "mm", cfg)
    out = eng.run(multiplier=mult)
    assert len(out.fills) > 500
    check_fills_after_orders(out, cfg.entry_ns)
