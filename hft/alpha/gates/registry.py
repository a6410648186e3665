"""Gates a firm adds to validation: its own checks, found by name, run by `hft alpha validate` after A, B and C.

Gates A–C (and D–E at promotion) are the governance contract and always run. A *house gate* is one more check
an alpha must pass — a turnover cap, a minimum coverage of the session, a correlation limit with a reference
signal — written outside the package and named in the alpha's ``config.yaml``:

```yaml
validation:
  extra_gates:
    my_gates.py:max_flips: {max_per_1k: 40}     # FILE.py:function, module:function or a registered NAME
```

A gate is a function ``(inputs: GateInputs, params: dict) -> GateResult`` (build the result with
`hft.alpha.gates.result.GateResult.from_checks`, its checks with `Check.compare`). It is found through the
routes every registry of `hft` offers (`hft.core.plugins`): a name registered in the entry-point group
``hft.alpha_gates`` (an installed package) or with `register_gate` (in-process), a ``FILE.py:function`` or a
``module:function``. The config names it; the config parser resolves it before anything runs, so a missing
gate is a one-line `ConfigError` naming the key. Its result joins the scorecard, the pass/fail verdict and the
audit rows (``audit.alpha_gate_decisions.gate`` = the gate's name) exactly as A, B and C do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hft.alpha.api.lifecycle_config import GATE_NAMES
from hft.alpha.gates.result import GateResult
from hft.core import plugins
from hft.core.errors import ConfigError, GovernanceError

__all__ = ["ENTRY_POINT_GROUP", "GateFn", "GateInputs", "HouseGate", "register_gate", "resolve_gate", "run_extra_gates"]

ENTRY_POINT_GROUP = "hft.alpha_gates"
#: The governance gates' names: a house gate may not take one (its rows would read as that gate's in the audit).
RESERVED = GATE_NAMES


@dataclass(frozen=True)
class GateInputs:
    """What a house gate sees: the validated alpha on every day of the run (pooled arrays are the days in order).

    Attributes:
        alpha_id, params: the alpha and its effective parameters.
        days: each day's label.
        features: each day's feature frame (polars: ``ts``, ``mid``, ``spread``, the alpha's columns, forward
            returns).
        signals: each day's validated signal (float64, NaN = missing), as gate A returned it.
        ts: pooled row times (int64 ns); signal: pooled signal; fwd: pooled forward returns by horizon column.
    """

    alpha_id: str
    params: Mapping[str, Any]
    days: list[str]
    features: list[Any]
    signals: list[np.ndarray]
    ts: np.ndarray
    signal: np.ndarray
    fwd: Mapping[str, np.ndarray]


GateFn = Callable[[GateInputs, dict[str, Any]], GateResult]


@dataclass(frozen=True)
class HouseGate:
    """A house gate as the alpha's config names it, found once (when the config is parsed): its spec, the name
    its results carry, the function and its parameters."""

    spec: str
    name: str
    fn: GateFn
    params: Mapping[str, Any]
_REGISTERED: dict[str, GateFn] = {}


def register_gate(name: str) -> Callable[[GateFn], GateFn]:
    """Decorator: register a house gate under `name` in this process (an installed package uses the entry-point
    group ``hft.alpha_gates`` instead)."""
    if name in RESERVED or not name:
        raise GovernanceError(f"gate name {name!r}: expected a name other than {list(RESERVED)}")

    def deco(fn: GateFn) -> GateFn:
        _REGISTERED[name] = fn
        return fn
    return deco


def resolve_gate(spec: str, *, key: str = "validation.extra_gates") -> tuple[str, GateFn]:
    """The gate `spec` names and the name its results carry (the registered name, else the function's name).
    `ConfigError` naming `key` when it cannot be found or is not a function."""
    got = plugins.resolve(spec, group=ENTRY_POINT_GROUP, label="gate", what="function", error=ConfigError, key=key,
                          where=f"key '{key}'", builtins=_REGISTERED, hint="see docs/extending.md, 'Validation gates'")
    fn, name = got.obj, got.name
    if not callable(fn):
        raise ConfigError(f"key '{key}': gate {spec!r} is not a function (was {type(fn).__name__})", key=key)
    if name in RESERVED:
        raise ConfigError(f"key '{key}': gate {spec!r} is named {name!r}, a governance gate's name", key=key)
    return name, fn


def run_extra_gates(gates: Sequence[HouseGate], inputs: GateInputs) -> list[GateResult]:
    """Run each configured house gate (in config order) on `inputs`; each result carries the gate's name. A gate
    that raises or returns something else than a `GateResult` is a `GovernanceError` naming it (a broken check
    must stop the validation, never pass it)."""
    out = []
    for gate in gates:
        spec, name = gate.spec, gate.name
        try:
            res = gate.fn(inputs, dict(gate.params))
        except GovernanceError:
            raise
        except Exception as exc:
            raise GovernanceError(f"gate {spec!r} raised {exc.__class__.__name__}: {exc}", key="extra_gates") from None
        if not isinstance(res, GateResult):
            raise GovernanceError(f"gate {spec!r}: expected a GateResult, was {type(res).__name__}",
                                  key="extra_gates")
        out.append(res if res.gate == name else dataclasses.replace(res, gate=name))
    return out
