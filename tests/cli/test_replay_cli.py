"""`hft replay`, `--check GOLDEN.json` and `hft replay diff` through the real console script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hft.data.sources import FILES

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    from tests.cli.conftest import generated_day

    return generated_day(tmp_path_factory, "rday", 6000)


def test_replay_json_and_run_folder(hft, day, tmp_path):
    r = hft("replay", "--data", str(day), "-s", "mm", "--out", str(tmp_path / "run"), "--no-store", "--json")
    assert r.code == 0, r.err
    s = r.json()
    for key in ("events", "wall_s", "events_per_s", "compile_s", "run_hash", "pnl", "pnl_gross", "fees",
                "max_drawdown", "position_inst", "pnl_money_units", "fills", "rejects"):
        assert key in s
    for f in ("orders.parquet", "fills.parquet", "decisions.parquet", "equity.parquet", "summary.json",
              "replay.png", "config.yaml", "report.html"):
        assert (tmp_path / "run" / f).exists()
    again = hft("replay", "--data", str(day), "-s", "mm", "--out", str(tmp_path / "run"), "--no-store")
    assert again.code == 14 and "exists" in again.err and "Traceback" not in again.err
    on_disk = json.loads((tmp_path / "run" / "summary.json").read_text())
    for key in ("pnl_money_units", "max_drawdown_money_units", "fees_money_units"):  # integers (docs/sim.md)
        assert type(s[key]) is int and type(on_disk[key]) is int, (key, s[key])
    assert on_disk["contract_size"] == 1 and type(on_disk["contract_size"]) is int  # a number (was the string "1")
    assert s["pnl"] == pytest.approx(s["pnl_money_units"] * s["money_unit"])


@pytest.mark.parametrize(("out", "text"), [
    ("nodir/x", "nodir/x: expected an existing folder to hold the run folder, nodir is not one"),
    ("afile/x", "afile/x: expected an existing folder to hold the run folder, afile is not one"),
    ("/proc/x", "/proc/x: expected a folder this process can write into, /proc is not"),
])
def test_replay_out_folder_is_checked_before_the_replay(hft, tmp_path, out, text):
    """An --out that cannot be written is refused before any data is read (the data here does not even exist)."""
    if out.startswith("/proc") and not Path("/proc").is_dir():
        pytest.skip("no /proc here")
    (tmp_path / "afile").write_text("")
    r = hft("replay", "--data", "missing.zip", "-s", "mm", "--out", out, "--no-store", cwd=tmp_path)
    assert r.code == 14 and r.err.startswith(f"error: {text}") and "Traceback" not in r.err
    assert not list(tmp_path.glob("nodir*")) and sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_replay_records_into_the_store(hft, day, tmp_path):
    r = hft("replay", "--data", str(day), "-s", "imbalance_taker", "--json", env={"HFT_HOME": str(tmp_path)})
    assert r.code == 0, r.err
    s = r.json()
    q = hft("audit", "query", f"SELECT n_fills FROM sim.runs WHERE run_id = '{s['run_hash']}'", "--json",
            env={"HFT_HOME": str(tmp_path)})
    assert q.code == 0, q.err
    assert q.json()["rows"][0]["n_fills"] == s["fills"] == s["store"]["fills_in_store"]


def test_the_store_row_counts_orders_as_the_summary_and_names_symbols_and_wall_time(hft, day, tmp_path):
    """``sim.runs``: ``n_orders`` is the summary's ``orders`` (new + replace) for a strategy that quotes by replacing;
    the row names the run's symbols and when it ran (wall clock) and how long it took."""
    import textwrap
    import time

    from tests.strategy_sources import REPLACE_QUOTER

    strat = tmp_path / "replace_quoter.py"
    strat.write_text(textwrap.dedent(REPLACE_QUOTER))
    env = {"HFT_HOME": str(tmp_path / "home")}
    before = time.time_ns()
    r = hft("replay", "--data", str(day), "-s", f"{strat}:ReplaceQuoter", "--json", env=env)
    after = time.time_ns()
    assert r.code == 0, r.err
    s = r.json()
    assert s["replaces"] > 0 and s["orders"] > s["replaces"]
    q = hft("audit", "query", "SELECT n_orders, symbols, toUnixTimestamp64Nano(wall_ts) AS wall_ns, wall_s "
            f"FROM sim.runs WHERE run_id = '{s['run_hash']}'", "--json", env=env)
    assert q.code == 0, q.err
    [row] = q.json()["rows"]
    assert row["n_orders"] == s["orders"] and json.loads(row["symbols"]) == [s["symbol"]]
    assert before <= int(row["wall_ns"]) <= after and row["wall_s"] == s["wall_s"]
    human = hft("replay", "--data", str(day), "-s", f"{strat}:ReplaceQuoter", "--no-store",
                env={**env, "COLUMNS": "200"})
    assert human.code == 0, human.err
    assert f"{s['orders']:,} ({s['replaces']:,} replaces) / 0" in human.out, human.out


