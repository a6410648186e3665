"""Commands in a real terminal (a pseudo-terminal): progress is drawn, nothing crashes, tables fit the width.

Issue 13: under a tty `hft replay`, `hft alpha search` and `hft alpha promote` crashed formatting a progress
total that was still None; no test ran a command with a terminal. The whole list of long-running commands runs
under a pty in `tests/cli/pty_smoke.py` (CI step "pty smoke"); these are the focused regression tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hft.cli._progress import count_text
from tests.cli.pty_run import run_pty
from tests.unit.data import vendor_samples as vs

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


def test_count_text_before_a_total_is_known():
    assert count_text(0, None, "events") == ""
    assert count_text(1234, None, "events") == "1,234 events"
    assert count_text(5, 10, "trials") == "5/10 trials"
    assert count_text(5, 10, "") == "5/10"


def _generate(out: Path, seed: int, symbol: str, date: str) -> Path:
    """A generated day (8,000 messages, 5 levels) as a zip in `out`."""
    from hft.data.importing import generate_day

    return Path(generate_day(out, seed=seed, symbol=symbol, date=date, messages=8000, levels=5,
                             zip_output=True)["zip_path"])


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("pty_day"), 5, "SYNTH", "2024-01-02")


def _ok(r) -> None:
    assert r.code == 0, r.describe()
    assert "internal error" not in r.text, r.describe()
    assert "Traceback" not in r.text, r.describe()


def test_verify_of_a_crossed_capture_names_its_line_under_a_terminal(tmp_path):
    """A Binance capture whose book crosses at line 3 of its second day: exit 12, and the screen names that file
    and line (the first_crossed table, the error line) with the message's exchange time."""
    files, _ = vs.binance_crossing(tmp_path)
    rel = [str(f.relative_to(tmp_path)) for f in files]
    r = run_pty("data", "verify", *rel, cwd=tmp_path)
    assert r.code == 12, r.describe()
    assert "internal error" not in r.text and "Traceback" not in r.text, r.describe()
    assert "first_crossed" in r.text and f"{rel[1]}: row 3" in r.text and "2024-08-08T23:54:17.012" in r.text
    assert f"error: verify failed: 2 crossed book states, the first after {rel[1]}: row 3" in r.text, r.describe()


def test_data_tables_under_a_terminal_print_no_python_none(day, tmp_path):
    """`hft data verify` of a good day and `hft data generate` in a terminal: "—" where a value does not apply."""
    for args in (("data", "verify", str(day)), ("data", "generate", "--out", str(tmp_path), "--messages", "2000")):
        r = run_pty(*args)
        _ok(r)
        assert "None" not in r.text and "—" in r.text, r.describe()


def test_replay_under_a_terminal_draws_progress(day, tmp_path):
    r = run_pty("replay", "--data", str(day), "-s", "mm", "--out", str(tmp_path / "run"), "--no-store",
                env={"HFT_HOME": str(tmp_path / "home")})
    _ok(r)
    assert r.drew_progress("replay"), r.describe()
    assert "run hash" in r.text and (tmp_path / "run" / "summary.json").is_file()


@pytest.fixture(scope="module")
def day2(day) -> Path:
    """A second generated day beside `day` (the next date)."""
    return _generate(day.parent, 6, "SYNTH", "2024-01-03")


def test_replay_of_two_days_under_a_terminal(day, day2, tmp_path):
    r = run_pty("replay", "-d", str(day.parent / "*.zip"), "-s", "mm", "--no-store",
                env={"HFT_HOME": str(tmp_path / "home")})
    _ok(r)
    assert r.drew_progress("replay"), r.describe()
    assert "per day" in r.text and "2024-01-02" in r.text and "2024-01-03" in r.text, r.describe()  # by date


def test_replay_of_a_range_says_what_it_skipped_under_a_terminal(day, day2, tmp_path):
    """A range over a day with no file replays the days there are and says, once, which file it skipped."""
    rng = str(day.parent / day.name.replace("2024-01-02", "2024-01-{02..04}"))
    r = run_pty("replay", "-d", rng, "-s", "mm", "--no-store", env={"HFT_HOME": str(tmp_path / "home")})
    _ok(r)
    notice = [ln for ln in r.text.splitlines() if ln.startswith("notice: ")]
    assert notice == [f"notice: --data {rng}: the range matched 2 of 3 files; skipped, no file: "
                      f"{day.name.replace('2024-01-02', '2024-01-04')}"], r.describe()
    assert "per day" in r.text, r.describe()


def test_replay_sweep_under_a_terminal(day, day2, tmp_path):
    spec = tmp_path / "sweep.yaml"
    spec.write_text(yaml.safe_dump({"sweep": "pty", "strategy": "mm", "grid": {"edge_ticks": [0, 1]},
                                    "data": {"SYNTH": [str(day), str(day2)]}}))
    r = run_pty("replay", "sweep", str(spec), "--workers", "1", "--no-store", "--out", str(tmp_path / "sw"),
                env={"HFT_HOME": str(tmp_path / "home")})
    _ok(r)
    assert r.drew_progress("sweep"), r.describe()
    assert "4 cells: 4 run now" in r.text and (tmp_path / "sw" / "results.parquet").is_file(), r.describe()
    best = next(ln for ln in r.text.splitlines() if ln.startswith("best PnL: cell"))
    assert "edge_ticks=" in best and "{" not in best, best  # the cell as the table names it, not a Python dict


