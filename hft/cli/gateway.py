"""`hft gateway …` commands. Thin: parse, load config, render. Imports no numba / polars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

app = typer.Typer(help="Order gateway: validate configuration, show effective limits.", no_args_is_help=True)


@app.callback()
def gateway() -> None:
    """Order gateway: validate configuration, show effective limits."""


def _summary(cfg: Any) -> dict[str, Any]:
    from hft.gateway.config import effective_limits

    combos = []
    accounts = list(cfg.accounts) or [None]
    strategies = list(cfg.strategies) or [None]
    symbols = list(cfg.symbols) or [None]
    for a in accounts:
        for s in strategies:
            for y in symbols:
                combos.append({"account": a, "strategy": s, "symbol": y, **effective_limits(cfg, a, s, y)})
    return {
        "ok": True,
        "file": cfg.source,
        "enabled": cfg.enabled,
        "capacity": {"max_accounts": cfg.max_accounts, "max_strategies": cfg.max_strategies,
                     "max_symbols": cfg.max_symbols, "exposure_max_symbols": cfg.exposure_max_symbols,
                     "max_working_orders": cfg.max_working_orders, "channel_capacity": cfg.channel_capacity},
        "dedup": {"capacity": cfg.dedup_capacity, "ttl_ns": cfg.dedup_ttl_ns, "persist_path": cfg.dedup_persist_path},
        "risk": {"order_types": list(cfg.order_types), "tifs": list(cfg.tifs),
                 "require_reference_price": cfg.require_reference_price,
                 "self_match_prevention": cfg.self_match_prevention},
        "storm": vars(cfg.storm),
        "defaults": cfg.defaults.as_dict(),
        "accounts": {k: v.as_dict() for k, v in cfg.accounts.items()},
        "strategies": {k: v.as_dict() for k, v in cfg.strategies.items()},
        "symbols": {k: {"tick_multiple": v.tick_multiple, "lot_multiple": v.lot_multiple,
                        "multiplier": v.multiplier, **v.limits.as_dict()} for k, v in cfg.symbols.items()},
        "effective": combos,
    }


def _fmt(v: Any) -> str:
    if v is None:
        return "∞"
    if isinstance(v, dict):
        return f"{v['count']}/{v['window_ns'] / 1e9:g}s"
    return str(v)


def _build(cfg: object, file: Path) -> None:
    """Build the gateway the config describes (what check-config vouches for must be buildable)."""
    from hft.core.clock import ManualClock
    from hft.core.errors import ConfigError, HftError
    from hft.gateway.service import GatewayService

    try:
        GatewayService(cfg, clock=ManualClock(0))  # type: ignore[arg-type]
    except HftError as exc:
        raise ConfigError(f"{file}: the gateway cannot be built from this config: {exc.message}", file=str(file),
                          hint=exc.hint) from None
    except OverflowError:
        raise ConfigError(f"{file}: the gateway cannot be built from this config: a limit, duration or capacity "
                          "does not fit in 64 bits (expected values below 2**63)", file=str(file)) from None
    except (MemoryError, ValueError, TypeError) as exc:
        raise ConfigError(f"{file}: the gateway cannot be built from this config: {type(exc).__name__}: {exc}",
                          file=str(file)) from None


@app.command("check-config")
def check_config(
    file: Path = typer.Argument(..., help="gateway YAML file, e.g. config/gateway.yaml"),
    json_out: bool = typer.Option(False, "--json", help="Print the effective configuration as JSON."),
    max_rows: int = typer.Option(50, "--max-rows", help="Effective-limit rows shown in the table."),
) -> None:
    """Validate FILE (with HFT_* env overrides) and print the effective limits."""
    from hft.cli._output import console, emit
    from hft.gateway.config import load_config

    cfg = load_config(file)
    _build(cfg, file)
    result = _summary(cfg)

    def render() -> None:
        from rich.table import Table

        con = console()
        con.print(f"[bold]{file}[/bold]: valid. enabled={cfg.enabled}  dedup ttl={cfg.dedup_ttl_ns / 1e9:g}s "
                  f"capacity={cfg.dedup_capacity}  exposure entries={cfg.exposure_max_symbols}")
        cols = ["max_order_qty", "max_order_notional", "max_position", "max_notional", "min_qty",
                "price_band_bps", "daily_loss_strategy", "daily_loss_account", "submit_rate", "cancel_rate"]
        heads = ["order qty", "order notional", "position", "notional", "min qty", "band bps", "loss/strat",
                 "loss/acct", "submits", "cancels"]
        t = Table(title="effective limits (tightest of account / strategy / symbol, else default; ∞ = none)")
        for c in ("account", "strategy", "symbol"):
            t.add_column(c)
        for h in heads:
            t.add_column(h, justify="right")
        for row in result["effective"][:max_rows]:
            t.add_row(*(str(row[c]) if c in ("account", "strategy", "symbol") else _fmt(row[c])
                        for c in ("account", "strategy", "symbol", *cols)))
        con.print(t)
        if len(result["effective"]) > max_rows:
            con.print(f"… {len(result['effective']) - max_rows} more rows (use --json or --max-rows)")

    emit(result, json_out, render)
