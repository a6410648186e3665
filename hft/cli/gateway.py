"""`hft gateway …` commands. Thin: parse, load config, render. Imports no numba / polars."""

from __future__ import annotations

import math
import secrets
from pathlib import Path
from typing import Any

import typer

from hft.cli._output import console, emit

app = typer.Typer(help="Order gateway: validate configuration, show effective limits, serve the order API.",
                  no_args_is_help=True)


@app.callback()
def gateway() -> None:
    """Order gateway: validate configuration, show effective limits, serve the order API."""


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
                 "self_match_prevention": cfg.self_match_prevention,
                 "checks": [{"check": c.spec, "name": c.check.name, "params": dict(zip(c.check.params, c.values,
                                                                                        strict=True))}
                            for c in cfg.risk_checks]},
        "storm": vars(cfg.storm),
        "ingress": vars(cfg.ingress),
        "server": {**{k: v for k, v in vars(cfg.server).items() if k != "jwt_secret"},
                   "jwt_secret": "<set>" if cfg.server.jwt_secret else None},
        "defaults": cfg.defaults.as_dict(),
        "accounts": {k: v.as_dict() for k, v in cfg.accounts.items()},
        "strategies": {k: v.as_dict() for k, v in cfg.strategies.items()},
        "symbols": {k: {"tick_multiple": v.tick_multiple, "lot_multiple": v.lot_multiple,
                        "multiplier": v.multiplier, **v.limits.as_dict()} for k, v in cfg.symbols.items()},
        "effective": combos,
    }




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
    max_rows: int = typer.Option(50, "--max-rows", min=1, help="Effective-limit rows shown in the table."),
) -> None:
    """Validate FILE (with HFT_* env overrides) and print the effective limits."""
    from hft.gateway.config import limit_text, load_config

    cfg = load_config(file)
    _build(cfg, file)
    result = _summary(cfg)

    def render() -> None:
        from hft.cli._tables import render_rows

        con = console()
        con.print(f"[bold]{file}[/bold]: valid. enabled={cfg.enabled}  dedup ttl={cfg.dedup_ttl_ns / 1e9:g}s "
                  f"capacity={cfg.dedup_capacity}  exposure entries={cfg.exposure_max_symbols}")
        from hft.gateway.limits import LIMITS

        cols, heads = [], []
        for lim in LIMITS:  # the one limit table; the daily loss is a budget per strategy and per account
            if lim.name == "daily_loss":
                cols += ["daily_loss_strategy", "daily_loss_account"]
                heads += ["loss/strat", "loss/acct"]
            elif lim.name == "submit_rate":  # a budget per strategy and per account too
                cols += ["submit_rate", "submit_rate_account"]
                heads += [lim.title, f"{lim.title}/acct"]
            elif lim.scope in ("order", "account", "margin") or lim.kind == "rate":  # cash, margin rate too
                cols.append(lim.name)
                heads.append(lim.title)
        keys = ("account", "strategy", "symbol")
        unit = {lim.name: lim.unit for lim in LIMITS} | {"daily_loss_strategy": "money", "daily_loss_account": "money"}

        def cell(row: dict[str, Any], c: str) -> str:
            """A limit, with what it is worth when its symbol declares units (``100 lots (0.001 BTCUSDT)``)."""
            sym = cfg.symbols.get(row["symbol"]) if row["symbol"] is not None else None
            if sym is not None and sym.units is not None and unit.get(c) and isinstance(row[c], int):
                return sym.units.describe(row[c], unit[c])
            return limit_text(row[c], "∞")

        render_rows([*keys, *heads], [[str(row[c]) if c in keys else cell(row, c) for c in (*keys, *cols)]
                                      for row in result["effective"][:max_rows]],
                    title="effective limits (tightest of account / strategy / symbol, else default; ∞ = none)",
                    console=con, right=heads, no_wrap=keys, count=False)
        if len(result["effective"]) > max_rows:
            con.print(f"… {len(result['effective']) - max_rows} more rows (use --json or --max-rows)")
        for c in result["risk"]["checks"]:  # the house's own, after the limits above (reason RISK_CHECK)
            params = ", ".join(f"{k}={v}" for k, v in c["params"].items())
            con.print(f"risk check [bold]{c['name']}[/bold] ({c['check']}): {params or 'no parameters'}")

    emit(result, json_out, render)


