"""`hft alpha experiments …`: the experiment registry (every validate run and search trial).

``list`` the experiments, ``show`` one with its trials, ``compare`` experiments or single trials side by side
(``EXPERIMENT_ID`` or ``EXPERIMENT_ID:TRIAL``). Heavy imports (the store, rich) happen inside the commands.
"""

from __future__ import annotations

import math
from typing import Any

import typer

from hft.cli._output import console, emit
from hft.cli._tables import render_rows

app = typer.Typer(help="Experiment registry: list, show and compare recorded experiments and trials.",
                  no_args_is_help=True)

JSON_OPT = typer.Option(False, "--json", help="Machine-readable output on stdout.")
WAIT_OPT = typer.Option(10.0, "--wait", help="Seconds to wait for another process holding the embedded store.")
_FIRST_METRICS = ("sharpe", "n_obs")


def _registry(wait: float):
    from hft.alpha.records.experiments import ExperimentRegistry
    from hft.recorder.alpha_audit import AlphaAuditStore

    return ExperimentRegistry(AlphaAuditStore(wait_s=wait))


def _clean(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats become null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    return str(v)


def _params(p: dict[str, Any], width: int = 48) -> str:
    text = ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(p.items()))
    return text if len(text) <= width else text[:width - 1] + "…"


def _scalar_metrics(m: dict[str, Any]) -> dict[str, Any]:
    """The scalar (number / bool / short string) metrics; lists such as period_returns are left out."""
    return {k: v for k, v in m.items() if isinstance(v, int | float | bool) or (isinstance(v, str) and len(v) <= 32)}


def _metric_order(names: set[str]) -> list[str]:
    return [n for n in _FIRST_METRICS if n in names] + sorted(names - set(_FIRST_METRICS))


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


