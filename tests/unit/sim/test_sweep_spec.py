"""`hft.sim.sweep.parse_sweep`: cells of a grid x days x instruments, in one order, ids by content."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hft.core.errors import ConfigError
from hft.data.sources import FILES
from hft.sim.sweep import parse_sweep


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    from hft.data.importing import generate_day

    base = tmp_path_factory.mktemp("sweepspec")
    for inst, seed in (("AAA", 1), ("BBB", 2)):
        for date in ("2024-01-02", "2024-01-03"):
            generate_day(base / inst, seed=seed, symbol=inst, date=date, messages=1000, levels=2, zip_output=True)
    return base


def _spec(**over):
    return {"sweep": "t", "strategy": "mm", "grid": {"size": [1, 2], "edge_ticks": [0, 1, 2]},
            "data": {"AAA": ["AAA/*.zip"], "BBB": ["BBB/*.zip"]}, **over}


def test_cells_in_order_with_content_ids(folder):
    s = parse_sweep(_spec(), folder / "spec.yaml", source=FILES)
    cells = s.cells
    assert len(cells) == 2 * 2 * 6 and [c["n"] for c in cells] == list(range(24))
    assert [c["instrument"] for c in cells[:12]] == ["AAA"] * 12 and cells[12]["instrument"] == "BBB"
    assert cells[0]["day"] < cells[6]["day"]  # days in file order inside an instrument
    # the grid in spec order, the last parameter fastest
    assert [(c["params"]["size"], c["params"]["edge_ticks"]) for c in cells[:6]] == [
        (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
    assert len({c["cell"] for c in cells}) == 24
    # ids depend on content, not on where the files are
    moved = folder / "moved"
    shutil.copytree(folder / "AAA", moved / "AAA")
    shutil.copytree(folder / "BBB", moved / "BBB")
    again = parse_sweep(_spec(), moved / "spec.yaml", source=FILES)
    assert [c["cell"] for c in again.cells] == [c["cell"] for c in cells]
    # a changed config changes every id
    other = parse_sweep(_spec(set=["latency.entry=2ms"]), folder / "spec.yaml", source=FILES)
    assert not {c["cell"] for c in other.cells} & {c["cell"] for c in cells}


def test_days_together_is_one_cell_per_instrument_and_point(folder):
    s = parse_sweep(_spec(days="together", grid={"size": [1, 2]}), folder / "spec.yaml", source=FILES)
    assert len(s.cells) == 2 * 2
    assert s.cells[0]["day"] == "2 days" and len(s.cells[0]["data"]) == 2


def test_a_group_is_one_cell_of_its_instruments_per_day(folder):
    pair = {"AAA": ["AAA/*.zip"], "BBB": ["BBB/*.zip"]}
    s = parse_sweep(_spec(data={"AAA": ["AAA/*.zip"], "PAIR": pair}, grid={"size": [1, 2]}), folder / "spec.yaml",
                    source=FILES)
    assert [c["instrument"] for c in s.cells] == ["AAA"] * 4 + ["PAIR"] * 4
    a_days = sorted(str(p) for p in (folder / "AAA").glob("*.zip"))
    b_days = sorted(str(p) for p in (folder / "BBB").glob("*.zip"))
    # day d of the group: day d of each instrument, in leg order (the data of `hft replay -d A_d -d B_d`)
    assert [c["data"] for c in s.cells[4::2]] == [[a_days[0], b_days[0]], [a_days[1], b_days[1]]]
    assert s.cells[4]["day"] == f"{Path(a_days[0]).name} + {Path(b_days[0]).name}"
    assert len({c["cell"] for c in s.cells}) == 8
    # days together: one run over the days of both (`hft replay -d A1 -d B1 -d A2 -d B2`)
    t = parse_sweep(_spec(data={"PAIR": pair}, grid={"size": [1]}, days="together"), folder / "spec.yaml",
                    source=FILES)
    assert len(t.cells) == 1 and t.cells[0]["day"] == "2 days"
    assert t.cells[0]["data"] == [a_days[0], b_days[0], a_days[1], b_days[1]]
    # the id hashes every file's content in leg order: the other leg first is another run, another id
    swapped = parse_sweep(_spec(data={"PAIR": {"BBB": pair["BBB"], "AAA": pair["AAA"]}}, grid={"size": [1]},
                                days="together"), folder / "spec.yaml", source=FILES)
    assert swapped.cells[0]["cell"] != t.cells[0]["cell"]


def test_a_brace_list_of_days_expands_like_a_range(folder):
    """``AAA/..._{02,03}_...zip`` is the two days, in the order listed, as ``{02..03}`` is; a listed day with no file
    is skipped and said (a notice), as a range's is."""
    name = next((folder / "AAA").glob("*2024-01-02*.zip")).name
    listed = f"AAA/{name.replace('2024-01-02', '2024-01-{02,03}')}"
    ranged = f"AAA/{name.replace('2024-01-02', '2024-01-{02..03}')}"
    a = parse_sweep(_spec(data={"AAA": [listed]}, grid={"size": [1]}), folder / "spec.yaml", source=FILES)
    b = parse_sweep(_spec(data={"AAA": [ranged]}, grid={"size": [1]}), folder / "spec.yaml", source=FILES)
    assert [c["data"] for c in a.cells] == [c["data"] for c in b.cells] and len(a.cells) == 2
    backwards = parse_sweep(_spec(data={"AAA": [listed.replace("{02,03}", "{03,02}")]}, grid={"size": [1]}),
                            folder / "spec.yaml", source=FILES)
    assert [c["data"] for c in backwards.cells] == [c["data"] for c in a.cells][::-1]
    gap = parse_sweep(_spec(data={"AAA": [listed.replace("{02,03}", "{02,04}")]}, grid={"size": [1]}),
                      folder / "spec.yaml", source=FILES)
    assert len(gap.cells) == 1 and "the list matched 1 of 2 files" in gap.notices[0]


