"""Built-in strategies. They are found by name through the ``hft.strategies`` entry-point group (registered in
``pyproject.toml``, as an installed plugin registers its own); see `hft.sim.strategy_loader`."""

from __future__ import annotations

from typing import Any

from hft.core.errors import ConfigError
from hft.sim.strategy import Strategy

#: Lower bounds of parameters shared by the built-in strategies (an order of 0 or -1 lots is no order); applied
#: by `hft.sim.strategy_loader` to the classes of this package (a class elsewhere declares its own ``MINIMUM``).
MINIMUM: dict[str, int] = {"size": 1, "qty": 1, "slices": 1, "max_position": 0, "cooldown_ns": 0,
                           "duration_ns": 1, "min_hedge": 1, "hedge_slip_ticks": 0, "hedge_ratio": 0,
                           "buckets": 1, "start_ns": 0, "min_child": 1, "max_child": 0}


def param_error(strategy: str, name: str, want: str, value: Any, note: str = "") -> ConfigError:
    """The one-line error of a strategy parameter that breaks a rule: ``strategy vwap: parameter 'rate': expected a
    number in (0, 1], was 2.0``, keyed ``strategies.<strategy>.<name>`` (the loader's checks and the built-ins'
    own use it); `note` follows the value (`` (lots)``)."""
    return ConfigError(f"strategy {strategy}: parameter '{name}': expected {want}, was {value!r}{note}",
                       key=f"strategies.{strategy}.{name}")


def make_strategy(spec: str, params: dict[str, Any] | None = None) -> Strategy:
    """Instantiate the strategy `spec` names (a registered name, ``FILE.py:Class`` or ``module:Class``) with
    `params` (checked against the parameters it declares)."""
    # lazy: hft.sim.strategy_loader imports this package (the built-ins' MINIMUM bounds)
    from hft.sim.strategy_loader import instantiate, resolve

    return instantiate(resolve(spec), params)
