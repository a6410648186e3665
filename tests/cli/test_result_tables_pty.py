"""Results tables at a terminal's width, run as a person runs them: under a pseudo-terminal of 80 and of 120
columns, and through a pipe (rich's 80 columns).

Audit 16 (a new user at an 80-column terminal): a 12-cell sweep printed 12 record boxes (~150 lines) because its
``day`` column held whole file names; the several-instrument leg table folded into columns headed 1 2 3 counted
as "3 rows" and left out the rejects; the per-day table broke file names mid-word; amounts and counts were
written differently from line to line. A day is shown by its date, a run hash by its 8-hex short form, amounts
in their money unit's decimals, counts with thousands separators.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.conftest import run_hft
from tests.cli.pty_run import run_pty
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

_TABLE = tuple("┏┃┡│└┌┢┣╇")
_AMOUNT = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d\d$")  # a USD amount: cents always, thousands separated


def _generate(out: Path, seed: int, symbol: str, date: str) -> Path:
    from hft.data.importing import generate_day

    return Path(generate_day(out, seed=seed, symbol=symbol, date=date, messages=3000, levels=5,
                             zip_output=True)["zip_path"])


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> dict[str, Path]:
    """Two SYNTH days and one OTHER day (as files a LOBSTER-style generator names: SYMBOL_DATE_34200000_...)."""
    out = tmp_path_factory.mktemp("tables")
    return {"d1": _generate(out / "gen", 4, "SYNTH", "2024-01-02"),
            "d2": _generate(out / "gen", 5, "SYNTH", "2024-01-03"),
            "b1": _generate(out / "other", 6, "OTHER", "2024-01-02")}


def _lines(text: str, columns: int) -> list[str]:
    lines = [ln.rstrip() for ln in text.splitlines()]
    wide = [ln for ln in lines if ln.startswith(_TABLE) and len(ln) > columns]
    assert not wide, "\n".join(wide)  # every table fits the terminal
    return lines


def _cells(line: str) -> list[str]:
    bar = "┃" if "┃" in line else "│"
    return [c.strip() for c in line.split(bar)[1:-1]]


def _run(columns: int | None, *args: str, cwd: Path, home: Path) -> list[str]:
    """``hft ARGS`` under a pty of `columns` (None: through a pipe); its screen's lines, tables checked to fit."""
    if columns is None:
        r = run_hft(*args, cwd=cwd, env={"HFT_HOME": str(home), "COLUMNS": "80"})
        assert r.code == 0, r.err
        return _lines(r.out, 80)
    p = run_pty(*args, cwd=cwd, env={"HFT_HOME": str(home)}, columns=columns)
    assert p.code == 0 and "Traceback" not in p.text, p.describe()
    return _lines(p.text, columns)


@pytest.mark.parametrize("columns", [80, 120, None])
def test_a_sweep_is_one_leaderboard(days, tmp_path, columns):
    """2 days x 6 grid points: one table of 12 rows at 80 columns (and wider, and through a pipe), each day by its
    date, the run hash whole in its short form; the best cell named by its number in the ``cell`` column."""
    spec = tmp_path / "sweep.yaml"
    spec.write_text(f"sweep: edge\nstrategy: mm\ngrid: {{edge_ticks: [0, 1, 2], size: [1, 2]}}\n"
                    f"data: {{SYNTH: ['{days['d1'].parent}/SYNTH_*.zip']}}\ndays: each\n")
    lines = _run(columns, "replay", "sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "1",
                 "--no-store", cwd=tmp_path, home=tmp_path / "home")
    assert not any("row 1 of" in ln for ln in lines)  # not records
    header = next(ln for ln in lines if ln.startswith("┃"))
    assert _cells(header) == ["cell", "day", "params", "PnL", "fees", "fills", "run hash"]
    start = next(i for i, ln in enumerate(lines) if ln.startswith("sweep edge (mm on SYNTH, local)"))
    rows = [_cells(ln) for ln in lines if ln.startswith("│")]
    assert [r[0] for r in rows] == [str(n) for n in range(12)]
    assert [r[1] for r in rows] == ["2024-01-02"] * 6 + ["2024-01-03"] * 6
    assert all(_AMOUNT.match(r[3]) and _AMOUNT.match(r[4]) for r in rows), rows
    assert all(re.fullmatch(r"[0-9a-f]{8}", r[6]) for r in rows)
    end = next(i for i, ln in enumerate(lines) if ln.startswith("└"))
    assert end - start == 16  # one table: title, its top, header and rule, 12 rows, bottom
    best = max(rows, key=lambda r: (float(r[3].replace(",", "")), -int(r[0])))
    said = next(ln for ln in lines if ln.startswith("best PnL: "))
    assert said.startswith(f"best PnL: cell {best[0]} (SYNTH, {best[1]}, {best[2].replace(' ', ', ')}): {best[3]} USD")


