"""``--data`` ranges and globs (`hft.data.sources.expand_data_paths`): what a range skips is said, never silent."""

from __future__ import annotations

import pytest

from hft.core.errors import DataValidationError
from hft.data.sources import expand_data_paths


def _days(tmp_path, *dates: str) -> None:
    for d in dates:
        (tmp_path / f"day_{d}.zip").write_bytes(b"x")


def test_a_range_skipping_days_says_which_in_one_notice(tmp_path):
    _days(tmp_path, "02", "03")
    notices: list[str] = []
    spec = str(tmp_path / "day_{02..04}.zip")
    assert expand_data_paths([spec], notices) == [tmp_path / "day_02.zip", tmp_path / "day_03.zip"]
    assert notices == [f"--data {spec}: the range matched 2 of 3 files; skipped, no file: day_04.zip"]


def test_a_range_skipping_many_days_names_the_first_five(tmp_path):
    _days(tmp_path, "01")
    notices: list[str] = []
    expand_data_paths([str(tmp_path / "day_{01..09}.zip")], notices)
    assert notices[0].endswith("matched 1 of 9 files; skipped, no file: day_02.zip, day_03.zip, day_04.zip, "
                               "day_05.zip, day_06.zip and 3 more")


def test_full_ranges_globs_and_plain_paths_give_no_notice(tmp_path):
    _days(tmp_path, "02", "03")
    notices: list[str] = []
    expand_data_paths([str(tmp_path / "day_{02..03}.zip"), str(tmp_path / "*.zip"), str(tmp_path / "day_02.zip")],
                      notices)
    assert notices == []


@pytest.mark.parametrize("pattern, says", [("day_{05..07}.zip", "expected at least one file in the range"),
                                           ("*.nothing", "expected at least one file matching the pattern")])
def test_a_range_or_glob_matching_nothing_stays_an_error(tmp_path, pattern, says):
    _days(tmp_path, "02")
    with pytest.raises(DataValidationError, match=says):
        expand_data_paths([str(tmp_path / pattern)], [])
