"""The page of a validation scorecard (`hft alpha validate`): ``report.html`` beside its PNG plots.

The verdict, every gate with each check's value, threshold and result, the gate metrics, parameter
sensitivity, the plots (embedded as base64 PNG, so the page stands alone) and the identity of the run (data,
code and experiment ids). Built from `Scorecard.to_dict()`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hft.alpha.gates.result import gate_title
from hft.report.html import esc, page, png_bytes, table, verdict


def write_scorecard_page(path: str | Path, card: dict[str, Any]) -> Path:
    """Write the scorecard page for `card` (a `Scorecard.to_dict()`)."""
    sections: list[tuple[str, str]] = []
    gates_rows = [[f"Gate {g['gate']} — {gate_title(g['gate'])}", verdict(g["passed"]),
                   f"{sum(1 for c in g['checks'] if c['passed'])} of {len(g['checks'])} checks pass"]
                  for g in card["gates"]]
    sections.append(("Verdict", f"<p>{verdict(card['passed'])} — alpha <b>{esc(card['alpha_id'])}</b> "
                                f"{esc(card['version'])}, params {esc(card['params'])}</p>"
                                + table(gates_rows, ["gate", "result", "checks"], raw=True)))
    for g in card["gates"]:
        rows = []
        for ch in g["checks"]:
            ok = None if ch["value"] is None and ch["passed"] else ch["passed"]
            result = '<span class="note">warn</span>' if ch.get("warning") else verdict(ok)
            rows.append([esc(ch["name"]), _num(ch["value"]), f"{esc(ch['op'])} {_num(ch['threshold'])}", result,
                         esc(ch.get("note", ""))])
        metrics = {k: v for k, v in (g.get("metrics") or {}).items() if not isinstance(v, dict | list)}
        body = table(rows, ["check", "value", "threshold", "result", "note"], raw=True)
        if metrics:
            body += "<details><summary>metrics</summary>" + table(sorted(metrics.items())) + "</details>"
        sections.append((f"Gate {g['gate']} — {gate_title(g['gate'])}", body))
    days = [d for d in card.get("days") or [] if "gates" in d]
    if days:  # several days: each day's own gates (the gates above pool them)
        rows = [[esc(d["day"]), _num(d["n_rows"]),
                 *(f"{verdict(None if all(c['value'] is None and c['passed'] for c in g['checks']) else g['passed'])}"
                   f" {esc(g['metric'])} {_num(g['value'])}" for g in d["gates"])] for d in days]
        sections.append(("Per day", '<p class="note">The gates above pool the days: gate A passes only when every '
                                    'day passes; B and C are computed on every day together.</p>'
                         + table(rows, ["day", "rows", "gate A", "gate B", "gate C"], raw=True)))
    if len(card.get("variants") or []) > 1:
        sections.append(("Parameter sensitivity", table(
            ([v["name"], str(v["params"]), v["sharpe"], v["d_sharpe"], v["ic"], v["d_ic"]] for v in card["variants"]),
            ["variant", "params", "Sharpe", "Δ Sharpe", "IC", "Δ IC"])))
    figs = [png_bytes(Path(p).read_bytes(), Path(p).stem.replace("_", " ")) for p in card.get("plots") or []
            if Path(p).is_file()]
    sections.append(("Plots", f'<div class="grid">{"".join(figs)}</div>' if figs else
                     '<p class="note">No plots (run without --no-plots to draw them).</p>'))
    ident = [("experiment", card.get("experiment_id")), ("run id", card.get("run_id")),
             ("data", ", ".join(card.get("data") or [])), ("data hash", card.get("data_hash")),
             ("code hash", card.get("code_hash")), ("rows", card.get("n_rows")), ("features", card.get("features")),
             ("recorded", card.get("recorded"))]
    sections.append(("Identity", table(ident)))
    path = Path(path)
    path.write_text(page(f"Validation of {card['alpha_id']} {card['version']}",
                         f"experiment {card.get('experiment_id')} · "
                         f"{'PASS' if card['passed'] else 'FAIL'}", sections))
    return path


def _num(v: Any) -> str:
    from hft.report.html import fmt

    return fmt(v)
