"""A strategy whose every answer asks for another at the same local time (zero latencies, a replace answering
every report; a wake-up for now answering every wake-up) would keep the replay's clock at one time forever: both
engines and the reference stop it with the same one-line error once it passes `MAX_ACTIONS_AT_ONE_TIME` actions
at one time (docs/sim.md, "The replay, precisely"), and a long burst below the bound runs."""

from __future__ import annotations

import pytest

from hft.core.dtypes import BUY
from hft.core.errors import SimError
from hft.core.orders import CMD_REPLACE, ORDER_LIMIT, TIF_GTC
from hft.sim import strategy as S
from hft.sim.strategy import Strategy


class ReplaceChain(Strategy):
    """One order, then a replace answering every report about it (a cap of `limit` replaces, or none)."""

    name = "chain"

    def __init__(self, limit: int | None = None) -> None:
        self.sent = False
        self.limit = limit
        self.replaces = 0

    def on_book(self, ctx) -> None:
        if not self.sent and ctx.best_bid is not None:
            self.sent = True
            ctx.submit(BUY, ctx.best_bid - 50, 1, ORDER_LIMIT, TIF_GTC)

    def on_order_update(self, ctx, update) -> None:
        o = ctx.orders.get(update.order_id)
        if o is not None and o.status == "working" and (self.limit is None or self.replaces < self.limit):
            self.replaces += 1
            ctx.replace(o.order_id, o.price + (1 if self.replaces % 2 else -1), o.leaves)


class WakeChain(Strategy):
    """A wake-up for now answering every wake-up."""

    name = "wakes"

    def on_start(self, ctx) -> None:
        ctx.at(ctx.now, None)

    def on_wake(self, ctx, payload) -> None:
        ctx.at(ctx.now, None)


@pytest.fixture
def small_bound(monkeypatch):
    monkeypatch.setattr(S, "MAX_ACTIONS_AT_ONE_TIME", 300)
    import hft.sim.reference.context as RC

    monkeypatch.setattr(RC, "MAX_ACTIONS_AT_ONE_TIME", 300)
    return 300


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    from hft.data.importing import generate_day
    from hft.data.sources import open_market_data

    out = tmp_path_factory.mktemp("chain")
    path = generate_day(out, seed=5, symbol="SYNTH", date="2024-01-02", messages=1000, levels=5,
                        zip_output=True)["zip_path"]
    return open_market_data([path])


ZERO = {"entry_ns": 0, "response_ns": 0, "feed": 0}


def _run(md, make, engine: str):
    """The replay of `make()` on `md` at zero latencies: by engine `engine` ("numba", "python") or the
    reference ("reference")."""
    from hft.sim.reference import from_market_data
    from hft.sim.replay import ReplayConfig, build_engine, gateway_factory

    config = ReplayConfig(engine="numba" if engine == "reference" else engine, **ZERO)
    if engine == "reference":
        _, money = build_engine(md, make(), "chain", config)  # (for its money factor)
        return from_market_data(md, make(), "chain", config, gateway_factory([md.instrument], "chain", config),
                                money).run()
    e, money = build_engine(md, make(), "chain", config)
    return e.run(None, multiplier=money)


ENGINES = ["numba", "python", "reference"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("make", [ReplaceChain, WakeChain], ids=["replace_on_every_report", "wake_for_now"])
def test_a_chain_that_never_advances_the_clock_stops(day, small_bound, engine, make):
    with pytest.raises(SimError) as e:
        _run(day, make, engine)
    msg = str(e.value)
    call = "ctx.replace" if make is ReplaceChain else "ctx.at"
    assert msg.startswith(f"{call}: expected at most 300 orders and wake-ups at one local time, was more at ")
    assert "\n" not in msg


@pytest.mark.parametrize("engine", ENGINES)
def test_a_burst_below_the_bound_runs(day, small_bound, engine):
    out = _run(day, lambda: ReplaceChain(limit=250), engine)
    assert int((out.orders["action"] == CMD_REPLACE).sum()) == 250  # every replace reached the venue
