from pathlib import Path

import pytest

from hft.core.errors import ConfigError
from hft.gateway.config import (
    UNLIMITED,
    GatewayConfig,
    apply_env,
    effective_limits,
    load_config,
    parse_config,
)

ROOT = Path(__file__).resolve().parents[3]


def test_repo_gateway_yaml_is_valid():
    cfg = load_config(ROOT / "config" / "gateway.yaml", env={})
    assert cfg.enabled is True
    assert cfg.dedup_ttl_ns == 300 * 10**9
    assert cfg.exposure_max_symbols == 10000
    assert "mm1" in cfg.strategies and "AAPL" in cfg.symbols
    eff = effective_limits(cfg, "ACC1", "mm1", "BTCUSDT")
    assert eff["max_order_qty"] == 5000 and eff["max_position"] == 5000
    assert eff["daily_loss_account"] == 50_000_000
    assert eff["submit_rate"] == {"count": 1000, "window_ns": 10**9}
    assert cfg.server.cancel_on_shutdown is True and GatewayConfig().server.cancel_on_shutdown is True
    assert set(cfg.sessions) == {"default"}


def test_defaults_without_file():
    cfg = load_config(None, env={})
    assert isinstance(cfg, GatewayConfig) and cfg.dedup_ttl_ns == 300 * 10**9


@pytest.mark.parametrize(("doc", "key"), [
    ({"enabeld": True}, "enabeld"),
    ({"dedup": {"ttl": "5 parsecs"}}, "dedup.ttl"),
    ({"capacity": {"max_accounts": "many"}}, "capacity.max_accounts"),
    ({"limits": {"defaults": {"max_position": -1}}}, "limits.defaults.max_position"),
    ({"limits": {"defaults": {"submit_rate": {"count": 5}}}}, "limits.defaults.submit_rate.per"),
    ({"symbols": {"X": {"tick_multiple": 0}}}, "symbols.X.tick_multiple"),
    ({"symbols": {"X": {"daily_loss": 5}}}, "symbols.X.daily_loss"),
    ({"accounts": {"A": {"cancel_rate": {"count": 1, "per": "1s"}}}}, "accounts.A.cancel_rate"),  # per strategy only
    ({"risk": {"tifs": ["gtc", "forever"]}}, "risk.tifs"),
    ({"storm": {"loss_level": "PANIC"}}, "storm.loss_level"),
    ({"metrics": {"timing": "always"}}, "metrics.timing"),
    ({"ingress": {"recover_pct": 90}}, "ingress.recover_pct"),  # must stay below soft_reject_pct
    ({"ingress": {"recover_after": "soon"}}, "ingress.recover_after"),
    ({"ingress": {"max_body": 10}}, "ingress.max_body"),
    ({"server": {"port": 70000}}, "server.port"),
    ({"server": {"jwt_secret": "short"}}, "server.jwt_secret"),
    ({"server": {"fsync": "sometimes"}}, "server.fsync"),
    ({"server": {"snapshot_every": -1}}, "server.snapshot_every"),
    ({"server": {"snapshot_rest": "long"}}, "server.snapshot_rest"),
    ({"server": {"wal_segment_bytes": "1KiB"}}, "server.wal_segment_bytes"),  # below 4096 bytes
    ({"server": {"wal_segment_bytes": "lots"}}, "server.wal_segment_bytes"),
    ({"server": {"max_connections": 0}}, "server.max_connections"),
    ({"server": {"auth_timeout": "0s"}}, "server.auth_timeout"),
    ({"server": {"header_timeout": "soon"}}, "server.header_timeout"),
    ({"server": {"body_timeout": 30}}, "server.body_timeout"),
    ({"server": {"keep_alive_timeout": "0ms"}}, "server.keep_alive_timeout"),
    ({"storm": {"cancel_on_trip": "yes"}}, "storm.cancel_on_trip"),
    ({"storm": {"flatten_on_halt": 1}}, "storm.flatten_on_halt"),
    ({"server": {"cancel_on_shutdown": "yes"}}, "server.cancel_on_shutdown"),
    ({"sessions": {"default": {"open": 570, "close": "16:00", "time_zone": "UTC"}}}, "sessions.default.open"),
    ({"sessions": {"default": {"open": "9:30", "close": "16:00", "time_zone": "UTC"}}}, "sessions.default.open"),
    ({"sessions": {"default": {"open": "09:30", "close": "24:00", "time_zone": "UTC"}}}, "sessions.default.close"),
    ({"sessions": {"default": {"open": "09:30", "close": "16:00", "time_zone": "Mars/Olympus"}}},
     "sessions.default.time_zone"),
    ({"sessions": {"default": {"open": "09:30", "close": "16:00"}}}, "sessions.default.time_zone"),
    ({"sessions": {"default": {"open": "09:30", "close": "16:00", "time_zone": "UTC", "days": 5}}},
     "sessions.default.days"),
    ({"sessions": {"default": "09:30-16:00"}}, "sessions.default"),
    ({"sessions": {"NOPE": {"open": "09:30", "close": "16:00", "time_zone": "UTC"}}}, "sessions.NOPE"),
    ({"symbols": {"X": {}}, "sessions": {"X": {"open": "09:30", "close": "16:00", "time_zone": "UTC"}}},
     "sessions.default"),
])
def test_bad_config_names_the_key(doc, key):
    with pytest.raises(ConfigError) as ei:
        parse_config(doc, "gw.yaml")
    assert ei.value.fields["key"] == key
    assert "gw.yaml" in ei.value.message


