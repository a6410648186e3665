"""``hft replay sweep SPEC``: a strategy's parameter grid × days × instruments, each cell one replay, on a local
process pool or on Ray; resumable; one Parquet table of results (and a row per cell in the store).

Spec (YAML, strict; relative paths resolve against the spec's folder)::

    sweep: mm_spread                  # name (letters, digits, '_', '-', '.')
    strategy: mm                      # as `hft replay -s`: a registered name, FILE.py:Class or module:Class
    grid: {size: [1, 2], skew_per_lot: [0, 1]}   # strategy parameters: lists (`hft.config.grid`, as alpha search)
    data:                             # instrument label -> its days (paths, globs, {FROM..TO} ranges, {A,B} lists)
      GOOG: [lobster/GOOG_2012-06-21.zip]
      SYNTH: ["gen/*.zip"]
      GOOG+AMZN:                      # a group: instrument label -> its days; replayed together on one clock
        GOOG: [lobster/GOOG_2012-06-21.zip]       # (the first is leg 0; day d is day d of each instrument)
        AMZN: [lobster/AMZN_2012-06-21.zip]
    days: each                        # each: one cell per day | together: one multi-day run per instrument
                                      # (or group)
    config: replay.yaml               # optional: a replay config (layered over the shipped one, as --config;
                                      # without it, the shipped config, as `hft replay` without --config)
    set: ["latency.entry=2ms"]        # optional: --set overrides

Cells are numbered in one order: instrument or group (spec order), day (file order), grid point (spec order, the
last parameter fastest). A group's cell is one run over several instruments, exactly `hft replay -d A -d B` (its
data in leg order; several days: ``-d A1 -d B1 -d A2 -d B2``, `hft.sim.portfolio_days`): `run_replay` takes it
as it takes a single instrument. A cell's id is a hash of what decides its result: the strategy spec, its
parameters, the effective replay config (`ReplayConfig.digest`) and the content of its data files in their
order, never paths or times.

Output folder: ``cells/<cell id>.json`` (one per finished cell, written atomically as it finishes: a sweep that
stops resumes from there, skipping finished cells) and ``results.parquet`` (every cell of the spec, in cell
order: the deterministic columns only, so that any backend gives the same table; a group's cell adds its
portfolio's exposure and a ``legs`` list of per-leg figures, `LEG_COLUMNS`). Each replay is a pure function of its
cell, so the local pool and Ray give identical rows.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hft.config.grid import expand_grid, grid_size, parse_grid
from hft.config.strict import Section, load_yaml
from hft.core.cpus import usable_cpus
from hft.core.errors import ConfigError, HftError, SimError
from hft.core.fileio import atomic_path, atomic_write_text
from hft.core.ids import sha256_file
from hft.core.market_data import MarketDataSource
from hft.core.memory import keep_freed_memory
from hft.core.pool import spawn_pool
from hft.core.ray_session import ray_session
from hft.sim.recording import RunRecorder
from hft.sim.replay import load_replay_config, run_replay
from hft.sim.strategy_loader import declared_params, instantiate, resolve

__all__ = ["LEG_COLUMNS", "PORTFOLIO_COLUMNS", "RESULT_COLUMNS", "SweepSpec", "load_sweep", "run_cell", "run_sweep"]

MAX_CELLS = 100_000

# the summary figures of a cell kept in the results table (deterministic: no wall times)
RESULT_COLUMNS = ("run_hash", "config_hash", "data_hash", "events", "pnl", "pnl_gross", "fees", "currency",
                  "money_unit", "sharpe_per_sample", "max_drawdown", "orders", "replaces", "cancels", "fills",
                  "filled_qty", "fill_ratio", "maker_share", "position", "decisions")
# a group's cell (a run over several instruments): the portfolio's exposure at the end and at its largest
PORTFOLIO_COLUMNS = ("exposure_net", "exposure_gross", "exposure_max_gross")
# ... and each leg's figures (the ``legs`` column: a list of structs, in leg order)
LEG_COLUMNS = {"symbol": "str", "run_hash": "str", "data_hash": "str", "events": "int", "pnl": "float",
               "pnl_gross": "float", "fees": "float", "max_drawdown": "float", "orders": "int", "replaces": "int",
               "cancels": "int", "fills": "int", "filled_qty": "int", "fill_ratio": "float", "position": "int",
               "maker_share": "float"}


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep spec (module docstring); `cells` are JSON-safe dicts, the unit of work."""

    name: str
    strategy: str
    grid: dict[str, list[Any]]
    cells: tuple[dict[str, Any], ...]
    file: str | None = None
    notices: tuple[str, ...] = ()  # what the data's ranges skipped (days with no file), as `hft replay` says it


