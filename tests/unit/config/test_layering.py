"""Configuration layering: shipped defaults ← user file ← --set (issue 13)."""

from __future__ import annotations

import pytest
import yaml

from hft.config.layering import deep_merge, parse_sets
from hft.core.errors import ConfigError
from hft.sim.replay import DEFAULT_CONFIG, load_replay_config, write_config


def test_deep_merge_mappings_merge_lists_and_scalars_replace():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 2, "c": {"k": 1}}
    over = {"a": {"y": [3]}, "c": 5, "d": {"n": 1}}
    assert deep_merge(base, over) == {"a": {"x": 1, "y": [3]}, "b": 2, "c": 5, "d": {"n": 1}}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 2, "c": {"k": 1}}  # inputs untouched


def test_parse_sets_reads_yaml_scalars_into_a_nested_mapping():
    got = parse_sets(["strategies.mm.size=2", "fees.maker_bps=-0.5", "l3_resync=false", "latency.entry=250us",
                      "x.list=[1, 2]"])
    assert got == {"strategies": {"mm": {"size": 2}}, "fees": {"maker_bps": -0.5}, "l3_resync": False,
                   "latency": {"entry": "250us"}, "x": {"list": [1, 2]}}
    with pytest.raises(ConfigError, match=r"expected path\.to\.key=value"):
        parse_sets(["fees.maker_bps"])
    with pytest.raises(ConfigError, match="used as a section"):
        parse_sets(["a=1", "a.b=2"])


def test_partial_config_keeps_shipped_fees_and_limits(tmp_path):
    shipped = load_replay_config(DEFAULT_CONFIG)
    f = tmp_path / "mine.yaml"
    f.write_text("strategies: {mm: {size: 2}}\n")
    cfg = load_replay_config(f)
    assert cfg.strategies["mm"]["size"] == 2
    assert cfg.strategies["mm"]["max_position"] == shipped.strategies["mm"]["max_position"]
    assert (cfg.maker_bps, cfg.taker_bps) == (shipped.maker_bps, shipped.taker_bps) != (0.0, 0.0)
    assert cfg.limits == shipped.limits and cfg.limits["max_position"] == 1000
    assert cfg.sources == (str(DEFAULT_CONFIG), str(f))


def test_set_overrides_and_is_typed_by_the_schema(tmp_path):
    cfg = load_replay_config(DEFAULT_CONFIG, ["fees.taker_bps=3", "strategies.mm.size=4", "latency.entry=250us"])
    assert cfg.taker_bps == 3.0 and cfg.strategies["mm"]["size"] == 4 and cfg.entry_ns == 250_000
    assert cfg.sources[-1].startswith("--set ")
    with pytest.raises(ConfigError) as e:
        load_replay_config(DEFAULT_CONFIG, ["fees.taker_bps=abc"])
    assert e.value.fields["key"] == "fees.taker_bps" and "--set" in e.value.message
    with pytest.raises(ConfigError) as e:
        load_replay_config(DEFAULT_CONFIG, ["fees.taker_bp=1"])
    assert "taker_bp" in e.value.message and "--set" in e.value.message


def test_unknown_key_in_a_user_file_names_that_file(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("fees: {maker_bps: 0.1, rebate: 1}\n")
    with pytest.raises(ConfigError) as e:
        load_replay_config(f)
    assert str(f) in e.value.message and "rebate" in e.value.message


def test_latency_file_shorthand_replaces_the_shipped_constant_latencies(tmp_path):
    (tmp_path / "lat.csv").write_text("t_ns,entry_ns,response_ns\n0,5000,7000\n10,5000,7000\n")
    f = tmp_path / "lat.yaml"
    f.write_text("latency: {file: lat.csv}\n")
    cfg = load_replay_config(f)  # relative to the file naming it, not the cwd
    assert cfg.entry_empirical is not None and cfg.response_empirical is not None
    cfg2 = load_replay_config(f, ["latency.entry=2ms"])  # entry overridden, response still from the file
    assert cfg2.entry_empirical is None and cfg2.entry_ns == 2_000_000 and cfg2.response_empirical is not None


def test_effective_config_file_is_what_config_hash_hashes(tmp_path):
    import hashlib
    import json

    cfg = load_replay_config(DEFAULT_CONFIG, ["strategies.mm.size=2"])
    write_config(tmp_path / "config.yaml", cfg)
    text = (tmp_path / "config.yaml").read_text()
    assert cfg.digest() in text and "--set strategies.mm.size=2" in text
    mapping = yaml.safe_load(text)
    assert hashlib.blake2b(json.dumps(mapping, sort_keys=True).encode(), digest_size=8).hexdigest() == cfg.digest()
    # the same effective config reached through a file hashes the same
    f = tmp_path / "mm2.yaml"
    f.write_text("strategies: {mm: {size: 2}}\n")
    assert load_replay_config(f).digest() == cfg.digest()
