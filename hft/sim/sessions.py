"""Several days (sessions) of one instrument in one replay: ``hft replay -d day1 -d day2 …``.

The inputs are grouped into days by the market-data source (`hft.core.market_data.MarketDataSource`; on files
`hft.data.sources.group_days`: a LOBSTER file, an imported event file or a generic table is one day; chaining
formats — Binance captures of one symbol, Tardis files of one symbol (a book + trades pair, consecutive days:
`hft.data.tardis`) — are one stream).
Each day is a session, replayed by the one engine loop (`hft.sim.engine_nb` or the reference engine):

* the venue is built afresh from the day's own data (LOBSTER: seeded with its pre-open book and resynced on
  its reference rows; L2: the day's book), and so is the strategy's local view;
* ONE `GatewayService` carries across the days (exposure, limits, policy, order ids): the next day's engine
  drives it (`GatewayService.rebind`) after `GatewayService.new_day()` (daily PnL restarts at zero, positions
  kept);
* orders still live at the end of a day expire at the gateway (`Engine.end_session`), as day orders do at the
  close; position, cash and fees carry into the next day (`Engine.continue_from`), and so does the strategy
  object (``on_start`` opens each session);
* days must come in time order (a day may not start before the previous one ended: `check_day_order`, a data
  error naming both files) and be of one instrument.

Results: one summary per day (its own run hash; PnL and fees of that day alone: the change of the cumulative
figures) and the total, whose arrays are the days' arrays end to end: the total run hash covers every
decision, order and fill of the run, its data hash the days' data hashes in order. The run folder is the
total's (tables of every day, tearsheet) with ``days/NN_<label>/`` run folders beside it; in memory
(`hft.sim.replay.replay_result`), the total's tables and the summary's ``days``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hft.compile_watch import CompileWatch
from hft.core.errors import DataValidationError, SimError
from hft.core.ids import run_hash
from hft.core.market_data import MarketDataSource
from hft.core.money import FEE_FRAC_UNITS, round_micro
from hft.core.units import iso_time
from hft.sim.instruments import apply_overrides
from hft.sim.replay import _ccy, add_notices, build_engine, summarise
from hft.sim.run_reader import RunResult


@dataclass
class Session:
    """One replayed day: its label, inputs, opened data (its instrument and metadata; the events are dropped after
    the replay), output and summary."""

    label: str
    paths: list[Path]
    md: Any
    out: Any
    summary: dict[str, Any]
    expired: int  # orders still live at its end, expired at the gateway


def day_label(paths: list[Path]) -> str:
    """A day's name: its (first) file name, ``+N`` more for a chain (`short_day_labels` shortens it for a table)."""
    return paths[0].name + (f" +{len(paths) - 1}" if len(paths) > 1 else "")


# a date in a file name: 2024-01-02 or 20240102, not inside a longer number (LOBSTER's 34200000 is no date)
_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?!\d)")


def short_day_label(label: str) -> str:
    """A day's name (`day_label`; a sweep's ``A_day + B_day`` for several instruments) as a person reads it: its
    date (``2024-01-02``; ``+N`` kept for a chain; one date for several instruments on that date, each date
    otherwise); the name itself when it holds no date."""
    parts = []
    for part in label.split(" + "):
        m = _DATE.search(part)
        if m is None:
            return label
        chain = re.search(r" \+\d+$", part)
        parts.append("-".join(m.groups()) + (chain.group(0) if chain else ""))
    return " + ".join(dict.fromkeys(parts))


def short_day_labels(labels: Sequence[str], within: Sequence[str] | None = None) -> list[str]:
    """`short_day_label` of each of `labels` (the rows of a table), where that tells the days apart: two
    different days that would read the same (two files of one date) keep their whole names. `within`: each row's
    instrument (days of different instruments may share a date)."""
    keys = list(within) if within is not None else [""] * len(labels)
    short = [short_day_label(x) for x in labels]
    seen: dict[tuple[str, str], set[str]] = {}
    for k, s, x in zip(keys, short, labels, strict=True):
        seen.setdefault((k, s), set()).add(x)
    return [s if len(seen[(k, s)]) == 1 else x for k, s, x in zip(keys, short, labels, strict=True)]


