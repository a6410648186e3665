"""What the engine agreement tests share: seeded L2 streams, strategies that exercise every order path, the
harnesses that run one stream through several engines, and the comparisons that say two runs are the same.

The Python engine, the numba engine and the reference replay (`hft.sim.reference`) must produce the same run for
the same inputs: `same` compares two engine runs array by array, `agree` a reference run with a numba run (saying
the first row that differs); `l2_pair` runs one stream through several engine classes and `run_legs` several
streams as legs of one run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hft.core.dtypes import (
    BUY,
    EV_CLEAR,
    EV_LEVEL_SET,
    EV_SNAPSHOT_LEVEL,
    EV_TRADE,
    FLAG_EOM,
    SELL,
    empty_events,
)
from hft.core.orders import (
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_POST_ONLY,
    ORDER_STOP,
    ORDER_STOP_LIMIT,
    REPORT_ACK,
    REPORT_CANCELED,
    REPORT_EXPIRED,
    REPORT_FILL,
    REPORT_PARTIAL_FILL,
    REPORT_REJECTED,
    REPORT_REPLACED,
    REPORT_TRIGGERED,
    TIF_DAY,
    TIF_FOK,
    TIF_GTC,
    TIF_GTD,
    TIF_IOC,
)
from hft.sim import latency as L
from hft.sim.engine import Engine, EngineConfig, L2MarketVenue
from hft.sim.engine_nb import NbEngine
from hft.sim.exchange_l2 import MODE_PARTIAL_FILL, L2Venue
from hft.sim.fees import FeeSchedule
from hft.sim.gateway_setup import sim_gateway_config
from hft.sim.legs import LegInput
from hft.sim.queue_models import parse_queue_model
from hft.sim.reference import Latency
from hft.sim.strategy import Strategy


# --- streams ----------------------------------------------------------------------------------------------------
def l2_stream(seed: int, n_msgs: int = 400, gap_ns: int = 700_000) -> np.ndarray:
    """A seeded L2 stream: snapshot, level updates around a wandering mid (sometimes crossing our quotes),
    trades at and through the touch, occasional clears followed by a snapshot; several events per message."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, int, int, int, int]] = []  # t, kind, side, price, qty, eom
    mid = 1000
    t = 1_000_000_000

    def snapshot(t: int, kind: int) -> None:
        for k in range(1, 6):
            rows.append((t, kind, BUY, mid - k, int(rng.integers(1, 30)), 0))
            rows.append((t, kind, SELL, mid + k, int(rng.integers(1, 30)), 0))
        rows[-1] = (*rows[-1][:5], 1)

    snapshot(t, EV_SNAPSHOT_LEVEL)
    for _ in range(n_msgs):
        t += int(rng.integers(0, gap_ns))
        r = rng.random()
        if r < 0.25:
            side = BUY if rng.random() < 0.5 else SELL
            px = mid - 1 if side == SELL else mid + 1
            px += int(rng.integers(-1, 2)) * (1 if side == BUY else -1)
            rows.append((t, EV_TRADE, side, px, int(rng.integers(1, 20)), int(rng.random() < 0.5)))
        elif r < 0.9:
            for _ in range(int(rng.integers(1, 4))):
                side = BUY if rng.random() < 0.5 else SELL
                off = int(rng.integers(1, 7))
                px = mid - off if side == BUY else mid + off
                qty = 0 if rng.random() < 0.2 else int(rng.integers(1, 40))
                rows.append((t, EV_LEVEL_SET, side, px, qty, 0))
            rows[-1] = (*rows[-1][:5], 1)
        elif r < 0.98:
            step = int(rng.choice([-2, -1, 1, 2]))
            old = mid
            mid += step
            for p in range(min(old, mid) - 6, max(old, mid) + 7):  # re-draw the touch around the new mid
                if p <= mid - 1 and p >= mid - 6:
                    rows.append((t, EV_LEVEL_SET, BUY, p, int(rng.integers(1, 30)), 0))
                    rows.append((t, EV_LEVEL_SET, SELL, p, 0, 0))
                elif p >= mid + 1 and p <= mid + 6:
                    rows.append((t, EV_LEVEL_SET, SELL, p, int(rng.integers(1, 30)), 0))
                    rows.append((t, EV_LEVEL_SET, BUY, p, 0, 0))
                else:
                    rows.append((t, EV_LEVEL_SET, BUY, p, 0, 0))
                    rows.append((t, EV_LEVEL_SET, SELL, p, 0, 0))
            rows[-1] = (*rows[-1][:5], 1)
        else:
            rows.append((t, EV_CLEAR, int(rng.choice([0, BUY, SELL])), 0, 0, 0))
            snapshot(t, EV_SNAPSHOT_LEVEL)
    ev = empty_events(len(rows))
    local_jitter = rng.integers(0, 400_000, len(rows))
    for i, (t, k, s, p, q, eom) in enumerate(rows):
        ev[i] = (t, t + int(local_jitter[i]), p, q, 0, i, k, s, FLAG_EOM if eom else 0)
    return ev