def load_sweep(path: str | Path, *, source: MarketDataSource) -> SweepSpec:
    """Read and strictly parse a sweep spec file (`source` as `parse_sweep`)."""
    return parse_sweep(load_yaml(path), path, source=source)


def parse_sweep(mapping: Any, file: str | Path | None = None, *, source: MarketDataSource) -> SweepSpec:
    """Strictly parse a sweep spec mapping (errors name the file and key) and enumerate its cells; `source`
    expands and groups the data paths into days (`hft.core.market_data.MarketDataSource`; the files on disk:
    `hft.data.sources.FILES`)."""


    root = Section(mapping, file)
    base = Path(file).resolve().parent if file is not None else Path.cwd()
    name = root.str("sweep")
    if not name or not all(c.isalnum() or c in "_-." for c in name):
        root.fail("sweep", "a name of letters, digits, '_', '-' or '.'", name)
    spec_s = root.str("strategy")
    try:
        rs = resolve(spec_s)
    except HftError as exc:
        raise ConfigError(f"{root.file}: key 'strategy': {exc.message}", file=root.file, key="strategy") from None

    def check(pname: str, value: Any) -> None:
        instantiate(rs, {pname: value})  # the loader's type and bound checks

    grid = parse_grid(root.section("grid", {}), declared_params(rs.cls), check, owner=rs.key)
    days_mode = root.str("days", "each", choices=["each", "together"])
    cfg_path = root.raw("config", None)
    if cfg_path is not None:  # (None: the shipped config, as `hft replay` without --config: `load_replay_config`)
        cfg_path = str((base / root.str("config")).resolve())
    sets = root.raw("set", [])
    if not isinstance(sets, list) or not all(isinstance(x, str) for x in sets):
        root.fail("set", "a list of 'path.to.key=value' strings", sets)
    data = root.section("data")
    if not data.data:
        data.fail("data", "a mapping of instrument label -> list of data paths", dict(data.data))

    def days_of(section: Section, label: Any) -> list[list[str]]:
        """The days (file groups) of one instrument's paths."""
        raw, key = section.raw(label), section.key(str(label))
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
            section.fail(key, "a non-empty list of data paths (globs, {FROM..TO} ranges and {A,B} lists expand)",
                          raw)
        try:
            groups = source.group_days(source.expand_paths([p if Path(p).is_absolute() else str(base / p)
                                                            for p in raw], notices))
        except HftError as exc:
            raise ConfigError(f"{root.file}: key '{key}': {exc.message}", file=root.file, key=key) from None
        return [[str(p) for p in g] for g in groups]

    notices: list[str] = []
    units: list[tuple[str, str, list[str]]] = []  # (instrument or group label, day label, paths)
    for label in list(data.data):
        key = data.key(str(label))
        if isinstance(data.data[label], dict):  # a group: its instruments replayed together, the first is leg 0
            group = data.section(label)
            if len(group.data) < 2:
                group.fail(key, "a group of two or more instruments (instrument label -> list of data paths)",
                            dict(group.data))
            legs = {str(m): days_of(group, m) for m in list(group.data)}
            counts = {m: len(d) for m, d in legs.items()}
            if len(set(counts.values())) != 1:
                group.fail(key, "the same number of days of each instrument of the group",
                            ", ".join(f"{m} {n}" for m, n in counts.items()))
            n_days = next(iter(counts.values()))
            # day d of the group: day d of each instrument, in leg order (as `hft replay -d A1 -d B1 -d A2 -d B2`)
            per_day = [[p for d in legs.values() for p in d[i]] for i in range(n_days)]
            if days_mode == "each":
                units += [(str(label), " + ".join(Path(d[i][0]).name for d in legs.values()), paths)
                          for i, paths in enumerate(per_day)]
            else:
                units.append((str(label), f"{n_days} days", [p for paths in per_day for p in paths]))
            continue
        groups = days_of(data, label)
        if days_mode == "each":
            units += [(str(label), Path(g[0]).name, g) for g in groups]
        else:
            units.append((str(label), f"{len(groups)} days", [p for g in groups for p in g]))
    data.done()
    root.done()
    n_cells = len(units) * grid_size(grid)
    if n_cells > MAX_CELLS:
        raise ConfigError(f"{root.file}: expected at most {MAX_CELLS:,} cells, the spec enumerates {n_cells:,}",
                          file=root.file, hint="shrink the grid or the data")
    base_cfg = load_replay_config(cfg_path, sets)  # a bad config fails now, before any replay
    shas: dict[str, str] = {}
    cells = []
    for inst, day, paths in units:
        for p in paths:
            shas.setdefault(p, sha256_file(p))
        for params in expand_grid(grid):
            cfg = replace(base_cfg, strategies={**base_cfg.strategies,
                                                rs.key: {**base_cfg.strategies.get(rs.key, {}), **params}})
            ident = json.dumps({"strategy": spec_s, "key": rs.key, "params": params, "config": cfg.digest(),
                                "data": [shas[p] for p in paths]}, sort_keys=True, default=str)
            cells.append({"cell": hashlib.blake2b(ident.encode(), digest_size=8).hexdigest(), "n": len(cells),
                          "instrument": inst, "day": day, "data": paths, "strategy": spec_s, "key": rs.key,
                          "params": params, "config": cfg_path, "set": list(sets)})
    return SweepSpec(name, spec_s, grid, tuple(cells), None if file is None else str(file), tuple(notices))


