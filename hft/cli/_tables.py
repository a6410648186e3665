"""Rows of a query as a table that fits the terminal.

A table whose columns fit the console width prints as a table. A wider one (a store row has a dozen columns,
some holding JSON) would squeeze every column to a letter or two and print thousands of lines; it folds into a
record view instead: one small key/value table per row, each value on one line, cut with an ellipsis at the
width (``--json`` or ``--csv`` give the full values).
"""

from __future__ import annotations

from typing import Any

MIN_CELL = 8  # a table column narrower than this is unreadable: fold into records instead


def _cell(v: Any) -> str:
    return "" if v is None else str(v)


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: room - 1] + "…"


def fits(columns: list[str], rows: list[list[Any]], width: int) -> bool:
    """Whether a bordered table of these rows fits ``width`` with every column at its natural width (capped)."""
    widths = []
    for i, c in enumerate(columns):
        longest = max([len(c), *(max((len(x) for x in _cell(r[i]).splitlines()), default=0) for r in rows)])
        widths.append(max(min(longest, 60), min(len(c), MIN_CELL)))
    return sum(widths) + 3 * len(columns) + 1 <= width


def render_rows(columns: list[str], rows: list[list[Any]], title: str | None = None, console: Any = None) -> None:
    """Print ``rows`` under ``columns``: a table when it fits the console, else one record view per row."""
    from rich.table import Table

    from hft.cli._output import console as make_console

    con = console or make_console()
    width = con.size.width
    if fits(columns, rows, width):
        table = Table(title=title, title_justify="left")
        for c in columns:
            table.add_column(c, overflow="fold")
        for r in rows:
            table.add_row(*(_cell(v) for v in r))
        con.print(table)
    else:
        key_w = min(max((len(c) for c in columns), default=1), max(12, width // 3))
        for n, r in enumerate(rows, 1):
            t = Table(title=f"{title + ' — ' if title else ''}row {n} of {len(rows)}", title_justify="left",
                      show_header=False, width=width)
            t.add_column("column", style="bold", min_width=key_w, max_width=key_w, no_wrap=True,
                         overflow="ellipsis")
            t.add_column("value", no_wrap=True, overflow="ellipsis")
            room = max(8, width - key_w - 7)  # borders and padding of a two-column table
            for c, v in zip(columns, r, strict=True):
                t.add_row(c, _cut(" ".join(_cell(v).split()), room))
            con.print(t)
        if rows:
            con.print("(wide rows shown as records; long values cut — --json or --csv for every value)", style="dim")
    con.print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}", style="dim")
