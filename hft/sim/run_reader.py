"""A replay's results (docs/sim.md, "Run folder"): its summary and its tables as polars DataFrames, in memory or
read back from its run folder.

`RunResult` is both: what `hft.sim.replay.replay_result` returns (no folder needed; ``path`` is the run folder
when one was written too, else None) and what `read_run(DIR)` reads back from what ``hft replay --out DIR`` (or
``run_replay(..., out_dir=DIR)``) wrote. The tables come from one builder, `hft.sim.run_tables.readable_frames`
(the portfolio's from `hft.sim.portfolio.portfolio_frame`), so a run's tables in memory equal its files read
back. ``orders``, ``fills``, ``decisions`` and ``equity`` keep the engine's integer columns and the readable ones
beside them (``ts_utc``, names, ``*_px``, ``*_inst``, ``*_ccy``; equity's ``net_equity_ccy`` is the marked equity
in the currency). A run over several instruments has ``portfolio`` and one result per leg (``legs``,
``leg(symbol)``); a run over several days, ``days``. `hft.sim.golden.diff_runs` compares two runs as
`RunResult`s (a run folder through `read_run`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hft.core.errors import SimError
from hft.core.orders import order_counts

if TYPE_CHECKING:
    import polars as pl

TABLES = ("orders", "fills", "decisions", "equity")
PORTFOLIO = "portfolio"  # a run over several instruments: ``portfolio.parquet``


@dataclass(frozen=True, eq=False)
class RunResult:
    """A replay's `summary` and tables, in memory (`hft.sim.replay.replay_result`) or read back (`read_run`);
    `path`: its run folder, None when none was written.

    One instrument (one day or several): the tables `orders`, `fills`, `decisions`, `equity`. Several
    instruments: `portfolio` (``portfolio.parquet``'s frame) and `legs` (by symbol; `leg(symbol)`), each a
    `RunResult` of one instrument. Several days: `days`, each day's figures (the summary's ``days``). Asking for
    what the run does not have (the legs of one instrument, the orders of a portfolio) is a `SimError`.
    """

    path: Path | None
    summary: dict[str, Any] = field(repr=False)
    tables: Mapping[str, pl.DataFrame] = field(repr=False)  # `TABLES`, or {"portfolio": …} (several instruments)
    leg_results: tuple[RunResult, ...] = field(default=(), repr=False)

    @property
    def orders(self) -> pl.DataFrame:
        """Our order log: one row per new / cancel / replace sent (``orders.parquet``); how many *orders* that is
        (new + replace): `hft.core.orders.order_counts`."""
        return self._table("orders")

    @property
    def fills(self) -> pl.DataFrame:
        """Our fills (``fills.parquet``)."""
        return self._table("fills")

    @property
    def decisions(self) -> pl.DataFrame:
        """The gateway's decision on each intent: accepted, rejected (its reason), duplicate."""
        return self._table("decisions")

    @property
    def equity(self) -> pl.DataFrame:
        """Equity samples: position, cash, fees, the mid, realised / unrealised / net equity in the currency."""
        return self._table("equity")

    @property
    def several_instruments(self) -> bool:
        """Whether this is a run over several instruments (legs and a portfolio table)."""
        return bool(self.leg_results)

    @property
    def portfolio(self) -> pl.DataFrame:
        """A run over several instruments: per equity sample the portfolio's net equity and exposures and each
        leg's position and net equity (``portfolio.parquet``)."""
        if not self.several_instruments:
            raise SimError(f"{self._name()}: a run of one instrument ({self.summary.get('symbol')}) has no portfolio "
                           "table", hint="its tables: .orders, .fills, .decisions, .equity")
        return self.tables[PORTFOLIO]

    @property
    def legs(self) -> dict[str, RunResult]:
        """A run over several instruments: each leg's result (one instrument, over every day), by symbol in leg
        order."""
        if not self.several_instruments:
            raise SimError(f"{self._name()}: a run of one instrument ({self.summary.get('symbol')}) has no legs",
                           hint="its tables: .orders, .fills, .decisions, .equity")
        return {leg.summary.get("symbol", f"leg {k}"): leg for k, leg in enumerate(self.leg_results)}

    def leg(self, symbol: str) -> RunResult:
        """The leg of `symbol` of a run over several instruments (a `SimError` naming the symbols otherwise)."""
        legs = self.legs
        if symbol not in legs:
            raise SimError(f"{self._name()}: expected one of the run's symbols {list(legs)}, was {symbol!r}")
        return legs[symbol]

    @property
    def days(self) -> list[dict[str, Any]]:
        """A run over several days: each day's figures (PnL and fees of that day alone, ``pnl_cumulative``, its run
        hash …; the summary's ``days``; each day's whole run folder is ``days/NN_<day>/`` when one was written)."""
        days = self.summary.get("days")
        if not isinstance(days, list):
            raise SimError(f"{self._name()}: a run of one day has no days", hint="its figures are .summary")
        return days

    def stats(self) -> dict[str, Any]:
        """The tearsheet's figures by name (`hft.report.run.run_stats`): PnL, gross PnL, fees, max drawdown, Sharpe
        per sample, orders, cancels, fills, fill ratio, maker share, turnover, position, per-trade edge and win
        rate, money in the run's ``currency``. A run over several instruments: the portfolio's figures (PnL,
        fees, drawdown, Sharpe, positions) and ``legs``, each leg's `stats` by symbol."""
        from hft.report.run import run_stats  # lazy: the report module (matplotlib is lazier still)

        if not self.several_instruments:
            return run_stats(self.tables, self.summary)
        s = self.summary
        out = {k: s.get(k) for k in ("currency", "pnl", "pnl_gross", "fees", "max_drawdown", "sharpe_per_sample",
                                      "sample_s", "positions", "run_hash")}
        return out | {"legs": {sym: leg.stats() for sym, leg in self.legs.items()}}

    def stats_frame(self) -> pl.DataFrame:
        """`stats` as a polars frame: one row (one instrument) or one row per leg (several instruments), a
        ``symbol`` column first."""
        import polars as pl  # lazy: polars is loaded by the tables anyway

        runs = self.legs if self.several_instruments else {str(self.summary.get("symbol")): self}
        return pl.DataFrame([{"symbol": sym, **r.stats()} for sym, r in runs.items()])

    def plot(self) -> list[Any]:
        """The tearsheet's figures as matplotlib ``Figure``\\ s (`hft.report.run.run_figures`: equity and drawdown,
        position, fills on the price path, PnL against fees, order latency, queue at entry; several instruments:
        `portfolio_figures`). In a notebook, a figure displays itself; ``fig.savefig(path)`` writes it."""
        from hft.report.run import portfolio_figures, run_figures  # lazy: matplotlib

        if self.several_instruments:
            return [fig for fig, _ in portfolio_figures(self.portfolio, self.summary)]
        return [fig for fig, _ in run_figures(self.tables, self.summary)]

    def tearsheet(self, path: str | Path, *, config_text: str | None = None) -> Path:
        """Write the run's tearsheet (``report.html``, self-contained) to `path` and return it: the one a run
        folder holds, for a run in memory too. `config_text`: the effective config to show (default: the run
        folder's ``config.yaml`` when there is one)."""
        from hft.report.run import write_portfolio_tearsheet, write_tearsheet  # lazy: matplotlib

        if config_text is None and self.path is not None and (self.path / "config.yaml").is_file():
            config_text = (self.path / "config.yaml").read_text()
        if self.several_instruments:
            return write_portfolio_tearsheet(path, self.portfolio, [(r.tables, r.summary) for r in self.leg_results],
                                             self.summary, config_text)
        return write_tearsheet(path, self.tables, self.summary, config_text)

    def _table(self, name: str) -> pl.DataFrame:
        if self.several_instruments:
            symbols = list(self.legs)
            raise SimError(f"{self._name()}: a run over several instruments {symbols} has no {name} table of its "
                           "own", hint=f"take a leg's: .leg({symbols[0]!r}).{name}, or .portfolio")
        return self.tables[name]

    def _name(self) -> str:
        return str(self.path) if self.path is not None else "run in memory"

    def __repr__(self) -> str:
        """One line: strategy, instrument(s), the headline results and the tables' sizes."""
        s = self.summary
        head = f"RunResult({str(self.path) if self.path is not None else None!r}, strategy={s.get('strategy')!r}, "
        money = f"pnl={s.get('pnl')} {s.get('currency', '')}"
        days = f"days={len(s['days'])}, " if isinstance(s.get("days"), list) else ""
        if self.several_instruments:
            return (head + f"symbols={list(self.legs)}, {money}, positions={s.get('positions')}, {days}"
                    f"legs={len(self.leg_results)}, portfolio={len(self.portfolio):,} samples, "
                    f"run_hash={s.get('run_hash')!r})")
        return (head + f"symbol={s.get('symbol')!r}, {money}, position={s.get('position')}, {days}"
                f"orders={order_counts(self.orders).orders:,}, fills={len(self.fills):,}, decisions={len(self.decisions):,}, "
                f"equity={len(self.equity):,} samples, run_hash={s.get('run_hash')!r})")