@app.command("list")
def list_cmd(
    alpha: str = typer.Option(None, "--alpha", help="Only experiments of this alpha id."),
    kind: str = typer.Option(None, "--kind", help="Only this kind (validate, search, promote …)."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many experiments (newest first)."),
    wait: float = WAIT_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """List recorded experiments, newest first: alpha, kind, trials, best Sharpe, start time."""
    rows = _registry(wait).experiments(alpha_id=alpha, kind=kind, limit=limit)
    result = {"ok": True, "count": len(rows), "experiments": rows}

    def render() -> None:

        con = console()
        if not rows:
            con.print("no experiments recorded" + (" for these filters" if alpha or kind else ""))
            return
        show_family = any(r["family"] != r["alpha_id"] for r in rows)
        cols = ["experiment", "alpha", *(("family",) if show_family else ()), "version", "kind", "trials", "ok",
                "best sharpe", "started (UTC)"]
        render_rows(cols, [[r["experiment_id"], r["alpha_id"], *((r["family"],) if show_family else ()),
                            r["version"], r["kind"], str(r["n_trials"]), str(r["n_ok"]), _fmt(r["best_sharpe"]),
                            r["started"][:16].replace("T", " ")] for r in rows],
                    title=f"experiments ({len(rows)})", console=con, right=("trials", "ok", "best sharpe"),
                    no_wrap=("experiment",))

    emit(_clean(result), json_out, render)


@app.command("show")
def show_cmd(
    experiment_id: str = typer.Argument(..., help="An experiment id (see `list`)."),
    wait: float = WAIT_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """One experiment: its provenance (code and data hash, host, user, times) and every trial."""
    from hft.alpha.records.experiments import alpha_label, iso_utc

    trials = _registry(wait).get(experiment_id)
    first = trials[0]
    sharpes = [(t.sharpe, t.trial) for t in trials if t.sharpe is not None]
    best = max(sharpes) if sharpes else None
    result = {
        "ok": True, "experiment_id": experiment_id, "alpha_id": alpha_label(t.alpha_id for t in trials), "family": first.family,
        "version": first.version, "kind": first.kind, "n_trials": len(trials),
        "n_ok": sum(t.status == "ok" for t in trials),
        "best_sharpe": best[0] if best else None, "best_trial": best[1] if best else None,
        "code_hashes": sorted({t.code_hash for t in trials}), "data_hashes": sorted({t.data_hash for t in trials}),
        "hosts": sorted({t.host for t in trials}), "users": sorted({t.user for t in trials}),
        "started": iso_utc(min(t.started_ns for t in trials)),
        "finished": iso_utc(max(t.finished_ns for t in trials)),
        "trials": [t.to_dict() for t in trials],
    }

    def render() -> None:
        from rich.table import Table

        con = console()
        head = Table(title=f"experiment {experiment_id}", show_header=False, title_justify="left")
        head.add_column("key", style="bold")
        head.add_column("value")
        for k in ("alpha_id", "family", "version", "kind", "n_trials", "n_ok", "best_sharpe", "best_trial",
                  "started", "finished"):
            head.add_row(k, _fmt(result[k]))
        for k in ("code_hashes", "data_hashes", "hosts", "users"):
            head.add_row(k, ", ".join(result[k]) or "-")
        con.print(head)
        names = _metric_order({k for t in trials for k in _scalar_metrics(t.metrics)})
        render_rows(["trial", "status", "seed", "params", *names],
                    [[str(tr.trial), tr.status, str(tr.seed), _params(tr.params), *(_fmt(m.get(n)) for n in names)]
                     for tr in trials for m in (_scalar_metrics(tr.metrics),)],
                    title="trials", console=con, right=("trial", "seed", *names),
                    styles=["bold green" if best and tr.trial == best[1] else None for tr in trials])

    emit(_clean(result), json_out, render)


def _resolve(reg: Any, ref: str) -> list[Any]:
    """Trials named by `ref`: an experiment id, or ``EXPERIMENT_ID:TRIAL`` for one trial."""
    from hft.core.errors import GovernanceError

    trials = reg.trials(experiment_id=ref)
    if trials:
        return trials
    eid, sep, num = ref.rpartition(":")
    if sep and eid and num.isdigit():
        hit = [t for t in reg.trials(experiment_id=eid) if t.trial == int(num)]
        if hit:
            return hit
        raise GovernanceError(f"unknown trial {ref!r}: expected a trial number recorded for experiment {eid!r}",
                              hint=f"see its trials with `hft alpha experiments show {eid}`", experiment_id=eid)
    raise GovernanceError(f"unknown experiment id {ref!r}: expected one recorded in audit.alpha_experiments",
                          hint="list them with `hft alpha experiments list`", experiment_id=ref)


@app.command("compare")
def compare_cmd(
    refs: list[str] = typer.Argument(..., help="Experiment ids, or EXPERIMENT_ID:TRIAL for single trials."),
    by: str = typer.Option("sharpe", "--by", help="Metric that picks the best trial."),
    lower_is_better: bool = typer.Option(False, "--lower-is-better", help="The best trial has the lowest --by."),
    top: int = typer.Option(0, "--top", min=0, help="Show only the N best trials by --by (0: all)."),
    wait: float = WAIT_OPT,
    json_out: bool = JSON_OPT,
) -> None:
    """Compare experiments or trials (validate runs and search trials) side by side; the best is highlighted."""
    from hft.alpha.records.experiments import iso_utc

    reg = _registry(wait)
    seen: set[tuple[str, int]] = set()
    trials = []
    for ref in refs:
        for t in _resolve(reg, ref):
            if (t.experiment_id, t.trial) not in seen:
                seen.add((t.experiment_id, t.trial))
                trials.append(t)
    sign = -1.0 if lower_is_better else 1.0
    scored = [(sign * v, t) for t in trials if (v := _num(t.metrics.get(by))) is not None]
    best = max(scored, key=lambda st: st[0])[1] if scored else None
    if top:
        ranked = [t for _, t in sorted(scored, key=lambda st: -st[0])]
        trials = ranked[:top]
    names = _metric_order({k for t in trials for k in _scalar_metrics(t.metrics)})
    rows = [{
        "experiment_id": t.experiment_id, "trial": t.trial, "alpha_id": t.alpha_id, "family": t.family,
        "version": t.version, "kind": t.kind, "status": t.status, "seed": t.seed, "params": t.params,
        "metrics": _scalar_metrics(t.metrics), "code_hash": t.code_hash, "data_hash": t.data_hash,
        "started": iso_utc(t.started_ns),
        "best": best is not None and (t.experiment_id, t.trial) == (best.experiment_id, best.trial),
    } for t in trials]
    result = {
        "ok": True, "refs": list(refs), "by": by, "lower_is_better": lower_is_better, "metrics": names,
        "n_trials": len(rows), "trials": rows,
        "best": None if best is None else {"experiment_id": best.experiment_id, "trial": best.trial,
                                           "value": _num(best.metrics.get(by))},
    }

    def render() -> None:

        con = console()
        render_rows(["experiment", "trial", "alpha", "kind", "status", "params", *names],
                    [[r["experiment_id"], str(r["trial"]), r["alpha_id"], r["kind"], r["status"], _params(r["params"]),
                      *(_fmt(r["metrics"].get(n)) for n in names)] for r in rows],
                    title=f"compare ({len(rows)} trials, best by {by}{', lower is better' if lower_is_better else ''})",
                    console=con, right=("trial", *names), no_wrap=("experiment",),
                    styles=["bold green" if r["best"] else None for r in rows])
        if best is None:
            con.print(f"[yellow]no trial has a finite '{by}' metric[/yellow]")
        else:
            con.print(f"best: {best.experiment_id}:{best.trial} ({by} = {_fmt(_num(best.metrics.get(by)))})")

    emit(_clean(result), json_out, render)
