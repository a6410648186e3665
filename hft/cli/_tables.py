"""Rows as a table that fits the terminal.

A table whose columns fit the console width prints as a table. A wider one (a store row has a dozen columns,
some holding JSON; a trial has a dozen metrics) would squeeze every column to a letter or two. It is printed
side by side instead when few rows are shown (one column per row, headed by the row's name — its key column's
value —, one line per field: trials compared as a person compares them) and no value of a never-wrap column (an
id a person copies into the next command) would fold there; otherwise as records: one small key/value table per row, each value on one line, cut with an
ellipsis at the width (``--json`` or ``--csv`` give the full values).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

MIN_CELL = 8  # a table column narrower than this is unreadable: fold into records instead
MIN_SIDE = 10  # the narrowest column a row gets side by side (longer values fold onto more lines)
MAX_SIDE_ROWS = 8  # more rows than this are shown as records, not side by side
MAX_SIDE_LINES = 5  # side by side, a value folds onto at most this many lines


def _cell(v: Any) -> str:
    return "" if v is None else str(v)


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: room - 1] + "…"


def _longest(values: list[Any]) -> int:
    return max((len(x) for v in values for x in _cell(v).splitlines()), default=0)


def fits(columns: list[str], rows: list[list[Any]], width: int) -> bool:
    """Whether a bordered table of these rows fits ``width`` with every column at its natural width (capped)."""
    widths = []
    for i, c in enumerate(columns):
        longest = max(len(c), _longest([r[i] for r in rows]))
        widths.append(max(min(longest, 60), min(len(c), MIN_CELL)))
    return sum(widths) + 3 * len(columns) + 1 <= width


def fits_side_by_side(columns: list[str], rows: list[list[Any]], width: int,
                      no_wrap: Collection[str] = ()) -> bool:
    """Whether the rows fit ``width`` side by side: the field names' column whole and each row a column of at
    least `MIN_SIDE` characters (or its longest value, if shorter), in which no value folds onto more than
    `MAX_SIDE_LINES` lines (a store row's JSON does: records cut it instead) and no value of a ``no_wrap``
    column (an id) folds at all (the ids a person copies into `show` / `compare` were broken over lines)."""
    if not rows or len(rows) > MAX_SIDE_ROWS:
        return False
    key_w = max(len(c) for c in columns)
    room = (width - key_w - 3 * (len(rows) + 1) - 1) // len(rows)  # each row's column, borders and padding out
    longest = max(_longest(r) for r in rows)
    if any(_longest([r[i] for r in rows]) > room for i, c in enumerate(columns) if c in no_wrap):
        return False
    return room >= min(MIN_SIDE, longest) and longest <= MAX_SIDE_LINES * room


def _key_index(columns: list[str], rows: list[list[Any]], key: str | None) -> int | None:
    """The column naming each row (`key`; None: the first), when its values are distinct and none is empty."""
    k = columns.index(key) if key in columns else 0 if key is None and columns else None
    if k is None:
        return None
    names = [_cell(r[k]) for r in rows]
    return k if all(names) and len(set(names)) == len(names) else None


def render_rows(columns: list[str], rows: list[list[Any]], title: str | None = None, console: Any = None, *,
                right: Collection[str] = (), no_wrap: Collection[str] = (), optional: Collection[str] = (),
                same: Collection[str] = (), key: str | None = None, noun: str = "row",
                styles: Sequence[str | None] | None = None, count: bool = True, full: str = "--json") -> None:
    """Print ``rows`` under ``columns``: a table when it fits the console, else side by side when that fits,
    else one record view per row.

    Args:
        right: columns justified right in the table (numbers).
        no_wrap: columns never broken across lines (ids): in the table, and side by side (rows whose ids would
            fold there are shown as records instead).
        optional: columns left out when empty in every row (a note no row has).
        same: columns left out when every row holds the same value (the title names it: one instrument).
        key: the column whose values name the rows (None: the first column): side by side, each row's column is
            headed by its name (not a number), when the names are distinct and none is empty.
        noun: what a row is (``day``, ``trial``): the count says ``3 days`` (side by side, where rows are shown as
            columns, the default ``row`` counts ``3 columns``).
        styles: a rich style per row (None: plain), e.g. the best trial's highlight; side by side it styles the
            row's column.
        count: end with the number of rows.
        full: the command's options that print every value in full (the record view cuts long ones).
    """
    from rich.table import Table

    from hft.cli._output import console as make_console
    from hft.cli._output import count as counted

    con = console or make_console()
    width = con.size.width
    keep = [i for i, c in enumerate(columns) if (c not in optional or any(_cell(r[i]) for r in rows))
            and (c not in same or len({_cell(r[i]) for r in rows}) != 1)]
    if len(keep) < len(columns):
        columns, rows = [columns[i] for i in keep], [[r[i] for i in keep] for r in rows]
    styles = list(styles) if styles is not None else [None] * len(rows)
    side = False
    if fits(columns, rows, width):
        table = Table(title=title, title_justify="left")
        for c in columns:
            table.add_column(c, overflow="fold", justify="right" if c in right else "left", no_wrap=c in no_wrap)
        for r, style in zip(rows, styles, strict=True):
            table.add_row(*(_cell(v) for v in r), style=style)
        con.print(table)
    elif fits_side_by_side(columns, rows, width, no_wrap):
        side = True
        k = _key_index(columns, rows, key)
        names = [str(n) for n in range(1, len(rows) + 1)] if k is None else [_cell(r[k]) for r in rows]
        table = Table(title=title, title_justify="left")
        table.add_column("", style="bold", no_wrap=True, min_width=max(len(c) for c in columns))
        for name, style in zip(names, styles, strict=True):
            table.add_column(name, overflow="fold", style=style,
                             no_wrap=k is not None and columns[k] in no_wrap)
        for i, c in enumerate(columns):
            if i != k:
                table.add_row(c, *(_cell(r[i]) for r in rows))
        con.print(table)
    else:
        key_w = min(max((len(c) for c in columns), default=1), max(12, width // 3))
        for n, (r, style) in enumerate(zip(rows, styles, strict=True), 1):
            t = Table(title=f"{title + ' — ' if title else ''}{noun} {n} of {len(rows)}", title_justify="left",
                      show_header=False, style=style)
            t.add_column("column", style="bold", min_width=key_w, max_width=key_w, no_wrap=True,
                         overflow="ellipsis")
            t.add_column("value", no_wrap=True, overflow="ellipsis")
            room = max(8, width - key_w - 7)  # borders and padding of a two-column table
            for c, v in zip(columns, r, strict=True):
                t.add_row(c, _cut(" ".join(_cell(v).split()), room))
            con.print(t)
        if rows:
            con.print(f"(wide rows shown as records; long values cut — {full} for every value)", style="dim")
    if count:
        con.print(counted(len(rows), "column" if side and noun == "row" else noun), style="dim")