@pytest.mark.parametrize("columns", [80, 120])
def test_several_days_are_named_by_their_dates(days, tmp_path, columns):
    """The per-day table: a table where it fits (120), side by side at 80 with each day's column headed by its
    date and counted as days; no file name broken over lines; the summary's counts thousands separated."""
    lines = _run(columns, "replay", "-d", str(days["d1"]), "-d", str(days["d2"]), "-s", "mm", "--no-store",
                 cwd=tmp_path, home=tmp_path / "home")
    text = "\n".join(lines)
    assert "SYNTH_2024" not in text and "34200000" not in text
    top = lines[lines.index("per day (USD)") + 1:]
    if columns == 80:
        assert _cells(next(ln for ln in top if ln.startswith("┃"))) == ["", "2024-01-02", "2024-01-03"]
        run_hash = next(ln for ln in top if ln.startswith("│ run hash "))
        assert all(re.fullmatch(r"[0-9a-f]{8}", c) for c in _cells(run_hash)[1:])
        fees = next(ln for ln in top if ln.startswith("│ fees "))
        assert all(_AMOUNT.match(c) for c in _cells(fees)[1:])
    else:
        assert _cells(next(ln for ln in top if ln.startswith("┃")))[0] == "day"
        assert [_cells(ln)[0] for ln in top if ln.startswith("│")] == ["2024-01-02", "2024-01-03"]
    assert "2 days" in lines and "2 rows" not in lines and "2 columns" not in lines
    fills = next(ln for ln in lines if ln.startswith("│ fills "))
    assert not re.search(r"(?<![\d,.])\d{4,}", fills), fills  # 3,538 units, not 3538 units


@pytest.mark.parametrize("columns", [80, 120])
def test_the_legs_of_several_instruments_are_a_table(days, tmp_path, columns):
    """One row per leg and the portfolio's, as a table at 80 columns, and the rejects said."""
    lines = _run(columns, "replay", "-d", str(days["d1"]), "-d", str(days["b1"]), "-s", "hedged_mm", "--no-store",
                 cwd=tmp_path, home=tmp_path / "home")
    header = next(ln for ln in lines if ln.startswith("┃"))
    assert _cells(header) == ["leg", "events", "PnL", "fees", "orders", "fills", "position", "run hash"]
    assert [_cells(ln)[0] for ln in lines if ln.startswith("│")] == ["SYNTH", "OTHER", "portfolio"]
    assert not any(re.fullmatch(r"\d+ rows?", ln) for ln in lines)
    assert any(ln.startswith("rejects: ") for ln in lines)


def test_side_by_side_legs_are_headed_by_their_names(days, tmp_path):
    """Too narrow for the leg table (60 columns): the legs side by side, headed by their names, not 1 2 3."""
    lines = _run(60, "replay", "-d", str(days["d1"]), "-d", str(days["b1"]), "-s", "hedged_mm", "--no-store",
                 cwd=tmp_path, home=tmp_path / "home")
    assert _cells(next(ln for ln in lines if ln.startswith("┃"))) == ["", "SYNTH", "OTHER", "portfolio"]
    assert not any(ln.startswith("│ leg ") for ln in lines) and "3 rows" not in lines


@pytest.mark.shared_data
@pytest.mark.parametrize("columns", [80, 120])
def test_goog_and_amzn_at_80_columns(tmp_path, columns):
    """The audit's run: GOOG + AMZN hedged, a table at 80 columns, and the SELF_MATCH reject of GOOG said."""
    lob = SHARED_DATA / "lobster"
    goog, amzn = lob / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip", lob / "LOBSTER_SampleFile_AMZN_2012-06-21_1.zip"
    if not goog.exists() or not amzn.exists():
        pytest.skip(f"LOBSTER samples not present under {lob}")
    lines = _run(columns, "replay", "-d", str(goog), "-d", str(amzn), "-s", "hedged_mm", "--no-store",
                 cwd=tmp_path, home=tmp_path / "home")
    assert [_cells(ln)[0] for ln in lines if ln.startswith("│")] == ["GOOG", "AMZN", "portfolio"]
    assert "rejects: GOOG SELF_MATCH 1" in lines


@pytest.mark.shared_data
def test_a_coin_margined_position_is_in_contracts(tmp_path):
    cm = SHARED_DATA / "binance" / "cm" / "btcusd_perp_20240808.gz"
    if not cm.exists():
        pytest.skip(f"Binance COIN-M capture not present at {cm}")
    lines = _run(80, "replay", "-d", str(cm), "-s", "imbalance_taker", "--no-store", cwd=tmp_path,
                 home=tmp_path / "home")
    text = "\n".join(lines)
    assert "units" not in text.replace("money units", "")
    assert re.search(r"│ final position +│ -?[\d,]+ contracts \(", text), text
    assert re.search(r"│ PnL +│ -?0\.\d{9} BTC \(gross -?0\.\d{9}, fees -?0\.\d{9};", text), text
