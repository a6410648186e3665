"""Built-in strategies, chosen by name (DESIGN rule 6: components by name from a registry, never by path)."""

from __future__ import annotations

from typing import Any

from hft.core.errors import ConfigError, SimError
from hft.sim.strategy import Strategy


def _registry() -> dict[str, type[Strategy]]:
    from hft.sim.strategies.imbalance_taker import ImbalanceTaker
    from hft.sim.strategies.mm import MarketMaker
    from hft.sim.strategies.twap import Twap

    return {"mm": MarketMaker, "imbalance_taker": ImbalanceTaker, "twap": Twap}


STRATEGY_NAMES = ("mm", "imbalance_taker", "twap")


#: Lower bounds of parameters shared by the built-in strategies (an order of 0 or -1 lots is no order).
_MINIMUM: dict[str, int] = {"size": 1, "qty": 1, "slices": 1, "max_position": 0, "cooldown_ns": 0,
                            "duration_ns": 1}


def make_strategy(name: str, params: dict[str, Any] | None = None) -> Strategy:
    """Instantiate a built-in strategy; unknown names or parameters are clear errors."""
    reg = _registry()
    if name not in reg:
        raise SimError(f"strategy: expected one of {sorted(reg)}, was {name!r}", key="strategy")
    cls = reg[name]
    params = dict(params or {})
    allowed = set(cls.DEFAULTS)  # type: ignore[attr-defined]
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigError(f"strategy {name}: unknown parameter '{unknown[0]}': expected one of {sorted(allowed)}",
                          key=f"strategy.params.{unknown[0]}")
    merged = {**cls.DEFAULTS, **params}  # type: ignore[attr-defined]
    for k, v in merged.items():
        default = cls.DEFAULTS[k]  # type: ignore[attr-defined]
        if isinstance(default, int) and (isinstance(v, bool) or not isinstance(v, int)):
            raise ConfigError(f"strategy {name}: parameter '{k}': expected an integer, was {v!r}",
                              key=f"strategy.params.{k}")
        if isinstance(default, float) and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise ConfigError(f"strategy {name}: parameter '{k}': expected a number, was {v!r}",
                              key=f"strategy.params.{k}")
        low = _MINIMUM.get(k)
        if low is not None and v < low:
            raise ConfigError(f"strategy {name}: parameter '{k}': expected a value >= {low}, was {v!r}",
                              key=f"strategy.params.{k}")
    return cls(**merged)
