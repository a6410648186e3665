"""`hft replay`: replay recorded quotes with a strategy through the real gateway; golden checks and diffs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from hft.cli._output import console, emit, fmt_money, fmt_qty, fmt_rejects, progress_bar, short_hash
from hft.cli.data import FORMAT_OPT, MAPPING_OPT

STRATEGY_HELP = ("A registered strategy ({names}), FILE.py:Class or module:Class (a Strategy, or an @njit strategy "
                 "kernel: docs/extending.md).")


def strategy_help() -> str:
    """The ``--strategy`` help: the strategies registered now (the built-ins and installed plugins, read from the
    registry: `hft.sim.strategy_loader.registered`)."""
    from hft.sim.strategy_loader import registered  # lazy: numba, and only when the help is shown

    return STRATEGY_HELP.format(names=", ".join(sorted(registered())))


class _ReplayGroup(TyperGroup):
    """`hft replay`'s command group: its help names the registered strategies, read when it is shown (reading the
    registry scans the installed packages: not at every start of `hft`)."""

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:
        for p in self.params:
            if p.name == "strategy":
                p.help = strategy_help()
        super().format_help(ctx, formatter)


app = typer.Typer(help="Replay recorded quotes with a strategy through the real gateway.", cls=_ReplayGroup,
                  invoke_without_command=True, no_args_is_help=False)


@app.callback()
def replay(
    ctx: typer.Context,
    data: list[Path] = typer.Option(None, "--data", "-d", help="Market data (raw or imported). Repeat it, or give "
                                    "a glob ('gen/*.zip') or a range ('day_{20240102..20240105}.zip'), for several "
                                    "days of one instrument in one run (one session each, oldest first); a range "
                                    "skips values with no file (weekends, holidays) and says so in a notice; a glob "
                                    "or range matching no file is an error. Binance captures and Tardis pairs chain "
                                    "into one stream. Files of different instruments (one day each) replay on one "
                                    "clock through one gateway, on either engine (e.g. -s hedged_mm)."),
    strategy: str = typer.Option("mm", "--strategy", "-s", help=STRATEGY_HELP.format(names="the built-ins and installed plugins")),
    config: Path = typer.Option(None, "--config", "-c", help="Replay config YAML, layered over the shipped "
                                                             "config/sim/replay.yaml (name only what changes)."),
    sets: list[str] = typer.Option(None, "--set", help="Override one config key: path.to.key=value "
                                                       "(repeatable; e.g. --set strategies.mm.size=2)."),
    out: Path = typer.Option(None, "--out", "-o", help="Run folder to write (refused if it exists)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing run folder."),
    check: Path = typer.Option(None, "--check", help="Compare with a golden JSON; exit 14 when behaviour moved, "
                               "12 when its recorded data does not exist."),
    skip_missing_data: bool = typer.Option(False, "--skip-missing-data", help="With --check: a golden whose "
                                           "recorded data does not exist is reported skipped (exit 0), not failed "
                                           "(CI on a clone without ../shared)."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not record the run into the audit store."),
    engine: str = typer.Option(None, "--engine", help="numba (default) or python (the reference engine); both "
                                                      "give the same run hash. Overrides the config's 'engine'."),
    fmt: str = FORMAT_OPT,
    mapping: Path = MAPPING_OPT,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output on stdout."),
) -> None:
    """Replay DATA with STRATEGY; print the summary (and write the run folder with --out)."""
    if ctx.invoked_subcommand is not None:
        return
    from hft.core.errors import SimError
    from hft.data.sources import FILES
    from hft.sim.golden import check_golden
    from hft.sim.replay import load_replay_config, run_replay

    if check is not None:
        with progress_bar("golden check", enabled=not json_out):
            result = check_golden(check, source=FILES, skip_missing_data=skip_missing_data)
        emit(result, json_out, lambda: _render_check(result))
        if not result["ok"]:
            raise SimError(f"{check}: behaviour moved: {', '.join(result['moved'])}",
                           hint="inspect the diff; if the change is intended, regenerate the golden")
        return
    if not data:
        raise SimError("expected --data PATH (or --check GOLDEN.json)", hint="hft replay --data day.parquet -s mm")
    cfg = load_replay_config(config, sets or ())
    if engine is not None:
        from dataclasses import replace

        from hft.core.errors import ConfigError

        if engine not in ("numba", "python"):
            raise ConfigError(f"--engine: expected 'numba' or 'python', was {engine!r}", key="engine")
        cfg = replace(cfg, engine=engine)
    from hft.recorder import sim_runs

    with progress_bar("replay", "events", enabled=not json_out) as update:
        summary = run_replay(list(data), strategy, cfg, out_dir=out, force=force, progress=update,
                             recorder=None if no_store else sim_runs, fmt=fmt, mapping=mapping,
                             source=FILES)
    for n in summary.get("notices", ()):  # what a range skipped (days with no file): said, never silent
        sys.stderr.write(f"notice: {n}\n")
    for w in summary.get("warnings", ()):
        sys.stderr.write(f"warning: {w}\n")
    emit(summary, json_out, lambda: _render(summary))


@app.command("diff")
def diff_cmd(
    run_a: Path = typer.Argument(..., help="First run folder."),
    run_b: Path = typer.Argument(..., help="Second run folder."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Where two runs first diverge (the first differing decision, order or fill, field by field; leg by leg for
    runs over several instruments) and the metric deltas."""
    from hft.sim.golden import diff_runs

    result = diff_runs(run_a, run_b)
    emit(result, json_out, lambda: _render_diff(result))


