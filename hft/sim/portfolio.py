"""Several instruments in one replay: ``hft replay -d GOOG.zip -d AMZN.zip -s hedged_mm``.

Each ``--data`` group of its own instrument is a *leg* (`hft.sim.legs`): the legs' events merge on one clock and
drive ONE `GatewayService` holding every leg's symbol (`Engine.of_legs`). Each leg keeps its venue (built by
`hft.sim.replay.build_venue`, exactly as a single-instrument replay builds it: L3 with its LOBSTER pre-open book and
reference resync, or L2 with the queue model), its local view and its accounting; the strategy addresses legs
through its context (`Context.leg`).

Results: one summary per leg — `summarise` over the leg's own orders, fills, decisions and equity samples
(`leg_output`), so a leg reads like a single-instrument run — and the portfolio: PnL, gross PnL and fees summed
over the legs, the net equity series (the legs' net equity at each common sample time, `replay.net_equity`) with its
drawdown and Sharpe, the final positions and their net / gross exposure at the last local mids, the largest gross
exposure sampled, orders / fills / rejects of the run and the run hash over every decision, order and fill plus
the leg of each (`hft.sim.engine`). The legs must settle in one currency; they count money in one unit, the finest
that each leg's own is a whole multiple of (`leg_configs`: BTCUSDT and SOLUSDT do; USD and USDT legs, or a
coin-margined contract and a spot pair, are refused). The run folder holds ``summary.json``,
``config.yaml`` and ``portfolio.parquet`` (the portfolio's series, `portfolio_frame`) and
``legs/NN_<symbol>/``, one whole run folder per leg; the store records the
run once, each order and fill under its own symbol. In memory (`hft.sim.replay.replay_result`): `portfolio_result`,
the same tables.

Both engines run several legs (the numba engine: `hft.sim.engine_nb`, "Several legs"; same run hash). Several
days of several instruments in one run: `hft.sim.portfolio_days` (one such run per day, on one gateway). Not
built yet: sweeps over instrument pairs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hft import __version__
from hft.compile_watch import CompileWatch
from hft.core.errors import SimError
from hft.core.ids import run_hash
from hft.core.money import FEE_FRAC_UNITS, round_micro
from hft.core.orders import fill_ratio
from hft.sim.engine import RunOutput, reject_counts
from hft.sim.engine_nb import ENGINES
from hft.sim.fees import mark_value, money_factor
from hft.sim.instruments import apply_overrides
from hft.sim.legs import LegInput
from hft.sim.replay import (
    _ccy,
    _ffill,
    add_notices,
    build_venue,
    engine_config,
    equity_stats,
    gateway_factory,
    money_units,
    net_equity,
    summarise,
    write_config,
)
from hft.sim.run_folder import folder_name, publish_run, write_run_folder, write_summary
from hft.sim.run_reader import PORTFOLIO, RunResult
from hft.sim.run_tables import run_result

if TYPE_CHECKING:
    import polars as pl


def are_instruments(opened: list[Any]) -> bool:
    """Whether data groups are instruments, not days of one: the first two opened groups name different
    symbols (`check_legs` then refuses anything but one group per instrument)."""
    return opened[0].instrument.symbol != opened[1].instrument.symbol


def check_legs(groups: list[list[Path]], mds: list[Any], config: Any) -> None:
    """Legs must be distinct instruments whose money converts exactly to one unit (`leg_configs`)."""
    symbols = [md.instrument.symbol for md in mds]
    for k, sym in enumerate(symbols):
        if sym in symbols[:k]:
            raise SimError(f"{groups[k][0]}: expected one day per instrument, {sym} is given twice",
                           hint="a run over several days of several instruments takes each instrument once a "
                                "day (hft.sim.portfolio_days)")
    leg_configs(mds, config)


def leg_configs(mds: list[Any], config: Any) -> list[Any]:
    """Each leg's replay config: `config` with the leg's ``multiplier``, chosen so every leg counts money in one
    unit, the finest that each leg's own unit is a whole multiple of (`hft.sim.fees.money_unit`). Legs of one
    money unit keep the config's multiplier; BTCUSDT (one unit: 1e-10 USDT) and SOLUSDT (1e-5 USDT) count in
    1e-10 USDT, SOLUSDT's multiplier times 100,000. Money limits of the gateway are in that unit.

    Raises:
        SimError: legs settling in different currencies, or inverse and linear legs together (no exchange rate
        is assumed), or a multiplier beyond 2^53.
    """
    insts = [md.instrument for md in mds]
    ccys = {i.settlement for i in insts}
    if len(ccys) > 1:
        per = ", ".join(f"{i.symbol} in {i.settlement}" for i in insts)
        raise SimError(f"several instruments: expected one settlement currency, the legs settle {per}",
                       hint="replay instruments of different currencies apart (no exchange rate is assumed)")
    kinds = {i.kind for i in insts}
    if kinds != {"linear"}:
        if len(kinds) > 1:
            per = ", ".join(f"{i.symbol} {i.kind}" for i in insts)
            raise SimError(f"several instruments: expected linear or inverse legs, not both ({per})",
                           hint="replay inverse (coin-margined) and linear instruments apart")
        return [config] * len(mds)  # inverse legs of one coin: one money unit already (1e-9 coin / multiplier)
    value = [Fraction(Decimal(i.tick_size)) * Fraction(Decimal(i.lot_size)) * Fraction(Decimal(i.contract_size))
             for i in insts]  # one tick x one lot, in the currency
    unit = value[0] / config.multiplier
    for v in value[1:]:  # the greatest unit dividing every leg's: gcd of the fractions
        a, b = unit, v / config.multiplier
        unit = Fraction(math.gcd(a.numerator * b.denominator, b.numerator * a.denominator),
                        a.denominator * b.denominator)
    mults = [int(v / unit) for v in value]
    for i, m in zip(insts, mults, strict=True):
        if m >= 2**53:
            raise SimError(f"several instruments: {i.symbol}'s money in the legs' common unit ({float(unit):g} "
                           f"{i.settlement}) needs a multiplier of {m}, beyond 2^53",
                           hint="replay these instruments apart")
    return [config if m == config.multiplier else dataclasses.replace(config, multiplier=m) for m in mults]


def replay_legs(mds: list[Any], strategy: Any, strategy_name: str, config: Any, *,
                progress: Any = None, gateway: Any = None, prev: Any = None,
                spares: Any = None) -> tuple[Any, Any, float, float]:
    """Replay the legs `mds` (opened, instrument overrides applied) on one clock; returns the `RunOutput`, the
    engine, the replay seconds and the kernel compilation seconds. `gateway` and `prev`: the previous day's
    gateway and engine of a run over several days (`hft.sim.portfolio_days`): the gateway is driven by this
    engine after its `new_day()`, and positions, cash and fees carry on from `prev` (`Engine.continue_from`).
    `spares`: memory reused from the runs given the same one (`hft.sim.engine_nb.buffers.Spares`)."""
    legs = []
    configs = leg_configs(mds, config)
    for md, cfg in zip(mds, configs, strict=True):
        inst = md.instrument
        venue, seed_levels, reference = build_venue(md, cfg)
        legs.append(LegInput(md.events, venue, inst.symbol, inst.book_level, seed_levels, reference,
                             money_factor(inst, cfg.multiplier)))
    instruments = [md.instrument for md in mds]
    factory = gateway_factory(instruments, strategy_name, config, gateway,
                              multipliers=[cfg.multiplier for cfg in configs])
    engine = ENGINES[config.engine].of_legs(legs, factory, strategy, engine_config(config, strategy_name),
                                             spares=spares)
    if prev is not None:
        engine.continue_from(prev)
    t0 = time.perf_counter()
    with CompileWatch() as compiled:
        out = engine.run(progress)
    return out, engine, time.perf_counter() - t0, compiled.seconds


def leg_output(out: Any, k: int, events: int) -> Any:
    """Leg `k` of a run over several instruments as a single-instrument `RunOutput`: its decisions, orders,
    fills, equity, final accounting, acks, its `events` (the leg's own count); its own run hash over its
    arrays."""
    leg = out.legs[k]
    dec = out.decisions[leg.decisions]
    orders = out.orders[np.isin(out.orders["order_id"], leg.order_ids)]
    fills = out.fills[np.isin(out.fills["order_id"], leg.order_ids)]
    acks = out.acks[np.isin(out.acks["order_id"], leg.order_ids)]
    records = [out.decision_records[int(i)] for i in leg.decisions]
    return RunOutput(dec, orders, fills, leg.equity, events, out.wall_s, reject_counts(dec), dict(leg.final),
                     run_hash(dec, orders, fills), out.gateway_metrics, records, [], None, acks)


def position_value(eq: np.ndarray, money: int) -> np.ndarray:
    """A leg's position at each equity sample valued at its last local mid, in money units (`mark_value`; 0
    before the first mid)."""
    if not len(eq):
        return np.zeros(1)
    mid2 = _ffill(np.where(eq["mid2"] > 0, eq["mid2"].astype(np.float64), np.nan))
    ok = ~np.isnan(mid2)
    value = np.zeros(len(eq))
    value[ok] = mark_value(eq["position"][ok], mid2[ok], money)
    return value


def portfolio_series(legs: list[Any]) -> dict[str, Any]:
    """The portfolio at the legs' common equity samples (every sample holds one row per leg), in money units:
    each leg's net equity (`replay.net_equity`) and position value (`position_value`), the net equity summed over
    the legs, the net and gross exposure. One element (zeros) when there are no samples."""
    nets = [net_equity(leg.equity, leg.multiplier) for leg in legs]
    values = [position_value(leg.equity, leg.multiplier) for leg in legs]
    return {"ts": legs[0].equity["ts"], "nets": nets, "values": values, "net_equity": np.sum(nets, axis=0),
            "net_exposure": np.sum(values, axis=0), "gross_exposure": np.sum(np.abs(values), axis=0)}


def portfolio_frame(legs: list[Any], money: float) -> pl.DataFrame:
    """The portfolio's table (``portfolio.parquet``): per equity sample ``ts``, the portfolio's ``net_equity_ccy``,
    ``net_exposure_ccy``, ``gross_exposure_ccy``, per leg ``<symbol>_position`` and ``<symbol>_net_equity_ccy``
    (currency columns: money units × `money`), and ``ts_utc``."""
    import polars as pl  # lazy: polars only when a run's tables are built (a replay never loads it)

    series = portfolio_series(legs)
    n = len(series["ts"])
    cols: dict[str, Any] = {"ts": series["ts"]}
    for key in ("net_equity", "net_exposure", "gross_exposure"):
        cols[f"{key}_ccy"] = series[key][:n] * money
    for leg, net in zip(legs, series["nets"], strict=True):
        cols[f"{leg.symbol}_position"] = leg.equity["position"]
        cols[f"{leg.symbol}_net_equity_ccy"] = net[:n] * money
    return pl.DataFrame(cols).with_columns(pl.col("ts").cast(pl.Datetime("ns", "UTC")).alias("ts_utc"))


def write_portfolio_table(path: Path, legs: list[Any], money: float, currency: str,
                          frame: pl.DataFrame | None = None) -> None:
    """``portfolio.parquet``: `portfolio_frame` (`frame`, when already built), its currency `currency`."""
    frame = portfolio_frame(legs, money) if frame is None else frame
    frame.write_parquet(path, metadata={"hft.currency": currency, "hft.money_unit": repr(money)})


LEG_KEYS = ("symbol", "events", "run_hash", "data_hash", "pnl", "pnl_gross", "fees", "pnl_money_units",
            "fees_money_units", "fees_micro_units", "max_drawdown", "orders", "replaces", "cancels", "fills",
            "filled_qty", "fill_ratio", "position", "position_inst", "rejects", "maker_share")


def portfolio_summary(out: Any, mds: list[Any], leg_summaries: list[dict[str, Any]], strategy_name: str,
                      params: dict[str, Any], config: Any, data: list[list[Path]], *, commit: str, run_s: float,
                      compile_s: float) -> dict[str, Any]:
    """The run's summary: the portfolio's figures and each leg's (module docstring)."""
    money = leg_summaries[0]["money_unit"]
    legs = out.legs
    series = portfolio_series(legs)
    sharpe, max_dd = equity_stats(series["net_equity"])
    gross = series["gross_exposure"]
    last = [float(v[-1]) for v in series["values"]]
    pnl_mu = sum(s["pnl_money_units"] for s in leg_summaries)
    fees_micro = sum(s["fees_micro_units"] for s in leg_summaries)  # exact (`hft.core.money`): rounded once
    fees_mu, fees_exact = round_micro(fees_micro), fees_micro / FEE_FRAC_UNITS
    replay_s = run_s - compile_s if compile_s else out.wall_s
    eq0 = legs[0].equity
    return {
        "ok": True, "strategy": strategy_name, "params": params,
        "symbols": [leg.symbol for leg in legs], "n_instruments": len(legs),
        "events": out.events, "wall_s": round(out.wall_s, 4), "compile_s": round(compile_s, 3),
        "events_per_s": round(out.events / replay_s) if replay_s > 0 else None,
        "run_hash": out.run_hash, "run_hash_scheme": out.run_hash_scheme, "config_hash": config.digest(),
        "config_sources": list(config.sources),
        "data_hash": hashlib.blake2b("|".join(s["data_hash"] for s in leg_summaries).encode(),
                                     digest_size=8).hexdigest(),
        "currency": leg_summaries[0]["currency"], "money_unit": money, "multiplier": config.multiplier,
        "pnl_money_units": pnl_mu, "fees_money_units": fees_mu, "fees_micro_units": fees_micro,
        "pnl": _ccy(pnl_mu * money), "pnl_gross": _ccy((pnl_mu + fees_exact) * money), "fees": _ccy(fees_exact * money),
        "max_drawdown": _ccy(money_units(max_dd) * money), "max_drawdown_money_units": money_units(max_dd),
        "sharpe_per_sample": round(sharpe, 6), "sample_s": config.sample_ns / 1e9,
        "positions": {leg.symbol: leg.final["position"] for leg in legs},
        "exposure": {"net": _ccy(sum(last) * money), "gross": _ccy(sum(abs(x) for x in last) * money),
                     "max_gross": _ccy(float(gross.max()) * money) if len(gross) else 0.0,
                     "by_symbol": {leg.symbol: _ccy(x * money) for leg, x in zip(legs, last, strict=True)}},
        **_counts(leg_summaries),
        "decisions": len(out.decisions), "rejects": out.rejects,
        "start_ts": int(eq0["ts"][0]) if len(eq0) else 0, "end_ts": int(eq0["ts"][-1]) if len(eq0) else 0,
        "latency": config.latency_summary(), "seed": config.seed, "engine": config.engine, "version": __version__,
        "git_commit": commit, "data": [[str(p) for p in g] for g in data],
        "legs": [{k: s[k] for k in LEG_KEYS if k in s} for s in leg_summaries],
    }


