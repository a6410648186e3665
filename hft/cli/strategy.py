"""`hft strategy …`: run a strategy of the simulator outside a replay. Thin: parse, run, render."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

app = typer.Typer(help="Run a strategy (the replay's own classes) against the live service.", no_args_is_help=True)


@app.callback()
def strategy() -> None:
    """Run a strategy (the replay's own classes) against the live service."""


@app.command("live")
def live(
    config: Path = typer.Argument(..., help="Runner config YAML: strategy (as hft replay -s), strategies (its "
                                            "parameters, as in a replay config), account, strategy_id, symbol."),
    service: str = typer.Option(..., "--service", envvar="HFT_SERVICE",
                                help="The service's order API, http://HOST:PORT (hft gateway serve)."),
    token: str = typer.Option(..., "--token", envvar="HFT_TOKEN", help="A token allowing the config's account and "
                              "strategy_id (hft gateway token)."),
    run_id: str = typer.Option(None, "--run-id", help="The run's id in its client order ids (default: the start "
                               "time). Give a stopped run's id to resume it: its children are read back, none is "
                               "sent twice."),
    max_seconds: float = typer.Option(0.0, "--max-seconds", help="Stop (cancelling working orders) after this many "
                                      "seconds; 0: until the strategy is done or SIGINT / SIGTERM."),
    json_out: bool = typer.Option(False, "--json", help="Print the run's summary as JSON (no progress lines)."),
) -> None:
    """Run CONFIG's strategy against the service: market data from its market stream, every order through its
    order API; stop when the strategy is done, or on SIGINT / SIGTERM after cancelling its working orders."""
    from hft.cli._output import emit
    from hft.live.algo import load_algo_config, run_live

    def say(line: str) -> None:
        if not json_out:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    summary = run_live(load_algo_config(config), service, token, run_id=run_id, max_seconds=max_seconds, out=say)
    emit(summary, json_out)
