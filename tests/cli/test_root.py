"""The root command: version, help, lazy imports, error → exit code mapping."""

from __future__ import annotations

import subprocess
import sys

from hft import __version__


def test_version(hft):
    r = hft("--version")
    assert r.code == 0
    assert r.out.strip() == f"hft {__version__}"


def test_help_lists_groups(hft):
    r = hft("--help")
    assert r.code == 0
    assert "data" in r.out and "demo" in r.out


def test_help_does_not_import_numba_or_polars():
    code = (
        "import sys\n"
        "from hft.cli.app import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "bad = [m for m in ('numba', 'polars', 'numpy', 'yaml') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "HEAVY=", f"--help imported heavy modules: {out[-200:]}"


def test_usage_error_exit_2(hft):
    r = hft("data", "import", "--bogus")
    assert r.code == 2
    assert "Traceback" not in r.err


def test_data_error_is_one_line_with_family_exit_code(hft, tmp_path):
    r = hft("data", "import", str(tmp_path / "missing.zip"), "--out", str(tmp_path / "o.parquet"))
    assert r.code == 12
    assert r.err.startswith("error: ")
    assert "none exists" in r.err
    assert "Traceback" not in r.err
    assert not (tmp_path / "o.parquet").exists()


def test_json_error_on_stdout(hft, tmp_path):
    r = hft("data", "inspect", str(tmp_path / "x.txt"), "--json")
    assert r.code == 12
    doc = r.json()
    assert doc["ok"] is False and doc["error"] == "DataValidationError"


def test_debug_shows_traceback(hft, tmp_path):
    r = hft("data", "inspect", str(tmp_path / "x.txt"), env={"HFT_DEBUG": "1"})
    assert r.code != 0
    assert "Traceback" in r.err


def test_every_command_takes_json():
    """README: every command accepts ``--json`` — all but ``gateway serve``, which runs until stopped and logs."""
    import typer

    from hft.cli.app import app

    def leaves(cmd, path):
        if hasattr(cmd, "commands"):  # a group
            for name, sub in cmd.commands.items():
                yield from leaves(sub, (*path, name))
        else:
            yield " ".join(path), cmd

    commands = dict(leaves(typer.main.get_command(app), ()))
    assert len(commands) > 25 and "gateway token" in commands
    without = sorted(p for p, c in commands.items() if not any("--json" in getattr(o, "opts", ()) for o in c.params))
    assert without == ["gateway serve"]
