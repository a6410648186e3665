"""Several days of several instruments in one replay: ``hft replay -d A_d1 -d B_d1 -d A_d2 -d B_d2 -s hedged_mm``.

The data groups (days, `hft.core.market_data.MarketDataSource.group_days`) are laid out by instrument: the
instruments in the order they first appear (the first is leg 0), the days of each in the order given; every
instrument must have the same number of days, day d being the d-th group of each. Day d is a run over several
instruments (`hft.sim.portfolio`: its legs merged on one clock, `replay_legs`, either engine) and the days are
sessions as `hft.sim.sessions` makes them:

* ONE `GatewayService` (every leg's symbol) carries across the days: each day's engine drives it after its
  `new_day()` (daily PnL restarts at zero, positions kept);
* each day's venues and local views are built afresh from that day's data; orders still live at the end of a day
  expire at the gateway (`Engine.end_session`); each leg's position, cash and fees carry into the next day
  (`Engine.continue_from`), and so do the strategy object, the idempotency keys and the latency draws;
* day d + 1 may not start (its earliest event over the legs) before day d ended (its latest).

Results: per day, the day's portfolio summary with its legs (PnL and fees of that day alone, as
`hft.sim.sessions` counts a day: ``*_cumulative`` keep the running figures; its own run hash); per leg over the
days, the leg's total (`hft.sim.sessions.total_summary` over that leg's days); the portfolio total
(`portfolio.portfolio_summary` over the days' outputs end to end), whose run hash covers every decision, order
and fill with the leg of each (the rule of `Engine`'s several-leg output). The run folder is the total's as a run
over several instruments writes it (``portfolio.parquet``, ``legs/NN_<symbol>/`` each leg over all days) with
``days/NN_<label>/`` beside it, each a run folder over several instruments. The store records the run once,
each order and fill under its own symbol.

Every day's data is opened before the replay (the layout needs each group's instrument); each day's events are
dropped once that day is replayed.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.errors import SimError
from hft.sim.engine import LegResult, legs_run_hash
from hft.sim.instruments import apply_overrides
from hft.sim.portfolio import (
    check_legs,
    fill_portfolio_folder,
    leg_configs,
    leg_output,
    order_symbols,
    portfolio_result,
    portfolio_summary,
    replay_legs,
)
from hft.sim.replay import add_notices, summarise
from hft.sim.run_folder import folder_name, publish_run
from hft.sim.run_reader import RunResult
from hft.sim.sessions import (
    DAY_KEYS,
    Session,
    as_day,
    check_day_order,
    concat_outputs,
    day_label,
    total_output,
    total_summary,
)

__all__ = ["day_layout", "run_portfolio_days"]


def day_layout(groups: list[list[Path]], mds: list[Any]) -> list[list[int]]:
    """The groups of each day: ``layout[d][k]`` is the index (into `groups`) of instrument k's day d (module
    docstring). Raises `SimError` when the instruments have different numbers of days."""
    by_symbol: dict[str, list[int]] = {}
    for i, md in enumerate(mds):
        by_symbol.setdefault(md.instrument.symbol, []).append(i)
    counts = {sym: len(ix) for sym, ix in by_symbol.items()}
    if len(set(counts.values())) != 1:
        raise SimError("several days of several instruments: expected the same number of days of each instrument, "
                       "was " + ", ".join(f"{sym} {n}" for sym, n in counts.items()),
                       hint="give every instrument's file for each day (hft replay -d A_day1 -d B_day1 -d A_day2 "
                            "-d B_day2)")
    n_days = next(iter(counts.values()))
    return [[ix[d] for ix in by_symbol.values()] for d in range(n_days)]


def _check_time_order(groups: list[list[Path]], mds: list[Any], layout: list[list[int]]) -> None:
    """Day d + 1 starts (its earliest event over the legs) no earlier than day d ended (its latest):
    `hft.sim.sessions.check_day_order`, naming each day by its first file."""
    prev = None
    for d, ix in enumerate(layout):
        span = (min(int(mds[i].events["exch_ts"].min()) for i in ix),
                max(int(mds[i].events["exch_ts"].max()) for i in ix))
        if prev is not None:
            check_day_order(d + 1, groups[ix[0]][0], span, groups[prev[0][0]][0], prev[1])
        prev = (ix, span)


def total_legs_output(day_outs: list[Any]) -> Any:
    """The run over every day as one `RunOutput` of several legs: the days' arrays end to end
    (`sessions.total_output`), each leg's equity, orders and decisions over the days, its final accounting the last
    day's, and the run hash `engine.legs_run_hash` (the rule of `Engine`'s output of several legs)."""
    out = concat_outputs(day_outs)
    offsets = np.cumsum([0] + [len(o.decisions) for o in day_outs[:-1]])
    legs = []
    for k, last in enumerate(day_outs[-1].legs):
        parts = [o.legs[k] for o in day_outs]
        legs.append(LegResult(last.symbol, last.multiplier, np.concatenate([p.equity for p in parts]),
                              dict(last.final), np.concatenate([p.order_ids for p in parts]),
                              np.concatenate([p.decisions + off for p, off in zip(parts, offsets, strict=True)])))
    return dataclasses.replace(out, legs=legs, equity=out.equity[:0],
                               run_hash=legs_run_hash(out.decisions, out.orders, out.fills, legs))


def run_portfolio_days(groups: list[list[Path]], mds: list[Any], strategy: Any, strategy_name: str, config: Any, *,
                       out_dir: Path | None, force: bool, progress: Any, recorder: Any, commit: Any,
                       tables: bool = False, notices: list[str] | None = None) -> tuple[dict[str, Any], RunResult | None]:
    """`hft replay` over several days of several instruments (module docstring): replay, per-day x per-leg,
    per-leg and portfolio summaries, the run folder, the `recorder`'s record (`hft.sim.recording.RunRecorder`,
    or None); `notices`: what expanding the data skipped (`replay.add_notices`). `mds`: every group opened, in the order of `groups`. Returns the summary and, with `tables`, the
    run's `portfolio.portfolio_result` (each leg's tables over every day; ``days`` the summary's)."""
    mds = [dataclasses.replace(md, instrument=apply_overrides(md.instrument, config.instrument)) for md in mds]
    layout = day_layout(groups, mds)
    for ix in layout:
        check_legs([groups[i] for i in ix], [mds[i] for i in ix], config)
    _check_time_order(groups, mds, layout)
    params = strategy.params()
    total_events = sum(len(md.events) for md in mds)
    days: list[dict[str, Any]] = []  # per day: label, outputs, summaries, opened data (slim)
    leg_sessions: list[list[Session]] = [[] for _ in layout[0]]
    gw = prev = None
    done = 0
    from hft.sim.engine_nb.buffers import Spares  # lazy: numba

    spares = Spares()  # the days reuse each other's buffers (this run's, freed with it)
    try:
        sha = commit.result()
        for ix in layout:
            day_mds = [mds[i] for i in ix]
            day_groups = [groups[i] for i in ix]
            label = " + ".join(day_label(g) for g in day_groups)

            def day_progress(i: int, n: int, offset: int = done) -> None:
                progress(offset + i, total_events)

            out, engine, run_s, compile_s = replay_legs(day_mds, strategy, strategy_name, config,
                                                        progress=day_progress if progress is not None else None,
                                                        gateway=gw, prev=prev, spares=spares)
            expired = engine.end_session()
            leg_outs = [leg_output(out, k, len(md.events)) for k, md in enumerate(day_mds)]
            leg_sums = []
            for k, (o, md, g, cfg) in enumerate(zip(leg_outs, day_mds, day_groups, leg_configs(day_mds, config),
                                                    strict=True)):
                s = summarise(o, md, strategy_name, params, config, g, commit=sha, multiplier=cfg.multiplier)
                earlier = leg_sessions[k]
                as_day(s, earlier[-1].summary if earlier else None)
                s.update(day=day_label(g), data=[str(p) for p in g])
                slim = dataclasses.replace(md, events=md.events[:0], lobster=None)
                mds[ix[k]] = slim  # the day's events are no longer needed: many days fit in memory
                earlier.append(Session(day_label(g), list(g), slim, o, s, 0))
                leg_sums.append(s)
            summary = portfolio_summary(out, day_mds, leg_sums, strategy_name, params, config, day_groups,
                                        commit=sha, run_s=run_s, compile_s=compile_s)
            summary.update(day=label, expired_at_close=expired,
                           pnl_cumulative=round(sum(s["pnl_cumulative"] for s in leg_sums), 2))
            days.append({"label": label, "out": out, "leg_outs": leg_outs, "leg_summaries": leg_sums,
                         "summary": summary, "mds": [s[-1].md for s in leg_sessions]})
            done += out.events
            gw, prev = engine.gw, engine
    finally:
        commit.close()
    out = total_legs_output([d["out"] for d in days])
    leg_outs = [total_output(s) for s in leg_sessions]
    leg_sums = [total_summary(s, o, strategy_name, params, config, commit=sha, multiplier=cfg.multiplier)
                for s, o, cfg in zip(leg_sessions, leg_outs, leg_configs(days[-1]["mds"], config), strict=True)]
    last_mds = days[-1]["mds"]
    compile_s = sum(d["summary"]["compile_s"] for d in days)
    summary = portfolio_summary(out, last_mds, leg_sums, strategy_name, params, config, groups, commit=sha,
                                run_s=out.wall_s, compile_s=compile_s)
    summary["data_hash"] = hashlib.blake2b("|".join(d["summary"]["data_hash"] for d in days).encode(),
                                           digest_size=8).hexdigest()
    summary["n_days"] = len(days)
    summary["days"] = [{**{k: d["summary"][k] for k in (*DAY_KEYS, "positions") if k in d["summary"]},
                        "legs": [{k: s[k] for k in ("symbol", *DAY_KEYS) if k in s} for s in d["leg_summaries"]]}
                       for d in days]
    result = portfolio_result(out, summary, leg_outs, leg_sums, last_mds, out_dir) if tables else None

    def fill(tmp: Path) -> None:  # the whole run's folder, then each day's under days/
        fill_portfolio_folder(tmp, out, summary, leg_outs, leg_sums, last_mds, config, result)
        (tmp / "days").mkdir()
        for k, d in enumerate(days, 1):
            folder = tmp / "days" / folder_name(k, d["label"])
            folder.mkdir()
            fill_portfolio_folder(folder, d["out"], d["summary"], d["leg_outs"], d["leg_summaries"], d["mds"],
                                  config)

    add_notices(summary, notices or [])
    publish_run(summary, out_dir, fill, force=force,
                record=None if recorder is None else (lambda: recorder.record_run(out, summary, order_symbols(out),
                                                                                  gw)))
    return summary, result
