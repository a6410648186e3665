"""``ctx.realized_pnl`` in a replay: a Python strategy reads it at each of its order updates on the numba engine
(`Context`, the gateway's rule `average_cost_fill` folded over its fills) and on the independent reference engine
(`ReferenceContext`, its own rule written from docs/sim.md, `hft.sim.reference.accounting`): the two runs agree
array by array and the strategy read the same realised PnL at every update; flat, it was the cash. A generated
LOBSTER day (L3 venue), no recorded data needed."""

from __future__ import annotations

from hft.core.dtypes import BUY, SELL
from hft.sim.strategy import Strategy
from tests.unit.alpha.lifecycle_helpers import make_day
from tests.unit.sim.agreement import agree


class RoundTrips(Strategy):
    """Quotes one side at the touch, sizes 1-3, within ±`cap` lots, flipping side as the position reaches a bound;
    keeps ``(position, cash, realized_pnl)`` at each order update."""

    name = "round_trips"

    def __init__(self, cap: int = 4) -> None:
        self.cap = cap
        self.side = BUY
        self.n = 0
        self.seen: list[tuple[int, int, int]] = []

    def on_book(self, ctx) -> None:
        bid, ask = ctx.best_bid, ctx.best_ask
        if bid is None or ask is None:
            return
        if ctx.orders:
            o = next(iter(ctx.orders.values()))
            if o.status == "working" and o.price != (bid if o.side == BUY else ask):
                ctx.cancel(o.order_id)
            return
        pos = ctx.position
        if pos >= self.cap:
            self.side = SELL
        elif pos <= -self.cap:
            self.side = BUY
        self.n += 1
        ctx.submit(self.side, bid if self.side == BUY else ask, 1 + self.n % 3)

    def on_order_update(self, ctx, update) -> None:
        self.seen.append((ctx.position, ctx.cash, ctx.realized_pnl))


def test_the_realised_pnl_a_strategy_reads_is_the_reference_engines(tmp_path):
    from hft.data.sources import MarketData, open_market_data
    from hft.sim.reference import from_market_data
    from hft.sim.replay import build_engine, gateway_factory, parse_replay_config

    md = open_market_data([make_day(tmp_path, seed=7)])
    md = MarketData(md.kind, md.events[:6000], md.instrument, dict(md.meta), lobster=None)
    config = parse_replay_config({"engine": "numba", "exchange": "no_partial_fill",
                                  "fees": {"maker_bps": -0.25, "taker_bps": 0.35, "per_lot": 0}})
    s_nb, s_ref = RoundTrips(), RoundTrips()
    eng, money = build_engine(md, s_nb, "round_trips", config)
    nb = eng.run(multiplier=money)
    ref = from_market_data(md, s_ref, "round_trips", config, gateway_factory([md.instrument], "round_trips", config),
                           money).run()
    agree(ref, nb)
    assert s_nb.seen == s_ref.seen
    real = [r for _, _, r in s_nb.seen]
    assert len(nb.fills) > 20 and len(set(real)) > 5  # fills closed positions: the realised PnL moved
    flat = [(c, r) for p, c, r in s_nb.seen if p == 0]
    assert flat and all(c == r for c, r in flat)  # flat: the realised PnL is the cash
    assert any(p != 0 and c != r for p, c, r in s_nb.seen)  # open: not the cash (the basis is not realised)
