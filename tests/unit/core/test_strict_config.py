"""Strict config helpers: unknown keys, wrong types and bad units name the file and key."""

from __future__ import annotations

import pytest

from hft.config.strict import Section, load_yaml
from hft.core.errors import ConfigError


def test_typed_getters_and_unknown_keys(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("a: 1\nb: {lat: 250us, name: x}\nextra: 3\n")
    s = Section(load_yaml(f), f)
    assert s.int("a") == 1
    b = s.section("b")
    assert b.duration_ns("lat") == 250_000
    assert b.str("name", choices=["x", "y"]) == "x"
    b.done()
    with pytest.raises(ConfigError, match=r"c.yaml: unknown key 'extra'"):
        s.done()


def test_wrong_type_names_key(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("limits: {max_qty: ten}\n")
    s = Section(load_yaml(f), f)
    with pytest.raises(ConfigError, match=r"key 'limits.max_qty': expected an integer, was 'ten'"):
        s.section("limits").int("max_qty")


def test_bad_unit_names_file_and_key(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("latency: 3 parsecs\n")
    with pytest.raises(ConfigError, match=r"c.yaml: .*latency"):
        Section(load_yaml(f), f).duration_ns("latency")


def test_bad_yaml_and_missing_file(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="expected valid YAML"):
        load_yaml(f)
    with pytest.raises(ConfigError, match="none exists"):
        load_yaml(tmp_path / "nope.yaml")
    f.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_yaml(f)
