"""`hft.cli._tables.render_rows`: a table when the rows fit, side by side when a few wide rows do, records else;
rendered by rich into a console of a known width, as a terminal of that width shows them."""

from __future__ import annotations

import io

from rich.console import Console

from hft.cli._tables import MAX_SIDE_ROWS, render_rows


def _render(columns: list[str], rows: list[list], width: int, **kw) -> list[str]:
    out = io.StringIO()
    render_rows(columns, rows, title="t", console=Console(file=out, width=width, soft_wrap=True), **kw)
    lines = out.getvalue().splitlines()
    assert max(len(ln) for ln in lines if ln[:1] in "┏┃┡│└┌") <= width  # the tables (text: the terminal wraps)
    return lines


def _cells(line: str) -> list[str]:
    bar = "┃" if "┃" in line else "│"
    return [c.strip() for c in line.split(bar)[1:-1]]


METRICS = [f"metric_{i:02d}" for i in range(12)]


def _trials(n: int) -> list[list]:
    return [[f"experiment-{t}", str(t), *(f"{0.1 * t + i:.4f}" for i in range(12))] for t in range(n)]


def test_rows_that_fit_are_a_table_with_numbers_right_aligned():
    lines = _render(["experiment", "trial", *METRICS[:2]], [r[:4] for r in _trials(3)], 80, right=("trial",))
    header = next(ln for ln in lines if "experiment" in ln)
    assert _cells(header) == ["experiment", "trial", "metric_00", "metric_01"]
    assert _cells(lines[lines.index(header) + 2]) == ["experiment-0", "0", "0.0000", "1.0000"]
    assert "│     0 │" in lines[lines.index(header) + 2]  # right-justified under "trial"


def test_a_few_wide_rows_are_side_by_side_headed_by_their_names():
    """Side by side each row is a column headed by its name (the first column's value, not 1 2 3 4), and the
    count does not call those columns rows."""
    lines = _render(["experiment", "trial", *METRICS], _trials(4), 80)
    assert _cells(next(ln for ln in lines if "┃" in ln)) == ["", *(f"experiment-{t}" for t in range(4))]
    assert not any(ln.startswith("│ experiment ") for ln in lines)  # the names head the columns, once
    row = next(ln for ln in lines if ln.startswith("│ metric_11 "))
    assert _cells(row) == ["metric_11", "11.0000", "11.1000", "11.2000", "11.3000"]
    assert lines[-1] == "4 columns"
    days = _render(["experiment", "trial", *METRICS], _trials(4), 80, key="trial", noun="trial")
    assert _cells(next(ln for ln in days if "┃" in ln)) == ["", "0", "1", "2", "3"]
    assert days[-1] == "4 trials"


def test_rows_without_distinct_names_are_numbered_side_by_side():
    rows = [["same", *r[1:]] for r in _trials(3)]
    lines = _render(["experiment", "trial", *METRICS], rows, 80)
    assert _cells(next(ln for ln in lines if "┃" in ln)) == ["", "1", "2", "3"]
    assert any(ln.startswith("│ experiment ") for ln in lines)


def test_columns_of_one_value_can_be_left_out():
    """A column holding one value in every row (a sweep's single instrument, named by its title) is left out when
    the caller says so; the table then fits where it would not."""
    cols = ["cell", "instrument", "day", "status", *METRICS[:4]]
    rows = [[n, "SYNTHETIC_INSTRUMENT", "2024-01-02", "ok", *(f"{v:.2f}" for v in range(4))] for n in range(10)]
    wide = _render(cols, rows, 80)
    assert any("row 1 of 10" in ln for ln in wide)  # records
    lines = _render(cols, rows, 80, same=("instrument", "status"))
    header = next(ln for ln in lines if "┃" in ln)
    assert _cells(header) == ["cell", "day", *METRICS[:4]]
    rows[3][3] = "error"
    assert "status" in _cells(next(ln for ln in _render(cols, rows, 120, same=("status",)) if "┃" in ln))


def test_many_rows_or_long_values_are_records():
    many = _render(["experiment", "trial", *METRICS], _trials(MAX_SIDE_ROWS + 1), 80)
    assert any("row 1 of 9" in ln for ln in many) and not any(ln.startswith("┃") for ln in many)
    blob = [["run", "x" * 2000]]  # a store row's JSON: folded side by side it would fill the screen
    long = _render(["id", "summary"], blob * 2, 40)
    assert any("row 2 of 2" in ln for ln in long) and len(long) < 20
    assert any(ln.rstrip(" │").endswith("…") for ln in long)


def test_optional_columns_empty_in_every_row_are_left_out():
    rows = [["1", "NEW", ""], ["2", "FILLED", ""]]
    header = next(ln for ln in _render(["id", "status", "note"], rows, 80, optional=("note",)) if "id" in ln)
    assert _cells(header) == ["id", "status"]
    rows[1][2] = "gateway: RISK_LIMIT"
    header = next(ln for ln in _render(["id", "status", "note"], rows, 80, optional=("note",)) if "id" in ln)
    assert _cells(header) == ["id", "status", "note"]


def test_ids_that_would_fold_side_by_side_make_records():
    """A never-wrap column (an id a person copies into the next command) is never folded over lines side by
    side: four experiments with real ids at 100 columns are records, each id whole on its line."""
    ids = [f"obi_l1+ofi-search-20261127T120453Z-fbb76{t}" for t in range(4)]
    rows = [[eid, *r[1:]] for eid, r in zip(ids, _trials(4), strict=True)]
    side = _render(["experiment", "trial", *METRICS], rows, 100)  # without no_wrap: side by side (ids fold)
    assert any("┃" in ln for ln in side)
    lines = _render(["experiment", "trial", *METRICS], rows, 100, no_wrap=("experiment",))
    assert not any(ln.startswith("┃") for ln in lines) and any("row 4 of 4" in ln for ln in lines)
    for eid in ids:
        assert any(f"│ {eid} " in ln for ln in lines), eid