# --- strategies -------------------------------------------------------------------------------------------------
class Chaos(Strategy):
    """Seeded random actions on every callback: every order type, cancels, replaces, crossing orders."""

    name = "chaos"

    def __init__(self, seed: int = 1, timer_ns: int = 0, every: int = 3) -> None:
        self.rng = np.random.default_rng(seed)
        self.timer_ns = timer_ns
        self.every = every
        self.n = 0

    def _act(self, ctx) -> None:
        self.n += 1
        if self.n % self.every or ctx.best_bid is None or ctx.best_ask is None:
            return
        r = self.rng.random()
        side = BUY if self.rng.random() < 0.5 else SELL
        touch = ctx.best_bid if side == BUY else ctx.best_ask
        opp = ctx.best_ask if side == BUY else ctx.best_bid
        qty = int(self.rng.integers(1, 12))
        live = sorted(ctx.orders)
        if r < 0.35:
            ctx.submit(side, touch - side * int(self.rng.integers(0, 3)), qty)
        elif r < 0.45:
            ctx.submit(side, opp, qty, ORDER_LIMIT, TIF_IOC)
        elif r < 0.5:
            ctx.submit(side, opp + side, qty, ORDER_LIMIT, TIF_FOK)
        elif r < 0.55:
            ctx.submit(side, opp, qty, ORDER_POST_ONLY, TIF_GTC)
        elif r < 0.6:
            ctx.submit(side, opp, qty, ORDER_MARKET, TIF_IOC)
        elif r < 0.8 and live:
            ctx.cancel(live[int(self.rng.integers(0, len(live)))])
        elif live:
            o = ctx.orders[live[-1]]
            ctx.replace(o.order_id, o.price + int(self.rng.integers(-1, 2)), max(1, o.leaves - 1))

    def on_book(self, ctx) -> None:
        self._act(ctx)

    def on_trade(self, ctx, side, price, qty) -> None:
        if self.rng.random() < 0.2:
            self._act(ctx)

    def on_order_update(self, ctx, update) -> None:
        if self.rng.random() < 0.1:
            self._act(ctx)

    def on_timer(self, ctx) -> None:
        self._act(ctx)


# --- the Binance spot golden's first capture, a real L2 day -------------------------------------------------------
BINANCE_GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "binance_spot_eth_mm.json"


def binance_golden_day():
    """The Binance spot golden's first capture (ETHUSDT 2024-08-08) with its instrument overrides, and the golden's
    replay config (as `hft replay --check` layers it); skips when the golden or ../shared/data is absent."""
    import dataclasses
    import json

    from hft.data.sources import open_market_data
    from hft.sim.instruments import apply_overrides
    from hft.sim.replay import overlay_replay_config

    if not BINANCE_GOLDEN.exists():
        pytest.skip("no golden")
    doc = json.loads(BINANCE_GOLDEN.read_text())
    path = (BINANCE_GOLDEN.parent / doc["data"][0]).resolve()
    if not path.exists():
        pytest.skip(f"../shared/data is absent ({path})")
    config = overlay_replay_config(doc["config"], base_dir=BINANCE_GOLDEN.parent)
    md = open_market_data([path])
    return dataclasses.replace(md, instrument=apply_overrides(md.instrument, config.instrument)), config