def replay_sessions(groups: list[list[Path]], strategy: Any, strategy_name: str, config: Any, *,
                    progress: Callable[[int, int], None] | None = None, commit: str = "",
                    prepare: Callable[[Any, Any], None] | None = None,
                    opened: Sequence[Any] = (), source: MarketDataSource, fmt: str | None = None,
                    mapping: Path | None = None) -> tuple[list[Session], Any]:
    """Replay each day of `groups` in order on one gateway (module docstring). `prepare(engine, md)` runs before
    each day's replay (Gate D hands the day's signal to its strategy there); `opened`: the first days' data,
    already opened; `source` opens the others (`hft.core.market_data.MarketDataSource`; the files on disk:
    `hft.data.sources.FILES`) with the format `fmt` and column `mapping` (None: detected). Returns the
    sessions and the gateway."""

    from hft.sim.engine_nb.buffers import Spares  # lazy: numba

    spares = Spares()  # the days reuse each other's buffers (this run's, freed with it)
    sessions: list[Session] = []
    gw = prev = None
    done = 0
    prev_span = (0, 0)
    symbol = None
    for k, paths in enumerate(groups):
        label = day_label(paths)
        md = opened[k] if k < len(opened) else source.open_market_data(paths, fmt=fmt, mapping=mapping)
        md = dataclasses.replace(md, instrument=apply_overrides(md.instrument, config.instrument))
        sym = md.instrument.symbol
        if symbol is not None and sym != symbol:
            raise SimError(f"{paths[0]}: expected days of one instrument ({symbol}), was {sym}",
                           hint="several instruments in one run: give each day's instruments together, the first "
                                "day first (hft replay -d A_day1 -d B_day1 -d A_day2 -d B_day2)")
        symbol = sym
        span = (int(md.events["exch_ts"].min()), int(md.events["exch_ts"].max()))
        if sessions:
            check_day_order(k + 1, paths[0], span, sessions[-1].paths[0], prev_span)
        prev_span = span
        engine, multiplier = build_engine(md, strategy, strategy_name, config, gateway=gw, spares=spares)
        if prev is not None:
            engine.continue_from(prev)
        if prepare is not None:
            prepare(engine, md)
        offset = done

        def day_progress(i: int, n: int, offset: int = offset) -> None:
            progress(offset + i, offset + n)

        t0 = time.perf_counter()
        with CompileWatch() as compiled:  # no progress asked: none passed (the loop then never stops to report)
            out = engine.run(day_progress if progress is not None else None, multiplier=multiplier)
        run_s = time.perf_counter() - t0
        expired = engine.end_session()
        summary = summarise(out, md, strategy_name, strategy.params(), config, paths, commit=commit,
                            compile_s=compiled.seconds, run_s=run_s)
        as_day(summary, sessions[-1].summary if sessions else None)
        summary.update(day=label, data=[str(p) for p in paths], expired_at_close=expired)
        # the day's events are no longer needed (its run folder needs the instrument): many days fit in memory
        slim = dataclasses.replace(md, events=md.events[:0], lobster=None)
        sessions.append(Session(label, list(paths), slim, out, summary, expired))
        done += out.events
        gw, prev = engine.gw, engine
    return sessions, gw


def check_day_order(n: int, path: Path, span: tuple[int, int], prev_path: Path, prev_span: tuple[int, int]) -> None:
    """Day `n` (from 1; its first file `path`, its first and last exchange times `span`) starts no earlier than day
    ``n - 1`` (`prev_path`, `prev_span`) ended. Else a `DataValidationError` naming both files and times (UTC) and
    which it is: the days given out of order (day `n` ends before day ``n - 1`` starts) or their data overlapping
    (the same data twice, a file copied under another day's name)."""
    first, last = span
    prev_first, prev_end = prev_span
    if first >= prev_end:
        return
    expected = f"{path}: expected day {n} to start after day {n - 1} ({prev_path}) ends"
    runs = f"day {n - 1} runs {iso_time(prev_first)} to {iso_time(prev_end)}, day {n} {iso_time(first)} to {iso_time(last)}"
    if last <= prev_first:
        raise DataValidationError(f"{expected}, was given out of order: {runs}", file=str(path),
                                  hint="give the days oldest first")
    raise DataValidationError(f"{expected}, was overlapping it: {runs}", file=str(path),
                              hint="give each day's data once (is one file a copy of the other?)")


def as_day(s: dict[str, Any], prev: dict[str, Any] | None) -> None:
    """Turn a summary `s` (cumulative PnL and fees since the first day) into that day's figures; the cumulative
    ones stay as ``pnl_cumulative`` and ``fees_cumulative``."""

    money = s["money_unit"]
    s["pnl_cumulative"], s["fees_cumulative"] = s["pnl"], s["fees"]
    s["pnl_money_units_cumulative"] = s["pnl_money_units"]
    s["fees_money_units_cumulative"] = s["fees_money_units"]
    s["fees_micro_units_cumulative"] = s["fees_micro_units"]
    if prev is None:
        return
    pnl_mu = s["pnl_money_units"] - prev["pnl_money_units_cumulative"]
    fees_micro = s["fees_micro_units"] - prev["fees_micro_units_cumulative"]  # exact: that day's fees, rounded once
    fees = fees_micro / FEE_FRAC_UNITS
    s["pnl_money_units"], s["fees_money_units"], s["fees_micro_units"] = pnl_mu, round_micro(fees_micro), fees_micro
    s["pnl"], s["fees"], s["pnl_gross"] = _ccy(pnl_mu * money), _ccy(fees * money), _ccy((pnl_mu + fees) * money)


def total_output(sessions: list[Session]) -> Any:
    """The run over every day as one `RunOutput`: the days' arrays end to end (module docstring)."""
    return concat_outputs([s.out for s in sessions])