@app.command("sweep")
def sweep_cmd(
    spec: Path = typer.Argument(..., help="Sweep spec YAML: strategy, parameter grid, data per instrument "
                                          "(see hft.sim.sweep)."),
    out: Path = typer.Option(None, "--out", "-o", help="Sweep folder (default $HFT_HOME/sweeps/NAME); "
                                                       "re-running into it resumes (finished cells are skipped)."),
    backend: str = typer.Option("local", "--backend", help="local (a process pool) or ray."),
    workers: int = typer.Option(None, "--workers", "-w", min=1, help="Processes (local) or CPUs of a local Ray "
                                                              "(default: the CPUs this process may use)."),
    address: str = typer.Option(None, "--address", help="Join this Ray cluster (--backend ray)."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not record the cells into the audit store."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output on stdout."),
) -> None:
    """Replay a strategy over a parameter grid x days x instruments; results in one Parquet table."""
    from hft.core.memory import keep_freed_memory
    from hft.data.sources import FILES
    from hft.sim.sweep import load_sweep, run_sweep

    keep_freed_memory()  # this process runs the cells itself with one worker: each reuses the last one's memory
    parsed = load_sweep(spec, source=FILES)
    for n in parsed.notices:  # what a range skipped, said before the cells run (as `hft replay` says it)
        sys.stderr.write(f"notice: {n}\n")
    if out is None:
        from hft.core.paths import hft_home

        out = hft_home() / "sweeps" / parsed.name
    from hft.recorder import sim_runs

    with progress_bar("sweep", "cells", enabled=not json_out) as update:
        result = run_sweep(parsed, out, backend=backend, workers=workers, address=address,
                           recorder=None if no_store else sim_runs, progress=update, source=FILES)
    emit(result, json_out, lambda: _render_sweep(result))
    if result["errors"]:  # the good cells' results are written; the sweep still fails, each error said once
        from hft.core.errors import SimError

        days = _sweep_days(result["rows"])
        for x in result["rows"]:
            if x["status"] == "error":
                sys.stderr.write(f"error: cell {x['n']} ({_cell_label(x, days)}): {x['error']}\n")
        sys.stderr.write(f"error: sweep {result['sweep']}: {result['errors']} of {result['cells']} cells failed\n")
        raise typer.Exit(SimError.exit_code)


