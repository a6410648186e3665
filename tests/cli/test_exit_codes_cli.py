"""Exit codes keep their family: usage errors (JSON under --json), HFT_DEBUG=1, names ending in a newline."""

from __future__ import annotations

import json

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
