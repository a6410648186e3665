"""Instruments and money (`hft.sim.fees`, `hft.sim.instruments`): inverse (coin-margined) and contract-multiplier
accounting pinned by hand-computed scenarios run through the real gateway and venue, the money factor, and the
instrument overrides of a replay config."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hft.core.errors import ConfigError
from hft.core.instrument import Instrument
from hft.sim.fees import (
    INVERSE_UNITS,
    cash_flow,
    fee_money,
    fee_py,
    fill_value,
    mark_value,
    money_factor,
    money_unit,
)
from hft.sim.run_tables import realised_pnl
from hft.sim.scenario import parse_scenario, run_scenario

BTCUSD_PERP = Instrument("BTCUSD_PERP", "BINANCE_CM", "0.1", "1", currency="USD", contract_size="100",
                         kind="inverse", settle_currency="BTC")

# Binance COIN-M BTCUSD_PERP: tick 0.1 USD, 1 contract = 100 USD. Taker 5 bp. Buy 2 contracts at market (ask
# 60000.0), then the book moves up and we sell 2 at market (bid 61000.0).
INVERSE_SCENARIO = {
    "instrument": {"symbol": "BTCUSD_PERP", "tick_size": "0.1", "lot_size": 1, "kind": "inverse",
                   "contract_size": 100},
    "latency": {"entry": "1ms", "response": "1ms", "feed": "0us"},
    "fees": {"maker_bps": 0, "taker_bps": 5},
    "book": {"bids": [[59999.9, 10]], "asks": [[60000.0, 10]]},
    "events": [{"t": "20ms", "kind": "depth", "side": "sell", "price": 60000.0, "qty": 0},
               {"t": "20ms", "kind": "depth", "side": "sell", "price": 61000.1, "qty": 10},
               {"t": "20ms", "kind": "depth", "side": "buy", "price": 61000.0, "qty": 10}],
    "actions": [{"t": "10ms", "op": "submit", "id": "b", "side": "buy", "qty": 2, "type": "market"},
                {"t": "30ms", "op": "submit", "id": "s", "side": "sell", "qty": 2, "type": "market"}],
}


def test_money_factor_of_btcusd_perp():
    # K = lot x contract / tick x 1e9 = 1 x 100 / 0.1 x 1e9 = 1e12; one unit = 1e-9 BTC
    assert money_factor(BTCUSD_PERP) == -10**12
    assert money_unit(BTCUSD_PERP) == 1e-9
    assert BTCUSD_PERP.settlement == "BTC"
    # guessed from the symbol when not given
    assert Instrument("ETHUSD_PERP", "X", "0.01", "1", contract_size="10", kind="inverse").settlement == "ETH"
    # a linear instrument: the multiplier, money unit tick x lot x contract size / multiplier of the quote
    es = Instrument("ES", "CME", "0.25", "1", contract_size="50")
    assert money_factor(es, 1) == 1 and money_unit(es, 1) == 12.5 and es.settlement == "USD"


def test_inverse_fill_value_cash_and_mark():
    m = money_factor(BTCUSD_PERP)
    # 2 contracts at 60000.0 (600000 ticks) = 200 USD = 0.0033333 BTC = 3,333,333.33 units -> 3,333,333
    assert fill_value(600_000, 2, m) == 3_333_333
    assert cash_flow(1, 600_000, 2, m) == 3_333_333  # an inverse buy receives the coin value
    assert cash_flow(-1, 610_000, 2, m) == -3_278_689  # 3,278,688.52 -> 3,278,689
    # position of 2 marked at mid 61000.0 (mid2 = 1,220,000 half ticks): -2 x 1e12 / 610000
    assert mark_value(2, 1_220_000, m) == pytest.approx(-3_278_688.5246, abs=1e-3)
    # taker 5 bp of the coin value, in coin units: 3,333,333 x 500 / 1e6 = 1666.6665 exactly (1.6666665e-6 BTC)
    assert fee_money(600_000, 2, m, 500, 0) == (1666, 666_500)


@settings(max_examples=200, deadline=None)
@given(price=st.integers(10**4, 10**8), qty=st.integers(1, 10**5), bps=st.integers(-1000, 1000))  # >= 1,000 USD
def test_inverse_fee_agrees_with_python_ints(price, qty, bps):
    m = money_factor(BTCUSD_PERP)
    whole, frac = (int(x) for x in fee_money(price, qty, m, bps, 0))
    assert whole + Fraction(frac, 1_000_000) == fee_py(price, qty, m, bps, 0)
    assert cash_flow(1, price, qty, m) == -cash_flow(-1, price, qty, m) >= 0


def test_inverse_scenario_pnl_and_fees_by_hand():
    res = run_scenario(parse_scenario(INVERSE_SCENARIO))
    fills = [(r["id"], r["price"], r["qty"], r["fee"]) for r in res["trace"] if r["status"] == "FILLED"]
    # buy 2 @ 60000.0: fee 3,333,333 x 5e-4 = 1666.6665; sell 2 @ 61000.0: 3,278,689 x 5e-4 = 1639.3445 (exact)
    assert fills == [("b", 600_000, 2, 1666.6665), ("s", 610_000, 2, 1639.3445)]
    # PnL in coin = qty x contract x (1/entry - 1/exit) = 2 x 100 x (1/60000 - 1/61000) = 5.4645e-5 BTC
    gross = 3_333_333 - 3_278_689
    assert gross == 54_644 and abs(gross * 1e-9 - 200 * (1 / 60000 - 1 / 61000)) < 1e-9
    assert res["position"] == 0 and res["fees_paid"] == 3306.011  # 1666.6665 + 1639.3445
    assert res["balance"] == 51_337.989  # gross - 3306.011
    assert res["settlement"] == "coin" and Decimal(res["money_unit"]) == Decimal("1e-9")
    assert Decimal(res["balance_dec"]) == Decimal("0.000051337989")  # BTC
    # fees are cents per contract: 3306e-9 BTC x ~60500 USD / 4 contract-fills ~ 0.05 USD (5 bp of 100 USD)
    assert 0.04 < (res["fees_paid"] * 1e-9 * 60_500) / 4 < 0.06


def test_contract_multiplier_scenario_by_hand():
    # an index future: tick 0.25, 50 USD a point (contract_size 50): one money unit = 0.25 x 50 = 12.5 USD
    sc = {
        "instrument": {"symbol": "ES", "tick_size": 0.25, "lot_size": 1, "contract_size": 50},
        "latency": {"entry": "1ms", "response": "1ms"},
        "fees": {"taker_bps": 2},
        "book": {"bids": [[4999.75, 10]], "asks": [[5000.0, 10]]},
        "events": [{"t": "20ms", "kind": "depth", "side": "sell", "price": 5000.0, "qty": 0},
                   {"t": "20ms", "kind": "depth", "side": "sell", "price": 5001.25, "qty": 10},
                   {"t": "20ms", "kind": "depth", "side": "buy", "price": 5001.0, "qty": 10}],
        "actions": [{"t": "10ms", "op": "submit", "id": "b", "side": "buy", "qty": 1, "type": "market"},
                    {"t": "30ms", "op": "submit", "id": "s", "side": "sell", "qty": 1, "type": "market"}],
    }
    res = run_scenario(parse_scenario(sc))
    fills = [(r["price"], r["fee"]) for r in res["trace"] if r["status"] == "FILLED"]
    # 20000 ticks: fee 20000 x 200 / 1e6 = 4 units (50 USD = 2 bp of 250,000 USD); 20004: 4.0008 (exact)
    assert fills == [(20_000, 4), (20_004, 4.0008)]
    # one point up on one contract: +4 units = 50 USD; minus 8 units of fees = -4 units = -50 USD
    assert res["balance"] == -4.0008 and res["money_unit"] == "12.5" and Decimal(res["balance_dec"]) == Decimal("-50.01")


def test_inverse_contract_value_must_be_whole_units():
    bad = dict(INVERSE_SCENARIO, instrument={**INVERSE_SCENARIO["instrument"], "contract_size": "1e-20"})
    with pytest.raises(ConfigError, match=r"^inv\.yaml: instrument BTCUSD_PERP: inverse contract value .* expected a whole number"):
        parse_scenario(bad, "inv.yaml")


def test_realised_pnl_of_an_inverse_round_trip():
    m = money_factor(BTCUSD_PERP)
    fills = np.array([(1, 600_000, 2), (-1, 610_000, 1), (-1, 610_000, 1)],
                     dtype=[("side", "i8"), ("price", "i8"), ("qty", "i8")])
    got = realised_pnl(fills, m)
    one = 1e12 / 600_000 - 1e12 / 610_000  # one contract, coin units
    assert got.tolist() == pytest.approx([0.0, one, 2 * one])
    assert realised_pnl(fills, 1)[-1] == 2 * 10_000  # linear: 2 lots x 10000 ticks
    assert INVERSE_UNITS == 10**9


def test_exchange_filters_become_the_gateway_symbol_spec():
    from hft.sim.instruments import symbol_spec

    usdm = Instrument("BTCUSDT", "BINANCE_USDM", "0.10", "0.001", min_qty="0.002", min_notional="100",
                      order_tick="0.50", order_lot="0.002")
    # money unit = 0.1 x 0.001 = 1e-4 USDT: 100 USDT = 1,000,000 units; 0.002 BTC = 2 lots; 0.50 = 5 ticks
    assert symbol_spec(usdm, 1) == {"multiplier": 1, "tick_multiple": 5, "lot_multiple": 2,
                                    "min_notional": 1_000_000, "min_qty": 2}
    assert symbol_spec(usdm, 10)["min_notional"] == 10_000_000  # a finer money unit
    # inverse: an order's quote value is qty x 100 USD whatever the price: 250 USD -> at least 3 contracts; the
    # gateway's money factor is the replay's (K = 1 x 100 / 0.1 x 1e9), so its money limits are in coin units
    assert symbol_spec(replace_inst(BTCUSD_PERP, min_notional="250"), 1) == {"inverse_factor": 10**12, "min_qty": 3}
    assert symbol_spec(BTCUSD_PERP, 1)["inverse_factor"] == -money_factor(BTCUSD_PERP, 1)
    assert symbol_spec(Instrument("X", "V", "0.01", "1"), 1) == {"multiplier": 1}


def replace_inst(inst, **kw):
    from dataclasses import replace

    return replace(inst, **kw)


def test_instrument_overrides_from_a_replay_config():
    from hft.sim.instruments import apply_overrides
    from hft.sim.replay import parse_replay_config

    cfg = parse_replay_config({"instrument": {"kind": "inverse", "contract_size": 100, "min_qty": 2}}, file="r.yaml")
    assert cfg.instrument == {"kind": "inverse", "contract_size": "100", "min_qty": "2"}
    assert "instrument" in cfg.canonical() and "instrument" not in parse_replay_config({}).canonical()
    inst = apply_overrides(Instrument("BTCUSD_PERP", "BINANCE_CM", "0.1", "1"), cfg.instrument)
    assert (inst.kind, inst.contract_size, inst.settlement) == ("inverse", "100", "BTC")
    with pytest.raises(ConfigError, match=r"^r\.yaml: key 'instrument\.kind': expected one of"):
        parse_replay_config({"instrument": {"kind": "quanto"}}, file="r.yaml")
    with pytest.raises(ConfigError, match=r"^r\.yaml: key 'instrument\.min_qty': expected a decimal string >= 0"):
        parse_replay_config({"instrument": {"min_qty": "-1"}}, file="r.yaml")
    with pytest.raises(ConfigError, match=r"^r\.yaml: key 'instrument\.nope'|unknown"):
        parse_replay_config({"instrument": {"nope": 1}}, file="r.yaml")
    with pytest.raises(ConfigError, match=r"^key 'instrument\.order_tick': expected a multiple of 0\.1"):
        apply_overrides(Instrument("X", "V", "0.1", "1"), {"order_tick": "0.15"})
    # the quote currency an import could only guess (a notice says so) is set here
    usdt = parse_replay_config({"instrument": {"currency": "USDT"}}, file="r.yaml").instrument
    inst = apply_overrides(Instrument("SOL", "XNAS.ITCH", "0.01", "1"), usdt)
    assert (inst.currency, inst.settlement) == ("USDT", "USDT")


@pytest.mark.parametrize(("size", "number"), [("100", 100), ("1", 1), ("1.000", 1), ("0.5", 0.5), ("12.5", 12.5)])
def test_contract_size_as_a_number_for_summaries(size, number):
    """summary.json's ``contract_size`` is `Instrument.contract`: a JSON number (was the decimal string "100"), an
    int when whole; the field stays the exact string."""
    inst = Instrument("BTCUSD_PERP", "BINANCE_CM", "0.1", "1", contract_size=size, kind="inverse")
    assert inst.contract == number and type(inst.contract) is type(number) and inst.contract_size == size

