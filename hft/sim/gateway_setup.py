"""The gateway configuration a simulated run uses: one account, one strategy, one symbol per instrument (a run
over several instruments registers each: `hft.sim.legs`).

Limits default to "unlimited" (scenarios pin down venue semantics, not risk) except ``min_qty: 1``; a replay
passes its own ``limits`` (any key of the gateway's ``limits.defaults``) so that risk checks are exercised
exactly as a live process would run them.
"""

from __future__ import annotations

from typing import Any

from hft.core.orders import ORDER_TYPE_NAMES, TIF_NAMES
from hft.gateway.config import parse_config
from hft.gateway.limits import LIMITS

SIM_ACCOUNT = "SIM"

#: the strategy's limits in a simulation without a gateway config: every limit of the strategy's scopes
#: unlimited (`hft.gateway.limits`; no cash: no buying-power check), except the minimum order size of one lot
UNLIMITED: dict[str, Any] = {**{lim.key: None for lim in LIMITS if lim.kind in ("int", "rate")}, "min_qty": 1}


def sim_gateway_config(symbol: str, strategy: str, *, multiplier: int = 1, limits: dict[str, Any] | None = None,
                       working_orders: int = 1024, dedup_capacity: int = 1 << 16, self_match: bool = False,
                       file: str = "<sim gateway config>", symbol_spec: dict[str, Any] | None = None,
                       more_symbols: dict[str, dict[str, Any]] | None = None,
                       risk_checks: tuple[dict[str, Any], ...] = ()) -> Any:
    """A strict `GatewayConfig` for one simulated (account, strategy, symbol); metrics timing off (deterministic).
    `symbol_spec`: the symbol's mapping (multiplier and exchange filters, `hft.sim.instruments.symbol_spec`);
    default: the multiplier alone. `more_symbols`: the other instruments of a run over several, each with its
    mapping (registered after `symbol`, in order). `risk_checks`: the gateway's ``risk.checks`` entries
    (`hft.gateway.risk_checks`). Parsed at each call (~0.3 ms): the parse reads the environment too (signals'
    bus URL, node id), so a run sees the environment as it is when the run is built."""
    symbols = {symbol: symbol_spec if symbol_spec is not None else {"multiplier": multiplier}, **(more_symbols or {})}
    n = len(symbols)
    return parse_config({
        "capacity": {"max_accounts": 1, "max_strategies": 1, "max_symbols": n, "exposure_max_symbols": n,
                     "max_working_orders": max(16, working_orders), "channel_capacity": 16},
        "dedup": {"capacity": max(16, dedup_capacity)},
        # every order type and TIF, the venue-native stops and GTD too (the simulated venues hold them; the shipped gateway.yaml
        # allows only limit, market and post_only, and no gtd: the fix venue refuses GTD orders and icebergs)
        "risk": {"self_match_prevention": self_match, "order_types": list(ORDER_TYPE_NAMES.values()),
                 "tifs": list(TIF_NAMES.values()),
                 **({"checks": list(risk_checks)} if risk_checks else {})},
        "limits": {"defaults": {**UNLIMITED, **(limits or {})}},
        "accounts": {SIM_ACCOUNT: None},
        "strategies": {strategy: None},
        "symbols": symbols,
        "metrics": {"timing": "off"},
    }, file=file)

