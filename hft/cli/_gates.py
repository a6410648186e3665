"""A gate's checks as a table: one row per check with its value, unit, threshold and verdict.

The one place the CLI decides how a gate is shown: `hft alpha validate` (gates A, B, C and house gates, from
their `Check` rows) and `hft alpha promote` (gates D and E, from their metrics, thresholds and reasons) both
print `gate_table`s. A row's result is ``pass`` / ``fail`` / ``warn`` (an advisory check crossed its threshold)
/ ``n/a`` (not applicable), or empty for a figure the gate reports without judging it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from hft.cli._output import fmt_value as _fmt

__all__ = ["GateRow", "check_rows", "gate_table", "readable", "verdict"]


class GateRow(NamedTuple):
    """One line of a gate table (every field already text; ``unit`` and ``note`` may be empty)."""

    name: str
    value: str
    threshold: str
    result: str
    note: str = ""
    unit: str = ""


def verdict(passed: bool | None, *, na: bool = False, warning: bool = False) -> str:
    """The result cell: pass / fail / warn / n/a in colour; empty when ``passed`` is None (not judged)."""
    if na:
        return "n/a"
    if passed is None:
        return ""
    if warning:
        return "[yellow]warn[/yellow]"
    return "[green]pass[/green]" if passed else "[red]fail[/red]"


def readable(v: Any) -> str:
    """A value for a person: a mapping as ``key value, …`` (``none`` when empty), a list joined by commas,
    anything else as `fmt_value` shows it (never Python's ``{}`` / ``[...]`` text)."""
    if isinstance(v, Mapping):
        return ", ".join(f"{k} {readable(x)}" for k, x in v.items()) or "none"
    if isinstance(v, list | tuple):
        return ", ".join(readable(x) for x in v) or "none"
    return _fmt(v)


def check_rows(checks: Sequence[Mapping[str, Any]]) -> list[GateRow]:
    """Rows for a gate's `Check` dicts (`hft.alpha.gates.result.Check.to_dict`)."""
    rows = []
    for ch in checks:
        value = ch["value"]
        na = (value is None or (isinstance(value, float) and math.isnan(value))) and ch["passed"]
        note = "" if ch["note"].startswith(f"{ch['name']} = ") else ch["note"]  # the default says no more
        rows.append(GateRow(ch["name"], _fmt(value), f"{ch['op']} {_fmt(ch['threshold'])}",
                            verdict(ch["passed"], na=na, warning=bool(ch.get("warning"))), note))
    return rows


def gate_table(title: str, rows: Sequence[GateRow]) -> Any:
    """A rich table of ``rows`` under ``title``: metric, value, unit (only when a row has one), threshold,
    result, note. Names, numbers and thresholds stay whole; notes wrap."""
    from rich.table import Table  # lazy: `hft --help` imports no rich

    cols = ["metric", "value", *(["unit"] if any(r.unit for r in rows) else []), "threshold", "result", "note"]
    t = Table(title=title, title_justify="left")
    for col in cols:
        t.add_column(col, overflow="fold", no_wrap=col not in ("note", "unit"))
    for r in rows:
        cells = {"metric": r.name, "value": r.value, "unit": r.unit, "threshold": r.threshold,
                 "result": r.result, "note": r.note}
        t.add_row(*(cells[c] for c in cols))
    return t
