"""`hft alpha canary NAME [--observations PATH]`: compare a canary's observations with the plan and decide.

Observations are a run folder in the simulator's format (`hft.sim.replay`: ``summary.json``,
``orders.parquet``, ``fills.parquet``, ``decisions.parquet``, ``equity.parquet``): a replay on newer data (Gate
D's `alpha_exec` on the new day) or recorded live fills converted to that format. ``summary.json`` must name the
alpha and its code hash (``alpha: {alpha_id, code_hash}`` or the strategy ``params``); observations of another
alpha or code hash are refused before anything is written. Default folder: the newest under
``$HFT_HOME/runs/canary/<alpha_id>/``.

Observations are identified by their content, never by what ``summary.json`` claims (`observation_identity`:
BLAKE2b of the orders and fills tables' values and of the time span ``[first, last]`` ns of the orders, fills and
equity samples). They are refused when they are the Gate D evidence of the promotion or were already evaluated
(same content id), and when they are not newer than the last step's (their first time must be after the last
time of the previous step's observations: windows never overlap). A copy of a run folder with another
``run_hash`` is the same observation.

Metrics of one observation window
---------------------------------
``net_pnl`` and ``max_drawdown`` (money units, from ``summary.json``), ``loss = max(0, −net_pnl)``,
``reject_rate`` (rejected / all gateway decisions), ``slippage_bps`` (fill-qty-weighted
``side × (fill price − mid) / mid × 1e4`` with the mid of the last equity sample at or before the order's send
time; positive is a cost), ``duration`` (last − first equity sample time). Every metric must be a finite number:
a NaN or infinite one is a kill breach (fails closed, rollback).

Decision
--------
* ``rollback`` — any kill threshold of the plan breached (drawdown, loss, reject rate, slippage): the promotion
  becomes ``inactive``.
* ``graduate`` — within thresholds, the window covers the current step's duration and it is the ladder's last
  step.
* ``escalate`` — within thresholds and the window covers the current step's duration: next ladder step.
* ``hold`` — within thresholds but the window is shorter than the step's duration: stay at the step.

The promotion file is first checked against its record in the audit store (`hft.alpha.records.ledger`: a file edited
by hand is refused, naming the field). The decision goes through the lifecycle state machine, is recorded as an
``audit.alpha_canary_decisions`` row (reasons, the promotion document after the step, its chained hash) — WAL
first — and only then appended to the YAML history (with the metrics, the observations' content id and window).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from hft.alpha.api.base import check_alpha_id
from hft.alpha.api.lifecycle_config import MONEY_LIMITS
from hft.alpha.api.registry import POLICY_DIRS, load_config
from hft.alpha.gates.gate_d import run_gate_d
from hft.alpha.governance.canary_live import live_observations
from hft.alpha.governance.lifecycle import state_label, step_label
from hft.alpha.governance.promotion import (
    active_promotion,
    append_event,
    check_write,
    latest_promotion,
    promotion_path,
    write_promotion,
)
from hft.alpha.records import ledger
from hft.alpha.records.audit import write_audit
from hft.alpha.records.experiments import alpha_code_hash, current_actor
from hft.alpha.records.sink import AuditSink, on_sink
from hft.core.errors import ConfigError, GovernanceError
from hft.core.market_data import MarketDataSource
from hft.core.paths import hft_home

__all__ = ["CanaryResult", "decide", "observation_identity", "observation_metrics", "plan_in_money_units",
           "read_observations", "run_canary"]

RUN_FILES = ("summary.json", "orders.parquet", "fills.parquet", "decisions.parquet", "equity.parquet")


@dataclass
class CanaryResult:
    alpha_id: str
    decision: str
    from_state: str
    to_state: str
    from_step: int  # 0-based ladder index (``canary_step``); for people: `lifecycle.state_label`
    to_step: int
    metrics: dict[str, Any]
    thresholds: dict[str, Any]
    reasons: list[str]
    run_id: str
    observations: str
    promotion_file: str
    audit_ids: list[str] = field(default_factory=list)
    ladder_steps: int = 1

    @property
    def headline(self) -> str:
        """The move for people, steps 1-based: ``promoted → canary (step 2/3)``."""
        return (f"{state_label(self.from_state, self.from_step, self.ladder_steps)} → "
                f"{state_label(self.to_state, self.to_step, self.ladder_steps)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (a NaN / infinite metric is None: the output is valid JSON)."""
        return {"ok": True, "alpha_id": self.alpha_id, "decision": self.decision, "from_state": self.from_state,
                "to_state": self.to_state, "from_step": self.from_step, "to_step": self.to_step,
                "ladder_steps": self.ladder_steps, "metrics": _finite_or_none(self.metrics), "thresholds": _finite_or_none(self.thresholds),
                "reasons": self.reasons,
                "run_id": self.run_id, "observations": self.observations, "promotion_file": self.promotion_file,
                "audit_ids": self.audit_ids}