def run_cell(cell: dict[str, Any], source: MarketDataSource) -> dict[str, Any]:
    """Replay one cell (in whatever process runs it; `source` opens its data and pickles into the worker) and
    return its result row: the cell's keys, ``status``
    (``ok`` | ``error``), the summary figures of `RESULT_COLUMNS` (``error``: the one-line message instead) and
    ``wall_s`` (kept out of the results table)."""


    row = {k: cell[k] for k in ("cell", "n", "instrument", "day", "data", "strategy", "params")}
    try:
        cfg = load_replay_config(cell["config"], cell["set"])
        key = cell["key"]
        cfg = replace(cfg, strategies={**cfg.strategies, key: {**cfg.strategies.get(key, {}), **cell["params"]}})
        s = run_replay([Path(p) for p in cell["data"]], cell["strategy"], cfg, source=source)
    except HftError as exc:  # a cell that cannot run is a result too (the sweep goes on)
        return {**row, "status": "error", "error": exc.message, "wall_s": 0.0}
    return {**row, "status": "ok", "error": "", **{k: s.get(k) for k in RESULT_COLUMNS}, **_cell_legs(s),
            "wall_s": s["wall_s"], "summary": s}


def _cell_legs(summary: dict[str, Any]) -> dict[str, Any]:
    """A cell's ``symbols`` and, for a run over several instruments (`hft.sim.portfolio.portfolio_summary`), its
    `PORTFOLIO_COLUMNS` and ``legs`` (`LEG_COLUMNS` of each leg; None for one instrument)."""
    if "legs" not in summary:
        return {"symbols": [summary.get("symbol")], **dict.fromkeys(PORTFOLIO_COLUMNS), "legs": None}
    ex = summary["exposure"]
    return {"symbols": list(summary["symbols"]), "exposure_net": ex["net"], "exposure_gross": ex["gross"],
            "exposure_max_gross": ex["max_gross"],
            "legs": [{k: leg.get(k) for k in LEG_COLUMNS} for leg in summary["legs"]]}