@app.command("serve")
def serve(
    config: Path = typer.Option(None, "--config", help="gateway YAML (default: built-in defaults)"),
    host: str = typer.Option(None, "--host", help="listen address (server.host, HFT_GATEWAY_HOST; 127.0.0.1)"),
    port: int = typer.Option(None, "--port", help="listen port (server.port, HFT_GATEWAY_PORT; 8080; 0 = any)"),
    venue: str = typer.Option(None, "--venue", help="venue adapter: loopback, paper, an installed one, "
                                                    "module:factory (default: the config's venue.adapter, loopback)"),
    paper: Path = typer.Option(None, "--paper", help="paper venue: a recorded day (LOBSTER zip, event file) "
                                                      "replayed on the wall clock behind the dispatcher"),
    speed: float = typer.Option(None, "--speed", help="paper venue: replay speed (1.0 = real time)"),
    symbol: str = typer.Option(None, "--symbol", help="paper venue: the gateway symbol the data trades as"),
    loopback: str = typer.Option(None, "--loopback", help="loopback venue: fill | rest (default fill)"),
    venue_journal: Path = typer.Option(None, "--venue-journal", help="loopback venue's journal file"),
    nats_embedded: bool = typer.Option(False, "--nats-embedded",
                                       help="start a local nats-server (JetStream) at signals.bus.url"),
    tcp_port: int = typer.Option(None, "--tcp-port", help="also take binary intent frames on this TCP port "
                                                          "(0 = any; docs/live.md 'TCP intake')"),
    supervise: bool = typer.Option(False, "--supervise", help="run the service as a child and restart it (as a "
                                                              "standby under signals.ha) when it exits 75 or "
                                                              "crashes, with back-off; SIGTERM stops it cleanly"),
) -> None:
    """Run the order API (durable /orders, volatile /v3/orders, /health, /metrics) until SIGTERM / Ctrl-C."""
    from hft.gateway.config import load_config
    from hft.live.server import ServeOptions
    from hft.live.server import serve as run
    from hft.recorder.disk_monitor import env_thresholds

    if speed is not None and speed <= 0:
        raise typer.BadParameter("expected a positive speed", param_hint="--speed")
    if loopback is not None and loopback not in ("fill", "rest"):
        raise typer.BadParameter(f"expected fill or rest, was {loopback!r}", param_hint="--loopback")
    if tcp_port is not None and not 0 <= tcp_port <= 65535:
        raise typer.BadParameter(f"expected a port 0..65535, was {tcp_port}", param_hint="--tcp-port")
    cfg = load_config(config)
    if supervise:  # the flags and the config checked above; the child reads them again
        import sys

        from hft.live.supervise import child_command
        from hft.live.supervise import supervise as run_supervised
        from hft.live.tls import server_context

        server_context(cfg.server, cfg.source)  # a missing certificate: one line now, not a child per back-off
        raise typer.Exit(run_supervised(child_command(sys.argv[1:])))
    opts = ServeOptions(venue="paper" if paper else venue, loopback_mode=loopback,
                        disk_thresholds=env_thresholds(),  # a bad $HFT_DISK_THRESHOLDS: one line, before anything starts
                        venue_journal=str(venue_journal) if venue_journal else None,
                        paper_data=str(paper) if paper else None, paper_speed=speed, paper_symbol=symbol,
                        nats_embedded=nats_embedded, tcp_port=tcp_port)
    run(cfg, opts, host or cfg.server.host, cfg.server.port if port is None else port)