def _sweep_days(rows: list[dict]) -> dict[tuple[str, str], str]:
    """Each (instrument, day) of a sweep's cells → the day as its table shows it (`short_day_labels`)."""
    from hft.sim.sessions import short_day_labels  # lazy: numpy

    pairs = list(dict.fromkeys((x["instrument"], x["day"]) for x in rows))
    labels = short_day_labels([d for _, d in pairs], within=[i for i, _ in pairs])
    return dict(zip(pairs, labels, strict=True))


def _cell_label(x: dict, days: dict[tuple[str, str], str]) -> str:
    """A cell as the sweep's table names it: instrument, day (`_sweep_days`), parameters."""
    return ", ".join([x["instrument"], days.get((x["instrument"], x["day"]), x["day"]),
                      *(f"{k}={v}" for k, v in x["params"].items())])


def _money_cell(v: float | None, unit: float | None) -> str:
    return "" if v is None else fmt_money(v, unit)


def _render_sweep(r: dict) -> None:
    """The leaderboard: one row per cell, its ``cell`` number the one the error lines and the best cell name
    (``cell 3``), its day the day's date; one instrument (or every cell ok) leaves its column out, the title
    naming the instrument."""
    from hft.cli._tables import render_rows

    days = _sweep_days(r["rows"])
    instruments = list(dict.fromkeys(x["instrument"] for x in r["rows"]))
    cols = ["cell", "instrument", "day", "params", "status", "PnL", "fees", "fills", "run hash"]
    rows = [[x["n"], x["instrument"], days[(x["instrument"], x["day"])],
             " ".join(f"{k}={v}" for k, v in x["params"].items()), x["status"],
             _money_cell(x["pnl"], x.get("money_unit")), _money_cell(x["fees"], x.get("money_unit")),
             "" if x["fills"] is None else f"{x['fills']:,}", short_hash(x["run_hash"])]
            for x in r["rows"]]
    on = f" on {instruments[0]}" if len(instruments) == 1 else ""
    render_rows(cols, rows, title=f"sweep {r['sweep']} ({r['strategy']}{on}, {r['backend']})",
                right=("cell", "PnL", "fees", "fills"), no_wrap=("cell", "day", "params", "run hash"),
                same=("instrument", "status"), key="cell", noun="cell", count=False)
    con = console()
    con.print(f"{r['cells']:,} cells: {r['new_cells']:,} run now, {r['resumed_cells']:,} resumed, {r['errors']:,} "
              f"errors; {r['wall_s']} s")
    if r["best"]:
        b = r["best"]
        n = f"cell {b['n']}" if "n" in b else "cell"
        con.print(f"best PnL: {n} ({_cell_label(b, days)}): {fmt_money(b['pnl'], b.get('money_unit'))}"
                  f"{' ' + b['currency'] if b.get('currency') else ''}")
    con.print(f"results: {r['results']}")