# --- harness and comparisons ------------------------------------------------------------------------------------
class OrderTypeWalk(Strategy):
    """What the order-type walks below share: a print counter, the gateway's refusals counted by reason (`refused`),
    a market order halving a position past `cap` lots, a wake-up cancelling the order it names."""

    cap = 12
    max_orders = 8

    def __init__(self, every: int = 1) -> None:
        self.n = 0
        self.every = every
        self.refused: dict[str, int] = {}

    def _turn(self, ctx) -> bool:
        """Count a print; whether to place an order on it: one print in `every`, fewer than `max_orders` working,
        and no position to cut first (then the market order is this print's)."""
        self.n += 1
        if self.n % self.every or len(ctx.orders) >= self.max_orders:
            return False
        if abs(ctx.position) > self.cap and ctx.best_bid is not None and ctx.best_ask is not None:
            self._d(ctx.submit(-1 if ctx.position > 0 else 1, 0, abs(ctx.position) // 2, ORDER_MARKET, TIF_IOC))
            return False
        return True

    def on_wake(self, ctx, payload) -> None:
        if payload in ctx.orders:
            self._d(ctx.cancel(payload))

    def _d(self, dec) -> None:
        if not dec.accepted:
            self.refused[dec.reason_name] = self.refused.get(dec.reason_name, 0) + 1


class Stops(OrderTypeWalk):
    """Venue-native stops and stop-limits (docs/sim.md, "Stop orders held by the venue") around each print: buy stops
    above it and sell stops below, stop-limits whose limit crosses or rests, GTC / DAY / IOC; some cancelled while
    held (a wake-up), a replace of a held stop tried (the gateway refuses it); a market order flattens a large
    position. Counts what it saw: `triggered`, `refused` (the gateway's reasons)."""

    name = "stops"

    def __init__(self, every: int = 1) -> None:
        super().__init__(every)
        self.triggered = 0

    def on_trade(self, ctx, side, price, qty) -> None:
        if not self._turn(ctx):
            return
        k, d = self.n // self.every % 5, 1 + self.n % 3
        if k == 0:
            dec = ctx.submit(BUY, 0, 1 + qty % 3, ORDER_STOP, TIF_GTC, trigger=price + d)
        elif k == 1:  # its limit below the trigger: crosses what bids are left, then rests
            dec = ctx.submit(SELL, price - d - 1, 1 + qty % 2, ORDER_STOP_LIMIT, TIF_GTC, trigger=price - d)
        elif k == 2:
            dec = ctx.submit(BUY, price + d, 2, ORDER_STOP_LIMIT, TIF_IOC, trigger=price + d)
        elif k == 3:
            dec = ctx.submit(SELL, 0, 1, ORDER_STOP, TIF_DAY, trigger=price - d)
        else:  # a buy stop-limit whose limit rests below the trigger
            dec = ctx.submit(BUY, price - 1, 1, ORDER_STOP_LIMIT, TIF_GTC, trigger=price + 1)
        self._d(dec)
        if dec.accepted and self.n % 7 == 0:
            ctx.at(ctx.now + 2_000_000, dec.order_id)

    def on_order_update(self, ctx, u) -> None:
        if u.kind == REPORT_TRIGGERED:
            self.triggered += 1
        elif u.kind == REPORT_ACK and u.order_id % 11 == 0 and u.order_id in ctx.orders:
            self._d(ctx.replace(u.order_id, u.price + 1, 1))  # a held stop: UNSUPPORTED_REPLACE


class Gtd(OrderTypeWalk):
    """Good-till-date orders (docs/sim.md, "Good till date") around each print: limits at, inside and away from the
    print, post-only, GTD stops and stop-limits, expiring from 0.5 ms to 20 ms on (some before they reach the venue:
    they arrive expired), some cancelled first (a wake-up), an expiry the gateway refuses now and then (BAD_EXPIRE);
    a market order flattens a large position. Counts what it saw: `expired`, `refused` (the gateway's reasons)."""

    name = "gtd"
    max_orders = 10

    def __init__(self) -> None:
        super().__init__()
        self.expired = 0

    def on_trade(self, ctx, side, price, qty) -> None:
        if not self._turn(ctx):
            return
        k, d = self.n % 6, self.n % 3
        expire = ctx.now + (500_000, 2_000_000, 7_000_000, 20_000_000)[self.n % 4]
        if k == 0:
            dec = ctx.submit(BUY, price - d, 1 + qty % 3, ORDER_LIMIT, TIF_GTD, expire=expire)
        elif k == 1:
            dec = ctx.submit(SELL, price + d, 1 + qty % 2, ORDER_LIMIT, TIF_GTD, expire=expire)
        elif k == 2:
            dec = ctx.submit(SELL, price + 1 + d, 2, ORDER_POST_ONLY, TIF_GTD, expire=expire)
        elif k == 3:
            dec = ctx.submit(BUY, 0, 1, ORDER_STOP, TIF_GTD, trigger=price + 1 + d, expire=expire)
        elif k == 4:
            dec = ctx.submit(SELL, price - d - 1, 1, ORDER_STOP_LIMIT, TIF_GTD, trigger=price - d, expire=expire)
        else:
            dec = ctx.submit(BUY, price - 2, 1, ORDER_LIMIT, TIF_GTD, expire=ctx.now if self.n % 12 == 5 else expire)
        self._d(dec)
        if dec.accepted and self.n % 7 == 0:
            ctx.at(ctx.now + 1_000_000, dec.order_id)

    def on_order_update(self, ctx, u) -> None:
        if u.kind == REPORT_EXPIRED:
            self.expired += 1


class Icebergs(OrderTypeWalk):
    """Venue-native icebergs (docs/sim.md, "Iceberg orders held by the venue") around each print: limit and post-only
    icebergs at the touch and one tick behind, some marketable (a taker iceberg rests its rest), a few with a display
    the gateway refuses; some replaced (the display kept) or cancelled later (a wake-up); a market order flattens a
    large position. Counts what it saw: `fills` of its icebergs, `refused` (the gateway's reasons), `refilled` (its
    icebergs that filled more lots than their display: their next part was shown at least once)."""

    name = "icebergs"
    cap = 40

    def __init__(self, every: int = 1) -> None:
        super().__init__(every)
        self.fills = 0
        self.ours: set[int] = set()
        self.display: dict[int, int] = {}
        self.filled: dict[int, int] = {}

    @property
    def refilled(self) -> int:
        return sum(1 for o, q in self.filled.items() if q > self.display[o])

    def on_trade(self, ctx, side, price, qty) -> None:
        if not self._turn(ctx):
            return
        k, d = self.n // self.every % 5, self.n % 3
        qty_ = 4 + self.n % 9
        if k == 0:  # at the print's price, on the side that print hit
            dec = ctx.submit(-side, price, qty_, ORDER_LIMIT, TIF_GTC, display=(shown := 1 + d))
        elif k == 1:  # through the print: marketable, takes with its whole size, then rests what is left
            dec = ctx.submit(side, price + side * d, qty_, ORDER_LIMIT, TIF_GTC, display=(shown := 2))
        elif k == 2:
            dec = ctx.submit(-side, price - side * (1 + d), qty_, ORDER_POST_ONLY, TIF_GTC, display=(shown := 3))
        elif k == 3:  # display not below the size: BAD_DISPLAY
            dec = ctx.submit(-side, price, 2, ORDER_LIMIT, TIF_GTC, display=(shown := 2))
        else:
            dec = ctx.submit(-side, price, qty_, ORDER_LIMIT, TIF_DAY, display=(shown := 1))
        self._d(dec)
        if dec.accepted:
            self.ours.add(dec.order_id)
            self.display[dec.order_id] = shown
            if self.n % 7 == 0:
                ctx.at(ctx.now + 2_000_000, dec.order_id)

    def on_order_update(self, ctx, u) -> None:
        if u.kind in (REPORT_PARTIAL_FILL, REPORT_FILL) and u.order_id in self.ours:
            self.fills += 1
            self.filled[u.order_id] = self.filled.get(u.order_id, 0) + u.qty
        elif u.kind == REPORT_ACK and u.order_id % 5 == 0 and u.order_id in ctx.orders:
            o = ctx.orders[u.order_id]
            self._d(ctx.replace(u.order_id, o.price, max(1, o.leaves - 1)))  # keeps its place and display


class Trailing(OrderTypeWalk):
    """Venue-native trailing stops (docs/sim.md, "Trailing stops") around each print: sell stops below it and buy
    stops above trailing at 1 to 3 ticks, stop-limits whose limit is at or through their trigger, some refused by
    the gateway (a trail on a limit order, a sell stop-limit's limit above its trigger); some cancelled while held (a
    wake-up); a market order flattens a large position. Counts what it saw: `triggered`, `refused`, and `moved`: the
    stops TRIGGERED at a print beyond their trigger at entry (a sell's above it, a buy's below), which only a trigger
    the prints moved lets happen."""

    name = "trailing"

    def __init__(self, every: int = 1) -> None:
        super().__init__(every)
        self.triggered = 0
        self.moved = 0
        self.entry: dict[int, tuple[int, int]] = {}  # order id -> (side, its trigger at entry)

    def on_trade(self, ctx, side, price, qty) -> None:
        if not self._turn(ctx):
            return
        k, d = self.n // self.every % 6, 1 + self.n % 3
        if k == 0:
            dec = ctx.submit(SELL, 0, 1 + qty % 3, ORDER_STOP, TIF_GTC, trigger=max(price - 2 * d, 1), trail=d)
        elif k == 1:
            dec = ctx.submit(BUY, 0, 1 + qty % 2, ORDER_STOP, TIF_GTC, trigger=price + 2 * d, trail=d)
        elif k == 2:  # a sell stop-limit, its limit a tick below its trigger: it moves with it
            t = max(price - d, 2)
            dec = ctx.submit(SELL, t - 1, 2, ORDER_STOP_LIMIT, TIF_GTC, trigger=t, trail=1 + d)
        elif k == 3:  # a buy stop-limit, its limit at its trigger
            dec = ctx.submit(BUY, price + d, 1, ORDER_STOP_LIMIT, TIF_GTC, trigger=price + d, trail=d)
        elif k == 4:  # a trail on a limit order: BAD_TRAIL
            dec = ctx.submit(BUY, price, 1, ORDER_LIMIT, TIF_GTC, trail=d)
        else:  # a sell stop-limit whose limit is above its trigger: BAD_TRAIL
            dec = ctx.submit(SELL, price + 1, 1, ORDER_STOP_LIMIT, TIF_GTC, trigger=max(price - d, 1), trail=d)
        self._d(dec)
        if dec.accepted:
            self.entry[int(dec.order_id)] = (int(dec.side), int(dec.trigger))
        if dec.accepted and self.n % 7 == 0:
            ctx.at(ctx.now + 2_000_000, dec.order_id)

    def on_order_update(self, ctx, u) -> None:
        if u.kind == REPORT_TRIGGERED:
            self.triggered += 1
            side, trigger = self.entry[u.order_id]
            self.moved += u.price > trigger if side == SELL else u.price < trigger


class Linked(OrderTypeWalk):
    """Venue-native OCO pairs and brackets (docs/sim.md, "OCO and bracket orders held by the venue") around each
    print: brackets (an entry at the print on its passive side, a take-profit limit and a stop or stop-limit as its
    children, the stop naming the take profit; by `ctx.bracket` or order by order), some entries cancelled by a wake-up (children entering for the
    part filled, or cancelled), an entry that takes at once (its children enter at once: the venue remembers it); OCO
    pairs of a resting limit and a stop, and of a buy and a sell limit; an order naming one already paired (the
    venue's REJECTED, or CANCELED when the other has ended) and a post-only child (BAD_LINK); a market
    order flattens a large position. Counts what it saw: `oco_cancels` (CANCELED reports of orders it did not
    cancel), `released` (its children's REPLACED reports), `rejected` (the venue's REJECTED), `refused`."""

    name = "linked"
    max_orders = 12
    cap = 20

    def __init__(self, every: int = 1) -> None:
        super().__init__(every)
        self.oco_cancels = self.released = self.rejected = 0
        self.cancelled: set[int] = set()  # orders it asked to cancel
        self.children: set[int] = set()
        self.paired = 0  # the last order it paired

    def on_wake(self, ctx, payload) -> None:
        if payload in ctx.orders:
            self.cancelled.add(payload)
        super().on_wake(ctx, payload)

    def on_trade(self, ctx, side, price, qty) -> None:
        if not self._turn(ctx):
            return
        k, d = self.n // self.every % 6, 1 + self.n % 3
        s = -side  # the side this print hit: orders resting there fill on the next prints like it
        q = 1 + qty % 3 + self.n % 2
        if k == 0:  # a bracket by `ctx.bracket`
            entry, tp, sl = ctx.bracket(s, price, q, price + s * (2 + d), price - s * (2 + d))
            for dec in (entry, tp, sl):
                if dec is not None:
                    self._d(dec)
            self.children.update(dec.order_id for dec in (tp, sl) if dec is not None and dec.accepted)
            if entry.accepted and self.n % 3 == 0:
                ctx.at(ctx.now + 1_000_000, entry.order_id)
        elif k in (1, 5):  # a bracket; k == 5: an entry through the print, which may take at once
            entry = ctx.submit(s, price + (side * d if k == 5 else 0), q, ORDER_LIMIT, TIF_GTC)
            self._d(entry)
            if not entry.accepted:
                return
            e = entry.order_id
            tp = ctx.submit(-s, price + s * (2 + d), q, ORDER_LIMIT, TIF_GTC, parent=e)
            self._d(tp)
            trig = price - s * (2 + d)
            if k == 1:  # a stop-limit, its limit a tick through its trigger
                sl = ctx.submit(-s, trig - s, q, ORDER_STOP_LIMIT, TIF_GTC, trigger=trig, parent=e,
                                oco=tp.order_id if tp.accepted else 0)
            else:
                sl = ctx.submit(-s, 0, q, ORDER_STOP, TIF_GTC, trigger=trig, parent=e,
                                oco=tp.order_id if tp.accepted else 0)
            self._d(sl)
            for dec in (tp, sl):
                if dec.accepted:
                    self.children.add(dec.order_id)
            if self.n % 3 == 0:
                ctx.at(ctx.now + 1_000_000 + 500_000 * d, e)
        elif k == 2:  # a resting limit and a stop beyond the print on the same side, one cancelling the other
            lim = ctx.submit(s, price - s * d, q, ORDER_LIMIT, TIF_GTC)
            self._d(lim)
            if lim.accepted:
                stop = ctx.submit(s, 0, q, ORDER_STOP, TIF_GTC, trigger=price + s * (1 + d), oco=lim.order_id)
                self._d(stop)
                self.paired = lim.order_id
                if self.n % 4 == 0:
                    ctx.at(ctx.now + 2_000_000, lim.order_id)
        elif k == 3:  # a buy and a sell around the print
            buy = ctx.submit(BUY, price - d, q, ORDER_LIMIT, TIF_GTC)
            self._d(buy)
            if buy.accepted:
                self._d(ctx.submit(SELL, price + d, q, ORDER_LIMIT, TIF_GTC, oco=buy.order_id))
                self.paired = buy.order_id
        else:  # a third order naming one already paired; a post-only child (BAD_LINK)
            if self.paired:
                self._d(ctx.submit(s, price - s * (3 + d), 1, ORDER_LIMIT, TIF_GTC, oco=self.paired))
            if ctx.orders:
                self._d(ctx.submit(s, price - s * (3 + d), 1, ORDER_POST_ONLY, TIF_GTC, parent=max(ctx.orders)))

    def on_order_update(self, ctx, u) -> None:
        if u.kind == REPORT_CANCELED and u.order_id not in self.cancelled:
            self.oco_cancels += 1
        elif u.kind == REPORT_REPLACED and u.order_id in self.children:
            self.released += 1
        elif u.kind == REPORT_REJECTED:
            self.rejected += 1


def l2_pair(ev, make_strategy_, *, qm="risk_averse", mode=MODE_PARTIAL_FILL, entry=None, resp=None, feed=None,
             limits=None, sample_ns=50_000_000, fees=None, classes=(Engine, NbEngine), engines=None):
    """The outputs of one L2 stream `ev` run by each engine class of `classes` (a fresh strategy from
    `make_strategy_` and a fresh venue and gateway each); the engines appended to `engines` when given."""
    outs = []
    for cls in classes:
        venue = L2MarketVenue(L2Venue(None, parse_queue_model(qm), mode, fees or FeeSchedule(-20, 150, 1), 1,
                                      capacity=64))
        cfg = sim_gateway_config("X", "chaos", limits=limits)

        def factory(clock, dispatcher, sink, cfg=cfg):
            from hft.gateway import GatewayService

            return GatewayService(cfg, clock=clock, dispatcher=dispatcher, sink=sink)

        ecfg = EngineConfig(entry=entry or L.constant(1_000_000), response=resp or L.constant(1_000_000),
                            feed=feed, sample_ns=sample_ns, strategy="chaos")
        eng = cls(ev, venue, factory, make_strategy_(), "X", ecfg)
        outs.append(eng.run())
        if engines is not None:
            engines.append(eng)
    return outs


def same(a, b) -> None:
    """Two engine runs are the same: run hash, every array, final state, rejects and the gateway's records."""
    assert a.run_hash == b.run_hash
    assert np.array_equal(a.decisions, b.decisions)
    assert np.array_equal(a.orders, b.orders)
    assert np.array_equal(a.fills, b.fills)
    assert np.array_equal(a.equity, b.equity)
    assert np.array_equal(a.acks, b.acks)  # ACK arrival times and queue ahead at entry (not in the run hash)
    assert a.final == b.final and a.rejects == b.rejects and a.events == b.events
    assert a.transition_records == b.transition_records
    assert list(a.decision_records) == list(b.decision_records)  # the gateway's records, field by field


#: latency models the agreement tests run under (keyword arguments of `l2_pair`)
LATENCIES = {
    "constant": dict(entry=L.constant(1_000_000), resp=L.constant(1_000_000)),
    "zero": dict(entry=L.constant(0), resp=L.constant(0), feed=L.constant(0)),
    "random": dict(entry=L.random(300_000, 400_000, seed=3), resp=L.random(200_000, 500_000, seed=4),
                   feed=L.random(100_000, 200_000, seed=5)),
    "empirical": dict(entry=L.empirical(np.array([0, 2_000_000_000], np.int64), np.array([100_000, 3_000_000])),
                      resp=L.empirical(np.array([0, 3_000_000_000], np.int64), np.array([2_000_000, 50_000]))),
}


class Tight(NbEngine):
    """Buffers grown only when full: the kernel runs out of room mid-call (intents fall back to Python, the heap,
    rows and side map grow between calls)."""

    _rows0 = 2
    _tight = True


class NoFast(NbEngine):
    """The numba engine with the in-kernel order path off."""

    in_kernel_orders = False  # commands and reports through Python (the path before the in-kernel one)


class Reader(Strategy):
    """Decides from every read of the context: depth, trade history, queue ahead, fills, cash, fees, pnl; wakes
    itself with ``ctx.at`` to cancel; replaces on reports; sends post-only and IOC orders."""

    name = "reader"
    trade_history = 4
    depth_levels = 3

    def __init__(self, timer_ns: int = 7_000_000) -> None:
        self.timer_ns = timer_ns
        self.log: list[tuple] = []

    def on_book(self, ctx) -> None:
        bids, asks = ctx.depth()
        if not len(bids) or not len(asks):
            return
        queue = sum(ctx.queue_ahead(o) for o in ctx.orders)
        flow = sum(t.side * t.qty for t in ctx.trades)
        self.log.append((ctx.now, bids.tobytes(), asks.tobytes(), queue, flow, ctx.cash, ctx.fees, ctx.pnl,
                         len(ctx.fills), ctx.mid2))
        if len(ctx.orders) < 3 and abs(ctx.position) < 40:
            side = BUY if (flow + len(ctx.fills)) % 2 == 0 else SELL
            level = bids if side == BUY else asks
            price = int(level[min(len(level) - 1, int(queue) % 3), 0])
            d = ctx.submit(side, price, 1 + int(bids[0, 1] + asks[0, 1]) % 5, ORDER_POST_ONLY, TIF_GTC)
            if d.accepted:
                ctx.at(ctx.now + 4_000_000, d.order_id)

    def on_trade(self, ctx, side, price, qty) -> None:
        if qty > 15 and ctx.best_bid is not None and ctx.best_ask is not None:
            ctx.submit(-side, ctx.best_ask if side == SELL else ctx.best_bid, 2, ORDER_LIMIT, TIF_IOC)

    def on_order_update(self, ctx, update) -> None:
        o = ctx.orders.get(update.order_id)
        if update.kind == REPORT_ACK and o is not None and o.status == "working":  # once per order: no endless chain
            ctx.replace(o.order_id, o.price - o.side, o.leaves)

    def on_wake(self, ctx, payload) -> None:
        if payload in ctx.orders:
            ctx.cancel(payload)

    def on_timer(self, ctx) -> None:
        if ctx.position and ctx.best_bid is not None and ctx.best_ask is not None:
            side = -1 if ctx.position > 0 else 1
            ctx.submit(side, ctx.best_bid if side == SELL else ctx.best_ask, 1, ORDER_LIMIT, TIF_IOC)


def reference_latency(model: L.LatencyModel | None) -> Latency | None:
    """The reference's description of an engine latency model (the same series)."""
    if model is None:
        return None
    kind, base, jitter, cap, seed = (int(x) for x in model.params)
    if kind == L.LAT_CONSTANT:
        return Latency.constant(base)
    if kind == L.LAT_RANDOM:
        return Latency.random(base, jitter, seed, cap)
    return Latency.empirical(model.times.tolist(), model.values.tolist())


def agree(ref, nb) -> None:
    """A reference run `ref` and a numba run `nb` are the same, array by array (failing with the first row that
    differs), then final state, run hash and the gateway's records."""
    for name in ("decisions", "orders", "fills", "equity", "acks"):
        a, b = getattr(ref, name), getattr(nb, name)
        assert a.dtype == b.dtype, name
        if not np.array_equal(a, b):
            n = min(len(a), len(b))
            first = next((i for i in range(n) if a[i] != b[i]), n)
            pytest.fail(f"{name}: {len(a)} rows (reference) vs {len(b)} (numba); first difference at row {first}: "
                        f"{a[first] if first < len(a) else None} vs {b[first] if first < len(b) else None}")
    assert ref.final == nb.final
    assert ref.run_hash == nb.run_hash
    assert ref.decision_records == list(nb.decision_records)


# --- legs ---------------------------------------------------------------------------------------------------------
def l2_venue(fees: FeeSchedule | None = None) -> L2MarketVenue:
    """An L2 venue (risk-averse queue, partial fills) for one leg."""
    return L2MarketVenue(L2Venue(None, parse_queue_model("risk_averse"), MODE_PARTIAL_FILL,
                                 fees or FeeSchedule(-20, 150, 1), 1, capacity=64))


def legs_gateway(symbols: list[str], **kwargs):
    """A gateway factory for the engines over `symbols` (the simulator's gateway config, `kwargs` to it)."""
    cfg = sim_gateway_config(symbols[0], "chaos", more_symbols={s: {"multiplier": 1} for s in symbols[1:]}, **kwargs)

    def factory(clock, dispatcher, sink):
        from hft.gateway import GatewayService

        return GatewayService(cfg, clock=clock, dispatcher=dispatcher, sink=sink)

    return factory


#: the engine config of the legs tests
ECFG = EngineConfig(entry=L.constant(1_000_000), response=L.constant(700_000), feed=L.constant(300_000),
                    sample_ns=20_000_000, strategy="chaos")


def run_legs(streams: list[np.ndarray], strategy: Strategy, cls: type[Engine] = Engine, ecfg: EngineConfig = ECFG,
              spares=None):
    """(engine, output) of `streams` run as legs ``S0``, ``S1``, … of one `cls` engine."""
    symbols = [f"S{k}" for k in range(len(streams))]
    legs = [LegInput(ev, l2_venue(), s) for ev, s in zip(streams, symbols, strict=True)]
    eng = cls.of_legs(legs, legs_gateway(symbols), strategy, ecfg, spares=spares)
    return eng, eng.run()


def shifted(ev: np.ndarray, dt: int, dpx: int) -> np.ndarray:
    """A copy of `ev` with times `dt` ns later and prices `dpx` ticks higher (another leg's stream)."""
    out = ev.copy()
    out["exch_ts"] += dt
    out["local_ts"] += dt
    out["price"] += dpx
    return out


class OnlyLeg0(Chaos):
    """`Chaos` that acts on leg 0's market data only (and on its own reports and timer)."""

    def on_book(self, ctx):
        if ctx.leg_index == 0:
            super().on_book(ctx)

    def on_trade(self, ctx, side, price, qty):
        if ctx.leg_index == 0:
            super().on_trade(ctx, side, price, qty)


class TwoLegChaos(Chaos):
    """`Chaos` on a leg drawn at each callback (`ctx.leg`): orders, cancels and replaces on both instruments."""

    def _ctx(self, ctx):
        return ctx.leg(int(self.rng.integers(0, 2)))

    def on_book(self, ctx):
        super().on_book(self._ctx(ctx))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.report_legs: dict[int, set[int]] = {}  # order id -> the legs its reports' context referred to

    def on_order_update(self, ctx, u):
        self.report_legs.setdefault(u.order_id, set()).add(ctx.leg_index)
        super().on_order_update(self._ctx(ctx), u)

    def on_timer(self, ctx):
        super().on_timer(self._ctx(ctx))


class ThreeLegChaos(TwoLegChaos):
    """`TwoLegChaos` over three legs."""

    def _ctx(self, ctx):
        return ctx.leg(int(self.rng.integers(0, 3)))


def stepped_back(events: np.ndarray, seed: int, how: str, back_ns: int) -> np.ndarray:
    """`events` (a read-only copy) whose exchange times step back: ``shuffle`` permutes them within runs of up to
    40 consecutive events; ``step`` moves a third of the events (``trades``: every trade) up to `back_ns` earlier.
    Local times are the data's (the feed's clock shift keeps them at or after every exchange time)."""
    rng = np.random.default_rng(seed)
    ev = events.copy()
    t = ev["exch_ts"]
    if how == "shuffle":
        i = 0
        while i < len(t):
            j = min(len(t), i + int(rng.integers(2, 41)))
            t[i:j] = rng.permutation(t[i:j])
            i = j
    else:
        hit = ev["kind"] == EV_TRADE if how == "trades" else rng.random(len(t)) < 1 / 3
        t[hit] -= rng.integers(0, back_ns + 1, int(hit.sum()))
    ev.flags.writeable = False
    return ev


def reference_and_numba_legs(mds, make, name: str, config):
    """(reference output, numba engine, numba output) of opened legs `mds` (as ``hft replay -d A -d B``) with a
    strategy `make()` named `name` under the replay config `config`: the numba engine by
    `hft.sim.portfolio.replay_legs`, the independent reference (`hft.sim.reference.from_legs`) on the same legs."""
    from hft.sim.fees import money_factor
    from hft.sim.portfolio import leg_configs, replay_legs
    from hft.sim.reference import from_legs
    from hft.sim.replay import gateway_factory

    nb, eng, _, _ = replay_legs(mds, make(), name, config)
    configs = leg_configs(mds, config)
    moneys = [money_factor(md.instrument, c.multiplier) for md, c in zip(mds, configs, strict=True)]
    factory = gateway_factory([md.instrument for md in mds], name, config, multipliers=[c.multiplier for c in configs])
    ref = from_legs(mds, make(), name, configs, factory, moneys).run()
    return ref, eng, nb