@app.command("limits-diff")
def limits_diff(
    file: Path = typer.Argument(..., help="gateway YAML whose limits to compare, e.g. config/gateway.yaml"),
    url: str = typer.Option(None, "--url", help="the running service (default http://server.host:server.port of "
                                                "FILE, with the HFT_GATEWAY_* overrides)"),
    token: str = typer.Option(..., "--token", envvar="HFT_ADMIN_TOKEN", help="an admin token (hft gateway token "
                                                                             "--admin; or $HFT_ADMIN_TOKEN)"),
    ca: Path = typer.Option(None, "--ca", help="a service on TLS (https URL): the PEM CA its certificate is checked "
                                               "against (default: the system's trust store)"),
    json_out: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
) -> None:
    """Dry run of a reload: the limits a SIGHUP would change on the running service (GET /admin/limits against
    FILE), one line each (key: in force -> in FILE), and the other changes that need a restart; on an https URL
    also the certificate a SIGHUP would load (the one served against FILE's server.tls_cert, by SHA-256
    fingerprint; or why the files would be refused). Applies nothing."""
    import http.client
    import json
    from urllib.parse import urlsplit

    from hft.core.errors import HftError
    from hft.gateway.config import (
        describe_change,
        diff_limits,
        levels_added_removed,
        limit_tables,
        load_config,
    )

    cfg = load_config(file)
    scheme = "https" if cfg.server.tls_cert else "http"
    target = urlsplit(url or f"{scheme}://{cfg.server.host}:{cfg.server.port}")
    if target.scheme not in ("http", "https") or not target.hostname:
        raise typer.BadParameter(f"expected http[s]://HOST:PORT, was {url!r}", param_hint="--url")
    try:
        if target.scheme == "https":
            from hft.live.tls import client_context

            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                target.hostname, target.port or 443, timeout=30, context=client_context(str(ca) if ca else None))
        else:
            conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=30)
        conn.request("GET", "/admin/limits", headers={"Authorization": f"Bearer {token}"})
        r = conn.getresponse()
        body = r.read()
        served = conn.sock.getpeercert(binary_form=True) if target.scheme == "https" and conn.sock else None
        conn.close()
    except OSError as exc:
        raise HftError(f"{target.geturl()}: expected a running gateway, was unreachable ({exc})") from None
    if r.status != 200:
        raise HftError(f"{target.geturl()}/admin/limits: expected 200, was {r.status} "
                       f"{body[:200].decode(errors='replace')}", hint="an admin token: hft gateway token --admin")
    running = json.loads(body)
    file_limits = limit_tables(cfg)
    changes = diff_limits(running, file_limits)
    levels = levels_added_removed(running, file_limits)
    result = {"file": str(file), "url": target.geturl(), "changes": changes, "levels_need_restart": levels}
    tls = _tls_dry_run(cfg, served) if served is not None else None
    if tls is not None:
        result["tls"] = tls

    def render() -> None:
        for c in changes:
            print(describe_change(c))
        for lv in levels:
            print(f"{lv}: added or removed (needs a restart)")
        if not changes and not levels:
            print(f"no limit differs between {target.geturl()} and {file}")
        if tls is not None and tls["error"] is not None:
            print(f"server.tls_cert: a SIGHUP keeps {tls['in_force']}: {tls['error']}")
        elif tls is not None and tls["changes"]:
            print(f"server.tls_cert: {tls['in_force']} -> {tls['file']} (a SIGHUP loads it)")

    emit(result, json_out, render)


def _tls_dry_run(cfg: Any, served: bytes) -> dict[str, Any]:
    """What a SIGHUP would do to the certificate `served` (DER) given `cfg`'s ``server.tls_*`` files: ``in_force``
    and ``file`` fingerprints, ``changes``, ``error`` (why the files would be refused; None: they load)."""
    import hashlib

    from hft.core.errors import ConfigError
    from hft.live.tls import cert_fingerprint, server_context

    in_force = "sha256:" + hashlib.sha256(served).hexdigest()
    if cfg.server.tls_cert is None:
        return {"in_force": in_force, "file": None, "changes": False, "error": "TLS off needs a restart"}
    try:
        server_context(cfg.server, str(cfg.source))  # the same checks as the reload's
        new = cert_fingerprint(cfg.server.tls_cert)
    except (ConfigError, ValueError) as exc:
        return {"in_force": in_force, "file": None, "changes": False, "error": getattr(exc, "message", str(exc))}
    return {"in_force": in_force, "file": new, "changes": new != in_force, "error": None}


