"""Gate D — replay: the alpha drives `alpha_exec` (hft/alpha/gates/execution.py) in the simulator, through the real
`GatewayService`, on held-out recorded quotes.

What it does
------------
1. Load the alpha (registry, by id) with its config's params; compute its features on the data
   (`hft.alpha.research.features.compute_features`, the alpha's feature spec) and its signal.
2. Build the replay engine (`hft.sim.replay.build_engine`) from the replay config (``gate_d.replay_config``,
   default ``config/sim/replay.yaml``) with the gateway limits replaced by ``gate_d.limits`` — the limits the
   strategy will run under live.
3. Stamp every signal row with the local time it becomes knowable (the engine's own feed-latency model), turn it
   into a causal z-score and run the engine. The run folder (``orders / fills / decisions / equity .parquet``,
   ``summary.json``, the run-folder format of `hft replay`) is written under
   ``$HFT_HOME/runs/gate_d/<alpha_id>/<run_hash>`` unless another folder is given.

Metrics (all from the run; money in money units = ticks x lots x multiplier)
-------------------------------------------------------------------------
``net_pnl`` (after fees), ``sharpe`` (per equity sample), ``max_drawdown``, ``fill_ratio`` (filled / submitted
lots), ``reject_rate`` (rejected / all gateway decisions) and ``rejects`` (count by reason), ``orders`` (new +
replace: `hft.core.orders.order_counts`, the summary's),
``filled_qty``, ``turnover`` (filled lots / max_position), ``peak_position`` (max |position|, exact from the
fills), ``peak_notional`` (peak |position| x the highest fill price x multiplier), ``market_volume`` (lots
traded in the data), ``participation`` (filled / market volume), ``run_hash`` (same data + config + code →
same hash, in any process).

Verdict: every threshold of ``gate_d`` holds (``min_net_pnl``, ``min_sharpe``, ``max_drawdown``,
``min_fill_ratio``, ``max_reject_rate``, ``min_orders``). The deciding metric recorded is ``net_pnl``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from hft.alpha.api.registry import alpha_dir, load_alpha_class, load_config
from hft.alpha.gates.execution import STRATEGY_NAME, AlphaExecution, causal_zscore, signal_stamps
from hft.alpha.research.features import compute_features, data_hash
from hft.config.strict import Section
from hft.core.errors import ConfigError, GovernanceError
from hft.core.market_data import MarketDataSource
from hft.core.paths import hft_home
from hft.gateway.config import limits_in_units
from hft.sim.instruments import gateway_units
from hft.sim.latency import feed_local_times
from hft.sim.replay import (
    ReplayConfig,
    build_engine,
    load_replay_config,
    summarise,
)
from hft.sim.run_folder import write_run_folder
from hft.sim.sessions import replay_sessions, total_output, total_summary

__all__ = ["GateDResult", "replay_config_for", "replay_metrics", "replay_verdict", "run_gate_d"]


@dataclass
class GateDResult:
    """Gate D's verdict and everything Gate E and the promotion file need."""
    alpha_id: str
    version: str
    code_hash: str
    data_hash: str
    passed: bool
    metrics: dict[str, Any]
    thresholds: dict[str, Any]
    reasons: list[str]
    run_hash: str
    run_folder: str | None
    params: dict[str, Any]
    limits: dict[str, Any]
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"gate": "D", "passed": self.passed, "alpha_id": self.alpha_id, "version": self.version,
                "code_hash": self.code_hash, "data_hash": self.data_hash, "run_hash": self.run_hash,
                "run_folder": self.run_folder, "metrics": self.metrics, "thresholds": self.thresholds,
                "reasons": self.reasons, "limits": self.limits,
                "units": {k: self.summary.get(k) for k in ("currency", "money_unit", "sample_s")}}


def replay_config_for(gate: Any, alpha_folder: Path, replay_config: Any) -> Any:

    if isinstance(replay_config, ReplayConfig):
        cfg = replay_config
    elif replay_config is not None:
        cfg = load_replay_config(Path(replay_config))
    elif gate.replay_config:
        p = Path(gate.replay_config)
        cfg = load_replay_config(p if p.is_absolute() else alpha_folder / p)
    else:
        cfg = load_replay_config()  # the shipped config, as `hft replay` without --config
    return dataclasses.replace(cfg, limits=dict(gate.limits))