def _render(s: dict) -> None:
    from rich.table import Table

    if "legs" in s:
        _render_portfolio(s)
        return

    t = Table(title=f"replay {s['strategy']} on {s['symbol']} ({s['venue']})", show_header=False,
              title_justify="left")
    t.add_column("metric", style="bold")
    t.add_column("value")
    speed = f"{s['events_per_s']:,}/s" if s.get("events_per_s") else "n/a"
    unit = s["money_unit"]
    held = s.get("quantity_unit", "units")  # BTC, shares, contracts (a summary written before it: units)
    rows = [("events", f"{s['events']:,} in {s['wall_s']} s ({speed}"
                       + (f"; kernels compiled first in {s['compile_s']} s, not counted)" if s.get("compile_s")
                          else ")")),
            ("PnL", f"{fmt_money(s['pnl'], unit)} {s['currency']} (gross {fmt_money(s['pnl_gross'], unit)}, fees "
                    f"{fmt_money(s['fees'], unit)}; {s['pnl_money_units']:,} money units of {unit:g})"),
            *([("in " + s["quote_currency"], f"≈ PnL {fmt_money(q['pnl'])}, fees {fmt_money(q['fees'])} "
                   f"{s['quote_currency']} at the last mid {q['at_mid']:g}")]
              if (q := s.get("quote_equivalent")) else []),
            ("Sharpe / sample", f"{s['sharpe_per_sample']} (sample {s['sample_s']} s)"),
            ("max drawdown", f"{fmt_money(s['max_drawdown'], unit)} {s['currency']} "
                             f"({s['max_drawdown_money_units']:,} money units)"),
            ("orders / cancels", f"{s['orders']:,}"
                                 + (f" ({s['replaces']:,} replaces)" if s.get("replaces") else "")
                                 + f" / {s['cancels']:,}"),
            ("fills", f"{s['fills']:,} ({fmt_qty(s['filled_inst'])} {held} = {s['filled_qty']:,} lots, fill ratio "
                      f"{s['fill_ratio']:.3f}, maker {s['maker_share']:.1%})"),
            ("final position", f"{fmt_qty(s['position_inst'])} {held} ({s['position']:,} lots)"),
            ("rejects", fmt_rejects(s["rejects"])),
            ("run hash", s["run_hash"])]
    rs = s.get("resync")
    if rs is not None:
        rows.append(("L3 resync", (f"on: {rs['levels']:,} level adjustments (+{rs['added']:,} / -{rs['removed']:,} "
                                   "lots); local view = reference rows") if rs.get("enabled") else
                     "off (venue book and local view from the messages alone)"))
    if "run_folder" in s:
        rows.append(("run folder", s["run_folder"]))
    if "store" in s:
        rows.append(("store", f"{s['store']['fills_in_store']:,} fills queryable (run_id {s['store']['run_id']})"))
    if s.get("days"):
        rows.insert(0, ("days", f"{len(s['days'])} (one session each; per day below)"))
    for k, v in rows:
        t.add_row(k, str(v))
    console().print(t)
    if s.get("days"):
        _render_days(s)


def _render_portfolio(s: dict) -> None:
    """A run over several instruments (and days): the portfolio's figures, one row per leg, one per day."""
    from hft.cli._tables import render_rows

    ccy, unit = s["currency"], s["money_unit"]
    cols = ["leg", "events", "PnL", "fees", "orders", "fills", "position", "run hash"]
    rows = [[x["symbol"], f"{x['events']:,}", fmt_money(x["pnl"], unit), fmt_money(x["fees"], unit),
             f"{x['orders']:,}", f"{x['fills']:,}", f"{x['position']:,}", short_hash(x["run_hash"])]
            for x in s["legs"]]
    rows.append(["portfolio", f"{s['events']:,}", fmt_money(s["pnl"], unit), fmt_money(s["fees"], unit),
                 f"{s['orders']:,}", f"{s['fills']:,}", "", short_hash(s["run_hash"])])
    render_rows(cols, rows, title=f"replay {s['strategy']} on {' + '.join(s['symbols'])} ({ccy})",
                right=cols[1:-1], no_wrap=("leg", "run hash"), key="leg", count=False)
    ex = s["exposure"]
    con = console()
    con.print(f"exposure: net {fmt_money(ex['net'], unit)}, gross {fmt_money(ex['gross'], unit)}, max gross "
              f"{fmt_money(ex['max_gross'], unit)} {ccy}; max drawdown {fmt_money(s['max_drawdown'], unit)} {ccy}")
    legs = [f"{x['symbol']} {fmt_rejects(x['rejects'])}" for x in s["legs"] if x.get("rejects")]
    con.print(f"rejects: {'; '.join(legs) if legs else fmt_rejects(s.get('rejects') or {})}")
    if s.get("days"):
        cols = ["day", *s["symbols"], "PnL", "cum. PnL", "fills", "expired", "run hash"]
        rows = [[day, *(fmt_money(x["pnl"], unit) for x in d["legs"]), fmt_money(d["pnl"], unit),
                 fmt_money(d["pnl_cumulative"], unit), f"{d['fills']:,}", f"{d['expired_at_close']:,}",
                 short_hash(d["run_hash"])] for d, day in zip(s["days"], _day_names(s["days"]), strict=True)]
        render_rows(cols, rows, title=f"per day ({ccy}; PnL of that day alone)", right=cols[1:-1],
                    no_wrap=("day", "run hash"), key="day", noun="day")
    for key, label in (("run_folder", "run folder"), ("store", "store")):
        if key in s:
            con.print(f"{label}: {s[key] if key == 'run_folder' else s[key]['run_id']}")


