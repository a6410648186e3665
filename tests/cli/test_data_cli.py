"""`hft data …` and `hft demo` end to end through the real console script."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    """A small generated LOBSTER-format day (zip), made once through the CLI."""
    from tests.cli.conftest import run_hft

    out = tmp_path_factory.mktemp("gen")
    r = run_hft("data", "generate", "--out", str(out), "--messages", "20000", "--levels", "5", "--zip",
                "--seed", "3", "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["message_count"] > 15_000
    return Path(doc["zip_path"])


def test_import_verify_inspect_roundtrip(hft, day, tmp_path):
    out = tmp_path / "day.parquet"
    r = hft("data", "import", str(day), "--out", str(out), "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["kind"] == "lobster" and doc["events"] > 15_000
    assert out.exists() and out.with_name("day.ref.parquet").exists()

    for target in (day, out):  # raw zip and imported parquet verify identically
        v = hft("data", "verify", str(target), "--json")
        assert v.code == 0, v.err
        res = v.json()
        assert res["ok"] is True and res["mismatches"] == 0 and res["checked"] == doc["events"]

    i = hft("data", "inspect", str(out), "--json")
    assert i.code == 0, i.err
    ins = i.json()
    assert ins["crossed"] == 0 and ins["spread_ticks"]["min"] >= 1
    assert sum(ins["counts"].values()) == doc["events"]
    assert ins["instrument"]["symbol"] == "SYNTH"


def test_import_refuses_existing_output_without_force(hft, day, tmp_path):
    out = tmp_path / "day.parquet"
    out.write_text("keep me")
    r = hft("data", "import", str(day), "--out", str(out))
    assert r.code == 12 and "exists" in r.err and "--force" in r.err
    assert out.read_text() == "keep me"
    assert hft("data", "import", str(day), "--out", str(out), "--force").code == 0


def test_generate_is_deterministic(hft, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        assert hft("data", "generate", "--out", str(d), "--messages", "5000", "--levels", "2", "--seed", "11").code == 0
    files_a = sorted(p.name for p in a.iterdir())
    assert files_a == sorted(p.name for p in b.iterdir()) and len(files_a) == 2
    for name in files_a:
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_tables_never_print_python_none(hft, day, tmp_path):
    """A value that does not apply (no zip written, no problem, no crossed book) prints as "—", never "None"."""
    g = hft("data", "generate", "--out", str(tmp_path), "--messages", "2000", "--levels", "2")
    v = hft("data", "verify", str(day))
    for r in (g, v):
        assert r.code == 0, r.err
        assert "None" not in r.out, r.out
    assert "zip_path" in g.out and "—" in g.out and "problem" in v.out


def _bad_zip(tmp_path: Path) -> Path:
    p = tmp_path / "AAPL_2012-06-21_34200000_57600000_1.zip"
    p.write_bytes(b"PK\x03\x04 this is not really a zip")
    return p


def _wrong_columns(tmp_path: Path) -> Path:
    msg = tmp_path / "AAPL_2012-06-21_34200000_57600000_message_1.csv"
    msg.write_text("34200.1,1,5,100,5853300\n")
    (tmp_path / "AAPL_2012-06-21_34200000_57600000_orderbook_1.csv").write_text("5853400,100,5853300,100\n")
    return msg


def _binance_garbage(tmp_path: Path) -> Path:
    p = tmp_path / "btcusdt_20240808.gz"
    p.write_bytes(b"\x1f\x8b\x08\x00garbage-garbage")
    return p


def _binance_bad_json(tmp_path: Path) -> Path:
    p = tmp_path / "btcusdt_20240808.gz"
    with gzip.open(p, "wt") as f:
        f.write('1723161240000000000 {"e":"trade", oops\n')
    return p


def _empty_zip(tmp_path: Path) -> Path:
    p = tmp_path / "AAPL_2012-06-21_34200000_57600000_1.zip"
    with zipfile.ZipFile(p, "w"):
        pass
    return p


@pytest.mark.parametrize("make", [_bad_zip, _wrong_columns, _binance_garbage, _binance_bad_json, _empty_zip])
def test_bad_input_is_one_clear_line_and_nothing_written(hft, tmp_path, make):
    src = make(tmp_path)
    before = set(tmp_path.iterdir())
    out = tmp_path / "out.parquet"
    r = hft("data", "import", str(src), "--out", str(out))
    assert r.code == 12, (r.code, r.err)
    assert "Traceback" not in r.err
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("error: ") and src.name in lines[0]
    assert set(tmp_path.iterdir()) == before, "no partial output may be left behind"


def test_unwritable_output_dir(hft, day, tmp_path):
    r = hft("data", "import", str(day), "--out", str(tmp_path / "no" / "such" / "dir.parquet"))
    assert r.code == 12 and "does not exist" in r.err


def test_demo_runs_end_to_end(hft, tmp_path):
    r = hft("demo", "--out", str(tmp_path / "demo"), "--messages", "20000", "--json",
            env={"HFT_HOME": str(tmp_path / "home")})  # its own registry and store
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["ok"] is True
    assert doc["steps"]["verify"]["mismatches"] == 0
    assert doc["steps"]["inspect"]["crossed"] == 0
    steps = doc["steps"]
    # the alpha lifecycle ran on the generated days, every verdict recorded
    assert [g["gate"] for g in steps["validate obi_l1"]["gates"]] == ["A", "B", "C"]
    assert steps["search"]["trials"] == steps["search"]["family_trials"] > 0  # a fresh home: only this search
    promoted = steps["promote"] if steps["promote"]["promoted"] else steps["promote --force"]
    assert promoted["promoted"] and Path(promoted["promotion_file"]).is_relative_to(tmp_path / "demo")
    assert steps["canary"]["decision"] in ("hold", "escalate", "rollback", "graduate")
    assert steps["rl-promote"]["gate_r"]["passed"]
    assert {a["alpha_id"] for a in steps["status"]["alphas"]} >= {"obi_l1"}


def test_demo_without_lifecycle(hft, tmp_path):
    r = hft("demo", "--out", str(tmp_path / "demo"), "--messages", "20000", "--no-lifecycle", "--json",
            env={"HFT_HOME": str(tmp_path / "home")})
    assert r.code == 0, r.err
    assert "validate obi_l1" not in r.json()["steps"]


def test_inspect_and_verify_a_binance_stream(hft, shared_data):
    """L2 streams go through the rebuilt-book path of inspect (not a reference file)."""
    files = [str(shared_data / "binance" / "spot" / f"ethusdt_2024080{d}.gz") for d in (8, 9)]
    i = hft("data", "inspect", *files, "--json")
    assert i.code == 0, i.err
    ins = i.json()
    assert ins["book_source"] == "rebuilt from events"
    assert ins["crossed"] == 0 and ins["spread_ticks"]["min"] >= 1 and ins["book_samples"] > 1000
    v = hft("data", "verify", *files, "--json")
    assert v.code == 0 and v.json()["crossed"] == 0