@pytest.fixture(scope="module")
def other_day(tmp_path_factory) -> Path:
    """A second instrument (OTHER) on `day`'s date, in its own folder."""
    return _generate(tmp_path_factory.mktemp("pty_other"), 7, "OTHER", "2024-01-02")


def test_replay_sweep_of_a_pair_under_a_terminal(day, other_day, tmp_path):
    """A sweep whose cells are runs of two instruments on one clock (a group of the spec's data)."""
    spec = tmp_path / "pair.yaml"
    spec.write_text(yaml.safe_dump({"sweep": "pty_pair", "strategy": "mm", "grid": {"edge_ticks": [0, 1]},
                                    "data": {"SYNTH+OTHER": {"SYNTH": [str(day)], "OTHER": [str(other_day)]}}}))
    r = run_pty("replay", "sweep", str(spec), "--workers", "1", "--no-store", "--out", str(tmp_path / "sw"),
                env={"HFT_HOME": str(tmp_path / "home")})
    _ok(r)
    assert r.drew_progress("sweep"), r.describe()
    assert "2 cells: 2 run now" in r.text and "SYNTH+OTHER" in r.text, r.describe()
    assert (tmp_path / "sw" / "results.parquet").is_file(), r.describe()


def test_alpha_search_under_a_terminal(day, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({
        "search": "pty", "alphas": {"obi_l1": {"smooth": [1, 20]}}, "subset_sizes": [1], "weights": ["equal"],
        "features": {"levels": 1, "sampling": "1s", "horizons": ["1s", "10s"]}, "target": "10s", "bucket": "2m",
        "top_k": 2}))
    r = run_pty("alpha", "search", str(spec), "--data", str(day), "--workers", "1",
                env={"HFT_HOME": str(tmp_path / "home")})
    _ok(r)
    assert r.drew_progress("search"), r.describe()


def test_alpha_validate_per_day_table_fits_100_columns(day, day2, tmp_path):
    """Each day's file name whole on one line (it was folded mid-name), the gates' cells beside it."""
    r = run_pty("alpha", "validate", "obi_l1", "--data", str(day), "--data", str(day2), "--no-record",
                env={"HFT_HOME": str(tmp_path / "home")}, columns=100, lines=60)
    assert r.code in (0, 17), r.describe()
    assert "Traceback" not in r.text, r.describe()
    lines = r.text.splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith("Per day"))
    for d in (day, day2):
        row = next((x for x in lines[start:] if d.name in x), None)
        assert row is not None, r.describe()
        assert all(f" {w} " in row for w in ("pass", "│")), row  # the verdicts on the same line as the name
    assert all(len(x) <= 100 for x in lines[start:start + 8]), r.describe()


@pytest.fixture(scope="module")
def stored_home(day, tmp_path_factory) -> Path:
    """An HFT_HOME whose store holds one replay (sim.runs rows carry a wide JSON summary)."""
    from tests.cli.conftest import run_hft

    home = tmp_path_factory.mktemp("pty_home")
    r = run_hft("replay", "--data", str(day), "-s", "mm", "--json", env={"HFT_HOME": str(home)})
    assert r.code == 0, r.err
    return home


@pytest.mark.parametrize("columns", [80, 200])
def test_wide_rows_fit_the_terminal(stored_home, columns):
    r = run_pty("audit", "tail", "sim.runs", "-n", "3", env={"HFT_HOME": str(stored_home)}, columns=columns)
    _ok(r)
    lines = [ln for ln in r.text.splitlines() if ln.strip()]
    assert max(len(ln) for ln in lines) <= columns, r.describe()
    assert len(lines) < 60, r.describe()  # was thousands of lines of single letters at 80 columns
    assert "run_hash" in r.text and "1 row" in r.text
    if columns == 80:
        assert "…" in r.text and "row 1 of 1" in r.text  # folded into a record view, long values cut
        assert "--json for every value" in r.text  # the options `audit tail` has (no --csv there)


def test_narrow_rows_stay_a_table_at_200_columns(stored_home):
    r = run_pty("audit", "query", "SELECT run_id, strategy, n_events FROM sim.runs",
                env={"HFT_HOME": str(stored_home)}, columns=200)
    _ok(r)
    header = next(ln for ln in r.text.splitlines() if "run_id" in ln)
    assert "strategy" in header and "n_events" in header  # one header line: a table, not records