@pytest.mark.parametrize(("args", "code", "text"), [
    (["-s", "nope"], 14, "strategy"),
    (["--config", "/nonexistent.yaml"], 11, "none exists"),
])
def test_replay_bad_input(hft, day, args, code, text):
    r = hft("replay", "--data", str(day), "--no-store", *args)
    assert r.code == code, r.err
    assert text in r.err and "Traceback" not in r.err


def test_replay_wrong_data_kind(hft, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    r = hft("replay", "--data", str(bad), "--no-store")
    assert r.code == 12 and "Traceback" not in r.err


def test_golden_check_passes_then_detects_drift(hft, tmp_path):
    from hft.sim.golden import make_golden

    g = tmp_path / "g.json"
    make_golden(g, strategy="mm", config={"strategies": {"mm": {"size": 1}}},
                generate={"seed": 3, "messages": 4000, "levels": 5}, source=FILES)
    ok = hft("replay", "--check", str(g), "--json")
    assert ok.code == 0, ok.err
    assert ok.json()["ok"] is True
    doc = json.loads(g.read_text())
    doc["expect"]["fills"] += 1
    doc["expect"]["run_hash"] = "0" * 32
    g.write_text(json.dumps(doc))
    bad = hft("replay", "--check", str(g))
    assert bad.code == 14
    assert "fills" in bad.out and "run_hash" in bad.out and "behaviour moved" in bad.err


def test_a_golden_and_hft_replay_of_the_same_overlay_have_one_run_hash(hft, day, tmp_path):
    """A golden's config is an overlay on the shipped config/sim/replay.yaml, layered as `hft replay --config`
    layers a file: the same data, strategy and overlay give the same run hash (and the shipped fees, not 0)."""
    import yaml

    from hft.sim.golden import make_golden

    overlay = {"seed": 3, "strategies": {"mm": {"size": 2}}, "latency": {"jitter": "100us"}}
    g = tmp_path / "g.json"
    doc = make_golden(g, strategy="mm", config=overlay, data=[str(day)], source=FILES)
    (tmp_path / "overlay.yaml").write_text(yaml.safe_dump(overlay))
    r = hft("replay", "--data", str(day), "-s", "mm", "--config", str(tmp_path / "overlay.yaml"), "--no-store",
            "--json")
    assert r.code == 0, r.err
    s = r.json()
    assert doc["expect"]["run_hash"] == s["run_hash"] and doc["expect"]["fees_money_units"] == s["fees_money_units"]
    assert s["fills"] and s["fees_money_units"] != 0  # the shipped fees apply to the golden as to the replay
    assert hft("replay", "--check", str(g), "--json").json()["ok"] is True


def test_golden_checks_its_own_run_hash_scheme(hft, tmp_path):
    """A golden written now records BLAKE3 (``run_hash_scheme``); one without the key was recorded with BLAKE2b and
    is checked under it, so a run that did not move shows the very value it pinned; an unknown scheme is refused."""
    from hft.core.ids import RUN_HASH_BLAKE2B, RUN_HASH_BLAKE3, run_hash_scheme
    from hft.sim.golden import make_golden

    g = tmp_path / "g.json"
    make_golden(g, strategy="mm", config={"strategies": {"mm": {"size": 1}}},
                generate={"seed": 3, "messages": 4000, "levels": 5}, source=FILES)
    doc = json.loads(g.read_text())
    assert doc["run_hash_scheme"] == RUN_HASH_BLAKE3
    legacy = tmp_path / "legacy.json"
    with run_hash_scheme(RUN_HASH_BLAKE2B):
        make_golden(legacy, strategy="mm", config={"strategies": {"mm": {"size": 1}}},
                    generate={"seed": 3, "messages": 4000, "levels": 5}, source=FILES)
    old = json.loads(legacy.read_text())
    assert old["expect"]["run_hash"] != doc["expect"]["run_hash"]  # two digests of the same run
    del old["run_hash_scheme"]  # as the goldens recorded before schemes are
    legacy.write_text(json.dumps(old))
    for path in (g, legacy):
        r = hft("replay", "--check", str(path), "--json")
        assert r.code == 0 and r.json()["ok"] is True, r.out + r.err
    wrong = dict(old, run_hash_scheme=RUN_HASH_BLAKE3)  # a BLAKE2b value checked as BLAKE3: moved
    legacy.write_text(json.dumps(wrong))
    assert hft("replay", "--check", str(legacy)).code == 14
    legacy.write_text(json.dumps(dict(old, run_hash_scheme="md5")))
    bad = hft("replay", "--check", str(legacy))
    assert bad.code == 14 and "run_hash_scheme" in bad.err and "md5" in bad.err and "Traceback" not in bad.err


def test_diff_finds_first_divergence(hft, day, tmp_path):
    cfg = tmp_path / "slow.yaml"
    cfg.write_text("latency: {entry: 5ms, response: 5ms}\n")
    a, b = tmp_path / "a", tmp_path / "b"
    assert hft("replay", "--data", str(day), "--out", str(a), "--no-store").code == 0
    assert hft("replay", "--data", str(day), "--out", str(b), "--config", str(cfg), "--no-store").code == 0
    d = hft("replay", "diff", str(a), str(b), "--json")
    assert d.code == 0, d.err
    res = d.json()
    assert res["same_run_hash"] is False and res["first_divergence"] is not None
    first = res["first_divergence"]
    assert first["folder"] == "." and first["table"] in ("decisions", "orders", "fills")
    assert first["fields"] and all(first["a"][k] == v["a"] != v["b"] == first["b"][k]
                                   for k, v in first["fields"].items())
    assert "ts_utc" in first["fields"] and first["fields"]["ts_utc"]["a"].endswith("Z")  # ISO, to the ns
    assert first["fields"]["ts_utc"]["a"].startswith("20") and "T" in first["fields"]["ts_utc"]["a"]
    # what the runs did apart from how long they took (which differs between any two runs)
    assert not set(res["metric_deltas"]) & {"wall_s", "compile_s", "events_per_s"}
    assert set(res["timing"]) <= {"wall_s", "compile_s", "events_per_s"}
    same = hft("replay", "diff", str(a), str(a), "--json").json()
    assert same["same_run_hash"] is True and same["first_divergence"] is None and same["divergences"] == []
    text = hft("replay", "diff", str(a), str(b))
    assert text.code == 0, text.err
    lines = text.out.splitlines()
    assert lines[0] == f"first divergence: {first['table']}, row {first['row']}"
    for k, v in first["fields"].items():
        assert f"  {k}: {v['a']} → {v['b']}" in lines
    assert "datetime" not in text.out and "{" not in text.out
    assert not res["timing"] or lines[-1].startswith("timing (A → B): ")


def test_diff_of_runs_over_two_instruments_goes_leg_by_leg(hft, tmp_path):
    """Run folders of several instruments are compared leg by leg (legs/NN_<symbol>); one of one instrument
    against one of two is refused in one line."""
    days = []
    for sym, seed in (("AAA", 3), ("BBB", 4)):
        r = hft("data", "generate", "--out", str(tmp_path / sym), "--symbol", sym, "--seed", str(seed),
                "--messages", "3000", "--levels", "5", "--zip", "--json")
        assert r.code == 0, r.err
        days.append(r.json()["zip_path"])
    cfg = tmp_path / "slow.yaml"
    cfg.write_text("latency: {entry: 5ms, response: 5ms}\n")
    legs = ["-d", days[0], "-d", days[1], "-s", "hft.sim.strategies.hedged_mm:HedgedMarketMaker", "--no-store"]
    a, b, one = tmp_path / "a", tmp_path / "b", tmp_path / "one"
    assert hft("replay", *legs, "--out", str(a)).code == 0
    assert hft("replay", *legs, "--out", str(b), "-c", str(cfg)).code == 0
    assert hft("replay", "-d", days[0], "--no-store", "--out", str(one)).code == 0
    res = hft("replay", "diff", str(a), str(b), "--json").json()
    assert [d["folder"] for d in res["divergences"]][:1] == ["legs/01_AAA"]
    assert res["first_divergence"] == res["divergences"][0] and res["first_divergence"]["fields"]
    # what the runs did apart from how long they took (which differs between any two runs)
    assert not set(res["metric_deltas"]) & {"wall_s", "compile_s", "events_per_s"}
    assert set(res["timing"]) <= {"wall_s", "compile_s", "events_per_s"}
    same = hft("replay", "diff", str(a), str(a), "--json").json()
    assert same["divergences"] == [] and same["same_run_hash"] is True
    bad = hft("replay", "diff", str(one), str(a))
    assert bad.code == 14 and "Traceback" not in bad.err
    assert bad.err.splitlines()[0] == (f"error: {one} and {a}: expected runs of the same instruments to "
                                       "compare, were one instrument and legs 01_AAA, 02_BBB")


def test_golden_on_absent_recorded_data_fails_unless_asked_to_skip(hft, tmp_path):
    """A check that cannot run fails (exit 12, the missing path named); `--skip-missing-data` (what `.ci/run` passes
    for the goldens on ../shared data) reports it skipped, never passed."""
    g = tmp_path / "g.json"
    g.write_text(json.dumps({"strategy": "mm", "data": ["../nowhere/day.zip"], "expect": {"run_hash": "x"}}))
    missing = (tmp_path / "../nowhere/day.zip").resolve()
    r = hft("replay", "--check", str(g))
    assert r.code == 12 and f"expected the golden's recorded data at {missing}" in r.err and "Traceback" not in r.err
    assert hft("replay", "--check", str(g), "--json").json()["error"] == "DataError"
    r = hft("replay", "--check", str(g), "--skip-missing-data")
    assert r.code == 0 and "skipped" in r.out and str(missing) in r.out
    j = hft("replay", "--check", str(g), "--skip-missing-data", "--json").json()
    assert j["skipped"] and j["moved"] == []
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert 'hft replay --check "$g" --skip-missing-data' in ci  # CI on a clone without ../shared relies on it


def test_policy_transitions_of_a_replay_reach_the_store(hft, day, tmp_path):
    cfg = tmp_path / "tight.yaml"
    cfg.write_text("limits: {daily_loss: 1}\nstrategies: {mm: {size: 5, max_position: 50}}\n")
    env = {"HFT_HOME": str(tmp_path / "home")}
    r = hft("replay", "--data", str(day), "-s", "mm", "--config", str(cfg), "--json", env=env)
    assert r.code == 0, r.err
    s = r.json()
    assert s["rejects"], "a 1-money-unit daily loss limit must end in rejections"
    q = hft("audit", "query", "SELECT to_state, reason FROM audit.policy_transitions "
            f"WHERE run_id = '{s['run_hash']}' ORDER BY ts", "--json", env=env)
    assert q.code == 0, q.err
    rows = q.json()["rows"]
    assert rows and "HALT" in rows[0]["to_state"]


def test_replay_help_names_every_registered_strategy_and_no_stale_engine_advice(hft):
    """The strategies in `hft replay --help` are the registry's (was a hand-written list without hedged_mm and
    signal_follow), and several instruments are not said to need --engine python (the numba default runs them)."""
    from hft.sim.strategy_loader import registered

    r = hft("replay", "--help", env={"COLUMNS": "400"})
    assert r.code == 0, r.err
    names = sorted(registered())
    assert {"hedged_mm", "signal_follow", "mm"} <= set(names)
    assert f"A registered strategy ({', '.join(names)})" in r.out
    assert "--engine python" not in r.out
    assert "skips values with no file" in r.out  # a range's skipped days are documented where ranges are
