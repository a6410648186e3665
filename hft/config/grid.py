"""Parameter grids in YAML specs (``param: [value, …]``): the one parser and enumerator shared by
``hft alpha search`` (`research/combinatorial/search_engine.py`) and ``hft replay sweep`` (`hft.sim.sweep`)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

from hft.config.strict import Section
from hft.core.errors import ConfigError, HftError


def parse_grid(grid: Section, names: Iterable[str], check: Callable[[str, Any], None], *,
               owner: str) -> dict[str, list[Any]]:
    """``{param: [values]}`` of `grid`, strictly: every name one of `names` (the parameters of `owner`), every
    value list non-empty and distinct, every value accepted by ``check(param, value)`` (which raises an
    `HftError` naming what is wrong; it becomes a ConfigError naming the key). Keys keep their order."""
    known = sorted(names)
    out: dict[str, list[Any]] = {}
    for pname in list(grid.data):
        values = grid.raw(pname)
        key = grid.key(str(pname))
        if pname not in known:
            grid.fail(key, f"a parameter of {owner} ({known})", pname)
        if isinstance(values, dict) and values and all(v is None for v in values.values()):
            # ``size: {2, 3}``: YAML reads a brace list as a mapping of keys to null
            listed = ", ".join(str(v) for v in values)
            grid.fail(key, f"a list of values: write [{listed}] (YAML reads {{{listed}}} as a mapping)",
                       "{" + listed + "}")
        if not isinstance(values, list) or not values:
            grid.fail(key, "a non-empty list of values (the grid)", values)
        for v in values:
            try:
                check(str(pname), v)
            except HftError as exc:
                raise ConfigError(f"{grid.file}: key '{key}': {exc.message}", file=grid.file, key=key) from None
        if len(set(map(repr, values))) != len(values):
            grid.fail(key, "distinct values", values)
        out[str(pname)] = list(values)
    grid.done()
    return out


def grid_size(params: dict[str, list[Any]]) -> int:
    """How many points `expand_grid` yields."""
    return math.prod(len(v) for v in params.values())


def expand_grid(params: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every point of the grid, the last parameter varying fastest (spec order)."""
    names = list(params)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(params[n] for n in names))]
