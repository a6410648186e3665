"""The gateway configuration a simulated run uses: one account, one strategy, one symbol per instrument (a run
over several instruments registers each: `hft.sim.legs`).

Limits default to "unlimited" (scenarios pin down venue semantics, not risk) except ``min_qty: 1``; a replay
passes its own ``limits`` (any key of the gateway's ``limits.defaults``) so that risk checks are exercised
exactly as a live process would run them.
"""

from __future__ import annotations

import os
from typing import Any

from hft.gateway.config import parse_config
from hft.gateway.limits import LIMITS

SIM_ACCOUNT = "SIM"

#: the strategy's limits in a simulation without a gateway config: every limit of the strategy's scopes
#: unlimited (`hft.gateway.limits`), except the minimum order size of one lot
UNLIMITED: dict[str, Any] = {**{lim.key: None for lim in LIMITS if lim.kind != "duration"}, "min_qty": 1}


def sim_gateway_config(symbol: str, strategy: str, *, multiplier: int = 1, limits: dict[str, Any] | None = None,
                       working_orders: int = 1024, dedup_capacity: int = 1 << 16, self_match: bool = False,
                       file: str = "<sim gateway config>", symbol_spec: dict[str, Any] | None = None,
                       more_symbols: dict[str, dict[str, Any]] | None = None,
                       risk_checks: tuple[dict[str, Any], ...] = ()) -> Any:
    """A strict `GatewayConfig` for one simulated (account, strategy, symbol); metrics timing off (deterministic).
    `symbol_spec`: the symbol's mapping (multiplier and exchange filters, `hft.sim.instruments.symbol_spec`);
    default: the multiplier alone. `more_symbols`: the other instruments of a run over several, each with its
    mapping (registered after `symbol`, in order). `risk_checks`: the gateway's ``risk.checks`` entries
    (`hft.gateway.risk_checks`)."""

    key = _plain((symbol, strategy, multiplier, limits, working_orders, dedup_capacity, self_match, file, symbol_spec,
                  more_symbols)) if not risk_checks else None  # (a check names user code: parsed each time)
    if key is not None:  # the parse also reads the environment (signals: bus URL, node id with the process id)
        key = (key, os.getpid(), tuple(sorted(os.environ.items())))
        cfg = _PARSED.get(key)
        if cfg is not None:
            return cfg
    symbols = {symbol: symbol_spec if symbol_spec is not None else {"multiplier": multiplier}, **(more_symbols or {})}
    n = len(symbols)
    cfg = parse_config({
        "capacity": {"max_accounts": 1, "max_strategies": 1, "max_symbols": n, "exposure_max_symbols": n,
                     "max_working_orders": max(16, working_orders), "channel_capacity": 16},
        "dedup": {"capacity": max(16, dedup_capacity)},
        "risk": {"self_match_prevention": self_match, **({"checks": list(risk_checks)} if risk_checks else {})},
        "limits": {"defaults": {**UNLIMITED, **(limits or {})}},
        "accounts": {SIM_ACCOUNT: None},
        "strategies": {strategy: None},
        "symbols": symbols,
        "metrics": {"timing": "off"},
    }, file=file)
    if key is not None:
        if len(_PARSED) >= 64:
            _PARSED.clear()
        _PARSED[key] = cfg
    return cfg


# The configs parsed so far, by their arguments (`_plain`), process and environment: a sweep or a benchmark builds
# the same one per run (the strict parse costs ~0.3 ms). A `GatewayConfig` is frozen and nothing changes its
# mappings, so one object serves every run.
_PARSED: dict[object, Any] = {}


def _plain(x: object) -> object:
    """A hashable form of `x` that tells apart every different value, when `x` holds only str, int, float, bool,
    None and lists, tuples and dicts of them (in order, with their types); None when it holds anything else."""
    if x is None or type(x) in (str, int, float, bool):
        return (type(x).__name__, x)
    if type(x) in (list, tuple):
        items = [_plain(v) for v in x]  # type: ignore[union-attr]
        return None if any(v is None for v in items) else (type(x).__name__, tuple(items))
    if type(x) is dict:
        items = [(_plain(k), _plain(v)) for k, v in x.items()]  # type: ignore[union-attr]
        return None if any(k is None or v is None for k, v in items) else ("dict", tuple(items))
    return None
