"""Exit codes keep their family: usage errors (JSON under --json), HFT_DEBUG=1, names ending in a newline."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import run_hft


def test_usage_errors_print_a_json_error_under_json():
    r = run_hft("replay", "--no-such-flag", "--json")
    assert r.code == 2
    out = json.loads(r.out)
    assert out == {"ok": False, "error": "UsageError", "message": out["message"]}
    assert "No such option: --no-such-flag" in out["message"] and "No such option" in r.err
    r = run_hft("audit", "tail")  # a missing argument, human mode: nothing on stdout
    assert r.code == 2 and r.out == "" and "Missing argument" in r.err


def test_hft_debug_adds_the_traceback_and_keeps_the_exit_code(tmp_path):
    plain = run_hft("replay", "--data", str(tmp_path / "none.zip"), "--no-store")
    debug = run_hft("replay", "--data", str(tmp_path / "none.zip"), "--no-store", env={"HFT_DEBUG": "1"})
    assert plain.code == debug.code == 12
    assert "Traceback" not in plain.err and "Traceback" in debug.err
    assert debug.err.rstrip().splitlines()[-1] == plain.err.rstrip().splitlines()[0]


def test_an_alpha_name_ending_in_a_newline_is_refused_as_a_name(tmp_path):
    r = run_hft("alpha", "scaffold", "my_idea\n", cwd=tmp_path)
    assert r.code not in (0, 1), r.err
    assert "internal error" not in r.err and "Traceback" not in r.err


def test_damaged_run_folders_in_replay_diff_are_a_sim_error(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "summary.json").write_text("{}")
    r = run_hft("replay", "diff", str(a), str(b))  # no tables
    assert r.code == 14 and "expected a readable run-folder table" in r.err and "internal error" not in r.err
    (a / "orders.parquet").write_text("garbage")  # the first table a run folder is read by
    r = run_hft("replay", "diff", str(a), str(b))
    assert r.code == 14 and "orders.parquet: expected a readable run-folder table" in r.err
    (a / "summary.json").write_text("{bad")
    r = run_hft("replay", "diff", str(a), str(b))
    assert r.code == 14 and "summary.json: expected a JSON run summary" in r.err


def test_a_latency_value_beyond_int64_is_a_config_error(tmp_path):
    from hft.core.errors import ConfigError
    from hft.sim.latency_file import load_empirical

    f = tmp_path / "lat.csv"
    f.write_text("t_ns,entry_ns\n0,1000\n99999999999999999999999,2000\n")
    with pytest.raises(ConfigError, match=r"column 't_ns': expected integer nanoseconds below 2\*\*63"):
        load_empirical(f, "entry_ns")  # was a pyo3 PanicException (not even an Exception) with a traceback
    f.write_text("t_ns,entry_ns\n0,1000\n10,2000\n")
    assert load_empirical(f, "entry_ns") is not None


def test_a_lobster_orderbook_file_given_as_data_names_its_message_file(tmp_path):
    # a LOBSTER day is its message CSV (the orderbook beside it is read with it); its orderbook given too, as
    # a person holding the pair would, is one line naming the file to give instead
    msg = tmp_path / "GOOG_2012-06-21_34200000_57600000_message_1.csv"
    book = tmp_path / "GOOG_2012-06-21_34200000_57600000_orderbook_1.csv"
    msg.write_text("34200.0,1,1,100,5850000,1\n")
    book.write_text("5860000,100,5850000,100\n")
    r = run_hft("replay", "-d", str(msg), "-d", str(book), "--no-store")
    lines = r.err.strip().splitlines()
    assert r.code == 12 and "Traceback" not in r.err, r.err
    assert lines[0] == (f"error: {book}: a LOBSTER orderbook file; expected its message file ({msg.name}), which "
                        "is read with the orderbook beside it"), lines