def run_gate_d(alpha_id: str, data: list[Path] | list[str], *, code_hash: str, source: MarketDataSource,
               config: Any = None,
               replay_config: Any = None, out_dir: Path | None = None, write_folder: bool = True,
               root: Path | None = None, progress: Any = None, runs_kind: str = "gate_d") -> GateDResult:
    """Run Gate D for `alpha_id` on `data` (see the module docstring).

    Args:
        code_hash: the alpha's code hash (recorded in the strategy params, so in the run folder's summary).
        source: groups `data` into days and opens a day (`hft.core.market_data.MarketDataSource`; the files on
            disk: `hft.data.sources.FILES`). Several days replay as sessions of one run (`hft.sim.sessions`).
        config: an `AlphaConfig` (default: the alpha's ``config.yaml``).
        replay_config: a `ReplayConfig` or a path (default: ``gate_d.replay_config`` or the repo's replay.yaml).
        out_dir: the run folder (default ``$HFT_HOME/runs/gate_d/<alpha_id>/<run_hash>``).
        write_folder: False: no run folder (metrics only).
        root: research root override (tests).
        runs_kind: the folder under ``$HFT_HOME/runs`` of the default run folder (``canary`` for observations).
    """


    paths = [Path(p) for p in data]
    if not paths:
        raise GovernanceError("gate D: expected at least one data file (held-out quotes), was none", key="data")
    cls = load_alpha_class(alpha_id, root)
    cfg = config or load_config(alpha_id, root=root)
    gate = cfg.validation.gate_d
    alpha = cls(cfg.params)
    rcfg = replay_config_for(gate, alpha_dir(alpha_id, root), replay_config)
    strategy = AlphaExecution(alpha_id=alpha_id, version=cls.version, code_hash=code_hash,
                              max_position=gate.max_position, order_size=gate.order_size, entry_z=gate.entry_z,
                              exit_z=gate.exit_z, cooldown_ns=gate.cooldown_ns, warmup_rows=gate.warmup_rows)

    groups = source.group_days(paths)
    volume = [0]

    def prepare(engine: Any, md: Any) -> None:
        """The day's signal, stamped at the strategy's arrival times of that day's events."""
        feats = compute_features(md, cfg.features)
        sig = alpha.signal(feats).to_numpy().astype(np.float64)
        ev = md.events
        arrival = feed_local_times(np.ascontiguousarray(ev["exch_ts"]), np.ascontiguousarray(ev["local_ts"]),
                                   engine.cfg.feed)
        stamps = signal_stamps(feats["ts"].to_numpy(), feats["src_row"].to_numpy(), arrival)
        strategy.set_signal(stamps, causal_zscore(sig, gate.warmup_rows, cfg.validation.gate_b.sign))
        volume[0] += int(feats["trade_qty"].sum())

    try:
        if len(groups) > 1:  # several held-out days: one session each on one gateway (hft.sim.sessions)
            sessions, _ = replay_sessions(groups, strategy, STRATEGY_NAME, rcfg, progress=progress, prepare=prepare,
                                          source=source)
            out, md, multiplier = total_output(sessions), sessions[-1].md, rcfg.multiplier
            summary = total_summary(sessions, out, STRATEGY_NAME, strategy.params(), rcfg, commit=None)
        else:
            md = source.open_market_data(paths)
            engine, multiplier = build_engine(md, strategy, STRATEGY_NAME, rcfg)
            prepare(engine, md)
            out = engine.run(progress, multiplier=multiplier)
            summary = summarise(out, md, STRATEGY_NAME, strategy.params(), rcfg, paths)
    except ConfigError as exc:  # a limit the instrument cannot hold: named as the alpha's config gives it
        key = str(exc.fields.get("key") or "")
        if not key.startswith("limits."):
            raise
        raise GovernanceError(f"{cfg.file or 'config.yaml'}: key 'validation.gate_d.{key}': "
                              f"{exc.message.split(f'key {key!r}: ', 1)[-1]}", file=cfg.file,
                              key=f"validation.gate_d.{key}") from None
    summary["alpha"] = {"alpha_id": alpha_id, "version": cls.version, "code_hash": code_hash}
    gate = _in_run_money(gate, summary, cfg.file)
    # the limits in lots / money units of the replayed instrument (what Gate E weighs the exposure against)
    gate = dataclasses.replace(gate, limits=limits_in_units(
        Section(dict(gate.limits), cfg.file or "config.yaml", "validation.gate_d.limits"),
        gateway_units([md.instrument], [multiplier])))
    market_volume = volume[0]
    metrics = replay_metrics(out, summary, gate, market_volume, multiplier)
    metrics["lookahead_violations"] = strategy.lookahead_violations
    thresholds = {"min_net_pnl": gate.min_net_pnl, "min_sharpe": gate.min_sharpe, "max_drawdown": gate.max_drawdown,
                  "min_fill_ratio": gate.min_fill_ratio, "max_reject_rate": gate.max_reject_rate,
                  "min_orders": gate.min_orders}
    reasons = replay_verdict(metrics, gate, summary)
    folder = None
    if write_folder:

        target = Path(out_dir) if out_dir is not None else (hft_home() / "runs" / runs_kind / alpha_id
                                                           / out.run_hash)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_run_folder(target, out, summary, md, force=True, config=rcfg)  # config.yaml as `hft replay` writes it
        folder = str(target)

    return GateDResult(alpha_id=alpha_id, version=cls.version, code_hash=code_hash, data_hash=data_hash(paths),
                       passed=not reasons, metrics=metrics, thresholds=thresholds, reasons=reasons,
                       run_hash=out.run_hash, run_folder=folder, params=dict(cfg.params), limits=dict(gate.limits),
                       summary=summary)


