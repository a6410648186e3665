"""`hft alpha pool / promote / canary / status`: the alpha lifecycle after validation (docs/alpha_lifecycle.md).

`register(app)` adds the commands to the `hft alpha` group. Imports are lazy: `hft --help` imports none of
numba / polars / numpy. Exit codes: 17 when a gate fails (pool, promote), 16 for governance errors (bad
approver, invalid promotion file, observations of another alpha ...), via `hft.cli.app`'s error table.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from hft.cli._config import set_option
from hft.cli._output import console, emit
from hft.cli._output import fmt_value as _fmt

__all__ = ["register"]

JSON_OPT = typer.Option(False, "--json", help="Machine-readable output on stdout.")


def _ok(b: Any) -> str:
    return "n/a" if b is None else ("[green]pass[/green]" if b else "[red]fail[/red]")


def _gate_failed(msg: str) -> None:
    from hft.core.errors import GateFailed

    sys.stderr.write(f"error: {msg}\n")
    raise typer.Exit(GateFailed.exit_code)


# --------------------------------------------------------------------------------------------------------------
# pool
# --------------------------------------------------------------------------------------------------------------


def pool_cmd(
    name: str = typer.Argument(..., help="Candidate alpha id."),
    data: list[Path] = typer.Option(..., "--data", help="Market data file(s) common to every signal."),
    max_corr: float = typer.Option(None, "--max-corr", help="Max |corr| with a pool member (default: config, 0.7)."),
    min_marginal_ic: float = typer.Option(None, "--min-marginal-ic", help="Min marginal IC (default: config)."),
    no_record: bool = typer.Option(False, "--no-record", help="Do not write the audit row."),
    json_out: bool = JSON_OPT,
) -> None:
    """Compare NAME with the promoted pool: correlations, marginal IC, redundancy clusters (gate 'pool')."""
    from hft.alpha.api.registry import load_alpha_class
    from hft.alpha.governance.pool import record_pool, run_pool
    from hft.alpha.records.experiments import alpha_code_hash
    from hft.cli._progress import progress_bar
    from hft.data.sources import FILES
    from hft.recorder.alpha_audit import AUDIT

    load_alpha_class(name)  # an unknown alpha is a clear error before anything else
    with progress_bar("pool", enabled=not json_out):
        res = run_pool(name, data, code_hash=alpha_code_hash(name), source=FILES, max_corr=max_corr,
                       min_marginal_ic=min_marginal_ic)
    out = res.to_dict()
    out["ok"] = res.passed
    out["audit_ids"] = [] if no_record else record_pool(res, sink=AUDIT)

    def render() -> None:
        from rich.table import Table

        c = console()
        verdict = "[green]PASS[/green]" if res.passed else "[red]FAIL[/red]"
        c.print(f"alpha [bold]{res.alpha_id}[/bold] {res.version} vs pool {res.pool or '(empty)'} — {verdict}")
        if len(res.ids) > 1:
            t = Table(title="Spearman correlation of signals", title_justify="left")
            t.add_column("")
            for a in res.ids:
                t.add_column(a)
            for a, row in zip(res.ids, res.corr, strict=True):
                t.add_row(a, *(_fmt(v) for v in row))
            c.print(t)
        with_ = f" (with {res.max_corr_with})" if res.max_corr_with else ""  # none: an empty pool
        c.print(f"max |corr| {_fmt(res.max_abs_corr)}{with_} <= {res.thresholds['max_corr']}; "
                f"IC {_fmt(res.ic)}; marginal IC {_fmt(res.marginal_ic)} >= {res.thresholds['min_marginal_ic']} "
                f"(horizon {res.horizon}, {res.n_rows} rows)")
        c.print(f"redundancy clusters: {res.clusters or 'none'}")
        for r in res.reasons:
            c.print(f"[red]-[/red] {r}")

    emit(out, json_out, render)
    if not res.passed:
        _gate_failed(f"alpha {name} failed the pool gate: {res.reasons[0]}")


# --------------------------------------------------------------------------------------------------------------
# promote
# --------------------------------------------------------------------------------------------------------------


def promote_cmd(
    name: str = typer.Argument(..., help="Alpha id."),
    data: list[Path] = typer.Option(..., "--data", help="Held-out recorded quotes for the Gate D replay."),
    approver: list[str] = typer.Option([], "--approver",
                                       help="Approver: 'Name <email>' or a lowercase handle (repeatable)."),
    force: bool = typer.Option(False, "--force", help="Promote despite failed gates (needs --reason and an --approver; audited)."),
    reason: str = typer.Option(None, "--reason", help="Why a failed promotion is forced."),
    replay_config: Path = typer.Option(None, "--replay-config", help="Replay config for Gate D (default: the "
                                                                     "alpha's gate_d.replay_config or the repo's)."),
    out: Path = typer.Option(None, "--out", help="Gate D run folder (default $HFT_HOME/runs/gate_d/NAME/<hash>)."),
    sets: list[str] = set_option(),
    json_out: bool = JSON_OPT,
) -> None:
    """Gates D (replay through the gateway) and E (risk, capacity, approvals); write the promotion YAML on pass."""
    from hft.alpha.governance.promote import promote
    from hft.cli._config import gate_d_replay_config
    from hft.cli._output import progress_bar
    from hft.data.sources import FILES
    from hft.recorder.alpha_audit import AUDIT

    replay_config = gate_d_replay_config(name, replay_config, sets)
    with progress_bar("gate D replay", "events", enabled=not json_out) as update:
        res = promote(name, data, source=FILES, approvers=list(approver), force=force, reason=reason,
                      replay_config=replay_config, out_dir=out, progress=update, sink=AUDIT)
    result = res.to_dict()
    emit(result, json_out, lambda: _render_promotion(result))
    if not res.promoted:
        _gate_failed(f"alpha {name} not promoted: {res.reasons[0] if res.reasons else 'gates failed'}")


def _failed(reasons: list[str], *prefixes: str) -> bool:
    """Whether a gate's reasons hold one starting with any of ``prefixes`` (the gate's own verdict per row)."""
    return any(r.startswith(p) for r in reasons for p in prefixes)


def _gate_d_rows(d: dict[str, Any]) -> list[Any]:
    """Gate D's table rows: each check with its threshold and verdict, then the figures it reports unjudged."""
    from hft.cli._gates import GateRow, readable, verdict  # lazy: rich and the gate table only when printing

    m, th, why = d["metrics"], d["thresholds"], d["reasons"]
    u = d.get("units") or {}
    ccy, mu, sample_s = u.get("currency"), u.get("money_unit"), u.get("sample_s")

    def money(v: Any) -> str:
        return f"= {readable(v * mu)} {ccy}" if isinstance(v, int | float) and mu and ccy else ""

    mu_unit = "money units"
    per = f"per {sample_s:g} s sample" if sample_s else "per sample"
    dd = th.get("max_drawdown")
    rows = [
        GateRow("net_pnl", _fmt(m.get("net_pnl")), f">= {_fmt(th['min_net_pnl'])}",
                verdict(not _failed(why, "net_pnl:")), money(m.get("net_pnl")), mu_unit),
        GateRow("sharpe", _fmt(m.get("sharpe")), f">= {_fmt(th['min_sharpe'])}", verdict(not _failed(why, "sharpe:")),
                "not annualised", per),
        GateRow("max_drawdown", _fmt(m.get("max_drawdown")), "none" if dd is None else f"<= {_fmt(dd)}",
                verdict(None if dd is None else not _failed(why, "max_drawdown:")), money(m.get("max_drawdown")),
                mu_unit),
        GateRow("fill_ratio", _fmt(m.get("fill_ratio")), f">= {_fmt(th['min_fill_ratio'])}",
                verdict(not _failed(why, "fill_ratio:"), na=not m.get("orders")),
                "" if m.get("orders") else "no orders: not judged", "filled / submitted qty"),
        GateRow("reject_rate", _fmt(m.get("reject_rate")), f"<= {_fmt(th['max_reject_rate'])}",
                verdict(not _failed(why, "reject_rate:")), f"rejects: {readable(m.get('rejects') or {})}",
                "of decisions"),
        GateRow("orders", _fmt(m.get("orders")), f">= {_fmt(th['min_orders'])}", verdict(not _failed(why, "orders:"))),
        GateRow("lookahead", _fmt(m.get("lookahead_violations", 0)), "== 0", verdict(not _failed(why, "lookahead:")),
                unit="signal rows used early"),
    ]
    for k, unit in (("filled_qty", "lots"), ("fees", mu_unit), ("turnover", "x max_position"),
                    ("peak_position", "lots"), ("participation", "of market volume")):
        if k in m:
            rows.append(GateRow(k, _fmt(m[k]), "", "", money(m[k]) if unit == mu_unit else "", unit))
    return rows


