"""The independent reference replay on L3 data (`hft.sim.reference.venue_l3`: our orders in the FIFO queues, the
LOBSTER pre-open book and reference resync) against the numba engine: the same decisions, orders, fills, equity
samples, ACK log, final accounting, run hash and resync counters, on seeded generated LOBSTER days (every exchange
mode, latencies, resync on and off), on days with messages taken away, ids hidden, clears and halts put in (the
resync then has work: the data-alone book drifts from the reference rows), on an L3 stream without reference rows,
and on the real LOBSTER sample of the golden (its run hash).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from hft.core.dtypes import (
    BUY,
    EV_ADD,
    EV_CANCEL,
    EV_CLEAR,
    EV_DELETE,
    EV_EXEC,
    EV_HALT,
    EV_HIDDEN_EXEC,
    EV_TRADE,
    NO_PRICE,
    SELL,
)
from hft.core.orders import (
    INTENT_CANCEL,
    INTENT_NEW,
    INTENT_REPLACE,
    LIQ_MAKER,
    LIQ_TAKER,
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_POST_ONLY,
    ORDER_STOP,
    ORDER_STOP_LIMIT,
    REPORT_ACK,
    REPORT_CANCELED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REPLACED,
    REPORT_TRIGGERED,
    TIF_FOK,
    TIF_GTC,
    TIF_IOC,
)
from hft.sim.reference import L3ReferenceVenue, from_market_data
from hft.sim.strategies import make_strategy
from hft.sim.strategy import Strategy
from tests.unit.sim.agreement import Gtd, Icebergs, Linked, Stops, Trailing, agree

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "golden" / "lobster_goog_mm.json"
MM_BUSY = {"size": 4, "max_position": 12, "skew_ticks_per_lot": 1}


class AllTypes(Strategy):
    """Every order type and TIF on L3: post-only and GTC quotes that join or improve the queue, IOC, FOK and market
    takers, replaces that keep the queue place (a smaller size) and that lose it (a new price), cancels by wake-up;
    each decision reads the context (queue ahead, depth, trades, fills, cash, pnl)."""

    name = "all_types"
    trade_history = 5
    depth_levels = 3

    def __init__(self, timer_ns: int = 1_000_000_000) -> None:
        self.timer_ns = timer_ns
        self.n = 0

    def on_book(self, ctx) -> None:
        bids, asks = ctx.depth()
        if not len(bids) or not len(asks):
            return
        self.n += 1
        ahead = [ctx.queue_ahead(o) for o in ctx.orders]
        if len(ctx.orders) >= 4 or abs(ctx.position) > 30:
            return
        flow = sum(t.side * t.qty for t in ctx.trades) + len(ctx.fills) + int(sum(ahead)) % 7
        side = BUY if flow % 2 == 0 else SELL
        best, other = (bids, asks) if side == BUY else (asks, bids)
        if self.n % 3 == 0:  # one tick better than the best, unless that would cross
            px = int(best[0, 0]) + side
            if px == int(other[0, 0]):
                px = int(best[0, 0])
            d = ctx.submit(side, px, 1 + self.n % 4, ORDER_LIMIT, TIF_GTC)
        else:
            level = best[min(len(best) - 1, self.n % 2), 0]
            d = ctx.submit(side, int(level), 1 + int(bids[0, 1] + asks[0, 1]) % 6, ORDER_POST_ONLY, TIF_GTC)
        if d.accepted:
            ctx.at(ctx.now + 30_000_000 + 7_000_000 * (self.n % 5), d.order_id)

    def on_trade(self, ctx, side, price, qty) -> None:
        if ctx.best_bid is None or ctx.best_ask is None:
            return
        self.n += 1
        take = ctx.best_ask if side == BUY else ctx.best_bid
        if self.n % 11 == 0:
            ctx.submit(side, take, 1 + qty % 3, ORDER_LIMIT, TIF_IOC)
        elif self.n % 13 == 0:
            ctx.submit(side, take + side, 2 + qty % 9, ORDER_LIMIT, TIF_FOK)
        elif self.n % 29 == 0:
            ctx.submit(side, take, 1, ORDER_MARKET, TIF_IOC)

    def on_order_update(self, ctx, update) -> None:
        o = ctx.orders.get(update.order_id)
        if o is None or o.status != "working":
            return
        if update.kind == REPORT_ACK and o.leaves > 1 and ctx.queue_ahead(o.order_id) > 0:
            ctx.replace(o.order_id, o.price, o.leaves - 1)  # smaller: keeps its place
        elif update.kind == REPORT_PARTIAL_FILL:
            ctx.replace(o.order_id, o.price - o.side, o.leaves + 1)  # away and larger: a fresh place

    def on_wake(self, ctx, payload) -> None:
        if payload in ctx.orders:
            ctx.cancel(payload)

    def on_timer(self, ctx) -> None:
        if abs(ctx.position) > 8 and ctx.best_bid is not None and ctx.best_ask is not None:
            side = SELL if ctx.position > 0 else BUY
            ctx.submit(side, ctx.best_bid if side == SELL else ctx.best_ask, abs(ctx.position) // 2, ORDER_MARKET,
                       TIF_IOC)


# --- harness -----------------------------------------------------------------------------------------------------
def _pair(md, make, name: str = "chaos", **cfg):
    """(reference engine, its output, numba output) of one replay of opened market data `md`."""
    from hft.sim.fees import money_factor
    from hft.sim.replay import ReplayConfig, build_engine, gateway_factory

    config = cfg.pop("config", None) or ReplayConfig(engine="numba", **cfg)
    engine, money = build_engine(md, make(), name, config)
    nb = engine.run(None, multiplier=money)
    assert money == money_factor(md.instrument, config.multiplier)
    ref_engine = from_market_data(md, make(), name, config, gateway_factory([md.instrument], name, config), money)
    assert isinstance(ref_engine.venue, L3ReferenceVenue)
    ref = ref_engine.run()
    agree(ref, nb)
    if nb.resync is not None:
        assert ref_engine.venue.resync_counters() == nb.resync
    return ref_engine, ref, nb


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """A seeded generated LOBSTER day (5 levels), opened."""
    from hft.data.importing import generate_day
    from hft.data.sources import open_market_data

    out = tmp_path_factory.mktemp("l3day")
    path = generate_day(out, seed=21, symbol="SYNTH", date="2024-01-02", messages=4000, levels=5,
                        zip_output=True)["zip_path"]
    return open_market_data([Path(path)])


def _mangled(md, seed: int):
    """`md` with some messages (and their rows) taken away, some cancel / execution ids hidden (unknown to the
    venue), and clears and halts put in (each with the row before it: the book did not change), so the book from
    the messages drifts from the reference rows and the resync adds and removes lots, crossing our orders."""
    rng = np.random.default_rng(seed)
    ev, ref = md.events.copy(), md.lobster.reference.copy()
    keep = rng.random(len(ev)) > 0.06
    keep[0] = True
    ev, ref = ev[keep], ref[keep]
    hide = np.isin(ev["kind"], (EV_CANCEL, EV_DELETE, EV_EXEC)) & (rng.random(len(ev)) < 0.08)
    ev["order_id"][hide] += 10**12
    at = np.sort(rng.choice(np.arange(100, len(ev)), 12, replace=False))
    rows_ev, rows_ref = [], []
    for k, i in enumerate(at):
        extra = ev[i - 1].copy()
        extra["kind"], extra["side"], extra["price"], extra["qty"] = (
            (EV_CLEAR, (0, BUY, SELL)[k % 3], 0, 0) if k % 2 == 0 else (EV_HALT, 0, -1, 0))
        rows_ev.append(extra)
        rows_ref.append(ref[i - 1])
    ev = np.insert(ev, at, np.array(rows_ev, dtype=ev.dtype))
    ref = np.insert(ref, at, np.array(rows_ref), axis=0)
    ev.flags.writeable = ref.flags.writeable = False
    lob = dataclasses.replace(md.lobster, events=ev, reference=ref)
    return dataclasses.replace(md, events=ev, lobster=lob)


# --- generated days -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cfg", [
    {},
    {"exchange": "no_partial_fill"},
    {"exchange": "all_or_none"},
    {"entry_ns": 0, "response_ns": 0, "feed": 0},
    {"jitter_ns": 400_000, "seed": 11, "feed": 200_000, "feed_jitter_ns": 50_000, "maker_bps": -0.25,
     "taker_bps": 2.0, "per_lot": 1},
    {"l3_resync": False},
], ids=["default", "no_partial_fill", "all_or_none", "zero_latency", "jitter_fees", "no_resync"])
def test_mm_on_generated_day_agrees(day, cfg):
    _, ref, _ = _pair(day, lambda: make_strategy("mm", MM_BUSY), "mm", **cfg)
    assert len(ref.fills) > 10 and len(ref.orders) > 100


@pytest.mark.parametrize("mode", ["partial_fill", "no_partial_fill", "all_or_none"])
def test_all_order_types_on_generated_day_agree(day, mode):
    _, ref, _ = _pair(day, AllTypes, exchange=mode, jitter_ns=200_000, seed=3, maker_bps=-0.2, taker_bps=1.5)
    kinds = {(int(o["order_type"]), int(o["tif"])) for o in ref.orders[ref.orders["action"] == INTENT_NEW]}
    assert {(ORDER_POST_ONLY, TIF_GTC), (ORDER_LIMIT, TIF_GTC), (ORDER_LIMIT, TIF_IOC), (ORDER_LIMIT, TIF_FOK),
            (ORDER_MARKET, TIF_IOC)} <= kinds
    assert {INTENT_CANCEL, INTENT_REPLACE} <= set(ref.orders["action"].tolist())
    assert len(ref.fills) > 20 and {LIQ_MAKER, LIQ_TAKER} <= set(ref.fills["liquidity"].tolist())


@pytest.mark.parametrize("resync", [True, False])
@pytest.mark.parametrize("make", [AllTypes, lambda: make_strategy("mm", MM_BUSY)], ids=["all_types", "mm"])
def test_drifting_day_agrees(day, make, resync):
    """Missing messages, hidden ids, clears and halts: unknown-id removals and executions, and (resync on) lots
    added behind our orders and removed from the back, which fill our crossed orders."""
    eng, ref, _ = _pair(_mangled(day, 4), make, l3_resync=resync)
    assert len(ref.fills) > 10
    counters = eng.venue.resync_counters()
    assert counters["enabled"] is resync and (counters["levels"] > 100) is resync
    assert eng.venue.data["unknown_refs"] > 50


def test_l3_without_reference_rows_agrees(day):
    """Market-by-order data without a LOBSTER book (as Databento MBO): no pre-open book, no resync, the local book
    summed from the messages; executions of orders that rested before the data are clipped."""
    md = dataclasses.replace(_mangled(day, 5), lobster=None)
    eng, ref, _ = _pair(md, AllTypes)
    assert eng.rows is None and eng.venue.reference is None
    assert eng.venue.data["clipped"] > 0 and len(ref.fills) > 10


@pytest.mark.parametrize("resync", [True, False])
def test_native_stops_on_generated_day_agree(day, resync):
    """Stops and stop-limits held by the L3 venue, triggered by executions, hidden executions and cross trades
    after their message (and its resync): both engines the same."""
    made: list[Stops] = []
    _, ref, _ = _pair(_mangled(day, 6), lambda: made.append(Stops(every=3)) or made[-1], "stops", l3_resync=resync)
    nb_s, ref_s = made
    assert nb_s.triggered == ref_s.triggered > 30 and nb_s.refused == ref_s.refused
    new = ref.orders[ref.orders["action"] == INTENT_NEW]
    assert {ORDER_STOP, ORDER_STOP_LIMIT} <= set(new["order_type"].tolist()) and len(ref.fills) > 30


@pytest.mark.parametrize("resync", [True, False])
def test_native_trailing_stops_on_generated_day_agree(day, resync):
    """Trailing stops and stop-limits held by the L3 venue (some refused BAD_TRAIL, some cancelled while held), their
    triggers following executions, hidden executions and cross trades: both engines the same, every array; some
    triggered beyond their trigger at entry (moved)."""
    made: list[Trailing] = []
    _, ref, _ = _pair(_mangled(day, 6), lambda: made.append(Trailing(every=3)) or made[-1], "trailing",
                      l3_resync=resync)
    nb_s, ref_s = made
    assert nb_s.triggered == ref_s.triggered > 30 and nb_s.refused == ref_s.refused
    assert nb_s.moved == ref_s.moved > 10 and ref_s.refused.get("BAD_TRAIL", 0) > 5 and len(ref.fills) > 30


@pytest.mark.parametrize("resync", [True, False])
def test_gtd_on_generated_day_agree(day, resync):
    """GTD orders expired by the L3 venue at their time, after the messages of that time (held stops and
    stop-limits too): both engines the same."""
    made: list[Gtd] = []
    _, ref, _ = _pair(_mangled(day, 6), lambda: made.append(Gtd()) or made[-1], "gtd", l3_resync=resync)
    nb_s, ref_s = made
    assert nb_s.expired == ref_s.expired > 30 and nb_s.refused == ref_s.refused and len(ref.fills) > 10


@pytest.mark.parametrize("resync", [True, False])
def test_native_icebergs_on_generated_day_agree(day, resync):
    """Icebergs held by the L3 venue (taker ones too, replaced, cancelled, some refused BAD_DISPLAY), their refills
    joining the back of their level after their message: both engines the same, every array."""
    made: list[Icebergs] = []
    _, ref, _ = _pair(_mangled(day, 6), lambda: made.append(Icebergs()) or made[-1], "icebergs", l3_resync=resync)
    nb_s, ref_s = made
    assert nb_s.fills == ref_s.fills > 30 and nb_s.refused == ref_s.refused
    assert nb_s.refilled == ref_s.refilled > 10 and ref_s.refused.get("BAD_DISPLAY", 0) > 0
    assert INTENT_CANCEL in set(ref.orders["action"].tolist())


@pytest.mark.parametrize("mode", ["partial_fill", "no_partial_fill", "all_or_none"])
def test_native_oco_and_brackets_on_generated_day_agree(day, mode):
    """OCO pairs and brackets held by the L3 venue (`Linked`: entries cancelled after a partial fill or none,
    children of an entry that took at once, an order paired twice, BAD_LINK refusals), on a day whose resync has
    work: both engines the same, every array; the rules ran (counts)."""
    made: list[Linked] = []
    _, ref, _ = _pair(_mangled(day, 6), lambda: made.append(Linked(every=2)) or made[-1], "linked",
                      exchange=mode)
    nb_s, ref_s = made
    assert (nb_s.oco_cancels, nb_s.released, nb_s.rejected, nb_s.refused) == (
        ref_s.oco_cancels, ref_s.released, ref_s.rejected, ref_s.refused)
    assert ref_s.oco_cancels > 10 and ref_s.released > 5 and len(ref.fills) > 20


# --- the real LOBSTER sample of the golden ---------------------------------------------------------------------
def _lobster_day():
    from hft.data.sources import open_market_data
    from hft.sim.instruments import apply_overrides
    from hft.sim.replay import overlay_replay_config

    doc = json.loads(GOLDEN.read_text())
    paths = [(GOLDEN.parent / p).resolve() for p in doc["data"]]
    if not all(p.exists() for p in paths):
        pytest.skip(f"../shared/data is absent ({paths[0]})")
    config = overlay_replay_config(doc["config"], base_dir=GOLDEN.parent)
    md = open_market_data(paths)
    return dataclasses.replace(md, instrument=apply_overrides(md.instrument, config.instrument)), config


@pytest.mark.shared_data
@pytest.mark.slow  # the real day through the plain-Python reference
@pytest.mark.skipif(not GOLDEN.exists(), reason="no golden")
def test_gtd_on_lobster_agree():
    """GOOG 2012-06-21 (the golden's data and config) with a strategy placing GTD orders: both engines the same,
    every array."""
    md, config = _lobster_day()
    made: list[Gtd] = []
    _, ref, _ = _pair(md, lambda: made.append(Gtd()) or made[-1], "gtd", config=config)
    nb_s, ref_s = made
    assert nb_s.expired == ref_s.expired > 50 and nb_s.refused == ref_s.refused and len(ref.fills) > 20


@pytest.mark.shared_data
@pytest.mark.slow  # the real day through the plain-Python reference
@pytest.mark.skipif(not GOLDEN.exists(), reason="no golden")
def test_native_icebergs_on_lobster_agree():
    """GOOG 2012-06-21 (the golden's data and config) with a strategy placing venue-native icebergs: both engines
    the same, every array, their refills among the real queues and the resync."""
    md, config = _lobster_day()
    made: list[Icebergs] = []
    _, ref, _ = _pair(md, lambda: made.append(Icebergs(every=25)) or made[-1], "icebergs", config=config)
    nb_s, ref_s = made
    assert nb_s.fills == ref_s.fills > 50 and nb_s.refused == ref_s.refused
    assert nb_s.refilled == ref_s.refilled > 10 and len(ref.fills) > 50


@pytest.mark.shared_data
@pytest.mark.slow  # the real day through the plain-Python reference
@pytest.mark.skipif(not GOLDEN.exists(), reason="no golden")
def test_native_trailing_stops_on_lobster_agree():
    """GOOG 2012-06-21 (the golden's data and config) with a strategy placing venue-native trailing stops: both
    engines the same, every array, their triggers following the real executions and hidden executions; a floor of
    triggers and of triggers beyond the trigger at entry (the rule moved them)."""
    md, config = _lobster_day()
    made: list[Trailing] = []
    _, ref, _ = _pair(md, lambda: made.append(Trailing(every=40)) or made[-1], "trailing", config=config)
    nb_s, ref_s = made
    assert nb_s.triggered == ref_s.triggered > 50 and nb_s.refused == ref_s.refused
    assert nb_s.moved == ref_s.moved > 20 and len(ref.fills) > 50


@pytest.mark.shared_data
@pytest.mark.slow  # the real day through the plain-Python reference
@pytest.mark.skipif(not GOLDEN.exists(), reason="no golden")
def test_native_oco_and_brackets_on_lobster_agree():
    """GOOG 2012-06-21 (the golden's data and config) with a strategy placing venue-native OCO pairs and brackets
    (`Linked`): both engines the same, every array, the other of a pair cancelled and the children released by real
    executions, adds and the resync; floors on the rules' counts."""
    md, config = _lobster_day()
    made: list[Linked] = []
    _, ref, _ = _pair(md, lambda: made.append(Linked(every=10)) or made[-1], "linked", config=config)
    nb_s, ref_s = made
    assert (nb_s.oco_cancels, nb_s.released, nb_s.rejected, nb_s.refused) == (
        ref_s.oco_cancels, ref_s.released, ref_s.rejected, ref_s.refused)
    assert ref_s.oco_cancels > 20 and ref_s.released > 10 and len(ref.fills) > 50


@pytest.mark.shared_data
@pytest.mark.slow  # the real day through the plain-Python reference
@pytest.mark.skipif(not GOLDEN.exists(), reason="no golden")
def test_native_stops_on_lobster_agree():
    """GOOG 2012-06-21 (the golden's data and config) with a strategy placing venue-native stops: both engines
    the same, every array, on real executions, hidden executions and the resync."""
    md, config = _lobster_day()
    made: list[Stops] = []
    _, ref, _ = _pair(md, lambda: made.append(Stops(every=40)) or made[-1], "stops", config=config)
    nb_s, ref_s = made
    assert nb_s.triggered == ref_s.triggered > 50 and nb_s.refused == ref_s.refused
    assert len(ref.fills) > 50
@pytest.mark.shared_data
@pytest.mark.slow  # ~25 s: 49k messages through the plain-Python reference
@pytest.mark.skipif(not GOLDEN.exists(), reason="no golden")
def test_lobster_golden_agrees():
    """GOOG 2012-06-21 level 1 with `mm` (the golden's data and config): the numba engine's every array and the
    golden's run hash; the resync at work on real data."""
    from hft.data.sources import open_market_data
    from hft.sim.instruments import apply_overrides
    from hft.sim.replay import overlay_replay_config
    from hft.sim.strategy_loader import make

    doc = json.loads(GOLDEN.read_text())
    paths = [(GOLDEN.parent / p).resolve() for p in doc["data"]]
    if not all(p.exists() for p in paths):
        pytest.skip(f"../shared/data is absent ({paths[0]})")
    config = overlay_replay_config(doc["config"], base_dir=GOLDEN.parent)  # as `hft replay --check` layers it
    md = open_market_data(paths)
    md = dataclasses.replace(md, instrument=apply_overrides(md.instrument, config.instrument))
    spec, _ = make(doc["strategy"], config.strategies)
    eng, ref, _ = _pair(md, lambda: make(doc["strategy"], config.strategies)[1], spec.key, config=config)
    assert ref.run_hash == doc["expect"]["run_hash"]
    assert len(ref.fills) == doc["expect"]["fills"] and ref.final["position"] == doc["expect"]["position"]
    assert eng.venue.resync_counters()["levels"] > 0


@pytest.mark.slow  # ~7 s each on a busy machine: ~40k generated messages through the plain-Python reference
@pytest.mark.parametrize("name", ["generated_mm", "generated_imbalance"])
def test_generated_golden_agrees(tmp_path, name):
    """The goldens of generated days (`mm` quoting at the touch; `imbalance_taker` with seeded random latencies):
    the day generated as `hft replay --check` generates it, the numba engine's every array, and the golden's run
    hash from the independent reference."""
    from hft.data.sources import FILES, open_market_data
    from hft.sim.replay import overlay_replay_config
    from hft.sim.strategy_loader import make

    path = ROOT / "tests" / "golden" / f"{name}.json"
    doc = json.loads(path.read_text())
    g = doc["generate"]
    config = overlay_replay_config(doc["config"], base_dir=path.parent)  # as `hft replay --check` layers it
    day = FILES.generate_day(tmp_path, seed=int(g.get("seed", 7)), symbol=g.get("symbol", "SYNTH"),
                             date=g.get("date", "2024-01-02"), messages=int(g.get("messages", 30_000)),
                             levels=int(g.get("levels", 5)))
    md = open_market_data([day])
    spec, _ = make(doc["strategy"], config.strategies)
    _, ref, _ = _pair(md, lambda: make(doc["strategy"], config.strategies)[1], spec.key, config=config)
    assert ref.run_hash == doc["expect"]["run_hash"]
    assert len(ref.fills) == doc["expect"]["fills"] and ref.final["position"] == doc["expect"]["position"]


# --- the venue alone: seeded operation sequences against the engine's L3 venue --------------------------------------
def _random_rows(rng, n: int, levels: int = 2) -> np.ndarray:
    """`n` uncrossed reference rows of `levels` levels on prices 95..105 (some sides shorter than `levels`)."""
    rows = np.zeros((n, 4 * levels), dtype=np.int64)
    for k in range(n):
        mid = int(rng.integers(98, 103))
        for col, prices in ((0, range(mid + 1, mid + 1 + levels)), (2, range(mid, mid - levels, -1))):
            shown = int(rng.integers(0, levels + 1))
            for j, p in enumerate(prices):
                rows[k, 4 * j + col: 4 * j + col + 2] = (p, int(rng.integers(1, 9))) if j < shown else (NO_PRICE, 0)
    return rows


@pytest.mark.parametrize("mode", ["partial_fill", "no_partial_fill", "all_or_none"])
@pytest.mark.parametrize("resync", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_venue_agrees_step_by_step(seed, resync, mode):
    """Every report (fields and order), our queue places and the venue's counters after each of a few hundred
    random steps on a narrow price range: market adds (crossing our orders), partial cancels, deletes, executions
    of known and unknown ids, hidden executions, halts and clears; our orders of every type, cancels and replaces;
    with resync, random reference rows (lots added behind us and removed from the back)."""
    _venue_steps(seed, resync, mode, icebergs=False)


@pytest.mark.parametrize("mode", ["partial_fill", "no_partial_fill", "all_or_none"])
@pytest.mark.parametrize("resync", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_venue_icebergs_agree_step_by_step(seed, resync, mode):
    """As `test_venue_agrees_step_by_step` with most of our limit and post-only orders icebergs (a few with a display
    the venue rejects): every report and queue place the same; refills happen, and no market step fills an iceberg
    by more than its display (the rest of an event never reaches the refill)."""
    refilled = _venue_steps(seed, resync, mode, icebergs=True)
    assert refilled >= 2


@pytest.mark.parametrize("mode", ["partial_fill", "no_partial_fill", "all_or_none"])
@pytest.mark.parametrize("resync", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_venue_trailing_stops_agree_step_by_step(seed, resync, mode):
    """As `test_venue_agrees_step_by_step` with most of our stops and stop-limits trailing (docs/sim.md, "Trailing
    stops"; some trails the venues reject: < 0, on a limit order, a stop-limit's limit on the wrong side of its
    trigger): every report the same, and after every step each held stop's trigger and limit the same in both
    venues; triggers moved on many steps."""
    moves = _venue_steps(seed, resync, mode, icebergs=False, trails=True)
    assert moves >= 5


@pytest.mark.parametrize("mode", ["partial_fill", "no_partial_fill", "all_or_none"])
@pytest.mark.parametrize("resync", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_venue_with_oco_and_brackets_agrees_step_by_step(seed, resync, mode):
    """As `test_venue_agrees_step_by_step` with many of our new orders naming an OCO pair's other and / or a bracket
    entry (recent orders of ours, held, working or ended, some never sent; docs/sim.md, "OCO and bracket orders held
    by the venue"): every report the same in both venues, and the same orders held; the rules ran: market events
    cancelled the other of a pair and released bracket children (REPLACED) on every seed."""
    counts = _venue_steps(seed, resync, mode, icebergs=False, trails=seed % 2 == 1, links=True)
    assert counts["oco_cancels"] >= 2 and counts["released"] >= 2, counts


def _held(nb, ref) -> tuple[dict, dict]:
    """Each L3 venue's held stops: order id -> (trigger, limit)."""
    from hft.sim.exchange_l3.layout import O_ID, O_INBOOK, O_PRICE, O_TRIGGER, P_NORD

    rows = nb.orders[: int(nb.params[P_NORD])]
    got = {int(r[O_ID]): (int(r[O_TRIGGER]), int(r[O_PRICE])) for r in rows if r[O_INBOOK] == 0 and r[O_TRIGGER] > 0}
    return got, {h.order_id: (h.trigger, h.price) for h in ref.held}


def _kids(nb, ref) -> tuple[dict, dict]:
    """Each L3 venue's held bracket children: order id -> (parent, other of its pair)."""
    from hft.sim.exchange_l3.layout import IN_KID, O_ID, O_INBOOK, O_OCO, O_PARENT, P_NORD

    rows = nb.orders[: int(nb.params[P_NORD])]
    got = {int(r[O_ID]): (int(r[O_PARENT]), int(r[O_OCO])) for r in rows if r[O_INBOOK] >= IN_KID}
    return got, {c.order_id: (c.parent, c.oco) for c in ref.kids}


def _venue_steps(seed: int, resync: bool, mode: str, icebergs: bool, trails: bool = False,
                 links: bool = False) -> int | dict[str, int]:
    """The seeded steps of the step-by-step tests; returns how many icebergs filled more than their display (each
    was refilled at least once), or with `trails` (most stops trailing), on how many steps a held trigger moved;
    with `links` (new orders naming an OCO pair's other or a bracket entry), the counts of the CANCELED reports of
    an order no cancel named and of the REPLACED reports of no replace (the OCO and bracket rules)."""
    from hft.sim.exchange_l2 import EXCHANGE_MODES
    from hft.sim.exchange_l3 import L3Venue
    from hft.sim.fees import FeeSchedule
    from hft.sim.reference import Fees

    rng = np.random.default_rng(seed)
    steps = 1_000 if links else 400
    rows = _random_rows(rng, steps) if resync else None
    nb = L3Venue(mode=EXCHANGE_MODES[mode], fees=FeeSchedule(-20, 150, 1), reference=rows)
    ref = L3ReferenceVenue(mode, Fees(-20, 150, 1), 1, rows.tolist() if resync else None)
    for side, price in ((BUY, 99), (BUY, 98), (SELL, 101), (SELL, 102)):
        nb.seed_level(side, price, 5)
        ref.seed(side, price, 5)
    market_ids: list[int] = []
    ours: list[int] = []
    next_id = 1
    triggered = moves = 0
    counts = {"oco_cancels": 0, "released": 0}
    display: dict[int, int] = {}  # our icebergs' displays
    filled: dict[int, int] = {}  # ... and their filled lots
    for t in range(steps):
        now = 1_000 * t
        # each step: one market event (the resync row follows it), then perhaps one order of ours
        r = rng.random()
        side = BUY if rng.random() < 0.5 else SELL
        price = int(rng.integers(96, 105))
        qty = int(rng.integers(1, 8))
        if r < 0.35:
            kind, oid = EV_ADD, 10_000 + t
            market_ids.append(oid)
        elif r < 0.9:
            kind = int(rng.choice([EV_CANCEL, EV_DELETE, EV_EXEC]))
            known = market_ids and rng.random() < 0.7
            oid = int(rng.choice(market_ids)) if known else 10**9 + t  # an unknown id: its side and price count
        else:
            kind, oid = int(rng.choice([EV_HIDDEN_EXEC, EV_TRADE, EV_HALT, EV_CLEAR])), 0
            side = int(rng.choice([0, BUY, SELL])) if kind == EV_CLEAR else side
        before = _held(nb, ref)[1]
        got = [tuple(x) for x in nb.market(now, kind, side, price, qty, oid).tolist()]
        want = [tuple(x) for x in ref.market(now, kind, side, price, qty, oid)]
        assert want == got, (t, "market", kind, side, price, qty, oid)
        held_nb, held_ref = _held(nb, ref)
        assert held_nb == held_ref, (t, "held")
        kids_nb, kids_ref = _kids(nb, ref)
        assert kids_nb == kids_ref, (t, "kids")
        counts["oco_cancels"] += sum(1 for x in got if x[7] == REPORT_CANCELED)  # only the rules cancel here
        counts["released"] += sum(1 for x in got if x[7] == REPORT_REPLACED)
        moves += any(before.get(o, v)[0] != v[0] for o, v in held_ref.items())
        triggered += sum(1 for x in got if x[7] == REPORT_TRIGGERED)  # (held stops: docs/sim.md)
        step_fill: dict[int, int] = {}
        for x in got:
            if x[1] in display and x[7] in (REPORT_PARTIAL_FILL, REPORT_FILL):
                step_fill[x[1]] = step_fill.get(x[1], 0) + x[3]
                filled[x[1]] = filled.get(x[1], 0) + x[3]
        assert all(q <= display[o] for o, q in step_fill.items()), (t, step_fill)
        r = rng.random()
        if r < 0.45:
            otype = int(rng.choice([ORDER_LIMIT, ORDER_LIMIT, ORDER_POST_ONLY, ORDER_MARKET, ORDER_STOP,
                                    ORDER_STOP_LIMIT]))
            tif = int(rng.choice([TIF_GTC, TIF_GTC, TIF_IOC, TIF_FOK]))
            px = 0 if otype == ORDER_STOP else int(rng.integers(96, 105))
            trigger = int(rng.integers(96, 105)) if otype in (ORDER_STOP, ORDER_STOP_LIMIT) else 0
            args = (next_id, int(rng.choice([BUY, SELL])), px, int(rng.integers(1, 12)), otype, tif, trigger)
            shown = 0
            if icebergs and otype in (ORDER_LIMIT, ORDER_POST_ONLY, ORDER_MARKET) and rng.random() < 0.7:
                shown = int(rng.integers(1, 4)) if rng.random() < 0.9 else int(rng.integers(-1, 14))  # some bad
                if 0 < shown < args[3] and otype != ORDER_MARKET:
                    display[next_id] = shown
            trail = 0
            if trails and rng.random() < (0.8 if trigger else 0.05):  # some bad: < 0, on a limit, a wrong-side limit
                trail = int(rng.integers(1, 4)) if rng.random() < 0.9 else -1
            link = {}
            oid = next_id
            if links and rng.random() < 0.8:  # recent orders of ours (working, held or ended), or one never sent
                named = [*ours[-5:], next_id + 7]
                if rng.random() < 0.6:
                    link["oco"] = int(rng.choice(named))
                if rng.random() < 0.6:
                    link["parent"] = int(rng.choice(named))
            got = nb.new(now, *args, shown, trail=trail, **link)
            want = ref.new(now, *args, shown, trail=trail, **link)
            ours.append(next_id)
            next_id += 1
        elif r < 0.6 and ours:
            oid = int(rng.choice(ours))
            got, want = nb.cancel(now, oid), ref.cancel(now, oid)
        elif r < 0.8 and ours:
            args = (int(rng.choice(ours)), int(rng.integers(96, 105)), int(rng.integers(1, 12)))
            got, want = nb.replace(now, *args), ref.replace(now, *args)
        else:
            continue
        assert [tuple(x) for x in want] == [tuple(x) for x in got.tolist()], (t, "order")
        assert {o: ref.queue_ahead(o) for o in ours} == {o: nb.queue_ahead(o) for o in ours}, t
        assert _kids(nb, ref)[0] == _kids(nb, ref)[1], (t, "kids")
        if r < 0.6:  # a new order or a cancel: any other order's CANCELED, any REPLACED, is the rules'
            counts["oco_cancels"] += sum(1 for x in got.tolist() if x[7] == REPORT_CANCELED and x[1] != oid)
            counts["released"] += sum(1 for x in got.tolist() if x[7] == REPORT_REPLACED)
    assert ref.data == nb.counters()
    assert ref.resync_counters() == nb.resync_counters()
    assert triggered > 5
    if links:
        return counts
    if trails:
        return moves
    return sum(1 for o, q in filled.items() if q > display[o])


def _iceberg_pair():
    from hft.sim.exchange_l2 import EXCHANGE_MODES
    from hft.sim.exchange_l3 import L3Venue
    from hft.sim.fees import FeeSchedule
    from hft.sim.reference import Fees

    return (L3Venue(mode=EXCHANGE_MODES["partial_fill"], fees=FeeSchedule(0, 0, 0)),
            L3ReferenceVenue("partial_fill", Fees(0, 0, 0), 1, None))


def _both(nb, ref, op: str, *args, **kw) -> list[tuple[int, ...]]:
    """One call on both L3 venues; their reports, which must be the same, as (kind, qty, leaves, price) rows."""
    got = [tuple(x) for x in getattr(nb, op)(*args, **kw).tolist()]
    assert [tuple(x) for x in getattr(ref, op)(*args, **kw)] == got, op
    return [(x[7], x[3], x[4], x[2]) for x in got]


def test_an_iceberg_refill_joins_the_back_of_its_level():
    """By hand: an iceberg buy 10 showing 3 behind 5 anonymous lots; order 11 joins behind it; an execution of 4 of
    order 11 fills the 3 shown lots (the 4th does not reach the next part), and the next 3 join behind order 11's
    other 2 lots: 5 + 2 ahead. Its queue place then moves up as the lots ahead go."""
    nb, ref = _iceberg_pair()
    for side, price in ((BUY, 99), (SELL, 101)):
        nb.seed_level(side, price, 5)
        ref.seed(side, price, 5)
    assert _both(nb, ref, "new", 1, 1, BUY, 99, 10, ORDER_LIMIT, TIF_GTC, 0, 3) == [(REPORT_ACK, 0, 10, 99)]
    assert nb.queue_ahead(1) == ref.queue_ahead(1) == 5
    assert _both(nb, ref, "market", 2, EV_ADD, BUY, 99, 6, 11) == []
    assert _both(nb, ref, "market", 3, EV_EXEC, BUY, 99, 4, 11) == [(REPORT_PARTIAL_FILL, 3, 7, 99)]
    assert nb.queue_ahead(1) == ref.queue_ahead(1) == 5 + 2
    assert _both(nb, ref, "market", 4, EV_DELETE, BUY, 99, 2, 11) == []
    assert nb.queue_ahead(1) == ref.queue_ahead(1) == 5
    assert nb.market_top(1)[2:4].tolist() == [99, 5]  # the market's lots: ours are not in them
    # a sell add crossing it: the 3 shown lots only; the next part rests behind what the bid side has then
    assert _both(nb, ref, "market", 5, EV_ADD, SELL, 99, 8, 12) == [(REPORT_PARTIAL_FILL, 3, 4, 99)]
    assert nb.queue_ahead(1) == ref.queue_ahead(1) == 5
    assert nb.working()[1]["leaves"] == 4


def test_an_iceberg_refill_its_level_cannot_hold_expires():
    """The next part would take its level past QTY_MAX (the market filled it meanwhile): the rest EXPIRES."""
    from hft.book.topn import QTY_MAX
    from hft.core.orders import REPORT_EXPIRED

    nb, ref = _iceberg_pair()
    nb.seed_level(SELL, 101, 5)
    ref.seed(SELL, 101, 5)
    assert _both(nb, ref, "new", 1, 1, BUY, 99, 6, ORDER_LIMIT, TIF_GTC, 0, 2) == [(REPORT_ACK, 0, 6, 99)]
    assert _both(nb, ref, "market", 2, EV_ADD, BUY, 99, 1, 11) == []
    assert _both(nb, ref, "market", 3, EV_EXEC, BUY, 99, 1, 11) == [(REPORT_PARTIAL_FILL, 1, 5, 99)]  # 1 shown left
    assert _both(nb, ref, "market", 4, EV_ADD, BUY, 99, QTY_MAX - 1, 12) == []  # the level is full
    assert _both(nb, ref, "market", 5, EV_ADD, SELL, 99, 1, 13) == [(REPORT_PARTIAL_FILL, 1, 4, 99),
                                                                     (REPORT_EXPIRED, 0, 0, 99)]
    assert nb.working() == {} and ref.queue_ahead(1) == -1


def test_a_trailing_stop_on_the_l3_venue_follows_every_print():
    """Hand-derived, both L3 venues (docs/sim.md, "Trailing stops", L3): an execution, a hidden execution and a cross
    trade each move a trailing trigger that they do not reach, an add does not; a print that reaches the trigger as it
    stood triggers it. Sell stop 95 trailing 3: 98 at an execution at 101, 100 at a hidden execution at 103, stays at
    a cross trade at 101 (never back), triggers at an execution at 99 (a market sell 2 takes 2 @ 99). Buy stop-limit
    110 limit 112 trailing 4: 105 / 107 at 101, stays, then 103 / 105 at 99. Bad trails are REJECTED; at int64's
    edges a print at the minimum moves the buys no lower than 1 tick, one at the maximum triggers them."""
    from hft.core.orders import REPORT_REJECTED

    nb, ref = _iceberg_pair()
    for side, price in ((BUY, 99), (SELL, 101)):
        nb.seed_level(side, price, 5)
        ref.seed(side, price, 5)
    top = (1 << 63) - 1
    assert _both(nb, ref, "new", 1, 1, SELL, 0, 2, ORDER_STOP, TIF_GTC, 95, 0, 3) == [(REPORT_ACK, 0, 2, 0)]
    assert _both(nb, ref, "new", 1, 2, BUY, 112, 1, ORDER_STOP_LIMIT, TIF_GTC, 110, 0, 4) == [(REPORT_ACK, 0, 1, 112)]
    assert _both(nb, ref, "new", 1, 3, BUY, 0, 1, ORDER_STOP, TIF_GTC, 120, 0, top) == [(REPORT_ACK, 0, 1, 0)]
    for oid, args in ((4, (SELL, 97, 1, ORDER_STOP_LIMIT, TIF_GTC, 95, 0, 2)),  # a sell's limit above its trigger
                      (5, (BUY, 99, 1, ORDER_LIMIT, TIF_GTC, 0, 0, 2)),  # a trail on a limit order
                      (6, (SELL, 0, 1, ORDER_STOP, TIF_GTC, 95, 0, -1))):  # a trail < 0
        assert [r[0] for r in _both(nb, ref, "new", 1, oid, *args)] == [REPORT_REJECTED]
    held = []
    for now, kind, side, price, oid in ((2, EV_EXEC, SELL, 101, 10**9), (3, EV_HIDDEN_EXEC, BUY, 103, 0),
                                        (4, EV_TRADE, SELL, 101, 0), (5, EV_ADD, SELL, 102, 11)):
        assert _both(nb, ref, "market", now, kind, side, price, 1, oid) == []
        held.append(_held(nb, ref)[0])
        assert held[-1] == _held(nb, ref)[1]
    assert held == [{1: (98, 0), 2: (105, 107), 3: (120, 0)}, {1: (100, 0), 2: (105, 107), 3: (120, 0)},
                    {1: (100, 0), 2: (105, 107), 3: (120, 0)}, {1: (100, 0), 2: (105, 107), 3: (120, 0)}]
    # reached as it stood (99 <= 100): TRIGGERED at 99, then a market sell 2 takes the 4 lots left at 99
    assert _both(nb, ref, "market", 6, EV_EXEC, BUY, 99, 1, 10**9) == [(REPORT_TRIGGERED, 0, 2, 99),
                                                                        (REPORT_FILL, 2, 0, 99)]
    assert _held(nb, ref) == ({2: (103, 105), 3: (120, 0)},) * 2  # 99 + 4 < 105: the buy moved on
    # int64's edges: a hidden execution at its minimum moves the buys to 1 tick (their limit with them), one at its
    # maximum triggers them: a limit buy 1 @ 3 rests, a market buy 1 takes 1 @ 101
    assert _both(nb, ref, "market", 7, EV_HIDDEN_EXEC, SELL, -(1 << 63), 1, 0) == []
    assert _held(nb, ref) == ({2: (1, 3), 3: (1, 0)},) * 2
    assert _both(nb, ref, "market", 8, EV_HIDDEN_EXEC, BUY, top, 1, 0) == [
        (REPORT_TRIGGERED, 0, 1, top), (REPORT_TRIGGERED, 0, 1, top), (REPORT_FILL, 1, 0, 101)]
    assert _held(nb, ref) == ({}, {}) and nb.working()[2]["price"] == 3


def test_oco_and_bracket_on_the_l3_venue_hand_derived():
    """Hand-derived, both L3 venues (docs/sim.md, "OCO and bracket orders held by the venue"): bid 99 x5 and ask 101 x5
    anonymous. A limit and a stop paired: an execution reaching the limit part-fills it and cancels the stop after
    the fill; an order naming one already paired is REJECTED. A stop of a pair triggers: TRIGGERED, its fill, then
    the limit's CANCELED. A bracket entry filled in two executions releases its take profit (REPLACED, then it rests
    at the back of 103) and its stop (REPLACED, held) for the whole 4; the take profit's fill cancels the stop. An
    entry cancelled after 2 of 5 releases its children for 2; one cancelled unfilled cancels them (the second as
    the first's pair). A child of an unknown entry or of a held child is REJECTED, a held child's replace
    REPLACE_REJECTED. Links to ended orders: the child of an IOC entry that took 3 enters at once for 3, that of one
    that took nothing is cancelled, an order whose pair's other has ended is cancelled; 15 ends later the entry is
    still remembered, 16 later it is forgotten (REJECTED)."""
    from hft.core.orders import (
        REPORT_CANCELED,
        REPORT_EXPIRED,
        REPORT_REJECTED,
        REPORT_REPLACE_REJECTED,
        REPORT_REPLACED,
    )

    nb, ref = _iceberg_pair()
    for side, price in ((BUY, 99), (SELL, 101)):
        nb.seed_level(side, price, 5)
        ref.seed(side, price, 5)
    ack, can, rej = REPORT_ACK, REPORT_CANCELED, REPORT_REJECTED
    # OCO: sell limit 105 x3 (alone at 105), sell stop 95 x3 its pair; market sell 12 x4 queues behind the limit
    assert _both(nb, ref, "new", 1, 1, SELL, 105, 3, ORDER_LIMIT, TIF_GTC) == [(ack, 0, 3, 105)]
    assert _both(nb, ref, "new", 1, 2, SELL, 0, 3, ORDER_STOP, TIF_GTC, 95, oco=1) == [(ack, 0, 3, 0)]
    assert _both(nb, ref, "new", 1, 3, SELL, 0, 3, ORDER_STOP, TIF_GTC, 95, oco=1) == [(rej, 0, 0, 0)]
    assert _both(nb, ref, "market", 2, EV_ADD, SELL, 105, 4, 12) == []
    # an execution of 2 of order 12: the aggressor went through our limit first (2 of its 3), then the stop goes
    assert _both(nb, ref, "market", 3, EV_EXEC, SELL, 105, 2, 12) == [(REPORT_PARTIAL_FILL, 2, 1, 105), (can, 0, 0, 0)]
    # a stop of a pair triggers at an execution at 99 (anonymous: 4 lots left there): a market sell 2 takes 2 @ 99,
    # then the limit 110 is cancelled
    assert _both(nb, ref, "new", 4, 4, SELL, 110, 2, ORDER_LIMIT, TIF_GTC) == [(ack, 0, 2, 110)]
    assert _both(nb, ref, "new", 4, 5, SELL, 0, 2, ORDER_STOP, TIF_GTC, 99, oco=4) == [(ack, 0, 2, 0)]
    assert _both(nb, ref, "market", 5, EV_EXEC, BUY, 99, 1, 10**9) == [
        (REPORT_TRIGGERED, 0, 2, 99), (REPORT_FILL, 2, 0, 99), (can, 0, 0, 110)]
    # a bracket: buy 100 x4 (alone at 100); take profit sell 103 x4 and stop sell 97 x4 held for it, paired
    assert _both(nb, ref, "new", 6, 10, BUY, 100, 4, ORDER_LIMIT, TIF_GTC) == [(ack, 0, 4, 100)]
    assert _both(nb, ref, "new", 6, 11, SELL, 103, 4, ORDER_LIMIT, TIF_GTC, parent=10) == [(ack, 0, 4, 103)]
    assert _both(nb, ref, "new", 6, 12, SELL, 0, 4, ORDER_STOP, TIF_GTC, 97, parent=10, oco=11) == [(ack, 0, 4, 0)]
    assert _both(nb, ref, "market", 7, EV_ADD, BUY, 100, 5, 21) == []  # behind the entry
    assert _both(nb, ref, "market", 8, EV_EXEC, BUY, 100, 2, 21) == [(REPORT_PARTIAL_FILL, 2, 2, 100)]  # held: no more
    assert _both(nb, ref, "market", 9, EV_EXEC, BUY, 100, 3, 21) == [
        (REPORT_FILL, 2, 0, 100), (REPORT_REPLACED, 4, 4, 103), (REPORT_REPLACED, 4, 4, 0)]
    assert nb.queue_ahead(11) == ref.queue_ahead(11) == 0  # the take profit rests alone at 103
    assert _held(nb, ref) == ({12: (97, 0)},) * 2  # the stop is held from now
    assert _both(nb, ref, "market", 10, EV_ADD, SELL, 103, 3, 22) == []
    assert _both(nb, ref, "market", 11, EV_EXEC, SELL, 103, 1, 22) == [(REPORT_PARTIAL_FILL, 1, 3, 103),
                                                                        (can, 0, 0, 0)]
    # an entry cancelled after 2 of 5: its children enter for 2 (the take profit rests at 120)
    assert _both(nb, ref, "new", 12, 30, BUY, 98, 5, ORDER_LIMIT, TIF_GTC) == [(ack, 0, 5, 98)]
    _both(nb, ref, "new", 12, 31, SELL, 120, 5, ORDER_LIMIT, TIF_GTC, parent=30)
    _both(nb, ref, "new", 12, 32, SELL, 0, 5, ORDER_STOP, TIF_GTC, 80, parent=30, oco=31)
    assert _both(nb, ref, "market", 13, EV_ADD, BUY, 98, 5, 23) == []
    assert _both(nb, ref, "market", 14, EV_EXEC, BUY, 98, 2, 23) == [(REPORT_PARTIAL_FILL, 2, 3, 98)]
    assert _both(nb, ref, "cancel", 15, 30) == [(can, 0, 0, 98), (REPORT_REPLACED, 2, 2, 120),
                                                (REPORT_REPLACED, 2, 2, 0)]
    assert nb.working()[31]["leaves"] == 2
    # an entry cancelled unfilled: its take profit cancelled, and its stop as the take profit's pair
    _both(nb, ref, "new", 16, 40, BUY, 97, 2, ORDER_LIMIT, TIF_GTC)
    _both(nb, ref, "new", 16, 41, SELL, 125, 2, ORDER_LIMIT, TIF_GTC, parent=40)
    _both(nb, ref, "new", 16, 42, SELL, 0, 2, ORDER_STOP, TIF_GTC, 85, parent=40, oco=41)
    got = nb.cancel(17, 40)
    assert [tuple(x) for x in ref.cancel(17, 40)] == [tuple(x) for x in got.tolist()]
    assert [(int(x["order_id"]), int(x["kind"])) for x in got] == [(40, can), (41, can), (42, can)]
    # a child of an order never sent, of a held child: REJECTED; a held child is not replaced
    assert _both(nb, ref, "new", 18, 50, SELL, 130, 1, ORDER_LIMIT, TIF_GTC, parent=999) == [(rej, 0, 0, 130)]
    _both(nb, ref, "new", 18, 51, BUY, 96, 1, ORDER_LIMIT, TIF_GTC)
    assert _both(nb, ref, "new", 18, 52, SELL, 130, 1, ORDER_LIMIT, TIF_GTC, parent=51) == [(ack, 0, 1, 130)]
    assert _both(nb, ref, "new", 18, 53, SELL, 131, 1, ORDER_LIMIT, TIF_GTC, parent=52) == [(rej, 0, 0, 131)]
    assert _both(nb, ref, "replace", 18, 52, 129, 1) == [(REPORT_REPLACE_REJECTED, 0, 0, 129)]
    assert _both(nb, ref, "cancel", 19, 51) == [(can, 0, 0, 96), (can, 0, 0, 130)]
    # links to ended orders: an IOC buy 3 takes 3 of the 5 anonymous lots at 101; its child enters at once for 3
    assert _both(nb, ref, "new", 20, 60, BUY, 101, 3, ORDER_LIMIT, TIF_IOC) == [(ack, 0, 3, 101),
                                                                               (REPORT_FILL, 3, 0, 101)]
    assert _both(nb, ref, "new", 21, 61, SELL, 104, 5, ORDER_LIMIT, TIF_GTC, parent=60) == [
        (ack, 0, 5, 104), (REPORT_REPLACED, 3, 3, 104)]
    assert nb.working()[61]["leaves"] == 3
    # one that took nothing (not marketable, IOC): its child is cancelled; a pair's other that has ended: cancelled
    assert _both(nb, ref, "new", 22, 62, BUY, 90, 1, ORDER_LIMIT, TIF_IOC) == [(ack, 0, 1, 90),
                                                                              (REPORT_EXPIRED, 0, 0, 90)]
    assert _both(nb, ref, "new", 22, 63, SELL, 104, 1, ORDER_LIMIT, TIF_GTC, parent=62) == [(ack, 0, 1, 104),
                                                                                             (can, 0, 0, 104)]
    assert _both(nb, ref, "new", 22, 64, SELL, 111, 1, ORDER_LIMIT, TIF_GTC, oco=60) == [(ack, 0, 1, 111),
                                                                                          (can, 0, 0, 111)]
    # the ring holds the last 16 ends: 62, 63, 64 and 12 expiries make 15 after order 60's, which is remembered; one
    # more end and it is forgotten
    for k in range(12):
        _both(nb, ref, "new", 23, 70 + k, BUY, 90, 1, ORDER_LIMIT, TIF_IOC)
    assert _both(nb, ref, "new", 24, 90, SELL, 104, 1, ORDER_LIMIT, TIF_GTC, parent=60) == [
        (ack, 0, 1, 104), (REPORT_REPLACED, 1, 1, 104)]
    _both(nb, ref, "new", 25, 91, BUY, 90, 1, ORDER_LIMIT, TIF_IOC)
    assert _both(nb, ref, "new", 26, 92, SELL, 104, 1, ORDER_LIMIT, TIF_GTC, parent=60) == [(rej, 0, 0, 104)]