def default_observations(alpha_id: str) -> Path:
    """The newest run folder under ``$HFT_HOME/runs/canary/<alpha_id>/`` (GovernanceError when none)."""
    base = hft_home() / "runs" / "canary" / alpha_id
    runs = sorted((p for p in base.iterdir() if (p / "summary.json").is_file()),
                  key=lambda p: ((p / "summary.json").stat().st_mtime_ns, p.name)) if base.is_dir() else []
    if not runs:
        raise GovernanceError(f"canary {alpha_id}: expected observations (a run folder) under {base}, found none",
                              key="observations", hint="pass --observations PATH")
    return runs[-1]


def read_observations(folder: Path) -> dict[str, Any]:
    """The run folder's summary and tables (polars DataFrames); GovernanceError naming what is missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GovernanceError(f"{folder}: expected a run folder (orders/fills/decisions/equity parquet + "
                              f"summary.json), none exists", file=str(folder), key="observations")
    missing = [f for f in RUN_FILES if not (folder / f).is_file()]
    if missing:
        raise GovernanceError(f"{folder}: expected the run-folder files {list(RUN_FILES)}, missing {missing}",
                              file=str(folder), key="observations")
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except ValueError as exc:
        raise GovernanceError(f"{folder / 'summary.json'}: expected JSON, was unreadable ({exc})",
                              file=str(folder / "summary.json")) from None
    if not isinstance(summary, dict):
        raise GovernanceError(f"{folder / 'summary.json'}: expected a JSON object", file=str(folder / "summary.json"))
    out: dict[str, Any] = {"summary": summary, "folder": str(folder)}
    for name in ("orders", "fills", "decisions", "equity"):
        try:
            out[name] = pl.read_parquet(folder / f"{name}.parquet")
        except Exception as exc:  # a damaged file is a clear error, never a crash
            raise GovernanceError(f"{folder / (name + '.parquet')}: expected a readable Parquet file ({exc})",
                                  file=str(folder / f"{name}.parquet")) from None
    return out


def _finite_or_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def observation_identity(obs: dict[str, Any]) -> tuple[str, tuple[int, int]]:
    """``(content id, (first ns, last ns))`` of an observation run folder read by `read_observations`.

    The id is BLAKE2b-128 of the orders and fills tables (column names, types and values) and of the time span
    (first and last ``ts`` over orders, fills and equity samples); ``summary.json`` plays no part.

    Raises:
        GovernanceError: a table without an int ``ts`` column, or no timestamps at all.
    """


    h = hashlib.blake2b(digest_size=16)
    lo, hi = None, None
    for name in ("orders", "fills", "equity"):
        df = obs[name]
        if "ts" not in df.columns or not df.schema["ts"].is_integer():
            raise GovernanceError(f"{obs['folder']}/{name}.parquet: expected an integer column 'ts', was "
                                  f"{df.schema.get('ts')}", file=f"{obs['folder']}/{name}.parquet", key="ts")
        if df.height:
            ts = df["ts"].to_numpy()
            lo = int(ts.min()) if lo is None else min(lo, int(ts.min()))
            hi = int(ts.max()) if hi is None else max(hi, int(ts.max()))
        if name == "equity":
            continue
        h.update(f"{name}:{df.height}:".encode())
        for col in df.columns:
            h.update(f"{col}:{df.schema[col]}:".encode())
            arr = df[col].to_numpy()
            if arr.dtype.kind in "biuf":
                h.update(np.ascontiguousarray(arr).tobytes())
            else:
                h.update(json.dumps(df[col].to_list(), default=str).encode())
    if lo is None or hi is None:
        raise GovernanceError(f"{obs['folder']}: expected observations with a time span (orders, fills or "
                              f"equity samples), all tables are empty", file=str(obs["folder"]), key="observations")
    h.update(f"window:{lo}:{hi}".encode())
    return h.hexdigest(), (lo, hi)


def _identity(summary: dict[str, Any]) -> tuple[str | None, str | None]:
    a = summary.get("alpha") if isinstance(summary.get("alpha"), dict) else {}
    p = summary.get("params") if isinstance(summary.get("params"), dict) else {}
    return a.get("alpha_id", p.get("alpha_id")), a.get("code_hash", p.get("code_hash"))


def observation_metrics(obs: dict[str, Any]) -> dict[str, Any]:
    """Metrics of one observation window (see the module docstring)."""
    s = obs["summary"]
    for key in ("pnl_money_units", "max_drawdown_money_units", "run_hash"):
        if key not in s:
            raise GovernanceError(f"{obs['folder']}/summary.json: expected key '{key}', missing", key=key,
                                  file=f"{obs['folder']}/summary.json")
    dec = obs["decisions"]
    n_dec = dec.height
    n_rej = int((dec["accepted"] == 0).sum()) if n_dec else 0
    eq = obs["equity"]
    ets = eq["ts"].to_numpy() if eq.height else np.zeros(0, np.int64)
    duration = int(ets[-1] - ets[0]) if len(ets) > 1 else 0
    fills, orders = obs["fills"], obs["orders"]
    slip = 0.0
    if fills.height and orders.height and eq.height:

        new = orders.filter(pl.col("action") == 1).group_by("order_id").agg(pl.col("ts").min())
        sent = dict(zip(new["order_id"].to_list(), new["ts"].to_list(), strict=True))
        mid2 = eq["mid2"].to_numpy()
        num = den = 0.0
        for oid, side, px, qty in zip(fills["order_id"].to_list(), fills["side"].to_list(), fills["price"].to_list(),
                                      fills["qty"].to_list(), strict=True):
            t = sent.get(oid)
            if t is None:
                continue
            i = int(np.searchsorted(ets, t, side="right")) - 1
            while i >= 0 and mid2[i] <= 0:
                i -= 1
            if i < 0:
                continue
            mid = mid2[i] / 2.0
            num += side * (px - mid) / mid * 1e4 * qty
            den += qty
        slip = num / den if den else 0.0
    pnl = _summary_number(obs, "pnl_money_units")
    # max(0.0, -nan) is 0.0: a NaN PnL would pass the loss threshold; it stays NaN (a breach) instead
    loss = -pnl if pnl < 0 else (0.0 if pnl >= 0 else float("nan"))
    return {"net_pnl": pnl, "loss": loss, "max_drawdown": _summary_number(obs, "max_drawdown_money_units"),
            "reject_rate": n_rej / n_dec if n_dec else 0.0, "decisions": n_dec, "rejects": int(n_rej),
            "slippage_bps": slip, "fills": fills.height, "duration_ns": duration}


def _summary_number(obs: dict[str, Any], key: str) -> float:
    v = obs["summary"][key]
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise GovernanceError(f"{obs['folder']}/summary.json: key '{key}': expected a number, was {v!r}", key=key,
                              file=f"{obs['folder']}/summary.json")
    return float(v)


def plan_in_money_units(plan: Any, summary: dict[str, Any], file: Any, folder: Path) -> Any:
    """`plan` with its kill thresholds given as currency amounts (``max_loss: "5 USD"``) in the money units of
    the observations (their summary's ``currency`` and ``money_unit``); a plan in money units is returned as is.

    Raises:
        GovernanceError: naming the promotion file and key when an amount is in another currency or no whole
            number of money units, or the observations do not say their money unit.
    """
    if not any(isinstance(getattr(plan.kill, k), str) for k in MONEY_LIMITS):
        return plan
    ccy, unit = summary.get("currency"), summary.get("money_unit")
    if not isinstance(ccy, str) or isinstance(unit, bool) or not isinstance(unit, int | float) or unit <= 0:
        raise GovernanceError(f"{folder}/summary.json: expected 'currency' and 'money_unit' (the kill limits of "
                              f"{file} are currency amounts), were {ccy!r} and {unit!r}", key="money_unit",
                              file=f"{folder}/summary.json")
    try:
        return dataclasses.replace(plan, kill=plan.kill.in_money_units(ccy, float(unit)))
    except ConfigError as exc:
        raise GovernanceError(f"{file}: key '{exc.fields.get('key')}': {exc.message.split(': ', 1)[1]}",
                              file=str(file), key=exc.fields.get("key")) from None


def decide(metrics: dict[str, Any], plan: Any, step: int) -> tuple[str, list[str], str, float, float]:
    """``(decision, reasons, deciding metric, value, threshold)`` for a window at ladder `step` of `plan`."""
    k = plan.kill
    breaches = []
    for name in ("net_pnl", "loss", "max_drawdown", "reject_rate", "slippage_bps", "duration_ns"):
        v = metrics[name]
        if not math.isfinite(v):  # fails closed: an unknown value is a breach
            breaches.append((name, v, "a finite number"))
    for name, value, limit in (("max_drawdown", metrics["max_drawdown"], k.max_drawdown),
                               ("loss", metrics["loss"], k.max_loss),
                               ("reject_rate", metrics["reject_rate"], k.max_reject_rate),
                               ("slippage_bps", metrics["slippage_bps"], k.max_slippage_bps)):
        if math.isfinite(value) and value > limit:
            breaches.append((name, value, limit))
    if breaches:
        reasons = [f"kill: {n} expected {lim if isinstance(lim, str) else f'<= {lim}'}, was {round(v, 6)}"
                   for n, v, lim in breaches]
        n, v, lim = breaches[0]
        return "rollback", reasons, n, float(v), float("nan") if isinstance(lim, str) else float(lim)
    st = plan.ladder[step]
    dur = metrics["duration_ns"]
    if dur < st.duration_ns:
        return "hold", [f"step {step_label(step, len(plan.ladder))}: observed {dur / 1e9:.0f}s of {st.duration}, within "
                        f"thresholds"], "duration_ns", float(dur), float(st.duration_ns)
    if step == len(plan.ladder) - 1:
        return "graduate", [f"plan complete: last step {step_label(step, len(plan.ladder))} ({st.duration}) within "
                            f"thresholds"], "duration_ns", float(dur), float(st.duration_ns)
    nxt = plan.ladder[step + 1]
    return "escalate", [f"step {step_label(step, len(plan.ladder))} ({st.duration}) within thresholds: escalate "
                        f"to step {step_label(step + 1, len(plan.ladder))}, capital fraction {nxt.capital_fraction}"], "duration_ns", float(dur), float(st.duration_ns)


def replay_observations(p: Any, data: list[Path] | list[str], *, source: MarketDataSource,
                        out_dir: Path | None = None, root: Path | None = None, code_hash: str | None = None) -> Path:
    """Produce canary observations: replay the promoted alpha (its promoted params and gateway limits) with
    `alpha_exec` on newer `data`, at the capital fraction of the current ladder step (``max_position`` of
    ``gate_d`` scaled by it, at least 1 lot). Written to ``$HFT_HOME/runs/canary/<alpha_id>/<run_hash>``.
    `source` opens `data` (`hft.core.market_data.MarketDataSource`; the files on disk:
    `hft.data.sources.FILES`).

    Refused when the alpha's code changed since the promotion (its code hash differs).
    """
    if p.alpha_id in POLICY_DIRS:
        raise GovernanceError(f"canary {p.alpha_id} --data: expected an alpha of research/alphas; a trained policy "
                              "is replayed by its research tool", key="data",
                              hint="run_canary(..., replay=<the tool's canary_observations>), as `hft alpha canary` "
                                   "does")
    chash = code_hash or alpha_code_hash(p.alpha_id, root)  # an alpha of research/alphas: no artifact
    if chash != p.code_hash:
        raise GovernanceError(f"canary {p.alpha_id}: expected the promoted code (hash {p.code_hash}), the code is "
                              f"now {chash}", key="code_hash", hint="promote the new code first")
    cfg = load_config(p.alpha_id, root=root)
    gd = cfg.validation.gate_d
    frac = p.canary.ladder[p.canary_step].capital_fraction
    gd = dataclasses.replace(gd, max_position=max(1, round(gd.max_position * frac)), limits=dict(p.gateway_limits))
    cfg = dataclasses.replace(cfg, params=dict(p.params), validation=dataclasses.replace(cfg.validation, gate_d=gd))
    res = run_gate_d(p.alpha_id, data, code_hash=p.code_hash, source=source, config=cfg, out_dir=out_dir,
                     root=root, runs_kind="canary")
    return Path(res.run_folder or "")


def _no_active_promotion(alpha_id: str, promotions_root: Path | None, now_ns: int) -> None:
    """Raise the GovernanceError for an alpha without an active promotion: never promoted (promote it), or its
    latest promotion file inactive (rolled back, retired: terminal for that file), naming that file and when a
    new promotion can be written (one file per alpha and UTC day: not today when the inactive file is today's)."""
    last = latest_promotion(alpha_id, promotions_root)
    promote = f"hft alpha promote {alpha_id} --data PATH"
    if last is None:
        raise GovernanceError(f"canary {alpha_id}: expected an active promotion, found none",
                              key="alpha_id", hint=f"promote it first: {promote}")
    how = last.history[-1].event if last.history else last.state
    today = Path(last.file or "") == promotion_path(alpha_id, now_ns, promotions_root)
    when = ("tomorrow (UTC): this file is today's and an alpha has one promotion file a day" if today
            else "now")
    raise GovernanceError(f"canary {alpha_id}: expected an active promotion, the latest is {last.state} "
                          f"({how}): {last.file}", key="state", file=last.file,
                          hint=f"an inactive promotion is final; promote the alpha again {when}: {promote}")


def run_canary(alpha_id: str, observations: Path | str | None = None, *, data: list[Path] | None = None,
               promotions_root: Path | None = None, root: Path | None = None, actor: str | None = None,
               now_ns: int | None = None, audit_writer: Any = None, audit_reader: Any = None,
               live: bool = False, strategy: str | None = None, live_records: Any = None,
               source: MarketDataSource | None = None, sink: AuditSink | None = None,
               replay: Callable[..., Path] | None = None) -> CanaryResult:
    """Evaluate the active promotion of `alpha_id` against `observations`; update the YAML and audit.

    `data` (instead of `observations`): replay the promoted alpha on that newer data first
    (`replay_observations`), then evaluate that run. `live`: build the observations from the live service's
    records of gateway strategy `strategy` (default: the alpha id) in the audit store, newer than the last
    step's window (`hft.alpha.governance.canary_live`), then evaluate them; `live_records(strategy, after_ns)` reads them
    (the CLI's reader opens the audit store for it). `source` opens `data` (required with it;
    `hft.core.market_data.MarketDataSource`, the files on disk: `hft.data.sources.FILES`). `replay(promotion,
    data, source=, root=)` makes those observations instead of `replay_observations`: a trained policy's
    research tool (``research/rl/lifecycle.py``'s ``canary_observations``, which the CLI loads and passes).

    `audit_writer` / `audit_reader`: `hft.alpha.records.audit.write_audit` / `hft.alpha.records.ledger.read_chain`-like callables
    (default: those on `sink`, the audit rows' `hft.alpha.records.sink.AuditSink`; the store:
    `hft.recorder.alpha_audit.AUDIT`).

    Raises:
        GovernanceError: no active promotion, a promotion file that differs from its record, a graduated
            canary, observations missing / of another alpha or code hash / already evaluated / not newer than
            the last step's; nothing is written then.
    """


    check_alpha_id(alpha_id)
    if sum((observations is not None, bool(data), live)) > 1:
        raise GovernanceError("canary: expected either observations or data or live, was several",
                              key="observations")
    if data and source is None:
        raise TypeError("run_canary: data needs a market-data source (source=hft.data.sources.FILES), was None")
    audit_writer = on_sink(audit_writer, write_audit, sink, "run_canary")
    audit_reader = on_sink(audit_reader, ledger.read_chain, sink, "run_canary")
    p = active_promotion(alpha_id, promotions_root)
    if p is None:
        _no_active_promotion(alpha_id, promotions_root, time.time_ns() if now_ns is None else now_ns)
    p, head = ledger.checked(p, audit_reader)  # the record of truth; a file edited by hand is refused here
    if not p.active:
        raise GovernanceError(f"canary {alpha_id}: expected an active promotion, the audit store records it "
                              f"{p.state} ({p.file})", key="state", file=p.file)
    if p.state == "graduated":
        raise GovernanceError(f"canary {alpha_id}: expected a promotion under canary, it graduated ({p.file})",
                              key="state", file=p.file)
    if data:
        folder = (replay or replay_observations)(p, data, source=source, root=root)
    elif live:

        if live_records is None:
            raise GovernanceError("canary --live: expected a reader of the audit store's live records",
                                  key="observations")
        folder = live_observations(p, strategy, records=live_records, runs_root=hft_home() / "runs" / "canary")
    else:
        folder = Path(observations) if observations is not None else default_observations(alpha_id)
    obs = read_observations(folder)
    oid, ohash = _identity(obs["summary"])
    if oid != alpha_id:
        raise GovernanceError(f"{folder}: expected observations of alpha {alpha_id}, were of {oid!r}",
                              key="observations", file=str(folder))
    if ohash != p.code_hash:
        raise GovernanceError(f"{folder}: expected observations of code hash {p.code_hash} (the promoted code), "
                              f"were of {ohash!r}", key="observations", file=str(folder),
                              hint="the code changed since the promotion: promote it again")
    run_id, window = observation_identity(obs)
    claimed = str(obs["summary"].get("run_hash", ""))
    if run_id == p.history[0].run_id or (claimed and claimed in p.run_ids):
        raise GovernanceError(f"{folder}: expected canary observations, these are the Gate D evidence of the "
                              f"promotion (content id {run_id})", key="observations", file=str(folder))
    if any(h.run_id == run_id for h in p.history):
        raise GovernanceError(f"{folder}: expected new observations, these (content id {run_id}) were already "
                              f"evaluated", key="observations", file=str(folder))
    last = next((h for h in reversed(p.history) if h.window is not None), None)
    if last is not None and window[0] <= last.window[1]:
        raise GovernanceError(f"{folder}: expected observations newer than the last step's (which end at "
                              f"{last.window[1]} ns), were from {window[0]} to {window[1]} ns", key="observations",
                              file=str(folder), hint="observe the canary on newer data")
    plan = plan_in_money_units(p.canary, obs["summary"], p.file, folder)
    m = observation_metrics(obs)
    decision, reasons, metric, value, threshold = decide(m, plan, p.canary_step)
    ts = int(now_ns if now_ns is not None else time.time_ns())
    actor = actor or _actor()
    nxt = append_event(p, decision, ts=ts, actor=actor, reasons=reasons, run_id=run_id, window=window,
                       metrics={k: float(v) for k, v in m.items()})
    check_write(nxt, p.file)  # a step that could not be written is never recorded
    thresholds = {"max_drawdown": plan.kill.max_drawdown, "max_loss": plan.kill.max_loss,
                  "max_reject_rate": plan.kill.max_reject_rate, "max_slippage_bps": plan.kill.max_slippage_bps,
                  "step_duration_ns": plan.ladder[p.canary_step].duration_ns,
                  "capital_fraction": plan.ladder[p.canary_step].capital_fraction}
    row = {"ts": ts, "alpha_id": alpha_id, "canary_id": f"{p.date}/{alpha_id}", "decision": decision,
           "metric": metric, "value": value, "threshold": threshold, "reason": reasons[0] if reasons else "",
           "details": {"metrics": _finite_or_none(m), "thresholds": thresholds, "observations": str(folder),
                       "window": list(window), "from_step": p.canary_step, "to_step": nxt.canary_step,
                       "promotion_file": str(p.file)},
           "version": p.version, "code_hash": p.code_hash, "from_state": p.state, "to_state": nxt.state,
           "reasons": reasons, "run_id": run_id, **ledger.chain_fields(nxt, head)}
    ids = list(audit_writer("audit.alpha_canary_decisions", [row]))  # the record first (WAL first) ...
    path = write_promotion(nxt, p.file)  # ... then its view
    return CanaryResult(alpha_id=alpha_id, decision=decision, from_state=p.state, to_state=nxt.state,
                        from_step=p.canary_step, to_step=nxt.canary_step, metrics=m, thresholds=thresholds,
                        reasons=reasons, run_id=run_id, observations=str(folder), promotion_file=str(path),
                        audit_ids=ids, ladder_steps=len(plan.ladder))


def _actor() -> str:

    return current_actor()