def test_alpha_status_fits_80_columns(tmp_path):
    """At 80 columns every alpha id stays whole on its line and the gates' header names every gate (it once
    named six of seven and broke ids across lines); columns empty in every row are left out."""
    from hft.alpha.api.lifecycle_config import GATE_NAMES
    from tests.cli.conftest import run_hft

    env = {"HFT_HOME": str(tmp_path / "home")}
    listed = run_hft("alpha", "status", "--no-store", "--json", env=env, cwd=tmp_path)
    assert listed.code == 0, listed.err
    ids = [a["alpha_id"] for a in listed.json()["alphas"]]
    assert ids
    r = run_pty("alpha", "status", "--no-store", env=env, cwd=tmp_path, columns=80)
    _ok(r)
    lines = r.text.splitlines()
    assert max(len(ln) for ln in lines) <= 80, r.describe()
    for alpha_id in ids:
        assert any(f"│ {alpha_id} " in ln for ln in lines), r.describe()
    assert " ".join(GATE_NAMES) in r.text, r.describe()
    assert "file" not in r.text.split(ids[0])[0], r.describe()  # no promotion file in any row: no such column


def test_gateway_limits_read_at_80_columns():
    """`hft gateway check-config` at 80 columns: thirteen columns of limits do not fit a table (they were
    squeezed to 'ac…', 'or…'); each account / strategy / symbol is shown as a record with every limit whole."""
    from hft.gateway.limits import LIMITS

    r = run_pty("gateway", "check-config", str(Path(__file__).resolve().parents[2] / "config" / "gateway.yaml"),
                columns=80)
    _ok(r)
    lines = r.text.splitlines()
    assert max(len(ln) for ln in lines if ln[:1] in "┏┃┡│└┌") <= 80, r.describe()
    assert "…" not in "".join(ln for ln in lines if ln.startswith("│")), r.describe()
    titles = [lim.title for lim in LIMITS if lim.scope == "order" or lim.kind == "rate"]
    for title in ("account", "strategy", "symbol", *titles):
        assert any(ln.startswith(f"│ {title} ") for ln in lines), (title, r.describe())


def test_report_lines_break_at_spaces_only(day, other_day, tmp_path):
    """A narrow terminal: the report's sentences wrap at spaces ("max drawdown 217." / "19 USD" was a number cut
    by the terminal), a run folder path longer than the width stays whole on its line."""
    out = tmp_path / "a_run_folder_whose_path_is_longer_than_the_terminal_is_wide"
    r = run_pty("replay", "-d", str(day), "-d", str(other_day), "-s", "hedged_mm", "--no-store", "--out", str(out),
                env={"HFT_HOME": str(tmp_path / "home")}, columns=60)
    _ok(r)
    lines = r.text.splitlines()
    assert any(ln.startswith("exposure: net") for ln in lines), r.describe()
    for ln in lines:
        assert len(ln) <= 60 or " " not in ln.strip(), r.describe()
    assert str(out) in lines or any(str(out) in ln.split() for ln in lines), r.describe()


_SEED_EXPERIMENTS = """
import sys
from pathlib import Path
from hft.alpha.records.experiments import ExperimentRegistry, Trial, new_experiment_id
from hft.recorder.alpha_audit import AlphaAuditStore
reg = ExperimentRegistry(AlphaAuditStore(Path(sys.argv[1])))
for n, (a, k) in enumerate([("obi_l1", "validate"), ("ofi", "validate"), ("obi_l1+ofi", "search"),
                            ("obi_l1", "promote")]):
    eid = new_experiment_id(a, k)
    reg.record([Trial(eid, a, a, "1.0.0", 0, k, {"w": 5}, {"sharpe": 0.1 * n, "n_obs": 400}, "abc", "d1", 7, "ok",
                      1_700_000_000_000_000_000 + n, 1_700_000_000_000_000_010 + n)])
    print(eid)
"""


@pytest.fixture(scope="module")
def experiments_home(tmp_path_factory) -> tuple[Path, list[str]]:
    """An HFT_HOME whose registry holds four experiments with real (long) ids, and those ids."""
    import subprocess
    import sys

    home = tmp_path_factory.mktemp("pty_experiments")
    p = subprocess.run([sys.executable, "-c", _SEED_EXPERIMENTS, str(home)], capture_output=True, text=True,
                       timeout=300, check=True)
    return home, p.stdout.split()


@pytest.mark.parametrize("columns", [100, 120])
def test_experiment_ids_stay_whole_at_100_and_120_columns(experiments_home, columns):
    """`hft alpha experiments list` at 100 / 120 columns: the ids a person copies into `show` / `compare` are
    each whole on one line (the side-by-side layout once folded them over two or three lines, one column per
    experiment); the experiments are shown one record each instead."""
    home, ids = experiments_home
    r = run_pty("alpha", "experiments", "list", env={"HFT_HOME": str(home)}, columns=columns, lines=80)
    _ok(r)
    lines = r.text.splitlines()
    assert max(len(ln) for ln in lines) <= columns, r.describe()
    for eid in ids:
        assert any(eid in ln for ln in lines), (eid, r.describe())
    assert "row 4 of 4" in r.text, r.describe()
