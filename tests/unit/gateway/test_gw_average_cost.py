"""Realised PnL at average cost: the one rule (`hft.gateway.kernels.money.average_cost_fill`) the gateway's exposure
slots book and a strategy's `Context.realized_pnl` folds over its fills. Against an independent oracle (exact
average cost in fractions, and the cash the fills moved), over random fill sequences; then the gateway and a
context given the same fills (their exact fees too) agree at every fill."""

from __future__ import annotations

from fractions import Fraction

from gwkit import Gw, config
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.core.orders import REPORT_FILL, RISK_FLAG_BAD_REPORT, RISK_FLAG_UNKNOWN_ORDER
from hft.gateway.config import LimitSet
from hft.gateway.intents import ExecutionReport
from hft.gateway.kernels.money import average_cost_fill

_FILL = st.tuples(st.sampled_from([1, -1]), st.integers(1, 10**6), st.integers(1, 500))


def _rounded(x: Fraction) -> int:
    return round(x)  # half to even, as the books round money once


@given(fills=st.lists(_FILL, min_size=1, max_size=40), m=st.sampled_from([1, 7, 100]))
@settings(max_examples=300, deadline=None)
def test_the_rule_is_average_cost_its_basis_truncated_and_flat_it_is_the_cash(fills: list, m: int) -> None:
    """Linear money factor m: the position is the fills' sum; realised PnL minus the cost basis is the cash the
    fills moved at every fill (so flat, with no basis left, the realised PnL is that cash); and the realised PnL is
    exact average cost (fractions) but for the basis' truncation, under one money unit per reducing fill, none
    once flat."""
    pos = cost = real = cash = 0
    o_pos, o_cost, o_real = 0, Fraction(0), Fraction(0)
    reducing = 0
    for side, px, q in fills:
        ok, pos, cost, gain = average_cost_fill(pos, cost, side, px, q, m)
        assert ok
        real += gain
        cash -= side * px * q * m
        if o_pos == 0 or (o_pos > 0) == (side > 0):  # the oracle: opens or adds at the fill's price
            o_cost += side * q * px * m
            o_pos += side * q
        else:  # reduces: the closed lots leave at the average cost, the rest (a reversal) opens at the price
            reducing += 1
            closing = min(q, abs(o_pos))
            share = o_cost * closing / abs(o_pos)
            o_real += (1 if o_pos > 0 else -1) * closing * px * m - share
            o_cost -= share
            o_pos += side * closing
            if q > closing:
                o_cost += side * (q - closing) * px * m
                o_pos = side * (q - closing)
        assert pos == o_pos and real - cost == cash
        assert abs(real - o_real) < reducing or real == o_real
        if pos == 0:
            assert cost == 0 and real == o_real == cash


@given(fills=st.lists(st.tuples(st.sampled_from([1, -1]), st.integers(1_000, 100_000), st.integers(1, 50)),
                      min_size=1, max_size=30), k=st.sampled_from([10**9, 10**12]))
@settings(max_examples=150, deadline=None)
def test_on_an_inverse_contract_flat_realised_pnl_is_the_coin_the_fills_moved(fills: list, k: int) -> None:
    """Inverse (m = -K): a buy receives round(q·K/p) coin units, a sell pays it (`hft.sim.fees`); the realised PnL
    less the cost basis is that cash, but for one unit per reversal (the fill's value rounded as two parts)."""
    pos = cost = real = cash = 0
    reversals = 0
    for side, px, q in fills:
        reversals += pos != 0 and (pos > 0) != (side > 0) and q > abs(pos)
        ok, pos, cost, gain = average_cost_fill(pos, cost, side, px, q, -k)
        assert ok
        real += gain
        cash += side * _rounded(Fraction(q * k, px))
        assert abs(real - cost - cash) <= reversals


_GW_FILL = st.tuples(st.sampled_from([1, -1]), st.integers(900, 1100), st.integers(1, 20), st.integers(-5, 40),
                     st.integers(0, 999_999))


@given(fills=st.lists(_GW_FILL, min_size=1, max_size=25))
@settings(max_examples=60, deadline=None)
def test_the_gateway_and_a_strategys_context_book_the_same_realised_pnl(fills: list) -> None:
    """The same fills (side, price, size, exact fee) reported to a gateway and to a strategy's context (the live
    runner's, a real `Context`): the gateway's realised PnL of the strategy and ``ctx.realized_pnl`` agree at every
    fill, and are the rule's realised PnL less the exact fees, rounded once (half to even); flat, the cash."""
    from hft.live.algo import LiveEngine
    from hft.sim.strategy import Strategy

    g = Gw(config(defaults=LimitSet(max_order_qty=1000, max_position=1_000_000, min_qty=1)))
    e = LiveEngine(Strategy(), "s", "r", None, "A1", "s1", "AAA", out=lambda _line: None)  # type: ignore[arg-type]
    fees = Fraction(0)
    pos = cost = real = 0
    for n, (side, px, q, fee, frac) in enumerate(fills, 1):
        d = g.new(side=side, price=px, qty=q)
        assert d.accepted, d
        flags = g.svc.on_execution_report(ExecutionReport(g.clock.now_ns(), d.order_id, REPORT_FILL, px, q, 0, fee,
                                                          frac))
        assert flags & (RISK_FLAG_BAD_REPORT | RISK_FLAG_UNKNOWN_ORDER) == 0, flags
        e.own[d.order_id] = side
        e.on_report({"seq": n, "order_id": d.order_id, "kind": "fill", "price": px, "qty": q, "leaves": 0,
                     "filled": q, "ts": n, "fee": fee, "fee_frac": frac})
        fees += fee + Fraction(frac, 1_000_000)
        _ok, pos, cost, gain = average_cost_fill(pos, cost, side, px, q, 1)
        real += gain
        want = _rounded(real - fees)
        assert g.svc.pnl(strategy="s1")["realised"] == e.ctx.realized_pnl == want, (n, want)
    if pos == 0:
        assert e.ctx.realized_pnl == e.ctx.cash