@pytest.mark.parametrize(("doc", "key", "was"), [
    ({"dedup": {"ttl": 300}}, "dedup.ttl", "300"),
    ({"dedup": {"ttl": 2.5}}, "dedup.ttl", "2.5"),
    ({"storm": {"cooldown": 30}}, "storm.cooldown", "30"),
    ({"ingress": {"recover_after": 5}}, "ingress.recover_after", "5"),
    ({"server": {"fsync_interval": 200}}, "server.fsync_interval", "200"),
    ({"limits": {"defaults": {"submit_rate": {"count": 5, "per": 1}}}}, "limits.defaults.submit_rate.per", "1"),
    ({"signals": {"ha": {"lease_ttl": 3}}}, "signals.ha.lease_ttl", "3"),
])
def test_a_duration_without_its_unit_is_refused(doc, key, was):
    """A bare number would be nanoseconds (``ttl: 300``: a 300 ns idempotency window): refused, naming the key."""
    with pytest.raises(ConfigError) as ei:
        parse_config(doc, "gw.yaml")
    assert ei.value.fields["key"] == key
    assert ei.value.message == f"gw.yaml: {key}: expected a duration with a unit (e.g. 300s, 250ms), was {was}"


def test_bad_yaml_file(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text("limits:\n  defaults:\n    max_posiiton: 3\n")
    with pytest.raises(ConfigError) as ei:
        load_config(p, env={})
    assert ei.value.fields["key"] == "limits.defaults.max_posiiton"
    assert "max_position" in ei.value.message  # lists the expected keys


def test_null_is_unlimited_and_empty_sections():
    cfg = parse_config({"limits": {"defaults": {"max_position": None}}, "accounts": None, "symbols": {"X": None}})
    assert cfg.defaults.max_position == UNLIMITED
    assert cfg.accounts == {} and cfg.symbols["X"].tick_multiple == 1


def test_env_overrides():
    cfg = apply_env(GatewayConfig(), {"HFT_GATEWAY_ENABLED": "0", "HFT_EXPOSURE_MAX_SYMBOLS": "123",
                                      "HFT_DEDUP_TTL_S": "1.5"})
    assert cfg.enabled is False and cfg.exposure_max_symbols == 123 and cfg.dedup_ttl_ns == 1_500_000_000


@pytest.mark.parametrize(("var", "val"), [("HFT_GATEWAY_ENABLED", "maybe"), ("HFT_EXPOSURE_MAX_SYMBOLS", "0"),
                                          ("HFT_EXPOSURE_MAX_SYMBOLS", "x"), ("HFT_DEDUP_TTL_S", "-1"),
                                          ("HFT_DEDUP_TTL_S", "nan")])
def test_bad_env_names_the_variable(var, val):
    with pytest.raises(ConfigError) as ei:
        apply_env(GatewayConfig(), {var: val})
    assert ei.value.fields["key"] == var


def test_tightest_limit_wins():
    cfg = parse_config({"limits": {"defaults": {"max_position": 100}},
                        "accounts": {"A": {"max_position": 80}}, "strategies": {"s": {"max_position": 90}},
                        "symbols": {"X": {"max_position": 70}, "Y": {}}})
    assert effective_limits(cfg, "A", "s", "X")["max_position"] == 70
    assert effective_limits(cfg, "A", "s", "Y")["max_position"] == 80


def test_server_env_overrides():
    from hft.gateway.config import apply_env

    cfg = apply_env(parse_config({}, "gw.yaml"), {"HFT_GATEWAY_PORT": "9123", "HFT_GATEWAY_HOST": "0.0.0.0",
                                                  "HFT_JWT_SECRET": "x" * 32, "HFT_GATEWAY_FSYNC": "batch"})
    assert (cfg.server.port, cfg.server.host, cfg.server.jwt_secret, cfg.server.fsync) == (9123, "0.0.0.0", "x" * 32,
                                                                                          "batch")
    for key, bad in (("HFT_GATEWAY_PORT", "80a"), ("HFT_JWT_SECRET", "short"), ("HFT_GATEWAY_FSYNC", "often")):
        with pytest.raises(ConfigError) as ei:
            apply_env(parse_config({}, "gw.yaml"), {key: bad})
        assert ei.value.fields["key"] == key


@pytest.mark.parametrize("doc, says", [
    ({"limits": {"defaults": {"max_order_qty": 10000}}, "symbols": {"AAPL": {"min_qty": 20000}}},
     "for symbol AAPL, was 20000 > 10000"),
    ({"strategies": {"mm1": {"min_qty": 5}, "mm2": None}, "symbols": {"A": None, "B": {"max_order_qty": 3}}},
     "for strategy mm1, symbol B, was 5 > 3"),
])
def test_a_minimum_above_the_maximum_is_refused(doc, says):
    """check-config accepted limits under which no order of some (account, strategy, symbol) could pass."""
    with pytest.raises(ConfigError, match="expected min_qty <= max_order_qty") as exc:
        parse_config(doc, "gw.yaml")
    assert says in exc.value.message and exc.value.fields["key"] == "min_qty"


def test_a_minimum_below_every_maximum_is_fine():
    cfg = parse_config({"strategies": {"mm1": {"min_qty": 5}}, "symbols": {"A": {"max_order_qty": 5},
                                                                           "B": {"max_order_qty": None}}})
    assert cfg.strategies["mm1"].min_qty == 5


@pytest.mark.parametrize("doc, key, was", [
    ({"limits": {"defaults": {"max_order_qty": 0}}}, "limits.defaults.max_order_qty", "0"),
    ({"limits": {"defaults": {"max_order_qty": -5}}}, "limits.defaults.max_order_qty", "-5"),
    ({"accounts": {"ACC1": {"max_order_qty": 0}}}, "accounts.ACC1.max_order_qty", "0"),
    ({"strategies": {"mm1": {"max_order_qty": 0}}}, "strategies.mm1.max_order_qty", "0"),
    ({"symbols": {"AAPL": {"max_order_qty": 0}}}, "symbols.AAPL.max_order_qty", "0"),
    ({"limits": {"defaults": {"max_order_notional": 0}}}, "limits.defaults.max_order_notional", "0"),
    ({"symbols": {"AAPL": {"max_order_notional": -1}}}, "symbols.AAPL.max_order_notional", "-1"),
])
def test_max_order_qty_zero_or_negative_is_refused(doc, key, was):
    """``max_order_qty: 0`` was accepted and denied every order (MAX_ORDER_QTY: a quantity is at least one lot):
    refused at load, one line naming the file, the key path and what is expected, at every level."""
    with pytest.raises(ConfigError) as ei:
        parse_config(doc, "gw.yaml")
    assert ei.value.fields["key"] == key
    forms = ("(lots), a quantity like '3 lots', '0.5' or '0.5 BTC' (instrument units)" if key.endswith("qty") else
             "(money units), a currency amount like '500 USD'")
    assert ei.value.message == f"gw.yaml: key '{key}': expected a positive integer {forms} or null (unlimited), was {was}"


def test_max_order_qty_one_and_null_are_fine_and_other_limits_still_take_zero():
    cfg = parse_config({"limits": {"defaults": {"max_order_qty": 1, "max_position": 0, "min_qty": 0}},
                        "symbols": {"A": {"max_order_qty": None}}})
    assert cfg.defaults.max_order_qty == 1 and cfg.defaults.max_position == 0
    assert cfg.symbols["A"].limits.max_order_qty == UNLIMITED


def test_sessions_times_to_the_second_and_a_24_hour_session():
    cfg = parse_config({"symbols": {"X": {}}, "sessions": {
        "default": {"open": "00:00", "close": "00:00", "time_zone": "UTC"},
        "X": {"open": "09:30:15", "close": "16:00:59", "time_zone": "America/New_York"}}}, "gw.yaml")
    assert cfg.sessions["default"].open_s == cfg.sessions["default"].close_s == 0
    assert (cfg.sessions["X"].open_s, cfg.sessions["X"].close_s) == (9 * 3600 + 30 * 60 + 15, 16 * 3600 + 59)
    assert parse_config({}, "gw.yaml").sessions == {}


BTC = {"lot_size": "0.00001", "money_unit": "0.0000001 USDT"}  # lot 1e-5 BTC; money unit tick 0.01 x lot


def test_limits_in_instrument_units_and_currency_convert_by_the_symbols_units():
    """A symbol declaring ``lot_size`` and ``money_unit`` takes its limits in instrument units and currency; the
    levels above it too when every symbol shares those units (here one symbol)."""
    cfg = parse_config({"symbols": {"BTCUSDT": {**BTC, "max_order_qty": "0.5", "min_notional": "5 USDT"}},
                        "limits": {"defaults": {"max_position": "2", "max_notional": "1000 USDT", "min_qty": "3 lots"}},
                        "accounts": {"A": {"daily_loss": "500.5 USDT"}}, "strategies": {"s": {"max_order_qty": 7}}})
    sym = cfg.symbols["BTCUSDT"]
    assert (sym.limits.max_order_qty, sym.min_notional) == (50_000, 50_000_000)
    assert (cfg.defaults.max_position, cfg.defaults.max_notional, cfg.defaults.min_qty) == (200_000, 10**10, 3)
    assert cfg.accounts["A"].daily_loss == 5_005_000_000 and cfg.strategies["s"].max_order_qty == 7
    assert sym.units.describe(50_000, "lots") == "50000 lots (0.5 BTC)"


@pytest.mark.parametrize(("symbols", "limits", "lots"), [
    ({"BTCUSDT": BTC}, {"max_position": "0.5 BTC", "max_order_qty": "0.01 btc"}, (50_000, 1_000)),
    ({"BTC-USDT": BTC}, {"max_position": "0.5 BTC", "max_order_qty": "1000 lots"}, (50_000, 1_000)),
    ({"GOOG": {"lot_size": "1", "money_unit": "0.01 USD"}}, {"max_position": "100 shares", "max_order_qty": "1 share"},
     (100, 1)),
    ({"BTCUSD_PERP": {"lot_size": "1", "money_unit": "0.000000001 BTC", "inverse_factor": 10**11}},
     {"max_position": "3 contracts", "max_order_qty": "1 contract"}, (3, 1)),
])
def test_a_limit_in_the_symbols_unit_word_is_the_same_lots(symbols, limits, lots):
    cfg = parse_config({"symbols": symbols, "limits": {"defaults": limits}})
    assert (cfg.defaults.max_position, cfg.defaults.max_order_qty) == lots


@pytest.mark.parametrize("doc, key, expected", [
    ({"symbols": {"BTCUSDT": {**BTC, "max_position": "0.000001"}}}, "symbols.BTCUSDT.max_position",
     "expected a whole number of lots of 0.00001 BTC (BTCUSDT), was '0.000001'"),
    ({"symbols": {"BTCUSDT": {**BTC, "max_position": "0.5 ETH"}}}, "symbols.BTCUSDT.max_position",
     "expected a quantity in BTC, lots or a plain decimal (one lot is 0.00001 BTC (BTCUSDT)), was '0.5 ETH'"),
    ({"symbols": {"BTCUSDT": BTC, "ETHUSDT": BTC}, "limits": {"defaults": {"max_position": "0.5 BTC"}}},
     "limits.defaults.max_position", "expected lots or a plain decimal, no unit word (none applies here; one lot "
                                     "is 0.00001 (BTCUSDT)), was '0.5 BTC'"),
    ({"symbols": {"BTCUSDT": BTC}, "accounts": {"A": {"daily_loss": "5 USD"}}}, "accounts.A.daily_loss",
     "expected an amount in USDT (the money unit is 0.0000001 USDT), was '5 USD'"),
    ({"symbols": {"BTCUSDT": BTC, "AAPL": {"lot_size": "1", "money_unit": "0.01 USD"}},
      "limits": {"defaults": {"max_position": "0.5"}}}, "limits.defaults.max_position",
     "a value in instrument units needs the symbols' lot_size, one for every symbol this level covers"),
    ({"symbols": {"BTCUSDT": BTC}, "allow_unlisted_symbols": True, "strategies": {"s": {"max_notional": "5 USDT"}}},
     "strategies.s.max_notional", "a value in currency needs the symbols' money_unit"),
    ({"symbols": {"BTCUSDT": {"lot_size": "0.00001"}}}, "symbols.BTCUSDT.money_unit",
     "expected lot_size and money_unit together"),
    ({"symbols": {"BTCUSDT": {**BTC, "money_unit": "0.0000001"}}}, "symbols.BTCUSDT.money_unit",
     "expected one money unit as a currency amount like '0.0001 USD'"),
])
def test_a_limit_the_symbols_units_cannot_hold_is_one_line_naming_the_key(doc, key, expected):
    with pytest.raises(ConfigError) as ei:
        parse_config(doc, "gw.yaml")
    assert ei.value.fields["key"] == key and expected in ei.value.message and "\n" not in ei.value.message
    assert ei.value.message.startswith(f"gw.yaml: key '{key}': ")


def test_a_runtime_limit_update_is_read_by_the_files_parser_and_diffed():
    """`parse_limit_update` takes a level's limits in the file's keys and units (a symbol's lots and currency),
    `diff_limits` names each change by its key path, `apply_limit_changes` replays them to the same limits."""
    from hft.gateway.config import apply_limit_changes, diff_limits, limit_tables, parse_limit_update

    cfg = parse_config({"symbols": {"BTCUSDT": BTC}, "accounts": {"ACC1": {"max_position": 10}},
                        "strategies": {"mm": None}}, "gw.yaml")
    new = parse_limit_update(cfg, "symbols", "BTCUSDT", {"max_order_qty": "0.5", "max_order_notional": "500 USDT"})
    new = parse_limit_update(new, "accounts", "ACC1", {"max_position": None})
    new = parse_limit_update(new, "strategies", "mm", {"submit_rate": {"count": 5, "per": "1s"}})
    changes = diff_limits(limit_tables(cfg), limit_tables(new))
    assert [(c["path"], c["before"], c["after"]) for c in changes] == [
        ("accounts.ACC1.max_position", 10, None),
        ("strategies.mm.submit_rate", "inherit", {"count": 5, "window_ns": 1_000_000_000}),
        ("symbols.BTCUSDT.max_order_qty", "inherit", 50_000),
        ("symbols.BTCUSDT.max_order_notional", "inherit", 5_000_000_000)]
    assert limit_tables(apply_limit_changes(cfg, changes)) == limit_tables(new)
    assert new.source == cfg.source and new.symbols["BTCUSDT"].units == cfg.symbols["BTCUSDT"].units


@pytest.mark.parametrize(("level", "name", "data", "key"), [
    ("accounts", "ACC1", {"max_order_qty": 0}, "accounts.ACC1.max_order_qty"),
    ("accounts", "ACC1", {"cancel_rate": None}, "accounts.ACC1.cancel_rate"),  # a strategy-scope limit
    ("symbols", "BTCUSDT", {"max_order_qty": "0.000001"}, "symbols.BTCUSDT.max_order_qty"),  # not a whole lot
    ("accounts", "ACC9", {"max_order_qty": 1}, "scope"),
    ("defaults", "", {"min_qty": 5, "max_order_qty": 4}, "limits.defaults.min_qty"),
])
def test_a_bad_runtime_limit_update_names_the_key(level, name, data, key):
    from hft.gateway.config import parse_limit_update

    cfg = parse_config({"symbols": {"BTCUSDT": BTC}, "accounts": {"ACC1": None}}, "gw.yaml")
    with pytest.raises(ConfigError) as e:
        parse_limit_update(cfg, level, name, data)
    assert e.value.fields["key"] == key, e.value.message