@app.command("token")
def token(
    subject: str = typer.Argument(..., help="who the token is for"),
    account: list[str] = typer.Option(..., "--account", help="an account it may trade as ('*' = any); repeat"),
    strategy: list[str] = typer.Option(..., "--strategy", help="a strategy it may trade as ('*' = any); repeat"),
    config: Path = typer.Option(None, "--config", help="gateway YAML holding server.jwt_secret"),
    ttl: float = typer.Option(86400.0, "--ttl", help="lifetime in seconds (finite, >= 1)"),
    admin: bool = typer.Option(False, "--admin", help="may use the /admin routes (kill, reset, cancel, strategy modes)"),
    json_out: bool = typer.Option(False, "--json", help="Print the token and its claims as JSON."),
) -> None:
    """Print a signed JWT (HS256, the server's secret: server.jwt_secret or HFT_JWT_SECRET)."""
    if not math.isfinite(ttl) or ttl < 1:  # whole seconds: below 1 the token is expired when printed
        raise typer.BadParameter(f"expected a finite number of seconds >= 1, was {ttl}", param_hint="--ttl")
    for hint, names in (("SUBJECT", [subject]), ("--account", account), ("--strategy", strategy)):
        bad = next((x for x in names if not x.strip()), None)
        if bad is not None:  # a token for no one, or one that can trade as nothing
            raise typer.BadParameter(f"expected a non-empty name, was {bad!r}", param_hint=hint)
    from hft.core.errors import ConfigError
    from hft.gateway.config import load_config
    from hft.live.auth import mint

    cfg = load_config(config)
    if not cfg.server.jwt_secret:
        raise ConfigError("server.jwt_secret: expected a secret (config or HFT_JWT_SECRET), was null",
                          key="server.jwt_secret")
    jti = secrets.token_hex(8)
    tok = mint(cfg.server.jwt_secret, subject, account, strategy, ttl, admin, jti)
    import jwt

    exp = jwt.decode(tok, options={"verify_signature": False})["exp"]  # what a revocation may name (its "exp")
    emit({"token": tok, "jti": jti, "exp": exp, "subject": subject, "accounts": list(account),
          "strategies": list(strategy), "ttl_s": ttl, "admin": admin}, json_out, lambda: print(tok))


@app.command("signals-export")
def signals_export(
    out: Path = typer.Option(..., "--out", "-o", help="JSON-lines file of canonical signal records to write"),
    config: Path = typer.Option(None, "--config", help="gateway YAML (signals.bus: url, stream, subject prefix)"),
    source: list[str] = typer.Option(None, "--source", help="only these sources (repeatable)"),
    url: str = typer.Option(None, "--url", envvar="HFT_NATS_URL", help="NATS URL (default signals.bus.url)"),
    json_out: bool = typer.Option(False, "--json", help="Print the count and the file written as JSON."),
) -> None:
    """Write the recorded normalised signals of the bus (for `hft replay -s signal_follow`)."""
    import json

    from hft.bus.export import read_subject
    from hft.core.fileio import atomic_write_text
    from hft.gateway.config import load_config

    bus = load_config(config).signals.bus
    recs = read_subject(url or bus.url, bus.stream, f"{bus.subject_prefix}.normalized")
    if source:
        recs = [r for r in recs if r.get("source") in set(source)]
    atomic_write_text(out, "".join(json.dumps(r, sort_keys=True) + "\n" for r in recs))
    emit({"signals": len(recs), "out": str(out)}, json_out, lambda: print(f"{len(recs)} signals -> {out}"))