# --- backends -------------------------------------------------------------------------------------------------

def _run_local(todo: list[dict[str, Any]], workers: int, on_done: Callable[[dict[str, Any]], None],
               source: MarketDataSource) -> None:
    if workers <= 1 or len(todo) <= 1:
        for c in todo:
            on_done(run_cell(c, source))
        return

    # the pool's processes are the sweep's own: each keeps freed memory for its next cell (`hft.core.memory`)
    with spawn_pool(min(workers, len(todo)), initializer=keep_freed_memory) as pool:
        # submit, not map: map cancels its pending futures when interrupted, and Python 3.11's pool then fails
        # marking those cancelled futures broken as `spawn_pool` stops the workers (a traceback on stderr)
        futures = [pool.submit(run_cell, c, source) for c in todo]
        for fut in futures:  # submission order: results recorded in cell order
            on_done(fut.result())


def _run_ray(todo: list[dict[str, Any]], workers: int, address: str | None,
             on_done: Callable[[dict[str, Any]], None], source: MarketDataSource) -> None:
    def missing() -> Exception:
        return SimError("sweep --backend ray: expected Ray to be installed", hint="pip install 'hft[ray]'")

    with ray_session(workers, address, missing) as ray:
        remote = ray.remote(run_cell)
        pending = [remote.remote(c, source) for c in todo]
        for p in pending:  # in submission order: deterministic recording order
            on_done(ray.get(p))


# --- driver ---------------------------------------------------------------------------------------------------

def run_sweep(spec: SweepSpec, out_dir: Path, *, backend: str = "local", workers: int | None = None,
              address: str | None = None, recorder: RunRecorder | None = None,
              progress: Callable[[int, int], None] | None = None,
              source: MarketDataSource) -> dict[str, Any]:
    """Run (or resume) `spec` into `out_dir` (module docstring); returns the summary (JSON-safe). `recorder`
    records a row per new finished cell (the store: the module `hft.recorder.sim_runs`; None: nothing);
    `source` opens each cell's data (`hft.core.market_data.MarketDataSource`; the files: `hft.data.sources.FILES`)."""


    if backend not in ("local", "ray"):
        raise SimError(f"sweep: backend: expected 'local' or 'ray', was {backend!r}", key="backend")
    if address and backend != "ray":
        raise SimError("sweep: --address is for --backend ray", key="address")
    workers = workers or usable_cpus()
    cells_dir = Path(out_dir) / "cells"
    cells_dir.mkdir(parents=True, exist_ok=True)
    done = {c["cell"] for c in spec.cells if (cells_dir / f"{c['cell']}.json").is_file()}
    todo = [c for c in spec.cells if c["cell"] not in done]
    new_rows: list[dict[str, Any]] = []
    total = len(spec.cells)

    def on_done(row: dict[str, Any]) -> None:
        summary = row.pop("summary", None)
        atomic_write_text(cells_dir / f"{row['cell']}.json", json.dumps(row, sort_keys=True, default=str) + "\n")
        new_rows.append({**row, "summary": summary})
        if progress is not None:
            progress(len(done) + len(new_rows), total)

    t0 = time.perf_counter()
    if progress is not None:
        progress(len(done), total)
    try:
        if todo:
            if backend == "ray":
                _run_ray(todo, workers, address, on_done, source)
            else:
                _run_local(todo, workers, on_done, source)
    finally:
        if recorder is not None and new_rows:
            _record(spec, new_rows, recorder)
    wall = time.perf_counter() - t0
    rows = [json.loads((cells_dir / f"{c['cell']}.json").read_text()) for c in spec.cells]
    table = Path(out_dir) / "results.parquet"
    _write_table(table, spec, rows)
    ok = [r for r in rows if r["status"] == "ok"]
    best = max(ok, key=lambda r: (r["pnl"], -r["n"]), default=None)
    errors = len(rows) - len(ok)
    # ``ok`` only when every cell ran: a failed cell's row carries its one-line ``error`` (the table has the others)
    return {"ok": errors == 0, "sweep": spec.name, "strategy": spec.strategy, "cells": total, "new_cells": len(todo),
            "resumed_cells": len(done), "errors": errors, "backend": backend, "notices": list(spec.notices),
            "workers": workers, "wall_s": round(wall, 3), "results": str(table), "out": str(out_dir),
            "best": None if best is None else {k: best.get(k) for k in ("n", "cell", "instrument", "day", "params",
                                                                          "pnl", "currency", "money_unit", "fills",
                                                                          "run_hash")},
            "rows": [{k: r.get(k) for k in ("n", "cell", "instrument", "day", "params", "status", "pnl", "fees",
                                            "currency", "money_unit", "fills", "run_hash", "error")} for r in rows]}