def _gate_e_rows(e: dict[str, Any]) -> list[Any]:
    """Gate E's table rows: headroom, participation, turnover, the required gates and the approvals, each with
    its threshold and verdict (from the gate's reasons)."""
    from hft.cli._gates import GateRow, readable, verdict  # lazy: rich and the gate table only when printing

    m, th, why = e["metrics"], e["thresholds"], e["reasons"]
    head = f">= {_fmt(th['min_headroom'])}"
    rows = [GateRow("headroom", _fmt(m.get("headroom")), head, verdict(not _failed(why, "headroom:", "gateway limits:")),
                    f"1 - peak |position| {m.get('peak_position')} / max_position {m.get('max_position_limit')}",
                    "of max_position")]
    nh = m.get("notional_headroom")
    rows.append(GateRow("notional_headroom", _fmt(nh), head, verdict(not _failed(why, "notional headroom:"),
                                                                     na=nh is None),
                        "" if nh is not None else "no max_notional limit", "of max_notional"))
    rows.append(GateRow("participation", _fmt(m.get("participation")), f"<= {_fmt(th['max_participation'])}",
                        verdict(not _failed(why, "participation:")), unit="of market volume"))
    rows.append(GateRow("turnover", _fmt(m.get("turnover")),
                        f"in [{_fmt(th['min_turnover'])}, {_fmt(th['max_turnover'])}]",
                        verdict(not _failed(why, "turnover:")), unit="x max_position"))
    if _failed(why, "order_size:"):
        rows.append(GateRow("order_size", "", "<= gateway max_order_qty", verdict(False)))
    for g, ok in (m.get("required_gates") or {}).items():
        rows.append(GateRow(f"gate {g}", "none recorded" if ok is None else "pass" if ok else "fail",
                            "pass recorded for this code", verdict(not _failed(why, f"gate {g}:"))))
    if _failed(why, "held-out data:"):
        rows.append(GateRow("held-out data", "same as gates'", "other data than gates A-C", verdict(False)))
    approvers = m.get("approvers") or []
    rows.append(GateRow("approvers", str(len(approvers)), f">= {_fmt(th['min_approvers'])}",
                        verdict(not _failed(why, "approvals:")), readable(approvers), "distinct"))
    return rows


