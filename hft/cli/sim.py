"""`hft sim …` commands. Thin: parse, load the scenario, run it, render. Heavy imports inside the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

app = typer.Typer(help="Simulator: scripted venue scenarios.", no_args_is_help=True)


@app.callback()
def sim() -> None:
    """Simulator: scripted venue scenarios."""


def _ms(ns: int | None) -> str:
    return "" if ns is None else f"{ns / 1e6:g}"


def _note(r: dict[str, Any]) -> str:
    """A gateway rejection's reason; an emulated order's child, stop level and reason."""
    if r["source"] != "emulator":
        return f"gateway: {r['reason']}" if r.get("reason") else ""
    parts = [] if r["stop_dec"] is None else [f"stop {r['stop_dec']}"]
    if r["child"] is not None:
        parts.append(f"sent {r['child']}")
    if r.get("reason"):
        parts.append(r["reason"])
    return ", ".join(parts)


@app.command("scenario")
def scenario(
    file: Path = typer.Argument(..., help="scenario YAML file, e.g. config/sim/scenarios/cancel_fill_race.yaml"),
    json_out: bool = typer.Option(False, "--json", help="Print the trace and the summary as JSON."),
) -> None:
    """Run a scripted scenario through the real gateway and the simulated L2 venue; print the order trace."""
    from hft.cli._output import console, emit, progress_bar
    from hft.sim.scenario import run_file

    with progress_bar("scenario", enabled=not json_out):
        result: dict[str, Any] = run_file(file)

    def render() -> None:
        from hft.cli._tables import render_rows

        con = console()
        con.print(f"[bold]{result['file']}[/bold]: {result['symbol']}  queue_model={result['queue_model']}  "
                  f"exchange={result['exchange']}  latency entry/response/feed = "
                  f"{_ms(result['latency_ns']['entry'])}/{_ms(result['latency_ns']['response'])}/"
                  f"{_ms(result['latency_ns']['feed'])} ms")
        cols = ["t ms", "id", "status", "price", "qty", "leaves", "liq", "fee", "venue ms", "note"]
        rows = [[_ms(r["t_ns"]), str(r["id"]), r["status"], r["price_dec"] or "", r["qty_dec"] or "",
                 "" if r["leaves"] is None else str(r["leaves"]), r["liquidity"] or "",
                 "" if r["fee"] is None else str(r["fee"]), _ms(r["exch_ts"]), _note(r)] for r in result["trace"]]
        render_rows(cols, rows, title="order-state trace (local time)", console=con,
                    right=("t ms", "price", "qty", "leaves", "fee", "venue ms"), no_wrap=("id", "status", "price"),
                    optional=("liq", "fee", "note"), count=False)
        con.print(f"position {result['position_dec']} ({result['position']} lots)  balance {result['balance_dec']} "
                  f"({result['balance']} money units)  fees {result['fees_paid']}  trades {result['trades']} "
                  f"(maker {result['maker_trades']})  money unit = {result['money_unit']}")

    emit(result, json_out, render)
