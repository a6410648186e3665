"""Risk checks of the house's own: numba functions the gateway's risk step calls after its built-in checks.

A check is a `RiskCheck`: a name, an ``@njit`` function ``kernel(order, params) -> int`` and the names of its
integer parameters. ``order`` is the gateway's view of the order being decided (int64, the ``OV_*`` fields
below: ticks, lots, ns, registry indices) and ``params`` the check's parameters in the order of its names
(int64, ``MAX_RISK_PARAMS`` long). The kernel returns 0 to pass; anything else denies the order with reason
``RISK_CHECK`` (the decision's reason, like every other denial; which check denied is counted per check:
``GatewayService.risk_check_denials()``, the metric ``gateway_risk_check_denials_total{check}``).

A gateway config names its checks under ``risk.checks`` by the routes every registry of `hft` offers
(`hft.core.plugins`): a name in the entry-point group ``hft.risk_checks``, ``path/to/file.py:NAME`` or
``package.module:NAME``, each resolving to a `RiskCheck`::

    risk:
      checks:
        - check: house/checks.py:MAX_DISTANCE
          params: {max_ticks: 50}

How it runs: each check is compiled once per process into a C entry (a ``cfunc``) whose address is written
into the gateway's arena (`hft.gateway.kernels.layout`, ``T_RC``); the risk step calls it through that address
(`hft.gateway.kernels.risk._house_checks`), so the gateway's cached kernels never recompile for a check. The
address is process-local: `GatewayService.install_risk_checks` writes it at start and after a snapshot
restore. Checks run on new orders and replaces from outside, after every built-in check; the gateway's own
orders (the emergency stop's cancels, ``flatten_on_halt``'s closing orders) skip them, as they skip the daily
loss. A check must not allocate or raise (numba ``nopython``; an exception cannot cross the C entry), and must
index ``order`` and ``params`` only within their lengths (`N_OV`, `MAX_RISK_PARAMS`): they are views of the
gateway's arena through raw pointers (``carray``), which no bounds check sees, not even ``NUMBA_BOUNDSCHECK=1``.
Its arithmetic is its own: a signed overflow in it is undefined behaviour as in any kernel (``order`` holds what
the gateway decided on: prices and quantities up to int64's end).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import carray, cfunc, types

from hft.core import plugins
from hft.core.errors import ConfigError
from hft.gateway.kernels.layout import (
    MAX_RISK_CHECKS,
    MAX_RISK_PARAMS,
    N_OV,
    N_RC,
    OV_ACCOUNT,
    OV_MULT,
    OV_ORDER_TYPE,
    OV_POSITION,
    OV_PRICE,
    OV_QTY,
    OV_REF_PX,
    OV_SIDE,
    OV_STRATEGY,
    OV_SYMBOL,
    OV_TS,
    OV_WORKING_BUY,
    OV_WORKING_SELL,
    RC_ADDR,
    RC_COUNT,
    RC_DENIALS,
    RC_PARAMS,
)

__all__ = [
    "ENTRY_POINT_GROUP", "MAX_RISK_CHECKS", "MAX_RISK_PARAMS", "N_OV", "OV_ACCOUNT", "OV_MULT", "OV_ORDER_TYPE",
    "OV_POSITION", "OV_PRICE", "OV_QTY", "OV_REF_PX", "OV_SIDE", "OV_STRATEGY", "OV_SYMBOL", "OV_TS",
    "OV_WORKING_BUY", "OV_WORKING_SELL", "ConfiguredRiskCheck", "RiskCheck", "c_entry", "install", "parse_checks",
    "resolve_risk_check",
]

ENTRY_POINT_GROUP = "hft.risk_checks"
_KEY = "risk.checks"


@dataclass(frozen=True)
class RiskCheck:
    """A risk check: `kernel(order, params) -> int` (numba njit; 0 passes), its parameters' names."""

    name: str
    kernel: Any
    params: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class ConfiguredRiskCheck:
    """A check as a gateway config names it: its spec, the check, its parameter values (in `params` order)."""

    spec: str
    check: RiskCheck
    values: tuple[int, ...]


def resolve_risk_check(spec: str, *, key: str = _KEY) -> RiskCheck:
    """The `RiskCheck` `spec` names (entry-point name, FILE.py:NAME or module:NAME); `ConfigError` naming `key`."""
    obj = plugins.resolve(spec, group=ENTRY_POINT_GROUP, label="risk check", what="RiskCheck", error=ConfigError,
                          key=key, where=f"key '{key}'", hint="see docs/extending.md, 'Risk checks'").obj
    if not isinstance(obj, RiskCheck):
        raise ConfigError(f"key '{key}': {spec!r} is not a hft.gateway.risk_checks.RiskCheck (was "
                          f"{type(obj).__name__})", key=key)
    kernel = obj.kernel
    if not (callable(kernel) and hasattr(kernel, "py_func") and hasattr(kernel, "compile")):
        raise ConfigError(f"key '{key}': risk check {obj.name!r}: expected a numba @njit kernel "
                          f"(order, params) -> int, was {type(kernel).__name__}", key=key)
    if len(obj.params) > MAX_RISK_PARAMS:
        raise ConfigError(f"key '{key}': risk check {obj.name!r}: expected at most {MAX_RISK_PARAMS} parameters, "
                          f"has {len(obj.params)}", key=key)
    return obj


