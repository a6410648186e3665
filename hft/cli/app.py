"""Root of the `hft` command and the error → exit-code table.

Command groups live in their own modules and import heavy libraries (numba, polars) only inside the commands
that need them, so `hft --help` stays instant.

Exit codes: 0 ok; 1 unexpected internal error; 2 usage error (bad flags); 10 HftError; 11 ConfigError;
12 DataError (validation, gaps); 13 GatewayError; 14 SimError; 15 StoreError; 16 GovernanceError; 17 a gate
failed; 130 interrupted (SIGINT, Ctrl-C); 143 terminated (SIGTERM).

Interruptions (`hft.core.interrupts`; docs/architecture.md, rule 12): the first SIGINT / SIGTERM unwinds the
command (its cleanup runs: temp files and folders removed, workers stopped, the WAL closed) and ends in one
``error: interrupted by SIG…`` line. Repeats within `REPEAT_WINDOW_S` of the first (a terminal's flood, a double
tap, a supervisor's signal on top of the terminal's) are noted and leave the cleanup alone; a repeat after it
means "exit now": one line saying the cleanup was skipped, the same exit code, at once.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import traceback

import typer

from hft import __version__
from hft.cli import alpha as alpha_cmds
from hft.cli import alpha_experiments as alpha_experiments_cmds
from hft.cli import alpha_lifecycle as alpha_lifecycle_cmds
from hft.cli import alpha_search as alpha_search_cmds
from hft.cli import audit as audit_cmds
from hft.cli import data as data_cmds
from hft.cli import demo as demo_cmds
from hft.cli import gateway as gateway_cmds
from hft.cli import replay as replay_cmds
from hft.cli import sim as sim_cmds
from hft.cli import store as store_cmds
from hft.cli import strategy as strategy_cmds
from hft.cli import warmup as warmup_cmds
from hft.core.errors import HftError
from hft.core.interrupts import Interrupts, catch_interrupts, release

app = typer.Typer(
    name="hft",
    help="HFT research platform: deterministic replay through the real order gateway, and alpha governance.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"hft {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """hft command line."""


app.add_typer(data_cmds.app, name="data")
app.add_typer(gateway_cmds.app, name="gateway")
app.add_typer(sim_cmds.app, name="sim")
app.add_typer(replay_cmds.app, name="replay")
app.add_typer(strategy_cmds.app, name="strategy")
alpha_lifecycle_cmds.register(alpha_cmds.app)
alpha_search_cmds.register(alpha_cmds.app)
alpha_cmds.app.add_typer(alpha_experiments_cmds.app, name="experiments")
app.add_typer(alpha_cmds.app, name="alpha")
app.add_typer(audit_cmds.app, name="audit")
app.add_typer(store_cmds.app, name="store")
app.command("demo")(demo_cmds.demo)
app.command("warmup")(warmup_cmds.warmup)


def _report(exc: HftError, json_mode: bool) -> int:
    if json_mode:
        sys.stdout.write(json.dumps({"ok": False, **exc.to_dict()}, default=str) + "\n")
    sys.stderr.write(f"error: {exc.message}\n")
    if exc.hint:
        sys.stderr.write(f"hint: {exc.hint}\n")
    return exc.exit_code


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point. Maps errors to exit codes; traceback only with HFT_DEBUG=1."""
    if argv is None:
        _process_gc()
    args = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("HFT_DEBUG") == "1"
    json_mode = "--json" in args
    code = 0
    interrupts = Interrupts(json_mode)
    received = interrupts.received
    previous = catch_interrupts(interrupts)
    try:
        # not standalone: usage errors come here (a JSON error under --json), exits return their code
        rv = app(args=args, prog_name="hft", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except (KeyboardInterrupt, typer.Abort):
        if not received:  # a KeyboardInterrupt no handler of ours saw (typer's Abort, a library's own)
            received.append(signal.SIGINT)
    except typer.TyperException as exc:  # click's usage errors (bad flags, missing arguments): exit code 2
        exc.show()  # type: ignore[attr-defined]
        if json_mode:
            msg = exc.format_message()  # type: ignore[attr-defined]
            sys.stdout.write(json.dumps({"ok": False, "error": "UsageError", "message": msg}) + "\n")
        code = int(getattr(exc, "exit_code", 2))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except HftError as exc:
        if debug:  # the traceback is added; the exit code stays the error family's
            traceback.print_exc()
        if not received:
            code = _report(exc, json_mode)
    except BrokenPipeError:
        code = 0
    except Exception as exc:
        if debug:
            traceback.print_exc()
        if not received:  # an interruption a library turned into its own error is reported as the interruption
            sys.stderr.write(f"error: internal error: {exc.__class__.__name__}: {exc}\n")
            if not debug:
                sys.stderr.write("hint: rerun with HFT_DEBUG=1 for a traceback, and report it\n")
        code = 1
    finally:
        interrupts.unwound = True  # nothing left to unwind: a signal from here on is a repeat or exits now
        if argv is not None:  # a caller's process goes on: its handlers back (the console script keeps ours to
            release(interrupts, previous)  # its exit, so a late Ctrl-C is no traceback at shutdown)
    if received:
        code = _report_interrupt(received[0], json_mode)
    if argv is None:
        gc.freeze()  # the process ends here: no cycle collection of every live object at interpreter shutdown
        sys.exit(code)
    return code


def _report_interrupt(signum: int, json_mode: bool) -> int:
    """One line for a command stopped by `signum`; its exit code, 128 + the signal (130 Ctrl-C, 143 SIGTERM)."""
    name = signal.Signals(signum).name
    if json_mode:
        sys.stdout.write(json.dumps({"ok": False, "error": "Interrupted", "signal": name}) + "\n")
    sys.stderr.write(f"error: interrupted by {name}\n")
    return 128 + signum


def _process_gc() -> None:
    """Garbage-collector settings for an `hft` process (the console script; not for `main(argv)` callers).

    Start-up allocates hundreds of thousands of long-lived objects (numpy, numba's typing registries, loaded
    kernels) and little cyclic garbage, so the default thresholds (700, 10, 10) spend a large share of a short
    command in repeated full collections. A young generation of 100k objects keeps garbage bounded (cycles are
    still collected) at a fraction of the cost. At exit, `gc.freeze()` skips the shutdown collections over the
    whole heap (several tenths of a second). Every command has closed its files, stores and WAL writers by
    then (context managers), and atexit handlers still run.
    """
    gc.set_threshold(100_000, 10, 10)