def _render_promotion(result: dict[str, Any]) -> None:
    """Gate D and E tables (each check with its threshold, verdict and unit), the reasons and the outcome of a
    promotion (`PromoteResult.to_dict`)."""
    from hft.cli._gates import gate_table, verdict  # lazy: rich only when printing

    c = console()
    d, e = result["gate_d"], result["gate_e"]
    c.print(gate_table(f"Gate D — replay through the gateway: {verdict(d['passed'])} (run {d['run_hash'][:16]})",
                       _gate_d_rows(d)))
    c.print(gate_table(f"Gate E — risk and capacity: {verdict(e['passed'])}", _gate_e_rows(e)))
    for r in result["reasons"]:
        c.print(f"[red]-[/red] {r}")
    if result["promoted"]:
        c.print(f"[green]promoted[/green]{' (FORCED)' if result['forced'] else ''}: {result['promotion_file']}")
        if result.get("superseded"):
            c.print(f"superseded: {result['superseded']}")
    if d.get("run_folder"):
        c.print(f"run folder {d['run_folder']}")


# --------------------------------------------------------------------------------------------------------------
# rl-promote
# --------------------------------------------------------------------------------------------------------------


def rl_promote_cmd(
    train: list[Path] = typer.Option(..., "--train", help="Recorded quotes the policy is trained on."),
    data: list[Path] = typer.Option(..., "--data", help="Held-out recorded quotes for the Gate D replay."),
    config: Path = typer.Option(None, "--config", help="RL config (default research/rl/config.yaml)."),
    approver: list[str] = typer.Option([], "--approver",
                                       help="Approver: 'Name <email>' or a lowercase handle (repeatable)."),
    force: bool = typer.Option(False, "--force", help="Promote despite failed gates (needs --reason and an --approver; audited)."),
    reason: str = typer.Option(None, "--reason", help="Why a failed promotion is forced."),
    out: Path = typer.Option(None, "--out", help="Artifact folder (default $HFT_HOME/rl/<policy id>/<Q digest>)."),
    json_out: bool = JSON_OPT,
) -> None:
    """Train the Q-learning market maker (research/rl), save it (npz + YAML), then gates R, D, E and promote."""
    from hft.cli._progress import progress_bar
    from hft.cli._research import load_research_module

    rl = load_research_module("rl/lifecycle.py")
    with progress_bar("rl-promote: training, gates R, D, E", enabled=not json_out):
        result = rl.rl_promote(train, data, config_path=config, approvers=list(approver), force=force,
                               reason=reason, out=out)

    def render() -> None:
        c = console()
        r = result["gate_r"]
        c.print(f"policy artifact {result['artifact']['folder']} (npz sha256 {result['artifact']['npz_sha256'][:16]})")
        c.print(f"Gate R — trained policy integrity: {_ok(r['passed'])} ({r['metrics']['states_visited']} states "
                f"visited, reproduced: {r['metrics']['reproduced']})")
        _render_promotion(result)

    emit(result, json_out, render)
    if not result["promoted"]:
        _gate_failed(f"policy {rl.POLICY_ID} not promoted: {result['reasons'][0] if result['reasons'] else 'gates failed'}")


