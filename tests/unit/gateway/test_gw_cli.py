import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from hft.cli.gateway import app

ROOT = Path(__file__).resolve().parents[3]


def test_check_config_json():
    r = CliRunner().invoke(app, ["check-config", str(ROOT / "config" / "gateway.yaml"), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["ok"] is True and doc["effective"]
    assert {"account", "strategy", "symbol", "max_position"} <= set(doc["effective"][0])


def test_check_config_table():
    r = CliRunner().invoke(app, ["check-config", str(ROOT / "config" / "gateway.yaml")])
    assert r.exit_code == 0, r.output
    assert "valid" in r.output


def test_check_config_bad_file_raises_config_error(tmp_path):
    from hft.core.errors import ConfigError

    p = tmp_path / "bad.yaml"
    p.write_text("dedup:\n  ttl: soon\n")
    r = CliRunner().invoke(app, ["check-config", str(p)])
    assert isinstance(r.exception, ConfigError) and r.exception.fields["key"] == "dedup.ttl"


def test_cli_module_import_is_cheap():
    code = ("import sys, hft.cli.gateway; "
            "print([m for m in ('numba', 'polars', 'yaml', 'prometheus_client') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_check_config_builds_what_it_checks(tmp_path):
    from tests.cli.conftest import run_hft

    cases = {
        "capacity: {max_working_orders: 100000000000000}\n": "the gateway arena would take",
        "capacity: {exposure_max_symbols: 4000000000}\n": "expected at most 16 GiB",
        "limits: {defaults: {max_position: 9223372036854775808}}\n": "does not fit in 64 bits",
        "symbols: {'': {multiplier: 1}}\n": "expected a non-empty string name",
    }
    for text, expected in cases.items():
        p = tmp_path / "g.yaml"
        p.write_text(text)
        r = run_hft("gateway", "check-config", str(p), "--json")
        assert r.code == 11, (text, r.err)
        assert r.json()["ok"] is False and "the gateway cannot be built from this config" in r.err
        assert expected in r.err and "Traceback" not in r.err
    p.write_text("dedup: {ttl: 100000000000000000000s}\n")  # refused as it is read, before any build
    r = run_hft("gateway", "check-config", str(p), "--json")
    assert r.code == 11 and r.json()["ok"] is False and "Traceback" not in r.err
    assert f"{p}: dedup.ttl: expected a duration of at most 9,223,372,036,854,775,807 ns" in r.err, r.err


def test_check_config_refuses_max_order_qty_zero(tmp_path):
    """``max_order_qty: 0`` with ``min_qty: 0`` passed check-config (and then denied every order; with the default
    ``min_qty`` it was refused as a ``min_qty`` error): the real command refuses it in one line naming the file,
    the key path and what is expected."""
    from tests.cli.conftest import run_hft

    p = tmp_path / "g.yaml"
    p.write_text("limits:\n  defaults:\n    max_order_qty: 0\n    min_qty: 0\n")
    r = run_hft("gateway", "check-config", str(p))
    assert r.code == 11, r.err
    assert r.err.strip() == (f"error: {p}: key 'limits.defaults.max_order_qty': expected a positive integer (lots), "
                             "a quantity like '3 lots', '0.5' or '0.5 BTC' (instrument units) or null "
                             "(unlimited), was 0"), r.err
