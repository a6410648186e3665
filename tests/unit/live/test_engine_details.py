"""The writer's decision `details` documents: the batch form (packed for the WAL) is the per-order JSON encoding,
byte for byte, and so are packed runs of mixed rows."""

from __future__ import annotations

import pytest

from hft.live.engine import _details, _details_many, _pack


@pytest.mark.parametrize("ids", [
    ["a", "b-1", "x" * 64],
    ["é", "x\u2028", "a/b<>&", "a\x7fb"],  # not escaped by the encoder
    ['a"b', "c"], ["a\\b"], ["x\x1fy", "z"], ["tab\there"],  # escaped: the encoder's own form
    ["", "a"],  # an empty id: "{}"
])
def test_details_of_many_ids_are_each_ids_json_document(ids):
    want = [_details(c) for c in ids]
    got = _details_many(ids)
    assert got.values() == want
    assert got.data == "".join(want).encode()  # the bytes the WAL gets, row after row
    mixed = _pack([["{}", *want[:1]], got, ["{}"]])  # runs of per-row strings around a packed part
    assert mixed.values() == ["{}", *want[:1], *want, "{}"]
