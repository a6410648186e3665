"""`hft data verify` names the line where an L2 book first crossed, in its JSON and on the terminal."""

from __future__ import annotations

import json
from pathlib import Path

from hft.data._convert import row_place
from tests.unit.data import vendor_samples as vs


def test_binance_crossing_place_in_json_and_terminal(hft, tmp_path: Path) -> None:
    files, exch = vs.binance_crossing(tmp_path)
    r = hft("data", "verify", *map(str, files), "--json")
    assert r.code == 12 and "Traceback" not in r.err
    result, error = (json.loads(line) for line in r.out.splitlines())  # the result, then the error's fields
    first = result["first_crossed"]
    assert (first["file"], first["line"], first["exch_ts"]) == (str(files[1]), 3, exch)
    assert first["message"] == row_place(files[1], 3)
    assert (error["file"], error["line"]) == (str(files[1]), 3)
    # the terminal: the error line and the first_crossed table name the same line (paths short: no folding)
    rel = [str(f.relative_to(tmp_path)) for f in files]
    t = hft("data", "verify", *rel, cwd=tmp_path, env={"COLUMNS": "160"})
    assert t.code == 12
    assert t.err.splitlines()[0] == f"error: verify failed: 2 crossed book states, the first after {rel[1]}: row 3"
    screen = t.out.splitlines()
    title = screen.index("first_crossed")
    cells = [[c.strip() for c in line.strip("│ ").split("│")] for line in screen[title + 1:] if "│" in line]
    rows = dict(c for c in cells if len(c) == 2)
    assert rows["file"] == rel[1] and rows["line"] == "3" and rows["message"] == f"{rel[1]}: row 3"
    assert (rows["exch_ts"], rows["exch_utc"]) == (f"{exch:,}", "2024-08-08T23:54:17.012000+00:00")


def test_tardis_pair_crossing_place(hft, tmp_path: Path) -> None:
    m = vs.market(300, seed=5)
    i = len(m.updates) // 2
    m.updates[i] = (m.updates[i][0], 1, 600_050, 777)  # a bid above every ask
    book, trades = vs.write_tardis(m, tmp_path)
    line = next(n for n, text in enumerate(book.read_text().splitlines(), start=1) if ",0.777" in text)
    r = hft("data", "verify", str(trades), str(book), "--json")
    assert r.code == 12
    first = json.loads(r.out.splitlines()[0])["first_crossed"]
    assert (first["file"], first["line"], first["exch_ts"]) == (str(book), line, m.updates[i][0] * 1000)