# --------------------------------------------------------------------------------------------------------------
# canary
# --------------------------------------------------------------------------------------------------------------


def _live_records(strategy: str, after_ns: int) -> dict:
    """The live service's records of `strategy` from the audit store (opened for the read only)."""
    from hft.alpha.governance.canary_live import read_live_records
    from hft.store.store import open_store

    store = open_store(wait_s=30.0)
    try:
        return read_live_records(store, strategy, after_ns)
    finally:
        store.close()


def canary_cmd(
    name: str = typer.Argument(..., help="Alpha id (with an active promotion)."),
    observations: Path = typer.Option(None, "--observations", help="Run folder of the canary's orders / fills / "
                                                                   "equity (default: newest under "
                                                                   "$HFT_HOME/runs/canary/NAME)."),
    data: list[Path] = typer.Option(None, "--data", help="Instead of --observations: replay the promoted alpha on "
                                                         "this newer data (at the step's capital fraction) first."),
    live: bool = typer.Option(False, "--live", help="Instead: the alpha's paper/live observations from the audit "
                                                    "store (what its strategy did through `hft gateway serve`, "
                                                    "loaded by `hft audit load`), newer than the last step's."),
    strategy: str = typer.Option(None, "--strategy", help="With --live: the gateway strategy the alpha trades as "
                                                          "(default: NAME)."),
    json_out: bool = JSON_OPT,
) -> None:
    """Compare the canary's observations with the plan: hold, escalate, rollback or graduate."""
    from hft.alpha.api.registry import POLICY_DIRS
    from hft.alpha.governance.canary import run_canary
    from hft.cli._progress import progress_bar
    from hft.data.sources import FILES
    from hft.recorder.alpha_audit import AUDIT

    if strategy is not None and not live:
        raise typer.BadParameter("expected --live with --strategy", param_hint="--strategy")
    replay = None
    if data and name in POLICY_DIRS:  # a trained policy: its research tool replays its artifact
        from hft.cli._research import load_research_module

        replay = load_research_module(f"{POLICY_DIRS[name]}/lifecycle.py").canary_observations
    with progress_bar("canary", enabled=not json_out):
        res = run_canary(name, observations, data=data or None, live=live, strategy=strategy,
                         live_records=_live_records if live else None, source=FILES, sink=AUDIT, replay=replay)
    result = res.to_dict()

    def render() -> None:
        c = console()
        color = {"rollback": "red", "graduate": "green", "escalate": "cyan"}.get(res.decision, "yellow")
        c.print(f"alpha [bold]{name}[/bold]: [{color}]{res.decision}[/{color}] — {res.headline}")
        m = res.metrics
        c.print(f"net PnL {_fmt(m['net_pnl'])}, drawdown {_fmt(m['max_drawdown'])}, reject rate "
                f"{_fmt(m['reject_rate'])}, slippage {_fmt(m['slippage_bps'])} bps, observed "
                f"{m['duration_ns'] / 1e9:.0f}s")
        for r in res.reasons:
            c.print(f"- {r}")
        c.print(f"promotion file {res.promotion_file}")

    emit(result, json_out, render)