def _write_table(path: Path, spec: SweepSpec, rows: list[dict[str, Any]]) -> None:
    """``results.parquet``: one row per cell in cell order; a ``p_<name>`` column per grid parameter; ``symbols``
    (the cell's, leg order), the `PORTFOLIO_COLUMNS` and ``legs`` (null for a cell of one instrument)."""
    import polars as pl


    cols: dict[str, list[Any]] = {k: [] for k in ("n", "cell", "sweep", "instrument", "day", "data", "strategy",
                                                  "params", "status", "error")}
    for p in spec.grid:
        cols[f"p_{p}"] = []
    for k in (*RESULT_COLUMNS, *PORTFOLIO_COLUMNS):
        cols[k] = []
    for r in rows:
        for k in cols:
            if k == "sweep":
                cols[k].append(spec.name)
            elif k == "params":
                cols[k].append(json.dumps(r["params"], sort_keys=True))
            elif k == "data":
                cols[k].append(";".join(r["data"]))
            elif k.startswith("p_"):
                cols[k].append(r["params"].get(k[2:]))
            else:
                cols[k].append(r.get(k))
    types = {"str": pl.String, "int": pl.Int64, "float": pl.Float64}
    leg = pl.Struct({k: types[t] for k, t in LEG_COLUMNS.items()})  # a fixed type: any backend, any rows
    table = pl.DataFrame(cols, strict=False).with_columns(
        *(pl.Series(k, cols[k], dtype=pl.Float64, strict=False) for k in PORTFOLIO_COLUMNS),
        pl.Series("symbols", [r.get("symbols") for r in rows], dtype=pl.List(pl.String)),
        pl.Series("legs", [r.get("legs") for r in rows], dtype=pl.List(leg), strict=False))
    with atomic_path(path) as tmp:
        table.write_parquet(tmp)


def _record(spec: SweepSpec, rows: list[dict[str, Any]], recorder: RunRecorder) -> None:
    """One ``sim.runs`` row per new finished cell (status ok / error), its summary naming the sweep and cell."""
    recorder.record_summaries([{**(r["summary"] or {"run_hash": f"sweep-{r['cell']}", "strategy": r["strategy"]}),
                       "sweep": {"name": spec.name, "cell": r["cell"], "n": r["n"], "instrument": r["instrument"],
                                 "day": r["day"], "params": r["params"]}, "status": r["status"],
                       "error": r.get("error", "")} for r in rows], writer=f"sweep-{spec.name}")
