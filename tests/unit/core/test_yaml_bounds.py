"""`load_yaml` refuses YAML that would exhaust memory or time, and what a config must not hold twice."""

from __future__ import annotations

import time

import pytest

from hft.config.strict import MAX_YAML_DEPTH, load_yaml
from hft.core.errors import ConfigError

BOMB = "\n".join(["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
                 + [f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]"
                    for p, c in zip("abcdefgh", "bcdefghi", strict=True)]) + "\n"


def _load(tmp_path, text: str):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return load_yaml(p)


def test_an_alias_bomb_is_refused_at_once(tmp_path):
    assert len(BOMB) < 400
    t0 = time.monotonic()
    with pytest.raises(ConfigError, match=r"expected at most 200,000 values once aliases are expanded") as ei:
        _load(tmp_path, BOMB)
    assert time.monotonic() - t0 < 5 and "c.yaml" in ei.value.message


def test_aliases_within_bounds_still_work(tmp_path):
    got = _load(tmp_path, "base: &b {x: 1, y: [1, 2]}\nother:\n  <<: *b\n  y: [3]\nsame: *b\n")
    assert got == {"base": {"x": 1, "y": [1, 2]}, "other": {"x": 1, "y": [3]}, "same": {"x": 1, "y": [1, 2]}}


@pytest.mark.parametrize("text", ["a: &x [1, *x]\n", "a: &x {k: *x}\n"])
def test_recursive_aliases_are_refused(tmp_path, text):
    with pytest.raises(ConfigError, match="recursive alias"):
        _load(tmp_path, text)


@pytest.mark.parametrize("depth", [MAX_YAML_DEPTH + 1, 100_000])
def test_deep_nesting_is_refused(tmp_path, depth):
    with pytest.raises(ConfigError, match=f"expected nesting at most {MAX_YAML_DEPTH} deep"):
        _load(tmp_path, "a: " + "[" * depth + "]" * depth + "\n")


def test_duplicate_keys_are_refused_with_both_lines(tmp_path):
    with pytest.raises(ConfigError, match=r"line 4.*expected unique keys, 'size' is repeated \(first at line 2\)"):
        _load(tmp_path, "mm:\n  size: 1\n  edge: 2\n  size: 3\n")


def test_a_huge_file_is_refused_before_parsing(tmp_path):
    p = tmp_path / "big.yaml"
    p.write_bytes(b"# " + b"x" * (17 * 1024 * 1024) + b"\n")
    with pytest.raises(ConfigError, match="expected a config of at most"):
        load_yaml(p)
