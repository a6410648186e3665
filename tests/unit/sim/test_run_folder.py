"""`hft.sim.run_folder.atomic_folder`: an OS error while a run folder is written is one `SimError` naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hft.core.errors import SimError
from hft.sim.run_folder import atomic_folder


def test_an_os_error_while_writing_is_a_sim_error_and_leaves_nothing(tmp_path: Path) -> None:
    def fill(tmp: Path) -> None:
        (tmp / "summary.json").write_text("{}")
        (tmp / "no_such_sub" / "orders.parquet").write_bytes(b"")  # a real FileNotFoundError

    out = tmp_path / "run"
    with pytest.raises(SimError, match=r"run: could not write the run folder \(No such file or directory: .*"
                                       r"no_such_sub/orders.parquet\)") as err:
        atomic_folder(out, fill, force=False)
    assert isinstance(err.value.__cause__, FileNotFoundError)
    assert list(tmp_path.iterdir()) == []  # no run folder, no temporary folder


def test_a_good_fill_comes_into_place(tmp_path: Path) -> None:
    atomic_folder(tmp_path / "run", lambda tmp: (tmp / "summary.json").write_text("{}"), force=False)
    assert [p.name for p in tmp_path.iterdir()] == ["run"] and (tmp_path / "run" / "summary.json").is_file()