# --------------------------------------------------------------------------------------------------------------
# status
# --------------------------------------------------------------------------------------------------------------


def status_cmd(
    no_store: bool = typer.Option(False, "--no-store", help="Do not read gate verdicts from the audit store."),
    json_out: bool = JSON_OPT,
) -> None:
    """Every alpha with its lifecycle state and latest gate verdicts, as the audit store records them.

    Promotion files that differ from their record are flagged.
    """
    from hft.alpha.api.lifecycle_config import GATE_NAMES
    from hft.alpha.governance.lifecycle import step_label
    from hft.alpha.governance.status import status
    from hft.recorder.alpha_audit import held

    with held(wait_s=30.0) as sink:  # one store for the promotions' records and the verdicts (not one each)
        res = status(with_audit=not no_store, sink=sink)

    def render() -> None:
        from hft.cli._tables import render_rows

        c = console()
        rows = []
        for r in res["alphas"]:
            step = step_label(r["canary_step"], r["ladder_steps"]) if r["state"] == "canary" else ""
            code = "changed" if r["code_changed"] else ""
            gates = r.get("gates")
            g = " ".join({True: "✓", False: "✗", None: "·"}[gates[k]] for k in gates) if gates else "n/a"
            state = r["state"] + (" [red](file differs from its record)[/red]" if r.get("tampered") else "")
            rows.append([r["alpha_id"], state, step, code, g, r["last_event"] or ""])
        # ids and the row of marks stay whole; columns empty in every row (no canary, no changed code, no event
        # yet) are left out; promotion files are listed below, whole
        gates_col = "gates\n" + " ".join(GATE_NAMES)
        render_rows(["alpha", "state", "step", "code", gates_col, "last event"], rows, title="Alphas", console=c,
                    count=False, no_wrap=("alpha", "step", "code", gates_col, "last event"),
                    optional=("step", "code", "last event"))
        files = [(r["alpha_id"], r["promotion_file"]) for r in res["alphas"] if r["promotion_file"]]
        if files:
            c.print("promotion files:")
            for alpha_id, f in files:
                c.print(f"  {alpha_id}: {f}", highlight=False)
        for n in res["notes"]:
            c.print(f"[yellow]note[/yellow] {n}")

    emit(res, json_out, render)
    if res["errors"]:
        from hft.core.errors import GovernanceError

        first = res["errors"][0]
        sys.stderr.write(f"error: invalid promotion file {first['file']}: {first['error']}\n")
        raise typer.Exit(GovernanceError.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``pool``, ``promote``, ``rl-promote``, ``canary`` and ``status`` to `app` (the `hft alpha` group)."""
    app.command("pool")(pool_cmd)
    app.command("promote")(promote_cmd)
    app.command("rl-promote")(rl_promote_cmd)
    app.command("canary")(canary_cmd)
    app.command("status")(status_cmd)