def _in_run_money(gate: Any, summary: dict[str, Any], file: str | None) -> Any:
    """`gate` with its money thresholds given as currency amounts in the run's money units; an amount in another
    currency, or no whole number of money units, is a `GovernanceError` naming the alpha's config and key."""
    try:
        return gate.in_money_units(str(summary["currency"]), float(summary["money_unit"]))
    except ConfigError as exc:
        key = exc.fields.get("key")
        raise GovernanceError(f"{file or 'config.yaml'}: key '{key}': {exc.message.split(': ', 1)[1]}",
                              file=file, key=key) from None


def replay_metrics(out: Any, summary: dict[str, Any], gate: Any, market_volume: int, multiplier: int) -> dict[str, Any]:

    fills = out.fills
    pos = np.cumsum(fills["side"].astype(np.int64) * fills["qty"]) if len(fills) else np.zeros(1, np.int64)
    peak = int(np.abs(pos).max()) if len(pos) else 0
    max_px = int(fills["price"].max()) if len(fills) else 0
    n_dec = len(out.decisions)
    n_rej = int((out.decisions["accepted"] == 0).sum()) if n_dec else 0
    filled = int(summary["filled_qty"])
    return {
        "net_pnl": float(summary["pnl_money_units"]), "sharpe": float(summary["sharpe_per_sample"]),
        "max_drawdown": float(summary["max_drawdown_money_units"]), "fill_ratio": float(summary["fill_ratio"]),
        "reject_rate": n_rej / n_dec if n_dec else 0.0, "rejects": dict(summary["rejects"]),
        "decisions": n_dec, "orders": int(summary["orders"]), "fills": int(summary["fills"]),
        "filled_qty": filled, "fees": int(summary["fees_money_units"]),
        "turnover": filled / gate.max_position, "peak_position": peak,
        "peak_notional": peak * max_px * multiplier, "final_position": int(summary["position"]),
        "market_volume": market_volume, "participation": filled / market_volume if market_volume else 0.0,
        "events": int(summary["events"]), "wall_s": float(summary["wall_s"]), "run_hash": out.run_hash,
    }


def replay_verdict(m: dict[str, Any], gate: Any, units: dict[str, Any] | None = None) -> list[str]:
    """The reasons `m` fails `gate` (none: it passes); money in money units, with their value when `units`
    (a run summary's ``currency`` and ``money_unit``) says it."""
    def money(v: float) -> str:
        if not units or not units.get("currency") or not units.get("money_unit"):
            return f"{v} money units"
        value = (Decimal(repr(float(units["money_unit"]))) * Decimal(repr(float(v)))).normalize()
        return f"{v} money units ({value:f} {units['currency']})"

    reasons = []
    if m["net_pnl"] < gate.min_net_pnl:
        reasons.append(f"net_pnl: expected >= {money(gate.min_net_pnl)}, was {money(m['net_pnl'])}")
    if m["sharpe"] < gate.min_sharpe:
        reasons.append(f"sharpe: expected >= {gate.min_sharpe}, was {m['sharpe']}")
    if gate.max_drawdown is not None and m["max_drawdown"] > gate.max_drawdown:
        reasons.append(f"max_drawdown: expected <= {money(gate.max_drawdown)}, was {money(m['max_drawdown'])}")
    if m["orders"] and m["fill_ratio"] < gate.min_fill_ratio:
        reasons.append(f"fill_ratio: expected >= {gate.min_fill_ratio}, was {m['fill_ratio']}")
    if m["reject_rate"] > gate.max_reject_rate:
        reasons.append(f"reject_rate: expected <= {gate.max_reject_rate}, was {round(m['reject_rate'], 6)} "
                       f"(reasons {m['rejects']})")
    if m["orders"] < gate.min_orders:
        reasons.append(f"orders: expected >= {gate.min_orders}, was {m['orders']}")
    if m["lookahead_violations"]:
        reasons.append(f"lookahead: expected 0 signal rows used before their stamp, was {m['lookahead_violations']}")
    return reasons
