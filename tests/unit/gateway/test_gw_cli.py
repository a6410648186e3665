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