def parse_checks(raw: Any, file: str, key: str = _KEY) -> tuple[ConfiguredRiskCheck, ...]:
    """``risk.checks`` of a gateway config (`key`: where the list sits in `file`): a list of
    ``{check: SPEC, params: {NAME: int}}``, strictly (every parameter of the check given, as an int, and no
    other key); one-line `ConfigError` naming the entry."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{file}: key '{key}': expected a list of {{check, params}}, was "
                          f"{type(raw).__name__}", key=key, file=file)
    if len(raw) > MAX_RISK_CHECKS:
        raise ConfigError(f"{file}: key '{key}': expected at most {MAX_RISK_CHECKS} checks, was {len(raw)}",
                          key=key, file=file)
    return tuple(_parse_entry(item, f"{key}[{i}]", file) for i, item in enumerate(raw))


def _parse_entry(item: Any, key: str, file: str) -> ConfiguredRiskCheck:
    """One ``{check, params}`` entry of ``risk.checks`` at `key`."""
    if not isinstance(item, Mapping) or not isinstance(item.get("check"), str):
        raise ConfigError(f"{file}: key '{key}': expected a mapping with 'check: SPEC', was {item!r}",
                          key=key, file=file)
    extra = sorted(set(item) - {"check", "params"})
    if extra:
        raise ConfigError(f"{file}: key '{key}.{extra[0]}': unknown key (expected check, params)",
                          key=f"{key}.{extra[0]}", file=file)
    try:
        check = resolve_risk_check(item["check"], key=f"{key}.check")
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc.message}", key=exc.fields.get("key"),
                          file=exc.fields.get("file") or file) from None
    params = item.get("params") or {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"{file}: key '{key}.params': expected a mapping of {list(check.params)}, was "
                          f"{params!r}", key=f"{key}.params", file=file)
    unknown = sorted(set(params) - set(check.params))
    if unknown:
        raise ConfigError(f"{file}: key '{key}.params.{unknown[0]}': unknown parameter of {check.name!r} "
                          f"(expected {list(check.params)})", key=f"{key}.params.{unknown[0]}", file=file)
    values = []
    for name in check.params:
        v = params.get(name)
        if type(v) is not int:
            raise ConfigError(f"{file}: key '{key}.params.{name}': expected an integer, was {v!r}",
                              key=f"{key}.params.{name}", file=file)
        values.append(v)
    return ConfiguredRiskCheck(item["check"].strip(), check, tuple(values))


# id(kernel) → (kernel, its cfunc): a pure memo, one entry per kernel object a process defines; never evicted
# (an installed arena or a running loop holds the cfunc's address)
_C_ENTRIES: dict[int, tuple[Any, Any]] = {}


def c_entry(check: RiskCheck) -> Any:
    """The C entry of `check` (a ``cfunc`` taking the order view's and the parameters' data pointers), compiled
    once per kernel and kept alive here."""
    kernel = check.kernel
    hit = _C_ENTRIES.get(id(kernel))
    if hit is not None and hit[0] is kernel:
        return hit[1]

    @cfunc(types.int64(types.CPointer(types.int64), types.CPointer(types.int64)))
    def entry(order_p, params_p):  # pragma: no cover - compiled
        return kernel(carray(order_p, (N_OV,)), carray(params_p, (MAX_RISK_PARAMS,)))

    _C_ENTRIES[id(kernel)] = (kernel, entry)
    return entry


def install(rc: np.ndarray, checks: tuple[ConfiguredRiskCheck, ...]) -> None:
    """Write `checks` into the arena's risk-check table `rc` (``views(arena).rc``): count, C entry addresses and
    parameters. Denial counts are kept (a snapshot restore carries them).

    The risk step calls each installed address (`hft.gateway.kernels.risk._call_risk_check`), so what it holds
    must be a C entry of this process kept alive (`c_entry`'s cache), at most `MAX_RISK_CHECKS` of them, each with
    at most `MAX_RISK_PARAMS` parameters (`parse_checks` refuses more; checked here too for a config built in
    code)."""
    if len(checks) > MAX_RISK_CHECKS or any(len(c.values) > MAX_RISK_PARAMS for c in checks):
        raise ConfigError(f"{_KEY}: expected at most {MAX_RISK_CHECKS} checks of at most {MAX_RISK_PARAMS} "
                          "parameters each", key=_KEY)
    rc[0, RC_COUNT] = 0  # no half-installed table is ever visible to a kernel of this thread
    for i, c in enumerate(checks):
        row = rc[1 + i]
        row[RC_ADDR] = c_entry(c.check).address
        row[RC_PARAMS:N_RC] = 0
        row[RC_PARAMS:RC_PARAMS + len(c.values)] = c.values
    for row in rc[1 + len(checks):]:
        row[RC_ADDR] = 0
        row[RC_DENIALS] = 0
    rc[0, RC_COUNT] = len(checks)


def denials(rc: np.ndarray, checks: tuple[ConfiguredRiskCheck, ...]) -> dict[str, int]:
    """Denials per configured check (by its `RiskCheck.name`)."""
    return {c.check.name: int(rc[1 + i, RC_DENIALS]) for i, c in enumerate(checks)}


# the order view's fields, by name (docs, tests, error messages)
ORDER_VIEW_FIELDS = {"ts": OV_TS, "account": OV_ACCOUNT, "strategy": OV_STRATEGY, "symbol": OV_SYMBOL,
                     "side": OV_SIDE, "price": OV_PRICE, "qty": OV_QTY, "order_type": OV_ORDER_TYPE,
                     "ref_px": OV_REF_PX, "position": OV_POSITION, "working_buy": OV_WORKING_BUY,
                     "working_sell": OV_WORKING_SELL, "multiplier": OV_MULT}
