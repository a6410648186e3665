"""A strategy's quantity parameters (``QUANTITIES``) in lots or instrument units: converted exactly through the
lot of the instruments replayed, refused in one line naming the parameter, the value and the lot."""

from __future__ import annotations

import pytest

from hft.core.errors import ConfigError
from hft.core.instrument import Instrument
from hft.sim.strategy_loader import instantiate, resolve, with_instruments

ETH = Instrument("ETHUSDT", "BINANCE_SPOT", "0.01", "0.00000001", currency="USDT")
BTC = Instrument("BTCUSDT", "BINANCE_SPOT", "0.01", "0.00000001", currency="USDT")  # ETH's lot, another unit
BTC_PERP = Instrument("BTCUSDT", "BINANCE_USDM", "0.10", "0.001", currency="USDT")


def test_lots_need_no_instrument_and_keep_the_strategy():
    rs = resolve("mm")
    params = {"size": 2, "max_position": "30 lots"}
    s = instantiate(rs, params)
    assert s.params()["size"] == 2 and s.params()["max_position"] == 30
    assert with_instruments(s, rs, params, [ETH]) is s  # nothing in instrument units: the same strategy


def test_instrument_units_become_lots_of_the_data():
    rs = resolve("mm")
    params = {"size": "0.001", "max_position": "0.01"}
    early = instantiate(rs, params)  # the config checked before any data is open: the defaults stand in
    assert early.params()["size"] == 1
    assert with_instruments(early, rs, params, [ETH]).params()["size"] == 100_000
    assert with_instruments(early, rs, params, [BTC_PERP]).params()["max_position"] == 10
    assert with_instruments(early, rs, params, [ETH, ETH]).params()["size"] == 100_000  # one lot for all legs
    assert with_instruments(early, rs, {"size": "0.001 ETH"}, [ETH]).params()["size"] == 100_000
    assert with_instruments(early, rs, {"size": "0.002 btc"}, [BTC_PERP]).params()["size"] == 2


@pytest.mark.parametrize(("params", "instruments", "text"), [
    ({"size": "0.0005"}, [BTC_PERP],
     "strategy mm: parameter 'size': expected a whole number of lots of 0.001 BTC (BTCUSDT), was '0.0005'"),
    ({"size": "0.001"}, [ETH, BTC_PERP],
     "strategy mm: parameter 'size': expected an integer (lots) when the instruments' lots differ (ETHUSDT "
     "0.00000001, BTCUSDT 0.001), was '0.001' in instrument units"),
    ({"size": "0.001 ETH"}, [ETH, BTC],
     "strategy mm: parameter 'size': expected a quantity in BTC, lots or a plain decimal (one lot is 0.00000001 BTC "
     "(BTCUSDT)), was '0.001 ETH'"),
    ({"size": "0"}, [ETH], "strategy mm: parameter 'size': expected a value >= 1, was 0 (lots; one lot is "
                           "0.00000001 ETH (ETHUSDT))"),
])
def test_a_quantity_the_lot_cannot_hold_is_one_line(params, instruments, text):
    rs = resolve("mm")
    with pytest.raises(ConfigError) as e:
        with_instruments(instantiate(rs, params), rs, params, instruments)
    assert str(e.value) == text and e.value.fields["key"] == "strategies.mm.size"


def test_a_parameter_that_is_no_quantity_takes_no_string():
    with pytest.raises(ConfigError, match=r"parameter 'edge_ticks': expected an integer, was '1'"):
        instantiate(resolve("mm"), {"edge_ticks": "1"})
