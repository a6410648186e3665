"""Gateway limits written in the units a person thinks in: a quantity limit in lots (an integer, ``"3 lots"``) or in
instrument units (``"0.005"``, ``"0.005 ETH"``), a money limit in money units (an integer) or as a currency amount (``"5 USD"``),
each converted exactly by the replayed instrument (`hft.gateway.config.limits_in_units`). On the real samples
(LOBSTER GOOG: lot 1 share, money unit 0.01 USD; Binance spot ETHUSDT: lot 1e-8 ETH, money unit 1e-10 USDT;
Binance coin-margined BTCUSD_PERP, inverse: lot 1 contract, money unit 1e-9 BTC) every
form of a limit makes the same gateway decisions, and a limit that fits no whole number of lots, or names another
currency, is a one-line error naming the key."""

from __future__ import annotations

import functools

import pytest

from hft.core.errors import ConfigError
from hft.data.sources import FILES
from hft.sim.replay import parse_replay_config, run_replay

GOOG = "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"  # GOOG ~580 USD: 1 share = 58,000 money units
ETH = "binance/spot/ethusdt_20240808.gz"  # ETH ~2,600 USDT: 0.01 ETH = 1e6 lots ~ 26 USDT
CM = "binance/cm/btcusd_perp_20240808.gz"  # inverse: lot 1 contract (100 USD), money unit 1e-9 BTC

# per data set: the mm strategy's order size (lots), and per limit kind the same limit in each form it takes;
# every limit binds (the run differs from the unlimited one)
CASES = {
    GOOG: (2, {
        "max_order_qty": (1, "1 lots", "1", "1 share"),
        "max_position": (4, "4 lots", "4", "4 Shares"),
        "min_qty": (3, "3 lots", "3"),
        "max_order_notional": (100_000, "1000 USD", "1000.00 USD"),
        "max_notional": (300_000, "3000 USD"),
        "daily_loss": (500, "5 USD"),
    }),
    ETH: (1_000_000, {
        "max_order_qty": (500_000, "500000 lots", "0.005", "0.005 ETH"),
        "max_position": (3_000_000, "3000000 lots", "0.03", "0.03 eth"),
        "min_qty": (2_000_000, "0.02"),
        "max_order_notional": (200_000_000_000, "20 USDT"),
        "max_notional": (600_000_000_000, "60 usdt"),
        "daily_loss": (5_000_000_000, "0.5 USDT"),
    }),
    CM: (1, {
        "max_position": (3, "3 lots", "3", "3 contracts"),
        "max_notional": (10_000_000, "0.01 BTC"),
        "max_order_notional": (1_000, "0.000001 BTC"),
    }),
}


@functools.cache
def _run(data: str, limits: tuple[tuple[str, object], ...]) -> tuple[str, dict, int]:
    from tests.conftest import SHARED_DATA

    size = CASES[data][0]
    cfg = parse_replay_config({"limits": dict(limits),
                               "strategies": {"mm": {"size": size, "max_position": 10 * size}}}, file="r.yaml")
    s = run_replay([SHARED_DATA / data], "mm", cfg, source=FILES)
    return s["run_hash"], s["rejects"], s["fills"]


@pytest.mark.parametrize(("data", "kind"), [(d, k) for d in CASES for k in CASES[d][1]],
                         ids=[f"{d.split('/')[1]}-{k}" for d in CASES for k in CASES[d][1]])
def test_every_form_of_a_limit_makes_the_same_decisions(shared_data, data, kind):
    forms = CASES[data][1][kind]
    runs = [_run(data, ((kind, v),)) for v in forms]
    assert runs[1:] == runs[:1] * (len(forms) - 1), dict(zip(forms, runs, strict=True))
    assert runs[0][0] != _run(data, ())[0]  # the limit binds


