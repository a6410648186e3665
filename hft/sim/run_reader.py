"""A run folder read back (docs/sim.md, "Run folder"): its summary and its tables as polars DataFrames.

What `hft replay --out DIR` (or `run_replay(..., out_dir=DIR)`) wrote, for a notebook or a script: ``orders``,
``fills``, ``decisions`` and ``equity`` keep the engine's integer columns and the readable ones beside them
(``ts_utc``, names, ``*_px``, ``*_inst``, ``*_ccy``; equity's ``net_equity_ccy`` is the marked equity in the
currency). `hft.sim.golden.diff_runs` reads run folders through the same two functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hft.core.errors import SimError

if TYPE_CHECKING:
    import polars as pl

TABLES = ("orders", "fills", "decisions", "equity")


@dataclass(frozen=True)
class RunFolder:
    """One instrument's run folder: `summary` (``summary.json``) and its four tables."""

    path: Path
    summary: dict[str, Any] = field(repr=False)
    orders: pl.DataFrame = field(repr=False)
    fills: pl.DataFrame = field(repr=False)
    decisions: pl.DataFrame = field(repr=False)
    equity: pl.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        """One line: strategy, instrument, the headline results and the tables' sizes."""
        s = self.summary
        return (f"RunFolder({str(self.path)!r}, strategy={s.get('strategy')!r}, symbol={s.get('symbol')!r}, "
                f"pnl={s.get('pnl')} {s.get('currency', '')}, position={s.get('position')}, "
                f"orders={len(self.orders):,}, fills={len(self.fills):,}, decisions={len(self.decisions):,}, "
                f"equity={len(self.equity):,} samples, run_hash={s.get('run_hash')!r})")


def read_run(folder: str | Path) -> RunFolder:
    """Read the run folder `folder` (one instrument: a run over several instruments has one under
    ``legs/NN_<symbol>/`` per leg). Anything missing or unreadable is a `SimError` naming the file."""
    d = Path(folder)
    if not (d / "summary.json").is_file():
        raise SimError(f"{d}: expected a run folder with summary.json", file=str(d))
    summary = read_summary(d)
    if not (d / "decisions.parquet").exists() and (d / "legs").is_dir():
        legs = sorted(x.name for x in (d / "legs").iterdir() if x.is_dir())
        raise SimError(f"{d}: expected the run folder of one instrument, it holds legs {legs}",
                       hint=f"read each leg: read_run('{d / 'legs' / (legs[0] if legs else 'NN_SYMBOL')}')",
                       file=str(d))
    return RunFolder(d, summary, *(read_table(d, t) for t in TABLES))


def read_summary(d: Path) -> dict[str, Any]:
    """``summary.json`` of the run folder `d`, a JSON object."""
    try:
        doc = json.loads((d / "summary.json").read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SimError(f"{d / 'summary.json'}: expected a JSON run summary ({type(exc).__name__})",
                       file=str(d / "summary.json")) from None
    if not isinstance(doc, dict):
        raise SimError(f"{d / 'summary.json'}: expected a JSON object, was {type(doc).__name__}",
                       file=str(d / "summary.json"))
    return doc


def read_table(d: Path, table: str) -> pl.DataFrame:
    """The table `table` (``orders``, ``fills``, ``decisions``, ``equity``) of the run folder `d`."""
    import polars as pl

    try:
        return pl.read_parquet(d / f"{table}.parquet")
    except Exception as exc:  # missing or damaged: polars raises several error types
        raise SimError(f"{d / f'{table}.parquet'}: expected a readable run-folder table "
                       f"({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''})",
                       file=str(d / f"{table}.parquet")) from None
