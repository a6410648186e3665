"""Limits changed while the service runs: ``POST /admin/limits`` (an admin token), ``GET /admin/limits`` and a
reload of the config file on SIGHUP.

One path for both: the new limits are read by the config's own parser (`hft.gateway.config.parse_limit_update`
for a request, `load_config` for the file), the changes are `diff_limits` of the limits in force and the new
ones, and they are applied together by the writer's ``limits`` control (`LiveGateway.control`): journaled in the
WAL (a restart replays them; a snapshot keeps the limits in force) and audited in ``audit.policy_transitions``
(one row per limit: its key path, before, after, the operator and why). A dry run computes the same changes and
applies nothing.

A reload also reads the TLS certificate files (``server.tls_cert``, ``tls_key``, ``tls_client_ca``) again
(`hft.live.tls.ServerContext.reload`): new connections use them, open ones keep theirs.
"""

from __future__ import annotations

import logging
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from hft.core.errors import ConfigError
from hft.gateway.config import (
    GatewayConfig,
    apply_limit_changes,
    diff_limits,
    levels_added_removed,
    limit_tables,
    load_config,
    parse_limit_update,
)
from hft.live import orders as O

log = logging.getLogger("hft.live")

_SCOPES = {"account": "accounts", "strategy": "strategies", "symbol": "symbols"}
#: what a reload applies: the limits and the TLS files (every other part of the config needs a restart)
_LIMIT_FIELDS = frozenset(("defaults", "accounts", "strategies", "symbols", "source"))
_TLS_FILES = ("tls_cert", "tls_key", "tls_client_ca")  # of ``server``: read again unless TLS is turned on or off


def scope_level(scope: str | dict[str, str]) -> tuple[str, str]:
    """A request's ``scope`` as (level, name) of `hft.gateway.config.LEVELS`; `BadInput` naming ``scope``."""
    if scope == "defaults":
        return "defaults", ""
    if isinstance(scope, dict) and len(scope) == 1:
        ((kind, name),) = scope.items()
        if kind in _SCOPES:
            return _SCOPES[kind], name
    raise O.BadInput("scope", f'expected "defaults" or one of {{"account": A}}, {{"strategy": S}}, {{"symbol": Y}}, '
                              f"was {O.encode(scope).decode()}")


def plan_update(cfg: GatewayConfig, body: O.LimitsUpdate) -> list[dict[str, Any]]:
    """The changes a ``POST /admin/limits`` body makes to `cfg`'s limits (empty: none), or `BadInput` naming the key
    the config's parser refused (``limits.max_order_qty``, ``scope``)."""
    level, name = scope_level(body.scope)
    try:
        new = parse_limit_update(cfg, level, name, body.limits)
    except ConfigError as exc:
        key = str(exc.fields.get("key") or "limits")
        where = "limits.defaults" if level == "defaults" else f"{level}.{name}"  # the level's path in the file
        field = "limits" + key[len(where):] if key == where or key.startswith(f"{where}.") else key
        raise O.BadInput(field, exc.message.removeprefix("<request>: ")) from None
    return diff_limits(limit_tables(cfg), limit_tables(new))


def apply(live: Any, changes: list[dict[str, Any]], cause: str, by: str) -> None:
    """Apply `changes` through the writer's journaled, audited ``limits`` control (nothing when there are none)."""
    if changes:
        live.control("limits", cause, O.encode({"changes": changes, "by": by}).decode())


def restart_only(old: GatewayConfig, new: GatewayConfig) -> list[str]:
    """The parts of the config besides the limits that differ between `old` and `new` (a reload leaves them: they
    need a restart), and the accounts, strategies and symbols added or removed."""
    o, n = old.server, new.server
    if (o.tls_cert is None) == (n.tls_cert is None) and (o.tls_client_ca is None) == (n.tls_client_ca is None):
        o = replace(o, **{k: getattr(n, k) for k in _TLS_FILES})  # reloaded: only the rest needs a restart
    out = [f.name for f in fields(GatewayConfig) if f.name not in _LIMIT_FIELDS
           and (o != n if f.name == "server" else getattr(old, f.name) != getattr(new, f.name))]
    specs = [(k, v.tick_multiple, v.lot_multiple, v.multiplier, v.min_notional, v.units)
             for k, v in old.symbols.items()], [(k, v.tick_multiple, v.lot_multiple, v.multiplier, v.min_notional,
                                                 v.units) for k, v in new.symbols.items()]
    if specs[0] != specs[1]:
        out.append("symbols (their specs)")
    return out + levels_added_removed(limit_tables(old), limit_tables(new))


def reload(live: Any, path: str | Path, tls: Any = None) -> dict[str, Any]:
    """SIGHUP: read `path` again (with the environment's overrides, as at the start), reload the listeners' TLS
    certificates `tls` (`hft.live.tls.ServerContext`; None: plain TCP) from its ``server.tls_*`` files and apply
    the limits that changed (who: ``SIGHUP``; the control logs each, ``limit KEY: BEFORE -> AFTER by SIGHUP``);
    log the other parts that changed as needing a restart. A file the parser refuses changes nothing (one line in
    the log). Returns what was done (``tls``: whether the certificates were reloaded)."""
    try:
        new = load_config(path)
    except ConfigError as exc:
        log.error("SIGHUP: %s refused, limits unchanged: %s", path, exc.message)
        return {"ok": False, "error": exc.message}
    tls_ok = tls.reload(new.server, str(path)) if tls is not None else None
    old = live.gw.config
    changes = diff_limits(limit_tables(old), limit_tables(new))
    restart = restart_only(old, new)
    if restart:
        log.warning("SIGHUP: %s: changes that need a restart, not applied: %s", path, ", ".join(restart))
    log.warning("SIGHUP: %s read: %d limits change", path, len(changes))  # each logged as it is applied
    try:  # checked as a whole with the levels the file dropped (they keep their limits until a restart)
        apply_limit_changes(old, changes)
    except ConfigError as exc:
        log.error("SIGHUP: %s refused, limits unchanged: %s", path, exc.message)
        return {"ok": False, "error": exc.message, "tls": tls_ok}
    apply(live, changes, "SIGHUP", "SIGHUP")
    return {"ok": True, "changes": changes, "restart": restart, "tls": tls_ok}