@pytest.mark.parametrize(("data", "limits", "message"), [
    (GOOG, {"max_position": "0.5"}, "key 'limits.max_position': expected a whole number of lots of 1 share (GOOG), "
                                    "was '0.5'"),
    (GOOG, {"max_position": "0.5 shares"}, "key 'limits.max_position': expected a whole number of lots of 1 share "
                                           "(GOOG), was '0.5 shares'"),
    (ETH, {"max_order_qty": "0.000000001"}, "key 'limits.max_order_qty': expected a whole number of lots of "
                                            "0.00000001 ETH (ETHUSDT), was '0.000000001'"),
    (ETH, {"max_position": "0.5 BTC"}, "key 'limits.max_position': expected a quantity in ETH, lots or a plain "
                                       "decimal (one lot is 0.00000001 ETH (ETHUSDT)), was '0.5 BTC'"),
    (CM, {"max_position": "0.5 BTC"}, "key 'limits.max_position': expected a quantity in contracts, lots or a plain "
                                      "decimal (one lot is 1 contract (BTCUSD_PERP)), was '0.5 BTC'"),
    (GOOG, {"daily_loss": "5 USDT"}, "key 'limits.daily_loss': expected an amount in USD (the money unit is 0.01 "
                                     "USD), was '5 USDT'"),
    (ETH, {"min_qty": "0.02", "max_order_qty": "0.01"}, "key 'limits.min_qty': expected min_qty <= max_order_qty "
                                                        "(1000000 lots), was '0.02'"),
    (GOOG, {"max_notional": "0.001 USD"}, "key 'limits.max_notional': expected a whole number of money units of "
                                          "0.01 USD, was '0.001 USD'"),
])
def test_a_limit_the_instrument_cannot_hold_is_an_error_naming_the_key(shared_data, data, limits, message):
    cfg = parse_replay_config({"limits": limits}, file="r.yaml")
    with pytest.raises(ConfigError) as e:
        run_replay([shared_data / data], "mm", cfg, source=FILES)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(("limits", "key"), [
    ({"max_position": "half"}, "limits.max_position"), ({"max_order_qty": 2.5}, "limits.max_order_qty"),
    ({"daily_loss": "5USD"}, "limits.daily_loss"), ({"max_order_qty": "0 lots"}, "limits.max_order_qty"),
    ({"price_band_bps": "5 USD"}, "limits.price_band_bps"), ({"min_qty": "3 lots", "max_order_qty": 2}, "limits.min_qty"),
])
def test_a_malformed_limit_is_refused_when_the_config_is_read(limits, key):
    with pytest.raises(ConfigError) as e:
        parse_replay_config({"limits": limits}, file="r.yaml")
    assert e.value.fields["key"] == key and "\n" not in str(e.value)


def test_the_cli_says_the_error_in_one_line(shared_data, tmp_path):
    from tests.cli.conftest import run_hft

    cfg = tmp_path / "r.yaml"
    cfg.write_text("limits: {max_position: '0.5'}\n")
    r = run_hft("replay", "-d", str(shared_data / GOOG), "-s", "mm", "-c", str(cfg))
    assert r.code != 0 and "Traceback" not in r.err
    assert f"{cfg}: key 'limits.max_position': expected a whole number of lots of 1 share (GOOG), was '0.5'" in r.err


@pytest.mark.parametrize(("data", "lots", "words"), [
    (GOOG, {"size": 2, "max_position": 20}, {"size": "2 shares", "max_position": "20 shares"}),
    (ETH, {"size": 1_000_000, "max_position": 10_000_000}, {"size": "0.01 ETH", "max_position": "0.1 eth"}),
    (CM, {"size": 1, "max_position": 10}, {"size": "1 contract", "max_position": "10 contracts"}),
], ids=["GOOG", "ETHUSDT", "BTCUSD_PERP"])
def test_a_size_in_the_instruments_unit_is_the_same_run_as_in_lots(shared_data, data, lots, words):
    runs = [run_replay([shared_data / data], "mm", parse_replay_config({"strategies": {"mm": p}}, file="r.yaml"),
                       source=FILES) for p in (lots, words)]
    assert runs[0]["fills"] > 0 and runs[1]["params"]["size"] == lots["size"]
    assert runs[0]["run_hash"] == runs[1]["run_hash"]


@pytest.mark.parametrize(("data", "size", "message"), [
    (ETH, "0.5 BTC", "strategy mm: parameter 'size': expected a quantity in ETH, lots or a plain decimal (one lot "
                     "is 0.00000001 ETH (ETHUSDT)), was '0.5 BTC'"),
    (GOOG, "1.5 shares", "strategy mm: parameter 'size': expected a whole number of lots of 1 share (GOOG), was "
                         "'1.5 shares'"),
])
def test_a_size_in_another_unit_or_no_whole_lot_is_refused_saying_the_lot(shared_data, data, size, message):
    cfg = parse_replay_config({"strategies": {"mm": {"size": size}}}, file="r.yaml")  # the form is fine
    with pytest.raises(ConfigError) as e:
        run_replay([shared_data / data], "mm", cfg, source=FILES)
    assert message in str(e.value) and "\n" not in str(e.value)