@pytest.mark.parametrize(("over", "key"), [
    ({"grid": {"size": {2: None, 3: None}}}, "key 'grid.size': expected a list of values: write [2, 3]"),
    ({"data": {"AAA": ["AAA/none_{1,3}.zip"]}}, "data.AAA"),
    ({"data": {"P": {"AAA": ["AAA/*.zip"]}}}, "data.P': expected a group of two or more"),
    ({"data": {"P": {"AAA": ["AAA/*.zip"], "BBB": ["BBB/*_2024-01-02_*.zip"]}}},
     "data.P': expected the same number of days of each instrument of the group, was 'AAA 2, BBB 1'"),
    ({"data": {"P": {"AAA": ["AAA/*.zip"], "BBB": []}}}, "data.P.BBB"),
    ({"data": {"P": {"AAA": ["AAA/*.zip"], "BBB": {"x": ["BBB/*.zip"]}}}}, "data.P.BBB"),
    ({"data": {"P": {"AAA": ["AAA/*.zip"], "BBB": ["BBB/none.zip"]}}}, "data.P.BBB"),
    ({"grid": {"size": []}}, "grid.size"),
    ({"grid": {"size": [1, 1]}}, "grid.size"),
    ({"grid": {"max_position": ["x"]}}, "grid.max_position"),
    ({"days": "some"}, "days"),
    ({"data": {}}, "data"),
    ({"data": {"AAA": ["AAA/none_{1..3}.zip"]}}, "data.AAA"),
    ({"sweep": "a b"}, "sweep"),
    ({"set": ["nope.key=1"]}, "nope"),
])
def test_bad_specs_name_the_key(folder, over, key):
    with pytest.raises(ConfigError) as e:
        parse_sweep(_spec(**over), folder / "spec.yaml", source=FILES)
    assert key in str(e.value)
