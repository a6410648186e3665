"""The portfolio side of a run over several instruments (`hft.sim.portfolio`): what legs may be combined, each leg
as a single-instrument output, the portfolio's sums."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from hft.core.errors import SimError
from hft.core.ids import run_hash
from hft.core.instrument import Instrument
from hft.sim.fees import money_unit
from hft.sim.portfolio import are_instruments, check_legs, leg_configs, leg_output
from hft.sim.replay import ReplayConfig
from tests.unit.sim.agreement import TwoLegChaos, l2_stream, run_legs, shifted

USD = Instrument("AAA", "X", "0.01", "1")


def _md(inst: Instrument) -> SimpleNamespace:
    return SimpleNamespace(instrument=inst)


def test_legs_must_be_distinct_instruments_of_one_currency():
    groups = [[Path("a")], [Path("b")], [Path("c")]]
    cfg = ReplayConfig(engine="python")
    check_legs(groups[:2], [_md(USD), _md(replace(USD, symbol="BBB"))], cfg)  # same money unit: fine
    assert are_instruments([_md(USD), _md(replace(USD, symbol="BBB"))])
    assert not are_instruments([_md(USD), _md(USD)])  # days of one instrument
    with pytest.raises(SimError, match="AAA is given twice"):
        check_legs(groups, [_md(USD), _md(replace(USD, symbol="BBB")), _md(USD)], cfg)
    with pytest.raises(SimError, match=r"expected one settlement currency, the legs settle AAA in USD, BBB in EUR"):
        check_legs(groups[:2], [_md(USD), _md(replace(USD, symbol="BBB", currency="EUR"))], cfg)
    inverse = replace(USD, symbol="BBB", kind="inverse", contract_size="100", settle_currency="USD")
    with pytest.raises(SimError, match=r"expected linear or inverse legs, not both \(AAA linear, BBB inverse\)"):
        check_legs(groups[:2], [_md(USD), _md(inverse)], cfg)
    for engine in ("numba", "python"):  # both engines run several legs
        check_legs(groups[:2], [_md(USD), _md(replace(USD, symbol="BBB"))], ReplayConfig(engine=engine))


@pytest.mark.parametrize("multiplier", [1, 3])
def test_legs_of_one_currency_count_money_in_the_finest_common_unit(multiplier):
    """Binance spot BTCUSDT (tick 0.01 x lot 1e-8: 1e-10 USDT) with USD-M ETHUSDT (0.01 x 0.001: 1e-5 USDT): both
    count in 1e-10 USDT / multiplier, ETHUSDT's multiplier 100,000 times the config's; legs of one unit keep the
    config as it is."""
    btc = Instrument("BTCUSDT", "BINANCE_SPOT", "0.01", "0.00000001", currency="USDT")
    eth = Instrument("ETHUSDT", "BINANCE_USDM", "0.01", "0.001", currency="USDT")
    odd = Instrument("ODD", "X", "0.03", "0.7", currency="USDT")  # 0.021: with 1e-10 the common unit stays 1e-10
    cfg = ReplayConfig(engine="python", multiplier=multiplier)
    a, b, c = leg_configs([_md(btc), _md(eth), _md(odd)], cfg)
    assert a is cfg and (b.multiplier, c.multiplier) == (100_000 * multiplier, 210_000_000 * multiplier)
    for inst, leg_cfg in ((btc, a), (eth, b), (odd, c)):  # one money unit for every leg, exactly
        assert money_unit(inst, leg_cfg.multiplier) == money_unit(btc, multiplier)
    pair = leg_configs([_md(replace(eth, tick_size="0.04")), _md(replace(eth, symbol="X", tick_size="0.06"))], cfg)
    assert [x.multiplier for x in pair] == [2 * multiplier, 3 * multiplier]  # 0.02 x 0.001: neither leg's own
    same = [_md(btc), _md(replace(btc, symbol="ETHUSDT"))]
    assert leg_configs(same, cfg) == [cfg, cfg]


def test_each_leg_reads_as_a_single_instrument_run():
    x = l2_stream(7)
    y = shifted(l2_stream(9), 250_000, 5000)
    _, out = run_legs([x, y], TwoLegChaos(seed=4, timer_ns=20_000_000))
    legs = [leg_output(out, k, n) for k, n in enumerate((len(x), len(y)))]
    assert sum(len(o.orders) for o in legs) == len(out.orders)
    assert sum(len(o.fills) for o in legs) == len(out.fills)
    assert sum(len(o.decisions) for o in legs) == len(out.decisions)
    assert sum(len(o.acks) for o in legs) == len(out.acks)
    for k, o in enumerate(legs):
        assert o.run_hash == run_hash(o.decisions, o.orders, o.fills) != out.run_hash
        assert np.isin(o.orders["order_id"], out.legs[k].order_ids).all()
        assert o.final == out.legs[k].final and o.equity is out.legs[k].equity and o.events == (len(x), len(y))[k]
        assert [d.symbol for d in o.decision_records] == [f"S{k}"] * len(o.decisions)
        rejected = int((o.decisions["accepted"] == 0).sum())
        assert sum(o.rejects.values()) == rejected
    assert {k: sum(o.rejects.get(k, 0) for o in legs) for k in out.rejects} == out.rejects


def test_position_value_carries_the_last_mid():
    from hft.sim.engine import EQUITY_DTYPE
    from hft.sim.portfolio import position_value

    eq = np.zeros(4, EQUITY_DTYPE)
    eq["position"] = [2, 2, 3, -1]
    eq["mid2"] = [0, 200, 0, 300]  # no mid at samples 0 and 2
    assert position_value(eq, 1).tolist() == [0.0, 200.0, 300.0, -150.0]  # sample 2: 3 lots at mid 100
    inverse = position_value(eq, -1_000_000)  # an inverse leg: -position x K / mid, never divided by 0
    assert inverse.tolist() == [0.0, -20_000.0, -30_000.0, 2_000_000 / 300]