def concat_outputs(outs: list[Any]) -> Any:
    """Consecutive sessions' `RunOutput`s as one: arrays end to end, counts summed, the last one's final state."""
    from hft.sim.engine import RunOutput  # lazy: numba

    dec, orders, fills, equity = (np.concatenate([getattr(o, f) for o in outs])
                                  for f in ("decisions", "orders", "fills", "equity"))
    rejects: dict[str, int] = {}
    for o in outs:
        for k, v in o.rejects.items():
            rejects[k] = rejects.get(k, 0) + v
    resync = None
    if all(o.resync is not None for o in outs):
        resync = dict(outs[-1].resync)
        for k, v in resync.items():
            if isinstance(v, int) and not isinstance(v, bool):
                resync[k] = sum(int(o.resync[k]) for o in outs)
    return RunOutput(dec, orders, fills, equity, sum(o.events for o in outs), sum(o.wall_s for o in outs),
                     dict(sorted(rejects.items())), dict(outs[-1].final), run_hash(dec, orders, fills),
                     outs[-1].gateway_metrics, _Chain([o.decision_records for o in outs]),
                     [t for o in outs for t in o.transition_records], resync,
                     np.concatenate([o.acks for o in outs]))  # by order id: ids never repeat across the days


class _Chain:
    """The days' decision records end to end, built only when read (a store write)."""

    def __init__(self, parts: list[Any]) -> None:
        self._parts = parts

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)

    def __iter__(self):
        for p in self._parts:
            yield from p

    def __getitem__(self, i: int) -> Any:
        return list(self)[i]


DAY_KEYS = ("day", "data", "events", "run_hash", "data_hash", "pnl", "pnl_gross", "fees", "pnl_cumulative",
            "pnl_money_units", "fees_money_units", "fees_micro_units", "max_drawdown", "sharpe_per_sample", "orders",
            "replaces", "cancels", "fills", "filled_qty", "fill_ratio", "position", "expired_at_close", "rejects",
            "wall_s", "events_per_s")


def total_summary(sessions: list[Session], out: Any, strategy_name: str, params: dict[str, Any], config: Any,
                  *, commit: str, multiplier: int | None = None) -> dict[str, Any]:
    """The summary of the whole run (`summarise` over the total output, `multiplier` as there) with ``days``: each
    day's figures."""

    compile_s = sum(s.summary["compile_s"] for s in sessions)
    summary = summarise(out, sessions[-1].md, strategy_name, params, config, [], commit=commit,
                        compile_s=compile_s, run_s=out.wall_s if compile_s else None, multiplier=multiplier)
    summary["data_hash"] = hashlib.blake2b("|".join(s.summary["data_hash"] for s in sessions).encode(),
                                           digest_size=8).hexdigest()
    # speed: the days' replay seconds (each without its kernel compilation), summed
    replay_s = sum(s.out.events / s.summary["events_per_s"] for s in sessions if s.summary.get("events_per_s"))
    summary["events_per_s"] = round(out.events / replay_s) if replay_s > 0 else None
    summary["days"] = [{k: s.summary[k] for k in DAY_KEYS if k in s.summary} for s in sessions]
    summary["n_days"] = len(sessions)
    return summary


def run_days(groups: list[list[Path]], strategy: Any, strategy_name: str, config: Any, *,
             out_dir: Path | None, force: bool, progress: Any, recorder: Any, commit: Any,
             opened: Sequence[Any] = (), source: MarketDataSource, fmt: str | None = None,
             mapping: Path | None = None, tables: bool = False,
             notices: list[str] | None = None) -> tuple[dict[str, Any], RunResult | None]:
    """`hft replay` over several days: replay, summaries, run folder (with ``days/``), the `recorder`'s record
    (`hft.sim.recording.RunRecorder`, or None); `opened`: the first days' data, already opened; `source`,
    `fmt`, `mapping`: as `replay_sessions`; `notices`: what expanding the data skipped (`replay.add_notices`). Returns the summary and, with `tables`, the run's `RunResult` (the
    total's tables; its ``days`` the summary's)."""
    from hft.sim.run_folder import fill_run_folder, folder_name, publish_run, write_run_folder  # lazy: numba
    from hft.sim.run_tables import run_result  # lazy: numba

    try:
        sessions, gw = replay_sessions(groups, strategy, strategy_name, config, progress=progress,
                                       commit=commit.result(), opened=opened, source=source, fmt=fmt,
                                       mapping=mapping)
    finally:
        commit.close()
    out = total_output(sessions)
    summary = total_summary(sessions, out, strategy_name, strategy.params(), config, commit=commit.result())
    result = run_result(out, summary, sessions[-1].md.instrument, out_dir) if tables else None

    def fill(folder: Path) -> None:  # the whole run's folder, then each day's under days/
        fill_run_folder(folder, out, summary, sessions[-1].md, config, None if result is None else result.tables)
        (folder / "days").mkdir()
        for k, s in enumerate(sessions, 1):
            write_run_folder(folder / "days" / folder_name(k, s.label), s.out, s.summary, s.md, force=False, config=config)

    record = None if recorder is None else (lambda: recorder.record_run(out, summary,
                                                                         sessions[-1].md.instrument.symbol, gw))
    add_notices(summary, notices or [])
    publish_run(summary, out_dir, fill, force=force, record=record)
    return summary, result
