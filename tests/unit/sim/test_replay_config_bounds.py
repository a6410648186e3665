"""Replay config values that would exhaust memory, or that make no sense, are refused when the config is read."""

from __future__ import annotations

import pytest

from hft.core.errors import ConfigError
from hft.sim.replay import parse_replay_config


@pytest.mark.parametrize(("mapping", "text"), [
    ({"sample": "1ns"}, "key 'sample': expected a sampling period of at least 1ms, was '1ns'"),
    ({"sample": "0s"}, "key 'sample': expected a sampling period of at least 1ms"),
    ({"strategies": {"mm": [1, 2]}}, "key 'strategies.mm': expected a mapping of strategy parameters, was [1, 2]"),
    ({"strategies": {"mm": {"size": "two"}}}, "key 'strategies.mm': strategy mm: parameter 'size': expected an integer"),
    ({"strategies": {"mm": {"size": 0}}}, "key 'strategies.mm': strategy mm: parameter 'size': expected a value >= 1"),
    ({"strategies": {"mm": {"size": -1}}}, "parameter 'size': expected a value >= 1, was -1"),
    ({"strategies": {"mm": {"colour": 1}}}, "unknown parameter 'colour'"),
    ({"strategies": {"twap": {"slices": 0}}}, "parameter 'slices': expected a value >= 1"),
])
def test_refused_with_the_key(mapping, text):
    with pytest.raises(ConfigError) as ei:
        parse_replay_config(mapping, file="r.yaml")
    assert text in ei.value.message and ei.value.message.startswith("r.yaml: ") and ei.value.exit_code == 11


def test_valid_values_still_parse():
    cfg = parse_replay_config({"sample": "1ms", "strategies": {"mm": {"size": 2}, "twap": None}}, file="r.yaml")
    assert cfg.sample_ns == 1_000_000 and cfg.strategies == {"mm": {"size": 2}, "twap": {}}


def test_an_own_strategys_key_parses():
    """A name that is not registered is an own strategy's key (FILE.py:Class): checked when -s resolves it."""
    cfg = parse_replay_config({"strategies": {"join_bid": {"size": 2}}}, file="r.yaml")
    assert cfg.strategies == {"join_bid": {"size": 2}}
