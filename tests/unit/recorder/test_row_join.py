"""`hft.recorder.row_join.join_rows`: the column-wise join (one numba call) gives the bytes of the row-by-row
one, for strings of any length, codes into tables (outside them: ""), packed columns (`row_join.Packed`: the
same bytes as the strings they pack), and refuses a value that is not a string."""

from __future__ import annotations

import numpy as np
import pytest

from hft.core.orders import DECISION_DTYPE
from hft.recorder import row_join
from hft.recorder.topics import _varint


def _encode(v: object) -> bytes:
    if not isinstance(v, str):
        raise TypeError(f"not a string: {v!r}")
    raw = v.encode()
    return _varint(len(raw)) + raw


@pytest.mark.parametrize("n", [row_join._SMALL, 300, 5000])
def test_the_columnwise_join_matches_the_row_by_row_one(n: int) -> None:
    rng = np.random.default_rng(n)
    out = np.zeros(n, DECISION_DTYPE)
    out["seq"] = rng.integers(0, 1 << 40, n)
    out["reason"] = rng.integers(0, 9, n)
    table = ["ACC1", "é" * 70, "", "x" * 300]  # multi-byte, empty, over 127 bytes (two-byte varint)
    strings = {"a": (rng.integers(-1, 5, n).astype(np.int32), table),  # -1 and 4: outside the table
               "d": ["w" * int(rng.integers(0, 200)) + "ü" for _ in range(n)],
               "big": (rng.integers(0, 20000, n), [f"s{i}" for i in range(20000)])}
    plain = ["{}" if i % 3 else "ä" * int(rng.integers(0, 150)) + f"{i}" for i in range(n)]
    strings["p"] = row_join.Packed("".join(plain).encode(), np.array([len(x.encode()) for x in plain], np.int64))
    assert strings["p"].values() == plain
    cuts = [(64, "a"), (64, "d"), (80, "big"), (80, "p"), (88, "a")]  # two columns at one place, one at the end
    got = row_join.join_rows(out, cuts, strings, _encode)
    assert got == row_join._join_small(out, cuts, strings, _encode)
    assert got == row_join.join_rows(out, cuts, {**strings, "p": plain}, _encode)  # packed: the strings' bytes
    assert len(got) > n * DECISION_DTYPE.itemsize


def test_a_value_that_is_not_a_string_is_refused() -> None:
    out = np.zeros(100, DECISION_DTYPE)
    with pytest.raises(TypeError, match="not a string: 3"):
        row_join.join_rows(out, [(64, "a")], {"a": ["x"] * 99 + [3]}, _encode)