def _counts(leg_summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The portfolio's orders, cancels, fills and fill ratio: the legs' summed (an order and the fill ratio as
    `hft.core.orders.order_counts` / `fill_ratio` define them)."""
    total = {k: sum(int(s.get(k, 0)) for s in leg_summaries)
             for k in ("orders", "replaces", "cancels", "submitted_qty", "fills", "filled_qty")}
    return {**total, "fill_ratio": fill_ratio(total["filled_qty"], total["submitted_qty"])}


def order_symbols(out: Any) -> dict[int, str]:
    """Each order id of a run over several legs → its leg's symbol (what the store records orders under)."""
    return {int(o): leg.symbol for leg in out.legs for o in leg.order_ids}


def portfolio_result(out: Any, summary: dict[str, Any], leg_outs: list[Any], leg_summaries: list[dict[str, Any]],
                     mds: list[Any], path: Path | None = None) -> RunResult:
    """A run over several instruments' results in memory (`hft.sim.run_reader.RunResult`): its `summary`, the
    portfolio's table (`portfolio_frame`) and each leg's result (`hft.sim.run_tables.run_result`: its tables as
    its run folder ``legs/NN_<symbol>/`` holds them); `path`: the run folder written too, or None."""
    legs = tuple(run_result(o, s, md.instrument, None if path is None else
                            Path(path) / "legs" / folder_name(k, md.instrument.symbol))
                 for k, (o, s, md) in enumerate(zip(leg_outs, leg_summaries, mds, strict=True), 1))
    return RunResult(path, summary, {PORTFOLIO: portfolio_frame(out.legs, summary["money_unit"])}, legs)


def fill_portfolio_folder(tmp: Path, out: Any, summary: dict[str, Any], leg_outs: list[Any],
                          leg_summaries: list[dict[str, Any]], mds: list[Any], config: Any,
                          result: RunResult | None = None) -> None:
    """Write a run over several instruments into the folder `tmp` (module docstring): ``config.yaml``,
    ``summary.json``, ``portfolio.parquet`` and ``legs/NN_<symbol>/``, one whole run folder per leg. `result`: the
    run's `portfolio_result`, already built (its tables are written); None builds them. ``report.html``: the
    portfolio's tearsheet (`hft.report.run.write_portfolio_tearsheet`)."""
    if result is None:
        result = portfolio_result(out, summary, leg_outs, leg_summaries, mds, None)
    write_config(tmp / "config.yaml", config)
    write_summary(tmp / "summary.json", summary)
    write_portfolio_table(tmp / "portfolio.parquet", out.legs, summary["money_unit"], summary["currency"],
                          result.portfolio)
    (tmp / "legs").mkdir()
    for k, (o, s, md) in enumerate(zip(leg_outs, leg_summaries, mds, strict=True), 1):
        write_run_folder(tmp / "legs" / folder_name(k, md.instrument.symbol), o, s, md, force=False, config=config,
                         frames=result.leg_results[k - 1].tables)
    result.tearsheet(tmp / "report.html", config_text=(tmp / "config.yaml").read_text())


def run_instruments(groups: list[list[Path]], mds: list[Any], strategy: Any, strategy_name: str, config: Any, *,
                    out_dir: Path | None, force: bool, progress: Any, recorder: Any, commit: Any,
                    tables: bool = False, notices: list[str] | None = None) -> tuple[dict[str, Any], RunResult | None]:
    """`hft replay` over several instruments: replay, per-leg and portfolio summaries, the run folder (with
    ``legs/``), the `recorder`'s record (`hft.sim.recording.RunRecorder`, or None); `notices`: what expanding the data skipped
    (`replay.add_notices`). Returns the summary and, with `tables`, the run's `portfolio_result`."""
    mds = [dataclasses.replace(md, instrument=apply_overrides(md.instrument, config.instrument)) for md in mds]
    check_legs(groups, mds, config)
    try:
        out, engine, run_s, compile_s = replay_legs(mds, strategy, strategy_name, config, progress=progress)
        sha = commit.result()
    finally:
        commit.close()
    leg_outs = [leg_output(out, k, len(md.events)) for k, md in enumerate(mds)]
    leg_summaries = [summarise(o, md, strategy_name, strategy.params(), config, g, commit=sha,
                               multiplier=cfg.multiplier)
                     for o, md, g, cfg in zip(leg_outs, mds, groups, leg_configs(mds, config), strict=True)]
    summary = portfolio_summary(out, mds, leg_summaries, strategy_name, strategy.params(), config, groups,
                                commit=sha, run_s=run_s, compile_s=compile_s)
    result = portfolio_result(out, summary, leg_outs, leg_summaries, mds, out_dir) if tables else None
    add_notices(summary, notices or [])
    publish_run(summary, out_dir,
                lambda tmp: fill_portfolio_folder(tmp, out, summary, leg_outs, leg_summaries, mds, config, result),
                force=force, record=None if recorder is None else (
                    lambda: recorder.record_run(out, summary, order_symbols(out), engine.gw)))
    return summary, result
