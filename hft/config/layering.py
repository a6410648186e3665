"""Configuration that layers: shipped defaults ← a user's file ← ``--set path.to.key=value`` overrides.

A user's config names only what it changes; it is merged over the shipped defaults (`deep_merge`: mappings
merge key by key, anything else — a scalar, a list — replaces what was there). The merged mapping is then parsed
by the section's strict parser, so an unknown key or a wrong type is still a `ConfigError` naming the key.
``--set`` values are read as YAML scalars (``2`` → int, ``0.5`` → float, ``true`` → bool, ``1ms`` → str,
``[1, 2]`` → list) and typed by that same parser (the schema): ``--set fees.maker_bps=abc`` fails naming
``fees.maker_bps``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from hft.core.errors import ConfigError

SET_SOURCE = "--set"


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` layered on ``base``: mappings merge recursively; scalars and lists replace. Inputs untouched."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_sets(items: Iterable[str]) -> dict[str, Any]:
    """``["fees.maker_bps=0.1", "strategies.mm.size=2"]`` → the nested mapping they describe."""
    out: dict[str, Any] = {}
    for item in items:
        path, eq, raw = item.partition("=")
        keys = path.strip().split(".")
        if not eq or not all(k.strip() for k in keys):
            raise ConfigError(f"{SET_SOURCE} {item!r}: expected path.to.key=value", file=SET_SOURCE, key=path)
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw  # not YAML: the text itself (the schema decides whether a string is acceptable)
        node = out
        for i, k in enumerate(keys[:-1]):
            nxt = node.setdefault(k.strip(), {})
            if not isinstance(nxt, dict):
                raise ConfigError(f"{SET_SOURCE} {item!r}: key '{'.'.join(keys[:i + 1])}' was set to a value "
                                  "and used as a section", file=SET_SOURCE, key=path)
            node = nxt
        node[keys[-1].strip()] = value
    return out


def set_keys(items: Iterable[str]) -> list[str]:
    """The key paths of ``--set`` items, for messages and the record of a run."""
    return [i.partition("=")[0].strip() for i in items]
