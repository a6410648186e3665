"""Event files through the real CLI: a changed file is refused by `replay` and `data verify`; a missing
reference sidecar that turns `l3_resync` off is said."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.cli.conftest import run_hft

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("eday")
    r = run_hft("data", "generate", "--out", str(out), "--messages", "3000", "--levels", "5", "--zip", "--json")
    assert r.code == 0, r.err
    pq = out / "day.parquet"
    r = run_hft("data", "import", r.json()["zip_path"], "--out", str(pq), "--json")
    assert r.code == 0, r.err
    return pq


def _copy(src: Path, dst_dir: Path, with_ref: bool = True) -> Path:
    dst = dst_dir / src.name
    dst.write_bytes(src.read_bytes())
    if with_ref:
        ref = src.with_name("day.ref.parquet")
        (dst_dir / ref.name).write_bytes(ref.read_bytes())
    return dst


def test_a_changed_event_file_is_refused_by_replay_and_verify(imported, tmp_path):
    f = _copy(imported, tmp_path)
    kv = {k: v for k, v in pl.read_parquet_metadata(f).items() if k != "ARROW:schema"}
    df = pl.read_parquet(f)
    ts = df["exch_ts"].to_numpy().copy()
    ts[10:20] += 1
    df.with_columns(pl.Series("exch_ts", ts)).write_parquet(f, metadata=kv)
    for args in (["replay", "--data", str(f), "--no-store"], ["data", "verify", str(f)]):
        r = run_hft(*args, cwd=tmp_path)
        assert r.code == 12, (args, r.err)
        assert "does not match the file's content hash" in r.err and "Traceback" not in r.err


def test_a_missing_sidecar_turning_l3_resync_off_is_said(imported, tmp_path):
    f = _copy(imported, tmp_path, with_ref=False)
    r = run_hft("replay", "--data", str(f), "-s", "mm", "--no-store", "--json", cwd=tmp_path)
    assert r.code == 0, r.err
    assert any(w.startswith("l3_resync: off for day.parquet") for w in r.json()["warnings"])
    assert "warning: l3_resync: off for day.parquet" in r.err
    (tmp_path / "ok").mkdir()
    with_ref = _copy(imported, tmp_path / "ok")
    r = run_hft("replay", "--data", str(with_ref), "-s", "mm", "--no-store", "--json", cwd=tmp_path)
    assert r.code == 0 and "warnings" not in r.json() and "warning:" not in r.err
