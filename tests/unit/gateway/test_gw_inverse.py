"""The gateway's money limits on an inverse (coin-margined) symbol, by hand (docs/gateway.md, "Inverse
instruments"): the symbol's money factor is ``-K`` (config ``inverse_factor: K``), the value of ``q`` contracts at
``P`` ticks is ``round_half_even(q × K / P)`` coin units (`hft.gateway.kernels.money.fill_value`, the rule the
replay's accounting uses), and every money limit — ``max_order_notional``, ``max_notional``, ``min_notional``,
``daily_loss`` — is in those coin units. Here K = 1,000,000: one contract at 1000 ticks is worth 1000 units."""

from __future__ import annotations

import pytest
from gwkit import Gw, config

from hft.core.errors import ConfigError, GatewayError
from hft.core.orders import (
    R_DAILY_LOSS,
    R_MAX_ORDER_NOTIONAL,
    R_MIN_NOTIONAL,
    R_NOTIONAL_LIMIT,
    REPORT_FILL,
    SELL,
    STORM_HALT,
)
from hft.gateway.config import LimitSet, SymbolSpec, parse_config
from hft.gateway.intents import ExecutionReport
from hft.gateway.kernels.money import fill_value, position_value
from hft.sim.fees import cash_flow

K = 1_000_000


def _gw(**limits) -> Gw:
    return Gw(config(symbols={"AAA": SymbolSpec("AAA", multiplier=-K, limits=LimitSet(**limits)),
                              "BBB": SymbolSpec("BBB"), "CCC": SymbolSpec("CCC")}))


def _fill(g: Gw, oid: int, price: int, qty: int, fee: int = 0) -> int:
    return g.svc.on_execution_report(ExecutionReport(g.clock.now_ns(), oid, REPORT_FILL, price, qty, 0, fee))


def test_the_one_money_rule():
    assert fill_value(1000, 10, -K) == 10_000 and fill_value(999, 10, -K) == 10_010  # 10,010.01
    assert position_value(1000, 10, -K) == -10_000 and position_value(1000, -10, -K) == 10_000
    assert position_value(1000, 10, 3) == 30_000  # linear: price x qty x multiplier
    # the gateway books a buy at its signed value, the replay's cash moves the other way by the same amount
    assert position_value(950, 7, -K) == -cash_flow(1, 950, 7, -K)


def test_max_order_notional_is_the_coin_value_at_the_order_price():
    g = _gw(max_order_notional=10_000)
    assert g.new(qty=10, price=1000).accepted  # 10 x 1e6 / 1000 = 10,000: at the limit
    assert g.new(qty=11, price=1000).reason == R_MAX_ORDER_NOTIONAL  # 11,000
    assert g.new(qty=10, price=999).reason == R_MAX_ORDER_NOTIONAL  # 10,010 (linear units would be 9,990)
    assert g.new(qty=11, price=1100).accepted  # 10,000 (linear units would be 12,100)


def test_max_notional_values_the_position_at_the_mark():
    g = _gw(max_notional=25_000, max_position=100)
    assert g.new(qty=20).accepted and g.new(qty=5).accepted  # 25 working at the mark 1000: 25,000
    assert g.new(qty=1).reason == R_NOTIONAL_LIMIT  # 26,000
    g.svc.mark("AAA", 1250)
    assert g.new(qty=1, price=1250).accepted  # 26 x 1e6 / 1250 = 20,800: the coin value fell as the price rose
    assert g.new(qty=5, price=1250).accepted  # 31: 24,800
    assert g.new(qty=1, price=1250).reason == R_NOTIONAL_LIMIT  # 32: 25,600


def test_min_notional_in_coin_units():
    g = Gw(config(symbols={"AAA": SymbolSpec("AAA", multiplier=-K, min_notional=5_000),
                           "BBB": SymbolSpec("BBB"), "CCC": SymbolSpec("CCC")}))
    assert g.new(qty=5, price=1000).accepted  # 5,000
    assert g.new(qty=5, price=1001).reason == R_MIN_NOTIONAL  # 4,995
    assert g.new(qty=6, price=1100).accepted  # 5,454.5 -> 5,455


def test_daily_loss_is_a_coin_loss_and_trips_at_the_right_mark():
    g = Gw(config(symbols={"AAA": SymbolSpec("AAA", multiplier=-K), "BBB": SymbolSpec("BBB"),
                           "CCC": SymbolSpec("CCC")}, strategies={"s1": LimitSet(daily_loss=1000), "s2": LimitSet()}))
    b = g.new(qty=10, price=1000)
    _fill(g, b.order_id, 1000, 10)
    assert g.svc.pnl(strategy="s1") == {"realised": 0, "unrealised": 0, "total": 0}
    # long 10 contracts from 1000: PnL = 10 x 1e6 x (1/1000 - 1/P) coin units
    g.svc.mark("AAA", 950)
    assert g.svc.pnl(strategy="s1")["unrealised"] == -526  # -526.3
    g.svc.mark("AAA", 1050)
    assert g.svc.pnl(strategy="s1")["unrealised"] == 476  # +476.2
    g.svc.mark("AAA", 910)
    assert g.svc.pnl(strategy="s1")["unrealised"] == -989  # -989.0: inside
    assert g.svc.storm_level != STORM_HALT
    assert g.new(qty=1, price=910).accepted
    g.svc.mark("AAA", 909)  # -1001.1 -> -1001 < -1000 (linear units: 10 x -91 = -910, no breach)
    assert g.svc.pnl(strategy="s1")["unrealised"] == -1001 and g.svc.storm_level == STORM_HALT
    g.svc.reset()
    assert g.new(qty=1, price=909).reason == R_DAILY_LOSS
    g.svc.new_day()
    assert g.new(qty=1, price=909).accepted


def test_realised_inverse_pnl_and_fee():
    g = _gw()
    b = g.new(qty=10, price=1000)
    _fill(g, b.order_id, 1000, 10)
    s = g.new(side=SELL, qty=10, price=950)
    _fill(g, s.order_id, 950, 10, fee=20)
    # 10 x 1e6 / 1000 - 10 x 1e6 / 950 = 10,000 - 10,526 = -526, less the fee 20
    assert g.svc.pnl(strategy="s1") == {"realised": -546, "unrealised": 0, "total": -546}


def test_config_inverse_factor():
    cfg = parse_config({"symbols": {"INV": {"inverse_factor": K, "max_order_notional": 10_000},
                                    "LIN": {"multiplier": 3}}})
    assert cfg.symbols["INV"].multiplier == -K and cfg.symbols["LIN"].multiplier == 3
    assert cfg.symbols["INV"].limits.max_order_notional == 10_000
    with pytest.raises(ConfigError, match="inverse_factor"):
        parse_config({"symbols": {"X": {"inverse_factor": K, "multiplier": 2}}})
    with pytest.raises(ConfigError, match="inverse_factor"):
        parse_config({"symbols": {"X": {"inverse_factor": 0}}})
    with pytest.raises(GatewayError, match="money factor"):
        Gw().svc.register_symbol("ZZZ", multiplier=0)