def _render_days(s: dict) -> None:
    """One row per day of a run over several days (PnL and fees of that day alone)."""
    from hft.cli._tables import render_rows

    unit = s["money_unit"]
    cols = ["day", "events", "PnL", "fees", "cum. PnL", "orders", "fills", "position", "expired", "run hash"]
    rows = [[day, f"{d['events']:,}", fmt_money(d["pnl"], unit), fmt_money(d["fees"], unit),
             fmt_money(d["pnl_cumulative"], unit), f"{d['orders']:,}", f"{d['fills']:,}", f"{d['position']:,}",
             f"{d['expired_at_close']:,}", short_hash(d["run_hash"])]
            for d, day in zip(s["days"], _day_names(s["days"]), strict=True)]
    render_rows(cols, rows, title=f"per day ({s['currency']})", right=cols[1:-1], no_wrap=("day", "run hash"),
                key="day", noun="day")


def _day_names(days: list[dict]) -> list[str]:
    """The days of a run as its tables name them: their dates (`short_day_labels`)."""
    from hft.sim.sessions import short_day_labels  # lazy: numpy

    return short_day_labels([d["day"] for d in days])


def _render_check(r: dict) -> None:
    con = console()
    if r.get("skipped"):
        con.print(f"[yellow]golden skipped[/] {r['golden']}: {r['skipped']}")
        return
    if r["ok"]:
        con.print(f"[green]golden ok[/] {r['golden']}: run hash {r['run_hash']}")
        return
    con.print(f"[red]behaviour moved[/] {r['golden']}")
    for k, (want, got) in r["diff"].items():
        con.print(f"  {k}: expected {want!r}, was {got!r}")


def _render_diff(r: dict) -> None:
    """Each diverging table folder's first differing row, field by field, then the summaries' metric deltas and,
    on one line, their timings."""
    con = console()
    if not r["divergences"]:
        con.print("first divergence: none (identical decisions, orders and fills)")
    for d in r["divergences"]:
        where = "" if d["folder"] == "." else f"{d['folder']}: "
        con.print(f"first divergence: {where}{d['table']}, row {d['row']}", markup=False, highlight=False)
        if "note" in d:
            con.print(f"  {d['note']}", markup=False, highlight=False)
            for side in ("a", "b"):
                if d[side] is not None:
                    fields = ", ".join(f"{k}={_shown(v)}" for k, v in d[side].items() if v is not None)
                    con.print(f"  only in {side.upper()}: {fields}", markup=False, highlight=False)
        for k, v in d["fields"].items():
            con.print(f"  {k}: {_shown(v['a'])} → {_shown(v['b'])}", markup=False, highlight=False)
    if r["metric_deltas"]:
        con.print("summary (A → B):")
    for k, v in r["metric_deltas"].items():
        con.print(f"  {k}: {v['a']} → {v['b']} (Δ {v['delta']})", markup=False, highlight=False)
    if r["timing"]:  # how long each took: apart, as it differs between any two runs
        con.print("timing (A → B): " + ", ".join(f"{k} {v['a']} → {v['b']}" for k, v in r["timing"].items()),
                  markup=False, highlight=False)


def _shown(v: object) -> str:
    return "none" if v is None else str(v)