RunFolder = RunResult  # its name before results in memory existed (a run folder read back)


def read_run(folder: str | Path) -> RunResult:
    """Read the run folder `folder` back: one instrument's tables, or those of a run over several instruments
    (``portfolio.parquet`` and each leg's run folder under ``legs/NN_<symbol>/``). Anything missing or unreadable
    is a `SimError` naming the file."""
    d = Path(folder)
    if not (d / "summary.json").is_file():
        raise SimError(f"{d}: expected a run folder with summary.json", file=str(d))
    summary = read_summary(d)
    if not (d / "decisions.parquet").exists() and (d / "legs").is_dir():
        legs = sorted(x for x in (d / "legs").iterdir() if x.is_dir())
        if not legs:
            raise SimError(f"{d / 'legs'}: expected a run folder per leg, there is none", file=str(d / "legs"))
        return RunResult(d, summary, {PORTFOLIO: read_table(d, PORTFOLIO)}, tuple(read_run(x) for x in legs))
    return RunResult(d, summary, {t: read_table(d, t) for t in TABLES})


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
    """The table `table` (``orders``, ``fills``, ``decisions``, ``equity``; ``portfolio`` of a run over several
    instruments) of the run folder `d`."""
    import polars as pl

    try:
        return pl.read_parquet(d / f"{table}.parquet")
    except Exception as exc:  # missing or damaged: polars raises several error types
        raise SimError(f"{d / f'{table}.parquet'}: expected a readable run-folder table "
                       f"({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''})",
                       file=str(d / f"{table}.parquet")) from None
